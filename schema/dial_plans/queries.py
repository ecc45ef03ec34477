"""Listing dial plans, and simulating what one does to a dialled number."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry

from core import dial_plans
from core.models import DialPlan
from schema.context import Info
from schema.core.filters import named_conditions
from schema.core.mutations import Ref, run
from schema.core.ordering import OrderDirection
from schema.core.pagination import Connection, SortKey, paginate
from schema.dial_plans.types import DialPlanSimulation, DialPlanType


@strawberry.enum
class DialPlanOrderField(Enum):
    NAME = "name"
    CREATED_AT = "created_at"


@strawberry.input
class DialPlanOrder:
    field: DialPlanOrderField = DialPlanOrderField.NAME
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class DialPlanFilter:
    isp: strawberry.ID | None = strawberry.field(default=None,
                                                 description="Only this ISP's dial plans.")
    search: str | None = strawberry.field(default=None,
                                          description="Part of the name or description.")


@strawberry.type
class DialPlanQuery:
    @strawberry.field(description="Dial plans of the ISPs you work for.")
    async def dial_plans(
        self,
        info: Info,
        filter: DialPlanFilter | None = None,
        order_by: DialPlanOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[DialPlanType]:
        order = order_by or DialPlanOrder()
        return await paginate(
            info, DialPlan, where=named_conditions(info, DialPlan, filter),
            order=SortKey(getattr(DialPlan, order.field.value),
                          descending=order.direction is OrderDirection.DESC),
            to_node=DialPlanType.from_row, first=first, after=after, last=last, before=before,
        )

    @strawberry.field(description="What the proxies would make of a number dialled by a "
                      "caller with this country and area code; changes nothing.")
    async def dial_plan_simulate(
        self,
        info: Info,
        dial_plan: strawberry.ID,
        number: str,
        country_code: Annotated[str, strawberry.argument(description="Without +, e.g. 1 or 44.")],
        area_code: str = "",
    ) -> DialPlanSimulation:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, plan_id: dial_plans.simulate(s, viewer, plan_id, number=number,
                                                   country_code=country_code,
                                                   area_code=area_code),
            Ref(dial_plan, "DialPlan", "dial plan", "dial_plan"))
        if not outcome.ok:
            return DialPlanSimulation(errors=outcome.errors)
        return DialPlanSimulation.from_result(outcome.value)
