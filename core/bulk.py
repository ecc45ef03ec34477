"""Writing many rows in one go: COPY on PostgreSQL, one executemany elsewhere.

A directory import writes tens of thousands of rows; COPY is several times
faster than INSERT statements, even pipelined ones. The values go through
each column's own bind processing (enums as names, UTC timestamps, JSON), so
what lands is what an ORM insert would have written, and the routing-change
tracking hears of it as it would of an INSERT.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from psycopg import sql
from psycopg.types.json import Json
from sqlalchemy import JSON, Dialect, insert
from sqlalchemy.types import TypeEngine
from sqlmodel import Session, SQLModel

from core.routing_changes import note_change


def insert_rows(session: Session, model: type[SQLModel], rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys, every column a row needs) into the
    model's table, in the session's transaction."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(insert(model), rows)
        return
    table = model.__table__  # type: ignore[attr-defined]
    columns = list(rows[0])
    pairs = [(name, _processor(table.c[name].type, connection.dialect)) for name in columns]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns)))
    with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([process(row[name]) if process and row[name] is not None
                            else row[name] for name, process in pairs])
    note_change(session, table.name)


def _processor(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    # psycopg's JSON binding is done by the driver for statements, not by the column type.
    if isinstance(column_type, JSON):
        return Json
    return column_type.bind_processor(dialect)
