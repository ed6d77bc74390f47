"""Medical: stealing the logistic-regression diagnosis model through its prediction API.

The diagnosis model (``systems.DiagnosisModel()``) standardises the 30 raw WDBC features
inside its pipeline and applies a logistic regression; the API takes raw features. Seen from
outside it is one logistic model on the raw features, ``p(x) = sigmoid(w @ x + b)``, so every
probability answer is one linear equation ``logit(p) = w @ x + b`` in the ``d + 1`` unknowns:

* :func:`solve_logistic` solves those equations (least squares when there are more answers
  than unknowns); :func:`equation_solving_attack` chooses the queries (Tramer et al., USENIX
  Security 2016): a base patient and one step along each feature, each step sized to that
  feature's own spread, so that the raw features' very different scales do not make the
  system ill-conditioned;
* with labels only, :func:`boundary_bracket` finds the decision boundary between two
  patients of opposite labels by line search (Lowd and Meek, 2005) and
  :func:`line_search_attack` fits a linear model to the labelled points the searches made;
* :func:`parameter_error` measures a stolen model against the victim in the victim's own
  standardised coordinates, where the weights are comparable.

Introduced in lab 04 (Model theft).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..validate import ArgumentTypeError, check_array, check_int, check_number, check_seed

__all__ = [
    "LineSearchResult",
    "StolenLinearModel",
    "boundary_bracket",
    "equation_solving_attack",
    "line_search_attack",
    "parameter_error",
    "solve_logistic",
    "victim_parameters",
]


class _LinearCopy:
    """What both stolen linear models share: their labels from ``w`` and ``b``."""

    w: np.ndarray
    b: float

    def predict(self, X) -> np.ndarray:
        """The stolen model's label (1 where ``w @ x + b >= 0``) for each row of ``X``."""
        X = check_array(X, "X", ndim=2, dtype=np.float64)
        return (X @ self.w + self.b >= 0).astype(np.int64)


@dataclass(frozen=True)
class StolenLinearModel(_LinearCopy):
    """A linear model stolen from probability answers: ``sigmoid(w @ x + b)`` on raw inputs.

    Introduced in lab 04 (Model theft).
    """

    w: np.ndarray
    """The stolen weights, one per raw feature."""
    b: float
    """The stolen intercept."""
    queries: int
    """The API queries the theft spent."""
    unusable: int
    """Answers that carried no equation (a probability rounded to exactly 0 or 1)."""


@dataclass(frozen=True)
class LineSearchResult(_LinearCopy):
    """A linear model stolen from labels only by line searches between opposite labels.

    Introduced in lab 04 (Model theft).
    """

    w: np.ndarray
    """The stolen weights on raw features (known only up to a positive scale)."""
    b: float
    """The stolen intercept (same scale as ``w``)."""
    queries: int
    """The API queries the theft spent (labels of the pool patients plus search steps)."""
    brackets: int
    """How many boundary brackets the line searches found."""


def solve_logistic(X, p) -> tuple[np.ndarray, float]:
    """The logistic model ``(w, b)`` that explains the probabilities ``p`` of class 1 that an
    API gave for the rows of ``X``: solves ``logit(p_i) = X_i @ w + b``.

    With exactly ``d + 1`` answers the system is square and solved exactly; with more, by
    least squares. Every ``p`` must lie strictly between 0 and 1 (an answer rounded to 0 or 1
    has no finite logit): otherwise ``ValueError``, as for fewer than ``d + 1`` answers.
    Introduced in lab 04 (Model theft).
    """
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    p = check_array(p, "p", ndim=1, dtype=np.float64)
    n, d = X.shape
    if len(p) != n:
        raise ValueError(f"p must hold one probability per row of X ({n}), got {len(p)}")
    if n < d + 1:
        raise ValueError(f"{d} features and an intercept need at least {d + 1} answers, got {n}")
    if (p <= 0).any() or (p >= 1).any():
        raise ValueError("every probability must lie strictly between 0 and 1: an answer of "
                         "exactly 0 or 1 (rounded, or a label) has no finite logit")
    A = np.column_stack([X, np.ones(n)])
    z = np.log(p) - np.log1p(-p)
    if n == d + 1:
        theta = np.linalg.solve(A, z)
    else:
        theta = np.linalg.lstsq(A, z, rcond=None)[0]
    return theta[:d], float(theta[d])


def victim_parameters(system) -> tuple[np.ndarray, float]:
    """The victim's true ``(w, b)`` on raw features (for measuring a theft, never for it):
    ``coef / scale`` and ``intercept - sum(coef * mean / scale)`` of the pipeline.

    Introduced in lab 04 (Model theft).
    """
    from ..evasion import linear_decision

    lin = linear_decision(system)
    return np.asarray(lin.w, dtype=np.float64), float(lin.b)


def _scaler(system):
    est = getattr(system, "estimator", system)
    steps = getattr(est, "steps", None)
    if not steps or not hasattr(steps[0][1], "scale_"):
        raise ArgumentTypeError("system must be a fitted scaled linear model such as "
                                "systems.DiagnosisModel()")
    return steps[0][1]


def parameter_error(system, w, b) -> float:
    """How far stolen raw-feature parameters ``(w, b)`` are from the victim's, measured in
    the victim's own standardised coordinates (where the weights are comparable):
    ``||theta_hat - theta|| / ||theta||`` with ``theta = (w * scale, b + w @ mean)``.

    Introduced in lab 04 (Model theft).
    """
    w_true, b_true = victim_parameters(system)
    w = check_array(w, "w", ndim=1, dtype=np.float64)
    b = check_number(b, "b")
    if w.shape != w_true.shape:
        raise ValueError(f"w must hold {len(w_true)} weights, got {len(w)}")
    scaler = _scaler(system)

    def standardised(w_, b_):
        return np.r_[w_ * scaler.scale_, b_ + w_ @ scaler.mean_]

    truth = standardised(w_true, b_true)
    return float(np.linalg.norm(standardised(w, b) - truth) / np.linalg.norm(truth))


def _proba_of_one(api: Callable, X: np.ndarray) -> np.ndarray:
    answers = np.asarray(api(X), dtype=np.float64)
    if answers.ndim != 2 or answers.shape != (len(X), 2):
        raise ValueError(f"the API must answer (n, 2) probabilities, got shape {answers.shape}")
    return answers[:, 1]


def _check_api(api) -> Callable:
    if not callable(api):
        raise ArgumentTypeError(f"api must be a callable prediction API (such as "
                                f"extraction.PredictionAPI), got {type(api).__name__}")
    return api


def equation_solving_attack(api, x0, scale, *, offsets=(1.0,)) -> StolenLinearModel:
    """Steal a logistic model on raw features from its probability answers (Tramer et al.,
    2016).

    ``x0`` is a base input (a typical patient) and ``scale`` each feature's step (its spread
    in data the thief holds: steps in raw units would make the equations as ill-conditioned
    as the features' scales are different). The queries are ``x0`` and ``x0 + o * scale_j *
    e_j`` for every feature ``j`` and every offset ``o`` in ``offsets``: with the default
    ``(1.0,)``, the ``d + 1`` queries of an exact solve; with more offsets (an attacker who
    knows the answers are rounded), ``len(offsets) * d + 1`` queries solved by least squares,
    where longer steps make the rounding a smaller share of each difference. Answers rounded
    to exactly 0 or 1 carry no equation and are dropped (counted in ``unusable``). Solved in
    the step coordinates ``(x - x0) / scale``, then mapped back to raw features. Returns a
    :class:`StolenLinearModel`.

    Introduced in lab 04 (Model theft).
    """
    api = _check_api(api)
    x0 = check_array(x0, "x0", ndim=1, dtype=np.float64)
    scale = check_array(scale, "scale", ndim=1, dtype=np.float64)
    d = len(x0)
    if scale.shape != x0.shape or (scale <= 0).any():
        raise ValueError(f"scale must hold one positive step per feature ({d})")
    offsets = check_array(offsets, "offsets", ndim=1, dtype=np.float64)
    if not len(offsets) or (offsets == 0).any() or len(np.unique(offsets)) < len(offsets):
        raise ValueError("offsets must be distinct non-zero multiples of the step")
    Z = np.vstack([np.zeros(d)] + [o * np.eye(d) for o in offsets])
    p = _proba_of_one(api, x0 + Z * scale)
    usable = (p > 0) & (p < 1)
    if usable.sum() < d + 1:
        raise ValueError(f"only {int(usable.sum())} answers lie strictly between 0 and 1; "
                         f"{d + 1} are needed (are the answers labels only?)")
    v, c = solve_logistic(Z[usable], p[usable])
    w = v / scale
    return StolenLinearModel(w=w, b=float(c - w @ x0), queries=len(Z),
                             unusable=int((~usable).sum()))


def boundary_bracket(label: Callable, x_neg, x_pos, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Line search for the decision boundary between ``x_neg`` (labelled 0) and ``x_pos``
    (labelled 1): ``steps`` times, query ``label`` (one input, answers 0 or 1) at the midpoint
    of the current bracket and replace the end whose label it shares. Returns the final
    bracket ``(lo, hi)``: ``lo`` labelled 0 and ``hi`` labelled 1, ``2 ** -steps`` of the
    segment apart. The ends' labels are known already and are not queried.

    Introduced in lab 04 (Model theft).
    """
    if not callable(label):
        raise ArgumentTypeError("label must be a function of one input that answers 0 or 1")
    lo = check_array(x_neg, "x_neg", ndim=1, dtype=np.float64).copy()
    hi = check_array(x_pos, "x_pos", ndim=1, dtype=np.float64).copy()
    if lo.shape != hi.shape:
        raise ValueError(f"x_neg and x_pos must have the same shape, got {lo.shape} and "
                         f"{hi.shape}")
    steps = check_int(steps, "steps", 0)
    for _ in range(steps):
        mid = (lo + hi) / 2
        if int(label(mid)) == 1:
            hi = mid
        else:
            lo = mid
    return lo, hi


def line_search_attack(api, X_pool, *, n_labels: int = 20, n_pairs: int = 12,
                       n_near: int = 40, n_pairs_near: int = 16, steps: int = 7,
                       seed: int = 0) -> LineSearchResult:
    """Steal a linear classifier from labels only, by line searches for its boundary (after
    Lowd and Meek, 2005), in two rounds.

    Round 1: query the labels of ``n_labels`` patients drawn from ``X_pool`` (``seed``); for
    the ``n_pairs`` closest pairs of opposite labels (in the pool's standardised units: short
    segments give tight brackets), run :func:`boundary_bracket` for ``steps`` queries each;
    fit a nearly unregularised logistic regression (standardised on the pool) to every
    labelled point so far. Round 2: query the labels of the ``n_near`` unlabelled pool
    patients closest to that boundary (where a copy is most likely wrong), bracket the
    ``n_pairs_near`` closest opposite pairs among them, and fit again. Queries: ``n_labels +
    n_near + (n_pairs + n_pairs_near) * steps``. Returns a :class:`LineSearchResult` (the
    weights are known only up to scale: a label carries no confidence).

    Introduced in lab 04 (Model theft).
    """
    from sklearn.linear_model import LogisticRegression

    api = _check_api(api)
    X_pool = check_array(X_pool, "X_pool", ndim=2, dtype=np.float64)
    n_labels = check_int(n_labels, "n_labels", 2, len(X_pool))
    n_near = check_int(n_near, "n_near", 0, len(X_pool) - n_labels)
    n_pairs = check_int(n_pairs, "n_pairs", 1)
    n_pairs_near = check_int(n_pairs_near, "n_pairs_near", 0)
    steps = check_int(steps, "steps", 1)
    gen = np.random.default_rng(check_seed(seed))
    mean, std = X_pool.mean(axis=0), X_pool.std(axis=0) + 1e-12
    spent = 0
    points: list[np.ndarray] = []
    labels: list[np.ndarray] = []

    def labels_of(X):
        nonlocal spent
        spent += len(X)
        return np.asarray(api(X)).argmax(axis=1)

    def bracket_closest(X_lab, y_lab, count):
        neg, pos = X_lab[y_lab == 0], X_lab[y_lab == 1]
        if len(neg) * len(pos) < count:
            raise ValueError(f"{len(X_lab)} labelled patients give {len(neg)} x {len(pos)} "
                             f"pairs of opposite labels, fewer than the {count} asked for: "
                             "label more")
        gap = (((neg[:, None, :] - pos[None, :, :]) / std) ** 2).sum(axis=2)
        order = np.argsort(gap, axis=None, kind="stable")[:count]
        for i, j in zip(*np.unravel_index(order, gap.shape), strict=True):
            lo, hi = boundary_bracket(lambda x: labels_of(x[None, :])[0], neg[i], pos[j], steps)
            points.append(np.vstack([lo, hi]))
            labels.append(np.array([0, 1]))

    def fit():
        lr = LogisticRegression(C=1e4, max_iter=20000)
        return lr.fit((np.vstack(points) - mean) / std, np.concatenate(labels))

    first = gen.choice(len(X_pool), size=n_labels, replace=False)
    y_first = labels_of(X_pool[first])
    points.append(X_pool[first])
    labels.append(y_first)
    bracket_closest(X_pool[first], y_first, n_pairs)
    lr = fit()
    if n_near:
        rest = np.setdiff1d(np.arange(len(X_pool)), first)
        margin = np.abs(lr.decision_function((X_pool[rest] - mean) / std))
        near = rest[np.argsort(margin, kind="stable")[:n_near]]
        y_near = labels_of(X_pool[near])
        points.append(X_pool[near])
        labels.append(y_near)
        if n_pairs_near:
            bracket_closest(X_pool[near], y_near, n_pairs_near)
        lr = fit()
    w = lr.coef_[0] / std
    b = float(lr.intercept_[0] - w @ mean)
    return LineSearchResult(w=w, b=b, queries=spent, brackets=n_pairs + n_pairs_near)
