# ruff: noqa: F811  (the fixtures `calls` and `office` are parameter names here)
"""A prepaid customer through a real Kamailio: it calls out while it has credit; once the
collected calls have spent its balance, the export tells the proxy and calls out get 402
(accounted), while extension calls and its DID keep working; a top-up lets it out again.
Forwards out (test_forwards' ``office``) stop and resume the same way.

The tenant is test_calls' ``acme``. Its customer's plan is prepaid in USD and prices
+1209 at 0.02 a minute on 30/6/3: a call of a few seconds bills 30 s, 0.0100.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session

from core.models import CallRecord
from core.settings import Settings
from tests.e2e.conftest import ERRORS
from tests.e2e.proxy import free_port, run_sipp, sipp_uas
from tests.e2e.test_call_records import HOLD_MS, _call_id, _collect
from tests.e2e.test_calls import (
    DIALLED,
    DID,
    Calls,
    _reason,
    calls,  # noqa: F401  (the fixture, used by name below)
)
from tests.e2e.test_forwards import (
    OUTSIDE,
    OUTSIDE_E164,
    Office,
    office,  # noqa: F401  (the fixture, used by name below)
)

TOP_UP = f"""mutation($customer: ID!, $amount: Decimal!) {{ prepaidTopUp(input: {{
    customer: $customer, amount: $amount}}) {{ customer {{ prepaidBalance {{ amount }} }}
    {ERRORS} }} }}"""
BALANCE = """query($id: ID!) { node(id: $id) { ... on Customer {
    prepaidBalance { amount exhausted }
    prepaidLedger(first: 10) { edges { node { kind amount balanceAfter } } } } } }"""


async def _prepaid_plan(calls: Calls) -> None:
    platform = calls.platform
    plan = (await platform.mutate(f"""mutation {{ servicePlanCreate(input: {{name: "Prepaid",
        currency: "USD", prepaid: true}}) {{ servicePlan {{ id }} {ERRORS} }} }}"""))[
        "servicePlan"]
    await platform.mutate(f"""mutation($plan: ID!) {{ rateDeckEntryCreate(input: {{
        servicePlan: $plan, prefix: "+1209", ratePerMinute: "0.02", minimumDuration: 30,
        increment: 6, delay: 3}}) {{ {ERRORS} }} }}""", {"plan": plan["id"]})
    await platform.mutate(f"""mutation($id: ID!, $plan: ID!) {{ customerUpdate(input: {{
        id: $id, servicePlan: $plan}}) {{ {ERRORS} }} }}""",
                          {"id": calls.customer["id"], "plan": plan["id"]})


async def _top_up(calls: Calls, amount: str) -> None:
    await calls.platform.mutate(TOP_UP, {"customer": calls.customer["id"], "amount": amount})


async def _balance(calls: Calls) -> dict[str, Any]:
    data = await calls.platform.isp.client.execute(BALANCE, {"id": calls.customer["id"]})
    return data["node"]


def _call_out(calls: Calls, *, expect: int = 200) -> Any:
    with sipp_uas("uas_answer.xml", calls.gateway_1, wait=0 if expect != 200 else 5.0):
        return run_sipp("phone_invite.xml", remote_port=calls.platform.proxy.sip_port,
                        service=DIALLED, auth=calls.alice.auth, keys=calls.alice.keys,
                        duration_ms=HOLD_MS, expect=expect)


async def test_a_spent_balance_stops_calls_out_until_a_top_up(
        calls: Calls, engine: Engine, settings: Settings):
    platform = calls.platform
    await _prepaid_plan(calls)
    await _top_up(calls, "0.01")  # exactly one short call
    await platform.wait_in_step(previous_generation=platform.generation, within=60)
    alice_port, bob_port = free_port(), free_port()
    calls.assert_ok(platform.register(calls.alice, alice_port), 200)
    calls.assert_ok(platform.register(calls.bob, bob_port), 200)

    # With credit: out through the gateway, and collection charges it.
    paid = _call_out(calls)
    calls.assert_ok(paid, 200)
    _collect(engine, settings)
    assert (await _balance(calls))["prepaidBalance"] == {"amount": "0.0000",
                                                         "exhausted": True}
    # The balance crossed zero: collection asked for an export, which sets credit 0.
    await platform.wait_in_step(previous_generation=platform.generation, within=60)

    refused = _call_out(calls, expect=402)
    calls.assert_ok(refused, 402)
    assert _reason(refused).endswith("402 Payment Required - Prepaid Credit Exhausted")
    # Extension calls and the customer's DID are not refused.
    with sipp_uas("uas_answer.xml", bob_port):
        internal = run_sipp("phone_invite.xml", remote_port=platform.proxy.sip_port,
                            service="102", auth=calls.alice.auth, keys=calls.alice.keys)
    calls.assert_ok(internal, 200)
    with sipp_uas("uas_answer.xml", alice_port):
        inbound = run_sipp("carrier_invite.xml", remote_port=platform.proxy.sip_port,
                           local_port=calls.gateway_1, service=DID)
    calls.assert_ok(inbound, 200)

    # The refusal is accounted like any refused call: a failed record, charged nothing.
    _collect(engine, settings)
    with Session(engine) as session:
        record = session.execute(select(CallRecord).where(
            CallRecord.call_id == _call_id(refused))).scalars().one()
    assert (record.direction, record.state, record.sip_code) == ("OUTBOUND", "FAILED", 402)
    assert (await _balance(calls))["prepaidBalance"]["amount"] == "0.0000"

    # A top-up lets the customer out again once exported.
    await _top_up(calls, "1")
    await platform.wait_in_step(previous_generation=platform.generation, within=60)
    calls.assert_ok(_call_out(calls), 200)
    _collect(engine, settings)
    node = await _balance(calls)
    assert node["prepaidBalance"] == {"amount": "0.9900", "exhausted": False}
    assert [(edge["node"]["kind"], edge["node"]["amount"])
            for edge in node["prepaidLedger"]["edges"]] == [
        ("CALL_CHARGES", "-0.0100"), ("TOP_UP", "1.0000"), ("CALL_CHARGES", "-0.0100"),
        ("TOP_UP", "0.0100")]


async def test_a_spent_balance_stops_forwards_out_but_not_the_call(office: Office):
    platform = office.platform
    tenant = (await platform.isp.client.execute(
        """query($id: ID!) { node(id: $id) { ... on Tenant { customerId } } }""",
        {"id": office.tenant["id"]}))["node"]
    plan = (await platform.mutate(f"""mutation {{ servicePlanCreate(input: {{name: "Prepaid",
        currency: "USD", prepaid: true}}) {{ servicePlan {{ id }} {ERRORS} }} }}"""))[
        "servicePlan"]
    await platform.mutate(f"""mutation($id: ID!, $plan: ID!) {{ customerUpdate(input: {{
        id: $id, servicePlan: $plan}}) {{ {ERRORS} }} }}""",
                          {"id": tenant["customerId"], "plan": plan["id"]})
    # Never credited: no credit. bob forwards everything outside.
    await office.update(office.bob, forwardUnconditional=OUTSIDE)

    # The forward out is not carried: nothing reaches the gateway, and the call ends as
    # any call whose forward cannot be carried (bob has no phone registered: 404).
    with sipp_uas("uas_answer.xml", office.gateway, wait=0) as gateway:
        office.call(office.alice, "102", expect=404)
        gateway_received = gateway.received()
    assert gateway_received == []
    assert "prepaid credit exhausted" in platform.proxy.log

    await platform.mutate(TOP_UP, {"customer": tenant["customerId"], "amount": "5"})
    await platform.wait_in_step(previous_generation=platform.generation, within=60)
    with sipp_uas("uas_answer.xml", office.gateway) as gateway:
        office.call(office.alice, "102")
    assert gateway.result is not None
    assert gateway.result.requests("INVITE")[0].request_uri == (
        f"sip:{OUTSIDE_E164}@127.0.0.1:{office.gateway}")
