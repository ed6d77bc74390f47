"""Lab 08's image domain: attributions that find a backdoor's trigger in the digit reader, a
detector built on them, and an input perturbation that moves them away while the backdoor
still fires.

* :func:`digit_trigger_mask`: the 3x3 patch around lab 03's BadNets trigger;
* :func:`digit_attributions`: captum's saliency, integrated gradients (with a black, blurred
  or uniform-noise baseline) or input-times-gradient of a fitted ``DigitsCNN``;
* :func:`digit_window_concentration`: the largest share of an attribution map's mass in any
  small square window (a defender who does not know where a trigger would be);
* :func:`detect_concentrated_digits`: the detector that flags inputs whose attribution
  concentrates in a small window, calibrated on clean digits, with its detection and false-alarm
  rates;
* :func:`saliency_shift_attack`: a Dombrowski et al. (2019) style perturbation, bounded in
  L-infinity and kept off the trigger, that moves the saliency out of the trigger patch while
  the prediction stays (double backpropagation through a softplus copy of the CNN).

Introduced in lab 08 (Explainability).
"""

from __future__ import annotations

import copy

import numpy as np

from .. import repro
from ..stats import mean_interval, proportion
from ..validate import (
    check_array,
    check_choice,
    check_eps,
    check_fitted,
    check_fraction,
    check_images,
    check_int,
    check_labels,
    check_number,
    check_positive,
    check_seed,
)
from .results import DigitSaliencyAttack, DigitTriggerDetection

__all__ = ["DIGIT_IG_BASELINES", "detect_concentrated_digits", "digit_attributions",
           "digit_share_interval", "digit_trigger_mask", "digit_window_concentration",
           "saliency_shift_attack"]

DIGIT_IG_BASELINES = ("black", "blur", "uniform")
"""The integrated-gradients baselines :func:`digit_attributions` offers: an all-black image,
the input blurred (Gaussian, sigma 5 pixels; Sturmfels et al., Distill 2020) or uniform noise in
[0, 1] (seeded). Introduced in lab 08 (Explainability)."""

_METHODS = ("saliency", "integrated_gradients", "input_x_gradient")


def digit_trigger_mask(side: int = 28, distance: int = 2) -> np.ndarray:
    """The (side, side) boolean mask of the 3x3 patch that holds lab 03's BadNets trigger
    (``poisoning.stamp_trigger`` with the same ``distance``): rows and columns
    ``side - distance - 2`` to ``side - distance``.

    Introduced in lab 08 (Explainability).
    """
    side = check_int(side, "side", 5)
    distance = check_int(distance, "distance", 1)
    if distance + 2 >= side:
        raise ValueError(f"distance {distance} puts the trigger outside {side}x{side} images")
    mask = np.zeros((side, side), dtype=bool)
    mask[side - distance - 2: side - distance + 1, side - distance - 2: side - distance + 1] = True
    return mask


def digit_share_interval(shares, *, seed: int = 0, n_boot: int = 2000,
                         confidence: float = 0.95) -> tuple[float, float, float]:
    """The mean of per-image shares (e.g. ``patch_mass_share``) with a percentile bootstrap
    interval over images: ``(mean, low, high)``. (:func:`~mlsec_helpers.stats.mean_interval`, as a
    tuple.)

    Introduced in lab 08 (Explainability).
    """
    n_boot = check_int(n_boot, "n_boot", 100)
    r = mean_interval(shares, seed=seed, n_boot=n_boot, confidence=confidence)
    return r.value, r.low, r.high


def _digit_model(system):
    check_fitted(system)
    model = getattr(system, "model", None)
    if model is None or not hasattr(system, "image_shape"):
        raise ValueError("system must be a fitted DigitsCNN (it has no torch model)")
    return model


def _ig_baseline(X: np.ndarray, baseline: str, seed: int) -> np.ndarray:
    from scipy import ndimage

    if baseline == "black":
        return np.zeros_like(X)
    if baseline == "blur":
        return ndimage.gaussian_filter(X, sigma=(0, 0, 5, 5)).astype(np.float32)
    return repro.rng(seed).uniform(0, 1, X.shape).astype(np.float32)


def digit_attributions(system, X, *, method: str = "saliency", target=None,
                       baseline: str = "black", n_steps: int = 32, seed: int = 0) -> np.ndarray:
    """Attribution maps (n, H, W) of a fitted ``DigitsCNN`` for images ``X`` (n, 1, H, W).

    ``method`` is one of captum's ``"saliency"`` (absolute input gradient of the target logit),
    ``"integrated_gradients"`` (Riemann/Gauss-Legendre path integral from ``baseline``, one of
    :data:`DIGIT_IG_BASELINES`, in ``n_steps`` steps; signed) or ``"input_x_gradient"``
    (signed). ``target`` is the class explained per image (an int, or one per image); by
    default the model's own prediction. ``seed`` draws the uniform-noise baseline.

    Introduced in lab 08 (Explainability).
    """
    import torch
    from captum.attr import InputXGradient, IntegratedGradients, Saliency

    model = _digit_model(system)
    X = check_images(X)
    if X.shape[1:] != tuple(system.image_shape):
        raise ValueError(f"X images must be {tuple(system.image_shape)}, got {X.shape[1:]}")
    method = check_choice(method, _METHODS, "method")
    baseline = check_choice(baseline, DIGIT_IG_BASELINES, "baseline")
    n_steps = check_int(n_steps, "n_steps", 2)
    seed = check_seed(seed)
    X = np.ascontiguousarray(X, dtype=np.float32)
    if target is None:
        target = np.asarray(system.predict(X))
    elif np.ndim(target) == 0:
        target = np.full(len(X), check_int(target, "target", 0, 9))
    else:
        target = check_labels(target, len(X), "target", n_classes=10)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        xs = torch.from_numpy(X).to(device).requires_grad_(True)
        ts = torch.as_tensor(np.asarray(target, dtype=np.int64), device=device)
        if method == "saliency":
            out = Saliency(model).attribute(xs, target=ts, abs=True)
        elif method == "input_x_gradient":
            out = InputXGradient(model).attribute(xs, target=ts)
        else:
            base = torch.from_numpy(_ig_baseline(X, baseline, seed)).to(device)
            out = IntegratedGradients(model).attribute(
                xs, baselines=base, target=ts, n_steps=n_steps,
                internal_batch_size=max(len(X), 1) * 8)
    finally:
        model.train(was_training)
    return out.detach().cpu().numpy()[:, 0].astype(np.float64)


def digit_window_concentration(attributions, window: int = 3) -> np.ndarray:
    """For attribution maps (n, H, W), the largest share of each map's absolute mass that falls
    in any ``window`` x ``window`` square: a trigger's footprint without knowing where it is
    (for the known patch, use ``patch_mass_share``). 0 for an all-zero map.

    Introduced in lab 08 (Explainability).
    """
    a = np.abs(check_array(attributions, "attributions", ndim=3, dtype=np.float64))
    window = check_int(window, "window", 1, min(a.shape[1:]))
    # Summed-area table: every window's mass in one pass (scipy's uniform_filter would pad the
    # borders, and a trigger sits next to one).
    c = np.pad(a.cumsum(1).cumsum(2), ((0, 0), (1, 0), (1, 0)))
    w = window
    sums = c[:, w:, w:] - c[:, :-w, w:] - c[:, w:, :-w] + c[:, :-w, :-w]
    total = a.reshape(len(a), -1).sum(1)
    best = sums.reshape(len(a), -1).max(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, best / total, 0.0)


def detect_concentrated_digits(calibration, clean, triggered, *, window: int = 3,
                               false_alarm_target: float = 0.02) -> DigitTriggerDetection:
    """Flag inputs whose attribution concentrates in a small window.

    The threshold is the ``1 - false_alarm_target`` quantile of the window concentration
    (:func:`digit_window_concentration`) of the ``calibration`` maps (clean digits the defender
    holds); the detection rate is measured on the ``triggered`` maps and the false-alarm rate
    on the ``clean`` maps, a set disjoint from the calibration one. All three are (n, H, W).

    Introduced in lab 08 (Explainability).
    """
    false_alarm_target = check_fraction(false_alarm_target, "false_alarm_target",
                                        allow_zero=False)
    cal = digit_window_concentration(calibration, window)
    s_clean = digit_window_concentration(clean, window)
    s_trig = digit_window_concentration(triggered, window)
    threshold = float(np.quantile(cal, 1 - false_alarm_target))
    flag_clean, flag_trig = s_clean > threshold, s_trig > threshold
    return DigitTriggerDetection(
        threshold=threshold, scores_clean=s_clean, scores_triggered=s_trig,
        detection=proportion(flag_trig, on=f"{len(flag_trig)} triggered digits"),
        false_alarms=proportion(flag_clean, on=f"{len(flag_clean)} clean digits"))


def _softplus_copy(model, beta: float):
    """A copy of the CNN whose ReLUs are softplus(beta): a ReLU network's input gradient is
    piecewise constant, so its own gradient (needed to move a saliency map) is zero almost
    everywhere; Dombrowski et al. (2019) attack the softplus surrogate instead."""
    import torch

    twin = copy.deepcopy(model)
    for parent in twin.modules():
        for name, child in parent.named_children():
            if isinstance(child, torch.nn.ReLU):
                setattr(parent, name, torch.nn.Softplus(beta=beta))
    return twin.eval()


def saliency_shift_attack(system, X, target: int, mask, *, eps: float = 0.1, steps: int = 30,
                          beta: float = 10.0, keep_weight: float = 1.0) -> DigitSaliencyAttack:
    """Perturb images ``X`` (n, 1, H, W) within an L-infinity ball of radius ``eps``, leaving the
    pixels in ``mask`` (H, W) untouched, so that the saliency of class ``target`` moves out of
    ``mask`` while the model still predicts ``target``.

    Dombrowski et al. (NeurIPS 2019): signed-gradient steps (``steps`` of them, step eps/8) on
    ``share of |d logit_target / dx| inside mask + keep_weight * cross-entropy(target)``,
    computed by double backpropagation through a copy of the CNN whose ReLUs are
    softplus(``beta``). No library implements attacks on explanations (captum explains, ART
    attacks predictions), hence the hand-written loop. Deterministic (no random start).
    Returns a :class:`~mlsec_helpers.explain.DigitSaliencyAttack`; the success is measured on
    the real (ReLU) model.

    Introduced in lab 08 (Explainability).
    """
    import torch

    model = _digit_model(system)
    X = check_images(X)
    target = check_int(target, "target", 0, 9)
    m = np.asarray(mask, dtype=bool)
    if m.shape != X.shape[2:]:
        raise ValueError(f"mask must be {X.shape[2:]}, got {m.shape}")
    eps = check_eps(eps)
    steps = check_int(steps, "steps", 1)
    beta = check_positive(beta, "beta")
    keep_weight = check_number(keep_weight, "keep_weight", low=0.0)
    device = next(model.parameters()).device
    twin = _softplus_copy(model, beta).to(device)
    for p in twin.parameters():
        p.requires_grad_(False)
    x0 = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(device)
    free = torch.from_numpy(~m).to(device).float()[None, None]
    inside = torch.from_numpy(m).to(device).float()[None, None]
    ts = torch.full((len(X),), target, dtype=torch.long, device=device)
    x = x0.clone()
    step = eps / 8
    for _ in range(steps):
        x.requires_grad_(True)
        logits = twin(x)
        grad, = torch.autograd.grad(logits[:, target].sum(), x, create_graph=True)
        sal = grad.abs()
        share = (sal * inside).flatten(1).sum(1) / sal.flatten(1).sum(1).clamp_min(1e-12)
        loss = share.sum() + keep_weight * torch.nn.functional.cross_entropy(
            logits, ts, reduction="sum")
        g, = torch.autograd.grad(loss, x)
        with torch.no_grad():
            x = x - step * g.sign() * free
            x = torch.min(torch.max(x, x0 - eps), x0 + eps).clamp(0, 1)
    X_adv = x.detach().cpu().numpy()
    kept = np.asarray(system.predict(X_adv)) == np.asarray(system.predict(X))
    return DigitSaliencyAttack(X_adv=X_adv, kept=kept,
                               linf=float(np.abs(X_adv - X).max()) if len(X) else 0.0)
