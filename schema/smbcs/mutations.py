"""Creating, changing and deleting SMBCs."""

from __future__ import annotations

from typing import Any

import strawberry

from core import smbcs
from schema.context import Info
from schema.core.errors import UserError
from schema.core.mutations import Outcome, Ref, given_fields, run
from schema.smbcs.types import SmbcType


@strawberry.input
class SmbcCreateInput:
    name: str
    address: str = strawberry.field(description="IP literal or FQDN, optionally with :port "
                                    "(write IPv6 as [2001:db8::1]:5060).")
    region: str = ""
    isp: strawberry.ID | None = strawberry.field(
        default=None, description="Needed only if you administer several ISPs.")
    customer: strawberry.ID | None = strawberry.field(
        default=None, description="The customer owning it; null: the ISP's own.")


@strawberry.input(description="Fields left out or null stay as they are, except customer, "
                  "where null makes it the ISP's own.")
class SmbcUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    address: str | None = strawberry.UNSET
    region: str | None = strawberry.UNSET
    customer: strawberry.ID | None = strawberry.UNSET


@strawberry.input
class SmbcDeleteInput:
    id: strawberry.ID


@strawberry.type
class SmbcPayload:
    smbc: SmbcType | None = None
    errors: list[UserError]


@strawberry.type
class SmbcDeletePayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError]


def _columns(given: dict[str, Any]) -> dict[str, Any]:
    values = {name: value for name, value in given.items() if name != "customer"}
    if "customer" in given:
        values["customer_id"] = Ref(given["customer"], "Customer", "customer",
                                    "customer").lookup_id()
    return values


def _payload(outcome: Outcome[Any]) -> SmbcPayload:
    smbc = SmbcType.from_row(outcome.value) if outcome.ok else None
    return SmbcPayload(smbc=smbc, errors=outcome.errors)


@strawberry.type
class SmbcMutation:
    @strawberry.mutation(description="Create an SMBC of an ISP or of one of its customers.")
    async def smbc_create(self, info: Info, input: SmbcCreateInput) -> SmbcPayload:
        viewer = info.context.viewer
        return _payload(await run(
            info, lambda s, isp_id: smbcs.create_smbc(
                s, viewer, isp_id, _columns(given_fields(input, skip=("isp",)))),
            Ref(input.isp, "Isp", "ISP", "isp")))

    @strawberry.mutation(description="Change an SMBC.")
    async def smbc_update(self, info: Info, input: SmbcUpdateInput) -> SmbcPayload:
        viewer = info.context.viewer
        return _payload(await run(
            info, lambda s, smbc_id: smbcs.update_smbc(
                s, viewer, smbc_id, _columns(given_fields(input, clearable=("customer",)))),
            Ref(input.id, "Smbc", "SMBC")))

    @strawberry.mutation(description="Delete an SMBC; refused while tenants use it.")
    async def smbc_delete(self, info: Info, input: SmbcDeleteInput) -> SmbcDeletePayload:
        viewer = info.context.viewer
        outcome = await run(info, lambda s, smbc_id: smbcs.delete_smbc(s, viewer, smbc_id),
                            Ref(input.id, "Smbc", "SMBC"))
        return SmbcDeletePayload(deleted_id=input.id if outcome.ok else None,
                                 errors=outcome.errors)
