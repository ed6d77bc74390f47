"""Fraud: scoring a bank's transactions on a service that never sees them in clear.

Introduced in lab 10 (Secure computation). Lab 00's ``FraudScorer`` is gradient-boosted trees: a
transaction's score is a sum of leaves chosen by threshold comparisons, and CKKS evaluates only
additions and multiplications (a comparison needs a high-degree polynomial approximation, and
hundreds of them per transaction), so homomorphic encryption does not apply to it as it is
(:func:`he_applicability` says so from the model). The lab trains an HE-friendly variant on the
same data, a logistic regression on :func:`~mlsec_helpers.fraud_sim.log_heavy_tails` (the bank
takes the logarithm of its heavy-tailed features in the clear, before encrypting), whose logit is
one linear function
that the service evaluates on ciphertexts (:func:`linear_head`), and measures what the switch
costs in detection at the reference's alert rate (:func:`detection_cost`).

What the file holds:

- the model: :func:`he_applicability`, :func:`~mlsec_helpers.fraud_sim.log_heavy_tails`,
  :func:`fit_he_friendly_scorer`, :func:`linear_head`;
- its cost: :func:`detection_cost`;
- what the key holder learns anyway: :func:`recover_linear_model` (the model's weights from
  ``n_features + 1`` decrypted scores).

The encrypted and secret-shared scores use ``securecomp.common``
(:func:`~mlsec_helpers.securecomp.common.encrypted_linear_scores`,
:func:`~mlsec_helpers.securecomp.common.secret_shared_linear`) on :func:`linear_head`'s weights.
"""

from __future__ import annotations

import numpy as np

from ..fraud_sim import log_heavy_tails
from ..stats import auc_interval, proportion
from ..validate import (
    ArgumentTypeError,
    check_array,
    check_fitted,
    check_int,
    check_labels,
    check_number,
    check_seed,
    check_vector,
)
from .results import DetectionCost, HEApplicability, LinearHead, RecoveredLinearModel

__all__ = [
    "detection_cost",
    "fit_he_friendly_scorer",
    "he_applicability",
    "linear_head",
    "recover_linear_model",
]




def he_applicability(system) -> HEApplicability:
    """Whether a server can score ``system`` (a fitted fraud ``SklearnSystem``) on CKKS
    ciphertexts as it is: a logistic regression can (its logit is a weighted sum; the client
    applies the sigmoid after decrypting); a tree ensemble cannot (every split is a comparison,
    which CKKS has no operation for). Counts the model's comparisons to say how far off it is.

    Introduced in lab 10 (Secure computation).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    check_fitted(system)
    est = getattr(system, "estimator", None)
    final = est.steps[-1][1] if isinstance(est, Pipeline) else est
    if isinstance(final, LogisticRegression):
        return HEApplicability(
            applies=True, n_trees=0, n_comparisons=0, max_depth=0,
            reason=(f"a logistic regression: its logit is {final.coef_.shape[1]} plaintext "
                    "multiplications and additions on the encrypted features; the client "
                    "applies the sigmoid after decrypting"))
    if isinstance(final, HistGradientBoostingClassifier):
        # scikit-learn exposes no public tree structure for histogram gradient boosting; the
        # fitted trees are in _predictors (a list per iteration of TreePredictor, whose nodes
        # array has is_leaf and depth fields)
        nodes = [p.nodes for per_iter in final._predictors for p in per_iter]
        splits = int(sum((~n["is_leaf"].astype(bool)).sum() for n in nodes))
        depth = int(max(n["depth"].max() for n in nodes))
        return HEApplicability(
            applies=False, n_trees=len(nodes), n_comparisons=splits, max_depth=depth,
            reason=(f"gradient-boosted trees: {len(nodes)} trees hold {splits} threshold "
                    f"comparisons (up to {depth} on one transaction's path in each tree); CKKS "
                    "has only additions and multiplications, so each comparison would need a "
                    "high-degree polynomial approximation, and a leaf choice is exact, not "
                    "approximate"))
    raise ArgumentTypeError(f"he_applicability knows logistic regressions and histogram "
                            f"gradient boosting, got {type(final).__name__}")


def fit_he_friendly_scorer(X, y, *, seed: int = 0, C: float = 1.0):
    """An HE-friendly fraud scorer trained on (``X``, ``y``) (lab 00's fraud features): a
    standardised logistic regression (liblinear, ``C``) on
    :func:`~mlsec_helpers.fraud_sim.log_heavy_tails`, as a course ``SklearnSystem`` (its
    ``predict_proba`` is the plaintext reference of the encrypted
    scores). ``seed`` seeds the solver.

    Introduced in lab 10 (Secure computation).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    from ..systems import SklearnSystem

    seed = check_seed(seed)
    C = check_number(C, "C", low=0.0, low_open=True)
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    y = check_labels(y, len(X), n_classes=2)
    if len(np.unique(y)) != 2:
        raise ValueError("y must hold both classes (legitimate and fraud)")
    est = Pipeline([("client", FunctionTransformer(log_heavy_tails)),
                    ("scale", StandardScaler()),
                    ("lr", LogisticRegression(C=C, solver="liblinear", random_state=seed))])
    return SklearnSystem(est, domain="fraud").fit(X, y)


def linear_head(system) -> LinearHead:
    """The logit of :func:`fit_he_friendly_scorer`'s model as ``log_heavy_tails(X) @ w + b``:
    the standardisation folded into the weights (``w = coef / scale``,
    ``b = intercept - sum(coef * mean / scale)``), so the bank encrypts its features as they
    are and the scaler's statistics stay with the server.

    Introduced in lab 10 (Secure computation).
    """
    check_fitted(system)
    est = getattr(system, "estimator", None)
    steps = dict(getattr(est, "steps", []))
    if set(steps) != {"client", "scale", "lr"}:
        raise ArgumentTypeError("system must come from fit_he_friendly_scorer (steps client, "
                                "scale, lr)")
    scaler, lr = steps["scale"], steps["lr"]
    coef = lr.coef_.ravel()
    w = coef / scaler.scale_
    b = float(lr.intercept_[0] - np.sum(coef * scaler.mean_ / scaler.scale_))
    return LinearHead(w=w, b=b)


def detection_cost(y_true, reference_proba, variant_proba, *, seed: int = 0,
                   n_resamples: int = 1000) -> DetectionCost:
    """What replacing the reference fraud scorer by a variant costs, on one evaluation set:
    the reference raises ``n_alerts`` alerts (probability >= 0.5), the variant as many (its
    top scores); recall of each (Wilson interval over the frauds), ROC AUC of each (bootstrap
    interval: ``n_resamples`` resamples drawn from ``seed``) and average precision (PR-AUC).

    Introduced in lab 10 (Secure computation).
    """
    from sklearn.metrics import average_precision_score

    ref = check_vector(reference_proba, "reference_proba")
    var = check_vector(variant_proba, "variant_proba")
    y = check_labels(y_true, len(ref), "y_true", n_classes=2)
    if len(var) != len(ref):
        raise ValueError(f"reference_proba has {len(ref)} scores, variant_proba {len(var)}")
    n_fraud = int(y.sum())
    if n_fraud == 0 or n_fraud == len(y):
        raise ValueError("y_true must hold both frauds and legitimate transactions")
    seed = check_seed(seed)
    alerts = ref >= 0.5
    k = int(alerts.sum())
    if k == 0 or k == len(y):
        raise ValueError("the reference must raise some alerts, not all")
    ranked = np.sort(var)[::-1]
    threshold = float((ranked[k - 1] + ranked[k]) / 2)
    hits = var > threshold
    on, on_all = f"{n_fraud} frauds", f"{len(y)} transactions"
    return DetectionCost(
        n_alerts=k, alert_rate=k / len(y),
        recall_reference=proportion(int((alerts & (y == 1)).sum()), n_fraud, on=on),
        recall_variant=proportion(int((hits & (y == 1)).sum()), n_fraud, on=on),
        auc_reference=auc_interval(y, ref, on=on_all, seed=seed, n_resamples=n_resamples),
        auc_variant=auc_interval(y, var, on=on_all, seed=seed, n_resamples=n_resamples),
        average_precision_reference=float(average_precision_score(y, ref)),
        average_precision_variant=float(average_precision_score(y, var)),
        threshold_variant=threshold)


def recover_linear_model(score, n_features: int) -> RecoveredLinearModel:
    """The weights and bias of a linear scorer recovered by whoever sees its scores: the key
    holder decrypts the logit of any vector it encrypts, and the service cannot tell a probe
    from a transaction. ``score`` maps an (n, n_features) array to the n scores (for instance
    the decrypted encrypted scores); the probes are the zero vector (the bias) and the
    ``n_features`` unit vectors (each weight plus the bias): ``n_features + 1`` queries.

    Introduced in lab 10 (Secure computation).
    """
    if not callable(score):
        raise ArgumentTypeError(f"score must be a function of an (n, n_features) array, got "
                                f"{type(score).__name__}")
    d = check_int(n_features, "n_features")
    probes = np.vstack([np.zeros((1, d)), np.eye(d)])
    s = check_vector(score(probes), "score(probes)")
    if len(s) != d + 1:
        raise ValueError(f"score returned {len(s)} values for {d + 1} probes")
    return RecoveredLinearModel(w=s[1:] - s[0], b=float(s[0]), n_queries=d + 1)
