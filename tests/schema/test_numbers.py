"""The number inventory over HTTP: each operation's success, not-found, not-permitted, bad input.

Tenants and subscribers have no API yet, so they are arranged in the database;
so are the people holding tenant or read-only roles, who then log in.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.applications import Starlette

from api.app import create_app
from core.database import make_sync_engine
from core.models import (
    Administrator,
    AuditEvent,
    Isp,
    Number,
    NumberState,
    NumberType,
    Role,
    RoleGrant,
    Scope,
    Tenant,
    utcnow,
)
from core.number_ranges import RANGES_PER_HOUR
from core.passwords import hash_password
from schema.core.ids import id_of, to_global_id
from tests.conftest import (
    create_postgres_database,
    drop_postgres_database,
    make_settings,
    migrate_to_head,
)
from tests.factories import make_customer, make_number, make_subscriber, make_tenant
from tests.graphql import PASSWORD, Client, SignedUp, sign_up
from tests.schema.test_pagination import count_statements

NUMBER = """id e164 source numberType price vendorPrice voice sms state quarantineUntil
            tenantId targetSubscriberId createdAt isp { id }"""
SELECTIONS = {
    "numberCreate": f"number {{ {NUMBER} }}",
    "numberRangeCreate": "count first { e164 numberType } last { e164 }",
    "numberUpdate": f"number {{ {NUMBER} }}",
    "numberDelete": "deletedId",
    "numberAssign": f"number {{ {NUMBER} }}",
    "numberRelease": f"number {{ {NUMBER} }}",
    "numberTargetSet": f"number {{ {NUMBER} }}",
}
LIST = """query($filter: NumberFilter, $orderBy: NumberOrder, $first: Int, $after: String) {
  numbers(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { e164 price vendorPrice state tenantId isp { name } } }
  }
}"""
SUMMARY = """query($isp: ID) { numberInventorySummary(isp: $isp) {
  available assigned quarantine total monthlyRevenue monthlyCost monthlyMargin currency } }"""

Person = Callable[..., Awaitable[Client]]


async def mutate(client: Client, name: str, **input: Any) -> dict[str, Any]:
    """The payload of a number mutation (``name`` as in the schema)."""
    operation = f"{name[0].upper()}{name[1:]}Input"
    query = (f"mutation($input: {operation}!) {{ {name}(input: $input) "
             f"{{ {SELECTIONS[name]} errors {{ field code message }} }} }}")
    return (await client.execute(query, {"input": input}))[name]


def codes(payload: dict[str, Any]) -> list[tuple[list[str] | None, str]]:
    return [(error["field"], error["code"]) for error in payload["errors"]]


async def listed(client: Client, **arguments: Any) -> list[dict[str, Any]]:
    data = await client.execute(LIST, arguments)
    return [edge["node"] for edge in data["numbers"]["edges"]]


def isp_of(session: Session, signed: SignedUp) -> Isp:
    return session.get(Isp, id_of(signed.isp_id, "Isp"))


def tenant_of(session: Session, signed: SignedUp) -> Tenant:
    isp = isp_of(session, signed)
    return make_tenant(session, isp, make_customer(session, isp))


def number_in(session: Session, signed: SignedUp, **fields: Any) -> str:
    """A number arranged in the ISP's inventory; returns its global id."""
    return to_global_id("Number", make_number(session, isp_of(session, signed), **fields).id)


def assigned_to(session: Session, tenant: Tenant, **fields: Any) -> str:
    isp = session.get(Isp, tenant.isp_id)
    row = make_number(session, isp, state=NumberState.ASSIGNED, tenant_id=tenant.id, **fields)
    return to_global_id("Number", row.id)


def stored(session: Session, global_id: str) -> Number | None:
    session.expire_all()
    return session.get(Number, id_of(global_id, "Number"))


@pytest.fixture
async def person(app: Starlette, session: Session) -> AsyncIterator[Person]:
    """Log in someone new holding ``role`` in an ISP or, with ``tenant``, in a tenant."""
    clients: list[Client] = []

    async def log_in(isp_id: uuid.UUID, tenant: Tenant | None = None,
                     role: Role = Role.ADMIN) -> Client:
        email = f"{uuid.uuid4().hex[:10]}@people.example"
        someone = Administrator(email=email, full_name="Some One",
                                password_hash=hash_password(PASSWORD))
        session.add(someone)
        session.flush()
        session.add(RoleGrant(administrator_id=someone.id, role=role, isp_id=isp_id,
                              scope=Scope.TENANT if tenant else Scope.ISP,
                              tenant_id=tenant.id if tenant else None))
        session.commit()
        client = Client(app)
        clients.append(client)
        assert (await client.login(email))["errors"] == []
        return client

    yield log_in
    for client in clients:
        await client.close()


async def isp_viewer(person: Person, session: Session, signed: SignedUp) -> Client:
    return await person(isp_of(session, signed).id, role=Role.VIEWER)


# numberCreate ----------------------------------------------------------------------------------


async def test_number_create(isp_a: SignedUp, session: Session):
    payload = await mutate(isp_a.client, "numberCreate", isp=isp_a.isp_id,
                           e164="+1 (800) 555-0100", source="AWS Voice Connector",
                           price="2.5", vendorPrice="0.75", sms=True)
    assert payload["errors"] == []
    number = payload["number"]
    assert {key: number[key] for key in ("e164", "source", "numberType", "price", "vendorPrice",
                                         "voice", "sms", "state", "tenantId")} == {
        "e164": "+18005550100", "source": "AWS Voice Connector", "numberType": "TOLL_FREE",
        "price": "2.5000", "vendorPrice": "0.7500", "voice": True, "sms": True,
        "state": "AVAILABLE", "tenantId": None}
    assert number["isp"]["id"] == isp_a.isp_id
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "number.create")).one()
    assert event.object_id == str(id_of(number["id"], "Number"))


async def test_number_create_needs_no_isp_from_the_admin_of_one(isp_a: SignedUp):
    payload = await mutate(isp_a.client, "numberCreate", e164="+12095550100",
                           numberType="TOLL_FREE")
    assert (payload["errors"], payload["number"]["numberType"]) == ([], "TOLL_FREE")


async def test_number_create_in_another_isp_is_not_found(isp_a: SignedUp, isp_b: SignedUp):
    payload = await mutate(isp_a.client, "numberCreate", isp=isp_b.isp_id, e164="+12095550100")
    assert codes(payload) == [(["isp"], "NOT_FOUND")]


async def test_number_create_is_not_permitted_to_viewers(isp_a: SignedUp, session: Session,
                                                         person: Person):
    viewer = await isp_viewer(person, session, isp_a)
    payload = await mutate(viewer, "numberCreate", isp=isp_a.isp_id, e164="+12095550100")
    assert codes(payload) == [(None, "NOT_PERMITTED")]


async def test_number_create_needs_a_login(anonymous: Client):
    payload = await mutate(anonymous, "numberCreate", e164="+12095550100")
    assert codes(payload) == [(None, "UNAUTHENTICATED")]


@pytest.mark.parametrize(("e164", "reason"), [
    ("12095550100", "missing the +: write the number in E.164 form, starting with + and the "
                    "country code"),
    ("+999123456", "the digits after + are not a country calling code"),
    ("+1209", "too short for a number of country code +1"),
    ("+12O9", "not a phone number: write + and the digits"),
])
async def test_number_create_refuses_invalid_numbers_saying_why(isp_a: SignedUp, e164: str,
                                                                reason: str):
    payload = await mutate(isp_a.client, "numberCreate", e164=e164)
    assert payload["errors"] == [{"field": ["e164"], "code": "INVALID", "message": reason}]


async def test_number_create_refuses_bad_amounts_all_at_once(isp_a: SignedUp):
    payload = await mutate(isp_a.client, "numberCreate", e164="+12095550100", price="-1",
                           vendorPrice="0.00001")
    assert codes(payload) == [(["price"], "INVALID"), (["vendorPrice"], "INVALID")]


async def test_number_create_refuses_a_number_already_on_the_platform(
    isp_a: SignedUp, isp_b: SignedUp
):
    assert (await mutate(isp_b.client, "numberCreate", e164="+12095550100"))["errors"] == []
    payload = await mutate(isp_a.client, "numberCreate", e164="+1 209 555 0100")
    assert payload["errors"] == [{"field": ["e164"], "code": "ALREADY_EXISTS",
                                  "message": "already on the platform: +12095550100"}]


# numberRangeCreate -----------------------------------------------------------------------------


async def test_number_range_create(isp_a: SignedUp, session: Session):
    payload = await mutate(isp_a.client, "numberRangeCreate", first="+12095550100",
                           last="+12095550199", price="1.25")
    assert payload == {"count": 100, "first": {"e164": "+12095550100", "numberType": "LOCAL"},
                       "last": {"e164": "+12095550199"}, "errors": []}
    prices = session.exec(select(Number.price).where(Number.e164.like("+1209555%"))).all()
    assert prices == [Decimal("1.25")] * 100


async def test_number_range_create_is_bounded(isp_a: SignedUp):
    payload = await mutate(isp_a.client, "numberRangeCreate", first="+12095550000",
                           last="+12095560000")
    assert payload["errors"] == [{"field": ["last"], "code": "TOO_LARGE", "message":
                                  "a range holds at most 10,000 numbers; this one has 10,001"}]


async def test_number_range_create_adds_nothing_when_one_exists(isp_a: SignedUp,
                                                                session: Session):
    number_in(session, isp_a, e164="+12095550142")
    payload = await mutate(isp_a.client, "numberRangeCreate", first="+12095550100",
                           last="+12095550199")
    assert payload["errors"] == [{"field": ["first"], "code": "ALREADY_EXISTS",
                                  "message": "already in your inventory: +12095550142"}]
    assert len(session.exec(select(Number)).all()) == 1


async def test_number_range_create_names_no_other_isps_numbers(
        isp_a: SignedUp, isp_b: SignedUp, session: Session):
    for e164 in ("+12095550142", "+12095550150", "+12095550151"):
        number_in(session, isp_b, e164=e164)
    number_in(session, isp_a, e164="+12095550160")
    payload = await mutate(isp_a.client, "numberRangeCreate", first="+12095550100",
                           last="+12095550199")
    assert payload["errors"] == [{"field": ["first"], "code": "ALREADY_EXISTS", "message":
                                  "already in your inventory: +12095550160; some numbers of "
                                  "the range are held elsewhere on the platform"}]
    only_theirs = await mutate(isp_a.client, "numberRangeCreate", first="+12095550140",
                               last="+12095550155")
    assert only_theirs["errors"][0]["message"] == (
        "some numbers of the range are held elsewhere on the platform")
    assert "+1209555014" not in str(only_theirs)


async def test_number_range_create_is_limited_per_isp(isp_a: SignedUp, session: Session):
    for attempt in range(RANGES_PER_HOUR):
        first = f"+1209556{attempt:02d}00"
        payload = await mutate(isp_a.client, "numberRangeCreate", first=first,
                               last=first[:-1] + "1")
        assert payload["errors"] == [], (attempt, payload)
    refused = await mutate(isp_a.client, "numberRangeCreate", first="+12095579900",
                           last="+12095579901")
    assert codes(refused) == [(None, "TOO_MANY_ATTEMPTS")]
    assert session.exec(select(Number).where(Number.e164 == "+12095579900")).first() is None


async def test_number_range_create_in_another_isp_is_not_found(isp_a: SignedUp,
                                                               isp_b: SignedUp):
    payload = await mutate(isp_a.client, "numberRangeCreate", isp=isp_b.isp_id,
                           first="+12095550100", last="+12095550101")
    assert codes(payload) == [(["isp"], "NOT_FOUND")]


async def test_number_range_create_is_not_permitted_to_viewers(isp_a: SignedUp,
                                                               session: Session,
                                                               person: Person):
    viewer = await isp_viewer(person, session, isp_a)
    payload = await mutate(viewer, "numberRangeCreate", first="+12095550100",
                           last="+12095550101", isp=isp_a.isp_id)
    assert codes(payload) == [(None, "NOT_PERMITTED")]


# numberUpdate ----------------------------------------------------------------------------------


async def test_number_update_changes_only_what_is_given(isp_a: SignedUp, session: Session):
    number = number_in(session, isp_a, source="carrier A", price=Decimal("1"))
    payload = await mutate(isp_a.client, "numberUpdate", id=number, price="4.20", sms=True,
                           voice=None)
    assert payload["errors"] == []
    changed = payload["number"]
    assert (changed["price"], changed["sms"], changed["voice"], changed["source"]) == (
        "4.2000", True, True, "carrier A")


async def test_number_update_of_another_isps_number_is_not_found(
    isp_a: SignedUp, isp_b: SignedUp, session: Session
):
    theirs = number_in(session, isp_b)
    for number_id in (theirs, "not-an-id"):
        payload = await mutate(isp_a.client, "numberUpdate", id=number_id, price="1")
        assert codes(payload) == [(["id"], "NOT_FOUND")]
    assert stored(session, theirs).price == Decimal("0")


async def test_number_update_is_not_permitted_to_viewers_and_tenants(
    isp_a: SignedUp, session: Session, person: Person
):
    tenant = tenant_of(session, isp_a)
    number = assigned_to(session, tenant)
    for someone in (await isp_viewer(person, session, isp_a),
                    await person(tenant.isp_id, tenant)):
        payload = await mutate(someone, "numberUpdate", id=number, price="9")
        assert codes(payload) == [(None, "NOT_PERMITTED")]


async def test_number_update_refuses_bad_amounts(isp_a: SignedUp, session: Session):
    payload = await mutate(isp_a.client, "numberUpdate", id=number_in(session, isp_a),
                           vendorPrice="-0.5", source="x" * 201)
    assert codes(payload) == [(["source"], "INVALID"), (["vendorPrice"], "INVALID")]


# numberDelete ----------------------------------------------------------------------------------


async def test_number_delete(isp_a: SignedUp, session: Session):
    for fields in ({}, {"state": NumberState.QUARANTINE, "quarantine_until": utcnow()}):
        number = number_in(session, isp_a, **fields)
        payload = await mutate(isp_a.client, "numberDelete", id=number)
        assert payload == {"deletedId": number, "errors": []}
        assert stored(session, number) is None


async def test_number_delete_refuses_an_assigned_number(isp_a: SignedUp, session: Session):
    number = assigned_to(session, tenant_of(session, isp_a))
    payload = await mutate(isp_a.client, "numberDelete", id=number)
    assert payload["errors"] == [{"field": ["id"], "code": "INVALID", "message":
                                  "the number is assigned to a tenant: release it first"}]


async def test_number_delete_of_another_isps_number_is_not_found(
    isp_a: SignedUp, isp_b: SignedUp, session: Session
):
    theirs = number_in(session, isp_b)
    assert codes(await mutate(isp_a.client, "numberDelete", id=theirs)) == [(["id"], "NOT_FOUND")]
    assert stored(session, theirs) is not None


async def test_number_delete_is_not_permitted_to_viewers(isp_a: SignedUp, session: Session,
                                                         person: Person):
    viewer = await isp_viewer(person, session, isp_a)
    payload = await mutate(viewer, "numberDelete", id=number_in(session, isp_a))
    assert codes(payload) == [(None, "NOT_PERMITTED")]


# numberAssign ----------------------------------------------------------------------------------


async def test_number_assign(isp_a: SignedUp, session: Session):
    tenant = tenant_of(session, isp_a)
    tenant_id = to_global_id("Tenant", tenant.id)
    payload = await mutate(isp_a.client, "numberAssign", number=number_in(session, isp_a),
                           tenant=tenant_id)
    assert payload["errors"] == []
    assert (payload["number"]["state"], payload["number"]["tenantId"]) == ("ASSIGNED", tenant_id)
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "number.assign")).one()
    assert (event.isp_id, event.tenant_id) == (tenant.isp_id, tenant.id)


async def test_number_assign_to_another_isps_tenant_is_not_found(
    isp_a: SignedUp, isp_b: SignedUp, session: Session
):
    their_tenant = to_global_id("Tenant", tenant_of(session, isp_b).id)
    payload = await mutate(isp_a.client, "numberAssign", number=number_in(session, isp_a),
                           tenant=their_tenant)
    assert codes(payload) == [(["tenant"], "NOT_FOUND")]


async def test_number_assign_of_another_isps_number_is_not_found(
    isp_a: SignedUp, isp_b: SignedUp, session: Session
):
    payload = await mutate(isp_a.client, "numberAssign", number=number_in(session, isp_b),
                           tenant=to_global_id("Tenant", tenant_of(session, isp_a).id))
    assert codes(payload) == [(["number"], "NOT_FOUND")]


async def test_number_assign_refuses_a_number_that_is_not_available(isp_a: SignedUp,
                                                                    session: Session):
    tenant = tenant_of(session, isp_a)
    payload = await mutate(isp_a.client, "numberAssign", number=assigned_to(session, tenant),
                           tenant=to_global_id("Tenant", tenant.id))
    assert payload["errors"] == [{"field": ["number"], "code": "INVALID",
                                  "message": "the number is already assigned to a tenant"}]


async def test_number_assign_is_for_isp_administrators_only(isp_a: SignedUp, session: Session,
                                                            person: Person):
    tenant = tenant_of(session, isp_a)
    viewer = await isp_viewer(person, session, isp_a)
    payload = await mutate(viewer, "numberAssign", number=number_in(session, isp_a),
                           tenant=to_global_id("Tenant", tenant.id))
    assert codes(payload) == [(None, "NOT_PERMITTED")]


@pytest.fixture
async def postgres_app(tmp_path: Path) -> AsyncIterator[tuple[Starlette, Engine]]:
    """The app on a migrated PostgreSQL database of the test's own, whatever the suite runs on."""
    url = create_postgres_database()
    migrate_to_head(url)
    engine = make_sync_engine(url)
    application = create_app(make_settings(url, tmp_path))
    async with LifespanManager(application):
        yield application, engine
    engine.dispose()
    drop_postgres_database(url)


@pytest.mark.postgres
async def test_of_two_concurrent_assignments_exactly_one_wins(
    postgres_app: tuple[Starlette, Engine]
):
    app, engine = postgres_app
    owner = await sign_up(app, engine, label="racer")
    rival = Client(app)
    await rival.login(owner.email)
    with Session(engine) as session:
        number = number_in(session, owner)
        tenants = [to_global_id("Tenant", tenant_of(session, owner).id) for _ in range(2)]
    payloads = await asyncio.gather(*(
        mutate(client, "numberAssign", number=number, tenant=tenant)
        for client, tenant in zip((owner.client, rival), tenants, strict=True)))
    winners = [payload for payload in payloads if not payload["errors"]]
    losers = [payload for payload in payloads if payload["errors"]]
    assert len(winners) == len(losers) == 1
    assert codes(losers[0]) == [(["number"], "INVALID")]
    with Session(engine) as session:
        assert to_global_id("Tenant", stored(session, number).tenant_id) \
            == winners[0]["number"]["tenantId"]
    await rival.close()
    await owner.client.close()


# numberRelease ---------------------------------------------------------------------------------


async def test_number_release_by_the_tenant_puts_it_in_quarantine(
    isp_a: SignedUp, session: Session, person: Person
):
    tenant = tenant_of(session, isp_a)
    number = assigned_to(session, tenant, target_subscriber_id=make_subscriber(session,
                                                                               tenant).id)
    tenant_admin = await person(tenant.isp_id, tenant)
    payload = await mutate(tenant_admin, "numberRelease", number=number)
    assert payload["errors"] == []
    released = payload["number"]
    assert (released["state"], released["tenantId"], released["targetSubscriberId"]) == (
        "QUARANTINE", None, None)
    assert released["quarantineUntil"] is not None


async def test_number_release_of_a_number_not_assigned_is_invalid(isp_a: SignedUp,
                                                                  session: Session):
    payload = await mutate(isp_a.client, "numberRelease", number=number_in(session, isp_a))
    assert payload["errors"] == [{"field": ["number"], "code": "INVALID",
                                  "message": "the number is not assigned to a tenant"}]


async def test_number_release_of_another_isps_number_is_not_found(
    isp_a: SignedUp, isp_b: SignedUp, session: Session
):
    theirs = assigned_to(session, tenant_of(session, isp_b))
    payload = await mutate(isp_a.client, "numberRelease", number=theirs)
    assert codes(payload) == [(["number"], "NOT_FOUND")]
    assert stored(session, theirs).state is NumberState.ASSIGNED


async def test_number_release_is_not_permitted_to_tenant_viewers_nor_seen_by_others(
    isp_a: SignedUp, session: Session, person: Person
):
    tenant, neighbour = tenant_of(session, isp_a), tenant_of(session, isp_a)
    number = assigned_to(session, tenant)
    tenant_viewer = await person(tenant.isp_id, tenant, Role.VIEWER)
    assert codes(await mutate(tenant_viewer, "numberRelease", number=number)) == [
        (None, "NOT_PERMITTED")]
    neighbour_admin = await person(neighbour.isp_id, neighbour)
    assert codes(await mutate(neighbour_admin, "numberRelease", number=number)) == [
        (["number"], "NOT_FOUND")]


# numberTargetSet -------------------------------------------------------------------------------


async def test_number_target_set_and_cleared_by_the_tenant(isp_a: SignedUp, session: Session,
                                                           person: Person):
    tenant = tenant_of(session, isp_a)
    subscriber = to_global_id("Subscriber", make_subscriber(session, tenant).id)
    number = assigned_to(session, tenant)
    tenant_admin = await person(tenant.isp_id, tenant)
    payload = await mutate(tenant_admin, "numberTargetSet", number=number, subscriber=subscriber)
    assert (payload["errors"], payload["number"]["targetSubscriberId"]) == ([], subscriber)
    cleared = await mutate(tenant_admin, "numberTargetSet", number=number, subscriber=None)
    assert cleared["number"]["targetSubscriberId"] is None


async def test_number_target_set_refuses_subscribers_of_other_tenants(isp_a: SignedUp,
                                                                      isp_b: SignedUp,
                                                                      session: Session):
    number = assigned_to(session, tenant_of(session, isp_a))
    neighbour = make_subscriber(session, tenant_of(session, isp_a))
    payload = await mutate(isp_a.client, "numberTargetSet", number=number,
                           subscriber=to_global_id("Subscriber", neighbour.id))
    assert codes(payload) == [(["subscriber"], "INVALID")]
    foreign = make_subscriber(session, tenant_of(session, isp_b))
    for subscriber in (to_global_id("Subscriber", foreign.id), "not-an-id"):
        payload = await mutate(isp_a.client, "numberTargetSet", number=number,
                               subscriber=subscriber)
        assert codes(payload) == [(["subscriber"], "NOT_FOUND")]


async def test_number_target_set_needs_an_assigned_number(isp_a: SignedUp, session: Session):
    payload = await mutate(isp_a.client, "numberTargetSet", number=number_in(session, isp_a))
    assert codes(payload) == [(["number"], "INVALID")]


async def test_number_target_set_on_another_isps_number_is_not_found(
    isp_a: SignedUp, isp_b: SignedUp, session: Session
):
    payload = await mutate(isp_a.client, "numberTargetSet",
                           number=assigned_to(session, tenant_of(session, isp_b)))
    assert codes(payload) == [(["number"], "NOT_FOUND")]


async def test_number_target_set_is_not_permitted_to_isp_viewers(
    isp_a: SignedUp, session: Session, person: Person
):
    viewer = await isp_viewer(person, session, isp_a)
    payload = await mutate(viewer, "numberTargetSet",
                           number=assigned_to(session, tenant_of(session, isp_a)))
    assert codes(payload) == [(None, "NOT_PERMITTED")]


# numbers ---------------------------------------------------------------------------------------


@pytest.fixture
def inventory(isp_a: SignedUp, isp_b: SignedUp, session: Session) -> Tenant:
    """Alpha's numbers in every state and type, and one of Bravo's; returns Alpha's tenant."""
    tenant = tenant_of(session, isp_a)
    number_in(session, isp_a, e164="+12095550100", price=Decimal("3"))
    number_in(session, isp_a, e164="+12095550101", price=Decimal("1"))
    number_in(session, isp_a, e164="+18005550100", number_type=NumberType.TOLL_FREE,
              price=Decimal("2"))
    number_in(session, isp_a, e164="+13105550100", state=NumberState.QUARANTINE,
              quarantine_until=utcnow())
    assigned_to(session, tenant, e164="+12095550102", price=Decimal("5"),
                vendor_price=Decimal("1"))
    number_in(session, isp_b, e164="+12095550199")
    return tenant


@pytest.mark.parametrize(("filter", "expected"), [
    ({}, ["+12095550100", "+12095550101", "+12095550102", "+13105550100", "+18005550100"]),
    ({"state": "AVAILABLE", "prefix": "1209"}, ["+12095550100", "+12095550101"]),
    ({"prefix": "+1800"}, ["+18005550100"]),
    ({"numberType": "TOLL_FREE"}, ["+18005550100"]),
    ({"state": "QUARANTINE"}, ["+13105550100"]),
    ({"tenant": "tenant"}, ["+12095550102"]),
    ({"isp": "bravo"}, []),
])
async def test_numbers_are_filtered(isp_a: SignedUp, isp_b: SignedUp, inventory: Tenant,
                                    filter: dict[str, str], expected: list[str]):
    replacements = {"tenant": to_global_id("Tenant", inventory.id), "bravo": isp_b.isp_id}
    filter = {key: replacements.get(value, value) for key, value in filter.items()}
    found = await listed(isp_a.client, filter=filter)
    assert [number["e164"] for number in found] == expected


async def test_numbers_page_by_price_with_cursors(isp_a: SignedUp, inventory: Tenant):
    order = {"field": "PRICE", "direction": "DESC"}
    first = (await isp_a.client.execute(LIST, {"orderBy": order, "first": 2}))["numbers"]
    assert [edge["node"]["price"] for edge in first["edges"]] == ["5.0000", "3.0000"]
    rest = await listed(isp_a.client, orderBy=order, after=first["pageInfo"]["endCursor"])
    assert [number["price"] for number in rest] == ["2.0000", "1.0000", "0.0000"]


@pytest.mark.parametrize("prefix", ["12%", "+1_09", "twelve", ""])
async def test_numbers_refuse_a_prefix_that_is_not_digits(isp_a: SignedUp, prefix: str):
    body = (await isp_a.client.post(LIST, {"filter": {"prefix": prefix}})).json()
    assert body["errors"][0]["extensions"]["code"] == "INVALID_FILTER"
    assert body["data"] is None


async def test_a_tenant_sees_its_own_numbers_without_what_they_cost_the_isp(
    isp_a: SignedUp, inventory: Tenant, person: Person
):
    tenant_admin = await person(inventory.isp_id, inventory)
    assert await listed(tenant_admin) == [{
        "e164": "+12095550102", "price": "5.0000", "vendorPrice": None, "state": "ASSIGNED",
        "tenantId": to_global_id("Tenant", inventory.id), "isp": {"name": "Alpha"}}]
    assert (await listed(isp_a.client, filter={"state": "ASSIGNED"}))[0]["vendorPrice"] \
        == "1.0000"


async def test_anonymous_sees_no_numbers(inventory: Tenant, anonymous: Client):
    assert await listed(anonymous) == []


async def test_a_numbers_page_costs_the_same_statements_whatever_its_size(
    isp_a: SignedUp, session: Session, app: Starlette
):
    isp = isp_of(session, isp_a)
    for n in range(30):
        make_number(session, isp, e164=f"+1209555{n:04d}")
    with count_statements(app) as small:
        assert len(await listed(isp_a.client, first=2, filter={"prefix": "1209"})) == 2
    with count_statements(app) as large:
        assert len(await listed(isp_a.client, first=30, filter={"prefix": "1209"})) == 30
    assert len(large) == len(small), (small, large)
    # Authentication (3), the page, its count, and the ISPs of all rows at once.
    assert len(large) <= 6, large


# numberInventorySummary and numberImportTemplate -------------------------------------------------


async def test_number_inventory_summary(isp_a: SignedUp, inventory: Tenant):
    data = await isp_a.client.execute(SUMMARY, {"isp": isp_a.isp_id})
    assert data["numberInventorySummary"] == {
        "available": 3, "assigned": 1, "quarantine": 1, "total": 5, "monthlyRevenue": "5.0000",
        "monthlyCost": "1.0000", "monthlyMargin": "4.0000", "currency": "USD"}


async def test_number_inventory_summary_of_another_isp_is_null(
    isp_a: SignedUp, isp_b: SignedUp, inventory: Tenant, anonymous: Client, person: Person
):
    tenant_admin = await person(inventory.isp_id, inventory)
    for client, isp in ((isp_a.client, isp_b.isp_id), (isp_a.client, "not-an-id"),
                        (anonymous, isp_a.isp_id), (tenant_admin, isp_a.isp_id)):
        assert (await client.execute(SUMMARY, {"isp": isp}))["numberInventorySummary"] is None


async def test_number_import_template(anonymous: Client):
    template = (await anonymous.execute("{ numberImportTemplate }"))["numberImportTemplate"]
    assert template.splitlines()[0] == "e164,source,type,price,vendor_price,voice,sms"
