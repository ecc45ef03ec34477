"""Uploaded media served back over HTTP: ISP logos.

Logos are public (an ISP's login page shows its logo before anyone signs in),
so there is no authentication here. The bytes were checked to be PNG or JPEG
when they were uploaded; the headers make sure a browser never treats them as
anything else, even if a file somehow slipped through.
"""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.models import IspLogo

CACHE_CONTROL = "public, max-age=300"
_FILENAMES = {"image/png": "logo.png", "image/jpeg": "logo.jpg"}
# No sniffing into another type; and were the file ever opened as a document,
# no scripts, plugins or same-origin access.
_SAFETY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


async def isp_logo(request: Request) -> Response:
    """``GET /media/isp-logos/{isp_id}``: the ISP's logo, or 404."""
    isp_id = _parse_uuid(request.path_params["isp_id"])
    if isp_id is None:
        return _not_found()
    async with request.app.state.sessions() as session:
        logo = await session.get(IspLogo, isp_id)
    if logo is None:
        return _not_found()
    headers = _logo_headers(logo)
    if _etag_matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    if request.method == "HEAD":
        # The length of the body a GET would send, without sending it.
        headers["Content-Length"] = str(len(logo.content))
        return Response(headers=headers, media_type=logo.content_type)
    return Response(logo.content, headers=headers, media_type=logo.content_type)


def _parse_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _not_found() -> JSONResponse:
    # The same answer for a malformed id and for an ISP without a logo.
    return JSONResponse({"error": "not found"}, status_code=404)


def _logo_headers(logo: IspLogo) -> dict[str, str]:
    filename = _FILENAMES.get(logo.content_type, "logo")
    return {
        "ETag": f'"{logo.sha256}"',
        "Cache-Control": CACHE_CONTROL,
        "Content-Disposition": f'inline; filename="{filename}"',
        **_SAFETY_HEADERS,
    }


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: ``*`` or a list of tags, compared weakly."""
    if not if_none_match:
        return False
    candidates = {candidate.strip() for candidate in if_none_match.split(",")}
    if "*" in candidates:
        return True
    return etag in {candidate.removeprefix("W/") for candidate in candidates}


# Starlette answers HEAD for a GET route and 405 for any other method.
media_routes: list[Route] = [
    Route("/media/isp-logos/{isp_id}", isp_logo, methods=["GET", "HEAD"]),
]
