"""Lab 09's recommender section: federated matrix factorisation, shilling exposure, what an
update reveals."""

import numpy as np
import pytest

from mlsec_helpers.federated import common as fl_common
from mlsec_helpers.federated import recommender as fl_rec
from mlsec_helpers.validate import ArgumentTypeError

N_USERS, N_ITEMS = 30, 14


def _toy(seed=0):
    """30 viewers, 14 films (film 13 never rated), about half rated in half stars; 2 held out
    per viewer."""
    gen = np.random.default_rng(seed)
    rated = gen.random((N_USERS, N_ITEMS)) < 0.5
    rated[:, 13] = False
    rated[:, 0] = True
    stars = gen.integers(1, 11, size=(N_USERS, N_ITEMS)) / 2
    train = [(u, i, stars[u, i]) for u in range(N_USERS) for i in np.flatnonzero(rated[u])]
    test = [(u, i, 5.0) for u in range(N_USERS)
            for i in gen.choice(np.flatnonzero(~rated[u, :13]), 2, replace=False)]
    train, test = np.array(train), np.array(test)
    return (train[:, :2].astype(np.int64), train[:, 2], test[:, :2].astype(np.int64),
            test[:, 2])


def _federation(clients=None, **kwargs):
    X, y, _, _ = _toy()
    clients = clients or [np.arange(0, 10), np.arange(10, 20), np.arange(20, 30)]
    return fl_rec.MFFederation(X, y, clients, N_USERS, np.arange(13), dim=3, **kwargs)


def test_catalogue_items_known_answer():
    X = np.array([[0, 1], [1, 1], [2, 1], [0, 2], [1, 2]] + [[0, k] for k in range(3, 20)])
    items = fl_rec.catalogue_items(X, 25, min_ratings=1)
    np.testing.assert_array_equal(items, np.arange(1, 20))
    with pytest.raises(ValueError):
        fl_rec.catalogue_items(X, 25, min_ratings=3)  # only film 1 has 3 ratings


def test_agree_mean_rating_is_the_mean():
    y = np.array([1.0, 2.0, 4.5, 3.0, 5.0])
    owner = np.array([0, 1, 1, 2, 0])
    assert fl_rec.agree_mean_rating(y, owner, 3, seed=1) == pytest.approx(y.mean(), abs=1e-6)
    with pytest.raises(ValueError):
        fl_rec.agree_mean_rating(y, owner, 2)  # client 2 does not exist


def test_updates_are_zero_on_films_a_client_did_not_rate():
    fed = _federation()
    X, _, _, _ = _toy()
    updates = fed.local_updates(fed.initial(seed=0))
    assert updates.shape == (3, fed.n_params)
    for c, users in enumerate([range(0, 10), range(10, 20), range(20, 30)]):
        rated = np.zeros(13, dtype=bool)
        rated[X[np.isin(X[:, 0], list(users)), 1]] = True
        moved = fl_rec.rated_items_from_update(updates[c], 13, 3)
        np.testing.assert_array_equal(moved, rated)


def test_batched_clients_equal_one_by_one():
    clients = [np.arange(0, 10), np.arange(10, 20), np.arange(20, 30)]
    fed = _federation(clients)
    params = fed.initial(seed=2)
    together = fed.local_updates(params)
    for c, users in enumerate(clients):
        alone = _federation([users], mu=fed.mu).local_updates(params)[0]
        np.testing.assert_allclose(together[c], alone, atol=1e-10)


def test_pooled_item_step_is_the_ridge_solution():
    """One client, prox 0: film 0's new [q, b] solves its ridge regression given the viewers'
    refitted factors."""
    X, y, _, _ = _toy()
    fed = fl_rec.MFFederation(X, y, [np.arange(N_USERS)], N_USERS, np.arange(13), dim=3,
                              lam=2.0, prox=0.0, mu=3.0)
    params = fed.initial(seed=0)
    P, bu = fed.user_factors(params)
    new = params + fed.local_updates(params)[0]
    rows = X[:, 1] == 0
    feats = np.hstack([P[X[rows, 0]], np.ones((rows.sum(), 1))])
    target = y[rows] - 3.0 - bu[X[rows, 0]]
    want = np.linalg.solve(feats.T @ feats + 2.0 * np.eye(4), feats.T @ target)
    np.testing.assert_allclose(np.r_[new[:3], new[3 * 13]], want, atol=1e-10)


def test_hit_rate_and_scores():
    X, y, X_test, y_test = _toy()
    fed = _federation()
    run = fl_common.run_federation(fed.initial(seed=0), fed.local_train, 3, 3)
    S = fed.scores(run.params)
    assert S.shape == (N_USERS, 13) and np.all(np.isfinite(S))
    rate = fed.hit_rate(run.params, X_test, y_test, k=3)
    assert 0.0 <= rate.value <= 1.0 and rate.n == N_USERS
    pairs, ratings = fed.to_catalogue(np.array([[0, 13], [1, 2]]), np.array([4.0, 5.0]))
    np.testing.assert_array_equal(pairs, [[1, 2]])
    np.testing.assert_array_equal(ratings, [5.0])


def test_target_exposure_known_answer():
    scores = np.array([[5.0, 4.0, 3.0, 2.0], [1.0, 2.0, 3.0, 4.0], [4.0, 5.0, 0.0, 3.0]])
    rate = fl_rec.target_exposure(scores, 2, np.array([0, 1, 2]), k=2)
    assert rate.successes == 1  # only viewer 1 has film 2 in its top 2
    seen = np.array([[0, 0]])  # viewer 0 has seen film 0: film 2 moves into its top 2
    assert fl_rec.target_exposure(scores, 2, np.array([0, 1, 2]), seen=seen, k=2).successes == 2
    with pytest.raises(ValueError):
        fl_rec.target_exposure(scores, 4, np.array([0]))
    with pytest.raises(ValueError):
        fl_rec.target_exposure(scores, 1, np.array([0]), k=4)


def test_rated_items_from_update_known_answer():
    update = np.zeros(3 * 3)
    update[1] = 0.5  # film 0's factor
    update[6 + 2] = -1e-3  # film 2's bias
    np.testing.assert_array_equal(fl_rec.rated_items_from_update(update, 3, 2),
                                  [True, False, True])
    np.testing.assert_array_equal(fl_rec.rated_items_from_update(update, 3, 2, tol=0.01),
                                  [True, False, False])
    with pytest.raises(ValueError):
        fl_rec.rated_items_from_update(update, 4, 2)


def test_bad_input():
    X, y, _, _ = _toy()
    with pytest.raises(ValueError):
        _federation([np.arange(0, 10), np.arange(5, 20)])  # shared viewers
    with pytest.raises(ValueError):
        _federation([np.array([], dtype=int)])
    with pytest.raises(ValueError):
        fl_rec.MFFederation(X, y, [np.arange(N_USERS)], N_USERS, np.array([1, 1, 2]))
    fed = _federation()
    with pytest.raises(ValueError):
        fed.local_updates(np.zeros(5))
    with pytest.raises(ArgumentTypeError):
        fed.local_train(1.5, fed.initial(), 0)
    with pytest.raises(ValueError):
        fed.local_train(3, fed.initial(), 0)
    with pytest.raises(ValueError):
        fl_rec.MFFederation(X, y, [np.arange(N_USERS)], N_USERS, np.arange(13), lam=0.0)


def test_federation_is_deterministic_and_leaves_global_state(unchanged_global_state):
    fed = _federation()
    runs = [fl_common.run_federation(
        fed.initial(seed=4), fed.local_train, 3, 2, rule="median", malicious=[0],
        attack=lambda own, benign, rnd: 4.0 * own, seed=4) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].params, runs[1].params)
