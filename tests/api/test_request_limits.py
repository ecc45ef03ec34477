"""Request bodies: a size limit per kind, and JSON whose nesting is not trusted."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette

from api.request_limits import MAX_JSON_DEPTH
from tests.graphql import sign_up

ME = "{ me { id } }"
JSON = {"Content-Type": "application/json"}


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


async def test_deeply_nested_json_is_a_bad_request_not_a_crash(client: httpx.AsyncClient):
    for depth in (3_000, 100_000, MAX_JSON_DEPTH + 5):
        body = f'{{"query": "{ME}", "variables": {{"a": {_nested(depth)}}}}}'
        response = await client.post("/graphql", content=body, headers=JSON)
        assert response.status_code == 400, (depth, response.text)
    # Nesting a request needs is fine.
    body = f'{{"query": "{ME}", "variables": {{"a": {_nested(10)}}}}}'
    response = await client.post("/graphql", content=body, headers=JSON)
    assert response.status_code == 200
    assert response.json()["data"] == {"me": None}


async def test_a_body_over_the_limit_is_refused_before_it_runs(client: httpx.AsyncClient):
    search = "x" * (5 * 1024 * 1024)
    body = json.dumps({"query": "query($s: String) { customers(filter: {search: $s}) "
                                "{ totalCount } }", "variables": {"s": search}})
    response = await client.post("/graphql", content=body, headers=JSON)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"


async def test_a_streamed_body_without_a_length_is_counted(client: httpx.AsyncClient):
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ me { id } }", "variables": {"s": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}}'

    response = await client.post("/graphql", content=chunks(), headers=JSON)
    assert "content-length" not in response.request.headers
    assert response.status_code == 413


async def test_a_long_string_under_the_body_limit_is_a_typed_refusal(
        client: httpx.AsyncClient):
    body = json.dumps({"query": "query($s: String) { customers(filter: {search: $s}) "
                                "{ totalCount } }", "variables": {"s": "x" * 200_000}})
    response = await client.post("/graphql", content=body, headers=JSON)
    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_TEXT"


async def test_uploads_have_their_own_larger_limit(app: Starlette, engine: Engine):
    isp = await sign_up(app, engine, label="upl")
    csv = b"e164\n" + b"+12025550100\n" * (2 * 1024 * 1024 // 13)  # 2 MiB: over the JSON limit
    response = await isp.client.post(
        "mutation($input: NumberImportInput!) { numberImport(input: $input) "
        "{ job { id } errors { code } } }", {"input": {"file": None}},
        files={"input__file": ("numbers.csv", csv, "text/csv")})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["numberImport"]["errors"] == []
    await isp.client.close()


async def test_a_client_that_hangs_up_mid_body_is_no_server_error(
        app: Starlette, caplog: pytest.LogCaptureFixture):
    # What uvicorn hands the app when a browser cancels a POST while it is sent.
    messages = [{"type": "http.request", "body": b'{"query": "{ me', "more_body": True},
                {"type": "http.disconnect"}]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/graphql", "raw_path": b"/graphql",
             "query_string": b"", "root_path": "", "server": ("testserver", 80),
             "client": ("127.0.0.1", 50000),
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")]}
    with caplog.at_level(logging.DEBUG, logger="api.client_disconnect"):
        await app(scope, receive, send)  # raised ClientDisconnect before
    assert not [message for message in sent if message["type"] == "http.response.start"]
    assert [record.levelno for record in caplog.records
            if record.name == "api.client_disconnect"] == [logging.DEBUG]
