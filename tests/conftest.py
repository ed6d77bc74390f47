"""Shared test set-up: one thread, CPU only, same hash seed as the notebooks get."""

import os

for _var, _value in {
    "MLSEC_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MLSEC_DEVICE": "cpu",
    "OMP_WAIT_POLICY": "PASSIVE",
}.items():
    os.environ.setdefault(_var, _value)

from mlsec_helpers import repro  # noqa: E402

repro.cap_threads(1)
