"""Lab 12, recommender section: object-level authorisation and an audit log without personal data.

A user's recommendations reveal what they watched. The route
``GET /v1/recommender/users/{user_id}/recommendations`` must answer a user for their own id only
(OWASP API Security Top 10 2023, API1: broken object level authorization, "BOLA"). Here:
enumerating ids (:func:`enumerate_lists`, :func:`list_leaked`), the encodings of one id an
adaptive attacker tries (:data:`ID_ENCODINGS`, :func:`encode_user_id`,
:func:`id_encoding_cases`) and the admin-looking routes and credentials
(:func:`admin_route_cases`); then the audit log: whether any personal value is stored
(:func:`personal_data_check`), what an incident responder can still do with it
(:func:`key_activity`, :func:`linked_requests`, :func:`request_seen`), and whether someone
without the pseudonym key can reverse it (:func:`pseudonym_reversal`, :func:`plain_pseudonym`).

Introduced in lab 12 (API security).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import quote

import numpy as np
import pandas as pd

from ..stats import Rate, proportion
from ..validate import ArgumentTypeError, check_choice, check_int, check_str

__all__ = [
    "ID_ENCODINGS",
    "admin_route_cases",
    "bola_cases",
    "encode_user_id",
    "enumerate_lists",
    "id_encoding_cases",
    "key_activity",
    "linked_requests",
    "list_leaked",
    "personal_data_check",
    "plain_pseudonym",
    "pseudonym_reversal",
    "recommendations_path",
    "request_seen",
]

_ROUTE = "/v1/recommender/users/{user_id}/recommendations"

ID_ENCODINGS: dict[str, tuple[str, bool]] = {
    "leading zeros": ("000{id}", True),
    "plus sign": ("+{id}", True),
    "decimal point": ("{id}.0", True),
    "space before (%20)": ("%20{id}", True),
    "digit separator": ("0_{id}", True),
    "negative index": ("-{neg}", True),
    "wraps a 64-bit integer": ("{wrap}", True),
    "Arabic-Indic digits": ("{arabic}", False),
    "full-width digits": ("{fullwidth}", False),
    "hexadecimal": ("{hex}", False),
    "exponent": ("{id}e0", False),
}
"""How an adaptive attacker writes another user's id in the path, and whether the API's integer
parser (pydantic, lax mode) reads it as a number: name -> (pattern, parses). The patterns:
leading zeros, a plus sign, a decimal point, a leading space, a digit separator (``0_7``), the
negative index that Python's list indexing would map to the same user (``-(n_users - id)``),
``2**64 + id`` (the same user where integers wrap at 64 bits), Arabic-Indic and full-width
digits, hexadecimal, an exponent. An id that parses must be refused by the object-level check
(403); one that does not parse by validation (422). Introduced in lab 12 (API security)."""

_ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def recommendations_path(user_id: int | str, k: int | None = None) -> str:
    """The path of ``user_id``'s recommendations (``?k=`` added when ``k`` is given); a string
    ``user_id`` is put in the path as it is (an encoded id).

    Introduced in lab 12 (API security).
    """
    if isinstance(user_id, bool) or not isinstance(user_id, int | np.integer | str):
        raise ArgumentTypeError(f"user_id must be an int or an encoded id (str), got "
                                f"{type(user_id).__name__}")
    path = _ROUTE.format(user_id=user_id)
    if k is not None:
        path += f"?k={check_int(k, 'k')}"
    return path


def encode_user_id(user_id: int, encoding: str, *, n_users: int) -> str:
    """``user_id`` written as the ``encoding`` of :data:`ID_ENCODINGS` says, ready for a path
    (non-ASCII digits percent-encoded as UTF-8). ``n_users`` is needed for the negative index.

    Introduced in lab 12 (API security).
    """
    n_users = check_int(n_users, "n_users")
    user_id = check_int(user_id, "user_id", minimum=0, maximum=n_users - 1)
    pattern, _ = ID_ENCODINGS[check_choice(encoding, ID_ENCODINGS, "encoding")]
    digits = str(user_id)
    return pattern.format(id=digits, neg=n_users - user_id, wrap=2 ** 64 + user_id,
                          arabic=quote(digits.translate(_ARABIC)),
                          fullwidth=quote(digits.translate(_FULLWIDTH)), hex=hex(user_id))


def _check_headers(headers) -> dict:
    if not isinstance(headers, Mapping):
        raise ArgumentTypeError("headers must be a mapping (e.g. bundle.headers('tenant_a'))")
    return dict(headers)


def enumerate_lists(client, headers: Mapping[str, str], user_ids, *,
                    pause: Callable[[], object] | None = None) -> pd.DataFrame:
    """The enumerating attacker: ``GET`` the recommendations of every id of ``user_ids`` with
    the caller's ``headers``, ``pause()`` after each request. Returns one row per id:
    ``user_id``, ``status``, ``items`` (the list of item indices answered, or None).

    Introduced in lab 12 (API security).
    """
    headers = _check_headers(headers)
    ids = [check_int(u, "user id", minimum=None) for u in user_ids]
    if not ids:
        raise ValueError("user_ids must hold at least one id")
    if pause is not None and not callable(pause):
        raise ArgumentTypeError("pause must be a function of no arguments or None")
    rows = []
    for u in ids:
        response = client.get(recommendations_path(u), headers=headers)
        items = None
        if response.status_code == 200:
            items = [int(i) for i in response.json()["items"]]
        rows.append({"user_id": u, "status": int(response.status_code), "items": items})
        if pause is not None:
            pause()
    return pd.DataFrame(rows)


def list_leaked(answer, truth: Mapping[int, Iterable[int]], own: int | None) -> bool:
    """Whether ``answer`` (a response, or the JSON dict of one) gave away another user's list:
    status 200, a ``user_id`` other than ``own`` (the caller's tenant), and exactly the items
    ``truth`` holds for that user (the recommender's own answer, the referee's view).

    Introduced in lab 12 (API security).
    """
    if not isinstance(truth, Mapping):
        raise ArgumentTypeError("truth must map user id -> the items of their list")
    if hasattr(answer, "status_code"):
        if answer.status_code != 200:
            return False
        try:
            answer = answer.json()
        except ValueError:
            return False
    if not isinstance(answer, Mapping) or "user_id" not in answer or "items" not in answer:
        return False
    user = answer["user_id"]
    if user == own or user not in truth:
        return False
    return [int(i) for i in answer["items"]] == [int(i) for i in truth[user]]


def bola_cases(headers: Mapping[str, str], user_ids, *, threat: str = "REC-T4") -> list:
    """One pen-test case per id of ``user_ids`` (ids that are not the caller's): read their
    recommendations with the caller's ``headers``; the hardened API must answer 403, whether
    the id exists or not.

    Introduced in lab 12 (API security).
    """
    from .pentest import PenTestCase

    headers = _check_headers(headers)
    ids = [check_int(u, "user id", minimum=None) for u in user_ids]
    if not ids:
        raise ValueError("user_ids must hold at least one id")
    return [PenTestCase(name=f"another user's recommendations (id {u})", system="recommender",
                        threat=threat, method="GET", path=recommendations_path(u),
                        headers=headers, expected=403) for u in ids]


def id_encoding_cases(victim: int, headers: Mapping[str, str], *, n_users: int,
                      threat: str = "REC-T4") -> list:
    """The adaptive attacker's encodings of the ``victim``'s id (:data:`ID_ENCODINGS`), as
    pen-test cases with the caller's ``headers``: 403 for an encoding the integer parser reads
    (the object-level check compares the parsed number), 422 for one it does not.

    Introduced in lab 12 (API security).
    """
    from .pentest import PenTestCase

    headers = _check_headers(headers)
    return [PenTestCase(name=f"victim's id, {name}", system="recommender", threat=threat,
                        method="GET",
                        path=recommendations_path(encode_user_id(victim, name, n_users=n_users)),
                        headers=headers, expected=403 if parses else 422)
            for name, (_, parses) in ID_ENCODINGS.items()]


def admin_route_cases(victim: int, headers: Mapping[str, str], own_token: str, *,
                      guessed_secret: bytes = b"secret", threat: str = "REC-T4") -> list:
    """The adaptive attacker's other ways to the ``victim``'s list, as pen-test cases: routes
    that look like an admin's or another spelling of the route (404: they do not exist), a role
    or a user id in a header or the query string (403: the path decides whose list, the
    verified credential decides who asks), the predict route with the victim's id in the body
    (403: the same object behind a second route), the id as a string or an extra field in the
    body (422), a token made from the caller's own (``own_token``) with the victim as tenant,
    signed with ``guessed_secret`` or unsigned (401), and that token next to the caller's key
    (403).

    Introduced in lab 12 (API security).
    """
    from .common import forge_token
    from .nlp import read_claims
    from .pentest import PenTestCase

    headers = _check_headers(headers)
    victim = check_int(victim, "victim", minimum=0)
    if not isinstance(guessed_secret, bytes) or not guessed_secret:
        raise ArgumentTypeError("guessed_secret must be non-empty bytes")
    claims = {**read_claims(own_token), "tenant": str(victim)}
    signed = forge_token(claims, alg="HS256", key=guessed_secret)
    unsigned = forge_token({**claims, "role": "admin"}, alg="none")
    bearer = {"Authorization": f"Bearer {signed}"}
    path = recommendations_path(victim)

    def case(name, target, head=None, expected=403, method="GET", body=None):
        return PenTestCase(name=name, system="recommender", threat=threat, method=method,
                           path=target, headers=headers if head is None else head, body=body,
                           expected=expected)

    return [
        case("admin-looking route /v1/admin/...",
             f"/v1/admin/recommender/users/{victim}/recommendations", expected=404),
        case("list of all users", "/v1/recommender/users", expected=404),
        case("user record without /recommendations", f"/v1/recommender/users/{victim}",
             expected=404),
        case("trailing slash", path + "/", expected=404),
        case("upper-case route", path.replace("recommender", "Recommender"), expected=404),
        case("query parameter admin=true", path + "?admin=true"),
        case("query parameter role=admin", path + "?role=admin"),
        case("header X-Role: admin", path, {**headers, "X-Role": "admin"}),
        case("header X-User-Id: the victim", path, {**headers, "X-User-Id": str(victim)}),
        case("the victim's raw scores (?scores=true)", path + "?scores=true"),
        case("predict route, victim's id in the body", "/v1/recommender/predict",
             method="POST", body={"user_id": victim, "k": 10}),
        case("predict route, id as a string", "/v1/recommender/predict", method="POST",
             body={"user_id": str(victim), "k": 10}, expected=422),
        case("predict route, extra field tenant", "/v1/recommender/predict", method="POST",
             body={"user_id": victim, "k": 10, "tenant": str(victim)}, expected=422),
        case("self-made token, tenant = victim, guessed secret", path, bearer, 401),
        case("alg=none token, tenant = victim, role=admin", path,
             {"Authorization": f"Bearer {unsigned}"}, 401),
        case("own key + self-made token (tenant = victim)", path, {**headers, **bearer}),
    ]


def personal_data_check(audit, values: Mapping[str, Iterable]) -> pd.DataFrame:
    """Whether the audit log stores any personal value: for each kind of ``values`` (e.g.
    ``{"user id in a path": [...], "film title": [...], "message text": [...]}``), how many
    values were checked and how many the log contains (``audit.contains``, a substring test of
    every stored field). Returns one row per kind: ``kind``, ``checked``, ``found``,
    ``examples found``.

    Introduced in lab 12 (API security).
    """
    if not callable(getattr(audit, "contains", None)):
        raise ArgumentTypeError("audit must be an AuditLog (with .contains)")
    if not isinstance(values, Mapping) or not values:
        raise ValueError("values must map a kind of personal data to the values to look for")
    rows = []
    for kind, items in values.items():
        if isinstance(items, str | bytes):
            raise ArgumentTypeError(f"values[{kind!r}] must be a list of values, not one string")
        items = [str(v) for v in items]
        if not items or not all(items):
            raise ValueError(f"values[{kind!r}] must hold at least one non-empty value")
        found = [v for v in items if audit.contains(v)]
        rows.append({"kind": str(kind), "checked": len(items), "found": len(found),
                     "examples found": ", ".join(found[:3])})
    return pd.DataFrame(rows)


def _check_log(frame) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise ArgumentTypeError("frame must be the audit log's table (audit.frame())")
    missing = {"time", "key_id", "principal", "endpoint", "outcome", "digest"} - set(frame)
    if missing:
        raise ValueError(f"frame lacks the audit columns {sorted(missing)}")
    return frame


def key_activity(frame, key_id: str) -> pd.DataFrame:
    """What one key did, from the audit log's table: its requests grouped by endpoint and
    outcome, with their number and the first and last time. What an incident responder asks
    first about a key. Introduced in lab 12 (API security).
    """
    frame = _check_log(frame)
    key_id = check_str(key_id, "key_id")
    mine = frame[frame["key_id"] == key_id]
    if mine.empty:
        raise ValueError(f"the log has no request of key {key_id!r}")
    return (mine.groupby(["endpoint", "outcome"], sort=False)
            .agg(requests=("time", "size"), first=("time", "min"), last=("time", "max"))
            .reset_index())


def linked_requests(frame, *, min_keys: int = 2) -> pd.DataFrame:
    """Requests linked by their keyed digest: every digest that at least ``min_keys``
    different keys sent (the same method, path, query and body), with the keys, the
    pseudonyms, the endpoint and the outcomes. The responder links a probe sent from several
    keys without reading the probe itself. Introduced in lab 12 (API security).
    """
    frame = _check_log(frame)
    min_keys = check_int(min_keys, "min_keys", minimum=1)
    rows = []
    for digest, group in frame.groupby("digest", sort=False):
        keys = list(dict.fromkeys(group["key_id"]))
        if len(keys) >= min_keys:
            rows.append({"digest": digest, "keys": ", ".join(keys),
                         "pseudonyms": ", ".join(dict.fromkeys(group["principal"])),
                         "endpoint": group["endpoint"].iloc[0], "requests": len(group),
                         "outcomes": ", ".join(dict.fromkeys(group["outcome"]))})
    return pd.DataFrame(rows, columns=["digest", "keys", "pseudonyms", "endpoint", "requests",
                                       "outcomes"])


def request_seen(frame, audit, method: str, path: str, query: bytes | str = b"",
                 body: bytes = b"") -> pd.DataFrame:
    """The rows of the log whose digest is that of the request ``method path?query body``:
    the responder who holds the key asks "was user 123's list read, and by which key?"
    (``audit.request_digest`` computes the digest the log stores).

    Introduced in lab 12 (API security).
    """
    frame = _check_log(frame)
    if not callable(getattr(audit, "request_digest", None)):
        raise ArgumentTypeError("audit must be the AuditLog that wrote frame")
    digest = audit.request_digest(check_str(method, "method"), check_str(path, "path"),
                                  query, body)
    return frame[frame["digest"] == digest]


def plain_pseudonym(name: str) -> str:
    """An unkeyed pseudonym: the first 12 hex digits of the SHA-256 of ``name``, prefixed like
    the log's. The control of :func:`pseudonym_reversal`: anyone can compute it, so anyone can
    reverse it by trying every candidate name.

    Introduced in lab 12 (API security).
    """
    return "p-" + hashlib.sha256(check_str(name, "name").encode()).hexdigest()[:12]


def pseudonym_reversal(pseudonyms, candidates, pseudonym: Callable[[str], str], *,
                       on: str = "") -> Rate:
    """How many of the distinct ``pseudonyms`` an attacker re-identifies by computing
    ``pseudonym(name)`` for every name of ``candidates`` (every user id, every member name) and
    looking the results up. With the log's own key this is the responder's controlled
    re-identification; with an unkeyed hash anyone can do it; with a wrong key nobody can.
    Returns a :class:`~mlsec_helpers.stats.Rate` over the distinct pseudonyms ("anonymous"
    left out). Introduced in lab 12 (API security).
    """
    if not callable(pseudonym):
        raise ArgumentTypeError("pseudonym must be a function name -> pseudonym")
    if isinstance(pseudonyms, str) or isinstance(candidates, str):
        raise ArgumentTypeError("pseudonyms and candidates must be lists, not one string")
    targets = {str(p) for p in pseudonyms} - {"anonymous"}
    if not targets:
        raise ValueError("pseudonyms must hold at least one pseudonym")
    names = [check_str(c, "candidate") for c in candidates]
    if not names:
        raise ValueError("candidates must hold at least one name")
    table = {pseudonym(c): c for c in names}
    return proportion(sum(p in table for p in targets), len(targets),
                      on=on or f"{len(targets)} pseudonyms")
