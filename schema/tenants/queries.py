"""Reading tenants."""

from __future__ import annotations

from enum import Enum

import strawberry
from sqlalchemy import ColumnElement, or_

from core.models import Tenant
from core.scoping import visible
from schema.context import Info
from schema.core.filters import refers_to
from schema.core.ordering import OrderDirection
from schema.core.pagination import Connection, SortKey, paginate
from schema.tenants.types import TenantStatusEnum, TenantType


@strawberry.enum
class TenantOrderField(Enum):
    NAME = "name"
    DOMAIN = "domain"
    CREATED_AT = "created_at"


@strawberry.input
class TenantOrder:
    field: TenantOrderField = TenantOrderField.NAME
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class TenantFilter:
    isp: strawberry.ID | None = None
    customer: strawberry.ID | None = None
    status: TenantStatusEnum | None = None  # type: ignore[valid-type]
    search: str | None = strawberry.field(default=None, description="Part of name or domain.")


def _conditions(filter: TenantFilter | None) -> list[ColumnElement[bool]]:
    if filter is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    if filter.isp is not None:
        conditions.append(refers_to(Tenant.isp_id, filter.isp, "Isp"))
    if filter.customer is not None:
        conditions.append(refers_to(Tenant.customer_id, filter.customer, "Customer"))
    if filter.status is not None:
        conditions.append(Tenant.status == filter.status)
    if filter.search:
        pattern = f"%{filter.search.strip().lower()}%"
        conditions.append(or_(Tenant.name.ilike(pattern), Tenant.domain.like(pattern)))
    return conditions


@strawberry.type
class TenantQuery:
    @strawberry.field(description="Tenants you may see: your ISP's, your customer's, or your own.")
    async def tenants(
        self,
        info: Info,
        filter: TenantFilter | None = None,
        order_by: TenantOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[TenantType]:
        order = order_by or TenantOrder()
        return await paginate(
            info, Tenant, where=[visible(info.context.viewer, Tenant), *_conditions(filter)],
            order=SortKey(getattr(Tenant, order.field.value),
                          descending=order.direction is OrderDirection.DESC),
            to_node=TenantType.from_row, first=first, after=after, last=last, before=before,
        )
