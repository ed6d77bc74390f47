"""Lab 10's recommender section: a top 10 from an encrypted or secret-shared user factor."""

import numpy as np
import pytest

from mlsec_helpers.securecomp import recommender as sc_rec
from mlsec_helpers.systems import MFRecommender
from mlsec_helpers.validate import ArgumentTypeError

N_USERS, N_ITEMS = 12, 60


@pytest.fixture(scope="module")
def mf():
    gen = np.random.default_rng(0)
    pairs = np.array([(u, i) for u in range(N_USERS) for i in range(N_ITEMS)
                      if gen.random() < 0.3])
    y = gen.integers(1, 11, size=len(pairs)).astype(np.float32) / 2
    return MFRecommender(N_USERS, N_ITEMS, dim=4, epochs=3, seed=0).fit(pairs, y)


@pytest.fixture(scope="module")
def parts(mf):
    return sc_rec.mf_parts(mf)


def test_parts_and_plain_scores_match_the_system(mf, parts):
    assert parts.P.shape == (N_USERS, 4) and parts.Q.shape == (N_ITEMS, 4)
    users = np.array([0, 5, 11])
    np.testing.assert_allclose(sc_rec.plain_user_scores(parts, users), mf.score(users),
                               atol=1e-5)
    top = sc_rec.top_k_lists(sc_rec.plain_user_scores(parts, users), users, parts, k=5)
    for row, u in enumerate(users):
        assert not set(top[row]) & set(parts.seen[int(u)].tolist())
        np.testing.assert_array_equal(top[row], mf.recommend(int(u), k=5))


def test_top_k_known_answer(parts):
    scores = np.tile(np.arange(N_ITEMS, dtype=float), (1, 1))  # item i scores i
    top = sc_rec.top_k_lists(scores, [0], parts, k=3)[0]
    unseen = [i for i in range(N_ITEMS - 1, -1, -1) if i not in set(parts.seen[0].tolist())]
    assert top.tolist() == unseen[:3]


def test_bad_inputs_raise(mf, parts):
    with pytest.raises(ArgumentTypeError):
        sc_rec.mf_parts("not a recommender")
    with pytest.raises(ValueError):
        sc_rec.plain_user_scores(parts, [N_USERS])
    with pytest.raises(ValueError):
        sc_rec.plain_user_scores(parts, [0.5])
    with pytest.raises(ValueError):
        sc_rec.top_k_lists(np.zeros((1, 3)), [0], parts)
    with pytest.raises(ValueError):
        sc_rec.top_k_lists(np.zeros((1, N_ITEMS)), [0], parts, k=0)
    with pytest.raises(ValueError):
        sc_rec.recommender_he_context(method="rotations")
    with pytest.raises(ArgumentTypeError):
        sc_rec.shared_user_scores(parts, [0], secret_model="yes", seed=0)
    with pytest.raises(ArgumentTypeError):
        sc_rec.encrypted_user_scores("context", parts, [0])
    with pytest.raises(ValueError, match="Galois"):
        sc_rec.encrypted_user_scores(sc_rec.recommender_he_context(), parts, [0],
                                     method="one ciphertext")


@pytest.mark.parametrize("method", sc_rec.HE_METHODS)
def test_encrypted_scores_match_plaintext(parts, method):
    ctx = sc_rec.recommender_he_context(method=method)
    res = sc_rec.encrypted_user_scores(ctx, parts, [1, 7], method=method, k=5)
    assert res.scores.shape == (2, N_ITEMS) and res.method == method
    assert res.max_abs_error < 1e-4 and res.same_top_k.all()
    assert res.ciphertexts_down_per_user == 1  # 60 items fit one ciphertext
    assert res.ciphertexts_up_per_user == (4 if method == "packed" else 1)
    assert res.bytes_up_per_user > 0 and res.ms_per_user > 0 and res.key_bytes > 0


@pytest.mark.parametrize("secret", [False, True])
def test_shared_scores_match_plaintext_and_are_seeded(parts, secret, unchanged_global_state):
    res = sc_rec.shared_user_scores(parts, [2, 3, 4], secret_model=secret, seed=5, k=5)
    assert res.max_abs_error < 1e-4 and res.same_top_k.all()
    again = sc_rec.shared_user_scores(parts, [2, 3, 4], secret_model=secret, seed=5, k=5)
    np.testing.assert_array_equal(res.scores, again.scores)
    if secret:
        assert res.opened_values_per_user == N_ITEMS * 5 + 5  # E = [Q, b_i] - A, F = w - B
        assert res.offline_bytes_per_user > 0
    else:
        assert res.opened_values_per_user == 0 and res.messages_per_user == 6
        assert res.offline_bytes_per_user == 0
