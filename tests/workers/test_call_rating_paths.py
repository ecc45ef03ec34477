"""The two collection paths give the same result: the Python loop (SQLite, and PostgreSQL on
request) and the set-based SQL (PostgreSQL's default), over the same proxy rows.

One proxy database holds a mix of calls that exercises every rule: outbound calls of
many durations to nested prefixes with superseded and expired rate deck entries, a
number no prefix matches, vendor rates, a failed call with failover attempts, an
extension call, inbound calls to a DID and to a toll-free number, a tenant nobody knows,
a customer without a plan, a call whose BYE comes in a later batch, a call still up, a
call whose end was lost, and an outcome accounted twice. Each path collects it under its
own database key, in small batches; records, legs, daily totals and the per-customer
charges must be equal, field by field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, delete, select
from sqlmodel import Session

from core.call_collection import collect_batch
from core.database import session_scope
from core.models import (
    CallLeg,
    CallRecord,
    CallUsageDay,
    NumberState,
    NumberType,
    RateDeckEntry,
    RoutingIdentifier,
    Service,
    ServiceDeckEntry,
    ServicePlan,
    VendorRateEntry,
)
from routing_export.tables import create_tables
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.factories import (
    make_carrier,
    make_customer,
    make_gateway,
    make_isp,
    make_number,
    make_subscriber,
    make_tenant,
)

pytestmark = pytest.mark.postgres

START = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
NOW = START + dt.timedelta(days=3)


@pytest.fixture
def proxy_url() -> Iterator[str]:
    url = create_postgres_database().replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as connection:
        create_tables(connection)
    yield url
    drop_postgres_database(url)


def _arrange(session: Session) -> dict[str, Any]:
    isp = make_isp(session, currency="USD")
    plan = ServicePlan(isp_id=isp.id, name="Metered", currency="EUR")
    session.add(plan)
    session.flush()
    old = START - 30 * DAY

    def rate(prefix: str, per_minute: str, terms: tuple[int, int, int], *,
             valid_from: dt.datetime = old, valid_to: dt.datetime | None = None,
             description: str = "") -> None:
        session.add(RateDeckEntry(service_plan_id=plan.id, prefix=prefix,
                                  rate_per_minute=Decimal(per_minute), valid_from=valid_from,
                                  valid_to=valid_to, description=description,
                                  minimum_duration=terms[0], increment=terms[1],
                                  delay=terms[2]))

    rate("+31", "0.0500", (0, 1, 0), description="Netherlands")
    rate("+3130", "0.6000", (30, 6, 3), description="Utrecht")
    # Superseded on the second day: calls of the first day pay the old price.
    rate("+3130", "0.9000", (30, 6, 3), valid_from=START + DAY, description="Utrecht new")
    rate("+31301", "0.0333", (1, 1, 0))
    # Expired before the calls: a call to +3110 falls back to +31.
    rate("+3110", "9.0000", (1, 1, 0), valid_to=START - DAY)
    rate("+3160", "0.6000", (60, 60, 3), description="Mobile")
    for service, per_minute, valid_from in (
            (Service.PSTN, "1.2000", old), (Service.SIP, "0.0100", old),
            (Service.DID, "0.0200", old), (Service.TOLL_FREE, "0.0300", old),
            # A later SIP price wins from the second day on.
            (Service.SIP, "0.0150", START + DAY)):
        session.add(ServiceDeckEntry(service_plan_id=plan.id, service=service,
                                     rate_per_minute=Decimal(per_minute),
                                     valid_from=valid_from, minimum_duration=6, increment=6))
    session.commit()
    customer = make_customer(session, isp, service_plan_id=plan.id)
    planless = make_customer(session, isp)
    carrier = make_carrier(session, isp)
    make_gateway(session, carrier, address="192.0.2.10", port=5060, position=0)
    make_gateway(session, carrier, address="192.0.2.11", port=5060, position=1)
    for prefix, per_minute, terms in (("+31", "0.0040", (0, 1, 0)),
                                      ("+3130", "0.0080", (1, 1, 0)),
                                      ("+316", "0.0200", (60, 60, 0))):
        session.add(VendorRateEntry(carrier_id=carrier.id, prefix=prefix,
                                    rate_per_minute=Decimal(per_minute), valid_from=old,
                                    minimum_duration=terms[0], increment=terms[1],
                                    delay=terms[2]))
    tenant = make_tenant(session, isp, customer)
    other = make_tenant(session, isp, planless)
    alice = make_subscriber(session, tenant, username="alice", caller_id="+31201234567")
    make_subscriber(session, other, username="bob")
    make_number(session, isp, e164="+31207000001", state=NumberState.ASSIGNED,
                tenant_id=tenant.id, target_subscriber_id=alice.id)
    make_number(session, isp, e164="+31800123456", state=NumberState.ASSIGNED,
                tenant_id=tenant.id, number_type=NumberType.TOLL_FREE)
    identifier = RoutingIdentifier(kind="carrier", object_id=carrier.id)
    session.add(identifier)
    session.commit()
    return {"domain": tenant.domain, "other": other.domain, "carrier": identifier.id,
            "customer": customer.id, "planless": planless.id}


def _write_rows(url: str, names: dict[str, Any]) -> None:
    columns = ("method", "from_tag", "to_tag", "callid", "sip_code", "sip_reason", "time",
               "time_epoch", "setup_epoch", "source", "src_ip", "tenant_domain", "caller",
               "caller_id", "callee", "destination", "carrier", "gateway")
    rows: list[tuple[Any, ...]] = []

    def event(method: str, call: str, code: int, at: dt.datetime, *,
              setup: dt.datetime | None = None, **extras: Any) -> tuple[Any, ...]:
        values = {"source": None, "src_ip": None, "tenant_domain": None, "caller": None,
                  "caller_id": None, "callee": None, "destination": None, "carrier": None,
                  "gateway": None} | extras
        return (method, "f-" + call, "t-" + call, call, str(code), "reason " + str(code),
                at.replace(tzinfo=None), at.timestamp(),
                setup.timestamp() if setup else None, *values.values())

    def call(name: str, at: dt.datetime, *, talk: float | None, code: int = 200,
             bye_later: bool = False, **extras: Any) -> None:
        answer = at + dt.timedelta(seconds=2)
        rows.append(event("INVITE", name, code, answer, setup=at, **extras))
        if code == 200 and talk is not None:
            bye = event("BYE", name, 200, answer + dt.timedelta(seconds=talk))
            (later if bye_later else rows).append(bye)

    later: list[tuple[Any, ...]] = []
    outbound = {"source": "phone", "src_ip": "198.51.100.7:5060",
                "tenant_domain": names["domain"], "caller": "alice",
                "caller_id": "+31201234567", "destination": "carrier",
                "carrier": names["carrier"], "gateway": "192.0.2.10:5060"}
    callees = ["+31302345678", "+31311234567", "+31101234567", "+31601234567",
               "+3130", "+44201234567", "31301234567", "+31611111111"]
    for index in range(48):
        at = START + dt.timedelta(hours=index) + dt.timedelta(milliseconds=index * 37)
        call(f"out-{index}", at, talk=[0, 1, 2, 3, 4, 10.2, 29, 30, 31, 47, 61, 3601][index % 12],
             **outbound | {"callee": callees[index % len(callees)]})
    call("busy", START, talk=None, code=486, **outbound | {"callee": "+31301234567"})
    call("failover", START, talk=30, **outbound | {"callee": "+31301234567",
                                                   "gateway": "192.0.2.11:5060"})
    call("extension", START + DAY * 1.5, talk=75,
         **outbound | {"destination": "extension", "callee": "bob", "carrier": None,
                       "gateway": None})
    inbound = {"source": "carrier", "src_ip": "192.0.2.10:5060", "tenant_domain": None,
               "caller": "31612345678", "destination": "subscriber"}
    call("did", START + 2 * DAY, talk=100, **inbound | {"callee": "+31207000001"})
    call("toll-free", START + 2 * DAY, talk=100, **inbound | {"callee": "31800123456"})
    call("nobody", START, talk=10, **outbound | {"tenant_domain": "unknown.example"})
    call("planless", START, talk=20, **outbound | {"tenant_domain": names["other"],
                                                   "caller": "bob", "caller_id": None,
                                                   "callee": "+31301234567"})
    call("late-bye", NOW - dt.timedelta(hours=2), talk=47, bye_later=True,
         **outbound | {"callee": "+3160"})
    call("still-up", NOW - dt.timedelta(hours=1), talk=None,
         **outbound | {"callee": "+31301234567"})
    call("lost", NOW - dt.timedelta(hours=13), talk=None,
         **outbound | {"callee": "+31301234567"})
    # The same dialog's outcome accounted twice, the second time much later.
    call("twice", START, talk=None, code=403, **outbound | {"callee": "+31301234567"})
    with psycopg.connect(url) as connection:
        placeholders = ", ".join(["%s"] * len(columns))
        statement = f"INSERT INTO acc ({', '.join(columns)}) VALUES ({placeholders})"
        with connection.cursor() as cursor:
            cursor.executemany(statement, rows)
            cursor.executemany(statement.replace("INTO acc", "INTO missed_calls"), [
                (*row[:4], code, *row[5:]) for row in rows
                if row[3] == "failover" and row[0] == "INVITE" for code in ("408", "503")])
            cursor.executemany(statement, [*later, rows[-1]])


def _collect(engine: Engine, url: str, key: str, *, set_based: bool) -> list[Any]:
    charges: list[Any] = []
    with psycopg.connect(url) as proxy:
        while True:
            with session_scope(engine) as session:
                report = collect_batch(session, proxy, key, batch_size=7, now=NOW,
                                       set_based=set_based)
            proxy.rollback()
            charges.extend(report.charges)
            if report.rows < 7:
                return charges


_NOT_COMPARED = {"id", "proxy_database", "collected_at", "call_record_id", "rated_at"}


def _records(engine: Engine, key: str) -> dict[str, dict[str, Any]]:
    with Session(engine) as session:
        found = session.execute(select(CallRecord).where(
            CallRecord.proxy_database == key)).scalars()
        return {record.call_id: {name: value for name, value in record.model_dump().items()
                                 if name not in _NOT_COMPARED} for record in found}


def _legs(engine: Engine, key: str) -> dict[tuple[str, str], dict[str, Any]]:
    with Session(engine) as session:
        found = session.execute(select(CallRecord.call_id, CallLeg).join(
            CallLeg, CallLeg.call_record_id == CallRecord.id).where(
            CallRecord.proxy_database == key)).all()
        return {(call_id, str(leg.side)): {name: value for name, value in
                                           leg.model_dump().items()
                                           if name not in _NOT_COMPARED}
                for call_id, leg in found}


def _usage_days(engine: Engine) -> dict[tuple[Any, ...], dict[str, Any]]:
    with Session(engine) as session:
        rows = list(session.execute(select(CallUsageDay)).scalars())
        session.execute(delete(CallUsageDay))
        session.commit()
    return {(row.customer_id, row.day, row.leg_type, row.destination): row.model_dump()
            for row in rows}


def _totals(charges: list[Any]) -> dict[tuple[Any, ...], tuple[int, Decimal]]:
    totals: dict[tuple[Any, ...], tuple[int, Decimal]] = {}
    for charge in charges:
        legs, amount = totals.get((charge.customer_id, charge.currency, charge.prepaid),
                                  (0, Decimal(0)))
        totals[(charge.customer_id, charge.currency, charge.prepaid)] = (
            legs + charge.legs, amount + charge.amount)
    return totals


def test_the_python_and_the_set_based_paths_give_the_same_records_and_charges(
        engine: Engine, proxy_url: str):
    if engine.dialect.name != "postgresql":
        pytest.skip("the set-based path is PostgreSQL's")
    with Session(engine) as session:
        names = _arrange(session)
    _write_rows(proxy_url, names)

    python_charges = _collect(engine, proxy_url, "python", set_based=False)
    python_days = _usage_days(engine)
    sql_charges = _collect(engine, proxy_url, "sql", set_based=True)
    sql_days = _usage_days(engine)

    python_records, sql_records = _records(engine, "python"), _records(engine, "sql")
    assert "nobody" not in python_records
    assert len(python_records) == 48 + 10
    assert sql_records == python_records
    python_legs, sql_legs = _legs(engine, "python"), _legs(engine, "sql")
    assert len(python_legs) == 2 * (len(python_records) - 1)  # all but the call still up
    assert sql_legs == python_legs
    assert sql_days == python_days
    assert _totals(sql_charges) == _totals(python_charges)
    # The mix reaches every rule it is meant to (else equality would prove little).
    decks = {leg["deck"] for leg in python_legs.values()}
    assert decks == {"RATE_DECK", "SERVICE_DECK", "NO_PLAN"}
    assert {python_legs[(call, "B")]["leg_type"] for call in ("did", "toll-free")} == {
        "DID", "TOLL_FREE"}
    assert python_records["lost"]["state"] == "END_UNKNOWN"
    assert python_records["late-bye"]["duration_seconds"] == 47
    assert len(python_records["failover"]["attempts"]) == 2
    assert any(leg["cost"] is not None for leg in python_legs.values())
    assert {python_legs[(f"out-{index}", "B")]["rate_per_minute"] for index in (0, 24)} == {
        Decimal("0.6000"), Decimal("0.9000")}

