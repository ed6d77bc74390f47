"""The five reference systems, behind one interface.

Every classifier has ``fit(X, y)``, ``predict(X)``, ``predict_proba(X)``, ``evaluate(X, y)`` and,
where adversarial-robustness-toolbox applies, ``art_estimator()``. The recommender has
``fit``, ``predict`` (ratings), ``score`` (all items for some users) and ``recommend``.
:func:`train_baseline` trains a domain's baseline in seconds (or returns the one trained
earlier in this process for the same seed).
"""

from __future__ import annotations

import time

import numpy as np
import torch
from sklearn import metrics as skm
from sklearn.base import clone
from torch import nn
from tqdm.auto import tqdm

from .catalogue import DOMAINS, check_domain
from .repro import device as default_device
from .repro import seeded, torch_generator
from .validate import (
    check_array,
    check_fitted,
    check_int,
    check_labels,
    check_pairs,
    check_positive,
    check_seed,
)

__all__ = [
    "DOMAINS",
    "DiagnosisModel",
    "DigitsCNN",
    "FraudScorer",
    "MFRecommender",
    "REFERENCE_CHECKPOINTS",
    "SklearnSystem",
    "SmallCNN",
    "StandardisedMLP",
    "TabularMLP",
    "TextTriage",
    "art_pytorch_classifier",
    "classification_metrics",
    "fit_torch_classifier",
    "make_system",
    "popularity_scores",
    "ranking_metrics",
    "reference_system",
    "scaled_logistic_regression_estimator",
    "train_reference_digits_cnn",
    "train_reference_recommender",
    "text_triage_pipeline",
    "torch_predict_proba",
    "train_baseline",
]


def classification_metrics(y_true, proba: np.ndarray, target_names=None) -> dict[str, float]:
    """Accuracy, and ROC AUC (binary, or one-vs-rest macro for more classes), from probabilities.

    Introduced in lab 00 (Meet the five systems).
    """
    y_true = np.asarray(y_true)
    proba = np.asarray(proba)
    if proba.ndim != 2 or len(proba) != len(y_true):
        raise ValueError(f"proba must be (n, n_classes) with n={len(y_true)}, got {proba.shape}")
    pred = proba.argmax(1)
    out = {"accuracy": float((pred == y_true).mean())}
    if proba.shape[1] == 2:
        out["roc_auc"] = float(skm.roc_auc_score(y_true, proba[:, 1]))
        out["average_precision"] = float(skm.average_precision_score(y_true, proba[:, 1]))
        out["recall"] = float(skm.recall_score(y_true, pred, zero_division=0))
        out["precision"] = float(skm.precision_score(y_true, pred, zero_division=0))
    elif len(np.unique(y_true)) == proba.shape[1]:
        out["roc_auc_ovr"] = float(
            skm.roc_auc_score(y_true, proba, multi_class="ovr", average="macro")
        )
        out["macro_f1"] = float(skm.f1_score(y_true, pred, average="macro"))
    return out


# --- torch plumbing -------------------------------------------------------------------------------


def fit_torch_classifier(
    model: nn.Module,
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    seed: int = 0,
    device=None,
    progress: bool | str = True,
) -> list[float]:
    """Train ``model`` with Adam and cross-entropy on (X, y); returns the mean loss per epoch.

    Deterministic for a seed (a seeded generator shuffles). Shows a ``tqdm`` bar over epochs
    (``progress`` may be a label for it, or False).

    Introduced in lab 00 (Meet the five systems).
    """
    epochs = check_int(epochs, "epochs")
    batch_size = check_int(batch_size, "batch_size")
    lr = check_positive(lr, "lr")
    dev = device or default_device()
    model.to(dev).train()
    Xt = torch.as_tensor(X, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.long)
    gen = torch_generator(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    losses = []
    label = progress if isinstance(progress, str) else type(model).__name__
    bar = tqdm(range(epochs), desc=f"training {label}", disable=not progress, leave=False)
    for _ in bar:
        perm = torch.randperm(len(Xt), generator=gen)
        total = 0.0
        for start in range(0, len(Xt), batch_size):
            idx = perm[start : start + batch_size]
            xb, yb = Xt[idx].to(dev), yt[idx].to(dev)
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        losses.append(total / len(Xt))
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
    model.eval()
    return losses


@torch.no_grad()
def torch_predict_proba(model: nn.Module, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Softmax probabilities of a torch classifier on a NumPy batch, in evaluation mode.

    Introduced in lab 00 (Meet the five systems).
    """
    model.eval()
    dev = next(model.parameters()).device
    Xt = torch.as_tensor(np.asarray(X, dtype=np.float32))
    out = [
        torch.softmax(model(Xt[i : i + batch_size].to(dev)), dim=1).cpu()
        for i in range(0, len(Xt), batch_size)
    ]
    return torch.cat(out).numpy() if out else np.zeros((0, 0), dtype=np.float32)


def art_pytorch_classifier(model: nn.Module, input_shape: tuple, nb_classes: int,
                           clip_values=None):
    """Wrap a trained torch classifier (logits out) as an ART ``PyTorchClassifier``.

    Introduced in lab 00 (Meet the five systems).
    """
    from art.estimators.classification import PyTorchClassifier

    return PyTorchClassifier(
        model=model,
        loss=nn.CrossEntropyLoss(),
        input_shape=input_shape,
        nb_classes=nb_classes,
        clip_values=clip_values,
        device_type="gpu" if next(model.parameters()).is_cuda else "cpu",
    )


class _ClassifierBase:
    """Shared predict/evaluate for the classifiers."""

    n_classes: int
    domain: str = ""

    def predict(self, X) -> np.ndarray:
        return self.predict_proba(X).argmax(1)

    def evaluate(self, X, y) -> dict[str, float]:
        """Accuracy and AUC on (X, y)."""
        return classification_metrics(y, self.predict_proba(X))

    def _check_fitted(self):
        check_fitted(self, "the system")


# --- image: the digits CNN ----------------------------------------------------------------------


class SmallCNN(nn.Module):
    """Two conv blocks and two dense layers; works on 28x28 (MNIST) and 8x8 (load_digits).

    Introduced in lab 00 (Meet the five systems).
    """

    def __init__(self, image_size: int = 28, n_classes: int = 10, width: int = 16):
        super().__init__()
        if image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4, got {image_size}")
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        side = image_size // 4
        self.head = nn.Sequential(
            nn.Linear(2 * width * side * side, 64), nn.ReLU(), nn.Linear(64, n_classes)
        )
        # channels_last: torch's CPU max-pooling is about 7x faster on it (0.4 ms against
        # 2.8 ms for a batch of 40 digits), which makes the whole forward pass 1.5x faster.
        # The layout changes strides only; every tensor's values and shapes are the same.
        self.to(memory_format=torch.channels_last)

    def forward(self, x):
        return self.head(self.features(x.contiguous(memory_format=torch.channels_last)))


class DigitsCNN(_ClassifierBase):
    """The image reference system: a small CNN that reads handwritten digits (pixels in [0, 1]).

    Introduced in lab 00 (Meet the five systems).
    """

    domain = "image"

    def __init__(self, *, seed: int = 0, epochs: int = 6, lr: float = 2e-3,
                 batch_size: int = 64, width: int = 16):
        self.seed, self.epochs, self.lr, self.batch_size = seed, epochs, lr, batch_size
        self.width = check_int(width, "width")
        self.n_classes = 10

    def _check_X(self, X) -> np.ndarray:
        X = check_array(X, "X", ndim=4)
        if X.shape[1] != 1 or X.shape[2] != X.shape[3]:
            raise ValueError(f"X must be (n, 1, side, side) images, got shape {X.shape}")
        if X.min() < 0 or X.max() > 1:
            raise ValueError("pixels must lie in [0, 1]; divide raw 0-255 pixels by 255")
        return X

    def fit(self, X, y):
        X = self._check_X(X)
        y = check_labels(y, len(X), n_classes=self.n_classes)
        with seeded(self.seed):  # the weights' initialisation, without touching global state
            self.model = SmallCNN(image_size=X.shape[2], n_classes=self.n_classes,
                                  width=self.width)
        self.image_shape = X.shape[1:]
        self.losses_ = fit_torch_classifier(
            self.model, X, y, epochs=self.epochs, lr=self.lr, batch_size=self.batch_size,
            seed=self.seed, progress="digits CNN",
        )
        self.fitted_ = True
        return self

    def restore(self, state_dict, image_side: int = 28):
        """Rebuild the fitted CNN from ``state_dict`` (a checkpoint) instead of training.

        Introduced in lab 02 (Evasion), which loads lab 00's CNN (see ``reference_system``).
        """
        self.model = SmallCNN(image_size=image_side, n_classes=self.n_classes,
                              width=self.width)
        self.model.load_state_dict(state_dict)
        self.model.to(default_device()).eval()
        self.image_shape = (1, image_side, image_side)
        self.losses_ = []
        self.fitted_ = True
        return self

    def predict_proba(self, X) -> np.ndarray:
        self._check_fitted()
        X = self._check_X(X)
        if X.shape[1:] != self.image_shape:
            raise ValueError(f"X images must be {self.image_shape}, got {X.shape[1:]}")
        return torch_predict_proba(self.model, X)

    def art_estimator(self):
        """An ART ``PyTorchClassifier`` around the trained CNN (pixels clipped to [0, 1])."""
        self._check_fitted()
        return art_pytorch_classifier(self.model, tuple(self.image_shape), self.n_classes,
                                      clip_values=(0.0, 1.0))


# --- tabular MLP (fraud and medical, for gradient-based work) ----------------------------------


class StandardisedMLP(nn.Module):
    """An MLP whose first layer standardises raw features with fixed train statistics.

    Standardising inside the module lets gradient attacks work on raw, meaningful features.

    Introduced in lab 00 (Meet the five systems).
    """

    def __init__(self, mean, scale, hidden: int = 64, n_classes: int = 2, depth: int = 2):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(np.asarray(mean), dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(np.asarray(scale), dtype=torch.float32))
        layers, width = [], len(mean)
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, n_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net((x - self.mean) / self.scale)


class TabularMLP(_ClassifierBase):
    """A small torch MLP on tabular features (fraud and medical), standardisation built in.

    Introduced in lab 00 (Meet the five systems).
    """

    def __init__(
        self, *, seed: int = 0, hidden: int = 64, epochs: int = 30, lr: float = 1e-3,
        batch_size: int = 64, weight_decay: float = 1e-4, domain: str = "tabular",
    ):
        self.seed, self.hidden, self.epochs, self.lr = seed, hidden, epochs, lr
        self.batch_size, self.weight_decay, self.domain = batch_size, weight_decay, domain
        self.n_classes = 2

    def fit(self, X, y):
        X = check_array(X, "X", ndim=2)
        y = check_labels(y, len(X))
        self.n_classes = int(max(2, y.max() + 1))
        scale = X.std(0)
        scale[scale == 0] = 1.0
        with seeded(self.seed):
            self.model = StandardisedMLP(X.mean(0), scale, self.hidden, self.n_classes)
        self.n_features_ = X.shape[1]
        self.clip_values_ = (X.min(0), X.max(0))
        self.losses_ = fit_torch_classifier(
            self.model, X, y, epochs=self.epochs, lr=self.lr, batch_size=self.batch_size,
            weight_decay=self.weight_decay, seed=self.seed, progress=f"{self.domain} MLP",
        )
        self.fitted_ = True
        return self

    def predict_proba(self, X) -> np.ndarray:
        self._check_fitted()
        X = check_array(X, "X", ndim=2)
        if X.shape[1] != self.n_features_:
            raise ValueError(f"X must have {self.n_features_} features, got {X.shape[1]}")
        return torch_predict_proba(self.model, X)

    def art_estimator(self):
        """An ART ``PyTorchClassifier`` around the MLP, on raw features."""
        self._check_fitted()
        return art_pytorch_classifier(self.model, (self.n_features_,), self.n_classes)


# --- scikit-learn systems -------------------------------------------------------------------------


class SklearnSystem(_ClassifierBase):
    """A scikit-learn classifier behind the course interface (NLP, fraud trees, medical).

    Introduced in lab 00 (Meet the five systems).
    """

    def __init__(self, estimator, domain: str, text: bool = False):
        self.estimator = estimator
        self.domain = domain
        self.text = text

    def _check_X(self, X):
        if self.text:
            if isinstance(X, str):
                raise TypeError("X must be a list of messages, not one string: wrap it in [ ]")
            X = np.asarray(X, dtype=object)
            if X.ndim != 1 or not all(isinstance(t, str) for t in X):
                raise TypeError("X must be a 1-D sequence of strings (messages)")
            return X
        return check_array(X, "X", ndim=2, dtype=np.float64)

    def fit(self, X, y):
        X = self._check_X(X)
        y = check_labels(y, len(X))
        self.estimator = clone(self.estimator)
        self.estimator.fit(X, y)
        self.n_classes = len(self.estimator.classes_)
        if not self.text:
            self.n_features_ = X.shape[1]
        self.fitted_ = True
        return self

    def predict_proba(self, X) -> np.ndarray:
        self._check_fitted()
        X = self._check_X(X)
        if not self.text and X.shape[1] != self.n_features_:
            raise ValueError(f"X must have {self.n_features_} features, got {X.shape[1]}")
        return self.estimator.predict_proba(X)

    def art_estimator(self, clip_values=None):
        """An ART estimator: gradient-capable for a scaled logistic regression, black-box else."""
        self._check_fitted()
        if self.text:
            raise NotImplementedError(
                "ART's estimators take numeric arrays, not raw text; lab 02 attacks the text "
                "model through its own black-box query interface (predict_proba on strings)"
            )
        from art.estimators.classification import SklearnClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        est = self.estimator
        if (
            isinstance(est, Pipeline)
            and len(est.steps) == 2
            and isinstance(est.steps[0][1], StandardScaler)
            and isinstance(est.steps[1][1], LogisticRegression)
        ):
            # ART's logistic-regression wrapper has exact gradients; the scaler becomes ART's
            # preprocessing, so attacks perturb raw (clinically meaningful) features.
            scaler = est.steps[0][1]
            return scaled_logistic_regression_estimator(
                est.steps[1][1], scaler.mean_, scaler.scale_, clip_values=clip_values)
        return SklearnClassifier(model=est, clip_values=clip_values)


def scaled_logistic_regression_estimator(model, mean, scale, clip_values=None):
    """ART's ``ScikitlearnLogisticRegression`` on raw features with ``preprocessing=(mean,
    scale)``, with its ``loss_gradient`` corrected.

    adversarial-robustness-toolbox 1.20.1 standardises ``x`` in ``loss_gradient`` and then
    calls ``self.predict(x_preprocessed)``, which standardises it a second time, so the
    gradient uses the probabilities of a wrong input. The failing call (lab 02 shows it)::

        est = ScikitlearnLogisticRegression(model=lr, preprocessing=(mean, scale))
        est.loss_gradient(X, Y)   # 23 of 114 WDBC test rows come back all zero

    The subclass below computes the same gradient from ``self.predict(x)`` on the raw input
    (``predict`` applies the preprocessing once). Used by ``SklearnSystem.art_estimator()``.
    Introduced in lab 02 (Evasion).
    """
    from art.estimators.classification.scikitlearn import ScikitlearnLogisticRegression

    class CorrectedLogisticRegression(ScikitlearnLogisticRegression):
        """ScikitlearnLogisticRegression whose loss_gradient preprocesses once."""

        def loss_gradient(self, x, y, **kwargs):
            y = np.asarray(y)
            if y.ndim == 1:
                y = np.eye(self.nb_classes)[y.astype(int)]
            errors = self.predict(x) - y            # preprocessing applied once, in predict
            weights = self.model.coef_
            if weights.shape[0] == 1:               # binary: ART's two-column convention
                weights = np.append(-weights, weights, axis=0)
            gradients = (errors @ weights) / self.model.classes_.size
            return self._apply_preprocessing_gradient(x, gradients)

    return CorrectedLogisticRegression(model=model, clip_values=clip_values,
                                       preprocessing=(np.asarray(mean), np.asarray(scale)))


def text_triage_pipeline(C: float = 10.0, *, char_ngrams: bool = True):
    """The NLP baseline: word 1-2-grams and character 2-5-grams, TF-IDF, logistic regression.

    ``char_ngrams=False`` drops the character n-grams: the same model on words only, about
    4x faster to fit and 7x faster to predict (lab 03 uses it to fit its budget).
    Introduced in lab 00 (Meet the five systems).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    features = make_union(
        words,
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
    ) if char_ngrams else words
    return make_pipeline(
        features,
        # newton-cg reaches the same optimum as the default lbfgs in 7 iterations instead of
        # 43 on these 28k sparse features (1.0 s against 1.6 s a fit; test accuracy equal).
        LogisticRegression(max_iter=2000, C=C, solver="newton-cg"),
    )


def TextTriage(*, char_ngrams: bool = True) -> SklearnSystem:  # noqa: N802 (reads like a class)
    """The NLP reference system: support-message triage (intents and scam) with TF-IDF + LR.

    ``char_ngrams=False``: the words-only variant of :func:`text_triage_pipeline`.
    Introduced in lab 00 (Meet the five systems).
    """
    return SklearnSystem(text_triage_pipeline(char_ngrams=char_ngrams), domain="nlp", text=True)


def FraudScorer(*, seed: int = 0) -> SklearnSystem:  # noqa: N802
    """The fraud reference system: gradient-boosted trees on transaction features.

    Introduced in lab 00 (Meet the five systems).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    return SklearnSystem(
        HistGradientBoostingClassifier(random_state=seed, max_iter=200, learning_rate=0.1),
        domain="fraud",
    )


def DiagnosisModel(C: float = 1.0) -> SklearnSystem:  # noqa: N802
    """The medical reference system: standardised logistic regression on WDBC features.

    Introduced in lab 00 (Meet the five systems).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return SklearnSystem(
        Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression(C=C, max_iter=5000))]),
        domain="medical",
    )


# --- recommender: biased matrix factorisation ------------------------------------------------


class _MF(nn.Module):
    def __init__(self, n_users: int, n_items: int, dim: int, mu: float):
        super().__init__()
        self.P = nn.Embedding(n_users, dim)
        self.Q = nn.Embedding(n_items, dim)
        self.bu = nn.Embedding(n_users, 1)
        self.bi = nn.Embedding(n_items, 1)
        for emb in (self.P, self.Q):
            nn.init.normal_(emb.weight, std=0.05)
        for emb in (self.bu, self.bi):
            nn.init.zeros_(emb.weight)
        self.mu = mu

    def forward(self, u, i):
        dot = (self.P(u) * self.Q(i)).sum(1)
        return self.mu + self.bu(u).squeeze(1) + self.bi(i).squeeze(1) + dot


class MFRecommender:
    """The recommender reference system: biased matrix factorisation of star ratings (torch).

    ``fit(X, y)`` takes X = (n, 2) integer (user, item) indices and y = ratings.

    Introduced in lab 00 (Meet the five systems).
    """

    domain = "recommender"

    def __init__(
        self, n_users: int, n_items: int, *, dim: int = 32, epochs: int = 40, lr: float = 0.01,
        weight_decay: float = 0.05, bias_decay: float = 0.05, batch_size: int = 4096,
        seed: int = 0,
    ):
        if n_users < 1 or n_items < 1 or dim < 1:
            raise ValueError("n_users, n_items and dim must be positive")
        self.n_users, self.n_items, self.dim = int(n_users), int(n_items), int(dim)
        self.epochs, self.lr, self.weight_decay = epochs, lr, weight_decay
        self.bias_decay, self.batch_size, self.seed = bias_decay, batch_size, seed

    def _check_pairs(self, X) -> np.ndarray:
        return check_pairs(X, self.n_users, self.n_items)

    def fit(self, X, y):
        X = self._check_pairs(X)
        y = check_array(y, "y", ndim=1)
        if len(y) != len(X):
            raise ValueError(f"y must have one rating per row of X ({len(X)}), got {len(y)}")
        dev = default_device()
        with seeded(self.seed):
            self.model = _MF(self.n_users, self.n_items, self.dim, float(y.mean())).to(dev)
        u = torch.as_tensor(X[:, 0], device=dev)
        i = torch.as_tensor(X[:, 1], device=dev)
        r = torch.as_tensor(y, device=dev)
        opt = torch.optim.Adam(self.model.parameters(), lr=self.lr)
        gen = torch_generator(self.seed)
        self.losses_ = []
        for _ in tqdm(range(self.epochs), desc="training MF recommender", leave=False):
            perm = torch.randperm(len(u), generator=gen).to(dev)
            total = 0.0
            for s in range(0, len(u), self.batch_size):
                idx = perm[s : s + self.batch_size]
                ub, ib = u[idx], i[idx]
                opt.zero_grad()
                err = nn.functional.mse_loss(self.model(ub, ib), r[idx])
                reg = self.weight_decay * (
                    self.model.P(ub).pow(2).sum(1) + self.model.Q(ib).pow(2).sum(1)
                ).mean() + self.bias_decay * (
                    self.model.bu(ub).pow(2).sum(1) + self.model.bi(ib).pow(2).sum(1)
                ).mean()
                (err + reg).backward()
                opt.step()
                total += err.item() * len(idx)
            self.losses_.append(total / len(u))
        self.model.eval()
        self._remember_seen(X)
        self.fitted_ = True
        return self

    def restore(self, state_dict, X):
        """Rebuild the fitted model from ``state_dict`` (a checkpoint) and its training pairs
        ``X`` (for the items each user has seen) instead of training.

        Introduced in lab 02 (Evasion), which loads lab 00's recommender (see
        ``reference_system``).
        """
        X = self._check_pairs(X)
        state = dict(state_dict)
        if "mu" not in state:
            raise ValueError("state_dict must hold 'mu', the global mean rating, as a tensor")
        self.model = _MF(self.n_users, self.n_items, self.dim, float(state.pop("mu")))
        self.model.load_state_dict(state)
        self.model.to(default_device()).eval()
        self.losses_ = []
        self._remember_seen(X)
        self.fitted_ = True
        return self

    def _remember_seen(self, X):
        self.seen_ = {}
        order = np.argsort(X[:, 0], kind="stable")
        users, starts = np.unique(X[order, 0], return_index=True)
        for k, user in enumerate(users):
            end = starts[k + 1] if k + 1 < len(starts) else len(order)
            self.seen_[int(user)] = X[order[starts[k] : end], 1]

    def _check_fitted(self):
        check_fitted(self, "the recommender")

    @torch.no_grad()
    def predict(self, X) -> np.ndarray:
        """Predicted ratings for (user, item) pairs, clipped to the 0.5-5 star scale."""
        self._check_fitted()
        X = self._check_pairs(X)
        dev = next(self.model.parameters()).device
        out = self.model(torch.as_tensor(X[:, 0], device=dev), torch.as_tensor(X[:, 1], device=dev))
        return out.clamp(0.5, 5.0).cpu().numpy()

    def predict_proba(self, X):
        """Not defined: the recommender predicts ratings (use predict, score or recommend)."""
        raise TypeError("the recommender predicts ratings: use predict, score or recommend")

    @torch.no_grad()
    def score(self, users) -> np.ndarray:
        """Predicted rating of every item for each of ``users``: shape (len(users), n_items)."""
        self._check_fitted()
        users = np.atleast_1d(np.asarray(users))
        if not np.issubdtype(users.dtype, np.integer) or users.min() < 0 or (
            users.max() >= self.n_users
        ):
            raise ValueError(f"users must be integer indices in 0..{self.n_users - 1}")
        m = self.model
        dev = next(m.parameters()).device
        u = torch.as_tensor(users, device=dev)
        s = m.mu + m.bu(u) + m.bi.weight.T + m.P(u) @ m.Q.weight.T
        return s.cpu().numpy()

    def recommend(self, user: int, k: int = 10, exclude_seen: bool = True) -> np.ndarray:
        """The top-``k`` item indices for ``user``, leaving out what they rated in training."""
        if not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"k must be a positive int, got {k!r}")
        s = self.score([user])[0]
        if exclude_seen:
            s[self.seen_.get(int(user), [])] = -np.inf
        top = np.argpartition(-s, k)[:k]
        return top[np.argsort(-s[top], kind="stable")]

    def evaluate(self, X, y) -> dict[str, float]:
        """RMSE and MAE on held-out (user, item, rating) rows."""
        pred = self.predict(X)
        y = check_array(y, "y", ndim=1)
        return {
            "rmse": float(np.sqrt(np.mean((pred - y) ** 2))),
            "mae": float(np.mean(np.abs(pred - y))),
        }


def ranking_metrics(scores: np.ndarray, train_pairs, test_pairs, test_ratings, k: int = 10,
                    like_threshold: float = 4.0) -> dict[str, float]:
    """HR@k and NDCG@k over users: are the items a user liked next in the top k?

    ``scores`` is (n_users, n_items); items seen in training are excluded from ranking. A user
    counts when they have at least one held-out rating >= ``like_threshold``. Vectorised with
    torch (fast enough to draw curves over many perturbation sizes, as lab 02 does).

    Introduced in lab 00 (Meet the five systems).
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    S = torch.as_tensor(np.asarray(scores, dtype=np.float32)).clone()
    if S.ndim != 2:
        raise ValueError(f"scores must be (n_users, n_items), got shape {tuple(S.shape)}")
    train_pairs, test_pairs = np.asarray(train_pairs), np.asarray(test_pairs)
    for name, p in (("train_pairs", train_pairs), ("test_pairs", test_pairs)):
        if p.ndim != 2 or p.shape[1] != 2:
            raise ValueError(f"{name} must be (n, 2) (user, item) pairs, got {p.shape}")
    liked = np.asarray(test_ratings) >= like_threshold
    S[train_pairs[:, 0], train_pairs[:, 1]] = -torch.inf
    rel = torch.zeros(S.shape, dtype=torch.bool)
    rel[test_pairs[liked, 0], test_pairs[liked, 1]] = True
    users = rel.any(1)
    top = torch.topk(S, int(k), dim=1).indices
    hit = rel.gather(1, top).float()
    disc = 1.0 / torch.log2(torch.arange(2, int(k) + 2, dtype=torch.float32))
    n_rel = rel.sum(1).clamp(max=int(k))
    ideal = torch.cumsum(disc, 0)[(n_rel - 1).clamp(min=0)]
    ndcg = (hit * disc).sum(1) / ideal
    return {f"hr@{k}": float(hit.max(1).values[users].mean()),
            f"ndcg@{k}": float(ndcg[users].mean()), "users": int(users.sum())}


def popularity_scores(train_pairs, n_users: int, n_items: int) -> np.ndarray:
    """The popularity baseline: every user gets items ranked by their number of ratings.

    Introduced in lab 00 (Meet the five systems).
    """
    counts = np.bincount(np.asarray(train_pairs)[:, 1], minlength=n_items).astype(np.float64)
    return np.broadcast_to(counts, (n_users, n_items))


# --- one call per domain ----------------------------------------------------------------------

_CACHE: dict[tuple[str, int], object] = {}


def make_system(domain: str, data=None, *, seed: int = 0):
    """An untrained reference system for ``domain`` (the recommender needs ``data`` for sizes).

    Introduced in lab 00 (Meet the five systems).
    """
    check_domain(domain)
    if domain == "image":
        return DigitsCNN(seed=seed)
    if domain == "nlp":
        return TextTriage()
    if domain == "recommender":
        if data is None:
            raise ValueError("the recommender needs the dataset to know n_users and n_items")
        return MFRecommender(data.extra["n_users"], data.extra["n_items"], seed=seed)
    if domain == "fraud":
        return FraudScorer(seed=seed)
    if domain == "medical":
        return DiagnosisModel()
    raise AssertionError(f"no reference system for domain {domain!r}")  # pragma: no cover


REFERENCE_CHECKPOINTS: dict[str, str] = {"image": "lab00_digits_cnn",
                                          "recommender": "lab00_recommender"}
"""Domains whose seed-0 reference system later labs load from a checkpoint (the two that take
seconds to train). Introduced in lab 02 (Evasion)."""


def reference_system(domain: str, *, seed: int = 0):
    """Lab 00's reference system of ``domain``, trained on the domain's dataset of seed 0.

    For ``seed=0`` the digits CNN and the recommender are loaded from the checkpoints in
    :data:`REFERENCE_CHECKPOINTS` (trained by :func:`train_baseline` with seed 0, the same
    call lab 00 makes), so that a later lab does not spend its time budget retraining them;
    for any other seed (``python tasks.py seeds``) and for the other domains the system is
    trained here. ``source_`` on the result says which. The data split is always seed 0's,
    as in the labs.

    Introduced in lab 02 (Evasion).
    """
    from . import checkpoints
    from .data import load_dataset

    check_domain(domain)
    seed = check_seed(seed)
    name = REFERENCE_CHECKPOINTS.get(domain)
    if seed != 0 or name is None:
        system = train_baseline(domain, load_dataset(domain, seed=0), seed=seed)
        system.source_ = f"trained here with seed {seed} in {system.train_seconds_:.1f} s"
        return system
    data = load_dataset(domain, seed=0)
    tensors = checkpoints.load(name)
    if domain == "image":
        system = DigitsCNN(seed=0).restore(tensors, image_side=data.X_train.shape[2])
    else:
        system = make_system(domain, data, seed=0).restore(tensors, data.X_train)
    ckpt = checkpoints.CHECKPOINTS[name]
    system.train_seconds_ = 0.0
    system.source_ = (f"loaded from {ckpt.path.name} (SHA-256 {ckpt.sha256[:16]}..., what "
                      f"train_baseline({domain!r}, seed=0) trains; retrain: "
                      f"{ckpt.retrain_call})")
    return system


def train_reference_digits_cnn() -> dict:
    """Checkpoint trainer of ``lab00_digits_cnn``: the seed-0 reference CNN's weights.

    Introduced in lab 02 (Evasion).
    """
    from .data import load_dataset

    system = train_baseline("image", load_dataset("image", seed=0), seed=0)
    return {k: v.detach().cpu().contiguous() for k, v in system.model.state_dict().items()}


def train_reference_recommender() -> dict:
    """Checkpoint trainer of ``lab00_recommender``: the seed-0 reference recommender's weights
    and its global mean rating ``mu``.

    Introduced in lab 02 (Evasion).
    """
    from .data import load_dataset

    system = train_baseline("recommender", load_dataset("recommender", seed=0), seed=0)
    tensors = {k: v.detach().cpu().contiguous() for k, v in system.model.state_dict().items()}
    tensors["mu"] = torch.tensor(system.model.mu, dtype=torch.float64)
    return tensors


def train_baseline(domain: str, data=None, *, seed: int = 0, cache: bool = True):
    """Train (or return this process's cached) baseline of ``domain`` on its dataset.

    Without ``data`` the domain's own dataset for ``seed`` is loaded, and the result is cached
    per (domain, seed). With ``data`` the system is trained on it and never cached, so a model
    trained on altered data (a poisoned set, a subset) cannot later pass for the baseline.
    Returns the fitted system; its ``train_seconds_`` says how long training took.

    Introduced in lab 00 (Meet the five systems).
    """
    from .data import load_dataset

    check_domain(domain)
    key = (domain, seed)
    use_cache = cache and data is None
    if use_cache and key in _CACHE:
        return _CACHE[key]
    data = data if data is not None else load_dataset(domain, seed=seed)
    system = make_system(domain, data, seed=seed)
    start = time.perf_counter()
    system.fit(data.X_train, data.y_train)
    system.train_seconds_ = time.perf_counter() - start
    if use_cache:
        _CACHE[key] = system
    return system
