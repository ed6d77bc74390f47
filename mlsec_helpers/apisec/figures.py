"""The figure of lab 12 that every part shares: a request's path through the API's controls.

Introduced in lab 12 (API security).
"""

from __future__ import annotations

from .. import plots

__all__ = ["api_threat_diagram"]


def api_threat_diagram():
    """A prediction request's path in one picture: the client, the checks the API runs in
    order (size, authentication, authorisation, rate limit, validation), the model, and the
    audit log; where each attack of the lab is stopped.

    Introduced in lab 12 (API security).
    """
    boxes = [
        (0.0, 0.6, "client<br>(honest user,<br>thief, pen tester)", "neutral"),
        (1.4, 0.6, "body size<br>(413)", "defended"),
        (2.8, 0.6, "who are you?<br>key or JWT (401)", "defended"),
        (4.2, 0.6, "may you?<br>role, owner (403)", "defended"),
        (5.6, 0.6, "how often?<br>rate limit (429)", "defended"),
        (7.0, 0.6, "valid input?<br>finite, in range (422)", "defended"),
        (8.4, 0.6, "model<br>(label; scores<br>for admins)", "baseline"),
        (4.2, 0.0, "audit log: who, what, when,<br>outcome; no raw data", "accent"),
        (0.0, 0.0, "attacks: forged tokens,<br>other users' data, floods,<br>NaN, theft", "attack"),
    ]
    arrows = [((1.1, 0.8), (1.4, 0.8), ""), ((2.5, 0.8), (2.8, 0.8), ""),
              ((3.9, 0.8), (4.2, 0.8), ""), ((5.3, 0.8), (5.6, 0.8), ""),
              ((6.7, 0.8), (7.0, 0.8), ""), ((8.1, 0.8), (8.4, 0.8), ""),
              ((4.75, 0.6), (4.75, 0.4), "every request"), ((0.55, 0.4), (0.55, 0.6), "")]
    notes = [(4.75, 1.2, "each check refuses with its own status code; none may answer 500",
              "defended")]
    return plots.box_diagram(boxes, arrows, notes=notes, height=360,
                             title="A prediction request and the checks it passes, in order")
