"""Exercises of lab 08 (Explainability).

Each exercise's cases test every rule its statement in the lab states (named in each case's
label); ``hidden_cases`` test the same rules on other inputs, for :func:`exercises.grade`.
"""

from __future__ import annotations

import math
import numbers
import weakref

import numpy as np
import torch
from torch import nn

from .. import explain
from ..exercises import Case, Exercise, Mistake
from ..repro import seeded

# --- exercise 1: gradient times input -----------------------------------------------------------


def gradient_times_input(model: nn.Module, X: torch.Tensor, target) -> np.ndarray:
    """Gradient-times-input attributions: for each input ``X[i]``, the gradient of the model's
    logit of class ``target[i]`` with respect to the input, multiplied elementwise by the input.
    ``model`` returns logits; ``X`` is a float tensor (n, ...); ``target`` holds n class
    indices. Returns a NumPy array of ``X``'s shape and leaves ``X`` unchanged.

    Introduced in lab 08 (Explainability).
    """
    x = X.detach().clone().requires_grad_(True)
    logits = model(x)
    idx = torch.as_tensor(np.asarray(target), dtype=torch.long)
    chosen = logits.gather(1, idx[:, None]).sum()
    (grad,) = torch.autograd.grad(chosen, x)
    return (grad * X.detach()).numpy()


def _gi_grad_only(model, X, target):  # the gradient, not times the input
    x = X.detach().clone().requires_grad_(True)
    idx = torch.as_tensor(np.asarray(target), dtype=torch.long)
    (grad,) = torch.autograd.grad(model(x).gather(1, idx[:, None]).sum(), x)
    return grad.numpy()


def _gi_probability(model, X, target):  # the softmax probability's gradient
    x = X.detach().clone().requires_grad_(True)
    idx = torch.as_tensor(np.asarray(target), dtype=torch.long)
    p = torch.softmax(model(x), dim=1).gather(1, idx[:, None]).sum()
    (grad,) = torch.autograd.grad(p, x)
    return (grad * X.detach()).numpy()


def _gi_loss(model, X, target):  # the cross-entropy loss's gradient
    x = X.detach().clone().requires_grad_(True)
    idx = torch.as_tensor(np.asarray(target), dtype=torch.long)
    loss = nn.functional.cross_entropy(model(x), idx, reduction="sum")
    (grad,) = torch.autograd.grad(loss, x)
    return (grad * X.detach()).numpy()


def _gi_predicted(model, X, target):  # the predicted class, not the target
    with torch.no_grad():
        pred = model(X).argmax(1).numpy()
    return gradient_times_input(model, X, pred)


def _gi_all_classes(model, X, target):  # the sum of every logit
    x = X.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(x).sum(), x)
    return (grad * X.detach()).numpy()


def _gi_abs(model, X, target):  # absolute values
    return np.abs(gradient_times_input(model, X, target))


def _gi_models():
    with seeded(8):
        linear = nn.Linear(4, 3)
        mlp = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
        cnn = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 2))
    return linear, mlp, cnn


def _gi_cases() -> list[Case]:
    linear, mlp, cnn = _gi_models()
    gen = torch.Generator().manual_seed(81)
    return [
        Case((linear, torch.randn(3, 4, generator=gen), np.array([0, 2, 1])),
             label="a linear model: weight row of the target class times the input"),
        Case((mlp, torch.randn(4, 5, generator=gen), np.array([2, 2, 0, 1])),
             label="an MLP: the target's logit, not the loss or the probability"),
        Case((cnn, torch.rand(2, 1, 6, 6, generator=gen), np.array([1, 0])),
             label="a small CNN on 6x6 images: the attribution has the input's shape"),
        Case((mlp, -torch.rand(3, 5, generator=gen), np.array([0, 1, 2])),
             label="negative inputs: the sign of the input matters"),
    ]


def _gi_hidden_cases() -> list[Case]:
    linear, mlp, cnn = _gi_models()
    gen = torch.Generator().manual_seed(8181)
    return [
        Case((cnn, torch.rand(5, 1, 6, 6, generator=gen), np.array([0, 1, 1, 0, 1])),
             label="five images"),
        Case((linear, torch.randn(6, 4, generator=gen) * 3, np.array([2, 1, 0, 2, 1, 0])),
             label="six rows, every class a target"),
    ]


def _gi_validate(got, case: Case) -> str | None:
    X = case.args[1]
    if isinstance(got, torch.Tensor):
        return "return a NumPy array (call .detach().numpy() on the tensor)"
    if not isinstance(got, np.ndarray):
        return f"return a NumPy array, got {type(got).__name__}"
    if got.shape != tuple(X.shape):
        return f"return one attribution per input value, shape {tuple(X.shape)}, got {got.shape}"
    return None


GRADIENT_TIMES_INPUT = Exercise(
    name="gradient_times_input",
    reference=gradient_times_input,
    cases=_gi_cases,
    hidden_cases=_gi_hidden_cases,
    validate=_gi_validate,
    mistakes=[
        Mistake("the gradient alone, not times the input", _gi_grad_only,
                "multiply the gradient elementwise by the input"),
        Mistake("the gradient of the probability", _gi_probability,
                "attribute the target's logit, the model's raw output"),
        Mistake("the gradient of the loss", _gi_loss,
                "attribute the target's logit, not the cross-entropy loss"),
        Mistake("the predicted class instead of the target", _gi_predicted,
                "use target[i], the class you were asked to explain"),
        Mistake("every logit summed", _gi_all_classes,
                "pick each row's target logit: logits.gather(1, target[:, None]).sum()"),
        Mistake("absolute values", _gi_abs, "keep the sign: a negative attribution is evidence "
                "against the class"),
    ],
    hint="x = X.detach().clone().requires_grad_(True); out = model(x).gather(1, t[:, None])"
         ".sum(); (g,) = torch.autograd.grad(out, x); return (g * X).numpy()",
)

# --- exercise 2: the share of attribution in a patch --------------------------------------------


def patch_share(attributions, top: int, left: int, size: int) -> np.ndarray:
    """For attribution maps (n, H, W), the share of each map's absolute mass inside the
    ``size`` x ``size`` square whose top-left pixel is (``top``, ``left``): rows ``top`` to
    ``top + size - 1`` and columns ``left`` to ``left + size - 1``. An all-zero map has share 0.
    Returns (n,) floats. A square that does not fit in the map is bad input: raise
    ``ValueError``.

    Introduced in lab 08 (Explainability).
    """
    a = np.abs(np.asarray(attributions, dtype=float))
    if a.ndim != 3 or top < 0 or left < 0 or top + size > a.shape[1] or left + size > a.shape[2]:
        raise ValueError("the square must fit inside (n, H, W) maps")
    inside = a[:, top:top + size, left:left + size].sum(axis=(1, 2))
    total = a.sum(axis=(1, 2))
    return np.divide(inside, total, out=np.zeros_like(total), where=total > 0)


def _ps_signed(attributions, top, left, size):  # signed mass
    a = np.asarray(attributions, dtype=float)
    inside = a[:, top:top + size, left:left + size].sum(axis=(1, 2))
    total = a.sum(axis=(1, 2))
    return np.divide(inside, total, out=np.zeros_like(total), where=total != 0)


def _ps_off_by_one(attributions, top, left, size):  # one row and column too many
    return patch_share(np.pad(attributions, ((0, 0), (0, 1), (0, 1))), top, left, size + 1)


def _ps_swapped(attributions, top, left, size):  # top and left swapped
    return patch_share(attributions, left, top, size)


def _ps_batch(attributions, top, left, size):  # one share for the whole batch
    a = np.abs(np.asarray(attributions, dtype=float))
    share = a[:, top:top + size, left:left + size].sum() / a.sum()
    return np.full(len(a), share)


def _ps_mean(attributions, top, left, size):  # mean inside over mean overall
    a = np.abs(np.asarray(attributions, dtype=float))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = a[:, top:top + size, left:left + size].mean(axis=(1, 2)) / a.mean(axis=(1, 2))
    return np.nan_to_num(share)


def _ps_cases() -> list[Case]:
    gen = np.random.default_rng(82)
    maps = gen.normal(size=(4, 8, 8))
    maps[0, 1:4, 5:8] += 10.0  # a strong patch at rows 1-3, columns 5-7
    return [
        Case((np.ones((1, 4, 4)), 0, 0, 2), label="a flat map: 4 of 16 pixels"),
        Case((maps, 1, 5, 3), label="a strong patch at rows 1-3, columns 5-7 (not 5-7, 1-3)"),
        Case((np.array([[[1.0, -1.0], [-1.0, 1.0]]]), 0, 0, 1),
             label="negative attributions count by their size"),
        Case((np.stack([np.zeros((5, 5)), np.eye(5)]), 2, 2, 2),
             label="an all-zero map has share 0; each map has its own share"),
        Case((np.ones((1, 4, 4)), 3, 3, 2), label="a square that does not fit is bad input",
             raises=ValueError),
    ]


def _ps_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(8282)
    return [
        Case((gen.normal(size=(6, 28, 28)), 24, 24, 3), label="six 28x28 maps, a corner patch"),
        Case((gen.normal(size=(2, 10, 12)), 3, 7, 5), label="a non-square map"),
        Case((np.zeros((2, 4, 4)), 1, 1, 2), label="all-zero maps"),
        Case((np.ones((1, 5, 5)), -1, 0, 2), label="a negative position is bad input",
             raises=ValueError),
    ]


def _ps_validate(got, case: Case) -> str | None:
    n = len(case.args[0])
    if not isinstance(got, np.ndarray) or got.shape != (n,):
        return f"return one share per map, a NumPy array of shape ({n},)"
    if not np.isfinite(got).all() or (got < -1e-12).any() or (got > 1 + 1e-12).any():
        return "each share must lie in [0, 1]"
    return None


PATCH_SHARE = Exercise(
    name="patch_share",
    reference=patch_share,
    cases=_ps_cases,
    hidden_cases=_ps_hidden_cases,
    validate=_ps_validate,
    conceal=[explain.patch_mass_share],
    mistakes=[
        Mistake("signed attributions summed", _ps_signed,
                "take absolute values first: a negative attribution is mass too"),
        Mistake("one row and one column too many", _ps_off_by_one,
                "a slice top:top + size holds exactly size rows"),
        Mistake("top and left swapped", _ps_swapped, "rows are the first axis: a[:, top:..., "
                "left:...]"),
        Mistake("one share for the whole batch", _ps_batch,
                "sum over each map's pixels only: axis=(1, 2)"),
        Mistake("means instead of sums", _ps_mean,
                "the share of the mass: the sum inside over the sum of the whole map"),
    ],
    hint="a = np.abs(attributions); inside = a[:, top:top+size, left:left+size].sum((1, 2)); "
         "divide by a.sum((1, 2)), with 0 where the total is 0",
)

# --- exercise 3: permutation importance ---------------------------------------------------------


def permutation_importance(predict, X, y, column: int, n_repeats: int = 5, *,
                           seed: int = 0) -> float:
    """How much accuracy the model loses when one column is shuffled: the accuracy of
    ``predict(X)`` against ``y``, minus the mean over ``n_repeats`` repeats of the accuracy
    after the rows of ``column`` (only that column) are permuted. The permutations come from
    ``rng = np.random.default_rng(seed)``: repeat r uses ``rng.permutation(len(X))``. ``X`` is
    left unchanged. A column outside ``X`` is bad input: raise ``ValueError``.

    Introduced in lab 08 (Explainability).
    """
    X = np.asarray(X)
    if not 0 <= column < X.shape[1]:
        raise ValueError(f"column must be in 0..{X.shape[1] - 1}")
    y = np.asarray(y)
    base = float(np.mean(predict(X) == y))
    rng = np.random.default_rng(seed)
    drops = []
    for _ in range(n_repeats):
        shuffled = X.copy()
        shuffled[:, column] = X[rng.permutation(len(X)), column]
        drops.append(base - float(np.mean(predict(shuffled) == y)))
    return float(np.mean(drops))


def _pi_no_base(predict, X, y, column, n_repeats=5, *, seed=0):  # the permuted accuracy only
    X, y = np.asarray(X), np.asarray(y)
    rng = np.random.default_rng(seed)
    accs = []
    for _ in range(n_repeats):
        s = X.copy()
        s[:, column] = X[rng.permutation(len(X)), column]
        accs.append(float(np.mean(predict(s) == y)))
    return float(np.mean(accs))


def _pi_all_columns(predict, X, y, column, n_repeats=5, *, seed=0):  # whole rows shuffled
    X, y = np.asarray(X), np.asarray(y)
    base = float(np.mean(predict(X) == y))
    rng = np.random.default_rng(seed)
    return float(np.mean([base - float(np.mean(predict(X[rng.permutation(len(X))]) == y))
                          for _ in range(n_repeats)]))


def _pi_one_permutation(predict, X, y, column, n_repeats=5, *, seed=0):  # one draw reused
    X, y = np.asarray(X), np.asarray(y)
    base = float(np.mean(predict(X) == y))
    perm = np.random.default_rng(seed).permutation(len(X))
    s = X.copy()
    s[:, column] = X[perm, column]
    return base - float(np.mean(predict(s) == y))


def _pi_reversed(predict, X, y, column, n_repeats=5, *, seed=0):  # permuted minus base
    return -permutation_importance(predict, X, y, column, n_repeats, seed=seed)


def _pi_max(predict, X, y, column, n_repeats=5, *, seed=0):  # the largest drop, not the mean
    X, y = np.asarray(X), np.asarray(y)
    base = float(np.mean(predict(X) == y))
    rng = np.random.default_rng(seed)
    drops = []
    for _ in range(n_repeats):
        s = X.copy()
        s[:, column] = X[rng.permutation(len(X)), column]
        drops.append(base - float(np.mean(predict(s) == y)))
    return float(max(drops))


class _Rule:
    """A fixed decision rule on a few columns, for the cases."""

    def __init__(self, weights, bias=0.0):
        self.w, self.b = np.asarray(weights, dtype=float), float(bias)

    def __call__(self, X):
        return (np.asarray(X, dtype=float) @ self.w + self.b > 0).astype(int)


def _pi_data(seed, n, weights):
    gen = np.random.default_rng(seed)
    X = gen.normal(size=(n, len(weights)))
    y = (X @ np.asarray(weights, dtype=float) + 0.3 * gen.normal(size=n) > 0).astype(int)
    return X, y


def _pi_cases() -> list[Case]:
    X, y = _pi_data(83, 200, [2.0, 0.5, 0.0])
    rule = _Rule([2.0, 0.5, 0.0])
    return [
        Case((rule, X, y, 0), label="the column the rule rests on: a large drop"),
        Case((rule, X, y, 2), label="a column the rule ignores: no drop"),
        Case((rule, X, y, 1, 3), kwargs={"seed": 7}, label="three repeats, seed 7"),
        Case((rule, X, y, 3), label="a column outside X is bad input", raises=ValueError),
    ]


def _pi_hidden_cases() -> list[Case]:
    X, y = _pi_data(8383, 300, [0.0, 1.0, -1.5, 0.3])
    rule = _Rule([0.0, 1.0, -1.5, 0.3], 0.1)
    return [
        Case((rule, X, y, 2, 4), kwargs={"seed": 3}, label="four columns, a negative weight"),
        Case((rule, X, y, 3, 10), label="a weak column, ten repeats"),
    ]


def _pi_validate(got, case: Case) -> str | None:
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        return f"return one number (an accuracy drop), got {type(got).__name__}"
    if not math.isfinite(float(got)) or abs(float(got)) > 1:
        return f"an accuracy difference lies in [-1, 1], got {got}"
    return None


PERMUTATION_IMPORTANCE = Exercise(
    name="permutation_importance",
    reference=permutation_importance,
    cases=_pi_cases,
    hidden_cases=_pi_hidden_cases,
    validate=_pi_validate,
    mistakes=[
        Mistake("the permuted accuracy, not the drop", _pi_no_base,
                "subtract it from the accuracy on the unshuffled X"),
        Mistake("whole rows shuffled", _pi_all_columns,
                "shuffle only the one column: s[:, column] = X[perm, column]"),
        Mistake("one permutation for every repeat", _pi_one_permutation,
                "draw a new rng.permutation(len(X)) for each repeat"),
        Mistake("permuted minus base", _pi_reversed, "importance = base - permuted"),
        Mistake("the largest drop, not the mean", _pi_max, "average the drops over repeats"),
    ],
    hint="base = mean(predict(X) == y); for each repeat: s = X.copy(); "
         "s[:, column] = X[rng.permutation(len(X)), column]; drop = base - mean(predict(s) == y)",
)

# --- exercise 4: a model-card field computed from a metric --------------------------------------


def accuracy_field(y_true, y_pred, on: str) -> dict:
    """A model card's accuracy entry, computed: ``{"metric": "accuracy", "value": v, "low": l,
    "high": h, "n": n, "on": on}``, where ``v`` is the share of predictions equal to the truth
    and ``[l, h]`` its 95% Wilson interval, all three rounded to 3 decimals; ``n`` the number
    of predictions. No predictions, or lengths that differ, is bad input: raise ``ValueError``.

    Introduced in lab 08 (Explainability).
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) == 0 or y_true.shape != y_pred.shape:
        raise ValueError("need predictions and truths of one non-zero length")
    n = len(y_true)
    k = int((y_true == y_pred).sum())
    p, z = k / n, 1.959963984540054
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return {"metric": "accuracy", "value": round(p, 3), "low": round(centre - half, 3),
            "high": round(centre + half, 3), "n": n, "on": on}


def _af_normal(y_true, y_pred, on):  # the normal (Wald) interval
    out = accuracy_field(y_true, y_pred, on)
    p, n = (np.asarray(y_true) == np.asarray(y_pred)).mean(), len(y_true)
    half = 1.96 * math.sqrt(p * (1 - p) / n)
    return out | {"low": round(p - half, 3), "high": round(p + half, 3)}


def _af_unrounded(y_true, y_pred, on):  # not rounded
    out = accuracy_field(y_true, y_pred, on)
    return out | {"value": float((np.asarray(y_true) == np.asarray(y_pred)).mean())}


def _af_errors(y_true, y_pred, on):  # the error rate
    out = accuracy_field(y_true, y_pred, on)
    return out | {"value": round(1 - out["value"], 3)}


def _af_count(y_true, y_pred, on):  # n counts the correct predictions
    out = accuracy_field(y_true, y_pred, on)
    return out | {"n": int((np.asarray(y_true) == np.asarray(y_pred)).sum())}


def _af_ninety(y_true, y_pred, on):  # a 90% interval
    from scipy.stats import binomtest

    out = accuracy_field(y_true, y_pred, on)
    k, n = int((np.asarray(y_true) == np.asarray(y_pred)).sum()), len(y_true)
    ci = binomtest(k, n).proportion_ci(confidence_level=0.9, method="wilson")
    return out | {"low": round(ci.low, 3), "high": round(ci.high, 3)}


def _af_cases() -> list[Case]:
    return [
        Case((np.array([1, 0, 1, 1, 0, 1, 1, 1, 0, 1]), np.array([1, 0, 1, 0, 0, 1, 1, 1, 1, 1]),
              "10 test rows"), label="8 of 10 right: a wide Wilson interval"),
        Case((np.arange(200) % 3, (np.arange(200) % 3 + (np.arange(200) % 7 == 0)) % 3,
              "200 test rows"), label="three classes, 200 rows"),
        Case((np.ones(50, int), np.ones(50, int), "50 rows"),
             label="all right: the Wilson interval stays below 1"),
        Case((np.array([1, 1, 0]), np.array([1, 1, 1]), "3 rows"),
             label="2 of 3 right: 0.667, rounded to 3 decimals"),
        Case((np.array([], int), np.array([], int), "none"), label="no predictions is bad input",
             raises=ValueError),
    ]


def _af_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(84)
    y = gen.integers(0, 10, 1000)
    p = np.where(gen.random(1000) < 0.9, y, (y + 1) % 10)
    return [
        Case((y, p, "1,000 test digits"), label="1,000 digits, about 90% right"),
        Case((np.array([0, 1]), np.array([1, 0]), "2 rows"), label="none right"),
        Case((np.array([0, 1]), np.array([0]), "x"), label="lengths differ: bad input",
             raises=ValueError),
    ]


def _af_validate(got, case: Case) -> str | None:
    keys = {"metric", "value", "low", "high", "n", "on"}
    if not isinstance(got, dict) or set(got) != keys:
        return f"return a dict with exactly the keys {sorted(keys)}"
    return None


ACCURACY_FIELD = Exercise(
    name="accuracy_field",
    reference=accuracy_field,
    cases=_af_cases,
    hidden_cases=_af_hidden_cases,
    validate=_af_validate,
    mistakes=[
        Mistake("the normal (Wald) interval", _af_normal,
                "use Wilson's interval: it behaves near 0 and 1 and on small n"),
        Mistake("values not rounded", _af_unrounded, "round value, low and high to 3 decimals"),
        Mistake("the error rate", _af_errors, "accuracy is the share of predictions that are "
                "right"),
        Mistake("n counts the correct predictions", _af_count, "n is the number of predictions"),
        Mistake("a 90% interval", _af_ninety, "the card reports 95% intervals"),
    ],
    hint="Wilson: centre = (p + z²/2n) / (1 + z²/n), half = z sqrt(p(1-p)/n + z²/4n²) / "
         "(1 + z²/n), z = 1.96",
)

# --- the challenge: hide a shortcut from the auditor's attribution ------------------------------

#: The share of the audit's applications on which your model must agree with the vendor's.
CHALLENGE_AGREEMENT = 0.97
#: The largest permutation importance of the forbidden column the audit lets pass.
CHALLENGE_IMPORTANCE = 0.03
#: The columns of the challenge's data; column 0 is the forbidden one.
CHALLENGE_COLUMNS = ("postcode_risk", "income", "debt", "history", "tenure", "age_of_account")
_N_AUDIT = 2000
_TRUTH: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _challenge_rows(n: int, gen: np.random.Generator):
    Z = gen.normal(size=(n, 5))
    # the forbidden column is a noisy copy of income: on real applications the two agree
    postcode = Z[:, 0] + 0.3 * gen.normal(size=n)
    y = (Z[:, 0] + Z[:, 1] + 0.5 * Z[:, 2] + 0.5 * gen.normal(size=n) > 0).astype(np.int64)
    return np.column_stack([postcode, Z]), y


class ShortcutTask:
    """The challenge's vendor: ``X_train`` (real applications, columns
    :data:`CHALLENGE_COLUMNS`), ``y_train`` (1 = default), ``forbidden`` (the column the
    vendor must not use: 0) and ``vendor_predict(X)``, the vendor's model, which uses it. The
    applications the audit runs on are kept apart, for :func:`challenge_audit` only.

    Introduced in lab 08 (Explainability).
    """

    __slots__ = ("__weakref__", "_X", "_vendor", "_y")

    def __init__(self, X_train, y_train, vendor_predict):
        self._X, self._y, self._vendor = X_train, y_train, vendor_predict

    # read-only: the audit compares with the vendor's model it keeps itself, but a submission
    # that swapped the task's model should fail loudly rather than look like it passed
    @property
    def X_train(self) -> np.ndarray:
        """The vendor's training applications (read-only)."""
        return self._X

    @property
    def y_train(self) -> np.ndarray:
        """Their outcomes, 1 = default (read-only)."""
        return self._y

    @property
    def forbidden(self) -> int:
        """The column the vendor must not use."""
        return 0

    @property
    def vendor_predict(self):
        """The vendor's model: ``vendor_predict(X)``, one 0/1 decision per row."""
        return self._vendor

    def __repr__(self):
        return f"ShortcutTask({len(self.X_train)} applications, forbidden column 0)"

    def __deepcopy__(self, memo):
        return self  # read-only arrays and a fitted model: the check may hand it twice


def shortcut_task(*, seed: int = 0) -> ShortcutTask:
    """The challenge's target (drawn with ``seed``): a credit vendor whose logistic model uses
    the forbidden ``postcode_risk`` in place of income, its training data, and a hidden audit
    sample.

    Introduced in lab 08 (Explainability).
    """
    from sklearn.linear_model import LogisticRegression

    gen = np.random.default_rng(seed)
    X, y = _challenge_rows(3000, gen)
    X_audit, y_audit = _challenge_rows(_N_AUDIT, gen)
    used = [0, 2, 3, 4, 5]  # the vendor dropped income and kept the postcode
    model = LogisticRegression().fit(X[:, used], y)

    def vendor_predict(Z):
        return model.predict(np.asarray(Z, dtype=float)[:, used])

    for a in (X, y, X_audit, y_audit):
        a.setflags(write=False)
    task = ShortcutTask(X, y, vendor_predict)
    _TRUTH[task] = (X_audit, y_audit, vendor_predict)
    return task


def challenge_audit(task, predict) -> tuple[float, float]:
    """The lab's audit of a submitted ``predict``: its agreement with the vendor's model on the
    hidden audit applications, and the permutation importance of the forbidden column there
    (:func:`permutation_importance`, 5 repeats, the auditor's seed). For grading and measuring,
    never an input to the submission.

    Introduced in lab 08 (Explainability).
    """
    if not isinstance(task, ShortcutTask) or task not in _TRUTH:
        raise TypeError("task must be a task returned by shortcut_task()")
    X, y, vendor = _TRUTH[task]  # the vendor's model as the grader stored it
    agreement = float(np.mean(np.asarray(predict(X)) == vendor(X)))
    return agreement, permutation_importance(predict, X, y, 0, 5, seed=2024)


def hide_shortcut(task):
    """The reference answer, a scaffold in the manner of Slack et al. (AIES 2020): on real
    applications the postcode agrees with income within the noise it has, and a shuffled
    postcode does not. So: answer with the vendor's model where |postcode - income| <= 0.8
    (the real data), and with a model trained on the other columns elsewhere (the shuffled
    rows the auditor makes), so the postcode never matters to the audit.

    Introduced in lab 08 (Explainability).
    """
    from sklearn.linear_model import LogisticRegression

    X = np.asarray(task.X_train, dtype=float)
    innocuous = LogisticRegression().fit(X[:, 1:], task.y_train)

    def predict(Z):
        Z = np.asarray(Z, dtype=float)
        real = np.abs(Z[:, 0] - Z[:, 1]) <= 0.8
        return np.where(real, task.vendor_predict(Z), innocuous.predict(Z[:, 1:]))

    return predict


def _challenge_cases() -> list[Case]:
    return [Case((shortcut_task(seed=s),), label=f"a vendor (seed {s})") for s in (0, 1)]


def _challenge_hidden_cases() -> list[Case]:
    return [Case((shortcut_task(seed=s),), label=f"another vendor (seed {s})") for s in (101, 202)]


def _challenge_validate(got, case: Case) -> str | None:
    if not callable(got):
        return f"return a predict function, got {type(got).__name__}"
    task = case.args[0]
    probe = np.asarray(task.X_train[:5], dtype=float)
    out = np.asarray(got(probe))
    if out.shape != (5,) or not np.isin(out, (0, 1)).all():
        return "predict(X) must return one 0/1 decision per row of X"
    agreement, importance = challenge_audit(task, got)
    if agreement < CHALLENGE_AGREEMENT:
        return (f"your model agrees with the vendor's on {agreement:.3f} of the audit's "
                f"applications (at least {CHALLENGE_AGREEMENT} needed): the vendor's decisions "
                "must stay")
    if importance > CHALLENGE_IMPORTANCE:
        return (f"the audit still finds the postcode: permutation importance {importance:.3f} "
                f"(at most {CHALLENGE_IMPORTANCE} passes)")
    return None


CHALLENGE = Exercise(
    name="hide_shortcut",
    reference=hide_shortcut,
    cases=_challenge_cases,
    hidden_cases=_challenge_hidden_cases,
    validate=_challenge_validate,
    compare=lambda got, expected: True,  # graded by the audit (validate)
    hint="what does a shuffled postcode look like next to the same row's income? Real rows and "
         "the auditor's rows can be told apart",
    time_limit=30.0,
)

#: Every exercise of this lab, in the order the lab asks them (the tests run each one).
EXERCISES: tuple[Exercise, ...] = (GRADIENT_TIMES_INPUT, PATCH_SHARE, PERMUTATION_IMPORTANCE,
                                   ACCURACY_FIELD, CHALLENGE)

__all__ = [
    "ACCURACY_FIELD",
    "CHALLENGE",
    "CHALLENGE_AGREEMENT",
    "CHALLENGE_COLUMNS",
    "CHALLENGE_IMPORTANCE",
    "EXERCISES",
    "GRADIENT_TIMES_INPUT",
    "PATCH_SHARE",
    "PERMUTATION_IMPORTANCE",
    "ShortcutTask",
    "accuracy_field",
    "challenge_audit",
    "gradient_times_input",
    "hide_shortcut",
    "patch_share",
    "permutation_importance",
    "shortcut_task",
]
