"""The credentials sheet: every subscriber of a tenant with the SIP password to provision with.

An administrator asks for the sheet (:func:`start_export`); a job reads the
subscribers a batch at a time (:func:`open_sheet`, :func:`read_rows`) and keeps the
file it writes for an hour (:func:`keep_export`). The file holds SIP passwords in
clear, so it leaves the platform once: the administrator gets a link that is signed
for them alone and lives five minutes (:func:`download_link`), and the first download through it
empties the file (:func:`take_download`). Expired files are deleted by a
periodic task (:func:`delete_expired_files`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy import delete, func, or_, update
from sqlmodel import Session, col, select

from core import audit, scoping, stored_files
from core.database import one_of
from core.errors import DomainError, ErrorCode, not_found
from core.jobs import JobSpec, enqueue, register_kind
from core.models import (
    Administrator,
    Job,
    JobStatus,
    Smbc,
    StoredFile,
    Subscriber,
    Tenant,
    TenantSmbc,
    utcnow,
)
from core.secrets import SecretBox, derive_key
from core.settings import Settings
from core.tenants import managed_tenant
from core.viewer import Viewer

EXPORT = register_kind(JobSpec(kind="credentials.export", subject_type="Tenant",
                               max_attempts=3, timeout_seconds=900))
# Long enough to click the link when the job ends; short, because the file holds passwords.
EXPORT_KEPT_FOR = dt.timedelta(hours=1)
LINK_LIFETIME = dt.timedelta(minutes=5)
# The exports handed over by /downloads (core.call_records_export writes the second).
DOWNLOADABLE = frozenset({EXPORT.kind, "call_records.export"})
MAX_SELECTED = 10_000
COLUMNS = ["Username", "Extension", "SIP domain", "SIP password", "SMBC", "Display name",
           "E-mail"]


class CredentialsFormat(StrEnum):
    XLSX = "XLSX"
    CSV = "CSV"

    @property
    def extension(self) -> str:
        return self.value.lower()

    @property
    def content_type(self) -> str:
        if self is CredentialsFormat.XLSX:
            return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return "text/csv"


# Asking for the sheet -------------------------------------------------------------------------


def _selection(session: Session, tenant: Tenant,
               subscriber_ids: list[uuid.UUID] | None) -> list[str] | None:
    """The chosen subscribers as sorted ids (None: all of them), each one of the tenant's."""
    if subscriber_ids is None:
        return None
    wanted = sorted(set(subscriber_ids))
    if not wanted:
        raise DomainError.single(ErrorCode.INVALID, "choose at least one subscriber, or leave "
                                 "the list out to export all of them", "subscribers")
    if len(wanted) > MAX_SELECTED:
        raise DomainError.single(ErrorCode.TOO_LARGE, f"choose at most {MAX_SELECTED} "
                                 "subscribers, or leave the list out", "subscribers")
    # The tenant is visible to the viewer, and so are exactly its own subscribers.
    found = session.exec(select(Subscriber.id).where(
        Subscriber.tenant_id == tenant.id, col(Subscriber.id).in_(wanted),
    )).all()
    if len(found) != len(wanted):
        raise not_found("subscriber", "subscribers")
    return [str(subscriber_id) for subscriber_id in wanted]


def start_export(session: Session, viewer: Viewer, tenant_id: uuid.UUID | None,
                 file_format: CredentialsFormat,
                 subscriber_ids: list[uuid.UUID] | None = None) -> Job:
    """Queue the sheet of a tenant's subscribers (its administrators and its ISP's)."""
    tenant = managed_tenant(session, viewer, tenant_id)
    selected = _selection(session, tenant, subscriber_ids)
    payload = {"format": file_format.value, "subscribers": selected,
               "requested_by": str(viewer.administrator_id)}
    enqueued = enqueue(session, EXPORT.kind, tenant.id, payload=payload, isp_id=tenant.isp_id,
                       tenant_id=tenant.id, requested_by_id=viewer.administrator_id)
    if not enqueued.created:
        if enqueued.job.payload == payload:
            return enqueued.job  # the same request again: follow the job already running
        # Someone else's export, or another selection: its file would not be this one.
        raise DomainError.single(ErrorCode.ALREADY_EXISTS, "an export of this tenant's "
                                 "credentials is already running; try again when it ends")
    audit.record(session, viewer, action="tenant.credentials.export", object_type="Tenant",
                 object_id=tenant.id, isp_id=tenant.isp_id, tenant_id=tenant.id,
                 changes={"format": file_format, "job": enqueued.job.id,
                          "subscribers": "all" if selected is None else len(selected)})
    return enqueued.job


# What the sheet holds -------------------------------------------------------------------------


@dataclass(frozen=True)
class CredentialRow:
    username: str
    extension: str
    sip_domain: str
    sip_password: str
    smbc: str
    display_name: str
    email: str

    def cells(self) -> list[str]:
        """The row in the order of COLUMNS."""
        return [self.username, self.extension, self.sip_domain, self.sip_password, self.smbc,
                self.display_name, self.email]


@dataclass(frozen=True)
class Sheet:
    """What the sheet is of: the tenant, and the chosen subscribers (None: all).

    The rows themselves are read a batch at a time (:func:`read_rows`): a sheet of
    50,000 subscribers is never held in memory whole, nor are its passwords.
    """

    tenant_id: uuid.UUID
    isp_id: uuid.UUID
    tenant_domain: str
    smbc: str
    subscriber_ids: list[uuid.UUID] | None
    count: int


def _first_smbc_address(session: Session, tenant_id: uuid.UUID) -> str:
    """The address of the tenant's preferred SMBC; empty when it has none."""
    address = session.exec(
        select(Smbc.address).join(TenantSmbc, col(TenantSmbc.smbc_id) == Smbc.id)
        .where(TenantSmbc.tenant_id == tenant_id).order_by(col(TenantSmbc.position)).limit(1)
    ).first()
    return address or ""


def _chosen(session: Session, sheet: Sheet) -> list[Any]:
    conditions: list[Any] = [Subscriber.tenant_id == sheet.tenant_id]
    if sheet.subscriber_ids is not None:
        conditions.append(one_of(session, Subscriber.id, sheet.subscriber_ids))
    return conditions


def open_sheet(session: Session, tenant_id: uuid.UUID,
               subscriber_ids: list[uuid.UUID] | None = None) -> Sheet | None:
    """The sheet of the tenant's subscribers (or only the chosen ones); None when the
    tenant is gone. Chosen subscribers deleted since the request are simply left out."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        return None
    sheet = Sheet(tenant_id=tenant.id, isp_id=tenant.isp_id, tenant_domain=tenant.domain,
                  smbc=_first_smbc_address(session, tenant.id), subscriber_ids=subscriber_ids,
                  count=0)
    count = session.exec(select(func.count()).select_from(Subscriber)
                         .where(*_chosen(session, sheet))).one()
    return dataclasses.replace(sheet, count=count)


def read_rows(session: Session, box: SecretBox, sheet: Sheet, *, after: str | None,
              limit: int) -> list[CredentialRow]:
    """The next ``limit`` rows of the sheet in username order, after the username
    ``after`` (None: from the first), passwords decrypted. Raises SecretDecryptionError
    when no configured key opens a password."""
    conditions = _chosen(session, sheet)
    if after is not None:
        conditions.append(Subscriber.username > after)
    # sqlalchemy's select: sqlmodel's is typed for at most four columns.
    rows = session.connection().execute(
        sa.select(col(Subscriber.username), col(Subscriber.alias),
                  col(Subscriber.sip_password_encrypted), col(Subscriber.display_name),
                  col(Subscriber.email))
        .where(*conditions).order_by(col(Subscriber.username)).limit(limit))
    return [CredentialRow(username=row.username, extension=row.alias or "",
                          sip_domain=sheet.tenant_domain,
                          sip_password=box.decrypt(row.sip_password_encrypted), smbc=sheet.smbc,
                          display_name=row.display_name, email=row.email) for row in rows]


def keep_export(session: Session, sheet: Sheet, file_format: CredentialsFormat, content: bytes,
                requested_by_id: uuid.UUID | None) -> StoredFile:
    """Store the written sheet for its requester and the tenant's administrators."""
    # The requester may have been removed meanwhile: the file stays for the other admins.
    requester = session.get(Administrator, requested_by_id) if requested_by_id else None
    return stored_files.store(
        session, purpose=EXPORT.kind,
        filename=f"{sheet.tenant_domain}-credentials.{file_format.extension}",
        content_type=file_format.content_type, content=content, isp_id=sheet.isp_id,
        tenant_id=sheet.tenant_id, created_by_id=requester.id if requester else None,
        keep_for=EXPORT_KEPT_FOR)


# Handing the file over once -------------------------------------------------------------------


def _signature(key: bytes, file_id: uuid.UUID, administrator_id: uuid.UUID,
               expires: int) -> str:
    message = f"{file_id}:{administrator_id}:{expires}".encode()
    return hmac.new(derive_key(key, "downloads"), message, hashlib.sha256).hexdigest()


def sign_download(settings: Settings, file_id: uuid.UUID, administrator_id: uuid.UUID,
                  expires_at: dt.datetime) -> str:
    """A token that lets this administrator, and nobody else, fetch the file until then."""
    expires = int(expires_at.timestamp())
    signature = _signature(settings.secret_key_bytes()[0], file_id, administrator_id, expires)
    return f"{expires}.{signature}"


def download_token_valid(settings: Settings, token: str, file_id: uuid.UUID,
                         administrator_id: uuid.UUID, now: dt.datetime) -> bool:
    expires_text, _, signature = token.partition(".")
    if not (expires_text.isascii() and expires_text.isdigit() and len(expires_text) <= 12):
        return False
    expires = int(expires_text)
    if expires <= now.timestamp():
        return False
    # Any configured key: a link made just before a key rotation still works.
    return any(hmac.compare_digest(signature, _signature(key, file_id, administrator_id,
                                                         expires))
               for key in settings.secret_key_bytes())


@dataclass(frozen=True)
class DownloadLink:
    url: str
    expires_at: dt.datetime


def _job_file_id(job: Job) -> uuid.UUID | None:
    try:
        return uuid.UUID(job.result_ref or "")
    except ValueError:
        return None


def _gone(row: StoredFile, now: dt.datetime) -> bool:
    return row.downloaded_at is not None or (row.expires_at is not None
                                             and row.expires_at <= now)


def download_link(session: Session, settings: Settings, viewer: Viewer,
                  job_id: uuid.UUID | None) -> DownloadLink:
    """A short-lived link to the file a finished export wrote, for this viewer only."""
    job = scoping.get_visible(session, viewer, Job, job_id)
    if job is None or job.kind != EXPORT.kind:
        raise not_found("job", "job")
    tenant = managed_tenant(session, viewer, job.tenant_id)
    if job.status is not JobStatus.SUCCEEDED:
        raise DomainError.single(ErrorCode.INVALID, f"the export has not succeeded "
                                 f"(it is {job.status})", "job")
    now = utcnow()
    file_id = _job_file_id(job)
    stored = scoping.get_visible(session, viewer, StoredFile, file_id)
    if stored is None or _gone(stored, now):
        raise DomainError.single(ErrorCode.INVALID, "the file was already downloaded or is no "
                                 "longer kept; export the credentials again", "job")
    expires_at = now + LINK_LIFETIME
    assert viewer.administrator_id is not None  # the schema asks for a login first
    token = sign_download(settings, stored.id, viewer.administrator_id, expires_at)
    audit.record(session, viewer, action="credentials.download_link", object_type="StoredFile",
                 object_id=stored.id, isp_id=tenant.isp_id, tenant_id=tenant.id,
                 changes={"job": job.id, "link_expires_at": expires_at})
    query = urlencode({"token": token})
    return DownloadLink(url=f"{settings.public_base_url}/downloads/{stored.id}?{query}",
                        expires_at=expires_at)


class Refusal(StrEnum):
    NOT_FOUND = "NOT_FOUND"  # no such file, or not one the viewer may see
    FORBIDDEN = "FORBIDDEN"  # the link is not this viewer's, was altered, or has expired
    GONE = "GONE"  # already downloaded, or past its keeping time


class DownloadRefused(Exception):  # noqa: N818 - named for what the caller is told
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal


@dataclass(frozen=True)
class Download:
    filename: str
    content_type: str
    content: bytes


def take_download(session: Session, settings: Settings, viewer: Viewer,
                  file_id: uuid.UUID, token: str) -> Download:
    """The file's content, once: the first download empties it, any later one is GONE."""
    stored = scoping.get_visible(session, viewer, StoredFile, file_id)
    if (stored is None or stored.purpose not in DOWNLOADABLE
            or viewer.administrator_id is None):
        raise DownloadRefused(Refusal.NOT_FOUND)
    now = utcnow()
    if not download_token_valid(settings, token, stored.id, viewer.administrator_id, now):
        raise DownloadRefused(Refusal.FORBIDDEN)
    # A credentials sheet's link was signed when its holder could manage the tenant; the
    # sheet holds every SIP password of it, so the holder must still be able to, now (a role
    # removed or made read-only since then closes the link). Other exports (call records)
    # hold what their holder may read, which get_visible above has just checked again.
    if stored.purpose == EXPORT.kind:
        try:
            managed_tenant(session, viewer, stored.tenant_id)
        except DomainError as refused:
            raise DownloadRefused(Refusal.NOT_FOUND
                                  if refused.errors[0].code is ErrorCode.NOT_FOUND
                                  else Refusal.FORBIDDEN) from None
    content = stored.content
    # One conditional UPDATE decides which of two simultaneous downloads gets the file.
    claimed = session.exec(
        update(StoredFile).where(
            col(StoredFile.id) == stored.id,
            col(StoredFile.downloaded_at).is_(None),
            or_(col(StoredFile.expires_at).is_(None), col(StoredFile.expires_at) > now),
        ).values(downloaded_at=now, content=b"").execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise DownloadRefused(Refusal.GONE)
    audit.record(session, viewer, action=f"{stored.purpose.split('.')[0]}.download",
                 object_type="StoredFile",
                 object_id=stored.id, isp_id=stored.isp_id, tenant_id=stored.tenant_id,
                 changes={"filename": stored.filename, "size_bytes": stored.size_bytes})
    return Download(filename=stored.filename, content_type=stored.content_type, content=content)


# Keeping files no longer than promised --------------------------------------------------------


def delete_expired_files(session: Session, now: dt.datetime) -> int:
    """Delete every stored file past its expiry (exports and uploads alike); how many."""
    result = session.exec(
        delete(StoredFile).where(col(StoredFile.expires_at) <= now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
