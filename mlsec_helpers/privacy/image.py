"""Image: the digits membership experiment (the target CNN, its shadows, its DP versions).

The splits of the digit images into the target's members and the attacker's pool, the shadow
training sets, the CNN, and loading the checkpointed models. Their trainers are in
:mod:`mlsec_helpers.privacy.trainers`.

Introduced in lab 05 (Membership inference).
"""

from __future__ import annotations

import re

import numpy as np
from torch import nn

from .. import checkpoints
from ..repro import rng, seeded
from ..validate import check_int
from .common import unpack_state
from .results import DigitsCheckpoint, MembershipSplit

__all__ = [
    "DigitsMembershipCNN",
    "digits_membership_split",
    "digits_models_from",
    "load_digits_models",
    "shadow_training_sets",
]


def digits_membership_split(n_train: int, n_members: int, *, seed: int = 0) -> MembershipSplit:
    """Split training-set indices into the target's members and the attacker's pool (the
    ``non_members``).

    Introduced in lab 05 (Membership inference).
    """
    n_train = check_int(n_train, "n_train", 2)
    n_members = check_int(n_members, "n_members")
    if n_members >= n_train:
        raise ValueError(f"n_members ({n_members}) must be smaller than n_train ({n_train})")
    perm = rng(seed).permutation(n_train)
    return MembershipSplit(members=np.sort(perm[:n_members]),
                           non_members=np.sort(perm[n_members:]))


def shadow_training_sets(pool, n_sets: int, size: int, *, seed: int = 0) -> np.ndarray:
    """``n_sets`` random subsets of ``size`` indices of ``pool`` (one per shadow model).

    Introduced in lab 05 (Membership inference).
    """
    pool = np.asarray(pool)
    n_sets = check_int(n_sets, "n_sets")
    size = check_int(size, "size")
    if size > len(pool):
        raise ValueError(f"size ({size}) exceeds the pool ({len(pool)} indices)")
    gen = rng(seed)
    return np.stack([np.sort(gen.choice(pool, size, replace=False)) for _ in range(n_sets)])


class DigitsMembershipCNN(nn.Module):
    """The digits CNN of the membership experiment: ``SmallCNN`` behind a fixed standardisation
    of the pixels (MNIST's mean 0.1307 and std 0.3081, public constants).

    Standardised inputs make DP-SGD train better (measured: +0.03 test accuracy at epsilon 3),
    and the constants come from outside the private data, so they cost no privacy. Its
    weights are drawn from torch's global generator: build it inside ``repro.seeded``.

    Introduced in lab 05 (Membership inference).
    """

    MEAN, STD = 0.1307, 0.3081

    def __init__(self, image_size: int = 28, width: int = 4):
        super().__init__()
        from ..systems import SmallCNN

        self.cnn = SmallCNN(image_size=image_size, width=width)

    def forward(self, x):
        return self.cnn((x - self.MEAN) / self.STD)


def _natural_key(prefix: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", prefix))


def digits_models_from(tensors: dict, image_size: int = 28, width: int | None = None
                       ) -> dict[str, nn.Module]:
    """Rebuild the CNNs stored in a digits checkpoint: ``{prefix: DigitsMembershipCNN}`` in
    evaluation mode. ``width`` (the CNN's number of first-layer filters) is read from the
    tensors unless given.

    Introduced in lab 05 (Membership inference).
    """
    prefixes = {k[: k.index(".cnn.")] for k in tensors if ".cnn." in k}
    if not prefixes:
        raise ValueError("this checkpoint holds no digits CNN")
    models = {}
    with seeded(0):  # the initial weights are overwritten; leave torch's generator alone
        for p in sorted(prefixes, key=_natural_key):
            w = width or int(tensors[f"{p}.cnn.features.0.weight"].shape[0])
            models[p] = unpack_state(tensors, p, DigitsMembershipCNN(image_size, w))
    return models


def load_digits_models(name: str) -> DigitsCheckpoint:
    """Load a digits checkpoint of the table: its CNNs (by prefix) and its other tensors.

    Introduced in lab 05 (Membership inference).
    """
    tensors = checkpoints.load(name)
    models = digits_models_from(tensors)
    return DigitsCheckpoint(models=models,
                            tensors={k: v for k, v in tensors.items() if ".cnn." not in k})
