"""Image: encrypted and secret-shared inference of an HE-friendly digit reader.

Introduced in lab 10 (Secure computation). The file holds:

- :func:`non_polynomial_layers`: the layers of a torch model that CKKS cannot evaluate exactly
  (lab 00's :class:`~mlsec_helpers.systems.SmallCNN` has ReLU and max-pooling: CKKS only adds
  and multiplies, so these need a polynomial approximation or a different model);
- :class:`SquareDigitsNet` and :func:`train_square_digits_net`: the HE-friendly variant of
  TenSEAL's MNIST tutorial (one 7x7 convolution with stride 3, a square activation, one linear
  layer), trained on the course's 28x28 digits;
- :func:`digits_he_context`: the CKKS context it needs (four multiplicative levels);
- :func:`encrypted_digits_logits`: the phone encrypts a digit (TenSEAL's im2col encoding), the
  server evaluates the network on the ciphertext with only the public keys, the phone decrypts
  the ten logits; timed stage by stage, bytes counted both ways;
- :func:`shared_digits_logits`: the same network among three parties holding additive shares
  (public weights; the square by Beaver triples, shares truncated after each product), with
  the messages and bytes each digit costs.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from ..repro import limited_threads, seeded
from ..validate import ArgumentTypeError, check_images, check_int, check_labels, check_seed
from . import common
from .results import EncryptedDigits, SharedDigits

__all__ = [
    "DIGITS_HE_COEFF_MOD_BIT_SIZES",
    "DIGITS_HE_SCALE_BITS",
    "SquareActivation",
    "SquareDigitsNet",
    "digits_ciphertext_sizes",
    "digits_he_context",
    "digits_net_logits",
    "encrypted_digits_logits",
    "non_polynomial_layers",
    "shared_digits_logits",
    "train_square_digits_net",
]

DIGITS_HE_COEFF_MOD_BIT_SIZES = (40, 33, 33, 33, 33, 40)
"""The CKKS modulus chain of :func:`digits_he_context`: four middle primes, one level each for
the convolution, packing the channels into one ciphertext, the square and the dot products of
the linear layer (218 bits at most for 128-bit security at ring degree 8192). Introduced in
lab 10 (Secure computation)."""

DIGITS_HE_SCALE_BITS = 33
"""The CKKS scale (2^33) of :func:`digits_he_context`. Introduced in lab 10 (Secure
computation)."""

_SIDE, _KERNEL, _STRIDE = 28, 7, 3
_OUT_SIDE = (_SIDE - _KERNEL) // _STRIDE + 1  # 8: each channel gives 8 x 8 windows

# layer types that are not a polynomial of their input (CKKS only adds and multiplies)
_NON_POLYNOMIAL = (nn.ReLU, nn.MaxPool2d, nn.MaxPool1d, nn.AdaptiveMaxPool2d, nn.Sigmoid,
                   nn.Tanh, nn.GELU, nn.Softmax, nn.LeakyReLU, nn.ELU, nn.Dropout)


def non_polynomial_layers(model: nn.Module) -> list[tuple[str, str]]:
    """The layers of ``model`` that CKKS cannot evaluate exactly, as (name, type) pairs:
    activations and pooling that compare or exponentiate (ReLU, max-pooling, sigmoid, tanh,
    softmax, ...). CKKS evaluates additions and multiplications only, so each of these needs a
    polynomial approximation (its error grows outside the approximated range) or a model
    without it. Dropout is listed too, though it is the identity at inference.

    Introduced in lab 10 (Secure computation).
    """
    if not isinstance(model, nn.Module):
        raise ArgumentTypeError(f"model must be a torch nn.Module, got {type(model).__name__}")
    return [(name, type(m).__name__) for name, m in model.named_modules()
            if isinstance(m, _NON_POLYNOMIAL)]


class SquareActivation(nn.Module):
    """The activation ``x * x``: a polynomial, so CKKS evaluates it (one multiplicative level)
    and secret sharing with one Beaver product per value.

    Introduced in lab 10 (Secure computation).
    """

    def forward(self, x):
        return x * x


class SquareDigitsNet(nn.Module):
    """An HE-friendly digit reader (TenSEAL's MNIST tutorial with one linear layer): a 7x7
    convolution with stride 3 and ``channels`` output channels (8x8 windows each), the square
    ``x * x`` as activation, and one linear layer to 10 logits. Every operation is an addition
    or a multiplication, so CKKS evaluates it with no approximation beyond its own noise.

    Introduced in lab 10 (Secure computation).
    """

    def __init__(self, channels: int = 4):
        super().__init__()
        self.channels = check_int(channels, "channels", minimum=1, maximum=16)
        self.conv = nn.Conv2d(1, self.channels, _KERNEL, stride=_STRIDE)
        self.square = SquareActivation()
        self.fc = nn.Linear(self.channels * _OUT_SIDE * _OUT_SIDE, 10)

    def forward(self, x):
        return self.fc(self.square(self.conv(x)).flatten(1))


def _check_digits(X, name: str = "X") -> np.ndarray:
    X = check_images(X, name)
    if X.shape[1:] != (1, _SIDE, _SIDE):
        raise ValueError(f"{name} must hold 28x28 digits (n, 1, 28, 28), got {X.shape}")
    return X


def _check_net(model) -> SquareDigitsNet:
    if not isinstance(model, SquareDigitsNet):
        raise ArgumentTypeError(f"model must be a SquareDigitsNet (train_square_digits_net), got "
                                f"{type(model).__name__}")
    return model


def train_square_digits_net(X, y, *, channels: int = 4, epochs: int = 8, lr: float = 1e-3,
                            batch_size: int = 64, seed: int = 0) -> SquareDigitsNet:
    """Train a :class:`SquareDigitsNet` on 28x28 digits ``X`` (n, 1, 28, 28) with labels ``y``
    (Adam, cross-entropy, the course's training loop), on one thread, seeded; the caller's
    generators and thread caps are left as they were. Returns the model in evaluation mode.

    Introduced in lab 10 (Secure computation).
    """
    from ..systems import fit_torch_classifier

    X = _check_digits(X)
    y = check_labels(y, len(X), n_classes=10)
    epochs = check_int(epochs, "epochs")
    seed = check_seed(seed)
    with seeded(seed), limited_threads(1):
        model = SquareDigitsNet(channels)
        model.losses_ = fit_torch_classifier(model, X, y, epochs=epochs, lr=lr,
                                             batch_size=batch_size, seed=seed,
                                             device=torch.device("cpu"),
                                             progress="HE-friendly digit reader")
    return model.eval()


@torch.no_grad()
def digits_net_logits(model: SquareDigitsNet, X) -> np.ndarray:
    """The plaintext logits (n, 10) of ``model`` on digits ``X``, in float64 (the reference
    the encrypted and secret-shared logits are compared with).

    Introduced in lab 10 (Secure computation).
    """
    return _float64_logits(_check_net(model), _check_digits(X))


def _float64_logits(model: SquareDigitsNet, X: np.ndarray) -> np.ndarray:
    w = model.conv.weight.detach().double()
    b = model.conv.bias.detach().double()
    h = nn.functional.conv2d(torch.as_tensor(X, dtype=torch.float64), w, b, stride=_STRIDE)
    h = (h * h).flatten(1)
    return (h @ model.fc.weight.detach().double().T + model.fc.bias.detach().double()).numpy()


def digits_he_context():
    """The client's CKKS context for :func:`encrypted_digits_logits`: ring degree 8192 (4,096
    slots), modulus chain :data:`DIGITS_HE_COEFF_MOD_BIT_SIZES`, scale 2^33, Galois keys (the
    convolution and the dot products sum slots by rotations).

    Introduced in lab 10 (Secure computation).
    """
    return common.ckks_context(poly_modulus_degree=8192,
                               coeff_mod_bit_sizes=DIGITS_HE_COEFF_MOD_BIT_SIZES,
                               global_scale_bits=DIGITS_HE_SCALE_BITS, galois=True)


def encrypted_digits_logits(context, model: SquareDigitsNet, X) -> EncryptedDigits:
    """Encrypted inference of ``model`` on each digit of ``X``, one digit per query.

    The phone (``context``, secret key inside) encrypts a digit with TenSEAL's im2col encoding
    and serialises it. The server loads it under :func:`common.public_context` (no secret key),
    evaluates each channel's convolution (``conv2d_im2col``), packs the channels into one
    ciphertext, squares it, and computes the ten logits as ten encrypted dot products (one
    ciphertext each: TenSEAL's ``mm`` would rotate once per input value, about ten times
    slower here). The phone loads the ten ciphertexts and decrypts them. Every byte counted is
    a serialised ciphertext as sent; the keys go to the server once (``key_bytes``).

    Introduced in lab 10 (Secure computation).
    """
    import tenseal as ts

    model = _check_net(model)
    X = _check_digits(X)
    if not isinstance(context, ts.Context) or not context.has_galois_keys():
        raise ArgumentTypeError("context must be a TenSEAL context with Galois keys (see "
                                "digits_he_context)")
    # what the phone sends once: the context without its secret key, serialised; the server
    # loads it (one copy of the 66 MB of Galois keys, not two as copy() then serialize() would)
    sent_keys = context.serialize(save_secret_key=False)
    server = ts.context_from(sent_keys)
    key_bytes = len(sent_keys)
    del sent_keys
    kernels = [k.reshape(_KERNEL, _KERNEL).tolist()
               for k in model.conv.weight.detach().double().numpy()]
    conv_bias = model.conv.bias.detach().double().numpy().tolist()
    fc_w = model.fc.weight.detach().double().numpy()
    fc_b = model.fc.bias.detach().double().numpy().tolist()
    rows = [row.tolist() for row in fc_w]
    n = len(X)
    logits = np.empty((n, 10))
    stage = {"encrypt": 0.0, "compute": 0.0, "decrypt": 0.0}
    down = n_down = 0
    compute_ms, bytes_up = np.empty(n), np.empty(n)
    for i in range(n):
        t0 = time.perf_counter()
        enc, windows = ts.im2col_encoding(context, X[i, 0].astype(np.float64).tolist(),
                                          _KERNEL, _KERNEL, _STRIDE)
        sent = enc.serialize()
        t1 = time.perf_counter()
        x = ts.ckks_vector_from(server, sent)
        channels = [x.conv2d_im2col(k, windows) + b
                    for k, b in zip(kernels, conv_bias, strict=True)]
        h = ts.CKKSVector.pack_vectors(channels)
        h.square_()
        answers = [(h.dot(row) + b).serialize() for row, b in zip(rows, fc_b, strict=True)]
        t2 = time.perf_counter()
        logits[i] = [ts.ckks_vector_from(context, a).decrypt()[0] for a in answers]
        t3 = time.perf_counter()
        stage["encrypt"] += t1 - t0
        stage["compute"] += t2 - t1
        stage["decrypt"] += t3 - t2
        compute_ms[i], bytes_up[i] = 1000.0 * (t2 - t1), len(sent)
        down += sum(len(a) for a in answers)
        n_down += len(answers)
    plain = _float64_logits(model, X)
    ms = {k: 1000.0 * v / n for k, v in stage.items()}
    return EncryptedDigits(
        logits=logits, plain_logits=plain,
        max_abs_error=float(np.abs(logits - plain).max()),
        agree=logits.argmax(1) == plain.argmax(1),
        ms_per_digit=sum(ms.values()), encrypt_ms_per_digit=ms["encrypt"],
        compute_ms_per_digit=ms["compute"], decrypt_ms_per_digit=ms["decrypt"],
        bytes_up_per_digit=float(bytes_up.mean()), bytes_down_per_digit=down / n,
        ciphertexts_down_per_digit=n_down // n, digit_compute_ms=compute_ms,
        digit_bytes_up=bytes_up, key_bytes=key_bytes)


def digits_ciphertext_sizes(context, X) -> np.ndarray:
    """The bytes of each digit's ciphertext as the phone sends it (im2col-encoded, encrypted,
    serialised): what a curious server measures without decrypting anything. SEAL compresses
    serialised ciphertexts, so the sizes vary by a few bytes from digit to digit.

    Introduced in lab 10 (Secure computation).
    """
    import tenseal as ts

    X = _check_digits(X)
    if not isinstance(context, ts.Context):
        raise ArgumentTypeError(f"context must be a tenseal.Context (see digits_he_context), "
                                f"got {type(context).__name__}")
    return np.array([len(ts.im2col_encoding(context, x[0].astype(np.float64).tolist(), _KERNEL,
                                            _KERNEL, _STRIDE)[0].serialize()) for x in X])


def _im2col(X: np.ndarray) -> np.ndarray:
    """(n, 64, 49) windows of each digit, in the order of torch's convolution output."""
    win = np.lib.stride_tricks.sliding_window_view(X[:, 0], (_KERNEL, _KERNEL), axis=(1, 2))
    win = win[:, ::_STRIDE, ::_STRIDE]
    return win.reshape(len(X), _OUT_SIDE * _OUT_SIDE, _KERNEL * _KERNEL)


def _truncate(z: np.ndarray) -> tuple[np.ndarray, int]:
    """Shares at scale 2 * FRAC_BITS back to FRAC_BITS, with the messages it took.

    Hand-written (:mod:`common` has no truncation; a product of two fixed-point values doubles
    the scale, and a second product would overflow the 64-bit ring). Local truncation
    (SecureML, Mohassel and Zhang 2017) is exact up to one unit for two parties: party 0
    shifts its share, party 1 negates, shifts and negates back; it fails only with probability
    about |x| / 2^63. With three parties a share may wrap, so parties 2..n-1 first send their
    shares to party 1 (n - 2 messages): from then on the value is two-party shared, private
    unless party 0 and party 1 collude.
    """
    shift = np.uint64(common.FRAC_BITS)
    one = z[1:].sum(axis=0, dtype=np.uint64)
    out = np.zeros_like(z)
    out[0] = z[0] >> shift
    out[1] = np.uint64(0) - ((np.uint64(0) - one) >> shift)
    return out, len(z) - 2


def shared_digits_logits(model: SquareDigitsNet, X, *, seed: int,
                         n_parties: int = 3) -> SharedDigits:
    """Secret-shared inference of ``model`` on digits ``X`` among ``n_parties`` parties
    (additive shares in Z_2^64, fixed point with ``common.FRAC_BITS``; simulated in process,
    every message counted). The weights are public to the parties (the model owner is one of
    them, or the model is not secret); the digit is the secret.

    The phone shares each digit's im2col windows (one message to each party). The convolution
    and the linear layer have public weights, so each party computes them on its own share
    (no message). The square multiplies two shared values: :func:`common.beaver_multiply`
    with a dealer's triple, which opens the masked ``E`` and ``F`` of each of the 256
    activations (every party broadcasts its shares: one round). After each product the
    shares are truncated back to ``FRAC_BITS`` (:func:`_truncate`). The parties send their
    shares of the ten logits to the phone, which reconstructs them.

    Introduced in lab 10 (Secure computation).
    """
    model = _check_net(model)
    X = _check_digits(X)
    seed = check_seed(seed)
    n_parties = check_int(n_parties, "n_parties", minimum=2)
    kernels = model.conv.weight.detach().double().numpy().reshape(model.channels, -1)
    conv_b = model.conv.bias.detach().double().numpy()
    fc_w = model.fc.weight.detach().double().numpy()
    fc_b = model.fc.bias.detach().double().numpy()
    n, m = len(X), _OUT_SIDE * _OUT_SIDE
    big = 2 * common.FRAC_BITS
    # each digit is a query of its own; digits are computed in batches to bound the memory
    batch = 200
    seeds = np.random.default_rng(seed).integers(0, 2 ** 31, size=(-(-n // batch), 2))
    logits = np.empty((n, 10))
    sent = offline = opened = 0
    t0 = time.perf_counter()
    for k, start in enumerate(range(0, n, batch)):
        Xb = X[start:start + batch].astype(np.float64)
        nb = len(Xb)
        x = common.share(_im2col(Xb), n_parties, seed=int(seeds[k, 0]))  # (parties, nb, 64, 49)
        sent += x.nbytes
        # convolution, public weights: local on each share; the bias at the product's scale
        z = np.matmul(x, common.encode_fixed(kernels.T), dtype=np.uint64)  # (parties, nb, 64, C)
        z[0] += common.encode_fixed(conv_b, frac_bits=big)
        z = z.transpose(0, 1, 3, 2).reshape(n_parties, nb, model.channels * m)  # torch's order
        z, merged = _truncate(z)
        sent += merged * z[0].nbytes
        # the square: one Beaver multiplication per activation, one round of openings
        sq, (E, F) = common.beaver_multiply(z, z, seed=int(seeds[k, 1]))
        sent += n_parties * (n_parties - 1) * (E.nbytes + F.nbytes)
        offline += 3 * n_parties * z[0].nbytes  # the dealer's shares of A, B and C
        opened += E.size + F.size
        sq, merged = _truncate(sq)
        sent += merged * sq[0].nbytes
        # the linear layer, public weights: local again
        out = np.matmul(sq, common.encode_fixed(fc_w.T), dtype=np.uint64)  # (parties, nb, 10)
        out[0] += common.encode_fixed(fc_b, frac_bits=big)
        sent += out.nbytes  # output shares to the phone
        logits[start:start + nb] = common.reconstruct(out, frac_bits=big)
    # per digit: input shares, two merges before truncation, Beaver openings (each party
    # broadcasts its shares of E and F), output shares
    messages = n_parties + 2 * (n_parties - 2) + 2 * n_parties * (n_parties - 1) + n_parties
    ms = 1000.0 * (time.perf_counter() - t0) / n
    plain = _float64_logits(model, X)
    return SharedDigits(
        logits=logits, plain_logits=plain, max_abs_error=float(np.abs(logits - plain).max()),
        agree=logits.argmax(1) == plain.argmax(1), ms_per_digit=ms,
        multiplications_per_digit=model.channels * m,
        opened_values_per_digit=opened // n, messages_per_digit=messages,
        rounds=5, bytes_per_digit=sent / n, offline_bytes_per_digit=offline / n,
        n_parties=n_parties)
