"""The threat picture of lab 13: a week of traffic, the monitors, the alerts and the response.

Introduced in lab 13 (Monitoring and response).
"""

from __future__ import annotations

from .. import plots

__all__ = ["monitoring_diagram"]


def monitoring_diagram():
    """Production traffic with drift and attacks hidden in it, the monitors that turn each hour
    into numbers, the thresholds that turn numbers into alerts, and the response in NIST CSF
    order (detect, respond, recover).

    Introduced in lab 13 (Monitoring and response).
    """
    boxes = [
        (0.0, 0.6, "a week of traffic<br>(168 hourly windows)", "neutral"),
        (1.5, 0.6, "monitors: inputs,<br>predictions, labels,<br>attack-specific", "baseline"),
        (3.0, 0.6, "thresholds set on<br>2 benign days at an<br>alert budget", "defended"),
        (4.5, 0.6, "alerts: drift<br>or attack?", "accent"),
        (6.0, 0.6, "respond: revoke,<br>throttle; recover:<br>verified rollback", "defended"),
        (0.0, 0.0, "ordinary drift: new<br>devices, habits, holidays", "neutral"),
        (1.5, 0.0, "attacks: evasion waves,<br>slow poisoning, theft,<br>a tampered update",
         "attack"),
        (4.5, 0.0, "the paced attacker stays<br>under every threshold", "attack"),
    ]
    arrows = [((1.1, 0.8), (1.5, 0.8), ""), ((2.6, 0.8), (3.0, 0.8), ""),
              ((4.1, 0.8), (4.5, 0.8), ""), ((5.6, 0.8), (6.0, 0.8), ""),
              ((0.55, 0.4), (0.55, 0.6), ""), ((2.05, 0.4), (0.9, 0.6), ""),
              ((5.05, 0.4), (5.05, 0.6), "")]
    notes = [(3.55, 1.2, "detect: each incident's delay; false alarms on benign hours at or "
                         "below the budget", "defended")]
    return plots.box_diagram(boxes, arrows, notes=notes, height=360,
                             title="A week in production: what is watched, and what is done "
                                   "about an alert")
