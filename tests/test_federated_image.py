"""Tests of mlsec_helpers.federated.image (lab 09, image section: phones reading digits)."""

import numpy as np
import pytest
import torch

from mlsec_helpers.data import load_dataset
from mlsec_helpers.federated import common as fl
from mlsec_helpers.federated import image as fi
from mlsec_helpers.validate import ArgumentTypeError


@pytest.fixture(scope="module")
def digits():
    data = load_dataset("image", seed=0)
    keep = np.arange(800)  # a few hundred real digits keep every test fast
    return data.X_train[keep], data.y_train[keep], data.X_test[:300], data.y_test[:300]


@pytest.fixture(scope="module")
def phones(digits):
    X, y, _, _ = digits
    return fi.DigitsPhones(X, y, fl.iid_split(len(y), 4, seed=0), local_steps=5, seed=0)


def _init(seed=0):
    return fl.flat_params(fi.digits_softmax(seed=seed))


# --- the model ----------------------------------------------------------------------------------


def test_softmax_model_shape_and_seed(unchanged_global_state):
    a, b, c = _init(0), _init(0), _init(1)
    assert a.shape == (7850,)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_predict_known_answer():
    # weights that read pixel k as class k: a digit lit only at pixel 3 is a 3
    W = np.zeros((10, 16))
    W[np.arange(10), np.arange(10)] = 1.0
    params = np.concatenate([W.ravel(), np.zeros(10)])
    X = np.zeros((2, 16), np.float32)
    X[0, 3], X[1, 7] = 1.0, 1.0
    np.testing.assert_array_equal(fi.digits_predict(params, X), [3, 7])
    acc = fi.digits_accuracy(params, X, [3, 0])
    assert acc.value == 0.5 and acc.low < 0.5 < acc.high and acc.n == 2
    assert fi.digits_evaluator(X, [3, 7])(params) == 1.0


def test_predict_rejects_bad_input():
    with pytest.raises(ValueError, match="params must hold"):
        fi.digits_predict(np.zeros(5), np.zeros((2, 16), np.float32))
    with pytest.raises(ValueError, match="images"):
        fi.digits_predict(np.zeros(170), np.zeros(16, np.float32))
    with pytest.raises(ValueError, match="pixels"):
        fi.digits_predict(np.zeros(7850), np.full((1, 1, 28, 28), 2.0, np.float32))


# --- the phones ---------------------------------------------------------------------------------


def test_batched_training_equals_one_phone_at_a_time(digits, unchanged_global_state):
    """All phones trained at once give each phone's own SGD, computed alone with autograd."""
    X, y, _, _ = digits
    parts = fl.iid_split(len(y), 3, seed=1)
    ph = fi.DigitsPhones(X, y, parts, local_steps=4, batch_size=10, lr=0.3, seed=5)
    params = _init(2)
    out = ph.train_all(params, 3)
    gen = np.random.default_rng([5, 3])
    rows = np.stack([p[gen.integers(0, len(p), (4, 10))] for p in parts], axis=1)
    flat = X.reshape(len(X), -1)
    for c in range(3):
        model = fi.digits_softmax(seed=0)
        fl.set_flat_params(model, params)
        opt = torch.optim.SGD(model.parameters(), lr=0.3)
        for step in range(4):
            idx = rows[step, c]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(torch.from_numpy(flat[idx])),
                                              torch.from_numpy(y[idx])).backward()
            opt.step()
        np.testing.assert_allclose(out[c], fl.flat_params(model), atol=1e-5)


def test_phones_are_run_federations_local_train(phones, digits, unchanged_global_state):
    _, _, Xt, yt = digits
    ev = fi.digits_evaluator(Xt, yt)
    init = _init(0)
    run = fl.run_federation(init, phones, phones.n_clients, 3, evaluate=ev, seed=0)
    again = fl.run_federation(init, phones, phones.n_clients, 3, evaluate=ev, seed=0)
    np.testing.assert_array_equal(run.params, again.params)  # deterministic for a seed
    assert run.final > 0.6 > ev(init)
    # a phone's update from the cache equals a fresh training
    np.testing.assert_array_equal(phones(2, init, 0), phones.train_all(init, 0)[2])


def test_phones_histograms_and_sizes(digits):
    X, y, _, _ = digits
    parts = [np.flatnonzero(y == 0), np.flatnonzero(y != 0)]
    ph = fi.DigitsPhones(X, y, parts)
    hist = ph.label_histograms()
    np.testing.assert_allclose(hist.sum(axis=1), 1.0)
    assert hist[0, 0] == 1.0 and hist[1, 0] == 0.0
    assert ph.n_examples.tolist() == [len(parts[0]), len(parts[1])]


def test_phones_reject_bad_input(digits):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="at least 2"):
        fi.DigitsPhones(X, y, [np.arange(10)])
    with pytest.raises(ValueError, match="outside"):
        fi.DigitsPhones(X, y, [np.arange(10), np.array([len(X)])])
    with pytest.raises(ValueError, match="lr"):
        fi.DigitsPhones(X, y, [np.arange(10), np.arange(10, 20)], lr=-1.0)
    with pytest.raises(ArgumentTypeError):
        fi.DigitsPhones(X, y, [np.arange(10), np.arange(10, 20)], local_steps=2.5)
    ph = fi.DigitsPhones(X, y, [np.arange(10), np.arange(10, 20)])
    with pytest.raises(ValueError, match="client"):
        ph(2, _init(), 0)
    with pytest.raises(ValueError, match="distinct"):
        ph.with_backdoor([0, 0], target=0)


# --- the backdoor -------------------------------------------------------------------------------


def test_backdoor_poisons_only_the_malicious_phones(phones, digits, unchanged_global_state):
    bd = phones.with_backdoor([1], target=7, rate=0.5, seed=0)
    assert bd.n_clients == phones.n_clients
    for c in (0, 2, 3):
        np.testing.assert_array_equal(bd.X[bd.parts[c]], phones.X[phones.parts[c]])
    poisoned_y = bd.y[bd.parts[1]]
    changed = poisoned_y != phones.y[phones.parts[1]]
    assert changed.any() and np.all(poisoned_y[changed] == 7)
    corner = bd.X[bd.parts[1]].reshape(-1, 28, 28)[:, 26, 26]  # a pixel of the trigger
    assert np.all(corner[changed] == 1.0)
    assert np.all(phones.X[:, fi.trigger_coordinates()[:4]] == 0)  # clean digits never lit there


def test_boosted_backdoor_against_fedavg_and_median(phones, digits, unchanged_global_state):
    _, _, Xt, yt = digits
    bd = phones.with_backdoor([0], target=0, rate=0.5, seed=0)
    boost = lambda own, benign, rnd: fi.boosted(own, scale=4.0)  # noqa: E731
    asr = {}
    for rule in ("fedavg", "median"):
        run = fl.run_federation(_init(), bd, 4, 5, rule=rule, malicious=[0], attack=boost)
        asr[rule] = fi.digits_backdoor_success(run.params, Xt, yt, 0).value
    assert asr["fedavg"] > 0.8 and asr["median"] < 0.1


def test_trigger_coordinates_and_clip_aware_update():
    idx = fi.trigger_coordinates()
    assert len(idx) == 40 and idx.max() < 7840
    own = np.ones((2, 7850))
    out = fi.backdoor_within_clip(own, max_norm=3.0, coordinates=idx)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 3.0)
    assert np.count_nonzero(out[0]) == 40
    np.testing.assert_array_equal(fi.boosted(own, scale=2.0), 2 * own)
    with pytest.raises(ValueError, match="coordinates"):
        fi.backdoor_within_clip(own, max_norm=1.0, coordinates=[8000])
    with pytest.raises(ValueError, match="max_norm"):
        fi.backdoor_within_clip(own, max_norm=0.0, coordinates=idx)
    with pytest.raises(ValueError, match="scale"):
        fi.boosted(own, scale=-1.0)
    with pytest.raises(ValueError, match="nothing to measure"):
        fi.digits_backdoor_success(np.zeros(7850), np.zeros((2, 1, 28, 28), np.float32),
                                   [0, 0], 0)


# --- privacy of updates -------------------------------------------------------------------------


def test_label_leak_known_answer():
    hist = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    updates = np.hstack([np.zeros((2, 5)), hist * 2 - 0.3])  # a bias update that tracks labels
    leak = fi.label_leak(updates, hist)
    np.testing.assert_allclose(leak.correlations, 1.0)
    assert leak.top_label.value == 1.0 and leak.chance == pytest.approx(1 / 3)
    np.testing.assert_array_equal(fi.label_scores(updates[0], 3), updates[0, -3:])
    with pytest.raises(ValueError, match="histograms"):
        fi.label_leak(updates[:1], hist)
    with pytest.raises(ValueError, match="longer"):
        fi.label_scores(np.zeros(3), 3)


def test_gradient_inversion_is_exact_and_masking_hides_it(digits, unchanged_global_state):
    X, y, _, _ = digits
    params = _init(0)
    inv = fi.digits_gradient_inversion(params, X[:6], y[:6])
    np.testing.assert_allclose(inv.reconstructions, X[:6].reshape(6, -1), atol=1e-6)
    np.testing.assert_array_equal(inv.labels, y[:6])
    assert inv.label_recovered.value == 1.0
    grads = np.stack([fi.digits_gradient(params, X[i:i + 1], y[i:i + 1]) for i in range(6)])
    secure = fl.secure_aggregate(grads, seed=0)
    masked = fi.digits_gradient_inversion(params, X[:6], y[:6],
                                          masked_gradients=fi.decode_masked(secure.masked))
    assert np.all(np.abs(masked.correlations) < 0.2)
    assert secure.max_error < 1e-5


def test_gradient_matches_autograd(digits, unchanged_global_state):
    X, y, _, _ = digits
    model = fi.digits_softmax(seed=3)
    params = fl.flat_params(model)
    loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(X[:20].reshape(20, -1))),
                                             torch.from_numpy(y[:20]))
    loss.backward()
    expected = torch.cat([p.grad.reshape(-1) for p in model.parameters()]).numpy()
    np.testing.assert_allclose(fi.digits_gradient(params, X[:20], y[:20]), expected, atol=1e-6)


def test_decode_masked_rejects_floats():
    with pytest.raises(ArgumentTypeError, match="uint64"):
        fi.decode_masked(np.zeros((2, 3)))
    enc = (np.array([[3 * 2**24, -(2**24)]], dtype=np.int64)).view(np.uint64)
    np.testing.assert_array_equal(fi.decode_masked(enc), [[3.0, -1.0]])
