"""Tests of lab 08's fraud and medical helpers (mlsec_helpers.explain.tabular)."""

from __future__ import annotations

import numpy as np
import pytest

from mlsec_helpers import systems
from mlsec_helpers.explain import tabular as xt
from mlsec_helpers.explain.results import FeatureRank, PlantedFeature, SurrogateAudit
from mlsec_helpers.validate import ArgumentTypeError


def _toy(n=300, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[:, 1] = X[:, 0] + 0.05 * rng.normal(size=n)  # a correlated pair: perturbations break it
    y = (X[:, 0] + 0.5 * X[:, 2] > 0).astype(int)
    return X, y


@pytest.fixture(scope="module")
def toy_models():
    X, y = _toy()
    Xp = xt.add_label_proxy(X, y, error_rate=0.0, seed=0)
    leaky = systems.DiagnosisModel().fit(Xp, y)
    Xc = Xp.copy()
    Xc[:, -1] = Xp[:, -1].mean()
    innocuous = systems.DiagnosisModel().fit(Xc, y)
    return Xp, y, leaky, innocuous


def test_plant_label_leak_moves_only_positive_affected_rows():
    X, y = _toy()
    out = xt.plant_label_leak(X, y, 3, share=0.5, strength=2.0, seed=1)
    assert isinstance(out, PlantedFeature) and out.feature == 3
    moved = out.X[:, 3] != X[:, 3]
    assert np.array_equal(moved, out.affected & (y == 1))
    assert np.allclose(out.X[moved, 3] - X[moved, 3], 2.0)
    assert np.array_equal(np.delete(out.X, 3, axis=1), np.delete(X, 3, axis=1))
    again = xt.plant_label_leak(X, y, 3, share=0.5, strength=2.0, seed=1)
    assert np.array_equal(again.X, out.X)


def test_add_label_proxy_error_rate():
    X, y = _toy(n=2000)
    Xp = xt.add_label_proxy(X, y, error_rate=0.1, seed=0)
    assert Xp.shape == (2000, X.shape[1] + 1)
    assert 0.07 < np.mean(Xp[:, -1] != y) < 0.13
    assert np.array_equal(xt.add_label_proxy(X, y, error_rate=0.0)[:, -1], y)


def test_feature_attribution_rank():
    a = np.tile([1.0, 3.0, 2.0, 0.5], (50, 1))
    r = xt.feature_attribution_rank(-a, 1, n_boot=20)
    assert isinstance(r, FeatureRank) and r.rank == 1
    assert r.share == pytest.approx(3.0 / 6.5)
    assert r.share_low == pytest.approx(r.share) and r.share_high == pytest.approx(r.share)
    assert xt.feature_attribution_rank(a, 3, n_boot=20).rank == 4


def test_tree_and_linear_shap_find_the_leak(unchanged_global_state):
    X, y = _toy(n=600)
    plant = xt.plant_label_leak(X, y, 4, share=1.0, strength=5.0)
    trees = systems.FraudScorer(seed=0)
    trees.estimator.set_params(max_iter=30)
    trees.fit(plant.X, y)
    phi = xt.tree_shap_attributions(trees, plant.X[:100])
    assert phi.shape == (100, 5)
    assert xt.feature_attribution_rank(phi, 4, n_boot=20).rank == 1
    # TreeSHAP is additive: attributions plus one base value give the model's log-odds
    gap = phi.sum(axis=1) - trees.estimator.decision_function(plant.X[:100])
    assert np.allclose(gap, gap[0], atol=1e-6)
    Xp = xt.add_label_proxy(X, y, error_rate=0.0)
    model = systems.DiagnosisModel().fit(Xp, y)
    lin = xt.linear_shap_attributions(model, Xp[:50], Xp)
    assert lin.shape == (50, 6)
    assert xt.feature_attribution_rank(lin, 5, n_boot=20).rank == 1


def test_explainer_perturbations_shapes():
    X, _ = _toy()
    P = xt.explainer_perturbations(X, 200, seed=0)
    assert 0 < len(P) <= 200 and P.shape[1] == X.shape[1]
    F = xt.explainer_perturbations(X, 200, focus=2, seed=0)
    assert 150 < len(F) <= 200
    assert np.all(np.isin(F[:, 2], X[:, 2]))


def test_scaffold_hides_proxy_and_keeps_predictions(toy_models, unchanged_global_state):
    Xp, y, leaky, innocuous = toy_models
    scaf = xt.scaffold_model(leaky, innocuous, Xp, focus=Xp.shape[1] - 1, seed=0)
    assert isinstance(scaf, xt.ScaffoldedModel)
    routed = scaf.routed_to_biased(Xp)
    assert routed.mean() > 0.9  # training rows: the forest has seen them as real
    assert np.mean(scaf.predict(Xp) == leaky.predict(Xp)) > 0.95
    probe = xt.explainer_perturbations(Xp, 300, focus=Xp.shape[1] - 1, seed=1)
    assert np.mean(~scaf.routed_to_biased(probe)) > 0.7
    pi_leaky = xt.permutation_importance_audit(leaky, Xp, y, n_repeats=3, seed=0)
    pi_scaf = xt.permutation_importance_audit(scaf, Xp, y, n_repeats=3, seed=0)
    assert pi_leaky.shape == (Xp.shape[1],)
    assert pi_scaf[-1] < pi_leaky[-1]
    with pytest.raises(NotImplementedError):
        scaf.fit(Xp, y)


def test_real_data_surrogate_audit(toy_models, unchanged_global_state):
    Xp, y, leaky, innocuous = toy_models
    out = xt.real_data_surrogate_audit(leaky, Xp)
    assert isinstance(out, SurrogateAudit)
    assert out.fidelity > 0.95 and int(np.argmax(out.importance)) == Xp.shape[1] - 1


def test_bad_inputs():
    X, y = _toy(n=40)
    with pytest.raises(ValueError):
        xt.plant_label_leak(X, y, 9)
    with pytest.raises(ArgumentTypeError):
        xt.plant_label_leak(X, y, 1.5)
    with pytest.raises(ValueError):
        xt.plant_label_leak(X, y, 0, share=1.5)
    with pytest.raises(ValueError):
        xt.plant_label_leak(X, y[:-1], 0)
    with pytest.raises(ValueError):
        xt.add_label_proxy(X, y + 1)
    with pytest.raises(ValueError):
        xt.add_label_proxy(X, y, error_rate=-0.1)
    with pytest.raises(ValueError):
        xt.feature_attribution_rank(np.ones((1, 3)), 0)
    with pytest.raises(ValueError):
        xt.feature_attribution_rank(np.ones((5, 3)), 3)
    with pytest.raises(ValueError):
        xt.explainer_perturbations(X, 0)
    with pytest.raises(ValueError):
        xt.explainer_perturbations(X, 5, focus=7)
    with pytest.raises(ValueError):
        xt.fit_off_manifold_detector(X, n_trees=0)
    with pytest.raises(ArgumentTypeError):
        xt.ScaffoldedModel(object(), object(), object())
    with pytest.raises(ArgumentTypeError):
        xt.permutation_importance_audit(object(), X, y)
    model = systems.DiagnosisModel().fit(X, y)
    with pytest.raises(ValueError):
        xt.ScaffoldedModel(model, model, model, threshold=2.0)
    with pytest.raises(ValueError):
        xt.linear_shap_attributions(model, X[:, :3], X)
    with pytest.raises(ArgumentTypeError):
        xt.linear_shap_attributions(systems.FraudScorer(seed=0).fit(X, y), X, X)
    with pytest.raises(ValueError):
        xt.tree_shap_attributions(systems.FraudScorer(seed=0).fit(X, y), X[:, :2])
    with pytest.raises(ValueError):
        xt.real_data_surrogate_audit(model, X[y == 0][:3] * 0 - 100)
    with pytest.raises(Exception, match="not fitted"):
        xt.tree_shap_attributions(systems.FraudScorer(seed=0), X)
