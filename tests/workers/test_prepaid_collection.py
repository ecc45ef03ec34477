# ruff: noqa: F811  (the fixtures of test_call_records are parameter names here)
"""Prepaid balances and collection: each collected call is charged once, whatever happens
to collection (run twice, interrupted, two collectors at once); re-rating charges the
difference; a balance crossing zero asks for an export, which writes the tenant's
``credit`` attribute.

Same set-up as test_call_records (a real PostgreSQL proxy database, rows written the way
the cfg writes them): alice calls +3130... billed 0.01 per second billed (0.60 a minute
on 30/6/3), so 47 s of talk costs 0.48.
"""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import psycopg
import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from core import prepaid
from core.call_collection import collect_batch
from core.database import session_scope
from core.models import (
    Administrator,
    CallLeg,
    Customer,
    PrepaidBalance,
    PrepaidEntryKind,
    PrepaidLedgerEntry,
    RateDeckEntry,
    Role,
    RoutingChanges,
    Scope,
    ServicePlan,
    Tenant,
)
from core.rerating import rerate_period
from core.viewer import Grant, Viewer
from routing_export.desired import DesiredState, allocate_identifiers
from tests.workers.test_call_records import (
    START,
    Platform,
    platform,  # noqa: F401  (fixture)
    proxy_database,  # noqa: F401  (fixture)
    write_call,
)

pytestmark = pytest.mark.postgres


def _customer(platform: Platform) -> Customer:
    with Session(platform.engine) as session:
        tenant = session.execute(select(Tenant).where(
            Tenant.domain == platform.domain)).scalars().one()
        customer = session.get(Customer, tenant.customer_id)
        assert customer is not None
        return customer


def _make_prepaid(platform: Platform, balance: str) -> Customer:
    """The platform's plan turns prepaid; its customer is credited ``balance``."""
    customer = _customer(platform)
    with Session(platform.engine) as session:
        session.execute(update(ServicePlan).values(prepaid=True))
        session.commit()
    top_up(platform, customer, balance)
    return customer


def _isp_admin(platform: Platform, customer: Customer) -> Viewer:
    """An administrator of the customer's ISP (a person in the database: audit names them)."""
    with Session(platform.engine) as session:
        person = Administrator(email=f"{uuid.uuid4().hex[:8]}@isp.example", full_name="Ann",
                               password_hash="-")
        session.add(person)
        session.commit()
        return Viewer(administrator_id=person.id, email=person.email,
                      grants=(Grant(scope=Scope.ISP, role=Role.ADMIN, isp_id=customer.isp_id),))


def top_up(platform: Platform, customer: Customer, amount: str) -> None:
    viewer = _isp_admin(platform, customer)
    with session_scope(platform.engine) as session:
        prepaid.top_up(session, viewer, customer.id, Decimal(amount))


def _balance(platform: Platform, customer: Customer) -> Decimal:
    with Session(platform.engine) as session:
        row = session.get(PrepaidBalance, customer.id)
        return row.amount if row else Decimal(0)


def _ledger(platform: Platform, customer: Customer) -> list[PrepaidLedgerEntry]:
    with Session(platform.engine) as session:
        return list(session.execute(select(PrepaidLedgerEntry).where(
            PrepaidLedgerEntry.customer_id == customer.id)
            .order_by(PrepaidLedgerEntry.created_at)).scalars())


def _changes_requested(platform: Platform) -> int:
    with Session(platform.engine) as session:
        row = session.get(RoutingChanges, 1)
        return row.requested if row else 0


def _credit_attribute(platform: Platform) -> str | None:
    with Session(platform.engine) as session:
        rows = DesiredState(session, allocate_identifiers(session)).rows("domain_attrs")
        found = [row[3] for row in rows if row[0] == platform.domain and row[1] == "credit"]
        session.rollback()
    assert len(found) <= 1
    return str(found[0]) if found else None


def test_collected_calls_are_charged_once_however_often_collection_runs(platform: Platform):
    customer = _make_prepaid(platform, "10")
    write_call(platform, "c1", talk=47)  # 48 s billed: 0.48
    write_call(platform, "c2", code=486)  # failed: nothing to charge

    platform.collect()
    platform.collect()
    write_call(platform, "c3", talk=10)  # 30 s billed: 0.30
    platform.collect()
    platform.collect()

    assert _balance(platform, customer) == Decimal("9.2200")
    ledger = _ledger(platform, customer)
    assert [(entry.kind, entry.amount, entry.balance_after) for entry in ledger] == [
        (PrepaidEntryKind.TOP_UP, Decimal("10.0000"), Decimal("10.0000")),
        (PrepaidEntryKind.CALL_CHARGES, Decimal("-0.4800"), Decimal("9.5200")),
        (PrepaidEntryKind.CALL_CHARGES, Decimal("-0.3000"), Decimal("9.2200"))]
    # Both legs of c1 and c2 (the free and the failed ones count, charging nothing), then c3's.
    assert [entry.legs for entry in ledger[1:]] == [4, 2]


def test_a_postpaid_customer_is_never_charged(platform: Platform):
    customer = _customer(platform)
    write_call(platform, "c1", talk=47)
    platform.collect()
    assert _ledger(platform, customer) == []
    assert _credit_attribute(platform) is None  # the proxy is told nothing of it


def test_an_interrupted_batch_charges_nothing_and_its_rerun_charges_once(platform: Platform):
    customer = _make_prepaid(platform, "10")
    for index in range(5):
        write_call(platform, f"c{index}", talk=47)

    def interrupted_batch() -> None:
        with psycopg.connect(platform.proxy_url) as proxy, \
                session_scope(platform.engine) as session:
            collect_batch(session, proxy, platform.key, batch_size=4)
            balance = session.get(PrepaidBalance, customer.id)
            assert balance is not None
            # 4 rows: the answers and BYEs of two calls, charged (not committed yet).
            assert balance.amount == 10 - 2 * Decimal("0.48")
            raise InterruptedError  # the process dies before the batch commits

    with pytest.raises(InterruptedError):
        interrupted_batch()

    assert _balance(platform, customer) == Decimal("10")
    platform.collect(batch_size=4)
    assert _balance(platform, customer) == Decimal("10") - 5 * Decimal("0.48")
    assert sum(entry.amount for entry in _ledger(platform, customer)
               if entry.kind is PrepaidEntryKind.CALL_CHARGES) == -5 * Decimal("0.48")


def test_two_collectors_at_once_charge_each_call_once(platform: Platform):
    customer = _make_prepaid(platform, "1000")
    with psycopg.connect(platform.proxy_url) as connection:
        for index in range(120):
            write_call(platform, f"c{index}", talk=float(index % 50 + 1),
                       connection=connection)
        connection.commit()
    errors: list[BaseException] = []

    def collector() -> None:
        try:
            platform.collect(batch_size=15)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=collector) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    with Session(platform.engine) as session:
        charged = sum(session.execute(select(CallLeg.price).where(
            CallLeg.customer_id == customer.id)).scalars())
    assert charged > 0
    assert _balance(platform, customer) == Decimal("1000") - charged
    ledger = _ledger(platform, customer)
    assert ledger[-1].balance_after == _balance(platform, customer)


def test_running_out_and_topping_up_flip_the_proxies_credit_flag(platform: Platform):
    customer = _make_prepaid(platform, "0.50")
    assert _credit_attribute(platform) == "1"
    requested = _changes_requested(platform)

    write_call(platform, "c1", talk=47)  # 0.48: 0.02 left, still credit
    platform.collect()
    assert _changes_requested(platform) == requested
    write_call(platform, "c2", talk=47)  # spent: -0.46 (calls in progress are not cut)
    platform.collect()

    assert _balance(platform, customer) == Decimal("-0.46")
    assert _changes_requested(platform) == requested + 1  # an export was asked for
    assert _credit_attribute(platform) == "0"

    top_up(platform, customer, "0.40")  # still below zero: no change for the proxies
    assert _credit_attribute(platform) == "0"
    assert _changes_requested(platform) == requested + 1
    top_up(platform, customer, "5")
    assert _credit_attribute(platform) == "1"
    assert _changes_requested(platform) == requested + 2


def test_rerating_charges_the_difference_and_says_so(platform: Platform):
    customer = _make_prepaid(platform, "10")
    write_call(platform, "c1", talk=47)  # 48 s at 0.60 a minute: 0.48
    platform.collect()
    with Session(platform.engine) as session:  # the deck is corrected: 0.90 a minute
        session.execute(update(RateDeckEntry).where(RateDeckEntry.prefix == "+3130")
                        .values(rate_per_minute=Decimal("0.90")))
        session.commit()

    viewer = _isp_admin(platform, customer)
    with session_scope(platform.engine) as session:
        result = rerate_period(session, viewer, customer.id, START,
                               START.replace(day=3))
    assert result.changed == 1

    assert _balance(platform, customer) == Decimal("10") - Decimal("0.72")
    last = _ledger(platform, customer)[-1]
    assert (last.kind, last.amount, last.legs) == (
        PrepaidEntryKind.RERATING, Decimal("-0.2400"), 1)
    assert "0.4800 before, 0.7200 now" in last.note
