"""Reading the number inventory: the list, the ISP's summary, the import template."""

from __future__ import annotations

from enum import Enum

import strawberry
from graphql import GraphQLError
from sqlalchemy import ColumnElement

from core import numbers
from core.errors import DomainError
from core.models import Number
from core.scoping import visible
from schema.context import Info
from schema.core.filters import refers_to
from schema.core.ids import argument_id
from schema.core.ordering import OrderDirection
from schema.core.pagination import Connection, SortKey, paginate
from schema.numbers.types import (
    NumberInventorySummary,
    NumberNode,
    NumberStateEnum,
    NumberTypeEnum,
)


@strawberry.enum
class NumberOrderField(Enum):
    E164 = "e164"
    CREATED_AT = "created_at"
    PRICE = "price"


@strawberry.input
class NumberOrder:
    field: NumberOrderField = NumberOrderField.E164
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class NumberFilter:
    isp: strawberry.ID | None = None
    state: NumberStateEnum | None = None  # type: ignore[valid-type]
    number_type: NumberTypeEnum | None = None  # type: ignore[valid-type]
    tenant: strawberry.ID | None = strawberry.field(default=None,
                                                    description="Numbers this tenant holds.")
    prefix: str | None = strawberry.field(
        default=None, description="Numbers starting with these digits (the + is optional).")


def _prefix_condition(prefix: str) -> ColumnElement[bool]:
    try:
        return Number.e164.like(numbers.prefix_pattern(prefix))  # type: ignore[attr-defined]
    except DomainError as error:
        raise GraphQLError(f"prefix: {error}", extensions={"code": "INVALID_FILTER"}) from None


def _conditions(filter: NumberFilter | None) -> list[ColumnElement[bool]]:
    if filter is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    if filter.isp is not None:
        conditions.append(refers_to(Number.isp_id, filter.isp, "Isp"))
    if filter.state is not None:
        conditions.append(Number.state == filter.state)
    if filter.number_type is not None:
        conditions.append(Number.number_type == filter.number_type)
    if filter.tenant is not None:
        conditions.append(refers_to(Number.tenant_id, filter.tenant, "Tenant"))
    if filter.prefix is not None:
        conditions.append(_prefix_condition(filter.prefix))
    return conditions


@strawberry.type
class NumberQuery:
    @strawberry.field(description="Numbers of the ISPs you work for; a tenant sees its own.")
    async def numbers(
        self,
        info: Info,
        filter: NumberFilter | None = None,
        order_by: NumberOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[NumberNode]:
        order = order_by or NumberOrder()
        return await paginate(
            info, Number,
            where=[visible(info.context.viewer, Number), *_conditions(filter)],
            order=SortKey(getattr(Number, order.field.value),
                          descending=order.direction is OrderDirection.DESC),
            to_node=NumberNode.from_row, first=first, after=after, last=last, before=before,
        )

    @strawberry.field(description="Counts by state and monthly figures of an ISP's inventory "
                      "(by default the one ISP you work for); null when you may not see them.")
    async def number_inventory_summary(self, info: Info, isp: strawberry.ID | None = None
                                       ) -> NumberInventorySummary | None:
        viewer, isp_id = info.context.viewer, argument_id(isp, "Isp")
        async with info.context.sessions() as session:
            summary = await session.run_sync(
                lambda s: numbers.inventory_summary(s, viewer, isp_id))
        return NumberInventorySummary.from_summary(summary) if summary else None

    @strawberry.field(description="A CSV file to fill in for numberImport, with example rows.")
    def number_import_template(self) -> str:
        return numbers.import_template()
