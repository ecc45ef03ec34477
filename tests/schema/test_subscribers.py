"""Subscribers over HTTP: each operation's success, not-found, not-permitted and bad input.

Tenants, numbers and dial plans are arranged in the database (their own APIs
are tested elsewhere); so are the people holding tenant or read-only roles,
who then log in.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import graphql_sync
from sqlalchemy import Engine
from sqlmodel import Session, func, select
from starlette.applications import Starlette

from core import subscribers
from core.errors import DomainError, ErrorCode
from core.models import (
    Administrator,
    AuditEvent,
    Customer,
    DialPlanRule,
    Isp,
    NumberState,
    Role,
    RoleGrant,
    Scope,
    Subscriber,
    SubscriberSource,
    Tenant,
)
from core.passwords import hash_password, verify_password
from core.settings import Settings
from core.sip_credentials import digests, sip_password_of
from core.subscribers import SubscriberFields
from core.viewer import Grant, Viewer
from schema import build_schema
from schema.core.ids import id_of, to_global_id
from tests import services
from tests.factories import (
    make_customer,
    make_dial_plan,
    make_number,
    make_security_group,
    make_subscriber,
    make_tenant,
)
from tests.graphql import PASSWORD, Client, SignedUp
from tests.schema.test_pagination import count_statements

SUBSCRIBER = """id tenantId username email displayName countryCode areaCode voicemailToEmail
  callerId alias securityGroupId concurrentCalls ringTimeout callGroup pickupGroup
  forwardUnconditional forwardBusy forwardNoAnswer source externalId status disabledAt hasPin
  securityGroup { id name }"""
WARNINGS = "warnings { field code message }"
OPERATIONS = {
    "subscriberCreate": ("SubscriberCreateInput",
                         f"subscriber {{ {SUBSCRIBER} }} sipPassword {WARNINGS}"),
    "subscriberUpdate": ("SubscriberUpdateInput", f"subscriber {{ {SUBSCRIBER} }} {WARNINGS}"),
    "subscriberDelete": ("SubscriberIdInput", "deletedId"),
    "subscriberRevealSipPassword": ("SubscriberIdInput", "sipPassword"),
    "subscriberSipPasswordReset": ("SubscriberIdInput", "subscriber { id } sipPassword"),
    "subscriberBulkCreate": ("SubscriberBulkCreateInput",
                             f"subscribers {{ subscriber {{ id username alias }} sipPassword }} "
                             f"{WARNINGS}"),
    "subscriberBulkUpdate": ("SubscriberBulkUpdateInput",
                             f"subscribers {{ id username alias status }} {WARNINGS}"),
}
LIST = """query($filter: SubscriberFilter, $orderBy: SubscriberOrder, $first: Int, $after: String) {
  subscribers(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id username alias status securityGroup { name } } }
  }
}"""
# Opens nothing to the US (+1) from the UK; a UK number from the UK is domestic.
LONDON = "+442071234567"


async def mutate(client: Client, operation: str, **input: Any) -> dict[str, Any]:
    """The payload of a subscriber mutation (``operation`` as in the schema)."""
    input_type, selection = OPERATIONS[operation]
    query = (f"mutation($input: {input_type}!) {{ {operation}(input: $input) "
             f"{{ {selection} errors {{ field code message }} }} }}")
    return (await client.execute(query, {"input": input}))[operation]


def codes(payload: dict[str, Any]) -> list[tuple[list[str] | None, str]]:
    return [(error["field"], error["code"]) for error in payload["errors"]]


async def listed(client: Client, **arguments: Any) -> list[dict[str, Any]]:
    data = await client.execute(LIST, arguments)
    return [edge["node"] for edge in data["subscribers"]["edges"]]


@dataclass
class Pbx:
    """A tenant of the signed-up ISP, as rows and as the global id the API takes."""

    isp: Isp
    customer: Customer
    tenant: Tenant

    @property
    def id(self) -> str:
        return to_global_id("Tenant", self.tenant.id)


def pbx_of(session: Session, signed: SignedUp, *, max_subscribers: int = 1000,
           customer: Customer | None = None, **tenant_fields: Any) -> Pbx:
    isp = session.get(Isp, id_of(signed.isp_id, "Isp"))
    customer = customer or make_customer(session, isp, max_subscribers=max_subscribers)
    return Pbx(isp=isp, customer=customer, tenant=make_tenant(session, isp, customer,
                                                              **tenant_fields))


def number_of(session: Session, pbx: Pbx, e164: str) -> str:
    make_number(session, pbx.isp, e164=e164, state=NumberState.ASSIGNED,
                tenant_id=pbx.tenant.id)
    return e164


def dial_plan_for(session: Session, pbx: Pbx, *rules: tuple[str, str, str]) -> None:
    """Give the tenant a dial plan of (match, substitution, replacement) rules, in order."""
    plan = make_dial_plan(session, pbx.isp)
    for priority, (match, substitution, replacement) in enumerate(rules):
        session.add(DialPlanRule(dial_plan_id=plan.id, priority=priority,
                                 match_expression=match, substitution_expression=substitution,
                                 replacement=replacement, description=f"rule {priority}"))
    pbx.tenant.dial_plan_id = plan.id
    session.add(pbx.tenant)
    session.commit()


async def someone(app: Starlette, engine: Engine, isp_id: str, *, tenant: Tenant | None = None,
                  role: Role = Role.ADMIN) -> Client:
    """A new person holding ``role`` in the ISP or, with ``tenant``, in that tenant; logged in."""
    email = f"{uuid.uuid4().hex[:10]}@people.example"
    with Session(engine) as session:
        person = Administrator(email=email, full_name="Some One",
                               password_hash=hash_password(PASSWORD))
        session.add(person)
        session.flush()
        session.add(RoleGrant(administrator_id=person.id, role=role,
                              isp_id=id_of(isp_id, "Isp"),
                              scope=Scope.TENANT if tenant else Scope.ISP,
                              tenant_id=tenant.id if tenant else None))
        session.commit()
    client = Client(app)
    assert (await client.login(email))["errors"] == []
    return client


def stored(session: Session, global_id: str) -> Subscriber | None:
    session.expire_all()
    return session.get(Subscriber, id_of(global_id, "Subscriber"))


def count_subscribers(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Subscriber)).one()


@pytest.fixture
def pbx(isp_a: SignedUp, session: Session) -> Pbx:
    return pbx_of(session, isp_a)


# subscriberCreate --------------------------------------------------------------------------------


async def test_subscriber_create_generates_a_password_shown_once(
    isp_a: SignedUp, pbx: Pbx, session: Session, settings: Settings
):
    payload = await mutate(isp_a.client, "subscriberCreate", tenant=pbx.id, username="Alice")
    assert (payload["errors"], payload["warnings"]) == ([], [])
    created = payload["subscriber"]
    assert (created["username"], created["countryCode"], created["areaCode"]) == (
        "alice", "1", "209")
    assert (created["concurrentCalls"], created["ringTimeout"], created["status"],
            created["source"], created["hasPin"]) == (2, 20, "ACTIVE", "MANUAL", False)
    password = payload["sipPassword"]
    assert len(password) >= 20
    row = stored(session, created["id"])
    assert password not in row.sip_password_encrypted
    assert sip_password_of(settings, row) == password
    assert (row.ha1, row.ha1b) == digests("alice", pbx.tenant.domain, password)
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "subscriber.create")).one()
    assert event.object_id == str(row.id)
    assert password not in str(event.changes)


async def test_subscriber_create_with_every_field(isp_a: SignedUp, pbx: Pbx, session: Session):
    group = make_security_group(session, pbx.tenant, name="Europe")
    caller_id = number_of(session, pbx, "+12095550100")
    make_subscriber(session, pbx.tenant, alias="8581")  # forwarded to, by extension
    payload = await mutate(
        isp_a.client, "subscriberCreate", tenant=pbx.id, username="bob.smith+desk",
        email="Bob@Example.com", displayName="Bob Smith", sipPassword="Tr0ub4dor-and-3",
        pin="4321", countryCode="+1", areaCode="212", voicemailToEmail=True, callerId=caller_id,
        alias="8580", securityGroup=to_global_id("SecurityGroup", group.id), concurrentCalls=3,
        ringTimeout=30, callGroup=1, pickupGroup=2, forwardUnconditional="+12125550199",
        forwardBusy="8581", forwardNoAnswer="", status="DISABLED")
    assert payload["errors"] == []
    assert payload["sipPassword"] is None  # chosen, so not shown back
    created = payload["subscriber"]
    assert {key: created[key] for key in (
        "username", "email", "displayName", "countryCode", "areaCode", "voicemailToEmail",
        "callerId", "alias", "concurrentCalls", "ringTimeout", "callGroup", "pickupGroup",
        "forwardUnconditional", "forwardBusy", "forwardNoAnswer", "status", "hasPin")} == {
        "username": "bob.smith+desk", "email": "bob@example.com", "displayName": "Bob Smith",
        "countryCode": "1", "areaCode": "212", "voicemailToEmail": True,
        "callerId": "+12095550100", "alias": "8580", "concurrentCalls": 3, "ringTimeout": 30,
        "callGroup": 1, "pickupGroup": 2, "forwardUnconditional": "+12125550199",
        "forwardBusy": "8581", "forwardNoAnswer": None, "status": "DISABLED", "hasPin": True}
    assert created["securityGroup"]["name"] == "Europe"
    assert created["disabledAt"] is not None
    assert verify_password(stored(session, created["id"]).pin_hash, "4321")


async def test_subscriber_create_warns_about_a_single_concurrent_call(isp_a: SignedUp, pbx: Pbx):
    payload = await mutate(isp_a.client, "subscriberCreate", tenant=pbx.id, username="solo",
                           concurrentCalls=1)
    assert payload["errors"] == []
    assert payload["subscriber"]["concurrentCalls"] == 1
    assert payload["warnings"] == [{
        "field": ["concurrentCalls"], "code": "INVALID",
        "message": "at least 2 are advised for transfers and three-way calls"}]


@pytest.mark.parametrize(("fields", "expected"), [
    ({"username": "alice@example.com"}, [(["username"], "INVALID")]),
    ({"username": "-alice"}, [(["username"], "INVALID")]),
    ({"alias": "1"}, [(["alias"], "INVALID")]),
    ({"alias": "12a4"}, [(["alias"], "INVALID")]),
    ({"concurrentCalls": 0}, [(["concurrentCalls"], "INVALID")]),
    ({"ringTimeout": 0, "callGroup": 64}, [(["ringTimeout"], "INVALID"),
                                           (["callGroup"], "INVALID")]),
    ({"pin": "12a4"}, [(["pin"], "INVALID")]),
    ({"countryCode": "999", "areaCode": "2x"}, [(["countryCode"], "INVALID"),
                                                (["areaCode"], "INVALID")]),
    ({"email": "not an address"}, [(["email"], "INVALID")]),
    ({"voicemailToEmail": True}, [(["email"], "REQUIRED")]),
    ({"sipPassword": "short"}, [(["sipPassword"], "WEAK_PASSWORD")]),
    ({"sipPassword": "Alice-was-here-2024"}, [(["sipPassword"], "WEAK_PASSWORD")]),
    ({"callerId": "+12095550111"}, [(["callerId"], "INVALID")]),
    ({"callerId": "2095550111"}, [(["callerId"], "INVALID")]),
    ({"securityGroup": "not-an-id"}, [(["securityGroup"], "NOT_FOUND")]),
    ({"securityGroup": to_global_id("SecurityGroup", uuid.uuid4())},
     [(["securityGroup"], "NOT_FOUND")]),
    ({"forwardBusy": "12 34"}, [(["forwardBusy"], "INVALID")]),
    ({"forwardBusy": "5550199"}, [(["forwardBusy"], "INVALID")]),
])
async def test_subscriber_create_refuses_bad_input_and_stores_nothing(
    isp_a: SignedUp, pbx: Pbx, session: Session, fields: dict[str, Any], expected: list[Any]
):
    payload = await mutate(isp_a.client, "subscriberCreate",
                           **({"tenant": pbx.id, "username": "alice"} | fields))
    assert codes(payload) == expected
    assert count_subscribers(session) == 0


async def test_subscriber_create_refuses_a_username_or_alias_taken_in_the_tenant(
    isp_a: SignedUp, pbx: Pbx, session: Session
):
    first = await mutate(isp_a.client, "subscriberCreate", tenant=pbx.id, username="alice",
                         alias="200")
    assert first["errors"] == []
    again = await mutate(isp_a.client, "subscriberCreate", tenant=pbx.id, username="ALICE",
                         alias="200")
    assert codes(again) == [(["username"], "ALREADY_EXISTS"), (["alias"], "ALREADY_EXISTS")]
    elsewhere = pbx_of(session, isp_a)  # another tenant may use both
    other = await mutate(isp_a.client, "subscriberCreate", tenant=elsewhere.id,
                         username="alice", alias="200")
    assert other["errors"] == []


async def test_subscriber_create_refuses_an_alias_the_dial_plan_would_rewrite(
    isp_a: SignedUp, pbx: Pbx, session: Session
):
    # Seven digits dialled are a local number: 5551234 becomes +12095551234.
    dial_plan_for(session, pbx, (r"^([2-9][0-9]{6})$", r"^([0-9]{7})$", r"+_CC__AC_\1"))
    captured = await mutate(isp_a.client, "subscriberCreate", tenant=pbx.id, username="alice",
                            alias="5551234")
    assert captured["errors"] == [{
        "field": ["alias"], "code": "INVALID",
        "message": "the dial plan rule 'rule 0' matches 5551234: dialled, it would be "
                   "rewritten as an outside number"}]
    free = await mutate(isp_a.client, "subscriberCreate", tenant=pbx.id, username="alice",
                        alias="8580")
    assert free["errors"] == []


async def test_subscriber_create_in_another_isps_tenant_is_not_found(
    isp_a: SignedUp, isp_b: SignedUp, session: Session
):
    theirs = pbx_of(session, isp_b)
    attempt = await mutate(isp_a.client, "subscriberCreate", tenant=theirs.id, username="x")
    missing = await mutate(isp_a.client, "subscriberCreate",
                           tenant=to_global_id("Tenant", uuid.uuid4()), username="x")
    assert attempt == missing
    assert codes(attempt) == [(["tenant"], "NOT_FOUND")]


async def test_subscriber_create_is_not_permitted_to_viewers(
    isp_a: SignedUp, pbx: Pbx, app: Starlette, engine: Engine
):
    for viewer in (await someone(app, engine, isp_a.isp_id, role=Role.VIEWER),
                   await someone(app, engine, isp_a.isp_id, tenant=pbx.tenant,
                                 role=Role.VIEWER)):
        payload = await mutate(viewer, "subscriberCreate", tenant=pbx.id, username="x")
        assert codes(payload) == [(None, "NOT_PERMITTED")]


async def test_subscriber_create_needs_a_login(anonymous: Client, pbx: Pbx):
    payload = await mutate(anonymous, "subscriberCreate", tenant=pbx.id, username="x")
    assert codes(payload) == [(None, "UNAUTHENTICATED")]


async def test_subscriber_create_respects_the_customers_maximum_across_its_tenants(
    isp_a: SignedUp, session: Session
):
    first = pbx_of(session, isp_a, max_subscribers=2)
    second = pbx_of(session, isp_a, customer=first.customer)
    make_subscriber(session, first.tenant)
    assert (await mutate(isp_a.client, "subscriberCreate", tenant=second.id,
                         username="b"))["errors"] == []
    refused = await mutate(isp_a.client, "subscriberCreate", tenant=second.id, username="c")
    assert codes(refused) == [(None, "LIMIT_REACHED")]
    assert "at most 2 subscribers" in refused["errors"][0]["message"]


# Forwards ----------------------------------------------------------------------------------------


async def test_forwards_go_through_the_dial_plan_and_international_needs_the_group(
    isp_a: SignedUp, pbx: Pbx, session: Session
):
    dial_plan_for(session, pbx, (r"^011([0-9]+)$", r"^011([0-9]+)$", r"+\1"),
                  (r"^([2-9][0-9]{6})$", r"^([0-9]{7})$", r"+_CC__AC_\1"))
    group = make_security_group(session, pbx.tenant, name="Callers")
    group_id = to_global_id("SecurityGroup", group.id)
    created = await mutate(isp_a.client, "subscriberCreate", tenant=pbx.id, username="alice",
                           securityGroup=group_id, forwardBusy="5550199")
    assert created["errors"] == []
    assert created["subscriber"]["forwardBusy"] == "5550199"  # as dialled
    subscriber_id = created["subscriber"]["id"]

    refused = await mutate(isp_a.client, "subscriberUpdate", id=subscriber_id,
                           forwardNoAnswer="01144" + LONDON[3:])
    assert refused["errors"] == [{
        "field": ["forwardNoAnswer"], "code": "NOT_PERMITTED",
        "message": f"{LONDON} is in United Kingdom (GB): the subscriber's security group "
                   "does not open it"}]

    opened = await isp_a.client.execute(
        """mutation($id: ID!) { securityGroupUpdate(input: {id: $id, countries: ["GB"]})
             { errors { code } } }""", {"id": group_id})
    assert opened["securityGroupUpdate"]["errors"] == []
    allowed = await mutate(isp_a.client, "subscriberUpdate", id=subscriber_id,
                           forwardNoAnswer="01144" + LONDON[3:])
    assert allowed["errors"] == []
    assert allowed["subscriber"]["forwardNoAnswer"] == "01144" + LONDON[3:]


async def test_without_a_group_international_forwards_are_closed(isp_a: SignedUp, pbx: Pbx):
    payload = await mutate(isp_a.client, "subscriberCreate", tenant=pbx.id, username="alice",
                           forwardUnconditional=LONDON)
    assert codes(payload) == [(["forwardUnconditional"], "NOT_PERMITTED")]
    assert "no security group" in payload["errors"][0]["message"]


async def test_a_forward_to_an_extension_of_the_tenant_needs_no_dial_plan(
    isp_a: SignedUp, pbx: Pbx
):
    payload = await mutate(isp_a.client, "subscriberBulkCreate", tenant=pbx.id, subscribers=[
        {"username": "alice", "alias": "201", "forwardBusy": "202"},
        {"username": "bob", "alias": "202", "forwardBusy": "202"},
    ])
    assert codes(payload) == [(["subscribers", "1", "forwardBusy"], "INVALID")]  # itself
    assert "cannot forward to itself" in payload["errors"][0]["message"]


async def test_changing_the_country_code_checks_the_forwards_again(isp_a: SignedUp, pbx: Pbx):
    created = await mutate(isp_a.client, "subscriberCreate", tenant=pbx.id, username="alice",
                           forwardBusy="+12125550199")
    moved = await mutate(isp_a.client, "subscriberUpdate", id=created["subscriber"]["id"],
                         countryCode="44", areaCode="20")
    assert codes(moved) == [(["forwardBusy"], "NOT_PERMITTED")]


# subscriberUpdate --------------------------------------------------------------------------------


async def test_subscriber_update_changes_what_is_given_and_null_empties(
    isp_a: SignedUp, pbx: Pbx, session: Session, settings: Settings
):
    group = to_global_id("SecurityGroup", make_security_group(session, pbx.tenant).id)
    created = await mutate(isp_a.client, "subscriberCreate", tenant=pbx.id, username="alice",
                           alias="200", pin="1234", callGroup=3, displayName="Alice",
                           securityGroup=group)
    password = created["sipPassword"]
    payload = await mutate(isp_a.client, "subscriberUpdate", id=created["subscriber"]["id"],
                           username="alice2", alias=None, pin=None, callGroup=None,
                           securityGroup=None, displayName=None, status="DISABLED")
    assert (payload["errors"], payload["warnings"]) == ([], [])
    updated = payload["subscriber"]
    assert (updated["username"], updated["alias"], updated["hasPin"], updated["callGroup"],
            updated["securityGroup"], updated["displayName"], updated["status"]) == (
        "alice2", None, False, None, None, "Alice", "DISABLED")
    assert updated["disabledAt"] is not None
    row = stored(session, updated["id"])
    # The digests hold the username: derived again from the same password.
    assert (row.ha1, row.ha1b) == digests("alice2", pbx.tenant.domain, password)
    assert sip_password_of(settings, row) == password
    again = await mutate(isp_a.client, "subscriberUpdate", id=updated["id"], status="ACTIVE")
    assert again["subscriber"]["disabledAt"] is None


async def test_subscriber_update_with_a_chosen_password(isp_a: SignedUp, pbx: Pbx,
                                                        session: Session):
    created = await mutate(isp_a.client, "subscriberCreate", tenant=pbx.id, username="alice")
    payload = await mutate(isp_a.client, "subscriberUpdate", id=created["subscriber"]["id"],
                           sipPassword="Correct-Horse-42")
    assert payload["errors"] == []
    row = stored(session, created["subscriber"]["id"])
    assert row.ha1 == digests("alice", pbx.tenant.domain, "Correct-Horse-42")[0]


async def test_subscriber_update_refuses_bad_input(isp_a: SignedUp, pbx: Pbx, session: Session):
    make_subscriber(session, pbx.tenant, username="taken", alias="300")
    created = await mutate(isp_a.client, "subscriberCreate", tenant=pbx.id, username="alice")
    payload = await mutate(isp_a.client, "subscriberUpdate", id=created["subscriber"]["id"],
                           username="taken", alias="300", ringTimeout=601)
    assert codes(payload) == [(["ringTimeout"], "INVALID"), (["username"], "ALREADY_EXISTS"),
                              (["alias"], "ALREADY_EXISTS")]
    assert stored(session, created["subscriber"]["id"]).username == "alice"


async def test_subscriber_update_of_another_isps_subscriber_is_not_found(
    isp_a: SignedUp, isp_b: SignedUp, session: Session
):
    theirs = to_global_id("Subscriber", make_subscriber(session, pbx_of(session, isp_b).tenant).id)
    attempt = await mutate(isp_a.client, "subscriberUpdate", id=theirs, displayName="x")
    missing = await mutate(isp_a.client, "subscriberUpdate",
                           id=to_global_id("Subscriber", uuid.uuid4()), displayName="x")
    assert attempt == missing
    assert codes(attempt) == [(["id"], "NOT_FOUND")]


async def test_subscriber_update_is_not_permitted_to_viewers(
    isp_a: SignedUp, pbx: Pbx, session: Session, app: Starlette, engine: Engine
):
    subscriber_id = to_global_id("Subscriber", make_subscriber(session, pbx.tenant).id)
    viewer = await someone(app, engine, isp_a.isp_id, tenant=pbx.tenant, role=Role.VIEWER)
    payload = await mutate(viewer, "subscriberUpdate", id=subscriber_id, displayName="x")
    assert codes(payload) == [(None, "NOT_PERMITTED")]


# A tenant administrator --------------------------------------------------------------------------


async def test_a_tenant_administrator_manages_only_that_tenants_subscribers(
    isp_a: SignedUp, pbx: Pbx, session: Session, app: Starlette, engine: Engine
):
    other = pbx_of(session, isp_a)
    theirs = to_global_id("Subscriber", make_subscriber(session, other.tenant).id)
    admin = await someone(app, engine, isp_a.isp_id, tenant=pbx.tenant)
    created = await mutate(admin, "subscriberCreate", tenant=pbx.id, username="alice")
    assert created["errors"] == []
    assert [node["id"] for node in await listed(admin)] == [created["subscriber"]["id"]]
    assert len(await listed(isp_a.client)) == 2
    refused = await mutate(admin, "subscriberCreate", tenant=other.id, username="bob")
    assert codes(refused) == [(["tenant"], "NOT_FOUND")]
    for name in ("subscriberUpdate", "subscriberDelete", "subscriberRevealSipPassword",
                 "subscriberSipPasswordReset"):
        attempt = await mutate(admin, name, id=theirs)
        missing = await mutate(admin, name, id=to_global_id("Subscriber", uuid.uuid4()))
        assert attempt == missing
        assert codes(attempt) == [(["id"], "NOT_FOUND")]


# subscriberDelete --------------------------------------------------------------------------------


async def test_subscriber_delete(isp_a: SignedUp, pbx: Pbx, session: Session):
    created = await mutate(isp_a.client, "subscriberCreate", tenant=pbx.id, username="alice")
    subscriber_id = created["subscriber"]["id"]
    number = make_number(session, pbx.isp, state=NumberState.ASSIGNED, tenant_id=pbx.tenant.id,
                         target_subscriber_id=id_of(subscriber_id, "Subscriber"))
    payload = await mutate(isp_a.client, "subscriberDelete", id=subscriber_id)
    assert payload == {"deletedId": subscriber_id, "errors": []}
    assert stored(session, subscriber_id) is None
    session.refresh(number)
    assert number.target_subscriber_id is None
    assert session.exec(select(AuditEvent).where(
        AuditEvent.action == "subscriber.delete")).one().object_id == str(
        id_of(subscriber_id, "Subscriber"))


async def test_subscriber_delete_is_not_permitted_to_viewers(
    isp_a: SignedUp, pbx: Pbx, session: Session, app: Starlette, engine: Engine
):
    subscriber_id = to_global_id("Subscriber", make_subscriber(session, pbx.tenant).id)
    viewer = await someone(app, engine, isp_a.isp_id, role=Role.VIEWER)
    assert codes(await mutate(viewer, "subscriberDelete", id=subscriber_id)) == [
        (None, "NOT_PERMITTED")]
    assert stored(session, subscriber_id) is not None


# Passwords ---------------------------------------------------------------------------------------


async def test_reveal_shows_the_password_and_is_audited(isp_a: SignedUp, pbx: Pbx,
                                                       session: Session):
    created = await mutate(isp_a.client, "subscriberCreate", tenant=pbx.id, username="alice")
    subscriber_id = created["subscriber"]["id"]
    revealed = await mutate(isp_a.client, "subscriberRevealSipPassword", id=subscriber_id)
    assert revealed == {"sipPassword": created["sipPassword"], "errors": []}
    event = session.exec(select(AuditEvent).where(
        AuditEvent.action == "subscriber.sip_password.reveal")).one()
    assert event.object_id == str(id_of(subscriber_id, "Subscriber"))
    assert event.actor_email == isp_a.email
    assert created["sipPassword"] not in str(event.changes)


async def test_reveal_is_for_administrators_only(
    isp_a: SignedUp, pbx: Pbx, session: Session, app: Starlette, engine: Engine
):
    subscriber_id = to_global_id("Subscriber", make_subscriber(session, pbx.tenant).id)
    viewer = await someone(app, engine, isp_a.isp_id, tenant=pbx.tenant, role=Role.VIEWER)
    payload = await mutate(viewer, "subscriberRevealSipPassword", id=subscriber_id)
    assert payload == {"sipPassword": None, "errors": [{
        "field": None, "code": "NOT_PERMITTED",
        "message": "your role can read this tenant but not change it"}]}
    assert session.exec(select(AuditEvent).where(
        AuditEvent.action == "subscriber.sip_password.reveal")).all() == []


async def test_reset_gives_a_new_password_shown_once(isp_a: SignedUp, pbx: Pbx,
                                                     session: Session, settings: Settings):
    created = await mutate(isp_a.client, "subscriberCreate", tenant=pbx.id, username="alice")
    subscriber_id = created["subscriber"]["id"]
    reset = await mutate(isp_a.client, "subscriberSipPasswordReset", id=subscriber_id)
    assert reset["errors"] == []
    new = reset["sipPassword"]
    assert len(new) >= 20
    assert new != created["sipPassword"]
    row = stored(session, subscriber_id)
    assert sip_password_of(settings, row) == new
    assert (row.ha1, row.ha1b) == digests("alice", pbx.tenant.domain, new)


async def test_reset_is_not_permitted_to_viewers(
    isp_a: SignedUp, pbx: Pbx, session: Session, app: Starlette, engine: Engine
):
    subscriber_id = to_global_id("Subscriber", make_subscriber(session, pbx.tenant).id)
    viewer = await someone(app, engine, isp_a.isp_id, role=Role.VIEWER)
    payload = await mutate(viewer, "subscriberSipPasswordReset", id=subscriber_id)
    assert codes(payload) == [(None, "NOT_PERMITTED")]


async def test_secrets_are_never_in_query_results(isp_a: SignedUp, pbx: Pbx, session: Session):
    created = await mutate(isp_a.client, "subscriberCreate", tenant=pbx.id, username="alice",
                           sipPassword="Correct-Horse-42", pin="97531")
    row = stored(session, created["subscriber"]["id"])
    response = await isp_a.client.post(
        f"query($id: ID!) {{ node(id: $id) {{ ... on Subscriber {{ {SUBSCRIBER} }} }} "
        f"subscribers {{ edges {{ node {{ {SUBSCRIBER} }} }} }} }}",
        {"id": created["subscriber"]["id"]})
    text = response.text
    assert "errors" not in response.json()
    for secret in ("Correct-Horse-42", "97531", row.ha1, row.ha1b, row.sip_password_encrypted,
                   row.pin_hash):
        assert secret not in text


async def test_pins_are_hashed_for_a_short_secret_each_with_its_salt(
        isp_a: SignedUp, pbx: Pbx, session: Session):
    batch = [{"username": f"pin{n:02d}", "pin": "2468"} for n in range(20)]
    created = await mutate(isp_a.client, "subscriberBulkCreate", tenant=pbx.id,
                           subscribers=batch)
    assert created["errors"] == []
    hashes = [stored(session, item["subscriber"]["id"]).pin_hash
              for item in created["subscribers"]]
    # One pass over 1 MiB (the password parameters took ~0.2 s each: minutes for a bulk).
    assert all(value.startswith("$argon2id$v=19$m=1024,t=1,p=1$") for value in hashes)
    assert len(set(hashes)) == len(hashes)
    assert all(verify_password(value, "2468") for value in hashes)
    assert not verify_password(hashes[0], "2469")


def test_the_subscriber_type_has_no_field_for_a_secret():
    schema = build_schema()
    result = graphql_sync(schema._schema,
                          '{ __type(name: "Subscriber") { fields { name } } }')
    names = {field["name"] for field in result.data["__type"]["fields"]}
    assert "username" in names  # the probe reads the real type
    assert not {name for name in names
                if any(word in name.lower() for word in ("password", "secret", "ha1", "digest"))}
    assert "pin" not in names
    assert not {name for name in names if name.lower().startswith("pin")}


# Bulk --------------------------------------------------------------------------------------------


async def test_bulk_create_of_a_hundred_then_bulk_update(isp_a: SignedUp, pbx: Pbx,
                                                         session: Session, app: Starlette):
    batch = [{"username": f"user{n:03d}", "alias": f"{1000 + n}"} for n in range(100)]
    with count_statements(app) as statements:
        created = await mutate(isp_a.client, "subscriberBulkCreate", tenant=pbx.id,
                               subscribers=batch)
    assert created["errors"] == []
    assert [item["subscriber"]["username"] for item in created["subscribers"]] == [
        item["username"] for item in batch]
    assert len({item["sipPassword"] for item in created["subscribers"]}) == 100
    assert count_subscribers(session) == 100
    # No statement per subscriber: uniqueness is read once, rows and audit are batched.
    assert len(statements) < 30, statements

    changes = [{"id": item["subscriber"]["id"], "alias": f"{2000 + n}",
                "concurrentCalls": 1 if n == 7 else 4}
               for n, item in enumerate(created["subscribers"])]
    updated = await mutate(isp_a.client, "subscriberBulkUpdate", subscribers=changes)
    assert updated["errors"] == []
    assert [item["alias"] for item in updated["subscribers"]] == [
        f"{2000 + n}" for n in range(100)]
    assert [warning["field"] for warning in updated["warnings"]] == [
        ["subscribers", "7", "concurrentCalls"]]


async def test_bulk_create_is_all_or_nothing_with_every_mistake_at_its_place(
    isp_a: SignedUp, pbx: Pbx, session: Session
):
    make_subscriber(session, pbx.tenant, username="taken")
    payload = await mutate(isp_a.client, "subscriberBulkCreate", tenant=pbx.id, subscribers=[
        {"username": "alice", "alias": "200"},
        {"username": "taken"},
        {"username": "bob", "alias": "200"},
        {"username": "Alice", "ringTimeout": 0},
        {"username": "carol", "concurrentCalls": 1},
    ])
    assert codes(payload) == [
        (["subscribers", "1", "username"], "ALREADY_EXISTS"),
        (["subscribers", "2", "alias"], "ALREADY_EXISTS"),
        (["subscribers", "3", "ringTimeout"], "INVALID"),
        (["subscribers", "3", "username"], "ALREADY_EXISTS"),
    ]
    assert "position 0" in payload["errors"][1]["message"]
    assert (payload["subscribers"], payload["warnings"]) == ([], [])
    assert count_subscribers(session) == 1


async def test_bulk_create_checks_the_customers_maximum_once_for_the_batch(
    isp_a: SignedUp, session: Session
):
    pbx = pbx_of(session, isp_a, max_subscribers=3)
    payload = await mutate(isp_a.client, "subscriberBulkCreate", tenant=pbx.id,
                           subscribers=[{"username": f"u{n}"} for n in range(4)])
    assert codes(payload) == [(None, "LIMIT_REACHED")]
    assert count_subscribers(session) == 0
    fits = await mutate(isp_a.client, "subscriberBulkCreate", tenant=pbx.id,
                        subscribers=[{"username": f"u{n}"} for n in range(3)])
    assert fits["errors"] == []


@pytest.mark.parametrize(("size", "code"), [(0, "REQUIRED"), (1001, "TOO_LARGE")])
async def test_bulk_create_takes_one_to_a_thousand(isp_a: SignedUp, pbx: Pbx, size: int,
                                                   code: str):
    payload = await mutate(isp_a.client, "subscriberBulkCreate", tenant=pbx.id,
                           subscribers=[{"username": f"u{n}"} for n in range(size)])
    assert codes(payload) == [(["subscribers"], code)]


async def test_bulk_create_in_another_isps_tenant_is_not_found(
    isp_a: SignedUp, isp_b: SignedUp, session: Session
):
    payload = await mutate(isp_a.client, "subscriberBulkCreate", tenant=pbx_of(session, isp_b).id,
                           subscribers=[{"username": "x"}])
    assert codes(payload) == [(["tenant"], "NOT_FOUND")]


async def test_bulk_update_names_what_it_cannot_find_or_is_given_twice(
    isp_a: SignedUp, isp_b: SignedUp, pbx: Pbx, session: Session
):
    mine = to_global_id("Subscriber", make_subscriber(session, pbx.tenant).id)
    theirs = to_global_id("Subscriber",
                          make_subscriber(session, pbx_of(session, isp_b).tenant).id)
    payload = await mutate(isp_a.client, "subscriberBulkUpdate", subscribers=[
        {"id": mine, "displayName": "A"}, {"id": theirs, "displayName": "B"},
        {"id": "junk", "displayName": "C"}, {"id": mine, "displayName": "D"}])
    assert codes(payload) == [(["subscribers", "1", "id"], "NOT_FOUND"),
                              (["subscribers", "2", "id"], "NOT_FOUND"),
                              (["subscribers", "3", "id"], "INVALID")]
    assert stored(session, mine).display_name == ""


async def test_bulk_update_is_not_permitted_to_viewers(
    isp_a: SignedUp, pbx: Pbx, session: Session, app: Starlette, engine: Engine
):
    subscriber_id = to_global_id("Subscriber", make_subscriber(session, pbx.tenant).id)
    viewer = await someone(app, engine, isp_a.isp_id, tenant=pbx.tenant, role=Role.VIEWER)
    payload = await mutate(viewer, "subscriberBulkUpdate",
                           subscribers=[{"id": subscriber_id, "displayName": "x"}])
    assert codes(payload) == [(None, "NOT_PERMITTED")]


@pytest.mark.postgres
@pytest.mark.skipif(services.TEST_DATABASE != "postgresql",
                    reason="row locks need the suite on PostgreSQL "
                           "(WEHOSTVOIP_TEST_DATABASE=postgresql)")
async def test_two_concurrent_bulk_creates_cannot_both_pass_the_customers_maximum(
    isp_a: SignedUp, session: Session, app: Starlette
):
    first = pbx_of(session, isp_a, max_subscribers=10)
    second = pbx_of(session, isp_a, customer=first.customer)
    rival = Client(app)
    await rival.login(isp_a.email)
    payloads = await asyncio.gather(*(
        mutate(client, "subscriberBulkCreate", tenant=pbx.id,
               subscribers=[{"username": f"u{n}"} for n in range(6)])
        for client, pbx in ((isp_a.client, first), (rival, second))))
    await rival.close()
    outcomes = sorted(codes(payload) == [] for payload in payloads)
    assert outcomes == [False, True]
    assert [codes(payload) for payload in payloads if payload["errors"]] == [
        [(None, "LIMIT_REACHED")]]
    assert count_subscribers(session) == 6


# Lists -------------------------------------------------------------------------------------------


async def test_subscribers_are_filtered_and_ordered(isp_a: SignedUp, pbx: Pbx,
                                                    session: Session):
    group = make_security_group(session, pbx.tenant, name="Intl")
    make_subscriber(session, pbx.tenant, username="carol", alias="300",
                    security_group_id=group.id)
    make_subscriber(session, pbx.tenant, username="alice", alias="100", email="al@x.example")
    make_subscriber(session, pbx.tenant, username="bob", status="DISABLED")
    make_subscriber(session, pbx.tenant, username="dave", source=SubscriberSource.GOOGLE,
                    external_id="g-1")
    make_subscriber(session, pbx_of(session, isp_a).tenant, username="zed")

    async def usernames(**arguments: Any) -> list[str]:
        return [node["username"] for node in await listed(isp_a.client, **arguments)]

    assert await usernames(filter={"tenant": pbx.id}) == ["alice", "bob", "carol", "dave"]
    assert await usernames(filter={"search": "AL@X"}) == ["alice"]
    assert await usernames(filter={"search": "30"}) == ["carol"]
    assert await usernames(filter={"status": "DISABLED"}) == ["bob"]
    assert await usernames(filter={"source": "GOOGLE"}) == ["dave"]
    assert await usernames(filter={"securityGroup": to_global_id("SecurityGroup",
                                                                   group.id)}) == ["carol"]
    assert await usernames(orderBy={"field": "ALIAS", "direction": "DESC"}) == ["carol",
                                                                                 "alice"]
    assert await usernames(filter={"tenant": pbx.id},
                           orderBy={"field": "USERNAME", "direction": "DESC"}) == [
        "dave", "carol", "bob", "alice"]


async def test_subscribers_page_with_cursors(isp_a: SignedUp, pbx: Pbx, session: Session):
    for n in range(5):
        make_subscriber(session, pbx.tenant, username=f"user{n}", alias=f"{500 + n}")
    seen: list[str] = []
    after = None
    while True:
        data = (await isp_a.client.execute(LIST, {"first": 2, "after": after,
                                                  "orderBy": {"field": "ALIAS"}}))["subscribers"]
        seen += [edge["node"]["alias"] for edge in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert seen == [f"{500 + n}" for n in range(5)]


async def test_anonymous_sees_no_subscribers(pbx: Pbx, session: Session, anonymous: Client):
    make_subscriber(session, pbx.tenant)
    assert await listed(anonymous) == []


async def test_a_subscribers_page_costs_the_same_statements_whatever_its_size(
    isp_a: SignedUp, pbx: Pbx, session: Session, app: Starlette
):
    group = make_security_group(session, pbx.tenant)
    for n in range(30):
        make_subscriber(session, pbx.tenant, username=f"user{n:02d}",
                        security_group_id=group.id if n % 2 else None)
    with count_statements(app) as small:
        assert len(await listed(isp_a.client, first=2)) == 2
    with count_statements(app) as large:
        assert len(await listed(isp_a.client, first=30)) == 30
    assert len(large) == len(small), (small, large)
    # Authentication (3) + page + count + security groups: fixed, not one per row.
    assert len(large) <= 6, large


# The core, for what the API does not offer -------------------------------------------------------


async def test_a_synchronised_subscriber_needs_its_directory_id(
    session: Session, settings: Settings, isp_a: SignedUp
):
    pbx = pbx_of(session, isp_a)
    viewer = Viewer(administrator_id=id_of(isp_a.administrator_id, "Administrator"),
                    grants=(Grant(scope=Scope.ISP, role=Role.ADMIN, isp_id=pbx.isp.id),))
    with pytest.raises(DomainError) as refused:
        subscribers.create_subscriber(session, settings, viewer, pbx.tenant.id, SubscriberFields(
            username="alice", source=SubscriberSource.GOOGLE))
    assert [(error.code, error.field) for error in refused.value.errors] == [
        (ErrorCode.REQUIRED, ("external_id",))]
    saved = subscribers.create_subscriber(session, settings, viewer, pbx.tenant.id,
                                          SubscriberFields(username="alice",
                                                           source=SubscriberSource.GOOGLE,
                                                           external_id="google-123"))
    assert (saved.subscriber.source, saved.subscriber.external_id) == (
        SubscriberSource.GOOGLE, "google-123")
