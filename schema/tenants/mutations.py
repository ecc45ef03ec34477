"""Creating, changing and deleting tenants."""

from __future__ import annotations

import strawberry

from core import tenants
from core.errors import ErrorCollector, not_found
from core.tenants import TenantFields
from schema.context import Info
from schema.core.errors import UserError
from schema.core.ids import id_of
from schema.core.mutations import Ref, given_fields, run
from schema.core.not_applied import not_applied
from schema.tenants.types import TenantStatusEnum, TenantType

# Global id type of each reference an input may name.
REFERENCES = {"customer": "Customer", "carrier": "Carrier", "dial_plan": "DialPlan"}


@strawberry.input
class TenantCreateInput:
    isp: strawberry.ID | None = strawberry.field(
        default=None, description="Optional when you administer exactly one ISP."
    )
    name: str
    domain: str = strawberry.field(
        description="A name in your namespace (e.g. acme, or acme.<namespace domain>) "
        "or one of your verified domains."
    )
    customer: strawberry.ID
    carrier: strawberry.ID | None = None
    dial_plan: strawberry.ID | None = None
    smbcs: list[strawberry.ID] | None = strawberry.field(
        default=None, description=not_applied("In order of preference.")
    )
    default_country_code: str = strawberry.field(description="E.164 calling code, e.g. 1.")
    default_area_code: str = ""


@strawberry.input
class TenantUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    domain: str | None = strawberry.UNSET
    customer: strawberry.ID | None = strawberry.UNSET
    carrier: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="null removes the carrier."
    )
    dial_plan: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="null removes the dial plan."
    )
    smbcs: list[strawberry.ID] | None = strawberry.field(default=strawberry.UNSET,
                                                         description=not_applied())
    default_country_code: str | None = strawberry.UNSET
    default_area_code: str | None = strawberry.UNSET
    status: TenantStatusEnum | None = strawberry.UNSET  # type: ignore[valid-type]


@strawberry.type
class TenantPayload:
    tenant: TenantType | None = None
    errors: list[UserError]


@strawberry.type
class TenantWithPasswordPayload:
    tenant: TenantType | None = None
    provisioning_password: str | None = strawberry.field(
        default=None, description="Shown this once; rotate it to see a new one."
    )
    errors: list[UserError]


@strawberry.input
class TenantDeleteInput:
    id: strawberry.ID
    confirm_domain: str = strawberry.field(
        description="The tenant's domain, typed again: its subscribers are deleted and its "
        "numbers go back to quarantine."
    )


@strawberry.type
class TenantDeletePayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError]


@strawberry.input
class TenantRotateInput:
    id: strawberry.ID


def _fields(source: TenantCreateInput | TenantUpdateInput) -> TenantFields:
    """The core's view of an input: global ids decoded, not-given fields left None.

    Every reference that names nothing is reported at once (NOT_FOUND on its field).
    """
    errors = ErrorCollector()
    fields = TenantFields()
    given = given_fields(source, clearable=tuple(REFERENCES), skip=("id", "isp"))
    for name in ("name", "domain", "default_country_code", "default_area_code", "status"):
        if name in given:
            setattr(fields, name, given[name])
    for name, type_name in REFERENCES.items():
        if name not in given:
            continue
        if given[name] is None:
            fields.clear.add(f"{name}_id")
        else:
            ref = Ref(given[name], type_name, name.replace("_", " "), name)
            setattr(fields, f"{name}_id", errors.check(ref.decode))
    if "smbcs" in given:
        fields.smbc_ids = [i for i in (id_of(s, "Smbc") for s in given["smbcs"]) if i]
        if len(fields.smbc_ids) != len(given["smbcs"]):
            errors.errors.extend(not_found("SMBC", "smbcs").errors)
    errors.raise_if_any()
    return fields


@strawberry.type
class TenantMutation:
    @strawberry.mutation(description="Create a tenant; its provisioning password is shown once.")
    async def tenant_create(self, info: Info, input: TenantCreateInput
                            ) -> TenantWithPasswordPayload:
        context = info.context
        outcome = await run(info, lambda s, isp_id: tenants.create_tenant(
            s, context.settings, context.viewer, isp_id, _fields(input)),
            Ref(input.isp or None, "Isp", "ISP", "isp"), paths=_PATHS)
        if not outcome.ok or outcome.value is None:
            return TenantWithPasswordPayload(errors=outcome.errors)
        return TenantWithPasswordPayload(
            tenant=TenantType.from_row(outcome.value.tenant),
            provisioning_password=outcome.value.provisioning_password, errors=[])

    @strawberry.mutation(description="Change a tenant; its subscribers stay.")
    async def tenant_update(self, info: Info, input: TenantUpdateInput) -> TenantPayload:
        context = info.context
        outcome = await run(info, lambda s, tenant_id: tenants.update_tenant(
            s, context.settings, context.viewer, tenant_id, _fields(input)),
            Ref(input.id, "Tenant", "tenant"), paths=_PATHS)
        if not outcome.ok:
            return TenantPayload(errors=outcome.errors)
        return TenantPayload(tenant=TenantType.from_row(outcome.value), errors=[])

    @strawberry.mutation(description="Delete a tenant, its subscribers, and release its numbers.")
    async def tenant_delete(self, info: Info, input: TenantDeleteInput) -> TenantDeletePayload:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, i: tenants.delete_tenant(s, viewer, i, input.confirm_domain),
            Ref(input.id, "Tenant", "tenant"))
        if not outcome.ok:
            return TenantDeletePayload(errors=outcome.errors)
        return TenantDeletePayload(deleted_id=input.id, errors=[])

    @strawberry.mutation(description="Set a new softphone provisioning password (shown once).")
    async def tenant_provisioning_password_rotate(
        self, info: Info, input: TenantRotateInput
    ) -> TenantWithPasswordPayload:
        context = info.context
        outcome = await run(
            info, lambda s, i: tenants.rotate_provisioning_password(
                s, context.settings, context.viewer, i),
            Ref(input.id, "Tenant", "tenant"))
        if not outcome.ok or outcome.value is None:
            return TenantWithPasswordPayload(errors=outcome.errors)
        return TenantWithPasswordPayload(
            tenant=TenantType.from_row(outcome.value.tenant),
            provisioning_password=outcome.value.provisioning_password, errors=[])


# Core field names that differ from the input's.
_PATHS = {(f"{name}_id",): (name,) for name in REFERENCES} | {("smbc_ids",): ("smbcs",)}
