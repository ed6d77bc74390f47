"""A real HTTP server for lab 12's API: uvicorn in a background thread on 127.0.0.1, on a free
port, started and stopped by the lab, so students see real HTTP (headers, status lines, a port
that opens and closes).

The listening socket is bound here (port 0: the operating system picks a free port) and handed
to uvicorn, so there is no window in which another process could take the port. Stopping sets
uvicorn's ``should_exit``, joins the thread and closes the socket; :func:`port_is_open` then
answers False.

Introduced in lab 12 (API security).
"""

from __future__ import annotations

import socket
import threading
import time

from ..validate import ArgumentTypeError, check_int, check_positive

__all__ = ["LocalServer", "port_is_open"]

LOCALHOST = "127.0.0.1"


def port_is_open(port: int, host: str = LOCALHOST, timeout_s: float = 0.5) -> bool:
    """Whether something accepts TCP connections on ``host:port`` (only 127.0.0.1 and
    localhost are allowed: the course reaches no other host).

    Introduced in lab 12 (API security).
    """
    port = check_int(port, "port", minimum=1, maximum=65535)
    timeout_s = check_positive(timeout_s, "timeout_s")
    if host not in (LOCALHOST, "localhost"):
        raise ValueError(f"host must be 127.0.0.1 or localhost, got {host!r}")
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


class LocalServer:
    """Serve an ASGI ``app`` with uvicorn on 127.0.0.1 in a background thread.

    ``LocalServer(app).start()`` returns the server once it accepts connections; ``.url``
    (``http://127.0.0.1:<port>``), ``.port``, ``.running``; ``.client()`` an ``httpx.Client``
    on it; ``.stop()`` shuts it down and joins the thread (idempotent). Also a context manager.
    ``port`` 0 (the default) takes a free port.

    Introduced in lab 12 (API security).
    """

    def __init__(self, app, *, port: int = 0, log_level: str = "warning",
                 start_timeout_s: float = 10.0):
        if not callable(app):
            raise ArgumentTypeError(f"app must be an ASGI application, got {type(app).__name__}")
        self.app = app
        self._wanted_port = check_int(port, "port", minimum=0, maximum=65535)
        self.log_level = log_level
        self.start_timeout_s = check_positive(start_timeout_s, "start_timeout_s")
        self._server = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port: int | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (only once started)."""
        if self.port is None:
            raise RuntimeError("the server is not started: call start() first")
        return f"http://{LOCALHOST}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server thread is alive and uvicorn has started."""
        return (self._thread is not None and self._thread.is_alive()
                and self._server is not None and self._server.started)

    def start(self) -> LocalServer:
        """Bind the port, start uvicorn in a thread and wait until it serves; returns self."""
        import uvicorn

        if self._thread is not None:
            raise RuntimeError("this server was already started; make a new LocalServer")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOCALHOST, self._wanted_port))
        except OSError:
            sock.close()
            raise
        sock.listen(128)
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level=self.log_level, access_log=False,
                                lifespan="off", ws="none")
        self._server = uvicorn.Server(config)

        def serve():
            try:
                self._server.run(sockets=[sock])
            except BaseException as err:  # noqa: BLE001 - reported by start()
                self._error = err

        self._thread = threading.Thread(target=serve, name=f"uvicorn-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.start_timeout_s
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                self.stop()
                raise RuntimeError(f"uvicorn did not start: {self._error!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"uvicorn did not start within {self.start_timeout_s} s")
            time.sleep(0.01)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask uvicorn to exit, join its thread and close the socket (no-op when stopped)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            if self._thread.is_alive():
                raise RuntimeError(f"the server thread did not stop within {timeout_s} s")
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def client(self, timeout_s: float = 10.0):
        """An ``httpx.Client`` with this server's base URL (environment proxies ignored)."""
        import httpx

        return httpx.Client(base_url=self.url, timeout=timeout_s, trust_env=False)

    def __enter__(self) -> LocalServer:
        return self.start() if self._thread is None else self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self.port is not None else "not started"
        return f"LocalServer({where}, {'running' if self.running else 'stopped'})"
