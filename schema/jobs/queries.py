"""Reading jobs, cancelling them, and following one as it runs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator

import strawberry
from graphql import GraphQLError
from sqlalchemy import ColumnElement, select
from sqlmodel import Session

from core import jobs as job_rules
from core.errors import DomainError, ErrorCode, not_found
from core.jobs import TERMINAL_STATUSES, Enqueued
from core.models import Job
from core.scoping import get_visible, visible
from core.selftest import start_selftest
from schema.context import Info
from schema.core.errors import UserError
from schema.core.filters import refers_to
from schema.core.ids import id_of
from schema.core.mutations import Ref, run
from schema.core.pagination import Connection, SortKey, paginate
from schema.jobs.types import JobStatusEnum, JobType

# How often a subscription looks at its job; progress is written at least this often.
POLL_SECONDS = 0.5


@strawberry.input
class JobFilter:
    status: list[JobStatusEnum] | None = None  # type: ignore[valid-type]
    kind: str | None = None
    isp: strawberry.ID | None = None


def _conditions(filter: JobFilter | None) -> list[ColumnElement[bool]]:
    if filter is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    if filter.status:
        conditions.append(Job.status.in_(filter.status))  # type: ignore[attr-defined]
    if filter.kind:
        conditions.append(Job.kind == filter.kind)
    if filter.isp is not None:
        conditions.append(refers_to(Job.isp_id, filter.isp, "Isp"))
    return conditions


async def _visible_job(info: Info, job_id: uuid.UUID | None) -> Job | None:
    if job_id is None:
        return None
    statement = select(Job).where(Job.id == job_id, visible(info.context.viewer, Job))
    async with info.context.sessions() as session:
        return (await session.execute(statement)).scalars().first()


@strawberry.type
class JobQuery:
    @strawberry.field(description="One job, if you may see it.")
    async def job(self, info: Info, id: strawberry.ID) -> JobType | None:
        row = await _visible_job(info, id_of(id, "Job"))
        return JobType.from_row(row) if row else None

    @strawberry.field(description="Jobs of the scopes you oversee, newest first.")
    async def jobs(
        self,
        info: Info,
        filter: JobFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[JobType]:
        return await paginate(
            info, Job, where=[visible(info.context.viewer, Job), *_conditions(filter)],
            order=SortKey(Job.created_at, descending=True), to_node=JobType.from_row,
            first=first, after=after, last=last, before=before,
        )


@strawberry.input
class JobCancelInput:
    id: strawberry.ID


@strawberry.type
class JobCancelPayload:
    job: JobType | None = None
    errors: list[UserError]


@strawberry.input
class PlatformSelfTestInput:
    steps: int = 10
    step_seconds: float = 0.5


@strawberry.type
class PlatformSelfTestPayload:
    job: JobType | None = None
    errors: list[UserError]


@strawberry.type
class JobMutation:
    @strawberry.mutation(description="Run a job that only reports progress, to check the "
                         "background path end to end (platform operators).")
    async def platform_self_test(self, info: Info, input: PlatformSelfTestInput
                                 ) -> PlatformSelfTestPayload:
        viewer = info.context.viewer

        def work(session: Session) -> Enqueued:
            if not viewer.is_platform_admin:
                raise DomainError.single(ErrorCode.NOT_PERMITTED,
                                         "only platform operators run the self-test")
            return start_selftest(session, steps=input.steps, step_seconds=input.step_seconds,
                                  requested_by_id=viewer.administrator_id)

        outcome = await run(info, work)
        if not outcome.ok:
            return PlatformSelfTestPayload(errors=outcome.errors)
        return PlatformSelfTestPayload(job=JobType.from_row(outcome.value.job), errors=[])

    @strawberry.mutation(description="Cancel a queued job, or ask a running one to stop.")
    async def job_cancel(self, info: Info, input: JobCancelInput) -> JobCancelPayload:
        viewer = info.context.viewer

        def work(session: Session, job_id: uuid.UUID) -> Job:
            job = get_visible(session, viewer, Job, job_id)
            if job is None:
                raise not_found("job", "id")
            job_rules.require_canceller(viewer, job)
            return job_rules.cancel(session, job)

        outcome = await run(info, work, Ref(input.id, "Job", "job"))
        if not outcome.ok:
            return JobCancelPayload(errors=outcome.errors)
        return JobCancelPayload(job=JobType.from_row(outcome.value), errors=[])


def _snapshot(job: Job) -> tuple[object, ...]:
    return (job.status, job.progress_done, job.progress_total, dict(job.counters),
            job.attempts, job.cancel_requested_at)


@strawberry.type
class JobSubscription:
    @strawberry.subscription(description="The job as it changes, until it ends.")
    async def job_progress(self, info: Info, id: strawberry.ID) -> AsyncGenerator[JobType, None]:
        job_id = id_of(id, "Job")
        last: tuple[object, ...] | None = None
        while True:
            row = await _visible_job(info, job_id)
            if row is None:
                raise GraphQLError("job not found", extensions={"code": "NOT_FOUND"})
            if _snapshot(row) != last:
                last = _snapshot(row)
                yield JobType.from_row(row)
            if row.status in TERMINAL_STATUSES:
                return
            await asyncio.sleep(POLL_SECONDS)
