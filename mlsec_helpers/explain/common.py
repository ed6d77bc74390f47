"""What every part of lab 08 shares: how much of an attribution falls in a region, how far two
attributions agree, and how far an attack moved one.

Introduced in lab 08 (Explainability).
"""

from __future__ import annotations

import numpy as np

from ..validate import check_array, check_int

__all__ = ["attribution_shift", "patch_mass_share", "top_k_overlap"]


def patch_mass_share(attributions, mask) -> np.ndarray:
    """The share of each attribution map's absolute mass that falls inside ``mask``: for
    attributions (n, ...) and a boolean mask of the same trailing shape, ``sum(|a| * mask) /
    sum(|a|)`` per row (0 where an attribution is all zero).

    Introduced in lab 08 (Explainability).
    """
    a = np.abs(check_array(attributions, "attributions", dtype=np.float64))
    m = np.asarray(mask, dtype=bool)
    if a.ndim < 2 or a.shape[1:] != m.shape:
        raise ValueError(f"mask must have the attributions' trailing shape {a.shape[1:]}, got "
                         f"{m.shape}")
    flat, inside = a.reshape(len(a), -1), m.reshape(-1)
    total = flat.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = flat[:, inside].sum(axis=1) / total
    return np.where(total > 0, share, 0.0)


def top_k_overlap(a, b, k: int) -> np.ndarray:
    """For two attributions per row (n, d each), the share of the ``k`` features with the
    largest absolute attribution in ``a`` that are also among the ``k`` largest in ``b``: 1
    when an attack left the explanation's top features in place, 0 when it moved them all.

    Introduced in lab 08 (Explainability).
    """
    a = np.abs(check_array(a, "a", ndim=2, dtype=np.float64))
    b = np.abs(check_array(b, "b", ndim=2, dtype=np.float64))
    if a.shape != b.shape:
        raise ValueError(f"a and b must have one shape, got {a.shape} and {b.shape}")
    k = check_int(k, "k", 1, a.shape[1])
    top_a = np.argsort(-a, axis=1, kind="stable")[:, :k]
    top_b = np.argsort(-b, axis=1, kind="stable")[:, :k]
    return np.array([len(np.intersect1d(x, y)) / k for x, y in zip(top_a, top_b, strict=True)])


def attribution_shift(a, b) -> np.ndarray:
    """How far an attribution moved, per row: one minus the Spearman rank correlation of the
    absolute attributions ``a`` and ``b`` (n, d each); 0 for the same ranking, up to 2 for the
    reversed one.

    Introduced in lab 08 (Explainability).
    """
    from scipy.stats import rankdata

    a = np.abs(check_array(a, "a", ndim=2, dtype=np.float64))
    b = np.abs(check_array(b, "b", ndim=2, dtype=np.float64))
    if a.shape != b.shape or a.shape[1] < 2:
        raise ValueError(f"a and b must have one shape with at least 2 features, got {a.shape} "
                         f"and {b.shape}")
    ra, rb = rankdata(a, axis=1), rankdata(b, axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    denom = np.sqrt((ra ** 2).sum(1) * (rb ** 2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(denom > 0, (ra * rb).sum(1) / denom, 1.0)
    return 1.0 - rho
