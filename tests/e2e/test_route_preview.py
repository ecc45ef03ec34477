"""``routePreview`` says what the proxy does: compared with what sipp sees, dial string
by dial string.

The tenant of ``test_calls.py`` (``calls``: acme, US 209, two gateways, alice with the
tenant's DID as caller ID), alice with a display name too. For each dial string the
preview is asked over GraphQL, then alice's phone dials it through Kamailio, and the
gateway (or phone) that gets the INVITE shows the same Request-URI user, From and
P-Asserted-Identity, or the caller gets the same refusal.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import ERRORS
from tests.e2e.proxy import free_port, sipp_uas
from tests.e2e.test_calls import Calls, _update_subscriber
from tests.e2e.test_calls import calls as calls

PREVIEW = f"""query($subscriber: ID!, $dialed: String!) {{
    routePreview(subscriber: $subscriber, dialed: $dialed) {{
        dialed outcome status reason number matchedRule {{ id }} securityGroupAllows
        extension {{ username }}
        gateways {{ gateway {{ port }} requestUriUser fromUser fromDisplay pAssertedIdentity }}
        {ERRORS} }} }}"""


async def _preview(calls: Calls, dialled: str) -> dict[str, Any]:
    data = await calls.platform.isp.client.execute(
        PREVIEW, {"subscriber": calls.alice.id, "dialed": dialled})
    preview: dict[str, Any] = data["routePreview"]
    assert preview["errors"] == []
    return preview


def _display_and_user(from_header: str) -> tuple[str | None, str]:
    display = from_header.split('"')[1] if from_header.startswith('"') else None
    user = from_header.split("<sip:")[1].split("@")[0]
    return display, user


@pytest.mark.parametrize("dialled", ["5550123", "+12095550124"])
async def test_the_preview_is_what_each_gateway_receives(calls: Calls, dialled: str):
    platform = calls.platform
    before = platform.generation
    await _update_subscriber(platform, calls.alice, displayName="Alice Liddell")
    await platform.wait_in_step(previous_generation=before)
    preview = await _preview(calls, dialled)
    assert preview["outcome"] == "CARRIER"
    assert preview["securityGroupAllows"] is True
    # Seven digits: the plan's rule makes them +1209...; "+1..." no rule touches.
    assert preview["number"] == ("+12095550123" if dialled == "5550123" else dialled)
    assert (preview["matchedRule"] is not None) == (dialled == "5550123")
    assert [g["gateway"]["port"] for g in preview["gateways"]] == [calls.gateway_1,
                                                                   calls.gateway_2]

    with sipp_uas("uas_answer.xml", calls.gateway_1) as first:
        calls.assert_ok(calls.call(calls.alice, dialled), 200)
    # Gateway 1 dead: the failover attempt shows gateway 2's part of the preview.
    with sipp_uas("uas_answer.xml", calls.gateway_2) as second:
        calls.assert_ok(calls.call(calls.alice, dialled), 200)

    for uas, expected in ((first, preview["gateways"][0]), (second, preview["gateways"][1])):
        assert uas.result is not None
        invite = uas.result.requests("INVITE")[0]
        assert invite.request_uri.split("@")[0] == f"sip:{expected['requestUriUser']}"
        display, user = _display_and_user(invite.header("From") or "")
        assert (display, user) == (expected["fromDisplay"], expected["fromUser"])
        pai = invite.headers("P-Asserted-Identity")
        assert pai == ([expected["pAssertedIdentity"]] if expected["pAssertedIdentity"] else [])


async def test_the_preview_of_an_extension_names_who_rings(calls: Calls):
    preview = await _preview(calls, "102")
    bob_port = free_port()
    calls.assert_ok(calls.platform.register(calls.bob, bob_port), 200)

    with sipp_uas("uas_answer.xml", bob_port) as bob:
        calls.assert_ok(calls.call(calls.alice, "102"), 200)

    assert (preview["outcome"], preview["extension"]) == ("EXTENSION", {"username": "bob"})
    assert bob.result is not None
    assert bob.result.requests("INVITE")[0].request_uri == f"sip:bob@127.0.0.1:{bob_port}"


@pytest.mark.parametrize(("dialled", "status"), [
    ("+442071234567", 403),  # international, no security group
    ("12345678901234567", 484),  # no rule matches, and not E.164
])
async def test_the_preview_of_a_refusal_is_the_callers_answer(calls: Calls, dialled: str,
                                                              status: int):
    preview = await _preview(calls, dialled)
    result = calls.call(calls.alice, dialled, expect=status)

    calls.assert_ok(result, status)
    assert (preview["outcome"], preview["status"]) == ("REFUSED", status)
    finals = [m for m in result.received if not m.is_request and (m.status or 0) >= 200]
    assert preview["reason"] in finals[-1].first_line
