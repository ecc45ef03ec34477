"""The catalogue at scale: a numbers page and a numbers import on an ISP of realistic size.

    .venv/bin/python benchmarks/catalogue.py [--runs 20]

Creates a throw-away PostgreSQL database (dropped at the end) migrated to head,
and in it one ISP (made by the sign-up rule) with 200 carriers of 2 gateways,
50 dial plans of 3 rules, 5 tenants and 100,000 numbers of varied states, types
and prefixes. Then, through the real GraphQL app in-process, logged in as the
ISP's administrator with the login mutation, it prints:
- a 50-row page of `numbers` filtered by state, prefix and type, with
  totalCount: median and p95 over the runs, and the EXPLAIN of its SQL;
- the import of a 10,000-row CSV file through numberImport and the job
  machinery (a worker in this process, on the stub broker): wall time from the
  upload to the job's end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import Engine, event, insert, text
from sqlmodel import Session, SQLModel
from starlette.applications import Starlette

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.app import create_app  # noqa: E402
from core import migrations  # noqa: E402
from core.database import make_sync_engine, session_scope  # noqa: E402
from core.models import (  # noqa: E402
    Carrier,
    Customer,
    DialPlan,
    DialPlanRule,
    Gateway,
    Number,
    NumberState,
    NumberType,
    SignupRequest,
    Tenant,
    utcnow,
)
from core.settings import Settings  # noqa: E402
from core.signup import IspDetails, SignupCompletion, complete_signup  # noqa: E402
from core.tokens import digest, new_token  # noqa: E402
from workers import context  # noqa: E402
from workers.broker import install_broker  # noqa: E402
from workers.runtime import start_worker, stop_worker  # noqa: E402

POSTGRES_URL = os.environ.get("WEHOSTVOIP_BENCH_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = "33" * 32
ADMIN_EMAIL = "admin@bench.example"
PASSWORD = "correct horse battery staple"
BASE_URL = "http://testserver"

CARRIERS, GATEWAYS_PER_CARRIER = 200, 2
DIAL_PLANS, RULES_PER_PLAN = 50, 3
TENANTS = 5
# 10 area codes x 10,000 numbers; 800 is toll-free.
AREA_CODES = ["201", "209", "212", "305", "310", "415", "512", "617", "718", "800"]
NUMBERS_PER_AREA = 10_000
IMPORT_AREA_CODE = "650"
# The first prefix sorts early among all numbers, the second last: the page query's plan
# (below) shows why the difference matters.
PAGE_FILTERS = [{"state": "AVAILABLE", "prefix": "+1209", "numberType": "LOCAL"},
                {"state": "AVAILABLE", "prefix": "+1800", "numberType": "TOLL_FREE"}]
INSERT_BATCH = 5_000

LOGIN = """mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { csrfToken errors { message } } }"""
PAGE = """query($filter: NumberFilter) {
  numbers(first: 50, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id e164 numberType price vendorPrice state tenantId isp { name } } }
  }
}"""
IMPORT = """mutation($file: Upload!) {
  numberImport(input: {file: $file}) { job { id } errors { code message } } }"""
JOB = """query($id: ID!) { job(id: $id) {
  status errorCode startedAt finishedAt counters errors { message details } } }"""


# The database ---------------------------------------------------------------------------------


def make_database() -> str:
    """A new PostgreSQL database migrated to head; its URL."""
    admin = make_sync_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"wehostvoip_bench_catalogue_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_sync_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    return url


def drop_database(url: str) -> None:
    context.engine().dispose()
    admin = make_sync_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


# The ISP and its catalogue ------------------------------------------------------------------------


def sign_up(session: Session, settings: Settings) -> uuid.UUID:
    """The ISP and its administrator, made by the sign-up rule from a link we issue ourselves."""
    token = new_token()
    session.add(SignupRequest(email=ADMIN_EMAIL, token_hash=digest(token),
                              expires_at=utcnow() + dt.timedelta(hours=1)))
    result = complete_signup(session, settings, SignupCompletion(
        token=token, password=PASSWORD, full_name="Bench Admin",
        isp=IspDetails(name="Bench ISP", namespace_label="bench", currency="USD")))
    return result.isp.id


def insert_batches(session: Session, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    """Insert rows with one statement per batch."""
    for start in range(0, len(rows), INSERT_BATCH):
        session.execute(insert(model), rows[start:start + INSERT_BATCH])


def bulk(session: Session, rows: list[SQLModel]) -> None:
    """Insert model instances (which fill in ids and defaults) in batches."""
    insert_batches(session, type(rows[0]), [row.model_dump() for row in rows])


def seed_routing(session: Session, isp_id: uuid.UUID) -> None:
    carriers = [Carrier(isp_id=isp_id, name=f"carrier {n:03d}") for n in range(CARRIERS)]
    bulk(session, carriers)
    bulk(session, [Gateway(carrier_id=carrier.id, position=position,
                           address=f"198.51.100.{position + 10}")
                   for carrier in carriers for position in range(GATEWAYS_PER_CARRIER)])
    plans = [DialPlan(isp_id=isp_id, name=f"plan {n:02d}") for n in range(DIAL_PLANS)]
    bulk(session, plans)
    bulk(session, [DialPlanRule(dial_plan_id=plan.id, priority=priority,
                                match_expression=r"^[1-9][0-9]{6}$",
                                substitution_expression=r"([1-9][0-9]{6})",
                                replacement=r"+1_AC_\1")
                   for plan in plans for priority in range(RULES_PER_PLAN)])


def seed_tenants(session: Session, isp_id: uuid.UUID) -> list[Tenant]:
    customer = Customer(isp_id=isp_id, name="Bench customer")
    bulk(session, [customer])
    tenants = [Tenant(isp_id=isp_id, customer_id=customer.id, name=f"tenant {n}",
                      domain=f"t{n}.bench.wehostvoip.localhost", default_country_code="1",
                      provisioning_username=f"prov{n}",
                      provisioning_password_encrypted="not used by the benchmark")
               for n in range(TENANTS)]
    bulk(session, tenants)
    return tenants


def _number(template: dict[str, Any], index: int, tenants: list[Tenant]) -> dict[str, Any]:
    """The index-th number: 60% available, 30% assigned across the tenants, 10% quarantined."""
    area = AREA_CODES[index // NUMBERS_PER_AREA]
    row = template | {
        "id": uuid.uuid4(), "e164": f"+1{area}555{index % NUMBERS_PER_AREA:04d}",
        "number_type": NumberType.TOLL_FREE if area == "800" else NumberType.LOCAL,
        "price": Decimal(1 + index % 4), "vendor_price": Decimal("0.25"), "sms": index % 3 == 0,
        "source": f"carrier {index % CARRIERS:03d}",
    }
    if index % 10 in (6, 7, 8):
        row |= {"state": NumberState.ASSIGNED, "tenant_id": tenants[index % TENANTS].id}
    elif index % 10 == 9:
        row |= {"state": NumberState.QUARANTINE,
                "quarantine_until": utcnow() + dt.timedelta(days=10)}
    return row


def seed_numbers(session: Session, isp_id: uuid.UUID, tenants: list[Tenant]) -> None:
    # Rows as plain dicts from one model's defaults: 100,000 model instances take long to build.
    template = Number(isp_id=isp_id, e164="+").model_dump()
    insert_batches(session, Number, [_number(template, index, tenants)
                                     for index in range(len(AREA_CODES) * NUMBERS_PER_AREA)])


def seed(engine: Engine, settings: Settings) -> None:
    with session_scope(engine) as session:
        isp_id = sign_up(session, settings)
        seed_routing(session, isp_id)
        seed_numbers(session, isp_id, seed_tenants(session, isp_id))
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))  # the planner's statistics, as in a live database


# The API ------------------------------------------------------------------------------------------


class Api:
    """The web app's side of the GraphQL API: a session cookie and its CSRF token."""

    def __init__(self, app: Starlette) -> None:
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL,
                                      timeout=120)
        self.csrf = ""

    async def execute(self, query: str, variables: dict[str, Any] | None = None,
                      file: bytes | None = None) -> dict[str, Any]:
        headers = {"X-CSRF-Token": self.csrf}
        body = {"query": query, "variables": variables or {}}
        if file is None:
            response = await self.http.post("/graphql", json=body, headers=headers)
        else:
            response = await self.http.post(
                "/graphql", headers=headers,
                data={"operations": json.dumps(body), "map": '{"0": ["variables.file"]}'},
                files={"0": ("numbers.csv", file, "text/csv")})
        answer = response.json()
        if answer.get("errors"):
            raise SystemExit(f"GraphQL errors: {answer['errors']}")
        return answer["data"]

    async def login(self) -> None:
        variables = {"email": ADMIN_EMAIL, "password": PASSWORD}
        payload = (await self.execute(LOGIN, variables))["login"]
        if payload["errors"]:
            raise SystemExit(f"login failed: {payload['errors']}")
        self.csrf = payload["csrfToken"]


@contextmanager
def captured_sql(app: Starlette) -> Iterator[list[tuple[str, Any]]]:
    """The statements (and their parameters) the app runs inside the block."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: object, _cursor: object, statement: str, parameters: Any,
               *_rest: object) -> None:
        seen.append((statement, parameters))

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass(frozen=True)
class PageFigures:
    timings: list[float]  # milliseconds per request
    matching: int
    page_plan: list[str]
    count_plan: list[str]


async def measure_page(api: Api, app: Starlette, engine: Engine, filter: dict[str, str],
                       runs: int) -> PageFigures:
    """Time the page request, then EXPLAIN the two statements it ran."""
    variables = {"filter": filter}
    await api.execute(PAGE, variables)  # warm-up: connections, caches
    timings, page = [], {}
    with captured_sql(app) as statements:
        for _ in range(runs):
            started = time.perf_counter()
            page = (await api.execute(PAGE, variables))["numbers"]
            timings.append((time.perf_counter() - started) * 1000)
    page_sql = next(found for found in reversed(statements) if "LIMIT" in found[0])
    count_sql = next(found for found in reversed(statements) if "count(*)" in found[0])
    return PageFigures(timings=timings, matching=page["totalCount"],
                       page_plan=explain(engine, *page_sql), count_plan=explain(engine, *count_sql))


def explain(engine: Engine, statement: str, parameters: Any) -> list[str]:
    """EXPLAIN ANALYZE of a statement exactly as the app sent it."""
    with engine.connect() as connection:
        cursor = connection.connection.driver_connection.execute(
            f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
        return [row[0] for row in cursor.fetchall()]


def import_file() -> bytes:
    rows = [f"+1{IMPORT_AREA_CODE}555{n:04d},1.00,0.20,true,false" for n in range(10_000)]
    return "\n".join(["e164,price,vendor_price,voice,sms", *rows]).encode()


async def measure_import(api: Api) -> tuple[float, dict[str, Any]]:
    """Seconds from the upload to the job's end, and the job."""
    started = time.perf_counter()
    payload = (await api.execute(IMPORT, {"file": None}, file=import_file()))["numberImport"]
    if payload["errors"]:
        raise SystemExit(f"numberImport refused the file: {payload['errors']}")
    while True:
        job = (await api.execute(JOB, {"id": payload["job"]["id"]}))["job"]
        if job["status"] in {"SUCCEEDED", "FAILED", "CANCELLED"}:
            return time.perf_counter() - started, job
        await asyncio.sleep(0.05)


# Putting it together ------------------------------------------------------------------------------


def _seconds_between(start: str, end: str) -> float:
    return (dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)).total_seconds()


def _indexes(plan: list[str]) -> str:
    used = re.findall(r"(?:Index (?:Only )?Scan using|Bitmap Index Scan on) (\w+)", "\n".join(plan))
    return ", ".join(dict.fromkeys(used)) or "no index"


def report_page(filter: dict[str, str], figures: PageFigures) -> None:
    timings = figures.timings
    print(f"\nnumbers page: first 50 of {filter} with totalCount "
          f"({figures.matching:,} match), {len(timings)} runs")
    print(f"  median {statistics.median(timings):.1f} ms, p95 {percentile(timings, 0.95):.1f} ms, "
          f"min {min(timings):.1f} ms, max {max(timings):.1f} ms")
    for title, plan in (("page", figures.page_plan), ("totalCount", figures.count_plan)):
        print(f"  EXPLAIN (ANALYZE, BUFFERS) of the {title} query (reads {_indexes(plan)}):")
        print("\n".join(f"    {line}" for line in plan if "Buffers:" not in line))


def report_import(seconds: float, job: dict[str, Any]) -> None:
    print("\nnumbers import: 10,000-row CSV through numberImport -> job -> in-process worker")
    print(f"  job {job['status']}, counters {job['counters']}")
    if job["status"] != "SUCCEEDED":
        print(f"  errors: {job['errors']}")
        return
    print(f"  wall time from upload to the job's end: {seconds:.2f} s "
          f"(the job itself ran {_seconds_between(job['startedAt'], job['finishedAt']):.2f} s)")


async def run(url: str, settings: Settings, runs: int) -> None:
    engine = make_sync_engine(url)
    started = time.perf_counter()
    seed(engine, settings)
    print(f"seeded in {time.perf_counter() - started:.1f} s: 1 ISP, {CARRIERS} carriers x "
          f"{GATEWAYS_PER_CARRIER} gateways, {DIAL_PLANS} dial plans x {RULES_PER_PLAN} rules, "
          f"{TENANTS} tenants, {len(AREA_CODES) * NUMBERS_PER_AREA:,} numbers")
    app = create_app(settings)
    worker = start_worker(install_broker(settings.broker_url), threads=2)
    try:
        async with LifespanManager(app):
            api = Api(app)
            await api.login()
            for filter in PAGE_FILTERS:
                report_page(filter, await measure_page(api, app, engine, filter, runs))
            report_import(*await measure_import(api))
            await api.http.aclose()
    finally:
        stop_worker(worker)
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    arguments = parser.parse_args()
    url = make_database()
    settings = Settings(_env_file=None, database_url=url, broker_url="stub://",
                        secret_keys=SECRET, data_dir=Path(tempfile.mkdtemp()),
                        public_base_url=BASE_URL, log_level="WARNING")
    print(f"database: PostgreSQL (throw-away {url.rsplit('/', 1)[1]}); broker: stub, in-process")
    try:
        asyncio.run(run(url, settings, arguments.runs))
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
