"""Creating, changing and deleting security groups."""

from __future__ import annotations

from typing import Any

import strawberry

from core import security_groups
from core.security_groups import SecurityGroupFields
from schema.context import Info
from schema.core.errors import UserError
from schema.core.ids import to_global_id
from schema.core.mutations import Outcome, Ref, given_fields, run
from schema.security_groups.types import SecurityGroupType


@strawberry.input
class SecurityGroupCreateInput:
    tenant: strawberry.ID
    name: str
    description: str = ""
    countries: list[str] = strawberry.field(
        default_factory=list, description="ISO 3166 alpha-2 codes, e.g. GB.")
    prefixes: list[str] = strawberry.field(
        default_factory=list, description="E.164 prefixes: + and 1 to 15 digits, e.g. +4420.")


@strawberry.input(description="Fields left out or null stay as they are; a list given replaces "
                  "the group's list.")
class SecurityGroupUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    countries: list[str] | None = strawberry.UNSET
    prefixes: list[str] | None = strawberry.UNSET


@strawberry.input
class SecurityGroupDeleteInput:
    id: strawberry.ID


@strawberry.type
class SecurityGroupPayload:
    security_group: SecurityGroupType | None = None
    errors: list[UserError]


@strawberry.type
class SecurityGroupDeletePayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError]


# The tenant is looked up as "id" by the rule shared with every tenant's objects.
_PATHS = {("id",): ("tenant",)}


def _fields(input: object) -> SecurityGroupFields:
    return SecurityGroupFields(**given_fields(input, skip=("id", "tenant")))


def _payload(outcome: Outcome[Any]) -> SecurityGroupPayload:
    group = SecurityGroupType.from_row(outcome.value) if outcome.ok else None
    return SecurityGroupPayload(security_group=group, errors=outcome.errors)


@strawberry.type
class SecurityGroupMutation:
    @strawberry.mutation(description="Create a security group in a tenant (its administrators "
                         "and the ISP's).")
    async def security_group_create(self, info: Info, input: SecurityGroupCreateInput
                                    ) -> SecurityGroupPayload:
        viewer, fields = info.context.viewer, _fields(input)
        return _payload(await run(
            info, lambda s, tenant_id: security_groups.create_security_group(
                s, viewer, tenant_id, fields),
            Ref(input.tenant, "Tenant", "tenant", "tenant"), paths=_PATHS))

    @strawberry.mutation(description="Change a security group; its subscribers follow at once.")
    async def security_group_update(self, info: Info, input: SecurityGroupUpdateInput
                                    ) -> SecurityGroupPayload:
        viewer, fields = info.context.viewer, _fields(input)
        return _payload(await run(
            info, lambda s, group_id: security_groups.update_security_group(
                s, viewer, group_id, fields),
            Ref(input.id, "SecurityGroup", "security group")))

    @strawberry.mutation(description="Delete a security group; its subscribers are left without "
                         "one, so international calls close for them.")
    async def security_group_delete(self, info: Info, input: SecurityGroupDeleteInput
                                    ) -> SecurityGroupDeletePayload:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, group_id: security_groups.delete_security_group(s, viewer, group_id),
            Ref(input.id, "SecurityGroup", "security group"))
        if not outcome.ok:
            return SecurityGroupDeletePayload(errors=outcome.errors)
        return SecurityGroupDeletePayload(
            deleted_id=strawberry.ID(to_global_id("SecurityGroup", outcome.value)), errors=[])
