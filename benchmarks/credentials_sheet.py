"""The credentials sheet of a large import: the export job against a bare read of the rows.

    .venv/bin/python benchmarks/credentials_sheet.py [--subscribers 50000] [--format XLSX]

A throw-away PostgreSQL database, migrated to head, holds one tenant with that many
subscribers, written as the directory import writes them (``SubscriberFactory``:
generated SIP passwords, digests, the passwords encrypted). Prints, in one run:

- (a) the baseline: one SELECT of the sheet's columns, each password decrypted, the
  rows written with ``csv.writer`` into memory (the least any export can do);
- (b) the ``credentials.export`` job as the worker runs it (``workers.jobs.run_job``:
  claim, read, decrypt, write the workbook, store the file, progress reports), in a
  fresh child process, with the growth of that process's peak RSS during the job;
  goals: at most 3 s and at most +60 MB for 50,000 rows.
"""

from __future__ import annotations

import argparse
import csv
import io
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.databases import drop_database, make_database  # noqa: E402
from benchmarks.google_sync import BOX, DEFAULTS, seed  # noqa: E402
from core import migrations  # noqa: E402
from core.bulk import insert_rows  # noqa: E402
from core.credentials import EXPORT  # noqa: E402
from core.database import make_sync_engine, session_scope  # noqa: E402
from core.jobs import enqueue  # noqa: E402
from core.models import DirectoryLink, Job, JobStatus, StoredFile, Subscriber, Tenant  # noqa: E402
from core.settings import Settings  # noqa: E402
from sync import engine as sync_engine  # noqa: E402

KEY = "55" * 32  # the key of benchmarks/google_sync.py's BOX
BATCH = 5000


def fill(url: str, count: int) -> uuid.UUID:
    """A tenant with ``count`` subscribers as an import makes them; the tenant's id."""
    engine = make_sync_engine(url)
    try:
        migrations.upgrade(engine)
        link_id = seed(engine)
        with session_scope(engine) as session:
            link = session.get(DirectoryLink, link_id)
            assert link is not None
            view = sync_engine.load_view(session, link)
            tenant_id = link.tenant_id
        factory = sync_engine.SubscriberFactory(view, BOX, DEFAULTS)
        for start in range(0, count, BATCH):
            rows = [factory.row(sync_engine.NewSubscriber(
                username=f"user{n:06d}", email=f"user{n:06d}@bench.example",
                display_name=f"User {n}", alias=str(100_000 + n), caller_id=None,
                external_id=f"x{n}", fingerprint="-"))
                for n in range(start, min(count, start + BATCH))]
            with session_scope(engine) as session:
                insert_rows(session, Subscriber, rows)
        return tenant_id
    finally:
        engine.dispose()


def baseline(url: str, tenant_id: uuid.UUID) -> tuple[float, int]:
    engine = make_sync_engine(url)
    try:
        started = time.perf_counter()
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        with engine.connect() as connection:
            domain = connection.execute(select(Tenant.domain).where(
                Tenant.id == tenant_id)).scalar_one()
            rows = connection.execute(select(
                Subscriber.username, Subscriber.alias, Subscriber.sip_password_encrypted,
                Subscriber.display_name, Subscriber.email).where(
                Subscriber.tenant_id == tenant_id).order_by(Subscriber.username))
            count = 0
            for username, alias, secret, name, email in rows:
                writer.writerow([username, alias or "", domain, BOX.decrypt(secret), "", name,
                                 email])
                count += 1
        return time.perf_counter() - started, count
    finally:
        engine.dispose()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rss_mb() -> float:
    """The process's resident memory now (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def run_export(url: str, data_dir: str, tenant_id: uuid.UUID, file_format: str,
               answer: multiprocessing.Queue) -> None:
    """In the child: the job queued, then run as a worker runs it; reports back."""
    from workers import context
    from workers.jobs import run_job
    from workers.registry import load_actors

    load_actors()  # the job handlers, as a worker declares them
    settings = Settings(_env_file=None, data_dir=Path(data_dir), database_url=url,
                        secret_keys=KEY, broker_url="stub://")
    context.configure(settings)
    with session_scope(context.engine()) as session:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        job_id = enqueue(session, EXPORT.kind, tenant_id, isp_id=tenant.isp_id,
                         tenant_id=tenant_id, payload={"format": file_format,
                                                       "subscribers": None}).job.id
    before = rss_mb()
    started = time.perf_counter()
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        cProfile.runctx("run_job(str(job_id))", globals(), locals(), "/tmp/sheet.prof")
    else:
        run_job(str(job_id))  # the actor's function, in this process
    seconds = time.perf_counter() - started
    # The peak during the job over the memory in use when it started (the imports' own
    # peak may be higher than both: then the job grew nothing past it).
    grown = max(0.0, peak_rss_mb() - before)
    with session_scope(context.engine()) as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert job.status is JobStatus.SUCCEEDED, (job.status, job.errors)
        stored = session.get(StoredFile, uuid.UUID(str(job.result_ref)))
        assert stored is not None
        size = stored.size_bytes
    answer.put((seconds, before, grown, size))


def check(url: str, tenant_id: uuid.UUID, file_format: str, count: int) -> None:
    """The stored file holds every subscriber, passwords readable (not timed)."""
    import openpyxl

    engine = make_sync_engine(url)
    try:
        with engine.connect() as connection:
            content = connection.execute(select(StoredFile.content).order_by(
                StoredFile.created_at.desc()).limit(1)).scalar_one()  # type: ignore[attr-defined]
            first = connection.execute(select(Subscriber.username,
                                              Subscriber.sip_password_encrypted).where(
                Subscriber.tenant_id == tenant_id).order_by(Subscriber.username).limit(1)).one()
    finally:
        engine.dispose()
    if file_format == "XLSX":
        sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True)["Credentials"]
        rows = list(sheet.iter_rows(values_only=True))
    else:
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert len(rows) == count + 1, (len(rows), count)
    assert (rows[1][0], rows[1][3]) == (first.username, BOX.decrypt(first.sip_password_encrypted))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=50_000)
    parser.add_argument("--format", choices=("XLSX", "CSV"), default="XLSX")
    args = parser.parse_args()
    url = make_database("sheet")
    try:
        started = time.perf_counter()
        tenant_id = fill(url, args.subscribers)
        print(f"{args.subscribers:,} subscribers written in {time.perf_counter() - started:.1f} s "
              "(not timed)")
        bare, count = baseline(url, tenant_id)
        print(f"(a) bare read + decrypt + csv.writer of {count:,} rows: {bare:.2f} s")
        with tempfile.TemporaryDirectory() as data_dir:
            answer: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()
            child = multiprocessing.get_context("spawn").Process(
                target=run_export, args=(url, data_dir, tenant_id, args.format, answer))
            child.start()
            child.join()
            if child.exitcode != 0:
                raise SystemExit(f"the export's process failed (exit {child.exitcode})")
            seconds, before, grown, size = answer.get(timeout=10)
        check(url, tenant_id, args.format, count)
        print(f"(b) the credentials.export job ({args.format}, {size / 1e6:.1f} MB file): "
              f"{seconds:.2f} s, peak RSS +{grown:.0f} MB (from {before:.0f} MB)")
        print(f"    ratio (b) / (a) = {seconds / bare:.2f}x; goals: at most 3 s "
              f"{'ok' if seconds <= 3 else 'OVER'}, at most +60 MB "
              f"{'ok' if grown <= 60 else 'OVER'}")
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
