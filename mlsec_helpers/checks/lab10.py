"""Exercises of lab 10 (Secure computation).

Each exercise's cases test every rule its statement in the lab states (named in each case's
label); ``hidden_cases`` test the same rules on other inputs, for :func:`exercises.grade`.
"""

from __future__ import annotations

import math
import numbers
import weakref

import numpy as np

from ..exercises import Case, Exercise, Mistake
from ..securecomp import common as sc_common

# --- exercise 1: reconstructing a secret-shared value -------------------------------------------


def reconstruct(shares, frac_bits) -> np.ndarray:
    """The real values behind additive shares in Z_2^64: ``shares`` is a ``uint64`` array
    (n_parties, ...) whose sum modulo 2^64 is the fixed-point encoding ``round(x * 2**frac_bits)``
    of ``x`` (a negative value wraps to ``2^64 - |v|``). Sum the shares modulo 2^64, read the
    result as a SIGNED 64-bit integer, divide by ``2**frac_bits``; return float64 values of
    shape ``shares.shape[1:]``. Shares that are not ``uint64`` are bad input: raise
    ``TypeError``.

    Introduced in lab 10 (Secure computation).
    """
    s = np.asarray(shares)
    if s.dtype != np.uint64:
        raise TypeError("shares must be a uint64 array")
    return s.sum(axis=0, dtype=np.uint64).view(np.int64).astype(np.float64) / 2.0 ** frac_bits


def _rc_unsigned(s, f):  # reads the sum as unsigned: negative values become huge
    s = np.asarray(s)
    if s.dtype != np.uint64:
        raise TypeError("uint64 needed")
    return s.sum(axis=0, dtype=np.uint64).astype(np.float64) / 2.0 ** f


def _rc_float_sum(s, f):  # sums in float64: 53 bits cannot hold the ring
    s = np.asarray(s)
    if s.dtype != np.uint64:
        raise TypeError("uint64 needed")
    total = np.mod(s.astype(np.float64).sum(axis=0), 2.0 ** 64)
    return np.where(total >= 2.0 ** 63, total - 2.0 ** 64, total) / 2.0 ** f


def _rc_no_scale(s, f):  # forgets the fixed-point scale
    s = np.asarray(s)
    if s.dtype != np.uint64:
        raise TypeError("uint64 needed")
    return s.sum(axis=0, dtype=np.uint64).view(np.int64).astype(np.float64)


def _rc_first_two(s, f):  # only two parties' shares
    s = np.asarray(s)
    if s.dtype != np.uint64:
        raise TypeError("uint64 needed")
    return (s[0] + s[1]).view(np.int64).astype(np.float64) / 2.0 ** f


def _rc_mean(s, f):  # averages the shares
    s = np.asarray(s)
    if s.dtype != np.uint64:
        raise TypeError("uint64 needed")
    return s.view(np.int64).astype(np.float64).mean(axis=0) / 2.0 ** f


def _rc_xor(s, f):  # XOR sharing instead of additive
    s = np.asarray(s)
    if s.dtype != np.uint64:
        raise TypeError("uint64 needed")
    return np.bitwise_xor.reduce(s, axis=0).view(np.int64).astype(np.float64) / 2.0 ** f


def _reconstruct_cases() -> list[Case]:
    x = np.array([1.5, -2.25, 0.0, 1000.125])
    x2 = np.random.default_rng(1).normal(scale=50.0, size=(4, 3))
    return [
        Case((sc_common.share(x, 3, seed=1, frac_bits=20), 20),
             label="3 parties, positive and negative values (signed reading)"),
        Case((sc_common.share(x2, 5, seed=2, frac_bits=16), 16),
             label="5 parties, a (4, 3) array, 16 fractional bits"),
        Case((sc_common.share(np.array([-1e6, 3e6]), 2, seed=3, frac_bits=30), 30),
             label="2 parties, large values at 30 fractional bits (beyond float64's 53 bits)"),
        Case((np.zeros((3, 2)), 20), label="float shares are bad input", raises=TypeError),
    ]


def _reconstruct_hidden_cases() -> list[Case]:
    x = np.random.default_rng(11).normal(scale=1000.0, size=50)
    return [
        Case((sc_common.share(x, 4, seed=12, frac_bits=24), 24), label="4 parties, 50 values"),
        Case((sc_common.share(-x[:5], 3, seed=13, frac_bits=40), 40),
             label="40 fractional bits"),
        Case((np.ones((2, 2), dtype=np.int64), 10), label="int64 shares are bad input",
             raises=TypeError),
    ]


def _reconstruct_validate(got, case: Case) -> str | None:
    shape = np.asarray(case.args[0]).shape[1:]
    if not isinstance(got, np.ndarray) or got.shape != shape:
        return f"return an array of shape {shape} (one value per shared entry)"
    return None


RECONSTRUCT = Exercise(
    name="reconstruct_shares",
    reference=reconstruct,
    cases=_reconstruct_cases,
    hidden_cases=_reconstruct_hidden_cases,
    validate=_reconstruct_validate,
    compare=lambda got, expected: np.array_equal(np.asarray(got, dtype=float), expected),
    conceal=[sc_common.reconstruct, sc_common.decode_fixed],
    mistakes=[
        Mistake("the sum read as unsigned", _rc_unsigned,
                "negative values wrap to 2^64 - |v|: read the sum as int64 (.view(np.int64))"),
        Mistake("float64 arithmetic", _rc_float_sum,
                "sum in uint64 (dtype=np.uint64): float64 keeps only 53 bits"),
        Mistake("the fixed-point scale forgotten", _rc_no_scale, "divide by 2**frac_bits"),
        Mistake("only the first two shares", _rc_first_two, "add EVERY party's share"),
        Mistake("the shares averaged", _rc_mean, "the secret is the SUM of the shares"),
        Mistake("XOR instead of addition", _rc_xor,
                "additive sharing: the shares add up (modulo 2^64) to the encoding"),
    ],
    hint="shares.sum(axis=0, dtype=np.uint64).view(np.int64) / 2**frac_bits",
)

# --- exercise 3: a Beaver multiplication --------------------------------------------------------


def beaver_shares(x_shares, y_shares, a_shares, b_shares, c_shares) -> np.ndarray:
    """One Beaver multiplication in Z_2^64 (element-wise, all arrays ``uint64`` of shape
    (n_parties, d)). The parties hold shares of ``x``, ``y`` and of a dealer's triple ``a``,
    ``b``, ``c = a * b``. They open ``e = x - a`` and ``f = y - b`` (the sums of the parties'
    shares of ``x - a`` and ``y - b``, modulo 2^64); then party ``i`` computes ``z_i = c_i +
    e * b_i + f * a_i``, and party 0 alone also adds ``e * f``. Return the (n_parties, d)
    ``uint64`` shares ``z``, which add up to ``x * y`` modulo 2^64.

    Introduced in lab 10 (Secure computation).
    """
    X, Y, A, B, C = (np.asarray(v, dtype=np.uint64) for v in
                     (x_shares, y_shares, a_shares, b_shares, c_shares))
    e = (X - A).sum(axis=0, dtype=np.uint64)
    f = (Y - B).sum(axis=0, dtype=np.uint64)
    z = C + e * B + f * A
    z[0] += e * f
    return z


def _bv_all_add_ef(X, Y, A, B, C):  # every party adds e * f
    X, Y, A, B, C = (np.asarray(v, dtype=np.uint64) for v in (X, Y, A, B, C))
    e, f = (X - A).sum(0, dtype=np.uint64), (Y - B).sum(0, dtype=np.uint64)
    return C + e * B + f * A + e * f


def _bv_no_ef(X, Y, A, B, C):  # nobody adds e * f
    X, Y, A, B, C = (np.asarray(v, dtype=np.uint64) for v in (X, Y, A, B, C))
    e, f = (X - A).sum(0, dtype=np.uint64), (Y - B).sum(0, dtype=np.uint64)
    return C + e * B + f * A


def _bv_swapped(X, Y, A, B, C):  # e times a's share and f times b's
    X, Y, A, B, C = (np.asarray(v, dtype=np.uint64) for v in (X, Y, A, B, C))
    e, f = (X - A).sum(0, dtype=np.uint64), (Y - B).sum(0, dtype=np.uint64)
    z = C + e * A + f * B
    z[0] += e * f
    return z


def _bv_local(X, Y, A, B, C):  # each party multiplies its own shares (no triple)
    return np.asarray(X, dtype=np.uint64) * np.asarray(Y, dtype=np.uint64)


def _bv_unopened(X, Y, A, B, C):  # uses each party's own share of e and f, never opened
    X, Y, A, B, C = (np.asarray(v, dtype=np.uint64) for v in (X, Y, A, B, C))
    e, f = X - A, Y - B
    z = C + e * B + f * A
    z[0] += (e * f)[0]
    return z


def _bv_plus(X, Y, A, B, C):  # opens x + a and y + b
    X, Y, A, B, C = (np.asarray(v, dtype=np.uint64) for v in (X, Y, A, B, C))
    e, f = (X + A).sum(0, dtype=np.uint64), (Y + B).sum(0, dtype=np.uint64)
    z = C + e * B + f * A
    z[0] += e * f
    return z


def _beaver_case(n_parties, d, seed, scale=2 ** 20):
    gen = np.random.default_rng(seed)
    x = gen.integers(-scale, scale, size=d).astype(np.int64).view(np.uint64)
    y = gen.integers(-scale, scale, size=d).astype(np.int64).view(np.uint64)
    A, B, C = sc_common.beaver_triple((d,), (d,), n_parties, seed=seed + 1)
    return (sc_common.share(x, n_parties, seed=seed + 2), sc_common.share(y, n_parties,
                                                                          seed=seed + 3), A, B, C)


def _beaver_cases() -> list[Case]:
    return [
        Case(_beaver_case(3, 6, 10), label="3 parties, 6 products of signed values"),
        Case(_beaver_case(2, 4, 20), label="2 parties"),
        Case(_beaver_case(5, 3, 30, scale=2 ** 40),
             label="5 parties, values whose products wrap modulo 2^64"),
    ]


def _beaver_hidden_cases() -> list[Case]:
    return [Case(_beaver_case(4, 20, 40), label="4 parties, 20 products"),
            Case(_beaver_case(3, 5, 50, scale=2 ** 50), label="3 parties, wrapping products")]


def _beaver_validate(got, case: Case) -> str | None:
    shape = np.asarray(case.args[0]).shape
    if not isinstance(got, np.ndarray) or got.shape != shape or got.dtype != np.uint64:
        return f"return a uint64 array of shape {shape}: one row of shares per party"
    X, Y = (np.asarray(v) for v in case.args[:2])
    product = X.sum(0, dtype=np.uint64) * Y.sum(0, dtype=np.uint64)
    if not np.array_equal(got.sum(0, dtype=np.uint64), product):
        return "your shares do not add up to x * y modulo 2^64"
    return None


BEAVER = Exercise(
    name="beaver_shares",
    reference=beaver_shares,
    cases=_beaver_cases,
    hidden_cases=_beaver_hidden_cases,
    validate=_beaver_validate,
    compare=lambda got, expected: np.array_equal(got, expected),
    conceal=[sc_common.beaver_multiply],
    mistakes=[
        Mistake("every party adds e * f", _bv_all_add_ef,
                "e * f is public: only ONE party (party 0) may add it"),
        Mistake("nobody adds e * f", _bv_no_ef,
                "x*y = c + e*b + f*a + e*f: party 0 adds the public term e * f"),
        Mistake("e and f multiplied by the wrong shares", _bv_swapped,
                "z_i = c_i + e * b_i + f * a_i (e pairs with b, f with a)"),
        Mistake("each party multiplied its own shares", _bv_local,
                "a product of shares is not a share of the product: that is what the triple "
                "is for"),
        Mistake("e and f used unopened", _bv_unopened,
                "open e and f: add up every party's share of x - a (and of y - b)"),
        Mistake("x + a opened instead of x - a", _bv_plus, "open e = x - a and f = y - b"),
    ],
    hint="e = (x - a).sum(0), f = (y - b).sum(0) in uint64; z = c + e*b + f*a; z[0] += e*f",
)

# --- exercise 2: the polynomial sigmoid's error over a range ------------------------------------


def poly_sigmoid_error(coeffs, lo, hi) -> float:
    """The largest absolute error of a polynomial approximation of the sigmoid
    ``1 / (1 + exp(-x))`` over ``[lo, hi]``: evaluate both on ``np.linspace(lo, hi, 1001)``
    and return the maximum of ``|poly(x) - sigmoid(x)|``. ``coeffs`` are in INCREASING degree
    (``c0 + c1 x + c2 x^2 + ...``, as TenSEAL's ``polyval`` takes them). ``lo >= hi`` is bad
    input: raise ``ValueError``.

    Introduced in lab 10 (Secure computation).
    """
    if not lo < hi:
        raise ValueError("lo must be below hi")
    x = np.linspace(lo, hi, 1001)
    poly = np.polynomial.polynomial.polyval(x, np.asarray(coeffs, dtype=float))
    return float(np.max(np.abs(poly - 1.0 / (1.0 + np.exp(-x)))))


def _ps_decreasing(c, lo, hi):  # numpy's polyval: decreasing degree
    if not lo < hi:
        raise ValueError("bad range")
    x = np.linspace(lo, hi, 1001)
    return float(np.max(np.abs(np.polyval(c, x) - 1 / (1 + np.exp(-x)))))


def _ps_mean(c, lo, hi):  # the mean error
    if not lo < hi:
        raise ValueError("bad range")
    x = np.linspace(lo, hi, 1001)
    return float(np.mean(np.abs(np.polynomial.polynomial.polyval(x, c) - 1 / (1 + np.exp(-x)))))


def _ps_signed(c, lo, hi):  # the largest signed error
    if not lo < hi:
        raise ValueError("bad range")
    x = np.linspace(lo, hi, 1001)
    return float(np.max(np.polynomial.polynomial.polyval(x, c) - 1 / (1 + np.exp(-x))))


def _ps_ends(c, lo, hi):  # only the two ends of the range
    if not lo < hi:
        raise ValueError("bad range")
    x = np.array([lo, hi], dtype=float)
    return float(np.max(np.abs(np.polynomial.polynomial.polyval(x, c) - 1 / (1 + np.exp(-x)))))


def _ps_tanh(c, lo, hi):  # tanh instead of the logistic sigmoid
    if not lo < hi:
        raise ValueError("bad range")
    x = np.linspace(lo, hi, 1001)
    return float(np.max(np.abs(np.polynomial.polynomial.polyval(x, c) - np.tanh(x))))


def _ps_relative(c, lo, hi):  # relative error
    if not lo < hi:
        raise ValueError("bad range")
    x = np.linspace(lo, hi, 1001)
    s = 1 / (1 + np.exp(-x))
    return float(np.max(np.abs(np.polynomial.polynomial.polyval(x, c) - s) / s))


def _poly_cases() -> list[Case]:
    textbook = sc_common.TEXTBOOK_SIGMOID_COEFFS
    return [
        Case((textbook, -5.0, 5.0), label="the textbook cubic on [-5, 5] (increasing degree)"),
        Case((textbook, -30.0, 30.0), label="the textbook cubic on raw logits in [-30, 30]"),
        Case((np.array([0.5, 0.25]), -2.0, 1.0),
             label="a line on an asymmetric range (largest absolute error)"),
        Case(((0.5, 0.15, 0.0, -0.0015), -8.0, 8.0), label="another cubic on [-8, 8]"),
        Case((textbook, 3.0, 3.0), label="an empty range is bad input", raises=ValueError),
    ]


def _poly_hidden_cases() -> list[Case]:
    fit = sc_common.fit_sigmoid_poly(5, -12.0, 12.0)
    return [Case((fit, -12.0, 12.0), label="a least-squares quintic on [-12, 12]"),
            Case((fit, -20.0, 4.0), label="the same quintic beyond its range"),
            Case(((1.4, 0.25, -3.6), -0.4913, 0.5077),
                 label="the largest error inside the range, between grid points of a coarser "
                       "grid"),
            Case((fit, 1.0, -1.0), label="lo above hi is bad input", raises=ValueError)]


def _poly_validate(got, case: Case) -> str | None:
    if isinstance(got, bool) or not isinstance(got, numbers.Real) or not math.isfinite(got):
        return f"return the error as one finite number, got {got!r}"
    return None


POLY_SIGMOID_ERROR = Exercise(
    name="poly_sigmoid_error",
    reference=poly_sigmoid_error,
    cases=_poly_cases,
    hidden_cases=_poly_hidden_cases,
    validate=_poly_validate,
    compare=lambda got, expected: math.isclose(float(got), expected, rel_tol=1e-6,
                                               abs_tol=1e-9),
    mistakes=[
        Mistake("coefficients read in decreasing degree", _ps_decreasing,
                "coeffs are c0 + c1 x + ...: np.polynomial.polynomial.polyval(x, coeffs)"),
        Mistake("the mean error", _ps_mean, "the LARGEST absolute error: np.max(np.abs(...))"),
        Mistake("the signed error", _ps_signed, "take the absolute value before the maximum"),
        Mistake("only the two ends of the range", _ps_ends,
                "evaluate on np.linspace(lo, hi, 1001)"),
        Mistake("tanh instead of the sigmoid", _ps_tanh, "the sigmoid is 1 / (1 + exp(-x))"),
        Mistake("the relative error", _ps_relative, "the absolute error |poly(x) - sigmoid(x)|"),
    ],
    hint="x = np.linspace(lo, hi, 1001); max |polyval(x, coeffs) - 1/(1+exp(-x))|",
)

# --- exercise 4: authenticated decryption -------------------------------------------------------


class TamperedError(ValueError):
    """Raised by :func:`open_sealed` when a sealed blob fails authentication.

    Introduced in lab 10 (Secure computation).
    """


def open_sealed(key, blob, associated_data) -> bytes:
    """Open a blob sealed with AES-256-GCM (the ``cryptography`` package's ``AESGCM``): the
    blob is the 12-byte nonce followed by the ciphertext with its 16-byte tag, and
    ``associated_data`` (bytes: the model's name and version) was bound to it when sealing.
    Return the plaintext bytes. Any failure to authenticate (a flipped bit anywhere, the wrong
    key, the wrong associated data) must raise :class:`TamperedError` (a ``ValueError``), never
    return a result; a blob shorter than nonce plus tag raises it too.

    Introduced in lab 10 (Secure computation).
    """
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    blob = bytes(blob)
    if len(blob) < 12 + 16:
        raise TamperedError("the blob is shorter than a nonce and a tag")
    try:
        return AESGCM(bytes(key)).decrypt(blob[:12], blob[12:], associated_data)
    except InvalidTag:
        raise TamperedError("the blob failed authentication: tampered, or the wrong key or "
                            "associated data") from None


def _seal(key: bytes, plaintext: bytes, ad: bytes, nonce: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return nonce + AESGCM(key).encrypt(nonce, plaintext, ad)


def _flip(blob: bytes, index: int) -> bytes:
    b = bytearray(blob)
    b[index] ^= 0x01
    return bytes(b)


def _sealed_cases() -> list[Case]:
    gen = np.random.default_rng(41)
    key, other = gen.bytes(32), gen.bytes(32)
    model = gen.bytes(300)
    ad = b"digits-cnn:v3"
    blob = _seal(key, model, ad, gen.bytes(12))
    return [
        Case((key, blob, ad), label="an untouched model opens"),
        Case((key, _flip(blob, 100), ad), label="a flipped bit in the ciphertext",
             raises=TamperedError),
        Case((key, _flip(blob, 3), ad), label="a flipped bit in the nonce",
             raises=TamperedError),
        Case((key, _flip(blob, len(blob) - 1), ad), label="a flipped bit in the tag",
             raises=TamperedError),
        Case((other, blob, ad), label="the wrong key", raises=TamperedError),
        Case((key, blob, b"digits-cnn:v2"), label="the wrong associated data (an old version "
                                                  "swapped in)", raises=TamperedError),
        Case((key, blob[:20], ad), label="a truncated blob", raises=TamperedError),
        Case((key, blob[:5], ad), label="5 bytes, shorter than a nonce", raises=TamperedError),
    ]


def _sealed_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(4141)
    key = gen.bytes(32)
    ad = b"fraud-scorer:v9"
    blob = _seal(key, gen.bytes(2000), ad, gen.bytes(12))
    return [Case((key, blob, ad), label="a 2 kB model opens"),
            Case((key, _flip(blob, 1500), ad), label="a flipped bit deep in the ciphertext",
                 raises=TamperedError),
            Case((key, blob, b""), label="associated data left out", raises=TamperedError),
            Case((key, blob[:8], ad), label="8 bytes: shorter than a nonce",
                 raises=TamperedError)]


def _sealed_validate(got, case: Case) -> str | None:
    if not isinstance(got, bytes | bytearray):
        return f"return the plaintext as bytes, got {type(got).__name__}"
    return None


OPEN_SEALED = Exercise(
    name="open_sealed",
    reference=open_sealed,
    cases=_sealed_cases,
    hidden_cases=_sealed_hidden_cases,
    validate=_sealed_validate,
    compare=lambda got, expected: isinstance(got, bytes | bytearray) and bytes(got) == expected,
    # no named mistakes: the wrong answers (None or b"" on failure, no tag check, the
    # associated data ignored) differ from the reference only on bad input, where the check's
    # own message ("bad input should raise TamperedError ...") already says what is wrong
    hint="AESGCM(key).decrypt(blob[:12], blob[12:], associated_data), InvalidTag -> "
         "TamperedError",
)

# --- the challenge: a dealer that reuses its masks ----------------------------------------------

#: The largest error, as a share of each measurement's published range, that counts as
#: recovered.
CHALLENGE_TOLERANCE = 0.05
#: The share of the hidden values you must recover within the tolerance.
CHALLENGE_RECOVERED = 0.9
CHALLENGE_COLUMNS = ("glucose", "cholesterol", "systolic_bp", "bmi", "heart_rate")
_RANGES = np.array([[60.0, 200.0], [100.0, 320.0], [85.0, 200.0], [15.0, 50.0], [40.0, 130.0]])
_TRUTH: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class ReusedMaskTask:
    """The challenge's protocol transcript. A dealer meant to give every patient's Beaver
    multiplication a fresh triple, but reused one mask ``A`` for all of them. You are one of
    the parties: you saw ``opened``, the (n_patients, 5) ``uint64`` values ``E_t = enc(x_t) - A``
    modulo 2^64 opened for each patient ``t`` (``enc`` is fixed point with ``frac_bits``
    fractional bits, as in the lab), and the hospital's published ``ranges`` (5, 2): every
    patient's measurements lie within them. The patients' records are kept apart, for
    :func:`challenge_outcome` only.

    Introduced in lab 10 (Secure computation).
    """

    __slots__ = ("__weakref__", "_opened")

    def __init__(self, opened: np.ndarray):
        self._opened = opened

    @property
    def opened(self) -> np.ndarray:
        """The opened values ``E_t = enc(x_t) - A`` (read-only, uint64)."""
        return self._opened

    @property
    def frac_bits(self) -> int:
        """The fixed-point encoding's fractional bits."""
        return sc_common.FRAC_BITS

    @property
    def ranges(self) -> np.ndarray:
        """(5, 2): the published low and high of each measurement (read-only)."""
        r = _RANGES.copy()
        r.setflags(write=False)
        return r

    @property
    def columns(self) -> tuple[str, ...]:
        """The measurements' names."""
        return CHALLENGE_COLUMNS

    def __repr__(self):
        return f"ReusedMaskTask({len(self._opened)} patients, {len(CHALLENGE_COLUMNS)} values)"

    def __deepcopy__(self, memo):
        return self  # read-only: the check may hand it twice


def reused_mask_task(*, seed: int = 0) -> ReusedMaskTask:
    """The challenge's transcript, drawn with ``seed`` (see :class:`ReusedMaskTask`).

    Introduced in lab 10 (Secure computation).
    """
    gen = np.random.default_rng(seed)
    n = 300
    lo, hi = _RANGES[:, 0], _RANGES[:, 1]
    X = np.round(lo + (hi - lo) * gen.beta(1.5, 1.5, size=(n, len(lo))), 1)
    A = gen.integers(0, 2 ** 64, size=len(lo), dtype=np.uint64, endpoint=False)
    opened = sc_common.encode_fixed(X) - A  # the same A for every patient: the flaw
    opened.setflags(write=False)
    task = ReusedMaskTask(opened)
    _TRUTH[task] = X
    return task


def challenge_outcome(task, recovered) -> float:
    """The share of the task's hidden values that ``recovered`` (n_patients, 5) gets within
    :data:`CHALLENGE_TOLERANCE` of each measurement's published range. For grading and
    measuring, never an input to the attack.

    Introduced in lab 10 (Secure computation).
    """
    if not isinstance(task, ReusedMaskTask) or task not in _TRUTH:
        raise TypeError("task must be a task returned by reused_mask_task()")
    X = _TRUTH[task]
    R = np.asarray(recovered, dtype=float)
    if R.shape != X.shape:
        raise ValueError(f"recovered must have shape {X.shape}, got {R.shape}")
    width = _RANGES[:, 1] - _RANGES[:, 0]
    return float(np.mean(np.abs(R - X) <= CHALLENGE_TOLERANCE * width))


def recover_records(task):
    """The reference answer. With the mask reused, ``E_t - E_0 = enc(x_t) - enc(x_0)`` modulo
    2^64: the mask cancels and every patient's value is known up to one unknown offset per
    measurement, ``x_t = x_0 + d_t``. The published range pins the offset: all ``x_t`` lie in
    ``[lo, hi]``, so ``x_0`` lies in ``[lo - min d, hi - max d]``; take the middle.

    Introduced in lab 10 (Secure computation).
    """
    E = np.asarray(task.opened, dtype=np.uint64)
    d = (E - E[0]).view(np.int64).astype(np.float64) / 2.0 ** task.frac_bits
    lo, hi = task.ranges[:, 0], task.ranges[:, 1]
    x0 = ((lo - d.min(axis=0)) + (hi - d.max(axis=0))) / 2
    return x0 + d


def _challenge_cases() -> list[Case]:
    return [Case((reused_mask_task(seed=s),), label=f"a transcript (seed {s})") for s in (0, 1)]


def _challenge_hidden_cases() -> list[Case]:
    return [Case((reused_mask_task(seed=s),), label=f"another transcript (seed {s})")
            for s in (101, 202)]


def _challenge_validate(got, case: Case) -> str | None:
    task = case.args[0]
    shape = task.opened.shape
    arr = np.asarray(got, dtype=float) if isinstance(got, np.ndarray | list | tuple) else None
    if arr is None or arr.shape != shape or not np.isfinite(arr).all():
        return f"return the recovered records as a finite float array of shape {shape}"
    share = challenge_outcome(task, arr)
    if share < CHALLENGE_RECOVERED:
        return (f"{share:.3f} of the values recovered within {CHALLENGE_TOLERANCE:.0%} of their "
                f"range ({CHALLENGE_RECOVERED} needed): what do two patients' opened values "
                "have in common?")
    return None


CHALLENGE = Exercise(
    name="recover_records",
    reference=recover_records,
    cases=_challenge_cases,
    hidden_cases=_challenge_hidden_cases,
    validate=_challenge_validate,
    compare=lambda got, expected: True,  # graded by the outcome (validate)
    hint="subtract one patient's opened values from another's: what is left of the mask? Then "
         "use the published ranges to fix what the differences cannot tell you",
    time_limit=30.0,
)

#: Every exercise of this lab, in the order the lab asks them (the tests run each one).
EXERCISES: tuple[Exercise, ...] = (RECONSTRUCT, POLY_SIGMOID_ERROR, BEAVER, OPEN_SEALED,
                                   CHALLENGE)

__all__ = [
    "BEAVER",
    "CHALLENGE",
    "CHALLENGE_COLUMNS",
    "CHALLENGE_RECOVERED",
    "CHALLENGE_TOLERANCE",
    "EXERCISES",
    "OPEN_SEALED",
    "POLY_SIGMOID_ERROR",
    "RECONSTRUCT",
    "ReusedMaskTask",
    "TamperedError",
    "beaver_shares",
    "challenge_outcome",
    "open_sealed",
    "poly_sigmoid_error",
    "reconstruct",
    "recover_records",
    "reused_mask_task",
]
