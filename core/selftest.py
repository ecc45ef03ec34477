"""The platform self-test: a job that only waits and reports progress.

Operators start it to see the whole background path work (API, database,
broker, worker, progress, subscription); the benchmarks use it as the no-op
job whose cost is the machinery's own.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session

from core.errors import DomainError, ErrorCode
from core.jobs import Enqueued, JobSpec, enqueue, register_kind

SELFTEST = register_kind(JobSpec(kind="platform.selftest", subject_type="Platform",
                                 max_attempts=3, timeout_seconds=600))
# One self-test at a time for the platform; benchmarks give each job its own subject.
PLATFORM_SUBJECT = "platform"
MAX_STEPS = 1000


def start_selftest(session: Session, *, steps: int, step_seconds: float,
                   requested_by_id: uuid.UUID | None, subject: str = PLATFORM_SUBJECT) -> Enqueued:
    if not 0 <= steps <= MAX_STEPS:
        raise DomainError.single(ErrorCode.INVALID, f"choose 0 to {MAX_STEPS} steps", "steps")
    if not 0 <= step_seconds <= 10:
        raise DomainError.single(ErrorCode.INVALID, "choose 0 to 10 seconds per step",
                                 "step_seconds")
    return enqueue(session, SELFTEST.kind, subject,
                   payload={"steps": steps, "step_seconds": step_seconds},
                   requested_by_id=requested_by_id)
