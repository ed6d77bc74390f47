"""The result dataclasses of lab 07's measurements, mitigations and attacks.

Each helper that produces more than one thing returns one of these small frozen dataclasses:
the fields are named and documented. Sections follow ``DOMAINS`` order.

Introduced in lab 07 (Bias and fairness).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..stats import Rate

__all__ = [
    "Disparity",
    # image
    # nlp
    "DialectPairs",
    "DialectSkew",
    "ScamDialectBias",
    # recommender
    "LongTailSplit",
    "RecallAtK",
    "TailExposure",
    # fraud
    "CreditDecisions",
    "FraudReview",
    # medical
    "NhefsSplitStudy",
    # attacks
    "LabelFlip",
    "LabelFlipSweep",
]


# --- every domain -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Disparity:
    """A fairness gap between groups with its bootstrap interval
    (:func:`~mlsec_helpers.fairness.disparity`).

    Introduced in lab 07 (Bias and fairness).
    """

    metric: str
    """Which gap: ``"demographic_parity"``, ``"equalized_odds"``, ``"equal_opportunity"``,
    ``"false_positive_rate"`` or ``"accuracy"`` (largest minus smallest across groups)."""
    value: float
    """The gap on the whole evaluation set."""
    low: float
    """Lower end of the 95% bootstrap interval (rows resampled within each group)."""
    high: float
    """Upper end of the 95% bootstrap interval."""
    n: int
    """Rows in the evaluation set."""
    on: str = ""
    """The evaluation set, in words."""

    def __str__(self) -> str:
        where = f" on {self.on}" if self.on else f" (n = {self.n})"
        return f"{self.metric} gap {self.value:.3f} [{self.low:.3f}, {self.high:.3f}]{where}"

    def __format__(self, spec: str) -> str:
        return str(self) if not spec else format(self.value, spec)


# --- image --------------------------------------------------------------------------------------


# --- nlp ----------------------------------------------------------------------------------------




@dataclass(frozen=True)
class DialectSkew:
    """A training set whose dialect markers follow a simulated collection skew
    (:func:`~mlsec_helpers.fairness.skew_scam_dialect`).

    Introduced in lab 07 (Bias and fairness).
    """

    texts: np.ndarray
    """The messages, some framed with a register's markers."""
    base_texts: np.ndarray
    """The messages as they were before the markers were added."""
    registers: np.ndarray
    """The register of each message's markers (``""`` where none were added)."""
    markers: np.ndarray
    """The indices into :data:`~mlsec_helpers.fairness.DIALECT_MARKERS` of the two markers
    (opening, closing) added to each message, ``(-1, -1)`` where none; shape ``(n, 2)``."""
    scam_share: float
    """Probability that a framed scam was framed in the second register."""
    legit_share: float
    """Probability that a framed legitimate message was framed in the second register."""


@dataclass(frozen=True)
class DialectPairs:
    """Counterfactual test pairs: each message in either register
    (:func:`~mlsec_helpers.fairness.scam_dialect_pairs`).

    Introduced in lab 07 (Bias and fairness).
    """

    registers: tuple[str, str]
    """The two registers: ``a`` is the first, ``b`` the second."""
    texts_a: np.ndarray
    """Each message with the first register's markers."""
    texts_b: np.ndarray
    """The same messages with the paired markers of the second register."""
    is_scam: np.ndarray
    """Boolean: the message is a scam."""
    markers: str
    """Which markers were used: ``"listed"`` (those the augmentation swaps), ``"unlisted"``
    or ``"all"``."""


@dataclass(frozen=True)
class ScamDialectBias:
    """A model's dialect bias on counterfactual pairs
    (:func:`~mlsec_helpers.fairness.scam_dialect_bias`).

    Introduced in lab 07 (Bias and fairness).
    """

    registers: tuple[str, str]
    """The two registers: ``a`` is the first, ``b`` the second."""
    score_a: np.ndarray
    """Scam probability of each message in the first register."""
    score_b: np.ndarray
    """Scam probability of the same message in the second register."""
    mean_gap: float
    """Mean of ``score_b - score_a`` over the pairs."""
    mean_gap_low: float
    """Lower end of its 95% bootstrap interval (messages resampled, scipy's BCa)."""
    mean_gap_high: float
    """Upper end of that interval."""
    flips: Rate
    """Share of pairs whose decision (scam is the top label) differs, Wilson interval."""
    fpr_a: Rate
    """False-positive rate (legitimate messages flagged as scams), first register."""
    fpr_b: Rate
    """The same, second register."""
    tpr_a: Rate
    """True-positive rate (scams caught), first register."""
    tpr_b: Rate
    """The same, second register."""
    fpr_gap: Disparity
    """``false_positive_rate`` gap between the two registers, bootstrap interval."""
    on: str = ""
    """The evaluation set, in words."""


# --- recommender --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LongTailSplit:
    """A catalogue split into a head (the items with the most training ratings) and a long tail
    (:func:`~mlsec_helpers.fairness.long_tail_split`).

    Introduced in lab 07 (Bias and fairness).
    """

    is_tail: np.ndarray
    """One boolean per item: True for a long-tail item."""
    counts: np.ndarray
    """Training ratings per item (the popularity the split and the re-ranking use)."""
    head_fraction: float
    """The share of items put in the head."""
    tail_share_of_items: float
    """The share of the catalogue in the tail."""
    tail_share_of_ratings: float
    """The share of training ratings that fall on tail items."""
    max_tail_count: int
    """The most training ratings any tail item has."""


@dataclass(frozen=True)
class TailExposure:
    """How much of the top-k lists the long tail gets
    (:func:`~mlsec_helpers.fairness.long_tail_exposure`).

    Introduced in lab 07 (Bias and fairness).
    """

    share: float
    """The share of all list slots that hold a tail item."""
    low: float
    """Lower end of its 95% bootstrap interval (users resampled)."""
    high: float
    """Upper end of that interval."""
    tail_items_shown: int
    """Distinct tail items in at least one list."""
    head_items_shown: int
    """Distinct head items in at least one list."""
    n_tail: int
    """Tail items in the catalogue."""
    n_head: int
    """Head items in the catalogue."""
    n_users: int
    """Users (lists) measured."""
    k: int
    """Length of each list."""
    on: str = ""
    """The lists measured, in words."""

    def __str__(self) -> str:
        where = f" on {self.on}" if self.on else f" ({self.n_users} lists of {self.k})"
        return (f"tail share of slots {self.share:.4f} [{self.low:.4f}, {self.high:.4f}]"
                f"{where}; {self.tail_items_shown} of {self.n_tail} tail items shown")


@dataclass(frozen=True)
class RecallAtK:
    """Recall@k of top-k lists on held-out liked ratings
    (:func:`~mlsec_helpers.fairness.recommender_recall`).

    Introduced in lab 07 (Bias and fairness).
    """

    value: float
    """Mean over users of the share of their liked held-out items found (out of at most k)."""
    low: float
    """Lower end of its 95% bootstrap interval (users resampled)."""
    high: float
    """Upper end of that interval."""
    n_users: int
    """Users with at least one liked held-out rating (the evaluation set)."""
    k: int
    """Length of each list."""
    hits: int
    """Liked held-out items found in the lists, all users together."""
    per_user: np.ndarray
    """Each user's recall (NaN for users who liked nothing held out), for paired comparisons."""
    on: str = ""
    """The evaluation set, in words."""

    def __str__(self) -> str:
        where = f" on {self.on}" if self.on else f" ({self.n_users} users)"
        return f"recall@{self.k} {self.value:.3f} [{self.low:.3f}, {self.high:.3f}]{where}"

    def __format__(self, spec: str) -> str:
        return str(self) if not spec else format(self.value, spec)


# --- fraud --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditDecisions:
    """HMDA test applications' denials before and after a demographic-parity mitigation
    (:func:`~mlsec_helpers.fairness.credit_decisions`). Decisions are 1 = denied.

    Introduced in lab 07 (Bias and fairness).
    """

    y_true: np.ndarray
    """The lender's decisions (1 = denied), one per test application."""
    afam: np.ndarray
    """1 = the applicant is black, 0 = not (not a model input)."""
    before: np.ndarray
    """The unaware logistic regression's denials."""
    after: np.ndarray
    """``ExponentiatedGradient(DemographicParity)``'s denials (drawn from its randomised
    classifier with the seed)."""
    accuracy_before: float
    """Share of test applications whose decision the plain model reproduces."""
    accuracy_after: float
    """The same for the mitigated model."""
    split: int
    """The HMDA split seed."""
    difference_bound: float
    """The parity constraint: the largest denial-rate gap allowed on the training data."""
    on: str
    """The evaluation set, in words."""


@dataclass(frozen=True)
class FraudReview:
    """Transactions held for review with the bank's single threshold and with per-group
    thresholds (:func:`~mlsec_helpers.fairness.fraud_review_decisions`). Flags are 1 = held.

    Introduced in lab 07 (Bias and fairness).
    """

    grouping: str
    """The customer attribute compared: ``"customer_region"`` or ``"age_band"``."""
    budget: float
    """Share of the validation days' transactions the bank's threshold sends to review."""
    threshold: float
    """The bank's threshold on the fraud score (set on the validation days)."""
    group_thresholds: dict
    """Per group, the threshold that gives its legitimate transactions ``target_fpr`` on the
    validation days."""
    target_fpr: float
    """The false-positive rate of the bank's threshold on all validation days' legitimate
    transactions."""
    y_validation: np.ndarray
    """Fraud labels of the validation days (the last training days)."""
    groups_validation: np.ndarray
    """The customer group of each validation transaction."""
    flagged_validation_before: np.ndarray
    """Held with the bank's threshold, on the validation days."""
    flagged_validation_after: np.ndarray
    """Held with the per-group thresholds, on the validation days."""
    y_test: np.ndarray
    """Fraud labels of the test period."""
    groups_test: np.ndarray
    """The customer group of each test transaction."""
    flagged_before: np.ndarray
    """Held with the bank's threshold, on the test period."""
    flagged_after: np.ndarray
    """Held with the per-group thresholds, on the test period."""
    on_validation: str
    """The validation days, in words."""
    on_test: str
    """The test period, in words."""


# --- medical ------------------------------------------------------------------------------------



@dataclass(frozen=True)
class NhefsSplitStudy:
    """The medical section's policies compared on repeated random splits of NHEFS
    (:func:`~mlsec_helpers.fairness.nhefs_repeated_splits`).

    Introduced in lab 07 (Bias and fairness).
    """

    frame: pd.DataFrame
    """One row per split and policy: ``split``, ``policy``, ``parity gap``, ``equalized odds
    gap``, ``accuracy``, ``balanced accuracy``, ``missed deaths`` and, per sex (men, women),
    ``TPR``, ``flagged`` and ``missed deaths`` on the split's test patients."""
    n_splits: int
    """How many splits."""
    n_test: int
    """Test patients per split."""

    def mean(self, policy: str, column: str) -> float:
        """The mean of ``column`` over the splits, for ``policy``."""
        rows = self.frame[self.frame["policy"] == policy]
        if rows.empty or column not in rows:
            raise ValueError(f"no column {column!r} for policy {policy!r}")
        return float(rows[column].mean())

    def paired(self, policy: str, column: str, baseline: str = "one threshold") -> np.ndarray:
        """Per split, ``column`` under ``policy`` minus under ``baseline`` (same patients)."""
        a = self.frame[self.frame["policy"] == policy].set_index("split")[column]
        b = self.frame[self.frame["policy"] == baseline].set_index("split")[column]
        if a.empty or b.empty:
            raise ValueError(f"unknown policy {policy!r} or {baseline!r}")
        return (a - b.loc[a.index]).to_numpy(dtype=float)


# --- attacks on fairness ------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelFlip:
    """Training labels after a group-targeted label flip
    (:func:`~mlsec_helpers.fairness.flip_group_labels`).

    Introduced in lab 07 (Bias and fairness).
    """

    y: object
    """The poisoned labels (a NumPy array, one per training row)."""
    flipped: object
    """Indices of the rows whose label the attacker flipped."""
    share: float
    """Flipped rows as a share of all training rows (the attacker's budget)."""
    group: object
    """The group whose labels were flipped."""


@dataclass(frozen=True)
class LabelFlipSweep:
    """A model retrained on ever more flipped labels, measured on clean test labels
    (:func:`~mlsec_helpers.fairness.label_flip_sweep`).

    Introduced in lab 07 (Bias and fairness).
    """

    shares: tuple
    """The attacker's budgets: flipped rows as a share of all training rows."""
    n_flipped: tuple
    """Rows flipped at each budget."""
    gaps: tuple
    """The fairness gap (:class:`Disparity`, with its interval) on the test set at each budget."""
    accuracy: tuple
    """Accuracy on the test set at each budget (what an auditor who checks quality sees)."""
