"""Tests of lab 12's shared API: keys, tokens, the token bucket, the audit log, the request
models, and the weak and hardened apps built from one config (in-process, through HTTP)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mlsec_helpers.apisec import common
from mlsec_helpers.validate import ArgumentTypeError


@pytest.fixture(scope="module")
def bundle():
    return common.reference_apis(0)


@pytest.fixture(scope="module")
def weak(bundle):
    return common.api_client(bundle.weak_app)


@pytest.fixture(scope="module")
def hardened(bundle):
    return common.api_client(bundle.hardened_app)


def _json_headers(headers):
    return {**headers, "content-type": "application/json"}


# --- principals, clock, keys ----------------------------------------------------------------


def test_principal_checks_its_role():
    assert common.Principal("a", "admin", "k1").role == "admin"
    with pytest.raises(ValueError, match="role"):
        common.Principal("a", "root", "k1")


def test_manual_clock_moves_only_forward():
    clock = common.ManualClock(5.0)
    assert clock() == 5.0
    assert clock.advance(2.5) == 7.5
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.advance(float("nan"))


def test_keystore_stores_digests_and_revokes():
    keys = common.KeyStore(3)
    raw = keys.issue("alice", "user", tenant=7)
    principal = keys.verify(raw)
    assert principal == common.Principal("alice", "user", "k001", "7")
    assert raw not in keys.stored().to_string()
    assert keys.verify(raw[:-1] + ("0" if raw[-1] != "0" else "1")) is None
    assert keys.verify("mlk_k999_00") is None
    assert keys.verify("nonsense") is None
    keys.revoke("k001")
    assert keys.verify(raw) is None
    assert keys.verify(raw, include_revoked=True) == principal
    assert keys.is_revoked("k001") and keys.is_revoked("k404")
    with pytest.raises(ValueError, match="key_id"):
        keys.revoke("k404")
    with pytest.raises(ValueError, match="role"):
        keys.issue("bob", "superuser")


def test_keystore_is_reproducible_for_a_seed_and_random_without():
    assert common.KeyStore(1).issue("a", "user") == common.KeyStore(1).issue("a", "user")
    assert common.KeyStore(1).issue("a", "user") != common.KeyStore(2).issue("a", "user")
    assert common.KeyStore().issue("a", "user") != common.KeyStore().issue("a", "user")
    with pytest.raises(ValueError):
        common.KeyStore(-1)


# --- tokens ---------------------------------------------------------------------------------


@pytest.fixture
def issuer():
    clock = common.ManualClock(1000.0)
    return common.TokenIssuer(b"k" * 32, clock), clock


def test_token_round_trip_and_expiry(issuer):
    tokens, clock = issuer
    alice = common.Principal("alice", "user", "k001", "4")
    token = tokens.issue(alice, ttl_s=60)
    assert tokens.verify(token) == alice
    clock.advance(61)
    with pytest.raises(common.AuthError, match="expired"):
        tokens.verify(token)
    assert tokens.verify(token, verify_expiry=False) == alice


def test_token_verifier_refuses_forgeries(issuer):
    tokens, _ = issuer
    alice = common.Principal("alice", "user", "k001")
    claims = {"iss": tokens.issuer, "aud": tokens.audience, "sub": "mallory", "role": "admin",
              "key": "k001", "iat": 1000, "exp": 10_000}
    for alg in ("none", "None", "NONE"):
        forged = common.forge_token(claims, alg=alg)
        with pytest.raises(common.AuthError):
            tokens.verify(forged)
    assert tokens.verify(common.forge_token(claims), accept_alg_none=True).role == "admin"
    with pytest.raises(common.AuthError):  # right secret, another algorithm than pinned
        tokens.verify(common.forge_token(claims, alg="HS512", key=b"k" * 32))
    with pytest.raises(common.AuthError):  # wrong secret
        tokens.verify(common.forge_token(claims, alg="HS256", key=b"secret"))
    good = common.forge_token(claims, alg="HS256", key=b"k" * 32)
    assert tokens.verify(good).name == "mallory"  # forge_token signs correctly with the key
    other = common.TokenIssuer(b"k" * 32, tokens.clock, audience="another-api")
    with pytest.raises(common.AuthError, match="(?i)audience"):
        tokens.verify(other.issue(alice))
    missing = {k: v for k, v in claims.items() if k != "exp"}
    with pytest.raises(common.AuthError, match="exp"):
        tokens.verify(common.forge_token(missing, alg="HS256", key=b"k" * 32))
    for bad in ("", "a.b", "a.b.c", 5):
        with pytest.raises(common.AuthError):
            tokens.verify(bad)


def test_token_issuer_bad_input():
    clock = common.ManualClock()
    with pytest.raises(ArgumentTypeError):
        common.TokenIssuer("text", clock)
    with pytest.raises(ArgumentTypeError):
        common.TokenIssuer(b"k", "not a clock")
    with pytest.raises(ValueError, match="algorithm"):
        common.TokenIssuer(b"k", clock, algorithm="RS256")
    with pytest.raises(ValueError):
        common.TokenIssuer(b"k", clock).issue(common.Principal("a", "user", "k1"), ttl_s=0)
    with pytest.raises(ValueError, match="alg"):
        common.forge_token({}, alg="RS256")


# --- rate limits ----------------------------------------------------------------------------


def test_token_bucket_burst_refill_and_retry_after():
    clock = common.ManualClock()
    bucket = common.TokenBucket(2.0, 3, clock)
    assert [bucket.allow() for _ in range(4)] == [True, True, True, False]
    assert bucket.retry_after() == pytest.approx(0.5)
    clock.advance(0.5)
    assert bucket.allow() and not bucket.allow()
    clock.advance(100)
    assert bucket.tokens <= 3 and bucket.allow(3)
    assert bucket.retry_after(4) == float("inf") and not bucket.allow(4)


@pytest.mark.parametrize("rate,burst", [(0, 1), (-1, 1), (1, 0), (float("nan"), 1)])
def test_token_bucket_bad_input(rate, burst):
    with pytest.raises(ValueError):
        common.TokenBucket(rate, burst, common.ManualClock())


def test_rate_limiter_keeps_one_bucket_per_key():
    clock = common.ManualClock()
    limiter = common.RateLimiter(1.0, 2, clock)
    assert limiter.allow("a") and limiter.allow("a") and not limiter.allow("a")
    assert limiter.allow("b")
    assert len(limiter) == 2
    with pytest.raises(ValueError):
        limiter.allow("a", cost=0)


# --- audit log ------------------------------------------------------------------------------


def test_audit_log_stores_no_raw_values():
    clock = common.ManualClock(10.0)
    log = common.AuditLog(b"p" * 32, clock)
    alice = common.Principal("alice", "user", "k001", "user-42")
    body = b'{"patients": [[17.99, 10.38]]}'
    log.record(alice, "/v1/medical/predict", "medical", 200, 1, "served", log.digest(body),
               method="POST")
    log.record(None, "/v1/medical/predict", "medical", 401, 0, "unauthenticated", "-")
    frame = log.frame()
    assert list(frame.columns) == list(common.AuditLog.COLUMNS)
    assert frame["principal"].tolist() == [log.pseudonym("alice"), "anonymous"]
    assert len(log) == 2 and log.last()["status"] == 401
    for secret in ("alice", "17.99", "10.38", "user-42"):
        assert not log.contains(secret)
    assert log.contains("k001") and log.contains("/v1/medical/predict")
    assert log.digest(body) == common.keyed_digest(b"p" * 32, body)
    assert common.keyed_digest(b"q" * 32, body) != log.digest(body)
    with pytest.raises(ArgumentTypeError):
        common.AuditLog(b"short")
    with pytest.raises(ValueError):
        log.record(alice, "/x", "-", 99, 0, "?", "-")


# --- config ---------------------------------------------------------------------------------


def test_config_switches_and_bad_input():
    weak, hard = common.SecurityConfig.weak(), common.SecurityConfig.hardened()
    table = common.config_table(weak=weak, hardened=hard)
    assert set(table.columns) == {"switch", "weak", "hardened"}
    assert weak.accept_alg_none and not hard.accept_alg_none
    assert hard.replace(burst=10.0).burst == 10.0
    with pytest.raises(ValueError, match="unknown switch"):
        hard.replace(burstt=3)
    with pytest.raises(ValueError, match="together"):
        common.SecurityConfig(rate_per_s=1.0)
    with pytest.raises(ValueError):
        common.SecurityConfig(rate_per_s=-1.0, burst=3.0)
    with pytest.raises(ValueError):
        common.SecurityConfig(max_body_bytes=0)
    with pytest.raises(ValueError, match="rate_unit"):
        common.SecurityConfig(rate_unit="byte")
    with pytest.raises(ArgumentTypeError):
        common.SecurityConfig(rbac="yes")
    with pytest.raises(ValueError):
        common.config_table()


# --- served systems and request models ------------------------------------------------------


def test_served_system_bad_input(bundle):
    with pytest.raises(ValueError, match="domain"):
        common.served_system("audio", None, bundle.served["image"].data)
    with pytest.raises(ValueError, match="dataset"):
        common.served_system("image", lambda: None, bundle.served["medical"].data)


def test_strict_models_refuse_nan_range_and_extra(bundle):
    from pydantic import ValidationError

    for domain in ("image", "medical", "fraud", "nlp"):
        served = bundle.served[domain]
        strict, lenient = served.request_model(True), served.request_model(False)
        body = served.test_body(2)
        assert served.n_items(strict.model_validate(body)) == 2
        lenient.model_validate(body)
        with pytest.raises(ValidationError):
            strict.model_validate({**body, "extra": 1})
    img = bundle.served["image"].test_body(1)
    img["pixels"][0][5] = float("nan")
    with pytest.raises(ValidationError, match="finite"):
        bundle.served["image"].request_model(True).model_validate(img)
    bundle.served["image"].request_model(False).model_validate(img)  # lenient lets NaN in
    big = bundle.served["image"].test_body(1)
    big["pixels"] = big["pixels"] * 33
    with pytest.raises(ValidationError):
        bundle.served["image"].request_model(True).model_validate(big)


def test_fraud_rows_follow_the_simulators_rules(bundle):
    from pydantic import ValidationError

    fraud = bundle.served["fraud"]
    model = fraud.request_model(True)
    for start in range(0, 320, 32):
        model.model_validate(fraud.test_body(32, start))
    honest = fraud.test_body(1)
    row = dict(honest["transactions"][0])
    cats = fraud.category_columns
    chosen = next(c for c in cats if row[c] == 1)
    other = next(c for c in cats if c != chosen)
    for change in ({other: 1.0}, {chosen: 0.0}, {"hour": 7.5}, {"is_online": 0.5},
                   {"amount": -5.0}, {"amount": float("inf")}):
        with pytest.raises(ValidationError):
            model.model_validate({"transactions": [{**row, **change}]})
    assert set(fraud.bounds().columns) == {"feature", "low", "high", "kind"}
    assert fraud.threshold == 0.5


def test_body_helpers_bad_input(bundle):
    with pytest.raises(ValueError):
        bundle.served["image"].body(np.zeros((2, 10)))
    with pytest.raises(ValueError):
        bundle.served["medical"].body(np.zeros((2, 3)))
    with pytest.raises(ArgumentTypeError):
        bundle.served["nlp"].body("one string")
    with pytest.raises(ValueError):
        bundle.served["image"].test_body(0)


# --- the apps -------------------------------------------------------------------------------


def test_routes_and_health(bundle, hardened):
    table = common.route_table(bundle.hardened_app)
    assert {"/v1/health", "/v1/token", "/v1/image/predict", "/v1/image/model",
            "/v1/recommender/users/{user_id}/recommendations"} <= set(table["path"])
    assert hardened.get("/v1/health").json()["status"] == "ok"
    with pytest.raises(ArgumentTypeError):
        common.route_table("app")
    with pytest.raises(ArgumentTypeError):
        common.api_client(object())


def test_authentication_statuses(bundle, weak, hardened):
    body = bundle.served["image"].test_body(1)
    for client in (weak, hardened):
        assert client.post("/v1/image/predict", json=body).status_code == 401
        assert client.post("/v1/image/predict", json=body,
                           headers={"X-API-Key": "mlk_k001_" + "0" * 32}).status_code == 401
        ok = client.post("/v1/image/predict", json=body, headers=bundle.headers("user"))
        assert ok.status_code == 200 and ok.json()["labels"][0] in range(10)
    forged = common.forge_token({"sub": "mallory", "role": "admin", "key": "k003", "iat": 0,
                                 "exp": 2**40, "iss": "x", "aud": "y"})
    bearer = {"Authorization": f"Bearer {forged}"}
    assert weak.post("/v1/image/predict", json=body, headers=bearer).status_code == 200
    answer = hardened.post("/v1/image/predict", json=body, headers=bearer)
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"


def test_tokens_from_the_api_and_revocation(bundle, weak, hardened):
    body = bundle.served["image"].test_body(1)
    raw, principal = bundle.issue_key("dave")
    tokens = {}
    for name, client in (("weak", weak), ("hardened", hardened)):
        answer = client.post("/v1/token", headers={"X-API-Key": raw})
        assert answer.status_code == 200
        tokens[name] = answer.json()["access_token"]
        bearer = {"Authorization": f"Bearer {tokens[name]}"}
        assert client.post("/v1/image/predict", json=body, headers=bearer).status_code == 200
        # a token cannot buy another token
        assert client.post("/v1/token", headers=bearer).status_code == 401
    bundle.keys.revoke(principal.key_id)
    assert hardened.post("/v1/image/predict", json=body,
                         headers={"X-API-Key": raw}).status_code == 401
    assert hardened.post("/v1/image/predict", json=body, headers={
        "Authorization": f"Bearer {tokens['hardened']}"}).status_code == 401
    assert weak.post("/v1/image/predict", json=body,
                     headers={"X-API-Key": raw}).status_code == 200
    assert weak.post("/v1/image/predict", json=body, headers={
        "Authorization": f"Bearer {tokens['weak']}"}).status_code == 200


def test_roles_and_raw_scores(bundle, weak, hardened):
    body = bundle.served["medical"].test_body(2)
    user, admin = bundle.headers("user"), bundle.headers("admin")
    assert "probabilities" in weak.post("/v1/medical/predict", json=body, headers=user).json()
    plain = hardened.post("/v1/medical/predict", json=body, headers=user).json()
    assert set(plain) == {"labels", "classes"}
    assert hardened.post("/v1/medical/predict?scores=true", json=body,
                         headers=user).status_code == 403
    assert "probabilities" in hardened.post("/v1/medical/predict", json=body,
                                            headers=admin).json()
    assert set(hardened.post("/v1/medical/predict?scores=false", json=body,
                             headers=admin).json()) == {"labels", "classes"}
    assert hardened.get("/v1/medical/model", headers=user).status_code == 403
    download = hardened.get("/v1/medical/model", headers=admin)
    assert download.status_code == 200 and len(download.content) > 100
    assert weak.get("/v1/medical/model", headers=user).status_code == 200
    for path in ("/v1/medical/predict/", "/v1/MEDICAL/predict"):
        assert hardened.post(path, json=body, headers=user).status_code == 404


def test_object_level_authorisation(bundle, weak, hardened):
    a, b = bundle.tenants["tenant_a"], bundle.tenants["tenant_b"]
    mine = f"/v1/recommender/users/{a}/recommendations"
    theirs = f"/v1/recommender/users/{b}/recommendations"
    missing = "/v1/recommender/users/999999/recommendations"
    headers = bundle.headers("tenant_a")
    answer = hardened.get(mine, headers=headers)
    assert answer.status_code == 200 and len(answer.json()["items"]) == 10
    assert hardened.get(theirs, headers=headers).status_code == 403
    assert hardened.get(missing, headers=headers).status_code == 403  # no existence oracle
    assert hardened.get(missing, headers=bundle.headers("admin")).status_code == 404
    assert hardened.get(theirs, headers=bundle.headers("admin")).status_code == 200
    assert weak.get(theirs, headers=headers).status_code == 200
    assert hardened.post("/v1/recommender/predict", json={"user_id": b},
                         headers=headers).status_code == 403
    assert hardened.post("/v1/recommender/predict", json={"user_id": a},
                         headers=headers).status_code == 200


def test_nan_is_422_hardened_and_500_with_the_default_handler(bundle, weak, hardened):
    body = bundle.served["medical"].test_body(1)
    body["patients"][0][3] = float("nan")
    raw = json.dumps(body).encode()  # Python's json writes NaN, as a careless client does
    headers = _json_headers(bundle.headers("user"))
    answer = hardened.post("/v1/medical/predict", content=raw, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "patients", 0, 3]
    assert "NaN" not in answer.text and str(body["patients"][0][0]) not in answer.text
    unsafe = bundle.app(common.SecurityConfig.hardened().replace(safe_error_handler=False),
                        systems=("medical",))
    assert common.api_client(unsafe).post("/v1/medical/predict", content=raw,
                                          headers=headers).status_code == 500
    assert weak.post("/v1/medical/predict", content=raw, headers=headers).status_code == 500


def test_size_limit_declared_and_streamed(bundle, hardened):
    headers = _json_headers(bundle.headers("user"))
    big = b'{"texts": ["' + b"a" * 1_100_000 + b'"]}'
    assert hardened.post("/v1/nlp/predict", content=big, headers=headers).status_code == 413
    chunks = [big[i:i + 65536] for i in range(0, len(big), 65536)]
    answer = hardened.post("/v1/nlp/predict", content=iter(chunks), headers=headers)
    assert answer.status_code == 413
    trusting = bundle.app(common.SecurityConfig.hardened().replace(
        count_streamed_bytes=False, strict_validation=False), systems=("medical",))
    small = json.dumps(bundle.served["medical"].test_body(1)).encode()
    padded = small[:-1] + b" " * 1_100_000 + small[-1:]
    answer = common.api_client(trusting).post(
        "/v1/medical/predict", content=iter([padded[i:i + 65536]
                                             for i in range(0, len(padded), 65536)]),
        headers=headers)
    assert answer.status_code == 200  # chunked, no Content-Length: the trusting limit misses it


def test_rate_limit_per_principal_with_retry_after(bundle):
    config = common.SecurityConfig.hardened().replace(rate_per_s=1.0, burst=3.0)
    app = bundle.app(config, systems=("medical",))
    client = common.api_client(app)
    body = bundle.served["medical"].test_body(1)
    codes = [client.post("/v1/medical/predict", json=body,
                         headers=bundle.headers("user")).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = client.post("/v1/medical/predict", json=body, headers=bundle.headers("user"))
    assert refused.headers["retry-after"] == "1"
    assert client.post("/v1/medical/predict", json=body,
                       headers=bundle.headers("user2")).status_code == 200
    assert client.post("/v1/medical/predict", json=bundle.served["medical"].test_body(2),
                       headers=bundle.headers("admin")).status_code == 200  # 2 rows: 2 tokens
    bundle.clock.advance(1.0)
    assert client.post("/v1/medical/predict", json=body,
                       headers=bundle.headers("user")).status_code == 200
    outcomes = app.state.audit.frame()["outcome"].tolist()
    assert outcomes.count("throttled") == 2


def test_detector_refuses_with_429(bundle):
    seen = []

    def detector(principal, system, features):
        seen.append((principal.name, system, np.asarray(features).shape))
        return principal.name == "bob"

    app = bundle.app(common.SecurityConfig.hardened(), detector=detector, systems=("medical",))
    client = common.api_client(app)
    body = bundle.served["medical"].test_body(3)
    assert client.post("/v1/medical/predict", json=body,
                       headers=bundle.headers("user")).status_code == 200
    refused = client.post("/v1/medical/predict", json=body, headers=bundle.headers("user2"))
    assert refused.status_code == 429 and refused.json()["detail"] == "query pattern refused"
    assert seen == [("alice", "medical", (3, 30)), ("bob", "medical", (3, 30))]
    assert app.state.audit.last()["outcome"] == "detected"


def test_every_request_is_audited_without_raw_values(bundle):
    app = bundle.app(common.SecurityConfig.hardened(), systems=("medical",))
    client = common.api_client(app)
    body = bundle.served["medical"].test_body(1)
    client.post("/v1/medical/predict", json=body)
    client.post("/v1/medical/predict", json=body, headers=bundle.headers("user"))
    client.post("/v1/medical/predict", content=b"x" * 2_000_000,
                headers=_json_headers(bundle.headers("user")))
    client.get("/v1/nothing/here")
    frame = app.state.audit.frame()
    assert frame["status"].tolist() == [401, 200, 413, 404]
    assert frame["principal"].iloc[0] == "anonymous"
    assert frame["endpoint"].iloc[2] == "/v1/medical/predict"
    assert not app.state.audit.contains(body["patients"][0][0])
    assert not app.state.audit.contains("alice")
    assert not app.state.audit.contains(bundle.key("user"))
    digest = app.state.audit.request_digest("POST", "/v1/medical/predict",
                                            body=client.build_request(
                                                "POST", "/", json=body).read())
    assert frame["digest"].iloc[1] == digest
    assert frame["digest"].iloc[0] == digest  # the same request, refused: the same digest


def test_build_app_bad_input(bundle):
    served = {"medical": bundle.served["medical"]}
    kw = dict(keys=bundle.keys, tokens=bundle.hardened_tokens, clock=bundle.clock,
              audit=bundle.new_audit())
    with pytest.raises(ArgumentTypeError):
        common.build_app(served, "hardened", **kw)
    with pytest.raises(ValueError):
        common.build_app({}, common.SecurityConfig.hardened(), **kw)
    with pytest.raises(ArgumentTypeError):
        common.build_app({"image": bundle.served["medical"]}, common.SecurityConfig.hardened(),
                         **kw)
    with pytest.raises(ValueError, match="AuditLog"):
        common.build_app(served, common.SecurityConfig.hardened(),
                         **{**kw, "audit": None})
    with pytest.raises(ArgumentTypeError):
        common.build_app(served, common.SecurityConfig.hardened(), **kw, detector=3)
    with pytest.raises(ValueError, match="label"):
        bundle.key("root")


def test_reference_apis_is_reproducible():
    first, second = common.reference_apis(1), common.reference_apis(1)
    assert first.api_keys == second.api_keys and first.tenants == second.tenants
    assert common.reference_apis(2).api_keys != first.api_keys
    with pytest.raises(ValueError):
        common.reference_apis(-1)


def test_warm_up_builds_systems_in_the_background():
    bundle = common.reference_apis(0)
    thread = bundle.warm_up(("medical",), background=True)
    proba = bundle.served["medical"].system.predict_proba(bundle.served["medical"].data.X_test)
    thread.join(timeout=60)
    assert not thread.is_alive() and bundle.served["medical"].built
    assert proba.shape[1] == 2
    assert bundle.warm_up(("medical",)) is None
    with pytest.raises(ValueError, match="domain"):
        bundle.warm_up(("audio",))
