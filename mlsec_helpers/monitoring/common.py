"""What every part of lab 13 shares: the simulated week, the drift statistics, monitors, alert
thresholds at an alert budget, detection delays, and the rule that tells drift from attack.

The week is 7 days of hourly windows (:data:`HOURS` = 168). Days 1-2 (hours 0-47,
:data:`BENIGN_HOURS`) carry ordinary traffic only: the monitors' thresholds are calibrated on
them. Each domain writes its own simulation, which returns a :class:`Week` of :class:`Window`
objects and the :class:`Incident` objects hidden in it (ordinary drift and attacks, with their
hours). A :class:`Monitor` turns a window into one number, higher meaning more suspicious;
:func:`run_monitors` gives the hour x monitor table, :func:`calibrate` the threshold at an alert
budget, :func:`alerts` the alerts, :func:`time_to_detection` the delay of each incident.
:func:`monitor_week` does all of it in one call.

Drift statistics: the population stability index (:func:`psi`, a few lines of numpy),
Kolmogorov-Smirnov per feature with a Holm correction (:func:`ks_per_feature`, scipy), and a
multivariate test (:func:`multivariate_drift`: a classifier two-sample test with
scikit-learn, or the maximum mean discrepancy). Streaming change detection on a series
(:func:`stream_change`) uses river's detectors. evidently and alibi-detect would do parts of this;
the lab says why it does without them.

Introduced in lab 13 (Monitoring and response).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..stats import Rate, proportion
from ..validate import (
    ArgumentTypeError,
    check_array,
    check_choice,
    check_int,
    check_number,
    check_seed,
    check_str,
)
from .results import AlertVerdict, Detection, WeekReport

__all__ = [
    "hourly_counts",
    "window_meta",
    "check_alerts",
    "check_frame",
    "check_hours",
    "check_monitors",
    "BENIGN_HOURS",
    "DETECTORS",
    "HOURS",
    "HOURS_PER_DAY",
    "INCIDENT_KINDS",
    "MONITOR_KINDS",
    "Incident",
    "Monitor",
    "Week",
    "Window",
    "alerts",
    "calibrate",
    "calibrate_frame",
    "calibration_frame",
    "classify_alert",
    "classify_incidents",
    "day_hours",
    "day_of",
    "detections",
    "detections_table",
    "false_alarm_rate",
    "hour_label",
    "ks_per_feature",
    "largest_quiet",
    "monitor_week",
    "multivariate_drift",
    "new_alerts",
    "psi",
    "psi_categorical",
    "psi_per_feature",
    "psi_shares",
    "resample_windows",
    "run_monitors",
    "stream_change",
    "stream_changes",
    "time_to_detection",
]

HOURS = 168
"""Hourly windows in the simulated week (7 days x 24 hours)."""

HOURS_PER_DAY = 24
"""Hours in a day of the week."""

BENIGN_HOURS = tuple(range(48))
"""Days 1-2 (hours 0-47): ordinary traffic only; thresholds are calibrated on them."""

INCIDENT_KINDS = ("drift", "attack")
"""What an :class:`Incident` can be: ordinary drift (no adversary) or an attack."""

MONITOR_KINDS = ("input", "prediction", "performance", "attack")
"""What a :class:`Monitor` watches: the inputs' distribution, the predictions' distribution,
performance on labels (when they arrive), or a signal specific to an attack (feature squeezing,
an extraction or shilling detector). :func:`classify_alert` reads it."""

DETECTORS = ("ADWIN", "KSWIN", "PageHinkley", "DDM", "EDDM")
"""river's change detectors :func:`stream_change` runs: the first three on any numbers
(``river.drift``), DDM and EDDM on a 0/1 error stream (``river.drift.binary``)."""

# --- the week -----------------------------------------------------------------------------------


def day_of(hour: int) -> int:
    """The day (1-7) of an hour of the week (0-167): hours 0-23 are day 1.

    Introduced in lab 13 (Monitoring and response).
    """
    return check_int(hour, "hour", minimum=0) // HOURS_PER_DAY + 1


def day_hours(day: int) -> range:
    """The hours of day ``day`` (1-7): ``day_hours(3)`` is ``range(48, 72)``. Handy for
    ``Incident(..., start_hour=r.start, end_hour=r.stop)``.

    Introduced in lab 13 (Monitoring and response).
    """
    day = check_int(day, "day", minimum=1, maximum=HOURS // HOURS_PER_DAY)
    return range((day - 1) * HOURS_PER_DAY, day * HOURS_PER_DAY)


def hour_label(hour: int) -> str:
    """An hour of the week in words: ``hour_label(50)`` is ``'day 3, 02:00'``.

    Introduced in lab 13 (Monitoring and response).
    """
    hour = check_int(hour, "hour", minimum=0)
    return f"day {hour // HOURS_PER_DAY + 1}, {hour % HOURS_PER_DAY:02d}:00"


def _length(X: Any) -> int:
    try:
        return len(X)
    except TypeError:
        raise ArgumentTypeError(f"a window's X must have a length (an array, a list of texts, a "
                                f"DataFrame), got {type(X).__name__}") from None


@dataclass(frozen=True)
class Window:
    """One hour of production traffic.

    ``hour``: 0-167; ``X``: what the system received that hour (an array of inputs, a list of
    texts, a DataFrame of transactions or queries: anything with a length); ``y_true``: the true
    labels of those inputs when they are ever known, else ``None``; ``label_hour``: the hour the
    labels arrive (``>= hour``; late labels), ``None`` when there are none; ``meta``: anything
    else the domain's monitors need (predictions, scores, which rows are adversarial, the API key
    of each query...). The monitors see the window; the truth about which rows are attacks
    belongs in ``meta`` under a name the monitors do not read (``meta["is_attack"]``, say).

    Introduced in lab 13 (Monitoring and response).
    """

    hour: int
    X: Any
    y_true: Any = None
    label_hour: int | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_int(self.hour, "hour", minimum=0)
        n = _length(self.X)
        if self.y_true is not None and _length(self.y_true) != n:
            raise ValueError(f"window {self.hour}: y_true has {_length(self.y_true)} labels but "
                             f"X has {n} rows")
        if self.label_hour is not None:
            check_int(self.label_hour, "label_hour", minimum=self.hour)
            if self.y_true is None:
                raise ValueError(f"window {self.hour}: label_hour is set but y_true is None")
        if not isinstance(self.meta, dict):
            raise ArgumentTypeError(f"meta must be a dict, got {type(self.meta).__name__}")

    def __len__(self) -> int:
        return _length(self.X)

    @property
    def day(self) -> int:
        """The day (1-7) of the window."""
        return day_of(self.hour)


@dataclass(frozen=True)
class Incident:
    """Something that happened during the week: ordinary ``"drift"`` or an ``"attack"``.

    It covers the hours ``start_hour <= hour < end_hour`` (end excluded, like ``range``):
    ``Incident("scanner", "drift", 48, 72, "...")`` is all of day 3. ``description`` says what
    happened, in one sentence.

    Introduced in lab 13 (Monitoring and response).
    """

    name: str
    kind: str
    start_hour: int
    end_hour: int
    description: str = ""

    def __post_init__(self) -> None:
        check_str(self.name, "name")
        check_choice(self.kind, INCIDENT_KINDS, "incident kind")
        check_int(self.start_hour, "start_hour", minimum=0)
        check_int(self.end_hour, "end_hour", minimum=self.start_hour + 1)
        check_str(self.description, "description")

    @property
    def hours(self) -> range:
        """The incident's hours, as a ``range``."""
        return range(self.start_hour, self.end_hour)

    def __contains__(self, hour: object) -> bool:
        return isinstance(hour, numbers.Integral) and self.start_hour <= hour < self.end_hour

    @property
    def when(self) -> str:
        """The incident's hours in words (``'day 4, 00:00 to day 4, 23:00'``)."""
        return f"{hour_label(self.start_hour)} to {hour_label(self.end_hour - 1)}"


@dataclass(frozen=True)
class Week:
    """A simulated week of one domain: its windows (one per hour, in order), the incidents
    hidden in it, and the benign hours the thresholds are calibrated on (no incident may touch
    them).

    Introduced in lab 13 (Monitoring and response).
    """

    domain: str
    windows: tuple[Window, ...]
    incidents: tuple[Incident, ...] = ()
    benign_hours: tuple[int, ...] = BENIGN_HOURS

    def __post_init__(self) -> None:
        check_str(self.domain, "domain")
        windows, incidents = tuple(self.windows), tuple(self.incidents)
        if not windows:
            raise ValueError("a week needs at least one window")
        if not all(isinstance(w, Window) for w in windows):
            raise ArgumentTypeError("windows must hold Window objects")
        hours = [w.hour for w in windows]
        if hours != list(range(len(windows))):
            raise ValueError("windows must be one per hour, in order, from hour 0 (got hours "
                             f"{hours[:5]}...)")
        if not all(isinstance(i, Incident) for i in incidents):
            raise ArgumentTypeError("incidents must hold Incident objects")
        names = [i.name for i in incidents]
        if len(set(names)) != len(names):
            raise ValueError(f"incident names must be unique, got {names}")
        benign = tuple(check_int(h, "benign hour", minimum=0, maximum=len(windows) - 1)
                       for h in self.benign_hours)
        if not benign:
            raise ValueError("benign_hours must hold at least one hour")
        for inc in incidents:
            if inc.end_hour > len(windows):
                raise ValueError(f"incident {inc.name!r} ends at hour {inc.end_hour}, after the "
                                 f"week's last window ({len(windows) - 1})")
            touched = [h for h in benign if h in inc]
            if touched:
                raise ValueError(f"incident {inc.name!r} overlaps the benign calibration hours "
                                 f"({touched[0]}...): calibrate on clean hours only")
        object.__setattr__(self, "windows", windows)
        object.__setattr__(self, "incidents", incidents)
        object.__setattr__(self, "benign_hours", benign)

    def __len__(self) -> int:
        return len(self.windows)

    @property
    def quiet_hours(self) -> tuple[int, ...]:
        """Hours after the benign period (later than its last hour) that lie outside every
        incident: held-out ordinary traffic, where an alert is a false alarm the calibration did
        not see."""
        last = max(self.benign_hours)
        return tuple(h for h in range(last + 1, len(self.windows))
                     if not any(h in inc for inc in self.incidents))

    def incident(self, name: str) -> Incident:
        """The incident called ``name``."""
        for inc in self.incidents:
            if inc.name == name:
                return inc
        raise ValueError(f"no incident called {name!r}; known: "
                         f"{', '.join(i.name for i in self.incidents) or 'none'}")


# --- drift statistics ---------------------------------------------------------------------------


def _sample(values: object, name: str, ndim: int) -> np.ndarray:
    arr = check_array(values, name, dtype=np.float64, finite=False)
    if ndim == 1 and arr.ndim == 2 and 1 in arr.shape:
        arr = arr.ravel()
    if arr.ndim != ndim:
        shape = "1-D (one value per row)" if ndim == 1 else "2-D (rows x features)"
        raise ValueError(f"{name} must be {shape}, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: a drift statistic needs at least one row (an hour "
                         "without traffic has no statistic; give it NaN in the monitor)")
    if np.isnan(arr).any() or not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def psi(reference: object, current: object, bins: int = 10, *, floor: float = 1e-4) -> float:
    """The population stability index of ``current`` against ``reference`` (two 1-D samples):
    ``sum((c - r) * ln(c / r))`` over ``bins`` bins cut at the reference's quantiles (so each
    holds about 1/bins of the reference; the outer bins are open-ended, bins are closed on the
    right, ties merge bins). Shares below ``floor`` are raised to it, so an empty bin gives a
    large but finite term. 0 means the same distribution; by a common rule of thumb < 0.1 is
    stable, 0.1-0.25 a moderate shift, > 0.25 a large one.

    Introduced in lab 13 (Monitoring and response).
    """
    ref = _sample(reference, "reference", 1)
    cur = _sample(current, "current", 1)
    bins = check_int(bins, "bins", minimum=2)
    floor = check_number(floor, "floor", low=0.0, high=0.1, low_open=True)
    inner = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    # bin i holds values v with inner[i-1] < v <= inner[i]; the last bin is open above
    r = np.bincount(np.searchsorted(inner, ref, side="left"), minlength=len(inner) + 1)
    c = np.bincount(np.searchsorted(inner, cur, side="left"), minlength=len(inner) + 1)
    r = np.maximum(r / r.sum(), floor)
    c = np.maximum(c / c.sum(), floor)
    return float(np.sum((c - r) * np.log(c / r)))


def psi_per_feature(reference: object, current: object, bins: int = 10, *,
                    floor: float = 1e-4) -> np.ndarray:
    """:func:`psi` of every column of ``current`` (rows x features) against the same column of
    ``reference``: one value per feature.

    Introduced in lab 13 (Monitoring and response).
    """
    ref = _sample(reference, "reference", 2)
    cur = _sample(current, "current", 2)
    if ref.shape[1] != cur.shape[1]:
        raise ValueError(f"reference has {ref.shape[1]} features but current has "
                         f"{cur.shape[1]}")
    return np.array([psi(ref[:, j], cur[:, j], bins, floor=floor) for j in range(ref.shape[1])])


def psi_categorical(reference: object, current: object, categories: Sequence | None = None, *,
                    floor: float = 1e-4) -> float:
    """The population stability index of two samples of categories (predicted classes, item
    genres, merchant types): the same sum as :func:`psi` over the categories' shares instead of
    quantile bins. ``categories``: every possible category (default: those seen in either
    sample); a value outside them raises ``ValueError``. Use it for prediction drift (the
    shares of predicted classes).

    Introduced in lab 13 (Monitoring and response).
    """
    ref, cur = np.asarray(reference), np.asarray(current)
    for name, arr in (("reference", ref), ("current", cur)):
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D (one category per row), got shape {arr.shape}")
        if arr.size == 0:
            raise ValueError(f"{name} is empty: a drift statistic needs at least one row")
        if arr.dtype.kind == "f" and np.isnan(arr).any():
            raise ValueError(f"{name} contains NaN")
    floor = check_number(floor, "floor", low=0.0, high=0.1, low_open=True)
    cats = list(dict.fromkeys(np.r_[ref, cur].tolist())) if categories is None else list(
        categories)
    if not cats:
        raise ValueError("categories is empty")
    index = {c: i for i, c in enumerate(cats)}
    unknown = sorted({v for v in np.r_[ref, cur].tolist() if v not in index}, key=str)
    if unknown:
        raise ValueError(f"values {unknown[:5]} are not among the categories")
    r = np.bincount([index[v] for v in ref.tolist()], minlength=len(cats))
    c = np.bincount([index[v] for v in cur.tolist()], minlength=len(cats))
    return psi_shares(r, c, floor=floor)


def psi_shares(reference_counts: object, current_counts: object, *,
               floor: float = 1e-4) -> float:
    """The population stability index of two distributions over the same categories, given as
    counts (or shares) per category, in the same order: each is normalised to shares, shares
    below ``floor`` are raised to it, and ``sum((c - r) * ln(c / r))`` is returned. For
    predicted-class mixes, item-popularity shares, any categorical feature already counted.

    Introduced in lab 13 (Monitoring and response).
    """
    r = check_array(reference_counts, "reference_counts", ndim=1, dtype=np.float64)
    c = check_array(current_counts, "current_counts", ndim=1, dtype=np.float64)
    if len(r) != len(c):
        raise ValueError(f"reference_counts has {len(r)} categories but current_counts "
                         f"{len(c)}")
    if len(r) == 0:
        raise ValueError("the counts are empty: give one count per category")
    for name, arr in (("reference_counts", r), ("current_counts", c)):
        if (arr < 0).any():
            raise ValueError(f"{name} must be counts or shares >= 0")
        if arr.sum() <= 0:
            raise ValueError(f"{name} sums to 0: no row to compare")
    floor = check_number(floor, "floor", low=0.0, high=0.1, low_open=True)
    r, c = np.maximum(r / r.sum(), floor), np.maximum(c / c.sum(), floor)
    return float(np.sum((c - r) * np.log(c / r)))


def _holm(p: np.ndarray) -> np.ndarray:
    # Holm's step-down adjustment; statsmodels' multipletests does this but is not a dependency
    # of the course, and it is four lines.
    order = np.argsort(p)
    m = len(p)
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


def ks_per_feature(reference: object, current: object, *, correction: str = "holm",
                   alpha: float = 0.05,
                   feature_names: Sequence[str] | None = None) -> pd.DataFrame:
    """The two-sample Kolmogorov-Smirnov test (``scipy.stats.ks_2samp``) of every feature of
    ``current`` against ``reference`` (rows x features; a 1-D array is one feature).

    Returns one row per feature: ``feature``, ``statistic``, ``p_value``, ``p_adjusted``
    (corrected for testing every feature: ``"holm"``, ``"bonferroni"`` or ``"none"``) and
    ``drifted`` (``p_adjusted < alpha``). The smallest ``p_adjusted`` is a window's statistic
    for "some feature drifted" (use ``-log10`` of it as a monitor, higher = more drift).

    Introduced in lab 13 (Monitoring and response).
    """
    from scipy.stats import ks_2samp

    ref = check_array(reference, "reference", dtype=np.float64, finite=False)
    cur = check_array(current, "current", dtype=np.float64, finite=False)
    ref = ref.reshape(-1, 1) if ref.ndim == 1 else ref
    cur = cur.reshape(-1, 1) if cur.ndim == 1 else cur
    ref, cur = _sample(ref, "reference", 2), _sample(cur, "current", 2)
    if ref.shape[1] != cur.shape[1]:
        raise ValueError(f"reference has {ref.shape[1]} features but current has "
                         f"{cur.shape[1]}")
    check_choice(correction, ("holm", "bonferroni", "none"), "correction")
    alpha = check_number(alpha, "alpha", low=0.0, high=1.0, low_open=True, high_open=True)
    names = ([f"feature {j}" for j in range(ref.shape[1])] if feature_names is None
             else [str(n) for n in feature_names])
    if len(names) != ref.shape[1]:
        raise ValueError(f"feature_names has {len(names)} names for {ref.shape[1]} features")
    res = [ks_2samp(ref[:, j], cur[:, j]) for j in range(ref.shape[1])]
    stat = np.array([r.statistic for r in res], dtype=float)
    p = np.array([r.pvalue for r in res], dtype=float)
    if correction == "holm":
        adj = _holm(p)
    elif correction == "bonferroni":
        adj = np.minimum(p * len(p), 1.0)
    else:
        adj = p
    return pd.DataFrame({"feature": names, "statistic": stat, "p_value": p, "p_adjusted": adj,
                         "drifted": adj < alpha})


def _mmd2(ref: np.ndarray, cur: np.ndarray) -> float:
    # the unbiased estimate of the squared maximum mean discrepancy with a Gaussian kernel whose
    # bandwidth is the median distance of the pooled sample (the usual heuristic); by hand
    # because no maintained library in our environment has it without pulling a framework.
    from scipy.spatial.distance import cdist

    pooled = np.vstack([ref, cur])
    d = cdist(pooled, pooled, "sqeuclidean")
    med = np.median(d[np.triu_indices_from(d, k=1)])
    k = np.exp(-d / max(med, 1e-12))
    n, m = len(ref), len(cur)
    kxx, kyy, kxy = k[:n, :n], k[n:, n:], k[:n, n:]
    return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1))
                 + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean())


def _classifier_auc(ref: np.ndarray, cur: np.ndarray, folds: int, seed: int) -> float:
    # A ridge-regularised linear classifier (least squares on standardised features, solved in
    # closed form) scored out of fold. By hand rather than scikit-learn's LogisticRegression:
    # its per-fit overhead (about 20 ms a fit, x folds x 168 windows) does not fit a section's
    # budget, and on standardised features the two rank rows almost alike.
    from scipy.stats import rankdata
    from sklearn.model_selection import StratifiedKFold

    rows = np.vstack([ref, cur])
    side = np.r_[np.zeros(len(ref)), np.ones(len(cur))]
    score = np.empty(len(side))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(rows, side):
        mu, sd = rows[train].mean(0), rows[train].std(0)
        sd[sd == 0] = 1.0
        z = (rows[train] - mu) / sd
        target = side[train] - side[train].mean()
        w = np.linalg.solve(z.T @ z + len(train) * 1e-2 * np.eye(z.shape[1]), z.T @ target)
        score[test] = ((rows[test] - mu) / sd) @ w
    ranks = rankdata(score)
    n1, n0 = len(cur), len(ref)
    return float((ranks[side == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def multivariate_drift(reference: object, current: object, *, seed: int = 0,
                       method: str = "classifier", folds: int = 5,
                       max_reference: int | None = 1000) -> float:
    """One number for "the rows of ``current`` are not distributed like ``reference``"
    (both rows x features; reduce wide inputs first, e.g. with PCA fitted on the reference).

    ``method="classifier"`` (default): a classifier two-sample test. A linear classifier
    (ridge-regularised least squares on standardised features) learns to tell reference rows
    from current rows; the value is its out-of-fold ROC AUC over ``folds`` stratified folds
    (scikit-learn's ``StratifiedKFold``): about 0.5 when the
    two are alike, towards 1 when they differ. ``method="mmd"``: the unbiased squared maximum
    mean discrepancy with a Gaussian kernel (median-distance bandwidth): about 0 when alike.
    At most ``max_reference`` reference rows are used (drawn with ``seed``; ``None`` = all).
    Higher means more drift in both cases; calibrate its threshold on benign windows.

    Introduced in lab 13 (Monitoring and response).
    """
    ref = _sample(reference, "reference", 2)
    cur = _sample(current, "current", 2)
    if ref.shape[1] != cur.shape[1]:
        raise ValueError(f"reference has {ref.shape[1]} features but current has "
                         f"{cur.shape[1]}")
    seed = check_seed(seed)
    method = check_choice(method, ("classifier", "mmd"), "method")
    rng = np.random.default_rng(seed)
    if max_reference is not None:
        max_reference = check_int(max_reference, "max_reference", minimum=2)
        if len(ref) > max_reference:
            ref = ref[np.sort(rng.choice(len(ref), max_reference, replace=False))]
    if method == "mmd":
        if len(ref) < 2 or len(cur) < 2:
            raise ValueError("the MMD needs at least 2 rows in reference and in current")
        return _mmd2(ref, cur)
    folds = check_int(folds, "folds", minimum=2)
    if min(len(ref), len(cur)) < folds:
        raise ValueError(f"the classifier test needs at least {folds} rows (folds) in reference "
                         f"and in current, got {len(ref)} and {len(cur)}")
    return _classifier_auc(ref, cur, folds, seed)


# --- monitors, thresholds, alerts ---------------------------------------------------------------


@dataclass(frozen=True)
class Monitor:
    """A monitor: a ``name``, a ``statistic`` (a function window -> one number, higher meaning
    more suspicious; return ``NaN`` for an hour where it has nothing to say, e.g. no label has
    arrived yet), its ``kind`` (one of :data:`MONITOR_KINDS`; :func:`classify_alert` reads it)
    and one line saying what it watches.

    Introduced in lab 13 (Monitoring and response).
    """

    name: str
    statistic: Callable[[Window], float]
    kind: str = "input"
    description: str = ""

    def __post_init__(self) -> None:
        check_str(self.name, "name")
        if not callable(self.statistic):
            raise ArgumentTypeError(f"monitor {self.name!r}: statistic must be a function "
                                    "window -> number")
        check_choice(self.kind, MONITOR_KINDS, "monitor kind")
        check_str(self.description, "description")

    def __call__(self, window: Window) -> float:
        value = self.statistic(window)
        if value is None:
            return math.nan
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            try:
                value = float(np.asarray(value).item())
            except (TypeError, ValueError):
                raise ArgumentTypeError(f"monitor {self.name!r} returned "
                                        f"{type(value).__name__}, not a number") from None
        value = float(value)
        if math.isinf(value):
            raise ValueError(f"monitor {self.name!r} returned {value} at hour {window.hour}")
        return value


def hourly_counts(hours: Iterable[int], per_hour: int | Iterable[int]
                  ) -> tuple[list[int], list[int]]:
    """The hours of the week (each in 0..HOURS-1) and how many items arrive in each:
    ``per_hour`` is one count for every hour or one count per hour. Bad input (an hour outside
    the week, a negative count, counts that do not match the hours) raises a clear error.

    Introduced in lab 13 (Monitoring and response).
    """
    hours = [check_int(h, "hour", minimum=0, maximum=HOURS - 1) for h in hours]
    if isinstance(per_hour, int | np.integer):
        counts = [check_int(per_hour, "per_hour", minimum=0)] * len(hours)
    else:
        counts = [check_int(c, "per_hour", minimum=0) for c in per_hour]
        if len(counts) != len(hours):
            raise ValueError(f"per_hour has {len(counts)} counts for {len(hours)} hours")
    return hours, counts


def window_meta(window: Window, keys: Iterable[str], count_key: str, *,
                builder: str) -> dict | None:
    """The per-row meta entries of ``window`` that a domain's monitors read, or ``None`` when
    the window is empty (``count_key``'s entry has no row: the monitors report no value that
    hour). A missing entry is a window not built by ``builder`` (named in the error).

    Introduced in lab 13 (Monitoring and response).
    """
    missing = [k for k in keys if k not in window.meta]
    if missing:
        raise ValueError(f"window {window.hour} lacks the meta entries {missing} (use "
                         f"{builder})")
    return window.meta if len(window.meta[count_key]) else None


def check_monitors(monitors: object) -> tuple[Monitor, ...]:
    """The :class:`Monitor` objects of ``monitors`` (one or an iterable) as a tuple, refusing
    anything else and repeated names.

    Introduced in lab 13 (Monitoring and response).
    """
    monitors = tuple(monitors) if isinstance(monitors, Iterable) else (monitors,)
    if not monitors or not all(isinstance(m, Monitor) for m in monitors):
        raise ArgumentTypeError("monitors must be one or more Monitor objects")
    names = [m.name for m in monitors]
    if len(set(names)) != len(names):
        raise ValueError(f"monitor names must be unique, got {names}")
    return monitors


def run_monitors(week: Week, monitors: Iterable[Monitor], *,
                 progress: bool = False) -> pd.DataFrame:
    """Every monitor's statistic on every window of ``week``: a DataFrame indexed by ``hour``
    with one column per monitor (in the given order); ``NaN`` where a monitor had nothing to
    say. ``progress`` shows a tqdm bar over the hours.

    Introduced in lab 13 (Monitoring and response).
    """
    if not isinstance(week, Week):
        raise ArgumentTypeError(f"week must be a Week, got {type(week).__name__}")
    monitors = check_monitors(monitors)
    windows = week.windows
    if progress:
        from tqdm.auto import tqdm

        windows = tqdm(windows, desc=f"{week.domain} monitors", leave=False)
    rows = [[m(w) for m in monitors] for w in windows]
    frame = pd.DataFrame(rows, columns=[m.name for m in monitors], dtype=float)
    frame.index = pd.RangeIndex(len(week.windows), name="hour")
    return frame


def _pool(parts: list, what: str):
    first = parts[0]
    if isinstance(first, np.ndarray):
        return np.concatenate(parts)
    if isinstance(first, (pd.DataFrame, pd.Series)):
        return pd.concat(parts, ignore_index=True)
    if isinstance(first, (list, tuple)):
        return [v for part in parts for v in part]
    raise ArgumentTypeError(f"{what}: cannot resample rows of a {type(first).__name__} (use an "
                            "array, a list or a DataFrame)")


def _rows(pooled, idx: np.ndarray):
    if isinstance(pooled, np.ndarray):
        return pooled[idx]
    if isinstance(pooled, (pd.DataFrame, pd.Series)):
        return pooled.iloc[idx].reset_index(drop=True)
    return [pooled[i] for i in idx]


def resample_windows(week: Week, n_windows: int = 200, *, seed: int = 0,
                     hours: Iterable[int] | None = None,
                     size: int | None = None) -> tuple[Window, ...]:
    """``n_windows`` windows of ordinary traffic made by drawing rows, with replacement, from
    the windows of ``hours`` (default: the week's benign hours), ``size`` rows each (default:
    the median window size). ``X``, ``y_true`` and every ``meta`` entry that holds one value
    per row (an array, list or DataFrame of the window's length) are drawn together; other
    ``meta`` entries are copied from the first window. The windows are numbered 0, 1, ...
    (they are a calibration set, not hours of the week).

    Why: 48 benign hours hold too few windows to place a 1% threshold (the benign maximum
    still alarms about 1/49 of held-out hours); a few hundred resampled windows do. It assumes
    the benign rows are exchangeable across hours: where traffic has a daily cycle (fraud at
    night), resample within the hour of day instead.

    Introduced in lab 13 (Monitoring and response).
    """
    if not isinstance(week, Week):
        raise ArgumentTypeError(f"week must be a Week, got {type(week).__name__}")
    n_windows = check_int(n_windows, "n_windows", minimum=1)
    seed = check_seed(seed)
    chosen = week.benign_hours if hours is None else check_hours(hours, "hours")
    if not chosen:
        raise ValueError("hours is empty: resample from at least one window")
    windows = [week.windows[h] for h in chosen if 0 <= h < len(week)]
    if len(windows) != len(chosen):
        raise ValueError(f"hours must lie in 0..{len(week) - 1}")
    lengths = [len(w) for w in windows]
    if sum(lengths) == 0:
        raise ValueError("the chosen windows hold no row to resample")
    size = int(np.median(lengths)) if size is None else check_int(size, "size")
    pooled_x = _pool([w.X for w in windows], "X")
    labelled = all(w.y_true is not None for w in windows)
    pooled_y = _pool([w.y_true for w in windows], "y_true") if labelled else None
    per_row = [k for k in windows[0].meta
               if all(k in w.meta and isinstance(w.meta[k], (np.ndarray, list, tuple,
                                                              pd.DataFrame, pd.Series))
                      and len(w.meta[k]) == len(w) for w in windows)]
    pooled_meta = {k: _pool([w.meta[k] for w in windows], f"meta[{k!r}]") for k in per_row}
    rng = np.random.default_rng([seed, 2013])
    out = []
    for i in range(n_windows):
        idx = rng.integers(0, sum(lengths), size)
        meta = dict(windows[0].meta) | {k: _rows(v, idx) for k, v in pooled_meta.items()}
        out.append(Window(i, _rows(pooled_x, idx),
                          None if pooled_y is None else _rows(pooled_y, idx), None, meta))
    return tuple(out)


def calibration_frame(week: Week, monitors: Iterable[Monitor], n_windows: int = 200, *,
                      seed: int = 0, hours: Iterable[int] | None = None,
                      size: int | None = None, progress: bool = False) -> pd.DataFrame:
    """The monitors on :func:`resample_windows` (``n_windows`` windows resampled from the
    benign hours): a frame like :func:`run_monitors`' (one row per resampled window, index
    ``window``) to calibrate on, ``calibrate_frame(frame, frame.index, rate)``.

    Introduced in lab 13 (Monitoring and response).
    """
    monitors = check_monitors(monitors)
    windows = resample_windows(week, n_windows, seed=seed, hours=hours, size=size)
    if progress:
        from tqdm.auto import tqdm

        windows = tqdm(windows, desc="calibration windows", leave=False)
    frame = pd.DataFrame([[m(w) for m in monitors] for w in windows],
                         columns=[m.name for m in monitors], dtype=float)
    frame.index = pd.RangeIndex(len(frame), name="window")
    return frame


def _rate(false_alarm_rate: object) -> float:
    return check_number(false_alarm_rate, "false_alarm_rate", low=0.0, high=1.0, low_open=True,
                        high_open=True)


def calibrate(benign_values: object, false_alarm_rate: float = 0.01, *,
              method: str = "quantile") -> float:
    """The alert threshold for one monitor: an alert fires when a window's value is strictly
    above it.

    ``method="quantile"`` (default): the smallest threshold such that at most
    ``false_alarm_rate`` of ``benign_values`` lie above it (with n values, at most
    ``floor(rate * n)`` do; ties at the threshold do not fire). It meets the budget on the
    benign period by construction, but later benign windows exceed it more often: about
    (floor(rate * n) + 1) / (n + 1) of them (with n < 1/rate it is the benign maximum, 1/(n + 1)).
    ``method="conformal"``: the split-conformal rule, which keeps later benign windows at or
    under the rate on average when the values are exchangeable: at most
    ``floor(rate * (n + 1)) - 1`` benign values lie above it (200 values at 1%: the second
    largest); with n < 1/rate - 1 values no threshold can promise the rate and it is the
    benign maximum (1/(n + 1)). ``method="normal"``: a one-sided normal
    prediction bound, ``mean + t(1 - rate, n - 1) * sd * sqrt(1 + 1/n)``: it extrapolates the
    tail from few windows, assuming roughly normal values (check on held-out quiet hours).

    ``benign_values`` must be finite: drop the hours without a value first
    (:func:`calibrate_frame` does).

    Introduced in lab 13 (Monitoring and response).
    """
    values = check_array(benign_values, "benign_values", dtype=np.float64, finite=False)
    if values.ndim != 1:
        raise ValueError(f"benign_values must be 1-D (one value per benign window), got shape "
                         f"{values.shape}")
    if values.size == 0:
        raise ValueError("benign_values is empty: calibrate on at least one benign window")
    if not np.isfinite(values).all():
        raise ValueError("benign_values contains NaN or infinite values: drop the hours "
                         "without a value first (values[~np.isnan(values)])")
    rate = _rate(false_alarm_rate)
    method = check_choice(method, ("quantile", "conformal", "normal"), "method")
    if method in ("quantile", "conformal"):
        n = len(values)
        allowed = (math.floor(rate * n + 1e-9) if method == "quantile"
                   else max(math.floor(rate * (n + 1) + 1e-9) - 1, 0))
        return float(np.sort(values)[::-1][allowed]) if allowed < n else float(values.min())
    if len(values) < 3:
        raise ValueError("method='normal' needs at least 3 benign values")
    from scipy.stats import t as student_t

    n = len(values)
    spread = float(values.std(ddof=1)) * math.sqrt(1 + 1 / n)
    return float(values.mean() + student_t.ppf(1 - rate, n - 1) * spread)


def calibrate_frame(frame: pd.DataFrame, benign_hours: Iterable[int] = BENIGN_HOURS,
                    false_alarm_rate: float = 0.01, *, method: str = "quantile",
                    budget_over: str = "monitor") -> dict[str, float]:
    """:func:`calibrate` for every column of ``frame`` (from :func:`run_monitors`) on the rows
    ``benign_hours``, hours without a value (NaN) left out. ``budget_over="monitor"``: each
    monitor gets ``false_alarm_rate``; ``"window"``: the rate is split among the monitors
    (Bonferroni), so that the share of benign windows with any alert stays at most
    ``false_alarm_rate``. Returns monitor -> threshold.

    Introduced in lab 13 (Monitoring and response).
    """
    frame = check_frame(frame)
    hours = check_hours(benign_hours, "benign_hours")
    missing = [h for h in hours if h not in frame.index]
    if missing:
        raise ValueError(f"benign_hours {missing[:5]} are not rows of frame")
    rate = _rate(false_alarm_rate)
    budget_over = check_choice(budget_over, ("monitor", "window"), "budget_over")
    each = rate / frame.shape[1] if budget_over == "window" else rate
    out = {}
    for name in frame.columns:
        values = frame.loc[list(hours), name].to_numpy(dtype=float)
        values = values[~np.isnan(values)]
        if values.size == 0:
            raise ValueError(f"monitor {name!r} has no value on any benign hour: it cannot be "
                             "calibrated")
        out[str(name)] = calibrate(values, each, method=method)
    return out


def check_frame(frame: object) -> pd.DataFrame:
    """Return ``frame`` if it is an hour x monitor DataFrame of :func:`run_monitors` (at least one
    monitor column, no infinite value); raise a clear error otherwise.

    Introduced in lab 13 (Monitoring and response).
    """
    if not isinstance(frame, pd.DataFrame):
        raise ArgumentTypeError(f"frame must be a DataFrame of hour x monitor (run_monitors), "
                                f"got {type(frame).__name__}")
    if frame.shape[1] == 0:
        raise ValueError("frame has no monitor column")
    if np.isinf(frame.to_numpy(dtype=float)).any():
        raise ValueError("frame contains infinite values")
    return frame


def check_hours(hours: object, name: str) -> tuple[int, ...]:
    """The hours of ``hours`` (an iterable of non-negative ints, or a DataFrame with an ``hour``
    column) as a tuple; ``name`` names the argument in the error raised for bad input.

    Introduced in lab 13 (Monitoring and response).
    """
    if isinstance(hours, pd.DataFrame):
        if "hour" not in hours.columns:
            raise ValueError(f"{name}: a DataFrame of alerts needs an 'hour' column")
        hours = hours["hour"].tolist()
    if isinstance(hours, (str, bytes)) or not isinstance(hours, Iterable):
        raise ArgumentTypeError(f"{name} must be an iterable of hours (ints), got "
                                f"{type(hours).__name__}")
    out = []
    for h in hours:
        if isinstance(h, float) and h.is_integer():
            h = int(h)
        out.append(check_int(h, f"an hour of {name}", minimum=0))
    return tuple(out)


def alerts(frame: pd.DataFrame, thresholds: dict[str, float] | pd.Series) -> pd.DataFrame:
    """The alerts: one row per (hour, monitor) whose value is strictly above the monitor's
    threshold, with columns ``hour``, ``monitor``, ``value``, ``threshold``, sorted by hour
    then monitor order. ``NaN`` values never alert. ``thresholds`` must name exactly the
    frame's monitors.

    Introduced in lab 13 (Monitoring and response).
    """
    frame = check_frame(frame)
    thresholds = dict(thresholds)
    if set(thresholds) != {str(c) for c in frame.columns}:
        raise ValueError(f"thresholds must name exactly the monitors {list(frame.columns)}, got "
                         f"{list(thresholds)}")
    rows = []
    for order, name in enumerate(frame.columns):
        t = check_number(thresholds[str(name)], f"threshold of {name!r}")
        values = frame[name]
        for hour, value in values[values > t].items():
            rows.append((int(hour), str(name), float(value), t, order))
    out = pd.DataFrame(rows, columns=["hour", "monitor", "value", "threshold", "order"])
    out = out.sort_values(["hour", "order"]).drop(columns="order").reset_index(drop=True)
    return out.astype({"hour": int, "value": float, "threshold": float})


def new_alerts(frame: pd.DataFrame, baseline: pd.DataFrame,
               thresholds: dict[str, float] | pd.Series) -> pd.DataFrame:
    """The alerts of ``frame`` that ``baseline`` does not have: the (hour, monitor) pairs above
    threshold in ``frame`` but not in ``baseline``, where ``baseline`` is the same week's
    monitors without the attack (same seed, same ordinary traffic). They are the alerts the
    attack itself raised; the others are false alarms it would have met anyway. Columns as in
    :func:`alerts`.

    Introduced in lab 13 (Monitoring and response).
    """
    frame, baseline = check_frame(frame), check_frame(baseline)
    if list(frame.columns) != list(baseline.columns) or not frame.index.equals(baseline.index):
        raise ValueError("frame and baseline must have the same hours and monitors")
    found, before = alerts(frame, thresholds), alerts(baseline, thresholds)
    old = set(zip(before["hour"], before["monitor"], strict=True))
    keep = [(h, m) not in old for h, m in zip(found["hour"], found["monitor"], strict=True)]
    return found[keep].reset_index(drop=True)


def time_to_detection(alert_hours: Iterable[int] | pd.DataFrame,
                      incident: Incident) -> float | None:
    """Hours from the incident's start to its first alert inside it, ``None`` when no alert
    falls inside ``start_hour <= hour < end_hour`` (alerts before the start do not count: they
    are false alarms or another incident's). An hourly window's statistic is known when the
    window closes, so an alert on the incident's first window counts 1 hour, one on its third
    window 3 hours: ``first_alert_hour + 1 - start_hour``. ``alert_hours``: the hours with an
    alert, or the DataFrame of :func:`alerts`.

    Introduced in lab 13 (Monitoring and response).
    """
    if not isinstance(incident, Incident):
        raise ArgumentTypeError(f"incident must be an Incident, got {type(incident).__name__}")
    inside = [h for h in check_hours(alert_hours, "alert_hours") if h in incident]
    return float(min(inside) + 1 - incident.start_hour) if inside else None


def false_alarm_rate(alert_hours: Iterable[int] | pd.DataFrame,
                     benign_hours: Iterable[int] = BENIGN_HOURS) -> Rate:
    """The share of ``benign_hours`` with at least one alert, with its Wilson interval, over
    the benign hourly windows. ``alert_hours``: the hours with an alert (any monitor), or the
    DataFrame of :func:`alerts`.

    Introduced in lab 13 (Monitoring and response).
    """
    hours = set(check_hours(alert_hours, "alert_hours"))
    benign = check_hours(benign_hours, "benign_hours")
    if not benign:
        raise ValueError("benign_hours is empty: a false-alarm rate needs benign windows")
    if len(set(benign)) != len(benign):
        raise ValueError("benign_hours has repeated hours")
    hits = sum(h in hours for h in benign)
    return proportion(hits, len(benign), on=f"{len(benign)} benign hourly windows")


def detections(alerts_frame: pd.DataFrame, incidents: Iterable[Incident]) -> tuple[Detection,
                                                                                   ...]:
    """One :class:`Detection` per incident: its first alert inside the incident, the delay
    (:func:`time_to_detection`) and the monitors that fired inside it.

    Introduced in lab 13 (Monitoring and response).
    """
    found = check_alerts(alerts_frame)
    out = []
    for inc in incidents:
        if not isinstance(inc, Incident):
            raise ArgumentTypeError("incidents must hold Incident objects")
        inside = found[(found["hour"] >= inc.start_hour) & (found["hour"] < inc.end_hour)]
        delay = time_to_detection(inside, inc)
        first = None if inside.empty else int(inside["hour"].min())
        out.append(Detection(inc.name, inc.kind, inc.start_hour, inc.end_hour, first, delay,
                             tuple(dict.fromkeys(inside["monitor"]))))
    return tuple(out)


def check_alerts(alerts_frame: object) -> pd.DataFrame:
    """Return ``alerts_frame`` if it is a DataFrame of :func:`alerts` (``hour`` and ``monitor``
    columns); raise a clear error otherwise.

    Introduced in lab 13 (Monitoring and response).
    """
    if not isinstance(alerts_frame, pd.DataFrame):
        raise ArgumentTypeError(f"alerts must be the DataFrame of alerts(), got "
                                f"{type(alerts_frame).__name__}")
    missing = [c for c in ("hour", "monitor") if c not in alerts_frame.columns]
    if missing:
        raise ValueError(f"alerts lacks the columns {missing} (use alerts())")
    return alerts_frame


def detections_table(report_or_detections: WeekReport | Iterable[Detection]) -> pd.DataFrame:
    """The detections as a table (one row per incident: name, kind, hours, first alert, delay,
    monitors that fired, and the drift/attack verdict when given a :class:`WeekReport`), for
    ``plots.table``.

    Introduced in lab 13 (Monitoring and response).
    """
    report = report_or_detections if isinstance(report_or_detections, WeekReport) else None
    dets = report.detections if report else tuple(report_or_detections)
    rows = []
    for d in dets:
        row = {"incident": d.incident, "kind": d.kind,
               "hours": f"{d.start_hour}-{d.end_hour - 1}",
               "first alert": "-" if d.first_alert_hour is None else hour_label(
                   d.first_alert_hour),
               "delay (h)": d.delay_hours,
               "monitors fired": ", ".join(d.monitors) or "none"}
        if report is not None:
            row["verdict"] = report.verdicts[d.incident].label
        rows.append(row)
    return pd.DataFrame(rows)


# --- drift or attack ----------------------------------------------------------------------------


def classify_alert(alerts_frame: pd.DataFrame, monitors: Iterable[Monitor],
                   hours: Iterable[int], *, min_hours: int = 1) -> AlertVerdict:
    """Tell ordinary drift from attack for the alerts of ``hours`` (an incident's hours, or the
    hours of a run of alerts), by the course's rule: drift moves the monitors that watch the
    inputs, the predictions or performance (kinds ``"input"``, ``"prediction"``,
    ``"performance"``); an attack moves a monitor built for it (kind ``"attack"``: feature
    squeezing, an extraction or shilling detector). So the verdict is ``"attack"`` when a
    monitor of kind ``"attack"`` fired in those hours, ``"drift"`` when only the others fired,
    ``"none"`` when nothing fired. A monitor counts only when it fired in at least
    ``min_hours`` distinct hours of ``hours`` (``min_hours=2`` keeps one isolated false alarm of
    a noisy attack monitor from turning a drift into an attack); the evidence names every
    monitor that fired. The verdict is only as good as the attack monitors: an attack shaped to
    keep them quiet (the adaptive attacker) is called drift or missed.

    Introduced in lab 13 (Monitoring and response).
    """
    found = check_alerts(alerts_frame)
    monitors = check_monitors(monitors)
    kinds = {m.name: m.kind for m in monitors}
    unknown = sorted(set(found["monitor"]) - set(kinds))
    if unknown:
        raise ValueError(f"alerts name monitors that are not in monitors: {unknown}")
    min_hours = check_int(min_hours, "min_hours", minimum=1)
    wanted = set(check_hours(hours, "hours"))
    inside = found[found["hour"].isin(wanted)]
    fired = list(dict.fromkeys(inside["monitor"]))
    counted = [m for m in fired if inside.loc[inside["monitor"] == m, "hour"].nunique()
               >= min_hours]
    attack = tuple(m for m in counted if kinds[m] == "attack")
    drift = tuple(m for m in counted if kinds[m] != "attack")
    label = "attack" if attack else ("drift" if drift else "none")
    parts = []
    for m in fired:
        rows = inside[inside["monitor"] == m]
        ratio = ""
        if {"value", "threshold"} <= set(rows.columns):
            peak = rows.loc[rows["value"].idxmax()]
            if peak["threshold"] > 0:
                ratio = f", peak {peak['value'] / peak['threshold']:.2g}x its threshold"
        parts.append(f"{m} ({kinds[m]}) fired in {rows['hour'].nunique()} hour(s){ratio}")
    evidence = "; ".join(parts) if parts else "no monitor fired in these hours"
    return AlertVerdict(label, attack, drift, evidence)


def classify_incidents(alerts_frame: pd.DataFrame, monitors: Iterable[Monitor],
                       incidents: Iterable[Incident], *, min_hours: int = 1) -> pd.DataFrame:
    """:func:`classify_alert` on each incident's hours: one row per incident with its true
    ``kind``, the ``verdict``, whether they agree (``correct``; an undetected incident is not
    correct) and the ``evidence``. ``min_hours`` as in :func:`classify_alert`.

    Introduced in lab 13 (Monitoring and response).
    """
    monitors = check_monitors(monitors)
    rows = []
    for inc in incidents:
        v = classify_alert(alerts_frame, monitors, inc.hours, min_hours=min_hours)
        rows.append({"incident": inc.name, "kind": inc.kind, "verdict": v.label,
                     "correct": v.label == inc.kind, "evidence": v.evidence})
    return pd.DataFrame(rows, columns=["incident", "kind", "verdict", "correct", "evidence"])


# --- everything at once -------------------------------------------------------------------------


def monitor_week(week: Week, monitors: Iterable[Monitor], budget: float = 0.01, *,
                 method: str = "quantile", budget_over: str = "monitor",
                 frame: pd.DataFrame | None = None, resample: int | None = None,
                 calibration: pd.DataFrame | None = None, seed: int = 0,
                 min_hours: int = 1, progress: bool = False) -> WeekReport:
    """Run the monitors on the week (or use the precomputed ``frame`` of
    :func:`run_monitors`), calibrate every threshold on the benign hours at the alert
    ``budget`` (a false-alarm rate; :func:`calibrate_frame` with ``method`` and
    ``budget_over``), and measure: the alerts, each incident's
    detection and delay, the false alarms on the benign hours and on the held-out quiet hours
    (:attr:`Week.quiet_hours`), and the drift/attack verdict of each incident. Returns a
    :class:`WeekReport`.

    With ``resample=n`` the thresholds are calibrated on ``n`` windows resampled from the
    benign hours (:func:`calibration_frame`, drawn with ``seed``) instead of the 48 benign
    windows themselves; ``calibration`` passes such a frame already computed. ``min_hours``
    goes to :func:`classify_alert` for the verdicts.

    Introduced in lab 13 (Monitoring and response).
    """
    monitors = check_monitors(monitors)
    if frame is None:
        frame = run_monitors(week, monitors, progress=progress)
    else:
        frame = check_frame(frame)
        if list(frame.columns) != [m.name for m in monitors]:
            raise ValueError(f"frame's columns {list(frame.columns)} are not the monitors "
                             f"{[m.name for m in monitors]}")
        if len(frame) != len(week):
            raise ValueError(f"frame has {len(frame)} rows but the week {len(week)} windows")
    rate = _rate(budget)
    if calibration is None and resample is not None:
        calibration = calibration_frame(week, monitors, resample, seed=seed, progress=progress)
    if calibration is not None:
        calibration = check_frame(calibration)
        if list(calibration.columns) != list(frame.columns):
            raise ValueError("calibration must have the monitors' columns")
        thresholds = calibrate_frame(calibration, calibration.index, rate, method=method,
                                     budget_over=budget_over)
    else:
        thresholds = calibrate_frame(frame, week.benign_hours, rate, method=method,
                                     budget_over=budget_over)
    found = alerts(frame, thresholds)
    quiet = week.quiet_hours
    return WeekReport(
        frame=frame,
        thresholds=thresholds,
        alerts=found,
        detections=detections(found, week.incidents),
        false_alarms=false_alarm_rate(found, week.benign_hours),
        held_out_false_alarms=(false_alarm_rate(found, quiet) if quiet else None),
        verdicts={inc.name: classify_alert(found, monitors, inc.hours, min_hours=min_hours)
                  for inc in week.incidents},
        budget=rate,
        budget_over=budget_over,
    )


def largest_quiet(candidates: Sequence[float], evaluate: Callable[[float], pd.DataFrame
                                                                   | dict | float],
                  thresholds: dict[str, float] | float) -> float | None:
    """The adaptive attacker's pace: the largest of ``candidates`` (e.g. adversarial digits per
    hour, poisoned profiles per day, queries per key) whose traffic stays at or under every
    threshold. ``evaluate(c)`` gives the monitors' values under pace ``c``: a frame of
    :func:`run_monitors` (every hour must stay under), a dict monitor -> value, or one number
    (then ``thresholds`` is one number). Candidates are tried from the largest down; returns
    ``None`` when even the smallest alarms.

    Introduced in lab 13 (Monitoring and response).
    """
    cands = sorted({check_number(c, "candidate") for c in candidates}, reverse=True)
    if not cands:
        raise ValueError("candidates is empty")
    for c in cands:
        values = evaluate(c)
        if isinstance(values, pd.DataFrame):
            if alerts(values, thresholds).empty:
                return c
        elif isinstance(values, dict):
            th = dict(thresholds)
            if set(values) != set(th):
                raise ValueError(f"evaluate returned monitors {sorted(values)} but thresholds "
                                 f"name {sorted(th)}")
            if all(not (float(values[k]) > th[k]) for k in values):
                return c
        else:
            if not float(values) > check_number(thresholds, "thresholds"):
                return c
    return None


# --- streaming change detection (river) ---------------------------------------------------------


def _detector(detector: str, seed: int, params: dict):
    from river import drift
    from river.drift import binary

    name = check_choice(detector, DETECTORS, "detector")
    if name == "KSWIN":
        return drift.KSWIN(seed=seed, **params)
    if name in ("DDM", "EDDM"):
        return getattr(binary, name)(**params)
    return getattr(drift, name)(**params)


def stream_changes(values: object, detector: str = "ADWIN", *, seed: int = 0,
                   **params: Any) -> list:
    """Every point where river's change detector ``detector`` (one of :data:`DETECTORS`)
    signals a change when fed ``values`` in order (``params`` go to the detector, e.g.
    ``delta=0.002`` for ADWIN). ``values``: a 1-D array (positions are returned) or a pandas
    Series (its index labels are returned: hours, when it is a column of
    :func:`run_monitors`). DDM and EDDM watch a 0/1 error stream (1 = the model was wrong).
    Drop ``NaN`` hours first (``series.dropna()``).

    Introduced in lab 13 (Monitoring and response).
    """
    labels = list(values.index) if isinstance(values, pd.Series) else None
    arr = check_array(values.to_numpy() if labels is not None else values, "values",
                      dtype=np.float64, finite=False)
    if arr.ndim != 1:
        raise ValueError(f"values must be 1-D (one value per time step), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("values contains NaN or infinite values: drop the steps without a "
                         "value first (series.dropna())")
    seed = check_seed(seed)
    if detector in ("DDM", "EDDM") and not np.isin(arr, (0.0, 1.0)).all():
        raise ValueError(f"{detector} watches a 0/1 error stream; values must be 0 or 1")
    det = _detector(detector, seed, params)
    found = []
    for i, v in enumerate(arr):
        det.update(float(v))
        if det.drift_detected:
            found.append(labels[i] if labels is not None else i)
    return found


def stream_change(values: object, detector: str = "ADWIN", *, seed: int = 0,
                  **params: Any) -> Any:
    """The first point where river's change detector signals a change (see
    :func:`stream_changes`), ``None`` when it never does.

    Introduced in lab 13 (Monitoring and response).
    """
    found = stream_changes(values, detector, seed=seed, **params)
    return found[0] if found else None
