"""Differential privacy: the accountant that turns noise, sampling rate and steps into
(epsilon, delta) and back, and DP-SGD with opacus. Every domain of lab 05, and later labs, use
them.

Introduced in lab 05 (Membership inference).
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..repro import torch_generator
from ..validate import check_choice, check_fraction, check_int, check_number, check_positive
from .results import PrivacySpent

__all__ = [
    "ACCOUNTANTS",
    "RDP_ORDERS",
    "epsilon_for",
    "group_epsilon",
    "noise_for_epsilon",
    "rdp_accountant_epsilon",
    "train_dp",
]

ACCOUNTANTS: tuple[str, ...] = ("rdp", "prv", "gdp")
"""opacus's accountants, by the names its ``create_accountant`` knows. Introduced in lab 05
(Membership inference)."""

RDP_ORDERS: tuple[int, ...] = (*range(2, 64), 80, 96, 128, 192, 256)
"""The Renyi orders :func:`epsilon_for` optimises over. Introduced in lab 05 (Membership
inference). opacus's ``RDPAccountant`` also tries fractional orders between 1 and 2, which are
ten times slower to evaluate and change epsilon by less than 2% wherever epsilon <= 10."""


# --- accounting: (epsilon, delta) from noise, sampling rate and steps ---------------------------


@functools.lru_cache(maxsize=4096)
def _rdp_one_step(sample_rate: float, noise_multiplier: float) -> np.ndarray:
    from opacus.accountants.analysis import rdp

    return np.asarray(rdp.compute_rdp(q=sample_rate, noise_multiplier=noise_multiplier, steps=1,
                                      orders=list(RDP_ORDERS)))


def epsilon_for(noise_multiplier: float, sample_rate: float, steps: int, delta: float,
                accountant: str = "rdp") -> float:
    """The epsilon that DP-SGD spends: ``steps`` noisy steps with Poisson sampling rate
    ``sample_rate`` (opacus uses 1 / batches per epoch) and noise ``noise_multiplier`` x the
    clipping norm, at failure probability ``delta``.

    ``"rdp"``: opacus's RDP analysis (``compute_rdp``, ``get_privacy_spent``) over
    :data:`RDP_ORDERS`; RDP adds up over steps, so one step is computed per (rate, noise) and
    cached. ``"prv"`` and ``"gdp"``: opacus's other accountants.

    Introduced in lab 05 (Membership inference).
    """
    sigma = check_positive(noise_multiplier, "noise_multiplier")
    q = check_fraction(sample_rate, "sample_rate", allow_zero=False)
    steps = check_int(steps, "steps")
    delta = check_number(delta, "delta", low=0.0, high=1.0, low_open=True, high_open=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "optimal order is the largest alpha" and the like
        if check_choice(accountant, ACCOUNTANTS, "accountant") == "rdp":
            from opacus.accountants.analysis import rdp

            epsilon, _ = rdp.get_privacy_spent(orders=list(RDP_ORDERS),
                                               rdp=_rdp_one_step(q, sigma) * steps, delta=delta)
            return float(epsilon)
        from opacus.accountants import create_accountant

        acc = create_accountant(mechanism=accountant)
        acc.history = [(sigma, q, steps)]
        return float(acc.get_epsilon(delta=delta))


def noise_for_epsilon(target_epsilon: float, delta: float, sample_rate: float, steps: int,
                      accountant: str = "rdp", tolerance: float = 0.01) -> float:
    """The smallest noise multiplier whose epsilon (:func:`epsilon_for`) meets
    ``target_epsilon``.

    A wrapper around opacus's ``get_noise_multiplier`` (a bisection on the accountant) that
    checks its arguments first.

    Introduced in lab 05 (Membership inference).
    """
    from opacus.accountants.utils import get_noise_multiplier

    target_epsilon = check_positive(target_epsilon, "target_epsilon")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(get_noise_multiplier(
            target_epsilon=target_epsilon,
            target_delta=check_number(delta, "delta", low=0.0, high=1.0, low_open=True,
                                      high_open=True),
            sample_rate=check_fraction(sample_rate, "sample_rate", allow_zero=False),
            steps=check_int(steps, "steps"),
            accountant=check_choice(accountant, ACCOUNTANTS, "accountant"),
            epsilon_tolerance=check_positive(tolerance, "tolerance")))


def group_epsilon(epsilon: float, group_size: int) -> float:
    """Epsilon for a group of ``group_size`` records (one user's ratings, one customer's
    transactions) under record-level (epsilon, delta)-DP: at most ``group_size * epsilon``.

    Introduced in lab 05 (Membership inference).
    """
    return check_positive(epsilon, "epsilon") * check_int(group_size, "group_size")


@functools.lru_cache(maxsize=64)
def rdp_accountant_epsilon(noise_multiplier: float, sample_rate: float, steps: int,
                           delta: float) -> float:
    """Epsilon of opacus's ``RDPAccountant`` (its default orders), as its ``PrivacyEngine``
    reports it after ``steps`` steps (cached: many models trained alike ask once).

    Introduced in lab 05 (Membership inference).
    """
    from opacus.accountants import RDPAccountant

    acc = RDPAccountant()
    acc.history = [(noise_multiplier, sample_rate, steps)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(acc.get_epsilon(delta=delta))


# --- DP-SGD with opacus ---------------------------------------------------------------------------


def train_dp(model: nn.Module, X, y, *, delta: float, epochs: int, batch_size: int,
             lr: float, max_grad_norm: float, seed: int, target_epsilon: float | None = None,
             noise_multiplier: float | None = None, loss_fn: Callable | None = None,
             accountant: str = "rdp", ema: float = 0.0, optimizer: str = "adam",
             report_epsilon: bool = True, progress: bool | str = True) -> PrivacySpent:
    """Train ``model`` in place with DP-SGD (opacus ``PrivacyEngine``, Adam, Poisson sampling).

    Give either ``target_epsilon`` (opacus's ``make_private_with_epsilon`` picks the noise
    that spends exactly that budget over ``epochs``) or ``noise_multiplier`` (then the
    accountant reports the epsilon spent). Every per-example gradient is clipped to
    ``max_grad_norm`` and Gaussian noise of std ``noise_multiplier * max_grad_norm`` is added
    to their sum. ``loss_fn(model, xb, yb)`` returns the batch's mean per-example loss (default:
    cross-entropy). Sampling and noise come from generators seeded by ``seed``, so a run is
    reproducible. ``ema`` > 0 returns an exponential moving average of the iterates
    (post-processing, free). Returns the privacy spent (its ``epsilon`` is ``nan`` with
    ``report_epsilon=False``, which skips the accountant's slowest call).

    Introduced in lab 05 (Membership inference).
    """
    from opacus import PrivacyEngine
    from torch.utils.data import DataLoader, TensorDataset

    if (target_epsilon is None) == (noise_multiplier is None):
        raise ValueError("give exactly one of target_epsilon and noise_multiplier")
    delta = check_number(delta, "delta", low=0.0, high=1.0, low_open=True, high_open=True)
    epochs = check_int(epochs, "epochs")
    batch_size = check_int(batch_size, "batch_size")
    check_positive(lr, "lr")
    check_positive(max_grad_norm, "max_grad_norm")
    ema = check_number(ema, "ema", low=0.0, high=1.0, high_open=True)
    check_choice(optimizer, ("adam", "sgd"), "optimizer")
    accountant = check_choice(accountant, ACCOUNTANTS, "accountant")
    Xt = X if isinstance(X, torch.Tensor) else torch.as_tensor(np.asarray(X))
    yt = y if isinstance(y, torch.Tensor) else torch.as_tensor(np.asarray(y))
    if len(Xt) != len(yt) or len(Xt) == 0:
        raise ValueError(f"X and y must have the same, non-zero length, got {len(Xt)} and "
                         f"{len(yt)}")
    if batch_size > len(Xt):
        raise ValueError(f"batch_size ({batch_size}) exceeds the number of examples "
                         f"({len(Xt)})")
    loss_fn = loss_fn or (lambda m, xb, yb: nn.functional.cross_entropy(m(xb), yb))
    loader = DataLoader(TensorDataset(Xt, yt), batch_size=batch_size,
                        generator=torch_generator(seed))
    opt = (torch.optim.Adam(model.parameters(), lr=lr) if optimizer == "adam" else
           torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9))
    averaged = [p.detach().clone() for p in model.parameters()] if ema else None
    noise_gen = torch_generator(seed + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # opacus warns that secure_mode is off: known, seeded
        engine = PrivacyEngine(accountant=accountant)
        if target_epsilon is not None:
            dp_model, opt, loader = engine.make_private_with_epsilon(
                module=model, optimizer=opt, data_loader=loader,
                target_epsilon=check_positive(target_epsilon, "target_epsilon"),
                target_delta=delta, epochs=epochs, max_grad_norm=max_grad_norm,
                noise_generator=noise_gen)
        else:
            dp_model, opt, loader = engine.make_private(
                module=model, optimizer=opt, data_loader=loader,
                noise_multiplier=check_positive(noise_multiplier, "noise_multiplier"),
                max_grad_norm=max_grad_norm, noise_generator=noise_gen)
        label = progress if isinstance(progress, str) else type(model).__name__
        steps = 0
        for _ in tqdm(range(epochs), desc=f"DP-SGD {label}", disable=not progress, leave=False):
            dp_model.train()
            for xb, yb in loader:
                if len(xb) == 0:  # Poisson sampling can draw an empty batch
                    continue
                opt.zero_grad()
                loss_fn(dp_model, xb, yb).backward()
                opt.step()
                steps += 1
                if averaged is not None:  # an average of the iterates is post-processing: free
                    with torch.no_grad():
                        for a, p in zip(averaged, model.parameters(), strict=True):
                            a.mul_(ema).add_(p.detach(), alpha=1 - ema)
        epsilon = float(engine.get_epsilon(delta)) if report_epsilon else math.nan
        dp_model.to_standard_module()  # removes opacus's hooks; ``model`` holds the weights
    if averaged is not None:
        with torch.no_grad():
            for a, p in zip(averaged, model.parameters(), strict=True):
                p.copy_(a)
    model.eval()
    return PrivacySpent(noise_multiplier=float(opt.noise_multiplier),
                        sample_rate=1 / len(loader), steps=steps, epsilon=epsilon, delta=delta)
