"""Exercises of lab 09 (Federated learning).

Each exercise's cases test every rule its statement in the lab states (named in each case's
label); ``hidden_cases`` test the same rules on other inputs, for :func:`exercises.grade`.
"""

from __future__ import annotations

import weakref

import numpy as np

from .. import federated
from ..exercises import Case, Exercise, Mistake

# --- exercise 1: the coordinate-wise trimmed mean -----------------------------------------------


def trimmed_mean(updates, beta) -> np.ndarray:
    """The coordinate-wise trimmed mean of client updates (Yin et al., 2018): for every
    coordinate separately, sort the clients' values, drop the ``floor(beta * n)`` lowest and
    the ``floor(beta * n)`` highest (``n`` clients, one row each) and average the rest.
    ``updates`` is (n, d); returns (d,). ``beta`` outside ``[0, 0.5)``, or ``updates`` that is
    not 2-D, is bad input: raise ``ValueError``.

    Introduced in lab 09 (Federated learning).
    """
    U = np.asarray(updates, dtype=float)
    if U.ndim != 2 or len(U) == 0:
        raise ValueError("updates must be a non-empty 2-D array, one row per client")
    if not 0.0 <= float(beta) < 0.5:
        raise ValueError("beta must be in [0, 0.5)")
    cut = int(np.floor(beta * len(U)))
    return np.sort(U, axis=0)[cut:len(U) - cut].mean(axis=0)


def _tm_top_only(U, beta):  # drops the highest values only
    U = np.sort(np.asarray(U, dtype=float), axis=0)
    return U[:len(U) - int(beta * len(U))].mean(axis=0)


def _tm_rows(U, beta):  # trims whole clients by their norm, not each coordinate
    U = np.asarray(U, dtype=float)
    cut = int(beta * len(U))
    order = np.argsort(np.linalg.norm(U, axis=1))
    return U[order[:len(U) - 2 * cut]].mean(axis=0)


def _tm_ceil(U, beta):  # rounds the count up
    U = np.sort(np.asarray(U, dtype=float), axis=0)
    cut = int(np.ceil(beta * len(U)))
    return U[cut:len(U) - cut].mean(axis=0)


def _tm_mean(U, beta):  # no trimming at all
    return np.asarray(U, dtype=float).mean(axis=0)


def _tm_median(U, beta):
    return np.median(np.asarray(U, dtype=float), axis=0)


def _tm_axis(U, beta):  # sorts each client's row instead of each coordinate's column
    U = np.sort(np.asarray(U, dtype=float), axis=1)
    cut = int(beta * U.shape[1])
    return np.resize(U[:, cut:U.shape[1] - cut].mean(axis=1), U.shape[1])


def _tm_unsorted(U, beta):  # drops the first and last clients, not the extreme values
    U = np.asarray(U, dtype=float)
    cut = int(beta * len(U))
    return U[cut:len(U) - cut].mean(axis=0)


def _trimmed_cases() -> list[Case]:
    gen = np.random.default_rng(9)
    U = gen.normal(size=(8, 5))
    U[0, :] += 50.0  # one client far out on every coordinate
    V = gen.normal(size=(10, 4))
    V[[2, 7], 1] = [-40.0, 40.0]  # outliers on one coordinate, in different clients
    return [
        Case((U, 0.25), label="8 clients, beta 0.25: 2 lowest and 2 highest dropped per "
                              "coordinate"),
        Case((V, 0.1), label="outliers in different clients on different coordinates (per "
                             "coordinate, not per client)"),
        Case((np.array([[0.0, 9.0], [1.0, 2.0], [5.0, 7.0], [2.0, 0.0], [9.0, 1.0]]), 0.3),
             label="beta * n = 1.5 drops floor(1.5) = 1 per side"),
        Case((U, 0.0), label="beta 0 is the plain mean"),
        Case((U, 0.5), label="beta 0.5 is bad input", raises=ValueError),
        Case((U, -0.1), label="a negative beta is bad input", raises=ValueError),
        Case((U[0], 0.1), label="a 1-D array is bad input", raises=ValueError),
    ]


def _trimmed_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(909)
    W = gen.standard_t(2, size=(11, 30))
    return [
        Case((W, 0.2), label="11 clients, heavy tails, beta 0.2 (2 per side)"),
        Case((W[:3], 0.4), label="3 clients, beta 0.4 drops 1 per side (the median)"),
        Case((W[:9] ** 3, 0.3), label="9 clients, beta * n = 2.7 drops 2 per side"),
        Case((W, 0.55), label="beta above 0.5 is bad input", raises=ValueError),
    ]


def _vector_validate(got, case: Case) -> str | None:
    d = np.asarray(case.args[0]).shape[-1]
    arr = np.asarray(got) if isinstance(got, np.ndarray | list | tuple) else None
    if arr is None or arr.shape != (d,):
        return (f"return one vector of length {d} (one value per coordinate), got "
                f"{getattr(arr, 'shape', type(got).__name__)}")
    return None


TRIMMED_MEAN = Exercise(
    name="trimmed_mean",
    reference=trimmed_mean,
    cases=_trimmed_cases,
    hidden_cases=_trimmed_hidden_cases,
    validate=_vector_validate,
    conceal=[federated.aggregate],
    mistakes=[
        Mistake("only the highest values dropped", _tm_top_only,
                "drop floor(beta * n) values at BOTH ends of each coordinate"),
        Mistake("whole clients trimmed by their norm", _tm_rows,
                "trim each coordinate separately: np.sort(updates, axis=0)"),
        Mistake("the count rounded up", _tm_ceil, "drop floor(beta * n) per side"),
        Mistake("no trimming (the plain mean)", _tm_mean,
                "sort each coordinate and drop the extremes before averaging"),
        Mistake("the coordinate-wise median", _tm_median,
                "average what is left after trimming, not its middle value"),
        Mistake("each client's row sorted", _tm_axis,
                "sort along the clients (axis 0), one column per coordinate"),
        Mistake("the first and last clients dropped, unsorted", _tm_unsorted,
                "sort each coordinate's values first: the extremes are not the first rows"),
    ],
    hint="np.sort(updates, axis=0)[cut:n - cut].mean(axis=0) with cut = floor(beta * n)",
)

# --- exercise 2: Krum's score -------------------------------------------------------------------


def krum_scores(updates, f) -> np.ndarray:
    """Krum's score of every client (Blanchard et al., 2017): the sum of the SQUARED Euclidean
    distances from its update to its ``n - f - 2`` nearest OTHER updates (``n`` clients, ``f``
    the number of Byzantine clients the server assumes). Krum picks the update with the lowest
    score. ``updates`` is (n, d); returns (n,). ``n - f - 2 < 1`` or ``f < 0`` is bad input:
    raise ``ValueError``.

    Introduced in lab 09 (Federated learning).
    """
    U = np.asarray(updates, dtype=float)
    if U.ndim != 2:
        raise ValueError("updates must be 2-D, one row per client")
    f = int(f)
    k = len(U) - f - 2
    if f < 0 or k < 1:
        raise ValueError(f"Krum needs n - f - 2 >= 1 neighbours, got n={len(U)}, f={f}")
    D = ((U[:, None, :] - U[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(D, np.inf)
    return np.sort(D, axis=1)[:, :k].sum(axis=1)


def _kr_self(U, f):  # counts the update itself (distance 0) as a neighbour
    U = np.asarray(U, dtype=float)
    D = ((U[:, None, :] - U[None, :, :]) ** 2).sum(axis=2)
    return np.sort(D, axis=1)[:, :len(U) - f - 2].sum(axis=1)


def _kr_euclid(U, f):  # plain distances, not squared
    U = np.asarray(U, dtype=float)
    D = np.sqrt(((U[:, None, :] - U[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(D, np.inf)
    return np.sort(D, axis=1)[:, :len(U) - f - 2].sum(axis=1)


def _kr_n_minus_f(U, f):  # n - f neighbours
    U = np.asarray(U, dtype=float)
    D = ((U[:, None, :] - U[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(D, np.inf)
    return np.sort(D, axis=1)[:, :len(U) - f - 1].sum(axis=1)


def _kr_all(U, f):  # every other update
    U = np.asarray(U, dtype=float)
    return ((U[:, None, :] - U[None, :, :]) ** 2).sum(axis=(1, 2))


def _kr_farthest(U, f):  # the farthest neighbours
    U = np.asarray(U, dtype=float)
    D = ((U[:, None, :] - U[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(D, -np.inf)
    return -np.sort(-D, axis=1)[:, :len(U) - f - 2].sum(axis=1)


def _kr_norms(U, f):  # each update's own squared norm
    return (np.asarray(U, dtype=float) ** 2).sum(axis=1)


def _krum_cases() -> list[Case]:
    gen = np.random.default_rng(19)
    U = gen.normal(size=(8, 6))
    U[6:] += 10.0  # two colluding outliers close to each other
    return [
        Case((U, 2), label="8 clients, f = 2: the 4 nearest others, squared distances"),
        Case((np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 0.0], [0.0, -1.0]]), 1),
             label="5 points in the plane, f = 1: 2 nearest others (squared)"),
        Case((gen.normal(size=(6, 3)), 0), label="f = 0: n - 2 = 4 nearest others"),
        Case((U, 6), label="n - f - 2 = 0 neighbours is bad input", raises=ValueError),
        Case((U, -1), label="a negative f is bad input", raises=ValueError),
    ]


def _krum_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(1919)
    V = gen.normal(size=(10, 12))
    V[[1, 4, 8]] *= 7.0
    return [
        Case((V, 3), label="10 clients, f = 3, three scaled updates"),
        Case((np.vstack([V[:4], V[:4]]), 1), label="duplicated updates (distance 0 to a twin)"),
        Case((V[:3], 1), label="3 clients, f = 1 is bad input", raises=ValueError),
    ]


KRUM_SCORES = Exercise(
    name="krum_scores",
    reference=krum_scores,
    cases=_krum_cases,
    hidden_cases=_krum_hidden_cases,
    validate=lambda got, case: _vector_validate(got, Case((np.asarray(case.args[0]).T,))),
    conceal=[federated.aggregate],
    mistakes=[
        Mistake("the update itself counted as a neighbour", _kr_self,
                "exclude the update's distance to itself (0): np.fill_diagonal(D, np.inf)"),
        Mistake("Euclidean distances, not squared", _kr_euclid,
                "Krum sums SQUARED distances"),
        Mistake("n - f - 1 neighbours", _kr_n_minus_f, "sum over the n - f - 2 nearest others"),
        Mistake("every other update summed", _kr_all, "only the n - f - 2 NEAREST others"),
        Mistake("the farthest neighbours", _kr_farthest,
                "sort distances ascending and keep the smallest"),
        Mistake("each update's own norm", _kr_norms,
                "the score is about distances between clients' updates"),
    ],
    hint="D[i, j] = ||u_i - u_j||^2, D[i, i] = inf; score_i = sum of the n - f - 2 smallest "
         "in row i",
)

# --- exercise 4: pairwise masks that cancel -----------------------------------------------------


def mask_updates(encoded, pair_streams) -> np.ndarray:
    """Secure aggregation's masking (Bonawitz et al., 2017) in Z_2^64: ``encoded`` is (n, d)
    uint64, the clients' fixed-point updates; ``pair_streams[(i, j)]`` (for every pair ``i <
    j``) is the (d,) uint64 pseudo-random stream clients ``i`` and ``j`` agreed on. Client ``i``
    ADDS the stream it shares with every ``j > i`` and SUBTRACTS the one it shares with every
    ``j < i``, modulo 2^64 (uint64 arithmetic wraps), so the masks cancel in the sum. Returns
    the (n, d) uint64 masked updates. A missing pair is bad input: raise ``KeyError``.

    Introduced in lab 09 (Federated learning).
    """
    E = np.asarray(encoded, dtype=np.uint64)
    masked = E.copy()
    n = len(E)
    for i in range(n):
        for j in range(i + 1, n):
            stream = np.asarray(pair_streams[(i, j)], dtype=np.uint64)
            masked[i] += stream
            masked[j] -= stream
    return masked


def _mk_both_add(E, S):  # both clients add the stream: masks double instead of cancelling
    M = np.asarray(E, dtype=np.uint64).copy()
    for (i, j), s in S.items():
        M[i] += s
        M[j] += s
    return M


def _mk_one_side(E, S):  # only the lower-numbered client masks
    M = np.asarray(E, dtype=np.uint64).copy()
    for (i, _j), s in S.items():
        M[i] += s
    return M


def _mk_float(E, S):  # float arithmetic: loses the low bits of 64-bit integers
    M = np.asarray(E, dtype=np.uint64).astype(float)
    for (i, j), s in S.items():
        M[i] += np.asarray(s, dtype=float)
        M[j] -= np.asarray(s, dtype=float)
    return np.mod(M, 2.0**64).astype(np.uint64)


def _mk_xor(E, S):  # XOR instead of modular addition: cancels pairwise, not in a sum
    M = np.asarray(E, dtype=np.uint64).copy()
    for (i, j), s in S.items():
        M[i] ^= np.asarray(s, dtype=np.uint64)
        M[j] ^= np.asarray(s, dtype=np.uint64)
    return M


def _mk_unmasked(E, S):
    return np.asarray(E, dtype=np.uint64).copy()


def _mask_cases() -> list[Case]:
    def streams(n, d, seed):
        gen = np.random.default_rng(seed)
        return {(i, j): gen.integers(0, 2**64, size=d, dtype=np.uint64)
                for i in range(n) for j in range(i + 1, n)}

    gen = np.random.default_rng(29)
    E4 = gen.integers(0, 2**40, size=(4, 5)).astype(np.uint64)
    E3 = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.uint64)
    missing = streams(3, 2, 2)
    del missing[(0, 2)]
    return [
        Case((E4, streams(4, 5, 1)), label="4 clients: each adds its streams with higher ids "
                                           "and subtracts those with lower ids"),
        Case((E3, {(0, 1): np.array([10, 20], dtype=np.uint64),
                   (0, 2): np.array([2**63, 5], dtype=np.uint64),
                   (1, 2): np.array([7, 2**64 - 1], dtype=np.uint64)}),
             label="3 clients, streams near 2^64: arithmetic wraps modulo 2^64"),
        Case((E3, missing), label="a missing pair is bad input", raises=KeyError),
    ]


def _mask_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(2929)
    E = gen.integers(0, 2**50, size=(6, 7)).astype(np.uint64)
    S = {(i, j): gen.integers(0, 2**64, size=7, dtype=np.uint64)
         for i in range(6) for j in range(i + 1, 6)}
    partial = dict(S)
    del partial[(2, 5)]
    return [Case((E, S), label="6 clients, 7 coordinates"),
            Case((E, partial), label="a missing pair is bad input", raises=KeyError)]


def _mask_validate(got, case: Case) -> str | None:
    E = np.asarray(case.args[0])
    if not isinstance(got, np.ndarray) or got.shape != E.shape:
        return f"return an array of shape {E.shape}, one masked row per client"
    if got.dtype != np.uint64:
        return f"keep uint64 (arithmetic modulo 2^64), got {got.dtype}"
    if not np.array_equal(got.sum(axis=0, dtype=np.uint64), E.sum(axis=0, dtype=np.uint64)):
        return "the masked updates do not sum to the true sum modulo 2^64: the masks must cancel"
    return None


MASK_UPDATES = Exercise(
    name="mask_updates",
    reference=mask_updates,
    cases=_mask_cases,
    hidden_cases=_mask_hidden_cases,
    validate=_mask_validate,
    compare=lambda got, expected: np.array_equal(got, expected),
    conceal=[federated.pairwise_masks, federated.secure_aggregate],
    mistakes=[
        Mistake("both clients of a pair add the stream", _mk_both_add,
                "client i adds the stream shared with j > i, client j subtracts it"),
        Mistake("only the lower-numbered client masks", _mk_one_side,
                "each stream is added by one client of the pair and subtracted by the other"),
        Mistake("float arithmetic", _mk_float,
                "stay in uint64: float64 keeps only 53 bits of a 64-bit integer"),
        Mistake("XOR instead of modular addition", _mk_xor,
                "the server ADDS the masked updates: masks must cancel under + modulo 2^64"),
        Mistake("no masks applied", _mk_unmasked, "add and subtract the pair streams"),
    ],
    hint="masked[i] += pair_streams[(i, j)] and masked[j] -= pair_streams[(i, j)] for i < j, "
         "in uint64",
)

# --- exercise 3: norm clipping ------------------------------------------------------------------


def clip_update(update, max_norm) -> np.ndarray:
    """Clip one client update to an L2 norm of at most ``max_norm``: an update whose norm is
    above it is scaled down (same direction) to exactly ``max_norm``; a shorter one is returned
    unchanged. Returns a new array; the argument is not modified. ``max_norm <= 0``, or an update
    containing NaN or infinity, is bad input: raise ``ValueError``.

    Introduced in lab 09 (Federated learning).
    """
    u = np.asarray(update, dtype=float)
    if not float(max_norm) > 0:
        raise ValueError("max_norm must be positive")
    if not np.isfinite(u).all():
        raise ValueError("the update contains NaN or infinity")
    norm = float(np.linalg.norm(u))
    return u * min(1.0, float(max_norm) / norm) if norm > 0 else u.copy()


def _cl_always(u, c):  # scales every update to max_norm, even short ones
    u = np.asarray(u, dtype=float)
    n = np.linalg.norm(u)
    return u * (c / n) if n > 0 else u.copy()


def _cl_coordinates(u, c):  # clips each coordinate to [-c, c]
    return np.clip(np.asarray(u, dtype=float), -c, c)


def _cl_l1(u, c):  # the L1 norm
    u = np.asarray(u, dtype=float)
    n = np.abs(u).sum()
    return u * min(1.0, c / n) if n > 0 else u.copy()


def _cl_squared(u, c):  # compares the squared norm with max_norm
    u = np.asarray(u, dtype=float)
    n = float(u @ u)
    return u * min(1.0, c / n) if n > 0 else u.copy()


def _cl_unit(u, c):  # normalises to a unit vector
    u = np.asarray(u, dtype=float)
    n = np.linalg.norm(u)
    return u / n if n > c else u.copy()


def _clip_cases() -> list[Case]:
    gen = np.random.default_rng(39)
    return [
        Case((np.array([3.0, 4.0]), 1.0), label="norm 5 scaled down to 1, same direction"),
        Case((np.array([0.3, -0.4]), 1.0), label="norm 0.5 below the bound: unchanged"),
        Case((gen.normal(size=50) * 3, 2.5), label="50 coordinates, L2 norm (not L1, not "
                                                   "per coordinate)"),
        Case((np.array([10.0, 0.0, 0.0]), 4.0), label="a bound other than 1"),
        Case((np.zeros(3), 1.0), label="a zero update stays zero"),
        Case((np.array([1.0, 2.0]), 0.0), label="max_norm 0 is bad input", raises=ValueError),
        Case((np.array([1.0, np.nan]), 1.0), label="a NaN update is bad input",
             raises=ValueError),
    ]


def _clip_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(3939)
    return [
        Case((gen.normal(size=200) * 0.01, 0.5), label="a short update in 200 dimensions"),
        Case((gen.normal(size=200) * 5, 0.5), label="a long update in 200 dimensions"),
        Case((np.array([np.inf, 1.0]), 1.0), label="infinity is bad input", raises=ValueError),
    ]


CLIP_UPDATE = Exercise(
    name="clip_update",
    reference=clip_update,
    cases=_clip_cases,
    hidden_cases=_clip_hidden_cases,
    validate=_vector_validate,
    conceal=[federated.clip_updates],
    mistakes=[
        Mistake("every update scaled to max_norm, short ones too", _cl_always,
                "leave an update whose norm is already at most max_norm unchanged"),
        Mistake("each coordinate clipped to [-max_norm, max_norm]", _cl_coordinates,
                "scale the whole vector: u * min(1, max_norm / ||u||_2)"),
        Mistake("the L1 norm", _cl_l1, "use the Euclidean (L2) norm: np.linalg.norm(u)"),
        Mistake("the squared norm compared with max_norm", _cl_squared,
                "compare ||u||_2 itself, not its square"),
        Mistake("long updates normalised to length 1", _cl_unit,
                "scale to length max_norm, not 1"),
    ],
    hint="u * min(1, max_norm / np.linalg.norm(u))",
)

# --- the challenge: get past Krum ---------------------------------------------------------------

#: How much lower than the clean federation's the final accuracy must be.
CHALLENGE_DROP = 0.25
_CH_CLIENTS, _CH_ATTACKERS, _CH_DIM, _CH_ROUNDS, _CH_BATCH, _CH_LR = 8, (6, 7), 40, 20, 16, 0.5
_TRUTH: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class KrumTask:
    """The challenge's federation: 8 clients train a logistic regression (40 features and a
    bias, so updates have 41 coordinates) for 20 rounds, each round one step of SGD on a batch
    of 16 of their own rows; the server aggregates with Krum assuming ``f = 2`` Byzantine
    clients. You control clients 6 and 7. Each round your attack sees your clients' honest
    updates and the six benign ones (the strongest attacker of the lab). The clients' data and
    the test set are kept apart, for :func:`challenge_outcome` only.

    Introduced in lab 09 (Federated learning).
    """

    __slots__ = ("__weakref__", "_seed")

    def __init__(self, seed: int):
        self._seed = seed

    @property
    def n_clients(self) -> int:
        """Clients in the federation."""
        return _CH_CLIENTS

    @property
    def attackers(self) -> tuple[int, ...]:
        """The ids of the clients you control."""
        return _CH_ATTACKERS

    @property
    def n_rounds(self) -> int:
        """Rounds of training."""
        return _CH_ROUNDS

    @property
    def dim(self) -> int:
        """Coordinates of an update (40 weights and a bias)."""
        return _CH_DIM + 1

    @property
    def assumed_malicious(self) -> int:
        """Krum's ``f``: the number of Byzantine clients the server assumes."""
        return 2

    def aggregate(self, updates) -> np.ndarray:
        """What the server does with one round's updates (one row per client, in client
        order): Krum with ``f = 2``."""
        return federated.aggregate(updates, "krum", assumed_malicious=2)

    def __repr__(self):
        return (f"KrumTask({self.n_clients} clients, you control {list(self.attackers)}, "
                f"Krum with f = 2, {self.n_rounds} rounds)")

    def __deepcopy__(self, memo):
        return self  # immutable: the check may hand it twice


def krum_task(*, seed: int = 0) -> KrumTask:
    """The challenge's federation, drawn with ``seed`` (see :class:`KrumTask`).

    Introduced in lab 09 (Federated learning).
    """
    gen = np.random.default_rng(seed)
    w = gen.normal(size=_CH_DIM)
    w /= np.linalg.norm(w)

    def rows(m):
        X = gen.normal(size=(m, _CH_DIM))
        return X, (2.0 * X @ w + gen.normal(size=m) > 0).astype(np.int64)

    clients = [rows(200) for _ in range(_CH_CLIENTS)]
    test = rows(4000)
    task = KrumTask(seed)
    _TRUTH[task] = (clients, test)
    return task


def _run_krum_task(task: KrumTask, attack) -> float:
    clients, (X_test, y_test) = _TRUTH[task]

    def local(client, params, rnd):
        X, y = clients[client]
        pick = np.random.default_rng([task._seed, rnd, client]).choice(len(y), _CH_BATCH,
                                                                         replace=False)
        residual = 1.0 / (1.0 + np.exp(-(X[pick] @ params[:-1] + params[-1]))) - y[pick]
        grad = np.concatenate([X[pick].T @ residual, [residual.sum()]]) / _CH_BATCH
        return params - _CH_LR * grad

    def accuracy(params):
        return float(np.mean(((X_test @ params[:-1] + params[-1]) > 0) == y_test))

    run = federated.run_federation(
        np.zeros(_CH_DIM + 1), local, _CH_CLIENTS, _CH_ROUNDS, rule="krum",
        assumed_malicious=2, malicious=_CH_ATTACKERS if attack else (), attack=attack,
        evaluate=accuracy)
    return run.final


def challenge_outcome(task, attack) -> tuple[float, float]:
    """The final test accuracy of the task's federation without and with ``attack`` (a function
    ``attack(own_updates, benign_updates, round)`` returning one row per attacker). For grading
    and measuring, never an input to the attack.

    Introduced in lab 09 (Federated learning).
    """
    if not isinstance(task, KrumTask) or task not in _TRUTH:
        raise TypeError("task must be a task returned by krum_task()")
    return _run_krum_task(task, None), _run_krum_task(task, attack)


def break_krum(task):
    """The reference answer: the attack of Fang et al. (2020) tailored to Krum. Both attackers
    send the same vector, ``mean - gamma * sign(mean)`` of the benign updates: two identical
    updates are each other's nearest neighbour, which lowers their Krum score, and ``gamma`` is
    the largest value (found by halving) for which Krum still selects them. The server then
    steps against the benign direction every round.

    Introduced in lab 09 (Federated learning).
    """

    def attack(own_updates, benign_updates, rnd):
        benign = np.asarray(benign_updates, dtype=float)
        mean = benign.mean(axis=0)
        direction = np.sign(mean)
        m = len(own_updates)
        gamma = 4.0 * float(np.abs(benign).max())
        while gamma > 1e-6:
            crafted = np.tile(mean - gamma * direction, (m, 1))
            chosen = task.aggregate(np.vstack([benign, crafted]))
            if np.allclose(chosen, crafted[0]):
                return crafted
            gamma /= 2
        return np.tile(mean, (m, 1))

    return attack


def _challenge_cases() -> list[Case]:
    return [Case((krum_task(seed=s),), label=f"a federation (seed {s})") for s in (0, 1)]


def _challenge_hidden_cases() -> list[Case]:
    return [Case((krum_task(seed=s),), label=f"another federation (seed {s})") for s in (101, 202)]


def _challenge_validate(got, case: Case) -> str | None:
    if not callable(got):
        return f"return an attack function, got {type(got).__name__}"
    task = case.args[0]
    probe = np.zeros((len(task.attackers), task.dim))
    out = got(probe, np.ones((task.n_clients - len(task.attackers), task.dim)), 0)
    arr = np.asarray(out, dtype=float) if isinstance(out, np.ndarray | list | tuple) else None
    if arr is None or arr.shape != probe.shape or not np.isfinite(arr).all():
        return (f"attack(own_updates, benign_updates, round) must return finite updates of "
                f"shape {probe.shape}, one row per client you control")
    clean, attacked = challenge_outcome(task, got)
    if clean - attacked < CHALLENGE_DROP:
        return (f"the federation still reaches accuracy {attacked:.3f} against {clean:.3f} "
                f"without you (a drop of {clean - attacked:.3f}; at least {CHALLENGE_DROP} "
                "needed): is Krum selecting your update?")
    return None


CHALLENGE = Exercise(
    name="break_krum",
    reference=break_krum,
    cases=_challenge_cases,
    hidden_cases=_challenge_hidden_cases,
    validate=_challenge_validate,
    compare=lambda got, expected: True,  # graded by the outcome (validate)
    conceal=[federated.directed_deviation, federated.little_is_enough],
    hint="Krum picks the update with the closest neighbours: what are two identical updates to "
         "each other? Then push as far against the benign mean as Krum still accepts",
    time_limit=30.0,
)

#: Every exercise of this lab, in the order the lab asks them (the tests run each one).
EXERCISES: tuple[Exercise, ...] = (TRIMMED_MEAN, KRUM_SCORES, CLIP_UPDATE, MASK_UPDATES,
                                   CHALLENGE)

__all__ = [
    "CHALLENGE",
    "CHALLENGE_DROP",
    "CLIP_UPDATE",
    "EXERCISES",
    "KRUM_SCORES",
    "KrumTask",
    "MASK_UPDATES",
    "TRIMMED_MEAN",
    "break_krum",
    "challenge_outcome",
    "clip_update",
    "krum_scores",
    "krum_task",
    "mask_updates",
    "trimmed_mean",
]
