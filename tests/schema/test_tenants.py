"""Tenants over GraphQL: create, change, rotate the provisioning password, delete."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.applications import Starlette

from core.models import (
    Administrator,
    Isp,
    Number,
    NumberState,
    Role,
    RoleGrant,
    Scope,
    Subscriber,
    Tenant,
)
from core.passwords import hash_password
from core.secrets import SecretBox
from core.settings import Settings
from schema.core.ids import id_of, to_global_id
from tests.factories import make_carrier, make_customer, make_number, make_subscriber
from tests.graphql import PASSWORD, Client, SignedUp

CREATE = """
mutation($input: TenantCreateInput!) {
  tenantCreate(input: $input) {
    tenant { id name domain defaultCountryCode customerId carrierId provisioningUsername }
    provisioningPassword
    errors { field code message }
  }
}
"""

UPDATE = """
mutation($input: TenantUpdateInput!) {
  tenantUpdate(input: $input) { tenant { id domain carrierId status } errors { field code } }
}
"""

DELETE = """
mutation($id: ID!, $confirm: String!) {
  tenantDelete(input: {id: $id, confirmDomain: $confirm}) { deletedId errors { field code } }
}
"""


def _isp(engine: Engine, signed: SignedUp) -> Isp:
    with Session(engine) as session:
        return session.get(Isp, id_of(signed.isp_id, "Isp"))


def _customer_id(engine: Engine, signed: SignedUp) -> str:
    with Session(engine) as session:
        customer = make_customer(session, _isp(engine, signed))
    return to_global_id("Customer", customer.id)


async def _create(signed: SignedUp, engine: Engine, **fields: Any) -> dict[str, Any]:
    values = {"name": "Acme", "domain": "acme", "customer": _customer_id(engine, signed),
              "defaultCountryCode": "1", "defaultAreaCode": "209"} | fields
    return (await signed.client.execute(CREATE, {"input": values}))["tenantCreate"]


def _codes(payload: dict[str, Any]) -> list[tuple[list[str] | None, str]]:
    return [(error["field"], error["code"]) for error in payload["errors"]]


async def test_create_in_the_namespace_shows_the_password_once(
    isp_a: SignedUp, engine: Engine, settings: Settings
):
    payload = await _create(isp_a, engine)
    assert payload["errors"] == []
    tenant = payload["tenant"]
    assert tenant["domain"] == "acme.alpha.wehostvoip.test"
    password = payload["provisioningPassword"]
    assert len(password) >= 20
    with Session(engine) as session:
        row = session.get(Tenant, id_of(tenant["id"], "Tenant"))
    assert password not in row.provisioning_password_encrypted
    box = SecretBox(settings.secret_key_bytes())
    assert box.decrypt(row.provisioning_password_encrypted) == password
    listed = await isp_a.client.execute("{ tenants { totalCount edges { node { id } } } }")
    assert listed["tenants"]["edges"] == [{"node": {"id": tenant["id"]}}]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"domain": "a.b.alpha.wehostvoip.test"}, [(["domain"], "INVALID")]),
        ({"domain": "example.com"}, [(["domain"], "NOT_PERMITTED")]),
        ({"defaultCountryCode": "999"}, [(["defaultCountryCode"], "INVALID")]),
        ({"defaultAreaCode": "20x"}, [(["defaultAreaCode"], "INVALID")]),
        ({"name": " "}, [(["name"], "REQUIRED")]),
        ({"carrier": "not-an-id"}, [(["carrier"], "NOT_FOUND")]),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_stored(
    isp_a: SignedUp, engine: Engine, fields: dict[str, Any], expected: list[Any]
):
    payload = await _create(isp_a, engine, **fields)
    assert _codes(payload) == expected
    with Session(engine) as session:
        assert session.exec(select(Tenant)).all() == []


async def test_domain_taken_by_another_tenant(isp_a: SignedUp, engine: Engine):
    assert (await _create(isp_a, engine))["errors"] == []
    assert _codes(await _create(isp_a, engine)) == [(["domain"], "ALREADY_EXISTS")]


async def test_another_isps_customer_answers_like_a_missing_one(
    isp_a: SignedUp, isp_b: SignedUp, engine: Engine
):
    theirs = _customer_id(engine, isp_b)
    missing = to_global_id("Customer", uuid.uuid4())
    answer_for_theirs = _codes(await _create(isp_a, engine, customer=theirs))
    answer_for_missing = _codes(await _create(isp_a, engine, customer=missing))
    assert answer_for_theirs == answer_for_missing
    assert answer_for_theirs == [(["customer"], "NOT_FOUND")]


async def test_changing_the_domain_keeps_subscribers_and_null_clears_the_carrier(
    isp_a: SignedUp, engine: Engine
):
    with Session(engine) as session:
        carrier = make_carrier(session, _isp(engine, isp_a))
    created = await _create(isp_a, engine, carrier=to_global_id("Carrier", carrier.id))
    tenant_id = created["tenant"]["id"]
    with Session(engine) as session:
        make_subscriber(session, session.get(Tenant, id_of(tenant_id, "Tenant")))
    data = await isp_a.client.execute(UPDATE, {"input": {"id": tenant_id, "domain": "acme2",
                                                         "carrier": None}})
    assert data["tenantUpdate"]["tenant"]["domain"] == "acme2.alpha.wehostvoip.test"
    assert data["tenantUpdate"]["tenant"]["carrierId"] is None
    with Session(engine) as session:
        assert len(session.exec(select(Subscriber)).all()) == 1


async def test_rotating_gives_a_new_password(isp_a: SignedUp, engine: Engine):
    created = await _create(isp_a, engine)
    data = await isp_a.client.execute(
        "mutation($id: ID!) { tenantProvisioningPasswordRotate(input: {id: $id}) "
        "{ provisioningPassword errors { code } } }", {"id": created["tenant"]["id"]})
    rotated = data["tenantProvisioningPasswordRotate"]["provisioningPassword"]
    assert rotated
    assert rotated != created["provisioningPassword"]


async def test_delete_needs_the_domain_and_releases_numbers(isp_a: SignedUp, engine: Engine):
    created = await _create(isp_a, engine)
    tenant_id = created["tenant"]["id"]
    with Session(engine) as session:
        tenant = session.get(Tenant, id_of(tenant_id, "Tenant"))
        number_id = make_number(session, _isp(engine, isp_a), state=NumberState.ASSIGNED,
                                tenant_id=tenant.id).id
        make_subscriber(session, tenant)
    wrong = await isp_a.client.execute(DELETE, {"id": tenant_id, "confirm": "acme"})
    assert _codes(wrong["tenantDelete"]) == [(["confirmDomain"], "INVALID")]
    done = await isp_a.client.execute(DELETE, {"id": tenant_id,
                                               "confirm": "acme.alpha.wehostvoip.test"})
    assert done["tenantDelete"] == {"deletedId": tenant_id, "errors": []}
    with Session(engine) as session:
        assert session.exec(select(Tenant)).all() == []
        assert session.exec(select(Subscriber)).all() == []
        released = session.get(Number, number_id)
    assert released.state is NumberState.QUARANTINE
    assert released.tenant_id is None


async def test_a_tenant_administrator_sees_only_that_tenant_and_cannot_reshape_it(
    isp_a: SignedUp, engine: Engine, app: Starlette
):
    first = (await _create(isp_a, engine))["tenant"]
    await _create(isp_a, engine, domain="other")
    with Session(engine) as session:
        person = Administrator(email="pbx@acme.example", full_name="Pbx Admin",
                               password_hash=hash_password(PASSWORD))
        session.add(person)
        session.flush()
        session.add(RoleGrant(administrator_id=person.id, scope=Scope.TENANT, role=Role.ADMIN,
                              isp_id=id_of(isp_a.isp_id, "Isp"),
                              tenant_id=id_of(first["id"], "Tenant")))
        session.commit()
    tenant_admin = Client(app)
    await tenant_admin.login("pbx@acme.example")
    listed = await tenant_admin.execute("{ tenants { edges { node { id } } } }")
    assert listed["tenants"]["edges"] == [{"node": {"id": first["id"]}}]
    refused = await tenant_admin.execute(UPDATE, {"input": {"id": first["id"], "name": "X"}})
    assert _codes(refused["tenantUpdate"]) == [(None, "NOT_PERMITTED")]
