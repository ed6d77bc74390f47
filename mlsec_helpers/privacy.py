"""Membership inference and differential privacy, in the five domains.

Introduced in lab 05 (Membership inference). The attacks answer one question: *was this record
in the training data?* (this image, this message, this user, this customer, this patient).

==========================  =======================================================  ==========
piece                       what it does                                             library
==========================  =======================================================  ==========
loss threshold (Yeom)       a record is a member when the model's loss on it is low   by hand
ART black-box attack        an attack model trained on (shadow) model probabilities   ART
offline LiRA (Carlini)      per-example Gaussian fit of shadow models' OUT            by hand
                            confidences; online LiRA adds the IN fit
DP-SGD                      per-example clipping and Gaussian noise, with the         opacus
                            accountant that turns noise into (eps, delta)
char-level LM               an LSTM language model, and opacus's ``DPLSTM`` for DP    opacus
==========================  =======================================================  ==========

ART 1.20 has Shokri's shadow-model recipe (``ShadowModels``, ``MembershipInferenceBlackBox``)
but no likelihood-ratio attack, so LiRA is written here (a few lines of NumPy). Everything
else uses adversarial-robustness-toolbox, opacus and scikit-learn.

The experiments of lab 05 whose training would break the notebook's 60 s budget (the digits
shadow and DP models, the character-level language models) are
checkpoints trained by the deterministic trainers below (:func:`train_digits_models`,
:func:`train_char_lm_models`); the attacks run live.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from . import checkpoints
from .repro import torch_generator
from .validate import check_int

# --- input checks -------------------------------------------------------------------------------


def _vector(x, name: str, dtype=np.float64) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a 1-D numeric array, got {type(x).__name__}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if dtype is np.float64 and np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    return arr


def _membership(y_true, n: int | None = None, name: str = "y_true") -> np.ndarray:
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (1 = member, 0 = non-member), got shape {y.shape}")
    if n is not None and len(y) != n:
        raise ValueError(f"{name} has {len(y)} entries but the scores have {n}")
    if y.dtype != bool:
        if not np.isin(y, (0, 1)).all():
            raise ValueError(f"{name} must hold 0/1 or booleans (1 = member)")
        y = y.astype(bool)
    if y.all() or not y.any():
        raise ValueError(f"{name} must contain both members (1) and non-members (0)")
    return y


def _proba_and_labels(proba, labels) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(proba, torch.Tensor):
        proba = proba.detach().cpu().numpy()
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"proba must be (n, n_classes) with n_classes >= 2, got shape {p.shape}")
    if np.isnan(p).any() or p.min() < 0 or p.max() > 1 + 1e-6:
        raise ValueError("proba must hold probabilities in [0, 1] (use softmax on logits)")
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != len(p):
        raise ValueError(f"labels must be 1-D with one label per row of proba ({len(p)}), "
                         f"got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise TypeError(f"labels must be integer class indices, got dtype {y.dtype}")
    if len(y) and (y.min() < 0 or y.max() >= p.shape[1]):
        raise ValueError(f"labels must lie in 0..{p.shape[1] - 1}")
    return p, y.astype(np.int64)


def _positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return float(value)


def _check_delta(delta) -> float:
    if isinstance(delta, bool) or not isinstance(delta, int | float | np.integer | np.floating):
        raise TypeError(f"delta must be a number, got {type(delta).__name__}")
    if not 0 < delta < 1:
        raise ValueError(f"delta must lie strictly between 0 and 1, got {delta}")
    return float(delta)


def _check_rate(sample_rate) -> float:
    q = _positive(sample_rate, "sample_rate")
    if q > 1:
        raise ValueError(f"sample_rate (batch size / dataset size) must be <= 1, got {q}")
    return q


_check_count = check_int


# --- the scores an attacker computes ----------------------------------------------------------


def cross_entropy_losses(proba, labels, floor: float = 1e-12) -> np.ndarray:
    """Per-example cross-entropy ``-log p_y`` from predicted probabilities and true labels.

    ``p_y`` is floored at ``floor`` so a confidently wrong prediction gives a large, finite loss.

    Introduced in lab 05 (Membership inference).
    """
    p, y = _proba_and_labels(proba, labels)
    return -np.log(np.maximum(p[np.arange(len(y)), y], floor))


def loss_threshold_attack(proba, labels, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """The loss-threshold attack of Yeom et al. (2018).

    A model's loss is lower on the records it was trained on, so a record is called a member
    when its cross-entropy loss is at most ``threshold`` (Yeom et al. use the model's average
    training loss). Returns ``(scores, is_member)``: ``scores = -loss`` (higher means "more
    likely a member", for ROC curves) and the boolean decisions.

    Introduced in lab 05 (Membership inference).
    """
    if isinstance(threshold, bool) or not isinstance(threshold, int | float | np.integer |
                                                      np.floating):
        raise TypeError(f"threshold must be a number, got {type(threshold).__name__}")
    loss = cross_entropy_losses(proba, labels)
    return -loss, loss <= threshold


def logit_confidence(proba, labels, floor: float = 1e-300) -> np.ndarray:
    """The logit-scaled confidence ``log(p_y / (1 - p_y))`` LiRA fits Gaussians to.

    Computed as ``log p_y - log(sum of the other classes' p)`` (not ``1 - p_y``, which rounds
    to 0 for confident models). Prefer :func:`logit_confidence_from_logits` when you have logits.

    Introduced in lab 05 (Membership inference).
    """
    p, y = _proba_and_labels(proba, labels)
    rows = np.arange(len(y))
    p_y = p[rows, y]
    others = p.copy()
    others[rows, y] = 0.0
    other = others.sum(1)
    return np.log(np.maximum(p_y, floor)) - np.log(np.maximum(other, floor))


def logit_confidence_from_logits(logits, labels) -> np.ndarray:
    """``log(p_y / (1 - p_y))`` computed stably from logits: ``z_y - logsumexp(z_j, j != y)``.

    Introduced in lab 05 (Membership inference).
    """
    z = logits.detach().cpu().double() if isinstance(logits, torch.Tensor) else torch.as_tensor(
        np.asarray(logits, dtype=np.float64))
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(f"logits must be (n, n_classes), got shape {tuple(z.shape)}")
    y = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    if y.ndim != 1 or len(y) != len(z):
        raise ValueError(f"labels must be 1-D with {len(z)} entries, got shape {tuple(y.shape)}")
    if len(y) and (y.min() < 0 or y.max() >= z.shape[1]):
        raise ValueError(f"labels must lie in 0..{z.shape[1] - 1}")
    mask = nn.functional.one_hot(y, z.shape[1]).bool()
    z_y = z[torch.arange(len(y)), y]
    return (z_y - torch.logsumexp(z.masked_fill(mask, -math.inf), 1)).numpy()


def losses_from_logits(logits, labels) -> np.ndarray:
    """Per-example cross-entropy from logits, exact even for tiny losses.

    ``loss = log(1 + exp(-phi))`` with ``phi`` from :func:`logit_confidence_from_logits`: a
    memorised example's loss of 1e-20 stays 1e-20 instead of rounding to 0.

    Introduced in lab 05 (Membership inference).
    """
    phi = torch.as_tensor(logit_confidence_from_logits(logits, labels))
    return nn.functional.softplus(-phi).numpy()


def loss_to_logit_confidence(losses) -> np.ndarray:
    """Turn cross-entropy losses into logit-scaled confidences: ``p = exp(-loss)``,
    ``log(p / (1 - p)) = -loss - log(1 - exp(-loss))`` (computed with ``expm1``).

    A loss of exactly 0 gives ``+inf``; losses are floored at 1e-300 to keep it finite.

    Introduced in lab 05 (Membership inference).
    """
    loss = _vector(losses, "losses")
    if (loss < 0).any():
        raise ValueError("losses must be >= 0")
    loss = np.maximum(loss, 1e-300)
    return -loss - np.log(-np.expm1(-loss))


# --- metrics: the field reports TPR at a low FPR, on log-scaled ROC curves ----------------------


def tpr_at_fpr(y_true, scores, fpr: float = 0.01) -> float:
    """The best true-positive rate of any threshold whose false-positive rate is <= ``fpr``.

    ``scores``: higher means "more likely a member"; ``y_true``: 1 for members. Carlini et
    al. (2022) argue this, at a low ``fpr`` such as 1% or 0.1%, is what matters: an attack
    that confidently identifies a few records is a privacy breach even when its AUC is ~0.5.
    ART's ``art.metrics.privacy.get_roc_for_fpr`` reads the same number off scikit-learn's
    thinned ROC curve, which can skip a threshold where ROC points are collinear (ties); this
    keeps every threshold.

    Introduced in lab 05 (Membership inference).
    """
    from sklearn.metrics import roc_curve

    s = _vector(scores, "scores")
    y = _membership(y_true, len(s))
    if isinstance(fpr, bool) or not isinstance(fpr, int | float | np.floating):
        raise TypeError(f"fpr must be a number, got {type(fpr).__name__}")
    if not 0 <= fpr <= 1:
        raise ValueError(f"fpr must lie in [0, 1], got {fpr}")
    fprs, tprs, _ = roc_curve(y, s, drop_intermediate=False)
    return float(tprs[fprs <= fpr + 1e-12].max())


def membership_metrics(y_true, scores, fpr: float = 0.01) -> dict[str, float]:
    """ROC AUC, TPR at ``fpr`` and the membership advantage (max TPR - FPR) of an attack.

    Introduced in lab 05 (Membership inference).
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    s = _vector(scores, "scores")
    y = _membership(y_true, len(s))
    fprs, tprs, _ = roc_curve(y, s)
    return {
        "auc": float(roc_auc_score(y, s)),
        "tpr_at_fpr": tpr_at_fpr(y, s, fpr),
        "advantage": float(np.max(tprs - fprs)),
    }


def membership_roc(curves: dict, title: str | None = None):
    """ROC curves of membership attacks on log-log axes (``{name: (y_true, scores)}``).

    Introduced in lab 05 (Membership inference).
    """
    from . import plots

    if not curves:
        raise ValueError("curves must name at least one attack")
    checked = {}
    for name, pair in curves.items():
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise TypeError(f"curve {name!r} must be a pair (y_true, scores)")
        s = _vector(pair[1], f"scores of {name!r}")
        checked[name] = (_membership(pair[0], len(s)), s)
    return plots.roc_curves(checked, title=title, log=True)


# --- LiRA (Carlini et al. 2022) ---------------------------------------------------------------


def lira_offline_score(target_loss: float, shadow_losses, global_std: float | None = None
                       ) -> float:
    """Offline LiRA score of ONE example from the target's and the OUT shadows' losses on it.

    Losses become logit-scaled confidences (:func:`loss_to_logit_confidence`); a Gaussian is
    fitted to the shadows' values (mean, population std; ``global_std`` replaces the std, the
    fixed-variance variant for few shadows) and the score is the one-sided z-score
    ``(phi_target - mean) / std``: how far above the confidence of models that never saw the
    example the target's confidence lies. Larger means "more likely a member"; Carlini et al.'s
    test statistic ``Phi(z)`` orders examples the same way.

    Introduced in lab 05 (Membership inference).
    """
    shadow = _vector(shadow_losses, "shadow_losses")
    if len(shadow) < 2:
        raise ValueError("LiRA needs at least 2 shadow losses to fit a Gaussian")
    target = loss_to_logit_confidence(np.array([float(target_loss)]))[0]
    phi = loss_to_logit_confidence(shadow)
    std = float(np.std(phi)) if global_std is None else _positive(global_std, "global_std")
    return float((target - phi.mean()) / max(std, 1e-12))


def lira_offline_scores(target_phi, shadow_phi, global_variance: bool = False) -> np.ndarray:
    """Offline LiRA for many examples: ``target_phi`` (n,), OUT shadows' ``shadow_phi`` (k, n).

    Returns the z-scores of :func:`lira_offline_score` (same maths, vectorised, on
    logit-scaled confidences). ``global_variance=True`` uses one pooled within-example std
    (Carlini et al.'s "fixed variance", better with fewer than ~64 shadows).

    Introduced in lab 05 (Membership inference).
    """
    t = _vector(target_phi, "target_phi")
    s = np.asarray(shadow_phi, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] != len(t):
        raise ValueError(f"shadow_phi must be (n_shadows, {len(t)}), got shape {s.shape}")
    if s.shape[0] < 2:
        raise ValueError("LiRA needs at least 2 shadow models")
    mean = s.mean(0)
    std = np.sqrt(s.var(0).mean()) if global_variance else s.std(0)
    return (t - mean) / np.maximum(std, 1e-12)


def _masked_stats(values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = np.maximum(mask.sum(0), 1)
    mean = np.where(mask, values, 0).sum(0) / n
    var = np.where(mask, (values - mean) ** 2, 0).sum(0) / n
    return mean, np.sqrt(var)


def lira_online_scores(target_phi, shadow_phi, shadow_in, global_variance: bool = True
                       ) -> np.ndarray:
    """Online LiRA: log-likelihood ratio of the target's confidence under the IN and OUT fits.

    ``shadow_in`` (k, n) says which shadows trained on which example (the attacker trains
    shadows on random halves of a population that contains the candidates). Each example
    needs at least one IN and one OUT shadow.

    Introduced in lab 05 (Membership inference).
    """
    from scipy.stats import norm

    t = _vector(target_phi, "target_phi")
    s = np.asarray(shadow_phi, dtype=np.float64)
    keep = np.asarray(shadow_in, dtype=bool)
    if s.ndim != 2 or s.shape[1] != len(t) or keep.shape != s.shape:
        raise ValueError(f"shadow_phi and shadow_in must both be (n_shadows, {len(t)}), got "
                         f"{s.shape} and {keep.shape}")
    if (keep.sum(0) < 1).any() or ((~keep).sum(0) < 1).any():
        raise ValueError("every example needs at least one IN and one OUT shadow model")
    mu_in, sd_in = _masked_stats(s, keep)
    mu_out, sd_out = _masked_stats(s, ~keep)
    if global_variance:
        sd_in = np.full_like(sd_in, np.sqrt(np.mean(sd_in ** 2)))
        sd_out = np.full_like(sd_out, np.sqrt(np.mean(sd_out ** 2)))
    sd_in, sd_out = np.maximum(sd_in, 1e-12), np.maximum(sd_out, 1e-12)
    return norm.logpdf(t, mu_in, sd_in) - norm.logpdf(t, mu_out, sd_out)


def leave_one_out_lira(phi, keep, online: bool = True, global_variance: bool = True
                       ) -> tuple[np.ndarray, np.ndarray]:
    """LiRA against each of ``m`` models in turn, the other ``m - 1`` being its shadows.

    ``phi`` (m, n): every model's logit-scaled confidence on every example of a population;
    ``keep`` (m, n): which examples each model trained on. This is how Carlini et al. evaluate:
    pooling m targets gives m x n (score, membership) pairs, so even a small leak is measured
    precisely. Returns ``(scores, is_member)``, both (m, n).

    Introduced in lab 05 (Membership inference).
    """
    phi = np.asarray(phi, dtype=np.float64)
    keep = np.asarray(keep, dtype=bool)
    if phi.ndim != 2 or keep.shape != phi.shape:
        raise ValueError(f"phi and keep must be two (models, examples) arrays of one shape, "
                         f"got {phi.shape} and {keep.shape}")
    if len(phi) < 3:
        raise ValueError("leave-one-out LiRA needs at least 3 models")
    scores = np.empty_like(phi)
    for m in range(len(phi)):
        others = np.arange(len(phi)) != m
        if online:
            scores[m] = lira_online_scores(phi[m], phi[others], keep[others], global_variance)
        else:
            out = ~keep[others]
            mu, sd = _masked_stats(phi[others], out)
            if global_variance:
                sd = np.full_like(sd, np.sqrt(np.mean(sd ** 2)))
            scores[m] = (phi[m] - mu) / np.maximum(sd, 1e-12)
    return scores, keep.copy()


# --- ART's black-box attack, fed with probabilities --------------------------------------------


def art_black_box_attack(train_in, train_out, attack, *, attack_model: str = "rf",
                         seed: int = 0) -> np.ndarray:
    """ART's ``MembershipInferenceBlackBox`` trained on probabilities, then run on others.

    ``train_in`` and ``train_out`` are ``(proba, labels)`` of records the attacker KNOWS to be
    members and non-members of some model (Shokri et al.'s shadow-model recipe: a shadow model
    the attacker trained on data of their own); ``attack`` is ``(proba, labels)`` of the
    target's records to judge. ART's attack model (a seeded random forest by default) learns
    "member or not" from the probability vector and the label. Returns its membership
    probabilities for ``attack``. No query is made: the probabilities are supplied.

    Introduced in lab 05 (Membership inference).
    """
    from art.attacks.inference.membership_inference import MembershipInferenceBlackBox
    from art.estimators.classification import BlackBoxClassifier

    parts = []
    for name, pair in (("train_in", train_in), ("train_out", train_out), ("attack", attack)):
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise TypeError(f"{name} must be a pair (proba, labels)")
        parts.append(_proba_and_labels(*pair))
    n_classes = {p.shape[1] for p, _ in parts}
    if len(n_classes) != 1:
        raise ValueError(f"the three probability arrays disagree on the number of classes: "
                         f"{sorted(n_classes)}")
    k = n_classes.pop()
    models = {"rf": "RandomForestClassifier", "gb": "GradientBoostingClassifier"}
    if attack_model not in models:
        raise ValueError(f"attack_model must be one of {sorted(models)}, got {attack_model!r}")

    def no_queries(x):  # the probabilities are supplied: the target is never queried
        raise RuntimeError("art_black_box_attack supplies predictions; it makes no queries")

    estimator = BlackBoxClassifier(no_queries, input_shape=(k,), nb_classes=k)
    mia = MembershipInferenceBlackBox(estimator, input_type="prediction",
                                      attack_model_type=attack_model)
    # ART builds its default attack model unseeded; give it a seed for reproducible numbers.
    mia.attack_model.set_params(random_state=seed)
    (p_in, y_in), (p_out, y_out), (p_att, y_att) = parts
    mia.fit(x=None, y=y_in, test_x=None, test_y=y_out, pred=p_in.astype(np.float32),
            test_pred=p_out.astype(np.float32))
    return mia.infer(None, y_att, pred=p_att.astype(np.float32), probabilities=True)[:, 0]


# --- accounting: (eps, delta) from noise, sampling rate and steps ------------------------------

_ACCOUNTANTS = ("rdp", "prv", "gdp")


def _check_accountant(accountant: str) -> str:
    if accountant not in _ACCOUNTANTS:
        raise ValueError(f"accountant must be one of {_ACCOUNTANTS}, got {accountant!r}")
    return accountant


RDP_ORDERS: tuple[int, ...] = (*range(2, 64), 80, 96, 128, 192, 256)
"""The Renyi orders :func:`epsilon_for` optimises over. Introduced in lab 05 (Membership
inference). opacus's ``RDPAccountant`` also tries fractional orders between 1 and 2, which are
ten times slower to evaluate and change eps by less than 2% wherever eps <= 10."""


@functools.lru_cache(maxsize=4096)
def _rdp_one_step(sample_rate: float, noise_multiplier: float) -> np.ndarray:
    from opacus.accountants.analysis import rdp

    return np.asarray(rdp.compute_rdp(q=sample_rate, noise_multiplier=noise_multiplier, steps=1,
                                      orders=list(RDP_ORDERS)))


def epsilon_for(noise_multiplier: float, sample_rate: float, steps: int, delta: float,
                accountant: str = "rdp") -> float:
    """The eps that DP-SGD spends: ``steps`` noisy steps with Poisson sampling rate
    ``sample_rate`` (opacus uses 1 / batches per epoch) and noise ``noise_multiplier`` x the
    clipping norm, at failure probability ``delta``.

    ``"rdp"``: opacus's RDP analysis (``compute_rdp``, ``get_privacy_spent``) over
    :data:`RDP_ORDERS`; RDP adds up over steps, so one step is computed per (rate, noise) and
    cached. ``"prv"`` and ``"gdp"``: opacus's other accountants.

    Introduced in lab 05 (Membership inference).
    """
    sigma = _positive(noise_multiplier, "noise_multiplier")
    q = _check_rate(sample_rate)
    steps = _check_count(steps, "steps")
    delta = _check_delta(delta)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "optimal order is the largest alpha" and the like
        if _check_accountant(accountant) == "rdp":
            from opacus.accountants.analysis import rdp

            eps, _ = rdp.get_privacy_spent(orders=list(RDP_ORDERS),
                                           rdp=_rdp_one_step(q, sigma) * steps, delta=delta)
            return float(eps)
        from opacus.accountants import create_accountant

        acc = create_accountant(mechanism=accountant)
        acc.history = [(sigma, q, steps)]
        return float(acc.get_epsilon(delta=delta))


def noise_for_epsilon(target_epsilon: float, delta: float, sample_rate: float, steps: int,
                      accountant: str = "rdp", tolerance: float = 0.01) -> float:
    """The smallest noise multiplier whose eps (:func:`epsilon_for`) meets ``target_epsilon``.

    A wrapper around opacus's ``get_noise_multiplier`` (a bisection on the accountant) that
    checks its arguments first.

    Introduced in lab 05 (Membership inference).
    """
    from opacus.accountants.utils import get_noise_multiplier

    eps = _positive(target_epsilon, "target_epsilon")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(get_noise_multiplier(
            target_epsilon=eps, target_delta=_check_delta(delta),
            sample_rate=_check_rate(sample_rate), steps=_check_count(steps, "steps"),
            accountant=_check_accountant(accountant),
            epsilon_tolerance=_positive(tolerance, "tolerance")))


def group_epsilon(epsilon: float, group_size: int) -> float:
    """eps for a group of ``group_size`` records (one user's ratings, one customer's
    transactions) under record-level (eps, delta)-DP: at most ``group_size * epsilon``.

    Introduced in lab 05 (Membership inference).
    """
    return _positive(epsilon, "epsilon") * _check_count(group_size, "group_size")


# --- DP-SGD with opacus ---------------------------------------------------------------------------


@contextmanager
def _one_thread_deterministic():
    """Train checkpoints with one thread and deterministic kernels (the numbers of record)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def train_dp(model: nn.Module, X, y, *, delta: float, epochs: int, batch_size: int,
             lr: float, max_grad_norm: float, seed: int, target_epsilon: float | None = None,
             noise_multiplier: float | None = None, loss_fn: Callable | None = None,
             accountant: str = "rdp", ema: float = 0.0, optimizer: str = "adam",
             report_epsilon: bool = True, progress: bool | str = True) -> dict[str, float]:
    """Train ``model`` in place with DP-SGD (opacus ``PrivacyEngine``, Adam, Poisson sampling).

    Give either ``target_epsilon`` (opacus's ``make_private_with_epsilon`` picks the noise
    that spends exactly that budget over ``epochs``) or ``noise_multiplier`` (then the
    accountant reports the eps spent). Every per-example gradient is clipped to
    ``max_grad_norm`` and Gaussian noise of std ``noise_multiplier * max_grad_norm`` is added
    to their sum. ``loss_fn(model, xb, yb)`` returns the batch's mean per-example loss (default:
    cross-entropy). Sampling and noise come from generators seeded by ``seed``, so a run is
    reproducible. ``ema`` > 0 returns an exponential moving average of the iterates
    (post-processing, free). Returns the privacy spent: noise_multiplier, sample_rate, steps,
    epsilon (``nan`` with ``report_epsilon=False``, which skips the accountant's slowest
    call), delta.

    Introduced in lab 05 (Membership inference).
    """
    from opacus import PrivacyEngine
    from torch.utils.data import DataLoader, TensorDataset

    if (target_epsilon is None) == (noise_multiplier is None):
        raise ValueError("give exactly one of target_epsilon and noise_multiplier")
    delta = _check_delta(delta)
    epochs = _check_count(epochs, "epochs")
    batch_size = _check_count(batch_size, "batch_size")
    _positive(lr, "lr")
    _positive(max_grad_norm, "max_grad_norm")
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
    if not 0 <= ema < 1:
        raise ValueError(f"ema must lie in [0, 1), got {ema}")
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    optimizer = (torch.optim.Adam(model.parameters(), lr=lr) if optimizer == "adam" else
                 torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9))
    averaged = [p.detach().clone() for p in model.parameters()] if ema else None
    noise_gen = torch_generator(seed + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # opacus warns that secure_mode is off: known, seeded
        engine = PrivacyEngine(accountant=_check_accountant(accountant))
        if target_epsilon is not None:
            dp_model, optimizer, loader = engine.make_private_with_epsilon(
                module=model, optimizer=optimizer, data_loader=loader,
                target_epsilon=_positive(target_epsilon, "target_epsilon"), target_delta=delta,
                epochs=epochs, max_grad_norm=max_grad_norm, noise_generator=noise_gen)
        else:
            dp_model, optimizer, loader = engine.make_private(
                module=model, optimizer=optimizer, data_loader=loader,
                noise_multiplier=_positive(noise_multiplier, "noise_multiplier"),
                max_grad_norm=max_grad_norm, noise_generator=noise_gen)
        label = progress if isinstance(progress, str) else type(model).__name__
        steps = 0
        for _ in tqdm(range(epochs), desc=f"DP-SGD {label}", disable=not progress, leave=False):
            dp_model.train()
            for xb, yb in loader:
                if len(xb) == 0:  # Poisson sampling can draw an empty batch
                    continue
                optimizer.zero_grad()
                loss_fn(dp_model, xb, yb).backward()
                optimizer.step()
                steps += 1
                if averaged is not None:  # an average of the iterates is post-processing: free
                    with torch.no_grad():
                        for a, p in zip(averaged, model.parameters(), strict=True):
                            a.mul_(ema).add_(p.detach(), alpha=1 - ema)
        eps = float(engine.get_epsilon(delta)) if report_epsilon else math.nan
        dp_model.to_standard_module()  # removes opacus's hooks; ``model`` holds the weights
    if averaged is not None:
        with torch.no_grad():
            for a, p in zip(averaged, model.parameters(), strict=True):
                p.copy_(a)
    model.eval()
    return {"noise_multiplier": float(optimizer.noise_multiplier),
            "sample_rate": 1 / len(loader), "steps": steps, "epsilon": eps, "delta": delta}


# --- torch helpers --------------------------------------------------------------------------------


@torch.no_grad()
def predict_logits(model: nn.Module, X, batch_size: int = 256) -> torch.Tensor:
    """Logits of a torch classifier on a NumPy batch, in evaluation mode, as float64.

    Batches of 256 are the fastest on one CPU thread for the small CNN.

    Introduced in lab 05 (Membership inference).
    """
    model.eval()
    Xt = X if isinstance(X, torch.Tensor) else torch.as_tensor(np.asarray(X, dtype=np.float32))
    out = [model(Xt[i:i + batch_size]).double() for i in range(0, len(Xt), batch_size)]
    return torch.cat(out) if out else torch.zeros((0, 0), dtype=torch.float64)


def softmax(logits) -> np.ndarray:
    """Softmax of logits in float64 (keeps the tiny probabilities LiRA needs).

    Introduced in lab 05 (Membership inference).
    """
    z = logits if isinstance(logits, torch.Tensor) else torch.as_tensor(np.asarray(logits))
    return torch.softmax(z.double(), dim=1).numpy()


def _pack(prefix: str, module: nn.Module, dtype=torch.float16) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v.detach().to(dtype).clone() for k, v in module.state_dict().items()}


def _unpack(tensors: dict, prefix: str, module: nn.Module) -> nn.Module:
    wanted = module.state_dict()
    missing = [k for k in wanted if f"{prefix}.{k}" not in tensors]
    if missing:
        raise ValueError(f"the checkpoint lacks {prefix}.{missing[0]} (and {len(missing) - 1} "
                         f"more): it was trained with other settings")
    module.load_state_dict({k: tensors[f"{prefix}.{k}"].to(v.dtype) for k, v in wanted.items()})
    return module.eval()


def _settings(defaults: dict, overrides: dict) -> dict:
    unknown = set(overrides) - set(defaults)
    if unknown:
        raise ValueError(f"unknown setting(s) {sorted(unknown)}; known: {sorted(defaults)}")
    return {**defaults, **overrides}


# --- image: the digits CNN, its shadows and its DP versions -----------------------------------

DIGITS_SETTINGS: dict = {
    "dataset": "image", "seed": 0, "n_members": 750, "width": 4, "epochs": 60, "lr": 1e-3,
    "batch_size": 64, "n_shadows": 32, "dp_epsilons": (1.0, 3.0, 8.0), "delta": 1e-5,
    "dp_epochs": 25, "dp_batch_size": 200, "dp_lr": 1e-2, "max_grad_norm": 1.0,
    "dp_ema": 0.9, "n_dp_shadows": 4,
}
"""The digits membership experiment of lab 05 (Membership inference).

The target CNN (``SmallCNN`` of width 4) trains on ``n_members`` images of the image
dataset's training split for 60 epochs, long enough to memorise them; the test split are the
non-members. Each of ``n_shadows`` shadow models trains the same way on ``n_members`` images
drawn from the rest of the training split (the attacker's own data), so every shadow is OUT
for every candidate (offline LiRA). The DP models train on the same members with DP-SGD at
each eps of ``dp_epsilons`` (delta 1e-5), and ``n_dp_shadows`` DP shadows per eps let LiRA
attack them on equal terms."""


def digits_membership_split(n_train: int, n_members: int, seed: int = 0
                            ) -> tuple[np.ndarray, np.ndarray]:
    """Split training-set indices into the target's members and the attacker's pool.

    Introduced in lab 05 (Membership inference).
    """
    n_train = _check_count(n_train, "n_train", 2)
    n_members = _check_count(n_members, "n_members")
    if n_members >= n_train:
        raise ValueError(f"n_members ({n_members}) must be smaller than n_train ({n_train})")
    perm = np.random.default_rng(seed).permutation(n_train)
    return np.sort(perm[:n_members]), np.sort(perm[n_members:])


def shadow_training_sets(pool, n_sets: int, size: int, seed: int = 0) -> np.ndarray:
    """``n_sets`` random subsets of ``size`` indices of ``pool`` (one per shadow model).

    Introduced in lab 05 (Membership inference).
    """
    pool = np.asarray(pool)
    n_sets = _check_count(n_sets, "n_sets")
    size = _check_count(size, "size")
    if size > len(pool):
        raise ValueError(f"size ({size}) exceeds the pool ({len(pool)} indices)")
    gen = np.random.default_rng(seed)
    return np.stack([np.sort(gen.choice(pool, size, replace=False)) for _ in range(n_sets)])


class DigitsMembershipCNN(nn.Module):
    """The digits CNN of the membership experiment: ``SmallCNN`` behind a fixed standardisation
    of the pixels (MNIST's mean 0.1307 and std 0.3081, public constants).

    Standardised inputs make DP-SGD train better (measured: +0.03 test accuracy at eps 3), and
    the constants come from outside the private data, so they cost no privacy.

    Introduced in lab 05 (Membership inference).
    """

    MEAN, STD = 0.1307, 0.3081

    def __init__(self, image_size: int = 28, width: int = 4):
        super().__init__()
        from .systems import SmallCNN

        self.cnn = SmallCNN(image_size=image_size, width=width)

    def forward(self, x):
        return self.cnn((x - self.MEAN) / self.STD)


def _digits_cnn(image_size: int, width: int) -> nn.Module:
    return DigitsMembershipCNN(image_size, width)


def _digits_data(settings: dict):
    from .data import load_dataset

    data = load_dataset(settings["dataset"], seed=settings["seed"])
    members, pool = digits_membership_split(len(data.X_train), settings["n_members"],
                                            settings["seed"])
    return data, members, pool


def train_digits_models(part: str, **overrides) -> dict[str, torch.Tensor]:
    """Train one part of the digits experiment (:data:`DIGITS_SETTINGS`); return its tensors.

    ``part``: ``"target"`` (the undefended CNN), ``"shadows"`` (the attacker's shadow CNNs),
    ``"dp"`` (DP-SGD CNNs at each eps) or ``"dp_shadows"`` (DP shadows per eps). One thread,
    every random number seeded: the same settings give the same weights. Weights are stored
    as float16 (the lab's numbers hold; the files stay small); privacy accounting as float64.
    ``overrides`` change settings (the tests train tiny versions on ``digits_tiny``).

    Introduced in lab 05 (Membership inference).
    """
    from .systems import fit_torch_classifier

    parts = ("target", "shadows", "dp", "dp_shadows")
    if part not in parts:
        raise ValueError(f"part must be one of {parts}, got {part!r}")
    st = _settings(DIGITS_SETTINGS, overrides)
    data, members, pool = _digits_data(st)
    side = data.X_train.shape[2]
    out: dict[str, torch.Tensor] = {}
    with _one_thread_deterministic():
        torch.use_deterministic_algorithms(True, warn_only=True)
        if part in ("target", "shadows"):
            sets = ([members] if part == "target" else
                    shadow_training_sets(pool, st["n_shadows"], st["n_members"], st["seed"] + 1))
            for k, idx in enumerate(tqdm(sets, desc=f"digits {part}", leave=False)):
                seed = st["seed"] + (0 if part == "target" else 1000 + k)
                torch.manual_seed(seed)
                model = _digits_cnn(side, st["width"])
                fit_torch_classifier(model, data.X_train[idx], data.y_train[idx],
                                     epochs=st["epochs"], lr=st["lr"],
                                     batch_size=st["batch_size"], seed=seed, progress=False)
                out.update(_pack(f"model{k}", model))
            return out
        shadow_sets = shadow_training_sets(pool, st["n_dp_shadows"], st["n_members"],
                                           st["seed"] + 2)
        epsilons = tuple(float(e) for e in st["dp_epsilons"])
        out["epsilons"] = torch.tensor(epsilons, dtype=torch.float64)
        for e, eps in enumerate(epsilons):
            sets = [members] if part == "dp" else list(shadow_sets)
            for k, idx in enumerate(sets):
                seed = st["seed"] + 2000 + 100 * e + k + (0 if part == "dp" else 50)
                torch.manual_seed(seed)
                model = _digits_cnn(side, st["width"])
                info = train_dp(model, data.X_train[idx], data.y_train[idx],
                                target_epsilon=eps, delta=st["delta"], epochs=st["dp_epochs"],
                                batch_size=st["dp_batch_size"], lr=st["dp_lr"],
                                max_grad_norm=st["max_grad_norm"], ema=st["dp_ema"],
                                seed=seed, progress=f"digits eps={eps:g}")
                prefix = f"eps{e}.model{k}"
                out.update(_pack(prefix, model))
                for key in ("noise_multiplier", "sample_rate", "epsilon", "delta"):
                    out[f"{prefix}.{key}"] = torch.tensor(info[key], dtype=torch.float64)
                out[f"{prefix}.steps"] = torch.tensor(info["steps"], dtype=torch.int64)
    return out


def train_digits_target() -> dict[str, torch.Tensor]:
    """Checkpoint trainer of ``lab05_digits_target`` (:func:`train_digits_models`).

    Introduced in lab 05 (Membership inference).
    """
    return train_digits_models("target")


def train_digits_shadows() -> dict[str, torch.Tensor]:
    """Checkpoint trainer of ``lab05_digits_shadows`` (:func:`train_digits_models`).

    Introduced in lab 05 (Membership inference).
    """
    return train_digits_models("shadows")


def train_digits_dp() -> dict[str, torch.Tensor]:
    """Checkpoint trainer of ``lab05_digits_dp`` (:func:`train_digits_models`).

    Introduced in lab 05 (Membership inference).
    """
    return train_digits_models("dp")


def train_digits_dp_shadows() -> dict[str, torch.Tensor]:
    """Checkpoint trainer of ``lab05_digits_dp_shadows`` (:func:`train_digits_models`).

    Introduced in lab 05 (Membership inference).
    """
    return train_digits_models("dp_shadows")


def digits_models_from(tensors: dict, image_size: int = 28, width: int | None = None
                       ) -> dict[str, nn.Module]:
    """Rebuild the CNNs stored in a digits checkpoint: ``{prefix: SmallCNN}`` in eval mode.

    Introduced in lab 05 (Membership inference).
    """
    width = width or DIGITS_SETTINGS["width"]
    prefixes = {k[: k.index(".cnn.")] for k in tensors if ".cnn." in k}
    if not prefixes:
        raise ValueError("this checkpoint holds no digits CNN")
    return {p: _unpack(tensors, p, _digits_cnn(image_size, width))
            for p in sorted(prefixes, key=_natural_key)}


def _natural_key(prefix: str) -> tuple:
    import re

    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", prefix))


def load_digits_models(name: str) -> tuple[dict[str, nn.Module], dict[str, torch.Tensor]]:
    """Load a registered digits checkpoint: its CNNs (by prefix) and its other tensors.

    Introduced in lab 05 (Membership inference).
    """
    tensors = checkpoints.load(name)
    models = digits_models_from(tensors)
    meta = {k: v for k, v in tensors.items() if ".cnn." not in k}
    return models, meta


# --- NLP: a character-level language model of support messages ---------------------------------

CHARSET: str = "".join(chr(c) for c in range(32, 127))
"""The characters the language model knows (printable ASCII); others map to "unknown".

Introduced in lab 05 (Membership inference)."""
_PAD, _BOS, _EOS, _UNK = 0, 1, 2, 3
_CHAR_INDEX = {c: i + 4 for i, c in enumerate(CHARSET)}
VOCAB_SIZE: int = len(CHARSET) + 4
"""Padding, begin, end and unknown, then :data:`CHARSET`. Introduced in lab 05 (Membership
inference)."""


def encode_messages(texts, max_len: int = 160) -> torch.Tensor:
    """Encode messages as (n, L) character ids: begin, up to ``max_len`` characters, end, pad.

    Introduced in lab 05 (Membership inference).
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a list of messages, not one string: wrap it in [ ]")
    texts = list(texts)
    if not texts or not all(isinstance(t, str) for t in texts):
        raise TypeError("texts must be a non-empty sequence of strings")
    max_len = _check_count(max_len, "max_len")
    seqs = [[_BOS] + [_CHAR_INDEX.get(c, _UNK) for c in t[:max_len]] + [_EOS] for t in texts]
    out = torch.full((len(seqs), max(map(len, seqs))), _PAD, dtype=torch.long)
    for k, s in enumerate(seqs):
        out[k, :len(s)] = torch.tensor(s)
    return out


class CharLM(nn.Module):
    """A character-level LSTM language model: embedding, one LSTM layer, a linear read-out.

    ``dp=True`` builds the LSTM from opacus's ``DPLSTM`` (same maths and the same state-dict
    keys as ``nn.LSTM``, but opacus can compute its per-example gradients), so a model trained
    with DP-SGD loads into the fast ``nn.LSTM`` version for scoring.

    Introduced in lab 05 (Membership inference).
    """

    def __init__(self, hidden: int = 256, embed: int = 32, dp: bool = False):
        super().__init__()
        _check_count(hidden, "hidden")
        _check_count(embed, "embed")
        self.emb = nn.Embedding(VOCAB_SIZE, embed)
        if dp:
            from opacus.layers import DPLSTM

            self.rnn = DPLSTM(embed, hidden, batch_first=True)
        else:
            self.rnn = nn.LSTM(embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, VOCAB_SIZE)

    def forward(self, x):
        return self.out(self.rnn(self.emb(x))[0])


def _sequence_losses(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood per predicted character of each sequence (nats/char)."""
    target = x[:, 1:]
    nll = nn.functional.cross_entropy(model(x[:, :-1]).transpose(1, 2), target,
                                      reduction="none", ignore_index=_PAD)
    return nll.sum(1) / (target != _PAD).sum(1).clamp(min=1)


@torch.no_grad()
def char_lm_losses(model: nn.Module, texts, batch_size: int = 256, max_len: int = 160
                   ) -> np.ndarray:
    """Each message's loss under a character language model (mean nats per character).

    Members of the training set are less surprising to the model: lower loss. Messages are
    scored in batches of similar length (less padding, about twice as fast).

    Introduced in lab 05 (Membership inference).
    """
    model.eval()
    x = encode_messages(texts, max_len)
    lengths = (x != _PAD).sum(1)
    order = torch.argsort(lengths, stable=True)
    out = torch.empty(len(x), dtype=torch.float64)
    for i in range(0, len(x), batch_size):
        idx = order[i:i + batch_size]
        out[idx] = _sequence_losses(model, x[idx, : int(lengths[idx].max())]).double()
    return out.numpy()


def char_unigram_losses(train_texts, texts, max_len: int = 160) -> np.ndarray:
    """Each message's loss under letter frequencies alone (add-one smoothed, from
    ``train_texts``): the baseline a language model must beat (mean nats per character).

    Introduced in lab 05 (Membership inference).
    """
    train = encode_messages(train_texts, max_len)[:, 1:]
    counts = torch.bincount(train[train != _PAD], minlength=VOCAB_SIZE).double() + 1
    log_p = torch.log(counts / counts.sum())
    x = encode_messages(texts, max_len)[:, 1:]
    nll = -log_p[x] * (x != _PAD)
    return (nll.sum(1) / (x != _PAD).sum(1)).numpy()


CHAR_LM_SETTINGS: dict = {
    "seed": 0, "n_members": 1000, "hidden": 256, "embed": 32, "epochs": 30, "lr": 2e-3,
    "batch_size": 32, "max_len": 160, "dp_epsilon": 8.0, "delta": 1e-5, "dp_epochs": 8,
    "dp_batch_size": 100, "dp_lr": 1e-2, "max_grad_norm": 1.0,
}
"""The character-level language model experiment of lab 05 (Membership inference).

The model trains on ``n_members`` messages of the support corpus's training split (seed 0);
as many other training-split messages are the non-members, and the test split measures
quality. Undefended: Adam with gradient-norm clipping, ``epochs`` passes; defended: DP-SGD
with opacus's ``DPLSTM`` at ``dp_epsilon`` (delta 1e-5)."""


def support_membership_split(n_messages: int, n_members: int, seed: int = 0
                             ) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the language model's members and of as many non-members (disjoint).

    Introduced in lab 05 (Membership inference).
    """
    n_messages = _check_count(n_messages, "n_messages", 2)
    n_members = _check_count(n_members, "n_members")
    if 2 * n_members > n_messages:
        raise ValueError(f"need 2 x n_members <= n_messages, got {n_members} and {n_messages}")
    perm = np.random.default_rng(seed).permutation(n_messages)
    return np.sort(perm[:n_members]), np.sort(perm[n_members:2 * n_members])


def train_char_lm(texts, *, dp: bool = False, **overrides) -> tuple[CharLM, dict]:
    """Train a :class:`CharLM` on ``texts`` (:data:`CHAR_LM_SETTINGS`, changed by
    ``overrides``), without or with DP-SGD; returns the model (an ``nn.LSTM`` one) and a
    dict of the privacy spent (empty without DP).

    Introduced in lab 05 (Membership inference).
    """
    st = _settings(CHAR_LM_SETTINGS, overrides)
    x = encode_messages(texts, st["max_len"])
    torch.manual_seed(st["seed"])
    model = CharLM(st["hidden"], st["embed"], dp=dp)
    info: dict = {}
    if dp:
        info = train_dp(model, x, torch.zeros(len(x), dtype=torch.long),
                        target_epsilon=st["dp_epsilon"], delta=st["delta"],
                        epochs=st["dp_epochs"], batch_size=st["dp_batch_size"], lr=st["dp_lr"],
                        max_grad_norm=st["max_grad_norm"], seed=st["seed"],
                        loss_fn=lambda m, xb, _: _sequence_losses(m, xb).mean(),
                        progress="char LM (DPLSTM)")
        # DPLSTM keeps nn.LSTM's parameter names (plus its cells' own aliases): load them into
        # the fast nn.LSTM version.
        plain = CharLM(st["hidden"], st["embed"])
        state = model.state_dict()
        plain.load_state_dict({k: state[k] for k in plain.state_dict()})
        return plain.eval(), info
    gen = torch_generator(st["seed"])
    opt = torch.optim.Adam(model.parameters(), lr=st["lr"])
    for _ in tqdm(range(st["epochs"]), desc="training char LM", leave=False):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), st["batch_size"]):
            xb = x[perm[i:i + st["batch_size"]]]
            xb = xb[:, : int((xb != _PAD).sum(1).max())]  # trim the batch's padding
            opt.zero_grad()
            _sequence_losses(model, xb).mean().backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
    return model.eval(), info


def train_char_lm_models(dp: bool, **overrides) -> dict[str, torch.Tensor]:
    """Train the lab's language model (undefended, or DP with ``dp=True``); return tensors.

    Members are :func:`support_membership_split` of the NLP training split. One thread, all
    randomness seeded. Weights stored as float16; the privacy spent as float64.

    Introduced in lab 05 (Membership inference).
    """
    from .data import load_dataset

    st = _settings(CHAR_LM_SETTINGS, overrides)
    data = load_dataset("nlp", seed=st["seed"])
    members, _ = support_membership_split(len(data.X_train), st["n_members"], st["seed"])
    with _one_thread_deterministic():
        torch.use_deterministic_algorithms(True, warn_only=True)
        model, info = train_char_lm(data.X_train[members], dp=dp, **overrides)
    out = _pack("lm", model)
    for key, value in info.items():
        out[f"dp.{key}"] = torch.tensor(value, dtype=torch.float64)
    return out


def train_char_lm_checkpoint() -> dict[str, torch.Tensor]:
    """Checkpoint trainer of ``lab05_char_lm`` (:func:`train_char_lm_models`, no DP).

    Introduced in lab 05 (Membership inference).
    """
    return train_char_lm_models(dp=False)


def train_char_lm_dp_checkpoint() -> dict[str, torch.Tensor]:
    """Checkpoint trainer of ``lab05_char_lm_dp`` (:func:`train_char_lm_models`, DP-SGD).

    Introduced in lab 05 (Membership inference).
    """
    return train_char_lm_models(dp=True)


def load_char_lm(name: str) -> tuple[CharLM, dict[str, float]]:
    """Load a registered language-model checkpoint: the model and the privacy it spent.

    Introduced in lab 05 (Membership inference).
    """
    tensors = checkpoints.load(name)
    hidden = tensors["lm.out.weight"].shape[1]
    embed = tensors["lm.emb.weight"].shape[1]
    model = _unpack(tensors, "lm", CharLM(hidden, embed))
    info = {k[3:]: float(v) for k, v in tensors.items() if k.startswith("dp.")}
    return model, info


# --- recommender: did this user's ratings train the model? -------------------------------------


def user_membership_split(n_users: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split user indices in two halves: the model's members and the non-members.

    Introduced in lab 05 (Membership inference).
    """
    n_users = _check_count(n_users, "n_users", 2)
    perm = np.random.default_rng(seed).permutation(n_users)
    return np.sort(perm[: n_users // 2]), np.sort(perm[n_users // 2:])


def fold_in_errors(recommender, pairs, ratings, l2: float = 1.0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The user-level membership signal of a matrix-factorisation recommender.

    Many recommenders take a new user's ratings and "fold them in": they fit that user's
    vector and bias to the ratings against the model's fixed item vectors (ridge regression,
    ``l2``), then predict. The attacker folds in a person's ratings the same way and measures
    how well the model's items explain them (RMSE): the item vectors were fitted to the
    members' ratings, so members are explained better. Returns ``(users, rmse)``, one entry
    per user in ``pairs``; lower RMSE means "more likely a member".

    Introduced in lab 05 (Membership inference).
    """
    from .systems import MFRecommender

    if not isinstance(recommender, MFRecommender):
        raise TypeError(f"recommender must be a systems.MFRecommender, got "
                        f"{type(recommender).__name__}")
    recommender._check_fitted()
    pairs = recommender._check_pairs(pairs)
    r = _vector(ratings, "ratings")
    if len(r) != len(pairs):
        raise ValueError(f"ratings has {len(r)} entries for {len(pairs)} (user, item) pairs")
    l2 = _positive(l2, "l2")
    m = recommender.model
    Q = m.Q.weight.detach().cpu().double().numpy()
    b_item = m.bi.weight.detach().cpu().double().numpy()[:, 0]
    order = np.argsort(pairs[:, 0], kind="stable")
    users, starts = np.unique(pairs[order, 0], return_index=True)
    ends = np.r_[starts[1:], len(order)]
    rmse = np.empty(len(users))
    ridge = l2 * np.eye(Q.shape[1] + 1)
    for k, (a, b) in enumerate(zip(starts, ends, strict=True)):
        rows = order[a:b]
        items = pairs[rows, 1]
        target = r[rows] - m.mu - b_item[items]
        A = np.c_[Q[items], np.ones(len(items))]
        w = np.linalg.solve(A.T @ A + ridge, A.T @ target)
        rmse[k] = np.sqrt(np.mean((A @ w - target) ** 2))
    return users, rmse


# --- fraud: did this customer's transactions train the model? -----------------------------------


def customer_membership_split(customer_ids, n_customers: int, seed: int = 0
                              ) -> tuple[np.ndarray, np.ndarray]:
    """``n_customers`` member customers and ``n_customers`` non-members, drawn at random.

    Introduced in lab 05 (Membership inference).
    """
    ids = np.unique(np.asarray(customer_ids))
    n_customers = _check_count(n_customers, "n_customers")
    if 2 * n_customers > len(ids):
        raise ValueError(f"need 2 x n_customers <= {len(ids)} customers, got {n_customers}")
    perm = np.random.default_rng(seed).permutation(ids)
    return np.sort(perm[:n_customers]), np.sort(perm[n_customers:2 * n_customers])


def group_mean(values, groups) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``values`` per group: ``(group ids, means)``, groups sorted.

    Used to turn per-transaction scores into one score per customer.

    Introduced in lab 05 (Membership inference).
    """
    v = _vector(values, "values")
    g = np.asarray(groups)
    if g.ndim != 1 or len(g) != len(v):
        raise ValueError(f"groups must be 1-D with {len(v)} entries, got shape {g.shape}")
    ids, inverse = np.unique(g, return_inverse=True)
    return ids, np.bincount(inverse, weights=v) / np.bincount(inverse)


def coarsen_scores(proba, step: float = 0.1) -> np.ndarray:
    """Release scores rounded to multiples of ``step`` (0.1 gives 0.0, 0.1, ..., 1.0).

    A defence that changes no model: the fine differences in confidence that separate
    training records from others are rounded away, at some cost in ranking quality (ties).
    Rows are renormalised to sum to 1.

    Introduced in lab 05 (Membership inference).
    """
    p, _ = _proba_and_labels(proba, np.zeros(len(np.asarray(proba)), dtype=np.int64))
    step = _positive(step, "step")
    if step > 1:
        raise ValueError(f"step must be <= 1, got {step}")
    if p.shape[1] == 2:  # round the positive class, keep the pair consistent
        q = np.round(p[:, 1] / step) * step
        return np.c_[1 - q, q]
    q = np.round(p / step) * step
    return q / np.maximum(q.sum(1, keepdims=True), 1e-12)


# --- medical: many logistic models on random halves of the patients ---------------------------

MEDICAL_SETTINGS: dict = {
    "seed": 0, "n_models": 64, "C": 1.0, "dp_epsilon": 1.0, "delta": 1e-5, "dp_epochs": 20,
    "dp_batch_size": 64, "dp_lr": 0.05, "max_grad_norm": 1.0,
}
"""The patient membership experiment of lab 05 (Membership inference).

All 569 WDBC patients form the population; each of ``n_models`` models trains on a random
half of it (:func:`random_halves`), so every model is both a target and the others' shadow
(:func:`leave_one_out_lira`). Undefended: the reference logistic regression (``C``); defended:
a torch linear model with DP-SGD (opacus) at ``dp_epsilon``, delta 1e-5."""


def random_halves(n: int, n_models: int, seed: int = 0) -> np.ndarray:
    """``(n_models, n)`` booleans: row ``k`` marks the ``n // 2`` examples model ``k`` trains on.

    Introduced in lab 05 (Membership inference).
    """
    n = _check_count(n, "n", 2)
    n_models = _check_count(n_models, "n_models")
    gen = np.random.default_rng(seed)
    keep = np.zeros((n_models, n), dtype=bool)
    for k in range(n_models):
        keep[k, gen.choice(n, n // 2, replace=False)] = True
    return keep


def medical_population(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """All WDBC patients (train and test splits together) as ``(X, y)``, float32 features.

    Introduced in lab 05 (Membership inference).
    """
    from .data import load_dataset

    data = load_dataset("medical", seed=seed)
    X = np.concatenate([data.X_train, data.X_test]).astype(np.float32)
    return X, np.concatenate([data.y_train, data.y_test])


@functools.lru_cache(maxsize=64)
def _rdp_accountant_epsilon(sigma: float, sample_rate: float, steps: int, delta: float) -> float:
    """eps of opacus's ``RDPAccountant`` (its default orders), as its PrivacyEngine reports it."""
    from opacus.accountants import RDPAccountant

    acc = RDPAccountant()
    acc.history = [(sigma, sample_rate, steps)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(acc.get_epsilon(delta=delta))


def train_medical_dp_models(**overrides) -> dict[str, torch.Tensor]:
    """Train the DP linear models of the patient experiment (:data:`MEDICAL_SETTINGS`).

    Model ``k`` is a torch linear model (``systems.StandardisedMLP`` with no hidden layer;
    features scaled by the whole table's mean and std, published reference values) trained
    with DP-SGD on row ``k`` of :func:`random_halves`. Returns stacked weights ``(m, 2, 30)``,
    biases ``(m, 2)``, the scaling and the privacy spent. About 10 s on one thread, so the lab
    trains them live.

    Introduced in lab 05 (Membership inference).
    """
    from .systems import StandardisedMLP

    st = _settings(MEDICAL_SETTINGS, overrides)
    X, y = medical_population(st["seed"])
    keep = random_halves(len(X), st["n_models"], st["seed"])
    mean, scale = X.mean(0), X.std(0)
    # Every model trains on n // 2 records with the same recipe, so the noise that meets the
    # budget is the same: ask opacus once (as make_private_with_epsilon would, 64 times).
    from opacus.accountants.utils import get_noise_multiplier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sigma = get_noise_multiplier(
            target_epsilon=_positive(st["dp_epsilon"], "dp_epsilon"),
            target_delta=_check_delta(st["delta"]),
            sample_rate=1 / math.ceil(int(keep[0].sum()) / st["dp_batch_size"]),
            epochs=st["dp_epochs"], accountant="rdp")
    weights, biases, sigmas, epsilons = [], [], [], []
    with _one_thread_deterministic():
        torch.use_deterministic_algorithms(True, warn_only=True)
        for k in tqdm(range(st["n_models"]), desc="DP logistic models", leave=False):
            torch.manual_seed(st["seed"] + k)
            model = StandardisedMLP(mean, scale, depth=0)
            info = train_dp(model, X[keep[k]], y[keep[k]], noise_multiplier=sigma,
                            delta=st["delta"], epochs=st["dp_epochs"],
                            batch_size=st["dp_batch_size"], lr=st["dp_lr"],
                            max_grad_norm=st["max_grad_norm"], seed=st["seed"] + 500 + k,
                            report_epsilon=False, progress=False)
            info["epsilon"] = _rdp_accountant_epsilon(sigma, info["sample_rate"], info["steps"],
                                                      st["delta"])
            layer = model.net[0]
            weights.append(layer.weight.detach().clone())
            biases.append(layer.bias.detach().clone())
            sigmas.append(info["noise_multiplier"])
            epsilons.append(info["epsilon"])
    return {"weight": torch.stack(weights), "bias": torch.stack(biases),
            "mean": torch.as_tensor(mean), "scale": torch.as_tensor(scale),
            "noise_multiplier": torch.tensor(sigmas, dtype=torch.float64),
            "epsilon": torch.tensor(epsilons, dtype=torch.float64),
            "delta": torch.tensor(st["delta"], dtype=torch.float64)}


def linear_models_logits(tensors: dict, X) -> np.ndarray:
    """Logits ``(m, n, 2)`` of the stacked linear models of :func:`train_medical_dp_models`.

    Introduced in lab 05 (Membership inference).
    """
    for key in ("weight", "bias", "mean", "scale"):
        if key not in tensors:
            raise ValueError(f"these tensors hold no {key!r}: not a linear-models checkpoint")
    X = np.asarray(X, dtype=np.float64)
    W = tensors["weight"].double().numpy()
    if X.ndim != 2 or X.shape[1] != W.shape[2]:
        raise ValueError(f"X must be (n, {W.shape[2]}), got shape {X.shape}")
    Z = (X - tensors["mean"].double().numpy()) / tensors["scale"].double().numpy()
    return np.einsum("nf,mcf->mnc", Z, W) + tensors["bias"].double().numpy()[:, None, :]


# --- the threat in one picture ------------------------------------------------------------------


def threat_diagram():
    """The membership-inference threat as a diagram: a record, the model's answer, the
    attacker's test, and the shadow models that calibrate it.

    Introduced in lab 05 (Membership inference).
    """
    import plotly.graph_objects as go

    from . import plots

    boxes = [
        (0.0, 0.55, "training data<br><i>members</i>", plots.COLORS["baseline"]),
        (1.45, 0.55, "deployed model<br>(image, text, recommender,<br>fraud, diagnosis)",
         plots.COLORS["baseline"]),
        (2.9, 0.55, "attacker's test<br>member or not?", plots.COLORS["attack"]),
        (0.0, 0.0, "a candidate record<br>(this patient, this customer)", plots.COLORS["attack"]),
        (1.45, 0.0, "shadow models<br>trained by the attacker<br>with and without it",
         plots.COLORS["accent"]),
    ]
    fig = go.Figure()
    for x, y, text, color in boxes:
        fig.add_shape(type="rect", x0=x, x1=x + 1.1, y0=y, y1=y + 0.4, line=dict(color=color,
                      width=2), fillcolor="white")
        fig.add_annotation(x=x + 0.55, y=y + 0.2, text=text, showarrow=False, font=dict(size=12))
    arrows = [
        ((1.1, 0.75), (1.45, 0.75), "trains"),
        ((2.55, 0.75), (2.9, 0.75), "confidence, loss"),
        ((1.1, 0.2), (1.45, 0.62), "query"),
        ((2.55, 0.2), (2.9, 0.6), "what non-members<br>look like"),
    ]
    for (x0, y0), (x1, y1), label in arrows:
        fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y",
                           text="", showarrow=True, arrowhead=3, arrowwidth=2,
                           arrowcolor=plots.COLORS["neutral"])
        fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2 + 0.07, text=label,
                           showarrow=False, font=dict(size=10, color=plots.COLORS["neutral"]))
    fig.update_xaxes(visible=False, range=[-0.05, 4.05])
    fig.update_yaxes(visible=False, range=[-0.05, 1.0])
    fig.update_layout(height=330, margin=dict(l=10, r=10, t=50, b=10),
                      title="Membership inference: was this record in the training data?")
    return fig


# --- the checkpoints of lab 05 (COURSE.md's checkpoint rule: training breaks the budget) -------

_CHECKPOINTS = {
    "lab05_digits_target": (
        "88e82e020ebb2c8bd2c1863437313184b65b524737d1db9c780993a845414a73",
        "train_digits_target",
        "the undefended digits CNN (width 4, 750 members, 60 epochs); about 5 s"),
    "lab05_digits_shadows": (
        "0262603b19314b2b133bae32decd204aef6290546dd339169bab63d98efa311e",
        "train_digits_shadows",
        "32 shadow CNNs, each on 750 of the attacker's digits; under 2 min"),
    "lab05_digits_dp": (
        "3a0aa8c3c4906b1f830b3de241927230f65996cf767551e26ccb0aab994745d0",
        "train_digits_dp",
        "the digits CNN trained with DP-SGD at eps 1, 3 and 8 (delta 1e-5); about 20 s"),
    "lab05_digits_dp_shadows": (
        "fb518de446031ae049f3102fdca8218ce286711fe0a576e7d426c02842e58c77",
        "train_digits_dp_shadows",
        "4 DP-SGD shadow CNNs per eps (1, 3, 8); under a minute"),
    "lab05_char_lm": (
        "7befc2a9afd6a53513416a3d8cc899f9bce9461427822c99c02c076f6e7dde2f",
        "train_char_lm_checkpoint",
        "character-level LSTM language model (256 units) on 1,000 support messages, 30 "
        "epochs; about 1.5 min"),
    "lab05_char_lm_dp": (
        "d1da862013f02964b89bbbc3a766a4013e41a6abcf0bc54c4f1ab5699481856f",
        "train_char_lm_dp_checkpoint",
        "the same language model trained with DP-SGD (opacus DPLSTM) at eps 8, delta 1e-5, "
        "8 epochs; about 12 min"),
}
for _name, (_sha, _trainer, _what) in _CHECKPOINTS.items():
    checkpoints.register(_name, _sha, f"{__name__}:{_trainer}", f"{_what}; lab 05")
