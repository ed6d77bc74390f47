"""The figure of lab 14 that every part shares: the audit's loop of red team, blue team, re-test
and report.

Introduced in lab 14 (Capstone).
"""

from __future__ import annotations

from .. import plots

__all__ = ["audit_diagram"]


def audit_diagram():
    """The capstone audit in one picture: threat model, red team (findings with evidence), risk
    register, blue team (controls under a budget), re-test by an attacker who knows the
    controls, the report card and the governance documents.

    Introduced in lab 14 (Capstone).
    """
    boxes = [
        (0.0, 0.6, "threat model<br>(lab 01)", "neutral"),
        (1.5, 0.6, "red team: every<br>threat, every<br>endpoint", "attack"),
        (3.0, 0.6, "findings with<br>evidence and<br>intervals", "attack"),
        (4.5, 0.6, "risk register;<br>controls under<br>a budget", "defended"),
        (6.0, 0.6, "re-test: the<br>attacker knows<br>the controls", "accent"),
        (3.0, 0.0, "report card:<br>grades before<br>and after", "baseline"),
        (4.5, 0.0, "governance: lineage,<br>model card, duties<br>(GDPR, AI Act)", "baseline"),
    ]
    arrows = [((1.1, 0.8), (1.5, 0.8), ""), ((2.6, 0.8), (3.0, 0.8), ""),
              ((4.1, 0.8), (4.5, 0.8), ""), ((5.6, 0.8), (6.0, 0.8), ""),
              ((6.55, 0.6), (4.1, 0.2), ""), ((5.05, 0.6), (5.05, 0.4), "")]
    notes = [(3.55, 1.2, "one planted weakness is of a kind no earlier lab showed", "attack")]
    return plots.box_diagram(boxes, arrows, notes=notes, height=360,
                             title="The capstone audit: attack, decide, defend, re-test, report")
