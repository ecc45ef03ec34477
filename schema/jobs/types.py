"""Background jobs as GraphQL: what is running, how far it got, how it ended."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid

import strawberry
from strawberry.scalars import JSON

from core.models import Job, JobStatus
from schema.core.ids import to_global_id
from schema.core.node import Node, register_node

JobStatusEnum = strawberry.enum(JobStatus, name="JobStatus")


@strawberry.type
class JobProgress:
    done: int
    total: int | None = strawberry.field(description="Null while the total is not known yet.")


@strawberry.type
class JobErrorEntry:
    code: str
    message: str
    at: str
    details: list[str] = strawberry.field(description="Specifics, e.g. one per bad file line.")


@strawberry.type(name="Job", description="Long work started by a request; follow it here "
                 "or with the jobProgress subscription.")
class JobType(Node):
    kind: str
    status: JobStatusEnum  # type: ignore[valid-type]
    subject_type: str
    subject_id: str = strawberry.field(description="Global id of the object the job works on.")
    progress: JobProgress
    counters: JSON
    errors: list[JobErrorEntry] = strawberry.field(description="One entry per failed attempt.")
    error_code: str | None = strawberry.field(description="Why the job failed, when it did.")
    attempts: int
    max_attempts: int
    cancel_requested: bool
    result_ref: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: Job) -> JobType:
        subject = row.subject_id
        with contextlib.suppress(ValueError):  # subjects are usually rows, named by uuid
            subject = to_global_id(row.subject_type, uuid.UUID(row.subject_id))
        return cls(
            id=strawberry.ID(to_global_id("Job", row.id)), kind=row.kind, status=row.status,
            subject_type=row.subject_type, subject_id=subject,
            progress=JobProgress(done=row.progress_done, total=row.progress_total),
            counters=row.counters,
            errors=[JobErrorEntry(code=e.get("code", ""), message=e.get("message", ""),
                                  at=e.get("at", ""), details=e.get("details", []))
                    for e in row.errors],
            error_code=row.error_code, attempts=row.attempts, max_attempts=row.max_attempts,
            cancel_requested=row.cancel_requested_at is not None,
            result_ref=_reference(row.result_ref),
            created_at=row.created_at, started_at=row.started_at, finished_at=row.finished_at,
        )


def _reference(result_ref: str | None) -> str | None:
    """A result naming an object as ``Type:uuid`` is shown as that object's global id."""
    if result_ref and result_ref.count(":") == 1:
        type_name, _, object_id = result_ref.partition(":")
        with contextlib.suppress(ValueError):
            return to_global_id(type_name, uuid.UUID(object_id))
    return result_ref


register_node("Job", Job, JobType.from_row)
