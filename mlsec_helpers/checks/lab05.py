"""Exercises of lab 05 (Membership inference)."""

from __future__ import annotations

import functools
import math

import numpy as np

from .. import privacy
from ..exercises import Case, Exercise, Mistake

# --- exercise 1: the noise multiplier that meets an eps budget --------------------------------


def noise_for_budget(eps_of, target_eps: float, lo: float, hi: float, tol: float = 1e-3
                     ) -> float:
    """The smallest noise multiplier in ``[lo, hi]`` whose eps is at most ``target_eps``, by
    bisection (to within ``tol``; the returned value always meets the budget).

    ``eps_of(sigma)`` gives the eps that DP training spends with noise multiplier ``sigma``;
    it decreases as ``sigma`` grows. Invariant: ``eps_of(hi) <= target_eps``; while
    ``hi - lo > tol``, test the midpoint and move ``hi`` down to it when it meets the budget,
    else move ``lo`` up. Return ``hi``. Raises ``ValueError`` when ``hi`` does not meet it.

    Introduced in lab 05 (Membership inference).
    """
    if not callable(eps_of):
        raise TypeError("eps_of must be a function of the noise multiplier")
    if not 0 < lo < hi or tol <= 0 or target_eps <= 0:
        raise ValueError("need 0 < lo < hi, tol > 0 and target_eps > 0")
    if eps_of(hi) > target_eps:
        raise ValueError(f"even hi = {hi} spends more than eps {target_eps}: raise hi")
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if eps_of(mid) <= target_eps:
            hi = mid
        else:
            lo = mid
    return hi


def _nfb_return_lo(eps_of, target_eps, lo, hi, tol=1e-3):
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if eps_of(mid) <= target_eps:
            hi = mid
        else:
            lo = mid
    return lo


def _nfb_wrong_direction(eps_of, target_eps, lo, hi, tol=1e-3):
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if eps_of(mid) <= target_eps:
            lo = mid
        else:
            hi = mid
    return hi


def _nfb_cases() -> list[Case]:
    rdp = functools.partial(privacy.epsilon_for, sample_rate=0.02, steps=1000, delta=1e-5)
    return [
        Case((lambda s: 4.0 / s, 2.0, 0.5, 10.0, 1e-4), label="eps = 4 / sigma, budget 2"),
        Case((lambda s: 10.0 * math.exp(-s), 1.0, 0.1, 8.0, 1e-4),
             label="eps = 10 exp(-sigma), budget 1"),
        Case((rdp, 3.0, 0.3, 20.0, 1e-3), label="opacus's RDP analysis, budget 3"),
    ]


def _nfb_validate(got, case: Case) -> str | None:
    if isinstance(got, bool) or not isinstance(got, int | float | np.floating):
        return f"return one number (the noise multiplier), got {type(got).__name__}"
    eps_of, target = case.args[0], case.args[1]
    spent = eps_of(float(got))
    if spent > target + 1e-9:
        return (f"noise {float(got):.4f} spends eps {spent:.4f}, more than the budget "
                f"{target:g}")
    return None


def _nfb_compare(got, expected) -> bool:
    return abs(float(got) - float(expected)) <= 1.5e-3


NOISE_FOR_BUDGET = Exercise(
    name="noise_for_budget",
    reference=noise_for_budget,
    cases=_nfb_cases,
    compare=_nfb_compare,
    validate=_nfb_validate,
    mistakes=[
        Mistake("the lower end of the bracket returned", _nfb_return_lo,
                "lo is the side that does NOT meet the budget: return hi, the smallest noise "
                "known to meet it"),
        Mistake("the largest noise returned (a bisection that moves the wrong way, or none)",
                _nfb_wrong_direction,
                "more noise means LESS eps, and needless noise costs accuracy: when the "
                "midpoint meets the budget, the answer is at or below it, so move hi down"),
    ],
    hint="while hi - lo > tol: mid = (lo + hi) / 2; if eps_of(mid) <= target_eps: hi = mid, "
         "else lo = mid; return hi",
)


# --- exercise 2: the loss-threshold attack --------------------------------------------------------


def loss_threshold_attack(proba, labels, threshold):
    """Reference: :func:`mlsec_helpers.privacy.loss_threshold_attack`, as the pair
    ``(scores, is_member)`` the exercise asks for.

    Introduced in lab 05 (Membership inference).
    """
    result = privacy.loss_threshold_attack(proba, labels, threshold)
    return result.scores, result.is_member


def _lta_flipped(proba, labels, threshold):
    loss = -np.log(np.maximum(proba[np.arange(len(labels)), labels], 1e-12))
    return loss, loss > threshold


def _lta_max_proba(proba, labels, threshold):
    loss = -np.log(np.maximum(proba.max(1), 1e-12))
    return -loss, loss <= threshold


def _lta_no_floor(proba, labels, threshold):
    with np.errstate(divide="ignore"):
        loss = -np.log(proba[np.arange(len(labels)), labels])
    return -loss, loss <= threshold


def _lta_strict(proba, labels, threshold):
    loss = -np.log(np.maximum(proba[np.arange(len(labels)), labels], 1e-12))
    return -loss, loss < threshold


def _lta_cases() -> list[Case]:
    gen = np.random.default_rng(5)
    logits = gen.normal(0, 2, size=(30, 4))
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = gen.integers(0, 4, 30)
    q = np.array([[0.5, 0.5], [0.9, 0.1], [0.0, 1.0], [0.2, 0.8], [1.0, 0.0]])
    yq = np.array([0, 1, 0, 1, 0])
    return [
        Case((p, y, 1.0), label="30 examples, 4 classes"),
        Case((q, yq, float(-np.log(0.5))), label="a loss exactly at the threshold, p_y = 0"),
        Case((p, (y + 1) % 4, 2.5), label="mostly wrong predictions"),
    ]


def _lta_validate(got, case: Case) -> str | None:
    if not isinstance(got, tuple | list) or len(got) != 2:
        return "return a pair (scores, is_member)"
    n = len(case.args[1])
    if np.shape(got[0]) != (n,) or np.shape(got[1]) != (n,):
        return f"scores and is_member must both have shape ({n},)"
    if np.asarray(got[1]).dtype != bool:
        return "is_member must be booleans (True = member)"
    return None


LOSS_THRESHOLD_ATTACK = Exercise(
    name="loss_threshold_attack",
    reference=loss_threshold_attack,
    cases=_lta_cases,
    validate=_lta_validate,
    mistakes=[
        Mistake("the sign flipped (high loss called a member)", _lta_flipped,
                "members are the records the model fits best: LOW loss means member, so the "
                "score is -loss and a member has loss <= threshold"),
        Mistake("the top probability used instead of the true label's", _lta_max_proba,
                "the loss is -log p[true label], not -log of the largest probability"),
        Mistake("no floor on the probability (log of 0)", _lta_no_floor,
                "floor p_y at 1e-12 before the log so a confidently wrong prediction gives a "
                "large, finite loss"),
        Mistake("a strict comparison (loss < threshold)", _lta_strict,
                "a record whose loss equals the threshold counts as a member: use <="),
    ],
    hint="loss = -log(max(p[i, y_i], 1e-12)); scores = -loss; is_member = loss <= threshold",
)


# --- exercise 3: TPR at a fixed FPR -------------------------------------------------------------


def tpr_at_fpr(y_true, scores, fpr):
    """Reference: :func:`mlsec_helpers.privacy.tpr_at_fpr`.

    Introduced in lab 05 (Membership inference).
    """
    return privacy.tpr_at_fpr(y_true, scores, fpr)


def _taf_interpolated(y_true, scores, fpr):
    from sklearn.metrics import roc_curve

    f, t, _ = roc_curve(y_true, scores)
    return float(np.interp(fpr, f, t))


def _taf_strict(y_true, scores, fpr):
    from sklearn.metrics import roc_curve

    f, t, _ = roc_curve(y_true, scores, drop_intermediate=False)
    return float(t[f < fpr].max()) if (f < fpr).any() else 0.0


def _taf_all_quantile(y_true, scores, fpr):
    y, s = np.asarray(y_true).astype(bool), np.asarray(scores, float)
    return float((s[y] > np.quantile(s, 1 - fpr)).mean())


def _taf_ascending(y_true, scores, fpr):
    return privacy.tpr_at_fpr(y_true, -np.asarray(scores, float), fpr)


def _taf_cases() -> list[Case]:
    gen = np.random.default_rng(7)
    y = np.r_[np.ones(100), np.zeros(100)].astype(int)
    s = gen.normal(0.8 * y, 1.0)
    y2 = np.r_[np.ones(50), np.zeros(150)].astype(int)
    s2 = np.round(gen.normal(0.6 * y2, 1.0), 1)  # ties
    return [
        Case((y, s, 0.01), label="100 non-members, 1% FPR: one false positive allowed"),
        Case((y, s, 0.1), label="10% FPR"),
        Case((y2, s2, 0.05), label="tied scores"),
        Case((y, s + 5 * y, 0.01), label="a perfect attack"),
    ]


TPR_AT_FPR = Exercise(
    name="tpr_at_fpr",
    reference=tpr_at_fpr,
    cases=_taf_cases,
    mistakes=[
        Mistake("interpolation between ROC points", _taf_interpolated,
                "report a TPR that a real threshold reaches: the best TPR among thresholds "
                "whose FPR is at most the target, no interpolation"),
        Mistake("a strict FPR bound (FPR < target)", _taf_strict,
                "at 1% FPR with 100 non-members one false positive is allowed: FPR <= fpr"),
        Mistake("the threshold taken from a quantile of ALL scores", _taf_all_quantile,
                "the false-positive rate counts non-members only: sweep thresholds and measure "
                "FPR among non-members and TPR among members"),
        Mistake("low scores taken as members", _taf_ascending,
                "a higher score means 'more likely a member': call members those ABOVE the "
                "threshold"),
    ],
    hint="sklearn.metrics.roc_curve(y_true, scores, drop_intermediate=False) gives every "
         "threshold's FPR and TPR; take the largest TPR whose FPR <= fpr",
)


# --- exercise 4: the offline LiRA score of one example --------------------------------------------


def lira_offline_score(target_loss, shadow_losses, global_std=None):
    """Reference: :func:`mlsec_helpers.privacy.lira_offline_score`.

    Introduced in lab 05 (Membership inference).
    """
    return privacy.lira_offline_score(target_loss, shadow_losses, global_std)


def _phi(loss):
    loss = np.maximum(np.asarray(loss, float), 1e-300)
    return -loss - np.log(-np.expm1(-loss))


def _lira_raw_losses(target_loss, shadow_losses, global_std=None):
    s = np.asarray(shadow_losses, float)
    std = np.std(s) if global_std is None else global_std
    return float((s.mean() - target_loss) / std)


def _lira_flipped(target_loss, shadow_losses, global_std=None):
    phi = _phi(shadow_losses)
    std = np.std(phi) if global_std is None else global_std
    return float((phi.mean() - _phi(target_loss)) / std)


def _lira_no_std(target_loss, shadow_losses, global_std=None):
    return float(_phi(target_loss) - _phi(shadow_losses).mean())


def _lira_ddof1(target_loss, shadow_losses, global_std=None):
    phi = _phi(shadow_losses)
    std = np.std(phi, ddof=1) if global_std is None else global_std
    return float((_phi(target_loss) - phi.mean()) / std)


def _lira_ignores_global(target_loss, shadow_losses, global_std=None):
    phi = _phi(shadow_losses)
    return float((_phi(target_loss) - phi.mean()) / np.std(phi))


def _lira_cases() -> list[Case]:
    gen = np.random.default_rng(11)
    a = gen.gamma(2.0, 0.3, size=16)
    b = gen.gamma(1.0, 0.05, size=8)
    return [
        Case((0.05, a), label="a typical example, 16 shadows"),
        Case((0.2, b), label="an easy example (small shadow losses)"),
        Case((1.5, a), label="a target loss above the shadows'"),
        Case((0.01, b), kwargs={"global_std": 2.0}, label="with a global std"),
    ]


LIRA_OFFLINE_SCORE = Exercise(
    name="lira_offline_score",
    reference=lira_offline_score,
    cases=_lira_cases,
    mistakes=[
        Mistake("the Gaussian fitted to raw losses", _lira_raw_losses,
                "turn each loss into a logit-scaled confidence first, "
                "phi = -loss - log(-expm1(-loss)): losses near 0 are far from Gaussian"),
        Mistake("the sign flipped", _lira_flipped,
                "a member is MORE confident than the shadows that never saw it: "
                "z = (phi_target - mean) / std"),
        Mistake("no division by the standard deviation", _lira_no_std,
                "divide by the std of the shadows' phi: an example whose confidence varies "
                "a lot between models needs a bigger gap to count"),
        Mistake("the sample standard deviation (ddof=1)", _lira_ddof1,
                "use the population std, numpy's default np.std(phi)"),
        Mistake("global_std ignored", _lira_ignores_global,
                "when global_std is given, divide by it instead of the shadows' own std"),
    ],
    hint="phi = -loss - log(-expm1(-loss)) for the target and each shadow; "
         "z = (phi_target - phi_shadows.mean()) / (global_std or phi_shadows.std())",
)


#: Every exercise of this lab, in the order the lab asks them (the tests run each one).
EXERCISES: tuple[Exercise, ...] = (NOISE_FOR_BUDGET, LOSS_THRESHOLD_ATTACK, TPR_AT_FPR,
                                   LIRA_OFFLINE_SCORE)

__all__ = [
    "EXERCISES",
    "LIRA_OFFLINE_SCORE",
    "LOSS_THRESHOLD_ATTACK",
    "NOISE_FOR_BUDGET",
    "TPR_AT_FPR",
    "lira_offline_score",
    "loss_threshold_attack",
    "noise_for_budget",
    "tpr_at_fpr",
]
