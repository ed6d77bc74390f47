"""What every domain of lab 12 shares: one FastAPI application that serves the five reference
systems, built weak or hardened from the switches of one :class:`SecurityConfig`.

The pieces, each with the library that does the work:

- authentication: API keys (:class:`KeyStore`, hashed with a keyed SHA-256, compared in constant
  time) and JSON Web Tokens (:class:`TokenIssuer`, PyJWT with a pinned algorithm list and
  required claims);
- authorisation: roles (``user``, ``admin``) and object-level checks (a recommender user sees
  only their own recommendations);
- limits: a per-principal token bucket (:class:`RateLimiter`, 429 with ``Retry-After``) and a
  request-size limit (a pure ASGI middleware, 413);
- validation: pydantic request models per system (shapes, finite numbers, ranges taken from the
  training data) and an error handler that never echoes the input;
- an audit log (:class:`AuditLog`) of every request, refused ones too, that stores who (a key
  id and a keyed pseudonym), what, when, the outcome and a keyed digest of the body, never the
  raw input.

Every clock is injected (:class:`ManualClock`), so token expiry and rate limits give the same
numbers on every machine.

Introduced in lab 12 (API security).
"""

# No ``from __future__ import annotations`` here: FastAPI reads the request model of each
# endpoint from its annotations, and the models are built at run time (one per system), so the
# annotations must stay real objects, not strings.

import base64
import dataclasses
import hashlib
import hmac
import json
import math
import secrets
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import jwt
import numpy as np
import pandas as pd
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from ..catalogue import DOMAINS
from ..validate import (
    ArgumentTypeError,
    check_choice,
    check_int,
    check_number,
    check_positive,
    check_seed,
    check_str,
)

__all__ = [
    "outcome_of",
    "ANONYMOUS",
    "API_PREFIX",
    "ROLES",
    "AuditLog",
    "AuthError",
    "Forbidden",
    "KeyStore",
    "ManualClock",
    "Principal",
    "RateLimiter",
    "ReferenceAPIs",
    "SecurityConfig",
    "ServedSystem",
    "TokenBucket",
    "TokenIssuer",
    "api_client",
    "build_app",
    "config_table",
    "forge_token",
    "keyed_digest",
    "reference_apis",
    "route_table",
    "served_system",
]

ROLES: tuple[str, ...] = ("user", "admin")
"""The roles a principal may have: a ``user`` may predict; an ``admin`` may also download the
model and see raw scores. Introduced in lab 12 (API security)."""

API_PREFIX: str = "/v1"
"""The prefix of every route of the API. Introduced in lab 12 (API security)."""


# --- principals, clocks ---------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: a name, a role in :data:`ROLES`, the id of the API key behind
    it and, for the recommender, the user id (as a string) the principal may see (``tenant``).

    Introduced in lab 12 (API security).
    """

    name: str
    role: str
    key_id: str
    tenant: str | None = None

    def __post_init__(self):
        check_str(self.name, "name")
        check_choice(self.role, ROLES, "role")
        check_str(self.key_id, "key_id")
        if self.tenant is not None:
            check_str(self.tenant, "tenant")


ANONYMOUS = Principal("anonymous", "user", "-")
"""The principal of a request that did not authenticate (audited under this name; served only
when ``SecurityConfig.require_auth`` is False). Introduced in lab 12 (API security)."""


class ManualClock:
    """A clock that moves only when told: ``clock()`` gives the time in seconds,
    ``clock.advance(seconds)`` moves it forward. Token expiry, rate limits and audit times all
    read it, so the lab's numbers do not depend on the machine's speed.

    Introduced in lab 12 (API security).
    """

    def __init__(self, start: float = 0.0):
        self._now = check_number(start, "start")

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (>= 0); returns the new time."""
        self._now += check_number(seconds, "seconds", low=0.0)
        return self._now

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now:g})"


def _check_clock(clock) -> Callable[[], float]:
    if not callable(clock):
        raise ArgumentTypeError(f"clock must be callable (a ManualClock or time.time), got "
                                f"{type(clock).__name__}")
    return clock


def _derive(seed: int, label: str, n: int = 32) -> bytes:
    """``n`` bytes derived from the lab's seed and a label (SHA-256): the lab's secrets are
    reproducible; a real deployment draws them from :mod:`secrets`."""
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(f"mlsec-lab12/{seed}/{label}/{counter}".encode()).digest()
        counter += 1
    return out[:n]


class AuthError(Exception):
    """A request whose credentials are missing, wrong, expired, revoked or forged: the API
    answers 401.

    Introduced in lab 12 (API security).
    """


class Forbidden(Exception):
    """A request whose principal is known but not allowed to do this: the API answers 403.

    Introduced in lab 12 (API security).
    """


# --- API keys ---------------------------------------------------------------------------------


@dataclass
class _KeyRecord:
    principal: Principal
    digest: bytes
    revoked: bool = False


class KeyStore:
    """API keys: :meth:`issue` returns a raw key once and keeps only its keyed SHA-256 (HMAC),
    :meth:`verify` compares in constant time, :meth:`revoke` switches a key off.

    A raw key reads ``mlk_<key id>_<secret>``: the key id (not secret) finds the record, the
    secret part (128 bits) is what the digest protects. With ``secret_seed`` (an int) keys are
    derived from it, so the lab is reproducible; ``None`` draws them from :mod:`secrets`.

    Introduced in lab 12 (API security).
    """

    PREFIX = "mlk_"

    def __init__(self, secret_seed: int | None = None):
        if secret_seed is None:
            self._pepper = secrets.token_bytes(32)
            self._seed = None
        else:
            self._seed = check_seed(secret_seed)
            self._pepper = _derive(self._seed, "keystore-pepper")
        self._records: dict[str, _KeyRecord] = {}

    def _digest(self, raw: str) -> bytes:
        return hmac.new(self._pepper, raw.encode(), hashlib.sha256).digest()

    def issue(self, name: str, role: str, tenant: str | int | None = None) -> str:
        """A new API key for ``name`` with ``role`` (and ``tenant``); returns the raw key, which
        the store does not keep."""
        number = len(self._records) + 1
        key_id = f"k{number:03d}"
        if self._seed is None:
            part = secrets.token_hex(16)
        else:
            part = _derive(self._seed, f"key-{number}", 16).hex()
        tenant = None if tenant is None else str(tenant)
        principal = Principal(check_str(name, "name"), role, key_id, tenant)
        raw = f"{self.PREFIX}{key_id}_{part}"
        self._records[key_id] = _KeyRecord(principal, self._digest(raw))
        return raw

    @staticmethod
    def key_id_of(raw: str) -> str | None:
        """The key id a raw key names (None when it is not of the form ``mlk_<id>_<secret>``)."""
        if not isinstance(raw, str) or not raw.startswith(KeyStore.PREFIX):
            return None
        parts = raw[len(KeyStore.PREFIX):].split("_")
        return parts[0] if len(parts) == 2 and parts[0] and parts[1] else None

    def verify(self, raw: str, *, include_revoked: bool = False) -> Principal | None:
        """The principal of a raw key, or None for an unknown, malformed or revoked key (a
        revoked key passes only with ``include_revoked``, which is what a server that never
        reloads its revocation list does)."""
        key_id = self.key_id_of(raw)
        record = self._records.get(key_id) if key_id is not None else None
        # Compare even when the id is unknown, so that timing does not tell which ids exist.
        expected = record.digest if record is not None else b"\0" * 32
        same = hmac.compare_digest(self._digest(raw if isinstance(raw, str) else ""), expected)
        if record is None or not same:
            return None
        if record.revoked and not include_revoked:
            return None
        return record.principal

    def revoke(self, key_id: str) -> None:
        """Switch the key ``key_id`` off (its tokens too, where the API checks revocation)."""
        key_id = check_choice(key_id, list(self._records), "key_id")
        self._records[key_id].revoked = True

    def is_revoked(self, key_id: str) -> bool:
        """True for a revoked key id, and for an id the store never issued."""
        record = self._records.get(key_id)
        return record is None or record.revoked

    def principals(self, *, include_revoked: bool = False) -> list[Principal]:
        """The principals of the issued keys (active ones only, unless ``include_revoked``)."""
        return [r.principal for r in self._records.values()
                if include_revoked or not r.revoked]

    def principal(self, key_id: str) -> Principal:
        """The principal of ``key_id`` (revoked or not)."""
        return self._records[check_choice(key_id, list(self._records), "key_id")].principal

    def stored(self) -> pd.DataFrame:
        """What the store keeps per key: id, name, role, tenant, revoked, and the first hex
        digits of the digest (never the raw key)."""
        return pd.DataFrame([{"key_id": k, "name": r.principal.name, "role": r.principal.role,
                              "tenant": r.principal.tenant, "revoked": r.revoked,
                              "digest": r.digest.hex()[:16] + "..."}
                             for k, r in self._records.items()])

    def __len__(self) -> int:
        return len(self._records)

    def __repr__(self) -> str:
        revoked = sum(r.revoked for r in self._records.values())
        return f"KeyStore({len(self)} keys, {revoked} revoked)"


# --- JSON Web Tokens --------------------------------------------------------------------------

HMAC_ALGORITHMS: tuple[str, ...] = ("HS256", "HS384", "HS512")


class TokenIssuer:
    """JSON Web Tokens signed with an HMAC secret (PyJWT).

    :meth:`issue` writes the claims ``iss``, ``aud``, ``sub`` (the name), ``role``, ``key``
    (the API key id), ``tenant`` (when set), ``iat``, ``exp`` and ``jti``. :meth:`verify` pins
    the algorithm list to the issuer's one algorithm, requires every claim, and checks the
    signature, issuer, audience and expiry against the injected ``clock``; it raises
    :class:`AuthError` for anything else. ``accept_alg_none=True`` and ``verify_expiry=False``
    reproduce the weak API's verifier.

    A secret shorter than 32 bytes (the weak API's ``b"secret"``) is allowed, and PyJWT's
    warning about it is silenced (the lab says so itself); a verifier with a long secret also
    makes PyJWT enforce the minimum key length.

    Introduced in lab 12 (API security).
    """

    def __init__(self, secret: bytes, clock: Callable[[], float], algorithm: str = "HS256",
                 issuer: str = "mlsec-lab12", audience: str = "mlsec-api"):
        if not isinstance(secret, bytes | bytearray) or not secret:
            raise ArgumentTypeError("secret must be non-empty bytes")
        self._secret = bytes(secret)
        self.clock = _check_clock(clock)
        self.algorithm = check_choice(algorithm, HMAC_ALGORITHMS, "algorithm")
        self.issuer = check_str(issuer, "issuer")
        self.audience = check_str(audience, "audience")
        self.short_secret = len(self._secret) < 32
        self._issued = 0

    def issue(self, principal: Principal, ttl_s: float = 900.0) -> str:
        """A signed token for ``principal`` that expires ``ttl_s`` seconds from now."""
        if not isinstance(principal, Principal):
            raise ArgumentTypeError(f"principal must be a Principal, got "
                                    f"{type(principal).__name__}")
        ttl_s = check_positive(ttl_s, "ttl_s")
        now = float(self.clock())
        self._issued += 1
        claims = {"iss": self.issuer, "aud": self.audience, "sub": principal.name,
                  "role": principal.role, "key": principal.key_id, "iat": int(now),
                  "exp": int(now + ttl_s), "jti": f"{principal.key_id}-{self._issued}"}
        if principal.tenant is not None:
            claims["tenant"] = principal.tenant
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
            return jwt.encode(claims, self._secret, algorithm=self.algorithm)

    def verify(self, token: str, *, accept_alg_none: bool = False,
               verify_expiry: bool = True) -> Principal:
        """The principal a token names, or :class:`AuthError` (forged, expired, wrong
        signature, wrong issuer or audience, a claim missing)."""
        if not isinstance(token, str) or token.count(".") != 2:
            raise AuthError("malformed token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as err:
            raise AuthError(f"malformed token: {err}") from None
        alg = str(header.get("alg", ""))
        # Expiry and issued-at are checked below against the injected clock, not by PyJWT
        # (which reads the machine's wall time); PyJWT still requires the claims to exist.
        options = {"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                   "require": ["exp", "iat", "sub", "aud", "iss", "role", "key"]}
        try:
            if accept_alg_none and alg.lower() == "none":
                # The weak verifier: it trusts whatever an unsigned token says.
                claims = jwt.decode(token, options={**options, "verify_signature": False,
                                                    "verify_aud": False, "verify_iss": False})
            else:
                options["enforce_minimum_key_length"] = not self.short_secret
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
                    claims = jwt.decode(token, self._secret, algorithms=[self.algorithm],
                                        audience=self.audience, issuer=self.issuer,
                                        options=options)
        except jwt.InvalidTokenError as err:
            raise AuthError(f"invalid token: {err}") from None
        now = float(self.clock())
        try:
            exp, iat = float(claims["exp"]), float(claims["iat"])
        except (TypeError, ValueError, KeyError):
            raise AuthError("invalid token: exp and iat must be numbers") from None
        if verify_expiry and (now >= exp or iat > now):
            raise AuthError("token expired" if now >= exp else "token issued in the future")
        try:
            tenant = claims.get("tenant")
            return Principal(str(claims["sub"]), str(claims["role"]), str(claims["key"]),
                             None if tenant is None else str(tenant))
        except (ValueError, TypeError, KeyError) as err:
            raise AuthError(f"invalid token claims: {err}") from None

    def __repr__(self) -> str:
        return (f"TokenIssuer({self.algorithm}, {len(self._secret) * 8}-bit secret, "
                f"issuer={self.issuer!r}, audience={self.audience!r})")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge_token(claims: Mapping[str, Any], *, alg: str = "none", key: bytes = b"",
                header: Mapping[str, Any] | None = None) -> str:
    """A token written by an attacker: ``claims`` with header ``{"alg": alg, "typ": "JWT"}``
    (plus ``header``), signed with HMAC-``alg`` under ``key``, or unsigned for ``alg`` "none"
    in any spelling ("none", "None", "NONE"). Written by hand (base64url and :mod:`hmac`)
    because PyJWT refuses to write some of these on purpose.

    Introduced in lab 12 (API security).
    """
    if not isinstance(claims, Mapping):
        raise ArgumentTypeError("claims must be a mapping")
    alg = check_str(alg, "alg")
    head = {"alg": alg, "typ": "JWT", **dict(header or {})}
    signing_input = (_b64(json.dumps(head, separators=(",", ":")).encode()) + "."
                     + _b64(json.dumps(dict(claims), separators=(",", ":")).encode()))
    if alg.lower() == "none":
        return signing_input + "."
    digests = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
    digest = digests.get(alg.upper())
    if digest is None:
        raise ValueError(f"alg must be 'none' or one of {sorted(digests)}, got {alg!r}")
    if not isinstance(key, bytes | bytearray):
        raise ArgumentTypeError("key must be bytes")
    signature = hmac.new(bytes(key), signing_input.encode(), digest).digest()
    return signing_input + "." + _b64(signature)


# --- rate limits ------------------------------------------------------------------------------


class TokenBucket:
    """A token bucket: it holds up to ``burst`` tokens, refills at ``rate_per_s`` tokens per
    second of ``clock``, and a request of ``cost`` tokens passes when that many are left.

    Introduced in lab 12 (API security).
    """

    def __init__(self, rate_per_s: float, burst: float, clock: Callable[[], float]):
        self.rate_per_s = check_positive(rate_per_s, "rate_per_s")
        self.burst = check_number(burst, "burst", low=1.0)
        self.clock = _check_clock(clock)
        self.tokens = self.burst
        self._last = float(self.clock())

    def _refill(self) -> None:
        now = float(self.clock())
        if now > self._last:
            self.tokens = min(self.burst, self.tokens + (now - self._last) * self.rate_per_s)
        self._last = max(self._last, now)

    def allow(self, cost: float = 1) -> bool:
        """Take ``cost`` tokens if there are that many (True), else take none (False)."""
        cost = check_positive(cost, "cost")
        self._refill()
        if self.tokens + 1e-9 >= cost:
            self.tokens = max(0.0, self.tokens - cost)
            return True
        return False

    def retry_after(self, cost: float = 1) -> float:
        """Seconds until ``cost`` tokens are there (0 when they are now; ``inf`` when ``cost``
        is more than the bucket holds)."""
        cost = check_positive(cost, "cost")
        if cost > self.burst:
            return math.inf
        self._refill()
        return max(0.0, (cost - self.tokens) / self.rate_per_s)

    def __repr__(self) -> str:
        return (f"TokenBucket(rate_per_s={self.rate_per_s:g}, burst={self.burst:g}, "
                f"tokens={self.tokens:.2f})")


class RateLimiter:
    """One :class:`TokenBucket` per principal (by API key id), all with the same rate, burst
    and clock.

    Introduced in lab 12 (API security).
    """

    def __init__(self, rate_per_s: float, burst: float, clock: Callable[[], float]):
        self.rate_per_s = check_positive(rate_per_s, "rate_per_s")
        self.burst = check_number(burst, "burst", low=1.0)
        self.clock = _check_clock(clock)
        self._buckets: dict[str, TokenBucket] = {}

    def bucket(self, key_id: str) -> TokenBucket:
        """The bucket of ``key_id`` (a fresh, full one the first time)."""
        key_id = check_str(key_id, "key_id")
        if key_id not in self._buckets:
            self._buckets[key_id] = TokenBucket(self.rate_per_s, self.burst, self.clock)
        return self._buckets[key_id]

    def allow(self, key_id: str, cost: float = 1) -> bool:
        """Whether ``key_id`` may spend ``cost`` now (and spend it if so)."""
        return self.bucket(key_id).allow(cost)

    def retry_after(self, key_id: str, cost: float = 1) -> float:
        """Seconds until ``key_id`` may spend ``cost``."""
        return self.bucket(key_id).retry_after(cost)

    def __len__(self) -> int:
        return len(self._buckets)


# --- audit log --------------------------------------------------------------------------------

_OUTCOMES = {200: "served", 401: "unauthenticated", 403: "forbidden", 404: "not found",
             405: "method not allowed", 413: "too large", 422: "invalid", 429: "throttled"}


def outcome_of(status: int) -> str:
    """The audit log's word for an HTTP status (served, unauthenticated, forbidden, not found,
    too large, invalid, throttled, server error ...).

    Introduced in lab 12 (API security).
    """
    if status in _OUTCOMES:
        return _OUTCOMES[status]
    if 200 <= status < 300:
        return "served"
    return "server error" if status >= 500 else f"refused ({status})"


def keyed_digest(key: bytes, data: bytes | str) -> str:
    """HMAC-SHA256 of ``data`` under ``key``, as 16 hex digits: what the audit log stores for a
    body and, with its own key, for a pseudonym. Without the key, enumerating candidate values
    does not find which one gave a digest (a plain SHA-256 would).

    Introduced in lab 12 (API security).
    """
    if not isinstance(key, bytes | bytearray) or not key:
        raise ArgumentTypeError("key must be non-empty bytes")
    if isinstance(data, str):
        data = data.encode()
    if not isinstance(data, bytes | bytearray):
        raise ArgumentTypeError("data must be bytes or str")
    return hmac.new(bytes(key), bytes(data), hashlib.sha256).hexdigest()[:16]


class AuditLog:
    """The API's audit log: one row per request, refused ones too.

    A row keeps who (the key id, and a keyed pseudonym of the principal's name), what (method,
    endpoint template, system), when (``clock``), the outcome (status and a word), how many
    rows the request carried, and a keyed digest of the request (:meth:`request_digest`: method,
    raw path, query and body; equal requests give equal digests, so repeats can be found, but
    no value can be read back without the key). It never stores raw inputs, names
    or the recommender's user ids; :meth:`contains` proves it for a given string.

    Introduced in lab 12 (API security).
    """

    COLUMNS = ("time", "key_id", "principal", "role", "method", "endpoint", "system", "status",
               "outcome", "n_items", "digest")

    def __init__(self, pseudonym_key: bytes, clock: Callable[[], float] | None = None):
        if not isinstance(pseudonym_key, bytes | bytearray) or len(pseudonym_key) < 16:
            raise ArgumentTypeError("pseudonym_key must be bytes, at least 16 of them")
        self._key = bytes(pseudonym_key)
        self.clock = time.time if clock is None else _check_clock(clock)
        self._rows: list[dict] = []

    def pseudonym(self, name: str) -> str:
        """The keyed pseudonym of ``name`` (the same name always gives the same pseudonym)."""
        return "p-" + keyed_digest(self._key, str(name))[:12]

    def digest(self, body: bytes) -> str:
        """The keyed digest of a request body, as the log stores it."""
        if not isinstance(body, bytes | bytearray):
            raise ArgumentTypeError("body must be bytes")
        return keyed_digest(self._key, bytes(body))

    @staticmethod
    def _request_prefix(method: str, path: str, query: bytes | str) -> bytes:
        if isinstance(query, str):
            query = query.encode()
        return f"{method} {path}?".encode() + bytes(query) + b"\n"

    def request_digest(self, method: str, path: str, query: bytes | str = b"",
                       body: bytes = b"") -> str:
        """The keyed digest the log stores for a request: of ``"METHOD /raw/path?query\n"``
        followed by the body. Whoever holds the key can check whether a given request (say,
        user 123's recommendations) was made; nobody without it can."""
        if not isinstance(body, bytes | bytearray):
            raise ArgumentTypeError("body must be bytes")
        return keyed_digest(self._key, self._request_prefix(str(method).upper(), str(path),
                                                            query) + bytes(body))

    def new_digest(self, method: str = "", path: str = "", query: bytes | str = b""):
        """An incremental keyed digest (``.update(chunk)``, ``.hexdigest()``) of a request whose
        body arrives in chunks (see :meth:`request_digest`)."""
        return hmac.new(self._key, self._request_prefix(method, path, query), hashlib.sha256)

    def record(self, principal: Principal | None, endpoint: str, system: str, status: int,
               n_items: int, outcome: str, request_digest: str, *, method: str = "") -> None:
        """Append one row (``principal`` None means the request did not authenticate)."""
        principal = ANONYMOUS if principal is None else principal
        if not isinstance(principal, Principal):
            raise ArgumentTypeError("principal must be a Principal or None")
        status = check_int(status, "status", minimum=100, maximum=599)
        n_items = check_int(n_items, "n_items", minimum=0)
        self._rows.append({
            "time": float(self.clock()),
            "key_id": principal.key_id,
            "principal": ("anonymous" if principal is ANONYMOUS
                          else self.pseudonym(principal.name)),
            "role": principal.role if principal is not ANONYMOUS else "-",
            "method": str(method), "endpoint": str(endpoint), "system": str(system),
            "status": status, "outcome": str(outcome), "n_items": n_items,
            "digest": str(request_digest),
        })

    def frame(self) -> pd.DataFrame:
        """The log as a table, one row per request, in order."""
        return pd.DataFrame(self._rows, columns=list(self.COLUMNS))

    def last(self) -> dict:
        """The most recent row, as a dict (``frame()`` without building the table)."""
        if not self._rows:
            raise IndexError("the audit log is empty")
        return dict(self._rows[-1])

    def contains(self, text: object) -> bool:
        """Whether any stored field holds ``text`` (as a substring of its string form)."""
        needle = str(text)
        return any(needle in str(value) for row in self._rows for value in row.values())

    def clear(self) -> None:
        """Forget every row."""
        self._rows.clear()

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return f"AuditLog({len(self)} rows)"


# --- configuration ----------------------------------------------------------------------------

RATE_UNITS: tuple[str, ...] = ("request", "item")


@dataclass(frozen=True)
class SecurityConfig:
    """The switches of the API: :func:`build_app` builds the weak and the hardened API from the
    same code, so every difference the lab shows is one switch.

    - ``require_auth``: refuse requests without credentials (401); False serves them as
      :data:`ANONYMOUS`.
    - ``accept_alg_none``: trust unsigned (``alg: none``) tokens (weak).
    - ``verify_token_expiry``: refuse expired tokens.
    - ``check_revocation``: refuse revoked keys and the tokens issued to them.
    - ``rbac``: only an admin may download a model (403 for a user).
    - ``rate_per_s``, ``burst``: the per-principal token bucket (None, None: no limit);
      ``rate_unit`` "request" charges one token per request, "item" one per row of a predict
      request (a batch of 32 images costs 32).
    - ``max_body_bytes``: refuse larger bodies with 413 (None: no limit);
      ``count_streamed_bytes``: also count the bytes of a chunked body as they arrive (False
      trusts the Content-Length header alone).
    - ``strict_validation``: finite numbers in the training data's ranges, bounded batches and
      texts (False: shapes only).
    - ``safe_error_handler``: answer invalid input with 422 and field locations only; False keeps
      FastAPI's default handler, which echoes the input and answers NaN with a 500.
    - ``raw_scores_admin_only``: users get labels only; admins get probabilities or scores.
    - ``object_level_auth``: a user sees only their own recommender data.
    - ``audit``: record every request in the audit log.
    - ``token_ttl_s``: the lifetime of tokens from ``POST /v1/token``.

    Introduced in lab 12 (API security).
    """

    require_auth: bool = True
    accept_alg_none: bool = False
    verify_token_expiry: bool = True
    check_revocation: bool = True
    rbac: bool = True
    rate_per_s: float | None = None
    burst: float | None = None
    rate_unit: str = "request"
    max_body_bytes: int | None = None
    count_streamed_bytes: bool = True
    strict_validation: bool = True
    safe_error_handler: bool = True
    raw_scores_admin_only: bool = True
    object_level_auth: bool = True
    audit: bool = True
    token_ttl_s: float = 900.0

    def __post_init__(self):
        for f in dataclasses.fields(self):
            if f.type in (bool, "bool") and not isinstance(getattr(self, f.name), bool):
                raise ArgumentTypeError(f"{f.name} must be True or False, got "
                                        f"{getattr(self, f.name)!r}")
        if (self.rate_per_s is None) != (self.burst is None):
            raise ValueError("rate_per_s and burst go together: give both, or neither")
        if self.rate_per_s is not None:
            check_positive(self.rate_per_s, "rate_per_s")
            check_number(self.burst, "burst", low=1.0)
        check_choice(self.rate_unit, RATE_UNITS, "rate_unit")
        if self.max_body_bytes is not None:
            check_int(self.max_body_bytes, "max_body_bytes", minimum=1)
        check_positive(self.token_ttl_s, "token_ttl_s")

    @classmethod
    def weak(cls) -> "SecurityConfig":
        """The weak API: keys or tokens (``alg: none`` trusted, no expiry, no revocation), no
        roles, no limits, shapes-only validation, FastAPI's default error handler, raw scores
        for everyone, no object-level checks; the audit log is on."""
        return cls(require_auth=True, accept_alg_none=True, verify_token_expiry=False,
                   check_revocation=False, rbac=False, rate_per_s=None, burst=None,
                   rate_unit="request", max_body_bytes=None, count_streamed_bytes=False,
                   strict_validation=False, safe_error_handler=False,
                   raw_scores_admin_only=False, object_level_auth=False, audit=True,
                   token_ttl_s=30 * 86400.0)

    @classmethod
    def hardened(cls) -> "SecurityConfig":
        """The hardened API: every check on; 20 rows per second per principal with bursts of
        64, bodies up to 1 MB (streamed bytes counted), tokens that live 15 minutes."""
        return cls(require_auth=True, accept_alg_none=False, verify_token_expiry=True,
                   check_revocation=True, rbac=True, rate_per_s=20.0, burst=64.0,
                   rate_unit="item", max_body_bytes=1_000_000, count_streamed_bytes=True,
                   strict_validation=True, safe_error_handler=True,
                   raw_scores_admin_only=True, object_level_auth=True, audit=True,
                   token_ttl_s=900.0)

    def replace(self, **changes) -> "SecurityConfig":
        """A copy with some switches changed (``dataclasses.replace``, checked again)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown switch(es) {sorted(unknown)}; known: "
                             f"{[f.name for f in dataclasses.fields(self)]}")
        return dataclasses.replace(self, **changes)

    def switches(self) -> dict[str, Any]:
        """The switches as a dict, in order."""
        return dataclasses.asdict(self)


def config_table(**configs: SecurityConfig) -> pd.DataFrame:
    """The switches of several configs side by side (one column per keyword), e.g.
    ``config_table(weak=SecurityConfig.weak(), hardened=SecurityConfig.hardened())``.

    Introduced in lab 12 (API security).
    """
    if not configs:
        raise ValueError("give at least one config, e.g. weak=SecurityConfig.weak()")
    for name, config in configs.items():
        if not isinstance(config, SecurityConfig):
            raise ArgumentTypeError(f"{name} must be a SecurityConfig, got "
                                    f"{type(config).__name__}")
    frame = pd.DataFrame({name: pd.Series(c.switches(), dtype=object)
                          for name, c in configs.items()})
    frame.index.name = "switch"
    return frame.reset_index()


# --- the served systems -----------------------------------------------------------------------


def _ranges(X: np.ndarray, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-column bounds from training data: the observed range widened by ``margin`` of its
    span on each side; never below 0 for a column that is never negative; exact for 0/1
    columns."""
    X = np.asarray(X, dtype=np.float64)
    lo, hi = X.min(0), X.max(0)
    span = np.where(hi > lo, hi - lo, np.maximum(np.abs(hi), 1.0))
    binary = np.all((X == 0) | (X == 1), axis=0)
    low = np.where(binary, 0.0, lo - margin * span)
    low = np.where((lo >= 0) & ~binary, np.maximum(low, 0.0), low)
    high = np.where(binary, 1.0, hi + margin * span)
    return low, high


def _bounded(lo: float, hi: float) -> Any:
    return Annotated[float, Field(ge=float(lo), le=float(hi), allow_inf_nan=False, strict=True)]


class ServedSystem:
    """One reference system behind the API: its request models (strict and lenient), its
    answer, its model bytes. Build one with :func:`served_system`.

    ``system`` may be a fitted system or a function of no arguments that returns one (built on
    first use, so an API over five systems starts quickly).

    - ``request_model(strict)``: the pydantic model of a predict body;
    - ``predict(payload, raw_scores=False)``: the answer (labels; probabilities or scores too
      when ``raw_scores``);
    - ``n_items(payload)``, ``features(payload)``: the rows a request carries, and those rows as
      the model sees them (for a detector);
    - ``body(values)``: a JSON body for rows of the domain's data; ``test_body(n, start)`` one
      from the test split;
    - ``model_bytes()``: the model as the admin download gives it (safetensors or skops, never a
      pickle).

    Introduced in lab 12 (API security).
    """

    domain: str = ""
    field_name: str = ""
    max_batch: int = 32

    def __init__(self, system, data):
        self._system = None if callable(system) and not hasattr(system, "predict") else system
        self._factory = system if self._system is None else None
        if data is None or getattr(data, "domain", None) != self.domain:
            raise ValueError(f"data must be the {self.domain} dataset (load_dataset"
                             f"({self.domain!r}, seed=0)), got {getattr(data, 'domain', data)!r}")
        self.data = data
        self._models: dict[bool, type[BaseModel]] = {}
        self._lock = threading.Lock()

    @property
    def system(self):
        """The fitted system (built now if it was given as a function; a second caller waits
        for a build in progress, e.g. one started by ``ReferenceAPIs.warm_up``)."""
        if self._system is None:
            with self._lock:
                if self._system is None:
                    self._system = self._factory()
        return self._system

    @property
    def built(self) -> bool:
        """Whether the system has been built yet."""
        return self._system is not None

    def request_model(self, strict: bool = True) -> type[BaseModel]:
        """The pydantic model of a predict body (strict: finite, in range, bounded batch)."""
        strict = bool(strict)
        if strict not in self._models:
            self._models[strict] = self._make_model(strict)
        return self._models[strict]

    def _make_model(self, strict: bool) -> type[BaseModel]:  # pragma: no cover - abstract
        raise NotImplementedError

    def n_items(self, payload) -> int:
        """The number of rows in a validated body."""
        return len(getattr(payload, self.field_name))

    def features(self, payload):
        """The rows of a validated body as the model takes them."""
        raise NotImplementedError  # pragma: no cover - abstract

    def predict(self, payload, raw_scores: bool = False) -> dict:
        """The answer to a validated body: the model's labels, and its probabilities when
        ``raw_scores`` (the image and recommender systems answer in their own way)."""
        return self._answer(np.asarray(self.system.predict_proba(self.features(payload))),
                            raw_scores)

    def body(self, values) -> dict:
        """A JSON-ready predict body for rows of the domain's data."""
        raise NotImplementedError  # pragma: no cover - abstract

    def test_body(self, n: int = 1, start: int = 0) -> dict:
        """A predict body of ``n`` rows of the test split, from row ``start``."""
        n = check_int(n, "n")
        start = check_int(start, "start", minimum=0)
        return self.body(self.data.X_test[start:start + n])

    def model_bytes(self) -> bytes:
        """The model as the admin download gives it."""
        from skops.io import dumps

        return dumps(self.system.estimator)

    @property
    def classes(self) -> list[str]:
        """The class names, in the order of the labels."""
        return [str(c) for c in self.data.target_names]

    def _classes(self) -> list[str]:
        return self.classes

    def _answer(self, proba: np.ndarray, raw_scores: bool) -> dict:
        labels = proba.argmax(1)
        names = self._classes()
        out = {"labels": [int(k) for k in labels], "classes": [names[k] for k in labels]}
        if raw_scores:
            out["probabilities"] = np.round(proba.astype(np.float64), 6).tolist()
        return out

    def __repr__(self) -> str:
        state = "built" if self.built else "not built yet"
        return f"{type(self).__name__}({self.domain}, {state})"


class _ImageSystem(ServedSystem):
    domain, field_name, max_batch = "image", "pixels", 32

    def __init__(self, system, data):
        super().__init__(system, data)
        self.side = int(data.X_train.shape[-1])
        self.n_pixels = self.side * self.side

    def _make_model(self, strict):
        n = self.n_pixels
        if strict:
            row = Annotated[list[_bounded(0.0, 1.0)], Field(min_length=n, max_length=n)]
            batch = Annotated[list[row], Field(min_length=1, max_length=self.max_batch)]
        else:
            row = Annotated[list[float], Field(min_length=n, max_length=n)]
            batch = list[row]
        return create_model(
            f"ImageRequest{'Strict' if strict else 'Lenient'}",
            __config__=ConfigDict(extra="forbid" if strict else "ignore"),
            pixels=(batch, Field(description=f"a batch of {self.side}x{self.side} grey digits, "
                                 f"each flattened row by row to {n} pixels in [0, 1]")),
        )

    def features(self, payload):
        return np.asarray(payload.pixels, dtype=np.float32)

    def predict(self, payload, raw_scores=False):
        X = self.features(payload).reshape(-1, 1, self.side, self.side)
        return self._answer(self.system.predict_proba(X), raw_scores)

    def body(self, values):
        X = np.asarray(values, dtype=np.float64)
        if X.ndim < 2 or X[0].size != self.n_pixels:
            raise ValueError(f"values must be images of {self.n_pixels} pixels "
                             f"((n, 1, {self.side}, {self.side}) or (n, {self.n_pixels})), "
                             f"got shape {X.shape}")
        return {"pixels": X.reshape(len(X), self.n_pixels).tolist()}

    def model_bytes(self):
        from safetensors.torch import save

        return save({k: v.detach().cpu().contiguous()
                     for k, v in self.system.model.state_dict().items()})


class _TextSystem(ServedSystem):
    domain, field_name, max_batch = "nlp", "texts", 32

    def __init__(self, system, data):
        super().__init__(system, data)
        longest = max(len(t) for t in data.X_train)
        self.max_chars = int(2 * longest)
        self.max_text_chars = self.max_chars  # the same limit, under a second name

    def _make_model(self, strict):
        if strict:
            text = Annotated[str, Field(min_length=1, max_length=self.max_chars, strict=True)]
            batch = Annotated[list[text], Field(min_length=1, max_length=self.max_batch)]
        else:
            batch = list[str]
        return create_model(
            f"TextRequest{'Strict' if strict else 'Lenient'}",
            __config__=ConfigDict(extra="forbid" if strict else "ignore"),
            texts=(batch, Field(description="customer messages to triage")),
        )

    def features(self, payload):
        return list(payload.texts)

    def body(self, values):
        if isinstance(values, str):
            raise ArgumentTypeError("values must be a list of messages, not one string")
        return {"texts": [str(t) for t in values]}


class _RecommenderSystem(ServedSystem):
    domain, field_name, max_batch = "recommender", "user_id", 1
    max_k = 50

    def __init__(self, system, data):
        super().__init__(system, data)
        self.n_users = int(data.extra["n_users"])
        self.user_ids = np.arange(self.n_users)
        self.n_items_total = int(data.extra["n_items"])
        self.titles = list(data.extra["titles"])

    def _make_model(self, strict):
        if strict:
            fields = {
                # No range here: the object-level check runs first and an unknown id then
                # gets 404, so a foreign id's status does not tell whether it exists.
                "user_id": (Annotated[int, Field(strict=True)],
                            Field(description="the user (index 0..n_users-1)")),
                "k": (Annotated[int, Field(ge=1, le=self.max_k, strict=True)], 10),
            }
        else:
            fields = {"user_id": (int, ...), "k": (int, 10)}
        return create_model(f"RecommenderRequest{'Strict' if strict else 'Lenient'}",
                            __config__=ConfigDict(extra="forbid" if strict else "ignore"),
                            **fields)

    def n_items(self, payload):
        return 1

    def features(self, payload):
        return np.asarray([payload.user_id], dtype=np.int64)

    def predict(self, payload, raw_scores=False):
        return self.recommend(int(payload.user_id), int(payload.k), raw_scores)

    def recommend(self, user_id: int, k: int = 10, raw_scores: bool = False) -> dict:
        """The top-``k`` items of ``user_id`` (with predicted ratings when ``raw_scores``)."""
        if not 0 <= int(user_id) < self.n_users:
            raise KeyError(f"no user {user_id}")
        items = self.system.recommend(int(user_id), k=int(k))
        out = {"user_id": int(user_id), "items": [int(i) for i in items],
               "titles": [str(self.titles[i]) for i in items]}
        if raw_scores:
            scores = self.system.score([int(user_id)])[0]
            out["scores"] = [round(float(scores[i]), 4) for i in items]
        return out

    def body(self, values):
        return {"user_id": int(values), "k": 10}

    def test_body(self, n=1, start=0):
        """A body for the user of test row ``start`` (one user per request)."""
        start = check_int(start, "start", minimum=0)
        return self.body(int(self.data.X_test[start, 0]))

    def model_bytes(self):
        from safetensors.torch import save

        return save({k: v.detach().cpu().contiguous()
                     for k, v in self.system.model.state_dict().items()})


class _FraudSystem(ServedSystem):
    domain, field_name, max_batch = "fraud", "transactions", 32

    threshold = 0.5  # the label is the argmax: decline when P(fraud) >= 0.5

    def __init__(self, system, data, margin: float = 0.1):
        from .. import fraud_sim

        super().__init__(system, data)
        self.feature_names = list(data.feature_names)
        low, high = _ranges(data.X_train, margin)
        limits = fraud_sim.ATTACKER_CONSTRAINTS
        # The training data's range, within the simulator's documented limits.
        self.low = np.array([max(lo, float(limits[f]["min"])) if f in limits else lo
                             for f, lo in zip(self.feature_names, low, strict=True)])
        self.high = np.array([min(hi, float(limits[f]["max"])) if f in limits else hi
                              for f, hi in zip(self.feature_names, high, strict=True)])
        self.kinds = {f: limits[f]["kind"] for f in self.feature_names if f in limits}
        self.category_columns = [f for f in self.feature_names if f.startswith("cat_")]
        self.online_categories = [f"cat_{c}" for c in fraud_sim.ONLINE_CATEGORIES]
        self.in_person_categories = [f"cat_{c}" for c in fraud_sim.IN_PERSON_CATEGORIES]

    def bounds(self) -> pd.DataFrame:
        """The range the strict validation allows per feature (and the feature's kind)."""
        return pd.DataFrame({"feature": self.feature_names, "low": self.low, "high": self.high,
                             "kind": [self.kinds.get(f, "continuous")
                                      for f in self.feature_names]})

    def _row_rules(self):
        """The strict row's cross-field rules: whole numbers where the simulator has integers,
        0/1 for binary and one-hot columns, exactly one category, a channel the category
        allows. Messages name the fields, never the values."""
        whole = [f for f, k in self.kinds.items() if k == "integer"]
        zero_one = [f for f, k in self.kinds.items() if k in ("binary", "categorical")]
        cats, online, in_person = (self.category_columns, self.online_categories,
                                   self.in_person_categories)

        def check(row):
            for f in whole:
                if float(getattr(row, f)) != int(getattr(row, f)):
                    raise ValueError(f"{f} must be a whole number")
            for f in zero_one:
                if getattr(row, f) not in (0, 1):
                    raise ValueError(f"{f} must be 0 or 1")
            chosen = [c for c in cats if getattr(row, c) == 1]
            if len(chosen) != 1:
                raise ValueError("exactly one cat_* column must be 1")
            if "is_online" in self.kinds:
                allowed = online if row.is_online == 1 else in_person
                if chosen[0] not in allowed:
                    raise ValueError(f"{chosen[0]} does not allow is_online="
                                     f"{int(row.is_online)}")
            return row

        return {"rules": model_validator(mode="after")(check)}

    def _make_model(self, strict):
        if strict:
            cols = {name: (_bounded(lo, hi), ...)
                    for name, lo, hi in zip(self.feature_names, self.low, self.high, strict=True)}
            row = create_model("TransactionStrict", __config__=ConfigDict(extra="forbid"),
                               __validators__=self._row_rules(), **cols)
            batch = Annotated[list[row], Field(min_length=1, max_length=self.max_batch)]
        else:
            row = create_model("TransactionLenient", __config__=ConfigDict(extra="ignore"),
                               **{name: (float, ...) for name in self.feature_names})
            batch = list[row]
        return create_model(f"FraudRequest{'Strict' if strict else 'Lenient'}",
                            __config__=ConfigDict(extra="forbid" if strict else "ignore"),
                            transactions=(batch, Field(description="transactions to score")))

    def features(self, payload):
        return np.asarray([[getattr(t, name) for name in self.feature_names]
                           for t in payload.transactions], dtype=np.float64)

    def body(self, values):
        X = np.asarray(values, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.feature_names):
            raise ValueError(f"values must be (n, {len(self.feature_names)}) transactions, got "
                             f"shape {X.shape}")
        return {"transactions": [dict(zip(self.feature_names, map(float, row), strict=True))
                                 for row in X]}


class _MedicalSystem(ServedSystem):
    domain, field_name, max_batch = "medical", "patients", 32

    def __init__(self, system, data, margin: float = 0.1):
        super().__init__(system, data)
        self.feature_names = list(data.feature_names)
        self.low, self.high = _ranges(data.X_train, margin)

    def _make_model(self, strict):
        n = len(self.feature_names)
        if strict:
            # One type per position (JSON schema prefixItems): each column has its own range.
            row = tuple.__class_getitem__(tuple(_bounded(lo, hi)
                                                for lo, hi in zip(self.low, self.high,
                                                                  strict=True)))
            batch = Annotated[list[row], Field(min_length=1, max_length=self.max_batch)]
        else:
            batch = list[Annotated[list[float], Field(min_length=n, max_length=n)]]
        return create_model(
            f"MedicalRequest{'Strict' if strict else 'Lenient'}",
            __config__=ConfigDict(extra="forbid" if strict else "ignore"),
            patients=(batch, Field(description=f"rows of the {n} WDBC features, in the order "
                                   "of the dataset's feature_names")))

    def bounds(self) -> pd.DataFrame:
        """The range the strict validation allows per feature."""
        return pd.DataFrame({"feature": self.feature_names, "low": self.low, "high": self.high})

    def features(self, payload):
        return np.asarray([list(p) for p in payload.patients], dtype=np.float64)

    def body(self, values):
        X = np.asarray(values, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.feature_names):
            raise ValueError(f"values must be (n, {len(self.feature_names)}) patients, got "
                             f"shape {X.shape}")
        return {"patients": X.tolist()}


_SERVED = {"image": _ImageSystem, "nlp": _TextSystem, "recommender": _RecommenderSystem,
           "fraud": _FraudSystem, "medical": _MedicalSystem}


def served_system(domain: str, system, data) -> ServedSystem:
    """The :class:`ServedSystem` of ``domain``: ``system`` (lab 00's reference system, or a
    function that builds it on first use) and ``data`` (the domain's dataset, for the ranges the
    strict validation allows).

    Bodies: image ``{"pixels": [[784 floats in [0, 1]], ...]}`` (each digit flattened row by
    row); nlp ``{"texts": ["...", ...]}``; recommender ``{"user_id": int, "k": int}``; fraud
    ``{"transactions": [{feature: value, ...}, ...]}`` (the dataset's feature names); medical
    ``{"patients": [[30 floats], ...]}``. Strict batches hold 1 to 32 rows.

    Introduced in lab 12 (API security).
    """
    domain = check_choice(domain, DOMAINS, "domain")
    return _SERVED[domain](system, data)


# --- the application --------------------------------------------------------------------------


class _TooLarge(Exception):
    pass


class _BodyLimitMiddleware:
    """Refuse bodies above ``limit`` bytes with 413: at once when Content-Length says so, and,
    with ``count_streamed``, as the bytes of a body without Content-Length (chunked) arrive.
    A pure ASGI middleware (Starlette's BaseHTTPMiddleware would buffer the body first)."""

    def __init__(self, app, limit: int, count_streamed: bool):
        self.app, self.limit, self.count_streamed = app, limit, count_streamed

    async def _refuse(self, send, declared: bool):
        detail = {"detail": f"request body larger than {self.limit} bytes"
                  + ("" if declared else " (counted as it arrived)")}
        body = json.dumps(detail).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = None
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = None
        if length is not None and length > self.limit:
            await self._refuse(send, declared=True)
            return
        if not self.count_streamed:
            await self.app(scope, receive, send)
            return
        seen = 0
        over = False
        started = False

        async def counting_receive():
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    over = True
                    raise _TooLarge
            return message

        async def guarded_send(message):
            nonlocal started
            if over:  # the app answered an error for the body it could not read: replace it
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _TooLarge:
            over = True
        if over and not started:
            await self._refuse(send, declared=False)


class _AuditMiddleware:
    """Record every HTTP request in the audit log, after its answer: who (from the principal
    the authentication step left in the request state), the endpoint template, the status, the
    rows and a keyed digest of the body as read."""

    def __init__(self, app, audit: AuditLog, systems: tuple[str, ...], routes: list):
        self.app, self.audit, self.systems, self.routes = app, audit, systems, routes

    def _endpoint(self, scope) -> str:
        route = scope.get("route")
        if route is None:  # refused before routing (413): find the route it was meant for
            from starlette.routing import Match

            for candidate in self.routes:
                if candidate.matches(scope)[0] != Match.NONE:
                    route = candidate
                    break
        return getattr(route, "path", None) or "<no route>"

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        digest = self.audit.new_digest(scope.get("method", ""), scope.get("path", ""),
                                       scope.get("query_string", b""))
        status = 500

        async def digest_receive():
            message = await receive()
            if message["type"] == "http.request":
                digest.update(message.get("body", b""))
            return message

        async def status_send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, digest_receive, status_send)
        finally:
            endpoint = self._endpoint(scope)
            parts = endpoint.split("/")
            system = parts[2] if len(parts) > 2 and parts[2] in self.systems else "-"
            self.audit.record(state.get("principal"), endpoint, system, status,
                              int(state.get("n_items", 0)),
                              state.get("outcome") or outcome_of(status),
                              digest.hexdigest()[:16], method=scope.get("method", ""))


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def _throttled(request: Request, seconds: float, detail: str) -> HTTPException:
    request.state.outcome = "throttled"
    headers = {} if math.isinf(seconds) else {"Retry-After": str(max(1, math.ceil(seconds)))}
    return HTTPException(429, detail=detail, headers=headers)


def _safe_errors(errors: list[dict], limit: int = 10) -> list[dict]:
    def short(part):
        return part if isinstance(part, int) else str(part)[:64]

    return [{"loc": [short(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))[:200],
             "type": str(e.get("type", ""))} for e in errors[:limit]]


ScoresFlag = Annotated[bool | None, Query(description=(
    "true: ask for raw scores (403 for a user when they are admin-only); false: labels only; "
    "absent: raw scores whenever the principal may see them"))]


def build_app(served: Mapping[str, ServedSystem], config: SecurityConfig, *, keys: KeyStore,
              tokens: TokenIssuer, clock: Callable[[], float], audit: AuditLog | None,
              detector: Callable | None = None, title: str = "mlsec lab 12 API") -> FastAPI:
    """The FastAPI application serving ``served`` (domain -> :class:`ServedSystem`) under the
    switches of ``config``.

    Routes: ``GET /v1/health`` (no auth); ``POST /v1/token`` (an ``X-API-Key`` for a JWT);
    ``POST /v1/{system}/predict``; ``GET /v1/{system}/model`` (admin only with ``rbac``);
    ``GET /v1/recommender/users/{user_id}/recommendations?k=10`` (a user only for their own
    tenant id with ``object_level_auth``). Authentication: header ``X-API-Key: <key>`` or
    ``Authorization: Bearer <jwt>``. Refusals: 401 (credentials), 403 (role, other user's
    data), 413 (body size), 422 (validation), 429 (rate limit or detector, with
    ``Retry-After``). ``detector(principal, system, features)`` is called on every predict
    after validation; a true answer refuses it with 429 (outcome "detected").

    Introduced in lab 12 (API security).
    """
    if not isinstance(config, SecurityConfig):
        raise ArgumentTypeError(f"config must be a SecurityConfig, got {type(config).__name__}")
    if not isinstance(served, Mapping) or not served:
        raise ValueError("served must be a non-empty mapping of domain -> ServedSystem")
    for name, s in served.items():
        check_choice(name, DOMAINS, "system")
        if not isinstance(s, ServedSystem) or s.domain != name:
            raise ArgumentTypeError(f"served[{name!r}] must be the ServedSystem of {name!r}")
    if not isinstance(keys, KeyStore):
        raise ArgumentTypeError("keys must be a KeyStore")
    if not isinstance(tokens, TokenIssuer):
        raise ArgumentTypeError("tokens must be a TokenIssuer")
    clock = _check_clock(clock)
    if config.audit and audit is None:
        raise ValueError("config.audit is on: give an AuditLog (or turn the switch off)")
    if audit is not None and not isinstance(audit, AuditLog):
        raise ArgumentTypeError("audit must be an AuditLog or None")
    if detector is not None and not callable(detector):
        raise ArgumentTypeError("detector must be callable (principal, system, features)")

    app = FastAPI(title=title, version="1.0", openapi_url=f"{API_PREFIX}/openapi.json",
                  docs_url=None, redoc_url=None, redirect_slashes=False)
    limiter = (RateLimiter(config.rate_per_s, config.burst, clock)
               if config.rate_per_s is not None else None)
    app.state.config, app.state.keys, app.state.tokens = config, keys, tokens
    app.state.audit, app.state.limiter, app.state.served = audit, limiter, served
    app.state.clock = clock

    async def authenticate(request: Request) -> Principal:
        raw_key = request.headers.get("x-api-key")
        authorization = request.headers.get("authorization", "")
        if raw_key is not None:
            principal = keys.verify(raw_key, include_revoked=not config.check_revocation)
            if principal is None:
                raise _unauthorized("invalid or revoked API key")
        elif authorization[:7].lower() == "bearer ":
            try:
                principal = tokens.verify(authorization[7:].strip(),
                                          accept_alg_none=config.accept_alg_none,
                                          verify_expiry=config.verify_token_expiry)
            except AuthError as err:
                raise _unauthorized(str(err)) from None
            if config.check_revocation and keys.is_revoked(principal.key_id):
                raise _unauthorized("the key behind this token is revoked or unknown")
        elif not config.require_auth:
            principal = ANONYMOUS
        else:
            raise _unauthorized("authentication required: X-API-Key or Authorization: Bearer")
        request.state.principal = principal
        if limiter is not None and not limiter.allow(principal.key_id, 1):
            raise _throttled(request, limiter.retry_after(principal.key_id, 1),
                             "rate limit exceeded")
        return principal

    async def admin_only(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if config.rbac and principal.role != "admin":
            raise HTTPException(403, detail="this endpoint is for admins")
        return principal

    def owner_check(principal: Principal, user_id: int) -> None:
        if (config.object_level_auth and principal.role != "admin"
                and principal.tenant != str(user_id)):
            raise HTTPException(403, detail="a user may only see their own recommendations")

    def charge_and_detect(request: Request, principal: Principal, name: str, payload) -> None:
        s = served[name]
        n = s.n_items(payload)
        request.state.n_items = n
        if limiter is not None and config.rate_unit == "item" and n > 1:
            if not limiter.allow(principal.key_id, n - 1):
                raise _throttled(request, limiter.retry_after(principal.key_id, n - 1),
                                 f"rate limit exceeded ({n} rows)")
        if detector is not None and detector(principal, name, s.features(payload)):
            request.state.outcome = "detected"
            raise HTTPException(429, detail="query pattern refused",
                                headers={"Retry-After": "60"})

    def raw_for(principal: Principal, asked: bool | None) -> bool:
        allowed = not config.raw_scores_admin_only or principal.role == "admin"
        if asked and not allowed:
            raise HTTPException(403, detail="raw scores are for admins")
        return allowed if asked is None else bool(asked)

    @app.get(f"{API_PREFIX}/health", tags=["meta"])
    async def health() -> dict:
        """Liveness: no authentication."""
        return {"status": "ok", "systems": sorted(served)}

    @app.post(f"{API_PREFIX}/token", tags=["auth"])
    async def token(request: Request,
                    principal: Annotated[Principal, Depends(authenticate)]) -> dict:
        """Exchange an API key (header X-API-Key) for a bearer token."""
        if request.headers.get("x-api-key") is None:
            raise _unauthorized("a token is issued for an API key (X-API-Key), not a token")
        return {"access_token": tokens.issue(principal, config.token_ttl_s),
                "token_type": "bearer", "expires_in": int(config.token_ttl_s)}

    def add_predict(name: str) -> None:
        s = served[name]
        model = s.request_model(config.strict_validation)

        async def predict(request: Request, body: model,  # type: ignore[valid-type]
                          principal: Annotated[Principal, Depends(authenticate)],
                          scores: ScoresFlag = None) -> dict:
            raw = raw_for(principal, scores)
            charge_and_detect(request, principal, name, body)
            if name == "recommender":
                owner_check(principal, body.user_id)
                if not 0 <= body.user_id < s.n_users:
                    raise HTTPException(404, detail="no such user")
            return s.predict(body, raw_scores=raw)

        predict.__annotations__["body"] = model
        app.post(f"{API_PREFIX}/{name}/predict", tags=[name], name=f"{name}_predict",
                 summary=f"predict with the {name} system")(predict)

        async def download(principal: Annotated[Principal, Depends(admin_only)]) -> Response:
            return Response(s.model_bytes(), media_type="application/octet-stream",
                            headers={"Content-Disposition":
                                     f'attachment; filename="{name}-model.bin"'})

        app.get(f"{API_PREFIX}/{name}/model", tags=[name], name=f"{name}_model",
                summary=f"download the {name} model (admins)",
                response_class=Response)(download)

    for name in served:
        add_predict(name)

    if "recommender" in served:
        rec = served["recommender"]
        # user_id: an int path parameter; no range here (see owner_check, then 404).
        user_type = Annotated[int, Path(description="the user (index 0..n_users-1)")]
        if config.strict_validation:
            k_type = Annotated[int, Query(ge=1, le=rec.max_k)]
        else:
            k_type = Annotated[int, Query()]

        async def recommendations(request: Request, user_id: user_type,  # type: ignore
                                  principal: Annotated[Principal, Depends(authenticate)],
                                  k: k_type = 10,  # type: ignore[valid-type]
                                  scores: ScoresFlag = None) -> dict:
            request.state.n_items = 1
            raw = raw_for(principal, scores)
            owner_check(principal, user_id)
            if not 0 <= user_id < rec.n_users:
                raise HTTPException(404, detail="no such user")
            return rec.recommend(user_id, k, raw_scores=raw)

        recommendations.__annotations__.update(user_id=user_type, k=k_type)
        app.get(f"{API_PREFIX}/recommender/users/{{user_id}}/recommendations",
                tags=["recommender"], name="recommender_user")(recommendations)

    if config.safe_error_handler:
        @app.exception_handler(RequestValidationError)
        async def validation_error(request: Request, exc: RequestValidationError):
            errors = exc.errors()
            return JSONResponse(status_code=422, content={
                "detail": _safe_errors(errors), "n_errors": len(errors)})

    if config.max_body_bytes is not None:
        app.add_middleware(_BodyLimitMiddleware, limit=config.max_body_bytes,
                           count_streamed=config.count_streamed_bytes)
    if config.audit:
        app.add_middleware(_AuditMiddleware, audit=audit, systems=tuple(served),
                           routes=app.router.routes)
    return app


def api_client(app: FastAPI):
    """An in-process HTTP client of ``app`` (Starlette's ``TestClient``, base URL
    ``http://testserver``); a server error comes back as a 500 answer, not an exception.

    Introduced in lab 12 (API security).
    """
    from fastapi.testclient import TestClient

    if not isinstance(app, FastAPI):
        raise ArgumentTypeError(f"app must be a FastAPI application, got {type(app).__name__}")
    return TestClient(app, raise_server_exceptions=False)


def route_table(app: FastAPI) -> pd.DataFrame:
    """The routes of an API built by :func:`build_app`: method, path, who may call it.

    Introduced in lab 12 (API security).
    """
    if not isinstance(app, FastAPI):
        raise ArgumentTypeError(f"app must be a FastAPI application, got {type(app).__name__}")
    config = getattr(app.state, "config", None)
    rows = []
    for route in app.routes:
        path = getattr(route, "path", "")
        if not path.startswith(API_PREFIX) or path.endswith("openapi.json"):
            continue
        if path.endswith("/health"):
            who = "anyone"
        elif path.endswith("/model"):
            who = "admin" if config is not None and config.rbac else "any key or token"
        elif "/users/" in path:
            who = ("that user (or an admin)" if config is not None and config.object_level_auth
                   else "any key or token")
        elif path.endswith("/token"):
            who = "an API key"
        else:
            who = "any key or token"
        for method in sorted(getattr(route, "methods", []) - {"HEAD"}):
            rows.append({"method": method, "path": path, "who may call it": who,
                         "what it does": (getattr(route, "summary", None)
                                          or (route.endpoint.__doc__ or "").strip()
                                          .split("\n")[0])})
    return pd.DataFrame(rows)


# --- the reference bundle ---------------------------------------------------------------------

_SYSTEMS: dict[tuple[str, int], object] = {}


def _reference_system(domain: str, model_seed: int):
    key = (domain, model_seed)
    if key not in _SYSTEMS:
        from .. import systems

        _SYSTEMS[key] = systems.reference_system(domain, seed=model_seed)
    return _SYSTEMS[key]


@dataclass
class ReferenceAPIs:
    """Everything a section needs, from one call to :func:`reference_apis`.

    ``served``: domain -> :class:`ServedSystem` (each system is built on first use);
    ``clock``: the shared :class:`ManualClock`; ``keys``: the shared :class:`KeyStore`;
    ``weak_tokens`` (HS256 with the guessable secret ``b"secret"``) and ``hardened_tokens``
    (HS256 with a 256-bit secret); ``weak_audit``, ``hardened_audit``; ``weak_app``,
    ``hardened_app`` (:func:`build_app` with ``SecurityConfig.weak()`` and ``.hardened()``);
    ``api_keys``: label -> raw key for "user", "user2", "admin", "tenant_a", "tenant_b";
    ``tenants``: label -> recommender user id of the tenant keys.

    :meth:`app` builds another variant on the same systems, keys and clock (one switch
    changed, a detector added); :meth:`headers` gives the auth header of a label.

    Introduced in lab 12 (API security).
    """

    seed: int
    served: dict[str, ServedSystem]
    clock: ManualClock
    keys: KeyStore
    weak_tokens: TokenIssuer
    hardened_tokens: TokenIssuer
    weak_audit: AuditLog
    hardened_audit: AuditLog
    weak_app: FastAPI
    hardened_app: FastAPI
    api_keys: dict[str, str] = field(default_factory=dict)
    tenants: dict[str, int] = field(default_factory=dict)

    def app(self, config: SecurityConfig, *, audit: AuditLog | None = None,
            tokens: TokenIssuer | None = None, detector: Callable | None = None,
            systems: tuple[str, ...] | None = None) -> FastAPI:
        """Another app on the same systems, keys and clock. ``tokens`` defaults to the
        hardened issuer (the weak one for a config that accepts ``alg: none``); ``audit`` to a
        fresh log; ``systems`` to all five."""
        if not isinstance(config, SecurityConfig):
            raise ArgumentTypeError("config must be a SecurityConfig")
        if tokens is None:
            tokens = self.weak_tokens if config.accept_alg_none else self.hardened_tokens
        if audit is None and config.audit:
            audit = self.new_audit()
        names = tuple(self.served) if systems is None else tuple(systems)
        served = {check_choice(n, list(self.served), "system"): self.served[n] for n in names}
        return build_app(served, config, keys=self.keys, tokens=tokens, clock=self.clock,
                         audit=audit, detector=detector)

    def new_audit(self) -> AuditLog:
        """A fresh audit log with the bundle's pseudonym key and clock."""
        return AuditLog(_derive(self.seed, "audit-pseudonyms"), self.clock)

    def key(self, label: str) -> str:
        """The raw API key of ``label`` (see ``api_keys``)."""
        return self.api_keys[check_choice(label, list(self.api_keys), "label")]

    def principal(self, label: str) -> Principal:
        """The principal of ``label``'s key."""
        return self.keys.verify(self.key(label), include_revoked=True)

    def headers(self, label: str) -> dict[str, str]:
        """``{"X-API-Key": <the raw key of label>}``."""
        return {"X-API-Key": self.key(label)}

    def warm_up(self, domains=None, *, background: bool = False) -> threading.Thread | None:
        """Build the systems of ``domains`` (default: all) now, so that a section's first
        request does not pay for training; with ``background`` in a daemon thread (returned),
        while the notebook goes on (a request that needs a system still being built waits for
        it). The systems come out the same either way: their training is seeded and touches
        no global random state."""
        names = tuple(self.served) if domains is None else tuple(domains)
        for name in names:
            check_choice(name, list(self.served), "domain")

        def build():
            for name in names:
                _ = self.served[name].system

        if not background:
            build()
            return None
        thread = threading.Thread(target=build, name="mlsec-warm-up", daemon=True)
        thread.start()
        return thread

    def issue_key(self, name: str, role: str = "user", tenant: str | int | None = None
                  ) -> tuple[str, Principal]:
        """A new key (raw key and principal), e.g. to revoke it without touching the shared
        ones."""
        raw = self.keys.issue(name, role, tenant)
        return raw, self.keys.verify(raw)


def reference_apis(seed: int = 0, *, model_seed: int = 0) -> ReferenceAPIs:
    """The five reference systems behind a weak and a hardened API, with keys, tokens, a clock
    and audit logs, derived from ``seed`` (keys, secrets, tenants).

    The models are lab 00's reference systems of ``model_seed`` (0: the image CNN and the
    recommender come from their checkpoints; the other three are trained on first use and kept
    for this process). The lab's seed changes the keys, secrets and requests, not the models.
    Building the bundle loads the five datasets (for the validation ranges) and no model.

    Introduced in lab 12 (API security).
    """
    from ..data import load_dataset

    seed = check_seed(seed)
    model_seed = check_seed(model_seed)
    served = {}
    for domain in DOMAINS:
        served[domain] = served_system(
            domain, (lambda d=domain: _reference_system(d, model_seed)),
            load_dataset(domain, seed=0))
    clock = ManualClock(1_700_000_000.0)
    keys = KeyStore(seed)
    rng = np.random.default_rng(seed)
    n_users = served["recommender"].n_users
    tenant_ids = [int(u) for u in rng.choice(n_users, size=2, replace=False)]
    api_keys = {"user": keys.issue("alice", "user"), "user2": keys.issue("bob", "user"),
                "admin": keys.issue("carol", "admin"),
                "tenant_a": keys.issue(f"member-{tenant_ids[0]}", "user", tenant_ids[0]),
                "tenant_b": keys.issue(f"member-{tenant_ids[1]}", "user", tenant_ids[1])}
    weak_tokens = TokenIssuer(b"secret", clock, "HS256")
    hardened_tokens = TokenIssuer(_derive(seed, "jwt-secret"), clock, "HS256")
    pseudonyms = _derive(seed, "audit-pseudonyms")
    weak_audit = AuditLog(pseudonyms, clock)
    hardened_audit = AuditLog(pseudonyms, clock)
    weak_app = build_app(served, SecurityConfig.weak(), keys=keys, tokens=weak_tokens,
                         clock=clock, audit=weak_audit, title="mlsec lab 12 API (weak)")
    hardened_app = build_app(served, SecurityConfig.hardened(), keys=keys,
                             tokens=hardened_tokens, clock=clock, audit=hardened_audit,
                             title="mlsec lab 12 API (hardened)")
    return ReferenceAPIs(seed=seed, served=served, clock=clock, keys=keys,
                         weak_tokens=weak_tokens, hardened_tokens=hardened_tokens,
                         weak_audit=weak_audit, hardened_audit=hardened_audit,
                         weak_app=weak_app, hardened_app=hardened_app, api_keys=api_keys,
                         tenants={"tenant_a": tenant_ids[0], "tenant_b": tenant_ids[1]})

