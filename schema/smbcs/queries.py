"""Reading SMBCs."""

from __future__ import annotations

from enum import Enum

import strawberry
from sqlalchemy import ColumnElement, or_

from core.models import Smbc
from core.scoping import visible
from schema.context import Info
from schema.core.filters import refers_to
from schema.core.ordering import OrderDirection
from schema.core.pagination import Connection, SortKey, paginate
from schema.smbcs.types import SmbcType


@strawberry.input
class SmbcFilter:
    search: str | None = strawberry.field(
        default=None, description="Part of the name, address or region.")
    customer: strawberry.ID | None = strawberry.field(
        default=None, description="Only the SMBCs of this customer.")


@strawberry.enum
class SmbcOrderField(Enum):
    NAME = "name"
    REGION = "region"
    CREATED_AT = "created_at"


@strawberry.input
class SmbcOrder:
    field: SmbcOrderField = SmbcOrderField.NAME
    direction: OrderDirection = OrderDirection.ASC


def _conditions(filter: SmbcFilter | None) -> list[ColumnElement[bool]]:
    if filter is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    if filter.search:
        text = filter.search.strip()
        conditions.append(or_(*(column.icontains(text, autoescape=True)
                                for column in (Smbc.name, Smbc.address, Smbc.region))))
    if filter.customer is not None:
        conditions.append(refers_to(Smbc.customer_id, filter.customer, "Customer"))
    return conditions


@strawberry.type
class SmbcQuery:
    @strawberry.field(description="The SMBCs you may see: an ISP's and its customers', or "
                      "your customer's own.")
    async def smbcs(
        self,
        info: Info,
        filter: SmbcFilter | None = None,
        order_by: SmbcOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[SmbcType]:
        order = order_by or SmbcOrder()
        return await paginate(
            info, Smbc, where=[visible(info.context.viewer, Smbc), *_conditions(filter)],
            order=SortKey(getattr(Smbc, order.field.value),
                          descending=order.direction is OrderDirection.DESC),
            to_node=SmbcType.from_row, first=first, after=after, last=last, before=before,
        )
