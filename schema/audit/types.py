"""The audit log as GraphQL."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from core.models import AuditEvent
from schema.context import Info
from schema.core.ids import to_global_id
from schema.core.node import Node, load_node, register_node

if TYPE_CHECKING:
    from schema.identity.types import AdministratorType

LazyAdministrator = Annotated["AdministratorType", strawberry.lazy("schema.identity.types")]


@strawberry.type(name="AuditEvent", description="Who changed what, when and from where.")
class AuditEventType(Node):
    row: strawberry.Private[AuditEvent]
    occurred_at: dt.datetime
    actor_email: str = strawberry.field(description="As it was when the event happened.")
    actor_scope: str
    action: str
    object_type: str
    object_id: str = strawberry.field(description="Global id of the object changed.")
    changes: JSON = strawberry.field(description="Fields and new values; secrets redacted.")
    client_address: str
    request_id: str

    @strawberry.field(description="The actor, while they exist and you may see them.")
    async def actor(self, info: Info) -> LazyAdministrator | None:
        return await load_node(info, "Administrator", self.row.actor_id)

    @classmethod
    def from_row(cls, row: AuditEvent) -> AuditEventType:
        object_id = row.object_id
        if object_id and len(object_id) == 36:  # a uuid: present it as the object's global id
            object_id = to_global_id(row.object_type, uuid.UUID(object_id))
        return cls(id=strawberry.ID(to_global_id("AuditEvent", row.id)), row=row,
                   occurred_at=row.occurred_at, actor_email=row.actor_email,
                   actor_scope=row.actor_scope, action=row.action, object_type=row.object_type,
                   object_id=object_id, changes=row.changes, client_address=row.client_address,
                   request_id=row.request_id)


register_node("AuditEvent", AuditEvent, AuditEventType.from_row)
