import numpy as np
import pytest

from mlsec_helpers import extraction

P = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3]])


def victim(X):
    return P[np.asarray(X, dtype=int) % 3]


def test_one_hot_labels_is_right_where_arts_class_labels_is_not():
    from art.defences.postprocessor import ClassLabels

    assert np.array_equal(extraction.one_hot_labels(P[:2]), [[1, 0, 0], [0, 0, 1]])
    assert np.array_equal(ClassLabels()(P[:2]), [[1, 0, 1], [1, 0, 1]])  # the ART bug we avoid


def test_harden_keeps_the_top_label_and_changes_the_rest():
    for output in extraction.OUTPUTS:
        answers = extraction.harden(P, output, decimals=1)
        assert np.array_equal(extraction.answer_labels(answers), P.argmax(1)), output
    assert np.array_equal(extraction.harden(P, "proba"), P)
    assert np.allclose(extraction.harden(np.array([[0.666, 0.334]]), "rounded", decimals=1),
                       [[0.7, 0.3]])
    rs = extraction.harden(P, "reverse_sigmoid", beta=1.0, gamma=0.1)
    assert not np.allclose(rs, P) and np.allclose(rs.sum(1), 1)
    with pytest.raises(ValueError, match="output"):
        extraction.harden(P, "logits")
    with pytest.raises(ValueError, match="probabilities"):
        extraction.harden(P * 3, "proba")
    with pytest.raises(ValueError, match="decimals"):
        extraction.harden(P, "rounded", decimals=-1)


def test_the_api_counts_limits_and_logs_queries():
    api = extraction.PredictionAPI(victim, output="labels", max_queries=5, log=True)
    assert np.array_equal(api([0, 1]), [[1, 0, 0], [0, 0, 1]])
    assert api.queries == 2
    api(np.array([2, 2, 0]))
    assert api.queries == 5 and len(api.query_log()) == 5
    with pytest.raises(extraction.QueryBudgetExceeded, match="5 queries"):
        api([1])
    assert api.queries == 5  # a refused call costs nothing
    api.reset()
    assert api.queries == 0 and api.query_log() == []
    texts = extraction.PredictionAPI(lambda t: P[[len(x) % 3 for x in t]], log=True)
    texts(["ab", "c"])
    assert texts.query_log() == ["ab", "c"] and "queries so far" in repr(texts)
    with pytest.raises(RuntimeError, match="log=True"):
        extraction.PredictionAPI(victim).query_log()
    with pytest.raises(ValueError, match="at least one"):
        api([])
    with pytest.raises(TypeError, match="probability function"):
        extraction.PredictionAPI("victim")
    with pytest.raises(ValueError, match="n = 2"):
        extraction.PredictionAPI(lambda X: P)([0, 1])


def test_fidelity_is_a_rate_with_an_interval():
    rate = extraction.fidelity(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), on="4 digits")
    assert rate.value == 0.75 and rate.low < 0.75 < rate.high and rate.n == 4
    with pytest.raises(ValueError, match="same"):
        extraction.fidelity(np.array([0, 1]), np.array([0]))


def test_prada_statistic_tells_natural_from_synthetic_distances():
    gen = np.random.default_rng(0)
    natural = gen.normal(5.0, 1.0, 200)
    synthetic = np.r_[gen.exponential(0.05, 180), gen.normal(6.0, 0.5, 20)]
    assert extraction.prada_statistic(natural) > 0.95 > extraction.prada_statistic(synthetic)
    assert extraction.prada_statistic(np.ones(5)) == 0.0
    with pytest.raises(ValueError, match="at least 3"):
        extraction.prada_statistic([1.0, 2.0])
    with pytest.raises(ValueError, match="non-negative"):
        extraction.prada_statistic([1.0, -2.0, 3.0])
