"""The figures of lab 05: the threat in one picture and membership ROC curves on log axes.

Introduced in lab 05 (Membership inference).
"""

from __future__ import annotations

from .. import plots
from ..validate import ArgumentTypeError, check_membership, check_vector

__all__ = ["membership_roc", "threat_diagram"]


def membership_roc(curves: dict, title: str | None = None):
    """ROC curves of membership attacks on log-log axes (``{name: (y_true, scores)}``).

    Introduced in lab 05 (Membership inference).
    """
    if not curves:
        raise ValueError("curves must name at least one attack")
    checked = {}
    for name, pair in curves.items():
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise ArgumentTypeError(f"curve {name!r} must be a pair (y_true, scores)")
        s = check_vector(pair[1], f"scores of {name!r}")
        checked[name] = (check_membership(pair[0], len(s)), s)
    return plots.roc_curves(checked, title=title, log=True)


def threat_diagram():
    """The membership-inference threat as a diagram: a record, the model's answer, the
    attacker's test, and the shadow models that calibrate it.

    Introduced in lab 05 (Membership inference).
    """
    import plotly.graph_objects as go

    boxes = [
        (0.0, 0.55, "training data<br><i>members</i>", plots.COLORS["baseline"]),
        (1.45, 0.55, "deployed model<br>(image, text, recommender,<br>fraud, diagnosis)",
         plots.COLORS["baseline"]),
        (2.9, 0.55, "attacker's test<br>member or not?", plots.COLORS["attack"]),
        (0.0, 0.0, "a candidate record<br>(this patient, this customer)", plots.COLORS["attack"]),
        (1.45, 0.0, "shadow models<br>trained by the attacker<br>with and without it",
         plots.COLORS["accent"]),
    ]
    fig = go.Figure()
    for x, y, text, color in boxes:
        fig.add_shape(type="rect", x0=x, x1=x + 1.1, y0=y, y1=y + 0.4, line=dict(color=color,
                      width=2), fillcolor="white")
        fig.add_annotation(x=x + 0.55, y=y + 0.2, text=text, showarrow=False, font=dict(size=12))
    arrows = [
        ((1.1, 0.75), (1.45, 0.75), "trains"),
        ((2.55, 0.75), (2.9, 0.75), "confidence, loss"),
        ((1.1, 0.2), (1.45, 0.62), "query"),
        ((2.55, 0.2), (2.9, 0.6), "what non-members<br>look like"),
    ]
    for (x0, y0), (x1, y1), label in arrows:
        fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y",
                           text="", showarrow=True, arrowhead=3, arrowwidth=2,
                           arrowcolor=plots.COLORS["neutral"])
        fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2 + 0.07, text=label,
                           showarrow=False, font=dict(size=10, color=plots.COLORS["neutral"]))
    fig.update_xaxes(visible=False, range=[-0.05, 4.05])
    fig.update_yaxes(visible=False, range=[-0.05, 1.0])
    fig.update_layout(height=330, margin=dict(l=10, r=10, t=50, b=10),
                      title="Membership inference: was this record in the training data?")
    return fig
