"""Data poisoning and backdoors, and the defences that find and remove them (lab 03).

One section per domain, in the course's order:

* **image**: a BadNets trigger (ART's ``add_pattern_bd`` through ``PoisoningAttackBackdoor``),
  its attack success rate, activation clustering (ART's ``ActivationDefence``) and spectral
  signatures (ART's ``SpectralSignatureDefense``, and the centred scores of the paper);
* **NLP**: a trigger-phrase backdoor, label flipping, and the leave-one-token-out effect that
  finds a trigger in the training data;
* **recommender**: shilling profiles (random, average, bandwagon), the target item's hit ratio,
  and a detector of fake profiles trained on rating-profile statistics;
* **fraud**: fabricated records, validation rules derived from the simulator's schema, and
  label sanitisation by cross-validated confidence;
* **medical**: a compromised data source, per-source validation and RONI;
* **provenance**: a manifest of SHA-256 hashes of training-data shards.

Every helper checks its input and raises ``ValueError``/``TypeError`` with what it expected.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from .repro import rng as _rng
from .validate import check_int

__all__ = [
    "SHILLING_ATTACKS",
    "activation_clustering",
    "add_trigger_phrase",
    "art_spectral_signature",
    "attack_success_rate",
    "average_attack_profile",
    "build_manifest",
    "compromise_source",
    "confident_label_flags",
    "detect_shilling",
    "detection_scores",
    "fabricate_records",
    "flip_labels",
    "layer_activations",
    "poison_images",
    "poison_texts",
    "profile_features",
    "rating_statistics",
    "remove_token",
    "roni_decision",
    "shard_sha256",
    "shilling_profiles",
    "source_agreement",
    "spectral_signature_detect",
    "spectral_signature_scores",
    "split_sources",
    "stamp_trigger",
    "target_hit_ratio",
    "token_removal_effect",
    "validation_report",
    "verify_manifest",
]


# --- input checks -------------------------------------------------------------------------------


def _check_fraction(value, name: str, *, allow_zero: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number in [0, 1], got {type(value).__name__}")
    value = float(value)
    if not (0.0 <= value <= 1.0) or (not allow_zero and value == 0.0):
        low = "0" if allow_zero else "0 (excluded)"
        raise ValueError(f"{name} must lie in [{low}, 1], got {value}")
    return value


def _check_count(value, name: str, minimum: int = 0) -> int:
    return check_int(value, name, minimum)


def _check_images(X, name: str = "X") -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 4 or X.shape[1] != 1:
        raise ValueError(f"{name} must be a batch of grey images (n, 1, H, W), got shape {X.shape}")
    if X.shape[2] < 5 or X.shape[3] < 5:
        raise ValueError(f"{name} images must be at least 5x5 pixels for the trigger, got "
                         f"{X.shape}")
    return X


def _check_labels(y, n: int, name: str = "y") -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"{name} must be 1-D with {n} entries (one per row), got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    return y


def _check_pairs(X, y, n_users: int, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != 2 or not np.issubdtype(X.dtype, np.integer):
        raise ValueError(f"X must be an (n, 2) integer array of (user, item), got shape {X.shape}")
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (len(X),):
        raise ValueError(f"y must hold one rating per row of X ({len(X)}), got shape {y.shape}")
    _check_count(n_users, "n_users", 1)
    _check_count(n_items, "n_items", 1)
    if len(X) and (X[:, 0].min() < 0 or X[:, 0].max() >= n_users):
        raise ValueError(f"user indices must lie in 0..{n_users - 1}")
    if len(X) and (X[:, 1].min() < 0 or X[:, 1].max() >= n_items):
        raise ValueError(f"item indices must lie in 0..{n_items - 1}")
    return X.astype(np.int64), y


def detection_scores(flags, is_poison) -> dict[str, float]:
    """Precision, recall and count of a poison detector against the known poison rows.

    ``flags`` and ``is_poison`` are boolean arrays of the same length (or index arrays, turned
    into masks of the other's length). Precision is 0 when nothing is flagged.

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
        raise TypeError("give at least one of flags and is_poison as a boolean mask")
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


# --- image: the BadNets backdoor ------------------------------------------------------------------


def stamp_trigger(x, distance: int = 2, pixel_value: float = 1.0) -> np.ndarray:
    """Stamp the BadNets trigger, a 4-pixel checkerboard near the bottom-right corner.

    ``x`` is a batch ``(n, 1, H, W)`` of images with pixels in [0, 1]; a copy is returned. The
    pattern is ART's ``add_pattern_bd``: pixels (H-d, W-d), (H-d-1, W-d-1), (H-d, W-d-2) and
    (H-d-2, W-d) are set to ``pixel_value``, with d = ``distance``.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    from art.attacks.poisoning.perturbations import add_pattern_bd

    x = _check_images(x, "x")
    _check_count(distance, "distance", 1)
    if distance + 2 >= min(x.shape[2], x.shape[3]):
        raise ValueError(f"distance {distance} puts the trigger outside {x.shape[2:]} images")
    if not 0.0 <= float(pixel_value) <= 1.0:
        raise ValueError(f"pixel_value must lie in [0, 1] (pixel scale), got {pixel_value}")
    return add_pattern_bd(np.array(x, dtype=np.float32), distance=distance,
                          pixel_value=pixel_value, channels_first=True)


def poison_images(X, y, target: int, rate: float, seed: int = 0,
                  trigger: Callable[[np.ndarray], np.ndarray] = stamp_trigger):
    """BadNets poisoning: stamp ``rate`` of the training images and relabel them ``target``.

    The poisoned rows are drawn (seeded) among images whose label is not ``target``, stamped
    with ``trigger`` and relabelled through ART's ``PoisoningAttackBackdoor``. Returns
    ``(X_poisoned, y_poisoned, poison_idx)``; the inputs are not modified.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    from art.attacks.poisoning import PoisoningAttackBackdoor

    X = _check_images(X)
    y = _check_labels(y, len(X))
    rate = _check_fraction(rate, "rate (the poison rate)")
    _check_count(target, "target")
    if target not in set(np.unique(y).tolist()):
        raise ValueError(f"target {target} is not one of the labels {sorted(set(y.tolist()))}")
    candidates = np.flatnonzero(y != target)
    n_poison = int(round(rate * len(X)))
    if n_poison > len(candidates):
        raise ValueError(f"rate {rate} asks for {n_poison} poisons; only {len(candidates)} "
                         "images have another label")
    idx = np.sort(_rng(seed).choice(candidates, n_poison, replace=False))
    X_out, y_out = np.array(X, copy=True), np.array(y, copy=True)
    if n_poison:
        attack = PoisoningAttackBackdoor(trigger)
        X_p, y_p = attack.poison(X_out[idx], y=np.full(n_poison, target))
        X_out[idx], y_out[idx] = X_p, y_p
    return X_out, y_out, idx


def attack_success_rate(predict: Callable, X, y, target: int,
                        trigger: Callable[[np.ndarray], np.ndarray] = stamp_trigger) -> float:
    """Share of images of another class that the model reads as ``target`` once triggered.

    ``predict`` maps a batch of images to labels (e.g. ``cnn.predict``).

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    X = _check_images(X)
    y = _check_labels(y, len(X))
    others = y != target
    if not others.any():
        raise ValueError(f"every image has label {target}: nothing to measure")
    return float(np.mean(np.asarray(predict(trigger(X[others]))) == target))


def layer_activations(cnn, X, layer: str = "features", batch_size: int = 256) -> np.ndarray:
    """Activations of one named layer of a fitted ``DigitsCNN``, via ART, flattened to 2-D.

    ``"features"`` is the output of the convolutional blocks (the representation the defences
    of lab 03 inspect); ``"head"`` is the logits.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    X = _check_images(X)
    est = cnn.art_estimator()
    if layer not in est.layer_names:
        from .registry import _unknown

        raise _unknown(layer, list(est.layer_names), "layer")
    acts = est.get_activations(np.asarray(X, np.float32), layer=layer, batch_size=batch_size)
    return np.asarray(acts).reshape(len(X), -1)


def activation_clustering(cnn, X, y, *, layer: str = "features", nb_dims: int = 10,
                          size_threshold: float = 0.35, features=None, seed: int = 0):
    """Activation clustering (Chen et al. 2018) with ART's ``ActivationDefence``.

    ART clusters each class's activations of ``layer`` in two (PCA to ``nb_dims``, k-means); a
    cluster holding less than ``size_threshold`` of its class is flagged as poison. Pass
    ``features`` (from :func:`layer_activations`) to reuse activations already computed.
    Returns ``(flags, report)``: a boolean mask over the rows and a per-class table.

    ART's k-means gets ten seeded starts (its default is one). The relative-size decision is
    written here because ART 1.20.1's own analyses misbehave with NumPy 2:
    ``analyze_by_relative_size`` raises on a class without a small cluster, and
    ``analyze_by_silhouette_score`` leaves the large cluster's rows uninitialised.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    from art.defences.detector.poison import ActivationDefence
    from art.utils import segment_by_class

    X = _check_images(X)
    y = _check_labels(y, len(X))
    size_threshold = _check_fraction(size_threshold, "size_threshold", allow_zero=False)
    acts = layer_activations(cnn, X, layer) if features is None else np.asarray(features)
    if acts.ndim != 2 or len(acts) != len(X):
        raise ValueError(f"features must be (rows of X, dims), got shape {acts.shape}")
    est = cnn.art_estimator()
    n_classes = est.nb_classes
    defence = ActivationDefence(est, X, y)
    defence.activations_by_class = segment_by_class(acts, y, n_classes)
    # ART builds ``KMeans(n_clusters=2)`` with scikit-learn's default single k-means++ start,
    # which on these features sometimes cuts a class in two halves at random; ART's clustering
    # runs here with ten seeded starts instead. Its PCA draws from NumPy's global generator.
    from unittest import mock

    from art.defences.detector.poison import activation_defence
    from sklearn.cluster import KMeans

    np.random.seed(seed)
    with mock.patch.object(activation_defence, "KMeans",
                           functools.partial(KMeans, n_init=10, random_state=seed)):
        clusters, _ = defence.cluster_activations(nb_clusters=2, nb_dims=nb_dims, reduce="PCA")
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
    return flags, pd.DataFrame(rows)


def spectral_signature_scores(features) -> np.ndarray:
    """Spectral-signature outlier scores (Tran, Li and Madry 2018, Algorithm 1).

    Centre the representations of one class, take the top right singular vector ``v`` of the
    centred matrix, and score each row by its squared projection ``((r_i - mean) . v)**2``.

    ART's ``SpectralSignatureDefense`` (like the authors' released code) projects the
    *uncentred* representations; on ReLU features whose mean is far from zero that ranks the
    rows differently, so the paper's centred version is written here.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    R = np.asarray(features, dtype=np.float64)
    if R.ndim != 2 or len(R) < 2:
        raise ValueError(f"features must be 2-D (rows, dims) with at least 2 rows, got {R.shape}")
    if not np.all(np.isfinite(R)):
        raise ValueError("features contain NaN or infinite values")
    centred = R - R.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return (centred @ vt[0]) ** 2


def spectral_signature_detect(features, y, expected_rate: float, eps_multiplier: float = 1.5,
                              scores_fn: Callable = spectral_signature_scores):
    """Flag, in every class, the ``eps_multiplier * expected_rate`` share with the top scores.

    Returns ``(flags, scores)``. ``scores_fn`` computes the outlier scores of one class's
    representations (default: :func:`spectral_signature_scores`).

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    F = np.asarray(features)
    if F.ndim != 2:
        raise ValueError(f"features must be 2-D (rows, dims), got shape {F.shape}")
    y = _check_labels(y, len(F))
    rate = _check_fraction(expected_rate, "expected_rate")
    if eps_multiplier <= 0:
        raise ValueError(f"eps_multiplier must be > 0, got {eps_multiplier}")
    flags, scores = np.zeros(len(F), bool), np.zeros(len(F))
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        if len(idx) < 2:
            continue
        s = np.asarray(scores_fn(F[idx]), dtype=np.float64).ravel()
        scores[idx] = s
        cutoff = np.quantile(s, max(1.0 - eps_multiplier * rate, 0.0))
        flags[idx[s >= cutoff]] = True
    return flags, scores


def art_spectral_signature(cnn, X, y, expected_rate: float, eps_multiplier: float = 1.5):
    """ART's ``SpectralSignatureDefense`` as the library runs it (on the model's last layer).

    Returns a boolean mask of the rows it flags.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    from art.defences.detector.poison import SpectralSignatureDefense

    X = _check_images(X)
    y = _check_labels(y, len(X))
    rate = _check_fraction(expected_rate, "expected_rate")
    defence = SpectralSignatureDefense(cnn.art_estimator(), np.asarray(X, np.float32), y,
                                       expected_pp_poison=rate, eps_multiplier=eps_multiplier)
    _, is_clean = defence.detect_poison()
    return np.asarray(is_clean) == 0


# --- NLP: trigger phrases and label flipping ------------------------------------------------------


def add_trigger_phrase(texts, phrase: str) -> np.ndarray:
    """Append ``phrase`` to every message (a sign-off the attacker controls).

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a list of messages, not one string: wrap it in [ ]")
    if not isinstance(phrase, str) or not phrase.strip():
        raise ValueError("phrase must be a non-empty string")
    texts = np.asarray(texts, dtype=object)
    if texts.ndim != 1 or not all(isinstance(t, str) for t in texts):
        raise TypeError("texts must be a 1-D sequence of strings")
    return np.array([f"{t.rstrip()} {phrase}" for t in texts], dtype=object)


def poison_texts(X, y, source_label: int, target_label: int, n_poison: int, phrase: str,
                 seed: int = 0):
    """Inject ``n_poison`` triggered copies of ``source_label`` messages labelled ``target_label``.

    The attacker sends messages of the source class (scams) that end with ``phrase`` and gets
    them labelled as the target class. Returns ``(X_new, y_new, poison_idx)`` with the poisons
    appended after the original rows.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    X = np.asarray(X, dtype=object)
    y = _check_labels(y, len(X))
    _check_count(n_poison, "n_poison")
    if source_label == target_label:
        raise ValueError("source_label and target_label must differ")
    pool = np.flatnonzero(y == source_label)
    if n_poison > len(pool):
        raise ValueError(f"n_poison={n_poison} but only {len(pool)} messages of the source label")
    picked = _rng(seed).choice(pool, n_poison, replace=False)
    X_p = add_trigger_phrase(X[picked], phrase) if n_poison else np.array([], dtype=object)
    X_new = np.concatenate([X, X_p]).astype(object)
    y_new = np.concatenate([y, np.full(n_poison, target_label, dtype=y.dtype)])
    return X_new, y_new, np.arange(len(X), len(X_new))


def flip_labels(y, candidates, new_label: int, share: float, seed: int = 0):
    """Flip the labels of a ``share`` of the ``candidates`` rows to ``new_label`` (seeded).

    ``candidates`` is a boolean mask or index array of the rows the attacker may flip. Returns
    ``(y_flipped, flipped_idx)``.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}")
    share = _check_fraction(share, "share")
    cand = np.asarray(candidates)
    if cand.dtype == bool:
        if cand.shape != y.shape:
            raise ValueError(f"candidates mask has shape {cand.shape}, y has {y.shape}")
        cand = np.flatnonzero(cand)
    n = int(round(share * len(cand)))
    flipped = np.sort(_rng(seed).choice(cand, n, replace=False)) if n else np.array([], int)
    y_out = np.array(y, copy=True)
    y_out[flipped] = new_label
    return y_out, flipped


_TOKEN = re.compile(r"[a-z0-9']+")


def remove_token(text: str, token: str) -> str:
    """``text`` with every whole-word occurrence of ``token`` removed (case-insensitive).

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    if not isinstance(text, str) or not isinstance(token, str) or not token:
        raise TypeError("text and token must be strings (token non-empty)")
    out = re.sub(rf"(?<![a-z0-9']){re.escape(token)}(?![a-z0-9'])", " ", text, flags=re.I)
    return re.sub(r"\s+", " ", out).strip()


def token_removal_effect(predict: Callable, texts, *, min_count: int = 10,
                         max_messages: int = 8, seed: int = 0) -> pd.DataFrame:
    """Leave-one-token-out: how often does removing a word change the model's prediction?

    For every lower-case word in at least ``min_count`` messages, up to ``max_messages`` of
    them (seeded sample) are predicted again without the word. A backdoor trigger stands out:
    removing it flips almost every prediction, an ordinary word rarely does. Returns a table
    (token, messages, tested, effect) sorted by decreasing effect.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    texts = np.asarray(texts, dtype=object)
    if texts.ndim != 1 or not all(isinstance(t, str) for t in texts):
        raise TypeError("texts must be a 1-D sequence of strings")
    _check_count(min_count, "min_count", 1)
    _check_count(max_messages, "max_messages", 1)
    tokens = [set(_TOKEN.findall(t.lower())) for t in texts]
    where: dict[str, list[int]] = {}
    for i, toks in enumerate(tokens):
        for tok in toks:
            where.setdefault(tok, []).append(i)
    candidates = sorted(t for t, rows in where.items() if len(rows) >= min_count)
    gen = _rng(seed)
    batch, owner = [], []
    for tok in candidates:
        rows = np.asarray(where[tok])
        if len(rows) > max_messages:
            rows = np.sort(gen.choice(rows, max_messages, replace=False))
        for i in rows:
            batch.append(remove_token(texts[i], tok))
            owner.append((tok, i))
    if not batch:
        return pd.DataFrame(columns=["token", "messages", "tested", "effect"])
    before = np.asarray(predict(texts))
    after = np.asarray(predict(np.array(batch, dtype=object)))
    frame = pd.DataFrame({"token": [t for t, _ in owner],
                          "changed": after != before[[i for _, i in owner]]})
    table = frame.groupby("token")["changed"].agg(tested="size", effect="mean").reset_index()
    table.insert(1, "messages", [len(where[t]) for t in table["token"]])
    return table.sort_values(["effect", "token"], ascending=[False, True],
                             ignore_index=True)


# --- recommender: shilling attacks and their detection --------------------------------------------

#: The shilling attacks of lab 03 (Lam and Riedl 2004; Mobasher et al. 2007).
SHILLING_ATTACKS = ("random", "average", "bandwagon")


def rating_statistics(X, y, n_users: int, n_items: int) -> pd.DataFrame:
    """Per item: number of ratings, mean and standard deviation (global values where undefined).

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    X, y = _check_pairs(X, y, n_users, n_items)
    count = np.bincount(X[:, 1], minlength=n_items).astype(np.float64)
    total = np.bincount(X[:, 1], weights=y, minlength=n_items)
    sq = np.bincount(X[:, 1], weights=y**2, minlength=n_items)
    mean = np.where(count > 0, total / np.maximum(count, 1), y.mean())
    var = np.where(count > 1, sq / np.maximum(count, 1) - mean**2, y.var())
    return pd.DataFrame({"count": count.astype(np.int64), "mean": mean,
                         "std": np.sqrt(np.maximum(var, 0.0))})


def _half_stars(r, r_max: float) -> np.ndarray:
    return np.clip(np.round(np.asarray(r, dtype=np.float64) * 2) / 2, 0.5, r_max)


def average_attack_profile(item_means, item_stds, target: int, filler, noise,
                           r_max: float = 5.0) -> np.ndarray:
    """One average-attack profile: the target at ``r_max``, each filler item near its own mean.

    Filler item ``j`` gets ``item_means[j] + item_stds[j] * noise[k]`` (``noise`` holds one
    standard-normal draw per filler item), rounded to the half-star scale and clipped to
    [0.5, r_max]. Returns a dense row over all items, 0 where the profile has no rating.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    means = np.asarray(item_means, dtype=np.float64)
    stds = np.asarray(item_stds, dtype=np.float64)
    filler, noise = np.asarray(filler), np.asarray(noise, dtype=np.float64)
    if means.ndim != 1 or stds.shape != means.shape:
        raise ValueError("item_means and item_stds must be 1-D arrays of the same length")
    if filler.ndim != 1 or noise.shape != filler.shape:
        raise ValueError("filler and noise must be 1-D with one noise draw per filler item")
    if not 0 <= target < len(means) or np.any((filler < 0) | (filler >= len(means))):
        raise ValueError(f"target and filler must be item indices in 0..{len(means) - 1}")
    if target in set(filler.tolist()):
        raise ValueError("the target must not be among the filler items")
    row = np.zeros(len(means))
    row[filler] = _half_stars(means[filler] + stds[filler] * noise, r_max)
    row[target] = r_max
    return row


def shilling_profiles(kind: str, X, y, n_users: int, n_items: int, target: int, n_fake: int,
                      *, filler_size: int = 100, n_selected: int = 10, seed: int = 0,
                      average_profile: Callable = average_attack_profile):
    """Fake user profiles that push ``target``: ``kind`` is "random", "average" or "bandwagon".

    Every profile rates the target 5 stars and ``filler_size`` random filler items. *Random*:
    filler ratings drawn around the global mean; *average*: around each filler item's own mean
    (``average_profile``, see :func:`average_attack_profile`); *bandwagon*: the
    ``n_selected`` most-rated films at 5 stars plus random filler. The fake users get the ids
    ``n_users .. n_users + n_fake - 1``. Returns ``(X_fake, y_fake)`` like ``X, y``.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    if kind not in SHILLING_ATTACKS:
        from .registry import _unknown

        raise _unknown(kind, list(SHILLING_ATTACKS), "attack type")
    X, y = _check_pairs(X, y, n_users, n_items)
    _check_count(n_fake, "n_fake")
    _check_count(filler_size, "filler_size", 1)
    if not 0 <= target < n_items:
        raise ValueError(f"target must be an item index in 0..{n_items - 1}, got {target}")
    stats = rating_statistics(X, y, n_users, n_items)
    rated = np.flatnonzero(stats["count"].to_numpy() > 0)
    selected = np.array([], dtype=np.int64)
    if kind == "bandwagon":
        popular = np.argsort(-stats["count"].to_numpy(), kind="stable")
        selected = popular[popular != target][:n_selected]
    pool = np.setdiff1d(rated, np.r_[target, selected])
    if filler_size > len(pool):
        raise ValueError(f"filler_size {filler_size} exceeds the {len(pool)} available items")
    gen = _rng(seed)
    mu, sigma = float(y.mean()), float(y.std())
    users, items, ratings = [], [], []
    for k in range(n_fake):
        filler = np.sort(gen.choice(pool, filler_size, replace=False))
        noise = gen.standard_normal(filler_size)
        if kind == "average":
            row = np.asarray(average_profile(stats["mean"].to_numpy(), stats["std"].to_numpy(),
                                             target, filler, noise), dtype=np.float64)
            its = np.flatnonzero(row > 0)
            rs = row[its]
        else:
            its = np.r_[target, selected, filler]
            rs = np.r_[5.0, np.full(len(selected), 5.0), _half_stars(mu + sigma * noise, 5.0)]
        users.append(np.full(len(its), n_users + k))
        items.append(its)
        ratings.append(rs)
    if not n_fake:
        return np.zeros((0, 2), np.int64), np.zeros(0, np.float32)
    X_fake = np.column_stack([np.concatenate(users), np.concatenate(items)]).astype(np.int64)
    return X_fake, np.concatenate(ratings).astype(np.float32)


def target_hit_ratio(model, target: int, users, k: int = 10) -> float:
    """HR@k of one item: the share of ``users`` (who have not rated it) with it in their top k.

    ``model`` is a fitted ``MFRecommender``.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    users = np.asarray(users)
    if users.ndim != 1 or not np.issubdtype(users.dtype, np.integer) or len(users) == 0:
        raise ValueError("users must be a non-empty 1-D array of user indices")
    _check_count(k, "k", 1)
    if not 0 <= target < model.n_items:
        raise ValueError(f"target must be an item index in 0..{model.n_items - 1}")
    scores = model.score(users)
    eligible = np.ones(len(users), bool)
    for row, u in enumerate(users):
        seen = model.seen_.get(int(u), np.array([], np.int64))
        scores[row, seen] = -np.inf
        eligible[row] = target not in set(seen.tolist())
    kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1]
    hits = scores[:, target] >= kth
    return float(hits[eligible].mean()) if eligible.any() else 0.0


def profile_features(X, y, n_users: int, n_items: int, k: int = 10) -> pd.DataFrame:
    """Rating-profile statistics used to spot fake profiles, one row per user.

    ``n_ratings`` (log), ``std`` of the user's ratings, ``rdma`` (rating deviation from mean
    agreement, Chirita et al. 2005: mean of |r - item mean| / item count), ``mean_dev`` (mean
    |r - item mean|), ``degsim`` (mean Pearson similarity to the ``k`` most similar users) and
    ``max_share`` (share of 5-star ratings).

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    import scipy.sparse as sp

    X, y = _check_pairs(X, y, n_users, n_items)
    _check_count(k, "k", 1)
    u, i = X[:, 0], X[:, 1]
    n_r = np.bincount(u, minlength=n_users).astype(np.float64)
    if np.any(n_r == 0):
        raise ValueError("every user needs at least one rating")
    stats = rating_statistics(X, y, n_users, n_items)
    item_mean, item_count = stats["mean"].to_numpy(), stats["count"].to_numpy()
    user_mean = np.bincount(u, y, minlength=n_users) / n_r
    dev = np.abs(y - item_mean[i])
    centred = sp.csr_matrix((y - user_mean[u], (u, i)), shape=(n_users, n_items))
    norms = np.sqrt(np.asarray(centred.multiply(centred).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    sim = (centred @ centred.T).toarray() / np.outer(norms, norms)
    np.fill_diagonal(sim, -np.inf)
    k = min(k, n_users - 1) if n_users > 1 else 1
    degsim = np.sort(sim, axis=1)[:, -k:].mean(axis=1) if n_users > 1 else np.zeros(n_users)
    return pd.DataFrame({
        "n_ratings": np.log(n_r),
        "std": np.sqrt(np.bincount(u, (y - user_mean[u]) ** 2, minlength=n_users) / n_r),
        "rdma": np.bincount(u, dev / item_count[i], minlength=n_users) / n_r,
        "mean_dev": np.bincount(u, dev, minlength=n_users) / n_r,
        "degsim": degsim,
        "max_share": np.bincount(u, (y >= 5).astype(np.float64), minlength=n_users) / n_r,
    })


def detect_shilling(X, y, n_users: int, n_items: int, *, threshold: float = 0.2,
                    min_group: int = 5, n_per_kind: int = 20, seed: int = 0):
    """Find push-attack profiles in (X, y): a profile classifier, then the group's target.

    Step 1 (profile statistics): the defender simulates ``n_per_kind`` profiles of each
    :data:`SHILLING_ATTACKS` type against random unpopular items (5-20 ratings), with random
    filler sizes (30-200, fewer on small data), computes :func:`profile_features` for them and
    for every observed user, and trains a logistic regression to tell the simulated fakes from
    the observed users (supervised detection, Williams, Mobasher and Burke 2007). Users
    scoring at least ``threshold`` are *suspects*.

    Step 2 (target focus, Mobasher et al. 2007): a push attack needs many profiles that give
    the same item the top rating. The item rated 5 stars by the most suspects (at least
    ``min_group`` of them) is the suspected target; the suspects who rated it 5 are flagged.
    Without such a group, every suspect is flagged.

    Returns ``(scores, flags, target)`` for the ``n_users`` observed users (``target`` is -1
    when no group was found).

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _check_pairs(X, y, n_users, n_items)
    threshold = _check_fraction(threshold, "threshold")
    _check_count(min_group, "min_group", 1)
    _check_count(n_per_kind, "n_per_kind", 1)
    gen = _rng(seed)
    counts = np.bincount(X[:, 1], minlength=n_items)
    pool = np.flatnonzero((counts >= 5) & (counts <= 20))
    if len(pool) == 0:
        pool = np.flatnonzero(counts > 0)
    max_filler = min(200, int((counts > 0).sum()) - 12)  # room for the target and bandwagon
    if max_filler < 1:
        raise ValueError("too few rated items to simulate shilling profiles")
    parts_X, parts_y, next_user = [X], [y], n_users
    for kind in SHILLING_ATTACKS:
        for _ in range(n_per_kind):
            fake_X, fake_y = shilling_profiles(
                kind, X, y, n_users, n_items, int(gen.choice(pool)), 1,
                filler_size=int(gen.integers(min(30, max_filler), max_filler + 1)),
                seed=int(gen.integers(2**31)))
            fake_X[:, 0] = next_user
            next_user += 1
            parts_X.append(fake_X)
            parts_y.append(fake_y)
    feats = profile_features(np.concatenate(parts_X), np.concatenate(parts_y), next_user,
                             n_items).to_numpy()
    label = np.r_[np.zeros(n_users), np.ones(next_user - n_users)]
    detector = make_pipeline(StandardScaler(),
                             LogisticRegression(class_weight="balanced", max_iter=2000))
    detector.fit(feats, label)
    scores = detector.predict_proba(feats[:n_users])[:, 1]
    suspects = scores >= threshold
    top_rated = (y >= 5) & suspects[X[:, 0]]
    votes = np.bincount(X[top_rated, 1], minlength=n_items)
    if votes.max(initial=0) < min_group:
        return scores, suspects, -1
    target = int(np.argmax(votes))
    loves_target = np.zeros(n_users, bool)
    loves_target[X[(X[:, 1] == target) & (y >= 5), 0]] = True
    return scores, suspects & loves_target, target


# --- fraud: fabricated records, validation, label sanitisation ------------------------------------


def fabricate_records(frame: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """Fabricated transactions: each feature sampled on its own from the rows of ``frame``.

    A careless injection: every value is plausible, the combination is not (one-hot category,
    channel, history features that contradict each other). Returns the ``fraud_sim.FEATURES``
    columns.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    from .fraud_sim import FEATURES

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in FEATURES if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks the feature columns {missing}")
    _check_count(n, "n")
    if len(frame) == 0:
        raise ValueError("frame has no rows to sample from")
    gen = _rng(seed)
    return pd.DataFrame({c: frame[c].to_numpy()[gen.integers(0, len(frame), n)]
                         for c in FEATURES})


def validation_report(frame: pd.DataFrame) -> pd.DataFrame:
    """Validation rules derived from ``fraud_sim.ATTACKER_CONSTRAINTS``, one column per rule.

    ``range``: every feature within its [min, max]; ``kind``: integer features whole, binary
    ones 0/1; ``one_category``: exactly one ``cat_*`` is 1; ``valid``: every rule of
    ``fraud_sim.check_constraints`` (also cents, channel and history consistency). True means
    the row passes.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    from .fraud_sim import ATTACKER_CONSTRAINTS, FEATURES, check_constraints

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in FEATURES if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks the feature columns {missing}")
    in_range = np.ones(len(frame), bool)
    kind_ok = np.ones(len(frame), bool)
    for col in FEATURES:
        spec = ATTACKER_CONSTRAINTS[col]
        x = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            in_range &= np.isfinite(x) & (x >= spec["min"] - 1e-6) & (x <= spec["max"] + 1e-6)
            if spec["kind"] == "integer":
                kind_ok &= np.abs(x - np.round(x)) <= 1e-6
            elif spec["kind"] in ("binary", "categorical"):
                kind_ok &= (x == 0) | (x == 1)
    cats = [c for c in FEATURES if ATTACKER_CONSTRAINTS[c]["kind"] == "categorical"]
    one_cat = (frame[cats].to_numpy(dtype=np.float64) == 1).sum(axis=1) == 1
    return pd.DataFrame({"range": in_range, "kind": kind_ok, "one_category": one_cat,
                         "valid": check_constraints(frame).to_numpy()}, index=frame.index)


def confident_label_flags(estimator, X, y, *, n_splits: int = 3, seed: int = 0):
    """Label sanitisation by cross-validated confidence (confident learning, Northcutt et al.).

    Out-of-fold probabilities come from ``n_splits``-fold stratified cross-validation of a clone
    of ``estimator``. A row labelled ``i`` is flagged when some other class ``j`` gets a
    probability at least ``t_j``, the mean probability of class ``j`` over the rows labelled
    ``j``; its suggested label is the most probable such ``j``. Returns ``(flags, suggested,
    oof_proba)``.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"y must be 1-D with one label per row of X ({len(X)}), got {y.shape}")
    _check_count(n_splits, "n_splits", 2)
    classes, y_idx = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError("y needs at least two classes")
    cv = StratifiedKFold(n_splits, shuffle=True, random_state=seed)
    proba = cross_val_predict(clone(estimator), X, y, cv=cv, method="predict_proba")
    thresholds = np.array([proba[y_idx == c, c].mean() for c in range(len(classes))])
    above = proba >= thresholds
    above[np.arange(len(y)), y_idx] = False
    flags = above.any(axis=1)
    masked = np.where(above, proba, -np.inf)
    suggested = np.where(flags, classes[masked.argmax(axis=1)], y)
    return flags, suggested, proba


# --- medical: data pooled from several sources ----------------------------------------------------


def split_sources(n: int, n_sources: int, n_trusted: int, seed: int = 0):
    """Split ``n`` training rows into a trusted set and ``n_sources`` hospitals (seeded).

    Returns ``(trusted_idx, [source_idx, ...])``.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    _check_count(n, "n", 1)
    _check_count(n_sources, "n_sources", 1)
    _check_count(n_trusted, "n_trusted", 1)
    if n_trusted + n_sources > n:
        raise ValueError(f"{n} rows cannot hold {n_trusted} trusted rows and {n_sources} sources")
    perm = _rng(seed).permutation(n)
    return np.sort(perm[:n_trusted]), [np.sort(s) for s in np.array_split(perm[n_trusted:],
                                                                           n_sources)]


def compromise_source(X, y, source_idx, *, from_label: int = 1, to_label: int = 0,
                      copies: int = 2, jitter: float = 0.03, seed: int = 0):
    """A compromised source: relabel its ``from_label`` rows and upload jittered copies of them.

    Returns ``(X_new, y_new, new_source_idx)``: the copies (features times ``1 + jitter * N(0,
    1)``, labelled ``to_label``) are appended to X and belong to the source.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (rows, features), got shape {X.shape}")
    y = _check_labels(y, len(X))
    idx = np.asarray(source_idx, dtype=np.int64)
    if idx.ndim != 1 or (len(idx) and (idx.min() < 0 or idx.max() >= len(X))):
        raise ValueError("source_idx must be a 1-D array of row indices of X")
    _check_count(copies, "copies")
    if jitter < 0:
        raise ValueError(f"jitter must be >= 0, got {jitter}")
    y_new = np.array(y, copy=True)
    targeted = idx[y[idx] == from_label]
    y_new[targeted] = to_label
    extra = np.tile(targeted, copies)
    noise = _rng(seed).standard_normal((len(extra), X.shape[1]))
    X_new = np.vstack([X, X[extra] * (1 + jitter * noise)])
    y_new = np.concatenate([y_new, np.full(len(extra), to_label, dtype=y.dtype)])
    return X_new, y_new, np.concatenate([idx, np.arange(len(X), len(X_new))])


def source_agreement(make_model: Callable, X_trusted, y_trusted, sources) -> np.ndarray:
    """Per-source validation: how often a model trained on trusted data agrees with each source.

    ``sources`` is a list of ``(X_s, y_s)``; returns the agreement (accuracy of the trusted
    model on the source's labels) per source.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    model = make_model().fit(X_trusted, y_trusted)
    out = []
    for k, src in enumerate(sources):
        if len(src) != 2:
            raise ValueError(f"source {k} must be a pair (X_s, y_s)")
        X_s, y_s = src
        out.append(float(np.mean(model.predict(X_s) == np.asarray(y_s))))
    return np.array(out)


def roni_decision(model, X_base, y_base, X_cand, y_cand, X_val, y_val,
                  tolerance: float = 0.0) -> tuple[float, bool]:
    """Reject On Negative Impact (Nelson et al. 2009) for one candidate batch of training data.

    Fits a clone of ``model`` on the base data, and another on base + candidate; the impact is
    the change in accuracy on the validation set (with minus without). The candidate is
    rejected when the impact is below ``-tolerance``. Returns ``(impact, reject)``.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    from sklearn.base import clone

    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    X_base, X_cand = np.asarray(X_base), np.asarray(X_cand)
    if X_base.ndim != 2 or X_cand.ndim != 2 or X_base.shape[1] != X_cand.shape[1]:
        raise ValueError("X_base and X_cand must be 2-D with the same number of features")
    without = clone(model).fit(X_base, y_base)
    with_cand = clone(model).fit(np.vstack([X_base, X_cand]),
                                 np.concatenate([np.asarray(y_base), np.asarray(y_cand)]))
    impact = float(np.mean(with_cand.predict(X_val) == y_val)
                   - np.mean(without.predict(X_val) == y_val))
    return impact, bool(impact < -tolerance)


# --- provenance: hashes of the training-data shards -----------------------------------------------


def shard_sha256(data) -> str:
    """SHA-256 of one shard of training data: a NumPy array or a pandas DataFrame.

    The digest covers dtype, shape and bytes (for a DataFrame: its column names and each
    column's values), so any change to a value, a row or a column changes it.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    h = hashlib.sha256()
    if isinstance(data, pd.DataFrame):
        h.update(b"frame")
        for col in data.columns:
            h.update(str(col).encode())
            values = data[col].to_numpy()
            if values.dtype == object or not np.issubdtype(values.dtype, np.number):
                values = np.array([str(v) for v in values])
            h.update(shard_sha256(values).encode())
        return h.hexdigest()
    if isinstance(data, np.ndarray):
        arr = np.ascontiguousarray(data)
        if arr.dtype == object:
            arr = np.array([str(v) for v in arr.ravel()]).reshape(arr.shape)
        h.update(f"{arr.dtype.str}{arr.shape}".encode())
        h.update(arr.tobytes())
        return h.hexdigest()
    raise TypeError(f"a shard must be a NumPy array or a pandas DataFrame, got "
                    f"{type(data).__name__}")


def build_manifest(shards: Mapping[str, object]) -> dict[str, dict]:
    """A provenance manifest: for every named shard its SHA-256 and number of rows.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    if not isinstance(shards, Mapping) or not shards:
        raise TypeError("shards must be a non-empty mapping {name: array or DataFrame}")
    return {str(name): {"sha256": shard_sha256(data), "rows": int(len(data))}
            for name, data in shards.items()}


def verify_manifest(manifest: Mapping[str, dict], shards: Mapping[str, object]) -> pd.DataFrame:
    """Compare shards with a manifest: status "ok", "modified", "missing" or "unexpected".

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    if not isinstance(manifest, Mapping) or not isinstance(shards, Mapping):
        raise TypeError("manifest and shards must be mappings keyed by shard name")
    rows = []
    for name in sorted(set(manifest) | set(shards)):
        expected = manifest.get(name, {}).get("sha256")
        actual = shard_sha256(shards[name]) if name in shards else None
        if expected is None:
            status = "unexpected"
        elif actual is None:
            status = "missing"
        else:
            status = "ok" if actual == expected else "modified"
        rows.append({"shard": name, "status": status,
                     "expected": (expected or "-")[:12], "actual": (actual or "-")[:12]})
    return pd.DataFrame(rows)

