"""The two assertions every mutant suite (tests/test_checks_labNN.py) makes about an answer."""

import pytest

from mlsec_helpers.exercises import grade, run_check


def assert_rejected(exercise, answer):
    """A wrong answer: the check says "wrong" and the grading fails it."""
    result = run_check(exercise, answer)
    assert result.status == "wrong", result.line()
    with pytest.raises(AssertionError):
        grade(exercise, answer)


def assert_accepted(exercise, answer):
    """A correct answer written another way: the check and the grading both accept it."""
    result = run_check(exercise, answer)
    assert result.status == "correct", result.line()
    assert grade(exercise, answer).correct
