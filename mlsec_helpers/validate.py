"""Argument checks shared by the helper modules: a clear error instead of a silent wrong result."""

from __future__ import annotations

import numbers


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type. It is both a ``TypeError`` and a ``ValueError``, so callers
    that catch either see it.

    Introduced in lab 02 (Evasion); shared by the later labs' modules.
    """


def check_int(value: object, name: str, minimum: int = 1) -> int:
    """``value`` as an int, checked to be an integer (not a bool) and at least ``minimum``.

    Introduced in lab 02 (Evasion); shared by the later labs' modules.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(
            f"{name} must be an int (>= {minimum}), got {type(value).__name__} {value!r}"
        )
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)
