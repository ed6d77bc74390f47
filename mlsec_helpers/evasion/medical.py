"""Medical: perturbations within a measurement tolerance, the exact certified radius of a linear
model, certified accuracy, and exact adversarial training of a logistic regression.

The diagnosis model (``systems.DiagnosisModel()``) is linear, so everything here is exact:
the worst perturbation within a box (:func:`worst_case_linear`), the radius within which no
perturbation can flip a decision (:func:`certified_radius`, the answer of exercise 4) and the
inner maximisation of adversarial training (:func:`robust_logistic_regression`).

Introduced in lab 02 (Evasion).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..validate import (
    ArgumentTypeError,
    check_array,
    check_labels,
    check_number,
    check_positive,
    unknown_name,
)
from .results import LinearDecision

__all__ = [
    "certified_accuracy",
    "certified_radius",
    "fgsm_linear",
    "linear_decision",
    "measurement_tolerance",
    "robust_logistic_regression",
    "worst_case_linear",
]


def measurement_tolerance(X, relative: float = 0.05) -> np.ndarray:
    """A per-feature measurement tolerance: ``relative`` times each feature's median in the
    training features ``X``.

    Every one of WDBC's 30 numbers is measured from a digitised biopsy image; a few per cent
    of error in segmentation or focus moves them all. Introduced in lab 02 (Evasion).
    """
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    if len(X) == 0:
        raise ValueError("X must hold at least one row")
    relative = check_number(relative, "relative", low=0.0)
    return relative * np.abs(np.median(X, axis=0))


def linear_decision(system) -> LinearDecision:
    """The decision function ``w @ x + b`` on raw features of a scaled linear model.

    Works for ``systems.DiagnosisModel()`` (StandardScaler + LogisticRegression), for the
    system of :func:`robust_logistic_regression`, and for a bare binary linear classifier
    with ``coef_``. Returns a :class:`LinearDecision` (``w``, ``b``).
    Introduced in lab 02 (Evasion).
    """
    est = getattr(system, "estimator", system)
    steps = getattr(est, "steps", None)
    scaler, lin = (steps[0][1], steps[-1][1]) if steps else (None, est)
    coef = getattr(lin, "coef_", None)
    if coef is None or np.shape(coef)[0] != 1:
        raise ArgumentTypeError("system must be a fitted binary linear classifier (coef_ of "
                                "shape (1, d)), such as systems.DiagnosisModel()")
    w = np.asarray(coef[0], dtype=np.float64)
    b = float(np.asarray(lin.intercept_).ravel()[0])
    if scaler is not None:
        b -= float(np.sum(w * scaler.mean_ / scaler.scale_))
        w = w / scaler.scale_
    return LinearDecision(w=w, b=b)


_DUAL = {"inf": 1, 2: 2, "2": 2, 1: np.inf, "1": np.inf}


def certified_radius(w, b, X, norm="inf", scale=None) -> np.ndarray:
    """The exact certified radius of a linear classifier ``sign(w @ x + b)`` at each row of X.

    No perturbation ``delta`` with ``||delta / scale||_p < r`` can change the decision, and
    one of size ``r`` can: ``r = |w @ x + b| / ||w * scale||_q`` with ``q`` the dual norm of
    ``p`` (L-inf -> L1, L2 -> L2, L1 -> L-inf). ``scale`` (default 1) measures each feature
    in its own unit, such as its measurement tolerance. (A building block on the weights, the
    reference answer of the lab's exercise 4; get ``w`` and ``b`` of a system with
    :func:`linear_decision`.) Introduced in lab 02 (Evasion).
    """
    key = "inf" if norm in (np.inf, "inf") else norm
    if key not in _DUAL:
        raise unknown_name(norm, ["inf", 2, 1], "norm")
    w = np.asarray(w, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    if w.ndim != 1 or X.ndim != 2 or X.shape[1] != len(w):
        raise ValueError(f"w must be (d,) and X (n, d); got {w.shape} and {X.shape}")
    s = np.ones_like(w) if scale is None else np.asarray(scale, dtype=np.float64)
    if s.shape != w.shape or np.any(s < 0):
        raise ValueError("scale must hold one non-negative number per feature")
    dual = np.linalg.norm(w * s, ord=_DUAL[key])
    if dual == 0:
        return np.full(len(X), np.inf)
    return np.abs(X @ w + float(b)) / dual


def _check_tolerance(tolerance, d: int) -> np.ndarray:
    tol = check_array(tolerance, "tolerance", ndim=1, dtype=np.float64)
    if tol.shape != (d,):
        raise ValueError(f"tolerance must hold one number per feature ({d}), got {tol.shape}")
    if np.any(tol < 0):
        raise ValueError("tolerance must be >= 0 for every feature")
    return tol


def worst_case_linear(system, X, y, tolerance) -> np.ndarray:
    """The strongest perturbation of ``X`` within ``|delta_i| <= tolerance_i`` against a
    linear system (``systems.DiagnosisModel()``, see :func:`linear_decision`).

    Every feature moves by its full tolerance against the true class ``y`` (1 or 0):
    ``x - (2y - 1) * sign(w) * tolerance``. For a linear model this is exactly the worst case
    (FGSM computes the same direction from the gradient). Returns the perturbed rows.
    Introduced in lab 02 (Evasion).
    """
    w = linear_decision(system).w
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    if X.shape[1] != len(w):
        raise ValueError(f"X must have the model's {len(w)} features, got {X.shape[1]}")
    y = check_labels(y, len(X))
    tol = _check_tolerance(tolerance, len(w))
    direction = np.where(y == 1, -1.0, 1.0)[:, None] * np.sign(w)[None, :]
    return X + direction * tol[None, :]


def fgsm_linear(system, X, y, tolerance) -> np.ndarray:
    """ART's FGSM within ``|delta_i| <= tolerance_i`` against a scaled logistic regression
    (``systems.DiagnosisModel()``), with exact gradients, on raw features.

    Runs on ``system.art_estimator()``, whose ``loss_gradient`` corrects a bug of
    adversarial-robustness-toolbox 1.20.1 (the scaler applied twice; see
    ``systems.scaled_logistic_regression_estimator``). Returns the perturbed rows.
    Introduced in lab 02 (Evasion).
    """
    from art.attacks.evasion import FastGradientMethod

    est = getattr(system, "estimator", None)
    steps = getattr(est, "steps", None)
    if not steps or len(steps) != 2 or not hasattr(steps[0][1], "scale_"):
        raise ArgumentTypeError("system must be a fitted StandardScaler + LogisticRegression "
                                "system, such as systems.DiagnosisModel()")
    n_features = len(steps[0][1].scale_)
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    if X.shape[1] != n_features:
        raise ValueError(f"X must have the model's {n_features} features, got {X.shape[1]}")
    y = check_labels(y, len(X))
    tol = _check_tolerance(tolerance, n_features)
    return FastGradientMethod(system.art_estimator(), eps=tol, eps_step=tol).generate(
        X, y=np.eye(2)[y])


def certified_accuracy(radius, correct, radii) -> np.ndarray:
    """Share of inputs that are correct AND certified beyond each radius in ``radii``.

    Introduced in lab 02 (Evasion).
    """
    radius = np.asarray(radius, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    if radius.shape != correct.shape or radius.ndim != 1:
        raise ValueError("radius and correct must be 1-D and of the same length")
    return np.array([float(np.mean(correct & (radius > r))) for r in np.atleast_1d(radii)])


def robust_logistic_regression(X, y, tolerance, rho: float = 1.0, C: float = 1.0):
    """Adversarial training of a logistic regression, exactly, for box perturbations.

    For a linear model the inner maximisation of adversarial training has a closed form: the
    worst perturbation with ``|delta_i| <= rho * tolerance_i`` lowers the margin by
    ``rho * sum_i |w_i| tolerance_i``. So training on every patient's worst case is minimising
    ``log(1 + exp(-(y' (w @ z + b) - rho * sum |w_i| tol_i / sd_i))) + ||w||^2 / (2C)`` on
    standardised features ``z`` (``y'`` = +-1), done here with L-BFGS in torch (neither
    scikit-learn nor ART has it). Returns a ``systems.SklearnSystem`` (StandardScaler +
    LogisticRegression carrying the robust weights), a drop-in for ``DiagnosisModel``.
    Introduced in lab 02 (Evasion).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from ..systems import SklearnSystem

    X = check_array(X, "X", ndim=2, dtype=np.float64)
    y = check_labels(y, len(X))
    tol = _check_tolerance(tolerance, X.shape[1])
    rho = check_number(rho, "rho", low=0.0)
    C = check_positive(C, "C")
    if set(np.unique(y)) != {0, 1}:
        raise ValueError("y must hold both classes 0 and 1")
    scaler = StandardScaler().fit(X)
    Z = torch.as_tensor(scaler.transform(X))
    t = torch.as_tensor(np.where(y == 1, 1.0, -1.0))
    ts = torch.as_tensor(tol / scaler.scale_)
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=1000, tolerance_grad=1e-10,
                            tolerance_change=1e-14, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        margin = t * (Z @ w + b) - rho * (w.abs() * ts).sum()
        loss = nn.functional.softplus(-margin).sum() + 0.5 / C * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    lr = LogisticRegression(C=C)
    lr.classes_ = np.array([0, 1])
    lr.coef_ = w.detach().numpy()[None, :].copy()
    lr.intercept_ = b.detach().numpy().copy()
    lr.n_features_in_ = X.shape[1]
    system = SklearnSystem(Pipeline([("scale", scaler), ("lr", lr)]), domain="medical")
    system.n_classes, system.n_features_, system.fitted_ = 2, X.shape[1], True
    return system
