"""Image: model inversion of the digits CNN (what a class looks like, from the model).

Introduced in lab 06 (Model inversion). The file holds:

- :func:`digits_inversion_classifier`: the ART estimator the white-box attack runs on (ART's
  ``PyTorchClassifier`` with a class gradient that costs one backward pass, not one per class);
- :func:`digits_miface`: ART's ``MIFace`` (Fredrikson et al., CCS 2015) from seeded random
  starts, in pixel space or in the latent space of a decoder (the adaptive attacker's prior);
- :func:`digits_api_answers` and :func:`digits_zeroth_order_inversion`: the same optimisation
  for an attacker who only queries a serving API (probabilities, rounded probabilities or the
  label), with gradients estimated from the answers;
- :class:`DigitsPCADecoder` and :func:`digits_pca_decoder`: a prior fitted on unlabelled public
  digits;
- :func:`digits_inversion_scores`: how close each reconstruction is to its class's mean training
  image, and whether it identifies its class among the ten means;
- :func:`digits_one_individual_inversion`: the case where a class *is* one individual (as in
  face recognition), so that recovering the class recovers that individual.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn

from ..repro import limited_threads, rng, seeded
from ..validate import (
    ArgumentTypeError,
    check_array,
    check_choice,
    check_images,
    check_int,
    check_labels,
    check_positive,
    check_str,
)
from .results import DigitsIndividualInversion, DigitsInversion, DigitsInversionScore

__all__ = [
    "DIGITS_API_ACCESS",
    "DigitsPCADecoder",
    "digits_api_answers",
    "digits_inversion_classifier",
    "digits_inversion_scores",
    "digits_miface",
    "digits_one_individual_inversion",
    "digits_pca_decoder",
    "digits_zeroth_order_inversion",
]

DIGITS_API_ACCESS = ("probabilities", "rounded", "label")
"""What a digits serving API returns: all ten probabilities (float64), the probabilities
rounded to ``decimals`` places, or only the predicted label (one-hot)."""

_SIDE = 28


def _check_model(model) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise ArgumentTypeError(f"model must be a torch nn.Module, got {type(model).__name__}")
    return model


@functools.cache
def _one_pass_classifier_class():
    """ART's ``PyTorchClassifier`` with a one-pass class gradient, built on first use so that
    importing this module does not import ART (about 2 s)."""
    from art.estimators.classification import PyTorchClassifier

    class OnePassClassGradient(PyTorchClassifier):
        def class_gradient(self, x, label=None, training_mode: bool = False, **kwargs):
            if not isinstance(label, np.ndarray | list) or len(np.shape(label)) != 1:
                return super().class_gradient(x, label=label, training_mode=training_mode,
                                              **kwargs)
            label = np.asarray(label)
            if len(label) != len(x) or label.min() < 0 or label.max() >= self.nb_classes:
                raise ValueError(f"label must hold one class in 0..{self.nb_classes - 1} per "
                                 "sample")
            self._model.train(mode=training_mode)
            xg = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).requires_grad_(True)
            out = self._model(xg)[-1]  # ART's model wrapper returns the list of layer outputs
            out.gather(1, torch.as_tensor(label, dtype=torch.long)[:, None]).sum().backward()
            return xg.grad.numpy()[:, None]

    return OnePassClassGradient


def digits_inversion_classifier(model: nn.Module, input_shape: tuple = (1, _SIDE, _SIDE),
                                nb_classes: int = 10, clip_values=(0.0, 1.0)):
    """The ART estimator the white-box attack runs on: ART's ``PyTorchClassifier`` (``model``
    returns logits) whose ``class_gradient`` for one label per sample costs one backward pass.

    Why by hand: ART 1.20's ``PyTorchClassifier.class_gradient(x, label=array)`` runs one
    backward pass per distinct label in the batch (ten for ten classes) and keeps one row of
    each. Each sample's output depends only on that sample, so the gradient of the sum of the
    chosen outputs gives every row at once: the same numbers, ten times fewer passes.

    Introduced in lab 06 (Model inversion).
    """
    nb_classes = check_int(nb_classes, "nb_classes", 2)
    return _one_pass_classifier_class()(
        model=_check_model(model), loss=nn.CrossEntropyLoss(), input_shape=tuple(input_shape),
        nb_classes=nb_classes, clip_values=clip_values, device_type="cpu")


class DigitsPCADecoder(nn.Module):
    """A linear decoder from a small latent vector ``z`` to a digit image:
    ``clip(mean + z @ basis, 0, 1)``, with the basis scaled so that ``z`` of public digits has
    unit variance per coordinate (``z = 0`` is the mean public digit). Build it with
    :func:`digits_pca_decoder`.

    Introduced in lab 06 (Model inversion).
    """

    def __init__(self, mean, basis):
        super().__init__()
        mean = check_array(mean, "mean", ndim=1)
        basis = check_array(basis, "basis", ndim=2)
        if mean.shape != (_SIDE * _SIDE,) or basis.shape[1] != _SIDE * _SIDE:
            raise ValueError(f"mean must have {_SIDE * _SIDE} pixels and basis shape (k, "
                             f"{_SIDE * _SIDE}), got {mean.shape} and {basis.shape}")
        self.register_buffer("mean", torch.from_numpy(mean.copy()))
        self.register_buffer("basis", torch.from_numpy(basis.copy()))

    @property
    def n_components(self) -> int:
        """The size of the latent vector."""
        return int(self.basis.shape[0])

    def forward(self, z):
        x = self.mean + z @ self.basis
        return x.clamp(0.0, 1.0).reshape(-1, 1, _SIDE, _SIDE)

    def decode(self, z) -> np.ndarray:
        """Images (n, 1, 28, 28) of latent vectors ``z`` (n, k)."""
        z = check_array(z, "z", ndim=2)
        with torch.no_grad():
            return self(torch.from_numpy(z)).numpy()


def digits_pca_decoder(X_public, n_components: int = 20) -> DigitsPCADecoder:
    """The adaptive attacker's prior: a PCA (scikit-learn) of unlabelled public digits
    ``X_public`` (n, 1, 28, 28), as a :class:`DigitsPCADecoder`.

    Introduced in lab 06 (Model inversion).
    """
    from sklearn.decomposition import PCA

    X = check_images(X_public, "X_public")
    if X.shape[2:] != (_SIDE, _SIDE):
        raise ValueError(f"X_public must hold 28x28 digits, got {X.shape}")
    k = check_int(n_components, "n_components", 1, min(len(X), _SIDE * _SIDE))
    pca = PCA(n_components=k, svd_solver="full").fit(X.reshape(len(X), -1))
    basis = pca.components_ * np.sqrt(pca.explained_variance_)[:, None]
    return DigitsPCADecoder(pca.mean_.astype(np.float32), basis.astype(np.float32))


def _starts(n: int, decoder, seed: int) -> np.ndarray:
    gen = rng(seed)
    if decoder is None:  # uniform noise images: each restart starts somewhere else
        return gen.uniform(0.0, 1.0, (n, 1, _SIDE, _SIDE)).astype(np.float32)
    # near the mean public digit (z = 0), a small seeded step away for each restart
    return gen.normal(0.0, 0.1, (n, decoder.n_components)).astype(np.float32)


def _check_decoder(decoder):
    if decoder is not None and not isinstance(decoder, DigitsPCADecoder):
        raise ArgumentTypeError(f"decoder must be a DigitsPCADecoder or None, got "
                                f"{type(decoder).__name__}")
    return decoder


def digits_miface(model: nn.Module, *, n_classes: int = 10, n_restarts: int = 5,
                  max_iter: int = 50, learning_rate: float = 0.3, decoder=None,
                  seed: int = 0) -> DigitsInversion:
    """White-box model inversion with ART's ``MIFace``: for each class, gradient ascent on the
    class's logit from ``n_restarts`` seeded random starts, pixels kept in [0, 1].

    With a ``decoder`` (:func:`digits_pca_decoder`), the attack optimises the decoder's latent
    vector instead of the pixels (ART runs on ``decoder`` followed by ``model``), starting near
    the mean public digit: the adaptive attacker's prior. ``model`` returns logits.

    Introduced in lab 06 (Model inversion).
    """
    from art.attacks.inference.model_inversion import MIFace

    model = _check_model(model)
    n_classes = check_int(n_classes, "n_classes", 2)
    n_restarts = check_int(n_restarts, "n_restarts")
    max_iter = check_int(max_iter, "max_iter")
    learning_rate = check_positive(learning_rate, "learning_rate")
    decoder = _check_decoder(decoder)
    labels = np.tile(np.arange(n_classes), n_restarts)
    x0 = _starts(len(labels), decoder, seed)
    if decoder is None:
        clf = digits_inversion_classifier(model, nb_classes=n_classes)
    else:
        clf = digits_inversion_classifier(nn.Sequential(decoder, model),
                                          input_shape=(decoder.n_components,),
                                          nb_classes=n_classes, clip_values=None)
    # ART 1.20's MIFace keeps a sample going only while `1 - output <= threshold`, i.e. while
    # the goal is already met: `MIFace(clf, threshold=0.99).infer(x, y)` freezes, after its
    # first step, every sample whose class output is still below 0.01 (measured on lab 05's
    # CNN from noise: 6 of 10 classes at learning_rate=0.01; 9 of 10 when the model outputs
    # probabilities). An infinite threshold runs exactly `max_iter` steps for every sample.
    attack = MIFace(clf, max_iter=max_iter, window_length=max_iter, threshold=float("inf"),
                    learning_rate=float(learning_rate), batch_size=len(labels), verbose=False)
    with seeded(seed), limited_threads(1):
        out = attack.infer(x0, labels)
    images = decoder.decode(out) if decoder is not None else out
    return DigitsInversion(
        reconstructions=images.reshape(n_restarts, n_classes, 1, _SIDE, _SIDE),
        queries_per_class=0, access="white-box (weights and gradients)")


def digits_api_answers(model: nn.Module, X, access: str = "probabilities",
                       decimals: int = 2) -> np.ndarray:
    """What a serving API answers for the images ``X``: (n, n_classes) probabilities in float64,
    the same rounded to ``decimals`` places, or the one-hot predicted label (``access`` in
    :data:`DIGITS_API_ACCESS`).

    Introduced in lab 06 (Model inversion).
    """
    model = _check_model(model)
    X = check_images(X, "X")
    access = check_choice(access, DIGITS_API_ACCESS, "access")
    decimals = check_int(decimals, "decimals", 0)
    with torch.no_grad(), limited_threads(1):
        proba = torch.softmax(model(torch.from_numpy(X)).double(), dim=1).numpy()
    if access == "rounded":
        return np.round(proba, decimals)
    if access == "label":
        return np.eye(proba.shape[1])[proba.argmax(1)]
    return proba


def digits_zeroth_order_inversion(model: nn.Module, *, access: str = "probabilities",
                                  decimals: int = 2, n_classes: int = 10, n_steps: int = 40,
                                  n_directions: int = 20, sigma: float = 0.1,
                                  learning_rate: float = 0.03, decoder=None,
                                  patience: int = 5, seed: int = 0) -> DigitsInversion:
    """Black-box model inversion through a serving API (:func:`digits_api_answers`): the
    MIFace ascent with the gradient of the log-probability of the class *estimated* from the
    answers (antithetic Gaussian finite differences, NES: Ilyas et al., ICML 2018), one signed
    step of ``learning_rate`` per coordinate per iteration. It costs
    ``n_steps * 2 * n_directions`` queries per class (``queries_per_class``).

    Starts from a grey image (0.5, with a seeded +-0.05 jitter) or, with a ``decoder``, from the
    mean public digit, and searches the decoder's latent space (the adaptive attacker).
    Rounded or label-only answers do not change under small steps: the estimate is zero and
    the image stays where it started. The attacker gives up after ``patience`` steps in a row
    in which no answer to any probe differed from its antithetic twin (the estimate was exactly
    zero for every class); ``queries_per_class`` counts the queries actually spent.

    Why by hand: ART's black-box attacks are evasion and extraction attacks; its only model
    inversion (``MIFace``) needs class gradients.

    Introduced in lab 06 (Model inversion).
    """
    model = _check_model(model)
    access = check_choice(access, DIGITS_API_ACCESS, "access")
    decimals = check_int(decimals, "decimals", 0)
    n_classes = check_int(n_classes, "n_classes", 2)
    n_steps = check_int(n_steps, "n_steps")
    n_dir = check_int(n_directions, "n_directions")
    sigma = check_positive(sigma, "sigma")
    learning_rate = check_positive(learning_rate, "learning_rate")
    decoder = _check_decoder(decoder)
    patience = check_int(patience, "patience")
    gen = rng(seed)
    labels = np.arange(n_classes)
    if decoder is None:
        z = (0.5 + gen.uniform(-0.05, 0.05, (n_classes, _SIDE * _SIDE))).astype(np.float32)

        def decode(v):
            return np.clip(v, 0.0, 1.0).reshape(-1, 1, _SIDE, _SIDE).astype(np.float32)
    else:
        z = np.zeros((n_classes, decoder.n_components), np.float32)
        decode = decoder.decode
    d = z.shape[1]
    steps_done, silent = 0, 0
    for _ in range(n_steps):
        u = gen.standard_normal((n_classes, n_dir, d)).astype(np.float32)
        probes = np.concatenate([z[:, None] + sigma * u, z[:, None] - sigma * u], axis=1)
        answers = digits_api_answers(model, decode(probes.reshape(-1, d)), access, decimals)
        p = answers.reshape(n_classes, 2 * n_dir, -1)[:, :, labels].diagonal(axis1=0, axis2=2).T
        f = np.log(np.maximum(p, 1e-300))  # float64 answers: no underflow short of 1e-308
        grad = ((f[:, :n_dir] - f[:, n_dir:])[:, :, None] * u).sum(1) / (2 * sigma * n_dir)
        steps_done += 1
        silent = silent + 1 if not np.any(f[:, :n_dir] != f[:, n_dir:]) else 0
        if silent >= patience:
            break
        z = z + learning_rate * np.sign(grad).astype(np.float32)
        if decoder is None:
            z = np.clip(z, 0.0, 1.0)
    return DigitsInversion(reconstructions=decode(z)[None],
                           queries_per_class=steps_done * 2 * n_dir,
                           access=f"API: {access}" + (f" ({decimals} decimals)"
                                                      if access == "rounded" else ""))


def _pearson_rows(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Pearson correlation of every row of A with every row of B (a constant row gives 0)."""
    a = A - A.mean(1, keepdims=True)
    b = B - B.mean(1, keepdims=True)
    na, nb = np.linalg.norm(a, axis=1, keepdims=True), np.linalg.norm(b, axis=1, keepdims=True)
    return (a / np.where(na > 0, na, 1.0)) @ (b / np.where(nb > 0, nb, 1.0)).T


def digits_inversion_scores(reconstructions, X, y, *, on: str = "",
                            n_boot: int = 2000, seed: int = 0) -> DigitsInversionScore:
    """Score reconstructions (n_restarts, n_classes, 1, H, W), or (n_classes, 1, H, W), against
    the class means of the training images ``X`` with labels ``y``.

    Per class, the reconstruction is the mean over restarts; its score is the Pearson
    correlation with its class's mean image, and it *identifies* its class when that
    correlation is the highest among the class means. ``correlation_low``/``high`` bootstrap
    the mean correlation over classes (``n_boot`` resamples); ``restart_identification`` is
    the share of single restarts that identify their class (Wilson interval over restarts: the
    attack's randomness, not a sample of classes).

    Introduced in lab 06 (Model inversion).
    """
    from ..stats import proportion

    R = check_array(reconstructions, "reconstructions")
    if R.ndim == 4:
        R = R[None]
    if R.ndim != 5 or R.shape[2] != 1:
        raise ValueError(f"reconstructions must be (n_restarts, n_classes, 1, H, W), got "
                         f"{R.shape}")
    X = check_images(X, "X")
    if X.shape[2:] != R.shape[3:]:
        raise ValueError(f"X images {X.shape[2:]} and reconstructions {R.shape[3:]} differ")
    n_restarts, n_classes = R.shape[:2]
    y = check_labels(y, len(X), "y", n_classes=n_classes)
    if len(np.unique(y)) != n_classes:
        raise ValueError(f"y must hold every one of the {n_classes} classes")
    n_boot = check_int(n_boot, "n_boot")
    on = check_str(on, "on") if on else f"{n_classes} classes"
    means = np.stack([X[y == c].mean(0) for c in range(n_classes)]).reshape(n_classes, -1)
    C = _pearson_rows(R.mean(0).reshape(n_classes, -1), means)
    own = C.diagonal().copy()
    single = _pearson_rows(R.reshape(n_restarts * n_classes, -1), means)
    single_hit = single.argmax(1) == np.tile(np.arange(n_classes), n_restarts)
    boot = own[rng(seed).integers(0, n_classes, (n_boot, n_classes))].mean(1)
    low, high = np.quantile(boot, [0.025, 0.975])
    return DigitsInversionScore(
        correlation=own, correlation_matrix=C, mean_correlation=float(own.mean()),
        correlation_low=float(low), correlation_high=float(high),
        identified=C.argmax(1) == np.arange(n_classes),
        contrast=own - (C.sum(1) - own) / (n_classes - 1),
        restart_identification=proportion(single_hit, on=f"{n_restarts} restarts x {on}"))


def _shifted_copies(x: np.ndarray, n: int, shift: int, noise: float, gen) -> np.ndarray:
    out = np.empty((n, *x.shape), np.float32)
    for i in range(n):
        dy, dx = gen.integers(-shift, shift + 1, 2)
        out[i] = np.roll(x, (int(dy), int(dx)), axis=(-2, -1))
    return np.clip(out + gen.normal(0.0, noise, out.shape), 0.0, 1.0).astype(np.float32)


def _train_softmax_regression(X: np.ndarray, y: np.ndarray, n_classes: int,
                              max_iter: int) -> nn.Module:
    """scikit-learn's multinomial logistic regression (L-BFGS, deterministic), as a torch
    module for ART."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    with limited_threads(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a few hundred steps are enough
        fit = LogisticRegression(C=0.1, max_iter=max_iter).fit(X.reshape(len(X), -1), y)
    if len(fit.classes_) != n_classes:
        raise ValueError(f"the training labels must hold all {n_classes} classes")
    with seeded(0):  # its initial weights are overwritten: leave torch's generator alone
        linear = nn.Linear(X[0].size, n_classes)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(fit.coef_.astype(np.float32)))
        linear.bias.copy_(torch.from_numpy(fit.intercept_.astype(np.float32)))
    return nn.Sequential(nn.Flatten(), linear).eval()


def digits_one_individual_inversion(X, y, *, n_copies: int = 40, shift: int = 2,
                                    noise: float = 0.1, max_fit_iter: int = 200,
                                    n_restarts: int = 3, max_iter: int = 30,
                                    seed: int = 0) -> DigitsIndividualInversion:
    """When a class is one individual, inverting the class recovers that individual.

    For each class, one image of ``X`` (n, 1, 28, 28) (a seeded random choice among the
    class's images) plays one person; the "one person per class" model (a softmax regression,
    the model of Fredrikson et al.'s MI-Face experiments; scikit-learn, L-BFGS for
    ``max_fit_iter`` steps) trains on ``n_copies`` copies of it, each shifted by up to ``shift``
    pixels, with Gaussian pixel noise of standard deviation ``noise``. The control model trains
    the same way on ``X`` itself, where a class is many writers. :func:`digits_miface` inverts
    both; each reconstruction is compared (Pearson) with the chosen image and with every other
    image of its class in ``X``.

    Introduced in lab 06 (Model inversion).
    """
    from ..stats import proportion

    X = check_images(X, "X")
    if X.shape[2:] != (_SIDE, _SIDE):
        raise ValueError(f"X must hold 28x28 digits, got {X.shape}")
    y = check_labels(y, len(X), "y")
    n_classes = int(y.max()) + 1 if len(y) else 0
    if len(np.unique(y)) != n_classes or np.bincount(y).min() < 2:
        raise ValueError("y must hold every class 0..max(y) at least twice")
    n_copies = check_int(n_copies, "n_copies")
    shift = check_int(shift, "shift", 0, X.shape[-1] // 4)
    noise = check_positive(noise, "noise")
    max_fit_iter = check_int(max_fit_iter, "max_fit_iter")
    gen = rng(seed)
    chosen = np.array([gen.choice(np.flatnonzero(y == c)) for c in range(n_classes)])
    X_one = np.concatenate([_shifted_copies(X[i], n_copies, shift, noise, gen) for i in chosen])
    y_one = np.repeat(np.arange(n_classes), n_copies)
    flat = X.reshape(len(X), -1)
    rows = {}
    for name, (Xt, yt) in {"one": (X_one, y_one), "many": (X, y)}.items():
        model = _train_softmax_regression(Xt, yt, n_classes, max_fit_iter)
        R = digits_miface(model, n_classes=n_classes, n_restarts=n_restarts, max_iter=max_iter,
                          seed=seed).reconstructions.mean(0).reshape(n_classes, -1)
        C = _pearson_rows(R, flat)  # (n_classes, n images)
        with_chosen = C[np.arange(n_classes), chosen]
        # how many other images of the class the chosen one beats (share, per class)
        beats = np.array([(C[c, (y == c) & (np.arange(len(y)) != chosen[c])] < with_chosen[c])
                          .mean() for c in range(n_classes)])
        # is the chosen image the closest of its class to the reconstruction?
        top = np.array([np.flatnonzero(y == c)[C[c, y == c].argmax()] == chosen[c]
                        for c in range(n_classes)])
        rows[name] = (R, with_chosen, beats, top)
    on = f"{n_classes} classes"
    return DigitsIndividualInversion(
        chosen=chosen,
        reconstructions_one=rows["one"][0].reshape(n_classes, 1, *X.shape[2:]),
        reconstructions_many=rows["many"][0].reshape(n_classes, 1, *X.shape[2:]),
        correlation_one=rows["one"][1], correlation_many=rows["many"][1],
        beats_one=rows["one"][2], beats_many=rows["many"][2],
        top_one=proportion(rows["one"][3], on=on), top_many=proportion(rows["many"][3], on=on))
