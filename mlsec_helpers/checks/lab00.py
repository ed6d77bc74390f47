"""Exercises of lab 00 (Meet the five systems)."""

from __future__ import annotations

import math

import numpy as np

from ..exercises import Case, Exercise, Mistake

# --- exercise 1: standardise with training statistics only ------------------------------------


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


def _std_cases() -> list[Case]:
    gen = np.random.default_rng(0)
    a = gen.normal(5.0, 2.0, size=(12, 3))
    b = gen.normal(6.0, 3.0, size=(5, 3))
    c = np.column_stack([gen.uniform(0, 10, 9), np.full(9, 4.0)])
    d = np.column_stack([gen.uniform(0, 10, 4), np.full(4, 4.0)])
    e = gen.normal(100.0, 30.0, size=(30, 4))
    f = gen.normal(90.0, 10.0, size=(3, 4))
    return [
        Case((a, b), label="3 features"),
        Case((c, d), label="a constant column"),
        Case((e, f), label="test set shifted"),
    ]


def _std_validate(got, case: Case) -> str | None:
    if not isinstance(got, tuple | list) or len(got) != 2:
        return "return a pair (Z_train, Z_test)"
    for part, x in zip(got, case.args, strict=True):
        if np.shape(part) != np.shape(x):
            return f"a returned array has shape {np.shape(part)}; its input had {np.shape(x)}"
    return None


STANDARDISE = Exercise(
    name="standardise",
    reference=standardise,
    cases=_std_cases,
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
    ],
    hint="mean and std over axis 0 of X_train; (X - mean) / std for both sets",
)


# --- exercise 2: recall at an alert budget ----------------------------------------------------


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


def _rab_ascending(scores, y_true, budget):
    k = math.ceil(budget * len(scores))
    reviewed = np.argsort(np.asarray(scores), kind="stable")[:k]
    n = int((np.asarray(y_true) == 1).sum())
    return float((np.asarray(y_true)[reviewed] == 1).sum() / n) if n else 0.0


def _rab_precision(scores, y_true, budget):
    k = math.ceil(budget * len(scores))
    reviewed = np.argsort(-np.asarray(scores), kind="stable")[:k]
    return float((np.asarray(y_true)[reviewed] == 1).mean())


def _rab_floor(scores, y_true, budget):
    k = int(budget * len(scores))
    reviewed = np.argsort(-np.asarray(scores), kind="stable")[:k]
    n = int((np.asarray(y_true) == 1).sum())
    return float((np.asarray(y_true)[reviewed] == 1).sum() / n) if n else 0.0


def _rab_cases() -> list[Case]:
    gen = np.random.default_rng(1)
    y = (gen.random(200) < 0.05).astype(int)
    s = np.clip(gen.normal(0.2 + 0.5 * y, 0.2), 0, 1)
    y2 = np.array([0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0])
    s2 = np.array([0.1, 0.9, 0.3, 0.8, 0.2, 0.05, 0.4, 0.35, 0.15, 0.7, 0.6])
    return [
        Case((s, y, 0.1), label="200 transactions, 10% budget"),
        Case((s2, y2, 0.25), label="11 transactions, 25% budget"),
        Case((s, y, 0.013), label="a budget that is not a whole number of rows"),
        Case((s2, np.zeros_like(y2), 0.5), label="no fraud at all"),
    ]


RECALL_AT_BUDGET = Exercise(
    name="recall_at_budget",
    reference=recall_at_budget,
    cases=_rab_cases,
    mistakes=[
        Mistake("the lowest scores reviewed instead of the highest", _rab_ascending,
                "analysts look at the most suspicious transactions first: sort by -scores"),
        Mistake("precision (frauds among the reviewed) instead of recall", _rab_precision,
                "divide the caught frauds by ALL frauds in y_true, not by the number reviewed"),
        Mistake("k rounded down", _rab_floor,
                "a budget of 1.3 rows still lets analysts open 2: use math.ceil(budget * n)"),
    ],
    hint="k = ceil(budget * n); take the k highest scores; caught frauds / all frauds",
)


#: Every exercise of this lab, in the order the lab asks them (the tests run each one).
EXERCISES: tuple[Exercise, ...] = (STANDARDISE, RECALL_AT_BUDGET)

__all__ = [
    "EXERCISES",
    "RECALL_AT_BUDGET",
    "STANDARDISE",
    "recall_at_budget",
    "standardise",
]
