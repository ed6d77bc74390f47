"""Lab 13's exercise checks, beyond what tests/test_exercise_checks.py runs for every exercise.

A mutant suite: for each exercise, plausible wrong answers that are NOT among its known
mistakes (the check and the grading must reject every one), and correct answers written
differently from the reference (both must accept every one). Then the challenge's week.
"""

import hashlib
import math

import numpy as np
import pytest
from mutants import assert_enough_mutants, mutant_tests
from scipy.stats import ks_2samp

from mlsec_helpers.checks import lab13
from mlsec_helpers.exercises import run_check

FLOOR = lab13.PSI_FLOOR

# --- exercise 1: psi ------------------------------------------------------------------------------


def _shares(reference, current, bins, *, side="left", unique=True):
    ref, cur = np.asarray(reference, float), np.asarray(current, float)
    edges = np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1])
    edges = np.unique(edges) if unique else edges
    r = np.bincount(np.searchsorted(edges, ref, side=side), minlength=len(edges) + 1) / len(ref)
    c = np.bincount(np.searchsorted(edges, cur, side=side), minlength=len(edges) + 1) / len(cur)
    return r, c


def ps_no_unique(reference, current, bins=10):  # repeated edges kept: empty in both, adds 0
    r, c = _shares(reference, current, bins, unique=False)
    r, c = np.maximum(r, FLOOR), np.maximum(c, FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def ps_swapped(reference, current, bins=10):  # the samples' roles swapped
    return ps_loop(current, reference, bins)


def ps_floor_big(reference, current, bins=10):  # a floor of 1%
    r, c = _shares(reference, current, bins)
    r, c = np.maximum(r, 0.01), np.maximum(c, 0.01)
    return float(np.sum((c - r) * np.log(c / r)))


def ps_add_floor(reference, current, bins=10):  # adds the floor to every share
    r, c = _shares(reference, current, bins)
    r, c = r + FLOOR, c + FLOOR
    return float(np.sum((c - r) * np.log(c / r)))


def ps_abs_diff(reference, current, bins=10):  # total variation, not PSI
    r, c = _shares(reference, current, bins)
    return float(np.abs(c - r).sum())


def ps_bins_plus_one(reference, current, bins=10):  # one bin more
    r, c = _shares(reference, current, bins + 1)
    r, c = np.maximum(r, FLOOR), np.maximum(c, FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def ps_histogram_range(reference, current, bins=10):  # closed outer bins: outliers dropped
    ref, cur = np.asarray(reference, float), np.asarray(current, float)
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)))
    r = np.histogram(ref, edges)[0] / len(ref)
    c = np.histogram(cur, edges)[0] / len(cur)
    r, c = np.maximum(r, FLOOR), np.maximum(c, FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def ps_squared(reference, current, bins=10):  # squared differences
    r, c = _shares(reference, current, bins)
    r, c = np.maximum(r, FLOOR), np.maximum(c, FLOOR)
    return float(np.sum((c - r) ** 2 / r))


def ps_floor_after_log(reference, current, bins=10):  # floors only the ratio's zeros
    r, c = _shares(reference, current, bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (c - r) * np.log(np.where(c > 0, c, FLOOR) / np.where(r > 0, r, FLOOR))
    return float(np.nansum(terms))


def ps_loop(reference, current, bins=10):
    ref, cur = sorted(map(float, reference)), [float(v) for v in current]
    edges = sorted(set(np.quantile(ref, [k / bins for k in range(1, bins)]).tolist()))

    def counts(values):
        out = [0] * (len(edges) + 1)
        for v in values:
            out[sum(1 for e in edges if v > e)] += 1
        return [max(n / len(values), FLOOR) for n in out]

    return float(sum((c - r) * math.log(c / r) for r, c in zip(counts(ref), counts(cur),
                                                               strict=True)))


def ps_digitize(reference, current, bins=10):
    ref, cur = np.asarray(reference, float), np.asarray(current, float)
    edges = np.unique(np.percentile(ref, np.arange(1, bins) * 100 / bins))
    r = np.bincount(np.digitize(ref, edges, right=True), minlength=len(edges) + 1) / ref.size
    c = np.bincount(np.digitize(cur, edges, right=True), minlength=len(edges) + 1) / cur.size
    r, c = np.clip(r, FLOOR, None), np.clip(c, FLOOR, None)
    return float(((c - r) * np.log(c / r)).sum())


def ps_pandas(reference, current, bins=10):
    import pandas as pd

    ref = pd.Series(np.asarray(reference, float))
    edges = np.unique(ref.quantile(np.linspace(0, 1, bins + 1)[1:-1]).to_numpy())
    full = np.concatenate([[-np.inf], edges, [np.inf]])
    r = pd.cut(ref, full, right=True).value_counts(normalize=True, sort=False).to_numpy()
    c = pd.cut(pd.Series(np.asarray(current, float)), full, right=True).value_counts(
        normalize=True, sort=False).to_numpy()
    r, c = np.maximum(r, FLOOR), np.maximum(c, FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def ps_symmetric_kl(reference, current, bins=10):  # PSI is the symmetrised KL divergence
    r, c = _shares(reference, current, bins)
    r, c = np.maximum(r, FLOOR), np.maximum(c, FLOOR)
    return float(np.sum(c * np.log(c / r)) + np.sum(r * np.log(r / c)))


# --- exercise 2: ks_alarms ------------------------------------------------------------------------


def _ka_check(benign, rate):
    if not 0 < rate < 1 or len(benign) == 0:
        raise ValueError("bad")


def _stats(reference, windows):
    return [ks_2samp(reference, w).statistic for w in windows]


def ka_median(reference, benign, current, false_alarm_rate):  # the benign median as threshold
    _ka_check(benign, false_alarm_rate)
    threshold = float(np.median(_stats(reference, benign)))
    return [s > threshold for s in _stats(reference, current)]


def ka_increasing(reference, benign, current, false_alarm_rate):  # increasing order
    _ka_check(benign, false_alarm_rate)
    calib = sorted(_stats(reference, benign))
    threshold = calib[math.floor(false_alarm_rate * len(calib))]
    return [s > threshold for s in _stats(reference, current)]


def ka_ceil(reference, benign, current, false_alarm_rate):  # ceil instead of floor
    _ka_check(benign, false_alarm_rate)
    calib = sorted(_stats(reference, benign), reverse=True)
    threshold = calib[min(math.ceil(false_alarm_rate * len(calib)), len(calib) - 1)]
    return [s > threshold for s in _stats(reference, current)]


def ka_mean_sd(reference, benign, current, false_alarm_rate):  # mean + 3 sd
    _ka_check(benign, false_alarm_rate)
    calib = np.array(_stats(reference, benign))
    threshold = calib.mean() + 3 * calib.std()
    return [s > threshold for s in _stats(reference, current)]


def ka_benign_reference(reference, benign, current, false_alarm_rate):  # pooled benign reference
    _ka_check(benign, false_alarm_rate)
    pooled = np.concatenate(benign)
    calib = sorted(_stats(pooled, benign), reverse=True)
    threshold = calib[math.floor(false_alarm_rate * len(calib) + 1e-9)]
    return [s > threshold for s in _stats(pooled, current)]


def ka_no_validation(reference, benign, current, false_alarm_rate):  # accepts a budget of 0
    if len(benign) == 0:
        raise ValueError("no benign")
    calib = sorted(_stats(reference, benign), reverse=True)
    threshold = calib[min(math.floor(false_alarm_rate * len(calib) + 1e-9), len(calib) - 1)]
    return [s > threshold for s in _stats(reference, current)]


def ka_all_alarm(reference, benign, current, false_alarm_rate):
    _ka_check(benign, false_alarm_rate)
    return [True] * len(current)


def ka_pvalue_calibrated(reference, benign, current, false_alarm_rate):  # p-values, 1 - rate
    _ka_check(benign, false_alarm_rate)
    calib = sorted(ks_2samp(reference, w).pvalue for w in benign)
    threshold = calib[min(math.floor(false_alarm_rate * len(calib)) + 1, len(calib) - 1)]
    return [ks_2samp(reference, w).pvalue < threshold for w in current]


def ka_numpy(reference, benign, current, false_alarm_rate):
    _ka_check(benign, false_alarm_rate)
    calib = -np.sort(-np.array(_stats(reference, benign)))
    k = min(int(np.floor(false_alarm_rate * calib.size + 1e-9)), calib.size - 1)
    return np.array(_stats(reference, current)) > calib[k]


def ka_partition(reference, benign, current, false_alarm_rate):
    _ka_check(benign, false_alarm_rate)
    calib = np.array(_stats(reference, benign))
    allowed = math.floor(false_alarm_rate * len(calib) + 1e-9)
    threshold = calib.max() if allowed == 0 else np.partition(calib, len(calib) - 1 - allowed)[
        len(calib) - 1 - allowed]
    return [bool(s > threshold) for s in _stats(reference, current)]


def ka_count_rule(reference, benign, current, false_alarm_rate):  # the smallest t meeting it
    _ka_check(benign, false_alarm_rate)
    calib = _stats(reference, benign)
    allowed = math.floor(false_alarm_rate * len(calib) + 1e-9)
    threshold = min(t for t in calib if sum(c > t for c in calib) <= allowed)
    return [s > threshold for s in _stats(reference, current)]


def ka_hand_ks(reference, benign, current, false_alarm_rate):  # KS statistic written out
    _ka_check(benign, false_alarm_rate)
    ref = np.sort(np.asarray(reference, float))

    def ks(w):
        w = np.sort(np.asarray(w, float))
        grid = np.concatenate([ref, w])
        return float(np.max(np.abs(np.searchsorted(ref, grid, side="right") / ref.size
                                   - np.searchsorted(w, grid, side="right") / w.size)))

    calib = sorted((ks(w) for w in benign), reverse=True)
    threshold = calib[min(math.floor(false_alarm_rate * len(calib) + 1e-9), len(calib) - 1)]
    return [ks(w) > threshold for w in current]


# --- exercise 3: time_to_detection ----------------------------------------------------------------


def _td_check(start, end):
    if end <= start:
        raise ValueError("bad")


def td_minutes(alert_hours, start_hour, end_hour):  # minutes
    _td_check(start_hour, end_hour)
    inside = [h for h in alert_hours if start_hour <= h < end_hour]
    return (min(inside) + 1 - start_hour) * 60 if inside else None


def td_from_end(alert_hours, start_hour, end_hour):  # counted from the end
    _td_check(start_hour, end_hour)
    inside = [h for h in alert_hours if start_hour <= h < end_hour]
    return end_hour - min(inside) if inside else None


def td_nan(alert_hours, start_hour, end_hour):  # NaN for missed
    _td_check(start_hour, end_hour)
    inside = [h for h in alert_hours if start_hour <= h < end_hour]
    return min(inside) + 1 - start_hour if inside else float("nan")


def td_minus_one(alert_hours, start_hour, end_hour):  # -1 for missed
    _td_check(start_hour, end_hour)
    inside = [h for h in alert_hours if start_hour <= h < end_hour]
    return min(inside) + 1 - start_hour if inside else -1


def td_any_alert(alert_hours, start_hour, end_hour):  # the first alert of the whole week
    _td_check(start_hour, end_hour)
    hours = list(alert_hours)
    return min(hours) + 1 - start_hour if hours else None


def td_plus_two(alert_hours, start_hour, end_hour):  # one hour too late
    _td_check(start_hour, end_hour)
    inside = [h for h in alert_hours if start_hour <= h < end_hour]
    return min(inside) + 2 - start_hour if inside else None


def td_no_check(alert_hours, start_hour, end_hour):  # an empty incident accepted
    inside = [h for h in alert_hours if start_hour <= h < end_hour]
    return min(inside) + 1 - start_hour if inside else None


def td_median(alert_hours, start_hour, end_hour):  # the median alert
    _td_check(start_hour, end_hour)
    inside = sorted(h for h in alert_hours if start_hour <= h < end_hour)
    return inside[len(inside) // 2] + 1 - start_hour if inside else None


def td_loop(alert_hours, start_hour, end_hour):
    if not end_hour > start_hour:
        raise ValueError("the incident is empty")
    for hour in range(start_hour, end_hour):
        if hour in set(alert_hours):
            return float(hour + 1 - start_hour)
    return None


def td_numpy(alert_hours, start_hour, end_hour):
    _td_check(start_hour, end_hour)
    h = np.asarray(list(alert_hours), dtype=int)
    h = h[(h >= start_hour) & (h < end_hour)]
    return int(h.min()) + 1 - start_hour if h.size else None


def td_range(alert_hours, start_hour, end_hour):
    if end_hour <= start_hour:
        raise ValueError("end_hour <= start_hour")
    found = sorted(set(alert_hours) & set(range(start_hour, end_hour)))
    return found[0] - start_hour + 1 if found else None


def td_default(alert_hours, start_hour, end_hour):
    _td_check(start_hour, end_hour)
    first = min((h for h in alert_hours if start_hour <= h < end_hour), default=None)
    return None if first is None else first + 1 - start_hour


# --- exercise 4: verified_rollback ----------------------------------------------------------------


def _sha(b):
    return hashlib.sha256(b).hexdigest()


def rb_sha1(backups, trusted):  # the wrong hash
    for v in sorted(backups, reverse=True):
        if v in trusted and hashlib.sha1(backups[v]).hexdigest() == trusted[v]:
            return v, backups[v]
    raise LookupError("none")


def rb_none(backups, trusted):  # None instead of raising
    for v in sorted(backups, reverse=True):
        if v in trusted and _sha(backups[v]) == trusted[v]:
            return v, backups[v]
    return None


def rb_value_error(backups, trusted):  # the wrong exception
    for v in sorted(backups, reverse=True):
        if v in trusted and _sha(backups[v]) == trusted[v]:
            return v, backups[v]
    raise ValueError("none")


def rb_newest_or_fail(backups, trusted):  # no fallback: the newest must verify
    v = max(v for v in backups if v in trusted)
    if _sha(backups[v]) != trusted[v]:
        raise LookupError("tampered")
    return v, backups[v]


def rb_trusted_order(backups, trusted):  # walks the manifest's versions instead
    for v in sorted(trusted, reverse=True):
        if v in backups and _sha(backups[v]) == trusted[v]:
            return v, backups[v]
    raise LookupError("none")


def rb_hex_data(backups, trusted):  # the bytes as hex text
    for v in sorted(backups, reverse=True):
        if v in trusted and _sha(backups[v]) == trusted[v]:
            return v, backups[v].hex()
    raise LookupError("none")


def rb_bytes_reversed(backups, trusted):  # newest that verifies, but returns the wrong file
    for v in sorted(backups, reverse=True):
        if v in trusted and _sha(backups[v]) == trusted[v]:
            return v, backups[min(backups)]
    raise LookupError("none")


def rb_data_only(backups, trusted):  # returns the bytes only
    for v in sorted(backups, reverse=True):
        if v in trusted and _sha(backups[v]) == trusted[v]:
            return backups[v]
    raise LookupError("none")


def rb_second_newest(backups, trusted):  # always one version back
    versions = [v for v in sorted(backups, reverse=True)
                if v in trusted and _sha(backups[v]) == trusted[v]]
    if len(versions) < 2:
        raise LookupError("none")
    return versions[1], backups[versions[1]]


def rb_hmac_compare(backups, trusted):
    import hmac

    for v in sorted(backups, key=int, reverse=True):
        want = trusted.get(v)
        if want is not None and hmac.compare_digest(_sha(bytes(backups[v])), want):
            return (v, backups[v])
    raise LookupError("no verified backup")


def rb_filter_then_max(backups, trusted):
    good = {v: d for v, d in backups.items() if trusted.get(v) == _sha(d)}
    if not good:
        raise LookupError("nothing verifies")
    newest = max(good)
    return newest, good[newest]


def rb_hashlib_new(backups, trusted):
    for v in sorted(backups.keys(), reverse=True):
        h = hashlib.new("sha256")
        h.update(backups[v])
        if trusted.get(v, "") == h.hexdigest():
            return v, backups[v]
    raise LookupError("none")


def rb_bytes_digest(backups, trusted):
    for v in sorted(backups, reverse=True):
        if v in trusted and hashlib.sha256(backups[v]).digest() == bytes.fromhex(trusted[v]):
            return v, bytes(backups[v])
    raise LookupError("none")


# --- the suite ------------------------------------------------------------------------------------

P, K, T, R = lab13.PSI, lab13.KS_ALARMS, lab13.TIME_TO_DETECTION, lab13.VERIFIED_ROLLBACK
WRONG = [(P, f) for f in (ps_swapped, ps_floor_big, ps_add_floor, ps_abs_diff,
                          ps_bins_plus_one, ps_histogram_range, ps_squared, ps_floor_after_log)]
WRONG += [(K, f) for f in (ka_median, ka_increasing, ka_ceil, ka_mean_sd, ka_benign_reference,
                           ka_no_validation, ka_all_alarm, ka_pvalue_calibrated)]
WRONG += [(T, f) for f in (td_minutes, td_from_end, td_nan, td_minus_one, td_any_alert,
                           td_plus_two, td_no_check, td_median)]
WRONG += [(R, f) for f in (rb_sha1, rb_none, rb_value_error, rb_newest_or_fail,
                           rb_hex_data, rb_bytes_reversed, rb_data_only, rb_second_newest)]
RIGHT = [(P, f) for f in (ps_loop, ps_digitize, ps_pandas, ps_symmetric_kl, ps_no_unique)]
RIGHT += [(K, f) for f in (ka_numpy, ka_partition, ka_count_rule, ka_hand_ks)]
RIGHT += [(T, f) for f in (td_loop, td_numpy, td_range, td_default)]
RIGHT += [(R, f) for f in (rb_trusted_order, rb_hmac_compare, rb_filter_then_max, rb_hashlib_new,
                           rb_bytes_digest)]

(test_a_wrong_answer_is_rejected_by_the_check_and_the_grading,
 test_a_correct_answer_written_differently_is_accepted) = mutant_tests(WRONG, RIGHT)


def test_the_suite_is_large_enough():
    assert_enough_mutants((P, K, T, R), WRONG, RIGHT)


# --- the challenge --------------------------------------------------------------------------------


def _fit(X, y):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=100.0, max_iter=5000)).fit(X, y)


def ch_burst(task):  # the reference's queries, all in one hour
    public = task.public
    anchors = public + 0.3 * (public.mean(0) - public)
    labels = task.query(48, anchors)
    pos, neg = anchors[labels == 1], anchors[labels == 0]
    points = np.array([a + (b - a) * t for a in pos for b in neg[:2] for t in (0.3, 0.5, 0.7)])
    X = np.vstack([anchors, points])
    return _fit(X, np.concatenate([labels, task.query(48, points)])).predict


def ch_public_only(task):  # the 40 public patients, one an hour: quiet but too few
    labels = np.concatenate([task.query(48 + k, task.public[k:k + 1]) for k in range(40)])
    return _fit(task.public, labels).predict


def ch_uniform(task):  # random points over the public patients' range: far from the data
    gen = np.random.default_rng(0)
    lo, hi = task.public.min(0), task.public.max(0)
    X = gen.uniform(lo, hi, size=(240, lo.size))
    labels = np.concatenate([task.query(48 + k // 2, X[k:k + 1]) for k in range(len(X))])
    return _fit(X, labels).predict


@pytest.mark.parametrize("attack", [ch_burst, ch_public_only, ch_uniform])
def test_the_challenge_rejects_loud_or_weak_thefts(attack):
    result = run_check(lab13.CHALLENGE, attack)
    assert result.status == "wrong", result.line()


def test_the_reference_theft_is_quiet_and_faithful_for_several_weeks():
    for seed in (3, 4):
        task = lab13.quiet_theft_task(seed=seed)
        out = lab13.challenge_outcome(task, lab13.steal_quietly(task))
        assert out["alerts"] == 0 and out["fidelity"] >= lab13.CHALLENGE_FIDELITY, out


def test_the_task_refuses_bad_queries_and_is_read_only():
    task = lab13.quiet_theft_task(seed=5)
    with pytest.raises(ValueError):
        task.query(10, task.public[:1])  # a calibration hour
    with pytest.raises(ValueError):
        task.query(60, task.public[:1, :5])
    with pytest.raises(ValueError):
        task.query(60, np.full((1, 30), np.nan))
    task.query(60, task.public[:1])
    with pytest.raises(ValueError):
        task.query(59, task.public[:1])  # hours do not go back
    with pytest.raises(AttributeError):
        task.thresholds = {}
    thresholds = task.thresholds
    thresholds["key volume"] = 1e9
    assert task.thresholds["key volume"] < 1e9
    with pytest.raises(TypeError):
        lab13.challenge_outcome(object(), lambda X: X)
    with pytest.raises(ValueError):
        lab13.challenge_outcome(task, lambda X: np.zeros(3))
