"""Writing many rows in one go: COPY and set-based UPDATEs on PostgreSQL, one
executemany elsewhere.

A directory import writes tens of thousands of rows; COPY is several times
faster than INSERT statements, even pipelined ones. The values go through
each column's own bind processing (enums as names, UTC timestamps, JSON), so
what lands is what an ORM insert would have written, and the routing-change
tracking hears of it as it would of an INSERT.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from psycopg import sql
from psycopg.types.json import Json
from sqlalchemy import (
    JSON,
    Connection,
    DateTime,
    Dialect,
    Table,
    Uuid,
    bindparam,
    func,
    insert,
    update,
)
from sqlalchemy.types import TypeDecorator, TypeEngine
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
    table = model.__table__  # type: ignore[attr-defined]  # set on table models, not declared
    columns = list(rows[0])
    # Only the columns whose type converts values (enums, timestamps, JSON) are processed.
    processors = [(index, process) for index, name in enumerate(columns)
                  if (process := _processor(table.c[name].type, connection.dialect))]
    values_of = itemgetter(*columns)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns)))
    # SQLAlchemy types the DBAPI cursor as a protocol without psycopg's context manager.
    with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[attr-defined]
        for row in rows:
            values = list(values_of(row)) if len(columns) > 1 else [values_of(row)]
            for index, process in processors:
                if values[index] is not None:
                    values[index] = process(values[index])
            copy.write_row(values)
    note_change(session, table.name, rows)


def _processor(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    # psycopg's JSON binding is done by the driver for statements, not by the column type.
    if isinstance(column_type, JSON):
        return Json
    return column_type.bind_processor(dialect)


def update_rows(session: Session, model: type[SQLModel], rows: Sequence[dict[str, Any]], *,
                fill_only: frozenset[str] = frozenset(),
                optional: frozenset[str] = frozenset()) -> None:
    """Update rows by primary key: each dict holds ``id`` and the columns to set.

    Rows that set the same columns are written together: one ``UPDATE ... FROM
    json_to_recordset(...)`` on PostgreSQL (one statement, however many rows), one executemany
    elsewhere. Columns in ``fill_only`` are set only where they are empty; columns in
    ``optional`` keep their value in the rows that leave them out (or give None), so
    that rows setting different ones of them still go together.
    """
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        if optional:
            row = dict.fromkeys(optional) | row
        groups.setdefault(tuple(sorted(row)), []).append(row)
    connection = session.connection()
    table = model.__table__  # type: ignore[attr-defined]  # set on table models, not declared
    for names, group in groups.items():
        columns = [name for name in names if name != "id"]
        if connection.dialect.name == "postgresql":
            _update_from_json(connection, table, names, columns, group, fill_only, optional)
        else:
            connection.execute(
                update(table).where(table.c.id == bindparam("v_id", type_=table.c.id.type))
                .values({name: _assignment(table, name, fill_only, optional)
                         for name in columns}),
                [{f"v_{name}": value for name, value in row.items()} for row in group])
    if rows:
        note_change(session, table.name, rows, updated=True)


def _assignment(table: Table, name: str, fill_only: frozenset[str],
                optional: frozenset[str]) -> Any:
    value = bindparam(f"v_{name}", type_=table.c[name].type)
    if name in fill_only:
        return func.coalesce(table.c[name], value)
    if name in optional:
        return func.coalesce(value, table.c[name])
    return value


_SET = {"fill_only": "{column} = COALESCE(t.{column}, v.{column})",
        "optional": "{column} = COALESCE(v.{column}, t.{column})",
        "plain": "{column} = v.{column}"}


def _update_from_json(connection: Connection, table: Table, names: tuple[str, ...],
                      columns: list[str], group: list[dict[str, Any]],
                      fill_only: frozenset[str], optional: frozenset[str]) -> None:
    """One UPDATE for the group, its rows sent as one JSON document: a single text
    parameter costs the driver far less than an array per column."""
    statement = _json_update_statement(table, names, fill_only & set(columns),
                                       optional & set(columns), connection.dialect)
    converters = [(name, _to_json(table.c[name].type, connection.dialect)) for name in names]
    document = json.dumps([{name: convert(row[name]) if convert and row[name] is not None
                            else row[name] for name, convert in converters}
                           for row in group])
    # SQLAlchemy types the DBAPI cursor as a protocol without psycopg's context manager.
    with connection.connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute(statement, [document])


@functools.cache
def _json_update_statement(table: Table, names: tuple[str, ...], fill_only: frozenset[str],
                           optional: frozenset[str], dialect: Dialect) -> sql.Composed:
    columns = [name for name in names if name != "id"]
    return sql.SQL("UPDATE {table} AS t SET {sets} FROM json_to_recordset(%s::json) "
                   "AS v ({record}) WHERE t.id = v.id").format(
        table=sql.Identifier(table.name),
        sets=sql.SQL(", ").join(
            sql.SQL(_SET["fill_only" if name in fill_only else
                         "optional" if name in optional else "plain"]).format(
                column=sql.Identifier(name))
            for name in columns),
        record=sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(name),
                                    sql.SQL(table.c[name].type.compile(dialect=dialect)))
            for name in names))


def _to_json(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """How a column's value goes into the JSON document (None: as it is)."""
    if isinstance(column_type, JSON):
        return None
    process = column_type.bind_processor(dialect)
    base = column_type.impl_instance if isinstance(column_type, TypeDecorator) else column_type
    if isinstance(base, Uuid | DateTime):  # PostgreSQL reads them back from their text
        return (lambda value: str(process(value))) if process else str
    return process
