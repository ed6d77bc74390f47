"""What several domains of lab 06 share: the exposure of a secret, the attribute-inference
rule of Fredrikson et al., and how far an inference beats a guess.

Introduced in lab 06 (Model inversion).
"""

from __future__ import annotations

import math

import numpy as np

from ..repro import limited_threads
from ..stats import proportion
from ..validate import (
    ArgumentTypeError,
    check_array,
    check_choice,
    check_int,
    check_labels,
    check_vector,
)
from .results import InferenceAdvantage

__all__ = [
    "candidate_probabilities",
    "exposure",
    "exposure_from_rank",
    "fredrikson_inference",
    "impute_attribute",
    "inference_advantage",
    "secret_rank",
]


def secret_rank(secret_score: float, candidate_scores) -> int:
    """The rank of a secret among candidates by a score where lower is likelier (a
    log-perplexity): one plus the number of candidates scored strictly lower. A tie does not
    count against the secret. ``candidate_scores`` holds every candidate of the space,
    the secret included.

    Introduced in lab 06 (Model inversion).
    """
    scores = check_vector(candidate_scores, "candidate_scores")
    if scores.size == 0:
        raise ValueError("candidate_scores must hold at least one candidate")
    s = float(secret_score)
    if not math.isfinite(s):
        raise ValueError(f"secret_score must be a finite number, got {secret_score!r}")
    if not np.isfinite(scores).all():
        raise ValueError("candidate_scores must be finite")
    return int(np.count_nonzero(scores < s)) + 1


def exposure_from_rank(rank: int, n_candidates: int) -> float:
    """Exposure in bits (Carlini et al., "The Secret Sharer", USENIX Security 2019):
    ``log2(n_candidates) - log2(rank)``. 0 when the secret is the least likely candidate,
    ``log2(n_candidates)`` (13.3 bits for a 4-digit PIN) when it is the most likely; a secret
    the model never saw has rank uniform over the space, so an exposure of about 1.4 bits on
    average (the mean of ``-log2 U``).

    Introduced in lab 06 (Model inversion).
    """
    n = check_int(n_candidates, "n_candidates")
    r = check_int(rank, "rank")
    if r > n:
        raise ValueError(f"rank ({r}) cannot exceed n_candidates ({n})")
    return math.log2(n) - math.log2(r)


def exposure(secret_score: float, candidate_scores) -> float:
    """The exposure (bits) of a secret from its score and the scores of every candidate of
    its space (lower is likelier; :func:`secret_rank`, :func:`exposure_from_rank`).

    Introduced in lab 06 (Model inversion).
    """
    scores = check_vector(candidate_scores, "candidate_scores")
    return exposure_from_rank(secret_rank(secret_score, scores), scores.size)


def fredrikson_inference(proba_by_value, y, prior) -> np.ndarray:
    """Attribute inference in the manner of Fredrikson et al. (USENIX Security 2014).

    The attacker knows a record's other features and its outcome ``y``; for each value ``v``
    the sensitive attribute could take, it asks the model for ``P(class | record with v)``.
    It guesses the value that makes the known outcome likeliest, weighted by how common the
    value is: ``argmax_v prior[v] * proba_by_value[i, v, y[i]]`` (ties: the lowest index).

    ``proba_by_value``: (n, n_values, n_classes) probabilities; ``y``: (n,) known outcomes;
    ``prior``: (n_values,) the attribute's distribution in the population. Returns (n,) value
    indices.

    Introduced in lab 06 (Model inversion).
    """
    p = check_array(proba_by_value, "proba_by_value", ndim=3, dtype=np.float64)
    n, n_values, n_classes = p.shape
    if n == 0 or n_values == 0 or n_classes == 0:
        raise ValueError(f"proba_by_value must not be empty, got shape {p.shape}")
    if not np.isfinite(p).all() or p.min() < 0 or p.max() > 1:
        raise ValueError("proba_by_value must hold probabilities in [0, 1]")
    y = check_labels(y, n, "y", n_classes=n_classes)
    prior = check_vector(prior, "prior")
    if prior.shape != (n_values,):
        raise ValueError(f"prior must hold one probability per value ({n_values}), got shape "
                         f"{prior.shape}")
    if not np.isfinite(prior).all() or prior.min() < 0 or prior.sum() <= 0:
        raise ValueError("prior must hold non-negative numbers with a positive sum")
    likelihood = p[np.arange(n), :, y]  # (n, n_values): P(known outcome | record with v)
    return np.argmax(likelihood * prior[None, :], axis=1)


def inference_advantage(guesses, truth, baseline, *, on: str) -> InferenceAdvantage:
    """How far an attribute inference beats a baseline that does not use the model (the
    prior's most common value, or an imputation model trained on public data): both accuracies
    with Wilson intervals on the same records, and their difference with a paired interval
    (the records where exactly one of the two is right, McNemar's view).

    Introduced in lab 06 (Model inversion).
    """
    truth = check_labels(truth, None, "truth")
    guesses = check_labels(guesses, len(truth), "guesses")
    baseline = check_labels(baseline, len(truth), "baseline")
    if len(truth) == 0:
        raise ValueError("truth must hold at least one record")
    hit, base = guesses == truth, baseline == truth
    diff = hit.astype(float) - base.astype(float)
    # A normal interval on the mean paired difference; with n in the hundreds it is accurate,
    # and it counts only the discordant records, as McNemar's test does.
    half = 1.96 * diff.std(ddof=1) / math.sqrt(len(diff)) if len(diff) > 1 else float("inf")
    return InferenceAdvantage(
        attack=proportion(hit, on=on), baseline=proportion(base, on=on),
        gain=float(diff.mean()), gain_low=float(diff.mean() - half),
        gain_high=float(diff.mean() + half))


def candidate_probabilities(system, X, *, column: int, values) -> np.ndarray:
    """The model's class probabilities for every row of ``X`` with its ``column`` set to each
    of ``values`` in turn: ``(n, len(values), n_classes)``. What an attacker who knows the
    other features gets by querying the model once per candidate value (the row's own value in
    ``column`` is ignored). ``system`` has ``predict_proba`` (a course system or a scikit-learn
    estimator).

    Introduced in lab 06 (Model inversion).
    """
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    column = check_int(column, "column", 0, X.shape[1] - 1)
    vals = check_vector(values, "values")
    if vals.size == 0:
        raise ValueError("values must hold at least one candidate value")
    if not hasattr(system, "predict_proba"):
        raise ArgumentTypeError(f"system must have predict_proba, got "
                                f"{type(system).__name__}")
    out = []
    for v in vals:
        Xv = X.copy()
        Xv[:, column] = v
        out.append(np.asarray(system.predict_proba(Xv), dtype=np.float64))
    return np.stack(out, axis=1)


def impute_attribute(X_public, attribute_public, X, *, n_values: int,
                     method: str = "logistic", seed: int = 0) -> np.ndarray:
    """The imputation baseline (Jayaraman and Evans, "Are attribute inference attacks just
    imputation?", CCS 2022): a classifier trained on public records ``X_public`` (the other
    features, and the outcome where the attacker knows it) to predict the attribute, applied to
    ``X``. It never queries the model: whatever it gets right is what the population gives
    away, not the model. Returns ``(n, n_values)`` probabilities.

    ``method``: ``"logistic"`` (standardised multinomial logistic regression) or
    ``"boosting"`` (scikit-learn's histogram gradient boosting, 100 rounds). One thread.

    Introduced in lab 06 (Model inversion).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    Xp = check_array(X_public, "X_public", ndim=2, dtype=np.float64)
    n_values = check_int(n_values, "n_values", 2)
    a = check_labels(attribute_public, len(Xp), "attribute_public", n_classes=n_values)
    Xq = check_array(X, "X", ndim=2, dtype=np.float64)
    if Xq.shape[1] != Xp.shape[1]:
        raise ValueError(f"X has {Xq.shape[1]} columns, X_public {Xp.shape[1]}")
    method = check_choice(method, ("logistic", "boosting"), "imputation method")
    model = (make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
             if method == "logistic" else
             HistGradientBoostingClassifier(max_iter=100, random_state=seed))
    with limited_threads(1):
        model.fit(Xp, a)
        p = model.predict_proba(Xq)
    out = np.zeros((len(Xq), n_values))
    out[:, model.classes_] = p  # a value absent from the public data gets probability 0
    return out
