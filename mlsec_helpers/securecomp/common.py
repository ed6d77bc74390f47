"""What every part of lab 10 shares: CKKS homomorphic encryption (TenSEAL) of a linear score,
a polynomial sigmoid that a server can evaluate under encryption, and three-party additive
secret sharing with Beaver triples.

Homomorphic encryption (HE). :func:`ckks_context` builds a TenSEAL CKKS context (the client
keeps it with its secret key; :func:`public_context` is what it sends to the server);
:func:`encrypted_linear_scores` runs ``X @ w + b`` on encrypted rows, one ciphertext per row
(one dot product with rotations, so it needs Galois keys) or packed (one ciphertext per feature
column holding every row, a plaintext-scalar multiply per feature, no rotations);
:func:`encrypted_sigmoid_scores` also evaluates a polynomial sigmoid under encryption, so the
server returns an encrypted probability. :func:`key_sizes` and :func:`serialized_size` give the
bytes of keys and ciphertexts as sent.

Secure multi-party computation (SMPC). Values are encoded in fixed point (``frac_bits``
fractional bits) as elements of the ring Z_2^64 (numpy ``uint64`` arithmetic wraps modulo
2^64), split into additive shares by :func:`share` and recombined by :func:`reconstruct`.
:func:`secret_shared_linear` runs the same linear score among three parties, with public
weights (each party computes locally on its share: no interaction) or with secret weights
(a dealer hands out a Beaver triple; the parties open the masked differences ``E = X - A`` and
``F = w - B`` and finish locally). :func:`beaver_multiply` is the element-wise Beaver product.
Products are reconstructed at scale ``2 * frac_bits`` and rescaled after opening (the output is
opened to its owner anyway), so one multiplication depth needs no share truncation.

Why SMPC is written by hand here: CrypTen (the PyTorch SMPC library) has been unmaintained since
2022 and does not install against the course's pinned torch and scikit-learn; MPyC is maintained
but uses Shamir sharing and runs each party as a separate process over TCP, so it shows neither
additive shares nor Beaver triples inside a notebook's time budget. The parties here are
simulated in one process and every message they would send is counted.

Polynomial sigmoid. :data:`TEXTBOOK_SIGMOID_COEFFS` is the
degree-3 approximation ``0.5 + 0.197 x - 0.004 x^3`` of TenSEAL's encrypted logistic-regression
tutorial, good on about [-5, 5] (:data:`TEXTBOOK_SIGMOID_RANGE`; largest error there about
0.05): beyond |x| = 7 it turns back and its decisions flip. :func:`fit_sigmoid_poly` is a
least-squares fit over any range; :func:`sigmoid_poly` evaluates a polynomial in plaintext.

Introduced in lab 10 (Secure computation).
"""

from __future__ import annotations

import time

import numpy as np

from ..validate import ArgumentTypeError, check_array, check_int, check_number, check_seed
from .results import EncryptedProbabilities, EncryptedScores, KeySizes, SharedScores

__all__ = [
    "FRAC_BITS",
    "TEXTBOOK_SIGMOID_COEFFS",
    "TEXTBOOK_SIGMOID_RANGE",
    "beaver_multiply",
    "beaver_triple",
    "check_context",
    "ckks_context",
    "decode_fixed",
    "encode_fixed",
    "encrypted_linear_scores",
    "encrypt_columns",
    "encrypted_sigmoid_scores",
    "fit_sigmoid_poly",
    "key_sizes",
    "public_context",
    "reconstruct",
    "secret_shared_linear",
    "serialized_size",
    "share",
    "sigmoid",
    "sigmoid_poly",
    "slots",
    "weighted_sum",
]

FRAC_BITS = 20
"""Fractional bits of the fixed-point encoding in Z_2^64: a resolution of 2^-20 (about 1e-6);
a product of two encoded values sits at scale 2^40 and must stay below 2^63 in absolute value
(|value| < 2^23). Introduced in lab 10 (Secure computation)."""

TEXTBOOK_SIGMOID_COEFFS = (0.5, 0.197, 0.0, -0.004)
"""The textbook degree-3 sigmoid polynomial ``0.5 + 0.197 x - 0.004 x^3`` (coefficients in
increasing degree) of TenSEAL's encrypted logistic-regression tutorial, good on about [-5, 5];
its decisions flip beyond |x| = sqrt(0.197 / 0.004), about 7. Introduced in lab 10 (Secure
computation)."""


TEXTBOOK_SIGMOID_RANGE = (-5.0, 5.0)
"""The logit range on which :data:`TEXTBOOK_SIGMOID_COEFFS` approximates the sigmoid (largest
error about 0.05). Introduced in lab 10 (Secure computation)."""

_RING_BITS = 64


def _ts():
    import tenseal as ts  # imported late: the package loads without tenseal's native library

    return ts


# --- homomorphic encryption (TenSEAL CKKS) ------------------------------------------------------


def ckks_context(*, poly_modulus_degree: int = 8192, coeff_mod_bit_sizes=(60, 40, 40, 60),
                 global_scale_bits: int = 40, galois: bool = True):
    """A TenSEAL CKKS context with its secret key (the client's copy): ring degree
    ``poly_modulus_degree`` (``poly_modulus_degree / 2`` slots per ciphertext), the modulus chain
    ``coeff_mod_bit_sizes`` (each middle prime is one multiplication level), scale
    ``2 ** global_scale_bits``, relinearisation keys, and Galois (rotation) keys if ``galois``
    (needed to sum the slots of a ciphertext, as a dot product does). The default allows one
    ciphertext-plaintext multiplication plus one more level at 128-bit security.

    Introduced in lab 10 (Secure computation).
    """
    ts = _ts()
    degree = check_int(poly_modulus_degree, "poly_modulus_degree", minimum=1024)
    if degree & (degree - 1):
        raise ValueError(f"poly_modulus_degree must be a power of two, got {degree}")
    sizes = [check_int(b, "coeff_mod_bit_sizes entry", minimum=1, maximum=60)
             for b in coeff_mod_bit_sizes]
    if len(sizes) < 2:
        raise ValueError(f"coeff_mod_bit_sizes needs at least two primes, got {sizes}")
    scale_bits = check_int(global_scale_bits, "global_scale_bits", minimum=1, maximum=60)
    if not isinstance(galois, bool):
        raise ArgumentTypeError(f"galois must be a bool, got {type(galois).__name__}")
    context = ts.context(ts.SCHEME_TYPE.CKKS, poly_modulus_degree=degree,
                         coeff_mod_bit_sizes=sizes)
    context.global_scale = 2.0 ** scale_bits
    if galois:
        context.generate_galois_keys()
    return context


def public_context(context):
    """A copy of ``context`` without its secret key: what the client sends to the server (public,
    relinearisation and Galois keys). The server can compute on ciphertexts but not decrypt.

    Introduced in lab 10 (Secure computation).
    """
    check_context(context)
    public = context.copy()
    public.make_context_public()
    return public


def check_context(context, *, secret_key: bool = False) -> None:
    """Raise a clear error unless ``context`` is a TenSEAL context (holding the secret key when
    ``secret_key``, as a client's context that decrypts its own answers must).

    Introduced in lab 10 (Secure computation).
    """
    ts = _ts()
    if not isinstance(context, ts.Context):
        raise ArgumentTypeError(f"context must be a tenseal.Context (see ckks_context), got "
                                f"{type(context).__name__}")
    if secret_key and not context.has_secret_key():
        raise ValueError("the client's context must hold the secret key: the client decrypts "
                         "its own answers")


def serialized_size(obj) -> int:
    """Bytes of a TenSEAL context or ciphertext as sent over the wire (``len(obj.serialize())``;
    a context is serialised as TenSEAL sends it by default: public, relinearisation and Galois
    keys, no secret key).

    Introduced in lab 10 (Secure computation).
    """
    if not hasattr(obj, "serialize"):
        raise ArgumentTypeError(f"obj must be a TenSEAL context or ciphertext, got "
                                f"{type(obj).__name__}")
    return len(obj.serialize())


def key_sizes(context) -> KeySizes:
    """The bytes of each key of ``context`` serialised alone: public key, secret key,
    relinearisation keys, Galois keys (0 if the context has none), and of one fresh ciphertext.

    Introduced in lab 10 (Secure computation).
    """
    check_context(context)
    ts = _ts()
    flags = ("save_public_key", "save_secret_key", "save_galois_keys", "save_relin_keys")

    def only(flag):
        return len(context.serialize(**{f: f == flag for f in flags}))

    empty = len(context.serialize(**{f: False for f in flags}))
    galois = only("save_galois_keys") - empty if context.has_galois_keys() else 0
    secret = only("save_secret_key") - empty if context.has_secret_key() else 0
    one = ts.ckks_vector(context, [0.0])
    return KeySizes(public_key=only("save_public_key") - empty, secret_key=secret,
                    relin_keys=only("save_relin_keys") - empty, galois_keys=galois,
                    ciphertext=serialized_size(one), slots=slots(context))


def slots(context) -> int:
    """The number of values one CKKS ciphertext of ``context`` holds: ``poly_modulus_degree /
    2`` (TenSEAL exposes no slot count, so it is read from SEAL's parameters).

    Introduced in lab 10 (Secure computation).
    """
    return int(context.seal_context().data.key_context_data().parms().poly_modulus_degree()) // 2


def _check_linear(X, w, b):
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    w = check_array(w, "w", ndim=1, dtype=np.float64)
    if X.shape[1] != len(w):
        raise ValueError(f"X has {X.shape[1]} features but w has {len(w)} weights")
    if len(X) == 0:
        raise ValueError("X must hold at least one row")
    b = check_number(b, "b")
    return X, w, b


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


def encrypt_columns(context, block) -> list:
    """The packed encoding of a block of rows (at most :func:`slots` of them): one CKKS
    ciphertext per feature column, slot ``i`` holding row ``i``.

    Introduced in lab 10 (Secure computation).
    """
    ts = _ts()
    block = np.asarray(block, dtype=np.float64)
    return [ts.ckks_vector(context, block[:, j].tolist()) for j in range(block.shape[1])]


def weighted_sum(columns, w, b):
    """``sum_j w[j] * columns[j] + b`` on packed ciphertexts (:func:`encrypt_columns`) with
    plaintext weights: the server's whole work for a linear score, no rotation.

    Introduced in lab 10 (Secure computation).
    """
    acc = columns[0] * float(w[0])
    for j in range(1, len(columns)):
        acc += columns[j] * float(w[j])
    acc += float(b)
    return acc


def _packed_linear(context, X, w, b):
    """The packed score of ``X @ w + b``: one ciphertext per feature column (chunks of the slot
    count), a plaintext-scalar multiply-add per feature. Returns (ciphertexts of the scores per
    chunk, encrypt ms, compute ms, bytes sent up, n_ciphertexts)."""
    n_slots = slots(context)
    encrypt_ms = compute_ms = 0.0
    up = n_ct = 0
    outs = []
    for start in range(0, len(X), n_slots):
        block = X[start:start + n_slots]
        t0 = time.perf_counter()
        columns = encrypt_columns(context, block)
        encrypt_ms += _ms(t0)
        up += sum(serialized_size(c) for c in columns)
        n_ct += len(columns)
        t0 = time.perf_counter()
        acc = weighted_sum(columns, w, b)
        compute_ms += _ms(t0)
        outs.append((acc, len(block)))
    return outs, encrypt_ms, compute_ms, up, n_ct


def encrypted_linear_scores(context, X, w, b, *, packed: bool) -> EncryptedScores:
    """The linear scores ``X @ w + b`` computed by a server on encrypted ``X`` (plaintext ``w``
    and ``b``), timed stage by stage. ``context`` is the client's (secret key included): it
    encrypts, the server's work uses only what :func:`public_context` would send, and the client
    decrypts.

    ``packed=False``: one ciphertext per row, the server computes an encrypted dot product
    (a slot-wise product and a rotate-and-sum, so the context needs Galois keys).
    ``packed=True``: one ciphertext per feature column, each holding up to ``slots`` rows; the
    server multiplies each by its plaintext weight and adds them (no rotations).

    Returns the decrypted scores, milliseconds per row (total and per stage), bytes sent per row
    (ciphertexts up plus down), the number of ciphertexts sent up and, one ciphertext per row,
    each row's server time and ciphertext bytes (what a server could watch).

    Introduced in lab 10 (Secure computation).
    """
    check_context(context)
    X, w, b = _check_linear(X, w, b)
    if not isinstance(packed, bool):
        raise ArgumentTypeError(f"packed must be a bool, got {type(packed).__name__}")
    ts = _ts()
    n = len(X)
    scores = np.empty(n)
    row_ms = row_bytes = None
    if packed:
        outs, encrypt_ms, compute_ms, up, n_ct = _packed_linear(context, X, w, b)
        down = decrypt_ms = 0.0
        start = 0
        for acc, size in outs:
            down += serialized_size(acc)
            t0 = time.perf_counter()
            scores[start:start + size] = acc.decrypt()[:size]
            decrypt_ms += _ms(t0)
            start += size
    else:
        if not context.has_galois_keys():
            raise ValueError("one ciphertext per row needs Galois keys for the dot product's "
                             "rotations: build the context with ckks_context(galois=True)")
        encrypt_ms = compute_ms = decrypt_ms = 0.0
        up = down = 0
        weights = w.tolist()
        row_ms, row_bytes = np.empty(n), np.empty(n)
        for i in range(n):
            t0 = time.perf_counter()
            ct = ts.ckks_vector(context, X[i].tolist())
            encrypt_ms += _ms(t0)
            row_bytes[i] = serialized_size(ct)
            up += row_bytes[i]
            t0 = time.perf_counter()
            out = ct.dot(weights) + float(b)
            row_ms[i] = _ms(t0)
            compute_ms += row_ms[i]
            down += serialized_size(out)
            t0 = time.perf_counter()
            scores[i] = out.decrypt()[0]
            decrypt_ms += _ms(t0)
        n_ct = n
    total = encrypt_ms + compute_ms + decrypt_ms
    return EncryptedScores(scores=scores, ms_per_row=total / n, encrypt_ms_per_row=encrypt_ms / n,
                           compute_ms_per_row=compute_ms / n, decrypt_ms_per_row=decrypt_ms / n,
                           bytes_up_per_row=up / n, bytes_down_per_row=down / n,
                           bytes_per_row=(up + down) / n, n_ciphertexts=n_ct, packed=packed,
                           row_compute_ms=row_ms, row_bytes_up=row_bytes)


def encrypted_sigmoid_scores(context, X, w, b, coeffs, *, logit_scale: float = 1.0
                             ) -> EncryptedProbabilities:
    """Encrypted probabilities: the server computes the packed linear score of encrypted ``X``
    divided by ``logit_scale`` (folded into the plaintext weights, so it costs no level) and
    evaluates the polynomial ``coeffs`` (increasing degree) on it under encryption; the client
    decrypts ``p(z / logit_scale)``. A degree-d polynomial needs about ``ceil(log2 d) + 2``
    levels after encryption: build ``context`` with enough middle primes (degree 3:
    ``ckks_context(poly_modulus_degree=16384, coeff_mod_bit_sizes=(60, 40, 40, 40, 60))``).

    Introduced in lab 10 (Secure computation).
    """
    check_context(context)
    X, w, b = _check_linear(X, w, b)
    coeffs = _check_coeffs(coeffs)
    scale = check_number(logit_scale, "logit_scale", low=0.0, low_open=True)
    outs, encrypt_ms, compute_ms, up, n_ct = _packed_linear(context, X, w / scale, b / scale)
    probs = np.empty(len(X))
    down = decrypt_ms = 0.0
    start = 0
    for acc, size in outs:
        t0 = time.perf_counter()
        try:
            enc = acc.polyval(coeffs.tolist())
        except ValueError as err:  # TenSEAL: "scale out of bounds" when the levels run out
            raise ValueError(f"the context has too few levels for a degree-{len(coeffs) - 1} "
                             f"polynomial after the linear score ({err}); add middle primes "
                             "to coeff_mod_bit_sizes") from err
        compute_ms += _ms(t0)
        down += serialized_size(enc)
        t0 = time.perf_counter()
        probs[start:start + size] = enc.decrypt()[:size]
        decrypt_ms += _ms(t0)
        start += size
    n = len(X)
    total = encrypt_ms + compute_ms + decrypt_ms
    return EncryptedProbabilities(probabilities=probs, ms_per_row=total / n,
                                  compute_ms_per_row=compute_ms / n,
                                  bytes_per_row=(up + down) / n, n_ciphertexts=n_ct,
                                  coeffs=coeffs, logit_scale=scale)


# --- polynomial sigmoid -------------------------------------------------------------------------


def sigmoid(z) -> np.ndarray:
    """The logistic function ``1 / (1 + exp(-z))``, numerically stable for large ``|z|``.

    Introduced in lab 10 (Secure computation).
    """
    z = np.asarray(z, dtype=np.float64)
    return np.exp(-np.logaddexp(0.0, -z))


def _check_coeffs(coeffs) -> np.ndarray:
    c = check_array(coeffs, "coeffs", ndim=1, dtype=np.float64)
    if len(c) < 1:
        raise ValueError("coeffs must hold at least one coefficient")
    return c


def sigmoid_poly(coeffs):
    """The polynomial with ``coeffs`` (increasing degree: ``c0 + c1 x + c2 x^2 + ...``) as a
    numpy function of ``x``, e.g. ``sigmoid_poly(TEXTBOOK_SIGMOID_COEFFS)(z)``.

    Introduced in lab 10 (Secure computation).
    """
    c = _check_coeffs(coeffs)

    def poly(x) -> np.ndarray:
        return np.polynomial.polynomial.polyval(np.asarray(x, dtype=np.float64), c)

    poly.coeffs = c
    return poly


def fit_sigmoid_poly(degree: int, lo: float, hi: float, *, n_points: int = 2001) -> np.ndarray:
    """The least-squares polynomial of ``degree`` closest to the sigmoid on ``n_points`` evenly
    spaced points of [lo, hi]; coefficients in increasing degree (for :func:`sigmoid_poly` and
    :func:`encrypted_sigmoid_scores`).

    Introduced in lab 10 (Secure computation).
    """
    degree = check_int(degree, "degree", minimum=1, maximum=15)
    lo, hi = check_number(lo, "lo"), check_number(hi, "hi")
    if not lo < hi:
        raise ValueError(f"lo must be < hi, got [{lo:g}, {hi:g}]")
    n_points = check_int(n_points, "n_points", minimum=degree + 1)
    x = np.linspace(lo, hi, n_points)
    return np.polynomial.polynomial.polyfit(x, sigmoid(x), degree)


# --- additive secret sharing in Z_2^64 ----------------------------------------------------------


def encode_fixed(values, *, frac_bits: int = FRAC_BITS) -> np.ndarray:
    """Real ``values`` as ring elements: ``round(values * 2**frac_bits)`` modulo 2^64
    (``uint64``; a negative value wraps to ``2^64 - |v|``).

    Introduced in lab 10 (Secure computation).
    """
    frac_bits = check_int(frac_bits, "frac_bits", minimum=0, maximum=40)
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("values must be finite to be encoded in fixed point")
    v = np.round(values * 2.0 ** frac_bits)
    if np.any(np.abs(v) >= 2.0 ** 62):
        raise ValueError(f"values are too large for fixed point with {frac_bits} fractional "
                         f"bits (|values| must stay below 2^{62 - frac_bits})")
    return v.astype(np.int64).view(np.uint64)


def decode_fixed(v, *, frac_bits: int = FRAC_BITS) -> np.ndarray:
    """Ring elements back to reals: read as signed 64-bit integers and divide by
    ``2**frac_bits`` (a product of two encoded values has ``2 * frac_bits``).

    Introduced in lab 10 (Secure computation).
    """
    frac_bits = check_int(frac_bits, "frac_bits", minimum=0, maximum=62)
    v = np.asarray(v)
    if v.dtype != np.uint64:
        raise ArgumentTypeError(f"v must be a uint64 array of ring elements, got {v.dtype}")
    return v.view(np.int64).astype(np.float64) / 2.0 ** frac_bits


def _random_ring(rng: np.random.Generator, shape) -> np.ndarray:
    return rng.integers(0, 2 ** 64, size=shape, dtype=np.uint64, endpoint=False)


def share(values, n_parties: int = 3, *, seed: int, frac_bits: int = FRAC_BITS) -> np.ndarray:
    """Additive shares of ``values`` in Z_2^64: an array (n_parties, *values.shape) of ``uint64``
    whose sum modulo 2^64 is the encoding of ``values``. ``values`` of dtype ``uint64`` are taken
    as ring elements already; anything else is encoded with :func:`encode_fixed`. The first
    ``n_parties - 1`` shares are uniform on the ring, so any ``n_parties - 1`` of them are
    independent of ``values``.

    Introduced in lab 10 (Secure computation).
    """
    n_parties = check_int(n_parties, "n_parties", minimum=2)
    rng = np.random.default_rng(check_seed(seed))
    arr = np.asarray(values)
    v = arr if arr.dtype == np.uint64 else encode_fixed(arr, frac_bits=frac_bits)
    shares = _random_ring(rng, (n_parties,) + v.shape)
    shares[-1] = v - shares[:-1].sum(axis=0, dtype=np.uint64)
    return shares


def _check_shares(shares) -> np.ndarray:
    s = np.asarray(shares)
    if s.dtype != np.uint64:
        raise ArgumentTypeError(f"shares must be a uint64 array (from share), got {s.dtype}")
    if s.ndim < 1 or len(s) < 2:
        raise ValueError(f"shares must stack at least two parties' shares on axis 0, got shape "
                         f"{s.shape}")
    return s


def reconstruct(shares, *, frac_bits: int | None = FRAC_BITS) -> np.ndarray:
    """The value behind additive ``shares`` (n_parties, ...): their sum modulo 2^64, decoded with
    ``frac_bits`` (``2 * FRAC_BITS`` for a product; ``None`` returns the raw ``uint64`` ring
    element).

    Introduced in lab 10 (Secure computation).
    """
    s = _check_shares(shares)
    total = s.sum(axis=0, dtype=np.uint64)
    return total if frac_bits is None else decode_fixed(total, frac_bits=frac_bits)


def beaver_triple(shape_a, shape_b, n_parties: int = 3, *, seed: int, matmul: bool = False):
    """A dealer's Beaver triple in Z_2^64, shared among ``n_parties``: uniform random ``A``
    (``shape_a``) and ``B`` (``shape_b``) and ``C = A * B`` (element-wise) or ``C = A @ B``
    (``matmul``), returned as three share arrays ``(A_shares, B_shares, C_shares)``. The dealer
    is trusted not to collude with any party and never sees the inputs.

    Introduced in lab 10 (Secure computation).
    """
    n_parties = check_int(n_parties, "n_parties", minimum=2)
    rng = np.random.default_rng(check_seed(seed))
    A = _random_ring(rng, tuple(shape_a))
    B = _random_ring(rng, tuple(shape_b))
    C = _ring_matmul(A, B) if matmul else A * B
    sub = [int(s) for s in rng.integers(0, 2 ** 31, size=3)]
    return (share(A, n_parties, seed=sub[0]), share(B, n_parties, seed=sub[1]),
            share(C, n_parties, seed=sub[2]))


def _ring_matmul(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    # numpy's integer matmul wraps modulo 2^64 for uint64 (no BLAS, exact)
    return np.matmul(A, B, dtype=np.uint64)


def beaver_multiply(x_shares, y_shares, *, seed: int, matmul: bool = False):
    """Shares of ``x * y`` (or ``x @ y`` with ``matmul``) from shares of ``x`` and ``y``, with a
    Beaver triple from a dealer (seeded by ``seed``). The parties open ``E = x - A`` and
    ``F = y - B`` (uniformly masked, so they reveal nothing) and party ``i`` computes
    ``C_i + E B_i + A_i F (+ E F for party 0)``. Returns ``(z_shares, opened)``, where
    ``opened = (E, F)`` are the ring elements every party saw. The product is at scale
    ``2 * frac_bits``: ``reconstruct(z_shares, frac_bits=2 * FRAC_BITS)``.

    Introduced in lab 10 (Secure computation).
    """
    xs, ys = _check_shares(x_shares), _check_shares(y_shares)
    if len(xs) != len(ys):
        raise ValueError(f"x_shares and y_shares must have the same number of parties, got "
                         f"{len(xs)} and {len(ys)}")
    mul = _ring_matmul if matmul else np.multiply
    if not matmul and xs.shape != ys.shape:
        raise ValueError(f"element-wise shares must have one shape, got {xs.shape} and "
                         f"{ys.shape}")
    if matmul and (xs.ndim < 2 or xs.shape[-1] != ys.shape[1]):
        raise ValueError(f"x @ y needs x's last axis to match y's first, got shapes "
                         f"{xs.shape[1:]} and {ys.shape[1:]}")
    A, B, C = beaver_triple(xs.shape[1:], ys.shape[1:], len(xs), seed=seed, matmul=matmul)
    E = (xs - A).sum(axis=0, dtype=np.uint64)  # opened: every party broadcasts its share
    F = (ys - B).sum(axis=0, dtype=np.uint64)
    z = np.stack([C[i] + mul(E, B[i]) + mul(A[i], F) for i in range(len(xs))])
    z[0] += mul(E, F)
    return z, (E, F)


def secret_shared_linear(X, w, b, *, secret_weights: bool, seed: int,
                         n_parties: int = 3) -> SharedScores:
    """The linear scores ``X @ w + b`` computed by ``n_parties`` parties on additive shares.

    The data owner shares ``X`` (fixed point, Z_2^64) among the parties. With
    ``secret_weights=False`` the weights are public: each party computes ``X_i @ w`` on its
    share alone (party 0 adds ``b``), no message between parties. With ``secret_weights=True``
    the model owner shares ``w`` and ``b`` too and the product uses a Beaver matrix triple from a
    dealer: each party broadcasts its shares of ``E = X - A`` and ``F = w - B`` (one message to
    every other party), then finishes locally. Finally every party sends its output share to the
    data owner, who reconstructs the scores (scale ``2 * FRAC_BITS``).

    Messages and bytes count the online phase (input shares, openings, output shares); the
    dealer's triple shares are counted apart (offline). ``views`` holds, per party, every array
    that party saw, for the "what each party sees" analysis.

    Introduced in lab 10 (Secure computation).
    """
    X, w, b = _check_linear(X, w, b)
    if not isinstance(secret_weights, bool):
        raise ArgumentTypeError(f"secret_weights must be a bool, got "
                                f"{type(secret_weights).__name__}")
    n_parties = check_int(n_parties, "n_parties", minimum=2)
    seed = check_seed(seed)
    sub = [int(s) for s in np.random.default_rng(seed).integers(0, 2 ** 31, size=4)]
    n, d = X.shape
    t0 = time.perf_counter()
    X_sh = share(X, n_parties, seed=sub[0])
    b2 = encode_fixed(b, frac_bits=2 * FRAC_BITS)  # the bias at the product's scale
    messages = n_parties  # the data owner sends one share to each party
    sent = X_sh.nbytes
    offline = 0
    views = [{"X share": X_sh[i]} for i in range(n_parties)]
    if not secret_weights:
        w_enc = encode_fixed(w)
        z = np.stack([_ring_matmul(X_sh[i], w_enc) for i in range(n_parties)])
        z[0] += b2
        opened = 0
    else:
        w_sh = share(w, n_parties, seed=sub[1])
        b_sh = share(b2, n_parties, seed=sub[2])
        messages += 2 * n_parties  # the model owner sends shares of w and of b
        sent += w_sh.nbytes + b_sh.nbytes
        z, (E, F) = beaver_multiply(X_sh, w_sh, seed=sub[3], matmul=True)
        offline = n_parties * (n * d + d + n) * 8  # A, B, C shares from the dealer
        z = z + b_sh[:, None]
        messages += 2 * n_parties * (n_parties - 1)  # each broadcasts its E share and F share
        sent += n_parties * (n_parties - 1) * (E.nbytes + F.nbytes)
        opened = E.size + F.size
        for i in range(n_parties):
            views[i].update({"w share": w_sh[i], "opened E = X - A": E, "opened F = w - B": F})
    for i in range(n_parties):
        views[i]["output share"] = z[i]
    messages += n_parties  # output shares to the data owner
    sent += z.nbytes
    scores = reconstruct(z, frac_bits=2 * FRAC_BITS)
    ms = _ms(t0)
    return SharedScores(scores=scores, ms_per_row=ms / n, messages=messages,
                        bytes_per_row=sent / n, offline_bytes_per_row=offline / n,
                        opened_values=opened, secret_weights=secret_weights,
                        views=tuple(views))
