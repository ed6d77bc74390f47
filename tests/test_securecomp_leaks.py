"""Lab 10, what encryption does not stop: extraction and membership through a CKKS API."""

import numpy as np
import pytest

from mlsec_helpers import privacy, systems
from mlsec_helpers.securecomp import common, leaks


@pytest.fixture(scope="module")
def context():
    return common.ckks_context(galois=False)


@pytest.fixture(scope="module")
def medical():
    from mlsec_helpers.data import load_dataset

    data = load_dataset("medical", seed=0)
    X = np.vstack([data.X_train, data.X_test]).astype(np.float64)
    victim = systems.DiagnosisModel().fit(data.X_train, data.y_train)
    return victim, X


def test_encrypted_api_answers_the_plaintext_probabilities(context, medical):
    from mlsec_helpers.extraction import victim_parameters

    victim, X = medical
    api = leaks.EncryptedLinearAPI(context, *victim_parameters(victim))
    answers = api(X[:50])
    assert answers.shape == (50, 2)
    np.testing.assert_allclose(answers.sum(1), 1.0)
    assert np.abs(answers - victim.predict_proba(X[:50])).max() < 1e-4
    assert api.queries == 50 and api.milliseconds > 0 and api.bytes_sent > 0
    assert "50 queries" in repr(api)


def test_known_linear_model_is_stolen_exactly_through_ckks(context, unchanged_global_state):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X @ [1.0, -2.0, 0.5] + 0.3 > 0).astype(int)
    victim = systems.DiagnosisModel(C=10.0).fit(X, y)
    from mlsec_helpers.extraction import victim_parameters

    api = leaks.EncryptedLinearAPI(context, *victim_parameters(victim))
    he = leaks.steal_through(api, victim, X[:100], X[100:], api_name="CKKS")
    plain = leaks.steal_through(victim.predict_proba, victim, X[:100], X[100:],
                                api_name="plain", on="100 rows")
    assert he.queries == plain.queries == 4 == api.queries          # d + 1
    assert he.fidelity.value == plain.fidelity.value == 1.0
    assert plain.parameter_error < 1e-9 and he.parameter_error < 1e-4
    assert plain.fidelity.on == "100 rows" and he.fidelity.on == "100 inputs"
    np.testing.assert_allclose(he.w, plain.w, rtol=1e-3)


def test_encrypted_scores_many_matches_plaintext(context):
    rng = np.random.default_rng(1)
    X, W, b = rng.normal(size=(20, 4)), rng.normal(size=(3, 4)), rng.normal(size=3)
    batch = leaks.encrypted_scores_many(context, X, W, b)
    np.testing.assert_allclose(batch.scores, W @ X.T + b[:, None], atol=1e-4)
    assert batch.n_ciphertexts == 4 and batch.compute_ms > 0 and batch.encrypt_ms > 0


def test_membership_leak_is_the_same_through_ckks(context, unchanged_global_state):
    population = privacy.medical_population(seed=0)
    X, y = population.X[:100], population.y[:100]
    keep = privacy.random_halves(len(X), 16, seed=0)
    models = leaks.half_models(X, y, keep)
    assert models.weights.shape == (16, 30) and models.logits.shape == (16, 100)
    # the raw-feature parameters reproduce each model's decision values
    np.testing.assert_allclose(models.weights @ X.astype(np.float64).T
                               + models.biases[:, None], models.logits, atol=1e-6)
    batch = leaks.encrypted_scores_many(context, X, models.weights, models.biases)
    plain = leaks.membership_auc(leaks.lira_through(models.logits, models.logits, keep, y),
                                 keep, api_name="plain", queries=keep.size, seed=0)
    he = leaks.membership_auc(leaks.lira_through(batch.scores, models.logits, keep, y),
                              keep, api_name="CKKS", queries=keep.size, seed=0)
    assert abs(he.auc.value - plain.auc.value) < 1e-3
    assert plain.auc.low <= plain.auc.value <= plain.auc.high and plain.queries == 1600
    again = leaks.membership_auc(leaks.lira_through(models.logits, models.logits, keep, y),
                                 keep, api_name="plain", queries=keep.size, seed=0)
    assert (again.auc.low, again.auc.high) == (plain.auc.low, plain.auc.high)


def test_membership_auc_known_answer():
    keep = np.array([[True, True, False, False], [True, False, True, False]])
    scores = np.array([[4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0]])   # perfect, then inverted
    result = leaks.membership_auc(scores, keep, api_name="x", queries=8)
    np.testing.assert_allclose(result.per_target_auc, [1.0, 0.25])
    assert result.auc.value == pytest.approx(0.625) and result.auc.n == 2


def test_bad_input_raises(context, medical):
    victim, X = medical
    with pytest.raises(TypeError, match="tenseal.Context"):
        leaks.EncryptedLinearAPI("context", np.ones(3), 0.0)
    with pytest.raises(ValueError, match="secret key"):
        leaks.EncryptedLinearAPI(common.public_context(context), np.ones(3), 0.0)
    api = leaks.EncryptedLinearAPI(context, np.ones(3), 0.0)
    with pytest.raises(ValueError, match="3 features"):
        api(np.ones((2, 4)))
    with pytest.raises(TypeError, match="callable"):
        leaks.steal_through("api", victim, X, X, api_name="x")
    with pytest.raises(ValueError, match="W must be"):
        leaks.encrypted_scores_many(context, np.ones((2, 3)), np.ones((2, 4)), np.ones(2))
    with pytest.raises(ValueError, match="keep must be"):
        leaks.half_models(X[:10], np.zeros(10), np.ones((2, 9), dtype=bool))
    with pytest.raises(ValueError, match="at least 3 models"):
        leaks.lira_through(np.ones((2, 4)), np.ones((2, 4)), np.ones((2, 4), bool), np.ones(4))
    with pytest.raises(ValueError, match="members and non-members"):
        leaks.membership_auc(np.ones((1, 3)), np.ones((1, 3), bool), api_name="x", queries=3)
