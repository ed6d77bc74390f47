"""Every argument check of the helper package, in one place, so every helper fails the same way.

A helper that receives a wrong shape, a negative budget, an unknown name or labels of the wrong
kind stops with one of these errors, worded the same everywhere, instead of computing something
silently wrong. Each check returns the cleaned value (a float, an int, an array of the right
dtype), so a helper writes ``eps = check_eps(eps)`` and goes on.

Type errors are :class:`ArgumentTypeError` (both a ``TypeError`` and a ``ValueError``), so a
caller that catches either sees them; value errors are ``ValueError``.

Introduced in lab 00 (Meet the five systems); every later lab's module uses it.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable
from pathlib import Path

import numpy as np

__all__ = [
    "ArgumentTypeError",
    "NotFittedError",
    "PathNotFoundError",
    "check_array",
    "check_choice",
    "check_eps",
    "check_fitted",
    "check_fraction",
    "check_frame",
    "check_images",
    "check_int",
    "check_labels",
    "check_membership",
    "check_number",
    "check_pairs",
    "check_path",
    "check_positive",
    "check_proba",
    "check_ratings",
    "check_seed",
    "check_str",
    "check_texts",
    "check_vector",
    "unknown_name",
]


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type. It is both a ``TypeError`` and a ``ValueError``, so callers
    that catch either see it.

    Introduced in lab 00 (Meet the five systems).
    """


class NotFittedError(RuntimeError, ValueError):
    """A course system used before ``fit``. Both a ``RuntimeError`` and a ``ValueError``.

    Introduced in lab 00 (Meet the five systems).
    """


class PathNotFoundError(FileNotFoundError, ValueError):
    """A path that must exist (a file or a folder) does not. It is both a ``FileNotFoundError``
    and a ``ValueError``, so callers that catch either see it.

    Introduced in lab 11 (Supply chain).
    """


# --- names --------------------------------------------------------------------------------------


def unknown_name(value: object, choices: Iterable, what: str) -> ValueError:
    """The course's error for a name that is not one of ``choices``: it lists the known names
    and suggests the closest ones (``unknown domain 'imgae'; did you mean 'image'? ...``).

    Returned, not raised, so the caller writes ``raise unknown_name(...)``.

    Introduced in lab 00 (Meet the five systems).
    """
    known = list(dict.fromkeys(str(c) for c in choices))
    close = difflib.get_close_matches(str(value), known, n=2, cutoff=0.6)
    if not close and isinstance(value, str):
        close = difflib.get_close_matches(value.upper(), known, n=2, cutoff=0.75)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    shown = ", ".join(known[:12]) + (f", ... ({len(known)} in all)" if len(known) > 12 else "")
    return ValueError(f"unknown {what} {value!r}{hint}; known: {shown}")


def check_choice(value: object, choices: Iterable, what: str) -> object:
    """``value`` if it is one of ``choices``, else :func:`unknown_name`'s error.

    Introduced in lab 00 (Meet the five systems).
    """
    choices = list(choices)
    try:
        if value in choices:
            return value
    except TypeError:  # an unhashable or incomparable value is not a choice either
        pass
    raise unknown_name(value, choices, what)


# --- numbers ------------------------------------------------------------------------------------


def check_int(value: object, name: str, minimum: int | None = 1,
              maximum: int | None = None) -> int:
    """``value`` as an int, checked to be an integer (not a bool) in [minimum, maximum].

    Introduced in lab 00 (Meet the five systems).
    """
    bounds = (f">= {minimum}" if minimum is not None else "") + (
        f"{', ' if minimum is not None else ''}<= {maximum}" if maximum is not None else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(
            f"{name} must be an int{f' ({bounds})' if bounds else ''}, got "
            f"{type(value).__name__} {value!r}"
        )
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {bounds}, got {value}")
    return int(value)


def check_seed(seed: object) -> int:
    """A seed: an int >= 0.

    Introduced in lab 00 (Meet the five systems).
    """
    return check_int(seed, "seed", minimum=0)


def check_number(value: object, name: str, *, low: float | None = None,
                 high: float | None = None, low_open: bool = False,
                 high_open: bool = False) -> float:
    """``value`` as a finite float in the interval given by ``low``/``high`` (closed unless
    ``low_open``/``high_open``).

    Introduced in lab 00 (Meet the five systems).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        if low is not None and high is not None:
            where = f"lie in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        elif low is not None:
            where = f"be {'>' if low_open else '>='} {low:g}"
        else:
            where = f"be {'<' if high_open else '<='} {high:g}"
        raise ValueError(f"{name} must {where}, got {value:g}")
    return value


def check_eps(eps: object, name: str = "eps") -> float:
    """A perturbation budget: a finite number >= 0. (A privacy budget is ``epsilon``.)

    Introduced in lab 02 (Evasion).
    """
    return check_number(eps, name, low=0.0)


def check_positive(value: object, name: str) -> float:
    """A finite number > 0.

    Introduced in lab 00 (Meet the five systems).
    """
    return check_number(value, name, low=0.0, low_open=True)


def check_fraction(value: object, name: str, *, allow_zero: bool = True) -> float:
    """A share in [0, 1] (or (0, 1] without ``allow_zero``).

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    return check_number(value, name, low=0.0, high=1.0, low_open=not allow_zero)


# --- arrays -------------------------------------------------------------------------------------


def _numpy(X):
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return X
    return X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else X


def check_array(X: object, name: str = "X", *, ndim: int | None = None,
                dtype=np.float32, finite: bool = True) -> np.ndarray:
    """``X`` (array-like or tensor) as a NumPy array of ``dtype`` with ``ndim`` dimensions,
    finite unless ``finite=False``.

    Introduced in lab 00 (Meet the five systems).
    """
    try:
        arr = np.asarray(_numpy(X), dtype=dtype)
    except (TypeError, ValueError) as err:
        raise ArgumentTypeError(f"{name} must be a numeric array: {err}") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if finite and arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def check_vector(X: object, name: str, dtype=np.float64) -> np.ndarray:
    """A 1-D numeric array without NaN.

    Introduced in lab 05 (Membership inference).
    """
    try:
        arr = np.asarray(_numpy(X), dtype=dtype)
    except (TypeError, ValueError):
        raise ArgumentTypeError(
            f"{name} must be a 1-D numeric array, got {type(X).__name__}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    return arr


def check_images(X: object, name: str = "X", *, pixel_range: bool = True,
                 min_side: int = 1) -> np.ndarray:
    """A batch of grey images (n, 1, H, W) as float32; pixels in [0, 1] when ``pixel_range``;
    each side at least ``min_side`` pixels.

    Introduced in lab 02 (Evasion).
    """
    X = check_array(X, name, dtype=np.float32, finite=True)
    if X.ndim != 4 or X.shape[1] != 1:
        raise ValueError(f"{name} must be a batch of grey images (n, 1, H, W), got shape "
                         f"{X.shape}")
    if X.shape[2] < min_side or X.shape[3] < min_side:
        raise ValueError(f"{name} images must be at least {min_side}x{min_side} pixels, got "
                         f"{X.shape}")
    if pixel_range and X.size and (X.min() < 0 or X.max() > 1):
        raise ValueError(f"{name}: pixels must lie in [0, 1]; divide raw 0-255 pixels by 255")
    return X


def check_labels(y: object, n: int | None = None, name: str = "y", *,
                 n_classes: int | None = None) -> np.ndarray:
    """Integer class labels as int64: 1-D, ``n`` of them (one per row) when ``n`` is given,
    in 0..n_classes-1 when ``n_classes`` is given. Floats holding whole numbers are accepted.

    Introduced in lab 00 (Meet the five systems).
    """
    y = np.asarray(_numpy(y))
    if y.ndim != 1 or (n is not None and len(y) != n):
        want = f" with {n} labels (one per row)" if n is not None else ""
        raise ValueError(f"{name} must be 1-D{want}, got shape {y.shape}")
    if y.dtype == bool:
        y = y.astype(np.int64)
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise ArgumentTypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    if n_classes is not None and len(y) and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{name}: labels must lie in 0..{n_classes - 1}, got "
                         f"{y.min()}..{y.max()}")
    return y.astype(np.int64)


def check_membership(y_true: object, n: int | None = None, name: str = "y_true") -> np.ndarray:
    """Membership labels as booleans (1/True = member), with both members and non-members.

    Introduced in lab 05 (Membership inference).
    """
    y = np.asarray(_numpy(y_true))
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (1 = member, 0 = non-member), got shape {y.shape}")
    if n is not None and len(y) != n:
        raise ValueError(f"{name} has {len(y)} entries but the scores have {n}")
    if y.dtype != bool:
        if not np.isin(y, (0, 1)).all():
            raise ValueError(f"{name} must hold 0/1 or booleans (1 = member)")
        y = y.astype(bool)
    if y.all() or not y.any():
        raise ValueError(f"{name} must contain both members (1) and non-members (0)")
    return y


def check_proba(proba: object, labels: object) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities (n, n_classes >= 2) and one integer label per row, checked together.

    Introduced in lab 05 (Membership inference).
    """
    p = check_array(proba, "proba", dtype=np.float64, finite=False)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"proba must be (n, n_classes) with n_classes >= 2, got shape {p.shape}")
    if np.isnan(p).any() or p.min(initial=0) < 0 or p.max(initial=0) > 1 + 1e-6:
        raise ValueError("proba must hold probabilities in [0, 1] (use softmax on logits)")
    y = check_labels(labels, len(p), "labels", n_classes=p.shape[1])
    return p, y


def check_pairs(X: object, n_users: int, n_items: int, name: str = "X") -> np.ndarray:
    """(user, item) index pairs: an (n, 2) integer array within the given sizes.

    Introduced in lab 00 (Meet the five systems).
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != 2 or not np.issubdtype(X.dtype, np.integer):
        raise ValueError(f"{name} must be an (n, 2) integer array of (user, item), got shape "
                         f"{X.shape}")
    check_int(n_users, "n_users")
    check_int(n_items, "n_items")
    if len(X) and (X[:, 0].min() < 0 or X[:, 0].max() >= n_users):
        raise ValueError(f"user indices must lie in 0..{n_users - 1}")
    if len(X) and (X[:, 1].min() < 0 or X[:, 1].max() >= n_items):
        raise ValueError(f"item indices must lie in 0..{n_items - 1}")
    return X.astype(np.int64)


def check_ratings(X: object, y: object, n_users: int, n_items: int,
                  dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """(user, item) pairs (see :func:`check_pairs`) and one numeric rating per pair.

    Introduced in lab 02 (Evasion).
    """
    X = check_pairs(X, n_users, n_items)
    y = check_array(y, "y", ndim=1, dtype=dtype)
    if len(y) != len(X):
        raise ValueError(f"y must hold one rating per row of X ({len(X)}), got {len(y)}")
    return X, y


def check_frame(frame: object, columns, name: str = "frame"):
    """A pandas DataFrame that has every one of ``columns``.

    Introduced in lab 02 (Evasion).
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise ArgumentTypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks the columns {missing}")
    return frame


def check_str(value: object, name: str) -> str:
    """One string (a list of strings is :func:`check_texts`).

    Introduced in lab 02 (Evasion).
    """
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{name} must be a string, got {type(value).__name__}")
    return value


def check_texts(texts: object, name: str = "texts") -> list[str]:
    """A list of strings (a single string is refused: wrap it in a list).

    Introduced in lab 02 (Evasion).
    """
    if isinstance(texts, str):
        raise ArgumentTypeError(f"{name} must be a list of strings, not one string: wrap it "
                                "in [ ]")
    try:
        out = list(texts)  # type: ignore[arg-type]
    except TypeError:
        raise ArgumentTypeError(
            f"{name} must be a list of strings, got {type(texts).__name__}") from None
    if not all(isinstance(t, str) for t in out):
        raise ArgumentTypeError(f"{name} must hold strings only")
    return out


# --- models -------------------------------------------------------------------------------------


def check_fitted(system: object, name: str = "system") -> object:
    """A fitted course system (see :mod:`mlsec_helpers.systems`): ``fit`` was called.

    Introduced in lab 00 (Meet the five systems).
    """
    if not getattr(system, "fitted_", False):
        raise NotFittedError(f"{name} ({type(system).__name__}) is not fitted yet: call "
                             "fit(X, y) first")
    return system


def check_path(value: object, name: str = "path", *, kind: str | None = None) -> Path:
    """``value`` (a ``str`` or ``os.PathLike``) as an absolute :class:`pathlib.Path` (``~``
    expanded, resolved). ``kind``: ``None`` (it may not exist yet), ``"exists"``, ``"file"`` or
    ``"dir"``; a path that is not what ``kind`` asks for raises :class:`PathNotFoundError`.

    Introduced in lab 11 (Supply chain).
    """
    import os

    if isinstance(value, bool) or not isinstance(value, str | os.PathLike):
        raise ArgumentTypeError(f"{name} must be a str or a pathlib.Path, got "
                                f"{type(value).__name__}")
    check_choice(kind, (None, "exists", "file", "dir"), "kind")
    path = Path(value).expanduser().resolve()
    if kind == "exists" and not path.exists():
        raise PathNotFoundError(f"{name} {path} does not exist")
    if kind == "file" and not path.is_file():
        raise PathNotFoundError(f"{name} {path} does not exist or is not a file")
    if kind == "dir" and not path.is_dir():
        raise PathNotFoundError(f"{name} {path} does not exist or is not a folder (an existing "
                                "folder is needed)")
    return path
