"""Plotly helpers with one consistent style for every lab.

Importing this module registers the ``mlsec`` template and makes it the default, so a student's
own ``px``/``go`` figures match the course's. Every helper returns a ``go.Figure``.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from .catalogue import DOMAINS

__all__ = [
    "COLORS",
    "DOMAIN_COLORS",
    "SEQUENCE",
    "before_after_bars",
    "box_diagram",
    "confusion_matrix",
    "curves",
    "heatmap",
    "image_grid",
    "lifecycle_diagram",
    "roc_curves",
    "table",
    "wrap",
]

#: The course palette: one colour per role, the same in every lab.
COLORS = {
    "baseline": "#3B6FB6",  # the undefended system
    "attack": "#D1495B",  # what the attacker achieves
    "defended": "#2A9D8F",  # after the defence
    "neutral": "#8D99AE",
    "accent": "#EDAE49",
}
#: One colour per domain, in the course's section order (catalogue.DOMAINS).
DOMAIN_COLORS = dict(zip(DOMAINS, ("#3B6FB6", "#8E6C8A", "#EDAE49", "#D1495B", "#2A9D8F"),
                         strict=True))
SEQUENCE = list(DOMAIN_COLORS.values()) + ["#00798C", "#30638E", "#6A994E", "#BC4B51"]

pio.templates["mlsec"] = go.layout.Template(
    layout=dict(
        font=dict(family="Inter, Helvetica, Arial, sans-serif", size=13, color="#2B2D42"),
        title=dict(font=dict(size=16), x=0.02, xanchor="left"),
        colorway=SEQUENCE,
        plot_bgcolor="white",
        paper_bgcolor="white",
        margin=dict(l=60, r=20, t=60, b=50),
        xaxis=dict(showgrid=True, gridcolor="#E9ECEF", zeroline=False, linecolor="#ADB5BD"),
        yaxis=dict(showgrid=True, gridcolor="#E9ECEF", zeroline=False, linecolor="#ADB5BD"),
        legend=dict(bgcolor="rgba(255,255,255,0.8)", borderwidth=0),
        colorscale=dict(sequential="Blues", diverging="RdBu"),
        hoverlabel=dict(font_size=12),
    )
)
pio.templates.default = "plotly_white+mlsec"


def _title(fig: go.Figure, title: str | None, height: int | None = None) -> go.Figure:
    fig.update_layout(title=title, template="plotly_white+mlsec")
    if height:
        fig.update_layout(height=height)
    return fig


def image_grid(images, labels=None, ncols: int = 8, title: str | None = None,
               zmin: float | None = 0.0, zmax: float | None = 1.0, colorscale: str = "gray_r",
               size: int = 110) -> go.Figure:
    """A grid of grey-scale images with optional captions (e.g. "7 -> 3").

    ``images`` is (n, H, W) or (n, 1, H, W). Introduced in lab 00 (Meet the five systems).
    """
    imgs = np.asarray(images, dtype=np.float32)
    if imgs.ndim == 4 and imgs.shape[1] == 1:
        imgs = imgs[:, 0]
    if imgs.ndim != 3 or len(imgs) == 0:
        raise ValueError(f"images must be (n, H, W) or (n, 1, H, W) with n >= 1, got {imgs.shape}")
    if labels is not None and len(labels) != len(imgs):
        raise ValueError(f"got {len(labels)} labels for {len(imgs)} images")
    n = len(imgs)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig = make_subplots(
        rows=nrows, cols=ncols, horizontal_spacing=0.01, vertical_spacing=0.08 if labels else 0.02,
        subplot_titles=[str(lab) for lab in labels] if labels is not None else None,
    )
    for k, img in enumerate(imgs):
        fig.add_trace(
            go.Heatmap(z=img[::-1], colorscale=colorscale, zmin=zmin, zmax=zmax,
                       showscale=False,
                       hovertemplate="x=%{x} y=%{y} value=%{z:.2f}<extra></extra>"),
            row=k // ncols + 1, col=k % ncols + 1,
        )
    fig.update_xaxes(visible=False, scaleanchor=None)
    fig.update_yaxes(visible=False)
    fig.update_annotations(font_size=11)
    _title(fig, title, height=size * nrows + (80 if title else 30))
    fig.update_layout(width=max(300, size * ncols), margin=dict(l=10, r=10, t=60 if title else 20,
                                                                 b=10))
    return fig


def before_after_bars(groups, before, after, *, before_name: str = "before",
                      after_name: str = "after", title: str | None = None,
                      yaxis_title: str | None = None, percent: bool = False) -> go.Figure:
    """Grouped bars of one metric before and after (an attack, a defence) per group.

    Introduced in lab 00 (Meet the five systems).
    """
    groups = [str(g) for g in groups]
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if not (len(groups) == len(before) == len(after)):
        raise ValueError("groups, before and after must have the same length")
    fmt = ".0%" if percent else ".3g"
    fig = go.Figure([
        go.Bar(name=before_name, x=groups, y=before, marker_color=COLORS["baseline"],
               text=[f"{v:{fmt}}" for v in before], textposition="outside"),
        go.Bar(name=after_name, x=groups, y=after, marker_color=COLORS["defended"],
               text=[f"{v:{fmt}}" for v in after], textposition="outside"),
    ])
    fig.update_layout(barmode="group", yaxis_title=yaxis_title)
    if percent:
        fig.update_yaxes(tickformat=".0%", range=[0, 1.12])
    return _title(fig, title, height=400)


def curves(x, series: dict, *, title: str | None = None, xaxis_title: str | None = None,
           yaxis_title: str | None = None, log_x: bool = False, log_y: bool = False,
           markers: bool = True) -> go.Figure:
    """Line plot of several named series over one x (accuracy vs eps, loss vs epoch, ...).

    Introduced in lab 00 (Meet the five systems).
    """
    x = np.asarray(x)
    if not series:
        raise ValueError("series must name at least one curve")
    fig = go.Figure()
    for k, (name, y) in enumerate(series.items()):
        y = np.asarray(y, dtype=float)
        if y.shape != x.shape:
            raise ValueError(f"series {name!r} has shape {y.shape}, x has {x.shape}")
        color = COLORS.get(name) or DOMAIN_COLORS.get(name) or SEQUENCE[k % len(SEQUENCE)]
        fig.add_trace(go.Scatter(x=x, y=y, name=str(name), mode="lines+markers" if markers
                                 else "lines", line=dict(color=color, width=2.5)))
    fig.update_layout(xaxis_title=xaxis_title, yaxis_title=yaxis_title)
    if log_x:
        fig.update_xaxes(type="log")
    if log_y:
        fig.update_yaxes(type="log")
    return _title(fig, title, height=380)


def heatmap(z, x_labels, y_labels, *, title: str | None = None, colorscale: str = "Blues",
            text_format: str = ".2f", zmin=None, zmax=None, xaxis_title: str | None = None,
            yaxis_title: str | None = None) -> go.Figure:
    """An annotated heatmap (risk matrices, correlation tables, ...).

    Introduced in lab 00 (Meet the five systems).
    """
    z = np.asarray(z, dtype=float)
    if z.shape != (len(y_labels), len(x_labels)):
        raise ValueError(f"z is {z.shape}, labels say ({len(y_labels)}, {len(x_labels)})")
    fig = go.Figure(go.Heatmap(
        z=z, x=[str(v) for v in x_labels], y=[str(v) for v in y_labels], colorscale=colorscale,
        zmin=zmin, zmax=zmax, text=[[f"{v:{text_format}}" for v in row] for row in z],
        texttemplate="%{text}", hovertemplate="%{y} / %{x}: %{z}<extra></extra>",
    ))
    fig.update_layout(xaxis_title=xaxis_title, yaxis_title=yaxis_title)
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(showgrid=False)
    return _title(fig, title, height=max(300, 40 * len(y_labels) + 140))


def confusion_matrix(y_true, y_pred, labels, *, normalize: bool = True,
                     title: str | None = None) -> go.Figure:
    """A confusion-matrix heatmap (rows: true class, columns: predicted), row-normalised.

    Introduced in lab 00 (Meet the five systems).
    """
    from sklearn.metrics import confusion_matrix as _cm

    labels = [str(v) for v in labels]
    cm = _cm(np.asarray(y_true), np.asarray(y_pred), labels=list(range(len(labels))))
    z = cm / np.maximum(cm.sum(1, keepdims=True), 1) if normalize else cm
    fig = heatmap(z, labels, labels, title=title, text_format=".2f" if normalize else "d",
                  zmin=0, zmax=1 if normalize else None, xaxis_title="predicted",
                  yaxis_title="true")
    fig.data[0].customdata = cm
    fig.data[0].hovertemplate = "true %{y}, predicted %{x}: %{customdata} rows<extra></extra>"
    return fig


def roc_curves(curves_: dict, *, title: str | None = None, log: bool = False) -> go.Figure:
    """ROC curves from ``{name: (y_true, scores)}``, with each AUC in the legend.

    ``log=True`` draws both axes on log scales (how membership-inference papers report them).
    Introduced in lab 00 (Meet the five systems).
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    fig = go.Figure()
    for k, (name, (y_true, scores)) in enumerate(curves_.items()):
        fpr, tpr, _ = roc_curve(y_true, scores)
        auc = roc_auc_score(y_true, scores)
        color = COLORS.get(name) or DOMAIN_COLORS.get(name) or SEQUENCE[k % len(SEQUENCE)]
        fig.add_trace(go.Scatter(x=fpr, y=tpr, name=f"{name} (AUC {auc:.3f})",
                                 line=dict(color=color, width=2.5)))
    lo = 1e-3 if log else 0.0
    fig.add_trace(go.Scatter(x=[lo, 1], y=[lo, 1], name="chance",
                             line=dict(color=COLORS["neutral"], dash="dash")))
    fig.update_layout(xaxis_title="false-positive rate", yaxis_title="true-positive rate")
    if log:
        fig.update_xaxes(type="log", range=[-3, 0])
        fig.update_yaxes(type="log", range=[-3, 0])
    return _title(fig, title, height=440)


def table(frame, *, precision: int = 3, caption: str | None = None):
    """A pandas Styler that renders a DataFrame as a clean table in the notebook.

    Introduced in lab 00 (Meet the five systems).
    """
    sty = frame.style.format(precision=precision, na_rep="-").hide(axis="index")
    sty = sty.set_table_styles([
        {"selector": "th", "props": "text-align: left; background: #F1F3F5; padding: 4px 8px;"},
        {"selector": "td", "props": "text-align: left; padding: 4px 8px;"},
    ])
    return sty.set_caption(caption) if caption else sty


def wrap(text: str, width: int) -> str:
    """``text`` broken into lines of at most ``width`` characters, joined by ``<br>`` (plotly's
    line break in labels and annotations).

    Introduced in lab 00 (Meet the five systems).
    """
    import textwrap

    return "<br>".join(textwrap.wrap(text, width)) or text


def lifecycle_diagram(stages, lab_titles: dict[int, str] | None = None,
                      title: str | None = None) -> go.Figure:
    """The ML lifecycle as a row of boxes with arrows, and under each stage the threats
    (labs) that enter there.

    ``stages`` is a sequence of records with ``name``, ``description`` and ``labs``
    (``mlsec_helpers.frameworks.LIFECYCLE_STAGES.values()``).
    Introduced in lab 00 (Meet the five systems).
    """
    stages = list(stages)
    if not stages:
        raise ValueError("stages must not be empty")
    lab_titles = lab_titles or {}
    fig = go.Figure()
    n, w, gap = len(stages), 1.0, 0.35
    for k, stage in enumerate(stages):
        x0 = k * (w + gap)
        fig.add_shape(type="rect", x0=x0, x1=x0 + w, y0=0.66, y1=0.96, line=dict(
            color=COLORS["baseline"], width=2), fillcolor="#E8F0FA", layer="below")
        name = wrap(stage.name.replace("/", "/ "), 14)
        fig.add_annotation(x=x0 + w / 2, y=0.81, text=f"<b>{name}</b>", showarrow=False,
                           font=dict(size=13))
        if k < n - 1:
            fig.add_annotation(x=x0 + w + gap - 0.02, y=0.81, ax=x0 + w + 0.02, ay=0.81,
                               xref="x", yref="y", axref="x", ayref="y", text="",
                               showarrow=True, arrowhead=3, arrowsize=1.3, arrowwidth=2,
                               arrowcolor=COLORS["neutral"])
        threats = "<br>".join(
            wrap(f"{lab:02d} {lab_titles.get(lab, '')}".strip(), 18) for lab in stage.labs
        )
        fig.add_annotation(x=x0 + w / 2, y=0.55, text=threats, showarrow=False, yanchor="top",
                           font=dict(size=11, color=COLORS["attack"]), align="center")
        fig.add_trace(go.Scatter(x=[x0 + w / 2], y=[0.81], mode="markers", marker=dict(
            size=60, opacity=0), hovertext=stage.description, hoverinfo="text",
            showlegend=False))
    fig.update_xaxes(visible=False, range=[-0.1, n * (w + gap) - gap + 0.1])
    fig.update_yaxes(visible=False, range=[0.0, 1.0])
    fig.update_layout(margin=dict(l=10, r=10, t=60 if title else 10, b=10))
    return _title(fig, title, height=380)


def box_diagram(boxes, arrows=(), *, title: str | None = None, height: int = 330,
                notes=(), box_size: tuple[float, float] = (1.1, 0.4)) -> go.Figure:
    """A diagram of labelled boxes joined by arrows, for a lab's threat picture.

    ``boxes``: ``(x, y, text, role)`` with the box's lower-left corner and a role of
    :data:`COLORS` (its outline colour). ``arrows``: ``((x0, y0), (x1, y1), label)``, drawn from
    the first point to the second with the label at the middle (``""`` for none). ``notes``:
    ``(x, y, text, role)`` free text coloured by role. Axes fit the content.

    Introduced in lab 09 (Federated learning).
    """
    w, h = box_size
    fig = go.Figure()
    xs, ys = [0.0], [0.0]
    for x, y, text, role in boxes:
        fig.add_shape(type="rect", x0=x, x1=x + w, y0=y, y1=y + h, fillcolor="white",
                      line=dict(color=COLORS[role], width=2))
        fig.add_annotation(x=x + w / 2, y=y + h / 2, text=text, showarrow=False,
                           font=dict(size=11))
        xs += [x, x + w]
        ys += [y, y + h]
    for (x0, y0), (x1, y1), label in arrows:
        fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y",
                           text="", showarrow=True, arrowhead=3, arrowwidth=2,
                           arrowcolor=COLORS["neutral"])
        if label:
            fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2 + 0.08, text=label,
                               showarrow=False, font=dict(size=10, color=COLORS["neutral"]))
    for x, y, text, role in notes:
        fig.add_annotation(x=x, y=y, text=text, showarrow=False,
                           font=dict(size=10, color=COLORS[role]))
        xs.append(x)
        ys.append(y)
    fig.update_xaxes(visible=False, range=[min(xs) - 0.05, max(xs) + 0.05])
    fig.update_yaxes(visible=False, range=[min(ys) - 0.05, max(ys) + 0.1])
    fig.update_layout(margin=dict(l=10, r=10, t=50 if title else 10, b=10))
    return _title(fig, title, height=height)
