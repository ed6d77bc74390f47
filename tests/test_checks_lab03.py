"""Lab 03's exercise checks, beyond what tests/test_exercise_checks.py runs for every exercise.

A mutant suite per exercise: plausible wrong answers that are not among the exercise's known
mistakes (the check and the grading must reject each), and correct answers written differently
from the reference (both must accept each).
"""

import copy
import pickle

import numpy as np
import pytest
import torch
from mutants import assert_accepted, assert_rejected

from mlsec_helpers import poisoning, systems
from mlsec_helpers.checks import lab03
from mlsec_helpers.exercises import grade, run_check

# --- exercise 1: stamp_trigger ------------------------------------------------------------------

_OFFSETS = [(0, 0), (1, 1), (0, 2), (2, 0)]


def _stamp_with(rows, cols, value=None, combine=None):
    """A stamp whose pixel positions come from ``rows(h, d, dr)`` and ``cols(w, d, dc)``."""

    def stamp(X, distance=2, pixel_value=1.0):
        out = X.copy()
        h, w = out.shape[2:]
        pv = pixel_value if value is None else value
        for dr, dc in _OFFSETS:
            r, c = rows(h, distance, dr), cols(w, distance, dc)
            out[:, :, r, c] = pv if combine is None else combine(out[:, :, r, c], pv)
        return out

    return stamp


def _stamp_distance_ignored(X, distance=2, pixel_value=1.0):
    return _stamp_with(lambda h, d, dr: h - 2 - dr, lambda w, d, dc: w - 2 - dc)(
        X, distance, pixel_value)


def _stamp_square(X, distance=2, pixel_value=1.0):
    h = X.shape[2]  # assumes square images: columns counted from H as well
    return _stamp_with(lambda _, d, dr: h - d - dr, lambda _, d, dc: h - d - dc)(
        X, distance, pixel_value)


def _stamp_block(X, distance=2, pixel_value=1.0):
    out = X.copy()
    h, w = X.shape[2:]
    out[:, :, h - distance - 1:h - distance + 1, w - distance - 1:w - distance + 1] = pixel_value
    return out


def _stamp_three_pixels(X, distance=2, pixel_value=1.0):
    out = X.copy()
    h, w = X.shape[2:]
    for dr, dc in _OFFSETS[:3]:
        out[:, :, h - distance - dr, w - distance - dc] = pixel_value
    return out


def _stamp_in_place(X, distance=2, pixel_value=1.0):
    h, w = X.shape[2:]
    for dr, dc in _OFFSETS:
        X[:, :, h - distance - dr, w - distance - dc] = pixel_value
    return X


def _stamp_torch(X, distance=2, pixel_value=1.0):
    out = torch.tensor(X)
    h, w = out.shape[2:]
    for dr, dc in _OFFSETS:
        out[:, :, h - distance - dr, w - distance - dc] = pixel_value
    return out


STAMP_WRONG = {
    "distance ignored": _stamp_distance_ignored,
    "square images assumed": _stamp_square,
    "a 2x2 block": _stamp_block,
    "three pixels": _stamp_three_pixels,
    "brighter of pixel and value": _stamp_with(lambda h, d, dr: h - d - dr,
                                               lambda w, d, dc: w - d - dc, combine=np.maximum),
    "added then clipped": _stamp_with(lambda h, d, dr: h - d - dr, lambda w, d, dc: w - d - dc,
                                      combine=lambda x, v: np.clip(x + v, 0, 1)),
    "one pixel down-right": _stamp_with(lambda h, d, dr: h - d - dr + 1,
                                        lambda w, d, dc: w - d - dc + 1),
    "0-255 pixel scale": lambda X, distance=2, pixel_value=1.0: _stamp_with(
        lambda h, d, dr: h - d - dr, lambda w, d, dc: w - d - dc)(X, distance, 255 * pixel_value),
    "top-right corner": _stamp_with(lambda h, d, dr: d + dr - 1, lambda w, d, dc: w - d - dc),
    "a torch tensor": _stamp_torch,
    "channel dropped": lambda X, distance=2, pixel_value=1.0: lab03._stamp(
        X, distance, pixel_value)[:, 0],
    "modifies X": _stamp_in_place,
}


def _stamp_negative_index(X, distance=2, pixel_value=1.0):
    out = np.copy(X)
    d = distance
    for r, c in [(-d, -d), (-d - 1, -d - 1), (-d, -d - 2), (-d - 2, -d)]:
        out[..., r, c] = pixel_value
    return out


def _stamp_loop(X, distance=2, pixel_value=1.0):
    out = np.empty_like(X)
    for k in range(len(X)):
        img = X[k, 0].copy()
        H, W = img.shape
        img[H - distance, W - distance] = pixel_value
        img[H - distance - 1, W - distance - 1] = pixel_value
        img[H - distance, W - distance - 2] = pixel_value
        img[H - distance - 2, W - distance] = pixel_value
        out[k, 0] = img
    return out


def _stamp_mask(X, distance=2, pixel_value=1.0):
    H, W = X.shape[2:]
    mask = np.zeros((H, W), bool)
    for dr, dc in _OFFSETS:
        mask[H - distance - dr, W - distance - dc] = True
    return np.where(mask, np.float32(pixel_value), X).astype(X.dtype)


def _stamp_float64_torch(X, distance=2, pixel_value=1.0):
    t = torch.from_numpy(X).clone().double()
    H, W = t.shape[-2:]
    for dr, dc in _OFFSETS:
        t[..., H - distance - dr, W - distance - dc] = pixel_value
    return t.numpy()


STAMP_RIGHT = {
    "negative indices": _stamp_negative_index,
    "a loop over images": _stamp_loop,
    "a mask and np.where": _stamp_mask,
    "torch, float64": _stamp_float64_torch,
}


# --- exercise 2: average_attack_profile ---------------------------------------------------------


def _profile(rate, target_value=None, unrated=0.0, index=None):
    """A profile whose filler ratings are ``rate(means_j, stds_j, noise, r_max)``."""

    def profile(item_means, item_stds, target, filler, noise, r_max=5.0):
        means, stds = np.asarray(item_means, float), np.asarray(item_stds, float)
        filler, noise = np.asarray(filler), np.asarray(noise, float)
        items = filler if index is None else index(filler)
        row = np.full(len(means), unrated)
        row[items] = rate(means[filler], stds[filler], noise, r_max, filler, stds)
        row[target] = r_max if target_value is None else target_value
        return row

    return profile


def _half(r):
    return np.round(2 * r) / 2


AVG_WRONG = {
    "ties rounded up": _profile(lambda m, s, z, top, f, S: np.clip(
        np.floor(2 * (m + s * z) + 0.5) / 2, 0.5, top)),
    "clipped at 1 star": _profile(lambda m, s, z, top, f, S: np.clip(_half(m + s * z), 1, top)),
    "clipped at 0": _profile(lambda m, s, z, top, f, S: np.clip(_half(m + s * z), 0, top)),
    "noise indexed by item": _profile(lambda m, s, z, top, f, S: np.clip(
        _half(m + s * z[f]), 0.5, top)),
    "stds by position": _profile(lambda m, s, z, top, f, S: np.clip(
        _half(m + S[: len(f)] * z), 0.5, top)),
    "target at 5 stars": _profile(lambda m, s, z, top, f, S: np.clip(_half(m + s * z), 0.5, top),
                                  target_value=5.0),
    "clipped at 5 stars": _profile(lambda m, s, z, top, f, S: np.clip(_half(m + s * z), 0.5, 5)),
    "rounded to tenths": _profile(lambda m, s, z, top, f, S: np.clip(np.round(m + s * z, 1), 0.5,
                                                                     top)),
    "whole stars": _profile(lambda m, s, z, top, f, S: np.clip(np.round(m + s * z), 0.5, top)),
    "filler sorted, noise not": _profile(
        lambda m, s, z, top, f, S: np.clip(_half(m + s * z), 0.5, top),
        index=np.sort),
    "NaN where not rated": _profile(lambda m, s, z, top, f, S: np.clip(_half(m + s * z), 0.5,
                                                                       top), unrated=np.nan),
    "rounded up to half stars": _profile(lambda m, s, z, top, f, S: np.clip(
        np.ceil(2 * (m + s * z)) / 2, 0.5, top)),
}


def _avg_loop(item_means, item_stds, target, filler, noise, r_max=5.0):
    row = [0.0] * len(item_means)
    for k, j in enumerate(filler):
        r = item_means[j] + item_stds[j] * noise[k]
        row[j] = min(max(round(2 * r) / 2, 0.5), r_max)  # Python's round: ties to even
    row[target] = r_max
    return row


def _avg_clip_first(item_means, item_stds, target, filler, noise, r_max=5.0):
    row = np.zeros_like(np.asarray(item_means, dtype=float))
    r = np.clip(np.asarray(item_means)[filler] + np.asarray(item_stds)[filler] * noise, 0.5,
                r_max)
    row[filler] = np.round(r * 2) / 2
    row[target] = r_max
    return row


def _avg_rint_float32(item_means, item_stds, target, filler, noise, r_max=5.0):
    means = np.asarray(item_means)
    r = means[filler] + np.asarray(item_stds)[filler] * np.asarray(noise)
    row = np.zeros(len(means), dtype=np.float32)
    row[filler] = np.clip(np.rint(r / 0.5) * 0.5, 0.5, r_max)
    row[target] = r_max
    return row


def _avg_dict(item_means, item_stds, target, filler, noise, r_max=5.0):
    ratings = {int(j): float(item_means[j] + item_stds[j] * z) for j, z in zip(filler, noise,
                                                                              strict=True)}
    row = np.zeros(len(item_means))
    for j, r in ratings.items():
        row[j] = np.clip(np.round(r * 2) / 2, 0.5, r_max)
    row[target] = r_max
    return row


AVG_RIGHT = {
    "a loop with Python's round": _avg_loop,
    "clipped before rounding": _avg_clip_first,
    "np.rint, float32": _avg_rint_float32,
    "a dict of ratings": _avg_dict,
}


# --- exercise 3: spectral_signature_scores ------------------------------------------------------


def _centred(features):
    R = np.asarray(features, dtype=float)
    return R - R.mean(axis=0)


def _top(c):
    return np.linalg.svd(c, full_matrices=False)[2][0]


SPEC_WRONG = {
    "not squared": lambda features: _centred(features) @ _top(_centred(features)),
    "a column of vt": lambda features: (_centred(features)
                                        @ np.linalg.svd(_centred(features))[2][:, 0]) ** 2,
    "u without the singular value": lambda features: np.linalg.svd(
        _centred(features), full_matrices=False)[0][:, 0] ** 2,
    "standardised columns": lambda features: (
        (_centred(features) / np.asarray(features).std(0))
        @ _top(_centred(features) / np.asarray(features).std(0))) ** 2,
    "row means": lambda features: (
        (np.asarray(features) - np.asarray(features).mean(1, keepdims=True))
        @ _top(np.asarray(features) - np.asarray(features).mean(1, keepdims=True))) ** 2,
    "scaled to a maximum of 1": lambda features: (
        (_centred(features) @ _top(_centred(features))) ** 2
        / ((_centred(features) @ _top(_centred(features))) ** 2).max()),
    "two components": lambda features: (
        (_centred(features) @ np.linalg.svd(_centred(features), full_matrices=False)[2][:2].T)
        ** 2).sum(1),
    "distance to the mean": lambda features: (_centred(features) ** 2).sum(1),
    "the grand mean": lambda features: (
        (np.asarray(features) - np.asarray(features).mean())
        @ _top(np.asarray(features) - np.asarray(features).mean())) ** 2,
    "median centring": lambda features: (
        (np.asarray(features) - np.median(features, 0))
        @ _top(np.asarray(features) - np.median(features, 0))) ** 2,
    "a column of scores": lambda features: ((_centred(features) @ _top(_centred(features))) ** 2
                                            )[:, None],
    "np.cov of the rows": lambda features: (
        _centred(features) @ np.linalg.eigh(np.cov(features))[1][:, -1]) ** 2,
}


def _spec_eigh_cov(features):
    w, V = np.linalg.eigh(np.cov(features, rowvar=False))
    c = features - features.mean(0)
    return (c @ V[:, -1]) ** 2


def _spec_eig_sorted(features):
    c = np.asarray(features, float) - np.mean(features, axis=0)
    w, V = np.linalg.eig(c.T @ c)
    v = np.real(V[:, np.argmax(np.real(w))])
    return (c @ v) ** 2


def _spec_pca(features):
    from sklearn.decomposition import PCA

    return PCA(n_components=1).fit_transform(features)[:, 0] ** 2


def _spec_float32(features):
    R = np.asarray(features, dtype=np.float32)
    c = R - R.mean(axis=0)
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    return (c @ vt[0]) ** 2


def _spec_u_times_s_flipped(features):
    c = features - features.mean(axis=0)
    U, S, _ = np.linalg.svd(c, full_matrices=False)
    return (-U[:, 0] * S[0]) ** 2


def _spec_torch_float32(features):
    t = torch.as_tensor(np.asarray(features), dtype=torch.float32)
    c = t - t.mean(0)
    v = torch.linalg.svd(c, full_matrices=False).Vh[0]
    return ((c @ v) ** 2).numpy()


def _spec_power_iteration(features):
    c = np.asarray(features, float) - np.asarray(features, float).mean(0)
    C = c.T @ c
    v = np.ones(C.shape[0]) / np.sqrt(C.shape[0])
    for _ in range(500):
        v = C @ v
        v /= np.linalg.norm(v)
    return (c @ v) ** 2


def _spec_float32_eigh(features):
    R = np.asarray(features, dtype=np.float32)
    c = R - R.mean(0)
    return (c @ np.linalg.eigh(c.T @ c)[1][:, -1]) ** 2


SPEC_RIGHT = {
    "eigh of np.cov": _spec_eigh_cov,
    "eig, sorted": _spec_eig_sorted,
    "scikit-learn PCA": _spec_pca,
    "float32 SVD": _spec_float32,
    "u times s, sign flipped": _spec_u_times_s_flipped,
    "torch float32": _spec_torch_float32,
    "power iteration": _spec_power_iteration,
    "float32 eigh": _spec_float32_eigh,
}


# --- exercise 4: roni_decision ------------------------------------------------------------------


def _accuracy(model, X, y):
    return float(np.mean(model.predict(X) == y))


def _roni(impact_of=None, reject_of=None, fit=None, out=None):
    """A RONI answer with one step replaced."""

    def fit_copy(system, X, y):
        return copy.deepcopy(system).fit(X, y)

    def roni(system, X_base, y_base, X_cand, y_cand, X_val, y_val, tolerance=0.0):
        fitter = fit or fit_copy
        without = fitter(system, X_base, y_base)
        with_cand = fitter(system, np.vstack([X_base, X_cand]), np.concatenate([y_base, y_cand]))
        if impact_of is None:
            impact = _accuracy(with_cand, X_val, y_val) - _accuracy(without, X_val, y_val)
        else:
            impact = impact_of(with_cand, without, locals())
        reject = impact < -tolerance if reject_of is None else reject_of(impact, tolerance)
        if out is not None:
            return out(impact, reject)
        return poisoning.RoniDecision(float(impact), bool(reject))

    return roni


def _balanced(model, X, y):
    from sklearn.metrics import balanced_accuracy_score

    return balanced_accuracy_score(y, model.predict(X))


def _roni_misaligned(system, X_base, y_base, X_cand, y_cand, X_val, y_val, tolerance=0.0):
    without = copy.deepcopy(system).fit(X_base, y_base)
    with_cand = copy.deepcopy(system).fit(np.vstack([X_base, X_cand]),
                                          np.concatenate([y_cand, y_base]))
    impact = _accuracy(with_cand, X_val, y_val) - _accuracy(without, X_val, y_val)
    return poisoning.RoniDecision(impact, bool(impact < -tolerance))


def _roni_leaky(system, X_base, y_base, X_cand, y_cand, X_val, y_val, tolerance=0.0):
    without = copy.deepcopy(system).fit(X_base, y_base)
    with_cand = copy.deepcopy(system).fit(np.vstack([X_base, X_cand, X_val]),
                                          np.concatenate([y_base, y_cand, y_val]))
    impact = _accuracy(with_cand, X_val, y_val) - _accuracy(without, X_val, y_val)
    return poisoning.RoniDecision(impact, bool(impact < -tolerance))


RONI_WRONG = {
    "rejects at -tolerance (<=)": _roni(reject_of=lambda i, t: i <= -t),
    "compares with +tolerance": _roni(reject_of=lambda i, t: i < t),
    "measured on the candidate": _roni(impact_of=lambda w, wo, v: _accuracy(
        w, v["X_cand"], v["y_cand"]) - _accuracy(wo, v["X_cand"], v["y_cand"])),
    "fits the system itself": _roni(fit=lambda system, X, y: system.fit(X, y)),
    "a hard-coded DiagnosisModel": _roni(fit=lambda system, X, y: systems.DiagnosisModel().fit(
        X, y)),
    "relative change": _roni(impact_of=lambda w, wo, v: _accuracy(w, v["X_val"], v["y_val"])
                             / _accuracy(wo, v["X_val"], v["y_val"]) - 1),
    "reject as an int": _roni(out=lambda i, r: poisoning.RoniDecision(float(i), int(r))),
    "a tuple": _roni(out=lambda i, r: (float(i), bool(r))),
    "labels misaligned": _roni_misaligned,
    "balanced accuracy": _roni(impact_of=lambda w, wo, v: _balanced(w, v["X_val"], v["y_val"])
                               - _balanced(wo, v["X_val"], v["y_val"])),
    "in percent": _roni(impact_of=lambda w, wo, v: 100 * (
        _accuracy(w, v["X_val"], v["y_val"]) - _accuracy(wo, v["X_val"], v["y_val"]))),
    "validation leaked into training": _roni_leaky,
    "rounded impact": _roni(impact_of=lambda w, wo, v: round(
        _accuracy(w, v["X_val"], v["y_val"]) - _accuracy(wo, v["X_val"], v["y_val"]), 2)),
    "fields swapped": _roni(out=lambda i, r: poisoning.RoniDecision(bool(r), float(i))),
}


def _roni_sklearn(system, X_base, y_base, X_cand, y_cand, X_val, y_val, tolerance=0.0):
    from sklearn.metrics import accuracy_score

    a = copy.deepcopy(system).fit(X_base, y_base)
    b = copy.deepcopy(system).fit(np.r_[X_base, X_cand], np.r_[y_base, y_cand])
    impact = accuracy_score(y_val, b.predict(X_val)) - accuracy_score(y_val, a.predict(X_val))
    return poisoning.RoniDecision(impact, not impact >= -tolerance)


def _roni_counts(system, X_base, y_base, X_cand, y_cand, X_val, y_val, tolerance=0.0):
    fresh = pickle.loads(pickle.dumps(system))
    fresh2 = pickle.loads(pickle.dumps(system))
    without = fresh.fit(X_base, y_base)
    with_cand = fresh2.fit(np.concatenate([X_base, X_cand]), np.concatenate([y_base, y_cand]))
    gained = int(np.sum(with_cand.predict(X_val) == y_val)) - int(
        np.sum(without.predict(X_val) == y_val))
    impact = gained / len(y_val)
    return poisoning.RoniDecision(impact=impact, reject=bool(impact + tolerance < 0))


def _roni_clone(system, X_base, y_base, X_cand, y_cand, X_val, y_val, tolerance=0.0):
    from sklearn.base import clone

    def fresh():
        return systems.SklearnSystem(clone(system.estimator), domain=system.domain)

    acc = {}
    for name, (X, y) in {"without": (X_base, y_base),
                         "with": (np.vstack([X_base, X_cand]), np.hstack([y_base, y_cand]))
                         }.items():
        acc[name] = fresh().fit(X, y).evaluate(X_val, y_val)["accuracy"]
    impact = acc["with"] - acc["without"]
    return poisoning.RoniDecision(impact, bool(-impact > tolerance))


def _roni_float32_impact(system, X_base, y_base, X_cand, y_cand, X_val, y_val, tolerance=0.0):
    without = copy.deepcopy(system).fit(X_base, y_base)
    with_cand = copy.deepcopy(system).fit(np.vstack((X_base, X_cand)),
                                          np.concatenate((y_base, y_cand)))
    impact = np.mean(with_cand.predict(X_val) == y_val) - np.mean(without.predict(X_val) == y_val)
    return poisoning.RoniDecision(impact, impact < -tolerance)  # NumPy float and bool


RONI_RIGHT = {
    "sklearn accuracy_score": _roni_sklearn,
    "counts and pickle copies": _roni_counts,
    "a cloned estimator, evaluate()": _roni_clone,
    "NumPy scalars": _roni_float32_impact,
}


# --- the suite ----------------------------------------------------------------------------------

# --- the challenge ------------------------------------------------------------------------------


def _copies(T, per, scale=1e-3, label=0):
    T = np.asarray(T, dtype=float)
    X_p = np.repeat(T, per, axis=0) + scale * np.random.default_rng(1).standard_normal(
        (per * len(T), T.shape[1]))
    return X_p, np.full(len(X_p), label)


FILTER_WRONG = {
    "naive flip, filtered out": lambda X, y, T, b: (T, np.zeros(len(T), int)),
    "two copies each: outvoted": lambda X, y, T, b: _copies(T, 2),
    "copies labelled 1": lambda X, y, T, b: _copies(T, 5, label=1),
    "over the budget": lambda X, y, T, b: _copies(T, 50),
    "outside the data's range": lambda X, y, T, b: (_copies(T, 5)[0] * 100,
                                                    np.zeros(5 * len(T), int)),
    "labels not 0 or 1": lambda X, y, T, b: (_copies(T, 5)[0], np.full(5 * len(T), 2)),
    "not a pair": lambda X, y, T, b: "poison",
    "NaN features": lambda X, y, T, b: (np.full((3, 5), np.nan), np.zeros(3, int)),
    "a 1-D array": lambda X, y, T, b: (np.ravel(T)[:5], np.zeros(5, int)),
    "copies of class-0 patients": lambda X, y, T, b: (X[y == 0][:b], np.zeros(b, int)),
}
FILTER_RIGHT = {
    "five copies each, smaller jitter": lambda X, y, T, b: _copies(T, 5, scale=1e-4),
    "exact copies": lambda X, y, T, b: (np.repeat(T, b // len(T), axis=0),
                                        np.zeros(b // len(T) * len(T), int)),
    "four copies each": lambda X, y, T, b: _copies(T, 4),
    "lists": lambda X, y, T, b: tuple(a.tolist() for a in _copies(T, 5)),
}


def test_challenge_filter_stops_a_naive_flip_but_not_self_vouching_poison():
    X, y, targets, budget = lab03.filter_scenario(seed=0)
    assert len(targets) == 20 and budget == 100 and X.shape == (400, 5)
    naive = lab03.filtered_attack_success(X, y, targets, targets, np.zeros(len(targets), int))
    assert naive <= 0.2
    X_p, y_p = lab03.poison_past_filter(X, y, targets, budget)
    assert len(X_p) <= budget
    assert lab03.filtered_attack_success(X, y, targets, X_p, y_p) >= lab03.FILTER_TARGET_ASR
    kept = lab03.neighbour_vote_filter(np.vstack([X, X_p]), np.r_[y, y_p])
    assert kept[len(X):].all()


WRONG = [(lab03.STAMP_TRIGGER, k, f) for k, f in STAMP_WRONG.items()] + [
    (lab03.AVERAGE_PROFILE, k, f) for k, f in AVG_WRONG.items()] + [
    (lab03.SPECTRAL_SCORES, k, f) for k, f in SPEC_WRONG.items()] + [
    (lab03.RONI_DECISION, k, f) for k, f in RONI_WRONG.items()] + [
    (lab03.POISON_PAST_FILTER, k, f) for k, f in FILTER_WRONG.items()]
RIGHT = [(lab03.STAMP_TRIGGER, k, f) for k, f in STAMP_RIGHT.items()] + [
    (lab03.AVERAGE_PROFILE, k, f) for k, f in AVG_RIGHT.items()] + [
    (lab03.SPECTRAL_SCORES, k, f) for k, f in SPEC_RIGHT.items()] + [
    (lab03.RONI_DECISION, k, f) for k, f in RONI_RIGHT.items()] + [
    (lab03.POISON_PAST_FILTER, k, f) for k, f in FILTER_RIGHT.items()]


@pytest.mark.parametrize(("exercise", "name", "answer"), WRONG,
                         ids=[f"{e.name}-{k}" for e, k, _ in WRONG])
def test_a_wrong_answer_is_rejected_by_the_check_and_the_grading(exercise, name, answer):
    assert_rejected(exercise, answer)


@pytest.mark.parametrize(("exercise", "name", "answer"), RIGHT,
                         ids=[f"{e.name}-{k}" for e, k, _ in RIGHT])
def test_a_right_answer_written_differently_is_accepted(exercise, name, answer):
    assert_accepted(exercise, answer)


def test_the_suite_has_enough_mutants():
    for exercise in lab03.EXERCISES:
        assert sum(e is exercise for e, _, _ in WRONG) >= 8, exercise.name
        assert sum(e is exercise for e, _, _ in RIGHT) >= 4, exercise.name


def test_wrong_kinds_of_output_are_explained():
    r = run_check(lab03.STAMP_TRIGGER, lambda X, distance=2, pixel_value=1.0: X[:, 0])
    assert r.status == "wrong" and "shape" in r.message
    r = run_check(lab03.STAMP_TRIGGER, _stamp_torch)
    assert r.status == "wrong" and "NumPy array" in r.message
    r = run_check(lab03.AVERAGE_PROFILE, lambda *a, **k: np.zeros(3))
    assert r.status == "wrong" and "dense row" in r.message
    r = run_check(lab03.SPECTRAL_SCORES, SPEC_WRONG["a column of scores"])
    assert r.status == "wrong" and "one score per row" in r.message
    r = run_check(lab03.RONI_DECISION, lambda *a, **k: 0.0)
    assert r.status == "wrong" and "poisoning.RoniDecision" in r.message
    r = run_check(lab03.RONI_DECISION, RONI_WRONG["reject as an int"])
    assert r.status == "wrong" and "reject must be a bool" in r.message


def test_calling_a_library_function_that_does_the_job_is_not_an_answer():
    def via_art(X, distance=2, pixel_value=1.0):
        from art.attacks.poisoning.perturbations import add_pattern_bd

        return add_pattern_bd(X.copy(), distance=distance, pixel_value=pixel_value,
                              channels_first=True)

    def via_detect(features):
        return poisoning.spectral_signature_detect(features, np.zeros(len(features), int),
                                                   0.1).scores

    for exercise, answer in [(lab03.STAMP_TRIGGER, via_art), (lab03.SPECTRAL_SCORES, via_detect)]:
        r = run_check(exercise, answer)
        assert r.status == "wrong" and "calls the reference" in r.message
        with pytest.raises(AssertionError, match="calls the reference"):
            grade(exercise, answer)


def test_unsorted_eig_is_named_and_float32_scores_pass():
    r = run_check(lab03.SPECTRAL_SCORES, lab03._spec_eig_unsorted)
    assert r.status == "wrong" and "np.linalg.eig" in r.message
    case = lab03._spec_cases()[-1]  # the case built for it: eig's first vector is not the top
    R = case.args[0]
    w = np.linalg.eig((R - R.mean(0)).T @ (R - R.mean(0)))[0]
    assert np.argmax(np.real(w)) != 0
    assert any(c.args[0].dtype == np.float32 for c in lab03._spec_cases())
    assert run_check(lab03.SPECTRAL_SCORES, _spec_float32).correct


def test_roni_cases_rest_on_exact_fractions():
    """The boundary cases hold impacts that are exact in binary, so impact == -tolerance there
    is a real tie that `<` keeps and `<=` rejects; and an improving batch is in the cases."""
    decisions = [(c, lab03.roni_decision(*c.args, **c.kwargs)) for c in lab03._roni_cases()]
    ties = [c for c, d in decisions if d.impact == -c.kwargs.get("tolerance", 0.0)]
    assert len(ties) >= 2 and not any(lab03.roni_decision(*c.args, **c.kwargs).reject
                                      for c in ties)
    assert any(d.impact > c.kwargs.get("tolerance", 0.0) and not d.reject for c, d in decisions)
    assert any(0 < d.impact < c.kwargs.get("tolerance", 0.0) for c, d in decisions)
    assert any(-c.kwargs.get("tolerance", 0.0) < d.impact < 0 for c, d in decisions)


def test_average_profile_edge_case_holds_exact_ties():
    means, stds, target, filler, noise = lab03._avg_cases()[-1].args
    r = means[filler] + stds[filler] * noise
    assert np.any((2 * r) % 1 == 0.5) and np.any(r == 0.5) and np.any(r <= 0.25)
    assert not np.all(np.diff(filler) > 0) and filler.max() < len(noise)


@pytest.mark.usefixtures("unchanged_global_state")
def test_the_checks_leave_the_global_generators_alone():
    """The lab's numbers after a check must not depend on whether it ran (the fixture compares
    NumPy's key only: its position is compared here, which one draw moves)."""
    before = np.random.get_state()
    for exercise in lab03.EXERCISES:
        assert run_check(exercise, exercise.reference).correct
        assert run_check(exercise, exercise.reference, hidden=True).correct
    after = np.random.get_state()
    assert after[2] == before[2] and np.array_equal(after[1], before[1])


