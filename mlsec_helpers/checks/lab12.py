"""Exercises of lab 12 (API security).

Each exercise's cases test every rule its statement in the lab states (named in each case's
label); ``hidden_cases`` test the same rules on other inputs, for :func:`exercises.grade`.
Tokens are made when the cases are made, with expiry times relative to that moment.
"""

from __future__ import annotations

import math
import numbers
import time
import weakref

import jwt
import numpy as np

from ..exercises import Case, Exercise, Mistake

# --- exercise 1: a token verifier ---------------------------------------------------------------


def verify_token(token, secret) -> dict:
    """Verify a JSON Web Token signed with HS256 and the shared ``secret`` (bytes) and return
    its claims (a dict). Refuse, by raising ``jwt.InvalidTokenError`` (or one of its
    subclasses), a token whose header names any algorithm other than HS256 (``none``
    included), whose signature does not verify with ``secret``, that lacks an ``exp`` or a
    ``sub`` claim, or whose ``exp`` has passed (no leeway).

    Introduced in lab 12 (API security).
    """
    return jwt.decode(token, secret, algorithms=["HS256"],
                      options={"require": ["exp", "sub"]})


def _vt_header(token, secret):  # returns the header, not the claims
    jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    return jwt.get_unverified_header(token)


def _vt_sub_only(token, secret):  # keeps only the subject
    claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    return {"sub": claims["sub"], "exp": claims["exp"]}


def _vt_strings(token, secret):  # every claim turned into a string
    claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    return {k: str(v) for k, v in claims.items()}


def _token(claims: dict, secret: bytes, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def _none_token(claims: dict) -> str:
    # PyJWT refuses to *encode* alg=none with a key; an attacker writes the token by hand
    return jwt.encode(claims, None, algorithm="none")


def _token_cases(secret: bytes, names: tuple[str, str], now: float | None = None) -> list[Case]:
    now = time.time() if now is None else now
    alice = {"sub": names[0], "role": "user", "exp": int(now) + 3600, "iat": int(now)}
    admin = {"sub": names[1], "role": "admin", "exp": int(now) + 86_400, "tenant": 7}
    return [
        Case((_token(alice, secret), secret), label="a valid user token (its claims returned)"),
        Case((_token(admin, secret), secret),
             label="a valid admin token with an extra claim (every claim returned)"),
        Case((_none_token({**alice, "role": "admin"}), secret),
             label="alg=none (no signature) is refused", raises=jwt.InvalidTokenError),
        Case((_token(alice, secret, "HS512"), secret),
             label="another algorithm (HS512), even with the right secret, is refused",
             raises=jwt.InvalidTokenError),
        Case((_token(alice, b"guessed-" + secret[8:]), secret),
             label="a signature made with another secret is refused",
             raises=jwt.InvalidTokenError),
        Case((_token({**alice, "exp": int(now) - 120}, secret), secret),
             label="an expired token (2 minutes ago) is refused", raises=jwt.InvalidTokenError),
        Case((_token({k: v for k, v in alice.items() if k != "exp"}, secret), secret),
             label="a token without exp is refused", raises=jwt.InvalidTokenError),
        Case((_token({k: v for k, v in alice.items() if k != "sub"}, secret), secret),
             label="a token without sub is refused", raises=jwt.InvalidTokenError),
        Case(("not-a-token", secret), label="a malformed token is refused",
             raises=jwt.InvalidTokenError),
    ]


def _verify_cases() -> list[Case]:
    # 64-byte secrets: PyJWT warns about shorter HMAC keys for HS512 (a case uses it)
    return _token_cases(b"lab12-exercise-secret-".ljust(64, b"0"), ("alice", "root"))


def _verify_hidden_cases() -> list[Case]:
    return _token_cases(b"another secret for the hidden cases".ljust(64, b"."), ("bob", "ops"))


def _verify_validate(got, case: Case) -> str | None:
    if not isinstance(got, dict):
        return "return the token's claims as a dict"
    return None


VERIFY_TOKEN = Exercise(
    name="verify_token",
    reference=verify_token,
    cases=_verify_cases,
    hidden_cases=_verify_hidden_cases,
    validate=_verify_validate,
    compare=lambda got, expected: got == expected,
    mistakes=[
        Mistake("the header returned", _vt_header,
                "return the verified PAYLOAD (the claims), not the header"),
        Mistake("claims dropped", _vt_sub_only,
                "return every claim of the payload: the API reads role and tenant from it"),
        Mistake("claims turned into strings", _vt_strings,
                "return the claims as decoded (numbers stay numbers)"),
    ],
    hint="jwt.decode(token, secret, algorithms=[...only HS256...], options={'require': [...]})",
)

# --- exercise 2: a role check -------------------------------------------------------------------

#: What each role may do. ``recommendations`` for a user is limited to their own tenant.
POLICY: dict[str, frozenset[str]] = {
    "user": frozenset({"predict", "recommendations"}),
    "admin": frozenset({"predict", "recommendations", "scores", "model", "audit"}),
}


def is_allowed(principal, action, owner=None) -> bool:
    """May ``principal`` (a dict with ``"role"`` and ``"tenant"``) perform ``action``?
    :data:`POLICY` lists what each role may do; anything not listed is refused (deny by
    default: an unknown role, an unknown action, a role written differently). An admin may do
    every action of the policy, for any ``owner``. A user may ``"recommendations"`` only when
    ``owner`` is their own tenant (and they have one: a tenant of ``None`` owns nothing). Roles
    and actions are compared exactly.

    Introduced in lab 12 (API security).
    """
    role = principal.get("role")
    if not isinstance(role, str) or role not in POLICY or action not in POLICY[role]:
        return False
    if role == "user" and action == "recommendations":
        tenant = principal.get("tenant")
        return tenant is not None and owner == tenant
    return True


def _ia_default_allow(principal, action, owner=None):  # unknown things allowed
    role = principal.get("role")
    if role in POLICY and action in ("predict", "recommendations", "scores", "model", "audit"):
        if action not in POLICY[role]:
            return False
    if role == "user" and action == "recommendations":
        return principal.get("tenant") is not None and owner == principal.get("tenant")
    return True


def _ia_no_owner(principal, action, owner=None):  # users read anyone's recommendations
    role = principal.get("role")
    return isinstance(role, str) and role in POLICY and action in POLICY[role]


def _ia_none_tenant(principal, action, owner=None):  # None == None lets tenantless users in
    role = principal.get("role")
    if not isinstance(role, str) or role not in POLICY or action not in POLICY[role]:
        return False
    if role == "user" and action == "recommendations":
        return owner == principal.get("tenant")
    return True


def _ia_casefold(principal, action, owner=None):  # "Admin" read as admin
    role = principal.get("role")
    role = role.lower() if isinstance(role, str) else role
    return is_allowed({**principal, "role": role}, action, owner)


def _ia_substring(principal, action, owner=None):  # "admin" anywhere in the role
    role = principal.get("role")
    if isinstance(role, str) and "admin" in role:
        role = "admin"
    return is_allowed({**principal, "role": role}, action, owner)


def _ia_admin_owner(principal, action, owner=None):  # admins held to the tenant rule too
    if action == "recommendations" and principal.get("role") in POLICY:
        tenant = principal.get("tenant")
        return tenant is not None and owner == tenant
    return is_allowed(principal, action, owner)


def _ia_user_scores(principal, action, owner=None):  # users may see raw scores
    if principal.get("role") == "user" and action == "scores":
        return True
    return is_allowed(principal, action, owner)


def _allowed_cases(tenant: int, other: int) -> list[Case]:
    user = {"role": "user", "tenant": tenant}
    admin = {"role": "admin", "tenant": None}
    return [
        Case((user, "predict"), label="a user may predict"),
        Case((user, "scores"), label="a user may not see raw scores"),
        Case((user, "model"), label="a user may not download the model"),
        Case((user, "recommendations", tenant), label="a user reads their own tenant's lists"),
        Case((user, "recommendations", other), label="a user may not read another tenant's"),
        Case(({"role": "user", "tenant": None}, "recommendations", None),
             label="a user without a tenant owns nothing"),
        Case((admin, "model"), label="an admin may download the model"),
        Case((admin, "recommendations", other), label="an admin reads any tenant's lists"),
        Case((admin, "delete_everything"), label="an action not in the policy is refused"),
        Case(({"role": "Admin", "tenant": None}, "model"),
             label="a role written differently ('Admin') is refused"),
        Case(({"role": "not-admin", "tenant": None}, "model"),
             label="a role that only contains 'admin' is refused"),
        Case(({"role": "auditor", "tenant": 3}, "predict"), label="an unknown role is refused"),
        Case(({"tenant": tenant}, "predict"), label="no role at all is refused"),
    ]


ALLOWED_ACTIONS = Exercise(
    name="is_allowed",
    reference=is_allowed,
    cases=lambda: _allowed_cases(7, 8),
    hidden_cases=lambda: _allowed_cases(1204, 33),
    validate=lambda got, case: None if isinstance(got, bool | np.bool_) else "return True or False",
    mistakes=[
        Mistake("allow by default", _ia_default_allow,
                "deny by default: refuse anything the policy does not list"),
        Mistake("no object-level check", _ia_no_owner,
                "a user's recommendations: compare owner with the principal's tenant"),
        Mistake("None equals None", _ia_none_tenant,
                "a user whose tenant is None owns nothing: refuse"),
        Mistake("roles compared without case", _ia_casefold, "compare roles exactly"),
        Mistake("substring match on the role", _ia_substring,
                "compare the role for equality, not 'admin' in role"),
        Mistake("admins held to the tenant rule", _ia_admin_owner,
                "an admin may read any tenant's recommendations"),
        Mistake("users see raw scores", _ia_user_scores,
                "scores are in the admin's row of POLICY only"),
    ],
    hint="look the role up in POLICY (deny if absent), then apply the tenant rule for users",
)

# --- exercise 3: a validator for finite, in-range inputs ----------------------------------------


def valid_rows(rows, low, high) -> np.ndarray:
    """Which rows of ``rows`` (a 2-D array, one request row per line) may reach the model? A
    row is valid when every value is finite and ``low[j] <= value <= high[j]`` for its column
    ``j`` (bounds inclusive). Return a boolean array with one entry per row; do not change
    ``rows``. A ``rows`` that is not 2-D, or bounds whose length is not the number of columns,
    is bad input: raise ``ValueError``.

    Introduced in lab 12 (API security).
    """
    R = np.asarray(rows, dtype=np.float64)
    lo, hi = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    if R.ndim != 2 or lo.shape != (R.shape[1],) or hi.shape != (R.shape[1],):
        raise ValueError("rows must be 2-D with one bound per column")
    return np.all(np.isfinite(R) & (R >= lo) & (R <= hi), axis=1)


def _vr_nan_passes(rows, low, high):  # "not below and not above": NaN is neither
    R, lo, hi = _vr_parse(rows, low, high)
    return np.all(~(R < lo) & ~(R > hi), axis=1)


def _vr_exclusive(rows, low, high):  # bounds exclusive
    R, lo, hi = _vr_parse(rows, low, high)
    return np.all(np.isfinite(R) & (R > lo) & (R < hi), axis=1)


def _vr_any(rows, low, high):  # one good value is enough
    R, lo, hi = _vr_parse(rows, low, high)
    return np.any(np.isfinite(R) & (R >= lo) & (R <= hi), axis=1)


def _vr_columns(rows, low, high):  # one answer per column
    R, lo, hi = _vr_parse(rows, low, high)
    return np.all(np.isfinite(R) & (R >= lo) & (R <= hi), axis=0)


def _vr_isnan_only(rows, low, high):  # infinity is not NaN
    R, lo, hi = _vr_parse(rows, low, high)
    ok = ~np.isnan(R) & ((R >= lo) | np.isinf(R)) & ((R <= hi) | np.isinf(R))
    return np.all(ok, axis=1)


def _vr_global_bounds(rows, low, high):  # the loosest bound for every column
    R, lo, hi = _vr_parse(rows, low, high)
    return np.all(np.isfinite(R) & (R >= lo.min()) & (R <= hi.max()), axis=1)


def _vr_clip(rows, low, high):  # clips in place and accepts everything
    R = np.asarray(rows)
    np.clip(R, low, high, out=R)
    return np.isfinite(R).all(axis=1)


def _vr_parse(rows, low, high):
    R = np.asarray(rows, dtype=np.float64)
    lo, hi = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    if R.ndim != 2 or lo.shape != (R.shape[1],) or hi.shape != (R.shape[1],):
        raise ValueError("bad shapes")
    return R, lo, hi


def _valid_cases(seed: int) -> list[Case]:
    gen = np.random.default_rng(seed)
    low = np.array([0.0, -5.0, 1.0, 0.0])
    high = np.array([1.0, 5.0, 100.0, 24.0])
    good = np.column_stack([gen.uniform(lo, hi, 6) for lo, hi in zip(low, high, strict=True)])
    bad = good.copy()
    bad[0, 1] = np.nan
    bad[1, 2] = np.inf
    bad[2, 3] = -np.inf
    bad[3, 0] = 1.5  # above the first column's bound, inside the others'
    bad[4, 2] = 0.5  # below the third column's bound
    edge = np.array([low, high, (low + high) / 2])
    return [
        Case((good, low, high), label="six valid rows"),
        Case((bad, low, high), label="NaN, +inf, -inf and out-of-range values (per column)"),
        Case((edge, low, high), label="values exactly on the bounds are valid"),
        Case((good[:1], low, high), label="a single row"),
        Case((good[:, :3], low, high), label="bounds that do not match the columns",
             raises=ValueError),
        Case((good[0], low, high), label="a 1-D array is bad input", raises=ValueError),
    ]


def _valid_validate(got, case: Case) -> str | None:
    n = np.asarray(case.args[0]).shape[0]
    if not isinstance(got, np.ndarray) or got.shape != (n,) or got.dtype != bool:
        return f"return a boolean array with one entry per row ({n} here)"
    return None


VALID_ROWS = Exercise(
    name="valid_rows",
    reference=valid_rows,
    cases=lambda: _valid_cases(0),
    hidden_cases=lambda: _valid_cases(12),
    validate=_valid_validate,
    mistakes=[
        Mistake("NaN passes", _vr_nan_passes,
                "every comparison with NaN is False, so 'not below and not above' lets it "
                "through: test np.isfinite"),
        Mistake("bounds exclusive", _vr_exclusive, "the bounds themselves are valid (<=, >=)"),
        Mistake("any instead of all", _vr_any, "a row is valid only if EVERY value is"),
        Mistake("one answer per column", _vr_columns, "reduce along the columns: axis=1"),
        Mistake("infinity passes", _vr_isnan_only, "infinity is not NaN: use np.isfinite"),
        Mistake("the same bounds for every column", _vr_global_bounds,
                "compare column j with low[j] and high[j]"),
    ],
    hint="np.all(np.isfinite(R) & (R >= low) & (R <= high), axis=1)",
)

# --- exercise 4: a token bucket -----------------------------------------------------------------


def token_bucket(times, rate, burst) -> list[bool]:
    """Decide each request of one principal with a token bucket. ``times`` are the requests'
    arrival times in seconds (non-decreasing). The bucket starts full with ``burst`` tokens,
    refills continuously at ``rate`` tokens per second and never holds more than ``burst``. A
    request that finds at least one token takes it and is allowed; otherwise it is refused and
    takes nothing. Return one bool per request. ``rate <= 0``, ``burst < 1`` or decreasing
    ``times`` are bad input: raise ``ValueError``.

    Introduced in lab 12 (API security).
    """
    if not (isinstance(rate, numbers.Real) and rate > 0 and math.isfinite(rate)):
        raise ValueError("rate must be a positive number")
    if not (isinstance(burst, numbers.Real) and burst >= 1):
        raise ValueError("burst must be at least 1")
    ts = [float(t) for t in times]
    if any(b < a for a, b in zip(ts, ts[1:], strict=False)):
        raise ValueError("times must not decrease")
    tokens, last, out = float(burst), ts[0] if ts else 0.0, []
    for t in ts:
        tokens = min(float(burst), tokens + (t - last) * rate)
        last = t
        if tokens >= 1.0:
            tokens -= 1.0
            out.append(True)
        else:
            out.append(False)
    return out


def _tb_checked(times, rate, burst):
    if not (rate > 0) or burst < 1:
        raise ValueError("bad parameters")
    ts = [float(t) for t in times]
    if any(b < a for a, b in zip(ts, ts[1:], strict=False)):
        raise ValueError("decreasing")
    return ts


def _tb_refused_pay(times, rate, burst):  # refused requests still spend a token
    ts = _tb_checked(times, rate, burst)
    tokens, last, out = float(burst), ts[0] if ts else 0.0, []
    for t in ts:
        tokens = min(float(burst), tokens + (t - last) * rate)
        last = t
        out.append(tokens >= 1.0)
        tokens -= 1.0
    return out


def _tb_no_cap(times, rate, burst):  # saves up beyond the burst
    ts = _tb_checked(times, rate, burst)
    tokens, last, out = float(burst), ts[0] if ts else 0.0, []
    for t in ts:
        tokens += (t - last) * rate
        last = t
        out.append(tokens >= 1.0)
        tokens -= 1.0 if out[-1] else 0.0
    return out


def _tb_empty_start(times, rate, burst):  # the bucket starts empty
    ts = _tb_checked(times, rate, burst)
    tokens, last, out = 0.0, ts[0] if ts else 0.0, []
    for t in ts:
        tokens = min(float(burst), tokens + (t - last) * rate)
        last = t
        out.append(tokens >= 1.0)
        tokens -= 1.0 if out[-1] else 0.0
    return out


def _tb_fixed_window(times, rate, burst):  # at most `burst` requests per 1/rate-second window
    ts = _tb_checked(times, rate, burst)
    counts: dict[int, int] = {}
    out = []
    for t in ts:
        w = int(t * rate)
        counts[w] = counts.get(w, 0) + 1
        out.append(counts[w] <= burst)
    return out


def _tb_per_request(times, rate, burst):  # refills `rate` tokens per request, not per second
    ts = _tb_checked(times, rate, burst)
    tokens, out = float(burst), []
    for _ in ts:
        out.append(tokens >= 1.0)
        tokens = min(float(burst), tokens - (1.0 if out[-1] else 0.0) + rate)
    return out


def _tb_strict(times, rate, burst):  # needs more than one token
    ts = _tb_checked(times, rate, burst)
    tokens, last, out = float(burst), ts[0] if ts else 0.0, []
    for t in ts:
        tokens = min(float(burst), tokens + (t - last) * rate)
        last = t
        out.append(tokens > 1.0)
        tokens -= 1.0 if out[-1] else 0.0
    return out


def _bucket_cases(shift: float) -> list[Case]:
    burst_then_wait = [shift + t for t in (0, 0, 0, 0, 0, 0.5, 1.0, 1.0, 3.0, 3.0, 3.0, 3.0)]
    steady = [shift + 0.25 * k for k in range(20)]
    long_idle = [shift + t for t in (0, 0, 0, 100, 100, 100, 100, 100)]
    return [
        Case((burst_then_wait, 2.0, 3), label="a burst of 5 against a bucket of 3, then refills"),
        Case((steady, 2.0, 2), label="a steady 4 requests a second against 2 a second"),
        Case((long_idle, 0.5, 3), label="after a long idle the bucket holds burst, not more"),
        Case(([shift + 0.1 * k for k in range(12)], 1.0, 4),
             label="refused requests take no token (refill counted in fractions)"),
        Case(([shift + 1.5 * k for k in range(8)], 0.5, 2),
             label="fractions of a token add up across refused requests"),
        Case(([], 1.0, 2), label="no requests"),
        Case(([shift, shift + 1.0], 0.0, 2), label="rate 0 is bad input", raises=ValueError),
        Case(([shift, shift + 1.0], 1.0, 0), label="burst 0 is bad input", raises=ValueError),
        Case(([shift + 2.0, shift + 1.0], 1.0, 2), label="decreasing times are bad input",
             raises=ValueError),
    ]


def _bucket_validate(got, case: Case) -> str | None:
    n = len(case.args[0])
    if not isinstance(got, list | tuple | np.ndarray) or len(got) != n:
        return f"return one decision per request ({n} here)"
    return None


TOKEN_BUCKET = Exercise(
    name="token_bucket",
    reference=token_bucket,
    cases=lambda: _bucket_cases(0.0),
    hidden_cases=lambda: _bucket_cases(1_000.0),
    validate=_bucket_validate,
    compare=lambda got, expected: [bool(g) for g in got] == list(expected),
    mistakes=[
        Mistake("refused requests pay", _tb_refused_pay,
                "a refused request takes nothing: subtract only when allowed"),
        Mistake("no cap at burst", _tb_no_cap,
                "the bucket never holds more than burst tokens (min(burst, ...))"),
        Mistake("starts empty", _tb_empty_start, "the bucket starts full"),
        Mistake("a fixed window", _tb_fixed_window,
                "refill continuously: tokens += (t - last) * rate"),
        Mistake("refill per request", _tb_per_request,
                "the refill depends on the time that passed, not on the number of requests"),
        Mistake("needs more than one token", _tb_strict, "one token is enough (>= 1)"),
    ],
    hint="tokens = min(burst, tokens + (t - last) * rate); allow and subtract if tokens >= 1",
)

# --- challenge: the clinic portal ---------------------------------------------------------------

_TRUTH: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class PortalTask:
    """The challenge's setting: ``client``, an in-process HTTP client of the clinic portal
    (:func:`mlsec_helpers.apisec.weak.portal_app`); ``api_key``, the key of one patient,
    ``patient_id``, that patient's id; ``n_patients``, how many patients the portal holds.
    The portal's records are kept apart, for :func:`challenge_outcome` only.

    Introduced in lab 12 (API security).
    """

    __slots__ = ("__weakref__", "_client", "_key", "_n", "_pid")

    def __init__(self, client, key: str, pid: int, n: int):
        self._client, self._key, self._pid, self._n = client, key, pid, n

    @property
    def client(self):
        """An HTTP client of the portal (``.get``, ``.post``, ``.patch`` ...; paths only)."""
        return self._client

    @property
    def api_key(self) -> str:
        """Your key (send it as the ``X-API-Key`` header)."""
        return self._key

    @property
    def patient_id(self) -> int:
        """Your own patient id."""
        return self._pid

    @property
    def n_patients(self) -> int:
        """How many patients the portal holds (you among them)."""
        return self._n

    def __repr__(self):
        return f"PortalTask(patient {self._pid}, {self._n} patients)"

    def __deepcopy__(self, memo):
        return self  # read-only: the check may hand it twice


def portal_task(*, seed: int = 0, n_patients: int = 40, fixed: bool = False) -> PortalTask:
    """The challenge's setting drawn with ``seed``: a fresh portal of ``n_patients`` synthetic
    patients, and the key of one of them. ``fixed=True`` repairs the planted flaw.

    Introduced in lab 12 (API security).
    """
    from fastapi.testclient import TestClient

    from ..apisec import weak

    records = weak.portal_records(n_patients, seed=seed)
    app, keys = weak.portal_app(records, fixed=fixed, key_seed=seed + 10_000)
    pid = int(records.patient_ids[0])
    task = PortalTask(TestClient(app, raise_server_exceptions=False), keys[pid], pid,
                      len(records))
    _TRUTH[task] = {int(p): int(d) for p, d in zip(records.patient_ids, records.diagnoses,
                                                   strict=True)}
    return task


def challenge_outcome(task, stolen) -> dict:
    """Grade what an attack got out of the portal: ``stolen`` maps patient ids to diagnoses
    (0 or 1). Returns the share of OTHER patients whose diagnosis ``stolen`` gives correctly,
    and how many of them that is. For grading and measuring.

    Introduced in lab 12 (API security).
    """
    if not isinstance(task, PortalTask) or task not in _TRUTH:
        raise TypeError("task must be a task returned by portal_task()")
    if not isinstance(stolen, dict):
        raise TypeError("stolen must be a dict {patient_id: diagnosis}")
    truth = _TRUTH[task]
    others = [p for p in truth if p != task.patient_id]
    right = sum(1 for p in others if p in stolen and stolen[p] == truth[p])
    return {"share_stolen": right / len(others), "n_stolen": right, "n_others": len(others)}


def steal_results(task) -> dict:
    """The reference attack: the profile update copies every field of its body onto the
    caller's profile (mass assignment, OWASP API3:2023), so a patient who sends
    ``{"display_name": ..., "role": "admin"}`` becomes an admin and reads every result.

    Introduced in lab 12 (API security).
    """
    headers = {"X-API-Key": task.api_key}
    task.client.patch("/v2/me", headers=headers,
                      json={"display_name": "patient", "role": "admin"})
    answer = task.client.get("/v2/admin/results", headers=headers)
    if answer.status_code != 200:
        return {}
    return {int(r["patient_id"]): int(r["diagnosis"]) for r in answer.json()}


def _challenge_validate(got, case: Case) -> str | None:
    if not isinstance(got, dict):
        return "return a dict {patient_id: diagnosis}"
    out = challenge_outcome(case.args[0], got)
    if out["share_stolen"] < 0.9:
        return (f"you got {out['n_stolen']} of the {out['n_others']} other patients' "
                "diagnoses right: read the portal's schema (client.get('/openapi.json')) and "
                "try each route as a pen tester would")
    return None


CHALLENGE = Exercise(
    name="steal_results",
    reference=steal_results,
    cases=lambda: [Case((portal_task(seed=s),), label=f"a portal (seed {s})") for s in (0, 1)],
    hidden_cases=lambda: [Case((portal_task(seed=s),), label=f"another portal (seed {s})")
                          for s in (101, 202)],
    validate=_challenge_validate,
    compare=lambda got, expected: True,  # graded by the outcome (validate)
    hint="which route accepts a body, and what does it do with fields it does not list?",
    time_limit=30.0,
)

#: Every exercise of this lab, in the order the lab asks them (the tests run each one).
EXERCISES: tuple[Exercise, ...] = (VERIFY_TOKEN, ALLOWED_ACTIONS, VALID_ROWS, TOKEN_BUCKET,
                                   CHALLENGE)

__all__ = ["ALLOWED_ACTIONS", "CHALLENGE", "EXERCISES", "POLICY", "TOKEN_BUCKET", "VALID_ROWS",
           "VERIFY_TOKEN", "PortalTask", "challenge_outcome", "is_allowed", "portal_task",
           "steal_results", "token_bucket", "valid_rows", "verify_token"]
