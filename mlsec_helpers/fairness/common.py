"""What every domain of lab 07 shares: group metrics (fairlearn's ``MetricFrame``) and
fairness gaps with bootstrap intervals.

Introduced in lab 07 (Bias and fairness).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..validate import check_choice, check_int, check_labels, check_str
from .results import Disparity

__all__ = ["DISPARITY_METRICS", "disparity", "group_metrics"]

DISPARITY_METRICS: tuple[str, ...] = ("demographic_parity", "equalized_odds",
                                      "equal_opportunity", "false_positive_rate", "accuracy")
"""The gaps :func:`disparity` measures (fairlearn's ``*_difference`` functions: the largest
minus the smallest value across groups; equalised odds takes the larger of the true- and
false-positive-rate gaps). Introduced in lab 07 (Bias and fairness)."""


def _gap(metric: str):
    from fairlearn import metrics as fm

    return {
        "demographic_parity": fm.demographic_parity_difference,
        "equalized_odds": fm.equalized_odds_difference,
        "equal_opportunity": fm.equal_opportunity_difference,
        "false_positive_rate": fm.false_positive_rate_difference,
        "accuracy": fm.accuracy_score_difference,
    }[metric]


def _groups(groups, n: int) -> np.ndarray:
    g = np.asarray(groups)
    if g.ndim != 1 or len(g) != n:
        raise ValueError(f"groups must be 1-D with one entry per row ({n}), got shape {g.shape}")
    if len(np.unique(g)) < 2:
        raise ValueError("groups must hold at least two groups")
    return g


def group_metrics(y_true, y_pred, groups) -> pd.DataFrame:
    """Per group: rows, selection rate, true- and false-positive rates and accuracy of the
    binary predictions ``y_pred`` (fairlearn's ``MetricFrame``), plus a row ``"overall"``.

    Introduced in lab 07 (Bias and fairness).
    """
    from fairlearn import metrics as fm
    from sklearn.metrics import accuracy_score

    y_true = check_labels(y_true, None, "y_true", n_classes=2)
    y_pred = check_labels(y_pred, len(y_true), "y_pred", n_classes=2)
    g = _groups(groups, len(y_true))
    frame = fm.MetricFrame(
        metrics={"rows": fm.count, "selection rate": fm.selection_rate,
                 "true-positive rate": fm.true_positive_rate,
                 "false-positive rate": fm.false_positive_rate, "accuracy": accuracy_score},
        y_true=y_true, y_pred=y_pred, sensitive_features=g)
    out = frame.by_group.copy()
    out.loc["overall"] = frame.overall
    out["rows"] = out["rows"].astype(int)
    return out


def _rates(y_true: np.ndarray, y_pred: np.ndarray, idx: np.ndarray) -> dict[str, np.ndarray]:
    """Selection rate, TPR, FPR and accuracy of the rows ``idx`` (one resample per row of a
    2-D ``idx``); NaN where a resample holds no positive (or no negative) row."""
    t, p = y_true[idx], y_pred[idx]
    pos, neg = t.sum(-1), (1 - t).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"selection": p.mean(-1), "tpr": (p * t).sum(-1) / pos,
                "fpr": (p * (1 - t)).sum(-1) / neg, "accuracy": (p == t).mean(-1)}


def _gaps(per_group: list[dict[str, np.ndarray]], metric: str) -> np.ndarray:
    def spread(key):
        values = np.stack([r[key] for r in per_group])
        return np.nanmax(values, axis=0) - np.nanmin(values, axis=0)

    if metric == "demographic_parity":
        return spread("selection")
    if metric == "equalized_odds":
        return np.maximum(spread("tpr"), spread("fpr"))
    if metric == "equal_opportunity":
        return spread("tpr")
    if metric == "false_positive_rate":
        return spread("fpr")
    return spread("accuracy")


def disparity(metric: str, y_true, y_pred, groups, *, n_boot: int = 1000, seed: int = 0,
              on: str = "") -> Disparity:
    """The fairness gap ``metric`` (:data:`DISPARITY_METRICS`) of the binary predictions
    ``y_pred`` across ``groups``, with a 95% bootstrap interval: rows are resampled within each
    group (so every resample keeps the groups' sizes), ``n_boot`` times.

    The gaps are fairlearn's definitions (the tests check the value against
    ``fairlearn.metrics``); the bootstrap computes them in NumPy, all resamples at once,
    because fairlearn's functions build a ``MetricFrame`` per call (about 8 ms: 1,000
    resamples would take 8 s).

    A gap is a largest-minus-smallest, never negative, so resampling pushes it up: near zero
    the interval can lie entirely above the measured value. Read a small gap by its upper end.

    Introduced in lab 07 (Bias and fairness).
    """
    metric = check_choice(metric, DISPARITY_METRICS, "metric")
    y_true = check_labels(y_true, None, "y_true", n_classes=2)
    y_pred = check_labels(y_pred, len(y_true), "y_pred", n_classes=2)
    g = _groups(groups, len(y_true))
    n_boot = check_int(n_boot, "n_boot", 10)
    on = check_str(on, "on") if on else ""
    members = [np.flatnonzero(g == v) for v in np.unique(g)]
    value = float(_gaps([_rates(y_true, y_pred, m) for m in members], metric))
    gen = np.random.default_rng(seed)
    boot = [_rates(y_true, y_pred, m[gen.integers(0, len(m), size=(n_boot, len(m)))])
            for m in members]
    low, high = np.nanquantile(_gaps(boot, metric), [0.025, 0.975])
    return Disparity(metric=metric, value=value, low=float(low), high=float(high),
                     n=len(y_true), on=on)
