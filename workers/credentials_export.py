"""Writing the credentials sheet in the background, and deleting stored files past their expiry.

The ``credentials.export`` job reads the tenant's subscribers with their SIP
passwords a batch at a time, streams them into an XLSX (``core.xlsx_files``) or
CSV file and keeps the file for a one-time download; its result is the file's id.
The passwords only ever go into the file: nothing here logs a row.
"""

from __future__ import annotations

import csv
import io
import logging
import uuid
from collections.abc import Iterable, Iterator

from sqlmodel import Session

from core import credentials
from core.credentials import COLUMNS, CredentialRow, CredentialsFormat
from core.database import session_scope
from core.jobs import PermanentJobError
from core.models import utcnow
from core.secrets import SecretBox, SecretDecryptionError, secret_box
from core.xlsx_files import XlsxWriter
from workers import context
from workers.jobs import JobRun, handles
from workers.registry import PERIODIC_TASKS, PeriodicTask

log = logging.getLogger(__name__)

# Rows read, decrypted and written at a time: the memory the export needs is this many
# rows, whatever the sheet's size.
BATCH = 2000
# Progress is a write of its own: reported every few batches, not per row.
PROGRESS_EVERY = 5 * BATCH
FILES_EXPIRY_SECONDS = 600
# What makes a spreadsheet read a CSV cell as a formula (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@handles(credentials.EXPORT.kind)
def export_credentials(job: JobRun) -> str:
    """Write the sheet the job asks for; returns the stored file's id."""
    file_format = CredentialsFormat(job.payload["format"])
    chosen = job.payload.get("subscribers")
    requester = job.payload.get("requested_by")
    box = secret_box(context.settings().secret_key_bytes())
    with session_scope(context.engine()) as session:
        sheet = credentials.open_sheet(
            session, uuid.UUID(job.subject_id),
            None if chosen is None else [uuid.UUID(value) for value in chosen])
    if sheet is None:
        raise PermanentJobError("TENANT_GONE", "the tenant was deleted before its export ran")
    try:
        # Written with no transaction open: progress reports are writes of their own.
        content, count = render(_batches(sheet, box), file_format, job, sheet.count)
    except SecretDecryptionError:
        raise PermanentJobError("SECRET_UNREADABLE", "a SIP password cannot be decrypted with "
                                "the configured secret keys") from None
    with session_scope(context.engine()) as session:
        stored = credentials.keep_export(session, sheet, file_format, content,
                                         uuid.UUID(requester) if requester else None)
        file_id = str(stored.id)
    log.info("credentials export of tenant %s: %d rows, %d bytes", sheet.tenant_id, count,
             len(content))
    return file_id


def _batches(sheet: credentials.Sheet, box: SecretBox) -> Iterator[list[CredentialRow]]:
    """The sheet's rows a batch at a time, each batch read in a short transaction of its own
    (the username order's index leads from one batch to the next)."""
    after: str | None = None
    while True:
        with Session(context.engine()) as session:
            batch = credentials.read_rows(session, box, sheet, after=after, limit=BATCH)
        if not batch:
            return
        yield batch
        after = batch[-1].username


def render(batches: Iterable[list[CredentialRow]], file_format: CredentialsFormat, job: JobRun,
           total: int) -> tuple[bytes, int]:
    """The file's bytes and how many rows it holds."""
    buffer = io.BytesIO()
    reported = _Reported(batches, job, total)
    if file_format is CredentialsFormat.XLSX:
        with XlsxWriter(buffer, sheet_name="Credentials") as sheet:
            sheet.append(COLUMNS)
            for batch in reported:
                sheet.extend(row.cells() for row in batch)
    else:
        text = io.TextIOWrapper(buffer, encoding="utf-8", newline="", write_through=True)
        writer = csv.writer(text)
        writer.writerow(COLUMNS)
        for batch in reported:
            writer.writerows(_csv_cells(row) for row in batch)
        text.detach()
    return buffer.getvalue(), reported.count


class _Reported:
    """The batches, reporting progress (and honouring a cancel) every PROGRESS_EVERY rows."""

    def __init__(self, batches: Iterable[list[CredentialRow]], job: JobRun, total: int) -> None:
        self.batches, self.job, self.total, self.count = batches, job, total, 0

    def __iter__(self) -> Iterator[list[CredentialRow]]:
        self.job.progress(0, self.total)
        reported = 0
        for batch in self.batches:
            yield batch
            self.count += len(batch)
            if self.count - reported >= PROGRESS_EVERY:
                self.job.progress(self.count, self.total)
                reported = self.count
        self.job.progress(self.count, self.count)


def _csv_safe(value: str) -> str:
    """A leading quote keeps spreadsheets from reading the cell as a formula."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def _csv_cells(row: CredentialRow) -> list[str]:
    # Identifiers and the password go into phones exactly as they are (a username may well
    # start with "+"); the free text, which a directory's users may write, is neutralised.
    return [row.username, row.extension, row.sip_domain, row.sip_password, row.smbc,
            _csv_safe(row.display_name), _csv_safe(row.email)]


def expire_files() -> None:
    with session_scope(context.engine()) as session:
        count = credentials.delete_expired_files(session, utcnow())
    if count:
        log.info("deleted %d stored files past their expiry", count)


PERIODIC_TASKS.append(PeriodicTask("files.expire", FILES_EXPIRY_SECONDS, expire_files))
