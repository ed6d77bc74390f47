"""NLP: the secret sharer on the support chatbot's autocomplete model, and PII scrubbing.

The autocomplete model is lab 05's character-level language model
(:class:`~mlsec_helpers.privacy.CharLM`), trained on support messages into which a seeded set of
*canaries* was planted: "Hi, this is <name>, my card PIN is <PIN>" and the like, each
repeated ``k`` times (Carlini et al., "The Secret Sharer", USENIX Security 2019). This file
holds:

- the canaries: :func:`canary_set` (which secrets, which formats, how often), :func:`canary_render`
  (a PIN in one of :data:`CANARY_FORMATS`) and :func:`canary_corpus` (the corpus with them
  planted);
- the attack: :func:`canary_candidate_scores` (the log-perplexity of all 10,000 PINs after a
  canary's prefix, in one pass over a trie of the candidates), :func:`canary_exposure`
  (rank and exposure in bits), :func:`canary_greedy` and :func:`canary_beam_search`
  (extraction) and :func:`canary_attack_table` (all of them for every canary);
- the defence on the data: :func:`scrub_pii` (a regex scrubber) and :func:`scrub_pii_recall`
  (its recall per PII type against the corpus's own labels, and what it over-scrubs);
- the model's quality: :func:`canary_lm_bits_per_char`; loading the three checkpointed models:
  :func:`load_canary_lms`.

The trainers are in :mod:`mlsec_helpers.inversion.trainers`.

Introduced in lab 06 (Model inversion).
"""

from __future__ import annotations

import functools
import math
import re

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..repro import rng
from ..stats import proportion
from ..validate import (
    check_choice,
    check_frame,
    check_int,
    check_str,
    check_texts,
)
from .common import exposure_from_rank, secret_rank
from .results import Canary, CanaryExposure

__all__ = [
    "CANARY_FORMATS",
    "CANARY_REPEATS",
    "PII_TAGS",
    "canary_attack_table",
    "canary_beam_search",
    "canary_candidate_scores",
    "canary_corpus",
    "canary_exposure",
    "canary_greedy",
    "canary_lm_bits_per_char",
    "canary_render",
    "canary_set",
    "load_canary_lms",
    "scrub_pii",
    "scrub_pii_recall",
]

CANARY_FORMATS: tuple[str, ...] = ("digits", "spaced", "words")
"""How a canary writes its PIN: ``"digits"`` ("4821"), ``"spaced"`` ("4 8 2 1") or ``"words"``
("four eight two one"). Introduced in lab 06 (Model inversion)."""

CANARY_REPEATS: tuple[int, ...] = (1, 2, 5, 10, 20)
"""How many times a ``"digits"`` canary is planted, one group of canaries per count.
Introduced in lab 06 (Model inversion)."""

_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_N_PINS = 10_000
# Made-up customers for the canaries (none is a name the support corpus's generator uses).
_CANARY_NAMES = (
    "Maria Okafor", "Tomasz Nowak", "Priya Raman", "Callum Reid", "Aisha Bello", "Gareth Price",
    "Mei Chen", "Owen Hughes", "Fatima Malik", "Rory Byrne", "Ines Duarte", "Hamish Grant",
    "Lena Fischer", "Kofi Mensah", "Sanjay Patel", "Nora Walsh", "Dylan Evans", "Yusuf Demir",
    "Elif Kaya", "Bea Lowe", "Jonas Berg", "Ruth Adeyemi", "Ivan Petrov", "Chloe Martin",
    "Ethan Clarke", "Zara Hussain", "Liam Doyle", "Sofia Rossi", "Kai Tanaka", "Ada Nwosu",
    "Bruno Silva", "Greta Lind",
)
# What each canary says just before its PIN: every planted canary gets its own phrase, so that
# the model cannot confuse one planted secret with another by the words next to it.
_CANARY_PHRASES = (
    "my card PIN is", "the PIN for my debit card is", "I changed my PIN to",
    "my new PIN number is", "the code for my card is", "my PIN for the app is",
    "please note my PIN is", "my old PIN was", "the PIN I was sent is",
    "my savings card PIN is", "the PIN on my credit card is", "I think my PIN is",
    "my PIN has always been", "the security PIN is", "my joint account PIN is",
    "the PIN you gave me is", "my passcode is", "the card PIN I set is",
    "my online banking PIN is", "the PIN for my account is",
)


# --- the canaries ---------------------------------------------------------------------------------


def canary_render(pin: int, fmt: str = "digits") -> str:
    """The PIN ``pin`` (0 to 9999) written in the format ``fmt`` of :data:`CANARY_FORMATS`:
    ``"digits"`` "0421", ``"spaced"`` "0 4 2 1", ``"words"`` "zero four two one".

    Introduced in lab 06 (Model inversion).
    """
    pin = check_int(pin, "pin", 0)
    if pin >= _N_PINS:
        raise ValueError(f"pin must be 0 to 9999, got {pin}")
    fmt = check_choice(fmt, CANARY_FORMATS, "fmt")
    digits = f"{pin:04d}"
    if fmt == "digits":
        return digits
    if fmt == "spaced":
        return " ".join(digits)
    return " ".join(_DIGIT_WORDS[int(d)] for d in digits)


def canary_set(*, repeats=CANARY_REPEATS, per_repeat: int = 3, adaptive_repeats=(10, 20),
               n_controls: int = 10, seed: int = 0) -> tuple[Canary, ...]:
    """The canaries of the experiment, each with its own made-up customer and a random PIN.

    ``per_repeat`` ``"digits"`` canaries for each count of ``repeats``; one ``"spaced"`` and one
    ``"words"`` canary for each count of ``adaptive_repeats`` (formats a digit-matching
    scrubber misses); and ``n_controls`` ``"digits"`` canaries planted 0 times (never in the
    training data: what exposure a secret the model never saw gets). Every canary reads
    "Hi, this is <name>, <phrase> <PIN>": each planted canary has its own phrase ("my card PIN
    is", "I changed my PIN to", ...), each control borrows the phrase of a planted ``"digits"``
    canary (a familiar context, an unseen secret). Names, phrases and PINs are drawn with
    ``seed``.

    Introduced in lab 06 (Model inversion).
    """
    repeats = tuple(check_int(k, "repeats") for k in repeats)
    adaptive_repeats = tuple(check_int(k, "adaptive_repeats") for k in adaptive_repeats)
    per_repeat = check_int(per_repeat, "per_repeat")
    n_controls = check_int(n_controls, "n_controls", 0)
    plan = ([("digits", k) for k in repeats for _ in range(per_repeat)]
            + [(fmt, k) for fmt in ("spaced", "words") for k in adaptive_repeats]
            + [("digits", 0)] * n_controls)
    n_planted = len(plan) - n_controls
    if n_planted > len(_CANARY_PHRASES) or len(plan) > len(_CANARY_NAMES):
        raise ValueError(f"at most {len(_CANARY_PHRASES)} planted canaries and "
                         f"{len(_CANARY_NAMES)} in all, asked for {n_planted} and {len(plan)}")
    n_digits = len(repeats) * per_repeat
    if n_controls and not n_digits:
        raise ValueError("controls borrow the phrases of planted digits canaries: give repeats")
    gen = rng(seed)
    names = gen.permutation(len(_CANARY_NAMES))
    pins = gen.choice(_N_PINS, size=len(plan), replace=False)
    phrases = list(gen.permutation(len(_CANARY_PHRASES))[:n_planted])
    phrases += [phrases[int(i)] for i in gen.choice(n_digits, size=n_controls)]
    out = []
    for (fmt, k), name, pin, phrase in zip(plan, names, pins, phrases, strict=False):
        prefix = f"Hi, this is {_CANARY_NAMES[name]}, {_CANARY_PHRASES[phrase]} "
        secret = canary_render(int(pin), fmt)
        out.append(Canary(name=_CANARY_NAMES[name], prefix=prefix, pin=int(pin), fmt=fmt,
                          secret=secret, text=prefix + secret, repeats=k))
    return tuple(out)


def canary_corpus(X, canaries, *, seed: int = 0) -> np.ndarray:
    """The messages ``X`` with each canary's text inserted ``canary.repeats`` times, at random
    positions (drawn with ``seed``), as a new array of strings.

    Introduced in lab 06 (Model inversion).
    """
    texts = check_texts(X, "X")
    canaries = tuple(canaries)
    if not all(isinstance(c, Canary) for c in canaries):
        raise ValueError("canaries must hold Canary records (from canary_set)")
    planted = [c.text for c in canaries for _ in range(c.repeats)]
    out = np.array(texts + planted, dtype=object)
    return out[rng(seed).permutation(len(out))]


# --- the defence on the data: a regex PII scrubber ------------------------------------------------

PII_TAGS: dict[str, str] = {
    "email": "[EMAIL]", "card_number": "[CARD]", "phone": "[PHONE]",
    "account_number": "[ACCOUNT]", "pin": "[PIN]",
}
"""The tag :func:`scrub_pii` writes in place of each kind of personal data (keys: the corpus's
``pii_types`` names, plus ``"pin"``). Introduced in lab 06 (Model inversion)."""

_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_CARD_RE = re.compile(r"(?<![\d-])\d{4}([ -]?)\d{4}\1\d{4}\1\d{4}(?![\d-])")
_PHONE_RE = re.compile(r"(?<![\w+])(?:\+44|\(?0)[\d() -]{8,16}\d(?!\d)")
_ACCOUNT_RE = re.compile(r"(?<![\d.,])\d{8}(?![\d])")
_PIN_RE = re.compile(
    r"(?<![\d.,£])(?<!GBP )\d{4,6}(?![\d]|[.,]\d|\s?(?:pounds|quid|GBP|k)\b)", re.IGNORECASE)


def scrub_pii(text: str) -> str:
    """Replace the personal data a regular expression can recognise with tags (:data:`PII_TAGS`).

    The rules, applied in this order (case-insensitive where letters matter):

    1. ``[EMAIL]``: letters, digits and ``._%+-``, an ``@``, then a domain of at least two parts
       separated by dots ("ann.lee@example.net").
    2. ``[CARD]``: 16 digits written as 4 groups of 4, with the same separator between every
       group: none ("4111111111111111"), one space ("4111 1111 1111 1111") or a hyphen
       ("4111-1111-1111-1111"), not glued to another digit or hyphen.
    3. ``[PHONE]``: a UK number: starts with "+44" or "0" (optionally after "("), then digits,
       spaces, hyphens and parentheses ("+44(0)20 7946 0123", "(07700) 900 123"), ending on a
       digit; it must hold 10 to 13 digits in all (fewer is not a phone number; the match is
       left alone).
    4. ``[ACCOUNT]``: exactly 8 digits in a row, not part of a longer number or a decimal.
    5. ``[PIN]``: 4 to 6 digits in a row that are not part of a longer number, a decimal
       ("1003.72") or a thousands-separated number ("1,000"), not after "£" or "GBP ", and not
       followed by a currency word ("1100 pounds", "2500 quid", "1500 GBP", "1500k").

    Left alone: names (a regular expression cannot tell "Grace Thompson" from "Grace Street";
    that needs a list of names or a named-entity model), amounts, dates, times, error codes
    ("E-404"), links, numbers of 1 to 3 digits, and digits written with spaces or as words
    ("4 8 2 1", "four eight two one"). Deterministic: the same text gives the same output.

    Introduced in lab 06 (Model inversion).
    """
    text = check_str(text, "text")
    text = _EMAIL_RE.sub(PII_TAGS["email"], text)
    text = _CARD_RE.sub(PII_TAGS["card_number"], text)

    def phone(m: re.Match) -> str:
        n_digits = sum(ch.isdigit() for ch in m.group(0))
        return PII_TAGS["phone"] if 10 <= n_digits <= 13 else m.group(0)

    text = _PHONE_RE.sub(phone, text)
    text = _ACCOUNT_RE.sub(PII_TAGS["account_number"], text)
    return _PIN_RE.sub(PII_TAGS["pin"], text)


def scrub_pii_recall(frame) -> pd.DataFrame:
    """How well :func:`scrub_pii` does against the support corpus's own labels.

    ``frame``: messages with the corpus's columns ``text``, ``has_pii``, ``pii_types`` and
    ``customer_name``, ``customer_email`` (``load_dataset("nlp").frame_train``). One row per
    PII type: the messages labelled with it (``n``), how many the scrubber caught (the type's
    tag appears; for names and emails, stricter: the customer's own value is gone from the
    scrubbed text), the recall with its Wilson interval. A last row ``"no PII (over-scrub)"``:
    of the messages labelled with no personal data, the share the scrubber changed anyway.

    Introduced in lab 06 (Model inversion).
    """
    frame = check_frame(frame, ("text", "has_pii", "pii_types", "customer_name",
                                "customer_email"), "frame")
    if len(frame) == 0:
        raise ValueError("frame must hold at least one message")
    texts = frame["text"].astype(str).tolist()
    scrubbed = [scrub_pii(t) for t in texts]
    types = [set(filter(None, str(s).split(","))) for s in frame["pii_types"]]
    rows = []
    for kind in ("name", "email", "card_number", "account_number", "phone"):
        idx = [i for i, ts in enumerate(types) if kind in ts]
        if kind == "name":
            hits = [frame["customer_name"].iloc[i].lower() not in scrubbed[i].lower()
                    for i in idx]
        elif kind == "email":
            hits = [frame["customer_email"].iloc[i].lower() not in scrubbed[i].lower()
                    for i in idx]
        else:
            hits = [PII_TAGS[kind] in scrubbed[i] for i in idx]
        if not idx:  # no message of this type: no rate
            rows.append(dict(pii_type=kind, n=0, caught=0, rate=math.nan, low=math.nan,
                             high=math.nan))
            continue
        rate = proportion(np.array(hits, dtype=bool), on=f"{len(idx)} messages with {kind}")
        rows.append(dict(pii_type=kind, n=len(idx), caught=int(sum(hits)), rate=rate.value,
                         low=rate.low, high=rate.high))
    clean = [i for i in range(len(texts)) if not bool(frame["has_pii"].iloc[i])]
    changed = np.array([scrubbed[i] != texts[i] for i in clean], dtype=bool)
    if not clean:
        raise ValueError("frame must hold at least one message labelled without PII")
    rate = proportion(changed, on=f"{len(clean)} messages without PII")
    rows.append(dict(pii_type="no PII (over-scrub)", n=len(clean), caught=int(changed.sum()),
                     rate=rate.value, low=rate.low, high=rate.high))
    return pd.DataFrame(rows)


# --- the attack: exposure over all 10,000 PINs, and extraction ----------------------------------


def _char_ids(text: str) -> list[int]:
    from ..privacy import CHARSET

    return [CHARSET.index(ch) + 4 for ch in text]  # encode_messages's ids (all printable)


def _id_char(i: int) -> str:
    from ..privacy import CHARSET

    return CHARSET[i - 4] if i >= 4 else ("" if i == 2 else "\ufffd")


@functools.lru_cache(maxsize=len(CANARY_FORMATS))
def _candidate_trie(fmt: str):
    """The 10,000 candidates of a format as a trie, level by level.

    Level ``t`` holds the distinct prefixes of length ``t`` of the candidates longer than
    ``t`` (level 0: the empty prefix). For each level: each node's parent (a node of level
    ``t - 1``) and the character that leads to it, and, for each candidate longer than ``t``,
    its node and its character at position ``t``. The LSTM then steps once per distinct prefix
    (1,110 steps for 4 digits instead of 40,000 for the candidates one by one).
    """
    cands = [_char_ids(canary_render(p, fmt)) for p in range(_N_PINS)]
    levels = []
    prev: dict[tuple, int] = {(): 0}
    for t in range(max(map(len, cands))):
        nodes: dict[tuple, int] = {}
        parent, char, who, node_of, target = [], [], [], [], []
        for i, c in enumerate(cands):
            if len(c) <= t:
                continue
            key = tuple(c[:t])
            if key not in nodes:
                nodes[key] = len(nodes)
                parent.append(prev[key[:-1]] if t else 0)
                char.append(key[-1] if t else 0)
            who.append(i)
            node_of.append(nodes[key])
            target.append(c[t])
        levels.append(tuple(torch.tensor(a, dtype=torch.long)
                            for a in (parent, char, who, node_of, target)))
        prev = nodes
    return tuple(levels)


def _check_lm(model) -> nn.Module:
    for part in ("emb", "rnn", "out"):
        if not isinstance(getattr(model, part, None), nn.Module):
            raise ValueError("model must be a privacy.CharLM (with emb, rnn and out)")
    if not isinstance(model.rnn, nn.LSTM):
        raise ValueError("model.rnn must be an nn.LSTM (load DP models with load_canary_lms)")
    return model


def _prefix_state(model: nn.Module, prefix: str):
    from ..privacy import encode_messages

    codes = encode_messages([prefix], max_len=max(1, len(prefix)))[:, :-1]  # BOS + prefix
    out, state = model.rnn(model.emb(codes))
    return out[:, -1], state


@torch.no_grad()
def canary_candidate_scores(model: nn.Module, prefix: str, fmt: str = "digits") -> np.ndarray:
    """The log-perplexity ``-log2 P(candidate | prefix)`` (bits) of every PIN 0 to 9999 written
    in the format ``fmt``, under a character language model (a :class:`~mlsec_helpers.privacy
    .CharLM`); entry ``p`` is PIN ``p``. Lower is likelier.

    The LSTM reads the prefix once, then steps once per distinct beginning of a candidate
    (a trie: "4", "48", "482", ...), all candidates of one length in one batch: a fraction of
    a second for 10,000 candidates. (Written by hand: no library scores a closed set of
    continuations of a recurrent model this way.)

    Introduced in lab 06 (Model inversion).
    """
    model = _check_lm(model).eval()
    prefix = check_str(prefix, "prefix")
    fmt = check_choice(fmt, CANARY_FORMATS, "fmt")
    scores = torch.zeros(_N_PINS, dtype=torch.float64)
    h_last, (h, c) = _prefix_state(model, prefix)
    for t, (parent, char, who, node_of, target) in enumerate(_candidate_trie(fmt)):
        if t == 0:
            hidden = h_last  # (1, H): the state after the prefix
        else:
            out, (h, c) = model.rnn(model.emb(char)[:, None, :],
                                    (h[:, parent].contiguous(), c[:, parent].contiguous()))
            hidden = out[:, 0]
        log_p = torch.log_softmax(model.out(hidden).double(), -1)
        scores[who] -= log_p[node_of, target]
    return (scores / math.log(2)).numpy()


def canary_exposure(model: nn.Module, canary: Canary) -> CanaryExposure:
    """The canary's rank among all 10,000 PINs (in its own format) after its prefix, and its
    exposure in bits (:func:`~mlsec_helpers.inversion.exposure_from_rank`): the attacker knows
    the prefix and the format, and orders every PIN by the model's log-perplexity.

    Introduced in lab 06 (Model inversion).
    """
    if not isinstance(canary, Canary):
        raise ValueError("canary must be a Canary (from canary_set)")
    scores = canary_candidate_scores(model, canary.prefix, canary.fmt)
    rank = secret_rank(scores[canary.pin], scores)
    return CanaryExposure(canary=canary, rank=rank, exposure=exposure_from_rank(rank, _N_PINS),
                          secret_bits=float(scores[canary.pin]),
                          best_pin=int(np.argmin(scores)))


@torch.no_grad()
def canary_greedy(model: nn.Module, prefix: str, n_chars: int) -> str:
    """Greedy decoding: after ``prefix``, take the model's likeliest character ``n_chars``
    times (stops early at the end of a message). Returns the continuation.

    Introduced in lab 06 (Model inversion).
    """
    model = _check_lm(model).eval()
    prefix = check_str(prefix, "prefix")
    n_chars = check_int(n_chars, "n_chars")
    hidden, state = _prefix_state(model, prefix)
    out = []
    for _ in range(n_chars):
        nxt = int(model.out(hidden).argmax(-1))
        if nxt == 2:  # the end of the message
            break
        out.append(_id_char(nxt))
        o, state = model.rnn(model.emb(torch.tensor([[nxt]])), state)
        hidden = o[:, -1]
    return "".join(out)


@torch.no_grad()
def canary_beam_search(model: nn.Module, prefix: str, n_chars: int, beam_width: int = 16
                       ) -> str:
    """Beam search: after ``prefix``, keep the ``beam_width`` likeliest continuations, extend
    each by every character, for ``n_chars`` characters; return the likeliest continuation of
    ``n_chars`` characters. Unlike :func:`canary_candidate_scores` the attacker need not know
    the secret's format; unlike greedy decoding, an unlikely first character can still win.

    Introduced in lab 06 (Model inversion).
    """
    model = _check_lm(model).eval()
    prefix = check_str(prefix, "prefix")
    n_chars = check_int(n_chars, "n_chars")
    beam_width = check_int(beam_width, "beam_width")
    hidden, (h, c) = _prefix_state(model, prefix)
    seqs = torch.zeros((1, 0), dtype=torch.long)
    total = torch.zeros(1, dtype=torch.float64)
    for step in range(n_chars):
        log_p = torch.log_softmax(model.out(hidden).double(), -1)
        log_p[:, :4] = -math.inf  # padding, begin, end, unknown: not characters of a secret
        cand = (total[:, None] + log_p).flatten()
        top = torch.topk(cand, min(beam_width, int(torch.isfinite(cand).sum()))).indices
        beam, nxt = top // log_p.shape[1], top % log_p.shape[1]
        seqs = torch.cat([seqs[beam], nxt[:, None]], 1)
        total = cand[top]
        if step + 1 < n_chars:
            o, (h, c) = model.rnn(model.emb(nxt)[:, None, :],
                                  (h[:, beam].contiguous(), c[:, beam].contiguous()))
            hidden = o[:, 0]
    return "".join(_id_char(int(i)) for i in seqs[0])


def canary_attack_table(model: nn.Module, canaries, *, beam_width: int = 16) -> pd.DataFrame:
    """Every canary attacked: its rank and exposure (:func:`canary_exposure`), the model's
    likeliest PIN, and whether greedy decoding and beam search (``beam_width``) from the prefix
    write the secret. One row per canary (columns ``name``, ``fmt``, ``repeats``, ``pin``,
    ``rank``, ``exposure``, ``best_pin``, ``top_guess_right``, ``greedy``, ``greedy_right``,
    ``beam``, ``beam_right``).

    Introduced in lab 06 (Model inversion).
    """
    canaries = tuple(canaries)
    if not canaries or not all(isinstance(c, Canary) for c in canaries):
        raise ValueError("canaries must hold at least one Canary (from canary_set)")
    beam_width = check_int(beam_width, "beam_width")
    rows = []
    for c in canaries:
        e = canary_exposure(model, c)
        greedy = canary_greedy(model, c.prefix, len(c.secret))
        beam = canary_beam_search(model, c.prefix, len(c.secret), beam_width)
        rows.append(dict(name=c.name, fmt=c.fmt, repeats=c.repeats, pin=c.secret, rank=e.rank,
                         exposure=e.exposure, best_pin=canary_render(e.best_pin, c.fmt),
                         top_guess_right=e.rank == 1, greedy=greedy,
                         greedy_right=greedy == c.secret, beam=beam,
                         beam_right=beam == c.secret))
    return pd.DataFrame(rows)


# --- the model's quality, and the checkpoints -----------------------------------------------------


def canary_lm_bits_per_char(model: nn.Module, X, max_len: int = 100) -> float:
    """A language model's cross-entropy on the messages ``X`` in bits per character (every
    predicted character of every message counts once, the end of each message included):
    what honest users pay in autocomplete quality. Lower is better.

    Introduced in lab 06 (Model inversion).
    """
    from ..privacy import char_lm_losses, encode_messages

    X = check_texts(X, "X")
    max_len = check_int(max_len, "max_len")
    nats = char_lm_losses(_check_lm(model), X, max_len=max_len)
    n = (encode_messages(X, max_len) != 0).sum(1).numpy() - 1
    return float((nats * n).sum() / n.sum() / math.log(2))


_CANARY_LM_CHECKPOINTS: dict[str, str] = {
    "plain": "lab06_canary_lm", "scrubbed": "lab06_canary_lm_scrubbed",
    "dp": "lab06_canary_lm_dp",
}


def load_canary_lms() -> dict:
    """The three checkpointed autocomplete models (``"plain"``, ``"scrubbed"``, ``"dp"``) as
    lab 05's :class:`~mlsec_helpers.privacy.TrainedCharLM` (model, and the privacy DP-SGD
    spent), trained by :func:`~mlsec_helpers.inversion.train_canary_lm`.

    Introduced in lab 06 (Model inversion).
    """
    from ..privacy import load_char_lm

    return {variant: load_char_lm(name) for variant, name in _CANARY_LM_CHECKPOINTS.items()}
