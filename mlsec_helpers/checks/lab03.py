"""Exercises of lab 03 (Data poisoning and backdoors).

1. ``stamp_trigger``: the BadNets trigger (checked against ART's ``add_pattern_bd``);
2. ``spectral_signature_scores``: the centred spectral-signature outlier scores;
3. ``average_attack_profile``: an average-attack shilling profile;
4. ``roni_decision``: reject on negative impact (on a course system, returning a
   ``poisoning.RoniDecision``);
5. the challenge, ``poison_past_filter``: poison that a neighbour-vote label filter keeps,
   graded by the attack success it reaches against a target (``FILTER_TARGET_ASR``).

Each exercise has a reference, deterministic cases that test every rule its statement states,
hidden cases for grading, the usual mistakes (recognised by running them on the same cases) and
a check of what it returns as the lab uses it next (see :mod:`mlsec_helpers.exercises`).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from .. import poisoning, systems
from ..exercises import Case, Exercise, Mistake


class _Lazy(Sequence):
    """Functions to conceal, imported when a check first runs (ART takes a second to import:
    only a lab that uses it should pay for it)."""

    def __init__(self, load: Callable[[], Sequence[Callable]]):
        self._load = load

    @functools.cached_property
    def _items(self) -> tuple:
        return tuple(self._load())

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, k):
        return self._items[k]


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


def _stamp_top_left(X, distance=2, pixel_value=1.0):
    return _stamp(X, distance, pixel_value, rows_from_top=True)


def _stamp_off_by_one(X, distance=2, pixel_value=1.0):
    return _stamp(X, distance, pixel_value, shift=1)


def _stamp_added(X, distance=2, pixel_value=1.0):
    return _stamp(X, distance, pixel_value, add=True)


def _stamp_first_only(X, distance=2, pixel_value=1.0):
    return _stamp(X, distance, pixel_value, first_only=True)


def _stamp_always_white(X, distance=2, pixel_value=1.0):
    return _stamp(X, distance, 1.0)


def _bright_trigger(X, distance, images=(0,), value=0.95):
    """Light the trigger's pixels of some images above ``pixel_value``: setting them to
    ``pixel_value`` then differs from keeping the brighter of the two (``np.maximum``)."""
    h, w = X.shape[2:]
    for dr, dc in _PATTERN:
        X[list(images), :, h - distance - dr, w - distance - dc] = value
    return X


def _stamp_cases() -> list[Case]:
    gen = np.random.default_rng(3)
    a = gen.uniform(0, 1, size=(3, 1, 10, 10)).astype(np.float32)
    b = gen.uniform(0, 0.6, size=(2, 1, 28, 28)).astype(np.float32)
    c = _bright_trigger(gen.uniform(0, 0.4, size=(4, 1, 8, 12)).astype(np.float32), 1, (1, 3))
    return [
        Case((a,), label="3 random 10x10 images, default trigger"),
        Case((b,), {"distance": 3, "pixel_value": 0.8}, label="28x28 digits, distance 3, grey"),
        Case((c,), {"distance": 1, "pixel_value": 0.5},
             label="8x12 images, distance 1, two bright at the trigger"),
    ]


def _stamp_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(30)
    tall = _bright_trigger(gen.uniform(0, 0.2, size=(2, 1, 12, 9)).astype(np.float32), 4, (0,))
    tight = gen.uniform(0, 1, size=(5, 1, 6, 6)).astype(np.float32)
    digits = gen.uniform(0, 0.5, size=(4, 1, 28, 28)).astype(np.float32)
    return [
        Case((tall,), {"distance": 4, "pixel_value": 0.3},
             label="12x9 images, distance 4, one bright at the trigger"),
        Case((tight,), {"distance": 3}, label="6x6 images, the largest distance that fits"),
        Case((digits, 2, 0.7), label="28x28, arguments given by position"),
    ]


def _stamp_validate(got, case: Case) -> str | None:
    X = case.args[0]
    if not isinstance(got, np.ndarray):
        return (f"return a NumPy array, a stamped copy of X (the lab hands it to ART and "
                f"np.r_), got {type(got).__name__}")
    if got.shape != X.shape:
        return f"return an array of the input's shape {X.shape}, got {got.shape}"
    if got.dtype.kind != "f":
        return f"return float pixels like X's ({X.dtype}), got dtype {got.dtype}"
    return None


def _stamp_conceal() -> list[Callable]:
    from art.attacks.poisoning.perturbations import add_pattern_bd

    return [add_pattern_bd]


STAMP_TRIGGER = Exercise(
    name="stamp_trigger",
    reference=stamp_trigger,
    cases=_stamp_cases,
    hidden_cases=_stamp_hidden_cases,
    validate=_stamp_validate,
    conceal=_Lazy(_stamp_conceal),
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
    hint="copy X; set X[:, :, H-d, W-d], X[:, :, H-d-1, W-d-1], X[:, :, H-d, W-d-2] and "
         "X[:, :, H-d-2, W-d] to pixel_value (H rows, W columns: the images need not be square)",
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


def _avg_edges(seed: int, target: int, ties: Sequence[float]) -> tuple:
    """Items whose ratings land exactly on the rules' edges: half-way between two half stars
    (``np.round`` rounds those to the even number of half stars), exactly 0.5, and at or below
    0.25 (which rounds to 0, then clips to 0.5); the filler items are listed out of order, and
    are the items 0..k-1, so that noise indexed by item id instead of by position runs and
    differs. Every value is exact in binary, so the ties are real ties."""
    gen = np.random.default_rng(seed)
    ties = np.asarray(ties, dtype=float)
    wanted = np.r_[ties, 0.5, 0.0, 0.25]  # a rating on every edge
    k = len(wanted)
    n = k + 3
    filler = gen.permutation(k)
    stds = gen.choice([0.25, 0.5, 1.0], size=n)
    noise = gen.choice([-2.0, -1.0, -0.5, 0.5, 1.0, 1.5], size=k)
    means = gen.choice([1.5, 2.5, 3.5], size=n)  # items outside the filler: any mean
    means[filler] = wanted - stds[filler] * noise  # exact: quarters, halves and small integers
    return means, stds, target, filler, noise


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
        Case(_avg_edges(70, 9, [3.25, 2.25, 4.25, 3.75]),
             label="ratings on the edges (ties, 0.5, 0), filler out of order"),
    ]


def _avg_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(71)
    means = gen.uniform(1.0, 4.8, 25)
    stds = gen.uniform(0.2, 1.5, 25)
    filler = gen.choice(np.r_[0:11, 12:25], 10, replace=False)  # not sorted
    noise = gen.standard_normal(10) * 1.5
    return [
        Case((means, stds, 11, filler, noise), label="25 items, 10 filler items out of order"),
        Case((means, stds, 0, filler, noise + 1.0), {"r_max": 3.0},
             label="a 3-star scale, the target first"),
        Case(_avg_edges(72, 8, [1.25, 4.25, 2.75]), {"r_max": 4.5},
             label="ratings on the edges, a 4.5-star scale"),
    ]


def _avg_validate(got, case: Case) -> str | None:
    n = len(case.args[0])
    if np.shape(got) != (n,):
        return f"return one dense row over all {n} items (0 = not rated), got {np.shape(got)}"
    row = np.asarray(got)
    if row.dtype.kind not in "fiu" or not np.all(np.isfinite(row)):
        return "return finite numeric ratings, 0 for the items the profile does not rate"
    return None


AVERAGE_PROFILE = Exercise(
    name="average_attack_profile",
    reference=average_attack_profile,
    cases=_avg_cases,
    hidden_cases=_avg_hidden_cases,
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
    hint="row = zeros; row[filler] = clip(round(2 * (mean + std * noise)) / 2, 0.5, r_max), "
         "with np.round (a tie such as 3.25 goes to the even number of half stars: 3.0) and "
         "noise[k] for the k-th filler item; row[target] = r_max",
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


def _spec_eig_unsorted(features):
    R = np.asarray(features, dtype=float)
    centred = R - R.mean(0)
    _, vecs = np.linalg.eig(centred.T @ centred)
    return (centred @ np.real(vecs[:, 0])) ** 2


def _orthogonal_columns(n: int, scales: Sequence[float], offset: Sequence[float],
                        seed: int) -> np.ndarray:
    """``n`` rows whose centred columns are orthogonal, with the given spreads: the covariance
    is diagonal, so ``np.linalg.eig`` returns its eigenvalues in column order, and the top one
    comes first only if the first column spreads most."""
    A = np.random.default_rng(seed).normal(size=(n, len(scales)))
    Q, _ = np.linalg.qr(np.column_stack([np.ones(n), A]))  # columns 1.. sum to 0
    return Q[:, 1:] * np.sqrt(n) * np.asarray(scales) + np.asarray(offset)


def _spec_cases() -> list[Case]:
    gen = np.random.default_rng(11)
    clean = np.abs(gen.normal(2.0, 1.0, size=(40, 6)))
    poison = clean[:6] + np.array([0, 0, 3.0, 0, 0, 2.0])
    base = np.vstack([clean, poison]).astype(np.float32)  # float32, like the lab's activations
    wide = np.abs(gen.normal(0.5, 0.4, size=(15, 20)))
    skinny = gen.normal(0.0, 1.0, size=(12, 3)) * np.array([3.0, 1.0, 0.2]) + 5.0
    last = _orthogonal_columns(16, [0.5, 1.0, 0.3, 2.0], [3.0, 1.0, 5.0, 2.0], seed=4)
    return [
        Case((base,), label="40 clean rows and 6 shifted ones (float32)"),
        Case((wide,), label="more dimensions than rows"),
        Case((skinny,), label="one dominant direction, mean far from 0"),
        Case((last,), label="uncorrelated dimensions, the widest last"),
    ]


def _spec_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(21)
    relu = np.maximum(gen.normal(1.0, 1.0, size=(30, 8)), 0.0)
    relu[:4] += np.array([0, 2.5, 0, 0, 1.5, 0, 0, 0])
    middle = _orthogonal_columns(12, [1.0, 0.4, 3.0, 0.7, 1.5], [2.0, 2.0, -1.0, 4.0, 0.0],
                                 seed=9)
    return [
        Case((relu.astype(np.float32),), label="30 ReLU rows, 4 shifted (float32)"),
        Case((middle,), label="uncorrelated dimensions, the widest in the middle"),
        Case((gen.normal(3.0, 1.0, size=(6, 10)),), label="6 rows of 10 dimensions"),
    ]


def _spec_validate(got, case: Case) -> str | None:
    n = len(case.args[0])
    if np.shape(got) != (n,):
        return f"return a 1-D array with one score per row ({n}), got shape {np.shape(got)}"
    scores = np.asarray(got)
    if scores.dtype.kind == "c":
        return ("your scores are complex numbers (np.linalg.eig returns complex arrays): scores "
                "are real; use np.linalg.svd or np.linalg.eigh, or take np.real")
    if scores.dtype.kind not in "fiu" or not np.all(np.isfinite(scores)):
        return "return finite numeric scores"
    return None


def _real(values) -> np.ndarray | None:
    """``values`` as real floats (None when they have a non-zero imaginary part)."""
    a = np.asarray(values)
    if np.iscomplexobj(a):
        if not np.allclose(a.imag, 0.0):
            return None
        a = a.real
    return a.astype(float)


def _spec_compare(got, expected) -> bool:
    g, e = _real(got), _real(expected)
    if g is None or e is None or g.shape != e.shape:
        return False
    # the lab's features are float32: scores computed from them in float32 (or centred in
    # float32) carry a relative error near 1e-5 of the largest score, whatever dtype is returned
    scale = max(float(np.max(np.abs(e), initial=0.0)), float(np.max(np.abs(g), initial=0.0)))
    return bool(np.allclose(g, e, rtol=1e-4, atol=1e-5 * scale + 1e-12))


SPECTRAL_SCORES = Exercise(
    name="spectral_signature_scores",
    reference=spectral_signature_scores,
    cases=_spec_cases,
    hidden_cases=_spec_hidden_cases,
    compare=_spec_compare,
    validate=_spec_validate,
    conceal=(poisoning.spectral_signature_detect,),
    mistakes=[
        Mistake("the uncentred representations projected (as ART's implementation does)",
                _spec_uncentred,
                "project the CENTRED rows (R - mean) on v, not the raw rows R"),
        Mistake("the absolute projection instead of its square", _spec_abs,
                "Tran et al. score each row by the SQUARED projection ((r - mean) . v) ** 2"),
        Mistake("the last (smallest) singular vector", _spec_last_vector,
                "np.linalg.svd sorts singular values in decreasing order: take vt[0] (and "
                "np.linalg.eigh sorts eigenvalues in increasing order: its top vector is the "
                "last column)"),
        Mistake("no centring at all", _spec_no_centring,
                "subtract the column means before the SVD and before projecting"),
        Mistake("the first eigenvector of np.linalg.eig, which does not sort its eigenvalues",
                _spec_eig_unsorted,
                "np.linalg.eig returns the eigenvalues in no particular order: take the vector "
                "of the largest one (np.argmax), or use np.linalg.svd, which sorts"),
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


def _roni_two_sided(system, X_base, y_base, X_cand, y_cand, X_val, y_val, tolerance=0.0):
    impact = roni_decision(system, X_base, y_base, X_cand, y_cand, X_val, y_val).impact
    return poisoning.RoniDecision(impact=impact, reject=bool(abs(impact) > tolerance))


def _lr_system() -> systems.SklearnSystem:
    """The lab's kind of system (``systems.DiagnosisModel``), quicker to fit (liblinear; its
    seed is fixed, or it would draw from NumPy's global generator and change the lab's)."""
    lr = LogisticRegression(solver="liblinear", random_state=0)
    return systems.SklearnSystem(Pipeline([("scale", StandardScaler()), ("lr", lr)]),
                                 domain="medical")


def _nn_system() -> systems.SklearnSystem:
    """A nearest-neighbour system: which validation point each training point decides is
    known, so the accuracies (and the impact) are exact fractions."""
    return systems.SklearnSystem(KNeighborsClassifier(n_neighbors=1), domain="medical")


def _nn_data(codes: str, seed: int, n_classes: int = 2) -> tuple:
    """Data for the nearest-neighbour system with a chosen effect on each validation point.

    Validation point i (on a line, 10 apart) is decided by its nearest training point: the
    candidate's point at distance 1 if there is one, else the base's at distance 3. Per point:
    ``R``/``W`` the base is right/wrong and the candidate has no point there; ``f`` the
    candidate fixes a wrong base; ``b`` it breaks a right one; ``r``/``w`` it agrees with a
    right/wrong base. So the impact is (#f - #b) / len(codes), exactly when len(codes) is a
    power of 2; the validation labels are unbalanced.
    """
    gen = np.random.default_rng(seed)
    n = len(codes)
    y_val = np.where(gen.uniform(size=n) < 0.7, 0, gen.integers(1, n_classes, n))
    x = 10.0 * gen.permutation(n)
    jitter = gen.uniform(-0.2, 0.2, size=(3, n))
    X_val = np.column_stack([x, jitter[0]])
    other = (y_val + gen.integers(1, n_classes, n)) % n_classes
    base_right = np.array([c in "Rbr" for c in codes])
    X_base = np.column_stack([x + 3.0, jitter[1]])
    y_base = np.where(base_right, y_val, other)
    has = np.array([c in "fbrw" for c in codes])
    cand_right = np.array([c in "fr" for c in codes])
    X_cand = np.column_stack([x + 1.0, jitter[2]])[has]
    y_cand = np.where(cand_right, y_val, other)[has]
    return X_base, y_base, X_cand, y_cand, X_val, y_val


def _blobs(gen, n: int, shift: float = 1.0, flip: bool = False) -> tuple:
    X = np.vstack([gen.normal(-shift, 1.0, (n, 2)), gen.normal(shift, 1.0, (n, 2))])
    y = np.r_[np.zeros(n, int), np.ones(n, int)]
    return X, (1 - y) if flip else y


def _roni_cases() -> list[Case]:
    gen = np.random.default_rng(5)
    Xb, yb = _blobs(gen, 15)
    Xv, yv = _blobs(gen, 40)
    Xc_bad, yc_bad = _blobs(gen, 40, flip=True)
    # an improving batch: the base's own labels are half noise, the candidate's are clean
    Xb_noisy, yb_noisy = _blobs(gen, 10)
    yb_noisy[::2] = 1 - yb_noisy[::2]
    Xc_good, yc_good = _blobs(gen, 30)
    lr, nn = _lr_system(), _nn_system()
    noisy = _nn_data("R" * 20 + "W" * 6 + "bbb" + "rr" + "w", seed=50)  # impact -3/32
    edge = _nn_data("R" * 21 + "W" * 5 + "bbf" + "rr" + "w", seed=51)  # impact -1/32
    same = _nn_data("R" * 22 + "W" * 5 + "rrr" + "ww", seed=52)  # impact 0
    gain = _nn_data("R" * 20 + "W" * 6 + "fffb" + "r" + "w", seed=53)  # impact +2/32
    return [
        Case((lr, Xb, yb, Xc_bad, yc_bad, Xv, yv), label="a batch with flipped labels"),
        Case((lr, Xb_noisy, yb_noisy, Xc_good, yc_good, Xv, yv),
             label="a clean batch added to a noisy base"),
        Case((nn, *noisy), {"tolerance": 0.125},
             label="1-NN: a batch costing 3 of 32 points, tolerance 0.125"),
        Case((nn, *noisy), label="1-NN: the same batch, default tolerance"),
        Case((nn, *edge), {"tolerance": 1 / 32},
             label="1-NN: impact exactly -1/32 = -tolerance"),
        Case((nn, *same), label="1-NN: a batch changing nothing, impact 0"),
        Case((nn, *gain), {"tolerance": 0.125},
             label="1-NN: a batch gaining 2 of 32 points, tolerance 0.125"),
    ]


def _roni_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(6)
    Xb, yb = _blobs(gen, 12, shift=1.2)
    Xv, yv = _blobs(gen, 32, shift=1.2)
    Xc_bad, yc_bad = _blobs(gen, 20, shift=1.2)
    yc_bad[: len(yc_bad) // 2] = 1  # a one-sided poison: every negative point labelled 1
    Xb_noisy, yb_noisy = _blobs(gen, 8, shift=1.2)
    yb_noisy[1::2] = 1 - yb_noisy[1::2]
    Xc_good, yc_good = _blobs(gen, 25, shift=1.2)
    fitted = _nn_system().fit(gen.normal(size=(6, 2)), np.arange(6) % 2)  # fitted on other data
    nn3 = _nn_system()
    lr = _lr_system()
    return [
        Case((lr, Xb, yb, Xc_bad, yc_bad, Xv, yv), {"tolerance": 0.05},
             label="a one-sided poison, tolerance 0.05"),
        Case((lr, Xb_noisy, yb_noisy, Xc_good, yc_good, Xv, yv), {"tolerance": 0.0},
             label="a clean batch added to a noisy base"),
        Case((fitted, *_nn_data("R" * 36 + "W" * 12 + "bbbbbbf" + "r" * 6 + "www", seed=60)),
             {"tolerance": 5 / 64},
             label="1-NN fitted on other data: impact exactly -5/64 = -tolerance"),
        Case((nn3, *_nn_data("R" * 20 + "W" * 6 + "bbb" + "rr" + "w", seed=61, n_classes=3)),
             {"tolerance": 0.0625}, label="1-NN, 3 classes: impact -3/32, tolerance 0.0625"),
        Case((nn3, *_nn_data("R" * 14 + "W" * 6 + "r" * 8 + "w" * 4, seed=62)),
             label="1-NN: a batch changing nothing, impact 0"),
        Case((nn3, *_nn_data("R" * 16 + "W" * 8 + "f" * 5 + "b" + "rw", seed=63)),
             {"tolerance": 0.2}, label="1-NN: a batch gaining 4 of 32, tolerance 0.2"),
    ]


def _roni_validate(got, case: Case) -> str | None:
    if not isinstance(got, poisoning.RoniDecision):
        return (f"return poisoning.RoniDecision(impact, reject): the lab reads decision.impact "
                f"and decision.reject; got {type(got).__name__}")
    if isinstance(got.impact, bool | np.bool_) or not isinstance(got.impact, int | float
                                                                 | np.integer | np.floating):
        return f"impact must be a number (an accuracy difference), got {type(got.impact).__name__}"
    if not np.isfinite(got.impact):
        return f"impact must be a finite accuracy difference, got {got.impact}"
    if not isinstance(got.reject, bool | np.bool_):
        return f"reject must be a bool (True or False), got {type(got.reject).__name__}"
    return None


def _roni_compare(got, expected) -> bool:
    return (bool(np.isclose(float(got.impact), expected.impact, rtol=0.0, atol=1e-9))
            and bool(got.reject) == expected.reject)


RONI_DECISION = Exercise(
    name="roni_decision",
    reference=roni_decision,
    cases=_roni_cases,
    hidden_cases=_roni_hidden_cases,
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
        Mistake("an improving batch rejected (the size of the impact compared, not its sign)",
                _roni_two_sided,
                "only a loss is a reason to reject: reject when impact < -tolerance; a batch "
                "that improves the validation accuracy is always kept"),
    ],
    hint="fit copy.deepcopy(system) on the base, another on base + candidate; impact = "
         "acc_with - acc_without on the validation set; reject = impact < -tolerance (strictly)",
)


# --- the challenge: a neighbour-vote poison filter with a blind spot -------------------------

#: The attack success (share of the targets the filtered model gets wrong) the student's poison
#: must reach on every case of the challenge.
FILTER_TARGET_ASR = 0.8

#: Neighbours the filter (and the victim model) consult.
FILTER_K = 5


def neighbour_vote_filter(X, y, k: int = FILTER_K) -> np.ndarray:
    """The challenge's weak defence: keep a training row when at least half of its ``k``
    nearest other rows share its label (a kNN label-consistency sanitiser). Returns the mask of
    rows kept.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    from sklearn.neighbors import NearestNeighbors

    X, y = np.asarray(X, dtype=float), np.asarray(y)
    nn = NearestNeighbors(n_neighbors=min(k + 1, len(X))).fit(X)
    idx = nn.kneighbors(X, return_distance=False)[:, 1:]
    return (y[idx] == y[:, None]).mean(axis=1) >= 0.5


def filter_scenario(*, seed: int = 0, n: int = 400, n_targets: int = 20):
    """The challenge's setting: ``(X_train, y_train, X_targets, budget)``.

    Two classes of patients (``make_classification``, 5 features, seeded); the victim model is
    a ``k``-nearest-neighbour classifier trained on whatever the :func:`neighbour_vote_filter`
    keeps. The attacker wants ``X_targets`` (``n_targets`` class-1 patients outside the
    training set) diagnosed 0 and may add at most ``budget`` labelled rows to the training set.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=2 * n, n_features=5, n_informative=3, n_redundant=0,
                               class_sep=1.5, random_state=seed)
    X_train, y_train = X[:n], y[:n]
    rest = np.flatnonzero(y[n:] == 1)[:n_targets] + n
    return X_train, y_train, X[rest], 5 * n_targets


def filtered_attack_success(X_train, y_train, X_targets, X_poison, y_poison) -> float:
    """Attack success of a poison under the challenge's defence: filter the poisoned training
    set with :func:`neighbour_vote_filter`, train the kNN victim on what is kept, and return the
    share of ``X_targets`` it labels 0.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    X_all = np.vstack([X_train, X_poison])
    y_all = np.r_[y_train, y_poison]
    keep = neighbour_vote_filter(X_all, y_all)
    victim = KNeighborsClassifier(n_neighbors=FILTER_K).fit(X_all[keep], y_all[keep])
    return float(np.mean(victim.predict(X_targets) == 0))


def poison_past_filter(X_train, y_train, X_targets, budget):
    """Poison that the neighbour-vote filter keeps: ``(X_poison, y_poison)``.

    The reference solution: the filter asks each row's neighbours, and the poison rows can be
    each other's neighbours. So every target gets ``budget // len(X_targets)`` copies of itself
    (a tiny jitter apart) labelled 0: each copy's nearest rows are its sister copies, which vote
    for it, and the victim's nearest rows to the target are the copies.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    X_targets = np.asarray(X_targets, dtype=float)
    per = max(1, budget // len(X_targets))
    gen = np.random.default_rng(0)
    X_poison = np.repeat(X_targets, per, axis=0)
    X_poison = X_poison + 1e-3 * gen.standard_normal(X_poison.shape)
    return X_poison, np.zeros(len(X_poison), dtype=int)


def _filter_cases() -> list[Case]:
    return [Case(filter_scenario(seed=s), label=f"the filtered kNN diagnosis (seed {s})")
            for s in (0, 1)]


def _filter_hidden_cases() -> list[Case]:
    return [Case(filter_scenario(seed=s), label=f"fresh patients and targets (seed {s})")
            for s in (101, 202)]


def _filter_validate(got, case: Case) -> str | None:
    X_train, y_train, X_targets, budget = case.args
    if not isinstance(got, tuple | list) or len(got) != 2:
        return f"return a pair (X_poison, y_poison), got {type(got).__name__}"
    try:
        X_p = np.asarray(got[0], dtype=float)
        y_p = np.asarray(got[1])
    except (TypeError, ValueError):
        return "X_poison must be an array of numbers and y_poison an array of labels"
    if X_p.ndim != 2 or X_p.shape[1] != X_train.shape[1] or len(X_p) < 1:
        return (f"X_poison must be a 2-D array with {X_train.shape[1]} columns and at least one "
                f"row, got shape {X_p.shape}")
    if len(X_p) > budget:
        return f"the budget is {budget} rows, your poison has {len(X_p)}"
    if y_p.shape != (len(X_p),) or not np.isin(y_p, (0, 1)).all():
        return "y_poison must hold one label, 0 or 1, per poison row"
    if not np.isfinite(X_p).all():
        return "every poison feature must be a finite number"
    low, high = X_train.min(axis=0), X_train.max(axis=0)
    if (X_p < low - 1e-9).any() or (X_p > high + 1e-9).any():
        return "every poison feature must lie within the range of the training data"
    asr = filtered_attack_success(X_train, y_train, X_targets, X_p, y_p.astype(int))
    if asr < FILTER_TARGET_ASR:
        return (f"after the filter, your poison makes {asr:.0%} of the targets read 0, below "
                f"the target {FILTER_TARGET_ASR:.0%}")
    return None


POISON_PAST_FILTER = Exercise(
    name="poison_past_filter",
    reference=poison_past_filter,
    cases=_filter_cases,
    hidden_cases=_filter_hidden_cases,
    validate=_filter_validate,
    compare=lambda got, expected: True,  # graded by the attack success it reaches (validate)
    hint="the filter asks each row's nearest neighbours; a poison row whose neighbours are "
         "other poison rows with the same label is vouched for",
    time_limit=30.0,
)


#: Every exercise of this lab, in the order the lab asks them (the tests run each one).
EXERCISES: tuple[Exercise, ...] = (STAMP_TRIGGER, AVERAGE_PROFILE, SPECTRAL_SCORES, RONI_DECISION,
                                   POISON_PAST_FILTER)

__all__ = [
    "AVERAGE_PROFILE",
    "EXERCISES",
    "FILTER_K",
    "FILTER_TARGET_ASR",
    "POISON_PAST_FILTER",
    "RONI_DECISION",
    "SPECTRAL_SCORES",
    "STAMP_TRIGGER",
    "average_attack_profile",
    "filter_scenario",
    "filtered_attack_success",
    "neighbour_vote_filter",
    "poison_past_filter",
    "roni_decision",
    "spectral_signature_scores",
    "stamp_trigger",
]
