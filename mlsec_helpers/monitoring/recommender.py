"""Recommender: a week of new profiles, a film release (drift) and shilling (attack).

The film recommender (lab 00's biased matrix factorisation) is trained on the MovieLens ratings
of part of the users (:func:`reference_recommender`); the others are held out, and during the
week new accounts arrive whose ratings are drawn from them (:func:`honest_profiles`). Two things
happen in the week:

* ordinary drift (:func:`release_wave`): a popular film the reference never saw is released, and
  a wave of newcomers rates it, with a few other films;
* an attack: lab 03's shilling profiles pushing an obscure target film (:func:`fake_profiles`,
  ``"average"``), injected as a burst; and the adaptive version, lab 03's mimic profiles (copies
  of real users' ratings plus the target at 5 stars), a few a day.

Every new profile is scored when it arrives (:func:`profile_table`): lab 03's profile statistics
computed against the reference users (:func:`profile_features_against`), its anomaly score and
whether it is a suspect (lab 03's detector, step 1), and the *five-star surge* of the films it
rates 5 stars (how surprising their number of 5-star ratings over the last 24 hours is, given
their share of 5-star ratings in the reference). The monitors (:func:`rec_monitors`) watch the
inputs (new films, the popularity mix, profile sizes) and two attack signals (the share of
suspects, the surge). The damage is measured as lab 03 does, by the target's hit ratio at 10
among the reference users, after the week's ratings of the target are folded into the model
(:func:`fold_in_hit_ratio`).

Introduced in lab 13 (Monitoring and response).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..validate import (
    ArgumentTypeError,
    check_choice,
    check_fraction,
    check_frame,
    check_int,
    check_number,
    check_seed,
)
from .common import (
    HOURS,
    Incident,
    Monitor,
    Week,
    Window,
    hourly_counts,
    psi_shares,
    window_meta,
)
from .nlp import DAILY_PROFILE

__all__ = [
    "FAKE_KINDS",
    "PROFILE_COLUMNS",
    "ReferenceRecommender",
    "anomaly_scores",
    "assemble_profile_week",
    "fake_profiles",
    "fold_in_hit_ratio",
    "honest_profiles",
    "place_profiles",
    "profile_features_against",
    "profile_table",
    "rec_monitors",
    "reference_recommender",
    "release_wave",
    "respond_to_surge",
]

FAKE_KINDS = ("average", "mimic")
"""The fake profiles of :func:`fake_profiles`: lab 03's average-attack shilling profiles and
its mimic profiles (copies of real users' ratings with the target at 5 stars).

Introduced in lab 13 (Monitoring and response)."""

PROFILE_COLUMNS: tuple[str, ...] = ("profile", "hour", "source", "is_attack", "n_ratings",
                                    "anomaly", "suspect", "surge", "surge_film", "new_films",
                                    "five_target")
"""The per-profile columns of :func:`profile_table` (followed by the popularity-bin counts
``pop_0``, ``pop_1``, ...).

Introduced in lab 13 (Monitoring and response)."""

_LAB03_FEATURES = ("n_ratings", "std", "rdma", "mean_dev", "degsim", "max_share")


@dataclass(frozen=True)
class ReferenceRecommender:
    """The recommender the week runs on, and what its monitors compare with.

    ``X``/``y``: the reference ratings (the training ratings of the reference users, renumbered
    ``0 .. n_users - 1``, without the release); ``model``: the matrix factorisation trained on
    them; ``held_out``: the held-out users' original ids (the week's new accounts are drawn
    from them); ``release``: the film released during the week (absent from the reference);
    ``target``: the obscure film the attacker pushes; ``in_catalogue``: films with at least one
    reference rating; ``five_share``: each film's share of the reference's 5-star ratings
    (smoothed with half a rating per film; :func:`profile_table` adds the new accounts of the
    days before the week); ``pop_edges``/``pop_reference``: the popularity
    bins (quantiles of the rated film's reference rating count over the reference ratings;
    one more bin for films outside the catalogue) and the reference's count in each;
    ``ref_log_sizes``: log number of ratings of each reference user; ``median``/``scale``: the
    robust centre and scale of lab 03's profile statistics over the reference users;
    ``suspect_threshold``: the anomaly score above which a profile is a suspect (the reference
    users' ``1 - fpr`` quantile, lab 03's step 1); ``titles``: film titles.

    Introduced in lab 13 (Monitoring and response).
    """

    X: np.ndarray
    y: np.ndarray
    n_users: int
    n_items: int
    model: object
    held_out: np.ndarray
    release: int
    target: int
    in_catalogue: np.ndarray
    five_share: np.ndarray
    pop_edges: np.ndarray
    pop_reference: np.ndarray
    ref_log_sizes: np.ndarray
    median: np.ndarray
    scale: np.ndarray
    suspect_threshold: float
    titles: tuple

    @property
    def n_pop_bins(self) -> int:
        """Number of popularity bins (the quantile bins and one for films outside the
        catalogue).

        Introduced in lab 13 (Monitoring and response).
        """
        return len(self.pop_edges) + 2


def _check_data(data) -> None:
    extra = getattr(data, "extra", None)
    if not isinstance(extra, dict) or not {"n_users", "n_items"} <= set(extra) or getattr(
            data, "frame_train", None) is None:
        raise ArgumentTypeError("data must be the recommender's Dataset "
                                "(load_dataset('recommender'))")


def _release_film(data, min_ratings: int = 40) -> int:
    frame = pd.concat([data.frame_train, data.frame_test], ignore_index=True)
    films = frame.groupby("item").agg(n=("rating", "size"), first=("timestamp", "min"))
    films = films[films["n"] >= min_ratings]
    return int(films.sort_values(["first", "n"], ascending=False).index[0])


def reference_recommender(data, *, seed: int = 0, held_out: float = 0.4, dim: int = 16,
                          epochs: int = 10, fpr: float = 0.05) -> ReferenceRecommender:
    """Split the users, train the reference recommender and prepare the monitors' reference.

    A share ``held_out`` of the users (drawn with ``seed``) is held out: the week's new accounts
    are drawn from them. The release is the most recently released popular film (the film,
    among those with 40 ratings or more, whose first rating is the latest); its ratings are
    removed, so the recommender has never seen it. The reference users' training ratings train
    a ``systems.MFRecommender`` (``dim`` factors, ``epochs`` epochs, as lab 03 does to fit the
    budget). The target follows lab 03's rule (3 to 5 reference ratings, a mean within half a
    star of the global mean, in no reference user's top 10), drawn with ``seed``.

    Introduced in lab 13 (Monitoring and response).
    """
    from ..poisoning.recommender import profile_features, rating_statistics, target_hit_ratio
    from ..systems import MFRecommender

    _check_data(data)
    seed = check_seed(seed)
    held_out = check_number(held_out, "held_out", low=0.0, high=1.0, low_open=True,
                            high_open=True)
    fpr = check_fraction(fpr, "fpr", allow_zero=False)
    gen = np.random.default_rng([seed, 13, 3])
    n_all, n_items = int(data.extra["n_users"]), int(data.extra["n_items"])
    users = gen.permutation(n_all)
    n_held = int(round(held_out * n_all))
    held, kept = np.sort(users[:n_held]), np.sort(users[n_held:])
    release = _release_film(data)
    X_all, y_all = np.asarray(data.X_train), np.asarray(data.y_train, dtype=np.float64)
    rows = np.isin(X_all[:, 0], kept) & (X_all[:, 1] != release)
    new_id = np.full(n_all, -1)
    new_id[kept] = np.arange(len(kept))
    X = np.column_stack([new_id[X_all[rows, 0]], X_all[rows, 1]]).astype(np.int64)
    y = y_all[rows]
    n_users = len(kept)
    model = MFRecommender(n_users, n_items, dim=dim, epochs=epochs, seed=seed).fit(X, y)

    stats = rating_statistics(X, y, n_users, n_items)
    counts, means = stats["count"].to_numpy(), stats["mean"].to_numpy()
    pool = np.flatnonzero((counts >= 3) & (counts <= 5) & (np.abs(means - y.mean()) <= 0.5))
    everyone = np.arange(n_users)
    target = -1
    for item in gen.permutation(pool):
        if target_hit_ratio(model, int(item), everyone) < 0.01:
            target = int(item)
            break
    if target < 0:  # pragma: no cover - MovieLens has hundreds of such films
        raise RuntimeError("no film meets the target rule")

    five = np.bincount(X[y >= 5, 1], minlength=n_items).astype(np.float64) + 0.5
    rated_count = counts[X[:, 1]].astype(np.float64)
    edges = np.unique(np.quantile(np.log(rated_count), np.linspace(0, 1, 11)[1:-1]))
    pop_reference = _pop_counts(X[:, 1], counts, edges)
    feats = profile_features(X, y, n_users, n_items).to_numpy()
    median = np.median(feats, axis=0)
    scale = 1.4826 * np.median(np.abs(feats - median), axis=0)
    scale = np.where(scale > 0, scale, feats.std(axis=0))
    scale[scale == 0] = 1e-9
    ref_scores = np.max(np.abs(feats - median) / scale, axis=1)
    titles = tuple(data.extra.get("titles", [str(i) for i in range(n_items)]))
    return ReferenceRecommender(
        X=X, y=y, n_users=n_users, n_items=n_items, model=model, held_out=held,
        release=release, target=target, in_catalogue=counts > 0, five_share=five / five.sum(),
        pop_edges=edges, pop_reference=pop_reference,
        ref_log_sizes=np.log(np.bincount(X[:, 0], minlength=n_users)),
        median=median, scale=scale,
        suspect_threshold=float(np.quantile(ref_scores, 1 - fpr)), titles=titles)


def _pop_counts(items: np.ndarray, counts: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Ratings per popularity bin: quantile bins of log(reference count), then new films."""
    c = counts[items]
    bins = np.where(c > 0, np.searchsorted(edges, np.log(np.maximum(c, 1)), side="left"),
                    len(edges) + 1)
    return np.bincount(bins, minlength=len(edges) + 2)


def _check_ref(ref: object) -> ReferenceRecommender:
    if not isinstance(ref, ReferenceRecommender):
        raise ArgumentTypeError(f"ref must be a ReferenceRecommender (reference_recommender), "
                                f"got {type(ref).__name__}")
    return ref


def _check_ratings(ratings: object, ref: ReferenceRecommender,
                   columns=("profile", "item", "rating")) -> pd.DataFrame:
    check_frame(ratings, list(columns), "ratings")
    if len(ratings):
        items = ratings["item"].to_numpy()
        if items.min() < 0 or items.max() >= ref.n_items:
            raise ValueError(f"items must lie in 0..{ref.n_items - 1}")
        r = ratings["rating"].to_numpy(dtype=np.float64)
        if not np.isfinite(r).all() or r.min() < 0.5 or r.max() > 5:
            raise ValueError("ratings must lie in [0.5, 5]")
    return ratings


def _long(profile_ids, items_list, ratings_list, source: str, attack: bool) -> pd.DataFrame:
    sizes = [len(i) for i in items_list]
    return pd.DataFrame({
        "profile": np.repeat(np.asarray(profile_ids, dtype=np.int64), sizes),
        "item": np.concatenate(items_list).astype(np.int64) if sizes else np.zeros(0, np.int64),
        "rating": np.concatenate(ratings_list).astype(np.float64) if sizes else np.zeros(0),
        "source": source, "is_attack": attack,
    })


def _counts_per_hour(per_hour: float, gen: np.random.Generator, hours: Sequence[int]):
    profile = np.sqrt(np.asarray(DAILY_PROFILE))  # sign-ups follow the day less than chats do
    profile = profile / profile.mean()
    return gen.poisson(per_hour * profile[np.asarray(hours) % 24])


def honest_profiles(ref: ReferenceRecommender, data, *, seed: int = 0, per_hour: float = 8.0,
                    keep: float = 0.7, min_ratings: int = 10,
                    warm_up: int = 48) -> pd.DataFrame:
    """A week of new accounts: each hour a Poisson number of profiles (mean ``per_hour``,
    following a flattened :data:`~.nlp.DAILY_PROFILE`), each a held-out user's training
    ratings, of which a random share ``keep`` (at least ``min_ratings``) is kept, so that two
    accounts drawn from one user differ. The held-out users are drawn in a shuffled order,
    reshuffled once all are used, so one user does not come back within a day. The traffic
    starts ``warm_up`` hours before the week (hours ``-warm_up .. -1``): the accounts of the
    days before the week, which the monitors that look back (the surge, the pooling of quiet
    hours) use as production monitors would. Returns one row per rating: ``profile`` (0,
    1, ... in arrival order), ``hour``, ``item``, ``rating``, ``source`` (``"user"``),
    ``is_attack``.

    Introduced in lab 13 (Monitoring and response).
    """
    ref = _check_ref(ref)
    _check_data(data)
    seed = check_seed(seed)
    per_hour = check_number(per_hour, "per_hour", low=0.0, low_open=True)
    keep = check_fraction(keep, "keep", allow_zero=False)
    min_ratings = check_int(min_ratings, "min_ratings")
    warm_up = check_int(warm_up, "warm_up", minimum=0)
    gen = np.random.default_rng([seed, 13, 4])
    hours = np.arange(-warm_up, HOURS)
    counts = _counts_per_hour(per_hour, gen, hours % 24)
    X_all, y_all = np.asarray(data.X_train), np.asarray(data.y_train, dtype=np.float64)
    rows = np.isin(X_all[:, 0], ref.held_out) & (X_all[:, 1] != ref.release)
    by_user = pd.Series(np.flatnonzero(rows)).groupby(X_all[rows, 0]).apply(np.asarray)
    items, ratings = [], []
    total = int(counts.sum())
    order = np.concatenate([gen.permutation(len(by_user))
                            for _ in range(total // len(by_user) + 1)])[:total]
    for who in order:
        mine = by_user.iloc[int(who)]
        n = min(len(mine), max(min_ratings, int(round(keep * len(mine)))))
        pick = np.sort(gen.choice(mine, n, replace=False))
        items.append(X_all[pick, 1])
        ratings.append(y_all[pick])
    out = _long(np.arange(len(items)), items, ratings, "user", False)
    out.insert(1, "hour", np.repeat(np.repeat(hours, counts), [len(i) for i in items]))
    return out


def release_wave(ref: ReferenceRecommender, data, hours: Sequence[int] | range, *,
                 seed: int = 0, per_hour: float = 6.0, extra: tuple[int, int] = (5, 15),
                 popular: int = 100) -> pd.DataFrame:
    """Newcomers who sign up to rate the release: in each of ``hours`` a Poisson number of them
    (mean ``per_hour``), each rating the release (a rating drawn from its real MovieLens
    ratings) and ``extra[0]`` to ``extra[1]`` of the reference's ``popular`` most-rated films
    (each rating drawn from that film's reference ratings): short profiles of blockbusters.
    Rows as :func:`honest_profiles` (``source`` ``"release"``), profile ids from 0 (add the
    number of profiles already in the week).

    Introduced in lab 13 (Monitoring and response).
    """
    ref = _check_ref(ref)
    _check_data(data)
    seed = check_seed(seed)
    per_hour = check_number(per_hour, "per_hour", low=0.0, low_open=True)
    low, high = (check_int(v, "extra", minimum=1) for v in extra)
    if high < low:
        raise ValueError(f"extra must be (low, high) with low <= high, got {extra}")
    popular = check_int(popular, "popular", minimum=high)
    gen = np.random.default_rng([seed, 13, 5])
    hours = [check_int(h, "hour", minimum=0, maximum=HOURS - 1) for h in hours]
    counts = _counts_per_hour(per_hour, gen, hours)
    frame = pd.concat([data.frame_train, data.frame_test], ignore_index=True)
    release_ratings = frame.loc[frame["item"] == ref.release, "rating"].to_numpy(float)
    top = np.argsort(-np.bincount(ref.X[:, 1], minlength=ref.n_items), kind="stable")[:popular]
    by_film = {int(f): ref.y[ref.X[:, 1] == f] for f in top}
    items, ratings = [], []
    for _ in range(int(counts.sum())):
        films = gen.choice(top, int(gen.integers(low, high + 1)), replace=False)
        items.append(np.r_[ref.release, films])
        ratings.append(np.r_[gen.choice(release_ratings),
                             [gen.choice(by_film[int(f)]) for f in films]])
    out = _long(np.arange(len(items)), items, ratings, "release", False)
    out.insert(1, "hour", np.repeat(np.repeat(np.asarray(hours, dtype=np.int64), counts),
                                    [len(i) for i in items]))
    return out


def fake_profiles(ref: ReferenceRecommender, kind: str, n: int, *, seed: int = 0,
                  filler_size: int = 40) -> pd.DataFrame:
    """``n`` fake profiles pushing ``ref.target``, built by lab 03's generators on the reference
    ratings: ``"average"`` (``shilling_profiles``: the target at 5 stars and ``filler_size``
    random films near their own mean) or ``"mimic"`` (``mimic_profiles``: a random reference
    user's ratings, 80 % of them, each moved by at most half a star, and the target at 5).
    Rows as :func:`honest_profiles` without ``hour`` (give them hours with
    :func:`place_profiles`); ``source`` is ``kind``, ``is_attack`` True.

    Introduced in lab 13 (Monitoring and response).
    """
    from ..poisoning.recommender import mimic_profiles, shilling_profiles

    ref = _check_ref(ref)
    check_choice(kind, FAKE_KINDS, "fake profile kind")
    n = check_int(n, "n", minimum=0)
    seed = check_seed(seed)
    filler_size = check_int(filler_size, "filler_size")
    if kind == "average":
        fake = shilling_profiles("average", ref.X, ref.y, ref.n_users, ref.n_items, ref.target,
                                 n, filler_size=filler_size, seed=seed)
    else:
        fake = mimic_profiles(ref.X, ref.y, ref.n_users, ref.n_items, ref.target, n, seed=seed)
    return pd.DataFrame({"profile": fake.X[:, 0] - ref.n_users, "item": fake.X[:, 1],
                         "rating": np.asarray(fake.y, dtype=np.float64), "source": kind,
                         "is_attack": True})


def place_profiles(profiles: pd.DataFrame, hours: Sequence[int] | range,
                   per_hour: int | Sequence[int], *, start_id: int = 0) -> pd.DataFrame:
    """Give whole profiles (rows of :func:`fake_profiles` or :func:`release_wave`) arrival
    hours: ``per_hour`` profiles (one number, or one per hour) in each of ``hours``, in the
    order of their ids; the profiles left over are dropped. Profiles are renumbered from
    ``start_id`` (pass the number of profiles already in the week). Returns the placed rows
    with an ``hour`` column.

    Introduced in lab 13 (Monitoring and response).
    """
    check_frame(profiles, ["profile", "item", "rating"], "profiles")
    hours, counts = hourly_counts(hours, per_hour)
    start_id = check_int(start_id, "start_id", minimum=0)
    ids = np.unique(profiles["profile"].to_numpy())
    need = int(sum(counts))
    if need > len(ids):
        raise ValueError(f"placing {need} profiles needs that many, profiles has {len(ids)}")
    hour_of = dict(zip(ids[:need].tolist(), np.repeat(hours, counts).tolist(), strict=True))
    new_id = {old: start_id + k for k, old in enumerate(ids[:need].tolist())}
    out = profiles[profiles["profile"].isin(list(hour_of))].copy()
    out.insert(1, "hour", out["profile"].map(hour_of).astype(np.int64))
    out["profile"] = out["profile"].map(new_id).astype(np.int64)
    return out.reset_index(drop=True)


def profile_features_against(ref: ReferenceRecommender, ratings: pd.DataFrame) -> pd.DataFrame:
    """Lab 03's six profile statistics (``poisoning.profile_features``: log number of ratings,
    standard deviation, RDMA, mean deviation, degree of similarity to the 10 most similar
    users, share of 5-star ratings) of each new profile, computed as if that profile alone had
    joined the reference users: the same numbers ``profile_features`` gives for its row on the
    reference ratings plus its own. So a profile's statistics depend on the reference and on
    itself only, never on profiles that arrive later. One row per profile (sorted ids).

    Introduced in lab 13 (Monitoring and response).
    """
    import scipy.sparse as sp

    ref = _check_ref(ref)
    ratings = _check_ratings(ratings, ref)
    if not len(ratings):
        raise ValueError("ratings is empty")
    ids, p = np.unique(ratings["profile"].to_numpy(), return_inverse=True)
    i = ratings["item"].to_numpy(dtype=np.int64)
    r = ratings["rating"].to_numpy(dtype=np.float64)
    n_p = np.bincount(p, minlength=len(ids)).astype(np.float64)
    count = np.bincount(ref.X[:, 1], minlength=ref.n_items).astype(np.float64)
    total = np.bincount(ref.X[:, 1], weights=ref.y, minlength=ref.n_items)
    # each rating's film statistics with the profile's own rating included, as in lab 03
    own_count = count[i] + 1
    own_mean = (total[i] + r) / own_count
    dev = np.abs(r - own_mean)
    mean_p = np.bincount(p, r, minlength=len(ids)) / n_p
    std = np.sqrt(np.bincount(p, (r - mean_p[p]) ** 2, minlength=len(ids)) / n_p)
    # degree of similarity: Pearson (user-mean centred) similarity to the reference users
    u = ref.X[:, 0]
    n_u = np.bincount(u, minlength=ref.n_users).astype(np.float64)
    mean_u = np.bincount(u, ref.y, minlength=ref.n_users) / np.maximum(n_u, 1)
    ref_c = sp.csr_matrix((ref.y - mean_u[u], (u, ref.X[:, 1])),
                          shape=(ref.n_users, ref.n_items))
    new_c = sp.csr_matrix((r - mean_p[p], (p, i)), shape=(len(ids), ref.n_items))
    ref_norm = np.sqrt(np.asarray(ref_c.multiply(ref_c).sum(axis=1)).ravel())
    new_norm = np.sqrt(np.asarray(new_c.multiply(new_c).sum(axis=1)).ravel())
    ref_norm[ref_norm == 0] = 1.0
    new_norm[new_norm == 0] = 1.0
    sim = (new_c @ ref_c.T).toarray() / np.outer(new_norm, ref_norm)
    k = min(10, ref.n_users)
    degsim = np.sort(sim, axis=1)[:, -k:].mean(axis=1)
    return pd.DataFrame({
        "profile": ids,
        "n_ratings": np.log(n_p),
        "std": std,
        "rdma": np.bincount(p, dev / own_count, minlength=len(ids)) / n_p,
        "mean_dev": np.bincount(p, dev, minlength=len(ids)) / n_p,
        "degsim": degsim,
        "max_share": np.bincount(p, (r >= 5).astype(np.float64), minlength=len(ids)) / n_p,
    })


def anomaly_scores(ref: ReferenceRecommender, ratings: pd.DataFrame) -> pd.Series:
    """Lab 03's anomaly score of each profile in ``ratings`` (the step 1 of
    ``poisoning.detect_anomalous_profiles``): the largest robust z-score of its
    :func:`profile_features_against` against the reference users' statistics (median and
    scaled MAD). A Series indexed by profile id; above ``ref.suspect_threshold`` is a suspect.

    Introduced in lab 13 (Monitoring and response).
    """
    feats = profile_features_against(ref, ratings)
    values = feats[list(_LAB03_FEATURES)].to_numpy()
    return pd.Series(np.max(np.abs(values - ref.median) / ref.scale, axis=1),
                     index=feats["profile"].to_numpy(), name="anomaly")


def profile_table(ref: ReferenceRecommender, ratings: pd.DataFrame, *,
                  memory_hours: int = 24, obscure: int = 10,
                  known: pd.DataFrame | None = None) -> pd.DataFrame:
    """Score every new profile when it arrives: one row per profile with :data:`PROFILE_COLUMNS`
    and the popularity-bin counts of its ratings (``pop_0`` ...).

    ``anomaly``: lab 03's anomaly score (the largest robust z-score of
    :func:`profile_features_against` against the reference users); ``suspect``: above
    ``ref.suspect_threshold``; ``surge``: over the catalogue films the profile rates 5 stars,
    the largest ``-log10 P(N >= k)``, where ``k`` is the film's number of 5-star ratings from
    new profiles over the last ``memory_hours`` hours (up to and including the profile's hour)
    and ``N`` is Poisson with the number expected from the film's share of 5-star ratings
    among the reference ratings and those of the new profiles that arrived before the week
    (negative hours: the new accounts' tastes differ from the reference users', and this
    learns them before the week, not from it) (0 when it rates no catalogue film 5), and
    ``surge_film`` that film (-1
    when none); ``new_films``: the films outside the catalogue it rated (an array);
    ``five_target``: it rates the target 5 stars (ground truth for the
    lab, never read by the monitors).

    Introduced in lab 13 (Monitoring and response).
    """
    from scipy.stats import poisson

    ref = _check_ref(ref)
    ratings = _check_ratings(ratings, ref, ("profile", "hour", "item", "rating", "source",
                                            "is_attack"))
    memory_hours = check_int(memory_hours, "memory_hours")
    obscure = check_int(obscure, "obscure")
    if not len(ratings):
        raise ValueError("ratings is empty")
    first = ratings.groupby("profile", sort=True).agg(
        hour=("hour", "min"), source=("source", "first"), is_attack=("is_attack", "first"))
    if (ratings.groupby("profile")["hour"].nunique() > 1).any():
        raise ValueError("every rating of a profile must carry the profile's arrival hour")
    ids = np.unique(ratings["profile"].to_numpy())
    anomaly = np.zeros(len(ids))
    todo = np.ones(len(ids), dtype=bool)
    if known is not None:
        check_frame(known, ["profile", "anomaly"], "known")
        known_anomaly = known.set_index("profile")["anomaly"]
        reuse = np.isin(ids, known_anomaly.index.to_numpy())
        anomaly[reuse] = known_anomaly.loc[ids[reuse]].to_numpy()
        todo = ~reuse
    if todo.any():
        anomaly[todo] = anomaly_scores(ref, ratings[ratings["profile"].isin(ids[todo])])
    row = np.searchsorted(ids, ratings["profile"].to_numpy())
    items = ratings["item"].to_numpy(dtype=np.int64)
    r = ratings["rating"].to_numpy(dtype=np.float64)
    hours = first["hour"].to_numpy()
    # 5-star ratings of catalogue films: per hour and film, then summed over the last
    # memory_hours hours (a cumulative sum over hours)
    ref_count = np.bincount(ref.X[:, 1], minlength=ref.n_items)
    five = (r >= 5) & ref.in_catalogue[items] & (ref_count[items] <= obscure)
    p5, f5 = row[five], items[five]
    offset = max(0, -int(hours.min()))  # warm-up hours before the week
    h5 = hours[p5] + offset
    per_hour = np.zeros((int(hours.max()) + offset + 2, ref.n_items))
    np.add.at(per_hour, (h5 + 1, f5), 1.0)
    cum = np.cumsum(per_hour, axis=0)
    lo = np.maximum(h5 + 1 - memory_hours, 0)
    counts = cum[h5 + 1, f5] - cum[lo, f5]
    totals = cum.sum(axis=1)
    before = hours[p5] < 0
    expected = np.bincount(ref.X[ref.y >= 5, 1], minlength=ref.n_items) + np.bincount(
        f5[before], minlength=ref.n_items) + 0.5
    share = expected / expected.sum()
    lam = (totals[h5 + 1] - totals[lo]) * share[f5]
    surprise = -poisson.logsf(counts - 1, lam) / math.log(10)
    surge = np.zeros(len(ids))
    surge_film = np.full(len(ids), -1, dtype=np.int64)
    if len(p5):
        order = np.lexsort((-surprise, p5))  # by profile, largest surprise first
        top = order[np.r_[True, p5[order][1:] != p5[order][:-1]]]
        surge[p5[top]] = surprise[top]
        surge_film[p5[top]] = f5[top]
    counts_ref = np.bincount(ref.X[:, 1], minlength=ref.n_items)
    pop = np.zeros((len(ids), ref.n_pop_bins), dtype=np.int64)
    bins = np.where(counts_ref[items] > 0,
                    np.searchsorted(ref.pop_edges, np.log(np.maximum(counts_ref[items], 1)),
                                    side="left"), ref.n_pop_bins - 1)
    np.add.at(pop, (row, bins), 1)
    out = pd.DataFrame({
        "profile": ids, "hour": hours, "source": first["source"].to_numpy(),
        "is_attack": first["is_attack"].to_numpy(dtype=bool),
        "n_ratings": np.bincount(row, minlength=len(ids)),
        "anomaly": anomaly, "suspect": anomaly > ref.suspect_threshold, "surge": surge,
        "surge_film": surge_film,
        "new_films": _new_films(row, items, ~ref.in_catalogue[items], len(ids)),
        "five_target": np.bincount(row, ((items == ref.target) & (r >= 5)).astype(float),
                                   minlength=len(ids)) > 0,
    })
    for j in range(ref.n_pop_bins):
        out[f"pop_{j}"] = pop[:, j]
    return out


def _new_films(row: np.ndarray, items: np.ndarray, outside: np.ndarray, n: int) -> np.ndarray:
    """One array per profile: the films outside the catalogue it rated."""
    out = np.empty(n, dtype=object)
    for p in range(n):
        out[p] = np.zeros(0, dtype=np.int64)
    if outside.any():
        frame = pd.Series(items[outside]).groupby(row[outside]).apply(np.asarray)
        for p, films in frame.items():
            out[int(p)] = films.astype(np.int64)
    return out


def assemble_profile_week(table: pd.DataFrame, incidents: Sequence[Incident] = (), *,
                  min_profiles: int = 8, domain: str = "recommender") -> Week:
    """A :class:`~.common.Week` from the scored profiles of :func:`profile_table`. The window
    of hour ``h`` holds the profiles that arrived in it, together with those of the hours just
    before it when it has fewer than ``min_profiles`` (profiles of the warm-up hours before the
    week, negative hours, serve only for this). ``X`` holds the profile ids; ``meta``
    one array per column of the table (``"pop"``: the popularity-bin counts, one row per
    profile), ``"current"`` (arrived in hour ``h``), ``"source"`` and ``"is_attack"`` (never
    read by the monitors): one entry per profile, so ``common.resample_windows`` can draw
    calibration windows from the benign hours.

    Introduced in lab 13 (Monitoring and response).
    """
    check_frame(table, list(PROFILE_COLUMNS), "table")
    min_profiles = check_int(min_profiles, "min_profiles")
    hours = table["hour"].to_numpy()
    if len(hours) and hours.max() >= HOURS:
        raise ValueError(f"profile hours must be at most {HOURS - 1}")
    order = np.argsort(hours, kind="stable")
    frame = table.iloc[order].reset_index(drop=True)
    pop_cols = [c for c in frame.columns if str(c).startswith("pop_")]
    arrays = {c: frame[c].to_numpy() for c in ("n_ratings", "anomaly", "suspect", "surge",
                                                "new_films", "is_attack", "source")}
    arrays["pop"] = frame[pop_cols].to_numpy()
    ids = frame["profile"].to_numpy()
    hour_of = frame["hour"].to_numpy()
    earliest = min(0, int(hour_of.min())) if len(hour_of) else 0
    starts = np.searchsorted(hour_of, np.arange(earliest, HOURS + 1))
    windows = []
    for h in range(HOURS):
        first = h
        while first > earliest and starts[h + 1 - earliest] - starts[first - earliest] < (
                min_profiles):
            first -= 1
        rows = slice(starts[first - earliest], starts[h + 1 - earliest])
        meta = {k: v[rows] for k, v in arrays.items()}
        meta["current"] = hour_of[rows] == h
        windows.append(Window(hour=h, X=ids[rows], meta=meta))
    return Week(domain, tuple(windows), tuple(incidents))


def rec_monitors(ref: ReferenceRecommender, *, fpr: float = 0.05) -> list[Monitor]:
    """The recommender week's five monitors, on each window's new profiles. The statistics are
    counts or tail probabilities rather than shares, so that a window of 8 profiles and one of
    20 are judged alike:

    * ``new_film`` (input): how many of them rated one same film outside the catalogue (the
      most rated such film; a release, where obscure films get one or two);
    * ``popularity_psi`` (input): ``common.psi_shares`` of their ratings over the popularity
      bins (half a count added to each) against the reference ratings (item-popularity drift);
    * ``size_ks`` (input): ``-log10`` of the two-sample Kolmogorov-Smirnov p-value
      (``scipy.stats.ks_2samp``, what ``common.ks_per_feature`` runs per feature) of their log
      number of ratings against the reference users';
    * ``suspects`` (attack): ``-log10 P(X >= k)`` for the ``k`` suspects among them (lab 03's
      anomaly step), ``X`` binomial with the suspect rate ``fpr`` the step is set at;
    * ``surge`` (attack): the largest five-star surge among the profiles of the hour itself
      (:func:`profile_table`; the surge already looks back 24 hours, and a profile pooled into
      the next quiet hours should not alarm them again); ``NaN`` in an hour without a profile.

    Introduced in lab 13 (Monitoring and response).
    """
    from scipy.stats import binom, ks_2samp

    ref = _check_ref(ref)
    fpr = check_fraction(fpr, "fpr", allow_zero=False)

    def rows(w: Window) -> dict | None:
        return window_meta(w, ("n_ratings", "anomaly", "suspect", "surge", "new_films", "pop"),
                           "n_ratings", builder="assemble_profile_week")

    def new_film(w):
        f = rows(w)
        if f is None:
            return None
        films = [np.unique(a) for a in f["new_films"] if len(a)]
        if not films:
            return 0.0
        return float(np.unique(np.concatenate(films), return_counts=True)[1].max())

    def popularity(w):
        f = rows(w)
        # half a count per bin (Jeffreys), so that an empty bin in a small window does not
        # dominate the index
        return None if f is None else psi_shares(ref.pop_reference + 0.5,
                                                 f["pop"].sum(axis=0) + 0.5)

    def sizes(w):
        f = rows(w)
        if f is None:
            return None
        sizes_now = np.log(f["n_ratings"].astype(np.float64))
        p = ks_2samp(ref.ref_log_sizes, sizes_now, method="asymp").pvalue
        return float(-np.log10(max(p, 1e-300)))

    def suspects(w):
        f = rows(w)
        if f is None:
            return None
        k, n = int(np.sum(f["suspect"])), len(f["suspect"])
        return float(-binom.logsf(k - 1, n, fpr) / math.log(10))

    def surge(w):
        f = rows(w)
        if f is None or "current" not in f or not np.any(f["current"]):
            return None
        return float(np.max(f["surge"][f["current"]]))

    return [
        Monitor("new_film", new_film, "input", "new profiles rating one same film outside the "
                "catalogue"),
        Monitor("popularity_psi", popularity, "input", "PSI of the ratings' popularity bins"),
        Monitor("size_ks", sizes, "input", "-log10 KS p-value of the profiles' log number of "
                "ratings"),
        Monitor("suspects", suspects, "attack", "-log10 binomial p of the number of suspects "
                "(lab 03's anomaly step)"),
        Monitor("surge", surge, "attack", "largest -log10 p of a film's 5-star count over "
                "24 h"),
    ]


def _fold_in(Q: np.ndarray, b_item: np.ndarray, mu: float, items: np.ndarray,
             residual_base: np.ndarray, decay: float, bias_decay: float):
    """Ridge fit of one user's (or item's) bias and factors against fixed factors: the
    minimiser of sum(err^2) + n * (decay * |x|^2 + bias_decay * b^2), the per-rating penalty
    ``systems.MFRecommender`` trains with."""
    n = len(items)
    A = np.column_stack([np.ones(n), Q[items]])
    target = residual_base - mu - b_item[items]
    penalty = n * np.r_[bias_decay, np.full(Q.shape[1], decay)]
    sol = np.linalg.solve(A.T @ A + np.diag(penalty), A.T @ target)
    return sol[0], sol[1:]


def fold_in_hit_ratio(ref: ReferenceRecommender, ratings: pd.DataFrame, *, k: int = 10,
                      users: np.ndarray | None = None) -> float:
    """The target's hit ratio at ``k`` among the reference users (lab 03's
    ``target_hit_ratio``) after the week's ratings are folded into the recommender.

    Folding in, rather than retraining, keeps every other film where it was: each new profile
    that rated the target gets its bias and factors by ridge regression on its other ratings
    (the item factors fixed), then the target's bias and factors are refitted on all its
    ratings, the reference users' and the new profiles', with the penalty the model was
    trained with. So the number isolates what the week's ratings did to the target.

    Introduced in lab 13 (Monitoring and response).
    """
    import torch

    from ..poisoning.recommender import target_hit_ratio

    ref = _check_ref(ref)
    ratings = _check_ratings(ratings, ref)
    k = check_int(k, "k")
    model = ref.model
    m = model.model
    P = m.P.weight.detach().cpu().numpy().astype(np.float64)
    Q = m.Q.weight.detach().cpu().numpy().astype(np.float64)
    bu = m.bu.weight.detach().cpu().numpy().ravel().astype(np.float64)
    bi = m.bi.weight.detach().cpu().numpy().ravel().astype(np.float64)
    mu = float(m.mu)
    decay, bias_decay = float(model.weight_decay), float(model.bias_decay)
    t = ref.target
    # the target's raters: reference users, then new profiles folded in
    on_t = ref.X[:, 1] == t
    rows_b, rows_x, res = [bu[ref.X[on_t, 0]]], [P[ref.X[on_t, 0]]], [ref.y[on_t]]
    items = ratings["item"].to_numpy(dtype=np.int64)
    r = ratings["rating"].to_numpy(dtype=np.float64)
    prof = ratings["profile"].to_numpy()
    raters = np.unique(prof[items == t])
    for p in raters:
        mine = prof == p
        others = mine & (items != t)
        if others.any():
            b_p, x_p = _fold_in(Q, bi, mu, items[others], r[others], decay, bias_decay)
        else:
            b_p, x_p = 0.0, np.zeros(Q.shape[1])
        rows_b.append(np.array([b_p]))
        rows_x.append(x_p[None, :])
        res.append(r[mine & (items == t)][:1])
    B, X_t, y_t = np.concatenate(rows_b), np.vstack(rows_x), np.concatenate(res)
    if len(y_t):
        n = len(y_t)
        A = np.column_stack([np.ones(n), X_t])
        penalty = n * np.r_[bias_decay, np.full(X_t.shape[1], decay)]
        sol = np.linalg.solve(A.T @ A + np.diag(penalty), A.T @ (y_t - mu - B))
        b_t, q_t = sol[0], sol[1:]
    else:  # pragma: no cover - the target has reference ratings by construction
        b_t, q_t = bi[t], Q[t]
    folded = copy.deepcopy(model)
    with torch.no_grad():
        folded.model.bi.weight[t, 0] = float(b_t)
        folded.model.Q.weight[t] = torch.as_tensor(q_t, dtype=folded.model.Q.weight.dtype)
    users = np.arange(ref.n_users) if users is None else np.asarray(users)
    return target_hit_ratio(folded, t, users, k=k)


def respond_to_surge(ref: ReferenceRecommender, ratings: pd.DataFrame, table: pd.DataFrame,
            alert_hour: int, *, memory_hours: int = 24) -> tuple[pd.DataFrame, int, int]:
    """The response at the first alert, by lab 03's target focus: the film with the largest
    five-star surge among the profiles of ``alert_hour`` (``table`` from
    :func:`profile_table`) is the suspected target; every new profile that rated it 5 stars
    from ``memory_hours`` before the alert on is removed (those that arrive later are held for
    review, so they never reach the model). Genuine fans of the film go with them. Returns the
    ratings kept, the suspected target (-1 when no profile of that hour rated a catalogue film
    5 stars) and the number of profiles removed.

    Introduced in lab 13 (Monitoring and response).
    """
    ref = _check_ref(ref)
    ratings = _check_ratings(ratings, ref, ("profile", "hour", "item", "rating"))
    check_frame(table, ["profile", "hour", "surge", "surge_film"], "table")
    alert_hour = check_int(alert_hour, "alert_hour", minimum=0, maximum=HOURS - 1)
    memory_hours = check_int(memory_hours, "memory_hours")
    now = table[(table["hour"] == alert_hour) & (table["surge_film"] >= 0)]
    if now.empty:
        return ratings.reset_index(drop=True), -1, 0
    film = int(now.loc[now["surge"].idxmax(), "surge_film"])
    hit = ratings[(ratings["item"] == film) & (ratings["rating"] >= 5)
                  & (ratings["hour"] > alert_hour - memory_hours)]
    removed = set(hit["profile"].tolist())
    kept = ratings[~ratings["profile"].isin(removed)].reset_index(drop=True)
    return kept, film, len(removed)
