"""Lab 12's image section: authentication of the cheque-reading API.

Forged and stolen credentials sent to the weak and the hardened API, each kind many times over
test digits, so every rate carries an interval:

- :func:`credential_attacks`: no key, a wrong key, a revoked key, a token that expired, a forged
  ``alg: none`` token, a token signed with a secret cracked offline from a small wordlist
  (:func:`crack_token_secret`, :data:`SECRET_WORDLIST`);
- :func:`adaptive_credential_attacks`: an attacker who knows the hardened design (HS256 pinned,
  a 256-bit secret, revocation checked): ``alg: none`` in other spellings, an algorithm switch,
  a ``kid`` header pointing to an empty key, the wordlist against the long secret, the weak
  API's token replayed, a token replayed after its key was revoked, a stripped signature;
- :func:`honest_digit_traffic`: users with valid keys and tokens, paced under the rate limit;
- :func:`auth_pentest_cases`: the section's rows of the pen test.

Introduced in lab 12 (API security).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..stats import proportion
from ..validate import ArgumentTypeError, check_choice, check_int, check_number, check_str
from .common import ReferenceAPIs, TokenIssuer, forge_token
from .pentest import PenTestCase
from .results import AttackTrial, SecretSearch

__all__ = [
    "SECRET_WORDLIST",
    "adaptive_credential_attacks",
    "auth_pentest_cases",
    "crack_token_secret",
    "credential_attacks",
    "honest_digit_traffic",
    "token_parts",
    "trials_table",
]

SECRET_WORDLIST: tuple[str, ...] = (
    "changeme", "password", "123456", "admin", "jwt", "key", "token", "test", "dev", "default",
    "qwerty", "letmein", "your-256-bit-secret", "secret123", "supersecret", "mysecret",
    "secretkey", "jwt_secret", "jwtsecret", "s3cr3t", "secret", "hunter2", "private",
    "changeit", "passw0rd", "api", "apikey", "server", "django-insecure", "flask-secret",
)
"""A small wordlist of HMAC secrets found in tutorials and leaked configs (``"secret"`` is one
of them, as is jwt.io's example ``"your-256-bit-secret"``). Introduced in lab 12 (API
security)."""

_HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def token_parts(token: str) -> dict:
    """A token's three parts as a reader sees them: the header and the claims (decoded, not
    verified) and the signature's length in bytes. Anyone holding a token can read them: a
    JWT is signed, not encrypted.

    Introduced in lab 12 (API security).
    """
    token = check_str(token, "token")
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("a JWT has three dot-separated parts (header.claims.signature)")
    try:
        header = json.loads(_unb64(parts[0]))
        claims = json.loads(_unb64(parts[1]))
        signature = _unb64(parts[2])
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"not a JWT: {err}") from None
    return {"header": header, "claims": claims, "signature_bytes": len(signature)}


def crack_token_secret(token: str, wordlist: Sequence[str] = SECRET_WORDLIST, *,
                       secret_bits: int | None = None) -> SecretSearch:
    """Try every word of ``wordlist`` as the HMAC secret of ``token`` (offline: no request to
    the API, so no rate limit or log sees it); returns the :class:`SecretSearch`.

    Introduced in lab 12 (API security).
    """
    token = check_str(token, "token")
    if isinstance(wordlist, str) or not len(wordlist):
        raise ValueError("wordlist must be a non-empty list of words")
    alg = str(token_parts(token)["header"].get("alg", ""))
    digest = _HASHES.get(alg.upper())
    if digest is None:
        raise ValueError(f"the token is not HMAC-signed (alg {alg!r}): nothing to crack")
    signing_input, _, signature = token.rpartition(".")
    target = _unb64(signature)
    start = time.perf_counter()
    found, tried = None, 0
    for word in wordlist:
        tried += 1
        key = word.encode() if isinstance(word, str) else bytes(word)
        if hmac.compare_digest(hmac.new(key, signing_input.encode(), digest).digest(), target):
            found = key
            break
    return SecretSearch(tried=tried, found=found, secret_bits=secret_bits,
                        seconds=time.perf_counter() - start)


def _check_bundle(bundle) -> ReferenceAPIs:
    if not isinstance(bundle, ReferenceAPIs):
        raise ArgumentTypeError("bundle must be the ReferenceAPIs of reference_apis(seed)")
    return bundle


def _check_bodies(bodies) -> list[dict]:
    bodies = list(bodies)
    if not bodies or not all(isinstance(b, dict) and "pixels" in b for b in bodies):
        raise ValueError("bodies must be a non-empty list of image bodies "
                         "(served['image'].test_body(...))")
    return bodies


def _send(client, bodies, headers_for, *, attack: str, api: str, note: str,
          labels=None, clock=None, interval_s: float = 0.0) -> AttackTrial:
    statuses: Counter = Counter()
    served = 0
    for i, body in enumerate(bodies):
        answer = client.post("/v1/image/predict", json=body, headers=headers_for(i))
        statuses[answer.status_code] += 1
        if answer.status_code == 200:
            ok = True
            if labels is not None:
                ok = answer.json().get("labels") == [int(labels[i])]
            served += ok
        if clock is not None and interval_s:
            clock.advance(interval_s)
    n = len(bodies)
    what = "test digits" if labels is None else "test digits, label checked"
    rate = proportion(served, n, on=f"{n} {what} ({api} API)")
    return AttackTrial(attack=attack, api=api, n=n, served=served, statuses=dict(statuses),
                       rate=rate, note=note)


def _claims(tokens: TokenIssuer, *, sub: str, role: str, key: str, now: float,
            ttl_s: float = 3600.0) -> dict:
    return {"iss": tokens.issuer, "aud": tokens.audience, "sub": sub, "role": role, "key": key,
            "iat": int(now), "exp": int(now + ttl_s), "jti": f"forged-{sub}"}


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _api_parts(bundle: ReferenceAPIs, api: str):
    api = check_choice(api, ("weak", "hardened"), "api")
    tokens = bundle.weak_tokens if api == "weak" else bundle.hardened_tokens
    return api, tokens


def credential_attacks(bundle: ReferenceAPIs, client, bodies, *, api: str,
                       seed: int = 0) -> list[AttackTrial]:
    """The six credential attacks, each sent once per body (one digit per request) through
    ``client`` to the ``api`` ("weak" or "hardened") of ``bundle``.

    No key; a wrong key (right format, random secret); a revoked key; a token that expired a
    minute ago (stolen from a log: issued with a 60 s lifetime, then the clock moves 61 s); a
    forged ``alg: none`` admin token; an admin token signed with the secret cracked offline
    from the attacker's own token with :data:`SECRET_WORDLIST` (when the crack fails, each
    request tries the next word). Success = the request was served (200).

    Introduced in lab 12 (API security).
    """
    bundle = _check_bundle(bundle)
    bodies = _check_bodies(bodies)
    api, tokens = _api_parts(bundle, api)
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    clock = bundle.clock
    admin = bundle.principal("admin")
    trials = []

    trials.append(_send(client, bodies, lambda i: {}, attack="no key", api=api,
                        note="no credential at all"))
    wrong = [f"mlk_k001_{rng.integers(0, 2**63):016x}{rng.integers(0, 2**63):016x}"
             for _ in bodies]
    trials.append(_send(client, bodies, lambda i: {"X-API-Key": wrong[i]}, attack="wrong key",
                        api=api, note="a real key id with a random secret part"))
    raw, principal = bundle.issue_key(f"leaver-{api}")
    bundle.keys.revoke(principal.key_id)
    trials.append(_send(client, bodies, lambda i: {"X-API-Key": raw}, attack="revoked key",
                        api=api, note="the key of a user who left, revoked"))
    _, stolen = bundle.issue_key(f"victim-{api}")
    old = tokens.issue(stolen, ttl_s=60)
    clock.advance(61)
    trials.append(_send(client, bodies, lambda i: _bearer(old), attack="expired token", api=api,
                        note="a 60 s token stolen from a log, used 61 s later"))
    forged = forge_token(_claims(tokens, sub="mallory", role="admin", key=admin.key_id,
                                 now=clock()), alg="none")
    trials.append(_send(client, bodies, lambda i: _bearer(forged),
                        attack="forged alg=none token", api=api,
                        note="unsigned token claiming role admin"))
    own = client.post("/v1/token", headers=bundle.headers("user"))
    if own.status_code != 200:
        raise RuntimeError(f"the attacker's own token request failed ({own.status_code}); "
                           "is the rate limit exhausted?")
    search = crack_token_secret(own.json()["access_token"])
    claims = _claims(tokens, sub="mallory", role="admin", key=admin.key_id, now=clock())
    if search.cracked:
        signed = [forge_token(claims, alg="HS256", key=search.found)] * len(bodies)
        note = (f"secret {search.found.decode()!r} cracked offline in {search.tried} tries, "
                "admin token signed with it")
    else:
        words = [SECRET_WORDLIST[i % len(SECRET_WORDLIST)].encode() for i in range(len(bodies))]
        signed = [forge_token(claims, alg="HS256", key=w) for w in words]
        note = (f"offline crack failed after {search.tried} words; each request signed with "
                "another word")
    trials.append(_send(client, bodies, lambda i: _bearer(signed[i]),
                        attack="token signed with a guessed secret", api=api, note=note))
    return trials


def adaptive_credential_attacks(bundle: ReferenceAPIs, client, bodies) -> list[AttackTrial]:
    """What an attacker who knows the hardened design tries against the hardened API, each
    sent once per body: ``alg: none`` spelled "None", "NONE", "nOnE"; the algorithm switched to
    HS384/HS512 with guessed secrets; a ``kid`` header naming an empty key file, signed with the
    empty key; the wordlist against the 256-bit secret (offline crack, then one guess per
    request); a token signed with the weak API's cracked secret; a genuine token replayed after
    its key was revoked; a genuine token with its signature stripped.

    Introduced in lab 12 (API security).
    """
    bundle = _check_bundle(bundle)
    bodies = _check_bodies(bodies)
    tokens = bundle.hardened_tokens
    clock = bundle.clock
    admin = bundle.principal("admin")
    n = len(bodies)
    claims = _claims(tokens, sub="mallory", role="admin", key=admin.key_id, now=clock())
    words = [SECRET_WORDLIST[i % len(SECRET_WORDLIST)].encode() for i in range(n)]
    trials = []

    spellings = ("None", "NONE", "nOnE")
    none_tokens = [forge_token(claims, alg=spellings[i % 3]) for i in range(n)]
    trials.append(_send(client, bodies, lambda i: _bearer(none_tokens[i]),
                        attack="alg none, other spellings", api="hardened",
                        note="None / NONE / nOnE in the header"))
    switched = [forge_token(claims, alg=("HS384", "HS512")[i % 2], key=words[i])
                for i in range(n)]
    trials.append(_send(client, bodies, lambda i: _bearer(switched[i]),
                        attack="algorithm switch", api="hardened",
                        note="HS384 / HS512 signed with wordlist secrets"))
    kid = [forge_token(claims, alg="HS256", key=b"", header={"kid": "../../../dev/null"})
           for _ in range(n)]
    trials.append(_send(client, bodies, lambda i: _bearer(kid[i]), attack="kid header trick",
                        api="hardened", note="kid points to /dev/null, signed with an empty key"))
    own = client.post("/v1/token", headers=bundle.headers("user2"))
    if own.status_code != 200:
        raise RuntimeError(f"the attacker's own token request failed ({own.status_code})")
    search = crack_token_secret(own.json()["access_token"], secret_bits=256)
    guessed = [forge_token(claims, alg="HS256", key=search.found or words[i]) for i in range(n)]
    trials.append(_send(client, bodies, lambda i: _bearer(guessed[i]),
                        attack="wordlist against the 256-bit secret", api="hardened",
                        note=f"offline crack: {search.tried} words, "
                             f"{'found' if search.cracked else 'none matched'}"))
    weak_secret = crack_token_secret(bundle.weak_tokens.issue(bundle.principal("user2"), 60))
    replayed = forge_token(claims, alg="HS256", key=weak_secret.found or b"secret")
    trials.append(_send(client, bodies, lambda i: _bearer(replayed),
                        attack="weak API's secret reused", api="hardened",
                        note="admin token signed with the secret cracked on the weak API"))
    raw, principal = bundle.issue_key("insider-adaptive")
    issued = client.post("/v1/token", headers={"X-API-Key": raw})
    if issued.status_code != 200:
        raise RuntimeError(f"the insider's token request failed ({issued.status_code})")
    kept = issued.json()["access_token"]
    bundle.keys.revoke(principal.key_id)
    trials.append(_send(client, bodies, lambda i: _bearer(kept),
                        attack="token replay after revocation", api="hardened",
                        note="a genuine token kept after its key was revoked"))
    stripped = own.json()["access_token"].rpartition(".")[0] + "."
    trials.append(_send(client, bodies, lambda i: _bearer(stripped),
                        attack="signature stripped", api="hardened",
                        note="a genuine token with its signature removed"))
    return trials


def honest_digit_traffic(bundle: ReferenceAPIs, client, bodies, labels, *, api: str,
                         interval_s: float = 0.25) -> list[AttackTrial]:
    """Honest users: half of ``bodies`` sent with a valid API key, half with a token bought
    with it from ``POST /v1/token``, one digit per request, ``interval_s`` seconds apart on the
    bundle's clock (under the hardened rate limit). Served correctly = 200 and the label the
    model gives locally (``labels``).

    Introduced in lab 12 (API security).
    """
    bundle = _check_bundle(bundle)
    bodies = _check_bodies(bodies)
    labels = np.asarray(labels)
    if labels.shape != (len(bodies),):
        raise ValueError(f"labels must hold one label per body ({len(bodies)}), got shape "
                         f"{labels.shape}")
    api, _ = _api_parts(bundle, api)
    interval_s = check_number(interval_s, "interval_s", low=0.0)
    half = len(bodies) // 2
    if half < 1:
        raise ValueError("send at least two bodies (one with the key, one with a token)")
    key = bundle.headers("user")
    bought = client.post("/v1/token", headers=key)
    if bought.status_code != 200:
        raise RuntimeError(f"the honest user's token request failed ({bought.status_code})")
    token = bought.json()["access_token"]
    return [
        _send(client, bodies[:half], lambda i: key, attack="honest user, API key", api=api,
              note="valid key", labels=labels[:half], clock=bundle.clock,
              interval_s=interval_s),
        _send(client, bodies[half:], lambda i: _bearer(token), attack="honest user, token",
              api=api, note="token from POST /v1/token", labels=labels[half:],
              clock=bundle.clock, interval_s=interval_s),
    ]


def trials_table(trials: Sequence[AttackTrial]) -> pd.DataFrame:
    """The trials as a table (one row each).

    Introduced in lab 12 (API security).
    """
    trials = list(trials)
    if not trials or not all(isinstance(t, AttackTrial) for t in trials):
        raise ValueError("trials must be a non-empty list of AttackTrial")
    return pd.DataFrame([t.as_row() for t in trials])


def auth_pentest_cases(bundle: ReferenceAPIs, body: dict, *, system: str = "image",
                       threat: str = "E5") -> list[PenTestCase]:
    """The authentication rows of the pen test for ``system`` (expected statuses of the
    hardened API): no key, wrong key, revoked key, expired token, forged ``alg: none`` token,
    token signed with a guessed secret, token replayed after revocation (all 401), a user on
    the admin-only model download (403) and an honest user (200). Tokens are minted when the
    cases are built; the expired one expires by the clock moving in its ``before`` hook.

    Introduced in lab 12 (API security).
    """
    bundle = _check_bundle(bundle)
    system = check_choice(system, tuple(bundle.served), "system")
    if not isinstance(body, dict):
        raise ArgumentTypeError("body must be a JSON body (a dict) of the system")
    tokens, clock = bundle.hardened_tokens, bundle.clock
    path = f"/v1/{system}/predict"
    admin = bundle.principal("admin")
    claims = _claims(tokens, sub="mallory", role="admin", key=admin.key_id, now=clock())
    revoked_raw, revoked = bundle.issue_key(f"pentest-revoked-{system}")
    _, replay = bundle.issue_key(f"pentest-replay-{system}")
    kept = tokens.issue(replay, ttl_s=600)
    stolen = tokens.issue(bundle.principal("user2"), ttl_s=30)
    bundle.keys.revoke(revoked.key_id)
    bundle.keys.revoke(replay.key_id)

    def case(name, headers, expected=401, before=None):
        return PenTestCase(name, system, threat, "POST", path, headers=headers, body=body,
                           expected=expected, before=before)

    return [
        case("no key", {}),
        case("wrong key", {"X-API-Key": "mlk_k001_" + "0" * 32}),
        case("revoked key", {"X-API-Key": revoked_raw}),
        case("expired token", _bearer(stolen), before=lambda: clock.advance(31)),
        case("forged alg=none token", _bearer(forge_token(claims, alg="none"))),
        case("token signed with a guessed secret",
             _bearer(forge_token(claims, alg="HS256", key=b"secret"))),
        case("token replay after revocation", _bearer(kept)),
        PenTestCase("user downloads the model", system, "IMG-T3" if system == "image"
                    else threat, "GET", f"/v1/{system}/model", headers=bundle.headers("user"),
                    expected=403),
        case("honest user with a key", bundle.headers("user"), expected=200),
    ]
