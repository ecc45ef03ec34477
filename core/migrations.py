"""Schema migrations with Alembic, driven from code (the CLI, the app, the tests)."""

from __future__ import annotations

import warnings
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

import core.models
from core.database import is_sqlite

SCRIPT_LOCATION = Path(__file__).with_name("alembic")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    # ConfigParser interpolation would choke on a %-encoded password.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database up to ``revision`` (creating the SQLite file if needed)."""
    _run(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    _run(engine, "downgrade", revision)


def _run(engine: Engine, action: str, revision: str) -> None:
    if is_sqlite(engine.url) and engine.url.database:
        Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def is_up_to_date(connection: Connection) -> bool:
    return current_revision(connection) == head_revision()


def schema_differences(connection: Connection) -> list[object]:
    """What autogenerate would change: empty when the database matches the models."""
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "render_as_batch": is_sqlite(connection.engine.url)}
    )
    with warnings.catch_warnings():
        # Expression indexes (lower(email)) cannot be reflected, so they are not compared;
        # the migration tests create them on both databases.
        warnings.filterwarnings("ignore", message=".*expression-based index")
        return compare_metadata(context, core.models.metadata)
