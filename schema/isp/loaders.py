"""Dataloaders of ISPs' own relations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from core.models import IspLogo
from schema.context import Context


def logo_by_isp(context: Context) -> DataLoader[uuid.UUID, IspLogo | None]:
    # Logos are public branding; they are only reached through an ISP the viewer sees.
    async def load(ids: list[uuid.UUID]) -> Sequence[IspLogo | None]:
        statement = select(IspLogo).where(IspLogo.isp_id.in_(ids))
        async with context.sessions() as session:
            rows = {row.isp_id: row for row in (await session.execute(statement)).scalars()}
        return [rows.get(isp_id) for isp_id in ids]

    return context.loader("logo_by_isp", lambda: DataLoader(load_fn=load))
