"""Customers over GraphQL, and the subscriber limit they carry (checked in core)."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, insert, select, update
from sqlmodel import Session
from starlette.applications import Starlette

from core.customers import ensure_subscriber_capacity
from core.errors import DomainError, ErrorCode
from core.models import AuditEvent, Customer, Isp, Smbc, Subscriber, Tenant, TenantSmbc
from schema.core.ids import id_of, to_global_id
from tests import services
from tests.factories import make_customer, make_isp, make_subscriber, make_tenant
from tests.graphql import Client, SignedUp
from tests.isolation_cases.plans_and_customers import (
    ERRORS,
    create_customer,
    create_plan,
    create_smbc,
    read_only_colleague,
)
from tests.schema.test_pagination import count_statements

FIELDS = """id name maxSubscribers maxConcurrentCalls status servicePlan { id name }
  contact { name email phone } address { line1 line2 city region postalCode country }"""
CREATE = f"""mutation($input: CustomerCreateInput!) {{
  customerCreate(input: $input) {{ customer {{ {FIELDS} }} {ERRORS} }} }}"""
UPDATE = f"""mutation($input: CustomerUpdateInput!) {{
  customerUpdate(input: $input) {{ customer {{ {FIELDS} }} {ERRORS} }} }}"""
DELETE = f"""mutation($id: ID!) {{ customerDelete(input: {{id: $id}}) {{ deletedId {ERRORS} }} }}"""
NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on Customer {{ {FIELDS} }} }} }}"
LIMITS = {"maxSubscribers": 20, "maxConcurrentCalls": 5}


def _codes(payload: dict[str, Any]) -> list[tuple[list[str] | None, str]]:
    return [(error["field"], error["code"]) for error in payload["errors"]]


async def _create(client: Client, **fields: Any) -> dict[str, Any]:
    data = await client.execute(CREATE, {"input": {"name": "Acme"} | LIMITS | fields})
    return data["customerCreate"]


async def _update(client: Client, customer_id: str, **fields: Any) -> dict[str, Any]:
    data = await client.execute(UPDATE, {"input": {"id": customer_id} | fields})
    return data["customerUpdate"]


def _rows(engine: Engine, isp: SignedUp) -> tuple[Isp, Customer]:
    """The ISP's row and its first customer's, for arranging tenants under it."""
    with Session(engine) as session:
        isp_row = session.get(Isp, id_of(isp.isp_id, "Isp"))
        customer = session.execute(select(Customer).where(Customer.isp_id == isp_row.id)
                                   .order_by(Customer.created_at)).scalars().first()
        return isp_row, customer


# Creating and changing --------------------------------------------------------------------


async def test_a_customer_has_contacts_an_address_a_plan_and_limits(isp_a: SignedUp,
                                                                   engine: Engine):
    plan_id = await create_plan(isp_a, "Gold")
    payload = await _create(
        isp_a.client, servicePlan=plan_id,
        contact={"name": "Ann Smith", "email": "Ann@Acme.example", "phone": "+12025550123"},
        address={"line1": "1 Main St", "city": "Springfield", "postalCode": "12345",
                 "country": "us"})
    assert payload["errors"] == []
    customer = payload["customer"]
    assert customer | {"id": None} == {
        "id": None, "name": "Acme", "maxSubscribers": 20, "maxConcurrentCalls": 5,
        "status": "ACTIVE", "servicePlan": {"id": plan_id, "name": "Gold"},
        "contact": {"name": "Ann Smith", "email": "ann@acme.example", "phone": "+12025550123"},
        "address": {"line1": "1 Main St", "line2": "", "city": "Springfield", "region": "",
                    "postalCode": "12345", "country": "US"}}
    assert (await isp_a.client.execute(NODE, {"id": customer["id"]}))["node"] == customer
    with Session(engine) as session:
        event = session.execute(select(AuditEvent).where(
            AuditEvent.object_type == "Customer")).scalars().one()
    assert (event.action, event.object_id, event.changes["max_subscribers"]) == (
        "customer.create", str(id_of(customer["id"], "Customer")), 20)


@pytest.mark.parametrize(("fields", "expected"), [
    ({"name": ""}, [(["name"], "REQUIRED")]),
    ({"contact": {"email": "nobody"}}, [(["contact", "email"], "INVALID")]),
    ({"contact": {"phone": "2025550123"}}, [(["contact", "phone"], "INVALID")]),
    ({"address": {"country": "XX"}}, [(["address", "country"], "INVALID")]),
    ({"address": {"postalCode": "9" * 21}}, [(["address", "postalCode"], "INVALID")]),
    ({"maxSubscribers": 0, "maxConcurrentCalls": -1},
     [(["maxSubscribers"], "INVALID"), (["maxConcurrentCalls"], "INVALID")]),
    ({"servicePlan": to_global_id("ServicePlan", uuid.uuid4())},
     [(["servicePlan"], "NOT_FOUND")]),
    ({"isp": to_global_id("Isp", uuid.uuid4())}, [(["isp"], "NOT_FOUND")]),
])
async def test_bad_customers_are_refused(isp_a: SignedUp, fields: dict[str, Any],
                                         expected: list[tuple[list[str], str]]):
    assert _codes(await _create(isp_a.client, **fields)) == expected
    assert (await isp_a.client.execute("{ customers { totalCount } }"))["customers"] == {
        "totalCount": 0}


async def test_customer_names_are_unique_within_the_isp(isp_a: SignedUp, isp_b: SignedUp):
    await create_customer(isp_a, "Acme")
    await create_customer(isp_b, "Acme")
    assert _codes(await _create(isp_a.client, name="Acme")) == [(["name"], "ALREADY_EXISTS")]


async def test_update_changes_only_what_is_given(isp_a: SignedUp):
    plan_id = await create_plan(isp_a)
    customer_id = await create_customer(
        isp_a, servicePlan=plan_id, contact={"name": "Ann", "email": "ann@acme.example"},
        address={"city": "Springfield"})
    payload = await _update(isp_a.client, customer_id, name=None, status="SUSPENDED",
                            contact={"name": "Bob"}, maxConcurrentCalls=9)
    customer = payload["customer"]
    assert (customer["name"], customer["status"], customer["maxConcurrentCalls"],
            customer["maxSubscribers"]) == ("Acme", "SUSPENDED", 9, 10)
    # A group given replaces the whole group; one left out stays.
    assert customer["contact"] == {"name": "Bob", "email": "", "phone": ""}
    assert customer["address"]["city"] == "Springfield"
    assert customer["servicePlan"] == {"id": plan_id, "name": "Gold"}
    cleared = await _update(isp_a.client, customer_id, servicePlan=None)
    assert cleared["customer"]["servicePlan"] is None


async def test_missing_customers_answer_not_found(isp_a: SignedUp):
    missing = to_global_id("Customer", uuid.uuid4())
    assert _codes(await _update(isp_a.client, missing, name="X")) == [(["id"], "NOT_FOUND")]
    deleted = await isp_a.client.execute(DELETE, {"id": "garbage"})
    assert _codes(deleted["customerDelete"]) == [(["id"], "NOT_FOUND")]


async def test_a_viewer_reads_customers_but_cannot_change_them(isp_a: SignedUp, app: Starlette,
                                                              engine: Engine):
    customer_id = await create_customer(isp_a)
    viewer = await read_only_colleague(isp_a, app, engine)
    assert (await viewer.execute(NODE, {"id": customer_id}))["node"]["name"] == "Acme"
    created = await _create(viewer, name="Mine", isp=isp_a.isp_id)
    updated = await _update(viewer, customer_id, name="Mine")
    deleted = (await viewer.execute(DELETE, {"id": customer_id}))["customerDelete"]
    for payload in (created, updated, deleted):
        assert _codes(payload) == [(None, "NOT_PERMITTED")]


async def test_anonymous_callers_must_log_in(isp_a: SignedUp, anonymous: Client):
    customer_id = await create_customer(isp_a)
    assert _codes(await _create(anonymous)) == [(None, "UNAUTHENTICATED")]
    deleted = (await anonymous.execute(DELETE, {"id": customer_id}))["customerDelete"]
    assert _codes(deleted) == [(None, "UNAUTHENTICATED")]


# Deleting ------------------------------------------------------------------------------------


async def test_a_customer_owning_tenants_cannot_be_deleted(isp_a: SignedUp, engine: Engine,
                                                          session: Session):
    customer_id = await create_customer(isp_a)
    isp, customer = _rows(engine, isp_a)
    tenant = make_tenant(session, isp, customer, name="Head office")
    refused = (await isp_a.client.execute(DELETE, {"id": customer_id}))["customerDelete"]
    assert _codes(refused) == [(["id"], "IN_USE")]
    assert "Head office" in refused["errors"][0]["message"]

    session.delete(tenant)
    session.commit()
    await create_smbc(isp_a, "on-premises", customer=customer_id)
    deleted = (await isp_a.client.execute(DELETE, {"id": customer_id}))["customerDelete"]
    assert deleted == {"deletedId": customer_id, "errors": []}
    assert (await isp_a.client.execute(NODE, {"id": customer_id}))["node"] is None
    # Its own SMBCs went with it.
    assert session.execute(select(Smbc)).first() is None


async def test_a_customer_whose_smbc_serves_another_tenant_cannot_be_deleted(
    isp_a: SignedUp, engine: Engine, session: Session
):
    owner_id = await create_customer(isp_a, "Owner")
    smbc_id = await create_smbc(isp_a, "shared", customer=owner_id)
    await create_customer(isp_a, "Neighbour")
    isp = session.get(Isp, id_of(isp_a.isp_id, "Isp"))
    neighbour = session.execute(select(Customer).where(Customer.name == "Neighbour")).scalar_one()
    tenant = make_tenant(session, isp, neighbour, name="Next door")
    session.add(TenantSmbc(tenant_id=tenant.id, smbc_id=id_of(smbc_id, "Smbc")))
    session.commit()
    refused = (await isp_a.client.execute(DELETE, {"id": owner_id}))["customerDelete"]
    assert _codes(refused) == [(["id"], "IN_USE")]
    assert "Next door" in refused["errors"][0]["message"]


# Lists ---------------------------------------------------------------------------------------

LIST = """query($filter: CustomerFilter, $order: CustomerOrder, $first: Int, $after: String) {
  customers(filter: $filter, orderBy: $order, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { name } } } }"""


async def _names(client: Client, **variables: Any) -> list[str]:
    data = await client.execute(LIST, variables)
    return [edge["node"]["name"] for edge in data["customers"]["edges"]]


async def test_customers_list_filters_sorts_and_pages(isp_a: SignedUp, isp_b: SignedUp):
    gold = await create_plan(isp_a, "Gold")
    await create_customer(isp_a, "Acme", servicePlan=gold)
    await create_customer(isp_a, "Bolt", contact={"email": "it@acme-group.example"})
    await create_customer(isp_a, "Cargo", status="SUSPENDED", servicePlan=gold)
    await create_customer(isp_b, "Acme Two")
    assert await _names(isp_a.client) == ["Acme", "Bolt", "Cargo"]
    assert await _names(isp_a.client, filter={"search": "ACME"}) == ["Acme", "Bolt"]
    assert await _names(isp_a.client, filter={"status": "SUSPENDED"}) == ["Cargo"]
    assert await _names(isp_a.client, filter={"servicePlan": gold}) == ["Acme", "Cargo"]
    assert await _names(isp_a.client, filter={"servicePlan": "nonsense"}) == []
    assert await _names(isp_a.client, order={"field": "CREATED_AT", "direction": "DESC"}) == [
        "Cargo", "Bolt", "Acme"]
    page = (await isp_a.client.execute(LIST, {"first": 2}))["customers"]
    assert page["totalCount"] == 3
    assert page["pageInfo"]["hasNextPage"]
    after = page["pageInfo"]["endCursor"]
    assert await _names(isp_a.client, first=2, after=after) == ["Cargo"]


def _add_customers(engine: Engine, isp: SignedUp, plan_id: str, count: int) -> None:
    with Session(engine) as session:
        for number in range(count):
            session.add(Customer(isp_id=id_of(isp.isp_id, "Isp"), name=f"{plan_id} {number:03d}",
                                 service_plan_id=id_of(plan_id, "ServicePlan"),
                                 max_subscribers=1, max_concurrent_calls=1))
        session.commit()


async def test_a_page_of_customers_with_their_plans_costs_a_fixed_number_of_statements(
    isp_a: SignedUp, engine: Engine, app: Starlette
):
    plans = [await create_plan(isp_a, name) for name in ("Gold", "Silver")]
    for plan_id in plans:
        _add_customers(engine, isp_a, plan_id, 15)
    query = "query($first: Int) { customers(first: $first) { totalCount edges { node { name " \
            "servicePlan { name } } } } }"
    with count_statements(app) as small:
        page = await isp_a.client.execute(query, {"first": 2})
        assert len(page["customers"]["edges"]) == 2
    with count_statements(app) as large:
        page = await isp_a.client.execute(query, {"first": 30})
        assert {edge["node"]["servicePlan"]["name"] for edge in page["customers"]["edges"]} == {
            "Gold", "Silver"}
    assert len(large) == len(small), (small, large)
    # Authentication (3) + page + count + the plans of the page.
    assert len(large) <= 6, large


# The subscriber limit ------------------------------------------------------------------------


def test_the_limit_counts_subscribers_across_all_the_customers_tenants(session: Session):
    isp = make_isp(session)
    customer = make_customer(session, isp, max_subscribers=3)
    first, second = make_tenant(session, isp, customer), make_tenant(session, isp, customer)
    make_subscriber(session, first)
    make_subscriber(session, second)
    ensure_subscriber_capacity(session, customer.id, 1)  # the third fits
    with pytest.raises(DomainError) as refused:
        ensure_subscriber_capacity(session, customer.id, 2)
    error = refused.value.errors[0]
    assert (error.code, error.field) == (ErrorCode.LIMIT_REACHED, ("customer",))
    assert "at most 3" in error.message
    assert "has 2" in error.message
    # Another customer's subscribers do not count.
    other = make_customer(session, isp, max_subscribers=1)
    ensure_subscriber_capacity(session, other.id, 1)


def _counted(session: Session, customer: Customer) -> tuple[int, int]:
    """The count the database keeps for the limit, and the subscribers counted row by row."""
    session.expire_all()
    kept = session.execute(select(Customer.subscriber_count)
                           .where(Customer.id == customer.id)).scalar_one()
    rows = session.execute(select(func.count()).select_from(Subscriber)
                           .join(Tenant, Tenant.id == Subscriber.tenant_id)
                           .where(Tenant.customer_id == customer.id)).scalar_one()
    return kept, rows


def test_the_kept_count_follows_every_way_subscribers_come_and_go(session: Session):
    # The limit reads a count the database keeps (triggers): it must match the rows
    # whatever wrote them, the ORM, plain multi-row statements or a foreign-key cascade.
    isp = make_isp(session)
    customer, other = (make_customer(session, isp, max_subscribers=10),
                       make_customer(session, isp, max_subscribers=10))
    first, second = make_tenant(session, isp, customer), make_tenant(session, isp, customer)
    for tenant in (first, first, second):
        make_subscriber(session, tenant)
    assert _counted(session, customer) == (3, 3)
    template = make_subscriber(session, second)
    copies = [{column: getattr(template, column) for column in Subscriber.model_fields}
              | {"id": uuid.uuid4(), "username": f"copy{n}", "alias": None}
              for n in range(4)]
    session.execute(insert(Subscriber), copies)  # one statement, many rows
    session.commit()
    assert _counted(session, customer) == (8, 8)
    session.execute(delete(Subscriber).where(Subscriber.username.in_(["copy0", "copy1"])))
    session.commit()
    assert _counted(session, customer) == (6, 6)
    session.delete(session.get(Subscriber, template.id))
    session.commit()
    assert _counted(session, customer) == (5, 5)
    # A subscriber moved to another tenant, a tenant given to another customer.
    moved = make_subscriber(session, first)
    session.execute(update(Subscriber).where(Subscriber.id == moved.id)
                    .values(tenant_id=second.id))
    session.execute(update(Tenant).where(Tenant.id == second.id).values(customer_id=other.id))
    session.commit()
    assert (_counted(session, customer), _counted(session, other)) == ((2, 2), (4, 4))
    ensure_subscriber_capacity(session, customer.id, 8)
    with pytest.raises(DomainError):
        ensure_subscriber_capacity(session, customer.id, 9)
    session.rollback()
    # A deleted tenant takes its subscribers (a cascade) and their places with it.
    session.execute(delete(Tenant).where(Tenant.id == second.id))
    session.commit()
    assert (_counted(session, customer), _counted(session, other)) == ((2, 2), (0, 0))
    ensure_subscriber_capacity(session, other.id, 10)


def test_an_unknown_customer_has_no_capacity(session: Session):
    with pytest.raises(DomainError) as refused:
        ensure_subscriber_capacity(session, uuid.uuid4(), 1)
    assert refused.value.errors[0].code is ErrorCode.NOT_FOUND


async def test_the_maximum_cannot_be_lowered_below_what_is_in_use(isp_a: SignedUp,
                                                                 engine: Engine,
                                                                 session: Session):
    customer_id = await create_customer(isp_a)
    isp, customer = _rows(engine, isp_a)
    tenant = make_tenant(session, isp, customer)
    for _ in range(3):
        make_subscriber(session, tenant)
    refused = await _update(isp_a.client, customer_id, maxSubscribers=2)
    assert _codes(refused) == [(["maxSubscribers"], "INVALID")]
    accepted = await _update(isp_a.client, customer_id, maxSubscribers=3)
    assert accepted["customer"]["maxSubscribers"] == 3


@pytest.mark.postgres
@pytest.mark.skipif(services.TEST_DATABASE != "postgresql",
                    reason="row locks need the suite on PostgreSQL "
                           "(WEHOSTVOIP_TEST_DATABASE=postgresql)")
def test_two_transactions_cannot_both_take_the_last_place(engine: Engine, session: Session):
    isp = make_isp(session)
    customer = make_customer(session, isp, max_subscribers=1)
    tenant = make_tenant(session, isp, customer)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def add_one() -> None:
        with Session(engine) as own:
            start.wait()
            try:
                ensure_subscriber_capacity(own, customer.id, 1)
            except DomainError:
                outcomes.append("refused")
                return
            time.sleep(0.3)  # hold the lock while the other transaction asks
            make_subscriber(own, tenant)  # commits, releasing the lock
            outcomes.append("created")

    threads = [threading.Thread(target=add_one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(outcomes) == ["created", "refused"]
