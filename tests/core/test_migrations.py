"""Migrations go up, down and up again, and end exactly where the models are."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect

from core import migrations
from core.database import make_sync_engine
from core.models import metadata
from tests.conftest import create_postgres_database, drop_postgres_database


@pytest.fixture
def empty_sqlite(tmp_path: Path) -> Iterator[Engine]:
    engine = make_sync_engine(f"sqlite:///{tmp_path / 'fresh' / 'migrate.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def empty_postgres() -> Iterator[Engine]:
    url = create_postgres_database()
    engine = make_sync_engine(url)
    yield engine
    engine.dispose()
    drop_postgres_database(url)


def _assert_round_trip(engine: Engine) -> None:
    migrations.upgrade(engine)
    _assert_matches_models(engine)

    migrations.downgrade(engine, "base")
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) == {"alembic_version"}
        assert migrations.current_revision(connection) is None

    migrations.upgrade(engine)
    _assert_matches_models(engine)


def _assert_matches_models(engine: Engine) -> None:
    with engine.connect() as connection:
        assert migrations.is_up_to_date(connection)
        assert migrations.schema_differences(connection) == []
        tables = set(inspect(connection).get_table_names())
    assert set(metadata.tables) <= tables


def test_round_trip_on_sqlite(empty_sqlite: Engine):
    _assert_round_trip(empty_sqlite)


@pytest.mark.postgres
def test_round_trip_on_postgresql(empty_postgres: Engine):
    _assert_round_trip(empty_postgres)


def test_upgrade_is_idempotent(empty_sqlite: Engine):
    migrations.upgrade(empty_sqlite)
    migrations.upgrade(empty_sqlite)
    with empty_sqlite.connect() as connection:
        assert migrations.current_revision(connection) == migrations.head_revision()


def test_there_is_exactly_one_head():
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrations.alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
