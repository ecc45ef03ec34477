"""Whose address a request comes from: X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.app import create_app
from core.database import session_scope
from core.models import AuditEvent
from core.operators import create_platform_operator
from core.settings import Settings
from tests.conftest import make_settings
from tests.graphql import LOGIN, PASSWORD

EMAIL = "ops@platform.example"


@pytest.fixture
def operator(engine: Engine) -> str:
    with session_scope(engine) as session:
        create_platform_operator(session, email=EMAIL, password=PASSWORD, full_name="Op")
    return EMAIL


def _login_addresses(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent.client_address).where(
            AuditEvent.action == "administrator.login").order_by(AuditEvent.occurred_at)))


async def _login_through(settings: Settings, forwarded_for: str) -> None:
    """A login from a loopback connection that claims to forward another client."""
    application = create_app(settings)
    async with LifespanManager(application), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application, client=("127.0.0.1", 40000)),
        base_url="http://testserver",
    ) as http:
        response = await http.post("/graphql", json={
            "query": LOGIN, "variables": {"email": EMAIL, "password": PASSWORD}},
            headers={"X-Forwarded-For": forwarded_for})
    assert response.json()["data"]["login"]["errors"] == []


async def test_nobody_is_trusted_by_default_not_even_loopback(
        operator: str, settings: Settings, engine: Engine):
    assert settings.trusted_proxies == []
    await _login_through(settings, "203.0.113.9")
    assert _login_addresses(engine) == ["127.0.0.1"]


async def test_a_trusted_proxy_names_the_client(operator: str, database_url: str,
                                               tmp_path: Path, engine: Engine):
    settings = make_settings(database_url, tmp_path, trusted_proxies="10.0.0.0/8,127.0.0.1")
    await _login_through(settings, "203.0.113.9")
    # What the client wrote itself before the proxies' part is not believed.
    await _login_through(settings, "198.51.100.1, 203.0.113.10, 10.1.2.3")
    assert _login_addresses(engine) == ["203.0.113.9", "203.0.113.10"]


def test_a_trusted_proxy_must_be_an_address_or_network(database_url: str, tmp_path: Path):
    with pytest.raises(ValueError, match="not an IP address or network"):
        make_settings(database_url, tmp_path, trusted_proxies="lb.example.net")


async def test_serve_does_not_trust_loopback(operator: str, running_service: str,
                                             engine: Engine):
    async with httpx.AsyncClient(base_url=running_service) as http:
        response = await http.post("/graphql", json={
            "query": LOGIN, "variables": {"email": EMAIL, "password": PASSWORD}},
            headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.json()["data"]["login"]["errors"] == []
    assert _login_addresses(engine) == ["127.0.0.1"]


