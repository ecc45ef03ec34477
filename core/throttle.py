"""Slowing down and then refusing repeated failed logins.

Failures are counted per account and per client address. From a threshold on,
each further failure locks the key for twice as long as the last (2 s, 4 s, 8 s
... up to 15 minutes), so guessing quickly becomes useless while a person who
mistyped twice is not bothered. A success clears the account's counter.
"""

from __future__ import annotations

import datetime as dt
import math

from sqlmodel import Session, col, select

from core.errors import DomainError, ErrorCode
from core.models import LoginThrottle, utcnow

WINDOW = dt.timedelta(minutes=15)
MAX_LOCK = dt.timedelta(minutes=15)
BASE_LOCK = dt.timedelta(seconds=2)
ACCOUNT_THRESHOLD = 3
ADDRESS_THRESHOLD = 20


def account_key(email: str) -> str:
    return f"account:{email.lower()}"


def address_key(address: str) -> str:
    return f"address:{address}"


def _threshold(key: str) -> int:
    return ACCOUNT_THRESHOLD if key.startswith("account:") else ADDRESS_THRESHOLD


def _rows(session: Session, keys: list[str]) -> dict[str, LoginThrottle]:
    statement = select(LoginThrottle).where(col(LoginThrottle.key).in_(keys))
    return {row.key: row for row in session.exec(statement)}


def ensure_allowed(session: Session, keys: list[str], now: dt.datetime | None = None) -> None:
    """Refuse with TOO_MANY_ATTEMPTS while any of the keys is locked."""
    now = now or utcnow()
    waits = [
        (row.locked_until - now).total_seconds()
        for row in _rows(session, keys).values()
        if row.locked_until and row.locked_until > now
    ]
    if waits:
        seconds = math.ceil(max(waits))
        raise DomainError.single(
            ErrorCode.TOO_MANY_ATTEMPTS,
            f"too many failed attempts; try again in {seconds} seconds",
        )


def record_failure(session: Session, keys: list[str], now: dt.datetime | None = None) -> None:
    now = now or utcnow()
    rows = _rows(session, keys)
    for key in keys:
        row = rows.get(key) or LoginThrottle(key=key)
        if row.last_failure_at is None or now - row.last_failure_at > WINDOW:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        beyond = row.failures - _threshold(key)
        if beyond >= 0:
            row.locked_until = now + min(BASE_LOCK * (2**beyond), MAX_LOCK)
        session.add(row)


def record_success(session: Session, email: str) -> None:
    row = _rows(session, [account_key(email)]).get(account_key(email))
    if row is not None:
        session.delete(row)
