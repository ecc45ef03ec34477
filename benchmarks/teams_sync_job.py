"""Microsoft Entra sync through the real path: GraphQL mutation -> job -> worker -> database.

    .venv/bin/python benchmarks/teams_sync_job.py [--users 50000] [--delta-rounds 5]
                                                  [--delta-page-size 200]

The Entra side is the wire-level fake (``tests/fakes/microsoft.py``) in pre-rendered
mode, serving HTTPS with a throw-away CA (``microsoft_ca_bundle``), in a process of its
own; the API and the worker are those of ``benchmarks/job_path.py`` (the harness
shared with ``google_sync_job.py``): the product's app in this process, driven over
GraphQL by a signed-up ISP administrator, one ``wehostvoip worker`` process (2
threads) on Redis (database 3) and a throw-away PostgreSQL database. The tenant, its
verified domain and its consented link are written directly. Prints, in one run:

- (a) the bare delta walk of a first round from this process (msal and httpx, users
  only counted) and (b) a raw COPY of the rows the import writes
  (``benchmarks/teams_sync.copy_baseline``);
- (c) directoryDiscover then directoryImportConfirm, mutation to the import job's end;
  goal at most 5x (a)+(b); then the credentials sheet job the import queued is awaited
  (so that it does not run beside the rounds below);
- the first directorySyncNow after the import (from discovery's deltaLink);
- (d) delta rounds of 1 % changes (500 of 50,000: 3 pages of 200 by default, as Graph
  pages them): the bare walk of the round, then directorySyncNow, from the job's start
  (the worker's claim) to its end, and from the mutation to the job's end; goal for a
  round of 500 changes: at most 60 ms from the job's start to its end;
- the worker process's peak RSS (goal under 250 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import Engine
from sqlmodel import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.databases import drop_database, make_database  # noqa: E402
from benchmarks.job_path import (  # noqa: E402
    JobPath,
    job_path,
    page_server,
    peak_rss_mb,
    run_seconds,
    seed_tenant,
    sheet_of,
    timed,
)
from benchmarks.teams_sync import (  # noqa: E402
    ALIAS_START,
    CLIENT_ID,
    CLIENT_SECRET,
    change_users,
    copy_baseline,
)
from core.database import session_scope  # noqa: E402
from core.models import DirectoryLink, DirectoryLinkStatus, DirectoryProvider  # noqa: E402
from core.settings import Settings  # noqa: E402


def serve_fake(pipe: Connection, users: int, ca_dir: str) -> None:
    """The child: a pre-rendered HTTPS fake; ("change", count, round, token, page_size)
    changes ``count`` users and pre-renders the delta round since that token."""
    from tests.fakes.microsoft import FakeMicrosoft

    with FakeMicrosoft.prerendered(users=users, page_size=500, https=True, ca_dir=Path(ca_dir),
                                   client_id=CLIENT_ID, client_secret=CLIENT_SECRET
                                   ) as (fake, tenant):
        values = {name: str(value) for name, value in fake.settings().items()}
        pipe.send({"settings": values, "tenant": tenant.id, "domain": tenant.domain})
        while True:
            command, *arguments = pipe.recv()
            if command == "stop":
                return
            count, round_number, since, page_size = arguments
            tenant.thaw()
            summary = change_users(tenant, count, round_number)
            pipe.send(summary | {"pages": tenant.prerender(page_size=page_size, since=since)})


def delta_state(engine: Engine, tenant_id: uuid.UUID) -> str:
    with session_scope(engine) as session:
        link = session.exec(select(DirectoryLink).where(
            DirectoryLink.tenant_id == tenant_id)).one()
        assert link.sync_state is not None
        return link.sync_state


def bare_walk(settings: Settings, fake: dict[str, Any], state: str | None) -> tuple[float, int]:
    from sync.teams.directory import TeamsDirectory

    directory = TeamsDirectory(settings, fake["tenant"], domains=[fake["domain"]])
    started = time.perf_counter()
    count = sum(len(page.users) for page in directory.pages(resume=None, state=state))
    return time.perf_counter() - started, count


async def measure(args: argparse.Namespace, path: JobPath, pipe: Connection,
                  fake: dict[str, Any], copy_url: str) -> None:
    from schema.core.ids import to_global_id
    from sync.teams.tokens import app_token

    tenant_id = seed_tenant(path.engine, path.isp_id, fake["domain"],
                            provider=DirectoryProvider.MICROSOFT,
                            external_tenant_id=fake["tenant"],
                            status=DirectoryLinkStatus.LINKED, brake_percent=100)
    tenant = to_global_id("Tenant", tenant_id)
    app_token(path.settings, fake["tenant"])  # msal set-up in this process, untimed

    bare, listed = bare_walk(path.settings, fake, None)
    print(f"(a) bare delta walk of a first round: {listed:,} users in {bare:.2f} s")
    copied = copy_baseline(copy_url, fake["domain"], fake["tenant"], args.users)
    print(f"(b) raw COPY of {args.users:,} subscriber rows: {copied:.2f} s")
    discovered, _ = await timed(path, "directoryDiscover", "DirectoryDiscoverInput",
                                {"tenant": tenant, "sequentialStart": ALIAS_START})
    imported, job = await timed(path, "directoryImportConfirm", "DirectoryTenantInput",
                                {"tenant": tenant})
    assert job.counters["created"] == args.users, job.counters
    full = discovered + imported
    print(f"(c) directoryDiscover + directoryImportConfirm, mutation to job end: "
          f"{full:.2f} s = {full / (bare + copied):.2f}x (a)+(b) (goal: at most 5x)")
    sheet_of(path, job)
    first, job = await timed(path, "directorySyncNow", "DirectoryTenantInput",
                             {"tenant": tenant})
    print(f"    first directorySyncNow after the import (from discovery's "
          f"deltaLink): {first:.3f} s, counters {job.counters}")

    runs, totals, walks = [], [], []
    for round_number in range(1, args.delta_rounds + 1):
        state = delta_state(path.engine, tenant_id)
        since = parse_qs(urlsplit(state).query)["$deltatoken"][0]
        pipe.send(("change", max(1, args.users // 100), round_number, since,
                   args.delta_page_size))
        plan = pipe.recv()
        walk, records = bare_walk(path.settings, fake, state)
        total, job = await timed(path, "directorySyncNow", "DirectoryTenantInput",
                                 {"tenant": tenant}, quiet=True)
        run = run_seconds(job)
        runs.append(run)
        totals.append(total)
        walks.append(walk)
        print(f"round {round_number}: {plan}; bare walk {records:,} records "
              f"{walk * 1000:.1f} ms; job: start to end {run * 1000:.0f} ms, "
              f"mutation to end {total * 1000:.0f} ms")
    run, walk = statistics.median(runs), statistics.median(walks)
    print(f"(d) delta round, median of {len(runs)}: job start to end {run * 1000:.0f} ms "
          f"(goal: at most 60 ms), mutation to job end "
          f"{statistics.median(totals) * 1000:.0f} ms; bare walk {walk * 1000:.1f} ms")
    # The goal was set on a quiet machine where the bare walk took 5 ms: on a busy one the
    # ratio, both measured in this run, says more than the milliseconds.
    print(f"    job start to end / bare walk = {run / walk:.1f}x (the goal's: 60 / 5 = 12x)")
    print(f"worker peak RSS: {peak_rss_mb(path.worker.pid):.0f} MB (goal: under 250 MB)")


async def run(args: argparse.Namespace, url: str, copy_url: str, ca_dir: str) -> None:
    with page_server(serve_fake, args.users, ca_dir) as (pipe, fake):
        async with job_path(url, fake["settings"], label="benchteams") as path:
            await measure(args, path, pipe, fake, copy_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--delta-rounds", type=int, default=5)
    parser.add_argument("--delta-page-size", type=int, default=200)
    args = parser.parse_args()
    url, copy_url = make_database("teamsjob"), make_database("teamsjobcopy")
    try:
        with tempfile.TemporaryDirectory() as ca_dir:
            asyncio.run(run(args, url, copy_url, ca_dir))
        print("(the machine is shared: figures vary from run to run)")
    finally:
        drop_database(url)
        drop_database(copy_url)


if __name__ == "__main__":
    main()
