"""Lab 03, fraud domain: fabricated transaction records and the validation rules, derived from
the simulator's schema, that reject them.

(The fraud section's label flipping and label sanitisation by cross-validated confidence are in
``common.py``: the NLP section uses them too.)

Introduced in lab 03 (Data poisoning and backdoors).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..fraud_sim import FEATURES
from ..repro import rng
from ..validate import check_frame, check_int, check_number

__all__ = ["fabricate_records", "replay_records", "validation_report"]


def fabricate_records(frame: pd.DataFrame, n: int, *, seed: int = 0) -> pd.DataFrame:
    """Fabricated transactions: each feature sampled on its own from the rows of ``frame``.

    A careless injection: every value is plausible, the combination is not (one-hot category,
    channel, history features that contradict each other). Returns the ``fraud_sim.FEATURES``
    columns.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    frame = check_frame(frame, FEATURES)
    check_int(n, "n", 0)
    if len(frame) == 0:
        raise ValueError("frame has no rows to sample from")
    gen = rng(seed)
    return pd.DataFrame({c: frame[c].to_numpy()[gen.integers(0, len(frame), n)]
                         for c in FEATURES})


def replay_records(frame: pd.DataFrame, n: int, *, jitter: float = 0.05,
                   seed: int = 0) -> pd.DataFrame:
    """Jittered replays of real transactions: the attacker who knows the validation rules.

    Each of the ``n`` rows copies a row of ``frame`` (drawn with replacement); its amount is
    multiplied by ``1 + jitter * N(0, 1)``, rounded to whole cents (to 10 for cash
    withdrawals), kept within the legal range, and ``amount_to_cust_mean_30d`` is recomputed, so
    that every rule of ``fraud_sim.check_constraints`` still holds while no row is an exact
    duplicate of a real one. Returns the ``fraud_sim.FEATURES`` columns.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    from ..fraud_sim import AMOUNT_MAX, AMOUNT_MIN

    frame = check_frame(frame, FEATURES)
    check_int(n, "n", 0)
    jitter = check_number(jitter, "jitter", low=0.0)
    if len(frame) == 0:
        raise ValueError("frame has no rows to replay")
    gen = rng(seed)
    out = frame[list(FEATURES)].iloc[gen.integers(0, len(frame), n)].reset_index(drop=True)
    out = out.astype(np.float64)
    amount = out["amount"].to_numpy() * (1 + jitter * gen.standard_normal(n))
    cash = out["cat_cash_withdrawal"].to_numpy() == 1 if "cat_cash_withdrawal" in out else 0
    step = np.where(cash, 10.0, 0.01)
    amount = np.clip(np.round(amount / step) * step, np.ceil(AMOUNT_MIN / step) * step,
                     np.floor(AMOUNT_MAX / step) * step)
    out["amount"] = np.round(amount, 2)
    mean30 = out["cust_mean_amount_30d"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["amount_to_cust_mean_30d"] = np.where(mean30 > 0, out["amount"] / mean30, 1.0)
    return out


def validation_report(frame: pd.DataFrame) -> pd.DataFrame:
    """Validation rules derived from ``fraud_sim.ATTACKER_CONSTRAINTS``, one column per rule.

    ``range``: every feature within its [min, max]; ``kind``: integer features whole, binary
    ones 0/1; ``one_category``: exactly one ``cat_*`` is 1; ``valid``: every rule of
    ``fraud_sim.check_constraints`` (also cents, channel and history consistency). True means
    the row passes.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    from ..fraud_sim import ATTACKER_CONSTRAINTS, check_constraints

    frame = check_frame(frame, FEATURES)
    in_range = np.ones(len(frame), bool)
    kind_ok = np.ones(len(frame), bool)
    for col in FEATURES:
        spec = ATTACKER_CONSTRAINTS[col]
        x = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            in_range &= np.isfinite(x) & (x >= spec["min"] - 1e-6) & (x <= spec["max"] + 1e-6)
            if spec["kind"] == "integer":
                kind_ok &= np.abs(x - np.round(x)) <= 1e-6
            elif spec["kind"] in ("binary", "categorical"):
                kind_ok &= (x == 0) | (x == 1)
    cats = [c for c in FEATURES if ATTACKER_CONSTRAINTS[c]["kind"] == "categorical"]
    one_cat = (frame[cats].to_numpy(dtype=np.float64) == 1).sum(axis=1) == 1
    return pd.DataFrame({"range": in_range, "kind": kind_ok, "one_category": one_cat,
                         "valid": check_constraints(frame).to_numpy()}, index=frame.index)
