"""The figures of lab 06 that every domain shares: the threat in one picture.

Domain figures live beside their domain's code (``image.py``, ``nlp.py``, ...).

Introduced in lab 06 (Model inversion).
"""

from __future__ import annotations

from .. import plots

__all__ = ["threat_diagram"]


def threat_diagram():
    """Model inversion as a diagram: what the attacker holds (the model or its answers, part
    of a record, a public prior), what it asks, and what it reconstructs.

    Introduced in lab 06 (Model inversion).
    """
    import plotly.graph_objects as go

    boxes = [
        (0.0, 0.55, "training data<br><i>secrets, attributes</i>", plots.COLORS["baseline"]),
        (1.45, 0.55, "deployed model<br>(weights, scores,<br>completions, lists)",
         plots.COLORS["baseline"]),
        (2.9, 0.55, "what the attacker<br>reconstructs", plots.COLORS["attack"]),
        (0.0, 0.0, "what the attacker holds<br>(part of a record, a prefix,<br>"
         "public data)", plots.COLORS["attack"]),
        (1.45, 0.0, "queries and gradients<br>(search, optimisation)",
         plots.COLORS["accent"]),
    ]
    fig = go.Figure()
    for x, y, text, color in boxes:
        fig.add_shape(type="rect", x0=x, x1=x + 1.1, y0=y, y1=y + 0.4,
                      line=dict(color=color, width=2), fillcolor="white")
        fig.add_annotation(x=x + 0.55, y=y + 0.2, text=text, showarrow=False,
                           font=dict(size=12))
    arrows = [
        ((1.1, 0.75), (1.45, 0.75), "trains"),
        ((2.55, 0.75), (2.9, 0.75), "leaks"),
        ((1.1, 0.2), (1.45, 0.2), "asks"),
        ((2.0, 0.4), (2.0, 0.55), ""),
        ((2.55, 0.2), (2.9, 0.6), "a class image, a PIN,<br>a hidden attribute"),
    ]
    for (x0, y0), (x1, y1), label in arrows:
        fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y",
                           text="", showarrow=True, arrowhead=3, arrowwidth=2,
                           arrowcolor=plots.COLORS["neutral"])
        if label:
            fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2 + 0.07, text=label,
                               showarrow=False, font=dict(size=10, color=plots.COLORS["neutral"]))
    fig.update_xaxes(visible=False, range=[-0.05, 4.05])
    fig.update_yaxes(visible=False, range=[-0.05, 1.0])
    fig.update_layout(height=330, margin=dict(l=10, r=10, t=50, b=10),
                      title="Model inversion: what can the model's answers give back?")
    return fig
