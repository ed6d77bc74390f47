"""NLP: black-box character- and word-level attacks on raw strings, and their defence.

ART's attacks take numeric arrays, not raw text, and the course's text model is a scikit-learn
pipeline on strings, so these black-box attacks are written here: they only query the system's
``predict_proba`` on strings, as a fraudster probing a chatbot's scam filter would.

* the attacker's perturbations of one word (:func:`homoglyph`, :func:`zero_width`,
  :func:`leetspeak`, :func:`typo`, :func:`synonyms`) and of a message
  (:func:`perturb_text`), which keep links working (:func:`is_link`);
* the greedy black-box attack on word importance under a query budget
  (:func:`greedy_text_attack`);
* the defence: the canonicaliser (:func:`canonicalise`, :func:`fold_leetspeak`) as the first
  step of the pipeline (:func:`defended_text_triage`), and adversarial data augmentation
  (:func:`augment_texts`);
* the tables both sides use (:data:`HOMOGLYPHS`, :data:`CONFUSABLES`, :data:`ZERO_WIDTH`,
  :data:`LEET`, :data:`LEET_FOLD`, :data:`SYNONYMS`), read-only.

Introduced in lab 02 (Evasion).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .. import repro
from ..validate import (
    check_choice,
    check_fraction,
    check_int,
    check_labels,
    check_str,
    check_texts,
)
from .common import progress_bar, query_proba
from .results import AugmentedTexts, TextAttackResult

__all__ = [
    "CHAR_ATTACKS",
    "CONFUSABLES",
    "CanonicalisingTransformer",
    "HOMOGLYPHS",
    "LEET",
    "LEET_FOLD",
    "SYNONYMS",
    "TEXT_ATTACKS",
    "UNLISTED_HOMOGLYPHS",
    "ZERO_WIDTH",
    "augment_texts",
    "canonicalise",
    "defended_text_triage",
    "fold_leetspeak",
    "greedy_text_attack",
    "homoglyph",
    "is_link",
    "leetspeak",
    "perturb_text",
    "synonyms",
    "typo",
    "unlisted_homoglyph",
    "zero_width",
]

# --- the tables ---------------------------------------------------------------------------------
# Read-only (MappingProxyType), so that writing into a table in a notebook cannot change the
# reference attacks and defences.

HOMOGLYPHS: Mapping[str, str] = MappingProxyType({
    "a": "\u0430", "c": "\u0441", "d": "\u0501", "e": "\u0435", "h": "\u04bb", "i": "\u0456",
    "j": "\u0458", "o": "\u043e", "p": "\u0440", "s": "\u0455", "x": "\u0445", "y": "\u0443",
    "A": "\u0410", "B": "\u0412", "C": "\u0421", "E": "\u0415", "H": "\u041d", "I": "\u0406",
    "K": "\u041a", "M": "\u041c", "O": "\u041e", "P": "\u0420", "T": "\u0422", "X": "\u0425",
    "N": "\u039d", "Z": "\u0396",
})
"""The attacker's homoglyphs: Latin letters and the Cyrillic or Greek letters drawn the same.

Introduced in lab 02 (Evasion)."""

CONFUSABLES: Mapping[str, str] = MappingProxyType({
    **{v: k for k, v in HOMOGLYPHS.items()},
    "\u03b1": "a", "\u03bf": "o", "\u03c1": "p", "\u03b9": "i", "\u03ba": "k", "\u03bd": "v",
    "\u03c5": "u", "\u03c7": "x", "\u0391": "A", "\u0392": "B", "\u0395": "E", "\u0397": "H",
    "\u0399": "I", "\u039a": "K", "\u039c": "M", "\u039f": "O", "\u03a1": "P", "\u03a4": "T",
    "\u03a7": "X", "\u03a5": "Y", "\u0585": "o", "\u057d": "u", "\u0570": "h", "\u0261": "g",
    "\u0455": "s", "\u04cf": "l", "\u0131": "i", "\u0269": "i", "\u1d00": "A",
})
"""The defender's confusables map: look-alike characters to the Latin letter they imitate.

A hand-picked subset of Unicode's confusables (UTS #39, ``confusables.txt``) for Latin
letters: the Cyrillic and Greek homoglyphs, a few Armenian and IPA ones. The pinned
environment has no confusables library, so the table is written here; a production filter
would load the full Unicode table. Introduced in lab 02 (Evasion)."""

ZERO_WIDTH: frozenset[str] = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e")
"""Invisible characters that split a word for a tokenizer but not for a reader.

Zero-width space, non-joiner and joiner, word joiner, byte-order mark, soft hyphen, Mongolian
vowel separator. Introduced in lab 02 (Evasion)."""

LEET: Mapping[str, str] = MappingProxyType(
    {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})
"""The attacker's leetspeak: letters and the digits that stand in for them.

Introduced in lab 02 (Evasion)."""

LEET_FOLD: Mapping[str, str] = MappingProxyType({v: k for k, v in LEET.items()})
"""The defender's leetspeak folding (digits and symbols back to letters) inside words.

Introduced in lab 02 (Evasion)."""

SYNONYMS: Mapping[str, tuple[str, ...]] = MappingProxyType({
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
})
"""The word-substitution attacker's synonyms (lower-case keys), written for the scam vocabulary.

Introduced in lab 02 (Evasion)."""

CHAR_ATTACKS: tuple[str, ...] = ("homoglyph", "zero_width", "leetspeak", "typo")
"""Names of the character-level perturbations. Introduced in lab 02 (Evasion)."""

UNLISTED_HOMOGLYPHS: Mapping[str, str] = MappingProxyType({
    "a": "\u0251", "e": "\u04bd", "n": "\u0578", "g": "\u0581", "o": "\u1d0f", "r": "\u0433",
    "s": "\ua731", "v": "\u0475", "w": "\u051d",
})
"""Look-alike characters that are NOT in :data:`CONFUSABLES` and that NFKC leaves alone (Latin
alpha, Armenian vo and co, small capitals, Cyrillic ghe, izhitsa and we, ...): the adaptive
attacker's way around the canonicaliser of lab 02. Introduced in lab 02 (Evasion)."""

TEXT_ATTACKS: tuple[str, ...] = (*CHAR_ATTACKS, "synonym", "unlisted_homoglyph")
"""Names of all text perturbations (character level, then word level). Introduced in lab 02."""

# --- perturbations of one word ------------------------------------------------------------------

_ALNUM_RE = re.compile(r"[^\W_]+")
_CORE_RE = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)


def _split_core(token: str) -> tuple[str, str, str]:
    m = _CORE_RE.match(token)
    return m.group(1), m.group(2), m.group(3)


def homoglyph(word: str) -> str:
    """Replace every letter of ``word`` that has a homoglyph (:data:`HOMOGLYPHS`).

    Introduced in lab 02 (Evasion).
    """
    return "".join(HOMOGLYPHS.get(ch, ch) for ch in check_str(word, "word"))


def unlisted_homoglyph(word: str) -> str:
    """Replace every letter of ``word`` that has a look-alike outside the defender's table
    (:data:`UNLISTED_HOMOGLYPHS`).

    Introduced in lab 02 (Evasion).
    """
    return "".join(UNLISTED_HOMOGLYPHS.get(ch, ch) for ch in check_str(word, "word"))


def zero_width(word: str) -> str:
    """Put a zero-width space between the characters of ``word`` (invisible to a reader).

    Introduced in lab 02 (Evasion).
    """
    return "\u200b".join(check_str(word, "word"))


def leetspeak(word: str) -> str:
    """Replace the letters of ``word`` that have a leetspeak digit (:data:`LEET`).

    Introduced in lab 02 (Evasion).
    """
    return "".join(LEET.get(ch.lower(), ch) for ch in check_str(word, "word"))


def typo(word: str, *, seed: int = 0, split: bool = True) -> str:
    """One random edit of ``word``: swap two neighbours, drop or double one, or (``split``)
    split it in two with a space.

    Words of fewer than three characters are returned unchanged. Introduced in lab 02 (Evasion).
    """
    word = check_str(word, "word")
    pre, core, post = _split_core(word)
    if len(core) < 3:
        return word
    gen = repro.rng(seed)
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
    pre, core, post = _split_core(check_str(word, "word"))
    subs = SYNONYMS.get(core.lower(), ())
    if core[:1].isupper():
        subs = tuple(s[:1].upper() + s[1:] for s in subs)
    return [pre + s + post for s in subs]


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
    return bool(_LINK_RE.search(check_str(token, "token")))


def _link_candidates(word: str, attack: str, seed: int) -> list[str]:
    m = _URL_RE.match(word)
    if "@" in word or m is None or attack in ("zero_width", "synonym"):
        return []
    host = m["host"]
    change = {"homoglyph": homoglyph, "leetspeak": leetspeak,
              "unlisted_homoglyph": unlisted_homoglyph,
              "typo": lambda h: typo(h, seed=seed, split=False)}[attack]
    rest = m["rest"] or ""
    new_host, new_rest = change(host), (change(rest) if rest else rest)
    if (new_host, new_rest) == (host, rest):
        return []
    return [m["pre"] + m["scheme"] + new_host + m["tld"] + new_rest + m["post"]]


def _candidates(word: str, attack: str, seed: int, n_typos: int = 1) -> list[str]:
    """The perturbed versions of one whitespace-separated token for one attack."""
    check_choice(attack, TEXT_ATTACKS, "text attack")
    if is_link(word):
        return _link_candidates(word, attack, seed)
    pre, core, post = _split_core(word)
    if len(core) < 2:
        return []
    if attack == "homoglyph":
        out = [pre + homoglyph(core) + post]
    elif attack == "unlisted_homoglyph":
        out = [pre + unlisted_homoglyph(core) + post]
    elif attack == "zero_width":
        out = [pre + zero_width(core) + post]
    elif attack == "leetspeak":
        out = [pre + leetspeak(core) + post]
    elif attack == "typo":
        out = [typo(word, seed=seed + 7919 * k) for k in range(n_typos)]
    else:  # "synonym"
        out = synonyms(word)
    return [c for c in dict.fromkeys(out) if c != word]


def perturb_text(text: str, attack: str, fraction: float = 0.3, *, seed: int = 0) -> str:
    """Perturb a random ``fraction`` of the words of ``text`` with one attack (no model needed).

    Used for adversarial data augmentation. Introduced in lab 02 (Evasion).
    """
    check_str(text, "text")
    check_choice(attack, TEXT_ATTACKS, "text attack")
    fraction = check_fraction(fraction, "fraction")
    words = text.split(" ")
    gen = repro.rng(seed)
    chosen = gen.random(len(words)) < fraction
    for k in np.flatnonzero(chosen):
        cands = _candidates(words[k], attack, seed + 31 * int(k))
        if cands:
            words[k] = cands[int(gen.integers(len(cands)))]
    return " ".join(words)


# --- the defence: canonicalisation ----------------------------------------------------------


def fold_leetspeak(text: str) -> str:
    """Fold leetspeak back to letters inside words that mix letters and digits.

    ``v3r1fy`` becomes ``verify``; numbers (``5119``, ``52.26``) and tokens with fewer than two
    letters (``1k``) are left alone. Introduced in lab 02 (Evasion).
    """
    check_str(text, "text")

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
    check_str(text, "text")
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if ch not in ZERO_WIDTH)
    return "".join(CONFUSABLES.get(ch, ch) for ch in text)


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
        return [fn(t) for t in check_texts(X, "X")]


def defended_text_triage(fn: Callable[[str], str] | None = None):
    """The NLP system with the defence: canonicalisation, then the baseline TF-IDF + LR.

    Returns an unfitted ``systems.SklearnSystem`` on raw strings (fit it on augmented data,
    see :func:`augment_texts`); it is a course system like ``systems.TextTriage()``, so every
    attack of this module takes it as ``system``. Introduced in lab 02 (Evasion).
    """
    from sklearn.pipeline import Pipeline

    from ..systems import SklearnSystem, text_triage_pipeline

    base = text_triage_pipeline()
    pipe = Pipeline([("canonicalise", CanonicalisingTransformer(fn)), *base.steps])
    return SklearnSystem(pipe, domain="nlp", text=True)


def augment_texts(X, y, target: int, attacks: Sequence[str] = ("typo", "synonym"),
                  fraction: float = 0.4, *, seed: int = 0) -> AugmentedTexts:
    """Adversarial data augmentation: the training messages ``X`` (labels ``y``) plus
    perturbed copies of its ``target`` messages, one copy per attack in ``attacks``
    (:func:`perturb_text`), with the same label.

    Returns an :class:`AugmentedTexts` (the messages and labels with the copies appended).
    Introduced in lab 02 (Evasion).
    """
    X = check_texts(X, "X")
    y = np.asarray(y)
    check_labels(y, len(X), "y")
    for a in attacks:
        check_choice(a, TEXT_ATTACKS, "text attack")
    extra, extra_y = [], []
    for k in np.flatnonzero(y == target):
        for m, attack in enumerate(attacks):
            extra.append(perturb_text(X[k], attack, fraction, seed=seed + 100_003 * m + int(k)))
            extra_y.append(y[k])
    return AugmentedTexts(X=np.array(X + extra, dtype=object),
                          y=np.concatenate([y, np.asarray(extra_y, dtype=y.dtype)]),
                          n_added=len(extra))


# --- the attack -------------------------------------------------------------------------------


def greedy_text_attack(
    system,
    X: Sequence[str],
    target: int,
    attacks: Sequence[str] | str = CHAR_ATTACKS,
    *,
    query_budget: int = 60,
    max_fraction: float = 1.0,
    seed: int = 0,
    progress: bool | str = True,
) -> TextAttackResult:
    """Black-box greedy evasion of a text classifier, on word importance, under a query budget.

    For each message of ``X`` (meant to be classified as ``target``):

    1. rank its words by importance: the drop in the ``target`` probability when the word is
       deleted (one query per word);
    2. in that order, try every perturbation of the word that ``attacks`` allow (one query per
       candidate) and keep the one that lowers the ``target`` probability most, if any;
    3. stop as soon as the predicted label is no longer ``target`` (evaded), or when the
       ``query_budget`` is spent or ``max_fraction`` of the words were changed.

    ``system`` is a fitted text classifier (``systems.TextTriage()``, or the defended pipeline
    of :func:`defended_text_triage`); the attack only queries its ``predict_proba`` (strings in,
    probabilities out). Messages are attacked in lock-step, so each round is one batched query.
    Returns a :class:`TextAttackResult`. Introduced in lab 02 (Evasion).
    """
    texts = check_texts(X, "X")
    if isinstance(attacks, str):
        attacks = (attacks,)
    attacks = tuple(attacks)
    if not attacks:
        raise ValueError("attacks must name at least one perturbation")
    for a in attacks:
        check_choice(a, TEXT_ATTACKS, "text attack")
    query_budget = check_int(query_budget, "query_budget")
    max_fraction = check_fraction(max_fraction, "max_fraction", allow_zero=False)
    target = check_int(target, "target", minimum=0)
    n = len(texts)
    words = [t.split(" ") for t in texts]
    proba0 = query_proba(system, texts)
    if target >= proba0.shape[1]:
        raise ValueError(f"target must be a class of the system (< {proba0.shape[1]}), got "
                         f"{target}")
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
        p_del = query_proba(system, batch)[:, target]
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
    bar = progress_bar(progress, "text attack", total=len(active))
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
        proba = query_proba(system, batch)
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
