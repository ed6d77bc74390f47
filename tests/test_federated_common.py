"""mlsec_helpers.federated.common: splits, aggregation rules, attacks, secure aggregation and the
federation loop of lab 09."""

import numpy as np
import pytest

from mlsec_helpers import federated
from mlsec_helpers.federated import common


def _toy(seed=0, n=8, d=5):
    gen = np.random.default_rng(seed)
    X = gen.normal(size=(800, d))
    w = np.arange(1.0, d + 1)
    y = X @ w
    parts = federated.iid_split(len(X), n, seed=seed)

    def local(client, params, rnd):
        Xi, yi = X[parts[client]], y[parts[client]]
        for _ in range(5):
            params = params - 0.1 * Xi.T @ (Xi @ params - yi) / len(yi)
        return params

    return local, (lambda p: float(np.linalg.norm(p - w))), d


# --- splits -------------------------------------------------------------------------------------


def test_iid_split_deals_every_row_once():
    parts = federated.iid_split(103, 8, seed=1)
    assert sorted(np.concatenate(parts).tolist()) == list(range(103))
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    assert all(np.array_equal(a, b) for a, b in zip(parts, federated.iid_split(103, 8, seed=1),
                                                    strict=True))


def test_dirichlet_split_is_non_iid_for_small_alpha_and_near_iid_for_large():
    y = np.repeat(np.arange(10), 100)

    def spread(alpha):
        parts = federated.dirichlet_split(y, 8, alpha, seed=0)
        assert sorted(np.concatenate(parts).tolist()) == list(range(1000))
        hist = np.array([np.bincount(y[p], minlength=10) / len(p) for p in parts])
        return float(np.abs(hist - 0.1).sum(axis=1).mean())

    assert spread(0.1) > 0.8 > 0.2 > spread(100.0)


@pytest.mark.parametrize(("args", "kwargs"), [
    ((5, 8), {}), ((100, 1), {}),
])
def test_iid_split_rejects_bad_sizes(args, kwargs):
    with pytest.raises(ValueError):
        federated.iid_split(*args, **kwargs)


def test_dirichlet_split_rejects_bad_input():
    y = np.repeat(np.arange(3), 10)
    with pytest.raises(ValueError, match="alpha"):
        federated.dirichlet_split(y, 4, 0.0)
    with pytest.raises(ValueError, match="rows"):
        federated.dirichlet_split(y, 4, 1.0, min_size=10)


# --- aggregation --------------------------------------------------------------------------------


def test_each_rule_computes_what_it_says():
    gen = np.random.default_rng(0)
    U = gen.normal(size=(8, 30))
    assert np.allclose(federated.aggregate(U, "fedavg"), U.mean(0))
    w = np.arange(1, 9)
    assert np.allclose(federated.aggregate(U, "fedavg", n_examples=w), w @ U / w.sum())
    assert np.allclose(federated.aggregate(U, "median"), np.median(U, 0))
    S = np.sort(U, 0)
    assert np.allclose(federated.aggregate(U, "trimmed_mean", trim=0.25), S[2:6].mean(0))
    D = ((U[:, None] - U[None]) ** 2).sum(-1)
    np.fill_diagonal(D, np.inf)
    scores = np.sort(D, 1)[:, :4].sum(1)
    assert np.allclose(federated.aggregate(U, "krum", assumed_malicious=2), U[np.argmin(scores)])
    best = np.argsort(scores)[:6]
    assert np.allclose(federated.aggregate(U, "multi_krum", assumed_malicious=2),
                       U[best].mean(0))


def test_robust_rules_ignore_far_outliers_and_fedavg_does_not():
    gen = np.random.default_rng(1)
    U = gen.normal(size=(8, 10))
    U[:2] = 1e4
    assert np.abs(federated.aggregate(U, "fedavg")).max() > 1e3
    for rule in ("median", "trimmed_mean", "krum", "multi_krum"):
        assert np.abs(federated.aggregate(U, rule, assumed_malicious=2)).max() < 5, rule


@pytest.mark.parametrize(("updates", "kwargs", "match"), [
    (np.zeros((1, 3)), {}, "at least 2"),
    (np.zeros(3), {}, "2-D|dimension"),
    (np.array([[0.0, np.nan], [1.0, 1.0]]), {}, "NaN"),
    (np.zeros((4, 3)), {"rule": "mean"}, "rule"),
    (np.zeros((4, 3)), {"rule": "trimmed_mean", "trim": 0.5}, "trim"),
    (np.zeros((4, 3)), {"rule": "krum", "assumed_malicious": 2}, "tolerates"),
    (np.zeros((4, 3)), {"n_examples": [1, 2]}, "n_examples"),
])
def test_aggregate_rejects_bad_input(updates, kwargs, match):
    with pytest.raises(ValueError, match=match):
        federated.aggregate(updates, **kwargs)


def test_clipping_bounds_norms_and_keeps_short_updates():
    U = np.array([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])
    C = federated.clip_updates(U, 1.0)
    assert np.allclose(C, [[0.6, 0.8], [0.3, 0.4], [0.0, 0.0]])
    assert np.allclose(federated.update_norms(C), [1.0, 0.5, 0.0])
    with pytest.raises(ValueError):
        federated.clip_updates(U, 0.0)


def test_dp_noise_std_is_flowers_z_c_over_n():
    assert federated.dp_noise_std(1.1, 2.0, 8) == pytest.approx(1.1 * 2.0 / 8)
    with pytest.raises(ValueError):
        federated.dp_noise_std(-1.0, 1.0, 8)


# --- attacks ------------------------------------------------------------------------------------


def test_simple_attacks():
    own = np.array([[1.0, -2.0]])
    assert np.allclose(federated.sign_flip(own, scale=5.0), [[-5.0, 10.0]])
    noise = federated.gaussian_updates(np.zeros((2, 1000)), sigma=3.0, seed=0)
    assert noise.shape == (2, 1000) and abs(noise.std() - 3.0) < 0.2
    assert np.array_equal(noise, federated.gaussian_updates(np.zeros((2, 1000)), sigma=3.0,
                                                            seed=0))


def test_little_is_enough_uses_baruchs_z():
    benign = np.random.default_rng(0).normal(size=(6, 4))
    crafted = federated.little_is_enough(benign, 2)
    # n = 8, s = floor(8/2 + 1) - 2 = 3, z = Phi^-1(5/8)
    z = 0.31863936396437514
    assert crafted.shape == (2, 4)
    assert np.allclose(crafted, benign.mean(0) - z * benign.std(0))


def test_directed_deviation_moves_the_aggregate_more_than_sign_flipping():
    gen = np.random.default_rng(2)
    benign = gen.normal(0.5, 1.0, size=(6, 50))
    direction = np.sign(benign.mean(0))
    for rule in ("median", "trimmed_mean", "krum"):
        crafted = federated.directed_deviation(benign, 2, rule, assumed_malicious=2)
        flipped = federated.sign_flip(benign[:2], scale=5.0)
        push = -(federated.aggregate(np.vstack([benign, crafted]), rule,
                                     assumed_malicious=2) - benign.mean(0)) @ direction
        push_flip = -(federated.aggregate(np.vstack([benign, flipped]), rule,
                                          assumed_malicious=2) - benign.mean(0)) @ direction
        assert push > push_flip, rule
    with pytest.raises(ValueError):
        federated.directed_deviation(benign, 2, "median", scales=[])


# --- secure aggregation -------------------------------------------------------------------------


def test_masks_cancel_and_the_sum_is_exact():
    masks = federated.pairwise_masks(5, 100, seed=3)
    assert masks.dtype == np.uint64
    assert not masks.sum(axis=0, dtype=np.uint64).any()
    U = np.random.default_rng(3).normal(size=(5, 100))
    secure = federated.secure_aggregate(U, seed=3)
    assert secure.max_error < 1e-6
    assert np.allclose(secure.total, U.sum(0), atol=1e-6)


def test_a_masked_update_looks_uniform_whatever_the_update():
    zero = federated.secure_aggregate(np.zeros((4, 20000)), seed=5).masked[0]
    big = federated.secure_aggregate(np.full((4, 20000), 1000.0), seed=6).masked[0]
    for masked in (zero, big):
        top_bits = (masked >> np.uint64(62)).astype(int)  # uniform: each of 4 values ~25%
        assert np.allclose(np.bincount(top_bits, minlength=4) / len(masked), 0.25, atol=0.02)


def test_secure_aggregate_rejects_values_too_large_for_the_encoding():
    with pytest.raises(ValueError, match="too large"):
        federated.secure_aggregate(np.full((3, 2), 1e12), frac_bits=24)


# --- the federation loop ------------------------------------------------------------------------


def test_federation_converges_and_is_deterministic(unchanged_global_state):
    local, distance, d = _toy()
    run = federated.run_federation(np.zeros(d), local, 8, 10, evaluate=distance,
                                   evaluate_every=5)
    assert [r for r, _ in run.history] == [5, 10]
    assert run.final < 0.1
    again = federated.run_federation(np.zeros(d), local, 8, 10, evaluate=distance)
    assert np.array_equal(run.params, again.params)
    assert run.update_norms.shape == (10, 8)


def test_sign_flipping_breaks_fedavg_but_not_the_median():
    local, distance, d = _toy()
    attack = lambda own, benign, rnd: federated.sign_flip(own, scale=5.0)  # noqa: E731
    plain = federated.run_federation(np.zeros(d), local, 8, 10, malicious=[0, 1], attack=attack,
                                     evaluate=distance)
    median = federated.run_federation(np.zeros(d), local, 8, 10, rule="median",
                                      malicious=[0, 1], attack=attack, evaluate=distance)
    assert plain.final > 10 * median.final


def test_secure_and_dp_federations(unchanged_global_state):
    local, distance, d = _toy()
    plain = federated.run_federation(np.zeros(d), local, 8, 10, evaluate=distance)
    secure = federated.run_federation(np.zeros(d), local, 8, 10, secure=True, evaluate=distance)
    assert np.allclose(plain.params, secure.params, atol=1e-5)
    noisy = federated.run_federation(np.zeros(d), local, 8, 10, clip=1.0, noise_multiplier=1.0,
                                     evaluate=distance, seed=1)
    assert noisy.final > plain.final


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"malicious": [0, 0]}, ValueError),
    ({"malicious": [9]}, ValueError),
    ({"malicious": [0]}, TypeError),
    ({"noise_multiplier": 1.0}, ValueError),
    ({"secure": True, "rule": "median"}, ValueError),
    ({"rule": "average"}, ValueError),
])
def test_run_federation_rejects_bad_settings(kwargs, error):
    local, _, d = _toy()
    with pytest.raises(error):
        federated.run_federation(np.zeros(d), local, 8, 2, **kwargs)


def test_flat_params_round_trip():
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    v = common.flat_params(model)
    assert v.shape == (3 * 4 + 4 + 4 * 2 + 2,) and v.dtype == np.float64
    common.set_flat_params(model, v * 0 + 1.5)
    assert all(torch.all(p == 1.5) for p in model.parameters())
    with pytest.raises(ValueError, match="parameters"):
        common.set_flat_params(model, np.zeros(3))


def test_logistic_steps_is_gradient_descent_on_the_mean_logistic_loss():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = np.array([1.0, 0.0, 1.0])
    new = federated.logistic_steps(np.zeros(3), X, y, steps=1, lr=1.0)
    g = (0.5 - y) / 3  # the sigmoid of 0 is 0.5
    np.testing.assert_allclose(new, -np.r_[X.T @ g, g.sum()])
    weighted = federated.logistic_steps(np.zeros(3), X, y, steps=1, lr=1.0,
                                        sample_weight=np.array([0.5, 0.25, 0.25]))
    gw = (0.5 - y) * np.array([0.5, 0.25, 0.25])
    np.testing.assert_allclose(weighted, -np.r_[X.T @ gw, gw.sum()])
    start = np.array([0.3, -0.2, 0.1])
    federated.logistic_steps(start, X, y, steps=3, lr=0.5, l2=0.1)
    assert np.array_equal(start, [0.3, -0.2, 0.1])  # the argument is left alone
