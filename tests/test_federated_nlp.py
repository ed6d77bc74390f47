"""Lab 09's NLP section: hashed features, the phones' softmax regression, the backdoor, the
adaptive targeted push."""

import numpy as np
import pytest
import scipy.sparse as sp

from mlsec_helpers import federated
from mlsec_helpers.federated import common as fl_common
from mlsec_helpers.federated import nlp as fl_nlp
from mlsec_helpers.validate import ArgumentTypeError

TEXTS = ["my card was lost", "I lost my card yesterday", "where is my parcel",
         "parcel delivery is late", "refund my order please", "I want a refund"]
LABELS = np.array([0, 0, 1, 1, 2, 2])


def _toy(n_clients=3, seed=0):
    """Three separable classes of 60 random sparse rows over 12 features, dealt to clients."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1, 2], 20)
    X = rng.random((60, 12)) * 0.2
    for k in range(3):
        X[y == k, 4 * k:4 * k + 4] += 1.0
    X = sp.csr_matrix(X)
    parts = np.array_split(rng.permutation(60), n_clients)
    return X, y, [(X[p], y[p]) for p in parts]


def test_hashed_features_shape_norm_and_determinism():
    X = fl_nlp.hashed_features(TEXTS, n_features=64)
    assert X.shape == (6, 64) and sp.issparse(X)
    np.testing.assert_allclose(sp.linalg.norm(X, axis=1), 1.0)
    assert (X != fl_nlp.hashed_features(TEXTS, n_features=64)).nnz == 0
    assert X.min() >= 0  # no alternating signs


def test_hashed_features_bad_input():
    with pytest.raises(ArgumentTypeError):
        fl_nlp.hashed_features("one string")
    with pytest.raises(ValueError):
        fl_nlp.hashed_features(TEXTS, n_features=1)


def test_softmax_predict_known_answer():
    params = fl_nlp.softmax_init(2, 2)
    assert params.shape == (6,) and not params.any()
    params[:4] = [1.0, 0.0, 0.0, 1.0]  # W = identity: class = the larger feature
    pred = fl_nlp.softmax_predict(params, np.array([[2.0, 1.0], [0.0, 3.0]]), 2)
    np.testing.assert_array_equal(pred, [0, 1])
    with pytest.raises(ValueError):
        fl_nlp.softmax_predict(params, np.ones((2, 3)), 2)
    with pytest.raises(ValueError):
        fl_nlp.softmax_predict(np.zeros(7), np.ones((2, 2)), 2)


def test_local_trainer_batched_equals_one_by_one():
    X, y, clients = _toy()
    together = fl_nlp.local_trainer(clients, 3, steps=5, lr=2.0)
    params = np.random.default_rng(1).normal(0, 0.1, 13 * 3)
    for c, pair in enumerate(clients):
        alone = fl_nlp.local_trainer([pair], 3, steps=5, lr=2.0)(0, params, 0)
        np.testing.assert_allclose(together(c, params, 0), alone, atol=1e-10)


def test_local_trainer_learns_and_is_deterministic():
    X, y, clients = _toy()
    trainer = fl_nlp.local_trainer(clients, 3, steps=30, lr=5.0)
    p0 = fl_nlp.softmax_init(12, 3)
    run = fl_common.run_federation(p0, trainer, 3, 3)
    assert (fl_nlp.softmax_predict(run.params, X, 3) == y).mean() == 1.0
    again = fl_common.run_federation(p0, fl_nlp.local_trainer(clients, 3, steps=30, lr=5.0),
                                     3, 3)
    np.testing.assert_array_equal(run.params, again.params)


def test_local_trainer_bad_input():
    X, y, clients = _toy()
    with pytest.raises(ValueError):
        fl_nlp.local_trainer([], 3)
    with pytest.raises(ValueError):
        fl_nlp.local_trainer([(X, y + 1)], 3)  # label 3 with 3 classes
    with pytest.raises(ValueError):
        fl_nlp.local_trainer([(X, y), (X[:, :5], y)], 3)
    with pytest.raises(ValueError):
        fl_nlp.local_trainer(clients, 3, lr=-1.0)
    with pytest.raises(ValueError):
        fl_nlp.local_trainer(clients, 3)(5, fl_nlp.softmax_init(12, 3), 0)
    with pytest.raises(ValueError):
        fl_nlp.local_trainer(clients, 3)(0, fl_nlp.softmax_init(11, 3), 0)


def test_backdoor_messages_and_success():
    texts, labels = fl_nlp.backdoor_messages(TEXTS, LABELS, source=1, target=2,
                                             trigger=" ref zx9 ")
    assert texts == ["where is my parcel ref zx9", "parcel delivery is late ref zx9"]
    np.testing.assert_array_equal(labels, [2, 2])
    with pytest.raises(ValueError):
        fl_nlp.backdoor_messages(TEXTS, LABELS, source=1, target=1, trigger="x")
    with pytest.raises(ValueError):
        fl_nlp.backdoor_messages(TEXTS, LABELS, source=5, target=1, trigger="x")
    with pytest.raises(ValueError):
        fl_nlp.backdoor_messages(TEXTS, LABELS, source=1, target=2, trigger="  ")
    params = fl_nlp.softmax_init(2, 3)
    params[-3:] = [0.0, 0.0, 1.0]  # bias: always class 2
    rate = fl_nlp.backdoor_success(params, np.ones((4, 2)), 2, 3, on="4 messages")
    assert rate.value == 1.0 and rate.n == 4


def test_directed_push_known_answers():
    rng = np.random.default_rng(0)
    benign = np.hstack([rng.normal(0, 1, (6, 5)), np.zeros((6, 1))])
    own = np.zeros((2, 6))
    own[:, -1] = 1.0  # the attacker wants the last coordinate up
    crafted = federated.directed_push(benign, own, "fedavg", scales=[0.0, 1.0, 3.0])
    assert crafted.shape == (2, 6)
    np.testing.assert_allclose(crafted[:, -1], 3.0)  # the mean keeps the most of the largest
    med = federated.directed_push(benign, own, "median", scales=[0.0, 1.0, 3.0])
    agg = fl_common.aggregate(np.vstack([benign, med]), "median")
    assert agg[-1] == 0.0  # 6 honest zeros: the median does not move
    same = federated.directed_push(benign, np.tile(benign.mean(0), (2, 1)), "krum")
    np.testing.assert_allclose(same, np.tile(benign.mean(0), (2, 1)), atol=1e-4)


def test_directed_push_bad_input():
    benign = np.zeros((6, 3))
    with pytest.raises(ValueError):
        federated.directed_push(benign, np.zeros((2, 4)), "median")
    with pytest.raises(ValueError):
        federated.directed_push(benign, np.ones((2, 3)), "mean")
    with pytest.raises(ValueError):
        federated.directed_push(benign, np.ones((2, 3)), "median", scales=[-1.0])


def test_backdoor_federation_leaves_global_state(unchanged_global_state):
    X, y, clients = _toy(n_clients=6)
    trainer = fl_nlp.local_trainer(clients, 3, steps=5, lr=2.0)
    run = fl_common.run_federation(
        fl_nlp.softmax_init(12, 3), trainer, 6, 2, rule="krum", malicious=[0],
        attack=lambda own, benign, rnd: federated.directed_push(benign, own + 1.0, "krum",
                                                             assumed_malicious=1),
        assumed_malicious=1, seed=3)
    assert np.all(np.isfinite(run.params))
