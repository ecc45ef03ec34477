"""The two shapes of dataloader every domain uses: rows by id, children by parent.

Saleor's ``XByYLoader``, one instance per request (``Context.loader``): one query per
batch, whatever the page size. Like every read path they apply the viewer's scope, and
each batch opens its own short session (sibling resolvers run concurrently, and one
session must never be used by two coroutines at once).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from core.scoping import visible
from schema.context import Context


def rows_by_id(context: Context, model: Any) -> DataLoader[uuid.UUID, Any]:
    """Rows of ``model`` by id, None where missing or out of the viewer's scope."""

    async def load(ids: list[uuid.UUID]) -> Sequence[Any]:
        statement = select(model).where(model.id.in_(ids), visible(context.viewer, model))
        async with context.sessions() as session:
            rows = {row.id: row for row in (await session.execute(statement)).scalars()}
        return [rows.get(object_id) for object_id in ids]

    return context.loader(f"{model.__name__}_by_id", lambda: DataLoader(load_fn=load))


def children_by_parent(context: Context, parent: Any, *order: Any
                       ) -> DataLoader[uuid.UUID, list]:
    """The children of each parent (``parent``: their column naming it), in ``order``."""
    model = parent.class_

    async def load(ids: list[uuid.UUID]) -> Sequence[list[Any]]:
        statement = (select(model).where(parent.in_(ids), visible(context.viewer, model))
                     .order_by(parent, *order))
        grouped: dict[uuid.UUID, list[Any]] = defaultdict(list)
        async with context.sessions() as session:
            for row in (await session.execute(statement)).scalars():
                grouped[getattr(row, parent.key)].append(row)
        return [grouped[parent_id] for parent_id in ids]

    name = f"{model.__name__}_by_{parent.key}"
    return context.loader(name, lambda: DataLoader(load_fn=load))
