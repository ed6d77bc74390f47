"""Lab 01's exercises: right answers pass, each known wrong answer is named, undone is undone."""

import dataclasses
import itertools

import pytest

from mlsec_helpers import threatmodel as tm
from mlsec_helpers.checks import lab01
from mlsec_helpers.exercises import check, run_check


def _not_done(*args):
    raise NotImplementedError()


@pytest.mark.parametrize("exercise", [lab01.COMPLETE_NLP_MODEL, lab01.RESIDUAL_RISK,
                                      lab01.CHOOSE_CONTROLS])
def test_reference_passes_and_stub_is_not_done(exercise, capsys):
    assert run_check(exercise, exercise.reference).status == "correct"
    assert check(exercise, _not_done) is exercise.reference
    assert "not done yet" in capsys.readouterr().out


# --- exercise 1 --------------------------------------------------------------------------------


def test_partial_model_misses_five_categories_and_personal_data():
    found = tm.gaps(lab01.partial_nlp_model())
    assert {c for k, c in found if k == "category"} == {
        "membership_inference", "inversion", "bias", "supply_chain", "api_abuse"}
    assert ("asset kind", "personal data") in found
    assert tm.gaps(lab01.complete_nlp_model(lab01.partial_nlp_model())) == []


@pytest.mark.parametrize(("wrong", "mistake"), [
    (lab01._cnm_no_personal_asset, "personal-data asset is missing"),
    (lab01._cnm_attacks_only, "bias, supply chain and API abuse are missing"),
    (lab01._cnm_membership_as_inversion, "membership inference mapped to OWASP ML03"),
    (lab01._cnm_no_controls, "threats without controls"),
])
def test_complete_model_mistakes_are_told_apart(wrong, mistake):
    r = run_check(lab01.COMPLETE_NLP_MODEL, wrong)
    assert r.status == "wrong" and mistake in r.message, r.message
    assert r.hint and r.hint != lab01.COMPLETE_NLP_MODEL.hint


def test_complete_model_reports_what_is_missing():
    r = run_check(lab01.COMPLETE_NLP_MODEL, lambda partial: partial)
    assert r.status == "wrong"
    assert "threat categories with no threat: membership_inference" in r.message
    assert "asset kinds with no asset: personal data" in r.message
    r = run_check(lab01.COMPLETE_NLP_MODEL, lambda partial: "done")
    assert r.status == "wrong" and "return a ThreatModel" in r.message

    def drops_one(partial):
        full = lab01.complete_nlp_model(partial)
        return dataclasses.replace(full, threats=full.threats[1:])

    r = run_check(lab01.COMPLETE_NLP_MODEL, drops_one)
    assert r.status == "wrong" and "NLP-T1" in r.message and "dropped" in r.message


def test_a_bad_id_in_the_students_model_is_reported_not_raised():
    def bad(partial):
        return partial.extended(threats=[tm.Threat(
            "NLP-T9", "x", "bias", None, ("A4",), "E6", ("AML.T0999",), ("ML08",), 3, 3)])

    r = run_check(lab01.COMPLETE_NLP_MODEL, bad)
    assert r.status == "error" and "AML.T0999" in r.message


# --- exercise 2 --------------------------------------------------------------------------------


@pytest.mark.parametrize(("wrong", "mistake"), [
    (lab01._rr_no_floor, "no floor at 1"),
    (lab01._rr_max, "only the strongest control"),
    (lab01._rr_no_impact, "impact reductions ignored"),
    (lab01._rr_score_steps, "taken off the score"),
    (lab01._rr_sum, "likelihood and impact added"),
])
def test_residual_risk_mistakes_are_told_apart(wrong, mistake):
    r = run_check(lab01.RESIDUAL_RISK, wrong)
    assert r.status == "wrong" and mistake in r.message, r.message


def test_residual_risk_wrong_shape_is_reported():
    r = run_check(lab01.RESIDUAL_RISK, lambda lik, imp, controls: lik * imp)
    assert r.status == "wrong" and "return a tuple" in r.message


# --- exercise 3 --------------------------------------------------------------------------------


def test_every_budget_case_has_a_single_best_set():
    for case in lab01._cc_cases():
        threats, controls, budget = case.args
        totals = {}
        for k in range(len(controls) + 1):
            for subset in itertools.combinations(controls, k):
                if sum(c.cost for c in subset) <= budget:
                    totals[tuple(sorted(c.id for c in subset))] = tm.total_residual(
                        threats, subset)
        best = min(totals.values())
        assert [s for s, v in totals.items() if v == best] == [lab01.choose_controls(
            *case.args)], case.label


@pytest.mark.parametrize(("wrong", "mistake"), [
    (lab01._cc_all, "every control, whatever the budget"),
    (lab01._cc_cheapest, "the cheapest controls first"),
    (lab01._cc_greedy_effect, "the biggest single reduction first"),
    (lab01._cc_greedy_ratio, "the best reduction per person-week first"),
    (lab01._cc_additive, "reductions treated as if they added up"),
])
def test_choose_controls_mistakes_are_told_apart(wrong, mistake):
    r = run_check(lab01.CHOOSE_CONTROLS, wrong)
    assert r.status == "wrong" and mistake in r.message, r.message


def test_choose_controls_accepts_any_container_and_reports_bad_output():
    r = run_check(lab01.CHOOSE_CONTROLS, lambda t, c, b: list(reversed(
        lab01.choose_controls(t, c, b))))
    assert r.status == "correct"
    r = run_check(lab01.CHOOSE_CONTROLS, lambda t, c, b: "FRD-C1")
    assert r.status == "wrong" and "tuple of strings" in r.message
    r = run_check(lab01.CHOOSE_CONTROLS, lambda t, c, b: ("NOPE",))
    assert r.status == "wrong" and "unknown control IDs" in r.message
