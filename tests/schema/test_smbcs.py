"""Session and media border controllers over GraphQL."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session
from starlette.applications import Starlette

from core.models import AuditEvent, Customer, Isp, Role, Scope, TenantSmbc
from schema.core.ids import id_of, to_global_id
from tests.factories import make_tenant
from tests.graphql import Client, SignedUp
from tests.isolation_cases.plans_and_customers import (
    ERRORS,
    colleague,
    create_customer,
    create_smbc,
    read_only_colleague,
)

FIELDS = "id name address region customer { id name }"
CREATE = f"""mutation($input: SmbcCreateInput!) {{
  smbcCreate(input: $input) {{ smbc {{ {FIELDS} }} {ERRORS} }} }}"""
UPDATE = f"""mutation($input: SmbcUpdateInput!) {{
  smbcUpdate(input: $input) {{ smbc {{ {FIELDS} }} {ERRORS} }} }}"""
DELETE = f"""mutation($id: ID!) {{ smbcDelete(input: {{id: $id}}) {{ deletedId {ERRORS} }} }}"""
NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on Smbc {{ {FIELDS} }} }} }}"


def _codes(payload: dict[str, Any]) -> list[tuple[list[str] | None, str]]:
    return [(error["field"], error["code"]) for error in payload["errors"]]


async def _create(client: Client, **fields: Any) -> dict[str, Any]:
    values = {"name": "edge-1", "address": "192.0.2.10"} | fields
    return (await client.execute(CREATE, {"input": values}))["smbcCreate"]


async def _update(client: Client, smbc_id: str, **fields: Any) -> dict[str, Any]:
    return (await client.execute(UPDATE, {"input": {"id": smbc_id} | fields}))["smbcUpdate"]


async def test_an_smbc_belongs_to_the_isp_or_to_one_of_its_customers(isp_a: SignedUp,
                                                                    engine: Engine):
    own = await _create(isp_a.client, name="core-1", address="192.0.2.1:5060", region="eu-west")
    assert own["errors"] == []
    assert own["smbc"] | {"id": None} == {"id": None, "name": "core-1",
                                          "address": "192.0.2.1:5060", "region": "eu-west",
                                          "customer": None}
    customer_id = await create_customer(isp_a, "Acme")
    premises = await _create(isp_a.client, name="acme-premises", customer=customer_id)
    assert premises["smbc"]["customer"] == {"id": customer_id, "name": "Acme"}
    assert (await isp_a.client.execute(NODE, {"id": premises["smbc"]["id"]}))["node"] == \
        premises["smbc"]
    with Session(engine) as session:
        actions = session.execute(select(AuditEvent.action).where(
            AuditEvent.object_type == "Smbc")).scalars().all()
    assert actions == ["smbc.create", "smbc.create"]


@pytest.mark.parametrize(("given", "stored"), [
    ("192.0.2.10", "192.0.2.10"),
    (" 192.0.2.10:5061 ", "192.0.2.10:5061"),
    ("2001:DB8:0:0::1", "2001:db8::1"),
    ("[2001:db8::1]:5060", "[2001:db8::1]:5060"),
    ("[2001:db8::1]", "2001:db8::1"),
    ("SBC.Example.COM", "sbc.example.com"),
    ("sbc.example.com.:5080", "sbc.example.com:5080"),
    ("bücher.example", "xn--bcher-kva.example"),
])
async def test_addresses_are_ip_literals_or_domain_names_with_optional_ports(
    isp_a: SignedUp, given: str, stored: str
):
    payload = await _create(isp_a.client, address=given)
    assert payload["errors"] == []
    assert payload["smbc"]["address"] == stored


@pytest.mark.parametrize("address", [
    "", "sbc", "300.1.2.3", "192.0.2.10:0", "192.0.2.10:65536", "sbc.example.com:sip",
    "[sbc.example.com]:5060", "*.example.com", "http://sbc.example.com",
    ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 57]) + ":5060",  # 254 characters
])
async def test_bad_addresses_are_refused(isp_a: SignedUp, address: str):
    assert _codes(await _create(isp_a.client, address=address)) == [(["address"], "INVALID")]


@pytest.mark.parametrize(("fields", "expected"), [
    ({"name": "  "}, [(["name"], "REQUIRED")]),
    ({"region": "r" * 101}, [(["region"], "INVALID")]),
    ({"customer": to_global_id("Customer", uuid.uuid4())}, [(["customer"], "NOT_FOUND")]),
    ({"customer": "nonsense", "address": "x"}, [(["address"], "INVALID"),
                                                (["customer"], "NOT_FOUND")]),
])
async def test_bad_smbcs_are_refused(isp_a: SignedUp, fields: dict[str, Any],
                                     expected: list[tuple[list[str], str]]):
    assert _codes(await _create(isp_a.client, **fields)) == expected


async def test_smbc_names_are_unique_within_the_isp(isp_a: SignedUp, isp_b: SignedUp):
    await create_smbc(isp_a, "edge-1")
    await create_smbc(isp_b, "edge-1")
    assert _codes(await _create(isp_a.client, name="edge-1")) == [(["name"], "ALREADY_EXISTS")]


async def test_update_changes_only_what_is_given(isp_a: SignedUp):
    customer_id = await create_customer(isp_a)
    smbc_id = await create_smbc(isp_a, "edge-1", region="eu", customer=customer_id)
    moved = await _update(isp_a.client, smbc_id, address="[2001:db8::2]:5061", name=None)
    assert (moved["smbc"]["name"], moved["smbc"]["address"], moved["smbc"]["region"],
            moved["smbc"]["customer"]["id"]) == ("edge-1", "[2001:db8::2]:5061", "eu",
                                                 customer_id)
    own = await _update(isp_a.client, smbc_id, customer=None)
    assert own["smbc"]["customer"] is None
    assert _codes(await _update(isp_a.client, smbc_id, address="nowhere")) == [
        (["address"], "INVALID")]


async def test_an_smbc_used_by_a_tenant_cannot_be_deleted(isp_a: SignedUp, session: Session):
    smbc_id = await create_smbc(isp_a)
    await create_customer(isp_a, "Acme")
    isp = session.get(Isp, id_of(isp_a.isp_id, "Isp"))
    customer = session.execute(select(Customer)).scalar_one()
    tenant = make_tenant(session, isp, customer, name="Head office")
    link = TenantSmbc(tenant_id=tenant.id, smbc_id=id_of(smbc_id, "Smbc"))
    session.add(link)
    session.commit()
    refused = (await isp_a.client.execute(DELETE, {"id": smbc_id}))["smbcDelete"]
    assert _codes(refused) == [(["id"], "IN_USE")]
    assert "Head office" in refused["errors"][0]["message"]

    session.delete(link)
    session.commit()
    deleted = (await isp_a.client.execute(DELETE, {"id": smbc_id}))["smbcDelete"]
    assert deleted == {"deletedId": smbc_id, "errors": []}
    assert (await isp_a.client.execute(NODE, {"id": smbc_id}))["node"] is None


async def test_missing_smbcs_answer_not_found(isp_a: SignedUp):
    missing = to_global_id("Smbc", uuid.uuid4())
    assert _codes(await _update(isp_a.client, missing, name="x")) == [(["id"], "NOT_FOUND")]
    deleted = (await isp_a.client.execute(DELETE, {"id": missing}))["smbcDelete"]
    assert _codes(deleted) == [(["id"], "NOT_FOUND")]


async def test_viewers_and_anonymous_callers_cannot_change_smbcs(
    isp_a: SignedUp, app: Starlette, engine: Engine, anonymous: Client
):
    smbc_id = await create_smbc(isp_a)
    viewer = await read_only_colleague(isp_a, app, engine)
    assert (await viewer.execute(NODE, {"id": smbc_id}))["node"]["id"] == smbc_id
    for payload in (await _create(viewer, name="mine", isp=isp_a.isp_id),
                    await _update(viewer, smbc_id, name="mine"),
                    (await viewer.execute(DELETE, {"id": smbc_id}))["smbcDelete"]):
        assert _codes(payload) == [(None, "NOT_PERMITTED")]
    assert _codes(await _update(anonymous, smbc_id, name="x")) == [(None, "UNAUTHENTICATED")]


async def test_a_customers_administrator_sees_only_the_customers_own_smbcs(
    isp_a: SignedUp, app: Starlette, engine: Engine
):
    customer_id = await create_customer(isp_a, "Acme")
    theirs = await create_smbc(isp_a, "acme-premises", customer=customer_id)
    await create_smbc(isp_a, "isp-core")
    customer_admin = await colleague(
        app, engine, "it@acme.example", scope=Scope.CUSTOMER, role=Role.ADMIN,
        isp_id=id_of(isp_a.isp_id, "Isp"), customer_id=id_of(customer_id, "Customer"))
    data = await customer_admin.execute("{ smbcs { edges { node { id } } } }")
    assert [edge["node"]["id"] for edge in data["smbcs"]["edges"]] == [theirs]
    # The catalogue is managed by the ISP: the customer reads its SMBC but does not change it.
    assert _codes(await _update(customer_admin, theirs, region="x")) == [(None, "NOT_PERMITTED")]


LIST = """query($filter: SmbcFilter, $order: SmbcOrder, $first: Int, $after: String) {
  smbcs(filter: $filter, orderBy: $order, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { name } } } }"""


async def _names(client: Client, **variables: Any) -> list[str]:
    data = await client.execute(LIST, variables)
    return [edge["node"]["name"] for edge in data["smbcs"]["edges"]]


async def test_smbcs_list_filters_sorts_and_pages(isp_a: SignedUp, isp_b: SignedUp):
    acme = await create_customer(isp_a, "Acme")
    await create_smbc(isp_a, "alpha", region="us-east", address="sbc1.example.net")
    await create_smbc(isp_a, "bravo", region="eu-west", customer=acme)
    await create_smbc(isp_a, "charlie", region="ap-south")
    await create_smbc(isp_b, "alpha-b")
    assert await _names(isp_a.client) == ["alpha", "bravo", "charlie"]
    assert await _names(isp_a.client, filter={"search": "EXAMPLE.net"}) == ["alpha"]
    assert await _names(isp_a.client, filter={"search": "eu-"}) == ["bravo"]
    assert await _names(isp_a.client, filter={"customer": acme}) == ["bravo"]
    assert await _names(isp_a.client, order={"field": "REGION", "direction": "ASC"}) == [
        "charlie", "bravo", "alpha"]
    page = (await isp_a.client.execute(LIST, {"first": 2}))["smbcs"]
    assert page["totalCount"] == 3
    assert page["pageInfo"]["hasNextPage"]
    assert await _names(isp_a.client, first=2, after=page["pageInfo"]["endCursor"]) == [
        "charlie"]
