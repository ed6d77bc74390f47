"""Exercises of lab 03 (Data poisoning and backdoors).

1. ``stamp_trigger``: the BadNets trigger (checked against ART's ``add_pattern_bd``);
2. ``spectral_signature_scores``: the centred spectral-signature outlier scores;
3. ``average_attack_profile``: an average-attack shilling profile;
4. ``roni_decision``: reject on negative impact (on a course system, returning a
   ``poisoning.RoniDecision``).
"""

from __future__ import annotations

import copy

import numpy as np
from sklearn.linear_model import LogisticRegression

from .. import poisoning, systems
from ..exercises import Case, Exercise, Mistake

# --- exercise 1: stamp the trigger --------------------------------------------------------------

#: Reference: :func:`mlsec_helpers.poisoning.stamp_trigger` (ART's ``add_pattern_bd``).
stamp_trigger = poisoning.stamp_trigger

_PATTERN = ((0, 0), (1, 1), (0, 2), (2, 0))  # offsets up and left of (H - d, W - d)


def _stamp(x, distance, pixel_value, rows_from_top=False, shift=0, add=False, first_only=False):
    out = np.array(x, dtype=np.float32, copy=True)
    h, w = out.shape[2:]
    batch = out[:1] if first_only else out
    for dr, dc in _PATTERN:
        r = distance + shift + dr - 1 if rows_from_top else h - distance - shift - dr
        c = distance + shift + dc - 1 if rows_from_top else w - distance - shift - dc
        batch[:, :, r, c] = batch[:, :, r, c] + pixel_value if add else pixel_value
    return out


def _stamp_top_left(x, distance=2, pixel_value=1.0):
    return _stamp(x, distance, pixel_value, rows_from_top=True)


def _stamp_off_by_one(x, distance=2, pixel_value=1.0):
    return _stamp(x, distance, pixel_value, shift=1)


def _stamp_added(x, distance=2, pixel_value=1.0):
    return _stamp(x, distance, pixel_value, add=True)


def _stamp_first_only(x, distance=2, pixel_value=1.0):
    return _stamp(x, distance, pixel_value, first_only=True)


def _stamp_always_white(x, distance=2, pixel_value=1.0):
    return _stamp(x, distance, 1.0)


def _stamp_cases() -> list[Case]:
    gen = np.random.default_rng(3)
    a = gen.uniform(0, 1, size=(3, 1, 10, 10)).astype(np.float32)
    b = gen.uniform(0, 0.6, size=(2, 1, 28, 28)).astype(np.float32)
    c = gen.uniform(0, 1, size=(4, 1, 8, 12)).astype(np.float32)
    return [
        Case((a,), label="3 random 10x10 images, default trigger"),
        Case((b,), {"distance": 3, "pixel_value": 0.8}, label="28x28 digits, distance 3, grey"),
        Case((c,), {"distance": 1, "pixel_value": 0.5}, label="8x12 images, distance 1"),
    ]


def _stamp_validate(got, case: Case) -> str | None:
    x = case.args[0]
    if not hasattr(got, "shape") or tuple(got.shape) != tuple(x.shape):
        return f"return an array of the input's shape {x.shape}, got {getattr(got, 'shape', got)}"
    return None


STAMP_TRIGGER = Exercise(
    name="stamp_trigger",
    reference=stamp_trigger,
    cases=_stamp_cases,
    validate=_stamp_validate,
    mistakes=[
        Mistake("the pattern in the top-left corner", _stamp_top_left,
                "count rows and columns from the bottom-right corner: index H - distance "
                "and W - distance"),
        Mistake("the pattern one pixel off", _stamp_off_by_one,
                "the corner pixel is x[:, :, H - distance, W - distance] (not H - distance - 1)"),
        Mistake("pixel_value added to the pixels instead of replacing them", _stamp_added,
                "set the trigger pixels to pixel_value (=), do not add it (+=)"),
        Mistake("only the first image stamped", _stamp_first_only,
                "stamp every image of the batch: index with x[:, :, r, c]"),
        Mistake("pixel_value ignored", _stamp_always_white,
                "use the pixel_value argument, not a constant 1"),
    ],
    hint="copy x; set x[:, :, H-d, W-d], x[:, :, H-d-1, W-d-1], x[:, :, H-d, W-d-2] and "
         "x[:, :, H-d-2, W-d] to pixel_value",
)


# --- exercise 2: an average-attack shilling profile ---------------------------------------------

average_attack_profile = poisoning.average_attack_profile


def _avg_global_mean(item_means, item_stds, target, filler, noise, r_max=5.0):
    means = np.asarray(item_means, dtype=float)
    row = np.zeros(len(means))
    row[filler] = np.clip(np.round((means.mean() + np.asarray(item_stds)[filler]
                                    * np.asarray(noise)) * 2) / 2, 0.5, r_max)
    row[target] = r_max
    return row


def _avg_no_noise(item_means, item_stds, target, filler, noise, r_max=5.0):
    row = np.zeros(len(item_means))
    row[filler] = np.clip(np.round(np.asarray(item_means)[filler] * 2) / 2, 0.5, r_max)
    row[target] = r_max
    return row


def _avg_not_rounded(item_means, item_stds, target, filler, noise, r_max=5.0):
    row = np.zeros(len(item_means))
    row[filler] = np.clip(np.asarray(item_means)[filler]
                          + np.asarray(item_stds)[filler] * np.asarray(noise), 0.5, r_max)
    row[target] = r_max
    return row


def _avg_not_clipped(item_means, item_stds, target, filler, noise, r_max=5.0):
    row = np.zeros(len(item_means))
    row[filler] = np.round((np.asarray(item_means)[filler]
                            + np.asarray(item_stds)[filler] * np.asarray(noise)) * 2) / 2
    row[target] = r_max
    return row


def _avg_target_at_mean(item_means, item_stds, target, filler, noise, r_max=5.0):
    row = average_attack_profile(item_means, item_stds, target, filler, noise, r_max)
    row[target] = np.clip(np.round(np.asarray(item_means)[target] * 2) / 2, 0.5, r_max)
    return row


def _avg_cases() -> list[Case]:
    gen = np.random.default_rng(7)
    means = gen.uniform(1.5, 4.5, 40)
    stds = gen.uniform(0.3, 1.2, 40)
    filler = np.array([3, 8, 11, 17, 25, 30, 33])
    noise = gen.standard_normal(len(filler))
    means2 = gen.uniform(2.0, 4.8, 15)
    stds2 = gen.uniform(0.8, 1.5, 15)
    filler2 = np.array([0, 2, 4, 6, 9, 13])
    noise2 = np.array([2.5, -2.8, 0.3, 1.9, -3.1, 0.0])
    return [
        Case((means, stds, 5, filler, noise), label="40 items, 7 filler items"),
        Case((means2, stds2, 14, filler2, noise2), label="large noise (needs clipping)"),
        Case((means2, stds2, 1, filler2, noise2), {"r_max": 4.0}, label="a 4-star scale"),
    ]


def _avg_validate(got, case: Case) -> str | None:
    n = len(case.args[0])
    if np.shape(got) != (n,):
        return f"return one dense row over all {n} items (0 = not rated), got {np.shape(got)}"
    return None


AVERAGE_PROFILE = Exercise(
    name="average_attack_profile",
    reference=average_attack_profile,
    cases=_avg_cases,
    validate=_avg_validate,
    mistakes=[
        Mistake("the global mean used for every filler item (a random attack)", _avg_global_mean,
                "an average attack rates each filler item near ITS OWN mean: item_means[filler]"),
        Mistake("the noise left out", _avg_no_noise,
                "add item_stds[filler] * noise, or every fake profile looks the same"),
        Mistake("ratings not rounded to the half-star scale", _avg_not_rounded,
                "real ratings are 0.5, 1.0, ... 5.0: np.round(2 * r) / 2"),
        Mistake("ratings not clipped to [0.5, r_max]", _avg_not_clipped,
                "clip the filler ratings to the scale with np.clip(r, 0.5, r_max)"),
        Mistake("the target rated at its mean instead of the maximum", _avg_target_at_mean,
                "a push attack gives the target the top rating r_max"),
    ],
    hint="row = zeros; row[filler] = clip(round(2 * (mean + std * noise)) / 2, 0.5, r_max); "
         "row[target] = r_max",
)


# --- exercise 3: spectral-signature outlier scores ----------------------------------------------

spectral_signature_scores = poisoning.spectral_signature_scores


def _spec_uncentred(features):
    R = np.asarray(features, dtype=float)
    centred = R - R.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return (R @ vt[0]) ** 2


def _spec_abs(features):
    R = np.asarray(features, dtype=float)
    centred = R - R.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return np.abs(centred @ vt[0])


def _spec_last_vector(features):
    R = np.asarray(features, dtype=float)
    centred = R - R.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return (centred @ vt[-1]) ** 2


def _spec_no_centring(features):
    R = np.asarray(features, dtype=float)
    _, _, vt = np.linalg.svd(R, full_matrices=False)
    return (R @ vt[0]) ** 2


def _spec_cases() -> list[Case]:
    gen = np.random.default_rng(11)
    clean = np.abs(gen.normal(2.0, 1.0, size=(40, 6)))
    poison = clean[:6] + np.array([0, 0, 3.0, 0, 0, 2.0])
    base = np.vstack([clean, poison])
    wide = np.abs(gen.normal(0.5, 0.4, size=(15, 20)))
    skinny = gen.normal(0.0, 1.0, size=(12, 3)) * np.array([3.0, 1.0, 0.2]) + 5.0
    return [
        Case((base,), label="40 clean rows and 6 shifted ones"),
        Case((wide,), label="more dimensions than rows"),
        Case((skinny,), label="one dominant direction, mean far from 0"),
    ]


def _spec_compare(got, expected) -> bool:
    g, e = np.asarray(got, dtype=float).ravel(), np.asarray(expected, dtype=float).ravel()
    return g.shape == e.shape and bool(np.allclose(g, e, rtol=1e-6, atol=1e-8))


SPECTRAL_SCORES = Exercise(
    name="spectral_signature_scores",
    reference=spectral_signature_scores,
    cases=_spec_cases,
    compare=_spec_compare,
    mistakes=[
        Mistake("the uncentred representations projected (as ART's implementation does)",
                _spec_uncentred,
                "project the CENTRED rows (R - mean) on v, not the raw rows R"),
        Mistake("the absolute projection instead of its square", _spec_abs,
                "Tran et al. score each row by the SQUARED projection ((r - mean) . v) ** 2"),
        Mistake("the last (smallest) singular vector", _spec_last_vector,
                "np.linalg.svd sorts singular values in decreasing order: take vt[0]"),
        Mistake("no centring at all", _spec_no_centring,
                "subtract the column means before the SVD and before projecting"),
    ],
    hint="centred = R - R.mean(0); _, _, vt = np.linalg.svd(centred, full_matrices=False); "
         "scores = (centred @ vt[0]) ** 2",
)


# --- exercise 4: reject on negative impact ------------------------------------------------------

roni_decision = poisoning.roni_decision


def _roni_fit(system, X, y):
    return copy.deepcopy(system).fit(X, y)


def _roni_sign_flipped(system, X_base, y_base, X_cand, y_cand, X_val, y_val, tolerance=0.0):
    impact = roni_decision(system, X_base, y_base, X_cand, y_cand, X_val, y_val,
                           tolerance).impact
    return poisoning.RoniDecision(impact=-impact, reject=bool(-impact < -tolerance))


def _roni_on_training(system, X_base, y_base, X_cand, y_cand, X_val, y_val, tolerance=0.0):
    return roni_decision(system, X_base, y_base, X_cand, y_cand, X_base, y_base, tolerance)


def _roni_candidate_alone(system, X_base, y_base, X_cand, y_cand, X_val, y_val, tolerance=0.0):
    without = _roni_fit(system, X_base, y_base)
    alone = _roni_fit(system, X_cand, y_cand)
    impact = float(np.mean(alone.predict(X_val) == y_val)
                   - np.mean(without.predict(X_val) == y_val))
    return poisoning.RoniDecision(impact=impact, reject=bool(impact < -tolerance))


def _roni_no_tolerance(system, X_base, y_base, X_cand, y_cand, X_val, y_val, tolerance=0.0):
    impact = roni_decision(system, X_base, y_base, X_cand, y_cand, X_val, y_val).impact
    return poisoning.RoniDecision(impact=impact, reject=bool(impact < 0))


def _roni_cases() -> list[Case]:
    gen = np.random.default_rng(5)

    def blob(n, flip=False):
        X = np.vstack([gen.normal(-1.0, 1.0, (n, 2)), gen.normal(1.0, 1.0, (n, 2))])
        y = np.r_[np.zeros(n, int), np.ones(n, int)]
        return X, (1 - y) if flip else y

    Xb, yb = blob(15)
    Xv, yv = blob(40)
    Xc_bad, yc_bad = blob(40, flip=True)
    Xc_good, yc_good = blob(40)
    Xc_mild, yc_mild = blob(8)
    yc_mild[:3] = 1 - yc_mild[:3]
    system = systems.SklearnSystem(LogisticRegression(max_iter=1000), domain="medical")
    return [
        Case((system, Xb, yb, Xc_bad, yc_bad, Xv, yv), label="a batch with flipped labels"),
        Case((system, Xb, yb, Xc_good, yc_good, Xv, yv), label="a clean batch"),
        Case((system, Xb, yb, Xc_mild, yc_mild, Xv, yv), {"tolerance": 0.1},
             label="a slightly noisy batch, tolerance 0.1"),
        Case((system, Xb, yb, Xc_mild, yc_mild, Xv, yv), label="the same batch, no tolerance"),
    ]


def _roni_validate(got, case: Case) -> str | None:
    if not (hasattr(got, "impact") and hasattr(got, "reject")):
        return (f"return the pair as poisoning.RoniDecision(impact=..., reject=...), got "
                f"{type(got).__name__}")
    if not isinstance(got.reject, bool | np.bool_):
        return f"reject must be a bool, got {type(got.reject).__name__}"
    return None


def _roni_compare(got, expected) -> bool:
    return (bool(np.isclose(float(got.impact), expected.impact, atol=1e-9))
            and bool(got.reject) == expected.reject)


RONI_DECISION = Exercise(
    name="roni_decision",
    reference=roni_decision,
    cases=_roni_cases,
    validate=_roni_validate,
    compare=_roni_compare,
    mistakes=[
        Mistake("the impact with its sign flipped", _roni_sign_flipped,
                "impact = accuracy WITH the candidate minus accuracy WITHOUT it; a harmful "
                "batch has a negative impact"),
        Mistake("accuracy measured on the base training data instead of the validation set",
                _roni_on_training,
                "measure both models on (X_val, y_val), data neither model was trained on"),
        Mistake("the model 'with' the candidate trained on the candidate alone",
                _roni_candidate_alone,
                "train the second model on the base AND the candidate stacked together"),
        Mistake("the tolerance ignored", _roni_no_tolerance,
                "reject only when impact < -tolerance: small losses within the tolerance are "
                "noise"),
    ],
    hint="fit copy.deepcopy(system) on the base, another on base + candidate; impact = "
         "acc_with - acc_without on the validation set; reject = impact < -tolerance",
)


#: Every exercise of this lab, in the order the lab asks them (the tests run each one).
EXERCISES: tuple[Exercise, ...] = (STAMP_TRIGGER, AVERAGE_PROFILE, SPECTRAL_SCORES, RONI_DECISION)

__all__ = [
    "AVERAGE_PROFILE",
    "EXERCISES",
    "RONI_DECISION",
    "SPECTRAL_SCORES",
    "STAMP_TRIGGER",
    "average_attack_profile",
    "roni_decision",
    "spectral_signature_scores",
    "stamp_trigger",
]
