"""Model checkpoints trained by the project's own scripts, stored as safetensors, verified.

Where training a model that a lab needs would break the lab's time budget, the lab loads weights
trained by a tested, deterministic trainer of this package, stored in ``checkpoints/`` in a safe
format (safetensors: tensors only, no code runs on load), with their SHA-256 in the table
:data:`CHECKPOINTS` below. The lab says so and shows the one call that retrains. Everything a lab
teaches as an attack or a defence still runs live.

The table is the only place a checkpoint is declared: names are ``labNN_what``, the file is
``checkpoints/<name>.safetensors``, and the trainer is named as ``"module:function"`` (a function
with no arguments that returns a ``dict[str, torch.Tensor]``). Loading a checkpoint needs nothing
but this module; the trainer's module is imported only to retrain. CONTRIBUTING.md says how to
add one.

Introduced in lab 00 (Meet the five systems); used from lab 02 on.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path

from .registry import REPO_ROOT, DataIntegrityError, sha256_bytes
from .validate import unknown_name

__all__ = ["CHECKPOINTS", "CHECKPOINT_DIR", "Checkpoint", "load", "retrain", "train"]

CHECKPOINT_DIR = REPO_ROOT / "checkpoints"

_NAME_RE = re.compile(r"lab\d\d_[a-z0-9_]+")


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint: its name (``labNN_what``), SHA-256, trainer and what it is.

    Introduced in lab 00 (Meet the five systems); used from lab 02 on.
    """

    name: str
    sha256: str
    trainer: str  # "module:function", called with no arguments, returns dict[str, Tensor]
    description: str

    def __post_init__(self):
        if not _NAME_RE.fullmatch(self.name):
            raise ValueError(f"checkpoint name must look like 'labNN_what' (lower case, digits, "
                             f"_), got {self.name!r}")
        if not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise ValueError(f"sha256 of {self.name!r} must be 64 lower-case hex digits")
        if self.trainer.count(":") != 1:
            raise ValueError(f"trainer of {self.name!r} must be 'module:function', got "
                             f"{self.trainer!r}")

    @property
    def lab(self) -> int:
        """The number of the lab that uses it."""
        return int(self.name[3:5])

    @property
    def path(self) -> Path:
        return CHECKPOINT_DIR / f"{self.name}.safetensors"

    @property
    def retrain_call(self) -> str:
        return f"mlsec_helpers.checkpoints.retrain({self.name!r})"


CHECKPOINTS: dict[str, Checkpoint] = {
    c.name: c
    for c in (
        Checkpoint(
            "lab00_digits_cnn",
            "a8037b91aea643743081db7ce35a8094bdc74c94322cb18a075d934b225ad196",
            "mlsec_helpers.systems:train_reference_digits_cnn",
            "the reference digits CNN of lab 00 (train_baseline('image', seed=0): 6 epochs on "
            "the MNIST 5k training split); about 6 s",
        ),
        Checkpoint(
            "lab00_recommender",
            "34a463618cf069d61a311418a4afddbc8d36384883015ea7e33b14ac83785ad6",
            "mlsec_helpers.systems:train_reference_recommender",
            "the reference MF recommender of lab 00 (train_baseline('recommender', seed=0): 40 "
            "epochs on the MovieLens training ratings); about 6 s",
        ),
        Checkpoint(
            "lab02_robust_digits_cnn",
            "6f3f7686da7f6f4641365b6f985f2977dbac941865e45beb4a4b38741842a82f",
            "mlsec_helpers.evasion:train_robust_cnn",
            "SmallCNN (width 16) trained with PGD adversarial training at eps 0.3 (L-inf) on "
            "the MNIST 5k training split of seed 0; about 5 min",
        ),
        Checkpoint(
            "lab05_digits_target",
            "88e82e020ebb2c8bd2c1863437313184b65b524737d1db9c780993a845414a73",
            "mlsec_helpers.privacy:train_digits_target",
            "the undefended digits CNN (width 4, 750 members, 60 epochs); about 5 s",
        ),
        Checkpoint(
            "lab05_digits_shadows",
            "0262603b19314b2b133bae32decd204aef6290546dd339169bab63d98efa311e",
            "mlsec_helpers.privacy:train_digits_shadows",
            "32 shadow CNNs, each on 750 of the attacker's digits; under 2 min",
        ),
        Checkpoint(
            "lab05_digits_dp",
            "3a0aa8c3c4906b1f830b3de241927230f65996cf767551e26ccb0aab994745d0",
            "mlsec_helpers.privacy:train_digits_dp",
            "the digits CNN trained with DP-SGD at epsilon 1, 3 and 8 (delta 1e-5); about 20 s",
        ),
        Checkpoint(
            "lab05_digits_dp_shadows",
            "fb518de446031ae049f3102fdca8218ce286711fe0a576e7d426c02842e58c77",
            "mlsec_helpers.privacy:train_digits_dp_shadows",
            "4 DP-SGD shadow CNNs per epsilon (1, 3, 8); under a minute",
        ),
        Checkpoint(
            "lab05_char_lm",
            "7befc2a9afd6a53513416a3d8cc899f9bce9461427822c99c02c076f6e7dde2f",
            "mlsec_helpers.privacy:train_char_lm_checkpoint",
            "character-level LSTM language model (256 units) on 1,000 support messages, 30 "
            "epochs; about 1.5 min",
        ),
        Checkpoint(
            "lab05_char_lm_dp",
            "d1da862013f02964b89bbbc3a766a4013e41a6abcf0bc54c4f1ab5699481856f",
            "mlsec_helpers.privacy:train_char_lm_dp_checkpoint",
            "the same language model trained with DP-SGD (opacus DPLSTM) at epsilon 8, delta "
            "1e-5, 8 epochs; about 12 min",
        ),
        Checkpoint(
            "lab06_canary_lm",
            "c7d5c23e2afa5e2190886167eda6e82ccf15b035d860509464d79bb98233961a",
            "mlsec_helpers.inversion:train_canary_lm_plain",
            "character-level LSTM (128 units) on 1,000 support messages with canary PINs "
            "planted, 50 epochs; about 1 min",
        ),
        Checkpoint(
            "lab06_canary_lm_scrubbed",
            "09b846192245af07389377c323b123655bd9d075fddca296d1865b853361b457",
            "mlsec_helpers.inversion:train_canary_lm_scrubbed",
            "the same language model trained on the corpus after inversion.scrub_pii; about "
            "1 min",
        ),
        Checkpoint(
            "lab06_canary_lm_dp",
            "c8a19638893b39166e91e792b6ce82e6761e1c50e68b640d145a1da4f8f71659",
            "mlsec_helpers.inversion:train_canary_lm_dp",
            "the same language model trained with DP-SGD (opacus DPLSTM) at epsilon 8, delta "
            "1e-5, 40 epochs; about 6.5 min",
        ),
    )
}
"""Every checkpoint of the course. Introduced in lab 00 (Meet the five systems)."""


def _get(name: str) -> Checkpoint:
    if name not in CHECKPOINTS:
        raise unknown_name(name, sorted(CHECKPOINTS), "checkpoint")
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
            f"{ckpt.retrain_call} and update the hash in mlsec_helpers/checkpoints.py."
        )
    return st_load(data)


def train(name: str) -> tuple[dict, str]:
    """Run the trainer of ``name``; return (tensors, their safetensors SHA-256).

    Introduced in lab 00 (Meet the five systems).
    """
    from safetensors.torch import save as st_save

    ckpt = _get(name)
    module, func = ckpt.trainer.split(":")
    tensors = getattr(importlib.import_module(module), func)()
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    return tensors, sha256_bytes(st_save(tensors))


def retrain(name: str, write: bool = True) -> str:
    """Retrain checkpoint ``name`` with its trainer and (by default) write the file.

    Returns the new SHA-256; when it differs from the one in :data:`CHECKPOINTS`, update it there.

    Introduced in lab 00 (Meet the five systems).
    """
    from safetensors.torch import save as st_save

    tensors, digest = train(name)
    if write:
        CHECKPOINT_DIR.mkdir(exist_ok=True)
        _get(name).path.write_bytes(st_save(tensors))
    return digest
