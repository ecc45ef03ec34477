"""Reading security groups."""

from __future__ import annotations

from enum import Enum

import strawberry
from sqlalchemy import ColumnElement

from core.models import SecurityGroup
from core.scoping import visible
from schema.context import Info
from schema.core.filters import refers_to
from schema.core.ordering import OrderDirection
from schema.core.pagination import Connection, SortKey, paginate
from schema.security_groups.types import SecurityGroupType


@strawberry.enum
class SecurityGroupOrderField(Enum):
    NAME = "name"
    CREATED_AT = "created_at"


@strawberry.input
class SecurityGroupOrder:
    field: SecurityGroupOrderField = SecurityGroupOrderField.NAME
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class SecurityGroupFilter:
    tenant: strawberry.ID | None = None


def _conditions(filter: SecurityGroupFilter | None) -> list[ColumnElement[bool]]:
    if filter is None or filter.tenant is None:
        return []
    return [refers_to(SecurityGroup.tenant_id, filter.tenant, "Tenant")]


@strawberry.type
class SecurityGroupQuery:
    @strawberry.field(description="Security groups of the tenants you may see.")
    async def security_groups(
        self,
        info: Info,
        filter: SecurityGroupFilter | None = None,
        order_by: SecurityGroupOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[SecurityGroupType]:
        order = order_by or SecurityGroupOrder()
        return await paginate(
            info, SecurityGroup,
            where=[visible(info.context.viewer, SecurityGroup), *_conditions(filter)],
            order=SortKey(getattr(SecurityGroup, order.field.value),
                          descending=order.direction is OrderDirection.DESC),
            to_node=SecurityGroupType.from_row, first=first, after=after, last=last,
            before=before,
        )
