"""Exercises of lab 01 (Threat modelling).

1. ``complete_nlp_model``: complete a partial threat model of the NLP system. The check hands
   the function several partial models (the lab's, and ones in which more is already written)
   and checks every rule of the statement: the personal-data asset is added only when there
   is none; one threat for each category with none, and only for those; each new threat's
   OWASP IDs all fit its category (a bias threat has none: the OWASP ML Top 10 2023 lists no
   bias item) and one of its ATLAS techniques does; it targets an asset
   of the kind its category harms (:data:`TARGET_KINDS`); only a bias threat may lack an
   actor; it names one of the model's controls; nothing of the partial model is dropped or
   altered, and no control is added.
2. ``residual_risk``: residual likelihood, impact and score of a threat once controls apply
   (the steps of all controls add up, neither value goes below 1, score = L x I).
3. ``choose_controls``: the controls that minimise total residual risk within a budget (the
   check knows the optimum by exhaustive search; each case has a single best set).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import numbers
from types import MappingProxyType

from .. import threatmodel as tm
from ..catalogue import THREAT_CATEGORIES
from ..exercises import Case, Exercise, Mistake
from ..threatmodel import Asset, Control, Threat, ThreatModel

# --- exercise 1: complete the NLP threat model ------------------------------------------------

#: Threats of the NLP reference model that the partial model leaves for the student.
MISSING_THREATS = ("NLP-T4", "NLP-T5", "NLP-T6", "NLP-T7", "NLP-T8")

#: The asset kinds a threat of each category harms: a threat must target at least one asset
#: of one of these kinds (lab 01's exercise 1 states the rule; every reference model keeps it).
#: Read-only, so that a notebook cannot loosen the check.
TARGET_KINDS: MappingProxyType = MappingProxyType({
    "evasion": ("predictions",),
    "poisoning": ("training data", "labels"),
    "theft": ("model weights",),
    "membership_inference": ("personal data",),
    "inversion": ("personal data",),
    "bias": ("predictions",),
    "supply_chain": ("software",),
    "api_abuse": ("availability", "predictions"),
})

# The OWASP IDs that fit each category, frozen when this module is imported (the check does
# not read a table that a notebook could change afterwards).
_CATEGORY_OWASP = MappingProxyType({k: tuple(c.owasp) for k, c in THREAT_CATEGORIES.items()})


@functools.cache
def _nlp_reference() -> ThreatModel:
    # the full reference model (frozen records), built once: the partial models are cut from it
    return tm.reference_model("nlp")


def _cut(drop_threats=(), drop_personal=False, applied=None, order=None) -> ThreatModel:
    full = _nlp_reference()
    threats = tuple(t for t in full.threats if t.id not in drop_threats)
    if order is not None:
        threats = tuple(threats[k] for k in order)
    model = dataclasses.replace(
        full,
        assets=tuple(a for a in full.assets if not (drop_personal and a.kind == "personal data")),
        threats=threats,
    )
    return model if applied is None else model.with_applied(applied)


def partial_nlp_model() -> ThreatModel:
    """The NLP triage system's threat model, half done: its evasion, poisoning and theft
    threats, all its controls and actors, but no personal-data asset and no threat of the
    other five categories.

    Introduced in lab 01 (Threat modelling).
    """
    return _cut(MISSING_THREATS, drop_personal=True)


def complete_nlp_model(partial: ThreatModel) -> ThreatModel:
    """Reference answer of exercise 1: add the personal-data asset when the partial model has
    none, and one threat for each category with no threat (membership inference, inversion,
    bias, supply chain, API abuse), each with ATLAS and OWASP IDs that fit its category, the
    asset kinds its category harms, an actor (none for bias) and at least one control.

    Introduced in lab 01 (Threat modelling).
    """
    kind = {}
    for a in partial.assets:
        kind.setdefault(a.kind, a.id)
    assets = []
    if "personal data" not in kind:
        assets.append(Asset("A5", "customers' messages (names, card numbers, phones)",
                            "personal data"))
        kind["personal data"] = "A5"
    personal, data, weights = kind["personal data"], kind["training data"], kind["model weights"]
    candidates = [
        Threat("NLP-T4", "model reveals that a customer's complaint was in the training set",
               "membership_inference", "X4", (personal, data), "E5", ("AML.T0024.000",),
               ("ML04",), 2, 3, ("NLP-C4", "NLP-C5")),
        Threat("NLP-T5", "vocabulary of the shipped vectoriser leaks card-number fragments",
               "inversion", "X2", (personal, weights), "E4", ("AML.T0024.001", "AML.T0044"),
               ("ML03",), 3, 4, ("NLP-C4",)),
        Threat("NLP-T6", "messages with typos or non-native English are misrouted more often",
               "bias", None, (kind["predictions"],), "E6", ("AML.T0048.003",), (), 3, 3,
               ("NLP-C7",)),
        Threat("NLP-T7", "malicious package or pickled pipeline runs code on the chat servers",
               "supply_chain", "X3", (kind["software"], personal), "E3",
               ("AML.T0010.001", "AML.T0011.000"), ("ML06",), 2, 5, ("NLP-C6",)),
        Threat("NLP-T8", "flood of chaff messages clogs the queues and skews the retrain",
               "api_abuse", "X4", (kind["availability"], data), "E5", ("AML.T0046", "AML.T0029"),
               ("ML08",), 3, 3, ("NLP-C5", "NLP-C3")),
    ]
    have = {t.category for t in partial.threats}
    return partial.extended(assets=assets,
                            threats=[t for t in candidates if t.category not in have])


# How a completed model is judged. ``_problems(model, partial)`` lists what breaks a rule of
# the statement, each as (key, message): the key is what two answers must share to "behave
# alike" (categories, not the IDs a student chose), the message what the student reads.


def _kept_problems(got: ThreatModel, partial: ThreatModel) -> list[tuple]:
    out = []
    for name in ("domain", "system", "description", "dataflow", "applied"):
        if getattr(got, name) != getattr(partial, name):
            out.append((("changed", name), f"the partial model's {name} was changed; keep it "
                        "(partial.extended(...) keeps everything you were given)"))
    for name, what in (("actors", "actors"), ("entry_points", "entry points"),
                       ("controls", "controls")):
        if set(getattr(got, name)) != set(getattr(partial, name)):
            extra = "; the new threats use the model's own controls" if name == "controls" \
                else ""
            out.append((("changed", name), f"the partial model's {what} were changed: keep "
                        f"them as they are and add none{extra}"))
    assets = {a.id: a for a in got.assets}
    for a in partial.assets:
        if a.id not in assets:
            out.append((("dropped asset", a.kind), f"the asset {a.id} of the partial model "
                        "was dropped; keep it"))
        elif assets[a.id] != a:
            out.append((("altered asset", a.kind), f"the asset {a.id} of the partial model "
                        "was changed; keep it as it is"))
    threats = {t.id: t for t in got.threats}
    dropped = [t.id for t in partial.threats if t.id not in threats]
    altered = [t.id for t in partial.threats if t.id in threats and threats[t.id] != t]
    if dropped:
        out.append((("dropped threats", frozenset(
            t.category for t in partial.threats if t.id in dropped)),
            f"the threats {', '.join(dropped)} of the partial model were dropped; keep them"))
    if altered:
        out.append((("altered threats", frozenset(
            t.category for t in partial.threats if t.id in altered)),
            f"the threats {', '.join(altered)} of the partial model were changed (or "
            "replaced by yours); keep them as they are and add threats only for the "
            "categories with none"))
    return out


def _added_problems(got: ThreatModel, partial: ThreatModel) -> list[tuple]:
    out = []
    given = {a.id for a in partial.assets}
    new_assets = [a for a in got.assets if a.id not in given]
    personal = [a.id for a in partial.assets if a.kind == "personal data"]
    for a in new_assets:
        if a.kind != "personal data":
            out.append((("extra asset", a.kind), f"the asset {a.id} ({a.kind}) was added: the "
                        "partial model lacks only a personal-data asset"))
        elif personal:
            out.append((("second personal asset",), f"the partial model already has a "
                        f"personal-data asset ({', '.join(personal)}): let the new threats "
                        f"target it instead of adding {a.id}"))
    given_threats = {t.id for t in partial.threats}
    had = {t.category: t.id for t in partial.threats}
    new = [t for t in got.threats if t.id not in given_threats]
    reference = set(_nlp_reference().threats)
    for t in new:
        if t.category in had:
            out.append((("category covered", t.category), f"{t.id} is a threat of category "
                        f"{t.category}, but the partial model has one ({had[t.category]}): add "
                        "threats only for the categories with none"))
        if t in reference:
            out.append((("copied",), f"{t.id} is a copy of the course's reference threat "
                        "(tm.reference_model('nlp')): write the threats yourself"))
    seen: dict[str, str] = {}
    for t in new:
        if t.category in seen and t.category not in had:
            out.append((("two new", t.category), f"{seen[t.category]} and {t.id} are both of "
                        f"category {t.category}: add one threat for each missing category"))
        seen.setdefault(t.category, t.id)
    return out


def _mapping_problems(model: ThreatModel, threats) -> list[tuple]:
    """The rules on each threat that gaps() does not check: every OWASP ID fits the category,
    an asset of a kind the category harms is targeted, an actor unless the threat is bias."""
    out = []
    kinds = {a.id: a.kind for a in model.assets}
    for t in threats:
        fit = _CATEGORY_OWASP[t.category]
        wrong = [o for o in t.owasp if o not in fit]
        if wrong:
            use = (f"use only {', '.join(fit)}" if fit else
                   "the OWASP ML Top 10 (2023) has no item for it: leave owasp empty")
            out.append((("owasp", t.category, frozenset(wrong)),
                        f"{t.id} ({t.category}) lists {', '.join(wrong)}, which does not fit "
                        f"its category: {use}"))
        targeted = [kinds.get(a, "?") for a in t.assets]
        if not set(targeted) & set(TARGET_KINDS[t.category]):
            out.append((("targets", t.category),
                        f"{t.id} ({t.category}) must target an asset of kind "
                        f"{' or '.join(repr(k) for k in TARGET_KINDS[t.category])}; it targets "
                        f"{', '.join(targeted)}"))
        if t.actor is None and t.category != "bias":
            out.append((("no actor", t.category),
                        f"{t.id} ({t.category}) has no actor: only a bias threat (a harm "
                        "without an adversary) may have actor=None; name one of the model's "
                        "actors"))
    return out


def _gap_problems(model: ThreatModel) -> list[tuple]:
    # an OWASP ID is judged by _mapping_problems (every ID must fit, not only one of them)
    found = [(kind, item) for kind, item in tm.gaps(model) if kind != "owasp"]
    if not found:
        return []
    category = {t.id: t.category for t in model.threats}
    text = tm.describe_gaps(found, model)
    # a gap about a threat is keyed by the threat's category, not the ID the student chose
    return [(("gap", kind, category.get(item, item)), text) for kind, item in found]


def _problems(got: ThreatModel, partial: ThreatModel) -> list[tuple]:
    given = {t.id for t in partial.threats}
    return (_kept_problems(got, partial) + _added_problems(got, partial) + _gap_problems(got)
            + _mapping_problems(got, [t for t in got.threats if t.id not in given]))


def _model_signature(model) -> tuple:
    """What two answers must share to behave alike, without the partial model they were
    given: what every partial model keeps as it is, which of the given threats are there
    unchanged, and the problems that need no partial model."""
    if not isinstance(model, ThreatModel):
        return ("type", type(model).__name__)
    given = set(_nlp_reference().threats)
    counts: dict[str, int] = {}
    for t in model.threats:
        counts[t.category] = counts.get(t.category, 0) + 1
    problems = {key for key, _ in _gap_problems(model) + _mapping_problems(model, model.threats)}
    problems |= {("twice", c) for c, n in counts.items() if n > 1}
    n_personal = sum(a.kind == "personal data" for a in model.assets)
    return (model.domain, model.system, model.description, model.dataflow, model.applied,
            frozenset(model.actors), frozenset(model.entry_points), frozenset(model.controls),
            frozenset(a for a in model.assets if a.kind != "personal data"), n_personal,
            frozenset(t for t in model.threats if t in given), frozenset(problems))


def _model_compare(got, expected) -> bool:
    return _model_signature(got) == _model_signature(expected)


def _model_validate(got, case: Case) -> str | None:
    if not isinstance(got, ThreatModel):
        return (f"return a ThreatModel, got {type(got).__name__} (build it with "
                "partial.extended(assets=[...], threats=[...]))")
    partial = case.args[0]
    problems = _problems(got, partial)
    if not problems:
        return None
    messages = list(dict.fromkeys(message for _, message in problems))
    more = f" (and {len(messages) - 3} more)" if len(messages) > 3 else ""
    return "; ".join(messages[:3]) + more


def _cnm_cases() -> list[Case]:
    return [
        Case((partial_nlp_model(),), label="the lab's partial model"),
        Case((_cut(("NLP-T6", "NLP-T7", "NLP-T8")),),
             label="personal data and the privacy threats already written"),
        Case((_cut(("NLP-T4", "NLP-T5", "NLP-T7"), drop_personal=True),),
             label="bias and API abuse given, no personal data yet"),
        Case((_cut(("NLP-T8",), applied=()),),
             label="only API abuse missing, no control applied yet"),
    ]


def _cnm_hidden_cases() -> list[Case]:
    return [
        Case((_cut(("NLP-T4", "NLP-T5", "NLP-T7")),),
             label="a personal-data asset that no threat targets yet"),
        Case((_cut(("NLP-T7",), order=(6, 2, 0, 5, 3, 1, 4)),),
             label="only the supply chain missing, threats in another order"),
        Case((_cut(MISSING_THREATS, drop_personal=True, applied=("NLP-C2", "NLP-C5")),),
             label="five categories missing, two controls applied"),
        Case((_cut(("NLP-T6",)),), label="only bias missing"),
    ]


def _student(partial, *, personal=True, categories=None, edit=None, replace=False):
    """An answer built like the reference, with one thing done differently: ``personal``
    False never adds the personal-data asset (the privacy threats target the training data);
    ``categories`` the only categories ever added; ``edit(threat)`` changes each new threat;
    ``replace`` adds every threat with ``with_threat`` (replacing the given ones)."""
    done = complete_nlp_model(partial)
    personal_ids = {a.id for a in done.assets if a.kind == "personal data"}
    added_asset = [a for a in done.assets if a.id not in {b.id for b in partial.assets}]
    threats = [t for t in done.threats if t.id not in {g.id for g in partial.threats}]
    if replace:  # every category's threat, whatever the partial model has
        bare = dataclasses.replace(partial, threats=tuple(
            t for t in partial.threats if t.category in ("evasion", "poisoning", "theft")))
        threats = [t for t in complete_nlp_model(bare).threats if t not in bare.threats]
    if not personal and added_asset:  # no personal-data asset: the training data instead
        added_asset = []
        threats = [dataclasses.replace(t, assets=tuple(dict.fromkeys(
            "A1" if a in personal_ids else a for a in t.assets))) for t in threats]
    if categories is not None:
        threats = [t for t in threats if t.category in categories]
    if edit is not None:
        threats = [edit(t) for t in threats]
    if replace:
        model = partial.extended(assets=added_asset)
        for t in threats:
            model = model.with_threat(t)
        return model
    return partial.extended(assets=added_asset, threats=threats)


def _cnm_no_personal_asset(partial):
    return _student(partial, personal=False)


def _cnm_attacks_only(partial):
    return _student(partial, categories=("membership_inference", "inversion"))


def _only(category, **changes):
    def edit(t):
        return dataclasses.replace(t, **changes) if t.category == category else t

    return edit


def _cnm_membership_as_inversion(partial):
    return _student(partial, edit=_only("membership_inference", owasp=("ML03",)))


def _cnm_no_controls(partial):
    return _student(partial, edit=lambda t: dataclasses.replace(t, controls=()))


def _cnm_both_privacy_items(partial):
    def edit(t):
        if t.category in ("membership_inference", "inversion"):
            return dataclasses.replace(t, owasp=("ML03", "ML04"))
        return t

    return _student(partial, edit=edit)


def _cnm_supply_chain_data(partial):
    def edit(t):
        if t.category == "supply_chain":
            kinds = {a.id: a.kind for a in partial.assets}
            return dataclasses.replace(t, assets=tuple(
                a for a in t.assets if kinds.get(a) != "software") + ("A1",))
        return t

    return _student(partial, edit=edit)


def _cnm_bias_personal(partial):
    return _student(partial, edit=_only("bias", assets=("A5",)))


def _cnm_bias_model_skewing(partial):
    return _student(partial, edit=_only("bias", owasp=("ML08",)))


def _cnm_replaces_given(partial):
    return _student(partial, replace=True)


def _cnm_supply_chain_no_actor(partial):
    return _student(partial, edit=_only("supply_chain", actor=None))


COMPLETE_NLP_MODEL = Exercise(
    name="complete_nlp_model",
    reference=complete_nlp_model,
    cases=_cnm_cases,
    hidden_cases=_cnm_hidden_cases,
    compare=_model_compare,
    validate=_model_validate,
    conceal=(tm.reference_model, tm.reference_models, tm.nlp_threat_model),
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
        Mistake("both privacy threats mapped to both ML03 and ML04", _cnm_both_privacy_items,
                "every OWASP ID of a threat must fit its category: membership inference is "
                "ML04 only, model inversion ML03 only (tm.THREAT_CATEGORIES[category].owasp)"),
        Mistake("the supply-chain threat targets the data, not the software",
                _cnm_supply_chain_data,
                "a compromised package or pickle runs code: a supply-chain threat targets the "
                "asset of kind 'software' (A6)"),
        Mistake("the bias threat targets the personal data, not the predictions",
                _cnm_bias_personal,
                "bias is harm done by the decisions: a bias threat targets the predictions "
                "(the asset of kind 'predictions', A4)"),
        Mistake("the bias threat mapped to OWASP ML08 (Model Skewing)", _cnm_bias_model_skewing,
                "ML08 Model Skewing is an attacker skewing a model through its feedback data; "
                "the OWASP ML Top 10 (2023) has no bias item, so a bias threat takes owasp=()"),
        Mistake("threats the partial model already had replaced by yours", _cnm_replaces_given,
                "add a threat only for a category with none yet ({t.category for t in "
                "partial.threats} lists those done) and keep the given threats as they are"),
        Mistake("a supply-chain threat without an actor", _cnm_supply_chain_no_actor,
                "only harm without an adversary (bias) may have actor=None: a compromised "
                "package has one (X3, the compromised supplier)"),
    ],
    hint="the check lists what is wrong: add the personal-data asset if there is none and one "
         "threat for each category with none, with OWASP IDs of its category only, an ATLAS "
         "technique of its category, the asset kinds it harms, an actor (not for bias) and a "
         "control; keep everything you were given",
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


def _rr_floor_zero(likelihood, impact, controls):
    lik = max(0, likelihood - sum(c.likelihood_reduction for c in controls))
    imp = max(0, impact - sum(c.impact_reduction for c in controls))
    return lik, imp, lik * imp


def _rr_first_only(likelihood, impact, controls):
    first = controls[:1]
    lik = max(1, likelihood - sum(c.likelihood_reduction for c in first))
    imp = max(1, impact - sum(c.impact_reduction for c in first))
    return lik, imp, lik * imp


def _rr_swapped(likelihood, impact, controls):
    lik = max(1, likelihood - sum(c.impact_reduction for c in controls))
    imp = max(1, impact - sum(c.likelihood_reduction for c in controls))
    return lik, imp, lik * imp


def _ctrl(id_, lik=0, imp=0, cost=1):
    return Control(id_, f"control {id_}", "PR", "SAIF-1", 2, cost=cost,
                   likelihood_reduction=lik, impact_reduction=imp)


def _rr_cases() -> list[Case]:
    return [
        Case((4, 5, [_ctrl("a", 1), _ctrl("b", 1, 1)]), label="two controls that add up"),
        Case((5, 4, [_ctrl("a", 2), _ctrl("b", 1, 1)]),
             label="the steps of both controls, in either order"),
        Case((2, 3, [_ctrl("a", 2), _ctrl("b", 1)]), label="more steps than the likelihood"),
        Case((3, 2, [_ctrl("a", 0, 3)]), label="more steps than the impact"),
        Case((2, 2, [_ctrl("a", 4, 4)]), label="both at the floor"),
        Case((5, 4, []), label="no control"),
    ]


def _rr_hidden_cases() -> list[Case]:
    return [
        Case((5, 5, [_ctrl("a", 1), _ctrl("b", 0, 2), _ctrl("c", 1, 1)]),
             label="three controls"),
        Case((5, 3, [_ctrl("a", 1, 0), _ctrl("b", 3, 0)]), label="the larger step last"),
        Case((1, 5, [_ctrl("a", 1, 1)]), label="a likelihood already at 1"),
        Case((4, 1, [_ctrl("a", 0, 1), _ctrl("b", 2)]), label="an impact already at 1"),
        Case((5, 3, [_ctrl("a", 3), _ctrl("b", 3)]), label="six steps off a likelihood of 5"),
        Case((2, 5, [_ctrl("a")]), label="a control with no effect"),
        Case((3, 4, []), label="no control"),
    ]


def _rr_validate(got, case: Case) -> str | None:
    if not isinstance(got, tuple | list) or len(got) != 3:
        return "return a tuple (residual_likelihood, residual_impact, residual_score)"
    for name, value in zip(("residual_likelihood", "residual_impact", "residual_score"), got,
                           strict=True):
        if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                or not float(value).is_integer()):
            return f"{name} must be a whole number (rubric steps), got {value!r}"
    return None


RESIDUAL_RISK = Exercise(
    name="residual_risk",
    reference=residual_risk,
    cases=_rr_cases,
    hidden_cases=_rr_hidden_cases,
    validate=_rr_validate,
    conceal=(tm.residual_risk, tm.total_residual),
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
        Mistake("a floor at 0 instead of 1", _rr_floor_zero,
                "a control reduces a risk but never removes it: the lowest likelihood and "
                "impact are 1, so use max(1, ...)"),
        Mistake("only the first control counted", _rr_first_only,
                "every control in the list takes its steps off: add them up over all of them"),
        Mistake("likelihood and impact steps swapped", _rr_swapped,
                "likelihood_reduction comes off the likelihood, impact_reduction off the "
                "impact"),
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


def _exhaustive(threats, controls, fits, value):
    best = None
    for k in range(len(controls) + 1):
        for subset in itertools.combinations(controls, k):
            cost = sum(c.cost for c in subset)
            if not fits(cost):
                continue
            key = (value(subset), cost, tuple(sorted(c.id for c in subset)))
            best = key if best is None or key < best else best
    return best[2] if best else ()


def _cc_additive(threats, controls, budget):
    gain = _alone(threats, controls)
    return _exhaustive(threats, controls, lambda cost: cost <= budget,
                       lambda subset: -sum(gain[c.id] for c in subset))


def _cc_strict(threats, controls, budget):
    return _exhaustive(threats, controls, lambda cost: cost < budget,
                       lambda subset: tm.total_residual(threats, subset))


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
    # worth no more than one of them. The IDs come unsorted.
    overlap_controls = [_ctrl("X", 2, 0, cost=2), _ctrl("Y", 2, 0, cost=3),
                        _ctrl("Z", 2, 0, cost=1), _ctrl("W", 1, 0, cost=2)]
    overlap_threats = [_risk("R1", 3, 5, ("X", "Y")), _risk("R2", 4, 3, ("Z",)),
                       _risk("R3", 2, 3, ("W",))]
    # The best set leaves budget unspent (the two cheaper controls fill it, and do less).
    slack_controls = [_ctrl("Q", 1, 0, cost=3), _ctrl("P", 3, 0, cost=4),
                      _ctrl("S", 1, 0, cost=3)]
    slack_threats = [_risk("R1", 5, 5, ("P",)), _risk("R2", 3, 3, ("Q",)),
                     _risk("R3", 2, 2, ("S",))]
    # No budget at all: only a control that costs nothing fits.
    free_controls = [_ctrl("G", 2, 0, cost=1), _ctrl("F", 1, 0, cost=0)]
    free_threats = [_risk("R1", 4, 4, ("F",)), _risk("R2", 5, 5, ("G",))]
    return [
        *[Case((list(models[d].threats), list(models[d].controls), budget),
               label=f"{d} system, budget {budget}")
          for d, budget in (("fraud", 6), ("image", 4), ("nlp", 9))],
        Case((toy_threats, toy_controls, 4), label="three risks, four controls, budget 4"),
        Case((overlap_threats, overlap_controls, 5), label="two controls on one threat"),
        Case((slack_threats, slack_controls, 6), label="the best set costs less than the budget"),
        Case((free_threats, free_controls, 0), label="budget 0, one control that costs nothing"),
    ]


def _cc_hidden_cases() -> list[Case]:
    models = tm.reference_models()
    # controls shared by two threats, one that costs nothing, one that does nothing; every
    # greedy rule and the strict budget miss the best set (which fills the budget)
    shared_controls = [_ctrl("M", 0, 0, cost=4), _ctrl("J", 2, 0, cost=1),
                       _ctrl("K", 2, 0, cost=2), _ctrl("T", 2, 1, cost=3),
                       _ctrl("H", 2, 1, cost=0)]
    shared_threats = [_risk("R1", 4, 3, ("K", "J")), _risk("R2", 4, 5, ("H", "K")),
                      _risk("R3", 4, 4, ("T",))]
    # impact steps, two controls on one threat, unsorted IDs
    impact_controls = [_ctrl("H", 2, 2, cost=1), _ctrl("K", 0, 1, cost=2),
                       _ctrl("E", 0, 2, cost=2), _ctrl("M", 2, 1, cost=0)]
    impact_threats = [_risk("R1", 3, 2, ("E",)), _risk("R2", 2, 5, ("K", "E")),
                      _risk("R3", 2, 2, ("M", "H"))]
    # one expensive control beats three cheap ones that fill the budget
    slack_controls = [_ctrl("Q", 1, 0, cost=2), _ctrl("S", 1, 0, cost=2),
                      _ctrl("P", 3, 0, cost=5), _ctrl("U", 1, 0, cost=2)]
    slack_threats = [_risk("R1", 5, 5, ("P",)), _risk("R2", 3, 3, ("Q",)),
                     _risk("R3", 3, 2, ("S",)), _risk("R4", 2, 2, ("U",))]
    free_controls = [_ctrl("V", 1, 0, cost=0), _ctrl("U", 1, 1, cost=0),
                     _ctrl("R", 3, 0, cost=2)]
    free_threats = [_risk("R1", 3, 3, ("U", "V")), _risk("R2", 5, 4, ("R",))]
    return [
        *[Case((list(models[d].threats), list(models[d].controls), budget),
               label=f"{d} system, budget {budget}")
          for d, budget in (("medical", 6), ("recommender", 5))],
        Case((shared_threats, shared_controls, 4), label="controls shared by two threats"),
        Case((impact_threats, impact_controls, 4), label="impact steps, budget 4"),
        Case((slack_threats, slack_controls, 6), label="a best set that leaves budget unspent"),
        Case((free_threats, free_controls, 2), label="two free controls, budget 2"),
        Case((free_threats, free_controls, 0), label="budget 0"),
    ]


def _cc_validate(got, case: Case) -> str | None:
    threats, controls, budget = case.args
    if not isinstance(got, tuple | list) or not all(isinstance(c, str) for c in got):
        return (f"return the chosen control IDs as a tuple of strings, got "
                f"{type(got).__name__}" + (" holding " + type(got[0]).__name__
                                           if isinstance(got, tuple | list) else ""))
    by_id = {c.id: c for c in controls}
    unknown = [c for c in got if c not in by_id]
    if unknown:
        return f"unknown control IDs {unknown}"
    if len(set(got)) != len(got):
        return "a control is listed twice"
    if list(got) != sorted(got):
        return f"return the IDs sorted ({tuple(sorted(got))}, not {tuple(got)}): the lab " \
               "prints the plan"
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
        return tuple(got) == tuple(expected)
    except TypeError:
        return False


CHOOSE_CONTROLS = Exercise(
    name="choose_controls",
    reference=choose_controls,
    cases=_cc_cases,
    hidden_cases=_cc_hidden_cases,
    compare=_cc_compare,
    validate=_cc_validate,
    conceal=(tm.optimal_controls,),
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
        Mistake("the budget as a strict limit (cost < budget)", _cc_strict,
                "a set that costs exactly the budget fits it: keep subsets with cost <= budget"),
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
    "MISSING_THREATS",
    "RESIDUAL_RISK",
    "TARGET_KINDS",
    "choose_controls",
    "complete_nlp_model",
    "greedy_controls",
    "partial_nlp_model",
    "residual_risk",
]
