"""Tests of lab 07's medical helpers (mlsec_helpers.fairness.medical)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlsec_helpers.data import NHEFS_FEATURES
from mlsec_helpers.fairness import medical as fm
from mlsec_helpers.fairness.results import NhefsSplitStudy
from mlsec_helpers.validate import ArgumentTypeError

N_FIELDS = len(NHEFS_FEATURES)
SEX = NHEFS_FEATURES.index("sex")


def cohort(n=400, seed=0):
    """A synthetic NHEFS-shaped cohort: risk rises with age; men (sex 0) die more often."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FIELDS))
    sex = rng.integers(0, 2, n)
    X[:, SEX] = sex
    X[:, NHEFS_FEATURES.index("ht")] = rng.normal(size=n) - 2 * sex  # a proxy for sex
    logit = -1.5 + 1.2 * X[:, 0] - 0.8 * sex
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y, sex


def test_risk_model_and_threshold(unchanged_global_state):
    X, y, _ = cohort()
    model = fm.nhefs_risk_model(X, y, seed=0)
    scores = model.predict_proba(X)[:, 1]
    t = fm.balanced_accuracy_threshold(y, scores)
    flags = scores >= t
    j = flags[y == 1].mean() - flags[y == 0].mean()
    for other in np.quantile(scores, [0.2, 0.5, 0.8]):
        f = scores >= other
        assert j >= f[y == 1].mean() - f[y == 0].mean() - 1e-12
    with pytest.raises(ValueError, match="NHEFS"):
        fm.nhefs_risk_model(X[:, :5], y)
    with pytest.raises(ValueError, match="y"):
        fm.nhefs_risk_model(X, y[:-1])
    with pytest.raises(ValueError):
        fm.nhefs_risk_model(X, y, seed=-1)
    with pytest.raises(ValueError, match="both classes"):
        fm.balanced_accuracy_threshold(np.zeros(5, int), np.arange(5.0))
    with pytest.raises(ArgumentTypeError):
        fm.balanced_accuracy_threshold([0, 1, 0.5], [0.1, 0.2, 0.3])


def test_threshold_optimizer_meets_parity(unchanged_global_state):
    from fairlearn.metrics import demographic_parity_difference

    X, y, sex = cohort(600)
    model = fm.nhefs_risk_model(X, y)
    opt = fm.nhefs_threshold_optimizer(model, X, y, sex, constraint="demographic_parity")
    flags = opt.predict(X, sensitive_features=sex, random_state=0)
    assert demographic_parity_difference(y, flags, sensitive_features=sex) < 0.08
    eo = fm.nhefs_threshold_optimizer(model, X, y, sex, constraint="equalized_odds")
    assert set(np.unique(eo.predict(X, sensitive_features=sex, random_state=0))) <= {0, 1}
    with pytest.raises(ValueError, match="constraint"):
        fm.nhefs_threshold_optimizer(model, X, y, sex, constraint="parity")
    with pytest.raises(ValueError, match="sex"):
        fm.nhefs_threshold_optimizer(model, X, y, sex[:-1], constraint="equalized_odds")


def test_outcomes_by_group_counts():
    y = np.array([1, 1, 0, 0, 1, 0, 0, 0])
    f = np.array([1, 0, 1, 0, 1, 1, 0, 0])
    g = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    s = np.linspace(0.1, 0.8, 8)
    t = fm.patient_outcomes_by_group(y, f, g, s).set_index("group")
    assert t.loc["men", "deaths"] == 2 and t.loc["men", "missed deaths"] == 1
    assert t.loc["men", "TPR (deaths flagged)"] == 0.5
    assert t.loc["men", "FPR (survivors flagged)"] == 0.5
    assert t.loc["women", "PPV (flagged who died)"] == 0.5
    assert t.loc["women", "FPR (survivors flagged)"] == pytest.approx(1 / 3)
    assert t.loc["men", "mean predicted risk"] == pytest.approx(s[:4].mean())
    assert "mean predicted risk" not in fm.patient_outcomes_by_group(y, f, g).columns
    with pytest.raises(ValueError, match="flags"):
        fm.patient_outcomes_by_group(y, f[:-1], g)
    with pytest.raises(ValueError, match="groups"):
        fm.patient_outcomes_by_group(y, f, g + 1)
    with pytest.raises(ValueError, match="no patient"):
        fm.patient_outcomes_by_group(y, f, np.zeros(8, int))
    with pytest.raises(ValueError, match="scores"):
        fm.patient_outcomes_by_group(y, f, g, s[:-1])


def test_chouldechova_identity_holds_on_a_confusion_table():
    rng = np.random.default_rng(1)
    y, f = rng.integers(0, 2, 500), rng.integers(0, 2, 500)
    p, ppv, tpr = y.mean(), y[f == 1].mean(), f[y == 1].mean()
    assert fm.chouldechova_fpr(p, ppv, tpr) == pytest.approx(f[y == 0].mean())
    out = fm.chouldechova_fpr([0.1, 0.2], [0.5, 0.5], [1.0, 1.0])
    assert out[1] / out[0] == pytest.approx((0.2 / 0.8) / (0.1 / 0.9))
    with pytest.raises(ValueError, match="ppv"):
        fm.chouldechova_fpr(0.2, 0.0, 0.5)
    with pytest.raises(ValueError, match="base_rate"):
        fm.chouldechova_fpr(1.2, 0.5, 0.5)


def test_kleinberg_balance():
    y = np.array([1, 0, 0, 1, 0, 0])
    s = np.array([0.9, 0.2, 0.1, 0.6, 0.4, 0.3])
    g = np.array([0, 0, 0, 1, 1, 1])
    t = fm.kleinberg_balance(y, s, g).set_index("group")
    assert t.loc["men", "mean risk of those who died"] == pytest.approx(0.9)
    assert t.loc["women", "mean risk of survivors"] == pytest.approx(0.35)
    with pytest.raises(ValueError, match="deaths and survivors"):
        fm.kleinberg_balance(np.zeros(6, int), s, g)


def test_unawareness_and_proxy(unchanged_global_state):
    X, _, sex = cohort(600)
    assert fm.nhefs_drop_sex(X).shape == (600, N_FIELDS - 1)
    assert np.array_equal(fm.nhefs_drop_sex(X)[:, SEX], X[:, SEX + 1])
    auc = fm.nhefs_sex_proxy_auc(X[:400], sex[:400], X[400:], sex[400:], on="200 rows")
    assert auc.value > 0.8 and auc.low <= auc.value <= auc.high and auc.on == "200 rows"
    with pytest.raises(ValueError, match="NHEFS"):
        fm.nhefs_drop_sex(X[:, :3])
    with pytest.raises(ValueError, match="sex_test"):
        fm.nhefs_sex_proxy_auc(X[:400], sex[:400], X[400:], sex[401:])


def test_repeated_splits(unchanged_global_state):
    X, y, sex = cohort(500)
    study = fm.nhefs_repeated_splits(X, y, sex, n_splits=2, seed=0)
    assert isinstance(study, NhefsSplitStudy)
    assert study.n_splits == 2 and study.n_test == 125
    assert set(study.frame["policy"]) == set(fm.NHEFS_POLICIES)
    assert len(study.frame) == 2 * len(fm.NHEFS_POLICIES)
    assert np.allclose(study.paired("one threshold", "accuracy"), 0.0)
    assert 0 <= study.mean("demographic parity", "parity gap") <= 1
    again = fm.nhefs_repeated_splits(X, y, sex, n_splits=2, seed=0)
    pd.testing.assert_frame_equal(study.frame, again.frame)
    with pytest.raises(ValueError, match="n_splits"):
        fm.nhefs_repeated_splits(X, y, sex, n_splits=1)
    with pytest.raises(ValueError, match="test_size"):
        fm.nhefs_repeated_splits(X, y, sex, test_size=1.5)
    with pytest.raises(ValueError, match="no column"):
        study.mean("demographic parity", "recall")
    with pytest.raises(ValueError, match="unknown policy"):
        study.paired("nothing", "accuracy")


def test_policy_figure():
    y = np.array([1, 0, 1, 0])
    t = fm.patient_outcomes_by_group(y, np.array([1, 0, 0, 0]), np.array([0, 0, 1, 1]))
    fig = fm.nhefs_policy_figure({"a": t, "b": t}, title="x")
    assert len(fig.data) == 4 and fig.layout.title.text == "x"
    with pytest.raises(ValueError, match="at least one"):
        fm.nhefs_policy_figure({})
