"""Lab 10, fraud: HE applicability, the HE-friendly variant, its cost, and model recovery."""

import numpy as np
import pytest

from mlsec_helpers import fraud_sim, systems
from mlsec_helpers.fraud_sim import FEATURES
from mlsec_helpers.securecomp import common as sc_common
from mlsec_helpers.securecomp import fraud as sc_fraud
from mlsec_helpers.securecomp.results import DetectionCost, HEApplicability, LinearHead


@pytest.fixture(scope="module")
def toy():
    gen = np.random.default_rng(0)
    n = 600
    X = np.abs(gen.normal(size=(n, len(FEATURES)))) * 3
    X[:, FEATURES.index("amount")] = gen.lognormal(3, 1.5, n)
    logit = 0.02 * X[:, FEATURES.index("amount")] + X[:, 1] - 4
    y = (gen.random(n) < sc_common.sigmoid(logit)).astype(int)
    return X, y



def test_he_applicability_of_trees_and_of_the_variant(toy, unchanged_global_state):
    X, y = toy
    trees = systems.FraudScorer(seed=0).fit(X, y)
    verdict = sc_fraud.he_applicability(trees)
    assert isinstance(verdict, HEApplicability)
    assert not verdict.applies and verdict.n_trees >= 1
    assert verdict.n_comparisons >= verdict.n_trees and verdict.max_depth >= 1
    assert "comparison" in verdict.reason
    variant = sc_fraud.fit_he_friendly_scorer(X, y, seed=0)
    ok = sc_fraud.he_applicability(variant)
    assert ok.applies and ok.n_comparisons == 0


def test_he_applicability_refuses_unknown_or_unfitted_models(toy):
    from sklearn.ensemble import RandomForestClassifier

    X, y = toy
    with pytest.raises(ValueError, match="not fitted"):
        sc_fraud.he_applicability(systems.FraudScorer(seed=0))
    forest = systems.SklearnSystem(RandomForestClassifier(n_estimators=2, random_state=0),
                                   domain="fraud").fit(X, y)
    with pytest.raises(TypeError, match="RandomForest"):
        sc_fraud.he_applicability(forest)


def test_variant_is_deterministic_and_its_linear_head_is_exact(toy, unchanged_global_state):
    X, y = toy
    a = sc_fraud.fit_he_friendly_scorer(X, y, seed=3)
    b = sc_fraud.fit_he_friendly_scorer(X, y, seed=3)
    head = sc_fraud.linear_head(a)
    assert isinstance(head, LinearHead)
    np.testing.assert_array_equal(head.w, sc_fraud.linear_head(b).w)
    p = sc_common.sigmoid(fraud_sim.log_heavy_tails(X) @ head.w + head.b)
    np.testing.assert_allclose(p, a.predict_proba(X)[:, 1], atol=1e-12)


def test_variant_refuses_bad_input(toy):
    X, y = toy
    with pytest.raises(ValueError, match="both classes"):
        sc_fraud.fit_he_friendly_scorer(X, np.zeros(len(X), dtype=int))
    with pytest.raises(ValueError):
        sc_fraud.fit_he_friendly_scorer(X, y[:-1])
    with pytest.raises(ValueError):
        sc_fraud.fit_he_friendly_scorer(X, y, C=0.0)
    with pytest.raises(TypeError):
        sc_fraud.fit_he_friendly_scorer(X, y, seed=1.5)
    with pytest.raises(TypeError, match="fit_he_friendly_scorer"):
        sc_fraud.linear_head(systems.FraudScorer(seed=0).fit(X, y))


@pytest.mark.filterwarnings("ignore::scipy.stats.DegenerateDataWarning")  # AUC 1 everywhere
def test_detection_cost_on_a_known_ranking():
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    ref = np.array([0.9, 0.1, 0.8, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])  # 2 alerts, 1 fraud
    var = np.array([0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01])
    cost = sc_fraud.detection_cost(y, ref, var, n_resamples=100)
    assert isinstance(cost, DetectionCost)
    assert cost.n_alerts == 2 and cost.alert_rate == pytest.approx(0.2)
    assert cost.recall_reference.value == 0.5 and cost.recall_variant.value == 1.0
    assert cost.threshold_variant == pytest.approx(0.55)
    assert cost.auc_variant.value == 1.0 and cost.average_precision_variant == 1.0
    again = sc_fraud.detection_cost(y, ref, var, n_resamples=100)
    assert again.auc_reference == cost.auc_reference  # the bootstrap is seeded


def test_detection_cost_refuses_bad_input():
    y = np.array([1, 0, 0, 0])
    with pytest.raises(ValueError, match="scores"):
        sc_fraud.detection_cost(y, np.array([0.9, 0.1, 0.1, 0.1]), np.array([0.5, 0.5, 0.5]))
    with pytest.raises(ValueError, match="alerts"):
        sc_fraud.detection_cost(y, np.full(4, 0.1), np.full(4, 0.1))
    with pytest.raises(ValueError, match="both"):
        sc_fraud.detection_cost(np.zeros(4, dtype=int), np.array([0.9, 0.1, 0.1, 0.1]),
                                np.full(4, 0.1))


def test_recover_linear_model_through_encrypted_scores(unchanged_global_state):
    w, b = np.array([0.5, -2.0, 3.25]), -1.5
    exact = sc_fraud.recover_linear_model(lambda Q: Q @ w + b, 3)
    np.testing.assert_allclose(exact.w, w)
    assert exact.b == b and exact.n_queries == 4
    context = sc_common.ckks_context(galois=False)
    enc = sc_fraud.recover_linear_model(
        lambda Q: sc_common.encrypted_linear_scores(context, Q, w, b, packed=True).scores, 3)
    np.testing.assert_allclose(enc.w, w, atol=1e-4)
    assert enc.b == pytest.approx(b, abs=1e-4)


def test_recover_linear_model_refuses_bad_input():
    with pytest.raises(TypeError):
        sc_fraud.recover_linear_model("not a function", 3)
    with pytest.raises(ValueError):
        sc_fraud.recover_linear_model(lambda Q: Q.sum(1), 0)
    with pytest.raises(ValueError, match="probes"):
        sc_fraud.recover_linear_model(lambda Q: Q.sum(1)[:2], 3)
