"""The figures of lab 01: data-flow diagrams, the risk matrix, the ranking of risks, the
threat in one picture, and the :class:`RiskExplorer` widget that re-ranks risks when scores or
controls change.

Introduced in lab 01 (Threat modelling).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..catalogue import DOMAINS, THREAT_CATEGORIES
from ..plots import COLORS, DOMAIN_COLORS, wrap
from ..validate import check_choice, check_int
from . import common
from .model import (
    BAND_COLORS,
    IMPACT,
    LIKELIHOOD,
    NODE_KINDS,
    RISK_BANDS,
    DataFlow,
    EntryPoint,
    Flow,
    ResidualFn,
    ThreatModel,
    check_impact,
    check_likelihood,
    check_models,
    risk_band,
)

__all__ = [
    "RiskExplorer",
    "dataflow_figure",
    "overview_figure",
    "ranking_figure",
    "risk_matrix_figure",
]

_BOX_W, _BOX_H = 2.0, 0.8


def _short(text: str, width: int) -> str:
    """``text`` cut at a word boundary to at most ``width`` characters, with an ellipsis."""
    return text if len(text) <= width else textwrap.shorten(text, width, placeholder=" …")


def _edge_point(cx: float, cy: float, tx: float, ty: float,
                centre: tuple[float, float] | None = None) -> tuple[float, float]:
    """Where the segment from (cx, cy) inside a box towards (tx, ty) leaves the box (centred at
    ``centre``, default (cx, cy))."""
    bx, by = centre or (cx, cy)
    dx, dy = tx - cx, ty - cy
    if dx == 0 and dy == 0:
        return cx, cy
    # distance to the box's vertical and horizontal edges along the direction (dx, dy)
    sx = ((bx + math.copysign(_BOX_W / 2, dx) - cx) / dx) if dx else math.inf
    sy = ((by + math.copysign(_BOX_H / 2, dy) - cy) / dy) if dy else math.inf
    s = max(0.0, min(sx, sy))
    return cx + dx * s, cy + dy * s


def dataflow_figure(model: ThreatModel | DataFlow, title: str | None = None,
                    entry_points: Sequence[EntryPoint] | None = None,
                    threats_at_entry: Mapping[str, str] | None = None) -> go.Figure:
    """Draw a data-flow diagram: boxes (colour by kind), arrows, dashed trust boundaries and,
    in red, the numbered entry points of the threat model (hover for their threats).

    Introduced in lab 01 (Threat modelling).
    """
    if isinstance(model, ThreatModel):
        if model.dataflow is None:
            raise ValueError(f"the threat model of {model.system} has no data-flow diagram")
        flow, eps = model.dataflow, model.entry_points
        if threats_at_entry is None:
            threats_at_entry = {
                e.id: "<br>".join(f"{t.id} {t.title}" for t in model.threats
                                  if t.entry_point == e.id) for e in eps}
    elif isinstance(model, DataFlow):
        flow, eps = model, tuple(entry_points or ())
    else:
        raise TypeError(f"expected a ThreatModel or a DataFlow, got {type(model).__name__}")
    threats_at_entry = threats_at_entry or {}
    fig = go.Figure()
    xs = [n.cx for n in flow.nodes]
    ys = [n.cy for n in flow.nodes]
    pad = 0.3
    # Trust boundaries first (behind everything).
    for b in flow.boundaries:
        members = [flow.node(n) for n in b.nodes]
        x0 = min(n.cx for n in members) - _BOX_W / 2 - pad
        x1 = max(n.cx for n in members) + _BOX_W / 2 + pad
        y0 = min(n.cy for n in members) - _BOX_H / 2 - pad
        y1 = max(n.cy for n in members) + _BOX_H / 2 + pad + 0.25
        fig.add_shape(type="rect", x0=x0, x1=x1, y0=y0, y1=y1, layer="below",
                      line=dict(color=COLORS["attack"], width=1.6, dash="dash"),
                      fillcolor="rgba(0,0,0,0)")
        fig.add_annotation(x=x0 + 0.08, y=y1 - 0.05, text=f"<i>{b.label}</i>", showarrow=False,
                           xanchor="left", yanchor="top", font=dict(size=11, color="#495057"))
    # Flows.
    for f in flow.flows:
        a, b = flow.node(f.src), flow.node(f.dst)
        ca, cb = (a.cx, a.cy), (b.cx, b.cy)
        if f.offset and not f.via:
            length = math.hypot(b.cx - a.cx, b.cy - a.cy) or 1.0
            nx, ny = -(b.cy - a.cy) / length, (b.cx - a.cx) / length
            ca = (a.cx + f.offset * nx, a.cy + f.offset * ny)
            cb = (b.cx + f.offset * nx, b.cy + f.offset * ny)
        pts = [ca, *[tuple(p) for p in f.via], cb]
        start = _edge_point(*ca, *pts[1], centre=(a.cx, a.cy))
        end = _edge_point(*cb, *pts[-2], centre=(b.cx, b.cy))
        path = [start, *pts[1:-1], end]
        if len(path) > 2:
            fig.add_trace(go.Scatter(x=[p[0] for p in path[:-1]], y=[p[1] for p in path[:-1]],
                                     mode="lines", line=dict(color="#6C757D", width=1.8),
                                     hoverinfo="skip", showlegend=False))
        fig.add_annotation(x=end[0], y=end[1], ax=path[-2][0], ay=path[-2][1], xref="x",
                           yref="y", axref="x", ayref="y", text="", showarrow=True,
                           arrowhead=3, arrowsize=1.2, arrowwidth=1.8, arrowcolor="#6C757D")
        if f.label:
            k = max(range(1, len(path)), key=lambda j: math.dist(path[j - 1], path[j]))
            p, q = path[k - 1], path[k]
            w = min(1.0, max(0.0, float(f.label_pos)))
            fig.add_annotation(x=p[0] + w * (q[0] - p[0]), y=p[1] + w * (q[1] - p[1]),
                               text=wrap(f.label, 22),
                               showarrow=False, font=dict(size=10, color="#495057"),
                               bgcolor="rgba(255,255,255,0.85)")
        xs += [p[0] for p in f.via]
        ys += [p[1] for p in f.via]
    # Boxes.
    for n in flow.nodes:
        fill, line = NODE_KINDS[n.kind]
        fig.add_shape(type="rect", x0=n.cx - _BOX_W / 2, x1=n.cx + _BOX_W / 2,
                      y0=n.cy - _BOX_H / 2, y1=n.cy + _BOX_H / 2, fillcolor=fill,
                      line=dict(color=line, width=2), layer="below")
        fig.add_annotation(x=n.cx, y=n.cy, text=f"<b>{wrap(n.label, 20)}</b>", showarrow=False,
                           font=dict(size=11))
    fig.add_trace(go.Scatter(
        x=[n.cx for n in flow.nodes], y=[n.cy for n in flow.nodes], mode="markers",
        marker=dict(size=40, opacity=0), showlegend=False,
        hovertext=[f"<b>{n.label}</b> ({n.kind})<br>{wrap(n.detail, 50)}" for n in flow.nodes],
        hoverinfo="text"))
    # Entry points.
    if eps:
        ex = [flow.node(e.node).cx - _BOX_W / 2 + 0.05 for e in eps]
        ey = [flow.node(e.node).cy + _BOX_H / 2 - 0.02 for e in eps]
        # Several entry points on one node: spread them along the top edge.
        seen: dict[str, int] = {}
        for k, e in enumerate(eps):
            j = seen.get(e.node, 0)
            seen[e.node] = j + 1
            ex[k] += 0.32 * j
        fig.add_trace(go.Scatter(
            x=ex, y=ey, mode="markers+text", text=[e.id for e in eps],
            textfont=dict(color="white", size=10), name="entry point",
            marker=dict(size=24, color=COLORS["attack"], line=dict(color="white", width=1)),
            hovertext=[f"<b>{e.id} {e.name}</b> ({e.access} access, stage {e.stage})<br>"
                       f"{wrap(e.description, 50)}<br>{threats_at_entry.get(e.id, '')}"
                       for e in eps], hoverinfo="text"))
    for kind, (fill, line) in NODE_KINDS.items():
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=kind,
                                 marker=dict(symbol="square", size=14, color=fill,
                                             line=dict(color=line, width=2))))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name="trust boundary",
                             line=dict(color=COLORS["attack"], dash="dash")))
    fig.update_xaxes(visible=False, range=[min(xs) - _BOX_W / 2 - 0.6,
                                           max(xs) + _BOX_W / 2 + 0.6])
    fig.update_yaxes(visible=False, range=[min(ys) - _BOX_H / 2 - 0.6,
                                           max(ys) + _BOX_H / 2 + 0.9])
    span = max(xs) - min(xs) + _BOX_W + 1.2
    fig.update_layout(
        template="plotly_white+mlsec", title=title, height=int(150 + 95 * (max(ys) - min(ys))),
        width=max(700, int(85 * span)), plot_bgcolor="white",
        legend=dict(orientation="h", yanchor="top", y=-0.02, x=0),
        margin=dict(l=10, r=10, t=60 if title else 10, b=40),
    )
    return fig


def _jitter(n: int) -> list[tuple[float, float]]:
    """Offsets that spread ``n`` markers inside one cell of the risk matrix."""
    if n == 1:
        return [(0.0, 0.0)]
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    step = 0.8 / max(cols, rows)
    return [((k % cols - (cols - 1) / 2) * step, ((rows - 1) / 2 - k // cols) * step)
            for k in range(n)]


def risk_matrix_figure(register: pd.DataFrame, which: str = "inherent",
                       title: str | None = None) -> go.Figure:
    """The 5 x 5 risk matrix (impact across, likelihood up), cells coloured by band, with every
    risk of the register placed in its cell (coloured by system, labelled by threat number,
    hover for details).

    ``which`` is ``"inherent"``, ``"residual"`` or ``"both"`` (two matrices side by side:
    before and after the applied controls).

    Introduced in lab 01 (Threat modelling).
    """
    from plotly.subplots import make_subplots

    if not isinstance(register, pd.DataFrame):
        raise TypeError("register must be a DataFrame from ThreatModel.register")
    which = check_choice(which, ("inherent", "residual", "both"), "matrix view")
    need = {"id", "domain", "threat", "likelihood", "impact", "residual likelihood",
            "residual impact"}
    if need - set(register.columns):
        raise ValueError(f"register lacks the columns {sorted(need - set(register.columns))}")
    views = {"inherent": [("likelihood", "impact", "inherent")],
             "residual": [("residual likelihood", "residual impact", "residual")],
             "both": [("likelihood", "impact", "inherent (no controls)"),
                      ("residual likelihood", "residual impact", "residual (controls applied)")]
             }[which]
    fig = make_subplots(rows=1, cols=len(views), horizontal_spacing=0.07,
                        subplot_titles=[v[2] for v in views] if which == "both" else None)
    z = np.array([[lik * imp for imp in range(1, 6)] for lik in range(1, 6)], dtype=int)
    order = [b for _, _, b in RISK_BANDS]
    bands = np.array([[risk_band(int(v)) for v in row] for row in z])
    zc = np.vectorize(order.index)(bands)
    colorscale = []
    for k, b in enumerate(order):
        colorscale += [(k / len(order), BAND_COLORS[b]), ((k + 1) / len(order), BAND_COLORS[b])]
    domains = [d for d in (*DOMAINS, *register["domain"].unique())
               if d in set(register["domain"])]
    domains = list(dict.fromkeys(domains))
    for col, (lcol, icol, _) in enumerate(views, start=1):
        fig.add_trace(go.Heatmap(
            z=zc, x=list(range(1, 6)), y=list(range(1, 6)), zmin=-0.5, zmax=len(order) - 0.5,
            colorscale=colorscale, opacity=0.35, showscale=False, xgap=3, ygap=3,
            customdata=np.dstack([z, bands]),
            hovertemplate="likelihood %{y} x impact %{x} = %{customdata[0]} "
                          "(%{customdata[1]})<extra></extra>"), row=1, col=col)
        for lik in range(1, 6):
            for imp in range(1, 6):
                fig.add_annotation(x=imp + 0.45, y=lik - 0.42, text=str(lik * imp),
                                   showarrow=False, font=dict(size=9, color="#6C757D"),
                                   xanchor="right", row=1, col=col)
        pos = {}
        for (lik, imp), grp in register.groupby([lcol, icol], sort=False):
            for (dx, dy), (_, row) in zip(_jitter(len(grp)), grp.iterrows(), strict=True):
                pos[row["id"]] = (imp + dx, lik + dy)
        for domain in domains:
            grp = register[register["domain"] == domain]
            fig.add_trace(go.Scatter(
                x=[pos[i][0] for i in grp["id"]], y=[pos[i][1] for i in grp["id"]],
                mode="markers+text", name=str(domain), legendgroup=str(domain),
                showlegend=col == 1, text=[i.split("-")[-1] for i in grp["id"]],
                textfont=dict(size=8, color="white"),
                marker=dict(size=19, color=DOMAIN_COLORS.get(domain, COLORS["neutral"]),
                            line=dict(color="white", width=1)),
                hovertext=[f"<b>{r['id']}</b> {r['threat']}<br>L {r[lcol]} x I {r[icol]}"
                           for _, r in grp.iterrows()], hoverinfo="text"), row=1, col=col)
    for band in order:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"{band} risk",
                                 marker=dict(symbol="square", size=14, color=BAND_COLORS[band],
                                             opacity=0.5)), row=1, col=1)
    labels_l = [f"{k} {LIKELIHOOD[k].name}" for k in range(1, 6)]
    labels_i = [f"{k} {IMPACT[k].name}" for k in range(1, 6)]
    fig.update_xaxes(title="impact", tickvals=list(range(1, 6)), ticktext=labels_i,
                     range=[0.5, 5.5], showgrid=False)
    fig.update_yaxes(tickvals=list(range(1, 6)), ticktext=labels_l, range=[0.5, 5.5],
                     showgrid=False)
    fig.update_yaxes(title="likelihood", row=1, col=1)
    if len(views) > 1:
        fig.update_yaxes(showticklabels=False, row=1, col=2)
    fig.update_layout(template="plotly_white+mlsec", title=title, height=560,
                      width=760 if len(views) == 1 else 1250,
                      legend=dict(title="system / band"))
    return fig


def ranking_figure(register: pd.DataFrame, top: int = 15, title: str | None = None
                   ) -> go.Figure:
    """Horizontal bars of the ``top`` risks by residual score: the inherent score faint behind,
    the residual score coloured by its band, band limits as dotted lines.

    Introduced in lab 01 (Threat modelling).
    """
    if not isinstance(register, pd.DataFrame):
        raise TypeError("register must be a DataFrame from ThreatModel.register")
    top = check_int(top, "top", minimum=1, maximum=10_000)
    need = {"id", "threat", "inherent", "residual", "residual band"}
    if need - set(register.columns):
        raise ValueError(f"register lacks the columns {sorted(need - set(register.columns))}")
    reg = register.sort_values(["residual", "inherent"], ascending=False, kind="stable")
    reg = reg.head(top).iloc[::-1]
    labels = [f"{r['id']} {_short(r['threat'], 46)}" for _, r in reg.iterrows()]
    fig = go.Figure([
        go.Bar(y=labels, x=reg["inherent"], orientation="h", name="inherent",
               marker_color="rgba(141,153,174,0.35)", hovertemplate="inherent %{x}<extra></extra>"),
        go.Bar(y=labels, x=reg["residual"], orientation="h", name="residual",
               marker_color=[BAND_COLORS[b] for b in reg["residual band"]],
               text=reg["residual"], textposition="outside",
               hovertemplate="residual %{x}<extra></extra>"),
    ])
    for lo, _, band in RISK_BANDS[1:]:
        fig.add_vline(x=lo - 0.5, line=dict(color=BAND_COLORS[band], dash="dot", width=1))
    fig.update_layout(template="plotly_white+mlsec", title=title, barmode="overlay",
                      height=max(320, 28 * len(reg) + 140), xaxis_title="risk score (L x I)",
                      xaxis_range=[0, 26], legend=dict(orientation="h", y=-0.12),
                      margin=dict(l=10, r=20, t=60 if title else 20, b=60))
    fig.update_yaxes(automargin=True)
    return fig


# --------------------------------------------------------------------------------------------
# The explorer widget
# --------------------------------------------------------------------------------------------


class RiskExplorer:
    """An ipywidgets control: tick controls, re-score a threat, and see the ranking redrawn.

    ``widget`` is the box to display; :meth:`update` recomputes the register and the figure
    (and, inside a notebook kernel, redraws it in the widget's output area) and returns the
    figure, so that a notebook run without a browser (nbval, nbconvert) still produces it.

    Introduced in lab 01 (Threat modelling).
    """

    def __init__(self, models: Iterable[ThreatModel] | Mapping[str, ThreatModel],
                 applied: Iterable[str] | None = None, top: int = 15,
                 residual_fn: ResidualFn | None = None):
        import ipywidgets as widgets

        self.models = check_models(models)
        if not self.models:
            raise ValueError("RiskExplorer needs at least one threat model")
        self.top = check_int(top, "top", minimum=1, maximum=10_000)
        self.residual_fn = residual_fn
        self._controls = {c.id: (m, c) for m in self.models for c in m.controls}
        self._threats = {t.id: (m, t) for m in self.models for t in m.threats}
        if applied is None:
            applied = [c for m in self.models for c in m.applied]
        applied = tuple(applied)
        unknown = [c for c in applied if c not in self._controls]
        if unknown:
            raise ValueError(f"unknown controls {unknown}")
        self.overrides: dict[str, tuple[int, int]] = {}
        self.controls = widgets.SelectMultiple(
            options=[(f"{c.label}, cost {c.cost}", cid) for cid, (_, c) in self._controls.items()],
            value=applied, rows=min(12, len(self._controls)), description="controls",
            layout=widgets.Layout(width="98%"))
        first = next(iter(self._threats))
        self.threat = widgets.Dropdown(
            options=[(f"{tid} {t.title}", tid) for tid, (_, t) in self._threats.items()],
            value=first, description="threat", layout=widgets.Layout(width="98%"))
        t0 = self._threats[first][1]
        self.likelihood = widgets.IntSlider(value=t0.likelihood, min=1, max=5,
                                            description="likelihood")
        self.impact = widgets.IntSlider(value=t0.impact, min=1, max=5, description="impact")
        self.summary = widgets.HTML()
        self.output = widgets.Output()
        self.widget = widgets.VBox([
            widgets.HTML("<b>Applied controls</b> (ctrl/cmd-click to select several)"),
            self.controls,
            widgets.HTML("<b>Re-score one threat</b>"),
            self.threat, widgets.HBox([self.likelihood, self.impact]),
            self.summary, self.output,
        ])
        self._syncing = False
        self.controls.observe(self.update, names="value")
        self.threat.observe(self._on_threat, names="value")
        self.likelihood.observe(self._on_score, names="value")
        self.impact.observe(self._on_score, names="value")

    def _scores(self, tid: str) -> tuple[int, int]:
        t = self._threats[tid][1]
        return self.overrides.get(tid, (t.likelihood, t.impact))

    def _on_threat(self, change=None):
        self._syncing = True
        try:
            lik, imp = self._scores(self.threat.value)
            self.likelihood.value, self.impact.value = lik, imp
        finally:
            self._syncing = False

    def _on_score(self, change=None):
        if self._syncing:
            return
        self.set_scores(self.threat.value, self.likelihood.value, self.impact.value)

    def set_scores(self, threat_id: str, likelihood: int, impact: int) -> go.Figure:
        """Override one threat's scores (checked against the rubric) and redraw."""
        if threat_id not in self._threats:
            raise KeyError(f"no threat {threat_id!r}")
        self.overrides[threat_id] = (check_likelihood(likelihood), check_impact(impact))
        if self.threat.value == threat_id:
            self._on_threat()
        return self.update()

    def set_applied(self, applied: Iterable[str]) -> go.Figure:
        """Apply exactly these controls and redraw (unknown IDs raise ``ValueError``)."""
        applied = tuple(applied)
        unknown = [c for c in applied if c not in self._controls]
        if unknown:
            raise ValueError(f"unknown controls {unknown}")
        self.controls.unobserve(self.update, names="value")
        try:
            self.controls.value = applied
        finally:
            self.controls.observe(self.update, names="value")
        return self.update()

    def register(self) -> pd.DataFrame:
        """The combined register of all models with the current controls and overrides."""
        applied = set(self.controls.value)
        frames = []
        for m in self.models:
            for tid, (lik, imp) in self.overrides.items():
                if any(t.id == tid for t in m.threats):
                    m = m.with_scores(tid, likelihood=lik, impact=imp)
            own = [c.id for c in m.controls if c.id in applied]
            frames.append(m.register(applied=own, residual_fn=self.residual_fn))
        reg = pd.concat(frames, ignore_index=True)
        return reg.sort_values(["residual", "inherent"], ascending=False,
                               kind="stable").reset_index(drop=True)

    @property
    def cost(self) -> int:
        """Total cost (person-weeks) of the applied controls."""
        return int(sum(self._controls[c][1].cost for c in self.controls.value))

    def update(self, change=None) -> go.Figure:
        """Recompute the register, redraw the ranking; returns the figure."""
        reg = self.register()
        fig = ranking_figure(reg, top=self.top,
                             title=f"Top {min(self.top, len(reg))} risks after the applied "
                                   f"controls")
        self.last_register = reg
        self.summary.value = (
            f"{len(self.controls.value)} controls applied, cost {self.cost} person-weeks; "
            f"total risk {int(reg['inherent'].sum())} inherent -> "
            f"<b>{int(reg['residual'].sum())} residual</b>; "
            f"{int((reg['residual band'].isin(['high', 'critical'])).sum())} risks still "
            f"high or critical")
        try:
            from IPython import get_ipython

            shell = get_ipython()
        except ImportError:  # pragma: no cover
            shell = None
        if shell is not None and getattr(shell, "kernel", None) is not None:
            from IPython.display import display

            self.output.clear_output(wait=True)
            with self.output:
                display(fig)
        return fig




def overview_figure(title: str | None = None) -> go.Figure:
    """The threat in one picture: a generic ML pipeline with its trust boundaries and, at each
    entry point, the threats of the course that enter there.

    Introduced in lab 01 (Threat modelling).
    """
    flow = common.flow_diagram({
        "source": ("data sources", "Collected, bought or contributed data."),
        "labelling": ("labelling", "People or processes that decide the labels."),
        "training": ("training", "The pipeline that fits the model."),
        "artefact": ("model artefact", "The stored weights."),
        "libs": ("libraries, pre-trained models", "Third-party code and components."),
        "users": ("users, attackers", "Whoever can send queries."),
        "api": ("serving API", "Answers queries with predictions."),
        "downstream": ("downstream consumers", "Decisions, feedback, other systems."),
    }, extra_flows=(Flow("users", "source", "contributed data"),),
        source_boundary="outside data")
    eps = common.entry_points("public", "public", {"E1": "data collection", "E2": "labelling",
                                             "E5": "serving API"})
    cats = {
        "E1": ("poisoning", "bias"), "E2": ("poisoning", "bias"), "E3": ("supply_chain",),
        "E4": ("theft", "inversion"),
        "E5": ("evasion", "theft", "membership_inference", "inversion", "api_abuse"),
        "E6": ("api_abuse", "bias"),
    }
    text = {e: "<br>".join(f"{THREAT_CATEGORIES[c].name} ({THREAT_CATEGORIES[c].lab_title})"
                           for c in cs) for e, cs in cats.items()}
    fig = dataflow_figure(flow, title=title, entry_points=eps, threats_at_entry=text)
    offsets = {"E1": (0, -0.75), "E2": (0, -0.75), "E3": (2.1, 0.1), "E4": (0, -0.75),
               "E5": (0, -0.72), "E6": (0, -0.72)}
    for e in eps:
        node = flow.node(e.node)
        dx, dy = offsets[e.id]
        names = ", ".join(f"{THREAT_CATEGORIES[c].name} ({THREAT_CATEGORIES[c].lab:02d})"
                          for c in cats[e.id])
        width = 30 if e.id in ("E5", "E6") else 60
        fig.add_annotation(x=node.cx + dx, y=node.cy + dy, text=f"<b>{e.id}</b>: "
                           f"{wrap(names, width)}", showarrow=False, yanchor="top",
                           font=dict(size=10, color=COLORS["attack"]))
    fig.update_yaxes(range=[-1.7, 5.9])
    fig.update_layout(height=620)
    return fig
