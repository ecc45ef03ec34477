"""Microsoft Entra sync at scale: 50,000 users through the adapter and the engine.

    .venv/bin/python benchmarks/teams_sync.py [--users 50000] [--page-size 500]

The Entra side is the wire-level fake (tests/fakes/microsoft.py) in pre-rendered mode,
in a process of its own (so its memory is not counted in ours, and its serving does
not compete for our interpreter): every users delta page is rendered to bytes before
the clock starts, a request costs it a token check and a dict lookup. The adapter
(real msal and httpx, plain HTTP through the fake's transport seam) is timed against
it bare, and the engine is run against a throw-away PostgreSQL control plane migrated
to head (dropped at the end). Prints, in one run:

- bare paging: one full round of ``/users/delta`` with the adapter, users only counted;
- raw COPY: the same number of subscriber rows, built beforehand exactly as
  ``sync.engine.SubscriberFactory`` builds them, COPYed by psycopg into the subscriber
  table (indexes and constraints included) of a second throw-away database;
- the first round through the engine: discovery (directory -> preview) plus the
  import (preview -> subscribers); goal: at most 5x (bare paging + raw COPY);
- for information, the first re-sync after the import (a round of changes from
  discovery's deltaLink, which the import hands on: nothing changed);
- after 1 % of the users changed (updates, new users, disables, soft and hard
  deletes), bare paging of just that delta round, and the delta round through the
  engine; five such rounds (other users each time), whose medians are compared
  (a round of a few milliseconds is at the mercy of the machine's noise); goal: at
  most 10x the bare delta round;
- peak RSS of this process through those phases (goal: under 300 MB), before the
  COPY baseline builds its rows in memory.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
from psycopg import sql
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.databases import drop_database, make_database  # noqa: E402
from core import migrations  # noqa: E402
from core.database import make_sync_engine, session_scope  # noqa: E402
from core.models import (  # noqa: E402
    Customer,
    DirectoryLink,
    DirectoryLinkStatus,
    DirectoryProvider,
    Isp,
    Subscriber,
    SubscriberStatus,
    Tenant,
)
from core.secrets import secret_box  # noqa: E402
from core.settings import Settings  # noqa: E402
from sync import engine as sync_engine  # noqa: E402
from sync.directory import DirectoryUser  # noqa: E402
from sync.mapping import Defaults, fingerprint  # noqa: E402
from sync.teams.directory import TeamsDirectory  # noqa: E402
from sync.teams.tokens import app_token  # noqa: E402

CLIENT_ID = "00001111-aaaa-2222-bbbb-3333cccc4444"
CLIENT_SECRET = "bench-client-secret"  # the fake's, for this run only
BOX = secret_box([bytes.fromhex("55" * 32)])
DEFAULTS = {"country_code": "1", "area_code": "209", "concurrent_calls": 2,
            "ring_timeout": 20, "voicemail_to_email": False, "security_group_id": None}
ALIAS_START = 1000


# The fake, in its own process -------------------------------------------------------------


def serve_fake(connection: Connection, users: int, page_size: int) -> None:
    """The child process: a pre-rendered fake; on ("change", (count, round, token)),
    ``count`` users change and the delta round since that delta token is pre-rendered."""
    from tests.fakes.microsoft import FakeMicrosoft

    with FakeMicrosoft.prerendered(users=users, page_size=page_size, client_id=CLIENT_ID,
                                   client_secret=CLIENT_SECRET) as (fake, tenant):
        connection.send({"port": fake.port, "tenant": tenant.id, "domain": tenant.domain})
        while True:
            command, argument = connection.recv()
            if command == "stop":
                break
            if command == "change":
                count, round_number, since = argument
                tenant.thaw()
                summary = change_users(tenant, count, round_number)
                pages = tenant.prerender(page_size=page_size, since=since)
                connection.send(summary | {"pages": pages})


def change_users(tenant: Any, count: int, round_number: int) -> dict[str, int]:
    """``count`` changes, spread over the directory: half updates, a tenth new users, a
    fifth disabled, a tenth each soft- and hard-deleted."""
    ids = [user_id for user_id, user in tenant.users.items() if user.state == "active"]
    step = max(1, len(ids) // count)
    chosen = ids[round_number % step::step][:count]  # other users each round
    plan = {"updated": count // 2, "added": count // 10, "disabled": count // 5,
            "soft_deleted": count // 10}
    plan["hard_deleted"] = count - sum(plan.values())
    cursor = 0
    for kind, how_many in plan.items():
        for _ in range(how_many):
            if kind == "added":
                tenant.add_user(f"newcomer{round_number}-{cursor}@{tenant.domain}",
                                givenName="New",
                                surname=f"Comer{cursor}", department="Sales")
                cursor += 1
                continue
            user_id = chosen.pop()
            if kind == "updated":
                tenant.update_user(user_id, department="Support",
                                   displayName=f"Moved {round_number} {user_id[:8]}")
            elif kind == "disabled":
                tenant.disable_user(user_id)
            elif kind == "soft_deleted":
                tenant.soft_delete_user(user_id)
            else:
                tenant.hard_delete_user(user_id)
    return plan


def seed(engine: Engine, domain: str, entra_tenant: str) -> uuid.UUID:
    """One ISP, customer and tenant on ``domain``, linked to the Entra tenant; the link id."""
    with session_scope(engine) as session:
        isp = Isp(name="Bench ISP", namespace_label="bench", currency="USD")
        session.add(isp)
        session.flush()
        customer = Customer(isp_id=isp.id, name="Bench customer", max_subscribers=1_000_000)
        session.add(customer)
        session.flush()
        tenant = Tenant(isp_id=isp.id, customer_id=customer.id, name="Bench", domain=domain,
                        default_country_code="1", default_area_code="209",
                        provisioning_username="bench",
                        provisioning_password_encrypted="unused")
        session.add(tenant)
        session.flush()
        link = DirectoryLink(tenant_id=tenant.id, provider=DirectoryProvider.MICROSOFT,
                             external_tenant_id=entra_tenant, status=DirectoryLinkStatus.LINKED,
                             mapping_defaults=DEFAULTS, alias_start=ALIAS_START,
                             brake_percent=100)
        session.add(link)
        session.flush()
        return link.id


# Phases ---------------------------------------------------------------------------------------


def quiet(*_done: object, **_counters: object) -> None:
    """Progress reports go nowhere."""


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def bare_round(directory: TeamsDirectory, state: str | None) -> tuple[int, str | None]:
    """One round, users only counted: (users, the round's deltaLink)."""
    count, last = 0, None
    for page in directory.pages(resume=None, state=state):
        count += len(page.users)
        last = page
    return count, last.next_round if last is not None else None


def set_state(engine: Engine, link_id: uuid.UUID, state: str | None, *,
              active: bool = False) -> None:
    """What the worker does around the engine: the link's deltaLink and status."""
    with session_scope(engine) as session:
        link = session.get(DirectoryLink, link_id)
        assert link is not None
        link.sync_state = state
        if active:
            link.status = DirectoryLinkStatus.ACTIVE
        session.add(link)


def resync(engine: Engine, link_id: uuid.UUID, directory: TeamsDirectory
           ) -> sync_engine.SyncOutcome:
    outcome = sync_engine.resync(engine, BOX, link_id, directory,
                                 checkpoint=sync_engine.Checkpoint(None, lambda _resume: None),
                                 progress=quiet)
    assert not outcome.held, "the brake held changes"
    if outcome.complete:
        set_state(engine, link_id, outcome.next_round)
    return outcome


def copy_baseline(url: str, domain: str, entra_tenant: str, users: int) -> float:
    """Rows as SubscriberFactory builds them (not timed), then one COPY (timed)."""
    engine = make_sync_engine(url)
    try:
        migrations.upgrade(engine)
        link_id = seed(engine, domain, entra_tenant)
        with session_scope(engine) as session:
            link = session.get(DirectoryLink, link_id)
            assert link is not None
            view = sync_engine.load_view(session, link)
            defaults = Defaults.from_json(link.mapping_defaults, "1")
        factory = sync_engine.SubscriberFactory(view, BOX, defaults)
        rows = []
        for number in range(users):
            user = DirectoryUser(external_id=str(uuid.uuid4()),
                                 email=f"user{number}@{domain}", given_name=f"Given{number}",
                                 family_name=f"Family{number}", department="Sales",
                                 phones=(f"+1 425 555 {number % 10000:04d}",))
            rows.append(factory.row(sync_engine.NewSubscriber(
                username=f"user{number}", email=user.email,
                display_name=f"Given{number} Family{number}", alias=str(ALIAS_START + number),
                caller_id=None, external_id=user.external_id, fingerprint=fingerprint(user))))
        columns = list(rows[0])
        values = [[value.value if hasattr(value, "value") else value for value in row.values()]
                  for row in rows]
        del rows
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(Subscriber.__tablename__),
            sql.SQL(", ").join(map(sql.Identifier, columns)))
        with psycopg.connect(url) as connection:
            started = time.perf_counter()
            with connection.cursor() as cursor, cursor.copy(statement) as copy:
                for row in values:
                    copy.write_row(row)
            connection.commit()
            elapsed = time.perf_counter() - started
        return elapsed
    finally:
        engine.dispose()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def count_subscribers(engine: Engine) -> int:
    with session_scope(engine) as session:
        return session.execute(select(func.count()).select_from(Subscriber)).scalar_one()


def by_status(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        rows = session.execute(select(Subscriber.status, Subscriber.directory_deleted_at.is_(
            None), func.count()).group_by(  # type: ignore[union-attr]
            Subscriber.status, Subscriber.directory_deleted_at.is_(None))).all()  # type: ignore[union-attr]
    found: dict[str, int] = {}
    for status, kept, number in rows:
        key = "ACTIVE" if status is SubscriberStatus.ACTIVE else (
            "DISABLED" if kept else "DISABLED, marked for removal")
        found[key] = found.get(key, 0) + number
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--delta-rounds", type=int, default=5,
                        help="delta rounds of 1 %% changes, each timed bare and through the "
                             "engine; the medians are compared")
    parser.add_argument("--page-size", type=int, default=500,
                        help="users per pre-rendered delta page (Graph chooses it)")
    options = parser.parse_args()
    users, changes = options.users, max(1, options.users // 100)

    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    started = time.perf_counter()
    child = context.Process(target=serve_fake, args=(theirs, users, options.page_size),
                            name="fake-microsoft", daemon=True)
    child.start()
    fake = ours.recv()
    print(f"pre-rendered {users:,} users in pages of {options.page_size} "
          f"in {time.perf_counter() - started:.1f} s (fake in process {child.pid})")

    control = make_database("teams_control")
    baseline = make_database("teams_copy")
    engine = make_sync_engine(control)
    scratch = tempfile.mkdtemp(prefix="teams-bench-")
    settings = Settings(_env_file=None, data_dir=Path(scratch), microsoft_client_id=CLIENT_ID,
                        microsoft_client_secret=SecretStr(CLIENT_SECRET))
    from tests.fakes.microsoft import routing_transport

    http = httpx.Client(transport=routing_transport(fake["port"]), timeout=60)
    try:
        migrations.upgrade(engine)
        link_id = seed(engine, fake["domain"], fake["tenant"])

        def adapter() -> TeamsDirectory:
            return TeamsDirectory(settings, fake["tenant"], domains=[fake["domain"]],
                                  http_client=http)

        app_token(settings, fake["tenant"], http_client=http)  # msal app and token, untimed

        (listed, delta_link), bare = timed(lambda: bare_round(adapter(), None))
        assert listed == users, listed
        print(f"\n(a) bare paging of /users/delta: {listed:,} users in {bare:.2f} s "
              f"({listed / bare:,.0f} users/s)")

        found, discovered = timed(lambda: sync_engine.discover(
            engine, link_id, adapter(), alias_start=ALIAS_START, progress=quiet))
        assert found["proposed"] == users, found
        outcome, imported = timed(lambda: sync_engine.import_preview(
            engine, BOX, link_id, progress=quiet))
        assert not outcome.errors, outcome.errors[:3]
        assert len(outcome.created) == users, len(outcome.created)
        with session_scope(engine) as session:
            link = session.get(DirectoryLink, link_id)
            assert link is not None
            discovered_state = link.discovered_state
        assert discovered_state is not None
        # As the import job leaves the link: active, going on from discovery's deltaLink.
        set_state(engine, link_id, discovered_state, active=True)
        del outcome
        first = discovered + imported
        print(f"(c) first round through the engine: discovery {discovered:.2f} s + import "
              f"{imported:.2f} s = {first:.2f} s; {count_subscribers(engine):,} subscribers")

        again, first_resync = timed(lambda: resync(engine, link_id, adapter()))
        assert sum(again.counters.values()) == 0, again.counters
        print(f"    first re-sync after the import (a round of changes from discovery's "
              f"deltaLink, nothing changed): {first_resync:.3f} s")
        assert again.next_round is not None
        delta_link = again.next_round

        bare_times, engine_times = [], []
        state = delta_link
        for round_number in range(1, options.delta_rounds + 1):
            since = parse_qs(urlsplit(state).query)["$deltatoken"][0]
            ours.send(("change", (changes, round_number, since)))
            plan = ours.recv()
            pages = plan.pop("pages")
            print(f"\nround {round_number}: {changes:,} users changed (1 %): {plan}; "
                  f"the delta round: {pages} page(s)")
            (delta_users, next_state), bare_delta = timed(
                lambda since_link=state: bare_round(adapter(), since_link))
            print(f"(d0) bare paging of the delta round: {delta_users:,} records in "
                  f"{bare_delta * 1000:.1f} ms")
            delta, delta_time = timed(lambda: resync(engine, link_id, adapter()))
            assert delta.next_round == next_state, (delta.next_round, next_state)
            counted = {key: value for key, value in delta.counters.items() if value}
            print(f"(d) delta round through the engine: {delta_time * 1000:.1f} ms; {counted}")
            bare_times.append(bare_delta)
            engine_times.append(delta_time)
            state = next_state
        print(f"    subscribers now: {by_status(engine)}")
        bare_delta, delta_time = statistics.median(bare_times), statistics.median(engine_times)
        peak = peak_rss_mb()

        copied = copy_baseline(baseline, fake["domain"], fake["tenant"], users)
        print(f"(b) raw COPY of {users:,} subscriber rows: {copied:.2f} s")

        print("\nresults")
        goal_first = 5 * (bare + copied)
        print(f"  first round: {first:.2f} s = {first / (bare + copied):.2f}x (a)+(b) "
              f"({bare:.2f} + {copied:.2f} s); goal at most 5x ({goal_first:.2f} s): "
              f"{'met' if first <= goal_first else 'NOT met'}")
        print(f"  delta round (median of {len(engine_times)}): {delta_time * 1000:.1f} ms = "
              f"{delta_time / bare_delta:.2f}x the bare delta round (median "
              f"{bare_delta * 1000:.1f} ms); goal at most 10x: "
              f"{'met' if delta_time <= 10 * bare_delta else 'NOT met'}")
        print(f"  peak RSS through the sync phases: {peak:.0f} MB; goal under 300 MB: "
              f"{'met' if peak < 300 else 'NOT met'} (the fake runs in its own process)")
        print(f"  (peak RSS including the COPY baseline's rows in memory: "
              f"{peak_rss_mb():.0f} MB)")
    finally:
        http.close()
        engine.dispose()
        ours.send(("stop", None))
        child.join(timeout=10)
        for url in (control, baseline):
            drop_database(url)


if __name__ == "__main__":
    main()
