"""GraphQL types of a prepaid customer's balance and its ledger."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal

import strawberry
from sqlalchemy import select, true
from strawberry.dataloader import DataLoader

from core import prepaid
from core.models import Customer, PrepaidBalance, PrepaidEntryKind, PrepaidLedgerEntry, ServicePlan
from core.scoping import visible
from schema.context import Context
from schema.core.ids import to_global_id
from schema.core.node import Node, register_node

PrepaidEntryKindEnum = strawberry.enum(
    PrepaidEntryKind, name="PrepaidEntryKind",
    description="TOP_UP: credited by the ISP; ADJUSTMENT: corrected by the ISP, with a "
    "reason; CALL_CHARGES: the prepaid legs of one collection of calls; RERATING: the "
    "difference a re-rating of a period made.")


@strawberry.type(name="PrepaidBalance", description="What a prepaid customer has left to spend. "
                 "While it is at or below zero the proxies refuse the customer's calls out "
                 "(402); extension calls and calls to its numbers keep working, and calls in "
                 "progress are not cut (so a balance can go below zero).")
class PrepaidBalanceType:
    amount: Decimal
    currency: str = strawberry.field(description="ISO 4217 code (the plan's when the balance "
                                     "was opened).")
    exhausted: bool = strawberry.field(description="True at or below zero.")
    updated_at: dt.datetime | None = strawberry.field(
        description="Null: never credited or charged.")

    @classmethod
    def from_row(cls, row: PrepaidBalance | None, currency: str) -> PrepaidBalanceType:
        if row is None:
            return cls(amount=Decimal("0.0000"), currency=currency, exhausted=True,
                       updated_at=None)
        return cls(amount=row.amount, currency=row.currency,
                   exhausted=prepaid.is_exhausted(row.amount), updated_at=row.updated_at)


@strawberry.type(name="PrepaidLedgerEntry", description="One change of a prepaid balance.")
class PrepaidLedgerEntryType(Node):
    row: strawberry.Private[PrepaidLedgerEntry]
    kind: PrepaidEntryKindEnum  # type: ignore[valid-type]
    amount: Decimal = strawberry.field(description="Positive credits the customer, negative "
                                       "charges it.")
    balance_after: Decimal
    currency: str
    note: str = strawberry.field(description="The top-up's note, the adjustment's reason, or "
                                 "what was charged.")
    legs: int = strawberry.field(description="CALL_CHARGES and RERATING: the prepaid call "
                                 "legs the amount sums.")
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: PrepaidLedgerEntry) -> PrepaidLedgerEntryType:
        return cls(id=strawberry.ID(to_global_id("PrepaidLedgerEntry", row.id)), row=row,
                   kind=row.kind, amount=row.amount, balance_after=row.balance_after,
                   currency=row.currency, note=row.note, legs=row.legs,
                   created_at=row.created_at)


register_node("PrepaidLedgerEntry", PrepaidLedgerEntry, PrepaidLedgerEntryType.from_row)


def balance_by_customer(context: Context) -> DataLoader[uuid.UUID, PrepaidBalanceType | None]:
    """Customers' balances, None unless on a prepaid plan; one query per page of customers.

    The plan is read with the customer, not through the viewer's own scope of plans: a
    customer's administrators see their balance without seeing the ISP's catalogue.
    """

    async def load(ids: list[uuid.UUID]) -> Sequence[PrepaidBalanceType | None]:
        statement = (
            select(Customer.id, ServicePlan.currency, PrepaidBalance)
            .join(ServicePlan, ServicePlan.id == Customer.service_plan_id)
            .outerjoin(PrepaidBalance, PrepaidBalance.customer_id == Customer.id)
            .where(Customer.id.in_(ids), ServicePlan.prepaid == true(),  # type: ignore[attr-defined]
                   visible(context.viewer, Customer)))
        async with context.sessions() as session:
            found = {customer_id: PrepaidBalanceType.from_row(balance, currency)
                     for customer_id, currency, balance in await session.execute(statement)}
        return [found.get(customer_id) for customer_id in ids]

    return context.loader("PrepaidBalance_by_customer", lambda: DataLoader(load_fn=load))
