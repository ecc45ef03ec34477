"""Build valid rows with as little typing as possible; each test states what matters to it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session

from core.models import (
    Carrier,
    Customer,
    DialPlan,
    Gateway,
    Isp,
    Number,
    SecurityGroup,
    Subscriber,
    Tenant,
)


def _unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def _save(session: Session, row: Any) -> Any:
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def make_isp(session: Session, **fields: Any) -> Isp:
    values = {"name": "Example ISP", "namespace_label": _unique("isp"), "currency": "USD"}
    return _save(session, Isp(**(values | fields)))


def make_customer(session: Session, isp: Isp, **fields: Any) -> Customer:
    return _save(session, Customer(isp_id=isp.id, **({"name": _unique("customer")} | fields)))


def make_tenant(session: Session, isp: Isp, customer: Customer, **fields: Any) -> Tenant:
    values = {
        "name": "Example tenant",
        "domain": f"{_unique('t')}.{isp.namespace_label}.wehostvoip.test",
        "default_country_code": "1",
        "default_area_code": "209",
        "provisioning_username": _unique("prov"),
        "provisioning_password_encrypted": "encrypted",
    }
    return _save(session, Tenant(isp_id=isp.id, customer_id=customer.id, **(values | fields)))


def make_subscriber(session: Session, tenant: Tenant, **fields: Any) -> Subscriber:
    from core.secrets import secret_box
    from tests.conftest import TEST_SECRET_KEY

    box = secret_box([bytes.fromhex(TEST_SECRET_KEY)])
    values = {
        "username": _unique("user"),
        "sip_password_encrypted": box.encrypt("factory-sip-password"),
        "ha1": "0" * 32,
        "ha1b": "0" * 32,
        "country_code": "1",
    }
    return _save(session, Subscriber(tenant_id=tenant.id, **(values | fields)))


def make_number(session: Session, isp: Isp, **fields: Any) -> Number:
    values = {"e164": f"+1209555{uuid.uuid4().int % 10_000:04d}"}
    return _save(session, Number(isp_id=isp.id, **(values | fields)))


def make_carrier(session: Session, isp: Isp, **fields: Any) -> Carrier:
    return _save(session, Carrier(isp_id=isp.id, **({"name": _unique("carrier")} | fields)))


def make_gateway(session: Session, carrier: Carrier, **fields: Any) -> Gateway:
    values = {"position": 0, "address": "192.0.2.10"}
    return _save(session, Gateway(carrier_id=carrier.id, **(values | fields)))


def make_dial_plan(session: Session, isp: Isp, **fields: Any) -> DialPlan:
    return _save(session, DialPlan(isp_id=isp.id, **({"name": _unique("plan")} | fields)))


def make_security_group(session: Session, tenant: Tenant, **fields: Any) -> SecurityGroup:
    return _save(
        session, SecurityGroup(tenant_id=tenant.id, **({"name": _unique("group")} | fields))
    )
