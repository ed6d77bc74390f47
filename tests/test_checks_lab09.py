"""Lab 09's exercise checks, beyond what tests/test_exercise_checks.py runs for every exercise.

A mutant suite: for each exercise, plausible wrong answers that are NOT among its known
mistakes (the check and the grading must reject every one), and correct answers written
differently from the reference (both must accept every one). Then the challenge's task.
"""

import numpy as np
import pytest
from mutants import assert_enough_mutants, mutant_tests

from mlsec_helpers import federated
from mlsec_helpers.checks import lab09
from mlsec_helpers.exercises import run_check

# --- exercise: trimmed mean ---------------------------------------------------------------------


def _tm_checked(U, beta):
    U = np.asarray(U, dtype=float)
    if U.ndim != 2 or not 0 <= beta < 0.5:
        raise ValueError("bad input")
    return U


def tm_round(U, beta):  # rounds beta * n to the nearest integer
    U = _tm_checked(U, beta)
    cut = int(round(beta * len(U)))
    return np.sort(U, axis=0)[cut:len(U) - cut].mean(axis=0)


def tm_low_only(U, beta):  # drops the lowest values only
    U = _tm_checked(U, beta)
    return np.sort(U, axis=0)[int(beta * len(U)):].mean(axis=0)


def tm_double(U, beta):  # drops 2 * beta * n per side
    U = _tm_checked(U, beta)
    cut = min(int(2 * beta * len(U)), (len(U) - 1) // 2)
    return np.sort(U, axis=0)[cut:len(U) - cut].mean(axis=0)


def tm_clip_values(U, beta):  # winsorises instead of dropping
    U = _tm_checked(U, beta)
    cut = int(beta * len(U))
    S = np.sort(U, axis=0)
    if cut:
        S[:cut] = S[cut]
        S[len(U) - cut:] = S[len(U) - cut - 1]
    return S.mean(axis=0)


def tm_abs(U, beta):  # trims by absolute value
    U = _tm_checked(U, beta)
    cut = int(beta * len(U))
    order = np.argsort(np.abs(U), axis=0)
    return np.take_along_axis(U, order[:len(U) - 2 * cut], axis=0).mean(axis=0)


def tm_no_check(U, beta):  # no error for a bad beta
    U = np.asarray(U, dtype=float)
    cut = int(abs(beta) * len(U)) if abs(beta) < 0.5 else 0
    return np.sort(U, axis=0)[cut:len(U) - cut].mean(axis=0)


def tm_type_error(U, beta):  # the wrong exception
    U = np.asarray(U, dtype=float)
    if U.ndim != 2 or not 0 <= beta < 0.5:
        raise TypeError("bad input")
    cut = int(beta * len(U))
    return np.sort(U, axis=0)[cut:len(U) - cut].mean(axis=0)


def tm_sum(U, beta):  # sums instead of averaging
    U = _tm_checked(U, beta)
    cut = int(beta * len(U))
    return np.sort(U, axis=0)[cut:len(U) - cut].sum(axis=0)


def tm_scipy(U, beta):
    from scipy import stats

    U = _tm_checked(U, beta)
    return stats.trim_mean(U, beta, axis=0)


def tm_loop(U, beta):
    U = _tm_checked(U, beta)
    cut = int(np.floor(beta * len(U)))
    return np.array([np.mean(sorted(col)[cut:len(col) - cut]) for col in U.T])


def tm_partition(U, beta):
    U = _tm_checked(U, beta)
    n, cut = len(U), int(beta * len(U))
    kept = np.partition(U, (cut, n - cut - 1), axis=0)[cut:n - cut]
    return kept.sum(axis=0) / (n - 2 * cut)


def tm_masked(U, beta):
    U = _tm_checked(U, beta)
    n, cut = len(U), int(beta * len(U))
    ranks = np.argsort(np.argsort(U, axis=0, kind="stable"), axis=0, kind="stable")
    keep = (ranks >= cut) & (ranks < n - cut)
    return (U * keep).sum(axis=0) / keep.sum(axis=0)


# --- exercise: Krum scores ----------------------------------------------------------------------


def _kr_checked(U, f):
    U = np.asarray(U, dtype=float)
    if f < 0 or len(U) - f - 2 < 1:
        raise ValueError("bad f")
    return U, len(U) - f - 2


def kr_cosine(U, f):  # cosine distances
    U, k = _kr_checked(U, f)
    V = U / np.linalg.norm(U, axis=1, keepdims=True)
    D = 1 - V @ V.T
    np.fill_diagonal(D, np.inf)
    return np.sort(D, axis=1)[:, :k].sum(axis=1)


def kr_mean(U, f):  # averages instead of summing
    U, k = _kr_checked(U, f)
    D = ((U[:, None] - U[None]) ** 2).sum(-1)
    np.fill_diagonal(D, np.inf)
    return np.sort(D, axis=1)[:, :k].mean(axis=1)


def kr_n_f_3(U, f):  # n - f - 3 neighbours
    U, k = _kr_checked(U, f)
    D = ((U[:, None] - U[None]) ** 2).sum(-1)
    np.fill_diagonal(D, np.inf)
    return np.sort(D, axis=1)[:, :max(k - 1, 1)].sum(axis=1)


def kr_l1(U, f):  # L1 distances
    U, k = _kr_checked(U, f)
    D = np.abs(U[:, None] - U[None]).sum(-1)
    np.fill_diagonal(D, np.inf)
    return np.sort(D, axis=1)[:, :k].sum(axis=1)


def kr_to_mean(U, f):  # distance to the mean of all updates
    U, k = _kr_checked(U, f)
    return ((U - U.mean(axis=0)) ** 2).sum(axis=1)


def kr_no_check(U, f):  # no error when too few neighbours
    U = np.asarray(U, dtype=float)
    k = max(len(U) - f - 2, 1)
    D = ((U[:, None] - U[None]) ** 2).sum(-1)
    np.fill_diagonal(D, np.inf)
    return np.sort(D, axis=1)[:, :k].sum(axis=1)


def kr_first_k(U, f):  # the first k other clients, not the nearest
    U, k = _kr_checked(U, f)
    D = ((U[:, None] - U[None]) ** 2).sum(-1)
    return np.array([np.delete(D[i], i)[:k].sum() for i in range(len(U))])


def kr_ranks(U, f):  # returns the ranking, not the scores
    U, k = _kr_checked(U, f)
    D = ((U[:, None] - U[None]) ** 2).sum(-1)
    np.fill_diagonal(D, np.inf)
    return np.argsort(np.argsort(np.sort(D, axis=1)[:, :k].sum(axis=1))).astype(float)


def kr_loops(U, f):
    U, k = _kr_checked(U, f)
    scores = []
    for i, u in enumerate(U):
        d = sorted(float(np.sum((u - v) ** 2)) for j, v in enumerate(U) if j != i)
        scores.append(sum(d[:k]))
    return np.array(scores)


def kr_scipy(U, f):
    from scipy.spatial.distance import cdist

    U, k = _kr_checked(U, f)
    D = cdist(U, U, "sqeuclidean")
    return np.sort(D, axis=1)[:, 1:k + 1].sum(axis=1) if len(np.unique(U, axis=0)) == len(U) \
        else np.array([np.sort(np.delete(D[i], i))[:k].sum() for i in range(len(U))])


def kr_gram(U, f):
    U, k = _kr_checked(U, f)
    sq = (U ** 2).sum(axis=1)
    D = np.maximum(sq[:, None] + sq[None] - 2 * U @ U.T, 0)
    np.fill_diagonal(D, np.inf)
    return np.partition(D, k - 1, axis=1)[:, :k].sum(axis=1)


def kr_flower_style(U, f):
    U, k = _kr_checked(U, f)
    out = []
    for i in range(len(U)):
        d = np.linalg.norm(U - U[i], axis=1) ** 2
        out.append(np.sort(np.delete(d, i))[:k].sum())
    return np.array(out)


# --- exercise: pairwise masks -------------------------------------------------------------------


def mk_reversed_pairs(E, S):  # subtracts for j > i and adds for j < i... on the wrong rows
    M = np.asarray(E, dtype=np.uint64).copy()
    for (i, j), s in S.items():
        M[j] += s
        M[j] -= s
        M[i] += s
    return M


def mk_int64(E, S):  # int64 arithmetic: overflow wraps the same, but the dtype is wrong
    M = np.asarray(E, dtype=np.uint64).astype(np.int64)
    for (i, j), s in S.items():
        M[i] += np.asarray(s, dtype=np.uint64).view(np.int64)
        M[j] -= np.asarray(s, dtype=np.uint64).view(np.int64)
    return M


def mk_same_stream(E, S):  # every pair uses the first pair's stream
    M = np.asarray(E, dtype=np.uint64).copy()
    first = next(iter(S.values()))
    for (i, j) in S:
        M[i] += first
        M[j] -= first
    return M


def mk_modified(E, S):  # masks the argument in place
    M = E
    for (i, j), s in S.items():
        M[i] += s
        M[j] -= s
    return M


def mk_half(E, S):  # only pairs with j = i + 1
    M = np.asarray(E, dtype=np.uint64).copy()
    for (i, j), s in S.items():
        if j == i + 1:
            M[i] += s
            M[j] -= s
    return M


def mk_no_keyerror(E, S):  # skips missing pairs silently
    M = np.asarray(E, dtype=np.uint64).copy()
    n = len(M)
    for i in range(n):
        for j in range(i + 1, n):
            if (i, j) in S:
                M[i] += S[(i, j)]
                M[j] -= S[(i, j)]
    return M


def mk_mask_sum_only(E, S):  # masks the total instead of each client
    M = np.asarray(E, dtype=np.uint64).copy()
    M[0] += sum(S.values())
    M[-1] -= sum(S.values())
    return M


def mk_list(E, S):  # a list of rows, not an array
    return [row for row in lab09.mask_updates(E, S)]


def mk_vectorised(E, S):
    M = np.array(E, dtype=np.uint64)
    n = len(M)
    for i in range(n):
        plus = sum((S[(i, j)] for j in range(i + 1, n)), np.zeros_like(M[i]))
        minus = sum((S[(j, i)] for j in range(i)), np.zeros_like(M[i]))
        M[i] = M[i] + plus - minus
    return M


def mk_masks_first(E, S):
    E = np.asarray(E, dtype=np.uint64)
    masks = np.zeros_like(E)
    for i in range(len(E)):
        for j in range(i + 1, len(E)):
            masks[i] += S[(i, j)]
            masks[j] -= S[(i, j)]
    return E + masks


def mk_python_ints(E, S):
    E = np.asarray(E, dtype=np.uint64)
    n, d = E.shape
    rows = [[int(v) for v in row] for row in E]
    for i in range(n):
        for j in range(i + 1, n):
            s = [int(v) for v in S[(i, j)]]
            rows[i] = [(a + b) % 2**64 for a, b in zip(rows[i], s, strict=True)]
            rows[j] = [(a - b) % 2**64 for a, b in zip(rows[j], s, strict=True)]
    return np.array(rows, dtype=np.uint64)


def mk_negate(E, S):  # adds the negation of the stream for j < i
    M = np.asarray(E, dtype=np.uint64).copy()
    for i in range(len(M)):
        for j in range(i + 1, len(M)):
            s = np.asarray(S[(i, j)], dtype=np.uint64)
            M[i] += s
            M[j] += (~s) + np.uint64(1)  # two's complement: -s modulo 2^64
    return M


# --- exercise: clip_update ----------------------------------------------------------------------


def _cl_checked(u, c):
    u = np.asarray(u, dtype=float)
    if not c > 0 or not np.isfinite(u).all():
        raise ValueError("bad input")
    return u, float(np.linalg.norm(u))


def cl_strict(u, c):  # leaves updates at exactly the bound... and scales up short ones
    u, n = _cl_checked(u, c)
    return u * (c / n) if 0 < n < c else u * min(1, c / n) if n else u.copy()


def cl_half(u, c):  # scales to half the bound
    u, n = _cl_checked(u, c)
    return u * min(1.0, c / (2 * n)) if n > c else u.copy()


def cl_max_abs(u, c):  # the max-norm
    u, _ = _cl_checked(u, c)
    m = np.abs(u).max() if u.size else 0
    return u * min(1.0, c / m) if m > 0 else u.copy()


def cl_rms(u, c):  # the root-mean-square of the coordinates, not the norm
    u, _ = _cl_checked(u, c)
    r = float(np.sqrt(np.mean(u ** 2))) if u.size else 0.0
    return u * min(1.0, c / r) if r > 0 else u.copy()


def cl_subtract(u, c):  # shortens by subtracting the excess along u (the same thing)
    u, n = _cl_checked(u, c)
    return u - (n - c) * u / n if n > c else u.copy()


def cl_no_nan_check(u, c):
    u = np.asarray(u, dtype=float)
    if not c > 0:
        raise ValueError("bad max_norm")
    n = float(np.linalg.norm(u))
    return u * min(1.0, c / n) if n > 0 else u.copy()


def cl_in_place(u, c):  # modifies the argument
    _cl_checked(u, c)
    n = float(np.linalg.norm(u))
    if n > c:
        u *= c / n
    return u


def cl_sign(u, c):  # keeps only the signs
    u, n = _cl_checked(u, c)
    return np.sign(u) * c / np.sqrt(max(u.size, 1)) if n > c else u.copy()


def cl_sqrt(u, c):  # scale by sqrt of the ratio
    u, n = _cl_checked(u, c)
    return u * min(1.0, np.sqrt(c / n)) if n > 0 else u.copy()


def cl_torch(u, c):
    import torch

    u, _ = _cl_checked(u, c)
    t = torch.tensor(u, dtype=torch.float64)
    n = torch.linalg.vector_norm(t)
    return (t * torch.clamp(c / n, max=1.0)).numpy() if n > 0 else u.copy()


def cl_where(u, c):
    u, n = _cl_checked(u, c)
    return np.where(n > c, u * c / max(n, 1e-300), u)


def cl_divide(u, c):
    u, n = _cl_checked(u, c)
    return u / max(1.0, n / c)


def cl_unit_times(u, c):
    u, n = _cl_checked(u, c)
    return u / n * c if n > c else np.array(u, copy=True)


# --- the challenge ------------------------------------------------------------------------------


def ch_sign_flip(task):  # what the lab shows fails against Krum
    return lambda own, benign, rnd: -5.0 * np.asarray(own)


def ch_alie(task):  # "A Little Is Enough" by hand
    def attack(own, benign, rnd):
        b = np.asarray(benign)
        return np.tile(b.mean(0) - 1.0 * b.std(0), (len(own), 1))
    return attack


def ch_far(task):  # one huge update: Krum never selects it
    return lambda own, benign, rnd: np.full((len(own), task.dim), -100.0)


def ch_different(task):  # two different crafted updates: not each other's neighbour
    def attack(own, benign, rnd):
        b = np.asarray(benign)
        m = b.mean(0)
        return np.vstack([m - 0.5 * np.sign(m), m + 0.5 * np.sign(m)])
    return attack


def ch_honest(task):
    return lambda own, benign, rnd: np.asarray(own)


def ch_wrong_shape(task):
    return lambda own, benign, rnd: np.zeros(task.dim)


def ch_nan(task):
    return lambda own, benign, rnd: np.full((len(own), task.dim), np.nan)


def ch_not_callable(task):
    return "attack"


def ch_search_up(task):  # grows gamma in small steps until Krum rejects, keeps the last
    def attack(own, benign, rnd):  # accepted one
        b = np.asarray(benign)
        m, s = b.mean(0), np.sign(b.mean(0))
        gamma, accepted = 1e-3, np.tile(m, (len(own), 1))
        while gamma < 100:
            crafted = np.tile(m - gamma * s, (len(own), 1))
            if not np.allclose(task.aggregate(np.vstack([b, crafted])), crafted[0]):
                break
            accepted, gamma = crafted, gamma * 1.05
        return accepted
    return attack


def ch_unit_direction(task):  # the reversed mean direction, as far as Krum accepts
    def attack(own, benign, rnd):
        b = np.asarray(benign)
        m = b.mean(0)
        p = -m / np.linalg.norm(m)
        lo, hi = 0.0, 50.0
        for _ in range(30):
            g = (lo + hi) / 2
            crafted = np.tile(m + g * p, (len(own), 1))
            if np.allclose(task.aggregate(np.vstack([b, crafted])), crafted[0]):
                lo = g
            else:
                hi = g
        return np.tile(m + lo * p, (len(own), 1))
    return attack


def ch_bisection(task):  # sign direction, bisection instead of halving
    def attack(own, benign, rnd):
        b = np.asarray(benign)
        m, s = b.mean(0), np.sign(b.mean(0))
        lo, hi = 0.0, 20.0
        for _ in range(25):
            g = (lo + hi) / 2
            crafted = np.tile(m - g * s, (2, 1))
            if np.allclose(task.aggregate(np.vstack([b, crafted])), crafted[0]):
                lo = g
            else:
                hi = g
        return np.tile(m - lo * s, (2, 1))
    return attack


def ch_twins(task):  # the honest mean, then its mirror image, both attackers the same
    def attack(own, benign, rnd):
        b = np.asarray(benign)
        m = b.mean(0)
        for g in np.linspace(3.0, 0.0, 61):
            crafted = np.tile((1 - g) * m - g * np.sign(m) * np.abs(b).mean(0), (2, 1))
            if np.allclose(task.aggregate(np.vstack([b, crafted])), crafted[0]):
                return crafted
        return np.tile(m, (2, 1))
    return attack


WRONG = [
    (lab09.TRIMMED_MEAN, f) for f in (tm_round, tm_low_only, tm_double, tm_clip_values, tm_abs,
                                      tm_no_check, tm_type_error, tm_sum)
] + [
    (lab09.KRUM_SCORES, f) for f in (kr_cosine, kr_mean, kr_n_f_3, kr_l1, kr_to_mean,
                                     kr_no_check, kr_first_k, kr_ranks)
] + [
    (lab09.MASK_UPDATES, f) for f in (mk_reversed_pairs, mk_int64, mk_same_stream, mk_modified,
                                      mk_half, mk_no_keyerror, mk_mask_sum_only, mk_list)
] + [
    (lab09.CLIP_UPDATE, f) for f in (cl_strict, cl_half, cl_max_abs, cl_rms,
                                     cl_no_nan_check, cl_in_place, cl_sign, cl_sqrt)
] + [
    (lab09.CHALLENGE, f) for f in (ch_sign_flip, ch_alie, ch_far, ch_different, ch_honest,
                                   ch_wrong_shape, ch_nan, ch_not_callable)
]

RIGHT = [
    (lab09.TRIMMED_MEAN, f) for f in (tm_scipy, tm_loop, tm_partition, tm_masked)
] + [
    (lab09.KRUM_SCORES, f) for f in (kr_loops, kr_scipy, kr_gram, kr_flower_style)
] + [
    (lab09.MASK_UPDATES, f) for f in (mk_vectorised, mk_masks_first, mk_python_ints, mk_negate)
] + [
    (lab09.CLIP_UPDATE, f) for f in (cl_torch, cl_where, cl_divide, cl_unit_times, cl_subtract)
] + [
    (lab09.CHALLENGE, f) for f in (ch_search_up, ch_unit_direction, ch_bisection, ch_twins)
]


def test_the_suite_has_enough_mutants_for_every_exercise():
    assert_enough_mutants(lab09.EXERCISES, WRONG, RIGHT)


(test_a_wrong_answer_is_rejected_by_the_check_and_the_grading,
 test_a_correct_answer_written_differently_is_accepted) = mutant_tests(WRONG, RIGHT)


# --- the challenge's task -----------------------------------------------------------------------


def test_the_task_is_read_only_and_keeps_its_data_apart():
    task = lab09.krum_task(seed=3)
    with pytest.raises(AttributeError):
        task.n_rounds = 1
    with pytest.raises(AttributeError):
        task.attackers = ()
    assert not any(isinstance(v, np.ndarray) for v in
                   (getattr(task, n) for n in dir(task) if not n.startswith("__")))
    assert "Krum" in repr(task)


def test_the_outcome_needs_a_task_from_krum_task():
    with pytest.raises(TypeError):
        lab09.challenge_outcome(object(), lambda o, b, r: o)


def test_naive_attacks_fail_and_the_reference_passes_on_a_fresh_federation():
    task = lab09.krum_task(seed=77)
    clean, flipped = lab09.challenge_outcome(task, ch_sign_flip(task))
    assert abs(clean - flipped) < 0.05
    _, broken = lab09.challenge_outcome(task, lab09.break_krum(task))
    assert clean - broken >= lab09.CHALLENGE_DROP + 0.05


def test_the_task_aggregates_as_the_lab_says():
    task = lab09.krum_task(seed=0)
    U = np.random.default_rng(0).normal(size=(8, task.dim))
    assert np.allclose(task.aggregate(U), federated.aggregate(U, "krum", assumed_malicious=2))


def test_a_failed_challenge_says_how_far_it_got():
    result = run_check(lab09.CHALLENGE, ch_sign_flip)
    assert result.status == "wrong" and "Krum" in result.line()
