"""The job state machine of core.jobs, one rule at a time (on SQLite and on PostgreSQL).

Every transition is a conditional UPDATE of the job row, so these tests drive
the rules directly through sessions on the test database: who may claim a job,
who owns it afterwards, how it is retried, cancelled and recovered when its
message or its worker was lost.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core import jobs
from core.database import session_scope
from core.errors import DomainError, ErrorCode
from core.jobs import (
    BACKOFF_BASE_SECONDS,
    BACKOFF_CAP_SECONDS,
    JobSpec,
    PermanentJobError,
    TransientJobError,
    backoff_seconds,
    cancel,
    claim,
    enqueue,
    finish,
    heartbeat,
    recover_lost,
    register_kind,
    retry_later,
    take_pending_dispatch,
)
from core.models import Job, JobStatus, utcnow

SYNC = register_kind(JobSpec(kind="test.sync", subject_type="TestThing", max_attempts=3,
                             timeout_seconds=60))
# Two attempts only, to reach the attempt limit quickly.
FRAGILE = register_kind(JobSpec(kind="test.fragile", subject_type="TestThing", max_attempts=2,
                                timeout_seconds=60))

STALE = dt.timedelta(seconds=30)
RESEND = dt.timedelta(seconds=120)
WORKER_A = "host-a:1:1"
WORKER_B = "host-b:2:2"


# Helpers ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_broker() -> Iterator[None]:
    """The job rules alone: this process has no broker (as a process without workers),
    so committed jobs wait for the reconciler, whatever earlier tests imported."""
    previous = jobs.set_dispatcher(None)
    yield
    jobs.set_dispatcher(previous)


def _subject() -> str:
    return f"thing-{uuid.uuid4().hex[:12]}"


def _ago(seconds: float) -> dt.datetime:
    return utcnow() - dt.timedelta(seconds=seconds)


def _enqueue(engine: Engine, kind: str = SYNC.kind, subject: str | None = None) -> uuid.UUID:
    """A committed, queued job; returns its id."""
    with session_scope(engine) as session:
        return enqueue(session, kind, subject or _subject(), payload={"n": 1}).job.id


def _claimed(engine: Engine, worker: str = WORKER_A, kind: str = SYNC.kind) -> uuid.UUID:
    """A committed job that ``worker`` is running; returns its id."""
    job_id = _enqueue(engine, kind)
    with session_scope(engine) as session:
        assert claim(session, job_id, worker, STALE) is not None
    return job_id


def _load(engine: Engine, job_id: uuid.UUID) -> Job:
    with Session(engine, expire_on_commit=False) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def _set(engine: Engine, job_id: uuid.UUID, **values: Any) -> None:
    """Arrange a row directly (an old heartbeat, a past run_after, ...)."""
    with session_scope(engine) as session:
        session.execute(update(Job).where(Job.id == job_id).values(**values))


def _claim(engine: Engine, job_id: uuid.UUID, worker: str,
           stale_after: dt.timedelta = STALE) -> Job | None:
    with session_scope(engine) as session:
        return claim(session, job_id, worker, stale_after)


# Enqueueing: at most one active job per kind and subject ------------------------------------


def test_enqueue_creates_a_queued_job_with_the_limits_of_its_kind(session: Session):
    subject = _subject()
    queued = enqueue(session, FRAGILE.kind, subject, payload={"n": 7})
    session.commit()

    assert queued.created is True
    job = session.get(Job, queued.job.id)
    assert (job.status, job.kind, job.subject_type, job.subject_id) == (
        JobStatus.QUEUED, FRAGILE.kind, FRAGILE.subject_type, subject)
    assert (job.payload, job.attempts, job.max_attempts, job.timeout_seconds) == (
        {"n": 7}, 0, FRAGILE.max_attempts, FRAGILE.timeout_seconds)


def test_enqueue_of_an_unknown_kind_is_refused(session: Session):
    with pytest.raises(ValueError, match="unknown job kind"):
        enqueue(session, "test.never_registered", _subject())


def test_enqueue_returns_the_active_job_for_the_same_kind_and_subject(engine: Engine):
    subject = _subject()
    first = _enqueue(engine, subject=subject)

    with session_scope(engine) as session:
        again = enqueue(session, SYNC.kind, subject)
        assert take_pending_dispatch(session) == []  # nothing new to send
    assert (again.created, again.job.id) == (False, first)

    # While it runs, a second request still gets the running job.
    assert _claim(engine, first, WORKER_A) is not None
    with session_scope(engine) as session:
        running = enqueue(session, SYNC.kind, subject)
    assert (running.created, running.job.id, running.job.status) == (
        False, first, JobStatus.RUNNING)

    # Another kind, or another subject, is a job of its own.
    with session_scope(engine) as session:
        assert enqueue(session, FRAGILE.kind, subject).created is True
        assert enqueue(session, SYNC.kind, _subject()).created is True


def test_enqueue_creates_a_new_job_once_the_first_has_ended(engine: Engine):
    subject = _subject()
    first = _enqueue(engine, subject=subject)
    assert _claim(engine, first, WORKER_A) is not None
    with session_scope(engine) as session:
        assert finish(session, first, WORKER_A, JobStatus.SUCCEEDED)

    with session_scope(engine) as session:
        second = enqueue(session, SYNC.kind, subject)
    assert second.created is True
    assert second.job.id != first
    assert _load(engine, first).status is JobStatus.SUCCEEDED


def test_enqueue_that_loses_the_race_returns_the_winners_job(engine: Engine,
                                                              monkeypatch: pytest.MonkeyPatch):
    """Two requests both saw no active job; the unique index makes the later one reuse it."""
    subject = _subject()
    winner = _enqueue(engine, subject=subject)

    looked = 0
    real_active = jobs._active

    def active_as_seen_before_the_winner_committed(*args: Any) -> Job | None:
        nonlocal looked
        looked += 1
        return None if looked == 1 else real_active(*args)

    monkeypatch.setattr(jobs, "_active", active_as_seen_before_the_winner_committed)
    with session_scope(engine) as session:
        loser = enqueue(session, SYNC.kind, subject)
        assert take_pending_dispatch(session) == []
    assert (loser.created, loser.job.id) == (False, winner)
    assert looked == 2  # the insert was refused by the database, then the winner was found


def test_the_database_refuses_a_second_active_job_for_the_same_subject(engine: Engine):
    subject = _subject()
    row = {"kind": SYNC.kind, "subject_type": SYNC.subject_type, "subject_id": subject}
    with Session(engine) as session:
        session.add(Job(**row))
        session.commit()
        session.add(Job(**row, status=JobStatus.RUNNING))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()

        # Ended jobs do not count: the index only covers QUEUED and RUNNING.
        session.execute(update(Job).where(Job.subject_id == subject)
                        .values(status=JobStatus.SUCCEEDED))
        session.add(Job(**row))
        session.add(Job(**row, status=JobStatus.FAILED))
        session.commit()
        statuses = session.exec(select(Job.status).where(Job.subject_id == subject)).all()
    assert sorted(statuses) == sorted([JobStatus.SUCCEEDED, JobStatus.QUEUED, JobStatus.FAILED])


def test_take_pending_dispatch_returns_the_new_job_ids_once(session: Session):
    first = enqueue(session, SYNC.kind, _subject()).job.id
    second = enqueue(session, FRAGILE.kind, _subject()).job.id
    session.commit()

    assert take_pending_dispatch(session) == [first, second]
    assert take_pending_dispatch(session) == []


# Claiming -----------------------------------------------------------------------------------


def test_claim_makes_one_worker_the_owner(engine: Engine):
    job_id = _enqueue(engine)

    job = _claim(engine, job_id, WORKER_A)
    assert job is not None
    assert (job.status, job.worker_id, job.attempts) == (JobStatus.RUNNING, WORKER_A, 1)
    assert job.started_at is not None
    assert job.heartbeat_at is not None

    # A duplicate message, to this worker or another, finds nothing to claim.
    assert _claim(engine, job_id, WORKER_B) is None
    assert _claim(engine, job_id, WORKER_A) is None
    job = _load(engine, job_id)
    assert (job.worker_id, job.attempts) == (WORKER_A, 1)


def test_a_job_that_is_not_yet_due_is_not_claimed(engine: Engine):
    job_id = _enqueue(engine)
    _set(engine, job_id, run_after=utcnow() + dt.timedelta(minutes=5))
    assert _claim(engine, job_id, WORKER_A) is None
    assert _load(engine, job_id).status is JobStatus.QUEUED

    _set(engine, job_id, run_after=_ago(1))
    assert _claim(engine, job_id, WORKER_A) is not None


def test_ended_jobs_are_not_claimed(engine: Engine):
    job_id = _claimed(engine)
    with session_scope(engine) as session:
        assert finish(session, job_id, WORKER_A, JobStatus.SUCCEEDED)
    _set(engine, job_id, heartbeat_at=_ago(3600))
    assert _claim(engine, job_id, WORKER_B) is None
    assert _load(engine, job_id).status is JobStatus.SUCCEEDED


def test_a_running_job_whose_worker_stopped_heartbeating_is_taken_over(engine: Engine):
    job_id = _claimed(engine, WORKER_A)

    _set(engine, job_id, heartbeat_at=_ago(10))  # late, but not stale yet
    assert _claim(engine, job_id, WORKER_B) is None

    _set(engine, job_id, heartbeat_at=_ago(60))
    job = _claim(engine, job_id, WORKER_B)
    assert job is not None
    assert (job.status, job.worker_id, job.attempts) == (JobStatus.RUNNING, WORKER_B, 2)
    assert job.heartbeat_at > _ago(5)


# Heartbeats and the end of a run ---------------------------------------------------------------


def test_heartbeat_records_progress_for_the_owner(engine: Engine):
    job_id = _claimed(engine, WORKER_A)
    _set(engine, job_id, heartbeat_at=_ago(20))

    with session_scope(engine) as session:
        beat = heartbeat(session, job_id, WORKER_A, done=3, total=10, counters={"rows": 42})
    assert (beat.owned, beat.cancel_requested) == (True, False)
    job = _load(engine, job_id)
    assert (job.progress_done, job.progress_total, job.counters) == (3, 10, {"rows": 42})
    assert job.heartbeat_at > _ago(5)


def test_heartbeat_tells_a_worker_that_lost_the_job(engine: Engine):
    job_id = _claimed(engine, WORKER_A)
    _set(engine, job_id, heartbeat_at=_ago(60))
    assert _claim(engine, job_id, WORKER_B) is not None

    with session_scope(engine) as session:
        beat = heartbeat(session, job_id, WORKER_A, done=9)
    assert beat.owned is False
    job = _load(engine, job_id)
    assert (job.worker_id, job.progress_done) == (WORKER_B, 0)  # the old owner wrote nothing


def test_heartbeat_reports_a_cancel_request(engine: Engine):
    job_id = _claimed(engine, WORKER_A)
    with session_scope(engine) as session:
        cancel(session, session.get(Job, job_id))
    with session_scope(engine) as session:
        beat = heartbeat(session, job_id, WORKER_A, done=1)
    assert (beat.owned, beat.cancel_requested) == (True, True)


def test_only_the_owner_finishes_a_job(engine: Engine):
    job_id = _claimed(engine, WORKER_A)

    with session_scope(engine) as session:
        assert finish(session, job_id, WORKER_B, JobStatus.SUCCEEDED) is False
    assert _load(engine, job_id).status is JobStatus.RUNNING

    with session_scope(engine) as session:
        assert finish(session, job_id, WORKER_A, JobStatus.SUCCEEDED, result_ref="r-1") is True
    job = _load(engine, job_id)
    assert (job.status, job.result_ref, job.error_code) == (JobStatus.SUCCEEDED, "r-1", None)
    assert job.finished_at is not None

    with session_scope(engine) as session:  # a second end changes nothing
        assert finish(session, job_id, WORKER_A, JobStatus.FAILED) is False
    assert _load(engine, job_id).status is JobStatus.SUCCEEDED


def test_a_permanent_failure_ends_the_job_with_its_code(engine: Engine):
    job_id = _claimed(engine, WORKER_A)
    error = PermanentJobError("BAD_CREDENTIALS", "the provider refused the API key")
    with session_scope(engine) as session:
        assert finish(session, job_id, WORKER_A, JobStatus.FAILED, error=error)

    job = _load(engine, job_id)
    assert (job.status, job.error_code, job.attempts) == (JobStatus.FAILED, "BAD_CREDENTIALS", 1)
    assert [(e["code"], e["message"]) for e in job.errors] == [
        ("BAD_CREDENTIALS", "the provider refused the API key")]


# Retries --------------------------------------------------------------------------------------


def test_retry_later_queues_the_job_again_after_a_backoff(engine: Engine):
    job_id = _claimed(engine, WORKER_A)
    before = utcnow()
    with session_scope(engine) as session:
        delay = retry_later(session, job_id, WORKER_A,
                            TransientJobError("UPSTREAM_UNAVAILABLE", "503 from the provider"))
    after = utcnow()

    # First attempt: full jitter between half the base and the base.
    assert delay is not None
    assert BACKOFF_BASE_SECONDS / 2 <= delay <= BACKOFF_BASE_SECONDS
    job = _load(engine, job_id)
    assert (job.status, job.worker_id, job.attempts) == (JobStatus.QUEUED, None, 1)
    assert before + dt.timedelta(seconds=delay) <= job.run_after
    assert job.run_after <= after + dt.timedelta(seconds=delay)
    assert [e["code"] for e in job.errors] == ["UPSTREAM_UNAVAILABLE"]
    assert job.error_code is None  # not failed

    assert _claim(engine, job_id, WORKER_B) is None  # not due yet
    _set(engine, job_id, run_after=_ago(1))
    again = _claim(engine, job_id, WORKER_B)
    assert again is not None
    assert again.attempts == 2


def test_retry_later_honours_retry_after_as_a_floor(engine: Engine):
    job_id = _claimed(engine, WORKER_A)
    before = utcnow()
    with session_scope(engine) as session:
        delay = retry_later(session, job_id, WORKER_A,
                            TransientJobError("RATE_LIMITED", "429", retry_after=90))
    assert delay is not None
    assert delay >= 90
    assert _load(engine, job_id).run_after >= before + dt.timedelta(seconds=90)


def test_retry_later_by_a_worker_that_lost_the_job_changes_nothing(engine: Engine):
    job_id = _claimed(engine, WORKER_A)
    with session_scope(engine) as session:
        assert retry_later(session, job_id, WORKER_B,
                           TransientJobError("TIMEOUT", "late")) is None
    job = _load(engine, job_id)
    assert (job.status, job.worker_id, job.errors) == (JobStatus.RUNNING, WORKER_A, [])


def test_retry_later_fails_the_job_once_its_attempts_are_used_up(engine: Engine):
    job_id = _claimed(engine, WORKER_A, kind=FRAGILE.kind)
    with session_scope(engine) as session:
        assert retry_later(session, job_id, WORKER_A,
                           TransientJobError("UPSTREAM_UNAVAILABLE", "first")) is not None
    _set(engine, job_id, run_after=_ago(1))
    assert _claim(engine, job_id, WORKER_B) is not None  # attempt 2 of 2

    with session_scope(engine) as session:
        assert retry_later(session, job_id, WORKER_B,
                           TransientJobError("UPSTREAM_UNAVAILABLE", "second")) is None
    job = _load(engine, job_id)
    assert (job.status, job.attempts, job.error_code) == (
        JobStatus.FAILED, 2, "UPSTREAM_UNAVAILABLE")
    assert [e["message"] for e in job.errors] == ["first", "second"]
    assert job.finished_at is not None
    assert _claim(engine, job_id, WORKER_A) is None


def test_a_job_whose_worker_keeps_dying_is_not_run_beyond_max_attempts(engine: Engine):
    """The attempt limit also holds when every attempt loses its worker (e.g. it is OOM-killed).

    Each claim counts an attempt; once ``max_attempts`` attempts were made, a
    stale job must end FAILED instead of being recovered and run again forever.
    """
    job_id = _claimed(engine, WORKER_A, kind=FRAGILE.kind)  # attempt 1, worker dies
    _set(engine, job_id, heartbeat_at=_ago(60))
    assert _claim(engine, job_id, WORKER_B) is not None  # attempt 2 of 2, worker dies too
    _set(engine, job_id, heartbeat_at=_ago(60))

    with session_scope(engine) as session:
        resent = recover_lost(session, STALE, RESEND)
    third = _claim(engine, job_id, "host-c:3:3")
    job = _load(engine, job_id)
    assert (job_id in resent, third is not None, job.attempts) == (False, False, 2), (
        f"a job with max_attempts={FRAGILE.max_attempts} was recovered and claimed again "
        f"(attempt {job.attempts}, status {job.status})")
    assert job.status is JobStatus.FAILED
    assert job.error_code


# Backoff ----------------------------------------------------------------------------------------


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    def ceiling(attempt: int) -> float:
        return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))

    for attempt in (1, 2, 3, 5, 8, 12, 30, 100):
        samples = [backoff_seconds(attempt) for _ in range(50)]
        assert all(ceiling(attempt) / 2 <= s <= ceiling(attempt) for s in samples), attempt
        assert len(set(samples)) > 1, "no jitter"
    assert ceiling(3) == 4 * ceiling(1)
    assert max(backoff_seconds(100) for _ in range(50)) <= BACKOFF_CAP_SECONDS
    assert min(backoff_seconds(100) for _ in range(50)) >= BACKOFF_CAP_SECONDS / 2


def test_backoff_never_undercuts_a_retry_after():
    assert backoff_seconds(1, retry_after=120) == 120
    assert backoff_seconds(100, retry_after=900) == 900
    assert backoff_seconds(1, retry_after=0.1) >= BACKOFF_BASE_SECONDS / 2  # only a floor


# Cancelling -------------------------------------------------------------------------------------


def test_cancelling_a_queued_job_ends_it_at_once(engine: Engine):
    subject = _subject()
    job_id = _enqueue(engine, subject=subject)
    with session_scope(engine) as session:
        job = cancel(session, session.get(Job, job_id))
    assert job.status is JobStatus.CANCELLED
    assert job.finished_at is not None
    assert job.cancel_requested_at is not None
    assert _claim(engine, job_id, WORKER_A) is None

    with session_scope(engine) as session:  # the subject is free again
        assert enqueue(session, SYNC.kind, subject).created is True


def test_cancelling_a_running_job_asks_its_worker_to_stop(engine: Engine):
    job_id = _claimed(engine, WORKER_A)
    with session_scope(engine) as session:
        job = cancel(session, session.get(Job, job_id))
    assert (job.status, job.worker_id) == (JobStatus.RUNNING, WORKER_A)
    assert job.cancel_requested_at is not None

    with session_scope(engine) as session:
        assert finish(session, job_id, WORKER_A, JobStatus.CANCELLED)
    assert _load(engine, job_id).status is JobStatus.CANCELLED


@pytest.mark.parametrize("end", [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED])
def test_an_ended_job_cannot_be_cancelled(engine: Engine, end: JobStatus):
    job_id = _claimed(engine, WORKER_A)
    with session_scope(engine) as session:
        assert finish(session, job_id, WORKER_A, end)

    with session_scope(engine) as session, pytest.raises(DomainError) as refused:
        cancel(session, session.get(Job, job_id))
    assert [(e.code, e.field) for e in refused.value.errors] == [(ErrorCode.INVALID, ("id",))]
    assert _load(engine, job_id).status is end


# Recovering lost messages and lost workers -------------------------------------------------------


def test_recover_lost_requeues_stale_jobs_and_returns_those_to_send_again(engine: Engine):
    stale_running = _claimed(engine, WORKER_A)
    _set(engine, stale_running, heartbeat_at=_ago(60), dispatched_at=_ago(70))
    fresh_running = _claimed(engine, WORKER_B)
    _set(engine, fresh_running, dispatched_at=_ago(600))
    never_sent = _enqueue(engine)
    just_sent = _enqueue(engine)
    _set(engine, just_sent, dispatched_at=_ago(5))
    sent_long_ago = _enqueue(engine)
    _set(engine, sent_long_ago, dispatched_at=_ago(600))
    not_yet_due = _enqueue(engine)
    _set(engine, not_yet_due, run_after=utcnow() + dt.timedelta(minutes=5))
    succeeded = _claimed(engine, WORKER_A)
    with session_scope(engine) as session:
        finish(session, succeeded, WORKER_A, JobStatus.SUCCEEDED)
    _set(engine, succeeded, heartbeat_at=_ago(3600))

    with session_scope(engine) as session:
        lost = recover_lost(session, STALE, RESEND)

    assert set(lost) == {stale_running, never_sent, sent_long_ago}
    job = _load(engine, stale_running)
    assert (job.status, job.worker_id, job.dispatched_at) == (JobStatus.QUEUED, None, None)
    assert _load(engine, fresh_running).status is JobStatus.RUNNING
    assert _load(engine, succeeded).status is JobStatus.SUCCEEDED

    # The recovered job is claimed afresh by whichever worker gets the new message.
    rerun = _claim(engine, stale_running, WORKER_B)
    assert rerun is not None
    assert (rerun.worker_id, rerun.attempts) == (WORKER_B, 2)


def test_recover_lost_returns_jobs_in_creation_order(engine: Engine):
    ids = [_enqueue(engine) for _ in range(3)]
    for offset, job_id in enumerate(ids):
        _set(engine, job_id, created_at=_ago(100 - offset))
    with session_scope(engine) as session:
        assert recover_lost(session, STALE, RESEND) == ids
