"""Reading service plans, the rate deck template, and previewing a call's price."""

from __future__ import annotations

from enum import Enum

import strawberry
from sqlalchemy import ColumnElement

from core.billing import preview_rate
from core.errors import DomainError
from core.models import Service, ServicePlan
from core.scoping import visible
from core.service_plans import rate_deck_template
from schema.context import Info
from schema.core.errors import InvalidArgumentError
from schema.core.ids import id_of
from schema.core.ordering import OrderDirection
from schema.core.pagination import Connection, SortKey, paginate
from schema.service_plans.types import RatePreview, ServiceEnum, ServicePlanType


@strawberry.input
class ServicePlanFilter:
    search: str | None = strawberry.field(default=None, description="Part of the name.")


@strawberry.enum
class ServicePlanOrderField(Enum):
    NAME = "name"
    CREATED_AT = "created_at"


@strawberry.input
class ServicePlanOrder:
    field: ServicePlanOrderField = ServicePlanOrderField.NAME
    direction: OrderDirection = OrderDirection.ASC


def _conditions(filter: ServicePlanFilter | None) -> list[ColumnElement[bool]]:
    if filter is None or not filter.search:
        return []
    return [ServicePlan.name.icontains(filter.search.strip(),  # type: ignore[attr-defined]
                                       autoescape=True)]


@strawberry.type
class ServicePlanQuery:
    @strawberry.field(description="The service plans of the ISPs you belong to.")
    async def service_plans(
        self,
        info: Info,
        filter: ServicePlanFilter | None = None,
        order_by: ServicePlanOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ServicePlanType]:
        order = order_by or ServicePlanOrder()
        return await paginate(
            info, ServicePlan,
            where=[visible(info.context.viewer, ServicePlan), *_conditions(filter)],
            order=SortKey(getattr(ServicePlan, order.field.value),
                          descending=order.direction is OrderDirection.DESC),
            to_node=ServicePlanType.from_row,
            first=first, after=after, last=last, before=before,
        )

    @strawberry.field(description="A CSV file to fill in for rateDeckImport: the header and two "
                      "example rows. Columns prefix and rate_per_minute are required; "
                      "description, minimum_duration (default 0), increment (default 1), "
                      "delay (default 0), valid_from (default: the import) and valid_to "
                      "(default: open) are optional. Dates are ISO 8601, UTC unless an offset "
                      "is written; amounts have at most 4 decimal places.")
    def rate_deck_template(self) -> str:
        return rate_deck_template()

    @strawberry.field(description="How a call would be charged under a plan now; null when "
                      "you may not see the plan. A destination that is not a valid E.164 "
                      "number is an error with extensions.code INVALID.")
    async def rate_preview(
        self,
        info: Info,
        service_plan: strawberry.ID,
        destination: str,
        seconds: int,
        service: ServiceEnum = Service.PSTN,  # type: ignore[valid-type]
    ) -> RatePreview | None:
        viewer = info.context.viewer
        plan_id = id_of(service_plan, "ServicePlan")
        try:
            async with info.context.sessions() as session:
                rating = await session.run_sync(lambda s: preview_rate(
                    s, viewer, plan_id, destination, seconds, service))
        except DomainError as error:
            raise InvalidArgumentError(error) from None
        return RatePreview.from_rating(rating) if rating else None
