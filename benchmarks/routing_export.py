"""The routing export at scale: a full export against a bare COPY, then single changes.

    .venv/bin/python benchmarks/routing_export.py [--changes 5]

Creates throw-away PostgreSQL databases (dropped at the end): a control plane
migrated to head holding one ISP with 100 tenants of 1,000 subscribers each
(100,000 subscribers, each with an extension and a caller ID) and 200,000
numbers, all assigned to a subscriber; and two empty proxy databases. Prints:
- the full export into the first proxy database (desired state computed from
  the control plane, compared with the empty tables, written with COPY, one
  transaction), wall time;
- a raw psycopg COPY of exactly the rows that export wrote into the second
  proxy database (tables created beforehand, as the export creates its own),
  wall time, and the ratio (goal: at most 2x);
- single changes (one subscriber's caller ID, made through the ORM as the API
  makes them, so the change tracking records its subjects), each followed by an
  export: the incremental export's median wall time and rows written, and the
  same change exported with a full comparison (what every export did before);
- the same single-change figures on a small platform (1 tenant of 1,000
  subscribers, 2,000 numbers) built the same way in the same run: an incremental
  export's cost follows the rows it touches, not the platform's size.
The proxy reload is not measured here (nothing listens on the RPC URL; it fails
fast): see benchmarks/change_to_live.py for the proxy.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.databases import drop_database, make_database  # noqa: E402
from core import migrations  # noqa: E402
from core.database import make_sync_engine, session_scope  # noqa: E402
from core.models import (  # noqa: E402
    Customer,
    Isp,
    Number,
    NumberState,
    SipProxy,
    Subscriber,
    Tenant,
)
from core.secrets import secret_box  # noqa: E402
from core.sip_proxies import database_key, shown_url  # noqa: E402
from routing_export import exporter  # noqa: E402
from routing_export.tables import create_tables  # noqa: E402

TENANTS, SUBSCRIBERS_PER_TENANT, NUMBERS_PER_SUBSCRIBER = 100, 1_000, 2
BATCH = 5_000
BOX = secret_box([bytes.fromhex("44" * 32)])


def _batches(session: Any, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        session.execute(insert(model), rows[start:start + BATCH])


def seed(engine: Any, tenants: int = TENANTS, label: str = "bench") -> None:
    """One ISP with ``tenants`` tenants of 1,000 subscribers, 2 numbers each (bulk inserts;
    the proxy is added afterwards, so these make no change requests)."""
    with session_scope(engine) as session:
        isp = Isp(name="Bench ISP", namespace_label=label, currency="USD")
        session.add(isp)
        session.flush()
        customer = Customer(isp_id=isp.id, name="Bench customer")
        session.add(customer)
        session.flush()
        tenants = [Tenant(id=uuid.uuid4(), isp_id=isp.id, customer_id=customer.id,
                          name=f"tenant {n}", domain=f"t{n}.{label}.example",
                          default_country_code="1", default_area_code="209",
                          provisioning_username=f"prov{n}",
                          provisioning_password_encrypted="unused").model_dump()
                   for n in range(tenants)]
        _batches(session, Tenant, tenants)
        template = Subscriber(tenant_id=tenants[0]["id"], username="x",
                              sip_password_encrypted="unused", ha1="0" * 32, ha1b="0" * 32,
                              country_code="1").model_dump()
        subscribers = []
        for t, tenant in enumerate(tenants):
            for n in range(SUBSCRIBERS_PER_TENANT):
                subscribers.append(template | {
                    "id": uuid.uuid4(), "tenant_id": tenant["id"], "username": f"user{n}",
                    "alias": str(1000 + n), "ha1": f"{t:04d}{n:028d}", "ha1b": f"{n:032d}",
                    "caller_id": f"+1209{t:03d}{n:04d}"})
        _batches(session, Subscriber, subscribers)
        number = Number(isp_id=isp.id, e164="+").model_dump()
        numbers = [number | {"id": uuid.uuid4(), "e164": f"+1{300 + i // 10_000}{i % 10_000:07d}",
                             "state": NumberState.ASSIGNED, "tenant_id": sub["tenant_id"],
                             "target_subscriber_id": sub["id"]}
                   for i, sub in enumerate(s for s in subscribers
                                           for _ in range(NUMBERS_PER_SUBSCRIBER))]
        _batches(session, Number, numbers)
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))


def raw_copy(url: str, report: exporter.ExportReport) -> float:
    with psycopg.connect(url) as connection:
        create_tables(connection)
        connection.commit()
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for diff in report.diffs:
                columns = sql.SQL(", ").join(map(sql.Identifier, diff.table.columns))
                statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(diff.table.name), columns)
                with cursor.copy(statement) as copy:
                    for row in diff.inserts:
                        copy.write_row(row)
        connection.commit()
        return time.perf_counter() - started


def add_proxy(engine: Any, proxy_db: str) -> str:
    with session_scope(engine) as session:
        session.add(SipProxy(name="bench", database_url_encrypted=BOX.encrypt(proxy_db),
                             database_display=shown_url(proxy_db),
                             database_key=database_key(proxy_db),
                             rpc_url="http://127.0.0.1:9/RPC", enabled=True))
    return database_key(proxy_db)


def change_caller_id(engine: Any, round_number: int) -> None:
    """One subscriber's caller ID becomes a number its tenant holds (the first tenant's
    numbers are +13000000000 upwards), through the ORM as the API changes it."""
    with session_scope(engine) as session:
        subscriber = session.execute(select(Subscriber).join(
            Tenant, Tenant.id == Subscriber.tenant_id).where(
            Subscriber.username == f"user{7 + round_number}",
            Tenant.domain.like("t0.%"))).scalar_one()  # type: ignore[attr-defined]
        subscriber.caller_id = f"+1300{round_number:07d}"
        session.add(subscriber)


def single_changes(engine: Any, key: str, changes: int) -> tuple[list[float], list[float],
                                                                  set[int]]:
    """Seconds of each incremental export after one change, of each full-comparison export
    after one change, and the rows each wrote."""
    incremental, full, written = [], [], set()
    for round_number in range(changes):
        for times, as_full in ((incremental, False), (full, True)):
            change_caller_id(engine, round_number * 2 + as_full)
            started = time.perf_counter()
            report = exporter.export(engine, BOX, key, full=as_full)
            times.append(time.perf_counter() - started)
            assert (report.scope is None) == as_full, report.describe()
            written.add(report.rows_written)
    return incremental, full, written


def platform(tenants: int, label: str, changes: int, *, versus_copy: bool) -> tuple[float,
                                                                                   float]:
    """Build one platform, export it, then time single changes; returns the medians
    (incremental, full) in seconds."""
    kinds = ("control", "proxy", "copy") if versus_copy else ("control", "proxy")
    urls = [make_database(kind) for kind in kinds]
    engine = make_sync_engine(urls[0])
    try:
        migrations.upgrade(engine)
        started = time.perf_counter()
        seed(engine, tenants, label)
        print(f"[{label}] seeded {tenants * SUBSCRIBERS_PER_TENANT:,} subscribers and "
              f"{tenants * SUBSCRIBERS_PER_TENANT * NUMBERS_PER_SUBSCRIBER:,} numbers "
              f"in {time.perf_counter() - started:.1f} s")
        key = add_proxy(engine, urls[1])
        started = time.perf_counter()
        report = exporter.export(engine, BOX, key)
        full_export = time.perf_counter() - started
        print(f"[{label}] full export: {report.rows_written:,} rows in {full_export:.2f} s")
        if versus_copy:
            copied = raw_copy(urls[2], report)
            print(f"[{label}] raw COPY of the same rows: {copied:.2f} s")
            print(f"[{label}] full export / raw COPY: {full_export / copied:.2f}x "
                  "(goal: at most 2x)")
            print("  (the export also reads the control plane and the proxy tables, and the "
                  "proxy reload fails fast: nothing listens on the RPC URL)")
        incremental, full, written = single_changes(engine, key, changes)
        medians = statistics.median(incremental), statistics.median(full)
        print(f"[{label}] one change (a subscriber's caller ID), {changes} times each: "
              f"incremental export median {medians[0] * 1000:.0f} ms, "
              f"full comparison median {medians[1] * 1000:.0f} ms "
              f"(rows written per export: {sorted(written)})")
        return medians
    finally:
        engine.dispose()
        for url in urls:
            drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--changes", type=int, default=5)
    changes = parser.parse_args().changes
    large = platform(TENANTS, "large", changes, versus_copy=True)
    small = platform(1, "small", changes, versus_copy=False)
    print(f"one change, large ({TENANTS * SUBSCRIBERS_PER_TENANT:,} subscribers) / small "
          f"({SUBSCRIBERS_PER_TENANT:,}): incremental {large[0] / small[0]:.1f}x, "
          f"full comparison {large[1] / small[1]:.1f}x")
    print(f"large platform, full comparison / incremental: {large[1] / large[0]:.1f}x")


if __name__ == "__main__":
    main()
