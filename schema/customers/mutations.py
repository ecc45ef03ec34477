"""Creating, changing and deleting customers."""

from __future__ import annotations

from typing import Any

import strawberry

from core import customers
from core.models import CustomerStatus
from schema.context import Info
from schema.core.contact import ContactInput, PostalAddressInput
from schema.core.errors import FieldPaths, UserError
from schema.core.mutations import Outcome, Ref, given_fields, run
from schema.customers.types import CustomerStatusEnum, CustomerType


@strawberry.input
class CustomerCreateInput:
    name: str
    max_subscribers: int = strawberry.field(
        description="Subscribers allowed across all its tenants; at least 1.")
    max_concurrent_calls: int = strawberry.field(description="At least 1.")
    isp: strawberry.ID | None = strawberry.field(
        default=None, description="Needed only if you administer several ISPs.")
    contact: ContactInput | None = None
    address: PostalAddressInput | None = None
    service_plan: strawberry.ID | None = strawberry.field(
        default=None, description="A plan of the same ISP; null: not billed yet.")
    status: CustomerStatusEnum = CustomerStatus.ACTIVE  # type: ignore[valid-type]


@strawberry.input(description="Fields left out or null stay as they are, except servicePlan, "
                  "where null removes the plan. contact and address replace the whole group: "
                  "the parts left out of it become empty.")
class CustomerUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    contact: ContactInput | None = strawberry.UNSET
    address: PostalAddressInput | None = strawberry.UNSET
    service_plan: strawberry.ID | None = strawberry.UNSET
    max_subscribers: int | None = strawberry.UNSET
    max_concurrent_calls: int | None = strawberry.UNSET
    status: CustomerStatusEnum | None = strawberry.UNSET  # type: ignore[valid-type]


@strawberry.input
class CustomerDeleteInput:
    id: strawberry.ID


@strawberry.type
class CustomerPayload:
    customer: CustomerType | None = None
    errors: list[UserError]


@strawberry.type
class CustomerDeletePayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError]


# The input nests in groups what the customer's row keeps in flat columns.
_GROUPS = {
    "contact": {"name": "contact_name", "email": "contact_email", "phone": "contact_phone"},
    "address": {"line1": "address_line1", "line2": "address_line2", "city": "city",
                "region": "region", "postal_code": "postal_code", "country": "country"},
}
PATHS: FieldPaths = {(column,): (group, part) for group, parts in _GROUPS.items()
                     for part, column in parts.items()}


def _columns(given: dict[str, Any]) -> dict[str, Any]:
    """The given input fields as the customer's columns."""
    values: dict[str, Any] = {}
    for name, value in given.items():
        if name in _GROUPS:
            values |= {column: getattr(value, part) for part, column in _GROUPS[name].items()}
        elif name == "service_plan":
            values["service_plan_id"] = Ref(value, "ServicePlan", "service plan",
                                            "service_plan").lookup_id()
        else:
            values[name] = value
    return values


def _payload(outcome: Outcome[Any]) -> CustomerPayload:
    customer = CustomerType.from_row(outcome.value) if outcome.ok else None
    return CustomerPayload(customer=customer, errors=outcome.errors)


@strawberry.type
class CustomerMutation:
    @strawberry.mutation(description="Create a customer of an ISP.")
    async def customer_create(self, info: Info, input: CustomerCreateInput) -> CustomerPayload:
        viewer = info.context.viewer
        return _payload(await run(
            info, lambda s, isp_id: customers.create_customer(
                s, viewer, isp_id, _columns(given_fields(input, skip=("isp",)))),
            Ref(input.isp, "Isp", "ISP", "isp"), paths=PATHS))

    @strawberry.mutation(description="Change a customer.")
    async def customer_update(self, info: Info, input: CustomerUpdateInput) -> CustomerPayload:
        viewer = info.context.viewer
        return _payload(await run(
            info, lambda s, customer_id: customers.update_customer(
                s, viewer, customer_id, _columns(given_fields(input, clearable=("service_plan",)))),
            Ref(input.id, "Customer", "customer"), paths=PATHS))

    @strawberry.mutation(description="Delete a customer and its own SMBCs; refused while it "
                         "owns tenants.")
    async def customer_delete(self, info: Info, input: CustomerDeleteInput
                              ) -> CustomerDeletePayload:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, customer_id: customers.delete_customer(s, viewer, customer_id),
            Ref(input.id, "Customer", "customer"))
        return CustomerDeletePayload(deleted_id=input.id if outcome.ok else None,
                                     errors=outcome.errors)
