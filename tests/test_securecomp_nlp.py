"""Lab 10, NLP: the triage cut at its TF-IDF vector, encrypted class scores, the idf leak."""

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from mlsec_helpers import systems
from mlsec_helpers.securecomp import common as sc_common
from mlsec_helpers.securecomp import nlp as sc_nlp
from mlsec_helpers.securecomp.results import EncryptedTriage, TriageParts

TEXTS = ["my card is lost", "lost my card today", "card lost please block",
         "refund my payment", "I want a refund", "refund the payment please",
         "where is my parcel", "parcel not delivered", "my parcel is late"] * 3
LABELS = [0, 0, 0, 1, 1, 1, 2, 2, 2] * 3


@pytest.fixture(scope="module")
def triage():
    system = systems.SklearnSystem(systems.text_triage_pipeline(char_ngrams=False),
                                   domain="nlp", text=True)
    return system.fit(np.array(TEXTS, dtype=object), np.array(LABELS))


@pytest.fixture(scope="module")
def context():
    return sc_common.ckks_context(coeff_mod_bit_sizes=(60, 40, 60))


def test_triage_parts_reproduce_the_decision_function(triage):
    parts = sc_nlp.triage_parts(triage)
    assert isinstance(parts, TriageParts)
    assert parts.W.shape == (3, parts.n_features) and parts.b.shape == (3,)
    X = sc_nlp.client_vectors(parts, TEXTS[:4])
    assert X.shape == (4, parts.n_features)
    expected = triage.estimator.decision_function(TEXTS[:4])
    np.testing.assert_allclose(X @ parts.W.T + parts.b, expected, atol=1e-12)


def test_triage_parts_and_client_vectors_refuse_bad_input(triage):
    with pytest.raises(TypeError):
        sc_nlp.triage_parts(object())
    unfitted = systems.SklearnSystem(systems.text_triage_pipeline(char_ngrams=False),
                                     domain="nlp", text=True)
    with pytest.raises(ValueError, match="not fitted"):
        sc_nlp.triage_parts(unfitted)
    parts = sc_nlp.triage_parts(triage)
    with pytest.raises(TypeError, match="one string"):
        sc_nlp.client_vectors(parts, "my card is lost")
    with pytest.raises(ValueError):
        sc_nlp.client_vectors(parts, [])
    with pytest.raises(TypeError):
        sc_nlp.client_vectors("parts", ["a"])


@pytest.mark.parametrize("packed", [True, False])
def test_encrypted_scores_match_plaintext_over_two_chunks(context, packed):
    gen = np.random.default_rng(0)
    d = 5000  # more than 4,096 slots: two ciphertexts per message
    X = np.zeros((2, d))
    X[:, gen.choice(d, 60, replace=False)] = gen.random((2, 60))
    W, b = gen.normal(size=(3, d)), np.array([0.5, -1.0, 2.0])
    res = sc_nlp.encrypted_triage_scores(context, X, W, b, packed=packed)
    assert isinstance(res, EncryptedTriage)
    np.testing.assert_allclose(res.scores, X @ W.T + b, atol=1e-4)
    assert res.ciphertexts_up == 2 and res.packed is packed
    assert res.ciphertexts_down == (1 if packed else 3)
    assert res.bytes_up_per_message > 2 * 100_000 and res.bytes_down_per_message > 0
    assert res.bytes_per_message == res.bytes_up_per_message + res.bytes_down_per_message
    assert res.ms_per_message >= res.compute_ms_per_message > 0


def test_encrypted_scores_refuse_bad_input(context, unchanged_global_state):
    X, W, b = np.ones((1, 8)), np.ones((3, 8)), np.zeros(3)
    with pytest.raises(ValueError, match="features"):
        sc_nlp.encrypted_triage_scores(context, np.ones((1, 7)), W, b, packed=True)
    with pytest.raises(ValueError, match="biases"):
        sc_nlp.encrypted_triage_scores(context, X, W, np.zeros(2), packed=True)
    with pytest.raises(ValueError, match="up to 16 classes"):
        sc_nlp.encrypted_triage_scores(context, X, np.ones((17, 8)), np.zeros(17), packed=True)
    with pytest.raises(ValueError, match="at least one"):
        sc_nlp.encrypted_triage_scores(context, np.ones((0, 8)), W, b, packed=True)
    with pytest.raises(TypeError):
        sc_nlp.encrypted_triage_scores(context, X, W, b, packed=1)
    with pytest.raises(TypeError):
        sc_nlp.encrypted_triage_scores("context", X, W, b, packed=True)
    no_galois = sc_common.ckks_context(coeff_mod_bit_sizes=(60, 40, 60), galois=False)
    with pytest.raises(ValueError, match="Galois"):
        sc_nlp.encrypted_triage_scores(no_galois, X, W, b, packed=False)


def test_idf_document_counts_recover_the_training_set():
    docs = ["apple pear plum", "apple pear", "apple kiwi", "pear kiwi lime", "plum lime",
            "apple", "kiwi kiwi lime", "fig date"]
    vec = TfidfVectorizer(min_df=2).fit(docs)
    leak = sc_nlp.idf_document_counts(vec)
    assert leak.n_documents == len(docs)
    true = np.asarray((CountVectorizer(vocabulary=vec.vocabulary_).transform(docs) > 0)
                      .sum(axis=0)).ravel()
    np.testing.assert_array_equal(leak.document_counts, true)
    assert list(leak.terms) == list(vec.get_feature_names_out())


def test_idf_document_counts_on_the_triage_union(triage):
    leak = sc_nlp.idf_document_counts(sc_nlp.triage_parts(triage).vectorizer)
    assert leak.n_documents == len(TEXTS)
    again = sc_nlp.idf_document_counts(sc_nlp.triage_parts(triage).vectorizer)
    np.testing.assert_array_equal(leak.document_counts, again.document_counts)


def test_idf_document_counts_refuse_bad_input():
    with pytest.raises(TypeError):
        sc_nlp.idf_document_counts(CountVectorizer().fit(["apple pear", "pear plum"]))
    with pytest.raises(ValueError, match="not fitted"):
        sc_nlp.idf_document_counts(TfidfVectorizer())
    with pytest.raises(ValueError, match="min_df"):
        sc_nlp.idf_document_counts(TfidfVectorizer(min_df=0.1).fit(["apple pear", "pear plum"]))
