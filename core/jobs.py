"""Background jobs: the database row is the truth, the broker only carries its id.

A job is written in the same transaction as the change that asks for it; the
ids enqueued in a transaction are collected on the session, and
``core.database.session_scope`` / ``async_session_scope`` (every transaction of the
API, the workers and the sync) hand them to the broker once it has committed.
Every state change is one conditional UPDATE, so it is atomic on PostgreSQL and
SQLite alike and two workers can never both own a job:

    QUEUED --claim--> RUNNING --finish--> SUCCEEDED | FAILED | CANCELLED
      ^                  |
      +--- retry_later --+   (backoff; a stale heartbeat also sends it back)
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from core.errors import DomainError, ErrorCode
from core.logs import current_request_id
from core.models import ACTIVE_JOB_STATUSES, Job, JobStatus, utcnow
from core.viewer import Viewer

# Defaults; the settings job_stale_seconds and job_resend_seconds override them.
STALE_AFTER = dt.timedelta(seconds=30)
RESEND_AFTER = dt.timedelta(minutes=2)
HEARTBEAT_INTERVAL = dt.timedelta(seconds=5)
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 300.0

_PENDING_DISPATCH = "wehostvoip.jobs_to_dispatch"
TERMINAL_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED,
                     JobStatus.NEEDS_CONFIRMATION)


MAX_ERROR_DETAILS = 100


class JobError(Exception):
    """A job attempt failed; ``code`` is what the web app shows, ``details`` the specifics
    (e.g. one line per bad row of an imported file)."""

    def __init__(self, code: str, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = (details or [])[:MAX_ERROR_DETAILS]


class TransientJobError(JobError):
    """Worth trying again: a network fault, a 429 or 5xx, a serialization failure."""

    def __init__(self, code: str, message: str, retry_after: float | None = None,
                 details: list[str] | None = None) -> None:
        super().__init__(code, message, details)
        self.retry_after = retry_after


class PermanentJobError(JobError):
    """Trying again cannot help (bad credentials, revoked consent): fail now."""


class NeedsConfirmationError(JobError):
    """The job stopped before a change too large to make unasked; a person decides."""


@dataclass(frozen=True)
class JobSpec:
    """The limits of one kind of job."""

    kind: str
    subject_type: str
    max_attempts: int = 5
    timeout_seconds: int = 3600


_SPECS: dict[str, JobSpec] = {}


def register_kind(spec: JobSpec) -> JobSpec:
    _SPECS[spec.kind] = spec
    return spec


def spec_of(kind: str) -> JobSpec:
    try:
        return _SPECS[kind]
    except KeyError:
        raise ValueError(f"unknown job kind {kind!r}") from None


# Enqueueing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Enqueued:
    job: Job
    created: bool  # False: a job for the same kind and subject was already queued or running


def enqueue(
    session: Session,
    kind: str,
    subject_id: uuid.UUID | str,
    *,
    payload: dict[str, Any] | None = None,
    isp_id: uuid.UUID | None = None,
    tenant_id: uuid.UUID | None = None,
    requested_by_id: uuid.UUID | None = None,
) -> Enqueued:
    """Add a job to the caller's transaction, or return the one already active.

    At most one job per (kind, subject) is queued or running: the database's
    partial unique index decides when two requests race.
    """
    spec = spec_of(kind)
    subject = str(subject_id)
    active = _active(session, kind, spec.subject_type, subject)
    if active is not None:
        return Enqueued(job=active, created=False)
    job = Job(kind=kind, subject_type=spec.subject_type, subject_id=subject,
              payload=payload or {}, isp_id=isp_id, tenant_id=tenant_id,
              requested_by_id=requested_by_id, max_attempts=spec.max_attempts,
              timeout_seconds=spec.timeout_seconds, request_id=current_request_id())
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        active = _active(session, kind, spec.subject_type, subject)
        if active is None:
            raise
        return Enqueued(job=active, created=False)
    session.info.setdefault(_PENDING_DISPATCH, []).append(job.id)
    return Enqueued(job=job, created=True)


def _active(session: Session, kind: str, subject_type: str, subject_id: str) -> Job | None:
    return session.exec(select(Job).where(
        Job.kind == kind, Job.subject_type == subject_type, Job.subject_id == subject_id,
        col(Job.status).in_(ACTIVE_JOB_STATUSES),
    )).first()


# Sends committed jobs and marks them sent in the given database (None: the process's own).
Dispatcher = Callable[[list[uuid.UUID], Engine | None], None]
_dispatcher: Dispatcher | None = None


def set_dispatcher(dispatcher: Dispatcher | None) -> Dispatcher | None:
    """How committed jobs reach the broker in this process (the workers package sets it;
    None: no broker here, the reconciler sends them); returns the one it replaces."""
    global _dispatcher
    previous, _dispatcher = _dispatcher, dispatcher
    return previous


def dispatch(job_ids: list[uuid.UUID], engine: Engine | None = None) -> None:
    """Hand jobs whose transaction has committed (in ``engine``'s database; None: the
    process's configured one) to the broker, if this process has one (without one, the
    reconciler of a worker process sends them)."""
    if job_ids and _dispatcher is not None:
        _dispatcher(job_ids, engine)


def take_pending_dispatch(session: OrmSession) -> list[uuid.UUID]:
    """The jobs enqueued in this session's transaction, to send once it has committed."""
    return session.info.pop(_PENDING_DISPATCH, [])


def mark_dispatched(session: Session, job_ids: list[uuid.UUID]) -> None:
    if job_ids:
        session.execute(update(Job).where(col(Job.id).in_(job_ids))
                        .values(dispatched_at=utcnow()))


# Running ---------------------------------------------------------------------------------


def claim(session: Session, job_id: uuid.UUID, worker_id: str,
          stale_after: dt.timedelta = STALE_AFTER) -> Job | None:
    """Make this worker the job's owner, or None when it is not to be run now.

    A queued job that is due is claimed; so is a running one whose worker
    stopped heart-beating. Anything else (running elsewhere, finished, not yet
    due) is left alone: a duplicate message is harmless.
    """
    now = utcnow()
    due = and_(col(Job.status) == JobStatus.QUEUED,
               or_(col(Job.run_after).is_(None), col(Job.run_after) <= now))
    # A job whose worker died is taken over only while it has attempts left
    # (one that kills its worker every time must not run forever).
    abandoned = and_(col(Job.status) == JobStatus.RUNNING,
                     col(Job.heartbeat_at) < now - stale_after,
                     col(Job.attempts) < Job.max_attempts)
    statement = (
        update(Job).where(col(Job.id) == job_id, or_(due, abandoned)).values(
            status=JobStatus.RUNNING, attempts=Job.attempts + 1, worker_id=worker_id,
            heartbeat_at=now, started_at=now, run_after=None, updated_at=now,
        ).returning(Job).execution_options(populate_existing=True)
    )
    return session.execute(statement).scalars().first()


@dataclass(frozen=True)
class Beat:
    owned: bool  # False: another worker took the job over
    cancel_requested: bool


def heartbeat(session: Session, job_id: uuid.UUID, worker_id: str, *,
              done: int | None = None, total: int | None = None,
              counters: dict[str, int] | None = None) -> Beat:
    values: dict[str, Any] = {"heartbeat_at": utcnow(), "updated_at": utcnow()}
    if done is not None:
        values["progress_done"] = done
    if total is not None:
        values["progress_total"] = total
    if counters is not None:
        values["counters"] = counters
    result = session.exec(update(Job).where(
        col(Job.id) == job_id, col(Job.worker_id) == worker_id,
        col(Job.status) == JobStatus.RUNNING,
    ).values(**values))
    if result.rowcount != 1:
        return Beat(owned=False, cancel_requested=False)
    cancel = session.exec(select(Job.cancel_requested_at).where(Job.id == job_id)).one()
    return Beat(owned=True, cancel_requested=cancel is not None)


def save_payload(session: Session, job_id: uuid.UUID, worker_id: str,
                 payload: dict[str, Any]) -> bool:
    """Store ``payload`` (what the worker holds, with a checkpoint, say) as the payload of a
    job this worker runs, for its next attempt; False when the job is no longer this
    worker's. One statement: while a job runs, only its owner writes its payload, so the
    owner's copy is the current one and need not be read back."""
    result = session.exec(update(Job).where(
        col(Job.id) == job_id, col(Job.worker_id) == worker_id,
        col(Job.status) == JobStatus.RUNNING,
    ).values(payload=payload, updated_at=utcnow()))
    return result.rowcount == 1


def finish(session: Session, job_id: uuid.UUID, worker_id: str, status: JobStatus, *,
           error: JobError | None = None, result_ref: str | None = None,
           done: int | None = None, counters: dict[str, int] | None = None) -> bool:
    """End the job; False when this worker no longer owned it. ``done`` and ``counters``:
    the final progress, written with the end rather than by a heartbeat of its own."""
    values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "updated_at": utcnow(),
                              "result_ref": result_ref}
    if done is not None:
        values["progress_done"] = done
    if counters is not None:
        values["counters"] = counters
    if error is not None:
        job = session.get(Job, job_id)
        values["error_code"] = error.code
        values["errors"] = [*(job.errors if job else []), _error_entry(error)]
    result = session.exec(update(Job).where(
        col(Job.id) == job_id, col(Job.worker_id) == worker_id,
        col(Job.status) == JobStatus.RUNNING,
    ).values(**values))
    return result.rowcount == 1


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter; a provider's Retry-After is a floor."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempt - 1, 0))
    delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography
    return max(delay, retry_after or 0.0)


def retry_later(session: Session, job_id: uuid.UUID, worker_id: str,
                error: TransientJobError) -> float | None:
    """Queue the job again after a backoff; None when its attempts are used up (then FAILED)."""
    job = session.get(Job, job_id, populate_existing=True)
    if job is None or job.worker_id != worker_id or job.status is not JobStatus.RUNNING:
        return None
    if job.attempts >= job.max_attempts:
        finish(session, job_id, worker_id, JobStatus.FAILED, error=error)
        return None
    delay = backoff_seconds(job.attempts, error.retry_after)
    session.execute(update(Job).where(col(Job.id) == job_id,
                                      col(Job.worker_id) == worker_id).values(
        status=JobStatus.QUEUED, worker_id=None, updated_at=utcnow(),
        run_after=utcnow() + dt.timedelta(seconds=delay),
        errors=[*job.errors, _error_entry(error)],
    ))
    return delay


def _error_entry(error: JobError) -> dict[str, Any]:
    return {"code": error.code, "message": error.message[:500], "at": utcnow().isoformat(),
            "details": [detail[:500] for detail in error.details]}


# Cancelling and recovering --------------------------------------------------------------------


def require_canceller(viewer: Viewer, job: Job) -> None:
    """Only someone who may change the job's scope stops it; seeing a job is not enough."""
    if job.tenant_id is not None and job.isp_id is not None:
        allowed = viewer.can_manage_tenant(job.isp_id, job.tenant_id)
    elif job.isp_id is not None:
        allowed = viewer.can_manage_isp(job.isp_id)
    else:
        allowed = viewer.is_platform_admin
    if not allowed:
        raise DomainError.single(ErrorCode.NOT_PERMITTED,
                                 "your role can follow this job but not cancel it", "id")


def cancel(session: Session, job: Job) -> Job:
    """Cancel a queued job now; ask a running one to stop at its next heartbeat."""
    now = utcnow()
    if job.status in TERMINAL_STATUSES:
        raise DomainError.single(ErrorCode.INVALID, f"the job has already ended ({job.status})",
                                 "id")
    if job.status is JobStatus.QUEUED:
        session.execute(update(Job).where(col(Job.id) == job.id,
                                          col(Job.status) == JobStatus.QUEUED)
                        .values(status=JobStatus.CANCELLED, finished_at=now, updated_at=now))
    session.execute(update(Job).where(col(Job.id) == job.id).values(cancel_requested_at=now))
    session.flush()
    refreshed = session.get(Job, job.id, populate_existing=True)
    assert refreshed is not None  # the row was just updated
    return refreshed


WORKER_LOST = "WORKER_LOST"


def _fail_exhausted(session: Session, abandoned: Any, now: dt.datetime) -> None:
    """Abandoned jobs that used all their attempts end FAILED instead of running again."""
    exhausted = session.exec(select(Job).where(abandoned, Job.attempts >= Job.max_attempts)).all()
    for job in exhausted:
        error = PermanentJobError(WORKER_LOST, "the worker running the job stopped "
                                               "responding on every attempt")
        session.execute(update(Job).where(col(Job.id) == job.id).values(
            status=JobStatus.FAILED, error_code=error.code, finished_at=now, updated_at=now,
            worker_id=None, errors=[*job.errors, _error_entry(error)]))


def recover_lost(session: Session, stale_after: dt.timedelta = STALE_AFTER,
                 resend_after: dt.timedelta = RESEND_AFTER) -> list[uuid.UUID]:
    """Jobs whose message or worker was lost, made ready to be sent again.

    Running jobs without a heartbeat go back to the queue; queued jobs that are
    due and were not (re)sent recently are returned for sending.
    """
    now = utcnow()
    abandoned = and_(col(Job.status) == JobStatus.RUNNING,
                     col(Job.heartbeat_at) < now - stale_after)
    _fail_exhausted(session, abandoned, now)
    session.execute(update(Job).where(abandoned).values(
        status=JobStatus.QUEUED, worker_id=None, dispatched_at=None, updated_at=now))
    lost = session.exec(select(Job.id).where(
        Job.status == JobStatus.QUEUED,
        or_(col(Job.run_after).is_(None), col(Job.run_after) <= now),
        or_(col(Job.dispatched_at).is_(None),
            col(Job.dispatched_at) < now - resend_after),
    ).order_by(col(Job.created_at))).all()
    return list(lost)
