"""Lab 10's medical section: the diagnosis model as a linear score, the encrypted polynomial
sigmoid's range pitfall, and what curious parties learn from their shares."""

import numpy as np
import pytest

from mlsec_helpers import systems
from mlsec_helpers.securecomp import common as sc
from mlsec_helpers.securecomp import medical as med

RNG = np.random.default_rng(0)
X_SMALL = RNG.normal(loc=5.0, scale=3.0, size=(120, 4))
Y_SMALL = (X_SMALL[:, 0] - 5.0 + 0.3 * RNG.normal(size=120) > 0).astype(int)


@pytest.fixture(scope="module")
def diagnosis():
    return systems.DiagnosisModel().fit(X_SMALL, Y_SMALL)


def test_folded_linear_model_is_the_pipelines_logit(diagnosis):
    f = med.folded_linear_model(diagnosis)
    assert f.w.shape == (4,)
    assert X_SMALL @ f.w + f.b == pytest.approx(
        diagnosis.estimator.decision_function(X_SMALL), abs=1e-9)
    assert sc.sigmoid(X_SMALL @ f.w + f.b) == pytest.approx(
        diagnosis.predict_proba(X_SMALL)[:, 1], abs=1e-12)


def test_folded_linear_model_rejects_other_systems():
    with pytest.raises(ValueError, match="scaled logistic regression"):
        med.folded_linear_model(systems.FraudScorer(seed=0))
    with pytest.raises(ValueError, match="not fitted"):
        med.folded_linear_model(systems.DiagnosisModel())


def test_polynomial_sigmoid_study_shows_the_range_pitfall():
    ctx = sc.ckks_context(coeff_mod_bit_sizes=(52, 33, 33, 33, 52), global_scale_bits=33,
                          galois=False)
    w, b = np.array([4.0, 0.0, 0.0, 0.0]), -20.0  # logits in about [-40, 40]
    y = (X_SMALL @ w + b > 0).astype(int)
    raw, scaled, lsq = med.polynomial_sigmoid_study(ctx, X_SMALL, y, w, b,
                                                    fit_logits=X_SMALL @ w + b)
    assert raw.name.startswith("textbook, raw") and raw.logit_scale == 1.0
    assert raw.accuracy.value < 0.8 and raw.outside_range.value > 0.3
    for fixed in (scaled, lsq):
        assert fixed.accuracy.value >= 0.97 and fixed.agreement.value >= 0.97
        assert fixed.he_error < 1e-3
    assert scaled.outside_range.value == 0.0
    with pytest.raises(ValueError):
        med.polynomial_sigmoid_study(ctx, X_SMALL, y[:5], w, b, fit_logits=[1.0])
    with pytest.raises(ValueError):
        med.polynomial_sigmoid_study(ctx, X_SMALL, y, w, b, fit_logits=[])


def test_coalition_views_all_parties_learn_everything_fewer_learn_nothing(
        unchanged_global_state):
    views = med.coalition_views(X_SMALL, Y_SMALL, seed=0)
    assert [v.parties for v in views] == [1, 2, 3]
    for v in views[:2]:
        assert v.exact_share == 0.0 and v.mean_abs_corr < 0.3
        assert v.diagnosis_accuracy.value < v.majority_rate + 0.15
    assert views[2].exact_share == 1.0 and views[2].mean_abs_corr == pytest.approx(1.0)
    assert views[2].diagnosis_accuracy.value > 0.9
    again = med.coalition_views(X_SMALL, Y_SMALL, seed=0)
    assert again[0].mean_abs_corr == views[0].mean_abs_corr


def test_share_distribution_test():
    r = med.share_distribution_test(0.0, 1000.0, n_draws=2000, seed=0)
    assert len(r.p_same_distribution) == 3 and len(r.p_uniform) == 3
    assert all(0.0 <= p <= 1.0 for p in r.p_same_distribution + r.p_uniform)
    assert r == med.share_distribution_test(0.0, 1000.0, n_draws=2000, seed=0)


@pytest.mark.parametrize("call", [
    lambda: med.coalition_views(X_SMALL[:5], Y_SMALL[:5], seed=0),
    lambda: med.coalition_views(X_SMALL, Y_SMALL[:7], seed=0),
    lambda: med.coalition_views(X_SMALL, Y_SMALL, seed=0, n_parties=1),
    lambda: med.share_distribution_test(0.0, 1.0, n_draws=10, seed=0),
    lambda: med.share_distribution_test("a", 1.0, seed=0),
    lambda: med.folded_linear_model("model"),
])
def test_bad_input_is_a_clear_error(call):
    with pytest.raises(ValueError):
        call()
