"""Asking a proxy to reload its tables, over Kamailio's JSON-RPC (jsonrpcs over xhttp).

Kamailio hides failures well (see ../shared/KAMAILIO.md): a failed drouting
reload answers HTTP 200 with the result ``"failed to load routing data"``, and
dialplan and permissions refuse a reload within ``reload_delta`` of the last
one with "ongoing reload". So a reload counts as done only when the answer
carries no error and, for drouting, the result is exactly ``"reload ok"``;
"ongoing reload" is retried for a short while.
"""

from __future__ import annotations

import functools
import itertools
import ssl
import time
from typing import Any

import httpx

DROUTING_OK = "reload ok"
RETRY_WINDOW_SECONDS = 6.0  # longer than Kamailio's default reload_delta of 5 s
RETRY_PAUSE_SECONDS = 0.1
# A whole reload of a large table takes seconds (htable.reload of 200,000 DIDs on a busy
# machine took more than 5): wait for the answer rather than count a working reload failed.
CALL_TIMEOUT_SECONDS = 60.0
# (method, params): a reload, or one hash-table entry (htable.sets, htable.seti, htable.delete).
Call = tuple[str, tuple[str | int, ...]]

_ids = itertools.count(1)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


class ReloadError(Exception):
    """The proxy did not confirm a reload (unreachable, refused or failed)."""


class ProxyClient:
    """One proxy's JSON-RPC endpoint."""

    def __init__(self, url: str, *, timeout: float = CALL_TIMEOUT_SECONDS,
                 client: httpx.Client | None = None) -> None:
        self.url = url
        # One TLS context for every client: making one costs tens of milliseconds, more
        # than a reload of a small table.
        self._client = client or httpx.Client(timeout=timeout, verify=_tls_context())

    def call(self, method: str, *params: Any) -> Any:
        """The result of one call; ReloadError for transport or RPC errors."""
        request = {"jsonrpc": "2.0", "method": method, "id": next(_ids)}
        if params:
            request["params"] = list(params)
        try:
            response = self._client.post(self.url, json=request)
            answer = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ReloadError(f"{method}: {type(error).__name__}: {error}") from error
        if not isinstance(answer, dict):
            raise ReloadError(f"{method}: unexpected answer {answer!r}")
        if "error" in answer:
            failure = answer["error"] or {}
            message = failure.get("message", "") if isinstance(failure, dict) else str(failure)
            raise ReloadError(f"{method}: {message}".strip())
        return answer.get("result")

    def reload(self, method: str, *params: str | int) -> None:
        deadline = time.monotonic() + RETRY_WINDOW_SECONDS
        while True:
            try:
                result = self.call(method, *params)
            except ReloadError as error:
                if "ongoing reload" in str(error) and time.monotonic() < deadline:
                    time.sleep(RETRY_PAUSE_SECONDS)
                    continue
                raise
            if method == "drouting.reload" and result != DROUTING_OK:
                raise ReloadError(f"{method}: {result!r}")
            return

    def close(self) -> None:
        self._client.close()
