"""Isolation cases of prepaid balances: another ISP's ledger entry is one that does not
exist (the probes of the balance mutations are on the Customer case)."""

from __future__ import annotations

from tests.graphql import SignedUp
from tests.isolation import Case, register
from tests.isolation_cases.plans_and_customers import ERRORS, create_customer, create_plan

TOP_UP = f"""mutation($customer: ID!, $amount: Decimal!) {{
    prepaidTopUp(input: {{customer: $customer, amount: $amount}}) {{
      entry {{ id kind amount balanceAfter }} customer {{ prepaidBalance {{ amount }} }}
      {ERRORS} }} }}"""


async def prepaid_customer(isp: SignedUp, name: str = "Prepaid Co") -> str:
    """A customer on a prepaid plan (in EUR), not credited yet."""
    plan = await create_plan(isp, f"{name} plan", currency="EUR", prepaid=True)
    return await create_customer(isp, name, servicePlan=plan)


async def _ledger_entry(isp: SignedUp) -> str:
    customer = await prepaid_customer(isp)
    result = (await isp.client.execute(TOP_UP, {"customer": customer, "amount": "5"}))[
        "prepaidTopUp"]
    assert result["errors"] == [], result["errors"]
    return result["entry"]["id"]


register(Case("PrepaidLedgerEntry", _ledger_entry))
