"""GraphQL type of a security group."""

from __future__ import annotations

import datetime as dt

import strawberry

from core.models import SecurityGroup
from schema.context import Info
from schema.core.ids import to_global_id
from schema.core.node import RowNode, register_node
from schema.security_groups.loaders import destinations_by_group


@strawberry.type(name="SecurityGroup",
                 description="International destinations that subscribers given this group may "
                 "call; every other international destination stays closed to them.")
class SecurityGroupType(RowNode):
    row: strawberry.Private[SecurityGroup]
    name: str
    description: str
    tenant_id: strawberry.ID
    created_at: dt.datetime
    updated_at: dt.datetime

    @strawberry.field(description="ISO 3166 alpha-2 codes of the countries it opens, sorted.")
    async def countries(self, info: Info) -> list[str]:
        rows = await destinations_by_group(info.context).load(self.row.id)
        return sorted(row.country for row in rows if row.country)

    @strawberry.field(description="E.164 prefixes it opens (+ and digits), sorted.")
    async def prefixes(self, info: Info) -> list[str]:
        rows = await destinations_by_group(info.context).load(self.row.id)
        return sorted(row.prefix for row in rows if row.prefix)

    @classmethod
    def from_row(cls, row: SecurityGroup) -> SecurityGroupType:
        return super().from_row(row, tenant_id=strawberry.ID(to_global_id("Tenant",
                                                                          row.tenant_id)))


register_node("SecurityGroup", SecurityGroup, SecurityGroupType.from_row)
