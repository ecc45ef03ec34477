"""``routePreview`` over GraphQL: scoped like every read, bad input as typed errors.

What it says is compared with real calls in tests/e2e/test_route_preview.py; here the
answers that need no proxy: another ISP's subscriber answers exactly like a missing
one, a dial string the proxies cannot take is an INVALID error, and the refusals for a
disabled subscriber or a tenant without a carrier.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session

from core.models import Isp, SubscriberStatus
from schema.core.ids import id_of, to_global_id
from tests.factories import make_customer, make_subscriber, make_tenant
from tests.graphql import SignedUp

PREVIEW = """query($subscriber: ID!, $dialed: String!) {
    routePreview(subscriber: $subscriber, dialed: $dialed) {
        outcome status reason number gateways { requestUriUser }
        errors { field code message } } }"""


def _subscriber(session: Session, signed: SignedUp, **fields: Any) -> str:
    isp = session.get(Isp, id_of(signed.isp_id, "Isp"))
    assert isp is not None
    tenant = make_tenant(session, isp, make_customer(session, isp))
    return to_global_id("Subscriber", make_subscriber(session, tenant, **fields).id)


async def _preview(signed: SignedUp, subscriber: str, dialled: str) -> dict[str, Any]:
    data = await signed.client.execute(PREVIEW, {"subscriber": subscriber, "dialed": dialled})
    preview: dict[str, Any] = data["routePreview"]
    return preview


async def test_another_isps_subscriber_answers_like_a_missing_one(
        session: Session, isp_a: SignedUp, isp_b: SignedUp):
    theirs = _subscriber(session, isp_b)
    missing = to_global_id("Subscriber", uuid.uuid4())

    other = await _preview(isp_a, theirs, "5550123")
    absent = await _preview(isp_a, missing, "5550123")

    assert other == absent
    assert [(e["field"], e["code"]) for e in other["errors"]] == [(["subscriber"], "NOT_FOUND")]
    assert other["outcome"] is None


async def test_a_dial_string_the_proxies_cannot_take_is_invalid(
        session: Session, isp_a: SignedUp):
    mine = _subscriber(session, isp_a)
    preview = await _preview(isp_a, mine, "555-0123")
    assert [(e["field"], e["code"]) for e in preview["errors"]] == [(["dialed"], "INVALID")]


async def test_refusals_a_caller_would_get(session: Session, isp_a: SignedUp):
    disabled = _subscriber(session, isp_a, status=SubscriberStatus.DISABLED)
    no_carrier = _subscriber(session, isp_a)

    refused = await _preview(isp_a, disabled, "+12095550123")
    unrouted = await _preview(isp_a, no_carrier, "+12095550123")

    assert (refused["outcome"], refused["status"], refused["reason"]) == (
        "REFUSED", 403, "Forbidden - Subscriber Disabled")
    assert (unrouted["outcome"], unrouted["status"], unrouted["number"]) == (
        "REFUSED", 503, "+12095550123")
    assert unrouted["gateways"] == []
