"""Change-to-live: from a GraphQL mutation's response to Kamailio routing the next call anew.

    .venv/bin/python benchmarks/change_to_live.py [--changes 40]

Needs PostgreSQL (throw-away databases: the control plane's and the proxy's,
dropped at the end) and Kamailio 5.6 with the shipped kamailio.cfg on loopback.
The control plane runs in this process as it does embedded: the GraphQL app
(called over ASGI), a worker on the in-process broker. One tenant's subscriber
calls 2488700 (7-digit dialling, area code 209) through the tenant's carrier,
whose gateway is a UDP socket here that records each INVITE's Request-URI.

Each round changes the gateway's prefix with ``gatewayUpdate`` and, from the
moment the response arrives, places calls back to back until one reaches the
gateway with the new prefix: that delay is the round's change-to-live time
(export job queued after commit, debounce, export, drouting reload). Prints
p50 / p95 / max over the rounds (goal: p95 under 1 s).
"""

from __future__ import annotations

import argparse
import asyncio
import queue
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg
from asgi_lifespan import LifespanManager

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.app import create_app  # noqa: E402
from benchmarks.databases import drop_database, make_database  # noqa: E402
from benchmarks.sip_probe import Gateway, Phone  # noqa: E402
from core import migrations  # noqa: E402
from core.database import make_sync_engine  # noqa: E402
from core.models import (  # noqa: E402
    Carrier,
    Customer,
    DialPlan,
    DialPlanRule,
    SipProxy,
    Subscriber,
    Tenant,
)
from core.models import Gateway as GatewayRow  # noqa: E402
from core.secrets import secret_box  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.sip_credentials import stored_credentials  # noqa: E402
from core.sip_proxies import database_key, shown_url  # noqa: E402
from routing_export.tables import create_tables  # noqa: E402
from schema.core.ids import to_global_id  # noqa: E402
from tests.e2e.proxy import free_port, running_proxy  # noqa: E402
from workers import context  # noqa: E402
from workers.broker import install_broker  # noqa: E402
from workers.jobs import transaction  # noqa: E402
from workers.runtime import start_worker, stop_worker  # noqa: E402

SECRET = "55" * 32
DOMAIN = "pbx.bench.example"
PASSWORD = "correct horse battery staple"
SIP_PASSWORD = "Sip-Password-2026"
ADMIN_EMAIL = "admin@bench.example"
UPDATE = """mutation($id: ID!, $prefix: String!) { gatewayUpdate(input: {id: $id,
  prefix: $prefix}) { gateway { prefix } errors { message } } }"""
LOGIN = """mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { csrfToken errors { message } } }"""
ROUND_TIMEOUT = 10.0
# Between probe calls: a call every few milliseconds, not a flood (see the note below).
PROBE_INTERVAL = 0.02


def seed(settings: Settings, gateway_port: int) -> uuid.UUID:
    """One ISP (and its administrator), a carrier with one gateway, a tenant, a subscriber."""
    from core.models import SignupRequest, utcnow
    from core.signup import IspDetails, SignupCompletion, complete_signup
    from core.tokens import digest, new_token

    with transaction() as session:
        token = new_token()
        session.add(SignupRequest(email=ADMIN_EMAIL, token_hash=digest(token),
                                  expires_at=utcnow() + __import__("datetime").timedelta(hours=1)))
        isp = complete_signup(session, settings, SignupCompletion(
            token=token, password=PASSWORD, full_name="Bench Admin",
            isp=IspDetails(name="Bench ISP", namespace_label="bench", currency="USD"))).isp
        customer = Customer(isp_id=isp.id, name="Customer")
        carrier = Carrier(isp_id=isp.id, name="Trunk")
        plan = DialPlan(isp_id=isp.id, name="7 digits")
        session.add_all([customer, carrier, plan])
        session.flush()
        gateway = GatewayRow(carrier_id=carrier.id, position=0, address="127.0.0.1",
                             port=gateway_port, prefix="100")
        session.add_all([gateway, DialPlanRule(
            dial_plan_id=plan.id, priority=1, match_expression="^[1-9][0-9]{6}$",
            substitution_expression="([1-9][0-9]{6})", replacement="+_CC__AC_\\1")])
        tenant = Tenant(isp_id=isp.id, customer_id=customer.id, name="Tenant", domain=DOMAIN,
                        carrier_id=carrier.id, dial_plan_id=plan.id, default_country_code="1",
                        default_area_code="209", provisioning_username="prov",
                        provisioning_password_encrypted="unused")
        session.add(tenant)
        session.flush()
        credentials = stored_credentials(settings, "alice", DOMAIN, SIP_PASSWORD)
        session.add(Subscriber(tenant_id=tenant.id, username="alice", country_code="1",
                               concurrent_calls=100,
                               sip_password_encrypted=credentials.sip_password_encrypted,
                               ha1=credentials.ha1, ha1b=credentials.ha1b))
        return gateway.id


def add_proxy(settings: Settings, proxy_db: str, rpc_url: str) -> None:
    box = secret_box(settings.secret_key_bytes())
    with transaction() as session:  # the export job is sent when this commits
        session.add(SipProxy(name="bench", database_url_encrypted=box.encrypt(proxy_db),
                             database_display=shown_url(proxy_db),
                             database_key=database_key(proxy_db), rpc_url=rpc_url))


async def wait_in_step(settings: Settings) -> None:
    """Until the first export is applied and reloaded (calls before it are refused)."""
    from sqlmodel import Session, select

    from core.models import RoutingDatabase

    deadline = time.perf_counter() + ROUND_TIMEOUT
    while time.perf_counter() < deadline:
        with Session(context.engine()) as session:
            proxy = session.exec(select(SipProxy)).first()
            database = session.exec(select(RoutingDatabase)).first()
        if proxy and database and database.generation and \
                proxy.applied_generation == database.generation:
            return
        await asyncio.sleep(0.05)
    raise SystemExit("the first export did not reach the proxy")


def routed_prefix(phone: Phone, gateway: Gateway) -> str | None:
    """Place one call; the Request-URI user the gateway saw (None if none arrived)."""
    while not gateway.invites.empty():
        gateway.invites.get_nowait()
    status = phone.call("2488700")
    try:
        uri = gateway.invites.get(timeout=1.0)
    except queue.Empty:
        print(f"  a call got {status} and reached no gateway", file=sys.stderr)
        return None
    return uri.removeprefix("sip:").split("@", 1)[0]


def wait_for_prefix(phone: Phone, gateway: Gateway, prefix: str) -> float:
    started = time.perf_counter()
    while True:
        user = routed_prefix(phone, gateway)
        # strip 0: the prefix, then the E.164 digits without "+"
        if user is not None and user == f"{prefix}12092488700":
            return time.perf_counter() - started
        time.sleep(PROBE_INTERVAL)
        if time.perf_counter() - started > ROUND_TIMEOUT:
            raise SystemExit(f"the proxy did not route with prefix {prefix} within "
                             f"{ROUND_TIMEOUT} s (last Request-URI user: {user})")


async def run(settings: Settings, proxy_db: str, changes: int) -> list[float]:
    gateway_port = free_port()
    gateway_id = seed(settings, gateway_port)
    gateway = Gateway(gateway_port)
    with psycopg.connect(proxy_db) as connection:
        create_tables(connection)
    app = create_app(settings)
    with tempfile.TemporaryDirectory() as run_dir, \
            running_proxy(proxy_db, Path(run_dir), fr_timer=1000) as proxy:
        phone = Phone(proxy.sip_port, "alice", DOMAIN, SIP_PASSWORD)
        add_proxy(settings, proxy_db, proxy.rpc_url)
        await wait_in_step(settings)
        first = wait_for_prefix(phone, gateway, "100")
        print(f"first export reached the proxy {first:.2f} s after the proxy was added")
        async with LifespanManager(app):
            http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://testserver", timeout=30)
            login = (await http.post("/graphql", json={"query": LOGIN, "variables": {
                "email": ADMIN_EMAIL, "password": PASSWORD}})).json()["data"]["login"]
            headers = {"X-CSRF-Token": login["csrfToken"]}
            global_id = to_global_id("Gateway", gateway_id)
            delays = []
            for round_number in range(changes):
                prefix = str(200 + round_number)
                answer = (await http.post("/graphql", headers=headers, json={
                    "query": UPDATE, "variables": {"id": global_id, "prefix": prefix}})).json()
                assert answer["data"]["gatewayUpdate"]["errors"] == [], answer
                delays.append(await asyncio.to_thread(wait_for_prefix, phone, gateway, prefix))
            await http.aclose()
        phone.close()
    gateway.close()
    return delays


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--changes", type=int, default=40)
    arguments = parser.parse_args()
    control, proxy_db = make_database("control"), make_database("proxy")
    engine = make_sync_engine(control)
    migrations.upgrade(engine)
    engine.dispose()
    settings = Settings(_env_file=None, database_url=control, broker_url="stub://",
                        secret_keys=SECRET, data_dir=Path(tempfile.mkdtemp()),
                        public_base_url="http://testserver", log_level="WARNING")
    context.configure(settings)
    worker = start_worker(install_broker(settings.broker_url), threads=2)
    print("control plane: PostgreSQL, in-process broker and worker; proxy: Kamailio "
          "5.6 with routing_export/kamailio/kamailio.cfg on 127.0.0.1")
    try:
        delays = asyncio.run(run(settings, proxy_db, arguments.changes))
    finally:
        stop_worker(worker)
        context.engine().dispose()
        drop_database(control)
        drop_database(proxy_db)
    milliseconds = [delay * 1000 for delay in delays]
    print(f"change-to-live over {len(delays)} gateway prefix changes: "
          f"p50 {statistics.median(milliseconds):.0f} ms, "
          f"p95 {percentile(milliseconds, 0.95):.0f} ms, max {max(milliseconds):.0f} ms "
          f"(goal: p95 under 1000 ms)")


if __name__ == "__main__":
    main()
