"""GraphQL types of dial plans, their rules and simulations."""

from __future__ import annotations

import datetime as dt

import strawberry

from core.dialplan_engine import SimulationResult
from core.models import DialPlan, DialPlanRule
from schema.context import Info
from schema.core.errors import UserError
from schema.core.node import RowNode, register_node
from schema.core.owned import isp_field
from schema.dial_plans.loaders import dial_plan_by_id, rules_by_dial_plan


@strawberry.type(name="DialPlanRule", description="A rewrite of dialled numbers; the first "
                 "rule whose match expression matches is the one used.")
class DialPlanRuleType(RowNode):
    row: strawberry.Private[DialPlanRule]
    priority: int = strawberry.field(description="0 is tried first.")
    description: str
    match_expression: str = strawberry.field(
        description="Regular expression the dialled number must match (anchor it with ^ and $).")
    substitution_expression: str = strawberry.field(
        description="Regular expression whose groups the replacement uses as \\1..\\9.")
    replacement: str = strawberry.field(
        description="The new number: digits, letters, + * #, \\1..\\9, _CC_ (the caller's "
        "country code) and _AC_ (area code).")
    created_at: dt.datetime

    @strawberry.field
    async def dial_plan(self, info: Info) -> DialPlanType | None:
        row = await dial_plan_by_id(info.context).load(self.row.dial_plan_id)
        return DialPlanType.from_row(row) if row else None


@strawberry.type(name="DialPlan", description="Rules that turn what users dial into E.164.")
class DialPlanType(RowNode):
    row: strawberry.Private[DialPlan]
    name: str
    description: str
    created_at: dt.datetime

    isp = isp_field()

    @strawberry.field(description="In the order they are tried.")
    async def rules(self, info: Info) -> list[DialPlanRuleType]:
        rows = await rules_by_dial_plan(info.context).load(self.row.id)
        return [DialPlanRuleType.from_row(row) for row in rows]


@strawberry.type(description="One rule tried on the number.")
class DialPlanRuleAttempt:
    rule: DialPlanRuleType
    matched: bool = strawberry.field(description="Whether its match expression matched.")


@strawberry.type(description="What the proxies would do with a dialled number.")
class DialPlanSimulation:
    matched_rule: DialPlanRuleType | None = strawberry.field(
        default=None, description="The rule used: the first whose match expression matched.")
    result: str | None = strawberry.field(
        default=None, description="The number after the rewrite; null when no rule applied.")
    tried: list[DialPlanRuleAttempt] = strawberry.field(
        default_factory=list, description="The rules tried, in order, up to the one used.")
    failure: str | None = strawberry.field(
        default=None, description="Why the rule used rewrote nothing.")
    errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def from_result(cls, result: SimulationResult[DialPlanRule]) -> DialPlanSimulation:
        matched = result.matched_rule
        return cls(
            matched_rule=DialPlanRuleType.from_row(matched) if matched else None,
            result=result.result, failure=result.failure,
            tried=[DialPlanRuleAttempt(rule=DialPlanRuleType.from_row(attempt.rule),
                                       matched=attempt.matched) for attempt in result.tried],
        )


register_node("DialPlan", DialPlan, DialPlanType.from_row)
register_node("DialPlanRule", DialPlanRule, DialPlanRuleType.from_row)
