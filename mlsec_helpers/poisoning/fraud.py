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
from ..validate import check_frame, check_int

__all__ = ["fabricate_records", "validation_report"]


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
