import numpy as np
import pandas as pd
import pytest
import scipy.sparse.linalg  # noqa: F401  (loads SciPy's BLAS before the state fixture looks)

from mlsec_helpers.fairness import recommender as frec
from mlsec_helpers.fairness.results import Disparity, LongTailSplit, RecallAtK, TailExposure
from mlsec_helpers.validate import ArgumentTypeError

N_USERS, N_ITEMS = 30, 50


@pytest.fixture(scope="module")
def ratings():
    """Popularity-skewed random ratings: item i is rated with weight 1 / (i + 1)."""
    gen = np.random.default_rng(0)
    p = 1.0 / np.arange(1, N_ITEMS + 1)
    p /= p.sum()
    pairs = np.array([(u, i) for u in range(N_USERS)
                      for i in gen.choice(N_ITEMS, 12, replace=False, p=p)], dtype=np.int64)
    y = gen.integers(1, 6, len(pairs)).astype(np.float32)
    test = np.arange(len(pairs)) % 4 == 0
    return pairs[~test], y[~test], pairs[test], y[test]


@pytest.fixture(scope="module")
def split(ratings):
    return frec.long_tail_split(ratings[0], N_ITEMS, head_fraction=0.2)


def test_long_tail_split_puts_the_most_rated_fifth_in_the_head(ratings, split):
    counts = np.bincount(ratings[0][:, 1], minlength=N_ITEMS)
    assert isinstance(split, LongTailSplit)
    assert (~split.is_tail).sum() == 10 and split.tail_share_of_items == pytest.approx(0.8)
    assert counts[~split.is_tail].min() >= counts[split.is_tail].max()
    assert split.max_tail_count == counts[split.is_tail].max()
    assert split.tail_share_of_ratings == pytest.approx(counts[split.is_tail].sum()
                                                        / counts.sum())


def test_long_tail_split_rejects_bad_input(ratings):
    with pytest.raises(ValueError, match="head_fraction"):
        frec.long_tail_split(ratings[0], N_ITEMS, head_fraction=1.0)
    with pytest.raises(ValueError, match="head_fraction"):
        frec.long_tail_split(ratings[0], N_ITEMS, head_fraction=0.0)
    with pytest.raises(ValueError, match="item indices"):
        frec.long_tail_split(ratings[0], 5)
    with pytest.raises(ValueError, match="train_pairs"):
        frec.long_tail_split(np.zeros((3, 3), dtype=int), N_ITEMS)


def test_pure_svd_scores_is_the_truncated_svd(ratings, unchanged_global_state):
    tr, y, _, _ = ratings
    S = frec.pure_svd_scores(tr, y, N_USERS, N_ITEMS, rank=5, seed=0)
    R = np.zeros((N_USERS, N_ITEMS))
    R[tr[:, 0], tr[:, 1]] = y
    U, s, Vt = np.linalg.svd(R, full_matrices=False)
    assert S.shape == (N_USERS, N_ITEMS)
    assert np.allclose(S, (U[:, :5] * s[:5]) @ Vt[:5], atol=1e-4)
    assert np.allclose(S, frec.pure_svd_scores(tr, y, N_USERS, N_ITEMS, rank=5, seed=1),
                       atol=1e-4)


def test_pure_svd_scores_rejects_bad_input(ratings):
    tr, y, _, _ = ratings
    with pytest.raises(ValueError, match="rank"):
        frec.pure_svd_scores(tr, y, N_USERS, N_ITEMS, rank=N_USERS)
    with pytest.raises(ValueError, match="one rating per pair"):
        frec.pure_svd_scores(tr, y[:-1], N_USERS, N_ITEMS)
    with pytest.raises(ValueError, match="user indices"):
        frec.pure_svd_scores(tr, y, 3, N_ITEMS)
    with pytest.raises(ValueError, match="seed"):
        frec.pure_svd_scores(tr, y, N_USERS, N_ITEMS, rank=5, seed=-1)


def test_recommend_top_k_orders_and_leaves_out_training_items():
    scores = np.array([[5.0, 4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0, 5.0]])
    train = np.array([[0, 0], [1, 3]])
    assert frec.recommend_top_k(scores, train, k=2).tolist() == [[1, 2], [4, 2]]
    with pytest.raises(ValueError, match="k must be below"):
        frec.recommend_top_k(scores, train, k=5)
    with pytest.raises(ValueError, match="NaN or infinite"):
        frec.recommend_top_k(np.full((2, 5), np.nan), train)
    with pytest.raises(ValueError, match="2 dimension"):
        frec.recommend_top_k(np.ones(5), train)


def test_long_tail_exposure_counts_slots_and_distinct_items():
    split = LongTailSplit(is_tail=np.array([False, False, True, True, True]),
                          counts=np.array([9, 8, 1, 1, 0]), head_fraction=0.4,
                          tail_share_of_items=0.6, tail_share_of_ratings=2 / 19, max_tail_count=1)
    slates = np.array([[0, 2], [1, 2], [0, 1], [3, 0]])
    e = frec.long_tail_exposure(slates, split, n_boot=200, seed=0, on="4 lists")
    assert isinstance(e, TailExposure)
    assert e.share == pytest.approx(3 / 8) and e.low <= e.share <= e.high
    assert (e.tail_items_shown, e.head_items_shown, e.n_tail, e.n_head) == (2, 2, 3, 2)
    assert "4 lists" in str(e)
    with pytest.raises(ValueError, match="item indices"):
        frec.long_tail_exposure(np.array([[0, 7]]), split)
    with pytest.raises(ArgumentTypeError, match="LongTailSplit"):
        frec.long_tail_exposure(slates, "split")
    with pytest.raises(ValueError, match="integer array"):
        frec.long_tail_exposure(slates.astype(float), split)


def test_recommender_recall_and_its_paired_difference():
    slates = np.array([[0, 1], [2, 3], [4, 0]])
    test = np.array([[0, 1], [0, 2], [0, 3], [1, 3], [2, 1]])
    stars = np.array([5.0, 4.0, 4.5, 2.0, 5.0])
    r = frec.recommender_recall(slates, test, stars, 5, n_boot=100, seed=0)
    assert isinstance(r, RecallAtK)
    # user 0 liked 1, 2, 3 and has 1 in a list of 2: 1 / min(3, 2); user 1 liked nothing;
    # user 2 liked 1, not in the list
    assert r.value == pytest.approx((0.5 + 0.0) / 2) and r.n_users == 2 and r.hits == 1
    assert np.isnan(r.per_user[1]) and f"{r:.2f}" == "0.25"
    better = frec.recommender_recall(np.array([[1, 2], [0, 4], [1, 0]]), test, stars, 5,
                                     n_boot=100)
    d, low, high = frec.recall_difference(r, better, n_boot=100, seed=0)
    assert d == pytest.approx(0.25 - 1.0) and low <= d <= high
    with pytest.raises(ValueError, match="like_threshold"):
        frec.recommender_recall(slates, test, stars, 5, like_threshold=6.0)
    with pytest.raises(ValueError, match="one rating per pair"):
        frec.recommender_recall(slates, test, stars[:2], 5)
    with pytest.raises(ArgumentTypeError, match="RecallAtK"):
        frec.recall_difference(r, 0.5)
    other = frec.recommender_recall(slates[:2], test[:4], stars[:4], 5, n_boot=100)
    with pytest.raises(ValueError, match="same users"):
        frec.recall_difference(r, other)


def test_popularity_penalised_moves_popular_items_down_for_every_sign():
    scores = np.array([[2.0, 1.5, -1.0, -1.2]])
    counts = np.array([15, 0, 15, 0])
    assert np.allclose(frec.popularity_penalised(scores, counts, beta=0.0), scores)
    out = frec.popularity_penalised(scores, counts, beta=0.5)
    assert np.allclose(out, [[2.0 / 4, 1.5, -4.0, -1.2]])
    assert out[0, 1] > out[0, 0] and out[0, 3] > out[0, 2]
    with pytest.raises(ValueError, match="beta"):
        frec.popularity_penalised(scores, counts, beta=-1.0)
    with pytest.raises(ValueError, match="counts"):
        frec.popularity_penalised(scores, counts[:3], beta=1.0)


def test_sweep_trades_recall_for_tail_exposure(ratings, split, unchanged_global_state):
    tr, y, te, yte = ratings
    S = frec.pure_svd_scores(tr, y, N_USERS, N_ITEMS, rank=5, seed=0)
    sweep = frec.popularity_penalty_sweep(S, split, tr, te, yte, [0.0, 0.5, 2.0], k=3,
                                          n_boot=50)
    assert list(sweep["beta"]) == [0.0, 0.5, 2.0]
    assert sweep["tail share"].iloc[-1] > sweep["tail share"].iloc[0]
    assert ((sweep["tail low"] <= sweep["tail share"])
            & (sweep["tail share"] <= sweep["tail high"])).all()
    fig = frec.exposure_recall_figure(sweep, chosen_beta=0.5, reference=(0.1, 0.2, "other"))
    assert len(fig.data) == 4
    with pytest.raises(ValueError, match="betas"):
        frec.popularity_penalty_sweep(S, split, tr, te, yte, [])
    with pytest.raises(ArgumentTypeError, match="sweep"):
        frec.exposure_recall_figure(pd.DataFrame({"beta": [0.0]}))


def test_liked_hit_rows_and_disparity_match_a_hand_count():
    split = LongTailSplit(is_tail=np.array([False, False, True, True]),
                          counts=np.array([5, 4, 1, 0]), head_fraction=0.5,
                          tail_share_of_items=0.5, tail_share_of_ratings=0.1, max_tail_count=1)
    slates = np.array([[0, 2], [1, 0]])
    test = np.array([[0, 0], [0, 3], [1, 1], [1, 2], [0, 1]])
    stars = np.array([5.0, 4.0, 4.0, 5.0, 1.0])
    y_true, y_pred, groups = frec.liked_hit_rows(slates, split, test, stars)
    assert y_true.tolist() == [1, 1, 1, 1, 0] and y_pred.tolist() == [1, 0, 1, 0, 0]
    assert groups.tolist() == ["head", "tail", "head", "tail", "head"]
    d = frec.liked_hit_disparity(slates, split, test, stars, n_boot=50, seed=0, on="5 ratings")
    assert isinstance(d, Disparity) and d.metric == "equal_opportunity"
    assert d.value == pytest.approx(1.0) and d.on == "5 ratings"
    with pytest.raises(ValueError, match="one rating per pair"):
        frec.liked_hit_rows(slates, split, test, stars[:3])


def test_niche_users_and_recall_gap(ratings, split):
    tr = ratings[0]
    niche = frec.niche_users(tr, split, fraction=0.2)
    share = np.bincount(tr[:, 0], weights=split.is_tail[tr[:, 1]]) / np.bincount(tr[:, 0])
    assert niche.sum() == 6 and share[niche].min() >= share[~niche].max()
    with pytest.raises(ValueError, match="fraction"):
        frec.niche_users(tr, split, fraction=1.5)
    r = RecallAtK(value=0.5, low=0.4, high=0.6, n_users=4, k=10, hits=4,
                  per_user=np.array([0.0, 1.0, 0.5, 0.5, np.nan]))
    g = frec.recall_gap(r, np.array([True, False, False, False, True]), n_boot=50, seed=0)
    assert g["inside"] == 0.0 and g["outside"] == pytest.approx(2 / 3)
    assert g["gap"] == pytest.approx(2 / 3) and (g["n_inside"], g["n_outside"]) == (1, 3)
    with pytest.raises(ValueError, match="mask"):
        frec.recall_gap(r, np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="both groups"):
        frec.recall_gap(r, np.ones(5, dtype=bool))
