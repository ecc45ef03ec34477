"""ISP sign-up: typed errors for every bad input, and nothing stored when it fails."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from starlette.applications import Starlette

from core.models import Administrator, EmailMessage, Isp, IspLogo, SignupRequest
from tests.graphql import PASSWORD, SIGN_UP, SIGN_UP_COMPLETE, Client, SignedUp, last_link


def _count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def _png(width: int = 8, height: int = 8) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def _complete_input(token: str, **isp: Any) -> dict[str, Any]:
    return {
        "token": token, "password": PASSWORD, "fullName": "Ada Owner",
        "isp": {"name": "Kages Telecom", "namespaceLabel": "kages", "currency": "USD"} | isp,
    }


async def _token(client: Client, engine: Engine, email: str = "owner@kages.example") -> str:
    await client.execute(SIGN_UP, {"email": email})
    return last_link(engine, email, "/signup/complete")


async def _complete(client: Client, variables: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    data = await client.execute(SIGN_UP_COMPLETE, {"input": variables}, **kwargs)
    return data["ispSignUpComplete"]


def _codes(payload: dict[str, Any]) -> list[tuple[list[str] | None, str]]:
    return [(error["field"], error["code"]) for error in payload["errors"]]


async def test_sign_up_creates_isp_administrator_and_session(anonymous: Client, engine: Engine):
    token = await _token(anonymous, engine)
    payload = await _complete(anonymous, _complete_input(
        token, address={"line1": "1 Main St", "city": "Modesto", "country": "us"},
        contact={"name": "NOC", "email": "NOC@Kages.example", "phone": "+1 209-248-8700"},
        theme={"primaryColor": "#112233", "secondaryColor": "#AABBCC"},
    ))
    assert payload["errors"] == []
    assert payload["isp"]["namespaceDomain"] == "kages.wehostvoip.test"
    assert payload["administrator"]["grants"][0]["scope"] == "ISP"
    data = await anonymous.execute(
        "{ me { email fullName } isps { edges { node { currency address { country } "
        "contact { email phone } theme { primaryColor secondaryColor } } } } }"
    )
    assert data["me"] == {"email": "owner@kages.example", "fullName": "Ada Owner"}
    isp = data["isps"]["edges"][0]["node"]
    assert isp["contact"] == {"email": "noc@kages.example", "phone": "+12092488700"}
    assert isp["address"]["country"] == "US"
    assert isp["theme"] == {"primaryColor": "#112233", "secondaryColor": "#aabbcc"}


async def test_sign_up_answers_the_same_for_known_and_unknown_addresses(
    isp_a: SignedUp, anonymous: Client, engine: Engine
):
    known = await anonymous.post(SIGN_UP, {"email": isp_a.email})
    unknown = await anonymous.post(SIGN_UP, {"email": "nobody@elsewhere.example"})
    # Alike but for the caller's remaining query budget, which refills as time passes.
    assert known.json()["data"] == unknown.json()["data"] == {"ispSignUp": {"errors": []}}
    assert "errors" not in known.json()
    assert "errors" not in unknown.json()
    # The owner of the known address is told to log in instead; no sign-up link exists.
    with Session(engine) as session:
        mails = session.exec(select(EmailMessage).where(EmailMessage.to_address == isp_a.email))
        bodies = [mail.body_text for mail in mails]
    assert any("/login" in body for body in bodies)
    assert _count(engine, SignupRequest) == 2  # alpha's own and nobody@'s, none for the known one


async def test_malformed_email_is_refused(anonymous: Client, engine: Engine):
    data = await anonymous.execute(SIGN_UP, {"email": "not-an-address"})
    assert _codes(data["ispSignUp"]) == [(["email"], "INVALID")]
    assert _count(engine, SignupRequest) == 0


async def test_the_link_is_single_use(anonymous: Client, engine: Engine, app: Starlette):
    token = await _token(anonymous, engine)
    assert (await _complete(anonymous, _complete_input(token)))["errors"] == []
    again = await _complete(Client(app), _complete_input(token, namespaceLabel="other"))
    assert _codes(again) == [(["token"], "INVALID_TOKEN")]
    assert _count(engine, Isp) == 1


async def test_expired_link_is_refused(anonymous: Client, engine: Engine):
    token = await _token(anonymous, engine)
    with Session(engine) as session:
        request = session.exec(select(SignupRequest)).one()
        request.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        session.add(request)
        session.commit()
    payload = await _complete(anonymous, _complete_input(token))
    assert _codes(payload) == [(["token"], "EXPIRED_TOKEN")]
    assert _count(engine, Isp) == 0


async def test_unknown_token_is_refused(anonymous: Client, engine: Engine):
    payload = await _complete(anonymous, _complete_input("made-up-token"))
    assert _codes(payload) == [(["token"], "INVALID_TOKEN")]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"password": "short"}, [(["password"], "WEAK_PASSWORD")]),
        ({"password": "aaaaaaaaaaaaaaaa"}, [(["password"], "WEAK_PASSWORD")]),
        ({"password": "kages-owner-2026!"}, [(["password"], "WEAK_PASSWORD")]),  # from the e-mail
        ({"fullName": "  "}, [(["fullName"], "REQUIRED")]),
        ({"isp": {"name": "X", "namespaceLabel": "-bad-", "currency": "USD"}},
         [(["isp", "namespaceLabel"], "INVALID")]),
        ({"isp": {"name": "X", "namespaceLabel": "www", "currency": "USD"}},
         [(["isp", "namespaceLabel"], "RESERVED")]),
        ({"isp": {"name": "X", "namespaceLabel": "ok", "currency": "DOLLARS"}},
         [(["isp", "currency"], "INVALID")]),
        ({"isp": {"name": "", "namespaceLabel": "ok", "currency": "USD"}},
         [(["isp", "name"], "REQUIRED")]),
        ({"isp": {"name": "X", "namespaceLabel": "ok", "currency": "USD",
                  "contact": {"phone": "2092488700"}}}, [(["isp", "contact", "phone"], "INVALID")]),
        ({"isp": {"name": "X", "namespaceLabel": "ok", "currency": "USD",
                  "contact": {"email": "nope"}}}, [(["isp", "contact", "email"], "INVALID")]),
        ({"isp": {"name": "X", "namespaceLabel": "ok", "currency": "USD",
                  "theme": {"primaryColor": "red"}}},
         [(["isp", "theme", "primaryColor"], "INVALID")]),
        ({"isp": {"name": "X", "namespaceLabel": "ok", "currency": "USD",
                  "address": {"country": "XX"}}}, [(["isp", "address", "country"], "INVALID")]),
    ],
)
async def test_bad_details_are_typed_errors_and_store_nothing(
    anonymous: Client, engine: Engine, change: dict[str, Any], expected: list[Any]
):
    token = await _token(anonymous, engine)
    payload = await _complete(anonymous, _complete_input(token) | change)
    assert _codes(payload) == expected
    assert payload["isp"] is None
    assert (_count(engine, Isp), _count(engine, Administrator)) == (0, 0)
    # The link was not spent by the failed attempt.
    assert (await _complete(anonymous, _complete_input(token)))["errors"] == []


async def test_every_mistake_is_reported_at_once(anonymous: Client, engine: Engine):
    token = await _token(anonymous, engine)
    payload = await _complete(anonymous, {
        "token": token, "password": "short", "fullName": "",
        "isp": {"name": "", "namespaceLabel": "www", "currency": "ZZZ"},
    })
    assert sorted(field[-1] for field, _ in _codes(payload)) == [
        "currency", "fullName", "name", "namespaceLabel", "password"]


async def test_taken_namespace_is_refused(isp_a: SignedUp, anonymous: Client, engine: Engine):
    token = await _token(anonymous, engine, "second@other.example")
    payload = await _complete(anonymous, _complete_input(token, namespaceLabel="ALPHA"))
    assert _codes(payload) == [(["isp", "namespaceLabel"], "ALREADY_EXISTS")]
    assert _count(engine, Isp) == 1


async def test_logo_upload_is_stored_and_served(anonymous: Client, engine: Engine):
    token = await _token(anonymous, engine)
    logo = _png()
    variables = _complete_input(token) | {"logo": None}
    payload = await _complete(anonymous, variables,
                              files={"input__logo": ("logo.svg", logo, "image/svg+xml")})
    assert payload["errors"] == []
    data = await anonymous.execute("{ isps { edges { node { theme { logoUrl } } } } }")
    url = data["isps"]["edges"][0]["node"]["theme"]["logoUrl"]
    response = await anonymous.http.get(url.removeprefix("http://testserver"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"  # from the content, not the name
    assert response.content == logo


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "UNSUPPORTED_FORMAT"),
        (b"GIF89a" + b"\x00" * 20, "UNSUPPORTED_FORMAT"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * (300 * 1024), "TOO_LARGE"),
    ],
)
async def test_bad_logos_are_refused(anonymous: Client, engine: Engine, content: bytes,
                                     code: str):
    token = await _token(anonymous, engine)
    payload = await _complete(anonymous, _complete_input(token) | {"logo": None},
                              files={"input__logo": ("logo.png", content, "image/png")})
    assert _codes(payload) == [(["logo"], code)]
    assert (_count(engine, Isp), _count(engine, IspLogo)) == (0, 0)
