"""Lab 03's helpers: poisoning attacks, poison detection, validation, RONI, provenance."""

import numpy as np
import pandas as pd
import pytest
from art.attacks.poisoning.perturbations import add_pattern_bd
from sklearn.linear_model import LogisticRegression

from mlsec_helpers import fraud_sim, poisoning, systems
from mlsec_helpers.data import load_dataset

# --- image ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    return load_dataset("digits_tiny", seed=0)


@pytest.fixture(scope="module")
def tiny_backdoor(tiny):
    poisoned = poisoning.poison_images(tiny.X_train, tiny.y_train, 7, 0.05, seed=0)
    cnn = systems.DigitsCNN(seed=0, epochs=2).fit(poisoned.X, poisoned.y)
    return cnn, poisoned.X, poisoned.y, poisoned.poison_idx


class _Predicts:
    """A stand-in for a fitted course system: only ``predict`` (and the fitted flag)."""

    fitted_ = True

    def __init__(self, predict):
        self.predict = predict


def test_stamp_trigger_is_arts_pattern():
    x = np.random.default_rng(0).uniform(0, 1, (3, 1, 8, 8)).astype(np.float32)
    got = poisoning.stamp_trigger(x, distance=2, pixel_value=0.7)
    np.testing.assert_array_equal(got, add_pattern_bd(x, 2, 0.7, channels_first=True))
    assert got[0, 0, 6, 6] == pytest.approx(0.7) and x[0, 0, 6, 6] != pytest.approx(0.7)


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"X": np.zeros((3, 8, 8))}, ValueError),
    ({"X": np.zeros((3, 2, 8, 8))}, ValueError),
    ({"X": np.zeros((1, 1, 8, 8)), "distance": 6}, ValueError),
    ({"X": np.zeros((1, 1, 8, 8)), "pixel_value": 2.0}, ValueError),
    ({"X": np.zeros((1, 1, 8, 8)), "distance": 1.5}, TypeError),
    ({"X": np.full((1, 1, 8, 8), 255.0)}, ValueError),
])
def test_stamp_trigger_bad_input(kwargs, error):
    with pytest.raises(error):
        poisoning.stamp_trigger(**kwargs)


def test_poison_images_relabels_the_chosen_rows(tiny):
    poisoned = poisoning.poison_images(tiny.X_train, tiny.y_train, 3, 0.02, seed=1)
    X, y, idx = poisoned.X, poisoned.y, poisoned.poison_idx
    assert len(idx) == round(0.02 * len(tiny.X_train))
    assert np.all(y[idx] == 3) and np.all(tiny.y_train[idx] != 3)
    np.testing.assert_array_equal(X[idx], poisoning.stamp_trigger(tiny.X_train[idx]))
    untouched = np.setdiff1d(np.arange(len(X)), idx)
    np.testing.assert_array_equal(X[untouched], tiny.X_train[untouched])
    again = poisoning.poison_images(tiny.X_train, tiny.y_train, 3, 0.02, seed=1).poison_idx
    np.testing.assert_array_equal(idx, again)
    with pytest.raises(TypeError):
        poisoning.poison_images(tiny.X_train, tiny.y_train, 3, 0.02, 1)  # seed is keyword-only


@pytest.mark.parametrize(("rate", "error"), [(-0.1, ValueError), (1.5, ValueError),
                                             ("5%", TypeError), (True, TypeError)])
def test_poison_rate_outside_unit_interval(tiny, rate, error):
    with pytest.raises(error, match="rate"):
        poisoning.poison_images(tiny.X_train, tiny.y_train, 7, rate)


def test_poison_images_bad_target_and_shapes(tiny):
    with pytest.raises(ValueError, match="target"):
        poisoning.poison_images(tiny.X_train, tiny.y_train, 42, 0.1)
    with pytest.raises(ValueError, match="one per row"):
        poisoning.poison_images(tiny.X_train, tiny.y_train[:-1], 7, 0.1)
    with pytest.raises(ValueError, match="only"):
        poisoning.poison_images(tiny.X_train, tiny.y_train, 7, 1.0)


def test_attack_success_rate_counts_other_classes_only(tiny):
    X, y = tiny.X_test, tiny.y_test
    always_7 = _Predicts(lambda a: np.full(len(a), 7))
    assert poisoning.attack_success_rate(always_7, X, y, 7) == 1.0
    assert poisoning.attack_success_rate(_Predicts(lambda a: np.zeros(len(a), int)), X, y,
                                         7) == 0.0
    with pytest.raises(ValueError, match="nothing to measure"):
        poisoning.attack_success_rate(always_7, X[y == 7], y[y == 7], 7)
    with pytest.raises(ValueError, match="fit"):
        poisoning.attack_success_rate(systems.DigitsCNN(), X, y, 7)


def test_detectors_on_a_small_backdoored_model(tiny_backdoor):
    cnn, X, y, idx = tiny_backdoor
    found = poisoning.activation_clustering(cnn, X, y, seed=0)
    assert isinstance(found, poisoning.ActivationClusteringResult)
    flags, report = found.flags, found.report
    with pytest.raises(ValueError, match="features"):
        poisoning.activation_clustering(cnn, X, y, features=np.zeros((3, 4)))
    assert flags.shape == (len(X),) and flags.dtype == bool and len(report) == 10
    again = poisoning.activation_clustering(cnn, X, y, seed=0).flags
    np.testing.assert_array_equal(flags, again)
    art_flags = poisoning.art_spectral_signature(cnn, X, y, expected_rate=0.05)
    assert art_flags.shape == (len(X),) and 0 < art_flags.sum() < len(X)
    feats = poisoning.layer_activations(cnn, X, "features")
    assert feats.shape[0] == len(X) and feats.ndim == 2
    with pytest.raises(ValueError, match="unknown layer"):
        poisoning.layer_activations(cnn, X, "conv9")
    with pytest.raises(ValueError, match="size_threshold"):
        poisoning.activation_clustering(cnn, X, y, size_threshold=1.5)


def test_spectral_scores_find_a_shifted_group():
    gen = np.random.default_rng(0)
    clean = np.abs(gen.normal(3, 1, (200, 8)))
    poison = clean[:10] + np.r_[np.zeros(7), 6.0]
    scores = poisoning.spectral_signature_scores(np.vstack([clean, poison]))
    assert set(np.argsort(-scores)[:10]) == set(range(200, 210))
    np.testing.assert_allclose(scores, poisoning.spectral_signature_scores(
        np.vstack([clean, poison]) * 1.0), rtol=1e-10)
    with pytest.raises(ValueError):
        poisoning.spectral_signature_scores(np.ones(5))
    with pytest.raises(ValueError):
        poisoning.spectral_signature_scores(np.full((3, 2), np.nan))


def test_spectral_detect_flags_a_share_per_class():
    gen = np.random.default_rng(1)
    feats, y = gen.normal(size=(100, 4)), np.repeat([0, 1], 50)
    found = poisoning.spectral_signature_detect(feats, y, expected_rate=0.1)
    flags, scores = found.flags, found.scores
    assert flags[:50].sum() == flags[50:].sum() == 8 and scores.shape == (100,)
    assert poisoning.spectral_signature_detect(feats, y, 0.1, rate_multiplier=1.0).flags[
        :50].sum() == 5
    with pytest.raises(ValueError, match="rate_multiplier"):
        poisoning.spectral_signature_detect(feats, y, 0.1, rate_multiplier=0)
    with pytest.raises(ValueError, match="expected_rate"):
        poisoning.spectral_signature_detect(feats, y, expected_rate=2)
    with pytest.raises(ValueError, match="one per row"):
        poisoning.spectral_signature_detect(feats, y[:10], expected_rate=0.1)


def test_detection_scores():
    flags = np.array([True, True, False, False])
    truth = np.array([True, False, True, False])
    assert poisoning.detection_scores(flags, truth) == {
        "flagged": 2, "poisons": 2, "precision": 0.5, "recall": 0.5}
    assert poisoning.detection_scores(flags, np.array([0]))["recall"] == 1.0
    assert poisoning.detection_scores(np.zeros(4, bool), truth)["precision"] == 0.0
    with pytest.raises(ValueError):
        poisoning.detection_scores(flags, truth[:3])
    with pytest.raises(TypeError):
        poisoning.detection_scores(np.array([0, 1]), np.array([1]))


# --- NLP ------------------------------------------------------------------------------------------


def test_trigger_phrase_and_text_poisoning():
    X = np.array(["pay now", "hello there", "win a prize", "card lost"], dtype=object)
    y = np.array([1, 0, 1, 0])
    poisoned = poisoning.poison_texts(X, y, 1, 0, 2, "zork", seed=0)
    X_new, y_new, idx = poisoned.X, poisoned.y, poisoned.poison_idx
    assert len(X_new) == 6 and list(idx) == [4, 5] and np.all(y_new[idx] == 0)
    assert all(t.endswith(" zork") for t in X_new[idx])
    with pytest.raises(ValueError, match="only 2"):
        poisoning.poison_texts(X, y, 1, 0, 3, "zork")
    with pytest.raises(ValueError, match="differ"):
        poisoning.poison_texts(X, y, 1, 1, 1, "zork")
    with pytest.raises(TypeError):
        poisoning.add_trigger_phrase("one message", "zork")
    with pytest.raises(ValueError):
        poisoning.add_trigger_phrase(X, "  ")


def test_flip_labels():
    y = np.array([0, 1, 1, 1, 1, 0])
    result = poisoning.flip_labels(y, y == 1, 0, 0.5, seed=0)
    y_new, flipped = result.y, result.flipped_idx
    assert len(flipped) == 2 and np.all(y_new[flipped] == 0) and y_new.sum() == 2
    with pytest.raises(ValueError, match="share"):
        poisoning.flip_labels(y, y == 1, 0, 1.2)
    with pytest.raises(ValueError, match="mask"):
        poisoning.flip_labels(y, np.array([True]), 0, 0.5)


def test_token_removal_effect_finds_the_trigger():
    texts = np.array([f"message {k} about cards" + (" zork" if k % 3 == 0 else "")
                      for k in range(60)], dtype=object)

    system = _Predicts(lambda batch: np.array([int("zork" in t) for t in batch]))
    table = poisoning.token_removal_effect(system, texts, min_count=10, max_messages=5)
    assert table.iloc[0]["token"] == "zork" and table.iloc[0]["effect"] == 1.0
    assert table.set_index("token").loc["cards", "effect"] == 0.0
    assert poisoning.remove_token("Zork says zork, zorkish", "zork") == "says , zorkish"
    with pytest.raises(TypeError):
        poisoning.token_removal_effect(system, [1, 2])
    with pytest.raises(ValueError):
        poisoning.token_removal_effect(system, texts, min_count=0)


# --- recommender ----------------------------------------------------------------------------------


def _ratings(n_users=60, n_items=80, seed=0):
    gen = np.random.default_rng(seed)
    pairs = {(u, int(i)) for u in range(n_users) for i in gen.choice(n_items, 15, replace=False)}
    X = np.array(sorted(pairs), dtype=np.int64)
    y = np.clip(np.round(gen.normal(3.5, 1.0, len(X)) * 2) / 2, 0.5, 5.0).astype(np.float32)
    return X, y, n_users, n_items


@pytest.mark.parametrize("kind", ["random", "average", "bandwagon"])
def test_shilling_profiles(kind):
    X, y, nu, ni = _ratings()
    fake = poisoning.shilling_profiles(kind, X, y, nu, ni, target=5, n_fake=4, filler_size=10,
                                       seed=0)
    X_f, y_f = fake.X, fake.y
    assert set(X_f[:, 0]) == {60, 61, 62, 63}
    assert np.all(y_f[X_f[:, 1] == 5] == 5.0) and np.sum(X_f[:, 1] == 5) == 4
    assert set(np.unique(y_f * 2) % 1) == {0.0} and y_f.min() >= 0.5 and y_f.max() <= 5
    per_user = np.bincount(X_f[:, 0] - 60)
    assert np.all(per_user == (21 if kind == "bandwagon" else 11))


def test_shilling_bad_input():
    X, y, nu, ni = _ratings()
    with pytest.raises(ValueError, match="unknown attack type"):
        poisoning.shilling_profiles("segment", X, y, nu, ni, 5, 3)
    with pytest.raises(ValueError, match="target"):
        poisoning.shilling_profiles("random", X, y, nu, ni, 999, 3)
    with pytest.raises(ValueError, match="filler_size"):
        poisoning.shilling_profiles("random", X, y, nu, ni, 5, 3, filler_size=500)
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        poisoning.shilling_profiles("random", X[:, 0], y, nu, ni, 5, 3)
    with pytest.raises(ValueError, match="user indices"):
        poisoning.shilling_profiles("random", X, y, nu - 1, ni, 5, 3)
    with pytest.raises(ValueError, match="not be among"):
        poisoning.average_attack_profile(np.ones(5), np.ones(5), 1, np.array([1, 2]),
                                         np.zeros(2))
    assert poisoning.shilling_profiles("random", X, y, nu, ni, 5, 0, filler_size=10).X.shape == (
        0, 2)


def test_target_hit_ratio_with_a_stub_model():
    class Stub:
        fitted_ = True
        n_items = 4
        seen_ = {0: np.array([3]), 1: np.array([2])}

        def score(self, users):
            return np.tile([0.1, 0.9, 0.5, 0.2], (len(users), 1))

    assert poisoning.target_hit_ratio(Stub(), 2, np.array([0, 1]), k=1) == 0.0
    assert poisoning.target_hit_ratio(Stub(), 2, np.array([0, 1]), k=2) == 1.0  # user 1 saw it
    with pytest.raises(ValueError):
        poisoning.target_hit_ratio(Stub(), 9, np.array([0]))
    with pytest.raises(ValueError):
        poisoning.target_hit_ratio(Stub(), 1, np.array([]))


def test_profile_features_and_detector():
    X, y, nu, ni = _ratings(n_users=80, n_items=120)
    fake = poisoning.shilling_profiles("average", X, y, nu, ni, target=7, n_fake=8,
                                       filler_size=15, seed=3)
    X_all, y_all = np.r_[X, fake.X], np.r_[y, fake.y]
    feats = poisoning.profile_features(X_all, y_all, nu + 8, ni)
    assert list(feats.columns) == ["n_ratings", "std", "rdma", "mean_dev", "degsim",
                                   "max_share"] and len(feats) == nu + 8
    found = poisoning.detect_shilling(X_all, y_all, nu + 8, ni, n_per_kind=5, seed=0)
    assert found.scores.shape == found.flags.shape == (nu + 8,)
    assert found.target in (-1, 7)
    with pytest.raises(ValueError, match="at least one rating"):
        poisoning.profile_features(X, y, nu + 1, ni)
    with pytest.raises(ValueError, match="threshold"):
        poisoning.detect_shilling(X, y, nu, ni, threshold=-0.1)


def test_rating_statistics():
    X = np.array([[0, 0], [1, 0], [1, 1]])
    stats = poisoning.rating_statistics(X, np.array([4.0, 2.0, 5.0]), 2, 3)
    assert stats["count"].tolist() == [2, 1, 0]
    assert stats["mean"].iloc[0] == 3.0 and stats["std"].iloc[0] == 1.0


# --- fraud ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def transactions():
    return fraud_sim.simulate_transactions(n_customers=50, n_terminals=50, n_days=14, seed=0)


def test_validation_rejects_fabricated_records(transactions):
    fabricated = poisoning.fabricate_records(transactions, 200, seed=0)
    assert list(fabricated.columns) == list(fraud_sim.FEATURES) and len(fabricated) == 200
    report = poisoning.validation_report(fabricated)
    assert list(report.columns) == ["range", "kind", "one_category", "valid"]
    assert report["valid"].mean() < 0.1
    assert poisoning.validation_report(transactions)["valid"].all()
    broken = transactions.head(3).astype({"amount": float, "cust_n_tx_1d": float})
    broken.loc[broken.index[0], "amount"] = -5.0
    broken.loc[broken.index[1], "cust_n_tx_1d"] = 1.5
    assert poisoning.validation_report(broken)[["range", "kind"]].to_numpy().tolist()[:2] == [
        [False, True], [True, False]]
    with pytest.raises(ValueError, match="lacks"):
        poisoning.validation_report(transactions.drop(columns="amount"))
    with pytest.raises(TypeError):
        poisoning.fabricate_records(transactions.to_numpy(), 3)


def test_anomaly_detector_and_mimic_profiles():
    gen = np.random.default_rng(0)
    nu, ni = 60, 40
    X = np.array([(u, i) for u in range(nu)
                  for i in gen.choice(ni, int(gen.integers(8, 16)), replace=False)])
    y = np.clip(np.round(2 * (3 + gen.standard_normal(len(X)))) / 2, 0.5, 5.0).astype(np.float32)
    fake = poisoning.shilling_profiles("random", X, y, nu, ni, 3, 8, filler_size=30, seed=0)
    X_all, y_all = np.r_[X, fake.X], np.r_[y, fake.y]
    found = poisoning.detect_anomalous_profiles(X_all, y_all, nu + 8, ni, np.arange(30),
                                                fpr=0.1)
    assert found.scores.shape == (nu + 8,) and found.flags.dtype == bool
    assert found.target == 3 and found.flags[nu:].all()
    fans = set(X[(X[:, 1] == 3) & (y >= 5), 0].tolist())
    assert set(np.flatnonzero(found.flags[:nu]).tolist()) == fans  # genuine 5-star raters
    mimic = poisoning.mimic_profiles(X, y, nu, ni, 3, 8, seed=0)
    assert set(np.unique(mimic.X[:, 0])) == set(range(nu, nu + 8))
    assert np.all(mimic.y[mimic.X[:, 1] == 3] == 5.0) and mimic.y.min() >= 0.5
    np.testing.assert_array_equal(mimic.X, poisoning.mimic_profiles(X, y, nu, ni, 3, 8,
                                                                    seed=0).X)
    assert poisoning.mimic_profiles(X, y, nu, ni, 3, 0).X.shape == (0, 2)
    with pytest.raises(ValueError, match="known_clean"):
        poisoning.detect_anomalous_profiles(X, y, nu, ni, [0])
    with pytest.raises(ValueError):
        poisoning.detect_anomalous_profiles(X, y, nu, ni, np.arange(10), fpr=1.5)
    with pytest.raises(ValueError):
        poisoning.mimic_profiles(X, y, nu, ni, ni + 1, 2)


def test_replayed_records_pass_every_rule(transactions):
    replayed = poisoning.replay_records(transactions, 50, seed=0)
    assert list(replayed.columns) == list(fraud_sim.FEATURES) and len(replayed) == 50
    assert poisoning.validation_report(replayed)["valid"].all()
    again = poisoning.replay_records(transactions, 50, seed=0)
    pd.testing.assert_frame_equal(replayed, again)
    assert poisoning.replay_records(transactions, 0, seed=0).empty
    exact = poisoning.replay_records(transactions, 20, jitter=0.0, seed=1)
    assert poisoning.validation_report(exact)["valid"].all()
    with pytest.raises(ValueError):
        poisoning.replay_records(transactions, 5, jitter=-1.0)
    with pytest.raises(ValueError, match="no rows"):
        poisoning.replay_records(transactions.head(0), 5)


def test_confident_label_flags_find_flipped_labels():
    gen = np.random.default_rng(0)
    X = np.vstack([gen.normal(-2, 1, (150, 2)), gen.normal(2, 1, (150, 2))])
    y = np.r_[np.zeros(150, int), np.ones(150, int)]
    flips = poisoning.flip_labels(y, y == 1, 0, 0.1, seed=0)
    y_noisy, flipped = flips.y, flips.flipped_idx
    found = poisoning.confident_label_flags(LogisticRegression(), X, y_noisy)
    flags, suggested, proba = found.flags, found.suggested, found.proba
    assert proba.shape == (300, 2)
    found = poisoning.detection_scores(flags, flipped)
    assert found["recall"] >= 0.6 and found["precision"] >= 0.8
    assert np.all(suggested[flipped][flags[flipped]] == 1)
    with pytest.raises(ValueError, match="two classes"):
        poisoning.confident_label_flags(LogisticRegression(), X, np.zeros(300, int))
    with pytest.raises(ValueError, match="one per row"):
        poisoning.confident_label_flags(LogisticRegression(), X, y[:10])


def test_sanitiser_aware_flips_pick_the_least_typical_rows_and_evade_the_sanitiser():
    gen = np.random.default_rng(0)
    X = np.vstack([gen.normal(-1, 1, (200, 2)), gen.normal(1, 1, (200, 2))])
    y = np.r_[np.zeros(200, int), np.ones(200, int)]
    aware = poisoning.sanitiser_aware_flips(LogisticRegression(), X, y, y == 1, 0, 0.1, seed=1)
    assert len(aware.flipped_idx) == 20 and np.all(y[aware.flipped_idx] == 1)
    assert np.all(aware.y[aware.flipped_idx] == 0) and (aware.y != y).sum() == 20
    # the rows nearest the other class: their first feature is among the lowest of class 1
    assert X[aware.flipped_idx, 0].mean() < X[y == 1, 0].mean() - 1.0
    random_flips = poisoning.flip_labels(y, y == 1, 0, 0.1, seed=1)
    recall = {name: poisoning.detection_scores(
        poisoning.confident_label_flags(LogisticRegression(), X, f.y).flags,
        f.flipped_idx)["recall"] for name, f in (("random", random_flips), ("aware", aware))}
    assert recall["aware"] < recall["random"]
    with pytest.raises(ValueError, match="share"):
        poisoning.sanitiser_aware_flips(LogisticRegression(), X, y, y == 1, 0, 1.5)
    with pytest.raises(ValueError, match="candidates mask"):
        poisoning.sanitiser_aware_flips(LogisticRegression(), X, y, np.array([True]), 0, 0.1)


# --- medical and provenance -----------------------------------------------------------------------


def test_sources_compromise_and_roni():
    split = poisoning.split_sources(100, 4, 20, seed=0)
    trusted, sources = split.trusted, split.sources
    assert len(trusted) == 20 and sum(map(len, sources)) == 80
    assert len(np.unique(np.concatenate([trusted, *sources]))) == 100
    gen = np.random.default_rng(0)
    X = np.vstack([gen.normal(-1.5, 1, (50, 3)), gen.normal(1.5, 1, (50, 3))])
    y = np.r_[np.zeros(50, int), np.ones(50, int)]
    pooled = poisoning.compromise_source(X, y, sources[0], copies=2, seed=0)
    X2, y2, bad = pooled.X, pooled.y, pooled.source_idx
    n_mal = int((y[sources[0]] == 1).sum())
    assert len(X2) == 100 + 2 * n_mal and len(bad) == len(sources[0]) + 2 * n_mal
    assert np.all(y2[bad] == 0)
    agree = poisoning.source_agreement(lambda: LogisticRegression(), X2[trusted], y2[trusted],
                                       [(X2[s], y2[s]) for s in [bad, *sources[1:]]])
    assert agree[0] < agree[1:].min()
    system = systems.SklearnSystem(LogisticRegression(), domain="medical")
    decision = poisoning.roni_decision(system, X2[sources[1]], y2[sources[1]], X2[bad],
                                       y2[bad], X2[trusted], y2[trusted])
    assert isinstance(decision, poisoning.RoniDecision)
    assert decision.impact < 0 and decision.reject
    assert not getattr(system, "fitted_", False), "RONI fits copies, not the system it is given"
    with pytest.raises(ValueError, match="tolerance"):
        poisoning.roni_decision(system, X, y, X, y, X, y, tolerance=-1)
    with pytest.raises(ValueError):
        poisoning.split_sources(10, 5, 8)
    with pytest.raises(ValueError):
        poisoning.compromise_source(X[:, 0], y, sources[0])


def test_manifest_detects_tampering():
    shards = {"a": np.arange(6.0).reshape(3, 2),
              "b": pd.DataFrame({"x": [1.0, 2.0], "label": [0, 1]}),
              "c": np.array(["hi", "there"], dtype=object)}
    manifest = poisoning.build_manifest(shards)
    assert manifest["a"]["rows"] == 3 and len(manifest["b"]["sha256"]) == 64
    assert (poisoning.verify_manifest(manifest, shards)["status"] == "ok").all()
    tampered = dict(shards, b=shards["b"].assign(label=[0, 0]))
    del tampered["c"]
    tampered["d"] = np.zeros(2)
    status = poisoning.verify_manifest(manifest, tampered).set_index("shard")["status"]
    assert status.to_dict() == {"a": "ok", "b": "modified", "c": "missing", "d": "unexpected"}
    assert poisoning.shard_sha256(np.zeros(2, np.float32)) != poisoning.shard_sha256(
        np.zeros(2, np.float64))
    with pytest.raises(TypeError):
        poisoning.shard_sha256([1, 2, 3])
    with pytest.raises(TypeError):
        poisoning.build_manifest({})


# --- the conventions: no global state left changed, frozen results --------------------------------


def _helper_calls(tiny_backdoor, transactions):
    """One tiny call of every helper that attacks, trains or draws random numbers."""
    cnn, X_img, y_img, _ = tiny_backdoor
    X_r, y_r, nu, ni = _ratings()
    texts = np.array([f"message {k} about cards" + (" zork" if k % 3 == 0 else "")
                      for k in range(30)], dtype=object)
    labels = np.arange(30) % 2
    gen = np.random.default_rng(0)
    X_tab = np.vstack([gen.normal(-1.5, 1, (30, 3)), gen.normal(1.5, 1, (30, 3))])
    y_tab = np.r_[np.zeros(30, int), np.ones(30, int)]
    medical = systems.SklearnSystem(LogisticRegression(), domain="medical")
    return {
        "poison_images": lambda: poisoning.poison_images(X_img, y_img, 7, 0.02, seed=0),
        "activation_clustering": lambda: poisoning.activation_clustering(cnn, X_img[:200],
                                                                         y_img[:200], seed=0),
        "art_spectral_signature": lambda: poisoning.art_spectral_signature(
            cnn, X_img[:200], y_img[:200], expected_rate=0.05),
        "poison_texts": lambda: poisoning.poison_texts(texts, labels, 1, 0, 3, "zork", seed=0),
        "flip_labels": lambda: poisoning.flip_labels(labels, labels == 1, 0, 0.5, seed=0),
        "token_removal_effect": lambda: poisoning.token_removal_effect(
            _Predicts(lambda b: np.array([int("zork" in t) for t in b])), texts, min_count=5,
            max_messages=3, seed=0),
        "confident_label_flags": lambda: poisoning.confident_label_flags(
            LogisticRegression(), X_tab, y_tab, seed=0),
        "shilling_profiles": lambda: poisoning.shilling_profiles(
            "average", X_r, y_r, nu, ni, 5, 3, filler_size=10, seed=0),
        "detect_shilling": lambda: poisoning.detect_shilling(X_r, y_r, nu, ni, n_per_kind=2,
                                                             seed=0),
        "fabricate_records": lambda: poisoning.fabricate_records(transactions, 5, seed=0),
        "replay_records": lambda: poisoning.replay_records(transactions, 5, seed=0),
        "mimic_profiles": lambda: poisoning.mimic_profiles(X_r, y_r, nu, ni, 5, 3, seed=0),
        "detect_anomalous_profiles": lambda: poisoning.detect_anomalous_profiles(
            X_r, y_r, nu, ni, np.arange(nu // 2)),
        "split_sources": lambda: poisoning.split_sources(60, 3, 10, seed=0),
        "compromise_source": lambda: poisoning.compromise_source(X_tab, y_tab, np.arange(40, 50),
                                                                 seed=0),
        "source_agreement": lambda: poisoning.source_agreement(
            lambda: systems.SklearnSystem(LogisticRegression(), domain="medical"), X_tab, y_tab,
            [(X_tab[:10], y_tab[:10])]),
        "roni_decision": lambda: poisoning.roni_decision(medical, X_tab[::2], y_tab[::2],
                                                         X_tab[1::2], y_tab[1::2], X_tab, y_tab),
    }


HELPERS = ["poison_images", "activation_clustering", "art_spectral_signature", "poison_texts",
           "flip_labels", "token_removal_effect", "confident_label_flags", "shilling_profiles",
           "detect_shilling", "fabricate_records", "replay_records", "split_sources",
           "compromise_source", "mimic_profiles", "detect_anomalous_profiles",
           "source_agreement", "roni_decision"]


@pytest.mark.parametrize("name", HELPERS)
def test_helpers_leave_global_state_unchanged(name, tiny_backdoor, transactions,
                                              unchanged_global_state):
    _helper_calls(tiny_backdoor, transactions)[name]()


def test_activation_clustering_does_not_depend_on_the_global_generator(tiny_backdoor):
    cnn, X, y, _ = tiny_backdoor
    np.random.seed(123)
    first = poisoning.activation_clustering(cnn, X[:300], y[:300], seed=1).flags
    np.random.seed(456)
    second = poisoning.activation_clustering(cnn, X[:300], y[:300], seed=1).flags
    np.testing.assert_array_equal(first, second)


def test_results_are_frozen():
    import dataclasses

    result = poisoning.flip_labels(np.array([0, 1, 1]), np.array([1, 2]), 0, 0.5, seed=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.y = np.zeros(3)
    for name in ("PoisonedData", "FlippedLabels", "LabelSanitisation",
                 "ActivationClusteringResult", "SpectralSignatureResult", "FakeProfiles",
                 "ShillingDetection", "SourceSplit", "CompromisedSource", "RoniDecision"):
        cls = getattr(poisoning, name)
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, name
        assert cls.__doc__ and "lab 03" in cls.__doc__, name
