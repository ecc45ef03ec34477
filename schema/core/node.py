"""The Node interface and the root ``node`` / ``nodes`` fields.

Each object type registers how to load and present its rows; lookups go
through :func:`core.scoping.visible`, the same rule as every other path, so an
id outside the viewer's scope resolves to null exactly like an unknown id.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import GraphQLError
from sqlalchemy import select
from sqlmodel import SQLModel

from core.scoping import visible
from schema.context import Info
from schema.core.ids import from_global_id, to_global_id
from schema.core.loaders import rows_by_id

MAX_NODES = 100


@strawberry.interface(description="An object with a global id, fetchable with `node(id:)`.")
class Node:
    id: strawberry.ID


@strawberry.type
class RowNode(Node):
    """A node presenting one database row, kept private as ``row``."""

    row: strawberry.Private[Any]

    @classmethod
    def from_row(cls, row: Any, **computed: Any) -> Any:
        """The node of ``row``: its global id (of the type's GraphQL name), the row, and
        every plain field of the type taken from the row's attribute of the same name,
        except those given in ``computed`` (a value the row does not hold as such)."""
        definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
        columns = {field.python_name: getattr(row, field.python_name)
                   for field in definition.fields
                   if field.base_resolver is None and field.python_name not in ("id", "row")
                   and field.python_name not in computed}
        return cls(id=strawberry.ID(to_global_id(definition.name, row.id)), row=row,
                   **columns, **computed)


@dataclass(frozen=True)
class NodeKind:
    model: type[SQLModel]
    to_node: Callable[[Any], Node]


_KINDS: dict[str, NodeKind] = {}


def register_node(type_name: str, model: type[SQLModel], to_node: Callable[[Any], Node]) -> None:
    _KINDS[type_name] = NodeKind(model=model, to_node=to_node)


def node_of(type_name: str, row: Any) -> Any:
    """The GraphQL object of ``row`` (an ``Isp`` row as an ``IspType``...): how a domain
    presents another domain's objects without importing it (its field's type is a
    ``strawberry.lazy`` annotation)."""
    return _KINDS[type_name].to_node(row)


async def load_node(info: Info, type_name: str, object_id: uuid.UUID | None) -> Any:
    """The node a row refers to (e.g. a customer's plan), through the request's loader:
    one query per type per batch; None when there is none or it is out of scope."""
    if object_id is None:
        return None
    kind = _KINDS[type_name]
    row = await rows_by_id(info.context, kind.model).load(object_id)
    return kind.to_node(row) if row is not None else None


def registered_node_types() -> dict[str, NodeKind]:
    return dict(_KINDS)


async def load_nodes(info: Info, global_ids: list[str]) -> list[Node | None]:
    """Nodes in the order asked for; one query per type, null where not visible."""
    wanted: dict[str, list[uuid.UUID]] = defaultdict(list)
    for global_id in global_ids:
        decoded = from_global_id(global_id)
        if decoded and decoded[0] in _KINDS:
            wanted[decoded[0]].append(decoded[1])
    found: dict[tuple[str, uuid.UUID], Node] = {}
    async with info.context.sessions() as session:
        for type_name, ids in wanted.items():
            kind = _KINDS[type_name]
            statement = select(kind.model).where(
                kind.model.id.in_(ids),  # type: ignore[attr-defined]
                visible(info.context.viewer, kind.model),
            )
            for row in (await session.execute(statement)).scalars():
                found[(type_name, row.id)] = kind.to_node(row)
    results: list[Node | None] = []
    for global_id in global_ids:
        decoded = from_global_id(global_id)
        results.append(found.get(decoded) if decoded else None)
    return results


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global id; null when there is none to see.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return (await load_nodes(info, [id]))[0]

    @strawberry.field(description=f"Objects by global id (at most {MAX_NODES}), in order.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_NODES:
            raise GraphQLError(f"ask for at most {MAX_NODES} ids at once",
                               extensions={"code": "TOO_MANY_IDS"})
        return await load_nodes(info, list(ids))
