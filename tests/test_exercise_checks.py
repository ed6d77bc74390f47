"""Every exercise of every lab, through one parametrised test (labs 00-14 as they come).

Each ``mlsec_helpers.checks.labNN`` module lists its exercises in ``EXERCISES``. For each one:
the reference passes on every case; each known mistake is told apart (named, with its hint);
a stub that raises ``NotImplementedError`` falls back to the reference; and the check never
raises, whatever the student hands in. Lab-specific behaviour of a check is tested in
``test_checks_labNN.py``.
"""

import importlib
import pkgutil

import pytest

from mlsec_helpers import checks
from mlsec_helpers.exercises import Exercise, check, run_check

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
