"""Image: evasion attacks on the digit reader and PGD adversarial training.

Thin, seeded wrappers around adversarial-robustness-toolbox's FGSM, PGD and Square Attack
(:func:`art_fgsm`, :func:`art_pgd`, :func:`square_attack`), each taking the course system
(``systems.DigitsCNN``) and building its ART estimator; the reference FGSM in torch on a bare
module (:func:`fgsm`, the answer of exercise 1); and Madry-style PGD adversarial training
(:func:`pgd_adversarial_training`).

Introduced in lab 02 (Evasion).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .. import repro
from ..validate import (
    ArgumentTypeError,
    check_eps,
    check_fitted,
    check_images,
    check_int,
    check_labels,
)
from .common import progress_bar
from .results import PGDTrace, SquareResult

__all__ = [
    "QuantisedDigits",
    "art_fgsm",
    "art_pgd",
    "fgsm",
    "pgd_adversarial_training",
    "pgd_trace",
    "square_attack",
]


def fgsm(model: nn.Module, X, y, eps: float) -> torch.Tensor:
    """The fast gradient sign method (Goodfellow et al., 2015), untargeted, L-infinity.

    ``X_adv = clip(X + eps * sign(grad_X loss(model(X), y)), 0, 1)``: one step of size ``eps``
    up the cross-entropy loss in every pixel, then back into the valid pixel range. ``X`` is a
    float tensor (n, 1, H, W) in [0, 1], ``y`` the true labels. Returns a new tensor; the model
    is left in evaluation mode. (A building block on a bare torch module: the reference answer
    of the lab's exercise 1.)

    Introduced in lab 02 (Evasion).
    """
    eps = check_eps(eps)
    X = torch.as_tensor(check_images(X))
    y = torch.as_tensor(check_labels(y, len(X)))
    model.eval()
    X = X.clone().requires_grad_(True)
    loss = nn.functional.cross_entropy(model(X), y)
    (grad,) = torch.autograd.grad(loss, X)
    return (X + eps * grad.sign()).clamp(0.0, 1.0).detach()


def _art_estimator(system):
    """The ART classifier of a fitted course system (``system.art_estimator()``)."""
    check_fitted(system)
    if not callable(getattr(system, "art_estimator", None)):
        raise ArgumentTypeError(f"system must be a course classifier with art_estimator(), "
                                f"e.g. a DigitsCNN; got {type(system).__name__}")
    return system.art_estimator()


def art_fgsm(system, X, y, eps: float, batch_size: int = 256) -> np.ndarray:
    """FGSM with adversarial-robustness-toolbox's ``FastGradientMethod`` (L-infinity).

    ``system`` is a fitted image classifier (``systems.DigitsCNN``); the attack runs on its
    ``art_estimator()``. Returns the adversarial images. Introduced in lab 02 (Evasion).
    """
    from art.attacks.evasion import FastGradientMethod

    estimator = _art_estimator(system)
    eps = check_eps(eps)
    X = check_images(X)
    y = check_labels(y, len(X))
    if eps == 0:
        return X.copy()
    attack = FastGradientMethod(estimator, norm=np.inf, eps=eps, eps_step=eps,
                                batch_size=batch_size)
    return attack.generate(X, y=np.eye(estimator.nb_classes, dtype=np.float32)[y])


def art_pgd(system, X, y, eps: float, steps: int = 40, *, eps_step: float | None = None,
            restarts: int = 1, seed: int = 0, batch_size: int = 256) -> np.ndarray:
    """PGD (Madry et al., 2018) with ART's ``ProjectedGradientDescent``, L-infinity.

    ``steps`` iterations of size ``eps_step`` (default ``2.5 * eps / steps``, at least 0.01)
    from ``restarts`` random starts in the eps-ball (``num_random_init``; 0 starts at ``X``);
    ART keeps, per image, a start that fools the model. ``system`` is a fitted image classifier
    (``systems.DigitsCNN``). Seeded: the same ``seed`` gives the same images, and the caller's
    global generators are left as they were. Introduced in lab 02 (Evasion).
    """
    from art.attacks.evasion import ProjectedGradientDescent

    estimator = _art_estimator(system)
    eps = check_eps(eps)
    steps = check_int(steps, "steps")
    restarts = check_int(restarts, "restarts", minimum=0)
    X = check_images(X)
    y = check_labels(y, len(X))
    if eps == 0:
        return X.copy()
    step = max(0.01, 2.5 * eps / steps) if eps_step is None else check_eps(eps_step, "eps_step")
    attack = ProjectedGradientDescent(
        estimator, norm=np.inf, eps=eps, eps_step=step, max_iter=steps,
        num_random_init=restarts, batch_size=batch_size, verbose=False,
    )
    # ART draws its random starts from NumPy's (and torch's) global generators.
    with repro.seeded(seed):
        return attack.generate(X, y=np.eye(estimator.nb_classes, dtype=np.float32)[y])


def pgd_trace(system, X, y, eps: float, steps: int = 100, *, eps_step: float = 0.01,
              restarts: int = 1, seed: int = 0) -> PGDTrace:
    """L-infinity PGD from random starts that records the attack loss after every step.

    The loss curve is the first thing to look at when an attack seems to fail (Carlini et al.,
    2019): a curve that has flattened says more steps will not help; one still rising says
    they might. ART's ``ProjectedGradientDescent`` does not expose the loss per iteration, so
    the loop is written here in torch (the same update as ART's: a signed gradient step of
    ``eps_step``, projected onto the eps-ball and [0, 1]). ``system`` is a fitted image
    classifier with a torch ``model`` (``systems.DigitsCNN``). Returns a :class:`PGDTrace`.
    Introduced in lab 02 (Evasion).
    """
    check_fitted(system)
    model = getattr(system, "model", None)
    if not isinstance(model, nn.Module):
        raise ArgumentTypeError(f"system must be a course image classifier with a torch model, "
                                f"e.g. a DigitsCNN; got {type(system).__name__}")
    eps = check_eps(eps)
    eps_step = check_eps(eps_step, "eps_step")
    steps = check_int(steps, "steps")
    restarts = check_int(restarts, "restarts")
    X0 = torch.as_tensor(check_images(X))
    y = torch.as_tensor(check_labels(y, len(X0)))
    model.eval()
    gen = repro.torch_generator(seed)
    best = X0.clone()
    best_loss = torch.full((len(X0),), -math.inf)
    fooled = torch.zeros(len(X0), dtype=torch.bool)
    curves, shares = np.zeros((restarts, steps + 1)), np.zeros((restarts, steps + 1))
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        for r in range(restarts):
            xa = (X0 + (torch.rand(X0.shape, generator=gen) * 2 - 1) * eps).clamp(0, 1)
            for t in range(steps + 1):
                xa.requires_grad_(True)
                logits = model(xa)
                per_image = nn.functional.cross_entropy(logits, y, reduction="none")
                (grad,) = torch.autograd.grad(per_image.sum(), xa)
                xa, per_image = xa.detach(), per_image.detach()
                now = (logits.argmax(1) != y).detach()
                new = now & ~fooled
                best[new] = xa[new]
                fooled |= now
                last = t == steps
                if last:  # keep the restart with the highest final loss for unfooled images
                    better = ~fooled & (per_image > best_loss)
                    best[better] = xa[better]
                    best_loss = torch.where(better, per_image, best_loss)
                curves[r, t] = float(per_image.mean())
                shares[r, t] = float(fooled.float().mean())
                if not last:
                    xa = torch.min(torch.max(xa + eps_step * grad.sign(), X0 - eps), X0 + eps)
                    xa = xa.clamp(0, 1)
    finally:
        for p in model.parameters():
            p.requires_grad_(True)
    return PGDTrace(X_adv=best.numpy(), success=fooled.numpy(), loss=curves, fooled=shares)


class QuantisedDigits:
    """The lab's challenge: a digit reader that quantises every pixel before the CNN.

    ``predict`` rounds each pixel to one of ``levels`` grey levels and runs the wrapped
    ``systems.DigitsCNN`` on the result. Rounding has zero gradient almost everywhere, so a
    white-box gradient attack on ``model`` (which contains the rounding) sees no gradient and
    fails: gradient masking, not robustness. Breaking it (BPDA: use the identity's gradient for
    the rounding; or a black-box attack) is the student's job. Exposes ``model`` (a torch
    module with the rounding inside), ``predict``, ``predict_proba`` and ``art_estimator()``,
    like the CNN. Introduced in lab 02 (Evasion).
    """

    def __init__(self, cnn, levels: int = 4):
        check_fitted(cnn)
        if not isinstance(getattr(cnn, "model", None), nn.Module):
            raise ArgumentTypeError("cnn must be a fitted systems.DigitsCNN")
        self.cnn = cnn
        self.levels = check_int(levels, "levels", minimum=2)
        self.model = nn.Sequential(_Quantise(self.levels), cnn.model).eval()
        self.image_shape = cnn.image_shape
        self.n_classes = cnn.n_classes
        self.fitted_ = True

    def quantise(self, X) -> np.ndarray:
        """The pixels of ``X`` rounded to the nearest of ``levels`` evenly spaced grey levels."""
        X = check_images(X)
        return (np.round(X * (self.levels - 1)) / (self.levels - 1)).astype(np.float32)

    def predict_proba(self, X) -> np.ndarray:
        return self.cnn.predict_proba(self.quantise(X))

    def predict(self, X) -> np.ndarray:
        return self.predict_proba(X).argmax(1)

    def art_estimator(self):
        """An ART ``PyTorchClassifier`` around the quantising model (its gradients are 0)."""
        from ..systems import art_pytorch_classifier

        return art_pytorch_classifier(self.model, tuple(self.image_shape), self.n_classes,
                                      clip_values=(0.0, 1.0))


class _Quantise(nn.Module):
    def __init__(self, levels: int):
        super().__init__()
        self.levels = levels

    def forward(self, x):
        return torch.round(x * (self.levels - 1)) / (self.levels - 1)


class _QueryLog:
    """ART's ``adv_criterion``, recording per image when it was first fooled."""

    def __init__(self, n: int):
        self.first_fooled = np.full(n, -1)
        self.calls = 0

    def __call__(self, y_pred, y):
        fooled = np.argmax(y_pred, axis=1) != np.argmax(y, axis=1)
        if len(fooled) == len(self.first_fooled):  # a call on the whole batch: one per iteration
            new = fooled & (self.first_fooled < 0)
            self.first_fooled[new] = self.calls
            self.calls += 1
        return fooled


def square_attack(system, X, y, eps: float, max_iter: int = 200, *, p_init: float = 0.8,
                  seed: int = 0, batch_size: int = 256) -> SquareResult:
    """Score-based black-box Square Attack (Andriushchenko et al., 2020) with ART, L-infinity.

    It needs only the model's output probabilities: each iteration changes one random square of
    the image by +-2 eps (projected back into the eps-ball) and keeps the change if the margin
    loss went down. ``system`` is a fitted image classifier (``systems.DigitsCNN``), queried
    through its ``art_estimator()``. Returns a :class:`SquareResult` with the query count of
    every image. Introduced in lab 02 (Evasion).
    """
    from art.attacks.evasion import SquareAttack

    estimator = _art_estimator(system)
    eps = check_eps(eps)
    max_iter = check_int(max_iter, "max_iter")
    X = check_images(X)
    y = check_labels(y, len(X))
    log = _QueryLog(len(X))
    attack = SquareAttack(estimator, norm=np.inf, eps=eps, max_iter=max_iter, p_init=p_init,
                          nb_restarts=1, batch_size=batch_size, adv_criterion=log,
                          verbose=False)
    # ART draws from NumPy's and torch's global generators (its predict too: torch's
    # DataLoader draws a seed from torch's generator on every pass), so all of it runs seeded.
    with repro.seeded(seed):
        X_adv = attack.generate(X, y=np.eye(estimator.nb_classes, dtype=np.float32)[y])
        pred = estimator.predict(X_adv, batch_size=batch_size).argmax(1)
    success = pred != y
    # Call 0 is the clean prediction, call t >= 1 the check before iteration t: an image first
    # fooled at call t cost t + 1 queries (clean + stripes + t - 1 squares); never fooled: all.
    full = log.calls + 1
    queries = np.where(log.first_fooled >= 0, log.first_fooled + 1, full)
    return SquareResult(X_adv=X_adv, success=success, queries=queries)


def pgd_adversarial_training(
    model: nn.Module, X, y, *, eps: float = 0.3, steps: int = 7, epochs: int = 30,
    warmup_epochs: int = 10, batch_size: int = 64, max_lr: float = 2e-3, seed: int = 0,
    progress: bool | str = True,
) -> list[float]:
    """Madry-style PGD adversarial training of a torch image classifier, written out.

    Every batch is replaced by its PGD adversarial version (``steps`` steps of size
    ``2.5 * eps / steps`` from a random start) against the current model, and the model takes
    an Adam step on it. The training eps grows linearly from ``eps / warmup_epochs`` to ``eps``
    over the first ``warmup_epochs`` (small networks trained at eps 0.3 from the start often
    collapse to a constant prediction), and the learning rate follows a one-cycle schedule.

    Written by hand rather than with ART's ``AdversarialTrainerMadryPGD`` because that trainer
    has neither the eps warm-up nor a learning-rate schedule, and draws its random starts from
    NumPy's global generator; this loop takes every random number from ``seed``. Trains
    ``model`` (a bare torch module: a building block) in place and returns the mean adversarial
    loss per epoch. Introduced in lab 02 (Evasion).
    """
    eps = check_eps(eps)
    steps = check_int(steps, "steps")
    epochs = check_int(epochs, "epochs")
    warmup_epochs = check_int(warmup_epochs, "warmup_epochs", minimum=0)
    batch_size = check_int(batch_size, "batch_size")
    X = torch.as_tensor(check_images(X))
    y = torch.as_tensor(check_labels(y, len(X)))
    gen = repro.torch_generator(seed)
    opt = torch.optim.Adam(model.parameters(), lr=max_lr / 25)
    n_batches = math.ceil(len(X) / batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr,
                                                total_steps=epochs * n_batches)
    losses = []
    bar = progress_bar(progress, "PGD training", iterable=range(epochs))
    for epoch in bar:
        eps_now = eps * min(1.0, (epoch + 1) / warmup_epochs) if warmup_epochs else eps
        alpha = max(0.01, 2.5 * eps_now / steps)
        perm = torch.randperm(len(X), generator=gen)
        total = 0.0
        for start in range(0, len(X), batch_size):
            idx = perm[start:start + batch_size]
            xb, yb = X[idx], y[idx]
            model.eval()
            xa = _pgd_torch(model, xb, yb, eps_now, alpha, steps, gen)
            model.train()
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(xa), yb)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        losses.append(total / len(X))
        bar.set_postfix(loss=f"{losses[-1]:.3f}", eps=f"{eps_now:.2f}")
    model.eval()
    return losses


def _pgd_torch(model, X, y, eps, alpha, steps, gen):
    """L-infinity PGD with a random start, in torch (the inner loop of adversarial training)."""
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        xa = (X + (torch.rand(X.shape, generator=gen) * 2 - 1) * eps).clamp(0, 1)
        for _ in range(steps):
            xa.requires_grad_(True)
            loss = nn.functional.cross_entropy(model(xa), y)
            (grad,) = torch.autograd.grad(loss, xa)
            xa = torch.min(torch.max(xa.detach() + alpha * grad.sign(), X - eps), X + eps)
            xa = xa.clamp(0, 1)
    finally:
        for p in model.parameters():
            p.requires_grad_(True)
    return xa.detach()
