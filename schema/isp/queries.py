"""Reading ISPs."""

from __future__ import annotations

import strawberry

from core.models import Isp
from core.scoping import visible
from schema.context import Info
from schema.core.pagination import Connection, SortKey, paginate
from schema.isp.types import IspType


@strawberry.type
class IspQuery:
    @strawberry.field(description="The ISPs you belong to (every ISP for platform operators).")
    async def isps(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[IspType]:
        return await paginate(
            info, Isp, where=[visible(info.context.viewer, Isp)], order=SortKey(Isp.name),
            to_node=IspType.from_row, first=first, after=after, last=last, before=before,
        )
