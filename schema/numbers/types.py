"""GraphQL types of the number inventory."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import strawberry

from core.models import Number, NumberState, NumberType
from core.numbers import InventorySummary, sees_costs
from schema.context import Info
from schema.core.ids import to_global_id
from schema.core.node import Node, register_node
from schema.core.owned import isp_field

NumberTypeEnum = strawberry.enum(NumberType, name="NumberType",
                                 description="Local or toll-free: they are billed differently.")
NumberStateEnum = strawberry.enum(
    NumberState, name="NumberState",
    description="AVAILABLE -> ASSIGNED to a tenant -> QUARANTINE once released -> AVAILABLE.",
)


def _global_id(type_name: str, object_id: uuid.UUID | None) -> strawberry.ID | None:
    return None if object_id is None else strawberry.ID(to_global_id(type_name, object_id))


# Named so because NumberType is the LOCAL / TOLL_FREE enum of the model.
SMS_HELP = ("Receives text messages: a SIP MESSAGE from a gateway of the ISP reaches the "
            "target subscriber's registered phones.")


@strawberry.type(name="Number", description="A phone number (DID) of an ISP's inventory.")
class NumberNode(Node):
    row: strawberry.Private[Number]
    e164: str = strawberry.field(description="E.164 with +.")
    source: str = strawberry.field(description="Where the ISP got it, e.g. a carrier account.")
    number_type: NumberTypeEnum  # type: ignore[valid-type]
    price: Decimal = strawberry.field(
        description="Charged monthly to the tenant holding it, in the ISP's currency.")
    voice: bool
    sms: bool = strawberry.field(description=SMS_HELP)
    state: NumberStateEnum  # type: ignore[valid-type]
    quarantine_until: dt.datetime | None = strawberry.field(
        description="When a number in QUARANTINE becomes AVAILABLE again.")
    created_at: dt.datetime

    @strawberry.field(description="What the ISP pays for it monthly; null for tenants.")
    def vendor_price(self, info: Info) -> Decimal | None:
        return self.row.vendor_price if sees_costs(info.context.viewer, self.row.isp_id) else None

    @strawberry.field(description="Global id of the tenant holding it (ASSIGNED only).")
    def tenant_id(self) -> strawberry.ID | None:
        return _global_id("Tenant", self.row.tenant_id)

    @strawberry.field(description="Global id of the subscriber its calls go to, if set.")
    def target_subscriber_id(self) -> strawberry.ID | None:
        return _global_id("Subscriber", self.row.target_subscriber_id)

    isp = isp_field("The ISP whose inventory holds it.")

    @classmethod
    def from_row(cls, row: Number) -> NumberNode:
        return cls(id=strawberry.ID(to_global_id("Number", row.id)), row=row, e164=row.e164,
                   source=row.source, number_type=row.number_type, price=row.price,
                   voice=row.voice, sms=row.sms, state=row.state,
                   quarantine_until=row.quarantine_until, created_at=row.created_at)


@strawberry.type(description="An ISP's numbers by state, and what the assigned ones earn monthly.")
class NumberInventorySummary:
    available: int
    assigned: int
    quarantine: int
    total: int
    monthly_revenue: Decimal = strawberry.field(description="Prices of the assigned numbers.")
    monthly_cost: Decimal = strawberry.field(
        description="Vendor prices of the assigned numbers.")
    monthly_margin: Decimal = strawberry.field(description="Revenue minus cost.")
    currency: str = strawberry.field(description="The ISP's ISO 4217 code.")

    @classmethod
    def from_summary(cls, summary: InventorySummary) -> NumberInventorySummary:
        return cls(available=summary.available, assigned=summary.assigned,
                   quarantine=summary.quarantine, total=summary.total,
                   monthly_revenue=summary.monthly_revenue, monthly_cost=summary.monthly_cost,
                   monthly_margin=summary.monthly_margin, currency=summary.currency)


register_node("Number", Number, NumberNode.from_row)
