"""What one request to /graphql may ask for, and how the API refuses the rest.

Depth, alias and token limits; no batching; introspection and GraphiQL only
where they are meant to be; the committed schema.graphql matching the code;
the node/nodes lookups; and errors in pagination arguments.
(Masking of unexpected errors is covered by test_error_masking.py.)
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlmodel import Session, func, select
from starlette.applications import Starlette

from api.app import create_app
from core.models import EmailMessage
from core.settings import Settings
from schema.core.ids import to_global_id
from schema.core.limits import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS
from schema.core.node import MAX_NODES
from schema.core.pagination import MAX_PAGE_SIZE
from tests.conftest import make_settings
from tests.graphql import SIGN_UP, Client, SignedUp
from workers.broker import install_broker

REPO_ROOT = Path(__file__).resolve().parents[2]
INTROSPECTION = "{ __schema { queryType { name } } }"


# Helpers ------------------------------------------------------------------------------------


async def post(client: httpx.AsyncClient | Client, query: str,
               variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON body of one GraphQL request (errors and all)."""
    http = client.http if isinstance(client, Client) else client
    response = await http.post("/graphql", json={"query": query, "variables": variables or {}})
    return response.json()


def messages(body: dict[str, Any]) -> list[str]:
    return [error["message"] for error in body.get("errors") or []]


def codes(body: dict[str, Any]) -> list[str | None]:
    return [(error.get("extensions") or {}).get("code") for error in body.get("errors") or []]


def assert_refused(body: dict[str, Any], reason: str) -> None:
    """Nothing was executed, and one of the errors says why."""
    assert body.get("data") is None, body
    assert any(reason in message for message in messages(body)), messages(body)


def nested(levels: int) -> str:
    """A document ``levels`` selection sets deep below the root.

    No real query can get this deep (the schema has no cycles), so the fields
    are made up; the depth limit is checked on the document, before its fields.
    """
    return "{ " + "f { " * levels + "leaf" + " }" * levels + " }"


def aliased(count: int) -> str:
    return "{ " + " ".join(f"p{n}: platform {{ version }}" for n in range(count)) + " }"


def repeated_fields(count: int) -> str:
    """A document of about ``count`` tokens: one field asked for over and over."""
    return "{ platform { " + "version " * (count - 6) + "} }"


def global_id_of_text(text: bytes) -> str:
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def emails_stored(session: Session) -> int:
    session.expire_all()
    total = session.exec(select(func.count()).select_from(EmailMessage)).one()
    session.rollback()
    return total


# Size and shape of a document -------------------------------------------------------------------


async def test_a_query_deeper_than_the_limit_is_refused(anonymous: Client):
    assert_refused(await post(anonymous, nested(MAX_DEPTH + 1)),
                   f"exceeds maximum operation depth of {MAX_DEPTH}")


async def test_a_query_at_the_depth_limit_is_not_refused_for_its_depth(anonymous: Client):
    body = await post(anonymous, nested(MAX_DEPTH))
    assert not any("depth" in message for message in messages(body)), messages(body)


async def test_too_many_aliases_are_refused(anonymous: Client):
    assert_refused(await post(anonymous, aliased(MAX_ALIASES + 1)), "aliases")


async def test_aliases_up_to_the_limit_are_answered(anonymous: Client):
    data = await anonymous.execute(aliased(MAX_ALIASES))
    assert len(data) == MAX_ALIASES


async def test_a_document_with_too_many_tokens_is_refused(anonymous: Client):
    assert_refused(await post(anonymous, repeated_fields(MAX_TOKENS + 10)),
                   f"more than {MAX_TOKENS} tokens")


async def test_a_document_just_below_the_token_limit_is_not_refused_for_its_size(
    anonymous: Client,
):
    # graphql-core gives up validating this many identical fields, so the document is
    # refused all the same, but only after it was parsed.
    body = await post(anonymous, repeated_fields(MAX_TOKENS - 10))
    assert not any("tokens" in message for message in messages(body)), messages(body)


async def test_batched_operations_are_refused_and_none_runs(app: Starlette, session: Session):
    batch = [{"query": SIGN_UP, "variables": {"email": f"batch{n}@signup.example"}}
             for n in range(2)]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as http:
        response = await http.post("/graphql", json=batch)
    assert 400 <= response.status_code < 500, response.text
    assert "data" not in response.text
    assert emails_stored(session) == 0


# Introspection and GraphiQL -----------------------------------------------------------------


@pytest.fixture
async def production_app(database_url: str, tmp_path: Path,
                         settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app as configured for production (on this test's database)."""
    production = make_settings(database_url, tmp_path, environment="production",
                               broker_url="redis://127.0.0.1:6379/15")  # connected lazily
    application = create_app(production)
    try:
        async with LifespanManager(application), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://testserver"
        ) as http:
            yield http
    finally:
        install_broker(settings.broker_url)  # back to the suite's broker for later tests


async def test_introspection_is_allowed_in_the_embedded_default(anonymous: Client):
    data = await anonymous.execute(INTROSPECTION)
    assert data["__schema"]["queryType"]["name"] == "Query"


@pytest.mark.parametrize("query", [INTROSPECTION, '{ __type(name: "Query") { name } }'])
async def test_introspection_is_refused_in_production(production_app: httpx.AsyncClient,
                                                      query: str):
    assert_refused(await post(production_app, query), "introspection has been disabled")


async def test_production_still_answers_ordinary_queries(production_app: httpx.AsyncClient):
    body = await post(production_app, "{ __typename platform { version } }")
    assert "errors" not in body, body
    assert body["data"]["__typename"] == "Query"
    assert body["data"]["platform"]["version"]


async def test_graphiql_is_served_in_the_embedded_default(app: Starlette):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as http:
        response = await http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_graphiql_is_not_served_in_production(production_app: httpx.AsyncClient):
    response = await production_app.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code != 200
    assert "graphiql" not in response.text.lower()


# The committed schema -----------------------------------------------------------------------


def test_the_committed_schema_matches_the_code():
    exported = subprocess.run(
        [sys.executable, "-m", "cli", "schema", "export", "-"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=60,
    )
    assert exported.returncode == 0, exported.stderr
    committed = (REPO_ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert exported.stdout == committed, (
        "schema.graphql is out of date with the code; "
        "run `.venv/bin/wehostvoip schema export` and commit the result"
    )


# node and nodes -----------------------------------------------------------------------------

NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"


def unknown_ids(count: int) -> list[str]:
    return [to_global_id("Isp", uuid.uuid4()) for _ in range(count)]


async def test_nodes_refuses_more_than_the_maximum_number_of_ids(anonymous: Client):
    body = await post(anonymous, NODES, {"ids": unknown_ids(MAX_NODES + 1)})
    assert body["data"] is None
    assert codes(body) == ["TOO_MANY_IDS"]


async def test_nodes_answers_up_to_the_maximum_number_of_ids(anonymous: Client):
    data = await anonymous.execute(NODES, {"ids": unknown_ids(MAX_NODES)})
    assert data["nodes"] == [None] * MAX_NODES


MALFORMED_IDS = {
    "empty": "",
    "not base64": "!!not an id!!",
    "no type": global_id_of_text(str(uuid.uuid4()).encode()),
    "not a uuid": global_id_of_text(b"Isp:12345"),
    "unknown type": global_id_of_text(f"Nothing:{uuid.uuid4()}".encode()),
    "not utf-8": global_id_of_text(b"\xff\xfe\xfd"),
}


async def test_a_malformed_global_id_is_null_not_an_error(anonymous: Client):
    # One aliased node(id:) lookup per kind of malformed id, all in one request.
    names = [f"id{n}" for n in range(len(MALFORMED_IDS))]
    definitions = ", ".join(f"${name}: ID!" for name in names)
    lookups = " ".join(f"{name}: node(id: ${name}) {{ id }}" for name in names)
    body = await post(anonymous, f"query({definitions}) {{ {lookups} }}",
                      dict(zip(names, MALFORMED_IDS.values(), strict=True)))
    # (The response also says what it cost, in "extensions"; see test_cost.py.)
    assert "errors" not in body, body["errors"]
    assert body["data"] == dict.fromkeys(names)


async def test_malformed_ids_do_not_spoil_the_others_in_nodes(isp_a: SignedUp):
    ids = [*MALFORMED_IDS.values(), isp_a.isp_id]
    body = await post(isp_a.client, NODES, {"ids": ids})
    assert "errors" not in body, body["errors"]
    assert body["data"] == {"nodes": [*[None] * len(MALFORMED_IDS), {"id": isp_a.isp_id}]}


# Pagination arguments -----------------------------------------------------------------------

ADMINISTRATORS = """
query($first: Int, $after: String, $last: Int, $before: String, $order: AdministratorOrder) {
  administrators(first: $first, after: $after, last: $last, before: $before, orderBy: $order) {
    edges { cursor node { email } }
  }
}
"""


def cursor_of(value: Any) -> str:
    """A cursor in the shape the API gives out, around any JSON value."""
    return global_id_of_text(json.dumps(value).encode())


BAD_PAGES: dict[str, dict[str, Any]] = {
    "first and last": {"first": 1, "last": 1},
    "first too large": {"first": MAX_PAGE_SIZE + 1},
    "last too large": {"last": MAX_PAGE_SIZE + 1},
    "first negative": {"first": -1},
    "after with last": {"last": 1, "after": cursor_of(["a@b.example", str(uuid.uuid4())])},
    "garbage after": {"first": 1, "after": "garbage!"},
    "after not json": {"first": 1, "after": global_id_of_text(b"not json")},
    "after of the wrong shape": {"first": 1, "after": cursor_of({"value": 1})},
    "after with a bad id": {"first": 1, "after": cursor_of(["a@b.example", "not-a-uuid"])},
    # CREATED_AT: cursors hold a timestamp.
    "after with a bad date": {"first": 1, "order": {"field": "CREATED_AT"},
                              "after": cursor_of(["yesterday", str(uuid.uuid4())])},
    "after with a date without zone": {
        "first": 1, "order": {"field": "CREATED_AT"},
        "after": cursor_of(["2024-01-01T00:00:00", str(uuid.uuid4())]),
    },
    "after with a NUL character": {"first": 1,
                                   "after": cursor_of(["a\u0000b", str(uuid.uuid4())])},
}


@pytest.mark.parametrize("arguments", BAD_PAGES.values(), ids=BAD_PAGES.keys())
async def test_bad_pagination_arguments_are_refused(anonymous: Client,
                                                   arguments: dict[str, Any]):
    body = await post(anonymous, ADMINISTRATORS, arguments)
    assert body["data"] is None
    assert codes(body) == ["INVALID_PAGINATION"], body["errors"]


async def test_a_cursor_the_list_gave_out_is_accepted(isp_a: SignedUp):
    first = await isp_a.client.execute(ADMINISTRATORS, {"first": 1})
    [edge] = first["administrators"]["edges"]
    data = await isp_a.client.execute(ADMINISTRATORS, {"first": 1, "after": edge["cursor"]})
    assert data["administrators"]["edges"] == []


TOKEN_PAGE = """
query($after: String) {
  apiTokens(first: 1, after: $after) {
    edges { node { name } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def test_paging_a_list_ordered_by_time_shows_each_item_once(isp_a: SignedUp):
    names = [f"token {n}" for n in range(3)]
    for name in names:
        await isp_a.client.execute(
            'mutation($name: String!) { apiTokenCreate(input: {name: $name}) { token } }',
            {"name": name},
        )
    seen: list[str] = []
    after = None
    for _ in range(len(names) + 1):  # one page too many is enough to notice a loop
        body = await post(isp_a.client, TOKEN_PAGE, {"after": after})
        assert "errors" not in body, body["errors"]
        page = body["data"]["apiTokens"]
        seen += [edge["node"]["name"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == names[::-1]  # newest first, each once
