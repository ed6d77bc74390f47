"""Recommender: did this user's ratings train the model? (The unit of privacy is a user.)

The split of the users into members and non-members, and the fold-in attack on a matrix
factorisation recommender.

Introduced in lab 05 (Membership inference).
"""

from __future__ import annotations

import numpy as np

from ..repro import rng
from ..validate import (
    ArgumentTypeError,
    check_fitted,
    check_int,
    check_pairs,
    check_positive,
    check_vector,
)
from .results import FoldInErrors, MembershipSplit

__all__ = ["fold_in_errors", "user_membership_split"]


def user_membership_split(n_users: int, *, seed: int = 0) -> MembershipSplit:
    """Split user indices in two halves: the model's members and the non-members.

    Introduced in lab 05 (Membership inference).
    """
    n_users = check_int(n_users, "n_users", 2)
    perm = rng(seed).permutation(n_users)
    return MembershipSplit(members=np.sort(perm[: n_users // 2]),
                           non_members=np.sort(perm[n_users // 2:]))


def fold_in_errors(system, X, y, l2: float = 1.0) -> FoldInErrors:
    """The user-level membership signal of a matrix-factorisation recommender.

    Many recommenders take a new user's ratings and "fold them in": they fit that user's
    vector and bias to the ratings against the model's fixed item vectors (ridge regression,
    ``l2``), then predict. The attacker folds in a person's ratings ``y`` of the (user, item)
    pairs ``X`` the same way and measures how well the model's items explain them (RMSE): the
    item vectors were fitted to the members' ratings, so members are explained better. ``system``
    is a fitted ``systems.MFRecommender``. Returns one RMSE per user in ``X``; lower means
    "more likely a member".

    Introduced in lab 05 (Membership inference).
    """
    from ..systems import MFRecommender

    if not isinstance(system, MFRecommender):
        raise ArgumentTypeError(f"system must be a systems.MFRecommender, got "
                                f"{type(system).__name__}")
    check_fitted(system, "the recommender")
    X = check_pairs(X, system.n_users, system.n_items)
    r = check_vector(y, "y")
    if len(r) != len(X):
        raise ValueError(f"y has {len(r)} entries for {len(X)} (user, item) pairs")
    l2 = check_positive(l2, "l2")
    m = system.model
    Q = m.Q.weight.detach().cpu().double().numpy()
    b_item = m.bi.weight.detach().cpu().double().numpy()[:, 0]
    order = np.argsort(X[:, 0], kind="stable")
    users, starts = np.unique(X[order, 0], return_index=True)
    ends = np.r_[starts[1:], len(order)]
    rmse = np.empty(len(users))
    ridge = l2 * np.eye(Q.shape[1] + 1)
    for k, (a, b) in enumerate(zip(starts, ends, strict=True)):
        rows = order[a:b]
        items = X[rows, 1]
        target = r[rows] - m.mu - b_item[items]
        A = np.c_[Q[items], np.ones(len(items))]
        w = np.linalg.solve(A.T @ A + ridge, A.T @ target)
        rmse[k] = np.sqrt(np.mean((A @ w - target) ** 2))
    return FoldInErrors(users=users, rmse=rmse)
