"""What every HTTP request leaves behind: a request id, its log context, its metrics.

A pure ASGI middleware (no buffering of bodies, WebSockets pass through): it
takes the caller's ``X-Request-ID`` when sane or makes one, makes it the
request id of every log record of the request (and of the jobs it queues),
returns it in the response, and counts the request by route template (not by
raw path: ids in paths would make unbounded label values).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.authentication import REQUEST_ID_HEADER, request_id
from core.logs import log_context
from core.telemetry import HTTP_LATENCY, HTTP_REQUESTS

log = logging.getLogger("wehostvoip.http")


def _route(app: Any, scope: Scope) -> str:
    for route in getattr(app, "routes", []):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return getattr(route, "path", "other")
    return "unmatched"


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from starlette.requests import Request

        rid = request_id(Request(scope))
        scope.setdefault("state", {})["request_id"] = rid
        route = _route(getattr(scope.get("app"), "router", None), scope)
        method = scope["method"]
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                if not any(name.lower() == REQUEST_ID_HEADER.lower().encode()
                           for name, _ in headers):
                    headers.append((REQUEST_ID_HEADER.encode(), rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        with log_context(request_id=rid):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                elapsed = time.perf_counter() - started
                HTTP_REQUESTS.labels(method, route, str(status)).inc()
                HTTP_LATENCY.labels(method, route).observe(elapsed)
                # The route template, never the raw path or query (tokens travel there).
                log.info("%s %s %d %.1f ms", method, route, status, elapsed * 1000)
