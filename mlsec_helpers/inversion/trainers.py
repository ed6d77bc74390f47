"""The trainers of lab 06's checkpoints, and their settings.

The support chatbot's autocomplete model (lab 05's character-level language model) is trained
three times on the support corpus with canaries planted (:data:`CANARY_LM_SETTINGS`): as is
(``"plain"``), after the PII scrubber (``"scrubbed"``) and with DP-SGD (``"dp"``). The DP model
takes minutes on one core, more than the notebook's budget, so the lab loads all three from the
checkpoints of :data:`mlsec_helpers.checkpoints.CHECKPOINTS`, which name the trainers below.
Each trainer runs on one thread with every random number seeded and leaves the caller's
generators and thread settings as they were: the same settings give the same weights.

Introduced in lab 06 (Model inversion).
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import torch

from ..privacy import CHAR_LM_SETTINGS, train_char_lm
from ..privacy.common import merge_settings, pack_state
from ..repro import deterministic_algorithms, limited_threads, rng
from ..validate import check_choice
from .nlp import canary_corpus, canary_set, scrub_pii

__all__ = [
    "CANARY_LM_SETTINGS",
    "CANARY_LM_VARIANTS",
    "canary_lm_training_corpus",
    "train_canary_lm",
    "train_canary_lm_dp",
    "train_canary_lm_plain",
    "train_canary_lm_scrubbed",
]

CANARY_LM_SETTINGS: dict = {
    "seed": 0, "n_messages": 1000, "hidden": 128, "embed": 32, "epochs": 50, "lr": 3e-3,
    "batch_size": 32, "max_len": 100, "dp_epsilon": 8.0, "delta": 1e-5, "dp_epochs": 40,
    "dp_batch_size": 100, "dp_lr": 2e-2, "max_grad_norm": 1.0,
}
"""The canary experiment of lab 06 (Model inversion).

``n_messages`` messages of the support corpus's training split (seed 0) plus the canaries of
:func:`~mlsec_helpers.inversion.canary_set` (seed 0), each planted ``repeats`` times; messages
are cut at ``max_len`` characters. The model is lab 05's
:class:`~mlsec_helpers.privacy.CharLM` with a smaller LSTM (``hidden`` units). Plain and
scrubbed: Adam for ``epochs`` passes; DP: DP-SGD with opacus at ``dp_epsilon`` (delta
``delta``) per message for ``dp_epochs`` passes."""

CANARY_LM_VARIANTS: tuple[str, ...] = ("plain", "scrubbed", "dp")
"""The three models: trained on the corpus, on the scrubbed corpus, and with DP-SGD.
Introduced in lab 06 (Model inversion)."""

_LM_KEYS = tuple(k for k in CANARY_LM_SETTINGS if k in CHAR_LM_SETTINGS)


def canary_lm_training_corpus(variant: str = "plain", **overrides) -> np.ndarray:
    """The messages a variant of :data:`CANARY_LM_VARIANTS` trains on: ``n_messages`` support
    messages of the training split and the planted canaries, shuffled (seed ``seed``); for
    ``"scrubbed"``, every message after :func:`~mlsec_helpers.inversion.scrub_pii`.

    Introduced in lab 06 (Model inversion).
    """
    from ..data import load_dataset

    variant = check_choice(variant, CANARY_LM_VARIANTS, "variant")
    st = merge_settings(CANARY_LM_SETTINGS, overrides)
    data = load_dataset("nlp", seed=0)
    pick = np.sort(rng(st["seed"]).permutation(len(data.X_train))[: st["n_messages"]])
    X = canary_corpus(list(data.X_train[pick]), canary_set(seed=st["seed"]), seed=st["seed"])
    if variant == "scrubbed":
        X = np.array([scrub_pii(t) for t in X], dtype=object)
    return X


def train_canary_lm(variant: str, **overrides) -> dict[str, torch.Tensor]:
    """Train one of the three language models of :data:`CANARY_LM_VARIANTS` on
    :func:`canary_lm_training_corpus`; return its tensors (weights as float16 under ``lm.``,
    the privacy DP-SGD spent as float64 under ``dp.``, as lab 05's checkpoints, so that
    :func:`~mlsec_helpers.privacy.load_char_lm` reads them). One thread, every random number
    seeded. ``overrides`` change :data:`CANARY_LM_SETTINGS` (the tests train tiny versions).

    Introduced in lab 06 (Model inversion).
    """
    variant = check_choice(variant, CANARY_LM_VARIANTS, "variant")
    st = merge_settings(CANARY_LM_SETTINGS, overrides)
    X = canary_lm_training_corpus(variant, **overrides)
    with limited_threads(1), deterministic_algorithms():
        trained = train_char_lm(list(X), dp=variant == "dp", **{k: st[k] for k in _LM_KEYS})
    out = pack_state("lm", trained.model)
    if trained.privacy is not None:
        for key, value in asdict(trained.privacy).items():
            out[f"dp.{key}"] = torch.tensor(value, dtype=torch.float64)
    return out


def train_canary_lm_plain() -> dict[str, torch.Tensor]:
    """Checkpoint trainer of ``lab06_canary_lm`` (:func:`train_canary_lm`, ``"plain"``).

    Introduced in lab 06 (Model inversion).
    """
    return train_canary_lm("plain")


def train_canary_lm_scrubbed() -> dict[str, torch.Tensor]:
    """Checkpoint trainer of ``lab06_canary_lm_scrubbed`` (:func:`train_canary_lm`,
    ``"scrubbed"``).

    Introduced in lab 06 (Model inversion).
    """
    return train_canary_lm("scrubbed")


def train_canary_lm_dp() -> dict[str, torch.Tensor]:
    """Checkpoint trainer of ``lab06_canary_lm_dp`` (:func:`train_canary_lm`, ``"dp"``).

    Introduced in lab 06 (Model inversion).
    """
    return train_canary_lm("dp")
