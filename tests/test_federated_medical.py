"""Lab 09, medical section: what one hospital's update tells the server."""

import numpy as np
import pytest

from mlsec_helpers import federated
from mlsec_helpers.federated import common, medical


def _patients(n=200, seed=0):
    gen = np.random.default_rng(seed)
    X = gen.normal(size=(n, 4))
    y = (X[:, 0] + 0.5 * gen.normal(size=n) > 0).astype(int)
    return X, y


def test_shadow_clients_have_the_shares_asked_for():
    X, y = _patients()
    parts_X, parts_y = medical.shadow_clients(X, y, [0.0, 0.25, 1.0], 40, seed=1)
    assert [len(p) for p in parts_X] == [40, 40, 40]
    assert [p.mean() for p in parts_y] == [0.0, 0.25, 1.0]
    again = medical.shadow_clients(X, y, [0.0, 0.25, 1.0], 40, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(parts_X, again[0], strict=True))
    with pytest.raises(ValueError, match="shares"):
        medical.shadow_clients(X, y, [0.5, 1.5], 40)
    with pytest.raises(ValueError, match="both classes"):
        medical.shadow_clients(X, np.zeros(len(y), int), [0.2, 0.4], 40)


def test_infer_case_mix_inverts_the_one_step_bias_update_exactly():
    lr = 0.7
    shares = np.array([0.1, 0.3, 0.5, 0.9])
    updates = lr * (shares - 0.5)  # one step from a model that predicts 0.5 everywhere
    est = medical.infer_case_mix([lr * (0.42 - 0.5), 10.0], updates, shares)
    np.testing.assert_allclose(est, [0.42, 1.0])  # the second is clipped
    with pytest.raises(ValueError, match="same length"):
        medical.infer_case_mix([0.1], updates, shares[:2])
    with pytest.raises(ValueError, match="all equal"):
        medical.infer_case_mix([0.1], np.zeros(3), shares[:3])


def test_case_mix_leak_counts_ordered_pairs_per_round():
    true = np.array([0.1, 0.5, 0.9, 0.1, 0.5, 0.9])
    rounds = [0, 0, 0, 1, 1, 1]
    right = medical.case_mix_leak(true + 0.05, true, rounds)
    assert right.order_accuracy.value == 1.0 and right.order_accuracy.n == 6
    assert right.mae == pytest.approx(0.05)
    assert right.baseline_mae == pytest.approx(np.abs(true - 0.5).mean())
    wrong = medical.case_mix_leak(1 - true, true, rounds)
    assert wrong.order_accuracy.value == 0.0
    ties = medical.case_mix_leak(np.ones(6), true, rounds, seed=0)
    assert 0 < ties.order_accuracy.value < 1  # ties are coin flips
    with pytest.raises(ValueError, match="same length"):
        medical.case_mix_leak(true[:3], true, rounds)
    with pytest.raises(ValueError, match="different true shares"):
        medical.case_mix_leak(np.ones(2), np.ones(2), [0, 0])


def test_masked_coordinate_reads_noise_but_the_masks_cancel():
    updates = np.array([[0.5, -0.25], [0.25, 1.0], [-1.0, 0.5]])
    secure = common.secure_aggregate(updates, seed=2)
    read = medical.masked_coordinate(secure.masked, -1)
    assert read.shape == (3,) and np.all(np.abs(read - updates[:, -1]) > 1e3)
    wrapped = secure.masked[:, -1].sum(dtype=np.uint64).view(np.int64) / 2.0**24
    assert wrapped == pytest.approx(updates[:, -1].sum())
    with pytest.raises(ValueError, match="uint64"):
        medical.masked_coordinate(updates, 0)
    with pytest.raises(ValueError):
        medical.masked_coordinate(secure.masked, 2)


def test_the_server_reads_case_mix_from_plain_updates(unchanged_global_state):
    X, y = _patients(300)
    order = np.argsort(X[:, 0])  # hospitals with very different case mixes
    parts = np.array_split(order, 4)
    train = federated.logistic_clients([X[p] for p in parts], [y[p] for p in parts], steps=1,
                                   lr=0.5)
    shares = np.array([y[p].mean() for p in parts])
    grid = np.linspace(0.05, 0.95, 7)
    shadow = federated.logistic_clients(*medical.shadow_clients(X, y, grid, 60, seed=0), steps=1,
                                    lr=0.5)
    params = np.zeros(5)
    plain = np.array([train(c, params, 0)[-1] for c in range(4)])
    calib = np.array([shadow(k, params, 0)[-1] for k in range(len(grid))])
    est = medical.infer_case_mix(plain, calib, grid)
    np.testing.assert_allclose(est, shares, atol=1e-9)  # exact at the first step
    leak = medical.case_mix_leak(est, shares, [0] * 4)
    assert leak.order_accuracy.value == 1.0 and leak.mae < leak.baseline_mae
