"""The exercise mechanism and lab 00's checks: right, wrong (with the mistake named), not done."""

import numpy as np
import pytest

from mlsec_helpers.checks import lab00
from mlsec_helpers.exercises import Case, Exercise, Mistake, check, run_check, summary


def _square(x):
    return x * x


SQUARE = Exercise(
    "square", _square, [Case((2,)), Case((-3,))],
    mistakes=[Mistake("doubling", lambda x: 2 * x, "multiply x by itself")],
)


def test_correct_student_is_returned(capsys):
    def mine(x):
        return x**2

    assert check(SQUARE, mine) is mine
    assert "✅ [square] correct on 2 cases" in capsys.readouterr().out


def test_not_done_falls_back_to_reference(capsys):
    def stub(x):
        raise NotImplementedError()

    assert check(SQUARE, stub) is _square
    assert check(SQUARE, None) is _square
    assert "not done yet" in capsys.readouterr().out


def test_known_mistake_is_named():
    r = run_check(SQUARE, lambda x: 2 * x)
    assert r.status == "wrong" and "doubling" in r.message and r.hint == "multiply x by itself"


def test_unknown_wrong_answer_shows_expected_and_got():
    r = run_check(SQUARE, lambda x: x + 1)
    assert r.status == "wrong" and "expected 4" in r.message and "got 3" in r.message


def test_errors_never_propagate():
    r = run_check(SQUARE, lambda x: 1 / 0)
    assert r.status == "error" and "ZeroDivisionError" in r.message
    assert run_check(SQUARE, 42).status == "wrong"
    bad = Exercise("bad", _square, cases=lambda: 1 / 0)
    assert run_check(bad, _square).status == "error"


def test_student_cannot_mutate_the_cases():
    def mutating(x):
        x[0] = 99
        return x

    ex = Exercise("id", lambda x: x, [Case((np.array([1, 2]),))])
    run_check(ex, mutating)
    assert ex.cases[0].args[0][0] == 1


def test_summary_lists_checked_exercises():
    check(SQUARE, _square, show=False)
    assert "square" in set(summary()["exercise"])


def test_standardise_matches_sklearn():
    from sklearn.preprocessing import StandardScaler

    gen = np.random.default_rng(0)
    a, b = gen.normal(size=(20, 3)), gen.normal(size=(4, 3))
    za, zb = lab00.standardise(a, b)
    sc = StandardScaler().fit(a)
    np.testing.assert_allclose(za, sc.transform(a))
    np.testing.assert_allclose(zb, sc.transform(b))


def test_recall_at_budget_bad_input():
    with pytest.raises(ValueError, match="budget"):
        lab00.recall_at_budget(np.ones(3), np.ones(3), 0)
    with pytest.raises(ValueError, match="same length"):
        lab00.recall_at_budget(np.ones(3), np.ones(4), 0.5)
