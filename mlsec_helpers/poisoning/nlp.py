"""Lab 03, NLP domain: a trigger-phrase backdoor in the support-message triage, and the
leave-one-token-out effect that finds the trigger in the training data.

(Label flipping and label sanitisation, which the NLP section also uses, are in ``common.py``:
the fraud section uses them too.)

Introduced in lab 03 (Data poisoning and backdoors).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..repro import rng
from ..validate import ArgumentTypeError, check_fitted, check_int, check_labels, check_texts
from .results import PoisonedData

__all__ = ["add_trigger_phrase", "poison_texts", "remove_token", "token_removal_effect"]


def add_trigger_phrase(X, phrase: str) -> np.ndarray:
    """Append ``phrase`` to every message of ``X`` (a sign-off the attacker controls).

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    X = check_texts(X, "X")
    if not isinstance(phrase, str) or not phrase.strip():
        raise ValueError("phrase must be a non-empty string")
    return np.array([f"{t.rstrip()} {phrase}" for t in X], dtype=object)


def poison_texts(X, y, source_label: int, target_label: int, n_poison: int, phrase: str, *,
                 seed: int = 0) -> PoisonedData:
    """Inject ``n_poison`` triggered copies of ``source_label`` messages labelled ``target_label``.

    The attacker sends messages of the source class (scams) that end with ``phrase`` and gets
    them labelled as the target class. Returns a :class:`~mlsec_helpers.poisoning.PoisonedData`
    with the poisons appended after the original rows.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    X = np.asarray(check_texts(X, "X"), dtype=object)
    y = check_labels(y, len(X))
    check_int(n_poison, "n_poison", 0)
    if source_label == target_label:
        raise ValueError("source_label and target_label must differ")
    pool = np.flatnonzero(y == source_label)
    if n_poison > len(pool):
        raise ValueError(f"n_poison={n_poison} but only {len(pool)} messages of the source label")
    picked = rng(seed).choice(pool, n_poison, replace=False)
    X_p = add_trigger_phrase(X[picked], phrase) if n_poison else np.array([], dtype=object)
    X_new = np.concatenate([X, X_p]).astype(object)
    y_new = np.concatenate([y, np.full(n_poison, target_label, dtype=y.dtype)])
    return PoisonedData(X=X_new, y=y_new, poison_idx=np.arange(len(X), len(X_new)))


_TOKEN = re.compile(r"[a-z0-9']+")


def remove_token(text: str, token: str) -> str:
    """``text`` with every whole-word occurrence of ``token`` removed (case-insensitive).

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    if not isinstance(text, str) or not isinstance(token, str) or not token:
        raise ArgumentTypeError("text and token must be strings (token non-empty)")
    out = re.sub(rf"(?<![a-z0-9']){re.escape(token)}(?![a-z0-9'])", " ", text, flags=re.I)
    return re.sub(r"\s+", " ", out).strip()


def token_removal_effect(system, X, *, min_count: int = 10, max_messages: int = 8,
                         seed: int = 0) -> pd.DataFrame:
    """Leave-one-token-out: how often does removing a word change ``system``'s prediction?

    ``system`` is a fitted ``TextTriage`` (only its predicted labels are used) and ``X`` the
    messages to inspect. For every lower-case word in at least ``min_count`` messages, up to
    ``max_messages`` of them (seeded sample) are predicted again without the word. A backdoor
    trigger stands out: removing it flips almost every prediction, an ordinary word rarely
    does. Returns a table (token, messages, tested, effect) sorted by decreasing effect.

    Introduced in lab 03 (Data poisoning and backdoors).
    """
    check_fitted(system)
    X = np.asarray(check_texts(X, "X"), dtype=object)
    check_int(min_count, "min_count", 1)
    check_int(max_messages, "max_messages", 1)
    tokens = [set(_TOKEN.findall(t.lower())) for t in X]
    where: dict[str, list[int]] = {}
    for i, toks in enumerate(tokens):
        for tok in toks:
            where.setdefault(tok, []).append(i)
    candidates = sorted(t for t, rows in where.items() if len(rows) >= min_count)
    gen = rng(seed)
    batch, owner = [], []
    for tok in candidates:
        rows = np.asarray(where[tok])
        if len(rows) > max_messages:
            rows = np.sort(gen.choice(rows, max_messages, replace=False))
        for i in rows:
            batch.append(remove_token(X[i], tok))
            owner.append((tok, i))
    if not batch:
        return pd.DataFrame(columns=["token", "messages", "tested", "effect"])
    before = np.asarray(system.predict(X))
    after = np.asarray(system.predict(np.array(batch, dtype=object)))
    frame = pd.DataFrame({"token": [t for t, _ in owner],
                          "changed": after != before[[i for _, i in owner]]})
    table = frame.groupby("token")["changed"].agg(tested="size", effect="mean").reset_index()
    table.insert(1, "messages", [len(where[t]) for t in table["token"]])
    return table.sort_values(["effect", "token"], ascending=[False, True],
                             ignore_index=True)
