"""Lab 07, recommender domain: popularity bias in top-k lists.

What the file holds:

- :func:`long_tail_split`: the head (the items that collect most training ratings) and the long
  tail (the rest) of a catalogue;
- :func:`pure_svd_scores`: a plain factorisation built for ranking (PureSVD, a truncated SVD of
  the user-by-item rating matrix), the recommender whose lists are measured;
- :func:`recommend_top_k`: each user's top-k list, leaving out what they rated in training;
- :func:`long_tail_exposure`: the share of list slots given to tail items (with a bootstrap
  interval over users) and how many distinct head and tail items are ever shown;
- :func:`recommender_recall`: recall@k on held-out liked ratings, per user, with an interval;
  :func:`recall_difference`: the paired difference of two recalls (the price of a re-ranking);
- :func:`popularity_penalised`: the mitigation, a re-ranking that divides each score by the
  item's popularity to the power ``beta``; :func:`popularity_penalty_sweep` sweeps ``beta``;
- :func:`liked_hit_rows` and :func:`liked_hit_disparity`: the gap in being shown what one goes
  on to like, head films against tail films (a :class:`~.results.Disparity`);
- :func:`niche_users`: the users whose taste runs to the tail (the consumer side), and
  :func:`recall_gap`: their recall against the others';
- :func:`exposure_recall_figure`: tail exposure against recall over the sweep.

fairlearn measures and mitigates classifiers and regressors; it has no ranking metric and no
re-ranking, so the exposure measures and the re-ranking here are written by hand (NumPy).

Introduced in lab 07 (Bias and fairness).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..validate import (
    ArgumentTypeError,
    check_array,
    check_fraction,
    check_int,
    check_number,
    check_pairs,
    check_seed,
    check_str,
)
from .common import disparity
from .results import Disparity, LongTailSplit, RecallAtK, TailExposure

__all__ = [
    "exposure_recall_figure",
    "liked_hit_disparity",
    "liked_hit_rows",
    "long_tail_exposure",
    "long_tail_split",
    "niche_users",
    "popularity_penalised",
    "popularity_penalty_sweep",
    "pure_svd_scores",
    "recall_difference",
    "recall_gap",
    "recommend_top_k",
    "recommender_recall",
]


def _scores(scores) -> np.ndarray:
    return check_array(scores, "scores", ndim=2, dtype=np.float32)


def _slates(slates, n_items: int) -> np.ndarray:
    T = np.asarray(slates)
    if T.ndim != 2 or T.shape[1] < 1 or T.dtype.kind not in "iu":
        raise ValueError(f"slates must be an (n_users, k) integer array, got {T.dtype} "
                         f"{T.shape}")
    if T.size and (T.min() < 0 or T.max() >= n_items):
        raise ValueError(f"slates must hold item indices in 0..{n_items - 1}")
    return T


def _pairs(pairs, n_items: int, name: str) -> np.ndarray:
    """(user, item) pairs whose user count is not known in advance (any non-negative user)."""
    X = np.asarray(pairs)
    if X.ndim != 2 or X.shape[1] != 2 or not np.issubdtype(X.dtype, np.integer) or not len(X):
        raise ValueError(f"{name} must be a non-empty (n, 2) integer array of (user, item), "
                         f"got {X.dtype} {X.shape}")
    return check_pairs(X, int(X[:, 0].max()) + 1, n_items, name)


def _split(split) -> LongTailSplit:
    if not isinstance(split, LongTailSplit):
        raise ArgumentTypeError(f"split must be a LongTailSplit (long_tail_split), got "
                                f"{type(split).__name__}")
    return split


def long_tail_split(train_pairs, n_items: int, *, head_fraction: float = 0.2) -> LongTailSplit:
    """Split the catalogue into a head, the ``head_fraction`` of items with the most training
    ratings (ties broken by item index), and a long tail, the rest.

    Introduced in lab 07 (Bias and fairness).
    """
    n_items = check_int(n_items, "n_items")
    pairs = _pairs(train_pairs, n_items, "train_pairs")
    head_fraction = check_fraction(head_fraction, "head_fraction", allow_zero=False)
    if head_fraction >= 1:
        raise ValueError("head_fraction must be below 1: the tail needs at least one item")
    counts = np.bincount(pairs[:, 1], minlength=n_items)
    order = np.argsort(-counts, kind="stable")
    n_head = max(1, int(np.ceil(head_fraction * n_items)))
    is_tail = np.ones(n_items, dtype=bool)
    is_tail[order[:n_head]] = False
    total = max(int(counts.sum()), 1)
    return LongTailSplit(is_tail=is_tail, counts=counts, head_fraction=head_fraction,
                         tail_share_of_items=float(is_tail.mean()),
                         tail_share_of_ratings=float(counts[is_tail].sum() / total),
                         max_tail_count=int(counts[is_tail].max()))


def pure_svd_scores(train_pairs, train_ratings, n_users: int, n_items: int, *, rank: int = 50,
                    seed: int = 0) -> np.ndarray:
    """Scores of every item for every user from PureSVD (Cremonesi, Koren and Turrin, 2010): the
    rank-``rank`` truncated SVD of the user-by-item matrix of training ratings, unrated cells
    read as 0. A plain factorisation, fitted in well under a second, that ranks well for top-k
    lists; ``seed`` sets the solver's start vector (SciPy's ``svds``).

    Introduced in lab 07 (Bias and fairness).
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.linalg import svds

    n_users, n_items = check_int(n_users, "n_users"), check_int(n_items, "n_items")
    pairs = check_pairs(train_pairs, n_users, n_items, "train_pairs")
    r = check_array(train_ratings, "train_ratings", ndim=1)
    if len(r) != len(pairs):
        raise ValueError(f"train_ratings must hold one rating per pair ({len(pairs)}), got "
                         f"{len(r)}")
    rank = check_int(rank, "rank")
    if rank >= min(n_users, n_items):
        raise ValueError(f"rank must be below min(n_users, n_items) = {min(n_users, n_items)}")
    seed = check_seed(seed)
    R = csr_matrix((r.astype(np.float64), (pairs[:, 0], pairs[:, 1])), shape=(n_users, n_items))
    v0 = np.random.default_rng(seed).standard_normal(min(n_users, n_items))
    U, s, Vt = svds(R, k=rank, v0=v0)
    return ((U * s) @ Vt).astype(np.float32)


def recommend_top_k(scores, train_pairs, *, k: int = 10) -> np.ndarray:
    """Each user's top-``k`` items by ``scores`` (n_users, n_items), best first, leaving out
    the items the user rated in training: an (n_users, k) array of item indices.

    Introduced in lab 07 (Bias and fairness).
    """
    S = _scores(scores).copy()
    pairs = check_pairs(train_pairs, S.shape[0], S.shape[1], "train_pairs")
    k = check_int(k, "k")
    if k >= S.shape[1]:
        raise ValueError(f"k must be below the number of items ({S.shape[1]})")
    S[pairs[:, 0], pairs[:, 1]] = -np.inf
    top = np.argpartition(-S, k, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(S, top, 1), axis=1, kind="stable")
    return np.take_along_axis(top, order, 1)


def _boot_users(n_users: int, n_boot: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n_users, size=(n_boot, n_users))


def long_tail_exposure(slates, split, *, n_boot: int = 1000, seed: int = 0,
                       on: str = "") -> TailExposure:
    """How much of the top-k lists the long tail gets: the share of all list slots that hold a
    tail item (95% bootstrap interval, users resampled: one user's slots are not independent),
    and how many distinct tail and head items are shown to at least one user.

    Introduced in lab 07 (Bias and fairness).
    """
    split = _split(split)
    T = _slates(slates, len(split.is_tail))
    n_boot, seed = check_int(n_boot, "n_boot", 10), check_seed(seed)
    on = check_str(on, "on") if on else ""
    per_user = split.is_tail[T].mean(1)
    boot = per_user[_boot_users(len(per_user), n_boot, seed)].mean(1)
    low, high = np.quantile(boot, [0.025, 0.975])
    shown = np.unique(T)
    tail_shown = int(split.is_tail[shown].sum())
    return TailExposure(share=float(per_user.mean()), low=float(low), high=float(high),
                        tail_items_shown=tail_shown, head_items_shown=len(shown) - tail_shown,
                        n_tail=int(split.is_tail.sum()), n_head=int((~split.is_tail).sum()),
                        n_users=T.shape[0], k=T.shape[1], on=on)


def _liked(test_pairs, test_ratings, n_users: int, n_items: int, like_threshold: float):
    pairs = check_pairs(test_pairs, n_users, n_items, "test_pairs")
    r = check_array(test_ratings, "test_ratings", ndim=1)
    if len(r) != len(pairs):
        raise ValueError(f"test_ratings must hold one rating per pair ({len(pairs)}), got "
                         f"{len(r)}")
    like_threshold = check_number(like_threshold, "like_threshold")
    return pairs[r >= like_threshold]


def recommender_recall(slates, test_pairs, test_ratings, n_items: int, *,
                       like_threshold: float = 4.0, n_boot: int = 1000, seed: int = 0,
                       on: str = "") -> RecallAtK:
    """Recall@k of the lists ``slates`` on held-out ratings: for each user with at least one
    held-out rating ``>= like_threshold``, the share of those liked items found in their list,
    out of at most k (so a perfect list scores 1); the mean over users, with a 95% bootstrap
    interval (users resampled). ``per_user`` keeps each user's value (NaN where the user liked
    nothing held out) for paired comparisons.

    Introduced in lab 07 (Bias and fairness).
    """
    n_items = check_int(n_items, "n_items")
    T = _slates(slates, n_items)
    liked = _liked(test_pairs, test_ratings, T.shape[0], n_items, like_threshold)
    n_boot, seed = check_int(n_boot, "n_boot", 10), check_seed(seed)
    on = check_str(on, "on") if on else ""
    rel = np.zeros((T.shape[0], n_items), dtype=bool)
    rel[liked[:, 0], liked[:, 1]] = True
    hits = np.take_along_axis(rel, T, 1).sum(1)
    n_rel = rel.sum(1)
    per_user = np.full(T.shape[0], np.nan)
    has = n_rel > 0
    if not has.any():
        raise ValueError("no user has a held-out rating at or above like_threshold")
    per_user[has] = hits[has] / np.minimum(n_rel[has], T.shape[1])
    values = per_user[has]
    boot = values[_boot_users(len(values), n_boot, seed)].mean(1)
    low, high = np.quantile(boot, [0.025, 0.975])
    return RecallAtK(value=float(values.mean()), low=float(low), high=float(high),
                     n_users=int(has.sum()), k=T.shape[1], hits=int(hits[has].sum()),
                     per_user=per_user, on=on)


def recall_difference(before: RecallAtK, after: RecallAtK, *, n_boot: int = 1000,
                      seed: int = 0) -> tuple[float, float, float]:
    """The recall lost from ``before`` to ``after`` (before minus after) on the same users,
    with a paired 95% bootstrap interval: ``(value, low, high)``.

    Introduced in lab 07 (Bias and fairness).
    """
    for name, r in (("before", before), ("after", after)):
        if not isinstance(r, RecallAtK):
            raise ArgumentTypeError(f"{name} must be a RecallAtK (recommender_recall), got "
                                    f"{type(r).__name__}")
    a, b = np.asarray(before.per_user), np.asarray(after.per_user)
    if a.shape != b.shape or not np.array_equal(np.isnan(a), np.isnan(b)):
        raise ValueError("before and after must be measured on the same users")
    n_boot, seed = check_int(n_boot, "n_boot", 10), check_seed(seed)
    d = (a - b)[~np.isnan(a)]
    boot = d[_boot_users(len(d), n_boot, seed)].mean(1)
    low, high = np.quantile(boot, [0.025, 0.975])
    return float(d.mean()), float(low), float(high)


def popularity_penalised(scores, counts, *, beta: float) -> np.ndarray:
    """The re-ranking: each score divided by ``(1 + n_i) ** beta``, where ``n_i`` is item i's
    number of training ratings (``beta = 0`` leaves the ranking as it is; ``beta = 1`` ranks by
    score per rating). A negative score is multiplied instead, so that for every sign a more
    popular item moves down. The score is left unchanged; only the order of the list changes.

    Introduced in lab 07 (Bias and fairness).
    """
    S = _scores(scores)
    c = check_array(counts, "counts", ndim=1)
    if len(c) != S.shape[1] or (c < 0).any():
        raise ValueError(f"counts must hold {S.shape[1]} non-negative rating counts, one per "
                         "item")
    beta = check_number(beta, "beta", low=0.0)
    factor = ((1.0 + c.astype(np.float64)) ** beta).astype(np.float32)
    return np.where(S > 0, S / factor, S * factor)


def popularity_penalty_sweep(scores, split, train_pairs, test_pairs, test_ratings, betas, *,
                             k: int = 10, seed: int = 0, n_boot: int = 200) -> pd.DataFrame:
    """Tail exposure and recall@k of the re-ranked lists for each penalty strength in
    ``betas``: one row per ``beta`` (columns ``beta``, ``tail share``, its interval, ``tail
    items shown``, ``recall``, its interval).

    Introduced in lab 07 (Bias and fairness).
    """
    from tqdm.auto import tqdm

    split = _split(split)
    S = _scores(scores)
    betas = check_array(betas, "betas", ndim=1)
    if not len(betas) or (betas < 0).any():
        raise ValueError("betas must hold at least one non-negative penalty strength")
    rows = []
    for beta in tqdm(betas, desc="popularity penalty sweep", leave=False):
        slates = recommend_top_k(popularity_penalised(S, split.counts, beta=float(beta)),
                                 train_pairs, k=k)
        exp = long_tail_exposure(slates, split, n_boot=n_boot, seed=seed)
        rec = recommender_recall(slates, test_pairs, test_ratings, S.shape[1], n_boot=n_boot,
                                 seed=seed)
        rows.append({"beta": float(beta), "tail share": exp.share, "tail low": exp.low,
                     "tail high": exp.high, "tail items shown": exp.tail_items_shown,
                     "recall": rec.value, "recall low": rec.low, "recall high": rec.high})
    return pd.DataFrame(rows)


def liked_hit_rows(slates, split, test_pairs, test_ratings, *,
                   like_threshold: float = 4.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The held-out ratings as rows for fairlearn-style group metrics: ``(y_true, y_pred,
    groups)``, one row per held-out rating; ``y_true`` is 1 for a like (``>=
    like_threshold``), ``y_pred`` 1 when the item was in that user's list, ``groups`` is
    ``"head"`` or ``"tail"`` for the item. The true-positive rate of a group is then the share
    of its liked films that the lists had shown.

    Introduced in lab 07 (Bias and fairness).
    """
    split = _split(split)
    n_items = len(split.is_tail)
    T = _slates(slates, n_items)
    pairs = check_pairs(test_pairs, T.shape[0], n_items, "test_pairs")
    r = check_array(test_ratings, "test_ratings", ndim=1)
    if len(r) != len(pairs):
        raise ValueError(f"test_ratings must hold one rating per pair ({len(pairs)}), got "
                         f"{len(r)}")
    like_threshold = check_number(like_threshold, "like_threshold")
    listed = np.zeros((T.shape[0], n_items), dtype=bool)
    listed[np.repeat(np.arange(T.shape[0]), T.shape[1]), T.ravel()] = True
    shown = listed[pairs[:, 0], pairs[:, 1]].astype(int)
    groups = np.where(split.is_tail[pairs[:, 1]], "tail", "head")
    return (r >= like_threshold).astype(int), shown, groups


def liked_hit_disparity(slates, split, test_pairs, test_ratings, *,
                        like_threshold: float = 4.0, n_boot: int = 1000, seed: int = 0,
                        on: str = "") -> Disparity:
    """The gap in who gets shown what they go on to like, head against tail, with
    :func:`~.common.disparity` (``"equal_opportunity"``) on the rows of
    :func:`liked_hit_rows`: the share of liked held-out head films the lists had shown minus
    the share of liked tail films (largest minus smallest, so never negative).

    Introduced in lab 07 (Bias and fairness).
    """
    y_true, y_pred, groups = liked_hit_rows(slates, split, test_pairs, test_ratings,
                                            like_threshold=like_threshold)
    return disparity("equal_opportunity", y_true, y_pred, groups, n_boot=n_boot, seed=seed,
                     on=on)


def recall_gap(recall: RecallAtK, mask, *, n_boot: int = 1000,
               seed: int = 0) -> dict[str, float]:
    """Recall@k of the users in ``mask`` and of the others, and the others' minus theirs, with
    a 95% bootstrap interval on the gap (users resampled within each group): a dict with
    ``"inside"``, ``"outside"``, ``"gap"``, ``"low"``, ``"high"``, ``"n_inside"``,
    ``"n_outside"``.

    Introduced in lab 07 (Bias and fairness).
    """
    if not isinstance(recall, RecallAtK):
        raise ArgumentTypeError(f"recall must be a RecallAtK (recommender_recall), got "
                                f"{type(recall).__name__}")
    m = np.asarray(mask)
    pu = np.asarray(recall.per_user)
    if m.dtype != bool or m.shape != pu.shape:
        raise ValueError(f"mask must be a boolean array with one entry per user ({len(pu)})")
    n_boot, seed = check_int(n_boot, "n_boot", 10), check_seed(seed)
    ok = ~np.isnan(pu)
    a, b = pu[ok & m], pu[ok & ~m]
    if not len(a) or not len(b):
        raise ValueError("both groups need at least one user with a liked held-out rating")
    gen = np.random.default_rng(seed)
    boot = (b[gen.integers(0, len(b), size=(n_boot, len(b)))].mean(1)
            - a[gen.integers(0, len(a), size=(n_boot, len(a)))].mean(1))
    low, high = np.quantile(boot, [0.025, 0.975])
    return {"inside": float(a.mean()), "outside": float(b.mean()),
            "gap": float(b.mean() - a.mean()), "low": float(low), "high": float(high),
            "n_inside": len(a), "n_outside": len(b)}


def niche_users(train_pairs, split, *, fraction: float = 0.25) -> np.ndarray:
    """A boolean mask over users: the ``fraction`` of users (with at least one training rating)
    whose training ratings fall most often on tail items, the consumers with niche tastes.

    Introduced in lab 07 (Bias and fairness).
    """
    split = _split(split)
    pairs = _pairs(train_pairs, len(split.is_tail), "train_pairs")
    fraction = check_fraction(fraction, "fraction", allow_zero=False)
    n_users = int(pairs[:, 0].max()) + 1
    rated = np.bincount(pairs[:, 0], minlength=n_users)
    tail = np.bincount(pairs[:, 0], weights=split.is_tail[pairs[:, 1]], minlength=n_users)
    share = np.where(rated > 0, tail / np.maximum(rated, 1), -np.inf)
    n_niche = max(1, int(round(fraction * (rated > 0).sum())))
    mask = np.zeros(n_users, dtype=bool)
    mask[np.argsort(-share, kind="stable")[:n_niche]] = True
    return mask


def exposure_recall_figure(sweep: pd.DataFrame, *, chosen_beta: float | None = None,
                           reference: tuple[float, float, str] | None = None,
                           title: str | None = None):
    """Tail share of the list slots against recall@k, one point per penalty strength of
    :func:`popularity_penalty_sweep` (with the intervals of both), the unpenalised ranking and
    ``chosen_beta`` marked; ``reference`` adds one more system as ``(recall, tail share,
    name)``.

    Introduced in lab 07 (Bias and fairness).
    """
    import plotly.graph_objects as go

    from ..plots import COLORS

    if not isinstance(sweep, pd.DataFrame) or not {"beta", "tail share", "recall"} <= set(
            sweep.columns):
        raise ArgumentTypeError("sweep must be the DataFrame of popularity_penalty_sweep")
    s = sweep.sort_values("beta")
    fig = go.Figure(go.Scatter(
        x=s["recall"], y=s["tail share"], mode="lines+markers+text",
        text=[f"β={b:g}" for b in s["beta"]], textposition="middle right",
        textfont=dict(size=10),
        error_x=dict(type="data", symmetric=False, array=s["recall high"] - s["recall"],
                     arrayminus=s["recall"] - s["recall low"], thickness=1),
        error_y=dict(type="data", symmetric=False, array=s["tail high"] - s["tail share"],
                     arrayminus=s["tail share"] - s["tail low"], thickness=1),
        line=dict(color=COLORS["neutral"]), marker=dict(color=COLORS["neutral"], size=7),
        name="popularity penalty, β swept"))
    base = s[s["beta"] == 0]
    if len(base):
        fig.add_trace(go.Scatter(x=base["recall"], y=base["tail share"], mode="markers",
                                 marker=dict(color=COLORS["baseline"], size=14),
                                 name="plain ranking (β = 0)"))
    if chosen_beta is not None:
        chosen = s[np.isclose(s["beta"], float(chosen_beta))]
        fig.add_trace(go.Scatter(x=chosen["recall"], y=chosen["tail share"], mode="markers",
                                 marker=dict(color=COLORS["defended"], size=14, symbol="diamond"),
                                 name=f"re-ranked (β = {float(chosen_beta):g})"))
    if reference is not None:
        fig.add_trace(go.Scatter(x=[reference[0]], y=[reference[1]], mode="markers",
                                 marker=dict(color=COLORS["accent"], size=12, symbol="square"),
                                 name=str(reference[2])))
    fig.update_layout(xaxis_title="recall@10 on held-out liked ratings",
                      yaxis_title="share of top-10 slots given to the long tail", height=430)
    fig.update_yaxes(tickformat=".0%")
    if title:
        fig.update_layout(title=title)
    return fig
