"""The harness of the directory sync benchmarks that measure the real job path.

``benchmarks/google_sync_job.py`` and ``benchmarks/teams_sync_job.py`` both run every
part where it runs in production, and share what is here:

- the page server (a provider's fake in pre-rendered mode) in a process of its own,
  answering ``(command, *arguments)`` messages over a pipe (:func:`page_server`);
- the API, the product's app in the benchmark's process, driven over GraphQL by a
  signed-up ISP administrator, and one ``wehostvoip worker`` process (2 threads) on
  Redis (database 3, ``WEHOSTVOIP_BENCH_REDIS_URL``) and a throw-away PostgreSQL
  database migrated to head (:func:`job_path`);
- a tenant on a verified domain with its link, written directly: consent is not what
  is measured (:func:`seed_tenant`);
- timing a mutation to the end of the job it starts, from the job's own timestamps
  (:func:`timed`), and the worker's peak RSS (:func:`peak_rss_mb`).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import migrations  # noqa: E402
from core.database import make_sync_engine, session_scope  # noqa: E402
from core.models import (  # noqa: E402
    Customer,
    DirectoryLink,
    Job,
    JobStatus,
    Tenant,
    VerifiedDomain,
    VerifiedDomainStatus,
    utcnow,
)
from core.settings import Settings  # noqa: E402

KEY = "55" * 32  # the key of benchmarks/google_sync.BOX and benchmarks/teams_sync.BOX
REDIS_URL = os.environ.get("WEHOSTVOIP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")
FINISHED = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED,
            JobStatus.NEEDS_CONFIRMATION}


# The page server, in its own process -----------------------------------------------------------


@contextmanager
def page_server(target: Callable[..., None], *arguments: Any) -> Iterator[tuple[Connection, Any]]:
    """Start ``target(pipe, *arguments)`` in a spawned process; yields our end of the pipe
    and the first message it sends (its settings, once it serves). ``("stop",)`` ends it."""
    spawn = multiprocessing.get_context("spawn")
    ours, theirs = spawn.Pipe()
    server = spawn.Process(target=target, args=(theirs, *arguments), daemon=True)
    server.start()
    try:
        yield ours, ours.recv()
    finally:
        ours.send(("stop",))
        server.join(timeout=30)


# The API and the worker ----------------------------------------------------------------------


@dataclass
class JobPath:
    """What a benchmark drives: the app's settings, the database, the signed-up ISP
    administrator (``owner.client`` speaks GraphQL) and the worker process."""

    settings: Settings
    engine: Engine
    owner: Any  # tests.graphql.SignedUp
    worker: subprocess.Popen[str]

    @property
    def isp_id(self) -> uuid.UUID:
        from schema.core.ids import from_global_id

        decoded = from_global_id(self.owner.isp_id)
        return uuid.UUID(str(decoded[1])) if decoded else uuid.UUID(self.owner.isp_id)


@asynccontextmanager
async def job_path(url: str, provider: dict[str, str], *, label: str) -> AsyncIterator[JobPath]:
    """The database ``url`` migrated, a worker process and the app configured with the
    provider's settings (its fake's URLs and client), an ISP administrator signed up."""
    from asgi_lifespan import LifespanManager

    from api.app import create_app
    from tests.graphql import sign_up

    engine = make_sync_engine(url)
    migrations.upgrade(engine)
    worker: subprocess.Popen[str] | None = None
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            settings = Settings(_env_file=None, data_dir=Path(data_dir), database_url=url,
                                secret_keys=KEY, broker_url=REDIS_URL,
                                public_base_url="http://testserver",
                                base_domain="bench.example", **provider)
            worker = start_worker(worker_env(settings, provider, data_dir))
            application = create_app(settings)
            async with LifespanManager(application):
                owner = await sign_up(application, engine, label=label)
                try:
                    yield JobPath(settings, engine, owner, worker)
                finally:
                    await owner.client.close()
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:  # never left behind, polling Redis
                worker.kill()
                worker.wait()
        engine.dispose()


def worker_env(settings: Settings, provider: dict[str, str], data_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEHOSTVOIP_")}
    env.update({
        "WEHOSTVOIP_DATABASE_URL": settings.database_url or "",
        "WEHOSTVOIP_BROKER_URL": REDIS_URL, "WEHOSTVOIP_SECRET_KEYS": KEY,
        "WEHOSTVOIP_DATA_DIR": data_dir, "WEHOSTVOIP_PUBLIC_BASE_URL": "http://testserver",
        "WEHOSTVOIP_BASE_DOMAIN": "bench.example",
    })
    env.update({f"WEHOSTVOIP_{name.upper()}": value for name, value in provider.items()})
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


# Setting up ----------------------------------------------------------------------------------


def seed_tenant(engine: Engine, isp_id: uuid.UUID, domain: str, **link: Any) -> uuid.UUID:
    """A customer, a tenant on the verified ``domain`` and its link (``link``: the
    DirectoryLink's fields); the tenant's id."""
    with session_scope(engine) as session:
        customer = Customer(isp_id=isp_id, name="Bench customer", max_subscribers=1_000_000)
        verified = VerifiedDomain(isp_id=isp_id, fqdn=domain, challenge_token="bench",
                                  status=VerifiedDomainStatus.VERIFIED, verified_at=utcnow())
        session.add_all([customer, verified])
        session.flush()
        tenant = Tenant(isp_id=isp_id, customer_id=customer.id, name="Bench tenant",
                        domain=domain, verified_domain_id=verified.id, default_country_code="1",
                        default_area_code="209", provisioning_username="prov",
                        provisioning_password_encrypted="unused")
        session.add(tenant)
        session.flush()
        session.add(DirectoryLink(tenant_id=tenant.id, **link))
        return tenant.id


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


def run_seconds(job: Job) -> float:
    """The job's own start (the worker's claim) to its end."""
    assert job.started_at is not None
    return seconds(job.started_at, job.finished_at)


async def timed(path: JobPath, name: str, fields: str, variables: dict[str, Any], *,
                quiet: bool = False) -> tuple[float, Job]:
    """Seconds from just before the mutation to the job's end (its own timestamp); where
    they went is printed: the mutation and dispatch until the worker's claim, the run."""
    started = utcnow()
    job = wait_job(path.engine, await job_mutation(path.owner.client, name, fields, variables))
    assert job.status is JobStatus.SUCCEEDED, (name, job.status, job.errors)
    claimed = job.started_at
    assert claimed is not None
    if not quiet:
        print(f"      {name}: mutation to the worker's claim {seconds(started, claimed):.3f} "
              f"s, the run {run_seconds(job):.3f} s")
    return seconds(started, job.finished_at), job


def sheet_of(path: JobPath, imported: Job) -> Job:
    """The credentials sheet job an import queued, once it ended."""
    sheet = wait_job(path.engine, uuid.UUID(str(imported.result_ref).removeprefix("Job:")))
    assert sheet.status is JobStatus.SUCCEEDED, sheet.errors
    return sheet
