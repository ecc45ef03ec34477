"""The number inventory's background work: CSV imports, and the end of quarantines.

An import checks every row before it stores any: a bad file fails the job with
INVALID_FILE and one detail per bad line, and the inventory is left as it was.
"""

from __future__ import annotations

import contextlib
import logging
import uuid

from sqlalchemy.exc import IntegrityError

from core import numbers
from core.database import session_scope
from core.errors import DomainError
from core.jobs import PermanentJobError, TransientJobError
from core.models import StoredFile, utcnow
from workers import context
from workers.jobs import JobRun, JobStopped, handles
from workers.registry import PERIODIC_TASKS, PeriodicTask

log = logging.getLogger(__name__)

QUARANTINE_EXPIRY_SECONDS = 300


def _reporter(job: JobRun) -> numbers.Progress:
    # SQLite has one writer at a time, and the import's own transaction is it until it
    # commits: a progress write from another connection would wait for that commit.
    # There the import only stops when asked to, between batches.
    if context.engine().dialect.name == "sqlite":
        return lambda done, total: job.check()
    return job.progress


def _invalid_file(error: DomainError) -> PermanentJobError:
    return PermanentJobError("INVALID_FILE",
                             "the file has mistakes, listed by line; nothing was imported",
                             details=[problem.message for problem in error.errors])


@handles(numbers.IMPORT.kind)
def import_numbers(job: JobRun) -> None:
    """Import an uploaded CSV file into the inventory of the job's ISP."""
    try:
        with session_scope(context.engine()) as session:
            upload = session.get(StoredFile, uuid.UUID(job.payload["file_id"]))
            if upload is None:
                raise PermanentJobError("FILE_GONE", "the uploaded file is no longer kept; "
                                        "upload it again")
            count = numbers.import_numbers(session, uuid.UUID(job.subject_id), upload,
                                           report=_reporter(job))
    except DomainError as error:
        raise _invalid_file(error) from None
    except IntegrityError:
        # A number of the file was added since the check; the next attempt names its line.
        raise TransientJobError("NUMBER_ADDED_MEANWHILE", "a number of the file was added "
                                "while it was imported") from None
    # Committed: a cancel asked for now comes too late to change anything.
    with contextlib.suppress(JobStopped):
        job.progress(count, count, imported=count)


def expire_quarantines() -> None:
    with session_scope(context.engine()) as session:
        count = numbers.expire_quarantine(session, utcnow())
    if count:
        log.info("%d numbers came out of quarantine", count)


PERIODIC_TASKS.append(PeriodicTask("numbers.quarantine_expiry", QUARANTINE_EXPIRY_SECONDS,
                                   expire_quarantines))
