"""Response headers that make browsers treat the API safely, and production's reticence."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from api.app import create_app
from tests.conftest import make_settings
from workers.broker import install_broker

EXPECTED = {
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'",
}
TYPO = "{ platfrm { version } }"


async def _client(database_url: str, tmp_path: Path, **overrides: object
                  ) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url, tmp_path, **overrides)
    application = create_app(settings)
    try:
        async with LifespanManager(application), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://testserver"
        ) as http:
            yield http
    finally:
        install_broker(make_settings(database_url, tmp_path).broker_url)


@pytest.fixture
async def https_app(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(database_url, tmp_path,
                                public_base_url="https://api.example.net"):
        yield client


@pytest.fixture
async def production_app(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    # Our own Redis database (connected lazily, only if a request needs the budget).
    async for client in _client(database_url, tmp_path, environment="production",
                                broker_url="redis://127.0.0.1:6379/2",
                                public_base_url="https://api.example.net"):
        yield client


async def test_graphql_answers_carry_the_security_headers(client: httpx.AsyncClient):
    for response in (await client.post("/graphql", json={"query": "{ me { id } }"}),
                     await client.post("/graphql", json={"query": "{ nope }"}),
                     await client.get("/healthz")):
        assert {name: response.headers.get(name) for name in EXPECTED} == EXPECTED
        # Plain http: no HSTS (a browser would ignore it, and it would outlive a test setup).
        assert "strict-transport-security" not in response.headers


async def test_https_adds_hsts(https_app: httpx.AsyncClient):
    response = await https_app.post("/graphql", json={"query": "{ me { id } }"})
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


async def test_a_refused_request_carries_them_too(client: httpx.AsyncClient):
    response = await client.post("/graphql", content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                                 headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_suggestions_hint_at_the_schema_only_where_introspection_is_on(
        client: httpx.AsyncClient, production_app: httpx.AsyncClient):
    for query in (TYPO, "{ customers(fist: 1) { totalCount } }",
                  "{ customers(orderBy: {feld: NAME}) { totalCount } }",
                  "query($v: ScopeX) { node(id: $v) { id } }"):
        hinted = (await client.post("/graphql", json={"query": query})).json()
        assert any("Did you mean" in error["message"] for error in hinted["errors"]), hinted
        body = (await production_app.post("/graphql", json={"query": query})).json()
        message = " ".join(error["message"] for error in body["errors"])
        assert "Did you mean" not in message, message
        assert "platform" not in message
