"""GraphiQL: served from the package's own files, pinned, and able to run mutations."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
import pytest

from api.graphiql import ASSETS, VENDORED
from tests.conftest import make_settings

HTML = {"Accept": "text/html"}


def _sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


@pytest.mark.parametrize("key", list(VENDORED))
def test_vendored_files_are_the_pinned_releases(key: str):
    vendored = VENDORED[key]
    assert _sri((ASSETS / "vendor" / vendored.name).read_bytes()) == vendored.integrity


async def test_the_page_loads_only_what_the_api_serves(client: httpx.AsyncClient):
    page = await client.get("/graphql", headers=HTML)
    assert page.status_code == 200
    html = page.text
    assert "unpkg" not in html
    assert "cdn" not in html.lower()
    references = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(references) == 8  # 3 stylesheets and 5 scripts
    assert not re.search(r"<script>(?!</script>)", html), "no inline script"
    for reference in references:
        assert reference.startswith("/graphiql/"), reference
        asset = await client.get(reference)
        assert asset.status_code == 200, reference
        integrity = re.search(rf'"{re.escape(reference)}" integrity="([^"]+)"', html)
        if integrity:  # vendored: the browser checks the bytes against the pinned hash
            assert _sri(asset.content) == integrity.group(1)
            assert "immutable" in asset.headers["cache-control"]


async def test_the_page_sends_the_csrf_header_from_the_cookie(client: httpx.AsyncClient):
    script = (await client.get("/graphiql/graphiql-page.js")).text
    assert '"whv_csrf"' in script
    assert '"X-CSRF-Token"' in script
    assert "fetch: fetchWithCsrf" in script


@pytest.mark.parametrize("path", ["/graphiql/vendor/README.md",
                                  "/graphiql/graphiql.html", "/graphiql/vendor/nothing.js"])
async def test_only_the_listed_files_are_served(client: httpx.AsyncClient, path: str):
    assert (await client.get(path)).status_code == 404


async def test_no_file_outside_the_assets_is_served(client: httpx.AsyncClient):
    # Clients fold the "..", so this asks for /core/settings.py, which only the web
    # console's fallback answers: never with the file.
    response = await client.get("/graphiql/../core/settings.py")
    assert response.status_code != 200 or "pydantic_settings" not in response.text
    assert "class Settings" not in response.text


async def test_no_graphiql_when_it_is_off(database_url: str, tmp_path):
    from asgi_lifespan import LifespanManager

    from api.app import create_app

    app = create_app(make_settings(database_url, tmp_path, graphiql=False))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            assert (await http.get("/graphiql/graphiql-page.js")).status_code == 404
            assert "GraphiQL" not in (await http.get("/graphql", headers=HTML)).text
