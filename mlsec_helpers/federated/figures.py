"""The figure of lab 09 that every part shares: a federation and its attackers, in one picture.

Introduced in lab 09 (Federated learning).
"""

from __future__ import annotations

from .. import plots

__all__ = ["federation_diagram"]


def federation_diagram():
    """Federated learning in one picture: clients train on data that never leaves them and
    send updates; the server aggregates them; a malicious client crafts its update, and an
    honest-but-curious server reads what a single update reveals.

    Introduced in lab 09 (Federated learning).
    """
    boxes = [
        (0.0, 0.9, "honest clients<br>(phones, banks, hospitals)<br>train on their own data",
         "baseline"),
        (0.0, 0.0, "malicious clients<br>craft their updates<br>(flip, scale, backdoor)",
         "attack"),
        (1.9, 0.45, "the server<br>aggregates: mean, median,<br>trimmed mean, Krum",
         "accent"),
        (3.8, 0.45, "the global model<br>sent back to<br>every client", "defended"),
    ]
    arrows = [((1.1, 1.1), (1.9, 0.75), "updates"), ((1.1, 0.2), (1.9, 0.55), "poisoned updates"),
              ((3.0, 0.65), (3.8, 0.65), "aggregate")]
    notes = [(2.45, 1.2, "an honest-but-curious server reads<br>each update: labels, rated "
                         "items, digits", "attack"),
             (2.45, 0.15, "defences: robust rules, clipping,<br>DP noise, secure aggregation",
              "defended")]
    return plots.box_diagram(boxes, arrows, notes=notes, height=360,
                             title="A federation: data stays home, updates travel")
