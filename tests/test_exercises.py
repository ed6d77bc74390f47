"""The exercise mechanism and lab 00's checks: right, wrong (with the mistake named), not done."""

import statistics

import numpy as np
import pytest

from mlsec_helpers.exercises import Case, Exercise, Mistake, check, grade, run_check, summary


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
    assert r.status == "wrong" and "ZeroDivisionError" in r.message
    assert run_check(SQUARE, 42).status == "wrong"
    bad = Exercise("bad", _square, cases=lambda: 1 / 0)
    assert run_check(bad, _square).status == "error"


def test_student_cannot_mutate_the_cases_and_is_told_it_modified_them():
    def mutating(x):
        x[0] = 99
        return x

    ex = Exercise("id", lambda x: x.copy(), [Case((np.array([1, 2]),))])
    r = run_check(ex, mutating)
    assert ex.cases[0].args[0][0] == 1
    assert r.status == "wrong" and "modified its argument `x`" in r.message


def test_summary_lists_checked_exercises():
    check(SQUARE, _square, show=False)
    assert "square" in set(summary()["exercise"])


# --- the harness guards (issue: checks that tell right from wrong) ---------------------------


IDENTITY = Exercise("identity", lambda X: np.asarray(X, dtype=float).copy(),
                    [Case((np.arange(6.0),), label="six numbers"),
                     Case((np.zeros(3),), label="zeros"), Case((np.ones(2),), label="ones")],
                    time_limit=0.5)


@pytest.mark.parametrize(("answer", "words"), [
    (lambda X: None, "expected [0. 1. 2. 3. 4. 5.]"),
    (lambda X: __import__("sys").exit(3), "sys.exit()"),
    (lambda X: exec("raise KeyboardInterrupt"), "interrupted"),
    (lambda X: [0] * len(X), "expected"),
])
def test_bad_answers_get_one_clear_line(answer, words, capsys):
    assert check(IDENTITY, answer) is IDENTITY.reference
    line = capsys.readouterr().out.strip()
    assert words in line and "\n" not in line and "reference implementation is used" in line


def test_a_hanging_answer_is_stopped():
    def hangs(X):
        while True:
            pass

    r = run_check(IDENTITY, hangs)
    assert r.status == "wrong" and "time limit" in r.message


def test_an_answer_that_swallows_everything_is_still_stopped():
    def stubborn(X):
        while True:
            try:
                while True:
                    pass
            except Exception:
                continue

    assert "time limit" in run_check(IDENTITY, stubborn).message


def test_the_error_line_is_in_the_students_code():
    def mine(X):
        total = 0
        return total / 0  # the line the student must see

    r = run_check(IDENTITY, mine)
    assert "the line the student must see" in r.message and "of your code" in r.message


def test_arrays_show_the_first_difference_and_the_largest():
    def off(X):
        Y = np.asarray(X, dtype=float).copy()
        Y[2:] += 0.5
        return Y

    r = run_check(IDENTITY, off)
    assert "first difference at index 2: expected 2, got 2.5" in r.message
    assert "largest difference 0.5" in r.message


# a reference that lives in another module, as the labs' references do (checks/labNN.py)
MEDIAN = Exercise("median", statistics.median, [Case(([3, 1, 2],)), Case(([4, 1],))],
                  hidden_cases=[Case(([5, 9, 1, 7],))])


def test_a_wrapper_around_the_reference_is_not_an_answer():
    r = run_check(MEDIAN, lambda v: statistics.median(v))
    assert r.status == "wrong" and "calls the reference" in r.message
    assert run_check(MEDIAN, lambda v: float(np.median(v))).correct


def test_a_mistake_is_named_only_when_it_matches_every_case():
    # doubles on the first case only: wrong, but not "doubling"
    r = run_check(SQUARE, lambda x: 4 if x == 2 else 0)
    assert r.status == "wrong" and "doubling" not in r.message and "looks like" not in r.message
    r = run_check(SQUARE, lambda x: 2 * x)
    assert "this looks like doubling" in r.message


def test_validation_and_comparison_errors_blame_the_output():
    def validate(got, case):
        return None if got.shape == case.args[0].shape else "wrong shape"

    ex = Exercise("v", lambda X: X.copy(), [Case((np.zeros(2),))], validate=validate)
    r = run_check(ex, lambda X: 3)  # an int has no .shape: the validation itself raises
    assert r.status == "wrong" and "returned 3" in r.message


def test_float32_answers_are_compared_with_a_float32_tolerance():
    ex = Exercise("f", lambda X: np.asarray(X, dtype=np.float64) / 3.0,
                  [Case((np.arange(1.0, 5.0),))])
    assert run_check(ex, lambda X: np.asarray(X, dtype=np.float32) / np.float32(3)).correct
    assert not run_check(ex, lambda X: np.asarray(X, dtype=np.float32) / np.float32(3.01)).correct


def test_grade_uses_hidden_cases_and_raises_for_wrong_answers():
    ex = Exercise("sq", _square, [Case((2,))], hidden_cases=[Case((7,)), Case((-1,))])
    assert grade(ex, lambda x: x * x).correct
    with pytest.raises(AssertionError, match="expected 49"):
        grade(ex, lambda x: 4)  # right on the visible case only
    with pytest.raises(AssertionError, match="calls the reference"):
        grade(MEDIAN, lambda v: statistics.median(v))
    assert grade(MEDIAN, lambda v: float(np.median(v))).correct
    with pytest.raises(AssertionError, match="not solved"):
        grade(ex, _square)  # check() hands the reference back for a wrong answer
    with pytest.raises(ValueError, match="no hidden cases"):
        grade(SQUARE, _square)


def test_same_value_sees_in_place_changes():
    import torch

    from mlsec_helpers.exercises import same_value

    a = torch.nn.Linear(2, 1)
    b = __import__("copy").deepcopy(a)
    assert same_value(a, b)
    with torch.no_grad():
        b.weight += 1
    assert not same_value(a, b)
    assert same_value(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))
    assert not same_value({"k": [1, 2]}, {"k": [1, 3]})
    assert same_value(len, len)


def test_tuple_outputs_say_which_element_differs():
    ex = Exercise("pair", lambda X: (X.copy(), X * 2), [Case((np.arange(3.0),))])
    r = run_check(ex, lambda X: (X.copy(), X * 3))
    assert "element 1 of the tuple differs; first difference at index 1" in r.message


def test_a_function_without_a_module_is_checked_too():
    namespace = {}
    exec("def f(x):\n    return x * x\n", namespace)
    assert run_check(SQUARE, namespace["f"]).correct


def test_the_threat_categories_are_read_only():
    from mlsec_helpers import catalogue

    with pytest.raises(TypeError):
        catalogue.THREAT_CATEGORIES["bias"] = None


def test_requires_grad_set_on_an_input_counts_as_a_change():
    import torch

    from mlsec_helpers.exercises import same_value

    a = torch.zeros(3)
    b = a.clone().requires_grad_(True)
    assert not same_value(a, b)


def _clip_reference(x, low):
    if low < 0:
        raise ValueError(f"low must be >= 0, got {low}")
    return np.maximum(np.asarray(x, float), low)


CLIP = Exercise(
    name="clip_below",
    reference=_clip_reference,
    cases=[Case((np.array([-1.0, 0.5, 2.0]), 0.0), label="clip at 0"),
           Case((np.array([0.1, 3.0]), 1.0), label="clip at 1"),
           Case((np.array([1.0]), -1.0), label="a negative floor", raises=ValueError)],
    mistakes=[Mistake("the floor never applied", lambda x, low: np.asarray(x, float),
                      "apply np.maximum")],
)


def test_a_case_can_require_a_clear_error_for_bad_input():
    assert run_check(CLIP, _clip_reference).status == "correct"

    def no_check(x, low):
        return np.maximum(np.asarray(x, float), low)

    result = run_check(CLIP, no_check)
    assert result.status == "wrong" and "should raise ValueError" in result.line()
    assert "returned" in result.line() and "a negative floor" in result.line()

    def wrong_error(x, low):
        if low < 0:
            raise TypeError("no")
        return np.maximum(np.asarray(x, float), low)

    line = run_check(CLIP, wrong_error).line()
    assert "should raise ValueError, but your function raised TypeError" in line

    def never_clips(x, low):  # a known mistake is still named with a bad-input case present
        if low < 0:
            raise ValueError("low < 0")
        return np.asarray(x, float)

    assert "the floor never applied" in run_check(CLIP, never_clips).line()


def test_compare_may_see_the_case():
    seen = []

    def compare(got, expected, case):
        seen.append(case.label)
        return np.allclose(got, expected, atol=0.5 if case.label == "loose" else 1e-9)

    ex = Exercise(name="double", reference=lambda x: 2 * x, compare=compare,
                  cases=[Case((1.0,), label="loose"), Case((2.0,), label="strict")])
    assert run_check(ex, lambda x: 2 * x + (0.3 if x == 1.0 else 0.0)).status == "correct"
    assert run_check(ex, lambda x: 2 * x + 0.3).status == "wrong"
    assert "loose" in seen and "strict" in seen


def test_an_answer_that_only_waits_is_stopped_by_the_wall_clock_backstop():
    import time

    ex = Exercise(name="identity_quick", reference=lambda X: X, cases=[Case((1,))],
                  time_limit=0.05)

    def sleeps(X):
        time.sleep(5)
        return X

    start = time.perf_counter()
    r = run_check(ex, sleeps)
    assert r.status == "wrong" and "time limit" in r.message
    assert time.perf_counter() - start < 2.0  # 10 x 0.05 s of wall clock, not 5 s


def test_the_limit_counts_cpu_time_not_waiting():
    import time

    ex = Exercise(name="identity_patient", reference=lambda X: X, cases=[Case((1,))],
                  time_limit=0.2)

    def naps(X):  # 0.3 s of wall clock but almost no CPU: within a 0.2 s CPU limit
        time.sleep(0.3)
        return X

    assert run_check(ex, naps).status == "correct"


def test_no_timer_is_left_armed_even_under_a_c_level_profiler():
    import cProfile
    import signal

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        run_check(CLIP, _clip_reference)
    finally:
        profiler.disable()
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
