"""Lab 02's exercise checks, beyond what tests/test_exercise_checks.py runs for every exercise."""

import numpy as np
import pandas as pd
import pytest

from mlsec_helpers import fraud_sim
from mlsec_helpers.checks import lab02
from mlsec_helpers.exercises import run_check


def test_fgsm_answer_of_the_wrong_type_is_explained():
    result = run_check(lab02.FGSM, lambda model, x, y, eps: [0.0])
    assert result.status == "wrong" and "tensor" in result.message


def test_fgsm_student_may_return_numpy():
    def numpy_fgsm(model, x, y, eps):
        return lab02.fgsm(model, x, y, eps).numpy()

    assert run_check(lab02.FGSM, numpy_fgsm).status == "correct"


def test_projection_gives_valid_rows():
    for case in lab02._proj_cases():
        x = lab02.project_fraud(*case.args)
        assert fraud_sim.check_constraints(pd.DataFrame([x], columns=fraud_sim.FEATURES)).all()
    with pytest.raises(ValueError, match="23 features"):
        lab02.project_fraud(np.zeros(3), np.zeros(3))


def test_certified_radius_rejects_unknown_norm():
    with pytest.raises(ValueError, match="unknown norm"):
        lab02.certified_radius(np.ones(2), 0.0, np.ones((1, 2)), "L7")
