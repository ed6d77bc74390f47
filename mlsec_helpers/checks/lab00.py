"""Exercises of lab 00 (Meet the five systems).

1. ``recall_at_budget``: the share of all frauds in the ``ceil(budget * n)`` highest scores,
   ties broken by position. The cases test each rule of the statement: a budget that is not
   a whole number of rows (ceil, not round or floor), one that is (ceil, not ``int() + 1``),
   a budget below one row, ties at the cut (the earlier position first), no fraud at all, the
   whole set, and the output (a number in [0, 1], as the lab's curves and table need).
2. ``standardise``: both sets scaled with the TRAINING set's mean and population standard
   deviation; a constant column is only centred. The cases test each rule: a test set drawn
   from another distribution (no pooled or test statistics), two training rows (ddof=0), a
   constant column whose test values differ from the constant (centred, neither zeroed nor
   divided by a tiny number), and the output (a pair of NumPy arrays of the input shapes, as
   the lab's logistic regression needs).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..exercises import Case, Exercise, Mistake

# --- exercise 1: recall at an alert budget ----------------------------------------------------


def recall_at_budget(scores: np.ndarray, y_true: np.ndarray, budget: float) -> float:
    """Share of all frauds caught when analysts review the top ``budget`` share of scores.

    The ``k = ceil(budget * n)`` highest-scored transactions are reviewed; ties are broken by
    position (a stable sort). Returns caught frauds / all frauds (0 when there is no fraud).

    Introduced in lab 00 (Meet the five systems).
    """
    scores = np.asarray(scores, dtype=float)
    y_true = np.asarray(y_true)
    if scores.shape != y_true.shape or scores.ndim != 1:
        raise ValueError("scores and y_true must be 1-D and of the same length")
    if not 0 < budget <= 1:
        raise ValueError(f"budget must lie in (0, 1], got {budget}")
    k = math.ceil(budget * len(scores))
    reviewed = np.argsort(-scores, kind="stable")[:k]
    n_fraud = int((y_true == 1).sum())
    return float((y_true[reviewed] == 1).sum() / n_fraud) if n_fraud else 0.0


def _rab_recall(scores, y_true, reviewed):
    y = np.asarray(y_true)
    n = int((y == 1).sum())
    return float((y[reviewed] == 1).sum() / n) if n else 0.0


def _rab_ascending(scores, y_true, budget):
    k = math.ceil(budget * len(scores))
    return _rab_recall(scores, y_true, np.argsort(np.asarray(scores), kind="stable")[:k])


def _rab_precision(scores, y_true, budget):
    k = math.ceil(budget * len(scores))
    reviewed = np.argsort(-np.asarray(scores), kind="stable")[:k]
    return float((np.asarray(y_true)[reviewed] == 1).mean())


def _rab_floor(scores, y_true, budget):
    k = int(budget * len(scores))
    return _rab_recall(scores, y_true, np.argsort(-np.asarray(scores), kind="stable")[:k])


def _rab_round(scores, y_true, budget):
    k = round(budget * len(scores))
    return _rab_recall(scores, y_true, np.argsort(-np.asarray(scores), kind="stable")[:k])


def _rab_floor_plus_one(scores, y_true, budget):
    k = int(budget * len(scores)) + 1
    return _rab_recall(scores, y_true, np.argsort(-np.asarray(scores), kind="stable")[:k])


def _rab_ties_last(scores, y_true, budget):
    # the ascending stable order reversed: among equal scores the LATER position comes first
    k = math.ceil(budget * len(scores))
    return _rab_recall(scores, y_true, np.argsort(np.asarray(scores), kind="stable")[::-1][:k])


def _rab_threshold(scores, y_true, budget):
    # every transaction scoring at least the k-th highest score: all ties at the cut reviewed
    s = np.asarray(scores, dtype=float)
    k = math.ceil(budget * len(s))
    cut = np.sort(s)[::-1][k - 1]
    return _rab_recall(scores, y_true, np.flatnonzero(s >= cut))


def _rab_cases() -> list[Case]:
    gen = np.random.default_rng(1)
    y = (gen.random(200) < 0.05).astype(int)
    s = np.clip(gen.normal(0.2 + 0.5 * y, 0.2), 0, 1)
    # 11 rows, budget 0.2: 2.2 rows -> 3 reviewed (round and floor give 2); the 3rd is a fraud
    y2 = np.array([0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0])
    s2 = np.array([0.1, 0.9, 0.3, 0.8, 0.2, 0.05, 0.4, 0.35, 0.15, 0.7, 0.6])
    # 12 rows, budget 0.25: exactly 3 rows (int() + 1 gives 4; the 4th is a fraud)
    y3 = np.array([1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0])
    s3 = np.array([0.2, 0.9, 0.1, 0.8, 0.3, 0.5, 0.7, 0.05, 0.4, 0.15, 0.6, 0.25])
    # ties at the cut: 10 rows, budget 0.3 (3 rows); rows 2, 5 and 8 share the 2nd-highest
    # score: rows 2 and 5 are reviewed (by position), row 8, a fraud, is not
    y4 = np.array([1, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    s4 = np.array([0.9, 0.1, 0.6, 0.2, 0.3, 0.6, 0.1, 0.4, 0.6, 0.5])
    # 24 rows with many equal scores (a sort that is not stable may reorder them), 25% budget
    y5 = np.zeros(24, dtype=int)
    y5[[3, 9, 14, 20, 23]] = 1
    s5 = np.repeat([0.8, 0.5, 0.5, 0.2], 6)[np.random.default_rng(5).permutation(24)]
    s5[[3, 9]] = 0.5
    return [
        Case((s, y, 0.1), label="200 transactions, 10% budget"),
        Case((s2, y2, 0.2), label="a budget of 2.2 rows (3 reviewed)"),
        Case((s3, y3, 0.25), label="a budget of exactly 3 rows"),
        Case((s4, y4, 0.3), label="a tie at the cut (the earlier row is reviewed)"),
        Case((s5, y5, 0.25), label="24 rows, many equal scores"),
        Case((s, y, 0.004), label="a budget below one row (0.8 rows: 1 reviewed)"),
        Case((s2, y2, 1.0), label="the whole set"),
        Case((s2, np.zeros_like(y2), 0.5), label="no fraud at all"),
    ]


def _rab_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(11)
    y = (gen.random(150) < 0.08).astype(int)
    s = np.round(np.clip(gen.normal(0.3 + 0.4 * y, 0.25), 0, 1), 1)  # rounded: many ties
    # 17 rows, budget 0.2: 3.4 rows -> 4 (round and floor give 3); the 4th is a fraud
    y2 = np.zeros(17, dtype=int)
    y2[[2, 6, 11]] = 1
    s2 = np.linspace(0.05, 0.85, 17)[::-1].copy()
    s2[[0, 2, 6, 11]] = [0.95, 0.93, 0.91, 0.1]
    s2[4] = 0.92
    # 16 rows, budget 0.125: exactly 2 rows (int() + 1 gives 3; the 3rd is a fraud)
    y3 = np.zeros(16, dtype=int)
    y3[[1, 7, 12]] = 1
    s3 = np.linspace(0.1, 0.7, 16)
    s3[[1, 5, 7]] = [0.99, 0.98, 0.97]
    # a tie at the cut, the other way round: the earlier tied row is the fraud
    y4 = np.array([0, 0, 1, 0, 0, 0, 1, 0])
    s4 = np.array([0.7, 0.2, 0.5, 0.1, 0.5, 0.5, 0.3, 0.4])
    # 9 rows, budget 0.05: 0.45 rows -> 1 reviewed (round and floor give 0)
    y5 = np.array([0, 0, 0, 1, 0, 0, 1, 0, 0])
    s5 = np.array([0.3, 0.2, 0.1, 0.95, 0.4, 0.5, 0.6, 0.05, 0.15])
    return [
        Case((s, y, 0.1), label="150 transactions with many ties, 10% budget"),
        Case((s2, y2, 0.2), label="a budget of 3.4 rows"),
        Case((s3, y3, 0.125), label="a budget of exactly 2 rows"),
        Case((s4, y4, 0.25), label="a tie at the cut, fraud first"),
        Case((s5, y5, 0.05), label="a budget below one row"),
        Case((s4, y4, 1.0), label="the whole set"),
        Case((s5, np.zeros_like(y5), 0.3), label="no fraud at all"),
    ]


def _rab_validate(got, case: Case) -> str | None:
    if isinstance(got, bool | np.bool_) or not isinstance(got, numbers.Real):
        return (f"return one number (a Python float), got {type(got).__name__}: the lab plots "
                "it and prints it")
    if not 0.0 <= float(got) <= 1.0:
        return f"a recall lies between 0 and 1, got {float(got):.4g}"
    return None


RECALL_AT_BUDGET = Exercise(
    name="recall_at_budget",
    reference=recall_at_budget,
    cases=_rab_cases,
    hidden_cases=_rab_hidden_cases,
    validate=_rab_validate,
    mistakes=[
        Mistake("the lowest scores reviewed instead of the highest", _rab_ascending,
                "analysts look at the most suspicious transactions first: sort by -scores"),
        Mistake("precision (frauds among the reviewed) instead of recall", _rab_precision,
                "divide the caught frauds by ALL frauds in y_true, not by the number reviewed"),
        Mistake("k rounded down", _rab_floor,
                "a budget of 1.3 rows still lets analysts open 2: use math.ceil(budget * n)"),
        Mistake("k rounded to the nearest whole number", _rab_round,
                "round(2.2) is 2, but a budget of 2.2 rows lets analysts open 3: use "
                "math.ceil(budget * n)"),
        Mistake("k = int(budget * n) + 1", _rab_floor_plus_one,
                "when budget * n is a whole number (3 rows), the analysts open 3, not 4: use "
                "math.ceil(budget * n)"),
        Mistake("ties broken by the later position", _rab_ties_last,
                "reversing an ascending sort puts the LATER of two equal scores first; sort "
                "-scores with a stable sort (np.argsort(-scores, kind='stable')) so the "
                "earlier one comes first"),
        Mistake("every transaction tied at the cut reviewed", _rab_threshold,
                "scores >= the k-th highest score can select more than k transactions when "
                "scores are tied; take exactly k, earlier positions first"),
    ],
    hint="k = ceil(budget * n); take the k highest scores (ties: the earlier position first, "
         "a stable sort); caught frauds / all frauds",
)


# --- exercise 2: standardise with training statistics only ------------------------------------


def standardise(X_train: np.ndarray, X_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standardise both sets with the mean and standard deviation of the TRAINING set.

    A constant column (standard deviation 0) is only centred. Using test statistics, or
    statistics of train and test pooled, leaks information from data the model must not see.

    Introduced in lab 00 (Meet the five systems).
    """
    X_train = np.asarray(X_train, dtype=float)
    X_test = np.asarray(X_test, dtype=float)
    if X_train.ndim != 2 or X_test.ndim != 2 or X_train.shape[1] != X_test.shape[1]:
        raise ValueError("X_train and X_test must be 2-D with the same number of columns")
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std = np.where(std == 0, 1.0, std)
    return (X_train - mean) / std, (X_test - mean) / std


def _std_pooled(X_train, X_test):
    both = np.vstack([X_train, X_test])
    mean, std = both.mean(0), np.where(both.std(0) == 0, 1.0, both.std(0))
    return (X_train - mean) / std, (X_test - mean) / std


def _std_own_stats(X_train, X_test):
    def z(a):
        return (a - a.mean(0)) / np.where(a.std(0) == 0, 1.0, a.std(0))

    return z(np.asarray(X_train, float)), z(np.asarray(X_test, float))


def _std_no_guard(X_train, X_test):
    mean, std = X_train.mean(0), X_train.std(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (X_train - mean) / std, (X_test - mean) / std


def _std_ddof1(X_train, X_test):
    mean, std = X_train.mean(0), X_train.std(0, ddof=1)
    std = np.where(std == 0, 1.0, std)
    return (X_train - mean) / std, (X_test - mean) / std


def _std_zeroed(X_train, X_test):
    mean, std = X_train.mean(0), X_train.std(0)

    def z(a):
        return np.divide(a - mean, std, out=np.zeros_like(a, dtype=float), where=std != 0)

    return z(X_train), z(X_test)


def _std_epsilon(X_train, X_test):
    mean, std = X_train.mean(0), X_train.std(0)
    return (X_train - mean) / (std + 1e-8), (X_test - mean) / (std + 1e-8)


def _std_cases() -> list[Case]:
    gen = np.random.default_rng(0)
    a = gen.normal(5.0, 2.0, size=(12, 3))
    b = gen.normal(6.0, 3.0, size=(5, 3))
    # a constant column in training whose test values are not that constant
    c = np.column_stack([gen.uniform(0, 10, 9), np.full(9, 4.0), gen.normal(0, 1, 9)])
    d = np.column_stack([gen.uniform(0, 10, 4), np.array([3.0, 5.0, 4.5, 4.0]),
                         gen.normal(0, 1, 4)])
    e = gen.normal(100.0, 30.0, size=(30, 4))
    f = gen.normal(90.0, 10.0, size=(3, 4))
    g = np.array([[1.0, -2.5, 7.0], [3.0, -2.5, 1.0]])
    h = np.array([[2.0, 0.0, 4.0]])
    return [
        Case((a, b), label="3 features"),
        Case((c, d), label="a constant column (its test values differ)"),
        Case((e, f), label="test set shifted"),
        Case((g, h), label="two training rows, one test row"),
    ]


def _std_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(7)
    a = gen.normal(-3.0, 0.5, size=(20, 5))
    b = gen.normal(2.0, 4.0, size=(6, 5))
    c = np.column_stack([np.full(7, -1.5), gen.uniform(-5, 5, 7), np.full(7, 0.0)])
    d = np.column_stack([gen.uniform(-3, 0, 3), gen.uniform(-5, 5, 3), np.array([1.0, -2.0,
                                                                                  0.5])])
    e = np.array([[0.0, 10.0], [4.0, 10.0], [8.0, 10.0]])
    f = np.array([[12.0, 11.0], [-4.0, 10.0]])
    return [
        Case((a, b), label="5 features, test set shifted"),
        Case((c, d), label="two constant columns"),
        Case((e, f), label="three training rows"),
    ]


def _std_validate(got, case: Case) -> str | None:
    if not isinstance(got, tuple | list) or len(got) != 2:
        return "return a pair (Z_train, Z_test): the lab unpacks two arrays"
    for name, part, x in zip(("Z_train", "Z_test"), got, case.args, strict=True):
        if not isinstance(part, np.ndarray):
            return (f"{name} must be a NumPy array (the lab fits a scikit-learn model on it), "
                    f"got {type(part).__name__}")
        if part.dtype.kind != "f":
            return f"{name} must hold floats, got dtype {part.dtype}"
        if part.shape != np.shape(x):
            return f"{name} has shape {part.shape}; its input had {np.shape(x)}"
    return None


STANDARDISE = Exercise(
    name="standardise",
    reference=standardise,
    cases=_std_cases,
    hidden_cases=_std_hidden_cases,
    validate=_std_validate,
    mistakes=[
        Mistake(
            "statistics computed on train and test pooled together",
            _std_pooled,
            "the test set stands for data the model has never seen: compute mean and std on "
            "X_train only, then apply them to both sets",
        ),
        Mistake(
            "each set standardised with its own statistics",
            _std_own_stats,
            "X_test must be scaled with X_train's mean and std, not its own",
        ),
        Mistake(
            "a division by a zero standard deviation",
            _std_no_guard,
            "a constant column has std 0: replace a 0 std by 1 so the column is only centred",
        ),
        Mistake(
            "the sample standard deviation (ddof=1)",
            _std_ddof1,
            "use the population standard deviation, numpy's default (ddof=0), as "
            "scikit-learn's StandardScaler does",
        ),
        Mistake(
            "a constant column set to 0 instead of centred",
            _std_zeroed,
            "a column that is constant in X_train is only centred: X_test's values in it "
            "become X_test - mean, not 0 (divide by 1 where the std is 0)",
        ),
        Mistake(
            "a small number added to the standard deviation",
            _std_epsilon,
            "dividing by std + 1e-8 blows up a constant column's test values (1 / 1e-8); "
            "replace a 0 std by 1 instead",
        ),
    ],
    hint="mean and std over axis 0 of X_train; (X - mean) / std for both sets; a 0 std "
         "replaced by 1",
)


#: Every exercise of this lab, in the order the lab asks them (the tests run each one).
EXERCISES: tuple[Exercise, ...] = (RECALL_AT_BUDGET, STANDARDISE)

__all__ = [
    "EXERCISES",
    "RECALL_AT_BUDGET",
    "STANDARDISE",
    "recall_at_budget",
    "standardise",
]
