"""The reference systems: interface, determinism, bad input, ART wrappers."""

import numpy as np
import pytest

from mlsec_helpers import data, systems


@pytest.fixture(scope="module")
def tiny():
    return data.load_dataset("digits_tiny")


def test_cnn_trains_and_is_deterministic(tiny):
    a = systems.DigitsCNN(seed=0, epochs=2).fit(tiny.X_train, tiny.y_train)
    b = systems.DigitsCNN(seed=0, epochs=2).fit(tiny.X_train, tiny.y_train)
    pa, pb = a.predict_proba(tiny.X_test), b.predict_proba(tiny.X_test)
    np.testing.assert_array_equal(pa, pb)
    assert pa.shape == (len(tiny.X_test), 10)
    np.testing.assert_allclose(pa.sum(1), 1, atol=1e-5)
    assert a.evaluate(tiny.X_test, tiny.y_test)["accuracy"] > 0.6


def test_cnn_bad_input(tiny):
    cnn = systems.DigitsCNN(epochs=1)
    with pytest.raises(RuntimeError, match="not fitted"):
        cnn.predict(tiny.X_test)
    with pytest.raises(ValueError, match="4 dimension"):
        cnn.fit(tiny.X_train.reshape(len(tiny.X_train), -1), tiny.y_train)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        cnn.fit(tiny.X_train * 16, tiny.y_train)
    with pytest.raises(ValueError, match="one per row"):
        cnn.fit(tiny.X_train, tiny.y_train[:-1])
    cnn.fit(tiny.X_train[:64], tiny.y_train[:64])
    with pytest.raises(ValueError, match="images must be"):
        cnn.predict(np.zeros((2, 1, 12, 12), dtype=np.float32))


def test_cnn_art_wrapper_runs_fgsm(tiny):
    from art.attacks.evasion import FastGradientMethod

    cnn = systems.DigitsCNN(seed=0, epochs=3).fit(tiny.X_train, tiny.y_train)
    est = cnn.art_estimator()
    x = tiny.X_test[:50]
    adv = FastGradientMethod(est, eps=0.3).generate(x)
    assert adv.min() >= 0 and adv.max() <= 1
    assert np.abs(adv - x).max() <= 0.3 + 1e-6
    assert cnn.evaluate(adv, tiny.y_test[:50])["accuracy"] < cnn.evaluate(
        x, tiny.y_test[:50])["accuracy"]


def test_medical_baseline_and_art_gradients():
    d = data.load_dataset("medical")
    model = systems.train_baseline("medical", d)
    assert model.evaluate(d.X_test, d.y_test)["accuracy"] >= 0.93
    est = model.art_estimator()
    grad = est.loss_gradient(d.X_test[:3].astype(np.float32), np.eye(2)[d.y_test[:3]])
    assert grad.shape == (3, 30) and np.abs(grad).sum() > 0
    # Exact gradient of the cross-entropy on raw features (ART 1.20.1's own wrapper scales the
    # input twice; systems.scaled_logistic_regression_estimator corrects it): every row moves,
    # and the gradient matches central finite differences.
    X, Y = d.X_test, np.eye(2)[d.y_test]
    grad = est.loss_gradient(X, Y)
    assert np.all(np.abs(grad).sum(axis=1) > 0)
    i, h = 0, 1e-4 * d.X_train.std(axis=0)

    def loss(x):
        return -np.log(model.predict_proba(x[None])[0, d.y_test[i]])

    fd = np.array([(loss(X[i] + h[j] * np.eye(30)[j]) - loss(X[i] - h[j] * np.eye(30)[j]))
                   / (2 * h[j]) for j in range(30)])
    assert np.allclose(grad[i], fd, rtol=1e-3, atol=1e-8)
    grad1d = est.loss_gradient(X[:4], d.y_test[:4])           # labels as indices
    assert np.allclose(grad1d, grad[:4])
    with pytest.raises(ValueError, match="30 features"):
        model.predict(d.X_test[:, :5])


def test_tabular_mlp():
    d = data.load_dataset("medical")
    mlp = systems.TabularMLP(epochs=15).fit(d.X_train, d.y_train)
    assert mlp.evaluate(d.X_test, d.y_test)["accuracy"] > 0.9
    assert mlp.art_estimator().nb_classes == 2
    with pytest.raises(ValueError, match="NaN"):
        mlp.predict(np.full((1, 30), np.nan))


def test_recommender_interface():
    d = data.load_dataset("recommender")
    rec = systems.MFRecommender(d.extra["n_users"], d.extra["n_items"], epochs=3)
    rec.fit(d.X_train, d.y_train)
    pred = rec.predict(d.X_test[:10])
    assert pred.shape == (10,) and pred.min() >= 0.5 and pred.max() <= 5
    top = rec.recommend(0, k=10)
    assert len(top) == 10 and not set(top) & set(rec.seen_[0].tolist())
    assert rec.score([0, 1]).shape == (2, d.extra["n_items"])
    with pytest.raises(ValueError, match="item indices"):
        rec.predict(np.array([[0, 10**6]]))
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        rec.predict(np.array([0, 1]))
    with pytest.raises(TypeError, match="ratings"):
        rec.predict_proba(d.X_test[:2])
    with pytest.raises(ValueError, match="positive"):
        rec.recommend(0, k=0)


def test_ranking_metrics_on_a_hand_example():
    scores = np.array([[0.9, 0.8, 0.1, 0.5], [0.1, 0.2, 0.3, 0.4]])
    train = np.array([[0, 0], [1, 3]])
    test = np.array([[0, 1], [1, 0]])
    m = systems.ranking_metrics(scores, train, test, np.array([5.0, 4.5]), k=1)
    # user 0: item 0 is seen, top-1 is item 1 (liked) -> hit; user 1: top-1 is item 2 -> miss
    assert m["hr@1"] == 0.5 and m["users"] == 2


def test_unknown_domain():
    with pytest.raises(ValueError, match="unknown domain 'imgae'.*did you mean 'image'"):
        systems.train_baseline("imgae")


def test_classification_metrics_checks_shapes():
    with pytest.raises(ValueError):
        systems.classification_metrics([0, 1], np.zeros((3, 2)))


def test_baselines_are_deterministic_for_a_seed():
    for domain in ("nlp", "fraud", "medical"):
        d = data.load_dataset(domain)
        a = systems.train_baseline(domain, d, seed=0, cache=False).predict_proba(d.X_test[:50])
        b = systems.train_baseline(domain, d, seed=0, cache=False).predict_proba(d.X_test[:50])
        np.testing.assert_array_equal(a, b)
    d = data.load_dataset("recommender")
    recs = [systems.MFRecommender(d.extra["n_users"], d.extra["n_items"], epochs=2, seed=0)
            .fit(d.X_train, d.y_train).predict(d.X_test[:100]) for _ in range(2)]
    np.testing.assert_array_equal(*recs)


def test_a_model_trained_on_given_data_is_never_cached_as_the_baseline():
    d = data.load_dataset("medical")
    altered = data.load_dataset("medical")
    altered.y_train = 1 - altered.y_train  # e.g. a poisoned copy
    flipped = systems.train_baseline("medical", altered, seed=5)
    baseline = systems.train_baseline("medical", seed=5)
    assert baseline is not flipped
    assert baseline.evaluate(d.X_test, d.y_test)["accuracy"] >= 0.93
    assert systems.train_baseline("medical", seed=5) is baseline


def test_training_leaves_global_state_alone(unchanged_global_state):
    """Each system seeds its own initialisation (repro.seeded) and restores the caller's
    generators: the same seed gives the same model, whatever the caller drew before."""
    tiny = data.load_dataset("digits_tiny")
    a = systems.DigitsCNN(epochs=1, seed=3).fit(tiny.X_train[:200], tiny.y_train[:200])
    b = systems.DigitsCNN(epochs=1, seed=3).fit(tiny.X_train[:200], tiny.y_train[:200])
    np.testing.assert_array_equal(a.predict_proba(tiny.X_test[:20]),
                                  b.predict_proba(tiny.X_test[:20]))
    med = data.load_dataset("medical")
    systems.TabularMLP(epochs=1, seed=1).fit(med.X_train, med.y_train)
    pairs = np.array([[u, i] for u in range(5) for i in range(6)])
    ratings = np.linspace(1, 5, len(pairs)).astype(np.float32)
    systems.MFRecommender(5, 6, dim=2, epochs=1, seed=0).fit(pairs, ratings)


def test_reference_system_loads_lab00_checkpoints_for_seed_0():
    image = data.load_dataset("image")
    loaded = systems.reference_system("image", seed=0)
    assert "lab00_digits_cnn" in loaded.source_
    trained = systems.train_baseline("image", image, seed=0)
    assert np.allclose(loaded.predict_proba(image.X_test[:200]),
                       trained.predict_proba(image.X_test[:200]), atol=1e-5)
    movies = data.load_dataset("recommender")
    rec = systems.reference_system("recommender", seed=0)
    assert "lab00_recommender" in rec.source_
    assert rec.seen_.keys() and rec.evaluate(movies.X_test, movies.y_test)["rmse"] < 1.0
    with pytest.raises(ValueError, match="mu"):
        systems.MFRecommender(rec.n_users, rec.n_items).restore(
            {k: v for k, v in rec.model.state_dict().items()}, movies.X_train)


def test_reference_system_trains_for_other_seeds_and_domains():
    med = systems.reference_system("medical", seed=3)
    assert med.source_.startswith("trained here with seed 3")
    with pytest.raises(ValueError, match="domain"):
        systems.reference_system("images")
    with pytest.raises(ValueError):
        systems.reference_system("image", seed=-1)


def test_the_words_only_triage_drops_the_character_ngrams():
    from sklearn.feature_extraction.text import TfidfVectorizer

    nlp = data.load_dataset("nlp")
    words = systems.TextTriage(char_ngrams=False).fit(nlp.X_train[:600], nlp.y_train[:600])
    first = words.estimator.steps[0][1]
    assert isinstance(first, TfidfVectorizer) and first.analyzer == "word"
    full = systems.text_triage_pipeline()
    assert len(full.steps[0][1].transformer_list) == 2
    assert words.predict_proba(nlp.X_test[:5]).shape == (5, len(nlp.target_names))
