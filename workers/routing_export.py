"""Keeping the proxies in step: the ``routing.export`` job and its periodic companions.

A commit that changes routing data queues one export job per proxy database
(``core.routing_changes``). The job waits a moment for the rest of a burst,
exports, and goes round again while changes arrived during the export. Two
periodic tasks cover what a job cannot: ``routing.catch_up`` (every few
seconds) queues the export a lost race left behind and reloads proxies that
were down when their export ran; ``routing.reconcile`` exports every database
in full now and then (exports in between are incremental), which puts back rows
changed by hand in the proxies' tables.
"""

from __future__ import annotations

import logging
import time

import psycopg
from sqlmodel import col, select

from core import routing_changes
from core.database import session_scope
from core.jobs import PermanentJobError, TransientJobError
from core.models import Job, JobStatus
from core.routing_changes import EXPORT, database_key_of
from core.secrets import secret_box
from routing_export import exporter
from routing_export.desired import InvalidStateError
from workers import context
from workers.jobs import JobRun, dispatch, handles
from workers.registry import PERIODIC_TASKS, PeriodicTask

log = logging.getLogger(__name__)

CATCH_UP_INTERVAL_SECONDS = 5
# A burst of changes arriving during an export is followed, but not forever.
MAX_ROUNDS = 20


@handles(EXPORT.kind)
def export_routing(job: JobRun) -> str | None:
    settings = context.settings()
    engine, box = context.engine(), secret_box(settings.secret_key_bytes())
    key = database_key_of(job.subject_id, job.payload)
    time.sleep(settings.routing_debounce_seconds)
    for _round in range(MAX_ROUNDS):
        job.check()
        try:
            report = exporter.export(engine, box, key)
        except InvalidStateError as error:
            exporter.record_failure(engine, key, str(error))
            raise PermanentJobError("ROUTING_INVALID", str(error),
                                    details=error.problems) from error
        except (exporter.ExportError, psycopg.Error) as error:
            exporter.record_failure(engine, key, str(error))
            raise TransientJobError("PROXY_DATABASE", str(error)) from error
        if not report.targets:
            break  # no enabled proxy reads this database any more
        failed = sum(1 for outcome in report.proxies if outcome.error)
        job.progress(_round + 1, generation=report.generation,
                     rows_written=report.rows_written, proxies_failed=failed)
        log.info("routing export of %s: generation %d, %d rows written, %d proxies failed",
                 key[:12], report.generation, report.rows_written, failed)
        if not exporter.export_outstanding(engine, key):
            break
    return None


def queue_export(key: str) -> None:
    """Queue an export of one database, and send it even if an earlier one was never sent."""
    with session_scope(context.engine()) as session:
        routing_changes.queue_export(session, key)
        unsent = [job.id for job in session.exec(select(Job).where(
            Job.kind == EXPORT.kind, Job.status == JobStatus.QUEUED,
            col(Job.dispatched_at).is_(None)))]
    if unsent:
        dispatch(unsent)


def catch_up() -> None:
    settings = context.settings()
    engine, box = context.engine(), secret_box(settings.secret_key_bytes())
    for key in exporter.database_keys(engine):
        if exporter.export_outstanding(engine, key):
            queue_export(key)
        try:
            exporter.catch_up(engine, box, key)
        except (exporter.ExportError, psycopg.Error) as error:
            log.warning("catching up the proxies of %s failed: %s", key[:12], error)


def reconcile() -> None:
    """A change request for everything: the next export of every database compares every
    row (it is attributed to no ISP, so no ISP's routing status waits for it)."""
    if not exporter.database_keys(context.engine()):
        return
    # Queues (and, once committed, sends) the export of every database.
    with session_scope(context.engine()) as session:
        routing_changes.request_export(session)


PERIODIC_TASKS.append(PeriodicTask("routing.catch_up", CATCH_UP_INTERVAL_SECONDS, catch_up))
PERIODIC_TASKS.append(PeriodicTask(
    "routing.reconcile", lambda: context.settings().routing_reconcile_seconds, reconcile))
