"""Lab 12 (API security), section 4: malformed numbers against the fraud API, the adaptive
attacker who knows the validator, and the pen-test cases."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from mlsec_helpers import fraud_sim, systems
from mlsec_helpers.apisec import common, fraud, pentest
from mlsec_helpers.data import load_dataset
from mlsec_helpers.stats import Rate
from mlsec_helpers.validate import ArgumentTypeError


@pytest.fixture(scope="module")
def setup():
    data = load_dataset("fraud", seed=0)
    scorer = systems.SklearnSystem(
        HistGradientBoostingClassifier(max_iter=30, random_state=0), domain="fraud")
    scorer.fit(data.X_train, data.y_train)
    served = common.served_system("fraud", scorer, data)
    clock = common.ManualClock(1000.0)
    keys = common.KeyStore(0)
    user = keys.issue("alice", "user")
    tokens = common.TokenIssuer(b"0" * 32, clock)
    apps = {}
    for name, config in (("weak", common.SecurityConfig.weak()),
                         ("hardened", common.SecurityConfig.hardened())):
        audit = common.AuditLog(b"k" * 32, clock)
        apps[name] = common.build_app({"fraud": served}, config, keys=keys, tokens=tokens,
                                      clock=clock, audit=audit)
    return {"data": data, "served": served, "clock": clock, "headers": {"X-API-Key": user},
            "weak": common.api_client(apps["weak"]),
            "hardened": common.api_client(apps["hardened"]), "apps": apps}


@pytest.fixture(scope="module")
def bodies(setup):
    served = setup["served"]
    return (fraud.absurd_fraud_bodies(served, n_rows=3, seed=0),
            fraud.nonfinite_fraud_bodies(served, row=0))


@pytest.fixture(scope="module")
def trials(setup, bodies):
    absurd, nonfinite = bodies
    return {name: fraud.malformed_input_trial(
        setup[name], setup["served"], setup["headers"], name=name, absurd=absurd,
        nonfinite=nonfinite, n_honest=40, seed=0, clock=setup["clock"])
        for name in ("weak", "hardened")}


def test_absurd_bodies(setup, bodies):
    absurd, _ = bodies
    served = setup["served"]
    assert len(absurd) == 3 * len(fraud.ABSURD_FRAUD_KINDS)
    assert list(absurd["kind"].unique()) == list(fraud.ABSURD_FRAUD_KINDS)
    assert absurd["row"].nunique() == 3
    assert (setup["data"].y_test[absurd["row"]] == 0).all()  # honest transactions
    for _, r in absurd.iterrows():
        tx = r["body"]["transactions"][0]
        original = served.body(setup["data"].X_test[r["row"]:r["row"] + 1])["transactions"][0]
        changed = [k for k in tx if tx[k] != original[k]]
        assert changed == [r["feature"]] and tx[r["feature"]] == r["value"]
        assert all(math.isfinite(v) for v in tx.values())
        assert set(tx) == set(served.feature_names)
    two = absurd[absurd["kind"] == "two merchant categories"]
    for body in two["body"]:
        tx = body["transactions"][0]
        assert sum(tx[c] for c in tx if c.startswith("cat_")) == 2
    again = fraud.absurd_fraud_bodies(served, n_rows=3, seed=0)
    assert again["body"].tolist() == absurd["body"].tolist()


def test_nonfinite_bodies(bodies):
    _, nonfinite = bodies
    assert list(nonfinite["case"]) == list(fraud.NONFINITE_FRAUD_CASES)
    assert nonfinite["control"].sum() == 1
    parsed = {c: json.loads(r)["transactions"][0] for c, r in zip(nonfinite["case"],
                                                                   nonfinite["raw"],
                                                                   strict=True)}
    assert math.isnan(parsed["amount NaN"]["amount"])
    assert parsed["amount Infinity"]["amount"] == math.inf
    assert parsed["hour -Infinity"]["hour"] == -math.inf
    assert parsed["amount 1e400"]["amount"] == math.inf
    assert b"1e400" in nonfinite.set_index("case").loc["amount 1e400", "raw"]
    assert "hour" not in parsed["amount NaN, hour missing"]
    assert "hour" not in parsed["hour missing (control, no NaN)"]
    assert all(math.isfinite(v) for v in parsed["hour missing (control, no NaN)"].values())
    surrogate = parsed["amount = lone surrogate"]["amount"]
    with pytest.raises(UnicodeEncodeError):
        surrogate.encode("utf-8")
    shape = nonfinite.set_index("case")["invalid_shape"]
    assert not shape["amount NaN"] and shape["amount NaN, hour missing"]


def test_weak_api_scores_absurd_values_and_fails_on_nonfinite(trials):
    weak = trials["weak"]
    assert isinstance(weak, fraud.MalformedTrial) and weak.api == "weak"
    assert weak.absurd_scored.value == 1.0 and isinstance(weak.absurd_scored, Rate)
    assert weak.nonfinite_server_errors.value == 1.0
    responses = weak.responses.set_index("kind")
    assert responses.loc["hour missing (control, no NaN)", "status"] == 422
    assert '"input"' in responses.loc["hour missing (control, no NaN)", "answer"]  # echoed
    assert weak.attack_success.value == 1.0 and weak.refused.value == 0.0
    assert weak.attack_success.n == len(weak.responses) - 1  # the control is left out
    assert weak.honest_served.value == 1.0 and weak.honest_served.n == 40


def test_hardened_api_refuses_everything_malformed_and_serves_honest(trials, setup):
    hard, weak = trials["hardened"], trials["weak"]
    assert hard.refused.value == 1.0 and hard.server_errors.value == 0.0
    assert hard.attack_success.value == 0.0 and hard.absurd_scored.value == 0.0
    assert (hard.responses["status"] == 422).all()
    assert not hard.responses["answer"].str.contains('"input"').any()  # never echoed
    assert hard.honest_served.value == 1.0
    assert (hard.honest["label"].to_numpy() == weak.honest["label"].to_numpy()).all()
    assert hard.waited_s > 0  # 40 honest rows + 28 bodies exceed the burst of 64 rows


def test_send_fraud_body(setup):
    served, headers = setup["served"], setup["headers"]
    body = served.test_body(32)
    statuses = [fraud.send_fraud_body(setup["hardened"], headers, body=body)[0].status_code
                for _ in range(3)]
    assert 429 in statuses  # without a clock the rate limit answers
    before = setup["clock"]()
    response, waited = fraud.send_fraud_body(setup["hardened"], headers, body=body,
                                             clock=setup["clock"])
    assert response.status_code == 200 and waited > 0
    assert setup["clock"]() == pytest.approx(before + waited)
    response, waited = fraud.send_fraud_body(setup["weak"], headers,
                                             raw=json.dumps(body).encode())
    assert response.status_code == 200 and waited == 0


def test_send_fraud_body_bad_input(setup):
    headers, client = setup["headers"], setup["weak"]
    with pytest.raises(ValueError, match="exactly one"):
        fraud.send_fraud_body(client, headers)
    with pytest.raises(ValueError, match="exactly one"):
        fraud.send_fraud_body(client, headers, body={}, raw=b"{}")
    with pytest.raises(ArgumentTypeError):
        fraud.send_fraud_body(client, headers, raw="text")
    with pytest.raises(ArgumentTypeError):
        fraud.send_fraud_body(client, headers, body=[1, 2])
    with pytest.raises(ArgumentTypeError):
        fraud.send_fraud_body("client", headers, body={})
    with pytest.raises(ArgumentTypeError):
        fraud.send_fraud_body(client, "key", body={})
    with pytest.raises(ArgumentTypeError):
        fraud.send_fraud_body(client, headers, body={}, clock=lambda: 0.0)


def test_builders_bad_input(setup, bodies):
    served = setup["served"]
    with pytest.raises(ArgumentTypeError):
        fraud.absurd_fraud_bodies("fraud")
    with pytest.raises(ValueError):
        fraud.absurd_fraud_bodies(served, n_rows=0)
    with pytest.raises(ValueError, match="at most"):
        fraud.absurd_fraud_bodies(served, n_rows=10**7)
    with pytest.raises(ValueError):
        fraud.nonfinite_fraud_bodies(served, row=-1)
    with pytest.raises(ArgumentTypeError):
        fraud.nonfinite_fraud_bodies(common.served_system(
            "medical", lambda: None, load_dataset("medical", seed=0)))
    absurd, nonfinite = bodies
    with pytest.raises(ArgumentTypeError):
        fraud.malformed_input_trial(setup["weak"], served, setup["headers"], name="weak",
                                    absurd=absurd, nonfinite=absurd)
    with pytest.raises(ArgumentTypeError):
        fraud.malformed_input_trial(setup["weak"], served, setup["headers"], name="weak",
                                    absurd=absurd.to_dict(), nonfinite=nonfinite)


def test_api_decisions(setup):
    served = setup["served"]
    scorer = fraud.ApiDecisions(setup["hardened"], served, setup["headers"],
                                clock=setup["clock"])
    X = np.asarray(setup["data"].X_test[:40], dtype=np.float64)
    bad = X[:2].copy()
    bad[0, served.feature_names.index("amount")] = 1e30
    bad[1, served.feature_names.index("hour")] = 7.5
    proba = scorer.predict_proba(np.vstack([X, bad]))
    assert proba.shape == (42, 2) and set(np.unique(proba)) <= {0.0, 1.0}
    assert np.allclose(proba.sum(1), 1)
    assert (proba[-2:, 1] == 1).all()  # discarded rows count as declined
    assert scorer.rows_discarded == 2 and scorer.rows_sent == 40
    assert scorer.requests == 2 and scorer.statuses == {200: 2}
    expected = served.system.predict_proba(X).argmax(1)
    assert (proba[:40, 1] == expected).all()
    assert not scorer.passes_validator(bad[0]) and scorer.passes_validator(X[0])
    with pytest.raises(ValueError, match="transactions"):
        scorer.predict_proba(X[:, :5])


def test_adaptive_attacker_evades_with_valid_in_range_transactions(setup):
    result = fraud.api_fraud_evasion(setup["hardened"], setup["served"], setup["headers"],
                                     n_frauds=6, query_budget=40, seed=0, clock=setup["clock"])
    assert isinstance(result, fraud.ApiEvasion)
    plan = result.plan
    assert len(plan) == 6 and {"evaded", "queries", "valid", "replayed_approved",
                               "replayed_statuses"} <= set(plan.columns)
    assert (plan["queries"] <= 40).all()
    assert result.n_test_frauds == int(setup["data"].y_test.sum())
    assert 6 <= result.n_caught <= result.n_test_frauds
    assert result.rows_discarded >= 0 and result.rows_sent > 0 and result.api_requests > 0
    assert set(result.statuses) == {200}
    assert (plan.loc[plan["replayed_approved"], "replayed_statuses"] == "200").all()
    # every fraud lab 02 reports as evaded is approved again on replay, and is a valid
    # transaction
    assert (plan["replayed_approved"] == plan["evaded"]).all()
    assert plan.loc[plan["evaded"], "valid"].all()
    assert result.evaded.n == 6 and result.evaded.value >= 0.5
    assert isinstance(result.valid, Rate)


def test_api_fraud_evasion_bad_input(setup):
    with pytest.raises(ValueError, match="n_frauds"):
        fraud.api_fraud_evasion(setup["hardened"], setup["served"], setup["headers"],
                                n_frauds=10_000, clock=setup["clock"])
    with pytest.raises(ValueError):
        fraud.api_fraud_evasion(setup["hardened"], setup["served"], setup["headers"],
                                n_frauds=0)
    with pytest.raises(ArgumentTypeError):
        fraud.ApiDecisions(setup["hardened"], "served", setup["headers"])


def test_pentest_cases(setup):
    cases = fraud.fraud_pentest_cases(setup["served"], setup["headers"],
                                      before=lambda: setup["clock"].advance(10))
    assert len(cases) == 6 and all(isinstance(c, pentest.PenTestCase) for c in cases)
    assert {c.expected for c in cases} == {(422,)}
    assert [c.name for c in cases][:3] == ["NaN input", "infinite input", "out-of-range input"]
    hard = pentest.run_pentest(setup["hardened"], cases)
    assert hard["passed"].all() and (hard["observed"] == 422).all() and hard["audited"].all()
    assert hard["server_errors"].sum() == 0
    weak = pentest.run_pentest(setup["weak"], cases).set_index("case")
    assert weak.loc["NaN input", "observed"] == 500
    assert weak.loc["out-of-range input", "observed"] == 200
    assert weak.loc["extra field", "observed"] == 200
    with pytest.raises(ArgumentTypeError):
        fraud.fraud_pentest_cases(setup["served"], setup["headers"], before=5)


def test_constants():
    assert fraud.FRAUD_PREDICT_PATH == "/v1/fraud/predict"
    assert set(fraud.ABSURD_FRAUD_KINDS) and isinstance(fraud.ABSURD_FRAUD_KINDS["hour 99"], str)
    with pytest.raises(TypeError):
        fraud.ABSURD_FRAUD_KINDS["x"] = "y"
    assert fraud_sim.AMOUNT_MAX < 1e30
    assert isinstance(pd.DataFrame(), pd.DataFrame)
