"""Tests for the global extraction detector of lab 12 (``mlsec_helpers.apisec.detect``)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from mlsec_helpers.apisec import detect


def first_feature(X):
    """A toy decision function: the boundary is feature 0 = 0."""
    return np.asarray(X)[:, 0]


def principal(key_id):
    return SimpleNamespace(name=key_id, role="user", key_id=key_id, tenant=None)


def test_near_boundary_flags_rows_within_the_margin():
    X = np.array([[0.2, 5.0], [-0.9, 1.0], [1.5, 0.0], [-3.0, 2.0]])
    assert detect.near_boundary(first_feature, X, 1.0).tolist() == [True, True, False, False]


@pytest.mark.parametrize("args, err", [
    ((first_feature, np.zeros((3, 2)), 0.0), ValueError),
    ((first_feature, np.zeros((3, 2)), -1.0), ValueError),
    ((first_feature, np.zeros(3), 1.0), ValueError),
    ((first_feature, [[np.nan, 1.0]], 1.0), ValueError),
    (("not a function", np.zeros((3, 2)), 1.0), TypeError),
    ((lambda X: np.zeros(2), np.zeros((3, 2)), 1.0), ValueError),
    ((lambda X: np.full(3, np.inf), np.zeros((3, 2)), 1.0), ValueError),
])
def test_near_boundary_rejects_bad_input(args, err):
    with pytest.raises(err):
        detect.near_boundary(*args)


def test_rolling_counts_counts_the_last_window_flags():
    flags = np.array([1, 1, 0, 1, 0, 0, 1], dtype=bool)
    assert detect.rolling_counts(flags, 3).tolist() == [1, 2, 2, 2, 1, 1, 1]
    two = detect.rolling_counts(np.vstack([flags, ~flags]), 2)
    assert two.shape == (2, 7)
    assert two[1].tolist() == [0, 0, 1, 1, 1, 2, 1]
    assert detect.rolling_counts([0, 1, 1], 10).tolist() == [0, 1, 2]


@pytest.mark.parametrize("flags, window, err", [
    ([0, 2, 1], 2, ValueError),
    ([0.5, 1.0], 2, ValueError),
    ([], 2, ValueError),
    (np.zeros((2, 2, 2), dtype=bool), 2, ValueError),
    ([0, 1], 0, ValueError),
    ([0, 1], 1.5, TypeError),
])
def test_rolling_counts_rejects_bad_input(flags, window, err):
    with pytest.raises(err):
        detect.rolling_counts(flags, window)


def test_day_alarms_per_stream():
    days = np.array([[1, 1, 0, 0, 0, 0], [1, 0, 1, 0, 1, 0], [0, 0, 0, 0, 1, 1]], dtype=bool)
    assert detect.day_alarms(days, 2, 2).tolist() == [True, False, True]
    assert detect.day_alarms(days[1], 3, 2).tolist() == [True]
    with pytest.raises(ValueError):
        detect.day_alarms(days, 2, 0)


def test_calibration_meets_the_stated_rate_and_is_deterministic():
    gen = np.random.default_rng(0)
    flags = gen.random(300) < 0.05
    cal = detect.calibrate_boundary_detector(flags, margin=1.0, window=50, day_length=200,
                                             false_alarm_rate=0.05, n_days=200, seed=1)
    assert cal.simulated_rate <= 0.05
    assert cal.window == 50 and cal.margin == 1.0 and cal.day_length == 200
    assert cal.honest_share.n == 300 and cal.honest_share.high > cal.honest_share.value
    # one less would ring on more than the stated share of simulated days
    days = np.random.default_rng(1).random((200, 200)) < cal.honest_share.high
    assert detect.day_alarms(days, 50, cal.threshold - 1).mean() > 0.05
    again = detect.calibrate_boundary_detector(flags, margin=1.0, window=50, day_length=200,
                                               false_alarm_rate=0.05, n_days=200, seed=1)
    assert again == cal
    # honest days drawn at the calibration share stay (nearly) quiet
    honest = np.random.default_rng(2).random((200, 200)) < flags.mean()
    assert detect.day_alarms(honest, 50, cal.threshold).mean() <= 0.05


@pytest.mark.parametrize("kwargs, err", [
    ({"margin": 0.0}, ValueError),
    ({"margin": 1.0, "window": 0}, ValueError),
    ({"margin": 1.0, "window": 50, "day_length": 10}, ValueError),
    ({"margin": 1.0, "false_alarm_rate": 0.0}, ValueError),
    ({"margin": 1.0, "false_alarm_rate": 1.5}, ValueError),
    ({"margin": 1.0, "n_days": 2}, ValueError),
    ({"margin": 1.0, "seed": -1}, ValueError),
])
def test_calibration_rejects_bad_input(kwargs, err):
    with pytest.raises(err):
        detect.calibrate_boundary_detector(np.zeros(50, dtype=bool), **kwargs)
    with pytest.raises(ValueError):
        detect.calibrate_boundary_detector(np.zeros((5, 5), dtype=bool), margin=1.0)


def test_detector_blocks_the_keys_behind_an_alarm_only():
    det = detect.BoundaryShareDetector(first_feature, margin=0.5, window=10, threshold=4,
                                       min_hits=2)
    far, near = np.array([5.0, 0.0]), np.array([0.1, 0.0])
    for _ in range(10):
        assert not det(principal("honest"), "medical", far)
    assert not det(principal("honest"), "medical", near)  # one near query: no alarm
    assert not det(principal("thief"), "medical", near)
    assert not det(principal("thief"), "medical", near)
    assert det.first_alarm is None
    assert det(principal("thief"), "medical", near)  # fourth near query: alarm, blocked
    assert det.first_alarm == 14
    assert det.blocked == {"thief"}
    assert not det(principal("honest"), "medical", far)  # one near query: not a suspect
    assert det(principal("thief"), "medical", far)  # blocked from now on
    frame = det.frame()
    assert list(frame.columns) == ["key_id", "near", "count", "alarm", "served"]
    assert len(frame) == det.seen == 16
    assert not frame["served"].iloc[-1] and frame["served"].iloc[:-1].all()
    det.clear()
    assert not det.blocked
    assert not det(principal("thief"), "medical", far)
    assert not det(principal("thief"), "medical", near)  # the window starts afresh
    det.reset()
    assert det.seen == 0 and det.first_alarm is None and not det.blocked


def test_detector_spread_over_many_keys_rings_but_blocks_no_one():
    det = detect.BoundaryShareDetector(first_feature, margin=0.5, window=10, threshold=3)
    for k in range(6):
        assert not det(principal(f"key{k}"), "medical", [0.0, 0.0])
    assert det.first_alarm == 3 and det.alarms == 4 and not det.blocked


def test_detector_watches_only_its_systems_and_takes_batches():
    det = detect.BoundaryShareDetector(first_feature, margin=0.5, window=5, threshold=2,
                                       min_hits=1, clock=lambda: 42.0)
    assert not det(principal("a"), "fraud", np.zeros((3, 2)))
    assert det.seen == 0
    assert det(principal("a"), "medical", np.zeros((3, 2)))
    assert det.seen == 3 and det.first_alarm == 2 and det.first_alarm_time == 42.0
    assert "first alarm at query 2" in repr(det)


def test_detector_from_calibration():
    cal = detect.calibrate_boundary_detector(np.zeros(100, dtype=bool), margin=0.5, window=10,
                                             day_length=50, n_days=20)
    det = detect.BoundaryShareDetector.from_calibration(first_feature, cal, min_hits=3)
    assert (det.margin, det.window, det.threshold, det.min_hits) == (0.5, 10, cal.threshold, 3)
    with pytest.raises(TypeError):
        detect.BoundaryShareDetector.from_calibration(first_feature, {"threshold": 3})


@pytest.mark.parametrize("kwargs, err", [
    ({"margin": 0.0, "window": 5, "threshold": 2}, ValueError),
    ({"margin": 1.0, "window": 0, "threshold": 2}, ValueError),
    ({"margin": 1.0, "window": 5, "threshold": 6}, ValueError),
    ({"margin": 1.0, "window": 5, "threshold": 0}, ValueError),
    ({"margin": 1.0, "window": 5, "threshold": 2, "min_hits": 0}, ValueError),
    ({"margin": 1.0, "window": 5, "threshold": 2, "systems": "medical"}, TypeError),
    ({"margin": 1.0, "window": 5, "threshold": 2, "clock": 3.0}, TypeError),
])
def test_detector_rejects_bad_settings(kwargs, err):
    with pytest.raises(err):
        detect.BoundaryShareDetector(first_feature, **kwargs)
    with pytest.raises(TypeError):
        detect.BoundaryShareDetector(None, margin=1.0, window=5, threshold=2)


def test_detector_rejects_bad_queries():
    det = detect.BoundaryShareDetector(first_feature, margin=0.5, window=5, threshold=2)
    with pytest.raises(TypeError):
        det(object(), "medical", [0.0, 1.0])
    with pytest.raises(TypeError):
        det(principal("a"), 3, [0.0, 1.0])
    with pytest.raises(TypeError):
        det.observe("", [0.0, 1.0])
    with pytest.raises(ValueError):
        det.observe("a", [np.nan, 1.0])
    with pytest.raises(ValueError):
        det.observe("a", np.zeros((0, 2)))
    with pytest.raises(ValueError):
        det.observe("a", np.zeros((1, 2, 2)))
    with pytest.raises(TypeError):
        det.observe("a", ["one", "two"])
    assert det.seen == 0


def test_shadow_mode_records_but_refuses_nothing():
    det = detect.BoundaryShareDetector(first_feature, margin=0.5, window=10, threshold=3,
                                       min_hits=2, enforce=False)
    for _ in range(6):
        assert not det(principal("thief"), "medical", [0.0, 0.0])
    assert det.first_alarm == 3 and det.first_suspects == frozenset({"thief"})
    assert det.blocked == {"thief"} and det.frame()["served"].all()
    det.enforce = True  # switched on: the flagged key is refused from now on
    assert det(principal("thief"), "medical", [9.0, 0.0])
    assert not det(principal("other"), "medical", [9.0, 0.0])


def test_suspects_need_enough_and_a_large_share_of_near_queries_in_the_history():
    det = detect.BoundaryShareDetector(first_feature, margin=0.5, window=4, threshold=3,
                                       min_hits=2, min_share=0.5, history=20)
    far, near = [5.0, 0.0], [0.0, 0.0]
    for _ in range(6):
        det(principal("busy clinician"), "medical", far)
    det(principal("busy clinician"), "medical", near)
    det(principal("busy clinician"), "medical", near)  # 2 near of 8: below the share
    det(principal("slow thief"), "medical", near)
    assert det.first_alarm == 9
    assert det.first_suspects == frozenset()  # the thief has one near query so far
    det(principal("slow thief"), "medical", near)
    assert det.blocked == {"slow thief"}
    for _ in range(20):  # the history forgets the thief's queries
        det(principal("busy clinician"), "medical", far)
    det.clear()
    det(principal("slow thief"), "medical", near)
    det(principal("other"), "medical", near)
    det(principal("other"), "medical", near)
    assert det.blocked == {"other"}
    with pytest.raises(ValueError):
        detect.BoundaryShareDetector(first_feature, margin=0.5, window=4, threshold=3,
                                     history=3)
    with pytest.raises(ValueError):
        detect.BoundaryShareDetector(first_feature, margin=0.5, window=4, threshold=3,
                                     min_share=1.5)
