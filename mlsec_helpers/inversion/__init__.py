"""Model inversion, training-data extraction and attribute inference, in the five domains.

Introduced in lab 06 (Model inversion). The attacks answer one question: *what can an attacker
reconstruct of the training data from a model or its answers?* (what a class looks like, a
secret in the training text, a film a user just rated, a customer's age band, a patient's
smoking).

===========================  ===================================================  ===========
piece                        what it does                                         library
===========================  ===================================================  ===========
MIFace (Fredrikson 2015)     gradient ascent on a class's logit, from noise       ART
zeroth-order inversion       the same ascent with gradients estimated from        by hand
                             an API's answers (NES); a PCA prior
exposure (Carlini 2019)      the rank of a planted secret among all candidates     by hand
canary language models       lab 05's character-level LSTM, with DP-SGD            opacus
related-items lists          item-item cosine lists and their changes              by hand
(Calandrino 2011)
attribute inference          Fredrikson's rule, score matching, imputation         scikit-learn
===========================  ===================================================  ===========

ART 1.20 has MIFace (used, with a workaround for its stopping rule: see
:func:`digits_miface`) and attribute-inference attacks built on trained attack models; the
exposure metric, the list-change attack, score matching and Fredrikson's closed-form rule are a
few lines of NumPy each, written here so that the lab can show every step.

Where the code of each part of the lab lives (the lab calls ``inversion.name`` for all of them):

- every domain, ``common.py``: the exposure of a secret (:func:`secret_rank`,
  :func:`exposure_from_rank`, :func:`exposure`), the attribute-inference rule of Fredrikson et
  al. (:func:`fredrikson_inference`), the model's answer for each candidate value
  (:func:`candidate_probabilities`), the imputation baseline (:func:`impute_attribute`) and
  the comparison with a baseline (:func:`inference_advantage`); ``figures.py``:
  :func:`threat_diagram`.
- image, ``image.py``: MIFace (:func:`digits_miface`, :func:`digits_inversion_classifier`),
  the black-box version (:func:`digits_zeroth_order_inversion`, :func:`digits_api_answers`,
  :data:`DIGITS_API_ACCESS`), the prior (:func:`digits_pca_decoder`,
  :class:`DigitsPCADecoder`), the scores (:func:`digits_inversion_scores`) and the one-person
  classes (:func:`digits_one_individual_inversion`).
- nlp, ``nlp.py``: the canaries (:func:`canary_set`, :func:`canary_render`,
  :data:`CANARY_FORMATS`, :data:`CANARY_REPEATS`) and the corpus with them
  (:func:`canary_corpus`), the attack (:func:`canary_candidate_scores`,
  :func:`canary_exposure`, :func:`canary_greedy`, :func:`canary_beam_search`,
  :func:`canary_attack_table`), the model's quality (:func:`canary_lm_bits_per_char`), the
  checkpointed models (:func:`load_canary_lms`) and the scrubber (:func:`scrub_pii`,
  :data:`PII_TAGS`, :func:`scrub_pii_recall`).
- recommender, ``recommender.py``: the public lists (:func:`related_items_service`,
  :func:`related_items_similarity`, :func:`related_items_lists`), the attacker's window
  (:func:`related_items_window`) and the attack (:func:`related_items_rank_gain`,
  :func:`related_items_attack`).
- fraud, ``fraud.py``: the scorer with the age band (:data:`FRAUD_AGE_BANDS`,
  :func:`fraud_age_band`, :func:`fraud_age_features`, :func:`fraud_scorer_with_age`), score
  matching (:func:`score_matching_candidates`, :func:`pick_candidate`), the attacker who
  watches several transactions (:func:`first_per_customer`, :func:`customer_candidates`,
  :func:`customer_posterior`) and the cost (:func:`precision_at_review_budget`).
- medical, ``medical.py``: NHEFS with the smoking band (:data:`NHEFS_SMOKING_BANDS`,
  :func:`nhefs_smoking_band`, :func:`nhefs_patient_records`, :func:`nhefs_mortality_forest`,
  :func:`nhefs_imputation`) and the defences (:func:`randomized_response`,
  :func:`label_only_outputs`).
- checkpoints, ``trainers.py``: :data:`CANARY_LM_SETTINGS`, :data:`CANARY_LM_VARIANTS`,
  :func:`canary_lm_training_corpus`, :func:`train_canary_lm` and the trainers of the three
  canary checkpoints (:func:`train_canary_lm_plain`, :func:`train_canary_lm_scrubbed`,
  :func:`train_canary_lm_dp`).
- ``results.py``: the result dataclasses.

The canary language models, whose training would break the notebook's 60 s budget, are
checkpoints trained by the deterministic trainers of ``trainers.py``; every attack runs live.
"""

from __future__ import annotations

from .common import (
    candidate_probabilities,
    exposure,
    exposure_from_rank,
    fredrikson_inference,
    impute_attribute,
    inference_advantage,
    secret_rank,
)
from .figures import (
    threat_diagram,
)
from .fraud import (
    FRAUD_AGE_BANDS,
    customer_candidates,
    customer_posterior,
    first_per_customer,
    fraud_age_band,
    fraud_age_features,
    fraud_scorer_with_age,
    pick_candidate,
    precision_at_review_budget,
    score_matching_candidates,
)
from .image import (
    DIGITS_API_ACCESS,
    DigitsPCADecoder,
    digits_api_answers,
    digits_inversion_classifier,
    digits_inversion_scores,
    digits_miface,
    digits_one_individual_inversion,
    digits_pca_decoder,
    digits_zeroth_order_inversion,
)
from .medical import (
    NHEFS_SMOKING_BANDS,
    label_only_outputs,
    nhefs_imputation,
    nhefs_mortality_forest,
    nhefs_patient_records,
    nhefs_smoking_band,
    randomized_response,
)
from .nlp import (
    CANARY_FORMATS,
    CANARY_REPEATS,
    PII_TAGS,
    canary_attack_table,
    canary_beam_search,
    canary_candidate_scores,
    canary_corpus,
    canary_exposure,
    canary_greedy,
    canary_lm_bits_per_char,
    canary_render,
    canary_set,
    load_canary_lms,
    scrub_pii,
    scrub_pii_recall,
)
from .recommender import (
    related_items_attack,
    related_items_lists,
    related_items_rank_gain,
    related_items_service,
    related_items_similarity,
    related_items_window,
)
from .results import (
    AgeBandData,
    Canary,
    CanaryExposure,
    CustomerEvidence,
    DigitsIndividualInversion,
    DigitsInversion,
    DigitsInversionScore,
    InferenceAdvantage,
    PatientImputation,
    PatientRecords,
    RelatedItemsAttack,
    RelatedItemsService,
    RelatedItemsWindow,
)
from .trainers import (
    CANARY_LM_SETTINGS,
    CANARY_LM_VARIANTS,
    canary_lm_training_corpus,
    train_canary_lm,
    train_canary_lm_dp,
    train_canary_lm_plain,
    train_canary_lm_scrubbed,
)

__all__ = [
    "AgeBandData",
    "CANARY_FORMATS",
    "CANARY_LM_SETTINGS",
    "CANARY_LM_VARIANTS",
    "CANARY_REPEATS",
    "Canary",
    "CanaryExposure",
    "CustomerEvidence",
    "DIGITS_API_ACCESS",
    "DigitsIndividualInversion",
    "DigitsInversion",
    "DigitsInversionScore",
    "DigitsPCADecoder",
    "FRAUD_AGE_BANDS",
    "InferenceAdvantage",
    "NHEFS_SMOKING_BANDS",
    "PII_TAGS",
    "PatientImputation",
    "PatientRecords",
    "RelatedItemsAttack",
    "RelatedItemsService",
    "RelatedItemsWindow",
    "canary_attack_table",
    "canary_beam_search",
    "canary_candidate_scores",
    "canary_corpus",
    "canary_exposure",
    "canary_greedy",
    "canary_lm_bits_per_char",
    "canary_lm_training_corpus",
    "canary_render",
    "canary_set",
    "candidate_probabilities",
    "customer_candidates",
    "customer_posterior",
    "digits_api_answers",
    "digits_inversion_classifier",
    "digits_inversion_scores",
    "digits_miface",
    "digits_one_individual_inversion",
    "digits_pca_decoder",
    "digits_zeroth_order_inversion",
    "exposure",
    "exposure_from_rank",
    "first_per_customer",
    "fraud_age_band",
    "fraud_age_features",
    "fraud_scorer_with_age",
    "fredrikson_inference",
    "impute_attribute",
    "inference_advantage",
    "label_only_outputs",
    "load_canary_lms",
    "nhefs_imputation",
    "nhefs_mortality_forest",
    "nhefs_patient_records",
    "nhefs_smoking_band",
    "pick_candidate",
    "precision_at_review_budget",
    "randomized_response",
    "related_items_attack",
    "related_items_lists",
    "related_items_rank_gain",
    "related_items_service",
    "related_items_similarity",
    "related_items_window",
    "score_matching_candidates",
    "scrub_pii",
    "scrub_pii_recall",
    "secret_rank",
    "threat_diagram",
    "train_canary_lm",
    "train_canary_lm_dp",
    "train_canary_lm_plain",
    "train_canary_lm_scrubbed",
]
