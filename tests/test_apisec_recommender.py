"""Lab 12 (API security), recommender section: object-level authorisation (BOLA), the adaptive
attacker's id encodings and routes, and an audit log without personal data that a responder
can still use."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from mlsec_helpers.apisec import common, pentest, recommender
from mlsec_helpers.apisec.nlp import attempt_table
from mlsec_helpers.validate import ArgumentTypeError

N_USERS, N_ITEMS = 30, 40
OWN, VICTIM = 7, 12


class _Recommender:
    """A tiny stand-in for the matrix-factorisation recommender: fixed random scores."""

    def __init__(self):
        self.scores = np.random.default_rng(0).normal(size=(N_USERS, N_ITEMS))

    def score(self, users):
        return self.scores[np.asarray(users)].copy()

    def recommend(self, user, k=10):
        return np.argsort(-self.scores[int(user)], kind="stable")[:k]


@pytest.fixture(scope="module")
def api():
    data = SimpleNamespace(domain="recommender", X_test=np.array([[OWN, 0]]),
                           extra={"n_users": N_USERS, "n_items": N_ITEMS,
                                  "titles": [f"Film number {i:02d}" for i in range(N_ITEMS)]})
    served = {"recommender": common.served_system("recommender", _Recommender(), data)}
    clock = common.ManualClock(1_000.0)
    keys = common.KeyStore(1)
    raw = {"attacker": keys.issue(f"member-{OWN}", "user", OWN),
           "victim": keys.issue(f"member-{VICTIM}", "user", VICTIM),
           "second": keys.issue("second-account", "user"),
           "admin": keys.issue("carol", "admin")}
    tokens = common.TokenIssuer(b"t" * 32, clock)
    audits = {name: common.AuditLog(b"q" * 16, clock) for name in ("weak", "hardened")}
    apps = {name: common.build_app(served, config, keys=keys, tokens=tokens, clock=clock,
                                   audit=audits[name])
            for name, config in (("weak", common.SecurityConfig.weak()),
                                 ("hardened", common.SecurityConfig.hardened()))}
    return SimpleNamespace(
        served=served["recommender"], clock=clock, keys=keys, tokens=tokens, audits=audits,
        headers={k: {"X-API-Key": v} for k, v in raw.items()}, raw=raw,
        weak=common.api_client(apps["weak"]), hard=common.api_client(apps["hardened"]),
        truth={u: served["recommender"].recommend(u)["items"] for u in range(N_USERS)})


def _pace(api):
    return lambda: api.clock.advance(1.0)


# --- ids and paths ---------------------------------------------------------------------------


def test_recommendations_path():
    assert recommender.recommendations_path(5) == "/v1/recommender/users/5/recommendations"
    assert recommender.recommendations_path("+5", k=3).endswith("/users/+5/recommendations?k=3")
    with pytest.raises(ArgumentTypeError):
        recommender.recommendations_path(5.0)
    with pytest.raises(ArgumentTypeError):
        recommender.recommendations_path(True)
    with pytest.raises(ValueError):
        recommender.recommendations_path(5, k=0)


def test_encode_user_id_every_encoding():
    enc = {name: recommender.encode_user_id(427, name, n_users=671)
           for name in recommender.ID_ENCODINGS}
    assert enc["leading zeros"] == "000427" and enc["plus sign"] == "+427"
    assert enc["decimal point"] == "427.0" and enc["space before (%20)"] == "%20427"
    assert enc["digit separator"] == "0_427" and enc["negative index"] == "-244"
    assert int(enc["wraps a 64-bit integer"]) % 2 ** 64 == 427
    assert enc["Arabic-Indic digits"] == "%D9%A4%D9%A2%D9%A7"
    assert enc["full-width digits"] == "%EF%BC%94%EF%BC%92%EF%BC%97"
    assert enc["hexadecimal"] == "0x1ab" and enc["exponent"] == "427e0"
    assert list(range(671))[int(enc["negative index"])] == 427  # Python's negative index


def test_encode_user_id_bad_input():
    with pytest.raises(ValueError, match="encoding"):
        recommender.encode_user_id(3, "base64", n_users=10)
    with pytest.raises(ValueError):
        recommender.encode_user_id(10, "plus sign", n_users=10)
    with pytest.raises(ArgumentTypeError):
        recommender.encode_user_id("3", "plus sign", n_users=10)
    with pytest.raises(ValueError):
        recommender.encode_user_id(3, "plus sign", n_users=0)


# --- object-level authorisation ---------------------------------------------------------------


def test_enumeration_weak_leaks_hardened_refuses_with_403(api):
    others = [u for u in range(N_USERS) if u != OWN][:10]
    calls = []
    weak = recommender.enumerate_lists(api.weak, api.headers["attacker"], others,
                                       pause=lambda: calls.append(1))
    assert (weak["status"] == 200).all() and len(calls) == len(others)
    assert all(items == api.truth[u] for u, items in zip(weak["user_id"], weak["items"],
                                                          strict=True))
    hard = recommender.enumerate_lists(api.hard, api.headers["attacker"],
                                       others + [N_USERS, 10 ** 6], pause=_pace(api))
    assert (hard["status"] == 403).all() and hard["items"].isna().all()
    own = recommender.enumerate_lists(api.hard, api.headers["attacker"], [OWN])
    assert own.loc[0, "status"] == 200 and own.loc[0, "items"] == api.truth[OWN]


def test_enumerate_lists_bad_input(api):
    with pytest.raises(ArgumentTypeError, match="headers"):
        recommender.enumerate_lists(api.weak, "key", [1])
    with pytest.raises(ValueError, match="at least one"):
        recommender.enumerate_lists(api.weak, api.headers["attacker"], [])
    with pytest.raises(ArgumentTypeError):
        recommender.enumerate_lists(api.weak, api.headers["attacker"], [1.5])
    with pytest.raises(ArgumentTypeError, match="pause"):
        recommender.enumerate_lists(api.weak, api.headers["attacker"], [1], pause=2)


def test_list_leaked():
    truth = {3: [1, 2, 3], 4: [5, 6, 7]}
    assert recommender.list_leaked({"user_id": 4, "items": [5, 6, 7]}, truth, own=3)
    assert not recommender.list_leaked({"user_id": 3, "items": [1, 2, 3]}, truth, own=3)
    assert not recommender.list_leaked({"user_id": 4, "items": [5, 7, 6]}, truth, own=3)
    assert not recommender.list_leaked({"user_id": 9, "items": [5, 6, 7]}, truth, own=3)
    assert not recommender.list_leaked({"detail": "forbidden"}, truth, own=3)
    assert not recommender.list_leaked(SimpleNamespace(status_code=403), truth, own=3)
    ok = SimpleNamespace(status_code=200, json=lambda: {"user_id": 4, "items": [5, 6, 7]})
    assert recommender.list_leaked(ok, truth, own=None)
    with pytest.raises(ArgumentTypeError):
        recommender.list_leaked(ok, [(4, [5, 6, 7])], own=3)


def test_adaptive_cases_refused_by_hardened_and_pass_the_pen_test(api):
    token = api.tokens.issue(api.keys.verify(api.raw["attacker"]))
    cases = (recommender.id_encoding_cases(VICTIM, api.headers["attacker"], n_users=N_USERS)
             + recommender.admin_route_cases(VICTIM, api.headers["attacker"], token)
             + recommender.bola_cases(api.headers["attacker"], [VICTIM, 0, N_USERS + 3]))
    assert {c.expected[0] for c in cases} == {401, 403, 404, 422}

    def leaked(case, response):
        return recommender.list_leaked(response, api.truth, OWN)

    hard = attempt_table(api.hard, cases, success=leaked, pause=_pace(api))
    assert hard["as_expected"].all() and not hard["succeeded"].any()
    assert not hard["server_error"].any()
    weak = attempt_table(api.weak, cases, success=leaked)
    assert weak["succeeded"].sum() >= 10  # parsed encodings, headers, the predict route ...
    rows = pentest.run_pentest(api.hard, [c for c in cases], api.audits["hardened"])
    assert rows["passed"].all() and rows["audited"].all()


def test_case_builders_bad_input(api):
    token = api.tokens.issue(api.keys.verify(api.raw["attacker"]))
    with pytest.raises(ArgumentTypeError):
        recommender.bola_cases("key", [1])
    with pytest.raises(ValueError):
        recommender.bola_cases(api.headers["attacker"], [])
    with pytest.raises(ValueError, match="encoding|user_id"):
        recommender.id_encoding_cases(N_USERS, api.headers["attacker"], n_users=N_USERS)
    with pytest.raises(ValueError):
        recommender.admin_route_cases(-1, api.headers["attacker"], token)
    with pytest.raises(ArgumentTypeError):
        recommender.admin_route_cases(3, api.headers["attacker"], token, guessed_secret="s")
    with pytest.raises(ValueError):
        recommender.admin_route_cases(3, api.headers["attacker"], "not a token")


# --- the audit log -----------------------------------------------------------------------------


@pytest.fixture()
def log(api):
    """A fresh hardened log with an enumeration, a probe from two keys and the victim's own
    read."""
    api.audits["hardened"].clear()
    api.clock.advance(100)
    recommender.enumerate_lists(api.hard, api.headers["attacker"], [VICTIM, 3, 4],
                                pause=_pace(api))
    recommender.enumerate_lists(api.hard, api.headers["victim"], [VICTIM])
    for who in ("attacker", "second"):
        api.hard.post("/v1/recommender/predict", json={"user_id": VICTIM, "k": 10},
                      headers=api.headers[who])
    return api.audits["hardened"]


def test_personal_data_check(api, log):
    table = recommender.personal_data_check(log, {
        "id in a path": [f"/users/{u}/" for u in (VICTIM, 3, 4)],
        "name": [f"member-{OWN}", f"member-{VICTIM}"],
        "title": api.served.titles[:10],
        "raw key": list(api.raw.values()),
        "key id (stored on purpose)": [api.keys.key_id_of(api.raw["attacker"])],
    })
    assert list(table["checked"]) == [3, 2, 10, 4, 1]
    assert list(table["found"]) == [0, 0, 0, 0, 1]
    with pytest.raises(ArgumentTypeError):
        recommender.personal_data_check(log, {"name": "member-7"})
    with pytest.raises(ValueError):
        recommender.personal_data_check(log, {})
    with pytest.raises(ValueError):
        recommender.personal_data_check(log, {"name": [""]})
    with pytest.raises(ArgumentTypeError):
        recommender.personal_data_check(object(), {"name": ["a"]})


def test_key_activity_and_linked_requests(api, log):
    frame = log.frame()
    attacker = api.keys.key_id_of(api.raw["attacker"])
    second = api.keys.key_id_of(api.raw["second"])
    victim = api.keys.key_id_of(api.raw["victim"])
    activity = recommender.key_activity(frame, attacker)
    forbidden = activity[activity["outcome"] == "forbidden"]
    assert forbidden["requests"].sum() == 4  # three reads and the probe
    linked = recommender.linked_requests(frame)
    keysets = [set(k.split(", ")) for k in linked["keys"]]
    assert {attacker, second} in keysets  # the same probe from two keys
    assert {attacker, victim} in keysets  # the attacker's read of the victim's own path
    assert recommender.linked_requests(frame, min_keys=3).empty
    with pytest.raises(ValueError, match="no request"):
        recommender.key_activity(frame, "k999")
    with pytest.raises(ArgumentTypeError):
        recommender.key_activity(frame.to_dict(), attacker)
    with pytest.raises(ValueError, match="columns"):
        recommender.linked_requests(frame.drop(columns="digest"))


def test_request_seen_needs_the_key(api, log):
    frame = log.frame()
    seen = recommender.request_seen(frame, log, "GET", recommender.recommendations_path(VICTIM))
    assert sorted(seen["status"]) == [200, 403]
    other = common.AuditLog(b"w" * 16)
    assert recommender.request_seen(
        frame, other, "GET", recommender.recommendations_path(VICTIM)).empty
    with pytest.raises(ArgumentTypeError):
        recommender.request_seen(frame, object(), "GET", "/x")


def test_pseudonym_reversal_keyed_vs_plain(api, log):
    names = [f"member-{u}" for u in range(N_USERS)] + ["second-account", "carol"]
    pseudonyms = log.frame()["principal"]
    responder = recommender.pseudonym_reversal(pseudonyms, names, log.pseudonym)
    assert responder.value == 1.0 and responder.n == 3
    thief = recommender.pseudonym_reversal(pseudonyms, names, recommender.plain_pseudonym)
    assert thief.successes == 0
    plain_log = [recommender.plain_pseudonym(n) for n in names[:5]]
    assert recommender.pseudonym_reversal(plain_log, names, recommender.plain_pseudonym,
                                          on="5 names").value == 1.0
    assert recommender.plain_pseudonym("a") == recommender.plain_pseudonym("a") != \
        recommender.plain_pseudonym("b")
    with pytest.raises(ArgumentTypeError):
        recommender.pseudonym_reversal("p-1", names, log.pseudonym)
    with pytest.raises(ValueError):
        recommender.pseudonym_reversal(["anonymous"], names, log.pseudonym)
    with pytest.raises(ValueError):
        recommender.pseudonym_reversal(pseudonyms, [], log.pseudonym)
    with pytest.raises(ArgumentTypeError):
        recommender.pseudonym_reversal(pseudonyms, names, "sha256")
    with pytest.raises(ArgumentTypeError):
        recommender.plain_pseudonym(7)
