"""Dataloaders of the catalogue: one scoped query per relation per request.

Like schema/loaders.py, each applies the viewer's scope and opens its own short
session (sibling resolvers run concurrently).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from core.models import ServicePlan
from core.scoping import visible
from schema.context import Context


def visible_by_id(context: Context, model: Any) -> DataLoader[uuid.UUID, Any]:
    """Rows of ``model`` by id, None where missing or out of the viewer's scope."""

    async def load(ids: list[uuid.UUID]) -> Sequence[Any]:
        statement = select(model).where(model.id.in_(ids), visible(context.viewer, model))
        async with context.sessions() as session:
            rows = {row.id: row for row in (await session.execute(statement)).scalars()}
        return [rows.get(object_id) for object_id in ids]

    return context.loader(f"{model.__name__}_by_id", lambda: DataLoader(load_fn=load))


def service_plan_by_id(context: Context) -> DataLoader[uuid.UUID, ServicePlan | None]:
    return visible_by_id(context, ServicePlan)
