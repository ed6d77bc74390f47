"""Tests of mlsec_helpers.inversion.image (lab 06, image section: model inversion of digits)."""

import numpy as np
import pytest
import torch
from torch import nn

from mlsec_helpers.data import load_dataset
from mlsec_helpers.inversion import image as inv
from mlsec_helpers.repro import seeded
from mlsec_helpers.validate import ArgumentTypeError


@pytest.fixture(scope="module")
def digits():
    data = load_dataset("image", seed=0)
    keep = np.arange(300)  # a few hundred real digits keep every test fast
    return data.X_train[keep], data.y_train[keep], data.X_test[:200]


@pytest.fixture(scope="module")
def linear_model(digits):
    """A softmax regression fitted on the digits (the module's own trainer)."""
    X, y, _ = digits
    return inv._train_softmax_regression(X, y, 10, 100)


def _small_cnn():
    from mlsec_helpers.systems import SmallCNN

    with seeded(0):
        return SmallCNN(width=2).eval()


# --- the ART wrapper ------------------------------------------------------------------------


def test_class_gradient_matches_art(unchanged_global_state):
    from art.estimators.classification import PyTorchClassifier

    model = _small_cnn()
    fast = inv.digits_inversion_classifier(model)
    art = PyTorchClassifier(model=model, loss=nn.CrossEntropyLoss(), input_shape=(1, 28, 28),
                            nb_classes=10, clip_values=(0.0, 1.0))
    x = np.random.default_rng(0).uniform(0, 1, (6, 1, 28, 28)).astype(np.float32)
    labels = np.array([0, 3, 3, 9, 1, 0])
    got, want = fast.class_gradient(x, labels), art.class_gradient(x, labels)
    assert got.shape == want.shape == (6, 1, 1, 28, 28)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    # an int label falls back to ART's own code
    assert fast.class_gradient(x, 2).shape == (6, 1, 1, 28, 28)
    with pytest.raises(ValueError, match="one class"):
        fast.class_gradient(x, np.array([0, 1, 2, 3, 4, 10]))


def test_classifier_rejects_non_module():
    with pytest.raises(ArgumentTypeError, match="nn.Module"):
        inv.digits_inversion_classifier("not a model")


# --- white-box MIFace -------------------------------------------------------------------------


def test_miface_shapes_range_and_seed(linear_model, unchanged_global_state):
    a = inv.digits_miface(linear_model, n_restarts=2, max_iter=5, seed=0)
    b = inv.digits_miface(linear_model, n_restarts=2, max_iter=5, seed=0)
    c = inv.digits_miface(linear_model, n_restarts=2, max_iter=5, seed=1)
    assert a.reconstructions.shape == (2, 10, 1, 28, 28)
    assert a.reconstructions.min() >= 0 and a.reconstructions.max() <= 1
    assert a.queries_per_class == 0 and "white-box" in a.access
    np.testing.assert_array_equal(a.reconstructions, b.reconstructions)
    assert not np.array_equal(a.reconstructions, c.reconstructions)


def test_miface_runs_every_step(linear_model):
    """ART's stopping rule would stop a sample whose logit starts below 0.01 after one step;
    the helper runs max_iter steps, so more steps move the image further from its start."""
    short = inv.digits_miface(linear_model, n_restarts=1, max_iter=1, learning_rate=0.01)
    long = inv.digits_miface(linear_model, n_restarts=1, max_iter=20, learning_rate=0.01)
    start = inv._starts(10, None, 0).reshape(1, 10, 1, 28, 28)
    assert (np.abs(long.reconstructions - start).sum()
            > 5 * np.abs(short.reconstructions - start).sum())


def test_miface_identifies_classes_of_a_linear_model(digits, linear_model):
    X, y, _ = digits
    result = inv.digits_miface(linear_model, n_restarts=3, max_iter=30, seed=0)
    score = inv.digits_inversion_scores(result.reconstructions, X, y)
    assert score.n_identified >= 8


def test_miface_in_latent_space(digits, linear_model, unchanged_global_state):
    _, _, X_pub = digits
    decoder = inv.digits_pca_decoder(X_pub, n_components=8)
    result = inv.digits_miface(linear_model, n_restarts=2, max_iter=5, decoder=decoder, seed=0)
    assert result.reconstructions.shape == (2, 10, 1, 28, 28)
    assert result.reconstructions.min() >= 0 and result.reconstructions.max() <= 1


@pytest.mark.parametrize("kwargs, error", [
    (dict(n_restarts=0), ValueError),
    (dict(max_iter=1.5), ArgumentTypeError),
    (dict(learning_rate=0.0), ValueError),
    (dict(n_classes=1), ValueError),
    (dict(decoder="pca"), ArgumentTypeError),
    (dict(seed=-1), ValueError),
])
def test_miface_bad_arguments(linear_model, kwargs, error):
    with pytest.raises(error):
        inv.digits_miface(linear_model, **kwargs)


def test_miface_rejects_non_module():
    with pytest.raises(ArgumentTypeError, match="nn.Module"):
        inv.digits_miface(np.zeros(3))


# --- the prior ----------------------------------------------------------------------------------


def test_pca_decoder(digits):
    _, _, X_pub = digits
    decoder = inv.digits_pca_decoder(X_pub, n_components=5)
    assert decoder.n_components == 5
    mean_digit = decoder.decode(np.zeros((1, 5), np.float32))
    np.testing.assert_allclose(mean_digit[0, 0], X_pub.mean(0)[0], atol=1e-5)
    z = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    images = decoder.decode(z)
    assert images.shape == (4, 1, 28, 28) and images.min() >= 0 and images.max() <= 1


def test_pca_decoder_bad_inputs(digits):
    _, _, X_pub = digits
    with pytest.raises(ValueError, match="n_components"):
        inv.digits_pca_decoder(X_pub, n_components=0)
    with pytest.raises(ValueError, match="pixels must lie"):
        inv.digits_pca_decoder(X_pub * 255)
    with pytest.raises(ValueError, match="28x28"):
        inv.digits_pca_decoder(np.zeros((10, 1, 8, 8), np.float32))
    with pytest.raises(ValueError, match="mean must have"):
        inv.DigitsPCADecoder(np.zeros(10), np.zeros((2, 10)))
    with pytest.raises(ValueError, match="2 dimension"):
        inv.digits_pca_decoder(X_pub, 3).decode(np.zeros(3))


# --- the API and the black-box attack ----------------------------------------------------------


def test_api_answers(digits, linear_model):
    X = digits[0][:20]
    p = inv.digits_api_answers(linear_model, X)
    assert p.dtype == np.float64 and p.shape == (20, 10)
    np.testing.assert_allclose(p.sum(1), 1.0)
    r = inv.digits_api_answers(linear_model, X, "rounded", decimals=1)
    np.testing.assert_array_equal(r, np.round(p, 1))
    lab = inv.digits_api_answers(linear_model, X, "label")
    np.testing.assert_array_equal(lab.argmax(1), p.argmax(1))
    assert set(np.unique(lab)) <= {0.0, 1.0} and (lab.sum(1) == 1).all()


def test_api_answers_bad_inputs(digits, linear_model):
    X = digits[0][:2]
    with pytest.raises(ValueError, match="access"):
        inv.digits_api_answers(linear_model, X, "logits")
    with pytest.raises(ValueError, match="decimals"):
        inv.digits_api_answers(linear_model, X, "rounded", decimals=-1)
    with pytest.raises(ValueError, match="grey images"):
        inv.digits_api_answers(linear_model, X[:, 0])


def test_zeroth_order_from_probabilities(digits, linear_model, unchanged_global_state):
    X, y, _ = digits
    result = inv.digits_zeroth_order_inversion(linear_model, n_steps=20, n_directions=10,
                                               seed=0)
    assert result.reconstructions.shape == (1, 10, 1, 28, 28)
    assert result.queries_per_class == 20 * 2 * 10
    assert inv.digits_inversion_scores(result.reconstructions, X, y).n_identified >= 7
    again = inv.digits_zeroth_order_inversion(linear_model, n_steps=20, n_directions=10, seed=0)
    np.testing.assert_array_equal(result.reconstructions, again.reconstructions)


def test_zeroth_order_label_only_gives_up(linear_model):
    """Label answers to a grey image do not change under small probes: no signal, so the
    attacker stops after `patience` steps and the image stays where it started."""
    result = inv.digits_zeroth_order_inversion(linear_model, access="label", n_steps=50,
                                               n_directions=5, sigma=1e-3, patience=3, seed=0)
    assert result.queries_per_class == 3 * 2 * 5
    start = np.clip(0.5 + np.random.default_rng(0).uniform(-0.05, 0.05, (10, 784)), 0, 1)
    np.testing.assert_allclose(result.reconstructions.reshape(10, 784), start, atol=1e-6)


def test_zeroth_order_with_decoder(digits, linear_model, unchanged_global_state):
    _, _, X_pub = digits
    decoder = inv.digits_pca_decoder(X_pub, n_components=6)
    result = inv.digits_zeroth_order_inversion(linear_model, access="label", decoder=decoder,
                                               n_steps=5, n_directions=4, sigma=1.0,
                                               learning_rate=0.1, seed=0)
    assert result.reconstructions.shape == (1, 10, 1, 28, 28)
    assert "label" in result.access


@pytest.mark.parametrize("kwargs, error", [
    (dict(access="scores"), ValueError),
    (dict(n_steps=0), ValueError),
    (dict(n_directions=True), ArgumentTypeError),
    (dict(sigma=-1.0), ValueError),
    (dict(learning_rate="big"), ArgumentTypeError),
    (dict(patience=0), ValueError),
    (dict(decoder=object()), ArgumentTypeError),
])
def test_zeroth_order_bad_arguments(linear_model, kwargs, error):
    with pytest.raises(error):
        inv.digits_zeroth_order_inversion(linear_model, **kwargs)


# --- scores -------------------------------------------------------------------------------------


def test_scores_of_the_class_means_themselves(digits):
    X, y, _ = digits
    means = np.stack([X[y == c].mean(0) for c in range(10)])
    score = inv.digits_inversion_scores(means, X, y, on="300 digits")
    np.testing.assert_allclose(score.correlation, 1.0, atol=1e-5)
    assert score.n_identified == 10 and score.identified.all()
    rate = score.restart_identification
    assert rate.value == 1.0 and "300 digits" in rate.on
    assert (score.contrast > 0).all()
    assert score.correlation_low <= score.mean_correlation <= score.correlation_high
    assert "10/10" in str(score)


def test_scores_of_one_image_for_every_class(digits):
    """The same image for every class identifies at most one class and has zero contrast."""
    X, y, _ = digits
    same = np.repeat(X.mean(0, keepdims=True), 10, axis=0)
    score = inv.digits_inversion_scores(same, X, y)
    assert score.n_identified == 1
    np.testing.assert_allclose(score.contrast.mean(), 0.0, atol=1e-6)
    flat = np.zeros((10, 1, 28, 28), np.float32)  # constant images: correlation 0, not NaN
    assert np.isfinite(inv.digits_inversion_scores(flat, X, y).correlation).all()


def test_scores_bad_inputs(digits):
    X, y, _ = digits
    R = np.zeros((2, 10, 1, 28, 28), np.float32)
    with pytest.raises(ValueError, match="reconstructions must be"):
        inv.digits_inversion_scores(np.zeros((10, 28, 28)), X, y)
    with pytest.raises(ValueError, match="differ"):
        inv.digits_inversion_scores(np.zeros((2, 10, 1, 8, 8)), X, y)
    with pytest.raises(ValueError, match="every one of the 10"):
        inv.digits_inversion_scores(R, X[y < 9], y[y < 9])
    with pytest.raises(ValueError, match="labels"):
        inv.digits_inversion_scores(R, X, y[:-1])
    with pytest.raises(ValueError, match="NaN"):
        inv.digits_inversion_scores(R * np.nan, X, y)
    with pytest.raises(ValueError, match="n_boot"):
        inv.digits_inversion_scores(R, X, y, n_boot=0)


# --- one individual per class -------------------------------------------------------------------


def test_one_individual(digits, unchanged_global_state):
    X, y, _ = digits
    result = inv.digits_one_individual_inversion(X, y, n_copies=20, max_fit_iter=60,
                                                 n_restarts=2, max_iter=20, seed=0)
    assert result.chosen.shape == (10,) and (y[result.chosen] == np.arange(10)).all()
    assert result.reconstructions_one.shape == (10, 1, 28, 28)
    assert result.beats_one.mean() > 0.8
    assert result.beats_one.mean() > result.beats_many.mean() + 0.2
    assert result.top_one.value > result.top_many.value
    again = inv.digits_one_individual_inversion(X, y, n_copies=20, max_fit_iter=60,
                                                n_restarts=2, max_iter=20, seed=0)
    np.testing.assert_array_equal(result.correlation_one, again.correlation_one)


def test_one_individual_bad_inputs(digits):
    X, y, _ = digits
    with pytest.raises(ValueError, match="every class"):
        inv.digits_one_individual_inversion(X[y != 3], y[y != 3])
    with pytest.raises(ValueError, match="shift"):
        inv.digits_one_individual_inversion(X, y, shift=20)
    with pytest.raises(ValueError, match="noise"):
        inv.digits_one_individual_inversion(X, y, noise=0.0)
    with pytest.raises(ArgumentTypeError, match="n_copies"):
        inv.digits_one_individual_inversion(X, y, n_copies=2.5)
    with pytest.raises(ValueError, match="labels"):
        inv.digits_one_individual_inversion(X, y[:-1])
    with pytest.raises(ValueError, match="28x28"):
        inv.digits_one_individual_inversion(np.zeros((20, 1, 8, 8), np.float32), y[:20])


def test_public_names_are_exported():
    for name in inv.__all__:
        assert hasattr(inv, name)
    assert torch.is_tensor(inv.DigitsPCADecoder(np.zeros(784), np.zeros((2, 784))).basis)
