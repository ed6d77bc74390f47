"""Checks of lab 02 (Evasion): FGSM, the text canonicaliser, the certified radius of a linear
model, and the projection of a fraud perturbation onto what the fraudster controls.

Each exercise has a reference, deterministic cases and the usual mistakes, which the check
recognises by running them on the same cases (see :mod:`mlsec_helpers.exercises`).
"""

from __future__ import annotations

import unicodedata

import numpy as np
import torch
from torch import nn

from .. import evasion, fraud_sim
from ..exercises import Case, Exercise, Mistake
from ..repro import seeded

# --- exercise 1: FGSM ----------------------------------------------------------------------


def fgsm(model: nn.Module, X: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    """Reference FGSM: ``clip(X + eps * sign(grad_X CE(model(X), y)), 0, 1)``.

    Introduced in lab 02 (Evasion).
    """
    return evasion.fgsm(model, X, y, eps)


def _grad(model, x, y):
    model.eval()
    x = torch.as_tensor(x, dtype=torch.float32).clone().requires_grad_(True)
    loss = nn.functional.cross_entropy(model(x), torch.as_tensor(y))
    (g,) = torch.autograd.grad(loss, x)
    return x.detach(), g


def _fgsm_wrong_sign(model, x, y, eps):
    x, g = _grad(model, x, y)
    return (x - eps * g.sign()).clamp(0, 1)


def _fgsm_no_clip(model, x, y, eps):
    x, g = _grad(model, x, y)
    return x + eps * g.sign()


def _fgsm_l2(model, x, y, eps):
    x, g = _grad(model, x, y)
    norm = g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
    return (x + eps * g / norm).clamp(0, 1)


def _fgsm_raw_gradient(model, x, y, eps):
    x, g = _grad(model, x, y)
    return (x + eps * g).clamp(0, 1)


def _fgsm_cases() -> list[Case]:
    from ..data import load_dataset
    from ..systems import SmallCNN

    data = load_dataset("digits_tiny", seed=0)
    with seeded(0):  # the case model's weights, without touching the lab's generators
        model = SmallCNN(image_size=8).eval()
    x = torch.as_tensor(data.X_test[:6])
    y = torch.as_tensor(data.y_test[:6])
    return [
        Case((model, x, y, 0.1), label="6 digits, eps 0.1"),
        Case((model, x, y, 0.3), label="6 digits, eps 0.3"),
        Case((model, x[:1], y[:1], 0.05), label="one digit, eps 0.05"),
    ]


def _as_numpy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float32)


def _fgsm_compare(got, expected) -> bool:
    try:
        g, e = _as_numpy(got), _as_numpy(expected)
    except (TypeError, ValueError):
        return False
    return g.shape == e.shape and bool(np.allclose(g, e, atol=1e-5))


def _fgsm_validate(got, case: Case) -> str | None:
    if not isinstance(got, torch.Tensor | np.ndarray):
        return f"return the adversarial images as a tensor, got {type(got).__name__}"
    if tuple(got.shape) != tuple(case.args[1].shape):
        return f"the adversarial batch has shape {tuple(got.shape)}, x has " \
               f"{tuple(case.args[1].shape)}"
    return None


FGSM = Exercise(
    name="fgsm",
    reference=fgsm,
    cases=_fgsm_cases,
    compare=_fgsm_compare,
    validate=_fgsm_validate,
    mistakes=[
        Mistake("a step down the loss (x - eps * sign)", _fgsm_wrong_sign,
                "the perturbation must point UP the loss, the direction that makes the model "
                "wrong: check the sign"),
        Mistake("no clipping to [0, 1]", _fgsm_no_clip,
                "pixels live in [0, 1]: clamp the adversarial image back into that range"),
        Mistake("an L2-normalised gradient step instead of the sign", _fgsm_l2,
                "FGSM is an L-infinity attack: every pixel moves by exactly eps, so use "
                "grad.sign(), not grad / ||grad||"),
        Mistake("the raw gradient instead of its sign", _fgsm_raw_gradient,
                "multiply eps by grad.sign(), not by the gradient itself"),
    ],
    hint="x.requires_grad_(); loss = cross_entropy(model(x), y); grad = autograd.grad(loss, x); "
         "(x + eps * grad.sign()).clamp(0, 1)",
)


# --- exercise 2: the text canonicaliser --------------------------------------------------------


def canonicalise(text: str) -> str:
    """Reference canonicaliser: NFKC, zero-width characters removed, confusables mapped.

    Introduced in lab 02 (Evasion).
    """
    return evasion.canonicalise(text)


def _canon_nfc(text):
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch for ch in text if ch not in evasion.ZERO_WIDTH)
    return "".join(evasion.CONFUSABLES.get(ch, ch) for ch in text)


def _canon_keep_zero_width(text):
    text = unicodedata.normalize("NFKC", text)
    return "".join(evasion.CONFUSABLES.get(ch, ch) for ch in text)


def _canon_no_confusables(text):
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if ch not in evasion.ZERO_WIDTH)


def _canon_ascii_only(text):
    return unicodedata.normalize("NFKC", text).encode("ascii", "ignore").decode("ascii")


def _canon_lower(text):
    return evasion.canonicalise(text).lower()


_CANON_CASES = [
    Case(("Verify your \u0430\u0441\u0441\u043e\u0443nt at once",), label="Cyrillic homoglyphs"),
    Case(("Your card is bl\u200bo\u200bcked, click h\u200dere",), label="zero-width characters"),
    Case(("\uff35\uff32\uff27\uff25\uff2e\uff34: \u0440\u0430\u0443 \u00a3250 now",),
         label="full-width letters and a pound sign"),
    Case(("Caf\u00e9 refund for Zo\u00eb, \ufb01nal notice",), label="accents and a ligature"),
    Case(("\u039d\u0435w d\u0435vic\u0435 \u0430dd\u0435d \u2014 sec\u0075re \u0456t",),
         label="Greek and Cyrillic capitals"),
]

CANONICALISE = Exercise(
    name="canonicalise",
    reference=canonicalise,
    cases=_CANON_CASES,
    mistakes=[
        Mistake("NFC instead of NFKC", _canon_nfc,
                "NFC keeps full-width letters and ligatures; NFKC folds them into plain "
                "letters: unicodedata.normalize('NFKC', text)"),
        Mistake("zero-width characters kept", _canon_keep_zero_width,
                "remove every character of evasion.ZERO_WIDTH: they split words for the "
                "tokenizer while staying invisible"),
        Mistake("confusables not mapped", _canon_no_confusables,
                "replace each character found in evasion.CONFUSABLES by its Latin letter"),
        Mistake("every non-ASCII character deleted", _canon_ascii_only,
                "deleting non-ASCII characters removes homoglyphs instead of mapping them (and "
                "destroys '\u00a3' and accents): map with evasion.CONFUSABLES instead"),
        Mistake("the text lower-cased", _canon_lower,
                "keep the case: the vectoriser lower-cases on its own, and case is evidence "
                "(URGENT)"),
    ],
    hint="NFKC first, then drop evasion.ZERO_WIDTH characters, then map evasion.CONFUSABLES",
)


# --- exercise 3: the certified radius of a linear model ----------------------------------------


def certified_radius(w: np.ndarray, b: float, X: np.ndarray, norm="inf") -> np.ndarray:
    """Reference: ``|w @ x + b| / ||w||_q`` with q the dual norm of ``norm`` (inf -> 1, 2 -> 2).

    Introduced in lab 02 (Evasion).
    """
    return evasion.certified_radius(w, b, X, norm=norm)


def _radius_same_norm(w, b, X, norm="inf"):
    ord_ = np.inf if norm in ("inf", np.inf) else 2
    return np.abs(np.asarray(X) @ w + b) / np.linalg.norm(w, ord=ord_)


def _radius_l2_always(w, b, X, norm="inf"):
    return np.abs(np.asarray(X) @ w + b) / np.linalg.norm(w)


def _radius_signed(w, b, X, norm="inf"):
    q = 1 if norm in ("inf", np.inf) else 2
    return (np.asarray(X) @ w + b) / np.linalg.norm(w, ord=q)


def _radius_margin_only(w, b, X, norm="inf"):
    return np.abs(np.asarray(X) @ w + b)


def _radius_cases() -> list[Case]:
    gen = np.random.default_rng(2)
    w = gen.normal(size=5)
    X = gen.normal(size=(7, 5))
    w2 = np.array([3.0, -4.0])
    X2 = np.array([[1.0, 1.0], [0.0, 0.5], [-2.0, 1.0]])
    return [
        Case((w, 0.3, X, "inf"), label="5 features, L-inf"),
        Case((w, 0.3, X, 2), label="5 features, L2"),
        Case((w2, 1.0, X2, "inf"), label="w = (3, -4), L-inf"),
        Case((w2, 1.0, X2, 2), label="w = (3, -4), L2"),
    ]


CERTIFIED_RADIUS = Exercise(
    name="certified_radius",
    reference=certified_radius,
    cases=_radius_cases,
    mistakes=[
        Mistake("the same norm for w as for the perturbation", _radius_same_norm,
                "an L-inf perturbation moves w @ x by at most eps * ||w||_1: divide by the "
                "DUAL norm (L-inf -> L1, L2 -> L2)"),
        Mistake("||w||_2 for every norm", _radius_l2_always,
                "for an L-inf ball the worst case moves every feature by eps against sign(w): "
                "that is eps * ||w||_1, not eps * ||w||_2"),
        Mistake("a signed margin (negative radii)", _radius_signed,
                "a radius is a distance: take the absolute value of w @ x + b"),
        Mistake("the margin without dividing by a norm", _radius_margin_only,
                "the margin |w @ x + b| is in output units; divide by the dual norm of w to "
                "get a distance in input units"),
    ],
    hint="np.abs(X @ w + b) / np.linalg.norm(w, ord=1 if norm == 'inf' else 2)",
)


# --- exercise 4: project a fraud perturbation onto the attacker's constraints ---------------

_F = list(fraud_sim.FEATURES)
_CAT_COLS = [f"cat_{c}" for c in fraud_sim.MERCHANT_CATEGORIES]


def project_fraud(x_orig: np.ndarray, x_adv: np.ndarray) -> np.ndarray:
    """Reference projection of one attacked feature vector onto what the fraudster controls.

    In ``fraud_sim.FEATURES`` order: (1) every feature the fraudster does not control
    (``ATTACKER_CONSTRAINTS[name]["controllable"]`` False) is restored from ``x_orig``;
    (2) the category becomes the one-hot of the largest ``cat_*`` value (first on ties);
    (3) ``hour`` is rounded and clipped to 0-23; (4) ``is_online`` is rounded to 0/1, then
    forced to 1 for ``online_retail`` and to 0 for categories that cannot be paid online;
    (5) ``amount`` is clipped to [AMOUNT_MIN, AMOUNT_MAX] and rounded to cents (to a multiple
    of 10, at least 10, for ``cash_withdrawal``); (6) ``amount_to_cust_mean_30d`` is
    recomputed as amount / cust_mean_amount_30d (1 when that mean is 0).

    Introduced in lab 02 (Evasion).
    """
    x_orig = np.asarray(x_orig, dtype=np.float64)
    x = np.asarray(x_adv, dtype=np.float64).copy()
    if x.shape != (len(_F),) or x_orig.shape != (len(_F),):
        raise ValueError(f"x_orig and x_adv must be 1-D with {len(_F)} features")
    for j, name in enumerate(_F):
        if not fraud_sim.ATTACKER_CONSTRAINTS[name]["controllable"]:
            x[j] = x_orig[j]
    cat_idx = [_F.index(c) for c in _CAT_COLS]
    best = int(np.argmax(x[cat_idx]))
    x[cat_idx] = 0.0
    x[cat_idx[best]] = 1.0
    category = fraud_sim.MERCHANT_CATEGORIES[best]
    h = _F.index("hour")
    x[h] = float(np.clip(np.round(x[h]), 0, 23))
    o = _F.index("is_online")
    x[o] = float(np.clip(np.round(x[o]), 0, 1))
    if category not in fraud_sim.IN_PERSON_CATEGORIES:
        x[o] = 1.0
    elif category not in fraud_sim.ONLINE_CATEGORIES:
        x[o] = 0.0
    a = _F.index("amount")
    amount = float(np.clip(x[a], fraud_sim.AMOUNT_MIN, fraud_sim.AMOUNT_MAX))
    if category == "cash_withdrawal":
        amount = max(10.0, 10.0 * round(amount / 10.0))
    x[a] = round(amount, 2)
    mean30 = x[_F.index("cust_mean_amount_30d")]
    x[_F.index("amount_to_cust_mean_30d")] = x[a] / mean30 if mean30 > 0 else 1.0
    return x


def _proj_no_restore(x_orig, x_adv):
    x = project_fraud(x_orig, x_adv)
    fixed = [j for j, n in enumerate(_F) if not fraud_sim.ATTACKER_CONSTRAINTS[n]["controllable"]
             and n != "amount_to_cust_mean_30d"]
    x[fixed] = np.asarray(x_adv, dtype=np.float64)[fixed]
    return x


def _proj_clip_categories(x_orig, x_adv):
    x = project_fraud(x_orig, x_adv)
    cat_idx = [_F.index(c) for c in _CAT_COLS]
    x[cat_idx] = np.clip(np.asarray(x_adv, dtype=np.float64)[cat_idx], 0, 1)
    return x


def _proj_no_ratio(x_orig, x_adv):
    x = project_fraud(x_orig, x_adv)
    j = _F.index("amount_to_cust_mean_30d")
    x[j] = np.asarray(x_orig, dtype=np.float64)[j]
    return x


def _proj_no_channel_rule(x_orig, x_adv):
    x = project_fraud(x_orig, x_adv)
    o = _F.index("is_online")
    x[o] = float(np.clip(np.round(np.asarray(x_adv, dtype=np.float64)[o]), 0, 1))
    return x


def _proj_no_amount_rules(x_orig, x_adv):
    x = project_fraud(x_orig, x_adv)
    a = _F.index("amount")
    x[a] = float(np.asarray(x_adv, dtype=np.float64)[a])
    mean30 = x[_F.index("cust_mean_amount_30d")]
    x[_F.index("amount_to_cust_mean_30d")] = x[a] / mean30 if mean30 > 0 else 1.0
    return x


def _row(**values):
    x = np.zeros(len(_F))
    base = {"amount": 120.0, "hour": 14, "is_online": 0, "cat_grocery": 1, "cust_n_tx_1d": 2,
            "cust_n_tx_7d": 9, "cust_mean_amount_7d": 41.5, "cust_mean_amount_30d": 40.0,
            "amount_to_cust_mean_30d": 3.0, "cust_new_category": 0, "hour_unusual": 0,
            "secs_since_last_tx": 5400.0, "term_n_tx_7d": 31,
            "term_fraud_rate_28d_delayed": 0.02}
    for k, v in {**base, **values}.items():
        x[_F.index(k)] = v
    return x


def _proj_cases() -> list[Case]:
    gen = np.random.default_rng(4)
    x1 = _row()
    a1 = x1 + gen.normal(0, 0.4, size=len(_F))
    a1[_F.index("amount")] = 37.4567
    a1[_F.index("cat_online_retail")] = 0.9
    a1[_F.index("is_online")] = 0.2
    x2 = _row(amount=2500.0, hour=3, is_online=1, cat_grocery=0, cat_electronics=1,
              cust_mean_amount_30d=0.0, cust_mean_amount_7d=0.0, cust_n_tx_1d=0,
              cust_n_tx_7d=0, amount_to_cust_mean_30d=1.0, secs_since_last_tx=2592000.0)
    a2 = x2 + gen.normal(0, 0.3, size=len(_F))
    a2[_F.index("amount")] = 25000.0
    a2[_F.index("hour")] = 25.6
    a2[_F.index("cat_cash_withdrawal")] = 1.4
    a2[_F.index("is_online")] = 0.8
    x3 = _row(amount=60.0, hour=20, cat_grocery=0, cat_restaurant=1, amount_to_cust_mean_30d=1.5)
    a3 = x3.copy()
    a3[_F.index("amount")] = -5.0
    a3[_F.index("hour")] = 11.4
    a3[_F.index("term_fraud_rate_28d_delayed")] = 0.0
    a3[_F.index("cust_n_tx_1d")] = 0.0
    return [
        Case((x1, a1), label="grocery row pushed towards online retail"),
        Case((x2, a2), label="amount above the card limit, hour 25.6, cash at night"),
        Case((x3, a3), label="negative amount, terminal risk set to 0"),
    ]


PROJECT_FRAUD = Exercise(
    name="project_fraud",
    reference=project_fraud,
    cases=_proj_cases,
    mistakes=[
        Mistake("features the fraudster does not control were kept", _proj_no_restore,
                "history features (velocities, terminal fraud rate, ...) are computed by the "
                "bank from past transactions: restore them from x_orig"),
        Mistake("categories clipped instead of one-hot", _proj_clip_categories,
                "a transaction has exactly one merchant category: set the largest cat_* to 1 "
                "and the others to 0"),
        Mistake("amount_to_cust_mean_30d not recomputed", _proj_no_ratio,
                "the ratio follows the new amount: amount / cust_mean_amount_30d (1 if that "
                "mean is 0)"),
        Mistake("the channel not matched to the category", _proj_no_channel_rule,
                "online_retail is always online; grocery, fuel, restaurant, pharmacy and cash "
                "withdrawals never are"),
        Mistake("the amount not clipped and rounded", _proj_no_amount_rules,
                "clip the amount to [AMOUNT_MIN, AMOUNT_MAX], round it to cents, and to tens "
                "for cash withdrawals"),
    ],
    hint="restore the non-controllable features, then fix category, hour, channel, amount and "
         "the amount ratio, in that order",
)


#: Every exercise of this lab, in the order the lab asks them (the tests run each one).
EXERCISES: tuple[Exercise, ...] = (FGSM, CANONICALISE, CERTIFIED_RADIUS, PROJECT_FRAUD)

__all__ = ["EXERCISES", *(ex.name.upper() for ex in EXERCISES)]

__all__ = [
    "CANONICALISE",
    "CERTIFIED_RADIUS",
    "EXERCISES",
    "FGSM",
    "PROJECT_FRAUD",
    "canonicalise",
    "certified_radius",
    "fgsm",
    "project_fraud",
]
