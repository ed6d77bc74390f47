"""Lab 13 medical: the diagnosis API's week, its monitors, the thief's campaign and copy."""

import numpy as np
import pandas as pd
import pytest

from mlsec_helpers import systems
from mlsec_helpers.data import load_dataset
from mlsec_helpers.monitoring import common
from mlsec_helpers.monitoring import medical as md
from mlsec_helpers.validate import ArgumentTypeError

THIEF = ("clinic-x/1", "clinic-x/2", "clinic-x/3")


@pytest.fixture(scope="module")
def data():
    return load_dataset("medical", seed=0)


@pytest.fixture(scope="module")
def system(data):
    return systems.DiagnosisModel().fit(data.X_train, data.y_train)


@pytest.fixture(scope="module")
def pool(data):
    return md.thief_pool(data, seed=0)


@pytest.fixture(scope="module")
def theft(system, pool):
    return md.record_line_search(system, pool[0], seed=0)


@pytest.fixture(scope="module")
def tampered(system, data):
    return md.tamper_threshold(system, data.X_train, data.y_train)


@pytest.fixture(scope="module")
def week(system, data, theft, tampered):
    campaign = md.pace_queries(theft.queries, start_hour=76, per_hour=8, keys=THIEF)
    return md.medical_week(system, data, seed=0, campaign=campaign, device_factor=1.3,
                           new_hospital_share=0.8,
                           deployments=[md.Deployment(132, "v2", tampered, False)])


@pytest.fixture(scope="module")
def monitors(data, week):
    return md.medical_monitors(data.X_train, week.reference_share)


# --- patients, the device, the thief's pool -----------------------------------------------------


def test_clinician_patients_are_new_non_negative_and_keep_the_diagnosis():
    X = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    y = np.array([0, 1, 1])
    X_new, y_new = md.clinician_patients(X, y, 500, seed=3)
    assert X_new.shape == (500, 2) and (X_new >= 0).all() and set(y_new) <= {0, 1}
    again, _ = md.clinician_patients(X, y, 500, seed=3)
    assert np.array_equal(X_new, again)
    exact, y_exact = md.clinician_patients(X, y, 50, seed=1, bandwidth=0.0)
    rows = [int(np.flatnonzero((X == r).all(axis=1))[0]) for r in exact]
    assert np.array_equal(y_exact, y[rows])
    X_only, none = md.clinician_patients(X, None, 4, seed=0)
    assert none is None and X_only.shape == (4, 2)


@pytest.mark.parametrize(("args", "words"), [
    ((np.zeros((0, 2)), None, 3), "empty"),
    ((np.ones((3, 2)), np.array([0, 1]), 3), "y"),
    ((np.ones((3, 2)), None, -1), "n must be"),
    ((np.ones(3), None, 2), "dimension"),
])
def test_clinician_patients_rejects_bad_input(args, words):
    with pytest.raises(ValueError, match=words):
        md.clinician_patients(*args)


def test_device_shift_scales_lengths_and_areas(data):
    X = data.X_test[:5].astype(float)
    names = list(data.feature_names)
    out = md.device_shift(X, names, 1.2)
    for j, name in enumerate(names):
        factor = (1.44 if "area" in name else 1.2) if name in md.DEVICE_FEATURES else 1.0
        assert np.allclose(out[:, j], X[:, j] * factor)
    assert np.array_equal(X, data.X_test[:5])  # the input is left alone


def test_device_shift_rejects_bad_input(data):
    names = list(data.feature_names)
    with pytest.raises(ValueError, match="names for"):
        md.device_shift(data.X_test[:2], names[:-1])
    with pytest.raises(ValueError, match="lacks the device"):
        md.device_shift(np.ones((2, 2)), ["a", "b"])
    with pytest.raises(ValueError, match="> 0"):
        md.device_shift(data.X_test[:2], names, 0.0)


def test_thief_pool_is_a_seeded_split(data):
    thief, rest = md.thief_pool(data, seed=1)
    assert thief.shape == (200, 30) and len(rest) == len(data.X_train) + len(data.X_test) - 200
    again, _ = md.thief_pool(data, seed=1)
    other, _ = md.thief_pool(data, seed=2)
    assert np.array_equal(thief, again) and not np.array_equal(thief, other)
    with pytest.raises(ValueError):
        md.thief_pool(data, size=1)


# --- the tampered model, the theft ----------------------------------------------------------------


def test_tamper_threshold_misses_cancers_and_adds_no_alarm(system, tampered, data):
    before = system.predict(data.X_test)
    after = tampered.predict(data.X_test)
    sick = data.y_test == 1
    assert (after[sick] == 1).mean() < (before[sick] == 1).mean() - 0.2
    assert not ((after == 1) & (before == 0)).any()
    assert np.array_equal(system.predict(data.X_test), before)  # the original is untouched


def test_tamper_threshold_rejects_a_non_linear_system(data):
    with pytest.raises(ArgumentTypeError, match="logistic"):
        md.tamper_threshold(object(), data.X_train, data.y_train)
    with pytest.raises(ValueError, match="share"):
        md.tamper_threshold(systems.DiagnosisModel().fit(data.X_train, data.y_train),
                            data.X_train, data.y_train, share=1.5)


def test_record_line_search_keeps_every_query_in_order(theft, pool):
    assert len(theft) == theft.result.queries == len(theft.queries)
    # round 1 starts with the labels of pool patients
    first = theft.queries[:20]
    assert all((pool[0] == row).all(axis=1).any() for row in first)


def test_pace_queries_schedules_in_order_with_cover():
    queries = np.arange(20, dtype=float).reshape(10, 2)
    cover = -np.arange(40, dtype=float).reshape(20, 2) - 1
    camp = md.pace_queries(queries, start_hour=50, per_hour=4, keys=THIEF, cover=cover,
                            cover_per_query=1.0)
    assert len(camp) == 20 and camp.is_cover.sum() == 10
    assert np.array_equal(camp.X[~camp.is_cover], queries)
    assert list(camp.hours[~camp.is_cover]) == [50] * 4 + [51] * 4 + [52] * 2
    assert camp.start_hour == 50 and camp.end_hour == 53 and camp.accounts == ("clinic-x",)
    assert list(camp.key_of[:4]) == ["clinic-x/1", "clinic-x/2", "clinic-x/3", "clinic-x/1"]
    slow = md.pace_queries(queries, start_hour=160, per_hour=0.5, keys=THIEF)
    assert list(slow.hours) == [160, 162, 164, 166]  # the week ends first


def test_pace_queries_avoid_radius_never_reuses_a_key_nearby():
    line = np.outer(np.linspace(0, 1, 12), np.ones(3))  # steps of 1/11 along a line
    keys = tuple(f"t/{k}" for k in range(12))
    camp = md.pace_queries(line, start_hour=50, per_hour=12, keys=keys, avoid_radius=0.5,
                            scale=np.ones(3))
    assert len(set(camp.key_of)) == 12  # each query within the radius of the last went elsewhere
    naive = md.pace_queries(line, start_hour=50, per_hour=12, keys=keys[:2])
    assert len(set(naive.key_of)) == 2


@pytest.mark.parametrize(("kwargs", "error", "words"), [
    ({"keys": ("nokey",)}, ValueError, "account/n"),
    ({"keys": ("a/1", "a/1")}, ValueError, "distinct"),
    ({"keys": "a/1"}, ArgumentTypeError, "sequence"),
    ({"per_hour": 0}, ValueError, "> 0"),
    ({"cover_per_query": 1.0}, ValueError, "cover patients"),
    ({"start_hour": 170}, ValueError, "end_hour"),
    ({"scale": np.ones(5), "avoid_radius": 0.1}, ValueError, "one spread"),
])
def test_pace_queries_rejects_bad_input(kwargs, error, words):
    args = {"start_hour": 50, "per_hour": 1.0, "keys": THIEF} | kwargs
    with pytest.raises(error, match=words):
        md.pace_queries(np.ones((4, 3)), **args)


# --- the week -----------------------------------------------------------------------------------


def test_the_week_holds_its_incidents_and_the_thief_in_order(week, theft):
    assert len(week.week) == common.HOURS
    kinds = {i.name: (i.kind, i.start_hour, i.end_hour) for i in week.week.incidents}
    assert kinds == {"new hospital's device": ("drift", 56, 72),
                     "extraction campaign": ("attack", 76, 108),
                     "tampered model update": ("attack", 132, 168)}
    rows = week.rows_of("clinic-x")
    assert np.array_equal(week.X[rows], theft.queries)
    assert week.log["y_true"].iloc[rows].isna().all()
    assert set(week.log.loc[week.log["hour"] < 132, "version"]) == {"v1"}
    assert set(week.log.loc[week.log["hour"] >= 132, "version"]) == {"v2"}
    w = week.week.windows[140]
    assert not w.meta["verified"] and week.week.windows[100].meta["verified"]
    assert w.meta["is_attack"].sum() == 0 and week.week.windows[80].meta["is_attack"].any()


def test_the_week_is_seeded_and_the_honest_traffic_does_not_depend_on_the_thief(
        system, data, week):
    plain = md.medical_week(system, data, seed=0, device_factor=1.3, new_hospital_share=0.8)
    honest = week.log[week.log["account"] != "clinic-x"]
    assert len(plain.log) == len(honest)
    assert np.array_equal(np.sort(plain.X, axis=0), np.sort(week.X[honest.index], axis=0))
    again = md.medical_week(system, data, seed=0, device_factor=1.3, new_hospital_share=0.8)
    assert np.array_equal(again.X, plain.X)
    other = md.medical_week(system, data, seed=1, device_factor=1.3, new_hospital_share=0.8)
    assert len(other.log) != len(plain.log) or not np.array_equal(other.X, plain.X)


def test_biopsy_results_arrive_a_day_later(week):
    w = week.week.windows[30]
    source = week.week.windows[30 - md.LABEL_DELAY_HOURS]
    assert np.array_equal(w.meta["feedback_true"], source.y_true.astype(int))
    assert len(week.week.windows[10].meta["feedback_true"]) == 0


def test_the_device_drift_scales_the_new_hospital_only_while_miscalibrated(system, data):
    mw = md.medical_week(system, data, seed=0, device_factor=2.0, new_hospital_share=1.0)
    area = list(data.feature_names).index("mean area")
    log = mw.log
    during = mw.X[(log["source"] == "new hospital").to_numpy() & (log["hour"] < 72).to_numpy()]
    after = mw.X[(log["source"] == "new hospital").to_numpy() & (log["hour"] >= 72).to_numpy()]
    assert np.median(during[:, area]) > 2.5 * np.median(after[:, area])


def test_medical_week_rejects_bad_input(system, data, theft):
    early = md.pace_queries(theft.queries, start_hour=10, per_hour=8, keys=THIEF)
    with pytest.raises(ValueError, match="benign"):
        md.medical_week(system, data, campaign=early)
    with pytest.raises(ValueError, match="benign"):
        md.medical_week(system, data, deployments=[md.Deployment(20, "v2", system, True)])
    with pytest.raises(ArgumentTypeError, match="Campaign"):
        md.medical_week(system, data, campaign=theft.queries)
    with pytest.raises(ArgumentTypeError, match="predict_proba"):
        md.medical_week(object(), data)
    with pytest.raises(ValueError, match="recalibrated_hour"):
        md.medical_week(system, data, drift_hour=60, recalibrated_hour=60)
    with pytest.raises(ArgumentTypeError, match="bool"):
        md.Deployment(60, "v2", system, 1)


# --- monitors -----------------------------------------------------------------------------------


def test_ks_pvalues_match_scipy_asymptotic():
    from scipy.stats import ks_2samp

    gen = np.random.default_rng(0)
    A, B = gen.normal(size=(400, 6)), gen.normal(size=(50, 6)) * 1.3 + 0.2
    mine = md.ks_pvalues(A, B)
    theirs = np.array([ks_2samp(A[:, j], B[:, j], method="asymp").pvalue for j in range(6)])
    assert np.allclose(mine, theirs, atol=0.02)
    assert np.allclose(md.ks_pvalues(np.sort(A, axis=0), B, presorted=True), mine)
    with pytest.raises(ValueError, match="columns"):
        md.ks_pvalues(A, B[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        md.ks_pvalues(A, np.full((3, 6), np.nan))


def test_monitors_see_each_incident(week, monitors):
    frame = common.run_monitors(week.week, monitors)
    assert list(frame.columns) == ["input drift", "malignant share", md.MISSED_CANCERS,
                                   "near-boundary share", "near-duplicates",
                                   "model integrity"]
    assert frame.loc[:23, md.MISSED_CANCERS].isna().all()  # no biopsy result yet
    assert (frame.loc[:75, "near-duplicates"] == 0).all()  # clinicians never repeat
    assert (frame.loc[76:107, "near-duplicates"] > 0).sum() >= 20  # the line search does
    assert (frame.loc[:131, "model integrity"] == 0).all()
    assert (frame.loc[132:, "model integrity"] == 1).all()
    assert frame.loc[56:71, "input drift"].median() > frame.loc[:47, "input drift"].median()
    kinds = {m.name: m.kind for m in monitors}
    assert kinds["near-duplicates"] == "attack" and kinds["near-boundary share"] == "prediction"


def test_calibration_resamples_the_biopsy_results(week, monitors):
    cal = md.medical_calibration(week, monitors, 60, seed=0)
    assert cal.shape == (60, len(monitors))
    assert cal[md.MISSED_CANCERS].nunique() > 3  # not one hour's results copied 60 times
    report = common.monitor_week(week.week, monitors, 0.01, calibration=cal,
                                 method="conformal", min_hours=2)
    assert report.all_detected
    assert report.verdicts["new hospital's device"].label == "drift"
    assert report.verdicts["extraction campaign"].label == "attack"
    with pytest.raises(ArgumentTypeError, match="MedicalWeek"):
        md.medical_calibration(week.week, monitors)


def test_medical_monitors_reject_bad_input(data):
    with pytest.raises(ValueError, match="reference_share"):
        md.medical_monitors(data.X_train, 1.5)
    with pytest.raises(ValueError, match="margin"):
        md.medical_monitors(data.X_train, 0.3, margin=0)
    with pytest.raises(ValueError, match="dimension"):
        md.medical_monitors(data.X_train[:, 0], 0.3)


# --- what the thief got, whom to suspect --------------------------------------------------------


def test_the_copy_grows_with_the_answers(week, system, pool):
    full = md.thief_copy(week, "clinic-x", pool[0])
    early = md.thief_copy(week, "clinic-x", pool[0], until_hour=77)
    assert full.n_queries == 256 and early.n_queries == 16
    assert md.copy_fidelity(full, system, pool[1]).value >= 0.97
    fid = md.copy_fidelity(early, system, pool[1], on="held-out patients")
    assert fid.on == "held-out patients" and fid.n == len(pool[1])
    with pytest.raises(ValueError, match="sent no query"):
        md.thief_copy(week, "clinic-x", pool[0], until_hour=50)
    with pytest.raises(ValueError, match="sent no query"):
        md.thief_copy(week, "nobody", pool[0])


def test_fit_copy_with_one_label_answers_that_label():
    X = np.ones((4, 3))
    copy = md.fit_copy(X, np.ones(4, dtype=int), X)
    assert (copy.predict(np.zeros((2, 3))) == 1).all()
    with pytest.raises(ValueError, match="empty"):
        md.fit_copy(np.zeros((0, 3)), np.zeros(0, dtype=int), X)
    with pytest.raises(ValueError, match="columns"):
        md.fit_copy(X, np.ones(4, dtype=int), np.ones((4, 2)))
    with pytest.raises(ArgumentTypeError, match="predict"):
        md.copy_fidelity(object(), object(), X)


def test_suspect_keys_name_the_thief_not_the_clinicians(week):
    suspects = md.suspect_keys(week, 82)
    assert isinstance(suspects, pd.DataFrame)
    flagged = suspects[suspects["suspect"]]
    assert set(flagged["account"]) == {"clinic-x"} and len(flagged) == 3
    assert not md.suspect_keys(week, 60)["suspect"].any()
    with pytest.raises(ValueError, match="until_hour"):
        md.suspect_keys(week, 200)
    with pytest.raises(ValueError, match="min_share"):
        md.suspect_keys(week, 80, min_share=2.0)
