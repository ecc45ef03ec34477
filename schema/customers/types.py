"""GraphQL type of a customer of an ISP."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry

from core.models import Customer, CustomerStatus, PrepaidLedgerEntry
from core.scoping import visible
from schema.context import Info
from schema.core.contact import Contact, PostalAddress
from schema.core.ids import to_global_id
from schema.core.node import Node, load_node, register_node
from schema.core.pagination import Connection, SortKey, paginate
from schema.customers.prepaid import PrepaidBalanceType, PrepaidLedgerEntryType, balance_by_customer

if TYPE_CHECKING:
    from schema.service_plans.types import ServicePlanType

LazyServicePlan = Annotated["ServicePlanType", strawberry.lazy("schema.service_plans.types")]

CustomerStatusEnum = strawberry.enum(CustomerStatus, name="CustomerStatus")


@strawberry.type(name="Customer", description="A client of an ISP; it may own several tenants.")
class CustomerType(Node):
    row: strawberry.Private[Customer]
    name: str
    contact: Contact
    address: PostalAddress
    max_subscribers: int = strawberry.field(
        description="Subscribers allowed across all the customer's tenants (at least 1).")
    max_concurrent_calls: int = strawberry.field(description="At least 1.")
    status: CustomerStatusEnum  # type: ignore[valid-type]
    created_at: dt.datetime
    updated_at: dt.datetime

    @strawberry.field(description="The plan the customer is billed under; null: none yet.")
    async def service_plan(self, info: Info) -> LazyServicePlan | None:
        return await load_node(info, "ServicePlan", self.row.service_plan_id)

    @strawberry.field(description="The customer's prepaid balance; null unless its service "
                      "plan is prepaid.")
    async def prepaid_balance(self, info: Info) -> PrepaidBalanceType | None:
        if self.row.service_plan_id is None:
            return None
        return await balance_by_customer(info.context).load(self.row.id)

    @strawberry.field(description="Every change of the prepaid balance, newest first: top-ups, "
                      "adjustments, call charges per collection, re-rating differences.")
    async def prepaid_ledger(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[PrepaidLedgerEntryType]:
        return await paginate(
            info, PrepaidLedgerEntry,
            where=[visible(info.context.viewer, PrepaidLedgerEntry),
                   PrepaidLedgerEntry.customer_id == self.row.id],
            order=SortKey(PrepaidLedgerEntry.created_at, descending=True),
            to_node=PrepaidLedgerEntryType.from_row,
            first=first, after=after, last=last, before=before,
        )

    @classmethod
    def from_row(cls, row: Customer) -> CustomerType:
        return cls(
            id=strawberry.ID(to_global_id("Customer", row.id)), row=row, name=row.name,
            contact=Contact(name=row.contact_name, email=row.contact_email,
                            phone=row.contact_phone),
            address=PostalAddress(line1=row.address_line1, line2=row.address_line2,
                                  city=row.city, region=row.region,
                                  postal_code=row.postal_code, country=row.country),
            max_subscribers=row.max_subscribers, max_concurrent_calls=row.max_concurrent_calls,
            status=row.status, created_at=row.created_at, updated_at=row.updated_at,
        )


register_node("Customer", Customer, CustomerType.from_row)
