"""Every exercise of every lab, through one parametrised test (labs 00-14 as they come).

Each ``mlsec_helpers.checks.labNN`` module lists its exercises in ``EXERCISES``. For each one:
the reference passes on every case; each known mistake is told apart (named, with its hint);
a stub that raises ``NotImplementedError`` falls back to the reference; and the check never
raises, whatever the student hands in. Lab-specific behaviour of a check is tested in
``test_checks_labNN.py``.
"""

import importlib
import pkgutil

import numpy as np
import pytest

from mlsec_helpers import checks
from mlsec_helpers.exercises import Exercise, check, grade, run_check

MODULES = sorted(m.name for m in pkgutil.iter_modules(checks.__path__) if m.name.startswith("lab"))
EXERCISES = [ex for name in MODULES
             for ex in importlib.import_module(f"mlsec_helpers.checks.{name}").EXERCISES]
MISTAKES = [(ex, m) for ex in EXERCISES for m in ex.mistakes]


def test_every_checks_module_lists_its_exercises():
    assert MODULES, "no checks modules found"
    for name in MODULES:
        module = importlib.import_module(f"mlsec_helpers.checks.{name}")
        declared = {v.name for v in vars(module).values() if isinstance(v, Exercise)}
        assert declared == {ex.name for ex in module.EXERCISES}, name
        assert module.EXERCISES, f"{name} has no exercise"


def test_exercise_names_are_unique():
    names = [ex.name for ex in EXERCISES]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_reference_passes_on_every_case(exercise):
    result = run_check(exercise, exercise.reference)
    assert result.status == "correct", result.line()
    assert result.passed == result.total >= 1


@pytest.mark.parametrize(("exercise", "mistake"), MISTAKES,
                         ids=[f"{e.name}-{m.name[:40]}" for e, m in MISTAKES])
def test_each_known_mistake_is_told_apart(exercise, mistake):
    result = run_check(exercise, mistake.impl)
    assert result.status == "wrong", result.line()
    assert mistake.name in result.message and result.hint == mistake.hint


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_a_stub_falls_back_to_the_reference(exercise, capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError()

    assert check(exercise, stub) is exercise.reference
    assert "not done yet" in capsys.readouterr().out
    assert check(exercise, None) is exercise.reference


def _raises(*args, **kwargs):
    raise ZeroDivisionError("boom")


@pytest.mark.parametrize("answer", [
    _raises,
    lambda *a, **k: None,
    lambda *a, **k: "a string",
    lambda *a, **k: float("nan"),
    lambda *a, **k: object(),
    42,
], ids=["raises", "returns-None", "returns-str", "returns-nan", "returns-object",
        "not-callable"])
@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_the_check_never_raises_and_falls_back(exercise, answer, capsys):
    assert check(exercise, answer) is exercise.reference
    line = capsys.readouterr().out.strip()
    assert line and "\n" not in line


def _first_array(value):
    """The first NumPy array or torch tensor inside an argument (or None)."""
    import torch

    if isinstance(value, np.ndarray) and value.size and value.dtype.kind in "fiub":
        return value
    if isinstance(value, torch.Tensor) and value.numel():
        return value
    if isinstance(value, list | tuple):
        for v in value:
            found = _first_array(v)
            if found is not None:
                return found
    return None


ARRAY_EXERCISES = [ex for ex in EXERCISES
                   if any(_first_array(a) is not None for c in ex._cases() for a in c.args)]


@pytest.mark.parametrize("exercise", ARRAY_EXERCISES, ids=lambda e: e.name)
def test_an_answer_that_modifies_its_arguments_is_caught(exercise, capsys):
    def vandal(*args, **kwargs):
        for a in args:
            arr = _first_array(a)
            if arr is not None:
                arr[...] = 0 if arr.dtype in (bool, np.bool_) else arr * 0 + 7
                return None
        return None

    assert check(exercise, vandal) is exercise.reference
    assert "modified its argument" in capsys.readouterr().out


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_grading_uses_hidden_cases_that_the_reference_passes(exercise):
    assert exercise.hidden_cases is not None, f"{exercise.name} has no hidden cases"
    assert run_check(exercise, exercise.reference, hidden=True).correct
    with pytest.raises(AssertionError, match="not solved"):
        grade(exercise, exercise.reference)  # what check() hands back for a wrong answer
    with pytest.raises(AssertionError):
        grade(exercise, lambda *a, **k: None)

