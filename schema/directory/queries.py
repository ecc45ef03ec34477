"""Reading a tenant's directory link."""

from __future__ import annotations

import strawberry
from sqlalchemy import select

from core.models import DirectoryLink
from core.scoping import visible
from schema.context import Info
from schema.core.ids import id_of
from schema.directory.types import DirectoryLinkType


@strawberry.type
class DirectoryQuery:
    @strawberry.field(description="The tenant's directory link; null when it has none (or "
                      "the tenant is not yours).")
    async def directory_link(self, info: Info, tenant: strawberry.ID) -> DirectoryLinkType | None:
        tenant_id = id_of(tenant, "Tenant")
        if tenant_id is None:
            return None
        async with info.context.sessions() as session:
            row = (await session.execute(select(DirectoryLink).where(
                DirectoryLink.tenant_id == tenant_id,
                visible(info.context.viewer, DirectoryLink)))).scalars().first()
        return DirectoryLinkType.from_row(row) if row else None
