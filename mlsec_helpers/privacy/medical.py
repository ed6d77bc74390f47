"""Medical: was this patient in the study? Many logistic models on random halves of the
patients, each the target in turn and the others its shadows.

The experiment's settings, the population, the random halves, and the DP linear models trained
live with DP-SGD.

Introduced in lab 05 (Membership inference).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from tqdm.auto import tqdm

from ..repro import deterministic_algorithms, limited_threads, rng, seeded
from ..validate import ArgumentTypeError, check_array, check_int, check_number, check_positive
from .common import merge_settings
from .dp import rdp_accountant_epsilon, train_dp
from .results import DPLinearModels, Population

__all__ = [
    "MEDICAL_SETTINGS",
    "linear_models_logits",
    "medical_population",
    "random_halves",
    "train_medical_dp_models",
]

MEDICAL_SETTINGS: dict = {
    "seed": 0, "n_models": 64, "n_public": 69, "C": 1.0, "dp_epsilon": 1.0, "delta": 1e-5,
    "dp_epochs": 20, "dp_batch_size": 64, "dp_lr": 0.05, "max_grad_norm": 1.0, "train_seed": None,
}
"""The patient membership experiment of lab 05 (Membership inference).

Of the 569 WDBC patients, ``n_public`` form a public reference cohort (its mean and std scale
the DP models' features, so the scaling is not a function of any model's members) and the
other 500 the population; each of ``n_models`` models trains on a random half of it
(:func:`random_halves`), so every model is both a target and the others' shadow
(:func:`~mlsec_helpers.privacy.leave_one_out_lira`). Undefended: the reference logistic
regression (``C``); defended: a torch linear model with DP-SGD (opacus) at ``dp_epsilon``,
delta 1e-5. ``seed`` draws the halves and the public cohort; ``train_seed`` (default:
``seed``) seeds the DP training's initialisation, sampling and noise."""


def random_halves(n: int, n_models: int, *, seed: int = 0) -> np.ndarray:
    """``(n_models, n)`` booleans: row ``k`` marks the ``n // 2`` examples model ``k`` trains on.

    Introduced in lab 05 (Membership inference).
    """
    n = check_int(n, "n", 2)
    n_models = check_int(n_models, "n_models")
    gen = rng(seed)
    keep = np.zeros((n_models, n), dtype=bool)
    for k in range(n_models):
        keep[k, gen.choice(n, n // 2, replace=False)] = True
    return keep


def medical_population(*, seed: int = 0, n_public: int = MEDICAL_SETTINGS["n_public"]
                       ) -> Population:
    """The WDBC patients (train and test splits together, float32 features), less a public
    reference cohort of ``n_public`` patients drawn with ``seed`` (``Population.X_public``).

    Introduced in lab 05 (Membership inference).
    """
    from ..data import load_dataset

    data = load_dataset("medical", seed=seed)
    X = np.concatenate([data.X_train, data.X_test]).astype(np.float32)
    y = np.concatenate([data.y_train, data.y_test])
    n_public = check_int(n_public, "n_public", 2, len(X) - 4)
    public = np.zeros(len(X), dtype=bool)
    public[rng(seed).choice(len(X), n_public, replace=False)] = True
    return Population(X=X[~public], y=y[~public], X_public=X[public])


def train_medical_dp_models(**overrides) -> DPLinearModels:
    """Train the DP linear models of the patient experiment (:data:`MEDICAL_SETTINGS`).

    Model ``k`` is a torch linear model (``systems.StandardisedMLP`` with no hidden layer;
    features scaled by the mean and std of the public cohort ``Population.X_public``, so that
    the scaling is not a function of the private data the accountant covers) trained with
    DP-SGD on row ``k`` of :func:`random_halves`. Returns the stacked weights and biases,
    the scaling and the privacy spent. About 10 s on one thread, so the lab trains them live.
    One thread and every random number seeded; the caller's generators and thread settings are
    left as they were.

    Introduced in lab 05 (Membership inference).
    """
    from opacus.accountants.utils import get_noise_multiplier

    from ..systems import StandardisedMLP

    st = merge_settings(MEDICAL_SETTINGS, overrides)
    population = medical_population(seed=st["seed"], n_public=st["n_public"])
    X, y = population.X, population.y
    keep = random_halves(len(X), st["n_models"], seed=st["seed"])
    train_seed = st["seed"] if st["train_seed"] is None else st["train_seed"]
    mean, scale = population.X_public.mean(0), population.X_public.std(0)
    delta = check_number(st["delta"], "delta", low=0.0, high=1.0, low_open=True,
                         high_open=True)
    # Every model trains on n // 2 records with the same recipe, so the noise that meets the
    # budget is the same: ask opacus once (as make_private_with_epsilon would, 64 times).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sigma = get_noise_multiplier(
            target_epsilon=check_positive(st["dp_epsilon"], "dp_epsilon"),
            target_delta=delta,
            sample_rate=1 / math.ceil(int(keep[0].sum()) / st["dp_batch_size"]),
            epochs=st["dp_epochs"], accountant="rdp")
    weights, biases, sigmas, epsilons = [], [], [], []
    with limited_threads(1), deterministic_algorithms():
        for k in tqdm(range(st["n_models"]), desc="DP logistic models", leave=False):
            with seeded(train_seed + k):
                model = StandardisedMLP(mean, scale, depth=0)
                spent = train_dp(model, X[keep[k]], y[keep[k]], noise_multiplier=sigma,
                                 delta=st["delta"], epochs=st["dp_epochs"],
                                 batch_size=st["dp_batch_size"], lr=st["dp_lr"],
                                 max_grad_norm=st["max_grad_norm"], seed=train_seed + 500 + k,
                                 report_epsilon=False, progress=False)
            layer = model.net[0]
            weights.append(layer.weight.detach().clone())
            biases.append(layer.bias.detach().clone())
            sigmas.append(spent.noise_multiplier)
            epsilons.append(rdp_accountant_epsilon(sigma, spent.sample_rate, spent.steps,
                                                   st["delta"]))
    return DPLinearModels(
        weight=torch.stack(weights), bias=torch.stack(biases), mean=torch.as_tensor(mean),
        scale=torch.as_tensor(scale), noise_multiplier=torch.tensor(sigmas, dtype=torch.float64),
        epsilon=torch.tensor(epsilons, dtype=torch.float64),
        delta=torch.tensor(st["delta"], dtype=torch.float64))


def linear_models_logits(models: DPLinearModels, X) -> np.ndarray:
    """Logits ``(m, n, 2)`` of the stacked linear models of :func:`train_medical_dp_models`.

    Introduced in lab 05 (Membership inference).
    """
    if not isinstance(models, DPLinearModels):
        raise ArgumentTypeError(f"models must be the DPLinearModels of train_medical_dp_models, "
                                f"got {type(models).__name__}")
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    W = models.weight.double().numpy()
    if X.shape[1] != W.shape[2]:
        raise ValueError(f"X must be (n, {W.shape[2]}), got shape {X.shape}")
    Z = (X - models.mean.double().numpy()) / models.scale.double().numpy()
    return np.einsum("nf,mcf->mnc", Z, W) + models.bias.double().numpy()[:, None, :]
