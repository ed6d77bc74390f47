"""Membership inference and differential privacy helpers (lab 05), on tiny data."""

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from mlsec_helpers import checkpoints, privacy, repro, systems


def _proba(n=40, k=3, seed=0):
    gen = np.random.default_rng(seed)
    z = gen.normal(0, 2, size=(n, k))
    return np.exp(z) / np.exp(z).sum(1, keepdims=True), gen.integers(0, k, n)


# --- scores and metrics ------------------------------------------------------------------------


def test_loss_threshold_attack_matches_definition():
    p, y = _proba()
    result = privacy.loss_threshold_attack(p, y, 1.0)
    loss = -np.log(p[np.arange(len(y)), y])
    assert np.allclose(result.scores, -loss)
    assert np.array_equal(result.is_member, loss <= 1.0)
    p[0, y[0]] = 0.0
    assert np.isfinite(privacy.cross_entropy_losses(p, y)).all()


@pytest.mark.parametrize("bad", [
    lambda p, y: (p[:, 0], y),  # 1-D proba
    lambda p, y: (p, y[:-1]),  # mismatched lengths
    lambda p, y: (p, y + 5),  # labels out of range
    lambda p, y: (p * 3, y),  # not probabilities
])
def test_scores_reject_bad_input(bad):
    p, y = _proba()
    with pytest.raises(ValueError):
        privacy.cross_entropy_losses(*bad(p, y))


def test_labels_must_be_integers_and_threshold_a_number():
    p, y = _proba()
    with pytest.raises(TypeError, match="integer class labels"):
        privacy.cross_entropy_losses(p, y + 0.5)
    with pytest.raises(TypeError, match="threshold must be a number"):
        privacy.loss_threshold_attack(p, y, "low")


def test_logit_confidences_agree_and_are_stable():
    z = torch.tensor([[40.0, 0.0, -3.0], [0.0, 1.0, 2.0], [5.0, 5.0, 5.0]], dtype=torch.float64)
    y = np.array([0, 2, 1])
    phi = privacy.logit_confidence_from_logits(z, y)
    assert np.allclose(phi, privacy.logit_confidence(privacy.softmax(z), y))
    assert phi[0] > 39.9 and np.isclose(phi[2], -math.log(2))
    loss = privacy.losses_from_logits(z, y)
    assert loss[0] > 0 and np.allclose(privacy.loss_to_logit_confidence(loss), phi)
    with pytest.raises(ValueError):
        privacy.loss_to_logit_confidence([-1.0])
    with pytest.raises(ValueError):
        privacy.logit_confidence_from_logits(z, y[:2])


def test_tpr_at_fpr_and_metrics():
    y = np.r_[np.ones(50), np.zeros(100)]
    perfect = y + 0.01 * np.arange(150) / 150
    assert privacy.tpr_at_fpr(y, perfect, 0.01) == 1.0
    assert privacy.tpr_at_fpr(y, -perfect, 0.01) == 0.0
    gen = np.random.default_rng(0)
    s = gen.normal(y, 1.0)
    m = privacy.membership_metrics(y, s, fpr=0.05)
    assert isinstance(m, privacy.MembershipMetrics) and 0 < m.advantage < 1
    assert np.isclose(m.auc, roc_auc_score(y, s)) and 0 < m.tpr_at_fpr < 1


@pytest.mark.parametrize(("y", "s", "fpr"), [
    (np.ones(5), np.arange(5.0), 0.01),  # one class only
    (np.r_[1, 0, 1], np.arange(2.0), 0.01),  # mismatched lengths
    (np.r_[1, 0, 2], np.arange(3.0), 0.01),  # not 0/1
    (np.r_[1, 0, 1], np.arange(3.0), 1.5),  # fpr outside [0, 1]
])
def test_tpr_at_fpr_rejects_bad_input(y, s, fpr):
    with pytest.raises(ValueError):
        privacy.tpr_at_fpr(y, s, fpr)


def test_membership_roc_is_log_log():
    y = np.r_[np.ones(20), np.zeros(20)]
    fig = privacy.membership_roc({"attack": (y, np.arange(40.0))})
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    with pytest.raises(ValueError):
        privacy.membership_roc({})


# --- LiRA ---------------------------------------------------------------------------------------


def test_lira_single_and_vectorised_agree():
    gen = np.random.default_rng(1)
    shadow_loss = gen.gamma(2.0, 0.3, size=(16, 5))
    target_loss = gen.gamma(1.0, 0.1, size=5)
    phi_s = privacy.loss_to_logit_confidence(shadow_loss.ravel()).reshape(16, 5)
    phi_t = privacy.loss_to_logit_confidence(target_loss)
    vec = privacy.lira_offline_scores(phi_t, phi_s)
    one = [privacy.lira_offline_score(target_loss[i], shadow_loss[:, i]) for i in range(5)]
    assert np.allclose(vec, one)
    g = float(np.sqrt(phi_s.var(0).mean()))
    vec_g = privacy.lira_offline_scores(phi_t, phi_s, global_variance=True)
    assert np.allclose(vec_g, [privacy.lira_offline_score(target_loss[i], shadow_loss[:, i], g)
                               for i in range(5)])
    with pytest.raises(ValueError):
        privacy.lira_offline_score(0.1, [0.2])
    with pytest.raises(ValueError):
        privacy.lira_offline_scores(phi_t, phi_s[:, :4])
    with pytest.raises(ValueError):
        privacy.lira_offline_score(0.1, [0.2, 0.3], global_std=0.0)


def test_leave_one_out_lira_finds_a_planted_leak():
    gen = np.random.default_rng(2)
    keep = privacy.random_halves(200, 24, seed=0)
    assert (keep.sum(1) == 100).all()
    difficulty = gen.normal(0, 2, size=200)
    phi = difficulty + 0.8 * keep + gen.normal(0, 0.5, size=keep.shape)
    for online in (True, False):
        result = privacy.leave_one_out_lira(phi, keep, online=online)
        assert np.array_equal(result.is_member, keep)
        assert roc_auc_score(result.is_member.ravel(), result.scores.ravel()) > 0.75
    naive = roc_auc_score(keep.ravel(), phi.ravel())
    assert naive < 0.7  # difficulty hides the leak from a global threshold
    with pytest.raises(ValueError):
        privacy.leave_one_out_lira(phi[:2], keep[:2])
    with pytest.raises(ValueError):
        privacy.lira_online_scores(phi[0], phi[1:], np.ones_like(keep[1:]))


def test_art_black_box_attack_learns_confidence():
    gen = np.random.default_rng(3)

    def outputs(member, n=150):
        conf = gen.uniform(0.9, 1.0, n) if member else gen.uniform(0.4, 1.0, n)
        p = np.c_[conf, 1 - conf]
        return p, np.zeros(n, dtype=int)

    (p_in, y_in), (p_out, y_out) = outputs(True), outputs(False)
    (a_in, _), (a_out, _) = outputs(True), outputs(False)
    scores = privacy.art_black_box_attack((p_in, y_in), (p_out, y_out),
                                          (np.r_[a_in, a_out], np.zeros(300, dtype=int)))
    assert roc_auc_score(np.r_[np.ones(150), np.zeros(150)], scores) > 0.7
    with pytest.raises(ValueError):
        privacy.art_black_box_attack((p_in, y_in), (p_out, y_out), (np.ones((3, 3)) / 3,
                                                                    np.zeros(3, dtype=int)))
    with pytest.raises(ValueError, match="unknown attack_model 'svm'"):
        privacy.art_black_box_attack((p_in, y_in), (p_out, y_out), (a_in, y_in),
                                     attack_model="svm")
    with pytest.raises(TypeError, match="must be a pair"):
        privacy.art_black_box_attack(p_in, (p_out, y_out), (a_in, y_in))


# --- accounting ----------------------------------------------------------------------------------


def test_epsilon_for_behaves_and_matches_opacus():
    eps = [privacy.epsilon_for(s, 0.05, 200, 1e-5) for s in (0.8, 1.5, 3.0)]
    assert eps[0] > eps[1] > eps[2] > 0
    assert privacy.epsilon_for(1.0, 0.05, 400, 1e-5) > privacy.epsilon_for(1.0, 0.05, 200, 1e-5)
    from opacus.accountants import RDPAccountant

    acc = RDPAccountant()
    acc.history = [(1.5, 0.05, 200)]
    assert math.isclose(eps[1], acc.get_epsilon(1e-5), rel_tol=0.02)
    assert privacy.group_epsilon(2.0, 10) == 20.0


def test_noise_for_epsilon_meets_the_budget():
    sigma = privacy.noise_for_epsilon(3.0, 1e-5, 0.25, 100)
    assert privacy.epsilon_for(sigma, 0.25, 100, 1e-5, accountant="rdp") <= 3.0 * 1.02


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"noise_multiplier": 0.0}, ValueError),
    ({"noise_multiplier": -1.0}, ValueError),
    ({"sample_rate": 1.5}, ValueError),
    ({"sample_rate": 0.0}, ValueError),
    ({"steps": 0}, ValueError),
    ({"delta": 0.0}, ValueError),
    ({"delta": 1.0}, ValueError),
    ({"delta": "small"}, TypeError),
    ({"accountant": "moments"}, ValueError),
])
def test_epsilon_for_rejects_bad_input(kwargs, error):
    args = {"noise_multiplier": 1.0, "sample_rate": 0.1, "steps": 10, "delta": 1e-5, **kwargs}
    with pytest.raises(error):
        privacy.epsilon_for(**args)


@pytest.mark.parametrize("epsilon", [0.0, -1.0, math.inf])
def test_noise_for_epsilon_rejects_bad_epsilon(epsilon):
    with pytest.raises(ValueError, match="target_epsilon"):
        privacy.noise_for_epsilon(epsilon, 1e-5, 0.1, 10)


def test_noise_for_epsilon_rejects_bad_delta():
    with pytest.raises(ValueError, match=r"delta must lie in \(0, 1\)"):
        privacy.noise_for_epsilon(1.0, 1.5, 0.1, 10)


# --- DP-SGD ------------------------------------------------------------------------------------


def _tiny_classification(n=120, seed=0):
    gen = np.random.default_rng(seed)
    X = gen.normal(size=(n, 4)).astype(np.float32)
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64)


def _train(seed=0, **kw):
    X, y = _tiny_classification()
    with repro.seeded(seed):
        model = systems.StandardisedMLP(X.mean(0), X.std(0), depth=0)
    spent = privacy.train_dp(model, X, y, delta=1e-5, epochs=3, batch_size=30, lr=0.05,
                             max_grad_norm=1.0, seed=seed, progress=False, **kw)
    return model, spent


def test_train_dp_spends_its_budget_and_is_deterministic():
    model, spent = _train(target_epsilon=2.0)
    assert isinstance(spent, privacy.PrivacySpent) and spent.delta == 1e-5
    assert spent.epsilon <= 2.0 + 0.05 and spent.noise_multiplier > 0
    assert spent.steps > 0 and spent.sample_rate == 0.25
    again, _ = _train(target_epsilon=2.0)
    for a, b in zip(model.parameters(), again.parameters(), strict=True):
        assert torch.equal(a, b)
    _, fixed = _train(noise_multiplier=1.0, ema=0.5, optimizer="sgd")
    assert fixed.noise_multiplier == 1.0 and fixed.epsilon > 0
    _, quiet = _train(noise_multiplier=1.0, report_epsilon=False)
    assert math.isnan(quiet.epsilon) and quiet.steps == fixed.steps


def test_train_dp_leaves_global_state(unchanged_global_state):
    _train(target_epsilon=2.0, ema=0.5)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({}, "exactly one"),  # neither epsilon nor noise
    ({"target_epsilon": 1.0, "noise_multiplier": 1.0}, "exactly one"),
    ({"target_epsilon": -1.0}, "target_epsilon must be > 0"),
    ({"target_epsilon": 1.0, "ema": 1.0}, r"ema must lie in \[0, 1\)"),
    ({"target_epsilon": 1.0, "optimizer": "rmsprop"}, "unknown optimizer 'rmsprop'"),
])
def test_train_dp_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _train(**kwargs)


def test_train_dp_rejects_bad_delta_and_lengths():
    X, y = _tiny_classification()
    model = systems.StandardisedMLP(X.mean(0), X.std(0), depth=0)
    common = {"epochs": 1, "batch_size": 10, "lr": 0.1, "max_grad_norm": 1.0, "seed": 0,
              "target_epsilon": 1.0, "progress": False}
    with pytest.raises(ValueError, match="delta must lie in"):
        privacy.train_dp(model, X, y, delta=2.0, **common)
    with pytest.raises(ValueError, match="same, non-zero length"):
        privacy.train_dp(model, X, y[:-1], delta=1e-5, **common)


# --- the digits experiment's trainers (tiny) ----------------------------------------------------

TINY_DIGITS = {"dataset": "digits_tiny", "n_members": 200, "epochs": 1, "n_shadows": 2,
               "n_dp_shadows": 2, "dp_epochs": 1, "dp_batch_size": 50, "dp_epsilons": (1.0,)}


def test_digits_trainers_are_deterministic_and_load():
    from safetensors.torch import save

    dp = privacy.train_digits_models("dp", **TINY_DIGITS)
    assert save(dp) == save(privacy.train_digits_models("dp", **TINY_DIGITS))
    models = privacy.digits_models_from(dp, image_size=8)
    assert list(models) == ["eps0.model0"] and float(dp["eps0.model0.epsilon"]) <= 1.05
    shadows = privacy.digits_models_from(privacy.train_digits_models("shadows", **TINY_DIGITS),
                                         image_size=8)
    assert list(shadows) == ["model0", "model1"]
    assert shadows["model0"].cnn.features[0].out_channels == privacy.DIGITS_SETTINGS["width"]
    X = torch.rand(3, 1, 8, 8)
    assert privacy.predict_logits(shadows["model0"], X).shape == (3, 10)
    with pytest.raises(ValueError, match="unknown part 'everything'"):
        privacy.train_digits_models("everything", **TINY_DIGITS)
    with pytest.raises(ValueError, match="unknown setting 'learning_rate'"):
        privacy.train_digits_models("dp", learning_rate=1.0)


def test_digits_trainers_leave_global_state(unchanged_global_state):
    deterministic = torch.are_deterministic_algorithms_enabled()
    for part in ("target", "dp"):
        privacy.train_digits_models(part, **{**TINY_DIGITS, "n_members": 60})
    assert torch.are_deterministic_algorithms_enabled() == deterministic


def test_membership_splits_are_disjoint_and_checked():
    split = privacy.digits_membership_split(100, 30, seed=0)
    members, pool = split.members, split.non_members
    assert len(members) == 30 and not set(members) & set(pool) and len(pool) == 70
    sets = privacy.shadow_training_sets(pool, 3, 20, seed=0)
    assert sets.shape == (3, 20) and set(sets.ravel()) <= set(pool)
    with pytest.raises(ValueError, match="must be smaller than n_train"):
        privacy.digits_membership_split(100, 100)
    with pytest.raises(ValueError, match="exceeds the pool"):
        privacy.shadow_training_sets(pool, 2, 500)
    texts = privacy.support_membership_split(50, 20)
    assert len(texts.members) == len(texts.non_members) == 20
    assert not set(texts.members) & set(texts.non_members)
    with pytest.raises(ValueError, match="2 x n_members"):
        privacy.support_membership_split(50, 30)
    with pytest.raises(TypeError, match="positional"):
        privacy.digits_membership_split(100, 30, 0)  # seed is keyword-only


# --- the character-level language model ----------------------------------------------------------


def test_encode_messages_and_losses():
    X = privacy.encode_messages(["hi", "hello é"], max_len=5)
    assert X.shape == (2, 7) and X[0, 3] == 2 and X[0, 4] == 0  # "hi" + end, then padding
    with pytest.raises(TypeError, match="not one string"):
        privacy.encode_messages("hello")
    with pytest.raises(TypeError, match="strings only"):
        privacy.encode_messages([1, 2])
    with pytest.raises(ValueError, match="at least one message"):
        privacy.encode_messages([])
    with repro.seeded(0):
        model = privacy.CharLM(hidden=8, embed=4)
    texts = ["a short one", "a much longer message than that", "x"]
    losses = privacy.char_lm_losses(model, texts, batch_size=2)
    one_by_one = [privacy.char_lm_losses(model, [t])[0] for t in texts]
    assert losses.shape == (3,) and np.allclose(losses, one_by_one, atol=1e-5)


def test_train_char_lm_with_and_without_dp():
    texts = [f"my card {i} was lost, please block it" for i in range(20)]
    small = {"hidden": 8, "embed": 4, "epochs": 5, "lr": 0.05, "dp_epochs": 1,
             "dp_batch_size": 10, "max_len": 40}
    plain = privacy.train_char_lm(texts, **small)
    assert plain.privacy is None and isinstance(plain.model.rnn, torch.nn.LSTM)
    with repro.seeded(0):  # the trainer's seed: the same initial weights
        untrained = privacy.CharLM(8, 4)
    before = privacy.char_lm_losses(untrained, texts).mean()
    assert privacy.char_lm_losses(plain.model, texts).mean() < before
    dp = privacy.train_char_lm(texts, dp=True, **small)
    assert isinstance(dp.model.rnn, torch.nn.LSTM)  # DPLSTM weights in the fast LSTM
    assert 0 < dp.privacy.epsilon <= 8.0 * 1.02 and dp.privacy.steps > 0
    with pytest.raises(ValueError, match="unknown setting 'layers'"):
        privacy.train_char_lm(texts, layers=2)


def test_train_char_lm_leaves_global_state(unchanged_global_state):
    texts = [f"my card {i} was lost" for i in range(10)]
    small = {"hidden": 4, "embed": 4, "epochs": 1, "dp_epochs": 1, "dp_batch_size": 5,
             "max_len": 20}
    first = privacy.train_char_lm(texts, **small)
    again = privacy.train_char_lm(texts, **small)
    for a, b in zip(first.model.parameters(), again.model.parameters(), strict=True):
        assert torch.equal(a, b)
    privacy.train_char_lm(texts, dp=True, **small)


# --- recommender, fraud, medical helpers --------------------------------------------------------


def test_fold_in_errors_separate_members():
    gen = np.random.default_rng(4)
    n_users, n_items = 40, 30
    pairs = np.array([(u, i) for u in range(n_users) for i in gen.choice(n_items, 12, False)])
    ratings = np.clip(np.round(gen.normal(3.5, 1.0, len(pairs)) * 2) / 2, 0.5, 5).astype(
        np.float32)
    split = privacy.user_membership_split(n_users, seed=0)
    members = split.members
    assert len(members) + len(split.non_members) == n_users
    rows = np.isin(pairs[:, 0], members)
    mf = systems.MFRecommender(n_users, n_items, dim=8, epochs=60, weight_decay=0.0,
                               bias_decay=0.0, lr=0.05, batch_size=64, seed=0)
    with pytest.raises(ValueError, match="fitted"):
        privacy.fold_in_errors(mf, pairs, ratings)
    mf.fit(pairs[rows], ratings[rows])
    result = privacy.fold_in_errors(mf, pairs, ratings)
    assert len(result.users) == len(result.rmse) == n_users
    assert roc_auc_score(np.isin(result.users, members), -result.rmse) > 0.8
    with pytest.raises(TypeError, match="MFRecommender"):
        privacy.fold_in_errors("a model", pairs, ratings)
    with pytest.raises(ValueError, match="entries for"):
        privacy.fold_in_errors(mf, pairs, ratings[:-1])
    with pytest.raises(ValueError, match="l2 must be > 0"):
        privacy.fold_in_errors(mf, pairs, ratings, l2=0.0)
    with pytest.raises(ValueError, match="item indices"):
        privacy.fold_in_errors(mf, pairs + [0, n_items], ratings)


def test_fraud_helpers():
    ids = np.array([3, 1, 3, 2, 1, 3])
    result = privacy.group_mean([1.0, 2.0, 3.0, 4.0, 6.0, 5.0], ids)
    assert list(result.groups) == [1, 2, 3] and np.allclose(result.means, [4.0, 4.0, 3.0])
    with pytest.raises(ValueError, match="groups must be 1-D"):
        privacy.group_mean([1.0, 2.0], ids)
    split = privacy.customer_membership_split(np.arange(10).repeat(3), 4, seed=0)
    members, others = split.members, split.non_members
    assert len(members) == len(others) == 4 and not set(members) & set(others)
    with pytest.raises(ValueError, match="2 x n_customers"):
        privacy.customer_membership_split(np.arange(5), 3)
    p = np.array([[0.96, 0.04], [0.24, 0.76]])
    assert np.allclose(privacy.coarsen_scores(p, 0.1), [[1.0, 0.0], [0.2, 0.8]])
    q = privacy.coarsen_scores(np.array([[0.5, 0.3, 0.2]]), 0.25)
    assert np.isclose(q.sum(), 1.0)
    with pytest.raises(ValueError, match=r"step must lie in \(0, 1\]"):
        privacy.coarsen_scores(p, 0.0)
    with pytest.raises(ValueError, match=r"step must lie in \(0, 1\]"):
        privacy.coarsen_scores(p, 2.0)


def test_medical_dp_models_tiny():
    models = privacy.train_medical_dp_models(n_models=3, dp_epochs=1)
    X = privacy.medical_population().X
    logits = privacy.linear_models_logits(models, X)
    assert logits.shape == (3, len(X), 2) and models.weight.shape == (3, 2, X.shape[1])
    assert (models.epsilon <= 1.0 + 0.05).all() and (models.epsilon > 0.9).all()
    with pytest.raises(ValueError, match=r"X must be \(n, 30\)"):
        privacy.linear_models_logits(models, X[:, :5])
    with pytest.raises(TypeError, match="DPLinearModels"):
        privacy.linear_models_logits({"weight": models.weight}, X)
    with pytest.raises(ValueError, match="n_models must be >= 1"):
        privacy.random_halves(10, 0)


def test_medical_dp_models_leave_global_state(unchanged_global_state):
    deterministic = torch.are_deterministic_algorithms_enabled()
    first = privacy.train_medical_dp_models(n_models=2, dp_epochs=1)
    again = privacy.train_medical_dp_models(n_models=2, dp_epochs=1)
    assert torch.equal(first.weight, again.weight)
    assert torch.are_deterministic_algorithms_enabled() == deterministic


def test_medical_dp_train_seed_changes_training_not_halves():
    base = privacy.train_medical_dp_models(n_models=2, dp_epochs=1)
    same = privacy.train_medical_dp_models(n_models=2, dp_epochs=1, train_seed=0)
    other = privacy.train_medical_dp_models(n_models=2, dp_epochs=1, train_seed=7)
    assert torch.equal(base.weight, same.weight)
    assert not torch.equal(base.weight, other.weight)
    assert torch.equal(base.mean, other.mean)  # same population, same halves


def test_epsilon_lower_bound_audits_an_attack():
    gen = np.random.default_rng(0)
    y = np.r_[np.ones(2000, bool), np.zeros(2000, bool)]
    chance = privacy.epsilon_lower_bound(y, gen.normal(size=4000))
    strong = privacy.epsilon_lower_bound(y, gen.normal(size=4000) + 3.0 * y)
    weak = privacy.epsilon_lower_bound(y, gen.normal(size=4000) + 0.5 * y)
    assert chance < 0.15 and 0.0 < weak < strong
    # a perfect attack on n records proves at most about log(n): the intervals keep it finite
    perfect = privacy.epsilon_lower_bound(y, y.astype(float))
    assert 5.0 < perfect < math.log(2000) + 1
    # the bound is conservative: higher confidence, or delta, only lowers it
    assert privacy.epsilon_lower_bound(y, gen.normal(size=4000) + 1.0 * y, confidence=0.99) <= (
        privacy.epsilon_lower_bound(y, gen.normal(size=4000) + 1.0 * y, confidence=0.5) + 0.2)
    scores = gen.normal(size=4000) + 1.0 * y
    assert privacy.epsilon_lower_bound(y, scores, delta=0.1) < privacy.epsilon_lower_bound(
        y, scores)
    with pytest.raises(ValueError, match="members"):
        privacy.epsilon_lower_bound(np.ones(4, bool), np.arange(4.0))
    with pytest.raises(ValueError):
        privacy.epsilon_lower_bound(y, scores, delta=2.0)
    with pytest.raises(ValueError):
        privacy.epsilon_lower_bound(y, scores[:-1])


def test_threat_diagram():
    assert privacy.threat_diagram().layout.title.text.startswith("Membership inference")


# --- the registered checkpoints -----------------------------------------------------------------


LAB05_CHECKPOINTS = sorted(n for n in checkpoints.CHECKPOINTS if n.startswith("lab05_"))


def test_lab05_has_its_six_checkpoints():
    assert len(LAB05_CHECKPOINTS) == 6


@pytest.mark.parametrize("name", LAB05_CHECKPOINTS)
def test_lab05_checkpoints_are_in_the_table_and_verified(name):
    ckpt = checkpoints.CHECKPOINTS[name]
    module, function = ckpt.trainer.split(":")
    assert module == "mlsec_helpers.privacy" and function in privacy.__all__
    assert callable(getattr(privacy, function))
    tensors = checkpoints.load(name)  # SHA-256 checked
    assert tensors


def test_checkpoints_rebuild_their_models():
    dp = privacy.load_digits_models("lab05_digits_dp")
    assert len(dp.models) == len(privacy.DIGITS_SETTINGS["dp_epsilons"])
    assert torch.equal(dp.tensors["epsilons"], torch.tensor([1.0, 3.0, 8.0],
                                                            dtype=torch.float64))
    assert not any(".cnn." in k for k in dp.tensors)
    lm = privacy.load_char_lm("lab05_char_lm")
    assert lm.privacy is None and lm.model.out.in_features == privacy.CHAR_LM_SETTINGS["hidden"]
    total = sum(c.path.stat().st_size for n, c in checkpoints.CHECKPOINTS.items()
                if n.startswith("lab05_"))
    assert total < 6e6, "lab 05's checkpoints must stay small"


def test_tpr_at_fpr_agrees_with_art_without_ties():
    from art.metrics.privacy import get_roc_for_fpr

    gen = np.random.default_rng(9)
    y = np.r_[np.ones(300), np.zeros(300)].astype(int)
    s = gen.normal(0.5 * y, 1.0)
    for fpr in (0.01, 0.05, 0.2):
        (_, art_tpr, _), = get_roc_for_fpr(s, y, targeted_fpr=fpr)
        assert np.isclose(privacy.tpr_at_fpr(y, s, fpr), art_tpr)


def test_char_unigram_losses():
    losses = privacy.char_unigram_losses(["aaaa", "aab"], ["aaa", "zzz"])
    assert losses.shape == (2,) and losses[0] < losses[1]
    with pytest.raises(TypeError):
        privacy.char_unigram_losses("aaaa", ["aaa"])


def test_loaders_leave_global_state(unchanged_global_state):
    target = privacy.load_digits_models("lab05_digits_target")
    assert list(target.models) == ["model0"]
    lm = privacy.load_char_lm("lab05_char_lm_dp")
    assert isinstance(lm.privacy, privacy.PrivacySpent)
    assert lm.privacy.epsilon <= 8.0 * 1.02 and lm.privacy.delta == 1e-5
    assert isinstance(lm.privacy.steps, int) and lm.privacy.steps > 0


def test_attacks_leave_global_state(unchanged_global_state):
    p, y = _proba(n=60, k=2)
    privacy.loss_threshold_attack(p, y, 0.5)
    privacy.art_black_box_attack((p[:20], y[:20]), (p[20:40], y[20:40]), (p[40:], y[40:]),
                                 seed=1)
    keep = privacy.random_halves(30, 16, seed=0)
    privacy.leave_one_out_lira(np.random.default_rng(0).normal(size=keep.shape), keep)
    privacy.digits_membership_split(30, 10, seed=3)
    privacy.shadow_training_sets(np.arange(20), 2, 5, seed=3)


def test_medical_dp_scaling_comes_from_the_public_cohort_only():
    pop = privacy.medical_population()
    assert len(pop.X) == 569 - privacy.MEDICAL_SETTINGS["n_public"] == len(pop.y)
    assert len(pop.X_public) == privacy.MEDICAL_SETTINGS["n_public"]
    # disjoint: no public patient is in the experiment's population
    rows = {r.tobytes() for r in pop.X}
    assert not any(r.tobytes() in rows for r in pop.X_public)
    models = privacy.train_medical_dp_models(n_models=1, dp_epochs=1)
    assert np.allclose(models.mean.numpy(), pop.X_public.mean(0))
    assert np.allclose(models.scale.numpy(), pop.X_public.std(0))
    with pytest.raises(ValueError, match="n_public"):
        privacy.medical_population(n_public=1)
