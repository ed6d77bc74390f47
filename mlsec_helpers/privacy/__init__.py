"""Membership inference and differential privacy, in the five domains.

Introduced in lab 05 (Membership inference). The attacks answer one question: *was this record
in the training data?* (this image, this message, this user, this customer, this patient).

==========================  =======================================================  ==========
piece                       what it does                                             library
==========================  =======================================================  ==========
loss threshold (Yeom)       a record is a member when the model's loss on it is low   by hand
ART black-box attack        an attack model trained on (shadow) model probabilities   ART
offline LiRA (Carlini)      per-example Gaussian fit of shadow models' OUT            by hand
                            confidences; online LiRA adds the IN fit
DP-SGD                      per-example clipping and Gaussian noise, with the         opacus
                            accountant that turns noise into (epsilon, delta)
char-level LM               an LSTM language model, and opacus's ``DPLSTM`` for DP    opacus
==========================  =======================================================  ==========

Where the code of each part of the lab lives (the lab calls ``privacy.name`` for all of them):

- every domain, ``common.py``: the attacker's scores (:func:`cross_entropy_losses`,
  :func:`loss_threshold_attack`, :func:`logit_confidence`, :func:`logit_confidence_from_logits`,
  :func:`losses_from_logits`, :func:`loss_to_logit_confidence`), the metrics
  (:func:`tpr_at_fpr`, :func:`membership_metrics`, the audit :func:`epsilon_lower_bound`),
  LiRA (:func:`lira_offline_score`,
  :func:`lira_offline_scores`, :func:`lira_online_scores`, :func:`leave_one_out_lira`), ART's
  black-box attack (:func:`art_black_box_attack`), :func:`predict_logits` and :func:`softmax`;
  ``dp.py``: differential privacy, the accountant (:func:`epsilon_for`,
  :func:`noise_for_epsilon`, :func:`group_epsilon`, :data:`RDP_ORDERS`) and DP-SGD
  (:func:`train_dp`); ``figures.py``: :func:`threat_diagram`, :func:`membership_roc`.
- image, ``image.py``: :func:`digits_membership_split`, :func:`shadow_training_sets`,
  :class:`DigitsMembershipCNN`, :func:`digits_models_from`, :func:`load_digits_models`.
- nlp, ``nlp.py``: :func:`encode_messages`, :class:`CharLM`, :func:`char_lm_losses`,
  :func:`char_unigram_losses`, :func:`support_membership_split`, :func:`load_char_lm`.
- recommender, ``recommender.py``: :func:`user_membership_split`, :func:`fold_in_errors`.
- fraud, ``fraud.py``: :func:`customer_membership_split`, :func:`group_mean`,
  :func:`coarsen_scores`.
- medical, ``medical.py``: :data:`MEDICAL_SETTINGS`, :func:`medical_population`,
  :func:`random_halves`, :func:`train_medical_dp_models`, :func:`linear_models_logits`.
- checkpoints, ``trainers.py``: :data:`DIGITS_SETTINGS`, :func:`train_digits_models` and the
  trainers of the four digits checkpoints; :data:`CHAR_LM_SETTINGS`, :func:`train_char_lm`,
  :func:`train_char_lm_models` and the trainers of the two language-model checkpoints.
- ``results.py``: the result dataclasses (:class:`MembershipSplit`, :class:`PrivacySpent`, ...).

ART 1.20 has Shokri's shadow-model recipe (``ShadowModels``, ``MembershipInferenceBlackBox``)
but no likelihood-ratio attack, so LiRA is written here (a few lines of NumPy). Everything
else uses adversarial-robustness-toolbox, opacus and scikit-learn.

The experiments of lab 05 whose training would break the notebook's 60 s budget (the digits
shadow and DP models, the character-level language models) are checkpoints trained by the
deterministic trainers of ``trainers.py``; the attacks run live.
"""

from __future__ import annotations

from .common import (
    art_black_box_attack,
    cross_entropy_losses,
    epsilon_lower_bound,
    leave_one_out_lira,
    lira_offline_score,
    lira_offline_scores,
    lira_online_scores,
    logit_confidence,
    logit_confidence_from_logits,
    loss_threshold_attack,
    loss_to_logit_confidence,
    losses_from_logits,
    membership_metrics,
    predict_logits,
    softmax,
    tpr_at_fpr,
)
from .dp import ACCOUNTANTS, RDP_ORDERS, epsilon_for, group_epsilon, noise_for_epsilon, train_dp
from .figures import membership_roc, threat_diagram
from .fraud import coarsen_scores, customer_membership_split, group_mean
from .image import (
    DigitsMembershipCNN,
    digits_membership_split,
    digits_models_from,
    load_digits_models,
    shadow_training_sets,
)
from .medical import (
    MEDICAL_SETTINGS,
    linear_models_logits,
    medical_population,
    random_halves,
    train_medical_dp_models,
)
from .nlp import (
    CHARSET,
    VOCAB_SIZE,
    CharLM,
    char_lm_losses,
    char_unigram_losses,
    encode_messages,
    load_char_lm,
    support_membership_split,
)
from .recommender import fold_in_errors, user_membership_split
from .results import (
    DigitsCheckpoint,
    DPLinearModels,
    FoldInErrors,
    GroupMeans,
    LeaveOneOutScores,
    LossThresholdResult,
    MembershipMetrics,
    MembershipSplit,
    Population,
    PrivacySpent,
    TrainedCharLM,
)
from .trainers import (
    CHAR_LM_SETTINGS,
    DIGITS_SETTINGS,
    train_char_lm,
    train_char_lm_checkpoint,
    train_char_lm_dp_checkpoint,
    train_char_lm_models,
    train_digits_dp,
    train_digits_dp_shadows,
    train_digits_models,
    train_digits_shadows,
    train_digits_target,
)

__all__ = [
    "ACCOUNTANTS",
    "CHARSET",
    "CHAR_LM_SETTINGS",
    "DIGITS_SETTINGS",
    "MEDICAL_SETTINGS",
    "RDP_ORDERS",
    "VOCAB_SIZE",
    "CharLM",
    "DPLinearModels",
    "DigitsCheckpoint",
    "DigitsMembershipCNN",
    "FoldInErrors",
    "GroupMeans",
    "LeaveOneOutScores",
    "LossThresholdResult",
    "MembershipMetrics",
    "MembershipSplit",
    "Population",
    "PrivacySpent",
    "TrainedCharLM",
    "art_black_box_attack",
    "char_lm_losses",
    "char_unigram_losses",
    "coarsen_scores",
    "cross_entropy_losses",
    "customer_membership_split",
    "digits_membership_split",
    "digits_models_from",
    "encode_messages",
    "epsilon_for",
    "epsilon_lower_bound",
    "fold_in_errors",
    "group_epsilon",
    "group_mean",
    "leave_one_out_lira",
    "linear_models_logits",
    "lira_offline_score",
    "lira_offline_scores",
    "lira_online_scores",
    "load_char_lm",
    "load_digits_models",
    "logit_confidence",
    "logit_confidence_from_logits",
    "loss_threshold_attack",
    "loss_to_logit_confidence",
    "losses_from_logits",
    "medical_population",
    "membership_metrics",
    "membership_roc",
    "noise_for_epsilon",
    "predict_logits",
    "random_halves",
    "shadow_training_sets",
    "softmax",
    "support_membership_split",
    "threat_diagram",
    "tpr_at_fpr",
    "train_char_lm",
    "train_char_lm_checkpoint",
    "train_char_lm_dp_checkpoint",
    "train_char_lm_models",
    "train_digits_dp",
    "train_digits_dp_shadows",
    "train_digits_models",
    "train_digits_shadows",
    "train_digits_target",
    "train_dp",
    "train_medical_dp_models",
    "user_membership_split",
]
