"""The figures of lab 07 that every domain shares: where bias enters a system, and the
summary of gaps before and after mitigation.

Introduced in lab 07 (Bias and fairness).
"""

from __future__ import annotations

from .. import plots
from ..validate import ArgumentTypeError
from .results import Disparity

__all__ = ["bias_pipeline_diagram", "disparity_summary"]


def bias_pipeline_diagram():
    """Where bias enters a model's life (data, labels, model, decisions, feedback), and where
    an attacker or an interested party can push it: the picture at the top of lab 07.

    Introduced in lab 07 (Bias and fairness).
    """
    import plotly.graph_objects as go

    stages = [
        ("who is in the data", "sampling, history"),
        ("what the labels say", "past human decisions"),
        ("what the model learns", "proxies, shortcuts"),
        ("what is decided", "thresholds, rankings"),
        ("what comes back", "feedback loops"),
    ]
    fig = go.Figure()
    for k, (name, how) in enumerate(stages):
        x = k * 1.3
        fig.add_shape(type="rect", x0=x, x1=x + 1.05, y0=0.45, y1=0.95, fillcolor="white",
                      line=dict(color=plots.COLORS["baseline"], width=2))
        fig.add_annotation(x=x + 0.525, y=0.7, text=f"<b>{name}</b><br>{how}",
                           showarrow=False, font=dict(size=11))
        if k:
            fig.add_annotation(x=x, y=0.7, ax=x - 0.25, ay=0.7, xref="x", yref="y",
                               axref="x", ayref="y", text="", showarrow=True, arrowhead=3,
                               arrowcolor=plots.COLORS["neutral"])
    for x, text in ((0.5, "poisoned or skewed<br>training data"),
                    (3.1, "a model tuned to<br>pass one audit metric"),
                    (5.7, "gaming the<br>feedback")):
        fig.add_annotation(x=x, y=0.15, text=text, showarrow=True, ax=0, ay=35,
                           arrowcolor=plots.COLORS["attack"], font=dict(
                               size=10, color=plots.COLORS["attack"]))
    fig.update_xaxes(visible=False, range=[-0.1, 6.45])
    fig.update_yaxes(visible=False, range=[-0.05, 1.05])
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=50, b=10),
                      title="Where bias enters a system, and where someone can push it")
    return fig


def disparity_summary(rows: dict):
    """One bar pair per domain: a fairness gap before and after mitigation, with its interval
    (``rows``: ``{domain: (metric_name, before, after)}``, ``before``/``after``
    :class:`~mlsec_helpers.fairness.Disparity`).

    Introduced in lab 07 (Bias and fairness).
    """
    import plotly.graph_objects as go

    if not rows:
        raise ValueError("rows must name at least one domain")
    for name, row in rows.items():
        if (not isinstance(row, tuple | list) or len(row) != 3
                or not all(isinstance(d, Disparity) for d in row[1:])):
            raise ArgumentTypeError(f"row {name!r} must be (metric name, Disparity, Disparity)")
    labels = [f"{d}<br><sup>{row[0]}</sup>" for d, row in rows.items()]
    fig = go.Figure()
    for k, (name, color) in enumerate((("before", "baseline"), ("after", "defended")), start=1):
        ds = [row[k] for row in rows.values()]
        fig.add_trace(go.Bar(
            x=labels, y=[d.value for d in ds], name=f"{name} mitigation",
            marker_color=plots.COLORS[color],
            error_y=dict(type="data", array=[d.high - d.value for d in ds],
                         arrayminus=[d.value - d.low for d in ds]),
            hovertemplate="%{x}: %{y:.3f}<extra>" + name + "</extra>"))
    fig.update_layout(barmode="group", height=430, yaxis_title="gap between groups",
                      title="The fairness gap each section measured, before and after "
                            "mitigation (95% bootstrap intervals)")
    return fig
