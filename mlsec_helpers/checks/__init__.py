"""The exercises of each lab: reference implementations, test cases and known mistakes.

One module per lab (``lab00``, ...); the mechanism lives in :mod:`mlsec_helpers.exercises`.
"""

__all__: list[str] = []  # the labs import the modules: checks.lab00, checks.lab01, ...
