"""Lab 05's exercise checks, beyond what tests/test_exercise_checks.py runs for every exercise."""

import numpy as np
import pytest

from mlsec_helpers.checks import lab05
from mlsec_helpers.exercises import run_check


def test_a_student_solution_written_differently_is_accepted():
    from scipy.optimize import brentq

    def with_brentq(eps_of, target_eps, lo, hi, tol=1e-3):
        root = brentq(lambda s: eps_of(s) - target_eps, lo, hi, xtol=1e-9)
        return root + 1e-7  # a hair above the root, so the budget holds

    assert run_check(lab05.NOISE_FOR_BUDGET, with_brentq).status == "correct"

    def tpr_by_sorting(y_true, scores, fpr):
        y, s = np.asarray(y_true).astype(bool), np.asarray(scores, float)
        best = 0.0
        for t in np.unique(s):
            called = s >= t
            if called[~y].mean() <= fpr:
                best = max(best, called[y].mean())
        return best

    assert run_check(lab05.TPR_AT_FPR, tpr_by_sorting).status == "correct"


def test_unknown_wrong_answers_are_reported_with_the_expected_value():
    result = run_check(lab05.LIRA_OFFLINE_SCORE, lambda t, s, global_std=None: 0.0)
    assert result.status == "wrong" and "expected" in result.message
    bad_shape = run_check(lab05.LOSS_THRESHOLD_ATTACK, lambda p, y, t: np.zeros(3))
    assert bad_shape.status == "wrong" and "pair" in bad_shape.message
    too_little_noise = run_check(lab05.NOISE_FOR_BUDGET, lambda f, e, lo, hi, tol=1e-3: lo)
    assert too_little_noise.status == "wrong"
    assert "more than the budget" in too_little_noise.message


def test_noise_for_budget_reference_checks_its_bracket():
    with pytest.raises(ValueError, match="raise hi"):
        lab05.noise_for_budget(lambda s: 4.0 / s, 1.0, 0.5, 2.0)
    with pytest.raises(ValueError):
        lab05.noise_for_budget(lambda s: 4.0 / s, 1.0, 3.0, 2.0)
    with pytest.raises(TypeError):
        lab05.noise_for_budget(4.0, 1.0, 0.5, 10.0)
