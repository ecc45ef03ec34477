"""Carriers and gateways over HTTP: each operation's success, not-found, not-permitted, bad input.

Tenants have no API yet, so the tenant that keeps a carrier in use is arranged in
the database; so is the read-only colleague, who then logs in.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.applications import Starlette

from core.models import Administrator, AuditEvent, Isp, Role, RoleGrant, Scope
from core.passwords import hash_password
from schema.core.ids import from_global_id, id_of, to_global_id
from tests.factories import make_carrier, make_customer, make_gateway, make_tenant
from tests.graphql import PASSWORD, Client, SignedUp
from tests.schema.test_pagination import count_statements

GATEWAY = """id position description address port socketAddress strip prefix fromUser
             fromDisplay addPai attributes { key value } carrier { id }"""
SELECTIONS = {
    "carrierCreate": "carrier { id name description isp { id } }",
    "carrierUpdate": "carrier { id name description }",
    "carrierDelete": "deletedId",
    "gatewayCreate": f"gateway {{ {GATEWAY} }}",
    "gatewayUpdate": f"gateway {{ {GATEWAY} }}",
    "gatewayDelete": "deletedId",
    "gatewaysReorder": "carrier { id gateways { id position address } }",
}
CARRIERS = """query($filter: CarrierFilter, $orderBy: CarrierOrder, $first: Int) {
  carriers(filter: $filter, orderBy: $orderBy, first: $first) {
    totalCount
    edges { node { id name isp { name } gateways { address port position } } }
  }
}"""


async def payload_of(client: Client, mutation: str, selection: str,
                     input: dict[str, Any]) -> dict[str, Any]:
    """The payload of ``mutation`` (named as in the schema), with its errors."""
    input_type = f"{mutation[0].upper()}{mutation[1:]}Input"
    query = (f"mutation($input: {input_type}!) {{ {mutation}(input: $input) "
             f"{{ {selection} errors {{ field code message }} }} }}")
    return (await client.execute(query, {"input": input}))[mutation]


async def mutate(client: Client, mutation: str, /, **input: Any) -> dict[str, Any]:
    return await payload_of(client, mutation, SELECTIONS[mutation], input)


def codes(payload: dict[str, Any]) -> list[tuple[list[str] | None, str]]:
    return [(error["field"], error["code"]) for error in payload["errors"]]


def isp_of(session: Session, signed: SignedUp) -> Isp:
    return session.get(Isp, id_of(signed.isp_id, "Isp"))


async def log_in_viewer(app: Starlette, session: Session, isp: SignedUp) -> Client:
    """A new colleague holding the read-only VIEWER role in ``isp``, logged in."""
    email = f"viewer{uuid.uuid4().hex[:6]}@people.example"
    person = Administrator(email=email, full_name="Vi Ewer",
                           password_hash=hash_password(PASSWORD))
    session.add(person)
    session.flush()
    session.add(RoleGrant(administrator_id=person.id, scope=Scope.ISP, role=Role.VIEWER,
                          isp_id=isp_of(session, isp).id))
    session.commit()
    client = Client(app)
    assert (await client.login(email))["errors"] == []
    return client


@pytest.fixture
async def viewer(app: Starlette, session: Session, isp_a: SignedUp) -> AsyncIterator[Client]:
    client = await log_in_viewer(app, session, isp_a)
    yield client
    await client.close()


async def new_carrier(isp: SignedUp, name: str = "Wholesale") -> str:
    payload = await mutate(isp.client, "carrierCreate", name=name)
    assert payload["errors"] == []
    return payload["carrier"]["id"]


async def new_gateway(isp: SignedUp, carrier: str, address: str, **fields: Any) -> dict:
    payload = await mutate(isp.client, "gatewayCreate", carrier=carrier, address=address,
                           **fields)
    assert payload["errors"] == [], payload["errors"]
    return payload["gateway"]


async def gateway_addresses(isp: SignedUp, carrier: str) -> list[tuple[str, int]]:
    data = await isp.client.execute(
        "query($id: ID!) { node(id: $id) { ... on Carrier { gateways { socketAddress "
        "position } } } }", {"id": carrier})
    gateways = data["node"]["gateways"]
    assert [gateway["position"] for gateway in gateways] == list(range(len(gateways)))
    return [gateway["socketAddress"] for gateway in gateways]


# Carriers --------------------------------------------------------------------------------------


async def test_carrier_create_update_and_list(isp_a: SignedUp):
    created = await mutate(isp_a.client, "carrierCreate", name="  Wholesale  ",
                           description="IP-authorised trunk")
    assert created["errors"] == []
    carrier = created["carrier"]
    assert (carrier["name"], carrier["isp"]["id"]) == ("Wholesale", isp_a.isp_id)
    updated = await mutate(isp_a.client, "carrierUpdate", id=carrier["id"], name="Backup")
    assert updated["carrier"] == {"id": carrier["id"], "name": "Backup",
                                  "description": "IP-authorised trunk"}
    await new_carrier(isp_a, "Anchor")
    data = await isp_a.client.execute(CARRIERS, {"orderBy": {"field": "NAME",
                                                             "direction": "DESC"}})
    assert [edge["node"]["name"] for edge in data["carriers"]["edges"]] == ["Backup", "Anchor"]
    found = await isp_a.client.execute(CARRIERS, {"filter": {"search": "authorised"}})
    assert [edge["node"]["name"] for edge in found["carriers"]["edges"]] == ["Backup"]
    wildcard = await isp_a.client.execute(CARRIERS, {"filter": {"search": "%"}})
    assert wildcard["carriers"]["totalCount"] == 0


async def test_carrier_names_are_required_and_unique_per_isp(isp_a: SignedUp, isp_b: SignedUp):
    await new_carrier(isp_a, "Wholesale")
    again = await mutate(isp_a.client, "carrierCreate", name="Wholesale")
    assert codes(again) == [(["name"], "ALREADY_EXISTS")]
    assert (await mutate(isp_b.client, "carrierCreate", name="Wholesale"))["errors"] == []
    blank = await mutate(isp_a.client, "carrierCreate", name=" ", description="x" * 501)
    assert codes(blank) == [(["name"], "REQUIRED"), (["description"], "INVALID")]
    other = await new_carrier(isp_a, "Other")
    clash = await mutate(isp_a.client, "carrierUpdate", id=other, name="Wholesale")
    assert codes(clash) == [(["name"], "ALREADY_EXISTS")]


async def test_carrier_create_for_an_isp_you_do_not_manage(isp_a: SignedUp, isp_b: SignedUp):
    theirs = await mutate(isp_a.client, "carrierCreate", name="X", isp=isp_b.isp_id)
    missing = await mutate(isp_a.client, "carrierCreate", name="X",
                           isp=to_global_id("Isp", uuid.uuid4()))
    assert theirs == missing
    assert codes(theirs) == [(["isp"], "NOT_FOUND")]
    assert codes(await mutate(isp_a.client, "carrierCreate", name="X", isp="bogus")) == [
        (["isp"], "NOT_FOUND")]


async def test_carrier_delete_takes_its_gateways(isp_a: SignedUp, session: Session):
    carrier = await new_carrier(isp_a)
    gateway = await new_gateway(isp_a, carrier, "192.0.2.10")
    deleted = await mutate(isp_a.client, "carrierDelete", id=carrier)
    assert deleted == {"deletedId": carrier, "errors": []}
    data = await isp_a.client.execute("query($id: ID!) { node(id: $id) { id } }",
                                      {"id": gateway["id"]})
    assert data["node"] is None


async def test_carrier_delete_is_refused_while_tenants_use_it(isp_a: SignedUp, session: Session):
    carrier = await new_carrier(isp_a)
    isp = isp_of(session, isp_a)
    make_tenant(session, isp, make_customer(session, isp), name="Acme PBX",
                carrier_id=id_of(carrier, "Carrier"))
    refused = await mutate(isp_a.client, "carrierDelete", id=carrier)
    assert codes(refused) == [(["id"], "IN_USE")]
    assert "Acme PBX" in refused["errors"][0]["message"]


async def test_changes_are_audited(isp_a: SignedUp, session: Session):
    carrier = await new_carrier(isp_a)
    first = await new_gateway(isp_a, carrier, "192.0.2.10")
    second = await new_gateway(isp_a, carrier, "192.0.2.11")
    await mutate(isp_a.client, "gatewaysReorder", carrier=carrier,
                 gateways=[second["id"], first["id"]])
    await mutate(isp_a.client, "gatewayDelete", id=first["id"])
    events = session.exec(select(AuditEvent).where(AuditEvent.object_type.in_(
        ["Carrier", "Gateway"])).order_by(AuditEvent.occurred_at)).all()
    assert [event.action for event in events] == [
        "carrier.create", "gateway.create", "gateway.create", "carrier.reorder_gateways",
        "gateway.delete"]
    assert {event.isp_id for event in events} == {isp_of(session, isp_a).id}


# Gateway addresses -----------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "address", "port"), [
    ("192.0.2.10", "192.0.2.10", 5060),
    (" 192.0.2.10:5080 ", "192.0.2.10", 5080),
    ("2001:DB8:0:0::1", "2001:db8::1", 5060),
    ("[2001:db8::1]:5061", "2001:db8::1", 5061),
    ("[2001:db8::1]", "2001:db8::1", 5060),
    ("::ffff:192.0.2.7", "192.0.2.7", 5060),
    ("127.0.0.1:65535", "127.0.0.1", 65535),
])
async def test_gateway_address_forms(isp_a: SignedUp, typed: str, address: str, port: int):
    carrier = await new_carrier(isp_a)
    gateway = await new_gateway(isp_a, carrier, typed)
    assert (gateway["address"], gateway["port"]) == (address, port)


@pytest.mark.parametrize(("typed", "says"), [
    ("sip.carrier.example", "host names are refused"),
    ("sip.carrier.example:5060", "host names are refused"),
    ("192.0.2.0/24", "not a network"),
    ("192.0.2.10:", "write the port"),
    ("192.0.2.10:sip", "write the port"),
    ("192.0.2.10:0", "between 1 and 65535"),
    ("192.0.2.10:65536", "between 1 and 65535"),
    ("[2001:db8::1]:", "write the port"),
    ("[192.0.2.10]:5060", "brackets are for IPv6"),
    ("fe80::1%eth0", "zone ids"),
    ("0.0.0.0", "cannot be a gateway"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("[::]:5060", "unspecified"),
    ("255.255.255.255", "broadcast"),
    ("169.254.10.1:5060", "link-local"),
    ("fe80::1", "link-local"),
    ("192.0.2.300", "not an IP address"),
])
async def test_gateway_addresses_refused(isp_a: SignedUp, typed: str, says: str):
    carrier = await new_carrier(isp_a)
    payload = await mutate(isp_a.client, "gatewayCreate", carrier=carrier, address=typed)
    assert codes(payload) == [(["address"], "INVALID")]
    assert says in payload["errors"][0]["message"]


@pytest.mark.parametrize("typed", ["10.1.2.3", "172.16.0.9:5080", "192.168.1.1", "fd00::5"])
async def test_private_interconnect_addresses_are_gateways(isp_a: SignedUp, typed: str):
    carrier = await new_carrier(isp_a)
    payload = await mutate(isp_a.client, "gatewayCreate", carrier=carrier, address=typed)
    assert payload["errors"] == []


async def test_the_same_address_and_port_twice_in_a_carrier_is_refused(isp_a: SignedUp):
    carrier = await new_carrier(isp_a)
    await new_gateway(isp_a, carrier, "2001:db8::1")
    twice = await mutate(isp_a.client, "gatewayCreate", carrier=carrier,
                         address="[2001:DB8::1]:5060")
    assert codes(twice) == [(["address"], "ALREADY_EXISTS")]
    assert "[2001:db8::1]:5060" in twice["errors"][0]["message"]
    other_port = await new_gateway(isp_a, carrier, "[2001:db8::1]:5080")
    moved_onto = await mutate(isp_a.client, "gatewayUpdate", id=other_port["id"],
                              address="2001:db8::1")
    assert codes(moved_onto) == [(["address"], "ALREADY_EXISTS")]
    elsewhere = await new_carrier(isp_a, "Elsewhere")
    await new_gateway(isp_a, elsewhere, "2001:db8::1")


# Gateway values --------------------------------------------------------------------------------


async def test_gateway_values_round_trip(isp_a: SignedUp):
    carrier = await new_carrier(isp_a)
    gateway = await new_gateway(
        isp_a, carrier, "192.0.2.10", description="Primary", strip=1, prefix="+#*9",
        fromUser="+12095550100", fromDisplay="Acme Inc.", addPai=True,
        attributes=[{"key": "max_calls", "value": " 030 "}, {"key": "transport", "value": "TCP"}])
    assert gateway | {"id": None, "carrier": None} == {
        "id": None, "carrier": None, "position": 0, "description": "Primary",
        "address": "192.0.2.10", "port": 5060, "socketAddress": "192.0.2.10:5060",
        "strip": 1, "prefix": "+#*9", "fromUser": "+12095550100", "fromDisplay": "Acme Inc.",
        "addPai": True, "attributes": [{"key": "max_calls", "value": "30"},
                                       {"key": "transport", "value": "tcp"}]}
    assert gateway["carrier"] == {"id": carrier}
    updated = await mutate(isp_a.client, "gatewayUpdate", id=gateway["id"], strip=0,
                           attributes=[{"key": "max_calls", "value": "2"}], address="[::1]:5070")
    assert updated["errors"] == []
    changed = updated["gateway"]
    assert (changed["strip"], changed["attributes"], changed["socketAddress"],
            changed["prefix"]) == (0, [{"key": "max_calls", "value": "2"}], "[::1]:5070", "+#*9")


@pytest.mark.parametrize(("fields", "field", "says"), [
    ({"strip": -1}, "strip", "0 to 15 digits"),
    ({"strip": 16}, "strip", "0 to 15 digits"),
    ({"prefix": "9a"}, "prefix", "digits, +, # and *"),
    ({"fromUser": "bob smith"}, "fromUser", "letters, digits"),
    ({"fromDisplay": 'Say "hi"'}, "fromDisplay", "quotes"),
    ({"attributes": [{"key": "a b", "value": "1"}]}, "attributes", "letters, digits"),
    # Only keys the proxies apply: anything else would be stored and ignored.
    ({"attributes": [{"key": "codec", "value": "PCMU"}]}, "attributes", "known: max_calls"),
    ({"attributes": [{"key": "max_calls", "value": "0"}]}, "attributes", "1 to 100000"),
    ({"attributes": [{"key": "max_calls", "value": "ten"}]}, "attributes", "whole number"),
    ({"attributes": [{"key": "transport", "value": "sctp"}]}, "attributes", "udp or tcp"),
    ({"attributes": [{"key": "max_calls", "value": "1"}, {"key": "max_calls", "value": "2"}]},
     "attributes", "given twice"),
    ({"attributes": [{"key": "a", "value": "x" * 257}]}, "attributes", "at most 256"),
    ({"attributes": [{"key": f"k{n}", "value": ""} for n in range(33)]}, "attributes",
     "at most 32"),
])
async def test_gateway_values_refused(isp_a: SignedUp, fields: dict, field: str, says: str):
    carrier = await new_carrier(isp_a)
    payload = await mutate(isp_a.client, "gatewayCreate", carrier=carrier,
                           address="192.0.2.10", **fields)
    assert codes(payload) == [([field], "INVALID")]
    assert says in payload["errors"][0]["message"]


async def test_every_mistake_is_reported_at_once(isp_a: SignedUp):
    carrier = await new_carrier(isp_a)
    payload = await mutate(isp_a.client, "gatewayCreate", carrier=carrier, address="gw",
                           strip=-1, prefix="x")
    assert codes(payload) == [(["address"], "INVALID"), (["strip"], "INVALID"),
                              (["prefix"], "INVALID")]


# Failover order --------------------------------------------------------------------------------


async def test_gateways_are_appended_or_inserted_at_a_position(isp_a: SignedUp):
    carrier = await new_carrier(isp_a)
    for address in ("192.0.2.1", "192.0.2.2"):
        await new_gateway(isp_a, carrier, address)
    await new_gateway(isp_a, carrier, "192.0.2.3", position=0)
    await new_gateway(isp_a, carrier, "192.0.2.4", position=2)
    assert await gateway_addresses(isp_a, carrier) == [
        "192.0.2.3:5060", "192.0.2.1:5060", "192.0.2.4:5060", "192.0.2.2:5060"]
    too_far = await mutate(isp_a.client, "gatewayCreate", carrier=carrier,
                           address="192.0.2.5", position=5)
    assert codes(too_far) == [(["position"], "INVALID")]


async def test_reorder_and_move_keep_positions_dense(isp_a: SignedUp):
    carrier = await new_carrier(isp_a)
    ids = [(await new_gateway(isp_a, carrier, f"192.0.2.{n}"))["id"] for n in range(1, 5)]
    reordered = await mutate(isp_a.client, "gatewaysReorder", carrier=carrier,
                             gateways=list(reversed(ids)))
    assert reordered["errors"] == []
    assert [g["id"] for g in reordered["carrier"]["gateways"]] == list(reversed(ids))
    moved = await mutate(isp_a.client, "gatewayUpdate", id=ids[3], position=3)
    assert moved["gateway"]["position"] == 3
    assert await gateway_addresses(isp_a, carrier) == [
        "192.0.2.3:5060", "192.0.2.2:5060", "192.0.2.1:5060", "192.0.2.4:5060"]
    beyond = await mutate(isp_a.client, "gatewayUpdate", id=ids[0], position=4)
    assert codes(beyond) == [(["position"], "INVALID")]


async def test_delete_repacks_positions(isp_a: SignedUp):
    carrier = await new_carrier(isp_a)
    ids = [(await new_gateway(isp_a, carrier, f"192.0.2.{n}"))["id"] for n in range(1, 4)]
    assert await mutate(isp_a.client, "gatewayDelete", id=ids[0]) == {"deletedId": ids[0],
                                                                      "errors": []}
    assert await gateway_addresses(isp_a, carrier) == ["192.0.2.2:5060", "192.0.2.3:5060"]


async def test_reorder_must_name_exactly_the_carriers_gateways(isp_a: SignedUp):
    carrier = await new_carrier(isp_a)
    ids = [(await new_gateway(isp_a, carrier, f"192.0.2.{n}"))["id"] for n in range(1, 4)]
    other = await new_carrier(isp_a, "Other")
    foreign = (await new_gateway(isp_a, other, "192.0.2.9"))["id"]
    for wrong in ([ids[0], ids[1]], [*ids, ids[0]], [ids[0], ids[1], foreign],
                  [ids[0], ids[1], carrier], [ids[0], ids[1], "bogus"]):
        payload = await mutate(isp_a.client, "gatewaysReorder", carrier=carrier, gateways=wrong)
        assert codes(payload) == [(["gateways"], "INVALID")], wrong
    assert await gateway_addresses(isp_a, carrier) == [
        "192.0.2.1:5060", "192.0.2.2:5060", "192.0.2.3:5060"]


# Who may do what -------------------------------------------------------------------------------


async def _operations(isp: SignedUp) -> list[tuple[str, dict[str, Any]]]:
    """Every mutation, with an input naming a real carrier or gateway of ``isp``."""
    carrier = await new_carrier(isp, f"c{uuid.uuid4().hex[:6]}")
    gateway = (await new_gateway(isp, carrier, "192.0.2.10"))["id"]
    return [
        ("carrierUpdate", {"id": carrier, "name": "Renamed"}),
        ("gatewayCreate", {"carrier": carrier, "address": "192.0.2.11"}),
        ("gatewayUpdate", {"id": gateway, "strip": 2}),
        ("gatewaysReorder", {"carrier": carrier, "gateways": [gateway]}),
        ("gatewayDelete", {"id": gateway}),
        ("carrierDelete", {"id": carrier}),
    ]


def missing_like(global_id: str) -> str:
    """An id of the same type that names nothing."""
    type_name, _ = from_global_id(global_id)
    return to_global_id(type_name, uuid.uuid4())


async def test_unknown_objects_are_not_found(isp_a: SignedUp):
    for name, input in await _operations(isp_a):
        key = "id" if "id" in input else "carrier"
        payload = await mutate(isp_a.client, name, **(input | {key: missing_like(input[key])}))
        assert codes(payload) == [([key], "NOT_FOUND")], name
        malformed = await mutate(isp_a.client, name, **(input | {key: "bogus"}))
        assert codes(malformed) == [([key], "NOT_FOUND")], name


async def test_a_viewer_may_read_but_not_change(isp_a: SignedUp, viewer: Client):
    operations = await _operations(isp_a)
    for name, input in operations:
        payload = await mutate(viewer, name, **input)
        assert codes(payload) == [(None, "NOT_PERMITTED")], name
    assert codes(await mutate(viewer, "carrierCreate", name="Mine", isp=isp_a.isp_id)) == [
        (None, "NOT_PERMITTED")]
    listed = await viewer.execute(CARRIERS)
    assert listed["carriers"]["totalCount"] == 1


async def test_anonymous_callers_must_log_in(isp_a: SignedUp, anonymous: Client):
    operations = [("carrierCreate", {"name": "X"}), *await _operations(isp_a)]
    for name, input in operations:
        assert codes(await mutate(anonymous, name, **input)) == [(None, "UNAUTHENTICATED")]


# Cost ------------------------------------------------------------------------------------------


async def test_a_page_of_carriers_with_gateways_costs_the_same_whatever_its_size(
    isp_a: SignedUp, engine: Engine, app: Starlette
):
    with Session(engine) as session:
        isp = isp_of(session, isp_a)
        for n in range(30):
            carrier = make_carrier(session, isp, name=f"carrier{n:02d}")
            make_gateway(session, carrier, address=f"192.0.2.{n}", position=0)
            make_gateway(session, carrier, address=f"198.51.100.{n}", position=1)
    with count_statements(app) as small:
        page = await isp_a.client.execute(CARRIERS, {"first": 2})
        assert len(page["carriers"]["edges"]) == 2
    with count_statements(app) as large:
        page = await isp_a.client.execute(CARRIERS, {"first": 30})
        assert [len(edge["node"]["gateways"]) for edge in page["carriers"]["edges"]] == [2] * 30
    assert len(large) == len(small), (small, large)
