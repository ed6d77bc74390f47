"""Exercises of lab 14 (Capstone).

Each exercise's cases test every rule its statement in the lab states (named in each case's
label); ``hidden_cases`` test the same rules on other inputs, for :func:`exercises.grade`.
"""

from __future__ import annotations

import itertools
import math
import numbers
import weakref

import numpy as np

from ..capstone import blueteam as _blueteam
from ..capstone import reportcard as _reportcard
from ..exercises import Case, Exercise, Mistake

# --- exercise 1: grading on the pessimistic end of an interval --------------------------------

LETTERS = ("A", "B", "C", "D", "F")
"""The grades, best first."""


def _check_interval(low, high, thresholds, higher_is_worse):
    values = [low, high, *thresholds] if isinstance(thresholds, list | tuple) else []
    if not isinstance(thresholds, list | tuple) or len(thresholds) != 4:
        raise ValueError("thresholds must be four cut points (A, B, C, D)")
    if not all(isinstance(v, numbers.Real) and not math.isnan(v) for v in values):
        raise ValueError("low, high and the thresholds must be numbers (not NaN)")
    if low > high:
        raise ValueError("low must not exceed high")
    pairs = list(zip(thresholds, thresholds[1:], strict=False))
    if higher_is_worse and not all(a < b for a, b in pairs):
        raise ValueError("when higher is worse the cut points must increase")
    if not higher_is_worse and not all(a > b for a, b in pairs):
        raise ValueError("when higher is better the cut points must decrease")


def grade_interval(low, high, thresholds, higher_is_worse=True) -> str:
    """The grade of a measurement known only up to its interval ``[low, high]``. Grade the
    pessimistic end: ``high`` when higher is worse, ``low`` when higher is better.
    ``thresholds`` are four cut points for A, B, C and D. When higher is worse they increase
    and the grade is the first letter whose cut point the value does not exceed (``value <=
    t[0]`` is an A, ..., above ``t[3]`` an F); when higher is better they decrease and the grade
    is the first letter whose cut point the value reaches (``value >= t[0]`` is an A, ...,
    below ``t[3]`` an F). Bad input raises ``ValueError``: ``low > high``, NaN, or thresholds
    that are not four numbers in the right order.

    Introduced in lab 14 (Capstone).
    """
    _check_interval(low, high, thresholds, higher_is_worse)
    if higher_is_worse:
        return next((g for g, t in zip(LETTERS, thresholds, strict=False) if high <= t), "F")
    return next((g for g, t in zip(LETTERS, thresholds, strict=False) if low >= t), "F")


def _gi_point(low, high, thresholds, higher_is_worse=True):  # the middle of the interval
    _check_interval(low, high, thresholds, higher_is_worse)
    v = (low + high) / 2
    if higher_is_worse:
        return next((g for g, t in zip(LETTERS, thresholds, strict=False) if v <= t), "F")
    return next((g for g, t in zip(LETTERS, thresholds, strict=False) if v >= t), "F")


def _gi_optimistic(low, high, thresholds, higher_is_worse=True):  # the flattering end
    _check_interval(low, high, thresholds, higher_is_worse)
    if higher_is_worse:
        return next((g for g, t in zip(LETTERS, thresholds, strict=False) if low <= t), "F")
    return next((g for g, t in zip(LETTERS, thresholds, strict=False) if high >= t), "F")


def _gi_always_high(low, high, thresholds, higher_is_worse=True):  # `high` whatever the direction
    _check_interval(low, high, thresholds, higher_is_worse)
    if higher_is_worse:
        return next((g for g, t in zip(LETTERS, thresholds, strict=False) if high <= t), "F")
    return next((g for g, t in zip(LETTERS, thresholds, strict=False) if high >= t), "F")


def _gi_strict(low, high, thresholds, higher_is_worse=True):  # a value on a cut point drops
    _check_interval(low, high, thresholds, higher_is_worse)
    if higher_is_worse:
        return next((g for g, t in zip(LETTERS, thresholds, strict=False) if high < t), "F")
    return next((g for g, t in zip(LETTERS, thresholds, strict=False) if low > t), "F")


def _gi_d_floor(low, high, thresholds, higher_is_worse=True):  # never an F
    g = grade_interval(low, high, thresholds, higher_is_worse)
    return "D" if g == "F" else g


def _gi_reversed(low, high, thresholds, higher_is_worse=True):  # letters in reverse order
    g = grade_interval(low, high, thresholds, higher_is_worse)
    return LETTERS[len(LETTERS) - 1 - LETTERS.index(g)]


def _grade_cases(shift: float) -> list[Case]:
    worse = [0.05 + shift, 0.1 + shift, 0.2 + shift, 0.4 + shift]
    better = [1000.0, 500.0, 100.0, 20.0]
    return [
        Case((0.02 + shift, 0.08 + shift, worse), label="higher is worse: the upper bound (0.08) "
             "decides, a B although the middle is an A"),
        Case((0.0 + shift, 0.1 + shift, worse), label="an upper bound on a cut point keeps "
             "that letter"),
        Case((0.3 + shift, 0.6 + shift, worse), label="above the last cut point: an F"),
        Case((0.01, 0.02, worse), label="a tight interval well inside A"),
        Case((400.0, 1200.0, better, False),
             label="higher is better: the lower bound (400) decides, a C"),
        Case((500.0, 510.0, better, False), label="a lower bound on a cut point keeps the letter"),
        Case((5.0, 50.0, better, False), label="below the last cut point: an F"),
        Case((0.5, 0.4, worse), label="low above high is bad input", raises=ValueError),
        Case((float("nan"), 0.4, worse), label="NaN is bad input", raises=ValueError),
        Case((0.1, 0.2, [0.3, 0.2, 0.1, 0.05]), label="cut points in the wrong order are bad "
             "input", raises=ValueError),
        Case((0.1, 0.2, [0.1, 0.2, 0.3]), label="three cut points are bad input",
             raises=ValueError),
    ]


GRADE_INTERVAL = Exercise(
    name="grade_interval",
    reference=grade_interval,
    cases=lambda: _grade_cases(0.0),
    hidden_cases=lambda: _grade_cases(0.01),
    validate=lambda got, case: (None if got in LETTERS
                                else "return one of 'A', 'B', 'C', 'D', 'F'"),
    compare=lambda got, expected: got == expected,
    conceal=[_reportcard.grade_interval],
    mistakes=[
        Mistake("the middle of the interval", _gi_point,
                "grade the pessimistic END of the interval, not its middle"),
        Mistake("the flattering end", _gi_optimistic,
                "the pessimistic end: high when higher is worse, low when higher is better"),
        Mistake("high in both directions", _gi_always_high,
                "when higher is better, the pessimistic end is `low`"),
        Mistake("strict comparisons", _gi_strict,
                "a value on a cut point keeps that letter (<= when higher is worse, >= else)"),
        Mistake("no F", _gi_d_floor, "beyond the last cut point the grade is F"),
        Mistake("letters reversed", _gi_reversed, "the first cut point is the A"),
    ],
    hint="value = high if higher_is_worse else low; then walk the cut points with their letters",
)

# --- exercise 2: controls under a budget ---------------------------------------------------------


def buy_controls(controls, budget) -> list[str]:
    """Choose the controls to buy. ``controls`` is a list of dicts with ``"name"``, ``"cost"``
    (> 0) and ``"reduction"`` (the risk it removes from the register; reductions add up).
    Return the names, sorted, of the subset with the largest total reduction whose total cost
    does not exceed ``budget``; among subsets with the same total reduction, the cheapest;
    among those, the one whose sorted names come first. A control whose reduction is not
    positive is never chosen. A negative budget, a cost that is not positive, or two controls
    with the same name are bad input: raise ``ValueError``.

    Introduced in lab 14 (Capstone).
    """
    _check_controls(controls, budget)
    useful = [c for c in controls if c["reduction"] > 0]
    best_key, best = None, []
    for k in range(len(useful) + 1):
        for subset in itertools.combinations(useful, k):
            cost = sum(c["cost"] for c in subset)
            if cost > budget + 1e-12:
                continue
            names = sorted(c["name"] for c in subset)
            key = (-round(sum(c["reduction"] for c in subset), 9), round(cost, 9), names)
            if best_key is None or key < best_key:
                best_key, best = key, names
    return best


def _check_controls(controls, budget):
    if not isinstance(budget, numbers.Real) or budget < 0:
        raise ValueError("budget must be a non-negative number")
    names = [c["name"] for c in controls]
    if len(set(names)) != len(names):
        raise ValueError("control names must be unique")
    if any(not c["cost"] > 0 for c in controls):
        raise ValueError("every cost must be positive")


def _cc_greedy_ratio(controls, budget):  # best reduction per cost first
    _check_controls(controls, budget)
    chosen, spent = [], 0.0
    for c in sorted(controls, key=lambda c: -c["reduction"] / c["cost"]):
        if c["reduction"] > 0 and spent + c["cost"] <= budget + 1e-12:
            chosen.append(c["name"])
            spent += c["cost"]
    return sorted(chosen)


def _cc_greedy_reduction(controls, budget):  # biggest reduction first
    _check_controls(controls, budget)
    chosen, spent = [], 0.0
    for c in sorted(controls, key=lambda c: -c["reduction"]):
        if c["reduction"] > 0 and spent + c["cost"] <= budget + 1e-12:
            chosen.append(c["name"])
            spent += c["cost"]
    return sorted(chosen)


def _cc_cheapest_first(controls, budget):  # as many controls as the money buys
    _check_controls(controls, budget)
    chosen, spent = [], 0.0
    for c in sorted(controls, key=lambda c: c["cost"]):
        if c["reduction"] > 0 and spent + c["cost"] <= budget + 1e-12:
            chosen.append(c["name"])
            spent += c["cost"]
    return sorted(chosen)


def _cc_strict_budget(controls, budget):  # total cost must stay below the budget
    _check_controls(controls, budget)
    return buy_controls(controls, budget - 1e-6) if budget > 0 else []


def _cc_no_tiebreak(controls, budget):  # first best subset found, however costly
    _check_controls(controls, budget)
    useful = [c for c in controls if c["reduction"] > 0]
    best_red, best = -1.0, []
    for k in range(len(useful), -1, -1):
        for subset in itertools.combinations(useful, k):
            if sum(c["cost"] for c in subset) <= budget + 1e-12:
                red = sum(c["reduction"] for c in subset)
                if red > best_red + 1e-12:
                    best_red, best = red, sorted(c["name"] for c in subset)
    return best


def _cc_keeps_useless(controls, budget):  # fills the budget with zero-reduction controls
    best = buy_controls(controls, budget)
    spent = sum(c["cost"] for c in controls if c["name"] in best)
    for c in sorted(controls, key=lambda c: c["cost"]):
        if c["name"] not in best and c["reduction"] <= 0 and spent + c["cost"] <= budget:
            best = sorted([*best, c["name"]])
            spent += c["cost"]
    return best


def _controls(scale: float, tag: str) -> list[dict]:
    return [{"name": f"{tag}rate-limit", "cost": 3 * scale, "reduction": 12.0},
            {"name": f"{tag}labels-only", "cost": 2 * scale, "reduction": 9.0},
            {"name": f"{tag}signing", "cost": 5 * scale, "reduction": 20.0},
            {"name": f"{tag}dp-training", "cost": 6 * scale, "reduction": 21.0},
            {"name": f"{tag}reweighing", "cost": 4 * scale, "reduction": 12.0},
            {"name": f"{tag}banner", "cost": 1 * scale, "reduction": 0.0}]


def _choose_cases(scale: float, tag: str) -> list[Case]:
    cs = _controls(scale, tag)
    tie = [{"name": f"{tag}a", "cost": 2 * scale, "reduction": 5.0},
           {"name": f"{tag}b", "cost": 3 * scale, "reduction": 5.0},
           {"name": f"{tag}c", "cost": 2 * scale, "reduction": 5.0}]
    return [
        Case((cs, 10 * scale), label="a budget of 10: the best total reduction, not the best "
             "ratio or the biggest item first"),
        Case((cs, 11 * scale), label="a budget of 11: spending exactly the budget is allowed"),
        Case((cs, 20 * scale), label="a budget that buys every useful control (not the "
             "useless banner)"),
        Case((cs, 1.5 * scale), label="a budget too small for any useful control"),
        Case((tie, 4 * scale), label="equal reductions: the cheapest subset, then the first "
             "names"),
        Case((tie, 2 * scale), label="one of two equal controls: the first name"),
        Case(([{"name": f"{tag}x", "cost": 2 * scale, "reduction": 10.0},
               {"name": f"{tag}y", "cost": 2 * scale, "reduction": 5.0},
               {"name": f"{tag}z", "cost": 1 * scale, "reduction": 5.0}], 4 * scale),
             label="two subsets remove the same risk: the cheaper one"),
        Case((cs, -1.0), label="a negative budget is bad input", raises=ValueError),
        Case(([*cs, {"name": f"{tag}free", "cost": 0.0, "reduction": 1.0}], 5.0),
             label="a cost of 0 is bad input", raises=ValueError),
        Case(([*cs, dict(cs[0])], 5.0), label="two controls with one name are bad input",
             raises=ValueError),
    ]


CHOOSE_CONTROLS = Exercise(
    name="buy_controls",
    reference=buy_controls,
    cases=lambda: _choose_cases(1.0, ""),
    hidden_cases=lambda: _choose_cases(1.5, "ctl-"),
    validate=lambda got, case: (None if isinstance(got, list | tuple)
                                and all(isinstance(n, str) for n in got)
                                else "return a list of control names"),
    compare=lambda got, expected: sorted(got) == expected and list(got) == sorted(got),
    conceal=[_blueteam.choose_controls],
    mistakes=[
        Mistake("greedy by ratio", _cc_greedy_ratio,
                "the best ratio first can waste budget: compare every subset"),
        Mistake("greedy by reduction", _cc_greedy_reduction,
                "the biggest control first can leave money idle: compare every subset"),
        Mistake("cheapest first", _cc_cheapest_first,
                "maximise the risk removed, not the number of controls"),
        Mistake("budget as a strict limit", _cc_strict_budget,
                "a subset that costs exactly the budget is allowed"),
        Mistake("no tie-break", _cc_no_tiebreak,
                "among subsets with the same reduction take the cheapest, then the first names"),
        Mistake("useless controls bought", _cc_keeps_useless,
                "a control that removes no risk is never chosen"),
    ],
    hint="itertools.combinations over every size; keep the subset with the largest reduction "
         "(then the smallest cost, then the first sorted names)",
)

# --- exercise 3: a gap analysis of duties ---------------------------------------------------------


def uncovered_duties(duties, controls) -> list[str]:
    """The duties no control covers with evidence. ``duties`` maps a duty's id (e.g.
    ``"AI Act Art. 15"``) to its summary; ``controls`` maps a control's name to a dict with
    ``"duties"`` (the duty ids it serves) and ``"evidence"`` (what measured it works, or
    ``None``). A control without evidence covers nothing (a control on paper). Return the ids
    of the uncovered duties, sorted. A control naming a duty that is not in ``duties`` is bad
    input: raise ``ValueError``.

    Introduced in lab 14 (Capstone).
    """
    covered = set()
    for name, control in controls.items():
        unknown = set(control["duties"]) - set(duties)
        if unknown:
            raise ValueError(f"control {name!r} names unknown duties: {sorted(unknown)}")
        if control.get("evidence"):
            covered |= set(control["duties"])
    return sorted(set(duties) - covered)


def _ud_paper(duties, controls):  # controls on paper count
    for c in controls.values():
        if set(c["duties"]) - set(duties):
            raise ValueError("unknown duty")
    covered = {d for c in controls.values() for d in c["duties"]}
    return sorted(set(duties) - covered)


def _ud_covered(duties, controls):  # the covered duties instead
    for c in controls.values():
        if set(c["duties"]) - set(duties):
            raise ValueError("unknown duty")
    return sorted({d for c in controls.values() if c.get("evidence") for d in c["duties"]})


def _ud_unsorted(duties, controls):  # in the duties' own order
    gaps = set(uncovered_duties(duties, controls))
    return [d for d in duties if d in gaps]


def _ud_first_duty_only(duties, controls):  # a control covers only its first duty
    for c in controls.values():
        if set(c["duties"]) - set(duties):
            raise ValueError("unknown duty")
    covered = {c["duties"][0] for c in controls.values() if c.get("evidence") and c["duties"]}
    return sorted(set(duties) - covered)


def _ud_empty_evidence(duties, controls):  # an empty string counts as evidence
    for c in controls.values():
        if set(c["duties"]) - set(duties):
            raise ValueError("unknown duty")
    covered = {d for c in controls.values() if c.get("evidence") is not None
               for d in c["duties"]}
    return sorted(set(duties) - covered)


def _gap_cases(prefix: str) -> list[Case]:
    duties = {f"{prefix}GDPR Art. 22": "automated decisions: human intervention, explanation",
              f"{prefix}GDPR Art. 25": "data protection by design and by default",
              f"{prefix}GDPR Art. 32": "security of processing",
              f"{prefix}AI Act Art. 12": "record-keeping (logs)",
              f"{prefix}AI Act Art. 15": "accuracy, robustness and cybersecurity",
              f"{prefix}AI Act Art. 10": "data and data governance"}
    controls = {
        "audit log": {"duties": [f"{prefix}AI Act Art. 12", f"{prefix}GDPR Art. 32"],
                      "evidence": "lab 12: every pen-test case recorded"},
        "signed releases": {"duties": [f"{prefix}AI Act Art. 15", f"{prefix}GDPR Art. 32"],
                            "evidence": "lab 11: 20 of 20 tampered copies refused"},
        "reason codes": {"duties": [f"{prefix}GDPR Art. 22"], "evidence": None},
        "data sheet": {"duties": [f"{prefix}AI Act Art. 10"], "evidence": ""},
    }
    bad = {**controls, "pen test": {"duties": [f"{prefix}SOC 2"], "evidence": "a report"}}
    return [
        Case((duties, controls), label="a control without evidence (None, or empty) covers "
             "nothing; a control may cover several duties"),
        Case((duties, {}), label="no controls: every duty is a gap (sorted)"),
        Case(({k: duties[k] for k in list(duties)[:2]}, {
            "privacy review": {"duties": list(duties)[:2], "evidence": "lab 05: AUC 0.51"}}),
            label="every duty covered: no gap"),
        Case((duties, {"external test": {"duties": [f"{prefix}AI Act Art. 15"],
                                         "evidence": "penetration test report, October"}}),
             label="any non-empty evidence counts, whoever measured it"),
        Case((duties, bad), label="a control naming an unknown duty is bad input",
             raises=ValueError),
    ]


UNCOVERED_DUTIES = Exercise(
    name="uncovered_duties",
    reference=uncovered_duties,
    cases=lambda: _gap_cases(""),
    hidden_cases=lambda: _gap_cases("EU "),
    validate=lambda got, case: (None if isinstance(got, list) else "return a list of duty ids"),
    compare=lambda got, expected: list(got) == expected,
    mistakes=[
        Mistake("controls on paper counted", _ud_paper,
                "a control with no evidence covers nothing"),
        Mistake("the covered duties", _ud_covered, "return the duties NOT covered"),
        Mistake("not sorted", _ud_unsorted, "return the ids sorted"),
        Mistake("first duty only", _ud_first_duty_only,
                "a control covers every duty it lists"),
        Mistake("empty evidence counted", _ud_empty_evidence,
                "an empty string is no evidence either"),
    ],
    hint="collect the duties of controls whose evidence is truthy; return sorted(set(duties) - "
         "covered)",
)

#: Every exercise of this lab, in the order the lab asks them (the tests run each one).

# --- challenge: the model behind the explanations -----------------------------------------------

_TRUTH: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
EXPLAIN_BUDGET = 60
"""How many explanation queries the challenge's endpoint answers."""
EXPLAIN_DECIMALS = 1
"""The endpoint rounds each reason score to this many decimals (the weak defence)."""
CHALLENGE_ERROR = 0.02
"""The relative error (L2) of the recovered slopes the challenge asks for."""


class ExplanationTask:
    """The challenge's setting: a lender's explanation endpoint. ``explain(x)`` answers, for an
    application ``x`` (12 numbers within ``low``/``high``), one reason score per feature: how
    much that feature pushed the score up or down, the model's slope times the feature's
    distance from the typical applicant, ROUNDED to one decimal (the lender's idea of a
    defence). It answers :data:`EXPLAIN_BUDGET` queries, then refuses. ``feature_names``,
    ``low`` and ``high`` are public. The slopes are kept apart, for :func:`challenge_outcome`.

    Introduced in lab 14 (Capstone).
    """

    __slots__ = ("__weakref__", "_high", "_low", "_names", "_used")

    def __init__(self, names, low, high):
        self._names, self._low, self._high, self._used = names, low, high, 0

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The 12 features, in the order ``explain`` takes them."""
        return self._names

    @property
    def low(self) -> np.ndarray:
        """The smallest value the endpoint accepts for each feature (a copy)."""
        return self._low.copy()

    @property
    def high(self) -> np.ndarray:
        """The largest value the endpoint accepts for each feature (a copy)."""
        return self._high.copy()

    @property
    def queries_left(self) -> int:
        """How many explanations the endpoint still answers."""
        return EXPLAIN_BUDGET - self._used

    def explain(self, x) -> np.ndarray:
        """The rounded reason scores of application ``x``, one per feature."""
        row = np.asarray(x, dtype=np.float64).reshape(-1)
        if row.shape != self._low.shape or not np.isfinite(row).all():
            raise ValueError(f"x must be {len(self._low)} finite numbers")
        if (row < self._low).any() or (row > self._high).any():
            raise ValueError("x is outside the ranges the endpoint accepts (task.low, task.high)")
        if self._used >= EXPLAIN_BUDGET:
            raise RuntimeError(f"the endpoint answers {EXPLAIN_BUDGET} explanations per key")
        self._used += 1
        slope, centre = _TRUTH[self]["slope"], _TRUTH[self]["centre"]
        return np.round(slope * (row - centre), EXPLAIN_DECIMALS)

    def __repr__(self):
        return f"ExplanationTask({self.queries_left} explanations left)"

    def __deepcopy__(self, memo):
        return self  # shared on purpose: the check grades the queries sent to this task

    def _replica(self) -> ExplanationTask:
        twin = ExplanationTask(self._names, self._low, self._high)
        _TRUTH[twin] = _TRUTH[self]
        return twin


def explanation_task(*, seed: int = 0) -> ExplanationTask:
    """The challenge's setting drawn with ``seed``: a scorecard on the capstone's 12 features
    (from the HMDA data's training split: centres and ranges), with slopes of varied size and
    sign (see :class:`ExplanationTask`).

    Introduced in lab 14 (Capstone).
    """
    from ..data import load_dataset

    data = load_dataset("hmda", seed=seed)
    X = np.asarray(data.X_train, dtype=np.float64)
    gen = np.random.default_rng(seed + 14_000)
    centre, spread = X.mean(axis=0), X.std(axis=0) + 1e-9
    # the endpoint accepts plausible applications only: each feature between its 5th and 95th
    # percentile (at least one standard deviation wide)
    low = np.minimum(np.percentile(X, 5, axis=0), centre - spread / 2)
    high = np.maximum(np.percentile(X, 95, axis=0), centre + spread / 2)
    # standardised weights of varied size, some near zero, turned into slopes per raw unit
    weights = gen.normal(size=X.shape[1]) * gen.choice([0.2, 1.0, 2.0], size=X.shape[1])
    task = ExplanationTask(tuple(data.feature_names), low, high)
    _TRUTH[task] = {"slope": weights / spread, "centre": centre}
    return task


def challenge_outcome(task, slopes) -> dict:
    """Grade recovered slopes: their relative error (L2 norm of the difference over the norm of
    the true slopes, each slope measured per standard deviation of its feature so no unit
    dominates) and the explanations used. For grading and measuring.

    Introduced in lab 14 (Capstone).
    """
    if not isinstance(task, ExplanationTask) or task not in _TRUTH:
        raise TypeError("task must be a task returned by explanation_task()")
    got = np.asarray(slopes, dtype=np.float64).reshape(-1)
    truth = _TRUTH[task]["slope"]
    if got.shape != truth.shape or not np.isfinite(got).all():
        raise ValueError(f"slopes must be {len(truth)} finite numbers")
    scale = (task._high - task._low)
    error = float(np.linalg.norm((got - truth) * scale) / np.linalg.norm(truth * scale))
    return {"relative_error": error, "queries": task._used}


def recover_slopes(task):
    """The reference attack. One explanation is exact up to rounding: ``round(s * (x - c))``.
    Each reason score is linear in its feature, so the slope is the change of the score between
    two applications over the change of the feature; rounding adds up to 0.05 of error to each
    score, which is smallest relative to the change when the change is largest. So: query
    applications spread over each feature's whole accepted range (all features at once, in
    shuffled orders so that every query informs every slope), and fit each score against its
    feature by least squares: the rounding errors average out.

    Introduced in lab 14 (Capstone).
    """
    gen = np.random.default_rng(0)
    n = task.queries_left
    grid = np.linspace(0.0, 1.0, n)
    X = np.column_stack([task.low[j] + (task.high[j] - task.low[j]) * gen.permutation(grid)
                         for j in range(len(task.low))])
    scores = np.array([task.explain(x) for x in X])
    slopes = []
    for j in range(X.shape[1]):
        A = np.column_stack([X[:, j], np.ones(n)])
        slopes.append(np.linalg.lstsq(A, scores[:, j], rcond=None)[0][0])
    return np.array(slopes)


def _challenge_reference(task):
    return recover_slopes(task._replica())


def _challenge_validate(got, case: Case) -> str | None:
    try:
        out = challenge_outcome(case.args[0], got)
    except ValueError as err:
        return str(err)
    if out["relative_error"] > CHALLENGE_ERROR:
        return (f"your slopes are {out['relative_error']:.1%} off (target {CHALLENGE_ERROR:.0%}) "
                f"after {out['queries']} explanations: how big is the rounding error compared "
                "with what one query moves, and what do many queries do to it?")
    return None


CHALLENGE = Exercise(
    name="recover_slopes",
    reference=_challenge_reference,
    cases=lambda: [Case((explanation_task(seed=s),), label=f"a lender (seed {s})")
                   for s in (0, 1)],
    hidden_cases=lambda: [Case((explanation_task(seed=s),), label=f"another lender (seed {s})")
                          for s in (101, 202)],
    validate=_challenge_validate,
    compare=lambda got, expected: True,  # graded by the outcome (validate)
    hint="a slope is a change of score over a change of feature; make the change large and "
         "use every explanation you have",
    time_limit=30.0,
)


#: Every exercise of this lab, in the order the lab asks them (the tests run each one).
EXERCISES: tuple[Exercise, ...] = (CHOOSE_CONTROLS, UNCOVERED_DUTIES, GRADE_INTERVAL, CHALLENGE)

__all__ = ["CHALLENGE", "CHALLENGE_ERROR", "CHOOSE_CONTROLS", "EXERCISES", "EXPLAIN_BUDGET",
           "EXPLAIN_DECIMALS", "GRADE_INTERVAL", "LETTERS", "UNCOVERED_DUTIES",
           "ExplanationTask", "challenge_outcome", "buy_controls", "explanation_task",
           "grade_interval", "recover_slopes", "uncovered_duties"]
