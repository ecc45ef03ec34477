"""Calls through a real Kamailio, configured over GraphQL as an ISP's administrator does it.

Each test starts from ``calls``: a tenant ``acme`` (country code 1, area code 209) whose
dial plan turns seven digits into ``+1209<digits>``, whose carrier has two gateways
(sipp on loopback when a test needs them to answer), two subscribers with extensions,
and a DID of the tenant aimed at alice. Everything is exported to the proxy by the
control plane itself; the test waits until the proxy is in step, then places calls with
sipp and looks at what arrived where.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.conftest import ERRORS, Phone, RoutedPlatform
from tests.e2e.proxy import SippResult, free_port, run_sipp, sipp_background, sipp_uas

DIALLED = "5550123"  # seven digits: the tenant's dial plan makes it +12095550123
E164 = "+12095550123"
DID = "+12095550100"  # the tenant's number, alice's caller id, and aimed at her
UK = "+442071234567"
# Gateway 1 sends national numbers with a 9 in front, from the company's main number.
GATEWAY_1 = {"strip": 2, "prefix": "9", "fromUser": "2095550100", "fromDisplay": "Acme Main",
             "addPai": True}
# +12095550123 without its first two digits (strip counts digits of the E.164 number; the
# "+" goes with them), then the prefix 9.
GATEWAY_1_NUMBER = "9095550123"


@dataclass
class Calls:
    """The tenant, its phones and its carrier's gateways (ports on 127.0.0.1)."""

    platform: RoutedPlatform
    customer: dict[str, Any]
    tenant: dict[str, Any]
    alice: Phone  # extension 101, caller id DID
    bob: Phone  # extension 102
    gateway_1: int
    gateway_2: int

    def call(self, phone: Phone, dialled: str, *, expect: int = 200,
             ruri_domain: str | None = None) -> SippResult:
        """``phone`` dials ``dialled`` (at its own domain unless ``ruri_domain``)."""
        keys = phone.keys | ({"ruri_domain": ruri_domain} if ruri_domain else {})
        return run_sipp("phone_invite.xml", remote_port=self.platform.proxy.sip_port,
                        service=dialled, auth=phone.auth, keys=keys, expect=expect)

    def carrier_calls(self, number: str, *, source_port: int | None,
                      expect: int = 200) -> SippResult:
        """A carrier calls ``number`` from 127.0.0.1:<source_port> (None: any port)."""
        return run_sipp("carrier_invite.xml", remote_port=self.platform.proxy.sip_port,
                        local_port=source_port, service=number, expect=expect)

    def assert_ok(self, result: SippResult, status: int) -> None:
        """sipp ended as the scenario wanted, with the final ``status``."""
        assert result.ok, self.platform.failure(result)
        assert result.final_status == status, self.platform.failure(result)


def _reason(result: SippResult) -> str:
    """The status line of the last final response sipp received."""
    finals = [m for m in result.received if not m.is_request and (m.status or 0) >= 200]
    return finals[-1].first_line if finals else ""


async def _carrier(platform: RoutedPlatform, gateway_1: int, gateway_2: int) -> str:
    carrier = (await platform.mutate(f"""mutation {{ carrierCreate(input: {{name: "Trunk"}})
        {{ carrier {{ id }} {ERRORS} }} }}"""))["carrier"]
    for port, settings in ((gateway_1, GATEWAY_1), (gateway_2, {})):
        await platform.mutate(f"""mutation($input: GatewayCreateInput!) {{
            gatewayCreate(input: $input) {{ gateway {{ id }} {ERRORS} }} }}""", {"input": {
            "carrier": carrier["id"], "address": f"127.0.0.1:{port}", **settings}})
    return str(carrier["id"])


async def _dial_plan(platform: RoutedPlatform) -> str:
    plan = (await platform.mutate(f"""mutation {{ dialPlanCreate(input: {{name: "US 209"}})
        {{ dialPlan {{ id }} {ERRORS} }} }}"""))["dialPlan"]
    await platform.mutate(f"""mutation($input: DialPlanRuleCreateInput!) {{
        dialPlanRuleCreate(input: $input) {{ dialPlanRule {{ id }} {ERRORS} }} }}""", {"input": {
        "dialPlan": plan["id"], "matchExpression": "^[1-9][0-9]{6}$",
        "substitutionExpression": "([1-9][0-9]{6})", "replacement": "+_CC__AC_\\1"}})
    return str(plan["id"])


async def _number(platform: RoutedPlatform, e164: str, tenant_id: str) -> str:
    number = (await platform.mutate(f"""mutation($e164: String!) {{
        numberCreate(input: {{e164: $e164}}) {{ number {{ id }} {ERRORS} }} }}""",
                                    {"e164": e164}))["number"]
    await platform.mutate(f"""mutation($number: ID!, $tenant: ID!) {{
        numberAssign(input: {{number: $number, tenant: $tenant}}) {{ {ERRORS} }} }}""",
                          {"number": number["id"], "tenant": tenant_id})
    return str(number["id"])


async def _update_subscriber(platform: RoutedPlatform, phone: Phone, **fields: Any) -> None:
    await platform.mutate(f"""mutation($input: SubscriberUpdateInput!) {{
        subscriberUpdate(input: $input) {{ subscriber {{ id }} {ERRORS} }} }}""",
                          {"input": {"id": phone.id, **fields}})


@pytest.fixture
async def calls(routed_platform: RoutedPlatform) -> Calls:
    platform = routed_platform
    gateway_1, gateway_2 = free_port(), free_port()
    customer = await platform.create_customer()
    tenant = await platform.create_tenant(
        "acme", customer["id"], country_code="1", area_code="209",
        carrier=await _carrier(platform, gateway_1, gateway_2),
        dialPlan=await _dial_plan(platform))
    number = await _number(platform, DID, tenant["id"])
    alice = await platform.create_subscriber(tenant, "alice", alias="101", callerId=DID)
    bob = await platform.create_subscriber(tenant, "bob", alias="102")
    await platform.mutate(f"""mutation($number: ID!, $subscriber: ID!) {{
        numberTargetSet(input: {{number: $number, subscriber: $subscriber}}) {{ {ERRORS} }} }}""",
                          {"number": number, "subscriber": alice.id})
    await platform.wait_in_step(previous_generation=platform.generation)
    return Calls(platform=platform, customer=customer, tenant=tenant, alice=alice, bob=bob,
                 gateway_1=gateway_1, gateway_2=gateway_2)


# Registration ------------------------------------------------------------------------


async def test_a_phone_registers_with_its_password_only(calls: Calls):
    phone_port = free_port()

    registered = calls.platform.register(calls.alice, phone_port)
    wrong = calls.platform.register(calls.alice, phone_port, password="Not-her-password-42",
                                    expect=401)

    calls.assert_ok(registered, 200)
    calls.assert_ok(wrong, 401)


# Outbound through the carrier ---------------------------------------------------------


async def test_seven_digits_go_out_through_the_first_gateway_as_it_wants_them(calls: Calls):
    domain = calls.tenant["domain"]

    with sipp_uas("uas_answer.xml", calls.gateway_1) as gateway:
        result = calls.call(calls.alice, DIALLED)

    calls.assert_ok(result, 200)
    assert gateway.result is not None
    invite = gateway.result.requests("INVITE")[0]
    # +12095550123 after the gateway's strip (2 digits) and prefix (9).
    assert invite.request_uri == f"sip:{GATEWAY_1_NUMBER}@127.0.0.1:{calls.gateway_1}"
    assert (invite.header("From") or "").startswith(f'"Acme Main" <sip:2095550100@{domain}>')
    # The phone's own P-Asserted-Identity is gone; the gateway's is the only one.
    assert invite.headers("P-Asserted-Identity") == [
        f"<sip:2095550100@127.0.0.1:{calls.gateway_1}>"]


async def test_a_dead_first_gateway_hands_the_call_to_the_second(calls: Calls):
    # Nothing listens on gateway 1: the proxy gives up on it after FR_TIMER (1 s).
    with sipp_uas("uas_answer.xml", calls.gateway_2) as gateway:
        result = calls.call(calls.alice, DIALLED)

    calls.assert_ok(result, 200)
    assert gateway.result is not None
    invite = gateway.result.requests("INVITE")[0]
    # Gateway 2 has no strip, prefix nor From settings: gateway 1's do not leak into it.
    # It gets the E.164 digits, without "+" (it has no prefix "+").
    assert invite.request_uri == f"sip:{E164[1:]}@127.0.0.1:{calls.gateway_2}"
    domain = calls.tenant["domain"]
    assert (invite.header("From") or "").startswith(f'"alice" <sip:{DID}@{domain}>')
    assert invite.headers("P-Asserted-Identity") == []


# Inbound DIDs -------------------------------------------------------------------------


async def test_a_did_call_from_the_carrier_rings_the_registered_subscriber(calls: Calls):
    phone_port = free_port()
    calls.assert_ok(calls.platform.register(calls.alice, phone_port), 200)

    with sipp_uas("uas_answer.xml", phone_port) as phone:
        result = calls.carrier_calls(DID, source_port=calls.gateway_1)

    calls.assert_ok(result, 200)
    assert phone.result is not None
    invite = phone.result.requests("INVITE")[0]
    assert invite.request_uri == f"sip:alice@127.0.0.1:{phone_port}"


async def test_a_did_call_from_an_unknown_source_is_refused(calls: Calls):
    phone_port = free_port()
    calls.assert_ok(calls.platform.register(calls.alice, phone_port), 200)

    with sipp_uas("uas_answer.xml", phone_port, wait=0) as phone:
        # The carrier's address, but not one of its gateways' ports.
        result = calls.carrier_calls(DID, source_port=None, expect=403)
        received = phone.received()

    calls.assert_ok(result, 403)
    assert received == []


# Extensions ---------------------------------------------------------------------------


async def test_an_extension_rings_the_subscriber_of_the_same_tenant(calls: Calls):
    bob_port = free_port()
    calls.assert_ok(calls.platform.register(calls.bob, bob_port), 200)

    with sipp_uas("uas_answer.xml", bob_port) as bob:
        result = calls.call(calls.alice, "102")

    calls.assert_ok(result, 200)
    assert bob.result is not None
    assert bob.result.requests("INVITE")[0].request_uri == f"sip:bob@127.0.0.1:{bob_port}"


async def test_another_tenants_extension_is_out_of_reach(calls: Calls):
    platform = calls.platform
    before = platform.generation
    globex = await platform.create_tenant("globex", calls.customer["id"], country_code="1")
    # Same extension as bob's in acme; bob is not registered, dave is.
    dave = await platform.create_subscriber(globex, "dave", alias="102")
    await platform.wait_in_step(previous_generation=before)
    dave_port = free_port()
    calls.assert_ok(platform.register(dave, dave_port), 200)

    with sipp_uas("uas_answer.xml", dave_port, wait=0) as dave_phone:
        own_extension = calls.call(calls.alice, "102", expect=404)
        other_domain = calls.call(calls.alice, "102", ruri_domain=globex["domain"], expect=403)
        received = dave_phone.received()

    calls.assert_ok(own_extension, 404)  # acme's 102 (bob) is not registered
    assert "Not Registered" in _reason(own_extension)
    calls.assert_ok(other_domain, 403)
    assert "Other Tenant" in _reason(other_domain)
    assert received == []


# International calls ------------------------------------------------------------------


async def test_international_calls_need_a_security_group_that_opens_them(calls: Calls):
    platform, alice = calls.platform, calls.alice
    closed = calls.call(alice, UK, expect=403)
    calls.assert_ok(closed, 403)
    assert "International Calls Not Allowed" in _reason(closed)

    before = platform.generation
    group = (await platform.mutate(f"""mutation($tenant: ID!) {{ securityGroupCreate(input: {{
        tenant: $tenant, name: "Europe", prefixes: ["+33"]}}) {{ securityGroup {{ id }}
        {ERRORS} }} }}""", {"tenant": calls.tenant["id"]}))["securityGroup"]
    await _update_subscriber(platform, alice, securityGroup=group["id"])
    await platform.wait_in_step(previous_generation=before)
    elsewhere = calls.call(alice, UK, expect=403)
    calls.assert_ok(elsewhere, 403)
    assert "Destination Not Allowed" in _reason(elsewhere)

    before = platform.generation
    await platform.mutate(f"""mutation($id: ID!) {{ securityGroupUpdate(input: {{id: $id,
        countries: ["GB"]}}) {{ securityGroup {{ id }} {ERRORS} }} }}""", {"id": group["id"]})
    await platform.wait_in_step(previous_generation=before)
    with sipp_uas("uas_answer.xml", calls.gateway_1) as gateway:
        opened = calls.call(alice, UK)

    calls.assert_ok(opened, 200)
    assert gateway.result is not None
    invite = gateway.result.requests("INVITE")[0]
    assert invite.request_uri == f"sip:9{UK[3:]}@127.0.0.1:{calls.gateway_1}"  # strip 2 digits


# Limits and status --------------------------------------------------------------------


async def test_a_call_over_the_subscribers_limit_is_busy(calls: Calls):
    platform, alice = calls.platform, calls.alice
    before = platform.generation
    await _update_subscriber(platform, alice, concurrentCalls=1)
    await platform.wait_in_step(previous_generation=before)

    with sipp_uas("uas_answer.xml", calls.gateway_1, calls=2) as gateway:
        with sipp_background("phone_invite.xml", remote_port=platform.proxy.sip_port,
                             service=DIALLED, auth=alice.auth, keys=alice.keys,
                             duration_ms=2000) as first:
            first.wait_for_status(200)
            second = calls.call(alice, DIALLED, expect=486)
        # Once the first call has ended, the line is free again.
        third = calls.call(alice, DIALLED)

    assert first.result is not None
    calls.assert_ok(first.result, 200)
    calls.assert_ok(second, 486)
    assert "Too Many Calls" in _reason(second)
    assert "Customer" not in _reason(second)
    calls.assert_ok(third, 200)
    assert gateway.result is not None
    assert len({m.header("Call-ID") for m in gateway.result.requests("INVITE")}) == 2


async def test_a_disabled_subscriber_can_neither_register_nor_call(calls: Calls):
    platform, alice = calls.platform, calls.alice
    phone_port = free_port()
    calls.assert_ok(platform.register(alice, phone_port), 200)

    before = platform.generation
    await _update_subscriber(platform, alice, status="DISABLED")
    await platform.wait_in_step(previous_generation=before)
    with sipp_uas("uas_answer.xml", calls.gateway_1, wait=0) as gateway:
        registration = platform.register(alice, phone_port, expect=403)
        call = calls.call(alice, DIALLED, expect=403)
        received = gateway.received()

    calls.assert_ok(registration, 403)
    calls.assert_ok(call, 403)
    assert "Subscriber Disabled" in _reason(call)
    assert received == []


# Display names ------------------------------------------------------------------------


async def test_the_subscribers_display_name_is_the_from_display_unless_the_gateway_has_one(
        calls: Calls):
    platform, alice = calls.platform, calls.alice
    domain = calls.tenant["domain"]
    before = platform.generation
    await _update_subscriber(platform, alice, displayName='Alice "Al" Liddell')
    await platform.wait_in_step(previous_generation=before)
    bob_port = free_port()
    calls.assert_ok(platform.register(calls.bob, bob_port), 200)

    with sipp_uas("uas_answer.xml", bob_port) as bob:
        internal = calls.call(alice, "102")
    # Gateway 1 is dead: gateway 2 (no display of its own) gets the call.
    with sipp_uas("uas_answer.xml", calls.gateway_2) as gateway_2:
        outside = calls.call(alice, DIALLED)
    with sipp_uas("uas_answer.xml", calls.gateway_1) as gateway_1:
        overridden = calls.call(alice, DIALLED)

    for result in (internal, outside, overridden):
        calls.assert_ok(result, 200)
    assert bob.result is not None
    assert gateway_2.result is not None
    assert gateway_1.result is not None
    # Quotes cannot go into a quoted display: dropped.
    assert (bob.result.requests("INVITE")[0].header("From") or "").startswith(
        f'"Alice Al Liddell" <sip:alice@{domain}>')
    assert (gateway_2.result.requests("INVITE")[0].header("From") or "").startswith(
        f'"Alice Al Liddell" <sip:{DID}@{domain}>')
    assert (gateway_1.result.requests("INVITE")[0].header("From") or "").startswith(
        f'"Acme Main" <sip:2095550100@{domain}>')
