"""Lab 12's exercise checks, beyond what tests/test_exercise_checks.py runs for every exercise.

A mutant suite: for each exercise, plausible wrong answers that are NOT among its known
mistakes (the check and the grading must reject every one), and correct answers written
differently from the reference (both must accept every one). Then the challenge's portal.
"""

import base64
import hashlib
import hmac
import json
import math
import time

import jwt
import numpy as np
import pytest
from mutants import assert_enough_mutants, mutant_tests

from mlsec_helpers.apisec import weak
from mlsec_helpers.checks import lab12
from mlsec_helpers.exercises import run_check

# --- exercise 1: verify_token ---------------------------------------------------------------------


def vt_no_verify(token, secret):  # reads the claims without checking the signature
    return jwt.decode(token, options={"verify_signature": False})


def vt_header_alg(token, secret):  # trusts the algorithm the token names (alg=none passes)
    alg = jwt.get_unverified_header(token)["alg"]
    if alg == "none":
        return jwt.decode(token, options={"verify_signature": False})
    return jwt.decode(token, secret, algorithms=[alg])


def vt_any_hs(token, secret):  # any HMAC algorithm
    return jwt.decode(token, secret, algorithms=["HS256", "HS384", "HS512"],
                      options={"require": ["exp", "sub"]})


def vt_no_exp_check(token, secret):  # expiry not verified
    return jwt.decode(token, secret, algorithms=["HS256"],
                      options={"verify_exp": False, "require": ["sub"]})


def vt_exp_optional(token, secret):  # a token without exp lives forever
    return jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["sub"]})


def vt_sub_optional(token, secret):  # no subject needed
    return jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp"]})


def vt_leeway(token, secret):  # ten minutes of grace
    return jwt.decode(token, secret, algorithms=["HS256"], leeway=600,
                      options={"require": ["exp", "sub"]})


def vt_none_result(token, secret):  # returns None instead of raising
    try:
        return jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.InvalidTokenError:
        return None


def vt_value_error(token, secret):  # the wrong exception
    try:
        return jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.InvalidTokenError as err:
        raise ValueError(str(err)) from None


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def vt_by_hand(token, secret):  # verification written out with hmac
    try:
        head, body, sig = token.split(".")
        header, claims = json.loads(_unb64(head)), json.loads(_unb64(body))
        good = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        ok_sig = hmac.compare_digest(good, _unb64(sig))
    except (ValueError, json.JSONDecodeError) as err:
        raise jwt.DecodeError(str(err)) from None
    if header.get("alg") != "HS256":
        raise jwt.InvalidAlgorithmError("HS256 only")
    if not ok_sig:
        raise jwt.InvalidSignatureError("bad signature")
    if "exp" not in claims or "sub" not in claims:
        raise jwt.MissingRequiredClaimError("exp/sub")
    if claims["exp"] <= time.time():
        raise jwt.ExpiredSignatureError("expired")
    return claims


def vt_pyjwt_object(token, secret):
    return jwt.PyJWT().decode(token, secret, algorithms=("HS256",),
                              options={"require": ["sub", "exp"]})


def vt_complete(token, secret):
    return jwt.decode_complete(token, key=secret, algorithms=["HS256"],
                               options={"require": ["exp", "sub"], "verify_exp": True})["payload"]


def vt_header_first(token, secret):  # checks the header before decoding
    if jwt.get_unverified_header(token).get("alg") != "HS256":
        raise jwt.InvalidAlgorithmError("HS256 only")
    claims = jwt.decode(token, secret, algorithms=["HS256"])
    for name in ("exp", "sub"):
        if name not in claims:
            raise jwt.MissingRequiredClaimError(name)
    return dict(claims)


# --- exercise 2: is_allowed -----------------------------------------------------------------------


def ia_user_model(principal, action, owner=None):  # users download the model
    if principal.get("role") == "user" and action == "model":
        return True
    return ia_table(principal, action, owner)


def ia_admin_only_listed(principal, action, owner=None):  # admins refused recommendations
    if principal.get("role") == "admin" and action == "recommendations":
        return False
    return ia_table(principal, action, owner)


def ia_user_everything(principal, action, owner=None):  # any known role may do anything
    return principal.get("role") in lab12.POLICY and action in lab12.POLICY["admin"]


def ia_owner_str(principal, action, owner=None):  # compares the owner as text
    role = principal.get("role")
    if not isinstance(role, str) or role not in lab12.POLICY or action not in lab12.POLICY[role]:
        return False
    if role == "user" and action == "recommendations":
        return str(owner) == str(principal.get("tenant"))
    return True


def ia_unknown_role_user(principal, action, owner=None):  # unknown roles treated as users
    role = principal.get("role")
    role = role if role in lab12.POLICY else "user"
    return ia_table({**principal, "role": role}, action, owner)


def ia_startswith(principal, action, owner=None):  # "admin..." roles count as admin
    role = principal.get("role")
    if isinstance(role, str) and role.lower().startswith("ad"):
        role = "admin"
    return ia_table({**principal, "role": role}, action, owner)


def ia_tenant_ignored_none(principal, action, owner=None):  # owner None means "own"
    if principal.get("role") == "user" and action == "recommendations" and owner is None:
        return True
    return ia_table(principal, action, owner)


def ia_always_false(principal, action, owner=None):
    return False


def ia_strings(principal, action, owner=None):  # answers "yes"/"no"
    return "yes" if ia_table(principal, action, owner) else "no"


def ia_table(principal, action, owner=None):
    table = {("user", "predict"), ("user", "recommendations"), ("admin", "predict"),
             ("admin", "recommendations"), ("admin", "scores"), ("admin", "model"),
             ("admin", "audit")}
    role = principal.get("role")
    if (role, action) not in table:
        return False
    if role == "user" and action == "recommendations":
        return principal.get("tenant") is not None and principal.get("tenant") == owner
    return True


def ia_match(principal, action, owner=None):
    match principal.get("role"), action:
        case "admin", ("predict" | "recommendations" | "scores" | "model" | "audit"):
            return True
        case "user", "predict":
            return True
        case "user", "recommendations":
            tenant = principal.get("tenant")
            return bool(tenant is not None and owner == tenant)
        case _:
            return False


def ia_sets(principal, action, owner=None):
    allowed = lab12.POLICY.get(principal.get("role"), frozenset()) if isinstance(
        principal.get("role"), str) else frozenset()
    if action not in allowed:
        return False
    return not (principal["role"] == "user" and action == "recommendations"
                and (principal.get("tenant") is None or principal.get("tenant") != owner))


def ia_np_bool(principal, action, owner=None):
    return np.bool_(lab12.POLICY.get(principal.get("role"), set()) and ia_table(
        principal, action, owner))


# --- exercise 3: valid_rows -----------------------------------------------------------------------


def _parse(rows, low, high):
    R = np.asarray(rows, dtype=float)
    lo, hi = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    if R.ndim != 2 or lo.shape != (R.shape[1],) or hi.shape != (R.shape[1],):
        raise ValueError("shapes")
    return R, lo, hi


def vr_first_column(rows, low, high):  # only the first column
    R, lo, hi = _parse(rows, low, high)
    return np.isfinite(R[:, 0]) & (R[:, 0] >= lo[0]) & (R[:, 0] <= hi[0])


def vr_no_range(rows, low, high):  # finiteness only
    R, lo, hi = _parse(rows, low, high)
    return np.isfinite(R).all(axis=1)


def vr_range_only(rows, low, high):  # ranges only (NaN fails by accident, inf not)
    R, lo, hi = _parse(rows, low, high)
    return ((R >= lo) & (R <= hi) | np.isinf(R)).all(axis=1)


def vr_swapped(rows, low, high):  # low and high swapped
    R, lo, hi = _parse(rows, low, high)
    return (np.isfinite(R) & (R >= hi) & (R <= lo)).all(axis=1)


def vr_inverted(rows, low, high):  # the invalid rows
    R, lo, hi = _parse(rows, low, high)
    return ~(np.isfinite(R) & (R >= lo) & (R <= hi)).all(axis=1)


def vr_no_shape_check(rows, low, high):  # broadcasts whatever it gets
    R = np.atleast_2d(np.asarray(rows, dtype=float))
    return (np.isfinite(R) & (R >= np.min(low)) & (R <= np.max(high))).all(axis=1)


def vr_nan_to_num(rows, low, high):  # replaces NaN by 0 first
    R, lo, hi = _parse(rows, low, high)
    R = np.nan_to_num(R, nan=0.0, posinf=np.inf, neginf=-np.inf)
    return (np.isfinite(R) & (R >= lo) & (R <= hi)).all(axis=1)


def vr_ints(rows, low, high):  # 0/1 integers instead of booleans
    R, lo, hi = _parse(rows, low, high)
    return (np.isfinite(R) & (R >= lo) & (R <= hi)).all(axis=1).astype(int)


def vr_in_place(rows, low, high):  # marks invalid values in the caller's array
    R = np.asarray(rows)
    _parse(R, low, high)
    ok = np.isfinite(R) & (R >= low) & (R <= high)
    R[~ok] = np.nan
    return ok.all(axis=1)


def vr_loop(rows, low, high):
    R, lo, hi = _parse(rows, low, high)
    out = []
    for row in R:
        out.append(all(math.isfinite(v) and a <= v <= b for v, a, b in zip(row, lo, hi,
                                                                         strict=True)))
    return np.array(out, dtype=bool)


def vr_logical(rows, low, high):
    R, lo, hi = _parse(rows, low, high)
    with np.errstate(invalid="ignore"):
        inside = np.logical_and(np.greater_equal(R, lo), np.less_equal(R, hi))
    return np.logical_and(inside, ~np.isnan(R)).all(axis=1) & ~np.isinf(R).any(axis=1)


def vr_min_max(rows, low, high):
    R, lo, hi = _parse(rows, low, high)
    finite = np.isfinite(R).all(axis=1)
    safe = np.where(np.isfinite(R), R, lo)
    return finite & ((safe - lo).min(axis=1) >= 0) & ((hi - safe).min(axis=1) >= 0)


def vr_clip_compare(rows, low, high):
    R, lo, hi = _parse(rows, low, high)
    return (np.clip(R, lo, hi) == R).all(axis=1) & np.isfinite(R).all(axis=1)


# --- exercise 4: token_bucket ---------------------------------------------------------------------


def _tb_args(times, rate, burst):
    if not rate > 0 or burst < 1:
        raise ValueError("parameters")
    ts = [float(t) for t in times]
    if any(b < a for a, b in zip(ts, ts[1:], strict=False)):
        raise ValueError("order")
    return ts


def tb_always(times, rate, burst):  # allows everything
    return [True] * len(_tb_args(times, rate, burst))


def tb_burst_count(times, rate, burst):  # the first `burst` requests only, ever
    ts = _tb_args(times, rate, burst)
    return [k < burst for k in range(len(ts))]


def tb_integer_refill(times, rate, burst):  # refills whole tokens only, losing fractions
    ts = _tb_args(times, rate, burst)
    tokens, last, out = burst, ts[0] if ts else 0.0, []
    for t in ts:
        gained = int((t - last) * rate)
        if gained:
            tokens, last = min(burst, tokens + gained), t
        out.append(tokens >= 1)
        tokens -= 1 if out[-1] else 0
    return out


def tb_refill_from_start(times, rate, burst):  # measures refill from the first request
    ts = _tb_args(times, rate, burst)
    tokens, out = float(burst), []
    for t in ts:
        tokens = min(float(burst), tokens + (t - ts[0]) * rate)
        out.append(tokens >= 1.0)
        tokens -= 1.0 if out[-1] else 0.0
    return out


def tb_rate_inverted(times, rate, burst):  # 1 / rate tokens per second
    ts = _tb_args(times, rate, burst)
    tokens, last, out = float(burst), ts[0] if ts else 0.0, []
    for t in ts:
        tokens = min(float(burst), tokens + (t - last) / rate)
        last = t
        out.append(tokens >= 1.0)
        tokens -= 1.0 if out[-1] else 0.0
    return out


def tb_burst_plus_one(times, rate, burst):  # a bucket one token larger
    ts = _tb_args(times, rate, burst)
    tokens, last, out = float(burst + 1), ts[0] if ts else 0.0, []
    for t in ts:
        tokens = min(float(burst + 1), tokens + (t - last) * rate)
        last = t
        out.append(tokens >= 1.0)
        tokens -= 1.0 if out[-1] else 0.0
    return out


def tb_no_validation(times, rate, burst):  # accepts bad parameters
    ts = [float(t) for t in times]
    tokens, last, out = float(burst), ts[0] if ts else 0.0, []
    for t in ts:
        tokens = min(float(burst), tokens + abs(t - last) * rate)
        last = t
        out.append(tokens >= 1.0)
        tokens -= 1.0 if out[-1] else 0.0
    return out


def tb_sliding_window(times, rate, burst):  # at most `burst` in the last burst/rate seconds
    ts = _tb_args(times, rate, burst)
    allowed, out = [], []
    for t in ts:
        recent = [a for a in allowed if a > t - burst / rate]
        ok = len(recent) < burst
        out.append(ok)
        if ok:
            allowed.append(t)
    return out


def tb_class(times, rate, burst):
    _tb_args(times, rate, burst)

    class Bucket:
        def __init__(self):
            self.tokens, self.at = float(burst), None

        def take(self, now):
            if self.at is not None:
                self.tokens = min(float(burst), self.tokens + (now - self.at) * rate)
            self.at = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False

    bucket = Bucket()
    return [bucket.take(float(t)) for t in times]


def tb_numpy(times, rate, burst):
    ts = np.asarray(_tb_args(times, rate, burst), dtype=float)
    out = np.zeros(len(ts), dtype=bool)
    tokens = float(burst)
    for k in range(len(ts)):
        if k:
            tokens = min(float(burst), tokens + (ts[k] - ts[k - 1]) * rate)
        if tokens >= 1:
            out[k], tokens = True, tokens - 1
    return out


def tb_debt(times, rate, burst):  # counts the time until the next token instead of tokens
    ts = _tb_args(times, rate, burst)
    # "virtual scheduling" (GCRA): the same decisions as a token bucket
    tat, out, period = ts[0] if ts else 0.0, [], 1.0 / rate
    tolerance = (burst - 1) * period
    for t in ts:
        if t < tat - tolerance - 1e-12:
            out.append(False)
        else:
            tat = max(tat, t) + period
            out.append(True)
    return out


def tb_tuple(times, rate, burst):  # a tuple, tokens kept as exact fractions
    from fractions import Fraction

    ts = _tb_args(times, rate, burst)
    tokens, last, out = Fraction(burst), Fraction(ts[0]) if ts else Fraction(0), []
    for t in map(Fraction, ts):
        tokens = min(Fraction(burst), tokens + (t - last) * Fraction(rate))
        last = t
        out.append(tokens >= 1)
        tokens -= 1 if out[-1] else 0
    return tuple(out)


# --- the suite ------------------------------------------------------------------------------------

V, A, R, B = lab12.VERIFY_TOKEN, lab12.ALLOWED_ACTIONS, lab12.VALID_ROWS, lab12.TOKEN_BUCKET
WRONG = [(V, f) for f in (vt_no_verify, vt_header_alg, vt_any_hs, vt_no_exp_check,
                          vt_exp_optional, vt_sub_optional, vt_leeway, vt_none_result,
                          vt_value_error)]
WRONG += [(A, f) for f in (ia_user_model, ia_admin_only_listed, ia_user_everything,
                           ia_owner_str, ia_unknown_role_user, ia_startswith,
                           ia_tenant_ignored_none, ia_always_false, ia_strings)]
WRONG += [(R, f) for f in (vr_first_column, vr_no_range, vr_range_only, vr_swapped, vr_inverted,
                           vr_no_shape_check, vr_nan_to_num, vr_ints, vr_in_place)]
WRONG += [(B, f) for f in (tb_always, tb_burst_count, tb_integer_refill, tb_refill_from_start,
                           tb_rate_inverted, tb_burst_plus_one, tb_no_validation,
                           tb_sliding_window)]
RIGHT = [(V, f) for f in (vt_by_hand, vt_pyjwt_object, vt_complete, vt_header_first)]
RIGHT += [(A, f) for f in (ia_table, ia_match, ia_sets, ia_np_bool)]
RIGHT += [(R, f) for f in (vr_loop, vr_logical, vr_min_max, vr_clip_compare)]
RIGHT += [(B, f) for f in (tb_class, tb_numpy, tb_debt, tb_tuple)]

(test_a_wrong_answer_is_rejected_by_the_check_and_the_grading,
 test_a_correct_answer_written_differently_is_accepted) = mutant_tests(WRONG, RIGHT)


def test_the_suite_is_large_enough():
    assert_enough_mutants((V, A, R, B), WRONG, RIGHT)


# --- the challenge --------------------------------------------------------------------------------


def ch_own_only(task):  # reads its own result only
    r = task.client.get(f"/v2/patients/{task.patient_id}/result",
                        headers={"X-API-Key": task.api_key})
    return {task.patient_id: r.json()["diagnosis"]}


def ch_enumerate(task):  # walks other ids on the per-patient route (refused: 403)
    out = {}
    for pid in range(task.patient_id - 3, task.patient_id + 3):
        r = task.client.get(f"/v2/patients/{pid}/result", headers={"X-API-Key": task.api_key})
        if r.status_code == 200:
            out[pid] = r.json()["diagnosis"]
    return out


def test_the_challenge_rejects_attacks_that_get_nothing():
    for attack in (ch_own_only, ch_enumerate):
        result = run_check(lab12.CHALLENGE, attack)
        assert result.status == "wrong", result.line()


def test_the_reference_attack_steals_everything_and_the_fix_stops_it():
    task = lab12.portal_task(seed=5)
    out = lab12.challenge_outcome(task, lab12.steal_results(task))
    assert out["share_stolen"] == 1.0 and out["n_others"] == task.n_patients - 1
    fixed = lab12.portal_task(seed=5, fixed=True)
    assert lab12.challenge_outcome(fixed, lab12.steal_results(fixed))["share_stolen"] == 0.0


def test_the_task_is_read_only_and_the_outcome_needs_a_task():
    task = lab12.portal_task(seed=6)
    with pytest.raises(AttributeError):
        task.api_key = "other"
    with pytest.raises(TypeError):
        lab12.challenge_outcome(object(), {})
    with pytest.raises(TypeError):
        lab12.challenge_outcome(task, [1, 2])


def test_the_portal_refuses_what_it_should():
    records = weak.portal_records(8, seed=2)
    app, keys = weak.portal_app(records, key_seed=3)
    from fastapi.testclient import TestClient

    client = TestClient(app, raise_server_exceptions=False)
    pid, key = next(iter(keys.items()))
    other = next(p for p in keys if p != pid)
    assert client.get("/v2/me").status_code == 401
    assert client.get("/v2/me", headers={"X-API-Key": "nope"}).status_code == 401
    assert client.get(f"/v2/patients/{other}/result", headers={"X-API-Key": key}).status_code == 403
    assert client.get("/v2/admin/results", headers={"X-API-Key": key}).status_code == 403
    assert client.get(f"/v2/patients/{pid}/result",
                      headers={"X-API-Key": key}).json()["patient_id"] == pid
    with pytest.raises(ValueError):
        weak.portal_records(1)
    with pytest.raises(TypeError):
        weak.portal_app("records")
    with pytest.raises(TypeError):
        weak.portal_app(records, fixed="yes")
