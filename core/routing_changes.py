"""Noticing routing changes: every commit that touches routing data asks for an export.

The proxies must follow any change of tenants, subscribers, numbers, dial
plans, carriers, security groups or proxies, whichever path made it (GraphQL,
CLI, a job). Rather than trusting every mutation to remember, the session
itself watches what it flushes and executes; when a transaction that touched
one of those tables commits, it counts one more change request and queues the
export job of every proxy database. The job row's uniqueness coalesces a burst
of changes into one export; the counter tells a running export that it must
go round once more (see ``routing_export.exporter``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import ORMExecuteState
from sqlmodel import Session

from core.jobs import JobSpec, enqueue, register_kind
from core.models import JobStatus, RoutingChanges, SipProxy, utcnow

EXPORT = register_kind(JobSpec(kind="routing.export", subject_type="routing_database",
                               max_attempts=10, timeout_seconds=1800))

# The tables the proxies' tables are computed from.
ROUTING_TABLES = frozenset({
    "isp", "customer", "tenant", "subscriber", "security_group",
    "security_group_destination", "carrier", "gateway", "dial_plan", "dial_plan_rule",
    "number", "sip_proxy",
})

_CHANGED = "wehostvoip.routing_changed"
_BOOKKEEPING = "wehostvoip.routing_bookkeeping"
_installed = False


def _touches_routing(objects: Any) -> bool:
    return any(getattr(type(obj), "__tablename__", None) in ROUTING_TABLES for obj in objects)


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    if _touches_routing(session.new) or _touches_routing(session.deleted) or any(
            session.is_modified(obj) for obj in session.dirty
            if getattr(type(obj), "__tablename__", None) in ROUTING_TABLES):
        session.info[_CHANGED] = True


def _do_orm_execute(state: ORMExecuteState) -> None:
    # Bulk INSERT/UPDATE/DELETE statements bypass the flush.
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in ROUTING_TABLES:
            state.session.info[_CHANGED] = True


def note_change(session: Session, table_name: str) -> None:
    """Tell the session that a statement it could not see (a COPY, say) wrote this table."""
    if table_name in ROUTING_TABLES:
        session.info[_CHANGED] = True


def _before_commit(session: Session) -> None:
    session.flush()  # unflushed changes are seen by _before_flush now
    if session.info.pop(_CHANGED, False) and not session.info.get(_BOOKKEEPING):
        request_export(session)


def _after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def request_export(session: Session) -> int:
    """Count a change and queue an export of every proxy database; returns how many."""
    keys = session.execute(select(SipProxy.database_key).where(SipProxy.enabled)
                           .distinct()).scalars().all()
    if not keys:
        return 0
    counted = session.execute(update(RoutingChanges).where(RoutingChanges.id == 1).values(
        requested=RoutingChanges.requested + 1, requested_at=utcnow()))
    if counted.rowcount == 0:  # type: ignore[attr-defined]
        session.add(RoutingChanges(id=1, requested=1, requested_at=utcnow()))
    for key in keys:
        queue_export(session, key)
    session.info.pop(_CHANGED, None)
    return len(keys)


def queue_export(session: Session, key: str) -> None:
    """An export of one proxy database that will read this change.

    A queued export will. A running one may have read the tables already, and be
    about to end: then a second job, under a subject of its own, follows it (the
    exports of one database are serialised by the exporter's lock anyway).
    """
    for subject in (key, follow_up_subject(key)):
        queued = enqueue(session, EXPORT.kind, subject, payload={"database_key": key})
        if queued.created or queued.job.status is JobStatus.QUEUED:
            return


def follow_up_subject(key: str) -> str:
    return f"{key[:56]}-follow"


def database_key_of(subject: str, payload: dict[str, object]) -> str:
    return str(payload.get("database_key") or subject)


def export_bookkeeping(session: Session) -> Session:
    """Mark a session that only records how exports went (a proxy's applied generation).

    Its commits ask for no export: recording an export must not start another.
    """
    session.info[_BOOKKEEPING] = True
    return session


def track_routing_changes() -> None:
    """Install the session hooks once per process."""
    global _installed
    if _installed:
        return
    event.listen(Session, "before_flush", _before_flush)
    event.listen(Session, "do_orm_execute", _do_orm_execute)
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "after_rollback", _after_rollback)
    _installed = True
