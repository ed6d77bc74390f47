"""Exercises of lab 07 (Bias and fairness).

Each exercise's cases test every rule its statement in the lab states (named in each case's
label); ``hidden_cases`` test the same rules on other inputs, for :func:`exercises.grade`.
"""

from __future__ import annotations

import math
import numbers
import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import fairness
from ..exercises import Case, Exercise, Mistake

# --- exercise 1: parity and equalised-odds gaps from confusion tables -------------------------


def fairness_gaps(table: pd.DataFrame) -> tuple[float, float]:
    """The demographic-parity difference and the equalised-odds difference of a classifier,
    from its confusion table per group: ``table`` has one row per group and the columns
    ``tp``, ``fp``, ``fn``, ``tn`` (counts). A group's selection rate is ``(tp + fp) / n``,
    its true-positive rate ``tp / (tp + fn)``, its false-positive rate ``fp / (fp + tn)``.
    Demographic-parity difference: the largest minus the smallest selection rate across
    groups; equalised-odds difference: the larger of the TPR spread and the FPR spread (the
    definitions of fairlearn). Returns the two as floats. A table with fewer than two groups,
    or a negative count, is bad input: raise ``ValueError``.

    Introduced in lab 07 (Bias and fairness).
    """
    t = table[["tp", "fp", "fn", "tn"]].to_numpy(dtype=float)
    if len(t) < 2 or (t < 0).any():
        raise ValueError("need at least two groups and non-negative counts")
    tp, fp, fn, tn = t.T
    sel = (tp + fp) / t.sum(axis=1)
    tpr, fpr = tp / (tp + fn), fp / (fp + tn)
    return (float(sel.max() - sel.min()),
            float(max(tpr.max() - tpr.min(), fpr.max() - fpr.min())))


def _fg_parts(table):
    t = table[["tp", "fp", "fn", "tn"]].to_numpy(dtype=float)
    tp, fp, fn, tn = t.T
    return (tp + fp) / t.sum(1), tp / (tp + fn), fp / (fp + tn), t


def _fg_tpr_only(table):  # equal opportunity taken for equalised odds
    sel, tpr, fpr, _ = _fg_parts(table)
    return float(sel.max() - sel.min()), float(tpr.max() - tpr.min())


def _fg_sum(table):  # the two spreads added
    sel, tpr, fpr, _ = _fg_parts(table)
    return float(sel.max() - sel.min()), float(tpr.max() - tpr.min() + fpr.max() - fpr.min())


def _fg_positive_rate(table):  # the base rate (tp + fn) / n taken for the selection rate
    sel, tpr, fpr, t = _fg_parts(table)
    base = (t[:, 0] + t[:, 2]) / t.sum(1)
    return float(base.max() - base.min()), float(max(tpr.max() - tpr.min(),
                                                     fpr.max() - fpr.min()))


def _fg_ratio(table):  # ratios (min / max) instead of differences
    sel, tpr, fpr, _ = _fg_parts(table)
    return float(sel.min() / sel.max()), float(min(tpr.min() / tpr.max(),
                                                    fpr.min() / fpr.max()))


def _fg_first_two(table):  # only the first two groups compared
    sel, tpr, fpr, _ = _fg_parts(table)
    return float(abs(sel[0] - sel[1])), float(max(abs(tpr[0] - tpr[1]), abs(fpr[0] - fpr[1])))


def _fg_fpr_wrong(table):  # FPR as fp / (fp + tp)
    sel, tpr, _, t = _fg_parts(table)
    fdr = t[:, 1] / (t[:, 1] + t[:, 0])
    return float(sel.max() - sel.min()), float(max(tpr.max() - tpr.min(),
                                                   fdr.max() - fdr.min()))


def _table(rows, index=None):
    return pd.DataFrame(rows, columns=["tp", "fp", "fn", "tn"], index=index)


def _fg_cases() -> list[Case]:
    return [
        Case((_table([[40, 10, 10, 40], [20, 5, 20, 55]], ["men", "women"]),),
             label="two groups: selection 0.50 against 0.25"),
        Case((_table([[30, 30, 10, 30], [30, 5, 10, 55]], ["a", "b"]),),
             label="equal TPRs, different FPRs: the FPR spread decides"),
        Case((_table([[45, 5, 5, 45], [25, 5, 25, 45]], ["a", "b"]),),
             label="different TPRs, equal FPRs: the TPR spread decides"),
        Case((_table([[10, 2, 5, 83], [30, 20, 10, 40], [5, 1, 1, 13]], ["x", "y", "z"]),),
             label="three groups of different sizes: largest minus smallest"),
        Case((_table([[40, 10, 10, 40]], ["only"]),), label="one group is bad input",
             raises=ValueError),
        Case((_table([[40, -1, 10, 40], [20, 5, 20, 55]], ["a", "b"]),),
             label="a negative count is bad input", raises=ValueError),
    ]


def _fg_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(707)
    counts = gen.integers(5, 200, size=(5, 4))
    return [
        Case((_table(counts, list("abcde")),), label="five groups of random counts"),
        Case((_table([[50, 0, 0, 50], [50, 0, 0, 50]], ["a", "b"]),), label="a perfect model"),
        Case((_table([[20, 40, 20, 20], [20, 2, 20, 158]], ["a", "b"]),),
             label="equal TPRs, very different FPRs and group sizes"),
        Case((_table([[1, 1, 1, 1]], ["a"]),), label="one group is bad input", raises=ValueError),
    ]


def _fg_validate(got, case: Case) -> str | None:
    if not isinstance(got, tuple | list) or len(got) != 2:
        return f"return the two gaps as a pair (parity, odds), got {type(got).__name__}"
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in got):
        return "both gaps must be numbers"
    if not all(math.isfinite(float(v)) for v in got):
        return "both gaps must be finite"
    return None


FAIRNESS_GAPS = Exercise(
    name="fairness_gaps",
    reference=fairness_gaps,
    cases=_fg_cases,
    hidden_cases=_fg_hidden_cases,
    validate=_fg_validate,
    conceal=[fairness.disparity, fairness.group_metrics],
    mistakes=[
        Mistake("equal opportunity (TPR only) taken for equalised odds", _fg_tpr_only,
                "equalised odds asks for equal TPRs and equal FPRs: the larger spread"),
        Mistake("the TPR and FPR spreads added", _fg_sum,
                "fairlearn's equalised-odds difference is the larger of the two spreads"),
        Mistake("the base rate taken for the selection rate", _fg_positive_rate,
                "the selection rate counts what the model flags: (tp + fp) / n"),
        Mistake("ratios instead of differences", _fg_ratio,
                "a difference: the largest rate minus the smallest"),
        Mistake("only the first two groups compared", _fg_first_two,
                "compare all groups: max minus min over the rows"),
        Mistake("FPR as fp / (fp + tp)", _fg_fpr_wrong,
                "the false-positive rate is over the true negatives: fp / (fp + tn)"),
    ],
    hint="tp, fp, fn, tn = table[[...]].to_numpy(float).T; sel = (tp + fp) / n; "
         "then max - min of sel, and the larger of the TPR and FPR spreads",
)

# --- exercise: reweighing (Kamiran and Calders) -------------------------------------------------


def reweighing_weights(y, groups) -> np.ndarray:
    """Kamiran and Calders' reweighing (2012): each training row of label ``y`` and group
    ``g`` gets the weight ``P(g) * P(y) / P(g, y)``, with the probabilities estimated as
    shares of the rows: the weight that makes label and group independent in the weighted
    data. Returns an (n,) float array. Labels and groups of different lengths, or no rows, is
    bad input: raise ``ValueError``.

    Introduced in lab 07 (Bias and fairness).
    """
    y, g = np.asarray(y), np.asarray(groups)
    if len(y) == 0 or y.shape != g.shape or y.ndim != 1:
        raise ValueError("y and groups must be 1-D, non-empty and of the same length")
    w = np.empty(len(y), dtype=float)
    for gv in np.unique(g):
        for yv in np.unique(y):
            cell = (g == gv) & (y == yv)
            if cell.any():
                w[cell] = (g == gv).mean() * (y == yv).mean() / cell.mean()
    return w


def _rw_inverse(y, groups):  # P(g, y) / (P(g) P(y))
    return 1.0 / reweighing_weights(y, groups)


def _rw_group_only(y, groups):  # balances the groups, not label within group
    y, g = np.asarray(y), np.asarray(groups)
    w = np.empty(len(y))
    for gv in np.unique(g):
        w[g == gv] = 1.0 / (len(np.unique(g)) * (g == gv).mean())
    return w


def _rw_normalised(y, groups):  # rescaled to sum to 1
    w = reweighing_weights(y, groups)
    return w / w.sum()


def _rw_within_group(y, groups):  # 1 / P(y | g): labels balanced within each group
    y, g = np.asarray(y), np.asarray(groups)
    w = np.empty(len(y))
    for gv in np.unique(g):
        for yv in np.unique(y):
            cell = (g == gv) & (y == yv)
            if cell.any():
                w[cell] = 1.0 / cell[g == gv].mean()
    return w


def _rw_counts(y, groups):  # counts instead of shares: n_g * n_y / n_gy
    y, g = np.asarray(y), np.asarray(groups)
    w = np.empty(len(y))
    for gv in np.unique(g):
        for yv in np.unique(y):
            cell = (g == gv) & (y == yv)
            if cell.any():
                w[cell] = (g == gv).sum() * (y == yv).sum() / cell.sum()
    return w


def _rw_cases() -> list[Case]:
    return [
        Case((np.array([1, 1, 1, 0, 1, 0, 0, 0]), np.array(list("aaaabbbb"))),
             label="group a mostly positive, group b mostly negative"),
        Case((np.array([1, 0, 1, 0]), np.array(list("aabb"))),
             label="already independent: every weight is 1"),
        Case((np.array([1, 1, 0, 0, 0, 0, 1, 0, 0, 0]), np.array(list("aaaaaabbbb"))),
             label="groups of different sizes"),
        Case((np.array([0, 1, 2, 2, 1, 0, 2, 2, 2]), np.array(list("xxxyyyzzz"))),
             label="three labels, three groups"),
        Case((np.array([1, 0]), np.array(list("abc"))), label="lengths differ: bad input",
             raises=ValueError),
    ]


def _rw_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(7070)
    g = gen.choice(["f", "m"], size=300, p=[0.3, 0.7])
    y = (gen.random(300) < np.where(g == "f", 0.2, 0.4)).astype(int)
    return [
        Case((y, g), label="300 rows, base rates 20% against 40%"),
        Case((np.array([1, 1, 0]), np.array(list("aab"))),
             label="a group with one label only"),
        Case((np.array([]), np.array([])), label="no rows is bad input", raises=ValueError),
    ]


def _rw_validate(got, case: Case) -> str | None:
    n = len(case.args[0])
    if not isinstance(got, np.ndarray):
        return f"return a NumPy array of weights, got {type(got).__name__}"
    if got.shape != (n,):
        return f"return one weight per row, shape ({n},), got {got.shape}"
    if got.dtype.kind != "f" or not np.isfinite(got).all() or (got <= 0).any():
        return "weights must be positive finite floats"
    return None


REWEIGHING = Exercise(
    name="reweighing_weights",
    reference=reweighing_weights,
    cases=_rw_cases,
    hidden_cases=_rw_hidden_cases,
    validate=_rw_validate,
    mistakes=[
        Mistake("the inverse weight P(g, y) / (P(g) P(y))", _rw_inverse,
                "up-weight the combinations that are rarer than independence predicts: "
                "expected over observed"),
        Mistake("the groups balanced, not label and group", _rw_group_only,
                "the weight depends on the row's group AND label: P(g) P(y) / P(g, y)"),
        Mistake("weights rescaled to sum to 1", _rw_normalised,
                "no rescaling: with these weights the total weight stays n"),
        Mistake("1 / P(y | g): labels balanced within each group", _rw_within_group,
                "the target is independence at the overall label rate: multiply by P(y), and "
                "P(g) * P(y) / P(g, y) = P(y) / P(y | g)"),
        Mistake("counts instead of shares", _rw_counts,
                "estimate each probability as a share of all n rows"),
    ],
    hint="for each (group, label) cell: w = P(g) * P(y) / P(g, y), each a mean of a boolean "
         "mask over all rows",
)

# --- exercise: long-tail exposure -----------------------------------------------------------


def tail_slot_share(lists, tail_items) -> float:
    """The share of recommendation slots that show a long-tail item: ``lists`` is an
    (n_users, k) integer array of recommended item ids (best first; ``-1`` marks an empty
    slot, which counts neither way); ``tail_items`` holds the ids of the long-tail items. A
    float in [0, 1]. No filled slot at all is bad input: raise ``ValueError``.

    Introduced in lab 07 (Bias and fairness).
    """
    lists = np.asarray(lists)
    filled = lists[lists >= 0]
    if lists.ndim != 2 or filled.size == 0:
        raise ValueError("lists must be a 2-D array with at least one filled slot")
    return float(np.isin(filled, np.asarray(tail_items)).mean())


def _lt_users(lists, tail_items):  # share of users shown at least one tail item
    lists = np.asarray(lists)
    return float(np.mean([np.isin(r[r >= 0], tail_items).any() for r in lists]))


def _lt_with_empty(lists, tail_items):  # empty slots in the denominator
    lists = np.asarray(lists)
    return float(np.isin(lists, tail_items).sum() / lists.size)


def _lt_coverage(lists, tail_items):  # distinct tail items shown / tail size
    lists = np.asarray(lists)
    return float(len(np.intersect1d(lists[lists >= 0], tail_items)) / len(np.unique(tail_items)))


def _lt_head(lists, tail_items):  # the share of head items
    lists = np.asarray(lists)
    filled = lists[lists >= 0]
    return float(1 - np.isin(filled, tail_items).mean()) if filled.size else 0.0


def _lt_top1(lists, tail_items):  # only the first slot of each list
    lists = np.asarray(lists)
    first = lists[:, 0]
    first = first[first >= 0]
    return float(np.isin(first, tail_items).mean()) if first.size else 0.0


def _lt_cases() -> list[Case]:
    return [
        Case((np.array([[1, 2, 9], [3, 9, 8]]), np.array([8, 9])),
             label="3 of 6 slots show tail items 8 and 9"),
        Case((np.array([[9, 1, -1], [2, 3, -1]]), np.array([9])),
             label="empty slots (-1) count neither way: 1 of 4"),
        Case((np.array([[9, 9], [1, 2], [3, 4]]), np.array([9, 10, 11])),
             label="the same tail item twice counts twice"),
        Case((np.array([[5, 9, 8, 7]]), np.array([9])),
             label="a tail item below the first slot counts"),
        Case((np.array([[-1, -1]]), np.array([1])), label="no filled slot is bad input",
             raises=ValueError),
    ]


def _lt_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(7007)
    lists = gen.integers(0, 100, size=(50, 10))
    lists[::7, 8:] = -1
    return [
        Case((lists, np.arange(20, 100)), label="50 users, some short lists, a tail of 80"),
        Case((np.array([[1, 2]]), np.array([], dtype=int)), label="an empty tail: exposure 0"),
        Case((np.array([[1, 2], [-1, -1]]), np.array([2])),
             label="a user with no recommendation"),
        Case((np.full((3, 4), -1), np.array([2])), label="only empty slots is bad input",
             raises=ValueError),
    ]


def _lt_validate(got, case: Case) -> str | None:
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        return f"return one number, got {type(got).__name__}"
    if not 0.0 <= float(got) <= 1.0:
        return f"a share lies in [0, 1], got {got}"
    return None


LONG_TAIL_EXPOSURE = Exercise(
    name="tail_slot_share",
    reference=tail_slot_share,
    cases=_lt_cases,
    hidden_cases=_lt_hidden_cases,
    validate=_lt_validate,
    conceal=[fairness.long_tail_exposure],
    mistakes=[
        Mistake("the share of users shown a tail item", _lt_users,
                "count slots, not users: every filled slot is one unit of exposure"),
        Mistake("empty slots counted in the denominator", _lt_with_empty,
                "-1 marks an empty slot: leave it out of both counts"),
        Mistake("catalogue coverage of the tail", _lt_coverage,
                "exposure is the share of slots, not the share of tail items ever shown"),
        Mistake("the head's share", _lt_head, "count the slots that show a TAIL item"),
        Mistake("only the first slot of each list", _lt_top1, "count every slot of the lists"),
    ],
    hint="filled = lists[lists >= 0]; np.isin(filled, tail_items).mean()",
)

# --- exercise: the same flag rate in every group -----------------------------------------------


def group_rate_decisions(scores, groups, rate: float) -> np.ndarray:
    """Flag the same share ``rate`` of every group: for each group of ``n_g`` rows, flag the
    ``k_g = floor(rate * n_g + 0.5)`` rows with the highest ``scores`` (ties: the earlier row
    first). Returns an (n,) int array of 0 and 1. A ``rate`` outside [0, 1], or scores and
    groups of different lengths, is bad input: raise ``ValueError``.

    Introduced in lab 07 (Bias and fairness).
    """
    s, g = np.asarray(scores, dtype=float), np.asarray(groups)
    if s.ndim != 1 or s.shape != g.shape or not 0.0 <= float(rate) <= 1.0:
        raise ValueError("scores and groups must be 1-D of one length, rate in [0, 1]")
    out = np.zeros(len(s), dtype=np.int64)
    for v in np.unique(g):
        rows = np.flatnonzero(g == v)
        k = int(np.floor(rate * len(rows) + 0.5))
        out[rows[np.argsort(-s[rows], kind="stable")[:k]]] = 1
    return out


def _gr_global(scores, groups, rate):  # one threshold for everyone
    s = np.asarray(scores, dtype=float)
    out = np.zeros(len(s), dtype=np.int64)
    out[np.argsort(-s, kind="stable")[:int(np.floor(rate * len(s) + 0.5))]] = 1
    return out


def _gr_floor(scores, groups, rate):  # k rounded down
    s, g = np.asarray(scores, dtype=float), np.asarray(groups)
    out = np.zeros(len(s), dtype=np.int64)
    for v in np.unique(g):
        rows = np.flatnonzero(g == v)
        out[rows[np.argsort(-s[rows], kind="stable")[:int(rate * len(rows))]]] = 1
    return out


def _gr_later_tie(scores, groups, rate):  # ties: the later row first
    s, g = np.asarray(scores, dtype=float), np.asarray(groups)
    out = np.zeros(len(s), dtype=np.int64)
    for v in np.unique(g):
        rows = np.flatnonzero(g == v)[::-1]
        k = int(np.floor(rate * len(rows) + 0.5))
        out[rows[np.argsort(-s[rows], kind="stable")[:k]]] = 1
    return out


def _gr_lowest(scores, groups, rate):  # the lowest scores flagged
    return group_rate_decisions(-np.asarray(scores, dtype=float), groups, rate)


def _gr_total_n(scores, groups, rate):  # k from the whole population, in every group
    s, g = np.asarray(scores, dtype=float), np.asarray(groups)
    out = np.zeros(len(s), dtype=np.int64)
    k = int(np.floor(rate * len(s) + 0.5))
    for v in np.unique(g):
        rows = np.flatnonzero(g == v)
        out[rows[np.argsort(-s[rows], kind="stable")[:k]]] = 1
    return out


def _gr_quantile(scores, groups, rate):  # a quantile threshold: ties all flagged
    s, g = np.asarray(scores, dtype=float), np.asarray(groups)
    out = np.zeros(len(s), dtype=np.int64)
    for v in np.unique(g):
        mine = g == v
        out[mine & (s >= np.quantile(s[mine], 1 - rate))] = 1
    return out


def _gr_cases() -> list[Case]:
    return [
        Case((np.array([0.9, 0.1, 0.8, 0.2, 0.7, 0.3]), np.array(list("aabbab")), 0.5),
             label="two groups of three: the top 2 (rounded from 1.5) of each"),
        Case((np.array([0.5, 0.4, 0.3, 0.2, 0.9, 0.8]), np.array(list("aaaabb")), 0.5),
             label="a group whose scores are all higher gets the same rate, not more"),
        Case((np.array([0.5, 0.5, 0.5, 0.1]), np.array(list("aaaa")), 0.5),
             label="tied scores: the earlier rows first"),
        Case((np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]), np.array(list("xxxxxxyy")),
              0.25), label="groups of 6 and 2: floor(1.5 + 0.5) = 2 and floor(0.5 + 0.5) = 1"),
        Case((np.linspace(0.9, 0.1, 7), np.array(list("ppppppp")), 0.2),
             label="k = floor(1.4 + 0.5) = 1, not 2"),
        Case((np.full(10, 0.5), np.array(list("tttttttttt")), 0.3),
             label="ten tied scores: the first three rows"),
        Case((np.array([0.3, 0.6]), np.array(list("ab")), 0.0), label="rate 0 flags nobody"),
        Case((np.array([0.3, 0.6]), np.array(list("ab")), 1.5), label="a rate above 1 is bad "
             "input", raises=ValueError),
        Case((np.array([0.3, 0.6]), np.array(list("abc")), 0.5),
             label="lengths differ: bad input", raises=ValueError),
    ]


def _gr_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(7171)
    scores = np.round(gen.random(400), 2)  # rounding makes ties
    groups = gen.choice(["f", "m", "x"], size=400, p=[0.45, 0.45, 0.1])
    return [
        Case((scores, groups, 0.15), label="400 rows, three groups, tied scores"),
        Case((np.array([0.2, 0.9]), np.array(list("ab")), 1.0), label="rate 1 flags everyone"),
        Case((np.linspace(1, 0, 20), np.array(list("ab" * 10)), 0.25),
             label="2.5 rounds up to 3 in each group of 10"),
        Case((np.r_[np.full(12, 0.4), 0.9], np.array(list("c" * 13)), 0.4),
             label="twelve ties below one clear top"),
        Case((np.array([0.2, 0.9]), np.array(list("ab")), -0.1),
             label="a negative rate is bad input", raises=ValueError),
    ]


def _gr_validate(got, case: Case) -> str | None:
    n = len(case.args[0])
    if not isinstance(got, np.ndarray):
        return f"return a NumPy array of 0/1 decisions, got {type(got).__name__}"
    if got.shape != (n,):
        return f"return one decision per row, shape ({n},), got {got.shape}"
    if got.dtype.kind not in "iu" or not np.isin(got, (0, 1)).all():
        return "return integer decisions, 0 or 1"
    return None


GROUP_RATES = Exercise(
    name="group_rate_decisions",
    reference=group_rate_decisions,
    cases=_gr_cases,
    hidden_cases=_gr_hidden_cases,
    validate=_gr_validate,
    mistakes=[
        Mistake("one threshold for everyone", _gr_global,
                "choose the top rows of each group separately"),
        Mistake("k rounded down", _gr_floor, "k = floor(rate * n_g + 0.5): halves round up"),
        Mistake("ties sent to the later row", _gr_later_tie,
                "np.argsort(-scores, kind='stable') keeps the earlier of tied rows first"),
        Mistake("the lowest scores flagged", _gr_lowest, "flag the HIGHEST scores"),
        Mistake("k counted from the whole population", _gr_total_n,
                "each group's k comes from its own size n_g"),
        Mistake("a quantile threshold (every tie at the threshold flagged)", _gr_quantile,
                "flag exactly k_g rows: sort and take the first k_g, not a threshold"),
    ],
    hint="for each group: rows = np.flatnonzero(groups == g); "
         "order = rows[np.argsort(-scores[rows], kind='stable')]; flag order[:k]",
)


# --- the challenge: fair lending decisions on applicants you have not seen ---------------------

#: The largest demographic-parity gap the challenge accepts (pooled over its splits).
CHALLENGE_PARITY = 0.05
#: The balanced accuracy the challenge's decisions must reach (pooled over its splits).
CHALLENGE_BALANCED_ACCURACY = 0.65
_N_SPLITS = 5
_TRUTH: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class LendingSplit:
    """One split of the challenge: the lender's past decisions to learn from (``X_train``,
    ``y_train``: 1 = denied, ``group_train``: 1 = black applicant) and new applicants to
    decide on (``X_new``, ``group_new``; their true outcomes are kept by the grader).

    Introduced in lab 07 (Bias and fairness).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    group_train: np.ndarray
    X_new: np.ndarray
    group_new: np.ndarray


class LendingTask:
    """The challenge's splits: iterate over it (or index it) for its :class:`LendingSplit`
    objects. The outcomes of the new applicants are kept apart, for :func:`challenge_scores`
    only.

    Introduced in lab 07 (Bias and fairness).
    """

    __slots__ = ("__weakref__", "splits")

    def __init__(self, splits):
        self.splits = tuple(splits)

    def __iter__(self):
        return iter(self.splits)

    def __len__(self):
        return len(self.splits)

    def __getitem__(self, k):
        return self.splits[k]

    def __repr__(self):
        return f"LendingTask({len(self.splits)} splits of HMDA)"

    def __deepcopy__(self, memo):
        return self  # read-only arrays inside: the check may hand the same task twice


def lending_task(*, seed: int = 0) -> LendingTask:
    """:data:`_N_SPLITS` random 75/25 splits of HMDA (split seeds ``seed * 100 + k``), each a
    :class:`LendingSplit`, as a :class:`LendingTask`.

    Introduced in lab 07 (Bias and fairness).
    """
    from ..data import load_dataset

    splits, truth = [], []
    for k in range(_N_SPLITS):
        d = load_dataset("hmda", seed=seed * 100 + k)
        arrays = [np.array(a) for a in (d.X_train, d.y_train,
                                         d.sensitive_train["afam"].to_numpy(), d.X_test,
                                         d.sensitive_test["afam"].to_numpy())]
        for a in arrays:
            a.setflags(write=False)
        splits.append(LendingSplit(*arrays))
        truth.append((d.y_test.copy(), arrays[4]))
    task = LendingTask(splits)
    _TRUTH[task] = truth
    return task


def challenge_scores(task, decisions) -> tuple[float, float]:
    """The demographic-parity gap and the balanced accuracy of ``decisions`` (one 0/1 array
    per split of ``task``: 1 = deny), pooled over the splits' new applicants: for grading and
    measuring, never an input to the lender.

    Introduced in lab 07 (Bias and fairness).
    """
    from sklearn.metrics import balanced_accuracy_score

    if not isinstance(task, LendingTask) or task not in _TRUTH:
        raise TypeError("task must be a task returned by lending_task()")
    y = np.concatenate([t[0] for t in _TRUTH[task]])
    g = np.concatenate([t[1] for t in _TRUTH[task]])
    d = np.concatenate([np.asarray(x).astype(np.int64) for x in decisions])
    rates = [d[g == v].mean() for v in (0, 1)]
    return float(abs(rates[0] - rates[1])), float(balanced_accuracy_score(y, d))


def fair_decisions(task) -> list:
    """The reference lender: for each split, a standardised logistic regression of the past
    decisions, then one threshold per group on its scores, set on the training applicants so
    that each group is denied at the same rate, 15% (a little above the 12% overall denial
    rate, so that the model's ranking catches more of the denials). Returns one 0/1 array per
    split.

    Introduced in lab 07 (Bias and fairness).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    out = []
    for s in task:
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        model.fit(s.X_train, s.y_train)
        train_scores = model.predict_proba(s.X_train)[:, 1]
        new_scores = model.predict_proba(s.X_new)[:, 1]
        decide = np.zeros(len(new_scores), dtype=np.int64)
        for v in np.unique(s.group_train):
            threshold = np.quantile(train_scores[s.group_train == v], 1 - 0.15)
            mine = s.group_new == v
            decide[mine] = new_scores[mine] > threshold
        out.append(decide)
    return out


def _challenge_cases() -> list[Case]:
    return [Case((lending_task(seed=s),), label=f"five HMDA splits (seed {s})") for s in (0, 1)]


def _challenge_hidden_cases() -> list[Case]:
    return [Case((lending_task(seed=s),), label=f"five other HMDA splits (seed {s})")
            for s in (101, 202)]


def _challenge_validate(got, case: Case) -> str | None:
    task = case.args[0]
    if not isinstance(got, list | tuple) or len(got) != len(task):
        return f"return one array of decisions per split ({len(task)}), got {type(got).__name__}"
    for k, (d, s) in enumerate(zip(got, task, strict=True)):
        d = np.asarray(d)
        if d.shape != (len(s.X_new),) or not np.isin(d, (0, 1)).all():
            return (f"split {k}: return one 0/1 decision per new applicant "
                    f"({len(s.X_new)}), got shape {d.shape}")
    gap, balanced = challenge_scores(task, got)
    if gap > CHALLENGE_PARITY:
        return (f"the denial rates of the two groups differ by {gap:.3f} on the new applicants "
                f"(limit {CHALLENGE_PARITY})")
    if balanced < CHALLENGE_BALANCED_ACCURACY:
        return (f"balanced accuracy {balanced:.3f} on the new applicants, below "
                f"{CHALLENGE_BALANCED_ACCURACY}: parity alone is easy (approve everyone); "
                "the challenge is to keep the denials right")
    return None


CHALLENGE = Exercise(
    name="fair_decisions",
    reference=fair_decisions,
    cases=_challenge_cases,
    hidden_cases=_challenge_hidden_cases,
    validate=_challenge_validate,
    compare=lambda got, expected: True,  # graded by the gap and the balanced accuracy
    hint="learn scores from the past decisions, then choose the threshold of each group on "
         "the training applicants so that both groups are denied at the same rate",
    time_limit=60.0,
)


#: Every exercise of this lab, in the order the lab asks them (the tests run each one).
EXERCISES: tuple[Exercise, ...] = (FAIRNESS_GAPS, LONG_TAIL_EXPOSURE, REWEIGHING, GROUP_RATES,
                                   CHALLENGE)

__all__ = [
    "CHALLENGE",
    "CHALLENGE_BALANCED_ACCURACY",
    "CHALLENGE_PARITY",
    "EXERCISES",
    "FAIRNESS_GAPS",
    "GROUP_RATES",
    "LONG_TAIL_EXPOSURE",
    "REWEIGHING",
    "LendingSplit",
    "LendingTask",
    "challenge_scores",
    "fair_decisions",
    "fairness_gaps",
    "group_rate_decisions",
    "lending_task",
    "tail_slot_share",
    "reweighing_weights",
]
