import numpy as np
import pytest

from mlsec_helpers import extraction, systems
from mlsec_helpers.extraction import nlp as xnlp
from mlsec_helpers.nlp_corpus import LABELS, generate_support_corpus
from mlsec_helpers.validate import ArgumentTypeError


@pytest.fixture(scope="module")
def victim():
    """A triage model trained on a small corpus of seed 0, and thief texts of seed 7."""
    corpus = generate_support_corpus(400, seed=0)
    y = corpus["label"].map({label: k for k, label in enumerate(LABELS)}).to_numpy()
    system = systems.TextTriage().fit(corpus["text"].tolist(), y)
    texts = xnlp.surrogate_corpus(300, seed=7)
    return system, texts


def test_surrogate_corpus_is_seeded_and_refuses_the_victims_seed():
    a = xnlp.surrogate_corpus(100, seed=5)
    assert a == xnlp.surrogate_corpus(100, seed=5) and len(a) == 100
    assert all(isinstance(t, str) and t for t in a)
    assert a != xnlp.surrogate_corpus(100, seed=6)
    with pytest.raises(ValueError, match="victim's own training corpus"):
        xnlp.surrogate_corpus(100, seed=0)
    with pytest.raises(ValueError, match=">= 100"):
        xnlp.surrogate_corpus(10, seed=5)


def test_steal_text_model_copies_labels_from_answers(victim, unchanged_global_state):
    system, texts = victim
    api = extraction.PredictionAPI(system.predict_proba)
    answers = api(texts)
    assert api.queries == len(texts)
    stolen = xnlp.steal_text_model(texts, answers)
    assert stolen.queries == len(texts) and not stolen.labels_only
    agree = (stolen.predict(texts) == system.predict(texts)).mean()
    assert agree > 0.9  # on its own training texts
    again = xnlp.steal_text_model(texts, answers)
    assert np.array_equal(stolen.predict(texts[:50]), again.predict(texts[:50]))


def test_labels_only_uses_nothing_but_the_top_label(victim):
    system, texts = victim
    proba = system.predict_proba(texts)
    from_proba = xnlp.steal_text_model(texts, proba, labels_only=True)
    from_one_hot = xnlp.steal_text_model(texts, extraction.one_hot_labels(proba))
    assert from_proba.labels_only
    assert np.array_equal(from_proba.predict(texts), from_one_hot.predict(texts))


@pytest.mark.parametrize(("texts", "answers", "kwargs", "error", "words"), [
    (["a b", "c d"], np.ones((3, 2)) / 2, {}, ValueError, "one row per text"),
    (["a b", "c d"], np.ones(2), {}, ValueError, "n_classes"),
    (["a b", "c d"], np.array([[0.5, np.nan], [0.5, 0.5]]), {}, ValueError, "finite"),
    ("a b", np.ones((3, 2)), {}, ArgumentTypeError, "not one string"),
    (["a b", "c d"], np.ones((2, 2)) / 2, {"labels_only": 1}, ArgumentTypeError,
     "True or False"),
    (["a b", "c d"], np.ones((2, 2)) / 2, {"alpha": 0.0}, ValueError, "alpha"),
])
def test_steal_text_model_rejects_bad_input(texts, answers, kwargs, error, words):
    with pytest.raises(error, match=words):
        xnlp.steal_text_model(texts, answers, **kwargs)


def test_query_with_keys_fills_keys_in_order_and_refuses_a_shortfall(victim):
    system, texts = victim
    keys = [extraction.PredictionAPI(system.predict_proba, output="labels", max_queries=40)
            for _ in range(3)]
    answers = xnlp.query_with_keys(keys, texts[:100])
    assert [k.queries for k in keys] == [40, 40, 20]
    direct = extraction.PredictionAPI(system.predict_proba, output="labels")(texts[:100])
    assert np.array_equal(answers, direct)
    with pytest.raises(extraction.QueryBudgetExceeded, match="20 queries left"):
        xnlp.query_with_keys(keys, texts[:21])
    assert [k.queries for k in keys] == [40, 40, 20]  # nothing was asked
    with pytest.raises(ArgumentTypeError, match="PredictionAPI"):
        xnlp.query_with_keys([system], texts[:2])
    with pytest.raises(ValueError, match="at least one text"):
        xnlp.query_with_keys(keys, [])


def test_theft_curve_counts_queries_once_and_rises_with_the_budget(victim):
    system, texts = victim
    evaluation = texts[200:]
    api = extraction.PredictionAPI(system.predict_proba)
    curve = xnlp.theft_curve(api, texts[:200], [20, 200], evaluation,
                             system.predict(evaluation), on="100 texts")
    assert api.queries == 200 and list(curve["budget"]) == [20, 200]
    assert curve["value"].iloc[1] > curve["value"].iloc[0]
    assert ((curve["low"] <= curve["value"]) & (curve["value"] <= curve["high"])).all()
    assert curve["fidelity"].iloc[0].on == "100 texts"


@pytest.mark.parametrize(("budgets", "words"), [
    ([200, 20], "increasing"),
    ([], "increasing"),
    ([20, 500], "exceeds the pool"),
])
def test_theft_curve_rejects_bad_budgets(victim, budgets, words):
    system, texts = victim
    api = extraction.PredictionAPI(system.predict_proba)
    with pytest.raises(ValueError, match=words):
        xnlp.theft_curve(api, texts[:200], budgets, texts[:5], np.zeros(5))
    assert api.queries == 0


def test_theft_curve_needs_one_victim_label_per_text(victim):
    system, texts = victim
    api = extraction.PredictionAPI(system.predict_proba)
    with pytest.raises(ValueError, match="one label per evaluation text"):
        xnlp.theft_curve(api, texts[:50], [50], texts[:5], np.zeros(4))
