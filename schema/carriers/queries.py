"""Listing carriers."""

from __future__ import annotations

from enum import Enum

import strawberry

from core.models import Carrier
from schema.carriers.types import CarrierType
from schema.context import Info
from schema.core.filters import named_conditions
from schema.core.ordering import OrderDirection
from schema.core.pagination import Connection, SortKey, paginate


@strawberry.enum
class CarrierOrderField(Enum):
    NAME = "name"
    CREATED_AT = "created_at"


@strawberry.input
class CarrierOrder:
    field: CarrierOrderField = CarrierOrderField.NAME
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class CarrierFilter:
    isp: strawberry.ID | None = strawberry.field(default=None,
                                                 description="Only this ISP's carriers.")
    search: str | None = strawberry.field(default=None,
                                          description="Part of the name or description.")


@strawberry.type
class CarrierQuery:
    @strawberry.field(description="Carriers of the ISPs you work for.")
    async def carriers(
        self,
        info: Info,
        filter: CarrierFilter | None = None,
        order_by: CarrierOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[CarrierType]:
        order = order_by or CarrierOrder()
        return await paginate(
            info, Carrier, where=named_conditions(info, Carrier, filter),
            order=SortKey(getattr(Carrier, order.field.value),
                          descending=order.direction is OrderDirection.DESC),
            to_node=CarrierType.from_row, first=first, after=after, last=last, before=before,
        )
