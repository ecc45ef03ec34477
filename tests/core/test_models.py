"""The database itself enforces the model's rules (run on SQLite and on PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, text
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session, select

from core.models import (
    Administrator,
    Customer,
    DialPlanRule,
    Gateway,
    Isp,
    Job,
    JobStatus,
    Number,
    NumberState,
    Role,
    RoleGrant,
    Scope,
    Subscriber,
    SubscriberSource,
    Tenant,
    VerifiedDomain,
    VerifiedDomainStatus,
)
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


def _refused(session: Session, row: object) -> None:
    session.add(row)
    # PostgreSQL reports an over-long value as a DataError, SQLite as a CHECK failure.
    with pytest.raises((IntegrityError, DataError)):
        session.commit()
    session.rollback()


def _count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_timestamps_come_back_timezone_aware_utc(session: Session):
    isp = make_isp(session)
    session.expire_all()
    stored = session.get(Isp, isp.id)
    assert stored.created_at.tzinfo is not None
    assert stored.created_at.utcoffset() == dt.timedelta(0)
    assert abs(stored.created_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


def test_naive_datetimes_are_refused(session: Session):
    isp = make_isp(session)
    isp.created_at = dt.datetime(2026, 1, 1)
    session.add(isp)
    with pytest.raises(Exception, match="naive datetimes"):
        session.commit()
    session.rollback()


def test_money_round_trips_exactly_as_decimal(session: Session):
    isp = make_isp(session)
    number = make_number(session, isp, price=Decimal("1.2345"), vendor_price=Decimal("0.1"))
    session.expire_all()
    stored = session.get(Number, number.id)
    assert stored.price == Decimal("1.2345")
    assert isinstance(stored.vendor_price, Decimal)


def test_namespace_label_is_unique(session: Session):
    make_isp(session, namespace_label="acme")
    _refused(session, Isp(name="Other", namespace_label="acme", currency="EUR"))


def test_currency_must_have_three_letters(session: Session):
    _refused(session, Isp(name="Bad", namespace_label="bad", currency="EURO"))


def test_e164_number_is_unique_across_the_platform(session: Session):
    first, second = make_isp(session), make_isp(session)
    make_number(session, first, e164="+12095550100")
    _refused(session, Number(isp_id=second.id, e164="+12095550100"))


def test_number_must_start_with_plus(session: Session):
    isp = make_isp(session)
    _refused(session, Number(isp_id=isp.id, e164="12095550100"))


def test_number_state_and_tenant_agree(session: Session):
    isp = make_isp(session)
    tenant = make_tenant(session, isp, make_customer(session, isp))
    _refused(session, Number(isp_id=isp.id, e164="+12095550101", state=NumberState.ASSIGNED))
    _refused(session, Number(isp_id=isp.id, e164="+12095550102", tenant_id=tenant.id))
    assigned = make_number(session, isp, state=NumberState.ASSIGNED, tenant_id=tenant.id)
    assert assigned.tenant_id == tenant.id


def test_quarantine_needs_an_end_date(session: Session):
    isp = make_isp(session)
    _refused(session, Number(isp_id=isp.id, e164="+12095550103", state=NumberState.QUARANTINE))


def test_alias_and_username_are_unique_per_tenant_only(session: Session):
    isp = make_isp(session)
    customer = make_customer(session, isp)
    first, second = make_tenant(session, isp, customer), make_tenant(session, isp, customer)
    make_subscriber(session, first, username="alice", alias="8580")
    make_subscriber(session, second, username="alice", alias="8580")
    _refused(session, _subscriber(first, username="bob", alias="8580"))
    _refused(session, _subscriber(first, username="alice", alias="8581"))


def _subscriber(tenant: Tenant, **fields: object) -> Subscriber:
    values = {
        "sip_password_encrypted": "x",
        "ha1": "0" * 32,
        "ha1b": "0" * 32,
        "country_code": "1",
    }
    return Subscriber(tenant_id=tenant.id, **(values | fields))


def test_synced_subscriber_needs_external_id_unique_per_tenant(session: Session):
    isp = make_isp(session)
    tenant = make_tenant(session, isp, make_customer(session, isp))
    _refused(session, _subscriber(tenant, username="a", source=SubscriberSource.GOOGLE))
    make_subscriber(session, tenant, source=SubscriberSource.GOOGLE, external_id="g-1")
    _refused(
        session,
        _subscriber(tenant, username="b", source=SubscriberSource.GOOGLE, external_id="g-1"),
    )


def test_concurrent_calls_at_least_one(session: Session):
    isp = make_isp(session)
    tenant = make_tenant(session, isp, make_customer(session, isp))
    _refused(session, _subscriber(tenant, username="c", concurrent_calls=0))


def test_tenant_domain_is_unique(session: Session):
    isp = make_isp(session)
    customer = make_customer(session, isp)
    make_tenant(session, isp, customer, domain="pbx.example.com")
    with pytest.raises(IntegrityError):
        make_tenant(session, isp, customer, domain="pbx.example.com")
    session.rollback()


def test_gateway_address_and_position_are_unique_per_carrier(session: Session):
    isp = make_isp(session)
    carrier = make_carrier(session, isp)
    make_gateway(session, carrier, position=0, address="192.0.2.1", port=5060)
    _refused(session, Gateway(carrier_id=carrier.id, position=1, address="192.0.2.1", port=5060))
    _refused(session, Gateway(carrier_id=carrier.id, position=0, address="192.0.2.2"))
    _refused(session, Gateway(carrier_id=carrier.id, position=2, address="192.0.2.3", strip=-1))
    other = make_carrier(session, isp)
    assert make_gateway(session, other, position=0, address="192.0.2.1").port == 5060


def test_dial_plan_rule_priority_is_unique_per_plan(session: Session):
    isp = make_isp(session)
    plan = make_dial_plan(session, isp)
    rule = {"match_expression": "^1$", "substitution_expression": "(1)", "replacement": "\\1"}
    session.add(DialPlanRule(dial_plan_id=plan.id, priority=1, **rule))
    session.commit()
    _refused(session, DialPlanRule(dial_plan_id=plan.id, priority=1, **rule))


def test_one_verified_owner_per_domain(session: Session):
    first, second = make_isp(session), make_isp(session)
    for isp in (first, second):
        session.add(VerifiedDomain(isp_id=isp.id, fqdn="example.com", challenge_token="t"))
    session.commit()
    pending = session.exec(select(VerifiedDomain)).all()
    pending[0].status = VerifiedDomainStatus.VERIFIED
    session.commit()
    pending[1].status = VerifiedDomainStatus.VERIFIED
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def test_role_grant_scope_must_name_its_target(session: Session):
    isp = make_isp(session)
    admin = Administrator(email="ops@example.com")
    session.add(admin)
    session.commit()
    _refused(session, RoleGrant(administrator_id=admin.id, scope=Scope.ISP))
    _refused(session, RoleGrant(administrator_id=admin.id, scope=Scope.PLATFORM, isp_id=isp.id))
    session.add(RoleGrant(administrator_id=admin.id, scope=Scope.ISP, isp_id=isp.id))
    session.commit()
    _refused(session, RoleGrant(administrator_id=admin.id, scope=Scope.ISP, isp_id=isp.id))
    _refused(
        session,
        RoleGrant(administrator_id=admin.id, scope=Scope.ISP, isp_id=isp.id, role=Role.VIEWER),
    )
    session.add(RoleGrant(administrator_id=admin.id, scope=Scope.PLATFORM))
    session.commit()
    _refused(session, RoleGrant(administrator_id=admin.id, scope=Scope.PLATFORM))


def test_enum_columns_refuse_unknown_values(session: Session):
    make_isp(session, namespace_label="enumcheck")
    with pytest.raises(IntegrityError):
        session.execute(text("UPDATE isp SET status = 'BOGUS' WHERE namespace_label = 'enumcheck'"))
    session.rollback()


def test_one_active_job_per_kind_and_subject(session: Session):
    subject = {"kind": "directory_sync", "subject_type": "Tenant", "subject_id": "t1"}
    session.add(Job(**subject, status=JobStatus.SUCCEEDED))
    session.add(Job(**subject))
    session.commit()
    _refused(session, Job(**subject, status=JobStatus.RUNNING))
    session.add(Job(**(subject | {"subject_id": "t2"})))
    session.commit()


def test_customer_owning_tenants_cannot_be_deleted(session: Session):
    isp = make_isp(session)
    customer = make_customer(session, isp)
    make_tenant(session, isp, customer)
    session.delete(customer)
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    assert session.get(Customer, customer.id) is not None


def test_deleting_a_security_group_closes_international_again(session: Session):
    isp = make_isp(session)
    tenant = make_tenant(session, isp, make_customer(session, isp))
    group = make_security_group(session, tenant)
    subscriber = make_subscriber(session, tenant, security_group_id=group.id)
    session.execute(
        text("DELETE FROM security_group WHERE id = :id"), {"id": _raw(session, group.id)}
    )
    session.commit()
    session.expire_all()
    assert session.get(Subscriber, subscriber.id).security_group_id is None


def test_deleting_a_tenant_with_assigned_numbers_is_refused(session: Session):
    isp = make_isp(session)
    tenant = make_tenant(session, isp, make_customer(session, isp))
    make_number(session, isp, state=NumberState.ASSIGNED, tenant_id=tenant.id)
    with pytest.raises(IntegrityError):
        session.execute(text("DELETE FROM tenant WHERE id = :id"), {"id": _raw(session, tenant.id)})
    session.rollback()


def test_deleting_an_isp_removes_everything_it_owns(session: Session):
    isp = make_isp(session)
    other = make_isp(session)
    customer = make_customer(session, isp)
    tenant = make_tenant(
        session,
        isp,
        customer,
        carrier_id=make_carrier(session, isp).id,
        dial_plan_id=make_dial_plan(session, isp).id,
    )
    subscriber = make_subscriber(session, tenant)
    make_number(
        session,
        isp,
        state=NumberState.ASSIGNED,
        tenant_id=tenant.id,
        target_subscriber_id=subscriber.id,
    )
    admin = Administrator(email="isp-admin@example.com")
    session.add(admin)
    session.commit()
    session.add(
        RoleGrant(administrator_id=admin.id, scope=Scope.TENANT, isp_id=isp.id, tenant_id=tenant.id)
    )
    survivor = make_number(session, other)
    session.commit()

    session.execute(text("DELETE FROM isp WHERE id = :id"), {"id": _raw(session, isp.id)})
    session.commit()
    session.expire_all()

    assert _count(session, Tenant) == 0
    assert _count(session, Subscriber) == 0
    assert _count(session, Customer) == 0
    assert _count(session, RoleGrant) == 0
    assert session.exec(select(Number.id)).all() == [survivor.id]
    # The person survives: they may hold roles elsewhere.
    assert session.get(Administrator, admin.id) is not None


def _raw(session: Session, value: uuid.UUID) -> object:
    """A UUID as the database driver expects it in a textual statement."""
    return value.hex if session.get_bind().dialect.name == "sqlite" else value
