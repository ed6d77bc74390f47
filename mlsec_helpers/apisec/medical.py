"""Medical: lab 04's theft of the diagnosis model, through the lab's real HTTP API.

Lab 04 stole the logistic diagnosis model from a Python function. Here the same attacks go
through ``POST /v1/medical/predict`` of the FastAPI app (``common.build_app``), one patient per
request, with a :class:`~.common.ManualClock` so that rates and durations are simulated time and
the numbers do not depend on the machine:

* honest clinicians are a stream of patients at a realistic pace (:func:`clinic_day`: sessions
  of a few patients, far apart); :func:`rate_limit_sweep` measures, for candidate token-bucket
  settings, the share of their requests a per-key limit would refuse and how long the
  single-key line search would then take;
* :class:`TrafficSim` plays the honest clinicians in the background while a thief sends its
  queries, in time order, through a transport: :class:`HttpTransport` (the real app, in
  process) or :class:`DirectTransport` (the same rules without HTTP, for long what-if runs);
* :class:`ApiThief` is the thief's client, a callable ``api(X)`` that lab 04's
  ``equation_solving_attack`` and ``line_search_attack`` take as they are: it spreads its
  queries over one or several API keys, paces each key (and itself), may wait out a 429
  (``patient``), and stops at the first refusal it cannot wait out (:class:`ThiefStopped`),
  keeping every answer it got;
* :func:`fit_label_copy` builds the copy from the labelled points a thief holds (after a stop,
  the theft's partial result), :func:`keys_needed` the accounts a patient thief needs.

Written by hand: this is a traffic simulation of the lab's own API, which no library provides.

Introduced in lab 12 (API security).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..stats import Rate, proportion
from ..validate import (
    ArgumentTypeError,
    check_array,
    check_int,
    check_number,
    check_positive,
    check_seed,
    check_str,
)
from .common import ManualClock, RateLimiter, TokenBucket

__all__ = [
    "ApiThief",
    "ClinicDay",
    "ClinicTraffic",
    "DirectTransport",
    "HttpTransport",
    "LabelCopy",
    "Reply",
    "ThiefStopped",
    "TrafficSim",
    "clinic_day",
    "fit_label_copy",
    "keys_needed",
    "line_search_query_count",
    "rate_limit_sweep",
]


# --- honest clinicians --------------------------------------------------------------------------


@dataclass(frozen=True)
class ClinicDay:
    """The requests of honest clinicians over one working day, in time order.

    Introduced in lab 12 (API security).
    """

    times: np.ndarray
    """When each request is sent (seconds on the lab's clock), ascending."""
    clinician: np.ndarray
    """Which clinician sends it (0 .. n_clinicians - 1)."""
    patient: np.ndarray
    """Which patient it asks about (a row index into the honest patients)."""
    n_clinicians: int
    """How many clinicians work that day."""
    hours: float
    """How long the day is."""

    def __len__(self) -> int:
        return len(self.times)


def clinic_day(n_patients: int, *, n_clinicians: int = 10, hours: float = 8.0,
               mean_gap_s: float = 2400.0, mean_extra: float = 2.0, within_s: float = 30.0,
               start: float = 0.0, seed: int = 0) -> ClinicDay:
    """A simulated working day of honest clinicians: each works in sessions (a clinic list)
    whose starts are a Poisson process with ``mean_gap_s`` seconds between them on average;
    a session asks about ``1 + Poisson(mean_extra)`` patients, ``within_s`` seconds apart on
    average (exponential). With the defaults a clinician sends about 4.5 requests an hour, up
    to about ten within a few minutes. Patients are drawn uniformly from ``n_patients``.

    Introduced in lab 12 (API security).
    """
    n_patients = check_int(n_patients, "n_patients")
    n_clinicians = check_int(n_clinicians, "n_clinicians")
    hours = check_positive(hours, "hours")
    mean_gap_s = check_positive(mean_gap_s, "mean_gap_s")
    mean_extra = check_number(mean_extra, "mean_extra", low=0.0)
    within_s = check_positive(within_s, "within_s")
    start = check_number(start, "start")
    gen = np.random.default_rng(check_seed(seed))
    end = hours * 3600.0
    times, who = [], []
    for c in range(n_clinicians):
        t = gen.exponential(mean_gap_s)
        while t < end:
            for _ in range(1 + gen.poisson(mean_extra)):
                times.append(t)
                who.append(c)
                t += gen.exponential(within_s)
            t += gen.exponential(mean_gap_s)
    order = np.argsort(np.asarray(times), kind="stable")
    return ClinicDay(times=start + np.asarray(times, dtype=np.float64)[order],
                     clinician=np.asarray(who, dtype=np.int64)[order],
                     patient=gen.integers(0, n_patients, size=len(order)),
                     n_clinicians=n_clinicians, hours=hours)


def _check_day(day) -> ClinicDay:
    if not isinstance(day, ClinicDay):
        raise ArgumentTypeError(f"day must be a ClinicDay (from clinic_day), got "
                                f"{type(day).__name__}")
    return day


def line_search_query_count(*, n_labels: int = 20, n_pairs: int = 12, n_near: int = 40,
                            n_pairs_near: int = 16, steps: int = 7) -> int:
    """The queries lab 04's ``line_search_attack`` spends with these settings (its defaults):
    ``n_labels + n_near + (n_pairs + n_pairs_near) * steps``.

    Introduced in lab 12 (API security).
    """
    return (check_int(n_labels, "n_labels", 0) + check_int(n_near, "n_near", 0)
            + (check_int(n_pairs, "n_pairs", 0) + check_int(n_pairs_near, "n_pairs_near", 0))
            * check_int(steps, "steps", 0))


def rate_limit_sweep(days: Sequence[ClinicDay], rates_per_hour: Sequence[float],
                     bursts: Sequence[float], *, attack_queries: int) -> pd.DataFrame:
    """For each per-key token bucket (``rate_per_hour`` x ``burst``): the share of honest
    requests in ``days`` it would refuse (each clinician with their own key and bucket; a
    refused request is not retried), and the simulated hours a single-key thief needs for
    ``attack_queries`` queries (its burst at once, then one query per refill).

    Columns: rate per hour, burst, honest refused (a :class:`~mlsec_helpers.stats.Rate`),
    refused, honest requests, single-key attack hours. Introduced in lab 12 (API security).
    """
    if isinstance(days, ClinicDay) or not isinstance(days, Sequence) or not days:
        raise ArgumentTypeError("days must be a non-empty sequence of ClinicDay")
    days = [_check_day(d) for d in days]
    attack_queries = check_int(attack_queries, "attack_queries")
    rows = []
    total = sum(len(d) for d in days)
    if not total:
        raise ValueError("the days hold no request")
    for rate_h in rates_per_hour:
        rate = check_positive(rate_h, "rate_per_hour") / 3600.0
        for burst in bursts:
            burst = check_number(burst, "burst", low=1.0)
            refused = 0
            for day in days:
                clock = ManualClock(float(day.times[0]) if len(day) else 0.0)
                buckets = [TokenBucket(rate, burst, clock) for _ in range(day.n_clinicians)]
                for t, c in zip(day.times, day.clinician, strict=True):
                    clock.advance(max(0.0, float(t) - clock()))
                    refused += not buckets[c].allow(1)
            rows.append({"rate per hour": float(rate_h), "burst": burst,
                         "honest refused": proportion(refused, total,
                                                      on=f"{total} honest requests"),
                         "refused": refused, "honest requests": total,
                         "single-key attack hours":
                             max(0.0, attack_queries - math.floor(burst)) / rate / 3600.0})
    return pd.DataFrame(rows)


# --- transports ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One answer of the medical predict endpoint, as the sender sees it.

    Introduced in lab 12 (API security).
    """

    status: int
    """The HTTP status."""
    label: int | None = None
    """The diagnosis (0 or 1) when served."""
    proba: tuple[float, float] | None = None
    """The two class probabilities, when the API shows them to this key."""
    retry_after: float | None = None
    """Seconds to wait, from a 429's ``Retry-After``."""
    detail: str = ""
    """The refusal's reason (``detail`` of the error body)."""


class HttpTransport:
    """Sends one patient per request to ``POST /v1/{system}/predict`` of an app through a
    client (``common.api_client(app)``), authenticated with ``X-API-Key``.

    Introduced in lab 12 (API security).
    """

    def __init__(self, client, *, system: str = "medical"):
        if not callable(getattr(client, "post", None)):
            raise ArgumentTypeError("client must be an HTTP client with .post (common.api_client"
                                    f"(app)), got {type(client).__name__}")
        self.client = client
        self.path = f"/v1/{check_str(system, 'system')}/predict"
        self.requests = 0

    def send(self, key: str, features) -> Reply:
        """Ask about one patient (``features``: 1-D) with the raw API key ``key``."""
        row = check_array(features, "features", ndim=1, dtype=np.float64)
        self.requests += 1
        response = self.client.post(self.path, json={"patients": [row.tolist()]},
                                    headers={"X-API-Key": check_str(key, "key")})
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200:
            retry = response.headers.get("retry-after")
            detail = body.get("detail", "") if isinstance(body, dict) else ""
            return Reply(response.status_code,
                         retry_after=float(retry) if retry is not None else None,
                         detail=detail if isinstance(detail, str) else str(detail))
        proba = body.get("probabilities")
        return Reply(200, label=int(body["labels"][0]),
                     proba=None if proba is None else (float(proba[0][0]), float(proba[0][1])))

    def __repr__(self):
        return f"HttpTransport({self.path}; {self.requests} requests)"


class DirectTransport:
    """The medical endpoint's rules without HTTP, for what-if runs too long to send through the
    app: a per-key token bucket (``rate_per_s``, ``burst``; None: no limit), then the
    ``detector`` (the app's hook, called with a stand-in principal whose ``key_id`` is the key;
    True refuses), then ``predict_proba`` of the one patient; ``raw_scores`` shows the
    probabilities. The same order as ``common.build_app``.

    Introduced in lab 12 (API security).
    """

    def __init__(self, predict_proba: Callable, *, raw_scores: bool = False,
                 rate_per_s: float | None = None, burst: float | None = None,
                 clock: Callable[[], float] | None = None, detector: Callable | None = None,
                 system: str = "medical"):
        if not callable(predict_proba):
            raise ArgumentTypeError("predict_proba must be the victim's probability function")
        if (rate_per_s is None) != (burst is None):
            raise ValueError("give both rate_per_s and burst, or neither")
        if rate_per_s is not None and clock is None:
            raise ValueError("a rate limit needs the clock")
        if detector is not None and not callable(detector):
            raise ArgumentTypeError("detector must be callable (principal, system, features)")
        self.predict_proba = predict_proba
        self.raw_scores = bool(raw_scores)
        self.limiter = None if rate_per_s is None else RateLimiter(rate_per_s, burst, clock)
        self.detector = detector
        self.system = check_str(system, "system")
        self.requests = 0

    def send(self, key: str, features) -> Reply:
        """Ask about one patient (``features``: 1-D) with ``key``."""
        row = check_array(features, "features", ndim=1, dtype=np.float64)
        key = check_str(key, "key")
        self.requests += 1
        if self.limiter is not None and not self.limiter.allow(key, 1):
            wait = self.limiter.retry_after(key, 1)
            return Reply(429, retry_after=float(max(1, math.ceil(wait))),
                         detail="rate limit exceeded")
        if self.detector is not None and self.detector(_KeyPrincipal(key), self.system,
                                                       row[None, :]):
            return Reply(429, retry_after=60.0, detail="query pattern refused")
        proba = np.asarray(self.predict_proba(row[None, :]), dtype=np.float64)
        if proba.shape != (1, 2):
            raise ValueError(f"predict_proba must answer (1, 2), got shape {proba.shape}")
        return Reply(200, label=int(proba[0].argmax()),
                     proba=(float(proba[0, 0]), float(proba[0, 1])) if self.raw_scores else None)

    def __repr__(self):
        return f"DirectTransport({self.system}; {self.requests} requests)"


@dataclass(frozen=True)
class _KeyPrincipal:
    key_id: str
    name: str = "direct"
    role: str = "user"
    tenant: str | None = None


def _check_transport(transport):
    if not callable(getattr(transport, "send", None)):
        raise ArgumentTypeError("transport must have .send(key, features) -> Reply "
                                "(HttpTransport or DirectTransport)")
    return transport


# --- the simulation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ClinicTraffic:
    """Honest clinicians to play in the background: their day, one raw API key each, the
    honest patients the day's rows index, and the victim's diagnosis of each (to score the
    answers they get).

    Introduced in lab 12 (API security).
    """

    day: ClinicDay
    keys: tuple[str, ...]
    X: np.ndarray
    labels: np.ndarray

    def __post_init__(self):
        _check_day(self.day)
        if len(self.keys) < self.day.n_clinicians or not all(
                isinstance(k, str) and k for k in self.keys):
            raise ValueError(f"keys must hold one non-empty key per clinician "
                             f"({self.day.n_clinicians}), got {len(self.keys)}")
        X = check_array(self.X, "X", ndim=2, dtype=np.float64)
        labels = np.asarray(self.labels)
        if labels.shape != (len(X),):
            raise ValueError(f"labels must hold one diagnosis per patient ({len(X)}), got "
                             f"shape {labels.shape}")
        if len(self.day) and self.day.patient.max() >= len(X):
            raise ValueError("the day asks about patients beyond X")
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "keys", tuple(self.keys))


class TrafficSim:
    """Sends requests in time order through ``transport`` on a :class:`~.common.ManualClock`:
    the honest ``background`` (a :class:`ClinicTraffic`, optional) plays up to the moment of each
    of the thief's requests (:meth:`send`), or up to a time (:meth:`run_until`). Every request
    is logged (:meth:`frame`); raw keys never are.

    Introduced in lab 12 (API security).
    """

    def __init__(self, transport, clock: ManualClock, *, background: ClinicTraffic | None = None):
        self.transport = _check_transport(transport)
        if not isinstance(clock, ManualClock):
            raise ArgumentTypeError("clock must be the ManualClock the app reads")
        self.clock = clock
        if background is not None and not isinstance(background, ClinicTraffic):
            raise ArgumentTypeError("background must be a ClinicTraffic or None")
        self.background = background
        self._next = 0
        self._rows: list[tuple] = []

    def _goto(self, t: float) -> None:
        now = float(self.clock())
        if t > now:
            self.clock.advance(t - now)

    def run_until(self, t: float) -> None:
        """Play the honest requests due up to time ``t`` (and move the clock to ``t``)."""
        t = check_number(t, "t")
        bg = self.background
        while bg is not None and self._next < len(bg.day) and bg.day.times[self._next] <= t:
            i = self._next
            self._next += 1
            self._goto(float(bg.day.times[i]))
            c, p = int(bg.day.clinician[i]), int(bg.day.patient[i])
            reply = self.transport.send(bg.keys[c], bg.X[p])
            self._log("honest", f"clinician {c}", reply, int(bg.labels[p]))
        self._goto(t)

    def finish(self) -> None:
        """Play the rest of the honest day."""
        bg = self.background
        if bg is not None and len(bg.day):
            self.run_until(float(bg.day.times[-1]))

    def send(self, key: str, features, *, at: float | None = None, source: str = "thief",
             who: str = "") -> Reply:
        """Send one request with ``key`` at time ``at`` (now if None or past), after the
        honest requests due before it."""
        at = float(self.clock()) if at is None else max(check_number(at, "at"),
                                                         float(self.clock()))
        self.run_until(at)
        reply = self.transport.send(key, features)
        self._log(check_str(source, "source"), who, reply, None)
        return reply

    def _log(self, source, who, reply, truth):
        self._rows.append((float(self.clock()), source, who, reply.status, reply.label, truth,
                           reply.detail))

    def frame(self) -> pd.DataFrame:
        """Every request: time, source ("honest"/"thief"...), who, status, label, truth (the
        victim's diagnosis, for honest requests), detail (a refusal's reason)."""
        return pd.DataFrame(self._rows, columns=["time", "source", "who", "status", "label",
                                                 "truth", "detail"])

    def honest_served(self, *, on: str | None = None) -> Rate:
        """The share of honest requests answered (200) with the victim's diagnosis."""
        frame = self.frame()
        honest = frame[frame["source"] == "honest"]
        if not len(honest):
            raise ValueError("no honest request was sent")
        good = int(((honest["status"] == 200) & (honest["label"] == honest["truth"])).sum())
        return proportion(good, len(honest), on=on or f"{len(honest)} honest requests")

    def __repr__(self):
        return f"TrafficSim({len(self._rows)} requests, clock {float(self.clock()):g})"


# --- the thief ----------------------------------------------------------------------------------


class ThiefStopped(RuntimeError):
    """The API refused the thief in a way it cannot wait out; ``reply`` is the refusal and
    ``answered`` how many of its queries had been answered.

    Introduced in lab 12 (API security).
    """

    def __init__(self, reply: Reply, answered: int):
        super().__init__(f"refused with {reply.status} ({reply.detail or 'no detail'}) after "
                         f"{answered} answered queries")
        self.reply = reply
        self.answered = answered


class ApiThief:
    """The thief's client: ``api(X)`` sends each row as one request through ``sim`` and answers
    one row of probabilities per input, as lab 04's attacks expect (``[1 - p, p]`` when the API
    shows probabilities, a one-hot row of the label otherwise).

    The rows go round-robin over ``keys`` (its accounts); each key waits ``interval_s`` between
    two of its requests, and any two requests of the thief are at least ``spacing_s`` apart
    (both 0: as fast as it can). A ``patient`` thief that gets a rate-limit 429 waits the
    ``Retry-After`` it was given, retries, and from then on sends with that key no faster than
    one request per ``Retry-After``. Any other refusal raises :class:`ThiefStopped`; the
    answers received so far stay in ``answered_X`` / ``answered_labels`` (and ``answered_times``).
    Counters: ``queries`` (answered), ``requests`` (sent, refused ones included), ``throttled``
    (rate-limit 429s), ``first_throttle`` (answers before the first 429; None: never).

    Introduced in lab 12 (API security).
    """

    def __init__(self, sim: TrafficSim, keys: Sequence[str], *, interval_s: float = 0.0,
                 spacing_s: float = 0.0, patient: bool = False, name: str = "thief"):
        if not isinstance(sim, TrafficSim):
            raise ArgumentTypeError(f"sim must be a TrafficSim, got {type(sim).__name__}")
        if isinstance(keys, str) or not isinstance(keys, Sequence) or not keys or not all(
                isinstance(k, str) and k for k in keys):
            raise ArgumentTypeError("keys must be a non-empty sequence of raw API keys")
        self.sim = sim
        self.keys = tuple(keys)
        self.interval_s = check_number(interval_s, "interval_s", low=0.0)
        self.spacing_s = check_number(spacing_s, "spacing_s", low=0.0)
        self._last = -math.inf
        self.patient = bool(patient)
        self.name = check_str(name, "name")
        self._interval = [self.interval_s] * len(self.keys)
        self._free = [-math.inf] * len(self.keys)
        self._turn = 0
        self.answered_X: list[np.ndarray] = []
        self.answered_labels: list[int] = []
        self.answered_times: list[float] = []
        self.queries = 0
        self.requests = 0
        self.throttled = 0
        self.first_throttle: int | None = None
        self.start: float | None = None
        self.end: float | None = None

    @property
    def elapsed_s(self) -> float:
        """Simulated seconds from the thief's first request to its last answer."""
        if self.start is None or self.end is None:
            return 0.0
        return self.end - self.start

    def _request(self, row: np.ndarray) -> Reply:
        k = self._turn % len(self.keys)
        self._turn += 1
        waits = 0
        while True:
            at = max(float(self.sim.clock()), self._free[k], self._last + self.spacing_s)
            if self.start is None:
                self.start = at
            reply = self.sim.send(self.keys[k], row, at=at, source=self.name,
                                  who=f"{self.name} key {k}")
            self.requests += 1
            sent_at = float(self.sim.clock())
            self._last = sent_at
            if reply.status == 200:
                self._free[k] = sent_at + self._interval[k]
                self.answered_X.append(row)
                self.answered_labels.append(int(reply.label))
                self.answered_times.append(sent_at)
                self.end = sent_at
                return reply
            if reply.status == 429 and self.first_throttle is None:
                self.first_throttle = len(self.answered_labels)
            is_rate_limit = reply.status == 429 and reply.detail.startswith("rate limit")
            if is_rate_limit:
                self.throttled += 1
            if (self.patient and is_rate_limit and reply.retry_after is not None
                    and waits < 3):
                waits += 1
                self._interval[k] = max(self._interval[k], reply.retry_after)
                self._free[k] = sent_at + reply.retry_after
                continue
            raise ThiefStopped(reply, self.queries)

    def __call__(self, X) -> np.ndarray:
        X = check_array(X, "X", ndim=2, dtype=np.float64)
        if not len(X):
            raise ValueError("a query needs at least one input")
        out = np.zeros((len(X), 2))
        for i, row in enumerate(X):
            reply = self._request(row)
            self.queries += 1
            out[i] = reply.proba if reply.proba is not None else np.eye(2)[reply.label]
        return out

    def copy(self, X_pool) -> LabelCopy:
        """The copy the thief can build from every label it holds (:func:`fit_label_copy`)."""
        return fit_label_copy(np.array(self.answered_X), np.array(self.answered_labels), X_pool)

    def __repr__(self):
        return (f"ApiThief({len(self.keys)} keys; {self.queries} queries answered, "
                f"{self.requests} requests, {self.throttled} throttled)")


# --- the copy -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelCopy:
    """A linear copy of the diagnosis model fitted to labelled points (raw features).

    Introduced in lab 12 (API security).
    """

    w: np.ndarray
    """The weights on raw features (up to a positive scale; zero for a one-class copy)."""
    b: float
    """The intercept."""
    queries: int
    """How many labelled points it was fitted to."""
    classes_seen: int = field(default=2)
    """How many of the two diagnoses the points held (1: the copy answers that one always)."""

    def predict(self, X) -> np.ndarray:
        """The copy's diagnosis (1 where ``w @ x + b >= 0``) for each row of ``X``."""
        X = check_array(X, "X", ndim=2, dtype=np.float64)
        if X.shape[1] != len(self.w):
            raise ValueError(f"X must have {len(self.w)} features, got {X.shape[1]}")
        return (X @ self.w + self.b >= 0).astype(np.int64)


def fit_label_copy(X, labels, X_pool) -> LabelCopy:
    """Fit the copy a thief builds from the labelled points it holds: the nearly unregularised
    logistic regression, standardised on its pool of patients ``X_pool``, that lab 04's
    ``line_search_attack`` fits (so a theft stopped half-way is scored like a finished one).
    Points of one diagnosis only give a copy that answers that diagnosis for everyone.

    Introduced in lab 12 (API security).
    """
    from sklearn.linear_model import LogisticRegression

    X_pool = check_array(X_pool, "X_pool", ndim=2, dtype=np.float64)
    X = check_array(X, "X", ndim=2, dtype=np.float64) if len(X) else np.zeros(
        (0, X_pool.shape[1]))
    labels = np.asarray(labels)
    if labels.shape != (len(X),):
        raise ValueError(f"labels must hold one label per row of X ({len(X)}), got shape "
                         f"{labels.shape}")
    if not len(X):
        raise ValueError("a copy needs at least one labelled point")
    if X.shape[1] != X_pool.shape[1]:
        raise ValueError(f"X has {X.shape[1]} features, X_pool {X_pool.shape[1]}")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    d = X.shape[1]
    classes = np.unique(labels)
    if len(classes) == 1:
        return LabelCopy(w=np.zeros(d), b=1.0 if classes[0] == 1 else -1.0, queries=len(X),
                         classes_seen=1)
    mean, std = X_pool.mean(axis=0), X_pool.std(axis=0) + 1e-12
    lr = LogisticRegression(C=1e4, max_iter=20000).fit((X - mean) / std, labels.astype(int))
    w = lr.coef_[0] / std
    return LabelCopy(w=w, b=float(lr.intercept_[0] - w @ mean), queries=len(X))


def keys_needed(queries: int, rate_per_s: float, hours: float) -> int:
    """The API keys a thief needs to send ``queries`` within ``hours`` while every key stays
    at or under ``rate_per_s`` (never using the burst): ``ceil(queries / (rate * hours))``.

    Introduced in lab 12 (API security).
    """
    queries = check_int(queries, "queries")
    per_key = check_positive(rate_per_s, "rate_per_s") * check_positive(hours, "hours") * 3600
    return max(1, math.ceil(queries / per_key - 1e-9))
