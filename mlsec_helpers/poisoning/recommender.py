"""Lab 03, recommender domain: shilling profiles (random, average, bandwagon), the target
item's hit ratio, and a detector of fake profiles trained on rating-profile statistics.

Introduced in lab 03 (Data poisoning and backdoors).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..repro import rng
from ..validate import (
    check_choice,
    check_fitted,
    check_fraction,
    check_int,
    check_ratings,
    check_vector,
)
from .results import FakeProfiles, ShillingDetection

__all__ = [
    "SHILLING_ATTACKS",
    "average_attack_profile",
    "detect_anomalous_profiles",
    "detect_shilling",
    "mimic_profiles",
    "profile_features",
    "rating_statistics",
    "shilling_profiles",
    "target_hit_ratio",
]

#: The shilling attacks of lab 03 (Lam and Riedl 2004; Mobasher et al. 2007).
SHILLING_ATTACKS = ("random", "average", "bandwagon")


def _fake_profiles(users, items, ratings) -> FakeProfiles:
    """FakeProfiles from per-profile arrays of user ids, items and ratings (none: empty)."""
    if not users:
        return FakeProfiles(X=np.zeros((0, 2), np.int64), y=np.zeros(0, np.float32))
    X_fake = np.column_stack([np.concatenate(users), np.concatenate(items)]).astype(np.int64)
    return FakeProfiles(X=X_fake, y=np.concatenate(ratings).astype(np.float32))


def rating_statistics(X, y, n_users: int, n_items: int) -> pd.DataFrame:
    """Per item: number of ratings, mean and standard deviation (global values where undefined).

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    X, y = check_ratings(X, y, n_users, n_items)
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
    means = check_vector(item_means, "item_means")
    stds = check_vector(item_stds, "item_stds")
    filler, noise = np.asarray(filler), np.asarray(noise, dtype=np.float64)
    if stds.shape != means.shape:
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
                      average_profile: Callable = average_attack_profile) -> FakeProfiles:
    """Fake user profiles that push ``target``: ``kind`` is "random", "average" or "bandwagon".

    Every profile rates the target 5 stars and ``filler_size`` random filler items. *Random*:
    filler ratings drawn around the global mean; *average*: around each filler item's own mean
    (``average_profile``, see :func:`average_attack_profile`); *bandwagon*: the
    ``n_selected`` most-rated films at 5 stars plus random filler. The fake users get the ids
    ``n_users .. n_users + n_fake - 1``. Returns a
    :class:`~mlsec_helpers.poisoning.FakeProfiles` (pairs and ratings, like ``X, y``).

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    check_choice(kind, SHILLING_ATTACKS, "attack type")
    X, y = check_ratings(X, y, n_users, n_items)
    check_int(n_fake, "n_fake", 0)
    check_int(filler_size, "filler_size", 1)
    check_int(n_selected, "n_selected", 0)
    check_int(target, "target (an item index)", 0, n_items - 1)
    stats = rating_statistics(X, y, n_users, n_items)
    rated = np.flatnonzero(stats["count"].to_numpy() > 0)
    selected = np.array([], dtype=np.int64)
    if kind == "bandwagon":
        popular = np.argsort(-stats["count"].to_numpy(), kind="stable")
        selected = popular[popular != target][:n_selected]
    pool = np.setdiff1d(rated, np.r_[target, selected])
    if filler_size > len(pool):
        raise ValueError(f"filler_size {filler_size} exceeds the {len(pool)} available items")
    gen = rng(seed)
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
    return _fake_profiles(users, items, ratings)


def target_hit_ratio(system, target: int, users, k: int = 10) -> float:
    """HR@k of one item: the share of ``users`` (who have not rated it) with it in their top k.

    ``system`` is a fitted ``MFRecommender`` (its ``score`` and the items each user rated).

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    check_fitted(system)
    users = np.asarray(users)
    if users.ndim != 1 or not np.issubdtype(users.dtype, np.integer) or len(users) == 0:
        raise ValueError("users must be a non-empty 1-D array of user indices")
    check_int(k, "k", 1)
    check_int(target, "target (an item index)", 0, system.n_items - 1)
    scores = system.score(users)
    eligible = np.ones(len(users), bool)
    for row, u in enumerate(users):
        seen = system.seen_.get(int(u), np.array([], np.int64))
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

    X, y = check_ratings(X, y, n_users, n_items)
    check_int(k, "k", 1)
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
                    min_group: int = 5, n_per_kind: int = 20, seed: int = 0) -> ShillingDetection:
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

    Returns a :class:`~mlsec_helpers.poisoning.ShillingDetection` (scores and flags for the
    ``n_users`` observed users, and the suspected target, -1 when no group was found).

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = check_ratings(X, y, n_users, n_items)
    threshold = check_fraction(threshold, "threshold")
    check_int(min_group, "min_group", 1)
    check_int(n_per_kind, "n_per_kind", 1)
    gen = rng(seed)
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
            fake = shilling_profiles(
                kind, X, y, n_users, n_items, int(gen.choice(pool)), 1,
                filler_size=int(gen.integers(min(30, max_filler), max_filler + 1)),
                seed=int(gen.integers(2**31)))
            fake_X = fake.X.copy()
            fake_X[:, 0] = next_user
            next_user += 1
            parts_X.append(fake_X)
            parts_y.append(fake.y)
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
        return ShillingDetection(scores=scores, flags=suspects, target=-1)
    target = int(np.argmax(votes))
    loves_target = np.zeros(n_users, bool)
    loves_target[X[(X[:, 1] == target) & (y >= 5), 0]] = True
    return ShillingDetection(scores=scores, flags=suspects & loves_target, target=target)



def mimic_profiles(X, y, n_users: int, n_items: int, target: int, n_fake: int, *,
                   keep: float = 0.8, seed: int = 0) -> FakeProfiles:
    """Fake profiles built to look like real users: the attacker who knows the detector.

    Each fake copies a random real user's ratings, keeps a random ``keep`` share of them (so
    that it is no exact copy), moves each kept rating by at most half a star (within [0.5, 5]),
    and rates ``target`` 5 stars. The profile statistics are then those of a real user. The
    fake users get the ids ``n_users .. n_users + n_fake - 1``. Returns a
    :class:`~mlsec_helpers.poisoning.FakeProfiles`.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    X, y = check_ratings(X, y, n_users, n_items)
    check_int(target, "target (an item index)", 0, n_items - 1)
    check_int(n_fake, "n_fake", 0)
    keep = check_fraction(keep, "keep")
    gen = rng(seed)
    users, items, ratings = [], [], []
    for k in range(n_fake):
        source = int(gen.integers(n_users))
        rows = np.flatnonzero((X[:, 0] == source) & (X[:, 1] != target))
        if len(rows):
            rows = np.sort(gen.choice(rows, max(1, int(round(keep * len(rows)))),
                                      replace=False))
        shift = gen.choice([-0.5, 0.0, 0.5], len(rows))
        its = np.r_[X[rows, 1], target]
        rs = np.r_[np.clip(y[rows] + shift, 0.5, 5.0), 5.0]
        users.append(np.full(len(its), n_users + k))
        items.append(its)
        ratings.append(rs)
    return _fake_profiles(users, items, ratings)


def detect_anomalous_profiles(X, y, n_users: int, n_items: int, known_clean, *,
                              fpr: float = 0.02, min_group: int = 5) -> ShillingDetection:
    """Find push-attack profiles without any model of the attack: anomaly, then target focus.

    Step 1 (a generic anomaly criterion): for every user, the :func:`profile_features`; each is
    turned into a robust z-score against the ``known_clean`` users (median and scaled MAD;
    the standard deviation where the MAD is 0),
    and a user's score is the largest absolute z-score. The threshold is the ``1 - fpr``
    quantile of the known-clean users' scores, so about ``fpr`` of clean users become
    *suspects*. No attack generator is involved: the detector never sees a fake profile.

    Step 2 (target focus): the item rated 5 stars by the most suspects (at least
    ``min_group``) is the suspected target, and *every* user who rated it 5 is flagged, suspect
    or not (the push needs those ratings; a few genuine fans of the film go with them); without
    such a group, every suspect is flagged.

    Returns a :class:`~mlsec_helpers.poisoning.ShillingDetection` (the anomaly score per user,
    the flags, the suspected target or -1).

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    X, y = check_ratings(X, y, n_users, n_items)
    fpr = check_fraction(fpr, "fpr")
    check_int(min_group, "min_group", 1)
    clean = np.unique(np.asarray(known_clean, dtype=np.int64))
    if clean.ndim != 1 or len(clean) < 2 or clean.min() < 0 or clean.max() >= n_users:
        raise ValueError("known_clean must hold at least two user ids in [0, n_users)")
    feats = profile_features(X, y, n_users, n_items).to_numpy()
    median = np.median(feats[clean], axis=0)
    mad = 1.4826 * np.median(np.abs(feats[clean] - median), axis=0)
    mad = np.where(mad > 0, mad, feats[clean].std(axis=0))  # a constant statistic: its std
    mad[mad == 0] = 1e-9  # constant among the trusted users: any deviation is anomalous
    scores = np.max(np.abs(feats - median) / mad, axis=1)
    suspects = scores > np.quantile(scores[clean], 1 - fpr)
    top_rated = (y >= 5) & suspects[X[:, 0]]
    votes = np.bincount(X[top_rated, 1], minlength=n_items)
    if votes.max(initial=0) < min_group:
        return ShillingDetection(scores=scores, flags=suspects, target=-1)
    target = int(np.argmax(votes))
    loves_target = np.zeros(n_users, bool)
    loves_target[X[(X[:, 1] == target) & (y >= 5), 0]] = True
    return ShillingDetection(scores=scores, flags=loves_target, target=target)
