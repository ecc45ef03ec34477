"""Who is asking: a bearer API token, a browser session cookie, or nobody.

Bearer tokens are not ambient credentials (a browser never adds them by
itself), so only cookie-authenticated requests need the CSRF token.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import Session
from starlette.requests import HTTPConnection

from core import api_tokens, sessions
from core.settings import Settings
from core.viewer import ANONYMOUS, AuthMethod, Viewer, load_viewer
from schema.core.cookies import SESSION_COOKIE
from schema.core.forgery import CSRF_HEADER

REQUEST_ID_HEADER = "X-Request-ID"

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


@dataclass(frozen=True)
class Authentication:
    viewer: Viewer
    auth_session_id: uuid.UUID | None = None
    csrf_token_valid: bool = False
    # A bearer token was sent and is not (or no longer) valid: the caller meant to act as
    # someone and must be told, not served as anonymous (see api/token_refusal.py).
    bearer_refused: bool = False


def request_id(connection: HTTPConnection) -> str:
    """The caller's request id when it is sane, else a new one (it ends up in logs).

    Decided once per request, by the first to ask (the observability middleware).
    """
    stored = connection.scope.get("state", {}).get("request_id")
    if stored:
        return str(stored)
    given = connection.headers.get(REQUEST_ID_HEADER, "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


def client_address(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else ""


def origin_allowed(connection: HTTPConnection, settings: Settings) -> bool:
    """False when a browser says the request comes from a site that is not ours."""
    origin = connection.headers.get("origin")
    if origin is None:
        return True  # not a browser, or a same-origin GET
    parts = urlsplit(origin)
    return f"{parts.scheme}://{parts.netloc}" in settings.allowed_origins


def _bearer(connection: HTTPConnection) -> str | None:
    """The bearer token sent, "" for a Bearer header without one, None without the header."""
    scheme, _, value = connection.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _authenticate(
    session: Session, settings: Settings, connection: HTTPConnection, rid: str
) -> Authentication:
    address = client_address(connection)
    anonymous = Viewer(client_address=address, request_id=rid)
    bearer = _bearer(connection)
    if bearer is not None:
        token = api_tokens.find_token(session, bearer) if bearer else None
        viewer = None if token is None else load_viewer(
            session, token.administrator_id, auth_method=AuthMethod.API_TOKEN,
            client_address=address, request_id=rid)
        if viewer is None:
            return Authentication(anonymous, bearer_refused=True)
        return Authentication(viewer)
    cookie = connection.cookies.get(SESSION_COOKIE)
    if not cookie:
        return Authentication(anonymous)
    row = sessions.find_session(session, settings, cookie)
    if row is None:
        return Authentication(anonymous)
    viewer = load_viewer(session, row.administrator_id, auth_method=AuthMethod.SESSION,
                         client_address=address, request_id=rid)
    if viewer is None:
        return Authentication(anonymous)
    csrf_valid = sessions.csrf_matches(row, connection.headers.get(CSRF_HEADER))
    return Authentication(viewer, auth_session_id=row.id, csrf_token_valid=csrf_valid)


async def authenticate_bearer(
    token: str,
    connection: HTTPConnection,
    session_factory: async_sessionmaker[AsyncSession],
    rid: str,
) -> Viewer | None:
    """The viewer for a bearer token given outside the headers (WebSocket connection_init)."""

    def find(session: Session) -> Viewer | None:
        row = api_tokens.find_token(session, token)
        if row is None:
            return None
        return load_viewer(session, row.administrator_id, auth_method=AuthMethod.API_TOKEN,
                           client_address=client_address(connection), request_id=rid)

    async with session_factory() as session:
        # run_sync hands over the sqlmodel Session this factory makes (core.database);
        # SQLAlchemy types it as its base class.
        viewer = await session.run_sync(find)  # type: ignore[arg-type]
        await session.commit()
    return viewer


async def authenticate(
    connection: HTTPConnection,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    rid: str,
) -> Authentication:
    if _bearer(connection) is None and not connection.cookies.get(SESSION_COOKIE):
        return Authentication(Viewer(client_address=client_address(connection), request_id=rid))
    async with session_factory() as session:
        # A sqlmodel Session, typed by SQLAlchemy as its base class (see above).
        result = await session.run_sync(_authenticate, settings, connection, rid)  # type: ignore[arg-type]
        await session.commit()  # last-seen / last-used times
    return result


__all__ = ["ANONYMOUS", "Authentication", "authenticate"]
