"""Lab 01's exercise checks, beyond what tests/test_exercise_checks.py runs for every exercise.

A mutant suite per exercise: plausible wrong answers that are not in the exercise's list of
known mistakes (the check and the grading must reject each), and correct answers written
differently from the reference (both must accept each).
"""

import dataclasses
import functools
import itertools

import numpy as np
import pytest
from mutants import assert_accepted, assert_rejected

from mlsec_helpers import threatmodel as tm
from mlsec_helpers.checks import lab01
from mlsec_helpers.exercises import run_check
from mlsec_helpers.threatmodel import Asset, Control, Threat, ThreatModel

# --- exercise 1: complete the NLP threat model -------------------------------------------------


def test_partial_model_misses_five_categories_and_personal_data():
    found = tm.gaps(lab01.partial_nlp_model())
    assert {c for k, c in found if k == "category"} == {
        "membership_inference", "inversion", "bias", "supply_chain", "api_abuse"}
    assert ("asset kind", "personal data") in found
    assert tm.gaps(lab01.complete_nlp_model(lab01.partial_nlp_model())) == []


def test_every_partial_model_is_valid_and_the_reference_completes_it():
    cases = lab01._cnm_cases() + lab01._cnm_hidden_cases()
    assert len({c.args[0] for c in cases}) == len(cases), "the partial models differ"
    for case in cases:
        partial = case.args[0]
        assert tm.gaps(partial), case.label
        assert lab01._problems(lab01.complete_nlp_model(partial), partial) == [], case.label


def test_the_rules_hold_for_every_reference_model():
    # the statement's rules on targets, OWASP IDs and actors describe the course's own models
    for model in tm.reference_models().values():
        assert lab01._mapping_problems(model, model.threats) == [], model.domain


def test_the_target_table_is_read_only():
    with pytest.raises(TypeError):
        lab01.TARGET_KINDS["bias"] = ("personal data",)


def _kinds(partial):
    kind = {}
    for a in partial.assets:
        kind.setdefault(a.kind, a.id)
    return kind


def _my_threats(kind):
    personal = kind["personal data"]
    return {
        "membership_inference": Threat(
            "NLP-T4", "an attacker learns that a customer wrote to support", "membership_inference",
            "X4", (personal,), "E5", ("AML.T0024.000",), ("ML04",), 2, 4, ("NLP-C4",)),
        "inversion": Threat(
            "NLP-T5", "card numbers recovered from the vectoriser's vocabulary", "inversion", "X2",
            (personal, kind["model weights"]), "E4", ("AML.T0024.001",), ("ML03",), 2, 4,
            ("NLP-C4", "NLP-C5")),
        "bias": Threat(
            "NLP-T6", "non-native writers get slower answers", "bias", None, (kind["predictions"],),
            "E6", ("AML.T0048.003",), (), 3, 3, ("NLP-C7",)),
        "supply_chain": Threat(
            "NLP-T7", "a poisoned dependency runs on the chat servers", "supply_chain", "X3",
            (kind["software"],), "E3", ("AML.T0010.001",), ("ML06",), 2, 5, ("NLP-C6",)),
        "api_abuse": Threat(
            "NLP-T8", "a bot floods the chat", "api_abuse", "X4", (kind["availability"],), "E5",
            ("AML.T0029",), ("ML09",), 3, 3, ("NLP-C5",)),
    }


def _answer(partial, edit=None, personal_kind="personal data"):
    """A correct answer (``edit`` changes each new threat; used to build the mutants)."""
    kind = _kinds(partial)
    assets = []
    if "personal data" not in kind:
        assets.append(Asset("A5", "chat transcripts with names and card numbers", personal_kind))
        kind["personal data"] = "A5"
    have = {t.category for t in partial.threats}
    new = [t for c, t in _my_threats(kind).items() if c not in have]
    if edit is not None:
        new = [edit(t) for t in new]
    return partial.extended(assets=assets, threats=new)


def _changed(category, **changes):
    def edit(t):
        return dataclasses.replace(t, **changes) if t.category == category else t

    return edit


def cnm_unchanged(partial):  # hands the partial model back
    return partial


def cnm_drops_given(partial):  # only the new threats
    done = _answer(partial)
    given = set(partial.threats)
    return dataclasses.replace(done, threats=tuple(t for t in done.threats if t not in given))


def cnm_inversion_ml04(partial):  # inversion mapped to the membership-inference item
    return _answer(partial, _changed("inversion", owasp=("ML04",)))


def cnm_api_abuse_weights(partial):  # API abuse targets the model weights only
    return _answer(partial, _changed("api_abuse", assets=("A3",)))


def cnm_membership_atlas(partial):  # membership inference with inversion's ATLAS technique
    return _answer(partial, _changed("membership_inference", atlas=("AML.T0024.001",)))


def cnm_rescores_given(partial):  # re-scores the given evasion threat
    return _answer(partial).with_scores("NLP-T1", likelihood=5)


def cnm_new_control(partial):  # adds a control of its own for the new threats
    mine = Control("NLP-C8", "privacy review", "GV", "SAIF-6", 5, cost=1, likelihood_reduction=1)
    kind = _kinds(partial)
    assets = []
    if "personal data" not in kind:
        assets.append(Asset("A5", "chat transcripts", "personal data"))
        kind["personal data"] = "A5"
    have = {t.category for t in partial.threats}
    return partial.extended(assets=assets, controls=[mine], threats=[
        dataclasses.replace(t, controls=("NLP-C8",)) for c, t in _my_threats(kind).items()
        if c not in have])


def cnm_resets_applied(partial):  # the controls in place today forgotten
    return _answer(partial).with_applied(())


def cnm_returns_threats(partial):  # the list of threats, not a model
    return list(_answer(partial).threats)


def cnm_membership_no_actor(partial):  # membership inference without an actor
    return _answer(partial, _changed("membership_inference", actor=None))


def cnm_supply_chain_theft_item(partial):  # an OWASP item of theft on the supply chain
    return _answer(partial, _changed("supply_chain", owasp=("ML06", "ML05")))


def cnm_second_personal_asset(partial):  # always adds a personal-data asset of its own
    mine = Asset("A8", "chat transcripts", "personal data")
    kind = _kinds(partial) | {"personal data": "A8"}
    have = {t.category for t in partial.threats}
    new = [t for c, t in _my_threats(kind).items() if c not in have]
    if "membership_inference" in have:  # let A8 be targeted, so that nothing else is wrong
        new.append(Threat("NLP-T9", "chat logs leak from the training store", "inversion", "X2",
                          ("A8",), "E4", ("AML.T0024.001",), ("ML03",), 2, 3, ("NLP-C4",)))
    return partial.extended(assets=[mine], threats=new)


def cnm_every_category(partial):  # a threat for every category, also those already covered
    kind = _kinds(partial)
    assets = []
    if "personal data" not in kind:
        assets.append(Asset("A5", "chat transcripts", "personal data"))
        kind["personal data"] = "A5"
    new = [dataclasses.replace(t, id=f"NLP-T{9 + k}")
           for k, t in enumerate(_my_threats(kind).values())]
    return partial.extended(assets=assets, threats=new)


# the course's model, built before the answer runs (as lab 01 builds `models` at its top)
COURSE_MODEL = tm.reference_model("nlp")


def cnm_copies_course_threats(partial):  # takes the threats from the course's own model
    full = COURSE_MODEL
    have = {t.category for t in partial.threats}
    assets = [a for a in full.assets if a.id not in {b.id for b in partial.assets}]
    return partial.extended(assets=assets,
                            threats=[t for t in full.threats if t.category not in have])


def cnm_calls_course_model(partial):  # builds the course's model inside the answer
    full = tm.reference_model("nlp")
    have = {t.category for t in partial.threats}
    assets = [a for a in full.assets if a.id not in {b.id for b in partial.assets}]
    return partial.extended(assets=assets,
                            threats=[t for t in full.threats if t.category not in have])


def cnm_hard_coded(partial):  # the lab's own partial model only: adds everything, always
    personal = Asset("A5", "customers' messages", "personal data")
    return partial.extended(assets=[personal], threats=list(_my_threats(
        _kinds(partial) | {"personal data": "A5"}).values()))


def cnm_personal_wrong_kind(partial):  # the customers' messages filed as training data
    return _answer(partial, personal_kind="training data") if any(
        a.kind == "personal data" for a in partial.assets) else _wrong_kind(partial)


def _wrong_kind(partial):
    kind = _kinds(partial)
    mine = Asset("A5", "customers' messages", "training data")
    kind["personal data"] = "A5"
    have = {t.category for t in partial.threats}
    return partial.extended(assets=[mine], threats=[
        t for c, t in _my_threats(kind).items() if c not in have])


CNM_WRONG = [cnm_unchanged, cnm_drops_given, cnm_inversion_ml04, cnm_api_abuse_weights,
             cnm_membership_atlas, cnm_rescores_given, cnm_new_control, cnm_resets_applied,
             cnm_returns_threats, cnm_membership_no_actor, cnm_supply_chain_theft_item,
             cnm_second_personal_asset, cnm_every_category, cnm_copies_course_threats,
             cnm_calls_course_model, cnm_hard_coded, cnm_personal_wrong_kind]


def cnm_right_base(partial):
    return _answer(partial)


def cnm_right_from_gaps(partial):
    found = tm.gaps(partial)
    missing = {item for what, item in found if what == "category"}
    ids = {a.kind: a.id for a in partial.assets}
    assets = []
    if ("asset kind", "personal data") in found:
        assets = [Asset("A8", "support chats with card numbers and phone numbers",
                        "personal data", "what customers type")]
        ids["personal data"] = "A8"
    build = {
        "membership_inference": lambda: Threat(
            "NLP-MI", "was this complaint used for training?", "membership_inference", "X1",
            (ids["personal data"], ids["training data"]), "E5", ("AML.T0024.000",), ("ML04",),
            3, 3, ("NLP-C5",)),
        "inversion": lambda: Threat(
            "NLP-INV", "phone numbers reconstructed from outputs", "inversion", "X4",
            (ids["personal data"],), "E5", ("AML.T0024.001",), ("ML03",), 2, 4, ("NLP-C4",)),
        "bias": lambda: Threat(
            "NLP-BIAS", "misrouting of messages written in dialect", "bias", "X4",
            (ids["predictions"], ids["personal data"]), "E6",
            ("AML.T0048.002", "AML.T0048.003"), (), 2, 3, ("NLP-C7", "NLP-C1")),
        "supply_chain": lambda: Threat(
            "NLP-SC", "a tampered tokenizer package", "supply_chain", "X3",
            (ids["software"], ids["model weights"]), "E3", ("AML.T0010",), ("ML06", "ML10"),
            2, 4, ("NLP-C6",)),
        "api_abuse": lambda: Threat(
            "NLP-API", "scripted queries forge scam flags and clog the service", "api_abuse",
            "X1", (ids["predictions"], ids["availability"]), "E5", ("AML.T0034", "AML.T0040"),
            ("ML05", "ML09"), 2, 3, ("NLP-C5", "NLP-C2")),
    }
    return partial.extended(assets=assets, threats=[build[c]() for c in sorted(missing)])


def cnm_right_with_threat(partial):
    model = _answer(partial)
    given = {t.id for t in partial.threats}
    out = partial.extended(assets=[a for a in model.assets if a not in partial.assets])
    for t in reversed([t for t in model.threats if t.id not in given]):
        out = out.with_threat(t)
    return out


def cnm_right_constructor(partial):
    done = _answer(partial)
    return ThreatModel(
        partial.domain, partial.system, partial.description,
        assets=tuple(sorted(done.assets, key=lambda a: a.kind != "personal data")),
        actors=partial.actors, entry_points=partial.entry_points, controls=partial.controls,
        threats=tuple(sorted(done.threats, key=lambda t: t.id)), dataflow=partial.dataflow,
        applied=partial.applied)


def cnm_right_replace_new_first(partial):
    done = _answer(partial)
    new = tuple(t for t in done.threats if t not in partial.threats)
    return dataclasses.replace(partial, assets=done.assets, threats=new + partial.threats)


CNM_RIGHT = [cnm_right_base, cnm_right_from_gaps, cnm_right_with_threat, cnm_right_constructor,
             cnm_right_replace_new_first]


@pytest.mark.parametrize("answer", CNM_WRONG, ids=lambda f: f.__name__)
def test_complete_nlp_model_rejects_a_wrong_answer(answer):
    assert_rejected(lab01.COMPLETE_NLP_MODEL, answer)


@pytest.mark.parametrize("answer", CNM_RIGHT, ids=lambda f: f.__name__)
def test_complete_nlp_model_accepts_a_correct_answer(answer):
    assert_accepted(lab01.COMPLETE_NLP_MODEL, answer)


@pytest.mark.parametrize(("answer", "words"), [
    (cnm_unchanged, "threat categories with no threat: membership_inference"),
    (cnm_unchanged, "asset kinds with no asset: personal data"),
    (cnm_drops_given, "NLP-T1, NLP-T2, NLP-T3 of the partial model were dropped"),
    (cnm_rescores_given, "NLP-T1 of the partial model were changed"),
    (cnm_new_control, "controls were changed"),
    (cnm_resets_applied, "applied was changed"),
    (cnm_returns_threats, "return a ThreatModel"),
    (cnm_inversion_ml04, "lists ML04, which does not fit its category: use only ML03"),
    (cnm_membership_atlas, "ATLAS techniques do not fit their category: NLP-T4"),
    (cnm_api_abuse_weights, "must target an asset of kind 'availability' or 'predictions'"),
    (cnm_membership_no_actor, "only a bias threat"),
    (cnm_second_personal_asset, "already has a personal-data asset (A5)"),
    (cnm_every_category, "but the partial model has one"),
    (cnm_copies_course_threats, "copy of the course's reference threat"),
    (cnm_calls_course_model, "calls the reference"),
    (cnm_hard_coded, "duplicate"),
])
def test_complete_nlp_model_says_what_is_wrong(answer, words):
    result = run_check(lab01.COMPLETE_NLP_MODEL, answer)
    assert result.status == "wrong" and words in result.message, result.line()


def test_a_bad_id_in_the_students_model_is_reported_not_raised():
    def bad(partial):
        return partial.extended(threats=[tm.Threat(
            "NLP-T9", "x", "bias", None, ("A4",), "E6", ("AML.T0999",), ("ML08",), 3, 3)])

    r = run_check(lab01.COMPLETE_NLP_MODEL, bad)
    assert r.status == "wrong" and "AML.T0999" in r.message and "your code" in r.message


# --- exercise 2: residual risk -----------------------------------------------------------------


def test_residual_risk_wrong_shape_is_reported():
    r = run_check(lab01.RESIDUAL_RISK, lambda lik, imp, controls: lik * imp)
    assert r.status == "wrong" and "return a tuple" in r.message


def _steps(controls):
    return (sum(c.likelihood_reduction for c in controls),
            sum(c.impact_reduction for c in controls))


def rr_floor_likelihood_only(likelihood, impact, controls):
    sl, si = _steps(controls)
    lik, imp = max(1, likelihood - sl), impact - si
    return lik, imp, lik * imp


def rr_min_instead_of_max(likelihood, impact, controls):
    sl, si = _steps(controls)
    lik, imp = min(1, likelihood - sl), min(1, impact - si)
    return lik, imp, lik * imp


def rr_inherent_score(likelihood, impact, controls):
    sl, si = _steps(controls)
    return max(1, likelihood - sl), max(1, impact - si), likelihood * impact


def rr_score_first(likelihood, impact, controls):
    sl, si = _steps(controls)
    lik, imp = max(1, likelihood - sl), max(1, impact - si)
    return lik * imp, lik, imp


def rr_one_step_per_control(likelihood, impact, controls):
    lik = max(1, likelihood - sum(1 for c in controls if c.likelihood_reduction))
    imp = max(1, impact - sum(1 for c in controls if c.impact_reduction))
    return lik, imp, lik * imp


def rr_last_only(likelihood, impact, controls):
    last = controls[-1:]
    sl, si = _steps(last)
    lik, imp = max(1, likelihood - sl), max(1, impact - si)
    return lik, imp, lik * imp


def rr_score_from_unfloored(likelihood, impact, controls):
    sl, si = _steps(controls)
    lik, imp = likelihood - sl, impact - si
    return max(1, lik), max(1, imp), lik * imp


def rr_pops_controls(likelihood, impact, controls):
    lik, imp = likelihood, impact
    while controls:
        c = controls.pop()
        lik, imp = lik - c.likelihood_reduction, imp - c.impact_reduction
    lik, imp = max(1, lik), max(1, imp)
    return lik, imp, lik * imp


def rr_average_steps(likelihood, impact, controls):
    n = max(len(controls), 1)
    sl, si = _steps(controls)
    lik, imp = max(1, likelihood - sl / n), max(1, impact - si / n)
    return lik, imp, lik * imp


def rr_dict(likelihood, impact, controls):
    sl, si = _steps(controls)
    lik, imp = max(1, likelihood - sl), max(1, impact - si)
    return {"likelihood": lik, "impact": imp, "score": lik * imp}


def rr_score_floored_only(likelihood, impact, controls):
    sl, si = _steps(controls)
    lik, imp = likelihood - sl, impact - si
    return lik, imp, max(1, lik * imp)


RR_WRONG = [rr_floor_likelihood_only, rr_min_instead_of_max, rr_inherent_score, rr_score_first,
            rr_one_step_per_control, rr_last_only, rr_score_from_unfloored,
            rr_pops_controls, rr_average_steps, rr_dict, rr_score_floored_only]


def rr_loop(likelihood, impact, controls):
    lik, imp = likelihood, impact
    for c in controls:
        lik -= c.likelihood_reduction
        imp -= c.impact_reduction
    lik = lik if lik > 1 else 1
    imp = imp if imp > 1 else 1
    return (lik, imp, lik * imp)


def rr_numpy(likelihood, impact, controls):
    steps = np.array([[c.likelihood_reduction, c.impact_reduction] for c in controls],
                     dtype=int).reshape(-1, 2)
    lik, imp = np.clip(np.array([likelihood, impact]) - steps.sum(axis=0), 1, None)
    return lik, imp, lik * imp


def rr_reduce(likelihood, impact, controls):
    lik, imp = functools.reduce(
        lambda acc, c: (acc[0] - c.likelihood_reduction, acc[1] - c.impact_reduction),
        controls, (likelihood, impact))
    lik, imp = max(lik, 1), max(imp, 1)
    return [lik, imp, lik * imp]


def rr_floats(likelihood, impact, controls):
    lik = float(max(1.0, likelihood - sum(float(c.likelihood_reduction) for c in controls)))
    imp = float(max(1.0, impact - sum(float(c.impact_reduction) for c in controls)))
    return lik, imp, lik * imp


def rr_tm_score(likelihood, impact, controls):
    lik = max(1, likelihood - sum(c.likelihood_reduction for c in controls))
    imp = max(1, impact - sum(c.impact_reduction for c in controls))
    return lik, imp, tm.risk_score(lik, imp)


RR_RIGHT = [rr_loop, rr_numpy, rr_reduce, rr_floats, rr_tm_score]


@pytest.mark.parametrize("answer", RR_WRONG, ids=lambda f: f.__name__)
def test_residual_risk_rejects_a_wrong_answer(answer):
    assert_rejected(lab01.RESIDUAL_RISK, answer)


@pytest.mark.parametrize("answer", RR_RIGHT, ids=lambda f: f.__name__)
def test_residual_risk_accepts_a_correct_answer(answer):
    assert_accepted(lab01.RESIDUAL_RISK, answer)


def test_residual_risk_explains_its_output_rules():
    assert "modified its argument `controls`" in run_check(lab01.RESIDUAL_RISK,
                                                           rr_pops_controls).message
    assert "whole number" in run_check(lab01.RESIDUAL_RISK, rr_average_steps).message
    r = run_check(lab01.RESIDUAL_RISK, lambda lik, imp, c: tm.residual_risk(lik, imp, c))
    assert "calls the reference" in r.message


# --- exercise 3: controls under a budget -------------------------------------------------------


def _all_subsets(controls):
    return itertools.chain.from_iterable(
        itertools.combinations(controls, k) for k in range(len(controls) + 1))


def test_every_budget_case_has_a_single_best_set():
    for case in lab01._cc_cases() + lab01._cc_hidden_cases():
        threats, controls, budget = case.args
        totals = {tuple(sorted(c.id for c in subset)): tm.total_residual(threats, subset)
                  for subset in _all_subsets(controls)
                  if sum(c.cost for c in subset) <= budget}
        best = min(totals.values())
        assert [s for s, v in totals.items() if v == best] == [lab01.choose_controls(
            *case.args)], case.label


def _best(threats, controls, budget, fits=None, residual=None, subsets=None):
    fits = fits or (lambda cost: cost <= budget)
    residual = residual or (lambda subset: tm.total_residual(threats, subset))
    choices = [s for s in (subsets or _all_subsets(controls)) if fits(sum(c.cost for c in s))]
    best = min(choices, key=lambda s: (residual(s), sum(c.cost for c in s)))
    return tuple(sorted(c.id for c in best))


def cc_input_order(threats, controls, budget):  # IDs in the order of the input
    chosen = set(_best(threats, controls, budget))
    return tuple(c.id for c in controls if c.id in chosen)


def cc_control_objects(threats, controls, budget):  # the Control objects, not their IDs
    chosen = set(_best(threats, controls, budget))
    return tuple(c for c in controls if c.id in chosen)


def cc_a_set(threats, controls, budget):  # a set: no order
    return set(_best(threats, controls, budget))


def cc_one_over(threats, controls, budget):  # one person-week too many
    return _best(threats, controls, budget, fits=lambda cost: cost <= budget + 1)


def cc_pairs_at_most(threats, controls, budget):  # subsets of at most two controls
    return _best(threats, controls, budget, subsets=[
        s for k in range(3) for s in itertools.combinations(controls, k)])


def cc_marginal_greedy(threats, controls, budget):  # greedy, re-evaluated after each pick
    chosen, spent = [], 0
    while True:
        now = tm.total_residual(threats, chosen)
        options = [(tm.total_residual(threats, chosen + [c]), c.id, c) for c in controls
                   if c not in chosen and spent + c.cost <= budget]
        options = [o for o in options if o[0] < now]
        if not options:
            return tuple(sorted(c.id for c in chosen))
        _, _, pick = min(options, key=lambda o: (o[0], o[1]))
        chosen.append(pick)
        spent += pick.cost


def cc_skips_free(threats, controls, budget):  # a control that costs nothing is skipped
    return _best(threats, [c for c in controls if c.cost > 0], budget)


def cc_every_threat(threats, controls, budget):  # each control counted for every threat
    def residual(subset):
        return sum(tm.residual_risk(t.likelihood, t.impact, list(subset))[2] for t in threats)

    return _best(threats, controls, budget, residual=residual)


def cc_most_controls(threats, controls, budget):  # as many controls as the budget allows
    choices = [s for s in _all_subsets(controls) if sum(c.cost for c in s) <= budget]
    best = max(choices, key=lambda s: (len(s), -tm.total_residual(threats, s)))
    return tuple(sorted(c.id for c in best))


def cc_joined(threats, controls, budget):  # one string
    return ", ".join(_best(threats, controls, budget))


CC_WRONG = [cc_input_order, cc_control_objects, cc_a_set, cc_one_over, cc_pairs_at_most,
            cc_marginal_greedy, cc_skips_free, cc_every_threat, cc_most_controls, cc_joined]


def cc_powerset_min(threats, controls, budget):
    return _best(threats, controls, budget)


def cc_recursive(threats, controls, budget):
    def search(k, left, chosen):
        if k == len(controls):
            return (tm.total_residual(threats, chosen), tuple(sorted(c.id for c in chosen)))
        skip = search(k + 1, left, chosen)
        if controls[k].cost <= left:
            take = search(k + 1, left - controls[k].cost, chosen + [controls[k]])
            return min(skip, take)
        return skip

    return search(0, budget, [])[1]


def cc_bitmask(threats, controls, budget):
    best = None
    for mask in range(1 << len(controls)):
        subset = [c for k, c in enumerate(controls) if mask >> k & 1]
        if sum(c.cost for c in subset) > budget:
            continue
        value = tm.total_residual(threats, subset)
        if best is None or value < best[0]:
            best = (value, subset)
    return tuple(sorted(c.id for c in best[1]))


def cc_own_residual(threats, controls, budget):
    def total(subset):
        ids = {c.id: c for c in subset}
        out = 0
        for t in threats:
            mine = [ids[c] for c in t.controls if c in ids]
            lik = max(1, t.likelihood - sum(c.likelihood_reduction for c in mine))
            imp = max(1, t.impact - sum(c.impact_reduction for c in mine))
            out += lik * imp
        return out

    return list(_best(threats, controls, budget, residual=total))


def cc_sorted_by_cost(threats, controls, budget):
    by_cost = sorted(controls, key=lambda c: -c.cost)
    best_value, best = None, ()
    for k in range(len(by_cost), -1, -1):
        for subset in itertools.combinations(by_cost, k):
            if sum(c.cost for c in subset) <= budget:
                value = tm.total_residual(threats, subset)
                if best_value is None or value < best_value:
                    best_value, best = value, subset
    return tuple(sorted(c.id for c in best))


CC_RIGHT = [cc_powerset_min, cc_recursive, cc_bitmask, cc_own_residual, cc_sorted_by_cost]


@pytest.mark.parametrize("answer", CC_WRONG, ids=lambda f: f.__name__)
def test_choose_controls_rejects_a_wrong_answer(answer):
    assert_rejected(lab01.CHOOSE_CONTROLS, answer)


@pytest.mark.parametrize("answer", CC_RIGHT, ids=lambda f: f.__name__)
def test_choose_controls_accepts_a_correct_answer(answer):
    assert_accepted(lab01.CHOOSE_CONTROLS, answer)


def test_choose_controls_reports_bad_output():
    r = run_check(lab01.CHOOSE_CONTROLS, lambda t, c, b: "FRD-C1")
    assert r.status == "wrong" and "tuple of strings" in r.message
    r = run_check(lab01.CHOOSE_CONTROLS, lambda t, c, b: ("NOPE",))
    assert r.status == "wrong" and "unknown control IDs" in r.message
    r = run_check(lab01.CHOOSE_CONTROLS, cc_input_order)
    assert r.status == "wrong" and "sorted" in r.message
    r = run_check(lab01.CHOOSE_CONTROLS, cc_one_over)
    assert r.status == "wrong" and "over the budget" in r.message
    r = run_check(lab01.CHOOSE_CONTROLS, lambda t, c, b: tm.optimal_controls(t, c, b))
    assert r.status == "wrong" and "calls the reference" in r.message
