"""Reproducibility: one call at the top of every lab seeds everything and caps threads.

Thread counts are capped the same way for students, Binder, the tests and CI: by this call,
which reads ``MLSEC_THREADS`` (default 1). On a 2-core machine that runs two notebooks at once,
torch with 2 threads was measured 3 to 20 times slower than with 1, and one thread also keeps
floating-point results identical from run to run.
"""

from __future__ import annotations

import os
import random

import numpy as np

_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_state: dict[str, int] = {}


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return int(seed)


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
    n = default_threads() if n is None else n
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"threads must be a positive int, got {n!r}")
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

    Helpers in this package never rely on global state: each takes a ``seed`` and builds its own
    ``numpy.random.default_rng``/``torch.Generator``. This call covers the student's own code.

    Introduced in lab 00 (Meet the five systems).
    """
    seed = _check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    import torch

    torch.manual_seed(seed)
    _state["seed"] = seed
    return seed


def setup(seed: int = 0, threads: int | None = None) -> dict[str, object]:
    """The first call of every lab: seed everything, cap threads, pick the torch device.

    Returns a small dict (seed, threads, device) that the lab prints.

    Introduced in lab 00 (Meet the five systems).
    """
    n = cap_threads(threads)
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
    return np.random.default_rng(_check_seed(seed))


def torch_generator(seed: int):
    """A fresh CPU ``torch.Generator`` for ``seed``, for shuffling and initialisation.

    Introduced in lab 00 (Meet the five systems).
    """
    import torch

    return torch.Generator().manual_seed(_check_seed(seed))
