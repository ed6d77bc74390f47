"""Tests for lab 12's medical section helpers (``mlsec_helpers.apisec.medical``): honest
clinicians, the transports, the traffic simulation and the thief's client."""

from __future__ import annotations

import numpy as np
import pytest

from mlsec_helpers import extraction
from mlsec_helpers.apisec import common, medical
from mlsec_helpers.apisec.detect import BoundaryShareDetector

D = 4
W_TRUE = np.array([1.0, -2.0, 0.5, 0.0])
B_TRUE = 0.25


def toy_proba(X):
    """A logistic model on four features: the victim of the direct-transport tests."""
    p = 1 / (1 + np.exp(-(np.asarray(X) @ W_TRUE + B_TRUE)))
    return np.column_stack([1 - p, p])


def toy_pool(n=200, seed=0):
    return np.random.default_rng(seed).normal(size=(n, D))


@pytest.fixture(scope="module")
def medical_served():
    from mlsec_helpers import systems
    from mlsec_helpers.data import load_dataset

    data = load_dataset("medical", seed=0)
    return common.served_system("medical", systems.reference_system("medical", seed=0), data)


def make_app(served, config, clock, keys, detector=None):
    return common.build_app({"medical": served}, config, keys=keys,
                            tokens=common.TokenIssuer(b"k" * 32, clock), clock=clock,
                            audit=common.AuditLog(b"p" * 16, clock), detector=detector)


# --- honest clinicians --------------------------------------------------------------------------


def test_clinic_day_is_ordered_deterministic_and_at_a_realistic_pace():
    day = medical.clinic_day(50, n_clinicians=20, hours=8.0, start=100.0, seed=3)
    again = medical.clinic_day(50, n_clinicians=20, hours=8.0, start=100.0, seed=3)
    assert np.array_equal(day.times, again.times) and np.array_equal(day.patient, again.patient)
    assert (np.diff(day.times) >= 0).all() and day.times[0] >= 100.0
    assert day.patient.min() >= 0 and day.patient.max() < 50
    assert set(day.clinician.tolist()) <= set(range(20))
    per_hour = len(day) / (20 * 8.0)
    assert 2.5 < per_hour < 7.0  # about 4.5 requests per clinician-hour
    assert len(day) == len(day.times) == len(day.clinician)
    assert day.n_clinicians == 20 and day.hours == 8.0


@pytest.mark.parametrize("kwargs, err", [
    ({"n_patients": 0}, ValueError),
    ({"n_patients": 5, "n_clinicians": 0}, ValueError),
    ({"n_patients": 5, "hours": 0.0}, ValueError),
    ({"n_patients": 5, "mean_gap_s": -1.0}, ValueError),
    ({"n_patients": 5, "mean_extra": -1.0}, ValueError),
    ({"n_patients": 5, "within_s": 0.0}, ValueError),
    ({"n_patients": 5, "start": float("nan")}, ValueError),
    ({"n_patients": 5, "seed": -1}, ValueError),
    ({"n_patients": 2.5}, TypeError),
])
def test_clinic_day_rejects_bad_input(kwargs, err):
    n = kwargs.pop("n_patients")
    with pytest.raises(err):
        medical.clinic_day(n, **kwargs)


def test_line_search_query_count_matches_lab04():
    assert medical.line_search_query_count() == 256
    assert medical.line_search_query_count(n_labels=10, n_pairs=2, n_near=0, n_pairs_near=0,
                                           steps=3) == 16
    api = extraction.PredictionAPI(toy_proba, output="labels")
    extraction.line_search_attack(api, toy_pool(), seed=0)
    assert api.queries == medical.line_search_query_count()
    with pytest.raises(ValueError):
        medical.line_search_query_count(steps=-1)


def test_rate_limit_sweep_trades_honest_refusals_against_attack_time():
    days = [medical.clinic_day(20, n_clinicians=5, seed=k) for k in range(3)]
    sweep = medical.rate_limit_sweep(days, [1.0, 60.0], [1.0, 30.0], attack_queries=100)
    assert list(sweep.columns) == ["rate per hour", "burst", "honest refused", "refused",
                                   "honest requests", "single-key attack hours"]
    assert len(sweep) == 4 and (sweep["honest requests"] == sum(len(d) for d in days)).all()
    tight = sweep.iloc[0]
    loose = sweep.iloc[3]
    assert tight["refused"] > 0 and loose["refused"] == 0
    assert tight["honest refused"].value == tight["refused"] / tight["honest requests"]
    assert tight["single-key attack hours"] == pytest.approx(99.0)  # (100 - 1) / 1 per hour
    assert loose["single-key attack hours"] == pytest.approx(70 / 60)


@pytest.mark.parametrize("days, kwargs, err", [
    ([], {}, TypeError),
    ("day", {}, TypeError),
    ([object()], {}, TypeError),
    (None, {"rates": [0.0]}, ValueError),
    (None, {"bursts": [0.5]}, ValueError),
    (None, {"attack_queries": 0}, ValueError),
])
def test_rate_limit_sweep_rejects_bad_input(days, kwargs, err):
    days = [medical.clinic_day(5, n_clinicians=2, seed=0)] if days is None else days
    with pytest.raises(err):
        medical.rate_limit_sweep(days, kwargs.get("rates", [10.0]), kwargs.get("bursts", [5.0]),
                                 attack_queries=kwargs.get("attack_queries", 10))


# --- transports and the simulation --------------------------------------------------------------


def test_direct_transport_limits_detects_and_answers():
    clock = common.ManualClock(0.0)
    det = BoundaryShareDetector(lambda X: np.asarray(X)[:, 0], margin=0.5, window=5,
                                threshold=2, min_hits=2)
    tr = medical.DirectTransport(toy_proba, rate_per_s=1.0, burst=2, clock=clock, detector=det)
    far = np.array([3.0, 0.0, 0.0, 0.0])
    first = tr.send("a", far)
    assert first.status == 200 and first.label == 1 and first.proba is None
    assert tr.send("a", far).status == 200
    throttled = tr.send("a", far)
    assert throttled.status == 429 and throttled.retry_after == 1.0
    assert throttled.detail.startswith("rate limit")
    assert tr.send("b", far).status == 200  # another key, another bucket
    near = np.zeros(D)
    assert tr.send("c", near).status == 200
    refused = tr.send("c", near)
    assert refused.status == 429 and refused.detail == "query pattern refused"
    assert tr.requests == 6
    raw = medical.DirectTransport(toy_proba, raw_scores=True).send("z", far)
    assert raw.proba == pytest.approx(tuple(toy_proba(far[None])[0]))


def test_direct_transport_rejects_bad_settings():
    with pytest.raises(TypeError):
        medical.DirectTransport("not a model")
    with pytest.raises(ValueError):
        medical.DirectTransport(toy_proba, rate_per_s=1.0)
    with pytest.raises(ValueError):
        medical.DirectTransport(toy_proba, rate_per_s=1.0, burst=2)
    with pytest.raises(TypeError):
        medical.DirectTransport(toy_proba, detector=3)
    tr = medical.DirectTransport(toy_proba)
    with pytest.raises(ValueError):
        tr.send("a", np.zeros((2, D)))
    with pytest.raises(ValueError):
        tr.send("a", [np.nan] * D)
    with pytest.raises(TypeError):
        tr.send(3, np.zeros(D))
    with pytest.raises(ValueError):
        medical.DirectTransport(lambda X: np.zeros((1, 3))).send("a", np.zeros(D))


def clinic(n_clinicians=3, hours=2.0, seed=0):
    X = toy_pool(30, seed=5)
    day = medical.clinic_day(len(X), n_clinicians=n_clinicians, hours=hours, seed=seed)
    labels = toy_proba(X).argmax(axis=1)
    return medical.ClinicTraffic(day, [f"clinician-{c}" for c in range(n_clinicians)], X, labels)


def test_traffic_sim_plays_the_background_in_time_order():
    clock = common.ManualClock(0.0)
    background = clinic()
    sim = medical.TrafficSim(medical.DirectTransport(toy_proba), clock, background=background)
    middle = float(background.day.times[len(background.day) // 2])
    reply = sim.send("thief", np.zeros(D), at=middle + 0.5)
    assert reply.status == 200 and clock() == middle + 0.5
    frame = sim.frame()
    assert list(frame.columns) == ["time", "source", "who", "status", "label", "truth", "detail"]
    assert (frame["source"].iloc[:-1] == "honest").all() and frame["source"].iloc[-1] == "thief"
    assert (np.diff(frame["time"]) >= 0).all()
    assert "clinician" not in frame["who"].iloc[-1]
    sim.send("thief", np.zeros(D), at=0.0)  # a time in the past means now
    assert clock() == middle + 0.5
    sim.finish()
    assert clock() == background.day.times[-1]
    served = sim.honest_served()
    assert served.value == 1.0 and served.n == len(background.day)
    assert "requests" in repr(sim)


def test_traffic_sim_and_clinic_traffic_reject_bad_input():
    clock = common.ManualClock(0.0)
    with pytest.raises(TypeError):
        medical.TrafficSim(object(), clock)
    with pytest.raises(TypeError):
        medical.TrafficSim(medical.DirectTransport(toy_proba), lambda: 0.0)
    with pytest.raises(TypeError):
        medical.TrafficSim(medical.DirectTransport(toy_proba), clock, background="clinic")
    sim = medical.TrafficSim(medical.DirectTransport(toy_proba), clock)
    with pytest.raises(ValueError):
        sim.honest_served()  # no honest request yet
    with pytest.raises(ValueError):
        sim.run_until(float("inf"))
    good = clinic()
    with pytest.raises(ValueError):
        medical.ClinicTraffic(good.day, good.keys[:1], good.X, good.labels)
    with pytest.raises(ValueError):
        medical.ClinicTraffic(good.day, good.keys, good.X, good.labels[:3])
    with pytest.raises(ValueError):
        medical.ClinicTraffic(good.day, good.keys, good.X[:1], good.labels[:1])
    with pytest.raises(TypeError):
        medical.ClinicTraffic("day", good.keys, good.X, good.labels)


# --- the thief ----------------------------------------------------------------------------------


def test_thief_paces_its_keys_and_keeps_its_answers():
    clock = common.ManualClock(0.0)
    sim = medical.TrafficSim(medical.DirectTransport(toy_proba, rate_per_s=1 / 60, burst=1,
                                                     clock=clock), clock)
    thief = medical.ApiThief(sim, ["k1", "k2"], interval_s=60.0)
    answers = thief(toy_pool(6))
    assert answers.shape == (6, 2) and set(answers.sum(axis=1)) == {1.0}  # one-hot labels
    assert thief.queries == thief.requests == 6 and thief.throttled == 0
    assert thief.first_throttle is None
    assert thief.answered_times == [0.0, 0.0, 60.0, 60.0, 120.0, 120.0]
    assert thief.elapsed_s == 120.0
    spaced = medical.ApiThief(sim, ["k3", "k4", "k5"], spacing_s=10.0)
    spaced(toy_pool(3))
    assert np.diff(spaced.answered_times).tolist() == [10.0, 10.0]
    assert "3 queries answered" in repr(spaced)


def test_patient_thief_waits_out_429s_and_impatient_one_stops():
    clock = common.ManualClock(0.0)
    sim = medical.TrafficSim(medical.DirectTransport(toy_proba, rate_per_s=1 / 30, burst=3,
                                                     clock=clock), clock)
    patient = medical.ApiThief(sim, ["p"], patient=True)
    patient(toy_pool(6))
    assert patient.queries == 6 and patient.first_throttle == 3 and patient.throttled == 1
    assert patient.elapsed_s == pytest.approx(90.0)  # three refills of 30 s after the burst
    hasty = medical.ApiThief(sim, ["h"])
    with pytest.raises(medical.ThiefStopped) as stop:
        hasty(toy_pool(6))
    assert stop.value.answered == 3 and stop.value.reply.status == 429
    assert len(hasty.answered_X) == 3 and hasty.first_throttle == 3


def test_thief_runs_lab04_attacks_through_the_http_api(medical_served):
    clock = common.ManualClock(0.0)
    keys = common.KeyStore(0)
    data = medical_served.data
    pool = data.X_train[:200].astype(np.float64)
    weak = common.api_client(make_app(medical_served, common.SecurityConfig.weak(), clock, keys))
    sim = medical.TrafficSim(medical.HttpTransport(weak), clock)
    thief = medical.ApiThief(sim, [keys.issue("mallory", "user")])
    stolen = extraction.equation_solving_attack(thief, pool.mean(axis=0), pool.std(axis=0))
    assert thief.requests == 31
    assert extraction.parameter_error(medical_served.system, stolen.w, stolen.b) < 1e-3
    config = common.SecurityConfig.hardened().replace(rate_per_s=1 / 60, burst=5.0)
    hard = common.api_client(make_app(medical_served, config, clock, keys))
    sim = medical.TrafficSim(medical.HttpTransport(hard), clock)
    labels_only = medical.ApiThief(sim, [keys.issue("mallory-2", "user")], patient=True)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        extraction.equation_solving_attack(labels_only, pool.mean(axis=0), pool.std(axis=0))
    assert labels_only.first_throttle == 5 and labels_only.throttled == 1
    assert labels_only.elapsed_s == pytest.approx(26 * 60.0)  # 26 refills of a minute
    transport = medical.HttpTransport(hard)
    assert transport.send("mlk_not_a_key", pool[0]).status == 401
    with pytest.raises(TypeError):
        medical.HttpTransport(object())


def test_thief_rejects_bad_input():
    clock = common.ManualClock(0.0)
    sim = medical.TrafficSim(medical.DirectTransport(toy_proba), clock)
    with pytest.raises(TypeError):
        medical.ApiThief(object(), ["k"])
    with pytest.raises(TypeError):
        medical.ApiThief(sim, "k")
    with pytest.raises(TypeError):
        medical.ApiThief(sim, [])
    with pytest.raises(TypeError):
        medical.ApiThief(sim, ["k", ""])
    with pytest.raises(ValueError):
        medical.ApiThief(sim, ["k"], interval_s=-1.0)
    with pytest.raises(ValueError):
        medical.ApiThief(sim, ["k"], spacing_s=float("nan"))
    thief = medical.ApiThief(sim, ["k"])
    with pytest.raises(ValueError):
        thief(np.zeros((0, D)))
    with pytest.raises(ValueError):
        thief(np.zeros(D))
    assert thief.elapsed_s == 0.0


# --- the copy -----------------------------------------------------------------------------------


def test_fit_label_copy_recovers_the_boundary_and_handles_one_class():
    pool = toy_pool(300)
    labels = toy_proba(pool).argmax(axis=1)
    copy = medical.fit_label_copy(pool[:150], labels[:150], pool)
    assert (copy.predict(pool[150:]) == labels[150:]).mean() > 0.95
    assert copy.queries == 150 and copy.classes_seen == 2
    one = medical.fit_label_copy(pool[:3], [1, 1, 1], pool)
    assert one.classes_seen == 1 and (one.predict(pool) == 1).all()
    zero = medical.fit_label_copy(pool[:2], [0, 0], pool)
    assert (zero.predict(pool) == 0).all()
    clock = common.ManualClock(0.0)
    thief = medical.ApiThief(medical.TrafficSim(medical.DirectTransport(toy_proba), clock), ["k"])
    thief(pool[:40])
    assert thief.copy(pool).queries == 40
    with pytest.raises(ValueError):
        copy.predict(np.zeros((2, D + 1)))


@pytest.mark.parametrize("X, labels, err", [
    (np.zeros((0, D)), [], ValueError),
    (np.zeros((3, D)), [0, 1], ValueError),
    (np.zeros((2, D)), [0, 2], ValueError),
    (np.zeros((2, D + 1)), [0, 1], ValueError),
    ([[np.nan] * D, [0.0] * D], [0, 1], ValueError),
])
def test_fit_label_copy_rejects_bad_input(X, labels, err):
    with pytest.raises(err):
        medical.fit_label_copy(X, labels, toy_pool(20))


def test_keys_needed():
    assert medical.keys_needed(256, 12 / 3600, 1.0) == 22
    assert medical.keys_needed(24, 12 / 3600, 1.0) == 2
    assert medical.keys_needed(12, 12 / 3600, 1.0) == 1
    assert medical.keys_needed(1, 1.0, 1.0) == 1
    with pytest.raises(ValueError):
        medical.keys_needed(0, 1.0, 1.0)
    with pytest.raises(ValueError):
        medical.keys_needed(10, 0.0, 1.0)
    with pytest.raises(ValueError):
        medical.keys_needed(10, 1.0, -2.0)
    with pytest.raises(TypeError):
        medical.keys_needed(10.5, 1.0, 1.0)
