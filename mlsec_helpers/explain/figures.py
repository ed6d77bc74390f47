"""The figures of lab 08 that every part shares: explanations in an audit, in one picture.

Introduced in lab 08 (Explainability).
"""

from __future__ import annotations

from .. import plots

__all__ = ["audit_diagram"]


def audit_diagram():
    """Explanations as evidence in a security audit: what the auditor asks of a model, what
    the explanation answers, and where an attacker can make it lie or leak.

    Introduced in lab 08 (Explainability).
    """
    import plotly.graph_objects as go

    boxes = [
        (0.0, 0.55, "a model<br>(backdoored? a shortcut?<br>a forbidden feature?)",
         plots.COLORS["baseline"]),
        (1.45, 0.55, "an explanation<br>(saliency, SHAP,<br>permutation, neighbours)",
         plots.COLORS["accent"]),
        (2.9, 0.55, "the auditor's<br>finding", plots.COLORS["defended"]),
        (0.0, 0.0, "an attacker who knows<br>the explanation method", plots.COLORS["attack"]),
        (1.45, 0.0, "a user who reads<br>explanations of others", plots.COLORS["attack"]),
    ]
    fig = go.Figure()
    for x, y, text, color in boxes:
        fig.add_shape(type="rect", x0=x, x1=x + 1.1, y0=y, y1=y + 0.4,
                      line=dict(color=color, width=2), fillcolor="white")
        fig.add_annotation(x=x + 0.55, y=y + 0.2, text=text, showarrow=False,
                           font=dict(size=11))
    arrows = [((1.1, 0.75), (1.45, 0.75), "attribute"), ((2.55, 0.75), (2.9, 0.75), "evidence"),
              ((1.1, 0.2), (1.9, 0.55), "inputs or a model<br>that fool it"),
              ((2.0, 0.55), (2.2, 0.4), "")]
    for (x0, y0), (x1, y1), label in arrows:
        fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y",
                           text="", showarrow=True, arrowhead=3, arrowwidth=2,
                           arrowcolor=plots.COLORS["neutral"])
        if label:
            fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2 + 0.08, text=label,
                               showarrow=False, font=dict(size=10, color=plots.COLORS["neutral"]))
    fig.add_annotation(x=2.3, y=0.25, text="leaks other users' data", showarrow=False,
                       font=dict(size=10, color=plots.COLORS["attack"]))
    fig.update_xaxes(visible=False, range=[-0.05, 4.05])
    fig.update_yaxes(visible=False, range=[-0.05, 1.0])
    fig.update_layout(height=330, margin=dict(l=10, r=10, t=50, b=10),
                      title="Explanations in an audit: evidence that can be fooled, and can leak")
    return fig
