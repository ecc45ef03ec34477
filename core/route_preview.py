"""What the proxies will do with a call a subscriber dials, without placing it.

The steps are those of ``routing_export/kamailio/kamailio.cfg`` for a call from a
phone (route FROM_PHONE, then TO_EXTENSION or TO_CARRIER and the branch route
TO_GATEWAY), computed from the same rules the export writes into the proxies'
tables: the extension table only holds active subscribers of tenants in service
(``routing_export.desired``), the dial plan is applied by ``core.dialplan_engine``
(the proxies' dialplan module, emulated), international destinations by
``core.international.destination_allowed`` (the ``sg`` table), a caller ID only
while the tenant holds the number (``core.caller_ids``), and each gateway gets
``core.carriers.number_for_gateway`` (what ``dr_gateways.strip`` / ``pri_prefix``
make drouting send).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from sqlmodel import Session, col, select

from core import scoping
from core.carriers import number_for_gateway
from core.dial_plans import ordered_rules
from core.dialplan_engine import apply_rules
from core.errors import DomainError, ErrorCode, not_found
from core.international import destination_allowed, openings_of
from core.models import (
    Customer,
    CustomerStatus,
    DialPlanRule,
    Gateway,
    Isp,
    IspStatus,
    Number,
    NumberState,
    Subscriber,
    SubscriberStatus,
    Tenant,
    TenantStatus,
)
from core.viewer import Viewer

# The cfg's check of a number after the dial plan (route TO_CARRIER).
_E164 = re.compile(r"^[+][1-9][0-9]{1,14}$")
_DIALLED = re.compile(r"[0-9+*#]{1,32}")


class PreviewOutcome(StrEnum):
    EXTENSION = "EXTENSION"  # a subscriber of the tenant rings
    CARRIER = "CARRIER"  # out through the tenant's carrier's gateways, in order
    REFUSED = "REFUSED"  # the proxy answers the caller with ``status``


@dataclass(frozen=True)
class GatewayAttempt:
    """What one gateway receives, in failover order."""

    gateway: Gateway
    request_uri_user: str
    from_user: str
    # None: the display name the phone sent goes through unchanged.
    from_display: str | None
    p_asserted_identity: str | None


@dataclass
class RoutePreview:
    dialled: str
    outcome: PreviewOutcome
    status: int | None = None
    reason: str | None = None
    # After the dial plan (None for an extension, or when refused before it).
    number: str | None = None
    matched_rule: DialPlanRule | None = None
    # Whether the caller's security group lets the number through (domestic: always).
    allowed: bool | None = None
    extension: Subscriber | None = None
    gateways: list[GatewayAttempt] = field(default_factory=list)


def _refused(preview: RoutePreview, status: int, reason: str) -> RoutePreview:
    preview.outcome, preview.status, preview.reason = PreviewOutcome.REFUSED, status, reason
    return preview


def _in_service(session: Session, tenant: Tenant) -> bool:
    customer = session.get(Customer, tenant.customer_id)
    isp = session.get(Isp, tenant.isp_id)
    return (tenant.status is TenantStatus.ACTIVE and customer is not None
            and customer.status is CustomerStatus.ACTIVE and isp is not None
            and isp.status is IspStatus.ACTIVE)


def _held_caller_id(session: Session, subscriber: Subscriber) -> str | None:
    if not subscriber.caller_id:
        return None
    held = session.exec(select(Number.id).where(
        Number.e164 == subscriber.caller_id, Number.tenant_id == subscriber.tenant_id,
        Number.state == NumberState.ASSIGNED)).first()
    return subscriber.caller_id if held is not None else None


def _sip_display(text: str) -> str:
    # As the cfg puts a display between quotes: quotes, backslashes, control characters go.
    return re.sub(r'["\\\x00-\x1f\x7f]', "", text)


def gateway_attempt(gateway: Gateway, number: str, *, username: str, caller_id: str | None,
                    display_name: str) -> GatewayAttempt:
    """The branch route TO_GATEWAY for one gateway: R-URI user, From and PAI."""
    from_user = gateway.from_user or caller_id or username
    display = _sip_display(gateway.from_display or display_name) or None
    host = f"[{gateway.address}]" if ":" in gateway.address else gateway.address
    pai = f"<sip:{from_user}@{host}:{gateway.port}>" if gateway.add_pai else None
    return GatewayAttempt(gateway=gateway, from_user=from_user, from_display=display,
                          request_uri_user=number_for_gateway(number, gateway.strip,
                                                              gateway.prefix),
                          p_asserted_identity=pai)


def preview_route(session: Session, viewer: Viewer, subscriber_id: uuid.UUID | None,
                  dialled: str) -> RoutePreview:
    """What the proxies do when ``subscriber_id``'s phone dials ``dialled``."""
    subscriber = scoping.get_visible(session, viewer, Subscriber, subscriber_id)
    if subscriber is None:
        raise not_found("subscriber", "subscriber")
    dialled = dialled.strip()
    if not _DIALLED.fullmatch(dialled):
        raise DomainError.single(ErrorCode.INVALID, "dial 1 to 32 digits, + * or #", "dialed")
    tenant = session.get(Tenant, subscriber.tenant_id)
    assert tenant is not None
    preview = RoutePreview(dialled=dialled, outcome=PreviewOutcome.REFUSED)
    if subscriber.status is not SubscriberStatus.ACTIVE:
        return _refused(preview, 403, "Forbidden - Subscriber Disabled")
    if not _in_service(session, tenant):
        return _refused(preview, 403, "Forbidden - Tenant Disabled")

    callee = session.exec(select(Subscriber).where(
        Subscriber.tenant_id == tenant.id, Subscriber.alias == dialled,
        Subscriber.status == SubscriberStatus.ACTIVE)).first()
    if callee is not None:
        preview.outcome, preview.extension = PreviewOutcome.EXTENSION, callee
        return preview

    country_code = subscriber.country_code or tenant.default_country_code.lstrip("+")
    area_code = subscriber.area_code or tenant.default_area_code
    number = dialled
    if tenant.dial_plan_id is not None:
        simulated = apply_rules(ordered_rules(session, tenant.dial_plan_id), dialled,
                                country_code, area_code)
        preview.matched_rule = simulated.matched_rule
        number = simulated.result or dialled
    preview.number = number
    if not _E164.match(number):
        return _refused(preview, 484, "Address Incomplete - Not E.164")
    preview.allowed = destination_allowed(
        number, home_country_code=country_code,
        openings=openings_of(session, subscriber.security_group_id))
    if not preview.allowed:
        reason = ("Forbidden - Destination Not Allowed" if subscriber.security_group_id
                  else "Forbidden - International Calls Not Allowed")
        return _refused(preview, 403, reason)
    if tenant.carrier_id is None:
        return _refused(preview, 503, "Service Unavailable - No Carrier")
    gateways = session.exec(select(Gateway).where(Gateway.carrier_id == tenant.carrier_id)
                            .order_by(col(Gateway.position))).all()
    if not gateways:
        return _refused(preview, 503, "Service Unavailable - No Route")
    caller_id = _held_caller_id(session, subscriber)
    preview.outcome = PreviewOutcome.CARRIER
    preview.gateways = [gateway_attempt(gateway, number, username=subscriber.username,
                                        caller_id=caller_id,
                                        display_name=subscriber.display_name)
                        for gateway in gateways]
    return preview

