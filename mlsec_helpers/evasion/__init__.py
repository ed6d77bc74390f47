"""Evasion attacks and robustness defences for the five systems: what lab 02 (Evasion) uses.

Lab 02 attacks every reference system with inputs changed just enough to flip its decision,
then defends it and measures again. The lab imports this package (``from mlsec_helpers import
evasion``) and calls ``evasion.name``; per domain, the code lives in:

* ``common.py`` (all domains): :func:`accuracy` of a course classifier; the black-box query
  (``query_proba``) and progress bar (``progress_bar``) the attacks are built on;
* ``image.py``: thin, seeded wrappers around adversarial-robustness-toolbox's FGSM, PGD and
  Square Attack on the digit reader (:func:`art_fgsm`, :func:`art_pgd`,
  :func:`square_attack`), PGD with its loss curve (:func:`pgd_trace`), the reference FGSM in
  torch (:func:`fgsm`, exercise 1), PGD adversarial training (:func:`pgd_adversarial_training`)
  and the challenge's gradient-masking defence (:class:`QuantisedDigits`);
* ``trainers.py`` (image): the checkpointed robust digits CNN, ``lab02_robust_digits_cnn``
  (:func:`load_robust_cnn`, trained by :func:`train_robust_cnn` with
  :data:`ROBUST_CNN_SETTINGS`);
* ``nlp.py``: black-box character- and word-level attacks on raw strings, greedy on word
  importance under a query budget (:func:`greedy_text_attack`, :func:`perturb_text` and the
  one-word perturbations), and the defence: the canonicaliser that undoes homoglyphs,
  zero-width characters and leetspeak (:func:`canonicalise`, exercise 2;
  :func:`fold_leetspeak`), the defended pipeline (:func:`defended_text_triage`) and
  adversarial data augmentation (:func:`augment_texts`); the read-only tables
  (:data:`HOMOGLYPHS`, :data:`CONFUSABLES`, :data:`ZERO_WIDTH`, :data:`LEET`,
  :data:`LEET_FOLD`, :data:`SYNONYMS`), and the adaptive attacker's look-alikes outside the
  defender's table (:data:`UNLISTED_HOMOGLYPHS`, :func:`unlisted_homoglyph`);
* ``recommender.py``: adversarial perturbations of the factor embeddings of
  ``systems.MFRecommender`` (:func:`embedding_attack`, :func:`perturbed_scores`,
  :func:`ranking_under_attack`; ``include_bias=True`` moves the item biases too, the adaptive
  attack on APR) and adversarial personalised ranking training
  (:func:`apr_training`, He et al., SIGIR 2018);
* ``fraud.py``: a black-box evasion that changes only what the fraudster controls
  (``fraud_sim.ATTACKER_CONSTRAINTS``), recomputing the history features with
  ``fraud_sim.derive_features`` (:func:`constrained_fraud_attack`; ``access="decision"``: the
  attacker sees approve/decline only; ``gaps_hours``: parts spread over days), its unconstrained
  counterpart (:func:`unconstrained_fraud_attack`, :func:`impossible_transactions`) and the
  defence's features that splitting within a day cannot lower (:func:`robust_fraud_features`);
* ``medical.py``: perturbations within a measurement tolerance
  (:func:`measurement_tolerance`, :func:`worst_case_linear`; ART's FGSM with exact gradients,
  :func:`fgsm_linear`, working around an ART 1.20.1 bug), the exact certified radius of a
  linear model (:func:`linear_decision`, :func:`certified_radius`, exercise 4), certified
  accuracy against radius (:func:`certified_accuracy`) and exact adversarial training of a
  logistic regression (:func:`robust_logistic_regression`);
* ``results.py``: the result dataclasses of the attacks and defences above.

Every attack, defence and evaluation takes the course system as ``system``; only the building
blocks on a bare torch module (:func:`fgsm`, :func:`pgd_adversarial_training`) take ``model``.

Introduced in lab 02 (Evasion).
"""

from __future__ import annotations

from .common import accuracy
from .fraud import (
    FRAUD_CHANNELS,
    ROBUST_FRAUD_FEATURES,
    SPLIT_GAP_SECONDS,
    constrained_fraud_attack,
    fraud_features,
    impossible_transactions,
    legal_moves,
    robust_fraud_features,
    split_amounts,
    unconstrained_fraud_attack,
)
from .image import (
    QuantisedDigits,
    art_fgsm,
    art_pgd,
    fgsm,
    pgd_adversarial_training,
    pgd_trace,
    square_attack,
)
from .medical import (
    certified_accuracy,
    certified_radius,
    fgsm_linear,
    linear_decision,
    measurement_tolerance,
    robust_logistic_regression,
    worst_case_linear,
)
from .nlp import (
    CHAR_ATTACKS,
    CONFUSABLES,
    HOMOGLYPHS,
    LEET,
    LEET_FOLD,
    SYNONYMS,
    TEXT_ATTACKS,
    UNLISTED_HOMOGLYPHS,
    ZERO_WIDTH,
    CanonicalisingTransformer,
    augment_texts,
    canonicalise,
    defended_text_triage,
    fold_leetspeak,
    greedy_text_attack,
    homoglyph,
    is_link,
    leetspeak,
    perturb_text,
    synonyms,
    typo,
    unlisted_homoglyph,
    zero_width,
)
from .recommender import apr_training, embedding_attack, perturbed_scores, ranking_under_attack
from .results import (
    AugmentedTexts,
    EmbeddingPerturbation,
    FraudAttackResult,
    LinearDecision,
    PGDTrace,
    SquareResult,
    TextAttackResult,
    UnconstrainedResult,
)
from .trainers import ROBUST_CNN_SETTINGS, load_robust_cnn, train_robust_cnn

__all__ = [
    # common
    "accuracy",
    # image
    "QuantisedDigits",
    "art_fgsm",
    "art_pgd",
    "fgsm",
    "pgd_adversarial_training",
    "pgd_trace",
    "square_attack",
    # image: the robust CNN's checkpoint
    "ROBUST_CNN_SETTINGS",
    "load_robust_cnn",
    "train_robust_cnn",
    # nlp
    "CHAR_ATTACKS",
    "CONFUSABLES",
    "HOMOGLYPHS",
    "LEET",
    "LEET_FOLD",
    "SYNONYMS",
    "TEXT_ATTACKS",
    "UNLISTED_HOMOGLYPHS",
    "ZERO_WIDTH",
    "CanonicalisingTransformer",
    "augment_texts",
    "canonicalise",
    "defended_text_triage",
    "fold_leetspeak",
    "greedy_text_attack",
    "homoglyph",
    "is_link",
    "leetspeak",
    "perturb_text",
    "synonyms",
    "typo",
    "unlisted_homoglyph",
    "zero_width",
    # recommender
    "apr_training",
    "embedding_attack",
    "perturbed_scores",
    "ranking_under_attack",
    # fraud
    "FRAUD_CHANNELS",
    "ROBUST_FRAUD_FEATURES",
    "SPLIT_GAP_SECONDS",
    "constrained_fraud_attack",
    "fraud_features",
    "impossible_transactions",
    "legal_moves",
    "robust_fraud_features",
    "split_amounts",
    "unconstrained_fraud_attack",
    # medical
    "certified_accuracy",
    "certified_radius",
    "fgsm_linear",
    "linear_decision",
    "measurement_tolerance",
    "robust_logistic_regression",
    "worst_case_linear",
    # results
    "AugmentedTexts",
    "EmbeddingPerturbation",
    "FraudAttackResult",
    "LinearDecision",
    "PGDTrace",
    "SquareResult",
    "TextAttackResult",
    "UnconstrainedResult",
]
