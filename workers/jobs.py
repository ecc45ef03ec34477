"""Running jobs: one actor claims a job row, runs its kind's handler, records the end.

Handlers are plain functions ``handler(job: JobRun) -> str | None`` registered
per kind with :func:`handles`. They report progress with ``job.progress(...)``
and call ``job.check()`` between steps, which raises when the job was
cancelled, ran past its time limit or was taken over by another worker.
A handler raises TransientJobError to be retried with backoff, and
PermanentJobError to fail at once with a code the web app can show.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from core import jobs as job_rules
from core.database import session_scope
from core.jobs import JobError, NeedsConfirmationError, PermanentJobError, TransientJobError
from core.logs import log_context
from core.models import Job, JobStatus, utcnow
from core.telemetry import JOB_QUEUE_WAIT, JOB_RUN_TIME, JOBS_FINISHED
from workers import context
from workers.registry import PERIODIC_TASKS, PeriodicTask, actor

log = logging.getLogger(__name__)

Handler = Callable[["JobRun"], str | None]
_HANDLERS: dict[str, Handler] = {}

# Above any job kind's own limit; the kind's limit is enforced by JobRun.check().
HARD_TIME_LIMIT_MS = 6 * 3600 * 1000


def handles(kind: str) -> Callable[[Handler], Handler]:
    """Register the handler of a job kind (its JobSpec lives in core)."""

    def register(handler: Handler) -> Handler:
        job_rules.spec_of(kind)  # the kind must be declared
        _HANDLERS[kind] = handler
        return handler

    return register


class JobStopped(Exception):  # noqa: N818 - a signal to unwind, not an error
    """The job must stop: cancelled, out of time, or owned by another worker now."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


@dataclass
class JobRun:
    """What a handler sees of its job while it runs."""

    id: uuid.UUID
    kind: str
    subject_id: str
    payload: dict[str, Any]
    attempt: int
    owner: str
    deadline: float
    request_id: str | None = None
    # Seconds from the job's creation (or its retry time) to this attempt's start.
    waited: float = 0.0
    _stop: str | None = None
    _counters: dict[str, int] = field(default_factory=dict)
    _final: int | None = None  # set by report(): the progress the end records
    _ended: bool = False  # set by end_in(): the job's end is written (with the work)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def progress(self, done: int, total: int | None = None, **counters: int) -> None:
        """Record progress now (it also counts as a heartbeat)."""
        with self._lock:
            self._counters.update(counters)
            snapshot = dict(self._counters)
        self._beat(done=done, total=total, counters=snapshot)
        self.check()

    def save(self, **values: Any) -> None:
        """Keep ``values`` in the job's payload for its next attempt (a checkpoint)."""
        with session_scope(context.engine()) as session:
            self.save_in(session, **values)
        self.check()

    def save_in(self, session: Session, **values: Any) -> None:
        """Keep ``values`` in the job's payload, in the caller's transaction: a checkpoint
        then commits (or rolls back) with the work it stands for, and costs no commit of
        its own. Raises JobStopped when another worker owns the job now: what the caller
        wrote in the transaction is rolled back rather than written twice."""
        payload = {**self.payload, **values}
        if not job_rules.save_payload(session, self.id, self.owner, payload):
            self._stop = "LOST"
            raise JobStopped(self._stop)
        self.payload = payload

    def report(self, done: int, **counters: int) -> None:
        """The final figures, written with the job's end (no write of their own now)."""
        with self._lock:
            self._counters.update(counters)
            self._final = done

    def end_in(self, session: Session, done: int, **counters: int) -> None:
        """End the job as succeeded in the caller's transaction, its work's last one: the
        end commits (or rolls back) with the work and costs no transaction of its own (a
        small job's fixed cost is mostly transactions). The handler then returns; raises
        JobStopped when another worker owns the job now, like ``save_in``."""
        with self._lock:
            self._counters.update(counters)
            snapshot = dict(self._counters)
        if not job_rules.finish(session, self.id, self.owner, JobStatus.SUCCEEDED, done=done,
                                counters=snapshot):
            self._stop = "LOST"
            raise JobStopped(self._stop)
        self._ended = True

    def check(self) -> None:
        """Raise JobStopped when the job must not go on."""
        if self._ended:
            return  # nothing left to stop: the end is written
        if self._stop is None and time.monotonic() > self.deadline:
            self._stop = "TIMEOUT"
        if self._stop is not None:
            raise JobStopped(self._stop)

    def _beat(self, **values: Any) -> None:
        if self._ended:
            return  # the job is no longer RUNNING: no heartbeat would find it
        with session_scope(context.engine()) as session:
            beat = job_rules.heartbeat(session, self.id, self.owner, **values)
        if not beat.owned:
            self._stop = "LOST"
        elif beat.cancel_requested:
            self._stop = "CANCELLED"


def _heartbeat_loop(run: JobRun, stop: threading.Event) -> None:
    interval = job_rules.HEARTBEAT_INTERVAL.total_seconds()
    while not stop.wait(interval):
        try:
            run._beat()
        except Exception:
            log.exception("heartbeat of job %s failed", run.id)


def _claim(job_id: uuid.UUID, owner: str) -> JobRun | None:
    with session_scope(context.engine()) as session:
        job = job_rules.claim(session, job_id, owner, _stale_after())
        if job is None:
            return None
        ready = job.run_after or job.created_at
        return JobRun(id=job.id, kind=job.kind, subject_id=job.subject_id,
                      payload=dict(job.payload), attempt=job.attempts, owner=owner,
                      deadline=time.monotonic() + job.timeout_seconds,
                      request_id=job.request_id,
                      waited=max(0.0, (utcnow() - ready).total_seconds()))


@actor(queue_name="jobs", max_retries=0, time_limit=HARD_TIME_LIMIT_MS)
def run_job(job_id: str) -> None:
    """Run one job attempt. Idempotent: a duplicate message finds nothing to claim."""
    owner = worker_id()
    run = _claim(uuid.UUID(job_id), owner)
    if run is None:
        return
    JOB_QUEUE_WAIT.labels(run.kind).observe(run.waited)
    started = time.perf_counter()
    with log_context(request_id=run.request_id, job_id=str(run.id), job_kind=run.kind):
        outcome = _run(run, owner, job_id)
    JOB_RUN_TIME.labels(run.kind).observe(time.perf_counter() - started)
    JOBS_FINISHED.labels(run.kind, outcome).inc()


def _run(run: JobRun, owner: str, job_id: str) -> str:
    """Run the handler; how the attempt ended, for the metrics."""
    handler = _HANDLERS.get(run.kind)
    stop = threading.Event()
    beating = threading.Thread(target=_heartbeat_loop, args=(run, stop), daemon=True,
                               name=f"heartbeat-{job_id[:8]}")
    beating.start()
    try:
        if handler is None:
            raise PermanentJobError("UNKNOWN_KIND", f"no handler for job kind {run.kind!r}")
        result_ref = handler(run)
    except JobStopped as stopped:
        _record_stop(run, stopped.reason)
        return stopped.reason.lower()
    except TransientJobError as error:
        _record_retry(run, error)
        return "retry"
    except PermanentJobError as error:
        _record_end(run, JobStatus.FAILED, error=error)
        return "failed"
    except NeedsConfirmationError as error:
        _record_end(run, JobStatus.NEEDS_CONFIRMATION, error=error)
        return "needs_confirmation"
    except Exception as error:
        log.exception("job %s (%s) failed unexpectedly", run.id, run.kind)
        _record_retry(run, TransientJobError("INTERNAL_ERROR", f"{type(error).__name__}"))
        return "retry"
    else:
        if not run._ended:  # else the handler wrote its end with its work (end_in)
            _record_end(run, JobStatus.SUCCEEDED, result_ref=result_ref)
        return "succeeded"
    finally:
        stop.set()


def _record_end(run: JobRun, status: JobStatus, *, error: JobError | None = None,
                result_ref: str | None = None) -> None:
    reported = run._final is not None
    with session_scope(context.engine()) as session:
        if not job_rules.finish(session, run.id, run.owner, status, error=error,
                                result_ref=result_ref, done=run._final,
                                counters=dict(run._counters) if reported else None):
            log.warning("job %s ended here but is no longer ours", run.id)


def _record_stop(run: JobRun, reason: str) -> None:
    if reason == "CANCELLED":
        _record_end(run, JobStatus.CANCELLED)
    elif reason == "TIMEOUT":
        _record_retry(run, TransientJobError("TIMEOUT", "the job ran past its time limit"))
    else:
        log.info("job %s was taken over by another worker", run.id)


def _record_retry(run: JobRun, error: TransientJobError) -> None:
    with session_scope(context.engine()) as session:
        delay = job_rules.retry_later(session, run.id, run.owner, error)
    if delay is not None:
        log.info("job %s will retry in %.1f s (%s)", run.id, delay, error.code)
        _send(run.id, delay_seconds=delay)


def _send(job_id: uuid.UUID, delay_seconds: float = 0) -> None:
    delay = int(delay_seconds * 1000) if delay_seconds > 0 else None
    run_job.send_with_options(args=(str(job_id),), delay=delay)
    with session_scope(context.engine()) as session:
        job_rules.mark_dispatched(session, [job_id])


def dispatch(job_ids: Iterable[uuid.UUID], engine: Engine | None = None) -> None:
    """Hand committed jobs to the broker and mark them sent in ``engine``'s database (None:
    the worker context's). A failure is logged: the reconciler resends."""
    sent: list[uuid.UUID] = []
    for job_id in job_ids:
        try:
            run_job.send(str(job_id))
        except Exception:
            log.exception("could not send job %s; the reconciler will", job_id)
        else:
            sent.append(job_id)
    if sent:
        with session_scope(engine or context.engine()) as session:
            job_rules.mark_dispatched(session, sent)


# Every transaction committed through core.database.session_scope in this process hands
# its queued jobs to the broker (a sync that changes subscribers queues a routing export).
job_rules.set_dispatcher(dispatch)


def _stale_after() -> dt.timedelta:
    return dt.timedelta(seconds=context.settings().job_stale_seconds)


def reconcile() -> int:
    """Send again every job whose message or worker was lost; returns how many."""
    resend_after = dt.timedelta(seconds=context.settings().job_resend_seconds)
    with session_scope(context.engine()) as session:
        lost = job_rules.recover_lost(session, _stale_after(), resend_after)
    dispatch(lost)
    if lost:
        log.info("reconciler re-sent %d jobs", len(lost))
    return len(lost)


def job_status(job_id: uuid.UUID) -> JobStatus | None:
    with session_scope(context.engine()) as session:
        job = session.get(Job, job_id)
        return job.status if job else None


RECONCILE_INTERVAL_SECONDS = 30
PERIODIC_TASKS.append(PeriodicTask("jobs.reconcile", RECONCILE_INTERVAL_SECONDS, reconcile))
