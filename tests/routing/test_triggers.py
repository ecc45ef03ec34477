"""Changes made over GraphQL reach the proxy database by themselves, and their status shows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import dramatiq
import psycopg
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.applications import Starlette

from core.database import session_scope
from core.models import Job
from core.operators import create_platform_operator
from core.routing_changes import EXPORT
from tests.graphql import PASSWORD, Client, SignedUp, sign_up
from tests.routing.rpc_server import FakeProxy

pytestmark = pytest.mark.postgres

ERRORS = "errors { field code message }"
STATUS = """{ routingStatus { inStep pending generation lastError
                proxies { name appliedGeneration lastError database } } }"""
WAIT_SECONDS = 20


@pytest.fixture
async def operator(app: Starlette, engine: Engine) -> AsyncIterator[Client]:
    with session_scope(engine) as session:
        create_platform_operator(session, email="ops@platform.example", password=PASSWORD,
                                 full_name="Op")
    client = Client(app)
    await client.login("ops@platform.example")
    yield client
    await client.close()


@pytest.fixture
async def isp(app: Starlette, engine: Engine) -> AsyncIterator[SignedUp]:
    signed = await sign_up(app, engine, label="trig")
    yield signed
    await signed.client.close()


async def _ok(client: Client, query: str, variables: dict[str, Any] | None = None
              ) -> dict[str, Any]:
    data = await client.execute(query, variables)
    payload = next(iter(data.values()))
    assert payload["errors"] == [], payload["errors"]
    return payload


def _prefixes(url: str) -> list[str]:
    with psycopg.connect(url) as connection:
        if connection.execute("SELECT to_regclass('dr_gateways')").fetchone() == (None,):
            return []
        return [row[0] for row in connection.execute("SELECT pri_prefix FROM dr_gateways")]


async def _until(check: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_a_gateway_change_is_exported_and_reloaded(
        worker: dramatiq.Broker, operator: Client, isp: SignedUp, proxy_database: str,
        rpc: FakeProxy, engine: Engine):
    carrier = (await _ok(isp.client, f"""mutation {{ carrierCreate(input: {{name: "Trunk"}})
        {{ carrier {{ id }} {ERRORS} }} }}"""))["carrier"]
    gateway = (await _ok(isp.client, f"""mutation($c: ID!) {{ gatewayCreate(input: {{
        carrier: $c, address: "192.0.2.10:5070", prefix: "1"}})
        {{ gateway {{ id }} {ERRORS} }} }}""",
                         {"c": carrier["id"]}))["gateway"]
    proxy = (await _ok(operator, f"""mutation($db: String!, $rpc: String!) {{
        sipProxyCreate(input: {{name: "edge-1", databaseUrl: $db, rpcUrl: $rpc}}) {{
        sipProxy {{ id name database enabled appliedGeneration }} {ERRORS} }} }}""",
                       {"db": proxy_database, "rpc": rpc.url}))["sipProxy"]
    assert "postgres@127.0.0.1" in proxy["database"]
    assert proxy["appliedGeneration"] == 0
    await _until(lambda: _prefixes(proxy_database) == ["1"], "the first export")

    rpc.calls.clear()
    await _ok(isp.client, f"""mutation($id: ID!) {{ gatewayUpdate(input: {{id: $id,
        prefix: "2"}}) {{ gateway {{ id }} {ERRORS} }} }}""", {"id": gateway["id"]})
    await _until(lambda: _prefixes(proxy_database) == ["2"], "the change to be exported")
    await _until(lambda: "drouting.reload" in rpc.methods(), "the reload")

    status = (await operator.execute(STATUS))["routingStatus"]
    assert status["proxies"][0]["name"] == "edge-1"
    assert status["generation"] >= 2
    # The ISP learns whether its change is live, not where the proxies are.
    seen_by_isp = (await isp.client.execute(STATUS))["routingStatus"]
    assert seen_by_isp["proxies"] == []
    assert (seen_by_isp["inStep"], seen_by_isp["generation"]) == (status["inStep"], None)
    with Session(engine) as session:
        jobs = session.exec(select(Job).where(Job.kind == EXPORT.kind)).all()
    assert all(job.status.value in ("SUCCEEDED", "QUEUED", "RUNNING") for job in jobs)


async def test_without_proxies_nothing_is_queued(isp: SignedUp, engine: Engine):
    await _ok(isp.client, f"""mutation {{ carrierCreate(input: {{name: "Trunk"}})
        {{ carrier {{ id }} {ERRORS} }} }}""")
    with Session(engine) as session:
        assert session.exec(select(Job).where(Job.kind == EXPORT.kind)).all() == []


async def test_only_platform_operators_manage_proxies(isp: SignedUp, app: Starlette):
    anonymous = Client(app)
    data = await isp.client.execute("""mutation { sipProxyCreate(input: {name: "x",
        databaseUrl: "postgres://k@127.0.0.1/k", rpcUrl: "http://127.0.0.1:5080/RPC"})
        { sipProxy { id } errors { code } } }""")
    assert data["sipProxyCreate"] == {"sipProxy": None, "errors": [{"code": "NOT_PERMITTED"}]}
    data = await isp.client.execute("mutation { routingExport { databases errors { code } } }")
    assert data["routingExport"]["errors"] == [{"code": "NOT_PERMITTED"}]
    assert (await anonymous.execute(STATUS))["routingStatus"] is None
    await anonymous.close()


@pytest.mark.parametrize(("field", "value", "message"), [
    ("databaseUrl", "mysql://k@127.0.0.1/k", "postgres://"),
    ("databaseUrl", "not a url", "database URL"),
    ("rpcUrl", "ftp://127.0.0.1/RPC", "http://"),
    ("name", "", "required"),
])
async def test_bad_proxy_input_is_a_typed_error(operator: Client, field: str, value: str,
                                                message: str):
    values = {"name": "edge", "databaseUrl": "postgres://k@127.0.0.1/k",
              "rpcUrl": "http://127.0.0.1:5080/RPC"} | {field: value}
    data = await operator.execute("""mutation($input: SipProxyCreateInput!) {
        sipProxyCreate(input: $input) { sipProxy { id } errors { field code message } } }""",
                                  {"input": values})
    errors = data["sipProxyCreate"]["errors"]
    assert errors[0]["field"] == [field]
    assert errors[0]["code"] in ("INVALID", "REQUIRED")
    assert message.lower() in errors[0]["message"].lower()
