"""The web console (``web/``, built into ``web/dist``) served at ``/``.

Its routes go last in the app's route list: every explicit route (``/graphql``,
``/healthz``, downloads, OAuth callbacks, server-rendered pages) wins, and any
other GET falls through to here. Hashed files under ``/assets/`` never change,
so browsers keep them a year; ``index.html`` answers every client-side route
(``/tenants/…``: deep links) and is never cached, so a new build is picked up on
the next load. Paths that belong to the API's own prefixes get a plain 404
instead of the app, so a mistyped API URL does not answer with HTML.

When the console has not been built, the fallback answers a short page that
says how to build it.

The pages that e-mailed links open (``/signup/complete``, ``/invitation/accept``,
``/login``: ``api/pages.py``) are the console's own screens once it is built;
``console_first`` gives those paths to the console when its build is there and to
the API's small pages when it is not, decided per request so that a build made
while the API runs is picked up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

Endpoint = Callable[[Request], Awaitable[Response]]

IMMUTABLE = "public, max-age=31536000, immutable"
# The console talks only to its own origin: the policy makes any other request
# (fonts, scripts, trackers) fail in the browser, not just absent from the code.
# Inline style attributes are allowed: React sets the ISP's colour swatches that way.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_FILE_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
_ASSET_HEADERS = {"Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff"}
_DOCUMENT_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# Prefixes the API answers itself; an unknown path under them is a 404, not the app.
API_PREFIXES = (
    "graphql", "graphiql/", "pages/", "healthz", "readyz", "metrics", "media/", "downloads/",
    "oauth/", "hooks/",
)

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>WeHostVoIP</title></head>
<body><main>
<h1>The web console is not built</h1>
<p>The API is running at <a href="/graphql">/graphql</a>. To serve the console here,
install Node.js 20 or newer and npm, then run <code>./dev serve</code> again (it builds
the console), or build it by hand:
<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>.</p>
</main></body></html>
"""


def console_first(routes: Sequence[BaseRoute], paths: frozenset[str],
                  directory: Path) -> list[BaseRoute]:
    """``routes`` with those at ``paths`` answered by the built console, when there is one."""
    index = directory.resolve() / "index.html"

    def preferring_console(page: Endpoint) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            if index.is_file():
                return FileResponse(index, media_type="text/html; charset=utf-8",
                                    headers=_DOCUMENT_HEADERS)
            return await page(request)
        return endpoint

    return [Route(route.path, preferring_console(route.endpoint), methods=route.methods)
            if isinstance(route, Route) and route.path in paths else route
            for route in routes]


def console_routes(directory: Path) -> list[BaseRoute]:
    """The console's routes, to append after every other route of the app."""
    directory = directory.resolve()

    async def asset(request: Request) -> Response:
        path = _inside(directory / "assets", request.path_params["path"])
        if path is None:
            return PlainTextResponse("Not Found", status_code=404)
        return FileResponse(path, headers=_ASSET_HEADERS)

    async def page(request: Request) -> Response:
        requested = request.path_params["path"]
        if requested.startswith(API_PREFIXES):
            return PlainTextResponse("Not Found", status_code=404)
        index = directory / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503, headers={"Cache-Control": "no-cache"})
        # A file at the top of the build (favicon, robots.txt) is served as itself.
        top_level = _inside(directory, requested) if requested and "/" not in requested else None
        if top_level is not None and top_level.name != "index.html":
            return FileResponse(top_level, headers=_FILE_HEADERS)
        return FileResponse(index, media_type="text/html; charset=utf-8", headers=_DOCUMENT_HEADERS)

    return [
        Route("/assets/{path:path}", asset, methods=["GET", "HEAD"]),
        Route("/{path:path}", page, methods=["GET", "HEAD"]),
    ]


def _inside(directory: Path, relative: str) -> Path | None:
    """The regular file at ``relative`` under ``directory``; None for anything else,
    ``..`` escapes included."""
    try:
        path = (directory / relative).resolve()
    except (OSError, ValueError):
        return None
    if not path.is_relative_to(directory) or not path.is_file():
        return None
    return path
