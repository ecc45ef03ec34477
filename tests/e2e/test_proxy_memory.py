"""A proxy too small for its tables: the failed load is reported with Kamailio's reason.

A real Kamailio with little shared memory (``-m 200``; the shipped cfg's hash tables
take 163 MiB of slots before the first row) loads a modest DID table, then the table
grows past what an ``htable.reload`` can hold (it builds the new table beside the old
one). The rows are written straight into the proxy database with COPY, as the sizing
benchmark does: thousands of numbers through GraphQL would only make the test slow.
The control plane's reload then fails; routingStatus and /readyz say so, with "out of
shared memory". The same proxy restarted with more memory catches up and both clear.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette

from core.database import session_scope
from core.models import RoutingChanges, RoutingDatabase, SipProxy
from core.operators import create_platform_operator
from core.routing_changes import export_bookkeeping
from core.secrets import secret_box
from core.settings import Settings
from core.sip_proxies import database_key, shown_url
from routing_export import exporter
from routing_export.tables import create_tables
from tests.e2e.proxy import running_proxy
from tests.graphql import PASSWORD, Client

SMALL_SHM_MB = 200
STATUS = "{ routingStatus { inStep proxies { name appliedGeneration lastError } } }"


def _add_dids(url: str, start: int, count: int) -> None:
    with psycopg.connect(url) as connection, connection.cursor().copy(
            "COPY htable_did (key_name, key_type, value_type, key_value, expires) "
            "FROM STDIN") as copy:
        for n in range(start, start + count):
            copy.write_row((f"+1209{n:07d}", 0, 0, f"user{n:07d}@t{n // 100}.example.net", 0))


@pytest.fixture
async def operator(app: Starlette, engine: Engine) -> AsyncIterator[Client]:
    with session_scope(engine) as session:
        create_platform_operator(session, email="ops@platform.example", password=PASSWORD,
                                 full_name="Op")
    client = Client(app)
    await client.login("ops@platform.example")
    yield client
    await client.close()


async def _readyz(app: Starlette) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer: dict[str, Any] = (await client.get("/readyz")).json()
    return answer


async def test_a_table_too_big_for_the_proxys_memory_is_reported_until_it_has_more(
        app: Starlette, engine: Engine, settings: Settings, operator: Client,
        proxy_database: str, tmp_path: Path):
    with psycopg.connect(proxy_database) as connection:
        create_tables(connection)
    _add_dids(proxy_database, 0, 20_000)
    box = secret_box(settings.secret_key_bytes())
    with running_proxy(proxy_database, tmp_path / "small", shm_mb=SMALL_SHM_MB) as proxy:
        with session_scope(engine) as session:
            row = SipProxy(name="edge-1", database_url_encrypted=box.encrypt(proxy_database),
                           database_display=shown_url(proxy_database),
                           database_key=database_key(proxy_database), rpc_url=proxy.rpc_url)
            session.add(row)
            session.flush()
            session.expunge(row)
        with session_scope(engine) as session:
            # As the export records it: generation 1 (the grown table) covers every change
            # requested so far; the proxy is to load it.
            export_bookkeeping(session)
            changes = session.get(RoutingChanges, 1)
            session.add(RoutingDatabase(key=row.database_key, generation=1,
                                        covered_request=changes.requested if changes else 0))
        _add_dids(proxy_database, 20_000, 400_000)

        outcome = exporter.reload_proxy(engine, row, [("htable.reload", ("did",))], 1)

        assert outcome.error is not None
        assert outcome.error.startswith(
            "htable.reload(did): Htable reload failed: out of shared memory ("), outcome.error
        figures = re.search(r"\(now (\d+) MiB free of (\d+) MiB, peak (\d+) MiB\)",
                            outcome.error)
        assert figures is not None, outcome.error
        # The allocator's own structures come off -m; the peak reached the top.
        free, total, peak = (int(figure) for figure in figures.groups())
        assert free < total <= SMALL_SHM_MB <= peak + 5
        # The proxy still serves the table it had.
        assert proxy.rpc("htable.get", "did", "+12090000001")["result"]["item"]["value"] \
            == "user0000001@t0.example.net"
        status = (await operator.execute(STATUS))["routingStatus"]
        assert status == {"inStep": False, "proxies": [
            {"name": "edge-1", "appliedGeneration": 0, "lastError": outcome.error}]}
        ready = await _readyz(app)
        assert ready["status"] == "degraded"
        assert ready["proxies"] == {"edge-1": f"reload failed: {outcome.error}"}

    # Restarted where it was with the shipped memory: the next catch-up loads everything.
    with running_proxy(proxy_database, tmp_path / "big", sip_port=proxy.sip_port,
                       rpc_port=proxy.rpc_port) as bigger:
        outcomes = exporter.catch_up(engine, box, row.database_key)
        assert [(o.name, o.error) for o in outcomes] == [("edge-1", None)]
        assert bigger.rpc("htable.get", "did", "+12090219999")["result"]["item"]["value"] \
            == "user0219999@t2199.example.net"
        status = (await operator.execute(STATUS))["routingStatus"]
        assert status == {"inStep": True, "proxies": [
            {"name": "edge-1", "appliedGeneration": 1, "lastError": None}]}
        assert (await _readyz(app))["proxies"] == {"edge-1": "ok"}
