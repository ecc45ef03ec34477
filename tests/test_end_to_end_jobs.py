"""Following a job over a real WebSocket (graphql-transport-ws) to a running service."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import Engine
from websockets.exceptions import ConnectionClosed, InvalidStatus

from core.database import session_scope
from core.operators import create_platform_operator
from tests.graphql import LOGIN, PASSWORD

PROTOCOL = "graphql-transport-ws"
PROGRESS = """subscription($id: ID!) {
  jobProgress(id: $id) { status progress { done total } attempts }
}"""


def _operator_session(engine: Engine, base: str) -> tuple[httpx.Client, str]:
    """A platform operator logged in over HTTP; returns their client and CSRF token."""
    with session_scope(engine) as session:
        create_platform_operator(session, email="ops@platform.example", password=PASSWORD,
                                 full_name="Op Erator")
    client = httpx.Client(base_url=base, timeout=30)
    body = client.post("/graphql", json={"query": LOGIN, "variables": {
        "email": "ops@platform.example", "password": PASSWORD}}).json()
    return client, body["data"]["login"]["csrfToken"]


def _start_selftest(client: httpx.Client, csrf: str, steps: int) -> str:
    body = client.post("/graphql", headers={"X-CSRF-Token": csrf}, json={"query": """
        mutation($steps: Int!) { platformSelfTest(input: {steps: $steps, stepSeconds: 0.3}) {
          job { id status } errors { code message } } }""", "variables": {"steps": steps}}).json()
    payload = body["data"]["platformSelfTest"]
    assert payload["errors"] == [], payload
    return payload["job"]["id"]


def _ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/graphql"


async def _follow(base: str, job_id: str, headers: dict[str, str],
                  init: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every message of a jobProgress subscription until it completes."""
    async with websockets.connect(_ws_url(base), subprotocols=[PROTOCOL],
                                  additional_headers=headers, open_timeout=10) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": init or {}}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": PROGRESS, "variables": {"id": job_id}}}))
        messages = []
        while True:
            message = json.loads(await socket.recv())
            messages.append(message)
            if message["type"] in {"complete", "error"}:
                return messages


async def test_progress_streams_until_the_job_ends(running_service: str, engine: Engine):
    client, csrf = _operator_session(engine, running_service)
    job_id = _start_selftest(client, csrf, steps=5)
    cookie = f"whv_session={client.cookies['whv_session']}"
    messages = await _follow(running_service, job_id,
                             {"Cookie": cookie, "Origin": running_service})
    updates = [m["payload"]["data"]["jobProgress"] for m in messages if m["type"] == "next"]
    assert messages[-1]["type"] == "complete"
    assert updates[-1] == {"status": "SUCCEEDED", "progress": {"done": 5, "total": 5},
                           "attempts": 1}
    done = [update["progress"]["done"] for update in updates]
    assert done == sorted(done)
    assert len(updates) >= 3  # intermediate progress was streamed, not only the end


async def test_a_bearer_token_in_connection_init_authenticates(running_service: str,
                                                               engine: Engine):
    client, csrf = _operator_session(engine, running_service)
    token = client.post("/graphql", headers={"X-CSRF-Token": csrf}, json={
        "query": 'mutation { apiTokenCreate(input: {name: "ws"}) { token } }'}
    ).json()["data"]["apiTokenCreate"]["token"]
    job_id = _start_selftest(client, csrf, steps=1)
    messages = await _follow(running_service, job_id, {},
                             init={"Authorization": f"Bearer {token}"})
    assert messages[-2]["payload"]["data"]["jobProgress"]["status"] == "SUCCEEDED"


async def test_anonymous_subscribers_see_no_job(running_service: str, engine: Engine):
    client, csrf = _operator_session(engine, running_service)
    job_id = _start_selftest(client, csrf, steps=1)
    messages = await _follow(running_service, job_id, {})
    # The subscription starts, finds nothing the viewer may see, and ends with the error.
    errors = [m["payload"]["errors"] for m in messages if m["type"] == "next"]
    assert errors == [[{"message": "job not found", "extensions": {"code": "NOT_FOUND"}}]]
    assert messages[-1]["type"] == "complete"


async def test_foreign_origins_are_refused_at_the_handshake(running_service: str,
                                                             engine: Engine):
    client, _ = _operator_session(engine, running_service)
    cookie = f"whv_session={client.cookies['whv_session']}"
    headers = {"Cookie": cookie, "Origin": "https://evil.example"}
    with pytest.raises(InvalidStatus) as refused:
        await websockets.connect(_ws_url(running_service), subprotocols=[PROTOCOL],
                                 additional_headers=headers, open_timeout=10)
    assert refused.value.response.status_code == 403


async def _legacy_handshake(base: str) -> None:
    async with websockets.connect(_ws_url(base), subprotocols=["graphql-ws"],
                                  open_timeout=10) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        await socket.recv()


async def test_the_legacy_protocol_is_off(running_service: str):
    with pytest.raises((InvalidStatus, ConnectionClosed)):
        await _legacy_handshake(running_service)
