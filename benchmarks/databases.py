"""Throw-away PostgreSQL databases for the benchmarks, on the server they measure against.

``WEHOSTVOIP_BENCH_POSTGRES_URL`` names a database on that server to connect to
for creating and dropping others (default: the local ``postgres`` one).
"""

from __future__ import annotations

import os
import uuid

import psycopg
from psycopg import sql

POSTGRES_URL = os.environ.get("WEHOSTVOIP_BENCH_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/postgres")


def make_database(kind: str) -> str:
    """A new empty database; its URL."""
    name = f"wehostvoip_bench_{kind}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str) -> None:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(url.rsplit("/", 1)[1])))
