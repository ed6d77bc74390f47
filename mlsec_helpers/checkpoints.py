"""Model checkpoints trained by the project's own scripts, stored as safetensors, verified.

COURSE.md's checkpoint rule: where training a model a lab needs would break the lab's budget,
the lab may load weights trained by a tested, deterministic script of this package, stored in
``checkpoints/`` in a safe format (safetensors: tensors only, no code runs on load) with their
SHA-256 registered here. The lab says so and shows the one call that retrains.

A lab module registers its checkpoints at import with :func:`register`; the trainer is named as
``"module:function"`` and must return a ``dict[str, torch.Tensor]``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from .registry import REPO_ROOT, DataIntegrityError, _unknown, sha256_bytes

CHECKPOINT_DIR = REPO_ROOT / "checkpoints"


@dataclass(frozen=True)
class Checkpoint:
    """A registered checkpoint: its file, SHA-256, trainer and what it is.

    Introduced in lab 00 (Meet the five systems); used from lab 02 on.
    """

    name: str
    sha256: str
    trainer: str  # "module:function", called with no arguments, returns dict[str, Tensor]
    description: str

    @property
    def path(self) -> Path:
        return CHECKPOINT_DIR / f"{self.name}.safetensors"

    @property
    def retrain_call(self) -> str:
        return f"mlsec_helpers.checkpoints.retrain({self.name!r})"


CHECKPOINTS: dict[str, Checkpoint] = {}


def register(name: str, sha256: str, trainer: str, description: str) -> Checkpoint:
    """Register checkpoint ``name`` (called by the lab module that trains it).

    Introduced in lab 00 (Meet the five systems).
    """
    if not name.replace("_", "").isalnum():
        raise ValueError(f"checkpoint name must be letters, digits and _, got {name!r}")
    if len(sha256) != 64:
        raise ValueError("sha256 must be 64 hex digits")
    ckpt = Checkpoint(name, sha256.lower(), trainer, description)
    CHECKPOINTS[name] = ckpt
    return ckpt


def _get(name: str) -> Checkpoint:
    if name not in CHECKPOINTS:
        raise _unknown(name, sorted(CHECKPOINTS), "checkpoint")
    return CHECKPOINTS[name]


def load(name: str, path: Path | None = None):
    """Load checkpoint ``name`` as a ``dict[str, torch.Tensor]`` after checking its SHA-256.

    A missing or modified file raises :class:`DataIntegrityError` with the call that retrains.

    Introduced in lab 00 (Meet the five systems).
    """
    from safetensors.torch import load as st_load

    ckpt = _get(name)
    where = Path(path) if path is not None else ckpt.path
    if not where.is_file():
        shown = where.relative_to(REPO_ROOT) if where.is_relative_to(REPO_ROOT) else where
        raise DataIntegrityError(
            f"checkpoint {name!r} not found at {where}. Fix: restore it from git "
            f"(`git checkout -- {shown}`) or retrain it with {ckpt.retrain_call}."
        )
    data = where.read_bytes()
    digest = sha256_bytes(data)
    if digest != ckpt.sha256:
        raise DataIntegrityError(
            f"checkpoint {name!r} at {where} does not match the registry (SHA-256 "
            f"{digest[:16]}... expected {ckpt.sha256[:16]}...): it was modified or retrained "
            f"with other settings. Fix: restore it from git, or retrain with "
            f"{ckpt.retrain_call} and update the registered hash."
        )
    return st_load(data)


def train(name: str) -> tuple[dict, str]:
    """Run the registered trainer of ``name``; return (tensors, their safetensors SHA-256).

    Introduced in lab 00 (Meet the five systems).
    """
    from safetensors.torch import save as st_save

    ckpt = _get(name)
    module, func = ckpt.trainer.split(":")
    tensors = getattr(importlib.import_module(module), func)()
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    return tensors, sha256_bytes(st_save(tensors))


def retrain(name: str, write: bool = True) -> str:
    """Retrain checkpoint ``name`` with its script and (by default) write the file.

    Returns the new SHA-256; when it differs from the registered one, register the new hash.

    Introduced in lab 00 (Meet the five systems).
    """
    from safetensors.torch import save as st_save

    tensors, digest = train(name)
    if write:
        CHECKPOINT_DIR.mkdir(exist_ok=True)
        _get(name).path.write_bytes(st_save(tensors))
    return digest
