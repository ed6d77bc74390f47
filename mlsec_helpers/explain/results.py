"""The result dataclasses of lab 08's attributions, detectors, attacks and artefacts.

Each helper that produces more than one thing returns one of these small frozen dataclasses:
the fields are named and documented. Sections follow the lab's order.

Introduced in lab 08 (Explainability).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..stats import Rate

__all__ = [
    # image
    "DigitSaliencyAttack",
    "DigitTriggerDetection",
    # nlp
    "TokenAttributions",
    # recommender
    "ExplanationLeak",
    "FactorExplanations",
    "HistogramFidelity",
    "NeighbourService",
    "RemovalFidelity",
    # fraud and medical
    "FeatureRank",
    "PlantedFeature",
    "SurrogateAudit",
    # cards
    "CardMetric",
    "CardSecurityTest",
    "ModelCard",
]


# --- image --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigitTriggerDetection:
    """What ``detect_concentrated_digits`` measured: the threshold on the window concentration
    (calibrated on clean digits), the scores of the clean and triggered evaluation digits, and
    the detection and false-alarm rates (``stats.Rate`` with Wilson intervals).

    Introduced in lab 08 (Explainability).
    """

    threshold: float
    scores_clean: np.ndarray
    scores_triggered: np.ndarray
    detection: object
    false_alarms: object


@dataclass(frozen=True)
class DigitSaliencyAttack:
    """What ``saliency_shift_attack`` returned: the perturbed images, per image whether the
    model's prediction stayed the same, and the largest pixel change (L-infinity).

    Introduced in lab 08 (Explainability).
    """

    X_adv: np.ndarray
    kept: np.ndarray
    linf: float


# --- nlp ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenAttributions:
    """Token attributions of a text model, one entry per message: ``tokens[i]`` (word n-grams
    for the linear attribution, words for occlusion) sorted by decreasing attribution
    ``values[i]``; ``predicted`` and ``explained`` are each message's predicted class and the
    class whose logit (or probability) is explained; ``contrasts`` each message's class
    explained against (None: no contrast); ``margins`` the explained logit minus the
    contrasted one, intercepts included (None without a contrast); ``method`` in words.
    From ``linear_token_attributions`` and ``occlusion_token_attributions``.

    Introduced in lab 08 (Explainability).
    """

    tokens: tuple
    values: tuple
    predicted: np.ndarray
    explained: np.ndarray
    contrasts: np.ndarray | None
    margins: np.ndarray | None
    method: str


# --- recommender --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FactorExplanations:
    """Factor explanations of each user's top recommendation by lab 00's matrix factorisation
    (:func:`~mlsec_helpers.explain.rec_factor_explanations`): the user refitted from their own
    ratings (fold-in), the film it recommends, and the rated films whose terms add most to
    that film's score.

    Introduced in lab 08 (Explainability).
    """

    users: np.ndarray
    """(U,) the explained users (those with enough training ratings)."""
    recommended: np.ndarray
    """(U,) each user's top film by the fold-in (among the films they have not rated)."""
    score: np.ndarray
    """(U,) its fold-in score (stars, not clipped)."""
    top_items: np.ndarray
    """(U, n_top) the rated films with the largest terms in that score, largest first."""
    top_terms: np.ndarray
    """(U, n_top) their terms (stars added to the score)."""
    top_share: np.ndarray
    """(U,) the share of the positive terms' total that the ``n_top`` films carry."""
    agreement: np.ndarray
    """(U,) share of the trained model's top-k unrated films that the fold-in's top-k holds."""
    agreement_rate: Rate
    """The mean of ``agreement`` with a bootstrap interval over users."""
    ridge: float
    """The fold-in's ridge penalty."""
    n_ratings: np.ndarray
    """(U,) how many training ratings each user has."""


@dataclass(frozen=True)
class RemovalFidelity:
    """Deletion test of factor explanations (:func:`~mlsec_helpers.explain.rec_removal_fidelity`):
    delete the films the explanation names, or random rated films, refit, and see the
    recommended film fall.

    Introduced in lab 08 (Explainability).
    """

    k: int
    """How many rated films were deleted per user."""
    top_n: int
    """The list length the film must leave."""
    left_explained: Rate
    """Share of users whose film left their top ``top_n`` after deleting the named films."""
    left_random: Rate
    """The same after deleting ``k`` random rated films (the baseline)."""
    drop_explained: Rate
    """Mean fall of the film's score (stars) after deleting the named films (bootstrap)."""
    drop_random: Rate
    """Mean fall after deleting random films (bootstrap)."""
    drops_explained: np.ndarray
    """(U,) the falls per user, named films deleted."""
    drops_random: np.ndarray
    """(U,) the falls per user, random films deleted."""


@dataclass(frozen=True)
class NeighbourService:
    """A user-user nearest-neighbour film service that explains a film by its neighbours' star
    histogram (:func:`~mlsec_helpers.explain.rec_neighbour_service`).

    Introduced in lab 08 (Explainability).
    """

    R: object
    """(users x films) scipy CSR matrix of training stars (0: not rated)."""
    norms: np.ndarray
    """(users,) the rows' Euclidean norms (for cosine similarity)."""
    k: int
    """Neighbourhood size."""
    n_users: int
    """Number of users."""
    n_items: int
    """Number of films."""


@dataclass(frozen=True)
class ExplanationLeak:
    """What sybils read off "users like you rated it" histograms about a target's hidden
    ratings (:func:`~mlsec_helpers.explain.rec_sybil_explanation_leak`).

    Introduced in lab 08 (Explainability).
    """

    n_sybils: int
    """Sybil accounts per target."""
    epsilon: float | None
    """Laplace noise parameter of the histograms (None: exact histograms)."""
    noise: str
    """"fresh" (a new draw per sybil, averaged by the attacker) or "keyed" (one draw)."""
    without_target: bool
    """True: the baseline run on a service that never held the target's ratings."""
    recall: Rate
    """Mean share per target of hidden ratings whose film and exact star were guessed."""
    precision: Rate
    """Mean share per target of guesses that are right (film and star)."""
    target_in_neighbourhood: Rate
    """Share of targets among the sybils' real neighbours (Wilson interval)."""
    recalls: np.ndarray
    """(T,) recall per target."""
    precisions: np.ndarray
    """(T,) precision per target."""


@dataclass(frozen=True)
class HistogramFidelity:
    """What noisy neighbour histograms cost honest users' explanations
    (:func:`~mlsec_helpers.explain.rec_histogram_fidelity`).

    Introduced in lab 08 (Explainability).
    """

    epsilon: float
    """The Laplace noise parameter."""
    mode_kept: Rate
    """Mean share per user of explanations whose most common star survives the noise."""
    mean_error: Rate
    """Mean absolute error of the histogram's mean star, in stars."""


# --- fraud and medical --------------------------------------------------------------------------


@dataclass(frozen=True)
class PlantedFeature:
    """A feature made to carry the label on some rows (a pipeline bug or an insider), as
    :func:`~mlsec_helpers.explain.tabular.plant_label_leak` returns it.

    Introduced in lab 08 (Explainability).
    """

    X: np.ndarray
    """The features with the planted column (a copy; the input is left as it was)."""
    affected: np.ndarray
    """Boolean (n,): the rows the manipulation reached (the leak shows on their positives)."""
    feature: int
    """The index of the manipulated column."""


@dataclass(frozen=True)
class FeatureRank:
    """Where one feature stands in a global attribution: its rank among all features by mean
    absolute attribution, and its share of the total, with a bootstrap interval over rows.

    Introduced in lab 08 (Explainability).
    """

    feature: int
    """The index of the feature audited."""
    rank: int
    """1 for the feature with the largest mean absolute attribution."""
    share: float
    """The feature's share of the summed mean absolute attribution (0 to 1)."""
    share_low: float
    """Lower end of the 95 % bootstrap interval of ``share`` (rows resampled)."""
    share_high: float
    """Upper end of that interval."""
    importance: np.ndarray
    """Mean absolute attribution per feature (d,)."""


@dataclass(frozen=True)
class SurrogateAudit:
    """An audit on real data only: a standardised logistic regression fitted to a model's
    predictions on real rows, and its exact (linear SHAP) attributions there.

    Introduced in lab 08 (Explainability).
    """

    importance: np.ndarray
    """Mean absolute linear-SHAP attribution of the surrogate per feature (d,), on the rows."""
    fidelity: float
    """Share of the real rows on which the surrogate predicts what the audited model does."""


# --- cards --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardMetric:
    """One number of a model card's quantitative analyses, as measured in the run.

    Introduced in lab 08 (Explainability).
    """

    name: str
    """What is measured ("accuracy", "ROC AUC", "HR@10", "recall | region=north")."""
    value: float
    """The estimate, computed by the run."""
    low: float | None
    """Lower end of the interval (None where the card gives no interval)."""
    high: float | None
    """Upper end of the interval (None where the card gives no interval)."""
    n: int
    """How many cases stand behind it (test rows, users, rows of a group)."""
    on: str
    """The evaluation set in words ("1000 test digits")."""
    interval: str
    """How the interval was computed ("Wilson 95%", "bootstrap 95%", or "none")."""


@dataclass(frozen=True)
class CardSecurityTest:
    """One security test run against a system and recorded on its card.

    Introduced in lab 08 (Explainability).
    """

    threat: str
    """The threat's key in ``catalogue.THREAT_CATEGORIES`` ("poisoning")."""
    test: str
    """What was run, in words ("BadNets trigger of lab 03 stamped on test digits")."""
    value: float
    """The measured result."""
    measure: str
    """What ``value`` is ("attack success rate")."""
    on: str
    """The evaluation set in words."""


@dataclass(frozen=True)
class ModelCard:
    """A model card (Mitchell et al., FAT* 2019) with a security section, built by
    ``explain.build_model_card`` from the package's metadata and the run's measurements.

    Introduced in lab 08 (Explainability).
    """

    name: str
    """The system's name on the card."""
    domain: str
    """One of ``catalogue.DOMAINS``."""
    model_details: dict
    """Model class, hyper-parameters, parameter count, where the weights come from (trained in
    the run, or a checkpoint with its SHA-256), training time."""
    intended_use: str
    """What the system is for."""
    out_of_scope: str
    """Uses the card warns against."""
    factors: str
    """The factors along which performance may vary, and which of them the card measures."""
    metrics: tuple
    """The overall :class:`CardMetric` rows (computed in the run)."""
    group_metrics: tuple
    """Per-group :class:`CardMetric` rows (empty where the data has no groups)."""
    evaluation_data: str
    """The evaluation set: dataset, split, size."""
    training_data: str
    """The training set: dataset, size, source, licence."""
    datasheet: str
    """The dataset's registry name (``registry.datasheet_markdown(datasheet)`` renders it)."""
    ethical_considerations: tuple
    """Known biases of the data (from the registry) and the domain's risks."""
    caveats: tuple
    """What the card does not establish."""
    security_tests: tuple
    """The :class:`CardSecurityTest` rows: the tests actually run."""
    threats_not_tested: tuple
    """The course's threats (``catalogue.THREAT_CATEGORIES`` keys) no test on this card
    measured."""
