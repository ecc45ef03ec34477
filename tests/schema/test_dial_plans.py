"""Dial plans and their rules over HTTP: saving only valid rules, ordering, simulating."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import Session, select
from starlette.applications import Starlette

from core.models import AuditEvent
from schema.core.ids import id_of
from tests.factories import make_customer, make_tenant
from tests.graphql import Client, SignedUp
from tests.schema.test_carriers import (
    codes,
    isp_of,
    log_in_viewer,
    missing_like,
    payload_of,
)

RULE = "id priority description matchExpression substitutionExpression replacement"
SELECTIONS = {
    "dialPlanCreate": "dialPlan { id name description isp { id } }",
    "dialPlanUpdate": "dialPlan { id name description }",
    "dialPlanDelete": "deletedId",
    "dialPlanRuleCreate": f"dialPlanRule {{ {RULE} dialPlan {{ id }} }}",
    "dialPlanRuleUpdate": f"dialPlanRule {{ {RULE} }}",
    "dialPlanRuleDelete": "deletedId",
    "dialPlanRulesReorder": f"dialPlan {{ id rules {{ {RULE} }} }}",
}
SIMULATE = """
query($plan: ID!, $number: String!, $cc: String!, $ac: String) {
  dialPlanSimulate(dialPlan: $plan, number: $number, countryCode: $cc, areaCode: $ac) {
    matchedRule { id description }
    result
    failure
    tried { rule { description } matched }
    errors { field code message }
  }
}
"""
SEVEN_DIGITS = {"description": "7 digits", "matchExpression": r"^[1-9][0-9]{6}$",
                "substitutionExpression": r"([1-9][0-9]{6})", "replacement": r"+1_AC_\1"}
TEN_DIGITS = {"description": "10 digits", "matchExpression": r"^[2-9][0-9]{9}$",
              "substitutionExpression": r"^([2-9][0-9]{9})$", "replacement": r"+1\1"}
INTERNATIONAL = {"description": "011", "matchExpression": r"^011[1-9][0-9]{6,14}$",
                 "substitutionExpression": r"^011([1-9][0-9]{6,14})$", "replacement": r"+\1"}
INTERNATIONAL_00 = {"description": "00", "matchExpression": r"^00[1-9][0-9]{6,14}$",
                    "substitutionExpression": r"^00([1-9][0-9]{6,14})$", "replacement": r"+\1"}


@pytest.fixture
async def viewer(app: Starlette, session: Session, isp_a: SignedUp) -> AsyncIterator[Client]:
    client = await log_in_viewer(app, session, isp_a)
    yield client
    await client.close()


async def mutate(client: Client, mutation: str, /, **input: Any) -> dict[str, Any]:
    return await payload_of(client, mutation, SELECTIONS[mutation], input)


async def new_plan(isp: SignedUp, *rules: dict[str, str], name: str = "North America") -> str:
    created = await mutate(isp.client, "dialPlanCreate", name=name)
    assert created["errors"] == []
    plan = created["dialPlan"]["id"]
    for rule in rules:
        assert (await mutate(isp.client, "dialPlanRuleCreate", dialPlan=plan,
                             **rule))["errors"] == []
    return plan


async def rules_of(isp: SignedUp, plan: str) -> list[dict[str, Any]]:
    data = await isp.client.execute(
        f"query($id: ID!) {{ node(id: $id) {{ ... on DialPlan {{ rules {{ {RULE} }} }} }} }}",
        {"id": plan})
    rules = data["node"]["rules"]
    assert [rule["priority"] for rule in rules] == list(range(len(rules)))
    return rules


async def simulate(client: Client, plan: str, number: str, cc: str = "1",
                   ac: str = "209") -> dict[str, Any]:
    data = await client.execute(SIMULATE, {"plan": plan, "number": number, "cc": cc, "ac": ac})
    return data["dialPlanSimulate"]


# Dial plans ------------------------------------------------------------------------------------


async def test_dial_plan_create_update_list_and_delete(isp_a: SignedUp):
    created = await mutate(isp_a.client, "dialPlanCreate", name="North America",
                           description="NANP dialling")
    assert created["errors"] == []
    plan = created["dialPlan"]
    assert plan["isp"] == {"id": isp_a.isp_id}
    renamed = await mutate(isp_a.client, "dialPlanUpdate", id=plan["id"], name="NANP")
    assert renamed["dialPlan"]["name"] == "NANP"
    assert codes(await mutate(isp_a.client, "dialPlanCreate", name="NANP")) == [
        (["name"], "ALREADY_EXISTS")]
    data = await isp_a.client.execute(
        '{ dialPlans(filter: {search: "nanp"}) { totalCount edges { node { name } } } }')
    assert data["dialPlans"]["edges"] == [{"node": {"name": "NANP"}}]
    deleted = await mutate(isp_a.client, "dialPlanDelete", id=plan["id"])
    assert deleted == {"deletedId": plan["id"], "errors": []}


async def test_dial_plan_delete_is_refused_while_tenants_use_it(isp_a: SignedUp,
                                                                session: Session):
    plan = await new_plan(isp_a, SEVEN_DIGITS)
    isp = isp_of(session, isp_a)
    make_tenant(session, isp, make_customer(session, isp), name="Acme PBX",
                dial_plan_id=id_of(plan, "DialPlan"))
    refused = await mutate(isp_a.client, "dialPlanDelete", id=plan)
    assert codes(refused) == [(["id"], "IN_USE")]
    assert "Acme PBX" in refused["errors"][0]["message"]


# Rules -----------------------------------------------------------------------------------------


async def test_rules_are_appended_inserted_moved_and_deleted(isp_a: SignedUp):
    plan = await new_plan(isp_a, SEVEN_DIGITS, TEN_DIGITS)
    inserted = await mutate(isp_a.client, "dialPlanRuleCreate", dialPlan=plan, priority=0,
                            **INTERNATIONAL)
    assert inserted["dialPlanRule"]["priority"] == 0
    assert inserted["dialPlanRule"]["dialPlan"] == {"id": plan}
    rules = await rules_of(isp_a, plan)
    assert [rule["description"] for rule in rules] == ["011", "7 digits", "10 digits"]
    moved = await mutate(isp_a.client, "dialPlanRuleUpdate", id=rules[0]["id"], priority=2)
    assert moved["errors"] == []
    assert [r["description"] for r in await rules_of(isp_a, plan)] == [
        "7 digits", "10 digits", "011"]
    deleted = await mutate(isp_a.client, "dialPlanRuleDelete", id=rules[1]["id"])
    assert deleted["errors"] == []
    assert [r["description"] for r in await rules_of(isp_a, plan)] == ["10 digits", "011"]
    too_far = await mutate(isp_a.client, "dialPlanRuleCreate", dialPlan=plan, priority=3,
                           **SEVEN_DIGITS)
    assert codes(too_far) == [(["priority"], "INVALID")]


async def test_reorder_is_atomic_and_must_name_every_rule(isp_a: SignedUp):
    plan = await new_plan(isp_a, SEVEN_DIGITS, TEN_DIGITS, INTERNATIONAL)
    ids = [rule["id"] for rule in await rules_of(isp_a, plan)]
    reordered = await mutate(isp_a.client, "dialPlanRulesReorder", dialPlan=plan,
                             rules=[ids[2], ids[0], ids[1]])
    assert [rule["id"] for rule in reordered["dialPlan"]["rules"]] == [ids[2], ids[0], ids[1]]
    for wrong in ([ids[0], ids[1]], [ids[0], ids[0], ids[1]], [*ids, plan]):
        payload = await mutate(isp_a.client, "dialPlanRulesReorder", dialPlan=plan, rules=wrong)
        assert codes(payload) == [(["rules"], "INVALID")]
    assert [rule["id"] for rule in await rules_of(isp_a, plan)] == [ids[2], ids[0], ids[1]]


@pytest.mark.parametrize(("rule", "field", "says"), [
    ({"matchExpression": r"^(?=1)\d+$"}, "matchExpression", "lookahead"),
    ({"matchExpression": r"(\d+)+"}, "matchExpression", "exponential"),
    ({"substitutionExpression": r"(?P<n>\d+)"}, "substitutionExpression", "named groups"),
    ({"substitutionExpression": r"(\d)\1"}, "substitutionExpression", "back-references"),
    ({"replacement": r"+1_AC\1"}, "replacement", "_AC_"),
    ({"replacement": r"\2"}, "replacement", "has 1 group"),
    ({"replacement": "$avp(ac)"}, "replacement", "not allowed"),
    ({"matchExpression": "1" * 257}, "matchExpression", "at most 256"),
])
async def test_invalid_rules_are_never_stored(isp_a: SignedUp, rule: dict, field: str,
                                              says: str):
    plan = await new_plan(isp_a)
    payload = await mutate(isp_a.client, "dialPlanRuleCreate", dialPlan=plan,
                           **(SEVEN_DIGITS | rule))
    assert codes(payload) == [([field], "INVALID")]
    assert says in payload["errors"][0]["message"]
    assert await rules_of(isp_a, plan) == []


async def test_a_rule_stays_valid_as_a_whole_when_one_field_changes(isp_a: SignedUp):
    plan = await new_plan(isp_a, SEVEN_DIGITS)
    [rule] = await rules_of(isp_a, plan)
    # Without the group, the stored replacement's \1 would refer to nothing.
    payload = await mutate(isp_a.client, "dialPlanRuleUpdate", id=rule["id"],
                           substitutionExpression="[1-9][0-9]{6}")
    assert codes(payload) == [(["replacement"], "INVALID")]
    both = await mutate(isp_a.client, "dialPlanRuleUpdate", id=rule["id"],
                        substitutionExpression="^(.*)$", replacement=r"+_CC_\1")
    assert both["dialPlanRule"]["replacement"] == r"+_CC_\1"
    assert both["dialPlanRule"]["matchExpression"] == SEVEN_DIGITS["matchExpression"]


async def test_missing_expressions_are_required(isp_a: SignedUp):
    plan = await new_plan(isp_a)
    payload = await mutate(isp_a.client, "dialPlanRuleCreate", dialPlan=plan,
                           matchExpression="", substitutionExpression="", replacement="")
    assert codes(payload) == [(["matchExpression"], "REQUIRED"),
                              (["substitutionExpression"], "REQUIRED"),
                              (["replacement"], "REQUIRED")]


async def test_rule_changes_are_audited(isp_a: SignedUp, session: Session):
    plan = await new_plan(isp_a, SEVEN_DIGITS, TEN_DIGITS)
    ids = [rule["id"] for rule in await rules_of(isp_a, plan)]
    await mutate(isp_a.client, "dialPlanRulesReorder", dialPlan=plan, rules=ids[::-1])
    await mutate(isp_a.client, "dialPlanRuleUpdate", id=ids[0], description="seven")
    await mutate(isp_a.client, "dialPlanRuleDelete", id=ids[1])
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.object_type.in_(
        ["DialPlan", "DialPlanRule"])).order_by(AuditEvent.occurred_at)).all()
    assert actions == ["dial_plan.create", "dial_plan_rule.create", "dial_plan_rule.create",
                       "dial_plan.reorder_rules", "dial_plan_rule.update",
                       "dial_plan_rule.delete"]


# Simulation ------------------------------------------------------------------------------------


async def test_simulate_the_seed_example(isp_a: SignedUp):
    plan = await new_plan(isp_a, SEVEN_DIGITS)
    simulation = await simulate(isp_a.client, plan, "2488700")
    assert simulation == {"matchedRule": {"id": (await rules_of(isp_a, plan))[0]["id"],
                                          "description": "7 digits"},
                          "result": "+12092488700", "failure": None,
                          "tried": [{"rule": {"description": "7 digits"}, "matched": True}],
                          "errors": []}


@pytest.mark.parametrize(("dialled", "expected", "rule"), [
    ("2095550100", "+12095550100", "10 digits"),
    ("011442079460000", "+442079460000", "011"),
    ("00442079460000", "+442079460000", "00"),
])
async def test_simulate_ten_digit_and_international_dialling(isp_a: SignedUp, dialled: str,
                                                            expected: str, rule: str):
    plan = await new_plan(isp_a, SEVEN_DIGITS, TEN_DIGITS, INTERNATIONAL, INTERNATIONAL_00)
    simulation = await simulate(isp_a.client, plan, dialled)
    assert (simulation["result"], simulation["matchedRule"]["description"]) == (expected, rule)
    assert simulation["tried"][-1] == {"rule": {"description": rule}, "matched": True}
    assert all(not attempt["matched"] for attempt in simulation["tried"][:-1])


async def test_simulate_without_a_matching_rule(isp_a: SignedUp):
    plan = await new_plan(isp_a, SEVEN_DIGITS, TEN_DIGITS)
    simulation = await simulate(isp_a.client, plan, "911")
    assert (simulation["matchedRule"], simulation["result"]) == (None, None)
    assert [attempt["matched"] for attempt in simulation["tried"]] == [False, False]


async def test_simulate_refuses_bad_input_and_other_isps_plans(isp_a: SignedUp,
                                                               isp_b: SignedUp):
    plan = await new_plan(isp_a, SEVEN_DIGITS)
    bad = await simulate(isp_a.client, plan, "24887OO", cc="+1", ac="20a")
    assert codes(bad) == [(["number"], "INVALID"), (["countryCode"], "INVALID"),
                          (["areaCode"], "INVALID")]
    theirs = await simulate(isp_b.client, plan, "2488700")
    missing = await simulate(isp_b.client, missing_like(plan), "2488700")
    assert theirs == missing
    assert codes(theirs) == [(["dialPlan"], "NOT_FOUND")]


async def test_a_viewer_may_simulate_but_not_change(isp_a: SignedUp, viewer: Client):
    plan = await new_plan(isp_a, SEVEN_DIGITS)
    [rule] = await rules_of(isp_a, plan)
    assert (await simulate(viewer, plan, "2488700"))["result"] == "+12092488700"
    operations = [
        ("dialPlanCreate", {"name": "Mine", "isp": isp_a.isp_id}),
        ("dialPlanUpdate", {"id": plan, "name": "Mine"}),
        ("dialPlanRuleCreate", {"dialPlan": plan, **TEN_DIGITS}),
        ("dialPlanRuleUpdate", {"id": rule["id"], "description": "x"}),
        ("dialPlanRulesReorder", {"dialPlan": plan, "rules": [rule["id"]]}),
        ("dialPlanRuleDelete", {"id": rule["id"]}),
        ("dialPlanDelete", {"id": plan}),
    ]
    for name, input in operations:
        assert codes(await mutate(viewer, name, **input)) == [(None, "NOT_PERMITTED")], name


async def test_unknown_objects_are_not_found(isp_a: SignedUp):
    plan = await new_plan(isp_a, SEVEN_DIGITS)
    [rule] = await rules_of(isp_a, plan)
    operations = [
        ("dialPlanUpdate", "id", {"id": plan, "name": "x"}),
        ("dialPlanDelete", "id", {"id": plan}),
        ("dialPlanRuleCreate", "dialPlan", {"dialPlan": plan, **TEN_DIGITS}),
        ("dialPlanRuleUpdate", "id", {"id": rule["id"], "description": "x"}),
        ("dialPlanRuleDelete", "id", {"id": rule["id"]}),
        ("dialPlanRulesReorder", "dialPlan", {"dialPlan": plan, "rules": [rule["id"]]}),
    ]
    for name, key, input in operations:
        for unknown in (missing_like(input[key]), "bogus"):
            payload = await mutate(isp_a.client, name, **(input | {key: unknown}))
            assert codes(payload) == [([key], "NOT_FOUND")], name


async def test_anonymous_callers_must_log_in(isp_a: SignedUp, anonymous: Client):
    plan = await new_plan(isp_a, SEVEN_DIGITS)
    assert codes(await simulate(anonymous, plan, "2488700")) == [(None, "UNAUTHENTICATED")]
    payload = await mutate(anonymous, "dialPlanRuleCreate", dialPlan=plan, **TEN_DIGITS)
    assert codes(payload) == [(None, "UNAUTHENTICATED")]
    assert codes(await mutate(anonymous, "dialPlanCreate", name="x")) == [
        (None, "UNAUTHENTICATED")]
