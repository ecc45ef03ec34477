"""Importing a rate deck from an uploaded CSV file: every row checked, then all or nothing."""

from __future__ import annotations

import contextlib
import uuid

from core import service_plans
from core.database import session_scope
from core.errors import DomainError
from core.jobs import PermanentJobError
from core.service_plans import RATE_DECK_IMPORT, ImportMode
from core.stored_files import content_of
from workers import context
from workers.jobs import JobRun, JobStopped, handles


def _uploaded(file_id: uuid.UUID) -> bytes:
    with session_scope(context.engine()) as session:
        content = content_of(session, file_id)
    if content is None:
        raise PermanentJobError("FILE_GONE", "the uploaded file is no longer kept; upload it again")
    return content


def _checked_entries(content: bytes) -> list[dict[str, object]]:
    try:
        return service_plans.read_rate_deck(content)
    except DomainError as error:
        raise PermanentJobError(
            "INVALID_FILE", "the file has mistakes, listed by line; nothing was imported",
            details=[problem.message for problem in error.errors]) from None


@handles(RATE_DECK_IMPORT.kind)
def import_rate_deck(job: JobRun) -> None:
    entries = _checked_entries(_uploaded(uuid.UUID(job.payload["file_id"])))
    requested_by = job.payload.get("requested_by")
    # Progress is reported before and after the write, never during it: on SQLite the
    # write transaction holds the database lock that a progress update would wait for.
    job.progress(0, len(entries))
    try:
        with session_scope(context.engine()) as session:
            result = service_plans.import_rate_deck(
                session, uuid.UUID(job.subject_id), entries, ImportMode(job.payload["mode"]),
                requested_by=uuid.UUID(requested_by) if requested_by else None)
    except DomainError as error:
        raise PermanentJobError("NOT_FOUND", str(error)) from None
    # The deck is committed: a cancellation arriving now comes too late to matter.
    with contextlib.suppress(JobStopped):
        job.progress(len(entries), len(entries), inserted=result.inserted,
                     updated=result.updated, deleted=result.deleted)
