"""Attempt and run-time limits, Retry-After and permanent failures, through a real worker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import dramatiq
from sqlalchemy import Engine, update
from sqlmodel import Session

from core.database import session_scope
from core.jobs import JobSpec, PermanentJobError, TransientJobError, enqueue, register_kind
from core.models import Job, JobStatus
from workers import context
from workers.jobs import JobRun, handles

SLOW = register_kind(JobSpec(kind="test.slow", subject_type="Test", max_attempts=2,
                             timeout_seconds=1))
THROTTLED = register_kind(JobSpec(kind="test.throttled", subject_type="Test", max_attempts=3))
BROKEN = register_kind(JobSpec(kind="test.broken", subject_type="Test", max_attempts=5))
CANCELLABLE = register_kind(JobSpec(kind="test.cancellable", subject_type="Test"))
CHECKPOINTED = register_kind(JobSpec(kind="test.checkpointed", subject_type="Test",
                                     max_attempts=1))


@handles(SLOW.kind)
def _runs_forever(job: JobRun) -> None:
    while True:
        time.sleep(0.05)
        job.check()


@handles(THROTTLED.kind)
def _throttled_once(job: JobRun) -> str:
    if job.attempt == 1:
        raise TransientJobError("RATE_LIMITED", "429 from the provider", retry_after=1.5)
    return "done"


@handles(BROKEN.kind)
def _bad_credentials(job: JobRun) -> None:
    raise PermanentJobError("CONSENT_REVOKED", "the provider refused our token")


@handles(CANCELLABLE.kind)
def _until_cancelled(job: JobRun) -> None:
    for step in range(600):
        job.progress(step)
        time.sleep(0.05)


@handles(CHECKPOINTED.kind)
def _checkpointed(job: JobRun) -> None:
    """Two steps, each a write and its checkpoint in one transaction; before the second,
    another worker takes the job over (as after a stale heartbeat)."""
    with session_scope(context.engine()) as session:
        session.execute(update(Job).where(Job.id == job.id).values(request_id="step 1"))
        job.save_in(session, step=1)
    job.report(1, steps=1)
    with session_scope(context.engine()) as session:
        session.execute(update(Job).where(Job.id == job.id).values(worker_id="elsewhere"))
    with session_scope(context.engine()) as session:
        session.execute(update(Job).where(Job.id == job.id).values(request_id="step 2"))
        job.save_in(session, step=2)  # not ours any more: raises, the step rolls back


ENDED_WITH_WORK = register_kind(JobSpec(kind="test.ended_with_work", subject_type="Test",
                                        max_attempts=2))


@handles(ENDED_WITH_WORK.kind)
def _ended_with_work(job: JobRun) -> None:
    """The first attempt's last transaction ends the job, then fails before its commit;
    the second one's commits: the end is written exactly when the work is."""
    with session_scope(context.engine()) as session:
        session.execute(update(Job).where(Job.id == job.id)
                        .values(request_id=f"work of attempt {job.attempt}"))
        job.end_in(session, 3, created=3)
        if job.attempt == 1:
            raise TransientJobError("UNAVAILABLE", "the commit never happened")


REPORTED = register_kind(JobSpec(kind="test.reported", subject_type="Test"))


@handles(REPORTED.kind)
def _reported(job: JobRun) -> None:
    job.report(12, created=10, updated=2)


def _start(kind: str) -> uuid.UUID:
    with session_scope(context.engine()) as session:
        return enqueue(session, kind, uuid.uuid4()).job.id


def _job(engine: Engine, job_id: uuid.UUID) -> Job:
    with Session(engine) as session:
        return session.get(Job, job_id)


def _wait(engine: Engine, job_id: uuid.UUID, done: Callable[[Job], bool],
          timeout: float = 20) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _job(engine, job_id)
        if done(job):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job never got there: {_job(engine, job_id)}")


def test_a_job_past_its_time_limit_is_stopped_and_retried_until_its_attempts_end(
    engine: Engine, worker: dramatiq.Broker
):
    job_id = _start(SLOW.kind)
    job = _wait(engine, job_id, lambda j: j.status is JobStatus.FAILED)
    assert job.attempts == 2
    assert job.error_code == "TIMEOUT"
    assert [error["code"] for error in job.errors] == ["TIMEOUT", "TIMEOUT"]


def test_retry_waits_at_least_for_retry_after(engine: Engine, worker: dramatiq.Broker):
    job_id = _start(THROTTLED.kind)
    first = _wait(engine, job_id, lambda j: j.status is JobStatus.QUEUED and j.attempts == 1)
    retried_at = time.time()
    assert first.run_after.timestamp() - retried_at >= 1.0  # 1.5 s floor, minus our own delay
    job = _wait(engine, job_id, lambda j: j.status is JobStatus.SUCCEEDED)
    assert job.attempts == 2
    assert job.started_at.timestamp() >= first.run_after.timestamp() - 0.01
    assert job.result_ref == "done"


def test_a_permanent_failure_ends_the_job_at_once(engine: Engine, worker: dramatiq.Broker):
    job_id = _start(BROKEN.kind)
    job = _wait(engine, job_id, lambda j: j.status is JobStatus.FAILED)
    assert (job.attempts, job.error_code) == (1, "CONSENT_REVOKED")


def test_a_running_job_stops_when_cancelled(engine: Engine, worker: dramatiq.Broker):
    from core.jobs import cancel

    job_id = _start(CANCELLABLE.kind)
    _wait(engine, job_id, lambda j: j.progress_done >= 3)
    with Session(engine) as session:
        cancel(session, session.get(Job, job_id))
        session.commit()
    job = _wait(engine, job_id, lambda j: j.status is JobStatus.CANCELLED)
    assert job.progress_done < 600


def test_a_checkpoint_commits_with_its_step_and_never_for_a_lost_job(engine: Engine,
                                                                    worker: dramatiq.Broker):
    job_id = _start(CHECKPOINTED.kind)
    job = _wait(engine, job_id, lambda j: j.request_id == "step 1" and j.payload.get("step")
                and j.worker_id == "elsewhere")
    time.sleep(0.3)  # the second step had its chance
    job = _job(engine, job_id)
    assert job.payload["step"] == 1
    assert job.request_id == "step 1"  # the lost job's second step was rolled back
    assert job.status is JobStatus.RUNNING  # the other worker's now: this one wrote no end


def test_final_figures_are_written_with_the_end(engine: Engine, worker: dramatiq.Broker):
    job_id = _start(REPORTED.kind)
    job = _wait(engine, job_id, lambda j: j.status is JobStatus.SUCCEEDED)
    assert job.progress_done == 12
    assert job.counters == {"created": 10, "updated": 2}


def test_a_job_ended_in_its_work_transaction_ends_with_it_or_not_at_all(
    engine: Engine, worker: dramatiq.Broker
):
    job_id = _start(ENDED_WITH_WORK.kind)
    job = _wait(engine, job_id, lambda j: j.status is JobStatus.SUCCEEDED)
    # The first attempt's end rolled back with its work: it was retried, not ended.
    assert (job.attempts, job.request_id) == (2, "work of attempt 2")
    assert [error["code"] for error in job.errors] == ["UNAVAILABLE"]
    assert (job.progress_done, job.counters) == (3, {"created": 3})
    assert job.finished_at is not None
