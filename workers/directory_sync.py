"""Directory sync in the background: discovery, import and re-sync jobs, and the schedule.

Each job builds the provider's adapter from the link's stored credentials and
hands it to the engine (``sync/engine.py``). A revoked consent fails the job
with CONSENT_REVOKED and marks the link, which stops its schedule until an
administrator consents again; a throttled or failing directory retries the job
later (never before its Retry-After). A re-sync saves its page checkpoint after
each page, so a retried job resumes where it stopped.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, TypeVar, cast

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from core.credentials import CredentialsFormat, start_export
from core.database import session_scope
from core.directory_actions import hold, remove_expired
from core.directory_links import (
    DISCOVER,
    IMPORT,
    STOP_CHANNELS,
    SYNC,
    credentials_of,
    held_job,
    new_channel_token,
    sync_domain,
)
from core.errors import ErrorCode
from core.jobs import (
    NeedsConfirmationError,
    PermanentJobError,
    TransientJobError,
    enqueue,
)
from core.models import (
    DirectoryLink,
    DirectoryLinkStatus,
    DirectoryPreviewRow,
    DirectoryProvider,
    DirectoryWatchChannel,
    Tenant,
    utcnow,
)
from core.secrets import SecretBox, secret_box
from core.viewer import AuthMethod, load_viewer
from sync import engine as sync_engine
from sync.adapters import adapter_for
from sync.directory import (
    ConsentRefusedError,
    ConsentRevokedError,
    DirectoryAdapter,
    DirectoryError,
    DirectoryUnavailableError,
)
from workers import context
from workers.jobs import JobRun, handles
from workers.registry import PERIODIC_TASKS, PeriodicTask

if TYPE_CHECKING:
    from sync.google.directory import GoogleDirectory

log = logging.getLogger(__name__)

# Where Google posts notifications (served by api/hooks.py).
GOOGLE_HOOK = "/hooks/google/directory"
T = TypeVar("T")

SCHEDULE_INTERVAL_SECONDS = 60
REMOVAL_INTERVAL_SECONDS = 3600
MAX_SHEET_SELECTION = 10_000


def _box() -> SecretBox:
    return secret_box(context.settings().secret_key_bytes())


def _adapter(link_id: uuid.UUID) -> DirectoryAdapter:
    with Session(context.engine()) as session:
        link = session.get(DirectoryLink, link_id)
        if link is None:
            raise PermanentJobError("NOT_FOUND", "the directory link was removed")
        tenant = session.get(Tenant, link.tenant_id)
        assert tenant is not None
        return _adapter_in(session, link, tenant)


def _adapter_in(session: Session, link: DirectoryLink, tenant: Tenant) -> DirectoryAdapter:
    """The link's adapter, from a link and tenant read already."""
    domain = sync_domain(session, tenant)
    return adapter_for(context.settings(), link, domain, credentials_of(_box(), link))


def _mark_link(link_id: uuid.UUID, status: DirectoryLinkStatus | None, code: str | None,
               message: str | None) -> None:
    with session_scope(context.engine()) as session:
        link = session.get(DirectoryLink, link_id)
        if link is not None:
            if status is not None:
                link.status = status
            link.last_error_code, link.last_error = code, (message or "")[:500] or None
            session.add(link)


@contextmanager
def _directory_errors(link_id: uuid.UUID) -> Iterator[None]:
    """The adapter's failures as job outcomes, and on the link for administrators to see."""
    try:
        yield
    except ConsentRevokedError as error:
        _mark_link(link_id, DirectoryLinkStatus.CONSENT_REVOKED, error.code, str(error))
        raise PermanentJobError(error.code, str(error)) from error
    except ConsentRefusedError as error:
        _mark_link(link_id, None, error.code, str(error))
        raise PermanentJobError(error.code, str(error)) from error
    except DirectoryUnavailableError as error:
        _mark_link(link_id, None, error.code, str(error))
        raise TransientJobError(error.code, str(error), retry_after=error.retry_after) from error


# A progress report is a write (and a cancel check): at most this often. The engine calls
# back after every page; a round of 100 pages reported each one.
PROGRESS_SECONDS = 0.5


def _progress(job: JobRun) -> Callable[..., None]:
    """The engine's progress callback; the handler reports the final figures itself."""
    last = time.monotonic()

    def report(done: int, **counters: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_SECONDS:
            job.progress(done, **counters)
            last = now
        else:
            job.check()  # cancelled or out of time: no write needed to know
    return report


@handles(DISCOVER.kind)
def discover(job: JobRun) -> None:
    link_id = uuid.UUID(job.subject_id)
    with _directory_errors(link_id):
        adapter = _adapter(link_id)
        with Session(context.engine()) as session:
            link = session.get(DirectoryLink, link_id)
            alias_start = link.alias_start if link and link.alias_start else 1000
        counters = sync_engine.discover(context.engine(), link_id, adapter,
                                        alias_start=alias_start, progress=_progress(job))
    job.progress(counters["proposed"], **counters)
    _mark_link(link_id, None, None, None)


@handles(IMPORT.kind)
def import_users(job: JobRun) -> str | None:
    link_id = uuid.UUID(job.subject_id)
    outcome = sync_engine.import_preview(context.engine(), _box(), link_id,
                                         progress=_progress(job))
    # What the whole import made, whichever attempt wrote it: an attempt after a crash
    # finds most users imported already and creates only the rest.
    made = sync_engine.imported_subscribers(context.engine(), link_id)
    job.progress(len(made.created) + len(made.linked) + len(outcome.errors),
                 created=len(made.created), linked=len(made.linked),
                 errors=len(outcome.errors), over_limit=outcome.over_limit)
    with session_scope(context.engine()) as session:
        link = session.get(DirectoryLink, link_id)
        if link is None:
            raise PermanentJobError("NOT_FOUND", "the directory link was removed")
        first_import = link.status is not DirectoryLinkStatus.ACTIVE
        link.status = DirectoryLinkStatus.ACTIVE
        link.last_synced_at = utcnow()
        link.last_error_code = link.last_error = None
        if outcome.over_limit:
            link.last_error_code = ErrorCode.LIMIT_REACHED.value
            link.last_error = (f"{outcome.over_limit} users were not imported: the customer's "
                               "maximum of subscribers is reached")
        # The first round goes on from where discovery's listing ended (Microsoft's delta),
        # when every user it listed is accounted for: imported, excluded, or a subscriber
        # already. Otherwise (users skipped by errors or the customer's maximum, or a new
        # discovery of an active link) it lists everyone, so that nobody is missed.
        complete = first_import and not outcome.errors and not outcome.over_limit
        link.sync_state = link.discovered_state if complete else None
        link.discovered_state = None
        session.add(link)
        # The preview is used up: later users arrive by re-sync, with the same defaults.
        # The users an administrator dropped stay on it, so that no re-sync brings them in.
        session.execute(delete(DirectoryPreviewRow).where(
            col(DirectoryPreviewRow.link_id) == link_id,
            col(DirectoryPreviewRow.excluded).is_(False)))
        sheet = _credentials_sheet(session, job, link, made.created + made.linked)
    if outcome.errors:
        log.warning("directory import of link %s skipped %d users: %s", link_id,
                    len(outcome.errors), "; ".join(outcome.errors[:5]))
    return f"Job:{sheet}" if sheet else None  # the API shows it as the sheet job's id


def _credentials_sheet(session: Session, job: JobRun, link: DirectoryLink,
                       subscriber_ids: list[uuid.UUID]) -> uuid.UUID | None:
    """Queue the credentials sheet of the imported users for whoever confirmed the import."""
    requested_by = job.payload.get("requested_by")
    if not subscriber_ids or not requested_by:
        return None
    viewer = load_viewer(session, uuid.UUID(requested_by), auth_method=AuthMethod.SESSION)
    if viewer is None:
        return None
    selection = subscriber_ids if len(subscriber_ids) <= MAX_SHEET_SELECTION else None
    return start_export(session, viewer, link.tenant_id, CredentialsFormat.XLSX, selection).id


@handles(SYNC.kind)
def resync(job: JobRun) -> None:
    link_id = uuid.UUID(job.subject_id)

    def save_in(session: Session, resume: str | None) -> None:
        # A finished round's counts go with the job's end: none are kept for a next attempt.
        job.save_in(session, resume=resume,
                    counters=dict(checkpoint.counters) if resume is not None else {})

    checkpoint = sync_engine.Checkpoint(
        job.payload.get("resume"),
        lambda resume: job.save(resume=resume, counters=dict(checkpoint.counters)),
        counters=job.payload.get("counters"), save_in=save_in)
    with _directory_errors(link_id):
        try:
            # The adapter is built from the link and tenant the round reads anyway.
            outcome = sync_engine.resync(context.engine(), _box(), link_id, _adapter_in,
                                         checkpoint=checkpoint, progress=_progress(job),
                                         round_end=partial(_round_end, job, link_id))
        except sync_engine.LinkRemovedError as error:
            raise PermanentJobError("NOT_FOUND", "the directory link was removed") from error
    job.report(outcome.seen, **outcome.counters)  # with the disables and removals applied
    if outcome.held:
        raise NeedsConfirmationError(
            "NEEDS_CONFIRMATION", f"{len(outcome.held)} subscribers would be disabled or "
            f"removed, more than the link's brake allows: confirm or cancel",
            details=[f"{action.action} {action.username}" for action in outcome.held])


def _round_end(job: JobRun, link_id: uuid.UUID, session: Session,
               outcome: sync_engine.SyncOutcome) -> None:
    """The link's side of a round's end, in the round's last transaction (with its last
    changes, its disables and the cleared checkpoint): the next deltaLink is stored
    exactly when the changes it follows are, whatever crashes."""
    values: dict[str, object] = {"last_synced_at": utcnow(), "last_error_code": None,
                                 "last_error": None}
    over_limit = outcome.counters.get("over_limit", 0)
    if outcome.complete and not over_limit:
        values["sync_state"] = outcome.next_round
    # Else (Microsoft) the next round starts from the same deltaLink, so that the users
    # left out are new again there once the customer has room.
    if over_limit:
        why = outcome.over_limit_message or "the customer's maximum is reached"
        named = f" (e.g. {', '.join(outcome.over_limit_users)})" \
            if outcome.over_limit_users else ""
        values["last_error_code"] = ErrorCode.LIMIT_REACHED.value
        values["last_error"] = (f"{over_limit} new directory users got no subscriber: "
                                f"{why}{named}")[:500]
    updated = session.exec(update(DirectoryLink).where(col(DirectoryLink.id) == link_id)
                           .values(**values))
    if updated.rowcount == 1 and outcome.held:
        hold(session, link_id, job.id, outcome.held)
    elif not outcome.held:
        # The job ends with its round's last changes: one transaction less per round (a
        # delta round of a few changes is mostly fixed cost). A held round ends otherwise,
        # waiting for confirmation (see resync).
        job.end_in(session, outcome.seen, **outcome.counters)


# The schedule ------------------------------------------------------------------------------


def queue_due_syncs() -> None:
    """Queue a re-sync of every active link whose interval has passed."""
    now = utcnow()
    with session_scope(context.engine()) as session:
        links = session.exec(select(DirectoryLink).where(
            DirectoryLink.status == DirectoryLinkStatus.ACTIVE)).all()
        for link in links:
            due = link.last_synced_at is None or (
                link.last_synced_at + dt.timedelta(minutes=link.sync_interval_minutes) <= now)
            if due and held_job(session, link) is None:
                tenant = session.get(Tenant, link.tenant_id)
                assert tenant is not None
                enqueue(session, SYNC.kind, link.id, isp_id=tenant.isp_id, tenant_id=tenant.id)


def remove_deleted_users() -> None:
    with session_scope(context.engine()) as session:
        removed = remove_expired(session)
    if removed:
        log.info("removed %d subscribers whose directory users were deleted", removed)


PERIODIC_TASKS.append(PeriodicTask("directory.schedule", SCHEDULE_INTERVAL_SECONDS,
                                   queue_due_syncs))
PERIODIC_TASKS.append(PeriodicTask("directory.remove_deleted", REMOVAL_INTERVAL_SECONDS,
                                   remove_deleted_users))


# Google push channels ------------------------------------------------------------------------

CHANNEL_INTERVAL_SECONDS = 300
CHANNEL_TTL_SECONDS = 6 * 3600
# A channel is replaced this long before it expires, so notifications never lapse.
CHANNEL_RENEW_BEFORE = dt.timedelta(hours=1)


def _google(link: DirectoryLink, credentials: dict[str, object]) -> GoogleDirectory:
    with Session(context.engine()) as session:
        tenant = session.get(Tenant, link.tenant_id)
        assert tenant is not None
        domain = sync_domain(session, tenant)
    # A Google link's adapter is the Google directory (imported lazily, as adapter_for does).
    return cast("GoogleDirectory", adapter_for(context.settings(), link, domain, credentials))


def renew_channels() -> None:
    """Open (or replace, before they expire) the push channels of active Google links."""
    settings = context.settings()
    if not settings.google_push_enabled:
        return
    from sync.google.directory import SYNC_EVENTS

    address = settings.public_base_url.rstrip("/") + GOOGLE_HOOK
    with Session(context.engine()) as session:
        links = session.exec(select(DirectoryLink).where(
            DirectoryLink.status == DirectoryLinkStatus.ACTIVE,
            DirectoryLink.provider == DirectoryProvider.GOOGLE)).all()
    for link in links:
        try:
            _renew_link_channels(link, address, SYNC_EVENTS)
        except (DirectoryError, ValueError) as error:
            log.warning("push channels of link %s: %s", link.id, error)


def _renew_link_channels(link: DirectoryLink, address: str, events: tuple[str, ...]) -> None:
    now = utcnow()
    with Session(context.engine()) as session:
        current = {channel.event: channel for channel in session.exec(
            select(DirectoryWatchChannel).where(DirectoryWatchChannel.link_id == link.id))}
    due = [event for event in events if event not in current or (
        (expires_at := current[event].expires_at) is not None
        and expires_at - CHANNEL_RENEW_BEFORE <= now)]
    if not due:
        return
    google = _google(link, credentials_of(_box(), link))
    for event in due:
        token, token_hash = new_channel_token()
        opened = google.watch_users(channel_id=str(uuid.uuid4()), token=token,
                                    address=address, ttl_seconds=CHANNEL_TTL_SECONDS,
                                    event=event)
        with session_scope(context.engine()) as session:
            old = current.get(event)
            if old is not None:
                session.execute(delete(DirectoryWatchChannel).where(
                    col(DirectoryWatchChannel.id) == old.id))
            session.add(DirectoryWatchChannel(
                link_id=link.id, event=event, channel_id=opened.channel_id,
                resource_id=opened.resource_id, token_hash=token_hash,
                expires_at=opened.expires_at))
        if old is not None:
            google.stop_channel(old.channel_id, old.resource_id)


@handles(STOP_CHANNELS.kind)
def stop_channels(job: JobRun) -> None:
    """Stop the channels of a link that was removed, with the grant it had."""
    from google.auth.credentials import Credentials

    from sync.google.consent import oauth_credentials, service_account_credentials
    from sync.google.directory import GoogleDirectory

    settings = context.settings()
    credentials = json.loads(_box().decrypt(job.payload["credentials_encrypted"]))
    google_credentials: Credentials
    if credentials.get("kind") == "service_account":
        google_credentials = service_account_credentials(settings, credentials["key"],
                                                         credentials["subject"])
    else:
        google_credentials = oauth_credentials(settings, credentials.get("refresh_token", ""))
    google = GoogleDirectory(settings, google_credentials, domain="")
    try:
        for channel_id, resource_id in job.payload.get("channels", []):
            google.stop_channel(channel_id, resource_id)
    except ConsentRevokedError:
        log.info("the grant is gone already: the channels expire by themselves")
    except DirectoryUnavailableError as error:
        raise TransientJobError(error.code, str(error), retry_after=error.retry_after) from error


PERIODIC_TASKS.append(PeriodicTask("directory.channels", CHANNEL_INTERVAL_SECONDS,
                                   renew_channels))
