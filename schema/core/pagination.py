"""Relay connections with keyset pagination.

Cursors hold the sort key of the row they point at (its value and its id), so
a page is one indexed range scan whatever its depth, and rows inserted while a
client pages do not shift what it sees. ``totalCount`` is one COUNT query, run
only when asked for: a page costs at most two statements.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import enum
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import strawberry
from graphql import GraphQLError
from sqlalchemy import ColumnElement, func, literal, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from schema.context import Info

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100

NodeT = TypeVar("NodeT")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    node: NodeT
    cursor: str


@strawberry.type(description="A page of a list, with Relay cursors.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    count_query: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items the whole list holds, with its filter.")
    async def total_count(self) -> int:
        return await self.count_query()


@dataclass(frozen=True)
class SortKey:
    """The column a list is ordered by; the id breaks ties so every order is total."""

    column: InstrumentedAttribute[Any]
    descending: bool = False


class PaginationError(GraphQLError):
    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": "INVALID_PAGINATION"})


# Cursors ---------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    return value


def encode_cursor(value: Any, row_id: uuid.UUID) -> str:
    text = json.dumps([_plain(value), str(row_id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _typed(column: InstrumentedAttribute[Any], value: Any) -> Any:
    python_type = column.type.python_type
    if value is None:
        return None
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("NUL in cursor")
    if python_type is dt.datetime:
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("cursor time without a zone")
        return moment
    if issubclass(python_type, enum.Enum | uuid.UUID | decimal.Decimal | int):
        return python_type(value)
    return str(value)


def decode_cursor(cursor: str, key: SortKey) -> tuple[Any, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, row_id = json.loads(raw)
        return _typed(key.column, value), uuid.UUID(row_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise PaginationError("the cursor is not one this list gave out") from None


# Paging ------------------------------------------------------------------------------------


def _page_request(first: int | None, after: str | None, last: int | None,
                  before: str | None) -> tuple[int, bool]:
    """How many rows to return, and whether the page is read backwards."""
    if first is not None and last is not None:
        raise PaginationError("pass either first or last, not both")
    backwards = last is not None or (first is None and before is not None)
    if backwards and after is not None:
        raise PaginationError("after goes with first; use before with last")
    if not backwards and before is not None:
        raise PaginationError("before goes with last; use after with first")
    size = last if backwards and last is not None else first
    size = DEFAULT_PAGE_SIZE if size is None else size
    if size < 0 or size > MAX_PAGE_SIZE:
        raise PaginationError(f"page size must be between 0 and {MAX_PAGE_SIZE}")
    return size, backwards


async def paginate(
    info: Info,
    model: Any,
    *,
    where: Sequence[ColumnElement[bool]],
    order: SortKey,
    to_node: Callable[[Any], NodeT],
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Connection[NodeT]:
    """One page of ``model`` rows matching ``where`` (which must include the viewer's scope)."""
    size, backwards = _page_request(first, after, last, before)
    key_columns = tuple_(order.column, model.id)
    # Walking backwards reads the list in reverse order and flips the page afterwards.
    ascending = order.descending == backwards
    statement = select(model).where(*where)
    cursor = before if backwards else after
    if cursor is not None:
        value, row_id = decode_cursor(cursor, order)
        # Bound with the columns' own types, so values convert exactly as stored ones do.
        boundary = tuple_(literal(value, order.column.type), literal(row_id, model.id.type))
        statement = statement.where(key_columns > boundary if ascending else key_columns < boundary)
    columns = (order.column, model.id)
    statement = statement.order_by(*(c.asc() if ascending else c.desc() for c in columns))
    statement = statement.limit(size + 1)

    async with info.context.sessions() as session:
        rows = list((await session.execute(statement)).scalars())
    has_more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    edges = [
        Edge(node=to_node(row), cursor=encode_cursor(getattr(row, order.column.key), row.id))
        for row in rows
    ]

    async def count() -> int:
        async with info.context.sessions() as session:
            total = select(func.count()).select_from(model).where(*where)
            return (await session.execute(total)).scalar_one()

    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_more if not backwards else before is not None,
            has_previous_page=has_more if backwards else after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count_query=count,
    )
