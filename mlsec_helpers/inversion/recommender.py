"""Recommender: what a film's public "related items" list gives away of one user's new rating.

Introduced in lab 06 (Model inversion). The attack is Calandrino et al.'s ("You might also
like: privacy risks of collaborative filtering", IEEE S&P 2011): a service publishes, on each
film's page, the films most similar to it by co-ratings ("people who liked this also liked").
An attacker who knows some of a target's past ratings watches the lists of those films across
two publications; the film that entered or rose in many of them is the guess of what the
target rated in between. What leaks is the public list, not the recommender's private model.

What the file holds:

- the public surface: :func:`related_items_service` (the catalogue, the rating matrix and its
  co-rating products), :func:`related_items_similarity` (item-item cosine, exact after any new
  ratings), :func:`related_items_lists` (the published top-k lists, optionally with noise);
- the episode the lab measures: :func:`related_items_window` (targets, what the attacker knows,
  the target's real next rating and the other users' ratings in the same window);
- the attack: :func:`related_items_rank_gain` (how far each film rose in each list) and
  :func:`related_items_attack` (guesses, hit rates against two baselines, the lists' quality).
"""

from __future__ import annotations

import numpy as np

from ..stats import proportion
from ..validate import check_array, check_int, check_number, check_seed
from .results import RelatedItemsAttack, RelatedItemsService, RelatedItemsWindow

__all__ = [
    "related_items_attack",
    "related_items_lists",
    "related_items_rank_gain",
    "related_items_service",
    "related_items_similarity",
    "related_items_window",
]


def related_items_service(data, *, min_ratings: int = 10) -> RelatedItemsService:
    """The public surface of a film service built on lab 00's MovieLens data: the catalogue of
    films with at least ``min_ratings`` training ratings (a service lists only films with
    enough co-ratings), the (film x user) star matrix of the training ratings, its co-rating
    products and norms (what item-item cosine needs), and the held-out ratings that users add
    later (each user's most recent ratings, restricted to the catalogue).

    Introduced in lab 06 (Model inversion).
    """
    if getattr(data, "domain", None) != "recommender" or "n_users" not in getattr(
            data, "extra", {}):
        raise ValueError("data must be the recommender dataset: load_dataset('recommender')")
    min_ratings = check_int(min_ratings, "min_ratings", minimum=1)
    n_users, n_items = int(data.extra["n_users"]), int(data.extra["n_items"])
    counts = np.bincount(data.X_train[:, 1], minlength=n_items)
    items = np.flatnonzero(counts >= min_ratings)
    if len(items) < 2:
        raise ValueError(f"min_ratings={min_ratings} leaves fewer than 2 films in the catalogue")
    position = np.full(n_items, -1)
    position[items] = np.arange(len(items))
    keep = position[data.X_train[:, 1]] >= 0
    ratings = np.zeros((len(items), n_users), np.float32)
    ratings[position[data.X_train[keep, 1]], data.X_train[keep, 0]] = data.y_train[keep]
    # co-rating products; cosine(a, b) = gram[a, b] / (|a| |b|). Half stars make every
    # product a multiple of 1/4, so these sums are exact in float32 (far below 2**22).
    gram = ratings @ ratings.T
    test_keep = position[data.X_test[:, 1]] >= 0
    titles = data.extra.get("titles")
    return RelatedItemsService(
        ratings=ratings, gram=gram, norms=np.sqrt(np.diag(gram).astype(np.float64)),
        items=items, titles=[titles[i] for i in items] if titles else [],
        new_users=data.X_test[test_keep, 0].astype(np.int64),
        new_items=position[data.X_test[test_keep, 1]].astype(np.int64),
        new_stars=data.y_test[test_keep].astype(np.float32),
        popularity=(ratings > 0).sum(1).astype(np.int64))


def _check_service(service) -> RelatedItemsService:
    if not isinstance(service, RelatedItemsService):
        raise ValueError("service must come from related_items_service(data)")
    return service


def related_items_similarity(service, rows, *, users=None, items=None,
                             stars=None) -> np.ndarray:
    """Item-item cosine similarity of the star matrix, for the films ``rows`` against every
    film of the catalogue, after adding new ratings; an item is never its own related item
    (its self-similarity is ``-inf``).

    ``rows``: (T, r) catalogue indices, one row per scenario; ``users``, ``items``, ``stars``:
    (T, E) new ratings per scenario (one per distinct user within a scenario, a film the user
    had not rated), or all three ``None`` for the published state. Returns (T, r, n_films)
    float32.

    The new ratings update the co-rating products incrementally, as a service maintaining
    item-to-item counts does; the result equals recomputing the cosine from scratch (the unit
    tests check it against scikit-learn's ``cosine_similarity``), at a cost of a few films'
    products instead of the whole matrix, which is what lets the lab simulate hundreds of
    publications in a second. No library updates a cosine incrementally.

    Introduced in lab 06 (Model inversion).
    """
    service = _check_service(service)
    n_films, n_users = service.ratings.shape
    rows = np.asarray(rows)
    if rows.ndim != 2 or not np.issubdtype(rows.dtype, np.integer) or rows.size == 0:
        raise ValueError(f"rows must be a non-empty (T, r) integer array, got shape {rows.shape}")
    if rows.min() < 0 or rows.max() >= n_films:
        raise ValueError(f"rows must hold catalogue indices in 0..{n_films - 1}")
    T, r = rows.shape
    gram = service.gram[rows]  # (T, r, n)
    sq_norms = np.broadcast_to(service.norms ** 2, (T, n_films)).copy()
    given = [x is not None for x in (users, items, stars)]
    if any(given) and not all(given):
        raise ValueError("users, items and stars go together: give all three or none")
    if all(given):
        users, items = np.asarray(users), np.asarray(items)
        stars = check_array(stars, "stars", ndim=2, dtype=np.float32)
        for name, a in (("users", users), ("items", items)):
            if a.ndim != 2 or a.shape[0] != T or not np.issubdtype(a.dtype, np.integer):
                raise ValueError(f"{name} must be a ({T}, E) integer array, got shape {a.shape}")
        if users.shape != items.shape or stars.shape != users.shape:
            raise ValueError("users, items and stars must have the same (T, E) shape")
        if users.size and (users.min() < 0 or users.max() >= n_users):
            raise ValueError(f"users must lie in 0..{n_users - 1}")
        if items.size and (items.min() < 0 or items.max() >= n_films):
            raise ValueError(f"items must lie in 0..{n_films - 1}")
        if (np.sort(users, axis=1)[:, 1:] == np.sort(users, axis=1)[:, :-1]).any():
            raise ValueError("each scenario may hold at most one new rating per user")
        if (service.ratings[items, users] != 0).any():
            raise ValueError("a new rating must be of a film the user had not rated")
        # A new rating (u, i, v) adds v * R[a, u] to gram[a, i] for every listed film a ...
        added = service.ratings[rows[:, :, None], users[:, None, :]] * stars[:, None, :]
        t_idx, a_idx, e_idx = np.nonzero(added)
        np.add.at(gram, (t_idx, a_idx, items[t_idx, e_idx]), added[t_idx, a_idx, e_idx])
        # ... and v * R[j, u] to gram[a, j] for every film j when a itself is the new rating's
        # film (each user adds one rating, so no pair of new ratings shares a user).
        hit_t, hit_a, hit_e = np.nonzero(rows[:, :, None] == items[:, None, :])
        if len(hit_t):
            np.add.at(gram, (hit_t, hit_a), (stars[hit_t, hit_e][:, None]
                                             * service.ratings[:, users[hit_t, hit_e]].T))
        flat_items = (np.arange(T)[:, None] * n_films + items).ravel()
        sq_norms += np.bincount(flat_items, weights=(stars ** 2).ravel(),
                                minlength=T * n_films).reshape(T, n_films)
    norms = np.sqrt(sq_norms).astype(np.float32)
    row_norms = np.take_along_axis(norms, rows, axis=1)
    # every catalogue film has a rating, so no norm is 0
    sim = gram
    sim /= row_norms[:, :, None]
    sim /= norms[:, None, :]
    np.put_along_axis(sim, rows[:, :, None], -np.inf, axis=2)
    return sim


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest entries along the last axis, best first (ties: lower index)."""
    part = np.argpartition(-scores, k - 1, axis=-1)[..., :k]
    vals = np.take_along_axis(scores, part, -1)
    order = np.lexsort((part, -vals), axis=-1)
    return np.take_along_axis(part, order, -1)


def _shortlist(sim: np.ndarray, shortlist: int) -> tuple[np.ndarray, np.ndarray]:
    near = _top(sim, shortlist)
    return near, np.take_along_axis(sim, near, -1)


def _publish(near, near_sim, k, noise, n_renders, gen) -> np.ndarray:
    """Lists from each film's shortlist (sorted best first), with fresh noise per render."""
    if noise == 0:
        return np.broadcast_to(near[..., :k], (n_renders, *near.shape[:-1], k)).copy()
    noisy = gen.standard_normal((n_renders, *near_sim.shape), dtype=np.float32)
    noisy *= np.float32(noise)
    noisy += near_sim[None]
    # continuous noise leaves no ties, so a plain sort of the top k orders them
    part = np.argpartition(-noisy, k - 1, axis=-1)[..., :k]
    part = np.take_along_axis(part, np.argsort(-np.take_along_axis(noisy, part, -1), -1), -1)
    return np.take_along_axis(np.broadcast_to(near, noisy.shape), part, -1)


def related_items_lists(similarity, k: int = 20, *, noise: float = 0.0, n_renders: int = 1,
                        shortlist: int = 50, seed: int = 0) -> np.ndarray:
    """The published "related items" lists: the ``k`` films most similar to each listed film,
    best first. Returns (n_renders, ..., k) catalogue indices for a (..., n_films) similarity.

    The noise defence: each time a page is rendered, the service adds fresh Gaussian noise of
    standard deviation ``noise`` (cosine units) to the similarities of the film's ``shortlist``
    nearest films and publishes the top ``k`` of that noisy ranking (films beyond the shortlist
    are never listed). ``n_renders`` renders draw independent noise, as reloading the page
    does; with ``noise=0`` every render is the exact list.

    Introduced in lab 06 (Model inversion).
    """
    sim = check_array(similarity, "similarity", dtype=np.float32, finite=False)
    if sim.ndim < 1 or np.isnan(sim).any():
        raise ValueError("similarity must be an array of cosines without NaN")
    k, noise, n_renders, shortlist = _check_publication(k, noise, n_renders, shortlist,
                                                        sim.shape[-1])
    seed = check_seed(seed)
    near, near_sim = _shortlist(sim, shortlist)
    return _publish(near, near_sim, k, noise, n_renders, np.random.default_rng(seed))


def _check_publication(k, noise, n_renders, shortlist, n_films):
    k = check_int(k, "k")
    noise = check_number(noise, "noise", low=0.0)
    n_renders = check_int(n_renders, "n_renders")
    shortlist = check_int(shortlist, "shortlist")
    if shortlist < k or shortlist > n_films - 1:  # an item is never its own related item
        raise ValueError(f"shortlist must lie in [k, n_films - 1] = [{k}, {n_films - 1}], got "
                         f"{shortlist}")
    return k, noise, n_renders, shortlist


def related_items_rank_gain(before, after, *, n_films: int) -> np.ndarray:
    """How far each film rose in a scenario's watched lists between two publications, summed
    over the lists: a film's rank weight in a list is ``(k - position) / k`` (1 at the top,
    1/k at the bottom, 0 when absent), averaged over the renders of each publication; the
    gain is after minus before. ``before``/``after``: (n_renders, T, r, k) lists of the same
    r films per scenario (:func:`related_items_lists`). Returns (T, n_films).

    Calandrino et al. score a candidate by the lists it newly entered or rose in; this weight
    counts both, a jump into the top counting most.

    Introduced in lab 06 (Model inversion).
    """
    n_films = check_int(n_films, "n_films")
    out = []
    for name, lists in (("before", before), ("after", after)):
        lists = np.asarray(lists)
        if lists.ndim != 4 or not np.issubdtype(lists.dtype, np.integer):
            raise ValueError(f"{name} must be an (n_renders, T, r, k) integer array of lists, "
                             f"got shape {lists.shape}")
        if lists.size and (lists.min() < 0 or lists.max() >= n_films):
            raise ValueError(f"{name} must hold film indices in 0..{n_films - 1}")
        out.append(lists)
    before, after = out
    if before.shape[1:] != after.shape[1:]:
        raise ValueError(f"before and after must list the same films with the same k, got "
                         f"{before.shape} and {after.shape}")
    return _weight_sum(after, n_films) - _weight_sum(before, n_films)


def _weight_sum(lists: np.ndarray, n_films: int) -> np.ndarray:
    """Each film's rank weight summed over a scenario's lists (R, T, r, k), averaged over
    renders: (T, n_films)."""
    T, k = lists.shape[1], lists.shape[-1]
    weight = np.broadcast_to((k - np.arange(k)) / k, lists.shape)
    index = np.arange(T)[None, :, None, None] * n_films + lists
    total = np.bincount(index.ravel(), weights=weight.ravel(), minlength=T * n_films)
    return (total / len(lists)).reshape(T, n_films)


def _weight_of(lists: np.ndarray, films: np.ndarray) -> np.ndarray:
    """Summed rank weight of each scenario's ``films`` (T, m) in its lists (R, T, c, k),
    averaged over renders: (T, c)."""
    k = lists.shape[-1]
    weight = (k - np.arange(k)) / k
    member = (lists[..., None] == films[None, :, None, None, :]).any(-1)  # (R, T, c, k)
    return (member * weight).sum(-1).mean(0)


def related_items_window(service, *, n_targets: int = 150, n_known: int = 20,
                         n_background: int = 20, shortlist: int = 50,
                         seed: int = 0) -> RelatedItemsWindow:
    """The episodes the lab measures, one per target user, between two publications.

    Each target is a user with at least ``n_known`` catalogue films among their training
    ratings and a held-out catalogue rating. The attacker knows ``n_known`` of the target's
    past ratings (drawn at random: from public reviews, say). Between the publications the
    target adds their real next rating (their first held-out catalogue film), and
    ``n_background`` other users each add one of their own held-out ratings, so the lists
    move for other reasons too. Everything drawn comes from ``seed``.

    The window also holds the service's exact scores behind the known films' lists before and
    after: each list's ``shortlist`` nearest films and their cosines
    (:func:`related_items_similarity`), from which every publication rule the lab compares
    draws its lists.

    Introduced in lab 06 (Model inversion).
    """
    service = _check_service(service)
    n_targets = check_int(n_targets, "n_targets")
    n_known = check_int(n_known, "n_known")
    n_background = check_int(n_background, "n_background", minimum=0)
    n_films = service.ratings.shape[0]
    shortlist = check_int(shortlist, "shortlist", maximum=n_films - 1)
    seed = check_seed(seed)
    gen = np.random.default_rng(seed)
    users_with_new = np.unique(service.new_users)
    eligible = users_with_new[(service.ratings[:, users_with_new] > 0).sum(0) >= n_known]
    if len(eligible) < n_targets:
        raise ValueError(f"only {len(eligible)} users have {n_known} catalogue ratings and a "
                         f"held-out one; ask for n_targets <= {len(eligible)}")
    if n_background > len(users_with_new) - 1:
        raise ValueError(f"n_background must be <= {len(users_with_new) - 1} (one rating per "
                         "other user)")
    targets = np.sort(gen.choice(eligible, n_targets, replace=False))
    # each user's first held-out catalogue rating (held-out rows are in time order per user)
    first = np.unique(service.new_users, return_index=True)[1]
    first_of = dict(zip(service.new_users[first], first, strict=True))
    starts = np.searchsorted(service.new_users, users_with_new)  # new_users is sorted by user
    ends = np.searchsorted(service.new_users, users_with_new, side="right")
    known = np.empty((n_targets, n_known), np.int64)
    users = np.empty((n_targets, n_background + 1), np.int64)
    rows = np.empty((n_targets, n_background + 1), np.int64)
    for t, u in enumerate(targets):
        known[t] = gen.choice(np.flatnonzero(service.ratings[:, u] > 0), n_known, replace=False)
        others = np.flatnonzero(users_with_new != u)
        picked = gen.choice(others, n_background, replace=False)
        users[t] = np.concatenate([[u], users_with_new[picked]])
        rows[t] = np.concatenate([[first_of[u]],
                                  gen.integers(starts[picked], ends[picked])])
    items, stars = service.new_items[rows], service.new_stars[rows]
    near_before, sim_before = _shortlist(related_items_similarity(service, known), shortlist)
    near_after, sim_after = _shortlist(
        related_items_similarity(service, known, users=users, items=items, stars=stars),
        shortlist)
    return RelatedItemsWindow(
        targets=targets, known=known, truth=items[:, 0], users=users, items=items,
        stars=stars, near_before=near_before, sim_before=sim_before, near_after=near_after,
        sim_after=sim_after)


def related_items_attack(service, window, *, k: int = 20, noise: float = 0.0,
                         n_renders: int = 1, second_look: int = 0, n_guesses: int = 5,
                         seed: int = 0) -> RelatedItemsAttack:
    """Calandrino et al.'s attack on every episode of ``window``, and two baselines.

    Access: the public lists of the ``n_known`` films the attacker knows the target rated,
    read ``n_renders`` times before and after the window (:func:`related_items_lists`, with
    the service's ``noise``). Each candidate film (any catalogue film the attacker does not
    know the target rated) scores the sum of its rank gains over those lists
    (:func:`related_items_rank_gain`); the best is the guess. With ``second_look > 0`` the
    attacker also reads the lists of its ``second_look`` best candidates and adds, for each,
    how far the target's known films rose in it: a film the target just rated moves toward
    the target's other films in its own list, and one rating moves a rarely rated film's
    list more than a popular one's. Every list is drawn with the window's shortlist (the
    service's noise rule, :func:`related_items_lists`).

    Baselines that do not watch the lists change: the most popular unknown film, and the film
    ranked highest in the known films' lists at the first publication (what item-to-item
    recommendation itself would suggest to the target).

    Introduced in lab 06 (Model inversion).
    """
    service = _check_service(service)
    if not isinstance(window, RelatedItemsWindow):
        raise ValueError("window must come from related_items_window(service)")
    n_films = service.ratings.shape[0]
    shortlist = window.near_before.shape[-1]
    k, noise, n_renders, shortlist = _check_publication(k, noise, n_renders, shortlist,
                                                        n_films)
    second_look = check_int(second_look, "second_look", minimum=0, maximum=n_films)
    n_guesses = check_int(n_guesses, "n_guesses", maximum=n_films)
    gen = np.random.default_rng(check_seed(seed))
    T, m = window.known.shape
    new = dict(users=window.users, items=window.items, stars=window.stars)
    before = _publish(window.near_before, window.sim_before, k, noise, n_renders, gen)
    after = _publish(window.near_after, window.sim_after, k, noise, n_renders, gen)
    exact_before, exact_after = window.near_before[..., :k], window.near_after[..., :k]
    score = related_items_rank_gain(before, after, n_films=n_films)  # (T, n_films)
    unknown = np.ones((T, n_films), bool)
    unknown[np.arange(T)[:, None], window.known] = False
    score[~unknown] = -np.inf
    queries = 2 * n_renders * m
    if second_look:
        cand = _top(score, second_look)  # (T, c)
        c_before = _publish(*_shortlist(related_items_similarity(service, cand), shortlist),
                            k, noise, n_renders, gen)
        c_after = _publish(*_shortlist(related_items_similarity(service, cand, **new),
                                       shortlist), k, noise, n_renders, gen)
        back = _weight_of(c_after, window.known) - _weight_of(c_before, window.known)
        np.put_along_axis(score, cand, np.take_along_axis(score, cand, 1) + back, 1)
        queries += 2 * n_renders * second_look
    guesses = _top(score, n_guesses)
    truth = window.truth
    popular = np.where(unknown, service.popularity[None, :], -1)
    static = _weight_sum(exact_before[None], n_films)
    static[~unknown] = -np.inf
    on = f"{T} target users, {n_films} films"

    def overlap(a, b):  # mean share of list a's films that list b also holds
        return float((a[..., :, None] == b[..., None, :]).any(-1).mean())

    return RelatedItemsAttack(
        top1=proportion(guesses[:, 0] == truth, on=on),
        top_n=proportion((guesses == truth[:, None]).any(1), on=on),
        n_guesses=n_guesses,
        popular_baseline=proportion(np.argmax(popular, 1) == truth, on=on),
        static_baseline=proportion(np.argmax(static, 1) == truth, on=on),
        list_overlap=overlap(before, exact_before[None]),
        stale_overlap=overlap(exact_after, exact_before),
        guesses=guesses, truth=truth, queries=int(queries),
        chance=1.0 / (n_films - m))
