"""Sign-up e-mails are limited per address and per client; the answer never changes."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from starlette.applications import Starlette

from core.models import EmailMessage
from core.signup import MAILS_PER_ADDRESS, MAILS_PER_CLIENT
from tests.graphql import SIGN_UP, Client, SignedUp

OK = {"data": {"ispSignUp": {"errors": []}}}


def _mails_to(engine: Engine, address: str | None = None) -> int:
    with Session(engine) as session:
        statement = select(func.count()).select_from(EmailMessage)
        if address is not None:
            statement = statement.where(EmailMessage.to_address == address)
        return session.exec(statement).one()


def _client(app: Starlette, address: str) -> Client:
    client = Client(app)
    client.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 1)),
                                    base_url="http://testserver")
    return client


async def _ask(client: Client, email: str) -> dict:
    body = (await client.post(SIGN_UP, {"email": email})).json()
    body.pop("extensions", None)
    return body


async def test_an_existing_account_gets_a_few_e_mails_not_one_per_request(
        isp_a: SignedUp, app: Starlette, engine: Engine):
    assert _mails_to(engine, isp_a.email) == 1  # the sign-up link, within the same hour
    # Each request from another client: the per-address limit is what holds.
    for attempt in range(22):
        client = _client(app, f"198.51.100.{attempt + 1}")
        assert await _ask(client, isp_a.email) == OK
        await client.close()
    assert _mails_to(engine, isp_a.email) == MAILS_PER_ADDRESS


async def test_one_client_sends_a_bounded_number_of_e_mails(app: Starlette, engine: Engine):
    client = _client(app, "203.0.113.7")
    for attempt in range(MAILS_PER_CLIENT + 5):
        assert await _ask(client, f"victim{attempt}@elsewhere.example") == OK
    assert _mails_to(engine) == MAILS_PER_CLIENT
    # Another client is not held back by this one.
    other = _client(app, "203.0.113.8")
    assert await _ask(other, "someone@elsewhere.example") == OK
    assert _mails_to(engine) == MAILS_PER_CLIENT + 1
    await client.close()
    await other.close()
