"""Fixtures of the end-to-end tests: the control plane driving a real Kamailio.

``routed_platform`` is the whole chain of the product: an ISP signed up over GraphQL, a
platform operator, a fresh proxy database (``routing init-db``), Kamailio running the
shipped cfg on it (``proxy.running_proxy``) and that proxy registered with
``sipProxyCreate``, so that every change made over GraphQL is exported to it and
reloaded by the in-process worker. What a test configures, it configures over GraphQL;
``wait_in_step`` then waits until the proxy has it, and sipp does the rest::

    async def test_a_phone_registers(routed_platform: RoutedPlatform):
        customer = await routed_platform.create_customer()
        tenant = await routed_platform.create_tenant("acme", customer["id"])
        alice = await routed_platform.create_subscriber(tenant, "alice")
        await routed_platform.wait_in_step(previous_generation=routed_platform.generation)
        result = routed_platform.register(alice, phone_port=free_port())
        assert result.ok, result.describe()

Tests using these fixtures get the ``kamailio`` and ``postgres`` markers by themselves
(``pytest_collection_modifyitems`` below; tests/routing has a ``proxy_database``
of its own without Kamailio): without the binaries or the server they are
skipped, and with ``WEHOSTVOIP_TEST_REQUIRE_SERVICES=1`` they fail.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from starlette.applications import Starlette

from cli.main import cli
from core.database import session_scope
from core.operators import create_platform_operator
from core.sip_credentials import generate_sip_password
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.e2e.proxy import Proxy, SippResult, free_port, run_sipp, running_proxy
from tests.graphql import PASSWORD, Client, SignedUp, sign_up

ERRORS = "errors { field code message }"
STATUS = """{ routingStatus { inStep pending generation lastError
               proxies { name appliedGeneration lastError } } }"""
OPERATOR_EMAIL = "ops@platform.example"
IN_STEP_TIMEOUT = 20.0
# The fixtures that start Kamailio on a PostgreSQL proxy database.
_NEEDS_PROXY = ("proxy_database", "routed_platform")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The hook sees the whole session's items: only this directory's are ours.
    here = Path(__file__).parent
    for item in items:
        if not item.path.is_relative_to(here):
            continue
        if any(name in getattr(item, "fixturenames", ()) for name in _NEEDS_PROXY):
            item.add_marker(pytest.mark.kamailio)
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def proxy_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for the proxy (libpq URL), dropped afterwards."""
    url = create_postgres_database().replace("postgresql+psycopg://", "postgresql://")
    yield url
    drop_postgres_database(url)


@dataclass(frozen=True)
class Phone:
    """A subscriber as its phone knows it: what sipp needs to register and call."""

    id: str
    username: str
    password: str
    domain: str

    @property
    def auth(self) -> tuple[str, str]:
        return (self.username, self.password)

    @property
    def keys(self) -> dict[str, str]:
        return {"domain": self.domain}


@dataclass
class RoutedPlatform:
    """An ISP and a platform operator on the control plane, and the Kamailio it exports to."""

    isp: SignedUp
    operator: Client
    proxy: Proxy
    proxy_database: str
    # The export generation the last wait_in_step saw.
    generation: int = 0

    # GraphQL -----------------------------------------------------------------------

    async def mutate(self, query: str, variables: dict[str, Any] | None = None, *,
                     client: Client | None = None) -> dict[str, Any]:
        """The payload of a mutation that must succeed (as the ISP's administrator unless
        ``client`` is given)."""
        data = await (client or self.isp.client).execute(query, variables)
        payload: dict[str, Any] = next(iter(data.values()))
        assert payload["errors"] == [], payload["errors"]
        return payload

    async def routing_status(self) -> dict[str, Any]:
        """``routingStatus`` as the platform operator sees it (with the proxies)."""
        status: dict[str, Any] = (await self.operator.execute(STATUS))["routingStatus"]
        return status

    async def wait_in_step(self, previous_generation: int | None = None, *,
                           within: float = IN_STEP_TIMEOUT) -> int:
        """Waits until every change is exported and the proxy reloaded it; the generation.

        With ``previous_generation``, the export must also have gone past it: the tables
        changed since. Fails with the status and the end of Kamailio's log otherwise.
        """
        deadline = time.monotonic() + within
        while True:
            status = await self.routing_status()
            proxies = status["proxies"]
            # inStep: every proxy reloaded its own database's generation (with a database
            # each, their generations differ; status["generation"] is the highest).
            if (status["inStep"] and status["lastError"] is None and proxies
                    and all(proxy["lastError"] is None for proxy in proxies)
                    and (previous_generation is None
                         or status["generation"] > previous_generation)):
                self.generation = status["generation"]
                return self.generation
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the proxy is not in step after {within} s "
                    f"(waiting past generation {previous_generation}): {status}\n"
                    f"proxy.log:\n{self.proxy.log[-4000:]}")
            await asyncio.sleep(0.1)

    async def create_customer(self, name: str = "Example Inc.", *,
                              max_concurrent_calls: int = 10) -> dict[str, Any]:
        customer: dict[str, Any] = (await self.mutate(f"""mutation($input: CustomerCreateInput!) {{
            customerCreate(input: $input) {{ customer {{ id }} {ERRORS} }} }}""", {"input": {
            "name": name, "maxSubscribers": 50, "maxConcurrentCalls": max_concurrent_calls}})
        )["customer"]
        return customer

    async def create_tenant(self, label: str, customer_id: str, *, country_code: str = "1",
                            area_code: str = "", **fields: Any) -> dict[str, Any]:
        """A tenant at ``<label>.<the ISP's namespace domain>``; ``fields`` are more of
        TenantCreateInput (carrier, dialPlan...). Returns its id and domain."""
        tenant: dict[str, Any] = (await self.mutate(f"""mutation($input: TenantCreateInput!) {{
            tenantCreate(input: $input) {{ tenant {{ id domain }} {ERRORS} }} }}""", {"input": {
            "name": label.title(), "domain": label, "customer": customer_id,
            "defaultCountryCode": country_code, "defaultAreaCode": area_code, **fields}})
        )["tenant"]
        return tenant

    async def create_subscriber(self, tenant: dict[str, Any], username: str,
                                **fields: Any) -> Phone:
        """A subscriber of ``tenant`` with a SIP password of the test's choosing;
        ``fields`` are more of SubscriberCreateInput (alias, callerId...)."""
        password = generate_sip_password()
        created = await self.mutate(f"""mutation($input: SubscriberCreateInput!) {{
            subscriberCreate(input: $input) {{ subscriber {{ id username }} {ERRORS} }} }}""",
                                    {"input": {"tenant": tenant["id"], "username": username,
                                               "sipPassword": password, **fields}})
        return Phone(id=created["subscriber"]["id"], username=username, password=password,
                     domain=tenant["domain"])

    # SIP -----------------------------------------------------------------------------

    def register(self, phone: Phone, phone_port: int, *, password: str | None = None,
                 expect: int = 200) -> SippResult:
        """Registers ``phone`` with the contact 127.0.0.1:<phone_port> (sipp answers calls
        there with ``sipp_uas(..., phone_port)`` afterwards)."""
        return run_sipp("register.xml", remote_port=self.proxy.sip_port, local_port=phone_port,
                        service=phone.username, auth=(phone.username, password or phone.password),
                        keys=phone.keys, expect=expect)

    def failure(self, result: SippResult) -> str:
        """An assertion message: sipp's message flow and the end of Kamailio's log."""
        return f"{result.describe()}\nproxy.log:\n{self.proxy.log[-3000:]}"


@pytest.fixture
async def routed_platform(app: Starlette, engine: Engine, worker: dramatiq.Broker,
                          proxy_database: str, tmp_path: Path
                          ) -> AsyncIterator[RoutedPlatform]:
    """An ISP, a platform operator and a running Kamailio the control plane exports to."""
    created = CliRunner().invoke(cli, ["routing", "init-db", proxy_database])
    assert created.exit_code == 0, created.output
    isp = await sign_up(app, engine, label="calls")
    with session_scope(engine) as session:
        create_platform_operator(session, email=OPERATOR_EMAIL, password=PASSWORD,
                                 full_name="Platform Operator")
    operator = Client(app)
    try:
        await operator.login(OPERATOR_EMAIL)
        # A TCP socket too, for gateways reached over TCP (attribute transport=tcp).
        with running_proxy(proxy_database, tmp_path, fr_timer=1000, defines={
                "LISTEN_SIP2": f"tcp:127.0.0.1:{free_port('tcp')}"}) as proxy:
            platform = RoutedPlatform(isp=isp, operator=operator, proxy=proxy,
                                      proxy_database=proxy_database)
            await platform.mutate(f"""mutation($db: String!, $rpc: String!) {{
                sipProxyCreate(input: {{name: "edge-1", databaseUrl: $db, rpcUrl: $rpc}}) {{
                sipProxy {{ id }} {ERRORS} }} }}""",
                                  {"db": proxy_database, "rpc": proxy.rpc_url}, client=operator)
            await platform.wait_in_step()
            yield platform
    finally:
        await operator.close()
        await isp.client.close()
