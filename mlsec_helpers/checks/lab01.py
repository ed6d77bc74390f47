"""Exercises of lab 01 (Threat modelling).

1. ``complete_nlp_model``: complete the NLP system's threat model (the check reports the
   missing threat categories, asset kinds and mappings, using :func:`threatmodel.gaps`).
2. ``residual_risk``: residual likelihood, impact and score of a threat once controls apply.
3. ``choose_controls``: the controls that minimise total residual risk within a budget (the
   check knows the optimum by exhaustive search).
"""

from __future__ import annotations

import dataclasses
import itertools

from .. import threatmodel as tm
from ..exercises import Case, Exercise, Mistake
from ..threatmodel import Asset, Control, Threat, ThreatModel

# --- exercise 1: complete the NLP threat model ------------------------------------------------

#: Threats of the NLP reference model that the partial model leaves for the student.
MISSING_THREATS = ("NLP-T4", "NLP-T5", "NLP-T6", "NLP-T7", "NLP-T8")


def partial_nlp_model() -> ThreatModel:
    """The NLP triage system's threat model, half done: its evasion, poisoning and theft
    threats, all its controls and actors, but no personal-data asset and no threat of the
    other five categories.

    Introduced in lab 01 (Threat modelling).
    """
    full = tm.reference_model("nlp")
    return dataclasses.replace(
        full,
        assets=tuple(a for a in full.assets if a.kind != "personal data"),
        threats=tuple(t for t in full.threats if t.id not in MISSING_THREATS),
    )


def complete_nlp_model(partial: ThreatModel) -> ThreatModel:
    """Reference answer of exercise 1: add the personal-data asset and one threat for each
    missing category (membership inference, inversion, bias, supply chain, API abuse), each
    with ATLAS and OWASP IDs that fit its category and at least one control.

    Introduced in lab 01 (Threat modelling).
    """
    personal = Asset("A5", "customers' messages (names, card numbers, phones)", "personal data")
    threats = [
        Threat("NLP-T4", "model reveals that a customer's complaint was in the training set",
               "membership_inference", "X4", ("A5", "A1"), "E5", ("AML.T0024.000",),
               ("ML04",), 2, 3, ("NLP-C4", "NLP-C5")),
        Threat("NLP-T5", "vocabulary of the shipped vectoriser leaks card-number fragments",
               "inversion", "X2", ("A5", "A3"), "E4", ("AML.T0024.001", "AML.T0044"),
               ("ML03",), 3, 4, ("NLP-C4",)),
        Threat("NLP-T6", "messages with typos or non-native English are misrouted more often",
               "bias", None, ("A4",), "E6", ("AML.T0048.003",), ("ML08",), 3, 3,
               ("NLP-C7",)),
        Threat("NLP-T7", "malicious package or pickled pipeline runs code on the chat servers",
               "supply_chain", "X3", ("A6", "A5"), "E3", ("AML.T0010.001", "AML.T0011.000"),
               ("ML06",), 2, 5, ("NLP-C6",)),
        Threat("NLP-T8", "flood of chaff messages clogs the queues and skews the retrain",
               "api_abuse", "X4", ("A7", "A1"), "E5", ("AML.T0046", "AML.T0029"), ("ML08",),
               3, 3, ("NLP-C5", "NLP-C3")),
    ]
    return partial.extended(assets=[personal], threats=threats)


def _model_signature(model) -> frozenset:
    if not isinstance(model, ThreatModel):
        return frozenset({("type", type(model).__name__)})
    return frozenset(tm.gaps(model))


def _model_compare(got, expected) -> bool:
    return _model_signature(got) == _model_signature(expected)


def _model_validate(got, case: Case) -> str | None:
    if not isinstance(got, ThreatModel):
        return (f"return a ThreatModel, got {type(got).__name__} (build it with "
                "partial.extended(assets=[...], threats=[...]))")
    kept = {t.id for t in got.threats}
    dropped = [t.id for t in case.args[0].threats if t.id not in kept]
    if dropped:
        return f"the threats {', '.join(dropped)} of the partial model were dropped; keep them"
    found = tm.gaps(got)
    if found:
        return tm.describe_gaps(found, got)
    return None


def _nlp_threats(**changes) -> list[Threat]:
    out = []
    for t in complete_nlp_model(partial_nlp_model()).threats:
        if t.id in MISSING_THREATS:
            out.append(dataclasses.replace(t, **changes.get(t.id, {})))
    return out


def _cnm_no_personal_asset(partial):
    threats = [dataclasses.replace(t, assets=tuple(a for a in t.assets if a != "A5") or ("A1",))
               for t in _nlp_threats()]
    return partial.extended(threats=threats)


def _cnm_attacks_only(partial):
    personal = Asset("A5", "customers' messages", "personal data")
    threats = [t for t in _nlp_threats() if t.category in ("membership_inference", "inversion")]
    return partial.extended(assets=[personal], threats=threats)


def _cnm_membership_as_inversion(partial):
    personal = Asset("A5", "customers' messages", "personal data")
    return partial.extended(assets=[personal],
                            threats=_nlp_threats(**{"NLP-T4": {"owasp": ("ML03",)}}))


def _cnm_no_controls(partial):
    personal = Asset("A5", "customers' messages", "personal data")
    changes = {tid: {"controls": ()} for tid in MISSING_THREATS}
    return partial.extended(assets=[personal], threats=_nlp_threats(**changes))


COMPLETE_NLP_MODEL = Exercise(
    name="complete_nlp_model",
    reference=complete_nlp_model,
    cases=lambda: [Case((partial_nlp_model(),), label="the NLP triage system")],
    compare=_model_compare,
    validate=_model_validate,
    mistakes=[
        Mistake("the personal-data asset is missing", _cnm_no_personal_asset,
                "chats carry names and card numbers: add an Asset of kind 'personal data' "
                "and let the privacy threats target it"),
        Mistake("only attacks on the model: bias, supply chain and API abuse are missing",
                _cnm_attacks_only,
                "harm without an attacker (bias, actor=None), compromised dependencies and "
                "misuse of the API belong in a threat model too"),
        Mistake("membership inference mapped to OWASP ML03 (that is model inversion)",
                _cnm_membership_as_inversion,
                "membership inference is ML04; ML03 is model inversion"),
        Mistake("threats without controls", _cnm_no_controls,
                "name, for each new threat, the model's controls that treat it (e.g. NLP-C4 "
                "for privacy, NLP-C6 for the supply chain)"),
    ],
    hint="the check lists what is missing: one threat per course category, every required "
         "asset kind, OWASP and ATLAS IDs that fit each category, a control for each threat",
)


# --- exercise 2: residual risk -----------------------------------------------------------------


def residual_risk(likelihood: int, impact: int, controls: list[Control]
                  ) -> tuple[int, int, int]:
    """Reference answer of exercise 2 (the same rule as :func:`threatmodel.residual_risk`).

    Introduced in lab 01 (Threat modelling).
    """
    return tm.residual_risk(likelihood, impact, controls)


def _rr_no_floor(likelihood, impact, controls):
    lik = likelihood - sum(c.likelihood_reduction for c in controls)
    imp = impact - sum(c.impact_reduction for c in controls)
    return lik, imp, lik * imp


def _rr_max(likelihood, impact, controls):
    lik = max(1, likelihood - max((c.likelihood_reduction for c in controls), default=0))
    imp = max(1, impact - max((c.impact_reduction for c in controls), default=0))
    return lik, imp, lik * imp


def _rr_no_impact(likelihood, impact, controls):
    lik = max(1, likelihood - sum(c.likelihood_reduction for c in controls))
    return lik, impact, lik * impact


def _rr_score_steps(likelihood, impact, controls):
    steps = sum(c.likelihood_reduction + c.impact_reduction for c in controls)
    return likelihood, impact, max(1, likelihood * impact - steps)


def _rr_sum(likelihood, impact, controls):
    lik = max(1, likelihood - sum(c.likelihood_reduction for c in controls))
    imp = max(1, impact - sum(c.impact_reduction for c in controls))
    return lik, imp, lik + imp


def _ctrl(id_, lik=0, imp=0, cost=1):
    return Control(id_, f"control {id_}", "PR", "SAIF-1", 2, cost=cost,
                   likelihood_reduction=lik, impact_reduction=imp)


def _rr_cases() -> list[Case]:
    return [
        Case((4, 5, [_ctrl("a", 1), _ctrl("b", 1, 1)]), label="two controls that add up"),
        Case((2, 3, [_ctrl("a", 2), _ctrl("b", 1)]), label="more steps than the likelihood"),
        Case((5, 4, []), label="no control"),
        Case((3, 2, [_ctrl("a", 0, 3)]), label="an impact reduction"),
    ]


def _rr_validate(got, case: Case) -> str | None:
    if not isinstance(got, tuple | list) or len(got) != 3:
        return "return a tuple (residual_likelihood, residual_impact, residual_score)"
    return None


RESIDUAL_RISK = Exercise(
    name="residual_risk",
    reference=residual_risk,
    cases=_rr_cases,
    validate=_rr_validate,
    mistakes=[
        Mistake("no floor at 1", _rr_no_floor,
                "a control reduces a risk but never removes it: keep likelihood and impact "
                "at 1 or above (max(1, ...))"),
        Mistake("only the strongest control counted", _rr_max,
                "the steps of several controls add up: use sum(...), not max(...)"),
        Mistake("impact reductions ignored", _rr_no_impact,
                "a control can also lower the impact (impact_reduction), e.g. a rollback plan"),
        Mistake("the steps taken off the score instead of off likelihood and impact",
                _rr_score_steps,
                "lower likelihood and impact first, then multiply: score = L x I"),
        Mistake("likelihood and impact added", _rr_sum,
                "the rubric's score is likelihood TIMES impact"),
    ],
    hint="residual L = max(1, L - sum of likelihood steps), same for I; score = L x I",
)


# --- exercise 3: controls under a budget -------------------------------------------------------


def choose_controls(threats: list[Threat], controls: list[Control], budget: int
                    ) -> tuple[str, ...]:
    """Reference answer of exercise 3: the sorted IDs of the controls, of total cost within
    ``budget``, that minimise the total residual risk (exhaustive search).

    Introduced in lab 01 (Threat modelling).
    """
    return tm.optimal_controls(threats, controls, budget)


def _alone(threats, controls):
    base = tm.total_residual(threats, [])
    return {c.id: base - tm.total_residual(threats, [c]) for c in controls}


def _fill(order, controls, budget):
    by_id = {c.id: c for c in controls}
    chosen, spent = [], 0
    for cid in order:
        if spent + by_id[cid].cost <= budget:
            chosen.append(cid)
            spent += by_id[cid].cost
    return tuple(sorted(chosen))


def _cc_greedy_effect(threats, controls, budget):
    gain = _alone(threats, controls)
    order = sorted(gain, key=lambda c: (-gain[c], c))
    return _fill(order, controls, budget)


def greedy_controls(threats: list[Threat], controls: list[Control], budget: int
                    ) -> tuple[str, ...]:
    """The tempting wrong answer of exercise 3: controls taken by the best reduction of total
    residual risk per person-week, alone, until the budget is spent (sorted IDs). Lab 01
    compares it with the optimum.

    Introduced in lab 01 (Threat modelling).
    """
    gain = _alone(threats, controls)
    cost = {c.id: max(c.cost, 1e-9) for c in controls}
    order = sorted(gain, key=lambda c: (-gain[c] / cost[c], c))
    return _fill(order, controls, budget)


def _cc_cheapest(threats, controls, budget):
    order = [c.id for c in sorted(controls, key=lambda c: (c.cost, c.id))]
    return _fill(order, controls, budget)


def _cc_all(threats, controls, budget):
    return tuple(sorted(c.id for c in controls))


def _cc_additive(threats, controls, budget):
    gain = _alone(threats, controls)
    best = None
    for k in range(len(controls) + 1):
        for subset in itertools.combinations(controls, k):
            cost = sum(c.cost for c in subset)
            if cost > budget:
                continue
            key = (-sum(gain[c.id] for c in subset), cost, tuple(sorted(c.id for c in subset)))
            best = key if best is None or key < best else best
    return best[2]


def _risk(id_, lik, imp, controls):
    return Threat(id_, f"threat {id_}", "evasion", None, ("A1",), "E1", ("AML.T0015",),
                  ("ML01",), lik, imp, tuple(controls))


def _cc_cases() -> list[Case]:
    models = tm.reference_models()
    # A small case where one expensive control beats two cheap ones, and two controls on
    # the same threat do not add up (the floor at 1).
    toy_controls = [_ctrl("A", 2, 0, cost=3), _ctrl("B", 1, 0, cost=1), _ctrl("C", 1, 0, cost=1),
                    _ctrl("D", 2, 1, cost=2)]
    toy_threats = [_risk("R1", 5, 5, ("A",)), _risk("R2", 3, 3, ("B", "D")),
                   _risk("R3", 2, 4, ("C", "D"))]
    # Two controls (X, Y) that each bring the same threat to the floor: together they are
    # worth no more than one of them.
    overlap_controls = [_ctrl("X", 2, 0, cost=2), _ctrl("Y", 2, 0, cost=3),
                        _ctrl("Z", 2, 0, cost=1), _ctrl("W", 1, 0, cost=2)]
    overlap_threats = [_risk("R1", 3, 5, ("X", "Y")), _risk("R2", 4, 3, ("Z",)),
                       _risk("R3", 2, 3, ("W",))]
    return [
        *[Case((list(models[d].threats), list(models[d].controls), budget),
               label=f"{d} system, budget {budget}")
          for d, budget in (("fraud", 6), ("image", 4), ("nlp", 9))],
        Case((toy_threats, toy_controls, 4), label="three risks, four controls, budget 4"),
        Case((overlap_threats, overlap_controls, 5), label="two controls on one threat"),
    ]


def _cc_validate(got, case: Case) -> str | None:
    threats, controls, budget = case.args
    if isinstance(got, str) or not isinstance(got, tuple | list | set | frozenset):
        return "return the chosen control IDs as a tuple of strings"
    by_id = {c.id: c for c in controls}
    unknown = [c for c in got if c not in by_id]
    if unknown:
        return f"unknown control IDs {unknown}"
    if len(set(got)) != len(list(got)):
        return "a control is listed twice"
    cost = sum(by_id[c].cost for c in got)
    if cost > budget:
        return f"the controls cost {cost} person-weeks, over the budget of {budget}"
    mine = tm.total_residual(threats, [by_id[c] for c in got])
    best = tm.total_residual(threats, [by_id[c] for c in choose_controls(*case.args)])
    if mine > best:
        return f"total residual risk {mine}, but {best} is possible within the budget"
    return None


def _cc_compare(got, expected) -> bool:
    try:
        return tuple(sorted(got)) == tuple(expected)
    except TypeError:
        return False


CHOOSE_CONTROLS = Exercise(
    name="choose_controls",
    reference=choose_controls,
    cases=_cc_cases,
    compare=_cc_compare,
    validate=_cc_validate,
    mistakes=[
        Mistake("every control, whatever the budget", _cc_all,
                "sum the costs of the chosen controls and keep them within the budget"),
        Mistake("the cheapest controls first", _cc_cheapest,
                "a cheap control that treats little is worth less than its price: compare "
                "what each combination leaves in total residual risk"),
        Mistake("greedy: the biggest single reduction first", _cc_greedy_effect,
                "greedy choices miss better combinations: try every subset within the budget "
                "(itertools.combinations) and keep the one with the lowest total residual"),
        Mistake("greedy: the best reduction per person-week first", greedy_controls,
                "reduction per cost is still greedy and can waste budget: search all subsets"),
        Mistake("reductions treated as if they added up", _cc_additive,
                "two controls on one threat do not add up once it reaches 1: compute the "
                "total residual of each whole subset with threatmodel.total_residual"),
    ],
    hint="for every subset of controls that fits the budget, compute "
         "threatmodel.total_residual(threats, subset); keep the lowest",
)


#: Every exercise of this lab, in the order the lab asks them (the tests run each one).
EXERCISES: tuple[Exercise, ...] = (COMPLETE_NLP_MODEL, RESIDUAL_RISK, CHOOSE_CONTROLS)

__all__ = [
    "CHOOSE_CONTROLS",
    "COMPLETE_NLP_MODEL",
    "EXERCISES",
    "RESIDUAL_RISK",
    "choose_controls",
    "complete_nlp_model",
    "greedy_controls",
    "partial_nlp_model",
    "residual_risk",
]
