"""A client that hangs up mid-request is not a server error.

Starlette raises ``ClientDisconnect`` when a browser cancels a request while the
body is still being read (a closed tab, a superseded query). Uvicorn would log
that as ``ERROR Exception in ASGI application`` with a traceback, drowning real
errors; there is nobody left to answer, so it is noted at debug level and dropped.
"""

from __future__ import annotations

import logging

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)


class ClientDisconnectQuiet:
    """ASGI middleware: a request whose client went away ends quietly."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except ClientDisconnect:
            log.debug("client disconnected before %s %s was answered",
                      scope.get("method"), scope.get("path"))


__all__ = ["ClientDisconnectQuiet"]
