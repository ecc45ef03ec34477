"""Gateway attributes the proxy applies: ``max_calls`` (when a gateway carries that many
calls, the next call goes to the carrier's next gateway at once) and ``transport`` (tcp:
the gateway is reached over the proxy's TCP socket). Unknown keys are refused:
tests/schema/test_carriers.py."""

from __future__ import annotations

import time

from tests.e2e.conftest import ERRORS, RoutedPlatform
from tests.e2e.proxy import free_port, run_sipp, sipp_background, sipp_uas

NUMBER = "+12095550123"


async def test_a_full_gateway_is_skipped_until_its_call_ends(routed_platform: RoutedPlatform):
    platform = routed_platform
    first, second = free_port(), free_port()
    carrier = (await platform.mutate(f"""mutation {{ carrierCreate(input: {{name: "Trunk"}})
        {{ carrier {{ id }} {ERRORS} }} }}"""))["carrier"]
    gateways = []
    for port, attributes in ((first, [{"key": "max_calls", "value": "1"}]), (second, [])):
        gateways.append((await platform.mutate(f"""mutation($input: GatewayCreateInput!) {{
            gatewayCreate(input: $input) {{ gateway {{ id }} {ERRORS} }} }}""", {"input": {
            "carrier": carrier["id"], "address": f"127.0.0.1:{port}", "prefix": "+",
            "attributes": attributes}}))["gateway"])
    customer = await platform.create_customer()
    tenant = await platform.create_tenant("acme", customer["id"], carrier=carrier["id"])
    alice = await platform.create_subscriber(tenant, "alice", concurrentCalls=5)
    await platform.wait_in_step(previous_generation=platform.generation)

    def call() -> object:
        return run_sipp("phone_invite.xml", remote_port=platform.proxy.sip_port,
                        service=NUMBER, auth=alice.auth, keys=alice.keys, expect=200)

    with sipp_uas("uas_answer.xml", first, calls=2) as gateway_1, \
            sipp_uas("uas_answer.xml", second) as gateway_2:
        with sipp_background("phone_invite.xml", remote_port=platform.proxy.sip_port,
                             service=NUMBER, auth=alice.auth, keys=alice.keys,
                             duration_ms=3000) as held:
            held.wait_for_status(200)
            started = time.monotonic()
            overflow = call()
            overflow_took = time.monotonic() - started
        # The held call has ended: gateway 1 has room again.
        again = call()

    assert held.result is not None
    assert held.result.ok, platform.failure(held.result)
    assert overflow.ok, platform.failure(overflow)  # type: ignore[attr-defined]
    assert again.ok, platform.failure(again)  # type: ignore[attr-defined]
    assert gateway_1.result is not None
    assert gateway_2.result is not None
    assert len({m.header("Call-ID") for m in gateway_1.result.requests("INVITE")}) == 2
    assert len(gateway_2.result.requests("INVITE")) == 1
    # Skipped, not tried and timed out (the proxy's FR_TIMER is 1 s).
    assert overflow_took < 1.0



async def test_a_gateway_with_transport_tcp_is_reached_over_tcp(routed_platform: RoutedPlatform):
    platform = routed_platform
    port = free_port("tcp")
    carrier = (await platform.mutate(f"""mutation {{ carrierCreate(input: {{name: "TCP"}})
        {{ carrier {{ id }} {ERRORS} }} }}"""))["carrier"]
    await platform.mutate(f"""mutation($input: GatewayCreateInput!) {{
        gatewayCreate(input: $input) {{ gateway {{ id }} {ERRORS} }} }}""", {"input": {
        "carrier": carrier["id"], "address": f"127.0.0.1:{port}", "prefix": "+",
        "attributes": [{"key": "transport", "value": "TCP"}]}})
    customer = await platform.create_customer()
    tenant = await platform.create_tenant("acme", customer["id"], carrier=carrier["id"])
    alice = await platform.create_subscriber(tenant, "alice")
    await platform.wait_in_step(previous_generation=platform.generation)

    with sipp_uas("uas_answer_tcp.xml", port, tcp=True) as gateway:
        result = run_sipp("phone_invite.xml", remote_port=platform.proxy.sip_port,
                          service=NUMBER, auth=alice.auth, keys=alice.keys, expect=200)

    assert result.ok, platform.failure(result)
    assert gateway.result is not None
    invite = gateway.result.requests("INVITE")[0]
    assert invite.request_uri == f"sip:{NUMBER}@127.0.0.1:{port};transport=tcp"
    assert (invite.header("Via") or "").startswith("SIP/2.0/TCP ")
