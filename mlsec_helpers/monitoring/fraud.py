"""Fraud: a week of card transactions with late chargebacks, a holiday peak and an evasion wave.

Lab 00's fraud scorer (boosted trees) flags a transaction when its score is at or above the alert
threshold (:func:`alert_threshold`: the score above which 1% of the legitimate training
transactions lie, lab 02's threshold). The week (:func:`bank_traffic`, :func:`fraud_week`) is
days 51-57 (0-based; a Saturday to a Friday) of a bank simulated by the project's transaction
simulator (``fraud_sim``, seeded; another bank than the one the scorer was trained on, so that
the chargeback history is out of its training sample), one :class:`~.common.Window` per hour,
with:

- **late labels**: a fraud is known only when its chargeback arrives, 24 to 72 hours after the
  transaction (:data:`CHARGEBACK_DELAY_HOURS`), and some never arrive
  (:data:`NEVER_CHARGED_BACK`): the performance monitor counts the missed frauds among the
  chargebacks that have arrived by each hour (:func:`missed_fraud_share`,
  :func:`missed_fraud_series`), and a streaming change detector on the error stream
  (:func:`fraud_error_stream`, river through ``common.stream_changes``) sees the same delay;
  what a bank with immediate labels would see is the ``oracle`` option;
- **ordinary drift**: a holiday shopping peak (:func:`add_holiday`): more purchases, larger
  amounts;
- **the attack**: an evasion wave (:func:`takeover_frauds`, :func:`shape_frauds`): account
  takeovers shaped with lab 02's constrained evasion (``evasion.constrained_fraud_attack``:
  only the fraudster's legal moves, approve/decline access) so that they pass under the
  threshold;
- **the adaptive attacker** (:func:`paced_frauds`): frauds shaped without split payments and
  spread thinly over several days, at several paces.

The monitors (:func:`fraud_monitors`) watch the volume, the inputs (PSI and Kolmogorov-Smirnov
per feature against the training transactions of the same hours of the day,
:func:`fraud_reference`), the scores (PSI, alert rate), repeated payments of one card at one
terminal (lab 02's split payments: the attack monitor) and the missed frauds among the
chargebacks that have arrived. :func:`fraud_calibration` resamples the benign days for the
thresholds (the chargeback monitor on the chargeback history, :func:`chargeback_history`);
:func:`frauds_passed` and :func:`fraud_response_hour` measure what got through before the bank
responded.

Introduced in lab 13 (Monitoring and response).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import fraud_sim
from ..stats import Rate, proportion
from ..validate import (
    ArgumentTypeError,
    check_choice,
    check_fitted,
    check_frame,
    check_int,
    check_number,
    check_seed,
)
from . import common

if TYPE_CHECKING:  # annotations only: importing the systems pulls in torch
    from ..data import Dataset
    from ..systems import SklearnSystem

__all__ = [
    "CHARGEBACK_DELAY_HOURS",
    "CHARGEBACK_HISTORY_HOURS",
    "CHARGEBACK_WINDOW_HOURS",
    "FRAUD_HOLIDAY_DAY",
    "FRAUD_MONITORED_FEATURES",
    "FRAUD_RECENT_HOURS",
    "FRAUD_RESPONSE_KINDS",
    "FRAUD_WAVE_DAY",
    "FRAUD_WEEK_START_DAY",
    "MISSED_FRAUDS",
    "NEVER_CHARGED_BACK",
    "FraudReference",
    "FraudWeek",
    "PacedFrauds",
    "ShapedFrauds",
    "add_holiday",
    "alert_threshold",
    "bank_traffic",
    "chargeback_history",
    "fraud_calibration",
    "fraud_error_stream",
    "fraud_monitors",
    "fraud_reference",
    "fraud_response_hour",
    "fraud_week",
    "frauds_passed",
    "missed_fraud_series",
    "missed_fraud_share",
    "paced_frauds",
    "shape_frauds",
    "takeover_frauds",
    "transaction_hours",
]

FRAUD_WEEK_START_DAY: int = 51
"""The simulator's day (0-based) on which the monitored week starts: a Saturday, so that the
benign days 1-2 are a weekend (the simulator's weekends carry 15% more traffic: calibrated on
two weekdays, the volume monitor would alarm every weekend). Days 0-50 are the history: the
cards' and terminals' history features and the chargebacks the chargeback monitor is
calibrated on.

Introduced in lab 13 (Monitoring and response)."""

FRAUD_HOLIDAY_DAY: int = 3
"""Day of the week (1-7) of the holiday shopping peak, the ordinary drift.

Introduced in lab 13 (Monitoring and response)."""

FRAUD_WAVE_DAY: int = 6
"""Day of the week (1-7) on which the evasion wave's account takeovers happen (their shaped
transactions may move later that day or into the next).

Introduced in lab 13 (Monitoring and response)."""

CHARGEBACK_DELAY_HOURS: tuple[int, int] = (24, 72)
"""A fraud's chargeback arrives between 24 and 72 hours after the transaction (uniform); until
then the bank does not know it was a fraud.

Introduced in lab 13 (Monitoring and response)."""

NEVER_CHARGED_BACK: float = 0.1
"""Share of frauds whose chargeback never arrives (the card holder never disputes).

Introduced in lab 13 (Monitoring and response)."""

FRAUD_RECENT_HOURS: int = 6
"""The input, score and repeated-payment monitors look at the transactions of the last 6 hours
(at night an hour holds a handful of transactions: too few for a drift statistic).

Introduced in lab 13 (Monitoring and response)."""

CHARGEBACK_HISTORY_HOURS: int = 21 * 24
"""The chargeback monitor is calibrated on the chargebacks of the 21 days before the week (and
of days 1-2): chargebacks are rare, two days hold a few dozen at most.

Introduced in lab 13 (Monitoring and response)."""

CHARGEBACK_WINDOW_HOURS: int = 24
"""The performance monitor counts the chargebacks that arrived in the last 24 hours.

Introduced in lab 13 (Monitoring and response)."""

FRAUD_MONITORED_FEATURES: tuple[str, ...] = (
    "amount", "is_online", "amount_to_cust_mean_30d", "cust_new_category", "hour_unusual",
    "cust_n_tx_1d", "secs_since_last_tx",
)
"""The features the input monitors compare with the training data: the transaction's own
(amount, channel, amount over the card's 30-day mean, new category, unusual hour) and the
card's last 24 hours (transactions that day, time since the last one). Left out: the hour
(matched by the reference, see :func:`fraud_reference`), the ten one-hot category columns (the
amount and channel carry the category mix) and the 7-day, 30-day and 28-day aggregates, which
carry one day's drift for a week or a month (a holiday would alarm them all week).

Introduced in lab 13 (Monitoring and response)."""

MISSED_FRAUDS: str = "missed frauds"
"""The name of the performance monitor (frauds not alerted, learnt from chargebacks).

Introduced in lab 13 (Monitoring and response)."""

_RAW = ("timestamp", "customer_id", "terminal_id", "amount", "merchant_category", "is_online",
        fraud_sim.TARGET)
_KEEP = (*_RAW, "fraud_scenario", "origin", "attack_id", "chargeback_delay")
_HOUR_NS = 3_600 * 10**9
_DAY_NS = 24 * _HOUR_NS
_SHOPPING = ("clothing", "electronics", "online_retail", "travel")
_TAKEOVER_CATEGORIES = ("online_retail", "electronics", "gambling", "travel")
_TAKEOVER_SHARES = (0.35, 0.3, 0.2, 0.15)
_REPEAT_SECONDS = 2 * 3_600
_MIN_ROWS = 20
_LEDGER_DAYS = 25
_MIN_ROWS_PSI = 100
_MIN_LABELS = 5


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_seed(seed))


def transaction_hours(timestamps: Sequence | np.ndarray | pd.Series) -> np.ndarray:
    """The hour of the week (0-167; negative before the week) of each timestamp.

    Introduced in lab 13 (Monitoring and response).
    """
    try:
        t = np.asarray(timestamps, dtype="datetime64[ns]").astype(np.int64)
    except (TypeError, ValueError) as err:
        raise ArgumentTypeError(f"timestamps must be datetimes: {err}") from None
    start = np.datetime64(fraud_sim.START, "ns").astype(np.int64) + FRAUD_WEEK_START_DAY * _DAY_NS
    return (t - start) // _HOUR_NS


def _scores(system, X) -> np.ndarray:
    return np.asarray(system.predict_proba(np.asarray(X, dtype=np.float32)))[:, 1]


def _check_system(system):
    check_fitted(system)
    if not hasattr(system, "predict_proba"):
        raise ArgumentTypeError("system must be a fitted fraud scorer with predict_proba "
                                "(systems.reference_system('fraud'))")
    return system


def _check_threshold(threshold) -> float:
    return check_number(threshold, "threshold", low=0.0, high=1.0, low_open=True,
                        high_open=True)


# --- the scorer's threshold and the reference ---------------------------------------------------


def alert_threshold(system: SklearnSystem, data: Dataset,
                    false_positive_rate: float = 0.01) -> float:
    """The scorer's alert threshold: the score above which ``false_positive_rate`` of the
    legitimate training transactions of ``data`` (``load_dataset("fraud")``) lie, lab 02's
    threshold (an analyst team reviews about 1% of transactions). A transaction alerts when its
    score is at or above it.

    Introduced in lab 13 (Monitoring and response).
    """
    _check_system(system)
    rate = check_number(false_positive_rate, "false_positive_rate", low=0.0, high=1.0,
                        low_open=True, high_open=True)
    X = getattr(data, "X_train", None)
    y = getattr(data, "y_train", None)
    if X is None or y is None:
        raise ArgumentTypeError("data must be the fraud Dataset (load_dataset('fraud'))")
    scores = _scores(system, X)
    legit = scores[np.asarray(y) == 0]
    if legit.size == 0:
        raise ValueError("data has no legitimate training transaction")
    return float(np.quantile(legit, 1.0 - rate))


@dataclass(frozen=True, eq=False)
class FraudReference:
    """What the input and score monitors compare each window with: for each hour of the day
    ``e`` (0-23), the training transactions made in the ``recent_hours`` hours that end with
    hour ``e`` (``features[e]``: their :data:`FRAUD_MONITORED_FEATURES`, ``scores[e]``: their
    scores, at most ``max_rows`` of them, drawn with the seed), ``expected[e]``: the mean number of
    training transactions in those hours of a day, and the scorer's ``threshold``.

    Introduced in lab 13 (Monitoring and response).
    """

    features: tuple[np.ndarray, ...]
    scores: tuple[np.ndarray, ...]
    expected: np.ndarray
    threshold: float
    recent_hours: int
    feature_names: tuple[str, ...] = FRAUD_MONITORED_FEATURES

    def __post_init__(self) -> None:
        # The monitors run on 168 windows of several weeks: the reference's PSI bins and
        # sorted values are computed once per hour of the day here, not at every call.
        object.__setattr__(self, "_psi", tuple(
            [_PsiBins(f[:, j]) for j in range(f.shape[1])] for f in self.features))
        object.__setattr__(self, "_score_psi", tuple(_PsiBins(s) for s in self.scores))
        object.__setattr__(self, "_sorted", tuple(np.sort(f, axis=0) for f in self.features))

    def feature_psi(self, hour_of_day: int, current: np.ndarray) -> np.ndarray:
        """:func:`~.common.psi` of every monitored feature of ``current`` (rows x features)
        against the reference of ``hour_of_day`` (same bins, same floor)."""
        return np.array([b.psi(current[:, j]) for j, b in enumerate(self._psi[hour_of_day])])

    def score_psi(self, hour_of_day: int, scores: np.ndarray) -> float:
        """:func:`~.common.psi` of ``scores`` against the reference scores of
        ``hour_of_day``."""
        return self._score_psi[hour_of_day].psi(scores)

    def feature_ks(self, hour_of_day: int, current: np.ndarray) -> pd.DataFrame:
        """The two-sample Kolmogorov-Smirnov test of every monitored feature of ``current``
        against the reference of ``hour_of_day``, Holm-adjusted, like
        :func:`~.common.ks_per_feature` with scipy's asymptotic p-value."""
        return _ks_sorted(self._sorted[hour_of_day], current, self.feature_names)


class _PsiBins:
    """The bins and reference shares of :func:`~.common.psi` (bins=10, floor=1e-4), computed
    once for one reference sample."""

    def __init__(self, reference: np.ndarray, bins: int = 10, floor: float = 1e-4):
        self.inner = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
        counts = np.bincount(np.searchsorted(self.inner, reference, side="left"),
                             minlength=len(self.inner) + 1)
        self.floor = floor
        self.ref = np.maximum(counts / counts.sum(), floor)

    def psi(self, current: np.ndarray) -> float:
        counts = np.bincount(np.searchsorted(self.inner, current, side="left"),
                             minlength=len(self.inner) + 1)
        cur = np.maximum(counts / counts.sum(), self.floor)
        return float(np.sum((cur - self.ref) * np.log(cur / self.ref)))


def _ks_sorted(ref_sorted: np.ndarray, current: np.ndarray, names) -> pd.DataFrame:
    """The two-sample Kolmogorov-Smirnov statistic of each column (the reference sorted per
    column beforehand) and its large-sample p-value, from the limiting Kolmogorov distribution
    (``scipy.stats.kstwobign.sf(sqrt(n*m/(n+m)) * D)``, Smirnov's), Holm-adjusted across the
    columns. By hand because ``scipy.stats.ks_2samp`` costs about 1 ms a call (argument
    handling and its exact finite-sample distribution): 7 features x 168 hours x the five weeks
    of the section would take most of its time budget. The statistic is ``ks_2samp``'s; the
    p-value agrees with its ``method="asymp"`` to about 0.01 at these sample sizes
    (tests/test_monitoring_fraud.py compares them)."""
    from scipy.stats import kstwobign

    n, m = ref_sorted.shape[0], current.shape[0]
    cur_sorted = np.sort(current, axis=0)
    stat = np.empty(ref_sorted.shape[1])
    for j in range(ref_sorted.shape[1]):
        pooled = np.concatenate([ref_sorted[:, j], cur_sorted[:, j]])
        cdf_ref = np.searchsorted(ref_sorted[:, j], pooled, side="right") / n
        cdf_cur = np.searchsorted(cur_sorted[:, j], pooled, side="right") / m
        stat[j] = np.max(np.abs(cdf_ref - cdf_cur))
    p = np.clip(kstwobign.sf(np.sqrt(n * m / (n + m)) * stat), 0.0, 1.0)
    order = np.argsort(p)
    k = len(p)
    adjusted = np.empty(k)
    adjusted[order] = np.minimum(np.maximum.accumulate((k - np.arange(k)) * p[order]), 1.0)
    return pd.DataFrame({"feature": list(names), "statistic": stat, "p_value": p,
                         "p_adjusted": adjusted})


def fraud_reference(system: SklearnSystem, data: Dataset, threshold: float, *,
                    recent_hours: int = FRAUD_RECENT_HOURS, first_day: int = 35,
                    max_rows: int = 1000, seed: int = 0) -> FraudReference:
    """The reference of the fraud monitors: the scorer's training transactions (``data``, the
    fraud Dataset) from simulator day ``first_day`` on (the simulator has no burn-in: on the
    first 30 days the cards' histories are short), grouped by the hours of the day each window
    covers (a window that ends at 03:00 is compared with training transactions of 22:00-03:00,
    not with the whole day: traffic has a daily rhythm, and a reference of whole days would
    alarm every night). Returns a :class:`FraudReference`.

    Introduced in lab 13 (Monitoring and response).
    """
    _check_system(system)
    threshold = _check_threshold(threshold)
    recent_hours = check_int(recent_hours, "recent_hours", minimum=1, maximum=24)
    max_rows = check_int(max_rows, "max_rows", minimum=10)
    first_day = check_int(first_day, "first_day", minimum=0)
    frame = getattr(data, "frame_train", None)
    if not isinstance(frame, pd.DataFrame):
        raise ArgumentTypeError("data must be the fraud Dataset (load_dataset('fraud'))")
    check_frame(frame, (*fraud_sim.FEATURES, "day"), "data.frame_train")
    frame = frame[frame["day"] >= first_day]
    if len(frame) < 24 * 10:
        raise ValueError(f"too few training transactions from day {first_day} on "
                         f"({len(frame)})")
    rng = _rng(seed)
    X = frame[list(FRAUD_MONITORED_FEATURES)].to_numpy(dtype=np.float64)
    scores = _scores(system, frame[list(fraud_sim.FEATURES)].to_numpy(dtype=np.float32))
    hour = frame["hour"].to_numpy()
    n_days = max(int(frame["day"].nunique()), 1)
    feats, scs, expected = [], [], np.zeros(24)
    for end in range(24):
        covered = [(end - k) % 24 for k in range(recent_hours)]
        rows = np.flatnonzero(np.isin(hour, covered))
        expected[end] = len(rows) / n_days
        if len(rows) > max_rows:
            rows = np.sort(rng.choice(rows, max_rows, replace=False))
        feats.append(X[rows])
        scs.append(scores[rows])
    return FraudReference(tuple(feats), tuple(scs), expected, threshold, recent_hours)


# --- the traffic and what happens in it ---------------------------------------------------------


def bank_traffic(seed: int = 0, *, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """The raw transactions of the week and of every day before it (simulator days 0-57):
    ``fraud_sim.simulate_transactions(seed=100 + seed)`` (a bank's 60 days; not the scorer's
    training simulation, so that every chargeback of the history is out of the scorer's
    training sample), or ``frame`` when given (a simulation already made). Keeps the raw
    columns and ``fraud_scenario``, and adds ``origin`` (``"traffic"``), ``attack_id`` (-1)
    and ``chargeback_delay``: the hours until the chargeback of a fraud arrives
    (:data:`CHARGEBACK_DELAY_HOURS`; NaN for the :data:`NEVER_CHARGED_BACK` share; drawn for
    every row with ``seed``, used for frauds only).

    Introduced in lab 13 (Monitoring and response).
    """
    seed = check_seed(seed)
    if frame is None:
        frame = fraud_sim.simulate_transactions(seed=100 + seed)
    check_frame(frame, (*_RAW, "fraud_scenario", "day"), "frame")
    last = FRAUD_WEEK_START_DAY + common.HOURS // common.HOURS_PER_DAY
    first = FRAUD_WEEK_START_DAY - _LEDGER_DAYS
    if frame["day"].max() < last - 1 or frame["day"].min() > first:
        raise ValueError(f"frame must cover the simulator's days {first} to {last - 1} (the "
                         f"chargeback history and the week); it covers "
                         f"days {frame['day'].min()} to {frame['day'].max()}")
    out = frame.loc[frame["day"] < last, list(_RAW) + ["fraud_scenario"]].reset_index(drop=True)
    rng = np.random.default_rng([seed, 13, 4])
    lo, hi = CHARGEBACK_DELAY_HOURS
    delay = rng.uniform(lo, hi, len(out))
    delay[rng.random(len(out)) < NEVER_CHARGED_BACK] = np.nan
    out["origin"] = "traffic"
    out["attack_id"] = -1
    out["chargeback_delay"] = delay
    return out


def _check_traffic(traffic) -> pd.DataFrame:
    return check_frame(traffic, _KEEP, "traffic")


def _legal(amount: np.ndarray, category: np.ndarray) -> np.ndarray:
    amount = np.where(category == "cash_withdrawal",
                      np.maximum(np.round(amount / 10.0) * 10.0, 10.0), amount)
    return np.clip(np.round(amount, 2), fraud_sim.AMOUNT_MIN, fraud_sim.AMOUNT_MAX)


def add_holiday(traffic: pd.DataFrame, *, day: int = FRAUD_HOLIDAY_DAY, extra: float = 0.6,
                amount_factor: tuple[float, float] = (1.2, 2.0), seed: int = 0) -> pd.DataFrame:
    """The traffic with a holiday shopping peak on ``day`` of the week (1-7): every legitimate
    purchase in a shopping category (clothing, electronics, online retail, travel) that day is
    ``amount_factor`` times larger (uniform), and ``extra`` times the day's legitimate
    purchases are added: copies of that day's purchases (same card, category and channel) at
    another terminal of the same kind, at a daytime hour (08:00-21:59), for 1 to 2 times the
    amount. Ordinary drift: more and larger purchases, no fraud. The new rows have ``origin``
    ``"holiday"``.

    Introduced in lab 13 (Monitoring and response).
    """
    traffic = _check_traffic(traffic)
    day = check_int(day, "day", minimum=1, maximum=common.HOURS // common.HOURS_PER_DAY)
    extra = check_number(extra, "extra", low=0.0, high=5.0)
    lo, hi = (check_number(v, "amount_factor", low=0.0, low_open=True) for v in amount_factor)
    if hi < lo:
        raise ValueError(f"amount_factor must be (low, high) with low <= high, got "
                         f"{amount_factor}")
    rng = np.random.default_rng([check_seed(seed), 13, 3])
    out = traffic.copy()
    hours = transaction_hours(out["timestamp"])
    on_day = (hours // 24 == day - 1) & (out[fraud_sim.TARGET].to_numpy() == 0)
    cats = out["merchant_category"].astype(str).to_numpy()
    bigger = on_day & np.isin(cats, _SHOPPING)
    factor = rng.uniform(lo, hi, int(bigger.sum()))
    out.loc[bigger, "amount"] = _legal(out.loc[bigger, "amount"].to_numpy() * factor,
                                       cats[bigger])
    rows = np.flatnonzero(on_day)
    n_new = int(round(extra * len(rows)))
    if n_new == 0 or len(rows) == 0:
        return out
    src = out.iloc[rng.choice(rows, n_new, replace=True)].reset_index(drop=True)
    kinds = out.groupby(["merchant_category", "is_online"])["terminal_id"].unique()
    terminals = np.array([rng.choice(kinds[(c, o)]) for c, o in
                          zip(src["merchant_category"], src["is_online"], strict=True)])
    day_start = (np.datetime64(fraud_sim.START, "ns").astype(np.int64)
                 + (FRAUD_WEEK_START_DAY + day - 1) * _DAY_NS)
    secs = rng.integers(8 * 3600, 22 * 3600, n_new)
    new = src.assign(
        timestamp=(day_start + secs * 10**9).astype("datetime64[ns]"),
        terminal_id=terminals,
        amount=_legal(src["amount"].to_numpy() * rng.uniform(1.0, 2.0, n_new),
                      src["merchant_category"].astype(str).to_numpy()),
        origin="holiday", attack_id=-1,
        chargeback_delay=np.nan,
    )
    return pd.concat([out, new], ignore_index=True)


def takeover_frauds(traffic: pd.DataFrame, n: int, *, days: Sequence[int] = (FRAUD_WAVE_DAY,),
                    origin: str = "wave", seed: int = 0) -> pd.DataFrame:
    """``n`` account takeovers, one card each, as raw transactions: at night (00:00-05:59) of
    one of ``days`` (week days 1-7, drawn uniformly), an online payment in a risky category
    (online retail, electronics, gambling, travel, like the simulator's scenario 3), at one of
    the three terminals of that category with the highest fraud rate in the 35 days before the
    week (the fraudsters' favourite merchants), for 1.5 to 5 times the card's mean amount. The
    cards are distinct and had at least 3 legitimate transactions in the 30 days before the
    week. Lab 00's scorer catches most of them as they are; :func:`shape_frauds` makes them
    evade. ``fraud_scenario`` is 3; ``origin`` names the campaign, ``attack_id`` numbers them
    (0 to n-1); ``chargeback_delay`` as in :func:`bank_traffic`.

    Introduced in lab 13 (Monitoring and response).
    """
    traffic = _check_traffic(traffic)
    n = check_int(n, "n", minimum=1)
    days = [check_int(d, "day", minimum=1, maximum=common.HOURS // common.HOURS_PER_DAY)
            for d in days]
    if not days:
        raise ValueError("days must name at least one day of the week")
    if not isinstance(origin, str) or origin in ("traffic", "holiday") or not origin:
        raise ValueError(f"origin must name the campaign (not 'traffic' or 'holiday'), got "
                         f"{origin!r}")
    rng = np.random.default_rng([check_seed(seed), 13, 5])
    hours = transaction_hours(traffic["timestamp"])
    past = traffic[(hours < 0) & (hours >= -30 * 24)]
    legit = past[past[fraud_sim.TARGET] == 0]
    counts = legit.groupby("customer_id").size()
    cards = counts.index[counts >= 3].to_numpy()
    if len(cards) < n:
        raise ValueError(f"only {len(cards)} cards have enough history for {n} takeovers")
    cards = rng.choice(cards, n, replace=False)
    mean30 = past.groupby("customer_id")["amount"].mean()
    cats = rng.choice(np.array(_TAKEOVER_CATEGORIES), n, p=_TAKEOVER_SHARES)
    online = traffic[(hours < 0) & (traffic["is_online"] == 1)]
    rates = online.groupby("terminal_id").agg(
        rate=(fraud_sim.TARGET, "mean"), category=("merchant_category", "first"))
    favourite = {c: rates[rates["category"] == c].sort_values(
        "rate", ascending=False, kind="stable").index.to_numpy()[:3]
        for c in _TAKEOVER_CATEGORIES}
    terminals = [rng.choice(favourite[c]) for c in cats]
    day = np.asarray(days)[rng.integers(0, len(days), n)]
    secs = (FRAUD_WEEK_START_DAY + day - 1) * 86_400 + rng.integers(0, 6 * 3600, n)
    lo, hi = CHARGEBACK_DELAY_HOURS
    delay = rng.uniform(lo, hi, n)
    delay[rng.random(n) < NEVER_CHARGED_BACK] = np.nan
    return pd.DataFrame({
        "timestamp": (fraud_sim.START + pd.to_timedelta(secs, unit="s")).astype(
            "datetime64[ns]"),
        "customer_id": cards.astype(np.int64),
        "terminal_id": np.asarray(terminals, dtype=np.int64),
        "amount": _legal(mean30.loc[cards].to_numpy() * rng.uniform(1.5, 5.0, n), cats),
        "merchant_category": cats.astype(object),
        "is_online": np.ones(n, dtype=np.int64),
        fraud_sim.TARGET: np.ones(n, dtype=np.int64),
        "fraud_scenario": np.full(n, 3, dtype=np.int64),
        "origin": origin,
        "attack_id": np.arange(n, dtype=np.int64),
        "chargeback_delay": delay,
    })


@dataclass(frozen=True, eq=False)
class ShapedFrauds:
    """Frauds shaped by lab 02's constrained evasion: ``plan`` (one row per fraud, lab 02's
    ``FraudAttackResult.plan``: category, channel, delay, parts, score before and after,
    evaded, queries, valid, plus ``attack_id``), ``rows``: the raw transactions the fraudster
    makes (every part of every fraud, ``attack_id`` naming the fraud) and ``raw``: the frauds
    as they were before shaping.

    Introduced in lab 13 (Monitoring and response).
    """

    plan: pd.DataFrame
    rows: pd.DataFrame
    raw: pd.DataFrame

    @property
    def evasion_rate(self) -> float:
        """Share of the frauds whose every part scores under the threshold in the attack's own
        search (each fraud evaluated alone in its card's history)."""
        return float(self.plan["evaded"].mean()) if len(self.plan) else 0.0


def shape_frauds(system: SklearnSystem, traffic: pd.DataFrame, frauds: pd.DataFrame,
                 threshold: float, *, max_parts: int = 10, query_budget: int = 100,
                 seed: int = 0) -> ShapedFrauds:
    """Shape ``frauds`` (from :func:`takeover_frauds`) with lab 02's constrained evasion
    (``evasion.constrained_fraud_attack``, approve/decline access, ``query_budget`` tries per
    fraud): within the fraudster's legal moves (category, waiting up to 23 hours, splitting
    into up to ``max_parts`` payments 30 minutes apart at one terminal), each fraud is searched
    in its card's real history (``traffic``) until every part passes under ``threshold``. A
    fraud the search cannot slip through is made as it was (and meets the alert). Returns
    :class:`ShapedFrauds`.

    Introduced in lab 13 (Monitoring and response).
    """
    from ..evasion.fraud import constrained_fraud_attack

    _check_system(system)
    traffic = _check_traffic(traffic)
    frauds = check_frame(frauds, _KEEP, "frauds")
    if len(frauds) == 0:
        raise ValueError("frauds is empty")
    if (frauds[fraud_sim.TARGET] != 1).any() or (frauds["fraud_scenario"] == 0).any():
        raise ValueError("frauds must be frauds (is_fraud 1, fraud_scenario 1-4)")
    if frauds["attack_id"].duplicated().any():
        raise ValueError("frauds must have distinct attack_id values")
    threshold = _check_threshold(threshold)
    max_parts = check_int(max_parts, "max_parts", minimum=1, maximum=10)
    query_budget = check_int(query_budget, "query_budget", minimum=1)
    # the attack recomputes every candidate's history features itself: raw columns suffice
    history = pd.concat([traffic[list(_KEEP)], frauds[list(_KEEP)]], ignore_index=True)
    targets = np.arange(len(traffic), len(history))
    result = constrained_fraud_attack(system, history, targets, threshold,
                                      max_parts=max_parts, query_budget=query_budget,
                                      access="decision", seed=check_seed(seed), progress=False)
    plan = result.plan.assign(attack_id=history["attack_id"].to_numpy()[targets])
    parts = result.transactions
    by_target = dict(zip(targets, range(len(frauds)), strict=True))
    src = frauds.reset_index(drop=True).iloc[[by_target[t] for t in parts["attack_target"]]]
    rows = pd.DataFrame({
        "timestamp": parts["timestamp"].to_numpy(),
        "customer_id": parts["customer_id"].to_numpy(dtype=np.int64),
        "terminal_id": parts["terminal_id"].to_numpy(dtype=np.int64),
        "amount": parts["amount"].to_numpy(dtype=np.float64),
        "merchant_category": parts["merchant_category"].astype(str).to_numpy(dtype=object),
        "is_online": parts["is_online"].to_numpy(dtype=np.int64),
        fraud_sim.TARGET: np.ones(len(parts), dtype=np.int64),
        "fraud_scenario": src["fraud_scenario"].to_numpy(),
        "origin": src["origin"].to_numpy(),
        "attack_id": src["attack_id"].to_numpy(),
        "chargeback_delay": src["chargeback_delay"].to_numpy(),
    })
    return ShapedFrauds(plan=plan.reset_index(drop=True), rows=rows,
                        raw=frauds.reset_index(drop=True))


# --- the week -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FraudWeek:
    """A simulated week of the fraud scorer.

    ``week``: the :class:`~.common.Week` (one window per hour; ``X`` is the hour's
    transactions, their ``fraud_sim.FEATURES``; ``y_true`` whether each was a fraud;
    ``meta``: ``"scores"`` (the scorer's), the transactions of the last :data:`FRAUD_RECENT_HOURS`
    hours (``"recent_features"``: their :data:`FRAUD_MONITORED_FEATURES`, ``"recent_scores"``,
    ``"recent_repeat"``: paid by a card at a terminal where it already paid twice in the 2
    hours before), ``"ledger"`` (the bank's chargebacks: every fraud with its hour, its
    chargeback's hour and whether it alerted) and, for the reader only, ``"is_attack"``).
    ``transactions``: every transaction of the week (and of the hours before it that the
    first windows look back on) and every fraud of the 25 days before it (the chargeback
    history), with ``week_hour`` (:func:`transaction_hours`: negative before the week),
    ``score``, ``alerted``, ``chargeback_hour`` (NaN when it never arrives or for legitimate
    rows), ``origin`` and ``attack_id``. ``threshold``: the scorer's alert threshold.

    Introduced in lab 13 (Monitoring and response).
    """

    week: common.Week
    transactions: pd.DataFrame
    threshold: float

    @property
    def ledger(self) -> pd.DataFrame:
        """Every fraud of :attr:`transactions` (the chargebacks the bank receives, or not)."""
        return self.transactions[self.transactions[fraud_sim.TARGET] == 1]


def _repeat_flags(frame: pd.DataFrame) -> np.ndarray:
    """True where the same card paid at least twice at the same terminal in the 2 hours
    before (the third payment or later of a burst: a payment split in parts)."""
    t = frame["timestamp"].to_numpy("datetime64[ns]").astype(np.int64)
    terminal = frame["terminal_id"].to_numpy(np.int64)
    codes = frame["customer_id"].to_numpy(np.int64) * (int(terminal.max()) + 1) + terminal
    order = np.lexsort((t, codes))
    c, ts = codes[order], t[order]
    same = np.r_[False, False, c[2:] == c[:-2]]
    gap = np.r_[np.inf, np.inf, (ts[2:] - ts[:-2]) / 1e9]
    out = np.zeros(len(t), dtype=bool)
    out[order] = same & (gap < _REPEAT_SECONDS)
    return out


_CARD_FEATURES = ("cust_n_tx_1d", "cust_n_tx_7d", "cust_mean_amount_7d",
                  "cust_mean_amount_30d", "amount_to_cust_mean_30d", "cust_new_category",
                  "hour_unusual", "secs_since_last_tx")
_TERMINAL_FEATURES = ("term_n_tx_7d", "term_fraud_rate_28d_delayed")
_DERIVED: dict = {}


def _derived(traffic: pd.DataFrame) -> pd.DataFrame:
    """``traffic`` sorted by time with its history features (``fraud_sim.derive_features``),
    computed once per traffic frame: every week built on it starts from the same rows."""
    key = (id(traffic), int(pd.util.hash_pandas_object(traffic[list(_KEEP)],
                                                       index=False).sum()))
    if key not in _DERIVED:
        frame = traffic[list(_KEEP)].sort_values("timestamp", kind="stable")
        _DERIVED.clear()  # one traffic at a time: the frames are large
        _DERIVED[key] = (traffic, fraud_sim.derive_features(frame.reset_index(drop=True)))
    return _DERIVED[key][1]


def _with_rows(base: pd.DataFrame, rows: pd.DataFrame | None) -> pd.DataFrame:
    """``base`` (derived) with ``rows`` added and every history feature they change
    recomputed: the card features of the cards they use and the terminal features of the
    terminals they use (each from all of that card's or terminal's rows), the same numbers as
    ``fraud_sim.derive_features`` on everything, for a fraction of its time."""
    if rows is None or len(rows) == 0:
        return base.copy()
    cards = np.unique(rows["customer_id"].to_numpy())
    terminals = np.unique(rows["terminal_id"].to_numpy())
    in_card = base["customer_id"].isin(cards).to_numpy()
    in_term = base["terminal_id"].isin(terminals).to_numpy()
    touched = np.flatnonzero(in_card | in_term)
    sub = pd.concat([base.iloc[touched][list(_KEEP)], rows[list(_KEEP)]], ignore_index=True)
    sub = fraud_sim.derive_features(sub)
    out = base.copy()
    card_rows, term_rows = in_card[touched], in_term[touched]
    for col in _CARD_FEATURES:
        values = out[col].to_numpy().copy()
        values[touched[card_rows]] = sub[col].to_numpy()[:len(touched)][card_rows]
        out[col] = values
    for col in _TERMINAL_FEATURES:
        values = out[col].to_numpy().copy()
        values[touched[term_rows]] = sub[col].to_numpy()[:len(touched)][term_rows]
        out[col] = values
    out = pd.concat([out, sub.iloc[len(touched):]], ignore_index=True)
    return out.sort_values("timestamp", kind="stable").reset_index(drop=True)


def fraud_week(system: SklearnSystem, threshold: float, traffic: pd.DataFrame,
               attacks: Sequence[pd.DataFrame] = (), *,
               incidents: Sequence[common.Incident] = ()) -> FraudWeek:
    """Assemble the week: ``traffic`` (from :func:`bank_traffic`, with :func:`add_holiday`
    if wanted) plus the attackers' transactions (``attacks``: ``ShapedFrauds.rows`` or
    :func:`takeover_frauds`), their history features recomputed together
    (``fraud_sim.derive_features``), every transaction of the week scored by ``system`` and
    alerted at ``threshold``, cut into 168 hourly windows. ``incidents`` are the week's
    incidents (their hours are for the reader: the monitors do not see them). Returns
    :class:`FraudWeek`.

    The traffic's history features are computed once per traffic frame (do not change it in
    place between calls) and, for each week, only those the attackers' rows change (the cards
    and terminals they use) are recomputed: the same numbers as ``derive_features`` on
    everything, in a fraction of the time (the paced attacker rebuilds the week per pace).

    Introduced in lab 13 (Monitoring and response).
    """
    _check_system(system)
    threshold = _check_threshold(threshold)
    traffic = _check_traffic(traffic)
    parts = []
    for k, rows in enumerate(attacks):
        rows = check_frame(rows, _KEEP, f"attacks[{k}]")
        if (rows[fraud_sim.TARGET] != 1).any():
            raise ValueError(f"attacks[{k}] holds rows that are not frauds")
        parts.append(rows[list(_KEEP)])
    frame = _with_rows(_derived(traffic), pd.concat(parts, ignore_index=True) if parts else None)
    frame["week_hour"] = transaction_hours(frame["timestamp"])
    frame["repeat"] = _repeat_flags(frame)
    wh = frame["week_hour"]
    keep = (wh < common.HOURS) & ((wh >= -FRAUD_RECENT_HOURS) | (
        (wh >= -_LEDGER_DAYS * 24) & (frame[fraud_sim.TARGET] == 1)))
    frame = frame[keep].reset_index(drop=True)
    frame["score"] = _scores(system, frame[list(fraud_sim.FEATURES)].to_numpy(np.float32))
    frame["alerted"] = frame["score"] >= threshold
    fraud = frame[fraud_sim.TARGET].to_numpy() == 1
    frame["chargeback_hour"] = np.where(
        fraud, np.floor(frame["week_hour"] + frame["chargeback_delay"]), np.nan)
    ledger = frame.loc[fraud, ["week_hour", "chargeback_hour", "alerted", "amount", "origin",
                               "attack_id"]].reset_index(drop=True)
    hours = frame["week_hour"].to_numpy()
    starts = np.searchsorted(hours, np.arange(common.HOURS + 1), side="left")
    firsts = np.searchsorted(hours, np.arange(common.HOURS) - FRAUD_RECENT_HOURS + 1, side="left")
    X = frame[list(fraud_sim.FEATURES)].to_numpy(np.float32)
    watched = frame[list(FRAUD_MONITORED_FEATURES)].to_numpy(np.float64)
    scores = frame["score"].to_numpy()
    repeat = frame["repeat"].to_numpy()
    y = frame[fraud_sim.TARGET].to_numpy()
    attack = frame["attack_id"].to_numpy() >= 0
    windows = []
    for h in range(common.HOURS):
        lo, hi, first = starts[h], starts[h + 1], firsts[h]
        windows.append(common.Window(
            hour=h, X=X[lo:hi], y_true=y[lo:hi],
            meta={"scores": scores[lo:hi],
                  "recent_features": watched[first:hi],
                  "recent_scores": scores[first:hi],
                  "recent_repeat": repeat[first:hi],
                  "ledger": ledger,
                  "is_attack": attack[lo:hi]}))
    week = common.Week("fraud", tuple(windows), tuple(incidents))
    return FraudWeek(week=week, transactions=frame, threshold=threshold)


# --- monitors -----------------------------------------------------------------------------------


def _missed_counts(ledger: pd.DataFrame, hours: np.ndarray, window_hours: int,
                   oracle: bool) -> tuple[np.ndarray, np.ndarray]:
    """For each hour h of ``hours``: the frauds counted at h (chargeback, or with ``oracle``
    the fraud itself, in ``(h - window_hours, h]``) and how many of them the scorer missed."""
    when = (ledger["week_hour"] if oracle else ledger["chargeback_hour"]).to_numpy(float)
    missed = ~ledger["alerted"].to_numpy(dtype=bool)
    known = ~np.isnan(when)
    out = []
    for values in (np.sort(when[known]), np.sort(when[known & missed])):
        out.append(np.searchsorted(values, hours, side="right")
                   - np.searchsorted(values, hours - window_hours, side="right"))
    return out[0], out[1]


def missed_fraud_share(ledger: pd.DataFrame, hour: int, *,
                       window_hours: int = CHARGEBACK_WINDOW_HOURS, oracle: bool = False,
                       count: bool = False, min_labels: int = _MIN_LABELS) -> float:
    """What the bank knows at the end of ``hour`` about the frauds the scorer let through:
    among the chargebacks that arrived in the last ``window_hours`` hours
    (``chargeback_hour`` in ``(hour - window_hours, hour]``), the share the scorer did not
    alert (1 - recall on the arrived labels), or with ``count=True`` their number.
    ``oracle=True``: what a bank with immediate labels would see instead: every fraud *made* in
    those hours, chargeback or not. The share is NaN when fewer than ``min_labels`` frauds
    count (too few to say).

    Introduced in lab 13 (Monitoring and response).
    """
    ledger = check_frame(ledger, ("week_hour", "chargeback_hour", "alerted"), "ledger")
    hour = check_int(hour, "hour", minimum=None)
    window_hours = check_int(window_hours, "window_hours", minimum=1)
    min_labels = check_int(min_labels, "min_labels", minimum=1)
    total, missed = _missed_counts(ledger, np.array([hour]), window_hours, oracle)
    if count:
        return float(missed[0])
    if total[0] < min_labels:
        return float("nan")
    return float(missed[0] / total[0])


def missed_fraud_series(ledger: pd.DataFrame, *, window_hours: int = CHARGEBACK_WINDOW_HOURS,
                  oracle: bool = False, count: bool = False, hours: Sequence[int] | None = None,
                  min_labels: int = _MIN_LABELS) -> pd.Series:
    """:func:`missed_fraud_share` at every hour of ``hours`` (default: the week's 168), at once: a
    Series indexed by hour.

    Introduced in lab 13 (Monitoring and response).
    """
    ledger = check_frame(ledger, ("week_hour", "chargeback_hour", "alerted"), "ledger")
    window_hours = check_int(window_hours, "window_hours", minimum=1)
    min_labels = check_int(min_labels, "min_labels", minimum=1)
    hours = np.arange(common.HOURS) if hours is None else np.array(
        [check_int(h, "hour", minimum=None) for h in hours], dtype=np.int64)
    total, missed = _missed_counts(ledger, hours, window_hours, oracle)
    if count:
        values = missed.astype(float)
    else:
        values = np.where(total >= min_labels, missed / np.maximum(total, 1), np.nan)
    return pd.Series(values, index=pd.Index(hours, name="hour"),
                     name="missed (oracle)" if oracle else MISSED_FRAUDS)


def _recent(window: common.Window, key: str) -> np.ndarray:
    value = window.meta.get(key) if isinstance(window.meta, dict) else None
    if not isinstance(value, np.ndarray):
        raise ValueError(f"window {window.hour} has no meta[{key!r}] (make the week with "
                         "fraud_week)")
    return value


def fraud_monitors(reference: FraudReference, *, min_rows: int = _MIN_ROWS,
                   min_rows_psi: int = _MIN_ROWS_PSI,
                   window_hours: int = CHARGEBACK_WINDOW_HOURS) -> tuple[common.Monitor, ...]:
    """The fraud monitors, each a :class:`~.common.Monitor` (higher = more suspicious) on the
    transactions of the last :data:`FRAUD_RECENT_HOURS` hours (``meta["recent_features"]``,
    ``"recent_scores"``, ``"recent_repeat"`` of a :func:`fraud_week` window), against the
    training transactions of the same hours of the day (``reference``):

    - ``volume`` (input): transactions / the training mean for those hours;
    - ``feature PSI`` (input): the largest population stability index (the bins and floor of
      :func:`~.common.psi`) over :data:`FRAUD_MONITORED_FEATURES`;
    - ``feature KS`` (input): ``-log10`` of the smallest Holm-adjusted Kolmogorov-Smirnov
      p-value over the same features (:meth:`FraudReference.feature_ks`);
    - ``score PSI`` (prediction): the PSI of the scores;
    - ``alert rate`` (prediction): the share of transactions at or above the threshold;
    - ``repeat payments`` (attack): the number of payments made by a card at a terminal where
      it already paid twice in the 2 hours before (lab 02's split payments: legitimate cards
      almost never do it);
    - ``missed frauds`` (performance): frauds the scorer did not alert among the chargebacks
      that arrived in the last ``window_hours`` hours (:func:`missed_fraud_share` with
      ``count=True``, from ``meta["ledger"]``).

    The PSI monitors give NaN when fewer than ``min_rows_psi`` transactions are recent (with
    ten bins, a small sample leaves bins empty and the PSI explodes: at night they stay
    silent); the KS and alert-rate monitors when fewer than ``min_rows`` are. The monitors of
    one call remember their values (keyed by the hour of the day and the window's content),
    so weeks that share hours (with and without an attack) compute them once.

    Introduced in lab 13 (Monitoring and response).
    """
    if not isinstance(reference, FraudReference):
        raise ArgumentTypeError(f"reference must be a FraudReference (fraud_reference), got "
                                f"{type(reference).__name__}")
    min_rows = check_int(min_rows, "min_rows", minimum=2)
    min_rows_psi = check_int(min_rows_psi, "min_rows_psi", minimum=2)
    window_hours = check_int(window_hours, "window_hours", minimum=1)
    thr = reference.threshold
    cache: dict = {}

    def cached(name, window, values, compute):
        # The same recent transactions at the same hour of the day give the same value: weeks
        # that differ only after some hour (with and without an attack) share the hours before.
        key = (name, window.hour % 24, values.shape, hash(values.tobytes()))
        if key not in cache:
            cache[key] = compute()
        return cache[key]

    def volume(window):
        return len(_recent(window, "recent_scores")) / max(
            reference.expected[window.hour % 24], 1e-9)

    def feature_psi(window):
        values = _recent(window, "recent_features")
        if len(values) < min_rows_psi:
            return None
        return cached("psi", window, values, lambda: float(
            reference.feature_psi(window.hour % 24, values).max()))

    def feature_ks(window):
        values = _recent(window, "recent_features")
        if len(values) < min_rows:
            return None
        return cached("ks", window, values, lambda: float(-np.log10(max(
            reference.feature_ks(window.hour % 24, values)["p_adjusted"].min(), 1e-300))))

    def score_psi(window):
        values = _recent(window, "recent_scores")
        if len(values) < min_rows_psi:
            return None
        return reference.score_psi(window.hour % 24, values)

    def alert_rate(window):
        values = _recent(window, "recent_scores")
        return None if len(values) < min_rows else float((values >= thr).mean())

    def repeats(window):
        return float(_recent(window, "recent_repeat").sum())

    def missed(window):
        ledger = window.meta.get("ledger")
        if not isinstance(ledger, pd.DataFrame):
            raise ValueError(f"window {window.hour} has no meta['ledger'] (make the week with "
                             "fraud_week)")
        # one pass over the ledger gives every hour; the windows of a week share it
        key = ("missed", id(ledger), len(ledger))
        if key not in cache:
            cache[key] = (ledger, missed_fraud_series(ledger, window_hours=window_hours,
                                                      count=True))
        series = cache[key][1]
        return float(series.get(window.hour, np.nan))

    return (
        common.Monitor("volume", volume, "input", "transactions in the last hours / training "
                       "mean for those hours of the day"),
        common.Monitor("feature PSI", feature_psi, "input", "largest PSI over the monitored "
                       "features"),
        common.Monitor("feature KS", feature_ks, "input", "-log10 smallest Holm-adjusted KS "
                       "p-value over the monitored features"),
        common.Monitor("score PSI", score_psi, "prediction", "PSI of the scores"),
        common.Monitor("alert rate", alert_rate, "prediction", "share of transactions "
                       "alerted"),
        common.Monitor("repeat payments", repeats, "attack", "payments of a card at a "
                       "terminal it paid at twice in the 2 hours before"),
        common.Monitor(MISSED_FRAUDS, missed, "performance", "frauds not alerted among the "
                       f"chargebacks arrived in the last {window_hours} hours"),
    )


def chargeback_history(fweek: FraudWeek, *, history_hours: int = CHARGEBACK_HISTORY_HOURS,
                       window_hours: int = CHARGEBACK_WINDOW_HOURS) -> pd.Series:
    """The ``missed frauds`` monitor's values on the bank's chargeback history: for every hour
    from ``history_hours`` before the week to the end of the benign days 1-2 (hours
    ``-history_hours`` to 47), the missed frauds among the chargebacks that arrived in the
    ``window_hours`` before it (:func:`missed_fraud_series` with ``count=True``), indexed by hour.

    Introduced in lab 13 (Monitoring and response).
    """
    if not isinstance(fweek, FraudWeek):
        raise ArgumentTypeError(f"fweek must be a FraudWeek, got {type(fweek).__name__}")
    window_hours = check_int(window_hours, "window_hours", minimum=1)
    longest = _LEDGER_DAYS * 24 - CHARGEBACK_DELAY_HOURS[1] - window_hours
    history_hours = check_int(history_hours, "history_hours", minimum=0, maximum=longest)
    hours = range(-history_hours, max(fweek.week.benign_hours) + 1)
    return missed_fraud_series(fweek.ledger, window_hours=window_hours, count=True, hours=hours)


def fraud_calibration(fweek: FraudWeek, monitors: Sequence[common.Monitor],
                      n_windows: int = 300, *, seed: int = 0,
                      history_hours: int = CHARGEBACK_HISTORY_HOURS) -> pd.DataFrame:
    """A calibration frame for the fraud monitors (like :func:`~.common.calibration_frame`,
    one row per window, index ``window``; then ``calibrate_frame(cal, cal.index, rate,
    method="conformal")`` or ``monitor_week(..., calibration=cal)``): ``n_windows`` windows of
    ordinary traffic resampled from the benign days 1-2 *within the hour of the day* (fraud
    traffic has a daily rhythm): each takes a benign hour at random, and draws its recent
    transactions with replacement from the recent transactions of that hour of the day on days
    1 and 2, as many as a Poisson count around theirs. The ``missed frauds`` monitor counts
    chargebacks, not rows, and two days hold about 15 of them: its column holds values of
    :func:`chargeback_history` (the bank's chargebacks of the ``history_hours`` before the
    week and of days 1-2) drawn at random.

    Introduced in lab 13 (Monitoring and response).
    """
    if not isinstance(fweek, FraudWeek):
        raise ArgumentTypeError(f"fweek must be a FraudWeek, got {type(fweek).__name__}")
    monitors = tuple(monitors)
    if not monitors or not all(isinstance(m, common.Monitor) for m in monitors):
        raise ArgumentTypeError("monitors must be one or more Monitor objects "
                                "(fraud_monitors)")
    n_windows = check_int(n_windows, "n_windows", minimum=1)
    rng = np.random.default_rng([check_seed(seed), 13, 6])
    week = fweek.week
    benign = list(week.benign_hours)
    history = chargeback_history(fweek, history_hours=history_hours).to_numpy()
    keys = ("recent_features", "recent_scores", "recent_repeat")
    pools = {}
    for h in benign:
        same = [g for g in benign if g % 24 == h % 24]
        pools.setdefault(h % 24, (
            {k: np.concatenate([week.windows[g].meta[k] for g in same]) for k in keys},
            float(np.mean([len(week.windows[g].meta["recent_scores"]) for g in same]))))
    rows = []
    for _ in range(n_windows):
        hour = int(rng.choice(benign))
        pool, mean = pools[hour % 24]
        size = int(rng.poisson(mean))
        idx = rng.integers(0, len(pool["recent_scores"]), size) if len(
            pool["recent_scores"]) else np.zeros(0, dtype=int)
        window = common.Window(hour, pool["recent_features"][idx],
                               meta={k: v[idx] for k, v in pool.items()})
        rows.append([float(history[rng.integers(len(history))]) if m.name == MISSED_FRAUDS
                     else m(window) for m in monitors])
    frame = pd.DataFrame(rows, columns=[m.name for m in monitors], dtype=float)
    frame.index = pd.RangeIndex(len(frame), name="window")
    return frame


def fraud_error_stream(fweek: FraudWeek, *, oracle: bool = False,
                 since_hour: int = -5 * 24) -> pd.Series:
    """The scorer's error stream on frauds, for a streaming change detector (river's DDM or
    ADWIN through :func:`~.common.stream_changes`): one value per fraud, 1 when the scorer did
    not alert it, in the order the bank learns of them: by chargeback hour (frauds never
    charged back never appear), or, with ``oracle=True``, by transaction hour (immediate
    labels, every fraud). Only frauds made from ``since_hour`` on (negative: before the week,
    the detector's warm-up). The index is the hour the bank learns each value (so a detection
    reads as an hour), in order.

    Introduced in lab 13 (Monitoring and response).
    """
    if not isinstance(fweek, FraudWeek):
        raise ArgumentTypeError(f"fweek must be a FraudWeek, got {type(fweek).__name__}")
    since_hour = check_int(since_hour, "since_hour", minimum=None)
    led = fweek.ledger
    led = led[led["week_hour"] >= since_hour]
    when = led["week_hour"] if oracle else led["chargeback_hour"]
    keep = when.notna() & (when < common.HOURS)
    order = np.lexsort((led["week_hour"].to_numpy()[keep], when.to_numpy()[keep]))
    values = (~led["alerted"].to_numpy(dtype=bool)[keep]).astype(float)[order]
    index = when.to_numpy()[keep][order].astype(int)
    return pd.Series(values, index=pd.Index(index, name="hour"), name="missed")


# --- what got through ---------------------------------------------------------------------------


def frauds_passed(fweek: FraudWeek, origin: str, *,
                     until_hour: int | None = None) -> pd.DataFrame:
    """One row per fraud of the campaign ``origin`` (``"wave"``, ``"paced"``...): its
    ``amount`` (all parts), ``parts``, ``first_hour`` and ``last_hour`` (week hours),
    ``passed``: every part was paid without an alert, and, with ``until_hour``, only frauds
    whose last part was paid by the end of that hour count as passed (a response from the next
    hour on stops the rest).

    Introduced in lab 13 (Monitoring and response).
    """
    if not isinstance(fweek, FraudWeek):
        raise ArgumentTypeError(f"fweek must be a FraudWeek, got {type(fweek).__name__}")
    origins = sorted(set(fweek.transactions["origin"]) - {"traffic", "holiday"})
    check_choice(origin, origins, "campaign (origin)")
    rows = fweek.transactions[fweek.transactions["origin"] == origin]
    out = rows.groupby("attack_id").agg(
        amount=("amount", "sum"), parts=("amount", "size"), first_hour=("week_hour", "min"),
        last_hour=("week_hour", "max"), alerted=("alerted", "any"))
    out["passed"] = ~out.pop("alerted")
    if until_hour is not None:
        until_hour = check_int(until_hour, "until_hour", minimum=-1)
        out["passed"] &= out["last_hour"] <= until_hour
    return out.reset_index()


FRAUD_RESPONSE_KINDS: tuple[str, ...] = ("attack", "performance")
"""The kinds of monitor whose alert makes the bank respond to a fraud campaign (block the
cards and merchants involved, review the rule): the attack monitor (repeated payments) and
the chargeback monitor. Input and prediction alerts start a drift review instead (the lab's
rule: ordinary drift moves them too).

Introduced in lab 13 (Monitoring and response)."""


def fraud_response_hour(alerts_frame: pd.DataFrame, monitors: Sequence[common.Monitor], *,
                  after: int = 0, kinds: Sequence[str] = FRAUD_RESPONSE_KINDS) -> int | None:
    """The hour the bank responds to a fraud campaign: the first alert (of ``alerts_frame``,
    e.g. :func:`~.common.new_alerts` of the campaign) at or after hour ``after`` from a
    monitor of one of ``kinds``; ``None`` when there is none. Frauds paid up to that hour get
    through; from the next hour on the response stops the campaign.

    Introduced in lab 13 (Monitoring and response).
    """
    if not isinstance(alerts_frame, pd.DataFrame) or not {"hour", "monitor"} <= set(
            alerts_frame.columns):
        raise ArgumentTypeError("alerts_frame must be the DataFrame of common.alerts or "
                                "common.new_alerts")
    monitors = tuple(monitors)
    if not all(isinstance(m, common.Monitor) for m in monitors):
        raise ArgumentTypeError("monitors must hold Monitor objects")
    kinds = [check_choice(k, common.MONITOR_KINDS, "monitor kind") for k in kinds]
    after = check_int(after, "after", minimum=0)
    names = {m.name for m in monitors if m.kind in kinds}
    hits = alerts_frame[alerts_frame["monitor"].isin(names) & (alerts_frame["hour"] >= after)]
    return int(hits["hour"].min()) if len(hits) else None


@dataclass(frozen=True, eq=False)
class PacedFrauds:
    """What the paced (adaptive) attacker of the fraud week achieves.

    ``table``: one row per pace tried: ``pace`` (frauds a day), ``frauds`` sent,
    ``first_fraud`` (the hour of its first payment), ``first_alert`` (the first hour with an
    alert its traffic added to the week without it, any monitor; NaN when none),
    ``first_monitors`` (the monitors of that hour),
    ``response`` (the hour the bank responds, :func:`fraud_response_hour`; NaN when it does not
    within the week), ``late_label_alert`` (the chargeback monitor's first added alert; NaN
    when none within the week), ``passed`` and ``money``: frauds paid without a scorer alert
    up to the response (all of them when there is none), ``passed_no_response`` and
    ``money_no_response``: the same with no response. ``pace``: the pace the attacker settles
    on, the one that gets the most money through; ``fweek``, ``added`` (its added alerts) and
    ``passed`` (:func:`frauds_passed`, response included) are that pace's; ``success``: its
    frauds that got through over its frauds sent; ``money``: their amount.

    Introduced in lab 13 (Monitoring and response).
    """

    table: pd.DataFrame
    pace: float
    fweek: FraudWeek
    added: pd.DataFrame
    passed: pd.DataFrame
    success: Rate
    money: float


def paced_frauds(system: SklearnSystem, threshold: float, traffic: pd.DataFrame,
                 pool: ShapedFrauds, paces: Sequence[float], monitors: Sequence[common.Monitor],
                 thresholds: dict[str, float], baseline: pd.DataFrame, *,
                 days: Sequence[int] = (3, 4, 5, 6)) -> PacedFrauds:
    """The adaptive attacker: it spreads its frauds thinly over ``days`` to stay under the
    monitors' thresholds. ``pool``: the frauds it may send, shaped (without split payments,
    which the repeat-payment monitor watches), in random order; pace ``p`` frauds a day sends
    the first ``round(p * len(days))`` of them. For each pace the week is rebuilt
    (:func:`fraud_week` on ``traffic``) and monitored with ``thresholds``; the alerts it adds
    to the week without it (``baseline``: the monitors' frame of that week;
    :func:`~.common.new_alerts`) are the ones it raises, and the bank responds after the first
    of them from a fraud monitor (:func:`fraud_response_hour`). The attacker settles on the pace
    that gets the most money through. Returns :class:`PacedFrauds`.

    Introduced in lab 13 (Monitoring and response).
    """
    _check_system(system)
    if not isinstance(pool, ShapedFrauds):
        raise ArgumentTypeError(f"pool must be ShapedFrauds, got {type(pool).__name__}")
    paces = sorted({check_number(p, "pace", low=0.0, low_open=True) for p in paces})
    if not paces:
        raise ValueError("paces is empty")
    days = [check_int(d, "day", minimum=1, maximum=common.HOURS // common.HOURS_PER_DAY)
            for d in days]
    if not days:
        raise ValueError("days must name at least one day of the week")
    monitors = tuple(monitors)
    origins = set(pool.rows["origin"])
    if len(origins) != 1:
        raise ValueError("pool must hold one campaign (one origin)")
    origin = origins.pop()
    order = pool.raw["attack_id"].to_numpy()
    need = int(round(max(paces) * len(days)))
    if need > len(order):
        raise ValueError(f"pace {max(paces)} needs {need} frauds but the pool holds "
                         f"{len(order)}")
    rows, runs = [], {}
    for pace in paces:
        n = int(round(pace * len(days)))
        if n < 1:
            raise ValueError(f"pace {pace} sends no fraud over {len(days)} day(s)")
        sent = pool.rows[pool.rows["attack_id"].isin(order[:n])]
        fw = fraud_week(system, threshold, traffic, [sent])
        frame = common.run_monitors(fw.week, monitors)
        added = common.new_alerts(frame, baseline, thresholds)
        first = int(added["hour"].min()) if len(added) else None
        respond = fraud_response_hour(added, monitors)
        late = added.loc[added["monitor"] == MISSED_FRAUDS, "hour"]
        by_response = frauds_passed(fw, origin, until_hour=respond)
        no_response = frauds_passed(fw, origin)
        rows.append({
            "pace": pace, "frauds": n, "first_fraud": int(no_response["first_hour"].min()),
            "first_alert": np.nan if first is None else first,
            "first_monitors": ", ".join(added.loc[added["hour"] == first, "monitor"])
            if first is not None else "",
            "response": np.nan if respond is None else respond,
            "late_label_alert": float(late.min()) if len(late) else np.nan,
            "passed": int(by_response["passed"].sum()),
            "money": float(by_response.loc[by_response["passed"], "amount"].sum()),
            "passed_no_response": int(no_response["passed"].sum()),
            "money_no_response": float(no_response.loc[no_response["passed"], "amount"].sum()),
        })
        runs[pace] = (fw, added, by_response)
    table = pd.DataFrame(rows)
    best = float(table.loc[table["money"].idxmax(), "pace"])
    fw, added, passed = runs[best]
    n = len(passed)
    success = proportion(int(passed["passed"].sum()), n,
                         on=f"{n} frauds of the paced attacker")
    return PacedFrauds(table, best, fw, added, passed, success,
                       float(passed.loc[passed["passed"], "amount"].sum()))
