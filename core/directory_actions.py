"""What a directory sync does to subscribers it disables or removes, and when.

Disables and removals are held back until a run is over: the sync engine
applies them at once, or a braked run keeps them (:func:`hold`) until an
administrator decides (:func:`release_held_actions`). A deleted user's
subscriber is disabled at once and removed after the link's grace period
(:func:`remove_expired`), its numbers going to quarantine.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import delete, insert, select, update
from sqlmodel import Session, col

from core.bulk import update_rows
from core.caller_ids import numbers_left_tenant
from core.extension_sequence import extensions_freed
from core.models import (
    DirectoryLink,
    DirectorySyncPending,
    Isp,
    Number,
    NumberState,
    Subscriber,
    SubscriberStatus,
    Tenant,
    utcnow,
)

DISABLE, DELETE = "DISABLE", "DELETE"


class Action(NamedTuple):
    subscriber_id: uuid.UUID
    action: str  # DISABLE or DELETE
    username: str
    email: str
    # The directory's fingerprint of the user, stored once the action is applied: until
    # then a later round still sees the change (an interrupted or braked round loses nothing).
    fingerprint: str = ""
    # What else the round changes in the row (name, e-mail...): written with the action.
    values: dict[str, Any] | None = None


def apply_actions(session: Session, actions: Iterable[Action],
                  counters: dict[str, int]) -> None:
    """Disable (and for deleted users, mark for removal) the subscribers named."""
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for action in actions:
        # Disabled since the first time (disabled_at is only filled in), not since the
        # last re-sync that saw it so; without a fingerprint the stored one stays.
        values: dict[str, Any] = {**(action.values or {}), "id": action.subscriber_id,
                                  "status": SubscriberStatus.DISABLED, "updated_at": now,
                                  "disabled_at": now}
        if action.fingerprint:
            values["sync_fingerprint"] = action.fingerprint
        if action.action == DELETE:
            values["directory_deleted_at"] = now
            counters["removed"] = counters.get("removed", 0) + 1
        else:
            counters["disabled"] = counters.get("disabled", 0) + 1
        rows.append(values)
    # Whatever else the actions set, one statement: the columns an action leaves out keep
    # their values.
    optional = frozenset().union(*rows) - {"id", "status", "updated_at", "disabled_at"}
    update_rows(session, Subscriber, rows, fill_only=frozenset({"disabled_at"}),
                optional=optional | {"sync_fingerprint", "directory_deleted_at"})


def hold(session: Session, link_id: uuid.UUID, job_id: uuid.UUID, actions: list[Action]) -> None:
    """Keep the braked run's disables and removals for an administrator to decide on."""
    session.execute(delete(DirectorySyncPending)
                    .where(col(DirectorySyncPending.link_id) == link_id))
    if actions:
        session.execute(insert(DirectorySyncPending), [
            {"id": uuid.uuid4(), "link_id": link_id, "job_id": job_id,
             "subscriber_id": action.subscriber_id, "action": action.action,
             "username": action.username, "email": action.email,
             "fingerprint": action.fingerprint} for action in actions])


def release_held_actions(session: Session, link_id: uuid.UUID, *, apply: bool) -> dict[str, int]:
    """Apply (or drop) what a braked run held back."""
    rows = session.execute(select(DirectorySyncPending).where(
        col(DirectorySyncPending.link_id) == link_id)).scalars().all()
    counters: dict[str, int] = {}
    if apply:
        apply_actions(session, [Action(row.subscriber_id, row.action, row.username, row.email,
                                       row.fingerprint) for row in rows], counters)
    session.execute(delete(DirectorySyncPending)
                    .where(col(DirectorySyncPending.link_id) == link_id))
    return counters


# Removal after the grace period -------------------------------------------------------------


def remove_expired(session: Session, now: dt.datetime | None = None) -> int:
    """Delete subscribers whose directory user was deleted longer ago than the grace period;
    their numbers go to quarantine (or back to the inventory when the ISP keeps none)."""
    now = now or utcnow()
    rows = session.execute(
        select(col(Subscriber.id), col(Subscriber.tenant_id), col(Subscriber.alias),
               col(Subscriber.directory_deleted_at),
               col(DirectoryLink.removal_grace_days), col(Tenant.isp_id))
        .join(DirectoryLink, col(DirectoryLink.tenant_id) == Subscriber.tenant_id)
        .join(Tenant, col(Tenant.id) == Subscriber.tenant_id)
        .where(col(Subscriber.directory_deleted_at).is_not(None))).all()
    expired = [row for row in rows
               if row.directory_deleted_at + dt.timedelta(days=row.removal_grace_days) <= now]
    for row in expired:
        isp = session.get(Isp, row.isp_id)
        assert isp is not None  # a tenant's ISP exists (foreign key)
        days = isp.number_quarantine_days
        until = now + dt.timedelta(days=days) if days else None
        released = session.execute(
            update(Number).where(Number.target_subscriber_id == row.id,
                                 col(Number.state) == NumberState.ASSIGNED)
            .values(state=NumberState.QUARANTINE if until else NumberState.AVAILABLE,
                    quarantine_until=until, tenant_id=None, target_subscriber_id=None,
                    updated_at=now)
            .returning(col(Number.e164))).scalars().all()
        numbers_left_tenant(session, row.tenant_id, released)
        session.execute(delete(Subscriber).where(Subscriber.id == row.id))
        extensions_freed(session, row.tenant_id, [row.alias])
    return len(expired)
