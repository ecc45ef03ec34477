"""Headers every response carries, so that browsers treat the API as what it is.

- ``X-Content-Type-Options: nosniff``: a JSON answer is never sniffed into HTML
  or script.
- ``Cache-Control: no-store`` (unless the route chose its own, e.g. logos): answers
  hold personal data and secrets, no shared or browser cache may keep them.
- ``Referrer-Policy: no-referrer``: links in answers (download URLs with tokens)
  do not leak through a Referer.
- ``X-Frame-Options: DENY`` and ``Content-Security-Policy: frame-ancestors 'none'``:
  no other site may frame a page of ours (GraphiQL) to click-jack it.
- ``Strict-Transport-Security`` when the public URL is https: browsers keep to
  https for a year, subdomains included.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.headers = {
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": "frame-ancestors 'none'",
            **({"Strict-Transport-Security": HSTS} if https else {}),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
                headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, with_headers)


__all__ = ["SecurityHeaders"]
