"""Lab 07's exercise checks, beyond what tests/test_exercise_checks.py runs for every exercise.

A mutant suite: for each exercise, plausible wrong answers that are NOT among its known
mistakes (the check and the grading must reject every one), and correct answers written
differently from the reference (both must accept every one).
"""

import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as fm
from mutants import assert_enough_mutants, mutant_tests

from mlsec_helpers.checks import lab07

# --- fairness_gaps ------------------------------------------------------------------------------


def _rates(table):
    t = table[["tp", "fp", "fn", "tn"]].to_numpy(dtype=float)
    if len(t) < 2 or (t < 0).any():
        raise ValueError("bad table")
    tp, fp, fn, tn = t.T
    return (tp + fp) / t.sum(1), tp / (tp + fn), fp / (fp + tn), t


def fg_accuracy_gap(table):  # accuracy spread instead of selection
    sel, tpr, fpr, t = _rates(table)
    acc = (t[:, 0] + t[:, 3]) / t.sum(1)
    return float(acc.max() - acc.min()), float(max(tpr.max() - tpr.min(), fpr.max() - fpr.min()))


def fg_swapped(table):  # the pair in the other order
    sel, tpr, fpr, _ = _rates(table)
    return float(max(tpr.max() - tpr.min(), fpr.max() - fpr.min())), float(sel.max() - sel.min())


def fg_mean_abs(table):  # mean distance from the average rate
    sel, tpr, fpr, _ = _rates(table)
    return float(np.abs(sel - sel.mean()).mean()), float(max(np.abs(tpr - tpr.mean()).mean(),
                                                              np.abs(fpr - fpr.mean()).mean()))


def fg_pooled_rates(table):  # FPR over all rows
    sel, tpr, _, t = _rates(table)
    fpr = t[:, 1] / t.sum(1)
    return float(sel.max() - sel.min()), float(max(tpr.max() - tpr.min(), fpr.max() - fpr.min()))


def fg_no_check(table):  # no error for bad input
    t = table[["tp", "fp", "fn", "tn"]].to_numpy(dtype=float)
    tp, fp, fn, tn = t.T
    sel, tpr, fpr = (tp + fp) / t.sum(1), tp / (tp + fn), fp / (fp + tn)
    return float(sel.max() - sel.min()), float(max(tpr.max() - tpr.min(), fpr.max() - fpr.min()))


def fg_min_spread(table):  # the smaller of the two spreads
    sel, tpr, fpr, _ = _rates(table)
    return float(sel.max() - sel.min()), float(min(tpr.max() - tpr.min(), fpr.max() - fpr.min()))


def fg_signed(table):  # first group minus last, signed
    sel, tpr, fpr, _ = _rates(table)
    return float(sel[0] - sel[-1]), float(max(tpr[0] - tpr[-1], fpr[0] - fpr[-1]))


def fg_squared(table):  # squared spreads
    sel, tpr, fpr, _ = _rates(table)
    return (float((sel.max() - sel.min()) ** 2),
            float(max(tpr.max() - tpr.min(), fpr.max() - fpr.min()) ** 2))


def fg_right_fairlearn(table):  # rebuild rows and ask fairlearn
    _rates(table)
    y, p, g = [], [], []
    for name, row in table.iterrows():
        for label, pred, count in ((1, 1, row.tp), (0, 1, row.fp), (1, 0, row.fn), (0, 0, row.tn)):
            y += [label] * int(count)
            p += [pred] * int(count)
            g += [name] * int(count)
    return (float(fm.demographic_parity_difference(y, p, sensitive_features=g)),
            float(fm.equalized_odds_difference(y, p, sensitive_features=g)))


def fg_right_loop(table):
    rows = [dict(r) for _, r in table[["tp", "fp", "fn", "tn"]].iterrows()]
    if len(rows) < 2 or any(v < 0 for r in rows for v in r.values()):
        raise ValueError("bad table")
    sel = [(r["tp"] + r["fp"]) / sum(r.values()) for r in rows]
    tpr = [r["tp"] / (r["tp"] + r["fn"]) for r in rows]
    fpr = [r["fp"] / (r["fp"] + r["tn"]) for r in rows]
    return max(sel) - min(sel), max(max(tpr) - min(tpr), max(fpr) - min(fpr))


def fg_right_pandas(table):
    t = table[["tp", "fp", "fn", "tn"]].astype(float)
    if len(t) < 2 or (t < 0).to_numpy().any():
        raise ValueError("bad table")
    rates = pd.DataFrame({"sel": (t.tp + t.fp) / t.sum(axis=1), "tpr": t.tp / (t.tp + t.fn),
                          "fpr": t.fp / (t.fp + t.tn)})
    spread = rates.max() - rates.min()
    return float(spread["sel"]), float(spread[["tpr", "fpr"]].max())


def fg_right_ptp(table):
    sel, tpr, fpr, _ = _rates(table)
    return float(np.ptp(sel)), float(np.max([np.ptp(tpr), np.ptp(fpr)]))


FG_WRONG = [fg_accuracy_gap, fg_swapped, fg_mean_abs, fg_pooled_rates, fg_no_check,
            fg_min_spread, fg_signed, fg_squared]
FG_RIGHT = [fg_right_fairlearn, fg_right_loop, fg_right_pandas, fg_right_ptp]

# --- reweighing ---------------------------------------------------------------------------------


def _rw_check(y, g):
    y, g = np.asarray(y), np.asarray(g)
    if len(y) == 0 or y.shape != g.shape:
        raise ValueError("bad input")
    return y, g


def rw_ones(y, groups):  # every weight 1
    y, g = _rw_check(y, groups)
    return np.ones(len(y))


def rw_prior_only(y, groups):  # 1 / P(y): balances labels overall
    y, g = _rw_check(y, groups)
    return np.array([1.0 / (y == v).mean() for v in y])


def rw_squared(y, groups):  # squared weights
    y, g = _rw_check(y, groups)
    return lab07.reweighing_weights(y, g) ** 2


def rw_no_check(y, groups):  # no error for bad input
    y, g = np.asarray(y), np.asarray(groups)
    n = min(len(y), len(g))
    return lab07.reweighing_weights(y[:n], g[:n]) if n else np.ones(0)


def rw_mean_one_per_group(y, groups):  # normalised to mean 1 within each group
    y, g = _rw_check(y, groups)
    w = lab07.reweighing_weights(y, g)
    for v in np.unique(g):
        w[g == v] /= w[g == v].mean()
    return w


def rw_swap_roles(y, groups):  # P(g | y) used for P(y | g)
    y, g = _rw_check(y, groups)
    w = np.empty(len(y))
    for gv in np.unique(g):
        for yv in np.unique(y):
            cell = (g == gv) & (y == yv)
            if cell.any():
                w[cell] = (g == gv).mean() / cell[y == yv].mean() * (y == yv).mean()
    return w


def rw_ints(y, groups):  # rounded to whole numbers
    y, g = _rw_check(y, groups)
    return np.round(lab07.reweighing_weights(y, g)).astype(int)


def rw_plus_one(y, groups):  # Laplace-smoothed counts
    y, g = _rw_check(y, groups)
    w = np.empty(len(y))
    n = len(y)
    for gv in np.unique(g):
        for yv in np.unique(y):
            cell = (g == gv) & (y == yv)
            if cell.any():
                w[cell] = ((g == gv).sum() * (y == yv).sum() / n) / (cell.sum() + 1)
    return w


def rw_right_conditional(y, groups):  # P(y) / P(y | g): the same quantity
    y, g = _rw_check(y, groups)
    w = np.empty(len(y))
    for gv in np.unique(g):
        in_g = g == gv
        for yv in np.unique(y):
            cell = in_g & (y == yv)
            if cell.any():
                w[cell] = (y == yv).mean() / (y[in_g] == yv).mean()
    return w


def rw_right_pandas(y, groups):
    y, g = _rw_check(y, groups)
    frame = pd.DataFrame({"y": y, "g": g})
    p_g = frame.g.map(frame.g.value_counts(normalize=True))
    p_y = frame.y.map(frame.y.value_counts(normalize=True))
    p_gy = frame.groupby(["g", "y"]).y.transform("size") / len(frame)
    return (p_g * p_y / p_gy).to_numpy(dtype=float)


def rw_right_counts(y, groups):  # n_g * n_y / (n * n_gy)
    y, g = _rw_check(y, groups)
    n = len(y)
    w = np.empty(n)
    for i in range(n):
        n_g, n_y = (g == g[i]).sum(), (y == y[i]).sum()
        w[i] = n_g * n_y / (n * ((g == g[i]) & (y == y[i])).sum())
    return w


def rw_right_crosstab(y, groups):
    y, g = _rw_check(y, groups)
    tab = pd.crosstab(g, y, normalize=True)
    expected = np.outer(tab.sum(axis=1), tab.sum(axis=0))
    ratio = pd.DataFrame(expected, index=tab.index, columns=tab.columns) / tab
    return np.array([ratio.loc[gi, yi] for gi, yi in zip(g, y, strict=True)], dtype=float)


RW_WRONG = [rw_ones, rw_prior_only, rw_squared, rw_no_check, rw_mean_one_per_group,
            rw_swap_roles, rw_ints, rw_plus_one]
RW_RIGHT = [rw_right_conditional, rw_right_pandas, rw_right_counts, rw_right_crosstab]

# --- long-tail exposure -------------------------------------------------------------------------


def _lt_check(lists):
    lists = np.asarray(lists)
    if lists.ndim != 2 or not (lists >= 0).any():
        raise ValueError("no filled slot")
    return lists


def lt_count(lists, tail):  # the count, not the share
    lists = _lt_check(lists)
    return float(np.isin(lists[lists >= 0], tail).sum())


def lt_per_user_max(lists, tail):  # the best user's share
    lists = _lt_check(lists)
    return float(max(np.isin(r[r >= 0], tail).mean() for r in lists if (r >= 0).any()))


def lt_tail_share(lists, tail):  # the tail's share of the items shown (distinct)
    lists = _lt_check(lists)
    shown = np.unique(lists[lists >= 0])
    return float(np.isin(shown, tail).mean())


def lt_no_check(lists, tail):  # no error for bad input
    lists = np.asarray(lists)
    filled = lists[lists >= 0]
    return float(np.isin(filled, tail).mean()) if filled.size else 0.0


def lt_first_user(lists, tail):  # the first user only
    lists = _lt_check(lists)
    r = lists[0][lists[0] >= 0]
    return float(np.isin(r, tail).mean()) if r.size else 0.0


def lt_minus_one_as_item(lists, tail):  # -1 looked up like an item
    lists = _lt_check(lists)
    return float(np.isin(lists, np.append(tail, -1)).mean())


def lt_k_minus_one(lists, tail):  # divides by k - 1 slots per user
    lists = _lt_check(lists)
    return float(np.isin(lists[lists >= 0], tail).sum() / (lists.shape[0] * (lists.shape[1] - 1)))


def lt_position_weighted(lists, tail):  # discounts lower slots
    lists = _lt_check(lists)
    w = 1 / np.log2(np.arange(lists.shape[1]) + 2)
    hit = np.isin(lists, tail) & (lists >= 0)
    return float((hit * w).sum() / ((lists >= 0) * w).sum())


def lt_right_set(lists, tail):
    lists = _lt_check(lists)
    tail = set(np.asarray(tail).tolist())
    slots = [i for i in lists.ravel().tolist() if i >= 0]
    return sum(i in tail for i in slots) / len(slots)


def lt_right_masked(lists, tail):
    lists = _lt_check(lists)
    filled = lists >= 0
    return float((np.isin(lists, tail) & filled).sum() / filled.sum())


def lt_right_per_user(lists, tail):  # per-user counts pooled
    lists = _lt_check(lists)
    hits = sum(int(np.isin(r[r >= 0], tail).sum()) for r in lists)
    return hits / int((lists >= 0).sum())


def lt_right_bincount(lists, tail):
    lists = _lt_check(lists)
    filled = lists[lists >= 0]
    is_tail = np.zeros(max(filled.max(), np.max(tail, initial=0)) + 1, dtype=bool)
    is_tail[np.asarray(tail, dtype=int)] = True
    return float(is_tail[filled].mean())


LT_WRONG = [lt_count, lt_per_user_max, lt_tail_share, lt_no_check, lt_first_user,
            lt_minus_one_as_item, lt_k_minus_one, lt_position_weighted]
LT_RIGHT = [lt_right_set, lt_right_masked, lt_right_per_user, lt_right_bincount]

# --- group_rate_decisions -----------------------------------------------------------------------


def _gr_checked(scores, groups, rate):
    s, g = np.asarray(scores, dtype=float), np.asarray(groups)
    if s.shape != g.shape or not 0 <= rate <= 1:
        raise ValueError("bad input")
    return s, g


def gr_bool(scores, groups, rate):  # booleans, not 0/1 integers
    return lab07.group_rate_decisions(scores, groups, rate).astype(bool)


def gr_python_round(scores, groups, rate):  # round() rounds halves to even
    s, g = _gr_checked(scores, groups, rate)
    out = np.zeros(len(s), dtype=np.int64)
    for v in np.unique(g):
        rows = np.flatnonzero(g == v)
        out[rows[np.argsort(-s[rows], kind="stable")[:round(rate * len(rows))]]] = 1
    return out


def gr_ceil(scores, groups, rate):  # k rounded up
    s, g = _gr_checked(scores, groups, rate)
    out = np.zeros(len(s), dtype=np.int64)
    for v in np.unique(g):
        rows = np.flatnonzero(g == v)
        out[rows[np.argsort(-s[rows], kind="stable")[:int(np.ceil(rate * len(rows)))]]] = 1
    return out


def gr_quicksort(scores, groups, rate):  # an unstable sort: ties in any order
    s, g = _gr_checked(scores, groups, rate)
    out = np.zeros(len(s), dtype=np.int64)
    for v in np.unique(g):
        rows = np.flatnonzero(g == v)[::-1]
        k = int(np.floor(rate * len(rows) + 0.5))
        out[rows[np.argsort(-s[rows], kind="quicksort")[:k]]] = 1
    return out


def gr_no_check(scores, groups, rate):  # no error for bad input
    s, g = np.asarray(scores, dtype=float), np.asarray(groups)
    n = min(len(s), len(g))
    return lab07.group_rate_decisions(s[:n], g[:n], min(max(rate, 0.0), 1.0))


def gr_largest_group_only(scores, groups, rate):  # the rate applied to the largest group only
    s, g = _gr_checked(scores, groups, rate)
    values, counts = np.unique(g, return_counts=True)
    big = values[counts.argmax()]
    out = np.zeros(len(s), dtype=np.int64)
    rows = np.flatnonzero(g == big)
    out[rows[np.argsort(-s[rows], kind="stable")[:int(np.floor(rate * len(rows) + 0.5))]]] = 1
    return out


def gr_inverted(scores, groups, rate):  # flags the rows NOT chosen
    return 1 - lab07.group_rate_decisions(scores, groups, rate)


def gr_threshold_half(scores, groups, rate):  # ignores the rate: above 0.5
    s, g = _gr_checked(scores, groups, rate)
    return (s > 0.5).astype(np.int64)


def gr_right_pandas(scores, groups, rate):
    s, g = _gr_checked(scores, groups, rate)
    frame = pd.DataFrame({"s": s, "g": g, "row": np.arange(len(s))})
    rank = frame.sort_values(["s", "row"], ascending=[False, True]).groupby("g").cumcount()
    size = frame.groupby("g").s.transform("size")
    k = np.floor(rate * size + 0.5)
    return (rank.sort_index() < k).astype(np.int64).to_numpy()


def gr_right_lexsort(scores, groups, rate):
    s, g = _gr_checked(scores, groups, rate)
    out = np.zeros(len(s), dtype=np.int64)
    for v in set(g.tolist()):
        rows = np.flatnonzero(g == v)
        order = rows[np.lexsort((rows, -s[rows]))]
        out[order[:int(np.floor(rate * len(rows) + 0.5))]] = 1
    return out


def gr_right_loop(scores, groups, rate):
    s, g = _gr_checked(scores, groups, rate)
    out = np.zeros(len(s), dtype=np.int64)
    for v in np.unique(g):
        rows = sorted(np.flatnonzero(g == v).tolist(), key=lambda i: (-s[i], i))
        for i in rows[:int(rate * len(rows) + 0.5)]:
            out[i] = 1
    return out


def gr_right_mergesort(scores, groups, rate):
    s, g = _gr_checked(scores, groups, rate)
    out = np.zeros(len(s), dtype=np.int64)
    for v in np.unique(g):
        mine = np.flatnonzero(g == v)
        top = mine[np.argsort(-s[mine], kind="mergesort")][:int(np.floor(rate * len(mine) + .5))]
        out[top] = 1
    return out


GR_WRONG = [gr_bool, gr_python_round, gr_ceil, gr_quicksort, gr_no_check,
            gr_largest_group_only, gr_inverted, gr_threshold_half]
GR_RIGHT = [gr_right_pandas, gr_right_lexsort, gr_right_loop, gr_right_mergesort]

WRONG = ([(lab07.FAIRNESS_GAPS, f) for f in FG_WRONG] + [(lab07.REWEIGHING, f) for f in RW_WRONG]
         + [(lab07.LONG_TAIL_EXPOSURE, f) for f in LT_WRONG]
         + [(lab07.GROUP_RATES, f) for f in GR_WRONG])
RIGHT = ([(lab07.FAIRNESS_GAPS, f) for f in FG_RIGHT] + [(lab07.REWEIGHING, f) for f in RW_RIGHT]
         + [(lab07.LONG_TAIL_EXPOSURE, f) for f in LT_RIGHT]
         + [(lab07.GROUP_RATES, f) for f in GR_RIGHT])


def test_the_suite_has_enough_mutants_and_none_is_a_known_mistake():
    assert_enough_mutants((lab07.FAIRNESS_GAPS, lab07.REWEIGHING, lab07.LONG_TAIL_EXPOSURE,
                           lab07.GROUP_RATES), WRONG, RIGHT)


(test_a_wrong_answer_is_rejected_by_the_check_and_the_grading,
 test_a_correct_answer_written_differently_is_accepted) = mutant_tests(WRONG, RIGHT)


def test_the_gaps_agree_with_fairlearn():
    table = pd.DataFrame([[40, 10, 10, 40], [20, 5, 20, 55], [7, 3, 2, 30]],
                         columns=["tp", "fp", "fn", "tn"], index=list("abc"))
    assert lab07.fairness_gaps(table) == pytest.approx(fg_right_fairlearn(table))


def test_reweighing_makes_label_and_group_independent():
    gen = np.random.default_rng(0)
    g = gen.choice(["a", "b"], size=500, p=[0.3, 0.7])
    y = (gen.random(500) < np.where(g == "a", 0.2, 0.5)).astype(int)
    w = lab07.reweighing_weights(y, g)
    assert w.sum() == pytest.approx(500)
    rates = [np.average(y[g == v], weights=w[g == v]) for v in ("a", "b")]
    assert rates[0] == pytest.approx(rates[1]) == pytest.approx(y.mean())


# --- the challenge ------------------------------------------------------------------------------


def _lr_decisions(task, threshold=0.5):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    out = []
    for s in task:
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        model.fit(s.X_train, s.y_train)
        out.append((model.predict_proba(s.X_new)[:, 1] > threshold).astype(int))
    return out


def test_the_outcomes_are_not_on_the_task():
    task = lab07.lending_task(seed=3)
    assert len(task) == 5 and all(not hasattr(s, "y_new") for s in task)
    assert all(not s.X_train.flags.writeable for s in task)
    with pytest.raises(TypeError):
        lab07.challenge_scores(object(), [])


def test_the_easy_answers_fail_the_challenge():
    task = lab07.lending_task(seed=3)
    approve_all = [np.zeros(len(s.X_new), int) for s in task]
    gap, balanced = lab07.challenge_scores(task, approve_all)
    assert gap == 0.0 and balanced == 0.5  # parity for free, and nothing right
    gap, balanced = lab07.challenge_scores(task, _lr_decisions(task))
    assert gap > lab07.CHALLENGE_PARITY  # the unconstrained model: a real gap
    gap, balanced = lab07.challenge_scores(task, _lr_decisions(task, 0.12))
    assert gap > lab07.CHALLENGE_PARITY and balanced > lab07.CHALLENGE_BALANCED_ACCURACY


def test_the_reference_meets_the_challenge_on_unseen_seeds():
    for seed in (7, 8):
        task = lab07.lending_task(seed=seed)
        gap, balanced = lab07.challenge_scores(task, lab07.fair_decisions(task))
        assert gap <= lab07.CHALLENGE_PARITY and balanced >= lab07.CHALLENGE_BALANCED_ACCURACY


def test_the_challenge_check_rejects_wrong_shapes():
    from mlsec_helpers.exercises import run_check

    assert run_check(lab07.CHALLENGE, lambda task: [np.zeros(3)]).status == "wrong"
    assert run_check(lab07.CHALLENGE, lambda task: _lr_decisions(task)).status == "wrong"
