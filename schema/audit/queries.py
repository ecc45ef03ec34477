"""Reading the audit log."""

from __future__ import annotations

import datetime as dt

import strawberry
from sqlalchemy import ColumnElement, false

from core.models import AuditEvent
from core.scoping import visible
from schema.audit.types import AuditEventType
from schema.context import Info
from schema.core.filters import refers_to
from schema.core.ids import from_global_id
from schema.core.pagination import Connection, SortKey, paginate


@strawberry.input
class AuditEventFilter:
    isp: strawberry.ID | None = None
    object: strawberry.ID | None = strawberry.field(
        default=None, description="Global id of the object the events are about."
    )
    object_type: str | None = None
    actor: strawberry.ID | None = strawberry.field(
        default=None, description="Global id of the administrator who acted."
    )
    occurred_after: dt.datetime | None = None
    occurred_before: dt.datetime | None = None


def _conditions(filter: AuditEventFilter | None) -> list[ColumnElement[bool]]:
    if filter is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    if filter.isp is not None:
        conditions.append(refers_to(AuditEvent.isp_id, filter.isp, "Isp"))
    if filter.object is not None:
        decoded = from_global_id(filter.object)
        if decoded is None:
            return [false()]
        conditions += [AuditEvent.object_type == decoded[0],
                       AuditEvent.object_id == str(decoded[1])]
    if filter.object_type is not None:
        conditions.append(AuditEvent.object_type == filter.object_type)
    if filter.actor is not None:
        conditions.append(refers_to(AuditEvent.actor_id, filter.actor, "Administrator"))
    if filter.occurred_after is not None:
        conditions.append(AuditEvent.occurred_at >= filter.occurred_after)
    if filter.occurred_before is not None:
        conditions.append(AuditEvent.occurred_at < filter.occurred_before)
    return conditions


@strawberry.type
class AuditQuery:
    @strawberry.field(description="Audit events of the ISPs you administer, newest first.")
    async def audit_events(
        self,
        info: Info,
        filter: AuditEventFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[AuditEventType]:
        return await paginate(
            info, AuditEvent,
            where=[visible(info.context.viewer, AuditEvent), *_conditions(filter)],
            order=SortKey(AuditEvent.occurred_at, descending=True),
            to_node=AuditEventType.from_row, first=first, after=after, last=last, before=before,
        )
