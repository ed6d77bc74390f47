"""Fraud: did this customer's transactions train the model? (The unit of privacy is a
customer.)

The split of the customers into members and non-members, per-customer means of
per-transaction scores, and the coarsened-scores defence.

Introduced in lab 05 (Membership inference).
"""

from __future__ import annotations

import numpy as np

from ..repro import rng
from ..validate import check_fraction, check_int, check_proba, check_vector
from .results import GroupMeans, MembershipSplit

__all__ = ["coarsen_scores", "customer_membership_split", "group_mean"]


def customer_membership_split(customer_ids, n_customers: int, *, seed: int = 0
                              ) -> MembershipSplit:
    """``n_customers`` member customers and ``n_customers`` non-members, drawn at random.

    Introduced in lab 05 (Membership inference).
    """
    ids = np.unique(np.asarray(customer_ids))
    n_customers = check_int(n_customers, "n_customers")
    if 2 * n_customers > len(ids):
        raise ValueError(f"need 2 x n_customers <= {len(ids)} customers, got {n_customers}")
    perm = rng(seed).permutation(ids)
    return MembershipSplit(members=np.sort(perm[:n_customers]),
                           non_members=np.sort(perm[n_customers:2 * n_customers]))


def group_mean(values, groups) -> GroupMeans:
    """Mean of ``values`` per group, groups sorted.

    Used to turn per-transaction scores into one score per customer.

    Introduced in lab 05 (Membership inference).
    """
    v = check_vector(values, "values")
    g = np.asarray(groups)
    if g.ndim != 1 or len(g) != len(v):
        raise ValueError(f"groups must be 1-D with {len(v)} entries, got shape {g.shape}")
    ids, inverse = np.unique(g, return_inverse=True)
    return GroupMeans(groups=ids, means=np.bincount(inverse, weights=v) / np.bincount(inverse))


def coarsen_scores(proba, step: float = 0.1) -> np.ndarray:
    """Release scores rounded to multiples of ``step`` (0.1 gives 0.0, 0.1, ..., 1.0).

    A defence that changes no model: the fine differences in confidence that separate
    training records from others are rounded away, at some cost in ranking quality (ties).
    Rows are renormalised to sum to 1.

    Introduced in lab 05 (Membership inference).
    """
    p, _ = check_proba(proba, np.zeros(len(np.asarray(proba)), dtype=np.int64))
    step = check_fraction(step, "step", allow_zero=False)
    if p.shape[1] == 2:  # round the positive class, keep the pair consistent
        q = np.round(p[:, 1] / step) * step
        return np.c_[1 - q, q]
    q = np.round(p / step) * step
    return q / np.maximum(q.sum(1, keepdims=True), 1e-12)
