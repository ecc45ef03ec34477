"""Query cost: what an operation costs, the per-request limit, each viewer's budget,
the cap on mutations per request, and trusted documents (persisted queries)."""

from __future__ import annotations

import hashlib
import json
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import strawberry
from asgi_lifespan import LifespanManager
from graphql import parse
from sqlalchemy import Engine
from starlette.applications import Starlette

from api.app import create_app
from api.graphql import GraphQLApp
from core.settings import Settings
from schema import build_schema
from schema.core.budget import MemoryBudget, RedisBudget, budget_key
from schema.core.cost import FieldCost, field_cost, operation_cost
from schema.core.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from tests import services
from tests.conftest import make_settings
from tests.graphql import SignedUp, sign_up
from workers.broker import install_broker

SCHEMA = build_schema()._schema


def cost_of(query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> int:
    return operation_cost(SCHEMA, parse(query), variables=variables, **kwargs)


# What an operation costs --------------------------------------------------------------------------

NESTED = """
query($plans: Int, $decks: Int) {
  servicePlans(first: $plans) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { ...Plan } }
  }
}
fragment Plan on ServicePlan {
  id
  name
  serviceDeck(first: $decks) { edges { node { ... on ServiceDeckEntry { id } } } }
}
"""


def nested_cost(plans: int, decks: int) -> int:
    # servicePlans, totalCount, pageInfo { 2 }, edges, then per plan: cursor, node, id, name,
    # serviceDeck, its edges, then per entry: node, id.
    return 1 + 1 + 3 + 1 + plans * (1 + 1 + 1 + 1 + 1 + 1 + decks * (1 + 1))


def test_nested_connections_multiply_by_their_page_sizes_from_variables():
    assert cost_of(NESTED, {"plans": 20, "decks": 10}) == nested_cost(20, 10)


def test_a_page_size_not_given_is_the_default_and_one_too_large_is_capped():
    assert cost_of(NESTED) == nested_cost(DEFAULT_PAGE_SIZE, DEFAULT_PAGE_SIZE)
    assert cost_of(NESTED, {"plans": 10_000, "decks": 1}) == nested_cost(MAX_PAGE_SIZE, 1)


def test_a_variable_default_counts_when_the_variable_is_not_sent():
    query = "query($n: Int = 3) { customers(first: $n) { edges { node { id } } } }"
    assert cost_of(query) == 1 + 1 + 3 * 2
    assert cost_of(query, {"n": 7}) == 1 + 1 + 7 * 2


def test_last_counts_like_first():
    assert cost_of("{ customers(last: 4) { edges { node { id } } } }") == 1 + 1 + 4 * 2


def test_a_connection_selected_through_a_fragment_still_multiplies():
    query = """
    { customers(first: 5) { ...Page } }
    fragment Page on CustomerConnection { edges { node { id name } } }
    """
    assert cost_of(query) == 1 + 1 + 5 * 3


def test_typename_is_free_and_introspection_cheap():
    assert cost_of("{ __typename platform { __typename version } }") == 2
    assert cost_of("{ __schema { types { name fields { name type { name } } } } }") == 1


def test_skipped_fields_cost_nothing():
    query = "query($all: Boolean!) { platform { version baseDomain @include(if: $all) } }"
    assert cost_of(query, {"all": False}) == 2
    assert cost_of(query, {"all": True}) == 3


def test_fragments_on_different_types_under_an_interface_count_the_dearest_once():
    query = """
    query($ids: [ID!]!) {
      nodes(ids: $ids) { id ... on Isp { name } ... on Customer { name createdAt } }
    }
    """
    # nodes, then per id: id, and the dearer fragment (Customer: 2).
    assert cost_of(query, {"ids": ["a", "b", "c"]}) == 1 + 3 * (1 + 2)


def test_only_the_operation_asked_for_counts():
    query = """
    query Cheap { platform { version } }
    query Dear { customers(first: 100) { edges { node { id } } } }
    """
    assert cost_of(query, operation_name="Cheap") == 2


@strawberry.type
class Priced:
    @strawberry.field(metadata=field_cost(25))
    def dear(self) -> int:
        return 1

    cheap: int = 1


def test_a_field_may_declare_its_own_cost_or_have_one_given():
    schema = strawberry.Schema(query=Priced)._schema
    assert operation_cost(schema, parse("{ dear cheap }")) == 26
    overrides = {"Priced.cheap": FieldCost(5)}
    assert operation_cost(schema, parse("{ dear cheap }"), overrides=overrides) == 30


# Helpers for running the app with other limits ----------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def graphql_app(app: Starlette) -> GraphQLApp:
    return next(route.endpoint for route in app.routes  # type: ignore[attr-defined]
                if isinstance(getattr(route, "endpoint", None), GraphQLApp))


def unique_address() -> str:
    """A client address of its own, so no other test (nor an earlier run, in Redis) shares
    its bucket."""
    raw = uuid.uuid4().bytes
    return f"10.{raw[0]}.{raw[1]}.{raw[2]}"


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    try:
        async with LifespanManager(application):
            yield application
    finally:
        await graphql_app(application).budget.aclose()
        install_broker(services.REDIS_URL if services.TEST_BROKER == "redis" else "stub://")


@asynccontextmanager
async def http_client(app: Starlette, address: str | None = None,
                      ) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address or unique_address(), 123))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def post(http: httpx.AsyncClient, query: str | None = None,
               variables: dict[str, Any] | None = None, **body: Any) -> dict[str, Any]:
    if query is not None:
        body["query"] = query
    response = await http.post("/graphql", json={**body, "variables": variables or {}})
    return response.json()


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    [error] = body["errors"]
    return error


PLATFORM = "{ platform { version } }"  # costs 2
CUSTOMERS = "query($n: Int) { customers(first: $n) { edges { node { id } } } }"  # 2 + 2n


def customers_cost(n: int) -> int:
    return 2 + 2 * n


@pytest.fixture
def small_budget(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, query_cost_limit=60, query_budget=100,
                         query_budget_refill_per_second=10)


@pytest.fixture
async def small_app(small_budget: Settings) -> AsyncIterator[Starlette]:
    async with running(small_budget) as application:
        graphql_app(application).budget.clock = FakeClock()
        yield application


def clock_of(app: Starlette) -> FakeClock:
    clock = graphql_app(app).budget.clock
    assert isinstance(clock, FakeClock)
    return clock


# The limit per request ----------------------------------------------------------------------------


async def test_a_request_over_the_cost_limit_is_refused_before_it_runs(small_app: Starlette):
    async with http_client(small_app) as http:
        body = await post(http, CUSTOMERS, {"n": 30})
    assert body["data"] is None
    error = error_of(body)
    assert error["extensions"] == {"code": "QUERY_TOO_EXPENSIVE", "cost": customers_cost(30),
                                   "limit": 60}
    # Refused, so nothing was spent.
    assert body["extensions"]["cost"] == {"requested": customers_cost(30), "remaining": 100,
                                          "limit": 100}


async def test_a_request_at_the_cost_limit_runs(small_app: Starlette):
    async with http_client(small_app) as http:
        body = await post(http, CUSTOMERS, {"n": 29})
    assert "errors" not in body, body
    assert body["data"] == {"customers": {"edges": []}}
    assert body["extensions"]["cost"]["requested"] == customers_cost(29) == 60


async def test_the_default_limits_let_a_full_page_of_a_list_through(anonymous_http):
    query = """
    query($n: Int) { customers(first: $n) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { cursor node { id name createdAt } }
    } }
    """
    body = await post(anonymous_http, query, {"n": MAX_PAGE_SIZE})
    assert "errors" not in body, body


@pytest.fixture
async def anonymous_http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app) as http:
        yield http


# The budget ---------------------------------------------------------------------------------------


async def test_every_response_says_what_it_cost_and_what_is_left(small_app: Starlette):
    async with http_client(small_app) as http:
        first = await post(http, PLATFORM)
        second = await post(http, CUSTOMERS, {"n": 10})
        invalid = await post(http, "{ platform { nothing } }")
    assert first["extensions"] == {"cost": {"requested": 2, "remaining": 98, "limit": 100}}
    assert second["extensions"]["cost"] == {"requested": 22, "remaining": 76, "limit": 100}
    # A document refused by validation is not costed, but the budget is still reported.
    assert "errors" in invalid
    assert invalid["extensions"]["cost"] == {"requested": 0, "remaining": 76, "limit": 100}


async def test_an_exhausted_budget_refuses_until_it_refills(small_app: Starlette):
    clock = clock_of(small_app)
    async with http_client(small_app) as http:
        for _ in range(2):  # 2 x 42 of 100
            body = await post(http, CUSTOMERS, {"n": 20})
            assert "errors" not in body, body
        refused = await http.post("/graphql", json={"query": CUSTOMERS, "variables": {"n": 20}})
        body = refused.json()
        assert body["data"] is None
        assert error_of(body)["extensions"] == {
            "code": "QUERY_BUDGET_EXCEEDED", "cost": 42, "remaining": 16, "limit": 100,
            # 26 points are missing, at 10 a second.
            "retryAfterSeconds": 2.6,
        }
        assert refused.headers["Retry-After"] == "3"
        assert body["extensions"]["cost"]["remaining"] == 16  # a refusal spends nothing

        clock.advance(2.5)
        body = await post(http, CUSTOMERS, {"n": 20})
        assert error_of(body)["extensions"]["code"] == "QUERY_BUDGET_EXCEEDED"
        assert error_of(body)["extensions"]["retryAfterSeconds"] == pytest.approx(0.1)

        clock.advance(0.1)
        body = await post(http, CUSTOMERS, {"n": 20})
        assert "errors" not in body, body
        assert body["extensions"]["cost"]["remaining"] == 0

        clock.advance(3600)  # refills up to the capacity, no further
        assert (await post(http, PLATFORM))["extensions"]["cost"]["remaining"] == 98


async def test_anonymous_clients_have_a_budget_per_address(small_app: Starlette):
    async with http_client(small_app) as one, http_client(small_app) as other:
        await post(one, CUSTOMERS, {"n": 29})
        assert (await post(one, PLATFORM))["extensions"]["cost"]["remaining"] == 100 - 60 - 2
        assert (await post(other, PLATFORM))["extensions"]["cost"]["remaining"] == 98


async def test_an_administrator_has_one_budget_wherever_they_come_from(
    small_app: Starlette, engine: Engine,
):
    admin: SignedUp = await sign_up(small_app, engine)
    clock_of(small_app).advance(1000)  # what signing up spent from the address is back
    try:
        http = admin.client.http
        spent = await admin.client.post(CUSTOMERS, {"n": 29})
        assert spent.json()["extensions"]["cost"]["remaining"] == 40
        # The same administrator from another address: the same bucket.
        other = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=small_app, client=(unique_address(), 123)),
            base_url="http://testserver", cookies=http.cookies,
        )
        async with other:
            body = await post(other, "{ me { email } }")
        assert body["data"] == {"me": {"email": admin.email}}
        assert body["extensions"]["cost"]["remaining"] == 40 - 2
        # Anonymous requests from the administrator's address have their own.
        async with http_client(small_app, "127.0.0.1") as anonymous:
            body = await post(anonymous, PLATFORM)
        assert body["extensions"]["cost"]["remaining"] == 98
    finally:
        await admin.client.close()


def test_budget_keys():
    class Viewer:
        administrator_id = uuid.UUID(int=7)
        client_address = "192.0.2.1"

    class Anonymous:
        administrator_id = None
        client_address = "192.0.2.1"

    class Context:
        def __init__(self, viewer: object) -> None:
            self.viewer = viewer

    assert budget_key(Context(Viewer())) == f"administrator:{uuid.UUID(int=7)}"
    assert budget_key(Context(Anonymous())) == "address:192.0.2.1"


async def test_the_memory_budget_is_safe_under_concurrent_spending():
    import asyncio

    budget = MemoryBudget(100, 1, clock=FakeClock())
    outcomes = await asyncio.gather(*(budget.spend("k", 7) for _ in range(20)))
    assert sum(outcome.allowed for outcome in outcomes) == 14  # 14 x 7 = 98
    assert await budget.remaining("k") == 2


async def test_the_redis_budget_falls_back_to_this_process_when_redis_is_down():
    budget = RedisBudget("redis://127.0.0.1:1/0", 100, 10, clock=FakeClock())
    outcome = await budget.spend("k", 30)
    assert outcome.allowed
    assert outcome.remaining == 70
    assert (await budget.spend("k", 30)).remaining == 40
    await budget.aclose()


@pytest.mark.redis
async def test_two_app_instances_share_one_budget_in_redis(database_url: str, tmp_path: Path):
    settings = make_settings(database_url, tmp_path, broker_url=services.REDIS_URL,
                             query_cost_limit=60, query_budget=100,
                             query_budget_refill_per_second=10)
    clock = FakeClock()
    address = unique_address()
    async with running(settings) as one, running(settings) as two:
        for application in (one, two):
            budget = graphql_app(application).budget
            assert isinstance(budget, RedisBudget)
            budget.clock = clock
        async with http_client(one, address) as first, http_client(two, address) as second:
            assert (await post(first, CUSTOMERS, {"n": 20}))["extensions"]["cost"][
                "remaining"] == 58
            assert (await post(second, CUSTOMERS, {"n": 20}))["extensions"]["cost"][
                "remaining"] == 16
            body = await post(first, CUSTOMERS, {"n": 20})
            assert error_of(body)["extensions"]["code"] == "QUERY_BUDGET_EXCEEDED"
            assert error_of(body)["extensions"]["retryAfterSeconds"] == 2.6
            clock.advance(2.6)
            body = await post(second, CUSTOMERS, {"n": 20})
            assert "errors" not in body, body


@pytest.mark.redis
async def test_a_full_bucket_leaves_no_key_in_redis():
    import redis.asyncio

    clock = FakeClock()
    prefix = f"test-budget:{uuid.uuid4().hex}:"
    budget = RedisBudget(services.REDIS_URL, 100, 10, clock=clock, prefix=prefix)
    await budget.spend("k", 50)
    connection = redis.asyncio.Redis.from_url(services.REDIS_URL)
    try:
        assert 0 < await connection.pttl(prefix + "k") <= 6000
        clock.advance(5)
        assert await budget.remaining("k") == 100
        assert not await connection.exists(prefix + "k")
    finally:
        await connection.aclose()
        await budget.aclose()


# Mutations per request ----------------------------------------------------------------------------


def logouts(count: int) -> str:
    return "mutation { " + " ".join(f"m{n}: logout {{ errors {{ code }} }}"
                                    for n in range(count)) + " }"


@pytest.fixture
async def two_mutations_app(database_url: str, tmp_path: Path) -> AsyncIterator[Starlette]:
    async with running(make_settings(database_url, tmp_path,
                                     max_mutations_per_request=2)) as application:
        yield application


async def test_mutations_up_to_the_cap_run(two_mutations_app: Starlette):
    async with http_client(two_mutations_app) as http:
        body = await post(http, logouts(2))
    assert "errors" not in body, body
    assert body["data"] == {"m0": {"errors": []}, "m1": {"errors": []}}


async def test_more_mutations_than_the_cap_are_refused(two_mutations_app: Starlette):
    async with http_client(two_mutations_app) as http:
        body = await post(http, logouts(3))
    assert body["data"] is None
    assert error_of(body)["extensions"] == {"code": "TOO_MANY_MUTATIONS", "count": 3,
                                            "limit": 2}


async def test_mutations_in_fragments_count_too(two_mutations_app: Starlette):
    query = """
    mutation { logout { errors { code } } ...More }
    fragment More on Mutation {
      again: logout { errors { code } }
      ... { third: logout { __typename } }
    }
    """
    async with http_client(two_mutations_app) as http:
        body = await post(http, query)
    assert error_of(body)["extensions"]["code"] == "TOO_MANY_MUTATIONS"
    assert error_of(body)["extensions"]["count"] == 3


# Trusted documents --------------------------------------------------------------------------------

VERSION = "query Version { platform { version } }"
PROGRESS = "subscription($id: ID!) { jobProgress(id: $id) { id status } }"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def trusted_settings(database_url: str, tmp_path: Path) -> Settings:
    documents = tmp_path / "documents.json"
    documents.write_text(json.dumps({"version-1": VERSION, "progress-1": PROGRESS}))
    return make_settings(database_url, tmp_path, trusted_documents_file=documents)


@pytest.fixture
async def trusted_app(trusted_settings: Settings) -> AsyncIterator[Starlette]:
    async with running(trusted_settings) as application:
        yield application


async def test_a_registered_document_runs_by_id(trusted_app: Starlette):
    async with http_client(trusted_app) as http:
        by_id = await post(http, documentId="version-1")
        by_hash = await post(http, documentId=f"sha256:{sha256(VERSION)}")
        apollo = await post(http, extensions={
            "persistedQuery": {"version": 1, "sha256Hash": sha256(VERSION)}})
        whole = await post(http, VERSION)
    for body in (by_id, by_hash, apollo, whole):
        assert "errors" not in body, body
        assert body["data"]["platform"]["version"]
        assert body["extensions"]["cost"]["requested"] == 2


async def test_an_unregistered_document_is_refused(trusted_app: Starlette):
    async with http_client(trusted_app) as http:
        response = await http.post("/graphql", json={"query": "{ platform { version } }"})
    assert response.status_code == 400
    assert response.json()["data"] is None
    assert error_of(response.json())["extensions"] == {"code": "TRUSTED_DOCUMENTS_ONLY"}


async def test_an_unknown_document_id_is_refused(trusted_app: Starlette):
    async with http_client(trusted_app) as http:
        unknown = await http.post("/graphql", json={"documentId": "nope"})
        persisted = {"persistedQuery": {"version": 1, "sha256Hash": sha256("{ me { email } }")}}
        apollo = await http.post("/graphql", json={"extensions": persisted})
        apollo_retry = await http.post("/graphql", json={"query": "{ me { email } }",
                                                         "extensions": persisted})
    assert unknown.status_code == apollo.status_code == apollo_retry.status_code == 400
    assert error_of(unknown.json())["extensions"] == {"code": "PERSISTED_QUERY_NOT_FOUND"}
    assert error_of(apollo.json())["extensions"] == {"code": "PERSISTED_QUERY_NOT_FOUND"}
    # Apollo's client then sends the document whole, which is not registered either.
    assert error_of(apollo_retry.json())["extensions"] == {"code": "TRUSTED_DOCUMENTS_ONLY"}


async def test_without_trusted_documents_any_document_runs_and_ids_mean_nothing(
    anonymous_http: httpx.AsyncClient,
):
    body = await post(anonymous_http, "{ platform { version } }")
    assert "errors" not in body, body
    response = await anonymous_http.post("/graphql", json={"documentId": "version-1"})
    assert response.status_code == 400


def test_a_malformed_trusted_documents_file_stops_the_app(database_url: str, tmp_path: Path):
    from core.settings import ConfigurationError

    documents = tmp_path / "documents.json"
    documents.write_text(json.dumps(["{ platform { version } }"]))
    with pytest.raises(ConfigurationError, match="TRUSTED_DOCUMENTS_FILE"):
        GraphQLApp(make_settings(database_url, tmp_path, trusted_documents_file=documents))


# WebSockets ---------------------------------------------------------------------------------------


@contextmanager
def websocket(settings: Settings) -> Iterator[Any]:
    with warnings.catch_warnings():  # it would rather use httpx2, which we do not install
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    application = create_app(settings)
    try:
        with TestClient(application, client=(unique_address(), 123)) as client, \
                client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) \
                as socket:
            socket.send_json({"type": "connection_init", "payload": {}})
            assert socket.receive_json()["type"] == "connection_ack"
            yield socket
            client.portal.call(graphql_app(application).budget.aclose)
    finally:
        install_broker(services.REDIS_URL if services.TEST_BROKER == "redis" else "stub://")


def subscribe(socket: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """The first message answering a subscribe (errors for all these)."""
    socket.send_json({"id": "1", "type": "subscribe", "payload": payload})
    return socket.receive_json()


def ws_errors(message: dict[str, Any]) -> list[dict[str, Any]]:
    return message["payload"] if message["type"] == "error" else message["payload"]["errors"]


JOB_ID = "Sm9iOjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA"


def test_a_subscription_over_the_cost_limit_is_refused(database_url: str, tmp_path: Path):
    settings = make_settings(database_url, tmp_path, query_cost_limit=2)
    with websocket(settings) as socket:
        message = subscribe(socket, {"query": PROGRESS, "variables": {"id": JOB_ID}})
    [error] = ws_errors(message)
    assert error["extensions"] == {"code": "QUERY_TOO_EXPENSIVE", "cost": 3, "limit": 2}


def test_a_subscription_spends_from_the_budget(database_url: str, tmp_path: Path):
    settings = make_settings(database_url, tmp_path, query_budget=5, query_cost_limit=5,
                             query_budget_refill_per_second=0.001)
    with websocket(settings) as socket:
        first = subscribe(socket, {"query": PROGRESS, "variables": {"id": JOB_ID}})
        # Anonymous: the job is not found, after the subscription was paid for.
        assert ws_errors(first)[0]["extensions"]["code"] == "NOT_FOUND"
        assert first["payload"]["extensions"]["cost"] == {"requested": 3, "remaining": 2,
                                                          "limit": 5}
        socket.receive_json()  # complete
        second = subscribe(socket, {"query": PROGRESS, "variables": {"id": JOB_ID}})
    [error] = ws_errors(second)
    assert error["extensions"]["code"] == "QUERY_BUDGET_EXCEEDED"


def test_trusted_documents_hold_on_websockets(trusted_settings: Settings):
    with websocket(trusted_settings) as socket:
        refused = subscribe(socket, {"query": "subscription { jobProgress(id: \"x\") { id } }"})
        assert refused["type"] == "error"
        assert refused["payload"][0]["extensions"] == {"code": "TRUSTED_DOCUMENTS_ONLY"}
        by_id = subscribe(socket, {"documentId": "progress-1", "variables": {"id": JOB_ID}})
    # The registered document ran: the job is not found (anonymous), not a refusal.
    assert ws_errors(by_id)[0]["extensions"]["code"] == "NOT_FOUND"
