"""A tenant's link to its Google Workspace or Microsoft Entra directory, as administrators
drive it: consent, discovery, preview edits, import, schedule, sync now, unlink.

The flow of the product documentation:

1. :func:`start_consent`: an administrator of the tenant (or its ISP) is sent to the
   provider. The tenant's SIP domain must be a verified domain of the ISP: it is the
   domain whose users are synced. ``state`` (random, single use, 15 minutes, kept
   only as a hash) binds the callback to the tenant and to the administrator's
   browser session.
2. The callback (``api/``) checks the state with :func:`consent_request_for`, lets
   the provider's adapter check the grant, and :func:`complete_consent` stores it
   encrypted. A service account key can be linked instead (:func:`link_service_account`).
3. :func:`start_discovery` records the defaults, the extension start and the scope,
   and queues the discovery job, whose preview rows :func:`update_preview` edits.
4. :func:`start_import` queues the import; re-syncs follow on the link's schedule
   (:func:`set_schedule`, :func:`start_sync`), and a run stopped by the brake waits
   for :func:`decide_held`.

The work itself is in ``sync/``; these rules only check and record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from core import audit, scoping
from core.customers import subscriber_count, subscriber_room
from core.directory_actions import release_held_actions
from core.errors import DomainError, ErrorCode, ErrorCollector, not_found
from core.jobs import JobSpec, enqueue, register_kind
from core.models import (
    Customer,
    DirectoryConsentRequest,
    DirectoryLink,
    DirectoryLinkStatus,
    DirectoryPreviewRow,
    DirectoryProvider,
    DirectorySyncPending,
    DirectoryWatchChannel,
    Job,
    JobStatus,
    SecurityGroup,
    Subscriber,
    SubscriberSource,
    Tenant,
    VerifiedDomain,
    VerifiedDomainStatus,
    utcnow,
)
from core.secrets import SecretBox
from core.tenants import area_code, country_code, managed_tenant
from core.viewer import Viewer

DISCOVER = register_kind(JobSpec(kind="directory.discover", subject_type="DirectoryLink",
                                 max_attempts=5, timeout_seconds=3600))
IMPORT = register_kind(JobSpec(kind="directory.import", subject_type="DirectoryLink",
                               max_attempts=5, timeout_seconds=3600))
SYNC = register_kind(JobSpec(kind="directory.sync", subject_type="DirectoryLink",
                             max_attempts=8, timeout_seconds=3600))

STOP_CHANNELS = register_kind(JobSpec(kind="directory.stop_channels", subject_type="Tenant",
                                     max_attempts=5, timeout_seconds=300))

CONSENT_LIFETIME = dt.timedelta(minutes=15)
MAX_SCOPE_ITEMS = 50
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._+-]{0,63}")
_ALIAS = re.compile(r"[0-9]{2,8}")


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _record(session: Session, viewer: Viewer, verb: str, link: DirectoryLink, tenant: Tenant,
            changes: dict[str, Any] | None = None) -> None:
    audit.record(session, viewer, action=f"directory.{verb}", object_type="DirectoryLink",
                 object_id=link.id, isp_id=tenant.isp_id, tenant_id=tenant.id,
                 changes=changes or {})


def sync_domain(session: Session, tenant: Tenant) -> str:
    """The verified domain whose users the tenant syncs; refused when there is none."""
    domain = session.get(VerifiedDomain, tenant.verified_domain_id) \
        if tenant.verified_domain_id else None
    if domain is None or domain.status is not VerifiedDomainStatus.VERIFIED:
        raise DomainError.single(
            ErrorCode.INVALID, "the tenant's domain must be one of the ISP's verified domains "
            "before a directory can be linked: verify it, then give it to the tenant", "tenant")
    return domain.fqdn


def link_of(session: Session, viewer: Viewer, tenant_id: uuid.UUID | None) -> tuple[
        DirectoryLink, Tenant]:
    """The tenant's link, for an administrator who may manage the tenant."""
    tenant = managed_tenant(session, viewer, tenant_id)
    link = session.exec(select(DirectoryLink).where(DirectoryLink.tenant_id == tenant.id)).first()
    if link is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "the tenant has no directory link yet: "
                                 "start one with directoryLinkStart", "tenant")
    return link, tenant


# Consent ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentStart:
    link: DirectoryLink
    domain: str
    state: str


def start_consent(session: Session, settings_interval: int, viewer: Viewer,
                  tenant_id: uuid.UUID | None, provider: DirectoryProvider, *,
                  box: SecretBox, code_verifier: str | None, auth_session_id: uuid.UUID | None,
                  with_groups: bool = False) -> ConsentStart:
    """Create (or reuse) the tenant's link and a consent request; returns the ``state``."""
    tenant = managed_tenant(session, viewer, tenant_id)
    domain = sync_domain(session, tenant)
    link = session.exec(select(DirectoryLink).where(DirectoryLink.tenant_id == tenant.id)).first()
    if link is not None and link.provider is not provider and \
            link.status is DirectoryLinkStatus.ACTIVE:
        raise DomainError.single(ErrorCode.ALREADY_EXISTS, f"the tenant is synced with "
                                 f"{link.provider.value.title()}: unlink it first", "provider")
    if link is None:
        link = DirectoryLink(tenant_id=tenant.id, provider=provider,
                             sync_interval_minutes=settings_interval)
    link.provider = provider
    if link.status is not DirectoryLinkStatus.ACTIVE:
        link.status = DirectoryLinkStatus.PENDING_CONSENT
    session.add(link)
    session.flush()
    state = secrets.token_urlsafe(32)
    assert viewer.administrator_id is not None  # the schema asks for a login first
    session.add(DirectoryConsentRequest(
        state_hash=_hash(state), tenant_id=tenant.id, administrator_id=viewer.administrator_id,
        session_hash=_hash(str(auth_session_id)) if auth_session_id else "",
        provider=provider, with_groups=with_groups,
        code_verifier_encrypted=box.encrypt(code_verifier) if code_verifier else None,
        expires_at=utcnow() + CONSENT_LIFETIME))
    _record(session, viewer, "consent.start", link, tenant, {"provider": provider})
    return ConsentStart(link=link, domain=domain, state=state)


def consent_request_for(session: Session, state: str,
                        auth_session_id: uuid.UUID | None) -> DirectoryConsentRequest:
    """The pending request a callback's ``state`` names, used up now; refused otherwise.

    A request made from a browser session must come back to that same session:
    a link sent to someone else (or forged) does not link their directory here.
    """
    request = session.exec(select(DirectoryConsentRequest).where(
        DirectoryConsentRequest.state_hash == _hash(state or ""))).first()
    invalid = DomainError.single(ErrorCode.INVALID_TOKEN, "this consent link is unknown, "
                                 "expired or already used: start again from the tenant")
    if request is None or request.used_at is not None or request.expires_at <= utcnow():
        raise invalid
    if request.session_hash and request.session_hash != _hash(str(auth_session_id)):
        raise invalid
    request.used_at = utcnow()
    session.add(request)
    session.flush()
    return request


def complete_consent(session: Session, box: SecretBox, request: DirectoryConsentRequest, *,
                     external_tenant_id: str | None, credentials: dict[str, Any]) -> DirectoryLink:
    link = session.exec(select(DirectoryLink).where(
        DirectoryLink.tenant_id == request.tenant_id)).one()
    link.provider = request.provider
    link.external_tenant_id = external_tenant_id
    link.credentials_encrypted = box.encrypt(json.dumps(credentials))
    link.status = _linked_status(session, link)
    link.last_error_code = link.last_error = None
    session.add(link)
    tenant = session.get(Tenant, link.tenant_id)
    assert tenant is not None
    audit.record(session, Viewer(administrator_id=request.administrator_id, email=""),
                 action="directory.consent.complete", object_type="DirectoryLink",
                 object_id=link.id, isp_id=tenant.isp_id, tenant_id=tenant.id,
                 changes={"provider": request.provider, "external_tenant_id": external_tenant_id})
    return link


def _linked_status(session: Session, link: DirectoryLink) -> DirectoryLinkStatus:
    """ACTIVE again when the directory's users were imported before (consent given
    anew after it was revoked, say); LINKED, ready for discovery, otherwise."""
    source = (SubscriberSource.GOOGLE if link.provider is DirectoryProvider.GOOGLE
              else SubscriberSource.MICROSOFT)
    imported = session.exec(select(Subscriber.id).where(
        Subscriber.tenant_id == link.tenant_id, Subscriber.source == source).limit(1)).first()
    return DirectoryLinkStatus.ACTIVE if imported else DirectoryLinkStatus.LINKED


def refuse_consent(session: Session, request: DirectoryConsentRequest, code: str,
                   message: str) -> None:
    """Record on the link why a consent callback did not link it."""
    link = session.exec(select(DirectoryLink).where(
        DirectoryLink.tenant_id == request.tenant_id)).first()
    if link is not None:
        link.last_error_code, link.last_error = code[:64], message[:500]
        session.add(link)


def link_service_account(session: Session, settings_interval: int, viewer: Viewer,
                         tenant_id: uuid.UUID | None, box: SecretBox, *,
                         key_info: dict[str, Any], subject: str) -> DirectoryLink:
    """Link Google by a service account with domain-wide delegation instead of consent."""
    tenant = managed_tenant(session, viewer, tenant_id)
    domain = sync_domain(session, tenant)
    if not subject.lower().endswith("@" + domain.lower()):
        raise DomainError.single(ErrorCode.INVALID, f"the administrator to act as must be an "
                                 f"address of {domain}", "adminEmail")
    link = session.exec(select(DirectoryLink).where(DirectoryLink.tenant_id == tenant.id)).first()
    if link is None:
        link = DirectoryLink(tenant_id=tenant.id, provider=DirectoryProvider.GOOGLE,
                             sync_interval_minutes=settings_interval)
    elif link.provider is not DirectoryProvider.GOOGLE and \
            link.status is DirectoryLinkStatus.ACTIVE:
        raise DomainError.single(ErrorCode.ALREADY_EXISTS, "the tenant is synced with "
                                 "Microsoft: unlink it first", "provider")
    link.provider = DirectoryProvider.GOOGLE
    link.credentials_encrypted = box.encrypt(json.dumps(
        {"kind": "service_account", "key": key_info, "subject": subject.lower()}))
    link.status = _linked_status(session, link)
    link.last_error_code = link.last_error = None
    session.add(link)
    session.flush()
    _record(session, viewer, "service_account.link", link, tenant,
            {"client_email": key_info.get("client_email"), "subject": subject.lower()})
    return link


def credentials_of(box: SecretBox, link: DirectoryLink) -> dict[str, Any]:
    if not link.credentials_encrypted:
        return {}
    return json.loads(box.decrypt(link.credentials_encrypted))


# Discovery and the preview ------------------------------------------------------------------


@dataclass
class DiscoveryFields:
    country_code: str | None = None
    area_code: str | None = None
    security_group_id: uuid.UUID | None = None
    concurrent_calls: int = 2
    ring_timeout: int = 20
    voicemail_to_email: bool = False
    alias_start: int = 1000
    groups: tuple[str, ...] = ()
    org_units: tuple[str, ...] = ()


def _checked_defaults(session: Session, tenant: Tenant, given: DiscoveryFields) -> dict[str, Any]:
    errors = ErrorCollector()
    code = errors.check(country_code, given.country_code or tenant.default_country_code,
                        "countryCode")
    area = errors.check(area_code, given.area_code if given.area_code is not None
                        else tenant.default_area_code, "areaCode")
    if given.security_group_id is not None and session.exec(select(SecurityGroup.id).where(
            SecurityGroup.id == given.security_group_id,
            SecurityGroup.tenant_id == tenant.id)).first() is None:
        errors.add(ErrorCode.NOT_FOUND, "security group not found", "securityGroup")
    if not 1 <= given.concurrent_calls <= 1000:
        errors.add(ErrorCode.INVALID, "from 1 to 1000", "concurrentCalls")
    if not 1 <= given.ring_timeout <= 600:
        errors.add(ErrorCode.INVALID, "from 1 to 600 seconds", "ringTimeout")
    if not 10 <= given.alias_start <= 99_999_999:
        errors.add(ErrorCode.INVALID, "extensions are 2 to 8 digits", "sequentialStart")
    for name, items in (("groups", given.groups), ("orgUnits", given.org_units)):
        if len(items) > MAX_SCOPE_ITEMS or any(not item.strip() or len(item) > 255
                                               for item in items):
            errors.add(ErrorCode.INVALID, f"at most {MAX_SCOPE_ITEMS} non-empty names", "scope",
                       name)
    errors.raise_if_any()
    return {"country_code": code, "area_code": area,
            "security_group_id": str(given.security_group_id) if given.security_group_id
            else None, "concurrent_calls": given.concurrent_calls,
            "ring_timeout": given.ring_timeout, "voicemail_to_email": given.voicemail_to_email}


def _usable(link: DirectoryLink) -> None:
    if link.status not in (DirectoryLinkStatus.LINKED, DirectoryLinkStatus.ACTIVE):
        raise DomainError.single(ErrorCode.INVALID, "the directory is not linked: an "
                                 "administrator of it must consent first", "tenant")


def _job_for(session: Session, viewer: Viewer, kind: str, link: DirectoryLink, tenant: Tenant,
             payload: dict[str, Any] | None = None) -> Job:
    return enqueue(session, kind, link.id, payload=payload or {}, isp_id=tenant.isp_id,
                   tenant_id=tenant.id, requested_by_id=viewer.administrator_id).job


def start_discovery(session: Session, viewer: Viewer, tenant_id: uuid.UUID | None,
                    given: DiscoveryFields) -> Job:
    link, tenant = link_of(session, viewer, tenant_id)
    _usable(link)
    link.mapping_defaults = _checked_defaults(session, tenant, given)
    if link.alias_start != given.alias_start:
        link.alias_next = None  # a new start: the sequence begins again there
    link.alias_start = given.alias_start
    link.scope = {"groups": list(given.groups), "org_units": list(given.org_units)}
    session.add(link)
    _record(session, viewer, "discover", link, tenant, {"defaults": link.mapping_defaults,
                                                        "scope": link.scope})
    return _job_for(session, viewer, DISCOVER.kind, link, tenant)


@dataclass
class PreviewChange:
    id: uuid.UUID | None
    username: str | None = None
    alias: str | None = None
    clear_alias: bool = False
    display_name: str | None = None
    excluded: bool | None = None
    link_subscriber_id: uuid.UUID | None = None
    clear_link: bool = False
    import_separately: bool | None = None


def _preview_row(session: Session, link: DirectoryLink, row_id: uuid.UUID | None,
                 field: tuple[str, ...]) -> DirectoryPreviewRow:
    row = session.get(DirectoryPreviewRow, row_id) if row_id else None
    if row is None or row.link_id != link.id:
        raise not_found("preview row", *field)
    return row


def update_preview(session: Session, viewer: Viewer, tenant_id: uuid.UUID | None,
                   changes: list[PreviewChange]) -> list[DirectoryPreviewRow]:
    """Edit or exclude rows of the preview; every mistake is reported, nothing half-saved."""
    link, tenant = link_of(session, viewer, tenant_id)
    errors = ErrorCollector()
    taken_names = set(session.exec(select(Subscriber.username).where(
        Subscriber.tenant_id == tenant.id)).all())
    rows: list[DirectoryPreviewRow] = []
    for position, change in enumerate(changes):
        at = ("rows", str(position))
        row = errors.check(_preview_row, session, link, change.id, (*at, "id"))
        if row is None:
            continue
        if change.username is not None:
            name = change.username.strip().lower()
            if not _USERNAME.fullmatch(name):
                errors.add(ErrorCode.INVALID, "use 1 to 64 letters, digits, . _ - or +", *at,
                           "username")
            elif name in taken_names or session.exec(select(DirectoryPreviewRow.id).where(
                    DirectoryPreviewRow.link_id == link.id, DirectoryPreviewRow.username == name,
                    DirectoryPreviewRow.id != row.id)).first():
                errors.add(ErrorCode.ALREADY_EXISTS, f"the username {name} is taken", *at,
                           "username")
            else:
                row.username = name
        if change.clear_alias:
            row.alias = None
        elif change.alias is not None:
            alias = change.alias.strip()
            if not _ALIAS.fullmatch(alias):
                errors.add(ErrorCode.INVALID, "an extension number is 2 to 8 digits", *at, "alias")
            elif session.exec(select(Subscriber.id).where(
                    Subscriber.tenant_id == tenant.id, Subscriber.alias == alias)).first() or \
                    session.exec(select(DirectoryPreviewRow.id).where(
                        DirectoryPreviewRow.link_id == link.id,
                        DirectoryPreviewRow.alias == alias,
                        DirectoryPreviewRow.id != row.id)).first():
                errors.add(ErrorCode.ALREADY_EXISTS, f"the extension {alias} is taken", *at,
                           "alias")
            else:
                row.alias = alias
        if change.display_name is not None:
            row.display_name = change.display_name.strip()[:200]
        if change.excluded is not None:
            row.excluded = change.excluded
        if change.clear_link:
            row.link_subscriber_id = None
        elif change.link_subscriber_id is not None:
            manual = scoping.get_visible(session, viewer, Subscriber, change.link_subscriber_id)
            if manual is None or manual.tenant_id != tenant.id:
                errors.add(ErrorCode.NOT_FOUND, "subscriber not found", *at, "linkSubscriber")
            elif manual.source is not SubscriberSource.MANUAL:
                errors.add(ErrorCode.INVALID, "only a subscriber created by hand can be linked",
                           *at, "linkSubscriber")
            else:
                row.link_subscriber_id = manual.id
        if change.import_separately is not None:
            row.import_separately = change.import_separately
        if row.import_separately and row.link_subscriber_id is not None:
            errors.add(ErrorCode.INVALID, "either link a subscriber or import separately, "
                       "not both", *at, "importSeparately")
        rows.append(row)
    errors.raise_if_any()
    for row in rows:
        row.updated_at = utcnow()
        session.add(row)
    session.flush()
    return rows


def _kept(link: DirectoryLink) -> tuple[Any, ...]:
    return (DirectoryPreviewRow.link_id == link.id,
            col(DirectoryPreviewRow.excluded).is_(False))


def undecided(link: DirectoryLink) -> tuple[Any, ...]:
    """The rows kept whose hand-made namesake waits for an administrator's choice."""
    return (*_kept(link), col(DirectoryPreviewRow.hand_made_id).is_not(None),
            col(DirectoryPreviewRow.link_subscriber_id).is_(None),
            col(DirectoryPreviewRow.import_separately).is_(False))


NAMED_ROWS = 10


def _check_decisions(session: Session, link: DirectoryLink) -> None:
    """A conflict with a subscriber created by hand is never resolved for the administrator."""
    count = session.exec(select(func.count()).select_from(DirectoryPreviewRow)
                         .where(*undecided(link))).one()
    if not count:
        return
    named = session.exec(select(DirectoryPreviewRow.email).where(*undecided(link))
                         .order_by(col(DirectoryPreviewRow.position)).limit(NAMED_ROWS)).all()
    more = f" and {count - len(named)} more" if count > len(named) else ""
    raise DomainError.single(
        ErrorCode.NEEDS_DECISION,
        f"{count} directory users have the e-mail of a subscriber created by hand: link it, "
        f"import the user separately or exclude the user (directoryPreviewUpdate) first: "
        f"{', '.join(named)}{more}", "tenant")


def _check_room(session: Session, link: DirectoryLink, tenant: Tenant) -> None:
    """The customer's maximum: more new subscribers than fit import none of them."""
    creating = session.exec(select(func.count()).select_from(DirectoryPreviewRow).where(
        *_kept(link), col(DirectoryPreviewRow.link_subscriber_id).is_(None))).one()
    room = subscriber_room(session, tenant.customer_id)
    if creating > room.left:
        raise DomainError.single(
            ErrorCode.LIMIT_REACHED, f"{room.refusal(creating)}: exclude "
            f"{creating - room.left} users, or raise the customer's maximum", "tenant")


def import_room(session: Session, link: DirectoryLink) -> int:
    """How many more subscribers the link's tenant may have (its customer's maximum)."""
    tenant = session.get(Tenant, link.tenant_id)
    assert tenant is not None  # the link is deleted with its tenant
    customer = session.get(Customer, tenant.customer_id)
    assert customer is not None
    return max(0, customer.max_subscribers - subscriber_count(session, customer.id))


def start_import(session: Session, viewer: Viewer, tenant_id: uuid.UUID | None) -> Job:
    link, tenant = link_of(session, viewer, tenant_id)
    _usable(link)
    kept = session.exec(select(func.count()).select_from(DirectoryPreviewRow)
                        .where(*_kept(link))).one()
    if not kept:
        raise DomainError.single(ErrorCode.INVALID, "the preview holds nobody to import: run "
                                 "directoryDiscover first, or include some users", "tenant")
    _check_decisions(session, link)
    _check_room(session, link, tenant)
    _record(session, viewer, "import", link, tenant, {"users": kept})
    return _job_for(session, viewer, IMPORT.kind, link, tenant,
                    {"requested_by": str(viewer.administrator_id)})


# After the import ---------------------------------------------------------------------------


def set_schedule(session: Session, viewer: Viewer, tenant_id: uuid.UUID | None, *,
                 interval_minutes: int | None = None, brake_percent: int | None = None,
                 removal_grace_days: int | None = None) -> DirectoryLink:
    link, tenant = link_of(session, viewer, tenant_id)
    errors = ErrorCollector()
    if interval_minutes is not None and not 1 <= interval_minutes <= 10080:
        errors.add(ErrorCode.INVALID, "from 1 minute to 7 days (10080)", "intervalMinutes")
    if brake_percent is not None and not 1 <= brake_percent <= 100:
        errors.add(ErrorCode.INVALID, "from 1 to 100 (100: never stop)", "brakePercent")
    if removal_grace_days is not None and not 0 <= removal_grace_days <= 365:
        errors.add(ErrorCode.INVALID, "from 0 to 365 days", "removalGraceDays")
    errors.raise_if_any()
    changes = {name: value for name, value in (
        ("sync_interval_minutes", interval_minutes), ("brake_percent", brake_percent),
        ("removal_grace_days", removal_grace_days)) if value is not None}
    link.sqlmodel_update(changes)
    session.add(link)
    _record(session, viewer, "schedule", link, tenant, changes)
    return link


def start_sync(session: Session, viewer: Viewer, tenant_id: uuid.UUID | None) -> Job:
    link, tenant = link_of(session, viewer, tenant_id)
    if link.status is not DirectoryLinkStatus.ACTIVE:
        raise DomainError.single(ErrorCode.INVALID, "import the directory's users before "
                                 "syncing it (directoryImportConfirm)", "tenant")
    if held_job(session, link) is not None:
        raise DomainError.single(ErrorCode.INVALID, "a sync is waiting for a decision on the "
                                 "changes it held back (directorySyncDecide)", "tenant")
    return _job_for(session, viewer, SYNC.kind, link, tenant)


def held_job(session: Session, link: DirectoryLink) -> Job | None:
    """The braked run whose changes wait for a decision, if any."""
    return session.exec(select(Job).where(
        Job.kind == SYNC.kind, Job.subject_id == str(link.id),
        Job.status == JobStatus.NEEDS_CONFIRMATION).order_by(col(Job.created_at).desc())).first()


def decide_held(session: Session, viewer: Viewer, tenant_id: uuid.UUID | None,
                confirm: bool) -> tuple[Job, dict[str, int]]:
    """Apply (confirm) or drop what the brake held; ends the braked job either way."""
    link, tenant = link_of(session, viewer, tenant_id)
    job = held_job(session, link)
    if job is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no sync is waiting for a decision",
                                 "tenant")
    counters = release_held_actions(session, link.id, apply=confirm)
    job.status = JobStatus.SUCCEEDED if confirm else JobStatus.CANCELLED
    job.counters = {**job.counters, **counters}
    job.finished_at = utcnow()
    session.add(job)
    _record(session, viewer, "held.confirm" if confirm else "held.cancel", link, tenant, counters)
    return job, counters


def unlink(session: Session, viewer: Viewer, tenant_id: uuid.UUID | None) -> DirectoryLink:
    """Remove the link. Its subscribers stay, as if created by hand: nothing syncs them."""
    link, tenant = link_of(session, viewer, tenant_id)
    source = (SubscriberSource.GOOGLE if link.provider is DirectoryProvider.GOOGLE
              else SubscriberSource.MICROSOFT)
    session.execute(update(Subscriber).where(
        col(Subscriber.tenant_id) == tenant.id, col(Subscriber.source) == source)
        .values(source=SubscriberSource.MANUAL, external_id=None, sync_fingerprint=None,
                directory_deleted_at=None, updated_at=utcnow()))
    session.execute(delete(DirectorySyncPending)
                    .where(col(DirectorySyncPending.link_id) == link.id))
    channels = session.exec(select(DirectoryWatchChannel).where(
        DirectoryWatchChannel.link_id == link.id)).all()
    if channels and link.credentials_encrypted:
        # Google keeps posting until the channels are stopped, with the grant going now.
        enqueue(session, STOP_CHANNELS.kind, tenant.id, isp_id=tenant.isp_id, payload={
            "credentials_encrypted": link.credentials_encrypted,
            "channels": [[channel.channel_id, channel.resource_id] for channel in channels]})
    session.delete(link)
    session.flush()
    _record(session, viewer, "unlink", link, tenant, {"provider": link.provider})
    return link


# Google push notifications ------------------------------------------------------------------


def watched_link(session: Session, channel_id: str, token: str) -> DirectoryLink | None:
    """The active link a push notification's channel belongs to, if its token is right."""
    channel = session.exec(select(DirectoryWatchChannel).where(
        DirectoryWatchChannel.channel_id == channel_id)).first()
    if channel is None or not secrets.compare_digest(channel.token_hash, _hash(token)):
        return None
    link = session.get(DirectoryLink, channel.link_id)
    return link if link is not None and link.status is DirectoryLinkStatus.ACTIVE else None


def queue_notified_sync(session: Session, link: DirectoryLink) -> Job | None:
    """A re-sync because the directory says something changed (unless one waits already)."""
    if held_job(session, link) is not None:
        return None
    tenant = session.get(Tenant, link.tenant_id)
    assert tenant is not None
    return enqueue(session, SYNC.kind, link.id, isp_id=tenant.isp_id, tenant_id=tenant.id).job


def new_channel_token() -> tuple[str, str]:
    """A channel token for Google to send back with each notification, and its hash."""
    token = secrets.token_urlsafe(32)
    return token, _hash(token)
