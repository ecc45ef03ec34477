"""The web console served at /: hashed assets cached for a year, index.html for every
client-side route, explicit API routes still winning, and a how-to page when unbuilt."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from api.app import create_app
from api.console import IMMUTABLE
from tests.conftest import make_settings

INDEX = "<!doctype html><title>console</title><div id=root></div>"


def _build(directory: Path) -> Path:
    """A console build as vite lays it out."""
    (directory / "assets").mkdir(parents=True)
    (directory / "index.html").write_text(INDEX)
    (directory / "assets" / "index-3f2a9c.js").write_text("console.log('app')")
    (directory / "robots.txt").write_text("User-agent: *\nDisallow: /\n")
    return directory


async def _client(
    database_url: str, tmp_path: Path, console_dir: Path
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(database_url, tmp_path, console_dir=console_dir))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@pytest.fixture
async def console(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(database_url, tmp_path, _build(tmp_path / "dist")):
        yield client


@pytest.fixture
async def unbuilt(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(database_url, tmp_path, tmp_path / "missing"):
        yield client


@pytest.mark.parametrize(
    "path", ["/", "/tenants/VGVuYW50OjE=", "/join/complete?token=abc", "/numbers"]
)
async def test_client_side_routes_answer_the_app_uncached_with_a_strict_policy(
    console: httpx.AsyncClient, path: str
):
    response = await console.get(path)

    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_hashed_assets_are_cached_for_a_year(console: httpx.AsyncClient):
    response = await console.get("/assets/index-3f2a9c.js")

    assert response.status_code == 200
    assert response.text == "console.log('app')"
    assert response.headers["cache-control"] == IMMUTABLE
    assert "javascript" in response.headers["content-type"]


async def test_a_missing_asset_is_a_404_not_the_app(console: httpx.AsyncClient):
    response = await console.get("/assets/index-000000.js")

    assert response.status_code == 404
    assert INDEX not in response.text


async def test_nothing_outside_the_build_is_served(console: httpx.AsyncClient, tmp_path: Path):
    (tmp_path / "secret.txt").write_text("do not serve")

    escapes = ("/assets/../../secret.txt", "/assets/%2e%2e/%2e%2e/secret.txt", "/..%2fsecret.txt")
    for path in escapes:
        response = await console.get(path)
        assert "do not serve" not in response.text


async def test_a_top_level_file_of_the_build_is_served_as_itself(console: httpx.AsyncClient):
    response = await console.get("/robots.txt")

    assert response.status_code == 200
    assert response.text.startswith("User-agent")


async def test_explicit_routes_keep_winning(console: httpx.AsyncClient):
    assert (await console.get("/healthz")).text != INDEX
    graphql = await console.post("/graphql", json={"query": "{ me { id } }"})
    assert graphql.json()["data"] == {"me": None}


@pytest.mark.parametrize(
    "path", ["/media/unknown", "/downloads/", "/graphql/extra", "/oauth/nobody/callback"]
)
async def test_unknown_paths_under_api_prefixes_are_404s(console: httpx.AsyncClient, path: str):
    response = await console.get(path)

    assert response.status_code == 404
    assert INDEX not in response.text


async def test_without_a_build_the_root_says_how_to_build_it(unbuilt: httpx.AsyncClient):
    response = await unbuilt.get("/")

    assert response.status_code == 503
    assert "npm ci" in response.text
    assert "Node.js" in response.text
    assert (await unbuilt.get("/healthz")).status_code == 200


@pytest.mark.parametrize(
    "path", ["/signup/complete?token=abc", "/invitation/accept?token=abc", "/login"]
)
async def test_the_emailed_links_open_the_console_once_it_is_built(
    console: httpx.AsyncClient, unbuilt: httpx.AsyncClient, path: str
):
    built = await console.get(path)
    assert built.status_code == 200
    assert built.text == INDEX
    # Without a build, the API's own page completes the step.
    page = await unbuilt.get(path)
    assert page.status_code == 200
    assert "<form" in page.text
    assert page.text != INDEX
