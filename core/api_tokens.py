"""Personal API tokens for automation, sent as ``Authorization: Bearer``.

A token acts with its creator's roles as they are when it is used, so taking
a role away from a person also takes it from their tokens.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlmodel import Session, col, select

from core.errors import DomainError, ErrorCode, not_found
from core.models import ApiToken, utcnow
from core.tokens import digest, new_token
from core.validation import bounded_text

TOKEN_PREFIX = "whv_"
# Recording every use would write on every request; once a minute is enough to tell.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
MAX_LIFETIME_DAYS = 366


@dataclass(frozen=True)
class CreatedToken:
    token: ApiToken
    secret: str  # shown once, never stored


def create_token(
    session: Session, administrator_id: uuid.UUID, *, name: str, expires_in_days: int | None
) -> CreatedToken:
    name = bounded_text(name, ("name",), max_length=100, required=True)
    expires_at = None
    if expires_in_days is not None:
        if not 1 <= expires_in_days <= MAX_LIFETIME_DAYS:
            raise DomainError.single(
                ErrorCode.INVALID, f"choose 1 to {MAX_LIFETIME_DAYS} days", "expires_in_days"
            )
        expires_at = utcnow() + dt.timedelta(days=expires_in_days)
    secret = new_token(TOKEN_PREFIX)
    row = ApiToken(
        administrator_id=administrator_id,
        name=name,
        token_hash=digest(secret),
        token_prefix=secret[: len(TOKEN_PREFIX) + 6],
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return CreatedToken(token=row, secret=secret)


def find_token(session: Session, secret: str) -> ApiToken | None:
    """The live token for this bearer value, its use recorded; None otherwise."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == digest(secret))).first()
    now = utcnow()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and now >= row.expires_at:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
        session.add(row)
    return row


def revoke_token(session: Session, administrator_id: uuid.UUID, token_id: uuid.UUID) -> ApiToken:
    row = session.get(ApiToken, token_id)
    # Someone else's token answers like a missing one.
    if row is None or row.administrator_id != administrator_id:
        raise not_found("API token", "id")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
    return row


def revoke_all_tokens(session: Session, administrator_id: uuid.UUID) -> int:
    """Revoke every live token of a person (their removal): how many were live."""
    now = utcnow()
    rows = session.exec(select(ApiToken).where(
        ApiToken.administrator_id == administrator_id,
        col(ApiToken.revoked_at).is_(None),
    )).all()
    for row in rows:
        row.revoked_at = now
        session.add(row)
    return len(rows)
