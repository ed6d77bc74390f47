"""Lab 08's recommender section: factor explanations by fold-in, their deletion test, and the
sybil attack on neighbour-histogram explanations."""

import numpy as np
import pytest

from mlsec_helpers.explain import recommender as rec
from mlsec_helpers.explain.results import (
    ExplanationLeak,
    FactorExplanations,
    HistogramFidelity,
    RemovalFidelity,
)
from mlsec_helpers.systems import MFRecommender
from mlsec_helpers.validate import ArgumentTypeError

N_USERS, N_ITEMS = 40, 30


def _ratings(seed=0):
    """40 users, 30 films, about half rated in half stars (at least 12 per user)."""
    gen = np.random.default_rng(seed)
    rated = gen.random((N_USERS, N_ITEMS)) < 0.5
    rated[:, :12] = True
    stars = gen.integers(1, 11, size=(N_USERS, N_ITEMS)) / 2
    u, i = np.nonzero(rated)
    return np.stack([u, i], 1).astype(np.int64), stars[u, i].astype(np.float32)


@pytest.fixture(scope="module")
def toy():
    X, y = _ratings()
    mf = MFRecommender(N_USERS, N_ITEMS, dim=4, epochs=3, seed=0).fit(X, y)
    return mf, X, y


@pytest.fixture(scope="module")
def service():
    X, y = _ratings()
    return rec.rec_neighbour_service(X, y, N_USERS, N_ITEMS, k=5), X, y


def test_factor_explanations_decompose_the_fold_in(toy, unchanged_global_state):
    mf, X, y = toy
    fe = rec.rec_factor_explanations(mf, X, y, ridge=1.0, min_ratings=10, n_top=3,
                                     compare_k=5)
    assert isinstance(fe, FactorExplanations)
    assert len(fe.users) == N_USERS and fe.top_items.shape == (N_USERS, 3)
    assert np.all(np.diff(fe.top_terms, axis=1) <= 1e-12)  # largest first
    assert np.all((fe.agreement >= 0) & (fe.agreement <= 1))
    assert fe.agreement_rate.low <= fe.agreement.mean() <= fe.agreement_rate.high
    # the score is mu + b_i + the sum of all terms: refit by hand and compare
    m = mf.model
    Q = m.Q.weight.detach().numpy().astype(np.float64)
    bi = m.bi.weight.detach().numpy()[:, 0].astype(np.float64)
    Qa = np.hstack([Q, np.ones((N_ITEMS, 1))])
    u = fe.users[0]
    items, stars = X[X[:, 0] == u, 1], y[X[:, 0] == u].astype(np.float64)
    resid = stars - float(m.mu) - bi[items]
    A_inv = np.linalg.inv(Qa[items].T @ Qa[items] + np.eye(5))
    i = fe.recommended[0]
    terms = (Qa[i] @ A_inv @ Qa[items].T) * resid
    assert np.isclose(float(m.mu) + bi[i] + terms.sum(), fe.score[0])
    assert np.isclose(terms.max(), fe.top_terms[0, 0])
    assert i not in items
    # the top film is the fold-in's best unrated film
    p = A_inv @ Qa[items].T @ resid
    scores = float(m.mu) + bi + Qa @ p
    scores[items] = -np.inf
    assert i == int(np.argmax(scores))


def test_removal_fidelity(toy, unchanged_global_state):
    mf, X, y = toy
    fe = rec.rec_factor_explanations(mf, X, y, min_ratings=10, n_top=3, compare_k=5)
    rf = rec.rec_removal_fidelity(mf, X, y, fe, k=2, top_n=3, seed=1)
    assert isinstance(rf, RemovalFidelity)
    assert rf.drops_explained.shape == rf.drops_random.shape == (N_USERS,)
    assert np.all(np.isfinite(rf.drops_explained))
    for r in (rf.left_explained, rf.left_random):
        assert 0 <= r.low <= r.value <= r.high <= 1
    again = rec.rec_removal_fidelity(mf, X, y, fe, k=2, top_n=3, seed=1)
    assert np.array_equal(again.drops_random, rf.drops_random)  # seeded


def test_factor_bad_inputs(toy):
    mf, X, y = toy
    fe = rec.rec_factor_explanations(mf, X, y, min_ratings=10, n_top=3, compare_k=5)
    with pytest.raises(ValueError, match="reference system"):
        rec.rec_factor_explanations(object(), X, y)
    with pytest.raises(ValueError, match="ridge"):
        rec.rec_factor_explanations(mf, X, y, ridge=0.0)
    with pytest.raises(ArgumentTypeError):
        rec.rec_factor_explanations(mf, X, y, min_ratings=2.5)
    with pytest.raises(ValueError, match="no user"):
        rec.rec_factor_explanations(mf, X, y, min_ratings=1000)
    with pytest.raises(ValueError, match="pairs"):
        rec.rec_factor_explanations(mf, X[:, :1], y)
    with pytest.raises(ValueError, match="one finite rating"):
        rec.rec_factor_explanations(mf, X, y[:-1])
    with pytest.raises(ValueError, match="explanations"):
        rec.rec_removal_fidelity(mf, X, y, "not explanations")
    with pytest.raises(ValueError, match="k must be"):
        rec.rec_removal_fidelity(mf, X, y, fe, k=4)
    with pytest.raises(ArgumentTypeError):
        rec.rec_removal_fidelity(mf, X, y, fe, seed=True)


def test_sybils_read_the_target_exactly(service, unchanged_global_state):
    svc, X, y = service
    targets = np.arange(10)
    leak = rec.rec_sybil_explanation_leak(svc, targets, n_sybils=5, catalogue_min=1, seed=0)
    assert isinstance(leak, ExplanationLeak)
    # with k sybils the only real neighbour is the most similar user: where that is the
    # target, every hidden rating is read exactly and every guess is right
    found = leak.recalls[leak.recalls == 1.0]
    assert leak.target_in_neighbourhood.value > 0 and len(found) > 0
    assert np.all(leak.precisions[leak.recalls == 1.0] == 1.0)
    base = rec.rec_sybil_explanation_leak(svc, targets, n_sybils=5, catalogue_min=1,
                                          without_target=True, seed=0)
    assert base.target_in_neighbourhood.value == 0
    assert base.recall.value < leak.recall.value


def test_noise_keyed_and_fresh(service, unchanged_global_state):
    svc, _, _ = service
    targets = np.arange(10)
    kw = dict(n_sybils=5, catalogue_min=1, epsilon=1.0, seed=0)
    fresh = rec.rec_sybil_explanation_leak(svc, targets, noise="fresh", **kw)
    keyed = rec.rec_sybil_explanation_leak(svc, targets, noise="keyed", **kw)
    assert fresh.epsilon == keyed.epsilon == 1.0
    assert np.all((fresh.recalls >= 0) & (fresh.recalls <= 1))
    exact = rec.rec_sybil_explanation_leak(svc, targets, n_sybils=5, catalogue_min=1,
                                           epsilon=1e9, seed=0)
    plain = rec.rec_sybil_explanation_leak(svc, targets, n_sybils=5, catalogue_min=1, seed=0)
    assert np.allclose(exact.recalls, plain.recalls)  # negligible noise changes nothing


def test_histogram_fidelity(service, unchanged_global_state):
    svc, _, _ = service
    users = np.arange(8)
    exact = rec.rec_histogram_fidelity(svc, users, epsilon=1e9, n_recs=3, seed=0)
    assert isinstance(exact, HistogramFidelity)
    assert exact.mode_kept.value == 1.0 and exact.mean_error.value < 1e-9
    noisy = rec.rec_histogram_fidelity(svc, users, epsilon=0.5, n_recs=3, seed=0)
    assert noisy.mode_kept.value < 1.0 and noisy.mean_error.value > 0


def test_neighbour_bad_inputs(service):
    svc, X, y = service
    with pytest.raises(ValueError, match="half stars"):
        rec.rec_neighbour_service(X, y + 0.1, N_USERS, N_ITEMS)
    with pytest.raises(ValueError, match="k must be"):
        rec.rec_neighbour_service(X, y, N_USERS, N_ITEMS, k=N_USERS)
    with pytest.raises(ValueError, match="service"):
        rec.rec_sybil_explanation_leak({}, [0, 1], n_sybils=1)
    with pytest.raises(ValueError, match="targets"):
        rec.rec_sybil_explanation_leak(svc, [0, N_USERS], n_sybils=1)
    with pytest.raises(ValueError, match="n_sybils"):
        rec.rec_sybil_explanation_leak(svc, [0, 1], n_sybils=6)
    with pytest.raises(ValueError, match="known_share"):
        rec.rec_sybil_explanation_leak(svc, [0, 1], n_sybils=1, known_share=1.0)
    with pytest.raises(ValueError, match="epsilon"):
        rec.rec_sybil_explanation_leak(svc, [0, 1], n_sybils=1, epsilon=0.0)
    with pytest.raises(ValueError):
        rec.rec_sybil_explanation_leak(svc, [0, 1], n_sybils=1, noise="loud")
    with pytest.raises(ValueError, match="without_target"):
        rec.rec_sybil_explanation_leak(svc, [0, 1], n_sybils=1, without_target=1)
    with pytest.raises(ValueError, match="users"):
        rec.rec_histogram_fidelity(svc, [0], epsilon=1.0)
    with pytest.raises(ArgumentTypeError):
        rec.rec_histogram_fidelity(svc, [0, 1], epsilon="1")
