"""Tests of lab 12's real server: uvicorn on 127.0.0.1 in a thread, real HTTP, a clean stop."""

from __future__ import annotations

import socket
import threading

import pytest
from fastapi import FastAPI

from mlsec_helpers.apisec import server
from mlsec_helpers.validate import ArgumentTypeError


def _tiny_app() -> FastAPI:
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict:
        return {"pong": True}

    return app


def test_server_starts_answers_real_http_and_stops():
    threads_before = set(threading.enumerate())
    srv = server.LocalServer(_tiny_app()).start()
    try:
        assert srv.running and srv.url == f"http://127.0.0.1:{srv.port}"
        assert server.port_is_open(srv.port)
        with srv.client() as client:
            answer = client.get("/ping")
        assert answer.status_code == 200 and answer.json() == {"pong": True}
        assert answer.headers["server"] == "uvicorn"
    finally:
        srv.stop()
    assert not srv.running
    assert not server.port_is_open(srv.port)
    assert set(threading.enumerate()) <= threads_before
    srv.stop()  # a second stop does nothing


def test_context_manager_and_the_reference_api():
    from mlsec_helpers.apisec import common

    bundle = common.reference_apis(0)
    with server.LocalServer(bundle.hardened_app) as srv, srv.client() as client:
        port = srv.port
        assert client.get("/v1/health").status_code == 200
        assert client.post("/v1/image/predict",
                           json=bundle.served["image"].test_body(1)).status_code == 401
        answer = client.post("/v1/image/predict", json=bundle.served["image"].test_body(1),
                             headers=bundle.headers("user"))
        assert answer.status_code == 200 and set(answer.json()) == {"labels", "classes"}
    assert not server.port_is_open(port)
    assert bundle.hardened_audit.frame()["status"].tolist()[-3:] == [200, 401, 200]


def test_a_server_starts_only_once():
    srv = server.LocalServer(_tiny_app()).start()
    try:
        with pytest.raises(RuntimeError, match="already started"):
            srv.start()
    finally:
        srv.stop()


def test_port_in_use_is_reported():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert server.port_is_open(port)
        srv = server.LocalServer(_tiny_app(), port=port)
        try:
            srv.start()
        except OSError:
            pass  # the port is taken: refused, nothing left running
        else:  # pragma: no cover - a platform that lets two sockets share it
            srv.stop()
        assert not srv.running


def test_bad_input():
    with pytest.raises(ArgumentTypeError):
        server.LocalServer("app")
    with pytest.raises(ValueError):
        server.LocalServer(_tiny_app(), port=70000)
    with pytest.raises(RuntimeError, match="not started"):
        server.LocalServer(_tiny_app()).url  # noqa: B018
    with pytest.raises(ValueError, match="127.0.0.1"):
        server.port_is_open(80, host="example.com")
    with pytest.raises(ValueError):
        server.port_is_open(0)
