"""Dataloaders: one query per relation per request, whatever the page size.

Each loader applies the viewer's scope, like every other read path, and opens
its own short session (sibling resolvers run concurrently, and one session
must never be used by two coroutines at once).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from core.models import Administrator, IspLogo, RoleGrant
from core.scoping import visible
from schema.context import Context
from schema.core.loaders import rows_by_id


def administrator_by_id(context: Context) -> DataLoader[uuid.UUID, Administrator | None]:
    return rows_by_id(context, Administrator)


def grants_by_administrator(context: Context) -> DataLoader[uuid.UUID, list[RoleGrant]]:
    async def load(ids: list[uuid.UUID]) -> Sequence[list[RoleGrant]]:
        statement = (
            select(RoleGrant)
            .where(RoleGrant.administrator_id.in_(ids), visible(context.viewer, RoleGrant))
            .order_by(RoleGrant.created_at, RoleGrant.id)
        )
        grouped: dict[uuid.UUID, list[RoleGrant]] = defaultdict(list)
        async with context.sessions() as session:
            for row in (await session.execute(statement)).scalars():
                grouped[row.administrator_id].append(row)
        return [grouped[administrator_id] for administrator_id in ids]

    return context.loader("grants_by_administrator", lambda: DataLoader(load_fn=load))


def logo_by_isp(context: Context) -> DataLoader[uuid.UUID, IspLogo | None]:
    # Logos are public branding; they are only reached through an ISP the viewer sees.
    async def load(ids: list[uuid.UUID]) -> Sequence[IspLogo | None]:
        statement = select(IspLogo).where(IspLogo.isp_id.in_(ids))
        async with context.sessions() as session:
            rows = {row.isp_id: row for row in (await session.execute(statement)).scalars()}
        return [rows.get(isp_id) for isp_id in ids]

    return context.loader("logo_by_isp", lambda: DataLoader(load_fn=load))
