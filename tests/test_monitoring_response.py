"""Lab 13 response: the runbook, the signed model store and its rollback, the account throttle,
the replay through lab 12's API, the post-incident report."""

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlsec_helpers import systems
from mlsec_helpers.apisec import common as api
from mlsec_helpers.monitoring import response as rs
from mlsec_helpers.supplychain import RefusedToLoad
from mlsec_helpers.validate import ArgumentTypeError


@pytest.fixture(scope="module")
def data():
    gen = np.random.default_rng(0)
    X = gen.normal(size=(120, 5)) * [1, 2, 3, 4, 5] + 10
    y = (X[:, 0] - 10 + 0.3 * gen.normal(size=120) > 0).astype(int)
    return X, y


@pytest.fixture(scope="module")
def good(data):
    model = systems.DiagnosisModel().fit(*data)
    model.domain = "medical"
    return model


@pytest.fixture(scope="module")
def bad(data):
    X, y = data
    model = systems.DiagnosisModel().fit(X, 1 - y)  # the opposite diagnosis
    model.domain = "medical"
    return model


def _leftovers() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("mlsec_lab13_*")}


@pytest.fixture
def store(good, bad, tmp_path, monkeypatch):
    # a temporary folder of this test's own: another xdist worker's folders must not count
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = _leftovers()
    store = rs.ModelStore("team")
    store.publish("v1", good, locations=("serving", "registry", "archive"))
    store.publish("v2", good, locations=("registry",))
    store.overwrite("v2", "registry", bad)
    store.overwrite("v1", "registry", bad)
    store.copy("v2", "registry", "serving")
    yield store
    assert _leftovers() <= before  # every operation removed its temporary folder


# --- the runbook and the report -----------------------------------------------------------------


def test_runbook_follows_the_csf_order():
    book = rs.Runbook("week")
    book.add("DETECT", "alert", evidence="delay 2 h", hour=50)
    book.add("DETECT", "another", hour=51)
    book.add("RESPOND", "revoke", hour=52)
    with pytest.raises(ValueError, match="cannot follow"):
        book.add("DETECT", "late detection")
    book.add("RECOVER", "roll back")
    assert len(book) == 4 and [s.number for s in book.steps] == [1, 2, 3, 4]
    frame = book.frame()
    assert list(frame["function"]) == ["DETECT", "DETECT", "RESPOND", "RECOVER"]
    assert frame.loc[0, "when"] == "day 3, 02:00" and frame.loc[3, "when"] == "-"
    assert len(book.frame("RESPOND")) == 1


@pytest.mark.parametrize(("args", "kwargs", "error"), [
    (("DETEKT", "x"), {}, ValueError),
    (("DETECT", ""), {}, ValueError),
    (("DETECT", "x"), {"hour": -1}, ValueError),
    (("DETECT", "x"), {"evidence": 3}, ArgumentTypeError),
])
def test_runbook_rejects_bad_steps(args, kwargs, error):
    with pytest.raises(error):
        rs.Runbook("week").add(*args, **kwargs)


def test_markdown_table_escapes_and_rounds():
    text = rs.markdown_table(pd.DataFrame({"a|b": ["x|y"], "v": [0.123456], "n": [np.nan]}))
    assert text.splitlines() == ["| a\\|b | v | n |", "|---|---|---|", "| x\\|y | 0.123 | - |"]
    with pytest.raises(ArgumentTypeError):
        rs.markdown_table([1, 2])


def test_incident_report_is_built_from_the_run():
    book = rs.Runbook("the week")
    book.add("DETECT", "theft seen", hour=79)
    book.add("RESPOND", "keys revoked", evidence="3 keys", hour=80)
    detections = pd.DataFrame({"incident": ["theft"], "delay (h)": [3.0]})
    text = rs.incident_report(book, detections=detections, impact={"queries": "32"},
                              lessons=["verify first"], summary="One theft.")
    for part in ("## Post-incident report: the week", "### Timeline", "day 4, 07:00",
                 "### Detection", "| theft | 3 |", "**RESPOND**", "keys revoked (3 keys)",
                 "- queries: 32", "1. verify first", "One theft."):
        assert part in text
    with pytest.raises(ValueError, match="no step"):
        rs.incident_report(rs.Runbook("x"), detections=detections, impact={"a": "b"},
                           lessons=["l"])
    with pytest.raises(ValueError, match="impact"):
        rs.incident_report(book, detections=detections, impact={}, lessons=["l"])
    with pytest.raises(ValueError, match="lessons"):
        rs.incident_report(book, detections=detections, impact={"a": "b"}, lessons="l")
    with pytest.raises(ValueError, match="detections"):
        rs.incident_report(book, detections=pd.DataFrame(), impact={"a": "b"}, lessons=["l"])


# --- the signed store and the rollback ----------------------------------------------------------


def test_store_verifies_what_the_team_signed(store):
    assert store.releases() == ("v1", "v2")
    frame = store.frame()
    where = zip(frame["version"], frame["location"], strict=True)
    verdict = dict(zip(where, frame["verifies"], strict=True))
    assert verdict == {("v1", "archive"): True, ("v1", "registry"): False,
                       ("v1", "serving"): True, ("v2", "registry"): False,
                       ("v2", "serving"): False}
    manifest, signature = store.check("v2", "serving")
    assert not manifest.ok and manifest.changed == ("model.skops",)
    assert not signature.ok and "differ" in signature.reason
    assert store.public_key.startswith(b"-----BEGIN PUBLIC KEY") and len(store.fingerprint) == 64


def test_a_tampered_copy_is_refused_before_loading(store):
    with pytest.raises(RefusedToLoad):
        store.load("v1", "registry")


def test_rollback_refuses_tampered_backups_and_restores_the_signed_model(store, good, data):
    rollback = store.roll_back([("v2", "serving"), ("v2", "registry"), ("v1", "registry"),
                                ("v1", "archive")])
    assert rollback.ok and (rollback.version, rollback.location) == ("v1", "archive")
    assert rollback.refused == 3
    assert list(rollback.frame()["loaded"]) == ["refused"] * 3 + ["LOADED"]
    X = data[0]
    assert np.array_equal(rollback.system.predict(X), good.predict(X))
    assert np.allclose(rollback.system.predict_proba(X), good.predict_proba(X))


def test_rollback_with_no_verified_candidate_loads_nothing(store):
    rollback = store.roll_back([("v2", "serving"), ("v1", "registry")])
    assert not rollback.ok and rollback.system is None and rollback.refused == 2


def test_store_rejects_bad_input(store, good):
    with pytest.raises(ValueError, match="never overwritten"):
        store.publish("v1", good)
    with pytest.raises(ValueError, match="location"):
        store.copy("v1", "archive", "laptop")
    with pytest.raises(ValueError, match="no copy"):
        store.check("v2", "archive")
    with pytest.raises(ValueError, match="version"):
        store.load("v9", "archive")
    with pytest.raises(ArgumentTypeError, match="pairs"):
        store.roll_back(("v1", "archive"))
    with pytest.raises(ArgumentTypeError, match="pair"):
        store.roll_back(["v1"])
    with pytest.raises(ArgumentTypeError, match="sequence"):
        store.publish("v3", good, locations="archive")


# --- respond: the throttle, the replay ----------------------------------------------------------


def test_account_throttle_covers_every_key_of_the_account():
    clock = api.ManualClock(0.0)
    throttle = rs.AccountThrottle(clock, rate_per_s=1 / 3600, burst=2)
    thief = api.Principal("clinic-x", "user", "k001")
    fresh = api.Principal("clinic-x", "user", "k009")
    doctor = api.Principal("hospital-A", "user", "k002")
    one = np.zeros((1, 3))
    assert not throttle(thief, "medical", one)  # not throttled yet
    throttle.throttle("clinic-x")
    assert throttle.throttled == ("clinic-x",)
    assert [throttle(thief, "medical", one), throttle(fresh, "medical", one),
            throttle(fresh, "medical", one)] == [False, False, True]
    assert not any(throttle(doctor, "medical", one) for _ in range(10))
    clock.advance(3600)
    assert not throttle(fresh, "medical", one)
    assert throttle.refused["clinic-x"] == 1
    assert throttle(thief, "medical", np.zeros((3, 3)))  # a batch costs a token per patient


def test_account_throttle_asks_its_base_hook_first():
    throttle = rs.AccountThrottle(api.ManualClock(0.0), rate_per_s=1.0,
                                  base=lambda p, s, f: p.name == "bad")
    assert throttle(api.Principal("bad", "user", "k1"), "medical", np.zeros((1, 2)))
    assert not throttle(api.Principal("good", "user", "k2"), "medical", np.zeros((1, 2)))


def test_account_throttle_rejects_bad_input():
    clock = api.ManualClock(0.0)
    with pytest.raises(ArgumentTypeError, match="clock"):
        rs.AccountThrottle(3, rate_per_s=1.0)
    with pytest.raises(ValueError, match="rate_per_s"):
        rs.AccountThrottle(clock, rate_per_s=0)
    with pytest.raises(ArgumentTypeError, match="base"):
        rs.AccountThrottle(clock, rate_per_s=1.0, base=3)
    with pytest.raises(ArgumentTypeError, match="name"):
        rs.AccountThrottle(clock, rate_per_s=1.0)(object(), "medical", np.zeros((1, 2)))


def test_replay_through_the_api_shows_revoked_and_throttled_keys():
    from mlsec_helpers.data import load_dataset

    data = load_dataset("medical", seed=0)
    system = systems.DiagnosisModel().fit(data.X_train, data.y_train)
    clock = api.ManualClock(0.0)
    keys = api.KeyStore(0)
    raw = {"hospital-A/1": keys.issue("hospital-A", "user"),
           "clinic-x/1": keys.issue("clinic-x", "user"),
           "clinic-x/2": keys.issue("clinic-x", "user")}
    throttle = rs.AccountThrottle(clock, rate_per_s=1 / 86400, burst=1)
    app = api.build_app({"medical": api.served_system("medical", system, data)},
                        api.SecurityConfig.hardened(), keys=keys,
                        tokens=api.TokenIssuer(bytes(32), clock), clock=clock,
                        audit=api.AuditLog(b"0123456789abcdef", clock), detector=throttle)
    keys.revoke(api.KeyStore.key_id_of(raw["clinic-x/1"]))
    throttle.throttle("clinic-x")
    requests = pd.DataFrame({"key": ["hospital-A/1", "clinic-x/1", "clinic-x/2", "clinic-x/2",
                                     "hospital-A/1"], "who": list("httth")})
    out = rs.replay(api.api_client(app), requests, data.X_test[:5], raw, clock, seconds=50)
    assert list(out["status"]) == [200, 401, 200, 429, 200]
    assert list(out["who"]) == list("httth") and out.loc[1, "label"] == -1
    assert np.array_equal(out.loc[[0, 4], "label"], system.predict(data.X_test[[0, 4]]))
    assert clock() == pytest.approx(50.0)
    with pytest.raises(ValueError, match="no raw API key"):
        rs.replay(None, pd.DataFrame({"key": ["nobody"]}), data.X_test[:1], raw, clock)
    with pytest.raises(ValueError, match="rows for"):
        rs.replay(None, requests, data.X_test[:2], raw, clock)
    with pytest.raises(ValueError, match="'key' column"):
        rs.replay(None, pd.DataFrame({"k": [1]}), data.X_test[:1], raw, clock)
    with pytest.raises(ArgumentTypeError, match="ManualClock"):
        rs.replay(None, requests, data.X_test[:5], raw, lambda: 0.0)
