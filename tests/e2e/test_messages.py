"""Text messages (SIP MESSAGE): a carrier's reach an SMS-enabled DID's subscriber, a number
without SMS refuses them, and extensions of one tenant write to each other."""

from __future__ import annotations

from tests.e2e.conftest import ERRORS
from tests.e2e.proxy import free_port, run_sipp, sipp_uas
from tests.e2e.test_calls import DID, Calls
from tests.e2e.test_calls import calls as calls

SMS_DID = "+12095550177"


async def _sms_number(calls: Calls) -> None:
    platform = calls.platform
    before = platform.generation
    number = (await platform.mutate(f"""mutation($e164: String!) {{
        numberCreate(input: {{e164: $e164, sms: true}}) {{ number {{ id }} {ERRORS} }} }}""",
                                    {"e164": SMS_DID}))["number"]
    await platform.mutate(f"""mutation($number: ID!, $tenant: ID!) {{
        numberAssign(input: {{number: $number, tenant: $tenant}}) {{ {ERRORS} }} }}""",
                          {"number": number["id"], "tenant": calls.tenant["id"]})
    await platform.mutate(f"""mutation($number: ID!, $subscriber: ID!) {{
        numberTargetSet(input: {{number: $number, subscriber: $subscriber}}) {{ {ERRORS} }} }}""",
                          {"number": number["id"], "subscriber": calls.alice.id})
    await platform.wait_in_step(previous_generation=before)


def _carrier_message(calls: Calls, number: str, expect: int) -> None:
    result = run_sipp("carrier_message.xml", remote_port=calls.platform.proxy.sip_port,
                      local_port=calls.gateway_2, service=number, expect=expect)
    calls.assert_ok(result, expect)


async def test_a_carriers_message_reaches_an_sms_did_and_not_a_voice_only_one(calls: Calls):
    await _sms_number(calls)
    alice_port = free_port()
    calls.assert_ok(calls.platform.register(calls.alice, alice_port), 200)

    with sipp_uas("uas_message.xml", alice_port) as alice:
        _carrier_message(calls, SMS_DID, 200)
    with sipp_uas("uas_message.xml", alice_port, wait=0) as alice_again:
        _carrier_message(calls, DID, 404)  # alice's too, but voice only
        refused_reached = alice_again.received()

    assert alice.result is not None
    message = alice.result.requests("MESSAGE")[0]
    assert message.request_uri == f"sip:alice@127.0.0.1:{alice_port}"
    assert refused_reached == []


async def test_extensions_of_one_tenant_write_to_each_other(calls: Calls):
    bob_port = free_port()
    calls.assert_ok(calls.platform.register(calls.bob, bob_port), 200)

    with sipp_uas("uas_message.xml", bob_port) as bob:
        sent = run_sipp("phone_message.xml", remote_port=calls.platform.proxy.sip_port,
                        service="102", auth=calls.alice.auth, keys=calls.alice.keys)
    outside = run_sipp("phone_message.xml", remote_port=calls.platform.proxy.sip_port,
                       service="5550123", auth=calls.alice.auth, keys=calls.alice.keys,
                       expect=403)

    calls.assert_ok(sent, 200)
    calls.assert_ok(outside, 403)
    assert bob.result is not None
    assert bob.result.requests("MESSAGE")[0].request_uri == f"sip:bob@127.0.0.1:{bob_port}"
