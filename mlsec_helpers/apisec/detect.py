"""A global extraction detector for the prediction API: the share of recent queries, over every
key, that sit near the model's decision boundary.

Per-key rate limits see one key at a time; a thief who spreads its queries over several keys
and slows each one down stays under all of them (section 5 of lab 12). What the thief cannot
hide is *where* its queries fall: a line search for the boundary (Lowd and Meek, 2005; lab 04)
spends most of its queries within a hair of the boundary, where honest patients are rare. The
provider knows its own model, so it can score every query's distance to the boundary and watch
the share of near-boundary queries among the last ``window`` queries of **all** keys together:

* :func:`near_boundary` flags the queries whose decision value lies within ``margin`` of 0;
* :func:`rolling_counts` counts the flags in a sliding window, :func:`day_alarms` says which
  honest days (streams of queries) would ring an alarm at a given threshold;
* :func:`calibrate_boundary_detector` sets the threshold on honest patients for a stated
  false-alarm rate per day, pessimistically (from the upper end of the interval of the honest
  near-boundary share, because a few hundred patients estimate it only roughly);
* :class:`BoundaryShareDetector` is the detector itself, with the call that
  ``common.build_app(..., detector=...)`` makes for every prediction: at an alarm it blocks the
  keys whose own recent queries are mostly near the boundary (or, in shadow mode, only names
  them).

This is written by hand: no maintained library monitors a model API's query stream for
extraction (PRADA, Juuti et al. 2019, is a paper with research code; lab 04's
``extraction.prada_statistic`` reimplements its statistic).

Introduced in lab 12 (API security).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..stats import Rate, proportion
from ..validate import (
    ArgumentTypeError,
    check_array,
    check_fraction,
    check_int,
    check_positive,
    check_seed,
)

__all__ = [
    "BoundaryCalibration",
    "BoundaryShareDetector",
    "calibrate_boundary_detector",
    "day_alarms",
    "near_boundary",
    "rolling_counts",
]


def _check_decision(decision) -> Callable:
    if not callable(decision):
        raise ArgumentTypeError("decision must be a function of an (n, d) array that answers "
                                f"n decision values (0 on the boundary), got "
                                f"{type(decision).__name__}")
    return decision


def near_boundary(decision: Callable, X, margin: float) -> np.ndarray:
    """Which rows of ``X`` lie near the decision boundary: ``|decision(X)| < margin``.

    ``decision`` is the provider's own decision function (for the diagnosis model, its logit:
    ``log(p / (1 - p))``, so ``margin = 1`` means a probability between 0.27 and 0.73).
    Returns a boolean array, one flag per row. Introduced in lab 12 (API security).
    """
    decision = _check_decision(decision)
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    margin = check_positive(margin, "margin")
    values = np.asarray(decision(X), dtype=np.float64).reshape(-1)
    if values.shape != (len(X),):
        raise ValueError(f"decision must answer one value per row ({len(X)}), got shape "
                         f"{values.shape}")
    if not np.isfinite(values).all():
        raise ValueError("decision answered NaN or infinite values")
    return np.abs(values) < margin


def _check_flags(flags, name: str = "flags") -> np.ndarray:
    arr = np.asarray(flags)
    if arr.dtype != bool:
        if arr.dtype.kind not in "iu" or (arr.size and (arr.min() < 0 or arr.max() > 1)):
            raise ValueError(f"{name} must hold booleans (or 0/1), got dtype {arr.dtype}")
        arr = arr.astype(bool)
    if arr.ndim not in (1, 2) or arr.shape[-1] == 0:
        raise ValueError(f"{name} must be a non-empty 1-D stream or a 2-D array of streams "
                         f"(one per row), got shape {arr.shape}")
    return arr


def rolling_counts(flags, window: int) -> np.ndarray:
    """For every position of a stream of flags, how many of the last ``window`` flags (that
    position included) are set; before the stream holds ``window`` queries, the count so far.

    ``flags`` is one stream (1-D) or several (2-D, one per row; counted along each row).
    Introduced in lab 12 (API security).
    """
    arr = _check_flags(flags).astype(np.int64)
    window = check_int(window, "window", 1)
    total = np.cumsum(arr, axis=-1)
    counts = total.copy()
    counts[..., window:] -= total[..., :-window]
    return counts


def day_alarms(flags, window: int, threshold: int) -> np.ndarray:
    """Which streams (rows of ``flags``, e.g. one honest day of queries each) ring the alarm at
    least once: a rolling count of near-boundary flags reaching ``threshold``.

    Returns one boolean per stream (a 1-D ``flags`` is one stream).
    Introduced in lab 12 (API security).
    """
    threshold = check_int(threshold, "threshold", 1)
    counts = rolling_counts(flags, window)
    return np.atleast_1d((counts >= threshold).any(axis=-1))


@dataclass(frozen=True)
class BoundaryCalibration:
    """A threshold for :class:`BoundaryShareDetector`, set on honest traffic.

    Introduced in lab 12 (API security).
    """

    threshold: int
    """The alarm rings when this many of the last ``window`` queries lie near the boundary."""
    window: int
    """How many recent queries (all keys together) the detector looks at."""
    margin: float
    """Near the boundary: ``|decision| < margin``."""
    target_rate: float
    """The stated false-alarm rate: the share of honest days allowed to ring an alarm."""
    day_length: int
    """Queries in one honest day (all clinicians together)."""
    honest_share: Rate
    """The near-boundary share of the honest calibration patients, with its interval."""
    simulated_rate: float
    """The share of simulated honest days (at the upper end of ``honest_share``) that ring
    at ``threshold``: at most ``target_rate``."""


def calibrate_boundary_detector(flags, *, margin: float, window: int = 100,
                                day_length: int = 720, false_alarm_rate: float = 0.01,
                                n_days: int = 400, seed: int = 0) -> BoundaryCalibration:
    """Set the detector's threshold on honest patients for a stated false-alarm rate per day.

    ``flags`` says which honest calibration patients lie near the boundary
    (:func:`near_boundary` with the same ``margin``). A few hundred patients estimate the
    honest near-boundary share only roughly, so the threshold is set pessimistically: ``n_days``
    days of ``day_length`` queries are simulated with each query near the boundary with the
    probability at the **upper** end of the share's 95% Wilson interval, and the threshold is
    the smallest count that at most ``false_alarm_rate`` of those days reach within any window
    of ``window`` queries. Check it on held-out honest traffic (:func:`day_alarms`).
    Introduced in lab 12 (API security).
    """
    flags = _check_flags(flags)
    if flags.ndim != 1:
        raise ValueError(f"flags must be 1-D, one per honest patient, got shape {flags.shape}")
    margin = check_positive(margin, "margin")
    window = check_int(window, "window", 1)
    day_length = check_int(day_length, "day_length", window)
    rate = check_fraction(false_alarm_rate, "false_alarm_rate", allow_zero=False)
    n_days = check_int(n_days, "n_days", 10)
    share = proportion(int(flags.sum()), len(flags), on=f"{len(flags)} honest patients")
    gen = np.random.default_rng(check_seed(seed))
    days = gen.random((n_days, day_length)) < share.high
    peaks = rolling_counts(days, window).max(axis=1)
    threshold = 1
    while (peaks >= threshold).mean() > rate:
        threshold += 1
    return BoundaryCalibration(threshold=threshold, window=window, margin=margin,
                               target_rate=rate, day_length=day_length, honest_share=share,
                               simulated_rate=float((peaks >= threshold).mean()))


class BoundaryShareDetector:
    """The global detector: watches the last ``window`` queries of every key together and rings
    when ``threshold`` of them lie near the decision boundary (``|decision| < margin``).

    At an alarm it blocks the suspects: every key that sent at least ``min_hits`` near-boundary
    queries among the last ``history`` queries (all keys), and for which they are at least
    ``min_share`` of its queries there (a slow key's evidence builds up over a longer stretch
    than the window; an honest key's near-boundary queries are a small share of its own). A
    blocked key is refused from then on (the ``build_app`` hook answers 429) until
    :meth:`clear`. Queries from a blocked key are not added to the window (their sender learns
    nothing). An alarm in which no key is a suspect
    is recorded but blocks no one: a thief spread over enough keys is seen, not stopped.

    With ``enforce=False`` (shadow mode, how a detector is tried before it is trusted) it
    records alarms and suspects but refuses nothing; set ``enforce`` to True to switch it on.
    Call it as the app's hook, ``detector(principal, system, features) -> bool`` (True:
    refuse, as ``common.build_app`` expects), or directly with :meth:`observe`. Only queries to
    ``systems`` are watched (None: all). ``clock`` (optional) timestamps the first alarm.
    After queries: ``first_alarm`` (queries observed when the first alarm rang, None before),
    ``first_alarm_time``, ``alarms`` (queries at which the count stood at or above the
    threshold), ``blocked`` (the key ids flagged at any alarm: refused while ``enforce`` is on),
    ``first_suspects`` (those flagged at the first alarm).

    Introduced in lab 12 (API security).
    """

    def __init__(self, decision: Callable, *, margin: float, window: int, threshold: int,
                 min_hits: int = 2, min_share: float = 0.5, history: int = 1000,
                 systems: tuple[str, ...] | None = ("medical",),
                 clock: Callable[[], float] | None = None, enforce: bool = True):
        self.decision = _check_decision(decision)
        self.margin = check_positive(margin, "margin")
        self.window = check_int(window, "window", 1)
        self.threshold = check_int(threshold, "threshold", 1, self.window)
        self.min_hits = check_int(min_hits, "min_hits", 1)
        self.min_share = check_fraction(min_share, "min_share")
        self.history = check_int(history, "history", self.window)
        if systems is not None:
            if isinstance(systems, str) or not all(isinstance(s, str) for s in systems):
                raise ArgumentTypeError("systems must be a tuple of system names or None")
            systems = tuple(systems)
        self.systems = systems
        if clock is not None and not callable(clock):
            raise ArgumentTypeError("clock must be a function answering the time in seconds")
        self.clock = clock
        self.enforce = bool(enforce)
        self.reset()

    @classmethod
    def from_calibration(cls, decision: Callable, calibration: BoundaryCalibration,
                         **kwargs) -> BoundaryShareDetector:
        """A detector with the margin, window and threshold of ``calibration``.

        Introduced in lab 12 (API security).
        """
        if not isinstance(calibration, BoundaryCalibration):
            raise ArgumentTypeError("calibration must be a BoundaryCalibration, got "
                                    f"{type(calibration).__name__}")
        return cls(decision, margin=calibration.margin, window=calibration.window,
                   threshold=calibration.threshold, **kwargs)

    def reset(self) -> None:
        """Forget every query, alarm and block (a fresh detector, the same settings)."""
        self._recent: deque = deque()
        self._past: deque = deque()
        self._past_near: Counter = Counter()
        self._past_total: Counter = Counter()
        self._count = 0
        self.blocked: set[str] = set()
        self.first_alarm: int | None = None
        self.first_alarm_time: float | None = None
        self.first_suspects: frozenset[str] = frozenset()
        self.alarms = 0
        self._rows: list[tuple] = []

    def clear(self) -> None:
        """Lift every block and empty the window (an operator who has looked at the suspects
        and cleared them: the evidence that raised the alarm is not counted twice)."""
        self.blocked = set()
        self._recent.clear()
        self._count = 0
        self._past.clear()
        self._past_near.clear()
        self._past_total.clear()

    @property
    def seen(self) -> int:
        """Queries observed so far (refused ones included)."""
        return len(self._rows)

    def observe(self, key_id: str, features) -> bool:
        """Observe one query (``features``: one input, or a 2-D batch) from ``key_id``; True to
        refuse it (its key is blocked), False to serve it.

        Introduced in lab 12 (API security).
        """
        if not isinstance(key_id, str) or not key_id:
            raise ArgumentTypeError(f"key_id must be a non-empty string, got {key_id!r}")
        X = check_array(features, "features", dtype=np.float64)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2 or not len(X):
            raise ValueError(f"features must be one input (1-D) or a batch (2-D), got shape "
                             f"{X.shape}")
        if self.enforce and key_id in self.blocked:
            for _ in range(len(X)):
                self._rows.append((key_id, None, self._count, False))
            return True
        for near in near_boundary(self.decision, X, self.margin):
            self._push(key_id, bool(near))
        return self.enforce and key_id in self.blocked

    def _push(self, key_id: str, near: bool) -> None:
        self._recent.append((key_id, near))
        self._count += near
        if len(self._recent) > self.window:
            self._count -= self._recent.popleft()[1]
        self._past.append((key_id, near))
        self._past_total[key_id] += 1
        self._past_near[key_id] += near
        if len(self._past) > self.history:
            old_key, old_near = self._past.popleft()
            self._past_total[old_key] -= 1
            self._past_near[old_key] -= old_near
            if not self._past_total[old_key]:
                del self._past_total[old_key], self._past_near[old_key]
        alarm = self._count >= self.threshold
        if alarm:
            self.alarms += 1
            suspects = {k for k, n in self._past_near.items()
                        if n >= self.min_hits and n >= self.min_share * self._past_total[k]}
            if self.first_alarm is None:
                self.first_alarm = len(self._rows) + 1
                self.first_alarm_time = None if self.clock is None else float(self.clock())
                self.first_suspects = frozenset(suspects)
            self.blocked |= suspects
        self._rows.append((key_id, near, self._count, alarm))

    def __call__(self, principal, system: str, features) -> bool:
        """The ``build_app`` hook: True to refuse this prediction (the app answers 429), False
        to serve it.

        Introduced in lab 12 (API security).
        """
        key_id = getattr(principal, "key_id", None)
        if not isinstance(key_id, str):
            raise ArgumentTypeError("principal must carry a key_id string (a common.Principal), "
                                    f"got {type(principal).__name__}")
        if not isinstance(system, str):
            raise ArgumentTypeError(f"system must be a name, got {type(system).__name__}")
        if self.systems is not None and system not in self.systems:
            return False
        return self.observe(key_id, features)

    def frame(self) -> pd.DataFrame:
        """Every observed query in order: ``key_id``, ``near`` (None for a refused query),
        ``count`` (near-boundary queries in the window after it), ``alarm`` (the count reached
        the threshold; for a refused query: False) and ``served``."""
        frame = pd.DataFrame(self._rows, columns=["key_id", "near", "count", "alarm"])
        frame["served"] = frame["near"].notna()
        return frame

    def __repr__(self):
        state = ("no alarm" if self.first_alarm is None
                 else f"first alarm at query {self.first_alarm}, {len(self.blocked)} keys blocked")
        return (f"BoundaryShareDetector(margin={self.margin:g}, window={self.window}, "
                f"threshold={self.threshold}; {self.seen} queries, {state})")
