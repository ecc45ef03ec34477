"""Exporting a customer's call records of a period as CSV, in the background.

``callRecordsExport`` queues a ``call_records.export`` job (one per customer
at a time); the worker streams the legs from the database in chunks (never the
whole period in memory as rows), writes one CSV line per leg, and keeps the
file for a day for its requester and the ISP's administrators. The file is
handed over once through a short-lived link (``callRecordsDownloadLink``, the
same signed one-time downloads as the credentials sheet, ``/downloads/...``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import select
from sqlmodel import Session, col

from core import audit, scoping, stored_files
from core.billing import period
from core.credentials import DownloadLink, sign_download
from core.errors import DomainError, ErrorCode, not_found
from core.jobs import JobSpec, enqueue, register_kind
from core.models import (
    Administrator,
    CallLeg,
    CallRecord,
    Customer,
    Job,
    JobStatus,
    StoredFile,
    Tenant,
    utcnow,
)
from core.settings import Settings
from core.viewer import Viewer

EXPORT = register_kind(JobSpec(kind="call_records.export", subject_type="Customer",
                               max_attempts=3, timeout_seconds=3600))
KEPT_FOR = dt.timedelta(days=1)
LINK_LIFETIME = dt.timedelta(minutes=5)
CHUNK = 5000
COLUMNS = ["call_id", "setup_at", "answered_at", "ended_at", "direction", "state", "tenant",
           "caller", "callee", "sip_code", "sip_reason", "leg", "leg_type", "number",
           "duration_seconds", "deck", "destination", "rate_per_minute", "minimum_duration",
           "increment", "delay", "billing_seconds", "price", "currency", "revision"]
# What makes a spreadsheet read a CSV cell as a formula (OWASP "CSV injection"); a
# number's leading "+" is data, so only the free-text columns are neutralised.
_FORMULA_STARTS = ("=", "-", "@", "\t", "\r")


def start_export(session: Session, viewer: Viewer, customer_id: uuid.UUID | None,
                 start: dt.datetime | None, end: dt.datetime | None) -> Job:
    """Queue the CSV of the customer's calls set up in [start, end)."""
    customer = scoping.get_visible(session, viewer, Customer, customer_id)
    if customer is None:
        raise not_found("customer", "customer")
    start, end = period(start, end)
    payload = {"from": start.isoformat(), "to": end.isoformat(),
               "requested_by": str(viewer.administrator_id)}
    enqueued = enqueue(session, EXPORT.kind, customer.id, payload=payload,
                       isp_id=customer.isp_id, requested_by_id=viewer.administrator_id)
    if not enqueued.created:
        if enqueued.job.payload == payload:
            return enqueued.job
        raise DomainError.single(ErrorCode.ALREADY_EXISTS, "an export of this customer's calls "
                                 "is already running; try again when it ends")
    audit.record(session, viewer, action="call_records.export", object_type="Customer",
                 object_id=customer.id, isp_id=customer.isp_id,
                 changes={"from": start.isoformat(), "to": end.isoformat(),
                          "job": enqueued.job.id})
    return enqueued.job


@dataclass(frozen=True)
class ExportRequest:
    customer: Customer
    start: dt.datetime
    end: dt.datetime
    requested_by_id: uuid.UUID | None


def export_request(session: Session, subject_id: str,
                   payload: dict[str, str]) -> ExportRequest | None:
    """What an export job asks for; None when its customer was deleted since."""
    customer = session.get(Customer, uuid.UUID(subject_id))
    if customer is None:
        return None
    requester = payload.get("requested_by")
    return ExportRequest(customer, dt.datetime.fromisoformat(payload["from"]),
                         dt.datetime.fromisoformat(payload["to"]),
                         uuid.UUID(requester) if requester and requester != "None" else None)


def _text(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def _iso(value: dt.datetime | None) -> str:
    return value.isoformat() if value else ""


def csv_lines(session: Session, request: ExportRequest) -> Iterator[str]:
    """The file, line by line: the header, then one line per leg in setup order."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)

    def line(cells: list[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()

    yield line(list(COLUMNS))
    statement = (
        select(CallRecord, CallLeg, col(Tenant.domain))
        .join(CallLeg, col(CallLeg.call_record_id) == CallRecord.id)
        .outerjoin(Tenant, col(Tenant.id) == CallRecord.tenant_id)
        .where(col(CallRecord.customer_id) == request.customer.id,
               col(CallRecord.setup_at) >= request.start, col(CallRecord.setup_at) < request.end)
        .order_by(col(CallRecord.setup_at), col(CallRecord.id), col(CallLeg.side))
        .execution_options(yield_per=CHUNK))
    for record, leg, domain in session.execute(statement):
        yield line([record.call_id, _iso(record.setup_at), _iso(record.answered_at),
                    _iso(record.ended_at), record.direction.value, record.state.value,
                    domain or "", record.caller, record.callee, record.sip_code,
                    _text(record.sip_reason), leg.side.value, leg.leg_type.value, leg.number,
                    leg.duration_seconds, leg.deck.value, _text(leg.destination),
                    leg.rate_per_minute, leg.minimum_duration, leg.increment, leg.delay,
                    leg.billing_seconds, leg.price, leg.currency, leg.revision])


def keep_export(session: Session, request: ExportRequest, content: bytes) -> StoredFile:
    requester = session.get(Administrator, request.requested_by_id) \
        if request.requested_by_id else None
    name = f"calls-{request.start:%Y%m%d}-{request.end:%Y%m%d}.csv"
    return stored_files.store(session, purpose=EXPORT.kind, filename=name,
                              content_type="text/csv", content=content,
                              isp_id=request.customer.isp_id,
                              created_by_id=requester.id if requester else None,
                              keep_for=KEPT_FOR)


def download_link(session: Session, settings: Settings, viewer: Viewer,
                  job_id: uuid.UUID | None) -> DownloadLink:
    """A short-lived link to the file a finished export wrote, for this viewer only."""
    job = scoping.get_visible(session, viewer, Job, job_id)
    if job is None or job.kind != EXPORT.kind:
        raise not_found("job", "job")
    if job.status is not JobStatus.SUCCEEDED:
        raise DomainError.single(ErrorCode.INVALID, f"the export has not succeeded "
                                 f"(it is {job.status})", "job")
    now = utcnow()
    try:
        file_id = uuid.UUID(job.result_ref or "")
    except ValueError:
        file_id = None
    stored = scoping.get_visible(session, viewer, StoredFile, file_id)
    if stored is None or stored.downloaded_at is not None or (
            stored.expires_at is not None and stored.expires_at <= now):
        raise DomainError.single(ErrorCode.INVALID, "the file was already downloaded or is no "
                                 "longer kept; export the calls again", "job")
    expires_at = now + LINK_LIFETIME
    assert viewer.administrator_id is not None  # the schema asks for a login first
    token = sign_download(settings, stored.id, viewer.administrator_id, expires_at)
    audit.record(session, viewer, action="call_records.download_link",
                 object_type="StoredFile", object_id=stored.id, isp_id=stored.isp_id,
                 changes={"job": job.id, "link_expires_at": expires_at})
    query = urlencode({"token": token})
    return DownloadLink(url=f"{settings.public_base_url}/downloads/{stored.id}?{query}",
                        expires_at=expires_at)
