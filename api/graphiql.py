"""GraphiQL in the browser, served from files in this package: no CDN, works offline.

``graphiql_assets/vendor/`` holds the npm packages' browser builds byte for
byte (versions and where they come from: ``graphiql_assets/vendor/README.md``).
The page loads them with their published SHA-384 (Subresource Integrity), so a
file that differs from the pinned release is refused by the browser rather than
run; ``tests/api/test_graphiql.py`` checks the files against these hashes.

``graphiql_assets/graphiql-page.js`` is our part: it sends the session's CSRF
token (the ``whv_csrf`` cookie) as ``X-CSRF-Token`` with every request, so a
``login`` run in the page makes the next mutation work.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

ASSETS = Path(__file__).with_name("graphiql_assets")
URL_PREFIX = "/graphiql"

# Vendored files are named with their version, so browsers may keep them for good.
_IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class VendoredFile:
    name: str
    integrity: str  # sha384 as published with the npm release


VENDORED = {
    "react_js": VendoredFile(
        "react-18.2.0.production.min.js",
        "sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8"),
    "react_dom_js": VendoredFile(
        "react-dom-18.2.0.production.min.js",
        "sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh"),
    "graphiql_js": VendoredFile(
        "graphiql-3.8.3.min.js",
        "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie"),
    "graphiql_css": VendoredFile(
        "graphiql-3.8.3.min.css",
        "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM"),
    "explorer_js": VendoredFile(
        "graphiql-plugin-explorer-1.0.2.umd.js",
        "sha384-2oonKe47vfHIZnmB6ZZ10vl7T0Y+qrHQF2cmNTaFDuPshpKqpUMGMc9jgj9MLDZ9"),
    "explorer_css": VendoredFile(
        "graphiql-plugin-explorer-1.0.2.css",
        "sha384-5DFJlDPW2tSATRbM8kzoP1j194jexLswuNmClWoRr2Q0x7R68JIQzPHZ02Faktwi"),
}

# Our own files: they change with the project, so browsers revalidate them.
OWN_FILES = ("graphiql-page.js", "graphiql-page.css")

_MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@cache
def graphiql_page() -> str:
    """The HTML page that /graphql answers a browser with."""
    template = (ASSETS / "graphiql.html").read_text(encoding="utf-8")
    values = {"prefix": URL_PREFIX}
    for key, vendored in VENDORED.items():
        values[key] = f"vendor/{vendored.name}"
        values[f"{key}_integrity"] = vendored.integrity
    return template.format(**values)


def _asset_path(name: str) -> tuple[Path, str] | None:
    """The file behind an asset URL and its Cache-Control, for the files listed above only."""
    if name in OWN_FILES:
        return ASSETS / name, "no-cache"
    if name.startswith("vendor/") and name.removeprefix("vendor/") in {
        vendored.name for vendored in VENDORED.values()
    }:
        return ASSETS / name, _IMMUTABLE
    return None


async def graphiql_asset(request: Request) -> Response:
    found = _asset_path(request.path_params["name"])
    if found is None:
        return Response("not found", status_code=404, media_type="text/plain")
    path, cache_control = found
    return FileResponse(path, media_type=_MEDIA_TYPES[path.suffix],
                        headers={"Cache-Control": cache_control})


graphiql_routes = [Route(URL_PREFIX + "/{name:path}", graphiql_asset, methods=["GET", "HEAD"])]
