"""Google directory sync through the real path: GraphQL mutation -> job -> worker -> database.

    .venv/bin/python benchmarks/google_sync_job.py [--users 50000]

Unlike ``benchmarks/google_sync.py`` (the engine called in-process, next to the page
server), every part runs where it runs in production:

- the directory: the Google fake of ``tests/fakes/google.py`` in pre-rendered mode
  (every ``users.list`` page rendered to bytes beforehand), in a process of its own;
- the API: the product's app (``api.app.create_app``), in this process, driven over
  GraphQL by a signed-up ISP administrator (``tests.graphql.sign_up``);
- the jobs: one ``wehostvoip worker`` process (2 threads) on Redis (database 3, this
  engineer's) and a throw-away PostgreSQL database migrated to head
  (``benchmarks/job_path.py``, the harness shared with ``teams_sync_job.py``).

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
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.databases import drop_database, make_database  # noqa: E402
from benchmarks.google_sync import ALIAS_START, BOX, CHANGED_EVERY, DOMAIN, raw_copy  # noqa: E402
from benchmarks.job_path import (  # noqa: E402
    JobPath,
    job_path,
    page_server,
    peak_rss_mb,
    seed_tenant,
    sheet_of,
    timed,
)
from core import migrations  # noqa: E402
from core.database import make_sync_engine, session_scope  # noqa: E402
from core.models import (  # noqa: E402
    DirectoryLink,
    DirectoryLinkStatus,
    DirectoryProvider,
    utcnow,
)
from core.settings import Settings  # noqa: E402


def serve_pages(pipe: Connection, users: int) -> None:
    """The pre-rendered fake, answering commands from the benchmark over ``pipe``."""
    from benchmarks.google_sync import change_users
    from tests.fakes.google import FakeGoogle

    fake = FakeGoogle.prerendered(users=users, page_size=500, domain=DOMAIN)
    with fake:
        pipe.send(fake.settings_values())
        while True:
            command, *arguments = pipe.recv()
            if command == "change":
                pipe.send(change_users(fake, *arguments))
            elif command == "token":
                pipe.send(fake.issue_refresh_token())
            else:
                return


def fresh_token(pipe: Connection) -> str:
    """A refresh token from the page server (each listing signs in anew)."""
    pipe.send(("token",))
    token: str = pipe.recv()
    return token


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


async def measure(path: JobPath, pipe: Connection, copy_url: str) -> None:
    from schema.core.ids import to_global_id

    token = fresh_token(pipe)
    tenant = to_global_id("Tenant", seed_tenant(
        path.engine, path.isp_id, DOMAIN, provider=DirectoryProvider.GOOGLE,
        status=DirectoryLinkStatus.LINKED, credentials_encrypted=BOX.encrypt(json.dumps(
            {"kind": "oauth", "refresh_token": token}))))

    paging, listed = page_only(path.settings, fresh_token(pipe))
    print(f"(a) paging {listed:,} users from this process (the page server in its "
          f"own): {paging:.2f} s (best of 2)")
    copied, count = copy_baseline(copy_url, path.settings, fresh_token(pipe))
    print(f"(b) raw COPY of the {count:,} rows the import writes: {copied:.2f} s")

    discovered, found = await timed(path, "directoryDiscover", "DirectoryDiscoverInput",
                                    {"tenant": tenant, "sequentialStart": ALIAS_START})
    assert found.counters["proposed"] == count, found.counters
    started = utcnow()
    imported, job = await timed(path, "directoryImportConfirm", "DirectoryTenantInput",
                                {"tenant": tenant})
    assert job.counters["created"] == count, job.counters
    full = discovered + imported
    budget = paging + copied
    print(f"(c) directoryDiscover + directoryImportConfirm, mutation to job end: "
          f"{full:.2f} s (discover {discovered:.2f} s, import {imported:.2f} s)")
    print(f"    ratio (c) / ((a)+(b)) = {full / budget:.2f}x (goal: at most 5x)")
    sheet = sheet_of(path, job)
    assert sheet.finished_at is not None
    print(f"    then the credentials sheet of {count:,} rows: ends "
          f"{(sheet.finished_at - started) / dt.timedelta(seconds=1) - imported:.2f}"
          " s after the import")

    rounds = []
    for offset, name in ((0, "Changed"), (CHANGED_EVERY // 2, "Renamed")):
        pipe.send(("change", CHANGED_EVERY, offset, name))
        changed = pipe.recv()
        seconds, synced = await timed(path, "directorySyncNow", "DirectoryTenantInput",
                                      {"tenant": tenant})
        assert synced.counters["updated"] == changed, synced.counters
        rounds.append(seconds)
    print(f"(d) directorySyncNow with {changed:,} users changed (1 %), mutation "
          f"to job end: {min(rounds):.2f} s (best of "
          f"{', '.join(f'{s:.2f} s' for s in rounds)})")
    print(f"    ratio (d) / (a) = {min(rounds) / paging:.2f}x (goal: at most 3x)")
    print(f"worker peak RSS: {peak_rss_mb(path.worker.pid):.0f} MB (goal: under 250 MB)")


async def run(args: argparse.Namespace, url: str, copy_url: str) -> None:
    with page_server(serve_pages, args.users) as (pipe, google):
        async with job_path(url, google, label="benchsync") as path:
            await measure(path, pipe, copy_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50_000)
    args = parser.parse_args()
    url, copy_url = make_database("jobpath"), make_database("jobcopy")
    try:
        asyncio.run(run(args, url, copy_url))
        print("(the machine is shared: figures vary from run to run)")
    finally:
        drop_database(url)
        drop_database(copy_url)


if __name__ == "__main__":
    main()
