"""What a gateway receives is literally ``prefix + digits[strip:]`` (digits: E.164 without +).

One tenant in the UK (country code 44) calls +442079460000 as dialled; its carrier's
one gateway is changed over GraphQL between calls, and sipp on the gateway's port
shows the Request-URI each setting produces.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ERRORS, RoutedPlatform
from tests.e2e.proxy import free_port, run_sipp, sipp_uas

LONDON = "+442079460000"


@pytest.mark.parametrize(("strip", "prefix", "sent"), [
    (0, "00", "00442079460000"),
    (2, "0", "02079460000"),
    (0, "+", "+442079460000"),
    (0, "", "442079460000"),
    (4, "", "79460000"),
])
async def test_the_gateway_receives_prefix_and_the_digits_after_strip(
        routed_platform: RoutedPlatform, strip: int, prefix: str, sent: str):
    platform = routed_platform
    port = free_port()
    carrier = (await platform.mutate(f"""mutation {{ carrierCreate(input: {{name: "UK"}})
        {{ carrier {{ id }} {ERRORS} }} }}"""))["carrier"]
    await platform.mutate(f"""mutation($input: GatewayCreateInput!) {{
        gatewayCreate(input: $input) {{ gateway {{ id }} {ERRORS} }} }}""", {"input": {
        "carrier": carrier["id"], "address": f"127.0.0.1:{port}", "strip": strip,
        "prefix": prefix}})
    customer = await platform.create_customer()
    tenant = await platform.create_tenant("london", customer["id"], country_code="44",
                                          carrier=carrier["id"])
    phone = await platform.create_subscriber(tenant, "alice")
    await platform.wait_in_step(previous_generation=platform.generation)

    with sipp_uas("uas_answer.xml", port) as gateway:
        result = run_sipp("phone_invite.xml", remote_port=platform.proxy.sip_port,
                          service=LONDON, auth=phone.auth, keys=phone.keys, expect=200)

    assert result.ok, platform.failure(result)
    assert gateway.result is not None
    assert gateway.result.requests("INVITE")[0].request_uri == f"sip:{sent}@127.0.0.1:{port}"
