"""Lab 04 (Model theft): stealing each system through its prediction API, and making theft
costly (hardened answers, query monitoring) and provable (watermarks).

Where each domain's code lives:

- shared (``common.py``): :class:`PredictionAPI` (the victim behind an API that counts, logs
  and hardens its answers: :data:`OUTPUTS`, :func:`harden`, :func:`one_hot_labels`),
  :func:`fidelity` (agreement of a stolen model with the victim, with its interval) and
  :func:`prada_statistic` (the query-stream detector's statistic).

Introduced in lab 04 (Model theft).
"""

from __future__ import annotations

from .common import (
    OUTPUTS,
    PredictionAPI,
    QueryBudgetExceeded,
    answer_labels,
    fidelity,
    harden,
    one_hot_labels,
    prada_statistic,
)

__all__ = [
    "OUTPUTS",
    "PredictionAPI",
    "QueryBudgetExceeded",
    "answer_labels",
    "fidelity",
    "harden",
    "one_hot_labels",
    "prada_statistic",
]
