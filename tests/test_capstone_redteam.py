"""Lab 14 capstone red team: threat model, plan, endpoint review, each attack, findings."""

import numpy as np
import pandas as pd
import pytest

from mlsec_helpers.capstone import redteam as rt
from mlsec_helpers.capstone import system as cs
from mlsec_helpers.capstone.results import AttackResult, ExplanationTheft, GamingResult, Theft
from mlsec_helpers.validate import ArgumentTypeError


@pytest.fixture(scope="module")
def weak():
    system = cs.capstone_system(1)
    yield system
    system.close()


@pytest.fixture(scope="module")
def hard(weak):
    system = cs.harden(weak, ["labels_and_rate_limit", "coarse_explanations",
                              "verified_features", "signed_safe_format"])
    yield system
    system.close()


@pytest.fixture(scope="module")
def results(weak):
    return rt.run_attacks(weak, seed=1)


# --- threat model and plan ----------------------------------------------------------------------


def test_threat_model_covers_every_category():
    from mlsec_helpers.catalogue import THREAT_CATEGORIES
    from mlsec_helpers.threatmodel import gaps

    model = rt.capstone_threat_model()
    assert {t.category for t in model.threats} == set(THREAT_CATEGORIES)
    assert gaps(model) == []
    assert {c.id for c in model.controls} == set(rt.CONTROL_IDS.values())
    for tids in rt.WEAKNESS_THREATS.values():
        for tid in tids:
            assert model.threat(tid).controls


def test_plan_has_a_row_per_threat_and_the_endpoint_rule():
    plan = rt.pentest_plan()
    model = rt.capstone_threat_model()
    assert set(t.id for t in model.threats) <= set(plan["threat"])
    assert plan.loc[0, "threat"] == "every endpoint"
    assert "what its answer reveals" in plan.loc[0, "attack"]
    with pytest.raises(ArgumentTypeError):
        rt.pentest_plan("model")
    smaller = model.extended(threats=[])
    extra = model.threats[0].__class__(
        "CAP-T99", "an untested threat", "evasion", "X1", ("A4",), "E5", ("AML.T0015",),
        ("ML01",), 2, 2)
    with pytest.raises(ValueError, match="CAP-T99"):
        rt.pentest_plan(smaller.extended(threats=[extra]))


def test_endpoint_review_finds_the_explain_leak(weak, hard):
    review = rt.endpoint_review(weak)
    fields = set(review.loc[review["endpoint"].str.endswith("/explain"), "answer field"])
    assert {"contributions", "counterfactual", "p_deny"} <= fields
    assert (review.loc[review["hygiene"] != "", "hygiene"].str.contains("no key -> 401")).all()
    hardened = rt.endpoint_review(hard)
    fields = set(hardened["answer field"])
    assert "contributions" not in fields and "p_deny" not in fields
    with pytest.raises(ArgumentTypeError):
        rt.endpoint_review("system")


# --- the attacks --------------------------------------------------------------------------------


def test_extraction_works_on_probabilities_only(weak, hard):
    theft = rt.extraction_attack(weak, seed=3)
    assert isinstance(theft, Theft) and theft.error is None and theft.queries == 25
    assert theft.refused_agreement.low > 0.6
    failed = rt.extraction_attack(hard, key=hard.issue_key("t-thief"))
    assert failed.error is not None and failed.weights is None
    assert failed.refused_agreement.value == 0
    with pytest.raises(ValueError, match="n_queries"):
        rt.extraction_attack(weak, n_queries=5)


def test_random_applications_are_valid(weak):
    X = rt.random_applications(50, seed=2)
    assert X.shape == (50, 12)
    assert weak.preapprove(X).status_code == 200
    np.testing.assert_array_equal(X, rt.random_applications(50, seed=2))
    with pytest.raises(ValueError):
        rt.random_applications(0)


def test_membership_through_api_needs_probabilities(weak, hard):
    auc, tpr = rt.membership_attack(weak, through_api=True)
    auc_model, _ = rt.membership_attack(weak, through_api=False)
    assert auc.low > 0.8 and abs(auc.value - auc_model.value) < 1e-9 and 0 <= tpr <= 1
    with pytest.raises(ValueError, match="labels only"):
        rt.membership_attack(hard, through_api=True)


def test_bias_audit(weak):
    audit = rt.bias_audit(weak)
    assert audit["gap"].n == 2380 and audit["gap"].low <= audit["gap"].value <= audit["gap"].high
    held_out = rt.bias_audit(weak, on="held-out")
    assert held_out["gap"].n == 595
    assert 0 < audit["impact_ratio"] < 1
    with pytest.raises(ValueError, match="unknown on"):
        rt.bias_audit(weak, on="train")


def test_gaming(weak, hard):
    result = rt.gaming_attack(weak)
    assert isinstance(result, GamingResult) and result.success.low > 0.2
    for example in result.examples:
        assert set(example) <= set(cs.DECLARED_FEATURES)
    one = rt.gaming_attack(weak, max_changed=1, on="held-out")
    assert one.success.value <= rt.gaming_attack(weak, on="held-out").success.value
    assert rt.gaming_attack(hard).success.successes == 0
    with pytest.raises(ValueError, match="not a declared field"):
        rt.gaming_attack(weak, fields=("pirat",))
    with pytest.raises(ValueError):
        rt.gaming_attack(weak, max_changed=9)


def test_explanation_attack(weak, hard):
    theft = rt.explanation_attack(weak, n_leak=5)
    assert isinstance(theft, ExplanationTheft) and theft.queries == 2
    assert theft.weight_error < 1e-8
    w, _ = weak.model.scorecard()
    np.testing.assert_allclose(theft.weights, w, rtol=1e-6, atol=1e-10)
    assert theft.counterfactuals_in_training.successes == 5
    coarse = rt.explanation_attack(hard, n_leak=5, key=hard.issue_key("t-expl"))
    assert coarse.weights is None and coarse.numbers_returned == 0
    assert coarse.counterfactuals == 0 and coarse.refused_requests > 0
    with pytest.raises(ValueError):
        rt.explanation_attack(weak, n_leak=0)


def test_supply_chain_attack_leaves_no_files(weak):
    before = sorted(p.name for p in weak.folder.iterdir())
    result = rt.supply_chain_attack(weak)
    assert result["loaded"].successes == len(result["trials"]) == 10
    assert result["payload_ran"].successes == 10 and result["same_answers"]
    assert sorted(p.name for p in weak.folder.iterdir()) == before


# --- findings -----------------------------------------------------------------------------------


def test_every_weakness_found(results):
    assert set(results) == set(cs.WEAKNESSES)
    assert all(isinstance(r, AttackResult) and r.found for r in results.values())
    findings = rt.findings_table(results)
    assert {"weakness", "threat", "how found", "evidence", "severity"} <= set(findings.columns)
    assert findings["found"].all()
    assert findings.loc[findings["weakness"] == "W6", "how found"].str.contains(
        "endpoint rule").all()
    assert set(findings["severity"]) <= {"low", "medium", "high", "critical"}


def test_run_red_team_and_bad_input(results):
    with pytest.raises(ArgumentTypeError):
        rt.findings_table({"W1": "found"})
    with pytest.raises(ArgumentTypeError):
        rt.run_attacks(pd.DataFrame())
    closed = cs.capstone_system(2)
    closed.close()
    with pytest.raises(ValueError, match="closed"):
        rt.run_red_team(closed)
