"""Provenance of training data: a manifest of SHA-256 hashes of its shards, written when the
data arrives and checked before training. Not specific to a domain (lab 03 applies it to the
medical section's hospital uploads).

Introduced in lab 03 (Data poisoning and backdoors).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..validate import ArgumentTypeError

__all__ = ["build_manifest", "shard_sha256", "verify_manifest"]


def shard_sha256(data) -> str:
    """SHA-256 of one shard of training data: a NumPy array or a pandas DataFrame.

    The digest covers dtype, shape and bytes (for a DataFrame: its column names and each
    column's values), so any change to a value, a row or a column changes it.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    h = hashlib.sha256()
    if isinstance(data, pd.DataFrame):
        h.update(b"frame")
        for col in data.columns:
            h.update(str(col).encode())
            values = data[col].to_numpy()
            if values.dtype == object or not np.issubdtype(values.dtype, np.number):
                values = np.array([str(v) for v in values])
            h.update(shard_sha256(values).encode())
        return h.hexdigest()
    if isinstance(data, np.ndarray):
        arr = np.ascontiguousarray(data)
        if arr.dtype == object:
            arr = np.array([str(v) for v in arr.ravel()]).reshape(arr.shape)
        h.update(f"{arr.dtype.str}{arr.shape}".encode())
        h.update(arr.tobytes())
        return h.hexdigest()
    raise ArgumentTypeError(f"a shard must be a NumPy array or a pandas DataFrame, got "
                            f"{type(data).__name__}")


def build_manifest(shards: Mapping[str, object]) -> dict[str, dict]:
    """A provenance manifest: for every named shard its SHA-256 and number of rows.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    if not isinstance(shards, Mapping) or not shards:
        raise ArgumentTypeError("shards must be a non-empty mapping {name: array or DataFrame}")
    return {str(name): {"sha256": shard_sha256(data), "rows": int(len(data))}
            for name, data in shards.items()}


def verify_manifest(manifest: Mapping[str, dict], shards: Mapping[str, object]) -> pd.DataFrame:
    """Compare shards with a manifest: status "ok", "modified", "missing" or "unexpected".

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    if not isinstance(manifest, Mapping) or not isinstance(shards, Mapping):
        raise ArgumentTypeError("manifest and shards must be mappings keyed by shard name")
    rows = []
    for name in sorted(set(manifest) | set(shards)):
        expected = manifest.get(name, {}).get("sha256")
        actual = shard_sha256(shards[name]) if name in shards else None
        if expected is None:
            status = "unexpected"
        elif actual is None:
            status = "missing"
        else:
            status = "ok" if actual == expected else "modified"
        rows.append({"shard": name, "status": status,
                     "expected": (expected or "-")[:12], "actual": (actual or "-")[:12]})
    return pd.DataFrame(rows)

