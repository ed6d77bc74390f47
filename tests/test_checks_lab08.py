"""Lab 08's exercise checks, beyond what tests/test_exercise_checks.py runs for every exercise.

A mutant suite: for each exercise, plausible wrong answers that are NOT among its known
mistakes (the check and the grading must reject every one), and correct answers written
differently from the reference (both must accept every one). Then the challenge's audit.
"""

import math

import numpy as np
import pytest
import torch
from captum.attr import InputXGradient
from mutants import assert_enough_mutants, mutant_tests
from scipy.stats import binomtest

from mlsec_helpers.checks import lab08
from mlsec_helpers.exercises import run_check

# --- gradient times input -----------------------------------------------------------------------


def _grad(model, X, target, fn=None):
    x = X.detach().clone().requires_grad_(True)
    idx = torch.as_tensor(np.asarray(target), dtype=torch.long)
    out = model(x)
    chosen = (fn(out) if fn else out).gather(1, idx[:, None]).sum()
    (g,) = torch.autograd.grad(chosen, x)
    return g


def gi_tensor(model, X, target):  # a tensor, not a NumPy array
    return _grad(model, X, target) * X


def gi_squared(model, X, target):  # times the squared input
    return (_grad(model, X, target) * X * X).numpy()


def gi_log_prob(model, X, target):  # the log-probability's gradient
    return (_grad(model, X, target, lambda o: torch.log_softmax(o, 1)) * X).numpy()


def gi_first_class(model, X, target):  # class 0 for every row
    return (_grad(model, X, np.zeros(len(X), int)) * X).numpy()


def gi_mean(model, X, target):  # the batch's mean attribution for every row
    a = (_grad(model, X, target) * X).numpy()
    return np.broadcast_to(a.mean(0), a.shape).copy()


def gi_centred(model, X, target):  # times the input minus the batch mean
    return (_grad(model, X, target) * (X - X.mean(0))).numpy()


def gi_flattened(model, X, target):  # flattened to (n, d)
    return (_grad(model, X, target) * X).reshape(len(X), -1).numpy()


def gi_negated(model, X, target):  # the sign flipped
    return -(_grad(model, X, target) * X).numpy()


def gi_right_captum(model, X, target):
    return InputXGradient(model).attribute(X.clone(), target=torch.as_tensor(
        np.asarray(target), dtype=torch.long)).detach().numpy()


def gi_right_loop(model, X, target):
    rows = []
    for i in range(len(X)):
        x = X[i:i + 1].detach().clone().requires_grad_(True)
        (g,) = torch.autograd.grad(model(x)[0, int(target[i])], x)
        rows.append((g * X[i:i + 1]).numpy()[0])
    return np.stack(rows)


def gi_right_onehot(model, X, target):
    x = X.detach().clone().requires_grad_(True)
    out = model(x)
    mask = torch.nn.functional.one_hot(torch.as_tensor(np.asarray(target)), out.shape[1])
    (g,) = torch.autograd.grad((out * mask).sum(), x)
    return (g * X.detach()).numpy()


def gi_right_jacobian(model, X, target):
    rows = []
    for i in range(len(X)):
        jac = torch.autograd.functional.jacobian(lambda z: model(z[None])[0], X[i])
        rows.append((jac[int(target[i])] * X[i]).numpy())
    return np.stack(rows)


GI_WRONG = [gi_tensor, gi_squared, gi_log_prob, gi_first_class, gi_mean, gi_centred,
            gi_flattened, gi_negated]
GI_RIGHT = [gi_right_captum, gi_right_loop, gi_right_onehot, gi_right_jacobian]

# --- patch share --------------------------------------------------------------------------------


def _ps_check(a, top, left, size):
    a = np.asarray(a, dtype=float)
    if a.ndim != 3 or top < 0 or left < 0 or top + size > a.shape[1] or left + size > a.shape[2]:
        raise ValueError("bad square")
    return a


def ps_squared(a, top, left, size):  # squared mass
    a = _ps_check(a, top, left, size) ** 2
    t = a.sum((1, 2))
    return np.divide(a[:, top:top + size, left:left + size].sum((1, 2)), t,
                     out=np.zeros_like(t), where=t > 0)


def ps_nan_for_zero(a, top, left, size):  # NaN for an all-zero map
    a = np.abs(_ps_check(a, top, left, size))
    with np.errstate(invalid="ignore"):
        return a[:, top:top + size, left:left + size].sum((1, 2)) / a.sum((1, 2))


def ps_outside(a, top, left, size):  # the share outside the square
    return 1 - lab08.patch_share(a, top, left, size)


def ps_no_check(a, top, left, size):  # no error for a square that does not fit
    a = np.abs(np.asarray(a, dtype=float))
    top, left = max(top, 0), max(left, 0)
    t = a.sum((1, 2))
    return np.divide(a[:, top:top + size, left:left + size].sum((1, 2)), t,
                     out=np.zeros_like(t), where=t > 0)


def ps_centred(a, top, left, size):  # the square centred on (top, left)
    a = np.abs(_ps_check(a, top, left, size))
    r0, c0 = max(top - size // 2, 0), max(left - size // 2, 0)
    t = a.sum((1, 2))
    return np.divide(a[:, r0:r0 + size, c0:c0 + size].sum((1, 2)), t, out=np.zeros_like(t),
                     where=t > 0)


def ps_first_map(a, top, left, size):  # the first map's share for all
    return np.full(len(a), lab08.patch_share(np.asarray(a)[:1], top, left, size)[0])


def ps_max_pixel(a, top, left, size):  # the largest pixel inside over the largest overall
    a = np.abs(_ps_check(a, top, left, size))
    m = a.max((1, 2))
    return np.divide(a[:, top:top + size, left:left + size].max((1, 2)), m,
                     out=np.zeros_like(m), where=m > 0)


def ps_positive_only(a, top, left, size):  # only positive attributions
    a = np.clip(_ps_check(a, top, left, size), 0, None)
    t = a.sum((1, 2))
    return np.divide(a[:, top:top + size, left:left + size].sum((1, 2)), t,
                     out=np.zeros_like(t), where=t > 0)


def ps_right_mask(a, top, left, size):
    a = np.abs(_ps_check(a, top, left, size))
    mask = np.zeros(a.shape[1:], bool)
    mask[top:top + size, left:left + size] = True
    t = a.sum((1, 2))
    return np.where(t > 0, (a * mask).sum((1, 2)) / np.where(t > 0, t, 1), 0.0)


def ps_right_loop(a, top, left, size):
    a = np.abs(_ps_check(a, top, left, size))
    out = []
    for m in a:
        total = m.sum()
        out.append(m[top:top + size, left:left + size].sum() / total if total else 0.0)
    return np.array(out)


def ps_right_reshape(a, top, left, size):
    a = np.abs(_ps_check(a, top, left, size))
    flat = a.reshape(len(a), -1)
    rows, cols = np.meshgrid(np.arange(top, top + size), np.arange(left, left + size),
                             indexing="ij")
    idx = (rows * a.shape[2] + cols).ravel()
    t = flat.sum(1)
    return np.divide(flat[:, idx].sum(1), t, out=np.zeros_like(t), where=t > 0)


def ps_right_einsum(a, top, left, size):
    a = np.abs(_ps_check(a, top, left, size))
    inside = np.einsum("nij->n", a[:, top:top + size, left:left + size])
    t = np.einsum("nij->n", a)
    return np.divide(inside, t, out=np.zeros_like(t), where=t > 0)


PS_WRONG = [ps_squared, ps_nan_for_zero, ps_outside, ps_no_check, ps_centred, ps_first_map,
            ps_max_pixel, ps_positive_only]
PS_RIGHT = [ps_right_mask, ps_right_loop, ps_right_reshape, ps_right_einsum]

# --- permutation importance ---------------------------------------------------------------------


def _pi_check(X, column):
    X = np.asarray(X)
    if not 0 <= column < X.shape[1]:
        raise ValueError("column")
    return X


def pi_in_place(predict, X, y, column, n_repeats=5, *, seed=0):  # shuffles the caller's X
    X = _pi_check(X, column)
    base = np.mean(predict(X) == y)
    rng = np.random.default_rng(seed)
    drops = []
    for _ in range(n_repeats):
        X[:, column] = X[rng.permutation(len(X)), column]
        drops.append(base - np.mean(predict(X) == y))
    return float(np.mean(drops))


def pi_error_rate(predict, X, y, column, n_repeats=5, *, seed=0):  # drop in errors, signed
    return -lab08.permutation_importance(predict, X, y, column, n_repeats, seed=seed) * 2


def pi_legacy_rng(predict, X, y, column, n_repeats=5, *, seed=0):  # np.random.seed
    X = _pi_check(X, column)
    base = np.mean(predict(X) == y)
    np.random.seed(seed)
    drops = []
    for _ in range(n_repeats):
        s = X.copy()
        s[:, column] = X[np.random.permutation(len(X)), column]
        drops.append(base - np.mean(predict(s) == y))
    return float(np.mean(drops))


def pi_zero_column(predict, X, y, column, n_repeats=5, *, seed=0):  # column set to 0
    X = _pi_check(X, column)
    s = X.copy()
    s[:, column] = 0
    return float(np.mean(predict(X) == y) - np.mean(predict(s) == y))


def pi_no_check(predict, X, y, column, n_repeats=5, *, seed=0):  # no error for a bad column
    X = np.asarray(X)
    column = min(column, X.shape[1] - 1)
    return lab08.permutation_importance(predict, X, y, column, n_repeats, seed=seed)


def pi_ratio(predict, X, y, column, n_repeats=5, *, seed=0):  # permuted / base
    X = _pi_check(X, column)
    base = np.mean(predict(X) == y)
    return float(1 - (base - lab08.permutation_importance(predict, X, y, column, n_repeats,
                                                         seed=seed)) / base)


def pi_one_repeat(predict, X, y, column, n_repeats=5, *, seed=0):  # n_repeats ignored
    return lab08.permutation_importance(predict, X, y, column, 1, seed=seed)


def pi_sorted(predict, X, y, column, n_repeats=5, *, seed=0):  # the column sorted, not shuffled
    X = _pi_check(X, column)
    s = X.copy()
    s[:, column] = np.sort(X[:, column])
    return float(np.mean(predict(X) == y) - np.mean(predict(s) == y))


def pi_right_loop(predict, X, y, column, n_repeats=5, *, seed=0):
    X = _pi_check(X, column)
    rng = np.random.default_rng(seed)
    right = predict(X) == y
    total = 0.0
    for _ in range(n_repeats):
        perm = rng.permutation(len(X))
        s = np.array(X, copy=True)
        s[:, column] = s[perm, column]
        total += right.mean() - (predict(s) == y).mean()
    return total / n_repeats


def pi_right_take(predict, X, y, column, n_repeats=5, *, seed=0):
    X = _pi_check(X, column)
    rng = np.random.default_rng(seed)
    perms = [rng.permutation(len(X)) for _ in range(n_repeats)]
    base = float(np.mean(predict(X) == y))
    accs = []
    for p in perms:
        s = X.copy()
        s[:, column] = np.take(X[:, column], p)
        accs.append(float(np.mean(predict(s) == y)))
    return base - float(np.mean(accs))


def pi_right_stack(predict, X, y, column, n_repeats=5, *, seed=0):
    X = _pi_check(X, column)
    rng = np.random.default_rng(seed)
    big = np.concatenate([X] * n_repeats)
    for r in range(n_repeats):
        big[r * len(X):(r + 1) * len(X), column] = X[rng.permutation(len(X)), column]
    return float(np.mean(predict(X) == y) - np.mean(predict(big) == np.tile(y, n_repeats)))


def pi_right_columns(predict, X, y, column, n_repeats=5, *, seed=0):
    X = _pi_check(X, column)
    rng = np.random.default_rng(seed)
    drops = []
    for _ in range(n_repeats):
        cols = [X[:, j] if j != column else X[:, j][rng.permutation(len(X))]
                for j in range(X.shape[1])]
        drops.append(np.mean(predict(X) == y) - np.mean(predict(np.column_stack(cols)) == y))
    return float(np.mean(drops))


PI_WRONG = [pi_in_place, pi_error_rate, pi_legacy_rng, pi_zero_column, pi_no_check, pi_ratio,
            pi_one_repeat, pi_sorted]
PI_RIGHT = [pi_right_loop, pi_right_take, pi_right_stack, pi_right_columns]

# --- accuracy field -----------------------------------------------------------------------------


def _af_parts(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) == 0 or y_true.shape != y_pred.shape:
        raise ValueError("bad input")
    return int((y_true == y_pred).sum()), len(y_true)


def _wilson(k, n, z=1.959963984540054):
    p = k / n
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return c - h, c + h


def af_percent(y_true, y_pred, on):  # percentages
    k, n = _af_parts(y_true, y_pred)
    lo, hi = _wilson(k, n)
    return {"metric": "accuracy", "value": round(100 * k / n, 1), "low": round(100 * lo, 1),
            "high": round(100 * hi, 1), "n": n, "on": on}


def af_no_on(y_true, y_pred, on):  # the evaluation set left out
    return lab08.accuracy_field(y_true, y_pred, on) | {"on": ""}


def af_string(y_true, y_pred, on):  # numbers as strings
    out = lab08.accuracy_field(y_true, y_pred, on)
    return out | {k: f"{out[k]:.3f}" for k in ("value", "low", "high")}


def af_two_decimals(y_true, y_pred, on):
    k, n = _af_parts(y_true, y_pred)
    lo, hi = _wilson(k, n)
    return {"metric": "accuracy", "value": round(k / n, 2), "low": round(lo, 2),
            "high": round(hi, 2), "n": n, "on": on}


def af_wilson_uncorrected(y_true, y_pred, on):  # z = 2
    k, n = _af_parts(y_true, y_pred)
    lo, hi = _wilson(k, n, z=2.0)
    return lab08.accuracy_field(y_true, y_pred, on) | {"low": round(lo, 3), "high": round(hi, 3)}


def af_clopper(y_true, y_pred, on):  # Clopper-Pearson, not Wilson
    k, n = _af_parts(y_true, y_pred)
    ci = binomtest(k, n).proportion_ci(method="exact")
    return lab08.accuracy_field(y_true, y_pred, on) | {"low": round(ci.low, 3),
                                                       "high": round(ci.high, 3)}


def af_no_check(y_true, y_pred, on):  # no error for bad input
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    n = min(len(y_true), len(y_pred))
    if n == 0:
        return {"metric": "accuracy", "value": 0.0, "low": 0.0, "high": 0.0, "n": 0, "on": on}
    return lab08.accuracy_field(y_true[:n], y_pred[:n], on)


def af_metric_name(y_true, y_pred, on):  # the wrong metric name
    return lab08.accuracy_field(y_true, y_pred, on) | {"metric": "acc"}


def af_right_scipy(y_true, y_pred, on):
    k, n = _af_parts(y_true, y_pred)
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return {"metric": "accuracy", "value": round(k / n, 3), "low": round(ci.low, 3),
            "high": round(ci.high, 3), "n": n, "on": on}


def af_right_stats(y_true, y_pred, on):
    from mlsec_helpers import stats

    k, n = _af_parts(y_true, y_pred)
    r = stats.proportion(k, n)
    return {"metric": "accuracy", "value": round(r.value, 3), "low": round(r.low, 3),
            "high": round(r.high, 3), "n": n, "on": on}


def af_right_statsmodels_formula(y_true, y_pred, on):  # the quadratic's roots
    k, n = _af_parts(y_true, y_pred)
    z2, p = 1.959963984540054 ** 2, k / n
    a, b, c = 1 + z2 / n, -(2 * p + z2 / n), p * p
    disc = math.sqrt(max(b * b - 4 * a * c, 0.0))
    return {"metric": "accuracy", "value": round(p, 3), "low": round((-b - disc) / (2 * a), 3),
            "high": round((-b + disc) / (2 * a), 3), "n": n, "on": on}


def af_right_ordered(y_true, y_pred, on):  # keys in another order
    k, n = _af_parts(y_true, y_pred)
    lo, hi = _wilson(k, n)
    return {"on": on, "n": n, "high": round(hi, 3), "low": round(lo, 3),
            "value": round(k / n, 3), "metric": "accuracy"}


AF_WRONG = [af_percent, af_no_on, af_string, af_two_decimals, af_wilson_uncorrected,
            af_clopper, af_no_check, af_metric_name]
AF_RIGHT = [af_right_scipy, af_right_stats, af_right_statsmodels_formula, af_right_ordered]

WRONG = ([(lab08.GRADIENT_TIMES_INPUT, f) for f in GI_WRONG]
         + [(lab08.PATCH_SHARE, f) for f in PS_WRONG]
         + [(lab08.PERMUTATION_IMPORTANCE, f) for f in PI_WRONG]
         + [(lab08.ACCURACY_FIELD, f) for f in AF_WRONG])
RIGHT = ([(lab08.GRADIENT_TIMES_INPUT, f) for f in GI_RIGHT]
         + [(lab08.PATCH_SHARE, f) for f in PS_RIGHT]
         + [(lab08.PERMUTATION_IMPORTANCE, f) for f in PI_RIGHT]
         + [(lab08.ACCURACY_FIELD, f) for f in AF_RIGHT])


def test_the_suite_has_enough_mutants_and_none_is_a_known_mistake():
    assert_enough_mutants((lab08.GRADIENT_TIMES_INPUT, lab08.PATCH_SHARE,
                           lab08.PERMUTATION_IMPORTANCE, lab08.ACCURACY_FIELD), WRONG, RIGHT)


(test_a_wrong_answer_is_rejected_by_the_check_and_the_grading,
 test_a_correct_answer_written_differently_is_accepted) = mutant_tests(WRONG, RIGHT)


# --- the challenge ------------------------------------------------------------------------------


def test_the_audit_data_is_not_on_the_task():
    task = lab08.shortcut_task(seed=3)
    assert set(task.__slots__) == {"__weakref__", "_X", "_vendor", "_y"}
    with pytest.raises(AttributeError):
        task.vendor_predict = lambda X: X[:, 0]  # the model cannot be swapped
    with pytest.raises(TypeError):
        lab08.challenge_audit(object(), task.vendor_predict)


def test_the_vendor_fails_the_audit_and_an_honest_model_disagrees():
    from sklearn.linear_model import LogisticRegression

    task = lab08.shortcut_task(seed=3)
    agreement, importance = lab08.challenge_audit(task, task.vendor_predict)
    assert agreement == 1.0 and importance > 0.1
    honest = LogisticRegression().fit(task.X_train[:, 1:], task.y_train)
    agreement, importance = lab08.challenge_audit(task, lambda X: honest.predict(X[:, 1:]))
    assert importance == 0.0 and agreement < lab08.CHALLENGE_AGREEMENT


def test_swapping_the_vendor_model_does_not_pass_the_audit():
    from sklearn.linear_model import LogisticRegression

    def swapper(task):  # tries to replace the model the audit compares with
        honest = LogisticRegression().fit(task.X_train[:, 1:], task.y_train)
        try:
            task._vendor = lambda X: honest.predict(np.asarray(X)[:, 1:])
        except AttributeError:
            pass
        return lambda X: honest.predict(np.asarray(X)[:, 1:])

    assert run_check(lab08.CHALLENGE, swapper).status == "wrong"


def test_the_scaffold_passes_on_other_vendors():
    for seed in (11, 12, 13):
        task = lab08.shortcut_task(seed=seed)
        agreement, importance = lab08.challenge_audit(task, lab08.hide_shortcut(task))
        assert agreement >= lab08.CHALLENGE_AGREEMENT
        assert importance <= lab08.CHALLENGE_IMPORTANCE
