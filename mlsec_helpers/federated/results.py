"""The result dataclasses of lab 09's federations, attacks and aggregation rules.

Each helper that produces more than one thing returns one of these small frozen dataclasses:
the fields are named and documented. Sections follow the lab's order.

Introduced in lab 09 (Federated learning).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..stats import Rate

__all__ = [
    # common
    "FederationRun",
    "SecureAggregation",
    # image
    "DigitsGradientInversion",
    "DigitsLabelLeak",
    # fraud
    "Standardiser",
    # medical
    "CaseMixInference",
    # flower app
    "DeploymentRun",
]


# --- common (aggregation, attacks, secure aggregation, the federation loop) ---------------------


@dataclass(frozen=True)
class FederationRun:
    """One federated training run (:func:`~mlsec_helpers.federated.run_federation`).

    Introduced in lab 09 (Federated learning).
    """

    params: np.ndarray
    """The global model's parameters after the last round (a flat vector)."""
    history: tuple[tuple[int, float], ...]
    """``(round, evaluate(params))`` at each evaluated round (rounds count from 1)."""
    rule: str
    """The aggregation rule the server used."""
    malicious: tuple[int, ...]
    """The ids of the malicious clients."""
    update_norms: np.ndarray
    """``(rounds, clients)``: the L2 norm of each update the server received, before clipping."""

    @property
    def final(self) -> float:
        """The last recorded evaluation (NaN when nothing was evaluated)."""
        return self.history[-1][1] if self.history else float("nan")


@dataclass(frozen=True)
class SecureAggregation:
    """What the server of secure aggregation sees
    (:func:`~mlsec_helpers.federated.secure_aggregate`).

    Introduced in lab 09 (Federated learning).
    """

    masked: np.ndarray
    """``(clients, dim)`` uint64: each client's fixed-point update plus its mask, modulo 2^64."""
    total: np.ndarray
    """The decoded sum of the updates (the masks cancel)."""
    max_error: float
    """The largest absolute difference between ``total`` and the true sum (fixed-point rounding)."""

@dataclass(frozen=True)
class Standardiser:
    """The standardisation the clients agreed on by secure aggregation
    (:func:`~mlsec_helpers.federated.fraud.secure_standardiser`).

    Introduced in lab 09 (Federated learning).
    """

    mean: np.ndarray
    """The pooled mean of each column, over every client's rows."""
    scale: np.ndarray
    """The pooled standard deviation of each column (1 for a constant column)."""
    n: int
    """The number of rows behind them, all clients together."""
    max_error: float
    """The largest fixed-point rounding error of the securely aggregated sums."""

    def transform(self, X) -> np.ndarray:
        """``(X - mean) / scale``."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.mean):
            raise ValueError(f"X must have {len(self.mean)} columns, got shape {X.shape}")
        return (X - self.mean) / self.scale


# --- image --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigitsLabelLeak:
    """What single updates reveal of their clients' label distributions
    (:func:`~mlsec_helpers.federated.image.label_leak`).

    Introduced in lab 09 (Federated learning).
    """

    scores: np.ndarray
    """``(clients, classes)``: each update's label scores (its bias update)."""
    correlations: np.ndarray
    """Per client, the Pearson correlation between its scores and its true label histogram."""
    correlation: Rate
    """The mean of ``correlations`` with a bootstrap interval over clients."""
    top_label: Rate
    """How often the top-scored class is the client's most common label (Wilson interval)."""
    chance: float
    """The top-label rate of a guess: ``1 / classes``."""


@dataclass(frozen=True)
class DigitsGradientInversion:
    """Digits reconstructed from their one-example gradients
    (:func:`~mlsec_helpers.federated.image.digits_gradient_inversion`).

    Introduced in lab 09 (Federated learning).
    """

    reconstructions: np.ndarray
    """``(digits, pixels)``: the recovered inputs, flat."""
    labels: np.ndarray
    """The recovered labels."""
    correlations: np.ndarray
    """Per digit, the Pearson correlation of its reconstruction with the true digit."""
    correlation: Rate
    """The mean of ``correlations`` with a bootstrap interval over digits."""
    label_recovered: Rate
    """The share of digits whose label was recovered (Wilson interval)."""


# --- nlp ----------------------------------------------------------------------------------------


# --- recommender --------------------------------------------------------------------------------


# --- fraud --------------------------------------------------------------------------------------



# --- medical ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseMixInference:
    """What the server reads of each client's case mix (share of positive cases) from its
    updates (:func:`~mlsec_helpers.federated.medical.case_mix_leak`).

    Introduced in lab 09 (Federated learning).
    """

    estimated: np.ndarray
    """The inferred share of positive cases behind each observed update."""
    true: np.ndarray
    """The client's true share, for each observed update."""
    mae: float
    """Mean absolute error of ``estimated``."""
    baseline_mae: float
    """Mean absolute error of guessing the mean of ``true`` for everyone (no update read)."""
    order_accuracy: object
    """A :class:`~mlsec_helpers.stats.Rate`: over the pairs of clients of one round whose
    shares differ, how often the estimate orders them right (chance: 0.5)."""


# --- flower app ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeploymentRun:
    """One run of the hospitals' Flower app on Flower's deployment engine (a SuperLink and one
    SuperNode per hospital, separate processes on 127.0.0.1:
    :func:`~mlsec_helpers.federated.flower_app.run_deployment`).

    Introduced in lab 09 (Federated learning).
    """

    rule: str
    """The aggregation rule the ServerApp used."""
    hospitals: int
    """The number of SuperNodes (hospitals) that trained."""
    history: tuple[tuple[int, float], ...]
    """``(round, test accuracy)`` the ServerApp logged after each round."""
    params: np.ndarray
    """The global model's parameters after the last round (30 weights, then the bias)."""
    n_test: int
    """The number of test patients each accuracy is measured on."""
    wall_seconds: float
    """Wall time from starting the SuperLink to reading the result (processes stopped after)."""
    ports: tuple[int, ...]
    """The loopback ports the SuperLink and the SuperNodes listened on (all closed after)."""

    @property
    def final(self) -> float:
        """The test accuracy after the last round."""
        return self.history[-1][1] if self.history else float("nan")
