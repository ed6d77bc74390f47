"""Image: a week of digits read by lab 00's CNN, a scanner change, adversarial digits, and the
monitors that tell them apart.

The week's traffic is test digits (drawn with replacement, so every hour is ordinary); on the
drift day a scanner with another brightness and contrast (:func:`scanner_change`) sends them; on
the attack day a share of each hour's digits is replaced by adversarial digits
(:func:`pgd_digits`, a seeded torch PGD). Every digit is scored once (:func:`digit_bank`), so
the monitors of a window only look up numbers: the digits' mean intensity (input drift, PSI), a
multivariate two-sample test on their principal components (input drift), the shares of
predicted classes (prediction drift), their confidence, and feature squeezing (Xu et al. 2018):
the L1 distance between the model's probabilities on a digit and on its squeezed versions
(bit-depth reduction to 1 bit, a 2x2 median filter), large for adversarial digits and small for
honest ones, scanned or not.

Introduced in lab 13 (Monitoring and response).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F  # noqa: N812 (torch's convention)

from ..stats import Rate, proportion
from ..validate import (
    ArgumentTypeError,
    check_eps,
    check_fitted,
    check_images,
    check_int,
    check_labels,
    check_number,
    check_seed,
)
from . import common
from .results import AdaptiveImageAttack, DigitBank, SqueezeScores

__all__ = [
    "INK_LEVEL",
    "attack_damage",
    "digit_bank",
    "image_monitors",
    "image_week",
    "paced_attack",
    "pgd_digits",
    "scanner_change",
    "squeeze_bit_depth",
    "squeeze_median",
    "squeeze_scores",
    "squeeze_threshold",
]

INK_LEVEL = 0.5
"""A pixel darker than this counts as ink (:attr:`SqueezeScores.ink`)."""


def _model(system):
    check_fitted(system)
    model = getattr(system, "model", None)
    if not isinstance(model, torch.nn.Module):
        raise ArgumentTypeError("system must be the course's digit reader (systems.DigitsCNN), "
                                f"got {type(system).__name__}")
    return model.eval()


def scanner_change(images: object, *, brightness: float = 0.1,
                   contrast: float = 0.8) -> np.ndarray:
    """The same digits from another scanner: ``brightness + contrast * pixel``, clipped to
    [0, 1] (the default: a grey background of 0.1 and strokes at most 0.9). Ordinary drift: the
    digits are as legible as before.

    Introduced in lab 13 (Monitoring and response).
    """
    X = check_images(images, "images")
    brightness = check_number(brightness, "brightness", low=-1.0, high=1.0)
    contrast = check_number(contrast, "contrast", low=0.0, high=2.0, low_open=True)
    return np.clip(brightness + contrast * X, 0.0, 1.0).astype(np.float32)


def _bits(t: torch.Tensor, bits: int) -> torch.Tensor:
    levels = 2 ** bits - 1
    return torch.round(t * levels) / levels


def _median(t: torch.Tensor, size: int) -> torch.Tensor:
    # A size x size median filter (the window starts at the pixel; the right and bottom edges
    # repeat the last pixel), the mean of the two middle values for an even window. By hand in
    # torch: scipy.ndimage.median_filter takes the upper middle value for an even window, and
    # the squeezer must run inside the same batch as the model.
    padded = F.pad(t, (0, size - 1, 0, size - 1), mode="replicate")
    windows = padded.unfold(2, size, 1).unfold(3, size, 1).reshape(*t.shape, size * size)
    ordered = windows.sort(dim=-1).values
    k = size * size
    return (ordered[..., (k - 1) // 2] + ordered[..., k // 2]) / 2


def squeeze_bit_depth(images: object, bits: int = 1) -> np.ndarray:
    """Feature squeezing's bit-depth reduction: every pixel rounded to ``bits`` bits (1 bit:
    black or white at 0.5).

    Introduced in lab 13 (Monitoring and response).
    """
    X = torch.as_tensor(check_images(images, "images"))
    return _bits(X, check_int(bits, "bits", minimum=1, maximum=8)).numpy()


def squeeze_median(images: object, size: int = 2) -> np.ndarray:
    """Feature squeezing's median filter: each pixel replaced by the median of the ``size`` x
    ``size`` window that starts at it (edges repeated).

    Introduced in lab 13 (Monitoring and response).
    """
    X = torch.as_tensor(check_images(images, "images"))
    return _median(X, check_int(size, "size", minimum=2, maximum=5)).numpy()


def squeeze_scores(system, images: object, *, bits: int = 1, median: int = 2,
                   batch_size: int = 1000) -> SqueezeScores:
    """Score every digit once: feature squeezing's score (Xu et al. 2018: the larger of the L1
    distances between the model's probabilities on the digit and on its bit-depth-reduced and
    median-filtered versions; between 0 and 2), the top-class confidence, the predicted class,
    the mean intensity and the share of ink pixels (above :data:`INK_LEVEL`). Returns a
    :class:`~.results.SqueezeScores`.

    Introduced in lab 13 (Monitoring and response).
    """
    model = _model(system)
    X = check_images(images, "images")
    bits = check_int(bits, "bits", minimum=1, maximum=8)
    median = check_int(median, "median", minimum=2, maximum=5)
    batch_size = check_int(batch_size, "batch_size")
    device = next(model.parameters()).device
    parts = []
    with torch.inference_mode():
        for start in range(0, len(X), batch_size):
            t = torch.as_tensor(X[start:start + batch_size]).to(device)
            p = torch.softmax(model(t), 1)
            pb = torch.softmax(model(_bits(t, bits)), 1)
            pm = torch.softmax(model(_median(t, median)), 1)
            score = torch.maximum((p - pb).abs().sum(1), (p - pm).abs().sum(1))
            conf, pred = p.max(1)
            parts.append((score.cpu().numpy(), conf.cpu().numpy(), pred.cpu().numpy()))
    flat = X.reshape(len(X), -1)
    if not parts:
        empty = np.zeros(0)
        return SqueezeScores(empty, empty, empty.astype(np.int64), empty, empty)
    return SqueezeScores(
        squeeze=np.concatenate([p[0] for p in parts]).astype(np.float64),
        confidence=np.concatenate([p[1] for p in parts]).astype(np.float64),
        predicted=np.concatenate([p[2] for p in parts]).astype(np.int64),
        intensity=flat.mean(1).astype(np.float64),
        ink=(flat > INK_LEVEL).mean(1).astype(np.float64),
    )


def pgd_digits(system, images: object, labels: object, eps: float = 0.2, steps: int = 10, *,
               seed: int = 0, batch_size: int = 500) -> np.ndarray:
    """Untargeted L-infinity PGD (Madry et al. 2018) on the digit reader: a random start in the
    eps-ball, then ``steps`` signed-gradient steps of ``2.5 * eps / steps`` on the
    cross-entropy, each projected back into the ball and [0, 1]. Lab 02's ``art_pgd`` computes
    the same attack through ART; this torch loop skips ART's import and estimator (about 1.5 s),
    which matters in a section's time budget. Seeded: the same ``seed`` gives the same digits,
    and global generators are left as they were.

    Introduced in lab 13 (Monitoring and response).
    """
    model = _model(system)
    X = check_images(images, "images")
    y = check_labels(labels, len(X), "labels", n_classes=10)
    eps = check_eps(eps)
    steps = check_int(steps, "steps")
    seed = check_seed(seed)
    batch_size = check_int(batch_size, "batch_size")
    if eps == 0 or len(X) == 0:
        return X.copy()
    device = next(model.parameters()).device
    step = 2.5 * eps / steps
    gen = torch.Generator().manual_seed(seed)
    out = []
    for start in range(0, len(X), batch_size):
        x0 = torch.as_tensor(X[start:start + batch_size])
        target = torch.as_tensor(y[start:start + batch_size]).to(device)
        noise = torch.empty(x0.shape).uniform_(-eps, eps, generator=gen)
        x0 = x0.to(device)
        xa = (x0 + noise.to(device)).clamp(0.0, 1.0)
        for _ in range(steps):
            xa.requires_grad_(True)
            loss = F.cross_entropy(model(xa), target)
            (grad,) = torch.autograd.grad(loss, xa)
            xa = torch.minimum(torch.maximum(xa.detach() + step * grad.sign(), x0 - eps),
                               x0 + eps).clamp(0.0, 1.0)
        out.append(xa.detach().cpu().numpy())
    return np.concatenate(out).astype(np.float32)


def digit_bank(system, images: object, labels: object, projection=None, *,
               squeeze: bool = True) -> DigitBank:
    """Digits with everything the monitors need about each, computed once: the
    :func:`squeeze_scores` (``squeeze=False`` skips the two squeezed passes and leaves the
    squeezing scores NaN: for the reference digits) and the principal components
    (``projection``: a fitted scikit-learn transformer such as ``PCA``, applied to the
    flattened pixels; ``None`` keeps no features). Returns a :class:`~.results.DigitBank`.

    Introduced in lab 13 (Monitoring and response).
    """
    X = check_images(images, "images")
    y = check_labels(labels, len(X), "labels", n_classes=10)
    if squeeze:
        scores = squeeze_scores(system, X)
    else:
        p = system.predict_proba(X) if len(X) else np.zeros((0, 10))
        flat = X.reshape(len(X), -1)
        scores = SqueezeScores(np.full(len(X), np.nan), p.max(1).astype(np.float64),
                               p.argmax(1).astype(np.int64), flat.mean(1).astype(np.float64),
                               (flat > INK_LEVEL).mean(1).astype(np.float64))
    features = (np.zeros((len(X), 0)) if projection is None
                else np.asarray(projection.transform(X.reshape(len(X), -1)), dtype=np.float64))
    return DigitBank(X, y, scores, features)


_FIELDS = ("squeeze", "confidence", "predicted", "intensity", "ink")


def _window(hour: int, bank: DigitBank, idx: np.ndarray) -> common.Window:
    meta = {f: getattr(bank.scores, f)[idx] for f in _FIELDS}
    meta["features"] = bank.features[idx]
    meta["is_adversarial"] = np.zeros(len(idx), dtype=bool)
    return common.Window(hour, bank.images[idx], bank.labels[idx], meta=meta)


def _with_adversarial(window: common.Window, bank: DigitBank,
                      idx: np.ndarray) -> common.Window:
    # the window with its first len(idx) digits replaced by the bank's digits idx
    k = len(idx)
    adv = _window(window.hour, bank, idx)
    meta = {}
    for key, value in window.meta.items():
        value = value.copy()
        value[:k] = True if key == "is_adversarial" else adv.meta[key]
        meta[key] = value
    images, labels = window.X.copy(), np.asarray(window.y_true).copy()
    images[:k], labels[:k] = adv.X, adv.y_true
    return common.Window(window.hour, images, labels, meta=meta)


def _subset(bank: DigitBank, keep: np.ndarray) -> DigitBank:
    s = bank.scores
    return DigitBank(bank.images[keep], bank.labels[keep],
                     SqueezeScores(*(getattr(s, f)[keep] for f in _FIELDS)),
                     bank.features[keep])


def _per_hour(adversarial_per_hour, attack_hours: range) -> dict[int, int]:
    if isinstance(adversarial_per_hour, Mapping):
        plan = {check_int(h, "hour", minimum=0): check_int(k, "adversarial digits", minimum=0)
                for h, k in adversarial_per_hour.items()}
    else:
        k = check_int(adversarial_per_hour, "adversarial_per_hour", minimum=0)
        plan = dict.fromkeys(attack_hours, k)
    return {h: k for h, k in plan.items() if k}


def image_week(clean: DigitBank, drifted: DigitBank | None = None,
               adversarial: DigitBank | None = None, *, seed: int = 0, per_hour: int = 40,
               drift_hours: range | None = range(48, 72),
               attack_hours: range | None = range(96, 120),
               adversarial_per_hour: int | Mapping[int, int] = 4,
               attack_name: str = "adversarial digits") -> common.Week:
    """The image week: ``per_hour`` digits an hour for :data:`~.common.HOURS` hours, drawn with
    replacement from ``clean`` (from ``drifted``, the same digits through another scanner,
    during ``drift_hours``); during ``attack_hours`` the first ``adversarial_per_hour`` digits
    of each hour (an int, or a dict hour -> count for a paced attacker, whose hours may be any)
    are replaced by digits of ``adversarial``, taken in order (cycling when all were used).
    The ordinary draws depend on ``seed`` only, so two weeks with the same seed and different
    attacks have the same honest traffic.

    Each window's ``X`` holds the digits, ``y_true`` their true labels, and ``meta`` the looked-up
    scores (``"squeeze"``, ``"confidence"``, ``"predicted"``, ``"intensity"``, ``"ink"``,
    ``"features"``) and the truth the monitors do not read (``"is_adversarial"``).

    Introduced in lab 13 (Monitoring and response).
    """
    seed = check_seed(seed)
    per_hour = check_int(per_hour, "per_hour", minimum=5)
    if drift_hours is not None and drifted is None:
        raise ValueError("drift_hours needs the drifted bank (or pass drift_hours=None)")
    plan = {}
    if adversarial is not None and attack_hours is not None or isinstance(
            adversarial_per_hour, Mapping):
        if adversarial is None:
            raise ValueError("an attack plan needs the adversarial bank")
        plan = _per_hour(adversarial_per_hour, attack_hours or range(0))
    if any(k > per_hour for k in plan.values()):
        raise ValueError(f"adversarial_per_hour cannot exceed per_hour ({per_hour})")
    if any(h >= common.HOURS for h in plan):
        raise ValueError(f"attack hours must lie in 0..{common.HOURS - 1}")
    if adversarial is not None and plan and len(adversarial.labels) == 0:
        raise ValueError("the adversarial bank is empty")
    rng = np.random.default_rng([seed, 13])
    used = 0
    windows = []
    for hour in range(common.HOURS):
        bank = drifted if drift_hours is not None and hour in drift_hours else clean
        window = _window(hour, bank, rng.integers(0, len(bank.labels), per_hour))
        k = plan.get(hour, 0)
        if k:
            window = _with_adversarial(window, adversarial,
                                       (used + np.arange(k)) % len(adversarial.labels))
            used += k
        windows.append(window)
    incidents = []
    if drift_hours is not None:
        incidents.append(common.Incident(
            "scanner change", "drift", drift_hours.start, drift_hours.stop,
            "a new scanner: brightness +0.1, contrast x0.8; the digits are as legible"))
    if plan:
        hours = sorted(plan)
        incidents.append(common.Incident(
            attack_name, "attack", hours[0], hours[-1] + 1,
            f"{sum(plan.values())} adversarial digits (PGD) among the traffic, "
            f"{min(plan.values())}-{max(plan.values())} an hour"))
    return common.Week("image", tuple(windows), tuple(incidents))


def squeeze_threshold(week: common.Week, rate: float = 0.01) -> float:
    """The per-digit threshold of feature squeezing: the squeezing score that at most ``rate``
    of the digits served in the week's benign hours exceed (Xu et al. choose theirs on
    legitimate digits at a stated false-positive rate, as here).

    Introduced in lab 13 (Monitoring and response).
    """
    if not isinstance(week, common.Week):
        raise ArgumentTypeError(f"week must be a Week, got {type(week).__name__}")
    values = np.concatenate([week.windows[h].meta["squeeze"] for h in week.benign_hours])
    return common.calibrate(values, rate)


def image_monitors(reference: DigitBank, squeeze_limit: float, *, seed: int = 0,
                   low_confidence: float = 0.9) -> list[common.Monitor]:
    """The image week's five monitors, each comparing a window with ``reference`` (the
    training digits, scored by :func:`digit_bank` with ``squeeze=False``):

    - ``intensity PSI`` (input): :func:`~.common.psi` of the digits' mean intensity;
    - ``pixels two-sample AUC`` (input): :func:`~.common.multivariate_drift` on the principal
      components;
    - ``class shares PSI`` (prediction): :func:`~.common.psi_categorical` of the predicted
      classes over the ten digits;
    - ``low confidence`` (prediction): the share of digits read with confidence below
      ``low_confidence``;
    - ``feature squeezing`` (attack): the share of digits whose squeezing score exceeds
      ``squeeze_limit`` (:func:`squeeze_threshold`).

    Introduced in lab 13 (Monitoring and response).
    """
    if not isinstance(reference, DigitBank):
        raise ArgumentTypeError(f"reference must be a DigitBank, got {type(reference).__name__}")
    if reference.features.shape[1] == 0:
        raise ValueError("reference has no features: build it with a projection (PCA)")
    squeeze_limit = check_number(squeeze_limit, "squeeze_limit", low=0.0, high=2.0)
    low_confidence = check_number(low_confidence, "low_confidence", low=0.0, high=1.0,
                                  low_open=True, high_open=True)
    seed = check_seed(seed)
    ref = reference.scores
    classes = list(range(10))

    def intensity(w):
        return common.psi(ref.intensity, w.meta["intensity"])

    def two_sample(w):
        return common.multivariate_drift(reference.features, w.meta["features"], seed=seed,
                                         max_reference=400)

    def shares(w):
        return common.psi_categorical(ref.predicted, w.meta["predicted"], classes)

    def confidence(w):
        return float(np.mean(w.meta["confidence"] < low_confidence))

    def squeezing(w):
        return float(np.mean(w.meta["squeeze"] > squeeze_limit))

    return [
        common.Monitor("intensity PSI", intensity, "input",
                       "PSI of the digits' mean pixel intensity against the training digits"),
        common.Monitor("pixels two-sample AUC", two_sample, "input",
                       "AUC of a classifier telling the window's digits from training digits "
                       "(principal components)"),
        common.Monitor("class shares PSI", shares, "prediction",
                       "PSI of the shares of predicted classes against the training digits'"),
        common.Monitor("low confidence", confidence, "prediction",
                       f"share of digits read with confidence below {low_confidence:g}"),
        common.Monitor("feature squeezing", squeezing, "attack",
                       "share of digits whose prediction moves under squeezing (Xu et al. "
                       "2018) by more than the per-digit threshold"),
    ]


def attack_damage(week: common.Week, respond_from: int | None = None, *,
                  squeeze_limit: float | None = None) -> Rate:
    """The share of the week's adversarial digits answered wrongly (misread by the model), over
    those digits. With a response from hour ``respond_from`` on (the hour after the first
    alert), each digit whose squeezing score exceeds ``squeeze_limit`` is held for a person to
    read instead of being answered, so an adversarial digit then counts only when the squeezer
    let it through and the model misread it.

    Introduced in lab 13 (Monitoring and response).
    """
    if not isinstance(week, common.Week):
        raise ArgumentTypeError(f"week must be a Week, got {type(week).__name__}")
    if respond_from is not None:
        respond_from = check_int(respond_from, "respond_from", minimum=0)
        if squeeze_limit is None:
            raise ValueError("a response needs squeeze_limit (the per-digit threshold)")
        squeeze_limit = check_number(squeeze_limit, "squeeze_limit", low=0.0, high=2.0)
    wrong = 0
    sent = 0
    for w in week.windows:
        adv = w.meta["is_adversarial"]
        if not adv.any():
            continue
        misread = w.meta["predicted"][adv] != np.asarray(w.y_true)[adv]
        if respond_from is not None and w.hour >= respond_from:
            misread &= w.meta["squeeze"][adv] <= squeeze_limit
        wrong += int(misread.sum())
        sent += int(adv.sum())
    if sent == 0:
        raise ValueError("the week has no adversarial digit")
    what = "answered wrongly" + ("" if respond_from is None else
                                 f" (response from hour {respond_from})")
    return proportion(wrong, sent, on=f"{sent} adversarial digits, {what}")


def paced_attack(clean: DigitBank, drifted: DigitBank | None, adversarial: DigitBank,
                 monitors: Iterable[common.Monitor], thresholds: Mapping[str, float],
                 squeeze_limit: float, *, seed: int = 0, hours: range = range(72, 168),
                 max_per_hour: int = 4, per_hour: int = 40,
                 drift_hours: range | None = range(48, 72),
                 unpaced_misread: int = 0) -> tuple[AdaptiveImageAttack, common.Week]:
    """The adaptive attacker. It knows the model (white-box, as in lab 02), feature squeezing
    with its per-digit threshold ``squeeze_limit``, and every monitor's hourly threshold. It
    keeps only its adversarial digits that the model misreads and that squeezing does not flag,
    so the attack monitor cannot see them; then, hour by hour over ``hours``, it sends the most
    of them (at most ``max_per_hour``, resent in turn) that raise no alert the same hour without
    them would not raise. It is given each hour's honest traffic to check against: the
    strongest attacker of this kind, so what it achieves bounds what a real one does. Returns
    the :class:`~.results.AdaptiveImageAttack` (with ``unpaced_misread`` for comparison) and its
    week (same ``seed``, so the same honest traffic as the monitored week).

    Introduced in lab 13 (Monitoring and response).
    """
    monitors = list(common.check_monitors(monitors))
    thresholds = dict(thresholds)
    if set(thresholds) != {m.name for m in monitors}:
        raise ValueError("thresholds must name exactly the monitors")
    squeeze_limit = check_number(squeeze_limit, "squeeze_limit", low=0.0, high=2.0)
    max_per_hour = check_int(max_per_hour, "max_per_hour", minimum=1, maximum=per_hour)
    s = adversarial.scores
    keep = np.flatnonzero((s.predicted != adversarial.labels) & (s.squeeze <= squeeze_limit))
    if len(keep) == 0:
        raise ValueError("no adversarial digit is both misread and unflagged by squeezing")
    survivors = _subset(adversarial, keep)
    base = image_week(clean, drifted, None, seed=seed, per_hour=per_hour,
                      drift_hours=drift_hours, attack_hours=None)

    def fired(window: common.Window) -> set[str]:
        return {m.name for m in monitors if m(window) > thresholds[m.name]}

    plan: dict[int, int] = {}
    used = 0
    held_back = 0
    for hour in hours:
        honest = base.windows[hour]
        allowed = fired(honest)
        for k in range(max_per_hour, 0, -1):
            idx = (used + np.arange(k)) % len(survivors)
            if fired(_with_adversarial(honest, survivors, idx)) <= allowed:
                plan[hour] = k
                used += k
                break
        held_back += plan.get(hour, 0) < max_per_hour
    if not plan:
        raise ValueError("every hour's first adversarial digit raises an alert")
    week = image_week(clean, drifted, survivors, seed=seed, per_hour=per_hour,
                      drift_hours=drift_hours, adversarial_per_hour=plan,
                      attack_name="paced adversarial digits")
    hours_list = list(hours)
    new = common.new_alerts(_frame_on(week, monitors, hours_list),
                            _frame_on(base, monitors, hours_list), thresholds)
    dmg = attack_damage(week)
    return AdaptiveImageAttack(
        crafted=len(adversarial.labels), survivors=len(keep), max_per_hour=max_per_hour,
        hours=len(hours_list), held_back_hours=int(held_back), sent=dmg.n,
        misread=int(dmg.successes), alerts=len(new), success=dmg,
        unpaced_misread=int(unpaced_misread)), week


def _frame_on(week: common.Week, monitors, hours) -> pd.DataFrame:
    # the monitors on the given hours only (the others are the same in every variant of the
    # week), in a frame indexed like run_monitors'
    frame = pd.DataFrame([[m(week.windows[h]) for m in monitors] for h in hours],
                         columns=[m.name for m in monitors], dtype=float)
    frame.index = pd.Index(list(hours), name="hour")
    return frame
