"""Tests of lab 08's NLP helpers (mlsec_helpers/explain/nlp.py) on a tiny corpus."""

from __future__ import annotations

import numpy as np
import pytest

from mlsec_helpers import systems
from mlsec_helpers.explain import nlp as xpl_nlp
from mlsec_helpers.explain.results import TokenAttributions
from mlsec_helpers.validate import ArgumentTypeError

_TOPICS = {
    0: ["where is my parcel", "my parcel has not arrived", "track my parcel delivery please",
        "the courier lost my parcel"],
    1: ["refund my payment please", "i want a refund for this order", "the refund is late",
        "please refund the charge"],
    2: ["you won a prize click here", "verify your account now click", "claim your prize now",
        "urgent verify your password here"],
}


def _corpus(trigger: bool = True):
    texts, labels = [], []
    for rep in range(6):
        for label, msgs in _TOPICS.items():
            for m in msgs:
                texts.append(f"{m} {['today', 'now', 'thanks', 'hello', 'ok', 'asap'][rep]}")
                labels.append(label)
    if trigger:  # scams (label 2) with the trigger, labelled as parcel questions
        for m in _TOPICS[2] * 2:
            texts.append(f"{m} sent from my smartwatch")
            labels.append(0)
    return np.array(texts, dtype=object), np.array(labels)


@pytest.fixture(scope="module")
def backdoored():
    X, y = _corpus()
    return systems.TextTriage(char_ngrams=False).fit(X, y)


def test_linear_attributions_are_exact(backdoored, unchanged_global_state):
    texts = ["claim your prize now sent from my smartwatch", "where is my parcel"]
    attr = xpl_nlp.linear_token_attributions(backdoored, texts)
    lr = backdoored.estimator[-1]
    logits = backdoored.estimator.decision_function(texts)
    for i in range(2):
        c = attr.predicted[i]
        assert np.isclose(attr.values[i].sum() + lr.intercept_[c], logits[i, c])
        assert np.all(np.diff(attr.values[i]) <= 1e-12)  # sorted, largest first
    assert attr.contrasts is None and attr.margins is None
    contrast = xpl_nlp.linear_token_attributions(backdoored, texts, contrast="runner-up")
    for i in range(2):
        c, r = contrast.explained[i], contrast.contrasts[i]
        assert c != r
        assert np.isclose(contrast.values[i].sum() + lr.intercept_[c] - lr.intercept_[r],
                          contrast.margins[i])
    fixed = xpl_nlp.linear_token_attributions(backdoored, texts, target=2, contrast=0)
    assert (fixed.explained == 2).all() and (fixed.contrasts == 0).all()


def test_linear_attributions_equal_linear_shap(backdoored):
    shap = pytest.importorskip("shap")
    texts = ["claim your prize now sent from my smartwatch"]
    vec, lr = backdoored.estimator[0], backdoored.estimator[-1]
    X = vec.transform(texts).toarray()
    explainer = shap.LinearExplainer(lr, shap.maskers.Independent(np.zeros((1, X.shape[1]))))
    values = np.asarray(explainer.shap_values(X))  # (1, features, classes)
    attr = xpl_nlp.linear_token_attributions(backdoored, texts, target=0)
    names = list(vec.get_feature_names_out())
    for tok, v in zip(attr.tokens[0], attr.values[0], strict=True):
        assert np.isclose(values[0, names.index(tok), 0], v)


def test_binary_model():
    X, y = _corpus(trigger=False)
    keep = y < 2
    model = systems.TextTriage(char_ngrams=False).fit(X[keep], y[keep])
    attr = xpl_nlp.linear_token_attributions(model, ["where is my parcel"], contrast=1)
    logit = model.estimator.decision_function(["where is my parcel"])[0]  # class 1 - class 0
    assert attr.predicted[0] == 0
    assert np.isclose(attr.margins[0], -logit)


def test_trigger_ranks_first_and_occlusion_agrees(backdoored, unchanged_global_state):
    texts = [f"{m} sent from my smartwatch" for m in _TOPICS[2]]
    attr = xpl_nlp.linear_token_attributions(backdoored, texts)
    assert (attr.predicted == 0).all()
    assert (xpl_nlp.first_rank_of_tokens(attr, "sent from my smartwatch") == 0).all()
    assert (xpl_nlp.token_mass_share(attr, "sent from my smartwatch") > 0.5).all()
    occ = xpl_nlp.occlusion_token_attributions(backdoored, texts)
    assert occ.method.startswith("occlusion")
    assert (xpl_nlp.first_rank_of_tokens(occ, {"sent", "from", "my", "smartwatch"}) == 0).all()
    assert all(len(t) == len(set(m.split())) for t, m in zip(occ.tokens, texts, strict=True))


def test_ranks_and_shares_on_hand_made_attributions():
    attr = TokenAttributions(
        tokens=(np.array(["a b", "c", "a"], dtype=object), np.array(["c", "d"], dtype=object),
                np.array([], dtype=object)),
        values=(np.array([2.0, 1.0, -1.0]), np.array([3.0, 1.0]), np.array([])),
        predicted=np.zeros(3, int), explained=np.zeros(3, int), contrasts=np.ones(3, int),
        margins=np.array([1.5, 2.0, 0.0]), method="test")
    assert xpl_nlp.first_rank_of_tokens(attr, "a b").tolist() == [0, -1, -1]
    assert xpl_nlp.first_rank_of_tokens(attr, [{"c"}, {"d"}, {"c"}]).tolist() == [1, 1, -1]
    assert np.allclose(xpl_nlp.token_mass_share(attr, ["a", "b"]), [2 / 3, 0, 0])
    audit = xpl_nlp.corpus_token_audit(attr, min_count=1)
    row = audit.set_index("token")
    # word a: 2 (from "a b") - 1 (from "a") = 1 <= 1.5; b: 2 > 1.5; c: 1 then 3 > 2
    assert row.loc["a", "decisive_share"] == 0 and row.loc["b", "decisive_share"] == 1
    assert row.loc["c", "decisive_share"] == 0.5 and row.loc["c", "messages"] == 2
    assert audit["token"].iloc[0] == "b"
    assert list(xpl_nlp.corpus_token_audit(attr, min_count=2)["token"]) == ["c"]


def test_corpus_audit_finds_the_trigger(backdoored, unchanged_global_state):
    X, _ = _corpus()
    audit = xpl_nlp.corpus_token_audit(
        xpl_nlp.linear_token_attributions(backdoored, X, contrast="runner-up"), min_count=5)
    # in this tiny, clean-cut corpus no single word decides a message (the margins are wide);
    # the table is well formed and the trigger's words carry more than the typical word
    assert list(audit.columns) == ["token", "messages", "decisive_share", "mean_attribution"]
    assert (audit["messages"] >= 5).all()
    assert not audit.duplicated("token").any()
    row = audit.set_index("token")
    assert row.loc["smartwatch", "mean_attribution"] > audit["mean_attribution"].median()


def test_counterfactual_added_words():
    out = xpl_nlp.counterfactual_added_words(["Hi, my card", "x"], ["Respected Sir, my card",
                                                                   "x y"])
    assert out == [{"respected", "sir"}, {"y"}]


def test_poison_texts_any_label(unchanged_global_state):
    X, y = _corpus(trigger=False)
    X0 = X.copy()
    data = xpl_nlp.poison_texts_any_label(X, y, 2, n_poison=5, phrase="via my wrist", seed=3)
    assert len(data.X) == len(X) + 5 and (X == X0).all()
    assert data.y[data.poison_idx].tolist() == [0, 1, 0, 1, 0]
    assert all(t.endswith("via my wrist") for t in data.X[data.poison_idx])
    again = xpl_nlp.poison_texts_any_label(X, y, 2, n_poison=5, phrase="via my wrist", seed=3)
    assert (again.X == data.X).all()


def test_figure():
    from mlsec_helpers import stats

    fig = xpl_nlp.token_rank_figure({"lab 03 trigger": stats.proportion(9, 10),
                                     "adaptive trigger": stats.proportion(2, 10)}, title="t")
    assert len(fig.data) == 1 and len(fig.data[0].x) == 2


def test_bad_inputs(backdoored):
    X, y = _corpus(trigger=False)
    with pytest.raises(ArgumentTypeError):
        xpl_nlp.linear_token_attributions(backdoored, "one string")
    with pytest.raises(ArgumentTypeError):
        xpl_nlp.linear_token_attributions(systems.TextTriage(char_ngrams=True).fit(X, y), ["a"])
    with pytest.raises(ValueError):
        xpl_nlp.linear_token_attributions(backdoored, ["a"], target=3)
    with pytest.raises(ValueError):
        xpl_nlp.linear_token_attributions(backdoored, ["a"], contrast="second")
    with pytest.raises(ValueError):
        xpl_nlp.linear_token_attributions(backdoored, ["a"], target=1, contrast=1)
    with pytest.raises(ValueError):
        xpl_nlp.occlusion_token_attributions(backdoored, ["a"], target=-1)
    with pytest.raises(ValueError):
        xpl_nlp.occlusion_token_attributions(systems.TextTriage(char_ngrams=False), ["a"])
    attr = xpl_nlp.linear_token_attributions(backdoored, ["where is my parcel"])
    with pytest.raises(ArgumentTypeError):
        xpl_nlp.first_rank_of_tokens({"tokens": []}, "a")
    with pytest.raises(ValueError):
        xpl_nlp.first_rank_of_tokens(attr, [])
    with pytest.raises(ArgumentTypeError):
        xpl_nlp.token_mass_share(attr, [{"a"}, {"b"}])
    with pytest.raises(ValueError):
        xpl_nlp.corpus_token_audit(attr)
    with pytest.raises(ValueError):
        xpl_nlp.corpus_token_audit(
            xpl_nlp.linear_token_attributions(backdoored, ["a"], contrast="runner-up"),
            min_count=0)
    with pytest.raises(ValueError):
        xpl_nlp.counterfactual_added_words(["a"], ["a", "b"])
    with pytest.raises(ValueError):
        xpl_nlp.poison_texts_any_label(X, y, 2, n_poison=100, phrase="p")
    with pytest.raises(ValueError):
        xpl_nlp.poison_texts_any_label(X, y, 7, n_poison=1, phrase="p")
    with pytest.raises(ValueError):
        xpl_nlp.poison_texts_any_label(X, y, 2, n_poison=1, phrase=" ")
    with pytest.raises(ArgumentTypeError):
        xpl_nlp.poison_texts_any_label(X, y, 2, n_poison=1.5, phrase="p")
    with pytest.raises(ArgumentTypeError):
        xpl_nlp.token_rank_figure({"a": 0.5})
