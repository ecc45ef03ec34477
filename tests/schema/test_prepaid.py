"""Prepaid balances over GraphQL: top-ups and adjustments (typed errors, audited, the ISP's
administrators only), the balance and its ledger on the Customer type, and scoping."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session
from starlette.applications import Starlette

from core.models import AuditEvent, Role, Scope
from schema.core.ids import id_of, to_global_id
from tests.graphql import Client, SignedUp
from tests.isolation_cases.plans_and_customers import (
    ERRORS,
    colleague,
    create_customer,
    create_plan,
)
from tests.isolation_cases.prepaid import prepaid_customer
from tests.schema.test_pagination import count_statements

TOP_UP = f"""mutation($input: PrepaidTopUpInput!) {{ prepaidTopUp(input: $input) {{
    entry {{ id kind amount balanceAfter currency note legs }}
    customer {{ id prepaidBalance {{ amount currency exhausted }} }} {ERRORS} }} }}"""
ADJUST = f"""mutation($input: PrepaidAdjustInput!) {{ prepaidAdjust(input: $input) {{
    entry {{ kind amount balanceAfter note }}
    customer {{ prepaidBalance {{ amount exhausted }} }} {ERRORS} }} }}"""
CUSTOMER = """query($id: ID!) { node(id: $id) { ... on Customer {
    prepaidBalance { amount currency exhausted updatedAt }
    prepaidLedger(first: 10) { totalCount edges { node { kind amount balanceAfter note } } }
} } }"""


async def _top_up(client: Client, customer: str, amount: str, **extra: Any) -> dict[str, Any]:
    data = await client.execute(TOP_UP, {"input": {"customer": customer, "amount": amount,
                                                   **extra}})
    return data["prepaidTopUp"]


async def _adjust(client: Client, customer: str, amount: str,
                  reason: str = "refund") -> dict[str, Any]:
    data = await client.execute(ADJUST, {"input": {"customer": customer, "amount": amount,
                                                   "reason": reason}})
    return data["prepaidAdjust"]


async def test_a_prepaid_customer_starts_exhausted_and_a_top_up_credits_it(isp_a: SignedUp):
    customer = await prepaid_customer(isp_a)
    before = (await isp_a.client.execute(CUSTOMER, {"id": customer}))["node"]
    assert before["prepaidBalance"] == {"amount": "0.0000", "currency": "EUR",
                                        "exhausted": True, "updatedAt": None}

    result = await _top_up(isp_a.client, customer, "25.5", note="invoice 42")

    assert result["errors"] == []
    assert result["entry"] | {"id": None} == {
        "id": None, "kind": "TOP_UP", "amount": "25.5000", "balanceAfter": "25.5000",
        "currency": "EUR", "note": "invoice 42", "legs": 0}
    assert result["customer"]["prepaidBalance"] == {"amount": "25.5000", "currency": "EUR",
                                                    "exhausted": False}


async def test_adjustments_go_either_way_and_the_ledger_lists_every_change(isp_a: SignedUp):
    customer = await prepaid_customer(isp_a)
    await _top_up(isp_a.client, customer, "10")
    taken = await _adjust(isp_a.client, customer, "-12.25", "charged twice in error")
    given = await _adjust(isp_a.client, customer, "3", "goodwill")

    assert taken["entry"] == {"kind": "ADJUSTMENT", "amount": "-12.2500",
                              "balanceAfter": "-2.2500", "note": "charged twice in error"}
    assert taken["customer"]["prepaidBalance"] == {"amount": "-2.2500", "exhausted": True}
    assert given["customer"]["prepaidBalance"] == {"amount": "0.7500", "exhausted": False}
    ledger = (await isp_a.client.execute(CUSTOMER, {"id": customer}))["node"]["prepaidLedger"]
    assert ledger["totalCount"] == 3
    assert [(edge["node"]["kind"], edge["node"]["balanceAfter"])
            for edge in ledger["edges"]] == [  # newest first
        ("ADJUSTMENT", "0.7500"), ("ADJUSTMENT", "-2.2500"), ("TOP_UP", "10.0000")]


async def test_each_change_is_audited(isp_a: SignedUp, engine: Engine):
    customer = await prepaid_customer(isp_a)
    await _top_up(isp_a.client, customer, "10", note="paid")
    await _adjust(isp_a.client, customer, "-1", "fee")

    with Session(engine) as session:
        events = session.execute(select(AuditEvent).where(
            AuditEvent.object_id == str(id_of(customer, "Customer")),
            AuditEvent.action.startswith("prepaid.")).order_by(  # type: ignore[attr-defined]
            AuditEvent.occurred_at)).scalars().all()
    assert [(event.action, event.changes["amount"], event.changes["balance"])
            for event in events] == [("prepaid.top_up", "10.0000", "10.0000"),
                                     ("prepaid.adjustment", "-1.0000", "9.0000")]


@pytest.mark.parametrize(("mutation", "amount", "field", "code", "message"), [
    ("top_up", "0", "amount", "INVALID", "other than zero"),
    ("top_up", "-5", "amount", "INVALID", "use an adjustment"),
    ("top_up", "1.00001", "amount", "INVALID", "at most 4 decimal places"),
    ("top_up", "1e12", "amount", "INVALID", "below"),
    ("adjust", "0", "amount", "INVALID", "other than zero"),
    ("adjust", "-5", "reason", "REQUIRED", "say why"),
    ("adjust", "sNaN", "amount", "INVALID", "as a number"),
    ("top_up", "NaN", "amount", "INVALID", "as a number"),
    ("adjust", "-Infinity", "amount", "INVALID", "as a number"),
])
async def test_bad_amounts_are_refused_and_change_nothing(
        isp_a: SignedUp, mutation: str, amount: str, field: str, code: str, message: str):
    customer = await prepaid_customer(isp_a)
    await _top_up(isp_a.client, customer, "1")
    if mutation == "top_up":
        result = await _top_up(isp_a.client, customer, amount)
    else:
        result = await _adjust(isp_a.client, customer, amount, reason=" ")

    assert [(error["field"], error["code"]) for error in result["errors"]] == [([field], code)]
    assert message in result["errors"][0]["message"]
    assert result["entry"] is None
    node = (await isp_a.client.execute(CUSTOMER, {"id": customer}))["node"]
    assert node["prepaidBalance"]["amount"] == "1.0000"
    assert node["prepaidLedger"]["totalCount"] == 1


async def test_a_postpaid_customer_has_no_balance_to_credit(isp_a: SignedUp):
    plan = await create_plan(isp_a, "Postpaid", currency="EUR")
    customer = await create_customer(isp_a, "Later Pays", servicePlan=plan)
    without_plan = await create_customer(isp_a, "No Plan")

    for target in (customer, without_plan):
        result = await _top_up(isp_a.client, target, "5")
        assert [(error["field"], error["code"]) for error in result["errors"]] == [
            (["customer"], "INVALID")]
        node = (await isp_a.client.execute(CUSTOMER, {"id": target}))["node"]
        assert node["prepaidBalance"] is None
        assert node["prepaidLedger"]["totalCount"] == 0


async def test_another_isps_customer_answers_like_a_missing_one(
        isp_a: SignedUp, isp_b: SignedUp):
    theirs = await prepaid_customer(isp_b)
    await _top_up(isp_b.client, theirs, "5")

    for mutate in (lambda target: _top_up(isp_a.client, target, "5"),
                   lambda target: _adjust(isp_a.client, target, "-5")):
        refused = await mutate(theirs)
        missing = await mutate(to_global_id("Customer", uuid.uuid4()))
        assert refused == missing
        assert [error["code"] for error in refused["errors"]] == ["NOT_FOUND"]
    assert (await isp_a.client.execute(CUSTOMER, {"id": theirs}))["node"] is None
    # Theirs is untouched.
    node = (await isp_b.client.execute(CUSTOMER, {"id": theirs}))["node"]
    assert node["prepaidBalance"]["amount"] == "5.0000"


async def test_the_customers_administrators_read_the_balance_but_cannot_credit_it(
        isp_a: SignedUp, app: Starlette, engine: Engine):
    customer = await prepaid_customer(isp_a)
    await _top_up(isp_a.client, customer, "7")
    own = await colleague(app, engine, "it@prepaid.example", scope=Scope.CUSTOMER,
                          role=Role.ADMIN, isp_id=id_of(isp_a.isp_id, "Isp"),
                          customer_id=id_of(customer, "Customer"))

    node = (await own.execute(CUSTOMER, {"id": customer}))["node"]
    assert node["prepaidBalance"]["amount"] == "7.0000"
    assert node["prepaidLedger"]["totalCount"] == 1
    refused = await _top_up(own, customer, "100")
    assert [error["code"] for error in refused["errors"]] == ["NOT_PERMITTED"]
    node = (await own.execute(CUSTOMER, {"id": customer}))["node"]
    assert node["prepaidBalance"]["amount"] == "7.0000"


async def test_a_page_of_customers_reads_balances_in_a_fixed_number_of_statements(
        isp_a: SignedUp, app: Starlette):
    query = "{ customers(first: 20) { edges { node { name prepaidBalance { amount } } } } }"

    async def statements() -> int:
        with count_statements(app) as counted:
            await isp_a.client.execute(query)
        return len(counted)

    await _top_up(isp_a.client, await prepaid_customer(isp_a, "One"), "1")
    one = await statements()
    for name in ("Two", "Three", "Four"):
        await _top_up(isp_a.client, await prepaid_customer(isp_a, name), "1")
    assert await statements() == one
