"""The result dataclasses of lab 13's monitors, alerts and attackers.

Each helper that produces more than one thing returns one of these small frozen dataclasses:
the fields are named and documented. The week itself (:class:`~.common.Week`,
:class:`~.common.Window`, :class:`~.common.Incident`) lives in ``common.py``.

Introduced in lab 13 (Monitoring and response).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..stats import Rate

__all__ = [
    "AlertVerdict",
    "Detection",
    "WeekReport",
    # image
    "AdaptiveImageAttack",
    "DigitBank",
    "SqueezeScores",
]


# --- common (alerts, detections, the week's report) ---------------------------------------------


@dataclass(frozen=True)
class Detection:
    """Whether one incident was detected: the first alert inside the incident's hours, its
    delay and the monitors that fired during it.

    ``delay_hours`` follows :func:`~.common.time_to_detection` (an alert on the incident's
    first window counts 1 hour: a window's statistic is known when the window closes); ``None``
    when no monitor fired inside the incident. ``monitors``: every monitor that fired inside it,
    in order of first alert.

    Introduced in lab 13 (Monitoring and response).
    """

    incident: str
    kind: str
    start_hour: int
    end_hour: int
    first_alert_hour: int | None
    delay_hours: float | None
    monitors: tuple[str, ...]

    @property
    def detected(self) -> bool:
        """True when at least one monitor fired inside the incident."""
        return self.first_alert_hour is not None


@dataclass(frozen=True)
class AlertVerdict:
    """What :func:`~.common.classify_alert` makes of the alerts of some hours: ``label`` is
    ``"attack"`` (a monitor of kind ``"attack"`` fired), ``"drift"`` (only input, prediction or
    performance monitors fired) or ``"none"`` (nothing fired). ``attack_monitors`` and
    ``drift_monitors`` name the monitors that fired; ``evidence`` is one sentence that says
    which monitors fired how often and how far above their threshold (peak value / threshold).

    Introduced in lab 13 (Monitoring and response).
    """

    label: str
    attack_monitors: tuple[str, ...]
    drift_monitors: tuple[str, ...]
    evidence: str


@dataclass(frozen=True)
class WeekReport:
    """Everything :func:`~.common.monitor_week` measured on one week.

    ``frame``: hour x monitor statistic (:func:`~.common.run_monitors`); ``thresholds``: monitor
    -> threshold, calibrated on the week's benign hours; ``alerts``: one row per (hour, monitor)
    above its threshold (:func:`~.common.alerts`); ``detections``: one
    :class:`Detection` per incident; ``false_alarms``: share of benign calibration hours with
    an alert (in-sample, at most the budget by construction); ``held_out_false_alarms``: share
    of quiet hours (after calibration, outside every incident) with an alert, ``None`` when the
    week has no quiet hour; ``verdicts``: incident name -> :class:`AlertVerdict`;
    ``budget``: the false-alarm rate asked for; ``budget_over``: ``"monitor"`` (each monitor's
    own rate) or ``"window"`` (the rate of a window with any alert, split among the monitors).

    Introduced in lab 13 (Monitoring and response).
    """

    frame: pd.DataFrame
    thresholds: dict[str, float]
    alerts: pd.DataFrame
    detections: tuple[Detection, ...]
    false_alarms: Rate
    held_out_false_alarms: Rate | None
    verdicts: dict[str, AlertVerdict]
    budget: float
    budget_over: str

    def detection(self, name: str) -> Detection:
        """The :class:`Detection` of the incident called ``name``."""
        for det in self.detections:
            if det.incident == name:
                return det
        known = ", ".join(d.incident for d in self.detections)
        raise ValueError(f"no incident called {name!r}; known: {known}")

    @property
    def all_detected(self) -> bool:
        """True when every incident of the week has at least one alert inside it."""
        return all(d.detected for d in self.detections)

    @property
    def first_alert_hour(self) -> int | None:
        """The hour of the week's first alert, ``None`` when nothing fired."""
        return None if self.alerts.empty else int(self.alerts["hour"].min())


# --- image --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SqueezeScores:
    """Per-digit scores of the image monitors, computed once for a batch of digits.

    ``squeeze``: feature squeezing's score (Xu et al. 2018): the largest L1 distance between the
    model's probabilities on the digit and on its squeezed versions (bit-depth reduction, a
    median filter); ``confidence``: the top class probability; ``predicted``: the predicted
    class; ``intensity``: the digit's mean pixel intensity; ``ink``: its share of pixels above
    0.5.

    Introduced in lab 13 (Monitoring and response).
    """

    squeeze: np.ndarray
    confidence: np.ndarray
    predicted: np.ndarray
    intensity: np.ndarray
    ink: np.ndarray


@dataclass(frozen=True)
class DigitBank:
    """Digits with what the image monitors need about each, computed once
    (:func:`~.image.digit_bank`): ``images`` (n, 1, 28, 28), true ``labels``, ``scores``
    (:class:`SqueezeScores`) and ``features`` (principal components of the pixels, n x k).

    Introduced in lab 13 (Monitoring and response).
    """

    images: np.ndarray
    labels: np.ndarray
    scores: SqueezeScores
    features: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class AdaptiveImageAttack:
    """What the squeezing-aware, paced attacker of the image week achieves.

    ``crafted``: adversarial digits it crafted; ``survivors``: those the model misreads and
    feature squeezing does not flag (the only ones it sends, resent in turn); ``max_per_hour``:
    the most it sends in an hour; ``hours``: how many hours it attacks; ``held_back_hours``:
    hours where it sent fewer than ``max_per_hour`` because more would have raised an alert;
    ``sent``: digits sent in all; ``misread``: how many the model read wrongly; ``alerts``:
    alerts its traffic raised that the honest week does not have (0: it stayed under every
    threshold); ``success``: misread / sent with its interval (1 by construction: it sends only
    digits it checked); ``unpaced_misread``: digits the unpaced attack got misread, for
    comparison.

    Introduced in lab 13 (Monitoring and response).
    """

    crafted: int
    survivors: int
    max_per_hour: int
    hours: int
    held_back_hours: int
    sent: int
    misread: int
    alerts: int
    success: Rate
    unpaced_misread: int
