"""Prepaid balances: what a customer on a prepaid plan has left to spend, and why.

The balance row holds the current amount (read on every export and on the
Customer type); the ledger holds every change to it, newest last, each with the
balance it left: top-ups and adjustments by the ISP, the charges of each
collected batch of calls, and the differences re-rating made. Amounts are
Decimal in the balance's currency (the plan's when the balance was opened).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.base import IdMixin, UTCDateTime, enum_type, foreign_key, money_field, utcnow


class PrepaidBalance(SQLModel, table=True):
    """One customer's balance; calls out are refused by the proxies while it is at or
    below zero and the customer's plan is prepaid."""

    __tablename__ = "prepaid_balance"

    customer_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid(), sa.ForeignKey("customer.id", ondelete="CASCADE"),
                            primary_key=True))
    isp_id: uuid.UUID = foreign_key("isp.id", ondelete="CASCADE")
    # Signed: charges collected after it ran out take it below zero (calls in progress are
    # not cut), and a top-up must cover that first.
    amount: Decimal = money_field(default=Decimal("0"))
    currency: str = Field(max_length=3)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PrepaidEntryKind(StrEnum):
    TOP_UP = "TOP_UP"  # the ISP credited the customer
    ADJUSTMENT = "ADJUSTMENT"  # the ISP corrected the balance, either way, with a reason
    CALL_CHARGES = "CALL_CHARGES"  # the prepaid legs of one collected batch
    RERATING = "RERATING"  # re-rating changed what those legs cost: the difference


class PrepaidLedgerEntry(IdMixin, table=True):
    """One change of a balance."""

    __tablename__ = "prepaid_ledger_entry"
    __table_args__ = (sa.Index("ix_prepaid_ledger_entry_customer_at", "customer_id",
                               "created_at"),)

    customer_id: uuid.UUID = foreign_key("customer.id", ondelete="CASCADE", index=False)
    isp_id: uuid.UUID = foreign_key("isp.id", ondelete="CASCADE")
    kind: PrepaidEntryKind = Field(sa_type=enum_type(PrepaidEntryKind, "prepaid_entry_kind"))
    # Positive credits the customer, negative charges it.
    amount: Decimal = money_field()
    balance_after: Decimal = money_field()
    currency: str = Field(max_length=3)
    note: str = Field(default="", max_length=500)
    # Call charges and re-ratings: how many legs the amount sums (and from which proxy
    # database the batch was collected).
    legs: int = 0
    proxy_database: str | None = Field(default=None, max_length=64)
    # Top-ups and adjustments: the administrator who made them (None for the collector).
    administrator_id: uuid.UUID | None = None
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
