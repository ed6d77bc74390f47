"""Exercises with instant feedback, and grading that measures behaviour.

After each exercise a lab calls :func:`check`. It runs the student's function on small
deterministic cases, compares with the reference and prints one line: correct (on which cases),
wrong (the case, what was expected and what came back, a hint; "this looks like ..." when the
answer behaves like a known mistake on every case), or not done yet. It never raises: it hands
back the student's function when it is right and the reference otherwise, so the rest of the lab
always runs and, once the student's code is right, it is the student's code that drives the lab.

What the harness guards against (each gives one clear line, and the lab goes on):

* an answer that raises (the line of the student's own cell is shown), returns ``None`` or the
  wrong kind of output, calls ``sys.exit()``, or runs longer than the exercise's time limit;
* an answer that modifies its arguments in place (the lab would pass it its own data);
* an answer that calls the reference implementation instead of computing the result;
* a bug inside the check itself (reported as such, never as the student's fault).

:func:`grade` runs the exercise's hidden cases (ones the student never saw) and raises an
``AssertionError`` for a wrong answer: the nbgrader hidden-test cells call it.

Introduced in lab 00 (Meet the five systems); every lab's checks use it.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import inspect
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "RESULTS",
    "Case",
    "CheckResult",
    "Exercise",
    "Mistake",
    "check",
    "grade",
    "run_check",
    "same_value",
    "summary",
]


@dataclass
class Case:
    """One set of arguments to call the exercise's function with.

    ``raises`` makes it a case of bad input: the answer must raise that exception (a class or
    a tuple of classes, as for ``except``), as the reference does, instead of returning.

    Introduced in lab 00 (Meet the five systems).
    """

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    label: str = ""
    raises: type[BaseException] | tuple[type[BaseException], ...] | None = None


@dataclass
class Mistake:
    """A known wrong variant and the hint a student who made it needs.

    Introduced in lab 00 (Meet the five systems).
    """

    name: str
    impl: Callable[..., Any]
    hint: str


# --- comparing values ---------------------------------------------------------------------------


def _is_float32(value: Any) -> bool:
    dtype = getattr(value, "dtype", None)
    return str(dtype) in ("float32", "torch.float32", "float16", "torch.float16")


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
    if dataclasses.is_dataclass(expected) and not isinstance(expected, type):
        return type(got) is type(expected) and all(
            _default_compare(getattr(got, f.name), getattr(expected, f.name), rtol, atol)
            for f in dataclasses.fields(expected))
    try:
        g = np.asarray(_plain(got), dtype=float)
        e = np.asarray(_plain(expected), dtype=float)
    except (TypeError, ValueError):
        try:
            return bool(got == expected)
        except Exception:
            return False
    if g.shape != e.shape:
        return False
    if _is_float32(got) or _is_float32(expected):
        # float32 arithmetic differs from float64 in the 7th digit: a tolerance that fits it
        rtol, atol = max(rtol, 1e-4), max(atol, 1e-5 * max(1.0, float(np.nanmax(np.abs(e),
                                                                        initial=0.0))))
    return bool(np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True))


def _plain(value: Any) -> Any:
    """A torch tensor as a NumPy array (other values unchanged), for comparing."""
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return value


def same_value(a: Any, b: Any, _depth: int = 0) -> bool:
    """Whether ``a`` and ``b`` hold exactly the same data (arrays, tensors, frames, torch
    modules' parameters, containers, dataclasses). Used to tell whether an answer modified
    its arguments.

    Introduced in lab 00 (Meet the five systems).
    """
    if _depth > 12:  # deep enough for a fitted system wrapping a pipeline; stops cycles
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.kind in "fc":
            return bool(np.array_equal(a, b, equal_nan=True))
        return bool(np.array_equal(a, b)) if a.dtype != object else a.tolist() == b.tolist()
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(a, torch.nn.Module):  # its parameters and buffers
        sa, sb = a.state_dict(), b.state_dict()
        return set(sa) == set(sb) and all(same_value(sa[k], sb[k], _depth + 1) for k in sa)
    if torch is not None and isinstance(a, torch.Tensor):
        if a.requires_grad != b.requires_grad:  # requires_grad_() on an input is a change too
            return False
        x, y = a.detach().cpu(), b.detach().cpu()
        return x.shape == y.shape and x.dtype == y.dtype and bool(
            np.array_equal(x.numpy(), y.numpy(), equal_nan=x.is_floating_point()))
    if inspect.isroutine(a) or isinstance(a, functools.partial) or isinstance(a, type):
        return True  # code, not data
    module = type(a).__module__
    if module.startswith("pandas"):
        return bool(a.equals(b))
    if isinstance(a, dict):
        return set(a) == set(b) and all(same_value(a[k], b[k], _depth + 1) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same_value(x, y, _depth + 1) for x, y in zip(a, b,
                                                                                     strict=True))
    if dataclasses.is_dataclass(a):
        return all(same_value(getattr(a, f.name), getattr(b, f.name), _depth + 1)
                   for f in dataclasses.fields(a))
    if isinstance(a, str | bytes | int | float | complex | bool | set | frozenset) or a is None:
        return a == b
    if hasattr(a, "__dict__"):  # an object (a fitted system, an estimator): its attributes
        return same_value(vars(a), vars(b), _depth + 1)
    try:
        return bool(a == b)
    except Exception:  # objects that cannot compare: nothing to tell
        return True


# --- what to show -------------------------------------------------------------------------------


def _shape_of(value: Any) -> str:
    if hasattr(value, "shape"):
        return f"{type(value).__name__} of shape {tuple(value.shape)}"
    if isinstance(value, list | tuple):
        return f"{type(value).__name__} of length {len(value)}"
    return type(value).__name__


def _brief(value: Any) -> str:
    value = _plain(value)
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        text = np.array2string(np.asarray(value), precision=4, threshold=6)
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) < 80 else text[:77] + "..."


def _difference(got: Any, expected: Any) -> str:
    """Where two arrays of the same shape first differ, and by how much at most (inside a
    tuple or list of arrays: which element, then where in it)."""
    if (isinstance(expected, tuple | list) and isinstance(got, tuple | list)
            and len(got) == len(expected) and not np.isscalar(expected)):
        for k, (g, e) in enumerate(zip(got, expected, strict=True)):
            try:
                if _default_compare(g, e):
                    continue
            except Exception:
                pass
            inner = _difference(g, e)
            return f"; element {k} of the {type(expected).__name__} differs{inner}"
        return ""
    try:
        g = np.asarray(_plain(got), dtype=float)
        e = np.asarray(_plain(expected), dtype=float)
    except (TypeError, ValueError):
        return ""
    if g.shape != e.shape or g.size <= 1:
        return ""
    diff = np.abs(g - e)
    both_nan = np.isnan(g) & np.isnan(e)
    diff = np.where(both_nan, 0.0, np.where(np.isnan(diff), np.inf, diff))
    if not diff.any():
        return ""
    first = np.unravel_index(int(np.argmax(diff > 0)), g.shape)
    where = first[0] if len(first) == 1 else tuple(int(i) for i in first)
    return (f"; first difference at index {where}: expected {e[first]:.6g}, got {g[first]:.6g}; "
            f"largest difference {float(diff.max()):.3g}")


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

    def __repr__(self) -> str:  # what a notebook shows for a grade(...) cell: the one line
        return self.line()


@dataclass
class Exercise:
    """An exercise: its reference, its cases, its known mistakes, how to compare.

    ``cases`` (and ``hidden_cases``, which :func:`grade` uses) may be a list of :class:`Case`
    or a function that builds them. ``validate(got, case)`` may return a message for output of
    the wrong kind (type, shape, dtype, state) before values are compared; ``compare(got,
    expected)`` (or ``compare(got, expected, case)``, when the tolerance depends on the case)
    says whether two outputs agree. ``conceal`` lists package functions that do the
    exercise's job: an answer that calls them (or the reference) is not the student's own.
    ``time_limit`` is in seconds of CPU time per case (ten times it of wall-clock time stops an
    answer that waits without computing).

    Introduced in lab 00 (Meet the five systems).
    """

    name: str
    reference: Callable[..., Any]
    cases: Sequence[Case] | Callable[[], Sequence[Case]]
    mistakes: Sequence[Mistake] = ()
    compare: Callable[..., bool] = _default_compare
    validate: Callable[[Any, Case], str | None] | None = None
    hint: str = "compare your steps with the explanation above the exercise"
    not_done_message: str = "not done yet: the reference implementation is used below"
    hidden_cases: Sequence[Case] | Callable[[], Sequence[Case]] | None = None
    conceal: Sequence[Callable[..., Any]] = ()
    time_limit: float = 10.0

    def _cases(self, hidden: bool = False) -> list[Case]:
        cases = self.hidden_cases if hidden else self.cases
        cases = cases() if callable(cases) else cases
        return list(cases)


# --- calling the student's code safely ----------------------------------------------------------


class _TimeLimit(BaseException):
    """Raised inside an answer that runs past the exercise's time limit (a BaseException, so
    that an answer's own ``except Exception`` does not swallow it)."""


class _Outcome:
    """What one call of the student's function did."""

    def __init__(self):
        self.value: Any = None
        self.error: BaseException | None = None
        self.used_reference = False
        self.args: tuple = ()
        self.kwargs: dict = {}


def _codes(functions: Sequence[Callable]) -> set:
    codes = set()
    for fn in functions:
        fn = inspect.unwrap(fn)
        code = getattr(fn, "__code__", None)
        if code is not None:
            codes.add(code)
    return codes


def _call_guarded(fn: Callable, case: Case, seconds: float, concealed: set) -> _Outcome:
    """Call ``fn`` on copies of the case's arguments: catch everything (SystemExit too), stop it
    after ``seconds`` (where the platform allows), and notice when the student's own code calls
    a concealed function (the reference) directly."""
    out = _Outcome()
    args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
    code = getattr(inspect.unwrap(fn), "__code__", None)
    own_file = code.co_filename if code is not None else None

    def profiler(frame, event, _arg):
        if (event == "call" and frame.f_code in concealed and frame.f_back is not None
                and frame.f_back.f_code.co_filename == own_file):
            out.used_reference = True

    alarm = (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread())
    previous = {}
    if alarm:
        def on_alarm(_signum, _frame):
            raise _TimeLimit()

        # The limit counts the process's CPU time (SIGPROF), so that a busy machine (two
        # notebooks on two cores, a grader running many students) does not fail a correct
        # answer; a wall-clock backstop at ten times the limit stops an answer that waits
        # (time.sleep, input()) without computing.
        for sig in (signal.SIGPROF, signal.SIGALRM):
            previous[sig] = signal.signal(sig, on_alarm)
        signal.setitimer(signal.ITIMER_PROF, seconds)
        signal.setitimer(signal.ITIMER_REAL, 10 * seconds)
    old_profile = sys.getprofile()
    try:
        if concealed:
            sys.setprofile(profiler)
        out.value = fn(*args, **kwargs)
    except BaseException as err:  # the student's code may raise anything
        out.error = err
    finally:
        if alarm:  # the timers first: nothing below may leave one armed
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.setitimer(signal.ITIMER_REAL, 0)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        try:
            sys.setprofile(old_profile)
        except TypeError:  # a C-level profiler (cProfile) cannot be reinstalled from Python
            sys.setprofile(None)
    out.args, out.kwargs = args, kwargs
    return out


def _student_line(err: BaseException, student: Callable) -> str:
    """' (line N of your code: `...`)' for the deepest frame of the student's own code."""
    code = getattr(inspect.unwrap(student), "__code__", None)
    frames = traceback.extract_tb(err.__traceback__)
    mine = [f for f in frames if code is not None and f.filename == code.co_filename]
    if not mine:
        return ""
    frame = mine[-1]
    text = f": `{frame.line.strip()}`" if frame.line else ""
    return f" (line {frame.lineno} of your code{text})"


def _raised(err: BaseException, student: Callable, label: str) -> tuple[str, str]:
    if isinstance(err, _TimeLimit):
        return (f"your function did not finish within the time limit on {label}",
                "look for a loop that never ends, or work that grows too fast with the input")
    if isinstance(err, SystemExit):
        return (f"your function called sys.exit() (or exit()) on {label}",
                "return the result instead of exiting: exiting would stop the whole notebook")
    if isinstance(err, KeyboardInterrupt):
        return (f"your function was interrupted on {label}", "run the check again")
    return (f"your function raised {type(err).__name__}: {err}{_student_line(err, student)} "
            f"on {label}", "read the error message; run your function by hand on a small input")


def _argument_names(reference: Callable, case: Case) -> list[str]:
    try:
        params = list(inspect.signature(reference).parameters)
    except (TypeError, ValueError):
        params = []
    names = [params[k] if k < len(params) else f"argument {k + 1}" for k in range(len(case.args))]
    return names + list(case.kwargs)


def _modified(outcome: _Outcome, case: Case, reference: Callable) -> str | None:
    names = _argument_names(reference, case)
    values = list(zip(case.args, outcome.args, strict=True)) + [
        (case.kwargs[k], outcome.kwargs[k]) for k in case.kwargs]
    for name, (before, after) in zip(names, values, strict=True):
        if not same_value(before, after):
            return name
    return None


# --- the check ----------------------------------------------------------------------------------


def _run(exercise: Exercise, student: Callable | None, hidden: bool = False) -> CheckResult:
    name = exercise.name
    if student is None or student is Ellipsis:
        return CheckResult(name, "not_done", exercise.not_done_message)
    if not callable(student):
        return CheckResult(
            name, "wrong", f"expected a function, got {type(student).__name__}",
            hint="pass the function itself, without calling it (no parentheses)",
        )
    try:
        cases = exercise._cases(hidden)
        concealed = _codes([exercise.reference, *exercise.conceal])
        # the package's own variants (the checks' known mistakes) may build on the reference:
        # only code written outside the package is watched
        if (getattr(student, "__module__", None) or "").startswith(
                __name__.split(".")[0] + "."):
            concealed = set()
    except Exception as err:  # a bug in the check must not stop the lab either
        return CheckResult(name, "error", f"the check could not build its cases ({err!r}); "
                           "the reference implementation is used below")
    fallback = "the reference implementation is used below."
    passed, failures, outputs = 0, [], []
    for k, case in enumerate(cases):
        label = case.label or f"case {k + 1}"
        outcome = _call_guarded(student, case, exercise.time_limit, concealed)
        if isinstance(outcome.error, NotImplementedError):
            return CheckResult(name, "not_done", exercise.not_done_message, total=len(cases))
        if case.raises is not None and not outcome.used_reference:
            wanted = " or ".join(e.__name__ for e in (
                case.raises if isinstance(case.raises, tuple) else (case.raises,)))
            if isinstance(outcome.error, case.raises):
                passed += 1
            elif outcome.error is None:
                failures.append((label, outcome.value, None,
                                 f"bad input should raise {wanted} with a clear message, but "
                                 f"your function returned {_brief(outcome.value)}"))
            else:
                failures.append((label, None, None,
                                 f"bad input should raise {wanted}, but your function raised "
                                 f"{type(outcome.error).__name__}: {outcome.error}"))
            continue
        if outcome.error is not None:
            message, hint = _raised(outcome.error, student, label)
            return CheckResult(name, "wrong", f"{message}; {fallback}", hint=hint,
                               passed=passed, total=len(cases))
        if outcome.used_reference:
            return CheckResult(
                name, "wrong", f"your function calls the reference implementation; {fallback}",
                hint="write the steps yourself: the exercise is to compute it, not to look it up",
                passed=passed, total=len(cases))
        changed = _modified(outcome, case, exercise.reference)
        if changed is not None:
            return CheckResult(
                name, "wrong",
                f"your function modified its argument `{changed}` on {label}; the lab passes "
                f"it its own data, so {fallback}",
                hint="work on a copy (`.copy()` for arrays, `.clone()` for tensors) instead of "
                     "changing an input in place",
                passed=passed, total=len(cases))
        got = outcome.value
        outputs.append((case, got))
        try:
            expected = exercise.reference(*copy.deepcopy(case.args),
                                          **copy.deepcopy(case.kwargs))
        except Exception as err:
            return CheckResult(name, "error", f"the check's reference failed on {label} "
                               f"({err!r}); {fallback}", passed=passed, total=len(cases))
        try:
            problem = exercise.validate(got, case) if exercise.validate else None
        except Exception as err:
            problem = (f"it returned {_brief(got)} ({_shape_of(got)}), which is not what the "
                       f"lab needs ({type(err).__name__}: {err})")
        if problem:
            failures.append((label, got, expected, problem))
            continue
        try:
            same = bool(_compare(exercise, got, expected, case))
        except Exception as err:
            failures.append((label, got, expected,
                             f"it returned {_brief(got)} ({_shape_of(got)}), which cannot be "
                             f"compared with the expected {_shape_of(expected)} "
                             f"({type(err).__name__}: {err})"))
            continue
        if same:
            passed += 1
        else:
            failures.append((label, got, expected, None))
    total = len(cases)
    n_valued = sum(c.raises is None for c in cases)
    if not failures:
        labels = ", ".join(c.label or f"case {k + 1}" for k, c in enumerate(cases))
        return CheckResult(name, "correct", f"correct on {passed} cases ({labels}).",
                           passed=passed, total=total)
    # Wrong. A known mistake is named only when the answer behaves like it on EVERY case.
    for mistake in exercise.mistakes:
        if _behaves_like(exercise, mistake, outputs) and len(outputs) == n_valued:
            return CheckResult(
                name, "wrong",
                f"wrong on {len(failures)} of {total} cases: this looks like {mistake.name}; "
                f"{fallback}", hint=mistake.hint, passed=passed, total=total,
            )
    label, got, expected, problem = failures[0]
    detail = problem or (
        f"expected {_brief(expected)} ({_shape_of(expected)}), got {_brief(got)} "
        f"({_shape_of(got)}){_difference(got, expected)}"
    )
    return CheckResult(
        name, "wrong",
        f"wrong on {len(failures)} of {total} cases; on {label}: {detail}. {fallback[0].upper()}"
        f"{fallback[1:]}", hint=exercise.hint, passed=passed, total=total,
    )


def _compare(exercise: Exercise, got: Any, expected: Any, case: Case) -> bool:
    """``exercise.compare`` with the case as a third argument when it takes one."""
    try:
        params = inspect.signature(exercise.compare).parameters.values()
        required = [p for p in params if p.default is p.empty
                    and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        required = []
    if len(required) >= 3:  # compare(got, expected, case)
        return exercise.compare(got, expected, case)
    return exercise.compare(got, expected)


def _behaves_like(exercise: Exercise, mistake: Mistake, outputs) -> bool:
    try:
        for case, got in outputs:
            theirs = mistake.impl(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
            if not _compare(exercise, got, theirs, case):
                return False
        return True
    except Exception:  # a mistake variant that cannot run on a case is not a match
        return False


def run_check(exercise: Exercise, student: Callable | None, *,
              hidden: bool = False) -> CheckResult:
    """Run ``student`` on the exercise's cases (its hidden cases with ``hidden=True``) and say
    what is right or wrong. Never raises.

    Introduced in lab 00 (Meet the five systems).
    """
    try:
        return _run(exercise, student, hidden)
    except BaseException as err:  # belt and braces: the lab must go on
        return CheckResult(exercise.name, "error", f"the check itself failed ({err!r}); the "
                           "reference implementation is used below")


#: The latest result of every exercise checked in this kernel (for a grading summary).
RESULTS: dict[str, CheckResult] = {}


def check(exercise: Exercise, student: Callable | None, *, show: bool = True) -> Callable:
    """Check the student's function, print one line of feedback, return what the lab uses next.

    Returns ``student`` when it is correct, else the exercise's reference. Never raises.

    Introduced in lab 00 (Meet the five systems).
    """
    result = run_check(exercise, student)
    RESULTS[exercise.name] = result
    if show:
        print(result.line())
    return student if result.correct else exercise.reference


def grade(exercise: Exercise, student: Callable | None) -> CheckResult:
    """Grade ``student`` on the exercise's hidden cases (never shown to the student): returns
    the result when it is correct, raises ``AssertionError`` with the reason otherwise. The
    nbgrader hidden-test cells call it on the name the check cell rebound, so the reference
    that :func:`check` handed back for a wrong answer fails, and so does an answer that only
    wraps the reference.

    Introduced in lab 00 (Meet the five systems).
    """
    if exercise.hidden_cases is None:
        raise ValueError(f"exercise {exercise.name!r} has no hidden cases to grade with")
    if student is not None and inspect.unwrap(student) is inspect.unwrap(exercise.reference):
        raise AssertionError(f"[{exercise.name}] not solved: the notebook uses the reference "
                             "implementation (the check handed it back)")
    try:
        result = _run(exercise, student, hidden=True)
    except BaseException as err:  # the grading must report, not crash
        result = CheckResult(exercise.name, "error", f"grading failed ({err!r})")
    if not result.correct:
        raise AssertionError(result.line())
    return result


def summary():
    """A table of every exercise checked in this kernel and its status.

    Introduced in lab 00 (Meet the five systems).
    """
    import pandas as pd

    return pd.DataFrame(
        [{"exercise": r.exercise, "status": r.status, "cases passed": f"{r.passed}/{r.total}"}
         for r in RESULTS.values()]
    )
