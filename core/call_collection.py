"""Collecting call records from a proxy database's accounting rows, and rating them.

The proxy's cfg writes ``acc`` and ``missed_calls`` rows (routing_export/README.md,
"Call accounting"); the control plane only reads them. Each batch:

1. takes the database's watermark row (``call_collection``) for writing, which
   makes a second collector of the same database wait and then continue after
   the first one's rows: two collectors never read the same rows;
2. reads the ``acc`` rows after the watermark, in id order, and for each
   INVITE outcome the ``missed_calls`` rows of that call (its failed attempts:
   they are written before the outcome, so they are there);
3. turns INVITE outcomes into call records, closes answered calls with their
   BYE, rates every call that ended (both legs), and closes calls answered so
   long ago that they cannot still be up (their BYE was lost with a proxy
   restart) without a duration;
4. moves the watermark, all in the same transaction as the records.

A batch that fails (the proxy database unreachable, the process killed) leaves
nothing behind and the watermark where it was: the next run reads the same
rows again. Nothing is collected twice: the watermark and the records commit
together, and (proxy database, Call-ID, From tag) is unique besides.

Rows that cannot be attributed to an ISP (a tenant or number deleted since
the call) are skipped and counted.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Json
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from core import call_collection_sql, prepaid, usage_rollup
from core.bulk import insert_rows, update_rows
from core.jobs import JobSpec, enqueue, register_kind
from core.models import (
    CallCollection,
    CallDirection,
    CallLeg,
    CallLegSide,
    CallRecord,
    CallState,
    Carrier,
    Customer,
    Gateway,
    Isp,
    Job,
    Number,
    NumberType,
    RoutingIdentifier,
    Service,
    Subscriber,
    Tenant,
    utcnow,
)
from core.rating import CustomerCharges, Rater, charges_of

log = logging.getLogger(__name__)

# One collection job per proxy database at a time (subject: its database key).
COLLECT = register_kind(JobSpec(kind="call_records.collect", subject_type="routing_database",
                                max_attempts=5, timeout_seconds=1800))

BATCH_SIZE = 5000
# The longest a call can be up: the proxy's dialogs last 12 h at most (dialog's default
# lifetime), so an answered call without a BYE after that lost its end.
MAX_CALL_SECONDS = 12 * 3600
_COLUMNS = ("id, method, from_tag, to_tag, callid, sip_code, sip_reason, time_epoch, "
            "setup_epoch, source, src_ip, tenant_domain, caller, caller_id, callee, "
            "destination, carrier, gateway")
_READ_ACC = f"SELECT {_COLUMNS} FROM acc WHERE id > %s ORDER BY id LIMIT %s"  # noqa: S608
_READ_MISSED = (f"SELECT {_COLUMNS} FROM missed_calls "  # noqa: S608
                "WHERE callid = ANY(%s) ORDER BY id")
_NUMBER = re.compile(r"^\+?[1-9][0-9]{1,14}$")


@dataclass
class BatchReport:
    """What one batch did."""

    rows: int = 0
    calls: int = 0
    ended: int = 0
    end_unknown: int = 0
    unattributed: int = 0
    duplicates: int = 0  # outcomes of calls already collected (the first one counts)
    last_id: int = 0
    busy: bool = False  # another collector holds this database
    # The batch's rated charges per customer (and currency): what prepaid balances are
    # decremented by, in the batch's transaction.
    charges: list[CustomerCharges] = field(default_factory=list)
    rated_at: dt.datetime | None = None  # the batch's clock, stamped on the legs it rated


@dataclass
class CollectionReport:
    batches: list[BatchReport] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(batch.rows for batch in self.batches)

    @property
    def calls(self) -> int:
        return sum(batch.calls for batch in self.batches)


def ordered_id() -> uuid.UUID:
    """A UUID whose first 48 bits are the time in ms (the layout of UUIDv7): records and
    legs written together sit together in their primary-key indexes, instead of each
    insert touching a random page of a large index."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return uuid.UUID(int=value)


def ordered_id_prefix() -> str:
    """The first 24 of an ordered id's 32 hex digits (time, version, variant, 42 random
    bits): the set-based path appends a counter, so the ids of one statement increase."""
    return ordered_id().hex[:24]


def _epoch(value: float | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromtimestamp(value, dt.UTC)


def _address(text: str | None) -> tuple[str, int] | None:
    if not text or ":" not in text:
        return None
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    return (host, int(port)) if port.isdigit() else None


def _e164(text: str | None) -> str:
    text = (text or "").strip()
    if _NUMBER.match(text):
        return text if text.startswith("+") else f"+{text}"
    return text


class _Context:
    """The control plane's objects the rows name, looked up once per batch."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.now = utcnow()
        self.tenants: dict[str, Tenant | None] = {}
        self.customers: dict[uuid.UUID, Customer | None] = {}
        self.isps: dict[uuid.UUID, Isp | None] = {}
        self.subscribers: dict[tuple[uuid.UUID, str], Subscriber | None] = {}
        self.numbers: dict[str, Number | None] = {}
        self.carriers: dict[int, uuid.UUID | None] = {}
        self.gateways: dict[tuple[str, int], list[Gateway]] = {}

    def tenant(self, domain: str | None) -> Tenant | None:
        key = (domain or "").lower()
        if key not in self.tenants:
            self.tenants[key] = self.session.execute(
                select(Tenant).where(col(Tenant.domain) == key)).scalars().first()
        return self.tenants[key]

    def tenant_by_id(self, tenant_id: uuid.UUID) -> Tenant | None:
        return self.session.get(Tenant, tenant_id)

    def customer(self, customer_id: uuid.UUID) -> Customer | None:
        if customer_id not in self.customers:
            self.customers[customer_id] = self.session.get(Customer, customer_id)
        return self.customers[customer_id]

    def isp(self, isp_id: uuid.UUID) -> Isp | None:
        if isp_id not in self.isps:
            self.isps[isp_id] = self.session.get(Isp, isp_id)
        return self.isps[isp_id]

    def subscriber(self, tenant_id: uuid.UUID, username: str | None) -> Subscriber | None:
        key = (tenant_id, username or "")
        if key not in self.subscribers:
            self.subscribers[key] = self.session.execute(select(Subscriber).where(
                col(Subscriber.tenant_id) == tenant_id,
                col(Subscriber.username) == key[1])).scalars().first()
        return self.subscribers[key]

    def number(self, e164: str) -> Number | None:
        if e164 not in self.numbers:
            self.numbers[e164] = self.session.execute(
                select(Number).where(col(Number.e164) == e164)).scalars().first()
        return self.numbers[e164]

    def carrier(self, routing_id: int | None) -> uuid.UUID | None:
        if routing_id is None:
            return None
        if routing_id not in self.carriers:
            self.carriers[routing_id] = self.session.execute(
                select(col(RoutingIdentifier.object_id)).where(
                    col(RoutingIdentifier.id) == routing_id,
                    col(RoutingIdentifier.kind) == "carrier")).scalars().first()
        return self.carriers[routing_id]

    def gateway(self, address: str | None, *, carrier_id: uuid.UUID | None = None,
                isp_id: uuid.UUID | None = None) -> Gateway | None:
        parsed = _address(address)
        if parsed is None:
            return None
        if parsed not in self.gateways:
            self.gateways[parsed] = list(self.session.execute(select(Gateway).where(
                col(Gateway.address) == parsed[0], col(Gateway.port) == parsed[1])).scalars())
        for gateway in self.gateways[parsed]:
            if carrier_id is not None and gateway.carrier_id == carrier_id:
                return gateway
            if carrier_id is None and isp_id is not None and self._carrier_isp(
                    gateway.carrier_id) == isp_id:
                return gateway
        return None

    def _carrier_isp(self, carrier_id: uuid.UUID) -> uuid.UUID | None:
        carrier = self.session.get(Carrier, carrier_id)
        return carrier.isp_id if carrier else None


def _attempts(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"gateway": row["gateway"], "code": int(row["sip_code"] or 0),
             "reason": row["sip_reason"], "at": _iso(_epoch(row["time_epoch"]))}
            for row in rows]


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _new_record(context: _Context, database_key: str, row: dict[str, Any],
                missed: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The call (CallRecord columns) an INVITE outcome row describes; None when no ISP can
    be named."""
    code = int(row["sip_code"] or 0)
    at = _epoch(row["time_epoch"]) or utcnow()
    setup = _epoch(row["setup_epoch"]) or at
    subscriber_id = carrier_id = gateway = None
    callee = _e164(row["callee"])
    if row["source"] == "carrier":
        number = context.number(callee)
        tenant = context.tenant_by_id(number.tenant_id) if (
            number and number.tenant_id) else context.tenant(row["tenant_domain"])
        if tenant is None:
            return None
        if number is not None:
            subscriber_id = number.target_subscriber_id
        direction, caller = CallDirection.INBOUND, _e164(row["caller"])
        gateway = context.gateway(row["src_ip"], isp_id=tenant.isp_id)
        carrier_id = gateway.carrier_id if gateway else None
    else:
        tenant = context.tenant(row["tenant_domain"])
        if tenant is None:
            return None
        subscriber = context.subscriber(tenant.id, row["caller"])
        subscriber_id = subscriber.id if subscriber else None
        caller = row["caller_id"] or row["caller"] or ""
        if row["destination"] == "extension":
            direction = CallDirection.INTERNAL
        else:
            direction = CallDirection.OUTBOUND
            carrier_id = context.carrier(row["carrier"])
            gateway = context.gateway(row["gateway"], carrier_id=carrier_id)
    answered = 200 <= code < 300
    return {
        "id": ordered_id(), "proxy_database": database_key, "call_id": row["callid"],
        "from_tag": row["from_tag"], "to_tag": row["to_tag"] or "", "isp_id": tenant.isp_id,
        "customer_id": tenant.customer_id, "tenant_id": tenant.id,
        "subscriber_id": subscriber_id, "direction": direction,
        "state": CallState.ANSWERED if answered else CallState.FAILED,
        "caller": caller[:128], "callee": callee[:128], "carrier_id": carrier_id,
        "gateway_id": gateway.id if gateway else None, "setup_at": setup,
        "answered_at": at if answered else None, "ended_at": None if answered else at,
        "duration_seconds": None, "sip_code": code,
        "sip_reason": (row["sip_reason"] or "")[:128], "attempts": _attempts(missed),
        "collected_at": context.now}


_RECORD_FIELDS = ("id", "direction", "caller", "callee", "isp_id", "customer_id", "tenant_id",
                  "setup_at", "answered_at", "duration_seconds", "carrier_id")


def _leg_types(record: dict[str, Any], context: _Context) -> tuple[Service, Service]:
    if record["direction"] == CallDirection.OUTBOUND:
        return Service.SIP, Service.PSTN
    if record["direction"] == CallDirection.INBOUND:
        number = context.number(record["callee"])
        toll_free = number is not None and number.number_type == NumberType.TOLL_FREE
        return Service.SIP, Service.TOLL_FREE if toll_free else Service.DID
    return Service.SIP, Service.SIP


def rate_record(record: dict[str, Any], context: _Context,
                rater: Rater) -> list[dict[str, Any]]:
    """Both legs (CallLeg columns) of an ended call, rated under its customer's plan."""
    customer = context.customer(record["customer_id"]) if record["customer_id"] else None
    isp = context.isp(record["isp_id"])
    plan_id = customer.service_plan_id if customer else None
    seconds = record["duration_seconds"] or 0
    answered = record["answered_at"] is not None
    a_type, b_type = _leg_types(record, context)
    inbound = record["direction"] == CallDirection.INBOUND
    # Leg A is the subscriber's side: the caller, or for an inbound call the callee.
    a_number = record["callee"] if inbound else record["caller"]
    legs = []
    for side, leg_type, number in ((CallLegSide.A, a_type, a_number),
                                   (CallLegSide.B, b_type, record["callee"])):
        rating = rater.rate(plan_id=plan_id, leg_type=leg_type, number=number, seconds=seconds,
                            at=record["setup_at"],
                            carrier_id=record["carrier_id"] if side == CallLegSide.B else None,
                            fallback_currency=isp.currency if isp else "")
        legs.append({
            "id": ordered_id(), "call_record_id": record["id"], "side": side,
            "leg_type": leg_type, "direction": record["direction"],
            "isp_id": record["isp_id"], "customer_id": record["customer_id"],
            "tenant_id": record["tenant_id"], "setup_at": record["setup_at"],
            "answered": answered, "number": number[:128], "duration_seconds": seconds,
            "revision": 1, "rated_at": context.now, **rating.values()})
    return legs


def _duration(answered_at: dt.datetime, ended_at: dt.datetime) -> int:
    seconds = (ended_at - answered_at).total_seconds()
    # Every second begun counts; clocks are the proxy's own, so never below zero.
    return min(max(math.ceil(round(seconds, 3)), 0), MAX_CALL_SECONDS)


def _take_watermark(session: Session, database_key: str) -> CallCollection:
    """The database's watermark, locked for this transaction (waits for another holder)."""
    if session.get(CallCollection, database_key) is None:
        try:
            with session.begin_nested():
                session.add(CallCollection(proxy_database=database_key))
        except IntegrityError:
            pass  # another collector created it first
    # Writing first takes the row lock (PostgreSQL) or the database's (SQLite) before the
    # watermark is read, so a second collector reads it after the first one committed.
    session.execute(update(CallCollection)
                    .where(col(CallCollection.proxy_database) == database_key)
                    .values(collected_at=utcnow()))
    state = session.execute(select(CallCollection).where(
        col(CallCollection.proxy_database) == database_key).execution_options(
        populate_existing=True)).scalars().one()
    return state


def collect_batch(session: Session, proxy: psycopg.Connection, database_key: str, *,
                  rater: Rater | None = None, batch_size: int | None = None,
                  now: dt.datetime | None = None,
                  set_based: bool | None = None) -> BatchReport:
    """Collect and rate the next ``batch_size`` accounting rows; the caller commits.

    On PostgreSQL the batch is set-based (core.call_collection_sql) unless ``set_based``
    is False; elsewhere (SQLite) it is this module's Python loop. Both give the same
    records and legs.
    """
    if set_based is None:
        set_based = session.connection().dialect.name == "postgresql"
    if batch_size is None:
        batch_size = call_collection_sql.BATCH_SIZE if set_based else BATCH_SIZE
    state = _take_watermark(session, database_key)
    if set_based:
        report = _collect_set_based(session, proxy, database_key, state, batch_size, now)
    else:
        report = _collect_in_python(session, proxy, database_key, state,
                                    rater or Rater(session), batch_size, now)
    if report.rated_at is not None:
        # Prepaid customers pay for this batch's legs in its transaction: exactly once.
        prepaid.charge_collected(session, database_key, report.rated_at)
    return report


def _collect_set_based(session: Session, proxy: psycopg.Connection, database_key: str,
                       state: CallCollection, batch_size: int,
                       now: dt.datetime | None) -> BatchReport:
    rated_at = utcnow()
    batch = call_collection_sql.collect_rows(
        session, proxy, database_key, after_id=state.acc_last_id, batch_size=batch_size,
        now=rated_at, read_through=now, longest_call_seconds=MAX_CALL_SECONDS,
        id_prefix=ordered_id_prefix, attempts_of=_attempts)
    report = BatchReport(rows=batch.rows, calls=batch.calls, ended=batch.ended,
                         end_unknown=batch.end_unknown, unattributed=batch.unattributed,
                         duplicates=batch.duplicates, last_id=state.acc_last_id,
                         charges=batch.charges, rated_at=rated_at)
    return _move_watermark(session, state, report, batch.last_id)


def _move_watermark(session: Session, state: CallCollection, report: BatchReport,
                    last_id: int | None) -> BatchReport:
    if last_id is not None:
        report.last_id = state.acc_last_id = int(last_id)
        state.calls_collected += report.calls
    state.last_error = None
    session.add(state)
    session.flush()
    return report


def _collect_in_python(session: Session, proxy: psycopg.Connection, database_key: str,
                       state: CallCollection, rater: Rater, batch_size: int,
                       now: dt.datetime | None) -> BatchReport:
    rater.session = session
    report = BatchReport(last_id=state.acc_last_id)
    with proxy.cursor(row_factory=dict_row) as cursor:
        cursor.execute(_READ_ACC, (state.acc_last_id, batch_size))
        rows = cursor.fetchall()
        outcomes = [row for row in rows if row["method"] == "INVITE"]
        missed: dict[tuple[str, str], list[dict[str, Any]]] = {}
        if outcomes:
            cursor.execute(_READ_MISSED, ([row["callid"] for row in outcomes],))
            for row in cursor.fetchall():
                missed.setdefault((row["callid"], row["from_tag"]), []).append(row)
    context = _Context(session)
    created: dict[tuple[str, str], dict[str, Any]] = {}
    ended: list[dict[str, Any]] = []
    byes: dict[tuple[str, str], dt.datetime] = {}
    for row in rows:
        key = (row["callid"], row["from_tag"])
        if row["method"] == "INVITE":
            if key in created:
                continue  # a second outcome of one call (a re-sent 200): the first counts
            record = _new_record(context, database_key, row, missed.get(key, []))
            if record is None:
                report.unattributed += 1
                continue
            created[key] = record
            if record["state"] == CallState.FAILED:
                ended.append(record)
        elif row["method"] == "BYE":
            ended_at = _epoch(row["time_epoch"]) or context.now
            record = created.get(key)
            if record is None:
                byes.setdefault(key, ended_at)  # a call answered in an earlier batch
            elif record["state"] == CallState.ANSWERED:
                record.update(state=CallState.COMPLETED, ended_at=ended_at,
                              duration_seconds=_duration(record["answered_at"], ended_at))
                ended.append(record)
    # An outcome row of a call collected in an earlier batch (an INVITE of the same dialog
    # accounted again): the first one counts, as within a batch.
    for key in _collected_before(session, database_key, created):
        record = created.pop(key)
        if record in ended:
            ended.remove(record)
        report.duplicates += 1
    endings = []
    for earlier in _open_calls(session, database_key, byes):
        ended_at = byes[(earlier["call_id"], earlier["from_tag"])]
        earlier.update(duration_seconds=_duration(earlier["answered_at"], ended_at))
        endings.append({"id": earlier["id"], "state": CallState.COMPLETED,
                        "ended_at": ended_at, "duration_seconds": earlier["duration_seconds"]})
        ended.append(earlier)
    update_rows(session, CallRecord, endings)
    _insert(session, CallRecord, list(created.values()))
    legs = [leg for record in ended for leg in rate_record(record, context, rater)]
    _insert(session, CallLeg, legs)
    usage_rollup.add(session, legs)
    # Up to when the proxy's rows are read: the wall clock once the batch reached the end
    # of the table, else the last row's time (its BYEs may be in the next batch).
    read_through = now or context.now
    if len(rows) == batch_size:
        read_through = _epoch(rows[-1]["time_epoch"]) or read_through
    lost_legs = _close_lost_calls(session, database_key, context, rater, read_through)
    report.end_unknown = len(lost_legs) // 2
    report.rows, report.calls, report.ended = len(rows), len(created), len(ended)
    report.charges = charges_of([*legs, *lost_legs])
    report.rated_at = context.now
    return _move_watermark(session, state, report, rows[-1]["id"] if rows else None)


def _collected_before(session: Session, database_key: str,
                      keys: dict[tuple[str, str], Any]) -> list[tuple[str, str]]:
    """Which of these (Call-ID, From tag) pairs already are call records."""
    if not keys:
        return []
    found = session.execute(select(col(CallRecord.call_id), col(CallRecord.from_tag)).where(
        col(CallRecord.proxy_database) == database_key,
        col(CallRecord.call_id).in_({call_id for call_id, _tag in keys}))).all()
    return [(call_id, tag) for call_id, tag in found if (call_id, tag) in keys]


_OPEN_COLUMNS = tuple(getattr(CallRecord, name) for name in (*_RECORD_FIELDS, "call_id",
                                                                "from_tag"))


def _open_calls(session: Session, database_key: str,
                keys: dict[tuple[str, str], dt.datetime]) -> list[dict[str, Any]]:
    """The answered calls, collected earlier, that these (Call-ID, From tag) pairs end (the
    columns rating needs)."""
    if not keys:
        return []
    found = session.execute(select(*_OPEN_COLUMNS).where(
        col(CallRecord.proxy_database) == database_key, col(CallRecord.state) == CallState.ANSWERED,
        col(CallRecord.call_id).in_({call_id for call_id, _tag in keys}))).mappings()
    return [dict(record) for record in found if (record["call_id"], record["from_tag"]) in keys]


def _close_lost_calls(session: Session, database_key: str, context: _Context, rater: Rater,
                      read_through: dt.datetime) -> list[dict[str, Any]]:
    """Answered calls older than any dialog can be: their end is unknown, not invented.
    Their legs, rated."""
    cutoff = read_through - dt.timedelta(seconds=MAX_CALL_SECONDS)
    lost = [dict(record) for record in session.execute(select(*_OPEN_COLUMNS).where(
        col(CallRecord.proxy_database) == database_key, col(CallRecord.state) == CallState.ANSWERED,
        col(CallRecord.answered_at) < cutoff)).mappings()]
    update_rows(session, CallRecord, [{"id": record["id"], "state": CallState.END_UNKNOWN}
                                      for record in lost])
    legs = [leg for record in lost for leg in rate_record(record, context, rater)]
    _insert(session, CallLeg, legs)
    usage_rollup.add(session, legs)
    return legs


def _insert(session: Session, model: type[CallRecord] | type[CallLeg],
            rows: list[dict[str, Any]]) -> None:
    """Insert records or legs. On PostgreSQL a COPY of the values as they are (every one of
    them is a type the driver writes exactly as the column's own processing would: str
    enums, aware UTC datetimes, UUIDs, Decimals), which is most of a batch's time saved over
    core.bulk.insert_rows' per-value processing; elsewhere core.bulk.insert_rows."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        insert_rows(session, model, rows)
        return
    columns = list(rows[0])
    json_index = columns.index("attempts") if "attempts" in columns else None
    values_of = itemgetter(*columns)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model.__tablename__),
        sql.SQL(", ").join(map(sql.Identifier, columns)))
    # SQLAlchemy types the DBAPI cursor as a protocol without psycopg's context manager.
    with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[attr-defined]
        for row in rows:
            values = values_of(row)
            if json_index is not None:
                values = list(values)
                values[json_index] = Json(values[json_index])
            copy.write_row(values)


def queue_collection(session: Session, database_key: str) -> Job:
    """A collection job for this proxy database, unless one is queued or running."""
    return enqueue(session, COLLECT.kind, database_key,
                   payload={"database_key": database_key}).job


def record_failure(session: Session, database_key: str, error: str) -> None:
    """Note why collecting from this database failed (the watermark stays where it was)."""
    state = session.get(CallCollection, database_key) or CallCollection(
        proxy_database=database_key)
    state.last_error, state.last_error_at = error[:500], utcnow()
    session.add(state)
