"""Lab 09, fraud section: the banks' clients, the rare-event measures, the DP accounting."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score
from sklearn.preprocessing import StandardScaler

from mlsec_helpers import federated
from mlsec_helpers.federated import common, fraud


def _frame(n_customers=60, per_customer=3, seed=0):
    gen = np.random.default_rng(seed)
    customers = np.repeat(np.arange(n_customers), per_customer)
    regions = np.array(["central", "north", "east"])[customers % 3]
    return pd.DataFrame({"customer_id": customers, "customer_region": regions,
                         "x": gen.normal(size=len(customers))})



def test_bank_split_gives_each_card_to_one_bank():
    frame = _frame()
    banks = fraud.bank_split(frame, 3, 0.5, seed=0, min_customers=5)
    assert len(banks) == 3
    rows = np.concatenate(banks)
    assert np.array_equal(np.sort(rows), np.arange(len(frame)))
    owners = {}
    for b, part in enumerate(banks):
        for c in frame["customer_id"].to_numpy()[part]:
            assert owners.setdefault(c, b) == b
    again = fraud.bank_split(frame, 3, 0.5, seed=0, min_customers=5)
    assert all(np.array_equal(a, b) for a, b in zip(banks, again, strict=True))
    with pytest.raises(ValueError):
        fraud.bank_split(frame.drop(columns="customer_region"), 3, 0.5)
    with pytest.raises(ValueError):
        fraud.bank_split(frame, 3, -1.0)


def test_secure_standardiser_matches_pooled_scaler_even_for_large_sums():
    gen = np.random.default_rng(1)
    X = np.c_[gen.normal(3000.0, 500.0, 90), gen.normal(0.0, 1.0, 90), np.full(90, 7.0)]
    parts = [X[:20], X[20:55], X[55:]]
    agreed = federated.secure_standardiser(parts, seed=3)
    pooled = StandardScaler().fit(X)
    assert agreed.n == 90
    np.testing.assert_allclose(agreed.mean, pooled.mean_, rtol=0, atol=1e-7)
    np.testing.assert_allclose(agreed.scale[:2], pooled.scale_[:2], rtol=1e-6)
    assert agreed.scale[2] == 1.0  # a constant column is left unscaled
    assert agreed.max_error < 1e-5  # the float32 head/tail split keeps the big sums exact
    np.testing.assert_allclose(agreed.transform(X)[:, :2], pooled.transform(X)[:, :2],
                               atol=1e-5)
    with pytest.raises(TypeError):
        federated.secure_standardiser([X])
    with pytest.raises(ValueError, match="same number of columns"):
        federated.secure_standardiser([X, X[:, :2]])
    with pytest.raises(ValueError, match="columns"):
        agreed.transform(X[:, :2])


def test_logistic_scores_and_one_gradient_step_known_answer():
    assert np.allclose(federated.logistic_scores([1.0, -2.0, 0.5], [[1.0, 1.0], [0.0, 2.0]]),
                       [-0.5, -3.5])
    with pytest.raises(ValueError, match="weights and a bias"):
        federated.logistic_scores([1.0, 2.0], [[1.0, 1.0]])
    X = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    y = np.array([1, 0, 1])
    train = federated.logistic_clients([X, X], [y, y], steps=1, lr=1.0)
    new = train(0, np.zeros(3), 0)
    g = (0.5 - y) / 3  # the sigmoid of 0 is 0.5
    np.testing.assert_allclose(new, -np.r_[X.T @ g, g.sum()])
    weighted = federated.logistic_clients([X], [y], steps=1, lr=1.0,
                                          pos_weight=2.0)(0, np.zeros(3), 0)
    gw = (0.5 - y) * np.where(y == 1, 2.0, 1.0) / 5.0
    np.testing.assert_allclose(weighted, -np.r_[X.T @ gw, gw.sum()])
    with pytest.raises(ValueError, match="client"):
        train(2, np.zeros(3), 0)
    with pytest.raises(ValueError, match="3 entries"):
        train(0, np.zeros(4), 0)
    with pytest.raises(ValueError):
        federated.logistic_clients([X], [y[:2]])
    with pytest.raises(ValueError):
        federated.logistic_clients([X], [y], lr=0.0)
    with pytest.raises(TypeError):
        federated.logistic_clients(X, y)


def test_recall_at_alert_rate_known_answer():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    s = np.arange(10.0)[::-1]  # the first rows score highest
    r = fraud.recall_at_alert_rate(y, s, 0.3, on="ten")
    assert (r.value, r.successes, r.n) == (2 / 3, 2, 3) and r.low < r.value < r.high
    with pytest.raises(ValueError, match="no positive"):
        fraud.recall_at_alert_rate(np.zeros(5, int), np.arange(5.0))
    with pytest.raises(ValueError):
        fraud.recall_at_alert_rate(y, s, 1.5)


def test_pr_auc_matches_scikit_learn_with_ties_and_is_seeded():
    gen = np.random.default_rng(0)
    y = (gen.random(3000) < 0.03).astype(int)
    s = np.round(gen.normal(size=3000) + 1.5 * y, 1)  # many ties
    r = fraud.pr_auc_interval(y, s, seed=4, n_boot=400)
    assert r.value == pytest.approx(average_precision_score(y, s), abs=1e-12)
    assert r.low < r.value < r.high
    assert fraud.pr_auc_interval(y, s, seed=4, n_boot=400) == r
    assert fraud.pr_auc_interval(y, s, seed=5, n_boot=400).low != r.low
    perfect = fraud.pr_auc_interval([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], n_boot=50)
    assert perfect.value == 1.0
    with pytest.raises(ValueError, match="no positive"):
        fraud.pr_auc_interval([0, 0], [0.1, 0.2])
    with pytest.raises(ValueError):
        fraud.pr_auc_interval(y, s[:10])


def test_client_dp_epsilon():
    assert federated.client_dp_epsilon(0.0, 10, delta=1e-3) == float("inf")
    eps = [federated.client_dp_epsilon(z, 10, delta=1e-3) for z in (0.5, 1.0, 2.0)]
    assert eps[0] > eps[1] > eps[2] > 0
    assert federated.client_dp_epsilon(1.0, 20, delta=1e-3) > eps[1]
    with pytest.raises(ValueError):
        federated.client_dp_epsilon(1.0, 10, delta=0.0)
    with pytest.raises(ValueError):
        federated.client_dp_epsilon(-1.0, 10, delta=1e-3)


def test_a_federation_of_banks_learns_and_leaves_global_state(unchanged_global_state):
    gen = np.random.default_rng(0)
    X = gen.normal(size=(400, 3))
    y = (X[:, 0] + 0.3 * gen.normal(size=400) > 1.0).astype(int)
    parts = [np.arange(i, 400, 4) for i in range(4)]
    train = federated.logistic_clients([X[p] for p in parts], [y[p] for p in parts], steps=5,
                                   lr=1.0, pos_weight=3.0)
    run = common.run_federation(np.zeros(4), train, 4, 5, seed=0, evaluate=lambda w: (
        fraud.pr_auc_interval(y, federated.logistic_scores(w, X), n_boot=20).value))
    again = common.run_federation(np.zeros(4), train, 4, 5, seed=0)
    assert run.final > 0.8
    np.testing.assert_array_equal(run.params, again.params)
