"""Browser sessions: opaque ids in a cookie, held server-side, revocable.

A session ends at whichever comes first: its absolute expiry, an idle period
without requests, or revocation (logout). Each session also has a CSRF token
that browser mutations must echo in a header.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlmodel import Session, col, select

from core.models import AuthSession, utcnow
from core.settings import Settings
from core.tokens import digest, new_token, same_digest

# Writing last_seen_at on every request would turn reads into writes.
TOUCH_INTERVAL = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class NewSession:
    session: AuthSession
    token: str  # goes into the HttpOnly cookie, never stored
    csrf_token: str  # given to the web app, never stored


def start_session(
    session: Session,
    settings: Settings,
    administrator_id: uuid.UUID,
    *,
    client_address: str = "",
    user_agent: str = "",
) -> NewSession:
    now = utcnow()
    token, csrf_token = new_token(), new_token()
    row = AuthSession(
        token_hash=digest(token),
        csrf_token_hash=digest(csrf_token),
        administrator_id=administrator_id,
        last_seen_at=now,
        expires_at=now + dt.timedelta(hours=settings.session_absolute_hours),
        client_address=client_address[:45],
        user_agent=user_agent[:300],
    )
    session.add(row)
    session.flush()
    return NewSession(session=row, token=token, csrf_token=csrf_token)


def find_session(session: Session, settings: Settings, token: str) -> AuthSession | None:
    """The live session for this cookie value, touched; None when expired or revoked."""
    row = session.exec(select(AuthSession).where(AuthSession.token_hash == digest(token))).first()
    now = utcnow()
    if row is None or row.revoked_at is not None or now >= row.expires_at:
        return None
    if now - row.last_seen_at >= dt.timedelta(minutes=settings.session_idle_minutes):
        return None
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        row.last_seen_at = now
        session.add(row)
    return row


def csrf_matches(row: AuthSession, csrf_token: str | None) -> bool:
    return csrf_token is not None and bool(csrf_token) and same_digest(csrf_token,
                                                                       row.csrf_token_hash)


def end_session(session: Session, session_id: uuid.UUID) -> None:
    row = session.get(AuthSession, session_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)


def end_all_sessions(session: Session, administrator_id: uuid.UUID) -> None:
    """Revoke every session of a person (password change, removal)."""
    now = utcnow()
    rows = session.exec(
        select(AuthSession).where(
            AuthSession.administrator_id == administrator_id, col(AuthSession.revoked_at).is_(None)
        )
    )
    for row in rows:
        row.revoked_at = now
        session.add(row)
