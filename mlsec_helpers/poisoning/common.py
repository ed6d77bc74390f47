"""What several domains of lab 03 share: scoring a poison detector against the known poison,
label flipping (NLP and fraud) and label sanitisation by cross-validated confidence (NLP and
fraud).

Introduced in lab 03 (Data poisoning and backdoors).
"""

from __future__ import annotations

import numpy as np

from ..repro import rng
from ..validate import ArgumentTypeError, check_fraction, check_int, check_labels, check_seed
from .results import FlippedLabels, LabelSanitisation

__all__ = ["confident_label_flags", "detection_scores", "flip_labels", "sanitiser_aware_flips"]


def detection_scores(flags, is_poison) -> dict[str, float]:
    """Precision, recall and count of a poison detector against the known poison rows.

    ``flags`` and ``is_poison`` are boolean arrays of the same length (or index arrays, turned
    into masks of the other's length). Precision is 0 when nothing is flagged. A metric, not a
    defence: like the systems' ``evaluate``, it returns a dict of numbers for a table row.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    flags, is_poison = np.asarray(flags), np.asarray(is_poison)
    if flags.dtype != bool and is_poison.dtype == bool:
        mask = np.zeros(len(is_poison), bool)
        mask[flags.astype(np.int64)] = True
        flags = mask
    if is_poison.dtype != bool and flags.dtype == bool:
        mask = np.zeros(len(flags), bool)
        mask[is_poison.astype(np.int64)] = True
        is_poison = mask
    if flags.dtype != bool or is_poison.dtype != bool:
        raise ArgumentTypeError("give at least one of flags and is_poison as a boolean mask")
    if flags.shape != is_poison.shape or flags.ndim != 1:
        raise ValueError(f"flags {flags.shape} and is_poison {is_poison.shape} must be 1-D, same "
                         "length")
    tp = int((flags & is_poison).sum())
    return {
        "flagged": int(flags.sum()),
        "poisons": int(is_poison.sum()),
        "precision": tp / int(flags.sum()) if flags.any() else 0.0,
        "recall": tp / int(is_poison.sum()) if is_poison.any() else 0.0,
    }


def _candidate_rows(candidates, y: np.ndarray) -> np.ndarray:
    """Row positions from a boolean mask over ``y`` or an index array."""
    cand = np.asarray(candidates)
    if cand.dtype == bool:
        if cand.shape != y.shape:
            raise ValueError(f"candidates mask has shape {cand.shape}, y has {y.shape}")
        cand = np.flatnonzero(cand)
    return cand


def _out_of_fold_proba(estimator, X, y, n_splits: int, seed: int) -> np.ndarray:
    """Probabilities of each row from a clone of ``estimator`` that never saw it (stratified
    ``n_splits``-fold cross-validation, shuffled with ``seed``)."""
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    check_int(n_splits, "n_splits", 2)
    cv = StratifiedKFold(n_splits, shuffle=True, random_state=check_seed(seed))
    return cross_val_predict(clone(estimator), X, y, cv=cv, method="predict_proba")


def flip_labels(y, candidates, new_label: int, share: float, *, seed: int = 0) -> FlippedLabels:
    """Flip the labels of a ``share`` of the ``candidates`` rows to ``new_label`` (seeded).

    ``candidates`` is a boolean mask or index array of the rows the attacker may flip. Returns
    a :class:`~mlsec_helpers.poisoning.FlippedLabels` (the new labels, the flipped rows).

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    y = check_labels(y)
    share = check_fraction(share, "share")
    cand = _candidate_rows(candidates, y)
    n = int(round(share * len(cand)))
    flipped = np.sort(rng(seed).choice(cand, n, replace=False)) if n else np.array([], int)
    y_out = np.array(y, copy=True)
    y_out[flipped] = new_label
    return FlippedLabels(y=y_out, flipped_idx=flipped)


def confident_label_flags(estimator, X, y, *, n_splits: int = 3,
                          seed: int = 0) -> LabelSanitisation:
    """Label sanitisation by cross-validated confidence (confident learning, Northcutt et al.).

    Out-of-fold probabilities come from ``n_splits``-fold stratified cross-validation of a clone
    of ``estimator`` (an unfitted scikit-learn estimator: a template the defender chooses, often
    lighter than the system it protects). A row labelled ``i`` is flagged when some other class
    ``j`` gets a probability at least ``t_j``, the mean probability of class ``j`` over the rows
    labelled ``j``; its suggested label is the most probable such ``j``. Returns a
    :class:`~mlsec_helpers.poisoning.LabelSanitisation` (flags, suggested labels, out-of-fold
    probabilities).

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    y = check_labels(y, len(X))
    classes, y_idx = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError("y needs at least two classes")
    proba = _out_of_fold_proba(estimator, X, y, n_splits, seed)
    thresholds = np.array([proba[y_idx == c, c].mean() for c in range(len(classes))])
    above = proba >= thresholds
    above[np.arange(len(y)), y_idx] = False
    flags = above.any(axis=1)
    masked = np.where(above, proba, -np.inf)
    suggested = np.where(flags, classes[masked.argmax(axis=1)], y)
    return LabelSanitisation(flags=flags, suggested=suggested, proba=proba)


def sanitiser_aware_flips(estimator, X, y, candidates, new_label: int, share: float, *,
                          n_splits: int = 3, seed: int = 0) -> FlippedLabels:
    """The label flipper who knows the sanitiser (:func:`confident_label_flags`).

    Instead of a random ``share`` of the ``candidates`` (:func:`flip_labels`), flip those a
    cross-validated clone of ``estimator`` (the sanitiser's own recipe, which the attacker
    knows; ``seed`` draws the attacker's own folds) finds *least* typical of their true class:
    the lowest out-of-fold probability of their own label. After the flip, the rows' true class
    is what the sanitiser would have to see as "at least as probable as for its own rows", and
    for these rows it is not. Returns a :class:`~mlsec_helpers.poisoning.FlippedLabels`.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    y = check_labels(y, len(X))
    share = check_fraction(share, "share")
    cand = _candidate_rows(candidates, y)
    y_idx = np.unique(y, return_inverse=True)[1]
    proba = _out_of_fold_proba(estimator, X, y, n_splits, seed)
    own = proba[np.arange(len(y)), y_idx]
    n = int(round(share * len(cand)))
    order = cand[np.argsort(own[cand], kind="stable")]
    flipped = np.sort(order[:n])
    y_out = np.array(y, copy=True)
    y_out[flipped] = new_label
    return FlippedLabels(y=y_out, flipped_idx=flipped)
