"""Collecting call records: the periodic ``call_records.collect`` task and its jobs.

Every minute the scheduler queues one ``call_records.collect`` job per proxy
database that an enabled proxy reads (none while one is queued or running), so
a long backlog is worked through by a worker, not by the scheduler's thread.
The job collects that database (``core.call_collection``): batch after batch,
each its own transaction, until the rows written so far are in. A database
that cannot be reached keeps its rows (the proxy writes them locally); the job
is retried later and the watermark records the error.
"""

from __future__ import annotations

import logging

import psycopg
from sqlalchemy import Engine, select, text
from sqlmodel import Session, col

from core import call_collection, call_collection_sql
from core.call_collection import BATCH_SIZE, CollectionReport
from core.database import session_scope
from core.jobs import TransientJobError
from core.models import SipProxy
from core.rating import Rater
from core.secrets import SecretBox, secret_box
from core.sip_proxies import proxy_database_url
from workers import context
from workers.jobs import JobRun, handles
from workers.registry import PERIODIC_TASKS, PeriodicTask

log = logging.getLogger(__name__)

COLLECT_INTERVAL_SECONDS = 60
# A tick collects at most this many batches per database; the next tick goes on.
MAX_BATCHES = 200


def database_keys(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.execute(select(col(SipProxy.database_key)).where(col(SipProxy.enabled))
                                    .distinct().order_by(col(SipProxy.database_key))).scalars())


def _database_url(engine: Engine, box: SecretBox, key: str) -> str | None:
    with Session(engine) as session:
        proxy = session.execute(select(SipProxy).where(
            col(SipProxy.database_key) == key, col(SipProxy.enabled)).order_by(SipProxy.name)
        ).scalars().first()
        return proxy_database_url(box, proxy) if proxy else None


def collect_database(engine: Engine, box: SecretBox, key: str, *,
                     batch_size: int | None = None,
                     max_batches: int = MAX_BATCHES) -> CollectionReport:
    """Collect one proxy database until it has no more rows (or ``max_batches``); batches
    of ``batch_size`` rows (default: the size of the database's collection path)."""
    report = CollectionReport()
    if batch_size is None:
        batch_size = (call_collection_sql.BATCH_SIZE if engine.dialect.name == "postgresql"
                      else BATCH_SIZE)
    url = _database_url(engine, box, key)
    if url is None:
        return report
    try:
        with psycopg.connect(url, connect_timeout=10) as proxy:
            rater: Rater | None = None
            for _batch in range(max_batches):
                # A batch that spends a prepaid balance queues an export (core.prepaid):
                # sent as soon as the batch commits (session_scope dispatches after commit).
                with session_scope(engine) as session:
                    rater = rater or Rater(session)
                    batch = call_collection.collect_batch(session, proxy, key, rater=rater,
                                                          batch_size=batch_size)
                proxy.rollback()  # end the read transaction: the next batch sees new rows
                report.batches.append(batch)
                if batch.rows < batch_size:
                    break
    except psycopg.Error as error:
        with session_scope(engine) as session:
            call_collection.record_failure(session, key, str(error))
        raise
    if engine.dialect.name == "postgresql" and len(report.batches) > 1:
        # A backlog just went in faster than autovacuum notices: without fresh statistics
        # the planner takes the daily totals for an empty table, and usageSummary sorts
        # a month of them on disk instead of hashing them (5x slower).
        with engine.connect() as connection:
            connection.execute(text("ANALYZE call_usage_day"))
            connection.commit()
    return report


@handles(call_collection.COLLECT.kind)
def collect(job: JobRun) -> None:
    settings = context.settings()
    engine, box = context.engine(), secret_box(settings.secret_key_bytes())
    key = job.payload["database_key"]
    try:
        report = collect_database(engine, box, key)
    except psycopg.Error as error:
        raise TransientJobError("PROXY_DATABASE", str(error)) from error
    job.progress(report.rows, report.rows, calls=report.calls)
    if report.rows:
        log.info("call records of %s: %d rows, %d calls", key[:12], report.rows,
                 report.calls)


def queue_all() -> None:
    """Queue the collection of every proxy database (the periodic task)."""
    for key in database_keys(context.engine()):
        with session_scope(context.engine()) as session:
            call_collection.queue_collection(session, key)


PERIODIC_TASKS.append(PeriodicTask("call_records.collect", COLLECT_INTERVAL_SECONDS,
                                   queue_all))
