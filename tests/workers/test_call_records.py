"""Collecting call records from a proxy database: exact durations and charges, and what
faults do to collection (interrupted batches, two collectors, an unreachable database,
a proxy restarted during a call).

The proxy database is a real PostgreSQL database with the tables ``routing init-db``
makes; its ``acc`` and ``missed_calls`` rows are written here the way the shipped cfg
writes them (tests/e2e/test_call_records.py has the cfg write them for real).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import dramatiq
import psycopg
import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from core.call_collection import collect_batch
from core.database import session_scope
from core.models import (
    CallCollection,
    CallLeg,
    CallRecord,
    Job,
    RateDeckEntry,
    RoutingIdentifier,
    Service,
    ServiceDeckEntry,
    ServicePlan,
    SipProxy,
)
from core.secrets import secret_box
from core.sip_proxies import database_key, shown_url
from routing_export.tables import create_tables
from tests.conftest import TEST_SECRET_KEY, create_postgres_database, drop_postgres_database
from tests.factories import (
    make_carrier,
    make_customer,
    make_gateway,
    make_isp,
    make_subscriber,
    make_tenant,
)
from workers.call_records import collect_database
from workers.registry import PERIODIC_TASKS

pytestmark = pytest.mark.postgres

BOX = secret_box([bytes.fromhex(TEST_SECRET_KEY)])
START = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def proxy_database() -> Iterator[str]:
    url = create_postgres_database().replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as connection:
        create_tables(connection)
    yield url
    drop_postgres_database(url)


@dataclass
class Platform:
    engine: Engine
    proxy_url: str
    key: str
    domain: str
    carrier_routing_id: int
    gateway: str

    def collect(self, **options: Any) -> Any:
        return collect_database(self.engine, BOX, self.key, **options)


@pytest.fixture
def platform(engine: Engine, proxy_database: str) -> Platform:
    with Session(engine) as session:
        isp = make_isp(session)
        plan = ServicePlan(isp_id=isp.id, name="Metered", currency="EUR")
        session.add(plan)
        session.flush()
        # The documentation's examples, one prefix each (minimum/increment/delay).
        for prefix, terms in (("+3130", (30, 6, 3)), ("+3110", (1, 1, 0)),
                              ("+3160", (60, 60, 3))):
            session.add(RateDeckEntry(service_plan_id=plan.id, prefix=prefix,
                                      rate_per_minute=Decimal("0.60"),
                                      valid_from=START - dt.timedelta(days=30),
                                      minimum_duration=terms[0], increment=terms[1],
                                      delay=terms[2]))
        session.add(ServiceDeckEntry(service_plan_id=plan.id, service=Service.PSTN,
                                     rate_per_minute=Decimal("1.20"),
                                     valid_from=START - dt.timedelta(days=30)))
        session.commit()
        customer = make_customer(session, isp, service_plan_id=plan.id)
        carrier = make_carrier(session, isp)
        make_gateway(session, carrier, address="192.0.2.10", port=5060, position=0)
        tenant = make_tenant(session, isp, customer)
        make_subscriber(session, tenant, username="alice", caller_id="+31201234567")
        identifier = RoutingIdentifier(kind="carrier", object_id=carrier.id)
        session.add(identifier)
        session.add(SipProxy(name="edge-1", database_url_encrypted=BOX.encrypt(proxy_database),
                             database_display=shown_url(proxy_database),
                             database_key=database_key(proxy_database),
                             rpc_url="http://127.0.0.1:9/RPC"))
        session.commit()
        assert identifier.id is not None
        return Platform(engine, proxy_database, database_key(proxy_database), tenant.domain,
                        identifier.id, "192.0.2.10:5060")


def _epoch(moment: dt.datetime) -> float:
    return moment.timestamp()


def write_call(platform: Platform, call_id: str, *, callee: str = "+31301234567",
               at: dt.datetime = START, talk: float | None = 47.0, code: int = 200,
               missed: tuple[int, ...] = (), ended: bool = True,
               connection: psycopg.Connection | None = None) -> None:
    """The rows the cfg writes for one outbound call of alice: failed attempts, the
    outcome (answered after 2 s of ringing, or ``code``), the BYE ``talk`` s later."""
    extras = {"setup_epoch": _epoch(at), "source": "phone", "src_ip": "198.51.100.7:5060",
              "tenant_domain": platform.domain, "caller": "alice",
              "caller_id": "+31201234567", "callee": callee, "destination": "carrier",
              "carrier": platform.carrier_routing_id, "gateway": platform.gateway}
    columns = ", ".join(("method", "from_tag", "to_tag", "callid", "sip_code", "sip_reason",
                         "time", "time_epoch", *extras))
    placeholders = ", ".join(["%s"] * (8 + len(extras)))
    answer = at + dt.timedelta(seconds=2)

    def row(method: str, status: int, moment: dt.datetime) -> tuple[Any, ...]:
        return (method, "ftag", "ttag", call_id, str(status), "whatever",
                moment.replace(tzinfo=None), _epoch(moment), *extras.values())

    with (nullcontext(connection) if connection else psycopg.connect(platform.proxy_url)) as db:
        for status in missed:
            db.execute(f"INSERT INTO missed_calls ({columns}) VALUES ({placeholders})",
                       row("INVITE", status, answer))
        db.execute(f"INSERT INTO acc ({columns}) VALUES ({placeholders})",
                   row("INVITE", code, answer))
        if code == 200 and ended and talk is not None:
            end = answer + dt.timedelta(seconds=talk)
            db.execute("INSERT INTO acc (method, from_tag, to_tag, callid, sip_code, "
                       "sip_reason, time, time_epoch) VALUES ('BYE', 'ftag', 'ttag', %s, "
                       "'200', 'OK', %s, %s)", (call_id, end.replace(tzinfo=None),
                                                _epoch(end)))


def _legs_b(engine: Engine) -> dict[str, CallLeg]:
    with Session(engine) as session:
        rows = session.execute(select(CallRecord.call_id, CallLeg).join(
            CallLeg, CallLeg.call_record_id == CallRecord.id).where(CallLeg.side == "B")).all()
    return dict(rows)  # type: ignore[arg-type]


def _record_count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(CallRecord)).scalar_one()


@pytest.mark.parametrize(("callee", "talk", "billed"), [
    ("+31301234567", 47, 48),  # 47 s at 30/6/3 bills 48 s
    ("+31301234567", 2, 0),  # 2 s at 30/6/3 bills 0 s
    ("+31301234567", 10, 30),  # 10 s at 30/6/3 bills 30 s
    ("+31101234567", 10, 10),  # 10 s at 1/1/0 bills 10 s
    ("+31601234567", 43, 60),  # 43 s at 60/60/3 bills 60 s
    ("+31601234567", 4, 60),  # 4 s at 60/60/3 bills 60 s
])
def test_the_documented_durations_bill_as_documented(platform: Platform, callee: str,
                                                     talk: int, billed: int):
    write_call(platform, "c1", callee=callee, talk=talk)

    platform.collect()

    leg = _legs_b(platform.engine)["c1"]
    assert (leg.duration_seconds, leg.billing_seconds) == (talk, billed)
    assert leg.deck == "RATE_DECK"
    assert leg.price == Decimal("0.01") * billed  # 0.60 a minute
    assert leg.currency == "EUR"


def test_a_number_without_a_prefix_is_priced_by_the_service_deck(platform: Platform):
    write_call(platform, "c1", callee="+4930123456", talk=10.2)

    platform.collect()

    leg = _legs_b(platform.engine)["c1"]
    # 10.2 s: every second begun counts (11), at 1.20 a minute on 0/1/0.
    assert (leg.deck, leg.duration_seconds, leg.billing_seconds, leg.price) == (
        "SERVICE_DECK", 11, 11, Decimal("0.2200"))


def test_a_call_is_collected_once_however_often_collection_runs(platform: Platform):
    write_call(platform, "c1")
    platform.collect()
    platform.collect()
    write_call(platform, "c2", code=486)
    platform.collect()

    assert _record_count(platform.engine) == 2
    with Session(platform.engine) as session:
        state = session.get(CallCollection, platform.key)
        assert state is not None
        assert (state.acc_last_id, state.calls_collected) == (3, 2)


def test_an_interrupted_batch_leaves_nothing_and_the_next_run_collects_it_all(
        platform: Platform):
    for index in range(5):
        write_call(platform, f"c{index}")

    def interrupted_batch() -> None:
        with psycopg.connect(platform.proxy_url) as proxy, \
                session_scope(platform.engine) as session:
            report = collect_batch(session, proxy, platform.key, batch_size=4)
            assert report.rows == 4
            raise InterruptedError  # the process dies before the batch commits

    with pytest.raises(InterruptedError):
        interrupted_batch()

    assert _record_count(platform.engine) == 0
    platform.collect(batch_size=4)
    assert _record_count(platform.engine) == 5
    assert len(_legs_b(platform.engine)) == 5


def test_two_collectors_at_once_never_collect_a_row_twice(platform: Platform):
    with psycopg.connect(platform.proxy_url) as connection:
        for index in range(300):
            write_call(platform, f"c{index}", talk=float(index % 50 + 1),
                       connection=connection)
        connection.commit()
    errors: list[BaseException] = []

    def collector() -> None:
        try:
            platform.collect(batch_size=25)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=collector) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert _record_count(platform.engine) == 300
    assert len(_legs_b(platform.engine)) == 300


def test_an_unreachable_proxy_database_loses_nothing(platform: Platform):
    write_call(platform, "c1")
    unreachable = "postgresql://postgres@127.0.0.1:9/nowhere"
    with Session(platform.engine) as session:
        proxy = session.execute(select(SipProxy)).scalars().one()
        proxy.database_url_encrypted = BOX.encrypt(unreachable)
        session.add(proxy)
        session.commit()

    with pytest.raises(psycopg.OperationalError):
        platform.collect()

    with Session(platform.engine) as session:
        state = session.get(CallCollection, platform.key)
        assert state is not None
        assert state.acc_last_id == 0
        assert state.last_error
        proxy = session.execute(select(SipProxy)).scalars().one()
        proxy.database_url_encrypted = BOX.encrypt(platform.proxy_url)
        session.add(proxy)
        session.commit()
    write_call(platform, "c2")
    platform.collect()
    assert set(_legs_b(platform.engine)) == {"c1", "c2"}
    with Session(platform.engine) as session:
        state = session.get(CallCollection, platform.key)
        assert state is not None
        assert state.last_error is None


def test_a_call_ends_in_a_later_batch_than_its_answer(platform: Platform):
    write_call(platform, "c1", at=dt.datetime.now(dt.UTC), ended=False)
    platform.collect()
    with Session(platform.engine) as session:
        record = session.execute(select(CallRecord)).scalars().one()
        assert (record.state, record.duration_seconds) == ("ANSWERED", None)
    assert _legs_b(platform.engine) == {}

    with Session(platform.engine) as session:
        answered_at = session.execute(select(CallRecord)).scalars().one().answered_at
    assert answered_at is not None
    end = answered_at + dt.timedelta(seconds=47)
    with psycopg.connect(platform.proxy_url) as db:
        db.execute("INSERT INTO acc (method, from_tag, to_tag, callid, sip_code, sip_reason, "
                   "time, time_epoch) VALUES ('BYE', 'ftag', 'ttag', 'c1', '200', 'OK', %s, "
                   "%s)", (end.replace(tzinfo=None), _epoch(end)))
    platform.collect()

    leg = _legs_b(platform.engine)["c1"]
    assert (leg.duration_seconds, leg.billing_seconds) == (47, 48)


def test_a_long_outage_does_not_close_calls_whose_end_is_in_the_next_batch(
        platform: Platform):
    # Collected long after the calls: each batch of 1 row ends between an answer and its BYE.
    for index in range(3):
        write_call(platform, f"c{index}", talk=30)

    platform.collect(batch_size=1)

    legs = _legs_b(platform.engine)
    assert {call: leg.duration_seconds for call, leg in legs.items()} == {
        "c0": 30, "c1": 30, "c2": 30}


def test_a_call_whose_end_was_lost_in_a_proxy_restart_gets_no_invented_duration(
        platform: Platform):
    # Answered more than 12 h ago (the longest a dialog lives), and no BYE ever came: the
    # proxy restarted during the call and refused the BYE of a dialog it no longer knew.
    write_call(platform, "lost", at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=13),
               ended=False)
    write_call(platform, "ongoing", at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
               ended=False)

    platform.collect()

    with Session(platform.engine) as session:
        records = {r.call_id: r for r in session.execute(select(CallRecord)).scalars()}
    assert records["lost"].state == "END_UNKNOWN"
    assert (records["lost"].duration_seconds, records["lost"].ended_at) == (None, None)
    assert records["ongoing"].state == "ANSWERED"
    legs = _legs_b(platform.engine)
    assert set(legs) == {"lost"}
    assert (legs["lost"].billing_seconds, legs["lost"].price) == (0, 0)


def test_failover_attempts_are_kept_with_the_call(platform: Platform):
    write_call(platform, "c1", missed=(408, 503), code=500)

    platform.collect()

    with Session(platform.engine) as session:
        record = session.execute(select(CallRecord)).scalars().one()
    assert (record.state, record.sip_code) == ("FAILED", 500)
    assert [(a["code"], a["gateway"]) for a in record.attempts] == [
        (408, platform.gateway), (503, platform.gateway)]
    assert record.gateway_id is not None


def test_the_scheduler_queues_a_collection_job_per_proxy_database(
        platform: Platform, worker: dramatiq.Broker):
    [task] = [task for task in PERIODIC_TASKS if task.name == "call_records.collect"]
    write_call(platform, "c1")

    task.run()

    assert task.interval_seconds == 60
    deadline = time.monotonic() + 20
    while set(_legs_b(platform.engine)) != {"c1"}:
        assert time.monotonic() < deadline, "the collection job did not collect c1"
        time.sleep(0.1)
    with Session(platform.engine) as session:
        jobs = session.execute(select(Job).where(Job.kind == "call_records.collect")).scalars()
        [job] = list(jobs)
        assert job.subject_id == platform.key
    deadline = time.monotonic() + 20
    while True:
        with Session(platform.engine) as session:
            status = session.get(Job, job.id).status  # type: ignore[union-attr]
        if status == "SUCCEEDED":
            break
        assert time.monotonic() < deadline, status
        time.sleep(0.1)


def test_an_outcome_accounted_again_in_a_later_batch_counts_once(platform: Platform):
    write_call(platform, "c1", code=403)
    platform.collect()
    write_call(platform, "c1", code=403)  # the same dialog's INVITE, accounted again

    report = platform.collect()

    assert report.batches[0].duplicates == 1
    assert _record_count(platform.engine) == 1
    assert len(_legs_b(platform.engine)) == 1
