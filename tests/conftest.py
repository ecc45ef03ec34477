"""Fixtures shared by the whole suite: a clean database per test, settings, the app."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import dramatiq
import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session
from starlette.applications import Starlette

from api.app import create_app
from core import migrations, passwords
from core.database import make_sync_engine
from core.settings import Settings
from tests import services
from tests.mailbox import Mailbox

TEST_SECRET_KEY = "11" * 32
TEST_BASE_DOMAIN = "wehostvoip.test"


def pytest_configure(config: pytest.Config) -> None:
    # Accounts made without an app (factories, core tests) are hashed cheaply too.
    passwords.use_cost(passwords.PasswordHashCost.MINIMAL)
    if services.TEST_DATABASE not in {"sqlite", "postgresql"}:
        raise pytest.UsageError("WEHOSTVOIP_TEST_DATABASE must be sqlite or postgresql")
    if services.TEST_BROKER not in {"stub", "redis"}:
        raise pytest.UsageError("WEHOSTVOIP_TEST_BROKER must be stub or redis")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # When the whole suite runs on PostgreSQL or Redis, every test depends on them.
    for item in items:
        if services.TEST_DATABASE == "postgresql" and "database_url" in item.fixturenames:
            item.add_marker(pytest.mark.postgres)
        if services.TEST_BROKER == "redis" and "settings" in item.fixturenames:
            item.add_marker(pytest.mark.redis)


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in services.SERVICE_MARKERS:
        if item.get_closest_marker(marker) is None:
            continue
        problem = services.service_problem(marker)
        if problem is None:
            continue
        if services.REQUIRE_SERVICES:
            pytest.fail(
                f"{marker} is required here (WEHOSTVOIP_TEST_REQUIRE_SERVICES=1): {problem}"
            )
        pytest.skip(f"needs {marker}: {problem}")


# Databases ------------------------------------------------------------------


def _postgres_admin_engine() -> Engine:
    return make_sync_engine(services.POSTGRES_URL, isolation_level="AUTOCOMMIT")


def create_postgres_database() -> str:
    """A new, empty PostgreSQL database on the test server; returns its URL."""
    name = f"wehostvoip_test_{uuid.uuid4().hex[:12]}"
    admin = _postgres_admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(services.POSTGRES_URL).set(database=name).render_as_string(False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    admin = _postgres_admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def migrate_to_head(url: str) -> None:
    engine = make_sync_engine(url)
    migrations.upgrade(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to head once per run, which each test starts from."""
    if services.TEST_DATABASE == "postgresql":
        problem = services.postgres_problem()
        if problem:
            pytest.fail(problem) if services.REQUIRE_SERVICES else pytest.skip(problem)
        url = create_postgres_database()
        migrate_to_head(url)
        yield url
        drop_postgres_database(url)
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        migrate_to_head(f"sqlite:///{path}")
        yield str(path)


def _truncate_all(url: str) -> None:
    from core.models import metadata

    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    engine = make_sync_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


def fresh_database(template_database: str, tmp_path: Path) -> str:
    """A clean, migrated database (a copy of the template file, or the emptied one)."""
    if services.TEST_DATABASE == "postgresql":
        _truncate_all(template_database)
        return template_database
    path = tmp_path / "wehostvoip.db"
    shutil.copyfile(template_database, path)
    return f"sqlite:///{path}"


@pytest.fixture
def database_url(template_database: str, tmp_path: Path) -> str:
    """The URL of a clean, migrated database for this test alone."""
    return fresh_database(template_database, tmp_path)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_sync_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


# Settings and the app -----------------------------------------------------------


def make_settings(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "broker_url": services.REDIS_URL if services.TEST_BROKER == "redis" else "stub://",
        "secret_keys": TEST_SECRET_KEY,
        "base_domain": TEST_BASE_DOMAIN,
        "public_base_url": "http://testserver",
        # No web console unless a test builds one: CI builds web/dist beside the suite.
        "console_dir": data_dir / "no-console",
    }
    if overrides.get("environment") != "production":
        # Tests sign up and log in thousands of times: cheap hashes (refused in production).
        values["password_hash_cost"] = "minimal"
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on loopback that keeps what it receives."""
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture
def worker(settings: Settings) -> Iterator[dramatiq.Broker]:
    """A dramatiq worker on the suite's broker whose actors use this test's database."""
    from workers import context
    from workers.broker import install_broker
    from workers.runtime import start_worker, stop_worker

    context.configure(settings)
    broker = install_broker(settings.broker_url)
    broker.flush_all()  # nothing left over from an earlier test
    running = start_worker(broker, threads=2)
    yield broker
    stop_worker(running)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


# A live service -------------------------------------------------------------------


@pytest.fixture
def running_service(database_url: str, mailbox: Mailbox, tmp_path: Path) -> Iterator[str]:
    """`wehostvoip serve` (and a worker when on Redis) on the test database; yields its URL."""
    from tests.cli.test_cli import free_port, wait_for_http

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEHOSTVOIP_")} | {
        "WEHOSTVOIP_DATABASE_URL": database_url,
        "WEHOSTVOIP_DATA_DIR": str(tmp_path / "var"),
        "WEHOSTVOIP_SECRET_KEYS": TEST_SECRET_KEY,
        "WEHOSTVOIP_BASE_DOMAIN": "wehostvoip.test",
        "WEHOSTVOIP_PUBLIC_BASE_URL": base,
        "WEHOSTVOIP_SMTP_HOST": "127.0.0.1",
        "WEHOSTVOIP_SMTP_PORT": str(mailbox.port),
        "WEHOSTVOIP_SMTP_STARTTLS": "false",
        "WEHOSTVOIP_BROKER_URL": services.REDIS_URL if services.TEST_BROKER == "redis"
        else "stub://",
    }
    commands = [["serve", "--port", str(port)]]
    if services.TEST_BROKER == "redis":
        commands.append(["worker", "--threads", "2"])
    processes = [
        subprocess.Popen([sys.executable, "-m", "cli", *command], cwd=tmp_path, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for command in commands
    ]
    try:
        wait_for_http(f"{base}/healthz")
        yield base
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            _, errors = process.communicate(timeout=40)
            assert process.returncode == 0, errors
