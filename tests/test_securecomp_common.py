"""The shared tools of lab 10 (Secure computation): CKKS scores, polynomial sigmoid, additive
sharing in Z_2^64 and Beaver products."""

import numpy as np
import pytest

from mlsec_helpers.securecomp import common as sc

RNG = np.random.default_rng(0)
X = RNG.normal(size=(6, 5))
W = RNG.normal(size=5)
B = 0.3


@pytest.fixture(scope="module")
def context():
    return sc.ckks_context()


# --- HE -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("packed", [False, True])
def test_encrypted_linear_scores_match_plaintext(context, packed):
    r = sc.encrypted_linear_scores(context, X, W, B, packed=packed)
    assert r.scores == pytest.approx(X @ W + B, abs=1e-4)
    assert r.n_ciphertexts == (5 if packed else 6)
    assert r.packed is packed and r.ms_per_row > 0 and r.bytes_per_row > 0
    assert r.bytes_per_row == pytest.approx(r.bytes_up_per_row + r.bytes_down_per_row)


def test_packed_chunks_rows_beyond_the_slot_count():
    small = sc.ckks_context(poly_modulus_degree=4096, coeff_mod_bit_sizes=(40, 30, 30),
                            global_scale_bits=30, galois=False)
    Xl = np.random.default_rng(1).normal(size=(2100, 2))  # 2048 slots -> two chunks
    r = sc.encrypted_linear_scores(small, Xl, [1.0, -2.0], 0.5, packed=True)
    assert r.n_ciphertexts == 4
    assert r.scores == pytest.approx(Xl @ [1.0, -2.0] + 0.5, abs=1e-2)
    with pytest.raises(ValueError, match="Galois"):
        sc.encrypted_linear_scores(small, Xl[:2], [1.0, -2.0], 0.5, packed=False)


def test_key_sizes_and_public_context(context):
    k = sc.key_sizes(context)
    assert k.slots == 4096
    assert k.galois_keys > k.relin_keys > k.public_key > k.secret_key > 0
    assert k.ciphertext > 100_000
    public = sc.public_context(context)
    assert not public.has_secret_key() and context.has_secret_key()
    assert sc.key_sizes(public).secret_key == 0
    assert sc.serialized_size(public) < sc.serialized_size(context) + k.secret_key


def test_encrypted_sigmoid_evaluates_the_polynomial_under_encryption():
    deep = sc.ckks_context(poly_modulus_degree=16384, coeff_mod_bit_sizes=(60, 40, 40, 40, 60),
                           galois=False)
    r = sc.encrypted_sigmoid_scores(deep, X, W, B, sc.TEXTBOOK_SIGMOID_COEFFS, logit_scale=2.0)
    expected = sc.sigmoid_poly(sc.TEXTBOOK_SIGMOID_COEFFS)((X @ W + B) / 2.0)
    assert r.probabilities == pytest.approx(expected, abs=1e-4)
    with pytest.raises(ValueError, match="levels"):
        sc.encrypted_sigmoid_scores(sc.ckks_context(galois=False), X, W, B,
                                    sc.TEXTBOOK_SIGMOID_COEFFS)


# --- polynomial sigmoid -------------------------------------------------------------------------


def test_sigmoid_polynomials():
    assert sc.sigmoid([0.0, 1000.0, -1000.0]).tolist() == [0.5, 1.0, 0.0]
    kim = sc.sigmoid_poly(sc.TEXTBOOK_SIGMOID_COEFFS)
    assert kim(2.0) == pytest.approx(0.5 + 0.394 - 0.032)
    x = np.linspace(*sc.TEXTBOOK_SIGMOID_RANGE, 101)
    assert np.abs(kim(x) - sc.sigmoid(x)).max() < 0.06
    assert kim(8.0) < 0.5 and kim(20.0) < 0.0  # it turns back outside its range
    c = sc.fit_sigmoid_poly(3, -20, 20)
    x = np.linspace(-20, 20, 100)  # 0 left out: the fit is 0.5 there up to rounding
    assert np.all((sc.sigmoid_poly(c)(x) > 0.5) == (x > 0))  # the fit keeps every decision
    assert sc.fit_sigmoid_poly(1, 0, 1) == pytest.approx(np.polyfit(
        np.linspace(0, 1, 2001), sc.sigmoid(np.linspace(0, 1, 2001)), 1)[::-1])


# --- secret sharing -----------------------------------------------------------------------------


def test_share_and_reconstruct_known_answers():
    x = np.array([1.5, -2.25, 0.0, 1e-6])
    s = sc.share(x, 3, seed=0)
    assert s.shape == (3, 4) and s.dtype == np.uint64
    assert sc.reconstruct(s) == pytest.approx(x, abs=2 ** -20)
    assert sc.reconstruct(s[:2]).tolist() != pytest.approx(x.tolist())
    assert sc.encode_fixed(-1.0, frac_bits=0) == np.uint64(2 ** 64 - 1)
    assert sc.decode_fixed(np.uint64(2 ** 64 - 1), frac_bits=0) == -1.0
    ints = np.array([5, 7], dtype=np.uint64)
    assert sc.reconstruct(sc.share(ints, 2, seed=3), frac_bits=None).tolist() == [5, 7]
    assert np.array_equal(sc.share(x, seed=4), sc.share(x, seed=4))
    assert not np.array_equal(sc.share(x, seed=4), sc.share(x, seed=5))


def test_shares_add_and_beaver_multiplies():
    x, y = np.array([1.5, -3.0]), np.array([2.0, 0.25])
    sx, sy = sc.share(x, seed=1), sc.share(y, seed=2)
    assert sc.reconstruct(sx + sy) == pytest.approx(x + y, abs=1e-5)
    z, (E, F) = sc.beaver_multiply(sx, sy, seed=3)
    assert sc.reconstruct(z, frac_bits=2 * sc.FRAC_BITS) == pytest.approx(x * y, abs=1e-5)
    assert E.shape == (2,) and F.shape == (2,)
    M = np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, 3.0]])
    zm, _ = sc.beaver_multiply(sc.share(M, seed=4), sy, seed=5, matmul=True)
    assert sc.reconstruct(zm, frac_bits=2 * sc.FRAC_BITS) == pytest.approx(M @ y, abs=1e-5)


@pytest.mark.parametrize("secret", [False, True])
def test_secret_shared_linear_matches_plaintext(secret, unchanged_global_state):
    r = sc.secret_shared_linear(X, W, B, secret_weights=secret, seed=0)
    assert r.scores == pytest.approx(X @ W + B, abs=1e-4)
    assert len(r.views) == 3
    if secret:
        assert r.opened_values == X.size + W.size
        assert r.messages == 3 + 6 + 12 + 3 and r.offline_bytes_per_row > 0
        assert "opened E = X - A" in r.views[0]
    else:
        assert r.opened_values == 0 and r.messages == 6 and r.offline_bytes_per_row == 0
    again = sc.secret_shared_linear(X, W, B, secret_weights=secret, seed=0)
    assert np.array_equal(again.views[1]["X share"], r.views[1]["X share"])


@pytest.mark.parametrize("call", [
    lambda: sc.share([1.0], 1, seed=0),
    lambda: sc.share([np.inf], seed=0),
    lambda: sc.share([1.0], seed=-1),
    lambda: sc.share([1e30], seed=0),
    lambda: sc.reconstruct(np.ones((3, 2))),
    lambda: sc.reconstruct(np.ones((1, 2), dtype=np.uint64)),
    lambda: sc.decode_fixed(np.ones(2)),
    lambda: sc.beaver_multiply(sc.share([1.0], seed=0), sc.share([1.0, 2.0], seed=0), seed=0),
    lambda: sc.secret_shared_linear(X, W[:3], B, secret_weights=True, seed=0),
    lambda: sc.secret_shared_linear(X, W, B, secret_weights="yes", seed=0),
    lambda: sc.secret_shared_linear(X[0], W, B, secret_weights=False, seed=0),
    lambda: sc.fit_sigmoid_poly(3, 1, -1),
    lambda: sc.fit_sigmoid_poly(0, -1, 1),
    lambda: sc.sigmoid_poly([]),
    lambda: sc.ckks_context(poly_modulus_degree=5000),
    lambda: sc.ckks_context(coeff_mod_bit_sizes=(60,)),
    lambda: sc.encrypted_linear_scores("ctx", X, W, B, packed=True),
    lambda: sc.serialized_size(3),
])
def test_bad_input_is_a_clear_error(call):
    with pytest.raises(ValueError):
        call()
