"""Uncertainty for the rates the labs report: intervals that say how far a number can be trusted.

A rate measured on 200 digits or 46 frauds is an estimate. Every headline rate of a lab carries
an interval and names its evaluation set: a Wilson interval for a proportion (attack success,
accuracy, recall), a bootstrap interval for an ROC AUC. Computed with scipy (``binomtest``'s
Wilson interval, ``scipy.stats.bootstrap``).

Introduced in lab 02 (Evasion); used by every lab that reports a rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .validate import check_int, check_labels, check_number, check_vector

__all__ = ["Rate", "auc_interval", "mean_interval", "proportion"]


@dataclass(frozen=True)
class Rate:
    """A measured rate with its interval and what it was measured on.

    ``value``: the estimate; ``low``/``high``: the interval at ``confidence``; ``n``: the number
    of cases behind it (for a proportion, ``successes`` of them counted); ``on``: the
    evaluation set in words ("200 test digits").

    Introduced in lab 02 (Evasion).
    """

    value: float
    low: float
    high: float
    n: int
    on: str = ""
    confidence: float = 0.95
    successes: int | None = None

    def __str__(self) -> str:
        where = f" on {self.on}" if self.on else f" (n = {self.n})"
        return (f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]{where}")

    def __format__(self, spec: str) -> str:
        if not spec:
            return str(self)
        return (f"{format(self.value, spec)} [{format(self.low, spec)}, "
                f"{format(self.high, spec)}]")

    @property
    def few_events(self) -> bool:
        """True when fewer than 5 successes or failures stand behind a proportion: a claim
        should not rest on it."""
        if self.successes is None:
            return False
        return min(self.successes, self.n - self.successes) < 5


def proportion(successes, n: int | None = None, *, on: str = "",
               confidence: float = 0.95) -> Rate:
    """A proportion with its Wilson score interval.

    ``successes`` is a count (then ``n`` is the number of trials) or a boolean array (then
    ``n`` is its length). The Wilson interval behaves at 0 and 1 and on small ``n``, where the
    normal approximation does not.

    Introduced in lab 02 (Evasion).
    """
    from scipy.stats import binomtest

    confidence = check_number(confidence, "confidence", low=0.0, high=1.0, low_open=True,
                              high_open=True)
    if n is None:
        hits = np.asarray(successes)
        if hits.ndim != 1 or hits.dtype.kind not in "biu" or (hits.size and (
                hits.min() < 0 or hits.max() > 1)):
            raise ValueError("successes must be a count with n, or a 1-D array of 0/1 or "
                             "booleans")
        k, n = int(hits.sum()), int(hits.size)
    else:
        k, n = check_int(successes, "successes", minimum=0), check_int(n, "n")
        if k > n:
            raise ValueError(f"successes ({k}) cannot exceed n ({n})")
    if n < 1:
        raise ValueError("a proportion needs at least one case")
    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return Rate(k / n, float(ci.low), float(ci.high), n, on, confidence, k)


def _auc(y, s, axis=-1):
    """ROC AUC by the rank-sum (Mann-Whitney) formula, vectorised over resamples."""
    from scipy.stats import rankdata

    y = np.asarray(y, dtype=bool)
    ranks = rankdata(s, axis=axis)
    n1 = y.sum(axis=axis)
    n0 = y.shape[axis] - n1
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((ranks * y).sum(axis=axis) - n1 * (n1 + 1) / 2) / (n1 * n0)


def auc_interval(y_true, scores, *, on: str = "", confidence: float = 0.95,
                 n_resamples: int = 1000, seed: int = 0) -> Rate:
    """ROC AUC with a percentile bootstrap interval (cases resampled with their labels).

    Introduced in lab 05 (Membership inference).
    """
    from scipy.stats import bootstrap

    s = check_vector(scores, "scores")
    y = check_labels(y_true, len(s), "y_true", n_classes=2)
    if y.min() == y.max():
        raise ValueError("y_true must contain both classes for an AUC")
    n_resamples = check_int(n_resamples, "n_resamples", minimum=100)
    value = float(_auc(y, s))
    res = bootstrap((y, s), _auc, paired=True, vectorized=True, n_resamples=n_resamples,
                    confidence_level=confidence, method="percentile",
                    rng=np.random.default_rng(seed))
    low, high = res.confidence_interval
    return Rate(value, float(np.nan_to_num(low, nan=value)),
                float(np.nan_to_num(high, nan=value)), len(s), on, confidence)


def mean_interval(values, *, on: str = "", seed: int = 0, n_boot: int = 1000,
                  confidence: float = 0.95) -> Rate:
    """The mean of per-unit values (per image, per user, per target) with a percentile
    bootstrap interval: the units are resampled with replacement ``n_boot`` times, drawn from
    ``numpy.random.default_rng(seed)``. For a mean of shares or scores, where
    :func:`proportion` (counts) does not apply; resample the units that are independent (users,
    not their ratings).

    Introduced in lab 08 (Explainability).
    """
    from .validate import check_seed

    v = check_vector(values, "values")
    if len(v) < 2:
        raise ValueError("values needs at least 2 units for an interval")
    if not np.isfinite(v).all():
        raise ValueError("values must be finite")
    n_boot = check_int(n_boot, "n_boot", 10)
    confidence = check_number(confidence, "confidence", low=0.0, high=1.0, low_open=True,
                              high_open=True)
    gen = np.random.default_rng(check_seed(seed))
    means = v[gen.integers(0, len(v), size=(n_boot, len(v)))].mean(axis=1)
    tail = (1 - confidence) / 2
    return Rate(float(v.mean()), float(np.quantile(means, tail)),
                float(np.quantile(means, 1 - tail)), len(v), on, confidence)
