"""What metrics, structured logs and query cost analysis cost a typical SPA query.

    .venv/bin/python benchmarks/operability_overhead.py [--requests 400]

One process, one SQLite database (the embedded default) holding an ISP with a
tenant of 200 subscribers, two apps on it: the API as it runs
(`create_app(settings)`: request metrics and access log, JSON logs at INFO with
the secret filter, operation metrics, cost analysis and budget) and the same
API with all that left out (`instrumented=False`, logs at WARNING). The query
is what the web app's subscriber list asks for: a page of 20 with the fields of
its table, totalCount and pageInfo. Requests alternate between the two apps so
that both see the same machine; the figures are the median and p95 of each, and
the overhead of the median (goal: under 10 %).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.app import create_app  # noqa: E402
from core import migrations  # noqa: E402
from core.database import make_sync_engine, session_scope  # noqa: E402
from core.logs import configure_logging  # noqa: E402
from core.models import Subscriber  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.signup import IspDetails, SignupCompletion, complete_signup  # noqa: E402
from core.tokens import digest, new_token  # noqa: E402
from tests.factories import make_customer, make_tenant  # noqa: E402

PASSWORD = "correct horse battery staple"
EMAIL = "admin@overhead.example"
SUBSCRIBERS = 200
QUERY = """query SubscriberList($first: Int!) {
  subscribers(first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id username displayName email alias callerId status concurrentCalls
                   createdAt } }
  }
}"""
LOGIN = """mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { csrfToken errors { message } } }"""


def seed(url: str, settings: Settings) -> None:
    import datetime as dt

    from core.models import SignupRequest, utcnow

    engine = make_sync_engine(url)
    migrations.upgrade(engine)
    with session_scope(engine) as session:
        token = new_token()
        session.add(SignupRequest(email=EMAIL, token_hash=digest(token),
                                  expires_at=utcnow() + dt.timedelta(hours=1)))
        isp = complete_signup(session, settings, SignupCompletion(
            token=token, password=PASSWORD, full_name="Admin",
            isp=IspDetails(name="Overhead ISP", namespace_label="overhead",
                           currency="USD"))).isp
    with session_scope(engine) as session:
        customer = make_customer(session, isp)
        tenant = make_tenant(session, isp, customer)
        session.add_all([Subscriber(tenant_id=tenant.id, username=f"user{n:03d}",
                                    display_name=f"User {n}", email=f"user{n}@example.com",
                                    alias=str(1000 + n), sip_password_encrypted="x",
                                    ha1="0" * 32, ha1b="0" * 32, country_code="1")
                         for n in range(SUBSCRIBERS)])
    engine.dispose()


async def client_for(app: object) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
                               base_url="http://testserver", timeout=30)
    login = (await client.post("/graphql", json={"query": LOGIN, "variables": {
        "email": EMAIL, "password": PASSWORD}})).json()["data"]["login"]
    client.headers["X-CSRF-Token"] = login["csrfToken"]
    return client


async def timed(client: httpx.AsyncClient) -> float:
    started = time.perf_counter()
    answer = (await client.post("/graphql", json={"query": QUERY,
                                                  "variables": {"first": 20}})).json()
    elapsed = time.perf_counter() - started
    assert "errors" not in answer, answer
    assert len(answer["data"]["subscribers"]["edges"]) == 20
    return elapsed * 1000


async def run(settings: Settings, requests: int) -> tuple[list[float], list[float]]:
    instrumented, bare = create_app(settings), create_app(settings, instrumented=False)
    async with LifespanManager(instrumented), LifespanManager(bare):
        with_all, without = await client_for(instrumented), await client_for(bare)
        for _ in range(20):  # warm-up: connections, caches, JIT-free but cold imports
            await timed(with_all)
            await timed(without)
        measured: tuple[list[float], list[float]] = ([], [])
        configure_logging("INFO", "json")
        for _ in range(requests):
            logging.getLogger().setLevel(logging.INFO)
            measured[0].append(await timed(with_all))
            logging.getLogger().setLevel(logging.WARNING)
            measured[1].append(await timed(without))
        await with_all.aclose()
        await without.aclose()
    return measured


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[round(0.95 * (len(ordered) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400)
    arguments = parser.parse_args()
    directory = Path(tempfile.mkdtemp())
    url = f"sqlite:///{directory / 'overhead.db'}"
    settings = Settings(_env_file=None, database_url=url, broker_url="stub://",
                        secret_keys="66" * 32, data_dir=directory, log_format="json",
                        public_base_url="http://testserver",
                        # The budget is charged (the cost is computed), never exhausted.
                        query_budget=100_000_000)
    seed(url, settings)
    sys.stderr = open(os.devnull, "w")  # the JSON log lines are written, then dropped  # noqa: SIM115
    try:
        with_all, without = asyncio.run(run(settings, arguments.requests))
    finally:
        sys.stderr = sys.__stderr__
    overhead = statistics.median(with_all) / statistics.median(without) - 1
    print(f"subscriber page (20 of {SUBSCRIBERS}, totalCount, pageInfo), "
          f"{arguments.requests} requests each, alternating")
    for title, figures in (("with metrics + JSON logs + cost analysis", with_all),
                           ("without", without)):
        print(f"  {title:41} median {statistics.median(figures):.2f} ms, "
              f"p95 {p95(figures):.2f} ms")
    print(f"  overhead of the median: {overhead * 100:+.1f} % (goal: under 10 %)")


if __name__ == "__main__":
    main()
