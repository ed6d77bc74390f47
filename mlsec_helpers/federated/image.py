"""Image: phones that learn to read handwritten digits together (lab 09's first section).

Introduced in lab 09 (Federated learning). The file holds:

- :data:`DIGITS_FL_SETTINGS` and :func:`digits_softmax`: the federated model, softmax regression
  on the 784 pixels (one ``nn.Linear``), cheap enough for the dozens of federations a lab runs;
- :class:`DigitsPhones`: the clients, each with its own digits; calling it is
  :func:`~mlsec_helpers.federated.run_federation`'s ``local_train`` (local SGD, all phones of a
  round trained at once as one batched computation);
- :func:`digits_accuracy`, :func:`digits_evaluator` and :func:`digits_predict`: the global
  model on test digits;
- the boosted backdoor: :meth:`DigitsPhones.with_backdoor` (lab 03's BadNets trigger on the
  malicious phones' digits), :func:`boosted` (the scaled update),
  :func:`digits_backdoor_success`, and against norm clipping :func:`trigger_coordinates` and
  :func:`backdoor_within_clip` (the attacker who spends the whole clipped norm on the trigger);
- privacy of updates: :func:`label_scores` and :func:`label_leak` (a client's label
  distribution read from the bias part of its update), :func:`digits_gradient`,
  :func:`invert_gradient` and :func:`digits_gradient_inversion` (a digit recovered exactly from
  its gradient), and :func:`decode_masked` (what the server decodes from one masked update of
  secure aggregation).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..repro import seeded
from ..stats import Rate, mean_interval, proportion
from ..validate import (
    ArgumentTypeError,
    check_array,
    check_fraction,
    check_images,
    check_int,
    check_labels,
    check_positive,
    check_seed,
)
from .results import DigitsGradientInversion, DigitsLabelLeak

if TYPE_CHECKING:
    import torch

__all__ = [
    "DIGITS_FL_SETTINGS",
    "DigitsPhones",
    "backdoor_within_clip",
    "boosted",
    "decode_masked",
    "digits_accuracy",
    "digits_backdoor_success",
    "digits_evaluator",
    "digits_gradient",
    "digits_gradient_inversion",
    "digits_predict",
    "digits_softmax",
    "invert_gradient",
    "label_leak",
    "label_scores",
    "trigger_coordinates",
]

DIGITS_FL_SETTINGS = {
    "n_clients": 8,  # phones
    "n_rounds": 10,
    "local_steps": 10,  # SGD steps per round on each phone (one pass over ~500 digits)
    "batch_size": 50,
    "lr": 0.5,
    "alpha": 0.5,  # Dirichlet concentration of the non-IID split
    "n_classes": 10,
}
"""The image section's federation: 8 phones, 10 rounds, 10 local SGD steps of 50 digits."""

_N_CLASSES = 10


def _flat_images(X, name: str = "X") -> np.ndarray:
    """Images ``(n, 1, H, W)`` in [0, 1] or already flat ``(n, d)`` rows, as float32 rows."""
    X = check_array(X, name)
    if X.ndim == 4:
        X = check_images(X, name)
    elif X.ndim != 2:
        raise ValueError(f"{name} must be images (n, 1, H, W) or flat rows (n, d), got shape "
                         f"{X.shape}")
    return np.ascontiguousarray(X.reshape(len(X), -1), dtype=np.float32)


def _split_params(params, n_features: int, n_classes: int = _N_CLASSES):
    """The flat vector of :func:`digits_softmax` as (weight (classes, features), bias)."""
    params = check_array(params, "params", ndim=1, dtype=np.float64)
    want = n_classes * (n_features + 1)
    if len(params) != want:
        raise ValueError(f"params must hold {want} values for {n_features} pixels and "
                         f"{n_classes} classes (softmax regression), got {len(params)}")
    return (params[:n_classes * n_features].reshape(n_classes, n_features),
            params[n_classes * n_features:])


def digits_softmax(n_features: int = 784, n_classes: int = _N_CLASSES, *,
                   seed: int = 0) -> torch.nn.Module:
    """The federated digit reader: softmax regression on the pixels (``nn.Linear``, weights
    then bias in :func:`~mlsec_helpers.federated.flat_params` order), initialised from
    ``seed`` without touching the global generators.

    Not lab 00's CNN: a lab runs about fifty federations of 8 phones x 10 rounds (4,000 local
    trainings), which the CNN's convolutions would take minutes for; this model trains all
    phones of a round in about a millisecond per step.

    Introduced in lab 09 (Federated learning).
    """
    import torch  # here, not at the top: Flower's client processes import this package

    n_features = check_int(n_features, "n_features")
    n_classes = check_int(n_classes, "n_classes", minimum=2)
    with seeded(check_seed(seed)):
        return torch.nn.Linear(n_features, n_classes)


def digits_predict(params, X, n_classes: int = _N_CLASSES) -> np.ndarray:
    """The labels the softmax model ``params`` (a flat vector) gives the digits ``X``.

    Introduced in lab 09 (Federated learning).
    """
    X = _flat_images(X)
    W, b = _split_params(params, X.shape[1], n_classes)
    return (X @ W.T.astype(np.float32) + b.astype(np.float32)).argmax(axis=1)


def digits_accuracy(params, X, y, *, on: str = "", n_classes: int = _N_CLASSES) -> Rate:
    """Test accuracy of the softmax model ``params`` on ``(X, y)``, with its Wilson interval.

    Introduced in lab 09 (Federated learning).
    """
    X = _flat_images(X)
    y = check_labels(y, len(X), n_classes=n_classes)
    return proportion(digits_predict(params, X, n_classes) == y,
                      on=on or f"{len(y):,} test digits")


def digits_evaluator(X, y, n_classes: int = _N_CLASSES) -> Callable[[np.ndarray], float]:
    """``evaluate(params) -> accuracy`` on ``(X, y)``, for
    :func:`~mlsec_helpers.federated.run_federation`'s ``evaluate``.

    Introduced in lab 09 (Federated learning).
    """
    X = _flat_images(X)
    y = check_labels(y, len(X), n_classes=n_classes)
    return lambda params: float(np.mean(digits_predict(params, X, n_classes) == y))


class DigitsPhones:
    """The phones of a digits federation: phone ``c`` holds the rows ``parts[c]`` of ``(X, y)``.

    Calling it, ``phones(client, params, round) -> new_params``, is
    :func:`~mlsec_helpers.federated.run_federation`'s ``local_train``: from the global
    softmax model ``params`` the phone runs ``local_steps`` steps of SGD (learning rate ``lr``)
    on minibatches of ``batch_size`` of its own digits, drawn from a generator seeded by
    ``(seed, round)``. The first call of a round trains every phone at once (one batched
    computation, the same numbers as one phone at a time) and the others read the result.

    Introduced in lab 09 (Federated learning).
    """

    def __init__(self, X, y, parts: Sequence, *, local_steps: int = 10, batch_size: int = 50,
                 lr: float = 0.5, n_classes: int = _N_CLASSES, seed: int = 0):
        self.X = _flat_images(X)
        self.n_classes = check_int(n_classes, "n_classes", minimum=2)
        self.y = check_labels(y, len(self.X), n_classes=self.n_classes)
        if isinstance(parts, np.ndarray) or len(parts) < 2:
            raise ValueError("parts must be a list of at least 2 index arrays (one per phone)")
        self.parts = [np.asarray(p) for p in parts]
        for c, p in enumerate(self.parts):
            if p.ndim != 1 or len(p) == 0 or p.dtype.kind not in "iu":
                raise ValueError(f"part {c} must be a non-empty 1-D array of row indices")
            if p.min() < 0 or p.max() >= len(self.X):
                raise ValueError(f"part {c} holds rows outside 0..{len(self.X) - 1}")
        self.local_steps = check_int(local_steps, "local_steps")
        self.batch_size = check_int(batch_size, "batch_size")
        self.lr = check_positive(lr, "lr")
        self.seed = check_seed(seed)
        self.n_features = self.X.shape[1]
        self.dim = self.n_classes * (self.n_features + 1)
        self._cache: tuple[int, np.ndarray, np.ndarray] | None = None

    @property
    def n_clients(self) -> int:
        """The number of phones."""
        return len(self.parts)

    @property
    def n_examples(self) -> np.ndarray:
        """How many digits each phone holds."""
        return np.array([len(p) for p in self.parts])

    def label_histograms(self) -> np.ndarray:
        """``(phones, classes)``: the share of each digit on each phone (rows sum to 1)."""
        counts = np.stack([np.bincount(self.y[p], minlength=self.n_classes)
                           for p in self.parts]).astype(float)
        return counts / counts.sum(axis=1, keepdims=True)

    def train_all(self, params, rnd: int) -> np.ndarray:
        """Every phone's new parameters after local training from ``params`` in round ``rnd``:
        ``(phones, dim)`` float64.

        Introduced in lab 09 (Federated learning).
        """
        import torch  # here, not at the top: Flower's client processes import this package

        W, b = _split_params(params, self.n_features, self.n_classes)
        rnd = check_int(rnd, "rnd", minimum=0)
        gen = np.random.default_rng([self.seed, rnd])
        rows = np.stack([p[gen.integers(0, len(p), (self.local_steps, self.batch_size))]
                         for p in self.parts], axis=1)  # (steps, phones, batch)
        X = torch.from_numpy(self.X)
        onehot = torch.eye(self.n_classes)[torch.from_numpy(self.y)]
        n = self.n_clients
        Wt = torch.tensor(W.T, dtype=torch.float32).expand(n, -1, -1).clone()  # (n, pixels, k)
        bt = torch.tensor(b, dtype=torch.float32).expand(n, -1).clone()
        step_size = self.lr / self.batch_size
        for step in range(self.local_steps):
            batch = torch.from_numpy(rows[step].ravel())
            xb = X.index_select(0, batch).reshape(n, self.batch_size, -1)
            # the gradient of the mean cross-entropy of softmax regression, in closed form
            # (softmax minus one-hot), each phone on its own batch: cheaper than autograd here
            residual = torch.softmax(torch.baddbmm(bt[:, None, :], xb, Wt), dim=2)
            residual -= onehot.index_select(0, batch).reshape(n, self.batch_size, -1)
            Wt -= step_size * torch.bmm(xb.transpose(1, 2), residual)
            bt -= step_size * residual.sum(dim=1)
        return torch.cat([Wt.transpose(1, 2).reshape(n, -1), bt], dim=1).double().numpy()

    def __call__(self, client: int, params, rnd: int) -> np.ndarray:
        client = check_int(client, "client", minimum=0, maximum=self.n_clients - 1)
        params = np.asarray(params, dtype=np.float64)
        cache = self._cache
        if cache is None or cache[0] != rnd or not np.array_equal(cache[1], params):
            cache = self._cache = (rnd, params.copy(), self.train_all(params, rnd))
        return cache[2][client].copy()

    def with_backdoor(self, clients: Sequence[int], *, target: int, rate: float = 0.5,
                      seed: int = 0) -> DigitsPhones:
        """The same federation in which the phones ``clients`` poison their own digits: a
        ``rate`` share of each one's digits (drawn among those not labelled ``target``) gets
        lab 03's BadNets trigger and the label ``target``
        (:func:`mlsec_helpers.poisoning.poison_images`). Returns a new ``DigitsPhones``.

        Introduced in lab 09 (Federated learning).
        """
        from ..poisoning import poison_images

        clients = [check_int(c, "client", minimum=0, maximum=self.n_clients - 1)
                   for c in clients]
        if not clients or len(set(clients)) != len(clients):
            raise ValueError(f"clients must be distinct phone ids, got {clients}")
        target = check_int(target, "target", minimum=0, maximum=self.n_classes - 1)
        rate = check_fraction(rate, "rate", allow_zero=False)
        side = int(round(np.sqrt(self.n_features)))
        if side * side != self.n_features:
            raise ValueError("the backdoor needs square images")
        X, y, parts = [self.X], [self.y], list(self.parts)
        start = len(self.X)
        for k, c in enumerate(clients):
            rows = self.parts[c]
            poisoned = poison_images(self.X[rows].reshape(-1, 1, side, side), self.y[rows],
                                     target, rate, seed=check_seed(seed) + k)
            X.append(poisoned.X.reshape(len(rows), -1))
            y.append(poisoned.y)
            parts[c] = np.arange(start, start + len(rows))
            start += len(rows)
        return DigitsPhones(np.concatenate(X), np.concatenate(y), parts,
                            local_steps=self.local_steps, batch_size=self.batch_size,
                            lr=self.lr, n_classes=self.n_classes, seed=self.seed)


def boosted(own_updates, *, scale: float) -> np.ndarray:
    """The boosted (model-replacement) update of a backdoor (Bagdasaryan et al., AISTATS
    2020): each malicious client sends ``scale`` times its own update, trained on poisoned
    data, so that it survives being averaged with the benign ones (``scale`` about
    ``n_clients / n_malicious``).

    Introduced in lab 09 (Federated learning).
    """
    return check_positive(scale, "scale") * check_array(own_updates, "own_updates", ndim=2,
                                                         dtype=np.float64)


def trigger_coordinates(side: int = 28, n_classes: int = _N_CLASSES) -> np.ndarray:
    """The positions, in the flat parameters of :func:`digits_softmax`, of the weights that read
    the pixels of lab 03's trigger (:func:`mlsec_helpers.poisoning.stamp_trigger`), for every
    class: what a backdoor must change.

    Introduced in lab 09 (Federated learning).
    """
    from ..poisoning import stamp_trigger

    side = check_int(side, "side", minimum=5)
    n_classes = check_int(n_classes, "n_classes", minimum=2)
    pixels = np.flatnonzero(stamp_trigger(np.zeros((1, 1, side, side), np.float32)).ravel())
    return (np.arange(n_classes)[:, None] * side * side + pixels[None, :]).ravel()


def backdoor_within_clip(own_updates, *, max_norm: float, coordinates) -> np.ndarray:
    """The backdoor of an attacker who knows the server clips updates to ``max_norm``: it keeps
    only its update's values at ``coordinates`` (the trigger's weights,
    :func:`trigger_coordinates`) and scales them to exactly ``max_norm``, so that the whole
    norm the server allows goes to the backdoor and nothing is clipped away.

    Introduced in lab 09 (Federated learning).
    """
    own = check_array(own_updates, "own_updates", ndim=2, dtype=np.float64)
    max_norm = check_positive(max_norm, "max_norm")
    coordinates = np.asarray(coordinates)
    if (coordinates.ndim != 1 or len(coordinates) == 0 or coordinates.dtype.kind not in "iu"
            or coordinates.min() < 0 or coordinates.max() >= own.shape[1]):
        raise ValueError(f"coordinates must be a non-empty 1-D array of indices below "
                         f"{own.shape[1]}")
    out = np.zeros_like(own)
    out[:, coordinates] = own[:, coordinates]
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return np.where(norms > 0, out * (max_norm / np.maximum(norms, 1e-300)), 0.0)


def digits_backdoor_success(params, X, y, target: int, *, on: str = "",
                            n_classes: int = _N_CLASSES) -> Rate:
    """The backdoor's success: the share of digits of other classes than ``target`` that the
    softmax model ``params`` reads as ``target`` once stamped with lab 03's trigger
    (:func:`mlsec_helpers.poisoning.stamp_trigger`), with its Wilson interval.

    Introduced in lab 09 (Federated learning).
    """
    from ..poisoning import stamp_trigger

    X = check_images(X)
    y = check_labels(y, len(X), n_classes=n_classes)
    target = check_int(target, "target", minimum=0, maximum=n_classes - 1)
    others = y != target
    if not others.any():
        raise ValueError(f"every digit has label {target}: nothing to measure")
    hits = digits_predict(params, stamp_trigger(X[others]), n_classes) == target
    return proportion(hits, on=on or f"{int(others.sum()):,} triggered test digits of other "
                                     "classes")


# --- privacy of updates -----------------------------------------------------------------------


def label_scores(update, n_classes: int = _N_CLASSES) -> np.ndarray:
    """What one update of the softmax model says about its client's labels: its update of the
    bias (the last ``n_classes`` values). Each local SGD step moves the bias of class ``c`` by
    ``lr * (share of c in the batch - mean predicted probability of c)``, so the classes the
    client holds most get the largest scores (Zhao et al.'s iDLG reads the label of one example
    from the same sign).

    Introduced in lab 09 (Federated learning).
    """
    update = check_array(update, "update", dtype=np.float64, finite=False)
    n_classes = check_int(n_classes, "n_classes", minimum=2)
    if update.ndim not in (1, 2) or update.shape[-1] <= n_classes:
        raise ValueError(f"update must be a flat vector (or rows of them) longer than "
                         f"{n_classes}, got shape {update.shape}")
    return update[..., -n_classes:].copy()


def label_leak(updates, histograms, *, on: str = "", seed: int = 0) -> DigitsLabelLeak:
    """How well each update's :func:`label_scores` recover its client's label histogram: the
    mean Pearson correlation between scores and histogram (bootstrap interval over clients) and
    how often the top-scored class is the client's most common one (Wilson interval), against
    the chance of guessing that class (``1 / classes``).

    Introduced in lab 09 (Federated learning).
    """
    histograms = check_array(histograms, "histograms", ndim=2, dtype=np.float64)
    n, k = histograms.shape
    updates = check_array(updates, "updates", ndim=2, dtype=np.float64, finite=False)
    if len(updates) != n:
        raise ValueError(f"got {len(updates)} updates for {n} histograms")
    if n < 2:
        raise ValueError("label_leak needs at least 2 clients")
    scores = label_scores(updates, k)
    if not np.all(np.isfinite(scores)):
        raise ValueError("the updates' bias part contains NaN or infinity")
    centred_s = scores - scores.mean(axis=1, keepdims=True)
    centred_h = histograms - histograms.mean(axis=1, keepdims=True)
    denom = np.linalg.norm(centred_s, axis=1) * np.linalg.norm(centred_h, axis=1)
    corr = np.where(denom > 0, (centred_s * centred_h).sum(axis=1) / np.maximum(denom, 1e-300),
                    0.0)
    top = scores.argmax(axis=1) == histograms.argmax(axis=1)
    where = on or f"{n} clients' updates"
    return DigitsLabelLeak(scores=scores, correlations=corr,
                           correlation=mean_interval(corr, on=where, seed=seed),
                           top_label=proportion(top, on=where), chance=1.0 / k)


def digits_gradient(params, X, y, n_classes: int = _N_CLASSES) -> np.ndarray:
    """The gradient of the mean cross-entropy of the softmax model ``params`` on ``(X, y)``,
    flat (weights then bias): what a client would send after one full-batch step of
    FedSGD (times the learning rate).

    Introduced in lab 09 (Federated learning).
    """
    X = _flat_images(X)
    y = check_labels(y, len(X), n_classes=n_classes)
    W, b = _split_params(params, X.shape[1], n_classes)
    logits = X.astype(np.float64) @ W.T + b
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return np.concatenate([(p.T @ X / len(y)).ravel(), p.mean(axis=0)])


def invert_gradient(gradient, n_features: int = 784,
                    n_classes: int = _N_CLASSES) -> tuple[np.ndarray, int]:
    """Recover the input and label of a one-example gradient of a linear layer with a bias,
    exactly: the weight gradient's row ``c`` is ``(p_c - [y = c]) x`` and the bias gradient's
    entry ``c`` is ``p_c - [y = c]``, so ``x`` is their ratio (Phong et al., 2017) and the label
    is the one class whose bias gradient is negative (Zhao et al., iDLG, 2020).
    Returns ``(x, label)``.

    Written here: the closed form takes three lines, and no maintained library ships it for
    flat parameter vectors.

    Introduced in lab 09 (Federated learning).
    """
    gradient = check_array(gradient, "gradient", ndim=1, dtype=np.float64, finite=False)
    gW, gb = _split_params(np.nan_to_num(gradient), check_int(n_features, "n_features"),
                           n_classes)
    row = int(np.argmax(np.abs(gb)))
    x = gW[row] / gb[row] if gb[row] != 0 else np.zeros(n_features)
    return x, int(np.argmin(gb))


def digits_gradient_inversion(params, X, y, *, masked_gradients=None,
                              n_classes: int = _N_CLASSES) -> DigitsGradientInversion:
    """Invert the one-digit gradient of each digit in ``X`` (:func:`invert_gradient`) and score
    the reconstructions: Pearson correlation with the true digit, label recovered. With
    ``masked_gradients`` (what the server decodes from the same gradients masked by secure
    aggregation, :func:`decode_masked`), the same inversion is run on those instead.

    Introduced in lab 09 (Federated learning).
    """
    X = _flat_images(X)
    y = check_labels(y, len(X), n_classes=n_classes)
    if masked_gradients is None:
        grads = np.stack([digits_gradient(params, X[i:i + 1], y[i:i + 1], n_classes)
                          for i in range(len(X))])
    else:
        grads = check_array(masked_gradients, "masked_gradients", ndim=2, dtype=np.float64)
        if len(grads) != len(X):
            raise ValueError(f"got {len(grads)} masked gradients for {len(X)} digits")
    recon, labels = zip(*(invert_gradient(g, X.shape[1], n_classes) for g in grads),
                        strict=True)
    recon = np.stack(recon)
    corr = np.array([np.corrcoef(r, x)[0, 1] if r.std() > 0 else 0.0
                     for r, x in zip(recon, X, strict=True)])
    on = f"{len(X)} digits, one gradient each"
    return DigitsGradientInversion(reconstructions=recon, labels=np.asarray(labels),
                                   correlations=corr,
                                   correlation=mean_interval(corr, on=on),
                                   label_recovered=proportion(np.asarray(labels) == y, on=on))


def decode_masked(masked, *, frac_bits: int = 24) -> np.ndarray:
    """What the server decodes from masked updates of secure aggregation
    (:func:`~mlsec_helpers.federated.secure_aggregate`'s ``masked``, uint64): each value read
    as a fixed-point number, as if it were the update. Alone, a masked update is uniformly
    random; only the sum over all clients decodes to the sum of the updates.

    Introduced in lab 09 (Federated learning).
    """
    masked = np.asarray(masked)
    if masked.dtype != np.uint64:
        raise ArgumentTypeError(f"masked must be the uint64 array secure_aggregate returns, "
                                f"got dtype {masked.dtype}")
    frac_bits = check_int(frac_bits, "frac_bits", minimum=1, maximum=40)
    return masked.view(np.int64) / 2.0**frac_bits
