"""Lab 04, recommender domain: a recommender that answers top-k lists for user profiles, a
thief who learns a copy of it from those lists, overlap at k between two sets of lists, and the
defences a provider can put on the lists (a per-account quota, truncation, noise).

Introduced in lab 04 (Model theft).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..repro import rng, seeded
from ..stats import Rate
from ..validate import ArgumentTypeError, check_choice, check_int, check_number, check_seed
from .common import QueryBudgetExceeded

__all__ = [
    "LIST_MODES",
    "ListAPI",
    "Profile",
    "StolenRecommender",
    "candidate_items",
    "consensus_lists",
    "fold_in_scores",
    "overlap_at_k",
    "profiles_from_ratings",
    "steal_recommender",
    "synthetic_profiles",
    "top_k_lists",
]

LIST_MODES: tuple[str, ...] = ("exact", "truncated", "perturbed")
"""What a :class:`ListAPI` answers: the top ``k`` as they are, only the first ``keep`` of
them, or the top ``k`` of scores with Gumbel noise added (a fresh draw for every query).
Introduced in lab 04 (Model theft)."""


@dataclass(frozen=True)
class Profile:
    """One user profile as the API receives it: the films rated and their star ratings.

    Introduced in lab 04 (Model theft).
    """

    items: np.ndarray
    """Item indices (distinct, int64)."""
    ratings: np.ndarray
    """The star rating of each item (float64, same length)."""


def _profile(p, n_items: int) -> Profile:
    if isinstance(p, Profile):
        items, ratings = p.items, p.ratings
    else:
        try:
            items, ratings = p
        except (TypeError, ValueError):
            raise ArgumentTypeError("a profile must be a Profile or an (items, ratings) pair, "
                                    f"got {type(p).__name__}") from None
    items = np.asarray(items)
    ratings = np.asarray(ratings, dtype=np.float64)
    if items.ndim != 1 or not len(items) or ratings.shape != items.shape:
        raise ValueError("a profile needs at least one item and one rating per item, got "
                         f"shapes {items.shape} and {ratings.shape}")
    if items.dtype.kind not in "iu" or items.min() < 0 or items.max() >= n_items:
        raise ValueError(f"profile items must be integer indices in 0..{n_items - 1}")
    if len(np.unique(items)) != len(items):
        raise ValueError("a profile rates each item at most once")
    if not np.isfinite(ratings).all():
        raise ValueError("profile ratings must be finite")
    return Profile(items.astype(np.int64), ratings)


def _profiles(profiles, n_items: int) -> list[Profile]:
    if isinstance(profiles, Profile):
        raise ArgumentTypeError("profiles must be a list of profiles: wrap one in [ ]")
    out = [_profile(p, n_items) for p in profiles]
    if not out:
        raise ValueError("profiles must hold at least one profile")
    return out


def _factors(system):
    """Item factors, item biases and the global mean of a fitted MFRecommender."""
    model = getattr(system, "model", None)
    if model is None or not hasattr(model, "Q") or not hasattr(model, "bi"):
        raise ArgumentTypeError("system must be a fitted MFRecommender (systems.MFRecommender "
                                "or systems.reference_system('recommender'))")
    Q = model.Q.weight.detach().cpu().numpy().astype(np.float64)
    b = model.bi.weight.detach().cpu().numpy()[:, 0].astype(np.float64)
    return Q, b, float(model.mu)


def candidate_items(X_train, n_items: int, min_ratings: int = 20) -> np.ndarray:
    """Boolean mask of the items rated at least ``min_ratings`` times in ``X_train`` (the
    candidate set a service recommends from).

    Introduced in lab 04 (Model theft).
    """
    X = np.asarray(X_train)
    n_items = check_int(n_items, "n_items")
    min_ratings = check_int(min_ratings, "min_ratings", 0)
    if X.ndim != 2 or X.shape[1] != 2 or X.dtype.kind not in "iu":
        raise ValueError(f"X_train must be (n, 2) integer (user, item) pairs, got {X.shape}")
    if len(X) and (X[:, 1].min() < 0 or X[:, 1].max() >= n_items):
        raise ValueError(f"items in X_train must lie in 0..{n_items - 1}")
    return np.bincount(X[:, 1], minlength=n_items) >= min_ratings


def _fold_in_users(Q, b, mu, profiles, lam) -> np.ndarray:
    eye = lam * np.eye(Q.shape[1])
    P = np.empty((len(profiles), Q.shape[1]))
    for n, p in enumerate(profiles):
        Qs = Q[p.items]
        P[n] = np.linalg.solve(Qs.T @ Qs + eye, Qs.T @ (p.ratings - mu - b[p.items]))
    return P


def fold_in_scores(system, profiles, *, lam: float = 5.0) -> np.ndarray:
    """The victim's score of every item for each profile: (n_profiles, n_items).

    A new profile is folded into the trained factorisation the standard way: its user vector
    is the ridge solution ``p = (Q_S^T Q_S + lam I)^-1 Q_S^T (r - mu - b_S)`` over the rated
    items ``S`` (the item factors ``Q`` and biases ``b`` stay fixed), and the score of item
    ``j`` is ``mu + b_j + Q_j . p``. Introduced in lab 04 (Model theft).
    """
    Q, b, mu = _factors(system)
    lam = check_number(lam, "lam", low=0.0, low_open=True)
    profiles = _profiles(profiles, len(b))
    return mu + b[None, :] + _fold_in_users(Q, b, mu, profiles, lam) @ Q.T


def top_k_lists(scores, k: int, *, exclude=None, allowed=None) -> np.ndarray:
    """The ``k`` highest-scoring items of each row of ``scores``, best first: (n, k).

    ``exclude`` (one item array per row, e.g. the items a profile rated) and items outside
    the boolean mask ``allowed`` are never listed. Ties: the lower index first.
    Introduced in lab 04 (Model theft).
    """
    S = np.array(scores, dtype=np.float64)
    if S.ndim != 2 or not S.size:
        raise ValueError(f"scores must be a non-empty (n, n_items) array, got shape {S.shape}")
    k = check_int(k, "k")
    cols = np.arange(S.shape[1])
    if allowed is not None:
        allowed = np.asarray(allowed)
        if allowed.dtype != bool or allowed.shape != (S.shape[1],):
            raise ValueError(f"allowed must be a boolean mask over the {S.shape[1]} items")
        cols = np.flatnonzero(allowed)
        S = S[:, cols]  # rank the allowed columns only
    if exclude is not None:
        exclude = list(exclude)
        if len(exclude) != len(S):
            raise ValueError(f"exclude must hold one item array per row ({len(S)}), got "
                             f"{len(exclude)}")
    return _top_k(S, cols, k, exclude, len(allowed) if allowed is not None else S.shape[1])


def _top_k(S: np.ndarray, cols: np.ndarray, k: int, exclude, n_items: int) -> np.ndarray:
    """Top k of the columns ``cols`` (S holds their scores and is changed in place)."""
    if exclude is not None:
        to_col = np.full(n_items, -1)
        to_col[cols] = np.arange(len(cols))
        for row, items in enumerate(exclude):
            c = to_col[np.asarray(items, dtype=np.int64)]
            S[row, c[c >= 0]] = -np.inf
    if k > int(np.isfinite(S).sum(axis=1).min()):
        raise ValueError(f"k = {k} exceeds the number of items some row can list")
    # The k best of each row (argpartition), then sorted: score down, index up on ties.
    part = np.argpartition(-S, k - 1, axis=1)[:, :k] if k < S.shape[1] else (
        np.tile(np.arange(S.shape[1]), (len(S), 1)))
    boundary = np.take_along_axis(S, part, axis=1).min(axis=1)
    out = np.empty((len(S), k), dtype=np.int64)
    for row in range(len(S)):  # ties at the boundary: the lower indices win
        cand = np.flatnonzero(S[row] >= boundary[row])
        out[row] = cand[np.lexsort((cand, -S[row, cand]))][:k]
    return cols[out]


class ListAPI:
    """The recommender behind an API: ``api(profiles)`` answers one top-k list per profile.

    ``system`` is a fitted ``MFRecommender`` (the thief never sees its parameters); each
    profile is folded in (:func:`fold_in_scores`), and the answer lists the best ``k``
    items of the candidate mask ``allowed`` that the profile has not rated. ``mode`` is one
    of :data:`LIST_MODES`: ``"truncated"`` answers only the first ``keep`` items,
    ``"perturbed"`` ranks scores plus Gumbel noise of scale ``noise`` (fresh for every
    query, from the API's own generator, seeded by ``seed``). Every profile is one query:
    ``queries`` counts them, and ``max_queries`` (a per-account quota, if given) refuses a
    call that would pass it with :class:`~mlsec_helpers.extraction.QueryBudgetExceeded`.

    Introduced in lab 04 (Model theft).
    """

    def __init__(self, system, *, k: int = 10, allowed=None, mode: str = "exact",
                 keep: int = 3, noise: float = 0.0, lam: float = 5.0,
                 max_queries: int | None = None, seed: int = 0):
        _, b, _ = _factors(system)
        self.n_items = len(b)
        self.k = check_int(k, "k")
        self.mode = check_choice(mode, LIST_MODES, "mode")
        self.keep = check_int(keep, "keep", 1, self.k)
        self.noise = check_number(noise, "noise", low=0.0)
        if self.mode == "perturbed" and self.noise == 0:
            raise ValueError("mode 'perturbed' needs noise > 0")
        self.lam = check_number(lam, "lam", low=0.0, low_open=True)
        self.max_queries = None if max_queries is None else check_int(max_queries,
                                                                       "max_queries", 0)
        if allowed is not None:
            allowed = np.asarray(allowed)
            if allowed.dtype != bool or allowed.shape != (self.n_items,):
                raise ValueError(f"allowed must be a boolean mask over the {self.n_items} "
                                 "items")
        self.allowed = allowed
        self._system = system
        self._gen = rng(check_seed(seed))
        self.queries = 0

    def __call__(self, profiles) -> np.ndarray:
        profiles = _profiles(profiles, self.n_items)
        n = len(profiles)
        if self.max_queries is not None and self.queries + n > self.max_queries:
            raise QueryBudgetExceeded(
                f"this account may ask for {self.max_queries} lists; {self.queries} are spent "
                f"and this call asks for {n} more")
        Q, b, mu = _factors(self._system)
        cols = np.arange(len(b)) if self.allowed is None else np.flatnonzero(self.allowed)
        S = mu + b[None, cols] + _fold_in_users(Q, b, mu, profiles, self.lam) @ Q[cols].T
        if self.mode == "perturbed":
            S = S + self.noise * self._gen.gumbel(size=S.shape)
        lists = _top_k(S, cols, self.k, [p.items for p in profiles], len(b))
        self.queries += n
        return lists[:, :self.keep] if self.mode == "truncated" else lists

    def __repr__(self):
        quota = "" if self.max_queries is None else f", max_queries={self.max_queries}"
        return f"ListAPI(k={self.k}, mode={self.mode!r}{quota}; {self.queries} queries so far)"


def profiles_from_ratings(X, y, users) -> list[Profile]:
    """The rating profile of each of ``users`` in the (user, item) pairs ``X`` with ratings
    ``y`` (honest profiles to evaluate on). Introduced in lab 04 (Model theft).
    """
    X, y = np.asarray(X), np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2 or X.dtype.kind not in "iu" or y.shape != (len(X),):
        raise ValueError("X must be (n, 2) integer (user, item) pairs and y one rating per pair")
    out = []
    for u in np.atleast_1d(np.asarray(users)):
        mask = X[:, 0] == u
        if not mask.any():
            raise ValueError(f"user {u} has no ratings in X")
        out.append(Profile(X[mask, 1].astype(np.int64), y[mask]))
    return out


def synthetic_profiles(catalogue, n_profiles: int, *, size: tuple[int, int] = (3, 15),
                       seed: int = 0) -> list[Profile]:
    """The thief's made-up users: each rates between ``size[0]`` and ``size[1]`` films drawn
    from ``catalogue`` (item indices the thief knows of, e.g. a public chart), with half-star
    ratings drawn uniformly from 1 to 5. Introduced in lab 04 (Model theft).
    """
    catalogue = np.unique(np.asarray(catalogue))
    if catalogue.ndim != 1 or catalogue.dtype.kind not in "iu" or not len(catalogue):
        raise ValueError("catalogue must be a non-empty 1-D array of item indices")
    n_profiles = check_int(n_profiles, "n_profiles")
    lo, hi = (check_int(s, "size") for s in size)
    if lo > hi or hi > len(catalogue):
        raise ValueError(f"size must be (low, high) with low <= high <= {len(catalogue)} "
                         f"(the catalogue), got {size}")
    gen = rng(seed)
    out = []
    for _ in range(n_profiles):
        items = np.sort(gen.choice(catalogue, int(gen.integers(lo, hi + 1)), replace=False))
        out.append(Profile(items.astype(np.int64), gen.integers(2, 11, len(items)) / 2.0))
    return out


_MU = 3.5
"""The mean rating the thief assumes (the middle of a five-star scale, rounded up)."""


@dataclass(frozen=True)
class StolenRecommender:
    """The thief's copy, learned from top-k lists: item biases and item vectors of a
    factorisation of its own, which folds a profile in as the victim does (ridge regression of
    ``r - 3.5 - bias`` on the rated items' vectors, penalty ``lam``). The result of
    :func:`steal_recommender`. Introduced in lab 04 (Model theft).
    """

    bias: np.ndarray
    """One bias per item (n_items,)."""
    Q: np.ndarray
    """Item vectors (n_items, dim)."""
    seen: np.ndarray
    """Boolean mask of the items that appeared in some list (the only ones it recommends)."""
    known: np.ndarray
    """Boolean mask of the items it has vectors for (in some list or some of its profiles);
    a profile's other items are left out of its fold-in."""
    queries: int
    """The lists it was learned from."""
    lam: float
    """The ridge penalty of its fold-in."""

    def scores(self, profiles) -> np.ndarray:
        """Scores of every item for each profile: (n_profiles, n_items)."""
        profiles = _profiles(profiles, len(self.bias))
        eye = self.lam * np.eye(self.Q.shape[1])
        U = np.empty((len(profiles), self.Q.shape[1]))
        for n, p in enumerate(profiles):
            use = self.known[p.items]
            Qs = self.Q[p.items[use]]
            U[n] = np.linalg.solve(Qs.T @ Qs + eye,
                                   Qs.T @ (p.ratings[use] - _MU - self.bias[p.items[use]]))
        return self.bias[None, :] + U @ self.Q.T

    def recommend(self, profiles, k: int = 10) -> np.ndarray:
        """The top-``k`` lists it predicts for ``profiles`` (rated items left out)."""
        profiles = _profiles(profiles, len(self.bias))
        return top_k_lists(self.scores(profiles), k, exclude=[p.items for p in profiles],
                           allowed=self.seen)


def steal_recommender(profiles, lists, n_items: int, *, dim: int = 16, epochs: int = 20,
                      lr: float = 0.05, lam: float = 5.0, weight_decay: float = 1e-3,
                      batch_size: int = 512, seed: int = 0) -> StolenRecommender:
    """Learn a copy of a recommender from the top-k ``lists`` it answered for ``profiles``.

    The thief assumes a textbook design, a factorisation that folds new profiles in by ridge
    regression, and learns item biases and ``dim``-dimensional item vectors of its own
    (:class:`StolenRecommender`) with a listwise loss: for each answer, every listed item
    (weighted 1/log2(rank + 1)) should win a softmax over all items seen in any list, the
    profile's own items left out, as the API leaves them out. Adam with ``weight_decay``
    (without it the copy memorises its few thousand lists). Torch, seeded by ``seed``; the
    caller's global generators are left as they were. ``lists`` may be shorter than k (a
    truncated API). Introduced in lab 04 (Model theft).
    """
    import torch

    profiles = _profiles(profiles, check_int(n_items, "n_items"))
    L = np.asarray(lists)
    if L.ndim != 2 or len(L) != len(profiles) or not L.shape[1]:
        raise ValueError(f"lists must be (n_profiles, k) with one list per profile "
                         f"({len(profiles)}), got shape {L.shape}")
    if L.dtype.kind not in "iu" or L.min() < 0 or L.max() >= n_items:
        raise ValueError(f"lists must hold item indices in 0..{n_items - 1}")
    dim = check_int(dim, "dim")
    epochs = check_int(epochs, "epochs")
    batch_size = check_int(batch_size, "batch_size")
    lr = check_number(lr, "lr", low=0.0, low_open=True)
    lam = check_number(lam, "lam", low=0.0, low_open=True)
    weight_decay = check_number(weight_decay, "weight_decay", low=0.0)
    seed = check_seed(seed)
    seen = np.zeros(n_items, dtype=bool)
    seen[L.ravel()] = True
    known = seen.copy()
    for p in profiles:
        known[p.items] = True
    # Train on the compressed index space of the items seen in a list (column m: "other").
    cols = np.flatnonzero(seen)
    m = len(cols)
    to_col = np.full(n_items, m, dtype=np.int64)
    to_col[cols] = np.arange(m)
    width = max(len(p.items) for p in profiles)
    idx = np.zeros((len(profiles), width), dtype=np.int64)
    res = np.zeros((len(profiles), width), dtype=np.float32)
    valid = np.zeros((len(profiles), width), dtype=np.float32)
    for n, p in enumerate(profiles):
        idx[n, :len(p.items)] = p.items
        res[n, :len(p.items)] = p.ratings - _MU
        valid[n, :len(p.items)] = 1.0
    rank_w = 1.0 / np.log2(np.arange(L.shape[1]) + 2.0)
    rank_w = torch.as_tensor(rank_w / rank_w.sum(), dtype=torch.float32)
    idx_t, res_t, valid_t = (torch.as_tensor(a) for a in (idx, res, valid))
    own_t = torch.as_tensor(np.where(valid > 0, to_col[idx], m))
    target_t = torch.as_tensor(to_col[L])
    cols_t = torch.as_tensor(cols)
    eye = lam * torch.eye(dim)
    with seeded(seed):
        gen = torch.Generator().manual_seed(seed)
        bias = torch.nn.Parameter(torch.zeros(n_items))
        Q = torch.nn.Parameter(0.1 * torch.randn(n_items, dim, generator=gen))
        opt = torch.optim.Adam([bias, Q], lr=lr, weight_decay=weight_decay)
        for _ in range(epochs):
            for batch in torch.randperm(len(profiles), generator=gen).split(batch_size):
                Qs = Q[idx_t[batch]] * valid_t[batch, :, None]
                r = (res_t[batch] - bias[idx_t[batch]]) * valid_t[batch]
                u = torch.linalg.solve(Qs.transpose(1, 2) @ Qs + eye,
                                       (Qs.transpose(1, 2) @ r[:, :, None]))[:, :, 0]
                s = bias[cols_t][None, :] + u @ Q[cols_t].T
                s = torch.cat([s, torch.zeros(len(batch), 1)], dim=1)
                own = torch.zeros_like(s, dtype=torch.bool).scatter_(1, own_t[batch], True)
                own[:, m] = True
                logp = torch.log_softmax(s.masked_fill(own, -torch.inf), dim=1)
                loss = -(logp.gather(1, target_t[batch]) * rank_w).sum(1).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
    return StolenRecommender(bias.detach().numpy().astype(np.float64),
                             Q.detach().numpy().astype(np.float64), seen, known,
                             len(profiles), lam)


def overlap_at_k(lists_a, lists_b, k: int = 10, *, on: str = "", n_boot: int = 1000,
                 seed: int = 0) -> Rate:
    """Overlap at ``k``: the mean over rows of ``|top_k(a) & top_k(b)| / k``, with a 95%
    percentile-bootstrap interval over rows (the rows, not the k slots, are the independent
    cases). Both must be (n, >= k) arrays of item indices, best first; order within the
    first k does not count. Introduced in lab 04 (Model theft).
    """
    A, B = np.asarray(lists_a), np.asarray(lists_b)
    k = check_int(k, "k")
    n_boot = check_int(n_boot, "n_boot")
    if A.ndim != 2 or B.ndim != 2 or len(A) != len(B) or not len(A):
        raise ValueError(f"lists_a and lists_b must be 2-D with the same, non-zero number of "
                         f"rows, got shapes {A.shape} and {B.shape}")
    if A.shape[1] < k or B.shape[1] < k:
        raise ValueError(f"both must list at least k = {k} items per row, got {A.shape[1]} "
                         f"and {B.shape[1]}")
    per_row = np.array([len(set(a[:k].tolist()) & set(b[:k].tolist())) / k
                        for a, b in zip(A, B, strict=True)])
    means = per_row[rng(seed).integers(0, len(per_row), (n_boot, len(per_row)))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return Rate(float(per_row.mean()), float(low), float(high), len(per_row), on)


def consensus_lists(answers, k: int | None = None) -> np.ndarray:
    """One list per profile from several answers to the same profiles: items ranked by how
    many answers list them, ties broken by the better mean position (a missing item counts
    as position k), then by the lower index.

    ``answers`` is (n_repeats, n_profiles, k) (or a list of (n_profiles, k) arrays), each
    answer listing distinct items. The
    thief who knows the API adds fresh noise to every answer asks each profile several times
    and votes. Returns (n_profiles, k), or the first ``k`` columns when ``k`` is given.
    Introduced in lab 04 (Model theft).
    """
    A = np.asarray(answers)
    if A.ndim != 3 or not A.size:
        raise ValueError(f"answers must be (n_repeats, n_profiles, k), got shape {A.shape}")
    if A.dtype.kind not in "iu" or A.min() < 0:
        raise ValueError("answers must hold item indices (non-negative ints)")
    if (np.diff(np.sort(A, axis=2), axis=2) == 0).any():
        raise ValueError("each answer must list distinct items")
    repeats, n_profiles, width = A.shape
    k = width if k is None else check_int(k, "k", 1, width)
    out = np.empty((n_profiles, k), dtype=np.int64)
    positions = np.tile(np.arange(width), repeats)
    for n in range(n_profiles):
        items, inv, count = np.unique(A[:, n, :].ravel(), return_inverse=True,
                                      return_counts=True)
        # Mean position over the answers, an answer that misses the item counting as width.
        mean_pos = (np.bincount(inv, weights=positions) + width * (repeats - count)) / repeats
        out[n] = items[np.lexsort((items, mean_pos, -count))][:k]
    return out
