"""What operators see: /metrics, structured logs without secrets, and /readyz's report."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import Engine
from starlette.applications import Starlette

from api.app import create_app
from core.database import session_scope
from core.logs import JsonFormatter, RedactSecrets, redact
from core.models import SipProxy
from core.secrets import secret_box
from tests.conftest import make_settings
from tests.graphql import PASSWORD, sign_up
from tests.routing.rpc_server import fake_proxy


async def test_metrics_are_served_to_loopback_scrapers(client: httpx.AsyncClient):
    await client.get("/healthz")
    response = await client.get("/metrics")

    assert response.status_code == 200
    body = response.text
    assert 'wehostvoip_http_requests_total{method="GET",route="/healthz",status="200"}' in body
    assert "wehostvoip_email_outbox_depth" in body
    assert "wehostvoip_jobs" in body


async def test_metrics_need_the_token_when_one_is_set(database_url: str, tmp_path: Path):
    settings = make_settings(database_url, tmp_path, metrics_token="scrape-" + "x" * 24)
    app = create_app(settings)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/metrics")).status_code == 404
            wrong = {"Authorization": "Bearer nope"}
            assert (await client.get("/metrics", headers=wrong)).status_code == 404
            right = {"Authorization": "Bearer scrape-" + "x" * 24}
            assert (await client.get("/metrics", headers=right)).status_code == 200


async def test_metrics_are_not_served_to_other_hosts(app: Starlette):
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 4711))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/metrics")).status_code == 404


async def test_graphql_operations_are_counted_by_name(app: Starlette, engine: Engine,
                                                      client: httpx.AsyncClient):
    owner = await sign_up(app, engine, label="metrics")
    await owner.client.execute("query ShowPlatform { platform { version } }")
    body = (await client.get("/metrics")).text
    assert ('wehostvoip_graphql_operations_total{operation="ShowPlatform",outcome="ok",'
            'type="query"}') in body
    await owner.client.close()


async def test_the_request_id_is_returned_and_logged(client: httpx.AsyncClient,
                                                     caplog: pytest.LogCaptureFixture):
    response = await client.get("/healthz", headers={"X-Request-ID": "req-12345678"})
    assert response.headers["X-Request-ID"] == "req-12345678"
    generated = (await client.get("/healthz")).headers["X-Request-ID"]
    assert len(generated) >= 16


def test_json_records_carry_the_context_and_no_secrets():
    from core.logs import log_context

    record = logging.LogRecord("t", logging.INFO, __file__, 1,
                               "login with password=%s and Bearer whv_abcdefghijkl",
                               ("hunter2",), None)
    with log_context(request_id="req-1", viewer_id="v-1"):
        RedactSecrets().filter(record)
    entry = json.loads(JsonFormatter().format(record))

    assert entry["request_id"] == "req-1"
    assert entry["viewer_id"] == "v-1"
    assert "hunter2" not in entry["message"]
    assert "whv_abcdefghijkl" not in entry["message"]


@pytest.mark.parametrize("text", [
    "refresh_token=1//0gAbCdEf", '{"sip_password": "S3cret-Sip"}', "csrf_token: 0123456789abcdef",
    "GET /oauth/google/callback?code=4/0AX&state=Zq1", "postgres://kam:dbpass@db/kamailio",
    "Authorization: Bearer abc.def.ghi",
])
def test_redaction_hides_each_kind_of_secret(text: str):
    for secret in ("1//0gAbCdEf", "S3cret-Sip", "0123456789abcdef", "4/0AX", "Zq1", "dbpass",
                   "abc.def.ghi"):
        assert secret not in redact(text)


async def test_readyz_reports_proxies_and_stays_up_when_one_is_down(
        database_url: str, tmp_path: Path, engine: Engine):
    settings = make_settings(database_url, tmp_path)
    box = secret_box(settings.secret_key_bytes())
    with fake_proxy() as up:
        with session_scope(engine) as session:
            for name, url in (("edge-up", up.url), ("edge-down", "http://127.0.0.1:9/RPC")):
                session.add(SipProxy(name=name, database_url_encrypted=box.encrypt("x"),
                                     database_display="x", database_key="k", rpc_url=url))
        app = create_app(settings)
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["proxies"] == {"edge-down": "unreachable", "edge-up": "ok"}


async def test_readyz_reports_a_proxy_that_failed_to_load_a_table(
        database_url: str, tmp_path: Path, engine: Engine):
    settings = make_settings(database_url, tmp_path)
    box = secret_box(settings.secret_key_bytes())
    reason = ("htable.reload(did): Htable reload failed: out of shared memory (now 33 MiB free "
              "of 199 MiB, peak 203 MiB)")
    with fake_proxy() as up:
        with session_scope(engine) as session:
            session.add(SipProxy(name="edge-1", database_url_encrypted=box.encrypt("x"),
                                 database_display="x", database_key="k", rpc_url=up.url,
                                 last_error=reason))
        app = create_app(settings)
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["proxies"] == {"edge-1": f"reload failed: {reason}"}


async def test_readyz_reports_an_unreachable_broker(database_url: str, tmp_path: Path):
    settings = make_settings(database_url, tmp_path)
    app = create_app(settings)
    async with LifespanManager(app):
        app.state.settings = settings.model_copy(update={"broker_url": "redis://127.0.0.1:9/0"})
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["broker"] == "unreachable"
    assert response.json()["status"] == "degraded"


__all__ = ["PASSWORD"]
