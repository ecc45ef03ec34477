"""Reading call records and what customers owe."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import strawberry
from sqlalchemy import ColumnElement, exists, or_, select
from sqlmodel import Session

from core import usage
from core.errors import DomainError, ErrorCode
from core.models import CallLeg, CallRecord
from core.scoping import visible
from core.viewer import Viewer
from schema.call_records.types import (
    CallDirectionEnum,
    CallRecordType,
    CallStateEnum,
    UsageSummaryType,
)
from schema.context import Info
from schema.core.enums import ServiceEnum
from schema.core.errors import InvalidArgumentError
from schema.core.filters import refers_to
from schema.core.ids import argument_id
from schema.core.pagination import Connection, SortKey, paginate


@strawberry.input
class CallRecordFilter:
    started_after: dt.datetime | None = strawberry.field(
        default=None, description="Set up at or after this time.")
    started_before: dt.datetime | None = strawberry.field(
        default=None, description="Set up before this time.")
    customer: strawberry.ID | None = None
    tenant: strawberry.ID | None = None
    subscriber: strawberry.ID | None = None
    direction: CallDirectionEnum | None = None  # type: ignore[valid-type]
    leg_type: ServiceEnum | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Calls with a leg of this type.")
    answered: bool | None = None
    state: CallStateEnum | None = None  # type: ignore[valid-type]
    number: str | None = strawberry.field(
        default=None, description="Calls whose caller or callee starts with this (E.164 "
        "prefix, or an extension's username).")


def _conditions(filter: CallRecordFilter | None) -> list[ColumnElement[bool]]:
    if filter is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    if filter.started_after is not None:
        conditions.append(CallRecord.setup_at >= filter.started_after)
    if filter.started_before is not None:
        conditions.append(CallRecord.setup_at < filter.started_before)
    for column, global_id, type_name in ((CallRecord.customer_id, filter.customer, "Customer"),
                                         (CallRecord.tenant_id, filter.tenant, "Tenant"),
                                         (CallRecord.subscriber_id, filter.subscriber,
                                          "Subscriber")):
        if global_id is not None:
            conditions.append(refers_to(column, global_id, type_name))
    if filter.direction is not None:
        conditions.append(CallRecord.direction == filter.direction)
    if filter.state is not None:
        conditions.append(CallRecord.state == filter.state)
    if filter.answered is not None:
        answered = CallRecord.answered_at.is_not(None)  # type: ignore[union-attr]
        conditions.append(answered if filter.answered else ~answered)
    if filter.leg_type is not None:
        conditions.append(exists(select(CallLeg.id).where(
            CallLeg.call_record_id == CallRecord.id, CallLeg.leg_type == filter.leg_type)))
    if filter.number:
        pattern = filter.number.replace("%", "").replace("_", "") + "%"
        conditions.append(or_(CallRecord.caller.like(pattern),  # type: ignore[attr-defined]
                              CallRecord.callee.like(pattern)))  # type: ignore[attr-defined]
    return conditions


@strawberry.type
class CallRecordQuery:
    @strawberry.field(description="Calls you may see (a tenant its own, a customer its "
                      "tenants', an ISP all of its own), oldest first by setup time.")
    async def call_records(
        self,
        info: Info,
        filter: CallRecordFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[CallRecordType]:
        return await paginate(
            info, CallRecord,
            where=[visible(info.context.viewer, CallRecord), *_conditions(filter)],
            order=SortKey(CallRecord.setup_at), to_node=CallRecordType.from_row,
            first=first, after=after, last=last, before=before)

    @strawberry.field(description="What a customer owes for the calls set up in [from, to) "
                      "(at most 93 days) and its monthly charges; null when you may not see "
                      "the customer. A period that ends before it starts is an error with "
                      "extensions.code INVALID.")
    async def usage_summary(self, info: Info, customer: strawberry.ID,
                            from_: Annotated[dt.datetime, strawberry.argument(name="from")],
                            to: dt.datetime) -> UsageSummaryType | None:
        viewer = info.context.viewer
        customer_id = argument_id(customer, "Customer")
        try:
            async with info.context.sessions() as session:
                summary = await session.run_sync(lambda s: _summary(s, viewer, customer_id,
                                                                    from_, to))
        except DomainError as error:
            raise InvalidArgumentError(error) from None
        return UsageSummaryType.from_summary(summary) if summary else None


def _summary(session: Session, viewer: Viewer, customer_id: uuid.UUID | None,
             start: dt.datetime, end: dt.datetime) -> usage.UsageSummary | None:
    """The summary, or None for a customer the viewer may not see (as for a missing one)."""
    try:
        return usage.usage_summary(session, viewer, customer_id, start, end)
    except DomainError as error:
        if error.errors[0].code == ErrorCode.NOT_FOUND:
            return None
        raise
