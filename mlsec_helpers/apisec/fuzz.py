"""A bounded property-based fuzz of an API's OpenAPI schema with schemathesis (lab 12, section 4).

schemathesis reads the schema the FastAPI app publishes (``/openapi.json``), derives Hypothesis
strategies from it and sends the generated requests to the app in-process (ASGI, no socket):

* *positive* cases fit the schema (a well-formed transaction, any numbers the schema allows);
* *negative* cases break it (wrong types, missing or extra fields, arrays of the wrong length).

Neither kind can hold NaN or infinity: a JSON body has no literal for them, and schemathesis
draws its numbers with ``allow_nan=False, allow_infinity=False``. Python's ``json`` module, which
FastAPI parses bodies with, accepts ``NaN`` and ``Infinity`` all the same, so :func:`fuzz_operation`
also sends each positive case once more with its first number replaced by NaN (a *mutation*,
written by hand because no schema-driven generator produces what the schema cannot describe),
through the same schemathesis transport.

The fuzz is bounded and reproducible: ``max_examples`` per generation mode, ``deadline=None``,
``derandomize=True`` (the same cases on every run), ``database=None``, no shrinking; Hypothesis's
own files go to a temporary folder that is removed afterwards. Every response is checked with
schemathesis's ``not_a_server_error`` check.

* :func:`fuzz_operation` runs the fuzz on one operation of an app and returns a
  :class:`FuzzReport` (every request, its status, the check's verdict);
* :func:`fuzz_findings` turns several reports into the findings table (status codes seen, server
  errors and the smallest failing body);
* :func:`mutate_numbers` is the mutation (the first number of a body set to NaN or infinity);
* :data:`FUZZ_MODES`, :data:`FUZZ_MUTATIONS`: what the fuzz generates.

Introduced in lab 12 (API security).
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from ..validate import ArgumentTypeError, check_choice, check_int, check_str

__all__ = [
    "FUZZ_MODES",
    "FUZZ_MUTATIONS",
    "FuzzReport",
    "fuzz_findings",
    "fuzz_operation",
    "mutate_numbers",
]

FUZZ_MODES: tuple[str, ...] = ("positive", "negative")
"""schemathesis's generation modes: cases that fit the schema, and cases that break it.

Introduced in lab 12 (API security)."""

FUZZ_MUTATIONS: Mapping[str, float] = {"NaN": math.nan, "Infinity": math.inf}
"""The hand-written mutations of a positive case: its first number replaced by this value
(written as the non-standard JSON literal that Python's ``json`` reads). Introduced in lab 12
(API security)."""

_BODY_SHOWN = 90  # characters of a body shown in the findings table


@dataclass(frozen=True)
class FuzzReport:
    """Every request of one bounded fuzz of one operation of one app.

    Introduced in lab 12 (API security).
    """

    app: str
    """The name given to the app (``"weak"``, ``"hardened"``)."""
    operation: str
    """The fuzzed operation, e.g. ``"POST /v1/fraud/predict"``."""
    max_examples: int
    """Hypothesis's ``max_examples`` per generation mode."""
    cases: pd.DataFrame
    """One row per request: ``source`` (``"positive"``, ``"negative"`` or ``"positive + NaN"``
    ...), ``status`` (HTTP status), ``server_error`` (schemathesis's ``not_a_server_error``
    check failed), ``exception`` (the type of an exception that escaped the app, else ``""``),
    ``body`` (the body as sent, non-standard literals included) and ``size`` (its length in
    characters)."""

    @property
    def n_requests(self) -> int:
        """The number of requests sent."""
        return len(self.cases)

    @property
    def server_errors(self) -> pd.DataFrame:
        """The requests answered with a 5xx (the check failed), smallest body first."""
        errors = self.cases[self.cases["server_error"]]
        return errors.sort_values(["size", "body"], kind="stable")

    @property
    def n_server_errors(self) -> int:
        """The number of requests answered with a 5xx."""
        return int(self.cases["server_error"].sum())

    def minimal_server_error(self) -> str | None:
        """The smallest body that got a 5xx (fewest characters), or None when none did."""
        errors = self.server_errors
        return None if errors.empty else str(errors["body"].iloc[0])

    def status_counts(self) -> pd.DataFrame:
        """Requests per ``source`` and HTTP status (one row per pair)."""
        counts = self.cases.groupby(["source", "status"], sort=True).size()
        return counts.rename("requests").reset_index()


def _resolve(schema, root) -> list[Mapping]:
    """The alternatives a JSON-schema node allows: ``$ref`` (local pointers) followed,
    ``anyOf``/``oneOf``/``allOf`` flattened; an unknown or missing schema gives ``[]``."""
    if not isinstance(schema, Mapping):
        return []
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        node = root
        for part in ref[2:].split("/"):
            node = node.get(part.replace("~1", "/").replace("~0", "~"), {}) \
                if isinstance(node, Mapping) else {}
        return _resolve(node, root)
    out = [schema]
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, ()) or ():
            out += _resolve(sub, root)
    return out


def mutate_numbers(body: object, value: float = math.nan, *,
                   schema: Mapping | None = None) -> bytes | None:
    """``body`` as JSON bytes with its first number (depth first, in key order) replaced by
    ``value`` (NaN or an infinity, written ``NaN`` / ``Infinity``), or None when the body holds
    no number (booleans are not numbers here).

    With ``schema`` (the body's JSON schema, local ``$ref`` pointers resolved against it), only
    a number in a field the schema declares counts, not one in the extra keys a generator may
    add to an open object (which the app ignores). This is the hand-written mutation of the
    fuzz: a JSON generator cannot produce these literals, which Python's ``json`` (and so
    FastAPI) reads all the same. Introduced in lab 12 (API security).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArgumentTypeError(f"value must be a number, got {type(value).__name__}")
    if schema is not None and not isinstance(schema, Mapping):
        raise ArgumentTypeError(f"schema must be a JSON schema (a mapping), got "
                                f"{type(schema).__name__}")
    root = schema
    done = False

    def walk(node, options):
        nonlocal done
        if done or isinstance(node, (bool, str)) or node is None:
            return node
        if isinstance(node, (int, float)):
            done = True
            return float(value)
        if isinstance(node, Mapping):
            if options is None:  # no schema: every key counts
                return {k: walk(v, None) for k, v in node.items()}
            declared = {}
            for alt in options:
                for key, sub in (alt.get("properties") or {}).items():
                    declared.setdefault(key, []).extend(_resolve(sub, root))
            return {k: (walk(v, declared[k]) if k in declared else v) for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            out = []
            for i, v in enumerate(node):
                if options is None:
                    out.append(walk(v, None))
                    continue
                subs = []
                for alt in options:
                    prefix = alt.get("prefixItems") or []
                    item = prefix[i] if i < len(prefix) else alt.get("items")
                    subs += _resolve(item, root)
                out.append(walk(v, subs))
            return out
        return node

    mutated = walk(body, None if schema is None else _resolve(schema, root))
    if not done:
        return None
    return json.dumps(mutated, allow_nan=True).encode()


def _body_text(body: object) -> str:
    """The body as the server read it: JSON text (``NaN`` literals kept), or the raw bytes."""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body).decode("utf-8", errors="backslashreplace")
    try:
        return json.dumps(body, allow_nan=True, ensure_ascii=True)
    except (TypeError, ValueError):
        return repr(body)


@contextlib.contextmanager
def _private_hypothesis_home() -> Iterator[None]:
    """Hypothesis writes caches (``.hypothesis/``) in the working directory even with
    ``database=None``; send them to a temporary folder, removed afterwards, and restore the
    previous setting."""
    from hypothesis import configuration

    previous = getattr(configuration, "__hypothesis_home_directory", None)
    folder = tempfile.mkdtemp(prefix="mlsec_hypothesis_")
    configuration.set_hypothesis_home_dir(folder)
    try:
        yield
    finally:
        configuration.set_hypothesis_home_dir(previous)
        shutil.rmtree(folder, ignore_errors=True)


def _fuzz_mode(operation, mode: str, max_examples: int, mutations, send) -> None:
    """One generation mode of :func:`fuzz_operation`: Hypothesis draws the cases, ``send``
    sends each (and each positive case's mutants)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.generation.modes import GenerationMode

    strategy = operation.as_strategy(generation_mode=GenerationMode(mode))
    body_schema = operation.get_body_for_media_type("application/json")
    declared = None if body_schema is None else body_schema.resolved_schema

    @settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case):
        send(case, mode)
        if mode != "positive":
            return
        for mutation in mutations:
            raw = mutate_numbers(case.body, FUZZ_MUTATIONS[mutation], schema=declared)
            if raw is None:
                continue
            mutant = operation.Case(
                body=raw, media_type=case.media_type or "application/json",
                path_parameters=case.path_parameters, query=case.query,
                headers=dict(case.headers or {}), cookies=case.cookies)
            send(mutant, f"positive + {mutation}")

    run()


def fuzz_operation(
    app,
    path: str,
    method: str = "POST",
    *,
    name: str = "app",
    headers: Mapping[str, str] | None = None,
    modes: Sequence[str] = FUZZ_MODES,
    max_examples: int = 20,
    mutations: Sequence[str] = ("NaN",),
    openapi_path: str = "/openapi.json",
    before_each: Callable[[], object] | None = None,
) -> FuzzReport:
    """Fuzz one operation of a FastAPI (ASGI) ``app`` from its OpenAPI schema with schemathesis.

    For each generation mode in ``modes`` (:data:`FUZZ_MODES`), Hypothesis draws up to
    ``max_examples`` cases of ``method path`` from the schema the app serves at
    ``openapi_path``; each is sent in-process with ``headers`` added (an API key: without one
    every case would stop at authentication), and schemathesis's ``not_a_server_error`` check
    judges the response. Each positive case that holds a number is sent once more per mutation
    in ``mutations`` (:data:`FUZZ_MUTATIONS`, :func:`mutate_numbers` on the fields the
    schema declares). Settings: ``deadline=None``,
    ``derandomize=True``, ``database=None``, the generate phase only (no shrinking), health
    checks suppressed (slow data generation is expected here). ``before_each`` (a function of
    no arguments) runs before every request, e.g. to move the API's injected clock so that a
    rate limit does not answer in place of the code under test. Returns a :class:`FuzzReport`.

    Introduced in lab 12 (API security).
    """
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.errors import IncorrectUsage, OperationNotFound
    from schemathesis.core.failures import Failure, FailureGroup
    from schemathesis.python import asgi

    if not callable(app):
        raise ArgumentTypeError(f"app must be an ASGI application (a FastAPI app), got "
                                f"{type(app).__name__}")
    path = check_str(path, "path")
    if not path.startswith("/"):
        raise ValueError(f"path must start with '/', got {path!r}")
    method = check_choice(check_str(method, "method").upper(),
                          ("GET", "POST", "PUT", "PATCH", "DELETE"), "HTTP method")
    name = check_str(name, "name")
    max_examples = check_int(max_examples, "max_examples", minimum=1, maximum=1000)
    if isinstance(modes, str) or not modes:
        raise ArgumentTypeError(f"modes must be a non-empty sequence of {FUZZ_MODES}, got "
                                f"{modes!r}")
    modes = [check_choice(m, FUZZ_MODES, "generation mode") for m in modes]
    if isinstance(mutations, str):
        raise ArgumentTypeError("mutations must be a sequence of names, e.g. ('NaN',)")
    mutations = [check_choice(m, FUZZ_MUTATIONS, "mutation") for m in mutations]
    if headers is not None and not isinstance(headers, Mapping):
        raise ArgumentTypeError(f"headers must be a mapping, got {type(headers).__name__}")
    extra_headers = dict(headers or {})
    if before_each is not None and not callable(before_each):
        raise ArgumentTypeError("before_each must be a function of no arguments (or None)")

    rows: list[dict] = []

    def send(case, source: str) -> None:
        row = {"source": source, "body": _body_text(case.body), "exception": ""}
        if before_each is not None:
            before_each()
        try:
            response = case.call(headers=extra_headers)
        except IncorrectUsage:
            raise
        except Exception as err:  # noqa: BLE001 - the app raised: see below
            # schemathesis's in-process (ASGI) transport re-raises an exception that escaped
            # the app, although Starlette has already answered 500 by then (a real server, and
            # Starlette's TestClient(raise_server_exceptions=False), give the 500): record the
            # 500 and the exception's type.
            rows.append({**row, "status": 500, "server_error": True,
                         "exception": type(err).__name__})
            return
        try:
            case.validate_response(response, checks=[not_a_server_error])
            failed = False
        except (Failure, FailureGroup):
            failed = True
        rows.append({**row, "status": int(response.status_code), "server_error": failed})

    with _private_hypothesis_home():
        try:
            schema = schemathesis.openapi.from_asgi(openapi_path, app)
            # Work-around for a cost in Hypothesis 6.170: schemathesis draws text with
            # `hypothesis.strategies.characters(codec="utf-8")`, and its first draw in a process
            # encodes all 1,114,112 code points (`charmap.intervals_from_codec("utf-8")`, about
            # 1 s of CPU) unless a `.hypothesis/` cache exists, which we do not keep. codec=None
            # gives the same alphabet (schemathesis then excludes the surrogates itself, the
            # only code points UTF-8 cannot encode) and the same cases, without that loop.
            schema.config.generation.codec = None
            try:
                operation = schema[path][method]
            except (KeyError, OperationNotFound):
                raise ValueError(f"the app's schema has no operation {method} {path}") from None
            for mode in modes:
                _fuzz_mode(operation, mode, max_examples, mutations, send)
        finally:
            # schemathesis keeps every app it served in-process alive (its lifespan) until
            # the interpreter exits; release them now.
            asgi.shutdown_lifespans()
    cases = pd.DataFrame(rows, columns=["source", "status", "server_error", "exception", "body"])
    cases["size"] = cases["body"].str.len()
    return FuzzReport(app=name, operation=f"{method} {path}", max_examples=max_examples,
                      cases=cases)


def fuzz_findings(reports: Sequence[FuzzReport]) -> pd.DataFrame:
    """The findings table of one or more fuzz runs: per app and request source, the number of
    requests, the HTTP statuses seen (``status: count``), the 5xx count and the smallest body
    that got a 5xx (truncated). Introduced in lab 12 (API security).
    """
    if isinstance(reports, FuzzReport):
        reports = [reports]
    if not reports or not all(isinstance(r, FuzzReport) for r in reports):
        raise ArgumentTypeError("reports must be a non-empty sequence of FuzzReport")
    out = []
    for report in reports:
        for source, group in report.cases.groupby("source", sort=False):
            counts = group["status"].value_counts().sort_index()
            errors = group[group["server_error"]].sort_values(["size", "body"], kind="stable")
            smallest = "" if errors.empty else str(errors["body"].iloc[0])
            if len(smallest) > _BODY_SHOWN:
                smallest = smallest[:_BODY_SHOWN - 3] + "..."
            out.append({"app": report.app, "operation": report.operation, "cases": source,
                        "requests": len(group),
                        "statuses seen": ", ".join(f"{s}: {n}" for s, n in counts.items()),
                        "5xx": int(group["server_error"].sum()),
                        "smallest body with a 5xx": smallest})
    return pd.DataFrame(out)
