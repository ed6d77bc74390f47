"""Exercises of lab 04 (Model theft).

Each exercise's cases test every rule its statement in the lab states (named in each case's
label); ``hidden_cases`` test the same rules on other inputs, for :func:`exercises.grade`.
"""

from __future__ import annotations

import copy
import math
import numbers
import weakref

import numpy as np

from .. import extraction
from ..exercises import Case, Exercise, Mistake
from ..extraction import medical as _medical
from ..extraction.common import PredictionAPI
from ..validate import ArgumentTypeError

# --- exercise 1: a labels-only answer that is right ---------------------------------------------


def labels_only(proba: np.ndarray) -> np.ndarray:
    """What a labels-only API returns for the victim's probabilities ``proba`` (n, n_classes):
    for each row, a one-hot row that marks its most probable class (ties: the lowest index),
    as floats, without changing ``proba``. An empty or non-2-D ``proba`` is bad input:
    raise ``ValueError``.

    Introduced in lab 04 (Model theft).
    """
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or proba.size == 0:
        raise ValueError(f"proba must be a non-empty (n, n_classes) array, got {proba.shape}")
    out = np.zeros_like(proba)
    out[np.arange(len(proba)), proba.argmax(axis=1)] = 1.0
    return out


def _lo_batch_union(proba):  # the ART 1.20.1 ClassLabels bug: one mask for the whole batch
    proba = np.asarray(proba, dtype=float)
    winners = np.zeros(proba.shape[1])
    winners[np.unique(proba.argmax(axis=1))] = 1.0
    return np.tile(winners, (len(proba), 1))


def _lo_column_argmax(proba):  # argmax down the columns (axis 0)
    proba = np.asarray(proba, dtype=float)
    out = np.zeros_like(proba)
    out[proba.argmax(axis=0), np.arange(proba.shape[1])] = 1.0
    return out


def _lo_threshold_half(proba):  # "above 0.5" instead of "the largest"
    return (np.asarray(proba, dtype=float) > 0.5).astype(float)


def _lo_all_ties(proba):  # every class tied for the top is marked
    proba = np.asarray(proba, dtype=float)
    return (proba == proba.max(axis=1, keepdims=True)).astype(float)


def _lo_last_tie(proba):  # ties go to the highest index
    proba = np.asarray(proba, dtype=float)
    last = proba.shape[1] - 1 - proba[:, ::-1].argmax(axis=1)
    out = np.zeros_like(proba)
    out[np.arange(len(proba)), last] = 1.0
    return out


def _labels_only_cases() -> list[Case]:
    return [
        Case((np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]),),
             label="two rows with different top classes (one mask per row, not per batch)"),
        Case((np.array([[0.2, 0.5, 0.3], [0.25, 0.35, 0.4], [0.9, 0.05, 0.05]]),),
             label="no class above 0.5 in some rows (the largest, not a threshold)"),
        Case((np.array([[0.4, 0.4, 0.2], [0.1, 0.45, 0.45]]),),
             label="ties (the lowest index wins, one class per row)"),
        Case((np.array([[0.6, 0.4]]),), label="one row, two classes"),
        Case((np.array([[0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1], [0.3, 0.4, 0.1, 0.2],
                        [0.3, 0.2, 0.4, 0.1], [0.2, 0.2, 0.2, 0.4]]),),
             label="more rows than classes (argmax along each row)"),
        Case((np.zeros((0, 3)),), label="an empty batch is bad input", raises=ValueError),
        Case((np.array([0.2, 0.8]),), label="a 1-D array is bad input", raises=ValueError),
    ]


def _labels_only_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(404)
    p = gen.dirichlet(np.ones(10), size=12)
    p[3] = [0.3, 0.3] + [0.05] * 8
    return [
        Case((p,), label="twelve digits' probabilities, one tie"),
        Case((np.array([[0.45, 0.1, 0.45], [0.0, 1.0, 0.0]]),), label="a tie across the ends"),
        Case((np.zeros((2, 0)),), label="no classes is bad input", raises=ValueError),
    ]


def _labels_only_validate(got, case: Case) -> str | None:
    proba = case.args[0]
    if not isinstance(got, np.ndarray):
        return f"return a NumPy array (one one-hot row per input), got {type(got).__name__}"
    if got.shape != proba.shape:
        return (f"return one one-hot row per input, shape {proba.shape}, got shape "
                f"{got.shape}")
    if not np.isin(got, (0.0, 1.0)).all() or not (got.sum(axis=1) == 1).all():
        return "each row must mark exactly one class with 1 (a one-hot row)"
    return None


LABELS_ONLY = Exercise(
    name="labels_only",
    reference=labels_only,
    cases=_labels_only_cases,
    hidden_cases=_labels_only_hidden_cases,
    validate=_labels_only_validate,
    conceal=[extraction.one_hot_labels, extraction.harden],
    mistakes=[
        Mistake("one mask for the whole batch (ART 1.20.1's ClassLabels bug)", _lo_batch_union,
                "mark each row's own top class: out[i, argmax(proba[i])] = 1, row by row"),
        Mistake("the argmax taken down the columns", _lo_column_argmax,
                "the top class of a row is proba.argmax(axis=1)"),
        Mistake("a 0.5 threshold instead of the top class", _lo_threshold_half,
                "with three or more classes the top class may be below 0.5: use the argmax"),
        Mistake("every tied class marked", _lo_all_ties,
                "one class per row: np.argmax returns the first (lowest) of tied indices"),
        Mistake("ties sent to the highest index", _lo_last_tie,
                "np.argmax already breaks ties towards the lowest index"),
    ],
    hint="out = np.zeros_like(proba); out[np.arange(len(proba)), proba.argmax(axis=1)] = 1.0",
)

# --- exercise 2: overlap at k of two sets of top-k lists ----------------------------------------


def overlap_at_k(lists_a, lists_b, k: int) -> float:
    """Overlap at ``k`` of two sets of recommendation lists (one row per user, best first,
    each list holding distinct items): for each row, the number of items that the first ``k``
    of ``lists_a`` and the first ``k`` of ``lists_b`` share, divided by ``k``; the mean over
    rows. Only the first ``k`` items of a row count, and their order does not. Lists with
    different numbers of rows, or with fewer than ``k`` items, are bad input: raise
    ``ValueError``.

    Introduced in lab 04 (Model theft).
    """
    A, B = np.asarray(lists_a), np.asarray(lists_b)
    if A.ndim != 2 or B.ndim != 2 or len(A) != len(B) or not len(A):
        raise ValueError(f"need two 2-D arrays with the same rows, got {A.shape} and {B.shape}")
    if A.shape[1] < k or B.shape[1] < k:
        raise ValueError(f"every list needs at least k = {k} items")
    shared = [len(set(a[:k].tolist()) & set(b[:k].tolist())) for a, b in zip(A, B, strict=True)]
    return float(np.mean(shared) / k)


def _ok_jaccard(lists_a, lists_b, k):  # |A & B| / |A | B|
    A, B = np.asarray(lists_a), np.asarray(lists_b)
    return float(np.mean([len(set(a[:k]) & set(b[:k])) / len(set(a[:k]) | set(b[:k]))
                          for a, b in zip(A, B, strict=True)]))


def _ok_positions(lists_a, lists_b, k):  # same item at the same position
    A, B = np.asarray(lists_a), np.asarray(lists_b)
    return float(np.mean(A[:, :k] == B[:, :k]))


def _ok_no_cut(lists_a, lists_b, k):  # whole lists, not their first k
    A, B = np.asarray(lists_a), np.asarray(lists_b)
    return float(np.mean([len(set(a) & set(b)) for a, b in zip(A, B, strict=True)]) / k)


def _ok_pooled(lists_a, lists_b, k):  # all rows in one set each
    A, B = np.asarray(lists_a)[:, :k], np.asarray(lists_b)[:, :k]
    return len(set(A.ravel()) & set(B.ravel())) / len(set(A.ravel()))


def _ok_by_length(lists_a, lists_b, k):  # divided by the list length, not by k
    A, B = np.asarray(lists_a), np.asarray(lists_b)
    return float(np.mean([len(set(a[:k]) & set(b[:k])) for a, b in zip(A, B, strict=True)])
                 / A.shape[1])


def _overlap_cases() -> list[Case]:
    a = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    return [
        Case((a, np.array([[1, 2, 9, 10], [8, 7, 6, 5]]), 4),
             label="two users: half shared, and all shared in another order"),
        Case((np.array([[1, 2, 3, 9, 9]]), np.array([[3, 1, 2, 7, 8]]), 3),
             label="order within the first k does not count"),
        Case((np.array([[1, 2, 3, 4, 5, 6]]), np.array([[1, 7, 8, 2, 3, 4]]), 2),
             label="only the first k count (longer lists)"),
        Case((np.array([[1, 2], [3, 4], [5, 6]]), np.array([[1, 2], [4, 9], [7, 8]]), 2),
             label="three users, each scored on their own list (not pooled)"),
        Case((np.array([[1, 2, 3]]), np.array([[4, 5, 6]]), 3), label="nothing shared"),
        Case((a, a[:1], 2), label="different numbers of users is bad input", raises=ValueError),
        Case((a, a, 5), label="k longer than the lists is bad input", raises=ValueError),
    ]


def _overlap_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(44)
    A = np.stack([gen.permutation(30)[:12] for _ in range(15)])
    B = np.stack([gen.permutation(30)[:12] for _ in range(15)])
    for i in range(5):  # some users share their top six items, in another order
        rest = [item for item in gen.permutation(30) if item not in A[i, :6]]
        B[i] = np.r_[A[i, 5::-1], rest[:6]]
    return [Case((A, B, 10), label="15 users, 12 items each, k = 10"),
            Case((A, B, 1), label="k = 1"),
            Case((A[:3], B[:4], 2), label="3 against 4 users", raises=ValueError)]


def _overlap_validate(got, case: Case) -> str | None:
    if isinstance(got, bool | np.bool_) or not isinstance(got, numbers.Real):
        return f"return one number (the mean overlap), got {type(got).__name__}"
    if not 0.0 <= float(got) <= 1.0:
        return f"an overlap divided by k lies in [0, 1], got {float(got)}"
    return None


OVERLAP_AT_K = Exercise(
    name="overlap_at_k",
    reference=overlap_at_k,
    cases=_overlap_cases,
    hidden_cases=_overlap_hidden_cases,
    validate=_overlap_validate,
    conceal=[extraction.recommender.overlap_at_k],
    mistakes=[
        Mistake("the Jaccard index (divided by the union)", _ok_jaccard,
                "divide the number of shared items by k, not by the size of the union"),
        Mistake("items compared position by position", _ok_positions,
                "order within the first k does not count: compare the two sets of items"),
        Mistake("whole lists compared, not their first k", _ok_no_cut,
                "cut each list to its first k items before comparing: a[:k]"),
        Mistake("all users pooled into one set", _ok_pooled,
                "score each user's pair of lists on its own, then take the mean over users"),
        Mistake("divided by the list length instead of k", _ok_by_length,
                "divide by k: it is the share of the k recommended items that agree"),
    ],
    hint="np.mean([len(set(a[:k]) & set(b[:k])) for a, b in zip(A, B)]) / k",
)


# --- exercise: solve for a logistic model from its probability answers --------------------------


def solve_logistic(X, p):
    """Reference: :func:`mlsec_helpers.extraction.medical.solve_logistic` (``(w, b)`` from
    the answers ``p`` for the rows of ``X``).

    Introduced in lab 04 (Model theft).
    """
    return _medical.solve_logistic(X, p)


def _logit(p):
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):  # the mistakes run on bad input too
        return np.log(p) - np.log1p(-p)


def _sl_lstsq(X, z):
    A = np.column_stack([np.asarray(X, dtype=np.float64), np.ones(len(X))])
    theta = np.linalg.lstsq(A, z, rcond=None)[0]
    return theta[:-1], float(theta[-1])


def _sl_on_probabilities(X, p):
    return _sl_lstsq(X, np.asarray(p, dtype=np.float64))


def _sl_no_intercept(X, p):
    w = np.linalg.lstsq(np.asarray(X, dtype=np.float64), _logit(p), rcond=None)[0]
    return w, 0.0


def _sl_class_zero(X, p):
    return _sl_lstsq(X, -_logit(p))


def _sl_log_p(X, p):
    with np.errstate(divide="ignore"):
        return _sl_lstsq(X, np.log(np.asarray(p, dtype=np.float64)))


def _sl_first_rows(X, p):
    X = np.asarray(X, dtype=np.float64)
    k = X.shape[1] + 1
    return _sl_lstsq(X[:k], _logit(np.asarray(p)[:k]))


def _linear_data(gen, n, d, scales=None):
    scales = np.ones(d) if scales is None else np.asarray(scales, dtype=np.float64)
    X = gen.normal(size=(n, d)) * scales + gen.normal(size=d) * scales
    w = gen.normal(size=d) / scales
    b = float(-(X.mean(axis=0) @ w) + gen.normal() * 0.3)
    return X, w, b


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _sl_cases_from(seed: int) -> list[Case]:
    gen = np.random.default_rng(seed)
    X3, w3, b3 = _linear_data(gen, 4, 3)
    p3 = _sigmoid(X3 @ w3 + b3)
    scales = np.array([1e-2, 0.1, 1.0, 30.0, 800.0])
    X5, w5, b5 = _linear_data(gen, 6, 5, scales)
    p5 = _sigmoid(X5 @ w5 + b5)
    X4, w4, b4 = _linear_data(gen, 25, 4)
    p4 = np.round(_sigmoid(X4 @ w4 + b4), 2)
    p4 = np.clip(p4, 0.01, 0.99)
    Xh = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    ph = np.array([0.5, _sigmoid(1.5), _sigmoid(-3.0)])
    bad_one = p3.copy()
    bad_one[1] = 1.0
    bad_zero = p3.copy()
    bad_zero[2] = 0.0
    return [
        Case((X3, p3), label=f"d = 3, exactly d + 1 = 4 answers (seed {seed})"),
        Case((X5, p5), label="features on very different scales (0.01 to 800), d + 1 answers"),
        Case((X4, p4), label="25 answers rounded to 2 decimals for d = 4: least squares"),
        Case((Xh, ph), label="p = 0.5 (logit 0) at the origin: the intercept is 0"),
        Case((X3, bad_one), label="an answer of exactly 1 (no finite logit)", raises=ValueError),
        Case((X3, bad_zero), label="an answer of exactly 0 (no finite logit)", raises=ValueError),
        Case((X5[:4], p5[:4]), label="fewer than d + 1 answers (4 for d = 5)", raises=ValueError),
    ]


def _sl_cases() -> list[Case]:
    return _sl_cases_from(3)


def _sl_hidden_cases() -> list[Case]:
    return _sl_cases_from(33)


def _real_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _sl_validate(got, case: Case) -> str | None:
    if not isinstance(got, tuple | list) or len(got) != 2:
        return f"return a pair (w, b), got {type(got).__name__}"
    w, b = got
    d = case.args[0].shape[1]
    if not isinstance(w, np.ndarray) or w.shape != (d,):
        return (f"w must be a NumPy array of shape ({d},), one weight per feature, got "
                f"{type(w).__name__} of shape {getattr(w, 'shape', None)}")
    if w.dtype != np.float64:
        return (f"w must be float64, got {w.dtype}: float32 loses the small weights of "
                "features measured in large units")
    if not _real_number(b):
        return f"b must be one number (the intercept), got {type(b).__name__}"
    if not (np.isfinite(w).all() and math.isfinite(float(b))):
        return "w and b must be finite"
    return None


def _sl_compare(got, expected) -> bool:
    g = np.r_[np.asarray(got[0], dtype=np.float64), float(got[1])]
    e = np.r_[np.asarray(expected[0], dtype=np.float64), float(expected[1])]
    return bool(np.linalg.norm(g - e) <= 1e-6 * max(1.0, np.linalg.norm(e)))


EQUATION_SOLVING = Exercise(
    name="solve_logistic",
    reference=solve_logistic,
    cases=_sl_cases,
    hidden_cases=_sl_hidden_cases,
    validate=_sl_validate,
    compare=_sl_compare,
    conceal=[_medical.solve_logistic, _medical.equation_solving_attack],
    mistakes=[
        Mistake("the probabilities solved for directly (no logit)", _sl_on_probabilities,
                "the model is linear in the log-odds, not in p: solve logit(p) = log(p / (1 - "
                "p)) = X @ w + b"),
        Mistake("no intercept", _sl_no_intercept,
                "the model has d + 1 unknowns: add a column of ones to X for b"),
        Mistake("the log-odds of class 0", _sl_class_zero,
                "p is the probability of class 1: log(p / (1 - p)), not log((1 - p) / p)"),
        Mistake("log(p) instead of the log-odds", _sl_log_p,
                "the inverse of the sigmoid is log(p / (1 - p)), not log(p)"),
        Mistake("only the first d + 1 answers used", _sl_first_rows,
                "with more answers than unknowns, use them all: least squares "
                "(np.linalg.lstsq) averages out the rounding"),
    ],
    hint="z = log(p / (1 - p)); A = [X, 1]; theta = np.linalg.lstsq(A, z)[0]; w, b = "
         "theta[:-1], theta[-1]; raise ValueError when a p is 0 or 1 or there are fewer "
         "than d + 1 answers",
)


# --- exercise: the line search for the decision boundary -----------------------------------------


def boundary_bracket(label, x_neg, x_pos, steps):
    """Reference: :func:`mlsec_helpers.extraction.medical.boundary_bracket`.

    Introduced in lab 04 (Model theft).
    """
    return _medical.boundary_bracket(label, x_neg, x_pos, steps)


def _bb_bisect(label, x_neg, x_pos, steps, *, move_lo_on=0, n=None):
    lo, hi = np.array(x_neg, dtype=np.float64), np.array(x_pos, dtype=np.float64)
    for _ in range(steps if n is None else n):
        mid = (lo + hi) / 2
        if int(label(mid)) == move_lo_on:
            lo = mid
        else:
            hi = mid
    return lo, hi


def _bb_wrong_end(label, x_neg, x_pos, steps):
    return _bb_bisect(label, x_neg, x_pos, steps, move_lo_on=1)


def _bb_one_more(label, x_neg, x_pos, steps):
    return _bb_bisect(label, x_neg, x_pos, steps, n=steps + 1)


def _bb_one_fewer(label, x_neg, x_pos, steps):
    return _bb_bisect(label, x_neg, x_pos, steps, n=max(steps - 1, 0))


def _bb_swapped(label, x_neg, x_pos, steps):
    lo, hi = _bb_bisect(label, x_neg, x_pos, steps)
    return hi, lo


class _Linear:
    """A linear labeller ``x -> 1 if w @ x + b >= 0 else 0`` (one input)."""

    def __init__(self, w, b):
        self.w, self.b = np.asarray(w, dtype=np.float64), float(b)

    def __call__(self, x):
        return int(np.asarray(x, dtype=np.float64) @ self.w + self.b >= 0)

    def __repr__(self):
        return f"label(x) = [w @ x + b >= 0], w = {np.round(self.w, 3)}, b = {self.b:.3g}"


class _Ball:
    """A non-linear labeller: 1 inside a ball (the search needs no linearity)."""

    def __init__(self, centre, radius):
        self.centre, self.radius = np.asarray(centre, dtype=np.float64), float(radius)

    def __call__(self, x):
        return int(np.linalg.norm(np.asarray(x, dtype=np.float64) - self.centre) <= self.radius)

    def __repr__(self):
        return f"label(x) = [||x - c|| <= {self.radius:g}]"


def _bb_cases_from(seed: int) -> list[Case]:
    gen = np.random.default_rng(seed)
    lin = _Linear(gen.normal(size=4), 0.3)
    a, c = gen.normal(size=4), gen.normal(size=4)
    neg, pos = (a, c) if lin(a) == 0 else (c, a)
    if lin(neg) == lin(pos):  # make sure the ends are on opposite sides
        pos = neg + 10 * lin.w * (1 if lin(neg) == 0 else -1)
        neg, pos = (neg, pos) if lin(neg) == 0 else (pos, neg)
    # the boundary x_0 = 0.75 between -1 and 1: the 2nd midpoint (0.5) is labelled 0, and
    # the 3rd (0.75) lies exactly on it, labelled 1
    exact = _Linear([1.0, 0.0], -0.75)
    scales = np.array([0.01, 1.0, 500.0])
    raw = _Linear(np.array([40.0, -1.0, 0.004]), -0.5)
    ball = _Ball([0.0, 0.0], 1.0)
    return [
        Case((lin, neg, pos, 10), label=f"4 features, 10 steps (seed {seed})"),
        Case((exact, np.array([-1.0, 2.0]), np.array([1.0, 2.0]), 3),
             label="a midpoint exactly on the boundary (labelled 1)"),
        Case((lin, neg, pos, 1), label="one step"),
        Case((lin, neg, pos, 0), label="steps = 0: the ends as given"),
        Case((raw, -scales, scales * 3, 25), label="features on very different scales, 25 "
                                                   "steps"),
        Case((ball, np.array([3.0, 0.5]), np.array([0.0, 0.2]), 7),
             label="the positive end second and the boundary curved (a ball)"),
        Case((lin, neg, np.r_[pos, 0.0], 5), label="ends of different lengths",
             raises=ValueError),
    ]


def _bb_cases() -> list[Case]:
    return _bb_cases_from(4)


def _bb_hidden_cases() -> list[Case]:
    return _bb_cases_from(44)


def _bb_validate(got, case: Case) -> str | None:
    if not isinstance(got, tuple | list) or len(got) != 2:
        return f"return the bracket as a pair (lo, hi), got {type(got).__name__}"
    label, x_neg = case.args[0], case.args[1]
    for name, part in zip(("lo", "hi"), got, strict=True):
        if not isinstance(part, np.ndarray) or part.shape != np.shape(x_neg):
            return (f"{name} must be a NumPy array of shape {np.shape(x_neg)}, like the ends, "
                    f"got {type(part).__name__} of shape {getattr(part, 'shape', None)}")
        if part.dtype.kind != "f":
            return f"{name} must hold floats, got dtype {part.dtype}"
    if label(got[0]) != 0 or label(got[1]) != 1:
        return ("lo must be labelled 0 and hi labelled 1 (got labels "
                f"{label(got[0])} and {label(got[1])}): the bracket must keep the boundary "
                "between its ends")
    return None


def _bb_compare(got, expected) -> bool:
    return all(np.allclose(np.asarray(g, dtype=np.float64), e, rtol=1e-9, atol=1e-12)
               for g, e in zip(got, expected, strict=True))


LINE_SEARCH = Exercise(
    name="boundary_bracket",
    reference=boundary_bracket,
    cases=_bb_cases,
    hidden_cases=_bb_hidden_cases,
    validate=_bb_validate,
    compare=_bb_compare,
    conceal=[_medical.boundary_bracket, _medical.line_search_attack],
    mistakes=[
        Mistake("the wrong end moved", _bb_wrong_end,
                "the midpoint replaces the end whose label it SHARES: label 1 moves hi, "
                "label 0 moves lo"),
        Mistake("one step too many", _bb_one_more,
                "make exactly `steps` queries: one midpoint per step, no extra one"),
        Mistake("one step too few", _bb_one_fewer,
                "make exactly `steps` queries: `for _ in range(steps)`"),
        Mistake("(hi, lo) returned", _bb_swapped,
                "return (lo, hi): the end labelled 0 first"),
    ],
    hint="lo, hi = copies of x_neg, x_pos; for _ in range(steps): mid = (lo + hi) / 2; if "
         "label(mid) == 1: hi = mid, else: lo = mid; return lo, hi",
)


# --- the challenge: a model behind an API that rounds to 1 decimal ------------------------------

#: The fidelity the student's copy must reach on every case of the challenge.
CHALLENGE_TARGET = 0.998
#: The queries the challenge's API answers.
CHALLENGE_BUDGET = 300
_CHALLENGE_D = 10
_GRADE_N = 4000

# The grading points and the victim's labels on them, per API: kept here for the grader (and
# the lab's own measurement) rather than on the API object the student receives.
_TRUTH: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class RoundedAPI:
    """The challenge's prediction API: ``api(X) -> (n, 2)`` probabilities rounded to 1
    decimal, at most ``max_queries`` rows in all (then :class:`QueryBudgetExceeded`).
    ``queries`` says how many are spent. Nothing else is exposed; Python cannot truly hide an
    object's insides, so digging for them is against the rules, not an attack.

    Introduced in lab 04 (Model theft).
    """

    __slots__ = ("__api", "__weakref__")

    def __init__(self, api: PredictionAPI):
        self.__api = api

    def __call__(self, X):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != _CHALLENGE_D:
            raise ValueError(f"the API takes an (n, {_CHALLENGE_D}) array of inputs, got shape "
                             f"{X.shape}")
        return self.__api(X)

    @property
    def queries(self) -> int:
        """The queries spent so far."""
        return self.__api.queries

    @property
    def max_queries(self) -> int:
        """The queries this API answers in all."""
        return self.__api.max_queries

    def __repr__(self):
        return (f"RoundedAPI(probabilities rounded to 1 decimal; {self.queries} of "
                f"{self.max_queries} queries spent)")

    def __deepcopy__(self, memo):
        # a copy is the same service with its own query count (the check calls the student's
        # thief and the reference on copies, each with the whole budget)
        twin = RoundedAPI(copy.deepcopy(self.__api, memo))
        if self in _TRUTH:
            _TRUTH[twin] = _TRUTH[self]
        return twin

    def __eq__(self, other):  # the same service: the same victim and grading points
        return isinstance(other, RoundedAPI) and (
            other is self or (self in _TRUTH and _TRUTH.get(other) is _TRUTH[self]))

    __hash__ = object.__hash__


def _victim_proba(w, b, X):
    p = _sigmoid(np.asarray(X, dtype=np.float64) @ w + b)
    return np.column_stack([1 - p, p])


def rounded_api(*, seed: int = 0, n_public: int = 200):
    """The challenge's target: ``(api, X_public)``.

    A vendor's logistic model on 10 features measured in very different units (scales from
    0.01 to 1,000), behind a :class:`RoundedAPI` that answers its probabilities rounded to 1
    decimal ("rounded scores cannot be inverted") and at most :data:`CHALLENGE_BUDGET`
    queries. ``X_public`` holds ``n_public`` unlabelled inputs of the kind the model sees.
    The points the grader measures fidelity on are kept apart: :func:`challenge_fidelity`.

    Introduced in lab 04 (Model theft).
    """
    from functools import partial

    gen = np.random.default_rng(seed)
    scales = 10.0 ** gen.uniform(-2, 3, size=_CHALLENGE_D)
    centre = gen.normal(size=_CHALLENGE_D) * scales
    direction = gen.normal(size=_CHALLENGE_D)
    w = 2.5 * direction / np.linalg.norm(direction) / scales
    b = float(-(centre @ w) + gen.normal() * 0.5)

    def draw(n):
        return centre + gen.normal(size=(n, _CHALLENGE_D)) * scales

    X_public, X_grade = draw(n_public), draw(_GRADE_N)
    inner = PredictionAPI(partial(_victim_proba, w, b), output="rounded", decimals=1,
                          max_queries=CHALLENGE_BUDGET)
    api = RoundedAPI(inner)
    _TRUTH[api] = (X_grade, (X_grade @ w + b >= 0).astype(np.int64))
    return api, X_public


def challenge_fidelity(api, w, b) -> float:
    """The share of the grading points (drawn like ``X_public``, never shown) on which the
    linear copy ``(w, b)`` gives the victim's label: for grading and measuring, never an input
    to the thief.

    Introduced in lab 04 (Model theft).
    """
    if not isinstance(api, RoundedAPI) or api not in _TRUTH:
        raise ArgumentTypeError("api must be an API returned by rounded_api()")
    X_grade, y_grade = _TRUTH[api]
    w = np.asarray(w, dtype=np.float64)
    return float(np.mean((X_grade @ w + float(b) >= 0).astype(np.int64) == y_grade))


def steal_rounded_model(api, X_public):
    """The reference thief: ``(w, b)`` of a linear copy of the model behind ``api``.

    Rounding to 1 decimal hides a probability, but not where the rounded answer changes:
    along a segment the answer steps from ``r`` to ``r + 0.1`` exactly where ``p = r +
    0.05``, so a line search for that step finds a point ``x`` with the exact equation
    ``w @ x + b = logit(r + 0.05)``. The thief asks about 40 public inputs, then runs 16
    line searches of 14 queries between inputs whose answers differ (264 queries), and solves
    the equations by least squares.

    Introduced in lab 04 (Model theft).
    """
    X = np.asarray(X_public, dtype=np.float64)
    probe = X[:40]
    r = np.round(np.asarray(api(probe))[:, 1], 1)
    order = np.argsort(r, kind="stable")
    rows, targets = [], []
    k = 0
    while len(rows) < 16 and k < len(order) * 4:
        i, j = order[k % len(order)], order[-1 - (k * 7) % len(order)]
        k += 1
        if r[i] >= r[j]:
            continue
        lo, hi, level = X[i].copy(), X[j].copy(), r[i]
        for _ in range(14):
            mid = (lo + hi) / 2
            if round(float(api(mid[None, :])[0, 1]), 1) > level:
                hi = mid
            else:
                lo = mid
        rows.append((lo + hi) / 2)
        targets.append(math.log((level + 0.05) / (0.95 - level)))
    A = np.column_stack([np.array(rows), np.ones(len(rows))])
    scale = np.abs(A).max(axis=0)  # the columns' units differ by 1e5: solve on scaled columns
    theta = np.linalg.lstsq(A / scale, np.array(targets), rcond=None)[0] / scale
    return theta[:-1], float(theta[-1])


def _challenge_cases() -> list[Case]:
    return [Case(rounded_api(seed=s), label=f"a model behind a rounding API (seed {s})")
            for s in (0, 1)]


def _challenge_hidden_cases() -> list[Case]:
    return [Case(rounded_api(seed=s), label=f"a fresh model and inputs (seed {s})")
            for s in (101, 202)]


def _challenge_validate(got, case: Case) -> str | None:
    if not isinstance(got, tuple | list) or len(got) != 2:
        return f"return the copy as a pair (w, b), got {type(got).__name__}"
    w, b = got
    if not isinstance(w, np.ndarray) or w.shape != (_CHALLENGE_D,) or w.dtype.kind not in "fi":
        return (f"w must be a NumPy array of {_CHALLENGE_D} numbers, got {type(w).__name__} "
                f"of shape {getattr(w, 'shape', None)}")
    if not _real_number(b):
        return f"b must be one number, got {type(b).__name__}"
    if not (np.isfinite(w).all() and math.isfinite(float(b))):
        return "w and b must be finite"
    fid = challenge_fidelity(case.args[0], w, b)
    if fid < CHALLENGE_TARGET:
        return (f"your copy agrees with the model on {fid:.3f} of the grading inputs, below "
                f"the target {CHALLENGE_TARGET}: rounding hides the probability, but not "
                "where the rounded answer changes")
    return None


CHALLENGE = Exercise(
    name="steal_rounded_model",
    reference=steal_rounded_model,
    cases=_challenge_cases,
    hidden_cases=_challenge_hidden_cases,
    validate=_challenge_validate,
    compare=lambda got, expected: True,  # graded by the fidelity the copy reaches (validate)
    hint="where does a rounded answer step from 0.3 to 0.4? Exactly where p = 0.35: a line "
         "search between two inputs with different answers finds such points, and each is "
         "an exact equation w @ x + b = logit(0.35)",
    time_limit=30.0,
)


#: This file's exercises, in the order the lab asks them.


#: Every exercise of this lab, in the order the lab asks them (the tests run each one).
EXERCISES: tuple[Exercise, ...] = (LABELS_ONLY, OVERLAP_AT_K, EQUATION_SOLVING, LINE_SEARCH,
                                   CHALLENGE)

__all__ = [
    "CHALLENGE",
    "CHALLENGE_BUDGET",
    "CHALLENGE_TARGET",
    "EQUATION_SOLVING",
    "EXERCISES",
    "LABELS_ONLY",
    "LINE_SEARCH",
    "OVERLAP_AT_K",
    "RoundedAPI",
    "boundary_bracket",
    "challenge_fidelity",
    "labels_only",
    "overlap_at_k",
    "rounded_api",
    "solve_logistic",
    "steal_rounded_model",
]
