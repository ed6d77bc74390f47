"""The monitoring dashboard of lab 13 and its alert-budget control.

:func:`dashboard` draws the monitors over the week (one row per monitor), each with its
threshold, the week's incidents shaded and labelled (drift and attack in two colours), the
benign calibration period shaded grey, and the alerts marked. :func:`budget_widget` puts an
ipywidgets slider for the alert budget on top: moving it recalibrates every threshold on the
benign hours, redraws the dashboard and a table of detections and false alarms.
:func:`budget_table` is the same trade-off for every budget at once, as a table. All figures use
the course's plotly style (:mod:`mlsec_helpers.plots`).

Introduced in lab 13 (Monitoring and response).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import plots
from ..validate import ArgumentTypeError, check_number
from . import common

__all__ = [
    "BudgetExplorer",
    "INCIDENT_COLORS",
    "budget_table",
    "budget_widget",
    "dashboard",
]

INCIDENT_COLORS = {"drift": plots.COLORS["accent"], "attack": plots.COLORS["attack"]}
"""The shading of an incident on the dashboard, by kind."""


def _incidents(incidents: Iterable[common.Incident]) -> tuple[common.Incident, ...]:
    if isinstance(incidents, common.Week):
        return incidents.incidents
    out = tuple(incidents)
    if not all(isinstance(i, common.Incident) for i in out):
        raise ArgumentTypeError("incidents must hold Incident objects (or pass the Week)")
    return out


def dashboard(frame: pd.DataFrame, thresholds: dict[str, float],
              incidents: Iterable[common.Incident] | common.Week = (),
              title: str | None = None, *, alerts: pd.DataFrame | None = None,
              benign_hours: Iterable[int] | None = common.BENIGN_HOURS,
              log_monitors: Iterable[str] = (), height_per_monitor: int = 150) -> go.Figure:
    """The monitors over the week: one row per column of ``frame`` (from
    :func:`~.common.run_monitors`), the statistic as a line, its threshold as a dashed line,
    the alerts (values above the threshold; computed with :func:`~.common.alerts` unless
    ``alerts`` is given) as red crosses, each incident shaded over its hours and labelled on
    the top row (drift and attack in two colours), and the benign calibration hours shaded
    grey (``benign_hours=None`` leaves them out). Monitors named in ``log_monitors`` get a
    logarithmic axis (for statistics that jump by orders of magnitude under attack).

    Introduced in lab 13 (Monitoring and response).
    """
    frame = common.check_frame(frame)
    incidents = _incidents(incidents)
    found = common.alerts(frame, thresholds) if alerts is None else common.check_alerts(alerts)
    log_monitors = set(log_monitors)
    unknown = log_monitors - {str(c) for c in frame.columns}
    if unknown:
        raise ValueError(f"log_monitors names unknown monitors {sorted(unknown)}")
    names = [str(c) for c in frame.columns]
    n = len(names)
    fig = make_subplots(rows=n, cols=1, shared_xaxes=True, vertical_spacing=min(0.04, 0.3 / n),
                        subplot_titles=names)
    hours = frame.index.to_numpy()
    last = int(hours.max()) + 1 if len(hours) else common.HOURS
    for row, name in enumerate(names, start=1):
        first_row = row == 1
        values = frame[name].to_numpy(dtype=float)
        fig.add_trace(go.Scatter(x=hours, y=values, mode="lines", name="statistic",
                                 line=dict(color=plots.COLORS["baseline"], width=1.6),
                                 legendgroup="statistic", showlegend=first_row,
                                 hovertemplate="hour %{x}<br>%{y:.4g}<extra>" + name
                                 + "</extra>"), row=row, col=1)
        t = float(thresholds[name])
        fig.add_trace(go.Scatter(x=[0, last - 1], y=[t, t], mode="lines", name="threshold",
                                 line=dict(color=plots.COLORS["neutral"], dash="dash", width=1.4),
                                 legendgroup="threshold", showlegend=first_row,
                                 hovertemplate=f"threshold {t:.4g}<extra>{name}</extra>"),
                      row=row, col=1)
        mine = found[found["monitor"] == name]
        fig.add_trace(go.Scatter(x=mine["hour"], y=frame.loc[mine["hour"], name]
                                 if len(mine) else [], mode="markers", name="alert",
                                 marker=dict(color=plots.COLORS["attack"], symbol="x", size=8),
                                 legendgroup="alert", showlegend=first_row,
                                 hovertemplate="alert at hour %{x}<br>%{y:.4g}<extra>" + name
                                 + "</extra>"), row=row, col=1)
        if name in log_monitors:
            fig.update_yaxes(type="log", row=row, col=1)
    if benign_hours is not None:
        benign = common.check_hours(benign_hours, "benign_hours")
        if benign:
            fig.add_vrect(x0=min(benign) - 0.5, x1=max(benign) + 0.5, fillcolor="#ADB5BD",
                          opacity=0.15, line_width=0, row="all", col=1)
            fig.add_annotation(x=(min(benign) + max(benign)) / 2, y=1.0, xref="x",
                               yref="paper", yanchor="bottom", showarrow=False,
                               text="benign: calibration",
                               font=dict(size=11, color=plots.COLORS["neutral"]))
    for inc in incidents:
        fig.add_vrect(x0=inc.start_hour - 0.5, x1=inc.end_hour - 0.5,
                      fillcolor=INCIDENT_COLORS[inc.kind], opacity=0.18, line_width=0,
                      row="all", col=1)
        fig.add_annotation(x=(inc.start_hour + inc.end_hour - 1) / 2, y=1.0, xref="x",
                           yref="paper", yanchor="bottom", showarrow=False,
                           text=f"{inc.kind}: {plots.wrap(inc.name, 22)}",
                           font=dict(size=11, color=INCIDENT_COLORS[inc.kind]))
    ticks = list(range(0, last, common.HOURS_PER_DAY))
    fig.update_xaxes(tickvals=ticks, ticktext=[f"day {t // common.HOURS_PER_DAY + 1}"
                                               for t in ticks], range=[-0.5, last - 0.5])
    fig.update_xaxes(title_text="hour of the week", row=n, col=1)
    fig.update_layout(height=height_per_monitor * n + 140, hovermode="closest",
                      legend=dict(orientation="h", y=-0.06 - 0.2 / n, x=0))
    fig.update_layout(margin=dict(t=90))
    fig.update_layout(title=title, template="plotly_white+mlsec")
    return fig


def _budget_rows(frame: pd.DataFrame, benign: tuple[int, ...], incidents, budget: float,
                 quiet: tuple[int, ...], monitors, method: str, budget_over: str,
                 calibration: pd.DataFrame | None = None) -> dict:
    if calibration is not None:
        thresholds = common.calibrate_frame(calibration, calibration.index, budget,
                                            method=method, budget_over=budget_over)
    else:
        thresholds = common.calibrate_frame(frame, benign, budget, method=method,
                                            budget_over=budget_over)
    found = common.alerts(frame, thresholds)
    row = {"budget": budget,
           "false alarms (benign)": common.false_alarm_rate(found, benign)}
    if quiet:
        row["false alarms (held out)"] = common.false_alarm_rate(found, quiet)
    dets = common.detections(found, incidents)
    return {"thresholds": thresholds, "alerts": found, "row": row, "detections": dets,
            "verdicts": ({inc.name: common.classify_alert(found, monitors, inc.hours)
                          for inc in incidents} if monitors else {})}


def _rate_text(rate) -> str:
    return f"{rate.successes}/{rate.n} = {rate.value:.3f} [{rate.low:.3f}, {rate.high:.3f}]"


def budget_table(frame: pd.DataFrame, benign_hours: Iterable[int],
                 incidents: Iterable[common.Incident] | common.Week,
                 budgets: Sequence[float] = (0.005, 0.01, 0.02, 0.05, 0.1), *,
                 quiet_hours: Iterable[int] = (), method: str = "quantile",
                 budget_over: str = "monitor",
                 calibration: pd.DataFrame | None = None) -> pd.DataFrame:
    """The alert-budget trade-off as a table: one row per budget, with the false alarms on the
    benign hours (and on ``quiet_hours``, held-out ordinary hours, when given) and each
    incident's delay in hours (``None`` = missed), thresholds calibrated with
    :func:`~.common.calibrate_frame` on the benign hours of ``frame``, or on every row of
    ``calibration`` (resampled benign windows, :func:`~.common.calibration_frame`) when given.

    Introduced in lab 13 (Monitoring and response).
    """
    frame = common.check_frame(frame)
    incidents = _incidents(incidents)
    benign = common.check_hours(benign_hours, "benign_hours")
    quiet = common.check_hours(quiet_hours, "quiet_hours")
    rows = []
    for b in _budgets(budgets):
        res = _budget_rows(frame, benign, incidents, b, quiet, (), method, budget_over,
                           _calibration(calibration, frame))
        row = {k: (_rate_text(v) if k.startswith("false") else v)
               for k, v in res["row"].items()}
        for det in res["detections"]:
            row[f"{det.incident}: delay (h)"] = det.delay_hours
        rows.append(row)
    return pd.DataFrame(rows)


def _calibration(calibration: pd.DataFrame | None, frame: pd.DataFrame) -> pd.DataFrame | None:
    if calibration is None:
        return None
    calibration = common.check_frame(calibration)
    if list(calibration.columns) != list(frame.columns):
        raise ValueError("calibration must have the same monitors (columns) as frame")
    return calibration


def _budgets(budgets: Sequence[float]) -> tuple[float, ...]:
    out = tuple(sorted({check_number(b, "budget", low=0.0, high=1.0, low_open=True,
                                     high_open=True) for b in budgets}))
    if not out:
        raise ValueError("budgets is empty")
    return out


class BudgetExplorer:
    """The alert-budget control: a slider over ``budgets``; each position recalibrates the
    thresholds on the benign hours (or on ``calibration``, resampled benign windows), redraws
    the :func:`dashboard` and a table of the incidents
    (detected, delay, the drift/attack verdict when monitors are given) and false alarms.

    ``widget`` is the box to display; moving the slider redraws inside it (in a live kernel).
    :meth:`update` recomputes for a budget and returns the figure; ``table`` and ``thresholds``
    hold the last state, so a run without a browser still shows it.

    Introduced in lab 13 (Monitoring and response).
    """

    def __init__(self, frame: pd.DataFrame, benign_hours: Iterable[int],
                 incidents: Iterable[common.Incident] | common.Week,
                 budgets: Sequence[float] = (0.005, 0.01, 0.02, 0.05, 0.1), *,
                 default: float = 0.01, quiet_hours: Iterable[int] = (),
                 monitors: Iterable[common.Monitor] | None = None, method: str = "quantile",
                 budget_over: str = "monitor", title: str | None = None,
                 log_monitors: Iterable[str] = (),
                 calibration: pd.DataFrame | None = None) -> None:
        import ipywidgets as widgets

        self.frame = common.check_frame(frame)
        self.incidents = _incidents(incidents)
        self.benign = common.check_hours(benign_hours, "benign_hours")
        self.quiet = common.check_hours(quiet_hours, "quiet_hours")
        self.monitors = common.check_monitors(monitors) if monitors is not None else ()
        if self.monitors and [m.name for m in self.monitors] != [str(c) for c in
                                                                 self.frame.columns]:
            raise ValueError("monitors must be the frame's monitors, in its column order")
        self.budgets = _budgets(budgets)
        default = check_number(default, "default", low=0.0, high=1.0, low_open=True,
                               high_open=True)
        if default not in self.budgets:
            raise ValueError(f"default {default} is not one of the budgets {self.budgets}")
        self.method, self.budget_over = method, budget_over
        self.calibration = _calibration(calibration, self.frame)
        self.title, self.log_monitors = title, tuple(log_monitors)
        self.slider = widgets.SelectionSlider(
            options=[(f"{b:.3g}", b) for b in self.budgets], value=default,
            description="alert budget", continuous_update=False,
            style={"description_width": "initial"}, layout=widgets.Layout(width="60%"))
        self.summary = widgets.HTML()
        self.output = widgets.Output()
        self.widget = widgets.VBox([self.slider, self.summary, self.output])
        self.figure = self.update(default, redraw=False)
        self.slider.observe(self._on_change, names="value")

    def _on_change(self, change=None) -> None:
        self.update(self.slider.value)

    def update(self, budget: float | None = None, *, redraw: bool = True) -> go.Figure:
        """Recalibrate at ``budget`` (the slider's value when ``None``), recompute the alerts,
        the table and the figure; redraw them in the widget when ``redraw``. Returns the
        figure."""
        budget = self.slider.value if budget is None else budget
        if budget not in self.budgets:
            raise ValueError(f"budget {budget} is not one of {self.budgets}")
        res = _budget_rows(self.frame, self.benign, self.incidents, budget, self.quiet,
                           self.monitors, self.method, self.budget_over, self.calibration)
        self.thresholds, self.alerts = res["thresholds"], res["alerts"]
        rows = []
        for det in res["detections"]:
            row = {"incident": det.incident, "kind": det.kind,
                   "hours": f"{det.start_hour}-{det.end_hour - 1}",
                   "detected": "yes" if det.detected else "no",
                   "delay (h)": det.delay_hours,
                   "monitors fired": ", ".join(det.monitors) or "none"}
            if self.monitors:
                row["verdict"] = res["verdicts"][det.incident].label
            rows.append(row)
        for key, rate in res["row"].items():
            if key.startswith("false"):
                rows.append({"incident": key, "kind": "-", "hours": f"{rate.n} windows",
                             "detected": _rate_text(rate), "delay (h)": np.nan,
                             "monitors fired": "-"} | ({"verdict": "-"} if self.monitors
                                                       else {}))
        self.table = pd.DataFrame(rows)
        over = "each monitor" if self.budget_over == "monitor" else "any monitor, per window"
        self.summary.value = (f"budget {budget:.3g} ({over}): {len(self.alerts)} alerts in "
                              f"{self.alerts['hour'].nunique()} hours; "
                              f"{sum(d.detected for d in res['detections'])}/"
                              f"{len(res['detections'])} incidents detected")
        title = self.title or "Monitors over the week"
        self.figure = dashboard(self.frame, self.thresholds, self.incidents,
                                f"{title} (alert budget {budget:.3g})", alerts=self.alerts,
                                benign_hours=self.benign, log_monitors=self.log_monitors)
        if redraw:
            from IPython.display import display

            self.output.clear_output(wait=True)
            with self.output:
                display(self.figure)
                display(plots.table(self.table, caption="Incidents and false alarms at this "
                                                        "budget"))
        return self.figure


def budget_widget(frame: pd.DataFrame, benign_hours: Iterable[int],
                  incidents: Iterable[common.Incident] | common.Week,
                  budgets: Sequence[float] = (0.005, 0.01, 0.02, 0.05, 0.1), *,
                  default: float = 0.01, quiet_hours: Iterable[int] = (),
                  monitors: Iterable[common.Monitor] | None = None, method: str = "quantile",
                  budget_over: str = "monitor", title: str | None = None,
                  log_monitors: Iterable[str] = (), calibration: pd.DataFrame | None = None,
                  show: bool = True) -> BudgetExplorer:
    """The alert-budget control (a :class:`BudgetExplorer`). With ``show`` it displays the
    slider and, below it, the dashboard and the table at the ``default`` budget, so a run
    without a browser (nbconvert, the tests) shows the default state; moving the slider in a
    live notebook redraws both inside the widget. Thresholds are calibrated as
    :func:`budget_table` does (``calibration``: resampled benign windows). Returns the explorer
    (end the cell with ``;`` or assign it).

    Introduced in lab 13 (Monitoring and response).
    """
    explorer = BudgetExplorer(frame, benign_hours, incidents, budgets, default=default,
                              quiet_hours=quiet_hours, monitors=monitors, method=method,
                              budget_over=budget_over, title=title, log_monitors=log_monitors,
                              calibration=calibration)
    if show:
        from IPython.display import display

        display(explorer.widget)
        display(explorer.figure)
        display(plots.table(explorer.table, caption=f"Incidents and false alarms at the "
                                                    f"default budget {default:.3g}"))
    return explorer
