"""The directory sync engine: discovery, import, re-sync, the brake, resuming, removal.

The provider is an in-memory adapter (:class:`MemoryDirectory`): pages of
:class:`DirectoryUser`, resumable by page index, able to fail after a given
page as a provider does when the connection drops. Everything else is the real
engine (``sync/engine.py``) and the real actions (``core/directory_actions.py``)
against the test database.

Bounded memory (one page of users and one small tuple per subscriber) is a
design property of the engine and is not tested here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, delete, func, select, update
from sqlmodel import Session

from core.database import session_scope
from core.directory_actions import DISABLE, hold, release_held_actions, remove_expired
from core.extension_sequence import extensions_freed
from core.models import (
    Administrator,
    DialPlanRule,
    DirectoryLink,
    DirectoryLinkStatus,
    DirectoryPreviewRow,
    DirectoryProvider,
    DirectorySyncPending,
    Isp,
    Job,
    JobStatus,
    Number,
    NumberState,
    Role,
    RoleGrant,
    Scope,
    Subscriber,
    SubscriberSource,
    SubscriberStatus,
    Tenant,
    utcnow,
)
from core.secrets import secret_box
from core.settings import Settings
from core.subscribers import SubscriberFields, delete_subscriber, update_subscriber
from core.viewer import AuthMethod, load_viewer
from sync.directory import DirectoryUnavailableError, DirectoryUser, Page, UserState
from sync.engine import COUNTERS, Checkpoint, SyncOutcome, discover, import_preview, resync
from sync.mapping import fingerprint
from tests.conftest import TEST_SECRET_KEY
from tests.factories import (
    make_customer,
    make_dial_plan,
    make_isp,
    make_number,
    make_subscriber,
    make_tenant,
)

BOX = secret_box([bytes.fromhex(TEST_SECRET_KEY)])
DEFAULTS = {"country_code": "1", "area_code": "209", "concurrent_calls": 2, "ring_timeout": 20}


def quiet(*_done: object, **_counters: object) -> None:
    """Progress reports go nowhere."""


# The provider ------------------------------------------------------------------------------


class MemoryDirectory:
    """A directory held in memory: a list of pages, each a list of users.

    ``pages`` honours ``resume`` as the index of the page to start from (the
    engine saves it after each committed page), and raises after
    ``fail_after`` pages, as a provider whose connection drops mid-round.
    """

    def __init__(self, listing: Sequence[Sequence[DirectoryUser]], *, full: bool = True,
                 fail_after: int | None = None, pages_per_write: int = 1) -> None:
        self.listing = [list(page) for page in listing] or [[]]
        self.full = full
        self.fail_after = fail_after
        self.pages_per_write = pages_per_write
        self.calls: list[tuple[str | None, str | None]] = []

    def pages(self, *, resume: str | None, state: str | None) -> Iterator[Page]:
        self.calls.append((resume, state))
        start = 0 if resume is None else int(resume)
        last = len(self.listing) - 1
        for index in range(start, len(self.listing)):
            if self.fail_after is not None and index >= self.fail_after:
                raise DirectoryUnavailableError(f"connection lost before page {index + 1}")
            complete = index == last
            yield Page(users=list(self.listing[index]),
                       resume=None if complete else str(index + 1),
                       complete=complete, full=self.full)


def paged(users: Sequence[DirectoryUser], size: int) -> list[list[DirectoryUser]]:
    return [list(users[start:start + size]) for start in range(0, len(users), size)]


def person(key: str, **changes: object) -> DirectoryUser:
    """A directory user ``key@example.com`` whose id is ``g-key``."""
    user = DirectoryUser(external_id=f"g-{key}", email=f"{key}@example.com",
                         given_name=key.title(), family_name="Example",
                         display_name=f"{key.title()} Example", department="/Sales")
    return dataclasses.replace(user, **changes)  # type: ignore[arg-type]


def people(count: int) -> list[DirectoryUser]:
    return [person(f"user{index:02d}") for index in range(count)]


def counters(**values: int) -> dict[str, int]:
    return dict.fromkeys(COUNTERS, 0) | values


# The tenant and its link -------------------------------------------------------------------


@dataclass
class World:
    isp: Isp
    tenant: Tenant
    link_id: uuid.UUID


def make_world(session: Session, *, status: DirectoryLinkStatus = DirectoryLinkStatus.LINKED,
               isp_fields: dict[str, object] | None = None, **tenant_fields: object) -> World:
    isp = make_isp(session, **(isp_fields or {}))
    tenant = make_tenant(session, isp, make_customer(session, isp, max_subscribers=100_000),
                         **tenant_fields)
    link = DirectoryLink(tenant_id=tenant.id, provider=DirectoryProvider.GOOGLE, status=status,
                         mapping_defaults=dict(DEFAULTS), alias_start=1000, brake_percent=10)
    session.add(link)
    session.commit()
    return World(isp=isp, tenant=tenant, link_id=link.id)


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)


def set_link(engine: Engine, world: World, **values: object) -> None:
    with session_scope(engine) as session:
        session.execute(update(DirectoryLink).where(DirectoryLink.id == world.link_id)
                        .values(**values))


def run_discover(engine: Engine, world: World, directory: MemoryDirectory) -> dict[str, int]:
    return discover(engine, world.link_id, directory, alias_start=1000, progress=quiet)


def imported(engine: Engine, world: World, users: Sequence[DirectoryUser],
             page_size: int = 4) -> None:
    """Discover and import ``users``, as an administrator confirming the preview would."""
    run_discover(engine, world, MemoryDirectory(paged(users, page_size)))
    outcome = import_preview(engine, BOX, world.link_id, progress=quiet)
    assert outcome.errors == []
    assert len(outcome.created) == len(users)
    set_link(engine, world, status=DirectoryLinkStatus.ACTIVE)


def run_sync(engine: Engine, world: World, directory: MemoryDirectory,
             resume: str | None = None) -> tuple[SyncOutcome, list[str | None]]:
    saved: list[str | None] = []
    outcome = resync(engine, BOX, world.link_id, directory,
                     checkpoint=Checkpoint(resume, saved.append), progress=quiet)
    return outcome, saved


def run_sync_saving(engine: Engine, world: World, directory: MemoryDirectory,
                    saved: list[str | None]) -> SyncOutcome:
    return resync(engine, BOX, world.link_id, directory,
                  checkpoint=Checkpoint(None, saved.append), progress=quiet)


def subscribers(engine: Engine, tenant: Tenant) -> list[Subscriber]:
    with Session(engine) as session:
        return list(session.execute(select(Subscriber).where(Subscriber.tenant_id == tenant.id)
                                    .order_by(Subscriber.username)).scalars())


def synced(engine: Engine, tenant: Tenant) -> dict[str, Subscriber]:
    """The tenant's directory subscribers by external id."""
    return {row.external_id: row for row in subscribers(engine, tenant) if row.external_id}


def preview(engine: Engine, world: World) -> list[DirectoryPreviewRow]:
    with Session(engine) as session:
        return list(session.execute(select(DirectoryPreviewRow)
                                    .where(DirectoryPreviewRow.link_id == world.link_id)
                                    .order_by(DirectoryPreviewRow.position)).scalars())


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # what Kamailio computes


# 1. Discovery ------------------------------------------------------------------------------


def test_discover_proposes_one_row_per_active_user(engine: Engine, session: Session) -> None:
    isp = make_isp(session)
    plan = make_dial_plan(session, isp)
    # Extensions 1000-1099 would be rewritten by the dial plan: none may be proposed.
    session.add(DialPlanRule(dial_plan_id=plan.id, priority=0, match_expression="^10[0-9][0-9]$",
                             substitution_expression="^(.*)$", replacement="+_CC_\\1"))
    session.commit()
    tenant = make_tenant(session, isp, make_customer(session, isp, max_subscribers=5),
                         dial_plan_id=plan.id)
    link = DirectoryLink(tenant_id=tenant.id, provider=DirectoryProvider.GOOGLE,
                         status=DirectoryLinkStatus.LINKED, mapping_defaults=dict(DEFAULTS),
                         alias_start=1000, brake_percent=10)
    session.add(link)
    session.commit()
    world = World(isp=isp, tenant=tenant, link_id=link.id)
    # Created by hand: one with a directory user's e-mail, both holding extensions.
    carol_by_hand = make_subscriber(session, tenant, username="carol.hand",
                                    email="Carol@Example.com", alias="1100")
    make_subscriber(session, tenant, username="desk", alias="1102")
    # Numbers: the tenant's, one still in the inventory, another tenant's.
    make_number(session, isp, e164="+12095550111", state=NumberState.ASSIGNED,
                tenant_id=tenant.id)
    make_number(session, isp, e164="+12095550122")
    other = make_tenant(session, isp, make_customer(session, isp))
    make_number(session, isp, e164="+12095550133", state=NumberState.ASSIGNED,
                tenant_id=other.id)

    alice = person("alice", phones=("+12095550122", "+12095550111"))
    alice_branch = person("alice", external_id="g-alice-branch",
                          email="alice@branch.example.com", phones=("+12095550133",))
    bob = person("bob", email="Bob.Smith@example.com", phones=("209-555-0111", "+1209555011"))
    carol = person("carol")
    dave = person("dave", state=UserState.SUSPENDED)
    erin = person("erin", state=UserState.DELETED)
    directory = MemoryDirectory([[alice, alice_branch, dave], [bob, carol, erin]])

    outcome = run_discover(engine, world, directory)

    # Five places, two taken by hand: three of the four proposed users fit.
    assert outcome == {"proposed": 4, "already_synced": 0, "inactive": 2, "conflicts": 2,
                       "fit": 3}
    rows = preview(engine, world)
    assert [(row.position, row.external_id, row.username, row.alias, row.caller_id)
            for row in rows] == [
        (0, "g-alice", "alice", "1101", "+12095550111"),  # 1100 and 1102 are held
        (1, "g-alice-branch", "alice2", "1103", None),  # another tenant's number
        (2, "g-bob", "bob.smith", "1104", None),  # not E.164, not valid
        (3, "g-carol", "carol", "1105", None),
    ]
    assert not any(1000 <= int(row.alias or 0) <= 1099 for row in rows)
    by_id = {row.external_id: row for row in rows}
    assert by_id["g-alice"].conflicts == []
    assert by_id["g-bob"].conflicts == []
    [taken] = by_id["g-alice-branch"].conflicts
    assert "alice" in taken
    assert "alice2" in taken
    assert len(by_id["g-carol"].conflicts) == 1
    # The hand-made subscriber is shown as a match, never chosen for the administrator.
    assert by_id["g-carol"].hand_made_id == carol_by_hand.id
    assert all(row.hand_made_id is None for row in rows if row.external_id != "g-carol")
    assert all(row.link_subscriber_id is None and not row.import_separately for row in rows)
    assert by_id["g-alice"].fingerprint == fingerprint(alice)
    assert by_id["g-alice"].display_name == "Alice Example"
    assert by_id["g-alice"].department == "/Sales"
    assert not any(row.excluded for row in rows)
    assert directory.calls == [(None, None)]

    # Discovering again replaces the preview with the very same proposal.
    again = run_discover(engine, world, directory)

    assert again == outcome

    def proposal(row: DirectoryPreviewRow) -> tuple[object, ...]:
        return (row.position, row.external_id, row.username, row.alias, row.caller_id,
                row.conflicts, row.hand_made_id)

    assert [proposal(row) for row in preview(engine, world)] == [proposal(row) for row in rows]


# 2. Import ---------------------------------------------------------------------------------


def test_import_creates_links_and_is_idempotent(engine: Engine, session: Session,
                                                world: World) -> None:
    carol_by_hand = make_subscriber(session, world.tenant, username="carol.hand",
                                    email="carol@example.com")
    alice, bob, carol, frank = (person(key) for key in ("alice", "bob", "carol", "frank"))
    run_discover(engine, world, MemoryDirectory([[alice, bob], [carol, frank]]))
    with session_scope(engine) as change:
        change.execute(update(DirectoryPreviewRow).where(
            DirectoryPreviewRow.link_id == world.link_id,
            DirectoryPreviewRow.external_id == "g-frank").values(excluded=True))
        # The administrator's choice: carol takes over the subscriber made by hand.
        change.execute(update(DirectoryPreviewRow).where(
            DirectoryPreviewRow.link_id == world.link_id,
            DirectoryPreviewRow.external_id == "g-carol").values(
            link_subscriber_id=carol_by_hand.id))

    outcome = import_preview(engine, BOX, world.link_id, progress=quiet)

    assert outcome.errors == []
    assert outcome.linked == [carol_by_hand.id]
    assert len(outcome.created) == 2
    rows = synced(engine, world.tenant)
    assert set(rows) == {"g-alice", "g-bob", "g-carol"}  # frank was excluded
    assert {rows["g-alice"].id, rows["g-bob"].id} == set(outcome.created)
    passwords = set()
    for user, alias in ((alice, "1000"), (bob, "1001")):
        row = rows[user.external_id]
        assert row.source is SubscriberSource.GOOGLE
        assert row.username == user.email.split("@")[0]
        assert row.email == user.email
        assert row.display_name == user.display_name
        assert row.alias == alias
        assert row.status is SubscriberStatus.ACTIVE
        assert row.sync_fingerprint == fingerprint(user)
        assert (row.country_code, row.area_code) == ("1", "209")
        assert (row.concurrent_calls, row.ring_timeout) == (2, 20)
        password = BOX.decrypt(row.sip_password_encrypted)
        assert len(password) >= 16
        assert row.ha1 == md5(f"{row.username}:{world.tenant.domain}:{password}")
        assert row.ha1b == md5(f"{row.username}@{world.tenant.domain}:{world.tenant.domain}:"
                               f"{password}")
        passwords.add(password)
    assert len(passwords) == 2
    # The subscriber created by hand is handed over, and nothing is created for carol.
    linked = rows["g-carol"]
    assert linked.id == carol_by_hand.id
    assert linked.source is SubscriberSource.GOOGLE
    assert linked.sync_fingerprint == fingerprint(carol)
    assert linked.username == "carol.hand"
    assert linked.alias is None
    assert BOX.decrypt(linked.sip_password_encrypted) == "factory-sip-password"
    everyone = subscribers(engine, world.tenant)
    assert len(everyone) == 3

    # An import run again (a retried job) creates and links nothing more.
    again = import_preview(engine, BOX, world.link_id, progress=quiet)

    assert (again.created, again.linked, again.errors) == ([], [], [])
    after = subscribers(engine, world.tenant)
    assert [(row.id, row.sip_password_encrypted, row.updated_at) for row in after] == [
        (row.id, row.sip_password_encrypted, row.updated_at) for row in everyone]


def test_import_never_takes_over_a_hand_made_subscriber_without_a_choice(
        engine: Engine, session: Session, world: World) -> None:
    by_hand = make_subscriber(session, world.tenant, username="carol.hand",
                              email="carol@example.com")
    late = person("dave")
    run_discover(engine, world, MemoryDirectory([[person("alice"), person("carol"), late]]))
    # A subscriber made by hand after discovery, with another user's e-mail: no match on
    # the preview, and still no takeover.
    late_by_hand = make_subscriber(session, world.tenant, username="dave.hand",
                                   email="Dave@example.com")

    outcome = import_preview(engine, BOX, world.link_id, progress=quiet)

    assert len(outcome.created) == 1
    assert outcome.linked == []
    assert sorted(error.split(":")[0] for error in outcome.errors) == [
        "carol@example.com", "dave@example.com"]
    with Session(engine) as fresh:
        for row_id in (by_hand.id, late_by_hand.id):
            row = fresh.get(Subscriber, row_id)
            assert row is not None
            assert (row.source, row.external_id) == (SubscriberSource.MANUAL, None)
    assert set(synced(engine, world.tenant)) == {"g-alice"}

    # The administrator chooses: carol is imported beside the subscriber made by hand.
    with session_scope(engine) as change:
        change.execute(update(DirectoryPreviewRow).where(
            DirectoryPreviewRow.link_id == world.link_id,
            DirectoryPreviewRow.external_id == "g-carol").values(import_separately=True))

    again = import_preview(engine, BOX, world.link_id, progress=quiet)

    assert len(again.created) == 1
    rows = synced(engine, world.tenant)
    assert set(rows) == {"g-alice", "g-carol"}
    assert rows["g-carol"].id != by_hand.id
    assert rows["g-carol"].username == "carol"


# 3. Re-sync --------------------------------------------------------------------------------


def test_resync_unchanged_directory_writes_nothing(engine: Engine, world: World) -> None:
    users = people(10)
    imported(engine, world, users)
    before = {row.id: row.updated_at for row in subscribers(engine, world.tenant)}

    outcome, saved = run_sync(engine, world, MemoryDirectory(paged(users, 4)))

    assert outcome.counters == counters(unchanged=10)
    assert outcome.held == []
    assert outcome.complete
    assert outcome.seen == 10
    assert saved == ["1", "2", None]
    assert {row.id: row.updated_at for row in subscribers(engine, world.tenant)} == before


def test_resync_changed_display_name_updates_only_that_subscriber(engine: Engine,
                                                                  world: World) -> None:
    users = people(10)
    imported(engine, world, users)
    before = synced(engine, world.tenant)
    users[3] = dataclasses.replace(users[3], display_name="Renamed Person")

    outcome, _ = run_sync(engine, world, MemoryDirectory(paged(users, 4)))

    assert outcome.counters == counters(updated=1, unchanged=9)
    after = synced(engine, world.tenant)
    changed = after[users[3].external_id]
    assert changed.display_name == "Renamed Person"
    assert changed.sync_fingerprint == fingerprint(users[3])
    assert changed.updated_at > before[users[3].external_id].updated_at
    assert changed.alias == before[users[3].external_id].alias
    assert changed.status is SubscriberStatus.ACTIVE
    for external_id, row in after.items():
        if external_id != users[3].external_id:
            assert row.updated_at == before[external_id].updated_at
            assert row.display_name == before[external_id].display_name


def test_an_extension_freed_by_a_removed_user_goes_to_the_next_newcomer(engine: Engine,
                                                                         world: World) -> None:
    users = people(3)
    imported(engine, world, users)
    with session_scope(engine) as session:
        assert session.get(DirectoryLink, world.link_id).alias_next == 1003  # type: ignore[union-attr]
        # The user with 1001 was deleted long ago: the grace period is over.
        session.execute(update(Subscriber).where(Subscriber.alias == "1001",
                                                 Subscriber.tenant_id == world.tenant.id)
                        .values(directory_deleted_at=utcnow() - dt.timedelta(days=365)))
    with session_scope(engine) as session:
        assert remove_expired(session) == 1
    newcomer, later = person("newcomer"), person("later")
    remaining = [user for user in users if user.external_id != "g-user01"]

    outcome, _ = run_sync(engine, world, MemoryDirectory([[newcomer, later, *remaining]]))

    assert outcome.counters == counters(created=2, unchanged=2)
    after = synced(engine, world.tenant)
    assert (after["g-newcomer"].alias, after["g-later"].alias) == ("1001", "1003")
    with session_scope(engine) as session:
        assert session.get(DirectoryLink, world.link_id).alias_next == 1004  # type: ignore[union-attr]


def test_extensions_freed_by_an_administrator_go_to_the_next_newcomers(
        engine: Engine, session: Session, world: World, settings: Settings) -> None:
    users = people(4)
    imported(engine, world, users)
    by_alias = {row.alias: row for row in synced(engine, world.tenant).values()}
    person_ = Administrator(email="admin@example.test")
    session.add(person_)
    session.flush()
    session.add(RoleGrant(administrator_id=person_.id, scope=Scope.ISP, role=Role.ADMIN,
                          isp_id=world.isp.id))
    session.commit()
    viewer = load_viewer(session, person_.id, auth_method=AuthMethod.SESSION)
    # 1002 moved to 1900 by hand; 1001 deleted by hand.
    update_subscriber(session, settings, viewer, by_alias["1002"].id,
                      SubscriberFields(alias="1900"))
    delete_subscriber(session, viewer, by_alias["1001"].id)
    session.commit()
    first, second = person("first"), person("second")

    outcome, _ = run_sync(engine, world, MemoryDirectory(
        [[first, second, *[user for user in users if user.external_id != "g-user01"]]],
        full=False))

    assert outcome.counters == counters(created=2, unchanged=3)
    after = synced(engine, world.tenant)
    assert (after["g-first"].alias, after["g-second"].alias) == ("1001", "1002")


def test_an_extension_freed_during_a_round_is_not_forgotten(engine: Engine,
                                                            world: World) -> None:
    users = people(4)
    imported(engine, world, users)
    newcomer = person("newcomer")

    pages_done: list[object] = []

    def free_1001_meanwhile(done: object, **_counters: object) -> None:
        pages_done.append(done)
        if len(pages_done) > 1:
            return
        # After the first page, an administrator deletes the subscriber with 1001.
        with session_scope(engine) as other:
            other.execute(delete(Subscriber).where(Subscriber.alias == "1001",
                                                   Subscriber.tenant_id == world.tenant.id))
            extensions_freed(other, world.tenant.id, ["1001"])

    outcome = resync(engine, BOX, world.link_id,
                     MemoryDirectory([users[:2], [newcomer]], full=False),
                     checkpoint=Checkpoint(None, lambda _resume: None),
                     progress=free_1001_meanwhile)

    assert outcome.counters == counters(created=1, unchanged=2)
    assert synced(engine, world.tenant)["g-newcomer"].alias == "1004"  # read before
    with session_scope(engine) as session:
        # The round does not move the sequence past the freed extension: it is next.
        assert session.get(DirectoryLink, world.link_id).alias_next == 1001  # type: ignore[union-attr]


def test_a_round_of_changes_asks_the_database_about_its_new_users(engine: Engine,
                                                                  session: Session,
                                                                  world: World) -> None:
    users = people(2)
    imported(engine, world, users)
    make_subscriber(session, world.tenant, username="casey", alias="1002",
                    email="Casey@Example.com")
    make_subscriber(session, world.tenant, username="dana", alias="1003")
    casey = person("casey")  # a hand-made subscriber has the username and the e-mail
    dana = person("dana")
    other_dana = person("dana-x", email="dana@example.org")  # the same username base

    # Only the changes (Microsoft's delta): the whole tenant is not read.
    outcome, _ = run_sync(engine, world, MemoryDirectory([[casey, dana, other_dana]],
                                                         full=False))

    assert outcome.counters == counters(created=3, conflicts=3)
    after = synced(engine, world.tenant)
    assert [(after[user.external_id].username, after[user.external_id].alias)
            for user in (casey, dana, other_dana)] == [
        ("casey2", "1004"), ("dana2", "1005"), ("dana3", "1006")]


def test_resync_new_user_gets_next_free_extension(engine: Engine, session: Session,
                                                  world: World) -> None:
    users = people(10)
    imported(engine, world, users)
    make_subscriber(session, world.tenant, username="reception", alias="1010")
    aliases = {external_id: row.alias for external_id, row in synced(engine, world.tenant).items()}
    assert sorted(aliases.values()) == [str(alias) for alias in range(1000, 1010)]
    newcomer = person("newcomer")

    # First in the listing: nobody else's extension moves for it.
    outcome, _ = run_sync(engine, world, MemoryDirectory(paged([newcomer, *users], 4)))

    assert outcome.counters == counters(created=1, unchanged=10)
    after = synced(engine, world.tenant)
    added = after["g-newcomer"]
    assert added.alias == "1011"  # 1000-1009 synced, 1010 created by hand
    assert added.username == "newcomer"
    assert added.source is SubscriberSource.GOOGLE
    assert added.sync_fingerprint == fingerprint(newcomer)
    assert (added.area_code, added.concurrent_calls, added.ring_timeout) == ("209", 2, 20)
    password = BOX.decrypt(added.sip_password_encrypted)
    assert added.ha1 == md5(f"newcomer:{world.tenant.domain}:{password}")
    assert {external_id: row.alias for external_id, row in after.items()
            if external_id != "g-newcomer"} == aliases

    # The next round knows it: nothing created twice.
    again, _ = run_sync(engine, world, MemoryDirectory(paged([newcomer, *users], 4)))

    assert again.counters == counters(unchanged=11)
    assert len(subscribers(engine, world.tenant)) == 12


def test_resync_suspended_user_is_disabled_then_reenabled(engine: Engine, world: World) -> None:
    users = people(10)
    imported(engine, world, users)
    target = users[5].external_id
    users[5] = dataclasses.replace(users[5], state=UserState.SUSPENDED)

    outcome, _ = run_sync(engine, world, MemoryDirectory(paged(users, 4)))

    assert outcome.held == []
    assert outcome.counters["disabled"] == 1
    assert outcome.counters["unchanged"] == 9
    assert outcome.counters["removed"] == 0
    rows = synced(engine, world.tenant)
    assert rows[target].status is SubscriberStatus.DISABLED
    assert rows[target].disabled_at is not None
    assert rows[target].directory_deleted_at is None  # suspended, not deleted
    assert all(row.status is SubscriberStatus.ACTIVE
               for external_id, row in rows.items() if external_id != target)

    users[5] = dataclasses.replace(users[5], state=UserState.ACTIVE)
    outcome, _ = run_sync(engine, world, MemoryDirectory(paged(users, 4)))

    assert outcome.counters["reenabled"] == 1
    assert outcome.counters["disabled"] == 0
    assert outcome.counters["unchanged"] == 9
    back = synced(engine, world.tenant)[target]
    assert back.status is SubscriberStatus.ACTIVE
    assert back.disabled_at is None
    assert back.sync_fingerprint == fingerprint(users[5])


def test_resync_deleted_user_is_disabled_and_marked(engine: Engine, world: World) -> None:
    users = people(10)
    imported(engine, world, users)
    target = users[2].external_id
    users[2] = dataclasses.replace(users[2], state=UserState.DELETED)

    outcome, _ = run_sync(engine, world, MemoryDirectory(paged(users, 4)))

    assert outcome.held == []
    assert outcome.counters["removed"] == 1
    assert outcome.counters["unchanged"] == 9
    rows = synced(engine, world.tenant)
    assert rows[target].status is SubscriberStatus.DISABLED
    assert rows[target].directory_deleted_at is not None
    assert rows[target].disabled_at is not None
    assert all(row.status is SubscriberStatus.ACTIVE and row.directory_deleted_at is None
               for external_id, row in rows.items() if external_id != target)


def test_resync_user_absent_from_full_listing_is_deleted(engine: Engine, world: World) -> None:
    users = people(10)
    imported(engine, world, users)
    gone = users.pop(7).external_id

    outcome, _ = run_sync(engine, world, MemoryDirectory(paged(users, 4)))

    assert outcome.held == []
    assert outcome.counters == counters(removed=1, unchanged=9)
    rows = synced(engine, world.tenant)
    assert rows[gone].status is SubscriberStatus.DISABLED
    assert rows[gone].directory_deleted_at is not None
    assert all(row.status is SubscriberStatus.ACTIVE and row.directory_deleted_at is None
               for external_id, row in rows.items() if external_id != gone)


def test_resync_absence_from_partial_listing_removes_nobody(engine: Engine,
                                                            world: World) -> None:
    users = people(10)
    imported(engine, world, users)
    del users[7]

    outcome, _ = run_sync(engine, world, MemoryDirectory(paged(users, 4), full=False))

    assert outcome.counters == counters(unchanged=9)
    assert all(row.status is SubscriberStatus.ACTIVE and row.directory_deleted_at is None
               for row in subscribers(engine, world.tenant))


def test_resync_never_touches_subscribers_created_by_hand(engine: Engine, session: Session,
                                                          world: World) -> None:
    users = people(10)
    imported(engine, world, users)
    by_hand = make_subscriber(session, world.tenant, username="reception",
                              email="reception@example.com", alias="200")

    outcome, _ = run_sync(engine, world, MemoryDirectory(paged(users, 4)))

    assert outcome.counters == counters(unchanged=10)
    with Session(engine) as fresh:
        row = fresh.get(Subscriber, by_hand.id)
    assert row is not None
    assert row.source is SubscriberSource.MANUAL
    assert row.status is SubscriberStatus.ACTIVE
    assert row.directory_deleted_at is None
    assert row.updated_at == by_hand.updated_at


# 4. The brake ------------------------------------------------------------------------------


def suspend(users: list[DirectoryUser], count: int) -> list[str]:
    for index in range(count):
        users[index] = dataclasses.replace(users[index], state=UserState.SUSPENDED)
    return [user.external_id for user in users[:count]]


def held_job(session: Session, world: World) -> Job:
    job = Job(kind="directory.sync", subject_type="DirectoryLink", subject_id=str(world.link_id),
              status=JobStatus.NEEDS_CONFIRMATION, isp_id=world.isp.id,
              tenant_id=world.tenant.id)
    session.add(job)
    session.commit()
    return job


def statuses(engine: Engine, world: World) -> dict[str, SubscriberStatus]:
    return {external_id: row.status for external_id, row in synced(engine, world.tenant).items()}


def test_brake_holds_a_round_that_disables_too_many(engine: Engine, session: Session,
                                                    world: World) -> None:
    users = people(20)
    imported(engine, world, users, page_size=8)
    suspended = suspend(users, 3)  # 15 % of 20, the brake is at 10 %

    outcome, _ = run_sync(engine, world, MemoryDirectory(paged(users, 8)))

    ids = {external_id: row.id for external_id, row in synced(engine, world.tenant).items()}
    assert len(outcome.held) == 3
    assert {action.subscriber_id for action in outcome.held} == {ids[key] for key in suspended}
    assert {action.action for action in outcome.held} == {DISABLE}
    assert outcome.counters["disabled"] == 0
    assert set(statuses(engine, world).values()) == {SubscriberStatus.ACTIVE}

    # An administrator confirms.
    job = held_job(session, world)
    with session_scope(engine) as change:
        hold(change, world.link_id, job.id, outcome.held)
    with Session(engine) as fresh:
        assert fresh.execute(select(func.count()).select_from(DirectorySyncPending)).scalar() == 3
    with session_scope(engine) as change:
        released = release_held_actions(change, world.link_id, apply=True)

    assert released == {"disabled": 3}
    after = statuses(engine, world)
    assert {key for key, status in after.items()
            if status is SubscriberStatus.DISABLED} == set(suspended)
    with Session(engine) as fresh:
        assert fresh.execute(select(func.count()).select_from(DirectorySyncPending)).scalar() == 0


def test_brake_cancelled_leaves_subscribers_active(engine: Engine, session: Session,
                                                   world: World) -> None:
    users = people(20)
    imported(engine, world, users, page_size=8)
    suspend(users, 3)
    outcome, _ = run_sync(engine, world, MemoryDirectory(paged(users, 8)))
    assert len(outcome.held) == 3
    job = held_job(session, world)
    with session_scope(engine) as change:
        hold(change, world.link_id, job.id, outcome.held)

    with session_scope(engine) as change:
        released = release_held_actions(change, world.link_id, apply=False)

    assert released == {}
    assert set(statuses(engine, world).values()) == {SubscriberStatus.ACTIVE}
    with Session(engine) as fresh:
        assert fresh.execute(select(func.count()).select_from(DirectorySyncPending)).scalar() == 0


def test_brake_lets_changes_within_the_limit_through(engine: Engine, world: World) -> None:
    users = people(20)
    imported(engine, world, users, page_size=8)
    suspended = suspend(users, 2)  # exactly 10 %

    outcome, _ = run_sync(engine, world, MemoryDirectory(paged(users, 8)))

    assert outcome.held == []
    assert outcome.counters["disabled"] == 2
    after = statuses(engine, world)
    assert {key for key, status in after.items()
            if status is SubscriberStatus.DISABLED} == set(suspended)


# 5. Resuming an interrupted round ----------------------------------------------------------


def test_resync_resumes_from_checkpoint_without_duplicates(engine: Engine,
                                                           world: World) -> None:
    set_link(engine, world, status=DirectoryLinkStatus.ACTIVE)
    users = people(12)
    listing = paged(users, 4)
    saved: list[str | None] = []

    with pytest.raises(DirectoryUnavailableError):
        run_sync_saving(engine, world, MemoryDirectory(listing, fail_after=2), saved)

    assert saved == ["1", "2"]
    assert len(subscribers(engine, world.tenant)) == 8

    directory = MemoryDirectory(listing)
    outcome, saved_again = run_sync(engine, world, directory, resume=saved[-1])

    # The rest, then the whole listing again to tell who is gone (nobody here).
    assert directory.calls == [("2", None), (None, None)]
    assert saved_again == [None]
    assert outcome.complete
    assert outcome.counters == counters(created=4)
    assert outcome.held == []
    with Session(engine) as fresh:
        per_user = dict(fresh.execute(
            select(Subscriber.external_id, func.count()).where(
                Subscriber.tenant_id == world.tenant.id).group_by(Subscriber.external_id)).all())
    assert per_user == {user.external_id: 1 for user in users}
    rows = subscribers(engine, world.tenant)
    assert len({row.alias for row in rows}) == 12
    assert all(row.status is SubscriberStatus.ACTIVE and row.directory_deleted_at is None
               for row in rows)


def test_pages_written_together_are_resumed_from_the_last_write(engine: Engine,
                                                                world: World) -> None:
    set_link(engine, world, status=DirectoryLinkStatus.ACTIVE)
    users = people(16)
    listing = paged(users, 4)
    saved: list[str | None] = []

    # Written two pages at a time: the third page's failure loses the unwritten third
    # page only, and the checkpoint never passes a page that was not written.
    with pytest.raises(DirectoryUnavailableError):
        run_sync_saving(engine, world,
                        MemoryDirectory(listing, fail_after=3, pages_per_write=2), saved)

    assert saved == ["2"]
    assert len(subscribers(engine, world.tenant)) == 8

    directory = MemoryDirectory(listing, pages_per_write=2)
    outcome, _ = run_sync(engine, world, directory, resume=saved[-1])

    assert directory.calls == [("2", None), (None, None)]
    assert outcome.counters == counters(created=8)
    assert sorted(row.external_id for row in subscribers(engine, world.tenant)) == sorted(
        user.external_id for user in users)


def test_a_round_of_changes_writes_its_pages_together(engine: Engine, world: World) -> None:
    users = people(12)
    imported(engine, world, users)
    changed = [dataclasses.replace(user, family_name="Moved") for user in users]
    # Microsoft's delta: three pages of changes only, fewer than FLUSH_USERS of them.
    listing = [changed[:4], changed[4:8], [*changed[8:], person("newcomer")]]
    saved: list[str | None] = []

    # The connection drops before the third page: nothing of the round is written (it is
    # one write), and the checkpoint did not move past what was written.
    with pytest.raises(DirectoryUnavailableError):
        run_sync_saving(engine, world, MemoryDirectory(listing, full=False, fail_after=2),
                        saved)

    assert saved == []
    assert {row.display_name for row in subscribers(engine, world.tenant)} == {
        user.display_name for user in users}

    directory = MemoryDirectory(listing, full=False)
    outcome, saved = run_sync(engine, world, directory)

    assert directory.calls == [(None, None)]
    assert outcome.counters == counters(created=1, updated=12)
    assert saved == [None]  # once, with the round's only write
    assert len(synced(engine, world.tenant)) == 13


def test_a_checkpoint_saved_in_the_transaction_commits_with_its_page(engine: Engine,
                                                                    world: World) -> None:
    users = people(8)
    imported(engine, world, users)
    renamed = [dataclasses.replace(user, display_name=f"Renamed {user.given_name}")
               for user in users]
    in_transaction: list[tuple[str | None, int]] = []
    after_commit: list[str | None] = []

    def save_in(session: Session, resume: str | None) -> None:
        # The page's changes are in this (not yet committed) transaction.
        rows = session.execute(select(Subscriber.display_name).where(
            Subscriber.tenant_id == world.tenant.id)).scalars().all()
        in_transaction.append((resume, sum(name.startswith("Renamed") for name in rows)))

    resync(engine, BOX, world.link_id, MemoryDirectory(paged(renamed, 4)),
           checkpoint=Checkpoint(None, after_commit.append, save_in=save_in), progress=quiet)

    assert in_transaction == [("1", 4), (None, 8)]  # each with its page's changes
    assert after_commit == []  # nothing saved outside a write


def round_result(engine: Engine, world: World) -> dict[str, tuple[object, ...]]:
    """What a round left, by username: status, deleted or not, display name."""
    return {row.username: (row.status, row.directory_deleted_at is not None, row.display_name)
            for row in subscribers(engine, world.tenant)}


def test_a_resumed_full_round_ends_with_the_disables_and_removals_of_a_clean_one(
        engine: Engine, session: Session) -> None:
    clean, interrupted = make_world(session), make_world(session)
    users = people(40)
    for world in (clean, interrupted):
        imported(engine, world, users)
        set_link(engine, world, brake_percent=100)  # the brake must not hide a removal here
    # The directory now: four users deleted (gone from the listing: two on the pages the
    # interrupted attempt listed, two after), one renamed, two newcomers.
    now = [user for index, user in enumerate(users) if index not in (1, 5, 30, 35)]
    now[10] = dataclasses.replace(now[10], family_name="Renamed", display_name="Renamed")
    now += [person("newcomer1"), person("newcomer2")]
    listing = paged(now, 4)

    expected, _ = run_sync(engine, clean, MemoryDirectory(listing))
    saved: list[str | None] = []
    first = Checkpoint(None, saved.append)
    with pytest.raises(DirectoryUnavailableError):  # the attempt dies after five pages
        resync(engine, BOX, interrupted.link_id, MemoryDirectory(listing, fail_after=5),
               checkpoint=first, progress=quiet)
    directory = MemoryDirectory(listing)
    resume_at = saved[-1]
    # The job's next attempt: the checkpoint and the counters saved with it.
    outcome = resync(engine, BOX, interrupted.link_id, directory,
                     checkpoint=Checkpoint(resume_at, saved.append, counters=first.counters),
                     progress=quiet)

    assert expected.counters == counters(created=2, updated=1, removed=4, unchanged=35)
    assert outcome.complete
    assert outcome.held == []
    assert outcome.counters == expected.counters
    # The resumed attempt listed the rest, then the whole directory again for who is gone.
    assert directory.calls == [(resume_at, None), (None, None)]
    assert round_result(engine, interrupted) == round_result(engine, clean)
    gone = {f"user{index:02d}" for index in (1, 5, 30, 35)}
    assert {name for name, (_, deleted, _) in round_result(engine, interrupted).items()
            if deleted} == gone


@pytest.mark.parametrize("state", [UserState.SUSPENDED, UserState.DELETED])
def test_disable_seen_before_an_interruption_is_not_lost(engine: Engine, world: World,
                                                         state: UserState) -> None:
    users = people(12)
    imported(engine, world, users)
    users[0] = dataclasses.replace(users[0], state=state)  # on the first page
    target = users[0].external_id
    listing = paged(users, 4)
    saved: list[str | None] = []
    with pytest.raises(DirectoryUnavailableError):
        run_sync_saving(engine, world, MemoryDirectory(listing, fail_after=2), saved)

    run_sync(engine, world, MemoryDirectory(listing), resume=saved[-1])
    # At the latest, the next full round brings the subscriber in line with the directory.
    run_sync(engine, world, MemoryDirectory(listing))

    row = synced(engine, world.tenant)[target]
    assert row.status is SubscriberStatus.DISABLED
    assert (row.directory_deleted_at is not None) is (state is UserState.DELETED)


# 6. Removal after the grace period ---------------------------------------------------------


def deleted_subscriber(session: Session, world: World, key: str,
                       deleted_at: dt.datetime | None) -> Subscriber:
    return make_subscriber(session, world.tenant, username=key, source=SubscriberSource.GOOGLE,
                           external_id=f"g-{key}", directory_deleted_at=deleted_at,
                           status=SubscriberStatus.DISABLED if deleted_at
                           else SubscriberStatus.ACTIVE)


def assigned_number(session: Session, world: World, e164: str,
                    target: Subscriber | None) -> Number:
    return make_number(session, world.isp, e164=e164, state=NumberState.ASSIGNED,
                       tenant_id=world.tenant.id,
                       target_subscriber_id=target.id if target else None)


def test_remove_expired_deletes_after_grace_and_quarantines_numbers(
        engine: Engine, session: Session, world: World) -> None:
    set_link(engine, world, removal_grace_days=7)
    now = utcnow()
    old = deleted_subscriber(session, world, "old", now - dt.timedelta(days=8))
    young = deleted_subscriber(session, world, "young", now - dt.timedelta(days=6))
    active = deleted_subscriber(session, world, "active", None)
    old_number = assigned_number(session, world, "+12095550201", old)
    young_number = assigned_number(session, world, "+12095550202", young)
    spare_number = assigned_number(session, world, "+12095550203", None)

    with session_scope(engine) as change:
        removed = remove_expired(change, now)

    assert removed == 1
    with Session(engine) as fresh:
        assert fresh.get(Subscriber, old.id) is None
        assert fresh.get(Subscriber, young.id) is not None
        assert fresh.get(Subscriber, active.id) is not None
        released = fresh.get(Number, old_number.id)
        kept = fresh.get(Number, young_number.id)
        spare = fresh.get(Number, spare_number.id)
    assert released is not None
    assert released.state is NumberState.QUARANTINE
    assert released.tenant_id is None
    assert released.target_subscriber_id is None
    assert released.quarantine_until is not None
    assert abs(released.quarantine_until - (now + dt.timedelta(days=30))) < dt.timedelta(
        seconds=1)
    assert kept is not None
    assert (kept.state, kept.tenant_id, kept.target_subscriber_id) == (
        NumberState.ASSIGNED, world.tenant.id, young.id)
    assert spare is not None
    assert (spare.state, spare.tenant_id) == (NumberState.ASSIGNED, world.tenant.id)


def test_remove_expired_without_quarantine_returns_numbers_to_inventory(
        engine: Engine, session: Session) -> None:
    world = make_world(session, isp_fields={"number_quarantine_days": 0})
    now = utcnow()
    old = deleted_subscriber(session, world, "old", now - dt.timedelta(days=31))
    number = assigned_number(session, world, "+12095550211", old)

    with session_scope(engine) as change:
        removed = remove_expired(change, now)

    assert removed == 1
    with Session(engine) as fresh:
        assert fresh.get(Subscriber, old.id) is None
        released = fresh.get(Number, number.id)
    assert released is not None
    assert released.state is NumberState.AVAILABLE
    assert released.tenant_id is None
    assert released.target_subscriber_id is None
    assert released.quarantine_until is None


# 7. Bounded memory is a design property of the engine (pages, small tuples): not tested.
