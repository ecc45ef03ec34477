"""Isolation cases of carriers, gateways, dial plans and dial-plan rules."""

from __future__ import annotations

from typing import Any

from tests.graphql import SignedUp
from tests.isolation import Case, Probe, register


async def _created(isp: SignedUp, mutation: str, field: str, input: dict[str, Any]) -> str:
    input_type = f"{mutation[0].upper()}{mutation[1:]}Input"
    data = await isp.client.execute(
        f"mutation($input: {input_type}!) {{ {mutation}(input: $input) "
        f"{{ {field} {{ id }} errors {{ code message }} }} }}", {"input": input})
    payload = data[mutation]
    assert payload["errors"] == [], payload["errors"]
    return payload[field]["id"]


async def _carrier(isp: SignedUp) -> str:
    return await _created(isp, "carrierCreate", "carrier", {"name": "Bravo trunk"})


async def _gateway(isp: SignedUp) -> str:
    return await _created(isp, "gatewayCreate", "gateway",
                          {"carrier": await _carrier(isp), "address": "192.0.2.10"})


async def _dial_plan(isp: SignedUp) -> str:
    return await _created(isp, "dialPlanCreate", "dialPlan", {"name": "Bravo plan"})


async def _dial_plan_rule(isp: SignedUp) -> str:
    return await _created(isp, "dialPlanRuleCreate", "dialPlanRule", {
        "dialPlan": await _dial_plan(isp), "matchExpression": "^[1-9][0-9]{6}$",
        "substitutionExpression": "([1-9][0-9]{6})", "replacement": "+1_AC_\\1"})


def _probe(mutation: str, input: str, selection: str) -> Probe:
    return Probe(f"mutation($id: ID!) {{ {mutation}(input: {input}) "
                 f"{{ {selection} errors {{ field code message }} }} }}", mutation)


register(
    Case("Carrier", _carrier, "carriers", (
        _probe("carrierUpdate", '{id: $id, name: "Mine now"}', "carrier { id }"),
        _probe("carrierDelete", "{id: $id}", "deletedId"),
        _probe("gatewayCreate", '{carrier: $id, address: "192.0.2.99"}', "gateway { id }"),
        _probe("gatewaysReorder", "{carrier: $id, gateways: []}", "carrier { id }"),
    )),
    Case("Gateway", _gateway, None, (
        _probe("gatewayUpdate", "{id: $id, strip: 3}", "gateway { id }"),
        _probe("gatewayDelete", "{id: $id}", "deletedId"),
    )),
    Case("DialPlan", _dial_plan, "dialPlans", (
        _probe("dialPlanUpdate", '{id: $id, name: "Mine now"}', "dialPlan { id }"),
        _probe("dialPlanDelete", "{id: $id}", "deletedId"),
        _probe("dialPlanRuleCreate", '{dialPlan: $id, matchExpression: "^1$", '
               'substitutionExpression: "(1)", replacement: "\\\\1"}', "dialPlanRule { id }"),
        _probe("dialPlanRulesReorder", "{dialPlan: $id, rules: []}", "dialPlan { id }"),
    )),
    Case("DialPlanRule", _dial_plan_rule, None, (
        _probe("dialPlanRuleUpdate", '{id: $id, description: "mine"}', "dialPlanRule { id }"),
        _probe("dialPlanRuleDelete", "{id: $id}", "deletedId"),
    )),
)
