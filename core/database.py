"""Database engines and sessions.

One URL from the settings gives two engines: a synchronous one (migrations,
workers, CLI, domain rules) and an asynchronous one (the API). The URL's driver
is chosen here so that settings can say plain ``sqlite://`` or
``postgresql://``: psycopg 3 for PostgreSQL, pysqlite / aiosqlite for SQLite.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio
from sqlalchemy import ColumnElement, Engine, String, any_, create_engine, event, literal
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool
from sqlalchemy.types import NullType
from sqlmodel import Session

from core.jobs import dispatch, take_pending_dispatch
from core.routing_changes import track_routing_changes

SQLITE_BUSY_TIMEOUT_MS = 15_000


def sync_url(url: str) -> URL:
    """The URL with the synchronous driver this project uses."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite")
    return parsed.set(drivername="postgresql+psycopg")


def async_url(url: str) -> URL:
    """The URL with the asynchronous driver this project uses."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    return parsed.set(drivername="postgresql+psycopg_async")


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # SQLite enforces foreign keys only when asked, per connection. WAL lets the
    # API read while a worker writes; busy_timeout makes writers wait, not fail.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_sync_engine(url: str, **kwargs: Any) -> Engine:
    track_routing_changes()
    target = sync_url(url)
    if is_sqlite(target):
        kwargs.setdefault("connect_args", {"check_same_thread": False})
        engine = create_engine(target, **kwargs)
        event.listen(engine, "connect", _configure_sqlite_connection)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(target, **kwargs)


def make_async_engine(url: str, **kwargs: Any) -> AsyncEngine:
    track_routing_changes()
    target = async_url(url)
    if is_sqlite(target):
        # aiosqlite runs each connection in its own thread; pooling them buys
        # little and NullPool avoids sharing one across event loops in tests.
        kwargs.setdefault("poolclass", NullPool)
        engine = create_async_engine(target, **kwargs)
        event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(target, **kwargs)


def async_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Async sessions whose ``run_sync`` hands core rules a SQLModel ``Session``."""
    return async_sessionmaker(
        engine, class_=AsyncSession, sync_session_class=Session, expire_on_commit=False
    )


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back on error.

    The jobs the transaction queued (a routing export, say) go to the broker once
    it has committed, and are dropped with it when it rolls back.
    """
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            take_pending_dispatch(session)
            raise
        # Read after the commit: committing may itself queue jobs (routing exports).
        # Marked as sent in the database they were committed to.
        dispatch(take_pending_dispatch(session), engine)


@asynccontextmanager
async def async_session_scope(sessions: async_sessionmaker[AsyncSession]
                              ) -> AsyncIterator[AsyncSession]:
    """:func:`session_scope` for the API: one transaction, its jobs sent after commit."""
    async with sessions() as session:
        try:
            async with session.begin():
                yield session
        except BaseException:
            take_pending_dispatch(session.sync_session)
            raise
        pending = take_pending_dispatch(session.sync_session)
    if pending:
        # Sending and marking them dispatched block: not on the event loop.
        await anyio.to_thread.run_sync(dispatch, pending)


def one_of(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY(array)``: one parameter
    however many values, so a page's hundreds of keys cost no more to send and plan."""
    if session.get_bind().dialect.name == "postgresql":
        # An expression of no known type (lower(...), say) compares as text.
        item_type = String() if isinstance(column.type, NullType) else column.type
        return column == any_(literal(list(values), ARRAY(item_type)))
    return column.in_(values)
