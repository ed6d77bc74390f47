"""Lab 02's exercise checks: the references pass, every known mistake is named, stubs fall back."""

import numpy as np
import pandas as pd
import pytest

from mlsec_helpers import fraud_sim
from mlsec_helpers.checks import lab02
from mlsec_helpers.exercises import check, run_check

EXERCISES = [lab02.FGSM, lab02.CANONICALISE, lab02.CERTIFIED_RADIUS, lab02.PROJECT_FRAUD]


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_reference_passes(exercise):
    result = run_check(exercise, exercise.reference)
    assert result.status == "correct" and result.passed == result.total >= 3


@pytest.mark.parametrize(
    ("exercise", "mistake"),
    [(ex, m) for ex in EXERCISES for m in ex.mistakes],
    ids=lambda v: getattr(v, "name", None),
)
def test_each_mistake_is_told_apart(exercise, mistake):
    result = run_check(exercise, mistake.impl)
    assert result.status == "wrong"
    assert mistake.name in result.message and result.hint == mistake.hint


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_stub_falls_back_to_the_reference(exercise, capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError()

    assert check(exercise, stub) is exercise.reference
    assert "not done yet" in capsys.readouterr().out


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
