"""Forwards, set over GraphQL, carried by the proxy.

The tenant ``acme`` (country code 1, area code 209; seven digits make +1209<digits>)
has alice (101, caller ID and target of the DID), bob (102) and carol (103), and a
carrier with one gateway that wants E.164 with "+". Each test sets forwards with
``subscriberUpdate``, waits until the proxy has them, and calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.conftest import ERRORS, Phone, RoutedPlatform
from tests.e2e.proxy import SippResult, free_port, run_sipp, sipp_uas

DID = "+12095550100"
OUTSIDE = "5550123"  # +12095550123 through the dial plan
OUTSIDE_E164 = "+12095550123"
PARIS = "+33142685300"


@dataclass
class Office:
    platform: RoutedPlatform
    tenant: dict[str, Any]
    alice: Phone
    bob: Phone
    carol: Phone
    gateway: int  # the carrier's first gateway: calls go out there
    inbound: int  # its second: DID calls come from there

    @property
    def domain(self) -> str:
        return str(self.tenant["domain"])

    async def update(self, phone: Phone, **fields: Any) -> None:
        before = self.platform.generation
        await self.platform.mutate(f"""mutation($input: SubscriberUpdateInput!) {{
            subscriberUpdate(input: $input) {{ subscriber {{ id }} {ERRORS} }} }}""",
                                   {"input": {"id": phone.id, **fields}})
        await self.platform.wait_in_step(previous_generation=before)

    def register(self, phone: Phone) -> int:
        port = free_port()
        result = self.platform.register(phone, port)
        assert result.ok, self.platform.failure(result)
        return port

    def call(self, phone: Phone, dialled: str, *, expect: int = 200) -> SippResult:
        result = run_sipp("phone_invite.xml", remote_port=self.platform.proxy.sip_port,
                          service=dialled, auth=phone.auth, keys=phone.keys, expect=expect)
        assert result.ok, self.platform.failure(result)
        return result

    def carrier_calls(self, number: str, *, expect: int = 200) -> SippResult:
        result = run_sipp("carrier_invite.xml", remote_port=self.platform.proxy.sip_port,
                          local_port=self.inbound, service=number, expect=expect)
        assert result.ok, self.platform.failure(result)
        return result


@pytest.fixture
async def office(routed_platform: RoutedPlatform) -> Office:
    platform = routed_platform
    gateway, inbound = free_port(), free_port()
    carrier = (await platform.mutate(f"""mutation {{ carrierCreate(input: {{name: "Trunk"}})
        {{ carrier {{ id }} {ERRORS} }} }}"""))["carrier"]
    for port in (gateway, inbound):
        await platform.mutate(f"""mutation($input: GatewayCreateInput!) {{
            gatewayCreate(input: $input) {{ gateway {{ id }} {ERRORS} }} }}""", {"input": {
            "carrier": carrier["id"], "address": f"127.0.0.1:{port}", "prefix": "+"}})
    plan = (await platform.mutate(f"""mutation {{ dialPlanCreate(input: {{name: "US 209"}})
        {{ dialPlan {{ id }} {ERRORS} }} }}"""))["dialPlan"]
    await platform.mutate(f"""mutation($input: DialPlanRuleCreateInput!) {{
        dialPlanRuleCreate(input: $input) {{ dialPlanRule {{ id }} {ERRORS} }} }}""", {"input": {
        "dialPlan": plan["id"], "matchExpression": "^[1-9][0-9]{6}$",
        "substitutionExpression": "([1-9][0-9]{6})", "replacement": "+_CC__AC_\\1"}})
    customer = await platform.create_customer()
    tenant = await platform.create_tenant("acme", customer["id"], country_code="1",
                                          area_code="209", carrier=carrier["id"],
                                          dialPlan=plan["id"])
    number = (await platform.mutate(f"""mutation($e164: String!) {{
        numberCreate(input: {{e164: $e164}}) {{ number {{ id }} {ERRORS} }} }}""",
                                    {"e164": DID}))["number"]
    await platform.mutate(f"""mutation($number: ID!, $tenant: ID!) {{
        numberAssign(input: {{number: $number, tenant: $tenant}}) {{ {ERRORS} }} }}""",
                          {"number": number["id"], "tenant": tenant["id"]})
    alice = await platform.create_subscriber(tenant, "alice", alias="101", callerId=DID)
    bob = await platform.create_subscriber(tenant, "bob", alias="102", ringTimeout=1)
    carol = await platform.create_subscriber(tenant, "carol", alias="103")
    await platform.mutate(f"""mutation($number: ID!, $subscriber: ID!) {{
        numberTargetSet(input: {{number: $number, subscriber: $subscriber}}) {{ {ERRORS} }} }}""",
                          {"number": number["id"], "subscriber": alice.id})
    await platform.wait_in_step(previous_generation=platform.generation)
    return Office(platform=platform, tenant=tenant, alice=alice, bob=bob, carol=carol,
                  gateway=gateway, inbound=inbound)


def _invite(uas: Any) -> Any:
    assert uas.result is not None
    return uas.result.requests("INVITE")[0]


async def test_an_unconditional_forward_outside_keeps_the_callers_identity(office: Office):
    await office.update(office.bob, forwardUnconditional=OUTSIDE)
    bob_port = office.register(office.bob)

    with sipp_uas("uas_answer.xml", office.gateway) as gateway, \
            sipp_uas("uas_answer.xml", bob_port, wait=0) as bob:
        office.call(office.alice, "102")
        bob_received = bob.received()

    invite = _invite(gateway)
    assert bob_received == []
    assert invite.request_uri == f"sip:{OUTSIDE_E164}@127.0.0.1:{office.gateway}"
    # The original caller (alice, with her caller ID), and who forwarded it.
    assert f"<sip:{DID}@{office.domain}>" in (invite.header("From") or "")
    assert invite.headers("Diversion") == [
        f"<sip:bob@{office.domain}>;reason=unconditional"]


async def test_a_forwarded_did_call_goes_out_with_the_carriers_caller(office: Office):
    await office.update(office.alice, forwardUnconditional=OUTSIDE)

    with sipp_uas("uas_answer.xml", office.gateway) as gateway:
        office.carrier_calls(DID)

    invite = _invite(gateway)
    assert invite.request_uri == f"sip:{OUTSIDE_E164}@127.0.0.1:{office.gateway}"
    assert "<sip:+15550009999@" in (invite.header("From") or "")
    assert invite.headers("Diversion") == [
        f"<sip:{DID}@{office.domain}>;reason=unconditional"]


async def test_busy_forwards_to_an_extension(office: Office):
    await office.update(office.bob, forwardBusy="103")
    bob_port, carol_port = office.register(office.bob), office.register(office.carol)

    with sipp_uas("uas_486.xml", bob_port) as bob, \
            sipp_uas("uas_answer.xml", carol_port) as carol:
        office.call(office.alice, "102")

    assert _invite(bob).request_uri == f"sip:bob@127.0.0.1:{bob_port}"
    invite = _invite(carol)
    assert invite.request_uri == f"sip:carol@127.0.0.1:{carol_port}"
    assert invite.headers("Diversion") == [f"<sip:bob@{office.domain}>;reason=user-busy"]


async def test_no_answer_forwards_after_the_ring_timeout_and_when_not_registered(
        office: Office):
    await office.update(office.bob, forwardNoAnswer="103")
    carol_port = office.register(office.carol)

    # Not registered: the no-answer forward takes the call at once.
    with sipp_uas("uas_answer.xml", carol_port) as carol:
        office.call(office.alice, "102")
    assert _invite(carol).headers("Diversion") == [
        f"<sip:bob@{office.domain}>;reason=no-answer"]

    bob_port = office.register(office.bob)
    # Registered but nobody picks up: after bob's ring timeout (1 s).
    with sipp_uas("uas_ring.xml", bob_port) as bob, \
            sipp_uas("uas_answer.xml", carol_port) as carol:
        office.call(office.alice, "102")
    assert _invite(bob).request_uri == f"sip:bob@127.0.0.1:{bob_port}"
    assert _invite(carol).headers("Diversion") == [
        f"<sip:bob@{office.domain}>;reason=no-answer"]


async def test_a_forward_abroad_needs_the_security_group_like_a_call(office: Office):
    platform = office.platform
    group = (await platform.mutate(f"""mutation($tenant: ID!) {{ securityGroupCreate(input: {{
        tenant: $tenant, name: "France", countries: ["FR"]}}) {{ securityGroup {{ id }}
        {ERRORS} }} }}""", {"tenant": office.tenant["id"]}))["securityGroup"]
    await office.update(office.bob, securityGroup=group["id"], forwardUnconditional=PARIS)
    bob_port = office.register(office.bob)
    with sipp_uas("uas_answer.xml", office.gateway) as gateway:
        office.call(office.alice, "102")
    assert _invite(gateway).request_uri == f"sip:{PARIS}@127.0.0.1:{office.gateway}"

    # The group no longer opens France: the forward is off, bob's phone rings.
    before = platform.generation
    await platform.mutate(f"""mutation($id: ID!) {{ securityGroupUpdate(input: {{id: $id,
        countries: ["GB"]}}) {{ securityGroup {{ id }} {ERRORS} }} }}""", {"id": group["id"]})
    await platform.wait_in_step(previous_generation=before)
    with sipp_uas("uas_answer.xml", office.gateway, wait=0) as gateway, \
            sipp_uas("uas_answer.xml", bob_port) as bob:
        office.call(office.alice, "102")
        gateway_received = gateway.received()
    assert gateway_received == []
    assert _invite(bob).request_uri == f"sip:bob@127.0.0.1:{bob_port}"


async def test_a_forwarding_loop_ends(office: Office):
    await office.update(office.bob, forwardUnconditional="103")
    await office.update(office.carol, forwardUnconditional="102")

    result = office.call(office.alice, "102", expect=404)

    assert result.final_status == 404
    assert "too many forwards" in office.platform.proxy.log


async def test_a_forward_outside_carries_the_callers_display_name(office: Office):
    await office.update(office.alice, displayName="Alice Liddell")
    await office.update(office.bob, forwardUnconditional=OUTSIDE)
    carol_port = office.register(office.carol)

    with sipp_uas("uas_answer.xml", office.gateway) as gateway:
        office.call(office.alice, "102")
    with sipp_uas("uas_answer.xml", carol_port) as carol:
        office.call(office.alice, "103")

    assert (_invite(gateway).header("From") or "").startswith(
        f'"Alice Liddell" <sip:{DID}@{office.domain}>')
    assert (_invite(carol).header("From") or "").startswith(
        f'"Alice Liddell" <sip:alice@{office.domain}>')
