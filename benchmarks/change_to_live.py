"""Change-to-live: from a GraphQL mutation's response to Kamailio routing the next call anew.

    .venv/bin/python benchmarks/change_to_live.py [--tenants 100] [--changes 25]

Needs PostgreSQL (throw-away databases: the control plane's and the proxy's,
dropped at the end) and Kamailio 5.6 with the shipped kamailio.cfg on loopback,
started with ``KAMAILIO_OPTIONS`` below. The control plane runs in this process
as it does embedded: the GraphQL app (called over ASGI), a worker on the
in-process broker. One tenant's subscriber calls 2488700 (7-digit dialling,
area code 209) through the tenant's carrier, whose gateway is a UDP socket here
that records each INVITE's Request-URI and From user.

The platform around that tenant: ``--tenants`` tenants of 1,000 subscribers with
2 numbers each (default 100: 100,000 subscribers and 200,000 numbers), seeded
with bulk inserts before the proxy is added; ``--tenants 0`` for the small
platform. The first export (full) and each module's reload at that size are
timed, and the proxy's shared memory after loading it is shown.

The rounds cycle through five kinds of change, each made with its mutation; the
round's time runs from the response until the proxy acts on the change:
- gateway prefix (``gatewayUpdate``): a call reaches the gateway with it;
- dial-plan rule (``dialPlanRuleUpdate``, a new area code in the replacement): a
  call reaches the gateway with the number it makes;
- subscriber caller ID (``subscriberUpdate``): a call's From user is the new one
  (``subscriber`` is read by auth_db on every call: live once exported);
- number re-target (``numberTargetSet``): the proxy's ``did`` entry names the new
  subscriber (``htable.get`` over JSON-RPC: what the cfg looks up per INVITE);
- security group opening (``securityGroupUpdate``): the proxy's ``sg`` entry of
  the new prefix is there (``htable.get``).
Then the same kinds again with every export forced to a full comparison (what
every export did before issue 16), in the same run: p50 / p95 / max of both and
the ratio (goal: p95 under 1 s, under 250 ms wanted).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import queue
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from asgi_lifespan import LifespanManager

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.app import create_app  # noqa: E402
from benchmarks.databases import drop_database, make_database  # noqa: E402
from benchmarks.routing_export import seed as seed_platform  # noqa: E402
from benchmarks.sip_probe import Gateway, Phone  # noqa: E402
from core import migrations  # noqa: E402
from core.database import make_sync_engine, session_scope  # noqa: E402
from core.models import (  # noqa: E402
    Carrier,
    Customer,
    DialPlan,
    DialPlanRule,
    Number,
    NumberState,
    SecurityGroup,
    SecurityGroupDestination,
    SipProxy,
    Subscriber,
    Tenant,
)
from core.models import Gateway as GatewayRow  # noqa: E402
from core.secrets import secret_box  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.sip_credentials import stored_credentials  # noqa: E402
from core.sip_proxies import database_key, shown_url  # noqa: E402
from routing_export import scope as scopes  # noqa: E402
from routing_export.exporter import ALL_RELOADS  # noqa: E402
from routing_export.rpc import ProxyClient  # noqa: E402
from routing_export.tables import create_tables  # noqa: E402
from schema.core.ids import to_global_id  # noqa: E402
from tests.e2e.proxy import free_port, rpc_call, running_proxy  # noqa: E402
from workers import context  # noqa: E402
from workers.broker import install_broker  # noqa: E402
from workers.runtime import start_worker, stop_worker  # noqa: E402

# Kamailio's command-line options beyond those it ships with (tests/e2e/proxy.py starts it
# as the Dockerfile and compose.yaml do: -x tlsf -m 4096 -M 128): none, the proxy runs
# exactly as shipped.
KAMAILIO_OPTIONS: tuple[str, ...] = ()

SECRET = "55" * 32
DOMAIN = "pbx.bench.example"
PASSWORD = "correct horse battery staple"
SIP_PASSWORD = "Sip-Password-2026"
ADMIN_EMAIL = "admin@bench.example"
ERRORS = "errors { message }"
LOGIN = """mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { csrfToken errors { message } } }"""
ROUND_TIMEOUT = 10.0
FIRST_EXPORT_TIMEOUT = 600.0
# Between probes: a call every few milliseconds, not a flood.
PROBE_INTERVAL = 0.02
CALLER_IDS = [f"+1209555{n:04d}" for n in range(1, 5)]  # numbers the tenant holds
DID = "+12095550100"  # the tenant's number re-targeted between alice and bob
DIALLED = "2488700"


@dataclass
class Seeded:
    gateway: uuid.UUID
    rule: uuid.UUID
    group: uuid.UUID
    did: uuid.UUID
    subscribers: dict[str, uuid.UUID]


def seed(settings: Settings, gateway_port: int) -> Seeded:
    """One ISP (and its administrator), a carrier with one gateway, a tenant with a dial
    plan, alice (with a security group and caller ID) and bob, numbers the tenant holds."""
    from core.models import SignupRequest, utcnow
    from core.signup import IspDetails, SignupCompletion, complete_signup
    from core.tokens import digest, new_token

    with session_scope(context.engine()) as session:
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
        rule = DialPlanRule(dial_plan_id=plan.id, priority=1, match_expression="^[1-9][0-9]{6}$",
                            substitution_expression="([1-9][0-9]{6})", replacement="+_CC__AC_\\1")
        session.add_all([gateway, rule])
        tenant = Tenant(isp_id=isp.id, customer_id=customer.id, name="Tenant", domain=DOMAIN,
                        carrier_id=carrier.id, dial_plan_id=plan.id, default_country_code="1",
                        default_area_code="209", provisioning_username="prov",
                        provisioning_password_encrypted="unused")
        session.add(tenant)
        session.flush()
        group = SecurityGroup(tenant_id=tenant.id, name="International")
        session.add(group)
        session.flush()
        session.add(SecurityGroupDestination(security_group_id=group.id, prefix="+4420"))
        subscribers = {}
        for username in ("alice", "bob"):
            credentials = stored_credentials(settings, username, DOMAIN, SIP_PASSWORD)
            subscriber = Subscriber(
                tenant_id=tenant.id, username=username, country_code="1", concurrent_calls=100,
                security_group_id=group.id, caller_id=CALLER_IDS[0] if username == "alice"
                else None, sip_password_encrypted=credentials.sip_password_encrypted,
                ha1=credentials.ha1, ha1b=credentials.ha1b)
            session.add(subscriber)
            session.flush()
            subscribers[username] = subscriber.id
        numbers = [Number(isp_id=isp.id, e164=e164, state=NumberState.ASSIGNED,
                          tenant_id=tenant.id,
                          target_subscriber_id=subscribers["alice"] if e164 == DID else None)
                   for e164 in [*CALLER_IDS, DID]]
        session.add_all(numbers)
        session.flush()
        return Seeded(gateway=gateway.id, rule=rule.id, group=group.id, did=numbers[-1].id,
                      subscribers=subscribers)


def add_proxy(settings: Settings, proxy_db: str, rpc_url: str) -> None:
    box = secret_box(settings.secret_key_bytes())
    with session_scope(context.engine()) as session:  # the export job is sent when this commits
        session.add(SipProxy(name="bench", database_url_encrypted=box.encrypt(proxy_db),
                             database_display=shown_url(proxy_db),
                             database_key=database_key(proxy_db), rpc_url=rpc_url))


async def wait_in_step(settings: Settings, seconds: float) -> None:
    """Until the first export is applied and reloaded (calls before it are refused)."""
    from sqlmodel import Session, select

    from core.models import RoutingDatabase

    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        with Session(context.engine()) as session:
            proxy = session.exec(select(SipProxy)).first()
            database = session.exec(select(RoutingDatabase)).first()
        if proxy and database and database.generation and \
                proxy.applied_generation == database.generation:
            return
        if proxy and proxy.last_error:
            raise SystemExit(f"the proxy did not load the first export: {proxy.last_error}")
        await asyncio.sleep(0.05)
    raise SystemExit("the first export did not reach the proxy")


@dataclass
class Probe:
    phone: Phone
    gateway: Gateway
    rpc_url: str

    def call(self) -> tuple[str, str] | None:
        """Place one call; the Request-URI user and From user the gateway saw."""
        for waiting in (self.gateway.invites, self.gateway.from_users):
            while not waiting.empty():
                waiting.get_nowait()
        status = self.phone.call(DIALLED)
        try:
            uri = self.gateway.invites.get(timeout=1.0)
            from_user = self.gateway.from_users.get(timeout=1.0)
        except queue.Empty:
            print(f"  a call got {status} and reached no gateway", file=sys.stderr)
            return None
        return uri.removeprefix("sip:").split("@", 1)[0], from_user

    def entry(self, table: str, key: str) -> str | None:
        """The proxy's hash-table entry (None: absent)."""
        answer = rpc_call(self.rpc_url, "htable.get", table, key)
        result = answer.get("result")
        if not isinstance(result, dict):
            return None
        item = result.get("item", result)
        return str(item.get("value")) if isinstance(item, dict) else json.dumps(result)

    def wait(self, live: Callable[[], bool], what: str) -> float:
        started = time.perf_counter()
        while not live():
            if time.perf_counter() - started > ROUND_TIMEOUT:
                raise SystemExit(f"the proxy did not apply {what} within {ROUND_TIMEOUT} s")
            time.sleep(PROBE_INTERVAL)
        return time.perf_counter() - started


@dataclass
class Rounds:
    """The changes, in turn, and what the proxy does once each is live."""

    http: httpx.AsyncClient
    headers: dict[str, str]
    probe: Probe
    seeded: Seeded
    group_key: int
    prefix: str = "100"
    area_code: str = "209"
    caller_id: str = CALLER_IDS[0]
    did_target: str = "alice"
    count: int = 0

    async def mutate(self, name: str, input_: dict[str, object]) -> None:
        type_name = name[0].upper() + name[1:] + "Input"
        answer = (await self.http.post("/graphql", headers=self.headers, json={
            "query": f"mutation($input: {type_name}!) {{ {name}(input: $input) {{ {ERRORS} }} }}",
            "variables": {"input": input_}})).json()
        assert answer.get("data"), answer
        assert answer["data"][name]["errors"] == [], answer

    def routed(self, user: str | None = None, from_user: str | None = None) -> Callable[[], bool]:
        def live() -> bool:
            seen = self.probe.call()
            return seen is not None and (user is None or seen[0] == user) and (
                from_user is None or seen[1] == from_user)
        return live

    async def one(self, kind: str) -> float:
        self.count += 1
        n = self.count
        if kind == "gateway prefix":
            self.prefix = str(200 + n)
            await self.mutate("gatewayUpdate", {"id": to_global_id("Gateway", self.seeded.gateway),
                                                "prefix": self.prefix})
            live = self.routed(user=f"{self.prefix}1{self.area_code}{DIALLED}")
        elif kind == "dial-plan rule":
            self.area_code = str(300 + n)
            await self.mutate("dialPlanRuleUpdate", {
                "id": to_global_id("DialPlanRule", self.seeded.rule),
                "replacement": f"+1{self.area_code}\\1"})
            live = self.routed(user=f"{self.prefix}1{self.area_code}{DIALLED}")
        elif kind == "subscriber caller ID":
            self.caller_id = CALLER_IDS[(CALLER_IDS.index(self.caller_id) + 1) % len(CALLER_IDS)]
            await self.mutate("subscriberUpdate", {
                "id": to_global_id("Subscriber", self.seeded.subscribers["alice"]),
                "callerId": self.caller_id})
            live = self.routed(from_user=self.caller_id)
        elif kind == "number re-target":
            self.did_target = "bob" if self.did_target == "alice" else "alice"
            await self.mutate("numberTargetSet", {
                "number": to_global_id("Number", self.seeded.did),
                "subscriber": to_global_id("Subscriber",
                                           self.seeded.subscribers[self.did_target])})
            target = f"{self.did_target}@{DOMAIN}"
            live = lambda: self.probe.entry("did", DID) == target  # noqa: E731
        else:  # security group opening
            prefix = f"+44{100 + n}"
            await self.mutate("securityGroupUpdate", {
                "id": to_global_id("SecurityGroup", self.seeded.group),
                "prefixes": ["+4420", prefix]})
            key = f"{self.group_key}:{prefix}"
            live = lambda: self.probe.entry("sg", key) == "1"  # noqa: E731
        return await asyncio.to_thread(self.probe.wait, live, kind)


KINDS = ("gateway prefix", "dial-plan rule", "subscriber caller ID", "number re-target",
         "security group opening")


def module_reloads(rpc_url: str) -> list[tuple[str, float]]:
    """Each module's whole reload at this size, one after the other."""
    client = ProxyClient(rpc_url, timeout=120)
    timed = []
    try:
        for method, params in ALL_RELOADS:
            started = time.perf_counter()
            client.reload(method, *params)
            timed.append((method + (f"({params[0]})" if params else ""),
                          time.perf_counter() - started))
    finally:
        client.close()
    return timed


async def run(settings: Settings, proxy_db: str, changes: int, baseline: int
              ) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    gateway_port = free_port()
    seeded = seed(settings, gateway_port)
    gateway = Gateway(gateway_port)
    with psycopg.connect(proxy_db) as connection:
        create_tables(connection)
    app = create_app(settings)
    incremental: dict[str, list[float]] = {kind: [] for kind in KINDS}
    full: dict[str, list[float]] = {kind: [] for kind in KINDS}
    with tempfile.TemporaryDirectory() as run_dir, \
            running_proxy(proxy_db, Path(run_dir), fr_timer=1000, options=KAMAILIO_OPTIONS,
                          startup_timeout=60) as proxy:
        phone = Phone(proxy.sip_port, "alice", DOMAIN, SIP_PASSWORD)
        started = time.perf_counter()
        add_proxy(settings, proxy_db, proxy.rpc_url)
        await wait_in_step(settings, FIRST_EXPORT_TIMEOUT)
        print(f"first export (full) loaded by the proxy {time.perf_counter() - started:.1f} s "
              "after the proxy was added")
        memory = rpc_call(proxy.rpc_url, "core.shmmem").get("result", {})
        if isinstance(memory, dict) and memory.get("real_used"):
            print(f"proxy shared memory after loading: {memory['real_used'] / 2**20:.0f} MiB "
                  f"used of {memory.get('total', 0) / 2**20:.0f} MiB "
                  f"(Kamailio options: {' '.join(KAMAILIO_OPTIONS) or 'as shipped'})")
        with psycopg.connect(proxy_db) as connection:
            found = connection.execute("SELECT key_name FROM htable_sg LIMIT 1").fetchone()
        assert found, "the security group's opening is not exported"
        probe = Probe(phone, gateway, proxy.rpc_url)
        first_call = probe.call()
        assert first_call is not None, "the first call reached no gateway"
        assert first_call[0] == f"1001209{DIALLED}", first_call
        async with LifespanManager(app):
            http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://testserver", timeout=60)
            login = (await http.post("/graphql", json={"query": LOGIN, "variables": {
                "email": ADMIN_EMAIL, "password": PASSWORD}})).json()["data"]["login"]
            rounds = Rounds(http, {"X-CSRF-Token": login["csrfToken"]}, probe, seeded,
                            int(str(found[0]).split(":", 1)[0]))
            # The same changes with every export a full comparison (no scope is small
            # enough) after the incremental ones.
            kept = scopes.MAX_SCOPED_TENANTS
            try:
                for number in range(changes + baseline):
                    kind = KINDS[number % len(KINDS)]
                    if number == changes:
                        scopes.MAX_SCOPED_TENANTS = -1
                    delays = incremental if number < changes else full
                    delays[kind].append(await rounds.one(kind))
            except SystemExit:
                print(f"Kamailio's log ends with:\n{proxy.log[-3000:]}\nKamailio's exit status: "
                      f"{proxy.process.poll()} (negative: killed by that signal)",
                      file=sys.stderr)
                raise
            finally:
                scopes.MAX_SCOPED_TENANTS = kept
            await http.aclose()
        for name, seconds in module_reloads(proxy.rpc_url):
            print(f"  whole reload {name} at this size: {seconds * 1000:.0f} ms")
        phone.close()
    gateway.close()
    return incremental, full


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(delays: dict[str, list[float]]) -> tuple[str, float, float]:
    every = [delay * 1000 for kind in delays.values() for delay in kind]
    p50, p95 = statistics.median(every), percentile(every, 0.95)
    per_kind = ", ".join(f"{kind} {statistics.median(values) * 1000:.0f}"
                         for kind, values in delays.items() if values)
    return (f"{len(every)} changes: p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {max(every):.0f} ms"
            f"\n    median per kind (ms): {per_kind}", p50, p95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=100,
                        help="tenants of 1,000 subscribers (2 numbers each) around the probe's")
    parser.add_argument("--changes", type=int, default=25)
    parser.add_argument("--baseline", type=int, default=5,
                        help="changes exported with a full comparison, for the ratio")
    arguments = parser.parse_args()
    control, proxy_db = make_database("control"), make_database("proxy")
    engine = make_sync_engine(control)
    migrations.upgrade(engine)
    if arguments.tenants:
        started = time.perf_counter()
        seed_platform(engine, arguments.tenants, "bulk")
        print(f"platform: {arguments.tenants * 1000:,} subscribers and "
              f"{arguments.tenants * 2000:,} numbers seeded in "
              f"{time.perf_counter() - started:.0f} s (bulk inserts), plus the probe's tenant")
    engine.dispose()
    settings = Settings(_env_file=None, database_url=control, broker_url="stub://",
                        secret_keys=SECRET, data_dir=Path(tempfile.mkdtemp()),
                        public_base_url="http://testserver", log_level="WARNING")
    context.configure(settings)
    worker = start_worker(install_broker(settings.broker_url), threads=2)
    print("control plane: PostgreSQL, in-process broker and worker; proxy: Kamailio "
          "5.6 with routing_export/kamailio/kamailio.cfg on 127.0.0.1")
    try:
        incremental, full = asyncio.run(run(settings, proxy_db, arguments.changes,
                                            arguments.baseline))
    finally:
        stop_worker(worker)
        context.engine().dispose()
        drop_database(control)
        drop_database(proxy_db)
    text, p50, _p95 = summary(incremental)
    print(f"change-to-live, incremental exports, {text}")
    print("  (goal: p95 under 1000 ms, under 250 ms wanted)")
    if any(full.values()):
        full_text, full_p50, _full_p95 = summary(full)
        print(f"change-to-live, every export a full comparison, {full_text}")
        print(f"full comparison / incremental (p50): {full_p50 / p50:.1f}x")


if __name__ == "__main__":
    main()
