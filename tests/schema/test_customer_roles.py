"""Customer-scope roles: granted over the API, and seeing only the customer's own tenants.

An ISP invites someone to administer one of its customers; that person manages
the customer's tenants (and their administrators) and nothing else of the ISP:
another customer's object answers exactly like a missing one.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette

from core.models import Role, Scope
from schema.core.ids import from_global_id, id_of, to_global_id
from tests.graphql import PASSWORD, Client, SignedUp, last_link
from tests.isolation import CASES, Case
from tests.isolation_cases.plans_and_customers import colleague, create_customer
from tests.schema import test_isolation  # noqa: F401  (imports every isolation case)

ERRORS = "errors { field code message }"
INVITE = f"""mutation($input: AdministratorInviteInput!) {{
  administratorInvite(input: $input) {{ invitation {{ id scope role customerId tenantId }}
  {ERRORS} }} }}"""
ACCEPT = f"""mutation($token: String!) {{
  invitationAccept(input: {{token: $token, password: "{PASSWORD}", fullName: "Cus Tomer"}}) {{
  administrator {{ id grants {{ id scope role customerId isp {{ id }} }} }}
  csrfToken {ERRORS} }} }}"""
TENANT = f"""mutation($customer: ID!, $domain: String!) {{
  tenantCreate(input: {{name: "T", domain: $domain, customer: $customer,
  defaultCountryCode: "1"}}) {{ tenant {{ id }} {ERRORS} }} }}"""
SUBSCRIBER = f"""mutation($tenant: ID!) {{
  subscriberCreate(input: {{tenant: $tenant, username: "ann"}}) {{ subscriber {{ id }}
  {ERRORS} }} }}"""
TENANTS = "{ tenants(first: 50) { edges { node { id } } } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"


async def _tenant(isp: SignedUp, customer: str) -> str:
    created = (await isp.client.execute(TENANT, {
        "customer": customer, "domain": f"t{uuid.uuid4().hex[:8]}"}))["tenantCreate"]
    assert created["errors"] == [], created["errors"]
    return created["tenant"]["id"]


async def _invited_customer_admin(isp: SignedUp, app: Starlette, engine: Engine, customer: str,
                                  email: str = "boss@acme.example", role: str = "ADMIN"
                                  ) -> tuple[Client, dict[str, Any]]:
    invited = (await isp.client.execute(INVITE, {"input": {
        "email": email, "customer": customer, "role": role}}))["administratorInvite"]
    assert invited["errors"] == [], invited["errors"]
    assert invited["invitation"]["scope"] == "CUSTOMER"
    assert invited["invitation"]["customerId"] == customer
    client = Client(app)
    accepted = (await client.execute(ACCEPT, {
        "token": last_link(engine, email, "/invitation/accept")}))["invitationAccept"]
    assert accepted["errors"] == [], accepted["errors"]
    client.csrf_token = accepted["csrfToken"]
    return client, accepted["administrator"]["grants"][0]


async def _tenant_ids(client: Client) -> set[str]:
    return {edge["node"]["id"] for edge in (await client.execute(TENANTS))["tenants"]["edges"]}


async def test_a_customer_administrator_manages_only_its_customers_tenants(
    isp_a: SignedUp, app: Starlette, engine: Engine
):
    acme, other = await create_customer(isp_a, "Acme"), await create_customer(isp_a, "Other")
    mine, theirs = await _tenant(isp_a, acme), await _tenant(isp_a, other)
    boss, grant = await _invited_customer_admin(isp_a, app, engine, acme)
    assert (grant["scope"], grant["role"], grant["customerId"], grant["isp"]["id"]) == (
        "CUSTOMER", "ADMIN", acme, isp_a.isp_id)

    assert await _tenant_ids(boss) == {mine}
    assert (await boss.execute(NODE, {"id": theirs}))["node"] is None
    made = (await boss.execute(SUBSCRIBER, {"tenant": mine}))["subscriberCreate"]
    assert made["errors"] == []
    refused = (await boss.execute(SUBSCRIBER, {"tenant": theirs}))["subscriberCreate"]
    missing = (await boss.execute(SUBSCRIBER, {
        "tenant": to_global_id("Tenant", uuid.uuid4())}))["subscriberCreate"]
    assert refused == missing
    assert refused["errors"][0]["code"] == "NOT_FOUND"

    # It invites administrators of its own tenants and customer, not of anyone else's.
    for target in ({"tenant": mine}, {"customer": acme}):
        invited = (await boss.execute(INVITE, {"input": {
            "email": "help@acme.example", "role": "VIEWER", **target}}))["administratorInvite"]
        assert invited["errors"] == [], (target, invited["errors"])
    for target in ({"tenant": theirs}, {"customer": other}, {"isp": isp_a.isp_id}):
        invited = (await boss.execute(INVITE, {"input": {
            "email": "help@acme.example", **target}}))["administratorInvite"]
        expected = "NOT_PERMITTED" if "isp" in target else "NOT_FOUND"
        assert invited["errors"][0]["code"] == expected, (target, invited["errors"])
    await boss.close()


async def test_a_customer_role_is_changed_and_removed_by_the_isp(
    isp_a: SignedUp, app: Starlette, engine: Engine
):
    acme = await create_customer(isp_a, "Acme")
    mine = await _tenant(isp_a, acme)
    boss, grant = await _invited_customer_admin(isp_a, app, engine, acme)

    changed = (await isp_a.client.execute(
        """mutation($id: ID!) { roleGrantUpdate(input: {id: $id, role: VIEWER})
             { roleGrant { role customerId } errors { code } } }""", {"id": grant["id"]}))
    assert changed["roleGrantUpdate"] == {"roleGrant": {"role": "VIEWER", "customerId": acme},
                                          "errors": []}
    refused = (await boss.execute(SUBSCRIBER, {"tenant": mine}))["subscriberCreate"]
    assert refused["errors"][0]["code"] == "NOT_PERMITTED"
    assert await _tenant_ids(boss) == {mine}  # still reads

    removed = (await isp_a.client.execute(
        """mutation($id: ID!) { roleGrantRemove(input: {id: $id})
             { removedId errors { code } } }""",
        {"id": grant["id"]}))["roleGrantRemove"]
    assert removed == {"removedId": grant["id"], "errors": []}
    assert (await boss.execute("{ me { id } }"))["me"] is None  # the session ended
    await boss.close()


async def test_a_customer_invitation_of_another_isp_answers_like_a_missing_one(
    isp_a: SignedUp, isp_b: SignedUp
):
    theirs = await create_customer(isp_b, "Bravo's")
    attempt = (await isp_a.client.execute(INVITE, {"input": {
        "email": "x@alpha.example", "customer": theirs}}))["administratorInvite"]
    missing = (await isp_a.client.execute(INVITE, {"input": {
        "email": "x@alpha.example", "customer": to_global_id("Customer", uuid.uuid4())}}))
    assert attempt == missing["administratorInvite"]
    assert attempt["errors"] == [{"field": ["customer"], "code": "NOT_FOUND",
                                  "message": "customer not found"}]
    both = (await isp_a.client.execute(INVITE, {"input": {
        "email": "x@alpha.example", "isp": isp_a.isp_id,
        "customer": theirs}}))["administratorInvite"]
    assert both["errors"][0]["code"] == "REQUIRED"


# Isolation: every node type's object of the ISP, seen by an administrator of one customer -----


def _not_the_isp(case: Case) -> bool:
    # Everyone holding a role in an ISP sees its name and theme (their app is branded).
    return case.type_name != "Isp"


@pytest.mark.parametrize("case", [case for case in CASES.values() if _not_the_isp(case)],
                         ids=lambda case: case.type_name)
async def test_another_customers_object_answers_like_a_missing_one(
    case: Case, isp_b: SignedUp, app: Starlette, engine: Engine
):
    theirs = await case.create(isp_b)
    customer = await create_customer(isp_b, f"Small {uuid.uuid4().hex[:6]}")
    outsider = await colleague(app, engine, f"boss-{uuid.uuid4().hex[:6]}@small.example",
                               scope=Scope.CUSTOMER, role=Role.ADMIN,
                               isp_id=id_of(isp_b.isp_id, "Isp"),
                               customer_id=id_of(customer, "Customer"))
    decoded = from_global_id(theirs)
    assert decoded is not None
    missing = to_global_id(decoded[0], uuid.uuid4())
    try:
        seen = (await outsider.post(NODE, {"id": theirs})).json()
        unseen = (await outsider.post(NODE, {"id": missing})).json()
        seen.pop("extensions", None)
        unseen.pop("extensions", None)
        assert seen == unseen
        assert seen["data"]["node"] is None
        if case.list_field:
            listed = await outsider.execute(
                f"{{ {case.list_field}(first: 100) {{ edges {{ node {{ id }} }} }} }}")
            assert theirs not in {edge["node"]["id"] for edge in listed[case.list_field]["edges"]}
        for probe in case.mutations:
            attempt = (await outsider.post(probe.query, {"id": theirs})).json()
            absent = (await outsider.post(probe.query, {"id": missing})).json()
            attempt.pop("extensions", None)
            absent.pop("extensions", None)
            assert attempt == absent, probe.path
    finally:
        await outsider.close()
