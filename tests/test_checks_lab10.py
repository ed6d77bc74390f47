"""Lab 10's exercise checks, beyond what tests/test_exercise_checks.py runs for every exercise.

A mutant suite: for each exercise, plausible wrong answers that are NOT among its known
mistakes (the check and the grading must reject every one), and correct answers written
differently from the reference (both must accept every one). Then the challenge's task.
"""

import numpy as np
import pytest
from mutants import assert_enough_mutants, mutant_tests

from mlsec_helpers.checks import lab10
from mlsec_helpers.exercises import run_check

# --- exercise: reconstruct ----------------------------------------------------------------------


def _rc_in(s):
    s = np.asarray(s)
    if s.dtype != np.uint64:
        raise TypeError("uint64 needed")
    return s


def rc_round(s, f):  # rounds to whole numbers
    s = _rc_in(s)
    return np.round(s.sum(0, dtype=np.uint64).view(np.int64) / 2.0 ** f)


def rc_last_only(s, f):  # the last share only
    s = _rc_in(s)
    return s[-1].view(np.int64).astype(float) / 2.0 ** f


def rc_int32(s, f):  # reads the low 32 bits as signed
    s = _rc_in(s)
    total = s.sum(0, dtype=np.uint64)
    return (total & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.int32).astype(float) / 2.0 ** f


def rc_scale_times(s, f):  # multiplies by the scale
    s = _rc_in(s)
    return s.sum(0, dtype=np.uint64).view(np.int64).astype(float) * 2.0 ** f


def rc_no_type_check(s, f):  # accepts float shares silently
    s = np.asarray(s).astype(np.uint64)
    return s.sum(0, dtype=np.uint64).view(np.int64).astype(float) / 2.0 ** f


def rc_value_error(s, f):  # the wrong exception
    s = np.asarray(s)
    if s.dtype != np.uint64:
        raise ValueError("uint64 needed")
    return s.sum(0, dtype=np.uint64).view(np.int64).astype(float) / 2.0 ** f


def rc_off_by_one_bit(s, f):  # 2**(f - 1)
    s = _rc_in(s)
    return s.sum(0, dtype=np.uint64).view(np.int64).astype(float) / 2.0 ** (f - 1)


def rc_difference(s, f):  # first share minus the rest
    s = _rc_in(s)
    return (s[0] - s[1:].sum(0, dtype=np.uint64)).view(np.int64).astype(float) / 2.0 ** f


def rc_python(s, f):
    s = _rc_in(s)
    flat = s.reshape(len(s), -1)
    out = []
    for col in flat.T:
        v = sum(int(x) for x in col) % 2 ** 64
        out.append((v - 2 ** 64 if v >= 2 ** 63 else v) / 2 ** f)
    return np.array(out, dtype=float).reshape(s.shape[1:])


def rc_loop(s, f):
    s = _rc_in(s)
    total = np.zeros(s.shape[1:], dtype=np.uint64)
    for part in s:
        total = total + part
    return total.astype(np.int64) / float(2 ** f)


def rc_ldexp(s, f):
    s = _rc_in(s)
    return np.ldexp(s.sum(0, dtype=np.uint64).view(np.int64).astype(float), -f)


def rc_where(s, f):
    s = _rc_in(s)
    t = s.sum(0, dtype=np.uint64)
    signed = np.where(t >= np.uint64(2 ** 63), -((~t) + np.uint64(1)).astype(np.float64),
                      t.astype(np.float64))
    return signed / 2.0 ** f


# --- exercise: Beaver ---------------------------------------------------------------------------


def _bv(X, Y, A, B, C):
    return tuple(np.asarray(v, dtype=np.uint64) for v in (X, Y, A, B, C))


def bv_last_party(X, Y, A, B, C):  # the last party adds e * f (shares differ from the statement)
    X, Y, A, B, C = _bv(X, Y, A, B, C)
    e, f = (X - A).sum(0, dtype=np.uint64), (Y - B).sum(0, dtype=np.uint64)
    z = C + e * B + f * A
    z[-1] += e * f
    return z


def bv_minus_ef(X, Y, A, B, C):  # subtracts e * f
    X, Y, A, B, C = _bv(X, Y, A, B, C)
    e, f = (X - A).sum(0, dtype=np.uint64), (Y - B).sum(0, dtype=np.uint64)
    z = C + e * B + f * A
    z[0] -= e * f
    return z


def bv_no_c(X, Y, A, B, C):  # forgets c
    X, Y, A, B, C = _bv(X, Y, A, B, C)
    e, f = (X - A).sum(0, dtype=np.uint64), (Y - B).sum(0, dtype=np.uint64)
    z = e * B + f * A
    z[0] += e * f
    return z


def bv_opened_x(X, Y, A, B, C):  # opens x itself: right sum, but the shares differ
    X, Y, A, B, C = _bv(X, Y, A, B, C)
    x = X.sum(0, dtype=np.uint64)
    return x * Y


def bv_float(X, Y, A, B, C):  # float arithmetic
    X, Y, A, B, C = (np.asarray(v, dtype=np.uint64).astype(float) for v in (X, Y, A, B, C))
    e, f = (X - A).sum(0), (Y - B).sum(0)
    z = C + e * B + f * A
    z[0] += e * f
    return np.mod(z, 2.0 ** 64).astype(np.uint64)


def bv_int64(X, Y, A, B, C):  # the right arithmetic, the wrong dtype
    return lab10.beaver_shares(X, Y, A, B, C).view(np.int64)


def bv_in_place(X, Y, A, B, C):  # writes the product into c's shares
    e = (np.asarray(X) - np.asarray(A)).sum(0, dtype=np.uint64)
    f = (np.asarray(Y) - np.asarray(B)).sum(0, dtype=np.uint64)
    C += e * B + f * A
    C[0] += e * f
    return C


def bv_transposed(X, Y, A, B, C):  # one row per coordinate
    return lab10.beaver_shares(X, Y, A, B, C).T.copy() if np.asarray(X).shape[0] != \
        np.asarray(X).shape[1] else lab10.beaver_shares(X, Y, A, B, C)[::-1].copy()


def bv_loops(X, Y, A, B, C):
    X, Y, A, B, C = _bv(X, Y, A, B, C)
    n = len(X)
    e = np.zeros(X.shape[1], dtype=np.uint64)
    f = np.zeros(X.shape[1], dtype=np.uint64)
    for i in range(n):
        e += X[i] - A[i]
        f += Y[i] - B[i]
    return np.stack([C[i] + e * B[i] + f * A[i] + (e * f if i == 0 else 0 * e)
                     for i in range(n)])


def bv_python(X, Y, A, B, C):
    X, Y, A, B, C = _bv(X, Y, A, B, C)
    M = 2 ** 64
    n, d = X.shape
    e = [sum(int(X[i, k]) - int(A[i, k]) for i in range(n)) % M for k in range(d)]
    f = [sum(int(Y[i, k]) - int(B[i, k]) for i in range(n)) % M for k in range(d)]
    rows = [[(int(C[i, k]) + e[k] * int(B[i, k]) + f[k] * int(A[i, k])
              + (e[k] * f[k] if i == 0 else 0)) % M for k in range(d)] for i in range(n)]
    return np.array(rows, dtype=np.uint64)


def bv_ef_first(X, Y, A, B, C):
    X, Y, A, B, C = _bv(X, Y, A, B, C)
    e, f = (X - A).sum(0, dtype=np.uint64), (Y - B).sum(0, dtype=np.uint64)
    ef = np.zeros_like(C)
    ef[0] = e * f
    return ef + C + B * e + A * f


def bv_einsum(X, Y, A, B, C):
    X, Y, A, B, C = _bv(X, Y, A, B, C)
    e = np.sum(X, axis=0, dtype=np.uint64) - np.sum(A, axis=0, dtype=np.uint64)
    f = np.sum(Y, axis=0, dtype=np.uint64) - np.sum(B, axis=0, dtype=np.uint64)
    z = C + e[None] * B + f[None] * A
    z[0] = z[0] + e * f
    return z


# --- exercise: poly_sigmoid_error ---------------------------------------------------------------


def _ps_x(lo, hi, n=1001):
    if not lo < hi:
        raise ValueError("bad range")
    return np.linspace(lo, hi, n)


def ps_101_points(c, lo, hi):  # a coarser grid
    x = _ps_x(lo, hi, 101)
    return float(np.max(np.abs(np.polynomial.polynomial.polyval(x, c) - 1 / (1 + np.exp(-x)))))


def ps_squared(c, lo, hi):  # the largest squared error
    x = _ps_x(lo, hi)
    return float(np.max((np.polynomial.polynomial.polyval(x, c) - 1 / (1 + np.exp(-x))) ** 2))


def ps_rmse(c, lo, hi):
    x = _ps_x(lo, hi)
    return float(np.sqrt(np.mean((np.polynomial.polynomial.polyval(x, c)
                                  - 1 / (1 + np.exp(-x))) ** 2)))


def ps_exp_plus(c, lo, hi):  # 1 / (1 + exp(x))
    x = _ps_x(lo, hi)
    return float(np.max(np.abs(np.polynomial.polynomial.polyval(x, c) - 1 / (1 + np.exp(x)))))


def ps_symmetric(c, lo, hi):  # evaluates on [-hi, hi]
    x = _ps_x(-abs(hi), abs(hi))
    return float(np.max(np.abs(np.polynomial.polynomial.polyval(x, c) - 1 / (1 + np.exp(-x)))))


def ps_no_check(c, lo, hi):  # no error for an empty range
    x = np.linspace(min(lo, hi), max(lo, hi), 1001)
    return float(np.max(np.abs(np.polynomial.polynomial.polyval(x, c) - 1 / (1 + np.exp(-x)))))


def ps_min(c, lo, hi):  # the smallest error
    x = _ps_x(lo, hi)
    return float(np.min(np.abs(np.polynomial.polynomial.polyval(x, c) - 1 / (1 + np.exp(-x)))))


def ps_first_two(c, lo, hi):  # only the linear part of the polynomial
    x = _ps_x(lo, hi)
    c = np.asarray(c, dtype=float)
    return float(np.max(np.abs(c[0] + c[1] * x - 1 / (1 + np.exp(-x)))))


def ps_horner(c, lo, hi):
    x = _ps_x(lo, hi)
    acc = np.zeros_like(x)
    for coef in reversed(list(c)):
        acc = acc * x + coef
    return float(np.max(np.abs(acc - 1 / (1 + np.exp(-x)))))


def ps_scipy(c, lo, hi):
    from scipy.special import expit

    x = _ps_x(lo, hi)
    return float(np.abs(np.polyval(np.asarray(c, dtype=float)[::-1], x) - expit(x)).max())


def ps_powers(c, lo, hi):
    x = _ps_x(lo, hi)
    poly = sum(coef * x ** k for k, coef in enumerate(c))
    return max(abs(float(p) - 1 / (1 + np.exp(-float(t)))) for p, t in zip(poly, x, strict=True))


def ps_polynomial_class(c, lo, hi):
    x = _ps_x(lo, hi)
    return float(np.linalg.norm(np.polynomial.Polynomial(c)(x) - 0.5 * (1 + np.tanh(x / 2)),
                                ord=np.inf))


# --- exercise: open_sealed ----------------------------------------------------------------------


def _aes(key):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(bytes(key))


def os_none(key, blob, ad):  # None when authentication fails
    try:
        return lab10.open_sealed(key, blob, ad)
    except lab10.TamperedError:
        return None


def os_ctr(key, blob, ad):  # decrypts without checking the tag
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    blob = bytes(blob)
    if len(blob) < 28:
        raise lab10.TamperedError("short")
    dec = Cipher(algorithms.AES(bytes(key)), modes.CTR(blob[:12] + (2).to_bytes(4, "big"))
                 ).decryptor()
    return dec.update(blob[12:-16]) + dec.finalize()


def os_no_ad(key, blob, ad):  # associated data ignored
    return lab10.open_sealed(key, blob, None)


def os_empty(key, blob, ad):  # b"" on failure
    try:
        return lab10.open_sealed(key, blob, ad)
    except lab10.TamperedError:
        return b""


def os_invalid_tag(key, blob, ad):  # cryptography's exception escapes
    blob = bytes(blob)
    return _aes(key).decrypt(blob[:12], blob[12:], ad)


def os_value_error(key, blob, ad):  # a plain ValueError, not TamperedError
    try:
        return lab10.open_sealed(key, blob, ad)
    except lab10.TamperedError as err:
        raise ValueError(str(err)) from None


def os_nonce_last(key, blob, ad):  # reads the nonce from the end
    from cryptography.exceptions import InvalidTag

    blob = bytes(blob)
    try:
        return _aes(key).decrypt(blob[-12:], blob[:-12], ad)
    except InvalidTag:
        raise lab10.TamperedError("bad") from None


def os_short_unchecked(key, blob, ad):  # a truncated blob crashes with the wrong error
    from cryptography.exceptions import InvalidTag

    blob = bytes(blob)
    if len(blob) < 13:
        raise IndexError("short")
    try:
        return _aes(key).decrypt(blob[:12], blob[12:], ad)
    except InvalidTag:
        raise lab10.TamperedError("bad") from None


def os_reference_like(key, blob, ad):
    from cryptography.exceptions import InvalidTag

    blob = bytes(blob)
    nonce, body = blob[:12], blob[12:]
    if len(body) < 16:
        raise lab10.TamperedError("too short")
    try:
        return bytes(_aes(key).decrypt(nonce, body, ad))
    except InvalidTag as err:
        raise lab10.TamperedError(f"authentication failed: {err!r}") from err


def os_memoryview(key, blob, ad):
    from cryptography.exceptions import InvalidTag

    view = memoryview(bytes(blob))
    if view.nbytes < 28:
        raise lab10.TamperedError("short")
    try:
        return _aes(key).decrypt(view[:12].tobytes(), view[12:].tobytes(), ad)
    except (InvalidTag, ValueError) as err:
        raise lab10.TamperedError("tampered") from err


def os_bytearray(key, blob, ad):
    out = lab10.open_sealed(key, blob, ad) if False else None
    from cryptography.exceptions import InvalidTag

    try:
        out = bytearray(_aes(key).decrypt(bytes(blob[:12]), bytes(blob[12:]), ad)) \
            if len(blob) >= 28 else None
    except InvalidTag:
        out = None
    if out is None:
        raise lab10.TamperedError("could not authenticate the model")
    return out


def os_any_error(key, blob, ad):
    try:
        blob = bytes(blob)
        assert len(blob) >= 28
        return _aes(key).decrypt(blob[:12], blob[12:], ad)
    except Exception as err:
        raise lab10.TamperedError("tampered") from err


# --- the challenge ------------------------------------------------------------------------------


def ch_decode(task):  # decodes the opened values directly
    return np.asarray(task.opened).view(np.int64) / 2.0 ** task.frac_bits


def ch_midpoint(task):  # the middle of each range for everyone
    return np.tile(task.ranges.mean(1), (len(task.opened), 1))


def ch_differences(task):  # differences only, no offset
    E = np.asarray(task.opened)
    return (E - E[0]).view(np.int64) / 2.0 ** task.frac_bits


def ch_unsigned(task):  # differences read unsigned
    E = np.asarray(task.opened)
    d = (E - E[0]).astype(np.float64) / 2.0 ** task.frac_bits
    return task.ranges[:, 0] - d.min(0) + d


def ch_zeros(task):
    return np.zeros(task.opened.shape)


def ch_wrong_shape(task):
    return lab10.recover_records(task)[:, :3]


def ch_nan(task):
    return np.full(task.opened.shape, np.nan)


def ch_scalar(task):
    return 1.0


def ch_low_bound(task):  # the lowest patient sits at the published low
    E = np.asarray(task.opened)
    d = (E - E[0]).view(np.int64) / 2.0 ** task.frac_bits
    return task.ranges[:, 0] - d.min(0) + d


def ch_high_bound(task):
    E = np.asarray(task.opened)
    d = (E - E[0]).view(np.int64) / 2.0 ** task.frac_bits
    return task.ranges[:, 1] - d.max(0) + d


def ch_other_anchor(task):  # differences against the last patient
    E = np.asarray(task.opened)
    d = (E - E[-1]).view(np.int64) / 2.0 ** task.frac_bits
    lo, hi = task.ranges[:, 0], task.ranges[:, 1]
    return ((lo - d.min(0)) + (hi - d.max(0))) / 2 + d


def ch_centre_match(task):  # puts the sample's midrange at the published midrange
    E = np.asarray(task.opened)
    d = (E - E[0]).view(np.int64).astype(float) / 2.0 ** task.frac_bits
    return d - (d.max(0) + d.min(0)) / 2 + task.ranges.mean(1)


WRONG = [
    (lab10.RECONSTRUCT, f) for f in (rc_round, rc_last_only, rc_int32, rc_scale_times,
                                     rc_no_type_check, rc_value_error, rc_off_by_one_bit,
                                     rc_difference)
] + [
    (lab10.BEAVER, f) for f in (bv_last_party, bv_minus_ef, bv_no_c, bv_opened_x, bv_float,
                                bv_int64, bv_in_place, bv_transposed)
] + [
    (lab10.POLY_SIGMOID_ERROR, f) for f in (ps_101_points, ps_squared, ps_rmse, ps_exp_plus,
                                            ps_symmetric, ps_no_check, ps_min, ps_first_two)
] + [
    (lab10.OPEN_SEALED, f) for f in (os_none, os_ctr, os_no_ad, os_empty, os_invalid_tag,
                                     os_value_error, os_nonce_last, os_short_unchecked)
] + [
    (lab10.CHALLENGE, f) for f in (ch_decode, ch_midpoint, ch_differences, ch_unsigned,
                                   ch_zeros, ch_wrong_shape, ch_nan, ch_scalar)
]

RIGHT = [
    (lab10.RECONSTRUCT, f) for f in (rc_python, rc_loop, rc_ldexp, rc_where)
] + [
    (lab10.BEAVER, f) for f in (bv_loops, bv_python, bv_ef_first, bv_einsum)
] + [
    (lab10.POLY_SIGMOID_ERROR, f) for f in (ps_horner, ps_scipy, ps_powers, ps_polynomial_class)
] + [
    (lab10.OPEN_SEALED, f) for f in (os_reference_like, os_memoryview, os_bytearray,
                                     os_any_error)
] + [
    (lab10.CHALLENGE, f) for f in (ch_low_bound, ch_high_bound, ch_other_anchor,
                                   ch_centre_match)
]


def test_the_suite_has_enough_mutants_for_every_exercise():
    assert_enough_mutants(lab10.EXERCISES, WRONG, RIGHT)


(test_a_wrong_answer_is_rejected_by_the_check_and_the_grading,
 test_a_correct_answer_written_differently_is_accepted) = mutant_tests(WRONG, RIGHT)


# --- the challenge's task -----------------------------------------------------------------------


def test_the_transcript_is_read_only_and_keeps_the_records_apart():
    task = lab10.reused_mask_task(seed=3)
    with pytest.raises(AttributeError):
        task.opened = None
    with pytest.raises(ValueError):
        task.opened[0, 0] = 0
    with pytest.raises(ValueError):
        task.ranges[0, 0] = 0
    assert task.opened.dtype == np.uint64 and task.opened.shape == (300, 5)
    assert "300 patients" in repr(task)


def test_one_opened_row_alone_says_nothing_and_fresh_masks_would_hide_the_differences():
    task = lab10.reused_mask_task(seed=4)
    decoded = np.asarray(task.opened).view(np.int64) / 2.0 ** task.frac_bits
    assert lab10.challenge_outcome(task, decoded) == 0.0
    assert lab10.challenge_outcome(task, lab10.recover_records(task)) >= 0.99


def test_the_outcome_needs_a_task_and_the_right_shape():
    with pytest.raises(TypeError):
        lab10.challenge_outcome(object(), np.zeros((300, 5)))
    task = lab10.reused_mask_task(seed=5)
    with pytest.raises(ValueError, match="shape"):
        lab10.challenge_outcome(task, np.zeros((3, 5)))


def test_a_failed_challenge_points_at_the_reused_mask():
    result = run_check(lab10.CHALLENGE, ch_midpoint)
    assert result.status == "wrong" and "opened values" in result.line()
