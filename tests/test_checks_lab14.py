"""Lab 14's exercise checks, beyond what tests/test_exercise_checks.py runs for every exercise.

A mutant suite: for each exercise, plausible wrong answers that are NOT among its known
mistakes (the check and the grading must reject every one), and correct answers written
differently from the reference (both must accept every one).
"""

import itertools
import math

import numpy as np
import pytest
from mutants import assert_enough_mutants, mutant_tests

from mlsec_helpers.checks import lab14
from mlsec_helpers.exercises import run_check

L = ("A", "B", "C", "D", "F")

# --- exercise 1: grade_interval ------------------------------------------------------------------


def _ok(low, high, t, worse):
    if len(t) != 4 or low > high or any(math.isnan(v) for v in (low, high, *t)):
        raise ValueError("bad")
    if worse and not all(a < b for a, b in itertools.pairwise(t)):
        raise ValueError("order")
    if not worse and not all(a > b for a, b in itertools.pairwise(t)):
        raise ValueError("order")


def gi_low_when_worse(low, high, t, worse=True):  # low in both directions
    _ok(low, high, t, worse)
    if worse:
        return next((g for g, c in zip(L, t, strict=False) if low <= c), "F")
    return next((g for g, c in zip(L, t, strict=False) if low >= c), "F")


def gi_no_order_check(low, high, t, worse=True):  # accepts cut points in any order
    if len(t) != 4 or low > high or any(math.isnan(v) for v in (low, high, *t)):
        raise ValueError("bad")
    v = high if worse else low
    if worse:
        return next((g for g, c in zip(L, t, strict=False) if v <= c), "F")
    return next((g for g, c in zip(L, t, strict=False) if v >= c), "F")


def gi_no_swap_check(low, high, t, worse=True):  # low > high accepted
    lo, hi = min(low, high), max(low, high)
    _ok(lo, hi, t, worse)
    v = hi if worse else lo
    if worse:
        return next((g for g, c in zip(L, t, strict=False) if v <= c), "F")
    return next((g for g, c in zip(L, t, strict=False) if v >= c), "F")


def gi_off_by_one(low, high, t, worse=True):  # one letter too good
    _ok(low, high, t, worse)
    v = high if worse else low
    k = next((i for i, c in enumerate(t) if (v <= c if worse else v >= c)), 4)
    return L[max(k - 1, 0)]


def gi_lowercase(low, high, t, worse=True):
    _ok(low, high, t, worse)
    v = high if worse else low
    if worse:
        return next((g for g, c in zip(L, t, strict=False) if v <= c), "F").lower()
    return next((g for g, c in zip(L, t, strict=False) if v >= c), "F").lower()


def gi_e_grade(low, high, t, worse=True):  # "E" instead of "F"
    _ok(low, high, t, worse)
    v = high if worse else low
    if worse:
        return next((g for g, c in zip(L, t, strict=False) if v <= c), "E")
    return next((g for g, c in zip(L, t, strict=False) if v >= c), "E")


def gi_width_penalty(low, high, t, worse=True):  # a wide interval loses a letter
    _ok(low, high, t, worse)
    v = high if worse else low
    k = next((i for i, c in enumerate(t) if (v <= c if worse else v >= c)), 4)
    if high - low > abs(t[1] - t[0]):
        k = min(k + 1, 4)
    return L[k]


def gi_value_error_only_nan(low, high, t, worse=True):  # three cut points accepted
    if low > high or any(math.isnan(v) for v in (low, high, *t)):
        raise ValueError("bad")
    v = high if worse else low
    if worse:
        return next((g for g, c in zip(L, t, strict=False) if v <= c), "F")
    return next((g for g, c in zip(L, t, strict=False) if v >= c), "F")


def gi_bisect(low, high, t, worse=True):
    import bisect

    _ok(low, high, t, worse)
    if worse:
        return L[bisect.bisect_left(list(t), high)]
    return L[bisect.bisect_left([-c for c in t], -low)]


def gi_loop(low, high, t, worse=True):
    _ok(low, high, t, worse)
    value = high if worse else low
    for letter, cut in zip(L, t, strict=False):
        if (worse and value <= cut) or (not worse and value >= cut):
            return letter
    return "F"


def gi_negate(low, high, t, worse=True):  # "higher is better" as "lower of the negation"
    _ok(low, high, t, worse)
    if not worse:
        low, high, t = -high, -low, [-c for c in t]
    return next((g for g, c in zip(L, t, strict=False) if high <= c), "F")


def gi_numpy(low, high, t, worse=True):
    import numpy as np

    _ok(low, high, t, worse)
    cuts = np.asarray(t, dtype=float)
    k = np.searchsorted(cuts, high, side="left") if worse else np.searchsorted(
        -cuts, -low, side="left")
    return L[int(k)]


# --- exercise 2: choose_controls -----------------------------------------------------------------


def _cc_ok(controls, budget):
    if budget < 0 or any(c["cost"] <= 0 for c in controls):
        raise ValueError("bad")
    if len({c["name"] for c in controls}) != len(controls):
        raise ValueError("names")


def cc_first_fit(controls, budget):  # in the listed order
    _cc_ok(controls, budget)
    chosen, spent = [], 0.0
    for c in controls:
        if c["reduction"] > 0 and spent + c["cost"] <= budget:
            chosen.append(c["name"])
            spent += c["cost"]
    return sorted(chosen)


def cc_single_best(controls, budget):  # only one control
    _cc_ok(controls, budget)
    ok = [c for c in controls if c["reduction"] > 0 and c["cost"] <= budget]
    if not ok:
        return []
    return [max(ok, key=lambda c: (c["reduction"], -c["cost"]))["name"]]


def cc_all_affordable(controls, budget):  # every control that fits alone
    _cc_ok(controls, budget)
    return sorted(c["name"] for c in controls if c["reduction"] > 0 and c["cost"] <= budget)


def cc_unsorted(controls, budget):  # the right subset, in the listed order
    best = set(lab14_reference_copy(controls, budget))
    return [c["name"] for c in controls if c["name"] in best][::-1]


def cc_no_validation(controls, budget):  # a cost of 0 accepted
    if budget < 0:
        raise ValueError("budget")
    useful = [c for c in controls if c["reduction"] > 0]
    best_key, best = None, []
    for k in range(len(useful) + 1):
        for sub in itertools.combinations(useful, k):
            cost = sum(c["cost"] for c in sub)
            if cost <= budget:
                key = (-sum(c["reduction"] for c in sub), cost, sorted(c["name"] for c in sub))
                if best_key is None or key < best_key:
                    best_key, best = key, key[2]
    return best


def cc_max_cost(controls, budget):  # among equal reductions, the most expensive
    _cc_ok(controls, budget)
    useful = [c for c in controls if c["reduction"] > 0]
    best_key, best = None, []
    for k in range(len(useful) + 1):
        for sub in itertools.combinations(useful, k):
            cost = sum(c["cost"] for c in sub)
            if cost <= budget:
                key = (-sum(c["reduction"] for c in sub), -cost, sorted(c["name"] for c in sub))
                if best_key is None or key < best_key:
                    best_key, best = key, key[2]
    return best


def cc_ratio_threshold(controls, budget):  # only controls with a ratio above 3
    _cc_ok(controls, budget)
    kept = [c for c in controls if c["reduction"] / c["cost"] > 3]
    return lab14_reference_copy(kept, budget)


def cc_empty(controls, budget):
    _cc_ok(controls, budget)
    return []


def lab14_reference_copy(controls, budget):  # the statement written out, for other mutants
    _cc_ok(controls, budget)
    useful = [c for c in controls if c["reduction"] > 0]
    best_key, best = None, []
    for k in range(len(useful) + 1):
        for sub in itertools.combinations(useful, k):
            cost = sum(c["cost"] for c in sub)
            if cost <= budget + 1e-12:
                names = sorted(c["name"] for c in sub)
                key = (-round(sum(c["reduction"] for c in sub), 9), round(cost, 9), names)
                if best_key is None or key < best_key:
                    best_key, best = key, names
    return best


def cc_dp(controls, budget):  # dynamic programming over the subsets kept as bitmasks
    _cc_ok(controls, budget)
    useful = [c for c in controls if c["reduction"] > 0]
    best = (0.0, 0.0, ())
    for mask in range(1 << len(useful)):
        sub = [useful[i] for i in range(len(useful)) if mask >> i & 1]
        cost = sum(c["cost"] for c in sub)
        if cost > budget + 1e-12:
            continue
        cand = (round(sum(c["reduction"] for c in sub), 9), -round(cost, 9),
                tuple(sorted(c["name"] for c in sub)))
        if (cand[0], cand[1]) > (best[0], best[1]) or (
                (cand[0], cand[1]) == (best[0], best[1]) and cand[2] < best[2]):
            best = cand
    return list(best[2])


def cc_recursive(controls, budget):
    _cc_ok(controls, budget)
    useful = sorted((c for c in controls if c["reduction"] > 0), key=lambda c: c["name"])

    def go(i, left):
        if i == len(useful):
            return (0.0, 0.0, [])
        skip = go(i + 1, left)
        c = useful[i]
        if c["cost"] <= left + 1e-12:
            r, cost, names = go(i + 1, left - c["cost"])
            take = (r + c["reduction"], cost + c["cost"], sorted([c["name"], *names]))
            if (round(take[0], 9), -round(take[1], 9)) > (round(skip[0], 9), -round(skip[1], 9)):
                return take
            if (round(take[0], 9), -round(take[1], 9)) == (round(skip[0], 9),
                                                            -round(skip[1], 9)):
                return min(take, skip, key=lambda t: t[2])
        return skip

    return go(0, budget)[2]


def cc_tuple(controls, budget):
    return tuple(cc_dp(controls, budget))


# --- exercise 3: uncovered_duties ----------------------------------------------------------------


def _ud_ok(duties, controls):
    for c in controls.values():
        if set(c["duties"]) - set(duties):
            raise ValueError("unknown duty")


def ud_ignores_unknown(duties, controls):  # unknown duties silently ignored
    covered = {d for c in controls.values() if c.get("evidence") for d in c["duties"]}
    return sorted(set(duties) - covered)


def ud_all(duties, controls):  # every duty
    _ud_ok(duties, controls)
    return sorted(duties)


def ud_none(duties, controls):
    _ud_ok(duties, controls)
    return []


def ud_descriptions(duties, controls):  # the summaries, not the ids
    _ud_ok(duties, controls)
    covered = {d for c in controls.values() if c.get("evidence") for d in c["duties"]}
    return sorted(duties[d] for d in set(duties) - covered)


def ud_reverse(duties, controls):  # sorted backwards
    _ud_ok(duties, controls)
    covered = {d for c in controls.values() if c.get("evidence") for d in c["duties"]}
    return sorted(set(duties) - covered, reverse=True)


def ud_control_names(duties, controls):  # the controls without evidence
    _ud_ok(duties, controls)
    return sorted(n for n, c in controls.items() if not c.get("evidence"))


def ud_set(duties, controls):  # a set
    _ud_ok(duties, controls)
    covered = {d for c in controls.values() if c.get("evidence") for d in c["duties"]}
    return set(duties) - covered


def ud_evidence_word(duties, controls):  # evidence must mention a lab
    _ud_ok(duties, controls)
    covered = {d for c in controls.values() if "lab" in (c.get("evidence") or "")
               for d in c["duties"]}
    covered |= {d for c in controls.values() if c.get("evidence") == "a report"
                for d in c["duties"]}
    return sorted(set(duties) - covered)


def ud_loop(duties, controls):
    gaps = []
    for duty in sorted(duties):
        found = False
        for name, control in controls.items():
            for d in control["duties"]:
                if d not in duties:
                    raise ValueError(f"{name}: unknown duty {d}")
            if duty in control["duties"] and bool(control.get("evidence")):
                found = True
        if not found:
            gaps.append(duty)
    if not duties:
        for name, control in controls.items():
            if control["duties"]:
                raise ValueError(f"{name}: unknown duties")
    return gaps


def ud_counter(duties, controls):
    from collections import Counter

    _ud_ok(duties, controls)
    count = Counter(d for c in controls.values() if c.get("evidence") for d in c["duties"])
    return sorted(d for d in duties if count[d] == 0)


def ud_filter(duties, controls):
    _ud_ok(duties, controls)
    proven = [c for c in controls.values() if c.get("evidence") not in (None, "")]
    return sorted(d for d in duties if not any(d in c["duties"] for c in proven))


def ud_frozenset(duties, controls):
    bad = [d for c in controls.values() for d in c["duties"] if d not in duties]
    if bad:
        raise ValueError(f"unknown duties {bad}")
    return sorted(frozenset(duties).difference(
        *[frozenset(c["duties"]) for c in controls.values() if c.get("evidence")]))


# --- the suite ----------------------------------------------------------------------------------

G, C, U = lab14.GRADE_INTERVAL, lab14.CHOOSE_CONTROLS, lab14.UNCOVERED_DUTIES
WRONG = [(G, f) for f in (gi_low_when_worse, gi_no_order_check, gi_no_swap_check, gi_off_by_one,
                          gi_lowercase, gi_e_grade, gi_width_penalty, gi_value_error_only_nan)]
WRONG += [(C, f) for f in (cc_first_fit, cc_single_best, cc_all_affordable, cc_unsorted,
                           cc_no_validation, cc_max_cost, cc_ratio_threshold, cc_empty)]
WRONG += [(U, f) for f in (ud_ignores_unknown, ud_all, ud_none, ud_descriptions, ud_reverse,
                           ud_control_names, ud_set, ud_evidence_word)]
RIGHT = [(G, f) for f in (gi_bisect, gi_loop, gi_negate, gi_numpy)]
RIGHT += [(C, f) for f in (lab14_reference_copy, cc_dp, cc_recursive, cc_tuple)]
RIGHT += [(U, f) for f in (ud_loop, ud_counter, ud_filter, ud_frozenset)]

(test_a_wrong_answer_is_rejected_by_the_check_and_the_grading,
 test_a_correct_answer_written_differently_is_accepted) = mutant_tests(WRONG, RIGHT)


def test_the_suite_is_large_enough():
    assert_enough_mutants((G, C, U), WRONG, RIGHT)


# --- the challenge ------------------------------------------------------------------------------


def ch_zeros(task):  # no attack at all
    return np.zeros(len(task.low))


def ch_small_step(task):  # one small step from the middle: rounding swamps it
    middle = (task.low + task.high) / 2
    step = (task.high - task.low) * 0.05
    return (task.explain(middle + step) - task.explain(middle)) / step


def test_the_challenge_rejects_no_attack_and_a_step_rounding_swamps():
    for attack in (ch_zeros, ch_small_step):
        result = run_check(lab14.CHALLENGE, attack)
        assert result.status == "wrong", result.line()


def test_the_reference_recovers_the_slopes_within_the_budget_and_the_target():
    for seed in (3, 4):
        task = lab14.explanation_task(seed=seed)
        out = lab14.challenge_outcome(task, lab14.recover_slopes(task))
        assert out["relative_error"] <= lab14.CHALLENGE_ERROR / 1.5
        assert out["queries"] == lab14.EXPLAIN_BUDGET


def test_the_endpoint_refuses_what_it_should_and_the_task_is_read_only():
    task = lab14.explanation_task(seed=5)
    with pytest.raises(ValueError):
        task.explain(task.high + 1.0)  # out of range
    with pytest.raises(ValueError):
        task.explain(task.low[:3])
    for _ in range(lab14.EXPLAIN_BUDGET):
        task.explain(task.low)
    with pytest.raises(RuntimeError):
        task.explain(task.low)
    with pytest.raises(AttributeError):
        task.low = task.high
    lows = task.low
    lows[:] = 0
    assert not np.all(task.low == 0)  # the property hands out a copy
    with pytest.raises(TypeError):
        lab14.challenge_outcome(object(), np.zeros(12))
    with pytest.raises(ValueError):
        lab14.challenge_outcome(task, np.zeros(3))
