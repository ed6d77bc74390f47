"""The checks of lab 04's medical exercises and its challenge: known mistakes are named,
wrong answers that nobody listed are rejected, right answers written another way are
accepted, and the challenge's target holds with a margin for the reference thief."""

import copy
import math

import numpy as np
import pytest
import scipy.special
import torch
from mutants import assert_enough_mutants, mutant_tests

from mlsec_helpers.checks import lab04 as T
from mlsec_helpers.exercises import check, grade, run_check
from mlsec_helpers.extraction import medical

MEDICAL_EXERCISES = (T.EQUATION_SOLVING, T.LINE_SEARCH, T.CHALLENGE)

# --- solve_logistic: wrong answers nobody listed, and right ones written differently -----------


def _design(X):
    return np.column_stack([np.asarray(X, dtype=np.float64), np.ones(len(X))])


def _checked(X, p):
    X, p = np.asarray(X, dtype=np.float64), np.asarray(p, dtype=np.float64)
    if len(X) < X.shape[1] + 1 or ((p <= 0) | (p >= 1)).any():
        raise ValueError("bad input")
    return X, p


def sl_log10(X, p):
    X, p = _checked(X, p)
    theta = np.linalg.lstsq(_design(X), np.log10(p / (1 - p)), rcond=None)[0]
    return theta[:-1], float(theta[-1])


def sl_clipped(X, p):  # no error on 0 or 1: clips them away
    X = np.asarray(X, dtype=np.float64)
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-9, 1 - 1e-9)
    if len(X) < X.shape[1] + 1:
        raise ValueError("too few")
    theta = np.linalg.lstsq(_design(X), np.log(p / (1 - p)), rcond=None)[0]
    return theta[:-1], float(theta[-1])


def sl_no_count_check(X, p):  # min-norm solution for too few answers
    X, p = np.asarray(X, dtype=np.float64), np.asarray(p, dtype=np.float64)
    if ((p <= 0) | (p >= 1)).any():
        raise ValueError("bad p")
    theta = np.linalg.lstsq(_design(X), np.log(p / (1 - p)), rcond=None)[0]
    return theta[:-1], float(theta[-1])


def sl_concatenated(X, p):
    X, p = _checked(X, p)
    return np.linalg.lstsq(_design(X), np.log(p / (1 - p)), rcond=None)[0]


def sl_swapped(X, p):
    X, p = _checked(X, p)
    theta = np.linalg.lstsq(_design(X), np.log(p / (1 - p)), rcond=None)[0]
    return float(theta[-1]), theta[:-1]


def sl_standardised(X, p):  # solved on standardised features, never mapped back
    X, p = _checked(X, p)
    Z = (X - X.mean(0)) / X.std(0)
    theta = np.linalg.lstsq(_design(Z), np.log(p / (1 - p)), rcond=None)[0]
    return theta[:-1], float(theta[-1])


def sl_ridge(X, p):
    X, p = _checked(X, p)
    A = _design(X)
    theta = np.linalg.solve(A.T @ A + 1e-2 * np.eye(A.shape[1]), A.T @ np.log(p / (1 - p)))
    return theta[:-1], float(theta[-1])


def sl_float32(X, p):
    X, p = _checked(X, p)
    A = _design(X).astype(np.float32)
    theta = np.linalg.lstsq(A, np.log(p / (1 - p)).astype(np.float32), rcond=None)[0]
    return theta[:-1], float(theta[-1])


def sl_b_array(X, p):
    X, p = _checked(X, p)
    theta = np.linalg.lstsq(_design(X), np.log(p / (1 - p)), rcond=None)[0]
    return theta[:-1], theta[-1:]


def sl_probit(X, p):
    X, p = _checked(X, p)
    theta = np.linalg.lstsq(_design(X), scipy.special.ndtri(p), rcond=None)[0]
    return theta[:-1], float(theta[-1])


def sl_right_solve_or_lstsq(X, p):
    X, p = _checked(X, p)
    z = scipy.special.logit(p)
    A = _design(X)
    theta = np.linalg.solve(A, z) if A.shape[0] == A.shape[1] else np.linalg.lstsq(
        A, z, rcond=None)[0]
    return theta[:-1], float(theta[-1])


def sl_right_centred(X, p):  # least squares on centred data, the intercept from the means
    X, p = _checked(X, p)
    z = np.log(p) - np.log1p(-p)
    w = np.linalg.lstsq(X - X.mean(0), z - z.mean(), rcond=None)[0]
    return w, float(z.mean() - X.mean(0) @ w)


def sl_right_sklearn(X, p):
    from sklearn.linear_model import LinearRegression

    X, p = _checked(X, p)
    lr = LinearRegression().fit(X, np.log(p / (1 - p)))
    return lr.coef_.astype(np.float64), float(lr.intercept_)


def sl_right_torch(X, p):
    X, p = _checked(X, p)
    A = torch.as_tensor(_design(X))
    z = torch.logit(torch.as_tensor(p))[:, None]
    theta = torch.linalg.lstsq(A, z, driver="gelsd").solution[:, 0].numpy()
    return theta[:-1].copy(), float(theta[-1])


def sl_right_pinv(X, p):
    X, p = _checked(X, p)
    theta = np.linalg.pinv(_design(X)) @ (-np.log(1 / p - 1))
    return theta[:-1], float(theta[-1])


SL_WRONG = [sl_log10, sl_clipped, sl_no_count_check, sl_concatenated, sl_swapped,
            sl_standardised, sl_ridge, sl_float32, sl_b_array, sl_probit]
SL_RIGHT = [sl_right_solve_or_lstsq, sl_right_centred, sl_right_sklearn, sl_right_torch,
            sl_right_pinv]

# --- boundary_bracket ---------------------------------------------------------------------------


def _ends(x_neg, x_pos):
    lo, hi = np.array(x_neg, dtype=np.float64), np.array(x_pos, dtype=np.float64)
    if lo.shape != hi.shape:
        raise ValueError("shapes")
    return lo, hi


def bb_golden(label, x_neg, x_pos, steps):
    lo, hi = _ends(x_neg, x_pos)
    for _ in range(steps):
        mid = lo + 0.618 * (hi - lo)
        if label(mid) == 1:
            hi = mid
        else:
            lo = mid
    return lo, hi


def bb_tolerance(label, x_neg, x_pos, steps):  # ignores steps: runs to a fixed width
    lo, hi = _ends(x_neg, x_pos)
    while np.linalg.norm(hi - lo) > 1e-3:
        mid = (lo + hi) / 2
        if label(mid) == 1:
            hi = mid
        else:
            lo = mid
    return lo, hi


def bb_lists(label, x_neg, x_pos, steps):
    lo, hi = T.boundary_bracket.__wrapped__(label, x_neg, x_pos, steps) if hasattr(
        T.boundary_bracket, "__wrapped__") else _bisect(label, x_neg, x_pos, steps)
    return lo.tolist(), hi.tolist()


def _bisect(label, x_neg, x_pos, steps):
    lo, hi = _ends(x_neg, x_pos)
    for _ in range(steps):
        mid = (lo + hi) / 2
        if label(mid) == 1:
            hi = mid
        else:
            lo = mid
    return lo, hi


def bb_midpoint_only(label, x_neg, x_pos, steps):
    lo, hi = _bisect(label, x_neg, x_pos, steps)
    mid = (lo + hi) / 2
    return mid, mid


def bb_double(label, x_neg, x_pos, steps):
    return _bisect(label, x_neg, x_pos, 2 * steps)


def bb_in_place(label, x_neg, x_pos, steps):
    lo, hi = x_neg, x_pos
    if np.shape(lo) != np.shape(hi):
        raise ValueError("shapes")
    for _ in range(steps):
        mid = (lo + hi) / 2
        if label(mid) == 1:
            hi[:] = mid
        else:
            lo[:] = mid
    return lo, hi


def bb_random_point(label, x_neg, x_pos, steps):
    gen = np.random.default_rng(0)
    lo, hi = _ends(x_neg, x_pos)
    for _ in range(steps):
        mid = lo + gen.uniform(0.3, 0.7) * (hi - lo)
        if label(mid) == 1:
            hi = mid
        else:
            lo = mid
    return lo, hi


def bb_rounded(label, x_neg, x_pos, steps):
    lo, hi = _bisect(label, x_neg, x_pos, steps)
    return np.round(lo, 3), np.round(hi, 3)


def bb_with_count(label, x_neg, x_pos, steps):
    lo, hi = _bisect(label, x_neg, x_pos, steps)
    return lo, hi, steps


def bb_first_quarter(label, x_neg, x_pos, steps):
    lo, hi = _ends(x_neg, x_pos)
    for k in range(steps):
        mid = lo + (0.25 if k == 0 else 0.5) * (hi - lo)
        if label(mid) == 1:
            hi = mid
        else:
            lo = mid
    return lo, hi


def bb_right_t(label, x_neg, x_pos, steps):
    a, b = _ends(x_neg, x_pos)
    t_lo, t_hi = 0.0, 1.0
    for _ in range(steps):
        t = (t_lo + t_hi) / 2
        if label(a + t * (b - a)) == 1:
            t_hi = t
        else:
            t_lo = t
    return a + t_lo * (b - a), a + t_hi * (b - a)


def bb_right_recursive(label, x_neg, x_pos, steps):
    lo, hi = _ends(x_neg, x_pos)
    if steps == 0:
        return lo, hi
    mid = lo + (hi - lo) / 2
    return (bb_right_recursive(label, lo, mid, steps - 1) if label(mid) == 1
            else bb_right_recursive(label, mid, hi, steps - 1))


def bb_right_while(label, x_neg, x_pos, steps):
    lo, hi = _ends(x_neg, x_pos)
    left = steps
    while left > 0:
        mid = 0.5 * lo + 0.5 * hi
        lo, hi = (lo, mid) if bool(label(mid)) else (mid, hi)
        left -= 1
    return lo, hi


def bb_right_torch(label, x_neg, x_pos, steps):
    lo, hi = (torch.as_tensor(np.asarray(v, dtype=np.float64)) for v in (x_neg, x_pos))
    if lo.shape != hi.shape:
        raise ValueError("x_neg and x_pos differ in shape")
    for _ in range(steps):
        mid = (lo + hi) / 2
        if label(mid.numpy()) == 1:
            hi = mid
        else:
            lo = mid
    return lo.numpy(), hi.numpy()


BB_WRONG = [bb_golden, bb_tolerance, bb_lists, bb_midpoint_only, bb_double, bb_in_place,
            bb_random_point, bb_rounded, bb_with_count, bb_first_quarter]
BB_RIGHT = [bb_right_t, bb_right_recursive, bb_right_while, bb_right_torch]

# --- the challenge ------------------------------------------------------------------------------


def ch_zeros(api, X):
    return np.zeros(X.shape[1]), 0.0


def ch_labels(api, X):  # a logistic regression on the labels of the public inputs
    from sklearn.linear_model import LogisticRegression

    m, s = X.mean(0), X.std(0)
    y = np.asarray(api(X)).argmax(1)
    lr = LogisticRegression(C=1e4, max_iter=10000).fit((X - m) / s, y)
    w = lr.coef_[0] / s
    return w, float(lr.intercept_[0] - w @ m)


def ch_logits(api, X):  # least squares on the logits of the rounded answers
    p = np.asarray(api(X))[:, 1]
    ok = (p > 0) & (p < 1)
    m, s = X.mean(0), X.std(0)
    A = np.column_stack([(X[ok] - m) / s, np.ones(ok.sum())])
    theta = np.linalg.lstsq(A, np.log(p[ok] / (1 - p[ok])), rcond=None)[0]
    w = theta[:-1] / s
    return w, float(theta[-1] - w @ m)


def ch_equations(api, X):  # section 5's d + 1 queries on clipped rounded answers
    d = X.shape[1]
    x0, s = X.mean(0), X.std(0)
    Z = np.vstack([np.zeros(d), np.eye(d)])
    p = np.clip(np.asarray(api(x0 + Z * s))[:, 1], 0.01, 0.99)
    theta = np.linalg.solve(np.column_stack([Z, np.ones(d + 1)]), np.log(p / (1 - p)))
    w = theta[:-1] / s
    return w, float(theta[-1] - w @ x0)


def ch_line_search(api, X):  # section 5's label-only line search
    stolen = medical.line_search_attack(api, X, seed=0)
    return stolen.w, stolen.b


def ch_least_squares_axes(api, X):  # section 5's adaptive equation solving
    stolen = medical.equation_solving_attack(api, X.mean(0), X.std(0),
                                             offsets=np.linspace(-3, 3, 16))
    return stolen.w, stolen.b


def ch_over_budget(api, X):
    for _ in range(4):
        api(X)
    return ch_right_random_pairs(api, X)


def ch_flipped(api, X):
    w, b = ch_right_random_pairs(api, X)
    return -w, -b


def ch_list(api, X):
    w, b = ch_right_random_pairs(api, X)
    return list(w), b


def ch_nan(api, X):
    w, b = ch_right_random_pairs(api, X)
    return w, math.nan


def _crossings(api, X, *, n_probe, n_search, steps, upper=False, seed=0):
    gen = np.random.default_rng(seed)
    r = np.round(np.asarray(api(X[:n_probe]))[:, 1], 1)
    rows, targets = [], []
    tries = 0
    while len(rows) < n_search and tries < 1000:
        tries += 1
        i, j = gen.choice(n_probe, size=2, replace=False)
        if r[i] == r[j]:
            continue
        if r[i] > r[j]:
            i, j = j, i
        a, b = X[i], X[j]
        t_lo, t_hi = 0.0, 1.0
        for _ in range(steps):
            t = (t_lo + t_hi) / 2
            answer = round(float(np.asarray(api((a + t * (b - a))[None, :]))[0, 1]), 1)
            if (answer >= r[j]) if upper else (answer > r[i]):
                t_hi = t
            else:
                t_lo = t
        rows.append(a + (t_lo + t_hi) / 2 * (b - a))
        level = r[j] - 0.05 if upper else r[i] + 0.05
        targets.append(math.log(level / (1 - level)))
    return np.array(rows), np.array(targets)


def _solve_standardised(rows, targets, X):
    m, s = X.mean(0), X.std(0)
    A = np.column_stack([(rows - m) / s, np.ones(len(rows))])
    theta = np.linalg.lstsq(A, targets, rcond=None)[0]
    w = theta[:-1] / s
    return w, float(theta[-1] - w @ m)


def ch_right_random_pairs(api, X):
    return _solve_standardised(*_crossings(api, X, n_probe=40, n_search=18, steps=13), X)


def ch_right_more_probes(api, X):
    return _solve_standardised(*_crossings(api, X, n_probe=60, n_search=15, steps=15,
                                           seed=3), X)


def ch_right_upper_level(api, X):  # the step down to the higher end's answer
    return _solve_standardised(*_crossings(api, X, n_probe=40, n_search=16, steps=14,
                                           upper=True, seed=1), X)


def ch_right_numpy_b(api, X):  # fewer, longer searches; b as a NumPy float
    w, b = _solve_standardised(*_crossings(api, X, n_probe=30, n_search=14, steps=18, seed=5),
                               X)
    return w, np.float64(b)


CH_WRONG = [ch_zeros, ch_labels, ch_logits, ch_equations, ch_line_search, ch_least_squares_axes,
            ch_over_budget, ch_flipped, ch_list, ch_nan]
CH_RIGHT = [ch_right_random_pairs, ch_right_more_probes, ch_right_upper_level,
            ch_right_numpy_b]

WRONG = ([(T.EQUATION_SOLVING, f) for f in SL_WRONG] + [(T.LINE_SEARCH, f) for f in BB_WRONG]
         + [(T.CHALLENGE, f) for f in CH_WRONG])
RIGHT = ([(T.EQUATION_SOLVING, f) for f in SL_RIGHT] + [(T.LINE_SEARCH, f) for f in BB_RIGHT]
         + [(T.CHALLENGE, f) for f in CH_RIGHT])


def test_the_suite_has_enough_mutants_and_none_is_a_known_mistake():
    assert_enough_mutants(MEDICAL_EXERCISES, WRONG, RIGHT)


(test_a_wrong_answer_is_rejected_by_the_check_and_the_grading,
 test_a_correct_answer_written_differently_is_accepted) = mutant_tests(WRONG, RIGHT)


@pytest.mark.parametrize("exercise", MEDICAL_EXERCISES, ids=lambda e: e.name)
def test_the_reference_passes_and_a_stub_falls_back(exercise, capsys):
    assert run_check(exercise, exercise.reference).status == "correct"

    def stub(*args):
        raise NotImplementedError

    assert check(exercise, stub) is exercise.reference
    assert "not done" in capsys.readouterr().out


@pytest.mark.parametrize("exercise", [T.EQUATION_SOLVING, T.LINE_SEARCH], ids=lambda e: e.name)
def test_each_known_mistake_is_named(exercise):
    for mistake in exercise.mistakes:
        result = run_check(exercise, mistake.impl)
        assert result.status == "wrong", mistake.name
        assert f"this looks like {mistake.name}" in result.message, (mistake.name, result.line())
        assert result.hint == mistake.hint


def test_an_answer_that_calls_the_package_is_not_an_answer():
    result = run_check(T.EQUATION_SOLVING, lambda X, p: medical.solve_logistic(X, p))
    assert result.status == "wrong" and "calls the reference" in result.message
    result = run_check(T.LINE_SEARCH, lambda f, a, b, s: medical.boundary_bracket(f, a, b, s))
    assert result.status == "wrong" and "calls the reference" in result.message


def test_the_challenge_target_holds_with_a_margin_for_the_reference():
    for seed in (0, 1, 101, 202, 7, 8):
        api, X = T.rounded_api(seed=seed)
        w, b = T.steal_rounded_model(api, X)
        assert api.queries <= T.CHALLENGE_BUDGET
        assert T.challenge_fidelity(api, w, b) >= T.CHALLENGE_TARGET + 0.0015, seed


def test_the_naive_thieves_fall_short_of_the_target_on_every_seed():
    for seed in (0, 1, 101, 202, 7, 8):
        for thief in (ch_labels, ch_logits, ch_equations, ch_line_search, ch_least_squares_axes):
            api, X = T.rounded_api(seed=seed)
            assert T.challenge_fidelity(api, *thief(api, X)) < T.CHALLENGE_TARGET, (seed, thief)


def test_the_rounded_api_hides_the_truth_and_keeps_its_budget():
    api, X = T.rounded_api(seed=3)
    assert not hasattr(api, "__dict__") and "rounded to 1 decimal" in repr(api)
    answers = api(X[:5])
    assert answers.shape == (5, 2) and np.allclose(answers, np.round(answers, 1))
    assert api.queries == 5 and api.max_queries == T.CHALLENGE_BUDGET
    twin = copy.deepcopy(api)
    assert twin.queries == 5 and twin == api
    twin(X[:10])
    assert api.queries == 5  # a copy spends its own budget
    assert T.challenge_fidelity(twin, np.zeros(10), 0.0) == T.challenge_fidelity(
        api, np.zeros(10), 0.0)
    with pytest.raises(ValueError, match="array of inputs"):
        api(X[:, :3])
    with pytest.raises(TypeError, match="rounded_api"):
        T.challenge_fidelity(lambda X: X, np.zeros(10), 0.0)
    other, _ = T.rounded_api(seed=4)
    assert other != api
    from mlsec_helpers.extraction import QueryBudgetExceeded

    with pytest.raises(QueryBudgetExceeded):
        api(np.vstack([X, X]))


def test_the_grading_fails_the_reference_handed_back():
    for exercise in MEDICAL_EXERCISES:
        with pytest.raises(AssertionError, match="reference"):
            grade(exercise, exercise.reference)
