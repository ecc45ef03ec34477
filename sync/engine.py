"""The sync engine: directory users in, a tenant's subscribers brought in line.

Three runs share it, whatever the provider:

- **discover** lists the directory and writes a preview: each user with the
  subscriber the import would make (username, extension, caller ID, conflicts).
- **import** turns the preview rows an administrator kept into subscribers.
- **re-sync** follows the directory afterwards: new users become subscribers
  (next free extension, defaults chosen at discovery), changed users are
  updated, suspended ones disabled and enabled again when they come back,
  deleted ones disabled at once and removed after the link's grace period.
  Only what changed is written (a fingerprint per user). Disables and removals
  wait until the round is over: if there are more than the link's brake allows,
  they are held for an administrator to confirm (``SyncOutcome.held``).

Memory stays bounded: users arrive a page at a time, and what is kept of the
tenant's subscribers is one small tuple each. Subscribers created by hand are
never touched unless an administrator links them to a directory user.

Cost follows the changes: a round of changes reads just the subscribers of the
users it lists, asks about new users a page at a time, and writes with a few
set-based statements (``core.bulk``); a full listing tells unchanged users by
their stored fingerprints alone.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Engine, delete, func, select, text, update
from sqlmodel import Session, col

from core.bulk import insert_rows, update_rows
from core.customers import subscriber_room
from core.database import one_of, session_scope
from core.dial_plans import ordered_rules
from core.dialplan_engine import check_rule
from core.directory_actions import DELETE, DISABLE, Action, apply_actions
from core.models import (
    DirectoryLink,
    DirectoryPreviewRow,
    DirectoryProvider,
    Number,
    NumberState,
    Subscriber,
    SubscriberSource,
    SubscriberStatus,
    Tenant,
    utcnow,
)
from core.secrets import SecretBox
from core.sip_credentials import digests, generate_sip_password
from sync.directory import DirectoryAdapter, DirectoryUser, Page, UserState
from sync.mapping import (
    DEFAULT_ALIAS_START,
    MAX_USERNAME,
    AliasAllocator,
    Defaults,
    caller_id,
    display_name,
    fingerprint,
    free_username,
    username_base,
)

log = logging.getLogger(__name__)

Progress = Callable[..., None]
SOURCE = {DirectoryProvider.GOOGLE: SubscriberSource.GOOGLE,
          DirectoryProvider.MICROSOFT: SubscriberSource.MICROSOFT}
# Counters every re-sync reports, in this order.
COUNTERS = ("created", "updated", "disabled", "reenabled", "removed", "unchanged", "conflicts",
            "errors", "over_limit")


class Synced(NamedTuple):
    """What a re-sync keeps of one synced subscriber."""

    id: uuid.UUID
    fingerprint: str | None
    status: SubscriberStatus
    deleted: bool
    username: str
    email: str


@dataclass
class TenantView:
    """What the engine knows of a tenant during one run, read as it is needed.

    A round of changes only (Microsoft's delta) reads the subscribers of the
    users it sees, page by page, and what making subscribers needs (usernames,
    extensions, hand-made subscribers' e-mails) a page at a time, for just the
    new users of the page: its cost follows the changes, not the size of the
    directory. Discovery, import and a full round read the whole tenant once.
    """

    tenant: Tenant
    link: DirectoryLink
    # Where the extension sequence goes on (see DirectoryLink.alias_next).
    alias_position: int
    rejects: list[re.Pattern[str]]
    synced: dict[str, Synced] = field(default_factory=dict)
    # Directory users an administrator dropped from the preview: never imported.
    excluded: frozenset[str] = frozenset()
    _usernames: set[str] | None = None
    _aliases: AliasAllocator | None = None
    _manual_by_email: dict[str, uuid.UUID] | None = None
    _numbers: frozenset[str] | None = None
    _everyone: bool = False
    # For a full listing: every synced subscriber's fingerprint and whether its user was
    # deleted, by external id; an unchanged user needs nothing more.
    listed: dict[str, tuple[str | None, bool]] | None = None
    # Reading lazily: the usernames asked about and those found taken (or claimed),
    # the hand-made subscribers' e-mails asked about, the extensions' window.
    _asked_usernames: set[str] = field(default_factory=set)
    _taken_usernames: set[str] = field(default_factory=set)
    _asked_manual: dict[str, uuid.UUID | None] = field(default_factory=dict)
    _window: AliasAllocator | None = None
    _window_end: str | None = None

    @property
    def source(self) -> SubscriberSource:
        return SOURCE[self.link.provider]

    # The whole-tenant and per-page reads below run as Core statements on the session's
    # connection: plain columns need none of the ORM's per-row work, and there are many.

    def _synced_rows(self, session: Session, *conditions: Any) -> None:
        rows = session.connection().execute(select(
            col(Subscriber.external_id), col(Subscriber.id), col(Subscriber.sync_fingerprint),
            col(Subscriber.status), col(Subscriber.directory_deleted_at).is_not(None),
            col(Subscriber.username), col(Subscriber.email)).where(
            col(Subscriber.tenant_id) == self.tenant.id, col(Subscriber.source) == self.source,
            *conditions))
        for external_id, *values in rows:
            assert external_id is not None  # every caller's condition requires one
            self.synced[external_id] = Synced._make(values)

    def know(self, session: Session, external_ids: list[str]) -> None:
        """Read the synced subscribers of these directory users (those not read yet)."""
        if self._everyone:
            return
        wanted = [external_id for external_id in external_ids if external_id not in self.synced]
        for start in range(0, len(wanted), LOOKUP_BATCH):
            self._synced_rows(session, one_of(session, Subscriber.external_id,
                                              wanted[start:start + LOOKUP_BATCH]))

    def know_everyone(self, session: Session) -> None:
        if not self._everyone:
            self._synced_rows(session, col(Subscriber.external_id).is_not(None))
            self._everyone = True

    def know_fingerprints(self, session: Session) -> None:
        if self.listed is None:
            rows = session.connection().execute(select(
                col(Subscriber.external_id), col(Subscriber.sync_fingerprint),
                col(Subscriber.directory_deleted_at).is_not(None)).where(
                col(Subscriber.tenant_id) == self.tenant.id, col(Subscriber.source) == self.source,
                col(Subscriber.external_id).is_not(None)))
            self.listed = {}
            for external_id, known, deleted in rows:
                assert external_id is not None  # the condition above requires one
                self.listed[external_id] = (known, deleted)

    def creating(self, session: Session) -> tuple[set[str], AliasAllocator, dict[str, uuid.UUID]]:
        """Usernames and extensions in use, and hand-made subscribers by e-mail."""
        if self._usernames is None:
            usernames: set[str] = set()
            aliases: list[str] = []
            manual: dict[str, uuid.UUID] = {}
            for row in session.connection().execute(select(
                    col(Subscriber.id), col(Subscriber.username), col(Subscriber.alias),
                    col(Subscriber.email),
                    col(Subscriber.source)).where(col(Subscriber.tenant_id) == self.tenant.id)):
                usernames.add(row.username)
                if row.alias:
                    aliases.append(row.alias)
                if row.source is SubscriberSource.MANUAL and row.email:
                    manual[row.email.lower()] = row.id
            self._usernames, self._manual_by_email = usernames, manual
            self._aliases = AliasAllocator(self.alias_position, aliases, self.rejects)
        assert self._aliases is not None
        assert self._manual_by_email is not None
        return self._usernames, self._aliases, self._manual_by_email

    def numbers(self, session: Session) -> frozenset[str]:
        if self._numbers is None:
            self._numbers = frozenset(session.execute(select(col(Number.e164)).where(
                col(Number.tenant_id) == self.tenant.id,
                col(Number.state) == NumberState.ASSIGNED)).scalars())
        return self._numbers

    # Making subscribers: from the sets when the whole tenant was read, else by asking
    # the database about just the candidates, a page's new users at a time.

    def prepare(self, session: Session, newcomers: list[DirectoryUser]) -> None:
        """Ask in a few queries what making these users' subscribers needs to know."""
        if self._usernames is not None or not newcomers:
            return
        self._ask_usernames(session, [username_base(user.email, user.external_id)
                                      for user in newcomers])
        self._ask_manual(session, [user.email.lower() for user in newcomers if user.email])
        self._alias_window(session, len(newcomers))

    def _ask_manual(self, session: Session, emails: list[str]) -> None:
        unknown = list(set(emails) - self._asked_manual.keys())
        self._asked_manual.update(dict.fromkeys(unknown))
        for start in range(0, len(unknown), LOOKUP_BATCH):
            self._asked_manual.update(session.execute(select(
                func.lower(Subscriber.email), col(Subscriber.id)).where(
                col(Subscriber.tenant_id) == self.tenant.id,
                col(Subscriber.source) == SubscriberSource.MANUAL,
                one_of(session, func.lower(Subscriber.email),
                       unknown[start:start + LOOKUP_BATCH]))).all())

    def _ask_usernames(self, session: Session, names: list[str]) -> None:
        unknown = list(set(names) - self._asked_usernames)
        self._asked_usernames.update(unknown)
        for start in range(0, len(unknown), LOOKUP_BATCH):
            batch = unknown[start:start + LOOKUP_BATCH]
            self._taken_usernames.update(session.execute(select(col(Subscriber.username)).where(
                col(Subscriber.tenant_id) == self.tenant.id,
                one_of(session, Subscriber.username, batch))).scalars())

    def username_for(self, session: Session, base: str) -> str:
        if self._usernames is not None:
            username = free_username(base, self._usernames)
            self._usernames.add(username)
            return username
        first = 2
        candidates = [base]
        while True:
            self._ask_usernames(session, candidates)
            found = next((name for name in candidates if name not in self._taken_usernames),
                         None)
            if found is not None:
                self._taken_usernames.add(found)
                return found
            # base2, base3...: the same order as free_username's.
            candidates = [base[:MAX_USERNAME - len(str(number))] + str(number)
                          for number in range(first, first + USERNAME_CANDIDATES)]
            first += USERNAME_CANDIDATES

    def _alias_window(self, session: Session, wanted: int) -> AliasAllocator:
        """The allocator of a lazy view, told which of the next candidates are held."""
        if self._window is None:
            self._window = AliasAllocator(self.alias_position, (), self.rejects)
        upcoming = self._window.upcoming(max(ALIAS_WINDOW, wanted))
        for start in range(0, len(upcoming), LOOKUP_BATCH):
            batch = upcoming[start:start + LOOKUP_BATCH]
            for alias in session.execute(select(col(Subscriber.alias)).where(
                    col(Subscriber.tenant_id) == self.tenant.id,
                    one_of(session, Subscriber.alias, batch))).scalars():
                self._window.take(alias)
        self._window_end = upcoming[-1] if upcoming else None
        return self._window

    def next_alias(self, session: Session) -> str | None:
        if self._aliases is not None:
            return self._aliases.next()
        while True:
            window = self._window or self._alias_window(session, ALIAS_WINDOW)
            if self._window_end is None:
                return None  # no extension numbers left at all
            alias = window.next(limit=self._window_end)
            if alias is not None:
                return alias
            self._alias_window(session, ALIAS_WINDOW)

    def next_position(self) -> int:
        """Where the extension sequence stands after this run's allocations."""
        allocator = self._aliases or self._window
        return allocator.position if allocator is not None else self.alias_position

    def manual_with_email(self, session: Session, email: str) -> uuid.UUID | None:
        key = email.lower()
        if self._manual_by_email is not None:
            return self._manual_by_email.get(key)
        self._ask_manual(session, [key])
        return self._asked_manual[key]


USERNAME_CANDIDATES = 20
HAND_MADE_CONFLICT = ("a subscriber created by hand has this e-mail address: link it, import "
                      "this user separately, or exclude the user")
ALIAS_WINDOW = 50
LOOKUP_BATCH = 1000


def _rejects(session: Session, tenant: Tenant) -> list[re.Pattern[str]]:
    if tenant.dial_plan_id is None:
        return []
    return [check_rule(rule).match for rule in ordered_rules(session, tenant.dial_plan_id)]


def load_view(session: Session, link: DirectoryLink, *, alias_start: int | None = None,
              everything: bool = True) -> TenantView:
    tenant = session.get(Tenant, link.tenant_id)
    assert tenant is not None  # the link is deleted with its tenant
    start = alias_start if alias_start is not None else (link.alias_start or DEFAULT_ALIAS_START)
    excluded = frozenset(session.execute(select(col(DirectoryPreviewRow.external_id)).where(
        col(DirectoryPreviewRow.link_id) == link.id,
        col(DirectoryPreviewRow.excluded))).scalars())  # the partial index
    view = TenantView(tenant=tenant, link=link, alias_position=max(start, link.alias_next or 0),
                      rejects=_rejects(session, tenant), excluded=excluded)
    if everything:
        view.know_everyone(session)
        view.creating(session)
        view.numbers(session)
    return view


def _save_position(session: Session, view: TenantView, position: int) -> None:
    """Keep where the extension sequence stands, when it moved forward, unless an
    extension was freed below it meanwhile (the stored position went back): the next
    run starts from the freed one."""
    known = view.link.alias_next
    if position > (known or view.alias_position):
        not_moved_back = (col(DirectoryLink.alias_next).is_(None) if known is None
                          else col(DirectoryLink.alias_next) >= known)
        session.execute(update(DirectoryLink).where(col(DirectoryLink.id) == view.link.id,
                                                    not_moved_back)
                        .values(alias_next=position))
        view.link.alias_next = position


# Making subscribers ---------------------------------------------------------------------------


@dataclass
class NewSubscriber:
    """Everything a subscriber row needs, before its credentials are made."""

    username: str
    email: str
    display_name: str
    alias: str | None
    caller_id: str | None
    external_id: str
    fingerprint: str


class SubscriberFactory:
    """Rows for bulk insertion: one model's defaults, then each subscriber's values."""

    def __init__(self, view: TenantView, box: SecretBox, defaults: Defaults) -> None:
        self.view, self.box, self.defaults = view, box, defaults
        # Placeholders, each replaced in row(); the model fills in every other default.
        self._template = Subscriber(
            tenant_id=view.tenant.id, username="-", sip_password_encrypted="-",  # noqa: S106
            ha1="-", ha1b="-", country_code=defaults.country_code).model_dump()

    def row(self, new: NewSubscriber) -> dict[str, Any]:
        password = generate_sip_password()
        ha1, ha1b = digests(new.username, self.view.tenant.domain, password)
        now = utcnow()
        return self._template | {
            "id": uuid.uuid4(), "created_at": now, "updated_at": now,
            "username": new.username, "email": new.email, "display_name": new.display_name,
            "sip_password_encrypted": self.box.encrypt(password), "ha1": ha1, "ha1b": ha1b,
            "country_code": self.defaults.country_code, "area_code": self.defaults.area_code,
            "security_group_id": self.defaults.security_group_id,
            "concurrent_calls": self.defaults.concurrent_calls,
            "ring_timeout": self.defaults.ring_timeout,
            "voicemail_to_email": self.defaults.voicemail_to_email,
            "alias": new.alias, "caller_id": new.caller_id, "source": self.view.source,
            "external_id": new.external_id, "sync_fingerprint": new.fingerprint,
        }


@dataclass
class Proposal:
    """The subscriber a new directory user becomes, and what is worth a second look."""

    new: NewSubscriber
    conflicts: list[str]
    # A subscriber created by hand with the user's e-mail: the administrator may link it.
    manual_id: uuid.UUID | None


def _propose(session: Session, view: TenantView, users: list[DirectoryUser]) -> list[Proposal]:
    """Proposals for new directory users, in their order (one page's at a time)."""
    view.prepare(session, users)
    return [_proposal(session, view, user) for user in users]


def _proposal(session: Session, view: TenantView, user: DirectoryUser) -> Proposal:
    conflicts: list[str] = []
    base = username_base(user.email, user.external_id)
    username = view.username_for(session, base)
    if username != base:
        conflicts.append(f"the username {base} is taken: {username} instead")
    alias = view.next_alias(session)
    if alias is None:
        conflicts.append("no free extension number is left")
    manual_id = view.manual_with_email(session, user.email) if user.email else None
    if manual_id is not None:
        conflicts.append(HAND_MADE_CONFLICT)
    number = caller_id(user.phones, view.numbers(session)) if user.phones else None
    return Proposal(NewSubscriber(username=username, email=user.email,
                                  display_name=display_name(user), alias=alias,
                                  caller_id=number, external_id=user.external_id,
                                  fingerprint=fingerprint(user)), conflicts, manual_id)


# Discovery: the preview ---------------------------------------------------------------------


def discover(engine: Engine, link_id: uuid.UUID, adapter: DirectoryAdapter, *,
             alias_start: int, progress: Progress) -> dict[str, int]:
    """List the directory into the link's preview (replacing any earlier preview)."""
    with session_scope(engine) as writing:
        writing.execute(delete(DirectoryPreviewRow)
                        .where(col(DirectoryPreviewRow.link_id) == link_id))
        link = writing.get(DirectoryLink, link_id)
        assert link is not None
        view = load_view(writing, link, alias_start=alias_start)
        room = subscriber_room(writing, view.tenant.customer_id).left
    # "fit": how many of the proposed users the customer's maximum leaves room for.
    counters = {"proposed": 0, "already_synced": 0, "inactive": 0, "conflicts": 0, "fit": 0}
    position = 0
    rows: list[dict[str, Any]] = []  # written a few thousand at a time
    next_round: str | None = None
    with Session(engine) as session:  # reads only, for the view's lazy parts
        for page in adapter.pages(resume=None, state=None):
            next_round = page.next_round if page.complete else None
            newcomers: list[DirectoryUser] = []
            for user in page.users:
                if user.external_id in view.synced:
                    counters["already_synced"] += 1
                elif user.state is not UserState.ACTIVE:
                    counters["inactive"] += 1
                else:
                    newcomers.append(user)
            for user, proposal in zip(newcomers, _propose(session, view, newcomers), strict=True):
                counters["proposed"] += 1
                counters["fit"] = min(counters["proposed"], room)
                counters["conflicts"] += bool(proposal.conflicts)
                rows.append(_preview_row(link_id, position, user, proposal))
                position += 1
            if len(rows) >= PREVIEW_BATCH:
                _write_preview(engine, rows)
                rows = []
            progress(position, **counters)
    _write_preview(engine, rows)
    with session_scope(engine) as session:
        session.execute(update(DirectoryLink).where(col(DirectoryLink.id) == link_id)
                        .values(discovered_state=next_round))
    return counters


PREVIEW_BATCH = 5000


def _write_preview(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with session_scope(engine) as session:
        insert_rows(session, DirectoryPreviewRow, rows)


def _preview_row(link_id: uuid.UUID, position: int, user: DirectoryUser,
                 proposal: Proposal) -> dict[str, Any]:
    new, now = proposal.new, utcnow()
    return {"id": uuid.uuid4(), "created_at": now, "updated_at": now, "link_id": link_id,
            "position": position, "external_id": new.external_id, "email": new.email,
            "display_name": new.display_name, "department": user.department[:200],
            "username": new.username, "alias": new.alias, "caller_id": new.caller_id,
            "excluded": False, "conflicts": proposal.conflicts,
            # Only an administrator decides what becomes of a hand-made subscriber: the
            # match is shown, never taken for a choice (link_subscriber_id stays empty).
            "link_subscriber_id": None, "hand_made_id": proposal.manual_id,
            "import_separately": False, "fingerprint": new.fingerprint}


# Import: the preview becomes subscribers ----------------------------------------------------


@dataclass
class ImportOutcome:
    created: list[uuid.UUID] = field(default_factory=list)
    linked: list[uuid.UUID] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Users not created because the customer's maximum was reached meanwhile (the
    # confirmation checked it; hand-made subscribers may have been added since).
    over_limit: int = 0


IMPORT_BATCH = 5000
ANALYZE_AFTER_ROWS = 1000


_PREVIEW_COLUMNS = (col(DirectoryPreviewRow.position), col(DirectoryPreviewRow.external_id),
                    col(DirectoryPreviewRow.email), col(DirectoryPreviewRow.display_name),
                    col(DirectoryPreviewRow.username), col(DirectoryPreviewRow.alias),
                    col(DirectoryPreviewRow.caller_id),
                    col(DirectoryPreviewRow.link_subscriber_id),
                    col(DirectoryPreviewRow.import_separately),
                    col(DirectoryPreviewRow.fingerprint))


def _preview_batches(engine: Engine, link_id: uuid.UUID) -> Iterator[Sequence[Any]]:
    """The rows kept, in order, a batch at a time (plain rows read without the ORM:
    there are many)."""
    last = -1
    while True:
        with engine.connect() as connection:
            batch = connection.execute(
                select(*_PREVIEW_COLUMNS).where(col(DirectoryPreviewRow.link_id) == link_id,
                                                col(DirectoryPreviewRow.position) > last,
                                                col(DirectoryPreviewRow.excluded).is_(False))
                .order_by(col(DirectoryPreviewRow.position)).limit(IMPORT_BATCH)).all()
        if not batch:
            return
        yield batch
        last = batch[-1].position


def import_preview(engine: Engine, box: SecretBox, link_id: uuid.UUID, *,
                   progress: Progress) -> ImportOutcome:
    """Create (or link) a subscriber for each preview row kept; idempotent if run again."""
    outcome = ImportOutcome()
    with Session(engine) as session:
        link = session.get(DirectoryLink, link_id)
        assert link is not None
        view = load_view(session, link)
        defaults = Defaults.from_json(link.mapping_defaults, view.tenant.default_country_code)
    factory = SubscriberFactory(view, box, defaults)
    with Session(engine) as session:
        usernames, aliases, manual = view.creating(session)
        numbers = view.numbers(session)
    done = 0
    analyze_after = False
    for batch in _preview_batches(engine, link_id):
        rows: list[dict[str, Any]] = []
        linked: list[Any] = []
        for preview in batch:
            if preview.external_id in view.synced:
                continue  # imported by an earlier attempt of this job
            if preview.link_subscriber_id is not None:
                linked.append(preview)
                continue
            problem = _import_problem(usernames, aliases, manual, preview)
            if problem:
                outcome.errors.append(f"{preview.email or preview.external_id}: {problem}")
                continue
            usernames.add(preview.username)
            if preview.alias:
                aliases.take(preview.alias)
            rows.append(factory.row(NewSubscriber(
                username=preview.username, email=preview.email,
                display_name=preview.display_name, alias=preview.alias,
                caller_id=preview.caller_id if preview.caller_id in numbers else None,
                external_id=preview.external_id, fingerprint=preview.fingerprint)))
        with session_scope(engine) as session:
            for preview in linked:
                _link_manual(session, view, preview)
            room = subscriber_room(session, view.tenant.customer_id)
            if len(rows) > room.left:
                outcome.over_limit += len(rows) - room.left
                outcome.errors.extend(f"{row['email'] or row['external_id']}: "
                                      f"{room.refusal(1)}" for row in rows[room.left:])
                rows = rows[:room.left]
            insert_rows(session, Subscriber, rows)
        outcome.linked.extend(preview.link_subscriber_id for preview in linked)
        outcome.created.extend(row["id"] for row in rows)
        analyze_after = analyze_after or len(outcome.created) >= ANALYZE_AFTER_ROWS
        for row in rows:
            view.synced[row["external_id"]] = Synced(row["id"], row["sync_fingerprint"],
                                                     SubscriberStatus.ACTIVE, False,
                                                     row["username"], row["email"])
        for preview in linked:
            view.synced[preview.external_id] = Synced(
                preview.link_subscriber_id, preview.fingerprint, SubscriberStatus.ACTIVE,
                False, "", preview.email)
        done += len(batch)
        progress(done, created=len(outcome.created), linked=len(outcome.linked),
                 errors=len(outcome.errors))
    with session_scope(engine) as session:
        # New users after the import get the next free extensions from here on.
        _save_position(session, view, aliases.first_free())
    if analyze_after and engine.dialect.name == "postgresql":
        # Thousands of new rows: the planner's statistics would describe the tenant
        # before the import until autovacuum comes by; the next sync needs them now.
        with engine.connect() as connection:
            connection.execute(text("ANALYZE subscriber (tenant_id, source, external_id, username, "
                                    "alias, email)"))
            connection.commit()
    return outcome


def imported_subscribers(engine: Engine, link_id: uuid.UUID) -> ImportOutcome:
    """Every subscriber the link's import made (created or linked), whichever attempt of the
    job wrote it: the preview's kept rows that have their subscriber now."""
    outcome = ImportOutcome()
    with Session(engine) as session:
        link = session.get(DirectoryLink, link_id)
        assert link is not None
        tenant_id, source = link.tenant_id, SOURCE[link.provider]
        rows = session.connection().execute(
            select(col(Subscriber.id), col(DirectoryPreviewRow.link_subscriber_id))
            .join(Subscriber, (col(Subscriber.tenant_id) == tenant_id)
                  & (Subscriber.source == source)
                  & (Subscriber.external_id == DirectoryPreviewRow.external_id))
            .where(col(DirectoryPreviewRow.link_id) == link_id,
                   col(DirectoryPreviewRow.excluded).is_(False))
            .order_by(col(DirectoryPreviewRow.position)))
        for subscriber_id, linked in rows:
            (outcome.linked if linked is not None else outcome.created).append(subscriber_id)
    return outcome


def _import_problem(usernames: set[str], aliases: AliasAllocator,
                    manual: dict[str, uuid.UUID], preview: Any) -> str | None:
    if not preview.import_separately and preview.email and preview.email.lower() in manual:
        # Also a hand-made subscriber given this e-mail after discovery: never taken over,
        # never doubled, without an administrator's decision.
        return ("a subscriber created by hand has this e-mail address: link it, import "
                "separately or exclude (directoryPreviewUpdate)")
    if preview.username in usernames:
        return f"the username {preview.username} is taken"
    if preview.alias is not None and not aliases.allowed(preview.alias):
        return f"the extension {preview.alias} is taken or matched by the dial plan"
    return None


def _link_manual(session: Session, view: TenantView, preview: Any) -> None:
    """An administrator chose to hand a subscriber created by hand over to the directory."""
    session.execute(update(Subscriber).where(
        Subscriber.id == preview.link_subscriber_id, col(Subscriber.tenant_id) == view.tenant.id,
        col(Subscriber.source) == SubscriberSource.MANUAL)
        .values(source=view.source, external_id=preview.external_id,
                sync_fingerprint=preview.fingerprint, email=preview.email or Subscriber.email,
                updated_at=utcnow()))


# Re-sync ------------------------------------------------------------------------------------


@dataclass
class SyncOutcome:
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    # Some of the users left out for the customer's maximum (counted in over_limit).
    over_limit_users: list[str] = field(default_factory=list)
    over_limit_message: str = ""
    held: list[Action] = field(default_factory=list)  # set when the brake stopped the run
    next_round: str | None = None
    complete: bool = False
    seen: int = 0


class Checkpoint:
    """Where an interrupted round resumes: saved with each committed write.

    ``counters`` are the round's counts so far (those of the earlier attempts when
    resuming), kept with the checkpoint so that a resumed round reports all of it.
    ``save_in``, when given, saves in the transaction of the write it follows (the
    page's changes and where to resume commit together, at no extra commit); ``save``
    alone is called after the commit.
    """

    def __init__(self, resume: str | None, save: Callable[[str | None], None],
                 counters: dict[str, int] | None = None, *,
                 save_in: Callable[[Session, str | None], None] | None = None) -> None:
        self.resume = resume
        self._save = save
        self._save_in = save_in
        self.counters = dict(counters or {})

    def save(self, resume: str | None) -> None:
        self._save(resume)

    def save_with(self, session: Session, resume: str | None) -> bool:
        """Save in ``session``'s transaction when it can: whether it did."""
        if self._save_in is None:
            return False
        self._save_in(session, resume)
        return True


# What the caller writes in the transaction that ends a round (the link's next deltaLink,
# say, or the job's end), so that the round's end is one commit: a crash leaves all of it
# or none. It runs last in that transaction, after the checkpoint is saved.
RoundEnd = Callable[[Session, "SyncOutcome"], None]


def _no_round_end(_session: Session, _outcome: SyncOutcome) -> None:
    """Nothing to add to the round's last transaction."""


# Builds the round's adapter from the link and its tenant, which the round reads anyway.
AdapterFor = Callable[[Session, DirectoryLink, Tenant], DirectoryAdapter]


class LinkRemovedError(LookupError):
    """The directory link is gone (unlinked, its tenant deleted): there is no round."""


def resync(engine: Engine, box: SecretBox, link_id: uuid.UUID,
           adapter: DirectoryAdapter | AdapterFor, *, checkpoint: Checkpoint,
           progress: Progress, round_end: RoundEnd = _no_round_end) -> SyncOutcome:
    """One round: apply additions and updates page by page, then the brake decides.

    ``adapter``: the directory, or what builds it (in the session that reads the link);
    ``round_end`` runs in the round's last transaction, after the brake decided."""
    with Session(engine) as session:  # every read before the listing, on one connection
        link = session.get(DirectoryLink, link_id)
        if link is None:
            raise LinkRemovedError(f"the directory link {link_id} was removed")
        view = load_view(session, link, everything=False)
        directory = (adapter if isinstance(adapter, DirectoryAdapter)
                     else adapter(session, link, view.tenant))
        defaults = Defaults.from_json(link.mapping_defaults, view.tenant.default_country_code)
        state = link.sync_state
        if state is None or link.provider is DirectoryProvider.GOOGLE:
            # A full listing is coming: one read of every synced subscriber's fingerprint
            # beats a lookup per page, and tells the unchanged users (most of them) apart.
            view.know_fingerprints(session)
    factory = SubscriberFactory(view, box, defaults)
    outcome = SyncOutcome()
    if checkpoint.resume is not None:
        outcome.counters.update(checkpoint.counters)
    checkpoint.counters = outcome.counters
    actions: dict[uuid.UUID, Action] = {}
    seen: set[str] = set()
    resumed = checkpoint.resume is not None
    last: Page | None = None
    finished = False
    pending = _Pending(directory.pages_per_write)
    for page in directory.pages(resume=checkpoint.resume, state=state):
        current = {user.external_id: fingerprint(user) for user in page.users}
        seen.update(current)
        pending.add(_changed(view, page.users, current, outcome.counters), current)
        saved = False
        if page.complete and resumed and page.full:
            # A resumed full listing saw only its last part: who is gone from the directory
            # is known once the users of the earlier part are listed again.
            with session_scope(engine) as session:
                _follow_users(session, view, factory, pending, outcome, actions)
            seen.update(_listed_again(directory, state))
            with session_scope(engine) as session:
                _finish(session, view, page, seen, outcome, actions)
                saved = checkpoint.save_with(session, page.resume)
                round_end(session, outcome)  # last: it may end the job (see RoundEnd)
            finished = True
            pending = _Pending(directory.pages_per_write)
        elif page.complete:
            # The last changes, the round's disables and removals and the caller's end of
            # the round: one transaction.
            with session_scope(engine) as session:
                _follow_users(session, view, factory, pending, outcome, actions)
                _finish(session, view, page, seen, outcome, actions)
                saved = checkpoint.save_with(session, page.resume)
                round_end(session, outcome)  # last: it may end the job (see RoundEnd)
            finished = True
            pending = _Pending(directory.pages_per_write)
        elif pending.full(page.full):
            with session_scope(engine) as session:
                _follow_users(session, view, factory, pending, outcome, actions)
                saved = checkpoint.save_with(session, page.resume)
            pending = _Pending(directory.pages_per_write)
        if not pending.users and not saved:  # everything listed so far is written
            checkpoint.save(page.resume)
        progress(len(seen), **outcome.counters)
        last = page
    if not finished:
        with session_scope(engine) as session:
            _finish(session, view, last, seen, outcome, actions)
            round_end(session, outcome)
    return outcome


def _listed_again(adapter: DirectoryAdapter, state: str | None) -> set[str]:
    """The ids of a whole new listing from the start (changes are left to the next round:
    the earlier attempt followed these users already)."""
    listed: set[str] = set()
    for page in adapter.pages(resume=None, state=state):
        listed.update(user.external_id for user in page.users)
    return listed


def _finish(session: Session, view: TenantView, last: Page | None, seen: set[str],
            outcome: SyncOutcome, actions: dict[uuid.UUID, Action]) -> None:
    """The end of a round: who a full listing left out, then the brake decides whether the
    round's disables and removals are applied or held. ``seen`` holds every user of the
    directory when the last page completes a full listing (see resync)."""
    if last is not None and last.complete and last.full:
        # Whoever the full listing left out is no longer in the directory (or in scope).
        view.know_fingerprints(session)
        assert view.listed is not None
        gone = [external_id for external_id, (_, deleted) in view.listed.items()
                if external_id not in seen and not deleted]
        view.know(session, gone)
        for external_id in gone:
            row = view.synced.get(external_id)
            if row is not None:  # else removed meanwhile (its grace period ended)
                actions[row.id] = Action(row.id, DELETE, row.username, row.email)
    outcome.seen = len(seen)
    outcome.complete = last is not None and last.complete
    outcome.next_round = last.next_round if last is not None else None
    _save_position(session, view, view.next_position())
    if _brake(session, view, len(actions), outcome.counters["created"]):
        # Names and e-mails follow the directory anyway; the disables wait.
        update_rows(session, Subscriber, [action.values for action in actions.values()
                                          if action.values], optional=_SET_WHEN_CHANGED)
        outcome.held = list(actions.values())
    else:
        apply_actions(session, actions.values(), outcome.counters)


def _changed(view: TenantView, users: list[DirectoryUser], current: dict[str, str],
             counters: dict[str, int]) -> list[DirectoryUser]:
    """The users of a page that need a closer look (all of them, unless a full listing's
    fingerprints tell the unchanged ones, which are counted)."""
    if view.listed is None:
        return users
    changed = []
    for user in users:
        known = view.listed.get(user.external_id)
        if known is not None and known[0] == current[user.external_id]:
            counters["unchanged"] += 1
        else:
            changed.append(user)
    return changed


OVER_LIMIT_NAMED = 5

# Columns an update sets only when the directory's value changed (see _follow).
_SET_WHEN_CHANGED = frozenset({"email", "display_name", "caller_id"})

# However many pages the adapter allows between writes, this many changed users are
# written at once. A round of changes (Microsoft's delta) is written by this count alone:
# its pages hold nothing but changes, so the pages of a round of a few hundred changes
# (three or four of Graph's) share one transaction and its fixed cost (the lookups of
# the page's users, the customer's room, the routing export's request, a commit) rather
# than paying it per page. A crash then lists again at most this many changed users.
FLUSH_USERS = 500


@dataclass
class _Pending:
    """The changed users of the pages listed since the last write."""

    pages_per_write: int
    users: dict[str, DirectoryUser] = field(default_factory=dict)
    current: dict[str, str] = field(default_factory=dict)
    pages: int = 0

    def add(self, users: list[DirectoryUser], current: dict[str, str]) -> None:
        for user in users:  # a user listed twice is followed once, as last listed
            self.users[user.external_id] = user
            self.current[user.external_id] = current[user.external_id]
        self.pages += 1

    def full(self, listing: bool) -> bool:
        """Time to write, after a page of a full ``listing`` or of a round of changes."""
        return len(self.users) >= FLUSH_USERS or (listing and self.pages >= self.pages_per_write)


def _follow_users(session: Session, view: TenantView, factory: SubscriberFactory,
                  pending: _Pending, outcome: SyncOutcome,
                  actions: dict[uuid.UUID, Action]) -> None:
    """Follow changed users: updates and new subscribers written, disables noted."""
    view.know(session, list(pending.users))
    changes = _PageChanges()
    newcomers = [user for external_id, user in pending.users.items()
                 if _follow(session, view, user, pending.current[external_id], outcome,
                            actions, changes)]
    if newcomers:
        # The customer's maximum: the users beyond it get no subscriber (and no extension)
        # in this round; they are new again in the next one.
        room = subscriber_room(session, view.tenant.customer_id)
        if len(newcomers) > room.left:
            left_out = newcomers[room.left:]
            newcomers = newcomers[:room.left]
            outcome.counters["over_limit"] += len(left_out)
            outcome.over_limit_message = room.refusal(len(left_out))
            outcome.over_limit_users.extend(user.email or user.external_id
                                            for user in left_out[:OVER_LIMIT_NAMED])
            del outcome.over_limit_users[OVER_LIMIT_NAMED:]
    for proposal in _propose(session, view, newcomers):
        changes.create(view, factory, proposal, outcome.counters)
    changes.write(session)


@dataclass
class _PageChanges:
    """New subscribers and updates, written with one statement each."""

    created: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)

    def create(self, view: TenantView, factory: SubscriberFactory, proposal: Proposal,
               counters: dict[str, int]) -> None:
        row = factory.row(proposal.new)
        self.created.append(row)
        view.synced[proposal.new.external_id] = Synced(row["id"], proposal.new.fingerprint,
                                                       SubscriberStatus.ACTIVE, False,
                                                       proposal.new.username, proposal.new.email)
        counters["created"] += 1
        counters["conflicts"] += bool(proposal.conflicts)

    def write(self, session: Session) -> None:
        insert_rows(session, Subscriber, self.created)
        # Updates that set different ones of the optional columns still go together.
        update_rows(session, Subscriber, self.updated, optional=_SET_WHEN_CHANGED)


def _brake(session: Session, view: TenantView, changes: int, created: int) -> bool:
    """Would these disables and removals touch more than the link's share of the synced
    subscribers (those there before this round)?"""
    if changes == 0:
        return False
    percent = view.link.brake_percent
    if percent <= 0:
        return True
    # Counting up to the number that makes the share acceptable is enough: a round of a
    # few changes does not count a large tenant's subscribers.
    enough = -(-changes * 100 // percent)
    counted = session.execute(select(func.count()).select_from(
        select(col(Subscriber.id)).where(
            col(Subscriber.tenant_id) == view.tenant.id, col(Subscriber.source) == view.source,
            col(Subscriber.directory_deleted_at).is_(None))
        .limit(enough + created).subquery())).scalar_one()
    return changes * 100 > percent * (counted - created)


def _follow(session: Session, view: TenantView, user: DirectoryUser, current: str,
            outcome: SyncOutcome, actions: dict[uuid.UUID, Action],
            changes: _PageChanges) -> bool:
    """Bring one subscriber in line with one directory user (disables are only noted).

    True when the user is new and gets a subscriber: the page's newcomers are
    proposed together.
    """
    counters = outcome.counters
    known = view.synced.get(user.external_id)
    if known is None:
        return user.state is UserState.ACTIVE and user.external_id not in view.excluded
    if current == known.fingerprint:
        counters["unchanged"] += 1
        return False
    values: dict[str, Any] = {"id": known.id, "sync_fingerprint": current,
                              "updated_at": utcnow()}
    if user.email and user.email != known.email:
        values["email"] = user.email
    name = display_name(user)
    if name:
        values["display_name"] = name
    number = caller_id(user.phones, view.numbers(session)) if user.phones else None
    if number:
        values["caller_id"] = number
    deleted = user.state is UserState.DELETED
    if user.state is UserState.ACTIVE and (known.status is SubscriberStatus.DISABLED
                                           or known.deleted):
        values.update(status=SubscriberStatus.ACTIVE, disabled_at=None,
                      directory_deleted_at=None)
        counters["reenabled"] += 1
    elif user.state is not UserState.ACTIVE and (
            (not known.deleted) if deleted else known.status is SubscriberStatus.ACTIVE):
        # Counted when applied; the fingerprint is stored with the action, so that
        # until then (an interrupted or braked round) the change is still news. The
        # other values are written with it, in the same row update.
        del values["sync_fingerprint"]
        actions[known.id] = Action(known.id, DELETE if deleted else DISABLE,
                                   known.username, known.email, current, values)
        view.synced[user.external_id] = known._replace(fingerprint=current)
        return False
    else:
        counters["updated"] += 1
    changes.updated.append(values)
    view.synced[user.external_id] = known._replace(fingerprint=current)
    return False
