"""The result dataclasses of lab 06's attacks and defences.

Each helper that produces more than one thing returns one of these small frozen dataclasses:
the fields are named and documented. Sections follow ``DOMAINS`` order.

Introduced in lab 06 (Model inversion).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..stats import Rate

__all__ = [
    "InferenceAdvantage",
    # image
    "DigitsIndividualInversion",
    "DigitsInversion",
    "DigitsInversionScore",
    # nlp
    "Canary",
    "CanaryExposure",
    # recommender
    "RelatedItemsAttack",
    "RelatedItemsService",
    "RelatedItemsWindow",
    # fraud
    "AgeBandData",
    "CustomerEvidence",
    # medical
    "PatientImputation",
    "PatientRecords",
]


# --- every domain -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InferenceAdvantage:
    """An attribute inference against a baseline that does not use the model
    (:func:`~mlsec_helpers.inversion.inference_advantage`), on the same records.

    Introduced in lab 06 (Model inversion).
    """

    attack: Rate
    """The attack's accuracy, with its Wilson interval."""
    baseline: Rate
    """The baseline's accuracy (the prior's most common value, or imputation), same records."""
    gain: float
    """``attack - baseline``: what the model adds (percentage points / 100)."""
    gain_low: float
    """Lower end of a 95% paired interval on ``gain``."""
    gain_high: float
    """Upper end of a 95% paired interval on ``gain``."""

    def __str__(self) -> str:
        return (f"attack {self.attack.value:.3f} [{self.attack.low:.3f}, {self.attack.high:.3f}]"
                f" vs baseline {self.baseline.value:.3f}: gain {self.gain:+.3f} "
                f"[{self.gain_low:+.3f}, {self.gain_high:+.3f}] on "
                f"{self.attack.on or f'{self.attack.n} records'}")


# --- image --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigitsInversion:
    """Reconstructed class images of a digits model inversion
    (:func:`~mlsec_helpers.inversion.digits_miface`,
    :func:`~mlsec_helpers.inversion.digits_zeroth_order_inversion`).

    Introduced in lab 06 (Model inversion).
    """

    reconstructions: np.ndarray
    """(n_restarts, n_classes, 1, 28, 28): one image per restart and class, pixels in [0, 1]."""
    queries_per_class: int
    """API queries spent per class (0 for the white-box attack, which reads the weights)."""
    access: str
    """What the attacker used, in words."""


@dataclass(frozen=True)
class DigitsInversionScore:
    """How close reconstructions are to the class means of the training images
    (:func:`~mlsec_helpers.inversion.digits_inversion_scores`).

    Introduced in lab 06 (Model inversion).
    """

    correlation: np.ndarray
    """(n_classes,) Pearson correlation of each class's reconstruction (mean over restarts)
    with its class's mean training image."""
    correlation_matrix: np.ndarray
    """(n_classes, n_classes): reconstruction of class i against mean image of class j."""
    mean_correlation: float
    """The mean of ``correlation`` over classes."""
    correlation_low: float
    """Lower end of a 95% bootstrap interval (over classes) on ``mean_correlation``."""
    correlation_high: float
    """Upper end of that interval."""
    identified: np.ndarray
    """(n_classes,) bool: the reconstruction correlates best with its own class's mean."""
    contrast: np.ndarray
    """(n_classes,) ``correlation`` minus the mean correlation with the other classes' means:
    what is specific to the class (about 0 for an image that is just "a digit")."""
    restart_identification: Rate
    """Share of single restarts that identify their class, with a Wilson interval."""

    @property
    def n_identified(self) -> int:
        """How many classes the (restart-averaged) reconstructions identify."""
        return int(self.identified.sum())

    def __str__(self) -> str:
        return (f"correlation {self.mean_correlation:.3f} [{self.correlation_low:.3f}, "
                f"{self.correlation_high:.3f}], {self.n_identified}/{len(self.identified)} "
                f"classes identified (single restarts: {self.restart_identification:.2f})")


@dataclass(frozen=True)
class DigitsIndividualInversion:
    """Inverting classes that are one individual each, against classes of many writers
    (:func:`~mlsec_helpers.inversion.digits_one_individual_inversion`).

    Introduced in lab 06 (Model inversion).
    """

    chosen: np.ndarray
    """(n_classes,) index in ``X`` of the image that plays the individual of each class."""
    reconstructions_one: np.ndarray
    """(n_classes, 1, H, W): reconstructions from the one-individual-per-class model."""
    reconstructions_many: np.ndarray
    """(n_classes, 1, H, W): reconstructions from the control model (many writers a class)."""
    correlation_one: np.ndarray
    """(n_classes,) Pearson correlation of each reconstruction with its individual."""
    correlation_many: np.ndarray
    """The same for the control model (with the same chosen images)."""
    beats_one: np.ndarray
    """(n_classes,) share of the class's other images that correlate less with the
    reconstruction than the individual does (1: the individual is the closest)."""
    beats_many: np.ndarray
    """The same for the control model (0.5: the chosen image is a typical member)."""
    top_one: Rate
    """Share of classes whose reconstruction is closest to its individual among its class."""
    top_many: Rate
    """The same for the control model."""


# --- nlp ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Canary:
    """A secret planted in the support corpus (:func:`~mlsec_helpers.inversion.canary_set`).

    Introduced in lab 06 (Model inversion).
    """

    name: str
    """The made-up customer of the canary's prefix."""
    prefix: str
    """What the attacker knows and types: "Hi, this is <name>, <phrase> " (e.g. "Hi, this is
    Mei Chen, my card PIN is ")."""
    pin: int
    """The secret PIN, 0 to 9999."""
    fmt: str
    """How the PIN is written: "digits", "spaced" or "words"."""
    secret: str
    """The PIN as written in the message (``canary_render(pin, fmt)``)."""
    text: str
    """The planted message: ``prefix + secret``."""
    repeats: int
    """How many times the message is in the training data (0: a control, never planted)."""


@dataclass(frozen=True)
class CanaryExposure:
    """A canary's rank among all 10,000 PINs under a language model, and its exposure
    (:func:`~mlsec_helpers.inversion.canary_exposure`).

    Introduced in lab 06 (Model inversion).
    """

    canary: Canary
    """The canary."""
    rank: int
    """1 + the number of PINs the model finds strictly likelier after the prefix."""
    exposure: float
    """``log2(10000) - log2(rank)``, in bits (13.3: the model's likeliest PIN)."""
    secret_bits: float
    """The secret's log-perplexity: ``-log2 P(secret | prefix)``, in bits."""
    best_pin: int
    """The PIN the model finds likeliest after the prefix (an attacker's best guess)."""


# --- recommender --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RelatedItemsService:
    """The public surface of lab 06's film service
    (:func:`~mlsec_helpers.inversion.related_items_service`): the catalogue, its star matrix
    and co-rating products, and the held-out ratings users add later.

    Introduced in lab 06 (Model inversion).
    """

    ratings: np.ndarray
    """(n_films, n_users) float32 stars of the training ratings (0: not rated)."""
    gram: np.ndarray
    """(n_films, n_films) float32 co-rating products ``ratings @ ratings.T`` (exact)."""
    norms: np.ndarray
    """(n_films,) float64 norm of each film's star vector."""
    items: np.ndarray
    """(n_films,) the catalogue films' indices in the dataset's items."""
    titles: list
    """The catalogue films' titles."""
    new_users: np.ndarray
    """(n_new,) user of each held-out catalogue rating (sorted by user, then time)."""
    new_items: np.ndarray
    """(n_new,) catalogue film of each held-out rating."""
    new_stars: np.ndarray
    """(n_new,) stars of each held-out rating."""
    popularity: np.ndarray
    """(n_films,) number of training ratings of each film."""


@dataclass(frozen=True, eq=False)
class RelatedItemsWindow:
    """One episode per target user between two publications
    (:func:`~mlsec_helpers.inversion.related_items_window`); column 0 of ``users``, ``items``
    and ``stars`` is the target's own new rating, the others are background users'.

    Introduced in lab 06 (Model inversion).
    """

    targets: np.ndarray
    """(T,) the target users."""
    known: np.ndarray
    """(T, n_known) catalogue films the attacker knows each target rated."""
    truth: np.ndarray
    """(T,) the film each target rated in the window (what the attacker must guess)."""
    users: np.ndarray
    """(T, 1 + n_background) users who added a rating in each episode."""
    items: np.ndarray
    """(T, 1 + n_background) the films they rated."""
    stars: np.ndarray
    """(T, 1 + n_background) their stars."""
    near_before: np.ndarray
    """(T, n_known, shortlist) each known film's nearest films by exact cosine before the
    window, best first (the service's scores behind its list)."""
    sim_before: np.ndarray
    """(T, n_known, shortlist) their cosines."""
    near_after: np.ndarray
    """(T, n_known, shortlist) the same after the window's new ratings."""
    sim_after: np.ndarray
    """(T, n_known, shortlist) their cosines."""


@dataclass(frozen=True, eq=False)
class RelatedItemsAttack:
    """Calandrino et al.'s attack on the related-items lists, over many target users
    (:func:`~mlsec_helpers.inversion.related_items_attack`), with its baselines and the
    lists' quality for honest users.

    Introduced in lab 06 (Model inversion).
    """

    top1: Rate
    """Share of targets whose new film is the attacker's first guess (Wilson interval)."""
    top_n: Rate
    """Share of targets whose new film is among the attacker's ``n_guesses`` guesses."""
    n_guesses: int
    """How many guesses ``top_n`` allows."""
    popular_baseline: Rate
    """First-guess accuracy of guessing the most popular film the attacker does not know."""
    static_baseline: Rate
    """First-guess accuracy of the film ranked highest in the known films' lists at the first
    publication (the lists, but not their change)."""
    list_overlap: float
    """Mean share of a published list that the exact list holds (1: the exact lists; the cost
    of noise to honest users)."""
    stale_overlap: float
    """Mean share of the up-to-date exact list that the list published before the window
    still shows at its end (the cost of publishing less often)."""
    guesses: np.ndarray
    """(T, n_guesses) the attacker's guesses, best first."""
    truth: np.ndarray
    """(T,) the films the targets rated."""
    queries: int
    """Lists the attacker read per target (pages rendered)."""
    chance: float
    """First-guess accuracy of a uniform guess among the films the attacker does not know."""

    def __str__(self) -> str:
        return (f"first guess right {self.top1.value:.3f} [{self.top1.low:.3f}, "
                f"{self.top1.high:.3f}], in {self.n_guesses} guesses {self.top_n.value:.3f}; "
                f"baselines: popular {self.popular_baseline.value:.3f}, static lists "
                f"{self.static_baseline.value:.3f}; list overlap {self.list_overlap:.3f}; on "
                f"{self.top1.on}")


# --- fraud --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgeBandData:
    """Lab 00's fraud features with the customer's age band as one more column
    (:func:`~mlsec_helpers.inversion.fraud_age_features`).

    Introduced in lab 06 (Model inversion).
    """

    X_train: np.ndarray
    """Training-period transactions: lab 00's features, then the age band (last column)."""
    X_test: np.ndarray
    """Test-period transactions, same columns."""
    band_train: np.ndarray
    """Age-band index of each training transaction's customer (``FRAUD_AGE_BANDS``)."""
    band_test: np.ndarray
    """Age-band index of each test transaction's customer."""
    customers_train: np.ndarray
    """Customer id of each training transaction."""
    customers_test: np.ndarray
    """Customer id of each test transaction."""
    prior: np.ndarray
    """Share of each band among the training period's transactions (public statistics)."""
    column: int
    """Index of the age-band column in ``X_*``."""
    feature_names: list
    """Names of the columns of ``X_*``."""


@dataclass(frozen=True)
class CustomerEvidence:
    """What an attacker holds about each customer after several transactions
    (:func:`~mlsec_helpers.inversion.customer_candidates`,
    :func:`~mlsec_helpers.inversion.customer_posterior`).

    Introduced in lab 06 (Model inversion).
    """

    groups: np.ndarray
    """The customers, sorted."""
    evidence: np.ndarray
    """``(n_customers, n_values)``: consistent values (booleans) or a posterior (floats)."""
    n_rows: np.ndarray
    """How many rows (transactions) of each customer stand behind it."""


# --- medical ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatientRecords:
    """The NHEFS patients as the medical section's model and attacker see them
    (:func:`~mlsec_helpers.inversion.nhefs_patient_records`): the training split (the study's
    members) and the test split (people the model never saw), with the smoking band, the
    sensitive attribute, as one feature column.

    Introduced in lab 06 (Model inversion).
    """

    X_members: np.ndarray
    """Features of the model's training patients (the smoking band in column ``column``)."""
    y_members: np.ndarray
    """Their outcome (1 = died by 1992)."""
    X_others: np.ndarray
    """Features of the patients the model never saw (public data for the baselines)."""
    y_others: np.ndarray
    """Their outcome."""
    band_members: np.ndarray
    """The members' smoking band (index into ``NHEFS_SMOKING_BANDS``)."""
    band_others: np.ndarray
    """The others' smoking band."""
    column: int
    """Index of the smoking-band column in ``X_*``."""
    prior: np.ndarray
    """Share of each band among the others (public statistics of the population)."""
    feature_names: list
    """Names of the columns of ``X_*``."""


@dataclass(frozen=True)
class PatientImputation:
    """The imputation baseline's probabilities of each smoking band
    (:func:`~mlsec_helpers.inversion.nhefs_imputation`).

    Introduced in lab 06 (Model inversion).
    """

    members: np.ndarray
    """``(n_members, n_bands)``, from a model trained on the non-members."""
    others: np.ndarray
    """``(n_others, n_bands)``, cross-fitted: no non-member predicts itself."""
