"""routingStatus: operators see the platform's export state; an ISP sees whether its own
changes are live, and nothing of another ISP's activity or of the proxies' errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session

from core.database import session_scope
from core.models import Isp, RoutingChanges, RoutingDatabase, SipProxy
from core.operators import create_platform_operator
from core.routing_changes import export_bookkeeping
from schema.core.ids import id_of, to_global_id
from tests.factories import make_customer, make_tenant
from tests.graphql import PASSWORD, Client, SignedUp, sign_up

STATUS = "{ routingStatus { inStep pending generation exportedAt lastError } }"
LEAK = "password authentication failed for user \"kamailio\" at 10.0.0.5"


@pytest.fixture
async def operator(app: Any, engine: Engine) -> AsyncIterator[Client]:
    with session_scope(engine) as session:
        create_platform_operator(session, email="ops@platform.example", password=PASSWORD,
                                 full_name="Op")
        # An enabled proxy, so that changes are counted; no worker exports here.
        session.add(SipProxy(name="edge-1", database_url_encrypted="x",
                             database_display="postgres://k@10.0.0.5/k", database_key="db-1",
                             rpc_url="http://10.0.0.5:5080/RPC"))
    client = Client(app)
    await client.login("ops@platform.example")
    yield client
    await client.close()


@pytest.fixture
async def isp_a(app: Any, engine: Engine) -> AsyncIterator[SignedUp]:
    signed = await sign_up(app, engine, label="alpha")
    yield signed
    await signed.client.close()


@pytest.fixture
async def isp_b(app: Any, engine: Engine) -> AsyncIterator[SignedUp]:
    signed = await sign_up(app, engine, label="bravo")
    yield signed
    await signed.client.close()


async def _status(client: Client) -> dict[str, Any]:
    return (await client.execute(STATUS))["routingStatus"]


def _export_covers_everything(engine: Engine, error: str | None = None) -> None:
    with session_scope(engine) as session:
        export_bookkeeping(session)  # as the exporter records it: no change request
        requested = session.get(RoutingChanges, 1).requested
        database = session.get(RoutingDatabase, "db-1") or RoutingDatabase(key="db-1")
        database.generation, database.covered_request = 7, requested
        database.last_error = error
        session.add(database)
        # ...and the proxy reloaded it.
        session.execute(update(SipProxy).values(applied_generation=7))


async def test_an_isp_sees_its_own_changes_only(operator: Client, isp_a: SignedUp,
                                                isp_b: SignedUp, engine: Engine):
    _export_covers_everything(engine)  # the sign-ups and the proxy itself
    made = await isp_a.client.execute(
        'mutation { carrierCreate(input: {name: "Trunk"}) { errors { code } } }')
    assert made["carrierCreate"]["errors"] == []

    assert await _status(isp_a.client) == {"inStep": False, "pending": True, "generation": None,
                                           "exportedAt": None, "lastError": None}
    # Another ISP's change is none of B's business.
    assert await _status(isp_b.client) == {"inStep": True, "pending": False, "generation": None,
                                           "exportedAt": None, "lastError": None}
    assert (await _status(operator))["pending"] is True

    _export_covers_everything(engine, error=LEAK)
    seen = await _status(isp_a.client)
    assert (seen["inStep"], seen["pending"], seen["lastError"]) == (True, False, None)
    assert (await _status(operator))["lastError"] == LEAK
    assert (await _status(operator))["generation"] == 7


async def test_a_change_below_a_tenant_counts_for_its_isp(operator: Client, isp_a: SignedUp,
                                                          isp_b: SignedUp, engine: Engine):
    with Session(engine) as session:
        owner = session.get(Isp, id_of(isp_b.isp_id, "Isp"))
        tenant = to_global_id("Tenant", make_tenant(session, owner,
                                                    make_customer(session, owner,
                                                                  max_subscribers=5)).id)
    _export_covers_everything(engine)
    made = await isp_b.client.execute(
        """mutation($t: ID!) { subscriberCreate(input: {tenant: $t, username: "ann"})
             { errors { code message } } }""", {"t": tenant})
    assert made["subscriberCreate"]["errors"] == []
    assert (await _status(isp_b.client))["pending"] is True
    assert (await _status(isp_a.client))["pending"] is False


async def test_a_change_nobody_can_be_told_of_counts_for_everyone(
        operator: Client, isp_a: SignedUp, engine: Engine):
    _export_covers_everything(engine)
    # A bulk statement by primary key names no ISP: every ISP waits for the next export.
    with session_scope(engine) as session:
        session.execute(update(SipProxy).values(rpc_url="http://10.0.0.6:5080/RPC"))
    assert (await _status(isp_a.client))["pending"] is True
