"""Seeded simulator of card transactions with fraud: the data of the fraud-detection system.

The fraud-detection reference system of the course scores card transactions with
gradient-boosted trees (plus a small MLP for gradient-based attacks). Its data is not a
download: it is generated here, from a seed, so that every student gets the same frame and
every lab can re-generate it offline in about a second.

The design follows the transaction simulator of the handbook *Reproducible Machine Learning
for Credit Card Fraud Detection - Practical handbook* (Le Borgne et al., 2022): customers
and terminals with locations, customers with spending habits, fraud scenarios injected on
top of legitimate traffic, and history features computed per customer and per terminal,
the terminal risk using labels known only after a delay. The code is written from scratch
for this course and differs in its customers (regions, ages, active hours, preferred
categories), its merchant categories and its four fraud scenarios.

Everything is vectorised with numpy and pandas (no Python loop over transactions): the
default simulation (about 70,000 transactions) takes well under a second.

What the labs use:

* :func:`simulate_transactions` - the frame (one row per transaction).
* :func:`feature_matrix` - ``(X, y)`` in :data:`FEATURES` order for the models.
* :data:`ATTACKER_CONSTRAINTS` and :func:`check_constraints` - what a fraudster controls,
  and whether a (possibly attacked) row is still a valid transaction.
* :func:`derive_features` - recompute the history features after rows were changed or
  added (for example a payment split into ``k`` smaller ones).
* :data:`SCENARIOS` and :data:`DATASHEET` - the documentation of the data.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd

from .validate import check_int, check_seed

__all__ = [
    "AMOUNT_MAX",
    "AMOUNT_MIN",
    "ATTACKER_CONSTRAINTS",
    "DATASHEET",
    "FEATURES",
    "HEAVY_TAILED_FEATURES",
    "IN_PERSON_CATEGORIES",
    "MERCHANT_CATEGORIES",
    "MIN_CUSTOMERS",
    "MIN_DAYS",
    "MIN_TERMINALS",
    "ONLINE_CATEGORIES",
    "REGIONS",
    "SCENARIOS",
    "SECS_SINCE_LAST_CAP",
    "START",
    "TARGET",
    "check_constraints",
    "derive_features",
    "feature_matrix",
    "log_heavy_tails",
    "simulate_transactions",
]

# --------------------------------------------------------------------------------------
# Public constants
# --------------------------------------------------------------------------------------

MERCHANT_CATEGORIES: tuple[str, ...] = (
    "grocery",
    "fuel",
    "restaurant",
    "pharmacy",
    "clothing",
    "electronics",
    "online_retail",
    "travel",
    "gambling",
    "cash_withdrawal",
)
"""The merchant categories, in the order of their one-hot columns ``cat_<category>``.

Introduced in lab 00 (Meet the five systems)."""

ONLINE_CATEGORIES: tuple[str, ...] = (
    "clothing",
    "electronics",
    "online_retail",
    "travel",
    "gambling",
)
"""Categories that can be paid online (card not present, ``is_online == 1``).

Introduced in lab 00 (Meet the five systems)."""

IN_PERSON_CATEGORIES: tuple[str, ...] = tuple(
    c for c in MERCHANT_CATEGORIES if c != "online_retail"
)
"""Categories that can be paid in person (``is_online == 0``): all but ``online_retail``.

Introduced in lab 00 (Meet the five systems)."""

REGIONS: tuple[str, ...] = ("central", "north", "east", "south", "west")
"""Customer regions (a sensitive attribute, not a model feature).

``central`` is the dense city centre; the four others are the surrounding areas. Base
spending differs by region (central highest, south lowest), and so do the age mix and the
density of terminals. Introduced in lab 00 (Meet the five systems)."""

START: pd.Timestamp = pd.Timestamp("2026-01-01 00:00:00")
"""Time origin of the simulation: day 0 starts at midnight on 2026-01-01.

Introduced in lab 00 (Meet the five systems)."""

AMOUNT_MIN: float = 0.01
"""Smallest legal amount of a transaction (one cent). Introduced in lab 00 (Meet the five
systems)."""

AMOUNT_MAX: float = 20000.0
"""Largest legal amount of a transaction (the card limit of every simulated card).

Introduced in lab 00 (Meet the five systems)."""

SECS_SINCE_LAST_CAP: float = 30 * 86400.0
"""Cap of ``secs_since_last_tx`` (30 days, in seconds); also its value when the card has
no earlier transaction. Introduced in lab 00 (Meet the five systems)."""

MIN_CUSTOMERS: int = 50
"""Smallest ``n_customers`` accepted by :func:`simulate_transactions`.

Introduced in lab 00 (Meet the five systems)."""

MIN_TERMINALS: int = 50
"""Smallest ``n_terminals`` accepted by :func:`simulate_transactions` (every category
needs terminals). Introduced in lab 00 (Meet the five systems)."""

MIN_DAYS: int = 14
"""Smallest ``n_days`` accepted by :func:`simulate_transactions` (the terminal risk uses
labels delayed by 7 days). Introduced in lab 00 (Meet the five systems)."""

TARGET: str = "is_fraud"
"""Name of the label column (1 = fraud, 0 = legitimate). Introduced in lab 00 (Meet the
five systems)."""

_CATEGORY_COLUMNS: tuple[str, ...] = tuple(f"cat_{c}" for c in MERCHANT_CATEGORIES)

_HISTORY_FEATURES: tuple[str, ...] = (
    "cust_n_tx_1d",
    "cust_n_tx_7d",
    "cust_mean_amount_7d",
    "cust_mean_amount_30d",
    "amount_to_cust_mean_30d",
    "cust_new_category",
    "hour_unusual",
    "secs_since_last_tx",
    "term_n_tx_7d",
    "term_fraud_rate_28d_delayed",
)

FEATURES: tuple[str, ...] = ("amount", "hour", "is_online") + _CATEGORY_COLUMNS + _HISTORY_FEATURES
"""The model's numeric input columns, in order (23 columns).

``amount``, ``hour`` (0-23), ``is_online`` (0/1); the merchant category one-hot encoded as
``cat_grocery`` ... ``cat_cash_withdrawal`` (exactly one is 1, in
:data:`MERCHANT_CATEGORIES` order); then the history features computed from the card's and
the terminal's strictly earlier transactions (see :func:`derive_features`). The customer's
age and region are *not* features. Introduced in lab 00 (Meet the five systems)."""

HEAVY_TAILED_FEATURES: tuple[str, ...] = (
    "amount", "cust_n_tx_1d", "cust_n_tx_7d", "cust_mean_amount_7d", "cust_mean_amount_30d",
    "amount_to_cust_mean_30d", "secs_since_last_tx", "term_n_tx_7d",
)
"""The heavy-tailed columns of :data:`FEATURES` (amounts, counts, a ratio, a waiting time),
which :func:`log_heavy_tails` replaces by ``log1p``. Introduced in lab 09 (Federated learning)."""

SCENARIOS: dict[int, dict] = {
    0: {
        "name": "legitimate",
        "description": (
            "The card holder's own purchases: categories, terminals, hours, amounts and "
            "rate drawn from the customer's habits. Includes outliers that look like "
            "fraud: rare large purchases (electronics, travel, clothing; 3-12 times the "
            "usual amount), trips (a few days at unfamiliar terminals, shifted hours, "
            "travel spending), night shoppers, busy days and online micro-payments."
        ),
        "signature": "none (by construction close to the customer's history)",
    },
    1: {
        "name": "stolen card, big purchases",
        "description": (
            "A thief uses a stolen physical card for 1-6 purchases within two days, in "
            "shopping hours, mostly electronics and clothing, in person or online."
        ),
        "signature": (
            "amounts far above the customer's habit (3-12 times the usual amount); about "
            "a third of the cases are mild (1-2.5 times)"
        ),
    },
    2: {
        "name": "compromised terminal",
        "description": (
            "A terminal is skimmed during a window of 1-4 days; every card used there "
            "during the window is cloned, and each clone is used 1-3 times in person "
            "1-11 days later, mostly at the cash-out terminals (ATMs and shops) of one "
            "of three fraud rings, otherwise at ordinary terminals."
        ),
        "signature": (
            "ordinary amounts (0.8-1.8 times the usual amount); a high delayed fraud "
            "rate at the rings' terminals; many cards hit after one terminal; some cash "
            "withdrawals at night"
        ),
    },
    3: {
        "name": "account takeover / card-not-present burst",
        "description": (
            "A fraudster who took over the card details makes a burst of 2-10 online "
            "payments a few minutes apart in risky categories (online retail, "
            "electronics, gambling, travel), often at night, partly at a pool of "
            "merchants favoured by fraudsters. Older customers are targeted more often."
        ),
        "signature": (
            "many online transactions within an hour, unusual hours, new categories; "
            "about a third of the bursts are mild (daytime, usual amounts)"
        ),
    },
    4: {
        "name": "card testing",
        "description": (
            "A fraudster checks that card details work with 1-6 tiny online payments "
            "(0.50-3.00) a few minutes apart, then makes one large online purchase a few "
            "hours later."
        ),
        "signature": (
            "tiny online amounts in quick succession, then one amount far above the "
            "customer's habit"
        ),
    },
}
"""The transaction scenarios: 0 is legitimate, 1-4 are the fraud scenarios.

Each entry has ``name``, ``description`` and ``signature`` (what gives it away, and how
often it does not). The column ``fraud_scenario`` holds the key. Introduced in lab 00 (Meet
the five systems)."""

_COUNT_MAX = 100_000
_DERIVED_TIME = ["timestamp", "customer_id"]


def _frozen(value):
    """A read-only copy of nested dicts and lists (mappingproxy and tuple), so a student's cell
    cannot change the documented constraints that the checks and attacks read."""
    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _feature_constraint(kind, lo, hi, controllable, note, derived_from=None, **extra):
    entry = {"controllable": controllable, "kind": kind, "min": lo, "max": hi}
    entry["derived_from"] = list(derived_from or [])
    entry["note"] = note
    entry.update(extra)
    return entry


ATTACKER_CONSTRAINTS: Mapping = _frozen({
    "amount": _feature_constraint(
        "continuous",
        AMOUNT_MIN,
        AMOUNT_MAX,
        True,
        "In whole cents; cash withdrawals in multiples of 10. Changing it changes "
        "amount_to_cust_mean_30d of this row and the means of the card's later rows.",
    ),
    "hour": _feature_constraint(
        "integer",
        0,
        23,
        True,
        "Hour of the timestamp. Choosing it moves the transaction in time, so the "
        "history features (hour_unusual, velocities) must be recomputed.",
    ),
    "is_online": _feature_constraint(
        "binary",
        0,
        1,
        True,
        "1 = card not present. Only where the category allows it (online_retail is "
        "always online; grocery, fuel, restaurant, pharmacy, cash_withdrawal never) and "
        "the scenario allows it (a cloned card, scenario 2, is used in person; stolen "
        "card details without the card, scenarios 3 and 4, only online).",
    ),
    **{
        col: _feature_constraint(
            "categorical",
            0,
            1,
            True,
            f"One-hot column of merchant_category == {cat!r}; exactly one cat_* column "
            "is 1. The fraudster chooses the category (and so the terminal) among "
            "the legal ones.",
            group="merchant_category",
            category=cat,
        )
        for col, cat in zip(_CATEGORY_COLUMNS, MERCHANT_CATEGORIES, strict=True)
    },
    "cust_n_tx_1d": _feature_constraint(
        "integer",
        0,
        _COUNT_MAX,
        False,
        "Number of the card's transactions in the 24 h before this one. Splitting a "
        "payment increases it for the later parts.",
        _DERIVED_TIME,
    ),
    "cust_n_tx_7d": _feature_constraint(
        "integer",
        0,
        _COUNT_MAX,
        False,
        "Number of the card's transactions in the 7 days before this one; >= cust_n_tx_1d.",
        _DERIVED_TIME,
    ),
    "cust_mean_amount_7d": _feature_constraint(
        "continuous",
        0.0,
        AMOUNT_MAX,
        False,
        "Mean amount of the card's transactions in the 7 days before; 0 when there is none.",
        ["amount", *_DERIVED_TIME],
    ),
    "cust_mean_amount_30d": _feature_constraint(
        "continuous",
        0.0,
        AMOUNT_MAX,
        False,
        "Mean amount of the card's transactions in the 30 days before; 0 when there is none.",
        ["amount", *_DERIVED_TIME],
    ),
    "amount_to_cust_mean_30d": _feature_constraint(
        "continuous",
        0.0,
        AMOUNT_MAX / AMOUNT_MIN,
        False,
        "amount / cust_mean_amount_30d, or 1.0 when the card has no transaction in the "
        "30 days before.",
        ["amount", "cust_mean_amount_30d"],
    ),
    "cust_new_category": _feature_constraint(
        "binary",
        0,
        1,
        False,
        "1 when the card has never been used before in this merchant category.",
        ["merchant_category", *_DERIVED_TIME],
    ),
    "hour_unusual": _feature_constraint(
        "binary",
        0,
        1,
        False,
        "1 when the card has at least 10 earlier transactions and fewer than 5% of them "
        "are within 2 hours (circularly) of this hour.",
        ["hour", *_DERIVED_TIME],
    ),
    "secs_since_last_tx": _feature_constraint(
        "continuous",
        0.0,
        SECS_SINCE_LAST_CAP,
        False,
        "Seconds since the card's previous transaction, capped at 30 days (the cap when "
        "there is none). Consistent with the counts: <= 1 day iff cust_n_tx_1d >= 1, "
        "<= 7 days iff cust_n_tx_7d >= 1.",
        _DERIVED_TIME,
    ),
    "term_n_tx_7d": _feature_constraint(
        "integer",
        0,
        _COUNT_MAX,
        False,
        "Number of transactions at this terminal in the 7 days before.",
        ["terminal_id", "timestamp"],
    ),
    "term_fraud_rate_28d_delayed": _feature_constraint(
        "continuous",
        0.0,
        1.0,
        False,
        "Fraud rate at this terminal over the 28 days that end 7 days before this "
        "transaction (labels arrive with a 7-day delay); 0 when there is no such "
        "transaction.",
        ["terminal_id", "timestamp", "is_fraud"],
    ),
    "actions": [
        {
            "name": "change_amount",
            "features": ["amount"],
            "description": "Pay any amount in [AMOUNT_MIN, AMOUNT_MAX], in whole cents "
            "(multiples of 10 for cash withdrawals).",
        },
        {
            "name": "choose_category",
            "features": list(_CATEGORY_COLUMNS),
            "description": "Buy in another merchant category (one of "
            "MERCHANT_CATEGORIES), which picks another terminal; the one-hot stays valid.",
        },
        {
            "name": "choose_hour",
            "features": ["hour"],
            "description": "Pay at another hour (0-23) of the day; recompute the history "
            "features with derive_features.",
        },
        {
            "name": "choose_channel",
            "features": ["is_online"],
            "description": "Pay online or in person where the category and the scenario "
            "allow it (see is_online).",
            "online_categories": list(ONLINE_CATEGORIES),
            "in_person_categories": list(IN_PERSON_CATEGORIES),
        },
        {
            "name": "split_payment",
            "features": ["amount", "cust_n_tx_1d", "cust_n_tx_7d", "secs_since_last_tx"],
            "description": "Replace one payment by k smaller ones (amounts summing to the "
            "original, at distinct later times). The new rows change the derived velocity "
            "and mean features of themselves and of the card's later rows: add the rows "
            "and recompute with derive_features, never set those features directly.",
            "k_min": 2,
            "k_max": 10,
        },
    ],
})
"""What a fraudster controls, per :data:`FEATURES` column, plus the legal ``actions``.

Each feature entry has ``controllable`` (bool), ``kind`` (``"continuous"``,
``"integer"``, ``"binary"`` or ``"categorical"``), ``min``, ``max``, ``derived_from`` (the
raw columns a non-controllable feature is computed from; empty when controllable) and
``note``; the ``cat_*`` entries also carry ``group`` (``"merchant_category"``) and
``category``. The extra top-level key ``"actions"`` lists what the fraudster can do
(``change_amount``, ``choose_category``, ``choose_hour``, ``choose_channel``,
``split_payment``); skip it when iterating over features. :func:`check_constraints`
enforces these entries. Introduced in lab 00 (Meet the five systems)."""

_COLUMN_DOCS: dict[str, str] = {
    "transaction_id": "int, 0..n-1 in time order",
    "timestamp": "datetime64[ns], whole seconds, strictly increasing, from 2026-01-01",
    "day": "int, days since 2026-01-01 (0..n_days-1)",
    "hour": "int 0-23, hour of the timestamp (feature)",
    "customer_id": "int, the card / customer (0..n_customers-1)",
    "terminal_id": "int, the terminal / merchant (0..n_terminals-1)",
    "amount": "float, 2 decimals, in [0.01, 20000] (feature)",
    "merchant_category": "str, one of MERCHANT_CATEGORIES",
    "is_online": "0/1, card not present (feature)",
    **{col: "0/1, one-hot of merchant_category (feature)" for col in _CATEGORY_COLUMNS},
    "cust_n_tx_1d": "card's transactions in the previous 24 h (feature)",
    "cust_n_tx_7d": "card's transactions in the previous 7 days (feature)",
    "cust_mean_amount_7d": "card's mean amount over the previous 7 days, 0 if none (feature)",
    "cust_mean_amount_30d": "card's mean amount over the previous 30 days, 0 if none (feature)",
    "amount_to_cust_mean_30d": "amount / cust_mean_amount_30d, 1 if no history (feature)",
    "cust_new_category": "1 if the card was never used in this category before (feature)",
    "hour_unusual": "1 if the hour is outside the card's usual hours (feature)",
    "secs_since_last_tx": "seconds since the card's previous transaction, capped at 30 "
    "days (feature)",
    "term_n_tx_7d": "terminal's transactions in the previous 7 days (feature)",
    "term_fraud_rate_28d_delayed": "terminal's fraud rate over [t-35d, t-7d) (feature)",
    "is_fraud": "0/1, the label (target)",
    "fraud_scenario": "0 = legitimate, 1-4 = key of SCENARIOS",
    "customer_age": "int 18-90, sensitive attribute, not a feature",
    "customer_region": "str, one of REGIONS, sensitive attribute, not a feature",
}

DATASHEET: dict = {
    "name": "fraud_transactions",
    "version": "0.1.0",
    "source": "generated by mlsec_helpers.fraud_sim, seeded "
    "(simulate_transactions(n_customers=2000, n_terminals=4000, n_days=60, seed=0))",
    "licence": "CC0-1.0 (generated data)",
    "citation": (
        "Generated by mlsec_helpers.fraud_sim (ML model security course). Simulator design "
        "inspired by: Y.-A. Le Borgne, W. Siblini, B. Lebichot, G. Bontempi, "
        "'Reproducible Machine Learning for Credit Card Fraud Detection - Practical "
        "handbook', Universite Libre de Bruxelles, 2022, "
        "https://github.com/Fraud-Detection-Handbook/fraud-detection-handbook "
        "(written from scratch here, not copied)."
    ),
    "row": (
        "one card transaction: who paid (customer_id), where (terminal_id, "
        "merchant_category, is_online), when (timestamp, day, hour), how much (amount), "
        "history features of the card and the terminal computed from strictly earlier "
        "transactions only, the label is_fraud and its scenario, and two sensitive "
        "attributes of the customer (age, region) that are not model features"
    ),
    "columns": dict(_COLUMN_DOCS),
    "features": list(FEATURES),
    "target": TARGET,
    "scenarios": {k: dict(v) for k, v in SCENARIOS.items()},
    "known_biases": [
        "Region: base spending differs by region (central x1.35 ... south x0.75) and "
        "terminals are denser in the centre, so the same absolute amount is ordinary in "
        "one region and unusual in another.",
        "Age: younger customers pay online and at night more often (more false-positive "
        "risk from the online/hour features); older customers withdraw more cash and are "
        "targeted more often by account takeover (scenario 3).",
        "Fraud is injected by hand-written scenarios: a model learns these four "
        "mechanisms, not the open-ended behaviour of real fraudsters.",
    ],
    "limits": [
        "Synthetic: no real person, card or merchant; the distributions are plausible "
        "by design, not fitted to real data.",
        "Labels are exact (no missed fraud, no disputes) except that the terminal "
        "risk feature sees them with a 7-day delay.",
        "One card per customer; no card blocking after fraud; no geography in the "
        "features (terminal locations are used only to choose terminals).",
        "The first days of the simulation have short histories (no burn-in period).",
    ],
}
"""Datasheet of the simulated data as a dict (name, version, source, licence, citation,
row, columns, features, target, scenarios, known_biases, limits). The long form is
``datasets/fraud_transactions.md``. Introduced in lab 00 (Meet the five systems)."""

# --------------------------------------------------------------------------------------
# Simulation parameters (private)
# --------------------------------------------------------------------------------------

_CAT = {c: i for i, c in enumerate(MERCHANT_CATEGORIES)}
_N_CAT = len(MERCHANT_CATEGORIES)
_DAY = 86400
_HOUR = 3600

# Typical amount of the category relative to the customer's base amount.
_CAT_AMOUNT_MULT = np.array([1.0, 1.3, 0.8, 0.6, 1.6, 3.0, 1.1, 5.0, 1.2, 2.0])
# Customers' average preference for the categories (before personalisation).
_CAT_PREF = np.array([0.24, 0.10, 0.16, 0.06, 0.08, 0.04, 0.12, 0.03, 0.04, 0.13])
# How much more than the customer's online propensity each category is paid online.
_CAT_ONLINE_FACTOR = np.array([0.0, 0.0, 0.0, 0.0, 0.6, 0.7, 1.0, 0.9, 1.0, 0.0])
_ONLINE_OK = np.array([c in ONLINE_CATEGORIES for c in MERCHANT_CATEGORIES])
_IN_PERSON_OK = np.array([c in IN_PERSON_CATEGORIES for c in MERCHANT_CATEGORIES])
# Shares of the terminals per category, in person and online.
_TERM_W_IN_PERSON = np.array([0.2, 0.1, 0.22, 0.08, 0.12, 0.06, 0.0, 0.04, 0.03, 0.15])
_TERM_W_ONLINE = np.array([0.0, 0.0, 0.0, 0.0, 0.15, 0.15, 0.45, 0.15, 0.1, 0.0])
_ONLINE_TERMINAL_SHARE = 0.12

_REGION_SPEND = np.array([1.35, 1.15, 1.0, 0.75, 0.9])
_REGION_AGE_SHIFT = np.array([-7.0, 0.0, 2.0, 6.0, 0.0])

_FRAUD_RATE = 0.0105  # frauds per legitimate transaction
_SCENARIO_SHARE = {1: 0.28, 2: 0.27, 3: 0.25, 4: 0.20}


# --------------------------------------------------------------------------------------
# Customers, terminals, habits
# --------------------------------------------------------------------------------------


def _locations(rng, n, central_share):
    central = rng.random(n) < central_share
    xy = rng.uniform(0.0, 100.0, size=(n, 2))
    xy[central] = np.clip(rng.normal(50.0, 9.0, size=(central.sum(), 2)), 0.0, 100.0)
    return xy


def _region_of(xy):
    dx, dy = xy[:, 0] - 50.0, xy[:, 1] - 50.0
    r = np.hypot(dx, dy)
    angle = np.degrees(np.arctan2(dy, dx)) % 360.0
    # north (45-135 deg) = 1, west (135-225) = 4, south (225-315) = 3, east = 2
    quadrant = ((angle + 45.0) // 90.0).astype(int) % 4
    region = np.array([2, 1, 4, 3])[quadrant]
    return np.where(r < 18.0, 0, region)


def _make_customers(rng, n):
    xy = _locations(rng, n, 0.35)
    region = _region_of(xy)
    age = np.clip(np.round(rng.normal(46.0 + _REGION_AGE_SHIFT[region], 16.0)), 18, 90)
    age = age.astype(np.int64)
    base = np.exp(rng.normal(np.log(32.0), 0.45, n)) * _REGION_SPEND[region]
    sigma = rng.uniform(0.45, 0.85, n)
    rate = np.clip(np.exp(rng.normal(np.log(0.42), 0.6, n)), 0.05, 4.0)
    p_online = np.clip(
        1.0 / (1.0 + np.exp(-(-0.2 - 0.045 * (age - 45) + rng.normal(0.0, 0.8, n)))),
        0.02,
        0.9,
    )
    night = rng.random(n) < np.where(age < 35, 0.12, 0.04)
    center = np.where(night, rng.normal(23.0, 1.0, n), rng.normal(14.0, 2.5, n))
    width = rng.uniform(1.5, 3.5, n)
    # Personal preferences over the categories (Dirichlet around the average).
    alpha = np.tile(_CAT_PREF * 6.0, (n, 1))
    alpha[:, _CAT["online_retail"]] *= 0.3 + 2.0 * p_online
    alpha[:, _CAT["cash_withdrawal"]] *= np.clip((age - 10) / 40.0, 0.3, 2.0)
    alpha[:, _CAT["gambling"]] *= rng.random(n) < 0.25
    prefs = rng.gamma(np.maximum(alpha, 1e-9))
    prefs[alpha == 0] = 0.0
    prefs /= prefs.sum(axis=1, keepdims=True)
    # Trips: a few days away, unfamiliar terminals, shifted hours.
    has_trip = rng.random(n) < 0.08
    trip_len = rng.integers(2, 9, n)
    trip_start = np.where(has_trip, rng.integers(0, 10_000, n), -1_000_000)
    trip_shift = rng.choice([-8, -6, -5, -3, 3, 5, 6, 9], size=n)
    return {
        "xy": xy,
        "region": region,
        "age": age,
        "mu": np.log(base),
        "sigma": sigma,
        "rate": rate,
        "p_online": p_online,
        "center": center,
        "width": width,
        "prefs": prefs,
        "trip_start": trip_start,
        "trip_len": trip_len,
        "trip_shift": trip_shift,
    }


def _make_terminals(rng, n):
    online = (rng.random(n) < _ONLINE_TERMINAL_SHARE).astype(np.int64)
    cat = np.where(
        online == 1,
        rng.choice(_N_CAT, size=n, p=_TERM_W_ONLINE),
        rng.choice(_N_CAT, size=n, p=_TERM_W_IN_PERSON),
    )
    # Guarantee two terminals for every legal (channel, category) pair.
    pairs = [(1, c) for c in range(_N_CAT) if _TERM_W_ONLINE[c] > 0]
    pairs += [(0, c) for c in range(_N_CAT) if _TERM_W_IN_PERSON[c] > 0]
    forced = np.array(pairs * 2)
    online[: len(forced)] = forced[:, 0]
    cat[: len(forced)] = forced[:, 1]
    perm = rng.permutation(n)
    online, cat = online[perm], cat[perm]
    xy = _locations(rng, n, 0.4)
    pools = {(o, c): np.flatnonzero((online == o) & (cat == c)) for o, c in pairs}
    return {"online": online, "cat": cat, "xy": xy, "pools": pools}


def _random_terminal(rng, terms, online, cat):
    out = np.empty(len(cat), dtype=np.int64)
    for (o, c), pool in terms["pools"].items():
        m = (online == o) & (cat == c)
        if m.any():
            out[m] = pool[rng.integers(0, len(pool), m.sum())]
    return out


def _favourites(rng, cust, terms, k_candidates=30, k_keep=3):
    """Usual terminals of each customer: per category, the 3 nearest of 30 sampled."""
    n = len(cust["mu"])
    fav = np.zeros((2, n, _N_CAT, k_keep), dtype=np.int64)
    for (o, c), pool in terms["pools"].items():
        if o == 1:
            fav[1, :, c, :] = pool[rng.integers(0, len(pool), (n, k_keep))]
            continue
        cand = pool[rng.integers(0, len(pool), (n, k_candidates))]
        d = np.linalg.norm(terms["xy"][cand] - cust["xy"][:, None, :], axis=2)
        nearest = np.argsort(d, axis=1, kind="stable")[:, :k_keep]
        fav[0, :, c, :] = np.take_along_axis(cand, nearest, axis=1)
    return fav


def _amounts(rng, cust, cidx, cat, mult=1.0):
    mu = cust["mu"][cidx] + np.log(_CAT_AMOUNT_MULT[cat])
    a = np.exp(mu + cust["sigma"][cidx] * rng.standard_normal(len(cidx))) * mult
    return _legal_amounts(a, cat)


def _legal_amounts(a, cat):
    a = np.where(cat == _CAT["cash_withdrawal"], np.maximum(np.round(a / 10.0) * 10.0, 10.0), a)
    return np.clip(np.round(a, 2), AMOUNT_MIN, AMOUNT_MAX)


def _tx(cidx, sec, term, amount, cat, online, scenario):
    return {
        "cust": np.asarray(cidx, dtype=np.int64),
        "sec": np.asarray(sec, dtype=np.int64),
        "term": np.asarray(term, dtype=np.int64),
        "amount": np.asarray(amount, dtype=np.float64),
        "cat": np.asarray(cat, dtype=np.int64),
        "online": np.asarray(online, dtype=np.int64),
        "scenario": np.full(len(cidx), scenario, dtype=np.int64),
    }


def _concat(parts):
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _pick(rng, cats, probs, size):
    return np.array([_CAT[c] for c in cats])[rng.choice(len(cats), size=size, p=probs)]


def _channel(rng, cat, p_online):
    """Online where the category is online-only, in person where in-person-only."""
    both = _ONLINE_OK[cat] & _IN_PERSON_OK[cat]
    online = np.where(_IN_PERSON_OK[cat], 0, 1)
    return np.where(both, (rng.random(len(cat)) < p_online).astype(np.int64), online)


# --------------------------------------------------------------------------------------
# Legitimate traffic
# --------------------------------------------------------------------------------------


def _legit(rng, cust, terms, fav, n_days):
    n = len(cust["mu"])
    weekend = (np.arange(n_days) + START.day_of_week) % 7 >= 5
    busy = rng.random((n, n_days)) < 0.03
    lam = cust["rate"][:, None] * (1.0 + 0.15 * weekend[None, :]) * np.where(busy, 3.0, 1.0)
    counts = rng.poisson(lam)
    cidx = np.repeat(np.repeat(np.arange(n), n_days), counts.ravel())
    day = np.repeat(np.tile(np.arange(n_days), n), counts.ravel())
    m = len(cidx)
    trip_start = cust["trip_start"] % n_days
    on_trip = (day >= trip_start[cidx]) & (day < trip_start[cidx] + cust["trip_len"][cidx])
    on_trip &= cust["trip_start"][cidx] >= 0
    # Category from the customer's preferences.
    cum = np.cumsum(cust["prefs"], axis=1)[cidx]
    cat = np.minimum((rng.random(m)[:, None] > cum).sum(axis=1), _N_CAT - 1)
    trip_cat = on_trip & (rng.random(m) < 0.35)
    cat[trip_cat] = _pick(rng, ["travel", "restaurant"], [0.4, 0.6], trip_cat.sum())
    big = rng.random(m) < 0.006
    cat[big] = _pick(rng, ["electronics", "travel", "clothing"], [0.45, 0.3, 0.25], big.sum())
    online = _channel(rng, cat, cust["p_online"][cidx] * _CAT_ONLINE_FACTOR[cat])
    # Hour from the customer's active window, shifted during a trip.
    h = np.round(cust["center"][cidx] + cust["width"][cidx] * rng.standard_normal(m))
    h = (h + np.where(on_trip, cust["trip_shift"][cidx], 0)).astype(np.int64) % 24
    sec = day * _DAY + h * _HOUR + rng.integers(0, _HOUR, m)
    # Terminal: one of the usual ones, or an unfamiliar one (always on a trip).
    usual = rng.random(m) < np.where(online == 1, 0.8, np.where(on_trip, 0.0, 0.85))
    term = np.where(
        usual,
        fav[online, cidx, cat, rng.integers(0, fav.shape[3], m)],
        _random_terminal(rng, terms, online, cat),
    )
    # Amounts: lognormal per customer and category; big purchases; micro-payments.
    mult = np.where(big, np.exp(rng.uniform(np.log(3.0), np.log(12.0), m)), 1.0)
    mult = mult * np.where(on_trip, 1.4, 1.0)
    amount = _amounts(rng, cust, cidx, cat, mult)
    micro = (cat == _CAT["online_retail"]) & (rng.random(m) < 0.06)
    amount[micro] = np.round(rng.uniform(0.5, 5.0, micro.sum()), 2)
    base = _tx(cidx, sec, term, amount, cat, online, 0)
    # Online shopping sessions: a few more online payments within the next hour.
    seed_rows = np.flatnonzero((online == 1) & (rng.random(m) < 0.10))
    sizes = 1 + rng.poisson(1.0, len(seed_rows))
    src = np.repeat(seed_rows, sizes)
    k = len(src)
    gaps = np.cumsum(rng.integers(60, 15 * 60, k))
    first = np.repeat(np.cumsum(sizes) - sizes, sizes)
    s_cidx = cidx[src]
    s_cat = np.where(rng.random(k) < 0.5, cat[src], _CAT["online_retail"])
    s_online = np.ones(k, dtype=np.int64)
    s_term = np.where(
        rng.random(k) < 0.5,
        fav[1, s_cidx, s_cat, rng.integers(0, fav.shape[3], k)],
        _random_terminal(rng, terms, s_online, s_cat),
    )
    s_amount = _amounts(rng, cust, s_cidx, s_cat)
    s_sec = sec[src] + gaps - gaps[first] + rng.integers(60, 15 * 60, k)
    keep = s_sec < n_days * _DAY
    session = _tx(
        s_cidx[keep], s_sec[keep], s_term[keep], s_amount[keep], s_cat[keep], s_online[keep], 0
    )
    return _concat([base, session])


# --------------------------------------------------------------------------------------
# Fraud scenarios
# --------------------------------------------------------------------------------------


def _take_events(sizes, target):
    """Number of leading events whose sizes first reach ``target`` frauds."""
    reached = np.cumsum(sizes) >= target
    return int(np.argmax(reached)) + 1 if reached.any() else len(sizes)


def _scenario_1(rng, cust, terms, n_days, target):
    """Stolen card: 1-6 big purchases within two days, in shopping hours."""
    n_ev = max(4 * target, 10)
    sizes = np.minimum(1 + rng.poisson(1.5, n_ev), 6)
    n_ev = _take_events(sizes, target)
    sizes = sizes[:n_ev]
    victim = rng.integers(0, len(cust["mu"]), n_ev)
    start = rng.integers(0, n_days - 1, n_ev)
    mild = rng.random(n_ev) < 0.3
    ev = np.repeat(np.arange(n_ev), sizes)
    m = len(ev)
    cidx = victim[ev]
    day = start[ev] + rng.integers(0, 2, m)
    sec = day * _DAY + rng.integers(9, 22, m) * _HOUR + rng.integers(0, _HOUR, m)
    cat = _pick(
        rng,
        ["electronics", "clothing", "online_retail", "travel", "grocery", "restaurant"],
        [0.38, 0.24, 0.14, 0.1, 0.08, 0.06],
        m,
    )
    online = _channel(rng, cat, np.full(m, 0.3))
    term = _random_terminal(rng, terms, online, cat)
    lo = np.where(mild[ev], np.log(1.0), np.log(3.0))
    hi = np.where(mild[ev], np.log(2.5), np.log(12.0))
    amount = _amounts(rng, cust, cidx, cat, np.exp(rng.uniform(lo, hi)))
    return _tx(cidx, sec, term, amount, cat, online, 1)


def _scenario_2(rng, cust, terms, legit, n_days, target):
    """Compromised terminal: every card used there in the window is cloned and cashed."""
    horizon = n_days * _DAY
    # Three fraud rings, each with its cash-out terminals.
    ring_terms = []
    for _ in range(3):
        cats = _pick(
            rng,
            ["cash_withdrawal", "electronics", "grocery", "fuel"],
            [0.5, 0.2, 0.15, 0.15],
            6,
        )
        ring_terms.append(_random_terminal(rng, terms, np.zeros(6, dtype=np.int64), cats))
    ring_terms = np.array(ring_terms)
    in_person = np.flatnonzero(legit["online"] == 0)
    n_ev = max(target, 20)
    seed_tx = in_person[rng.integers(0, len(in_person), n_ev)]  # traffic-weighted
    ev = pd.DataFrame(
        {
            "event": np.arange(n_ev),
            "term": legit["term"][seed_tx],
            "start": rng.integers(0, max(horizon - 3 * _DAY, 1), n_ev),
            "length": rng.integers(1, 5, n_ev) * _DAY,
            "ring": rng.integers(0, 3, n_ev),
        }
    )
    tx = pd.DataFrame(
        {
            "term": legit["term"][in_person],
            "sec": legit["sec"][in_person],
            "cust": legit["cust"][in_person],
        }
    )
    hit = ev.merge(tx, on="term", how="inner")
    hit = hit[(hit["sec"] >= hit["start"]) & (hit["sec"] < hit["start"] + hit["length"])]
    hit = hit.sort_values(["event", "sec"], kind="stable")
    hit = hit.drop_duplicates("cust", keep="first").reset_index(drop=True)
    n_per = 1 + rng.binomial(2, 0.5, len(hit))
    vic = np.repeat(np.arange(len(hit)), n_per)
    m = len(vic)
    cidx = hit["cust"].to_numpy()[vic]
    day = (hit["sec"].to_numpy()[vic] + rng.integers(1, 11, m) * _DAY) // _DAY
    day = day + rng.integers(0, 2, m)
    night = rng.random(m) < 0.25
    hour = np.where(night, rng.integers(0, 6, m), rng.integers(7, 23, m))
    sec = day * _DAY + hour * _HOUR + rng.integers(0, _HOUR, m)
    ok = sec < horizon
    event = hit["event"].to_numpy()[vic]
    n_take = _take_events(np.bincount(event[ok], minlength=n_ev), target)
    keep = ok & (event < n_take)
    at_ring = rng.random(m) < 0.65
    ring = hit["ring"].to_numpy()[vic]
    ring_term = ring_terms[ring, rng.integers(0, ring_terms.shape[1], m)]
    other_cat = _pick(
        rng,
        ["grocery", "fuel", "clothing", "electronics", "restaurant", "cash_withdrawal"],
        [0.25, 0.2, 0.15, 0.15, 0.1, 0.15],
        m,
    )
    term = np.where(at_ring, ring_term, _random_terminal(rng, terms, np.zeros(m, int), other_cat))
    cat = terms["cat"][term]
    amount = _amounts(rng, cust, cidx, cat, rng.uniform(0.8, 1.8, m))
    return _tx(cidx[keep], sec[keep], term[keep], amount[keep], cat[keep], np.zeros(keep.sum()), 2)


def _scenario_3(rng, cust, terms, n_days, target):
    """Account takeover: a burst of online payments minutes apart, often at night."""
    horizon = n_days * _DAY
    n_ev = max(target, 10)
    sizes = np.minimum(2 + rng.poisson(2.5, n_ev), 10)
    n_ev = _take_events(sizes, target)
    sizes = sizes[:n_ev]
    weight = 1.0 + 1.5 * (cust["age"] >= 60)
    victim = rng.choice(len(weight), size=n_ev, p=weight / weight.sum())
    mild = rng.random(n_ev) < 0.33
    hour = np.where(
        mild | (rng.random(n_ev) < 0.4), rng.integers(8, 23, n_ev), rng.integers(0, 6, n_ev)
    )
    start = rng.integers(0, n_days, n_ev) * _DAY + hour * _HOUR + rng.integers(0, _HOUR, n_ev)
    ev = np.repeat(np.arange(n_ev), sizes)
    m = len(ev)
    gaps = np.cumsum(rng.exponential(12 * 60.0, m).astype(np.int64) + 1)
    offset = gaps - gaps[np.repeat(np.cumsum(sizes) - sizes, sizes)]
    sec = np.minimum(start[ev] + offset, horizon - 1)
    cidx = victim[ev]
    cat = _pick(
        rng, ["online_retail", "electronics", "gambling", "travel"], [0.35, 0.3, 0.2, 0.15], m
    )
    pool = np.concatenate(
        [
            terms["pools"][(1, c)]
            for c in (_CAT["online_retail"], _CAT["electronics"], _CAT["gambling"])
        ]
    )
    risky = pool[rng.permutation(len(pool))[:15]]
    use_risky = rng.random(m) < 0.5
    risky_pick = risky[rng.integers(0, len(risky), m)]
    term = np.where(use_risky, risky_pick, _random_terminal(rng, terms, np.ones(m, int), cat))
    cat = terms["cat"][term]
    lo = np.where(mild[ev], np.log(0.6), np.log(1.0))
    hi = np.where(mild[ev], np.log(1.5), np.log(5.0))
    amount = _amounts(rng, cust, cidx, cat, np.exp(rng.uniform(lo, hi)))
    return _tx(cidx, sec, term, amount, cat, np.ones(m), 3)


def _scenario_4(rng, cust, terms, n_days, target):
    """Card testing: tiny online payments minutes apart, then one large purchase."""
    horizon = n_days * _DAY
    n_ev = max(target, 10)
    n_test = np.minimum(1 + rng.poisson(2.0, n_ev), 6)
    sizes = n_test + 1
    n_ev = _take_events(sizes, target)
    n_test, sizes = n_test[:n_ev], sizes[:n_ev]
    victim = rng.integers(0, len(cust["mu"]), n_ev)
    start = rng.integers(0, horizon - 2 * _DAY, n_ev)
    ev = np.repeat(np.arange(n_ev), sizes)
    m = len(ev)
    pos = np.arange(m) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    is_big = pos == n_test[ev]
    offset = pos * rng.integers(60, 8 * 60, m)
    offset = np.where(is_big, offset + rng.integers(_HOUR // 2, 24 * _HOUR, m), offset)
    sec = np.minimum(start[ev] + offset, horizon - 1)
    cidx = victim[ev]
    cat = np.where(
        is_big,
        _pick(rng, ["electronics", "travel", "online_retail"], [0.45, 0.25, 0.3], m),
        _pick(rng, ["online_retail", "gambling"], [0.75, 0.25], m),
    )
    online = np.ones(m, dtype=np.int64)
    term = _random_terminal(rng, terms, online, cat)
    big_amount = _amounts(rng, cust, cidx, cat, np.exp(rng.uniform(np.log(1.5), np.log(10.0), m)))
    amount = np.where(is_big, big_amount, np.round(rng.uniform(0.5, 3.0, m), 2))
    return _tx(cidx, sec, term, amount, cat, online, 4)


# --------------------------------------------------------------------------------------
# History features
# --------------------------------------------------------------------------------------


class _History:
    """Counts and sums over strictly earlier rows of the same group, by binary search.

    Rows are keyed by ``group * (n_times + 1) + rank(time)`` where ``rank`` indexes the
    sorted distinct timestamps; a window ``[t - w, t)`` of group ``g`` is the key range
    ``[key(g, rank(t - w)), key(g, rank(t)))``. Rows with the same timestamp are never
    each other's past.
    """

    def __init__(self, group, t, uniq):
        self.width = len(uniq) + 1
        self.uniq = uniq
        self.group = group
        self.rank = np.searchsorted(uniq, t, side="left")
        self.order = np.lexsort((self.rank, group))
        self.keys = (group * self.width + self.rank)[self.order]
        self.hi = np.searchsorted(self.keys, group * self.width + self.rank, side="left")

    def bound(self, t_lo, group=None):
        group = self.group if group is None else group
        r = np.searchsorted(self.uniq, t_lo, side="left")
        return np.searchsorted(self.keys, group * self.width + r, side="left")

    def window(self, t, w, end_lag=0):
        """(lo, hi) positions in sorted order of the rows in ``[t - w - lag, t - lag)``."""
        hi = self.hi if end_lag == 0 else self.bound(t - end_lag)
        return self.bound(t - end_lag - w), hi

    def sums(self, values, lo, hi):
        cs = np.concatenate([[0.0], np.cumsum(np.asarray(values, dtype=np.float64)[self.order])])
        return cs[hi] - cs[lo]


def _category_codes(categories: pd.Series) -> np.ndarray:
    """Index in MERCHANT_CATEGORIES of each value, -1 for an unknown one."""
    codes = pd.Series(categories, copy=False).map(_CAT)
    return codes.to_numpy(dtype=np.float64, na_value=-1.0).astype(np.int64)


_RAW_COLUMNS = (
    "timestamp",
    "customer_id",
    "terminal_id",
    "amount",
    "merchant_category",
    "is_online",
    TARGET,
)


def derive_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Recompute ``day``, ``hour``, the one-hot and all history features from raw columns.

    Introduced in lab 00 (Meet the five systems).

    Needs the raw columns ``timestamp``, ``customer_id``, ``terminal_id``, ``amount``,
    ``merchant_category``, ``is_online`` and ``is_fraud`` (:class:`ValueError` naming the
    missing ones otherwise) and returns a copy of ``frame`` (same rows, same order, same
    index) with ``day``, ``hour``, ``cat_*`` and the history features of :data:`FEATURES`
    overwritten. Use it after changing or adding rows (a moved hour, a split payment) so
    that the derived features stay consistent; :func:`simulate_transactions` uses it too.

    Every history feature of a row uses only rows of the same card (``customer_id``) or
    terminal with a *strictly earlier* timestamp; rows with equal timestamps are not each
    other's past. Windows are half-open, ``[t - w, t)``. The terminal fraud rate uses the
    labels of transactions in ``[t - 35 d, t - 7 d)`` only (a 7-day label delay).
    """
    missing = [c for c in _RAW_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"derive_features: missing columns {missing}")
    out = frame.copy()
    t = pd.to_datetime(out["timestamp"]).to_numpy(dtype="datetime64[ns]").astype(np.int64)
    start = np.datetime64(START, "ns").astype(np.int64)
    ns_day, ns_hour = 86_400 * 10**9, 3_600 * 10**9
    out["day"] = (t - start) // ns_day
    hour = (t // ns_hour) % 24
    out["hour"] = hour
    cat_codes = _category_codes(out["merchant_category"])
    for i, col in enumerate(_CATEGORY_COLUMNS):
        out[col] = (cat_codes == i).astype(np.int64)
    amount = out["amount"].to_numpy(dtype=np.float64)
    fraud = out[TARGET].to_numpy(dtype=np.float64)
    cust = pd.factorize(out["customer_id"])[0].astype(np.int64)
    term = pd.factorize(out["terminal_id"])[0].astype(np.int64)
    uniq = np.unique(t)

    c = _History(cust, t, uniq)
    n1 = c.hi - c.bound(t - ns_day)
    lo7, hi = c.window(t, 7 * ns_day)
    n7 = hi - lo7
    s7 = c.sums(amount, lo7, hi)
    lo30, _ = c.window(t, 30 * ns_day)
    n30 = hi - lo30
    s30 = c.sums(amount, lo30, hi)
    mean7 = np.where(n7 > 0, s7 / np.maximum(n7, 1), 0.0)
    mean30 = np.where(n30 > 0, s30 / np.maximum(n30, 1), 0.0)
    ratio = np.where(n30 > 0, amount / np.where(mean30 > 0, mean30, 1.0), 1.0)
    # Previous strictly earlier row of the card.
    group_start = c.bound(np.full(len(t), uniq[0] if len(uniq) else 0))
    has_prev = hi > group_start
    t_sorted = t[c.order]
    prev_t = t_sorted[np.maximum(hi - 1, 0)]
    secs = np.where(has_prev, (t - prev_t) / 1e9, SECS_SINCE_LAST_CAP)
    secs = np.minimum(secs, SECS_SINCE_LAST_CAP)
    n_past = hi - group_start

    cc = _History(cust * (_N_CAT + 1) + np.where(cat_codes < 0, _N_CAT, cat_codes), t, uniq)
    new_cat = (cc.hi == cc.bound(np.full(len(t), uniq[0] if len(uniq) else 0))).astype(np.int64)

    ch = _History(cust * 24 + hour, t, uniq)
    near = np.zeros(len(t), dtype=np.int64)
    first_t = np.full(len(t), uniq[0] if len(uniq) else 0)
    for d in range(-2, 3):
        g = cust * 24 + (hour + d) % 24
        near += ch.bound(t, g) - ch.bound(first_t, g)
    unusual = ((n_past >= 10) & (near < 0.05 * n_past)).astype(np.int64)

    tm = _History(term, t, uniq)
    lo, hi_t = tm.window(t, 7 * ns_day)
    term_n7 = hi_t - lo
    lo, hi_d = tm.window(t, 28 * ns_day, end_lag=7 * ns_day)
    n_d = hi_d - lo
    f_d = tm.sums(fraud, lo, hi_d)
    rate = np.where(n_d > 0, f_d / np.maximum(n_d, 1), 0.0)

    out["cust_n_tx_1d"] = n1.astype(np.int64)
    out["cust_n_tx_7d"] = n7.astype(np.int64)
    out["cust_mean_amount_7d"] = mean7
    out["cust_mean_amount_30d"] = mean30
    out["amount_to_cust_mean_30d"] = ratio
    out["cust_new_category"] = new_cat
    out["hour_unusual"] = unusual
    out["secs_since_last_tx"] = secs
    out["term_n_tx_7d"] = term_n7.astype(np.int64)
    out["term_fraud_rate_28d_delayed"] = rate
    return out


# --------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------


def simulate_transactions(
    n_customers: int = 2000, n_terminals: int = 4000, n_days: int = 60, *, seed: int = 0
) -> pd.DataFrame:
    """Simulate ``n_days`` of card transactions with fraud, deterministically from ``seed``.

    Introduced in lab 00 (Meet the five systems).

    Customers get a home location (which sets their region), an age, a lognormal spending
    habit, a rate of transactions per day, active hours, preferred categories, an online
    propensity and usual terminals near home; some travel or shop at night. Terminals get a
    location, a merchant category and a channel (in person or online). Fraud of the four
    :data:`SCENARIOS` is added on top (about 1% of the rows, each scenario 20-28% of the
    frauds), then the history features are computed with :func:`derive_features`.

    Returns one row per transaction, sorted by time, with the columns ``transaction_id``,
    ``timestamp`` (datetime64[ns], from 2026-01-01, unique), ``day``, ``hour``,
    ``customer_id``, ``terminal_id``, ``amount``, ``merchant_category``, ``is_online``,
    ``cat_*`` (one-hot), the history features, ``is_fraud``, ``fraud_scenario``,
    ``customer_age`` and ``customer_region``. With the defaults about 70,000 rows
    (71,576 with ``seed=0``, of which 749 frauds).

    Raises :class:`TypeError` when an argument is not an int and :class:`ValueError` when
    ``n_customers < 50``, ``n_terminals < 50``, ``n_days < 14`` or ``seed < 0``.
    """
    n_customers = check_int(n_customers, "n_customers", MIN_CUSTOMERS)
    n_terminals = check_int(n_terminals, "n_terminals", MIN_TERMINALS)
    n_days = check_int(n_days, "n_days", MIN_DAYS)
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)

    cust = _make_customers(rng, n_customers)
    terms = _make_terminals(rng, n_terminals)
    fav = _favourites(rng, cust, terms)
    legit = _legit(rng, cust, terms, fav, n_days)
    n_fraud = _FRAUD_RATE * len(legit["cust"])
    target = {k: max(int(round(share * n_fraud)), 1) for k, share in _SCENARIO_SHARE.items()}
    parts = [
        legit,
        _scenario_1(rng, cust, terms, n_days, target[1]),
        _scenario_2(rng, cust, terms, legit, n_days, target[2]),
        _scenario_3(rng, cust, terms, n_days, target[3]),
        _scenario_4(rng, cust, terms, n_days, target[4]),
    ]
    tx = _concat(parts)

    # Sort by time and make the timestamps unique (shift collisions by whole seconds).
    order = np.argsort(tx["sec"], kind="stable")
    tx = {k: v[order] for k, v in tx.items()}
    idx = np.arange(len(order))
    sec = np.maximum.accumulate(tx["sec"] - idx) + idx
    cap = n_days * _DAY - len(idx) + idx
    sec = np.minimum.accumulate(np.minimum(sec, cap)[::-1] - idx[::-1])[::-1] + idx

    region_names = np.array(REGIONS, dtype=object)
    frame = pd.DataFrame(
        {
            "transaction_id": idx.astype(np.int64),
            "timestamp": (START + pd.to_timedelta(sec, unit="s")).astype("datetime64[ns]"),
            "day": np.zeros(len(idx), dtype=np.int64),
            "hour": np.zeros(len(idx), dtype=np.int64),
            "customer_id": tx["cust"],
            "terminal_id": tx["term"],
            "amount": tx["amount"],
            "merchant_category": pd.array(
                np.array(MERCHANT_CATEGORIES, dtype=object)[tx["cat"]], dtype="str"
            ),
            "is_online": tx["online"],
            TARGET: (tx["scenario"] > 0).astype(np.int64),
        }
    )
    frame = derive_features(frame)
    frame["fraud_scenario"] = tx["scenario"]
    frame["customer_age"] = cust["age"][tx["cust"]]
    frame["customer_region"] = pd.array(region_names[cust["region"][tx["cust"]]], dtype="str")
    columns = [
        "transaction_id",
        "timestamp",
        "day",
        "hour",
        "customer_id",
        "terminal_id",
        "amount",
        "merchant_category",
        "is_online",
        *_CATEGORY_COLUMNS,
        *_HISTORY_FEATURES,
        TARGET,
        "fraud_scenario",
        "customer_age",
        "customer_region",
    ]
    return frame[columns]


def feature_matrix(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(X, y)``: the :data:`FEATURES` columns as float32 and the label as int64.

    Introduced in lab 00 (Meet the five systems).

    ``X`` has shape ``(len(frame), len(FEATURES))`` with the columns in :data:`FEATURES`
    order; ``y`` is ``frame["is_fraud"]``. Raises :class:`ValueError` naming the missing
    columns when some feature or the target is absent.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"feature_matrix expects a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in (*FEATURES, TARGET) if c not in frame.columns]
    if missing:
        raise ValueError(f"feature_matrix: missing columns {missing}")
    x = frame[list(FEATURES)].to_numpy(dtype=np.float32)
    y = frame[TARGET].to_numpy(dtype=np.int64)
    return x, y


def check_constraints(frame: pd.DataFrame) -> pd.Series:
    """Return a boolean Series (same index): True where a row is a valid transaction.

    Introduced in lab 00 (Meet the five systems).

    Raises :class:`ValueError` naming the missing :data:`FEATURES` columns. A row is valid
    when all of the following hold (tolerances: 1e-6 for integrality and cents, relative
    1e-4 for the ratio):

    1. every :data:`FEATURES` value is finite (no NaN, no inf);
    2. it lies in ``[min, max]`` of its :data:`ATTACKER_CONSTRAINTS` entry;
    3. ``integer`` features are whole numbers, ``binary`` and ``categorical`` ones are 0 or
       1, and exactly one ``cat_*`` column is 1;
    4. ``amount`` is in whole cents, and a multiple of 10 for ``cash_withdrawal``;
    5. the channel is legal for the category: ``is_online == 1`` only for
       :data:`ONLINE_CATEGORIES`, ``is_online == 0`` only for :data:`IN_PERSON_CATEGORIES`;
    6. the history features are consistent with each other: ``cust_n_tx_1d <=
       cust_n_tx_7d``; ``cust_mean_amount_7d == 0`` iff ``cust_n_tx_7d == 0``;
       ``cust_mean_amount_30d > 0`` when ``cust_n_tx_7d > 0``; ``amount_to_cust_mean_30d``
       equals ``amount / cust_mean_amount_30d`` (or 1 when that mean is 0);
       ``secs_since_last_tx <= 1 day`` iff ``cust_n_tx_1d >= 1``, ``<= 7 days`` iff
       ``cust_n_tx_7d >= 1``, and it equals the 30-day cap when
       ``cust_mean_amount_30d == 0``;
    7. when the raw columns are present: ``merchant_category`` is one of
       :data:`MERCHANT_CATEGORIES` and matches the one-hot; ``hour`` (and ``day``) match
       ``timestamp``.

    It does not recompute the history features from the other rows (use
    :func:`derive_features` for that): a row can pass and still carry history features that
    its card's history does not produce.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"check_constraints expects a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in FEATURES if c not in frame.columns]
    if missing:
        raise ValueError(f"check_constraints: missing columns {missing}")
    v = {}
    for col in FEATURES:
        v[col] = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
    ok = np.ones(len(frame), dtype=bool)
    tol = 1e-6
    for col in FEATURES:
        spec = ATTACKER_CONSTRAINTS[col]
        x = v[col]
        with np.errstate(invalid="ignore"):
            ok &= np.isfinite(x) & (x >= spec["min"] - tol) & (x <= spec["max"] + tol)
            if spec["kind"] == "integer":
                ok &= np.abs(x - np.round(x)) <= tol
            elif spec["kind"] in ("binary", "categorical"):
                ok &= (x == 0) | (x == 1)
    onehot = np.column_stack([v[c] for c in _CATEGORY_COLUMNS])
    ok &= np.nansum(onehot == 1, axis=1) == 1
    code = np.argmax(onehot == 1, axis=1)
    amount = v["amount"]
    with np.errstate(invalid="ignore"):
        ok &= np.abs(amount * 100.0 - np.round(amount * 100.0)) <= 1e-6 * np.maximum(1, amount)
        cash = code == _CAT["cash_withdrawal"]
        ok &= ~cash | (np.abs(amount / 10.0 - np.round(amount / 10.0)) <= tol)
        online = v["is_online"] == 1
        ok &= np.where(online, _ONLINE_OK[code], _IN_PERSON_OK[code])
        n1, n7 = v["cust_n_tx_1d"], v["cust_n_tx_7d"]
        m7, m30 = v["cust_mean_amount_7d"], v["cust_mean_amount_30d"]
        ratio, secs = v["amount_to_cust_mean_30d"], v["secs_since_last_tx"]
        ok &= n1 <= n7
        ok &= (m7 == 0) == (n7 == 0)
        ok &= (n7 == 0) | (m30 > 0)
        expected = np.where(m30 > 0, amount / np.where(m30 > 0, m30, 1.0), 1.0)
        ok &= np.abs(ratio - expected) <= 1e-4 * np.maximum(1.0, np.abs(expected))
        ok &= (secs <= _DAY) == (n1 >= 1)
        ok &= (secs <= 7 * _DAY) == (n7 >= 1)
        ok &= (m30 > 0) | (secs >= SECS_SINCE_LAST_CAP)
    if "merchant_category" in frame.columns:
        raw = _category_codes(frame["merchant_category"])
        ok &= (raw >= 0) & (raw == code)
    if "timestamp" in frame.columns:
        ts = pd.to_datetime(frame["timestamp"], errors="coerce")
        valid_ts = ts.notna().to_numpy()
        ok &= valid_ts
        ok &= ~valid_ts | (ts.dt.hour.to_numpy(dtype=np.float64, na_value=-1) == v["hour"])
        if "day" in frame.columns:
            day = (ts - START).dt.days.to_numpy(dtype=np.float64, na_value=np.nan)
            raw_day = pd.to_numeric(frame["day"], errors="coerce").to_numpy(dtype=np.float64)
            ok &= ~valid_ts | (day == raw_day)
    return pd.Series(ok, index=frame.index, name="valid")


def log_heavy_tails(X) -> np.ndarray:
    """``log1p`` of the :data:`HEAVY_TAILED_FEATURES` columns of a fraud feature matrix (the
    columns of :data:`FEATURES`, in order), the others unchanged: a fixed public transform with
    no learned parameter, which a bank computes in the clear before encrypting (lab 10) and
    every bank of a federation applies alike (lab 09). Returns a new float64 array; a matrix
    with other columns, or a negative value (the features never are), raises ``ValueError``.

    Introduced in lab 09 (Federated learning).
    """
    from .validate import check_array

    X = check_array(X, "X", ndim=2, dtype=np.float64).copy()
    if X.shape[1] != len(FEATURES):
        raise ValueError(f"X must have the {len(FEATURES)} fraud features, got {X.shape[1]} "
                         "columns")
    if X.size and X.min() < 0:
        raise ValueError("fraud features are never negative; X has a negative value")
    cols = [FEATURES.index(name) for name in HEAVY_TAILED_FEATURES]
    X[:, cols] = np.log1p(X[:, cols])
    return X
