"""Lab 12 (API security), section 4: the bounded schemathesis fuzz and its NaN mutation."""

import json
import math

import pandas as pd
import pytest
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from mlsec_helpers.apisec import fuzz
from mlsec_helpers.validate import ArgumentTypeError


def _app(strict: bool) -> FastAPI:
    """A tiny scoring API: lenient (default handler, NaN reaches the code) or strict."""
    app = FastAPI()
    config = ConfigDict(extra="forbid", allow_inf_nan=False) if strict else ConfigDict()

    class Row(BaseModel):
        model_config = config
        amount: float
        hour: float

    class Body(BaseModel):
        model_config = config
        rows: list[Row] = Field(min_length=1, max_length=4)

    @app.post("/score")
    def score(body: Body) -> dict:
        if not all(math.isfinite(r.amount) and math.isfinite(r.hour) for r in body.rows):
            raise ValueError("X contains NaN")  # what a model's input check does
        return {"labels": [int(r.amount > 100) for r in body.rows]}

    @app.get("/health")
    def health() -> dict:
        return {"ok": True}

    if strict:
        @app.exception_handler(RequestValidationError)
        async def safe(request: Request, exc: RequestValidationError):
            return JSONResponse(status_code=422,
                                content={"detail": [{"loc": list(e["loc"]), "msg": e["msg"]}
                                                    for e in exc.errors()]})
    return app


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    import os

    folder = tmp_path_factory.mktemp("cwd")
    before = os.getcwd()
    os.chdir(folder)
    try:
        weak = fuzz.fuzz_operation(_app(False), "/score", name="weak", max_examples=6,
                                   headers={"X-API-Key": "k"})
        hard = fuzz.fuzz_operation(_app(True), "/score", name="hardened", max_examples=6)
    finally:
        os.chdir(before)
    return weak, hard, folder


def test_weak_app_gives_server_errors_the_hardened_none(reports):
    weak, hard, _ = reports
    assert isinstance(weak, fuzz.FuzzReport) and weak.operation == "POST /score"
    assert weak.n_server_errors >= 1 and hard.n_server_errors == 0
    assert set(weak.cases["source"]) == {"positive", "negative", "positive + NaN"}
    nan = weak.cases[weak.cases["source"] == "positive + NaN"]
    assert len(nan) >= 1 and nan["server_error"].all() and (nan["status"] == 500).all()
    assert (nan["exception"] == "ValueError").all()  # escaped the app: recorded as its 500
    smallest = weak.minimal_server_error()
    assert "NaN" in smallest and len(smallest) == weak.server_errors["size"].min()
    assert hard.minimal_server_error() is None
    hard_nan = hard.cases[hard.cases["source"] == "positive + NaN"]
    assert (hard_nan["status"] == 422).all()
    assert (hard.cases["status"] < 500).all()


def test_reports_are_deterministic():
    again = fuzz.fuzz_operation(_app(True), "/score", name="hardened", max_examples=6)
    once = fuzz.fuzz_operation(_app(True), "/score", name="hardened", max_examples=6)
    pd.testing.assert_frame_equal(again.cases, once.cases)


def test_no_hypothesis_files_left_in_the_working_directory(reports):
    *_, folder = reports
    assert not (folder / ".hypothesis").exists()


def test_status_counts_and_findings(reports):
    weak, hard, _ = reports
    counts = weak.status_counts()
    assert list(counts.columns) == ["source", "status", "requests"]
    assert counts["requests"].sum() == weak.n_requests
    table = fuzz.fuzz_findings([weak, hard])
    assert list(table.columns) == ["app", "operation", "cases", "requests", "statuses seen",
                                   "5xx", "smallest body with a 5xx"]
    assert table["requests"].sum() == weak.n_requests + hard.n_requests
    assert table.loc[table["app"] == "hardened", "5xx"].sum() == 0
    assert table.loc[table["app"] == "weak", "5xx"].sum() == weak.n_server_errors
    assert table["smallest body with a 5xx"].str.len().max() <= 90
    assert len(fuzz.fuzz_findings(weak)) == weak.cases["source"].nunique()


def test_mutate_numbers():
    assert json.loads(fuzz.mutate_numbers({"a": [1, 2]}), parse_constant=str) == {"a": ["NaN", 2]}
    assert fuzz.mutate_numbers([True, 3.5], math.inf) == b"[true, Infinity]"
    assert fuzz.mutate_numbers({"a": "x", "b": None, "c": False}) is None
    schema = {"properties": {"rows": {"items": {"$ref": "#/defs/Row"}}},
              "defs": {"Row": {"anyOf": [{"properties": {"amount": {"type": "number"}}}]}}}
    body = {"rows": [{"zz": 1.0, "amount": 2.0}], "extra": 5}
    assert fuzz.mutate_numbers(body, schema=schema) == \
        b'{"rows": [{"zz": 1.0, "amount": NaN}], "extra": 5}'
    assert fuzz.mutate_numbers({"rows": [{"zz": 1.0}]}, schema=schema) is None
    tuple_schema = {"properties": {"p": {"prefixItems": [{"type": "string"}, {"type": "number"}]}}}
    assert fuzz.mutate_numbers({"p": ["a", 4]}, schema=tuple_schema) == b'{"p": ["a", NaN]}'


def test_mutate_numbers_bad_input():
    with pytest.raises(ArgumentTypeError):
        fuzz.mutate_numbers({"a": 1}, "nan")
    with pytest.raises(ArgumentTypeError):
        fuzz.mutate_numbers({"a": 1}, True)
    with pytest.raises(ArgumentTypeError):
        fuzz.mutate_numbers({"a": 1}, schema=["not", "a", "schema"])


def test_fuzz_operation_bad_input():
    app = _app(True)
    with pytest.raises(ArgumentTypeError):
        fuzz.fuzz_operation("not an app", "/score")
    with pytest.raises(ValueError, match="start with"):
        fuzz.fuzz_operation(app, "score")
    with pytest.raises(ValueError, match="method"):
        fuzz.fuzz_operation(app, "/score", "FETCH")
    with pytest.raises(ValueError, match="max_examples"):
        fuzz.fuzz_operation(app, "/score", max_examples=0)
    with pytest.raises(ValueError, match="generation mode"):
        fuzz.fuzz_operation(app, "/score", modes=["positive", "sideways"])
    with pytest.raises(ArgumentTypeError):
        fuzz.fuzz_operation(app, "/score", modes="positive")
    with pytest.raises(ValueError, match="mutation"):
        fuzz.fuzz_operation(app, "/score", mutations=["NULL"])
    with pytest.raises(ArgumentTypeError):
        fuzz.fuzz_operation(app, "/score", headers=[("X-API-Key", "k")])
    with pytest.raises(ArgumentTypeError):
        fuzz.fuzz_operation(app, "/score", before_each=3)
    with pytest.raises(ValueError, match="no operation"):
        fuzz.fuzz_operation(app, "/nowhere", max_examples=1)
    with pytest.raises(ArgumentTypeError):
        fuzz.fuzz_findings([])
    with pytest.raises(ArgumentTypeError):
        fuzz.fuzz_findings(["report"])


def test_before_each_runs_per_request_and_get_operations():
    calls = []
    report = fuzz.fuzz_operation(_app(True), "/health", "get", max_examples=2,
                                 modes=["positive"], before_each=lambda: calls.append(1))
    assert report.operation == "GET /health" and len(calls) == report.n_requests >= 1
    assert (report.cases["status"] == 200).all() and report.n_server_errors == 0
    assert fuzz.FUZZ_MODES == ("positive", "negative") and "NaN" in fuzz.FUZZ_MUTATIONS
