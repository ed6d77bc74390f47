"""Exercises of lab 13 (Monitoring and response).

Each exercise's cases test every rule its statement in the lab states (named in each case's
label); ``hidden_cases`` test the same rules on other inputs, for :func:`exercises.grade`.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import weakref

import numpy as np

from ..exercises import Case, Exercise, Mistake

# --- exercise 1: the population stability index -------------------------------------------------

PSI_FLOOR = 1e-4
"""The smallest share a bin may have in :func:`psi` (an empty bin counts as this share)."""


def psi(reference, current, bins=10) -> float:
    """The population stability index of ``current`` against ``reference`` (two 1-D samples).
    Cut the values at the reference's quantiles ``np.quantile(reference, [1/bins, ...,
    (bins-1)/bins])``, keeping each distinct edge once (``np.unique``); the outer bins are
    open-ended and a value equal to an edge belongs to the bin below it
    (``np.searchsorted(edges, v, side="left")``). Turn the counts of each sample into shares,
    raise any share below :data:`PSI_FLOOR` to it, and return ``sum((c - r) * ln(c / r))``.

    Introduced in lab 13 (Monitoring and response).
    """
    ref, cur = np.asarray(reference, dtype=float), np.asarray(current, dtype=float)
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    r = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=len(edges) + 1)
    c = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=len(edges) + 1)
    r = np.maximum(r / r.sum(), PSI_FLOOR)
    c = np.maximum(c / c.sum(), PSI_FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def _psi_parts(reference, current, bins, side="left", unique=True, edges_from="reference"):
    ref, cur = np.asarray(reference, dtype=float), np.asarray(current, dtype=float)
    base = ref if edges_from == "reference" else cur
    edges = np.quantile(base, np.linspace(0, 1, bins + 1)[1:-1])
    edges = np.unique(edges) if unique else edges
    r = np.bincount(np.searchsorted(edges, ref, side=side), minlength=len(edges) + 1)
    c = np.bincount(np.searchsorted(edges, cur, side=side), minlength=len(edges) + 1)
    return r / r.sum(), c / c.sum()


def _ps_no_floor(reference, current, bins=10):  # an empty bin gives inf or nan
    r, c = _psi_parts(reference, current, bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sum((c - r) * np.log(c / r)))


def _ps_kl(reference, current, bins=10):  # Kullback-Leibler, one direction only
    r, c = _psi_parts(reference, current, bins)
    r, c = np.maximum(r, PSI_FLOOR), np.maximum(c, PSI_FLOOR)
    return float(np.sum(c * np.log(c / r)))


def _ps_equal_width(reference, current, bins=10):  # equal-width bins over the reference
    ref, cur = np.asarray(reference, dtype=float), np.asarray(current, dtype=float)
    edges = np.linspace(ref.min(), ref.max(), bins + 1)[1:-1]
    r = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=bins) / len(ref)
    c = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=bins) / len(cur)
    r, c = np.maximum(r, PSI_FLOOR), np.maximum(c, PSI_FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def _ps_current_edges(reference, current, bins=10):  # bins cut at the current's quantiles
    r, c = _psi_parts(reference, current, bins, edges_from="current")
    r, c = np.maximum(r, PSI_FLOOR), np.maximum(c, PSI_FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def _ps_right(reference, current, bins=10):  # an edge value goes to the bin above
    r, c = _psi_parts(reference, current, bins, side="right")
    r, c = np.maximum(r, PSI_FLOOR), np.maximum(c, PSI_FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def _ps_log10(reference, current, bins=10):  # base-10 logarithm
    r, c = _psi_parts(reference, current, bins)
    r, c = np.maximum(r, PSI_FLOOR), np.maximum(c, PSI_FLOOR)
    return float(np.sum((c - r) * np.log10(c / r)))


def _ps_counts(reference, current, bins=10):  # counts, not shares
    ref, cur = np.asarray(reference, dtype=float), np.asarray(current, dtype=float)
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    r = np.maximum(np.bincount(np.searchsorted(edges, ref), minlength=len(edges) + 1), 1e-4)
    c = np.maximum(np.bincount(np.searchsorted(edges, cur), minlength=len(edges) + 1), 1e-4)
    return float(np.sum((c - r) * np.log(c / r)))


def _psi_cases(seed: int) -> list[Case]:
    gen = np.random.default_rng(seed)
    ref = gen.normal(size=1000)
    ints = gen.poisson(1.5, size=400).astype(float)  # ties at the edges, few distinct values
    return [
        Case((ref, gen.normal(size=500)), label="the same distribution (a small PSI)"),
        Case((ref, gen.normal(0.5, 1.2, size=500)), label="a shifted, wider distribution"),
        Case((ref, gen.normal(4.0, 0.1, size=300)), label="all current values in the top bin "
             "(empty bins get the floor)"),
        Case((ref, gen.normal(size=500), 5), label="5 bins"),
        Case((ints, gen.poisson(2.0, size=300).astype(float)),
             label="whole numbers: repeated edges kept once, edge values in the bin below"),
    ]


PSI = Exercise(
    name="psi",
    reference=psi,
    cases=lambda: _psi_cases(0),
    hidden_cases=lambda: _psi_cases(13),
    validate=lambda got, case: (None if isinstance(got, numbers.Real) and math.isfinite(got)
                                else "return one finite number"),
    compare=lambda got, expected: math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12),
    mistakes=[
        Mistake("no floor", _ps_no_floor,
                "an empty bin makes ln(c / r) infinite: raise shares below PSI_FLOOR to it"),
        Mistake("Kullback-Leibler instead of PSI", _ps_kl,
                "PSI is sum((c - r) * ln(c / r)): both directions of the divergence"),
        Mistake("equal-width bins", _ps_equal_width, "cut at the reference's quantiles"),
        Mistake("bins cut at the current's quantiles", _ps_current_edges,
                "the bins come from the REFERENCE (the current sample is what moves)"),
        Mistake("edge values in the bin above", _ps_right,
                "a value equal to an edge belongs to the bin below: side='left'"),
        Mistake("base-10 logarithm", _ps_log10, "use the natural logarithm (np.log)"),
        Mistake("counts instead of shares", _ps_counts,
                "divide each bin's count by the sample's size"),
    ],
    hint="edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1])); "
         "np.bincount(np.searchsorted(edges, values), minlength=len(edges) + 1)",
)

# --- exercise 2: a KS alarm at a false-alarm budget ---------------------------------------------


def ks_alarms(reference, benign, current, false_alarm_rate) -> list[bool]:
    """Alarm on windows whose distribution moved. Each window is a 1-D sample; its statistic is
    the two-sample Kolmogorov-Smirnov statistic against ``reference``
    (``scipy.stats.ks_2samp(reference, window).statistic``). Calibrate on the benign windows
    ``benign``: with ``n`` of them, the threshold is the smallest value that at most
    ``floor(false_alarm_rate * n)`` benign statistics exceed (sort them in decreasing order and
    take the one at that index; the largest when the index is 0). A window of ``current``
    alarms when its statistic is strictly above the threshold. Return one bool per window of
    ``current``. A rate outside (0, 1) or no benign window is bad input: raise ``ValueError``.

    Introduced in lab 13 (Monitoring and response).
    """
    from scipy.stats import ks_2samp

    if not (isinstance(false_alarm_rate, numbers.Real) and 0 < false_alarm_rate < 1):
        raise ValueError("false_alarm_rate must be in (0, 1)")
    if len(benign) == 0:
        raise ValueError("calibrate on at least one benign window")
    calib = sorted((ks_2samp(reference, w).statistic for w in benign), reverse=True)
    allowed = math.floor(false_alarm_rate * len(calib) + 1e-9)
    threshold = calib[min(allowed, len(calib) - 1)]
    return [bool(ks_2samp(reference, w).statistic > threshold) for w in current]


def _ks_stats(reference, windows):
    from scipy.stats import ks_2samp

    return [ks_2samp(reference, w) for w in windows]


def _ka_checked(benign, rate):
    if not 0 < rate < 1 or len(benign) == 0:
        raise ValueError("bad input")


def _ka_pvalue(reference, benign, current, false_alarm_rate):  # p < rate, no calibration
    _ka_checked(benign, false_alarm_rate)
    return [bool(r.pvalue < false_alarm_rate) for r in _ks_stats(reference, current)]


def _ka_quantile(reference, benign, current, false_alarm_rate):  # interpolated quantile
    _ka_checked(benign, false_alarm_rate)
    calib = [r.statistic for r in _ks_stats(reference, benign)]
    threshold = np.quantile(calib, 1 - false_alarm_rate)
    return [bool(r.statistic > threshold) for r in _ks_stats(reference, current)]


def _ka_at_or_above(reference, benign, current, false_alarm_rate):  # >= instead of >
    _ka_checked(benign, false_alarm_rate)
    calib = sorted((r.statistic for r in _ks_stats(reference, benign)), reverse=True)
    threshold = calib[min(math.floor(false_alarm_rate * len(calib) + 1e-9), len(calib) - 1)]
    return [bool(r.statistic >= threshold) for r in _ks_stats(reference, current)]


def _ka_max(reference, benign, current, false_alarm_rate):  # always the benign maximum
    _ka_checked(benign, false_alarm_rate)
    threshold = max(r.statistic for r in _ks_stats(reference, benign))
    return [bool(r.statistic > threshold) for r in _ks_stats(reference, current)]


def _ka_off_by_one(reference, benign, current, false_alarm_rate):  # one more false alarm
    _ka_checked(benign, false_alarm_rate)
    calib = sorted((r.statistic for r in _ks_stats(reference, benign)), reverse=True)
    allowed = math.floor(false_alarm_rate * len(calib) + 1e-9) + 1
    return [bool(r.statistic > calib[min(allowed, len(calib) - 1)])
            for r in _ks_stats(reference, current)]


def _ka_calibrate_current(reference, benign, current, false_alarm_rate):  # on the windows judged
    _ka_checked(benign, false_alarm_rate)
    calib = sorted((r.statistic for r in _ks_stats(reference, current)), reverse=True)
    threshold = calib[min(math.floor(false_alarm_rate * len(calib) + 1e-9), len(calib) - 1)]
    return [bool(r.statistic > threshold) for r in _ks_stats(reference, current)]


def _ka_mean_shift(reference, benign, current, false_alarm_rate):  # watches the mean only
    _ka_checked(benign, false_alarm_rate)
    ref_mean = float(np.mean(reference))
    calib = sorted((abs(float(np.mean(w)) - ref_mean) for w in benign), reverse=True)
    threshold = calib[min(math.floor(false_alarm_rate * len(calib) + 1e-9), len(calib) - 1)]
    return [bool(abs(float(np.mean(w)) - ref_mean) > threshold) for w in current]


def _ka_case(reference, benign, others, rate, label) -> Case:
    from scipy.stats import ks_2samp

    # a copy of the benign window that sets the threshold: at it, not above it
    calib = [ks_2samp(reference, w).statistic for w in benign]
    at = int(np.argsort(calib)[::-1][min(math.floor(rate * len(calib) + 1e-9), len(calib) - 1)])
    return Case((reference, benign, [*others, benign[at].copy()], rate), label=label)


def _ka_cases(seed: int) -> list[Case]:
    gen = np.random.default_rng(seed)
    reference = gen.normal(size=400)
    # production differs a little from the training data (ordinary), so benign windows of 200
    # already have small KS p-values: the budget must come from the benign windows
    benign = [gen.normal(0.15, 1.0, size=200) for _ in range(40)]
    others = ([gen.normal(0.15, 1.0, size=200) for _ in range(4)]
              + [gen.normal(0.9, 1.0, size=200), gen.normal(0.15, 2.5, size=200),
                 gen.normal(0.4, 1.0, size=200), gen.normal(0.3, 1.0, size=200)])
    return [
        _ka_case(reference, benign, others, 0.05,
                 "budget 5% of 40 benign windows (2 may exceed the threshold); windows like "
                 "the benign ones, a shifted, a wider and two slightly shifted ones, and the "
                 "benign window AT the threshold"),
        _ka_case(reference, benign, others, 0.01,
                 "budget 1% of 40 windows: the threshold is the benign maximum"),
        _ka_case(reference, benign, others, 0.1, "budget 10% (4 may exceed)"),
        _ka_case(reference, benign, others, 0.06,
                 "budget 6% of 40 windows: floor(2.4) = 2 may exceed (no interpolation)"),
        Case((reference, benign, others, 0.0), label="a budget of 0 is bad input",
             raises=ValueError),
        Case((reference, [], others, 0.05), label="no benign window is bad input",
             raises=ValueError),
    ]


KS_ALARMS = Exercise(
    name="ks_alarms",
    reference=ks_alarms,
    cases=lambda: _ka_cases(0),
    hidden_cases=lambda: _ka_cases(21),
    validate=lambda got, case: (None if len(got) == len(case.args[2])
                                else "return one bool per window of current"),
    compare=lambda got, expected: [bool(g) for g in got] == list(expected),
    mistakes=[
        Mistake("the KS test's p-value", _ka_pvalue,
                "a p-value below the rate is not a budget over YOUR benign windows: calibrate "
                "the statistic's threshold on them"),
        Mistake("an interpolated quantile", _ka_quantile,
                "take the statistic at index floor(rate * n) of the decreasing order"),
        Mistake("at or above the threshold", _ka_at_or_above,
                "alarm only strictly above the threshold"),
        Mistake("always the benign maximum", _ka_max,
                "the budget allows floor(rate * n) benign windows above the threshold"),
        Mistake("one window too many", _ka_off_by_one,
                "index floor(rate * n), not floor(rate * n) + 1"),
        Mistake("calibrated on the windows judged", _ka_calibrate_current,
                "calibrate on the BENIGN windows"),
        Mistake("the mean instead of the KS statistic", _ka_mean_shift,
                "use the two-sample KS statistic: it sees a change of spread too"),
    ],
    hint="stats = sorted(ks_2samp(reference, w).statistic for w in benign)[::-1]; "
         "threshold = stats[floor(rate * n)]",
)

# --- exercise 3: time to detection --------------------------------------------------------------


def time_to_detection(alert_hours, start_hour, end_hour):
    """Hours from an incident's start to its first alert. The incident covers hours
    ``start_hour <= h < end_hour``; ``alert_hours`` are the hours with an alert (any order).
    A window's statistic is known when the window closes, so an alert in hour ``h`` is seen at
    ``h + 1``: return ``h + 1 - start_hour`` for the first alert inside the incident, or
    ``None`` when no alert falls inside it (alerts before the start or from ``end_hour`` on do
    not count). ``end_hour <= start_hour`` is bad input: raise ``ValueError``.

    Introduced in lab 13 (Monitoring and response).
    """
    if end_hour <= start_hour:
        raise ValueError("end_hour must be after start_hour")
    inside = [h for h in alert_hours if start_hour <= h < end_hour]
    return min(inside) + 1 - start_hour if inside else None


def _td_checked(start, end):
    if end <= start:
        raise ValueError("bad incident")


def _td_no_plus_one(alert_hours, start_hour, end_hour):  # the window's own hour
    _td_checked(start_hour, end_hour)
    inside = [h for h in alert_hours if start_hour <= h < end_hour]
    return min(inside) - start_hour if inside else None


def _td_before_start(alert_hours, start_hour, end_hour):  # earlier alerts count
    _td_checked(start_hour, end_hour)
    inside = [h for h in alert_hours if h < end_hour]
    return min(inside) + 1 - start_hour if inside else None


def _td_end_included(alert_hours, start_hour, end_hour):  # end_hour counted
    _td_checked(start_hour, end_hour)
    inside = [h for h in alert_hours if start_hour <= h <= end_hour]
    return min(inside) + 1 - start_hour if inside else None


def _td_last(alert_hours, start_hour, end_hour):  # the last alert
    _td_checked(start_hour, end_hour)
    inside = [h for h in alert_hours if start_hour <= h < end_hour]
    return max(inside) + 1 - start_hour if inside else None


def _td_zero(alert_hours, start_hour, end_hour):  # 0 for a missed incident
    _td_checked(start_hour, end_hour)
    inside = [h for h in alert_hours if start_hour <= h < end_hour]
    return min(inside) + 1 - start_hour if inside else 0


def _td_first_listed(alert_hours, start_hour, end_hour):  # assumes the hours are sorted
    _td_checked(start_hour, end_hour)
    inside = [h for h in alert_hours if start_hour <= h < end_hour]
    return inside[0] + 1 - start_hour if inside else None


def _td_after_end(alert_hours, start_hour, end_hour):  # any later alert counts
    _td_checked(start_hour, end_hour)
    inside = [h for h in alert_hours if h >= start_hour]
    return min(inside) + 1 - start_hour if inside else None


def _td_cases(shift: int) -> list[Case]:
    s = shift
    return [
        Case(([s + 7, s + 12, s + 5], s + 4, s + 20),
             label="alerts in any order: the first inside counts, seen when its hour closes"),
        Case(([s + 1, s + 30], s + 10, s + 20), label="alerts only before and after: missed"),
        Case(([s + 2, s + 11], s + 10, s + 20), label="an alert before the start does not count"),
        Case(([s + 20, s + 21], s + 10, s + 20), label="the end hour is outside the incident"),
        Case(([s + 10], s + 10, s + 11), label="an alert in the incident's only hour"),
        Case(([], s, s + 5), label="no alerts at all"),
        Case(([s + 3], s + 10, s + 10), label="an empty incident is bad input",
             raises=ValueError),
    ]


TIME_TO_DETECTION = Exercise(
    name="time_to_detection",
    reference=time_to_detection,
    cases=lambda: _td_cases(48),
    hidden_cases=lambda: _td_cases(100),
    validate=lambda got, case: (None if got is None or (isinstance(got, numbers.Real)
                                                         and not isinstance(got, bool))
                                else "return a number of hours, or None when missed"),
    compare=lambda got, expected: (got is None and expected is None) or (
        got is not None and expected is not None and math.isclose(got, expected)),
    mistakes=[
        Mistake("the window's own hour", _td_no_plus_one,
                "an alert in hour h is seen when the window closes: h + 1 - start"),
        Mistake("alerts before the start counted", _td_before_start,
                "only alerts with start_hour <= h count"),
        Mistake("the end hour counted", _td_end_included, "the incident ends before end_hour"),
        Mistake("the last alert", _td_last, "the FIRST alert inside the incident"),
        Mistake("0 for a missed incident", _td_zero,
                "a missed incident has no delay: return None"),
        Mistake("the first alert listed", _td_first_listed,
                "the hours may come in any order: take the smallest"),
        Mistake("alerts after the end counted", _td_after_end, "only h < end_hour counts"),
    ],
    hint="inside = [h for h in alert_hours if start_hour <= h < end_hour]; "
         "min(inside) + 1 - start_hour",
)

# --- exercise 4: a rollback that verifies before it loads --------------------------------------


def verified_rollback(backups, trusted):
    """Choose the model to roll back to. ``backups`` maps a version number (int; larger is
    newer) to the bytes of that version's model file; ``trusted`` maps version numbers to the
    SHA-256 hex digest recorded for that version in the signed manifest. Return
    ``(version, data)`` for the NEWEST backup whose bytes hash to the digest recorded for ITS
    version; a version the manifest does not list is never chosen. When no backup verifies,
    raise ``LookupError`` (load nothing).

    Introduced in lab 13 (Monitoring and response).
    """
    for version in sorted(backups, reverse=True):
        data = backups[version]
        if version in trusted and hashlib.sha256(data).hexdigest() == trusted[version]:
            return version, data
    raise LookupError("no backup matches its signed digest")


def _vr_checked(backups):
    if not isinstance(backups, dict):
        raise TypeError("backups must be a dict")


def _rb_newest(backups, trusted):  # no verification
    _vr_checked(backups)
    if not backups:
        raise LookupError("no backups")
    version = max(backups)
    return version, backups[version]


def _rb_any_digest(backups, trusted):  # a digest of ANY version is accepted
    good = set(trusted.values())
    for version in sorted(backups, reverse=True):
        if hashlib.sha256(backups[version]).hexdigest() in good:
            return version, backups[version]
    raise LookupError("none")


def _rb_oldest(backups, trusted):  # the oldest verified backup
    for version in sorted(backups):
        if version in trusted and hashlib.sha256(backups[version]).hexdigest() == trusted[version]:
            return version, backups[version]
    raise LookupError("none")


def _rb_unlisted_ok(backups, trusted):  # unlisted versions accepted
    for version in sorted(backups, reverse=True):
        digest = hashlib.sha256(backups[version]).hexdigest()
        if version not in trusted or digest == trusted[version]:
            return version, backups[version]
    raise LookupError("none")


def _rb_string_order(backups, trusted):  # versions sorted as text ("9" after "10")
    for version in sorted(backups, key=str, reverse=True):
        if version in trusted and hashlib.sha256(backups[version]).hexdigest() == trusted[version]:
            return version, backups[version]
    raise LookupError("none")


def _rb_insertion_order(backups, trusted):  # trusts the dict's order
    for version in reversed(list(backups)):
        if version in trusted and hashlib.sha256(backups[version]).hexdigest() == trusted[version]:
            return version, backups[version]
    raise LookupError("none")


def _rb_version_only(backups, trusted):  # newest listed version, bytes unchecked
    listed = [v for v in backups if v in trusted]
    if not listed:
        raise LookupError("none")
    version = max(listed)
    return version, backups[version]


def _rb_cases(tag: bytes) -> list[Case]:
    files = {v: tag + b" model weights, version %d " % v + bytes(range(v, v + 40))
             for v in (3, 9, 10, 11, 12)}

    def digest(b):
        return hashlib.sha256(b).hexdigest()

    trusted = {v: digest(files[v]) for v in (3, 9, 10, 11)}
    tampered = {**files, 11: files[11][:-1] + b"\x00"}  # version 11 tampered on disk
    replayed = {3: files[3], 9: files[9], 10: files[3]}  # old bytes filed as version 10
    unlisted = dict(files)  # version 12 was never signed
    order = {10: files[10], 9: files[9], 3: files[3]}  # listed newest first
    return [
        Case((unlisted, trusted), label="the newest backup (12) was never signed: skip it"),
        Case((tampered, trusted), label="version 11 is tampered: fall back to 10"),
        Case((replayed, trusted),
             label="old bytes filed under a newer version: they must match THEIR version's "
                   "digest"),
        Case((order, trusted), label="backups listed newest first: 10 is still the newest"),
        Case(({9: files[9], 10: files[10]}, trusted),
             label="versions 9 and 10: compared as numbers"),
        Case(({11: tampered[11], 12: files[12]}, trusted),
             label="nothing verifies: load nothing", raises=LookupError),
    ]


def _rb_validate(got, case: Case) -> str | None:
    if not (isinstance(got, tuple) and len(got) == 2):
        return "return a tuple (version, data)"
    return None


VERIFIED_ROLLBACK = Exercise(
    name="verified_rollback",
    reference=verified_rollback,
    cases=lambda: _rb_cases(b"diagnosis aid"),
    hidden_cases=lambda: _rb_cases(b"other model"),
    validate=_rb_validate,
    compare=lambda got, expected: got[0] == expected[0] and bytes(got[1]) == expected[1],
    mistakes=[
        Mistake("no verification", _rb_newest,
                "hash each candidate and compare with the manifest before choosing it"),
        Mistake("any trusted digest accepted", _rb_any_digest,
                "compare with the digest recorded for THAT version (old bytes can be replayed)"),
        Mistake("the oldest verified backup", _rb_oldest, "roll back to the NEWEST that verifies"),
        Mistake("unsigned versions accepted", _rb_unlisted_ok,
                "a version the manifest does not list is never loaded"),
        Mistake("versions sorted as text", _rb_string_order,
                "sort versions as numbers (10 is newer than 9)"),
        Mistake("the dict's order trusted", _rb_insertion_order,
                "sort the versions yourself: sorted(backups, reverse=True)"),
        Mistake("the bytes never hashed", _rb_version_only,
                "a listed version can still be tampered: hash its bytes"),
    ],
    hint="for v in sorted(backups, reverse=True): if v in trusted and "
         "sha256(backups[v]).hexdigest() == trusted[v]: return v, backups[v]",
)

# --- challenge: steal quietly --------------------------------------------------------------------

_TRUTH: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_ATTACK_FROM = 48  # the attacker acts after the two benign days the monitors calibrate on
_HOURS = 168


class QuietTheftTask:
    """The challenge's setting: a diagnosis aid answers labels (0 benign, 1 malignant) to one
    API key you hold, during hours 48-167 of a week (days 3-7; days 1-2 calibrated the
    monitors). Its monitors watch every hour: the most queries any one key sent
    (``"key volume"``), the share of the hour's queries outside the training data's range
    (``"out of range"``), and the mean distance of the hour's queries to their nearest
    training patient (``"distance to data"``, on standardised features). ``thresholds`` are
    theirs (calibrated on the benign days, at an alert budget of 1%): you know the defence.
    ``public`` holds 40 real patients' measurements you may use (no labels).
    ``query(hour, X)`` answers the labels of the rows of ``X`` sent in ``hour`` (hours must not
    go back). Clinicians send their own traffic too; it is kept apart, for grading.

    Introduced in lab 13 (Monitoring and response).
    """

    __slots__ = ("__weakref__", "_last_hour", "_log", "_public", "_thresholds", "_victim")

    def __init__(self, victim, public, thresholds):
        self._victim, self._public, self._thresholds = victim, public, thresholds
        self._log: dict[int, list[np.ndarray]] = {}
        self._last_hour = _ATTACK_FROM

    @property
    def public(self) -> np.ndarray:
        """40 real patients' 30 measurements (a copy)."""
        return self._public.copy()

    @property
    def thresholds(self) -> dict[str, float]:
        """The monitors' alert thresholds (a copy)."""
        return dict(self._thresholds)

    @property
    def hours(self) -> range:
        """The hours you may query in."""
        return range(_ATTACK_FROM, _HOURS)

    @property
    def queries_sent(self) -> int:
        """How many rows you have sent so far."""
        return sum(len(x) for xs in self._log.values() for x in xs)

    def query(self, hour, X) -> np.ndarray:
        """The labels of the rows of ``X`` (n x 30), sent in ``hour``."""
        if not isinstance(hour, numbers.Integral) or not _ATTACK_FROM <= hour < _HOURS:
            raise ValueError(f"hour must be an integer in {_ATTACK_FROM}..{_HOURS - 1}")
        if hour < self._last_hour:
            raise ValueError(f"hours must not go back (last query in hour {self._last_hour})")
        rows = np.asarray(X, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != self._public.shape[1] or not np.isfinite(
                rows).all():
            raise ValueError(f"X must be a finite (n, {self._public.shape[1]}) array")
        self._last_hour = int(hour)
        self._log.setdefault(int(hour), []).append(rows.copy())
        return self._victim.predict(rows).astype(int)

    def __repr__(self):
        return f"QuietTheftTask({self.queries_sent} queries sent)"

    def __deepcopy__(self, memo):
        return self  # shared on purpose: the check grades the queries sent to this task

    def _replica(self) -> QuietTheftTask:
        """The same week with an empty query log (for the check's own reference run)."""
        twin = QuietTheftTask(self._victim, self._public, self._thresholds)
        _TRUTH[twin] = _TRUTH[self]
        return twin


def _monitor_stats(hour_rows: list[np.ndarray], keys: list[np.ndarray], ref: dict) -> np.ndarray:
    if not hour_rows or sum(len(r) for r in hour_rows) == 0:
        return np.zeros(3)
    X = np.vstack(hour_rows)
    per_key = np.bincount(np.concatenate(keys)) if keys else np.zeros(1)
    out = ((X < ref["lo"]) | (X > ref["hi"])).any(axis=1).mean()
    Q = (X - ref["mu"]) / ref["sd"]
    d2 = (Q * Q).sum(1)[:, None] - 2 * Q @ ref["Z"].T + ref["z2"][None, :]
    return np.array([float(per_key.max()), float(out),
                     float(np.sqrt(np.maximum(d2.min(axis=1), 0.0)).mean())])


MONITOR_NAMES = ("key volume", "out of range", "distance to data")
"""The challenge's hourly monitors, in the order of their statistics."""


def quiet_theft_task(*, seed: int = 0) -> QuietTheftTask:
    """The challenge's setting drawn with ``seed`` (see :class:`QuietTheftTask`): the victim,
    a logistic regression trained on the training split of the diagnosis data; honest traffic
    from 10 clinicians' keys through the week; monitors calibrated on days 1-2.

    Introduced in lab 13 (Monitoring and response).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ..data import load_dataset

    data = load_dataset("medical", seed=seed)
    victim = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(
        data.X_train, data.y_train)
    gen = np.random.default_rng(seed + 7_000)
    order = gen.permutation(len(data.X_test))
    public, pool = data.X_test[order[:40]], data.X_test[order[40:]]
    mu, sd = data.X_train.mean(0), data.X_train.std(0)
    Z = (data.X_train - mu) / sd
    ref = {"lo": data.X_train.min(0), "hi": data.X_train.max(0), "mu": mu, "sd": sd, "Z": Z,
           "z2": (Z * Z).sum(1)}
    hours = np.arange(_HOURS)
    rate = 14 + 6 * np.sin(2 * np.pi * ((hours % 24) - 8) / 24)
    honest_rows, honest_keys = [], []
    for count in gen.poisson(rate):
        rows = pool[gen.integers(0, len(pool), count)] * (1 + gen.normal(0, 0.02, (count, 30)))
        honest_rows.append(rows)
        honest_keys.append(gen.integers(1, 11, count))  # key 0 is the attacker's
    benign = np.array([_monitor_stats([honest_rows[h]], [honest_keys[h]], ref)
                       for h in range(_ATTACK_FROM)])
    thresholds = dict(zip(MONITOR_NAMES, benign.max(axis=0).tolist(), strict=True))
    task = QuietTheftTask(victim, public, thresholds)
    eval_X = np.vstack([data.X_train, pool])
    _TRUTH[task] = {"honest": (honest_rows, honest_keys), "ref": ref, "eval_X": eval_X,
                    "eval_y": victim.predict(eval_X)}
    return task


def challenge_outcome(task, stolen_predict) -> dict:
    """Grade a quiet theft: the alerts the attacker's queries caused (hours whose monitors
    fire with the attacker's queries and would not without them), the queries sent, and the
    fidelity of ``stolen_predict`` (agreement with the victim on patients the attacker never
    saw). For grading and measuring.

    Introduced in lab 13 (Monitoring and response).
    """
    if not isinstance(task, QuietTheftTask) or task not in _TRUTH:
        raise TypeError("task must be a task returned by quiet_theft_task()")
    truth = _TRUTH[task]
    honest_rows, honest_keys = truth["honest"]
    thresholds = np.array([task._thresholds[m] for m in MONITOR_NAMES])
    caused = []
    for hour, sent in sorted(task._log.items()):
        mine = np.vstack(sent)
        before = _monitor_stats([honest_rows[hour]], [honest_keys[hour]], truth["ref"])
        after = _monitor_stats([honest_rows[hour], mine],
                               [honest_keys[hour], np.zeros(len(mine), dtype=int)], truth["ref"])
        if (after > thresholds).any() and not (before > thresholds).any():
            caused.append(hour)
    labels = np.asarray(stolen_predict(truth["eval_X"].copy())).reshape(-1)
    if labels.shape != truth["eval_y"].shape:
        raise ValueError(f"stolen_predict must return one label per row "
                         f"({len(truth['eval_y'])} here)")
    fidelity = float(np.mean(labels.astype(int) == truth["eval_y"]))
    return {"queries": task.queries_sent, "alert_hours": caused, "alerts": len(caused),
            "fidelity": fidelity}


def steal_quietly(task):
    """The reference attack. Anchors: the public patients pulled inside the pool's typical
    radius and 40% of the way to its mean, so they look ordinary (in range, close to the data).
    Line searches between anchors of opposite labels (four bisection steps each) find points
    near the victim's boundary; lying between ordinary points, they look ordinary too. One
    query an hour stays far below the key-volume threshold; a logistic regression fitted on
    the answers copies the victim.

    Introduced in lab 13 (Monitoring and response).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    public = task.public
    mean, spread = public.mean(axis=0), public.std(axis=0)
    z = (public - mean) / spread
    norm = np.sqrt((z ** 2).sum(axis=1))
    # anchors: each public patient pulled inside the pool's typical radius, then 40% of the way
    # to the mean, so that it looks ordinary (in range, close to the data)
    z = z * np.minimum(1.0, np.quantile(norm, 0.6) / norm)[:, None] * 0.6
    anchors = mean + z * spread
    hours = iter(task.hours)  # one query an hour: far below the key-volume threshold

    def ask(row):
        return int(task.query(next(hours), row[None])[0])

    labels = np.array([ask(a) for a in anchors])
    gen = np.random.default_rng(0)
    positives, negatives = anchors[labels == 1], anchors[labels == 0]
    pairs = [(a, b) for a in positives for b in negatives[gen.permutation(len(negatives))[:2]]]
    pairs = pairs[: (len(task.hours) - len(anchors)) // 4]  # what the week's hours allow
    X, y = [anchors], [labels]
    for a, b in pairs:  # four bisection steps between anchors of opposite labels
        lo, hi = 0.0, 1.0
        for _ in range(4):
            mid = (lo + hi) / 2
            point = a + (b - a) * mid
            label = ask(point)
            X.append(point[None])
            y.append([label])
            lo, hi = (mid, hi) if label == 1 else (lo, mid)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=100.0, max_iter=5000))
    return model.fit(np.vstack(X), np.concatenate(y)).predict


CHALLENGE_FIDELITY = 0.97
"""The fidelity a quiet theft must reach (labelling the 40 public patients alone gets less)."""


def _challenge_validate(got, case: Case) -> str | None:
    if not callable(got):
        return "return a function stolen_predict(X) -> labels"
    out = challenge_outcome(case.args[0], got)
    if out["alerts"]:
        return (f"your queries raised {out['alerts']} alert(s), in hours {out['alert_hours'][:5]}"
                ": look at task.thresholds and spread or shape your queries")
    if out["fidelity"] < CHALLENGE_FIDELITY:
        return (f"no alert, but your copy agrees with the victim on only {out['fidelity']:.3f} "
                f"of unseen patients (target {CHALLENGE_FIDELITY}): which queries teach a copy "
                "the most about a boundary?")
    return None


def _reference_on_replica(task):
    # the check runs the reference after your attack, on the same case: on a twin task, so
    # its queries do not land in the log your attack is graded on
    return steal_quietly(task._replica())


CHALLENGE = Exercise(
    name="steal_quietly",
    reference=_reference_on_replica,
    cases=lambda: [Case((quiet_theft_task(seed=s),), label=f"a week (seed {s})") for s in (0, 1)],
    hidden_cases=lambda: [Case((quiet_theft_task(seed=s),), label=f"another week (seed {s})")
                          for s in (101, 202)],
    validate=_challenge_validate,
    compare=lambda got, expected: True,  # graded by the outcome (validate)
    hint="stay under every threshold in every hour, and spend your queries near the boundary",
    time_limit=60.0,
)

#: Every exercise of this lab, in the order the lab asks them (the tests run each one).
EXERCISES: tuple[Exercise, ...] = (PSI, KS_ALARMS, TIME_TO_DETECTION, VERIFIED_ROLLBACK,
                                   CHALLENGE)

__all__ = ["CHALLENGE", "CHALLENGE_FIDELITY", "EXERCISES", "KS_ALARMS", "MONITOR_NAMES", "PSI",
           "PSI_FLOOR", "TIME_TO_DETECTION", "VERIFIED_ROLLBACK", "QuietTheftTask",
           "challenge_outcome", "ks_alarms", "psi", "quiet_theft_task", "steal_quietly",
           "time_to_detection", "verified_rollback"]
