"""The result dataclasses of lab 03's attacks and defences.

Each attack or defence that produces more than one thing returns one of these small frozen
dataclasses: the fields are named and documented, and a result cannot be changed by accident
after the fact. (The arrays inside are ordinary NumPy arrays.)

Introduced in lab 03 (Data poisoning and backdoors).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "ActivationClusteringResult",
    "CompromisedSource",
    "FakeProfiles",
    "FlippedLabels",
    "LabelSanitisation",
    "PoisonedData",
    "RoniDecision",
    "ShillingDetection",
    "SourceSplit",
    "SpectralSignatureResult",
]


# --- shared by several domains ------------------------------------------------------------------


@dataclass(frozen=True)
class PoisonedData:
    """Training data with poison in it, and where the poison is: the result of
    :func:`~mlsec_helpers.poisoning.poison_images` and
    :func:`~mlsec_helpers.poisoning.poison_texts`.

    Introduced in lab 03 (Data poisoning and backdoors).
    """

    X: np.ndarray
    """The training inputs, poisoned rows included (a copy; the caller's data is unchanged)."""
    y: np.ndarray
    """The training labels, the poisoned rows carrying the attacker's label."""
    poison_idx: np.ndarray
    """Sorted row indices (into ``X`` and ``y``) of the poisoned rows."""


@dataclass(frozen=True)
class FlippedLabels:
    """Labels after a label-flipping attack: the result of
    :func:`~mlsec_helpers.poisoning.flip_labels`.

    Introduced in lab 03 (Data poisoning and backdoors).
    """

    y: np.ndarray
    """The labels with the flipped ones changed (a copy)."""
    flipped_idx: np.ndarray
    """Sorted indices of the rows whose label was flipped."""


@dataclass(frozen=True)
class LabelSanitisation:
    """Label sanitisation by cross-validated confidence: the result of
    :func:`~mlsec_helpers.poisoning.confident_label_flags`.

    Introduced in lab 03 (Data poisoning and backdoors).
    """

    flags: np.ndarray
    """Per row, True when the row's label looks wrong (another class is confidently likely)."""
    suggested: np.ndarray
    """Per row, the suggested label: the most probable other class where flagged, else the
    given label."""
    proba: np.ndarray
    """The out-of-fold class probabilities, (rows, classes), in sorted class order."""


# --- image ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivationClusteringResult:
    """What activation clustering found: the result of
    :func:`~mlsec_helpers.poisoning.activation_clustering`.

    Introduced in lab 03 (Data poisoning and backdoors).
    """

    flags: np.ndarray
    """Per training row, True when it lies in a suspiciously small cluster of its class."""
    report: pd.DataFrame
    """One row per class: its rows, the size and share of its smaller cluster, and whether
    that cluster was flagged."""


@dataclass(frozen=True)
class SpectralSignatureResult:
    """What the spectral-signature detector found: the result of
    :func:`~mlsec_helpers.poisoning.spectral_signature_detect`.

    Introduced in lab 03 (Data poisoning and backdoors).
    """

    flags: np.ndarray
    """Per row, True when its outlier score is among the top share of its class."""
    scores: np.ndarray
    """Per row, its outlier score within its class (0 for classes with fewer than 2 rows)."""


# --- recommender ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeProfiles:
    """Fake user profiles of a shilling attack: the result of
    :func:`~mlsec_helpers.poisoning.shilling_profiles`.

    Introduced in lab 03 (Data poisoning and backdoors).
    """

    X: np.ndarray
    """(n, 2) int64 (user, item) pairs of the fake ratings; the fake users get new ids after
    the real ones."""
    y: np.ndarray
    """The fake ratings (float32, half-star scale), one per row of ``X``."""


@dataclass(frozen=True)
class ShillingDetection:
    """What the fake-profile detector found: the result of
    :func:`~mlsec_helpers.poisoning.detect_shilling` or
    :func:`~mlsec_helpers.poisoning.detect_anomalous_profiles`.

    Introduced in lab 03 (Data poisoning and backdoors).
    """

    scores: np.ndarray
    """Per observed user, how fake the profile looks: the profile classifier's probability
    (``detect_shilling``) or the anomaly score (``detect_anomalous_profiles``)."""
    flags: np.ndarray
    """Per observed user, True when flagged as a fake profile."""
    target: int
    """The suspected target item, or -1 when no group of suspects shares a 5-star item."""


# --- medical --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceSplit:
    """Training rows split into a trusted set and several data sources: the result of
    :func:`~mlsec_helpers.poisoning.split_sources`.

    Introduced in lab 03 (Data poisoning and backdoors).
    """

    trusted: np.ndarray
    """Sorted row indices of the trusted (curated) set."""
    sources: tuple[np.ndarray, ...]
    """Per source, the sorted row indices it contributed."""


@dataclass(frozen=True)
class CompromisedSource:
    """Data pooled from a compromised source: the result of
    :func:`~mlsec_helpers.poisoning.compromise_source`.

    Introduced in lab 03 (Data poisoning and backdoors).
    """

    X: np.ndarray
    """The features, the source's uploaded copies appended after the original rows."""
    y: np.ndarray
    """The labels, with the source's relabelled rows and its copies."""
    source_idx: np.ndarray
    """The compromised source's rows in ``X``: its original rows, then the appended copies."""


@dataclass(frozen=True)
class RoniDecision:
    """Reject On Negative Impact for one candidate batch: the result of
    :func:`~mlsec_helpers.poisoning.roni_decision`.

    Introduced in lab 03 (Data poisoning and backdoors).
    """

    impact: float
    """Validation accuracy with the candidate minus without it (negative: it hurts)."""
    reject: bool
    """True when the impact is below minus the tolerance."""
