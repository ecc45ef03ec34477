"""Fixtures for tests that drive the GraphQL API as its users would.

``isp_a`` and ``isp_b`` are ISPs signed up through the API (``alpha`` and
``bravo``), each with its owner logged in on a client of its own. Signing up
is a dozen requests, so on SQLite it happens once per run: the first test that
asks for a combination of them signs them up, through GraphQL, in a copy of the
migrated template, and every test that asks for the same combination starts
from a copy of that file, with the owners' session cookies. The database a test
gets is the same as if it had signed them up itself (same rows, same session),
only made earlier. On PostgreSQL, where a test's database is the emptied
template, they are signed up in each test as before.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import closing
from dataclasses import dataclass
from http.cookiejar import Cookie
from pathlib import Path

import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import Engine, update
from starlette.applications import Starlette

from api.app import create_app
from core.database import make_sync_engine
from core.models import AuthSession, utcnow
from tests import services
from tests.conftest import fresh_database, make_settings
from tests.graphql import Client, SignedUp, sign_up

# The fixtures that are signed-up ISPs, and their labels, in sign-up order.
SIGNED_UP_FIXTURES = {"isp_a": "alpha", "isp_b": "bravo"}


@dataclass(frozen=True)
class SignedUpRecord:
    """What a test needs of an ISP signed up in a template: ids, login cookies."""

    email: str
    isp_id: str
    administrator_id: str
    grant_id: str
    csrf_token: str
    cookies: tuple[Cookie, ...]


class SignedUpTemplates:
    """Template files with ISPs already signed up, made on first use per combination."""

    def __init__(self, template_database: str, directory: Path) -> None:
        self._template = template_database
        self._directory = directory
        self._made: dict[tuple[str, ...], tuple[Path, dict[str, SignedUpRecord]]] = {}

    def get(self, labels: tuple[str, ...]) -> tuple[Path, dict[str, SignedUpRecord]]:
        if labels not in self._made:
            name = f"signed-up-{'-'.join(labels)}"
            work = self._directory / f"{name}.work.db"
            shutil.copyfile(self._template, work)
            records: dict[str, SignedUpRecord] = {}
            # In a thread: the test asking may already be inside an event loop.
            worker = threading.Thread(
                target=lambda: asyncio.run(self._sign_up(work, labels, records)))
            worker.start()
            worker.join()
            assert set(records) == set(labels), "signing up the template's ISPs failed"
            # SQLite's online backup reads through the write-ahead log: one file with
            # every committed row, which a plain copy of the main file may not be.
            path = self._directory / f"{name}.db"
            with closing(sqlite3.connect(work)) as source, \
                    closing(sqlite3.connect(path)) as target:
                source.backup(target)
            self._made[labels] = (path, records)
        return self._made[labels]

    async def _sign_up(self, path: Path, labels: tuple[str, ...],
                       records: dict[str, SignedUpRecord]) -> None:
        url = f"sqlite:///{path}"
        engine = make_sync_engine(url)
        app = create_app(make_settings(url, self._directory / "data", broker_url="stub://"))
        try:
            async with LifespanManager(app):
                for label in labels:
                    signed = await sign_up(app, engine, label=label)
                    assert signed.client.csrf_token
                    records[label] = SignedUpRecord(
                        email=signed.email, isp_id=signed.isp_id,
                        administrator_id=signed.administrator_id, grant_id=signed.grant_id,
                        csrf_token=signed.client.csrf_token,
                        cookies=tuple(signed.client.http.cookies.jar))
                    await signed.client.close()
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def signed_up_templates(template_database: str,
                        tmp_path_factory: pytest.TempPathFactory) -> SignedUpTemplates:
    return SignedUpTemplates(template_database, tmp_path_factory.mktemp("signed-up"))


@pytest.fixture
def signed_up_records(request: pytest.FixtureRequest, template_database: str,
                      signed_up_templates: SignedUpTemplates,
                      tmp_path: Path) -> dict[str, SignedUpRecord] | None:
    """The ISPs already in this test's database (None: the fixtures sign them up)."""
    labels = tuple(label for name, label in SIGNED_UP_FIXTURES.items()
                   if name in request.fixturenames)
    if not labels or services.TEST_DATABASE != "sqlite":
        return None
    path, records = signed_up_templates.get(labels)
    copy = tmp_path / "wehostvoip.db"
    shutil.copyfile(path, copy)
    # As if they had just signed up: their sessions were last used now, not when the
    # template was made (a session older than a minute is touched by its next request).
    engine = make_sync_engine(f"sqlite:///{copy}")
    with engine.begin() as connection:
        connection.execute(update(AuthSession).values(last_seen_at=utcnow()))
    engine.dispose()
    return records


@pytest.fixture
def database_url(template_database: str, tmp_path: Path,
                 signed_up_records: dict[str, SignedUpRecord] | None) -> str:
    """A clean, migrated database for this test, with isp_a / isp_b in it when asked for."""
    if signed_up_records is not None:
        return f"sqlite:///{tmp_path / 'wehostvoip.db'}"
    return fresh_database(template_database, tmp_path)


async def _signed_up(label: str, app: Starlette, engine: Engine,
                     records: dict[str, SignedUpRecord] | None) -> SignedUp:
    if records is None:
        return await sign_up(app, engine, label=label)
    record = records[label]
    client = Client(app)
    for cookie in record.cookies:
        client.http.cookies.jar.set_cookie(cookie)
    client.csrf_token = record.csrf_token
    return SignedUp(client=client, email=record.email, isp_id=record.isp_id,
                    administrator_id=record.administrator_id, grant_id=record.grant_id,
                    engine=engine)


@pytest.fixture
async def anonymous(app: Starlette) -> AsyncIterator[Client]:
    client = Client(app)
    yield client
    await client.close()


@pytest.fixture
async def isp_a(app: Starlette, engine: Engine,
                signed_up_records: dict[str, SignedUpRecord] | None) -> AsyncIterator[SignedUp]:
    signed = await _signed_up("alpha", app, engine, signed_up_records)
    yield signed
    await signed.client.close()


@pytest.fixture
async def isp_b(app: Starlette, engine: Engine,
                signed_up_records: dict[str, SignedUpRecord] | None) -> AsyncIterator[SignedUp]:
    signed = await _signed_up("bravo", app, engine, signed_up_records)
    yield signed
    await signed.client.close()
