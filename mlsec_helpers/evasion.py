"""Evasion attacks and robustness defences for the five systems (promoted from lab 02).

Lab 02 (Evasion) attacks every reference system with inputs changed just enough to flip its
decision, then defends it and measures again. What it uses lives here:

* **image**: thin, seeded wrappers around adversarial-robustness-toolbox's FGSM, PGD and
  Square Attack (:func:`art_fgsm`, :func:`art_pgd`, :func:`square_attack`), a reference FGSM in
  torch (:func:`fgsm`), PGD adversarial training (:func:`pgd_adversarial_training`) and the
  checkpointed robust digits CNN (:func:`load_robust_cnn`, trained by
  :func:`train_robust_cnn`);
* **NLP**: black-box character- and word-level attacks on raw strings, greedy on word
  importance under a query budget (:func:`greedy_text_attack`), and the canonicaliser that
  undoes homoglyphs, zero-width characters and leetspeak (:func:`canonicalise`);
* **recommender**: adversarial perturbations of the factor embeddings and adversarial
  personalised ranking training (He et al., SIGIR 2018) for ``systems.MFRecommender``;
* **fraud**: a black-box evasion that changes only what the fraudster controls
  (``fraud_sim.ATTACKER_CONSTRAINTS``), recomputing the history features with
  ``fraud_sim.derive_features``, and its unconstrained counterpart;
* **medical**: perturbations within a measurement tolerance, the exact certified radius of a
  linear model and certified accuracy against radius.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from torch import nn
from tqdm.auto import tqdm

from . import checkpoints, fraud_sim, systems
from .repro import rng as _rng
from .repro import torch_generator
from .validate import check_int

# --- input checks ------------------------------------------------------------------------------


def _check_eps(eps, name: str = "eps") -> float:
    if isinstance(eps, bool) or not isinstance(eps, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number, got {type(eps).__name__}")
    eps = float(eps)
    if not math.isfinite(eps) or eps < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {eps}")
    return eps


_check_positive_int = check_int


def _check_images(x, name: str = "x") -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        x = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a numeric array of images") from None
    if x.ndim != 4 or x.shape[1] != 1:
        raise ValueError(f"{name} must be (n, 1, H, W) images, got shape {x.shape}")
    if not np.all(np.isfinite(x)) or x.min(initial=0) < 0 or x.max(initial=0) > 1:
        raise ValueError(f"{name}: pixels must be finite and lie in [0, 1]")
    return x


def _check_labels(y, n: int, name: str = "y") -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"{name} must be 1-D with one label per input ({n}), got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    return y.astype(np.int64)


def _unknown_name(value, choices, what: str) -> ValueError:
    return ValueError(f"unknown {what} {value!r}; expected one of {sorted(choices, key=str)}")


# --- NLP: character- and word-level attacks on raw strings ------------------------------------
# ART's attacks take numeric arrays, not raw text, and the course's text model is a scikit-learn
# pipeline on strings, so these black-box attacks are written here: they only call the model's
# predict_proba on strings, as a fraudster probing a chatbot's scam filter would.

HOMOGLYPHS: dict[str, str] = {
    "a": "\u0430", "c": "\u0441", "d": "\u0501", "e": "\u0435", "h": "\u04bb", "i": "\u0456",
    "j": "\u0458", "o": "\u043e", "p": "\u0440", "s": "\u0455", "x": "\u0445", "y": "\u0443",
    "A": "\u0410", "B": "\u0412", "C": "\u0421", "E": "\u0415", "H": "\u041d", "I": "\u0406",
    "K": "\u041a", "M": "\u041c", "O": "\u041e", "P": "\u0420", "T": "\u0422", "X": "\u0425",
    "N": "\u039d", "Z": "\u0396",
}
"""The attacker's homoglyphs: Latin letters and the Cyrillic or Greek letters drawn the same.

Introduced in lab 02 (Evasion)."""

CONFUSABLES: dict[str, str] = {
    **{v: k for k, v in HOMOGLYPHS.items()},
    "\u03b1": "a", "\u03bf": "o", "\u03c1": "p", "\u03b9": "i", "\u03ba": "k", "\u03bd": "v",
    "\u03c5": "u", "\u03c7": "x", "\u0391": "A", "\u0392": "B", "\u0395": "E", "\u0397": "H",
    "\u0399": "I", "\u039a": "K", "\u039c": "M", "\u039f": "O", "\u03a1": "P", "\u03a4": "T",
    "\u03a7": "X", "\u03a5": "Y", "\u0585": "o", "\u057d": "u", "\u0570": "h", "\u0261": "g",
    "\u0455": "s", "\u04cf": "l", "\u0131": "i", "\u0269": "i", "\u1d00": "A",
}
"""The defender's confusables map: look-alike characters to the Latin letter they imitate.

A hand-picked subset of Unicode's confusables (UTS #39, ``confusables.txt``) for Latin
letters: the Cyrillic and Greek homoglyphs, a few Armenian and IPA ones. The pinned
environment has no confusables library, so the table is written here; a production filter
would load the full Unicode table. Introduced in lab 02 (Evasion)."""

ZERO_WIDTH: frozenset[str] = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e")
"""Invisible characters that split a word for a tokenizer but not for a reader.

Zero-width space, non-joiner and joiner, word joiner, byte-order mark, soft hyphen, Mongolian
vowel separator. Introduced in lab 02 (Evasion)."""

LEET: dict[str, str] = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
"""The attacker's leetspeak: letters and the digits that stand in for them.

Introduced in lab 02 (Evasion)."""

LEET_FOLD: dict[str, str] = {v: k for k, v in LEET.items()}
"""The defender's leetspeak folding (digits and symbols back to letters) inside words.

Introduced in lab 02 (Evasion)."""

SYNONYMS: dict[str, tuple[str, ...]] = {
    "account": ("profile", "acct", "membership"),
    "verify": ("validate", "check", "re-check"),
    "confirm": ("validate", "re-enter", "check"),
    "suspended": ("on hold", "paused", "disabled"),
    "locked": ("on hold", "paused", "disabled"),
    "restricted": ("limited", "on hold", "paused"),
    "blocked": ("paused", "stopped", "disabled"),
    "frozen": ("paused", "stopped", "on hold"),
    "urgent": ("time-sensitive", "pressing", "important"),
    "immediately": ("right away", "at once", "asap"),
    "now": ("right away", "asap", "at once"),
    "click": ("tap", "press", "open"),
    "link": ("page", "address", "site"),
    "details": ("info", "information", "data"),
    "code": ("passcode", "pin", "number"),
    "security": ("safety", "protection", "safeguarding"),
    "refund": ("reimbursement", "repayment", "money back"),
    "owed": ("entitled to", "getting", "receiving"),
    "claim": ("collect", "get", "receive"),
    "fee": ("charge", "cost", "payment"),
    "payment": ("transfer", "transaction", "debit"),
    "suspicious": ("odd", "strange", "irregular"),
    "unusual": ("odd", "strange", "irregular"),
    "fraud": ("misuse", "abuse", "scam activity"),
    "card": ("debit card", "bank card", "plastic"),
    "identity": ("id", "identification", "credentials"),
    "password": ("passphrase", "login secret", "credentials"),
    "send": ("transfer", "pass", "forward"),
    "move": ("transfer", "shift", "relocate"),
    "savings": ("funds", "money", "balance"),
    "safe": ("secure", "protected", "holding"),
    "parcel": ("package", "delivery", "shipment"),
    "prize": ("reward", "gift", "bonus"),
    "congratulations": ("great news", "well done", "good news"),
    "investment": ("opportunity", "scheme", "plan"),
    "gift": ("voucher", "present", "prepaid"),
    "withdraw": ("take out", "get out", "collect"),
    "cash": ("money", "notes", "funds"),
    "final": ("last", "closing", "ultimate"),
    "notice": ("message", "reminder", "alert"),
    "update": ("refresh", "renew", "change"),
    "login": ("sign-in", "access", "log-on"),
    "bank": ("provider", "lender", "branch"),
}
"""The word-substitution attacker's synonyms (lower-case keys), written for the scam vocabulary.

Introduced in lab 02 (Evasion)."""

CHAR_ATTACKS: tuple[str, ...] = ("homoglyph", "zero_width", "leetspeak", "typo")
"""Names of the character-level perturbations. Introduced in lab 02 (Evasion)."""

TEXT_ATTACKS: tuple[str, ...] = (*CHAR_ATTACKS, "synonym")
"""Names of all text perturbations (character level, then word level). Introduced in lab 02."""

_ALNUM_RE = re.compile(r"[^\W_]+")
_CORE_RE = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)


def _split_core(token: str) -> tuple[str, str, str]:
    m = _CORE_RE.match(token)
    return m.group(1), m.group(2), m.group(3)


def homoglyph(word: str) -> str:
    """Replace every letter of ``word`` that has a homoglyph (:data:`HOMOGLYPHS`).

    Introduced in lab 02 (Evasion).
    """
    return "".join(HOMOGLYPHS.get(ch, ch) for ch in _check_word(word))


def zero_width(word: str) -> str:
    """Put a zero-width space between the characters of ``word`` (invisible to a reader).

    Introduced in lab 02 (Evasion).
    """
    return "\u200b".join(_check_word(word))


def leetspeak(word: str) -> str:
    """Replace the letters of ``word`` that have a leetspeak digit (:data:`LEET`).

    Introduced in lab 02 (Evasion).
    """
    return "".join(LEET.get(ch.lower(), ch) for ch in _check_word(word))


def typo(word: str, seed: int = 0, split: bool = True) -> str:
    """One random edit of ``word``: swap two neighbours, drop or double one, or (``split``)
    split it in two with a space.

    Words of fewer than three characters are returned unchanged. Introduced in lab 02 (Evasion).
    """
    word = _check_word(word)
    pre, core, post = _split_core(word)
    if len(core) < 3:
        return word
    gen = _rng(seed)
    kind = int(gen.integers(4 if split else 3))
    pos = int(gen.integers(1, len(core) - 1))
    if kind == 0:
        core = core[:pos] + core[pos + 1] + core[pos] + core[pos + 2:]
    elif kind == 1:
        core = core[:pos] + core[pos + 1:]
    elif kind == 2:
        core = core[:pos] + core[pos] + core[pos:]
    else:
        core = core[:pos] + " " + core[pos:]
    return pre + core + post


def synonyms(word: str) -> list[str]:
    """Replacements of ``word`` from :data:`SYNONYMS` (punctuation and capitals kept).

    Introduced in lab 02 (Evasion).
    """
    pre, core, post = _split_core(_check_word(word))
    subs = SYNONYMS.get(core.lower(), ())
    if core[:1].isupper():
        subs = tuple(s[:1].upper() + s[1:] for s in subs)
    return [pre + s + post for s in subs]


def _check_word(word) -> str:
    if not isinstance(word, str):
        raise TypeError(f"expected a string, got {type(word).__name__}")
    return word


_LINK_RE = re.compile(r"(://|www\.|@|\.[a-z]{2,}(/|\W*$))", re.I)
_URL_RE = re.compile(r"^(?P<pre>\W*)(?P<scheme>(?:https?://)?(?:www\.)?)(?P<host>[\w.-]+?)"
                     r"(?P<tld>\.[a-z]{2,})(?P<rest>[/?#]\S*?)?(?P<post>[^\w/]*)$", re.I)


def is_link(token: str) -> bool:
    """True for a token that looks like a link or an e-mail address.

    A scam's link must keep working, so the text attacks change only what the fraudster owns:
    the host name (they can register the altered name, an IDN homograph or
    ``l4rkf13ld.example``) and the path on their server, never the scheme or the top-level
    domain, and never with zero-width characters. E-mail addresses are left alone.
    Introduced in lab 02 (Evasion).
    """
    return bool(_LINK_RE.search(_check_word(token)))


def _link_candidates(word: str, attack: str, seed: int) -> list[str]:
    m = _URL_RE.match(word)
    if "@" in word or m is None or attack in ("zero_width", "synonym"):
        return []
    host = m["host"]
    change = {"homoglyph": homoglyph, "leetspeak": leetspeak,
              "typo": lambda h: typo(h, seed, split=False)}[attack]
    rest = m["rest"] or ""
    new_host, new_rest = change(host), (change(rest) if rest else rest)
    if (new_host, new_rest) == (host, rest):
        return []
    return [m["pre"] + m["scheme"] + new_host + m["tld"] + new_rest + m["post"]]


def _candidates(word: str, attack: str, seed: int, n_typos: int = 1) -> list[str]:
    """The perturbed versions of one whitespace-separated token for one attack."""
    if attack not in TEXT_ATTACKS:
        raise _unknown_name(attack, TEXT_ATTACKS, "text attack")
    if is_link(word):
        return _link_candidates(word, attack, seed)
    pre, core, post = _split_core(word)
    if len(core) < 2:
        return []
    if attack == "homoglyph":
        out = [pre + homoglyph(core) + post]
    elif attack == "zero_width":
        out = [pre + zero_width(core) + post]
    elif attack == "leetspeak":
        out = [pre + leetspeak(core) + post]
    elif attack == "typo":
        out = [typo(word, seed + 7919 * k) for k in range(n_typos)]
    elif attack == "synonym":
        out = synonyms(word)
    else:
        raise _unknown_name(attack, TEXT_ATTACKS, "text attack")
    return [c for c in dict.fromkeys(out) if c != word]


def perturb_text(text: str, attack: str, fraction: float = 0.3, seed: int = 0) -> str:
    """Perturb a random ``fraction`` of the words of ``text`` with one attack (no model needed).

    Used for adversarial data augmentation. Introduced in lab 02 (Evasion).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    if attack not in TEXT_ATTACKS:
        raise _unknown_name(attack, TEXT_ATTACKS, "text attack")
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must lie in [0, 1], got {fraction}")
    words = text.split(" ")
    gen = _rng(seed)
    chosen = gen.random(len(words)) < fraction
    for k in np.flatnonzero(chosen):
        cands = _candidates(words[k], attack, seed + 31 * int(k))
        if cands:
            words[k] = cands[int(gen.integers(len(cands)))]
    return " ".join(words)


def fold_leetspeak(text: str) -> str:
    """Fold leetspeak back to letters inside words that mix letters and digits.

    ``v3r1fy`` becomes ``verify``; numbers (``5119``, ``52.26``) and tokens with fewer than two
    letters (``1k``) are left alone. Introduced in lab 02 (Evasion).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")

    def fold(m):
        tok = m.group(0)
        if sum(ch.isalpha() for ch in tok) >= 2 and any(ch in LEET_FOLD for ch in tok):
            return "".join(LEET_FOLD.get(ch, ch) for ch in tok)
        return tok

    return _ALNUM_RE.sub(fold, text)


def canonicalise(text: str) -> str:
    """The input canonicaliser: NFKC, zero-width characters removed, confusables mapped.

    1. ``unicodedata.normalize("NFKC", text)`` folds compatibility characters (full-width
       letters, ligatures, mathematical letters) into plain ones;
    2. every character of :data:`ZERO_WIDTH` is removed;
    3. every character of :data:`CONFUSABLES` is replaced by the Latin letter it imitates.

    Leetspeak folding is a separate step (:func:`fold_leetspeak`), since it can also change
    legitimate text. Introduced in lab 02 (Evasion).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if ch not in ZERO_WIDTH)
    return "".join(CONFUSABLES.get(ch, ch) for ch in text)


def _check_texts(texts) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("texts must be a list of messages, not one string: wrap it in [ ]")
    texts = list(texts)
    if not all(isinstance(t, str) for t in texts):
        raise TypeError("texts must be a sequence of strings")
    return texts


@dataclass
class TextAttackResult:
    """What :func:`greedy_text_attack` did to each message.

    ``adversarial`` holds the final texts, ``evaded`` whether the model's label left the target
    class, ``queries`` the model queries spent per message, ``words_changed`` how many words
    were perturbed, ``p_before``/``p_after`` the target-class probability.

    Introduced in lab 02 (Evasion).
    """

    original: list[str]
    adversarial: list[str]
    evaded: np.ndarray
    queries: np.ndarray
    words_changed: np.ndarray
    p_before: np.ndarray
    p_after: np.ndarray
    attacks: tuple[str, ...] = ()

    @property
    def evasion_rate(self) -> float:
        """Share of the attacked messages that evaded."""
        return float(np.mean(self.evaded)) if len(self.evaded) else 0.0

    def frame(self) -> pd.DataFrame:
        """One row per message: original, adversarial, evaded, queries, words changed."""
        return pd.DataFrame({
            "original": self.original, "adversarial": self.adversarial, "evaded": self.evaded,
            "queries": self.queries, "words changed": self.words_changed,
            "p(target) before": self.p_before, "p(target) after": self.p_after,
        })


def greedy_text_attack(
    predict_proba: Callable[[list[str]], np.ndarray],
    texts: Sequence[str],
    target: int,
    attacks: Sequence[str] | str = CHAR_ATTACKS,
    *,
    query_budget: int = 60,
    max_fraction: float = 1.0,
    seed: int = 0,
    progress: bool | str = True,
) -> TextAttackResult:
    """Black-box greedy evasion of a text classifier, on word importance, under a query budget.

    For each message of ``texts`` (meant to be classified as ``target``):

    1. rank its words by importance: the drop in the ``target`` probability when the word is
       deleted (one query per word);
    2. in that order, try every perturbation of the word that ``attacks`` allow (one query per
       candidate) and keep the one that lowers the ``target`` probability most, if any;
    3. stop as soon as the predicted label is no longer ``target`` (evaded), or when the
       ``query_budget`` is spent or ``max_fraction`` of the words were changed.

    ``predict_proba`` is the only access to the model (strings in, probabilities out). Messages
    are attacked in lock-step, so each round is one batched call. Returns a
    :class:`TextAttackResult`. Introduced in lab 02 (Evasion).
    """
    texts = _check_texts(texts)
    if isinstance(attacks, str):
        attacks = (attacks,)
    attacks = tuple(attacks)
    if not attacks:
        raise ValueError("attacks must name at least one perturbation")
    for a in attacks:
        if a not in TEXT_ATTACKS:
            raise _unknown_name(a, TEXT_ATTACKS, "text attack")
    query_budget = _check_positive_int(query_budget, "query_budget")
    if not 0 < max_fraction <= 1:
        raise ValueError(f"max_fraction must lie in (0, 1], got {max_fraction}")
    target = _check_positive_int(target, "target", minimum=0)
    n = len(texts)
    words = [t.split(" ") for t in texts]
    proba0 = np.asarray(predict_proba(texts))
    if proba0.ndim != 2 or len(proba0) != n or target >= proba0.shape[1]:
        raise ValueError("predict_proba must return (n, n_classes) with target < n_classes")
    queries = np.ones(n, dtype=np.int64)
    p_now = proba0[:, target].copy()
    evaded = proba0.argmax(1) != target
    # 1. word importance by deletion, one batched call.
    batch, owner, pos = [], [], []
    for k, ws in enumerate(words):
        if evaded[k]:
            continue
        for j in range(len(ws)):
            batch.append(" ".join(ws[:j] + ws[j + 1:]))
            owner.append(k)
            pos.append(j)
    order: list[list[int]] = [[] for _ in range(n)]
    if batch:
        p_del = np.asarray(predict_proba(batch))[:, target]
        imp: list[list[tuple[float, int]]] = [[] for _ in range(n)]
        for k, j, p in zip(owner, pos, p_del, strict=True):
            imp[k].append((p_now[k] - p, j))
            queries[k] += 1
        for k in range(n):
            order[k] = [j for _, j in sorted(imp[k], key=lambda t: (-t[0], t[1]))]
    changed = np.zeros(n, dtype=np.int64)
    max_words = [max(1, int(math.floor(max_fraction * len(ws)))) for ws in words]
    cursor = [0] * n
    active = [k for k in range(n) if not evaded[k]]
    bar = tqdm(total=len(active), desc=progress if isinstance(progress, str) else "text attack",
               disable=not progress, leave=False)
    while active:
        batch, owner, cand_word = [], [], []
        for k in active:
            ws = words[k]
            while cursor[k] < len(order[k]):
                j = order[k][cursor[k]]
                cursor[k] += 1
                cands = [c for a in attacks
                         for c in _candidates(ws[j], a, seed + 1009 * k + 17 * j)]
                room = query_budget - queries[k]
                cands = cands[:room]
                if cands:
                    for c in cands:
                        batch.append(" ".join(ws[:j] + [c] + ws[j + 1:]))
                        owner.append(k)
                        cand_word.append((j, c))
                    break
        if not batch:
            break
        proba = np.asarray(predict_proba(batch))
        best: dict[int, tuple[float, int, str, bool]] = {}
        for (j, c), k, row in zip(cand_word, owner, proba, strict=True):
            queries[k] += 1
            p = float(row[target])
            if k not in best or p < best[k][0]:
                best[k] = (p, j, c, bool(row.argmax() != target))
        still = []
        for k in active:
            if k in best and best[k][0] < p_now[k]:
                p, j, c, flipped = best[k]
                words[k][j] = c
                p_now[k] = p
                changed[k] += 1
                evaded[k] = flipped
            done = (evaded[k] or queries[k] >= query_budget or changed[k] >= max_words[k]
                    or cursor[k] >= len(order[k]))
            if done:
                bar.update(1)
            else:
                still.append(k)
        active = still
    bar.close()
    return TextAttackResult(
        original=texts, adversarial=[" ".join(ws) for ws in words], evaded=evaded,
        queries=queries, words_changed=changed, p_before=proba0[:, target], p_after=p_now,
        attacks=attacks,
    )


# --- image: FGSM, PGD and Square Attack on the digits CNN, and PGD adversarial training -------


def fgsm(model: nn.Module, x, y, eps: float) -> torch.Tensor:
    """The fast gradient sign method (Goodfellow et al., 2015), untargeted, L-infinity.

    ``x_adv = clip(x + eps * sign(grad_x loss(model(x), y)), 0, 1)``: one step of size ``eps``
    up the cross-entropy loss in every pixel, then back into the valid pixel range. ``x`` is a
    float tensor (n, 1, H, W) in [0, 1], ``y`` the true labels. Returns a new tensor; the model
    is left in evaluation mode.

    Introduced in lab 02 (Evasion).
    """
    eps = _check_eps(eps)
    x = torch.as_tensor(_check_images(x))
    y = torch.as_tensor(_check_labels(np.asarray(y), len(x)))
    model.eval()
    x = x.clone().requires_grad_(True)
    loss = nn.functional.cross_entropy(model(x), y)
    (grad,) = torch.autograd.grad(loss, x)
    return (x + eps * grad.sign()).clamp(0.0, 1.0).detach()


class _SeededNumpy:
    """Run ART (which draws from NumPy's and torch's global generators) with a seed, then
    restore both generators' states."""

    def __init__(self, seed: int):
        self.seed = seed

    def __enter__(self):
        self.state = np.random.get_state()
        np.random.seed(self.seed)
        torch_state = torch.random.get_rng_state()
        self.torch_state = torch_state
        torch.manual_seed(self.seed)

    def __exit__(self, *exc):
        np.random.set_state(self.state)
        torch.random.set_rng_state(self.torch_state)
        return False


def _check_estimator(estimator):
    from art.estimators.classification.classifier import ClassifierMixin

    if not isinstance(estimator, ClassifierMixin):
        raise TypeError(
            "estimator must be an ART classifier, e.g. DigitsCNN.art_estimator(); got "
            f"{type(estimator).__name__}"
        )
    return estimator


def art_fgsm(estimator, x, y, eps: float, batch_size: int = 256) -> np.ndarray:
    """FGSM with adversarial-robustness-toolbox's ``FastGradientMethod`` (L-infinity).

    ``estimator`` is an ART classifier (``DigitsCNN.art_estimator()``). Returns the adversarial
    images. Introduced in lab 02 (Evasion).
    """
    from art.attacks.evasion import FastGradientMethod

    estimator = _check_estimator(estimator)
    eps = _check_eps(eps)
    x = _check_images(x)
    y = _check_labels(y, len(x))
    if eps == 0:
        return x.copy()
    attack = FastGradientMethod(estimator, norm=np.inf, eps=eps, eps_step=eps,
                                batch_size=batch_size)
    return attack.generate(x, y=np.eye(estimator.nb_classes, dtype=np.float32)[y])


def art_pgd(estimator, x, y, eps: float, steps: int = 40, *, eps_step: float | None = None,
            restarts: int = 1, seed: int = 0, batch_size: int = 256) -> np.ndarray:
    """PGD (Madry et al., 2018) with ART's ``ProjectedGradientDescent``, L-infinity.

    ``steps`` iterations of size ``eps_step`` (default ``2.5 * eps / steps``, at least 0.01)
    from ``restarts`` random starts in the eps-ball (``num_random_init``; 0 starts at ``x``);
    ART keeps, per image, a start that fools the model. Seeded: the same ``seed`` gives the
    same images. Introduced in lab 02 (Evasion).
    """
    from art.attacks.evasion import ProjectedGradientDescent

    estimator = _check_estimator(estimator)
    eps = _check_eps(eps)
    steps = _check_positive_int(steps, "steps")
    restarts = _check_positive_int(restarts, "restarts", minimum=0)
    x = _check_images(x)
    y = _check_labels(y, len(x))
    if eps == 0:
        return x.copy()
    step = max(0.01, 2.5 * eps / steps) if eps_step is None else _check_eps(eps_step, "eps_step")
    attack = ProjectedGradientDescent(
        estimator, norm=np.inf, eps=eps, eps_step=step, max_iter=steps,
        num_random_init=restarts, batch_size=batch_size, verbose=False,
    )
    with _SeededNumpy(seed):
        return attack.generate(x, y=np.eye(estimator.nb_classes, dtype=np.float32)[y])


@dataclass
class SquareResult:
    """Adversarial images from :func:`square_attack` and the queries each image cost.

    ``queries[k]`` counts the candidate images of image ``k`` that the attack sent to the model
    (its clean prediction and the initial stripes included); ``success[k]`` is True when the
    final image is misclassified. Introduced in lab 02 (Evasion).
    """

    x_adv: np.ndarray
    success: np.ndarray
    queries: np.ndarray


class _QueryLog:
    """ART's ``adv_criterion``, recording per image when it was first fooled."""

    def __init__(self, n: int):
        self.first_fooled = np.full(n, -1)
        self.calls = 0

    def __call__(self, y_pred, y):
        fooled = np.argmax(y_pred, axis=1) != np.argmax(y, axis=1)
        if len(fooled) == len(self.first_fooled):  # a call on the whole batch: one per iteration
            new = fooled & (self.first_fooled < 0)
            self.first_fooled[new] = self.calls
            self.calls += 1
        return fooled


def square_attack(estimator, x, y, eps: float, max_iter: int = 200, *, p_init: float = 0.8,
                  seed: int = 0, batch_size: int = 256) -> SquareResult:
    """Score-based black-box Square Attack (Andriushchenko et al., 2020) with ART, L-infinity.

    It needs only the model's output probabilities: each iteration changes one random square of
    the image by +-2 eps (projected back into the eps-ball) and keeps the change if the margin
    loss went down. Returns a :class:`SquareResult` with the query count of every image.
    Introduced in lab 02 (Evasion).
    """
    from art.attacks.evasion import SquareAttack

    estimator = _check_estimator(estimator)
    eps = _check_eps(eps)
    max_iter = _check_positive_int(max_iter, "max_iter")
    x = _check_images(x)
    y = _check_labels(y, len(x))
    log = _QueryLog(len(x))
    attack = SquareAttack(estimator, norm=np.inf, eps=eps, max_iter=max_iter, p_init=p_init,
                          nb_restarts=1, batch_size=batch_size, adv_criterion=log,
                          verbose=False)
    with _SeededNumpy(seed):
        x_adv = attack.generate(x, y=np.eye(estimator.nb_classes, dtype=np.float32)[y])
    pred = estimator.predict(x_adv, batch_size=batch_size).argmax(1)
    success = pred != y
    # Call 0 is the clean prediction, call t >= 1 the check before iteration t: an image first
    # fooled at call t cost t + 1 queries (clean + stripes + t - 1 squares); never fooled: all.
    full = log.calls + 1
    queries = np.where(log.first_fooled >= 0, log.first_fooled + 1, full)
    return SquareResult(x_adv=x_adv, success=success, queries=queries)


def accuracy(estimator_or_system, x, y) -> float:
    """Accuracy of an ART classifier or a course system on (x, y).

    Introduced in lab 02 (Evasion).
    """
    y = np.asarray(y)
    if hasattr(estimator_or_system, "nb_classes"):  # an ART classifier: predict gives scores
        proba = estimator_or_system.predict(x)
    elif hasattr(estimator_or_system, "predict_proba"):
        proba = estimator_or_system.predict_proba(x)
    else:
        raise TypeError("expected an ART classifier or a course system with predict_proba, got "
                        f"{type(estimator_or_system).__name__}")
    proba = np.asarray(proba)
    if proba.ndim != 2 or len(proba) != len(y):
        raise ValueError(f"y must have one label per input ({len(proba)}), got {len(y)}")
    return float((proba.argmax(1) == y).mean())


def pgd_adversarial_training(
    model: nn.Module, X, y, *, eps: float = 0.3, steps: int = 7, epochs: int = 30,
    warmup_epochs: int = 10, batch_size: int = 64, max_lr: float = 2e-3, seed: int = 0,
    progress: bool | str = True,
) -> list[float]:
    """Madry-style PGD adversarial training of a torch image classifier, written out.

    Every batch is replaced by its PGD adversarial version (``steps`` steps of size
    ``2.5 * eps / steps`` from a random start) against the current model, and the model takes
    an Adam step on it. The training eps grows linearly from ``eps / warmup_epochs`` to ``eps``
    over the first ``warmup_epochs`` (small networks trained at eps 0.3 from the start often
    collapse to a constant prediction), and the learning rate follows a one-cycle schedule.

    Written by hand rather than with ART's ``AdversarialTrainerMadryPGD`` because that trainer
    has neither the eps warm-up nor a learning-rate schedule, and draws its random starts from
    NumPy's global generator; this loop takes every random number from ``seed``. Returns the
    mean adversarial loss per epoch. Introduced in lab 02 (Evasion).
    """
    eps = _check_eps(eps)
    steps = _check_positive_int(steps, "steps")
    epochs = _check_positive_int(epochs, "epochs")
    warmup_epochs = _check_positive_int(warmup_epochs, "warmup_epochs", minimum=0)
    X = torch.as_tensor(_check_images(X))
    y = torch.as_tensor(_check_labels(np.asarray(y), len(X)))
    gen = torch_generator(seed)
    opt = torch.optim.Adam(model.parameters(), lr=max_lr / 25)
    n_batches = math.ceil(len(X) / batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr,
                                                total_steps=epochs * n_batches)
    losses = []
    bar = tqdm(range(epochs), desc=progress if isinstance(progress, str) else "PGD training",
               disable=not progress, leave=False)
    for epoch in bar:
        eps_now = eps * min(1.0, (epoch + 1) / warmup_epochs) if warmup_epochs else eps
        alpha = max(0.01, 2.5 * eps_now / steps)
        perm = torch.randperm(len(X), generator=gen)
        total = 0.0
        for start in range(0, len(X), batch_size):
            idx = perm[start:start + batch_size]
            xb, yb = X[idx], y[idx]
            model.eval()
            xa = _pgd_torch(model, xb, yb, eps_now, alpha, steps, gen)
            model.train()
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(xa), yb)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        losses.append(total / len(X))
        bar.set_postfix(loss=f"{losses[-1]:.3f}", eps=f"{eps_now:.2f}")
    model.eval()
    return losses


def _pgd_torch(model, x, y, eps, alpha, steps, gen):
    """L-infinity PGD with a random start, in torch (the inner loop of adversarial training)."""
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        xa = (x + (torch.rand(x.shape, generator=gen) * 2 - 1) * eps).clamp(0, 1)
        for _ in range(steps):
            xa.requires_grad_(True)
            loss = nn.functional.cross_entropy(model(xa), y)
            (grad,) = torch.autograd.grad(loss, xa)
            xa = torch.min(torch.max(xa.detach() + alpha * grad.sign(), x - eps), x + eps)
            xa = xa.clamp(0, 1)
    finally:
        for p in model.parameters():
            p.requires_grad_(True)
    return xa.detach()


ROBUST_CNN_SETTINGS: dict = {"eps": 0.3, "steps": 7, "epochs": 30, "warmup_epochs": 10,
                             "width": 16, "seed": 0}
"""How :func:`train_robust_cnn` trains the checkpointed robust digits CNN (MNIST 5k, seed 0).

Introduced in lab 02 (Evasion)."""


def train_robust_cnn(**overrides) -> dict[str, torch.Tensor]:
    """Train the robust digits CNN: ``SmallCNN`` with PGD adversarial training at eps 0.3.

    The checkpoint trainer of ``robust_digits_cnn`` (see :data:`ROBUST_CNN_SETTINGS`): the
    image dataset's training split for seed 0, one thread, every random number seeded, so the
    same settings give the same weights. About five minutes on one CPU core. ``overrides``
    change settings (the tests train a tiny version with ``dataset="digits_tiny"``).
    Returns the model's ``state_dict``. Introduced in lab 02 (Evasion).
    """
    from .data import load_dataset
    from .repro import cap_threads
    from .systems import SmallCNN

    settings = {**ROBUST_CNN_SETTINGS, "dataset": "image", **overrides}
    unknown = set(settings) - {*ROBUST_CNN_SETTINGS, "dataset"}
    if unknown:
        raise _unknown_name(sorted(unknown)[0], [*ROBUST_CNN_SETTINGS, "dataset"], "setting")
    cap_threads(1)
    torch.use_deterministic_algorithms(True, warn_only=True)
    data = load_dataset(settings["dataset"], seed=settings["seed"])
    torch.manual_seed(settings["seed"])
    model = SmallCNN(image_size=data.X_train.shape[2], width=settings["width"])
    pgd_adversarial_training(
        model, data.X_train, data.y_train, eps=settings["eps"], steps=settings["steps"],
        epochs=settings["epochs"], warmup_epochs=settings["warmup_epochs"],
        seed=settings["seed"], progress="robust CNN (PGD training)",
    )
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


ROBUST_CNN_CHECKPOINT = checkpoints.register(
    "robust_digits_cnn",
    "6f3f7686da7f6f4641365b6f985f2977dbac941865e45beb4a4b38741842a82f",
    "mlsec_helpers.evasion:train_robust_cnn",
    "SmallCNN (width 16) trained with PGD adversarial training at eps 0.3 (L-inf) on the "
    "MNIST 5k training split of seed 0; lab 02 (Evasion)",
)
"""The registered checkpoint of the robust digits CNN. Introduced in lab 02 (Evasion)."""


def load_robust_cnn(name: str = "robust_digits_cnn"):
    """The checkpointed robust digits CNN as a ``systems.DigitsCNN`` (SHA-256 verified).

    Retrain it with ``mlsec_helpers.checkpoints.retrain("robust_digits_cnn")``.
    Introduced in lab 02 (Evasion).
    """
    from .systems import DigitsCNN, SmallCNN

    tensors = checkpoints.load(name)
    width = int(tensors["features.0.weight"].shape[0])
    cnn = DigitsCNN(seed=ROBUST_CNN_SETTINGS["seed"])
    cnn.model = SmallCNN(image_size=28, width=width)
    cnn.model.load_state_dict(tensors)
    cnn.model.eval()
    cnn.image_shape = (1, 28, 28)
    cnn.fitted_ = True
    return cnn


# --- fraud: constrained black-box evasion of the transaction scorer ---------------------------
# ART's evasion attacks perturb feature vectors freely; they know nothing of a card's history,
# of one-hot categories or of payments split over time. The fraudster's real moves (category,
# channel, hour, splitting) are written here, and every candidate transaction gets its history
# features recomputed by fraud_sim.derive_features, so it is a transaction that could happen.

FRAUD_CHANNELS: dict[int, tuple[int, ...]] = {1: (0, 1), 2: (0,), 3: (1,), 4: (1,)}
"""Channels (``is_online`` values) each fraud scenario can use (``ATTACKER_CONSTRAINTS``).

Scenario 1 (stolen card) pays in person or online, 2 (cloned card) in person only, 3 and 4
(card details without the card) online only. Introduced in lab 02 (Evasion)."""

SPLIT_GAP_SECONDS: int = 30 * 60
"""Time between the parts of a split payment (30 minutes). Introduced in lab 02 (Evasion)."""

_DAY_NS = 86_400 * 10**9


def legal_moves(scenario: int) -> list[tuple[str, int]]:
    """The (merchant category, is_online) pairs a fraud of ``scenario`` may use.

    Introduced in lab 02 (Evasion).
    """
    if scenario not in FRAUD_CHANNELS:
        raise _unknown_name(scenario, FRAUD_CHANNELS, "fraud scenario")
    out = []
    for online in FRAUD_CHANNELS[scenario]:
        cats = fraud_sim.ONLINE_CATEGORIES if online else fraud_sim.IN_PERSON_CATEGORIES
        out += [(c, online) for c in fraud_sim.MERCHANT_CATEGORIES if c in cats]
    return out


def split_amounts(amount: float, parts: int, category: str) -> np.ndarray | None:
    """Split ``amount`` into ``parts`` legal amounts that sum to it (cents; tens for cash).

    Returns None when the split is impossible (parts below the smallest legal amount).
    Introduced in lab 02 (Evasion).
    """
    parts = _check_positive_int(parts, "parts")
    unit = 1000 if category == "cash_withdrawal" else 1  # in cents
    total = int(round(float(amount) * 100))
    if total % unit or total // unit < parts:
        return None
    base = (total // unit // parts) * unit
    out = np.full(parts, base, dtype=np.int64)
    out[-1] += total - base * parts
    return out / 100.0


def _check_frame(frame, name="frame") -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    need = ["timestamp", "customer_id", "terminal_id", "amount", "merchant_category",
            "is_online", fraud_sim.TARGET]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks the raw transaction columns {missing}")
    return frame


class _FraudContext:
    """Indexes of the transaction history that candidate transactions are evaluated in."""

    def __init__(self, history: pd.DataFrame):
        h = _check_frame(history, "history").reset_index(drop=True)
        self.h = h
        self.t = pd.to_datetime(h["timestamp"]).to_numpy("datetime64[ns]").astype(np.int64)
        self.cust = h["customer_id"].to_numpy()
        self.term = h["terminal_id"].to_numpy()
        order = np.lexsort((self.t, self.cust))
        self.by_cust = {c: idx for c, idx in zip(*_groups(self.cust, order), strict=True)}
        order = np.lexsort((self.t, self.term))
        self.by_term = {c: idx for c, idx in zip(*_groups(self.term, order), strict=True)}
        self.category = h["merchant_category"].astype(str).to_numpy(dtype=object)
        self.online = h["is_online"].to_numpy(dtype=np.int64)
        terms = pd.DataFrame({"terminal": self.term, "kind": self.category + "|"
                              + self.online.astype(str)})
        per_term = terms.groupby("terminal", sort=True).agg(kind=("kind", "first"),
                                                            n=("kind", "size"))
        self.kind_terminals: dict[str, int] = {}
        for k, grp in per_term.groupby("kind"):
            grp = grp.sort_values("n", kind="stable")
            self.kind_terminals[k] = int(grp.index[len(grp) // 2])  # median-traffic terminal
        self.raw = h

    def terminal_for(self, row_pos: int, category: str, online: int) -> int:
        """The card's own most used terminal of that kind, else a typical one."""
        if (self.category[row_pos], self.online[row_pos]) == (category, online):
            return int(self.term[row_pos])
        rows = self.by_cust[self.cust[row_pos]]
        same = rows[(self.category[rows] == category) & (self.online[rows] == online)]
        if len(same):
            vals, counts = np.unique(self.term[same], return_counts=True)
            return int(vals[np.argmax(counts)])
        return self.kind_terminals[f"{category}|{online}"]


def _groups(keys, order):
    k = keys[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    ends = np.r_[starts[1:], len(k)]
    return k[starts], [order[s:e] for s, e in zip(starts, ends, strict=True)]


def _evaluate_candidates(ctx: _FraudContext, cands: list[dict], features):
    """Feature rows of every candidate (one per part), history features recomputed.

    Each candidate gets private copies of its card's history (under a fresh customer key) and
    of its terminal's last 36 days (under a fresh terminal key), so candidates never see each
    other, and one call of ``fraud_sim.derive_features`` serves them all.
    """
    q_total = len(cands)
    idx, cust_key, term_key, new_rows = [], [], [], []
    for q, c in enumerate(cands):
        r, times = c["row"], c["times"]
        card = ctx.by_cust[ctx.cust[r]]
        card = card[(card != r) & (ctx.t[card] < times[-1])]
        trows = ctx.by_term.get(c["terminal"], np.zeros(0, dtype=np.int64))
        trows = trows[(trows != r) & (ctx.t[trows] >= times[0] - 36 * _DAY_NS)
                      & (ctx.t[trows] < times[-1])]
        idx += [card, trows]
        cust_key += [np.full(len(card), q), np.full(len(trows), q_total + q)]
        term_key += [np.full(len(card), q_total + q), np.full(len(trows), q)]
        new_rows.append((q, times, c["amounts"], c["category"], c["online"]))
    idx = np.concatenate(idx).astype(np.int64)
    k_new = np.array([len(t) for _, t, _, _, _ in new_rows])
    q_new = np.repeat([q for q, *_ in new_rows], k_new)
    h = ctx.raw
    frame = pd.DataFrame({
        "timestamp": np.concatenate([ctx.t[idx]] + [t for _, t, _, _, _ in new_rows]
                                    ).astype("datetime64[ns]"),
        "customer_id": np.concatenate(cust_key + [q_new]).astype(np.int64),
        "terminal_id": np.concatenate(term_key + [q_new]).astype(np.int64),
        "amount": np.concatenate([h["amount"].to_numpy(dtype=np.float64)[idx]]
                                 + [a for _, _, a, _, _ in new_rows]),
        "merchant_category": np.concatenate([
            h["merchant_category"].to_numpy(dtype=object)[idx],
            np.repeat(np.array([c for *_, c, _ in new_rows], dtype=object), k_new)]),
        "is_online": np.concatenate([h["is_online"].to_numpy()[idx],
                                     np.repeat([o for *_, o in new_rows], k_new)]
                                    ).astype(np.int64),
        fraud_sim.TARGET: np.concatenate([h[fraud_sim.TARGET].to_numpy()[idx],
                                          np.ones(k_new.sum(), dtype=np.int64)]),
    })
    frame = fraud_sim.derive_features(frame)
    X = features(frame)
    first = len(idx)
    bounds = first + np.concatenate([[0], np.cumsum(k_new)])
    return ([X[bounds[j]:bounds[j + 1]] for j in range(q_total)],
            [(frame, bounds[j], bounds[j + 1]) for j in range(q_total)])


def fraud_features(frame: pd.DataFrame) -> np.ndarray:
    """The baseline scorer's inputs: ``fraud_sim.FEATURES`` of every row, as float32.

    Introduced in lab 02 (Evasion).
    """
    return frame[list(fraud_sim.FEATURES)].to_numpy(dtype=np.float32)


ROBUST_FRAUD_FEATURES: tuple[str, ...] = ("cust_amount_24h", "cust_amount_24h_to_mean_30d")
"""Extra features that splitting a payment cannot lower (the defence of lab 02).

``cust_amount_24h``: the card's total spent in the 24 hours up to and including this
transaction; ``cust_amount_24h_to_mean_30d``: that total over the card's 30-day mean amount
(1 when there is no history). Introduced in lab 02 (Evasion)."""


def robust_fraud_features(frame: pd.DataFrame) -> np.ndarray:
    """``fraud_sim.FEATURES`` plus :data:`ROBUST_FRAUD_FEATURES`, computed from raw columns.

    The history features must be current (run ``fraud_sim.derive_features`` first).
    Introduced in lab 02 (Evasion).
    """
    _check_frame(frame)
    t = pd.to_datetime(frame["timestamp"]).to_numpy("datetime64[ns]").astype(np.int64)
    cust = pd.factorize(frame["customer_id"])[0].astype(np.int64)
    amount = frame["amount"].to_numpy(dtype=np.float64)
    order = np.lexsort((t, cust))
    key_t = t[order] - t.min()
    span = int(key_t.max()) + 2 * _DAY_NS + 1
    key = cust[order] * span + key_t
    cs = np.concatenate([[0.0], np.cumsum(amount[order])])
    hi = np.searchsorted(key, key, side="right")
    lo = np.searchsorted(key, key - _DAY_NS, side="left")
    total = np.empty(len(t))
    total[order] = cs[hi] - cs[lo]
    mean30 = frame["cust_mean_amount_30d"].to_numpy(dtype=np.float64)
    ratio = np.where(mean30 > 0, total / np.where(mean30 > 0, mean30, 1.0), 1.0)
    return np.column_stack([fraud_features(frame), total, ratio]).astype(np.float32)


@dataclass
class FraudAttackResult:
    """The outcome of :func:`constrained_fraud_attack` for each attacked fraud.

    ``plan`` has one row per fraud: the chosen category, channel, hour and number of parts,
    the score before and after, whether it evaded, the queries spent (one per scored part)
    and whether every part passes ``fraud_sim.check_constraints``. ``transactions`` holds the
    final transactions (all parts, ``attack_target`` naming the fraud) with their recomputed
    features, and ``X_adv`` the model inputs of those rows (for adversarial training).

    Introduced in lab 02 (Evasion).
    """

    plan: pd.DataFrame
    transactions: pd.DataFrame
    X_adv: np.ndarray | None = None

    @property
    def evasion_rate(self) -> float:
        """Share of the attacked frauds whose every part scores below the threshold."""
        return float(self.plan["evaded"].mean()) if len(self.plan) else 0.0


def constrained_fraud_attack(
    predict_fraud: Callable[[np.ndarray], np.ndarray],
    history: pd.DataFrame,
    targets: Sequence[int],
    threshold: float,
    *,
    features: Callable[[pd.DataFrame], np.ndarray] = fraud_features,
    max_parts: int = 10,
    passes: int = 2,
    query_budget: int = 400,
    progress: bool | str = True,
) -> FraudAttackResult:
    """Black-box evasion of a fraud scorer that only uses the fraudster's legal moves.

    For each row position in ``targets`` (frauds of ``history``, the full transaction frame
    with raw columns and ``fraud_scenario``), a greedy coordinate search over what the
    fraudster controls (``fraud_sim.ATTACKER_CONSTRAINTS``): the merchant category and channel
    (legal for the scenario, see :func:`legal_moves`; a new category means another terminal),
    the time (a delay of 0-23 hours, which sets the hour: a fraudster can wait, but cannot pay
    before they hold the card) and splitting the payment into up to ``max_parts`` parts 30
    minutes apart (:func:`split_amounts`; the total stays). Every candidate is inserted into
    the card's and the terminal's real history and its history features are recomputed with
    ``fraud_sim.derive_features``; ``features`` turns that frame into the model's inputs and
    ``predict_fraud`` scores them (probability of fraud). A fraud evades when every part
    scores below ``threshold``. Each pass tries every value of one move at a time and keeps
    the best (lowest highest-part score); each scored part costs one query, up to
    ``query_budget`` per fraud. Returns a :class:`FraudAttackResult`.

    Introduced in lab 02 (Evasion).
    """
    ctx = _FraudContext(history)
    if "fraud_scenario" not in ctx.h.columns:
        raise ValueError("history needs the fraud_scenario column (which moves are legal)")
    targets = np.asarray(targets)
    if targets.ndim != 1 or not np.issubdtype(targets.dtype, np.integer):
        raise TypeError("targets must be a 1-D array of integer row positions of history")
    if len(targets) and (targets.min() < 0 or targets.max() >= len(ctx.h)):
        raise ValueError(f"targets must be row positions in 0..{len(ctx.h) - 1}")
    scen = ctx.h["fraud_scenario"].to_numpy()[targets] if len(targets) else np.zeros(0)
    if np.any(scen == 0):
        raise ValueError("targets must be frauds (fraud_scenario 1-4), not legitimate rows")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must lie in (0, 1), got {threshold}")
    max_parts = _check_positive_int(max_parts, "max_parts")
    passes = _check_positive_int(passes, "passes")
    query_budget = _check_positive_int(query_budget, "query_budget")
    h = ctx.h
    state = []
    for r in targets:
        r = int(r)
        t0 = int(ctx.t[r])
        state.append({
            "row": r, "scenario": int(h.at[r, "fraud_scenario"]),
            "category": str(h.at[r, "merchant_category"]), "online": int(h.at[r, "is_online"]),
            "delay": 0, "parts": 1,
            "amount": float(h.at[r, "amount"]), "t0": t0, "queries": 0, "score": np.inf,
            "evaded": False, "rows": None,
        })

    def candidate(s, **change):
        c = {**s, **change}
        amounts = split_amounts(c["amount"], c["parts"], c["category"])
        if amounts is None:
            return None
        start = c["t0"] + c["delay"] * 3_600_000_000_000
        times = start + np.arange(c["parts"], dtype=np.int64) * SPLIT_GAP_SECONDS * 10**9
        return {"row": c["row"], "times": times, "amounts": amounts,
                "category": c["category"], "online": c["online"],
                "terminal": ctx.terminal_for(c["row"], c["category"], c["online"]),
                "change": change}

    def run_round(options_of):
        cands, owner = [], []
        for k, s in enumerate(state):
            if s["evaded"] or s["queries"] >= query_budget:
                continue
            for change in options_of(s):
                c = candidate(s, **change)
                if c is not None and s["queries"] + len(c["amounts"]) <= query_budget:
                    cands.append(c)
                    owner.append(k)
                    s["queries"] += len(c["amounts"])
        if not cands:
            return
        X, rows = _evaluate_candidates(ctx, cands, features)
        flat = np.asarray(predict_fraud(np.vstack(X)))
        bounds = np.cumsum([0] + [len(x) for x in X])
        for j, (c, k) in enumerate(zip(cands, owner, strict=True)):
            worst = float(flat[bounds[j]:bounds[j + 1]].max())
            s = state[k]
            if worst < s["score"]:
                s.update(c["change"])
                s["score"], s["rows"], s["X"] = worst, rows[j], X[j]
                s["evaded"] = worst < threshold

    # The transaction as it happened is the first candidate.
    run_round(lambda s: [{}])
    before = [s["score"] for s in state]
    moves = [
        lambda s: [{"category": c, "online": o} for c, o in legal_moves(s["scenario"])],
        lambda s: [{"delay": hours} for hours in range(24)],
        lambda s: [{"parts": p} for p in range(1, max_parts + 1)],
    ]
    bar = tqdm(total=passes * len(moves), desc=progress if isinstance(progress, str)
               else "fraud attack", disable=not progress, leave=False)
    for _ in range(passes):
        for options in moves:
            run_round(options)
            bar.update(1)
    bar.close()
    parts = []
    for k, s in enumerate(state):
        if s["rows"] is not None:
            frame, lo, hi = s["rows"]
            parts.append(frame.iloc[lo:hi].assign(attack_target=int(targets[k]),
                                          customer_id=h.at[s["row"], "customer_id"],
                                          terminal_id=ctx.terminal_for(
                                              s["row"], s["category"], s["online"])))
    transactions = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    X_adv = np.vstack([s["X"] for s in state if s["rows"] is not None]) if parts else None
    if len(transactions):
        valid = fraud_sim.check_constraints(transactions).groupby(
            transactions["attack_target"]).all()
    else:
        valid = pd.Series(dtype=bool)
    plan = pd.DataFrame({
        "row": targets, "scenario": [s["scenario"] for s in state],
        "category": [s["category"] for s in state], "online": [s["online"] for s in state],
        "delay (h)": [s["delay"] for s in state], "parts": [s["parts"] for s in state],
        "amount": [s["amount"] for s in state], "score before": before,
        "score after": [s["score"] for s in state], "evaded": [s["evaded"] for s in state],
        "queries": [s["queries"] for s in state],
        "valid": [bool(valid.get(int(r), False)) for r in targets],
    })
    return FraudAttackResult(plan=plan, transactions=transactions, X_adv=X_adv)


@dataclass
class UnconstrainedResult:
    """The outcome of :func:`unconstrained_fraud_attack`: adversarial feature rows and more.

    ``X_adv`` the final feature rows, ``evaded`` per fraud, ``queries`` per fraud, ``changed``
    the names of the features the attack moved. Introduced in lab 02 (Evasion).
    """

    X_adv: np.ndarray
    evaded: np.ndarray
    queries: np.ndarray
    changed: list[list[str]]

    @property
    def evasion_rate(self) -> float:
        """Share of the attacked frauds that scored below the threshold in the end."""
        return float(np.mean(self.evaded)) if len(self.evaded) else 0.0


def unconstrained_fraud_attack(
    predict_fraud: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    threshold: float,
    grid_from: np.ndarray,
    *,
    feature_names: Sequence[str] = fraud_sim.FEATURES,
    n_values: int = 11,
    passes: int = 2,
    query_budget: int = 400,
) -> UnconstrainedResult:
    """The same greedy black-box search as :func:`constrained_fraud_attack`, on raw features.

    It ignores what the fraudster controls: each move sets one feature of the row to one of
    ``n_values`` quantiles of that feature in ``grid_from`` (legitimate transactions, so each
    value on its own looks ordinary) and keeps the best move; passes repeat over all features.
    Nothing ties the features together, so a "success" is often a transaction that cannot
    exist: count them with ``fraud_sim.check_constraints`` (:func:`impossible_transactions`).
    Introduced in lab 02 (Evasion).
    """
    X = np.asarray(X, dtype=np.float32)
    grid_from = np.asarray(grid_from, dtype=np.float32)
    if X.ndim != 2 or grid_from.ndim != 2 or X.shape[1] != grid_from.shape[1]:
        raise ValueError(f"X and grid_from must be 2-D with the same columns, got {X.shape} "
                         f"and {grid_from.shape}")
    if len(feature_names) != X.shape[1]:
        raise ValueError(f"{len(feature_names)} feature names for {X.shape[1]} columns")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must lie in (0, 1), got {threshold}")
    n_values = _check_positive_int(n_values, "n_values", minimum=2)
    passes = _check_positive_int(passes, "passes")
    query_budget = _check_positive_int(query_budget, "query_budget")
    grids = [np.unique(np.quantile(grid_from[:, j], np.linspace(0, 1, n_values)))
             for j in range(X.shape[1])]
    X_adv = X.copy()
    score = np.asarray(predict_fraud(X_adv), dtype=float)
    queries = np.ones(len(X), dtype=np.int64)
    for _ in range(passes):
        for j, grid in enumerate(grids):
            active = np.flatnonzero((score >= threshold) & (queries + len(grid) <= query_budget))
            if not len(active):
                break
            cand = np.repeat(X_adv[active], len(grid), axis=0)
            cand[:, j] = np.tile(grid, len(active))
            s = np.asarray(predict_fraud(cand), dtype=float).reshape(len(active), len(grid))
            queries[active] += len(grid)
            best = s.argmin(1)
            better = s[np.arange(len(active)), best] < score[active]
            rows = active[better]
            X_adv[rows, j] = grid[best[better]]
            score[rows] = s[np.arange(len(active)), best][better]
    changed = [[feature_names[j] for j in np.flatnonzero(X_adv[k] != X[k])]
               for k in range(len(X))]
    return UnconstrainedResult(X_adv=X_adv, evaded=score < threshold, queries=queries,
                               changed=changed)


def impossible_transactions(X_adv: np.ndarray, originals: pd.DataFrame) -> pd.DataFrame:
    """Which attacked rows are impossible: ``check_constraints`` fails, or a feature the
    fraudster does not control (``ATTACKER_CONSTRAINTS``) was moved.

    ``originals`` are the transactions as they happened (raw columns included, one per row of
    ``X_adv``, in ``fraud_sim.FEATURES`` order). Returns one row per transaction with the
    columns ``fails_check_constraints``, ``moves_uncontrolled_feature`` and ``impossible``.
    Introduced in lab 02 (Evasion).
    """
    X_adv = np.asarray(X_adv, dtype=np.float64)
    if not isinstance(originals, pd.DataFrame):
        raise TypeError("originals must be the DataFrame of the original transactions")
    names = list(fraud_sim.FEATURES)
    if X_adv.ndim != 2 or X_adv.shape != (len(originals), len(names)):
        raise ValueError(f"X_adv must be ({len(originals)}, {len(names)}), got {X_adv.shape}")
    attacked = originals.copy()
    before = originals[names].to_numpy(dtype=np.float64)
    # float32 feature matrices round amounts off whole cents: only what the attack changed
    # (beyond float32 rounding) replaces the original value.
    changed = ~np.isclose(X_adv, before, rtol=1e-6, atol=1e-6)
    for j, name in enumerate(names):
        attacked[name] = np.where(changed[:, j], X_adv[:, j], before[:, j])
    fails = ~fraud_sim.check_constraints(attacked).to_numpy()
    fixed = np.array([not fraud_sim.ATTACKER_CONSTRAINTS[n]["controllable"] for n in names])
    moved = changed[:, fixed].any(1)
    return pd.DataFrame({"fails_check_constraints": fails, "moves_uncontrolled_feature": moved,
                         "impossible": fails | moved}, index=originals.index)


# --- recommender: adversarial perturbations of the factor embeddings (APR) -------------------
# ART has no recommender attacks; adversarial personalised ranking (He et al., SIGIR 2018) is
# a few lines on top of the torch factorisation, written here.


def _bpr_triples(train_pairs, train_ratings, n_items, like_threshold, seed):
    pairs = np.asarray(train_pairs)
    liked = np.asarray(train_ratings) >= like_threshold
    u = torch.as_tensor(pairs[liked, 0])
    i = torch.as_tensor(pairs[liked, 1])
    j = torch.randint(0, n_items, (len(u),), generator=torch_generator(seed))
    return u, i, j


def _row_unit(g: torch.Tensor) -> torch.Tensor:
    n = g.norm(dim=1, keepdim=True)
    return torch.where(n > 0, g / n.clamp_min(1e-12), torch.zeros_like(g))


def _bpr_loss(mf, u, i, j, dP=None, dQ=None, reduction="mean"):
    P, Q = mf.P.weight, mf.Q.weight
    if dP is not None:
        P, Q = P + dP, Q + dQ
    diff = mf.bi.weight[i, 0] - mf.bi.weight[j, 0] + (P[u] * (Q[i] - Q[j])).sum(1)
    loss = -nn.functional.logsigmoid(diff)
    return loss.mean() if reduction == "mean" else loss.sum()


def embedding_attack(recommender, train_pairs, train_ratings, *, like_threshold: float = 4.0,
                     seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The adversarial direction for the user (P) and item (Q) embeddings of an MF model.

    As in adversarial personalised ranking (He et al., 2018): the gradient of the pairwise
    ranking (BPR) loss over (user, liked training item, random item) triples, normalised per
    embedding row and scaled by that row's own norm, so ``P + eps * dP`` moves each user's
    vector by ``eps`` times its length in the direction that hurts the ranking most (to first
    order). Returns ``(dP, dQ)``. Introduced in lab 02 (Evasion).
    """
    mf = _mf_module(recommender)
    u, i, j = _bpr_triples(train_pairs, train_ratings, mf.Q.num_embeddings, like_threshold, seed)
    dP = torch.zeros_like(mf.P.weight, requires_grad=True)
    dQ = torch.zeros_like(mf.Q.weight, requires_grad=True)
    loss = _bpr_loss(mf, u, i, j, dP, dQ, reduction="sum")
    gP, gQ = torch.autograd.grad(loss, [dP, dQ])
    with torch.no_grad():
        return (_row_unit(gP) * mf.P.weight.norm(dim=1, keepdim=True),
                _row_unit(gQ) * mf.Q.weight.norm(dim=1, keepdim=True))


def _mf_module(recommender):
    mf = getattr(recommender, "model", None)
    if mf is None or not all(hasattr(mf, a) for a in ("P", "Q", "bu", "bi", "mu")):
        raise TypeError("expected a fitted systems.MFRecommender (with .model holding P, Q, "
                        f"bu, bi, mu), got {type(recommender).__name__}")
    return mf


@torch.no_grad()
def perturbed_scores(recommender, dP: torch.Tensor, dQ: torch.Tensor, eps: float) -> np.ndarray:
    """Predicted ratings of every (user, item) with the embeddings moved by ``eps * (dP, dQ)``.

    Introduced in lab 02 (Evasion).
    """
    mf = _mf_module(recommender)
    eps = _check_eps(eps)
    if dP.shape != mf.P.weight.shape or dQ.shape != mf.Q.weight.shape:
        raise ValueError("dP and dQ must have the shapes of the model's P and Q embeddings")
    P = mf.P.weight + eps * dP
    Q = mf.Q.weight + eps * dQ
    return (mf.mu + mf.bu.weight + mf.bi.weight.T + P @ Q.T).cpu().numpy()


def ranking_under_attack(recommender, data, eps_values: Sequence[float], *, seed: int = 0,
                         k: int = 10) -> pd.DataFrame:
    """HR@k and NDCG@k of the recommender for each perturbation size in ``eps_values``.

    ``data`` is the recommender dataset (``load_dataset("recommender")``); the attack
    direction comes from :func:`embedding_attack` on the model itself (white box).
    Introduced in lab 02 (Evasion).
    """
    eps_values = [_check_eps(e) for e in eps_values]
    dP, dQ = embedding_attack(recommender, data.X_train, data.y_train, seed=seed)
    rows = []
    for eps in eps_values:
        q = systems.ranking_metrics(perturbed_scores(recommender, dP, dQ, eps), data.X_train,
                            data.X_test, data.y_test, k=k)
        rows.append({"eps": eps, f"hr@{k}": q[f"hr@{k}"], f"ndcg@{k}": q[f"ndcg@{k}"]})
    return pd.DataFrame(rows)


def apr_training(recommender, X, y, *, eps: float = 0.3, reg_adv: float = 1.0,
                 epochs: int = 10, lr: float = 0.005, like_threshold: float = 4.0,
                 seed: int = 0, progress: bool | str = True):
    """Adversarial personalised ranking: fine-tune a copy of a fitted MF recommender.

    Each batch minimises the recommender's own loss (squared rating error plus its weight
    decay) plus ``reg_adv`` times the pairwise ranking (BPR) loss of the batch's liked pairs
    under the worst-case embedding perturbation of relative size ``eps``, found by one
    normalised gradient step (the fast-gradient inner step of He et al., 2018). With
    ``eps=0`` it is the same fine-tuning without an adversary (the control). Returns the new
    recommender; the original is left alone. Introduced in lab 02 (Evasion).
    """
    import copy

    mf0 = _mf_module(recommender)
    eps = _check_eps(eps)
    epochs = _check_positive_int(epochs, "epochs")
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != 2 or len(X) != len(y):
        raise ValueError("X must be (n, 2) (user, item) pairs with one rating in y per row")
    rec = copy.deepcopy(recommender)
    mf = rec.model
    mf.load_state_dict(mf0.state_dict())
    mf.train()
    u = torch.as_tensor(X[:, 0])
    i = torch.as_tensor(X[:, 1])
    r = torch.as_tensor(np.asarray(y, dtype=np.float32))
    gen = torch_generator(seed)
    opt = torch.optim.Adam(mf.parameters(), lr=lr)
    n_items = mf.Q.num_embeddings
    bs = recommender.batch_size
    for _ in tqdm(range(epochs), desc=progress if isinstance(progress, str) else "APR training",
                  disable=not progress, leave=False):
        perm = torch.randperm(len(u), generator=gen)
        for s in range(0, len(u), bs):
            idx = perm[s:s + bs]
            ub, ib, rb = u[idx], i[idx], r[idx]
            opt.zero_grad()
            err = nn.functional.mse_loss(mf(ub, ib), rb)
            reg = recommender.weight_decay * (
                mf.P(ub).pow(2).sum(1) + mf.Q(ib).pow(2).sum(1)).mean() + \
                recommender.bias_decay * (mf.bu(ub).pow(2).sum(1) + mf.bi(ib).pow(2).sum(1)).mean()
            like = rb >= like_threshold
            lu, li = ub[like], ib[like]
            lj = torch.randint(0, n_items, (len(lu),), generator=gen)
            Pu, Qi, Qj = mf.P(lu), mf.Q(li), mf.Q(lj)
            if eps > 0:
                d = [torch.zeros_like(t, requires_grad=True) for t in (Pu, Qi, Qj)]
                diff = (mf.bi(li)[:, 0] - mf.bi(lj)[:, 0]
                        + ((Pu.detach() + d[0]) * (Qi.detach() + d[1] - Qj.detach() - d[2])).sum(1))
                g = torch.autograd.grad(-nn.functional.logsigmoid(diff).sum(), d)
                Pu = Pu + eps * _row_unit(g[0]) * Pu.detach().norm(dim=1, keepdim=True)
                Qi = Qi + eps * _row_unit(g[1]) * Qi.detach().norm(dim=1, keepdim=True)
                Qj = Qj + eps * _row_unit(g[2]) * Qj.detach().norm(dim=1, keepdim=True)
            diff = mf.bi(li)[:, 0] - mf.bi(lj)[:, 0] + (Pu * (Qi - Qj)).sum(1)
            adv = -nn.functional.logsigmoid(diff).mean()
            (err + reg + reg_adv * adv).backward()
            opt.step()
    mf.eval()
    return rec


# --- medical: measurement tolerance, exact certified radius, robust logistic regression ------


def measurement_tolerance(X_train, relative: float = 0.05) -> np.ndarray:
    """A per-feature measurement tolerance: ``relative`` times each feature's training median.

    Every one of WDBC's 30 numbers is measured from a digitised biopsy image; a few per cent
    of error in segmentation or focus moves them all. Introduced in lab 02 (Evasion).
    """
    X_train = np.asarray(X_train, dtype=np.float64)
    if X_train.ndim != 2 or len(X_train) == 0:
        raise ValueError(f"X_train must be a non-empty 2-D array, got shape {X_train.shape}")
    relative = _check_eps(relative, "relative")
    return relative * np.abs(np.median(X_train, axis=0))


def linear_decision(system) -> tuple[np.ndarray, float]:
    """``(w, b)`` with ``decision(x) = w @ x + b`` on raw features, for a scaled linear model.

    Works for ``systems.DiagnosisModel()`` (StandardScaler + LogisticRegression) and for a
    bare binary linear classifier with ``coef_``. Introduced in lab 02 (Evasion).
    """
    est = getattr(system, "estimator", system)
    steps = getattr(est, "steps", None)
    scaler, lin = (steps[0][1], steps[-1][1]) if steps else (None, est)
    coef = getattr(lin, "coef_", None)
    if coef is None or np.shape(coef)[0] != 1:
        raise TypeError("expected a fitted binary linear classifier (coef_ of shape (1, d))")
    w = np.asarray(coef[0], dtype=np.float64)
    b = float(np.asarray(lin.intercept_).ravel()[0])
    if scaler is not None:
        b -= float(np.sum(w * scaler.mean_ / scaler.scale_))
        w = w / scaler.scale_
    return w, b


_DUAL = {"inf": 1, 2: 2, "2": 2, 1: np.inf, "1": np.inf}


def certified_radius(w, b, X, norm="inf", scale=None) -> np.ndarray:
    """The exact certified radius of a linear classifier ``sign(w @ x + b)`` at each row of X.

    No perturbation ``delta`` with ``||delta / scale||_p < r`` can change the decision, and
    one of size ``r`` can: ``r = |w @ x + b| / ||w * scale||_q`` with ``q`` the dual norm of
    ``p`` (L-inf -> L1, L2 -> L2, L1 -> L-inf). ``scale`` (default 1) measures each feature
    in its own unit, such as its measurement tolerance. Introduced in lab 02 (Evasion).
    """
    key = "inf" if norm in (np.inf, "inf") else norm
    if key not in _DUAL:
        raise _unknown_name(norm, ["inf", 2, 1], "norm")
    w = np.asarray(w, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    if w.ndim != 1 or X.ndim != 2 or X.shape[1] != len(w):
        raise ValueError(f"w must be (d,) and X (n, d); got {w.shape} and {X.shape}")
    s = np.ones_like(w) if scale is None else np.asarray(scale, dtype=np.float64)
    if s.shape != w.shape or np.any(s < 0):
        raise ValueError("scale must hold one non-negative number per feature")
    dual = np.linalg.norm(w * s, ord=_DUAL[key])
    if dual == 0:
        return np.full(len(X), np.inf)
    return np.abs(X @ w + float(b)) / dual


def worst_case_linear(w, b, X, y, tolerance) -> np.ndarray:
    """The strongest perturbation within ``|delta_i| <= tolerance_i`` against a linear model.

    Every feature moves by its full tolerance against the true class ``y`` (1 or 0):
    ``x - (2y - 1) * sign(w) * tolerance``. For a linear model this is exactly the worst case
    (FGSM computes the same direction from the gradient). Introduced in lab 02 (Evasion).
    """
    w = np.asarray(w, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    y = _check_labels(np.asarray(y), len(X))
    tol = np.asarray(tolerance, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != len(w) or tol.shape != w.shape:
        raise ValueError("X must be (n, d) and w and tolerance (d,)")
    if np.any(tol < 0):
        raise ValueError("tolerance must be >= 0 for every feature")
    direction = np.where(y == 1, -1.0, 1.0)[:, None] * np.sign(w)[None, :]
    return X + direction * tol[None, :]


def certified_accuracy(radius, correct, radii) -> np.ndarray:
    """Share of inputs that are correct AND certified beyond each radius in ``radii``.

    Introduced in lab 02 (Evasion).
    """
    radius = np.asarray(radius, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    if radius.shape != correct.shape or radius.ndim != 1:
        raise ValueError("radius and correct must be 1-D and of the same length")
    return np.array([float(np.mean(correct & (radius > r))) for r in np.atleast_1d(radii)])


def robust_logistic_regression(X, y, tolerance, rho: float = 1.0, C: float = 1.0):
    """Adversarial training of a logistic regression, exactly, for box perturbations.

    For a linear model the inner maximisation of adversarial training has a closed form: the
    worst perturbation with ``|delta_i| <= rho * tolerance_i`` lowers the margin by
    ``rho * sum_i |w_i| tolerance_i``. So training on every patient's worst case is minimising
    ``log(1 + exp(-(y' (w @ z + b) - rho * sum |w_i| tol_i / sd_i))) + ||w||^2 / (2C)`` on
    standardised features ``z`` (``y'`` = +-1), done here with L-BFGS in torch (neither
    scikit-learn nor ART has it). Returns a ``systems.SklearnSystem`` (StandardScaler +
    LogisticRegression carrying the robust weights), a drop-in for ``DiagnosisModel``.
    Introduced in lab 02 (Evasion).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from .systems import SklearnSystem

    X = np.asarray(X, dtype=np.float64)
    y = _check_labels(np.asarray(y), len(X))
    tol = np.asarray(tolerance, dtype=np.float64)
    if X.ndim != 2 or tol.shape != (X.shape[1],):
        raise ValueError("X must be (n, d) and tolerance (d,)")
    if np.any(tol < 0):
        raise ValueError("tolerance must be >= 0 for every feature")
    rho = _check_eps(rho, "rho")
    if C <= 0:
        raise ValueError(f"C must be > 0, got {C}")
    if set(np.unique(y)) != {0, 1}:
        raise ValueError("y must hold both classes 0 and 1")
    scaler = StandardScaler().fit(X)
    Z = torch.as_tensor(scaler.transform(X))
    t = torch.as_tensor(np.where(y == 1, 1.0, -1.0))
    ts = torch.as_tensor(tol / scaler.scale_)
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=1000, tolerance_grad=1e-10,
                            tolerance_change=1e-14, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        margin = t * (Z @ w + b) - rho * (w.abs() * ts).sum()
        loss = nn.functional.softplus(-margin).sum() + 0.5 / C * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    lr = LogisticRegression(C=C)
    lr.classes_ = np.array([0, 1])
    lr.coef_ = w.detach().numpy()[None, :].copy()
    lr.intercept_ = b.detach().numpy().copy()
    lr.n_features_in_ = X.shape[1]
    system = SklearnSystem(Pipeline([("scale", scaler), ("lr", lr)]), domain="medical")
    system.n_classes, system.n_features_, system.fitted_ = 2, X.shape[1], True
    return system


# --- NLP defence: canonicalisation in the pipeline, adversarial data augmentation ------------


class CanonicalisingTransformer(TransformerMixin, BaseEstimator):
    """A scikit-learn step that canonicalises every message before the vectoriser.

    ``fn`` maps one string to its canonical form (default: :func:`canonicalise` then
    :func:`fold_leetspeak`). Introduced in lab 02 (Evasion).
    """

    def __init__(self, fn: Callable[[str], str] | None = None):
        self.fn = fn

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        fn = self.fn or (lambda t: fold_leetspeak(canonicalise(t)))
        return [fn(t) for t in _check_texts(X)]


def defended_text_triage(fn: Callable[[str], str] | None = None):
    """The NLP system with the defence: canonicalisation, then the baseline TF-IDF + LR.

    Returns an unfitted ``systems.SklearnSystem`` on raw strings (fit it on augmented data,
    see :func:`augment_texts`). Introduced in lab 02 (Evasion).
    """
    from sklearn.pipeline import Pipeline

    from .systems import SklearnSystem, text_triage_pipeline

    base = text_triage_pipeline()
    pipe = Pipeline([("canonicalise", CanonicalisingTransformer(fn)), *base.steps])
    return SklearnSystem(pipe, domain="nlp", text=True)


def augment_texts(texts, labels, target: int, attacks: Sequence[str] = ("typo", "synonym"),
                  fraction: float = 0.4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Adversarial data augmentation: the training set plus perturbed copies of its ``target``
    messages, one copy per attack in ``attacks`` (:func:`perturb_text`), same label.

    Returns ``(texts, labels)`` with the copies appended. Introduced in lab 02 (Evasion).
    """
    texts = _check_texts(texts)
    labels = np.asarray(labels)
    if labels.shape != (len(texts),):
        raise ValueError(f"labels must be 1-D with one label per text ({len(texts)})")
    for a in attacks:
        if a not in TEXT_ATTACKS:
            raise _unknown_name(a, TEXT_ATTACKS, "text attack")
    extra, extra_y = [], []
    for k in np.flatnonzero(labels == target):
        for m, attack in enumerate(attacks):
            extra.append(perturb_text(texts[k], attack, fraction, seed=seed + 100_003 * m + int(k)))
            extra_y.append(labels[k])
    return (np.array(texts + extra, dtype=object),
            np.concatenate([labels, np.asarray(extra_y, dtype=labels.dtype)]))
