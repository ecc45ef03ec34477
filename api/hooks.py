"""Push notifications from Google Workspace: ``POST /hooks/google/directory``.

A tenant whose Google directory is synced has a watch channel on its domain's
users (``workers/directory_sync.py`` opens and renews it). Google posts to this
endpoint when a user changes, with the channel's id and the token we gave it in
the ``X-Goog-Channel-ID`` / ``X-Goog-Channel-Token`` headers. A right token
queues a re-sync of that tenant at once (coalesced with one already queued);
the first ``sync`` message of a channel only says that it works. Anything
else is refused without saying why.
"""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.database import async_session_scope
from core.directory_links import queue_notified_sync, watched_link
from workers.directory_sync import GOOGLE_HOOK


async def google_directory_hook(request: Request) -> Response:
    channel_id = request.headers.get("x-goog-channel-id", "")
    token = request.headers.get("x-goog-channel-token", "")
    state = request.headers.get("x-goog-resource-state", "")
    if not channel_id or not token:
        return Response(status_code=404)

    def notice(session: Session) -> bool:
        link = watched_link(session, channel_id, token)
        if link is None:
            return False
        if state != "sync":
            queue_notified_sync(session, link)
        return True

    async with async_session_scope(request.app.state.sessions) as session:
        # run_sync hands over the sqlmodel Session this factory makes (core.database).
        known = await session.run_sync(notice)  # type: ignore[arg-type]
    return Response(status_code=200 if known else 404)


hook_routes = [Route(GOOGLE_HOOK, google_directory_hook, methods=["POST"])]
