"""The app over HTTP: health, readiness, the GraphQL endpoint and its settings."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from api.app import create_app
from core.database import make_sync_engine
from core.settings import Settings
from core.version import product_version
from tests import services
from tests.conftest import TEST_BASE_DOMAIN, make_settings


async def _get(settings: Settings, path: str, **kwargs: object) -> httpx.Response:
    """One request against a freshly started app with these settings."""
    app = create_app(settings)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get(path, **kwargs)


async def test_healthz(client: httpx.AsyncClient):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_when_migrated(client: httpx.AsyncClient):
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "broker": "ok",
                               "proxies": {}}


async def test_readyz_refuses_an_unmigrated_database(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    make_sync_engine(url).connect().close()  # the file exists, the schema does not
    response = await _get(make_settings(url, tmp_path), "/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "not migrated"}


async def test_readyz_reports_an_unreachable_database(tmp_path: Path):
    url = "postgresql://nobody@127.0.0.1:1/nothing"
    response = await _get(make_settings(url, tmp_path), "/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


async def test_platform_query(client: httpx.AsyncClient):
    response = await client.post("/graphql", json={"query": "{ platform { version baseDomain } }"})
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body
    assert body["data"] == {
        "platform": {"version": product_version(), "baseDomain": TEST_BASE_DOMAIN}}


async def test_invalid_query_is_a_graphql_error_not_a_crash(client: httpx.AsyncClient):
    response = await client.post("/graphql", json={"query": "{ platform { nope } }"})
    body = response.json()
    assert body["data"] is None
    assert "Cannot query field 'nope'" in body["errors"][0]["message"]


async def test_queries_are_not_accepted_over_get(client: httpx.AsyncClient):
    # GET requests are cacheable and loggable; keep operations in POST bodies.
    response = await client.get("/graphql", params={"query": "{ platform { version } }"})
    assert response.status_code in {400, 405}


@pytest.mark.parametrize(("enabled", "served"), [(True, True), (False, False)])
async def test_graphiql_follows_the_setting(
    database_url: str, tmp_path: Path, enabled: bool, served: bool
):
    settings = make_settings(database_url, tmp_path, graphiql=enabled)
    response = await _get(settings, "/graphql", headers={"Accept": "text/html"})
    assert ("graphiql" in response.text.lower()) is served


async def test_cors_allows_only_configured_origins(database_url: str, tmp_path: Path):
    settings = make_settings(database_url, tmp_path, cors_origins="https://app.example.com")
    headers = {"Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "content-type, x-csrf-token"}
    app = create_app(settings)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            allowed = await c.options(
                "/graphql", headers=headers | {"Origin": "https://app.example.com"}
            )
            refused = await c.options(
                "/graphql", headers=headers | {"Origin": "https://evil.example"}
            )
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "x-csrf-token" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-origin" not in refused.headers


def test_suite_targets_the_configured_database(database_url: str):
    # Guards the CI run on PostgreSQL from silently testing SQLite.
    assert database_url.startswith(
        "postgresql" if services.TEST_DATABASE == "postgresql" else "sqlite"
    )
