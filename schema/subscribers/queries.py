"""Reading subscribers."""

from __future__ import annotations

from enum import Enum

import strawberry
from sqlalchemy import ColumnElement, or_

from core.models import Subscriber
from core.scoping import visible
from schema.context import Info
from schema.core.filters import refers_to
from schema.core.ordering import OrderDirection
from schema.core.pagination import Connection, SortKey, paginate
from schema.subscribers.types import SubscriberSourceEnum, SubscriberStatusEnum, SubscriberType


@strawberry.enum
class SubscriberOrderField(Enum):
    USERNAME = "username"
    ALIAS = strawberry.enum_value("alias", description="By extension number; subscribers "
                                  "without one are left out of this order.")
    CREATED_AT = "created_at"


@strawberry.input
class SubscriberOrder:
    field: SubscriberOrderField = SubscriberOrderField.USERNAME
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class SubscriberFilter:
    tenant: strawberry.ID | None = None
    search: str | None = strawberry.field(
        default=None, description="Part of the username, e-mail, display name or alias.")
    status: SubscriberStatusEnum | None = None  # type: ignore[valid-type]
    source: SubscriberSourceEnum | None = None  # type: ignore[valid-type]
    security_group: strawberry.ID | None = None


def _conditions(filter: SubscriberFilter | None) -> list[ColumnElement[bool]]:
    if filter is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    if filter.tenant is not None:
        conditions.append(refers_to(Subscriber.tenant_id, filter.tenant, "Tenant"))
    if filter.security_group is not None:
        conditions.append(refers_to(Subscriber.security_group_id, filter.security_group,
                                    "SecurityGroup"))
    if filter.status is not None:
        conditions.append(Subscriber.status == filter.status)
    if filter.source is not None:
        conditions.append(Subscriber.source == filter.source)
    if filter.search:
        pattern = f"%{filter.search.strip().lower()}%"
        conditions.append(or_(Subscriber.username.like(pattern), Subscriber.email.like(pattern),
                              Subscriber.display_name.ilike(pattern),
                              Subscriber.alias.like(pattern)))
    return conditions


def _order(order: SubscriberOrder) -> tuple[SortKey, list[ColumnElement[bool]]]:
    """The sort key, and what it needs: keyset cursors cannot point at a missing alias."""
    key = SortKey(getattr(Subscriber, order.field.value),
                  descending=order.direction is OrderDirection.DESC)
    needs = [Subscriber.alias.is_not(None)] if order.field is SubscriberOrderField.ALIAS else []
    return key, needs


@strawberry.type
class SubscriberQuery:
    @strawberry.field(description="Subscribers of the tenants you may see.")
    async def subscribers(
        self,
        info: Info,
        filter: SubscriberFilter | None = None,
        order_by: SubscriberOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[SubscriberType]:
        key, needs = _order(order_by or SubscriberOrder())
        return await paginate(
            info, Subscriber,
            where=[visible(info.context.viewer, Subscriber), *_conditions(filter), *needs],
            order=key, to_node=SubscriberType.from_row, first=first, after=after, last=last,
            before=before,
        )
