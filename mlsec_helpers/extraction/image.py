"""Lab 04's image domain: stealing the digits CNN through its prediction API, and the defences
measured against it (hardened answers, a PRADA query-stream detector, a DAWN watermark).

- the thief's model (:class:`ThiefCNN`) and its training on the API's answers
  (:func:`train_thief`, soft targets at a temperature, a one-cycle schedule);
- the thefts, through adversarial-robustness-toolbox's ``KnockoffNets`` (probabilities) and
  ``CopycatCNN`` (labels) with the victim behind a :class:`~.common.PredictionAPI`
  (:func:`steal`), and how good a copy is (:func:`copy_quality`);
- a query pool from another distribution (:func:`upscaled_sklearn_digits`);
- the query streams of a thief who makes synthetic queries (:func:`synthetic_queries`) and
  of one who disguises them (:func:`disguised_queries`), and the PRADA detector over a stream
  (:func:`nearest_same_class_distances`, :func:`prada_scan`, :func:`calibrate_prada`);
- the DAWN watermark (:class:`DawnAPI`), the ownership test (:func:`ownership_test`) and the
  thief who distils the stolen model to shed it (:func:`distil`);
- what a defence costs an honest user (:func:`answer_cost`).

Introduced in lab 04 (Model theft).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..repro import device, seeded, torch_generator
from ..stats import Rate, proportion
from ..validate import (
    ArgumentTypeError,
    check_array,
    check_choice,
    check_fraction,
    check_images,
    check_int,
    check_labels,
    check_number,
    check_positive,
    check_seed,
)
from .common import PredictionAPI, fidelity

__all__ = [
    "ATTACKS",
    "AnswerCost",
    "CachedVictim",
    "CopyQuality",
    "DawnAPI",
    "OwnershipTest",
    "PradaCalibration",
    "PradaScan",
    "Theft",
    "ThiefCNN",
    "Watermark",
    "answer_cost",
    "calibrate_prada",
    "copy_quality",
    "disguised_queries",
    "distil",
    "nearest_same_class_distances",
    "ownership_test",
    "prada_scan",
    "steal",
    "synthetic_queries",
    "train_thief",
    "upscaled_sklearn_digits",
]

ATTACKS: tuple[str, ...] = ("knockoff", "copycat")
"""The thefts :func:`steal` runs: adversarial-robustness-toolbox's ``KnockoffNets`` (random
sampling, the thief keeps the probabilities) and ``CopycatCNN`` (the thief keeps the top-1
label only). Introduced in lab 04 (Model theft)."""


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Theft:
    """A model stolen through a prediction API.

    Introduced in lab 04 (Model theft).
    """

    model: nn.Module
    """The stolen copy (a :class:`ThiefCNN`, in evaluation mode)."""
    attack: str
    """The ART attack that stole it (``KnockoffNets`` or ``CopycatCNN``)."""
    access: str
    """What the API answered (one of ``extraction.OUTPUTS``)."""
    queries: int
    """Queries the API counted for this theft."""
    X: np.ndarray
    """The queries the thief sent, in order."""
    answers: np.ndarray
    """The API's answers, one row per query."""


@dataclass(frozen=True)
class CopyQuality:
    """How good a stolen copy is on an evaluation set.

    Introduced in lab 04 (Model theft).
    """

    fidelity: Rate
    """Share of inputs on which the copy's label is the victim's (with its Wilson interval)."""
    accuracy: Rate
    """Share of inputs on which the copy's label is the true one."""


@dataclass(frozen=True)
class PradaScan:
    """The PRADA detector run over one query stream.

    Introduced in lab 04 (Model theft).
    """

    queries: np.ndarray
    """The points of the stream (queries seen so far) at which the statistic was computed."""
    w: np.ndarray
    """Shapiro-Wilk's W of the nearest-same-class distances at each of those points."""
    threshold: float
    """The alarm threshold: an alarm when W falls below it."""
    first_alarm: int | None
    """Queries seen when the first alarm rang (None: no alarm on this stream)."""


@dataclass(frozen=True)
class PradaCalibration:
    """A PRADA threshold set on benign streams.

    Introduced in lab 04 (Model theft).
    """

    threshold: float
    """The lowest W seen on the benign streams, less ``margin``."""
    benign_min_w: np.ndarray
    """The lowest W of each benign calibration stream."""
    margin: float
    """How far below the benign streams' lowest W the threshold sits."""


@dataclass(frozen=True, eq=False)
class Watermark:
    """What the owner keeps from a DAWN-watermarked client: the marked queries and the wrong
    labels the API gave them.

    Introduced in lab 04 (Model theft).
    """

    X: np.ndarray
    """The marked queries."""
    labels: np.ndarray
    """The (deliberately wrong) label the API answered for each."""
    true_labels: np.ndarray
    """The label the victim would have answered."""


@dataclass(frozen=True)
class OwnershipTest:
    """The owner's test that a suspect model was trained on watermarked answers.

    Introduced in lab 04 (Model theft).
    """

    matches: int
    """Marked queries on which the suspect gives the watermark's (wrong) label."""
    rate: Rate
    """``matches`` as a share of the marked queries, with its Wilson interval."""
    p_value: float
    """One-sided binomial p-value of so many matches if each happened with ``chance``."""
    chance: float
    """The match probability assumed for a model that never saw the watermark."""
    verified: bool
    """True when ``p_value`` is below the test's ``alpha``: ownership shown."""


@dataclass(frozen=True)
class AnswerCost:
    """What a hardened answer costs an honest user, against the victim's own probabilities.

    Introduced in lab 04 (Model theft).
    """

    top1_changed: Rate
    """Share of answers whose top label is not the victim's (a wrong answer to the user)."""
    mean_tv: float
    """Mean total-variation distance between answer and probabilities (0: none; 1: all)."""
    max_tv: float
    """The largest total-variation distance over the answers."""


# --- the victim, computed once per image ---------------------------------------------------------


class CachedVictim:
    """The victim ``system`` with its answers remembered: ``predict_proba(X)`` runs the victim
    only on images it has not seen before (a distinct image is a distinct query; equal bytes,
    equal image). A shortcut of the simulation, not of the threat model: a lab that sends the
    same digits to several APIs pays the victim's forward pass once, and every API built on
    ``predict_proba`` still counts, logs and hardens each query.

    Introduced in lab 04 (Model theft).
    """

    def __init__(self, system):
        if not callable(getattr(system, "predict_proba", None)):
            raise ArgumentTypeError(f"system must have a predict_proba method, got "
                                    f"{type(system).__name__}")
        self.system = system
        self._cache: dict[bytes, np.ndarray] = {}

    def predict_proba(self, X) -> np.ndarray:
        """The victim's probabilities for each image of ``X`` (n, 1, H, W)."""
        X = np.ascontiguousarray(check_images(X))
        keys = [x.tobytes() for x in X]
        new = list({k: i for i, k in enumerate(keys) if k not in self._cache}.values())
        if new:
            proba = np.asarray(self.system.predict_proba(X[new]))
            for i, row in zip(new, proba, strict=True):
                self._cache[keys[i]] = row
        return np.stack([self._cache[k] for k in keys])

    def predict(self, X) -> np.ndarray:
        """The victim's label for each image of ``X``."""
        return self.predict_proba(X).argmax(axis=1)

    def __len__(self) -> int:
        return len(self._cache)


# --- the thief's model and its training ---------------------------------------------------------


class ThiefCNN(nn.Module):
    """The thief's own small CNN: 2x2 average pooling (28x28 to 14x14), two 3x3 convolution
    blocks of ``width`` and ``2 * width`` channels, a dense layer of 64 and ``n_classes``
    logits: about 80 thousand multiply-adds per image against the victim's 2.9 million, so
    that a thief trains on 1,000 answers in about a second on one CPU thread. A thief's model
    need not match the victim's architecture.

    Introduced in lab 04 (Model theft).
    """

    def __init__(self, width: int = 8, n_classes: int = 10, image_side: int = 28):
        super().__init__()
        width = check_int(width, "width")
        n_classes = check_int(n_classes, "n_classes", minimum=2)
        image_side = check_int(image_side, "image_side", minimum=8)
        side = image_side // 2 // 2 // 2
        self.net = nn.Sequential(
            nn.AvgPool2d(2),
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(2 * width * side * side, 64), nn.ReLU(), nn.Linear(64, n_classes),
        )
        # channels_last, as in systems.SmallCNN: torch's CPU pooling is much faster on it (a
        # training step of 64 digits takes 3.5 ms instead of 4.5); values and shapes are equal.
        self.to(memory_format=torch.channels_last)

    def forward(self, x):
        return self.net(x.contiguous(memory_format=torch.channels_last))


def _check_answers(answers, n: int, name: str = "answers") -> np.ndarray:
    a = check_array(answers, name, dtype=np.float64)
    if a.ndim != 2 or len(a) != n or a.shape[1] < 2:
        raise ValueError(f"{name} must be (n, n_classes) with one row per query (n = {n}) and "
                         f"n_classes >= 2, got shape {a.shape}")
    if a.min() < 0 or a.max() > 1 + 1e-6:
        raise ValueError(f"{name} must hold probabilities or one-hot labels in [0, 1]")
    return a


def _default_epochs(n: int) -> int:
    # About 240 optimiser steps of 64 images whatever the number of queries (15 epochs at
    # 1,000 queries), between 4 and 40 epochs.
    return int(np.clip(round(15_000 / n), 4, 40))


def _fit(model: nn.Module, X: np.ndarray, targets: np.ndarray, *, temperature: float,
         epochs: int, batch_size: int, lr: float, seed: int) -> nn.Module:
    """Soft-target cross-entropy at ``temperature`` with Adam and a one-cycle schedule."""
    dev = device()
    model.to(dev).train()
    Xt = torch.as_tensor(X, dtype=torch.float32)
    logp = torch.log(torch.as_tensor(targets, dtype=torch.float32).clamp_min(1e-12))
    soft = torch.softmax(logp / temperature, dim=1)  # one-hot rows stay (nearly) one-hot
    gen = torch_generator(seed)
    steps = epochs * -(-len(Xt) // batch_size)
    # fused Adam: one kernel per step instead of one per tensor (3.1 ms a step against 3.5)
    opt = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    for _ in range(epochs):
        perm = torch.randperm(len(Xt), generator=gen)
        for start in range(0, len(Xt), batch_size):
            idx = perm[start:start + batch_size]
            xb, tb = Xt[idx].to(dev), soft[idx].to(dev)
            opt.zero_grad()
            logits = model(xb) / temperature
            loss = -(tb * torch.log_softmax(logits, dim=1)).sum(1).mean() * temperature ** 2
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


def train_thief(X, answers, *, temperature: float = 1.0, epochs: int | None = None,
                width: int = 8, batch_size: int = 64, lr: float = 1e-2,
                seed: int = 0) -> nn.Module:
    """Train a fresh :class:`ThiefCNN` on queries ``X`` and the API's ``answers`` (one row of
    probabilities or a one-hot label per query).

    The loss is the cross-entropy against the answers softened at ``temperature`` (Hinton et
    al., 2015: at 3, a probability thief learns from the small probabilities too; one-hot
    answers stay one-hot). Adam with a one-cycle learning-rate schedule: written here rather
    than ART's ``PyTorchClassifier.fit``, whose constant learning rate needs about twice the
    epochs for the same fidelity. ``epochs`` defaults to about 240 steps of ``batch_size``
    (15 epochs at 1,000 queries). Deterministic for a seed; global state untouched.

    Introduced in lab 04 (Model theft).
    """
    X = check_images(X)
    if X.shape[2] != X.shape[3]:
        raise ValueError(f"X must hold square images, got shape {X.shape}")
    answers = _check_answers(answers, len(X))
    temperature = check_positive(temperature, "temperature")
    epochs = _default_epochs(len(X)) if epochs is None else check_int(epochs, "epochs")
    width = check_int(width, "width")
    batch_size = check_int(batch_size, "batch_size")
    lr = check_positive(lr, "lr")
    seed = check_seed(seed)
    with seeded(seed):  # the weights' initialisation draws from torch's global generator
        model = ThiefCNN(width=width, n_classes=answers.shape[1], image_side=X.shape[2])
    return _fit(model, X, answers, temperature=temperature, epochs=epochs,
                batch_size=batch_size, lr=lr, seed=seed)


# --- the thefts ---------------------------------------------------------------------------------


def _art_thief(model: nn.Module, input_shape: tuple, n_classes: int, *, temperature: float,
               epochs: int, seed: int):
    """An ART classifier around ``model`` whose ``fit`` is :func:`_fit`: ART's own
    ``PyTorchClassifier.fit`` trains at a constant learning rate (see :func:`train_thief`)."""
    from art.estimators.classification import PyTorchClassifier

    class _Thief(PyTorchClassifier):
        def fit(self, x, y, batch_size=64, nb_epochs=10, **kwargs):  # noqa: ARG002
            _fit(model, x, np.asarray(y, dtype=np.float64), temperature=temperature,
                 epochs=nb_epochs, batch_size=batch_size, lr=1e-2, seed=seed)

    return _Thief(model=model, loss=nn.CrossEntropyLoss(), input_shape=input_shape,
                  nb_classes=n_classes, clip_values=(0.0, 1.0),
                  optimizer=torch.optim.Adam(model.parameters()),
                  device_type="gpu" if device().type == "cuda" else "cpu")


def steal(api: PredictionAPI | DawnAPI, pool, budget: int, *, attack: str = "knockoff",
          temperature: float | None = None, epochs: int | None = None, width: int = 8,
          n_classes: int = 10, seed: int = 0) -> Theft:
    """Steal the model behind ``api`` with ``budget`` queries drawn from the thief's ``pool``
    of images, using adversarial-robustness-toolbox's extraction attacks.

    ``attack="knockoff"``: ``KnockoffNets`` (random sampling), which keeps the answers as
    they come (probabilities where the API gives them) and distils them at ``temperature``
    (default 3). ``attack="copycat"``: ``CopycatCNN``, which keeps only the top-1 label
    (default temperature 1). The victim reaches ART only as a ``BlackBoxClassifier`` around
    ``api`` (a :class:`~.common.PredictionAPI` or a :class:`DawnAPI`), so every query is
    counted (and hardened) by the API; ``queries`` on the result is
    what the API counted, checked to equal ``budget``. The stolen model is a fresh
    :class:`ThiefCNN` trained as in :func:`train_thief`. Deterministic for a seed; global
    state untouched (ART's sampling draws from NumPy's global generator, inside
    ``repro.seeded``).

    Introduced in lab 04 (Model theft).
    """
    from art.attacks.extraction import CopycatCNN, KnockoffNets
    from art.estimators.classification import BlackBoxClassifier

    if not isinstance(api, PredictionAPI | DawnAPI):
        raise ArgumentTypeError(f"api must be an extraction.PredictionAPI or a DawnAPI, got "
                                f"{type(api).__name__}")
    pool = check_images(pool, "pool")
    attack = check_choice(attack, ATTACKS, "attack")
    budget = check_int(budget, "budget")
    if budget > len(pool):
        raise ValueError(f"budget ({budget}) exceeds the thief's pool ({len(pool)} images): "
                         "each query is a different image")
    if temperature is None:
        temperature = 3.0 if attack == "knockoff" else 1.0
    temperature = check_positive(temperature, "temperature")
    epochs = _default_epochs(budget) if epochs is None else check_int(epochs, "epochs")
    n_classes = check_int(n_classes, "n_classes", minimum=2)
    seed = check_seed(seed)

    sent, got = [], []

    def ask(x):
        answer = api(x)
        sent.append(np.array(x, dtype=np.float32))
        got.append(answer)
        return answer

    victim = BlackBoxClassifier(predict_fn=ask, input_shape=pool.shape[1:],
                                nb_classes=n_classes, clip_values=(0.0, 1.0))
    with seeded(seed):
        model = ThiefCNN(width=width, n_classes=n_classes, image_side=pool.shape[2])
        thief = _art_thief(model, pool.shape[1:], n_classes, temperature=temperature,
                           epochs=epochs, seed=seed)
        if attack == "knockoff":
            art_attack = KnockoffNets(classifier=victim, batch_size_fit=64,
                                      batch_size_query=256, nb_epochs=epochs,
                                      nb_stolen=budget, sampling_strategy="random",
                                      use_probability=True)
        else:
            art_attack = CopycatCNN(classifier=victim, batch_size_fit=64,
                                    batch_size_query=256, nb_epochs=epochs, nb_stolen=budget,
                                    use_probability=False)
        art_attack.extract(pool, thieved_classifier=thief)
    X = np.concatenate(sent)
    if len(X) != budget:  # ART's nb_stolen is the number of queries; check that it held
        raise RuntimeError(f"ART sent {len(X)} queries for a budget of {budget}")
    return Theft(model=model.eval(), attack=type(art_attack).__name__, access=api.output,
                 queries=len(X), X=X, answers=np.concatenate(got))


def _model_labels(model: nn.Module, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    model.eval()
    dev = next(model.parameters()).device
    with torch.no_grad():
        out = [model(torch.as_tensor(X[i:i + batch_size]).to(dev)).argmax(1).cpu()
               for i in range(0, len(X), batch_size)]
    return torch.cat(out).numpy()


def copy_quality(model: nn.Module, system, X, y, *, on: str = "") -> CopyQuality:
    """Fidelity (agreement with the victim ``system``) and accuracy (against ``y``) of a
    stolen ``model`` on images ``X``, each with its Wilson interval.

    Introduced in lab 04 (Model theft).
    """
    if not isinstance(model, nn.Module):
        raise ArgumentTypeError(f"model must be a torch module, got {type(model).__name__}")
    X = check_images(X)
    y = check_labels(y, len(X))
    stolen = _model_labels(model, X)
    return CopyQuality(fidelity=fidelity(stolen, system.predict(X), on=on),
                       accuracy=proportion(stolen == y, on=on))


def upscaled_sklearn_digits(side: int = 28) -> np.ndarray:
    """scikit-learn's 1,797 8x8 digits as (n, 1, side, side) images in [0, 1]: each digit is
    scaled bilinearly to ``side - 8`` pixels and padded by 4 on every side, as MNIST centres
    its digits in a 20x20 box. A pool from another distribution (thicker, blurrier strokes,
    other writers) for a thief who has no images like the victim's.

    Introduced in lab 04 (Model theft).
    """
    from sklearn.datasets import load_digits

    side = check_int(side, "side", minimum=12)
    images = torch.as_tensor(load_digits().images[:, None] / 16.0, dtype=torch.float32)
    inner = torch.nn.functional.interpolate(images, size=(side - 8, side - 8), mode="bilinear",
                                            align_corners=False)
    return torch.nn.functional.pad(inner, (4, 4, 4, 4)).clamp(0.0, 1.0).numpy()


# --- query streams and the PRADA detector -------------------------------------------------------


def synthetic_queries(seeds, n: int, *, step: float = 0.1, seed: int = 0) -> np.ndarray:
    """A synthetic-query thief's stream of ``n`` images: the ``seeds`` (its few natural
    images) first, then each new query an earlier query moved by ``step`` along a random
    sign direction and clipped to [0, 1], in the manner of Papernot et al.'s (2017)
    Jacobian-based augmentation (with random directions instead of the substitute's
    gradient). Deterministic for a seed.

    Introduced in lab 04 (Model theft).
    """
    seeds = check_images(seeds, "seeds")
    n = check_int(n, "n")
    step = check_number(step, "step", low=0.0, high=1.0, low_open=True)
    rng = np.random.default_rng(check_seed(seed))
    out = np.empty((max(n, len(seeds)),) + seeds.shape[1:], dtype=np.float32)
    out[:len(seeds)] = seeds
    for i in range(len(seeds), n):
        parent = out[rng.integers(i)]
        out[i] = np.clip(parent + step * np.sign(rng.standard_normal(parent.shape)), 0.0, 1.0)
    return out[:n]


def disguised_queries(seeds, public, n: int, *, max_shift: int = 2,
                      seed: int = 0) -> np.ndarray:
    """The stream of a thief who knows the PRADA detector: the same few natural ``seeds``,
    but each synthetic query is a seed shifted by up to ``max_shift`` pixels (a step as
    large as the distance between two natural digits, not a tiny one), and every other query
    is a ``public`` image (another distribution: :func:`upscaled_sklearn_digits`), so the
    stream's distances look like a benign user's. ``n`` queries, alternating public and
    synthetic. Deterministic for a seed.

    Introduced in lab 04 (Model theft).
    """
    seeds = check_images(seeds, "seeds")
    public = check_images(public, "public")
    if public.shape[1:] != seeds.shape[1:]:
        raise ValueError(f"public images must match the seeds' shape {seeds.shape[1:]}, got "
                         f"{public.shape[1:]}")
    n = check_int(n, "n", minimum=2)
    max_shift = check_int(max_shift, "max_shift")
    if len(public) < n // 2:
        raise ValueError(f"public has {len(public)} images; a stream of {n} needs {n // 2}")
    rng = np.random.default_rng(check_seed(seed))
    picked = public[rng.choice(len(public), n // 2, replace=False)]
    shifts = rng.integers(-max_shift, max_shift + 1, size=(n - n // 2, 2))
    parents = rng.integers(len(seeds), size=n - n // 2)
    synth = np.stack([np.roll(seeds[p], (dy, dx), axis=(1, 2))
                      for p, (dy, dx) in zip(parents, shifts, strict=True)])
    out = np.empty((n,) + seeds.shape[1:], dtype=np.float32)
    out[0::2] = synth
    out[1::2] = picked
    return out


def nearest_same_class_distances(X, labels) -> np.ndarray:
    """For each query of a stream, the Euclidean distance to the nearest *earlier* query
    that the victim gave the same label; NaN where no earlier query has that label (the
    first of each class). What PRADA (Juuti et al., 2019) feeds its normality test.

    Introduced in lab 04 (Model theft).
    """
    X = check_array(X, "X", dtype=np.float64)
    if X.ndim < 2 or not len(X):
        raise ValueError(f"X must be a non-empty stream of queries (n, ...), got shape "
                         f"{X.shape}")
    labels = check_labels(labels, len(X), "labels")
    flat = X.reshape(len(X), -1)
    flat = flat - flat.mean(axis=0)  # centred: the squared-distance identity below loses less
    sq = (flat ** 2).sum(axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * flat @ flat.T, 0.0)
    earlier_same = np.tril(labels[:, None] == labels[None, :], k=-1)  # j < i, same label
    d2 = np.where(earlier_same, d2, np.inf).min(axis=1)
    return np.where(np.isfinite(d2), np.sqrt(d2), np.nan)


def prada_scan(X, labels, *, threshold: float = 0.0, start: int = 50,
               every: int = 10) -> PradaScan:
    """Run the PRADA detector over a stream: after ``start`` queries and then every
    ``every``, Shapiro-Wilk's W (:func:`~.common.prada_statistic`) of the nearest-same-class
    distances seen so far; an alarm at the first point where W < ``threshold``.

    ``labels`` are the victim's own labels of the queries (the provider knows them).
    Introduced in lab 04 (Model theft).
    """
    from .common import prada_statistic

    threshold = check_number(threshold, "threshold", low=0.0, high=1.0)
    start = check_int(start, "start", minimum=4)
    every = check_int(every, "every")
    d = nearest_same_class_distances(X, labels)
    if len(d) < start:
        raise ValueError(f"the stream has {len(d)} queries; the detector starts at {start}")
    points, ws, alarm = [], [], None
    for k in range(start, len(d) + 1, every):
        seen = d[:k][~np.isnan(d[:k])]
        if len(seen) < 3:
            continue
        w = prada_statistic(seen)
        points.append(k)
        ws.append(w)
        if alarm is None and w < threshold:
            alarm = k
    return PradaScan(queries=np.array(points, dtype=np.int64), w=np.array(ws),
                     threshold=threshold, first_alarm=alarm)


def calibrate_prada(streams: Sequence, *, margin: float = 0.03, start: int = 50,
                    every: int = 10) -> PradaCalibration:
    """Set PRADA's threshold on benign ``streams`` (a sequence of ``(X, labels)`` pairs):
    the lowest W any of them reaches, less ``margin``, so that none of them would have
    raised an alarm.

    Introduced in lab 04 (Model theft).
    """
    if isinstance(streams, str | bytes) or not isinstance(streams, Sequence) or not streams:
        raise ArgumentTypeError("streams must be a non-empty sequence of (X, labels) pairs")
    margin = check_number(margin, "margin", low=0.0, high=1.0)
    mins = []
    for k, pair in enumerate(streams):
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise ArgumentTypeError(f"streams[{k}] must be an (X, labels) pair")
        scan = prada_scan(pair[0], pair[1], start=start, every=every)
        if not len(scan.w):
            raise ValueError(f"streams[{k}] gives the detector no statistic to compute")
        mins.append(float(scan.w.min()))
    mins = np.array(mins)
    return PradaCalibration(threshold=max(0.0, float(mins.min()) - margin),
                            benign_min_w=mins, margin=margin)


# --- the DAWN watermark -------------------------------------------------------------------------


class DawnAPI:
    """A :class:`~.common.PredictionAPI` that watermarks its answers to one client, in the
    manner of DAWN (Szyller et al., 2021): a keyed hash of each query decides, for about a
    ``fraction`` of queries, to answer a wrong label (also keyed, never the victim's), and the
    owner keeps those queries and labels (:meth:`watermark`). The same query always gets the
    same answer, so asking twice reveals nothing; a model trained on the answers learns some
    of the wrong labels, which :func:`ownership_test` detects. On a probability answer the
    top class and the wrong one swap their probabilities; on a one-hot answer the one moves.

    Every call goes through ``api``, which counts and limits the queries (``queries``).
    Introduced in lab 04 (Model theft).
    """

    def __init__(self, api: PredictionAPI, *, key: bytes, fraction: float = 0.05):
        if not isinstance(api, PredictionAPI):
            raise ArgumentTypeError(f"api must be an extraction.PredictionAPI, got "
                                    f"{type(api).__name__}")
        if not isinstance(key, bytes) or len(key) < 8:
            raise ArgumentTypeError("key must be bytes, at least 8 of them (the owner's secret)")
        self.api = api
        self.fraction = check_fraction(fraction, "fraction", allow_zero=False)
        self._key = key
        self._X: list[np.ndarray] = []
        self._labels: list[int] = []
        self._true: list[int] = []

    @property
    def queries(self) -> int:
        """Queries answered so far (counted by the wrapped API)."""
        return self.api.queries

    @property
    def output(self) -> str:
        """What the wrapped API answers (one of ``extraction.OUTPUTS``)."""
        return self.api.output

    def _draw(self, x: np.ndarray) -> tuple[float, int]:
        digest = hmac.new(self._key, np.ascontiguousarray(x, dtype=np.float32).tobytes(),
                          hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big") / 2.0 ** 64, int.from_bytes(digest[8:16], "big")

    def __call__(self, X) -> np.ndarray:
        X = check_array(X, "X", dtype=np.float32)
        answers = np.array(self.api(X), dtype=np.float64)
        n_classes = answers.shape[1]
        for i, x in enumerate(X):
            u, r = self._draw(x)
            if u >= self.fraction:
                continue
            top = int(answers[i].argmax())
            wrong = (top + 1 + r % (n_classes - 1)) % n_classes
            answers[i, [top, wrong]] = answers[i, [wrong, top]]
            self._X.append(x.copy())
            self._labels.append(wrong)
            self._true.append(top)
        return answers

    def watermark(self) -> Watermark:
        """The marked queries so far and the labels given to them (the owner's evidence)."""
        if not self._X:
            raise RuntimeError("no query has been marked yet")
        return Watermark(X=np.stack(self._X), labels=np.array(self._labels, dtype=np.int64),
                         true_labels=np.array(self._true, dtype=np.int64))

    def __repr__(self):
        return (f"DawnAPI(fraction={self.fraction:g}, {len(self._X)} marked so far, "
                f"over {self.api!r})")


def ownership_test(model: nn.Module, watermark: Watermark, *, chance: float = 0.1,
                   alpha: float = 1e-3) -> OwnershipTest:
    """Does ``model`` give the watermark's wrong labels on its marked queries more often than
    a model that never saw them would? One-sided binomial test of the matches against
    ``chance`` (0.1 by default: a model that never saw the watermark matches a marked query
    only if it disagrees with the victim *and* picks that one of the nine wrong digits, so
    0.1 errs on the side of the accused); ownership is verified when the p-value is below
    ``alpha``.

    Introduced in lab 04 (Model theft).
    """
    from scipy.stats import binomtest

    if not isinstance(model, nn.Module):
        raise ArgumentTypeError(f"model must be a torch module, got {type(model).__name__}")
    if not isinstance(watermark, Watermark):
        raise ArgumentTypeError(f"watermark must be a Watermark (DawnAPI.watermark()), got "
                                f"{type(watermark).__name__}")
    chance = check_number(chance, "chance", low=0.0, high=1.0, low_open=True, high_open=True)
    alpha = check_number(alpha, "alpha", low=0.0, high=1.0, low_open=True, high_open=True)
    hits = _model_labels(model, watermark.X) == watermark.labels
    k, n = int(hits.sum()), len(hits)
    p = float(binomtest(k, n, chance, alternative="greater").pvalue)
    return OwnershipTest(matches=k, rate=proportion(hits, on=f"{n} marked queries"),
                         p_value=p, chance=chance, verified=p < alpha)


def distil(model: nn.Module, X, *, temperature: float = 3.0, epochs: int | None = None,
           width: int = 8, seed: int = 0) -> nn.Module:
    """A thief's attempt to shed a watermark: train a fresh :class:`ThiefCNN` on the stolen
    ``model``'s own probabilities over images ``X`` (images the thief has, ideally not the
    ones it sent to the API), softened at ``temperature``; no query to the victim.

    Introduced in lab 04 (Model theft).
    """
    if not isinstance(model, nn.Module):
        raise ArgumentTypeError(f"model must be a torch module, got {type(model).__name__}")
    X = check_images(X)
    model.eval()
    dev = next(model.parameters()).device
    with torch.no_grad():
        proba = torch.cat([torch.softmax(model(torch.as_tensor(X[i:i + 1024]).to(dev)), 1)
                           .cpu() for i in range(0, len(X), 1024)]).numpy()
    return train_thief(X, proba, temperature=temperature, epochs=epochs, width=width,
                       seed=seed)


# --- what a defence costs an honest user --------------------------------------------------------


def answer_cost(answers, proba, *, on: str = "") -> AnswerCost:
    """How far hardened ``answers`` are from the victim's own probabilities ``proba`` (same
    shape): the share whose top label changed (an honest user gets a wrong answer) and the
    total-variation distance (how much of the confidence an honest user loses). ``on``
    names the inputs (for the rate's interval).

    Introduced in lab 04 (Model theft).
    """
    p = _check_answers(proba, len(np.asarray(proba)), "proba")
    a = _check_answers(answers, len(p), "answers")
    if a.shape != p.shape:
        raise ValueError(f"answers and proba must have the same shape, got {a.shape} and "
                         f"{p.shape}")
    tv = 0.5 * np.abs(a - p).sum(axis=1)
    changed = a.argmax(axis=1) != p.argmax(axis=1)
    return AnswerCost(top1_changed=proportion(changed, on=on or f"{len(p)} answers"),
                      mean_tv=float(tv.mean()), max_tv=float(tv.max()))
