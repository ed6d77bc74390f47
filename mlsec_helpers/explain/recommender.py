"""Recommender: why a film was recommended, and what a "users like you" explanation leaks.

Introduced in lab 08 (Explainability). Two kinds of explanation of lab 00's recommender world
(MovieLens, the seed-0 matrix-factorisation checkpoint):

- factor explanations ("because you rated X"): the user's vector is refitted from their own
  ratings by ridge regression on the model's film factors (the fold-in of Hu, Koren and
  Volinsky, ICDM 2008), which makes every recommended film's score a sum of one term per film
  the user rated; :func:`rec_factor_explanations` computes those terms and how well the
  fold-in agrees with the trained model, and :func:`rec_removal_fidelity` checks the
  explanation by deleting the films it names (against deleting random ones) and refitting;
- neighbour explanations ("users like you rated it"): a user-user k-nearest-neighbour service
  that shows, for a film, the histogram of stars its neighbours gave it (Herlocker et al.,
  CSCW 2000): :func:`rec_neighbour_service`; :func:`rec_sybil_explanation_leak` measures what
  an attacker who copies a target's known ratings into sybil accounts reads off those
  histograms about the target's other ratings (Calandrino et al., IEEE S&P 2011, for the sybil
  kNN attack), with and without Laplace noise on the histograms; and
  :func:`rec_histogram_fidelity` measures what that noise costs honest users' explanations.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from ..stats import Rate, mean_interval, proportion
from ..validate import check_choice, check_fitted, check_int, check_number, check_seed
from .results import (
    ExplanationLeak,
    FactorExplanations,
    HistogramFidelity,
    NeighbourService,
    RemovalFidelity,
)

__all__ = [
    "rec_factor_explanations",
    "rec_histogram_fidelity",
    "rec_neighbour_service",
    "rec_removal_fidelity",
    "rec_sybil_explanation_leak",
]

_N_STARS = 10  # half stars 0.5 .. 5.0


def _bootstrap_mean(values, on: str, seed: int, n_resamples: int = 1000) -> Rate:
    """The mean of per-unit values with a percentile bootstrap interval (units resampled:
    users or targets, so that the ratings of one user are not counted as independent)."""
    return mean_interval(values, on=on, seed=seed, n_boot=n_resamples)


def _check_ratings(X, y, n_users: int, n_items: int):
    X = np.asarray(X)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2 or not np.issubdtype(X.dtype, np.integer):
        raise ValueError(f"X must be (n, 2) integer (user, item) pairs, got shape {X.shape}")
    if y.ndim != 1 or len(y) != len(X) or not np.all(np.isfinite(y)):
        raise ValueError(f"y must hold one finite rating per row of X ({len(X)})")
    if len(X) == 0 or X.min() < 0 or X[:, 0].max() >= n_users or X[:, 1].max() >= n_items:
        raise ValueError(f"X must index users in 0..{n_users - 1} and items in 0..{n_items - 1}")
    return X.astype(np.int64), y


# --- factor explanations ------------------------------------------------------------------------


def _mf_parts(system):
    if getattr(system, "domain", None) != "recommender" or not hasattr(system, "model"):
        raise ValueError("system must be the recommender reference system (systems."
                         "reference_system('recommender'))")
    check_fitted(system, "the recommender")
    m = system.model
    Q = m.Q.weight.detach().cpu().numpy().astype(np.float64)
    bi = m.bi.weight.detach().cpu().numpy()[:, 0].astype(np.float64)
    Qa = np.hstack([Q, np.ones((len(Q), 1))])  # the last column folds in the user's bias
    return Qa, bi, float(m.mu), system


def _fold_in(Qa, resid, items, ridge):
    """The user's vector (factors and bias) refitted from their ratings: ridge regression of
    the residual stars on the rated films' factors. Returns the vector and A^-1."""
    X = Qa[items]
    A = X.T @ X + ridge * np.eye(Qa.shape[1])
    A_inv = np.linalg.inv(A)
    return A_inv @ (X.T @ resid), A_inv


def rec_factor_explanations(system, X, y, *, ridge: float = 1.0, min_ratings: int = 20,
                            n_top: int = 5, compare_k: int = 10,
                            seed: int = 0) -> FactorExplanations:
    """Factor explanations of each user's top recommendation by the matrix-factorisation
    ``system``: the user's vector is refitted from their training ratings (X, y) by ridge
    regression on the model's film factors (penalty ``ridge``; the fold-in), so the score of a
    film i is ``mu + b_i + sum_j c_ij`` with one term per rated film j,
    ``c_ij = [q_i, 1] A^-1 [q_j, 1] (r_j - mu - b_j)``: the explanation is the ``n_top`` rated
    films with the largest terms. Users with fewer than ``min_ratings`` ratings are skipped.
    ``agreement`` is the share of the trained model's top-``compare_k`` films (unrated ones)
    that the fold-in's top-``compare_k`` holds, per user: how faithfully the refitted user
    explains the deployed one; ``agreement_rate`` its mean with a bootstrap interval over
    users (``seed``).

    Introduced in lab 08 (Explainability).
    """
    Qa, bi, mu, system = _mf_parts(system)
    ridge = check_number(ridge, "ridge", low=0.0, low_open=True)
    min_ratings = check_int(min_ratings, "min_ratings", minimum=2)
    n_top = check_int(n_top, "n_top", minimum=1)
    compare_k = check_int(compare_k, "compare_k", minimum=1)
    seed = check_seed(seed)
    n_users, n_items = system.n_users, system.n_items
    X, y = _check_ratings(X, y, n_users, n_items)
    order = np.argsort(X[:, 0], kind="stable")
    users_all, starts = np.unique(X[order, 0], return_index=True)
    ends = np.append(starts[1:], len(order))
    counts = ends - starts
    keep = counts >= min_ratings
    if not keep.any():
        raise ValueError(f"no user has {min_ratings} ratings or more")
    if n_top > counts[keep].min():
        raise ValueError(f"n_top ({n_top}) exceeds the fewest ratings of a kept user "
                         f"({counts[keep].min()})")
    users = users_all[keep]
    model_scores = system.score(users)
    rec = np.empty(len(users), np.int64)
    score = np.empty(len(users))
    top_items = np.empty((len(users), n_top), np.int64)
    top_terms = np.empty((len(users), n_top))
    shares = np.empty(len(users))
    agreement = np.empty(len(users))
    for row, (s, e) in enumerate(zip(starts[keep], ends[keep], strict=True)):
        idx = order[s:e]
        items, stars = X[idx, 1], y[idx]
        resid = stars - mu - bi[items]
        p, A_inv = _fold_in(Qa, resid, items, ridge)
        folded = mu + bi + Qa @ p
        folded[items] = -np.inf
        i = int(np.argmax(folded))
        terms = (Qa[i] @ A_inv @ Qa[items].T) * resid
        best = np.argsort(-terms, kind="stable")[:n_top]
        rec[row], score[row] = i, folded[i]
        top_items[row], top_terms[row] = items[best], terms[best]
        positive = terms[terms > 0].sum()
        shares[row] = terms[best].clip(0).sum() / positive if positive > 0 else 0.0
        ms = model_scores[row].copy()
        ms[items] = -np.inf
        top_model = np.argpartition(-ms, compare_k)[:compare_k]
        top_fold = np.argpartition(-folded, compare_k)[:compare_k]
        agreement[row] = len(np.intersect1d(top_model, top_fold)) / compare_k
    return FactorExplanations(users=users, recommended=rec, score=score, top_items=top_items,
                              top_terms=top_terms, top_share=shares, agreement=agreement,
                              agreement_rate=_bootstrap_mean(
                                  agreement, f"{len(users)} users' top-{compare_k}", seed),
                              ridge=ridge, n_ratings=counts[keep])


def rec_removal_fidelity(system, X, y, explanations, *, k: int = 3, top_n: int = 10,
                         seed: int = 0) -> RemovalFidelity:
    """Deletion test of factor explanations: for each explained user, delete the ``k`` rated
    films the explanation names first (``explanations`` from :func:`rec_factor_explanations`)
    and refit the user, or delete ``k`` rated films drawn at random (seeded), and see whether
    the recommended film is still in the user's top ``top_n`` (among the films they rated
    before deletion: the candidates do not change) and how far its score fell. An explanation
    that names what the score rests on makes the film drop far more often than random
    deletions do.

    Introduced in lab 08 (Explainability).
    """
    if not isinstance(explanations, FactorExplanations):
        raise ValueError("explanations must come from rec_factor_explanations")
    Qa, bi, mu, system = _mf_parts(system)
    k = check_int(k, "k", minimum=1, maximum=explanations.top_items.shape[1])
    top_n = check_int(top_n, "top_n", minimum=1)
    seed = check_seed(seed)
    X, y = _check_ratings(X, y, system.n_users, system.n_items)
    gen = np.random.default_rng(seed)
    order = np.argsort(X[:, 0], kind="stable")
    starts = np.searchsorted(X[order, 0], explanations.users, side="left")
    ends = np.searchsorted(X[order, 0], explanations.users, side="right")
    rated_rows = []
    systems_ = {"explained": ([], []), "random": ([], [])}  # (A, b) of each refit
    eye = explanations.ridge * np.eye(Qa.shape[1])
    for row, (s, e) in enumerate(tqdm(list(zip(starts, ends, strict=True)), leave=False,
                                      desc="refitting users without the explaining films")):
        idx = order[s:e]
        items, stars = X[idx, 1], y[idx]
        rated_rows.append(np.full(len(items), row))
        Xu, resid = Qa[items], stars - mu - bi[items]
        G, g = Xu.T @ Xu + eye, Xu.T @ resid
        named = np.flatnonzero(np.isin(items, explanations.top_items[row, :k]))
        rand = gen.choice(len(items), k, replace=False)
        for name, removed in (("explained", named), ("random", rand)):
            Xr = Xu[removed]  # the refit without these rows: subtract their share of A and b
            systems_[name][0].append(G - Xr.T @ Xr)
            systems_[name][1].append(g - Xr.T @ resid[removed])
    vectors = {name: np.linalg.solve(np.array(A), np.array(b)[..., None])[..., 0]
               for name, (A, b) in systems_.items()}
    # scores of every film for every user at once; the candidates stay the films each user
    # had not rated before the deletion
    rated = (np.concatenate(rated_rows), X[order[np.concatenate(
        [np.arange(s, e) for s, e in zip(starts, ends, strict=True)])], 1])
    rows = np.arange(len(starts))
    drop, left = {}, {}
    for name, vecs in vectors.items():
        folded = mu + bi[None, :] + np.array(vecs) @ Qa.T
        folded[rated] = -np.inf
        film = folded[rows, explanations.recommended]
        drop[name] = explanations.score - film
        left[name] = (folded > film[:, None]).sum(axis=1) >= top_n
    on = f"{len(starts)} users' top recommendation"
    return RemovalFidelity(
        k=k, top_n=top_n,
        left_explained=proportion(left["explained"], on=on),
        left_random=proportion(left["random"], on=on),
        drop_explained=_bootstrap_mean(drop["explained"], on, seed),
        drop_random=_bootstrap_mean(drop["random"], on, seed),
        drops_explained=drop["explained"], drops_random=drop["random"])


# --- neighbour explanations and what they leak --------------------------------------------------


def rec_neighbour_service(X, y, n_users: int, n_items: int, *, k: int = 20) -> NeighbourService:
    """A user-user k-nearest-neighbour film service built on training ratings (X, y): the
    sparse (user x film) star matrix, its row norms (for cosine similarity of raw star
    vectors) and the neighbourhood size ``k``. Its explanation of a film for a user is the
    histogram of stars the user's ``k`` nearest neighbours gave that film ("users like you
    rated it: three 5-star, one 4-star"), the explanation Herlocker et al. found most
    persuasive.

    Introduced in lab 08 (Explainability).
    """
    n_users = check_int(n_users, "n_users")
    n_items = check_int(n_items, "n_items")
    k = check_int(k, "k", minimum=1, maximum=n_users - 1 if n_users > 1 else 1)
    X, y = _check_ratings(X, y, n_users, n_items)
    bins = np.rint(y * 2).astype(np.int64) - 1
    if bins.min() < 0 or bins.max() >= _N_STARS or not np.allclose(y * 2, np.rint(y * 2)):
        raise ValueError("y must hold half stars from 0.5 to 5")
    R = sp.csr_matrix((y, (X[:, 0], X[:, 1])), shape=(n_users, n_items))
    R.sum_duplicates()
    norms = np.sqrt(np.asarray(R.multiply(R).sum(axis=1))[:, 0])
    return NeighbourService(R=R, norms=norms, k=k, n_users=n_users, n_items=n_items)


def _check_service(service) -> NeighbourService:
    if not isinstance(service, NeighbourService):
        raise ValueError("service must come from rec_neighbour_service")
    return service


def _histograms(R, neighbours, items) -> np.ndarray:
    """(10, len(items)) counts of each half star the ``neighbours`` gave each of ``items``."""
    rows = R[neighbours][:, items].tocoo()
    b = np.rint(rows.data * 2).astype(np.int64) - 1
    return np.bincount(b * len(items) + rows.col, minlength=_N_STARS * len(items)).reshape(
        _N_STARS, len(items)).astype(np.float64)


def _noisy(hist, epsilon, gen, draws: int = 1) -> np.ndarray:
    """Laplace noise of scale 2 / epsilon on every bin (one neighbour changing their star moves
    two bins by one: L1 sensitivity 2), rounded and clipped at 0, averaged over ``draws``
    independent releases of the same histogram."""
    if epsilon is None:
        return hist
    # Laplace by the inverse CDF from float32 uniforms (about twice as fast as gen.laplace)
    u = gen.random(size=(draws, *hist.shape), dtype=np.float32) - np.float32(0.5)
    tail = np.minimum(2 * np.abs(u), np.float32(1 - 1e-7))  # gen.random can return 0.0
    noise = -(2.0 / epsilon) * np.sign(u) * np.log1p(-tail)
    return np.clip(np.rint(hist[None] + noise), 0, None).mean(axis=0)


def rec_sybil_explanation_leak(service, targets, *, n_sybils: int, known_share: float = 0.5,
                               catalogue_min: int = 10, epsilon: float | None = None,
                               noise: str = "fresh", without_target: bool = False,
                               seed: int = 0) -> ExplanationLeak:
    """Sybil attack on "users like you rated it" explanations. For each target user, the
    attacker knows a random ``known_share`` of the target's training ratings (seeded) and
    creates ``n_sybils`` accounts that rate exactly those films with the same stars (lab 03's
    shilling profiles, aimed at a person instead of a film). Each sybil's ``k`` neighbours are
    the other ``n_sybils - 1`` sybils (cosine 1) and the ``k - n_sybils + 1`` most similar
    real users; the sybils rated nothing else, so the histograms they are shown for every
    other film of the catalogue (films with at least ``catalogue_min`` ratings) hold the real
    neighbours' stars only, and with ``n_sybils = k`` only the target's, when the target is
    the most similar real user. The attacker guesses "the target rated film i with the
    histogram's most common star" for every film whose histogram is not empty.

    With ``epsilon``, the service adds Laplace noise (scale 2/epsilon, rounded, clipped at 0)
    to every bin. ``noise="fresh"`` draws it anew for each sybil, and the attacker averages the
    ``n_sybils`` histograms they are shown (the adaptive attacker); ``"keyed"`` draws it once
    per (set of real neighbours, film), so identical sybils see identical noise. (The guess
    threshold under noise: an averaged count of at least 0.5.)

    ``without_target=True`` runs the same attack on a service that never held the target's
    ratings (the target left out of every neighbourhood): what the attacker infers from other
    users alone, the baseline the leak is measured against.

    ``recall`` is the share of the target's hidden ratings (in the catalogue) whose film and
    exact star the attacker guessed; ``precision`` the share of guesses that are right; both
    with bootstrap intervals over targets.

    Introduced in lab 08 (Explainability).
    """
    service = _check_service(service)
    R, norms, k = service.R, service.norms, service.k
    targets = np.atleast_1d(np.asarray(targets))
    if targets.ndim != 1 or len(targets) < 2 or not np.issubdtype(targets.dtype, np.integer) \
            or targets.min() < 0 or targets.max() >= service.n_users:
        raise ValueError(f"targets must be at least 2 user indices in 0..{service.n_users - 1}")
    n_sybils = check_int(n_sybils, "n_sybils", minimum=1, maximum=k)
    known_share = check_number(known_share, "known_share", low=0.0, high=1.0, low_open=True,
                               high_open=True)
    catalogue_min = check_int(catalogue_min, "catalogue_min", minimum=1)
    if epsilon is not None:
        epsilon = check_number(epsilon, "epsilon", low=0.0, low_open=True)
    noise = check_choice(noise, ("fresh", "keyed"), "noise")
    if not isinstance(without_target, bool):
        raise ValueError(f"without_target must be True or False, got {without_target!r}")
    seed = check_seed(seed)
    # two streams: the known halves depend on the seed only, so that runs with and without
    # noise or the target attack the same targets with the same knowledge (paired)
    gen, noise_gen = np.random.default_rng(seed), np.random.default_rng([seed, 1])
    catalogue = np.flatnonzero(np.diff(R.tocsc().indptr) >= catalogue_min)
    m = k - n_sybils + 1  # real users in each sybil's neighbourhood
    recall, precision, found = [], [], []
    for t in tqdm(targets, desc="sybil attacks", leave=False):
        row = R[int(t)]
        items, stars = row.indices, row.data
        known = gen.random(len(items)) < known_share
        if known.sum() < 1 or (~known).sum() < 1:
            known[0], known[-1] = True, False
        sybil = sp.csr_matrix((stars[known], (np.zeros(known.sum(), int), items[known])),
                              shape=(1, R.shape[1]))
        # cosine of the sybil's star vector with every real user's
        sims = np.asarray((R @ sybil.T).todense())[:, 0] / (
            norms.clip(1e-12) * np.sqrt((stars[known] ** 2).sum()))
        if without_target:
            sims[int(t)] = -np.inf
        real = np.argpartition(-sims, m - 1)[:m]
        found.append(int(t) in real)
        hist = _histograms(R, real, catalogue)
        draws = n_sybils if noise == "fresh" else 1
        shown = _noisy(hist, epsilon, noise_gen, draws)
        guessed = shown.max(axis=0) >= (0.5 if epsilon is not None else 1)
        guessed &= ~np.isin(catalogue, items[known])
        guess_star = shown.argmax(axis=0)
        hidden = items[~known]
        in_cat = np.isin(hidden, catalogue)
        truth = {int(i): int(np.rint(s * 2)) - 1 for i, s in zip(hidden[in_cat],
                                                                  stars[~known][in_cat],
                                                                  strict=True)}
        pos = np.searchsorted(catalogue, hidden[in_cat])
        right = guessed[pos] & (guess_star[pos] == np.array(list(truth.values()), np.int64))
        recall.append(right.sum() / max(1, len(pos)))
        precision.append(right.sum() / max(1, guessed.sum()))
    on = f"{len(targets)} targets' hidden ratings"
    return ExplanationLeak(
        n_sybils=n_sybils, without_target=without_target, epsilon=epsilon, noise=noise,
        recall=_bootstrap_mean(recall, on, seed), precision=_bootstrap_mean(precision, on, seed),
        target_in_neighbourhood=proportion(np.array(found), on=f"{len(targets)} targets"),
        recalls=np.array(recall), precisions=np.array(precision))


def rec_histogram_fidelity(service, users, *, epsilon: float, n_recs: int = 10,
                           seed: int = 0) -> HistogramFidelity:
    """What Laplace noise (scale 2/epsilon per bin, rounded, clipped at 0) costs honest users:
    for each of ``users``, the ``n_recs`` films their ``k`` nearest real neighbours rated
    most (similarity-weighted stars; films the user rated left out) are explained by the
    neighbours' star histogram; ``mode_kept`` is the mean share per user of those
    explanations whose most common star survives the noise, ``mean_error`` the mean absolute
    error of the histogram's mean star (in stars), both with bootstrap intervals over users.

    Introduced in lab 08 (Explainability).
    """
    service = _check_service(service)
    R, norms, k = service.R, service.norms, service.k
    users = np.atleast_1d(np.asarray(users))
    if users.ndim != 1 or len(users) < 2 or not np.issubdtype(users.dtype, np.integer) \
            or users.min() < 0 or users.max() >= service.n_users:
        raise ValueError(f"users must be at least 2 user indices in 0..{service.n_users - 1}")
    epsilon = check_number(epsilon, "epsilon", low=0.0, low_open=True)
    n_recs = check_int(n_recs, "n_recs", minimum=1, maximum=service.n_items)
    seed = check_seed(seed)
    gen = np.random.default_rng(seed)
    sims = np.asarray((R[users] @ R.T).todense()) / np.outer(norms[users], norms).clip(1e-12)
    sims[np.arange(len(users)), users] = -np.inf
    kept, error = [], []
    stars = (np.arange(_N_STARS) + 1) / 2
    for row, u in enumerate(users):
        nbrs = np.argpartition(-sims[row], k - 1)[:k]
        score = np.asarray(sims[row, nbrs] @ R[nbrs].toarray())
        score[R[int(u)].indices] = -np.inf
        recs = np.argsort(-score, kind="stable")[:n_recs]
        hist = _histograms(R, nbrs, recs)
        shown = _noisy(hist, epsilon, gen)
        have = hist.sum(0) > 0
        kept.append(np.mean((shown.argmax(0) == hist.argmax(0))[have]) if have.any() else 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            true_mean = stars @ hist / hist.sum(0)
            shown_mean = np.where(shown.sum(0) > 0, stars @ shown / shown.sum(0), 2.75)
        error.append(np.mean(np.abs(shown_mean - true_mean)[have]) if have.any() else 0.0)
    on = f"top-{n_recs} explanations of {len(users)} users"
    return HistogramFidelity(epsilon=epsilon, mode_kept=_bootstrap_mean(kept, on, seed),
                             mean_error=_bootstrap_mean(error, on, seed))
