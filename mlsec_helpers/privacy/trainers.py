"""The trainers of lab 05's checkpoints, and their settings.

The digits experiment (:data:`DIGITS_SETTINGS`: the target CNN, 32 shadows, the DP CNNs and
their DP shadows) and the character-level language model (:data:`CHAR_LM_SETTINGS`, without
and with DP-SGD) take too long for the notebook's 60 s budget, so the lab loads their weights
from the checkpoints of :data:`mlsec_helpers.checkpoints.CHECKPOINTS`, which name the trainers
below. Each trainer runs on one thread with every random number seeded, and leaves the caller's
generators and thread settings as they were: the same settings give the same weights.

Introduced in lab 05 (Membership inference).
"""

from __future__ import annotations

from dataclasses import asdict

import torch
from torch import nn
from tqdm.auto import tqdm

from ..repro import deterministic_algorithms, limited_threads, seeded, torch_generator
from ..validate import check_choice
from .common import merge_settings, pack_state
from .dp import train_dp
from .image import DigitsMembershipCNN, digits_membership_split, shadow_training_sets
from .nlp import PAD, CharLM, encode_messages, sequence_losses, support_membership_split
from .results import TrainedCharLM

__all__ = [
    "CHAR_LM_SETTINGS",
    "DIGITS_SETTINGS",
    "train_char_lm",
    "train_char_lm_checkpoint",
    "train_char_lm_dp_checkpoint",
    "train_char_lm_models",
    "train_digits_dp",
    "train_digits_dp_shadows",
    "train_digits_models",
    "train_digits_shadows",
    "train_digits_target",
]

# --- image: the digits CNN, its shadows and its DP versions -----------------------------------

DIGITS_SETTINGS: dict = {
    "dataset": "image", "seed": 0, "n_members": 750, "width": 4, "epochs": 60, "lr": 1e-3,
    "batch_size": 64, "n_shadows": 32, "dp_epsilons": (1.0, 3.0, 8.0), "delta": 1e-5,
    "dp_epochs": 25, "dp_batch_size": 200, "dp_lr": 1e-2, "max_grad_norm": 1.0,
    "dp_ema": 0.9, "n_dp_shadows": 4,
}
"""The digits membership experiment of lab 05 (Membership inference).

The target CNN (``SmallCNN`` of width 4) trains on ``n_members`` images of the image
dataset's training split for 60 epochs, long enough to memorise them; the test split are the
non-members. Each of ``n_shadows`` shadow models trains the same way on ``n_members`` images
drawn from the rest of the training split (the attacker's own data), so every shadow is OUT
for every candidate (offline LiRA). The DP models train on the same members with DP-SGD at
each epsilon of ``dp_epsilons`` (delta 1e-5), and ``n_dp_shadows`` DP shadows per epsilon let
LiRA attack them on equal terms."""

_DIGITS_PARTS = ("target", "shadows", "dp", "dp_shadows")


def train_digits_models(part: str, **overrides) -> dict[str, torch.Tensor]:
    """Train one part of the digits experiment (:data:`DIGITS_SETTINGS`); return its tensors.

    ``part``: ``"target"`` (the undefended CNN), ``"shadows"`` (the attacker's shadow CNNs),
    ``"dp"`` (DP-SGD CNNs at each epsilon) or ``"dp_shadows"`` (DP shadows per epsilon). One
    thread, every random number seeded: the same settings give the same weights. Weights are
    stored as float16 (the lab's numbers hold; the files stay small); privacy accounting as
    float64 (keys ``eps{e}.model{k}.epsilon`` and so on: ``e`` indexes ``dp_epsilons``).
    ``overrides`` change settings (the tests train tiny versions on ``digits_tiny``).

    Introduced in lab 05 (Membership inference).
    """
    from ..data import load_dataset
    from ..systems import fit_torch_classifier

    part = check_choice(part, _DIGITS_PARTS, "part")
    st = merge_settings(DIGITS_SETTINGS, overrides)
    data = load_dataset(st["dataset"], seed=st["seed"])
    split = digits_membership_split(len(data.X_train), st["n_members"], seed=st["seed"])
    members, pool = split.members, split.non_members
    side = data.X_train.shape[2]
    out: dict[str, torch.Tensor] = {}
    with limited_threads(1), deterministic_algorithms():
        if part in ("target", "shadows"):
            sets = ([members] if part == "target" else
                    shadow_training_sets(pool, st["n_shadows"], st["n_members"],
                                         seed=st["seed"] + 1))
            for k, idx in enumerate(tqdm(sets, desc=f"digits {part}", leave=False)):
                seed = st["seed"] + (0 if part == "target" else 1000 + k)
                with seeded(seed):
                    model = DigitsMembershipCNN(side, st["width"])
                    fit_torch_classifier(model, data.X_train[idx], data.y_train[idx],
                                         epochs=st["epochs"], lr=st["lr"],
                                         batch_size=st["batch_size"], seed=seed, progress=False)
                out.update(pack_state(f"model{k}", model))
            return out
        shadow_sets = shadow_training_sets(pool, st["n_dp_shadows"], st["n_members"],
                                           seed=st["seed"] + 2)
        epsilons = tuple(float(e) for e in st["dp_epsilons"])
        out["epsilons"] = torch.tensor(epsilons, dtype=torch.float64)
        for e, epsilon in enumerate(epsilons):
            sets = [members] if part == "dp" else list(shadow_sets)
            for k, idx in enumerate(sets):
                seed = st["seed"] + 2000 + 100 * e + k + (0 if part == "dp" else 50)
                with seeded(seed):
                    model = DigitsMembershipCNN(side, st["width"])
                    spent = train_dp(model, data.X_train[idx], data.y_train[idx],
                                     target_epsilon=epsilon, delta=st["delta"],
                                     epochs=st["dp_epochs"], batch_size=st["dp_batch_size"],
                                     lr=st["dp_lr"], max_grad_norm=st["max_grad_norm"],
                                     ema=st["dp_ema"], seed=seed,
                                     progress=f"digits eps={epsilon:g}")
                prefix = f"eps{e}.model{k}"  # the checkpoints' key names (SHA-256 fixed)
                out.update(pack_state(prefix, model))
                for key in ("noise_multiplier", "sample_rate", "epsilon", "delta"):
                    out[f"{prefix}.{key}"] = torch.tensor(getattr(spent, key),
                                                          dtype=torch.float64)
                out[f"{prefix}.steps"] = torch.tensor(spent.steps, dtype=torch.int64)
    return out


def train_digits_target() -> dict[str, torch.Tensor]:
    """Checkpoint trainer of ``lab05_digits_target`` (:func:`train_digits_models`).

    Introduced in lab 05 (Membership inference).
    """
    return train_digits_models("target")


def train_digits_shadows() -> dict[str, torch.Tensor]:
    """Checkpoint trainer of ``lab05_digits_shadows`` (:func:`train_digits_models`).

    Introduced in lab 05 (Membership inference).
    """
    return train_digits_models("shadows")


def train_digits_dp() -> dict[str, torch.Tensor]:
    """Checkpoint trainer of ``lab05_digits_dp`` (:func:`train_digits_models`).

    Introduced in lab 05 (Membership inference).
    """
    return train_digits_models("dp")


def train_digits_dp_shadows() -> dict[str, torch.Tensor]:
    """Checkpoint trainer of ``lab05_digits_dp_shadows`` (:func:`train_digits_models`).

    Introduced in lab 05 (Membership inference).
    """
    return train_digits_models("dp_shadows")


# --- NLP: the character-level language model ----------------------------------------------------

CHAR_LM_SETTINGS: dict = {
    "seed": 0, "n_members": 1000, "hidden": 256, "embed": 32, "epochs": 30, "lr": 2e-3,
    "batch_size": 32, "max_len": 160, "dp_epsilon": 8.0, "delta": 1e-5, "dp_epochs": 8,
    "dp_batch_size": 100, "dp_lr": 1e-2, "max_grad_norm": 1.0,
}
"""The character-level language model experiment of lab 05 (Membership inference).

The model trains on ``n_members`` messages of the support corpus's training split (seed 0);
as many other training-split messages are the non-members, and the test split measures
quality. Undefended: Adam with gradient-norm clipping, ``epochs`` passes; defended: DP-SGD
with opacus's ``DPLSTM`` at ``dp_epsilon`` (delta 1e-5)."""


def train_char_lm(X, *, dp: bool = False, **overrides) -> TrainedCharLM:
    """Train a :class:`~mlsec_helpers.privacy.CharLM` on the messages ``X``
    (:data:`CHAR_LM_SETTINGS`, changed by ``overrides``), without or with DP-SGD; returns the
    model (an ``nn.LSTM`` one) and the privacy spent (``None`` without DP). Every random number
    is seeded by the settings' ``seed``; the caller's generators are left as they were.

    Introduced in lab 05 (Membership inference).
    """
    st = merge_settings(CHAR_LM_SETTINGS, overrides)
    codes = encode_messages(X, st["max_len"])
    with seeded(st["seed"]):
        model = CharLM(st["hidden"], st["embed"], dp=dp)
        if dp:
            spent = train_dp(model, codes, torch.zeros(len(codes), dtype=torch.long),
                             target_epsilon=st["dp_epsilon"], delta=st["delta"],
                             epochs=st["dp_epochs"], batch_size=st["dp_batch_size"],
                             lr=st["dp_lr"], max_grad_norm=st["max_grad_norm"],
                             seed=st["seed"],
                             loss_fn=lambda m, xb, _: sequence_losses(m, xb).mean(),
                             progress="char LM (DPLSTM)")
            # DPLSTM keeps nn.LSTM's parameter names (plus its cells' own aliases): load them
            # into the fast nn.LSTM version.
            plain = CharLM(st["hidden"], st["embed"])
            state = model.state_dict()
            plain.load_state_dict({k: state[k] for k in plain.state_dict()})
            return TrainedCharLM(model=plain.eval(), privacy=spent)
        gen = torch_generator(st["seed"])
        opt = torch.optim.Adam(model.parameters(), lr=st["lr"])
        for _ in tqdm(range(st["epochs"]), desc="training char LM", leave=False):
            model.train()
            perm = torch.randperm(len(codes), generator=gen)
            for i in range(0, len(codes), st["batch_size"]):
                xb = codes[perm[i:i + st["batch_size"]]]
                xb = xb[:, : int((xb != PAD).sum(1).max())]  # trim the batch's padding
                opt.zero_grad()
                sequence_losses(model, xb).mean().backward()
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
    return TrainedCharLM(model=model.eval(), privacy=None)


def train_char_lm_models(dp: bool, **overrides) -> dict[str, torch.Tensor]:
    """Train the lab's language model (undefended, or DP with ``dp=True``); return tensors.

    Members are :func:`~mlsec_helpers.privacy.support_membership_split` of the NLP training
    split. One thread, all randomness seeded. Weights stored as float16; the privacy spent as
    float64 (keys ``dp.epsilon`` and so on).

    Introduced in lab 05 (Membership inference).
    """
    from ..data import load_dataset

    st = merge_settings(CHAR_LM_SETTINGS, overrides)
    data = load_dataset("nlp", seed=st["seed"])
    members = support_membership_split(len(data.X_train), st["n_members"],
                                       seed=st["seed"]).members
    with limited_threads(1), deterministic_algorithms():
        trained = train_char_lm(data.X_train[members], dp=dp, **overrides)
    out = pack_state("lm", trained.model)
    if trained.privacy is not None:
        for key, value in asdict(trained.privacy).items():
            out[f"dp.{key}"] = torch.tensor(value, dtype=torch.float64)
    return out


def train_char_lm_checkpoint() -> dict[str, torch.Tensor]:
    """Checkpoint trainer of ``lab05_char_lm`` (:func:`train_char_lm_models`, no DP).

    Introduced in lab 05 (Membership inference).
    """
    return train_char_lm_models(dp=False)


def train_char_lm_dp_checkpoint() -> dict[str, torch.Tensor]:
    """Checkpoint trainer of ``lab05_char_lm_dp`` (:func:`train_char_lm_models`, DP-SGD).

    Introduced in lab 05 (Membership inference).
    """
    return train_char_lm_models(dp=True)

