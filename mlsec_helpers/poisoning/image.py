"""Lab 03, image domain: the BadNets backdoor in the digit reader and the detectors that find it.

A BadNets trigger (ART's ``add_pattern_bd`` through ``PoisoningAttackBackdoor``), its attack
success rate, activation clustering (ART's ``ActivationDefence``) and spectral signatures (ART's
``SpectralSignatureDefense``, and the centred scores of the paper).

Introduced in lab 03 (Data poisoning and backdoors).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import pandas as pd

from .. import repro
from ..validate import (
    check_array,
    check_fitted,
    check_fraction,
    check_images,
    check_int,
    check_labels,
    check_positive,
    unknown_name,
)
from .results import ActivationClusteringResult, PoisonedData, SpectralSignatureResult

__all__ = [
    "activation_clustering",
    "art_spectral_signature",
    "attack_success_rate",
    "layer_activations",
    "poison_images",
    "spectral_signature_detect",
    "spectral_signature_scores",
    "stamp_trigger",
]

#: The smallest image side the trigger fits in (ART's pattern needs distance + 2 < side).
_MIN_SIDE = 5


def stamp_trigger(X, distance: int = 2, pixel_value: float = 1.0) -> np.ndarray:
    """Stamp the BadNets trigger, a 4-pixel checkerboard near the bottom-right corner.

    ``X`` is a batch ``(n, 1, H, W)`` of images with pixels in [0, 1]; a copy is returned. The
    pattern is ART's ``add_pattern_bd``: pixels (H-d, W-d), (H-d-1, W-d-1), (H-d, W-d-2) and
    (H-d-2, W-d) are set to ``pixel_value``, with d = ``distance``.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    from art.attacks.poisoning.perturbations import add_pattern_bd

    X = check_images(X, min_side=_MIN_SIDE)
    check_int(distance, "distance", 1)
    if distance + 2 >= min(X.shape[2], X.shape[3]):
        raise ValueError(f"distance {distance} puts the trigger outside {X.shape[2:]} images")
    pixel_value = check_fraction(pixel_value, "pixel_value (pixel scale)")
    return add_pattern_bd(np.array(X, dtype=np.float32), distance=distance,
                          pixel_value=pixel_value, channels_first=True)


def poison_images(X, y, target: int, rate: float, *, seed: int = 0,
                  trigger: Callable[[np.ndarray], np.ndarray] = stamp_trigger) -> PoisonedData:
    """BadNets poisoning: stamp ``rate`` of the training images and relabel them ``target``.

    The poisoned rows are drawn (seeded) among images whose label is not ``target``, stamped
    with ``trigger`` and relabelled through ART's ``PoisoningAttackBackdoor``. Returns a
    :class:`~mlsec_helpers.poisoning.PoisonedData` (images, labels, poisoned rows); the inputs
    are not modified.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    from art.attacks.poisoning import PoisoningAttackBackdoor

    X = check_images(X, min_side=_MIN_SIDE)
    y = check_labels(y, len(X))
    rate = check_fraction(rate, "rate (the poison rate)")
    check_int(target, "target", 0)
    if target not in set(np.unique(y).tolist()):
        raise ValueError(f"target {target} is not one of the labels {sorted(set(y.tolist()))}")
    candidates = np.flatnonzero(y != target)
    n_poison = int(round(rate * len(X)))
    if n_poison > len(candidates):
        raise ValueError(f"rate {rate} asks for {n_poison} poisons; only {len(candidates)} "
                         "images have another label")
    idx = np.sort(repro.rng(seed).choice(candidates, n_poison, replace=False))
    X_out, y_out = np.array(X, copy=True), np.array(y, copy=True)
    if n_poison:
        attack = PoisoningAttackBackdoor(trigger)
        X_p, y_p = attack.poison(X_out[idx], y=np.full(n_poison, target))
        X_out[idx], y_out[idx] = X_p, y_p
    return PoisonedData(X=X_out, y=y_out, poison_idx=idx)


def attack_success_rate(system, X, y, target: int,
                        trigger: Callable[[np.ndarray], np.ndarray] = stamp_trigger) -> float:
    """Share of images of another class that ``system`` reads as ``target`` once triggered.

    ``system`` is a fitted ``DigitsCNN`` (anything with ``predict``); only its predicted labels
    are used.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    check_fitted(system)
    X = check_images(X, min_side=_MIN_SIDE)
    y = check_labels(y, len(X))
    check_int(target, "target", 0)
    others = y != target
    if not others.any():
        raise ValueError(f"every image has label {target}: nothing to measure")
    return float(np.mean(np.asarray(system.predict(trigger(X[others]))) == target))


def layer_activations(system, X, layer: str = "features", batch_size: int = 256) -> np.ndarray:
    """Activations of one named layer of a fitted ``DigitsCNN``, via ART, flattened to 2-D.

    ``"features"`` is the output of the convolutional blocks (the representation the defences
    of lab 03 inspect); ``"head"`` is the logits.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    X = check_images(X, min_side=_MIN_SIDE)
    check_int(batch_size, "batch_size")
    est = system.art_estimator()
    if layer not in est.layer_names:
        raise unknown_name(layer, list(est.layer_names), "layer")
    acts = est.get_activations(np.asarray(X, np.float32), layer=layer, batch_size=batch_size)
    return np.asarray(acts).reshape(len(X), -1)


def activation_clustering(system, X, y, *, layer: str = "features", nb_dims: int = 10,
                          size_threshold: float = 0.35, features=None,
                          seed: int = 0) -> ActivationClusteringResult:
    """Activation clustering (Chen et al. 2018) with ART's ``ActivationDefence``.

    ART clusters each class's activations of ``layer`` of ``system`` (a fitted ``DigitsCNN``)
    in two (PCA to ``nb_dims``, k-means); a cluster holding less than ``size_threshold`` of its
    class is flagged as poison. Pass ``features`` (from :func:`layer_activations`) to reuse
    activations already computed. Returns an
    :class:`~mlsec_helpers.poisoning.ActivationClusteringResult`: a boolean mask over the rows
    and a per-class table.

    ART's k-means gets ten seeded starts (its default is one). The relative-size decision is
    written here because ART 1.20.1's own analyses misbehave with NumPy 2:
    ``analyze_by_relative_size`` raises on a class without a small cluster, and
    ``analyze_by_silhouette_score`` leaves the large cluster's rows uninitialised.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    from unittest import mock

    from art.defences.detector.poison import ActivationDefence, activation_defence
    from art.utils import segment_by_class
    from sklearn.cluster import KMeans

    X = check_images(X, min_side=_MIN_SIDE)
    y = check_labels(y, len(X))
    size_threshold = check_fraction(size_threshold, "size_threshold", allow_zero=False)
    check_int(nb_dims, "nb_dims")
    acts = layer_activations(system, X, layer) if features is None else np.asarray(features)
    if acts.ndim != 2 or len(acts) != len(X):
        raise ValueError(f"features must be (rows of X, dims), got shape {acts.shape}")
    est = system.art_estimator()
    n_classes = est.nb_classes
    defence = ActivationDefence(est, X, y)
    defence.activations_by_class = segment_by_class(acts, y, n_classes)
    # ART builds ``KMeans(n_clusters=2)`` (activation_defence.cluster_activations) with
    # scikit-learn's default single k-means++ start, which on these features sometimes cuts a
    # class in two halves at random; ART's clustering runs here with ten seeded starts instead.
    # Its PCA draws from NumPy's global generator: seeded here, and restored afterwards.
    with repro.seeded(seed), mock.patch.object(
            activation_defence, "KMeans", functools.partial(KMeans, n_init=10, random_state=seed)):
        clusters, _ = defence.cluster_activations(nb_clusters=2, nb_dims=nb_dims, reduce="PCA")
    # The relative-size rule, written here: ART 1.20.1's analyses fail with NumPy 2.
    #   ClusteringAnalyzer().analyze_by_relative_size([np.array([0, 0, 0, 1, 1, 1, 1, 1])])
    #   -> ValueError: The truth value of an empty array is ambiguous (no cluster is small);
    #   ClusteringAnalyzer().analyze_by_silhouette_score(...) fills its clean/poison mask with
    #   np.empty (assign_class), so rows of a cluster it calls neither keep garbage, and a small
    #   cluster with a low silhouette raises IndexError (float indices ``np.array([[]])``).
    index_by_class = segment_by_class(np.arange(len(X)), y, n_classes)
    flags = np.zeros(len(X), bool)
    rows = []
    for label, (cl, idx) in enumerate(zip(clusters, index_by_class, strict=True)):
        if len(idx) == 0:
            continue
        sizes = np.bincount(np.asarray(cl, dtype=np.int64), minlength=2)
        small = int(np.argmin(sizes))
        share = sizes[small] / sizes.sum()
        suspicious = bool(share < size_threshold)
        if suspicious:
            flags[np.asarray(idx, dtype=np.int64)[np.asarray(cl) == small]] = True
        rows.append({"class": label, "rows": int(sizes.sum()), "smaller cluster": int(sizes[small]),
                     "share": float(share), "flagged": suspicious})
    return ActivationClusteringResult(flags=flags, report=pd.DataFrame(rows))


def spectral_signature_scores(features) -> np.ndarray:
    """Spectral-signature outlier scores (Tran, Li and Madry 2018, Algorithm 1).

    Centre the representations of one class, take the top right singular vector ``v`` of the
    centred matrix, and score each row by its squared projection ``((r_i - mean) . v)**2``.

    ART's ``SpectralSignatureDefense`` (like the authors' released code) projects the
    *uncentred* representations; on ReLU features whose mean is far from zero that ranks the
    rows differently, so the paper's centred version is written here.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    R = check_array(features, "features", ndim=2, dtype=np.float64)
    if len(R) < 2:
        raise ValueError(f"features must have at least 2 rows, got shape {R.shape}")
    # ART 1.20.1, SpectralSignatureDefense.spectral_signature_scores(matrix_r) centres
    # (matrix_m = matrix_r - mean) for the SVD but then projects the raw rows:
    #   corrs = np.matmul(eigs, np.transpose(matrix_r))
    # so the mean's projection is added to every score; the paper projects the centred rows.
    centred = R - R.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return (centred @ vt[0]) ** 2


def spectral_signature_detect(features, y, expected_rate: float, rate_multiplier: float = 1.5,
                              scores_fn: Callable = spectral_signature_scores
                              ) -> SpectralSignatureResult:
    """Flag, in every class, the ``rate_multiplier * expected_rate`` share with the top scores.

    ``rate_multiplier`` is ART's ``eps_multiplier`` (the paper's epsilon is the poisoned share,
    not a perturbation budget). ``scores_fn`` computes the outlier scores of one class's
    representations (default: :func:`spectral_signature_scores`). Returns a
    :class:`~mlsec_helpers.poisoning.SpectralSignatureResult` (flags, scores).

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    F = check_array(features, "features", ndim=2, dtype=None)
    y = check_labels(y, len(F))
    rate = check_fraction(expected_rate, "expected_rate")
    rate_multiplier = check_positive(rate_multiplier, "rate_multiplier")
    flags, scores = np.zeros(len(F), bool), np.zeros(len(F))
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        if len(idx) < 2:
            continue
        s = np.asarray(scores_fn(F[idx]), dtype=np.float64).ravel()
        scores[idx] = s
        cutoff = np.quantile(s, max(1.0 - rate_multiplier * rate, 0.0))
        flags[idx[s >= cutoff]] = True
    return SpectralSignatureResult(flags=flags, scores=scores)


def art_spectral_signature(system, X, y, expected_rate: float,
                           rate_multiplier: float = 1.5) -> np.ndarray:
    """ART's ``SpectralSignatureDefense`` as the library runs it (on the last layer of
    ``system``, a fitted ``DigitsCNN``).

    ``rate_multiplier`` is ART's ``eps_multiplier``. Returns a boolean mask of the rows it flags.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    from art.defences.detector.poison import SpectralSignatureDefense

    X = check_images(X, min_side=_MIN_SIDE)
    y = check_labels(y, len(X))
    rate = check_fraction(expected_rate, "expected_rate")
    rate_multiplier = check_positive(rate_multiplier, "rate_multiplier")
    defence = SpectralSignatureDefense(system.art_estimator(), np.asarray(X, np.float32), y,
                                       expected_pp_poison=rate, eps_multiplier=rate_multiplier)
    _, is_clean = defence.detect_poison()
    return np.asarray(is_clean) == 0
