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


import random  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def _global_state():
    import torch
    from threadpoolctl import threadpool_info

    return (
        random.getstate(),
        (np.random.get_state()[1].tobytes(), np.random.get_state()[2:]),
        torch.random.get_rng_state().numpy().tobytes(),
        torch.get_num_threads(),
        (torch.are_deterministic_algorithms_enabled(),
         torch.is_deterministic_algorithms_warn_only_enabled()),
        {(d["internal_api"], d["filepath"]): d["num_threads"] for d in threadpool_info()},
    )


def pools_changed(before: dict, after: dict) -> bool:
    """Whether a BLAS/OpenMP pool that was loaded before the test has another thread count
    after it (or is gone). A library loaded for the first time during the test (SciPy's
    BLAS on a first fit, say) brings its own pool: that is not a setting the helper changed."""
    return any(after.get(key) != threads for key, threads in before.items())


@pytest.fixture
def unchanged_global_state():
    """Fails the test when the code under test leaves Python's, NumPy's or torch's global
    generator, torch's thread count, its deterministic-algorithms setting or a BLAS/OpenMP pool
    changed (helpers must restore what they change: repro.seeded, repro.limited_threads,
    repro.deterministic_algorithms). A pool that a library loads for the first time during the
    test is not a change (see :func:`pools_changed`)."""
    before = _global_state()
    yield
    after = _global_state()
    names = ("Python's random state", "NumPy's global generator", "torch's global generator",
             "torch's thread count", "torch's deterministic-algorithms setting",
             "the BLAS/OpenMP thread pools")
    changed = [n for n, b, a in zip(names[:-1], before[:-1], after[:-1], strict=True) if b != a]
    if pools_changed(before[-1], after[-1]):
        changed.append(names[-1])
    assert not changed, f"the helper left global state changed: {', '.join(changed)}"
