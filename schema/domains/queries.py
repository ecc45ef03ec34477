"""Reading verified domains."""

from __future__ import annotations

from enum import Enum

import strawberry
from sqlalchemy import ColumnElement

from core.models import VerifiedDomain
from core.scoping import visible
from schema.context import Info
from schema.core.filters import refers_to
from schema.core.ordering import OrderDirection
from schema.core.pagination import Connection, SortKey, paginate
from schema.domains.types import VerifiedDomainStatusEnum, VerifiedDomainType


@strawberry.enum
class VerifiedDomainOrderField(Enum):
    FQDN = "fqdn"
    CREATED_AT = "created_at"


@strawberry.input
class VerifiedDomainOrder:
    field: VerifiedDomainOrderField = VerifiedDomainOrderField.FQDN
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class VerifiedDomainFilter:
    isp: strawberry.ID | None = None
    status: list[VerifiedDomainStatusEnum] | None = None  # type: ignore[valid-type]


def _conditions(filter: VerifiedDomainFilter | None) -> list[ColumnElement[bool]]:
    if filter is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    if filter.isp is not None:
        conditions.append(refers_to(VerifiedDomain.isp_id, filter.isp, "Isp"))
    if filter.status:
        conditions.append(VerifiedDomain.status.in_(filter.status))  # type: ignore[attr-defined]
    return conditions


@strawberry.type
class DomainQuery:
    @strawberry.field(description="The verified (and to-be-verified) domains of your ISPs.")
    async def verified_domains(
        self,
        info: Info,
        filter: VerifiedDomainFilter | None = None,
        order_by: VerifiedDomainOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[VerifiedDomainType]:
        order = order_by or VerifiedDomainOrder()
        return await paginate(
            info, VerifiedDomain,
            where=[visible(info.context.viewer, VerifiedDomain), *_conditions(filter)],
            order=SortKey(getattr(VerifiedDomain, order.field.value),
                          descending=order.direction is OrderDirection.DESC),
            to_node=VerifiedDomainType.from_row,
            first=first, after=after, last=last, before=before,
        )
