"""A small platform to export: one ISP, two tenants, a carrier with two gateways..."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session

from core.database import session_scope
from core.models import (
    Carrier,
    DialPlanRule,
    Gateway,
    NumberState,
    SecurityGroupDestination,
    SipProxy,
    Subscriber,
    SubscriberStatus,
    Tenant,
)
from core.secrets import SecretBox
from core.sip_proxies import database_key, shown_url
from tests.factories import (
    make_carrier,
    make_customer,
    make_dial_plan,
    make_gateway,
    make_isp,
    make_number,
    make_security_group,
    make_subscriber,
    make_tenant,
)


@dataclass
class Platform:
    tenant: Tenant
    other_tenant: Tenant
    carrier: Carrier
    gateways: list[Gateway]
    alice: Subscriber
    bob: Subscriber
    carol: Subscriber  # disabled
    rule: DialPlanRule


def build(session: Session) -> Platform:
    isp = make_isp(session)
    customer = make_customer(session, isp, max_concurrent_calls=10)
    carrier = make_carrier(session, isp, name="Trunk")
    gateways = [
        make_gateway(session, carrier, position=0, address="192.0.2.10", port=5060, strip=1,
                     prefix="9", from_user="4155550000", from_display="Main; Office",
                     add_pai=True),
        make_gateway(session, carrier, position=1, address="2001:db8::7", port=5080),
    ]
    plan = make_dial_plan(session, isp)
    rule = DialPlanRule(dial_plan_id=plan.id, priority=10, match_expression="^[1-9][0-9]{6}$",
                        substitution_expression="([1-9][0-9]{6})", replacement="+_CC__AC_\\1")
    session.add(rule)
    session.commit()
    tenant = make_tenant(session, isp, customer, domain="pbx.example.net", carrier_id=carrier.id,
                         dial_plan_id=plan.id, default_area_code="209")
    other = make_tenant(session, isp, customer, domain="other.example.net")
    group = make_security_group(session, tenant)
    session.add_all([SecurityGroupDestination(security_group_id=group.id, prefix="+4420"),
                     SecurityGroupDestination(security_group_id=group.id, country="FR")])
    session.commit()
    alice = make_subscriber(session, tenant, username="alice", alias="101", ha1="a" * 32,
                            ha1b="b" * 32, caller_id="+12095550101", security_group_id=group.id,
                            concurrent_calls=3)
    bob = make_subscriber(session, tenant, username="bob", alias="102", area_code="559")
    carol = make_subscriber(session, tenant, username="carol", alias="103",
                            status=SubscriberStatus.DISABLED)
    make_subscriber(session, other, username="alice", alias="101")
    make_number(session, isp, e164="+12095550101", state=NumberState.ASSIGNED,
                tenant_id=tenant.id, target_subscriber_id=alice.id)
    make_number(session, isp, e164="+12095550103", state=NumberState.ASSIGNED,
                tenant_id=tenant.id, target_subscriber_id=carol.id)
    make_number(session, isp, e164="+12095550199")  # in the inventory: not routed
    return Platform(tenant=tenant, other_tenant=other, carrier=carrier, gateways=gateways,
                    alice=alice, bob=bob, carol=carol, rule=rule)


def add_proxy(engine: Engine, box: SecretBox, database_url: str, rpc_url: str,
              name: str = "edge-1") -> str:
    """A SIP proxy row; returns its database key."""
    with session_scope(engine) as session:
        session.add(SipProxy(name=name, database_url_encrypted=box.encrypt(database_url),
                             database_display=shown_url(database_url),
                             database_key=database_key(database_url), rpc_url=rpc_url))
    return database_key(database_url)
