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

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import event, orm, select, update
from sqlalchemy.orm import ORMExecuteState
from sqlmodel import Session, col

from core.jobs import JobSpec, enqueue, register_kind
from core.models import (
    Carrier,
    DialPlan,
    JobStatus,
    RoutingChanges,
    RoutingIspChange,
    SecurityGroup,
    SipProxy,
    Tenant,
    utcnow,
)

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
# Whose routing data the transaction changed (an ISP sees whether its own changes are live):
# ISP ids, parent rows still to be traced to their ISP, or "someone's" when it cannot tell.
_ISPS = "wehostvoip.routing_isps"
_PARENTS = "wehostvoip.routing_parents"
_UNATTRIBUTED = "wehostvoip.routing_unattributed"
_installed = False

# Rows without an isp_id of their own lead to it through their parent.
_PARENT_COLUMNS = {
    "subscriber": "tenant_id", "security_group": "tenant_id", "gateway": "carrier_id",
    "dial_plan_rule": "dial_plan_id", "security_group_destination": "security_group_id",
}
_PARENT_ISP = {
    "tenant_id": select(col(Tenant.id), col(Tenant.isp_id)),
    "carrier_id": select(col(Carrier.id), col(Carrier.isp_id)),
    "dial_plan_id": select(col(DialPlan.id), col(DialPlan.isp_id)),
    "security_group_id": select(col(SecurityGroup.id), col(Tenant.isp_id)).join(
        Tenant, col(Tenant.id) == SecurityGroup.tenant_id),
}


def _routing_table(obj: Any) -> str | None:
    name = getattr(type(obj), "__tablename__", None)
    return name if name in ROUTING_TABLES else None


def _attribute(session: orm.Session, table: str, values: Any) -> None:
    """Note whose row this is; ``values`` is the row (an object or a dict of columns)."""
    get = values.get if isinstance(values, dict) else lambda name: getattr(values, name, None)
    parent_column = _PARENT_COLUMNS.get(table)
    if table == "isp" and get("id") is not None:
        session.info.setdefault(_ISPS, set()).add(get("id"))
    elif get("isp_id") is not None:
        session.info.setdefault(_ISPS, set()).add(get("isp_id"))
    elif parent_column and get(parent_column) is not None:
        session.info.setdefault(_PARENTS, set()).add((parent_column, get(parent_column)))
    else:
        session.info[_UNATTRIBUTED] = True


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    changed = [*session.new, *session.deleted,
               *(obj for obj in session.dirty if _routing_table(obj) and session.is_modified(obj))]
    for obj in changed:
        if (table := _routing_table(obj)) is not None:
            session.info[_CHANGED] = True
            _attribute(session, table, obj)


def _do_orm_execute(state: ORMExecuteState) -> None:
    # Bulk INSERT/UPDATE/DELETE statements bypass the flush.
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        name = getattr(table, "name", None)
        if name in ROUTING_TABLES:
            state.session.info[_CHANGED] = True
            rows = state.parameters if isinstance(state.parameters, list) else [
                state.parameters or {}]
            for row in rows:
                _attribute(state.session, name, row)


def note_change(session: Session, table_name: str,
                rows: Sequence[dict[str, Any]] = ()) -> None:
    """Tell the session that a statement it could not see (a COPY, say) wrote this table;
    ``rows``, their columns, say whose rows they were."""
    if table_name in ROUTING_TABLES:
        session.info[_CHANGED] = True
        for row in rows or [{}]:
            _attribute(session, table_name, row)


def _before_commit(session: Session) -> None:
    session.flush()  # unflushed changes are seen by _before_flush now
    if session.info.pop(_CHANGED, False) and not session.info.get(_BOOKKEEPING):
        request_export(session, _changed_isps(session),
                       unattributed=session.info.get(_UNATTRIBUTED, False))
    _forget(session)


def _after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)
    _forget(session)


def _forget(session: Session) -> None:
    for key in (_ISPS, _PARENTS, _UNATTRIBUTED):
        session.info.pop(key, None)


def _changed_isps(session: Session) -> frozenset[uuid.UUID]:
    isps = set(session.info.get(_ISPS, ()))
    parents: dict[str, set[Any]] = {}
    for column, parent_id in session.info.get(_PARENTS, ()):
        parents.setdefault(column, set()).add(parent_id)
    for column, ids in parents.items():
        statement = _PARENT_ISP[column]
        found = dict(session.execute(statement.where(
            statement.selected_columns[0].in_(ids))).all())
        if len(found) < len(ids):  # a parent deleted in the same transaction
            session.info[_UNATTRIBUTED] = True
        isps.update(found.values())
    return frozenset(isps)


def request_export(session: Session, isp_ids: frozenset[uuid.UUID] = frozenset(), *,
                   unattributed: bool = False) -> int:
    """Count a change and queue an export of every proxy database; returns how many.

    ``isp_ids`` made the change (``unattributed``: someone who cannot be told): each one's
    last request is what its routing status waits for.
    """
    keys = session.execute(select(col(SipProxy.database_key)).where(col(SipProxy.enabled))
                           .distinct()).scalars().all()
    if not keys:
        return 0
    # The row lock taken here serialises concurrent change requests until they commit.
    counted = session.exec(update(RoutingChanges).where(col(RoutingChanges.id) == 1).values(
        requested=RoutingChanges.requested + 1, requested_at=utcnow()))
    if counted.rowcount == 0:
        session.add(RoutingChanges(id=1, requested=1, requested_at=utcnow()))
        session.flush()
    request = session.execute(select(col(RoutingChanges.requested))
                              .where(col(RoutingChanges.id) == 1)).scalar_one()
    if unattributed:
        session.execute(update(RoutingChanges).where(col(RoutingChanges.id) == 1)
                        .values(unattributed=request))
    for isp_id in isp_ids:
        noted = session.exec(update(RoutingIspChange).where(
            col(RoutingIspChange.isp_id) == isp_id).values(requested=request))
        if noted.rowcount == 0:
            session.add(RoutingIspChange(isp_id=isp_id, requested=request))
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
