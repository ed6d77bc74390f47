"""Medical: a week of diagnosis requests through the API, with device drift, an extraction
campaign spread over days and keys, and a tampered model update.

The diagnosis model (lab 00's logistic regression on the 30 WDBC measurements) answers
clinicians' requests one patient at a time, labels only (lab 12's hardened API). The week
(:func:`medical_week`) is a query log: who asked (API key, account), when (hour), what
(the patient's measurements), what the deployed model answered, and, a day later, the biopsy
result (:data:`LABEL_DELAY_HOURS`).

- **Honest traffic**: clinicians of four hospitals, two keys each, sending patients drawn
  around the training patients (:func:`clinician_patients`, a Gaussian kernel density sample).
- **Ordinary drift**: a fifth hospital (four keys) joins with a differently calibrated device
  that reads every size measurement (radius, perimeter, area: :data:`DEVICE_FEATURES`) larger
  (:func:`device_shift`), until it is recalibrated.
- **Extraction**: lab 04's label-only line search (:func:`record_line_search`) on patients the
  thief holds (:func:`thief_pool`), its queries sent in order over hours and keys
  (:func:`pace_queries`), mixed, if the thief wants, with natural-looking patients as cover.
- **Tampered update**: from a given hour a different model serves (:class:`Deployment`), for
  instance the original with its malignant logit lowered (:func:`tamper_threshold`), and the
  serving files no longer verify against the team's signature.

The monitors (:func:`medical_monitors`) watch the inputs (Kolmogorov-Smirnov per feature,
:func:`ks_pvalues`), the predictions (the share called malignant; the share of queries near
the decision boundary, lab 12's global extraction detector), performance when biopsy results
arrive (missed cancers), the share of near-duplicate queries of one key (PRADA's intuition, lab
04: a line search makes tiny steps) and the integrity of the serving model;
:func:`medical_calibration` gives the resampled benign windows their thresholds are set on.
What the thief could have built from the answers it got is :func:`thief_copy` (a logistic
regression fitted like lab 04's, :func:`fit_copy`) and :func:`copy_fidelity`; whom the
provider would suspect is :func:`suspect_keys`.

Introduced in lab 13 (Monitoring and response).
"""

from __future__ import annotations

import copy as _copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..stats import Rate
from ..validate import (
    ArgumentTypeError,
    check_array,
    check_fraction,
    check_int,
    check_labels,
    check_number,
    check_positive,
    check_seed,
    check_str,
)
from . import common

__all__ = [
    "DEVICE_FEATURES",
    "LABEL_DELAY_HOURS",
    "MISSED_CANCERS",
    "Campaign",
    "Deployment",
    "MedicalWeek",
    "RecordedTheft",
    "StolenCopy",
    "clinician_patients",
    "copy_fidelity",
    "device_shift",
    "fit_copy",
    "ks_pvalues",
    "medical_calibration",
    "medical_monitors",
    "medical_week",
    "pace_queries",
    "record_line_search",
    "suspect_keys",
    "tamper_threshold",
    "thief_copy",
    "thief_pool",
]

DEVICE_FEATURES: tuple[str, ...] = ("mean radius", "mean perimeter", "mean area",
                                    "worst radius", "worst perimeter", "worst area",
                                    "radius error", "perimeter error", "area error")
"""The size measurements a differently calibrated imaging device reads larger: lengths
(radius, perimeter) by the device's factor, areas by its square.

Introduced in lab 13 (Monitoring and response)."""

MISSED_CANCERS = "missed cancers"
"""The name of the performance monitor of :func:`medical_monitors` (the share of malignant
biopsy results the model had called benign).

Introduced in lab 13 (Monitoring and response)."""

LABEL_DELAY_HOURS = 24
"""Hours between a diagnosis request and the biopsy result that says whether the tumour was
malignant (the performance monitor's late labels).

Introduced in lab 13 (Monitoring and response)."""

_HOSPITALS = ("hospital-A", "hospital-B", "hospital-C", "hospital-D")
_NEW_HOSPITAL = "hospital-E"
_KEYS_PER_HOSPITAL = 2
_NEW_HOSPITAL_KEYS = 4


# --- patients -----------------------------------------------------------------------------------


def _check_key(key: object) -> str:
    if not isinstance(key, str) or key.count("/") != 1 or not all(key.split("/")):
        raise ValueError(f"a key name reads 'account/n' (the account, a slash, a number), got "
                         f"{key!r}")
    return key


def _account(key: str) -> str:
    return key.split("/")[0]


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_seed(seed))


def clinician_patients(X, y, n: int, *, seed: int | np.random.Generator = 0,
                       bandwidth: float = 0.3) -> tuple[np.ndarray, np.ndarray | None]:
    """``n`` new patients like those of ``(X, y)`` (raw WDBC measurements and diagnoses; ``y``
    may be None): each is a patient of ``X`` drawn at random, every measurement moved by
    Gaussian noise of ``bandwidth`` times that measurement's spread in ``X`` (a kernel density
    sample), and clipped at 0 (no measurement is negative). The diagnosis is the drawn
    patient's. Returns ``(X_new, y_new)`` (``y_new`` None when ``y`` is).

    Introduced in lab 13 (Monitoring and response).
    """
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    if not len(X):
        raise ValueError("X is empty: new patients are drawn around existing ones")
    y = None if y is None else check_labels(y, len(X), "y", n_classes=2)
    n = check_int(n, "n", minimum=0)
    bandwidth = check_number(bandwidth, "bandwidth", low=0.0)
    gen = _rng(seed)
    rows = gen.integers(len(X), size=n)
    noise = gen.normal(size=(n, X.shape[1])) * X.std(axis=0) * bandwidth
    return np.clip(X[rows] + noise, 0.0, None), None if y is None else y[rows].copy()


def device_shift(X, feature_names: Sequence[str], factor: float = 1.1) -> np.ndarray:
    """The measurements ``X`` as a differently calibrated device reads them: every length of
    :data:`DEVICE_FEATURES` (radius, perimeter) multiplied by ``factor``, every area by
    ``factor ** 2``; the other measurements unchanged. Returns a new array.

    Introduced in lab 13 (Monitoring and response).
    """
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    names = [str(n) for n in feature_names]
    if len(names) != X.shape[1]:
        raise ValueError(f"feature_names has {len(names)} names for {X.shape[1]} columns")
    factor = check_positive(factor, "factor")
    missing = [f for f in DEVICE_FEATURES if f not in names]
    if missing:
        raise ValueError(f"feature_names lacks the device's measurements {missing}")
    out = X.copy()
    for name in DEVICE_FEATURES:
        out[:, names.index(name)] *= factor ** 2 if "area" in name else factor
    return out


def thief_pool(data, *, seed: int = 0, size: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Lab 04's split of the 569 WDBC patients: ``size`` patients the thief holds (without
    diagnoses: the data set is public) and the others, on which a stolen copy's fidelity is
    measured. ``data`` is ``load_dataset("medical")``; the permutation is drawn from ``seed``.
    Returns ``(X_thief, X_eval)``.

    Introduced in lab 13 (Monitoring and response).
    """
    patients = np.vstack([check_array(data.X_train, "data.X_train", ndim=2, dtype=np.float64),
                          check_array(data.X_test, "data.X_test", ndim=2, dtype=np.float64)])
    size = check_int(size, "size", minimum=2, maximum=len(patients) - 2)
    order = np.random.default_rng(check_seed(seed)).permutation(len(patients))
    return patients[order[:size]], patients[order[size:]]


# --- the model: predictions, a tampered copy ----------------------------------------------------


def _predict_proba(system, X: np.ndarray) -> np.ndarray:
    proba = np.asarray(system.predict_proba(X), dtype=np.float64)
    if proba.shape != (len(X), 2):
        raise ValueError(f"the system must answer (n, 2) probabilities, got {proba.shape}")
    return proba[:, 1]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def tamper_threshold(system, X, y, *, share: float = 0.5) -> Any:
    """A tampered copy of the diagnosis system: its logistic regression's intercept lowered by
    the amount that calls ``share`` of the malignant cases of ``(X, y)`` benign (lab 11's
    ``supplychain.intercept_shift_for``). In effect the decision threshold moves: the copy
    misses cancers and raises no new false alarm. ``system`` is left unchanged.

    Introduced in lab 13 (Monitoring and response).
    """
    from ..supplychain.medical import intercept_shift_for

    share = check_fraction(share, "share", allow_zero=False)
    estimator = getattr(system, "estimator", None)
    final = getattr(estimator, "steps", [(None, estimator)])[-1][1]
    if not hasattr(final, "intercept_"):
        raise ArgumentTypeError("system must be a fitted logistic-regression system such as "
                                "systems.reference_system('medical')")
    delta = intercept_shift_for(system, X, y, share=share)
    tampered = _copy.deepcopy(system)
    tampered_final = getattr(tampered.estimator, "steps", [(None, tampered.estimator)])[-1][1]
    tampered_final.intercept_ = tampered_final.intercept_ - delta
    tampered.source_ = f"tampered: malignant logit lowered by {delta:.2f}"
    return tampered


# --- the thief ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedTheft:
    """Lab 04's line search run against the model, with every query it made, in order.

    Introduced in lab 13 (Monitoring and response).
    """

    queries: np.ndarray
    """Every query of the attack, in the order it made them (rows of raw measurements)."""
    result: object
    """Lab 04's ``extraction.LineSearchResult`` (the copy the full attack builds)."""

    def __len__(self) -> int:
        return len(self.queries)


def record_line_search(system, X_pool, *, seed: int = 0, **params) -> RecordedTheft:
    """Run lab 04's label-only line search (``extraction.line_search_attack``, ``params`` passed
    on) against ``system`` answering labels only, and keep every query in order: the campaign a
    thief would send through the API. The search is adaptive, so the order matters; sending the
    same queries later, over other keys, gets the same answers as long as the same model serves.

    Introduced in lab 13 (Monitoring and response).
    """
    from ..extraction.common import harden
    from ..extraction.medical import line_search_attack

    X_pool = check_array(X_pool, "X_pool", ndim=2, dtype=np.float64)
    sent: list[np.ndarray] = []

    def api(X):
        X = np.array(X, dtype=np.float64)
        sent.append(X)
        return harden(np.asarray(system.predict_proba(X), dtype=np.float64), "labels")

    result = line_search_attack(api, X_pool, seed=check_seed(seed), **params)
    return RecordedTheft(np.vstack(sent), result)


@dataclass(frozen=True)
class Campaign:
    """An extraction campaign's schedule: which query goes out at which hour with which key.

    Introduced in lab 13 (Monitoring and response).
    """

    keys: tuple[str, ...]
    """The thief's API keys, named ``"account/n"`` (the account each belongs to, a slash, a
    number)."""
    X: np.ndarray
    """Every query the thief sends, in order (attack queries and cover patients)."""
    hours: np.ndarray
    """The hour each query is sent."""
    key_of: np.ndarray
    """The key each query is sent with."""
    is_cover: np.ndarray
    """True for a natural-looking cover patient, False for a query of the attack."""

    def __len__(self) -> int:
        return len(self.X)

    @property
    def accounts(self) -> tuple[str, ...]:
        """The accounts the thief's keys belong to."""
        return tuple(dict.fromkeys(_account(k) for k in self.keys))

    @property
    def start_hour(self) -> int:
        """The hour of the first query."""
        return int(self.hours.min())

    @property
    def end_hour(self) -> int:
        """One past the hour of the last query (like ``range``)."""
        return int(self.hours.max()) + 1


def pace_queries(queries, *, start_hour: int, per_hour: float, keys: Sequence[str],
                  cover=None, cover_per_query: float = 0.0,
                  end_hour: int = common.HOURS, avoid_radius: float | None = None,
                  memory: int = 24, scale=None) -> Campaign:
    """Schedule an attack's ``queries`` (in order) from ``start_hour``: ``per_hour`` attack
    queries an hour (a fraction means one query every few hours), and ``cover_per_query``
    natural-looking patients (rows of ``cover``, in order) sent with each attack query as
    cover. Queries that would fall at or after ``end_hour`` are not sent (the week is over).

    Keys (named ``"account/n"``: the account, a slash, a number): used in turn; with
    ``avoid_radius`` (the thief who knows a per-key near-duplicate
    monitor), each query goes to the next key that sent nothing within ``avoid_radius`` of it
    (RMS distance, in units of ``scale``: each measurement's spread as the thief knows it, e.g.
    in its own pool; default the spread of ``queries``) in the last ``memory`` hours, or, if
    every key did, to the key whose nearest such query is farthest. Returns a
    :class:`Campaign`.

    Introduced in lab 13 (Monitoring and response).
    """
    queries = check_array(queries, "queries", ndim=2, dtype=np.float64)
    start_hour = check_int(start_hour, "start_hour", minimum=0)
    per_hour = check_positive(per_hour, "per_hour")
    end_hour = check_int(end_hour, "end_hour", minimum=start_hour + 1)
    if isinstance(keys, str) or not keys or not all(isinstance(k, str) for k in keys):
        raise ArgumentTypeError("keys must be a non-empty sequence of key names")
    keys = tuple(_check_key(k) for k in keys)
    if len(set(keys)) != len(keys):
        raise ValueError("keys must be distinct")
    cover_per_query = check_number(cover_per_query, "cover_per_query", low=0.0)
    n_cover = 0
    if cover_per_query > 0:
        if cover is None:
            raise ValueError("cover_per_query > 0 needs cover patients (cover=...)")
        cover = check_array(cover, "cover", ndim=2, dtype=np.float64)
        if cover.shape[1] != queries.shape[1]:
            raise ValueError(f"cover has {cover.shape[1]} columns, queries {queries.shape[1]}")
    rows, hours, is_cover = [], [], []
    owed = 0.0
    for i, q in enumerate(queries):
        hour = start_hour + int(math.floor(i / per_hour + 1e-9))
        if hour >= end_hour:
            break
        owed += cover_per_query
        while owed >= 1 - 1e-9:
            if n_cover >= len(cover):
                raise ValueError(f"cover holds {len(cover)} patients, the campaign needs more")
            rows.append(cover[n_cover])
            hours.append(hour)
            is_cover.append(True)
            n_cover += 1
            owed -= 1
        rows.append(q)
        hours.append(hour)
        is_cover.append(False)
    if not rows:
        raise ValueError("no query falls before end_hour")
    X = np.vstack(rows)
    hours_arr = np.array(hours, dtype=np.int64)
    if avoid_radius is None:
        key_of = np.array([keys[i % len(keys)] for i in range(len(rows))], dtype=object)
    else:
        spread = queries.std(axis=0) if scale is None else check_array(
            scale, "scale", ndim=1, dtype=np.float64)
        if spread.shape != (queries.shape[1],) or (spread < 0).any():
            raise ValueError(f"scale must hold one spread >= 0 per column ({queries.shape[1]})")
        key_of = _spread_keys(X, hours_arr, keys, check_positive(avoid_radius, "avoid_radius"),
                              check_int(memory, "memory", minimum=1), spread)
    return Campaign(keys, X, hours_arr, key_of, np.array(is_cover, dtype=bool))


def _spread_keys(X: np.ndarray, hours: np.ndarray, keys: tuple[str, ...], radius: float,
                 memory: int, spread: np.ndarray) -> np.ndarray:
    """The adaptive thief's choice of key for each query: the next key in turn with nothing of
    its own within ``radius`` in the last ``memory`` hours, else the one whose nearest is
    farthest."""
    Z = X / (spread + 1e-12)
    d = X.shape[1]
    sent: dict[str, list[int]] = {k: [] for k in keys}
    out = np.empty(len(X), dtype=object)
    turn = 0
    for i in range(len(X)):
        best, best_gap = None, -1.0
        for j in range(len(keys)):
            key = keys[(turn + j) % len(keys)]
            mine = [r for r in sent[key] if hours[i] - hours[r] <= memory]
            gap = (float(np.sqrt(((Z[mine] - Z[i]) ** 2).sum(axis=1).min() / d)) if mine
                   else math.inf)
            if gap >= radius:
                best = key
                break
            if gap > best_gap:
                best, best_gap = key, gap
        out[i] = best
        sent[best].append(i)
        turn = (keys.index(best) + 1) % len(keys)
    return out


@dataclass(frozen=True)
class StolenCopy:
    """A linear copy of the diagnosis model fitted to the labels a thief got.

    Introduced in lab 13 (Monitoring and response).
    """

    w: np.ndarray
    """Weights on raw measurements (up to scale: labels carry no confidence)."""
    b: float
    """Intercept (same scale)."""
    n_queries: int
    """Labelled queries it was fitted on."""

    def predict(self, X) -> np.ndarray:
        """The copy's diagnosis (1 = malignant) for each row of ``X``."""
        X = check_array(X, "X", ndim=2, dtype=np.float64)
        return (X @ self.w + self.b >= 0).astype(np.int64)


def fit_copy(X, labels, X_pool) -> StolenCopy:
    """The copy a thief fits to its labelled queries ``(X, labels)``, as lab 04's line search
    does: a nearly unregularised logistic regression (``C=1e4``) on measurements standardised
    with the thief's own pool ``X_pool``. With one label only, the copy answers that label for
    everyone.

    Introduced in lab 13 (Monitoring and response).
    """
    from sklearn.linear_model import LogisticRegression

    X = check_array(X, "X", ndim=2, dtype=np.float64)
    X_pool = check_array(X_pool, "X_pool", ndim=2, dtype=np.float64)
    if not len(X):
        raise ValueError("X is empty: a copy needs at least one labelled query")
    labels = check_labels(labels, len(X), "labels", n_classes=2)
    if X_pool.shape[1] != X.shape[1]:
        raise ValueError(f"X_pool has {X_pool.shape[1]} columns, X {X.shape[1]}")
    d = X.shape[1]
    if len(np.unique(labels)) < 2:
        return StolenCopy(np.zeros(d), 1.0 if labels[0] == 1 else -1.0, len(X))
    mean, std = X_pool.mean(axis=0), X_pool.std(axis=0) + 1e-12
    lr = LogisticRegression(C=1e4, max_iter=20000).fit((X - mean) / std, labels)
    w = lr.coef_[0] / std
    return StolenCopy(w, float(lr.intercept_[0] - w @ mean), len(X))


def copy_fidelity(stolen, system, X_eval, *, on: str = "") -> Rate:
    """The share of the patients ``X_eval`` that ``stolen`` diagnoses like ``system`` (lab 04's
    ``extraction.fidelity``, with its Wilson interval).

    Introduced in lab 13 (Monitoring and response).
    """
    from ..extraction.common import fidelity

    if not hasattr(stolen, "predict") or not hasattr(system, "predict"):
        raise ArgumentTypeError("stolen and system must both have predict()")
    X_eval = check_array(X_eval, "X_eval", ndim=2, dtype=np.float64)
    return fidelity(np.asarray(stolen.predict(X_eval)), np.asarray(system.predict(X_eval)),
                    on=on or f"{len(X_eval)} patients the thief never saw")


# --- the week -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deployment:
    """The model that serves from ``hour`` on: its ``version`` name, the fitted ``system``, and
    whether its serving files ``verified`` against the team's signature (lab 11).

    Introduced in lab 13 (Monitoring and response).
    """

    hour: int
    version: str
    system: object
    verified: bool

    def __post_init__(self) -> None:
        check_int(self.hour, "hour", minimum=0)
        check_str(self.version, "version")
        if not hasattr(self.system, "predict_proba"):
            raise ArgumentTypeError("system must have predict_proba (a fitted system)")
        if not isinstance(self.verified, bool):
            raise ArgumentTypeError(f"verified must be a bool, got {self.verified!r}")


@dataclass(frozen=True)
class MedicalWeek:
    """The simulated week of the diagnosis API.

    Introduced in lab 13 (Monitoring and response).
    """

    week: common.Week
    """The hourly windows (for ``common.run_monitors``) and the incidents."""
    log: pd.DataFrame
    """One row per query, in order: ``hour``, ``key``, ``account``, ``source`` (clinician,
    new hospital, thief, thief cover), ``y_true`` (the biopsy result; NaN for the thief's
    queries), ``proba`` and ``label`` (what the deployed model computed and answered),
    ``logit``, ``version`` (the model that answered), ``dup_distance`` (to the nearest earlier
    query of the same key within the memory, standardised units; inf when none)."""
    X: np.ndarray
    """The queries' measurements, one row per row of ``log``."""
    deployments: tuple[Deployment, ...]
    """The models that served, in order."""
    reference_share: float
    """The share of training patients the first deployment calls malignant (the prediction
    monitor's reference)."""

    def rows_of(self, accounts: str | Sequence[str], *,
                until_hour: int | None = None) -> np.ndarray:
        """Positions in ``log`` of the queries of ``accounts`` (one name or several; sent at
        or before ``until_hour``, if given)."""
        names = [accounts] if isinstance(accounts, str) else list(accounts)
        mask = self.log["account"].isin(names).to_numpy()
        if until_hour is not None:
            mask = mask & (self.log["hour"] <= until_hour).to_numpy()
        return np.flatnonzero(mask)


def _dup_distances(X_std: np.ndarray, hours: np.ndarray, keys: np.ndarray,
                   memory: int) -> np.ndarray:
    """For each query (rows in time order), the RMS distance (standardised units) to the
    nearest earlier query of the same key sent within ``memory`` hours; inf when none."""
    out = np.full(len(X_std), np.inf)
    d = X_std.shape[1]
    for key in pd.unique(keys):
        idx = np.flatnonzero(keys == key)
        Z, h = X_std[idx], hours[idx]
        sq = (Z ** 2).sum(axis=1)
        bounds = np.searchsorted(h, np.unique(h), side="left")
        for start, stop in zip(bounds, list(bounds[1:]) + [len(idx)], strict=True):
            lo = int(np.searchsorted(h, h[start] - memory, side="left"))
            if stop - lo < 2:
                continue
            cross = sq[start:stop, None] + sq[None, lo:stop] - 2 * Z[start:stop] @ Z[lo:stop].T
            dist = np.sqrt(np.maximum(cross, 0.0) / d)
            later = np.arange(start, stop)[:, None] <= np.arange(lo, stop)[None, :]
            dist[later] = np.inf  # only earlier queries count
            out[idx[start:stop]] = dist.min(axis=1)
    return out


def medical_week(system, data, *, seed: int = 0, campaign: Campaign | None = None,
                 deployments: Sequence[Deployment] = (), drift_hour: int | None = 56,
                 recalibrated_hour: int | None = 72,
                 per_hour: float = 40.0, daily_cycle: float = 0.0,
                 new_hospital_share: float = 0.4,
                 device_factor: float = 1.1, dup_memory: int = 24, feedback_hours: int = 1,
                 campaign_name: str = "extraction campaign",
                 tamper_name: str = "tampered model update") -> MedicalWeek:
    """Simulate the week of the diagnosis API (168 hourly windows).

    Clinicians of four hospitals (two keys each) send ``per_hour`` patients an hour on
    average (Poisson; ``daily_cycle`` > 0 adds a day-night swing of that share, peaking at
    14:00; off by default, because the thresholds are calibrated on windows resampled from
    the benign hours, which assumes hours alike), drawn by :func:`clinician_patients`
    from ``data``'s training patients. From ``drift_hour`` (None: never) a fifth hospital (four
    keys) adds ``new_hospital_share`` times that volume, measured with a device that reads
    sizes ``device_factor`` larger (:func:`device_shift`) until its engineers recalibrate it at
    ``recalibrated_hour`` (None: never): the ordinary drift. ``campaign`` (a
    :class:`Campaign`) adds the thief's queries at their hours and keys. ``system`` serves from
    hour 0; each of ``deployments`` replaces the serving model from its hour (a deployment
    that does not verify is the tampered update). Biopsy results arrive
    :data:`LABEL_DELAY_HOURS` later: each window's ``meta`` carries the results that arrived
    in the last ``feedback_hours`` hours. Everything random is drawn from ``seed``.

    Window ``meta`` (what the monitors read): ``key``, ``proba``, ``label``, ``logit`` and
    ``dup_distance`` per query, ``feedback_label`` and ``feedback_true`` (diagnoses given a
    day earlier and their biopsy results, arrived in the last ``feedback_hours``),
    ``verified`` (the serving files match the team's signature), ``version``; and, never read
    by a monitor, ``source`` and ``is_attack``.

    Introduced in lab 13 (Monitoring and response).
    """
    seed = check_seed(seed)
    X_train = check_array(data.X_train, "data.X_train", ndim=2, dtype=np.float64)
    y_train = check_labels(data.y_train, len(X_train), "data.y_train", n_classes=2)
    names = list(getattr(data, "feature_names", [f"feature {j}" for j in range(X_train.shape[1])]))
    per_hour = check_positive(per_hour, "per_hour")
    daily_cycle = check_fraction(daily_cycle, "daily_cycle")
    new_hospital_share = check_number(new_hospital_share, "new_hospital_share", low=0.0)
    dup_memory = check_int(dup_memory, "dup_memory", minimum=1)
    feedback_hours = check_int(feedback_hours, "feedback_hours", minimum=1)
    if drift_hour is not None:
        drift_hour = check_int(drift_hour, "drift_hour", minimum=max(common.BENIGN_HOURS) + 1,
                               maximum=common.HOURS - 1)
    drift_end = common.HOURS
    if drift_hour is not None and recalibrated_hour is not None:
        drift_end = check_int(recalibrated_hour, "recalibrated_hour", minimum=drift_hour + 1,
                              maximum=common.HOURS)
    if campaign is not None and not isinstance(campaign, Campaign):
        raise ArgumentTypeError(f"campaign must be a Campaign (pace_queries), got "
                                f"{type(campaign).__name__}")
    if campaign is not None and campaign.start_hour <= max(common.BENIGN_HOURS):
        raise ValueError("the campaign starts in the benign calibration hours (0-47)")
    if not hasattr(system, "predict_proba"):
        raise ArgumentTypeError("system must be a fitted system with predict_proba")
    deps = [Deployment(0, "v1", system, True)] + sorted(
        (d for d in deployments), key=lambda d: d.hour)
    for d in deps[1:]:
        if not isinstance(d, Deployment):
            raise ArgumentTypeError("deployments must hold Deployment objects")
        if d.hour <= max(common.BENIGN_HOURS):
            raise ValueError(f"deployment {d.version!r} at hour {d.hour} falls in the benign "
                             "calibration hours (0-47)")
    gen = np.random.default_rng(seed)  # the honest traffic: the same whatever the thief does
    gen_order = np.random.default_rng([seed, 1])  # the arrival order within each hour
    honest_keys = [f"{h}/{k + 1}" for h in _HOSPITALS for k in range(_KEYS_PER_HOSPITAL)]
    new_keys = [f"{_NEW_HOSPITAL}/{k + 1}" for k in range(_NEW_HOSPITAL_KEYS)]

    all_hours = np.arange(common.HOURS)
    rate = per_hour * (1 + daily_cycle * np.sin(2 * np.pi * (all_hours % 24 - 8) / 24))
    counts = gen.poisson(rate)
    X_c, y_c = clinician_patients(X_train, y_train, int(counts.sum()), seed=gen)
    blocks = [(np.repeat(all_hours, counts), X_c, y_c.astype(float),
               gen.choice(honest_keys, size=len(X_c)), "clinician")]
    if drift_hour is not None and new_hospital_share > 0:
        counts_new = gen.poisson(rate * new_hospital_share) * (all_hours >= drift_hour)
        X_n, y_n = clinician_patients(X_train, y_train, int(counts_new.sum()), seed=gen)
        hours_new = np.repeat(all_hours, counts_new)
        miscalibrated = hours_new < drift_end
        X_n[miscalibrated] = device_shift(X_n[miscalibrated], names, device_factor)
        blocks.append((hours_new, X_n, y_n.astype(float), gen.choice(new_keys, size=len(X_n)),
                       "new hospital"))
    if campaign is not None:
        if (np.diff(campaign.hours) < 0).any():
            raise ValueError("the campaign's hours must not decrease (its queries are in order)")
        blocks.append((campaign.hours, campaign.X, np.full(len(campaign), np.nan),
                       campaign.key_of, np.where(campaign.is_cover, "thief cover", "thief")))
    hours = np.concatenate([b[0] for b in blocks]).astype(np.int64)
    X_all = np.vstack([b[1] for b in blocks])
    y_all = np.concatenate([b[2] for b in blocks])
    key_all = np.concatenate([np.asarray(b[3], dtype=object) for b in blocks])
    src_all = np.concatenate([np.broadcast_to(np.asarray(b[4], dtype=object), len(b[1]))
                              for b in blocks])
    # arrival order within each hour: random, except that the thief's queries keep their own
    # order (its line search is sequential): they take the hour's slots they drew, in order
    priority = gen_order.random(len(X_all))
    thief = np.isin(src_all, ("thief", "thief cover"))
    t_idx = np.flatnonzero(thief)
    priority[t_idx] = priority[t_idx][np.lexsort((priority[t_idx], hours[t_idx]))]
    order = np.lexsort((priority, hours))
    hours, X_all, y_all = hours[order], X_all[order], y_all[order]
    key_all, src_all = key_all[order], src_all[order]
    account = np.array([_account(k) for k in key_all], dtype=object)
    proba = np.empty(len(X_all))
    version = np.empty(len(X_all), dtype=object)
    for i, d in enumerate(deps):
        until = deps[i + 1].hour if i + 1 < len(deps) else common.HOURS
        sel = (hours >= d.hour) & (hours < until)
        if sel.any():
            proba[sel] = _predict_proba(d.system, X_all[sel])
        version[sel] = d.version
    label = (proba >= 0.5).astype(np.int64)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0) + 1e-12
    dup = _dup_distances((X_all - mean) / std, hours, key_all, dup_memory)
    log = pd.DataFrame({"hour": hours, "key": key_all, "account": account, "source": src_all,
                        "y_true": y_all, "proba": proba, "label": label,
                        "logit": _logit(proba), "version": version, "dup_distance": dup})

    windows = []
    starts = np.searchsorted(hours, np.arange(common.HOURS + 1))
    verified_at = {}
    for i, d in enumerate(deps):
        until = deps[i + 1].hour if i + 1 < len(deps) else common.HOURS
        for h in range(d.hour, until):
            verified_at[h] = (d.verified, d.version)
    for hour in range(common.HOURS):
        a, b = starts[hour], starts[hour + 1]
        rows = slice(a, b)
        fb = hour - LABEL_DELAY_HOURS
        if fb >= 0:  # the results that arrived in the last `feedback_hours` hours
            fa, fz = starts[max(fb - feedback_hours + 1, 0)], starts[fb + 1]
            known = ~np.isnan(y_all[fa:fz])
            fb_label, fb_true = label[fa:fz][known], y_all[fa:fz][known].astype(np.int64)
        else:
            fb_label = fb_true = np.zeros(0, dtype=np.int64)
        verified, ver = verified_at[hour]
        meta = {"key": key_all[rows], "proba": proba[rows], "label": label[rows],
                "logit": log["logit"].to_numpy()[rows], "dup_distance": dup[rows],
                "feedback_label": fb_label, "feedback_true": fb_true,
                "verified": verified, "version": ver,
                "source": src_all[rows], "is_attack": np.isin(src_all[rows], ("thief",))}
        windows.append(common.Window(hour, X_all[rows], y_all[rows],
                                     hour + LABEL_DELAY_HOURS, meta))

    incidents = []
    if drift_hour is not None and new_hospital_share > 0:
        incidents.append(common.Incident(
            "new hospital's device", "drift", drift_hour, drift_end,
            f"{_NEW_HOSPITAL} joins; its device reads sizes {device_factor - 1:.0%} larger "
            "(areas by the square) until it is recalibrated"))
    if campaign is not None:
        incidents.append(common.Incident(
            campaign_name, "attack", campaign.start_hour, campaign.end_hour,
            f"{int((~campaign.is_cover).sum())} line-search queries"
            + (f" and {int(campaign.is_cover.sum())} cover patients" if campaign.is_cover.any()
               else "") + f" over {len(campaign.keys)} keys of "
            + ", ".join(campaign.accounts)))
    bad = [d for d in deps[1:] if not d.verified]
    if bad:
        incidents.append(common.Incident(
            tamper_name, "attack", bad[0].hour, common.HOURS,
            f"model {bad[0].version} serves; its files do not match the team's signature"))
    reference_share = float((_predict_proba(system, X_train) >= 0.5).mean())
    return MedicalWeek(common.Week("medical", tuple(windows), tuple(incidents)), log, X_all,
                       tuple(deps), reference_share)


# --- monitors -----------------------------------------------------------------------------------


def ks_pvalues(reference, current, *, presorted: bool = False) -> np.ndarray:
    """The two-sided two-sample Kolmogorov-Smirnov p-value of every column of ``current``
    against the same column of ``reference``, from the asymptotic Kolmogorov distribution
    with Stephens' small-sample correction: ``kolmogorov((sqrt(e) + 0.12 + 0.11 / sqrt(e)) * D)``
    with ``e = n m / (n + m)`` (what ``scipy.stats.ks_2samp`` returned before scipy 1.5; within
    0.02 of its ``method="asymp"`` p-values). ``presorted``: ``reference``'s columns are sorted
    already.

    Vectorised by hand because ``ks_2samp`` loops over the columns in Python and computes the
    exact finite-sample distribution for each (Pomeranz's recursion): 30 measurements in 168
    windows plus 300 calibration windows took 8 s with it, 0.1 s here.
    Introduced in lab 13 (Monitoring and response).
    """
    from scipy.special import kolmogorov

    ref = check_array(reference, "reference", ndim=2, dtype=np.float64)
    cur = check_array(current, "current", ndim=2, dtype=np.float64)
    if ref.shape[1] != cur.shape[1]:
        raise ValueError(f"reference has {ref.shape[1]} columns, current {cur.shape[1]}")
    if not len(ref) or not len(cur):
        raise ValueError("reference and current need at least one row each")
    if not presorted:
        ref = np.sort(ref, axis=0)
    cur = np.sort(cur, axis=0)
    n, m = len(ref), len(cur)
    stat = np.empty(ref.shape[1])
    for j in range(ref.shape[1]):
        points = np.concatenate([ref[:, j], cur[:, j]])
        cdf_ref = np.searchsorted(ref[:, j], points, side="right") / n
        cdf_cur = np.searchsorted(cur[:, j], points, side="right") / m
        stat[j] = np.abs(cdf_ref - cdf_cur).max()
    root = math.sqrt(n * m / (n + m))
    return np.clip(kolmogorov((root + 0.12 + 0.11 / root) * stat), 0.0, 1.0)


def medical_monitors(reference, reference_share: float, *, margin: float = 1.0,
                     dup_radius: float = 0.1) -> tuple[common.Monitor, ...]:
    """The monitors of the diagnosis API, each a ``common.Monitor`` on a window of
    :func:`medical_week` (higher = more suspicious):

    - ``input drift`` (input): ``-log10`` of the smallest Holm-adjusted Kolmogorov-Smirnov
      p-value of the 30 measurements against ``reference`` (the training patients);
    - ``malignant share`` (prediction): how far the share of patients called malignant lies
      from ``reference_share``, in either direction;
    - ``missed cancers`` (performance): the share of the malignant biopsy results arrived in
      the window's feedback (the last hours) that the model had called benign (NaN when none);
    - ``near-boundary share`` (prediction): the share of queries with ``|logit| < margin``, the
      low-confidence answers (lab 12's global extraction detector; the provider knows its
      model). Its kind is "prediction", not "attack": drift that moves patients towards the
      boundary raises it too;
    - ``near-duplicates`` (attack): the share of queries within ``dup_radius`` (RMS,
      standardised units) of an earlier query of the same key in the last day;
    - ``model integrity`` (attack): 1 when the serving files do not verify against the team's
      signature, else 0.

    Introduced in lab 13 (Monitoring and response).
    """
    reference = check_array(reference, "reference", ndim=2, dtype=np.float64)
    reference_share = check_fraction(reference_share, "reference_share")
    margin = check_positive(margin, "margin")
    dup_radius = check_positive(dup_radius, "dup_radius")
    ref_sorted = np.sort(reference, axis=0)

    def input_drift(w: common.Window) -> float:
        if len(w) < 5:
            return math.nan
        p = ks_pvalues(ref_sorted, np.asarray(w.X, dtype=np.float64), presorted=True)
        # the smallest Holm-adjusted p-value is the smallest p-value times the number of tests
        return float(-np.log10(max(min(1.0, len(p) * p.min()), 1e-300)))

    def malignant_share(w: common.Window) -> float:
        if not len(w):
            return math.nan
        return float(abs(np.mean(w.meta["label"]) - reference_share))

    def missed(w: common.Window) -> float:
        truth = np.asarray(w.meta["feedback_true"])
        if not (truth == 1).any():
            return math.nan
        return float(np.mean(np.asarray(w.meta["feedback_label"])[truth == 1] == 0))

    def near_boundary_share(w: common.Window) -> float:
        if not len(w):
            return math.nan
        return float(np.mean(np.abs(np.asarray(w.meta["logit"])) < margin))

    def near_duplicates(w: common.Window) -> float:
        if not len(w):
            return math.nan
        return float(np.mean(np.asarray(w.meta["dup_distance"]) < dup_radius))

    def integrity(w: common.Window) -> float:
        return 0.0 if w.meta["verified"] else 1.0

    return (
        common.Monitor("input drift", input_drift, "input",
                       "-log10 of the smallest Holm-adjusted KS p-value of the 30 measurements"),
        common.Monitor("malignant share", malignant_share, "prediction",
                       f"|share called malignant - {reference_share:.2f}|"),
        common.Monitor(MISSED_CANCERS, missed, "performance",
                       "share of the malignant biopsy results arriving this hour called benign"),
        common.Monitor("near-boundary share", near_boundary_share, "prediction",
                       f"share of queries with |logit| < {margin:g}"),
        common.Monitor("near-duplicates", near_duplicates, "attack",
                       f"share of queries within {dup_radius:g} of one of the same key's in 24 h"),
        common.Monitor("model integrity", integrity, "attack",
                       "1 when the serving files fail verification against the signature"),
    )


def medical_calibration(mweek: MedicalWeek, monitors: Sequence[common.Monitor],
                        n_windows: int = 300, *, seed: int = 0) -> pd.DataFrame:
    """The monitors on ``n_windows`` windows resampled from the benign hours, to calibrate the
    thresholds on (``common.calibration_frame``), with one change: the biopsy results a window
    carries are not one per query, so ``common.resample_windows`` would copy one hour's results
    into every window; the ``missed cancers`` column is recomputed on results resampled on their
    own (drawn with replacement from every benign hour's results, as many per window as the
    median benign hour receives).

    Introduced in lab 13 (Monitoring and response).
    """
    if not isinstance(mweek, MedicalWeek):
        raise ArgumentTypeError(f"mweek must be a MedicalWeek, got {type(mweek).__name__}")
    seed = check_seed(seed)
    frame = common.calibration_frame(mweek.week, monitors, n_windows, seed=seed)
    if MISSED_CANCERS in frame.columns:
        benign = [mweek.week.windows[h] for h in mweek.week.benign_hours]
        with_results = [w for w in benign if len(w.meta["feedback_true"])]
        if not with_results:
            raise ValueError("no biopsy result arrives in the benign hours: the missed-cancer "
                             "monitor cannot be calibrated")
        label = np.concatenate([w.meta["feedback_label"] for w in with_results])
        truth = np.concatenate([w.meta["feedback_true"] for w in with_results])
        size = int(np.median([len(w.meta["feedback_true"]) for w in with_results]))
        gen = np.random.default_rng([seed, 13])
        values = []
        for _ in range(len(frame)):
            idx = gen.integers(0, len(truth), size)
            sick = truth[idx] == 1
            values.append(float(np.mean(label[idx][sick] == 0)) if sick.any() else math.nan)
        frame[MISSED_CANCERS] = values
    return frame


# --- what the thief got, whom to suspect --------------------------------------------------------


def thief_copy(mweek: MedicalWeek, accounts: str | Sequence[str], X_pool, *,
               until_hour: int | None = None) -> StolenCopy:
    """The copy the thief of ``accounts`` (one account or several) could build from the answers
    it got (all its queries,
    cover included, sent at or before ``until_hour``; None: the whole week), fitted by
    :func:`fit_copy` with the thief's pool ``X_pool``.

    Introduced in lab 13 (Monitoring and response).
    """
    if not isinstance(mweek, MedicalWeek):
        raise ArgumentTypeError(f"mweek must be a MedicalWeek, got {type(mweek).__name__}")
    if isinstance(accounts, str):
        accounts = [accounts]
    accounts = [check_str(a, "account") for a in accounts]
    if until_hour is not None:
        until_hour = check_int(until_hour, "until_hour", minimum=0)
    rows = mweek.rows_of(accounts, until_hour=until_hour)
    if not len(rows):
        raise ValueError(f"{accounts} sent no query"
                         + ("" if until_hour is None else f" by hour {until_hour}"))
    return fit_copy(mweek.X[rows], mweek.log["label"].to_numpy()[rows], X_pool)


def suspect_keys(mweek: MedicalWeek, until_hour: int, *, lookback: int = 24,
                 margin: float = 1.0, dup_radius: float = 0.1, min_duplicates: int = 1,
                 min_hits: int = 3, min_share: float = 0.3) -> pd.DataFrame:
    """The keys the provider would suspect at ``until_hour`` (say, the hour of an extraction
    alert), from the ``lookback`` hours of log up to it: every key that sent at least
    ``min_duplicates`` near-duplicates (within ``dup_radius`` of its own earlier query: honest
    clinicians send new patients), or at least ``min_hits`` queries near the boundary
    (``|logit| < margin``) making up at least ``min_share`` of its queries (honest clinicians
    send a few near-boundary patients a day, never a third of their traffic). Returns one row
    per key seen in those hours (``key``, ``account``, ``queries``, ``near_boundary``,
    ``near_share``, ``near_duplicates``, ``suspect``), suspects first.

    Introduced in lab 13 (Monitoring and response).
    """
    if not isinstance(mweek, MedicalWeek):
        raise ArgumentTypeError(f"mweek must be a MedicalWeek, got {type(mweek).__name__}")
    until_hour = check_int(until_hour, "until_hour", minimum=0, maximum=common.HOURS - 1)
    lookback = check_int(lookback, "lookback", minimum=1)
    margin = check_positive(margin, "margin")
    dup_radius = check_positive(dup_radius, "dup_radius")
    min_duplicates = check_int(min_duplicates, "min_duplicates", minimum=1)
    min_hits = check_int(min_hits, "min_hits", minimum=1)
    min_share = check_fraction(min_share, "min_share")
    log = mweek.log
    recent = log[(log["hour"] > until_hour - lookback) & (log["hour"] <= until_hour)]
    frame = recent.assign(near=recent["logit"].abs() < margin,
                          dup=recent["dup_distance"] < dup_radius).groupby(
        ["key", "account"], sort=True).agg(queries=("hour", "size"), near_boundary=("near", "sum"),
                                           near_duplicates=("dup", "sum")).reset_index()
    frame.insert(4, "near_share", frame["near_boundary"] / frame["queries"])
    frame["suspect"] = (frame["near_duplicates"] >= min_duplicates) | (
        (frame["near_boundary"] >= min_hits) & (frame["near_share"] >= min_share))
    return frame.sort_values(["suspect", "near_duplicates", "near_share"],
                             ascending=False).reset_index(drop=True)
