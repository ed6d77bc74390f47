"""What several domains of lab 02 share: measuring a classifier, querying a system as a black
box, and the progress bar of the long-running attacks.

Introduced in lab 02 (Evasion).
"""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from ..validate import ArgumentTypeError, check_fitted, check_labels

__all__ = ["accuracy", "progress_bar", "query_proba"]


def query_proba(system, X, *, n: int | None = None) -> np.ndarray:
    """The black-box query of a course system: its class probabilities for ``X`` (checked to
    be one row per input, ``n`` rows when given), and nothing else of the model.

    A building block of the black-box attacks (the greedy text attack, the fraud attacks).
    Introduced in lab 02 (Evasion).
    """
    check_fitted(system)
    predict_proba = getattr(system, "predict_proba", None)
    if not callable(predict_proba):
        raise ArgumentTypeError(f"system must be a course classifier with predict_proba, got "
                                f"{type(system).__name__}")
    proba = np.asarray(predict_proba(X))
    want = len(X) if n is None else n
    if proba.ndim != 2 or len(proba) != want:
        raise ValueError(f"system.predict_proba must return (n, n_classes) with n = {want}, "
                         f"got shape {proba.shape}")
    return proba


def accuracy(system, X, y) -> float:
    """Accuracy of a course classifier (``DigitsCNN``, ``SklearnSystem``, ``TabularMLP``) on
    ``(X, y)``: the share of inputs whose most probable class is the label.

    Introduced in lab 02 (Evasion).
    """
    proba = query_proba(system, X)
    y = check_labels(y, len(proba))
    return float((proba.argmax(1) == y).mean())


def progress_bar(progress: bool | str, default: str, **kwargs) -> tqdm:
    """A ``tqdm`` bar labelled ``progress`` (a string) or ``default`` (``progress=True``),
    hidden when ``progress`` is False; ``kwargs`` go to ``tqdm`` (``total``, an iterable).

    Introduced in lab 02 (Evasion).
    """
    return tqdm(desc=progress if isinstance(progress, str) else default,
                disable=not progress, leave=False, **kwargs)
