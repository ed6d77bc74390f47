"""Lab 03, medical domain: data pooled from several hospitals, one of them compromised;
per-source validation against a trusted set, and RONI (reject on negative impact).

(The hash manifest that ends the medical section is in ``provenance.py``: it is not specific to
a domain.)

Introduced in lab 03 (Data poisoning and backdoors).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from ..repro import rng
from ..validate import check_array, check_int, check_labels, check_number
from .results import CompromisedSource, RoniDecision, SourceSplit

__all__ = ["compromise_source", "roni_decision", "source_agreement", "split_sources"]


def split_sources(n: int, n_sources: int, n_trusted: int, *, seed: int = 0) -> SourceSplit:
    """Split ``n`` training rows into a trusted set and ``n_sources`` hospitals (seeded).

    Returns a :class:`~mlsec_helpers.poisoning.SourceSplit` (trusted rows, rows per source).

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    check_int(n, "n", 1)
    check_int(n_sources, "n_sources", 1)
    check_int(n_trusted, "n_trusted", 1)
    if n_trusted + n_sources > n:
        raise ValueError(f"{n} rows cannot hold {n_trusted} trusted rows and {n_sources} sources")
    perm = rng(seed).permutation(n)
    return SourceSplit(trusted=np.sort(perm[:n_trusted]),
                       sources=tuple(np.sort(s) for s in np.array_split(perm[n_trusted:],
                                                                        n_sources)))


def compromise_source(X, y, source_idx, *, from_label: int = 1, to_label: int = 0,
                      copies: int = 2, jitter: float = 0.03, seed: int = 0) -> CompromisedSource:
    """A compromised source: relabel its ``from_label`` rows and upload jittered copies of them.

    The copies (features times ``1 + jitter * N(0, 1)``, labelled ``to_label``) are appended to
    ``X`` and belong to the source. Returns a
    :class:`~mlsec_helpers.poisoning.CompromisedSource` (features, labels, the source's rows).

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    y = check_labels(y, len(X))
    idx = np.asarray(source_idx, dtype=np.int64)
    if idx.ndim != 1 or (len(idx) and (idx.min() < 0 or idx.max() >= len(X))):
        raise ValueError("source_idx must be a 1-D array of row indices of X")
    check_int(copies, "copies", 0)
    jitter = check_number(jitter, "jitter", low=0.0)
    y_new = np.array(y, copy=True)
    targeted = idx[y[idx] == from_label]
    y_new[targeted] = to_label
    extra = np.tile(targeted, copies)
    noise = rng(seed).standard_normal((len(extra), X.shape[1]))
    X_new = np.vstack([X, X[extra] * (1 + jitter * noise)])
    y_new = np.concatenate([y_new, np.full(len(extra), to_label, dtype=y.dtype)])
    return CompromisedSource(X=X_new, y=y_new,
                             source_idx=np.concatenate([idx, np.arange(len(X), len(X_new))]))


def source_agreement(make_model: Callable, X_trusted, y_trusted, sources) -> np.ndarray:
    """Per-source validation: how often a model trained on trusted data agrees with each source.

    ``make_model`` builds a fresh, unfitted model (e.g. ``systems.DiagnosisModel``);
    ``sources`` is a list of ``(X_s, y_s)``. Returns the agreement (accuracy of the trusted
    model on the source's labels) per source.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    model = make_model().fit(X_trusted, y_trusted)
    out = []
    for k, src in enumerate(sources):
        if len(src) != 2:
            raise ValueError(f"source {k} must be a pair (X_s, y_s)")
        X_s, y_s = src
        out.append(float(np.mean(model.predict(X_s) == np.asarray(y_s))))
    return np.array(out)


def roni_decision(system, X_base, y_base, X_cand, y_cand, X_val, y_val,
                  tolerance: float = 0.0) -> RoniDecision:
    """Reject On Negative Impact (Nelson et al. 2009) for one candidate batch of training data.

    Fits a fresh copy of ``system`` (a course system such as ``systems.DiagnosisModel()``,
    fitted or not: ``copy.deepcopy(system).fit(...)``) on the base data, and another on
    base + candidate; the impact is the change in accuracy on the validation set (with minus
    without). The candidate is rejected when the impact is below ``-tolerance``. Returns a
    :class:`~mlsec_helpers.poisoning.RoniDecision` (impact, reject).

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    tolerance = check_number(tolerance, "tolerance", low=0.0)
    X_base, X_cand = np.asarray(X_base), np.asarray(X_cand)
    if X_base.ndim != 2 or X_cand.ndim != 2 or X_base.shape[1] != X_cand.shape[1]:
        raise ValueError("X_base and X_cand must be 2-D with the same number of features")
    without = copy.deepcopy(system).fit(X_base, y_base)
    with_cand = copy.deepcopy(system).fit(np.vstack([X_base, X_cand]),
                                          np.concatenate([np.asarray(y_base), np.asarray(y_cand)]))
    impact = float(np.mean(with_cand.predict(X_val) == y_val)
                   - np.mean(without.predict(X_val) == y_val))
    return RoniDecision(impact=impact, reject=bool(impact < -tolerance))
