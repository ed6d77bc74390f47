"""The checkpoint of lab 02: the robust digits CNN, its trainer, settings and loader.

PGD adversarial training of the digit reader takes about five minutes on one CPU core, beyond
the lab's time budget, so the lab loads the weights from ``checkpoints/`` (checkpoint
``lab02_robust_digits_cnn``, declared in :data:`mlsec_helpers.checkpoints.CHECKPOINTS`) and
shows the one call that retrains them: ``checkpoints.retrain("lab02_robust_digits_cnn")``,
which runs :func:`train_robust_cnn`.

Introduced in lab 02 (Evasion).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import torch

from .. import checkpoints, repro
from ..validate import unknown_name
from .image import pgd_adversarial_training

__all__ = ["ROBUST_CNN_SETTINGS", "load_robust_cnn", "train_robust_cnn"]

ROBUST_CNN_SETTINGS: Mapping[str, object] = MappingProxyType(
    {"eps": 0.3, "steps": 7, "epochs": 30, "warmup_epochs": 10, "width": 16, "seed": 0})
"""How :func:`train_robust_cnn` trains the checkpointed robust digits CNN (MNIST 5k, seed 0).

Read-only. Introduced in lab 02 (Evasion)."""


def train_robust_cnn(**overrides) -> dict[str, torch.Tensor]:
    """Train the robust digits CNN: ``SmallCNN`` with PGD adversarial training at eps 0.3.

    The trainer of checkpoint ``lab02_robust_digits_cnn`` (see :data:`ROBUST_CNN_SETTINGS`):
    the image dataset's training split for seed 0, on one thread, deterministic algorithms,
    every random number seeded, so the same settings give the same weights. About five minutes
    on one CPU core. ``overrides`` change settings (the tests train a tiny version with
    ``dataset="digits_tiny"``). The caller's thread caps, global generators and
    deterministic-algorithms setting are restored afterwards. Returns the model's
    ``state_dict``. Introduced in lab 02 (Evasion).
    """
    from ..data import load_dataset
    from ..systems import SmallCNN

    known = [*ROBUST_CNN_SETTINGS, "dataset"]
    settings = {**ROBUST_CNN_SETTINGS, "dataset": "image", **overrides}
    unknown = set(settings) - set(known)
    if unknown:
        raise unknown_name(sorted(unknown)[0], known, "setting")
    with repro.limited_threads(1), repro.deterministic_algorithms():
        data = load_dataset(settings["dataset"], seed=settings["seed"])
        with repro.seeded(settings["seed"]):  # the CNN's initial weights
            model = SmallCNN(image_size=data.X_train.shape[2], width=settings["width"])
            pgd_adversarial_training(
                model, data.X_train, data.y_train, eps=settings["eps"],
                steps=settings["steps"], epochs=settings["epochs"],
                warmup_epochs=settings["warmup_epochs"], seed=settings["seed"],
                progress="robust CNN (PGD training)",
            )
    return {k: v.detach().clone(memory_format=torch.contiguous_format)
            for k, v in model.state_dict().items()}


def load_robust_cnn():
    """The checkpointed robust digits CNN (``lab02_robust_digits_cnn``, SHA-256 verified) as a
    fitted ``systems.DigitsCNN``, ready for every attack of the lab.

    Retrain it with ``mlsec_helpers.checkpoints.retrain("lab02_robust_digits_cnn")``.
    Introduced in lab 02 (Evasion).
    """
    from ..systems import DigitsCNN, SmallCNN

    tensors = checkpoints.load("lab02_robust_digits_cnn")
    width = int(tensors["features.0.weight"].shape[0])
    cnn = DigitsCNN(seed=ROBUST_CNN_SETTINGS["seed"])
    # Building the module draws its (overwritten) initial weights from torch's global
    # generator: seeded, so the caller's generator is left as it was.
    with repro.seeded(ROBUST_CNN_SETTINGS["seed"]):
        cnn.model = SmallCNN(image_size=28, width=width)
    cnn.model.load_state_dict(tensors)
    cnn.model.eval()
    cnn.image_shape = (1, 28, 28)
    cnn.fitted_ = True
    return cnn
