"""Exercises with instant feedback.

After each exercise a lab calls :func:`check`. It runs the student's function on small
deterministic cases, compares with the reference, and prints one line: correct (on which
cases), wrong (with the reason and a hint, recognising the usual mistakes by running known wrong
variants on the same cases), or not done yet. It never raises: it hands back the student's
function when it is right and the reference otherwise, so the rest of the lab always runs and,
once the student's code is right, it is the student's code that drives the lab.
"""

from __future__ import annotations

import copy
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["RESULTS", "Case", "CheckResult", "Exercise", "Mistake", "check", "run_check", "summary"]


@dataclass
class Case:
    """One set of arguments to call the exercise's function with.

    Introduced in lab 00 (Meet the five systems).
    """

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    label: str = ""


@dataclass
class Mistake:
    """A known wrong variant and the hint a student who made it needs.

    Introduced in lab 00 (Meet the five systems).
    """

    name: str
    impl: Callable[..., Any]
    hint: str


def _default_compare(got: Any, expected: Any, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    if isinstance(expected, dict):
        return (
            isinstance(got, dict)
            and set(got) == set(expected)
            and all(_default_compare(got[k], expected[k], rtol, atol) for k in expected)
        )
    if isinstance(expected, tuple | list) and not np.isscalar(expected):
        if not isinstance(got, tuple | list | np.ndarray) or len(got) != len(expected):
            return False
        return all(_default_compare(g, e, rtol, atol) for g, e in zip(got, expected, strict=True))
    try:
        g = np.asarray(got, dtype=float)
        e = np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return bool(got == expected)
    return g.shape == e.shape and bool(np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True))


def _shape_of(value: Any) -> str:
    if hasattr(value, "shape"):
        return f"shape {tuple(value.shape)}"
    if isinstance(value, list | tuple):
        return f"length {len(value)}"
    return type(value).__name__


def _brief(value: Any) -> str:
    text = np.array2string(np.asarray(value), precision=4, threshold=6) if hasattr(
        value, "shape") else repr(value)
    return text if len(text) < 80 else text[:77] + "..."


@dataclass
class CheckResult:
    """What a check found: ``status`` is "correct", "wrong", "not_done" or "error".

    Introduced in lab 00 (Meet the five systems).
    """

    exercise: str
    status: str
    message: str
    hint: str = ""
    passed: int = 0
    total: int = 0

    @property
    def correct(self) -> bool:
        return self.status == "correct"

    def line(self) -> str:
        icon = {"correct": "✅", "wrong": "❌", "not_done": "⏳", "error": "💥"}[self.status]
        text = f"{icon} [{self.exercise}] {self.message}"
        return f"{text} Hint: {self.hint}" if self.hint else text

    def __str__(self) -> str:
        return self.line()


@dataclass
class Exercise:
    """An exercise: its reference, its test cases, its known mistakes, how to compare.

    ``cases`` may be a list of :class:`Case` or a function that builds them (so that cases can
    use data loaded at check time). ``validate(got, case)`` may return a message for output of
    the wrong kind (shape, dtype) before values are compared.

    Introduced in lab 00 (Meet the five systems).
    """

    name: str
    reference: Callable[..., Any]
    cases: Sequence[Case] | Callable[[], Sequence[Case]]
    mistakes: Sequence[Mistake] = ()
    compare: Callable[[Any, Any], bool] = _default_compare
    validate: Callable[[Any, Case], str | None] | None = None
    hint: str = "compare your steps with the explanation above the exercise"
    not_done_message: str = "not done yet: the reference implementation is used below"

    def _cases(self) -> list[Case]:
        cases = self.cases() if callable(self.cases) else self.cases
        return list(cases)


def _call(fn: Callable, case: Case) -> Any:
    return fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))


def run_check(exercise: Exercise, student: Callable | None) -> CheckResult:
    """Run ``student`` on the exercise's cases and say what is right or wrong (never raises).

    Introduced in lab 00 (Meet the five systems).
    """
    name = exercise.name
    if student is None or student is Ellipsis:
        return CheckResult(name, "not_done", exercise.not_done_message)
    if not callable(student):
        return CheckResult(
            name, "wrong", f"expected a function, got {type(student).__name__}",
            hint="pass the function itself, without calling it (no parentheses)",
        )
    try:
        cases = exercise._cases()
    except Exception as err:  # a bug in the check must not stop the lab either
        return CheckResult(name, "error", f"the check could not build its cases ({err!r})")
    passed, failures = 0, []
    for k, case in enumerate(cases):
        label = case.label or f"case {k + 1}"
        try:
            got = _call(student, case)
        except NotImplementedError:
            return CheckResult(name, "not_done", exercise.not_done_message, total=len(cases))
        except Exception as err:
            frame = traceback.extract_tb(err.__traceback__)[-1]
            return CheckResult(
                name, "error",
                f"your function raised {type(err).__name__}: {err} (line {frame.lineno}) on "
                f"{label}; the reference implementation is used below.",
                hint="read the error message; run your function by hand on a small input",
                passed=passed, total=len(cases),
            )
        expected = _call(exercise.reference, case)
        if exercise.validate is not None:
            problem = exercise.validate(got, case)
            if problem:
                failures.append((case, label, got, expected, problem))
                continue
        if exercise.compare(got, expected):
            passed += 1
        else:
            failures.append((case, label, got, expected, None))
    if not failures:
        labels = ", ".join(c.label or f"case {k + 1}" for k, c in enumerate(cases))
        return CheckResult(name, "correct", f"correct on {passed} cases ({labels}).",
                           passed=passed, total=len(cases))
    # Wrong: is it one of the mistakes we know?
    for mistake in exercise.mistakes:
        try:
            if all(exercise.compare(got, _call(mistake.impl, case))
                   for case, _, got, _, _ in failures):
                return CheckResult(
                    name, "wrong",
                    f"wrong on {len(failures)} of {len(cases)} cases: it looks like "
                    f"{mistake.name}; the reference implementation is used below.",
                    hint=mistake.hint, passed=passed, total=len(cases),
                )
        except Exception:  # a mistake variant that cannot run on this case is not a match
            continue
    case, label, got, expected, problem = failures[0]
    detail = problem or (
        f"expected {_brief(expected)} ({_shape_of(expected)}), got {_brief(got)} "
        f"({_shape_of(got)})"
    )
    return CheckResult(
        name, "wrong",
        f"wrong on {len(failures)} of {len(cases)} cases; on {label}: {detail}. The reference "
        f"implementation is used below.",
        hint=exercise.hint, passed=passed, total=len(cases),
    )


#: The latest result of every exercise checked in this kernel (for a grading summary).
RESULTS: dict[str, CheckResult] = {}


def check(exercise: Exercise, student: Callable | None, *, show: bool = True) -> Callable:
    """Check the student's function, print one line of feedback, return what the lab uses next.

    Returns ``student`` when it is correct, else the exercise's reference. Never raises.

    Introduced in lab 00 (Meet the five systems).
    """
    try:
        result = run_check(exercise, student)
    except Exception as err:  # pragma: no cover - run_check already guards; belt and braces
        result = CheckResult(exercise.name, "error", f"the check itself failed: {err!r}")
    RESULTS[exercise.name] = result
    if show:
        print(result.line())
    return student if result.correct else exercise.reference


def summary():
    """A table of every exercise checked in this kernel and its status.

    Introduced in lab 00 (Meet the five systems).
    """
    import pandas as pd

    return pd.DataFrame(
        [{"exercise": r.exercise, "status": r.status, "cases passed": f"{r.passed}/{r.total}"}
         for r in RESULTS.values()]
    )
