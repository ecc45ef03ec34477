"""Creating, changing, ordering and deleting dial plans and their rules."""

from __future__ import annotations

import strawberry

from core import dial_plans
from core.dial_plans import RuleValues
from schema.context import Info
from schema.core.errors import UserError
from schema.core.ids import id_of
from schema.core.mutations import Ref, given_fields, payload, run
from schema.dial_plans.types import DialPlanRuleType, DialPlanType

UPDATE_HELP = "Fields left out or null stay as they are."
EXPRESSION_HELP = ("A regular expression in the subset PCRE and Python read alike; at most "
                   "256 characters.")


# Dial plans ---------------------------------------------------------------------------------


@strawberry.input
class DialPlanCreateInput:
    name: str
    description: str = ""
    isp: strawberry.ID | None = strawberry.field(
        default=None, description="Needed only if you administer several ISPs.")


@strawberry.type
class DialPlanCreatePayload:
    dial_plan: DialPlanType | None = None
    errors: list[UserError]


@strawberry.input(description=UPDATE_HELP)
class DialPlanUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET


@strawberry.type
class DialPlanUpdatePayload:
    dial_plan: DialPlanType | None = None
    errors: list[UserError]


@strawberry.input
class DialPlanDeleteInput:
    id: strawberry.ID


@strawberry.type
class DialPlanDeletePayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError]


# Rules --------------------------------------------------------------------------------------


@strawberry.input
class DialPlanRuleCreateInput:
    dial_plan: strawberry.ID
    match_expression: str = strawberry.field(description=EXPRESSION_HELP)
    substitution_expression: str = strawberry.field(description=EXPRESSION_HELP)
    replacement: str = strawberry.field(
        description="Digits, letters, + * #, \\1..\\9, _CC_ (country code) and _AC_ "
        "(area code).")
    description: str = ""
    priority: int | None = strawberry.field(
        default=None, description="Where in the order rules are tried (0: first); null: last.")


@strawberry.type
class DialPlanRuleCreatePayload:
    dial_plan_rule: DialPlanRuleType | None = None
    errors: list[UserError]


@strawberry.input(description=UPDATE_HELP + " The rule as a whole must stay valid.")
class DialPlanRuleUpdateInput:
    id: strawberry.ID
    match_expression: str | None = strawberry.UNSET
    substitution_expression: str | None = strawberry.UNSET
    replacement: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    priority: int | None = strawberry.field(
        default=strawberry.UNSET, description="Move the rule in the order rules are tried.")


@strawberry.type
class DialPlanRuleUpdatePayload:
    dial_plan_rule: DialPlanRuleType | None = None
    errors: list[UserError]


@strawberry.input
class DialPlanRuleDeleteInput:
    id: strawberry.ID


@strawberry.type
class DialPlanRuleDeletePayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError]


@strawberry.input
class DialPlanRulesReorderInput:
    dial_plan: strawberry.ID
    rules: list[strawberry.ID] = strawberry.field(
        description="Every rule of the dial plan, once each, in the new order.")


@strawberry.type
class DialPlanRulesReorderPayload:
    dial_plan: DialPlanType | None = None
    errors: list[UserError]


def _rule_values(input: DialPlanRuleCreateInput | DialPlanRuleUpdateInput) -> RuleValues:
    return RuleValues(**given_fields(input, skip=("id", "dial_plan", "priority")))


@strawberry.type
class DialPlanMutation:
    @strawberry.mutation(description="Create a dial plan (then add its rules).")
    async def dial_plan_create(self, info: Info, input: DialPlanCreateInput
                               ) -> DialPlanCreatePayload:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, isp_id: dial_plans.create_dial_plan(
                s, viewer, isp_id, name=input.name, description=input.description),
            Ref(input.isp, "Isp", "ISP", "isp"))
        return payload(DialPlanCreatePayload, outcome, "dial_plan", DialPlanType.from_row)

    @strawberry.mutation(description="Rename a dial plan or change its description.")
    async def dial_plan_update(self, info: Info, input: DialPlanUpdateInput
                               ) -> DialPlanUpdatePayload:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, plan_id: dial_plans.update_dial_plan(
                s, viewer, plan_id, **given_fields(input)),
            Ref(input.id, "DialPlan", "dial plan"))
        return payload(DialPlanUpdatePayload, outcome, "dial_plan", DialPlanType.from_row)

    @strawberry.mutation(description="Delete a dial plan and its rules; refused while tenants "
                         "use it.")
    async def dial_plan_delete(self, info: Info, input: DialPlanDeleteInput
                               ) -> DialPlanDeletePayload:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, plan_id: dial_plans.delete_dial_plan(s, viewer, plan_id),
            Ref(input.id, "DialPlan", "dial plan"))
        return payload(DialPlanDeletePayload, outcome, "deleted_id", lambda _: input.id)

    @strawberry.mutation(description="Add a rule to a dial plan, tried last unless a priority "
                         "is given. Refused unless the rule is valid for the proxies.")
    async def dial_plan_rule_create(self, info: Info, input: DialPlanRuleCreateInput
                                    ) -> DialPlanRuleCreatePayload:
        viewer = info.context.viewer
        values = _rule_values(input)
        outcome = await run(
            info, lambda s, plan_id: dial_plans.create_rule(s, viewer, plan_id, values,
                                                      input.priority),
            Ref(input.dial_plan, "DialPlan", "dial plan", "dial_plan"))
        return payload(DialPlanRuleCreatePayload, outcome, "dial_plan_rule",
                       DialPlanRuleType.from_row)

    @strawberry.mutation(description="Change a rule, or move it in the order rules are tried.")
    async def dial_plan_rule_update(self, info: Info, input: DialPlanRuleUpdateInput
                                    ) -> DialPlanRuleUpdatePayload:
        viewer = info.context.viewer
        values = _rule_values(input)
        outcome = await run(
            info, lambda s, rule_id: dial_plans.update_rule(s, viewer, rule_id, values,
                                                      given_fields(input).get("priority")),
            Ref(input.id, "DialPlanRule", "dial plan rule"))
        return payload(DialPlanRuleUpdatePayload, outcome, "dial_plan_rule",
                       DialPlanRuleType.from_row)

    @strawberry.mutation(description="Delete a rule; the rules after it move up.")
    async def dial_plan_rule_delete(self, info: Info, input: DialPlanRuleDeleteInput
                                    ) -> DialPlanRuleDeletePayload:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, rule_id: dial_plans.delete_rule(s, viewer, rule_id),
            Ref(input.id, "DialPlanRule", "dial plan rule"))
        return payload(DialPlanRuleDeletePayload, outcome, "deleted_id", lambda _: input.id)

    @strawberry.mutation(description="Set the order in which all of a dial plan's rules are "
                         "tried.")
    async def dial_plan_rules_reorder(self, info: Info, input: DialPlanRulesReorderInput
                                      ) -> DialPlanRulesReorderPayload:
        viewer = info.context.viewer
        rule_ids = [id_of(rule, "DialPlanRule") for rule in input.rules]
        outcome = await run(
            info, lambda s, plan_id: dial_plans.reorder_rules(s, viewer, plan_id, rule_ids),
            Ref(input.dial_plan, "DialPlan", "dial plan", "dial_plan"))
        return payload(DialPlanRulesReorderPayload, outcome, "dial_plan", DialPlanType.from_row)
