"""Lab 05's exercise checks, beyond what tests/test_exercise_checks.py runs for every exercise.

A mutant suite: for each exercise, plausible wrong answers that are NOT among its known
mistakes (the check and the grading must reject every one), and correct answers written
differently from the reference (both must accept every one).
"""

import math
import statistics

import numpy as np
import pytest
import torch
from mutants import assert_enough_mutants, mutant_tests

from mlsec_helpers import privacy
from mlsec_helpers.checks import lab05
from mlsec_helpers.exercises import check, run_check

# --- exercise 1: noise_for_budget ----------------------------------------------------------------


def nfb_strict_budget(eps_of, target_eps, lo, hi, tol=1e-3):
    if eps_of(hi) > target_eps:
        return math.inf
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if eps_of(mid) < target_eps:  # a budget met exactly is not "met"
            hi = mid
        else:
            lo = mid
    return hi


def nfb_loop_ge(eps_of, target_eps, lo, hi, tol=1e-3):
    if eps_of(hi) > target_eps:
        return math.inf
    while hi - lo >= tol:  # one step too many when hi - lo reaches tol exactly
        mid = (lo + hi) / 2
        if eps_of(mid) <= target_eps:
            hi = mid
        else:
            lo = mid
    return hi


def nfb_returns_midpoint(eps_of, target_eps, lo, hi, tol=1e-3):
    if eps_of(hi) > target_eps:
        return math.inf
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if eps_of(mid) <= target_eps:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


def nfb_relative_tol(eps_of, target_eps, lo, hi, tol=1e-3):
    if eps_of(hi) > target_eps:
        return math.inf
    while (hi - lo) / hi > tol:
        mid = (lo + hi) / 2
        if eps_of(mid) <= target_eps:
            hi = mid
        else:
            lo = mid
    return hi


def nfb_geometric_midpoint(eps_of, target_eps, lo, hi, tol=1e-3):
    if eps_of(hi) > target_eps:
        return math.inf
    while hi - lo > tol:
        mid = math.sqrt(lo * hi)
        if eps_of(mid) <= target_eps:
            hi = mid
        else:
            lo = mid
    return hi


def nfb_raises_when_unmeetable(eps_of, target_eps, lo, hi, tol=1e-3):
    if eps_of(hi) > target_eps:
        raise ValueError("the budget cannot be met: raise hi")
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if eps_of(mid) <= target_eps:
            hi = mid
        else:
            lo = mid
    return hi


def nfb_none_when_unmeetable(eps_of, target_eps, lo, hi, tol=1e-3):
    if eps_of(hi) > target_eps:
        return None
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if eps_of(mid) <= target_eps:
            hi = mid
        else:
            lo = mid
    return hi


def nfb_hi_check_strict(eps_of, target_eps, lo, hi, tol=1e-3):
    if eps_of(hi) >= target_eps:  # hi spending exactly the budget does meet it
        return math.inf
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if eps_of(mid) <= target_eps:
            hi = mid
        else:
            lo = mid
    return hi


def nfb_fixed_iterations(eps_of, target_eps, lo, hi, tol=1e-3):
    if eps_of(hi) > target_eps:
        return math.inf
    for _ in range(20):
        mid = (lo + hi) / 2
        if eps_of(mid) <= target_eps:
            hi = mid
        else:
            lo = mid
    return hi


def nfb_ignores_lo(eps_of, target_eps, lo, hi, tol=1e-3):
    if eps_of(hi) > target_eps:
        return math.inf
    lo = 0.0
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if eps_of(mid) <= target_eps:
            hi = mid
        else:
            lo = mid
    return hi


def nfb_rounded(eps_of, target_eps, lo, hi, tol=1e-3):
    if eps_of(hi) > target_eps:
        return math.inf
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if eps_of(mid) <= target_eps:
            hi = mid
        else:
            lo = mid
    return round(hi, 2)


def nfb_returns_pair(eps_of, target_eps, lo, hi, tol=1e-3):
    if eps_of(hi) > target_eps:
        return math.inf, math.inf
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if eps_of(mid) <= target_eps:
            hi = mid
        else:
            lo = mid
    return hi, eps_of(hi)


def nfb_brentq(eps_of, target_eps, lo, hi, tol=1e-3):
    from scipy.optimize import brentq

    if eps_of(hi) > target_eps:
        return math.inf
    if eps_of(lo) <= target_eps:
        return lo
    return brentq(lambda s: eps_of(s) - target_eps, lo, hi, xtol=1e-12) + 1e-9


def nfb_recursive(eps_of, target_eps, lo, hi, tol=1e-3):
    if eps_of(hi) > target_eps:
        return math.inf

    def search(lo, hi):
        if hi - lo <= tol:
            return hi
        mid = (lo + hi) / 2
        return search(lo, mid) if eps_of(mid) <= target_eps else search(mid, hi)

    return search(lo, hi)


def nfb_counted_steps(eps_of, target_eps, lo, hi, tol=1e-3):
    if not eps_of(hi) <= target_eps:
        return float("inf")
    steps = max(0, math.ceil(math.log2((hi - lo) / tol)))
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if eps_of(mid) <= target_eps else (mid, hi)
    return hi


def nfb_numpy(eps_of, target_eps, lo, hi, tol=1e-3):
    lo, hi = np.float64(lo), np.float64(hi)
    if eps_of(hi) > target_eps:
        return np.inf
    while hi - lo > tol:
        mid = lo + (hi - lo) / 2
        meets = eps_of(mid) <= target_eps
        hi, lo = (mid, lo) if meets else (hi, mid)
    return hi


def nfb_tracked_width(eps_of, target_eps, lo, hi, tol=1e-3):
    if eps_of(hi) > target_eps:
        return math.inf
    best = hi
    width = hi - lo
    while width > tol:
        mid = (lo + best) / 2
        if eps_of(mid) <= target_eps:
            best = mid
        else:
            lo = mid
        width = best - lo
    return best


NFB_WRONG = [nfb_strict_budget, nfb_loop_ge, nfb_returns_midpoint, nfb_relative_tol,
             nfb_geometric_midpoint, nfb_raises_when_unmeetable, nfb_none_when_unmeetable,
             nfb_hi_check_strict, nfb_fixed_iterations, nfb_ignores_lo, nfb_rounded,
             nfb_returns_pair, nfb_brentq]
NFB_RIGHT = [nfb_recursive, nfb_counted_steps, nfb_numpy, nfb_tracked_width]


# --- exercise 2: loss_threshold_attack -----------------------------------------------------------


def _p_true(proba, labels):
    return proba[np.arange(len(labels)), labels]


def lta_floor_1e_10(proba, labels, threshold):
    loss = -np.log(np.maximum(_p_true(proba, labels), 1e-10))
    return -loss, loss <= threshold


def lta_clipped_above(proba, labels, threshold):
    loss = -np.log(np.clip(_p_true(proba, labels), 1e-12, 1 - 1e-12))
    return -loss, loss <= threshold


def lta_log10(proba, labels, threshold):
    loss = -np.log10(np.maximum(_p_true(proba, labels), 1e-12))
    return -loss, loss <= threshold


def lta_int_decisions(proba, labels, threshold):
    loss = -np.log(np.maximum(_p_true(proba, labels), 1e-12))
    return -loss, (loss <= threshold).astype(int)


def lta_lists(proba, labels, threshold):
    loss = -np.log(np.maximum(_p_true(proba, labels), 1e-12))
    return (-loss).tolist(), (loss <= threshold).tolist()


def lta_tensors(proba, labels, threshold):
    p = torch.as_tensor(proba)[torch.arange(len(labels)), torch.as_tensor(labels)]
    loss = -torch.log(p.clamp_min(1e-12))
    return -loss, loss <= threshold


def lta_dict(proba, labels, threshold):
    loss = -np.log(np.maximum(_p_true(proba, labels), 1e-12))
    return {"scores": -loss, "is_member": loss <= threshold}


def lta_floors_in_place(proba, labels, threshold):
    np.maximum(proba, 1e-12, out=proba)
    loss = -np.log(_p_true(proba, labels))
    return -loss, loss <= threshold


def lta_column_indexing(proba, labels, threshold):
    loss = -np.log(np.maximum(proba[:, labels], 1e-12))
    return -loss, loss <= threshold


def lta_scores_against_threshold(proba, labels, threshold):
    scores = np.log(np.maximum(_p_true(proba, labels), 1e-12))
    return scores, scores <= threshold


def lta_probability_threshold(proba, labels, threshold):
    p = _p_true(proba, labels)
    return np.log(np.maximum(p, 1e-12)), p >= threshold


def lta_mean_loss_threshold(proba, labels, threshold):
    loss = -np.log(np.maximum(_p_true(proba, labels), 1e-12))
    return -loss, loss <= loss.mean()


def lta_positive_scores(proba, labels, threshold):
    loss = -np.log(np.maximum(_p_true(proba, labels), 1e-12))
    return loss, loss <= threshold


def lta_loop(proba, labels, threshold):
    scores, members = [], []
    for row, label in zip(proba, labels, strict=True):
        loss = -math.log(max(float(row[label]), 1e-12))
        scores.append(-loss)
        members.append(loss <= threshold)
    return np.array(scores), np.array(members)


def lta_torch(proba, labels, threshold):
    p = torch.from_numpy(np.asarray(proba)).gather(1, torch.as_tensor(labels)[:, None])[:, 0]
    loss = -p.clamp_min(1e-12).log()
    return (-loss).numpy(), (loss <= threshold).numpy()


def lta_take_along(proba, labels, threshold):
    p = np.take_along_axis(proba, np.asarray(labels)[:, None], axis=1).ravel()
    loss = -np.log(np.clip(p, 1e-12, None))
    return -loss, loss <= threshold


def lta_choose_as_list(proba, labels, threshold):
    p = np.fmax(np.choose(labels, proba.T), 1e-12)
    scores = np.log(p)
    return [scores, -scores <= threshold]


LTA_WRONG = [lta_floor_1e_10, lta_clipped_above, lta_log10, lta_int_decisions, lta_lists,
             lta_tensors, lta_dict, lta_floors_in_place, lta_column_indexing,
             lta_scores_against_threshold, lta_probability_threshold, lta_mean_loss_threshold,
             lta_positive_scores]
LTA_RIGHT = [lta_loop, lta_torch, lta_take_along, lta_choose_as_list]


# --- exercise 3: tpr_at_fpr ----------------------------------------------------------------------


def _yb(y_true):
    return np.asarray(y_true).astype(bool)


def taf_members_first_in_ties(y_true, scores, fpr):
    y, s = _yb(y_true), np.asarray(scores, float)
    order = np.lexsort((~y, -s))  # by score, and among tied scores members first
    tp, fp = np.cumsum(y[order]), np.cumsum(~y[order])
    ok = fp / (~y).sum() <= fpr
    return float((tp[ok] / y.sum()).max()) if ok.any() else 0.0


def taf_fpr_over_everyone(y_true, scores, fpr):
    y, s = _yb(y_true), np.asarray(scores, float)
    best = 0.0
    for t in np.unique(s):
        called = s >= t
        if (called & ~y).sum() / len(s) <= fpr:
            best = max(best, called[y].mean())
    return best


def taf_tpr_over_everyone(y_true, scores, fpr):
    y, s = _yb(y_true), np.asarray(scores, float)
    best = 0.0
    for t in np.unique(s):
        called = s >= t
        if called[~y].mean() <= fpr:
            best = max(best, (called & y).sum() / len(s))
    return best


def taf_non_member_quantile(y_true, scores, fpr):
    y, s = _yb(y_true), np.asarray(scores, float)
    return float((s[y] >= np.quantile(s[~y], 1 - fpr)).mean())


def taf_first_point_at_or_above(y_true, scores, fpr):
    from sklearn.metrics import roc_curve

    f, t, _ = roc_curve(y_true, scores, drop_intermediate=False)
    return float(t[min(np.searchsorted(f, fpr), len(t) - 1)])


def taf_strictly_above(y_true, scores, fpr):
    y, s = _yb(y_true), np.asarray(scores, float)
    best = 0.0
    for t in np.unique(s):
        called = s > t
        if called[~y].mean() <= fpr:
            best = max(best, called[y].mean())
    return best


def taf_ignores_fpr(y_true, scores, fpr):
    from sklearn.metrics import roc_curve

    f, t, _ = roc_curve(y_true, scores, drop_intermediate=False)
    return float(t[f <= 0.01].max())


def taf_boolean_indexing(y_true, scores, fpr):
    y, s = np.asarray(y_true), np.asarray(scores, float)
    members, others = s[y], s[~y] if y.dtype == bool else s[1 - y]
    best = 0.0
    for t in np.unique(s):
        if (others >= t).mean() <= fpr:
            best = max(best, (members >= t).mean())
    return best


def taf_percent(y_true, scores, fpr):
    from sklearn.metrics import roc_curve

    f, t, _ = roc_curve(y_true, scores, drop_intermediate=False)
    return 100 * float(t[f <= fpr].max())


def taf_returns_threshold(y_true, scores, fpr):
    from sklearn.metrics import roc_curve

    f, t, thresholds = roc_curve(y_true, scores, drop_intermediate=False)
    return float(thresholds[f <= fpr][np.argmax(t[f <= fpr])])


def taf_sorts_in_place(y_true, scores, fpr):
    from sklearn.metrics import roc_curve

    order = np.argsort(scores)
    scores.sort()
    f, t, _ = roc_curve(np.asarray(y_true)[order], scores, drop_intermediate=False)
    return float(t[f <= fpr].max())


def taf_all_rates(y_true, scores, fpr):
    from sklearn.metrics import roc_curve

    f, t, _ = roc_curve(y_true, scores, drop_intermediate=False)
    return t[f <= fpr]


def taf_unique_thresholds(y_true, scores, fpr):
    y, s = _yb(y_true), np.asarray(scores, float)
    best = 0.0
    for t in np.unique(s):
        called = s >= t
        if called[~y].mean() <= fpr:
            best = max(best, called[y].mean())
    return best


def taf_searchsorted(y_true, scores, fpr):
    from sklearn.metrics import roc_curve

    f, t, _ = roc_curve(y_true, scores, drop_intermediate=False)
    return float(t[np.searchsorted(f, fpr, side="right") - 1])


def taf_cumulative_counts(y_true, scores, fpr):
    y, s = _yb(y_true), np.asarray(scores, float)
    levels = np.unique(s)[::-1]  # thresholds, highest first
    tp = np.array([(s[y] >= t).sum() for t in levels]) / y.sum()
    fp = np.array([(s[~y] >= t).sum() for t in levels]) / (~y).sum()
    ok = fp <= fpr
    return float(tp[ok].max()) if ok.any() else 0.0


def taf_kth_non_member(y_true, scores, fpr):
    y, s = _yb(y_true), np.asarray(scores, float)
    negatives = np.sort(s[~y])[::-1]
    k = int(math.floor(fpr * len(negatives) + 1e-9))  # false positives allowed
    if k >= len(negatives):
        return 1.0
    return float((s[y] > negatives[k]).mean())


def taf_torch(y_true, scores, fpr):
    y = torch.as_tensor(np.asarray(y_true)).bool()
    s = torch.as_tensor(np.asarray(scores, dtype=np.float64))
    thresholds = torch.unique(s)
    called = s[None, :] >= thresholds[:, None]
    fp = (called & ~y).sum(1) / (~y).sum()
    tp = (called & y).sum(1) / y.sum()
    ok = fp <= fpr
    return float(tp[ok].max()) if bool(ok.any()) else 0.0


TAF_WRONG = [taf_members_first_in_ties, taf_fpr_over_everyone, taf_tpr_over_everyone,
             taf_non_member_quantile, taf_first_point_at_or_above, taf_strictly_above,
             taf_ignores_fpr, taf_boolean_indexing, taf_percent, taf_returns_threshold,
             taf_sorts_in_place, taf_all_rates]
TAF_RIGHT = [taf_unique_thresholds, taf_searchsorted, taf_cumulative_counts, taf_kth_non_member,
             taf_torch]


# --- exercise 4: lira_offline_score --------------------------------------------------------------


def _phi(loss):
    loss = np.asarray(loss, dtype=float)
    return -loss - np.log(-np.expm1(-loss))


def _z(target_phi, shadow_phi, std):
    return float((target_phi - np.mean(shadow_phi)) / max(std, 1e-12))


def lira_log_p_only(target_loss, shadow_losses, global_std=None):
    phi = -np.asarray(shadow_losses, dtype=float)
    return _z(-target_loss, phi, np.std(phi) if global_std is None else global_std)


def lira_naive_phi(target_loss, shadow_losses, global_std=None):
    def phi(loss):
        p = np.exp(-np.asarray(loss, dtype=float))
        with np.errstate(divide="ignore"):
            return np.log(p / (1 - p))

    s = phi(shadow_losses)
    return _z(phi(target_loss), s, np.std(s) if global_std is None else global_std)


def lira_variance(target_loss, shadow_losses, global_std=None):
    s = _phi(shadow_losses)
    return _z(_phi(target_loss), s, np.var(s) if global_std is None else global_std)


def lira_median(target_loss, shadow_losses, global_std=None):
    s = _phi(shadow_losses)
    std = np.std(s) if global_std is None else global_std
    return float((_phi(target_loss) - np.median(s)) / max(std, 1e-12))


def lira_global_up_to_10(target_loss, shadow_losses, global_std=None):
    s = _phi(shadow_losses)
    use_global = global_std is not None and len(s) <= 10
    return _z(_phi(target_loss), s, global_std if use_global else np.std(s))


def lira_global_below_64(target_loss, shadow_losses, global_std=None):
    s = _phi(shadow_losses)
    use_global = global_std is not None and len(s) < 64
    return _z(_phi(target_loss), s, global_std if use_global else np.std(s))


def lira_floor_1e_6(target_loss, shadow_losses, global_std=None):
    s = _phi(shadow_losses)
    std = np.std(s) if global_std is None else global_std
    return float((_phi(target_loss) - s.mean()) / max(std, 1e-6))


def lira_std_with_target(target_loss, shadow_losses, global_std=None):
    s, t = _phi(shadow_losses), _phi(target_loss)
    return _z(t, s, np.std(np.append(s, t)) if global_std is None else global_std)


def lira_phi_of_mean_loss(target_loss, shadow_losses, global_std=None):
    s = _phi(shadow_losses)
    std = np.std(s) if global_std is None else global_std
    return float((_phi(target_loss) - _phi(np.mean(shadow_losses))) / max(std, 1e-12))


def lira_global_std_as_variance(target_loss, shadow_losses, global_std=None):
    s = _phi(shadow_losses)
    return _z(_phi(target_loss), s, np.std(s) if global_std is None else math.sqrt(global_std))


def lira_log10_phi(target_loss, shadow_losses, global_std=None):
    def phi(loss):
        loss = np.asarray(loss, dtype=float)
        return -loss / math.log(10) - np.log10(-np.expm1(-loss))

    s = phi(shadow_losses)
    return _z(phi(target_loss), s, np.std(s) if global_std is None else global_std)


def lira_returns_array(target_loss, shadow_losses, global_std=None):
    s = _phi(shadow_losses)
    std = np.std(s) if global_std is None else global_std
    return (_phi(np.atleast_1d(target_loss)) - s.mean()) / max(std, 1e-12)


def lira_returns_tensor(target_loss, shadow_losses, global_std=None):
    s = torch.as_tensor(_phi(shadow_losses))
    std = s.std(unbiased=False) if global_std is None else torch.tensor(global_std)
    return (torch.as_tensor(_phi(target_loss)) - s.mean()) / std.clamp_min(1e-12)


def lira_sorts_in_place(target_loss, shadow_losses, global_std=None):
    shadow_losses.sort()  # a median, then a change of mind: the caller's array is now sorted
    s = _phi(shadow_losses)
    return _z(_phi(target_loss), s, np.std(s) if global_std is None else global_std)


def lira_python(target_loss, shadow_losses, global_std=None):
    def phi(loss):
        return -loss - math.log(-math.expm1(-loss))

    shadow = [phi(float(loss)) for loss in shadow_losses]
    std = statistics.pstdev(shadow) if global_std is None else global_std
    return (phi(float(target_loss)) - statistics.fmean(shadow)) / max(std, 1e-12)


def lira_torch(target_loss, shadow_losses, global_std=None):
    def phi(loss):
        return -loss - torch.log(-torch.expm1(-loss))

    s = phi(torch.as_tensor(np.asarray(shadow_losses), dtype=torch.float64))
    t = phi(torch.tensor(float(target_loss), dtype=torch.float64))
    std = s.std(correction=0) if global_std is None else torch.tensor(float(global_std))
    return ((t - s.mean()) / std.clamp_min(1e-12)).item()


def lira_log_expm1(target_loss, shadow_losses, global_std=None):
    # log(p / (1 - p)) = -log(exp(loss) - 1), and expm1 keeps tiny losses exact
    s = -np.log(np.expm1(np.asarray(shadow_losses, dtype=float)))
    t = -np.log(np.expm1(target_loss))
    std = s.std() if global_std is None else global_std
    return np.float64((t - s.mean()) / np.maximum(std, 1e-12))


def lira_all_at_once(target_loss, shadow_losses, global_std=None):
    losses = np.r_[target_loss, shadow_losses]
    phi = -losses - np.log(-np.expm1(-losses))
    target, shadows = phi[0], phi[1:]
    std = float(np.sqrt(np.mean((shadows - shadows.mean()) ** 2))) if global_std is None \
        else global_std
    return float((target - shadows.mean()) / max(std, 1e-12))


LIRA_WRONG = [lira_log_p_only, lira_naive_phi, lira_variance, lira_median, lira_global_up_to_10,
              lira_global_below_64, lira_floor_1e_6, lira_std_with_target, lira_phi_of_mean_loss,
              lira_global_std_as_variance, lira_log10_phi, lira_returns_array,
              lira_returns_tensor, lira_sorts_in_place]
LIRA_RIGHT = [lira_python, lira_torch, lira_log_expm1, lira_all_at_once]


# --- the challenge: break_label_only_api ---------------------------------------------------------


def blo_constant(api, X, y):  # no attack at all
    return np.zeros(len(X))


def blo_random(api, X, y):  # a coin flip per candidate
    return np.random.default_rng(0).random(len(X))


def blo_flipped(api, X, y):  # members are labelled correctly, not wrongly
    return (api(X) != y).astype(float)


def blo_predicted_label(api, X, y):  # the label alone, without the true one, says nothing
    return api(X).astype(float)


def blo_true_label(api, X, y):  # the true label alone, without the API, says nothing
    return np.asarray(y, dtype=float)


def blo_one_score(api, X, y):  # one number instead of one per candidate
    return float((api(X) == y).mean())


def blo_bool_list(api, X, y):  # a scalar bool
    return bool((api(X) == y).all())


def blo_nan(api, X, y):  # a score that is not a number
    scores = (api(X) == y).astype(float)
    scores[0] = np.nan
    return scores


def blo_first_half(api, X, y):  # half the candidates only
    return (api(X) == y).astype(float)[: len(X) // 2]


def blo_int(api, X, y):
    return (api(X) == y).astype(int)


def blo_bool(api, X, y):
    return api(X) == y


def blo_robustness(api, X, y):  # correctness, ties broken by the labels of noisy neighbours
    gen = np.random.default_rng(0)
    correct = (api(X) == y).astype(float)
    near = np.mean([api(X + gen.normal(0, 0.05, X.shape)) == y for _ in range(4)], axis=0)
    return 10 * correct + near


def blo_list(api, X, y):
    return [float(a == b) for a, b in zip(api(X), y, strict=True)]


def blo_position(api, X, y):  # members are not the first half: position says nothing
    return np.r_[np.ones(len(X) // 2), np.zeros(len(X) - len(X) // 2)]


BLO_WRONG = [blo_constant, blo_random, blo_flipped, blo_predicted_label, blo_true_label,
             blo_one_score, blo_bool_list, blo_nan, blo_first_half, blo_position]
BLO_RIGHT = [blo_int, blo_bool, blo_robustness, blo_list]


def test_the_challenge_target_holds_with_a_margin_for_the_reference():
    from sklearn.metrics import roc_auc_score

    for seed in (0, 1, 101, 202, 7, 8):
        api, X, y = lab05.label_only_api(seed=seed)
        auc = roc_auc_score(lab05.membership_truth(api), lab05.break_label_only_api(api, X, y))
        assert auc >= lab05.LABEL_ONLY_TARGET_AUC + 0.02, (seed, auc)


def test_the_label_only_api_shows_labels_only_and_keeps_the_truth_apart():
    api, X, y = lab05.label_only_api(seed=3, n=50)
    assert not hasattr(api, "__dict__") and not hasattr(api, "_is_member")
    assert set(np.unique(api(X))) <= {0, 1} and "labels only" in repr(api)
    truth = lab05.membership_truth(api)
    assert truth.sum() == 50 and not truth[:50].all()  # a random half, not the first
    truth[:] = False
    assert lab05.membership_truth(api).sum() == 50  # a copy
    with pytest.raises(TypeError, match="label_only_api"):
        lab05.membership_truth(lambda X: X)
    with pytest.raises(ValueError, match="array of records"):
        api(X[:, :3])


# --- the mutant suite ----------------------------------------------------------------------------

WRONG = ([(lab05.NOISE_FOR_BUDGET, f) for f in NFB_WRONG]
         + [(lab05.LOSS_THRESHOLD_ATTACK, f) for f in LTA_WRONG]
         + [(lab05.TPR_AT_FPR, f) for f in TAF_WRONG]
         + [(lab05.LIRA_OFFLINE_SCORE, f) for f in LIRA_WRONG]
         + [(lab05.LABEL_ONLY_CHALLENGE, f) for f in BLO_WRONG])
RIGHT = ([(lab05.NOISE_FOR_BUDGET, f) for f in NFB_RIGHT]
         + [(lab05.LOSS_THRESHOLD_ATTACK, f) for f in LTA_RIGHT]
         + [(lab05.TPR_AT_FPR, f) for f in TAF_RIGHT]
         + [(lab05.LIRA_OFFLINE_SCORE, f) for f in LIRA_RIGHT]
         + [(lab05.LABEL_ONLY_CHALLENGE, f) for f in BLO_RIGHT])


def test_the_suite_has_enough_mutants_and_none_is_a_known_mistake():
    assert_enough_mutants(lab05.EXERCISES, WRONG, RIGHT)


(test_a_wrong_answer_is_rejected_by_the_check_and_the_grading,
 test_a_correct_answer_written_differently_is_accepted) = mutant_tests(WRONG, RIGHT)


# --- the rules each exercise's cases test, one by one --------------------------------------------


@pytest.mark.parametrize(("answer", "words"), [
    (lab05._nfb_fixed_tol, "the tol argument ignored (a fixed tolerance of 1e-3)"),
    (lab05._nfb_to_convergence, "the tol argument ignored (a bisection run to convergence)"),
    (lab05._nfb_no_bracket_check, "no check that hi meets the budget"),
    (lab05._taf_nearest, "the ROC point nearest the target FPR"),
    (lab05._taf_strict, "a strict FPR bound"),
    (lab05._taf_thinned, "scikit-learn's thinned ROC curve"),
    (lab05._lira_global_below_10, "global_std used only below 10 shadows"),
    (lab05._lira_no_std_floor, "no floor on the standard deviation"),
    (lab05._lta_shifted, "1e-12 added to the probability"),
])
def test_the_new_known_mistakes_are_named(answer, words):
    exercise = next(ex for ex in lab05.EXERCISES if any(m.impl is answer for m in ex.mistakes))
    result = run_check(exercise, answer)
    assert result.status == "wrong" and f"this looks like {words}" in result.message


def test_the_strict_fpr_hint_goes_only_to_a_strict_bound():
    strict_bound = next(m for m in lab05.TPR_AT_FPR.mistakes if "strict" in m.name)
    for answer in [*TAF_WRONG, lab05._taf_nearest, lab05._taf_thinned,
                   lab05._taf_interpolated]:
        result = run_check(lab05.TPR_AT_FPR, answer)
        assert result.hint != strict_bound.hint, answer.__name__
    # a case where the nearest ROC point is wrong and the strict bound right (where the
    # target FPR is reached exactly, the two give the same TPR: the point just before it)
    cases = lab05.TPR_AT_FPR._cases()
    ref = [lab05.tpr_at_fpr(*c.args) for c in cases]
    strict = [lab05._taf_strict(*c.args) for c in cases]
    nearest = [lab05._taf_nearest(*c.args) for c in cases]
    rows = list(zip(ref, strict, nearest, strict=True))
    assert any(r == s != n for r, s, n in rows)
    assert any(r != s for r, s, n in rows)

    def strict_loop(y_true, scores, fpr):  # the same mistake, written as a loop
        y, s = _yb(y_true), np.asarray(scores, float)
        best = 0.0
        for t in np.unique(s):
            called = s >= t
            if called[~y].mean() < fpr:
                best = max(best, called[y].mean())
        return best

    assert run_check(lab05.TPR_AT_FPR, strict_loop).hint == strict_bound.hint


def test_noise_for_budget_tol_changes_the_answer():
    case = next(c for c in lab05.NOISE_FOR_BUDGET._cases() if "coarse tol" in c.label)
    coarse = lab05.noise_for_budget(*case.args)
    fine = lab05.noise_for_budget(*case.args[:4], 1e-9)
    assert coarse - fine > 0.1 and case.args[0](coarse) <= case.args[1]


def test_noise_for_budget_returns_inf_when_no_noise_in_the_bracket_meets_the_budget():
    assert lab05.noise_for_budget(lambda s: 4.0 / s, 1.0, 0.5, 2.0) == math.inf
    assert lab05.noise_for_budget(lambda s: 4.0 / s, 2.0, 0.5, 2.0, 0.25) == 2.0  # met exactly
    with pytest.raises(ValueError):
        lab05.noise_for_budget(lambda s: 4.0 / s, 1.0, 3.0, 2.0)
    with pytest.raises(TypeError):
        lab05.noise_for_budget(4.0, 1.0, 0.5, 10.0)
    too_little_noise = run_check(lab05.NOISE_FOR_BUDGET, lambda f, e, lo, hi, tol=1e-3: lo)
    assert too_little_noise.status == "wrong"
    assert "more than the budget" in too_little_noise.message


def test_lira_uses_a_given_global_std_whatever_the_number_of_shadows():
    for case in lab05.LIRA_OFFLINE_SCORE._cases():
        if "global_std" in case.kwargs:
            phi = _phi(case.args[1])
            expected = (_phi(case.args[0]) - phi.mean()) / case.kwargs["global_std"]
            assert lab05.lira_offline_score(*case.args, **case.kwargs) == pytest.approx(expected)
    counts = {len(c.args[1]) for c in lab05.LIRA_OFFLINE_SCORE._cases() if c.kwargs}
    assert {9, 10, 11} <= counts and max(counts) >= 64


def test_unknown_wrong_answers_are_reported_with_the_expected_value():
    result = run_check(lab05.LIRA_OFFLINE_SCORE, lambda t, s, global_std=None: 0.0)
    assert result.status == "wrong" and "expected" in result.message
    bad_shape = run_check(lab05.LOSS_THRESHOLD_ATTACK, lambda p, y, t: np.zeros(3))
    assert bad_shape.status == "wrong" and "pair" in bad_shape.message


@pytest.mark.parametrize(("answer", "words"), [
    (lta_tensors, "NumPy array"), (lta_lists, "NumPy array"), (lta_int_decisions, "booleans"),
])
def test_the_loss_threshold_output_is_checked_as_the_lab_uses_it(answer, words):
    result = run_check(lab05.LOSS_THRESHOLD_ATTACK, answer)
    assert result.status == "wrong" and words in result.message


@pytest.mark.parametrize(("exercise", "answer"), [
    (lab05.NOISE_FOR_BUDGET, lambda f, e, lo, hi, tol=1e-3: privacy.noise_for_epsilon(
        e, 1e-5, 0.25, 100)),
    (lab05.LOSS_THRESHOLD_ATTACK, lambda p, y, t: (
        -privacy.cross_entropy_losses(p, y), privacy.cross_entropy_losses(p, y) <= t)),
    (lab05.TPR_AT_FPR, lambda y, s, fpr: privacy.tpr_at_fpr(y, s, fpr)),
    (lab05.TPR_AT_FPR, lambda y, s, fpr: privacy.membership_metrics(y, s, fpr).tpr_at_fpr),
    (lab05.LIRA_OFFLINE_SCORE, lambda t, s, global_std=None: privacy.lira_offline_score(
        t, s, global_std)),
    (lab05.LIRA_OFFLINE_SCORE, lambda t, s, global_std=None: float(
        (privacy.loss_to_logit_confidence(np.array([t]))[0]
         - privacy.loss_to_logit_confidence(s).mean()) / (global_std or np.std(
             privacy.loss_to_logit_confidence(s))))),
], ids=["noise_for_epsilon", "cross_entropy_losses", "tpr_at_fpr", "membership_metrics",
        "lira_offline_score", "loss_to_logit_confidence"])
def test_an_answer_that_calls_the_package_is_not_an_answer(exercise, answer):
    result = run_check(exercise, answer)
    assert result.status == "wrong" and "calls the reference" in result.message


def test_the_lab_goes_on_with_the_students_function_once_it_is_right(capsys):
    assert check(lab05.TPR_AT_FPR, taf_searchsorted) is taf_searchsorted
    assert check(lab05.TPR_AT_FPR, taf_percent) is lab05.tpr_at_fpr
    assert "✅" in capsys.readouterr().out.splitlines()[0]
