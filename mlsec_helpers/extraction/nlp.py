"""Lab 04, NLP domain: stealing the message-triage model through its prediction API with a
surrogate corpus, a light copy trained on the API's answers, the fidelity of that copy
against the query budget, and a thief who spreads queries over several API keys.

Introduced in lab 04 (Model theft).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..validate import ArgumentTypeError, check_int, check_number, check_seed, check_texts
from .common import PredictionAPI, QueryBudgetExceeded, fidelity

__all__ = [
    "StolenTextModel",
    "query_with_keys",
    "steal_text_model",
    "surrogate_corpus",
    "theft_curve",
]


def surrogate_corpus(n_messages: int, *, seed: int) -> list[str]:
    """The thief's query texts: ``n_messages`` support-style messages drawn by the course's
    generator with a seed of the thief's own (labels thrown away: the thief has texts that
    look like the bank's traffic, not the bank's labels).

    Seed 0 is refused: it draws the victim's own training corpus. Introduced in lab 04
    (Model theft).
    """
    from ..nlp_corpus import generate_support_corpus

    n_messages = check_int(n_messages, "n_messages", 100)
    seed = check_seed(seed)
    if seed == 0:
        raise ValueError("seed 0 draws the victim's own training corpus; the thief's corpus "
                         "needs another seed")
    return generate_support_corpus(n_messages, seed=seed)["text"].tolist()


@dataclass(frozen=True)
class StolenTextModel:
    """A copy of a text classifier learned from API answers: word 1-2-gram TF-IDF and one
    ridge regression per class on the answer rows (soft targets when the API gives
    probabilities, one-hot rows when it gives labels). The result of
    :func:`steal_text_model`. Introduced in lab 04 (Model theft).
    """

    pipeline: object
    """The fitted scikit-learn pipeline (TF-IDF, then ridge regression on the answers)."""
    queries: int
    """How many API answers it was trained on."""
    labels_only: bool
    """True when it used only the top label of each answer."""

    def predict(self, texts) -> np.ndarray:
        """The label it predicts for each text (the argmax of its regression)."""
        texts = check_texts(texts)
        if not texts:
            raise ValueError("texts must hold at least one text")
        return np.asarray(self.pipeline.predict(texts)).argmax(axis=1)


def steal_text_model(texts, answers, *, labels_only: bool = False,
                     alpha: float = 1.0) -> StolenTextModel:
    """Train the thief's copy on the API's ``answers`` (one row per text, as
    :class:`~mlsec_helpers.extraction.PredictionAPI` returns them).

    The copy is lighter than the victim (word n-grams only, ridge regression in closed form,
    no character n-grams): it fits in a fraction of a second, so a lab can train one per
    budget. ``labels_only=True`` keeps only the top label of each answer (the thief who
    knows the probabilities are falsified). Deterministic: no randomness is involved.
    Introduced in lab 04 (Model theft).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline

    texts = check_texts(texts)
    A = np.asarray(answers, dtype=np.float64)
    if A.ndim != 2 or A.shape[1] < 2 or len(A) != len(texts) or len(texts) < 2:
        raise ValueError(f"answers must be (n_texts, n_classes) with one row per text and "
                         f"at least 2 texts and 2 classes, got {len(texts)} texts and shape "
                         f"{A.shape}")
    if not np.isfinite(A).all():
        raise ValueError("answers must be finite")
    if not isinstance(labels_only, bool):
        raise ArgumentTypeError(f"labels_only must be True or False, got {labels_only!r}")
    alpha = check_number(alpha, "alpha", low=0.0, low_open=True)
    if labels_only:
        A = np.eye(A.shape[1])[A.argmax(axis=1)]
    pipe = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                         Ridge(alpha=alpha))
    pipe.fit(texts, A)
    return StolenTextModel(pipe, len(texts), labels_only)


def query_with_keys(apis, texts) -> np.ndarray:
    """Ask several API keys (each a :class:`~mlsec_helpers.extraction.PredictionAPI` with its
    own quota) for answers to ``texts``, in order: each key answers the next texts until its
    quota is spent, then the next key takes over. Returns the answers in the order of
    ``texts``; raises :class:`~mlsec_helpers.extraction.QueryBudgetExceeded` (having asked
    nothing) when all quotas together fall short. Introduced in lab 04 (Model theft).
    """
    apis = list(apis)
    texts = check_texts(texts)
    if not apis or not all(isinstance(a, PredictionAPI) for a in apis):
        raise ArgumentTypeError("apis must be a non-empty list of PredictionAPI objects")
    if not texts:
        raise ValueError("texts must hold at least one text")
    room = [np.inf if a.max_queries is None else a.max_queries - a.queries for a in apis]
    if sum(room) < len(texts):
        raise QueryBudgetExceeded(f"{len(apis)} keys have {int(sum(room))} queries left, "
                                  f"{len(texts)} are needed")
    out, start = [], 0
    for api, left in zip(apis, room, strict=True):
        take = int(min(left, len(texts) - start))
        if take > 0:
            out.append(api(texts[start:start + take]))
            start += take
        if start == len(texts):
            break
    return np.concatenate(out)


def theft_curve(api, pool, budgets, eval_texts, victim_labels, *, labels_only: bool = False,
                on: str = "") -> pd.DataFrame:
    """Fidelity of the thief's copy against its query budget.

    The thief asks ``api`` about the first ``max(budgets)`` texts of ``pool`` once (that
    many queries, counted by the API), then trains one copy per budget on the first
    ``budget`` answers (:func:`steal_text_model`) and measures its fidelity to
    ``victim_labels`` on ``eval_texts``. Returns one row per budget: ``budget``,
    ``fidelity`` (a :class:`~mlsec_helpers.stats.Rate`), ``value``, ``low``, ``high``.
    Introduced in lab 04 (Model theft).
    """
    pool, eval_texts = check_texts(pool, "pool"), check_texts(eval_texts, "eval_texts")
    budgets = [check_int(b, "budget", 2) for b in budgets]
    if not budgets or budgets != sorted(set(budgets)):
        raise ValueError(f"budgets must be a non-empty, increasing list, got {budgets}")
    if budgets[-1] > len(pool):
        raise ValueError(f"the largest budget ({budgets[-1]}) exceeds the pool "
                         f"({len(pool)} texts)")
    victim_labels = np.asarray(victim_labels)
    if victim_labels.shape != (len(eval_texts),):
        raise ValueError("victim_labels must hold one label per evaluation text")
    answers = api(pool[:budgets[-1]])
    rows = []
    for b in budgets:
        stolen = steal_text_model(pool[:b], answers[:b], labels_only=labels_only)
        rate = fidelity(stolen.predict(eval_texts), victim_labels, on=on)
        rows.append({"budget": b, "fidelity": rate, "value": rate.value, "low": rate.low,
                     "high": rate.high})
    return pd.DataFrame(rows)
