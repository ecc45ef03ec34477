"""The incremental export leaves the proxy tables exactly as a full export would.

A property-style test: a seeded random sequence of GraphQL changes (subscribers,
extensions, caller IDs, forwards, numbers assigned, re-targeted and released,
tenants suspended, renamed and re-coded, customers suspended, security groups
opened, dial-plan rules and gateways changed); after each change the export runs
incrementally, and a full comparison of the same state (a dry run) must find
nothing left to write. Refused changes (typed errors) are part of the sequence:
they must leave nothing behind either.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session
from starlette.applications import Starlette

from core.database import session_scope
from core.models import RoutingChangeSubject
from core.routing_changes import request_export
from core.secrets import SecretBox, secret_box
from core.settings import Settings
from routing_export import exporter
from tests.graphql import Client, SignedUp, sign_up
from tests.routing.platform import add_proxy
from tests.routing.rpc_server import FakeProxy

pytestmark = pytest.mark.postgres

SEED = 16
STEPS = 60
ERRORS = "errors { field code message }"


@dataclass
class World:
    """What the sequence has made, by GraphQL id."""

    client: Client
    customers: list[str] = field(default_factory=list)
    tenants: list[str] = field(default_factory=list)
    subscribers: dict[str, str] = field(default_factory=dict)  # subscriber -> tenant
    numbers: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # id -> e164, tenant
    groups: dict[str, str] = field(default_factory=dict)  # security group -> tenant
    rules: list[str] = field(default_factory=list)
    gateways: list[str] = field(default_factory=list)
    created: int = 0

    async def run(self, mutation: str, input_: dict[str, Any], selection: str = "",
                  input_type: str | None = None) -> Any:
        """The payload; a refusal must be a typed error (field + code), nothing else."""
        input_type = input_type or f"{mutation[0].upper()}{mutation[1:]}Input"
        data = await self.client.execute(
            f"mutation($input: {input_type}!) {{ "
            f"{mutation}(input: $input) {{ {selection} {ERRORS} }} }}", {"input": input_})
        payload = data[mutation]
        for error in payload["errors"]:
            assert error["code"], error
        return payload


@pytest.fixture
async def isp(app: Starlette, engine: Engine) -> AsyncIterator[SignedUp]:
    signed = await sign_up(app, engine, label="prop")
    yield signed
    await signed.client.close()


async def build(world: World) -> None:
    run = world.run
    for n in range(2):
        world.customers.append((await run("customerCreate", {
            "name": f"Customer {n}", "maxSubscribers": 100, "maxConcurrentCalls": 5 + n},
            "customer { id }"))["customer"]["id"])
    carrier = (await run("carrierCreate", {"name": "Trunk"}, "carrier { id }"))["carrier"]["id"]
    for n in range(2):
        world.gateways.append((await run("gatewayCreate", {
            "carrier": carrier, "address": f"192.0.2.{10 + n}:5060", "prefix": "9"},
            "gateway { id }"))["gateway"]["id"])
    plan = (await run("dialPlanCreate", {"name": "7 digits"}, "dialPlan { id }"))["dialPlan"]["id"]
    world.rules.append((await run("dialPlanRuleCreate", {
        "dialPlan": plan, "matchExpression": "^[1-9][0-9]{6}$",
        "substitutionExpression": "([1-9][0-9]{6})", "replacement": "+_CC__AC_\\1"},
        "dialPlanRule { id }"))["dialPlanRule"]["id"])
    for n in range(3):
        tenant = (await run("tenantCreate", {
            "name": f"Tenant {n}", "domain": f"t{n}", "customer": world.customers[n % 2],
            "carrier": carrier, "dialPlan": plan if n < 2 else None,
            "defaultCountryCode": "1", "defaultAreaCode": "209"}, "tenant { id }"))
        world.tenants.append(tenant["tenant"]["id"])
        group = (await run("securityGroupCreate", {
            "tenant": tenant["tenant"]["id"], "name": "International", "prefixes": ["+44"]},
            "securityGroup { id }"))["securityGroup"]["id"]
        world.groups[group] = tenant["tenant"]["id"]
    for n in range(12):
        number = (await run("numberCreate", {"e164": f"+1209555{n:04d}", "sms": n % 3 == 0},
                            "number { id }"))["number"]["id"]
        world.numbers[number] = (f"+1209555{n:04d}", None)
    for n in range(6):
        await add_subscriber(world, random.Random(n))


async def add_subscriber(world: World, rng: random.Random) -> None:
    tenant = rng.choice(world.tenants)
    world.created += 1
    groups = [group for group, owner in world.groups.items() if owner == tenant]
    payload = await world.run("subscriberCreate", {
        "tenant": tenant, "username": f"user{world.created}",
        "alias": str(100 + world.created), "securityGroup": rng.choice([None, *groups]),
        "sipPassword": "Sip-Password-2026"}, "subscriber { id }")
    if payload["subscriber"]:
        world.subscribers[payload["subscriber"]["id"]] = tenant


def _subscriber_of(world: World, rng: random.Random, tenant: str | None = None) -> str | None:
    choices = [s for s, t in world.subscribers.items() if tenant is None or t == tenant]
    return rng.choice(choices) if choices else None


async def step(world: World, rng: random.Random) -> str:
    """One random change; returns what it was."""
    run = world.run
    kind = rng.choice([
        "subscriber_create", "subscriber_delete", "caller_id", "alias", "subscriber_status",
        "forward", "subscriber_group", "number_assign", "number_target", "number_release",
        "number_sms", "tenant_status", "tenant_area_code", "tenant_domain", "customer_status",
        "group_openings", "rule", "gateway"])
    subscriber = _subscriber_of(world, rng)
    number_id = rng.choice(list(world.numbers))
    e164, held_by = world.numbers[number_id]
    if kind == "subscriber_create" or (subscriber is None and kind != "number_assign"):
        await add_subscriber(world, rng)
        return "subscriber_create"
    assert subscriber is not None
    tenant = world.subscribers[subscriber]
    held = [e for e, t in world.numbers.values() if t == tenant]
    if kind == "subscriber_delete":
        if not (await run("subscriberDelete", {"id": subscriber}, "deletedId",
                              "SubscriberIdInput"))["errors"]:
            del world.subscribers[subscriber]
    elif kind == "caller_id":
        await run("subscriberUpdate", {"id": subscriber, "callerId": rng.choice(
            [*held, e164, ""])}, "subscriber { id }")
    elif kind == "alias":
        await run("subscriberUpdate", {"id": subscriber, "alias": str(rng.randrange(100, 130))},
                  "subscriber { id }")
    elif kind == "subscriber_status":
        await run("subscriberUpdate", {"id": subscriber, "status": rng.choice(
            ["ACTIVE", "DISABLED"])}, "subscriber { id }")
    elif kind == "forward":
        await run("subscriberUpdate", {"id": subscriber, rng.choice(
            ["forwardUnconditional", "forwardBusy", "forwardNoAnswer"]): rng.choice(
            ["", str(rng.randrange(100, 130)), "2095550123", "+442071234567", "+33142000000"])},
            "subscriber { id }")
    elif kind == "subscriber_group":
        groups = [group for group, owner in world.groups.items() if owner == tenant]
        await run("subscriberUpdate", {"id": subscriber, "securityGroup": rng.choice(groups)},
                  "subscriber { id }")
    elif kind == "number_assign":
        target = rng.choice(world.tenants)
        if not (await run("numberAssign", {"number": number_id, "tenant": target},
                          "number { id }"))["errors"]:
            world.numbers[number_id] = (e164, target)
    elif kind == "number_target":
        owner_subscriber = _subscriber_of(world, rng, held_by) if held_by else subscriber
        await run("numberTargetSet", {"number": number_id, "subscriber": rng.choice(
            [owner_subscriber, None])}, "number { id }")
    elif kind == "number_release":
        if not (await run("numberRelease", {"number": number_id}, "number { id }"))["errors"]:
            world.numbers[number_id] = (e164, None)
    elif kind == "number_sms":
        await run("numberUpdate", {"id": number_id, "sms": rng.random() < 0.5}, "number { id }")
    elif kind == "tenant_status":
        await run("tenantUpdate", {"id": rng.choice(world.tenants), "status": rng.choice(
            ["ACTIVE", "SUSPENDED"])}, "tenant { id }")
    elif kind == "tenant_area_code":
        await run("tenantUpdate", {"id": rng.choice(world.tenants), "defaultAreaCode": rng.choice(
            ["209", "559", ""])}, "tenant { id }")
    elif kind == "tenant_domain":
        await run("tenantUpdate", {"id": rng.choice(world.tenants),
                                   "domain": f"t{rng.randrange(0, 6)}"}, "tenant { id }")
    elif kind == "customer_status":
        await run("customerUpdate", {"id": rng.choice(world.customers), "status": rng.choice(
            ["ACTIVE", "SUSPENDED"])}, "customer { id }")
    elif kind == "group_openings":
        await run("securityGroupUpdate", {
            "id": rng.choice(list(world.groups)),
            "prefixes": rng.sample(["+44", "+33", "+4420", "+49"], rng.randrange(0, 3)),
            "countries": rng.sample(["FR", "DE", "GB"], rng.randrange(0, 2))},
            "securityGroup { id }")
    elif kind == "rule":
        await run("dialPlanRuleUpdate", {"id": world.rules[0], "replacement": rng.choice(
            ["+_CC__AC_\\1", "+1209\\1", "+1559\\1"])}, "dialPlanRule { id }")
    elif kind == "gateway":
        await run("gatewayUpdate", {"id": rng.choice(world.gateways), "prefix": rng.choice(
            ["", "9", "00", "+"])}, "gateway { id }")
    return kind


def _table_rows(url: str) -> int:
    with psycopg.connect(url) as connection:
        found = connection.execute("SELECT (SELECT count(*) FROM subscriber) + "
                                   "(SELECT count(*) FROM htable_did)").fetchone()
    return int(found[0]) if found else 0


async def test_incremental_exports_equal_a_full_export_after_every_change(
        isp: SignedUp, engine: Engine, settings: Settings, proxy_database: str,
        rpc: FakeProxy):
    box: SecretBox = secret_box(settings.secret_key_bytes())
    key = add_proxy(engine, box, proxy_database, rpc.url)
    world = World(isp.client)
    rng = random.Random(SEED)
    await build(world)
    first = exporter.export(engine, box, key)
    assert first.scope is None  # a new database: every row
    assert _table_rows(proxy_database) > 0

    kinds: dict[str, int] = {}
    full: set[str] = set()
    for number in range(STEPS):
        kind = await step(world, rng)
        kinds[kind] = kinds.get(kind, 0) + 1
        report = exporter.export(engine, box, key)
        if report.scope is None:
            full.add(kind)
        left = exporter.export(engine, box, key, dry_run=True)
        assert left.rows_written == 0, (
            f"step {number} ({kind}): the incremental export left differences\n"
            f"{report.describe()}\nfull comparison:\n{left.describe()}")
    # Every step was incremental, and the sequence covered most kinds of change.
    assert full == set()
    assert len(kinds) >= 15, kinds


async def test_a_change_touches_only_its_subjects_rows(
        isp: SignedUp, engine: Engine, settings: Settings, proxy_database: str,
        rpc: FakeProxy):
    box = secret_box(settings.secret_key_bytes())
    key = add_proxy(engine, box, proxy_database, rpc.url)
    world = World(isp.client)
    await build(world)
    exporter.export(engine, box, key)
    rpc.calls.clear()
    subscriber = next(iter(world.subscribers))
    await world.run("subscriberUpdate", {"id": subscriber, "alias": "555"},
                    "subscriber { id }")

    report = exporter.export(engine, box, key)

    assert report.scope is not None
    assert len(report.scope.tenants) == 1
    # One extension moved: one alias entry deleted and one set, no hash table reloaded.
    changed = {diff.table.name: diff for diff in report.diffs if diff.rows_written}
    assert set(changed) == {"htable_alias"}
    assert len(changed["htable_alias"].inserts) == 1
    assert len(changed["htable_alias"].deleted_keys) == 1
    assert [method for method, _params in rpc.calls] == ["htable.delete", "htable.sets"]
    assert rpc.calls[1][1][1].endswith(":555")


async def test_a_request_for_everything_compares_every_row_and_subjects_are_pruned(
        isp: SignedUp, engine: Engine, settings: Settings, proxy_database: str,
        rpc: FakeProxy):
    box = secret_box(settings.secret_key_bytes())
    key = add_proxy(engine, box, proxy_database, rpc.url)
    world = World(isp.client)
    await build(world)
    exporter.export(engine, box, key)
    with psycopg.connect(proxy_database) as connection:  # by hand, outside any subject
        connection.execute("UPDATE subscriber SET ha1 = 'stolen'")
    await world.run("gatewayUpdate", {"id": world.gateways[0], "prefix": "00"}, "gateway { id }")

    incremental = exporter.export(engine, box, key)
    with session_scope(engine) as session:  # what routing.reconcile and routingExport ask
        request_export(session)
    full = exporter.export(engine, box, key)

    assert incremental.scope is not None
    assert "subscriber" not in {diff.table.name for diff in incremental.diffs if diff.rows_written}
    assert full.scope is None
    assert {diff.table.name: diff.rows_written for diff in full.diffs
            if diff.rows_written} == {"subscriber": 6}
    with psycopg.connect(proxy_database) as connection:
        assert connection.execute("SELECT count(*) FROM subscriber WHERE ha1 = 'stolen'"
                                  ).fetchone() == (0,)
    with Session(engine) as session:  # every database covered them: nothing kept
        assert session.execute(select(func.count()).select_from(RoutingChangeSubject)
                               ).scalar_one() == 0
