"""Text no field may hold: refused with a typed error before anything runs.

NUL characters and lone surrogates cannot be stored (PostgreSQL answered them with
an internal error); control characters in a one-line field (a name) broke every
e-mail that later quoted it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, select
from starlette.applications import Starlette

from core.models import EmailMessage, Isp
from tests.graphql import PASSWORD, SIGN_UP, SIGN_UP_COMPLETE, Client, SignedUp, last_link

HOSTILE = {"nul": "a\x00b", "lone surrogate": "a\ud800b", "bell": "a\x07b",
           "escape": "\x1b[31mred"}

SEARCH = "query($s: String) { customers(filter: {search: $s}) { totalCount } }"
CARRIER = """mutation($name: String!) { carrierCreate(input: {name: $name})
  { carrier { id } errors { field code message } } }"""
DIAL_PLAN = """mutation($input: DialPlanCreateInput!) { dialPlanCreate(input: $input)
  { dialPlan { id } errors { field code message } } }"""
CUSTOMER = """mutation($input: CustomerCreateInput!) { customerCreate(input: $input)
  { customer { id } errors { field code message } } }"""


async def _post(client: Client, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """As a JSON client sends it: a lone surrogate travels as its \\u escape."""
    response = await client.http.post(
        "/graphql", content=json.dumps({"query": query, "variables": variables}),
        headers={"Content-Type": "application/json", "X-CSRF-Token": client.csrf_token or ""})
    return response.json()


def _refused(body: dict[str, Any]) -> dict[str, Any]:
    assert body["data"] is None, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INVALID_TEXT", error
    return error


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
async def test_every_string_input_refuses_unstorable_text(text: str, isp_a: SignedUp):
    client = isp_a.client
    error = _refused(await _post(client, SEARCH, {"s": text}))
    assert error["extensions"]["path"] == "variables.s"
    _refused(await _post(client, CARRIER, {"name": text}))
    nested = _refused(await _post(client, DIAL_PLAN, {"input": {"name": "ok",
                                                                 "description": text}}))
    assert nested["extensions"]["path"] == "variables.input.description"
    _refused(await _post(client, CUSTOMER, {"input": {
        "name": "Acme", "maxSubscribers": 1, "maxConcurrentCalls": 1, "contactName": text}}))
    # Nothing was written.
    counts = await client.execute("{ carriers { totalCount } dialPlans { totalCount } "
                                  "customers { totalCount } }")
    assert counts == {"carriers": {"totalCount": 0}, "dialPlans": {"totalCount": 0},
                      "customers": {"totalCount": 0}}


async def test_a_literal_in_the_document_is_checked_too(isp_a: SignedUp):
    response = await isp_a.client.post(
        '{ customers(filter: {search: "a\\u0000b"}) { totalCount } }')
    _refused(response.json())


async def test_line_breaks_pass_the_text_check_and_multi_line_values_keep_them(
        isp_a: SignedUp):
    found = await isp_a.client.execute(SEARCH, {"s": "two\nlines\tand a tab"})
    assert found == {"customers": {"totalCount": 0}}


@pytest.mark.parametrize("name", ["Acme\r\nBcc: victim@example.test", "Acme\tTab",
                                  "Acme\u2028Line"])
async def test_names_are_one_line(name: str, isp_a: SignedUp):
    payload = (await isp_a.client.execute(CARRIER, {"name": name}))["carrierCreate"]
    assert payload["carrier"] is None
    assert payload["errors"][0]["field"] == ["name"]
    assert payload["errors"][0]["code"] == "INVALID"


async def test_a_sign_up_refuses_line_breaks_in_names(app: Starlette, engine: Engine):
    client = Client(app)
    email = "owner@crlf.example"
    await client.execute(SIGN_UP, {"email": email})
    payload = (await client.execute(SIGN_UP_COMPLETE, {"input": {
        "token": last_link(engine, email, "/signup/complete"), "password": PASSWORD,
        "fullName": "Eve\r\nBcc: victim@example.test",
        "isp": {"name": "Crlf\r\nX-Injected: 1", "namespaceLabel": "crlf", "currency": "USD"},
    }}))["ispSignUpComplete"]
    assert payload["isp"] is None
    assert {(tuple(error["field"]), error["code"]) for error in payload["errors"]} == {
        (("fullName",), "INVALID"), (("isp", "name"), "INVALID")}
    await client.close()


async def test_a_name_stored_before_the_check_does_not_break_invitations(isp_a: SignedUp,
                                                                         engine: Engine):
    with Session(engine) as session:
        session.execute(update(Isp).values(name="Alpha\r\nBcc: victim@example.test"))
        session.commit()
    invited = (await isp_a.client.execute(
        """mutation($isp: ID!) { administratorInvite(input: {email: "new@alpha.example",
             isp: $isp}) { invitation { id } errors { code } } }""",
        {"isp": isp_a.isp_id}))["administratorInvite"]
    assert invited["errors"] == []
    with Session(engine) as session:
        subject = session.exec(select(EmailMessage.subject).where(
            EmailMessage.to_address == "new@alpha.example")).one()
    assert "\n" not in subject
    assert "Alpha Bcc: victim@example.test" in subject
