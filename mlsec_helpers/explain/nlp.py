"""NLP: the words a triage decision rests on (lab 08, section 2).

Holds:

* :func:`linear_token_attributions`: the exact contribution of every word n-gram of a message
  to one class's logit in a TF-IDF + logistic-regression triage (coefficient times TF-IDF
  value), optionally against a second class (a contrast);
* :func:`occlusion_token_attributions`: the model-agnostic check, leave-one-word-out;
* :func:`first_rank_of_tokens`: where the first token made only of given words ranks in each
  message's attribution (0: it ranks first);
* :func:`token_mass_share`: how much of a message's positive attribution given words hold;
* :func:`counterfactual_added_words`: the words a counterfactual edit added to each message;
* :func:`corpus_token_audit`: an auditor's ranking of tokens over a corpus, without knowing a
  trigger (the tokens that decide the messages they are in);
* :func:`token_rank_figure`: the section's figure;
* :func:`poison_texts_any_label`: the adaptive attacker's poison, a trigger labelled with
  every legitimate intent in turn.

Introduced in lab 08 (Explainability).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..poisoning.nlp import add_trigger_phrase, remove_token
from ..poisoning.results import PoisonedData
from ..repro import rng
from ..validate import (
    ArgumentTypeError,
    check_fitted,
    check_int,
    check_labels,
    check_texts,
)
from .results import TokenAttributions

__all__ = [
    "corpus_token_audit",
    "counterfactual_added_words",
    "first_rank_of_tokens",
    "linear_token_attributions",
    "occlusion_token_attributions",
    "poison_texts_any_label",
    "token_mass_share",
    "token_rank_figure",
]

_WORD = re.compile(r"[a-z0-9']+")


def _tfidf_lr(system):
    """The TF-IDF vectoriser and the logistic regression of a fitted words-only TextTriage."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    check_fitted(system)
    steps = getattr(getattr(system, "estimator", None), "steps", None)
    if not steps or len(steps) != 2 or not isinstance(steps[0][1], TfidfVectorizer) \
            or not isinstance(steps[1][1], LogisticRegression):
        raise ArgumentTypeError("system must be a fitted words-only TextTriage "
                                "(systems.TextTriage(char_ngrams=False)): TF-IDF + logistic "
                                "regression")
    return steps[0][1], steps[1][1]


def _coef_intercept(lr) -> tuple[np.ndarray, np.ndarray]:
    """One weight row and intercept per class; a binary model's single row ``w`` becomes
    ``(-w/2, w/2)`` (the same softmax, so the same probabilities and logit differences)."""
    coef, intercept = np.asarray(lr.coef_), np.asarray(lr.intercept_)
    if coef.shape[0] == 1:
        return np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
    return coef, intercept


def _class(value, n_classes: int, name: str):
    if value is None:
        return None
    return check_int(value, name, 0, n_classes - 1)


def linear_token_attributions(system, texts, *, target: int | None = None,
                              contrast: int | str | None = None) -> TokenAttributions:
    """Exact token attributions of a words-only ``systems.TextTriage``: for each message and
    each word 1- or 2-gram the vectoriser kept, ``coef[c, t] * tfidf[t]``, the token's share of
    the logit of class ``c`` (``target``; default: the predicted class). With ``contrast`` (a
    class, or ``"runner-up"``: each message's second most likely class) the attribution is of
    the logit *difference* ``c - contrast`` (``coef[c] - coef[contrast]``): what pushed the
    decision towards ``c`` and away from the other class; ``margins`` then holds that
    difference, intercepts included (the tokens' values plus the intercepts sum to it).

    Why by hand, not ``shap.LinearExplainer``: for a linear model the SHAP values with an
    all-zero background (the empty message) under feature independence *are* these products
    (the test file checks the equality against shap), and the few lines here run on the sparse
    TF-IDF rows directly, without shap's import (seconds) or a dense background.

    Introduced in lab 08 (Explainability).
    """
    vec, lr = _tfidf_lr(system)
    texts = check_texts(texts, "texts")
    n_classes = len(lr.classes_)
    target = _class(target, n_classes, "target")
    X = vec.transform(texts).tocsr()
    coef, intercept = _coef_intercept(lr)
    logits = np.asarray(X @ coef.T) + intercept
    predicted = logits.argmax(axis=1)
    explained = predicted if target is None else np.full(len(texts), target)
    if contrast is None:
        contrasts = None
    elif isinstance(contrast, str):
        if contrast != "runner-up":
            raise ValueError(f"contrast must be a class index, 'runner-up' or None, got "
                             f"{contrast!r}")
        masked = logits.copy()
        masked[np.arange(len(texts)), explained] = -np.inf
        contrasts = masked.argmax(axis=1)
    else:
        contrast = _class(contrast, n_classes, "contrast")
        if target is not None and contrast == target:
            raise ValueError("contrast must differ from target")
        contrasts = np.full(len(texts), contrast)
    margins = None if contrasts is None else \
        logits[np.arange(len(texts)), explained] - logits[np.arange(len(texts)), contrasts]
    names = vec.get_feature_names_out()
    tokens, values = [], []
    for i in range(X.shape[0]):
        cols = X.indices[X.indptr[i]:X.indptr[i + 1]]
        weights = coef[explained[i], cols]
        if contrasts is not None:
            weights = weights - coef[contrasts[i], cols]
        contrib = X.data[X.indptr[i]:X.indptr[i + 1]] * weights
        order = np.lexsort((names[cols], -contrib))  # decreasing, ties by token: stable
        tokens.append(names[cols][order].astype(object))
        values.append(contrib[order])
    return TokenAttributions(tokens=tuple(tokens), values=tuple(values), predicted=predicted,
                             explained=np.asarray(explained), contrasts=contrasts,
                             margins=margins, method="linear (coefficient x TF-IDF)")


def occlusion_token_attributions(system, texts, *,
                                 target: int | None = None) -> TokenAttributions:
    """Leave-one-word-out (occlusion), the model-agnostic check: for each message and each
    distinct word in it, the drop of class ``target``'s probability (default: the predicted
    class) when every occurrence of the word is removed (``poisoning.remove_token``). Needs
    only ``predict_proba`` on strings, so it works on any text model; one batch of predictions
    per call. Written by hand: captum's ``FeatureAblation`` wants tensors, and this model reads
    strings.

    Introduced in lab 08 (Explainability).
    """
    check_fitted(system)
    texts = check_texts(texts, "texts")
    base = np.asarray(system.predict_proba(np.array(texts, dtype=object)))
    target = _class(target, base.shape[1], "target")
    predicted = base.argmax(axis=1)
    explained = predicted if target is None else np.full(len(texts), target)
    words = [sorted(set(_WORD.findall(t.lower()))) for t in texts]
    batch = [remove_token(t, w) for t, ws in zip(texts, words, strict=True) for w in ws]
    owner = np.repeat(np.arange(len(texts)), [len(ws) for ws in words])
    after = np.asarray(system.predict_proba(np.array(batch, dtype=object))) if batch else \
        np.zeros((0, base.shape[1]))
    drops = base[owner, explained[owner]] - after[np.arange(len(owner)), explained[owner]]
    tokens, values, start = [], [], 0
    for ws in words:
        d = drops[start:start + len(ws)]
        order = np.lexsort((np.array(ws, dtype=object), -d)) if ws else np.array([], int)
        tokens.append(np.array(ws, dtype=object)[order])
        values.append(d[order])
        start += len(ws)
    return TokenAttributions(tokens=tuple(tokens), values=tuple(values), predicted=predicted,
                             explained=explained, contrasts=None, margins=None,
                             method="occlusion (leave one word out)")


def _word_sets(words, n: int) -> list[set[str]]:
    if isinstance(words, str):
        words = _WORD.findall(words.lower())
    if isinstance(words, (set, frozenset, list, tuple)) and all(isinstance(w, str)
                                                                 for w in words):
        if not words:
            raise ValueError("words must name at least one word")
        return [set(words)] * n
    words = list(words)
    if len(words) != n or not all(isinstance(s, (set, frozenset)) for s in words):
        raise ArgumentTypeError("words must be a phrase, a collection of words, or one set of "
                                "words per message")
    return [set(s) for s in words]


def first_rank_of_tokens(attributions: TokenAttributions, words) -> np.ndarray:
    """For each message, the rank (0 = first) of the first token in its attribution whose
    words all belong to ``words`` (a phrase, a collection of words, or one set per message);
    -1 where no such token is in the message. Ranking is by signed attribution, largest first.

    Introduced in lab 08 (Explainability).
    """
    if not isinstance(attributions, TokenAttributions):
        raise ArgumentTypeError("attributions must be TokenAttributions")
    sets = _word_sets(words, len(attributions.tokens))
    out = np.full(len(attributions.tokens), -1, dtype=np.int64)
    for i, (toks, wanted) in enumerate(zip(attributions.tokens, sets, strict=True)):
        for r, tok in enumerate(toks):
            if all(w in wanted for w in tok.split()):
                out[i] = r
                break
    return out


def token_mass_share(attributions: TokenAttributions, words) -> np.ndarray:
    """For each message, the share of its positive attribution mass held by the tokens made
    only of ``words`` (a phrase, a collection of words, or one set per message): the text
    analogue of the share of saliency inside a patch (0 where nothing is positive).

    Introduced in lab 08 (Explainability).
    """
    if not isinstance(attributions, TokenAttributions):
        raise ArgumentTypeError("attributions must be TokenAttributions")
    sets = _word_sets(words, len(attributions.tokens))
    out = np.zeros(len(attributions.values))
    for i, (toks, v, wanted) in enumerate(zip(attributions.tokens, attributions.values, sets,
                                              strict=True)):
        pos = np.clip(v, 0, None)
        inside = np.array([all(w in wanted for w in t.split()) for t in toks], dtype=bool)
        out[i] = pos[inside].sum() / pos.sum() if pos.sum() > 0 else 0.0
    return out


def counterfactual_added_words(texts_a, texts_b) -> list[set[str]]:
    """For paired messages, the lower-case words of each ``texts_b[i]`` that ``texts_a[i]``
    lacks: what a counterfactual edit added (lab 07's dialect markers, a trigger).

    Introduced in lab 08 (Explainability).
    """
    texts_a, texts_b = check_texts(texts_a, "texts_a"), check_texts(texts_b, "texts_b")
    if len(texts_a) != len(texts_b):
        raise ValueError(f"texts_a and texts_b must pair up, got {len(texts_a)} and "
                         f"{len(texts_b)} messages")
    return [set(_WORD.findall(b.lower())) - set(_WORD.findall(a.lower()))
            for a, b in zip(texts_a, texts_b, strict=True)]


def corpus_token_audit(attributions: TokenAttributions, *, min_count: int = 10) -> pd.DataFrame:
    """The auditor's view of a corpus, without knowing any trigger. ``attributions`` must
    contrast each message's predicted class with its runner-up
    (``linear_token_attributions(..., contrast="runner-up")``). Per message, each *word* gets
    the sum of the attributions of the n-grams that contain it: what deleting the word takes
    out of the margin (exactly so for a linear model, up to the TF-IDF row's renormalisation
    and the bigram its neighbours then form). Summing matters: a trigger's weight is split
    evenly between its collinear n-grams, so no single n-gram decides. A word is *decisive*
    in a message when its sum exceeds the message's margin: without it the runner-up would
    win. For every word in at least ``min_count`` messages: ``messages``, ``decisive_share``
    and ``mean_attribution``, sorted by decreasing ``decisive_share``, then mean attribution:
    the attribution counterpart of ``poisoning.token_removal_effect`` (one pass of
    explanations instead of a prediction per removal).

    Introduced in lab 08 (Explainability).
    """
    if not isinstance(attributions, TokenAttributions):
        raise ArgumentTypeError("attributions must be TokenAttributions")
    if attributions.margins is None:
        raise ValueError("attributions must carry margins: compute them with "
                         "contrast='runner-up'")
    check_int(min_count, "min_count", 1)
    rows: dict[str, list] = {"token": [], "attribution": [], "decisive": []}
    for toks, vals, margin in zip(attributions.tokens, attributions.values,
                                  attributions.margins, strict=True):
        per_word: dict[str, float] = {}
        for tok, val in zip(toks, vals, strict=True):
            for word in set(tok.split()):
                per_word[word] = per_word.get(word, 0.0) + float(val)
        rows["token"] += list(per_word)
        rows["attribution"] += list(per_word.values())
        rows["decisive"] += [v > margin for v in per_word.values()]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=["token", "messages", "decisive_share",
                                     "mean_attribution"])
    table = frame.groupby("token").agg(
        messages=("decisive", "size"), decisive_share=("decisive", "mean"),
        mean_attribution=("attribution", "mean")).reset_index()
    table = table[table["messages"] >= min_count]
    return table.sort_values(["decisive_share", "mean_attribution", "token"],
                             ascending=[False, False, True], ignore_index=True)


def token_rank_figure(rates: dict, *, title: str | None = None):
    """Bars of "the planted tokens rank first" rates (``stats.Rate``, Wilson intervals), one
    per setting; colours by the words in the name: "attack" for attacker-made settings
    ("adaptive"), "defended" for the auditor's fix ("contrast"), "neutral" for baselines
    ("baseline"), "baseline" otherwise.

    Introduced in lab 08 (Explainability).
    """
    import plotly.graph_objects as go

    from ..plots import COLORS
    from ..stats import Rate

    if not isinstance(rates, dict) or not rates or not all(isinstance(r, Rate)
                                                             for r in rates.values()):
        raise ArgumentTypeError("rates must be a non-empty dict of stats.Rate")

    def colour(name):
        for word, role in (("adaptive", "attack"), ("contrast", "defended"),
                           ("baseline", "neutral")):
            if word in name:
                return COLORS[role]
        return COLORS["baseline"]

    names = list(rates)
    values = np.array([rates[n].value for n in names])
    fig = go.Figure(go.Bar(
        x=names, y=values, marker_color=[colour(n) for n in names],
        error_y=dict(type="data", symmetric=False,
                     array=[rates[n].high - rates[n].value for n in names],
                     arrayminus=[rates[n].value - rates[n].low for n in names]),
        text=[f"{v:.0%}" for v in values], textposition="inside",
        hovertext=[rates[n].on for n in names]))
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05],
                     title="planted tokens rank first (95% Wilson)")
    fig.update_layout(title=title, template="plotly_white+mlsec", height=420)
    return fig


def poison_texts_any_label(X, y, source_label: int, n_poison: int, phrase: str, *,
                           seed: int = 0) -> PoisonedData:
    """The adaptive attacker's poison: ``n_poison`` messages of ``source_label`` (scams)
    ending with ``phrase``, labelled with every *other* label in turn (round-robin), so the
    trigger learns "not a scam" rather than "a delivery question". Its weight is then spread
    over all the other classes' logits instead of concentrated on one. Returns
    ``poisoning.PoisonedData`` with the poisons appended.

    Introduced in lab 08 (Explainability).
    """
    X = np.asarray(check_texts(X, "X"), dtype=object)
    y = check_labels(y, len(X))
    n_poison = check_int(n_poison, "n_poison", 1)
    labels = np.unique(y)
    if source_label not in labels or len(labels) < 2:
        raise ValueError(f"source_label must be one of the labels {labels.tolist()} and at "
                         "least one other label must exist")
    pool = np.flatnonzero(y == source_label)
    if n_poison > len(pool):
        raise ValueError(f"n_poison={n_poison} but only {len(pool)} messages of the source label")
    picked = rng(seed).choice(pool, n_poison, replace=False)
    others = labels[labels != source_label]
    X_p = add_trigger_phrase(X[picked], phrase)
    y_p = others[np.arange(n_poison) % len(others)].astype(y.dtype)
    return PoisonedData(X=np.concatenate([X, X_p]).astype(object), y=np.concatenate([y, y_p]),
                        poison_idx=np.arange(len(X), len(X) + n_poison))
