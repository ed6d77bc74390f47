"""Lab 04's exercise checks, beyond what tests/test_exercise_checks.py runs for every exercise.

A mutant suite: for each exercise, plausible wrong answers that are NOT among its known
mistakes (the check and the grading must reject every one), and correct answers written
differently from the reference (both must accept every one).
"""

import numpy as np
import pytest
from mutants import assert_enough_mutants, mutant_tests

from mlsec_helpers import extraction
from mlsec_helpers.checks import lab04

# --- exercise 1: labels_only --------------------------------------------------------------------


def lo_indices(proba):  # the label index, not a one-hot row
    return np.asarray(proba, dtype=float).argmax(axis=1)


def lo_unchanged(proba):  # the probabilities themselves
    return np.asarray(proba, dtype=float)


def lo_rounded(proba):  # rounding is not labels only
    return np.round(np.asarray(proba, dtype=float))


def lo_in_place(proba):  # overwrites the caller's probabilities
    top = proba.argmax(axis=1)
    proba[:] = 0.0
    proba[np.arange(len(proba)), top] = 1.0
    return proba


def lo_argmin(proba):  # the least probable class
    proba = np.asarray(proba, dtype=float)
    out = np.zeros_like(proba)
    out[np.arange(len(proba)), proba.argmin(axis=1)] = 1.0
    return out


def lo_ints(proba):  # an integer array (values right, dtype not what the lab needs)
    proba = np.asarray(proba, dtype=float)
    out = np.zeros(proba.shape, dtype=int)
    out[np.arange(len(proba)), proba.argmax(axis=1)] = 1
    return out.tolist()


def lo_no_check(proba):  # no error for bad input
    proba = np.atleast_2d(np.asarray(proba, dtype=float))
    out = np.zeros_like(proba)
    if proba.size:
        out[np.arange(len(proba)), proba.argmax(axis=1)] = 1.0
    return out


def lo_type_error(proba):  # the wrong exception for bad input
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or proba.size == 0:
        raise TypeError("bad shape")
    out = np.zeros_like(proba)
    out[np.arange(len(proba)), proba.argmax(axis=1)] = 1.0
    return out


def lo_first_row_only(proba):  # the first row's label for every row
    proba = np.asarray(proba, dtype=float)
    out = np.zeros_like(proba)
    out[:, proba[0].argmax()] = 1.0
    return out


def lo_eye(proba):  # one-hot via np.eye
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or not proba.size:
        raise ValueError("need a non-empty 2-D array")
    return np.eye(proba.shape[1])[proba.argmax(axis=1)]


def lo_loop(proba):  # a Python loop
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or 0 in proba.shape:
        raise ValueError("need a non-empty 2-D array")
    out = np.zeros(proba.shape)
    for i, row in enumerate(proba):
        out[i, int(np.argmax(row))] = 1.0
    return out


def lo_float32(proba):  # float32 one-hot rows
    proba = np.asarray(proba)
    if proba.ndim != 2 or proba.size == 0:
        raise ValueError("need a non-empty 2-D array")
    out = np.zeros(proba.shape, dtype=np.float32)
    np.put_along_axis(out, proba.argmax(axis=1)[:, None], 1.0, axis=1)
    return out


def lo_copy_then_write(proba):  # works on a copy
    p = np.array(proba, dtype=float, copy=True)
    if p.ndim != 2 or p.size == 0:
        raise ValueError("need a non-empty 2-D array")
    top = p.argmax(axis=1)
    p[:] = 0.0
    p[np.arange(len(p)), top] = 1.0
    return p


LO_WRONG = [lo_indices, lo_unchanged, lo_rounded, lo_in_place, lo_argmin, lo_ints,
            lo_no_check, lo_type_error, lo_first_row_only]
LO_RIGHT = [lo_eye, lo_loop, lo_float32, lo_copy_then_write]


# --- exercise 2: overlap_at_k --------------------------------------------------------------------


def ok_list_of_sets(lists_a, lists_b, k):  # sets built another way
    A, B = np.asarray(lists_a), np.asarray(lists_b)
    if A.ndim != 2 or A.shape[0] != B.shape[0] or min(A.shape[1], B.shape[1]) < k:
        raise ValueError("bad lists")
    return sum(len(set(a[:k]) & set(b[:k])) / k for a, b in zip(A, B, strict=True)) / len(A)


def ok_isin(lists_a, lists_b, k):  # numpy isin per row
    A, B = np.asarray(lists_a), np.asarray(lists_b)
    if len(A) != len(B) or A.shape[1] < k or B.shape[1] < k:
        raise ValueError("bad lists")
    return float(np.mean([np.isin(a[:k], b[:k]).sum() / k for a, b in zip(A, B, strict=True)]))


def ok_intersect1d(lists_a, lists_b, k):
    A, B = np.asarray(lists_a), np.asarray(lists_b)
    if A.shape[0] != B.shape[0] or k > min(A.shape[1], B.shape[1]):
        raise ValueError("bad lists")
    shared = [len(np.intersect1d(a[:k], b[:k])) for a, b in zip(A, B, strict=True)]
    return float(np.mean(shared) / k)


def ok_package(lists_a, lists_b, k):  # the same thing by sorting and counting
    A, B = np.asarray(lists_a)[:, :k], np.asarray(lists_b)[:, :k]
    if len(A) != len(B) or A.shape[1] < k or B.shape[1] < k:
        raise ValueError("bad lists")
    both = np.sort(np.concatenate([A, B], axis=1), axis=1)
    return float(((both[:, 1:] == both[:, :-1]).sum(axis=1) / k).mean())


def ok_wrong_k(lists_a, lists_b, k):  # always the first 10
    A, B = np.asarray(lists_a), np.asarray(lists_b)
    return float(np.mean([len(set(a[:10]) & set(b[:10])) for a, b in zip(A, B, strict=True)]) / k)


def ok_count_only(lists_a, lists_b, k):  # the count, not the share
    A, B = np.asarray(lists_a), np.asarray(lists_b)
    return float(np.mean([len(set(a[:k]) & set(b[:k])) for a, b in zip(A, B, strict=True)]))


def ok_median(lists_a, lists_b, k):  # the median over users
    A, B = np.asarray(lists_a), np.asarray(lists_b)
    return float(np.median([len(set(a[:k]) & set(b[:k])) / k for a, b in zip(A, B, strict=True)]))


def ok_first_row(lists_a, lists_b, k):  # the first user only
    A, B = np.asarray(lists_a), np.asarray(lists_b)
    return len(set(A[0, :k]) & set(B[0, :k])) / k


def ok_b_uncut(lists_a, lists_b, k):  # a cut to k, b not
    A, B = np.asarray(lists_a), np.asarray(lists_b)
    return float(np.mean([len(set(a[:k]) & set(b)) for a, b in zip(A, B, strict=True)]) / k)


def ok_no_row_check(lists_a, lists_b, k):  # zip stops at the shorter: no error
    A, B = np.asarray(lists_a), np.asarray(lists_b)
    return float(np.mean([len(set(a[:k]) & set(b[:k])) for a, b in zip(A, B, strict=False)]) / k)


def ok_min_overlap(lists_a, lists_b, k):  # the worst user instead of the mean
    A, B = np.asarray(lists_a), np.asarray(lists_b)
    return min(len(set(a[:k]) & set(b[:k])) / k for a, b in zip(A, B, strict=True))


def ok_string(lists_a, lists_b, k):  # a formatted string
    return f"{lab04.overlap_at_k(lists_a, lists_b, k):.3f}"


OK_WRONG = [ok_wrong_k, ok_count_only, ok_median, ok_first_row, ok_b_uncut, ok_no_row_check,
            ok_min_overlap, ok_string]
OK_RIGHT = [ok_list_of_sets, ok_isin, ok_intersect1d, ok_package]


def test_overlap_agrees_with_the_package():
    gen = np.random.default_rng(1)
    A = np.stack([gen.permutation(40)[:10] for _ in range(20)])
    B = np.stack([gen.permutation(40)[:10] for _ in range(20)])
    assert lab04.overlap_at_k(A, B, 10) == pytest.approx(
        extraction.overlap_at_k(A, B, 10).value)


def test_the_reference_agrees_with_the_package_and_not_with_art():
    from art.defences.postprocessor import ClassLabels

    p = np.random.default_rng(0).dirichlet(np.ones(5), size=20)
    assert np.array_equal(lab04.labels_only(p), extraction.one_hot_labels(p))
    assert not np.array_equal(lab04.labels_only(p), ClassLabels()(p))


# --- the mutant suite ----------------------------------------------------------------------------

WRONG = ([(lab04.LABELS_ONLY, f) for f in LO_WRONG]
         + [(lab04.OVERLAP_AT_K, f) for f in OK_WRONG])
RIGHT = ([(lab04.LABELS_ONLY, f) for f in LO_RIGHT]
         + [(lab04.OVERLAP_AT_K, f) for f in OK_RIGHT])


def test_the_suite_has_enough_mutants_and_none_is_a_known_mistake():
    # the medical exercises and the challenge: test_checks_lab04_medical.py
    assert_enough_mutants((lab04.LABELS_ONLY, lab04.OVERLAP_AT_K), WRONG, RIGHT)


(test_a_wrong_answer_is_rejected_by_the_check_and_the_grading,
 test_a_correct_answer_written_differently_is_accepted) = mutant_tests(WRONG, RIGHT)
