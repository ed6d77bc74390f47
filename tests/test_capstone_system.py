"""Lab 14 capstone system: the weak pre-approval assistant, its API and artefact, harden()."""

import numpy as np
import pytest

from mlsec_helpers.capstone import system as cs
from mlsec_helpers.capstone.results import CapstoneControl
from mlsec_helpers.validate import ArgumentTypeError, NotFittedError


@pytest.fixture(scope="module")
def weak():
    system = cs.capstone_system(0)
    yield system
    system.close()


@pytest.fixture(scope="module")
def hard(weak):
    system = cs.harden(weak, [k for k, c in cs.CONTROLS.items() if c.changes_code])
    yield system
    system.close()


def _referred(system):
    X = system.data.X_test
    return X[system.refer(X) == 1]


# --- the model ----------------------------------------------------------------------------------


def test_weak_model_memorises_and_refers(weak):
    p = weak.predict_proba(weak.data.X_train)
    assert p.shape == (len(weak.data.X_train), 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    # the case memory reproduces every past decision
    assert ((p[:, 1] >= 0.5) == (weak.data.y_train == 1)).all()
    refer = weak.refer(weak.data.X_test)
    assert set(np.unique(refer)) <= {0, 1} and 0.05 < refer.mean() < 0.4


def test_scorecard_is_the_linear_part():
    data = cs.load_dataset("hmda", seed=1)
    model = cs.CreditModel(C=1.0).fit(data.X_train, data.y_train)
    w, b = model.scorecard()
    np.testing.assert_allclose(data.X_test @ w + b, model.decision_function(data.X_test))
    contrib = model.contributions(data.X_test[:5])
    np.testing.assert_allclose(contrib[0] - contrib[1],
                               w * (data.X_test[0] - data.X_test[1]), atol=1e-12)


def test_verified_model_ignores_declared_fields():
    data = cs.load_dataset("hmda", seed=0)
    model = cs.CreditModel(cs.VERIFIED_FEATURES, C=0.1).fit(data.X_train, data.y_train)
    w, _ = model.scorecard()
    declared = [cs.FEATURES.index(f) for f in cs.DECLARED_FEATURES]
    assert (w[declared] == 0).all()
    X = data.X_test.copy()
    X[:, declared] = 1 - np.clip(X[:, declared], 0, 1)
    np.testing.assert_allclose(model.predict_proba(X), model.predict_proba(data.X_test))


def test_fair_model_equalises_training_referrals():
    data = cs.load_dataset("hmda", seed=0)
    g = data.sensitive_train["afam"].to_numpy()
    model = cs.CreditModel(cs.VERIFIED_FEATURES, C=0.1, fair=True).fit(
        data.X_train, data.y_train, g)
    refer = model.refer(data.X_train)
    assert abs(refer[g == 1].mean() - refer[g == 0].mean()) < 0.02


def test_credit_model_bad_input():
    data = cs.load_dataset("hmda", seed=0)
    with pytest.raises(ValueError, match="unknown feature"):
        cs.CreditModel(["pirat", "income"])
    with pytest.raises(ValueError, match="repeat"):
        cs.CreditModel(["pirat", "pirat"])
    with pytest.raises(ValueError, match="at least one"):
        cs.CreditModel([])
    with pytest.raises(ValueError, match="C must"):
        cs.CreditModel(C=0)
    with pytest.raises(ValueError, match="needs groups"):
        cs.CreditModel(fair=True).fit(data.X_train, data.y_train)
    with pytest.raises(ValueError, match="12 fields"):
        cs.CreditModel().fit(data.X_train[:, :5], data.y_train)
    with pytest.raises(ValueError, match="0/1 decision"):
        cs.CreditModel().fit(data.X_train, data.y_train[:-1])
    with pytest.raises(NotFittedError):
        cs.CreditModel().predict_proba(data.X_test)
    model = cs.CreditModel().fit(data.X_train, data.y_train)
    with pytest.raises(ValueError, match="NaN"):
        model.predict_proba(np.full((1, 12), np.nan))


# --- the API ------------------------------------------------------------------------------------


def test_weak_api_gives_probabilities_and_explanations(weak):
    answer = weak.preapprove(weak.data.X_test[:4]).json()
    np.testing.assert_allclose(answer["p_deny"], weak.predict_proba(weak.data.X_test[:4])[:, 1])
    x = _referred(weak)[0]
    expl = weak.explain(x).json()
    assert expl["decision"] == "referred"
    assert set(expl["contributions"]) == set(cs.FEATURES)
    row = np.array([expl["counterfactual"][f] for f in cs.FEATURES])
    assert (np.abs(weak.data.X_train - row).max(axis=1) < 1e-6).any()
    approved = weak.data.X_test[weak.refer(weak.data.X_test) == 0][0]
    assert "contributions" not in weak.explain(approved).json()
    api = weak.proba_api()
    assert api(weak.data.X_test[:3]).shape == (3, 2)


def test_api_refuses_bad_requests_without_echo(weak):
    body = weak.body(weak.data.X_test[:1])
    path = f"{cs.API_PREFIX}/preapprove"
    assert weak.client.post(path, json=body).status_code == 401
    assert weak.client.post(path, json=body, headers={"X-API-Key": "mlk_k001_x"}
                            ).status_code == 401
    key = {"X-API-Key": weak.api_keys["broker"]}
    evil = dict(body["applications"][0], note="<script>alert(1)</script>")
    bad = weak.client.post(path, json={"applications": [evil]}, headers=key)
    assert bad.status_code == 422 and "<script>" not in bad.text
    for field, value in (("pirat", -1.0), ("lvrat", 99.0), ("chist", 9), ("single", 2),
                         ("chist", 2.5)):
        row = dict(body["applications"][0], **{field: value})
        assert weak.client.post(path, json={"applications": [row]}, headers=key
                                ).status_code == 422, field
    assert weak.client.post(path, json={"applications": []}, headers=key).status_code == 422
    nan = '{"applications": [{"pirat": NaN}]}'
    assert weak.client.post(path, content=nan, headers={**key, "content-type":
                                                        "application/json"}).status_code == 422
    assert weak.client.get(f"{cs.API_PREFIX}/health").json()["status"] == "ok"
    assert len(weak.audit.frame()) > 0 and not weak.audit.contains(weak.api_keys["broker"])


def test_system_helpers_bad_input(weak):
    with pytest.raises(ValueError, match="12 fields"):
        weak.body(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="12 fields"):
        weak.explain(np.zeros(3))
    with pytest.raises(ValueError, match="12 fields"):
        weak.counterfactual(np.zeros(3))
    with pytest.raises(ArgumentTypeError):
        weak.issue_key(3)


# --- the artefact -------------------------------------------------------------------------------


def test_weak_artefact_is_unsigned_joblib(weak):
    assert weak.model_path.name == "model.joblib" and not weak.signed
    assert weak.manifest_path is None
    loaded = weak.load_model()
    np.testing.assert_allclose(loaded.predict_proba(weak.data.X_test),
                               weak.predict_proba(weak.data.X_test))


def test_close_removes_the_folder():
    system = cs.capstone_system(2)
    folder = system.folder
    assert folder.is_dir()
    system.close()
    system.close()  # idempotent
    assert not folder.exists()
    with cs.capstone_system(2) as again:
        folder = again.folder
        assert folder.is_dir()
    assert not folder.exists()


# --- harden -------------------------------------------------------------------------------------


def test_harden_applies_the_controls(weak, hard):
    assert hard.name == "hardened" and weak.name == "weak"
    assert hard.folder != weak.folder and weak.folder.is_dir()
    assert hard.labels_only and hard.coarse_explanations and hard.signed
    assert set(hard.model.features) == set(cs.VERIFIED_FEATURES)
    assert not hard.model.memory and hard.model.fair
    answer = hard.preapprove(hard.data.X_test[:3]).json()
    assert set(answer) == {"decisions"}
    assert hard.model_path.name == "model.skops"
    assert hard.manifest_path.is_file() and hard.signature_path.is_file()
    assert hard.model_dir not in hard.signature_path.parents


def test_hardened_rate_limit_and_explanation_budget(hard):
    key = hard.issue_key("test-limit")
    X = hard.data.X_test[:cs.QUERY_BUDGET]
    assert hard.preapprove(X, key).status_code == 200
    assert hard.preapprove(X[:1], key).status_code == 429
    hard.clock.advance(86_400)
    assert hard.preapprove(X[:1], key).status_code == 200
    x = _referred(hard)[0] if hard.refer(hard.data.X_test).any() else hard.data.X_test[0]
    key2 = hard.issue_key("test-explain")
    answers = [hard.explain(x, key2) for _ in range(cs.EXPLANATION_BUDGET + 1)]
    assert [a.status_code for a in answers] == [200] * cs.EXPLANATION_BUDGET + [429]
    body = answers[0].json()
    assert set(body) == {"decision", "reasons"}
    assert all(r in cs.REASONS.values() for r in body["reasons"])


def test_hardened_loader_verifies(hard, tmp_path):
    import shutil

    loaded = hard.load_model()
    np.testing.assert_allclose(loaded.predict_proba(hard.data.X_test),
                               hard.predict_proba(hard.data.X_test))
    copy = tmp_path / "copy"
    shutil.copytree(hard.model_dir, copy)
    (copy / "config.json").write_text('{"format": "skops", "refer_at": 0.9}\n')
    with pytest.raises(cs.ModelRefused):
        hard.load_model(copy)


def test_harden_bad_input(weak):
    with pytest.raises(ValueError, match="unknown control"):
        cs.harden(weak, ["signed_safe_fromat"])
    with pytest.raises(ArgumentTypeError):
        cs.harden(weak, "signed_safe_format")
    with pytest.raises(ValueError, match="empty"):
        cs.harden(weak, [])
    with pytest.raises(ArgumentTypeError):
        cs.harden("weak", ["signed_safe_format"])
    closed = cs.capstone_system(1)
    closed.close()
    with pytest.raises(ValueError, match="closed"):
        cs.harden(closed, ["signed_safe_format"])


def test_controls_table():
    table = cs.controls_table()
    assert len(table) == len(cs.CONTROLS)
    assert all(isinstance(c, CapstoneControl) for c in cs.CONTROLS.values())
    treated = {w for c in cs.CONTROLS.values() for w in c.treats}
    assert treated == set(cs.WEAKNESSES)
    with pytest.raises(ArgumentTypeError):
        cs.controls_table(["x"])
