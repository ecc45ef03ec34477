"""Who is asking: logging in and out, throttling, sessions, CSRF and API tokens.

Everything is driven over HTTP through ``/graphql`` as a browser or a script
would. The database is touched only to arrange what has no API (ageing a
session, ending a throttle lock) or to check that a refused request stored
nothing.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import AsyncIterator
from http.cookies import Morsel, SimpleCookie
from typing import Any

import httpx
import pytest
from sqlmodel import Session, func, select
from starlette.applications import Starlette

from core import throttle
from core.models import ApiToken, AuthSession, EmailMessage, LoginThrottle, utcnow
from core.settings import Settings
from schema.core.cookies import CSRF_COOKIE, SESSION_COOKIE
from schema.core.forgery import CSRF_HEADER
from schema.core.ids import id_of, to_global_id
from tests.graphql import LOGIN, PASSWORD, SIGN_UP, Client, SignedUp

ME = "{ me { email } }"

TOKEN_CREATE = """
mutation($name: String!, $days: Int) {
  apiTokenCreate(input: {name: $name, expiresInDays: $days}) {
    apiToken { id name tokenPrefix lastUsedAt revokedAt expiresAt }
    token
    errors { field code message }
  }
}
"""

TOKEN_REVOKE = """
mutation($id: ID!) {
  apiTokenRevoke(input: {id: $id}) {
    apiToken { id revokedAt }
    errors { field code message }
  }
}
"""

TOKENS = "{ apiTokens { totalCount edges { node { id name tokenPrefix lastUsedAt } } } }"

LOGOUT = "mutation { logout { errors { code } } }"

WRONG_PASSWORD = "not the right password at all"
EVIL_ORIGIN = "https://evil.example"


# Helpers ------------------------------------------------------------------------------------


def set_cookies(response: httpx.Response) -> dict[str, Morsel[str]]:
    """The cookies a response sets, by name, with their attributes."""
    cookies: dict[str, Morsel[str]] = {}
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        cookies.update(jar)
    return cookies


async def me(client: Client) -> str | None:
    """The e-mail address the client is logged in as, or None when anonymous."""
    data = await client.execute(ME)
    return data["me"]["email"] if data["me"] else None


async def attempt_login(client: Client, email: str,
                        password: str = PASSWORD) -> tuple[httpx.Response, dict[str, Any]]:
    response = await client.post(LOGIN, {"email": email, "password": password})
    body = response.json()
    assert "errors" not in body, body
    return response, body["data"]["login"]


async def login_error(client: Client, email: str, password: str = PASSWORD) -> dict[str, Any]:
    """The single payload error of a login that must fail."""
    _, payload = await attempt_login(client, email, password)
    assert payload["administrator"] is None
    assert payload["csrfToken"] is None
    assert len(payload["errors"]) == 1, payload["errors"]
    return payload["errors"][0]


async def post_without_csrf(client: Client, query: str,
                            variables: dict[str, Any] | None = None,
                            headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Send with the client's cookies but without the X-CSRF-Token header."""
    response = await client.http.post("/graphql", json={"query": query,
                                                        "variables": variables or {}},
                                      headers=headers or {})
    return response.json()


def assert_csrf_refused(body: dict[str, Any]) -> None:
    assert body.get("data") is None, body
    assert [error["extensions"]["code"] for error in body["errors"]] == ["CSRF_CHECK_FAILED"]


def count(session: Session, model: type, *conditions: Any) -> int:
    session.expire_all()
    total = session.exec(select(func.count()).select_from(model).where(*conditions)).one()
    session.rollback()  # end the read transaction: the app writes next
    return total


def throttle_row(session: Session, key: str) -> LoginThrottle | None:
    session.expire_all()
    row = session.exec(select(LoginThrottle).where(LoginThrottle.key == key)).first()
    session.rollback()
    return row


def unlock(session: Session, key: str) -> None:
    """End a throttle lock now, as if its time had passed."""
    row = session.exec(select(LoginThrottle).where(LoginThrottle.key == key)).one()
    assert row.locked_until is not None
    assert row.locked_until > utcnow()
    row.locked_until = utcnow() - dt.timedelta(seconds=1)
    session.add(row)
    session.commit()


def age_sessions(session: Session, signed: SignedUp, **times: dt.datetime) -> None:
    """Set times (last_seen_at, expires_at) on every browser session of an administrator."""
    administrator_id = id_of(signed.administrator_id, "Administrator")
    rows = session.exec(
        select(AuthSession).where(AuthSession.administrator_id == administrator_id)
    ).all()
    assert rows
    for row in rows:
        for name, value in times.items():
            setattr(row, name, value)
        session.add(row)
    session.commit()


async def create_token(client: Client, name: str = "automation",
                       days: int | None = None) -> dict[str, Any]:
    data = await client.execute(TOKEN_CREATE, {"name": name, "days": days})
    return data["apiTokenCreate"]


@pytest.fixture
async def bearer_client(app: Starlette, isp_a: SignedUp) -> AsyncIterator[tuple[Client, str]]:
    """A script holding a fresh API token of ISP A's administrator, and the token's id."""
    created = await create_token(isp_a.client)
    assert created["errors"] == []
    client = Client(app, headers={"Authorization": f"Bearer {created['token']}"})
    yield client, created["apiToken"]["id"]
    await client.close()


# Logging in ---------------------------------------------------------------------------------


async def test_login_sets_the_session_and_csrf_cookies(anonymous: Client, isp_a: SignedUp):
    response, payload = await attempt_login(anonymous, isp_a.email)

    assert payload["errors"] == []
    assert payload["administrator"] == {"id": isp_a.administrator_id, "email": isp_a.email}
    assert payload["csrfToken"]
    cookies = set_cookies(response)
    session_cookie, csrf_cookie = cookies[SESSION_COOKIE], cookies[CSRF_COOKIE]
    assert session_cookie.value
    assert session_cookie["httponly"] is True
    assert session_cookie["samesite"].lower() == "lax"
    assert session_cookie["path"] == "/"
    assert csrf_cookie.value == payload["csrfToken"]
    assert not csrf_cookie["httponly"]
    assert csrf_cookie["path"] == "/"


async def test_the_session_cookie_authenticates_later_requests(anonymous: Client,
                                                               isp_a: SignedUp):
    assert await me(anonymous) is None
    await anonymous.login(isp_a.email)
    assert await me(anonymous) == isp_a.email


async def test_login_ignores_the_case_of_the_email_address(anonymous: Client, isp_a: SignedUp):
    payload = await anonymous.login(isp_a.email.upper())
    assert payload["errors"] == []
    assert await me(anonymous) == isp_a.email


async def test_wrong_password_and_unknown_email_get_the_same_answer_and_no_cookie(
    anonymous: Client, isp_a: SignedUp
):
    wrong_password = await attempt_login(anonymous, isp_a.email, WRONG_PASSWORD)
    unknown_email = await attempt_login(anonymous, "nobody@nowhere.example", PASSWORD)

    assert wrong_password[1] == unknown_email[1]
    assert wrong_password[1]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    for response, _ in (wrong_password, unknown_email):
        assert set_cookies(response) == {}
    assert await me(anonymous) is None


# Throttling ---------------------------------------------------------------------------------


async def _fail_until_locked(client: Client, email: str) -> None:
    for _ in range(throttle.ACCOUNT_THRESHOLD):
        assert (await login_error(client, email, WRONG_PASSWORD))["code"] == "INVALID_CREDENTIALS"


async def test_repeated_failures_lock_the_account_even_for_the_right_password(
    anonymous: Client, isp_a: SignedUp
):
    await _fail_until_locked(anonymous, isp_a.email)

    response, payload = await attempt_login(anonymous, isp_a.email, PASSWORD)
    assert payload["administrator"] is None
    [error] = payload["errors"]
    assert error["code"] == "TOO_MANY_ATTEMPTS"
    seconds = re.search(r"try again in (\d+) seconds?", error["message"])
    assert seconds, error["message"]
    assert 1 <= int(seconds.group(1)) <= throttle.BASE_LOCK.total_seconds()
    assert set_cookies(response) == {}
    assert await me(anonymous) is None


async def test_failures_below_the_threshold_do_not_lock(anonymous: Client, isp_a: SignedUp):
    for _ in range(throttle.ACCOUNT_THRESHOLD - 1):
        await login_error(anonymous, isp_a.email, WRONG_PASSWORD)
    assert (await anonymous.login(isp_a.email))["errors"] == []


async def test_after_the_lock_the_right_password_works_and_clears_the_count(
    anonymous: Client, isp_a: SignedUp, session: Session
):
    key = throttle.account_key(isp_a.email)
    await _fail_until_locked(anonymous, isp_a.email)
    unlock(session, key)

    assert (await anonymous.login(isp_a.email))["errors"] == []
    assert await me(anonymous) == isp_a.email
    assert throttle_row(session, key) is None
    # With the count cleared, one more mistake is just a mistake, not a lock.
    assert (await login_error(anonymous, isp_a.email, WRONG_PASSWORD))["code"] == (
        "INVALID_CREDENTIALS"
    )
    assert (await anonymous.login(isp_a.email))["errors"] == []


async def test_many_failures_from_one_address_lock_that_address(anonymous: Client,
                                                                isp_a: SignedUp):
    # Each guess names another unknown account, so no account counter reaches its threshold.
    for number in range(throttle.ADDRESS_THRESHOLD):
        error = await login_error(anonymous, f"guess{number}@nowhere.example", WRONG_PASSWORD)
        assert error["code"] == "INVALID_CREDENTIALS", number

    # Every client of the test transport shares one address, so even a real login is refused.
    error = await login_error(anonymous, isp_a.email, PASSWORD)
    assert error["code"] == "TOO_MANY_ATTEMPTS"
    assert re.search(r"try again in \d+ seconds?", error["message"])


# Logging out --------------------------------------------------------------------------------


async def test_logout_clears_the_cookies(isp_a: SignedUp):
    response = await isp_a.client.post(LOGOUT)
    assert response.json()["data"] == {"logout": {"errors": []}}

    cookies = set_cookies(response)
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        assert cookies[name].value == ""
        assert cookies[name]["max-age"] == "0"
    assert await me(isp_a.client) is None


async def test_a_logged_out_session_cookie_no_longer_authenticates(app: Starlette,
                                                                  isp_a: SignedUp):
    old_cookie = isp_a.client.http.cookies[SESSION_COOKIE]
    replay = Client(app, headers={"Cookie": f"{SESSION_COOKIE}={old_cookie}"})
    try:
        assert await me(replay) == isp_a.email  # the replayed cookie works while live
        await isp_a.client.execute(LOGOUT)
        assert await me(replay) is None
    finally:
        await replay.close()


# Session expiry -----------------------------------------------------------------------------


async def test_an_idle_session_is_anonymous(isp_a: SignedUp, session: Session,
                                            settings: Settings):
    idle = dt.timedelta(minutes=settings.session_idle_minutes)
    age_sessions(session, isp_a, last_seen_at=utcnow() - idle + dt.timedelta(minutes=1))
    assert await me(isp_a.client) == isp_a.email  # not idle long enough yet

    age_sessions(session, isp_a, last_seen_at=utcnow() - idle - dt.timedelta(seconds=1))
    assert await me(isp_a.client) is None


async def test_a_session_past_its_absolute_expiry_is_anonymous(isp_a: SignedUp,
                                                               session: Session):
    age_sessions(session, isp_a, expires_at=utcnow() - dt.timedelta(seconds=1))
    assert await me(isp_a.client) is None


# Cross-site request forgery -------------------------------------------------------------------


def _tokens_stored(session: Session) -> int:
    return count(session, ApiToken)


async def test_a_cookie_mutation_without_the_csrf_header_is_refused(isp_a: SignedUp,
                                                                    session: Session):
    body = await post_without_csrf(isp_a.client, TOKEN_CREATE, {"name": "forged"})
    assert_csrf_refused(body)
    assert _tokens_stored(session) == 0


@pytest.mark.parametrize("wrong", ["", "not-the-token"])
async def test_a_cookie_mutation_with_a_wrong_csrf_token_is_refused(isp_a: SignedUp,
                                                                    session: Session, wrong: str):
    response = await isp_a.client.post(TOKEN_CREATE, {"name": "forged"},
                                       headers={CSRF_HEADER: wrong})
    assert_csrf_refused(response.json())
    assert _tokens_stored(session) == 0


async def test_a_cookie_mutation_with_the_csrf_token_works(isp_a: SignedUp, session: Session):
    created = await create_token(isp_a.client)
    assert created["errors"] == []
    assert _tokens_stored(session) == 1


async def test_a_cookie_query_needs_no_csrf_header(isp_a: SignedUp):
    body = await post_without_csrf(isp_a.client, ME)
    assert body["data"] == {"me": {"email": isp_a.email}}
    assert "errors" not in body


async def test_an_anonymous_mutation_from_a_foreign_origin_is_refused(anonymous: Client,
                                                                      session: Session):
    email = "victim@signup.example"
    response = await anonymous.post(SIGN_UP, {"email": email}, headers={"Origin": EVIL_ORIGIN})
    assert_csrf_refused(response.json())
    assert count(session, EmailMessage, EmailMessage.to_address == email) == 0


async def test_a_foreign_origin_is_refused_even_with_a_valid_csrf_token(isp_a: SignedUp,
                                                                        session: Session):
    response = await isp_a.client.post(TOKEN_CREATE, {"name": "forged"},
                                       headers={"Origin": EVIL_ORIGIN})
    assert_csrf_refused(response.json())
    assert _tokens_stored(session) == 0


async def test_our_own_origin_may_send_mutations(anonymous: Client, isp_a: SignedUp,
                                                 settings: Settings, session: Session):
    origin = {"Origin": settings.public_base_url}  # http://testserver
    response = await isp_a.client.post(TOKEN_CREATE, {"name": "ours"}, headers=origin)
    assert response.json()["data"]["apiTokenCreate"]["errors"] == []
    assert _tokens_stored(session) == 1

    email = "someone@signup.example"
    response = await anonymous.post(SIGN_UP, {"email": email}, headers=origin)
    assert response.json()["data"] == {"ispSignUp": {"errors": []}}
    assert count(session, EmailMessage, EmailMessage.to_address == email) == 1


# API tokens ---------------------------------------------------------------------------------


async def test_the_secret_is_shown_once_and_never_listed(isp_a: SignedUp):
    created = await create_token(isp_a.client, name="billing sync")
    secret = created["token"]
    assert created["errors"] == []
    assert secret.startswith("whv_")
    assert secret.startswith(created["apiToken"]["tokenPrefix"])
    assert created["apiToken"]["tokenPrefix"] != secret

    response = await isp_a.client.post(TOKENS)
    listed = response.json()["data"]["apiTokens"]
    assert listed["totalCount"] == 1
    assert listed["edges"][0]["node"]["name"] == "billing sync"
    assert listed["edges"][0]["node"]["tokenPrefix"] == created["apiToken"]["tokenPrefix"]
    assert secret not in response.text


async def test_a_bearer_token_authenticates_queries_and_mutations_without_csrf(
    bearer_client: tuple[Client, str], isp_a: SignedUp
):
    client, _ = bearer_client
    assert client.csrf_token is None
    assert await me(client) == isp_a.email

    created = await create_token(client, name="made by a script")
    assert created["errors"] == []
    assert created["token"].startswith("whv_")


async def test_using_a_bearer_token_records_when_it_was_last_used(
    bearer_client: tuple[Client, str], isp_a: SignedUp
):
    client, token_id = bearer_client

    def last_used(data: dict[str, Any]) -> str | None:
        [node] = [edge["node"] for edge in data["apiTokens"]["edges"]
                  if edge["node"]["id"] == token_id]
        return node["lastUsedAt"]

    assert last_used(await isp_a.client.execute(TOKENS)) is None
    await me(client)
    assert last_used(await isp_a.client.execute(TOKENS)) is not None


async def assert_token_refused(client: Client) -> None:
    """HTTP 401, one UNAUTHENTICATED error that says the token was refused, nothing run."""
    response = await client.post(ME)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    body = response.json()
    assert body.get("data") is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "token was refused" in error["message"]


async def test_a_revoked_token_is_refused(bearer_client: tuple[Client, str], isp_a: SignedUp):
    client, token_id = bearer_client
    assert await me(client) == isp_a.email

    revoked = (await isp_a.client.execute(TOKEN_REVOKE, {"id": token_id}))["apiTokenRevoke"]
    assert revoked["errors"] == []
    assert revoked["apiToken"]["revokedAt"] is not None
    await assert_token_refused(client)


async def test_an_expired_token_is_refused(bearer_client: tuple[Client, str], isp_a: SignedUp,
                                           session: Session):
    client, token_id = bearer_client
    assert await me(client) == isp_a.email
    row = session.get(ApiToken, id_of(token_id, "ApiToken"))
    row.expires_at = utcnow() - dt.timedelta(seconds=1)
    session.add(row)
    session.commit()
    await assert_token_refused(client)


async def test_another_isps_administrator_cannot_revoke_a_token(
    bearer_client: tuple[Client, str], isp_a: SignedUp, isp_b: SignedUp
):
    client, token_id = bearer_client
    foreign = await isp_b.client.execute(TOKEN_REVOKE, {"id": token_id})
    unknown = await isp_b.client.execute(
        TOKEN_REVOKE, {"id": to_global_id("ApiToken", uuid.uuid4())}
    )

    assert foreign == unknown
    assert foreign["apiTokenRevoke"]["apiToken"] is None
    assert [error["code"] for error in foreign["apiTokenRevoke"]["errors"]] == ["NOT_FOUND"]
    assert await me(client) == isp_a.email  # still works


async def test_another_isps_administrator_does_not_see_a_token(
    bearer_client: tuple[Client, str], isp_a: SignedUp, isp_b: SignedUp
):
    _, token_id = bearer_client
    theirs = (await isp_b.client.execute(TOKENS))["apiTokens"]
    assert theirs == {"totalCount": 0, "edges": []}
    ours = (await isp_a.client.execute(TOKENS))["apiTokens"]
    assert [edge["node"]["id"] for edge in ours["edges"]] == [token_id]


@pytest.mark.parametrize("days", [0, 400])
async def test_token_lifetime_must_be_one_to_366_days(isp_a: SignedUp, session: Session,
                                                      days: int):
    created = await create_token(isp_a.client, days=days)
    assert created["apiToken"] is None
    assert created["token"] is None
    assert [(e["field"], e["code"]) for e in created["errors"]] == [(["expiresInDays"], "INVALID")]
    assert _tokens_stored(session) == 0


async def test_token_lifetime_limits_are_inclusive(isp_a: SignedUp):
    for days in (1, 366):
        created = await create_token(isp_a.client, days=days)
        assert created["errors"] == [], days
        expires_at = dt.datetime.fromisoformat(created["apiToken"]["expiresAt"])
        assert abs(expires_at - (utcnow() + dt.timedelta(days=days))) < dt.timedelta(minutes=1)


async def test_a_token_needs_a_name(isp_a: SignedUp, session: Session):
    for name in ("", "   "):
        created = await create_token(isp_a.client, name=name)
        assert created["token"] is None
        assert [(e["field"], e["code"]) for e in created["errors"]] == [(["name"], "REQUIRED")]
    assert _tokens_stored(session) == 0


@pytest.mark.parametrize("authorization", [
    "Bearer nonsense",
    "Bearer whv_" + "A" * 43,
    "Bearer ",
    "bearer whv_" + "B" * 43,
])
async def test_a_wrong_or_malformed_bearer_token_is_refused(app: Starlette, session: Session,
                                                           authorization: str):
    client = Client(app, headers={"Authorization": authorization})
    try:
        await assert_token_refused(client)
        response = await client.post(TOKEN_CREATE, {"name": "x"})
    finally:
        await client.close()
    assert response.status_code == 401
    assert _tokens_stored(session) == 0


async def test_another_scheme_is_no_token(app: Starlette, session: Session):
    client = Client(app, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    try:
        assert await me(client) is None
        created = await create_token(client)
    finally:
        await client.close()
    assert [error["code"] for error in created["errors"]] == ["UNAUTHENTICATED"]
    assert _tokens_stored(session) == 0


# Mutations that need a login ------------------------------------------------------------------


@pytest.mark.parametrize(("mutation", "variables"), [
    (TOKEN_CREATE, {"name": "anonymous"}),
    ("""mutation($isp: ID!) { administratorInvite(input: {email: "x@y.example", isp: $isp})
         { invitation { id } errors { field code message } } }""",
     {"isp": to_global_id("Isp", uuid.uuid4())}),
    ("""mutation($id: ID!) { roleGrantUpdate(input: {id: $id, role: VIEWER})
         { roleGrant { id } errors { field code message } } }""",
     {"id": to_global_id("RoleGrant", uuid.uuid4())}),
    (TOKEN_REVOKE, {"id": to_global_id("ApiToken", uuid.uuid4())}),
], ids=["apiTokenCreate", "administratorInvite", "roleGrantUpdate", "apiTokenRevoke"])
async def test_mutations_that_need_a_login_answer_unauthenticated(
    anonymous: Client, mutation: str, variables: dict[str, Any]
):
    response = await anonymous.post(mutation, variables)
    body = response.json()
    assert "errors" not in body, body
    [payload] = body["data"].values()
    assert [error["code"] for error in payload["errors"]] == ["UNAUTHENTICATED"]
    assert all(value is None for key, value in payload.items() if key != "errors")
