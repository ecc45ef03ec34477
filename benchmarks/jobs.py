"""Background jobs through Redis: enqueue-to-start latency and no-op throughput.

    .venv/bin/python benchmarks/jobs.py [--latency-jobs 200] [--throughput-jobs 2000]

Runs one `wehostvoip worker` process (8 threads) against Redis (database 14,
flushed first) and a throw-away PostgreSQL database (SQLite when PostgreSQL is
not reachable), and prints:
- latency: from the job's commit-and-dispatch to a worker starting it, p50/p95,
  for jobs sent one at a time (no backlog);
- throughput: no-op jobs per second through the one worker process, for a batch
  dispatched at once.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis
from sqlalchemy import func, text
from sqlmodel import Session, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import migrations  # noqa: E402
from core.database import make_sync_engine, session_scope  # noqa: E402
from core.models import Job, JobStatus  # noqa: E402
from core.selftest import start_selftest  # noqa: E402
from core.settings import Settings  # noqa: E402
from workers import context  # noqa: E402
from workers.broker import install_broker  # noqa: E402

REDIS_URL = os.environ.get("WEHOSTVOIP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
POSTGRES_URL = os.environ.get("WEHOSTVOIP_BENCH_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = "22" * 32


def make_database() -> tuple[str, str]:
    """A fresh database: (url, description)."""
    try:
        admin = make_sync_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        name = f"wehostvoip_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
        kind = "PostgreSQL"
    except Exception:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
        kind = "SQLite"
    engine = make_sync_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    return url, kind


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    context.engine().dispose()
    admin = make_sync_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def start_worker(url: str, data_dir: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEHOSTVOIP_")} | {
        "WEHOSTVOIP_DATABASE_URL": url, "WEHOSTVOIP_BROKER_URL": REDIS_URL,
        "WEHOSTVOIP_SECRET_KEYS": SECRET, "WEHOSTVOIP_DATA_DIR": data_dir,
        "WEHOSTVOIP_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([sys.executable, "-m", "cli", "worker", "--threads", "8"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL)


def enqueue_one() -> uuid.UUID:
    with session_scope(context.engine()) as session:
        return start_selftest(session, steps=0, step_seconds=0, requested_by_id=None,
                              subject=str(uuid.uuid4())).job.id


def wait_all_done(engine: object, count: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(engine) as session:
            done = session.exec(select(func.count()).select_from(Job).where(
                Job.status == JobStatus.SUCCEEDED)).one()
        if done >= count:
            return
        time.sleep(0.05)
    raise SystemExit(f"only {done} of {count} jobs finished in {timeout} s")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure_latency(engine: object, count: int) -> list[float]:
    sent: dict[uuid.UUID, float] = {}
    for _ in range(count):
        before = time.time()
        job_id = enqueue_one()
        sent[job_id] = before
        time.sleep(0.01)  # no backlog: each job finds an idle worker
    wait_all_done(engine, count)
    with Session(engine) as session:
        rows = session.exec(select(Job).where(Job.id.in_(list(sent)))).all()
    return [(row.started_at.timestamp() - sent[row.id]) * 1000 for row in rows]


def measure_throughput(engine: object, count: int, already_done: int) -> float:
    started = time.monotonic()
    with session_scope(context.engine()) as session:
        for _ in range(count):
            start_selftest(session, steps=0, step_seconds=0, requested_by_id=None,
                           subject=str(uuid.uuid4()))
    wait_all_done(engine, already_done + count)
    return count / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency-jobs", type=int, default=200)
    parser.add_argument("--throughput-jobs", type=int, default=2000)
    arguments = parser.parse_args()

    redis.Redis.from_url(REDIS_URL).flushdb()
    url, kind = make_database()
    data_dir = tempfile.mkdtemp()
    settings = Settings(_env_file=None, database_url=url, broker_url=REDIS_URL,
                        secret_keys=SECRET, data_dir=Path(data_dir))
    install_broker(REDIS_URL)
    context.configure(settings)
    engine = context.engine()
    worker = start_worker(url, data_dir)
    try:
        time.sleep(2)  # the worker process imports and connects
        latencies = measure_latency(engine, arguments.latency_jobs)
        rate = measure_throughput(engine, arguments.throughput_jobs, arguments.latency_jobs)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        drop_database(url)
    print(f"database: {kind}; broker: Redis; one worker process with 8 threads")
    print(f"enqueue-to-start latency over {len(latencies)} jobs: "
          f"p50 {percentile(latencies, 0.5):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms, "
          f"mean {statistics.mean(latencies):.1f} ms")
    print(f"no-op throughput over {arguments.throughput_jobs} jobs: {rate:.0f} jobs/s")


if __name__ == "__main__":
    main()
