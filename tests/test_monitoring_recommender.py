"""Lab 13 (Monitoring and response), recommender section: the reference recommender, the new
profiles, lab 03's statistics against the reference, the surge, the week, the monitors, the
fold-in damage and the response."""

import numpy as np
import pandas as pd
import pytest

from mlsec_helpers.data import load_dataset
from mlsec_helpers.monitoring import common, recommender
from mlsec_helpers.poisoning.recommender import profile_features
from mlsec_helpers.validate import ArgumentTypeError


@pytest.fixture(scope="module")
def data():
    return load_dataset("recommender", seed=0)


@pytest.fixture(scope="module")
def ref(data):
    return recommender.reference_recommender(data, seed=1, epochs=3)


@pytest.fixture(scope="module")
def honest(ref, data):
    return recommender.honest_profiles(ref, data, seed=0, per_hour=2.0, warm_up=12)


@pytest.fixture(scope="module")
def burst(ref, honest):
    fakes = recommender.fake_profiles(ref, "average", 12, seed=0, filler_size=20)
    return recommender.place_profiles(fakes, range(100, 103), 4,
                                      start_id=int(honest["profile"].max()) + 1)


def test_reference_recommender(ref, data):
    assert ref.release not in set(ref.X[:, 1].tolist())
    assert not ref.in_catalogue[ref.release]
    assert 3 <= int((ref.X[:, 1] == ref.target).sum()) <= 5
    assert ref.n_users + len(ref.held_out) == data.extra["n_users"]
    assert ref.X[:, 0].max() == ref.n_users - 1
    assert ref.pop_reference.sum() == len(ref.y) and len(ref.pop_reference) == ref.n_pop_bins
    assert ref.suspect_threshold > 0 and ref.model.n_users == ref.n_users


def test_reference_recommender_bad_input(data):
    with pytest.raises(ArgumentTypeError):
        recommender.reference_recommender(load_dataset("nlp", seed=0))
    with pytest.raises(ValueError):
        recommender.reference_recommender(data, held_out=1.0)
    with pytest.raises(ValueError):
        recommender.reference_recommender(data, seed=-1)


def test_honest_profiles_and_release_wave(ref, data, honest):
    assert honest["hour"].min() == -12 and honest["hour"].max() == common.HOURS - 1
    assert (honest.groupby("profile")["hour"].nunique() == 1).all()
    assert (honest.groupby("profile").size() >= 10).all()
    assert ref.release not in set(honest["item"].tolist())
    again = recommender.honest_profiles(ref, data, seed=0, per_hour=2.0, warm_up=12)
    pd.testing.assert_frame_equal(honest, again)
    wave = recommender.release_wave(ref, data, range(70, 74), seed=0, extra=(3, 5))
    firsts = wave.groupby("profile")["item"].apply(lambda s: ref.release in set(s))
    assert firsts.all() and wave["hour"].between(70, 73).all()
    assert wave.groupby("profile").size().between(4, 6).all()
    with pytest.raises(ValueError):
        recommender.release_wave(ref, data, range(70, 74), extra=(5, 3))
    with pytest.raises(ValueError):
        recommender.honest_profiles(ref, data, keep=0.0)
    with pytest.raises(ArgumentTypeError):
        recommender.honest_profiles("ref", data)


def test_fake_and_placed_profiles(ref, burst):
    for kind in recommender.FAKE_KINDS:
        fakes = recommender.fake_profiles(ref, kind, 3, seed=0)
        top = fakes[fakes["item"] == ref.target]
        assert fakes["profile"].nunique() == 3 and (top["rating"] == 5).all() and len(top) == 3
        assert fakes["is_attack"].all() and (fakes["source"] == kind).all()
    assert burst.groupby("hour")["profile"].nunique().tolist() == [4, 4, 4]
    assert burst["profile"].min() > 0
    with pytest.raises(ValueError):
        recommender.fake_profiles(ref, "bandwagon", 3)
    with pytest.raises(ValueError):
        recommender.place_profiles(burst, range(3), 10)
    with pytest.raises(ValueError):
        recommender.place_profiles(burst, [common.HOURS], 1)


def test_profile_features_against_match_lab03(ref, honest):
    """A new profile's statistics are lab 03's for its row on the reference plus itself."""
    for pid in honest["profile"].unique()[:3]:
        mine = honest[honest["profile"] == pid]
        ours = recommender.profile_features_against(ref, mine)
        X = np.r_[ref.X, np.column_stack([np.full(len(mine), ref.n_users), mine["item"]])]
        y = np.r_[ref.y, mine["rating"].to_numpy()]
        theirs = profile_features(X, y, ref.n_users + 1, ref.n_items).iloc[-1]
        np.testing.assert_allclose(ours.iloc[0][theirs.index].to_numpy(dtype=float),
                                   theirs.to_numpy(dtype=float), rtol=1e-6, atol=1e-9)


def test_profile_table_scores_and_reuse(ref, honest, burst):
    ratings = pd.concat([honest, burst], ignore_index=True)
    table = recommender.profile_table(ref, ratings)
    assert list(table.columns[:len(recommender.PROFILE_COLUMNS)]) == list(
        recommender.PROFILE_COLUMNS)
    fake = table["is_attack"].to_numpy()
    assert table.loc[fake, "five_target"].all()
    assert table.loc[fake, "surge"].min() > table.loc[~fake, "surge"].median()
    assert (table.loc[fake, "surge_film"] == ref.target).mean() > 0.5
    scores = recommender.anomaly_scores(ref, ratings)
    np.testing.assert_allclose(table["anomaly"], scores.to_numpy())
    reused = recommender.profile_table(ref, ratings, known=table[["profile", "anomaly"]])
    pd.testing.assert_frame_equal(table.drop(columns="new_films"),
                                  reused.drop(columns="new_films"))
    with pytest.raises(ValueError):
        recommender.profile_table(ref, ratings.iloc[:0])
    bad = ratings.copy()
    bad.loc[0, "rating"] = 7.0
    with pytest.raises(ValueError):
        recommender.profile_table(ref, bad)
    split = ratings.copy()
    split.loc[split.index[0], "hour"] = split["hour"].iloc[0] + 1
    with pytest.raises(ValueError):
        recommender.profile_table(ref, split)


def test_week_monitors_and_response(ref, honest, burst):
    ratings = pd.concat([honest, burst], ignore_index=True)
    table = recommender.profile_table(ref, ratings)
    week = recommender.assemble_profile_week(table, min_profiles=3)
    assert len(week) == common.HOURS
    assert all(len(w.meta["surge"]) == len(w) for w in week.windows)
    monitors = recommender.rec_monitors(ref)
    frame = common.run_monitors(week, monitors)
    assert {m.kind for m in monitors} == {"input", "attack"}
    assert frame.loc[100:102, "surge"].min() > frame.loc[:99, "surge"].max()
    with pytest.raises(ValueError):
        monitors[0](common.Window(0, [1], meta={}))
    with pytest.raises(ValueError):
        recommender.rec_monitors(ref, fpr=0.0)
    kept, film, removed = recommender.respond_to_surge(ref, ratings, table, 100)
    assert film == ref.target and removed >= 12
    assert not kept["is_attack"].any()
    assert recommender.respond_to_surge(ref, honest, recommender.profile_table(ref, honest),
                                        100)[2] >= 0
    with pytest.raises(ValueError):
        recommender.respond_to_surge(ref, ratings, table, common.HOURS)
    with pytest.raises(ValueError):
        recommender.assemble_profile_week(table.drop(columns="surge"))


def test_fold_in_hit_ratio_rises_with_fakes(ref, honest, burst):
    clean = recommender.fold_in_hit_ratio(ref, honest)
    pushed = recommender.fold_in_hit_ratio(ref, pd.concat([honest, burst], ignore_index=True))
    assert 0 <= clean < pushed <= 1
    with pytest.raises(ValueError):
        recommender.fold_in_hit_ratio(ref, honest, k=0)
    with pytest.raises(ValueError):
        recommender.fold_in_hit_ratio(ref, honest.drop(columns="rating"))
