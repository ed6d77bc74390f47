"""Lab 00's exercise checks, beyond what tests/test_exercise_checks.py runs for every exercise.

A mutant suite per exercise: plausible wrong answers that are not in the exercise's list of
known mistakes (the check and the grading must reject each), and correct answers written
differently from the reference (both must accept each).
"""

import heapq
import math

import numpy as np
import pandas as pd
import pytest
import torch
from mutants import assert_accepted, assert_rejected

from mlsec_helpers.checks import lab00
from mlsec_helpers.exercises import run_check


def test_standardise_matches_sklearn():
    from sklearn.preprocessing import StandardScaler

    gen = np.random.default_rng(0)
    a, b = gen.normal(size=(20, 3)), gen.normal(size=(4, 3))
    za, zb = lab00.standardise(a, b)
    sc = StandardScaler().fit(a)
    np.testing.assert_allclose(za, sc.transform(a))
    np.testing.assert_allclose(zb, sc.transform(b))


def test_recall_at_budget_bad_input():
    with pytest.raises(ValueError, match="budget"):
        lab00.recall_at_budget(np.ones(3), np.ones(3), 0)
    with pytest.raises(ValueError, match="same length"):
        lab00.recall_at_budget(np.ones(3), np.ones(4), 0.5)


def test_recall_cases_hold_ties_at_the_cut_and_fractional_budgets():
    for cases in (lab00._rab_cases(), lab00._rab_hidden_cases()):
        ties = fractional = exact = 0
        for case in cases:
            scores, _, budget = case.args
            k = math.ceil(budget * len(scores))
            if k < len(scores):
                cut = np.sort(scores)[::-1][k - 1]
                ties += int(np.sum(scores == cut) > 1 and np.sum(scores > cut) < k)
            fractional += int(budget * len(scores) != round(budget * len(scores)))
            exact += int(budget * len(scores) == k and k > 1)
        assert ties >= 1 and fractional >= 2 and exact >= 1


# --- recall_at_budget: mutants -----------------------------------------------------------------


def _recall(y, reviewed):
    y = np.asarray(y)
    n = int((y == 1).sum())
    return float((y[reviewed] == 1).sum() / n) if n else 0.0


def _top(scores, k):
    return np.argsort(-np.asarray(scores, dtype=float), kind="stable")[:k]


def rab_count(scores, y_true, budget):  # the number of frauds caught, not the share
    return float((np.asarray(y_true)[_top(scores, math.ceil(budget * len(scores)))] == 1).sum())


def rab_share_of_all(scores, y_true, budget):  # caught frauds / all transactions
    k = math.ceil(budget * len(scores))
    return float((np.asarray(y_true)[_top(scores, k)] == 1).sum() / len(scores))


def rab_fixed_budget(scores, y_true, budget):  # the budget argument ignored (1%)
    return _recall(y_true, _top(scores, math.ceil(0.01 * len(scores))))


def rab_one_more(scores, y_true, budget):  # ceil + 1
    return _recall(y_true, _top(scores, math.ceil(budget * len(scores)) + 1))


def rab_one_less(scores, y_true, budget):  # ceil - 1
    return _recall(y_true, _top(scores, math.ceil(budget * len(scores)) - 1))


def rab_percent(scores, y_true, budget):  # a percentage
    return 100 * _recall(y_true, _top(scores, math.ceil(budget * len(scores))))


def rab_nan_without_fraud(scores, y_true, budget):  # 0 / 0 gives nan
    y = np.asarray(y_true, dtype=float)
    with np.errstate(invalid="ignore"):
        return float(np.float64(y[_top(scores, math.ceil(budget * len(scores)))].sum())
                     / np.float64(y.sum()))


def rab_raises_without_fraud(scores, y_true, budget):  # ZeroDivisionError
    y = [int(v) for v in y_true]
    return sum(y[i] for i in _top(scores, math.ceil(budget * len(scores)))) / sum(y)


def rab_array(scores, y_true, budget):  # a one-element array
    return np.array([_recall(y_true, _top(scores, math.ceil(budget * len(scores))))])


def rab_sorts_in_place(scores, y_true, budget):  # sorts the caller's scores
    order = np.argsort(-scores, kind="stable")
    scores[:] = scores[order]
    y = np.asarray(y_true)[order]
    n = int((y == 1).sum())
    return float((y[: math.ceil(budget * len(scores))] == 1).sum() / n) if n else 0.0


def rab_random_ties(scores, y_true, budget):  # ties broken at random
    s = np.asarray(scores, dtype=float)
    order = np.lexsort((np.random.default_rng(3).random(len(s)), -s))
    return _recall(y_true, order[: math.ceil(budget * len(s))])


RAB_WRONG = [rab_count, rab_share_of_all, rab_fixed_budget, rab_one_more, rab_one_less,
             rab_percent, rab_nan_without_fraud, rab_raises_without_fraud, rab_array,
             rab_sorts_in_place, rab_random_ties]


def rab_pandas(scores, y_true, budget):
    k = math.ceil(budget * len(scores))
    top = pd.Series(scores).nlargest(k, keep="first").index
    y = pd.Series(y_true)
    return float(y[top].sum() / y.sum()) if y.sum() else 0.0


def rab_python_sorted(scores, y_true, budget):
    n = len(scores)
    k = -int(-budget * n // 1)  # ceil without math
    order = sorted(range(n), key=lambda i: scores[i], reverse=True)  # stable, also reversed
    frauds = sum(1 for v in y_true if v == 1)
    if frauds == 0:
        return 0
    return sum(1 for i in order[:k] if y_true[i] == 1) / frauds


def rab_lexsort(scores, y_true, budget):
    s = np.asarray(scores, dtype=float)
    order = np.lexsort((np.arange(len(s)), -s))
    k = int(np.ceil(budget * len(s)))
    y = np.asarray(y_true).astype(bool)
    return float(y[order[:k]].sum() / y.sum()) if y.any() else 0.0


def rab_heap(scores, y_true, budget):
    k = math.ceil(len(scores) * budget)
    top = heapq.nsmallest(k, range(len(scores)), key=lambda i: (-scores[i], i))
    frauds = int(np.sum(y_true))
    return float(np.sum(np.asarray(y_true)[top]) / frauds) if frauds else 0.0


def rab_torch(scores, y_true, budget):
    s = torch.as_tensor(np.asarray(scores), dtype=torch.float64)
    order = torch.sort(s, descending=True, stable=True).indices
    k = math.ceil(budget * len(s))
    y = torch.as_tensor(np.asarray(y_true))
    total = int(y.sum())
    return int(y[order[:k]].sum()) / total if total else 0.0


RAB_RIGHT = [rab_pandas, rab_python_sorted, rab_lexsort, rab_heap, rab_torch]


@pytest.mark.parametrize("answer", RAB_WRONG, ids=lambda f: f.__name__)
def test_recall_at_budget_rejects_a_wrong_answer(answer):
    assert_rejected(lab00.RECALL_AT_BUDGET, answer)


@pytest.mark.parametrize("answer", RAB_RIGHT, ids=lambda f: f.__name__)
def test_recall_at_budget_accepts_a_correct_answer(answer):
    assert_accepted(lab00.RECALL_AT_BUDGET, answer)


def test_recall_at_budget_explains_its_output_rules():
    assert "one number" in run_check(lab00.RECALL_AT_BUDGET, rab_array).message
    assert "between 0 and 1" in run_check(lab00.RECALL_AT_BUDGET, rab_percent).message
    assert "modified its argument `scores`" in run_check(lab00.RECALL_AT_BUDGET,
                                                          rab_sorts_in_place).message


# --- standardise: mutants ----------------------------------------------------------------------


def _guarded(std):
    return np.where(std == 0, 1.0, std)


def std_variance(X_train, X_test):  # divides by the variance
    m, v = X_train.mean(0), _guarded(X_train.var(0))
    return (X_train - m) / v, (X_test - m) / v


def std_rows(X_train, X_test):  # statistics of each row (axis=1)
    def z(a):
        return (a - a.mean(1, keepdims=True)) / _guarded(a.std(1, keepdims=True))

    return z(X_train), z(X_test)


def std_median(X_train, X_test):  # the median instead of the mean
    m, s = np.median(X_train, 0), _guarded(X_train.std(0))
    return (X_train - m) / s, (X_test - m) / s


def std_in_place(X_train, X_test):  # modifies the caller's arrays
    m, s = X_train.mean(0), _guarded(X_train.std(0))
    X_train -= m
    X_train /= s
    X_test -= m
    X_test /= s
    return X_train, X_test


def std_small_guard(X_train, X_test):  # any std below 1 replaced by 1
    m, s = X_train.mean(0), X_train.std(0)
    s = np.where(s < 1, 1.0, s)
    return (X_train - m) / s, (X_test - m) / s


def std_swapped(X_train, X_test):  # the pair in the wrong order
    m, s = X_train.mean(0), _guarded(X_train.std(0))
    return (X_test - m) / s, (X_train - m) / s


def std_lists(X_train, X_test):  # Python lists
    m, s = X_train.mean(0), _guarded(X_train.std(0))
    return ((X_train - m) / s).tolist(), ((X_test - m) / s).tolist()


def std_tensors(X_train, X_test):  # torch tensors
    a, b = torch.as_tensor(X_train), torch.as_tensor(X_test)
    m, s = a.mean(0), a.std(0, unbiased=False)
    s = torch.where(s == 0, torch.ones_like(s), s)
    return (a - m) / s, (b - m) / s


def std_test_mean(X_train, X_test):  # the test set centred on its own mean
    s = _guarded(X_train.std(0))
    return (X_train - X_train.mean(0)) / s, (X_test - X_test.mean(0)) / s


def std_min_max(X_train, X_test):  # min-max scaling
    lo, span = X_train.min(0), X_train.max(0) - X_train.min(0)
    span = np.where(span == 0, 1.0, span)
    return (X_train - lo) / span, (X_test - lo) / span


def std_centre_only(X_train, X_test):  # centred, never divided
    m = X_train.mean(0)
    return X_train - m, X_test - m


def std_only_test(X_train, X_test):  # returns one array
    m, s = X_train.mean(0), _guarded(X_train.std(0))
    return (X_test - m) / s


STD_WRONG = [std_variance, std_rows, std_median, std_in_place, std_small_guard, std_swapped,
             std_lists, std_tensors, std_test_mean, std_min_max, std_centre_only, std_only_test]


def std_sklearn(X_train, X_test):
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test)


def std_columns_loop(X_train, X_test):
    import statistics

    Z_train, Z_test = np.empty_like(X_train, dtype=float), np.empty_like(X_test, dtype=float)
    for j in range(X_train.shape[1]):
        column = [float(v) for v in X_train[:, j]]
        mean, std = statistics.fmean(column), statistics.pstdev(column)
        std = std or 1.0
        Z_train[:, j] = (X_train[:, j] - mean) / std
        Z_test[:, j] = (X_test[:, j] - mean) / std
    return Z_train, Z_test


def std_torch(X_train, X_test):
    a, b = torch.as_tensor(X_train), torch.as_tensor(X_test)
    m, s = a.mean(0), a.std(0, unbiased=False)
    s[s == 0] = 1.0
    return ((a - m) / s).numpy(), ((b - m) / s).numpy()


def std_float32(X_train, X_test):
    a, b = X_train.astype(np.float32), X_test.astype(np.float32)
    m, s = a.mean(0), a.std(0)
    s[s == 0] = 1
    return (a - m) / s, (b - m) / s


def std_by_hand(X_train, X_test):
    m = X_train.sum(axis=0) / len(X_train)
    s = np.sqrt(((X_train - m) ** 2).sum(axis=0) / len(X_train))
    s = np.divide(1.0, s, out=np.ones_like(s), where=s > 0)
    return [(X_train - m) * s, (X_test - m) * s]


STD_RIGHT = [std_sklearn, std_columns_loop, std_torch, std_float32, std_by_hand]


@pytest.mark.parametrize("answer", STD_WRONG, ids=lambda f: f.__name__)
def test_standardise_rejects_a_wrong_answer(answer):
    assert_rejected(lab00.STANDARDISE, answer)


@pytest.mark.parametrize("answer", STD_RIGHT, ids=lambda f: f.__name__)
def test_standardise_accepts_a_correct_answer(answer):
    assert_accepted(lab00.STANDARDISE, answer)


def test_standardise_explains_its_output_rules():
    assert "NumPy array" in run_check(lab00.STANDARDISE, std_tensors).message
    assert "NumPy array" in run_check(lab00.STANDARDISE, std_lists).message
    assert "return a pair" in run_check(lab00.STANDARDISE, std_only_test).message
    assert "modified its argument `X_train`" in run_check(lab00.STANDARDISE,
                                                          std_in_place).message


def test_calling_the_reference_is_not_an_answer():
    for exercise, answer in [
        (lab00.RECALL_AT_BUDGET, lambda s, y, b: lab00.recall_at_budget(s, y, b)),
        (lab00.STANDARDISE, lambda a, b: lab00.standardise(a, b)),
    ]:
        result = run_check(exercise, answer)
        assert result.status == "wrong" and "calls the reference" in result.message
