"""Background jobs. The row is the truth about a job; the broker only carries it."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field, SQLModel

from core.models.base import IdMixin, TimestampsMixin, UTCDateTime, enum_type, foreign_key


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    # Stopped before a change too large to make unasked (directory sync's brake).
    NEEDS_CONFIRMATION = "NEEDS_CONFIRMATION"


ACTIVE_JOB_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class Job(IdMixin, TimestampsMixin, table=True):
    __tablename__ = "job"
    __table_args__ = (
        # At most one queued or running job per kind and subject, in the database.
        sa.Index(
            "uq_job_active_kind_subject",
            "kind",
            "subject_type",
            "subject_id",
            unique=True,
            sqlite_where=sa.text("status IN ('QUEUED', 'RUNNING')"),
            postgresql_where=sa.text("status IN ('QUEUED', 'RUNNING')"),
        ),
        sa.Index("ix_job_status_updated", "status", "updated_at"),
        sa.CheckConstraint("progress_done >= 0", name="progress_done"),
        sa.CheckConstraint("attempts >= 0", name="attempts"),
        sa.CheckConstraint("timeout_seconds > 0", name="timeout_seconds"),
    )

    kind: str = Field(max_length=64)
    subject_type: str = Field(max_length=64)
    subject_id: str = Field(max_length=64)
    # Scope of the job, for the same visibility rules as its subject.
    isp_id: uuid.UUID | None = foreign_key("isp.id", ondelete="CASCADE", nullable=True)
    tenant_id: uuid.UUID | None = foreign_key("tenant.id", ondelete="CASCADE", nullable=True)
    requested_by_id: uuid.UUID | None = foreign_key(
        "administrator.id", ondelete="SET NULL", nullable=True
    )
    status: JobStatus = Field(default=JobStatus.QUEUED, sa_type=enum_type(JobStatus, "job_status"))
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    progress_done: int = 0
    progress_total: int | None = None
    counters: dict[str, int] = Field(default_factory=dict, sa_type=JSON)
    errors: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    attempts: int = 0
    max_attempts: int = 5
    # Seconds one attempt may run before it is stopped and counted as failed.
    timeout_seconds: int = 3600
    result_ref: str | None = Field(default=None, max_length=255)
    # The code of the error that ended the job, for the web app to explain.
    error_code: str | None = Field(default=None, max_length=64)
    # When a message for this job was last handed to the broker.
    dispatched_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A retry waits until then (backoff, or a provider's Retry-After).
    run_after: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    worker_id: str | None = Field(default=None, max_length=100)
    # The API request that queued the job, so that its logs can be followed into the job.
    request_id: str | None = Field(default=None, max_length=64)
    cancel_requested_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    started_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    heartbeat_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class PeriodicTaskRun(SQLModel, table=True):
    """When each periodic task last started: the claim that makes it fire once per interval.

    A scheduler fires a task only if its conditional UPDATE of this row succeeds,
    so two schedulers started by mistake cannot both fire it.
    """

    __tablename__ = "periodic_task_run"

    name: str = Field(primary_key=True, max_length=100)
    last_started_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_scheduler: str = Field(default="", max_length=100)
