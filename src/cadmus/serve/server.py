"""Running the app on uvicorn: in the foreground (`cadmus serve`) or on a background thread (tests, benchmarks).

The listening socket is bound before uvicorn starts, so ``port=0`` picks a
free port whose number is known, and the address is announced only once the
server accepts connections.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from cadmus.serve.app import create_app
from cadmus.serve.engine import ServeEngine, ServeError


class _Server(uvicorn.Server):
    """A uvicorn server that calls `on_ready` once it listens."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None] | None = None) -> None:
        super().__init__(config)
        self.on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self.on_ready is not None:
            self.on_ready()


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (``port=0``: any free port); `ServeError` naming the field."""
    if not 0 <= port <= 65535:
        raise ServeError(f"must be from 0 to 65535, got {port}", key="port")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise ServeError(f"cannot resolve host {host!r}: {err.strerror}", key="host") from None
    family, kind, proto, _, address = infos[0]
    # proto must say TCP: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets that
    # say so, and with it on, a response written in two parts waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as err:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {err.strerror}", key="port") from None
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _config(engine: ServeEngine, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(engine),
        log_level=log_level,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        limit_concurrency=4096,
    )


def serve(
    checkpoint: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    name: str | None = None,
    device: str = "auto",
    max_batch: int = 32,
    batch_window_ms: float = 2.0,
    log_level: str = "warning",
    announce: Callable[[str], None] = print,
) -> None:
    """Serve a run directory or checkpoint until interrupted (Ctrl-C returns normally)."""
    engine = ServeEngine.load(
        checkpoint, device=device, name=name, max_batch=max_batch, batch_window_ms=batch_window_ms
    )
    sock = bind(host, port)
    url = url_of(sock)

    def ready() -> None:
        announce(f"cadmus serve: model '{engine.name}' at {url}/v1 (Ctrl-C stops)")

    server = _Server(_config(engine, log_level), on_ready=ready)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it shut down for
        pass
    finally:
        engine.close()
        sock.close()
    announce("cadmus serve: stopped")


@contextmanager
def serve_in_thread(
    engine: ServeEngine, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"
) -> Iterator[str]:
    """Serve `engine` on a background thread; yields the base URL (``http://host:port``)."""
    sock = bind(host, port)
    ready = threading.Event()
    server = _Server(_config(engine, log_level), on_ready=ready.set)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="cadmus-serve", daemon=True)
    thread.start()
    try:
        if not ready.wait(60):
            raise ServeError("the server did not start within 60 s", status=500)
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
