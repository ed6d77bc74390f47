"""The quick probes of lab 01 (mlsec_helpers.threatmodel's domain files), on small data (each
test runs in about a second)."""

from types import SimpleNamespace

import numpy as np
import pytest

from mlsec_helpers import fraud_sim, systems
from mlsec_helpers import threatmodel as tm
from mlsec_helpers.data import load_dataset
from mlsec_helpers.threatmodel import ProbeResult
from mlsec_helpers.threatmodel import fraud as tm_fraud
from mlsec_helpers.threatmodel import nlp as tm_nlp


@pytest.fixture(scope="module")
def tiny_digits():
    data = load_dataset("digits_tiny", seed=0)
    cnn = systems.DigitsCNN(seed=0, epochs=3).fit(data.X_train, data.y_train)
    return cnn, data


def _check_result(r: ProbeResult, domain: str):
    assert r.domain == domain and 0.0 <= r.success_rate <= 1.0 and r.n_targets >= 1
    assert isinstance(r.shows_threat, bool) and 1 <= r.likelihood <= 5
    assert r.rate.n == r.n_targets and r.rate.low <= r.success_rate <= r.rate.high
    assert r.rate.successes == r.successes and r.targets in r.rate.on
    assert r.likelihood == tm.likelihood_from_evidence(r.rate, r.access, r.white_box)
    assert domain in r.summary() and r.as_row()["threat"] == r.threat_id


def test_image_fgsm_probe(tiny_digits):
    cnn, data = tiny_digits
    r = tm.probe_image_fgsm(cnn, data.X_test, data.y_test, eps=0.3, n=60)
    _check_result(r, "image")
    assert r.white_box and r.details["max pixel change"] <= 0.3 + 1e-6
    assert r.success_rate > 0, "eps 0.3 on 8x8 digits must flip some"
    assert r.details["accuracy under attack"] < r.details["clean accuracy"]
    zero = tm.probe_image_fgsm(cnn, data.X_test, data.y_test, eps=0.0, n=60)
    assert zero.success_rate == 0.0, "a step of size 0 changes nothing"


def test_image_fgsm_probe_rejects_bad_input(tiny_digits):
    cnn, data = tiny_digits
    with pytest.raises(ValueError, match="eps"):
        tm.probe_image_fgsm(cnn, data.X_test, data.y_test, eps=-0.1)
    with pytest.raises(ValueError, match="n must be >= 1"):
        tm.probe_image_fgsm(cnn, data.X_test, data.y_test, n=0)
    with pytest.raises(ValueError, match="images"):
        tm.probe_image_fgsm(cnn, data.X_test[:, 0], data.y_test)
    with pytest.raises(ValueError, match="one per row"):
        tm.probe_image_fgsm(cnn, data.X_test, data.y_test[:3])
    with pytest.raises(ValueError, match="unknown access"):
        tm.probe_image_fgsm(cnn, data.X_test, data.y_test, access="root")
    with pytest.raises(ValueError, match="fitted"):
        tm.probe_image_fgsm(systems.DigitsCNN(), data.X_test, data.y_test)


def test_nlp_edits_keep_the_payload():
    text = "Verify your account at http://bank.example/login?id=ab12 or call 07700 900123 now"
    variants = tm_nlp._edits(text)
    assert len(variants) > 2 * len(tm.FILLER_WORDS)
    for v in variants:
        assert tm_nlp._keeps_payload(text, v)
    assert not tm_nlp._keeps_payload(text, text.replace("http://bank.example", "http://b"))


@pytest.fixture(scope="module")
def small_triage():
    data = load_dataset("nlp", seed=0)
    triage = systems.TextTriage().fit(data.X_train[:1500], data.y_train[:1500])
    return triage, data


def test_nlp_probe(small_triage):
    triage, data = small_triage
    r = tm.probe_nlp_edits(triage, data.X_test[:300], data.y_test[:300],
                               data.extra["scam_index"], n=4, max_edits=3)
    _check_result(r, "nlp")
    curve = list(r.details["success within k edits"].values())
    assert curve == sorted(curve) and curve[-1] == pytest.approx(r.success_rate)
    assert r.queries > 0 and not r.white_box
    for _, row in r.examples.iterrows():
        assert tm_nlp._keeps_payload(row["scam message"], row["after edits"])
        assert row["now read as"] != data.extra["scam_index"]


def test_nlp_probe_rejects_bad_input(small_triage):
    triage, data = small_triage
    with pytest.raises(ValueError, match="max_edits"):
        tm.probe_nlp_edits(triage, data.X_test, data.y_test, 8, max_edits=0)
    with pytest.raises(ValueError, match="one per row"):
        tm.probe_nlp_edits(triage, data.X_test[:10], data.y_test[:5], 8)
    with pytest.raises(ValueError, match="detects none"):
        tm.probe_nlp_edits(triage, data.X_test[:5], np.full(5, 99), 99)


def _ratings(n_users=60, n_items=40, seed=0):
    gen = np.random.default_rng(seed)
    pairs = {(int(u), int(i)) for u, i in zip(gen.integers(0, n_users, 900),
                                              gen.integers(0, n_items - 2, 900), strict=True)}
    pairs |= {(0, n_items - 2), (1, n_items - 2), (2, n_items - 2),  # two obscure films
              (3, n_items - 1), (4, n_items - 1), (5, n_items - 1)}
    X = np.array(sorted(pairs), dtype=np.int64)
    y = np.clip(np.round(gen.normal(3.5, 1.0, len(X)) * 2) / 2, 0.5, 5).astype(np.float32)
    y[X[:, 1] >= n_items - 2] = 2.0
    return X, y, n_users, n_items


def test_recommender_shilling_probe():
    X, y, n_users, n_items = _ratings()
    rec = systems.MFRecommender(n_users, n_items, dim=8, epochs=15, seed=0).fit(X, y)
    r = tm.probe_recommender_shilling(rec, X, y, n_fake=4, n_filler=3, seed=0)
    _check_result(r, "recommender")
    d = r.details
    assert d["target"] == f"item {n_items - 2}" and d["fake ratings"] == 4 * (1 + 3)
    assert d["mean predicted stars after"] > d["mean predicted stars before"]
    assert r.success_rate > d["control film: users whose ranking rose"]


def test_recommender_probe_rejects_bad_input():
    X, y, n_users, n_items = _ratings()
    rec = systems.MFRecommender(n_users, n_items, dim=4, epochs=2, seed=0).fit(X, y)
    with pytest.raises(ValueError, match="n_fake"):
        tm.probe_recommender_shilling(rec, X, y, n_fake=0)
    with pytest.raises(ValueError, match=r"target \(an item index\) must be >= 0, <= 39"):
        tm.probe_recommender_shilling(rec, X, y, target=n_items + 5)
    with pytest.raises(ValueError, match=r"X_train must be an \(n, 2\) integer array"):
        tm.probe_recommender_shilling(rec, X[:, :1], y)
    with pytest.raises(ValueError, match="one rating per pair"):
        tm.probe_recommender_shilling(rec, X, y[:-1])
    with pytest.raises(TypeError, match="MFRecommender"):
        tm.probe_recommender_shilling(systems.DiagnosisModel().fit(
            np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2), X, y)


@pytest.fixture(scope="module")
def small_fraud():
    frame = fraud_sim.simulate_transactions(n_customers=300, n_terminals=400, n_days=30, seed=1)
    cut = frame["day"].quantile(0.75)
    f_tr = frame[frame["day"] <= cut].reset_index(drop=True)
    f_te = frame[frame["day"] > cut].reset_index(drop=True)
    X_tr, y_tr = fraud_sim.feature_matrix(f_tr)
    X_te, y_te = fraud_sim.feature_matrix(f_te)
    scorer = systems.FraudScorer(seed=0).fit(X_tr, y_tr)
    return scorer, SimpleNamespace(frame_train=f_tr, frame_test=f_te, X_test=X_te, y_test=y_te)


def test_fraud_probe_recomputes_features_exactly(small_fraud):
    scorer, data = small_fraud
    unchanged = tm.probe_fraud_evasion(scorer, data, alert_rate=0.02, max_delay_hours=0,
                                           amount_fractions=(1.0,))
    assert unchanged.success_rate == 0.0, "replaying alerted frauds unchanged must not evade"
    assert unchanged.details["variants valid"] == 1.0


def test_fraud_probe(small_fraud):
    scorer, data = small_fraud
    r = tm.probe_fraud_evasion(scorer, data, alert_rate=0.02, max_delay_hours=4,
                                   amount_fractions=(1.0, 0.5))
    _check_result(r, "fraud")
    assert r.details["variants valid"] == 1.0
    assert r.queries == r.n_targets * 5 * 2
    assert r.details["evaded at the full amount"] <= r.success_rate
    assert r.details["best single rule success"] <= r.success_rate


def test_fraud_probe_rejects_bad_input(small_fraud):
    scorer, data = small_fraud
    with pytest.raises(ValueError, match="alert_rate"):
        tm.probe_fraud_evasion(scorer, data, alert_rate=0.0)
    with pytest.raises(ValueError, match="<= 48"):
        tm.probe_fraud_evasion(scorer, data, max_delay_hours=100)
    with pytest.raises(ValueError, match="at least one fraction"):
        tm.probe_fraud_evasion(scorer, data, amount_fractions=())
    with pytest.raises(ValueError, match="amount fraction"):
        tm.probe_fraud_evasion(scorer, data, amount_fractions=(1.5,))
    with pytest.raises(ValueError, match="frame_train"):
        tm.probe_fraud_evasion(scorer, SimpleNamespace(X_test=data.X_test))


def test_cents_respects_the_constraints():
    out = tm_fraud._cents(np.array([7.5, 12.345, 0.001]),
                        np.array(["cash_withdrawal", "grocery", "grocery"]))
    assert list(out) == [10.0, 12.34, 0.01]


def test_medical_extraction_probe():
    data = load_dataset("medical", seed=0)
    model = systems.DiagnosisModel().fit(data.X_train, data.y_train)
    r = tm.probe_medical_extraction(model, data.X_test[:20], data.X_test, seed=0)
    _check_result(r, "medical")
    assert r.queries == data.X_test.shape[1] + 1
    assert r.success_rate == 1.0 and r.details["max probability difference"] < 1e-6
    with pytest.raises(ValueError, match="n_queries"):
        tm.probe_medical_extraction(model, data.X_test, data.X_test, n_queries=5)
    with pytest.raises(ValueError, match="same number of features"):
        tm.probe_medical_extraction(model, data.X_test[:, :5], data.X_test)
    with pytest.raises(ValueError, match="unknown access 'root'"):
        tm.probe_medical_extraction(model, data.X_test, data.X_test, access="root")
    with pytest.raises(TypeError):
        tm.probe_medical_extraction(model, data.X_test, data.X_test, None, 0)  # seed: keyword


def test_probes_table():
    r = ProbeResult("medical", "MED-T1", "theft", "AML.T0024.002", "q", "m", 0.97, 0.95, 10, 31,
                    "partner", False, 0.1)
    table = tm.probes_table([r])
    assert table.loc[0, "shows threat"] and table.loc[0, "likelihood"] == 3
    with pytest.raises(TypeError):
        tm.probes_table(["not a result"])


# --- no probe leaves global state changed --------------------------------------------------------


def test_image_probe_leaves_global_state(tiny_digits, unchanged_global_state):
    cnn, data = tiny_digits
    tm.probe_image_fgsm(cnn, data.X_test, data.y_test, eps=0.3, n=20)


def test_nlp_probe_leaves_global_state(small_triage, unchanged_global_state):
    triage, data = small_triage
    tm.probe_nlp_edits(triage, data.X_test[:100], data.y_test[:100], data.extra["scam_index"],
                       n=2, max_edits=2)


def test_recommender_probe_leaves_global_state(unchanged_global_state):
    X, y, n_users, n_items = _ratings()
    rec = systems.MFRecommender(n_users, n_items, dim=4, epochs=2, seed=0).fit(X, y)
    tm.probe_recommender_shilling(rec, X, y, n_fake=2, n_filler=2, seed=1)


def test_fraud_probe_leaves_global_state(small_fraud, unchanged_global_state):
    scorer, data = small_fraud
    tm.probe_fraud_evasion(scorer, data, alert_rate=0.02, max_delay_hours=1,
                           amount_fractions=(1.0, 0.5))


def test_medical_probe_leaves_global_state(unchanged_global_state):
    data = load_dataset("medical", seed=0)
    model = systems.DiagnosisModel().fit(data.X_train, data.y_train)
    tm.probe_medical_extraction(model, data.X_test[:20], data.X_test[:40], seed=3)


def test_probe_result_is_frozen():
    r = ProbeResult("medical", "MED-T1", "theft", "AML.T0024.002", "q", "m", 0.97, 0.95, 10, 31,
                    "partner", False, 0.1)
    with pytest.raises(AttributeError):
        r.success_rate = 0.5
