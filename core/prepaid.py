"""Prepaid balances: top-ups and adjustments by the ISP, charges of collected calls.

A customer whose service plan is prepaid spends from a balance (core.models.prepaid).
Every change goes through ``_apply``, which moves the balance and writes the ledger
entry with the balance it left, in the caller's transaction:

- ``top_up`` / ``adjust``: the ISP's administrators credit or correct it (audited);
- ``charge_collected``: once per collected batch, the prepaid legs that batch wrote,
  summed per customer by a query on the legs. It runs in the batch's transaction,
  which also moves the collector's watermark: a batch that is rolled back charges
  nothing, and a batch is never collected twice, so no call is charged twice;
- ``rerated``: re-rating charges or refunds the difference it made.

The proxies refuse new calls out of a prepaid customer whose balance is at or below
zero (routing_export writes the ``credit`` attribute of its tenants). When a change
moves a balance across zero, the transaction asks for an export like any routing
change (core.routing_changes), so the flag follows within one export.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import func, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from core import audit, billing
from core.errors import DomainError, ErrorCode, not_found
from core.models import (
    CallLeg,
    CallRecord,
    Customer,
    PrepaidBalance,
    PrepaidEntryKind,
    PrepaidLedgerEntry,
    ServicePlan,
    utcnow,
)
from core.ownership import require_manager
from core.routing_changes import note_change
from core.scoping import get_visible
from core.viewer import Viewer

MAX_NOTE = 500


def is_exhausted(amount: Decimal) -> bool:
    """No credit left: new calls out are refused."""
    return amount <= 0


def credit_flags(session: Session) -> dict[uuid.UUID, bool]:
    """customer id -> whether it may call out, for every customer on a prepaid plan (a
    customer without a balance row has none: it has never been credited)."""
    rows = session.execute(
        select(col(Customer.id), col(PrepaidBalance.amount))
        .join(ServicePlan, col(ServicePlan.id) == col(Customer.service_plan_id))
        .outerjoin(PrepaidBalance, col(PrepaidBalance.customer_id) == col(Customer.id))
        .where(col(ServicePlan.prepaid) == true())).all()
    return {customer_id: amount is not None and not is_exhausted(amount)
            for customer_id, amount in rows}


# Changing a balance ----------------------------------------------------------------------------


def _balance(session: Session, customer: Customer, currency: str) -> PrepaidBalance:
    """The customer's balance row, opened (at zero, in ``currency``) on first use."""
    if session.get(PrepaidBalance, customer.id) is None:
        try:
            with session.begin_nested():
                session.add(PrepaidBalance(customer_id=customer.id, isp_id=customer.isp_id,
                                           currency=currency))
        except IntegrityError:
            pass  # opened by a concurrent transaction
    balance = session.get(PrepaidBalance, customer.id)
    assert balance is not None
    return balance


def _apply(session: Session, customer: Customer, amount: Decimal, kind: PrepaidEntryKind, *,
           currency: str, note: str = "", legs: int = 0, proxy_database: str | None = None,
           administrator_id: uuid.UUID | None = None) -> PrepaidLedgerEntry:
    """Move the balance by ``amount`` and write the ledger entry saying so."""
    balance = _balance(session, customer, currency)
    # An UPDATE relative to the stored value: it takes the row lock first, so two
    # transactions charging the same customer add up instead of overwriting each other.
    now = utcnow()
    session.execute(update(PrepaidBalance)
                    .where(PrepaidBalance.customer_id == customer.id)  # type: ignore[arg-type]
                    .values(amount=PrepaidBalance.amount + amount, updated_at=now))
    session.refresh(balance)
    after = balance.amount
    before = after - amount
    entry = PrepaidLedgerEntry(
        customer_id=customer.id, isp_id=customer.isp_id, kind=kind, amount=amount,
        balance_after=after, currency=balance.currency, note=note[:MAX_NOTE], legs=legs,
        proxy_database=proxy_database, administrator_id=administrator_id, created_at=now)
    session.add(entry)
    if is_exhausted(before) != is_exhausted(after):
        # The proxies' credit flag of this customer's tenants flips: export.
        # Named by id: an incremental export recomputes only this customer's tenants.
        note_change(session, "customer", [{"id": customer.id, "isp_id": customer.isp_id}])
    session.flush()
    return entry


def _managed_prepaid_customer(session: Session, viewer: Viewer,
                              customer_id: uuid.UUID | None) -> tuple[Customer, ServicePlan]:
    customer = get_visible(session, viewer, Customer, customer_id)
    if customer is None:
        raise not_found("customer", "customer")
    require_manager(viewer, customer.isp_id)
    plan = session.get(ServicePlan, customer.service_plan_id) if (
        customer.service_plan_id) else None
    if plan is None or not plan.prepaid:
        raise DomainError.single(ErrorCode.INVALID, "the customer's service plan is not "
                                 "prepaid: it has no balance to credit", "customer")
    balance = session.get(PrepaidBalance, customer.id)
    if balance is not None and balance.currency != plan.currency:
        raise DomainError.single(
            ErrorCode.INVALID, f"the balance is kept in {balance.currency} and the plan is "
            f"in {plan.currency}: adjust it to zero and open a new one", "customer")
    return customer, plan


def _amount(value: Decimal | None, *, signed: bool) -> Decimal:
    field = ("amount",)
    if value is None:
        raise DomainError.single(ErrorCode.REQUIRED, "write an amount", *field)
    if not value.is_finite():  # abs() of a signalling NaN would raise, not refuse
        raise DomainError.single(ErrorCode.INVALID, "write an amount as a number", *field)
    checked = billing.money(abs(value), field)
    if checked == 0:
        raise DomainError.single(ErrorCode.INVALID, "write an amount other than zero", *field)
    if not signed and value < 0:
        raise DomainError.single(ErrorCode.INVALID, "a top-up is more than zero; use an "
                                 "adjustment to take credit away", *field)
    return checked if value > 0 else -checked


def _within_limits(session: Session, customer: Customer, amount: Decimal) -> None:
    balance = session.get(PrepaidBalance, customer.id)
    current = balance.amount if balance is not None else Decimal(0)
    if abs(current + amount) >= billing.MAX_MONEY:
        raise DomainError.single(ErrorCode.INVALID, f"the balance would leave the range of "
                                 f"{billing.MAX_MONEY}", "amount")


def _change(session: Session, viewer: Viewer, customer_id: uuid.UUID | None,
            amount: Decimal, kind: PrepaidEntryKind, note: str) -> PrepaidLedgerEntry:
    customer, plan = _managed_prepaid_customer(session, viewer, customer_id)
    _within_limits(session, customer, amount)
    entry = _apply(session, customer, amount, kind, currency=plan.currency, note=note,
                   administrator_id=viewer.administrator_id)
    audit.record(session, viewer, action=f"prepaid.{kind.value.lower()}",
                 object_type="Customer", object_id=customer.id, isp_id=customer.isp_id,
                 changes={"amount": amount, "balance": entry.balance_after,
                          "currency": entry.currency, "note": entry.note})
    return entry


def _note(value: str | None, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise DomainError.single(ErrorCode.REQUIRED, "say why the balance is adjusted",
                                 "reason")
    if len(text) > MAX_NOTE:
        raise DomainError.single(ErrorCode.INVALID, f"use at most {MAX_NOTE} characters",
                                 "reason" if required else "note")
    return text


def top_up(session: Session, viewer: Viewer, customer_id: uuid.UUID | None,
           amount: Decimal | None, note: str | None = None) -> PrepaidLedgerEntry:
    """Credit a prepaid customer (the ISP's administrators only)."""
    return _change(session, viewer, customer_id, _amount(amount, signed=False),
                   PrepaidEntryKind.TOP_UP, _note(note, required=False))


def adjust(session: Session, viewer: Viewer, customer_id: uuid.UUID | None,
           amount: Decimal | None, reason: str | None) -> PrepaidLedgerEntry:
    """Correct a prepaid customer's balance either way, with a reason."""
    return _change(session, viewer, customer_id, _amount(amount, signed=True),
                   PrepaidEntryKind.ADJUSTMENT, _note(reason, required=True))


# Charges -------------------------------------------------------------------------------------


def charge_collected(session: Session, database_key: str, rated_at: dt.datetime) -> int:
    """Charge each customer the prepaid legs one collection batch wrote; returns how many
    customers were charged.

    The batch's legs are those rated at ``rated_at`` (the batch's clock) for the first
    time (revision 1) from calls of ``database_key``; a partial index on prepaid legs
    keeps this query off the postpaid majority.
    """
    totals = session.execute(
        select(col(CallLeg.customer_id), func.sum(col(CallLeg.price)), func.count())
        .join(CallRecord, col(CallRecord.id) == col(CallLeg.call_record_id))
        .where(col(CallLeg.prepaid) == true(), col(CallLeg.rated_at) == rated_at,
               col(CallLeg.revision) == 1, col(CallLeg.customer_id).is_not(None),
               col(CallRecord.proxy_database) == database_key)
        .group_by(col(CallLeg.customer_id))).all()
    charged = 0
    for customer_id, total, legs in sorted(totals, key=lambda row: str(row[0])):
        customer = session.get(Customer, customer_id)
        if customer is None or not total:
            continue  # deleted since; or nothing billable (failed calls, free legs)
        _apply(session, customer, -Decimal(total), PrepaidEntryKind.CALL_CHARGES,
               currency=_currency(session, customer), legs=int(legs),
               proxy_database=database_key,
               note="calls collected")
        charged += 1
    return charged


def rerated(session: Session, customer: Customer, *, previous: Decimal, new: Decimal,
            legs: int, period: str) -> PrepaidLedgerEntry | None:
    """Re-rating changed what ``legs`` prepaid legs cost from ``previous`` to ``new``:
    charge (or refund) the difference."""
    if previous == new:
        return None
    return _apply(session, customer, previous - new, PrepaidEntryKind.RERATING,
                  currency=_currency(session, customer), legs=legs,
                  note=f"re-rating of {period}: {previous} before, {new} now")


def _currency(session: Session, customer: Customer) -> str:
    plan = session.get(ServicePlan, customer.service_plan_id) if (
        customer.service_plan_id) else None
    return plan.currency if plan else ""


__all__ = ["adjust", "charge_collected", "credit_flags", "is_exhausted",
           "rerated", "top_up"]
