"""GraphQL types of the people who administer the platform, ISPs and tenants."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry

from core.models import Administrator, ApiToken, Invitation, Role, RoleGrant, Scope
from schema.context import Info
from schema.core.ids import to_global_id
from schema.core.node import Node, RowNode, register_node
from schema.core.owned import isp_field
from schema.identity.loaders import grants_by_administrator

RoleEnum = strawberry.enum(Role, name="Role", description="ADMIN manages; VIEWER reads.")
ScopeEnum = strawberry.enum(Scope, name="Scope", description="Where a role applies.")


def _global_id(type_name: str, object_id: uuid.UUID | None) -> strawberry.ID | None:
    return None if object_id is None else strawberry.ID(to_global_id(type_name, object_id))


@strawberry.type(name="RoleGrant", description="A role one administrator holds at one scope.")
class RoleGrantType(RowNode):
    row: strawberry.Private[RoleGrant]
    scope: ScopeEnum  # type: ignore[valid-type]
    role: RoleEnum  # type: ignore[valid-type]
    created_at: dt.datetime

    isp = isp_field("The ISP the role belongs to (null for platform roles).")

    @strawberry.field(description="Global id of the tenant for tenant roles.")
    def tenant_id(self) -> strawberry.ID | None:
        if self.row.tenant_id is None:
            return None
        return strawberry.ID(to_global_id("Tenant", self.row.tenant_id))

    @strawberry.field(description="Global id of the customer for customer roles.")
    def customer_id(self) -> strawberry.ID | None:
        return _global_id("Customer", self.row.customer_id)


@strawberry.type(name="Administrator", description="A person who logs in.")
class AdministratorType(RowNode):
    row: strawberry.Private[Administrator]
    email: str
    full_name: str
    is_active: bool
    last_login_at: dt.datetime | None
    created_at: dt.datetime

    @strawberry.field(description="The roles of this person that you may see.")
    async def grants(self, info: Info) -> list[RoleGrantType]:
        rows = await grants_by_administrator(info.context).load(self.row.id)
        return [RoleGrantType.from_row(row) for row in rows]


@strawberry.type(name="Invitation", description="An e-mailed offer of a role at a scope.")
class InvitationType(RowNode):
    row: strawberry.Private[Invitation]
    email: str
    scope: ScopeEnum  # type: ignore[valid-type]
    role: RoleEnum  # type: ignore[valid-type]
    expires_at: dt.datetime
    accepted_at: dt.datetime | None
    revoked_at: dt.datetime | None
    created_at: dt.datetime

    isp = isp_field()

    @strawberry.field(description="Global id of the customer for customer roles.")
    def customer_id(self) -> strawberry.ID | None:
        return _global_id("Customer", self.row.customer_id)

    @strawberry.field(description="Global id of the tenant for tenant roles.")
    def tenant_id(self) -> strawberry.ID | None:
        return _global_id("Tenant", self.row.tenant_id)


@strawberry.type(name="ApiToken", description="A personal token for automation (secret not shown).")
class ApiTokenType(Node):
    name: str
    token_prefix: str = strawberry.field(description="The first characters, to tell tokens apart.")
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: ApiToken) -> ApiTokenType:
        return cls(id=strawberry.ID(to_global_id("ApiToken", row.id)), name=row.name,
                   token_prefix=row.token_prefix, created_at=row.created_at,
                   expires_at=row.expires_at, last_used_at=row.last_used_at,
                   revoked_at=row.revoked_at)


register_node("RoleGrant", RoleGrant, RoleGrantType.from_row)
register_node("Administrator", Administrator, AdministratorType.from_row)
register_node("Invitation", Invitation, InvitationType.from_row)
register_node("ApiToken", ApiToken, ApiTokenType.from_row)
