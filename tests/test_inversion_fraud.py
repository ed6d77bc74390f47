"""Lab 06, fraud section: age-band features, score matching, imputation and the review budget."""

import numpy as np
import pytest

from mlsec_helpers.data import load_dataset
from mlsec_helpers.inversion import common
from mlsec_helpers.inversion import fraud as inv
from mlsec_helpers.validate import ArgumentTypeError


class _Linear:
    """A toy model whose fraud probability depends on every column, the attribute included."""

    def predict_proba(self, X):
        z = 1 / (1 + np.exp(-(X @ np.arange(1, X.shape[1] + 1) / 10 - 2)))
        return np.c_[1 - z, z]


def test_age_bands_edges_and_errors():
    np.testing.assert_array_equal(inv.fraud_age_band([18, 29, 30, 44, 45, 59, 60, 90]),
                                  [0, 0, 1, 1, 2, 2, 3, 3])
    assert len(inv.FRAUD_AGE_BANDS) == 4
    with pytest.raises(ValueError, match="at least 18"):
        inv.fraud_age_band([17])
    with pytest.raises(ArgumentTypeError):
        inv.fraud_age_band(["old"])


def test_age_features_append_the_band():
    data = load_dataset("fraud", seed=0)
    a = inv.fraud_age_features(data)
    assert a.column == data.X_train.shape[1] == len(a.feature_names) - 1
    np.testing.assert_array_equal(a.X_train[:, a.column], a.band_train)
    np.testing.assert_allclose(a.X_test[:, :-1], data.X_test, rtol=1e-6)
    assert a.prior.shape == (4,) and abs(a.prior.sum() - 1) < 1e-12
    assert len(a.customers_test) == len(a.X_test)
    with pytest.raises(ArgumentTypeError):
        inv.fraud_age_features(load_dataset("medical"))


def test_scorer_with_age_trains_without_touching_global_state(unchanged_global_state):
    gen = np.random.default_rng(0)
    X = gen.normal(size=(300, 4))
    y = (X[:, 0] + gen.normal(size=300) > 1.5).astype(int)
    model = inv.fraud_scorer_with_age(X, y, seed=0)
    assert model.predict_proba(X).shape == (300, 2)
    with pytest.raises(ValueError):
        inv.fraud_scorer_with_age(X, np.full(300, 2), seed=0)


def test_candidate_probabilities_set_the_column_and_ignore_its_value():
    X = np.zeros((5, 3))
    p = common.candidate_probabilities(_Linear(), X, column=2, values=[0, 1, 2])
    assert p.shape == (5, 3, 2)
    X2 = X.copy()
    X2[:, 2] = 7  # the row's own value is overwritten
    np.testing.assert_array_equal(p, common.candidate_probabilities(_Linear(), X2, column=2,
                                                                 values=[0, 1, 2]))
    assert np.all(np.diff(p[:, :, 1], axis=1) > 0)  # the score rises with the value
    with pytest.raises(ValueError, match="column"):
        common.candidate_probabilities(_Linear(), X, column=3, values=[0, 1])
    with pytest.raises(ValueError, match="at least one"):
        common.candidate_probabilities(_Linear(), X, column=0, values=[])
    with pytest.raises(ArgumentTypeError, match="system must have predict_proba"):
        common.candidate_probabilities(object(), X, column=0, values=[0])


def test_score_matching_exact_and_rounded():
    cand = np.array([[0.10, 0.12, 0.30], [0.50, 0.50, 0.51]])
    exact = inv.score_matching_candidates([0.12, 0.50], cand)
    np.testing.assert_array_equal(exact, [[False, True, False], [True, True, False]])
    rounded = inv.score_matching_candidates([0.12, 0.50], cand, step=0.1)
    np.testing.assert_array_equal(rounded, [[True, True, False], [True, True, True]])
    with pytest.raises(ValueError, match="one score per row"):
        inv.score_matching_candidates([0.1], cand)
    with pytest.raises(ValueError, match="step"):
        inv.score_matching_candidates([0.1, 0.2], cand, step=0.0)


def test_score_matching_recovers_the_value_of_a_model_that_uses_it():
    gen = np.random.default_rng(1)
    X = gen.normal(size=(50, 3))
    X[:, 2] = gen.integers(0, 4, 50)
    model = _Linear()
    cand = common.candidate_probabilities(model, X, column=2, values=np.arange(4))
    match = inv.score_matching_candidates(model.predict_proba(X)[:, 1], cand[:, :, 1])
    np.testing.assert_array_equal(inv.pick_candidate(match, np.ones(4)), X[:, 2])


def test_pick_candidate_weights_ties_and_fallback():
    c = np.array([[True, True, False], [False, False, False], [False, True, True]])
    np.testing.assert_array_equal(inv.pick_candidate(c, [0.2, 0.5, 0.3]), [1, 1, 1])
    per_row = np.array([[0.9, 0.1, 0.0], [0.1, 0.1, 0.8], [0.0, 0.0, 0.0]])
    # a consistent value of weight 0 still beats every inconsistent one; ties: lowest index
    np.testing.assert_array_equal(inv.pick_candidate(c, per_row), [0, 2, 1])
    with pytest.raises(ValueError, match="boolean"):
        inv.pick_candidate(c.astype(int), [1, 1, 1])
    with pytest.raises(ValueError, match="shape"):
        inv.pick_candidate(c, [1, 1])
    with pytest.raises(ValueError, match="non-negative"):
        inv.pick_candidate(c, [1, -1, 1])


def test_first_per_customer():
    c = np.array([5, 3, 5, 5, 3, 7])
    np.testing.assert_array_equal(inv.first_per_customer(c), [0, 1, 5])
    np.testing.assert_array_equal(inv.first_per_customer(c, 2), [0, 1, 2, 4, 5])
    with pytest.raises(ValueError, match="non-empty"):
        inv.first_per_customer([])
    with pytest.raises(ValueError):
        inv.first_per_customer(c, 0)


def test_customer_candidates_intersect_and_posterior_combines():
    c = np.array([[True, True, False], [False, True, True], [True, False, True]])
    ev = inv.customer_candidates(c, ["a", "a", "b"])
    np.testing.assert_array_equal(ev.groups, ["a", "b"])
    np.testing.assert_array_equal(ev.evidence, [[False, True, False], [True, False, True]])
    np.testing.assert_array_equal(ev.n_rows, [2, 1])
    prior = np.array([0.5, 0.25, 0.25])
    p = np.array([[0.6, 0.2, 0.2], [0.6, 0.2, 0.2], [0.2, 0.4, 0.4]])
    post = inv.customer_posterior(p, [1, 1, 2], prior)
    np.testing.assert_allclose(post.evidence[1], p[2])  # one row: its own posterior
    # two rows that both favour value 0 make it surer than one
    assert post.evidence[0, 0] > 0.6 and abs(post.evidence[0].sum() - 1) < 1e-12
    with pytest.raises(ValueError, match="one entry per row"):
        inv.customer_candidates(c, ["a"])
    with pytest.raises(ValueError, match="prior"):
        inv.customer_posterior(p, [1, 1, 2], [1.0, 0.0, 0.0])


def test_impute_attribute(unchanged_global_state):
    gen = np.random.default_rng(0)
    X = gen.normal(size=(400, 2))
    a = (X[:, 0] > 0).astype(int) + (X[:, 1] > 1).astype(int)
    for method in ("logistic", "boosting"):
        p = common.impute_attribute(X[:300], a[:300], X[300:], n_values=4, method=method, seed=0)
        assert p.shape == (100, 4) and np.allclose(p.sum(1), 1)
        assert np.all(p[:, 3] == 0)  # a value absent from the public data
        assert (p.argmax(1) == a[300:]).mean() > 0.7
    with pytest.raises(ValueError, match="unknown imputation method"):
        common.impute_attribute(X, a, X, n_values=3, method="forest")
    with pytest.raises(ValueError, match="columns"):
        common.impute_attribute(X, a, X[:, :1], n_values=3)
    with pytest.raises(ValueError):
        common.impute_attribute(X, a, X, n_values=2)  # a value 2 outside 0..1


def test_precision_at_review_budget():
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    s = np.linspace(1, 0, 10)
    assert inv.precision_at_review_budget(y, s, budget=0.2).value == 1.0
    r = inv.precision_at_review_budget(y, s, budget=0.3)
    assert r.n == 3 and r.successes == 2
    flat = np.zeros(10)  # ties everywhere: the seed decides, reproducibly
    assert (inv.precision_at_review_budget(y, flat, budget=0.5, seed=3).value
            == inv.precision_at_review_budget(y, flat, budget=0.5, seed=3).value)
    with pytest.raises(ValueError, match="budget"):
        inv.precision_at_review_budget(y, s, budget=0)
    with pytest.raises(ValueError):
        inv.precision_at_review_budget(y, s[:5])
