import numpy as np
import pytest

from mlsec_helpers import extraction, systems
from mlsec_helpers.extraction import recommender as xrec
from mlsec_helpers.validate import ArgumentTypeError

N_USERS, N_ITEMS = 40, 60


@pytest.fixture(scope="module")
def victim():
    """A small factorisation trained on structured random ratings (two taste groups)."""
    gen = np.random.default_rng(0)
    users = np.repeat(np.arange(N_USERS), 20)
    items = np.concatenate([gen.choice(N_ITEMS, 20, replace=False) for _ in range(N_USERS)])
    taste = np.where((users % 2) == (items % 2), 4.5, 2.0)
    y = np.clip(np.round((taste + gen.normal(0, 0.5, len(users))) * 2) / 2, 0.5, 5.0)
    X = np.stack([users, items], axis=1)
    model = systems.MFRecommender(N_USERS, N_ITEMS, dim=4, epochs=30, lr=0.05, seed=0)
    return model.fit(X, y), X, y


def test_fold_in_scores_is_the_ridge_fold_in(victim):
    system, _, _ = victim
    Q = system.model.Q.weight.detach().numpy().astype(float)
    b = system.model.bi.weight.detach().numpy()[:, 0].astype(float)
    mu = float(system.model.mu)
    items, ratings = np.array([1, 4, 7]), np.array([5.0, 4.0, 1.0])
    p = np.linalg.solve(Q[items].T @ Q[items] + 2.0 * np.eye(4),
                        Q[items].T @ (ratings - mu - b[items]))
    s = xrec.fold_in_scores(system, [(items, ratings)], lam=2.0)
    assert s.shape == (1, N_ITEMS) and np.allclose(s[0], mu + b + Q @ p)


def test_top_k_lists_excludes_respects_the_mask_and_breaks_ties_by_index():
    scores = np.array([[1.0, 3.0, 3.0, 2.0, 0.0], [5.0, 4.0, 3.0, 2.0, 1.0]])
    assert xrec.top_k_lists(scores, 3).tolist() == [[1, 2, 3], [0, 1, 2]]
    allowed = np.array([True, True, False, True, True])
    out = xrec.top_k_lists(scores, 2, exclude=[[1], [0, 3]], allowed=allowed)
    assert out.tolist() == [[3, 0], [1, 4]]
    assert scores[0, 1] == 3.0  # the caller's array is unchanged


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"k": 6}, "exceeds"),
    ({"k": 0}, ">= 1"),
    ({"k": 2, "exclude": [[1]]}, "one item array per row"),
    ({"k": 2, "allowed": np.ones(4, dtype=bool)}, "boolean mask"),
])
def test_top_k_lists_rejects_bad_input(kwargs, words):
    with pytest.raises(ValueError, match=words):
        xrec.top_k_lists(np.zeros((2, 5)), **kwargs)


def test_list_api_answers_counts_and_enforces_the_quota(victim):
    system, _, _ = victim
    allowed = np.arange(N_ITEMS) < 50
    api = xrec.ListAPI(system, k=5, allowed=allowed, max_queries=3)
    profiles = [(np.array([0, 2]), np.array([5.0, 4.5])), (np.array([51, 3]), np.array([1.0, 5.0]))]
    lists = api(profiles)
    assert lists.shape == (2, 5) and api.queries == 2
    assert not set(lists[0]) & {0, 2} and (lists < 50).all()
    assert np.array_equal(lists, xrec.ListAPI(system, k=5, allowed=allowed)(profiles))
    with pytest.raises(extraction.QueryBudgetExceeded, match="3 lists"):
        api(profiles)
    assert api.queries == 2  # a refused call costs nothing
    assert xrec.ListAPI(system, k=5, mode="truncated", keep=2)(profiles).shape == (2, 2)


def test_perturbed_lists_vary_between_asks_and_repeat_for_a_seed(victim):
    system, _, _ = victim
    profiles = [(np.array([0, 2]), np.array([5.0, 4.5]))] * 20
    a = xrec.ListAPI(system, k=5, mode="perturbed", noise=1.0, seed=3)
    b = xrec.ListAPI(system, k=5, mode="perturbed", noise=1.0, seed=3)
    first = a(profiles)
    assert np.array_equal(first, b(profiles))
    assert len({tuple(r) for r in first}) > 1


@pytest.mark.parametrize(("kwargs", "error", "words"), [
    ({"mode": "shuffled"}, ValueError, "mode"),
    ({"mode": "perturbed"}, ValueError, "noise > 0"),
    ({"keep": 11}, ValueError, "keep"),
    ({"allowed": np.ones(3, dtype=bool)}, ValueError, "boolean mask"),
])
def test_list_api_rejects_bad_settings(victim, kwargs, error, words):
    with pytest.raises(error, match=words):
        xrec.ListAPI(victim[0], **kwargs)


@pytest.mark.parametrize(("profiles", "words"), [
    ([(np.array([1, 1]), np.array([5.0, 4.0]))], "at most once"),
    ([(np.array([1, N_ITEMS]), np.array([5.0, 4.0]))], "integer indices"),
    ([(np.array([1, 2]), np.array([5.0]))], "one rating per item"),
    ([], "at least one profile"),
    ([3], "Profile or an"),
])
def test_list_api_rejects_bad_profiles(victim, profiles, words):
    with pytest.raises(ValueError, match=words):
        xrec.ListAPI(victim[0])(profiles)


def test_list_api_needs_a_factorisation():
    with pytest.raises(ArgumentTypeError, match="MFRecommender"):
        xrec.ListAPI(systems.DiagnosisModel())


def test_overlap_at_k_counts_shared_items_ignoring_order():
    a = np.array([[1, 2, 3, 9], [4, 5, 6, 9]])
    b = np.array([[3, 2, 1, 8], [7, 8, 4, 9]])
    rate = xrec.overlap_at_k(a, b, 3, on="two rows")
    assert rate.value == pytest.approx((1.0 + 1 / 3) / 2) and rate.n == 2
    assert rate.low <= rate.value <= rate.high and rate.on == "two rows"
    assert xrec.overlap_at_k(a, a, 4).value == 1.0
    with pytest.raises(ValueError, match="at least k"):
        xrec.overlap_at_k(a, b, 5)
    with pytest.raises(ValueError, match="same, non-zero number of rows"):
        xrec.overlap_at_k(a, b[:1], 3)


def test_consensus_lists_vote_then_mean_position():
    answers = np.array([[[1, 2, 3]], [[2, 1, 4]], [[2, 5, 1]]])
    # 1 and 2 appear 3 times (2 has the better mean position), then 3, 4, 5 once each:
    # 3 (position 2), 5 (position 1 wins), 4 (position 2) -> 5, then 3 and 4 by index.
    assert xrec.consensus_lists(answers).tolist() == [[2, 1, 5]]
    assert xrec.consensus_lists(answers, 2).tolist() == [[2, 1]]
    with pytest.raises(ValueError, match="n_repeats"):
        xrec.consensus_lists(answers[0])
    with pytest.raises(ValueError, match="distinct"):
        xrec.consensus_lists(np.array([[[1, 1, 2]]]))


def test_synthetic_profiles_are_seeded_and_within_the_settings():
    catalogue = np.arange(10, 30)
    a = xrec.synthetic_profiles(catalogue, 5, size=(2, 4), seed=1)
    b = xrec.synthetic_profiles(catalogue, 5, size=(2, 4), seed=1)
    for p, q in zip(a, b, strict=True):
        assert np.array_equal(p.items, q.items) and np.array_equal(p.ratings, q.ratings)
        assert 2 <= len(p.items) <= 4 and set(p.items) <= set(catalogue)
        assert ((p.ratings >= 1) & (p.ratings <= 5) & (p.ratings * 2 % 1 == 0)).all()
    with pytest.raises(ValueError, match="size"):
        xrec.synthetic_profiles(catalogue, 5, size=(4, 2))
    with pytest.raises(ValueError, match="size"):
        xrec.synthetic_profiles(catalogue, 5, size=(2, 21))


def test_profiles_from_ratings_and_candidates(victim):
    _, X, y = victim
    honest = xrec.profiles_from_ratings(X, y, [0, 1])
    assert len(honest) == 2 and len(honest[0].items) == 20
    with pytest.raises(ValueError, match="no ratings"):
        xrec.profiles_from_ratings(X, y, [N_USERS + 5])
    mask = xrec.candidate_items(X, N_ITEMS, min_ratings=1)
    assert mask.dtype == bool and mask.sum() == len(np.unique(X[:, 1]))
    with pytest.raises(ValueError, match="integer"):
        xrec.candidate_items(X.astype(float), N_ITEMS)


def test_steal_recommender_learns_is_seeded_and_leaves_global_state(victim,
                                                                    unchanged_global_state):
    system, X, y = victim
    api = xrec.ListAPI(system, k=5)
    profiles = xrec.synthetic_profiles(np.arange(N_ITEMS), 300, size=(3, 8), seed=0)
    lists = api(profiles)
    copy = xrec.steal_recommender(profiles, lists, N_ITEMS, dim=4, epochs=15, seed=0)
    again = xrec.steal_recommender(profiles, lists, N_ITEMS, dim=4, epochs=15, seed=0)
    assert np.array_equal(copy.Q, again.Q) and copy.queries == 300
    honest = xrec.profiles_from_ratings(X, y, np.arange(N_USERS))
    truth = api(honest)
    stolen = xrec.overlap_at_k(copy.recommend(honest, 5), truth, 5).value
    listed = np.bincount(lists.ravel(), minlength=N_ITEMS).astype(float)
    control = xrec.top_k_lists(np.tile(listed, (N_USERS, 1)), 5,
                               exclude=[p.items for p in honest])
    assert stolen > xrec.overlap_at_k(control, truth, 5).value


def test_steal_recommender_rejects_bad_input(victim):
    profiles = xrec.synthetic_profiles(np.arange(N_ITEMS), 4, size=(2, 3), seed=0)
    with pytest.raises(ValueError, match="one list per profile"):
        xrec.steal_recommender(profiles, np.zeros((3, 5), dtype=int), N_ITEMS)
    with pytest.raises(ValueError, match="item indices"):
        xrec.steal_recommender(profiles, np.full((4, 5), N_ITEMS), N_ITEMS)
    with pytest.raises(ValueError, match="lr"):
        xrec.steal_recommender(profiles, np.zeros((4, 5), dtype=int), N_ITEMS, lr=0.0)
