"""Periodic work that fires once per interval, however many schedulers run.

Each task has a row; a scheduler fires the task only when its conditional
UPDATE of that row wins, so two schedulers started by mistake still fire each
task once per interval.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from core.models import PeriodicTaskRun, utcnow


def claim_run(session: Session, name: str, interval: dt.timedelta, scheduler_id: str) -> bool:
    """True when this scheduler should start the task now (and has recorded so)."""
    if session.get(PeriodicTaskRun, name) is None:
        try:
            with session.begin_nested():
                session.add(PeriodicTaskRun(name=name))
        except IntegrityError:
            pass  # another scheduler created it first
    now = utcnow()
    result = session.exec(
        update(PeriodicTaskRun)
        .where(col(PeriodicTaskRun.name) == name,
               or_(col(PeriodicTaskRun.last_started_at).is_(None),
                   col(PeriodicTaskRun.last_started_at) <= now - interval))
        .values(last_started_at=now, last_scheduler=scheduler_id)
    )
    return result.rowcount == 1
