"""Lab 13 (Monitoring and response), fraud section: the week, late chargebacks, the monitors,
the evasion wave and the paced attacker, on a small simulated bank."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp
from sklearn.ensemble import HistGradientBoostingClassifier

from mlsec_helpers import fraud_sim, systems
from mlsec_helpers.monitoring import common
from mlsec_helpers.monitoring import fraud as fm
from mlsec_helpers.stats import Rate
from mlsec_helpers.validate import ArgumentTypeError, NotFittedError


@pytest.fixture(scope="module")
def world():
    """A small bank (300 cards) for training, another for the week, and a quick scorer."""
    train_frame = fraud_sim.simulate_transactions(300, 400, 60, seed=3)
    train = train_frame[train_frame["day"] < 45].reset_index(drop=True)
    X, y = fraud_sim.feature_matrix(train)
    data = SimpleNamespace(X_train=X, y_train=y, frame_train=train)
    system = systems.SklearnSystem(
        HistGradientBoostingClassifier(max_iter=40, random_state=0), domain="fraud").fit(X, y)
    threshold = fm.alert_threshold(system, data)
    frame = fraud_sim.simulate_transactions(300, 400, 60, seed=4)
    traffic = fm.add_holiday(fm.bank_traffic(0, frame=frame), seed=0)
    return SimpleNamespace(data=data, system=system, threshold=threshold, frame=frame,
                           traffic=traffic)


@pytest.fixture(scope="module")
def wave(world):
    raw = fm.takeover_frauds(world.traffic, 8, seed=0)
    return fm.shape_frauds(world.system, world.traffic, raw, world.threshold, query_budget=20,
                           seed=0)


@pytest.fixture(scope="module")
def weeks(world, wave):
    ref = fm.fraud_reference(world.system, world.data, world.threshold, max_rows=300)
    monitors = fm.fraud_monitors(ref, min_rows_psi=30)  # a small bank: fewer rows an hour
    start = int(fm.transaction_hours(wave.rows["timestamp"]).min())
    incidents = (common.Incident("holiday", "drift", 48, 96),
                 common.Incident("wave", "attack", start, common.HOURS))
    base = fm.fraud_week(world.system, world.threshold, world.traffic,
                         incidents=incidents[:1])
    attacked = fm.fraud_week(world.system, world.threshold, world.traffic, [wave.rows],
                             incidents=incidents)
    return SimpleNamespace(ref=ref, monitors=monitors, base=base, attacked=attacked,
                           incidents=incidents, start=start)


# --- the threshold, the traffic, the incidents ------------------------------------------------


def test_alert_threshold_flags_about_one_percent(world):
    scores = world.system.predict_proba(world.data.X_train)[:, 1]
    legit = scores[world.data.y_train == 0]
    assert np.mean(legit >= world.threshold) == pytest.approx(0.01, abs=0.005)
    assert fm.alert_threshold(world.system, world.data, 0.05) < world.threshold


def test_alert_threshold_refuses_bad_input(world):
    with pytest.raises(ArgumentTypeError):
        fm.alert_threshold(world.system, world.data.X_train)
    with pytest.raises(ValueError):
        fm.alert_threshold(world.system, world.data, 1.5)
    unfitted = systems.SklearnSystem(HistGradientBoostingClassifier(), domain="fraud")
    with pytest.raises(NotFittedError):
        fm.alert_threshold(unfitted, world.data)


def test_week_traffic_and_label_delays(world):
    t = fm.bank_traffic(0, frame=world.frame)
    assert list(t.columns[-3:]) == ["origin", "attack_id", "chargeback_delay"]
    hours = fm.transaction_hours(t["timestamp"])
    assert hours.max() == common.HOURS - 1 and hours.min() < -20 * 24
    delay = t["chargeback_delay"].to_numpy()
    known = delay[~np.isnan(delay)]
    low, high = fm.CHARGEBACK_DELAY_HOURS
    assert known.min() >= low and known.max() <= high
    assert np.isnan(delay).mean() == pytest.approx(fm.NEVER_CHARGED_BACK, abs=0.02)
    again = fm.bank_traffic(0, frame=world.frame)
    assert np.array_equal(np.nan_to_num(delay), np.nan_to_num(again["chargeback_delay"]))
    with pytest.raises(ValueError, match="must cover"):
        fm.bank_traffic(0, frame=world.frame[world.frame["day"] < 40])
    with pytest.raises(ValueError):
        fm.bank_traffic(-1, frame=world.frame)


def test_transaction_hours():
    start = fraud_sim.START + pd.Timedelta(days=fm.FRAUD_WEEK_START_DAY)
    stamps = [start, start + pd.Timedelta(minutes=90), start - pd.Timedelta(minutes=1)]
    assert list(fm.transaction_hours(stamps)) == [0, 1, -1]
    with pytest.raises(ArgumentTypeError):
        fm.transaction_hours(["not a time"])


def test_holiday_adds_larger_purchases_on_its_day(world):
    plain = fm.bank_traffic(0, frame=world.frame)
    hol = world.traffic
    day = fm.transaction_hours(hol["timestamp"]) // 24 == fm.FRAUD_HOLIDAY_DAY - 1
    plain_day = fm.transaction_hours(plain["timestamp"]) // 24 == fm.FRAUD_HOLIDAY_DAY - 1
    assert day.sum() == pytest.approx(1.6 * plain_day.sum(), rel=0.02)
    assert hol.loc[day, "amount"].mean() > 1.2 * plain.loc[plain_day, "amount"].mean()
    assert (hol.loc[hol["origin"] == "holiday", fraud_sim.TARGET] == 0).all()
    assert hol.loc[~day].drop(columns="origin").shape[0] == (~plain_day).sum()
    with pytest.raises(ValueError):
        fm.add_holiday(plain, day=8)
    with pytest.raises(ValueError, match="low <= high"):
        fm.add_holiday(plain, amount_factor=(2.0, 1.0))
    with pytest.raises(ValueError, match="lacks"):
        fm.add_holiday(plain.drop(columns="origin"))


def test_takeover_frauds(world):
    raw = fm.takeover_frauds(world.traffic, 10, days=(4,), seed=1)
    assert len(raw) == 10 and raw["customer_id"].is_unique
    assert (raw["is_online"] == 1).all() and (raw["fraud_scenario"] == 3).all()
    hours = fm.transaction_hours(raw["timestamp"])
    assert ((hours // 24) == 3).all() and ((hours % 24) < 6).all()
    assert list(raw["attack_id"]) == list(range(10)) and (raw["origin"] == "wave").all()
    with pytest.raises(ValueError, match="enough history"):
        fm.takeover_frauds(world.traffic, 10_000)
    with pytest.raises(ValueError, match="origin"):
        fm.takeover_frauds(world.traffic, 3, origin="holiday")
    with pytest.raises(ValueError):
        fm.takeover_frauds(world.traffic, 0)


def test_shape_frauds_makes_legal_evasions(world, wave):
    plan = wave.plan
    assert len(plan) == 8 and set(plan["attack_id"]) == set(range(8))
    assert plan["valid"].all() and 0 <= wave.evasion_rate <= 1
    assert set(wave.rows["attack_id"]) == set(range(8))
    assert (wave.rows[fraud_sim.TARGET] == 1).all()
    assert len(wave.rows) == plan["parts"].sum()
    legit = world.traffic[world.traffic[fraud_sim.TARGET] == 0].head(2)
    with pytest.raises(ValueError, match="must be frauds"):
        fm.shape_frauds(world.system, world.traffic, legit, world.threshold)
    with pytest.raises(ValueError):
        fm.shape_frauds(world.system, world.traffic, wave.raw, 1.0)


# --- the week -----------------------------------------------------------------------------


def test_adding_rows_gives_the_features_of_a_full_derivation(world, wave):
    base = fm._derived(world.traffic)
    quick = fm._with_rows(base, wave.rows)
    full = pd.concat([world.traffic[list(fm._KEEP)], wave.rows[list(fm._KEEP)]],
                     ignore_index=True).sort_values("timestamp", kind="stable")
    full = fraud_sim.derive_features(full.reset_index(drop=True))
    cols = list(fraud_sim.FEATURES)
    assert np.array_equal(quick["timestamp"].to_numpy(), full["timestamp"].to_numpy())
    assert np.allclose(quick[cols].to_numpy(float), full[cols].to_numpy(float), atol=1e-6)


def test_fraud_week(world, wave, weeks):
    fw = weeks.attacked
    assert len(fw.week) == common.HOURS and fw.week.domain == "fraud"
    tx = fw.transactions
    in_week = tx[tx["week_hour"] >= 0]
    assert sum(len(w) for w in fw.week.windows) == len(in_week)
    assert (tx["alerted"] == (tx["score"] >= world.threshold)).all()
    frauds = fw.ledger
    assert (frauds[fraud_sim.TARGET] == 1).all() and frauds["week_hour"].min() < -20 * 24
    cb = frauds["chargeback_hour"] - np.floor(frauds["week_hour"] + frauds["chargeback_delay"])
    assert np.nanmax(np.abs(cb)) == 0
    w = fw.week.windows[130]
    assert len(w.meta["scores"]) == len(w) == len(w.meta["is_attack"])
    assert len(w.meta["recent_features"]) == len(w.meta["recent_scores"])
    assert w.meta["recent_features"].shape[1] == len(fm.FRAUD_MONITORED_FEATURES)
    assert sum(w.meta["is_attack"].sum() for w in fw.week.windows) == len(wave.rows)
    assert sum(w.meta["is_attack"].sum() for w in weeks.base.week.windows) == 0
    with pytest.raises(ValueError, match="not frauds"):
        fm.fraud_week(world.system, world.threshold, world.traffic,
                      [world.traffic.head(3)])
    with pytest.raises(ValueError):
        fm.fraud_week(world.system, 0.0, world.traffic)


def test_repeat_flags_mark_the_third_payment_within_two_hours():
    t0 = pd.Timestamp("2026-02-01")
    frame = pd.DataFrame({
        "timestamp": [t0, t0 + pd.Timedelta(minutes=30), t0 + pd.Timedelta(minutes=60),
                      t0 + pd.Timedelta(hours=5), t0 + pd.Timedelta(minutes=40)],
        "customer_id": [1, 1, 1, 1, 2], "terminal_id": [7, 7, 7, 7, 7]})
    assert list(fm._repeat_flags(frame)) == [False, False, True, False, False]


# --- statistics and monitors ----------------------------------------------------------------


def test_reference_psi_and_ks_match_the_shared_statistics(weeks):
    ref = weeks.ref
    rng = np.random.default_rng(0)
    current = ref.features[14][rng.integers(0, len(ref.features[14]), 200)] * 1.1
    psi = ref.feature_psi(14, current)
    expected = [common.psi(ref.features[14][:, j], current[:, j])
                for j in range(current.shape[1])]
    assert np.allclose(psi, expected)
    assert ref.score_psi(14, ref.scores[14]) == pytest.approx(0.0, abs=1e-12)
    table = ref.feature_ks(14, current)
    for j, row in table.iterrows():
        scipy = ks_2samp(ref.features[14][:, j], current[:, j], method="asymp")
        assert row["statistic"] == pytest.approx(scipy.statistic)
        assert row["p_value"] == pytest.approx(scipy.pvalue, abs=0.02)
    assert (table["p_adjusted"] >= table["p_value"]).all()


def test_fraud_reference_refuses_bad_input(world):
    with pytest.raises(ArgumentTypeError):
        fm.fraud_reference(world.system, world.data.X_train, world.threshold)
    with pytest.raises(ValueError):
        fm.fraud_reference(world.system, world.data, world.threshold, recent_hours=25)
    with pytest.raises(ValueError, match="too few"):
        fm.fraud_reference(world.system, world.data, world.threshold, first_day=100)


def test_missed_share_and_series():
    ledger = pd.DataFrame({"week_hour": [0, 1, 2, 3, 4, 5],
                           "chargeback_hour": [30, 31, np.nan, 40, 41, 42],
                           "alerted": [True, False, False, False, True, False]})
    assert fm.missed_fraud_share(ledger, 45, window_hours=24, count=True) == 3
    assert fm.missed_fraud_share(ledger, 45, window_hours=24, min_labels=5) == pytest.approx(3 / 5)
    assert np.isnan(fm.missed_fraud_share(ledger, 45, window_hours=24, min_labels=6))
    assert fm.missed_fraud_share(ledger, 5, oracle=True, min_labels=1) == pytest.approx(4 / 6)
    series = fm.missed_fraud_series(ledger, count=True, window_hours=24, hours=range(28, 46))
    assert series.loc[31] == 1 and series.loc[45] == 3 and series.index.name == "hour"
    with pytest.raises(ValueError, match="lacks"):
        fm.missed_fraud_share(ledger.drop(columns="alerted"), 10)
    with pytest.raises(ValueError):
        fm.missed_fraud_series(ledger, window_hours=0)


def test_fraud_monitors(weeks):
    monitors = weeks.monitors
    assert [m.name for m in monitors][-1] == fm.MISSED_FRAUDS
    kinds = {m.name: m.kind for m in monitors}
    assert kinds["repeat payments"] == "attack" and kinds[fm.MISSED_FRAUDS] == "performance"
    frame = common.run_monitors(weeks.attacked.week, monitors)
    base = common.run_monitors(weeks.base.week, monitors)
    assert frame.shape == (common.HOURS, len(monitors))
    assert frame.loc[:weeks.start - 1].equals(base.loc[:weeks.start - 1])
    sizes = np.array([len(w.meta["recent_scores"]) for w in weeks.attacked.week.windows])
    assert np.array_equal(frame["feature PSI"].isna().to_numpy(), sizes < 30)
    assert np.array_equal(frame["feature KS"].isna().to_numpy(), sizes < 20)
    assert frame["repeat payments"].max() >= base["repeat payments"].max()
    series = fm.missed_fraud_series(weeks.attacked.ledger, count=True)
    assert np.array_equal(frame[fm.MISSED_FRAUDS].to_numpy(), series.to_numpy())
    with pytest.raises(ArgumentTypeError):
        fm.fraud_monitors("reference")
    bare = common.Window(0, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="meta"):
        monitors[0](bare)


def test_calibration_error_stream_and_history(weeks):
    cal = fm.fraud_calibration(weeks.base, weeks.monitors, 40, seed=0)
    assert cal.shape == (40, len(weeks.monitors)) and cal.index.name == "window"
    history = fm.chargeback_history(weeks.base)
    assert history.index[0] == -fm.CHARGEBACK_HISTORY_HOURS and history.index[-1] == 47
    assert set(cal[fm.MISSED_FRAUDS]) <= set(history)
    again = fm.fraud_calibration(weeks.base, weeks.monitors, 40, seed=0)
    assert cal.equals(again)
    late = fm.fraud_error_stream(weeks.attacked)
    oracle = fm.fraud_error_stream(weeks.attacked, oracle=True)
    assert set(late.unique()) <= {0.0, 1.0} and late.index.is_monotonic_increasing
    assert len(oracle) > len(late)
    assert all(h in set(late.index) for h in common.stream_changes(late, "DDM"))
    with pytest.raises(ArgumentTypeError):
        fm.fraud_calibration(weeks.base.week, weeks.monitors)
    with pytest.raises(ValueError):
        fm.chargeback_history(weeks.base, history_hours=10_000)
    with pytest.raises(ArgumentTypeError):
        fm.fraud_error_stream(weeks.base.week)


# --- damage, response, the paced attacker ---------------------------------------------------


def test_passed_unalerted_and_response(weeks, wave):
    passed = fm.frauds_passed(weeks.attacked, "wave")
    assert len(passed) == len(wave.plan)
    assert passed["parts"].sum() == len(wave.rows)
    early = fm.frauds_passed(weeks.attacked, "wave", until_hour=weeks.start - 1)
    assert not early["passed"].any()
    with pytest.raises(ValueError):
        fm.frauds_passed(weeks.attacked, "holiday")
    alerts = pd.DataFrame({"hour": [100, 125, 130], "monitor": ["volume", "volume",
                                                                 "repeat payments"]})
    assert fm.fraud_response_hour(alerts, weeks.monitors) == 130
    assert fm.fraud_response_hour(alerts, weeks.monitors, kinds=("input",)) == 100
    assert fm.fraud_response_hour(alerts, weeks.monitors, after=131) is None
    with pytest.raises(ArgumentTypeError):
        fm.fraud_response_hour([100], weeks.monitors)
    with pytest.raises(ValueError):
        fm.fraud_response_hour(alerts, weeks.monitors, kinds=("weird",))


def test_paced_attack(world, weeks):
    raw = fm.takeover_frauds(world.traffic, 8, days=(3, 4, 5, 6), origin="paced", seed=2)
    pool = fm.shape_frauds(world.system, world.traffic, raw, world.threshold, max_parts=1,
                           query_budget=20, seed=0)
    base = common.run_monitors(weeks.base.week, weeks.monitors)
    thresholds = common.calibrate_frame(base, common.BENIGN_HOURS, 0.01)
    result = fm.paced_frauds(world.system, world.threshold, world.traffic, pool, (1, 2),
                             weeks.monitors, thresholds, base)
    assert isinstance(result, fm.PacedFrauds) and isinstance(result.success, Rate)
    assert list(result.table["frauds"]) == [4, 8]
    assert result.pace in (1.0, 2.0) and result.success.n == len(result.passed)
    best = result.table.loc[result.table["pace"] == result.pace].iloc[0]
    assert result.money == pytest.approx(best["money"])
    assert (result.table["money"] <= result.table["money_no_response"] + 1e-9).all()
    with pytest.raises(ValueError, match="pool holds"):
        fm.paced_frauds(world.system, world.threshold, world.traffic, pool, (5,),
                        weeks.monitors, thresholds, base)
    with pytest.raises(ArgumentTypeError):
        fm.paced_frauds(world.system, world.threshold, world.traffic, raw, (1,),
                        weeks.monitors, thresholds, base)
    with pytest.raises(ValueError):
        fm.paced_frauds(world.system, world.threshold, world.traffic, pool, (),
                        weeks.monitors, thresholds, base)
