"""Lab 03's exercises: the references pass, each known mistake is named, stubs are 'not done'."""

import numpy as np
import pytest

from mlsec_helpers.checks import lab03
from mlsec_helpers.exercises import run_check

CASES = [
    (lab03.STAMP_TRIGGER, [
        (lab03._stamp_top_left, "top-left"),
        (lab03._stamp_off_by_one, "one pixel off"),
        (lab03._stamp_added, "added"),
        (lab03._stamp_first_only, "first image"),
        (lab03._stamp_always_white, "pixel_value ignored"),
    ]),
    (lab03.SPECTRAL_SCORES, [
        (lab03._spec_uncentred, "uncentred"),
        (lab03._spec_abs, "absolute projection"),
        (lab03._spec_last_vector, "smallest"),
        (lab03._spec_no_centring, "no centring"),
    ]),
    (lab03.AVERAGE_PROFILE, [
        (lab03._avg_global_mean, "global mean"),
        (lab03._avg_no_noise, "noise left out"),
        (lab03._avg_not_rounded, "not rounded"),
        (lab03._avg_not_clipped, "not clipped"),
        (lab03._avg_target_at_mean, "target rated at its mean"),
    ]),
    (lab03.RONI_DECISION, [
        (lab03._roni_sign_flipped, "sign flipped"),
        (lab03._roni_on_training, "base training data"),
        (lab03._roni_candidate_alone, "candidate alone"),
        (lab03._roni_no_tolerance, "tolerance ignored"),
    ]),
]


@pytest.mark.parametrize(("exercise", "mistakes"), CASES, ids=[c[0].name for c in CASES])
def test_reference_is_correct_and_mistakes_are_named(exercise, mistakes):
    assert run_check(exercise, exercise.reference).correct
    for wrong, words in mistakes:
        result = run_check(exercise, wrong)
        assert result.status == "wrong" and words in result.message, (wrong, result.message)
        assert result.hint


@pytest.mark.parametrize("exercise", [c[0] for c in CASES], ids=[c[0].name for c in CASES])
def test_stub_is_not_done(exercise):
    def stub(*args, **kwargs):
        raise NotImplementedError()

    assert run_check(exercise, stub).status == "not_done"


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
