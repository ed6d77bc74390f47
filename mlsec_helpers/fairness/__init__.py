"""Bias and fairness, measured and mitigated, in the five domains; and attacks on fairness.

Introduced in lab 07 (Bias and fairness). Fairness here is a sociotechnical question, as
fairlearn's user guide frames it: each gap stands for a harm (a wrongful denial, a missed
death, a lost audience, a customer sent to the fraud queue), and the lab names it.

=============================  =================================================  ==========
piece                          what it does                                       library
=============================  =================================================  ==========
group metrics                  per-group rates (``MetricFrame``)                  fairlearn
gaps with intervals            fairlearn's differences, bootstrapped in NumPy     by hand
mitigation                     ``ThresholdOptimizer``, ``ExponentiatedGradient``  fairlearn
reweighing (Kamiran-Calders)   a weight per (group, label) cell                   by hand
counterfactual augmentation    swap identity terms in training messages          by hand
re-ranking for the long tail   a popularity penalty on ranking scores             by hand
poisoning and audits           label flips for one group; a label-rate audit      scipy
=============================  =================================================  ==========

fairlearn has no reweighing, no text augmentation and nothing for rankings; those are a few
lines each, written here.

Where the code of each part of the lab lives (the lab calls ``fairness.name`` for all of them):

- every domain, ``common.py``: :func:`group_metrics`, :func:`disparity`,
  :data:`DISPARITY_METRICS`; ``figures.py``: :func:`bias_pipeline_diagram`,
  :func:`disparity_summary`.
- image, ``image.py``: :data:`DIGIT_PENS`, :func:`digit_accuracy_gap`, :func:`digit_pen`,
  :func:`digit_shear`, :func:`digit_slant`, :func:`digit_stroke_width`,
  :func:`digit_style_groups`, :func:`finetune_digits_with_pens`.
- nlp, ``nlp.py``: :data:`DIALECT_MARKERS`, :data:`DIALECT_REGISTERS`,
  :func:`augment_dialect_counterfactuals`, :func:`scam_dialect_bias`,
  :func:`scam_dialect_figure`, :func:`scam_dialect_pairs`, :func:`skew_scam_dialect`.
- recommender, ``recommender.py``: :func:`exposure_recall_figure`, :func:`liked_hit_disparity`,
  :func:`liked_hit_rows`, :func:`long_tail_exposure`, :func:`long_tail_split`,
  :func:`niche_users`, :func:`popularity_penalised`, :func:`popularity_penalty_sweep`,
  :func:`pure_svd_scores`, :func:`recall_difference`, :func:`recall_gap`,
  :func:`recommend_top_k`, :func:`recommender_recall`.
- fraud and credit, ``fraud.py``: :data:`CREDIT_SPLITS`, :data:`FRAUD_GROUPINGS`,
  :func:`credit_decisions`, :func:`credit_parity_over_splits`, :func:`credit_rates_figure`,
  :func:`fpr_gap_noise_floor`, :func:`fraud_review_decisions`, :func:`fraud_review_figure`.
- medical, ``medical.py``: :data:`NHEFS_POLICIES`, :func:`balanced_accuracy_threshold`,
  :func:`chouldechova_fpr`, :func:`kleinberg_balance`, :func:`nhefs_drop_sex`,
  :func:`nhefs_policy_figure`, :func:`nhefs_repeated_splits`, :func:`nhefs_risk_model`,
  :func:`nhefs_sex_proxy_auc`, :func:`nhefs_threshold_optimizer`,
  :func:`patient_outcomes_by_group`.
- attacks on fairness, ``attacks.py``: :func:`audit_group_label_rates`,
  :func:`flip_group_labels`, :func:`label_flip_figure`, :func:`label_flip_sweep`,
  :func:`poisoning_victim_model`.
- ``results.py``: the result dataclasses.
"""

from __future__ import annotations

from .attacks import (
    audit_group_label_rates,
    flip_group_labels,
    label_flip_figure,
    label_flip_sweep,
    poisoning_victim_model,
)
from .common import (
    DISPARITY_METRICS,
    disparity,
    group_metrics,
)
from .figures import (
    bias_pipeline_diagram,
    disparity_summary,
)
from .fraud import (
    CREDIT_SPLITS,
    FRAUD_GROUPINGS,
    credit_decisions,
    credit_parity_over_splits,
    credit_rates_figure,
    fpr_gap_noise_floor,
    fraud_review_decisions,
    fraud_review_figure,
)
from .image import (
    DIGIT_PENS,
    digit_accuracy_gap,
    digit_pen,
    digit_shear,
    digit_slant,
    digit_stroke_width,
    digit_style_groups,
    finetune_digits_with_pens,
)
from .medical import (
    NHEFS_POLICIES,
    balanced_accuracy_threshold,
    chouldechova_fpr,
    kleinberg_balance,
    nhefs_drop_sex,
    nhefs_policy_figure,
    nhefs_repeated_splits,
    nhefs_risk_model,
    nhefs_sex_proxy_auc,
    nhefs_threshold_optimizer,
    patient_outcomes_by_group,
)
from .nlp import (
    DIALECT_MARKERS,
    DIALECT_REGISTERS,
    augment_dialect_counterfactuals,
    scam_dialect_bias,
    scam_dialect_figure,
    scam_dialect_pairs,
    skew_scam_dialect,
)
from .recommender import (
    exposure_recall_figure,
    liked_hit_disparity,
    liked_hit_rows,
    long_tail_exposure,
    long_tail_split,
    niche_users,
    popularity_penalised,
    popularity_penalty_sweep,
    pure_svd_scores,
    recall_difference,
    recall_gap,
    recommend_top_k,
    recommender_recall,
)
from .results import (
    CreditDecisions,
    DialectPairs,
    DialectSkew,
    Disparity,
    FraudReview,
    LabelFlip,
    LabelFlipSweep,
    LongTailSplit,
    NhefsSplitStudy,
    RecallAtK,
    ScamDialectBias,
    TailExposure,
)

__all__ = [
    "CREDIT_SPLITS",
    "CreditDecisions",
    "DIALECT_MARKERS",
    "DIALECT_REGISTERS",
    "DIGIT_PENS",
    "DISPARITY_METRICS",
    "DialectPairs",
    "DialectSkew",
    "Disparity",
    "FRAUD_GROUPINGS",
    "FraudReview",
    "LabelFlip",
    "LabelFlipSweep",
    "LongTailSplit",
    "NHEFS_POLICIES",
    "NhefsSplitStudy",
    "RecallAtK",
    "ScamDialectBias",
    "TailExposure",
    "audit_group_label_rates",
    "augment_dialect_counterfactuals",
    "balanced_accuracy_threshold",
    "bias_pipeline_diagram",
    "chouldechova_fpr",
    "credit_decisions",
    "credit_parity_over_splits",
    "credit_rates_figure",
    "digit_accuracy_gap",
    "digit_pen",
    "digit_shear",
    "digit_slant",
    "digit_stroke_width",
    "digit_style_groups",
    "disparity",
    "disparity_summary",
    "exposure_recall_figure",
    "finetune_digits_with_pens",
    "flip_group_labels",
    "fpr_gap_noise_floor",
    "fraud_review_decisions",
    "fraud_review_figure",
    "group_metrics",
    "kleinberg_balance",
    "label_flip_figure",
    "label_flip_sweep",
    "liked_hit_disparity",
    "liked_hit_rows",
    "long_tail_exposure",
    "long_tail_split",
    "nhefs_drop_sex",
    "nhefs_policy_figure",
    "nhefs_repeated_splits",
    "nhefs_risk_model",
    "nhefs_sex_proxy_auc",
    "nhefs_threshold_optimizer",
    "niche_users",
    "patient_outcomes_by_group",
    "poisoning_victim_model",
    "popularity_penalised",
    "popularity_penalty_sweep",
    "pure_svd_scores",
    "recall_difference",
    "recall_gap",
    "recommend_top_k",
    "recommender_recall",
    "scam_dialect_bias",
    "scam_dialect_figure",
    "scam_dialect_pairs",
    "skew_scam_dialect",
]
