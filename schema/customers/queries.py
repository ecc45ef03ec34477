"""Reading customers."""

from __future__ import annotations

from enum import Enum

import strawberry
from sqlalchemy import ColumnElement, or_

from core.models import Customer
from core.scoping import visible
from schema.context import Info
from schema.core.filters import refers_to
from schema.core.ordering import OrderDirection
from schema.core.pagination import Connection, SortKey, paginate
from schema.customers.types import CustomerStatusEnum, CustomerType


@strawberry.input
class CustomerFilter:
    search: str | None = strawberry.field(
        default=None, description="Part of the name, contact name or contact e-mail.")
    status: CustomerStatusEnum | None = None  # type: ignore[valid-type]
    service_plan: strawberry.ID | None = strawberry.field(
        default=None, description="Only customers billed under this plan.")


@strawberry.enum
class CustomerOrderField(Enum):
    NAME = "name"
    CREATED_AT = "created_at"


@strawberry.input
class CustomerOrder:
    field: CustomerOrderField = CustomerOrderField.NAME
    direction: OrderDirection = OrderDirection.ASC


def _conditions(filter: CustomerFilter | None) -> list[ColumnElement[bool]]:
    if filter is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    if filter.search:
        text = filter.search.strip()
        conditions.append(or_(*(column.icontains(text, autoescape=True) for column in (
            Customer.name, Customer.contact_name, Customer.contact_email))))
    if filter.status is not None:
        conditions.append(Customer.status == filter.status)
    if filter.service_plan is not None:
        conditions.append(refers_to(Customer.service_plan_id, filter.service_plan,
                                    "ServicePlan"))
    return conditions


@strawberry.type
class CustomerQuery:
    @strawberry.field(description="The customers you may see: an ISP's, or your own.")
    async def customers(
        self,
        info: Info,
        filter: CustomerFilter | None = None,
        order_by: CustomerOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[CustomerType]:
        order = order_by or CustomerOrder()
        return await paginate(
            info, Customer, where=[visible(info.context.viewer, Customer), *_conditions(filter)],
            order=SortKey(getattr(Customer, order.field.value),
                          descending=order.direction is OrderDirection.DESC),
            to_node=CustomerType.from_row, first=first, after=after, last=last, before=before,
        )
