"""Tests of lab 13's shared monitoring pieces: the week, drift statistics, thresholds at an
alert budget, alerts, detection delays, the drift/attack rule and river's detectors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp
from scipy.stats import t as student_t

from mlsec_helpers.monitoring import common
from mlsec_helpers.monitoring.results import AlertVerdict, Detection, WeekReport
from mlsec_helpers.stats import Rate
from mlsec_helpers.validate import ArgumentTypeError

# --- a small synthetic week ---------------------------------------------------------------------


def _week(shift_hours=range(72, 96), attack_hours=range(120, 126), seed=0):
    rng = np.random.default_rng(seed)
    windows = []
    for h in range(common.HOURS):
        X = rng.normal(1.5 if h in shift_hours else 0.0, 1.0, size=(50, 2))
        flag = np.zeros(50, dtype=bool)
        if h in attack_hours:
            flag[:10] = True
        windows.append(common.Window(h, X, rng.integers(0, 2, 50), meta={"flag": flag,
                                                                        "site": "A"}))
    incidents = (common.Incident("shift", "drift", shift_hours.start, shift_hours.stop, "x"),
                 common.Incident("wave", "attack", attack_hours.start, attack_hours.stop, "y"))
    return common.Week("toy", tuple(windows), incidents)


def _monitors():
    return [
        common.Monitor("mean", lambda w: float(w.X[:, 0].mean()), "input", "mean of feature 0"),
        common.Monitor("flagged", lambda w: float(w.meta["flag"].mean()), "attack", "flags"),
    ]


# --- the week -----------------------------------------------------------------------------------


def test_days_and_labels():
    assert common.HOURS == 168 and common.BENIGN_HOURS == tuple(range(48))
    assert common.day_of(0) == 1 and common.day_of(47) == 2 and common.day_of(167) == 7
    assert common.day_hours(4) == range(72, 96)
    assert common.hour_label(50) == "day 3, 02:00"
    with pytest.raises(ValueError):
        common.day_hours(8)
    with pytest.raises(ValueError):
        common.day_of(-1)


def test_incident_hours_exclude_the_end():
    inc = common.Incident("a", "attack", 10, 12, "two hours")
    assert list(inc.hours) == [10, 11] and 10 in inc and 12 not in inc and 9 not in inc
    assert "day 1, 10:00" in inc.when and "day 1, 11:00" in inc.when
    with pytest.raises(ValueError, match="incident kind"):
        common.Incident("a", "poison", 1, 2)
    with pytest.raises(ValueError):
        common.Incident("a", "drift", 5, 5)


def test_window_checks():
    w = common.Window(3, np.zeros((4, 2)), [0, 1, 0, 1], label_hour=5)
    assert len(w) == 4 and w.day == 1
    with pytest.raises(ValueError, match="y_true has 3 labels"):
        common.Window(3, np.zeros((4, 2)), [0, 1, 0])
    with pytest.raises(ValueError):
        common.Window(3, np.zeros((4, 2)), [0, 1, 0, 1], label_hour=2)
    with pytest.raises(ValueError, match="label_hour is set"):
        common.Window(3, np.zeros((4, 2)), label_hour=4)
    with pytest.raises(ArgumentTypeError):
        common.Window(3, 5)
    with pytest.raises(ArgumentTypeError):
        common.Window(3, [1], meta=[1])


def test_week_checks_and_quiet_hours():
    week = _week()
    assert len(week) == 168 and week.incident("wave").kind == "attack"
    quiet = week.quiet_hours
    assert quiet[0] == 48 and 72 not in quiet and 120 not in quiet and 96 in quiet
    assert len(quiet) == 168 - 48 - 24 - 6
    windows = week.windows
    with pytest.raises(ValueError, match="overlaps the benign"):
        common.Week("toy", windows, (common.Incident("early", "drift", 40, 50),))
    with pytest.raises(ValueError, match="one per hour"):
        common.Week("toy", windows[1:])
    with pytest.raises(ValueError, match="after the week"):
        common.Week("toy", windows[:100], (common.Incident("late", "drift", 90, 120),))
    with pytest.raises(ValueError, match="unique"):
        common.Week("toy", windows, (common.Incident("a", "drift", 60, 61),
                                     common.Incident("a", "drift", 62, 63)))
    with pytest.raises(ValueError, match="at least one window"):
        common.Week("toy", ())
    with pytest.raises(ValueError, match="no incident called"):
        week.incident("nothing")


# --- statistics ---------------------------------------------------------------------------------


def test_psi_by_hand():
    reference = np.arange(1, 11, dtype=float)  # quantile cut points at 3.25, 5.5, 7.75 (4 bins)
    current = np.array([1, 2, 3, 4, 9, 10, 10, 10], dtype=float)
    # bins (-inf, 3.25], (3.25, 5.5], (5.5, 7.75], (7.75, inf)
    r = np.array([3, 2, 2, 3]) / 10
    c = np.array([3, 1, 0, 4]) / 8
    c = np.maximum(c, 1e-4)
    expected = float(np.sum((c - r) * np.log(c / r)))
    assert common.psi(reference, current, bins=4) == pytest.approx(expected)
    assert common.psi(reference, reference, bins=4) == pytest.approx(0.0)


def test_psi_grows_with_shift_and_is_finite_on_empty_bins():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=5000)
    small, large = (common.psi(ref, rng.normal(s, 1, 2000)) for s in (0.1, 1.0))
    assert small < 0.05 < 0.25 < large
    assert math.isfinite(common.psi(ref, np.full(10, 100.0)))
    # a constant reference: one cut point, values above it fill the open upper bin
    assert common.psi(np.zeros(20), np.ones(20)) > 1


@pytest.mark.parametrize("bad", [[], [1.0, np.nan], np.ones((3, 2))])
def test_psi_refuses_bad_samples(bad):
    with pytest.raises(ValueError):
        common.psi(np.arange(10.0), bad)
    with pytest.raises(ValueError):
        common.psi(bad, np.arange(10.0))


def test_psi_refuses_bad_bins():
    with pytest.raises(ValueError):
        common.psi(np.arange(10.0), np.arange(10.0), bins=1)
    with pytest.raises(ArgumentTypeError):
        common.psi(np.arange(10.0), np.arange(10.0), bins=2.5)


def test_psi_per_feature():
    rng = np.random.default_rng(1)
    ref, cur = rng.normal(size=(500, 3)), rng.normal(size=(200, 3))
    cur[:, 2] += 2
    values = common.psi_per_feature(ref, cur)
    assert values.shape == (3,) and values[2] > 1 > values[0]
    assert values[1] == pytest.approx(common.psi(ref[:, 1], cur[:, 1]))
    with pytest.raises(ValueError, match="features"):
        common.psi_per_feature(ref, cur[:, :2])


def test_categorical_psi_by_hand():
    r = np.array([2, 2, 2]) / 6
    c = np.maximum(np.array([0, 4, 0]) / 4, 1e-4)
    expected = float(np.sum((c - r) * np.log(c / r)))
    assert common.psi_shares([2, 2, 2], [0, 4, 0]) == pytest.approx(expected)
    assert common.psi_shares([0.2, 0.8], [2, 8]) == pytest.approx(0.0)
    assert common.psi_categorical([0, 1, 2, 1, 0, 2], [1, 1, 1, 1]) == pytest.approx(expected)
    assert common.psi_categorical(list("aab"), list("ab"), categories="abc") > 0
    with pytest.raises(ValueError, match="not among the categories"):
        common.psi_categorical([0, 1], [2], categories=[0, 1])
    with pytest.raises(ValueError):
        common.psi_shares([1, 2], [1, 2, 3])
    with pytest.raises(ValueError):
        common.psi_shares([1, -1], [1, 1])
    with pytest.raises(ValueError, match="sums to 0"):
        common.psi_shares([0, 0], [1, 1])
    with pytest.raises(ValueError):
        common.psi_categorical([], [1])
    with pytest.raises(ValueError):
        common.psi_categorical([1.0, np.nan], [1.0])


def test_ks_per_feature_matches_scipy_and_holm_by_hand():
    rng = np.random.default_rng(2)
    ref = rng.normal(size=(300, 3))
    cur = np.c_[rng.normal(size=(100, 2)), rng.normal(1.0, 1.0, 100)]
    table = common.ks_per_feature(ref, cur, feature_names=["a", "b", "c"])
    assert list(table.columns) == ["feature", "statistic", "p_value", "p_adjusted", "drifted"]
    for j in range(3):
        res = ks_2samp(ref[:, j], cur[:, j])
        assert table.loc[j, "statistic"] == pytest.approx(res.statistic)
        assert table.loc[j, "p_value"] == pytest.approx(res.pvalue)
    p = table["p_value"].to_numpy()
    order = np.argsort(p)
    holm = np.maximum.accumulate(p[order] * np.array([3, 2, 1]))
    expected = np.empty(3)
    expected[order] = np.minimum(holm, 1)
    np.testing.assert_allclose(table["p_adjusted"], expected)
    assert table["drifted"].tolist() == [False, False, True]
    bonf = common.ks_per_feature(ref, cur, correction="bonferroni")
    np.testing.assert_allclose(bonf["p_adjusted"], np.minimum(p * 3, 1))
    assert common.ks_per_feature(ref[:, 0], cur[:, 0]).shape == (1, 5)


def test_holm_by_hand():
    np.testing.assert_allclose(common._holm(np.array([0.01, 0.04, 0.03])), [0.03, 0.06, 0.06])


def test_ks_refuses_bad_input():
    with pytest.raises(ValueError, match="features"):
        common.ks_per_feature(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="correction"):
        common.ks_per_feature(np.zeros((5, 2)), np.zeros((5, 2)), correction="fdr")
    with pytest.raises(ValueError, match="feature_names"):
        common.ks_per_feature(np.zeros((5, 2)), np.zeros((5, 2)), feature_names=["a"])
    with pytest.raises(ValueError):
        common.ks_per_feature(np.zeros((5, 2)), np.zeros((0, 2)))


def test_classifier_two_sample_test():
    rng = np.random.default_rng(3)
    ref = rng.normal(size=(400, 5))
    same = [common.multivariate_drift(ref, rng.normal(size=(60, 5)), seed=s) for s in range(5)]
    assert 0.35 < np.mean(same) < 0.65
    moved = common.multivariate_drift(ref, rng.normal(1.0, 1, size=(60, 5)), seed=0)
    assert moved > 0.9
    # deterministic for a seed
    cur = rng.normal(size=(40, 5))
    first = common.multivariate_drift(ref, cur, seed=7)
    assert first == common.multivariate_drift(ref, cur, seed=7)


def test_mmd_by_hand():
    rng = np.random.default_rng(4)
    ref, cur = rng.normal(size=(6, 2)), rng.normal(size=(5, 2))
    pooled = np.vstack([ref, cur])
    d = ((pooled[:, None, :] - pooled[None, :, :]) ** 2).sum(-1)
    med = np.median(d[np.triu_indices(11, 1)])
    k = np.exp(-d / med)
    kxx, kyy, kxy = k[:6, :6], k[6:, 6:], k[:6, 6:]
    expected = ((kxx.sum() - np.trace(kxx)) / 30 + (kyy.sum() - np.trace(kyy)) / 20
                - 2 * kxy.mean())
    assert common.multivariate_drift(ref, cur, method="mmd") == pytest.approx(expected)


def test_multivariate_drift_refuses_bad_input():
    with pytest.raises(ValueError, match="at least 5 rows"):
        common.multivariate_drift(np.zeros((50, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="features"):
        common.multivariate_drift(np.zeros((50, 2)), np.zeros((10, 3)))
    with pytest.raises(ValueError, match="method"):
        common.multivariate_drift(np.zeros((50, 2)), np.zeros((10, 2)), method="energy")
    with pytest.raises(ValueError):
        common.multivariate_drift(np.zeros((50, 2)), np.full((10, 2), np.nan))
    with pytest.raises(ValueError):
        common.multivariate_drift(np.zeros(50), np.zeros(10))


# --- thresholds ---------------------------------------------------------------------------------


def test_calibrate_quantile_and_conformal_by_hand():
    values = np.arange(1, 101, dtype=float)
    assert common.calibrate(values, 0.05) == 95.0  # 5 values (96..100) lie above
    assert common.calibrate(values, 0.05, method="conformal") == 96.0  # floor(5.05) - 1 = 4
    assert common.calibrate(values[:48], 0.01) == 48.0  # too few: the maximum
    assert common.calibrate(values[:48], 0.01, method="conformal") == 48.0
    assert common.calibrate(values, 0.5) == 50.0


@pytest.mark.parametrize("rate", [0.01, 0.05, 0.2])
@pytest.mark.parametrize("method", ["quantile", "conformal"])
def test_calibrate_meets_its_rate_on_the_benign_values(rate, method):
    values = np.random.default_rng(5).gamma(2.0, size=1000)
    t = common.calibrate(values, rate, method=method)
    assert (values > t).mean() <= rate
    assert (values >= t).mean() > rate - 2 / len(values)  # and is not needlessly high


def test_conformal_keeps_later_windows_at_the_rate_on_average():
    rng = np.random.default_rng(6)
    later = [(rng.normal(size=5000) > common.calibrate(rng.normal(size=200), 0.01,
                                                       method="conformal")).mean()
             for _ in range(200)]
    assert np.mean(later) < 0.0115


def test_calibrate_normal_is_the_prediction_bound():
    values = np.random.default_rng(7).normal(size=30)
    n = len(values)
    expected = values.mean() + student_t.ppf(0.99, n - 1) * values.std(ddof=1) * math.sqrt(
        1 + 1 / n)
    assert common.calibrate(values, 0.01, method="normal") == pytest.approx(expected)
    with pytest.raises(ValueError, match="at least 3"):
        common.calibrate([1.0, 2.0], 0.01, method="normal")


@pytest.mark.parametrize("rate", [0.0, 1.0, 1.5, -0.1, float("nan")])
def test_calibrate_refuses_rates_outside_0_1(rate):
    with pytest.raises(ValueError):
        common.calibrate(np.arange(10.0), rate)


@pytest.mark.parametrize("values", [[], [1.0, np.nan], np.ones((3, 3)), [1.0, np.inf]])
def test_calibrate_refuses_bad_values(values):
    with pytest.raises(ValueError):
        common.calibrate(values, 0.01)


def test_calibrate_frame_drops_nan_and_splits_the_budget():
    frame = pd.DataFrame({"a": np.arange(100.0), "b": np.r_[np.nan, np.arange(99.0)]})
    per = common.calibrate_frame(frame, range(100), 0.02)
    assert per == {"a": 97.0, "b": 97.0}  # b: 99 values, floor(1.98) = 1 may lie above
    window = common.calibrate_frame(frame, range(100), 0.02, budget_over="window")
    assert window == {"a": 98.0, "b": 98.0}  # 1% each: a 1 above, b 0 above
    frame["c"] = np.nan
    with pytest.raises(ValueError, match="no value on any benign hour"):
        common.calibrate_frame(frame, range(100), 0.02)
    with pytest.raises(ValueError, match="not rows"):
        common.calibrate_frame(frame[["a"]], [200], 0.02)
    with pytest.raises(ArgumentTypeError):
        common.calibrate_frame(np.zeros((3, 2)), [0], 0.02)


# --- alerts and detection -----------------------------------------------------------------------


def test_alerts_are_strictly_above_and_skip_nan():
    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, np.nan], "b": [5.0, 0.0, 6.0, 7.0]})
    frame.index.name = "hour"
    found = common.alerts(frame, {"a": 1.0, "b": 5.0})
    assert list(found.columns) == ["hour", "monitor", "value", "threshold"]
    assert list(zip(found["hour"], found["monitor"], strict=True)) == [(2, "a"), (2, "b"),
                                                                        (3, "b")]
    with pytest.raises(ValueError, match="exactly the monitors"):
        common.alerts(frame, {"a": 1.0})
    with pytest.raises(ValueError):
        common.alerts(frame, {"a": 1.0, "b": np.nan})
    assert common.alerts(frame, {"a": 10.0, "b": 10.0}).empty


def test_time_to_detection_edge_cases():
    inc = common.Incident("x", "attack", 100, 110)
    assert common.time_to_detection([100], inc) == 1.0  # alert on the first window
    assert common.time_to_detection([50, 103, 105], inc) == 4.0  # earlier alerts do not count
    assert common.time_to_detection([109], inc) == 10.0  # the last window
    assert common.time_to_detection([110, 99], inc) is None  # just outside on both sides
    assert common.time_to_detection([], inc) is None
    frame = pd.DataFrame({"hour": [101, 102], "monitor": ["a", "b"]})
    assert common.time_to_detection(frame, inc) == 2.0
    assert common.time_to_detection(np.array([100.0]), inc) == 1.0
    with pytest.raises(ArgumentTypeError):
        common.time_to_detection("100", inc)
    with pytest.raises(ValueError):
        common.time_to_detection([-1], inc)
    with pytest.raises(ArgumentTypeError):
        common.time_to_detection([1.5], inc)
    with pytest.raises(ArgumentTypeError):
        common.time_to_detection([100], (100, 110))
    with pytest.raises(ValueError, match="'hour' column"):
        common.time_to_detection(pd.DataFrame({"h": [1]}), inc)


def test_false_alarm_rate_counts_hours_with_an_alert():
    rate = common.false_alarm_rate([3, 3, 10, 60], range(48))
    assert isinstance(rate, Rate)
    assert (rate.successes, rate.n) == (2, 48) and "48 benign hourly windows" in rate.on
    assert rate.low < 2 / 48 < rate.high
    with pytest.raises(ValueError, match="empty"):
        common.false_alarm_rate([1], [])
    with pytest.raises(ValueError, match="repeated"):
        common.false_alarm_rate([1], [1, 1])


def test_run_monitors_and_bad_monitors():
    week = _week()
    frame = common.run_monitors(week, _monitors())
    assert frame.shape == (168, 2) and frame.index.name == "hour"
    assert frame.loc[120, "flagged"] == 0.2 and frame.loc[0, "flagged"] == 0.0
    silent = common.Monitor("silent", lambda w: None if w.hour < 50 else 1.0)
    assert common.run_monitors(week, [silent])["silent"].isna().sum() == 50
    with pytest.raises(ValueError, match="unique"):
        common.run_monitors(week, _monitors() * 2)
    with pytest.raises(ValueError):
        common.run_monitors(week, [common.Monitor("inf", lambda w: np.inf)])
    with pytest.raises(ArgumentTypeError):
        common.run_monitors(week, [common.Monitor("text", lambda w: "high")])
    with pytest.raises(ArgumentTypeError):
        common.run_monitors(week, ["mean"])
    with pytest.raises(ArgumentTypeError):
        common.run_monitors("week", _monitors())
    with pytest.raises(ValueError, match="monitor kind"):
        common.Monitor("m", len, "output")
    with pytest.raises(ArgumentTypeError):
        common.Monitor("m", 3)


def test_monitor_week_detects_and_tells_drift_from_attack(unchanged_global_state):
    week = _week()
    report = common.monitor_week(week, _monitors(), 0.01)
    assert isinstance(report, WeekReport) and report.all_detected
    shift, wave = report.detection("shift"), report.detection("wave")
    assert isinstance(shift, Detection) and shift.delay_hours == 1.0
    assert wave.delay_hours == 1.0 and wave.monitors == ("flagged",)
    assert report.verdicts["shift"].label == "drift"
    assert report.verdicts["wave"].label == "attack"
    assert report.false_alarms.successes == 0  # in-sample, at most the budget
    assert report.held_out_false_alarms is not None
    assert report.first_alert_hour == 72
    table = common.detections_table(report)
    assert table["verdict"].tolist() == ["drift", "attack"]
    with pytest.raises(ValueError, match="no incident"):
        report.detection("none")
    resampled = common.monitor_week(week, _monitors(), 0.01, resample=100,
                                    method="conformal", seed=1)
    assert resampled.all_detected
    with pytest.raises(ValueError, match="columns"):
        common.monitor_week(week, _monitors(), frame=pd.DataFrame({"x": np.zeros(168)}))


def test_classify_alert_rule_and_min_hours():
    monitors = _monitors()
    found = pd.DataFrame({"hour": [1, 2, 2, 5], "monitor": ["mean", "mean", "flagged", "mean"],
                          "value": [2.0, 3.0, 0.5, 2.0], "threshold": [1.0, 1.0, 0.1, 1.0]})
    verdict = common.classify_alert(found, monitors, range(0, 3))
    assert isinstance(verdict, AlertVerdict) and verdict.label == "attack"
    assert verdict.attack_monitors == ("flagged",) and verdict.drift_monitors == ("mean",)
    assert "5x its threshold" in verdict.evidence
    assert common.classify_alert(found, monitors, [5]).label == "drift"
    assert common.classify_alert(found, monitors, [7]).label == "none"
    # one isolated attack-monitor alert no longer counts with min_hours=2
    strict = common.classify_alert(found, monitors, range(0, 3), min_hours=2)
    assert strict.label == "drift" and "flagged" in strict.evidence
    with pytest.raises(ValueError, match="not in monitors"):
        common.classify_alert(found.assign(monitor="other"), monitors, [1])
    table = common.classify_incidents(found, monitors, [
        common.Incident("a", "attack", 0, 3), common.Incident("b", "drift", 5, 6)])
    assert table["correct"].tolist() == [True, True]


def test_new_alerts_are_the_ones_the_baseline_lacks():
    base = pd.DataFrame({"a": [0.0, 2.0, 0.0], "b": [0.0, 0.0, 0.0]})
    attacked = pd.DataFrame({"a": [0.0, 2.0, 2.0], "b": [2.0, 0.0, 0.0]})
    new = common.new_alerts(attacked, base, {"a": 1.0, "b": 1.0})
    assert list(zip(new["hour"], new["monitor"], strict=True)) == [(0, "b"), (2, "a")]
    with pytest.raises(ValueError, match="same hours"):
        common.new_alerts(attacked, base[["a"]], {"a": 1.0, "b": 1.0})


def test_largest_quiet():
    assert common.largest_quiet([1, 2, 3, 4], lambda c: c * 10.0, 25.0) == 2
    assert common.largest_quiet([1, 2], lambda c: {"m": c}, {"m": 1.5}) == 1
    assert common.largest_quiet([5], lambda c: c, 1.0) is None
    frame = lambda c: pd.DataFrame({"m": [0.0, c]})  # noqa: E731
    assert common.largest_quiet([0.5, 1.0, 2.0], frame, {"m": 1.0}) == 1.0
    with pytest.raises(ValueError, match="empty"):
        common.largest_quiet([], lambda c: c, 1.0)
    with pytest.raises(ValueError, match="monitors"):
        common.largest_quiet([1], lambda c: {"x": c}, {"m": 1.0})


def test_resample_windows_draws_rows_together():
    week = _week()
    windows = common.resample_windows(week, 20, seed=3)
    assert len(windows) == 20 and [w.hour for w in windows] == list(range(20))
    assert all(len(w) == 50 and w.meta["flag"].shape == (50,) for w in windows)
    assert windows[0].meta["site"] == "A" and not any(w.meta["flag"].any() for w in windows)
    again = common.resample_windows(week, 20, seed=3)
    np.testing.assert_array_equal(windows[5].X, again[5].X)
    # rows come from the benign hours only, with their labels
    pool = np.concatenate([week.windows[h].X for h in week.benign_hours])
    assert np.isin(windows[0].X[:, 0], pool[:, 0]).all()
    frame_rows = [common.Window(h, pd.DataFrame({"v": [h, h]}), meta={"k": [h, h]})
                  for h in range(50)]
    df_week = common.Week("df", tuple(frame_rows))
    drawn = common.resample_windows(df_week, 3, size=4)
    assert isinstance(drawn[0].X, pd.DataFrame) and len(drawn[0].X) == 4
    assert drawn[0].X["v"].tolist() == drawn[0].meta["k"]
    cal = common.calibration_frame(week, _monitors(), 30, seed=1)
    assert cal.shape == (30, 2) and cal.index.name == "window"
    with pytest.raises(ValueError):
        common.resample_windows(week, 0)
    with pytest.raises(ValueError):
        common.resample_windows(week, 5, hours=[500])


# --- river --------------------------------------------------------------------------------------


def test_stream_change_finds_a_step_after_it_happens():
    rng = np.random.default_rng(8)
    values = np.r_[rng.normal(0, 1, 100), rng.normal(4, 1, 68)]
    for detector in ("ADWIN", "KSWIN", "PageHinkley"):
        first = common.stream_change(values, detector)
        assert first is not None and 100 <= first < 140, detector
    series = pd.Series(values, index=np.arange(168) + 1000)
    assert common.stream_change(series, "PageHinkley") >= 1100
    errors = np.r_[rng.random(100) < 0.05, rng.random(68) < 0.6].astype(float)
    found = common.stream_changes(errors, "DDM", warm_start=30)  # params reach river
    assert any(100 <= h < 140 for h in found)
    assert common.stream_change(np.zeros(50), "ADWIN") is None
    assert isinstance(common.stream_changes(values, "ADWIN"), list)


def test_stream_change_refuses_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        common.stream_change([1.0, np.nan, 2.0])
    with pytest.raises(ValueError, match="0/1"):
        common.stream_change([0.5, 1.0], "DDM")
    with pytest.raises(ValueError, match="detector"):
        common.stream_change([1.0, 2.0], "CUSUM")
    with pytest.raises(ValueError):
        common.stream_change(np.zeros((3, 2)))


def test_window_meta_gives_the_entries_none_when_empty_and_names_the_builder():
    full = common.Window(5, np.zeros((2, 1)), meta={"a": np.ones(2), "b": np.zeros(2)})
    assert common.window_meta(full, ("a", "b"), "a", builder="make_week") is full.meta
    empty = common.Window(6, np.zeros((0, 1)), meta={"a": np.ones(0), "b": np.zeros(0)})
    assert common.window_meta(empty, ("a",), "a", builder="make_week") is None
    with pytest.raises(ValueError, match="make_week"):
        common.window_meta(full, ("a", "c"), "a", builder="make_week")


def test_hourly_counts_spreads_one_count_or_checks_one_per_hour():
    assert common.hourly_counts(range(3), 2) == ([0, 1, 2], [2, 2, 2])
    assert common.hourly_counts([5, 6], [1, 0]) == ([5, 6], [1, 0])
    with pytest.raises(ValueError):
        common.hourly_counts([5, 6], [1])
    with pytest.raises(ValueError):
        common.hourly_counts([common.HOURS], 1)
    with pytest.raises(ValueError):
        common.hourly_counts([1], -1)
