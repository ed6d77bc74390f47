"""Recommender: federated matrix factorisation over viewers' devices, shilling, what an update
reveals.

Lab 00's recommender is biased matrix factorisation (:class:`~mlsec_helpers.systems.MFRecommender`:
``mu + b_u + b_i + p_u . q_i``) fitted on pooled ratings. Federated (Ammad-ud-din et al.,
"Federated collaborative filtering", 2019; Chai et al., "Secure federated matrix
factorization", 2020), the item factors ``q_i`` and biases ``b_i`` are the shared model and
each viewer's factor ``p_u`` and bias ``b_u`` never leave the device. :class:`MFFederation`
holds one such federation: clients are groups of viewers' devices; in each round every device
refits its own factor to the current item factors (a ridge regression, the ALS user step), and
each client solves, for every item its viewers rated, a ridge regression kept close to the
global item factor (a proximal ALS item step); its update is the difference, which is zero on
every item none of its viewers rated. The catalogue is restricted to films with enough ratings
(:func:`catalogue_items`) and the factors are smaller than lab 00's, so that each update, and
each robust aggregation, stays small enough for dozens of federations in seconds.

- :func:`agree_mean_rating`: the global mean rating ``mu`` by secure aggregation of per-client
  sums and counts (the server sees only the totals);
- :func:`target_exposure`: the share of viewers with a target film in their top 10 (a shilling
  attack's goal: Lam and Riedl, WWW 2004; federated: Rong et al., "FedRecAttack", ICDE 2022);
- :func:`rated_items_from_update`: the rated-item set an honest-but-curious server reads off one
  unmasked update (its non-zero rows).

Introduced in lab 09 (Federated learning).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..stats import Rate, proportion
from ..validate import (
    ArgumentTypeError,
    check_array,
    check_int,
    check_number,
    check_pairs,
    check_positive,
    check_ratings,
    check_seed,
)
from .common import secure_aggregate

__all__ = [
    "MFFederation",
    "agree_mean_rating",
    "catalogue_items",
    "rated_items_from_update",
    "target_exposure",
]


def catalogue_items(X, n_items: int, *, min_ratings: int = 20) -> np.ndarray:
    """The films with at least ``min_ratings`` ratings in ``X`` ((user, item) pairs): the
    federated recommender's catalogue (sorted item ids).

    Introduced in lab 09 (Federated learning).
    """
    n_items = check_int(n_items, "n_items")
    X = np.asarray(X)
    n_users = int(X[:, 0].max()) + 1 if X.ndim == 2 and X.shape[1] == 2 and len(X) else 1
    X = check_pairs(X, n_users, n_items)
    min_ratings = check_int(min_ratings, "min_ratings")
    counts = np.bincount(X[:, 1], minlength=n_items)
    items = np.flatnonzero(counts >= min_ratings)
    if len(items) < 11:
        raise ValueError(f"only {len(items)} films have {min_ratings} ratings: lower "
                         "min_ratings")
    return items


def agree_mean_rating(y, owner, n_clients: int, *, seed: int = 0) -> float:
    """The mean of all ratings ``y`` (rating ``k`` held by client ``owner[k]``), computed by
    secure aggregation: each client masks its (sum, count) and the server decodes only the
    totals (:func:`~mlsec_helpers.federated.common.secure_aggregate`).

    Introduced in lab 09 (Federated learning).
    """
    y = check_array(y, "y", ndim=1)
    owner = np.asarray(owner)
    n_clients = check_int(n_clients, "n_clients", minimum=2)
    if owner.shape != y.shape or not np.issubdtype(owner.dtype, np.integer) or (
            len(owner) and (owner.min() < 0 or owner.max() >= n_clients)):
        raise ValueError(f"owner must give each rating a client id in 0..{n_clients - 1}")
    if len(y) == 0:
        raise ValueError("no ratings")
    rows = np.stack([np.bincount(owner, weights=y, minlength=n_clients),
                     np.bincount(owner, minlength=n_clients).astype(float)], axis=1)
    total = secure_aggregate(rows / len(y), seed=seed).total  # scaled to fit the encoding
    return float(total[0] / total[1])


class MFFederation:
    """Federated biased matrix factorisation: shared item factors, viewers' factors on device.

    ``X``, ``y``: training (user, item) pairs and ratings; ``clients``: a list of arrays of
    user ids (each client's viewers; disjoint); ``items``: the catalogue (item ids; ratings of
    other films are dropped). The shared parameters are one flat vector, the item factors
    (``len(items) x dim``) then the item biases; :meth:`initial` draws them. ``lam`` is the
    ridge penalty of every factor and bias, ``prox`` how strongly a client's item solution is
    kept near the global one, ``local_epochs`` how many user-then-item passes a client makes
    per round. ``mu`` is the global mean rating (see :func:`agree_mean_rating`; default: the
    mean of ``y``).

    ``local_train`` is the ``local_train(client, params, round)`` of
    :func:`~mlsec_helpers.federated.common.run_federation`. All clients of a round start from
    the same parameters, so the simulation computes them together (one sparse product and one
    batched solve) and hands each its own result.

    Introduced in lab 09 (Federated learning).
    """

    def __init__(self, X, y, clients, n_users: int, items, *, dim: int = 8,
                 lam: float = 5.0, prox: float = 5.0, local_epochs: int = 1,
                 mu: float | None = None):
        self.n_users = check_int(n_users, "n_users")
        items = np.asarray(items)
        if items.ndim != 1 or len(items) < 2 or not np.issubdtype(items.dtype, np.integer) \
                or len(np.unique(items)) != len(items) or items.min() < 0:
            raise ValueError("items must be a 1-D array of at least 2 distinct item ids")
        self.items = np.sort(items).astype(np.int64)
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != 2 or len(X) == 0 or not np.issubdtype(X.dtype,
                                                                               np.integer):
            raise ValueError(f"X must be a non-empty (n, 2) integer array of (user, item), "
                             f"got shape {X.shape}")
        n_items_all = int(max(self.items.max(), X[:, 1].max())) + 1
        X, y = check_ratings(X, y, self.n_users, n_items_all)
        self.dim = check_int(dim, "dim")
        self.lam = check_positive(lam, "lam")
        self.prox = check_number(prox, "prox", low=0.0)
        self.local_epochs = check_int(local_epochs, "local_epochs")
        if not isinstance(clients, list | tuple) or len(clients) < 1:
            raise ValueError("clients must be a non-empty list of arrays of user ids")
        owner = np.full(self.n_users, -1)
        for c, users in enumerate(clients):
            users = np.asarray(users)
            if users.ndim != 1 or len(users) == 0 or not np.issubdtype(users.dtype, np.integer):
                raise ValueError(f"client {c} must hold a non-empty 1-D array of user ids")
            if users.min() < 0 or users.max() >= self.n_users:
                raise ValueError(f"client {c} has user ids outside 0..{self.n_users - 1}")
            if np.any(owner[users] >= 0):
                raise ValueError(f"client {c} shares users with another client")
            owner[users] = c
        self.n_clients = len(clients)
        self.owner = owner
        col = np.full(n_items_all, -1)
        col[self.items] = np.arange(len(self.items))
        keep = (owner[X[:, 0]] >= 0) & (col[X[:, 1]] >= 0)
        self.users_, self.cols_ = X[keep, 0], col[X[keep, 1]]
        self.ratings_ = y[keep].astype(np.float64)
        if len(self.ratings_) == 0:
            raise ValueError("no rating of the clients' viewers falls in the catalogue")
        self.mu = float(self.ratings_.mean()) if mu is None else check_number(mu, "mu")
        m = len(self.items)
        self.n_params = m * (self.dim + 1)
        # One row per (client, film) that the client's viewers rated: a client's local item
        # solve only exists there, and its update is zero everywhere else.
        pair = owner[self.users_] * m + self.cols_
        self.pairs_, self.pair_of_rating_ = np.unique(pair, return_inverse=True)
        # Fixed sparsity patterns (viewer x (client, film) and back), refilled with one value
        # per rating at each step; the stored data give each entry's rating (a viewer rates a
        # film once).
        order = np.arange(1.0, len(self.ratings_) + 1)
        self._patterns = {}
        for name, rows, cols, shape in (
                ("user_pair", self.users_, self.pair_of_rating_,
                 (self.n_users, len(self.pairs_))),
                ("pair_user", self.pair_of_rating_, self.users_,
                 (len(self.pairs_), self.n_users))):
            pattern = sp.csr_matrix((order, (rows, cols)), shape)
            if pattern.nnz != len(order):
                raise ValueError("a viewer rates a film more than once in X")
            self._patterns[name] = (pattern, pattern.data.astype(np.int64) - 1)
        self._cache: dict = {}

    # --- parameters ---------------------------------------------------------------------------

    def initial(self, *, seed: int = 0) -> np.ndarray:
        """Starting shared parameters: item factors ~ N(0, 0.1^2), item biases 0.

        Introduced in lab 09 (Federated learning).
        """
        rng = np.random.default_rng(check_seed(seed))
        m = len(self.items)
        return np.concatenate([rng.normal(0.0, 0.1, m * self.dim), np.zeros(m)])

    def _unpack(self, params):
        params = check_array(params, "params", ndim=1)
        if len(params) != self.n_params:
            raise ValueError(f"params must have {self.n_params} values, got {len(params)}")
        m = len(self.items)
        return params[: m * self.dim].reshape(m, self.dim), params[m * self.dim:]

    # --- the two ridge steps ------------------------------------------------------------------

    def _sparse(self, which: str, values) -> sp.csr_matrix:
        """A copy of the fixed-pattern sparse matrix ``which`` with ``values`` (one per rating)."""
        pattern, order = self._patterns[which]
        out = pattern.copy()
        out.data = np.asarray(values, dtype=np.float64)[order]
        return out

    def _user_step(self, x):
        """Each viewer's (p_u, b_u): ridge regression on their ratings, given the item copies
        ``x`` of their client, one row per (client, film)."""
        d = self.dim
        qt = np.hstack([x[:, :d], np.ones((len(x), 1))])
        outer = (qt[:, :, None] * qt[:, None, :]).reshape(len(x), -1)
        ones = np.ones(len(self.ratings_))
        A = np.asarray(self._sparse("user_pair", ones) @ outer).reshape(-1, d + 1, d + 1)
        A += self.lam * np.eye(d + 1)
        resid = self.ratings_ - self.mu - x[self.pair_of_rating_, d]
        rhs = np.asarray(self._sparse("user_pair", resid) @ qt)
        u = np.linalg.solve(A, rhs[..., None])[..., 0]
        return u[:, :d], u[:, d]

    def _item_step(self, P, bu, x0):
        """Each (client, film)'s local [q_i, b_i]: ridge regression on the client's ratings of
        the film, pulled towards the global value ``x0`` by ``prox``."""
        d, m = self.dim, len(self.items)
        pt = np.hstack([P, np.ones((len(P), 1))])
        outer = (pt[:, :, None] * pt[:, None, :]).reshape(len(P), -1)
        ones = np.ones(len(self.ratings_))
        A = np.asarray(self._sparse("pair_user", ones) @ outer).reshape(-1, d + 1, d + 1)
        A += (self.lam + self.prox) * np.eye(d + 1)
        resid = self.ratings_ - self.mu - bu[self.users_]
        rhs = np.asarray(self._sparse("pair_user", resid) @ pt) + self.prox * x0[self.pairs_ % m]
        return np.linalg.solve(A, rhs[..., None])[..., 0]

    def user_factors(self, params) -> tuple[np.ndarray, np.ndarray]:
        """Every viewer's factor and bias refitted on their device to ``params``' item factors
        (viewers with no rating in the catalogue get zeros). Returns ``(P, b_u)``.

        Introduced in lab 09 (Federated learning).
        """
        Q, bi = self._unpack(params)
        x0 = np.hstack([Q, bi[:, None]])
        return self._user_step(x0[self.pairs_ % len(self.items)])

    def _train_all(self, params) -> np.ndarray:
        Q0, bi0 = self._unpack(params)
        m, d = len(self.items), self.dim
        x0 = np.hstack([Q0, bi0[:, None]])  # (m, d+1): global [q_i, b_i]
        x = x0[self.pairs_ % m]  # each (client, film)'s local copy
        for _ in range(self.local_epochs):
            P, bu = self._user_step(x)
            x = self._item_step(P, bu, x0)
        out = np.zeros((self.n_clients, m, d + 1))
        out[self.pairs_ // m, self.pairs_ % m] = x - x0[self.pairs_ % m]
        return out

    def local_updates(self, params) -> np.ndarray:
        """Every client's update to ``params`` after its local epochs: ``(clients, n_params)``,
        zero on every film none of the client's viewers rated.

        Introduced in lab 09 (Federated learning).
        """
        self._unpack(params)
        params = np.asarray(params, dtype=np.float64)
        key = self._cache.get("params")
        if key is None or not np.array_equal(key, params):
            out = self._train_all(params)
            m, d = len(self.items), self.dim
            flat = np.concatenate([out[:, :, :d].reshape(self.n_clients, m * d),
                                   out[:, :, d]], axis=1)
            self._cache = {"params": params.copy(), "updates": flat}
        return self._cache["updates"].copy()

    def local_train(self, client: int, params, rnd: int) -> np.ndarray:
        """``params`` plus client ``client``'s update (for ``run_federation``).

        Introduced in lab 09 (Federated learning).
        """
        if isinstance(client, bool) or not isinstance(client, int | np.integer):
            raise ArgumentTypeError(f"client must be an int, got {type(client).__name__}")
        if not 0 <= client < self.n_clients:
            raise ValueError(f"client must be in 0..{self.n_clients - 1}, got {client}")
        return np.asarray(params, dtype=np.float64) + self.local_updates(params)[client]

    # --- evaluation ---------------------------------------------------------------------------

    def scores(self, params) -> np.ndarray:
        """Predicted ratings of every catalogue film for every viewer, ``(n_users, films)``,
        each viewer's factor refitted on device to the item factors.

        Introduced in lab 09 (Federated learning).
        """
        Q, bi = self._unpack(params)
        P, bu = self.user_factors(params)
        return self.mu + bu[:, None] + bi[None, :] + P @ Q.T

    def to_catalogue(self, X, y=None):
        """Keep the (user, item) pairs of ``X`` whose film is in the catalogue, with item ids
        turned into catalogue columns; with ``y``, returns ``(pairs, ratings)``.

        Introduced in lab 09 (Federated learning).
        """
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != 2 or not np.issubdtype(X.dtype, np.integer):
            raise ValueError(f"X must be (n, 2) integer (user, item) pairs, got {X.shape}")
        col = np.searchsorted(self.items, X[:, 1])
        col = np.minimum(col, len(self.items) - 1)
        keep = self.items[col] == X[:, 1]
        pairs = np.stack([X[keep, 0], col[keep]], axis=1)
        if y is None:
            return pairs
        y = check_array(y, "y", ndim=1)
        if len(y) != len(X):
            raise ValueError(f"y must have one rating per row of X ({len(X)})")
        return pairs, y[keep]

    def hit_rate(self, params, X_test, y_test, *, k: int = 10, users=None, on: str = "") -> Rate:
        """Hit rate@``k`` with its Wilson interval: the share of viewers for whom a held-out
        film they liked (4 stars or more) is in their top ``k`` of the catalogue, films they
        rated in training left out (``systems.ranking_metrics``). ``users`` restricts the
        viewers counted.

        Introduced in lab 09 (Federated learning).
        """
        from ..systems import ranking_metrics

        k = check_int(k, "k")
        S = self.scores(params)
        train = np.stack([self.users_, self.cols_], axis=1)
        test, ratings = self.to_catalogue(X_test, y_test)
        if users is not None:
            users = np.asarray(users)
            test_keep = np.isin(test[:, 0], users)
            test, ratings = test[test_keep], ratings[test_keep]
        out = ranking_metrics(S, train, test, ratings, k=k)
        if out["users"] == 0:
            raise ValueError("no viewer has a liked held-out film in the catalogue")
        return proportion(int(round(out[f"hr@{k}"] * out["users"])), out["users"], on=on)


def target_exposure(scores, target: int, users, *, seen=None, k: int = 10, on: str = "") -> Rate:
    """The share of ``users`` with column ``target`` in their top ``k`` (films in ``seen``,
    (user, column) pairs, left out), with its Wilson interval.

    Introduced in lab 09 (Federated learning).
    """
    S = check_array(scores, "scores", ndim=2).copy()
    target = check_int(target, "target", minimum=0)
    k = check_int(k, "k")
    if target >= S.shape[1]:
        raise ValueError(f"target {target} is not a column of scores ({S.shape[1]})")
    if k >= S.shape[1]:
        raise ValueError(f"k={k} must be below the number of films ({S.shape[1]})")
    users = np.asarray(users)
    if users.ndim != 1 or len(users) == 0 or not np.issubdtype(users.dtype, np.integer):
        raise ValueError("users must be a non-empty 1-D array of user ids")
    if seen is not None:
        seen = check_pairs(seen, S.shape[0], S.shape[1], "seen")
        S[seen[:, 0], seen[:, 1]] = -np.inf
    S = S[users]
    better = (S > S[:, [target]]).sum(axis=1)
    in_top = (better < k) & np.isfinite(S[:, target])
    return proportion(in_top, on=on)


def rated_items_from_update(update, n_films: int, dim: int, *, tol: float = 0.0) -> np.ndarray:
    """What an honest-but-curious server infers from one client's unmasked update: the films
    whose factor or bias moved (``|change| > tol``), as a boolean array over the catalogue.

    Introduced in lab 09 (Federated learning).
    """
    update = check_array(update, "update", ndim=1)
    n_films = check_int(n_films, "n_films")
    dim = check_int(dim, "dim")
    tol = check_number(tol, "tol", low=0.0)
    if len(update) != n_films * (dim + 1):
        raise ValueError(f"update has {len(update)} values, expected {n_films * (dim + 1)}")
    moved = np.abs(update[: n_films * dim].reshape(n_films, dim)).max(axis=1)
    return np.maximum(moved, np.abs(update[n_films * dim:])) > tol
