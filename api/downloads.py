"""One-time downloads of generated files: ``GET /downloads/{file_id}?token=...``.

The link comes from the ``credentialsDownloadLink`` mutation. Its token is
signed for one file and one administrator and lives a few minutes, and the
request must also be authenticated as that administrator (session cookie or
bearer token), so a link that leaks through a log or a screen share opens
nothing. The first download empties the file.

Answers: 200 with the file; 401 when nobody is logged in; 404 when the file
does not exist or is not the viewer's to see; 403 when the token is not valid
for this viewer or has expired; 410 once the file was downloaded or expired.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.authentication import REQUEST_ID_HEADER, authenticate, request_id
from core.credentials import Download, DownloadRefused, Refusal, take_download
from core.settings import Settings
from core.viewer import Viewer

_REFUSALS = {
    Refusal.NOT_FOUND: (404, "not found"),
    Refusal.FORBIDDEN: (403, "this link is not valid for you, or has expired"),
    Refusal.GONE: (410, "the file was already downloaded or is no longer kept"),
}
# The file holds secrets: nothing may keep a copy, sniff it into another type, or learn
# the link from a Referer.
_PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def download(request: Request) -> Response:
    rid = request_id(request)
    if request.method == "HEAD":
        # Starlette routes HEAD to GET handlers; a link preview must not use up the file.
        return _error(405, "use GET", rid, {"Allow": "GET"})
    file_id = _parse_uuid(request.path_params["file_id"])
    if file_id is None:
        return _error(404, "not found", rid)
    settings: Settings = request.app.state.settings
    sessions = request.app.state.sessions
    viewer = (await authenticate(request, settings, sessions, rid)).viewer
    if not viewer.is_authenticated:
        return _error(401, "log in first", rid, {"WWW-Authenticate": "Bearer"})
    token = request.query_params.get("token", "")
    async with sessions() as session:
        try:
            taken = await _take(session, settings, viewer, file_id, token)
        except DownloadRefused as refused:
            status, message = _REFUSALS[refused.refusal]
            return _error(status, message, rid)
    return Response(taken.content, media_type=taken.content_type, headers={
        "Content-Disposition": f'attachment; filename="{taken.filename}"',
        REQUEST_ID_HEADER: rid, **_PRIVATE_HEADERS,
    })


async def _take(session: AsyncSession, settings: Settings, viewer: Viewer, file_id: uuid.UUID,
                token: str) -> Download:
    """The file, with its one download and the audit event committed before it is sent."""
    async with session.begin():
        # run_sync hands over the sqlmodel Session this factory makes (core.database);
        # SQLAlchemy types it as its base class.
        return await session.run_sync(take_download, settings, viewer, file_id,  # type: ignore[arg-type]
                                      token)


def _parse_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _error(status: int, message: str, rid: str,
           headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status,
                        headers={REQUEST_ID_HEADER: rid, **_PRIVATE_HEADERS, **(headers or {})})


download_routes: list[Route] = [
    Route("/downloads/{file_id}", download, methods=["GET"]),
]
