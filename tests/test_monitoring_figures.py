"""Tests of lab 13's dashboard and its alert-budget control."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from mlsec_helpers import plots
from mlsec_helpers.monitoring import common, figures
from mlsec_helpers.validate import ArgumentTypeError


@pytest.fixture(scope="module")
def week_and_frame():
    rng = np.random.default_rng(0)
    windows = tuple(common.Window(h, rng.normal(2.0 if 72 <= h < 96 else 0.0, 1, (40, 2)),
                                  meta={"flag": np.full(40, 120 <= h < 124)})
                    for h in range(common.HOURS))
    week = common.Week("toy", windows, (
        common.Incident("new sensor", "drift", 72, 96, "a drift"),
        common.Incident("wave", "attack", 120, 124, "an attack")))
    monitors = [common.Monitor("mean", lambda w: float(w.X.mean()), "input"),
                common.Monitor("flagged", lambda w: float(w.meta["flag"].mean()), "attack")]
    frame = common.run_monitors(week, monitors)
    return week, monitors, frame


def test_dashboard_has_a_row_per_monitor_with_threshold_alerts_and_incidents(week_and_frame):
    week, _, frame = week_and_frame
    thresholds = common.calibrate_frame(frame, week.benign_hours, 0.01)
    fig = figures.dashboard(frame, thresholds, week, "toy week", log_monitors=["mean"])
    assert isinstance(fig, go.Figure) and fig.layout.title.text == "toy week"
    assert len(fig.data) == 3 * frame.shape[1]  # statistic, threshold, alerts per monitor
    names = [t.name for t in fig.data]
    assert names.count("threshold") == 2 and names.count("alert") == 2
    found = common.alerts(frame, thresholds)
    marked = sum(len(t.x) for t in fig.data if t.name == "alert")
    assert marked == len(found) > 0
    thresh = [t for t in fig.data if t.name == "threshold"][0]
    assert thresh.y[0] == pytest.approx(thresholds["mean"])
    # shaded spans: benign period + 2 incidents, on each of the 2 rows
    assert len(fig.layout.shapes) == 3 * 2
    colors = {s.fillcolor for s in fig.layout.shapes}
    assert figures.INCIDENT_COLORS["attack"] in colors
    assert figures.INCIDENT_COLORS["drift"] in colors
    labels = [a.text for a in fig.layout.annotations]
    assert "drift: new sensor" in labels and "attack: wave" in labels
    assert "benign: calibration" in labels
    assert fig.layout.yaxis.type == "log"
    assert list(fig.layout.xaxis2.ticktext)[:2] == ["day 1", "day 2"]
    assert plots.COLORS["baseline"] == fig.data[0].line.color


def test_dashboard_refuses_bad_input(week_and_frame):
    week, _, frame = week_and_frame
    thresholds = common.calibrate_frame(frame, week.benign_hours, 0.01)
    with pytest.raises(ValueError, match="log_monitors"):
        figures.dashboard(frame, thresholds, week, log_monitors=["nope"])
    with pytest.raises(ValueError, match="exactly the monitors"):
        figures.dashboard(frame, {"mean": 1.0}, week)
    with pytest.raises(ArgumentTypeError):
        figures.dashboard(frame.to_numpy(), thresholds, week)
    with pytest.raises(ArgumentTypeError):
        figures.dashboard(frame, thresholds, [("wave", 1, 2)])
    # no benign shading when asked
    fig = figures.dashboard(frame, thresholds, week.incidents, benign_hours=None)
    assert len(fig.layout.shapes) == 2 * 2


def test_budget_table_has_one_row_per_budget(week_and_frame):
    week, _, frame = week_and_frame
    table = figures.budget_table(frame, week.benign_hours, week, (0.1, 0.01, 0.05),
                                 quiet_hours=week.quiet_hours)
    assert table["budget"].tolist() == [0.01, 0.05, 0.1]
    assert {"false alarms (benign)", "false alarms (held out)", "wave: delay (h)",
            "new sensor: delay (h)"} <= set(table.columns)
    assert table["wave: delay (h)"].tolist() == [1.0, 1.0, 1.0]
    assert table["false alarms (benign)"].iloc[0].startswith("0/48")
    with pytest.raises(ValueError):
        figures.budget_table(frame, week.benign_hours, week, (0.0,))
    with pytest.raises(ValueError, match="empty"):
        figures.budget_table(frame, week.benign_hours, week, ())


def test_budget_widget_redraws_at_another_budget(week_and_frame):
    week, monitors, frame = week_and_frame
    explorer = figures.budget_widget(frame, week.benign_hours, week, monitors=monitors,
                                     quiet_hours=week.quiet_hours, show=False)
    assert isinstance(explorer, figures.BudgetExplorer)
    assert explorer.slider.value == 0.01 and "0.01" in explorer.figure.layout.title.text
    table = explorer.table
    assert table["incident"].tolist()[:2] == ["new sensor", "wave"]
    assert table["verdict"].tolist()[:2] == ["drift", "attack"]
    assert "false alarms (held out)" in table["incident"].tolist()
    before = dict(explorer.thresholds)
    fig = explorer.update(0.1)
    assert "0.1" in fig.layout.title.text
    assert explorer.thresholds["mean"] < before["mean"]
    assert len(explorer.alerts) >= len(common.alerts(frame, before))
    assert "incidents detected" in explorer.summary.value
    with pytest.raises(ValueError, match="not one of"):
        explorer.update(0.3)
    with pytest.raises(ValueError, match="default"):
        figures.budget_widget(frame, week.benign_hours, week, (0.05,), show=False)
    with pytest.raises(ValueError, match="column order"):
        figures.budget_widget(frame, week.benign_hours, week, monitors=monitors[::-1],
                              show=False)


def test_budget_widget_calibrates_on_resampled_windows(week_and_frame, capsys):
    week, monitors, frame = week_and_frame
    cal = common.calibration_frame(week, monitors, 120, seed=0)
    explorer = figures.budget_widget(frame, week.benign_hours, week, calibration=cal,
                                     method="conformal")  # shows the default state
    expected = common.calibrate_frame(cal, cal.index, 0.01, method="conformal")
    assert explorer.thresholds == expected
    assert capsys.readouterr().out  # displayed (as text outside a notebook)
    with pytest.raises(ValueError, match="same monitors"):
        figures.budget_widget(frame, week.benign_hours, week, calibration=cal[["mean"]],
                              show=False)
    assert isinstance(pd.DataFrame(explorer.table), pd.DataFrame)
