"""Writing a customer's call records of a period as CSV: the ``call_records.export`` job.

The legs are read in chunks from the database (a server-side cursor on
PostgreSQL) and written line by line; the job's result is the stored file's id.
"""

from __future__ import annotations

import io
import logging

from core import call_records_export
from core.database import session_scope
from core.jobs import PermanentJobError
from workers import context
from workers.jobs import JobRun, handles

log = logging.getLogger(__name__)

PROGRESS_EVERY = 10_000


@handles(call_records_export.EXPORT.kind)
def export_call_records(job: JobRun) -> str:
    buffer = io.BytesIO()
    lines = 0
    with session_scope(context.engine()) as session:
        request = call_records_export.export_request(session, job.subject_id,
                                                             job.payload)
        if request is None:
            raise PermanentJobError("CUSTOMER_GONE",
                                    "the customer was deleted before its export ran")
        for line in call_records_export.csv_lines(session, request):
            buffer.write(line.encode("utf-8"))
            lines += 1
    # Progress is written with no read transaction open (SQLite's lock).
    job.progress(lines - 1, lines - 1)
    with session_scope(context.engine()) as session:
        stored = call_records_export.keep_export(session, request, buffer.getvalue())
        file_id = str(stored.id)
    log.info("call records export of customer %s: %d legs, %d bytes", request.customer.id,
             lines - 1, buffer.tell())
    return file_id

