"""Unit tests of mlsec_helpers.evasion (lab 02), on small data: digits_tiny, slices, toy models."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mlsec_helpers import checkpoints, evasion, fraud_sim, repro, systems
from mlsec_helpers.data import load_dataset

# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    return load_dataset("digits_tiny", seed=0)


@pytest.fixture(scope="module")
def tiny_cnn(tiny):
    return systems.DigitsCNN(seed=0, epochs=2).fit(tiny.X_train, tiny.y_train)


@pytest.fixture(scope="module")
def small_history():
    return fraud_sim.simulate_transactions(n_customers=60, n_terminals=60, n_days=14, seed=1)


class ToySystem:
    """A fitted course-like classifier whose probabilities come from a plain function: what a
    black-box attack sees of a system."""

    fitted_ = True

    def __init__(self, proba):
        self.proba = proba

    def predict_proba(self, X):
        return self.proba(X)


def _toy_scam_proba(texts):
    """Two classes; P(scam) grows with the share of scam words the text contains."""
    words = ("verify", "account", "urgent", "click", "suspended", "link")
    p = np.array([0.2 + 0.12 * sum(w in t.lower() for w in words) for t in texts])
    return np.column_stack([1 - p, p])


TOY_SCAM = ToySystem(_toy_scam_proba)


def _binary(score):
    """A two-class system from a function giving P(class 1) per row."""
    return ToySystem(lambda X: np.column_stack([1 - score(X), score(X)]))


# --- text attacks ------------------------------------------------------------------------------


def test_character_perturbations_look_the_same_but_differ():
    assert evasion.homoglyph("paypal") != "paypal"
    assert evasion.canonicalise(evasion.homoglyph("Secure Account")) == "Secure Account"
    zw = evasion.zero_width("verify")
    assert len(zw) == 11 and zw.replace("\u200b", "") == "verify"
    assert evasion.leetspeak("password") == "p455w0rd"
    assert evasion.fold_leetspeak("p455w0rd at 5119 1k") == "password at 5119 1k"
    assert evasion.typo("account", seed=3) == evasion.typo("account", seed=3) != "account"
    assert evasion.typo("ab") == "ab"
    assert evasion.synonyms("Verify,") == ["Validate,", "Check,", "Re-check,"]
    assert evasion.synonyms("banana") == []


def test_links_keep_working():
    link = "http://larkfieldbank-secure.example/verify?id=1"
    assert evasion.is_link(link) and evasion.is_link("a.b@example.com")
    assert not evasion.is_link("details:") and not evasion.is_link("Larkfield.")
    assert evasion.perturb_text(link, "zero_width", fraction=1.0) == link
    assert evasion.perturb_text(link, "homoglyph", fraction=1.0) != link


def test_canonicalise_undoes_invisible_tricks():
    text = "Your account is suspended"
    attacked = " ".join(evasion.zero_width(evasion.homoglyph(w)) for w in text.split())
    assert attacked != text and evasion.canonicalise(attacked) == text
    assert evasion.canonicalise("\uff36\uff25\uff32\uff29\uff26\uff39") == "VERIFY"
    assert evasion.canonicalise("Caf\u00e9 \u00a3250") == "Caf\u00e9 \u00a3250"


def test_text_helpers_reject_bad_input():
    with pytest.raises(TypeError, match="text must be a string"):
        evasion.canonicalise(42)
    with pytest.raises(TypeError, match="word must be a string"):
        evasion.homoglyph(None)
    with pytest.raises(ValueError, match="unknown text attack"):
        evasion.perturb_text("hello there", "emoji")
    with pytest.raises(ValueError, match="fraction must lie in"):
        evasion.perturb_text("hello there", "typo", fraction=1.5)
    with pytest.raises(TypeError, match="text must be a string"):
        evasion.fold_leetspeak(b"bytes")
    with pytest.raises(TypeError):
        evasion.typo("account", 3)  # the seed is keyword-only


def test_tables_are_read_only():
    for table in (evasion.HOMOGLYPHS, evasion.CONFUSABLES, evasion.LEET, evasion.LEET_FOLD,
                  evasion.SYNONYMS, evasion.FRAUD_CHANNELS, evasion.ROBUST_CNN_SETTINGS):
        with pytest.raises(TypeError):
            table["x"] = "y"
    with pytest.raises(AttributeError):
        evasion.ZERO_WIDTH.add("x")
    assert evasion.CONFUSABLES[evasion.HOMOGLYPHS["a"]] == "a"


def test_perturbations_leave_global_state_alone(unchanged_global_state):
    evasion.perturb_text("Urgent: verify your account now", "typo", 1.0, seed=2)
    res = evasion.augment_texts(["verify your account now", "hello there"], [1, 0], 1, seed=0)
    assert res.n_added == 2 and list(res.y) == [1, 0, 1, 1]


def test_greedy_attack_evades_toy_model_within_budget():
    texts = ["Urgent: verify your account now at this link",
             "Your account is suspended, click the link to verify"]
    res = evasion.greedy_text_attack(TOY_SCAM, texts, 1, "homoglyph", query_budget=30,
                                     progress=False)
    assert res.evaded.all() and res.evasion_rate == 1.0
    assert (res.queries <= 30).all() and (res.words_changed >= 1).all()
    assert (res.p_after < res.p_before).all()
    assert len(res.frame()) == 2
    again = evasion.greedy_text_attack(TOY_SCAM, texts, 1, "homoglyph", query_budget=30,
                                       progress=False)
    assert again.adversarial == res.adversarial
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.evaded = None


def test_greedy_attack_leaves_global_state_alone(unchanged_global_state):
    res = evasion.greedy_text_attack(TOY_SCAM, ["Urgent: verify your account"], 1,
                                     evasion.TEXT_ATTACKS, query_budget=20, seed=3,
                                     progress=False)
    assert res.queries[0] <= 20


def test_greedy_attack_respects_a_small_budget():
    texts = ["Urgent: verify your account now at this link"]
    res = evasion.greedy_text_attack(TOY_SCAM, texts, 1, "typo", query_budget=5,
                                     progress=False)
    assert res.queries[0] <= 5 + len(texts[0].split())  # importance queries come first


def test_greedy_attack_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown text attack"):
        evasion.greedy_text_attack(TOY_SCAM, ["a b"], 1, "emoji", progress=False)
    with pytest.raises(TypeError, match="list of strings, not one string"):
        evasion.greedy_text_attack(TOY_SCAM, "one string", 1, progress=False)
    with pytest.raises(ValueError, match="query_budget must be >= 1"):
        evasion.greedy_text_attack(TOY_SCAM, ["a b"], 1, query_budget=0, progress=False)
    with pytest.raises(ValueError, match="predict_proba must return"):
        evasion.greedy_text_attack(ToySystem(lambda t: np.ones(len(t))), ["a b"], 1,
                                   progress=False)
    with pytest.raises(ValueError, match="target must be a class"):
        evasion.greedy_text_attack(TOY_SCAM, ["a b"], 2, progress=False)
    with pytest.raises(ValueError, match="max_fraction must lie in"):
        evasion.greedy_text_attack(TOY_SCAM, ["a b"], 1, max_fraction=0, progress=False)
    with pytest.raises(ValueError, match="not fitted"):
        evasion.greedy_text_attack(_toy_scam_proba, ["a b"], 1, progress=False)


def test_defended_pipeline_canonicalises_and_augments():
    nlp = load_dataset("nlp", seed=0)
    X, y = nlp.X_train[:300], nlp.y_train[:300]
    scam = nlp.extra["scam_index"]
    aug = evasion.augment_texts(X, y, scam, ("typo", "synonym"), seed=0)
    n_scam = int((y == scam).sum())
    assert len(aug.X) == 300 + 2 * n_scam == 300 + aug.n_added and (aug.y[300:] == scam).all()
    model = evasion.defended_text_triage().fit(aug.X, aug.y)
    text = str(X[y == scam][0])
    attacked = " ".join(evasion.zero_width(evasion.homoglyph(w)) for w in text.split(" "))
    assert np.allclose(model.predict_proba([attacked]), model.predict_proba([text]))
    with pytest.raises(ValueError, match="unknown text attack"):
        evasion.augment_texts(X, y, scam, ("emoji",))
    with pytest.raises(ValueError, match="one per row"):
        evasion.augment_texts(X, y[:10], scam)
    res = evasion.greedy_text_attack(model, [attacked], scam, "typo", query_budget=5,
                                     progress=False)  # the defended pipeline is a system too
    assert res.queries[0] >= 1


# --- image attacks -----------------------------------------------------------------------------


def test_fgsm_stays_in_the_ball_and_the_pixel_range(tiny, tiny_cnn):
    x = torch.as_tensor(tiny.X_test[:8])
    y = torch.as_tensor(tiny.y_test[:8])
    adv = evasion.fgsm(tiny_cnn.model, x, y, 0.2)
    assert adv.shape == x.shape
    assert float((adv - x).abs().max()) <= 0.2 + 1e-6
    assert float(adv.min()) >= 0 and float(adv.max()) <= 1
    assert torch.equal(evasion.fgsm(tiny_cnn.model, x, y, 0.0), x)


def test_fgsm_rejects_bad_input(tiny, tiny_cnn):
    x = torch.as_tensor(tiny.X_test[:4])
    y = torch.as_tensor(tiny.y_test[:4])
    with pytest.raises(ValueError, match="eps must be"):
        evasion.fgsm(tiny_cnn.model, x, y, -0.1)
    with pytest.raises(TypeError, match="eps must be a number"):
        evasion.fgsm(tiny_cnn.model, x, y, "0.1")
    with pytest.raises(ValueError, match=r"\(n, 1, H, W\)"):
        evasion.fgsm(tiny_cnn.model, x[:, 0], y, 0.1)
    with pytest.raises(ValueError, match="one per row"):
        evasion.fgsm(tiny_cnn.model, x, y[:2], 0.1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        evasion.fgsm(tiny_cnn.model, x * 16, y, 0.1)


def test_art_fgsm_and_pgd_hurt_accuracy_and_are_seeded(tiny, tiny_cnn):
    x, y = tiny.X_test[:40], tiny.y_test[:40]
    clean = evasion.accuracy(tiny_cnn, x, y)
    adv_f = evasion.art_fgsm(tiny_cnn, x, y, 0.2)
    adv_p = evasion.art_pgd(tiny_cnn, x, y, 0.2, steps=5, restarts=1, seed=0)
    assert np.abs(adv_p - x).max() <= 0.2 + 1e-5 and adv_p.min() >= 0 and adv_p.max() <= 1
    assert (evasion.accuracy(tiny_cnn, adv_p, y) <= evasion.accuracy(tiny_cnn, adv_f, y) + 0.05
            < clean)
    assert np.array_equal(adv_p, evasion.art_pgd(tiny_cnn, x, y, 0.2, steps=5, restarts=1,
                                                 seed=0))
    assert np.array_equal(evasion.art_pgd(tiny_cnn, x, y, 0.0), x)


def test_accuracy_agrees_with_the_art_estimator(tiny, tiny_cnn):
    x, y = tiny.X_test, tiny.y_test
    art_pred = tiny_cnn.art_estimator().predict(x).argmax(1)
    assert evasion.accuracy(tiny_cnn, x, y) == float((art_pred == y).mean())


def test_image_attacks_leave_global_state_alone(tiny, tiny_cnn, unchanged_global_state):
    x, y = tiny.X_test[:6], tiny.y_test[:6]
    evasion.fgsm(tiny_cnn.model, torch.as_tensor(x), torch.as_tensor(y), 0.1)
    evasion.art_fgsm(tiny_cnn, x, y, 0.1)
    evasion.art_pgd(tiny_cnn, x, y, 0.2, steps=2, restarts=1, seed=5)
    evasion.square_attack(tiny_cnn, x, y, 0.2, max_iter=5, seed=5)
    evasion.accuracy(tiny_cnn, x, y)


def test_art_wrappers_reject_bad_input(tiny, tiny_cnn):
    x, y = tiny.X_test[:4], tiny.y_test[:4]
    with pytest.raises(ValueError, match="eps must be >= 0"):
        evasion.art_pgd(tiny_cnn, x, y, -1.0)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        evasion.art_pgd(tiny_cnn, x, y, 0.1, steps=0)
    with pytest.raises(ValueError, match="not fitted"):
        evasion.art_fgsm(tiny_cnn.art_estimator(), x, y, 0.1)  # the system, not its estimator
    with pytest.raises(ValueError, match="not fitted"):
        evasion.art_pgd(systems.DigitsCNN(), x, y, 0.1)
    with pytest.raises(TypeError, match="art_estimator"):
        evasion.art_fgsm(TOY_SCAM, x, y, 0.1)
    with pytest.raises(ValueError, match=r"\(n, 1, H, W\)"):
        evasion.square_attack(tiny_cnn, x.reshape(4, -1), y, 0.1)
    with pytest.raises(ValueError, match="max_iter must be >= 1"):
        evasion.square_attack(tiny_cnn, x, y, 0.1, max_iter=0)
    with pytest.raises(ValueError, match="not fitted"):
        evasion.accuracy(object(), x, y)
    with pytest.raises(ValueError, match="one per row"):
        evasion.accuracy(tiny_cnn, x, y[:2])


def test_square_attack_counts_queries(tiny, tiny_cnn):
    x, y = tiny.X_test[:10], tiny.y_test[:10]
    res = evasion.square_attack(tiny_cnn, x, y, 0.3, max_iter=30, seed=0)
    assert res.X_adv.shape == x.shape and np.abs(res.X_adv - x).max() <= 0.3 + 1e-5
    assert (res.queries >= 1).all() and res.queries.max() <= 32
    fooled = tiny_cnn.art_estimator().predict(res.X_adv).argmax(1) != y
    assert np.array_equal(fooled, res.success)
    assert (res.queries[~res.success] == res.queries.max()).all()


def test_pgd_training_and_robust_trainer_are_deterministic(tiny):
    from mlsec_helpers.systems import SmallCNN

    with repro.seeded(0):
        model = SmallCNN(image_size=8)
    losses = evasion.pgd_adversarial_training(model, tiny.X_train[:64], tiny.y_train[:64],
                                              eps=0.1, steps=2, epochs=2, warmup_epochs=1,
                                              progress=False)
    assert len(losses) == 2 and all(np.isfinite(losses))
    a = evasion.train_robust_cnn(dataset="digits_tiny", epochs=1, steps=1, warmup_epochs=1)
    b = evasion.train_robust_cnn(dataset="digits_tiny", epochs=1, steps=1, warmup_epochs=1)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="unknown setting"):
        evasion.train_robust_cnn(learning_rate=1.0)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        evasion.pgd_adversarial_training(model, tiny.X_train[:8], tiny.y_train[:8], eps=-1)


def test_trainers_leave_global_state_alone(tiny, unchanged_global_state):
    from mlsec_helpers.systems import SmallCNN

    with repro.seeded(0):
        model = SmallCNN(image_size=8)
    evasion.pgd_adversarial_training(model, tiny.X_train[:16], tiny.y_train[:16], eps=0.1,
                                     steps=1, epochs=1, warmup_epochs=0, progress=False)
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    evasion.train_robust_cnn(dataset="digits_tiny", epochs=1, steps=1, warmup_epochs=1)
    assert torch.are_deterministic_algorithms_enabled() == deterministic
    assert torch.is_deterministic_algorithms_warn_only_enabled() == warn_only
    evasion.load_robust_cnn()


def test_robust_checkpoint_is_in_the_table_and_loads():
    ckpt = checkpoints.CHECKPOINTS["lab02_robust_digits_cnn"]
    assert ckpt.trainer == "mlsec_helpers.evasion:train_robust_cnn" and ckpt.path.is_file()
    robust = evasion.load_robust_cnn()
    image = load_dataset("image", seed=0)
    assert (robust.predict(image.X_test[:100]) == image.y_test[:100]).mean() >= 0.9
    assert evasion.accuracy(robust, image.X_test[:100], image.y_test[:100]) >= 0.9


# --- recommender -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_mf():
    gen = np.random.default_rng(0)
    pairs = np.unique(np.column_stack([gen.integers(0, 20, 400), gen.integers(0, 30, 400)]),
                      axis=0)
    ratings = gen.integers(1, 6, len(pairs)).astype(np.float32)
    test = np.array([[u, (u * 7) % 30] for u in range(20)])
    test = np.array([p for p in test if not ((pairs == p).all(1)).any()])
    rec = systems.MFRecommender(20, 30, dim=4, epochs=3, seed=0).fit(pairs, ratings)
    data = type("D", (), {"X_train": pairs, "y_train": ratings, "X_test": test,
                          "y_test": np.full(len(test), 5.0)})()
    return rec, data


def _naive_ranking(scores, train, test, ratings, k=10):
    scores = np.array(scores, dtype=np.float64)
    scores[train[:, 0], train[:, 1]] = -np.inf
    liked = ratings >= 4.0
    hits, ndcgs = [], []
    for user in np.unique(test[liked, 0]):
        relevant = set(test[liked & (test[:, 0] == user), 1].tolist())
        row = np.argsort(-scores[user], kind="stable")[:k]
        gains = [1 / np.log2(r + 2) for r, item in enumerate(row) if item in relevant]
        ideal = sum(1 / np.log2(r + 2) for r in range(min(k, len(relevant))))
        hits.append(1.0 if gains else 0.0)
        ndcgs.append(sum(gains) / ideal)
    return {"hr@10": np.mean(hits), "ndcg@10": np.mean(ndcgs), "users": len(hits)}


def test_vectorised_ranking_metrics_match_a_naive_loop(tiny_mf):
    rec, data = tiny_mf
    scores = rec.score(np.arange(20))
    fast = systems.ranking_metrics(scores, data.X_train, data.X_test, data.y_test)
    ref = _naive_ranking(scores, data.X_train, data.X_test, data.y_test)
    assert fast["users"] == ref["users"]
    assert np.isclose(fast["hr@10"], ref["hr@10"]) and np.isclose(fast["ndcg@10"],
                                                                     ref["ndcg@10"])
    with pytest.raises(ValueError, match="n_users, n_items"):
        systems.ranking_metrics(scores[0], data.X_train, data.X_test, data.y_test)
    with pytest.raises(ValueError, match="pairs"):
        systems.ranking_metrics(scores, data.X_train[:, 0], data.X_test, data.y_test)


def test_embedding_attack_and_apr(tiny_mf):
    rec, data = tiny_mf
    direction = evasion.embedding_attack(rec, data.X_train, data.y_train)
    dP, dQ = direction.dP, direction.dQ
    assert dP.shape == rec.model.P.weight.shape and dQ.shape == rec.model.Q.weight.shape
    norms = dP.norm(dim=1)
    assert torch.allclose(norms[norms > 0], rec.model.P.weight.norm(dim=1)[norms > 0], atol=1e-5)
    assert np.allclose(evasion.perturbed_scores(rec, direction, 0.0), rec.score(np.arange(20)),
                       atol=1e-5)
    curve = evasion.ranking_under_attack(rec, data, [0.0, 0.5])
    assert list(curve.columns) == ["eps", "hr@10", "ndcg@10", "users"] and len(curve) == 2
    apr = evasion.apr_training(rec, data.X_train, data.y_train, eps=0.3, epochs=2,
                               progress=False)
    assert apr is not rec and apr.model is not rec.model
    assert not torch.equal(apr.model.P.weight, rec.model.P.weight)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        evasion.perturbed_scores(rec, direction, -0.1)
    with pytest.raises(TypeError, match="EmbeddingPerturbation"):
        evasion.perturbed_scores(rec, (dP, dQ), 0.1)
    with pytest.raises(ValueError, match="not fitted"):
        evasion.embedding_attack(object(), data.X_train, data.y_train)
    with pytest.raises(TypeError, match="MFRecommender"):
        evasion.embedding_attack(TOY_SCAM, data.X_train, data.y_train)
    with pytest.raises(ValueError, match=r"\(n, 2\) integer array"):
        evasion.apr_training(rec, data.X_train[:, 0], data.y_train, progress=False)
    with pytest.raises(ValueError, match="one rating per row"):
        evasion.apr_training(rec, data.X_train, data.y_train[:5], progress=False)


def test_recommender_helpers_leave_global_state_alone(tiny_mf, unchanged_global_state):
    rec, data = tiny_mf
    evasion.ranking_under_attack(rec, data, [0.0, 0.3], seed=1)
    evasion.apr_training(rec, data.X_train, data.y_train, eps=0.3, epochs=1, seed=1,
                         progress=False)


# --- fraud -------------------------------------------------------------------------------------


def test_legal_moves_and_splits():
    assert all(online == 0 for _, online in evasion.legal_moves(2))
    assert all(online == 1 for _, online in evasion.legal_moves(3))
    assert ("online_retail", 1) in evasion.legal_moves(1) and ("grocery", 0) in \
        evasion.legal_moves(1)
    with pytest.raises(ValueError, match="unknown fraud scenario"):
        evasion.legal_moves(0)
    parts = evasion.split_amounts(100.01, 3, "electronics")
    assert np.isclose(parts.sum(), 100.01) and len(parts) == 3
    assert np.allclose(evasion.split_amounts(120.0, 5, "cash_withdrawal") % 10, 0)
    assert evasion.split_amounts(20.0, 3, "cash_withdrawal") is None
    with pytest.raises(ValueError, match="parts"):
        evasion.split_amounts(10.0, 0, "grocery")


def test_constrained_attack_makes_only_valid_transactions(small_history):
    frauds = np.flatnonzero(small_history["is_fraud"].to_numpy() == 1)

    by_amount = _binary(lambda X: np.minimum(1.0, X[:, 0] / 200.0))  # large payments: fraud
    res = evasion.constrained_fraud_attack(by_amount, small_history, frauds, 0.2,
                                           progress=False)
    assert len(res.plan) == len(frauds) and res.plan["valid"].all()
    assert set(res.transactions["attack_target"]) == set(frauds)
    assert fraud_sim.check_constraints(res.transactions).all()
    assert res.X_adv.shape == (len(res.transactions), len(fraud_sim.FEATURES))
    big = res.plan["amount"] >= 200 * 0.2 * 2
    assert (res.plan.loc[big & res.plan["evaded"], "parts"] > 1).all()
    assert (res.plan["queries"] <= 400).all()


def test_constrained_attack_rejects_bad_input(small_history):
    frauds = np.flatnonzero(small_history["is_fraud"].to_numpy() == 1)
    legit = np.flatnonzero(small_history["is_fraud"].to_numpy() == 0)

    score = _binary(lambda X: np.zeros(len(X)))
    with pytest.raises(ValueError, match=r"threshold must lie in \(0, 1\)"):
        evasion.constrained_fraud_attack(score, small_history, frauds, 0.0, progress=False)
    with pytest.raises(ValueError, match="frauds"):
        evasion.constrained_fraud_attack(score, small_history, legit[:3], 0.5, progress=False)
    with pytest.raises(TypeError, match="integer row positions"):
        evasion.constrained_fraud_attack(score, small_history, frauds.astype(float), 0.5,
                                         progress=False)
    with pytest.raises(ValueError, match=r"lacks the columns \[.amount.\]"):
        evasion.constrained_fraud_attack(score, small_history.drop(columns="amount"), frauds,
                                         0.5, progress=False)
    with pytest.raises(TypeError, match="DataFrame"):
        evasion.constrained_fraud_attack(score, small_history.to_numpy(), frauds, 0.5,
                                         progress=False)
    with pytest.raises(ValueError, match="not fitted"):
        evasion.constrained_fraud_attack(lambda X: X[:, 0], small_history, frauds, 0.5,
                                         progress=False)


def test_fraud_attacks_leave_global_state_alone(small_history, unchanged_global_state):
    frauds = np.flatnonzero(small_history["is_fraud"].to_numpy() == 1)[:3]
    by_amount = _binary(lambda X: np.minimum(1.0, X[:, 0] / 200.0))
    res = evasion.constrained_fraud_attack(by_amount, small_history, frauds, 0.2, passes=1,
                                           progress=False)
    assert len(res.plan) == 3
    X, _ = fraud_sim.feature_matrix(small_history.iloc[frauds])
    evasion.unconstrained_fraud_attack(by_amount, X, 0.2, X, passes=1)


def test_robust_features_sum_the_last_24_hours():
    t0 = pd.Timestamp("2026-01-10 12:00")
    frame = pd.DataFrame({
        "timestamp": [t0, t0 + pd.Timedelta(hours=1), t0 + pd.Timedelta(hours=30)],
        "customer_id": [1, 1, 1], "terminal_id": [5, 5, 5], "amount": [10.0, 20.0, 40.0],
        "merchant_category": ["grocery"] * 3, "is_online": [0, 0, 0], "is_fraud": [0, 0, 0],
    })
    X = evasion.robust_fraud_features(fraud_sim.derive_features(frame))
    assert X.shape == (3, len(fraud_sim.FEATURES) + 2)
    assert np.allclose(X[:, -2], [10.0, 30.0, 40.0])
    assert np.allclose(X[:, -1], [1.0, 30.0 / 10.0, 40.0 / 15.0])  # 24 h total / 30-day mean


def test_unconstrained_attack_produces_impossible_rows(small_history):
    rows = small_history[small_history["is_fraud"] == 1]
    X, _ = fraud_sim.feature_matrix(rows)
    legit, _ = fraud_sim.feature_matrix(small_history[small_history["is_fraud"] == 0])

    score = _binary(lambda Z: np.minimum(1.0, Z[:, 0] / 200.0 + Z[:, -1]))
    res = evasion.unconstrained_fraud_attack(score, X, 0.1, legit)
    assert res.X_adv.shape == X.shape and res.evaded.any()
    imp = evasion.impossible_transactions(res.X_adv, rows)
    assert imp.loc[res.evaded, "impossible"].any()
    assert not evasion.impossible_transactions(X, rows)["impossible"].any()
    with pytest.raises(ValueError, match="same columns"):
        evasion.unconstrained_fraud_attack(score, X[:, :5], 0.1, legit)
    with pytest.raises(ValueError, match=r"threshold must lie in \(0, 1\)"):
        evasion.unconstrained_fraud_attack(score, X, 1.5, legit)
    with pytest.raises(ValueError, match="must be"):
        evasion.impossible_transactions(res.X_adv[:, :3], rows)


# --- medical -----------------------------------------------------------------------------------


def test_certified_radius_is_exact_for_linear_models():
    gen = np.random.default_rng(0)
    w, b = gen.normal(size=4), 0.2
    X = gen.normal(size=(6, 4))
    y = (X @ w + b > 0).astype(int)
    tol = np.full(4, 0.5)
    r = evasion.certified_radius(w, b, X, "inf", scale=tol)
    # moving every feature by r * tol against the class lands exactly on the boundary
    X_edge = X - np.where(y == 1, 1, -1)[:, None] * np.sign(w) * (r[:, None] * tol)
    assert np.allclose(X_edge @ w + b, 0, atol=1e-9)
    r2 = evasion.certified_radius(w, b, X, 2)
    X2 = X - np.sign(X @ w + b)[:, None] * r2[:, None] * w / np.linalg.norm(w)
    assert np.allclose(X2 @ w + b, 0, atol=1e-9)
    with pytest.raises(ValueError, match="unknown norm"):
        evasion.certified_radius(w, b, X, "L3")
    with pytest.raises(ValueError, match="w must be"):
        evasion.certified_radius(w, b, X[:, :2])
    with pytest.raises(ValueError, match="scale"):
        evasion.certified_radius(w, b, X, scale=-tol)


def _linear(w, b):
    """A bare binary logistic regression with the given weights."""
    lr = LogisticRegression()
    lr.classes_, lr.coef_, lr.intercept_ = np.array([0, 1]), np.array([w]), np.array([b])
    return lr


def test_worst_case_and_certified_accuracy():
    model = _linear([1.0, -2.0], 0.0)
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([1, 0])
    Xw = evasion.worst_case_linear(model, X, y, np.array([0.1, 0.1]))
    assert np.allclose(Xw, [[0.9, 0.1], [0.1, 0.9]])
    acc = evasion.certified_accuracy([0.5, 2.0, 3.0], [True, True, False], [0, 1, 2.5])
    assert np.allclose(acc, [2 / 3, 1 / 3, 0.0])
    with pytest.raises(ValueError, match="tolerance must be >= 0"):
        evasion.worst_case_linear(model, X, y, np.array([-0.1, 0.1]))
    with pytest.raises(ValueError, match="one number per feature"):
        evasion.worst_case_linear(model, X, y, np.array([0.1]))
    with pytest.raises(ValueError, match="one per row"):
        evasion.worst_case_linear(model, X, y[:1], np.array([0.1, 0.1]))
    with pytest.raises(ValueError, match="same length"):
        evasion.certified_accuracy([0.5], [True, False], [0])


def test_robust_logistic_regression_widens_the_margin():
    med = load_dataset("medical", seed=0)
    tol = evasion.measurement_tolerance(med.X_train, 0.05)
    plain = evasion.robust_logistic_regression(med.X_train, med.y_train, tol, rho=0.0)
    ref = Pipeline([("scale", StandardScaler()),
                    ("lr", LogisticRegression(max_iter=5000, tol=1e-10))])
    ref.fit(med.X_train, med.y_train)  # rho = 0 is plain logistic regression, fully converged
    assert np.allclose(plain.predict_proba(med.X_test), ref.predict_proba(med.X_test), atol=1e-5)
    robust = evasion.robust_logistic_regression(med.X_train, med.y_train, tol, rho=1.5)
    lin_plain, lin_rob = evasion.linear_decision(plain), evasion.linear_decision(robust)
    assert np.allclose(lin_plain.decision(med.X_test),
                       ref.decision_function(med.X_test), atol=1e-4)
    r_plain = evasion.certified_radius(lin_plain.w, lin_plain.b, med.X_test, scale=tol)
    r_rob = evasion.certified_radius(lin_rob.w, lin_rob.b, med.X_test, scale=tol)
    assert np.median(r_rob) > np.median(r_plain)
    with pytest.raises(ValueError, match="relative must be >= 0"):
        evasion.measurement_tolerance(med.X_train, -0.05)
    with pytest.raises(ValueError, match="tolerance must hold one number per feature"):
        evasion.robust_logistic_regression(med.X_train, med.y_train, tol[:3])
    with pytest.raises(ValueError, match="C must be > 0"):
        evasion.robust_logistic_regression(med.X_train, med.y_train, tol, C=0)
    with pytest.raises(ValueError, match="both classes"):
        evasion.robust_logistic_regression(med.X_train, np.zeros(len(med.X_train), int), tol)
    with pytest.raises(TypeError, match="binary linear"):
        evasion.linear_decision(systems.TextTriage())


def test_medical_defence_leaves_global_state_alone(unchanged_global_state):
    med = load_dataset("medical", seed=0)
    tol = evasion.measurement_tolerance(med.X_train, 0.05)
    robust = evasion.robust_logistic_regression(med.X_train, med.y_train, tol, rho=1.0)
    evasion.worst_case_linear(robust, med.X_test, med.y_test, tol)


def test_every_module_of_the_package_lists_its_public_names():
    import importlib

    for name in ("common", "image", "nlp", "recommender", "fraud", "medical", "results",
                 "trainers"):
        module = importlib.import_module(f"mlsec_helpers.evasion.{name}")
        assert module.__all__ and all(hasattr(module, n) for n in module.__all__)
    assert all(hasattr(evasion, n) for n in evasion.__all__)


# --- added for the expert review: exact FGSM on the linear model, PGD's loss curve, the
# --- challenge's quantised reader, the bias-aware attack, approve/decline fraud attacks


def test_fgsm_linear_is_the_exact_worst_case_where_art_wrapper_fails():
    from art.attacks.evasion import FastGradientMethod

    data = load_dataset("medical", seed=0)
    diag = systems.train_baseline("medical", data, seed=0)
    tol = evasion.measurement_tolerance(data.X_train, relative=0.05)
    X, y = data.X_test, data.y_test
    exact = evasion.worst_case_linear(diag, X, y, tol)
    assert np.allclose(evasion.fgsm_linear(diag, X, y, tol), exact)
    # The ART 1.20.1 bug this works around: the wrapper with preprocessing= leaves rows unmoved.
    from art.estimators.classification.scikitlearn import ScikitlearnLogisticRegression

    scaler, lin = diag.estimator.steps[0][1], diag.estimator.steps[1][1]
    as_shipped = ScikitlearnLogisticRegression(model=lin,
                                               preprocessing=(scaler.mean_, scaler.scale_))
    buggy = FastGradientMethod(as_shipped, eps=tol, eps_step=tol).generate(X, y=np.eye(2)[y])
    assert np.all(np.isclose(buggy, X), axis=1).any()
    with pytest.raises(ValueError, match="features"):
        evasion.fgsm_linear(diag, X[:, :3], y, tol)
    with pytest.raises(TypeError, match="StandardScaler"):
        evasion.fgsm_linear(_linear([1.0, -2.0], 0.0), X[:, :2], y, tol[:2])


def test_fgsm_linear_leaves_global_state_alone(unchanged_global_state):
    data = load_dataset("medical", seed=0)
    diag = systems.train_baseline("medical", data, seed=0)
    tol = evasion.measurement_tolerance(data.X_train, relative=0.05)
    evasion.fgsm_linear(diag, data.X_test[:5], data.y_test[:5], tol)


def test_pgd_trace_records_a_loss_curve_and_is_seeded(tiny, tiny_cnn):
    X, y = tiny.X_test[:16], tiny.y_test[:16]
    a = evasion.pgd_trace(tiny_cnn, X, y, 0.3, 10, eps_step=0.05, restarts=2, seed=1)
    b = evasion.pgd_trace(tiny_cnn, X, y, 0.3, 10, eps_step=0.05, restarts=2, seed=1)
    assert a.loss.shape == (2, 11) and a.fooled.shape == (2, 11)
    assert np.array_equal(a.X_adv, b.X_adv) and np.allclose(a.loss, b.loss)
    assert np.all(np.abs(a.X_adv - X) <= 0.3 + 1e-6) and a.X_adv.min() >= 0
    assert a.loss[0, -1] > a.loss[0, 0]
    assert np.array_equal(tiny_cnn.predict(a.X_adv) != y, a.success)
    assert np.all(np.diff(a.fooled, axis=1) >= 0)
    with pytest.raises(ValueError, match="eps"):
        evasion.pgd_trace(tiny_cnn, X, y, -0.1)
    with pytest.raises(TypeError, match="torch model"):
        evasion.pgd_trace(ToySystem(lambda X: X), X, y, 0.1)


def test_pgd_trace_leaves_global_state_alone(tiny, tiny_cnn, unchanged_global_state):
    evasion.pgd_trace(tiny_cnn, tiny.X_test[:4], tiny.y_test[:4], 0.1, 3, seed=2)


def test_quantised_digits_masks_gradients(tiny, tiny_cnn):
    q = evasion.QuantisedDigits(tiny_cnn, levels=4)
    X, y = tiny.X_test[:8], tiny.y_test[:8]
    Xq = q.quantise(X)
    assert set(np.unique(Xq)) <= {0.0, 1 / 3, 2 / 3, 1.0} or np.allclose(
        np.unique(Xq * 3), np.round(np.unique(Xq * 3)))
    assert np.allclose(q.predict_proba(X), tiny_cnn.predict_proba(Xq))
    x = torch.as_tensor(X).requires_grad_(True)
    torch.nn.functional.cross_entropy(q.model(x), torch.as_tensor(y)).backward()
    assert float(x.grad.abs().max()) == 0.0  # the rounding has no gradient
    assert q.art_estimator().nb_classes == 10
    with pytest.raises(ValueError, match="levels"):
        evasion.QuantisedDigits(tiny_cnn, levels=1)
    with pytest.raises(ValueError, match="not fitted"):
        evasion.QuantisedDigits(systems.DigitsCNN(seed=0))


def test_bias_aware_attack_moves_item_biases(tiny_mf):
    rec, data = tiny_mf
    plain = evasion.embedding_attack(rec, data.X_train, data.y_train, seed=0)
    aware = evasion.embedding_attack(rec, data.X_train, data.y_train, seed=0, include_bias=True)
    assert plain.dbi is None and aware.dbi.shape == rec.model.bi.weight.shape
    item = torch.cat([rec.model.Q.weight, rec.model.bi.weight], 1).norm(dim=1)
    moved = torch.cat([aware.dQ, aware.dbi], 1).norm(dim=1)
    assert torch.allclose(moved[moved > 0], item[moved > 0], rtol=1e-4)
    s0 = evasion.perturbed_scores(rec, aware, 0.0)
    assert np.allclose(s0, evasion.perturbed_scores(rec, plain, 0.0))
    curve = evasion.ranking_under_attack(rec, data, [0.0, 0.5], include_bias=True)
    assert list(curve.columns) == ["eps", "hr@10", "ndcg@10", "users"]


def test_constrained_attack_with_decisions_only_and_multi_day_splits(small_history):
    frauds = np.flatnonzero(small_history["is_fraud"].to_numpy() == 1)
    by_amount = _binary(lambda X: np.minimum(1.0, X[:, 0] / 200.0))
    res = evasion.constrained_fraud_attack(by_amount, small_history, frauds, 0.2,
                                           access="decision", gaps_hours=(0.5, 26.0), seed=3,
                                           query_budget=60, progress=False)
    again = evasion.constrained_fraud_attack(by_amount, small_history, frauds, 0.2,
                                             access="decision", gaps_hours=(0.5, 26.0),
                                             seed=3, query_budget=60, progress=False)
    pd.testing.assert_frame_equal(res.plan, again.plan)
    assert res.plan["valid"].all() and (res.plan["queries"] <= 60).all()
    assert set(res.plan["gap (h)"]) <= {0.5, 26.0}
    assert fraud_sim.check_constraints(res.transactions).all()
    evaded = res.plan[res.plan["evaded"]]
    assert (evaded["score after"] < 0.2).all()
    with pytest.raises(ValueError, match="access"):
        evasion.constrained_fraud_attack(by_amount, small_history, frauds, 0.2, access="scores",
                                         progress=False)
    with pytest.raises(ValueError, match="gaps_hours"):
        evasion.constrained_fraud_attack(by_amount, small_history, frauds, 0.2,
                                         gaps_hours=(0.0,), progress=False)


def test_unlisted_homoglyphs_survive_the_canonicaliser():
    import unicodedata

    for latin, look_alike in evasion.UNLISTED_HOMOGLYPHS.items():
        assert look_alike not in evasion.CONFUSABLES and look_alike != latin
        assert unicodedata.normalize("NFKC", look_alike) == look_alike
    word = evasion.unlisted_homoglyph("answer")
    assert word != "answer" and evasion.canonicalise(word) == word
    assert "unlisted_homoglyph" in evasion.TEXT_ATTACKS
    assert "unlisted_homoglyph" not in evasion.CHAR_ATTACKS
    text = evasion.perturb_text("please verify your account now", "unlisted_homoglyph",
                                fraction=1.0, seed=0)
    assert text != "please verify your account now"
