"""The result dataclasses of lab 02's attacks and defences.

Each attack or defence that produces more than one thing returns one of these small frozen
dataclasses: the fields are named and documented, and a result cannot be changed by accident
after the fact. (The arrays inside are ordinary NumPy arrays.)

Introduced in lab 02 (Evasion).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

__all__ = [
    "AugmentedTexts",
    "EmbeddingPerturbation",
    "FraudAttackResult",
    "LinearDecision",
    "PGDTrace",
    "SquareResult",
    "TextAttackResult",
    "UnconstrainedResult",
]


# --- image ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SquareResult:
    """Adversarial images from :func:`~mlsec_helpers.evasion.square_attack` and the queries
    each image cost.

    Introduced in lab 02 (Evasion).
    """

    X_adv: np.ndarray
    """The adversarial images, (n, 1, H, W), pixels in [0, 1]."""
    success: np.ndarray
    """Per image, True when the final image is misclassified."""
    queries: np.ndarray
    """Per image, the candidate images the attack sent to the model (its clean prediction
    and the initial stripes included); an image never fooled cost every query."""


@dataclass(frozen=True)
class PGDTrace:
    """PGD with its loss curve, from :func:`~mlsec_helpers.evasion.pgd_trace`.

    Introduced in lab 02 (Evasion).
    """

    X_adv: np.ndarray
    """Per image, the first iterate (over all restarts) that fools the model, else the last
    iterate of the restart with the highest loss; (n, 1, H, W), pixels in [0, 1]."""
    success: np.ndarray
    """Per image, True when some iterate of some restart fooled the model."""
    loss: np.ndarray
    """(restarts, steps + 1): the mean cross-entropy over the images after each step (column 0:
    the random start). A curve still rising at the end says: more steps might help."""
    fooled: np.ndarray
    """(restarts, steps + 1): the share of images fooled by some iterate up to each step."""


# --- NLP --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextAttackResult:
    """What :func:`~mlsec_helpers.evasion.greedy_text_attack` did to each message.

    Introduced in lab 02 (Evasion).
    """

    original: list[str]
    """The messages as they were attacked."""
    adversarial: list[str]
    """The final (perturbed) messages, one per original."""
    evaded: np.ndarray
    """Per message, True when the model's label left the target class."""
    queries: np.ndarray
    """Per message, the model queries spent (the clean query and word importance included)."""
    words_changed: np.ndarray
    """Per message, how many words were perturbed."""
    p_before: np.ndarray
    """Per message, the target-class probability before the attack."""
    p_after: np.ndarray
    """Per message, the target-class probability after the attack."""
    attacks: tuple[str, ...] = ()
    """The perturbations the attack was allowed (names of ``TEXT_ATTACKS``)."""

    @property
    def evasion_rate(self) -> float:
        """Share of the attacked messages that evaded."""
        return float(np.mean(self.evaded)) if len(self.evaded) else 0.0

    def frame(self) -> pd.DataFrame:
        """One row per message: original, adversarial, evaded, queries, words changed."""
        return pd.DataFrame({
            "original": self.original, "adversarial": self.adversarial, "evaded": self.evaded,
            "queries": self.queries, "words changed": self.words_changed,
            "p(target) before": self.p_before, "p(target) after": self.p_after,
        })


@dataclass(frozen=True)
class AugmentedTexts:
    """The training set grown by :func:`~mlsec_helpers.evasion.augment_texts`.

    Introduced in lab 02 (Evasion).
    """

    X: np.ndarray
    """The messages: the original training messages, then the perturbed copies (object array)."""
    y: np.ndarray
    """One label per message of ``X`` (the copies keep their original's label)."""
    n_added: int
    """How many perturbed copies were appended."""


# --- recommender ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmbeddingPerturbation:
    """The adversarial direction of :func:`~mlsec_helpers.evasion.embedding_attack` for the
    embeddings of a matrix-factorisation recommender.

    ``P + eps * dP`` moves each user's vector by ``eps`` times its own length in the direction
    that hurts the ranking most (to first order); likewise ``Q + eps * dQ`` for the items.

    Introduced in lab 02 (Evasion).
    """

    dP: torch.Tensor
    """Direction for the user embeddings, the shape of ``system.model.P.weight``."""
    dQ: torch.Tensor
    """Direction for the item embeddings, the shape of ``system.model.Q.weight``."""
    dbi: torch.Tensor | None = None
    """Direction for the item biases (the shape of ``system.model.bi.weight``), or None when
    the attack leaves the biases alone. When set, each item's vector and bias move together:
    ``(Q_i, b_i)`` by ``eps`` times the length of ``(Q_i, b_i)``."""


# --- fraud ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FraudAttackResult:
    """The outcome of :func:`~mlsec_helpers.evasion.constrained_fraud_attack` for each
    attacked fraud.

    Introduced in lab 02 (Evasion).
    """

    plan: pd.DataFrame
    """One row per fraud: the chosen category, channel, hour and number of parts, the score
    before and after, whether it evaded, the queries spent (one per scored part) and whether
    every part passes ``fraud_sim.check_constraints``."""
    transactions: pd.DataFrame
    """The final transactions (all parts; ``attack_target`` names the fraud) with their
    recomputed features."""
    X_adv: np.ndarray | None = None
    """The model inputs of the rows of ``transactions`` (for adversarial training); None when
    nothing was attacked."""

    @property
    def evasion_rate(self) -> float:
        """Share of the attacked frauds whose every part scores below the threshold."""
        return float(self.plan["evaded"].mean()) if len(self.plan) else 0.0


@dataclass(frozen=True)
class UnconstrainedResult:
    """The outcome of :func:`~mlsec_helpers.evasion.unconstrained_fraud_attack`.

    Introduced in lab 02 (Evasion).
    """

    X_adv: np.ndarray
    """The final feature rows, one per attacked fraud."""
    evaded: np.ndarray
    """Per fraud, True when its final row scores below the threshold."""
    queries: np.ndarray
    """Per fraud, the model queries spent."""
    changed: list[list[str]]
    """Per fraud, the names of the features the attack moved."""

    @property
    def evasion_rate(self) -> float:
        """Share of the attacked frauds that scored below the threshold in the end."""
        return float(np.mean(self.evaded)) if len(self.evaded) else 0.0


# --- medical ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinearDecision:
    """The decision function ``w @ x + b`` of a linear model on raw features, from
    :func:`~mlsec_helpers.evasion.linear_decision`.

    Introduced in lab 02 (Evasion).
    """

    w: np.ndarray
    """The weights, one per raw feature (the scaler folded in)."""
    b: float
    """The intercept on raw features."""

    def decision(self, X) -> np.ndarray:
        """``X @ w + b`` for each row of ``X`` (positive: class 1)."""
        return np.asarray(X, dtype=np.float64) @ self.w + self.b
