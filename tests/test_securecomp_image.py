"""Lab 10's image section: the HE-friendly digit reader, encrypted and secret-shared."""

import numpy as np
import pytest
import torch

from mlsec_helpers.securecomp import image as sc_image
from mlsec_helpers.systems import SmallCNN
from mlsec_helpers.validate import ArgumentTypeError


def _digits(n, seed=0):
    gen = np.random.default_rng(seed)
    X = np.zeros((n, 1, 28, 28), dtype=np.float32)
    X[:, :, 6:22, 6:22] = np.round(gen.random((n, 1, 16, 16)) * 255) / 255  # inked middle
    return X, gen.integers(0, 10, size=n)


@pytest.fixture(scope="module")
def net():
    X, y = _digits(64)
    return sc_image.train_square_digits_net(X, y, epochs=1, seed=0)


def test_non_polynomial_layers_of_the_reference_cnn_and_the_variant():
    found = sc_image.non_polynomial_layers(SmallCNN())
    assert {t for _, t in found} == {"ReLU", "MaxPool2d"}
    assert len(found) == 5  # three ReLUs, two max-poolings
    assert sc_image.non_polynomial_layers(sc_image.SquareDigitsNet()) == []
    with pytest.raises(ArgumentTypeError):
        sc_image.non_polynomial_layers("a model")


def test_square_net_shapes_and_float64_logits_match_torch(net):
    X, _ = _digits(3, seed=1)
    with torch.no_grad():
        ref = net(torch.as_tensor(X)).numpy()
    got = sc_image.digits_net_logits(net, X)
    assert got.shape == (3, 10) and got.dtype == np.float64
    np.testing.assert_allclose(got, ref, atol=1e-3)
    assert sc_image.SquareActivation()(torch.tensor([-2.0, 3.0])).tolist() == [4.0, 9.0]


def test_training_is_seeded_and_leaves_global_state(unchanged_global_state):
    X, y = _digits(32)
    a = sc_image.train_square_digits_net(X, y, epochs=1, seed=3)
    b = sc_image.train_square_digits_net(X, y, epochs=1, seed=3)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not a.training


def test_bad_inputs_raise(net):
    X, y = _digits(4)
    with pytest.raises(ValueError, match="28x28"):
        sc_image.digits_net_logits(net, np.zeros((2, 1, 8, 8), dtype=np.float32))
    with pytest.raises(ValueError):
        sc_image.train_square_digits_net(X, y[:2], seed=0)
    with pytest.raises(ValueError):
        sc_image.train_square_digits_net(X, y, epochs=0, seed=0)
    with pytest.raises(ArgumentTypeError):
        sc_image.shared_digits_logits(SmallCNN(), X, seed=0)
    with pytest.raises(ValueError):
        sc_image.shared_digits_logits(net, X, seed=-1)
    with pytest.raises(ValueError):
        sc_image.SquareDigitsNet(channels=0)
    with pytest.raises(ArgumentTypeError):
        sc_image.encrypted_digits_logits("context", net, X)


def test_secret_shared_logits_match_plaintext_and_are_seeded(net):
    X, _ = _digits(6, seed=2)
    res = sc_image.shared_digits_logits(net, X, seed=1)
    plain = sc_image.digits_net_logits(net, X)
    np.testing.assert_allclose(res.plain_logits, plain)
    assert res.max_abs_error < 1e-3 and res.agree.all()
    assert res.multiplications_per_digit == 256 and res.opened_values_per_digit == 512
    # 3 input shares, 2 merges, 2 x 3 x 2 openings, 3 output shares
    assert res.messages_per_digit == 3 + 2 + 12 + 3
    again = sc_image.shared_digits_logits(net, X, seed=1)
    np.testing.assert_array_equal(res.logits, again.logits)
    two = sc_image.shared_digits_logits(net, X, seed=1, n_parties=2)
    assert two.max_abs_error < 1e-3 and two.messages_per_digit == 2 + 0 + 4 + 2


def test_encrypted_logits_match_plaintext(net):
    X, _ = _digits(2, seed=4)
    ctx = sc_image.digits_he_context()
    res = sc_image.encrypted_digits_logits(ctx, net, X)
    assert res.logits.shape == (2, 10)
    assert res.max_abs_error < 0.05 and res.agree.all()
    assert res.ciphertexts_down_per_digit == 10
    assert res.bytes_up_per_digit > 1e5 and res.bytes_down_per_digit > 1e5
    assert res.digit_compute_ms.shape == (2,) and (res.digit_compute_ms > 0).all()
    assert res.key_bytes > 1e6  # Galois keys
    sizes = sc_image.digits_ciphertext_sizes(ctx, X)
    assert sizes.shape == (2,) and (np.abs(sizes - res.digit_bytes_up) < 0.05 * sizes).all()
