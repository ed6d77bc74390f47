"""Reproducibility: one call at the top of every lab seeds everything and caps threads.

Thread counts are capped the same way for students, Binder, the tests and CI: by this call,
which reads ``MLSEC_THREADS`` (default 1). On a 2-core machine that runs two notebooks at once,
torch with 2 threads was measured 3 to 20 times slower than with 1, and one thread also keeps
floating-point results identical from run to run.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from .validate import check_int, check_seed

__all__ = [
    "cap_threads",
    "default_threads",
    "deterministic_algorithms",
    "device",
    "limited_threads",
    "rng",
    "seed_everything",
    "seeded",
    "setup",
    "torch_generator",
]

_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_state: dict[str, int] = {}


def default_threads() -> int:
    """Number of compute threads the course uses: ``MLSEC_THREADS`` or 1.

    Introduced in lab 00 (Meet the five systems).
    """
    raw = os.environ.get("MLSEC_THREADS", "1")
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"MLSEC_THREADS must be a positive integer, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"MLSEC_THREADS must be a positive integer, got {raw!r}")
    return value


def cap_threads(n: int | None = None) -> int:
    """Cap torch, BLAS and OpenMP to ``n`` threads (default: :func:`default_threads`).

    Sets the environment variables for child processes too, and ``OMP_WAIT_POLICY=PASSIVE``
    so that idle OpenMP threads do not spin. Returns the number of threads.

    Introduced in lab 00 (Meet the five systems).
    """
    n = check_int(default_threads() if n is None else n, "threads")
    for var in _THREAD_VARS:
        os.environ[var] = str(n)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n)
    import torch

    torch.set_num_threads(n)
    _state["threads"] = n
    return n


def seed_everything(seed: int = 0) -> int:
    """Seed Python's ``random``, NumPy's legacy global generator and torch (CPU and CUDA).

    Helpers in this package never leave global state changed: each takes a ``seed`` and builds
    its own ``numpy.random.default_rng``/``torch.Generator``, or draws from the global generators
    only inside :func:`seeded`, which restores them. This call covers the student's own code.

    Introduced in lab 00 (Meet the five systems).
    """
    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    import torch

    torch.manual_seed(seed)
    _state["seed"] = seed
    return seed


def setup(seed: int = 0, threads: int | None = None) -> dict[str, object]:
    """The first call of every lab: seed everything, cap threads, pick the torch device.

    ``MLSEC_SEED`` in the environment overrides ``seed``: ``tasks.py seeds`` reruns a lab with
    other seeds of model training and attack randomness this way (a lab passes ``info["seed"]``
    to what it trains and attacks, and keeps its data splits at seed 0). Returns a small dict
    (seed, threads, device) that the lab prints.

    Introduced in lab 00 (Meet the five systems).
    """
    n = cap_threads(threads)
    override = os.environ.get("MLSEC_SEED")
    if override:
        try:
            seed = int(override)
        except ValueError:
            raise ValueError(f"MLSEC_SEED must be an integer >= 0, got {override!r}") from None
    seed = seed_everything(seed)
    import torch

    if torch.cuda.is_available():
        # On one CPU thread torch's kernels are already deterministic; only CUDA needs this (and
        # the switch costs about a second of imports, which every lab would pay).
        torch.use_deterministic_algorithms(True, warn_only=True)
    return {"seed": seed, "threads": n, "device": str(device())}


def device():
    """The torch device helpers use: CUDA when present, else the CPU.

    ``MLSEC_DEVICE=cpu`` forces the CPU (the tests pin it so numbers do not depend on hardware).

    Introduced in lab 00 (Meet the five systems).
    """
    import torch

    forced = os.environ.get("MLSEC_DEVICE")
    if forced:
        if forced not in ("cpu", "cuda"):
            raise ValueError(f"MLSEC_DEVICE must be 'cpu' or 'cuda', got {forced!r}")
        if forced == "cuda" and not torch.cuda.is_available():
            raise ValueError("MLSEC_DEVICE=cuda but torch sees no CUDA device")
        return torch.device(forced)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def rng(seed: int) -> np.random.Generator:
    """A fresh NumPy generator for ``seed`` (checked: a non-negative int).

    Introduced in lab 00 (Meet the five systems).
    """
    return np.random.default_rng(check_seed(seed))


def torch_generator(seed: int):
    """A fresh CPU ``torch.Generator`` for ``seed``, for shuffling and initialisation.

    Introduced in lab 00 (Meet the five systems).
    """
    import torch

    return torch.Generator().manual_seed(check_seed(seed))


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed Python's, NumPy's global and torch's generators for the ``with`` block, then put
    back the states they had before.

    For code that draws from the global generators and cannot be handed its own (building a
    torch module initialises its weights from torch's global generator; some ART attacks draw
    from NumPy's). The block's numbers depend on ``seed`` alone, and the caller's generators
    are as they were after it.

    Introduced in lab 00 (Meet the five systems).
    """
    import torch

    seed = check_seed(seed)
    py_state, np_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=list(range(torch.cuda.device_count()))
                               if torch.cuda.is_available() else []):
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


@contextmanager
def limited_threads(n: int = 1) -> Iterator[int]:
    """Cap torch and the BLAS/OpenMP pools to ``n`` threads for the ``with`` block, then restore
    the caller's caps (checkpoint trainers use it to compute the numbers of record on one
    thread without changing the student's settings).

    Introduced in lab 02 (Evasion).
    """
    import torch
    from threadpoolctl import threadpool_limits

    n = check_int(n, "threads")
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield n
    finally:
        torch.set_num_threads(before)


@contextmanager
def deterministic_algorithms() -> Iterator[None]:
    """Ask torch for deterministic kernels (a warning where none exists) for the ``with`` block,
    then restore the caller's setting. Checkpoint trainers compute the numbers of record this
    way, inside :func:`limited_threads` and :func:`seeded`.

    Introduced in lab 02 (Evasion).
    """
    import torch

    before = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before, warn_only=warn_only)
