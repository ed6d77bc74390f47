"""Lab 03's exercise checks, beyond what tests/test_exercise_checks.py runs for every exercise."""

import numpy as np

from mlsec_helpers.checks import lab03
from mlsec_helpers.exercises import run_check


def test_wrong_shapes_are_reported():
    r = run_check(lab03.STAMP_TRIGGER, lambda x, distance=2, pixel_value=1.0: x[:, 0])
    assert r.status == "wrong" and "shape" in r.message
    r = run_check(lab03.AVERAGE_PROFILE, lambda *a, **k: np.zeros(3))
    assert r.status == "wrong" and "dense row" in r.message
    r = run_check(lab03.RONI_DECISION, lambda *a, **k: 0.0)
    assert r.status == "wrong" and "pair" in r.message


def test_student_solutions_written_another_way_pass():
    def stamp(x, distance=2, pixel_value=1.0):
        out = x.copy()
        h, w = x.shape[-2:]
        d = distance
        for r, c in [(h - d, w - d), (h - d - 1, w - d - 1), (h - d, w - d - 2),
                     (h - d - 2, w - d)]:
            out[..., r, c] = pixel_value
        return out

    def spectral(features):
        centred = features - features.mean(0)
        _, vecs = np.linalg.eigh(centred.T @ centred)
        return (centred @ vecs[:, -1]) ** 2

    assert run_check(lab03.STAMP_TRIGGER, stamp).correct
    assert run_check(lab03.SPECTRAL_SCORES, spectral).correct
