"""Lab 12, NLP section: the chatbot's message triage behind the API.

What a request may cost (a body over the size limit, announced by its Content-Length or
streamed in chunks without one; texts that are too long; batches that are too large) and what a
user may see (labels only; raw scores for admins). :class:`APITextClassifier` puts the API
behind the interface of a course classifier, so lab 04's theft and lab 02's evasion run through
HTTP unchanged; the pen-test cases of an attacker who tries to get around a control are built
here, and :func:`attempt_table` sends them and looks at what each answer gave away.

Introduced in lab 12 (API security).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..validate import ArgumentTypeError, check_int, check_str, check_texts

__all__ = [
    "APIRefused",
    "APITextClassifier",
    "BodyResult",
    "admin_data_leaked",
    "attempt_table",
    "has_scores",
    "json_body",
    "oversized_texts",
    "read_claims",
    "scores_bypass_cases",
    "send_body",
    "served_labels",
    "stream_chunks",
    "text_validation_cases",
]


def json_body(payload: object) -> bytes:
    """``payload`` as the compact JSON bytes a client sends (no spaces after separators).

    Introduced in lab 12 (API security).
    """
    try:
        return json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as err:
        raise ArgumentTypeError(f"payload must be JSON-serialisable with finite numbers: "
                                f"{err}") from None


def oversized_texts(texts, n_bytes: int) -> list[str]:
    """Honest-looking messages for an oversized body: ``texts`` repeated in order until the
    body ``{"texts": [...]}`` (compact JSON) is larger than ``n_bytes``. Every message is an
    ordinary one; only their number makes the body large.

    Introduced in lab 12 (API security).
    """
    texts = check_texts(texts)
    n_bytes = check_int(n_bytes, "n_bytes")
    if not texts or not all(texts):
        raise ValueError("texts must hold at least one non-empty message")
    sizes = [len(json.dumps(t)) + 1 for t in texts]  # the quoted text and its comma
    size, out, k = len(b'{"texts":[]}') - 1, [], 0
    while size <= n_bytes:
        out.append(texts[k % len(texts)])
        size += sizes[k % len(texts)]
        k += 1
    return out


def stream_chunks(body: bytes, chunk_size: int = 65_536) -> Iterator[bytes]:
    """``body`` in pieces of ``chunk_size`` bytes. Given a generator as its content, httpx
    sends the request with ``Transfer-Encoding: chunked`` and no Content-Length, so the server
    learns the size only as the bytes arrive.

    Introduced in lab 12 (API security).
    """
    if not isinstance(body, bytes | bytearray):
        raise ArgumentTypeError(f"body must be bytes, got {type(body).__name__}")
    chunk_size = check_int(chunk_size, "chunk_size")
    body = bytes(body)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), chunk_size):
            yield body[start:start + chunk_size]

    return chunks()


@dataclass(frozen=True)
class BodyResult:
    """What :func:`send_body` saw: the status, the seconds the request took (wall time, for
    illustration; no claim rests on it), the bytes sent, whether they were chunked, and the
    start of the answer. Introduced in lab 12 (API security).
    """

    status: int
    seconds: float
    n_bytes: int
    chunked: bool
    detail: str


def send_body(client, path: str, body: bytes, headers: Mapping[str, str] | None = None, *,
              chunked: bool = False, chunk_size: int = 65_536) -> BodyResult:
    """POST the raw ``body`` to ``path`` with ``client`` (an ``httpx.Client`` on a real server,
    or the in-process client of ``api_common.api_client``; both are httpx clients) and time it.

    ``chunked=False`` sends a Content-Length; ``chunked=True`` streams the body in chunks
    without one (:func:`stream_chunks`; use a real server for this, where the bytes travel
    over a socket). Introduced in lab 12 (API security).
    """
    path = check_str(path, "path")
    if not isinstance(body, bytes | bytearray):
        raise ArgumentTypeError(f"body must be bytes, got {type(body).__name__}")
    if not isinstance(chunked, bool):
        raise ArgumentTypeError(f"chunked must be True or False, got {chunked!r}")
    head = {"content-type": "application/json", **dict(headers or {})}
    content = stream_chunks(body, chunk_size) if chunked else bytes(body)
    start = time.perf_counter()
    response = client.post(path, content=content, headers=head)
    seconds = time.perf_counter() - start
    return BodyResult(int(response.status_code), seconds, len(body), chunked,
                      response.text[:160])


def has_scores(response) -> bool:
    """Whether an answer of the API carried raw scores: status 200 and a JSON body with
    ``probabilities`` (classifiers) or ``scores`` (the recommender).

    Introduced in lab 12 (API security).
    """
    if int(getattr(response, "status_code", 0)) != 200:
        return False
    try:
        answer = response.json()
    except ValueError:
        return False
    return isinstance(answer, dict) and ("probabilities" in answer or "scores" in answer)


class APIRefused(RuntimeError):
    """The API refused a query of :class:`APITextClassifier` (``status``, ``detail``).

    Introduced in lab 12 (API security).
    """

    def __init__(self, status: int, detail: str):
        super().__init__(f"the API answered {status}: {detail}")
        self.status, self.detail = int(status), str(detail)


class APITextClassifier:
    """The NLP system as a client of the API sees it: ``predict_proba(texts)`` sends the texts
    to ``path`` in batches of ``batch`` and returns one row per text, the probabilities when
    the answer carries them and a one-hot row of the label when it does not (a user of the
    hardened API). So lab 04's ``theft_curve``/``steal_text_model`` and lab 02's
    ``greedy_text_attack`` run through HTTP unchanged.

    ``scores`` is sent as the query parameter ``?scores=``; ``pause`` (a function of no
    arguments, e.g. ``lambda: clock.advance(0.5)``) is called after every request, for a client
    that keeps under a rate limit. A refused request raises :class:`APIRefused`. ``queries``
    counts the texts sent, ``requests`` the HTTP requests, ``scored`` the texts answered with
    probabilities.

    Introduced in lab 12 (API security).
    """

    fitted_ = True  # for validate.check_fitted: the model behind the API is fitted

    def __init__(self, client, headers: Mapping[str, str], n_classes: int, *,
                 path: str = "/v1/nlp/predict", batch: int = 32, scores: bool | None = None,
                 pause: Callable[[], object] | None = None):
        if not callable(getattr(client, "post", None)):
            raise ArgumentTypeError("client must be an HTTP client with .post (httpx or the "
                                    "TestClient of api_common.api_client)")
        if not isinstance(headers, Mapping):
            raise ArgumentTypeError("headers must be a mapping (e.g. bundle.headers('user'))")
        self.client, self.headers = client, dict(headers)
        self.n_classes = check_int(n_classes, "n_classes", 2)
        self.path = check_str(path, "path")
        self.batch = check_int(batch, "batch")
        if scores is not None and not isinstance(scores, bool):
            raise ArgumentTypeError(f"scores must be True, False or None, got {scores!r}")
        if pause is not None and not callable(pause):
            raise ArgumentTypeError("pause must be a function of no arguments or None")
        self.scores, self.pause = scores, pause
        self.queries = self.requests = self.scored = 0

    def _ask(self, texts: list[str]) -> np.ndarray:
        params = {} if self.scores is None else {"scores": str(self.scores).lower()}
        response = self.client.post(self.path, json={"texts": texts}, headers=self.headers,
                                    params=params)
        self.requests += 1
        if self.pause is not None:
            self.pause()
        if response.status_code != 200:
            raise APIRefused(response.status_code, response.text[:200])
        answer = response.json()
        self.queries += len(texts)
        if "probabilities" in answer:
            proba = np.asarray(answer["probabilities"], dtype=np.float64)
            self.scored += len(texts)
        else:
            labels = np.asarray(answer["labels"], dtype=np.int64)
            proba = np.zeros((len(labels), self.n_classes))
            proba[np.arange(len(labels)), labels] = 1.0
        if proba.shape != (len(texts), self.n_classes):
            raise ValueError(f"the API answered shape {proba.shape} for {len(texts)} texts "
                             f"and {self.n_classes} classes")
        return proba

    def predict_proba(self, texts) -> np.ndarray:
        """One row per text: probabilities if the API gives them, else the label one-hot."""
        texts = check_texts(texts)
        if not texts:
            raise ValueError("texts must hold at least one text")
        return np.concatenate([self._ask(texts[i:i + self.batch])
                               for i in range(0, len(texts), self.batch)])

    __call__ = predict_proba  # lab 04's theft helpers call the API as api(texts)

    def predict(self, texts) -> np.ndarray:
        """The label the API gives each text."""
        return self.predict_proba(texts).argmax(axis=1)

    def __repr__(self) -> str:
        return (f"APITextClassifier({self.path}, {self.queries} texts in {self.requests} "
                f"requests, {self.scored} answered with scores)")


def served_labels(client, headers: Mapping[str, str], texts, *, path: str = "/v1/nlp/predict",
                  batch: int = 8, pause: Callable[[], object] | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """An honest user's traffic: ``texts`` sent in requests of ``batch``, ``pause()`` after
    each. Returns the label the API gave each text (-1 where the request was refused) and the
    status of the request that carried it.

    Introduced in lab 12 (API security).
    """
    texts = check_texts(texts)
    if not texts:
        raise ValueError("texts must hold at least one text")
    batch = check_int(batch, "batch")
    if pause is not None and not callable(pause):
        raise ArgumentTypeError("pause must be a function of no arguments or None")
    labels = np.full(len(texts), -1, dtype=np.int64)
    status = np.zeros(len(texts), dtype=np.int64)
    for i in range(0, len(texts), batch):
        response = client.post(path, json={"texts": texts[i:i + batch]}, headers=dict(headers))
        status[i:i + batch] = response.status_code
        if response.status_code == 200:
            labels[i:i + batch] = response.json()["labels"]
        if pause is not None:
            pause()
    return labels, status


def admin_data_leaked(case, response) -> bool:
    """Whether a user's request got admin data: raw scores (:func:`has_scores`) or a 200 from
    a model download route. The ``success`` test :func:`attempt_table` uses for the scores
    bypass attempts. Introduced in lab 12 (API security).
    """
    if int(getattr(response, "status_code", 0)) != 200:
        return False
    path = str(getattr(case, "path", "")).split("?")[0]
    return has_scores(response) or path.endswith("/model")


def attempt_table(client, cases, *, success: Callable | None = None,
                  pause: Callable[[], object] | None = None) -> pd.DataFrame:
    """Send every attempt (a ``pentest.PenTestCase``) once with ``client`` and tabulate what
    came back: ``attempt``, ``method``, ``path``, ``expected``, ``status``, ``as_expected``,
    ``refused`` (status 400 or more), ``server_error`` (5xx) and ``succeeded``:
    ``success(case, response)`` says whether the answer gave the attacker what they were after
    (default: admin data, :func:`admin_data_leaked`). ``pause()`` runs after every request.

    :func:`~.pentest.run_pentest` checks the statuses; this table also looks at what the
    answers contained. Introduced in lab 12 (API security).
    """
    from .pentest import PenTestCase

    cases = list(cases)
    if not cases or not all(isinstance(c, PenTestCase) for c in cases):
        raise ArgumentTypeError("cases must be a non-empty list of pentest.PenTestCase")
    if success is None:
        success = admin_data_leaked
    elif not callable(success):
        raise ArgumentTypeError("success must be a function (case, response) -> bool")
    if pause is not None and not callable(pause):
        raise ArgumentTypeError("pause must be a function of no arguments or None")
    rows = []
    for case in cases:
        if case.before is not None:
            case.before()
        response = case.send(client)
        status = int(response.status_code)
        rows.append({"attempt": case.name, "method": case.method, "path": case.path,
                     "expected": " or ".join(str(c) for c in case.expected), "status": status,
                     "as_expected": status in case.expected, "refused": status >= 400,
                     "server_error": status >= 500, "succeeded": bool(success(case, response))})
        if pause is not None:
            pause()
    return pd.DataFrame(rows)


def read_claims(token: str) -> dict:
    """The claims of a JSON Web Token, read without checking its signature: what anyone who
    holds a token can see (a JWT is signed, not encrypted).

    Introduced in lab 12 (API security).
    """
    import jwt

    token = check_str(token, "token")
    try:
        return dict(jwt.decode(token, options={"verify_signature": False}))
    except jwt.InvalidTokenError as err:
        raise ValueError(f"token is not a readable JWT: {err}") from None


def scores_bypass_cases(headers: Mapping[str, str], own_token: str, *, body: object,
                        system: str = "nlp", threat: str = "NLP-T3",
                        guessed_secret: bytes = b"secret") -> list:
    """The adaptive user who wants the admins' raw scores of ``system`` without being an
    admin, as pen-test cases (``pentest.PenTestCase``) with the status the hardened API must
    give: ask for them (``?scores=true``, ``1``, ``yes``: 403), claim the role in a header or
    a query parameter (403), reach the route by another spelling (trailing slash, upper case,
    a double slash: 404, the route does not exist), copy the claims of their own genuine token
    (``own_token``, from ``POST /v1/token``) with ``role`` set to admin and sign it themselves,
    with HMAC under ``guessed_secret`` or with ``alg: none`` (401), send that token next to
    their own key (403: the key decides who they are), and use another method (405).

    ``headers`` are the user's own credentials; ``body`` a valid predict body.
    Introduced in lab 12 (API security).
    """
    from .common import forge_token
    from .pentest import PenTestCase

    if not isinstance(headers, Mapping):
        raise ArgumentTypeError("headers must be a mapping (e.g. bundle.headers('user'))")
    system = check_str(system, "system")
    if not isinstance(guessed_secret, bytes) or not guessed_secret:
        raise ArgumentTypeError("guessed_secret must be non-empty bytes")
    admin_claims = {**read_claims(own_token), "role": "admin"}
    signed = forge_token(admin_claims, alg="HS256", key=guessed_secret)
    unsigned = forge_token(admin_claims, alg="none")
    user, bearer = dict(headers), {"Authorization": f"Bearer {signed}"}
    route, ask = f"/v1/{system}/predict", "?scores=true"

    def case(name, path, head, expected=403, method="POST", with_body=True):
        return PenTestCase(name=name, system=system, threat=threat, method=method, path=path,
                           headers=head, body=body if with_body else None, expected=expected)

    return [
        case("user asks for raw scores (?scores=true)", route + ask, user),
        case("user asks with scores=1", f"{route}?scores=1", user),
        case("user asks with scores=yes", f"{route}?scores=yes", user),
        case("header X-Role: admin", route + ask, {**user, "X-Role": "admin"}),
        case("header X-Forwarded-User: admin", route + ask,
             {**user, "X-Forwarded-User": "admin"}),
        case("query parameter role=admin", route + ask + "&role=admin", user),
        case("query parameter admin=true", route + ask + "&admin=true", user),
        case("trailing slash", f"{route}/{ask}", user, 404),
        case("upper-case system name", f"/v1/{system.upper()}/predict{ask}", user, 404),
        case("upper-case prefix", f"/V1/{system}/predict{ask}", user, 404),
        case("double slash", f"/v1//{system}/predict{ask}", user, 404),
        case("self-made token, role=admin, guessed secret", route + ask, bearer, 401),
        case("alg=none token, role=admin", route + ask,
             {"Authorization": f"Bearer {unsigned}"}, 401),
        case("own key + self-made admin token", route + ask, {**user, **bearer}),
        case("GET on the predict route", route + ask, user, 405, method="GET",
             with_body=False),
    ]


def text_validation_cases(headers: Mapping[str, str], *, max_chars: int, max_batch: int,
                          text: str, threat: str = "NLP-T8") -> list:
    """Bodies the hardened NLP API must refuse with 422, as pen-test cases built around one
    honest ``text``: a text one character over ``max_chars``, a batch one text over
    ``max_batch``, an empty text, an empty batch, a number instead of a text, no ``texts``
    field, an extra field.

    Introduced in lab 12 (API security).
    """
    from .pentest import PenTestCase

    if not isinstance(headers, Mapping):
        raise ArgumentTypeError("headers must be a mapping (e.g. bundle.headers('user'))")
    max_chars = check_int(max_chars, "max_chars")
    max_batch = check_int(max_batch, "max_batch")
    text = check_str(text, "text")
    if not 0 < len(text) <= max_chars:
        raise ValueError(f"text must be an honest message of 1..{max_chars} characters")
    long_text = ((text + " ") * (max_chars // (len(text) + 1) + 1))[:max_chars + 1]
    h, route = dict(headers), "/v1/nlp/predict"

    def case(name, body):
        return PenTestCase(name=name, system="nlp", threat=threat, method="POST", path=route,
                           headers=h, body=body, expected=422)

    return [
        case(f"a text of {max_chars + 1} characters", {"texts": [long_text]}),
        case(f"a batch of {max_batch + 1} texts", {"texts": [text] * (max_batch + 1)}),
        case("an empty text", {"texts": [""]}),
        case("an empty batch", {"texts": []}),
        case("a number instead of a text", {"texts": [12345]}),
        case("no texts field", {"messages": [text]}),
        case("an extra field", {"texts": [text], "debug": True}),
    ]
