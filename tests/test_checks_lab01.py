"""Lab 01's exercise checks, beyond what tests/test_exercise_checks.py runs for every exercise."""

import dataclasses
import itertools

from mlsec_helpers import threatmodel as tm
from mlsec_helpers.checks import lab01
from mlsec_helpers.exercises import run_check


def test_partial_model_misses_five_categories_and_personal_data():
    found = tm.gaps(lab01.partial_nlp_model())
    assert {c for k, c in found if k == "category"} == {
        "membership_inference", "inversion", "bias", "supply_chain", "api_abuse"}
    assert ("asset kind", "personal data") in found
    assert tm.gaps(lab01.complete_nlp_model(lab01.partial_nlp_model())) == []


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


def test_choose_controls_accepts_any_container_and_reports_bad_output():
    r = run_check(lab01.CHOOSE_CONTROLS, lambda t, c, b: list(reversed(
        lab01.choose_controls(t, c, b))))
    assert r.status == "correct"
    r = run_check(lab01.CHOOSE_CONTROLS, lambda t, c, b: "FRD-C1")
    assert r.status == "wrong" and "tuple of strings" in r.message
    r = run_check(lab01.CHOOSE_CONTROLS, lambda t, c, b: ("NOPE",))
    assert r.status == "wrong" and "unknown control IDs" in r.message
