"""The result of lab 01's quick probes, and a table of several.

Introduced in lab 01 (Threat modelling).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from ..catalogue import THREAT_CATEGORIES
from ..stats import Rate, proportion
from .model import likelihood_from_evidence

__all__ = ["ProbeResult", "probes_table"]


@dataclass(frozen=True)
class ProbeResult:
    """What a probe measured: the success rate of a cheap attack and the evidence around it.

    The probe *shows the threat* when ``success_rate`` reaches ``threshold``. The success rate
    measures exploitability under the probe's conditions, not likelihood; :attr:`rate` gives it
    with its Wilson interval on the ``n_targets`` ``targets``, and the interval, ``access`` and
    ``white_box`` feed :attr:`likelihood` (the course's rule,
    :func:`~mlsec_helpers.threatmodel.likelihood_from_evidence`, which adds exposure).

    Introduced in lab 01 (Threat modelling).
    """

    domain: str
    """The reference system probed (one of ``catalogue.DOMAINS``)."""
    threat_id: str
    """The threat of the system's reference model the probe measures (``"IMG-T1"``)."""
    category: str
    """The threat's category (a key of ``catalogue.THREAT_CATEGORIES``)."""
    technique: str
    """The MITRE ATLAS technique the probe runs (``"AML.T0043.000"``)."""
    question: str
    """The question the probe answers, in one sentence."""
    metric: str
    """What ``success_rate`` counts, in words."""
    success_rate: float
    """The share of targets the attack succeeded on, in [0, 1]."""
    threshold: float
    """The success rate from which the probe shows the threat."""
    n_targets: int
    """How many targets (inputs, users, frauds, patients) were attacked or measured."""
    queries: int
    """How many queries the attack sent to the system."""
    access: str
    """The access the attacker needs (a key of ``ACCESS_LEVELS``)."""
    white_box: bool
    """Whether the probe used the model itself (its gradients or weights)."""
    seconds: float
    """How long the probe ran (wall clock)."""
    details: dict = field(default_factory=dict)
    """The other measured numbers, by name."""
    examples: pd.DataFrame | None = None
    """A few attacked inputs (or ``None``)."""
    targets: str = "targets"
    """What the targets are, in words (``"correctly read test digits"``): the evaluation set."""

    @property
    def successes(self) -> int:
        """How many targets the attack succeeded on."""
        return int(round(self.success_rate * self.n_targets))

    @property
    def rate(self) -> Rate:
        """The success rate with its Wilson interval, on ``n_targets`` ``targets``."""
        return proportion(self.successes, self.n_targets,
                          on=f"{self.n_targets} {self.targets}")

    @property
    def shows_threat(self) -> bool:
        """Whether the measured success rate reaches the probe's threshold."""
        return bool(self.success_rate >= self.threshold)

    @property
    def likelihood(self) -> int:
        """The likelihood (1-5) the course's rule gives this measurement."""
        return likelihood_from_evidence(self.rate, self.access, self.white_box)

    def summary(self) -> str:
        """One sentence: what was measured, and whether it shows the threat."""
        verdict = "shows the threat" if self.shows_threat else "does NOT show the threat"
        r = self.rate
        return (f"[{self.domain}] {self.metric}: {r:.1%} on {r.on} ({self.queries:,} "
                f"queries, {self.seconds:.1f} s) -> {verdict} "
                f"(threshold {self.threshold:.0%}); likelihood {self.likelihood} "
                f"({self.access} access{', white-box' if self.white_box else ''})")

    def as_row(self) -> dict:
        """A flat dict for a table of probes."""
        return {
            "domain": self.domain, "threat": self.threat_id,
            "category": THREAT_CATEGORIES[self.category].name, "ATLAS": self.technique,
            "probe": self.question, "metric": self.metric, "success rate": self.success_rate,
            "95% interval": f"{self.rate.low:.3f}-{self.rate.high:.3f}",
            "targets": self.n_targets, "queries": self.queries, "access": self.access,
            "white-box": self.white_box, "shows threat": self.shows_threat,
            "likelihood": self.likelihood, "seconds": round(self.seconds, 2),
        }

    def __str__(self) -> str:
        return self.summary()


def probes_table(results: Sequence[ProbeResult]) -> pd.DataFrame:
    """One row per probe result (see :meth:`ProbeResult.as_row`).

    Introduced in lab 01 (Threat modelling).
    """
    results = list(results)
    for r in results:
        if not isinstance(r, ProbeResult):
            raise TypeError(f"expected ProbeResult objects, got {type(r).__name__}")
    return pd.DataFrame([r.as_row() for r in results])
