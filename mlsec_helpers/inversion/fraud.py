"""Fraud: what a bank's score API gives away of a customer's age band.

Introduced in lab 06 (Model inversion). Lab 00's ``FraudScorer`` does not use the customers'
ages (the simulator's ``customer_age`` is not one of its features); many real scoring models do.
The lab builds such a model, lab 00's recipe with the customer's age band as one more input,
and attacks its score API: an attacker who knows a transaction's other features and sees the
score the bank returned for it asks the API for the score of the same transaction under each
age band, and keeps the bands whose score matches (Fredrikson et al., CCS 2015, with confidence
values; here the candidate space has four values, so matching is exact).

What the file holds:

- the data and the model: :data:`FRAUD_AGE_BANDS`, :func:`fraud_age_band`,
  :func:`fraud_age_features` (lab 00's features plus the band), :func:`fraud_scorer_with_age`;
- (the queries, shared with the medical section, are in ``common.py``:
  :func:`~mlsec_helpers.inversion.candidate_probabilities` and the imputation baseline
  :func:`~mlsec_helpers.inversion.impute_attribute`);
- the attack: :func:`score_matching_candidates` (which values reproduce the observed score,
  exactly or after the API's rounding), :func:`pick_candidate` (the likeliest consistent value),
  and, for the attacker who watches several transactions of one customer,
  :func:`customer_candidates` and :func:`customer_posterior`; :func:`first_per_customer`;
- the cost of a defence: :func:`precision_at_review_budget`.
"""

from __future__ import annotations

import math

import numpy as np

from ..repro import limited_threads, rng
from ..stats import Rate, proportion
from ..validate import (
    ArgumentTypeError,
    check_array,
    check_fraction,
    check_int,
    check_labels,
    check_vector,
)
from .results import AgeBandData, CustomerEvidence

__all__ = [
    "FRAUD_AGE_BANDS",
    "customer_candidates",
    "customer_posterior",
    "first_per_customer",
    "fraud_age_band",
    "fraud_age_features",
    "fraud_scorer_with_age",
    "pick_candidate",
    "precision_at_review_budget",
    "score_matching_candidates",
]

FRAUD_AGE_BANDS: tuple[str, ...] = ("18-29", "30-44", "45-59", "60+")
"""The customer age bands the lab's scoring model takes as an input (index 0-3).

Introduced in lab 06 (Model inversion)."""

_AGE_EDGES = np.array([30, 45, 60])


def fraud_age_band(age) -> np.ndarray:
    """The index in :data:`FRAUD_AGE_BANDS` of each age (years, 18 or more).

    Introduced in lab 06 (Model inversion).
    """
    a = check_vector(age, "age")
    if a.size and a.min() < 18:
        raise ValueError(f"age must be at least 18 (the simulator's customers), got {a.min():g}")
    return np.searchsorted(_AGE_EDGES, a, side="right").astype(np.int64)


def fraud_age_features(data) -> AgeBandData:
    """Lab 00's fraud features with the customer's age band appended as the last column, for
    both splits of ``load_dataset("fraud")``, with the bands, the customers and the bands'
    shares among the training period's transactions (the prior an attacker can know from public
    statistics).

    Introduced in lab 06 (Model inversion).
    """
    for name in ("X_train", "X_test", "frame_train", "frame_test"):
        if getattr(data, name, None) is None:
            raise ArgumentTypeError("data must be the fraud Dataset of load_dataset('fraud')")
    if "customer_age" not in data.frame_train.columns:
        raise ValueError("data.frame_train has no customer_age column: load_dataset('fraud')")
    band_tr = fraud_age_band(data.frame_train["customer_age"].to_numpy())
    band_te = fraud_age_band(data.frame_test["customer_age"].to_numpy())
    prior = np.bincount(band_tr, minlength=len(FRAUD_AGE_BANDS)) / len(band_tr)
    return AgeBandData(
        X_train=np.c_[data.X_train, band_tr].astype(np.float64),
        X_test=np.c_[data.X_test, band_te].astype(np.float64),
        band_train=band_tr, band_test=band_te,
        customers_train=data.frame_train["customer_id"].to_numpy(),
        customers_test=data.frame_test["customer_id"].to_numpy(),
        prior=prior, column=data.X_train.shape[1],
        feature_names=[*data.feature_names, "age_band"])


def fraud_scorer_with_age(X, y, *, seed: int = 0):
    """Lab 00's fraud recipe (gradient-boosted trees, ``systems.FraudScorer``) fitted on ``X``
    (for example :func:`fraud_age_features`' columns, with the age band), on one thread.

    Introduced in lab 06 (Model inversion).
    """
    from ..systems import FraudScorer

    X = check_array(X, "X", ndim=2, dtype=np.float64)
    y = check_labels(y, len(X), "y", n_classes=2)
    with limited_threads(1):
        return FraudScorer(seed=seed).fit(X, y)


def score_matching_candidates(observed, candidate_scores, *, step: float | None = None
                              ) -> np.ndarray:
    """Which candidate values reproduce the observed score: ``(n, n_values)`` booleans.

    ``observed``: the score the API returned for each row (n,); ``candidate_scores``: the score
    of the same row under each value (n, n_values), for example
    ``candidate_probabilities(...)[:, :, 1]``. With ``step`` (the API rounds its scores to
    multiples of ``step``), the candidates are rounded the same way before comparing; a
    decision-only API is ``step`` = 1 with its threshold at 0.5. The true value is always
    consistent when the attacker queries the same model.

    Introduced in lab 06 (Model inversion).
    """
    cand = check_array(candidate_scores, "candidate_scores", ndim=2, dtype=np.float64)
    obs = check_vector(observed, "observed")
    if obs.shape != (len(cand),):
        raise ValueError(f"observed must hold one score per row ({len(cand)}), got {obs.shape}")
    if step is not None:
        step = check_fraction(step, "step", allow_zero=False)
        cand = np.round(cand / step) * step
        obs = np.round(obs / step) * step
    # Scores from the same deterministic model are bit-identical; the tolerance only absorbs
    # the rounding of the division above.
    return np.abs(cand - obs[:, None]) <= 1e-9


def pick_candidate(consistent, weights) -> np.ndarray:
    """The guess among consistent values: the one with the largest weight (a prior, shape
    ``(n_values,)``, or one posterior per row, ``(n, n_values)``); ties: the lowest index. A row
    with no consistent value (the API answered something the attacker's queries never do)
    falls back on the weights alone.

    Introduced in lab 06 (Model inversion).
    """
    c = np.asarray(consistent)
    if c.ndim != 2 or c.dtype != bool:
        raise ValueError(f"consistent must be an (n, n_values) boolean array, got {c.dtype} "
                         f"shape {c.shape}")
    w = check_array(weights, "weights", dtype=np.float64)
    if w.shape not in ((c.shape[1],), c.shape):
        raise ValueError(f"weights must have shape ({c.shape[1]},) or {c.shape}, got {w.shape}")
    if w.size and w.min() < 0:
        raise ValueError("weights must be non-negative")
    w = np.broadcast_to(w, c.shape)
    none = ~c.any(axis=1)
    mask = c | none[:, None]
    # -1 keeps a consistent value of weight 0 ahead of every inconsistent one.
    return np.argmax(np.where(mask, w, -1.0), axis=1)


def first_per_customer(customers, k: int = 1) -> np.ndarray:
    """The row indices of each customer's first ``k`` rows (all of them for a customer with
    fewer), sorted: one transaction per customer with ``k=1``, so that rates count customers,
    not correlated transactions.

    Introduced in lab 06 (Model inversion).
    """
    c = np.asarray(customers)
    if c.ndim != 1 or c.size == 0:
        raise ValueError(f"customers must be a non-empty 1-D array, got shape {c.shape}")
    k = check_int(k, "k")
    _, inverse = np.unique(c, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    sorted_groups = inverse[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1]
    rank = np.arange(len(c)) - np.repeat(starts, np.diff(np.r_[starts, len(c)]))
    return np.sort(order[rank < k])


def _groups(values: np.ndarray, customers, name: str):
    c = np.asarray(customers)
    if c.ndim != 1 or len(c) != len(values) or len(c) == 0:
        raise ValueError(f"customers must be 1-D with one entry per row of {name} "
                         f"({len(values)}), got shape {c.shape}")
    return np.unique(c, return_inverse=True)


def customer_candidates(consistent, customers) -> CustomerEvidence:
    """The values consistent with **every** observed transaction of each customer (the
    intersection of the per-transaction sets of :func:`score_matching_candidates`): what an
    attacker who watches all of a customer's transactions keeps.

    Introduced in lab 06 (Model inversion).
    """
    c = np.asarray(consistent)
    if c.ndim != 2 or c.dtype != bool:
        raise ValueError("consistent must be an (n, n_values) boolean array")
    groups, inverse = _groups(c, customers, "consistent")
    bad = np.zeros((len(groups), c.shape[1]), dtype=np.int64)
    np.add.at(bad, inverse, (~c).astype(np.int64))
    counts = np.bincount(inverse, minlength=len(groups))
    return CustomerEvidence(groups=groups, evidence=bad == 0, n_rows=counts)


def customer_posterior(proba, customers, prior) -> CustomerEvidence:
    """One posterior over the values per customer from per-row posteriors ``proba`` (an
    imputation model's ``P(value | row)``), treating a customer's rows as independent evidence:
    ``prior * prod_t P(value | row t) / prior``, normalised. The baseline that sees as many of a
    customer's transactions as the attacker who intersects candidates.

    Introduced in lab 06 (Model inversion).
    """
    p = check_array(proba, "proba", ndim=2, dtype=np.float64)
    if p.size and (p.min() < 0 or p.max() > 1):
        raise ValueError("proba must hold probabilities in [0, 1]")
    pri = check_vector(prior, "prior")
    if pri.shape != (p.shape[1],) or pri.min() <= 0:
        raise ValueError(f"prior must hold {p.shape[1]} positive shares, got {pri}")
    groups, inverse = _groups(p, customers, "proba")
    log_like = np.log(np.clip(p, 1e-12, 1.0)) - np.log(pri / pri.sum())
    total = np.zeros((len(groups), p.shape[1]))
    np.add.at(total, inverse, log_like)
    total += np.log(pri / pri.sum())
    total -= total.max(axis=1, keepdims=True)
    post = np.exp(total)
    counts = np.bincount(inverse, minlength=len(groups))
    return CustomerEvidence(groups=groups, evidence=post / post.sum(1, keepdims=True),
                            n_rows=counts)


def precision_at_review_budget(y, scores, *, budget: float = 0.01, on: str = "",
                               seed: int = 0) -> Rate:
    """Precision of the transactions an analyst reviews: the top ``budget`` share by score
    (``ceil(budget * n)`` of them; ties at the cut broken by a seeded random order, as a coarse
    score forces), as a Wilson-interval :class:`~mlsec_helpers.stats.Rate`. What honest
    operations get from the scores.

    Introduced in lab 06 (Model inversion).
    """
    s = check_vector(scores, "scores")
    y = check_labels(y, len(s), "y", n_classes=2)
    budget = check_fraction(budget, "budget", allow_zero=False)
    if len(s) == 0:
        raise ValueError("scores must not be empty")
    k = max(1, math.ceil(budget * len(s)))
    tie = rng(seed).random(len(s))
    order = np.lexsort((tie, -s))  # by score, descending; ties in random order
    return proportion(y[order[:k]].astype(bool), on=on or f"top {k} of {len(s)} by score")
