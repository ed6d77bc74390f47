"""Lab 12 (API security), NLP section: oversized and chunked bodies, text validation, labels
for users and scores for admins, the API as a classifier for lab 04's theft, the adaptive
user's attempts at the admin data."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from mlsec_helpers.apisec import common, nlp, pentest, server
from mlsec_helpers.validate import ArgumentTypeError

TEXTS = ["please refund my last order", "my card was stolen yesterday",
         "you won a prize, click this link now", "refund the double payment please",
         "block my card, it is lost", "claim your reward at this link today"] * 4
LABELS = [0, 1, 2, 0, 1, 2] * 4
CLASSES = ["refund", "card", "scam"]


@pytest.fixture(scope="module")
def api():
    """A weak and a hardened API over a tiny triage model, with a user and an admin key."""
    data = SimpleNamespace(domain="nlp", X_train=np.array(TEXTS), X_test=np.array(TEXTS),
                           y_train=np.array(LABELS), y_test=np.array(LABELS),
                           target_names=CLASSES, extra={"scam_index": 2})
    model = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=300)).fit(TEXTS, LABELS)
    served = {"nlp": common.served_system("nlp", model, data)}
    clock = common.ManualClock(1_000.0)
    keys = common.KeyStore(0)
    user, admin = keys.issue("alice", "user"), keys.issue("carol", "admin")
    tokens = common.TokenIssuer(b"k" * 32, clock)
    hardened_config = common.SecurityConfig.hardened().replace(max_body_bytes=2_000)

    def build(config, **changes):
        return common.build_app(served, config.replace(**changes), keys=keys, tokens=tokens,
                                clock=clock,
                                audit=common.AuditLog(b"p" * 16, clock))

    weak_app = build(common.SecurityConfig.weak())
    hard_app = build(hardened_config)
    return SimpleNamespace(
        model=model, served=served["nlp"], clock=clock, keys=keys, tokens=tokens,
        user={"X-API-Key": user}, admin={"X-API-Key": admin}, build=build,
        hardened_config=hardened_config, weak_app=weak_app, hard_app=hard_app,
        weak=common.api_client(weak_app), hard=common.api_client(hard_app))


def _refill(api):
    api.clock.advance(100)


# --- bodies -----------------------------------------------------------------------------------


def test_json_body_is_compact_and_refuses_nan():
    assert nlp.json_body({"texts": ["a", "b"]}) == b'{"texts":["a","b"]}'
    with pytest.raises(ArgumentTypeError, match="finite"):
        nlp.json_body({"values": [float("nan")]})
    with pytest.raises(ArgumentTypeError):
        nlp.json_body({"texts": {1, 2}})


def test_oversized_texts_just_pass_the_size_with_ordinary_messages():
    texts = nlp.oversized_texts(TEXTS[:3], 1_000)
    body = nlp.json_body({"texts": texts})
    assert len(body) > 1_000
    assert len(nlp.json_body({"texts": texts[:-1]})) <= 1_000
    assert texts[:3] == TEXTS[:3] and set(texts) <= set(TEXTS[:3])


def test_oversized_texts_bad_input():
    with pytest.raises(ArgumentTypeError):
        nlp.oversized_texts("one message", 100)
    with pytest.raises(ValueError, match="non-empty"):
        nlp.oversized_texts([], 100)
    with pytest.raises(ValueError, match="non-empty"):
        nlp.oversized_texts(["a", ""], 100)
    with pytest.raises(ValueError):
        nlp.oversized_texts(["a"], 0)


def test_stream_chunks_split_and_rejoin():
    body = bytes(range(256)) * 10
    chunks = list(nlp.stream_chunks(body, 1000))
    assert b"".join(chunks) == body
    assert [len(c) for c in chunks] == [1000, 1000, 560]
    with pytest.raises(ArgumentTypeError):
        nlp.stream_chunks("text", 10)
    with pytest.raises(ValueError):
        nlp.stream_chunks(b"abc", 0)


def test_send_body_with_content_length_weak_serves_hardened_refuses(api):
    _refill(api)
    body = nlp.json_body({"texts": nlp.oversized_texts(TEXTS, 2_000)})
    weak = nlp.send_body(api.weak, "/v1/nlp/predict", body, api.user)
    hard = nlp.send_body(api.hard, "/v1/nlp/predict", body, api.user)
    assert weak.status == 200 and hard.status == 413
    assert weak.n_bytes == hard.n_bytes == len(body) and not hard.chunked
    assert weak.seconds >= 0 and "larger than 2000 bytes" in hard.detail
    assert api.hard_app.state.audit.last()["outcome"] == "too large"
    assert api.weak_app.state.audit.last()["n_items"] == len(json.loads(body)["texts"])


def test_send_body_bad_input(api):
    with pytest.raises(ArgumentTypeError):
        nlp.send_body(api.weak, "/v1/nlp/predict", "not bytes", api.user)
    with pytest.raises(ArgumentTypeError):
        nlp.send_body(api.weak, "/v1/nlp/predict", b"{}", api.user, chunked="yes")
    with pytest.raises(ArgumentTypeError):
        nlp.send_body(api.weak, 42, b"{}", api.user)


def test_chunked_body_passes_a_content_length_limit_but_not_a_streamed_count(api):
    body = nlp.json_body({"texts": nlp.oversized_texts(TEXTS, 5_000)})
    statuses = {}
    for counted in (False, True):
        app = api.build(api.hardened_config, count_streamed_bytes=counted)
        with server.LocalServer(app) as srv, srv.client() as http:
            port = srv.port
            statuses[counted] = (nlp.send_body(http, "/v1/nlp/predict", body, api.user).status,
                                 nlp.send_body(http, "/v1/nlp/predict", body, api.user,
                                               chunked=True).status)
        assert not server.port_is_open(port)
    assert statuses[False][0] == 413 and statuses[False][1] == 422  # read, parsed, then refused
    assert statuses[True] == (413, 413)


# --- what a user may see ---------------------------------------------------------------------


def test_has_scores_and_admin_data_leaked():
    def response(status, payload):
        return SimpleNamespace(status_code=status, json=lambda: payload)

    def broken(status):
        def fail():
            raise ValueError("not JSON")
        return SimpleNamespace(status_code=status, json=fail)

    assert nlp.has_scores(response(200, {"labels": [1], "probabilities": [[0.2, 0.8]]}))
    assert nlp.has_scores(response(200, {"items": [1], "scores": [4.2]}))
    assert not nlp.has_scores(response(200, {"labels": [1]}))
    assert not nlp.has_scores(response(403, {"probabilities": [[1.0]]}))
    assert not nlp.has_scores(broken(200))
    assert not nlp.has_scores(response(200, [1, 2]))
    model_case = SimpleNamespace(path="/v1/nlp/model")
    predict_case = SimpleNamespace(path="/v1/nlp/predict?scores=true")
    assert nlp.admin_data_leaked(model_case, broken(200))
    assert not nlp.admin_data_leaked(model_case, broken(403))
    assert not nlp.admin_data_leaked(predict_case, response(200, {"labels": [0]}))


def test_api_classifier_probabilities_on_weak_labels_on_hardened(api):
    _refill(api)
    calls = []
    weak = nlp.APITextClassifier(api.weak, api.user, 3, batch=5)
    hard = nlp.APITextClassifier(api.hard, api.user, 3, batch=5, pause=lambda: calls.append(1))
    p_weak, p_hard = weak.predict_proba(TEXTS[:12]), hard(TEXTS[:12])
    np.testing.assert_allclose(p_weak, api.model.predict_proba(TEXTS[:12]), atol=1e-5)
    np.testing.assert_array_equal(p_hard.argmax(1), api.model.predict(TEXTS[:12]))
    assert set(np.unique(p_hard)) <= {0.0, 1.0} and (p_hard.sum(1) == 1).all()
    assert (weak.queries, weak.requests, weak.scored) == (12, 3, 12)
    assert (hard.queries, hard.requests, hard.scored) == (12, 3, 0) and len(calls) == 3
    np.testing.assert_array_equal(weak.predict(TEXTS[:4]), api.model.predict(TEXTS[:4]))
    assert "12 texts in 3 requests" in repr(hard)


def test_api_classifier_refused_scores_and_admin(api):
    _refill(api)
    asking = nlp.APITextClassifier(api.hard, api.user, 3, scores=True)
    with pytest.raises(nlp.APIRefused) as refused:
        asking(TEXTS[:2])
    assert refused.value.status == 403 and asking.queries == 0 and asking.requests == 1
    admin = nlp.APITextClassifier(api.hard, api.admin, 3, scores=True)
    assert admin(TEXTS[:2]).shape == (2, 3) and admin.scored == 2


def test_api_classifier_feeds_lab04_theft(api):
    from mlsec_helpers import extraction

    _refill(api)
    clf = nlp.APITextClassifier(api.weak, api.user, 3)
    curve = extraction.theft_curve(clf, TEXTS, [12, 24], TEXTS, api.model.predict(TEXTS))
    assert list(curve["budget"]) == [12, 24] and clf.queries == 24
    assert curve["value"].iloc[-1] > 0.9


def test_api_classifier_bad_input(api):
    with pytest.raises(ArgumentTypeError, match="client"):
        nlp.APITextClassifier(object(), api.user, 3)
    with pytest.raises(ArgumentTypeError, match="headers"):
        nlp.APITextClassifier(api.weak, "key", 3)
    with pytest.raises(ValueError):
        nlp.APITextClassifier(api.weak, api.user, 1)
    with pytest.raises(ValueError):
        nlp.APITextClassifier(api.weak, api.user, 3, batch=0)
    with pytest.raises(ArgumentTypeError, match="scores"):
        nlp.APITextClassifier(api.weak, api.user, 3, scores="yes")
    with pytest.raises(ArgumentTypeError, match="pause"):
        nlp.APITextClassifier(api.weak, api.user, 3, pause=5)
    clf = nlp.APITextClassifier(api.weak, api.user, 3)
    with pytest.raises(ArgumentTypeError):
        clf.predict_proba("one text")
    with pytest.raises(ValueError, match="at least one"):
        clf.predict_proba([])
    wrong = nlp.APITextClassifier(api.weak, api.user, 4)
    with pytest.raises(ValueError, match="shape"):
        wrong(TEXTS[:2])


def test_served_labels_marks_refused_requests(api):
    app = api.build(api.hardened_config, rate_per_s=1.0, burst=4.0)
    client = common.api_client(app)
    labels, status = nlp.served_labels(client, api.user, TEXTS[:6], batch=2)
    assert list(status) == [200, 200, 200, 200, 429, 429]
    np.testing.assert_array_equal(labels[:4], api.model.predict(TEXTS[:4]))
    assert list(labels[4:]) == [-1, -1]
    api.clock.advance(10)  # the bucket refills
    paced, _ = nlp.served_labels(client, api.user, TEXTS[:6], batch=2,
                                 pause=lambda: api.clock.advance(5))
    assert (paced >= 0).all()
    with pytest.raises(ValueError):
        nlp.served_labels(client, api.user, [], batch=2)
    with pytest.raises(ArgumentTypeError):
        nlp.served_labels(client, api.user, TEXTS[:2], pause="wait")


# --- the adaptive user and the pen-test cases ------------------------------------------------


def test_read_claims_reads_without_the_key(api):
    token = api.tokens.issue(api.keys.verify(api.user["X-API-Key"]))
    claims = nlp.read_claims(token)
    assert claims["sub"] == "alice" and claims["role"] == "user"
    with pytest.raises(ValueError, match="readable"):
        nlp.read_claims("a.b.c")
    with pytest.raises(ArgumentTypeError):
        nlp.read_claims(None)


def test_scores_bypass_cases_all_refused_by_hardened_some_served_by_weak(api):
    token = api.tokens.issue(api.keys.verify(api.user["X-API-Key"]))
    cases = nlp.scores_bypass_cases(api.user, token, body={"texts": TEXTS[:1]})
    assert all(isinstance(c, pentest.PenTestCase) for c in cases)
    assert {c.expected[0] for c in cases} == {401, 403, 404, 405}
    _refill(api)
    hard = nlp.attempt_table(api.hard, cases, pause=lambda: api.clock.advance(1))
    assert hard["as_expected"].all() and not hard["succeeded"].any()
    assert not hard["server_error"].any() and hard["refused"].all()
    weak = nlp.attempt_table(api.weak, cases)
    forbidden = [c.expected == (403,) for c in cases]
    assert weak.loc[forbidden, "succeeded"].all()  # the weak API gives scores to every user
    assert weak.loc[weak["attempt"] == "alg=none token, role=admin", "succeeded"].all()
    rows = pentest.run_pentest(api.hard, cases, api.hard_app.state.audit)
    assert rows["passed"].all() and rows["audited"].all()


def test_scores_bypass_cases_bad_input(api):
    token = api.tokens.issue(api.keys.verify(api.user["X-API-Key"]))
    with pytest.raises(ArgumentTypeError):
        nlp.scores_bypass_cases("key", token, body={})
    with pytest.raises(ArgumentTypeError):
        nlp.scores_bypass_cases(api.user, token, body={}, guessed_secret="secret")
    with pytest.raises(ValueError):
        nlp.scores_bypass_cases(api.user, "not-a-token", body={})


def test_text_validation_cases_hardened_422_weak_serves_some(api):
    _refill(api)
    cases = nlp.text_validation_cases(api.user, max_chars=api.served.max_chars,
                                      max_batch=api.served.max_batch, text=TEXTS[0])
    long_text = cases[0].body["texts"][0]
    assert len(long_text) == api.served.max_chars + 1
    assert len(cases[1].body["texts"]) == api.served.max_batch + 1
    hard = nlp.attempt_table(api.hard, cases, success=lambda c, r: r.status_code == 200)
    assert (hard["status"] == 422).all() and not hard["succeeded"].any()
    weak = nlp.attempt_table(api.weak, cases, success=lambda c, r: r.status_code == 200)
    assert weak["succeeded"].sum() >= 3


def test_text_validation_cases_bad_input(api):
    with pytest.raises(ValueError, match="honest"):
        nlp.text_validation_cases(api.user, max_chars=5, max_batch=2, text="far too long")
    with pytest.raises(ValueError):
        nlp.text_validation_cases(api.user, max_chars=0, max_batch=2, text="a")
    with pytest.raises(ArgumentTypeError):
        nlp.text_validation_cases(["key"], max_chars=50, max_batch=2, text="a")


def test_attempt_table_bad_input(api):
    with pytest.raises(ArgumentTypeError, match="PenTestCase"):
        nlp.attempt_table(api.weak, [])
    with pytest.raises(ArgumentTypeError, match="PenTestCase"):
        nlp.attempt_table(api.weak, ["GET /v1/health"])
    case = pentest.PenTestCase(name="health", system="-", threat="-", method="GET",
                               path="/v1/health", expected=200)
    with pytest.raises(ArgumentTypeError, match="success"):
        nlp.attempt_table(api.weak, [case], success=True)
    with pytest.raises(ArgumentTypeError, match="pause"):
        nlp.attempt_table(api.weak, [case], pause=1)
    table = nlp.attempt_table(api.weak, [case])
    assert table.loc[0, "status"] == 200 and not table.loc[0, "succeeded"]
