"""Attacks on fairness (lab 07): a label-flipping poisoning that creates a disparity, and the
audit that catches it.

- :func:`poisoning_victim_model`: the risk model the attack targets (standardised logistic
  regression with balanced class weights; scikit-learn).
- :func:`flip_group_labels`: an attacker who controls some training labels flips positives of one
  group to negatives (:class:`~mlsec_helpers.fairness.results.LabelFlip`).
- :func:`label_flip_sweep`: the model retrained at several attacker budgets, its fairness gap
  (with bootstrap intervals) and accuracy on clean test labels
  (:class:`~mlsec_helpers.fairness.results.LabelFlipSweep`).
- :func:`audit_group_label_rates`: the defender's check: each group's positive rate in the
  untrusted labels against a small verified sample (Wilson intervals, Fisher's exact test).
- :func:`label_flip_figure`: the gap and the accuracy against the attacker's budget.

Introduced in lab 07 (Bias and fairness).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..validate import ArgumentTypeError, check_array, check_fraction, check_labels
from .common import disparity
from .results import LabelFlip, LabelFlipSweep

__all__ = ["audit_group_label_rates", "flip_group_labels", "label_flip_figure",
           "label_flip_sweep", "poisoning_victim_model"]


def poisoning_victim_model():
    """An unfitted risk model: standardisation then logistic regression with balanced class
    weights (so a 0.5 threshold flags at-risk rows even when they are rare). Its sample-weight
    argument is ``logisticregression__sample_weight`` (for fairlearn's reductions).

    Introduced in lab 07 (Bias and fairness).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(),
                         LogisticRegression(class_weight="balanced", max_iter=1000))


def _groups(groups, n: int, name: str) -> np.ndarray:
    g = np.asarray(groups)
    if g.ndim != 1 or len(g) != n:
        raise ValueError(f"{name} must be 1-D with one entry per row ({n}), got shape {g.shape}")
    return g


def _member(group, g: np.ndarray, name: str) -> None:
    if group not in set(g.tolist()):
        raise ValueError(f"{name}: group {group!r} does not occur (groups: "
                         f"{sorted(set(g.tolist()))})")


def flip_group_labels(y, groups, *, group, share: float, from_label: int = 1,
                      seed: int = 0) -> LabelFlip:
    """Flip the labels of ``share`` (of all rows) randomly chosen rows of ``group`` whose label is
    ``from_label``, to the other label: an attacker who controls part of the labelling (a data
    vendor, a compromised annotation queue) and targets one group only. Raises ``ValueError``
    when the group holds fewer such rows than the budget asks for.

    Introduced in lab 07 (Bias and fairness).
    """
    y = check_labels(y, None, "y", n_classes=2)
    g = _groups(groups, len(y), "groups")
    _member(group, g, "groups")
    share = check_fraction(share, "share")
    from_label = check_labels(np.array([from_label]), None, "from_label", n_classes=2)[0]
    candidates = np.flatnonzero((g == group) & (y == from_label))
    k = int(round(share * len(y)))
    if k > len(candidates):
        raise ValueError(f"share {share} asks for {k} flips, but group {group!r} holds only "
                         f"{len(candidates)} rows labelled {from_label}")
    flipped = np.sort(np.random.default_rng(seed).permutation(candidates)[:k])
    poisoned = y.copy()
    poisoned[flipped] = 1 - from_label
    return LabelFlip(y=poisoned, flipped=flipped, share=k / len(y), group=group)


def label_flip_sweep(X_train, y_train, groups_train, X_test, y_test, groups_test, *, group,
                     shares=(0.0, 0.01, 0.02, 0.03, 0.04, 0.05),
                     metric: str = "equal_opportunity", n_boot: int = 1000,
                     seed: int = 0) -> LabelFlipSweep:
    """Train :func:`poisoning_victim_model` on labels flipped by :func:`flip_group_labels` at each
    budget in ``shares`` (positives of ``group`` turned negative), and measure on the clean test
    labels the fairness gap ``metric`` (with its bootstrap interval) and the accuracy.

    The features and the test set are untouched: only the training labels change.

    Introduced in lab 07 (Bias and fairness).
    """
    from tqdm.auto import tqdm

    X_train = check_array(X_train, "X_train", ndim=2, dtype=np.float64)
    y_train = check_labels(y_train, len(X_train), "y_train", n_classes=2)
    g_train = _groups(groups_train, len(y_train), "groups_train")
    X_test = check_array(X_test, "X_test", ndim=2, dtype=np.float64)
    if X_test.shape[1] != X_train.shape[1]:
        raise ValueError(f"X_test has {X_test.shape[1]} features, X_train {X_train.shape[1]}")
    y_test = check_labels(y_test, len(X_test), "y_test", n_classes=2)
    g_test = _groups(groups_test, len(y_test), "groups_test")
    _member(group, g_train, "groups_train")
    if isinstance(shares, (str, bytes)) or not hasattr(shares, "__len__") or not len(shares):
        raise ArgumentTypeError("shares must be a non-empty sequence of fractions")
    shares = tuple(check_fraction(s, "shares") for s in shares)
    gaps, accuracy, n_flipped = [], [], []
    for share in tqdm(shares, desc="label-flip budgets", leave=False):
        flip = flip_group_labels(y_train, g_train, group=group, share=share, seed=seed)
        pred = poisoning_victim_model().fit(X_train, flip.y).predict(X_test)
        gaps.append(disparity(metric, y_test, pred, g_test, n_boot=n_boot, seed=seed,
                              on=f"{len(y_test)} test rows, clean labels"))
        accuracy.append(float((pred == y_test).mean()))
        n_flipped.append(len(flip.flipped))
    return LabelFlipSweep(shares=shares, n_flipped=tuple(n_flipped), gaps=tuple(gaps),
                          accuracy=tuple(accuracy))


def audit_group_label_rates(y_untrusted, groups_untrusted, y_verified, groups_verified, *,
                            alpha: float = 0.01) -> pd.DataFrame:
    """Per group: the positive rate of the untrusted training labels and of a small verified
    sample (each with its Wilson interval), the two-sided p-value of Fisher's exact test that they
    are equal (``scipy.stats.fisher_exact``), and ``flagged`` when it is below ``alpha``.

    A group-targeted label flip moves one group's rate and leaves the others: the check needs
    only labels the defender can verify, not the model. It tests each group once, so with many
    groups ``alpha`` should be divided by their number (Bonferroni).

    Introduced in lab 07 (Bias and fairness).
    """
    from scipy.stats import fisher_exact

    from ..stats import proportion

    y_u = check_labels(y_untrusted, None, "y_untrusted", n_classes=2)
    g_u = _groups(groups_untrusted, len(y_u), "groups_untrusted")
    y_v = check_labels(y_verified, None, "y_verified", n_classes=2)
    g_v = _groups(groups_verified, len(y_v), "groups_verified")
    alpha = check_fraction(alpha, "alpha", allow_zero=False)
    rows = {}
    for v in np.unique(g_u):
        a, b = y_u[g_u == v], y_v[g_v == v]
        if not len(b):
            raise ValueError(f"the verified sample holds no row of group {v!r}")
        p = fisher_exact([[a.sum(), len(a) - a.sum()], [b.sum(), len(b) - b.sum()]]).pvalue
        rows[v] = {"untrusted rows": len(a),
                   "untrusted positive rate": proportion(int(a.sum()), len(a)),
                   "verified rows": len(b),
                   "verified positive rate": proportion(int(b.sum()), len(b)),
                   "Fisher p-value": float(p), "flagged": bool(p < alpha)}
    return pd.DataFrame.from_dict(rows, orient="index")


def label_flip_figure(sweep: LabelFlipSweep, *, title: str | None = None):
    """The fairness gap (with its 95% interval) and the accuracy against the attacker's budget.

    Introduced in lab 07 (Bias and fairness).
    """
    import plotly.graph_objects as go

    from ..plots import COLORS

    if not isinstance(sweep, LabelFlipSweep):
        raise ArgumentTypeError(f"sweep must be a LabelFlipSweep, got {type(sweep).__name__}")
    x = [100 * s for s in sweep.shares]
    value = np.array([g.value for g in sweep.gaps])
    low = np.array([g.low for g in sweep.gaps])
    high = np.array([g.high for g in sweep.gaps])
    metric = sweep.gaps[0].metric.replace("_", " ")
    fig = go.Figure([
        go.Scatter(x=x, y=value, name=f"{metric} gap (95% interval)", mode="lines+markers",
                   line=dict(color=COLORS["attack"], width=2.5),
                   error_y=dict(type="data", array=high - value, arrayminus=value - low)),
        go.Scatter(x=x, y=list(sweep.accuracy), name="accuracy", mode="lines+markers",
                   line=dict(color=COLORS["neutral"], width=2.5, dash="dot")),
    ])
    fig.update_layout(title=title, template="plotly_white+mlsec", height=400,
                      xaxis_title="flipped training labels (% of training rows)",
                      yaxis_title="on the clean test labels", yaxis_range=[0, 1])
    return fig
