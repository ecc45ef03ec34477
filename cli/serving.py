"""Serving the API over HTTP until the process is asked to stop.

``serve`` binds its port itself, before it says where it serves and before it
starts anything else, so that a busy port is one clear line (exit code 2) and
the embedded default's public URL can follow the port actually bound.

The stop signals belong to the command (``workers.signals``), installed before
anything starts: uvicorn would otherwise install its own handlers only once it
runs, and a signal arriving in between stopped the scheduler but left the API
serving. Here uvicorn never touches the signal handlers; it polls the
command's stop event instead, so one signal at any moment stops everything.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import threading
from collections.abc import Iterator
from ipaddress import ip_address

import uvicorn
from starlette.types import ASGIApp

# Open connections (a WebSocket subscription) get this long to finish after a stop.
GRACEFUL_SHUTDOWN_SECONDS = 10
WILDCARD_HOSTS = {"", "0.0.0.0", "::"}  # noqa: S104 - names, not a bind


class PortUnavailableError(Exception):
    """The address to listen on cannot be bound (in use, not ours, not permitted)."""


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as error:
        raise PortUnavailableError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as error:
        sock.close()
        reason = error.strerror or str(error)
        hint = (" (another process is using it; choose another with --port)"
                if error.errno == errno.EADDRINUSE else "")
        raise PortUnavailableError(f"cannot listen on {host}:{port}: {reason}{hint}") from None
    return sock


def url_of(sock: socket.socket, host: str) -> str:
    """The http:// URL a browser on this machine reaches the bound socket at."""
    port = sock.getsockname()[1]
    if host in WILDCARD_HOSTS:
        host = "127.0.0.1"
    try:
        if ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass  # a name such as localhost
    return f"http://{host}:{port}"


class _Server(uvicorn.Server):
    """uvicorn, stopped by the command's event rather than by its own signal handlers."""

    def __init__(self, config: uvicorn.Config, stop: threading.Event) -> None:
        super().__init__(config)
        self._stop = stop

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the command's handlers stay installed: they set the stop event

    async def on_tick(self, counter: int) -> bool:
        if self._stop.is_set():
            self.should_exit = True
        return await super().on_tick(counter)


def serve_until_stopped(app: ASGIApp, sock: socket.socket, stop: threading.Event) -> None:
    """Serve ``app`` on ``sock`` until ``stop`` is set, then finish open requests."""
    config = uvicorn.Config(app, log_level="warning", proxy_headers=False,
                            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)
    _Server(config, stop).run(sockets=[sock])
