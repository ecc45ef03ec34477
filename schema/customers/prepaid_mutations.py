"""Crediting and correcting a prepaid customer's balance (the ISP's administrators)."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from core import prepaid
from core.models import Customer, PrepaidLedgerEntry
from schema.context import Info
from schema.core.errors import UserError
from schema.core.mutations import Ref, run
from schema.customers.prepaid import PrepaidLedgerEntryType
from schema.customers.types import CustomerType


@strawberry.input
class PrepaidTopUpInput:
    customer: strawberry.ID = strawberry.field(description="A customer on a prepaid plan.")
    amount: Decimal = strawberry.field(description="More than zero, at most 4 decimal places, "
                                       "in the plan's currency.")
    note: str | None = strawberry.field(default=None, description="E.g. the payment's "
                                        "reference; at most 500 characters.")


@strawberry.input
class PrepaidAdjustInput:
    customer: strawberry.ID = strawberry.field(description="A customer on a prepaid plan.")
    amount: Decimal = strawberry.field(description="Positive credits, negative takes credit "
                                       "away; not zero.")
    reason: str = strawberry.field(description="Why (required, at most 500 characters).")


@strawberry.type
class PrepaidBalancePayload:
    customer: CustomerType | None = strawberry.field(
        default=None, description="With its prepaidBalance as it is now.")
    entry: PrepaidLedgerEntryType | None = strawberry.field(
        default=None, description="The ledger entry written.")
    errors: list[UserError]


async def _payload(info: Info, outcome_value: PrepaidLedgerEntry | None,
                   errors: list[UserError]) -> PrepaidBalancePayload:
    """The entry written and its customer as it is now (errors when nothing was)."""
    if outcome_value is None:
        return PrepaidBalancePayload(errors=errors)
    async with info.context.sessions() as session:
        customer = await session.get(Customer, outcome_value.customer_id)
    return PrepaidBalancePayload(
        customer=CustomerType.from_row(customer) if customer else None,
        entry=PrepaidLedgerEntryType.from_row(outcome_value), errors=[])


@strawberry.type
class PrepaidMutation:
    @strawberry.mutation(description="Credit a prepaid customer's balance (a payment received). "
                         "When it brings an exhausted balance above zero, the proxies let the "
                         "customer's calls out again after the next export. Audited.")
    async def prepaid_top_up(self, info: Info, input: PrepaidTopUpInput
                             ) -> PrepaidBalancePayload:
        viewer = info.context.viewer
        outcome = await run(info, lambda s, customer_id: prepaid.top_up(
            s, viewer, customer_id, input.amount, input.note),
            Ref(input.customer, "Customer", "customer", "customer"))
        return await _payload(info, outcome.value, outcome.errors)

    @strawberry.mutation(description="Correct a prepaid customer's balance either way, with a "
                         "reason (a refund, a goodwill credit, a mistake). Audited.")
    async def prepaid_adjust(self, info: Info, input: PrepaidAdjustInput
                             ) -> PrepaidBalancePayload:
        viewer = info.context.viewer
        outcome = await run(info, lambda s, customer_id: prepaid.adjust(
            s, viewer, customer_id, input.amount, input.reason),
            Ref(input.customer, "Customer", "customer", "customer"))
        return await _payload(info, outcome.value, outcome.errors)
