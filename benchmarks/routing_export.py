"""The routing export at scale: a full export against a bare COPY, then one change.

    .venv/bin/python benchmarks/routing_export.py

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
- after one subscriber's caller ID changes, the next export: rows written
  (goal: O(1), i.e. 1) and its wall time.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import insert, select, text, update

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


def seed(engine: Any) -> None:
    with session_scope(engine) as session:
        isp = Isp(name="Bench ISP", namespace_label="bench", currency="USD")
        session.add(isp)
        session.flush()
        customer = Customer(isp_id=isp.id, name="Bench customer")
        session.add(customer)
        session.flush()
        tenants = [Tenant(id=uuid.uuid4(), isp_id=isp.id, customer_id=customer.id,
                          name=f"tenant {n}", domain=f"t{n}.bench.example",
                          default_country_code="1", default_area_code="209",
                          provisioning_username=f"prov{n}",
                          provisioning_password_encrypted="unused").model_dump()
                   for n in range(TENANTS)]
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


def main() -> None:
    control, proxy_db, baseline_db = (make_database(kind) for kind in
                                      ("control", "proxy", "copy"))
    engine = make_sync_engine(control)
    try:
        migrations.upgrade(engine)
        started = time.perf_counter()
        seed(engine)
        print(f"seeded {TENANTS * SUBSCRIBERS_PER_TENANT:,} subscribers and "
              f"{TENANTS * SUBSCRIBERS_PER_TENANT * NUMBERS_PER_SUBSCRIBER:,} numbers "
              f"in {time.perf_counter() - started:.1f} s")
        with session_scope(engine) as session:
            session.add(SipProxy(name="bench", database_url_encrypted=BOX.encrypt(proxy_db),
                                 database_display=shown_url(proxy_db),
                                 database_key=database_key(proxy_db),
                                 rpc_url="http://127.0.0.1:9/RPC", enabled=True))
        key = database_key(proxy_db)

        started = time.perf_counter()
        report = exporter.export(engine, BOX, key)
        full = time.perf_counter() - started
        copied = raw_copy(baseline_db, report)
        print(f"full export: {report.rows_written:,} rows in {full:.2f} s")
        print(f"raw COPY of the same rows: {copied:.2f} s")
        print(f"ratio: {full / copied:.2f}x (goal: at most 2x)")
        print("  (the export also reads the control plane and the proxy tables, and the "
              "proxy reload fails fast: nothing listens on the RPC URL)")

        with session_scope(engine) as session:
            first_tenant = select(Tenant.id).where(Tenant.domain == "t0.bench.example")
            session.execute(update(Subscriber).where(
                Subscriber.username == "user7",
                Subscriber.tenant_id == first_tenant.scalar_subquery())
                .values(caller_id="+12095550000").execution_options(synchronize_session=False))
        started = time.perf_counter()
        again = exporter.export(engine, BOX, key)
        print(f"export after one change (one subscriber's caller ID): "
              f"{again.rows_written} rows written in {time.perf_counter() - started:.2f} s")
        for diff in again.diffs:
            if diff.rows_written:
                print(f"  {diff.summary()}")
    finally:
        engine.dispose()
        for url in (control, proxy_db, baseline_db):
            drop_database(url)


if __name__ == "__main__":
    main()
