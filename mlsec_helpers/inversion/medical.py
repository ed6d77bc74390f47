"""Medical: what a mortality model gives away of a patient's smoking.

Introduced in lab 06 (Model inversion). Attribute inference in the manner of Fredrikson et al.
(USENIX Security 2014): their warfarin model took a patient's genotype as an input; here a
model of death by 1992 on the NHEFS cohort takes the patient's smoking intensity band (among
age, sex, weight, conditions, ...). An attacker who knows the rest of a patient's record and
the outcome (death records are public) queries the model once per band and keeps the band that
makes the known outcome likeliest (:func:`~mlsec_helpers.inversion.fredrikson_inference`).

What the file holds:

- the data and the model: :data:`NHEFS_SMOKING_BANDS`, :func:`nhefs_smoking_band`,
  :func:`nhefs_patient_records` (members and non-members, the band as one feature),
  :func:`nhefs_mortality_forest`;
- the baseline that does not use the model: :func:`nhefs_imputation` (built on the fraud
  section's :func:`~mlsec_helpers.inversion.impute_attribute`; the model's queries use its
  :func:`~mlsec_helpers.inversion.candidate_probabilities`);
- the defences: :func:`randomized_response` (local differential privacy on the sensitive
  column before training) and :func:`label_only_outputs` (coarsened outputs).
"""

from __future__ import annotations

import math

import numpy as np

from ..repro import limited_threads, rng
from ..validate import (
    ArgumentTypeError,
    check_array,
    check_int,
    check_labels,
    check_positive,
    check_vector,
)
from .common import impute_attribute
from .results import PatientImputation, PatientRecords

__all__ = [
    "NHEFS_SMOKING_BANDS",
    "label_only_outputs",
    "nhefs_imputation",
    "nhefs_mortality_forest",
    "nhefs_patient_records",
    "nhefs_smoking_band",
    "randomized_response",
]

NHEFS_SMOKING_BANDS: tuple[str, ...] = ("1-10", "11-20", "21-30", "31+")
"""Cigarettes smoked per day in 1971, in bands (index 0-3): the sensitive attribute of the
medical section. Every NHEFS participant smoked in 1971.

Introduced in lab 06 (Model inversion)."""

_BAND_EDGES = np.array([10, 20, 30])


def nhefs_smoking_band(cigarettes) -> np.ndarray:
    """The index in :data:`NHEFS_SMOKING_BANDS` of each number of cigarettes per day (>= 1).

    Introduced in lab 06 (Model inversion).
    """
    c = check_vector(cigarettes, "cigarettes")
    if c.size and c.min() < 1:
        raise ValueError(f"cigarettes must be at least 1 per day, got {c.min():g}")
    return np.searchsorted(_BAND_EDGES, c, side="left").astype(np.int64)


def nhefs_patient_records(data) -> PatientRecords:
    """The NHEFS dataset (``load_dataset("nhefs")``) as the section uses it: the training split
    are the model's members, the test split people it never saw; ``smokeintensity`` is
    replaced by its band (:func:`nhefs_smoking_band`), the attribute the attacker infers. The
    prior is the bands' shares among the non-members (what public statistics give).

    Introduced in lab 06 (Model inversion).
    """
    names = list(getattr(data, "feature_names", []))
    if getattr(data, "name", None) != "nhefs" or "smokeintensity" not in names:
        raise ArgumentTypeError("data must be the Dataset of load_dataset('nhefs')")
    column = names.index("smokeintensity")

    def banded(X):
        X = np.array(X, dtype=np.float64)
        band = nhefs_smoking_band(X[:, column])
        X[:, column] = band
        return X, band

    X_m, band_m = banded(data.X_train)
    X_o, band_o = banded(data.X_test)
    prior = np.bincount(band_o, minlength=len(NHEFS_SMOKING_BANDS)) / len(band_o)
    names[column] = "smoking_band"
    return PatientRecords(X_members=X_m, y_members=np.asarray(data.y_train),
                          X_others=X_o, y_others=np.asarray(data.y_test),
                          band_members=band_m, band_others=band_o, column=column, prior=prior,
                          feature_names=names)


def nhefs_mortality_forest(X, y, *, seed: int = 0, n_estimators: int = 100,
                           min_samples_leaf: int = 1):
    """The section's mortality model: a scikit-learn random forest (fully grown trees by
    default, as its defaults give), fitted on one thread. Returns the fitted estimator.

    Introduced in lab 06 (Model inversion).
    """
    from sklearn.ensemble import RandomForestClassifier

    X = check_array(X, "X", ndim=2, dtype=np.float64)
    y = check_labels(y, len(X), "y", n_classes=2)
    n_estimators = check_int(n_estimators, "n_estimators")
    min_samples_leaf = check_int(min_samples_leaf, "min_samples_leaf")
    forest = RandomForestClassifier(n_estimators=n_estimators, min_samples_leaf=min_samples_leaf,
                                    random_state=seed, n_jobs=1)
    with limited_threads(1):
        return forest.fit(X, y)


def nhefs_imputation(records: PatientRecords, *, seed: int = 0, n_folds: int = 5
                     ) -> PatientImputation:
    """The imputation baseline for the smoking band (Jayaraman and Evans, CCS 2022): a
    multinomial logistic regression that predicts the band from the other features and the
    outcome, trained on the non-members (public data). Returns each patient's probabilities of
    the bands; the non-members' own are cross-fitted (``n_folds``, each fold predicted by a
    model trained on the other folds), so no record predicts itself.

    Introduced in lab 06 (Model inversion).
    """
    from sklearn.model_selection import StratifiedKFold

    if not isinstance(records, PatientRecords):
        raise ArgumentTypeError("records must be a PatientRecords (nhefs_patient_records)")
    n_folds = check_int(n_folds, "n_folds", 2)
    k = len(NHEFS_SMOKING_BANDS)

    def public_view(X, y):  # the other features and the known outcome
        return np.c_[np.delete(X, records.column, axis=1), y]

    Z_o = public_view(records.X_others, records.y_others)
    Z_m = public_view(records.X_members, records.y_members)
    p_members = impute_attribute(Z_o, records.band_others, Z_m, n_values=k, seed=seed)
    p_others = np.zeros((len(Z_o), k))
    folds = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    for fit, held in folds.split(Z_o, records.band_others):
        p_others[held] = impute_attribute(Z_o[fit], records.band_others[fit], Z_o[held],
                                          n_values=k, seed=seed)
    return PatientImputation(members=p_members, others=p_others)


def randomized_response(values, n_values: int, *, epsilon: float, seed: int = 0) -> np.ndarray:
    """k-ary randomized response (Warner 1965; the k-RR mechanism of local differential
    privacy): each value is kept with probability ``e^epsilon / (e^epsilon + k - 1)`` and
    otherwise replaced by one of the ``k - 1`` others, uniformly. The released column is
    ``epsilon``-differentially private for each person's value, and so is anything computed
    from it (a model trained on it, its answers): post-processing.

    Written by hand: none of the course's libraries (opacus, ART, scikit-learn) randomises a
    categorical column, and the mechanism is these few lines.

    Introduced in lab 06 (Model inversion).
    """
    k = check_int(n_values, "n_values", 2)
    v = check_labels(values, None, "values", n_classes=k)
    epsilon = check_positive(epsilon, "epsilon")
    gen = rng(seed)
    keep = gen.random(len(v)) < math.exp(epsilon) / (math.exp(epsilon) + k - 1)
    other = (v + gen.integers(1, k, len(v))) % k  # uniform over the k - 1 other values
    return np.where(keep, v, other)


def label_only_outputs(proba) -> np.ndarray:
    """Coarsened outputs: the model releases only its decision, as a one-hot row per record
    (the same shape as the probabilities it replaces, so every attack runs unchanged).

    Introduced in lab 06 (Model inversion).
    """
    p = check_array(proba, "proba", dtype=np.float64)
    if p.ndim < 2 or p.shape[-1] < 2:
        raise ValueError(f"proba must have a last axis of >= 2 classes, got shape {p.shape}")
    return np.eye(p.shape[-1])[p.argmax(axis=-1)]
