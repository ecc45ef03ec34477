"""Security groups over HTTP: each operation's success, not-found, not-permitted and bad input."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, func, select
from starlette.applications import Starlette

from core.models import AuditEvent, Role, SecurityGroup
from schema.core.ids import id_of, to_global_id
from tests.factories import make_security_group, make_subscriber
from tests.graphql import Client, SignedUp
from tests.schema.test_pagination import count_statements
from tests.schema.test_subscribers import Pbx, codes, pbx_of, someone, stored

GROUP = "securityGroup { id name description countries prefixes tenantId }"
OPERATIONS = {
    "securityGroupCreate": ("SecurityGroupCreateInput", GROUP),
    "securityGroupUpdate": ("SecurityGroupUpdateInput", GROUP),
    "securityGroupDelete": ("SecurityGroupDeleteInput", "deletedId"),
}
LIST = """query($filter: SecurityGroupFilter, $first: Int) {
  securityGroups(filter: $filter, first: $first) {
    totalCount edges { node { name countries prefixes } }
  }
}"""


async def mutate(client: Client, operation: str, **input: Any) -> dict[str, Any]:
    input_type, selection = OPERATIONS[operation]
    query = (f"mutation($input: {input_type}!) {{ {operation}(input: $input) "
             f"{{ {selection} errors {{ field code message }} }} }}")
    return (await client.execute(query, {"input": input}))[operation]


def group_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(SecurityGroup)).one()


@pytest.fixture
def pbx(isp_a: SignedUp, session: Session) -> Pbx:
    return pbx_of(session, isp_a)


def group_in(session: Session, pbx: Pbx, **fields: Any) -> str:
    return to_global_id("SecurityGroup", make_security_group(session, pbx.tenant, **fields).id)


# securityGroupCreate -----------------------------------------------------------------------------


async def test_security_group_create(isp_a: SignedUp, pbx: Pbx, session: Session):
    payload = await mutate(isp_a.client, "securityGroupCreate", tenant=pbx.id, name=" Europe ",
                           description="Sales calling Europe", countries=["gb", "FR", "GB"],
                           prefixes=["+353 1", "+49"])
    assert payload["errors"] == []
    group = payload["securityGroup"]
    assert {key: group[key] for key in ("name", "description", "countries", "prefixes",
                                        "tenantId")} == {
        "name": "Europe", "description": "Sales calling Europe", "countries": ["FR", "GB"],
        "prefixes": ["+3531", "+49"], "tenantId": pbx.id}
    event = session.exec(select(AuditEvent).where(
        AuditEvent.action == "security_group.create")).one()
    assert event.object_id == str(id_of(group["id"], "SecurityGroup"))
    listed = await isp_a.client.execute(LIST, {"filter": {"tenant": pbx.id}})
    assert listed["securityGroups"]["edges"] == [
        {"node": {"name": "Europe", "countries": ["FR", "GB"], "prefixes": ["+3531", "+49"]}}]


@pytest.mark.parametrize(("fields", "expected"), [
    ({"name": " "}, [(["name"], "REQUIRED")]),
    ({"countries": ["GB", "XX", ""]}, [(["countries", "1"], "INVALID"),
                                       (["countries", "2"], "REQUIRED")]),
    ({"prefixes": ["44", "+", "+1234567890123456"]}, [(["prefixes", "0"], "INVALID"),
                                                      (["prefixes", "1"], "INVALID"),
                                                      (["prefixes", "2"], "INVALID")]),
    ({"countries": ["GB"] * 1001}, [(["countries"], "TOO_LARGE")]),
    ({"description": "x" * 501}, [(["description"], "INVALID")]),
])
async def test_security_group_create_refuses_bad_input(
    isp_a: SignedUp, pbx: Pbx, session: Session, fields: dict[str, Any], expected: list[Any]
):
    payload = await mutate(isp_a.client, "securityGroupCreate",
                           **({"tenant": pbx.id, "name": "Europe"} | fields))
    assert codes(payload) == expected
    assert group_count(session) == 0


async def test_security_group_names_are_unique_in_a_tenant(isp_a: SignedUp, pbx: Pbx,
                                                           session: Session):
    group_in(session, pbx, name="Europe")
    payload = await mutate(isp_a.client, "securityGroupCreate", tenant=pbx.id, name="Europe")
    assert codes(payload) == [(["name"], "ALREADY_EXISTS")]
    elsewhere = await mutate(isp_a.client, "securityGroupCreate",
                             tenant=pbx_of(session, isp_a).id, name="Europe")
    assert elsewhere["errors"] == []


async def test_security_group_create_in_another_isps_tenant_is_not_found(
    isp_a: SignedUp, isp_b: SignedUp, session: Session
):
    attempt = await mutate(isp_a.client, "securityGroupCreate",
                           tenant=pbx_of(session, isp_b).id, name="x")
    missing = await mutate(isp_a.client, "securityGroupCreate",
                           tenant=to_global_id("Tenant", uuid.uuid4()), name="x")
    assert attempt == missing
    assert codes(attempt) == [(["tenant"], "NOT_FOUND")]


async def test_security_group_create_is_not_permitted_to_viewers(
    isp_a: SignedUp, pbx: Pbx, app: Starlette, engine: Engine
):
    viewer = await someone(app, engine, isp_a.isp_id, tenant=pbx.tenant, role=Role.VIEWER)
    payload = await mutate(viewer, "securityGroupCreate", tenant=pbx.id, name="x")
    assert codes(payload) == [(None, "NOT_PERMITTED")]


async def test_security_group_create_needs_a_login(anonymous: Client, pbx: Pbx):
    payload = await mutate(anonymous, "securityGroupCreate", tenant=pbx.id, name="x")
    assert codes(payload) == [(None, "UNAUTHENTICATED")]


# securityGroupUpdate -----------------------------------------------------------------------------


async def test_security_group_update_replaces_the_lists_given(isp_a: SignedUp, pbx: Pbx):
    created = await mutate(isp_a.client, "securityGroupCreate", tenant=pbx.id, name="Europe",
                           countries=["GB"], prefixes=["+49"])
    group_id = created["securityGroup"]["id"]
    payload = await mutate(isp_a.client, "securityGroupUpdate", id=group_id, countries=["FR"])
    assert (payload["securityGroup"]["countries"], payload["securityGroup"]["prefixes"]) == (
        ["FR"], ["+49"])
    renamed = await mutate(isp_a.client, "securityGroupUpdate", id=group_id, name="EU",
                           prefixes=[])
    assert (renamed["securityGroup"]["name"], renamed["securityGroup"]["countries"],
            renamed["securityGroup"]["prefixes"]) == ("EU", ["FR"], [])


async def test_security_group_update_refuses_bad_input(isp_a: SignedUp, pbx: Pbx,
                                                       session: Session):
    group_in(session, pbx, name="Taken")
    group_id = group_in(session, pbx, name="Mine")
    payload = await mutate(isp_a.client, "securityGroupUpdate", id=group_id, name="Taken")
    assert codes(payload) == [(["name"], "ALREADY_EXISTS")]
    payload = await mutate(isp_a.client, "securityGroupUpdate", id=group_id, countries=["EU"])
    assert codes(payload) == [(["countries", "0"], "INVALID")]


async def test_security_group_update_of_another_isps_group_is_not_found(
    isp_a: SignedUp, isp_b: SignedUp, session: Session
):
    theirs = group_in(session, pbx_of(session, isp_b))
    attempt = await mutate(isp_a.client, "securityGroupUpdate", id=theirs, name="x")
    missing = await mutate(isp_a.client, "securityGroupUpdate",
                           id=to_global_id("SecurityGroup", uuid.uuid4()), name="x")
    assert attempt == missing
    assert codes(attempt) == [(["id"], "NOT_FOUND")]


async def test_a_tenant_administrator_manages_only_that_tenants_groups(
    isp_a: SignedUp, pbx: Pbx, session: Session, app: Starlette, engine: Engine
):
    mine = group_in(session, pbx, name="Mine")
    theirs = group_in(session, pbx_of(session, isp_a), name="Theirs")
    admin = await someone(app, engine, isp_a.isp_id, tenant=pbx.tenant)
    assert (await mutate(admin, "securityGroupUpdate", id=mine, countries=["GB"]))[
        "errors"] == []
    listed = await admin.execute(LIST)
    assert [edge["node"]["name"] for edge in listed["securityGroups"]["edges"]] == ["Mine"]
    assert codes(await mutate(admin, "securityGroupUpdate", id=theirs, name="x")) == [
        (["id"], "NOT_FOUND")]
    assert codes(await mutate(admin, "securityGroupDelete", id=theirs)) == [
        (["id"], "NOT_FOUND")]


async def test_security_group_update_is_not_permitted_to_viewers(
    isp_a: SignedUp, pbx: Pbx, session: Session, app: Starlette, engine: Engine
):
    group_id = group_in(session, pbx)
    viewer = await someone(app, engine, isp_a.isp_id, role=Role.VIEWER)
    payload = await mutate(viewer, "securityGroupUpdate", id=group_id, name="x")
    assert codes(payload) == [(None, "NOT_PERMITTED")]


# securityGroupDelete -----------------------------------------------------------------------------


async def test_security_group_delete_closes_international_for_its_subscribers(
    isp_a: SignedUp, pbx: Pbx, session: Session
):
    group_id = group_in(session, pbx, name="Europe")
    member = make_subscriber(session, pbx.tenant,
                             security_group_id=id_of(group_id, "SecurityGroup"))
    payload = await mutate(isp_a.client, "securityGroupDelete", id=group_id)
    assert payload == {"deletedId": group_id, "errors": []}
    assert group_count(session) == 0
    assert stored(session, to_global_id("Subscriber", member.id)).security_group_id is None
    event = session.exec(select(AuditEvent).where(
        AuditEvent.action == "security_group.delete")).one()
    assert event.changes == {"name": "Europe", "subscribers_closed": 1}


async def test_security_group_delete_is_not_permitted_to_viewers(
    isp_a: SignedUp, pbx: Pbx, session: Session, app: Starlette, engine: Engine
):
    group_id = group_in(session, pbx)
    viewer = await someone(app, engine, isp_a.isp_id, tenant=pbx.tenant, role=Role.VIEWER)
    assert codes(await mutate(viewer, "securityGroupDelete", id=group_id)) == [
        (None, "NOT_PERMITTED")]
    assert group_count(session) == 1


# securityGroups ----------------------------------------------------------------------------------


async def test_security_groups_are_filtered_by_tenant(isp_a: SignedUp, pbx: Pbx,
                                                      session: Session, anonymous: Client):
    group_in(session, pbx, name="Mine")
    other = pbx_of(session, isp_a)
    group_in(session, other, name="Other")
    listed = await isp_a.client.execute(LIST, {"filter": {"tenant": other.id}})
    assert [edge["node"]["name"] for edge in listed["securityGroups"]["edges"]] == ["Other"]
    assert (await isp_a.client.execute(LIST))["securityGroups"]["totalCount"] == 2
    assert (await anonymous.execute(LIST))["securityGroups"]["edges"] == []


async def test_a_security_groups_page_costs_the_same_statements_whatever_its_size(
    isp_a: SignedUp, pbx: Pbx, session: Session, app: Starlette
):
    for n in range(20):
        group_in(session, pbx, name=f"group{n:02d}")
    with count_statements(app) as small:
        await isp_a.client.execute(LIST, {"first": 2})
    with count_statements(app) as large:
        await isp_a.client.execute(LIST, {"first": 20})
    assert len(large) == len(small), (small, large)
