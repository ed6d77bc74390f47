"""Tests of lab 07's attacks on fairness (mlsec_helpers.fairness.attacks)."""

from __future__ import annotations

import numpy as np
import pytest

from mlsec_helpers.fairness import attacks as fa
from mlsec_helpers.fairness.results import Disparity, LabelFlip, LabelFlipSweep
from mlsec_helpers.validate import ArgumentTypeError


@pytest.fixture(scope="module", autouse=True)
def _libraries_loaded():
    """Fit once before the tests: the first fit loads scikit-learn's and SciPy's BLAS/OpenMP
    libraries, which would show up as new thread pools in ``unchanged_global_state`` although
    no helper changed a setting."""
    X, y, _ = _toy(50)
    fa.poisoning_victim_model().fit(X, y)


def _toy(n=600, seed=0):
    """Two groups, one feature that predicts the label, the group as a second feature."""
    gen = np.random.default_rng(seed)
    g = gen.integers(0, 2, n)
    x = gen.normal(size=n)
    y = (x + 0.3 * gen.normal(size=n) > 0.3).astype(int)
    return np.column_stack([x, g]).astype(float), y, np.where(g == 1, "b", "a")


def test_flip_group_labels_flips_only_the_group_and_the_label():
    _, y, g = _toy()
    flip = fa.flip_group_labels(y, g, group="b", share=0.05, seed=3)
    assert isinstance(flip, LabelFlip)
    assert len(flip.flipped) == round(0.05 * len(y))
    assert flip.share == pytest.approx(len(flip.flipped) / len(y))
    assert np.all(g[flip.flipped] == "b") and np.all(y[flip.flipped] == 1)
    assert np.all(flip.y[flip.flipped] == 0)
    untouched = np.setdiff1d(np.arange(len(y)), flip.flipped)
    np.testing.assert_array_equal(flip.y[untouched], y[untouched])
    again = fa.flip_group_labels(y, g, group="b", share=0.05, seed=3)
    np.testing.assert_array_equal(again.flipped, flip.flipped)
    none = fa.flip_group_labels(y, g, group="b", share=0.0)
    assert len(none.flipped) == 0 and np.array_equal(none.y, y)
    up = fa.flip_group_labels(y, g, group="a", share=0.02, from_label=0)
    assert np.all(y[up.flipped] == 0) and np.all(up.y[up.flipped] == 1)


@pytest.mark.parametrize("kwargs", [dict(group="c", share=0.1), dict(group="b", share=1.5),
                                    dict(group="b", share=0.9), dict(group="b", share=0.1,
                                                                     from_label=2)])
def test_flip_group_labels_rejects_bad_input(kwargs):
    _, y, g = _toy()
    with pytest.raises(ValueError):
        fa.flip_group_labels(y, g, **kwargs)


def test_flip_group_labels_rejects_bad_arrays():
    _, y, g = _toy()
    with pytest.raises(ValueError):
        fa.flip_group_labels(y, g[:-1], group="b", share=0.1)
    with pytest.raises(ValueError):
        fa.flip_group_labels(y + 0.5, g, group="b", share=0.1)
    with pytest.raises(ArgumentTypeError):
        fa.flip_group_labels(y, g, group="b", share="a lot")


def test_label_flip_sweep_opens_the_gap(unchanged_global_state):
    X, y, g = _toy(800)
    Xt, yt, gt = _toy(800, seed=1)
    sweep = fa.label_flip_sweep(X, y, g, Xt, yt, gt, group="b", shares=(0.0, 0.15),
                                n_boot=50, seed=0)
    assert isinstance(sweep, LabelFlipSweep)
    assert sweep.shares == (0.0, 0.15) and sweep.n_flipped == (0, 120)
    assert all(isinstance(d, Disparity) and d.metric == "equal_opportunity" for d in sweep.gaps)
    assert sweep.gaps[1].value > sweep.gaps[0].value + 0.2
    assert all(0.5 < a <= 1 for a in sweep.accuracy)
    fig = fa.label_flip_figure(sweep, title="t")
    assert len(fig.data) == 2


def test_label_flip_sweep_rejects_bad_input():
    X, y, g = _toy(200)
    with pytest.raises(ValueError):
        fa.label_flip_sweep(X, y, g, X[:, :1], y, g, group="b")
    with pytest.raises(ValueError):
        fa.label_flip_sweep(X, y, g, X, y, g, group="z")
    with pytest.raises(ValueError):
        fa.label_flip_sweep(X, y, g, X, y, g, group="b", shares=(0.0, 2.0))
    with pytest.raises(ValueError):
        fa.label_flip_sweep(X, y, g, X, y, g, group="b", shares=())
    with pytest.raises(ValueError):
        fa.label_flip_sweep(X, y, g, X, y, g, group="b", metric="vibes")
    with pytest.raises(ValueError):
        fa.label_flip_sweep(X, y[:-1], g, X, y, g, group="b")
    with pytest.raises(ArgumentTypeError):
        fa.label_flip_figure("not a sweep")


def test_audit_group_label_rates_flags_only_the_flipped_group():
    _, y, g = _toy(2000)
    _, y_v, g_v = _toy(600, seed=1)
    flip = fa.flip_group_labels(y, g, group="b", share=0.1, seed=0)
    audit = fa.audit_group_label_rates(flip.y, g, y_v, g_v, alpha=0.01)
    assert list(audit.index) == ["a", "b"]
    assert bool(audit.loc["b", "flagged"]) and not bool(audit.loc["a", "flagged"])
    assert audit.loc["b", "Fisher p-value"] < 1e-6
    rate = audit.loc["b", "untrusted positive rate"]
    assert rate.value == pytest.approx(flip.y[g == "b"].mean())
    clean = fa.audit_group_label_rates(y, g, y_v, g_v)
    assert not clean["flagged"].any()


def test_audit_group_label_rates_rejects_bad_input():
    _, y, g = _toy(200)
    with pytest.raises(ValueError):
        fa.audit_group_label_rates(y, g, y, g, alpha=0.0)
    with pytest.raises(ValueError):
        fa.audit_group_label_rates(y, g, y[g == "a"], g[g == "a"])
    with pytest.raises(ValueError):
        fa.audit_group_label_rates(y, g[:-1], y, g)


def test_poisoning_victim_model_is_unfitted_and_accepts_sample_weights():
    X, y, _ = _toy(200)
    model = fa.poisoning_victim_model()
    assert not hasattr(model, "classes_")
    model.fit(X, y, logisticregression__sample_weight=np.ones(len(y)))
    assert (model.predict(X) == y).mean() > 0.8
