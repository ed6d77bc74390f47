"""The result dataclasses of lab 05's attacks, defences, splits and trainers.

Each helper that produces more than one thing returns one of these small frozen dataclasses:
the fields are named and documented, and a result cannot be changed by accident after the
fact. (The arrays inside are ordinary NumPy arrays or torch tensors.)

Introduced in lab 05 (Membership inference).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

__all__ = [
    "DPLinearModels",
    "DigitsCheckpoint",
    "FoldInErrors",
    "GroupMeans",
    "LeaveOneOutScores",
    "LossThresholdResult",
    "MembershipMetrics",
    "MembershipSplit",
    "Population",
    "PrivacySpent",
    "TrainedCharLM",
]


# --- every domain -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MembershipSplit:
    """Who trains the model and who does not: two disjoint, sorted index (or id) arrays, from
    the membership splits of every domain (:func:`~mlsec_helpers.privacy.digits_membership_split`,
    :func:`~mlsec_helpers.privacy.support_membership_split`,
    :func:`~mlsec_helpers.privacy.user_membership_split`,
    :func:`~mlsec_helpers.privacy.customer_membership_split`).

    Introduced in lab 05 (Membership inference).
    """

    members: np.ndarray
    """The records (images, messages, users, customers) the target model trains on, sorted."""
    non_members: np.ndarray
    """Records it does not train on, sorted. For the digits split these are all the other
    training images: the attacker's pool for shadow models."""


@dataclass(frozen=True)
class LossThresholdResult:
    """The loss-threshold attack's (:func:`~mlsec_helpers.privacy.loss_threshold_attack`)
    scores and decisions.

    Introduced in lab 05 (Membership inference).
    """

    scores: np.ndarray
    """Per record, minus its cross-entropy loss: higher means "more likely a member" (for ROC
    curves)."""
    is_member: np.ndarray
    """Per record, the attack's decision (booleans): True when the loss is at most the
    threshold."""


@dataclass(frozen=True)
class MembershipMetrics:
    """How well a membership attack separates members from non-members
    (:func:`~mlsec_helpers.privacy.membership_metrics`).

    Introduced in lab 05 (Membership inference).
    """

    auc: float
    """ROC AUC of the attack's scores (0.5 = chance)."""
    tpr_at_fpr: float
    """The best true-positive rate at the requested false-positive rate."""
    advantage: float
    """The membership advantage: the largest TPR - FPR over all thresholds."""


@dataclass(frozen=True)
class LeaveOneOutScores:
    """LiRA run against each of ``m`` models in turn
    (:func:`~mlsec_helpers.privacy.leave_one_out_lira`).

    Introduced in lab 05 (Membership inference).
    """

    scores: np.ndarray
    """(m, n): the attack's score of every example against every model (higher means "more
    likely a member")."""
    is_member: np.ndarray
    """(m, n) booleans: the truth, which examples each model trained on (a copy of ``keep``)."""


@dataclass(frozen=True)
class PrivacySpent:
    """The privacy a DP-SGD run spent (:func:`~mlsec_helpers.privacy.train_dp`).

    Introduced in lab 05 (Membership inference).
    """

    noise_multiplier: float
    """The noise's standard deviation, in multiples of the clipping norm."""
    sample_rate: float
    """Poisson sampling rate of a record per step (1 / batches per epoch)."""
    steps: int
    """Noisy steps taken (Poisson sampling can draw empty batches, which are skipped)."""
    epsilon: float
    """The privacy budget spent, by the accountant (``nan`` when it was not asked for)."""
    delta: float
    """The failure probability the budget holds at."""


# --- image --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigitsCheckpoint:
    """The CNNs of a digits checkpoint and its other tensors
    (:func:`~mlsec_helpers.privacy.load_digits_models`).

    Introduced in lab 05 (Membership inference).
    """

    models: dict[str, nn.Module]
    """The CNNs by prefix (``"model0"``, ``"eps1.model0"``, ...), in evaluation mode."""
    tensors: dict[str, torch.Tensor]
    """Every other tensor of the file: the DP checkpoints' budgets (``"epsilons"``) and the
    privacy each model spent (``"eps{e}.model{k}.noise_multiplier"``, ...)."""


# --- NLP ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainedCharLM:
    """A character-level language model and the privacy its training spent
    (:func:`~mlsec_helpers.privacy.train_char_lm`, :func:`~mlsec_helpers.privacy.load_char_lm`).

    Introduced in lab 05 (Membership inference).
    """

    model: nn.Module
    """The :class:`~mlsec_helpers.privacy.CharLM` (its fast ``nn.LSTM`` version), in evaluation
    mode."""
    privacy: PrivacySpent | None
    """What DP-SGD spent; ``None`` for a model trained without DP."""


# --- recommender --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FoldInErrors:
    """The user-level membership signal of a recommender
    (:func:`~mlsec_helpers.privacy.fold_in_errors`).

    Introduced in lab 05 (Membership inference).
    """

    users: np.ndarray
    """The users of the rated pairs, sorted, one entry each."""
    rmse: np.ndarray
    """Per user, the RMSE of their folded-in ratings: lower means "more likely a member"."""


# --- fraud --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupMeans:
    """Means of values per group (:func:`~mlsec_helpers.privacy.group_mean`).

    Introduced in lab 05 (Membership inference).
    """

    groups: np.ndarray
    """The group ids, sorted."""
    means: np.ndarray
    """The mean value of each group, in the order of ``groups``."""


# --- medical ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Population:
    """All patients of the medical dataset (:func:`~mlsec_helpers.privacy.medical_population`).

    Introduced in lab 05 (Membership inference).
    """

    X: np.ndarray
    """The experiment's patients' features, (n, 30), float32 (train and test splits together,
    less the public cohort)."""
    y: np.ndarray
    """The diagnoses (the dataset's class labels), one per row of ``X``."""
    X_public: np.ndarray
    """A public reference cohort, disjoint from ``X`` and never a member or a non-member: the
    DP models scale features by its mean and std, as published reference values would."""


@dataclass(frozen=True)
class DPLinearModels:
    """Stacked linear models trained with DP-SGD on random halves of the patients
    (:func:`~mlsec_helpers.privacy.train_medical_dp_models`).

    Introduced in lab 05 (Membership inference).
    """

    weight: torch.Tensor
    """(m, 2, n_features): each model's weights, on standardised features."""
    bias: torch.Tensor
    """(m, 2): each model's biases."""
    mean: torch.Tensor
    """(n_features,): the feature means the models standardise with (the whole table's)."""
    scale: torch.Tensor
    """(n_features,): the feature standard deviations they standardise with."""
    noise_multiplier: torch.Tensor
    """(m,) float64: the noise multiplier each model trained with."""
    epsilon: torch.Tensor
    """(m,) float64: the privacy budget each model spent (opacus's RDP accountant)."""
    delta: torch.Tensor
    """A float64 scalar: the delta every budget holds at."""
