"""What every domain of lab 05 shares: the scores an attacker computes, the metrics the field
reports, LiRA, ART's black-box attack, and the small torch and checkpoint building blocks.

ART 1.20 has Shokri's shadow-model recipe (``ShadowModels``, ``MembershipInferenceBlackBox``)
but no likelihood-ratio attack, so LiRA is written here (a few lines of NumPy).

Introduced in lab 05 (Membership inference).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..validate import (
    ArgumentTypeError,
    check_array,
    check_choice,
    check_fraction,
    check_labels,
    check_membership,
    check_number,
    check_positive,
    check_proba,
    check_vector,
    unknown_name,
)
from .results import LeaveOneOutScores, LossThresholdResult, MembershipMetrics

__all__ = [
    "art_black_box_attack",
    "cross_entropy_losses",
    "epsilon_lower_bound",
    "leave_one_out_lira",
    "lira_offline_score",
    "lira_offline_scores",
    "lira_online_scores",
    "logit_confidence",
    "logit_confidence_from_logits",
    "loss_threshold_attack",
    "loss_to_logit_confidence",
    "losses_from_logits",
    "membership_metrics",
    "merge_settings",
    "pack_state",
    "predict_logits",
    "softmax",
    "tpr_at_fpr",
    "unpack_state",
]


# --- the scores an attacker computes ----------------------------------------------------------


def cross_entropy_losses(proba, labels, floor: float = 1e-12) -> np.ndarray:
    """Per-example cross-entropy ``-log p_y`` from predicted probabilities and true labels.

    ``p_y`` is floored at ``floor`` so a confidently wrong prediction gives a large, finite loss.

    Introduced in lab 05 (Membership inference).
    """
    p, y = check_proba(proba, labels)
    return -np.log(np.maximum(p[np.arange(len(y)), y], floor))


def loss_threshold_attack(proba, labels, threshold: float) -> LossThresholdResult:
    """The loss-threshold attack of Yeom et al. (2018).

    A model's loss is lower on the records it was trained on, so a record is called a member
    when its cross-entropy loss is at most ``threshold`` (Yeom et al. use the model's average
    training loss). Returns the scores ``-loss`` (higher means "more likely a member", for ROC
    curves) and the boolean decisions.

    Introduced in lab 05 (Membership inference).
    """
    threshold = check_number(threshold, "threshold")
    loss = cross_entropy_losses(proba, labels)
    return LossThresholdResult(scores=-loss, is_member=loss <= threshold)


def logit_confidence(proba, labels, floor: float = 1e-300) -> np.ndarray:
    """The logit-scaled confidence ``log(p_y / (1 - p_y))`` LiRA fits Gaussians to.

    Computed as ``log p_y - log(sum of the other classes' p)`` (not ``1 - p_y``, which rounds
    to 0 for confident models). Prefer :func:`logit_confidence_from_logits` when you have logits.

    Introduced in lab 05 (Membership inference).
    """
    p, y = check_proba(proba, labels)
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
    z = torch.as_tensor(check_array(logits, "logits", ndim=2, dtype=np.float64, finite=False))
    if z.shape[1] < 2:
        raise ValueError(f"logits must be (n, n_classes) with n_classes >= 2, got shape "
                         f"{tuple(z.shape)}")
    y = torch.as_tensor(check_labels(labels, len(z), "labels", n_classes=z.shape[1]))
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
    loss = check_vector(losses, "losses")
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

    s = check_vector(scores, "scores")
    y = check_membership(y_true, len(s))
    fpr = check_fraction(fpr, "fpr")
    fprs, tprs, _ = roc_curve(y, s, drop_intermediate=False)
    return float(tprs[fprs <= fpr + 1e-12].max())


def membership_metrics(y_true, scores, fpr: float = 0.01) -> MembershipMetrics:
    """ROC AUC, TPR at ``fpr`` and the membership advantage (max TPR - FPR) of an attack.

    Introduced in lab 05 (Membership inference).
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    s = check_vector(scores, "scores")
    y = check_membership(y_true, len(s))
    fprs, tprs, _ = roc_curve(y, s)
    return MembershipMetrics(auc=float(roc_auc_score(y, s)), tpr_at_fpr=tpr_at_fpr(y, s, fpr),
                             advantage=float(np.max(tprs - fprs)))


def epsilon_lower_bound(y_true, scores, *, delta: float = 0.0, confidence: float = 0.95
                        ) -> float:
    """An empirical lower bound on epsilon from a membership attack (a privacy audit).

    A training algorithm that is (epsilon, delta)-DP forces every attack's
    ``TPR <= e^epsilon * FPR + delta`` (and, swapping the roles, ``1 - FPR <= e^epsilon *
    (1 - TPR) + delta``). So a measured attack proves ``epsilon >= log((TPR - delta) / FPR)``.
    To be conservative, each threshold's TPR is replaced by its one-sided Clopper-Pearson lower
    bound and its FPR by its upper bound at ``confidence``; the result is the largest bound over
    thresholds (and both directions), floored at 0. It is a *lower* bound: a stronger attack
    may prove more. Taking the maximum over thresholds on the same data is optimistic; a strict
    audit picks the threshold on separate data (Jagielski et al. 2020; Nasr et al. 2021).

    Introduced in lab 05 (Membership inference).
    """
    from scipy.stats import beta
    from sklearn.metrics import roc_curve

    s = check_vector(scores, "scores")
    y = check_membership(y_true, len(s))
    delta = check_fraction(delta, "delta")
    confidence = check_number(confidence, "confidence", low=0.0, high=1.0, low_open=True,
                              high_open=True)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("y_true must contain members and non-members")
    fprs, tprs, _ = roc_curve(y, s, drop_intermediate=False)
    tp, fp = np.rint(tprs * n_pos), np.rint(fprs * n_neg)
    alpha = 1 - confidence

    def lower(k, n):  # one-sided Clopper-Pearson lower bound of k / n
        return np.where(k > 0, beta.ppf(alpha, np.maximum(k, 1), n - k + 1), 0.0)

    def upper(k, n):  # one-sided Clopper-Pearson upper bound of k / n
        return np.where(k < n, beta.ppf(1 - alpha, k + 1, np.maximum(n - k, 1)), 1.0)

    best = 0.0
    for hit, n_hit, false, n_false in ((tp, n_pos, fp, n_neg),
                                       (n_neg - fp, n_neg, n_pos - tp, n_pos)):
        low, high = lower(hit, n_hit) - delta, upper(false, n_false)
        ok = (low > 0) & (high > 0)
        if ok.any():
            best = max(best, float(np.max(np.log(low[ok] / high[ok]))))
    return best


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
    shadow = check_vector(shadow_losses, "shadow_losses")
    if len(shadow) < 2:
        raise ValueError("LiRA needs at least 2 shadow losses to fit a Gaussian")
    target = loss_to_logit_confidence(np.array([float(target_loss)]))[0]
    phi = loss_to_logit_confidence(shadow)
    std = float(np.std(phi)) if global_std is None else check_positive(global_std, "global_std")
    return float((target - phi.mean()) / max(std, 1e-12))


def lira_offline_scores(target_phi, shadow_phi, global_variance: bool = False) -> np.ndarray:
    """Offline LiRA for many examples: ``target_phi`` (n,), OUT shadows' ``shadow_phi`` (k, n).

    Returns the z-scores of :func:`lira_offline_score` (same maths, vectorised, on
    logit-scaled confidences). ``global_variance=True`` uses one pooled within-example std
    (Carlini et al.'s "fixed variance", better with fewer than ~64 shadows).

    Introduced in lab 05 (Membership inference).
    """
    t = check_vector(target_phi, "target_phi")
    s = check_array(shadow_phi, "shadow_phi", dtype=np.float64, finite=False)
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

    t = check_vector(target_phi, "target_phi")
    s = check_array(shadow_phi, "shadow_phi", dtype=np.float64, finite=False)
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
                       ) -> LeaveOneOutScores:
    """LiRA against each of ``m`` models in turn, the other ``m - 1`` being its shadows.

    ``phi`` (m, n): every model's logit-scaled confidence on every example of a population;
    ``keep`` (m, n): which examples each model trained on. This is how Carlini et al. evaluate:
    pooling m targets gives m x n (score, membership) pairs, so even a small leak is measured
    precisely. Returns the scores and the true membership, both (m, n).

    Introduced in lab 05 (Membership inference).
    """
    phi = check_array(phi, "phi", dtype=np.float64, finite=False)
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
    return LeaveOneOutScores(scores=scores, is_member=keep.copy())


# --- ART's black-box attack, fed with probabilities --------------------------------------------


def art_black_box_attack(train_in, train_out, attack, *, attack_model: str = "rf",
                         seed: int = 0) -> np.ndarray:
    """ART's ``MembershipInferenceBlackBox`` trained on probabilities, then run on others.

    ``train_in`` and ``train_out`` are ``(proba, labels)`` of records the attacker KNOWS to be
    members and non-members of some model (Shokri et al.'s shadow-model recipe: a shadow model
    the attacker trained on data of their own); ``attack`` is ``(proba, labels)`` of the
    target's records to judge. ART's attack model (a seeded random forest by default) learns
    "member or not" from the probability vector and the label. Returns its membership
    probabilities for ``attack``. No query is made: the probabilities are supplied (the lab's
    targets are checkpointed torch modules and many sibling models, not course systems).

    Introduced in lab 05 (Membership inference).
    """
    from art.attacks.inference.membership_inference import MembershipInferenceBlackBox
    from art.estimators.classification import BlackBoxClassifier

    parts = []
    for name, pair in (("train_in", train_in), ("train_out", train_out), ("attack", attack)):
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise ArgumentTypeError(f"{name} must be a pair (proba, labels)")
        parts.append(check_proba(*pair))
    n_classes = {p.shape[1] for p, _ in parts}
    if len(n_classes) != 1:
        raise ValueError(f"the three probability arrays disagree on the number of classes: "
                         f"{sorted(n_classes)}")
    k = n_classes.pop()
    check_choice(attack_model, ("rf", "gb"), "attack_model")

    def no_queries(X):  # the probabilities are supplied: the target is never queried
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


# --- checkpoint building blocks -------------------------------------------------------------------


def pack_state(prefix: str, module: nn.Module, dtype=torch.float16) -> dict[str, torch.Tensor]:
    """A module's state dict as ``{prefix.key: tensor}`` in ``dtype`` (float16: the lab's
    numbers hold and the checkpoint files stay small).

    Introduced in lab 05 (Membership inference).
    """
    return {f"{prefix}.{k}": v.detach().to(dtype).clone(memory_format=torch.contiguous_format)
            for k, v in module.state_dict().items()}


def unpack_state(tensors: dict, prefix: str, module: nn.Module) -> nn.Module:
    """Load the tensors ``prefix.*`` of a checkpoint into ``module`` (in its own dtypes);
    return it in evaluation mode.

    Introduced in lab 05 (Membership inference).
    """
    wanted = module.state_dict()
    missing = [k for k in wanted if f"{prefix}.{k}" not in tensors]
    if missing:
        raise ValueError(f"the checkpoint lacks {prefix}.{missing[0]} (and {len(missing) - 1} "
                         f"more): it was trained with other settings")
    module.load_state_dict({k: tensors[f"{prefix}.{k}"].to(v.dtype) for k, v in wanted.items()})
    return module.eval()


def merge_settings(defaults: dict, overrides: dict) -> dict:
    """``defaults`` with ``overrides`` applied; an unknown setting is the course's
    unknown-name error.

    Introduced in lab 05 (Membership inference).
    """
    for key in overrides:
        if key not in defaults:
            raise unknown_name(key, sorted(defaults), "setting")
    return {**defaults, **overrides}
