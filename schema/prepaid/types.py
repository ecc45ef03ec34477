"""GraphQL types of a prepaid customer's balance and its ledger."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal

import strawberry
from sqlalchemy import select
from strawberry.dataloader import DataLoader

from core import prepaid
from core.models import PrepaidBalance, PrepaidEntryKind, PrepaidLedgerEntry
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


def balance_by_customer(context: Context) -> DataLoader[uuid.UUID, PrepaidBalance | None]:
    """Customers' balance rows (one query per page of customers), within the viewer's scope."""

    async def load(ids: list[uuid.UUID]) -> Sequence[PrepaidBalance | None]:
        statement = select(PrepaidBalance).where(
            PrepaidBalance.customer_id.in_(ids),  # type: ignore[attr-defined]
            visible(context.viewer, PrepaidBalance))
        async with context.sessions() as session:
            rows = {row.customer_id: row for row in (await session.execute(statement)).scalars()}
        return [rows.get(customer_id) for customer_id in ids]

    return context.loader("PrepaidBalance_by_customer", lambda: DataLoader(load_fn=load))
