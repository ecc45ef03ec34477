"""Request bodies: how large they may be, and JSON parsed without trusting its nesting.

A body larger than ``WEHOSTVOIP_MAX_REQUEST_BYTES`` (multipart uploads:
``WEHOSTVOIP_MAX_UPLOAD_REQUEST_BYTES``) is refused with HTTP 413 before it is
read in full: by its Content-Length when it declares one, else as soon as the
bytes received pass the limit. Each upload's own limit (a logo, a CSV file) is
checked again where it is read.

JSON nested deeper than :data:`MAX_JSON_DEPTH` is refused like any malformed
body (HTTP 400): Python's parser gives up on deep nesting with a RecursionError,
which would otherwise be an HTTP 500, and anything that walks a parsed value
recursively later would meet the same limit.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Far more than any GraphQL request needs (an input object holding lists of objects).
MAX_JSON_DEPTH = 64


def decode_json(data: str | bytes) -> object:
    """``json.loads``, refusing nesting deeper than MAX_JSON_DEPTH as malformed JSON."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise json.JSONDecodeError(f"nested deeper than {MAX_JSON_DEPTH} levels", "", 0) from None
    if _depth_exceeds(value, MAX_JSON_DEPTH):
        raise json.JSONDecodeError(f"nested deeper than {MAX_JSON_DEPTH} levels", "", 0)
    return value


def _depth_exceeds(value: object, limit: int) -> bool:
    """Whether arrays and objects nest deeper than ``limit`` (without recursing)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item \
            if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))
    return False


class _TooLarge(Exception):  # noqa: N818 - a signal between receive() and the middleware
    pass


def _too_large(limit: int) -> list[Message]:
    body = json.dumps({"errors": [{
        "message": f"the request body is larger than {limit} bytes",
        "extensions": {"code": "REQUEST_TOO_LARGE"}}]}).encode()
    return [
        {"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]},
        {"type": "http.response.body", "body": body},
    ]


class RequestSizeLimit:
    """ASGI middleware: HTTP 413 for a body over the limit of its kind."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes

    def _limit(self, scope: Scope) -> tuple[int, int | None]:
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").lower()
        limit = (self.max_upload_bytes if content_type.startswith(b"multipart/form-data")
                 else self.max_bytes)
        try:
            declared: int | None = int(headers.get(b"content-length", b""))
        except ValueError:
            declared = None
        return limit, declared

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, declared = self._limit(scope)
        if declared is not None and declared > limit:
            for message in _too_large(limit):
                await send(message)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        async def noted_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, noted_send)
        except _TooLarge:
            if started:
                raise
            for message in _too_large(limit):
                await send(message)


__all__ = ["MAX_JSON_DEPTH", "RequestSizeLimit", "decode_json"]
