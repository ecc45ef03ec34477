"""Fixtures of the routing-export tests: a proxy database and a proxy's RPC endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import create_postgres_database, drop_postgres_database
from tests.routing.rpc_server import FakeProxy, fake_proxy


@pytest.fixture
def proxy_database() -> Iterator[str]:
    """An empty PostgreSQL database of the proxies' own (URL in libpq form)."""
    url = create_postgres_database().replace("postgresql+psycopg://", "postgresql://")
    yield url
    drop_postgres_database(url)


@pytest.fixture
def rpc() -> Iterator[FakeProxy]:
    with fake_proxy() as proxy:
        yield proxy
