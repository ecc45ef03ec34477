"""Writing the credentials sheet in the background, and deleting stored files past their expiry.

The ``credentials.export`` job reads the tenant's subscribers with their SIP
passwords, writes them as XLSX or CSV and keeps the file for a one-time
download; its result is the file's id. The passwords only ever go into the
file: nothing here logs a row.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from core import credentials
from core.credentials import COLUMNS, CredentialRow, CredentialsFormat
from core.csv_files import write_csv
from core.database import session_scope
from core.jobs import PermanentJobError
from core.models import utcnow
from core.secrets import SecretDecryptionError, secret_box
from workers import context
from workers.jobs import JobRun, handles
from workers.registry import PERIODIC_TASKS, PeriodicTask

log = logging.getLogger(__name__)

PROGRESS_EVERY = 100
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
    try:
        with session_scope(context.engine()) as session:
            sheet = credentials.load_sheet(
                session, box, uuid.UUID(job.subject_id),
                None if chosen is None else [uuid.UUID(value) for value in chosen])
    except SecretDecryptionError:
        raise PermanentJobError("SECRET_UNREADABLE", "a SIP password cannot be decrypted with "
                                "the configured secret keys") from None
    if sheet is None:
        raise PermanentJobError("TENANT_GONE", "the tenant was deleted before its export ran")
    # Written with no transaction open: progress reports are writes of their own.
    content = render(sheet.rows, file_format, job)
    with session_scope(context.engine()) as session:
        stored = credentials.keep_export(session, sheet, file_format, content,
                                         uuid.UUID(requester) if requester else None)
        file_id = str(stored.id)
    log.info("credentials export of tenant %s: %d rows, %d bytes", sheet.tenant_id,
             len(sheet.rows), len(content))
    return file_id


def render(rows: list[CredentialRow], file_format: CredentialsFormat, job: JobRun) -> bytes:
    if file_format is CredentialsFormat.XLSX:
        return _xlsx(rows, job)
    return _csv(rows, job)


def _reported(rows: list[CredentialRow], job: JobRun) -> Iterator[CredentialRow]:
    """The rows, reporting progress (and honouring a cancel) every PROGRESS_EVERY rows."""
    total = len(rows)
    job.progress(0, total)
    for done, row in enumerate(rows, start=1):
        yield row
        if done % PROGRESS_EVERY == 0 or done == total:
            job.progress(done, total)


def _text_cell(sheet: WriteOnlyWorksheet, value: str) -> Cell:
    # Always text: openpyxl would store "=..." as a formula, and a display name from a
    # directory must not run in the spreadsheet of whoever opens the sheet.
    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
    cell.data_type = "s"
    return cell


def _xlsx(rows: list[CredentialRow], job: JobRun) -> bytes:
    # Write-only: rows stream to the file instead of building every cell in memory.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Credentials")
    sheet.append(COLUMNS)
    for row in _reported(rows, job):
        sheet.append([_text_cell(sheet, value) for value in row.cells()])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv_safe(value: str) -> str:
    """A leading quote keeps spreadsheets from reading the cell as a formula."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def _csv_cells(row: CredentialRow) -> list[str]:
    # Identifiers and the password go into phones exactly as they are (a username may well
    # start with "+"); the free text, which a directory's users may write, is neutralised.
    return [row.username, row.extension, row.sip_domain, row.sip_password, row.smbc,
            _csv_safe(row.display_name), _csv_safe(row.email)]


def _csv(rows: list[CredentialRow], job: JobRun) -> bytes:
    return write_csv(COLUMNS, [_csv_cells(row) for row in _reported(rows, job)])


def expire_files() -> None:
    with session_scope(context.engine()) as session:
        count = credentials.delete_expired_files(session, utcnow())
    if count:
        log.info("deleted %d stored files past their expiry", count)


PERIODIC_TASKS.append(PeriodicTask("files.expire", FILES_EXPIRY_SECONDS, expire_files))
