"""What every domain of lab 04 shares: the victim behind a prediction API that counts, logs and
hardens its answers, the fidelity of a stolen model, and a query-stream detector.

Introduced in lab 04 (Model theft).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..stats import Rate, proportion
from ..validate import ArgumentTypeError, check_array, check_choice, check_int, check_number

__all__ = [
    "OUTPUTS",
    "PredictionAPI",
    "QueryBudgetExceeded",
    "answer_labels",
    "fidelity",
    "harden",
    "one_hot_labels",
    "prada_statistic",
]

OUTPUTS: tuple[str, ...] = ("proba", "labels", "rounded", "reverse_sigmoid")
"""What a :class:`PredictionAPI` may answer: the probabilities as they are, the top-1 label
only (as a one-hot row), probabilities rounded to ``decimals``, or probabilities passed through
the reverse sigmoid of Lee et al. (2019), which keeps the top-1 label and garbles the rest.
Introduced in lab 04 (Model theft)."""


def _check_probabilities(proba) -> np.ndarray:
    p = check_array(proba, "proba", dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2 or not len(p):
        raise ValueError(f"proba must be (n, n_classes) with n >= 1 and n_classes >= 2, got "
                         f"shape {p.shape}")
    if p.min() < 0 or p.max() > 1 + 1e-6:
        raise ValueError("proba must hold probabilities in [0, 1] (use softmax on logits)")
    return p


class QueryBudgetExceeded(RuntimeError):
    """A query would take a :class:`PredictionAPI` past its ``max_queries``.

    Introduced in lab 04 (Model theft).
    """


def one_hot_labels(proba) -> np.ndarray:
    """The top-1 label of each row of ``proba`` as a one-hot row (ties: the lowest index).

    Written here, not taken from adversarial-robustness-toolbox: in 1.20.1 its
    ``ClassLabels`` postprocessor marks every class that is the top-1 of *any* row of the
    batch, so a batch of answers comes back nearly all ones. The failing call::

        from art.defences.postprocessor import ClassLabels
        ClassLabels()(np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]))
        # -> [[1, 0, 1], [1, 0, 1]]  (should be [[1, 0, 0], [0, 0, 1]])

    A "labels only" defence built on it looks perfect against a thief (the answers carry no
    label at all), and a correct one has no effect on a thief who only needs labels.
    Introduced in lab 04 (Model theft).
    """
    proba = _check_probabilities(proba)
    out = np.zeros_like(proba, dtype=np.float64)
    out[np.arange(len(proba)), proba.argmax(axis=1)] = 1.0
    return out


def harden(proba, output: str = "proba", *, decimals: int = 2, beta: float = 1.0,
           gamma: float = 0.1) -> np.ndarray:
    """The answer a :class:`PredictionAPI` gives for the victim's probabilities ``proba``.

    ``output`` is one of :data:`OUTPUTS`. Rounding and the reverse sigmoid are
    adversarial-robustness-toolbox's ``Rounded`` and ``ReverseSigmoid`` postprocessors;
    labels only is :func:`one_hot_labels` (ART's ``ClassLabels`` is wrong in 1.20.1).
    Introduced in lab 04 (Model theft).
    """
    output = check_choice(output, OUTPUTS, "output")
    proba = _check_probabilities(proba)
    if output == "proba":
        return proba.astype(np.float64, copy=True)
    if output == "labels":
        return one_hot_labels(proba)
    if output == "rounded":
        from art.defences.postprocessor import Rounded

        return np.asarray(Rounded(decimals=check_int(decimals, "decimals", 0))(proba),
                          dtype=np.float64)
    from art.defences.postprocessor import ReverseSigmoid

    beta = check_number(beta, "beta", low=0.0, low_open=True)
    gamma = check_number(gamma, "gamma", low=0.0, low_open=True)
    return np.asarray(ReverseSigmoid(beta=beta, gamma=gamma)(proba), dtype=np.float64)


def answer_labels(answers) -> np.ndarray:
    """The label each answer row names: its argmax (ties: the lowest index).

    Introduced in lab 04 (Model theft).
    """
    answers = np.asarray(answers, dtype=np.float64)
    if answers.ndim != 2 or not len(answers):
        raise ValueError(f"answers must be a non-empty (n, n_classes) array, got shape "
                         f"{answers.shape}")
    return answers.argmax(axis=1)


class PredictionAPI:
    """A victim model behind a prediction API: ``api(X)`` answers one row per input.

    ``predict_proba`` is the victim's own probability function (the thief never sees it);
    ``output`` says what the API gives back (:data:`OUTPUTS`, through :func:`harden`). Every
    input row is one query: ``queries`` counts them, ``max_queries`` (if given) refuses a call
    that would go past it with :class:`QueryBudgetExceeded` (answering nothing), and with
    ``log=True`` the API keeps every query in order (``query_log()``), as a provider's
    monitoring would. ``X`` may be an array (one row per input) or a list of texts.

    Introduced in lab 04 (Model theft).
    """

    def __init__(self, predict_proba: Callable, *, output: str = "proba", decimals: int = 2,
                 beta: float = 1.0, gamma: float = 0.1, max_queries: int | None = None,
                 log: bool = False):
        if not callable(predict_proba):
            raise ArgumentTypeError("predict_proba must be the victim's probability function, "
                                    f"got {type(predict_proba).__name__}")
        self.output = check_choice(output, OUTPUTS, "output")
        self.decimals = check_int(decimals, "decimals", 0)
        self.beta = check_number(beta, "beta", low=0.0, low_open=True)
        self.gamma = check_number(gamma, "gamma", low=0.0, low_open=True)
        self.max_queries = None if max_queries is None else check_int(max_queries,
                                                                       "max_queries", 0)
        self._predict_proba = predict_proba
        self._log_on = bool(log)
        self._log: list = []
        self.queries = 0

    def __call__(self, X) -> np.ndarray:
        n = len(X)
        if n == 0:
            raise ValueError("a query needs at least one input")
        if self.max_queries is not None and self.queries + n > self.max_queries:
            raise QueryBudgetExceeded(
                f"this API allows {self.max_queries} queries; {self.queries} are spent and "
                f"this call asks for {n} more")
        proba = np.asarray(self._predict_proba(X))
        if proba.ndim != 2 or len(proba) != n:
            raise ValueError(f"the victim must answer (n, n_classes) with n = {n}, got shape "
                             f"{proba.shape}")
        self.queries += n
        if self._log_on:
            self._log.append(list(X) if isinstance(X, list | tuple) else np.array(X, copy=True))
        return harden(proba, self.output, decimals=self.decimals, beta=self.beta,
                      gamma=self.gamma)

    def query_log(self):
        """Every query so far, in order (an array, or a list for texts)."""
        if not self._log_on:
            raise RuntimeError("this API keeps no log: create it with log=True")
        if not self._log:
            return []
        if isinstance(self._log[0], list):
            return [x for batch in self._log for x in batch]
        return np.concatenate(self._log)

    def reset(self) -> None:
        """Forget the queries spent and the log (a new thief, the same victim)."""
        self.queries = 0
        self._log = []

    def __repr__(self):
        budget = "" if self.max_queries is None else f", max_queries={self.max_queries}"
        return f"PredictionAPI(output={self.output!r}{budget}; {self.queries} queries so far)"


def fidelity(stolen_labels, victim_labels, *, on: str = "") -> Rate:
    """Fidelity of a stolen model: the share of inputs on which its label agrees with the
    victim's, as a :class:`~mlsec_helpers.stats.Rate` with its Wilson interval.

    Fidelity, not accuracy, is what a thief who wants a copy is after (Jagielski et al.,
    2020): a stolen model that makes the victim's mistakes is a faithful copy.
    Introduced in lab 04 (Model theft).
    """
    a, b = np.asarray(stolen_labels), np.asarray(victim_labels)
    if a.ndim != 1 or a.shape != b.shape or not len(a):
        raise ValueError(f"stolen_labels and victim_labels must be 1-D and of the same, "
                         f"non-zero length, got shapes {a.shape} and {b.shape}")
    return proportion(int((a == b).sum()), len(a), on=on)


def prada_statistic(distances) -> float:
    """The statistic of the PRADA detector (Juuti et al., 2019): Shapiro-Wilk's W of the
    distances from each new query to the nearest earlier query of the same class.

    Natural queries give distances that look normally distributed (W near 1); synthetic
    queries made by small steps from earlier ones give many tiny distances and a few large
    ones (W well below 1). The detector raises an alarm when W falls below a threshold set on
    benign streams. Needs at least 3 distances. Introduced in lab 04 (Model theft).
    """
    from scipy.stats import shapiro

    d = np.asarray(distances, dtype=np.float64)
    if d.ndim != 1 or len(d) < 3:
        raise ValueError(f"distances must be 1-D with at least 3 values, got shape {d.shape}")
    if not np.isfinite(d).all() or (d < 0).any():
        raise ValueError("distances must be finite and non-negative")
    if np.ptp(d) == 0:
        return 0.0  # all equal: as far from a bell curve as it gets
    return float(shapiro(d).statistic)
