"""Noticing routing changes: every commit that touches routing data asks for an export.

The proxies must follow any change of tenants, subscribers, numbers, dial
plans, carriers, security groups or proxies, whichever path made it (GraphQL,
CLI, a job). Rather than trusting every mutation to remember, the session
itself watches what it flushes and executes; when a transaction that touched
one of those tables commits, it counts one more change request and queues the
export job of every proxy database. The job row's uniqueness coalesces a burst
of changes into one export; the counter tells a running export that it must
go round once more (see ``routing_export.exporter``).

The session also notes what the transaction touched, as subjects (a tenant, a
tenant's domain, a number, a dial plan, a security group, a customer, an ISP;
"all" when it cannot tell), stored with the request's number: the incremental
export recomputes only those subjects' rows (``routing_export.scope``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, event, insert, inspect, orm, select, update
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, BooleanClauseList
from sqlmodel import Session, col

from core.jobs import JobSpec, enqueue, register_kind
from core.models import (
    Carrier,
    DialPlan,
    JobStatus,
    RoutingChanges,
    RoutingChangeSubject,
    RoutingIspChange,
    SecurityGroup,
    SipProxy,
    Subscriber,
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
_SUBJECTS = "wehostvoip.routing_subjects"
EVERYTHING = ("all", "")
# More subjects than this in one transaction (an import) are recorded as "all".
MAX_SUBJECTS_PER_REQUEST = 1_000
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


# Per table: the subject kinds its rows touch, each with the column naming the subject. A
# carrier's or gateway's rows need none: their tables are small and always compared whole.
# A table that feeds a tenant's attributes (domain_attrs) names its tenant, or customer.
_SUBJECT_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "isp": (("isp", "id"),),
    "customer": (("customer", "id"),),
    "tenant": (("tenant", "id"), ("domain", "domain")),
    "subscriber": (("tenant", "tenant_id"),),
    "security_group": (("security_group", "id"), ("tenant", "tenant_id")),
    "security_group_destination": (("security_group", "security_group_id"),),
    "dial_plan": (("dial_plan", "id"),),
    "dial_plan_rule": (("dial_plan", "dial_plan_id"),),
    "number": (("number", "e164"),),
    "carrier": (), "gateway": (), "sip_proxy": (),
}
# Rows updated by id alone (``core.bulk.update_rows``): the subject found from the id.
_BY_ID = {"subscriber": "subscriber", "number": "number_id", "tenant": "tenant",
          "customer": "customer", "isp": "isp", "security_group": "security_group",
          "dial_plan": "dial_plan"}


def _note_subjects(session: orm.Session, table: str, values: Any, *, deleted: bool = False,
                   updated: bool = False) -> None:
    """Note the subjects a row touches, before and after the change (``values``: the object,
    or a dict of the columns a bulk statement wrote; ``updated``: by primary key)."""
    subjects: set[tuple[str, str]] = session.info.setdefault(_SUBJECTS, set())
    if (table == "isp" and deleted) or table not in _SUBJECT_COLUMNS:
        # An ISP's tenants go with it by cascade, unseen here; a routing table without
        # subjects of its own (added to ROUTING_TABLES alone) could change any row.
        subjects.add(EVERYTHING)
        return
    if isinstance(values, dict):
        if updated:
            # The row's subject is found from its id, unless the update moves it to another
            # subject: the one it leaves is not known here.
            moved = any(column in values for _kind, column in _SUBJECT_COLUMNS[table]
                        if column != "id")
            subjects.add(EVERYTHING if moved or table not in _BY_ID
                         else (_BY_ID[table], str(values["id"])))
            return
        for kind, column in _SUBJECT_COLUMNS[table]:
            if values.get(column) is None:
                subjects.add(EVERYTHING)
                return
            subjects.add((kind, str(values[column])))
        return
    state = inspect(values)
    for kind, column in _SUBJECT_COLUMNS[table]:
        history = state.attrs[column].history
        # Old values count too: a tenant renamed leaves rows under its old domain.
        seen = [*history.deleted, *history.unchanged, *history.added]
        if not seen:  # expired since it was loaded: read it now
            with session.no_autoflush:
                seen = [getattr(values, column, None)]
        subjects.update((kind, str(value)) for value in seen if value is not None)


def _note_statement_subjects(session: orm.Session, table: str, statement: Any) -> None:
    """The subjects of an UPDATE or DELETE, from the equalities its WHERE clause requires
    (``subscriber.tenant_id = X AND ...``: tenant X); "all" when it requires none."""
    subjects: set[tuple[str, str]] = session.info.setdefault(_SUBJECTS, set())
    clause = statement.whereclause
    required = list(clause.clauses) if isinstance(clause, BooleanClauseList) \
        and clause.operator is operators.and_ else [clause]
    found: dict[str, list[object]] = {}
    for condition in required:
        if isinstance(condition, BinaryExpression) and isinstance(condition.left, Column) \
                and isinstance(condition.right, BindParameter):
            value = condition.right.effective_value
            if condition.operator is operators.eq:
                found[condition.left.name] = [value]
            elif condition.operator is operators.in_op and isinstance(value, list | tuple):
                found[condition.left.name] = list(value)
    if table not in _SUBJECT_COLUMNS:
        subjects.add(EVERYTHING)
        return
    columns = _SUBJECT_COLUMNS[table]
    # An UPDATE leaves the columns it does not set as they were: those the export reads
    # anew (a tenant's domain, say, found from its id) need not be in the WHERE clause. One
    # that sets a subject column moves rows to subjects that cannot be told here.
    written = {getattr(column, "name", str(column))
               for column in (getattr(statement, "_values", None) or {})}
    if any(column in written for _kind, column in columns):
        subjects.add(EVERYTHING)
        return
    needed = columns[:1] if written else columns
    if columns and all(column in found for _kind, column in needed):
        subjects.update((kind, str(value)) for kind, column in needed for value in found[column])
    elif table in _BY_ID and "id" in found:
        subjects.update((_BY_ID[table], str(value)) for value in found["id"])
    elif columns:
        subjects.add(EVERYTHING)  # which rows it reached is not known here


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    deleted = {id(obj) for obj in session.deleted}  # model objects are not hashable
    changed = [*session.new, *session.deleted,
               *(obj for obj in session.dirty if _routing_table(obj) and session.is_modified(obj))]
    for obj in changed:
        if (table := _routing_table(obj)) is not None:
            session.info[_CHANGED] = True
            _attribute(session, table, obj)
            _note_subjects(session, table, obj, deleted=id(obj) in deleted)


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
            if state.is_insert:
                for row in rows:
                    _note_subjects(state.session, name, row)
            elif state.is_update and rows and all("id" in row for row in rows) \
                    and getattr(state.statement, "whereclause", None) is None:
                for row in rows:  # updated by primary key (an executemany)
                    _note_subjects(state.session, name, row, updated=True)
            else:
                _note_statement_subjects(state.session, name, state.statement)


def note_change(session: Session, table_name: str,
                rows: Sequence[dict[str, Any]] = (), *, updated: bool = False) -> None:
    """Tell the session that a statement it could not see (a COPY, say) wrote this table;
    ``rows``, their columns, say whose rows they were (``updated``: rows updated by primary
    key, each holding ``id`` and the columns set)."""
    if table_name in ROUTING_TABLES:
        session.info[_CHANGED] = True
        for row in rows or [{}]:
            _attribute(session, table_name, row)
            _note_subjects(session, table_name, row, updated=updated and "id" in row)


def _before_commit(session: Session) -> None:
    session.flush()  # unflushed changes are seen by _before_flush now
    if session.info.pop(_CHANGED, False) and not session.info.get(_BOOKKEEPING):
        request_export(session, _changed_isps(session),
                       unattributed=session.info.get(_UNATTRIBUTED, False),
                       subjects=session.info.get(_SUBJECTS, {EVERYTHING}))
    _forget(session)


def _after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)
    _forget(session)


def _forget(session: Session) -> None:
    for key in (_ISPS, _PARENTS, _UNATTRIBUTED, _SUBJECTS):
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
                   unattributed: bool = False,
                   subjects: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset(
                       {EVERYTHING})) -> int:
    """Count a change and queue an export of every proxy database; returns how many.

    ``isp_ids`` made the change (``unattributed``: someone who cannot be told): each one's
    last request is what its routing status waits for. ``subjects``: what it touched (by
    default everything: an export asked for by hand, or the periodic reconcile, compares
    every row).
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
    subjects = _by_tenant(session, subjects)
    if EVERYTHING in subjects or len(subjects) > MAX_SUBJECTS_PER_REQUEST:
        subjects = {EVERYTHING}
    if subjects:
        session.execute(insert(RoutingChangeSubject), [
            {"request": request, "kind": kind, "value": value[:253]}
            for kind, value in sorted(subjects)])
    for isp_id in isp_ids:
        noted = session.exec(update(RoutingIspChange).where(
            col(RoutingIspChange.isp_id) == isp_id).values(requested=request))
        if noted.rowcount == 0:
            session.add(RoutingIspChange(isp_id=isp_id, requested=request))
    for key in keys:
        queue_export(session, key)
    session.info.pop(_CHANGED, None)
    return len(keys)


def _by_tenant(session: Session, subjects: set[tuple[str, str]] | frozenset[tuple[str, str]]
               ) -> set[tuple[str, str]]:
    """Subscribers named by id (rows updated by primary key) as their tenants: a tenant's
    digests derived anew are one subject, not a thousand."""
    by_id = [uuid.UUID(value) for kind, value in subjects if kind == "subscriber"]
    if len(by_id) <= 1:
        return set(subjects)
    tenants = session.execute(select(col(Subscriber.tenant_id)).where(
        col(Subscriber.id).in_(by_id)).distinct()).scalars().all()
    return {subject for subject in subjects if subject[0] != "subscriber"} | {
        ("tenant", str(tenant_id)) for tenant_id in tenants}


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
