"""Comparing desired rows with a table's rows, and applying only the difference.

Rows are matched by the table's natural key (``Table.key``); a row whose values
differ is updated in place, a key that is no longer desired is deleted, a new
key is inserted (with COPY, which is what makes a full export into an empty
database cost about what a bare COPY of the same rows costs). Duplicate keys
found in a table (a hand edit) are deleted but for one.

An incremental export reads only part of a table (``where``): the rows of the
subjects it recomputes; the comparison is the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from routing_export.tables import Table

Row = tuple[object, ...]
# The key given to surplus rows under a key already seen, so that they are deleted.
DUPLICATE = ("duplicate",)


@dataclass
class TableDiff:
    table: Table
    inserts: list[Row] = field(default_factory=list)
    updates: list[tuple[int, Row]] = field(default_factory=list)  # (row id, values)
    deletes: list[int] = field(default_factory=list)
    deleted_keys: list[Row] = field(default_factory=list)  # the keys of ``deletes``

    @property
    def rows_written(self) -> int:
        return len(self.inserts) + len(self.updates) + len(self.deletes)

    def summary(self) -> str:
        return (f"{self.table.name}: {len(self.inserts)} to insert, "
                f"{len(self.updates)} to update, {len(self.deletes)} to delete")


def read_current(connection: psycopg.Connection, table: Table,
                 where: sql.Composable | None = None,
                 params: list[object] | None = None, *,
                 created: bool = False) -> dict[tuple[object, ...], tuple[int, Row]]:
    """Key -> (row id, values) of what the table holds now (the rows ``where`` selects).

    Surplus rows under a key already seen get a key of their own (``DUPLICATE`` +
    the row id), so that the comparison deletes them. ``created``: the table is known
    to exist (one question less to the database).
    """
    query = sql.SQL("SELECT {id}, {columns} FROM {table} WHERE {where} ORDER BY {id}").format(
        id=sql.Identifier(table.id_column), table=sql.Identifier(table.name),
        columns=sql.SQL(", ").join(map(sql.Identifier, table.columns)),
        where=where if where is not None else sql.SQL("TRUE"))
    current: dict[tuple[object, ...], tuple[int, Row]] = {}
    width = len(table.key)
    with connection.cursor() as cursor:
        if not created:
            cursor.execute("SELECT to_regclass(%s)", [table.name])
            found = cursor.fetchone()
            if found is None or found[0] is None:
                return current  # not created yet (a dry run on a new database): empty
        cursor.execute(query, params or [])
        for row_id, *values in cursor:
            key = tuple(values[:width])
            if key in current:
                current.setdefault((*DUPLICATE, row_id), (row_id, ()))
                continue
            current[key] = (row_id, tuple(values[width:]))
    return current


def compare(table: Table, desired: Iterable[Row],
            current: dict[tuple[object, ...], tuple[int, Row]]) -> TableDiff:
    """What to change so that the table holds exactly ``desired`` (consumes ``current``)."""
    diff = TableDiff(table)
    if not current:
        # A new database: everything is inserted. Keys are unique by construction (and
        # the unique indexes would refuse the transaction if they were not).
        diff.inserts = list(desired)
        return diff
    width = len(table.key)
    seen: set[tuple[object, ...]] = set()
    for row in desired:
        key = row[:width]
        if key in seen:
            continue  # the desired state holds one row per key; the first wins
        seen.add(key)
        existing = current.pop(key, None)
        if existing is None:
            diff.inserts.append(row)
        elif existing[1] != row[width:]:
            diff.updates.append((existing[0], row))
    gone = sorted((row_id, key) for key, (row_id, _values) in current.items())
    diff.deletes = [row_id for row_id, _key in gone]
    diff.deleted_keys = [key for _row_id, key in gone]
    return diff


def apply(connection: psycopg.Connection, diff: TableDiff) -> None:
    """Write one table's difference inside the caller's transaction."""
    table = diff.table
    name, row_id = sql.Identifier(table.name), sql.Identifier(table.id_column)
    with connection.cursor() as cursor:
        if diff.deletes:
            cursor.execute(sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(name, row_id),
                           [diff.deletes])
        if diff.updates:
            assignments = sql.SQL(", ").join(
                sql.SQL("{} = %s").format(sql.Identifier(column)) for column in table.columns)
            statement = sql.SQL("UPDATE {} SET {} WHERE {} = %s").format(
                name, assignments, row_id)
            cursor.executemany(statement, [(*row, target) for target, row in diff.updates])
        if diff.inserts:
            copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
                name, sql.SQL(", ").join(map(sql.Identifier, table.columns)))
            with cursor.copy(copy) as writer:
                for row in diff.inserts:
                    writer.write_row(row)
