"""Fixtures for tests that drive the GraphQL API as its users would."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette

from tests.graphql import Client, SignedUp, sign_up


@pytest.fixture
async def anonymous(app: Starlette) -> AsyncIterator[Client]:
    client = Client(app)
    yield client
    await client.close()


@pytest.fixture
async def isp_a(app: Starlette, engine: Engine) -> AsyncIterator[SignedUp]:
    signed = await sign_up(app, engine, label="alpha")
    yield signed
    await signed.client.close()


@pytest.fixture
async def isp_b(app: Starlette, engine: Engine) -> AsyncIterator[SignedUp]:
    signed = await sign_up(app, engine, label="bravo")
    yield signed
    await signed.client.close()
