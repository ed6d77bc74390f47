"""Lab 08's fraud and medical parts: which features a tabular decision rests on, a planted
feature found from attributions, and a model scaffolded to fool perturbation explainers.

- attributions on real rows: :func:`tree_shap_attributions` (the fraud trees, exact TreeSHAP)
  and :func:`linear_shap_attributions` (the diagnosis model's logistic regression, exact);
- planting what an auditor should find: :func:`plant_label_leak` (a feature that carries the
  label on some rows, as a pipeline bug or an insider leaves it) and :func:`add_label_proxy` (a
  record field written after the diagnosis);
- measuring it: :func:`feature_attribution_rank` (rank and share of one feature, with a
  bootstrap interval) and :func:`permutation_importance_audit` (scikit-learn's permutation
  importance, the black-box auditor's tool);
- Slack et al. (AIES 2020) scaffolding, written for any two models: :func:`explainer_perturbations`
  (the off-manifold rows that permutation importance, KernelSHAP and LIME query),
  :func:`fit_off_manifold_detector`, :class:`ScaffoldedModel` and :func:`scaffold_model`;
- the auditor's answer on real data only: :func:`real_data_surrogate_audit`.

Introduced in lab 08 (Explainability).
"""

from __future__ import annotations

import numpy as np

from ..repro import limited_threads
from ..validate import (
    ArgumentTypeError,
    check_array,
    check_fitted,
    check_fraction,
    check_int,
    check_labels,
    check_number,
    check_seed,
)
from .results import FeatureRank, PlantedFeature, SurrogateAudit

__all__ = [
    "ScaffoldedModel",
    "add_label_proxy",
    "explainer_perturbations",
    "feature_attribution_rank",
    "fit_off_manifold_detector",
    "linear_shap_attributions",
    "permutation_importance_audit",
    "plant_label_leak",
    "real_data_surrogate_audit",
    "scaffold_model",
    "tree_shap_attributions",
]


def _check_feature(feature, d: int, name: str = "feature") -> int:
    return check_int(feature, name, minimum=0, maximum=d - 1)


def _check_model(model, name: str):
    if not callable(getattr(model, "predict_proba", None)):
        raise ArgumentTypeError(f"{name} must have a predict_proba method, got "
                                f"{type(model).__name__}")
    return model


# --- attributions on real rows ------------------------------------------------------------------


def tree_shap_attributions(system, X) -> np.ndarray:
    """Exact SHAP values (log-odds of the positive class, n x d) of a tree-ensemble course
    system (the fraud scorer's gradient-boosted trees) on the rows ``X``.

    shap's TreeExplainer computes Shapley values of a tree ensemble exactly, in polynomial time,
    from the trees' own paths ("tree_path_dependent"): it never queries the model on
    synthetic rows, so a model cannot tell an audit from real traffic. Permutation importance
    would also do on these trees, but it is global only, noisier, and asks off-manifold queries.

    Introduced in lab 08 (Explainability).
    """
    import shap

    check_fitted(system)
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    if X.shape[1] != getattr(system, "n_features_", X.shape[1]):
        raise ValueError(f"X must have {system.n_features_} features, got {X.shape[1]}")
    with limited_threads(1):
        values = shap.TreeExplainer(system.estimator).shap_values(X)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 3:  # some shap versions return (n, d, classes) for classifiers
        values = values[..., -1]
    return values


def linear_shap_attributions(system, X, background) -> np.ndarray:
    """Exact SHAP values (log-odds of the positive class, n x d) of the diagnosis model (a
    standardised logistic regression) on the rows ``X``, against ``background`` rows.

    shap's LinearExplainer with an independent masker is exact for a linear model:
    ``coef_j * (x_j - mean_j)`` on the standardised features, with no sampling and no model
    queries; KernelSHAP would only approximate it, slowly.

    Introduced in lab 08 (Explainability).
    """
    import shap
    from sklearn.pipeline import Pipeline

    check_fitted(system)
    est = getattr(system, "estimator", None)
    if not (isinstance(est, Pipeline) and len(est.steps) == 2
            and hasattr(est.steps[1][1], "coef_")):
        raise ArgumentTypeError("system must be a scaler + linear-model pipeline (the "
                                "diagnosis model)")
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    background = check_array(background, "background", ndim=2, dtype=np.float64)
    if X.shape[1] != background.shape[1] or X.shape[1] != system.n_features_:
        raise ValueError(f"X and background must have {system.n_features_} features, got "
                         f"{X.shape[1]} and {background.shape[1]}")
    scaler, linear = est.steps[0][1], est.steps[1][1]
    explainer = shap.LinearExplainer(linear, shap.maskers.Independent(
        scaler.transform(background), max_samples=len(background)))
    return np.asarray(explainer.shap_values(scaler.transform(X)), dtype=np.float64)


# --- planting what an auditor should find -------------------------------------------------------


def plant_label_leak(X, y, feature: int, *, share: float = 0.5, strength: float = 0.5,
                     seed: int = 0) -> PlantedFeature:
    """Make column ``feature`` carry the label on a random ``share`` of the rows: on those rows
    it is raised by ``strength`` where ``y == 1`` (as a feature pipeline that forgot a delay
    and counted the transaction's own outcome, or an insider, would leave it). Returns the
    manipulated copy and the rows reached.

    Introduced in lab 08 (Explainability).
    """
    X = check_array(X, "X", ndim=2, dtype=np.float64).copy()
    y = check_labels(y, len(X))
    feature = _check_feature(feature, X.shape[1])
    share = check_fraction(share, "share")
    strength = check_number(strength, "strength")
    seed = check_seed(seed)
    affected = np.random.default_rng(seed).random(len(X)) < share
    X[affected & (y == 1), feature] += strength
    return PlantedFeature(X=X, affected=affected, feature=feature)


def add_label_proxy(X, y, *, error_rate: float = 0.03, seed: int = 0) -> np.ndarray:
    """``X`` with one more column that records the label, wrong on a random ``error_rate`` of
    the rows: a record field written after the diagnosis (a referral, a treatment code) that
    leaked into the training table. Its honest value at prediction time is 0 (not yet written).

    Introduced in lab 08 (Explainability).
    """
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    y = check_labels(y, len(X))
    if set(np.unique(y)) - {0, 1}:
        raise ValueError("y must be binary (0/1) for a label proxy")
    error_rate = check_fraction(error_rate, "error_rate")
    seed = check_seed(seed)
    wrong = np.random.default_rng(seed).random(len(X)) < error_rate
    return np.column_stack([X, np.where(wrong, 1 - y, y).astype(np.float64)])


# --- measuring it -------------------------------------------------------------------------------


def feature_attribution_rank(attributions, feature: int, *, n_boot: int = 500,
                             seed: int = 0) -> FeatureRank:
    """Where ``feature`` stands in the global attribution of rows ``attributions`` (n x d): its
    rank by mean absolute attribution (1 = first), its share of the total, and a 95 % bootstrap
    interval of the share over rows (``n_boot`` resamples).

    Introduced in lab 08 (Explainability).
    """
    a = np.abs(check_array(attributions, "attributions", ndim=2, dtype=np.float64))
    if len(a) < 2 or a.shape[1] < 2:
        raise ValueError(f"attributions must have at least 2 rows and 2 features, got {a.shape}")
    feature = _check_feature(feature, a.shape[1])
    n_boot = check_int(n_boot, "n_boot", minimum=10)
    seed = check_seed(seed)
    importance = a.mean(axis=0)
    total = importance.sum()
    share = float(importance[feature] / total) if total > 0 else 0.0
    rank = int(1 + np.sum(importance > importance[feature]))
    rows = np.random.default_rng(seed).integers(0, len(a), size=(n_boot, len(a)))
    boot = np.empty(n_boot)
    for b, idx in enumerate(rows):
        imp = a[idx].mean(axis=0)
        boot[b] = imp[feature] / imp.sum() if imp.sum() > 0 else 0.0
    low, high = np.quantile(boot, [0.025, 0.975])
    return FeatureRank(feature=feature, rank=rank, share=share, share_low=float(low),
                       share_high=float(high), importance=importance)


def _accuracy(model, X, y) -> float:
    return float(np.mean(np.asarray(model.predict_proba(X)).argmax(axis=1) == y))


def permutation_importance_audit(model, X, y, *, n_repeats: int = 5,
                                 seed: int = 0) -> np.ndarray:
    """Permutation importance (drop in accuracy when one column is shuffled, mean over
    ``n_repeats``) of any model with ``predict_proba`` on ``X, y``: the black-box auditor's
    tool, scikit-learn's ``permutation_importance``. Each shuffled column gives the model rows
    that never occur in real data, which is what a scaffolded model exploits.

    Introduced in lab 08 (Explainability).
    """
    from sklearn.inspection import permutation_importance

    _check_model(model, "model")
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    y = check_labels(y, len(X))
    n_repeats = check_int(n_repeats, "n_repeats")
    seed = check_seed(seed)
    # scikit-learn insists on an estimator with a fit method (its parameter validation refuses
    # any other object: permutation_importance(obj_with_predict_proba_only, ...) raises
    # InvalidParameterError); the audit never fits, so a model without one is wrapped.
    target = model if callable(getattr(model, "fit", None)) else _Unfittable(model)
    with limited_threads(1):
        result = permutation_importance(target, X, y, scoring=_accuracy, n_repeats=n_repeats,
                                        random_state=seed)
    return np.asarray(result.importances_mean, dtype=np.float64)


class _Unfittable:
    def __init__(self, model):
        self.model = model

    def fit(self, X, y):  # pragma: no cover - never called by the audit
        raise NotImplementedError("an audited model is not refitted")

    def predict_proba(self, X):
        return self.model.predict_proba(X)


# --- Slack et al. (AIES 2020): scaffolding --------------------------------------------------------


def explainer_perturbations(X, n: int, *, focus: int | None = None, seed: int = 0) -> np.ndarray:
    """Up to ``n`` rows like those a perturbation explainer queries: real rows of ``X`` with a
    random subset of columns replaced by the values of other random rows (one column, as
    permutation importance does, up to all of them, as KernelSHAP's and LIME's samples with a
    background do). With ``focus``, only that column is replaced, on every row. Rows that came
    out identical to their source row are dropped (so fewer than ``n`` may come back).

    Introduced in lab 08 (Explainability).
    """
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    if len(X) < 2:
        raise ValueError("X must have at least 2 rows")
    n = check_int(n, "n")
    d = X.shape[1]
    if focus is not None:
        focus = _check_feature(focus, d, "focus")
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)
    source = rng.integers(0, len(X), n)
    P = X[source].copy()
    if focus is not None:
        P[:, focus] = X[rng.integers(0, len(X), n), focus]
    else:
        k = rng.integers(1, d + 1, n)
        for i in range(n):
            cols = rng.choice(d, k[i], replace=False)
            P[i, cols] = X[rng.integers(0, len(X), k[i]), cols]
    return P[np.any(P != X[source], axis=1)]


def fit_off_manifold_detector(X_real, *, focus: int | None = None, n_trees: int = 40,
                              ratio: int = 3, seed: int = 0):
    """A random forest that tells real rows (class 1) from explainer-style perturbations
    (class 0), as Slack et al. build it: ``ratio`` perturbed rows per real row of ``X_real``
    from :func:`explainer_perturbations`, plus as many again that replace only column
    ``focus`` (the feature the attacker hides) when given. Classes are weighted to balance.
    Returns the fitted scikit-learn classifier (``predict_proba[:, 1]``: P(real)).

    Introduced in lab 08 (Explainability).
    """
    from sklearn.ensemble import RandomForestClassifier

    X_real = check_array(X_real, "X_real", ndim=2, dtype=np.float64)
    n_trees = check_int(n_trees, "n_trees")
    ratio = check_int(ratio, "ratio")
    seed = check_seed(seed)
    if focus is not None:
        focus = _check_feature(focus, X_real.shape[1], "focus")
    parts = [explainer_perturbations(X_real, ratio * len(X_real), seed=seed)]
    if focus is not None:
        parts.append(explainer_perturbations(X_real, ratio * len(X_real), focus=focus,
                                             seed=seed + 1))
    fake = np.concatenate(parts)
    data = np.concatenate([X_real, fake])
    label = np.r_[np.ones(len(X_real), dtype=int), np.zeros(len(fake), dtype=int)]
    weight = np.where(label == 1, len(fake) / len(X_real), 1.0)
    with limited_threads(1):
        return RandomForestClassifier(n_estimators=n_trees, min_samples_leaf=2, n_jobs=1,
                                      random_state=seed).fit(data, label, sample_weight=weight)


class ScaffoldedModel:
    """Slack et al.'s scaffolding around any two models with ``predict_proba``: rows that
    ``detector`` (a classifier whose ``predict_proba[:, 1]`` is P(real)) takes for real, with
    P(real) above ``threshold``, get ``biased``'s answer; every other row, in practice the
    off-manifold queries of a perturbation explainer, gets ``innocuous``'s.

    ``routed_to_biased(X)`` says, per row, which model answered. ``fit`` refuses: the parts
    are fitted on their own.

    Introduced in lab 08 (Explainability).
    """

    def __init__(self, biased, innocuous, detector, threshold: float = 0.5):
        self.biased = _check_model(biased, "biased")
        self.innocuous = _check_model(innocuous, "innocuous")
        self.detector = _check_model(detector, "detector")
        self.threshold = check_fraction(threshold, "threshold")

    def fit(self, X, y):
        raise NotImplementedError("a scaffolded model is assembled from fitted parts: fit the "
                                  "biased model, the innocuous model and the detector")

    def routed_to_biased(self, X) -> np.ndarray:
        """Boolean (n,): the rows the detector takes for real (answered by ``biased``)."""
        X = check_array(X, "X", ndim=2, dtype=np.float64)
        with limited_threads(1):
            return np.asarray(self.detector.predict_proba(X))[:, 1] > self.threshold

    def predict_proba(self, X) -> np.ndarray:
        """The biased model's probabilities on rows taken for real, the innocuous model's on
        the others."""
        X = check_array(X, "X", ndim=2, dtype=np.float64)
        real = self.routed_to_biased(X)
        out = np.asarray(self.innocuous.predict_proba(X), dtype=np.float64).copy()
        if real.any():
            out[real] = np.asarray(self.biased.predict_proba(X[real]), dtype=np.float64)
        return out

    def predict(self, X) -> np.ndarray:
        """The class with the largest probability, per row."""
        return self.predict_proba(X).argmax(axis=1)


def scaffold_model(biased, innocuous, X_real, *, focus: int | None = None, n_trees: int = 40,
                   threshold: float = 0.5, seed: int = 0) -> ScaffoldedModel:
    """Fit an off-manifold detector on ``X_real`` (see :func:`fit_off_manifold_detector`) and
    wrap ``biased`` and ``innocuous`` around it: a :class:`ScaffoldedModel`.

    Introduced in lab 08 (Explainability).
    """
    _check_model(biased, "biased")
    _check_model(innocuous, "innocuous")
    detector = fit_off_manifold_detector(X_real, focus=focus, n_trees=n_trees, seed=seed)
    return ScaffoldedModel(biased, innocuous, detector, threshold=threshold)


# --- the auditor's answer -----------------------------------------------------------------------


def real_data_surrogate_audit(model, X_real) -> SurrogateAudit:
    """Audit ``model`` through real rows only: fit the diagnosis model's form (standardised
    logistic regression) to ``model``'s predicted classes on ``X_real`` and return its exact
    linear-SHAP attributions there, with the surrogate's fidelity. No off-manifold row is ever
    sent to ``model``, so a scaffold's detector has nothing to catch. The surrogate explains
    the model only as far as its fidelity reaches.

    Introduced in lab 08 (Explainability).
    """
    from ..systems import DiagnosisModel

    _check_model(model, "model")
    X_real = check_array(X_real, "X_real", ndim=2, dtype=np.float64)
    predicted = np.asarray(model.predict_proba(X_real)).argmax(axis=1)
    if len(np.unique(predicted)) < 2:
        raise ValueError("the model predicts one class on every row of X_real: no surrogate "
                         "can be fitted")
    with limited_threads(1):
        surrogate = DiagnosisModel().fit(X_real, predicted)
        fidelity = float(np.mean(surrogate.predict_proba(X_real).argmax(axis=1) == predicted))
    values = linear_shap_attributions(surrogate, X_real, X_real)
    return SurrogateAudit(importance=np.abs(values).mean(axis=0), fidelity=fidelity)
