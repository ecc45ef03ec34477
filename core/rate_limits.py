"""Doing something at most so many times per key and window (sending e-mails, say).

Fixed windows counted in the database, so that every API replica counts the
same: a key's window starts with its first use and lasts ``per``; within it,
:func:`take` grants ``limit`` uses and refuses the rest. Callers decide what a
refusal means: for sign-up e-mails, that nothing is sent while the answer
stays the same.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from core.models import RateLimit, utcnow


def take(session: Session, key: str, *, limit: int, per: dt.timedelta,
         now: dt.datetime | None = None) -> bool:
    """Use one of the key's ``limit`` uses in its window; False when none is left."""
    now = now or utcnow()
    # One conditional UPDATE per case, so that two replicas cannot both take the last use.
    renewed = session.exec(update(RateLimit).where(
        col(RateLimit.key) == key, col(RateLimit.window_ends_at) <= now,
    ).values(count=1, window_ends_at=now + per).execution_options(synchronize_session=False))
    if renewed.rowcount == 1:
        return True
    counted = session.exec(update(RateLimit).where(
        col(RateLimit.key) == key, col(RateLimit.count) < limit,
    ).values(count=RateLimit.count + 1).execution_options(synchronize_session=False))
    if counted.rowcount == 1:
        return True
    if session.get(RateLimit, key) is not None:
        return False  # the window is used up
    try:
        with session.begin_nested():
            session.add(RateLimit(key=key, count=1, window_ends_at=now + per))
    except IntegrityError:
        # Someone created the key meanwhile: count against theirs.
        return take(session, key, limit=limit, per=per, now=now)
    return True


__all__ = ["take"]
