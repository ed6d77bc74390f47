"""Lab 04 (Model theft): stealing each system through its prediction API, and making theft
costly (hardened answers, query budgets, query monitoring) and provable (watermarks).

Where each domain's code lives:

- shared (``common.py``): :class:`PredictionAPI` (the victim behind an API that counts, limits,
  logs and hardens its answers: :data:`OUTPUTS`, :func:`harden`, :func:`one_hot_labels`),
  :func:`fidelity` (agreement of a stolen model with the victim, with its interval),
  :func:`answer_labels` and :func:`prada_statistic` (the query-stream detector's statistic);
- image (``image.py``): :func:`steal` (adversarial-robustness-toolbox's KnockoffNets and
  CopycatCNN through the API, into a :class:`ThiefCNN`), :func:`copy_quality`,
  :func:`upscaled_sklearn_digits` (the thief's other-distribution pool), the PRADA detector
  (:func:`nearest_same_class_distances`, :func:`prada_scan`, :func:`calibrate_prada`,
  :func:`synthetic_queries`, :func:`disguised_queries`), the DAWN watermark
  (:class:`DawnAPI`, :func:`ownership_test`, :func:`distil`) and :func:`answer_cost` (what
  hardened answers cost honest users);
- NLP (``nlp.py``): :func:`surrogate_corpus` (the thief's own messages),
  :func:`steal_text_model` and :func:`theft_curve` (a copy distilled from the API's answers,
  against the query budget), :func:`query_with_keys` (the thief who spreads its queries over
  several API keys);
- recommender (``recommender.py``): :class:`ListAPI` (top-k lists for a profile: exact,
  truncated or perturbed, with a per-account quota), :func:`synthetic_profiles`,
  :func:`steal_recommender`, :func:`overlap_at_k` (with a bootstrap interval over users),
  :func:`consensus_lists` (the thief who votes over repeated noisy answers);
- fraud (``fraud.py``): :func:`decision_api` (approve/decline only), :func:`steal_fraud_scorer`
  (random or active queries), :func:`transfer_attack` (lab 02's constrained evasion crafted on
  the copy, sent to the bank);
- medical (``medical.py``): :func:`equation_solving_attack` and :func:`solve_logistic` (the
  weights from d + 1 answers), :func:`line_search_attack` and :func:`boundary_bracket` (from
  labels alone), :func:`parameter_error`.

Every domain module defines its own frozen result dataclasses next to the functions that
return them. adversarial-robustness-toolbox supplies the extraction attacks (CopycatCNN,
KnockoffNets) and the rounding and reverse-sigmoid postprocessors; its ``ClassLabels``
postprocessor is wrong in 1.20.1 and is replaced by :func:`one_hot_labels`.

Introduced in lab 04 (Model theft).
"""

from __future__ import annotations

from . import fraud, image, medical, nlp, recommender
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
from .fraud import (
    STRATEGIES,
    StolenScorer,
    TransferResult,
    decision_api,
    steal_fraud_scorer,
    transfer_attack,
)
from .image import (
    ATTACKS,
    AnswerCost,
    CachedVictim,
    CopyQuality,
    DawnAPI,
    OwnershipTest,
    PradaCalibration,
    PradaScan,
    Theft,
    ThiefCNN,
    Watermark,
    answer_cost,
    calibrate_prada,
    copy_quality,
    disguised_queries,
    distil,
    nearest_same_class_distances,
    ownership_test,
    prada_scan,
    steal,
    synthetic_queries,
    train_thief,
    upscaled_sklearn_digits,
)
from .medical import (
    LineSearchResult,
    StolenLinearModel,
    boundary_bracket,
    equation_solving_attack,
    line_search_attack,
    parameter_error,
    solve_logistic,
    victim_parameters,
)
from .nlp import StolenTextModel, query_with_keys, steal_text_model, surrogate_corpus, theft_curve
from .recommender import (
    LIST_MODES,
    ListAPI,
    Profile,
    StolenRecommender,
    candidate_items,
    consensus_lists,
    fold_in_scores,
    overlap_at_k,
    profiles_from_ratings,
    steal_recommender,
    synthetic_profiles,
    top_k_lists,
)

__all__ = [
    "ATTACKS",
    "AnswerCost",
    "CachedVictim",
    "CopyQuality",
    "DawnAPI",
    "LIST_MODES",
    "LineSearchResult",
    "ListAPI",
    "OUTPUTS",
    "OwnershipTest",
    "PradaCalibration",
    "PradaScan",
    "PredictionAPI",
    "Profile",
    "QueryBudgetExceeded",
    "STRATEGIES",
    "StolenLinearModel",
    "StolenRecommender",
    "StolenScorer",
    "StolenTextModel",
    "Theft",
    "ThiefCNN",
    "TransferResult",
    "Watermark",
    "answer_cost",
    "answer_labels",
    "boundary_bracket",
    "calibrate_prada",
    "candidate_items",
    "consensus_lists",
    "copy_quality",
    "decision_api",
    "disguised_queries",
    "distil",
    "equation_solving_attack",
    "fidelity",
    "fold_in_scores",
    "fraud",
    "harden",
    "image",
    "line_search_attack",
    "medical",
    "nearest_same_class_distances",
    "nlp",
    "one_hot_labels",
    "overlap_at_k",
    "ownership_test",
    "parameter_error",
    "prada_scan",
    "prada_statistic",
    "profiles_from_ratings",
    "query_with_keys",
    "recommender",
    "solve_logistic",
    "steal",
    "steal_fraud_scorer",
    "steal_recommender",
    "steal_text_model",
    "surrogate_corpus",
    "synthetic_profiles",
    "synthetic_queries",
    "theft_curve",
    "top_k_lists",
    "train_thief",
    "transfer_attack",
    "upscaled_sklearn_digits",
    "victim_parameters",
]
