"""Google directory sync through the real path: GraphQL mutation -> job -> worker -> database.

    .venv/bin/python benchmarks/google_sync_job.py [--users 50000]

Unlike ``benchmarks/google_sync.py`` (the engine called in-process, next to the page
server), every part runs where it runs in production:

- the directory: the Google fake of ``tests/fakes/google.py`` in pre-rendered mode
  (every ``users.list`` page rendered to bytes beforehand), in a process of its own;
- the API: the product's app (``api.app.create_app``), in this process, driven over
  GraphQL by a signed-up ISP administrator (``tests.graphql.sign_up``);
- the jobs: one ``wehostvoip worker`` process (2 threads) on Redis (database 3, this
  engineer's) and a throw-away PostgreSQL database migrated to head.

The tenant, its verified domain and its link (with a refresh token the fake issued)
are written directly: consent is not what is measured. Prints, in one run:

- (a) the client merely paging the directory from this process (no server in it),
  best of two listings;
- (b) a raw psycopg COPY of the rows the import writes, into a second database;
- (c) directoryDiscover then directoryImportConfirm, from the first mutation to the
  import job's end (job timestamps); goal at most 5x (a)+(b); then the credentials
  sheet job the import queues;
- (d) directorySyncNow after 1 % of the users changed, mutation to job end, best of
  two rounds; goal at most 3x (a);
- the worker process's peak RSS (VmHWM; goal under 250 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import uuid
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.databases import drop_database, make_database  # noqa: E402
from benchmarks.google_sync import ALIAS_START, BOX, CHANGED_EVERY, DOMAIN, raw_copy  # noqa: E402
from core import migrations  # noqa: E402
from core.database import make_sync_engine, session_scope  # noqa: E402
from core.models import (  # noqa: E402
    Customer,
    DirectoryLink,
    DirectoryLinkStatus,
    DirectoryProvider,
    Job,
    JobStatus,
    Tenant,
    VerifiedDomain,
    VerifiedDomainStatus,
    utcnow,
)
from core.settings import Settings  # noqa: E402

KEY = "55" * 32  # BOX's key
REDIS_URL = os.environ.get("WEHOSTVOIP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")
FINISHED = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED,
            JobStatus.NEEDS_CONFIRMATION}


# The page server, in its own process ---------------------------------------------------------


def serve_pages(users: int, pipe: Connection) -> None:
    """The pre-rendered fake, answering commands from the benchmark over ``pipe``."""
    from benchmarks.google_sync import change_users
    from tests.fakes.google import FakeGoogle

    fake = FakeGoogle.prerendered(users=users, page_size=500, domain=DOMAIN)
    with fake:
        pipe.send((fake.settings_values(), fake.issue_refresh_token()))
        while True:
            command, *arguments = pipe.recv()
            if command == "change":
                pipe.send(change_users(fake, *arguments))
            elif command == "token":
                pipe.send(fake.issue_refresh_token())
            else:
                return


# Setting up -------------------------------------------------------------------------------


def seed(engine: Engine, isp_id: uuid.UUID, refresh_token: str) -> uuid.UUID:
    """A customer, a tenant on the verified directory domain, its consented link; the
    tenant's id."""
    with session_scope(engine) as session:
        customer = Customer(isp_id=isp_id, name="Bench customer", max_subscribers=1_000_000)
        domain = VerifiedDomain(isp_id=isp_id, fqdn=DOMAIN, challenge_token="bench",
                                status=VerifiedDomainStatus.VERIFIED, verified_at=utcnow())
        session.add_all([customer, domain])
        session.flush()
        tenant = Tenant(isp_id=isp_id, customer_id=customer.id, name="Bench tenant",
                        domain=DOMAIN, verified_domain_id=domain.id, default_country_code="1",
                        default_area_code="209", provisioning_username="prov",
                        provisioning_password_encrypted="unused")
        session.add(tenant)
        session.flush()
        session.add(DirectoryLink(
            tenant_id=tenant.id, provider=DirectoryProvider.GOOGLE,
            status=DirectoryLinkStatus.LINKED, credentials_encrypted=BOX.encrypt(json.dumps(
                {"kind": "oauth", "refresh_token": refresh_token}))))
        return tenant.id


def worker_env(settings: Settings, google: dict[str, str], data_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEHOSTVOIP_")}
    env.update({
        "WEHOSTVOIP_DATABASE_URL": settings.database_url or "",
        "WEHOSTVOIP_BROKER_URL": REDIS_URL, "WEHOSTVOIP_SECRET_KEYS": KEY,
        "WEHOSTVOIP_DATA_DIR": data_dir, "WEHOSTVOIP_PUBLIC_BASE_URL": "http://testserver",
        "WEHOSTVOIP_BASE_DOMAIN": "bench.example",
    })
    env.update({f"WEHOSTVOIP_{name.upper()}": value for name, value in google.items()})
    return env


def start_worker(env: dict[str, str]) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-m", "cli", "worker", "--threads", "2"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if "worker connected to" in line:
            return process
    raise SystemExit(f"the worker did not start (exit {process.wait()})")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


# Measuring -----------------------------------------------------------------------------------


def wait_job(engine: Engine, job_id: uuid.UUID, timeout: float = 900) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        with session_scope(engine) as session:
            job = session.get(Job, job_id)
            assert job is not None
            if job.status in FINISHED:
                session.expunge(job)
                return job
        if time.monotonic() > deadline:
            raise SystemExit(f"job {job_id} did not end within {timeout} s")
        time.sleep(0.01)


async def job_mutation(client: Any, name: str, fields: str, variables: dict[str, Any]
                       ) -> uuid.UUID:
    from schema.core.ids import from_global_id

    data = await client.execute(f"""mutation($input: {fields}!) {{ {name}(input: $input) {{
        job {{ id }} errors {{ field code message }} }} }}""", {"input": variables})
    payload = data[name]
    assert payload["errors"] == [], payload["errors"]
    decoded = from_global_id(payload["job"]["id"])
    assert decoded is not None
    return uuid.UUID(str(decoded[1]))


def seconds(since: dt.datetime, until: dt.datetime | None) -> float:
    assert until is not None
    return (until - since) / dt.timedelta(seconds=1)


async def timed(engine: Engine, client: Any, name: str, fields: str,
                variables: dict[str, Any]) -> tuple[float, Job]:
    """Seconds from just before the mutation to the job's end (its own timestamp); where
    they went is printed: the mutation and dispatch until the worker's claim, the run."""
    started = utcnow()
    job = wait_job(engine, await job_mutation(client, name, fields, variables))
    assert job.status is JobStatus.SUCCEEDED, (name, job.status, job.errors)
    claimed = job.started_at
    assert claimed is not None
    print(f"      {name}: mutation to the worker's claim {seconds(started, claimed):.3f} s, "
          f"the run {seconds(claimed, job.finished_at):.3f} s")
    return seconds(started, job.finished_at), job


def page_only(settings: Settings, token: str) -> tuple[float, int]:
    from sync.google.consent import oauth_credentials
    from sync.google.directory import GoogleDirectory

    best, users = float("inf"), 0
    for _ in range(2):
        with GoogleDirectory(settings, oauth_credentials(settings, token),
                             domain=DOMAIN) as google:
            started = time.perf_counter()
            users = sum(len(page.users) for page in google.pages(resume=None))
            best = min(best, time.perf_counter() - started)
    return best, users


def copy_baseline(url: str, settings: Settings, token: str) -> tuple[float, int]:
    """(b): the import's rows built beforehand (not timed), then COPY-ed."""
    from benchmarks.google_sync import DEFAULTS
    from benchmarks.google_sync import seed as seed_link
    from sync import engine as sync_engine
    from sync.directory import UserState
    from sync.google.consent import oauth_credentials
    from sync.google.directory import GoogleDirectory
    from sync.mapping import display_name, fingerprint

    engine = make_sync_engine(url)
    try:
        migrations.upgrade(engine)
        link_id = seed_link(engine)
        with session_scope(engine) as session:
            link = session.get(DirectoryLink, link_id)
            assert link is not None
            view = sync_engine.load_view(session, link)
        factory = sync_engine.SubscriberFactory(view, BOX, DEFAULTS)
        columns: list[str] = []
        rows: list[tuple[Any, ...]] = []
        with GoogleDirectory(settings, oauth_credentials(settings, token),
                             domain=DOMAIN) as google:
            for page in google.pages(resume=None):
                for user in page.users:
                    if user.state is not UserState.ACTIVE:
                        continue
                    row = factory.row(sync_engine.NewSubscriber(
                        username=user.email.split("@")[0], email=user.email,
                        display_name=display_name(user), alias=str(ALIAS_START + len(rows)),
                        caller_id=None, external_id=user.external_id,
                        fingerprint=fingerprint(user)))
                    columns = columns or list(row)
                    rows.append(tuple(getattr(value, "name", value) for value in row.values()))
        return raw_copy(url, columns, rows), len(rows)
    finally:
        engine.dispose()


async def measure(args: argparse.Namespace, url: str, copy_url: str) -> None:
    from asgi_lifespan import LifespanManager

    from api.app import create_app
    from schema.core.ids import to_global_id
    from tests.graphql import sign_up

    spawn = multiprocessing.get_context("spawn")
    ours, theirs = spawn.Pipe()
    server = spawn.Process(target=serve_pages, args=(args.users, theirs), daemon=True)
    server.start()
    google, token = ours.recv()
    engine = make_sync_engine(url)
    migrations.upgrade(engine)
    worker: subprocess.Popen[str] | None = None
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(_env_file=None, data_dir=Path(data_dir), database_url=url,
                            secret_keys=KEY, broker_url=REDIS_URL,
                            public_base_url="http://testserver", base_domain="bench.example",
                            **google)
        try:
            worker = start_worker(worker_env(settings, google, data_dir))
            application = create_app(settings)
            async with LifespanManager(application):
                owner = await sign_up(application, engine, label="benchsync")
                tenant_id = seed(engine, _isp_id(owner.isp_id), token)
                tenant = to_global_id("Tenant", tenant_id)

                paging, listed = page_only(settings, ours_token(ours))
                print(f"(a) paging {listed:,} users from this process (the page server in its "
                      f"own): {paging:.2f} s (best of 2)")
                copied, count = copy_baseline(copy_url, settings, ours_token(ours))
                print(f"(b) raw COPY of the {count:,} rows the import writes: {copied:.2f} s")

                discovered, found = await timed(
                    engine, owner.client, "directoryDiscover", "DirectoryDiscoverInput",
                    {"tenant": tenant, "sequentialStart": ALIAS_START})
                assert found.counters["proposed"] == count, found.counters
                started = utcnow()
                imported, job = await timed(engine, owner.client, "directoryImportConfirm",
                                            "DirectoryTenantInput", {"tenant": tenant})
                assert job.counters["created"] == count, job.counters
                full = discovered + imported
                budget = paging + copied
                print(f"(c) directoryDiscover + directoryImportConfirm, mutation to job end: "
                      f"{full:.2f} s (discover {discovered:.2f} s, import {imported:.2f} s)")
                print(f"    ratio (c) / ((a)+(b)) = {full / budget:.2f}x (goal: at most 5x)")
                sheet_id = uuid.UUID(str(job.result_ref).removeprefix("Job:"))
                sheet = wait_job(engine, sheet_id)
                assert sheet.status is JobStatus.SUCCEEDED, sheet.errors
                assert sheet.finished_at is not None
                print(f"    then the credentials sheet of {count:,} rows: ends "
                      f"{(sheet.finished_at - started) / dt.timedelta(seconds=1) - imported:.2f}"
                      " s after the import")

                rounds = []
                for offset, name in ((0, "Changed"), (CHANGED_EVERY // 2, "Renamed")):
                    ours.send(("change", CHANGED_EVERY, offset, name))
                    changed = ours.recv()
                    seconds, synced = await timed(engine, owner.client, "directorySyncNow",
                                                  "DirectoryTenantInput", {"tenant": tenant})
                    assert synced.counters["updated"] == changed, synced.counters
                    rounds.append(seconds)
                print(f"(d) directorySyncNow with {changed:,} users changed (1 %), mutation "
                      f"to job end: {min(rounds):.2f} s (best of "
                      f"{', '.join(f'{s:.2f} s' for s in rounds)})")
                print(f"    ratio (d) / (a) = {min(rounds) / paging:.2f}x (goal: at most 3x)")
                rss = peak_rss_mb(worker.pid)
                print(f"worker peak RSS: {rss:.0f} MB (goal: under 250 MB)")
                await owner.client.close()
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=60)
            ours.send(("stop",))
            server.join(timeout=30)
            engine.dispose()


def _isp_id(text: str) -> uuid.UUID:
    from schema.core.ids import from_global_id

    decoded = from_global_id(text)
    return uuid.UUID(str(decoded[1])) if decoded else uuid.UUID(text)


def ours_token(pipe: Connection) -> str:
    """A fresh refresh token from the page server (each listing signs in anew)."""
    pipe.send(("token",))
    token: str = pipe.recv()
    return token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50_000)
    args = parser.parse_args()
    url, copy_url = make_database("jobpath"), make_database("jobcopy")
    try:
        asyncio.run(measure(args, url, copy_url))
        print("(the machine is shared: figures vary from run to run)")
    finally:
        drop_database(url)
        drop_database(copy_url)


if __name__ == "__main__":
    main()
