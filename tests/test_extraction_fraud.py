import numpy as np
import pandas as pd
import pytest

from mlsec_helpers import extraction, systems
from mlsec_helpers.data import load_dataset
from mlsec_helpers.extraction import fraud as theft
from mlsec_helpers.validate import ArgumentTypeError


@pytest.fixture(scope="module")
def bank():
    data = load_dataset("fraud", seed=0)
    scorer = systems.FraudScorer(seed=0).fit(data.X_train, data.y_train)
    scores = scorer.predict_proba(data.X_train)[:, 1]
    threshold = float(np.quantile(scores[data.y_train == 0], 0.99))
    return data, scorer, threshold


def test_the_decision_api_answers_approve_or_decline_only(bank):
    data, scorer, threshold = bank
    api = theft.decision_api(scorer, threshold, max_queries=100)
    answers = api(data.X_test[:50])
    declined = scorer.predict_proba(data.X_test[:50])[:, 1] >= threshold
    assert set(np.unique(answers)) <= {0.0, 1.0} and np.array_equal(answers.argmax(1), declined)
    assert api.queries == 50
    with pytest.raises(extraction.QueryBudgetExceeded):
        api(data.X_test[:51])
    with pytest.raises(ValueError, match="threshold"):
        theft.decision_api(scorer, 1.5)
    with pytest.raises(Exception, match="not fitted"):
        theft.decision_api(systems.FraudScorer(), 0.5)


def test_random_and_active_thefts_spend_their_budget(bank, unchanged_global_state):
    data, scorer, threshold = bank
    pool = data.X_train[:4000]
    own = data.X_train[data.y_train == 1][:10]
    for strategy in theft.STRATEGIES:
        api = theft.decision_api(scorer, threshold)
        stolen = theft.steal_fraud_scorer(api, pool, n_queries=400, strategy=strategy,
                                          X_own=own, seed=0)
        assert stolen.queries == api.queries == 400 and not stolen.refused
        assert set(np.unique(stolen.predict(data.X_test[:100]))) <= {0, 1}
    # active learning finds more declines than random queries with the same budget
    counts = {s: theft.steal_fraud_scorer(theft.decision_api(scorer, threshold), pool,
                                          n_queries=400, strategy=s, X_own=own, seed=0).declines
              for s in theft.STRATEGIES}
    assert counts["active"] > counts["random"]


def test_a_thief_that_meets_the_budget_copies_what_it_got(bank):
    data, scorer, threshold = bank
    api = theft.decision_api(scorer, threshold, max_queries=250)
    pool = np.vstack([data.X_train[data.y_train == 1][:20], data.X_train[:3000]])
    stolen = theft.steal_fraud_scorer(api, pool, n_queries=1000, batch=100, seed=1)
    assert stolen.refused and stolen.queries == api.queries == 200


@pytest.mark.parametrize(("kwargs", "error", "words"), [
    ({"n_queries": 5}, ValueError, "n_queries"),
    ({"strategy": "greedy"}, ValueError, "strategy"),
    ({"rounds": 0}, ValueError, "rounds"),
    ({"X_own": np.zeros((400, 23))}, ValueError, "X_own"),
    ({"X_own": np.zeros((5, 4))}, ValueError, "X_own"),
    ({"seed": -1}, ValueError, "seed"),
])
def test_steal_rejects_bad_arguments(bank, kwargs, error, words):
    data, scorer, threshold = bank
    args = {"n_queries": 400, **kwargs}
    with pytest.raises(error, match=words):
        theft.steal_fraud_scorer(theft.decision_api(scorer, threshold), data.X_train[:2000],
                                 **args)
    with pytest.raises(ArgumentTypeError):
        theft.steal_fraud_scorer("api", data.X_train[:2000], n_queries=100)


def test_a_theft_that_sees_only_approvals_says_so(bank):
    data, scorer, threshold = bank
    legit = data.X_train[data.y_train == 0][:50]
    with pytest.raises(ValueError, match="same answer"):
        theft.steal_fraud_scorer(lambda X: np.tile([1.0, 0.0], (len(X), 1)), legit,
                                 n_queries=20)


def test_transfer_attack_submits_each_plan_once(bank, unchanged_global_state):
    data, scorer, threshold = bank
    history = pd.concat([data.frame_train, data.frame_test], ignore_index=True)
    declined = scorer.predict_proba(data.X_test)[:, 1] >= threshold
    caught = np.flatnonzero(declined & (data.y_test == 1))[:8]
    targets = len(data.frame_train) + caught
    # the victim itself as a perfect copy: whatever evades it transfers
    perfect = theft.transfer_attack(scorer, threshold, scorer, history, targets,
                                    copy_threshold=threshold)
    assert np.array_equal(perfect.plan["transferred"], perfect.plan["evades_copy"])
    assert perfect.victim_queries == perfect.plan["parts"].sum()
    assert 0.0 <= perfect.transfer_rate <= 1.0 and len(perfect.plan) == len(caught)
    with pytest.raises(ValueError, match="copy_threshold"):
        theft.transfer_attack(scorer, threshold, scorer, history, targets, copy_threshold=0)
    with pytest.raises(ArgumentTypeError):
        theft.transfer_attack(scorer, threshold, scorer, history, targets, features="x")
