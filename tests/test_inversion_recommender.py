"""Lab 06's recommender section: the related-items lists and Calandrino et al.'s attack."""

import numpy as np
import pytest
from sklearn.metrics.pairwise import cosine_similarity

from mlsec_helpers.data import Dataset, load_dataset
from mlsec_helpers.inversion import recommender as rec
from mlsec_helpers.validate import ArgumentTypeError

N_USERS, N_ITEMS = 40, 25


def _toy(seed=0):
    """40 users, 25 films, about 40% rated in half stars; each user holds 2 later ratings."""
    gen = np.random.default_rng(seed)
    rated = gen.random((N_USERS, N_ITEMS)) < 0.4
    stars = gen.integers(1, 11, size=(N_USERS, N_ITEMS)) / 2
    train, test = [], []
    for u in range(N_USERS):
        unrated = np.flatnonzero(~rated[u])
        later = gen.choice(unrated, 2, replace=False)
        test += [(u, i, stars[u, i]) for i in later]
        train += [(u, i, stars[u, i]) for i in np.flatnonzero(rated[u])]
    train, test = np.array(train), np.array(test)
    return Dataset(
        name="toy", domain="recommender",
        X_train=train[:, :2].astype(np.int64), X_test=test[:, :2].astype(np.int64),
        y_train=train[:, 2].astype(np.float32), y_test=test[:, 2].astype(np.float32),
        feature_names=["user", "item"], target_names=[], seed=seed,
        extra={"n_users": N_USERS, "n_items": N_ITEMS,
               "titles": [f"film {i}" for i in range(N_ITEMS)]})


@pytest.fixture(scope="module")
def toy():
    return rec.related_items_service(_toy(), min_ratings=1)


@pytest.fixture(scope="module")
def movies():
    return rec.related_items_service(load_dataset("recommender", seed=0))


def test_the_service_holds_the_catalogue_and_its_products(toy):
    data = _toy()
    assert toy.ratings.shape == (N_ITEMS, N_USERS)
    np.testing.assert_array_equal(toy.ratings[data.X_train[:, 1], data.X_train[:, 0]],
                                  data.y_train)
    np.testing.assert_allclose(toy.gram, toy.ratings @ toy.ratings.T)
    assert toy.new_users.shape == toy.new_items.shape == toy.new_stars.shape == (2 * N_USERS,)
    assert (np.diff(toy.new_users) >= 0).all()


def test_a_min_ratings_threshold_shrinks_the_catalogue():
    data = _toy()
    service = rec.related_items_service(data, min_ratings=16)
    counts = np.bincount(data.X_train[:, 1], minlength=N_ITEMS)
    np.testing.assert_array_equal(service.items, np.flatnonzero(counts >= 16))
    assert 2 <= len(service.items) < N_ITEMS
    assert service.titles == [f"film {i}" for i in service.items]


def test_the_incremental_cosine_equals_recomputing_it_with_sklearn(toy):
    gen = np.random.default_rng(1)
    rows = np.array([[0, 3, 7], [2, 3, 11]])
    # scenario 0: three users rate films they had not rated (one of them a listed film)
    users, items, stars = [], [], []
    for _ in range(2):
        us = gen.choice(N_USERS, 3, replace=False)
        its = [gen.choice(np.flatnonzero(toy.ratings[:, u] == 0)) for u in us]
        users.append(us)
        items.append(its)
        stars.append(gen.integers(1, 11, size=3) / 2)
    items[0][0] = int(np.flatnonzero(toy.ratings[:, users[0][0]] == 0)[0])
    rows[0, 0] = items[0][0]
    users, items, stars = np.array(users), np.array(items), np.array(stars)
    got = rec.related_items_similarity(toy, rows, users=users, items=items, stars=stars)
    for t in range(2):
        after = toy.ratings.copy()
        after[items[t], users[t]] = stars[t]
        want = cosine_similarity(after)[rows[t]]
        want[np.arange(3), rows[t]] = -np.inf
        np.testing.assert_allclose(got[t], want, rtol=1e-5, atol=1e-6)
    before = rec.related_items_similarity(toy, rows)
    want = cosine_similarity(toy.ratings)[rows[1]]
    want[np.arange(3), rows[1]] = -np.inf
    np.testing.assert_allclose(before[1], want, rtol=1e-5, atol=1e-6)


def test_exact_lists_are_the_top_k_and_never_the_film_itself(toy):
    rows = np.arange(N_ITEMS)[None, :]
    sim = rec.related_items_similarity(toy, rows)
    lists = rec.related_items_lists(sim, 5, shortlist=10, n_renders=3)
    assert lists.shape == (3, 1, N_ITEMS, 5)
    assert (lists == lists[0]).all()  # without noise every render is the same
    np.testing.assert_array_equal(lists[0, 0], np.argsort(-sim[0], axis=1, kind="stable")[:, :5])
    assert not (lists[0, 0] == np.arange(N_ITEMS)[:, None]).any()


def test_noisy_lists_are_seeded_and_stay_in_the_shortlist(toy, unchanged_global_state):
    sim = rec.related_items_similarity(toy, np.arange(N_ITEMS)[None, :])
    a = rec.related_items_lists(sim, 5, noise=0.05, n_renders=4, shortlist=8, seed=3)
    b = rec.related_items_lists(sim, 5, noise=0.05, n_renders=4, shortlist=8, seed=3)
    np.testing.assert_array_equal(a, b)
    assert not (a == a[0]).all()  # fresh noise per render
    near = np.argsort(-sim[0], axis=1, kind="stable")[:, :8]
    assert all(np.isin(a[r, 0, i], near[i]).all() for r in range(4) for i in range(N_ITEMS))


def test_rank_gain_counts_entries_and_rises():
    before = np.array([[[[0, 1, 2]]]])  # one render, one scenario, one list, k = 3
    after = np.array([[[[3, 0, 1]]]])
    gain = rec.related_items_rank_gain(before, after, n_films=5)
    np.testing.assert_allclose(gain, [[-1 / 3, -1 / 3, -1 / 3, 1.0, 0.0]])
    renders = np.array([[[[0, 1, 2]]], [[[1, 0, 2]]]])  # averaged over renders
    np.testing.assert_allclose(rec.related_items_rank_gain(renders, renders, n_films=3), 0.0)


def test_the_window_draws_what_the_lab_says(toy):
    w = rec.related_items_window(toy, n_targets=10, n_known=3, n_background=4, shortlist=6,
                                 seed=0)
    assert w.known.shape == (10, 3) and w.users.shape == w.items.shape == (10, 5)
    for t, u in enumerate(w.targets):
        assert (toy.ratings[w.known[t], u] > 0).all()  # the attacker's films: the target's
        assert toy.ratings[w.truth[t], u] == 0  # the new film is one the target had not rated
        first = np.flatnonzero(toy.new_users == u)[0]
        assert w.truth[t] == toy.new_items[first]  # ... their next real rating
        assert len(set(w.users[t])) == 5 and w.users[t, 0] == u
    assert w.near_before.shape == w.sim_after.shape == (10, 3, 6)
    again = rec.related_items_window(toy, n_targets=10, n_known=3, n_background=4, shortlist=6,
                                     seed=0)
    np.testing.assert_array_equal(w.items, again.items)


def test_the_attack_finds_new_films_on_movielens(movies, unchanged_global_state):
    w = rec.related_items_window(movies, n_targets=60, n_known=20, n_background=20, seed=0)
    plain = rec.related_items_attack(movies, w, seed=0)
    assert plain.top1.value >= 0.2
    assert plain.top1.value > plain.popular_baseline.value + 0.1
    assert plain.top1.value > plain.static_baseline.value + 0.1
    assert plain.list_overlap == 1.0 and plain.queries == 40
    assert plain.top_n.value >= plain.top1.value
    noisy = rec.related_items_attack(movies, w, noise=0.02, seed=0)
    assert noisy.top1.value < plain.top1.value and noisy.list_overlap < 0.95
    again = rec.related_items_attack(movies, w, noise=0.02, seed=0)
    np.testing.assert_array_equal(noisy.guesses, again.guesses)
    second = rec.related_items_attack(movies, w, second_look=10, n_guesses=3, seed=0)
    assert second.queries == 60 and second.guesses.shape == (60, 3)
    known = np.zeros((60, len(movies.items)), bool)
    known[np.arange(60)[:, None], w.known] = True
    assert not known[np.arange(60)[:, None], second.guesses].any()  # never a known film


@pytest.mark.parametrize(("kwargs", "error"), [
    (dict(k=0), ValueError), (dict(k=2.5), ArgumentTypeError), (dict(noise=-0.1), ValueError),
    (dict(noise="a"), ArgumentTypeError), (dict(n_renders=0), ValueError),
    (dict(shortlist=3), ValueError), (dict(shortlist=N_ITEMS), ValueError),
    (dict(seed=-1), ValueError),
])
def test_lists_reject_bad_arguments(toy, kwargs, error):
    sim = rec.related_items_similarity(toy, np.array([[0, 1]]))
    with pytest.raises(error):
        rec.related_items_lists(sim, **({"k": 5, "shortlist": 8} | kwargs))


def test_bad_inputs_raise_clear_errors(toy):
    with pytest.raises(ValueError, match="recommender dataset"):
        rec.related_items_service(load_dataset("fraud", seed=0))
    with pytest.raises(ValueError, match="min_ratings"):
        rec.related_items_service(_toy(), min_ratings=1000)
    with pytest.raises(ValueError, match="service"):
        rec.related_items_similarity("service", np.array([[0]]))
    with pytest.raises(ValueError, match="rows"):
        rec.related_items_similarity(toy, np.array([0, 1]))
    with pytest.raises(ValueError, match="rows"):
        rec.related_items_similarity(toy, np.array([[N_ITEMS]]))
    with pytest.raises(ValueError, match="together"):
        rec.related_items_similarity(toy, np.array([[0]]), users=np.array([[0]]))
    rated = int(np.flatnonzero(toy.ratings[:, 0] > 0)[0])
    with pytest.raises(ValueError, match="not rated"):
        rec.related_items_similarity(toy, np.array([[0]]), users=np.array([[0]]),
                                     items=np.array([[rated]]), stars=np.array([[3.0]]))
    unrated = np.flatnonzero(toy.ratings[:, 0] == 0)[:2]
    with pytest.raises(ValueError, match="one new rating per user"):
        rec.related_items_similarity(toy, np.array([[0]]), users=np.array([[0, 0]]),
                                     items=unrated[None], stars=np.array([[3.0, 2.0]]))
    with pytest.raises(ValueError, match="film indices"):
        rec.related_items_rank_gain(np.array([[[[0, 9]]]]), np.array([[[[0, 1]]]]), n_films=5)
    with pytest.raises(ValueError, match="same films"):
        rec.related_items_rank_gain(np.zeros((1, 1, 1, 2), int), np.zeros((1, 1, 2, 2), int),
                                    n_films=5)
    with pytest.raises(ValueError, match="n_targets"):
        rec.related_items_window(toy, n_targets=1000, n_known=3, shortlist=6)
    with pytest.raises(ValueError, match="shortlist"):
        rec.related_items_window(toy, n_targets=2, n_known=3, shortlist=N_ITEMS)
    with pytest.raises(ValueError, match="n_background"):
        rec.related_items_window(toy, n_targets=2, n_known=3, n_background=1000, shortlist=6)
    with pytest.raises(ArgumentTypeError):
        rec.related_items_window(toy, n_targets=2.0)
    w = rec.related_items_window(toy, n_targets=4, n_known=3, n_background=2, shortlist=6)
    with pytest.raises(ValueError, match="window"):
        rec.related_items_attack(toy, "window")
    with pytest.raises(ValueError, match="shortlist"):
        rec.related_items_attack(toy, w, k=10)
    with pytest.raises(ValueError):
        rec.related_items_attack(toy, w, k=3, second_look=-1)
