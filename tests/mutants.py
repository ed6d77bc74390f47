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


def assert_enough_mutants(exercises, wrong, right, *, n_wrong=8, n_right=4):
    """Each exercise has at least ``n_wrong`` wrong and ``n_right`` right answers in the suite
    (lists of ``(exercise, answer)``), and no wrong answer is one of its known mistakes."""
    for exercise in exercises:
        wrong_here = [f for ex, f in wrong if ex is exercise]
        right_here = [f for ex, f in right if ex is exercise]
        assert len(wrong_here) >= n_wrong and len(right_here) >= n_right, exercise.name
        known = {m.impl.__code__ for m in exercise.mistakes}
        assert not known & {f.__code__ for f in wrong_here}, exercise.name


def mutant_tests(wrong, right):
    """The two parametrised tests of a mutant suite, for a test module to bind at its top level
    (pytest collects them by those names): every wrong answer is rejected by the check and the
    grading, every right one accepted by both. ``wrong``/``right``: lists of
    ``(exercise, answer)``."""

    @pytest.mark.parametrize(("exercise", "answer"), wrong, ids=[f.__name__ for _, f in wrong])
    def test_a_wrong_answer_is_rejected_by_the_check_and_the_grading(exercise, answer):
        assert_rejected(exercise, answer)

    @pytest.mark.parametrize(("exercise", "answer"), right, ids=[f.__name__ for _, f in right])
    def test_a_correct_answer_written_differently_is_accepted(exercise, answer):
        assert_accepted(exercise, answer)

    return (test_a_wrong_answer_is_rejected_by_the_check_and_the_grading,
            test_a_correct_answer_written_differently_is_accepted)
