"""Checks of lab 02 (Evasion): FGSM, the text canonicaliser, the projection of a fraud
perturbation onto what the fraudster controls, and the certified radius of a linear model.

Each exercise has a reference, deterministic cases that test every rule its statement states,
hidden cases for grading, the usual mistakes (recognised by running them on the same cases) and
an output check that enforces what the lab's next cells need (see
:mod:`mlsec_helpers.exercises`).
"""

from __future__ import annotations

import functools
import unicodedata

import numpy as np
import torch
from torch import nn

from .. import evasion, fraud_sim
from ..exercises import Case, Exercise, Mistake
from ..repro import limited_threads, seeded

# --- exercise 1: FGSM ----------------------------------------------------------------------


def fgsm(model: nn.Module, X: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    """Reference FGSM: ``clip(X + eps * sign(grad_X CE(model(X), y)), 0, 1)``, model in eval
    mode, returned as a new detached tensor.

    Introduced in lab 02 (Evasion).
    """
    return evasion.fgsm(model, X, y, eps)


class _SeededDropout(nn.Module):
    """Dropout for the checks' case model. In training mode it drops units like
    ``nn.Dropout``, but its mask comes from its own generator, seeded from ``self.seed`` at
    every call: an answer that leaves the model in training mode is wrong the same way every
    time (so the check can name the mistake), and nothing is drawn from torch's global
    generator (so the lab's later numbers stay as they are)."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p, self.seed = p, 0

    def forward(self, x):
        if not self.training:
            return x
        gen = torch.Generator().manual_seed(self.seed)
        keep = (torch.rand(x.shape, generator=gen) >= self.p).to(x.dtype)
        return x * keep / (1.0 - self.p)


@functools.cache
def _fgsm_setup():
    """The case model (trained, with dropout, handed over in TRAINING mode so that forgetting
    ``model.eval()`` changes the answer), the test digits and their labels, and the test
    digits ordered from the least to the most confidently classified (where a softmax before
    the cross-entropy changes the gradient's sign). Built once per process (about 0.1 s)."""
    from ..data import load_dataset

    data = load_dataset("digits_tiny", seed=0)
    X, y = torch.as_tensor(data.X_train), torch.as_tensor(data.y_train)
    with seeded(0), limited_threads(1):  # the weights, without touching the lab's generators
        dropout = _SeededDropout(0.5)
        model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), dropout,
                              nn.Linear(32, 10))
        params = list(model.parameters())
        velocity = [torch.zeros_like(p) for p in params]
        # plain full-batch gradient descent with momentum, written out (torch.optim's first
        # use costs a second of imports, more than all of this lab's checks together)
        for step in range(80):
            dropout.seed = step + 1
            loss = nn.functional.cross_entropy(model(X), y)
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                for p, g, v in zip(params, grads, velocity, strict=True):
                    v.mul_(0.9).add_(g)
                    p.sub_(0.1 * v)
        dropout.seed = 0
        X_test, y_test = torch.as_tensor(data.X_test), torch.as_tensor(data.y_test)
        with torch.no_grad():
            model.eval()
            proba = torch.softmax(model(X_test), dim=1)[torch.arange(len(y_test)), y_test]
    model.train()
    unsure = torch.argsort(proba, stable=True)
    return model, X_test, y_test, unsure


def _fgsm_case(rows, eps: float, label: str) -> Case:
    model, X, y, _ = _fgsm_setup()
    rows = torch.as_tensor(list(rows) if isinstance(rows, range) else rows)
    return Case((model, X[rows].clone(), y[rows].clone(), eps), label=label)


def _fgsm_cases() -> list[Case]:
    *_, unsure = _fgsm_setup()
    return [
        _fgsm_case(range(6), 0.1, "6 digits, eps 0.1, the model handed over in training mode"),
        _fgsm_case(unsure[:5], 0.2, "the 5 digits the model is least sure of, eps 0.2"),
        _fgsm_case([6], 0.05, "one digit, eps 0.05"),
        _fgsm_case(range(7, 15), 0.3, "8 digits, eps 0.3 (many pixels hit 0 or 1)"),
    ]


def _fgsm_hidden_cases() -> list[Case]:
    *_, unsure = _fgsm_setup()
    return [
        _fgsm_case(range(20, 30), 0.15, "10 other digits, eps 0.15"),
        _fgsm_case(unsure[5:9], 0.1, "4 other unsure digits, eps 0.1"),
        _fgsm_case(unsure[9:10], 0.25, "one unsure digit, eps 0.25"),
        _fgsm_case(range(40, 43), 0.4, "3 digits, eps 0.4"),
    ]


def _fgsm_compare(got, expected) -> bool:
    g = got.detach().cpu().numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
    e = expected.detach().cpu().numpy()
    if g.shape != e.shape:
        return False
    # float32 pixels; a correct answer written differently (loss summed instead of averaged,
    # log_softmax + nll_loss, backward() instead of autograd.grad) may flip the sign of a
    # gradient that is zero up to rounding: allow one pixel in 500 to differ
    off = ~np.isclose(g, e, rtol=0.0, atol=1e-5)
    return int(off.sum()) <= g.size // 500


def _fgsm_validate(got, case: Case) -> str | None:
    X = case.args[1]
    if isinstance(got, np.ndarray):
        return ("it returned a NumPy array; return a torch tensor: the lab passes your "
                "adversarial batch on as a tensor and calls .numpy() on it")
    if not isinstance(got, torch.Tensor):
        return f"return the adversarial images as a torch tensor, got {type(got).__name__}"
    if got.requires_grad or got.grad_fn is not None:
        return ("it returned a tensor still attached to the autograd graph (requires_grad "
                "or grad_fn set): return it .detach()-ed, or the lab's .numpy() fails")
    if got.dtype != X.dtype:
        return f"it returned a {got.dtype} tensor; return {X.dtype}, like X"
    if tuple(got.shape) != tuple(X.shape):
        return f"the adversarial batch has shape {tuple(got.shape)}, X has {tuple(X.shape)}"
    if got.device != X.device:
        return f"it returned a tensor on {got.device}; X is on {X.device}"
    if not bool(torch.isfinite(got).all()) or float(got.min()) < 0 or float(got.max()) > 1:
        return (f"its pixels range over [{float(got.min()):.3g}, {float(got.max()):.3g}]: "
                "adversarial images must stay in [0, 1]")
    return None


def _grad(model, X, y, train=False, softmax=False):
    model.train(train)
    X = torch.as_tensor(X, dtype=torch.float32).clone().requires_grad_(True)
    out = model(X)
    if softmax:
        out = torch.softmax(out, dim=1)
    loss = nn.functional.cross_entropy(out, torch.as_tensor(y))
    (g,) = torch.autograd.grad(loss, X)
    return X.detach(), g


def _fgsm_wrong_sign(model, X, y, eps):
    X, g = _grad(model, X, y)
    return (X - eps * g.sign()).clamp(0, 1)


def _fgsm_no_clip(model, X, y, eps):
    X, g = _grad(model, X, y)
    return X + eps * g.sign()


def _fgsm_l2(model, X, y, eps):
    X, g = _grad(model, X, y)
    norm = g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (g.dim() - 1)))
    return (X + eps * g / norm).clamp(0, 1)


def _fgsm_raw_gradient(model, X, y, eps):
    X, g = _grad(model, X, y)
    return (X + eps * g).clamp(0, 1)


def _fgsm_train_mode(model, X, y, eps):
    X, g = _grad(model, X, y, train=True)
    return (X + eps * g.sign()).clamp(0, 1)


def _fgsm_softmax(model, X, y, eps):
    X, g = _grad(model, X, y, softmax=True)
    return (X + eps * g.sign()).clamp(0, 1)


FGSM = Exercise(
    name="fgsm",
    reference=fgsm,
    cases=_fgsm_cases,
    hidden_cases=_fgsm_hidden_cases,
    compare=_fgsm_compare,
    validate=_fgsm_validate,
    conceal=[evasion.fgsm],
    mistakes=[
        Mistake("a step down the loss (X - eps * sign)", _fgsm_wrong_sign,
                "the perturbation must point UP the loss, the direction that makes the model "
                "wrong: check the sign"),
        Mistake("no clipping to [0, 1]", _fgsm_no_clip,
                "pixels live in [0, 1]: clamp the adversarial image back into that range"),
        Mistake("an L2-normalised gradient step instead of the sign", _fgsm_l2,
                "FGSM is an L-infinity attack: every pixel moves by exactly eps, so use "
                "grad.sign(), not grad / ||grad||"),
        Mistake("the raw gradient instead of its sign", _fgsm_raw_gradient,
                "multiply eps by grad.sign(), not by the gradient itself"),
        Mistake("the model left in training mode (model.eval() missing)", _fgsm_train_mode,
                "call model.eval() before the forward pass: in training mode dropout (and "
                "batch norm) change the model's output, so the gradient is not the deployed "
                "model's"),
        Mistake("a softmax before the cross-entropy", _fgsm_softmax,
                "cross_entropy takes the raw logits and applies log-softmax itself; a softmax "
                "before it squashes the scores and changes the gradient"),
    ],
    hint="model.eval(); X = X.clone().requires_grad_(); loss = cross_entropy(model(X), y); "
         "grad = autograd.grad(loss, X); return (X + eps * grad.sign()).clamp(0, 1).detach()",
)


# --- exercise 2: the text canonicaliser --------------------------------------------------------


def canonicalise(text: str) -> str:
    """Reference canonicaliser: NFKC, zero-width characters removed, confusables mapped (in
    that order); digits, case and accents kept (leetspeak is folded by a separate step).

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


def _canon_confusables_first(text):
    text = "".join(evasion.CONFUSABLES.get(ch, ch) for ch in text)
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if ch not in evasion.ZERO_WIDTH)


def _canon_leet(text):
    return evasion.fold_leetspeak(evasion.canonicalise(text))


_CANON_CASES = [
    Case(("Verify your \u0430\u0441\u0441\u043e\u0443nt at once",), label="Cyrillic homoglyphs"),
    Case(("Your card is bl\u200bo\u200ccked, cl\u200dick h\u2060ere: \ufeffre\u00adfund\u180e",),
         label="all seven zero-width characters"),
    Case(("\uff35\uff32\uff27\uff25\uff2e\uff34: \u0440\u0430\u0443\u00a0\u00a3250 now",),
         label="full-width letters, a no-break space and a pound sign"),
    Case(("Caf\u00e9 refund for Zo\u00eb and Ame\u0301lie, \ufb01nal notice",),
         label="accents (one as a combining mark) and a ligature"),
    Case(("\u039d\u0435w d\u0435vic\u0435 \u0430dd\u0435d \u2014 sec\u0075re \u0456t",),
         label="Greek and Cyrillic capitals"),
    Case(("\u03d2our \u03f1in: unloc\u03f0 your "
          "\U0001d6bb\U0001d6b6\U0001d6b1\U0001d6ac\U0001d6b4",),
         label="letters that NFKC turns into confusables (so NFKC must come first)"),
    Case((" v3r1fy y0ur acc0unt:  ref 5119,\tpay \u00a352.26\n",),
         label="leetspeak, numbers and spacing, all kept"),
]

_CANON_HIDDEN = [
    Case(("Re\u200b\u0430ctiv\u0430te \u0443our p\u0430ss\u200dword \u0455oon",),
         label="homoglyphs and zero-width characters mixed"),
    Case(("\U0001d6c2ccount \U0001d6d0n h\U0001d6d0ld, c\u03f1de \u03f0ept",),
         label="mathematical Greek letters"),
    Case(("soft\u00adhyphen, BOM\ufeff and Mongolian\u180eseparator\u2060",),
         label="rarer zero-width characters"),
    Case(("C\u0430ll 0800 555 0199 or t3xt W1N to 8899 \u2014 \uff11\uff12\uff13",),
         label="digits, leetspeak and full-width digits"),
    Case(("",), label="an empty message"),
    Case(("Na\u0131\u0308ve r\u00e9sume\u0301 \ufb02ow \u2460 \u339c",),
         label="a dotless i, combining accents and compatibility symbols"),
    Case(("  URGENT\u00a0\u00a0 \u0422\u0410\u0425  r\u0435fund n\u043ew \n",),
         label="Cyrillic capitals, URGENT and spacing"),
]


def _canon_validate(got, case: Case) -> str | None:
    if not isinstance(got, str):
        return (f"it returned {type(got).__name__}; return the canonical text as one str (the "
                "defended pipeline feeds it to the vectoriser)")
    return None


CANONICALISE = Exercise(
    name="canonicalise",
    reference=canonicalise,
    cases=_CANON_CASES,
    hidden_cases=_CANON_HIDDEN,
    validate=_canon_validate,
    conceal=[evasion.canonicalise, evasion.CanonicalisingTransformer.transform],
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
        Mistake("confusables mapped before NFKC", _canon_confusables_first,
                "NFKC first: it turns some characters (mathematical or symbol forms of Greek "
                "letters) INTO confusables, which the mapping must then see"),
        Mistake("leetspeak folded as well", _canon_leet,
                "keep digits as they are: leetspeak is folded by a separate step "
                "(evasion.fold_leetspeak) that the defence adds after your canonicaliser"),
    ],
    hint="NFKC first, then drop evasion.ZERO_WIDTH characters, then map evasion.CONFUSABLES",
)


# --- exercise 3: project a fraud perturbation onto the attacker's constraints ---------------

_F = list(fraud_sim.FEATURES)
# What the reference uses, copied at import: an answer that edits fraud_sim's (mutable)
# ATTACKER_CONSTRAINTS or rebinds its constants cannot change what the check expects.
_CATEGORIES = tuple(fraud_sim.MERCHANT_CATEGORIES)
_CAT_IDX = tuple(_F.index(f"cat_{c}") for c in _CATEGORIES)
_ONLINE = frozenset(fraud_sim.ONLINE_CATEGORIES)
_FIXED = tuple(j for j, n in enumerate(_F) if not fraud_sim.ATTACKER_CONSTRAINTS[n]["controllable"])
_AMOUNT_MIN, _AMOUNT_MAX = float(fraud_sim.AMOUNT_MIN), float(fraud_sim.AMOUNT_MAX)
_A, _H, _O = _F.index("amount"), _F.index("hour"), _F.index("is_online")
_MEAN30, _RATIO = _F.index("cust_mean_amount_30d"), _F.index("amount_to_cust_mean_30d")


def project_fraud(x_orig: np.ndarray, x_adv: np.ndarray) -> np.ndarray:
    """Reference projection of one attacked feature vector onto what the fraudster controls.

    In ``fraud_sim.FEATURES`` order: (1) every feature the fraudster does not control
    (``ATTACKER_CONSTRAINTS[name]["controllable"]`` False) is restored from ``x_orig``;
    (2) the category becomes the one-hot of the largest ``cat_*`` value (first on ties);
    (3) ``hour`` is rounded and clipped to 0-23; (4) ``is_online`` is rounded to 0/1, then
    forced to 1 for ``online_retail`` and to 0 for categories that cannot be paid online;
    (5) ``amount`` is clipped to [AMOUNT_MIN, AMOUNT_MAX] and rounded to cents (to a multiple
    of 10, at least 10, for ``cash_withdrawal``); (6) ``amount_to_cust_mean_30d`` is
    recomputed as amount / cust_mean_amount_30d (1 when that mean is 0). Returns a new
    float64 array.

    Introduced in lab 02 (Evasion).
    """
    x_orig = np.asarray(x_orig, dtype=np.float64)
    x = np.asarray(x_adv, dtype=np.float64).copy()
    if x.shape != (len(_F),) or x_orig.shape != (len(_F),):
        raise ValueError(f"x_orig and x_adv must be 1-D with {len(_F)} features")
    fixed = list(_FIXED)
    x[fixed] = x_orig[fixed]
    cats = list(_CAT_IDX)
    best = int(np.argmax(x[cats]))  # the first of equal maxima
    x[cats] = 0.0
    x[cats[best]] = 1.0
    category = _CATEGORIES[best]
    x[_H] = float(np.clip(np.round(x[_H]), 0, 23))
    online = float(np.clip(np.round(x[_O]), 0, 1))
    if category == "online_retail":
        online = 1.0
    elif category not in _ONLINE:
        online = 0.0
    x[_O] = online
    amount = float(np.clip(x[_A], _AMOUNT_MIN, _AMOUNT_MAX))
    if category == "cash_withdrawal":
        amount = max(10.0, 10.0 * round(amount / 10.0))
    x[_A] = round(amount, 2)
    mean30 = x[_MEAN30]
    x[_RATIO] = x[_A] / mean30 if mean30 > 0 else 1.0
    return x


def _proj_no_restore(x_orig, x_adv):
    x = project_fraud(x_orig, x_adv)
    fixed = [j for j in _FIXED if j != _RATIO]
    x[fixed] = np.asarray(x_adv, dtype=np.float64)[fixed]
    return x


def _proj_clip_categories(x_orig, x_adv):
    x = project_fraud(x_orig, x_adv)
    cats = list(_CAT_IDX)
    x[cats] = np.clip(np.asarray(x_adv, dtype=np.float64)[cats], 0, 1)
    return x


def _proj_no_ratio(x_orig, x_adv):
    x = project_fraud(x_orig, x_adv)
    x[_RATIO] = np.asarray(x_orig, dtype=np.float64)[_RATIO]
    return x


def _proj_no_channel_rule(x_orig, x_adv):
    x = project_fraud(x_orig, x_adv)
    x[_O] = float(np.clip(np.round(np.asarray(x_adv, dtype=np.float64)[_O]), 0, 1))
    return x


def _proj_no_amount_rules(x_orig, x_adv):
    x = project_fraud(x_orig, x_adv)
    x[_A] = float(np.asarray(x_adv, dtype=np.float64)[_A])
    x[_RATIO] = x[_A] / x[_MEAN30] if x[_MEAN30] > 0 else 1.0
    return x


def _proj_cash_in_cents(x_orig, x_adv):
    x = project_fraud(x_orig, x_adv)
    x[_A] = round(float(np.clip(np.asarray(x_adv, dtype=np.float64)[_A], _AMOUNT_MIN,
                                _AMOUNT_MAX)), 2)
    x[_RATIO] = x[_A] / x[_MEAN30] if x[_MEAN30] > 0 else 1.0
    return x


def _row(**values):
    x = np.zeros(len(_F))
    base = {"amount": 120.0, "hour": 14, "is_online": 0, "cat_grocery": 1, "cust_n_tx_1d": 2,
            "cust_n_tx_7d": 9, "cust_mean_amount_7d": 41.5, "cust_mean_amount_30d": 40.0,
            "amount_to_cust_mean_30d": 3.0, "cust_new_category": 0, "hour_unusual": 0,
            "secs_since_last_tx": 5400.0, "term_n_tx_7d": 31,
            "term_fraud_rate_28d_delayed": 0.02}
    if any(k.startswith("cat_") for k in values):
        base["cat_grocery"] = 0
    for k, v in {**base, **values}.items():
        x[_F.index(k)] = v
    return x


def _adv(x_orig, seed, **values):
    """x_orig with every feature moved a little (history features included), then ``values``
    set: the category columns are all moved off 0/1."""
    x = x_orig + np.random.default_rng(seed).uniform(-0.3, 0.3, size=len(_F))
    x[list(_CAT_IDX)] = np.random.default_rng(seed + 100).uniform(-0.2, 0.3, size=len(_CAT_IDX))
    for k, v in values.items():
        x[_F.index(k)] = v
    return x


_NEW_CARD = {"cust_mean_amount_30d": 0.0, "cust_mean_amount_7d": 0.0, "cust_n_tx_1d": 0,
             "cust_n_tx_7d": 0, "amount_to_cust_mean_30d": 1.0, "secs_since_last_tx": 2592000.0}


def _proj_cases() -> list[Case]:
    x1 = _row()
    a1 = _adv(x1, 1, amount=37.4567, cat_online_retail=0.9, is_online=0.2, hour=13.6,
              cust_mean_amount_30d=80.0)
    x2 = _row(amount=2500.0, hour=3, is_online=1, cat_electronics=1, **_NEW_CARD)
    a2 = _adv(x2, 2, amount=25000.0, hour=25.6, cat_cash_withdrawal=1.4, is_online=0.8)
    x3 = _row(amount=60.0, hour=20, cat_restaurant=1, amount_to_cust_mean_30d=1.5)
    a3 = x3.copy()
    a3[[_A, _H, _F.index("term_fraud_rate_28d_delayed"), _F.index("cust_n_tx_1d")]] = \
        [-5.0, 11.4, 0.0, 0.0]
    x4 = _row(amount=59.0, hour=9)
    a4 = _adv(x4, 4, amount=59.996, cat_fuel=0.8, cat_travel=0.8, is_online=0.9, hour=8.7)
    x5 = _row(amount=80.0, hour=22, cat_cash_withdrawal=1, amount_to_cust_mean_30d=2.0)
    a5 = _adv(x5, 5, amount=137.4, cat_cash_withdrawal=0.6, hour=-0.7,
              cust_mean_amount_30d=12.5)
    x6 = _row(amount=20.0, hour=2, cat_cash_withdrawal=1, amount_to_cust_mean_30d=0.5)
    a6 = _adv(x6, 6, amount=3.2, hour=2.2)
    a6[list(_CAT_IDX)] = np.linspace(-0.5, -0.05, len(_CAT_IDX))  # all negative: cash largest
    x7 = _row(amount=300.0, hour=15, is_online=1, cat_electronics=1, amount_to_cust_mean_30d=7.5)
    a7 = _adv(x7, 7, cat_electronics=0.7, is_online=0.7, amount=412.341)
    x8 = _row(amount=45.0, hour=10, is_online=1, cat_clothing=1, amount_to_cust_mean_30d=1.125)
    a8 = _adv(x8, 8, cat_clothing=0.9, is_online=0.3, amount=1234.5678)
    x9 = _row(amount=45.0, hour=10, is_online=1, cat_gambling=1, amount_to_cust_mean_30d=1.125)
    a9 = _adv(x9, 9, cat_gambling=1.2, is_online=1.6, amount=88.888)
    f32 = np.float32
    return [
        Case((x1.astype(f32), a1.astype(f32)),
             label="grocery row pushed towards online retail (float32 rows, as the lab's)"),
        Case((x2, a2), label="amount above the card limit, hour 25.6, cash, a new card"),
        Case((x3, a3), label="negative amount, terminal risk set to 0"),
        Case((x4, a4), label="fuel and travel tied for the largest category"),
        Case((x5, a5), label="cash of 137.4, hour -0.7"),
        Case((x6.astype(f32), a6.astype(f32)),
             label="cash of 3.2, every category value negative"),
        Case((x7, a7), label="electronics with is_online 0.7"),
        Case((x8, a8), label="clothing with is_online 0.3"),
        Case((x9, a9), label="gambling with is_online 1.6"),
    ]


def _proj_hidden_cases() -> list[Case]:
    y1 = _row(amount=75.0, hour=12, cat_pharmacy=1, amount_to_cust_mean_30d=1.875)
    b1 = _adv(y1, 11, cat_clothing=0.65, cat_electronics=0.65, is_online=0.62, hour=22.6,
              amount=12.3449)
    y2 = _row(amount=75.0, hour=12, cat_pharmacy=1, amount_to_cust_mean_30d=1.875)
    b2 = _adv(y2, 12, cat_online_retail=0.6, cat_gambling=0.6, is_online=0.1, hour=-0.4,
              amount=12.3451, cust_mean_amount_30d=0.0)
    y3 = _row(amount=500.0, hour=1, cat_cash_withdrawal=1, amount_to_cust_mean_30d=12.5)
    b3 = _adv(y3, 13, cat_cash_withdrawal=0.9, amount=146.3, hour=6.3)
    y4 = _row(amount=500.0, hour=1, cat_cash_withdrawal=1, **_NEW_CARD)
    b4 = _adv(y4, 14, cat_cash_withdrawal=0.9, amount=4.2)
    y5 = _row(amount=500.0, hour=1, cat_cash_withdrawal=1, amount_to_cust_mean_30d=12.5)
    b5 = _adv(y5, 15, cat_cash_withdrawal=0.9, amount=30000.0, cust_mean_amount_30d=3.0)
    y6 = _row(amount=20.0, hour=8, cat_grocery=1, amount_to_cust_mean_30d=0.5)
    b6 = _adv(y6, 16, cat_grocery=0.95, is_online=0.55, amount=0.004)
    y7 = _row(amount=20.0, hour=8, cat_travel=1, is_online=1, amount_to_cust_mean_30d=0.5)
    b7 = _adv(y7, 17, cat_travel=0.7, is_online=-0.6, amount=145.2, hour=17.6)
    f32 = np.float32
    return [
        Case((y1, b1), label="clothing and electronics tied, is_online 0.62"),
        Case((y2.astype(f32), b2.astype(f32)),
             label="online retail and gambling tied, hour -0.4 (float32 rows)"),
        Case((y3, b3), label="cash of 146.3"),
        Case((y4, b4), label="cash of 4.2 on a new card"),
        Case((y5, b5), label="cash above the limit, the row's 30-day mean moved"),
        Case((y6, b6), label="grocery with is_online 0.55 and an amount below one cent"),
        Case((y7, b7), label="travel with is_online -0.6, an amount of 145.2"),
    ]


def _proj_validate(got, case: Case) -> str | None:
    if not isinstance(got, np.ndarray | list | tuple):
        return f"return a NumPy array, got {type(got).__name__}"
    arr = np.asarray(got)
    if arr.shape != (len(_F),):
        return f"return one row of {len(_F)} features, got shape {arr.shape}"
    if arr.dtype != np.float64:
        return (f"it returned {arr.dtype} values; return float64 (np.asarray(x_adv, "
                "dtype=np.float64).copy()): float32 cannot hold amounts in exact cents, and "
                "the lab checks each row with fraud_sim.check_constraints")
    if not np.isfinite(arr).all():
        return "it returned NaN or infinite values"
    return None


def _proj_compare(got, expected) -> bool:
    g, e = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    return g.shape == e.shape and bool(np.allclose(g, e, rtol=1e-9, atol=1e-9))


PROJECT_FRAUD = Exercise(
    name="project_fraud",
    reference=project_fraud,
    cases=_proj_cases,
    hidden_cases=_proj_hidden_cases,
    validate=_proj_validate,
    compare=_proj_compare,
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
        Mistake("cash withdrawals rounded to cents, not to tens", _proj_cash_in_cents,
                "a cash machine pays out in tens: for cash_withdrawal round the amount to a "
                "multiple of 10, and at least 10"),
    ],
    hint="restore the non-controllable features, then fix category, hour, channel, amount and "
         "the amount ratio, in that order",
)


# --- exercise 4: the certified radius of a linear model ----------------------------------------


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


def _radius_scaled(n: int, d: int, seed: int, b: float):
    """``(w * tol, X / tol)`` for features of very different sizes: the lab's call, which
    measures each feature in units of its tolerance."""
    gen = np.random.default_rng(seed)
    tol = 10.0 ** gen.uniform(-3, 2, size=d)
    w = gen.normal(size=d) / tol
    X = gen.normal(size=(n, d)) * tol * 5
    return w * tol, b, X / tol


def _radius_cases() -> list[Case]:
    gen = np.random.default_rng(2)
    w = gen.normal(size=5)
    X = gen.normal(size=(7, 5))
    w2 = np.array([3.0, -4.0])
    X2 = np.array([[1.0, 1.0], [0.0, 0.5], [-2.0, 1.0], [2.0, 0.0]])  # (1, 1) on the boundary
    ws, bs, Xs = _radius_scaled(6, 4, 3, -0.7)
    return [
        Case((w, 0.3, X, "inf"), label="5 features, L-inf"),
        Case((w, 0.3, X, 2), label="5 features, L2"),
        Case((w2, 1.0, X2, "inf"), label="w = (3, -4), b = 1, a point on the boundary, L-inf"),
        Case((w2, 1.0, X2, 2), label="w = (3, -4), b = 1, a point on the boundary, L2"),
        Case((ws, bs, Xs, "inf"),
             label="features in units of their tolerance (w * tol, X / tol), as the lab calls it"),
    ]


def _radius_hidden_cases() -> list[Case]:
    gen = np.random.default_rng(12)
    w = gen.normal(size=8)
    w[2] = 0.0
    X = gen.normal(size=(5, 8))
    w3 = np.array([1.0, 2.0, -2.0])
    X3 = np.array([[2.0, 0.0, 1.0], [1.0, 1.0, 1.0], [-1.0, 0.0, 0.0]])  # (2, 0, 1) on it
    ws, bs, Xs = _radius_scaled(4, 6, 13, 2.5)
    return [
        Case((w, -1.2, X, "inf"), label="8 features, a zero weight, negative b, L-inf"),
        Case((w, -1.2, X, 2), label="8 features, a zero weight, negative b, L2"),
        Case((w3, -1.0, X3, 2), label="w = (1, 2, -2), a point on the boundary, L2"),
        Case((w3, -1.0, X3[1:2], "inf"), label="one row, L-inf"),
        Case((ws, bs, Xs, 2), label="features in units of their tolerance, L2"),
    ]


def _radius_validate(got, case: Case) -> str | None:
    n = len(case.args[2])
    if isinstance(got, torch.Tensor):
        got = got.detach().cpu().numpy()
    try:
        arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return f"return the radii as a NumPy array, got {type(got).__name__}"
    if arr.shape != (n,):
        return (f"return one radius per row of X, shape ({n},); got shape {arr.shape} (the lab "
                "passes it to evasion.certified_accuracy)")
    return None


CERTIFIED_RADIUS = Exercise(
    name="certified_radius",
    reference=certified_radius,
    cases=_radius_cases,
    hidden_cases=_radius_hidden_cases,
    validate=_radius_validate,
    conceal=[evasion.certified_radius],
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


# --- challenge: break a defence that masks gradients -----------------------------------------

#: The challenge's target: the share of held-out digits the student's attack must fool.
CHALLENGE_TARGET: float = 0.8


def break_quantised(system, X: np.ndarray, y: np.ndarray, eps: float) -> np.ndarray:
    """Reference of the challenge: BPDA (Athalye et al., 2018) against ``QuantisedDigits``.

    PGD with a random start, 40 steps of ``eps / 10``, through the CNN behind the rounding
    (``system.cnn.model``): the forward pass rounds the pixels as the defence does, the
    backward pass treats the rounding as the identity (the straight-through estimator).
    Returns the adversarial images (float32, within ``eps`` of ``X`` and in [0, 1]).

    Introduced in lab 02 (Evasion).
    """
    net = system.cnn.model.eval()
    top = system.levels - 1
    X0 = torch.as_tensor(np.asarray(X, dtype=np.float32))
    yt = torch.as_tensor(np.asarray(y, dtype=np.int64))
    gen = torch.Generator().manual_seed(0)
    xa = (X0 + (torch.rand(X0.shape, generator=gen) * 2 - 1) * eps).clamp(0, 1)
    for _ in range(40):
        xa.requires_grad_(True)
        xq = xa + (torch.round(xa * top) / top - xa).detach()  # rounds forward, identity back
        loss = nn.functional.cross_entropy(net(xq), yt)
        (grad,) = torch.autograd.grad(loss, xa)
        xa = torch.min(torch.max(xa.detach() + eps / 10 * grad.sign(), X0 - eps), X0 + eps)
        xa = xa.clamp(0, 1)
    return xa.numpy()


class _CaseCNN:
    """The checks' small digit model behind the course interface that ``QuantisedDigits``
    wraps (a fitted system with ``model``, ``image_shape``, ``n_classes``)."""

    fitted_ = True
    n_classes = 10

    def __init__(self, model: nn.Module, image_shape):
        self.model, self.image_shape = model, tuple(image_shape)

    def predict_proba(self, X):
        with torch.no_grad():
            x = torch.as_tensor(np.asarray(X, dtype=np.float32))
            return torch.softmax(self.model.eval()(x), dim=1).numpy()


@functools.cache
def _challenge_setup(levels: int):
    """The quantised case reader (a copy of the FGSM cases' model, in evaluation mode) and
    the test digits it reads correctly."""
    import copy

    model, X, y, _ = _fgsm_setup()
    net = copy.deepcopy(model).eval()
    system = evasion.QuantisedDigits(_CaseCNN(net, X.shape[1:]), levels=levels)
    X, y = X.numpy(), y.numpy()
    right = system.predict(X) == y
    return system, X[right], y[right]


def _challenge_case(levels: int, rows: slice, eps: float, label: str) -> Case:
    system, X, y = _challenge_setup(levels)
    return Case((system, X[rows].copy(), y[rows].copy(), eps), label=label)


def _challenge_cases() -> list[Case]:
    return [_challenge_case(4, slice(0, 40), 0.3, "40 digits, 4 grey levels, eps 0.3")]


def _challenge_hidden_cases() -> list[Case]:
    return [_challenge_case(4, slice(40, 100), 0.3, "60 held-out digits, 4 levels, eps 0.3"),
            _challenge_case(5, slice(0, 60), 0.3, "60 digits, 5 grey levels, eps 0.3")]


def _challenge_validate(got, case: Case) -> str | None:
    system, X, y, eps = case.args
    if isinstance(got, torch.Tensor):
        return "return a NumPy array (call .detach().numpy() on your tensor)"
    if not isinstance(got, np.ndarray):
        return f"return the adversarial images as a NumPy array, got {type(got).__name__}"
    if got.shape != X.shape:
        return f"the adversarial batch has shape {got.shape}, X has {X.shape}"
    if not np.all(np.isfinite(got)) or got.min() < 0 or got.max() > 1:
        return "adversarial images must stay in [0, 1]"
    if np.abs(got.astype(np.float64) - X).max() > eps + 1e-5:
        return (f"a pixel moved by {np.abs(got - X).max():.3f}, more than eps = {eps}: "
                "project back into the eps-ball")
    fooled = float(np.mean(system.predict(got.astype(np.float32)) != y))
    if fooled < CHALLENGE_TARGET:
        return (f"your attack fools {fooled:.0%} of these digits; the target is "
                f"{CHALLENGE_TARGET:.0%}. The rounding has no gradient: attack the CNN "
                "behind it (system.cnn.model) and treat the rounding as the identity on the "
                "way back (BPDA), or use a black-box attack")
    return None


def _challenge_compare(got, expected) -> bool:
    # The measurement is in _challenge_validate (fooled share against the target): any batch
    # of the right shape that passes it is a correct answer, whatever it looks like.
    return np.shape(got) == np.shape(expected)


BREAK_QUANTISED = Exercise(
    name="break_quantised",
    reference=break_quantised,
    cases=_challenge_cases,
    hidden_cases=_challenge_hidden_cases,
    compare=_challenge_compare,
    validate=_challenge_validate,
    hint="PGD on system.cnn.model with x_q = x + (round(x * L) / L - x).detach() in the "
         "forward pass (L = system.levels - 1): the rounding forward, the identity backward",
    time_limit=20.0,
)


#: Every exercise of this lab, in the order the lab asks them (the tests run each one).
EXERCISES: tuple[Exercise, ...] = (FGSM, CANONICALISE, PROJECT_FRAUD, CERTIFIED_RADIUS,
                                   BREAK_QUANTISED)

__all__ = [
    "BREAK_QUANTISED",
    "CANONICALISE",
    "CHALLENGE_TARGET",
    "CERTIFIED_RADIUS",
    "EXERCISES",
    "FGSM",
    "PROJECT_FRAUD",
    "break_quantised",
    "canonicalise",
    "certified_radius",
    "fgsm",
    "project_fraud",
]
