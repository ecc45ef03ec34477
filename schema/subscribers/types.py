"""GraphQL type of a subscriber: everything but its secrets.

The SIP password, the PIN and the digests have no field here. The password is
shown when it is generated, and to administrators through the audited
``subscriberRevealSipPassword``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Annotated

import strawberry

from core.models import Subscriber, SubscriberSource, SubscriberStatus
from schema.context import Info
from schema.core.ids import to_global_id
from schema.core.node import Node, load_node, register_node
from schema.core.not_applied import not_applied

SubscriberStatusEnum = strawberry.enum(SubscriberStatus, name="SubscriberStatus")
SubscriberSourceEnum = strawberry.enum(
    SubscriberSource, name="SubscriberSource",
    description="Where a subscriber comes from: made by hand, or synchronised from a directory.")


def _global_id(type_name: str, object_id: uuid.UUID | None) -> strawberry.ID | None:
    return None if object_id is None else strawberry.ID(to_global_id(type_name, object_id))


@strawberry.type(name="Subscriber", description="An extension of a tenant: a SIP account.")
class SubscriberType(Node):
    row: strawberry.Private[Subscriber]
    tenant_id: strawberry.ID
    username: str = strawberry.field(description="The SIP user; the domain is the tenant's.")
    email: str
    display_name: str
    country_code: str = strawberry.field(description="Fills _CC_ in the tenant's dial plan.")
    area_code: str = strawberry.field(description="Fills _AC_ in the tenant's dial plan.")
    voicemail_to_email: bool = strawberry.field(description=not_applied())
    caller_id: str | None = strawberry.field(
        description="One of the tenant's numbers; cleared when the tenant releases it.")
    alias: str | None = strawberry.field(description="The extension number.")
    security_group_id: strawberry.ID | None
    concurrent_calls: int
    ring_timeout: int = strawberry.field(description="Seconds.")
    call_group: int | None = strawberry.field(description=not_applied())
    pickup_group: int | None = strawberry.field(description=not_applied())
    forward_unconditional: str | None = strawberry.field(
        description="As dialled: every call for the subscriber goes there.")
    forward_busy: str | None = strawberry.field(
        description="As dialled: where calls go when the subscriber's phone is busy.")
    forward_no_answer: str | None = strawberry.field(
        description="As dialled: where calls go after the ring timeout, or when no phone "
        "is registered.")
    source: SubscriberSourceEnum  # type: ignore[valid-type]
    external_id: str | None = strawberry.field(description="Its id in the directory it is "
                                               "synchronised from.")
    status: SubscriberStatusEnum  # type: ignore[valid-type]
    disabled_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @strawberry.field(description="Whether a facility PIN is set (it is never shown).")
    def has_pin(self) -> bool:
        return self.row.pin_hash is not None

    @strawberry.field(description="Null: international calls are closed to it.")
    async def security_group(self, info: Info) -> LazySecurityGroup | None:
        return await load_node(info, "SecurityGroup", self.row.security_group_id)

    @classmethod
    def from_row(cls, row: Subscriber) -> SubscriberType:
        return cls(
            id=strawberry.ID(to_global_id("Subscriber", row.id)), row=row,
            tenant_id=strawberry.ID(to_global_id("Tenant", row.tenant_id)),
            security_group_id=_global_id("SecurityGroup", row.security_group_id),
            **{name: getattr(row, name) for name in _COLUMNS},
        )


# Fields shown exactly as stored.
_COLUMNS = (
    "username", "email", "display_name", "country_code", "area_code", "voicemail_to_email",
    "caller_id", "alias", "concurrent_calls", "ring_timeout", "call_group", "pickup_group",
    "forward_unconditional", "forward_busy", "forward_no_answer", "source", "external_id",
    "status", "disabled_at", "created_at", "updated_at",
)

if TYPE_CHECKING:
    from schema.security_groups.types import SecurityGroupType

LazySecurityGroup = Annotated["SecurityGroupType", strawberry.lazy("schema.security_groups.types")]


register_node("Subscriber", Subscriber, SubscriberType.from_row)
