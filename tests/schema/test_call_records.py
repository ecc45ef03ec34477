"""callRecords, usageSummary, callRecordsRerate and vendorRatesImport over GraphQL: what
each viewer sees, the filters, the sums, and corrections keeping the old ratings."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import time
import uuid
from decimal import Decimal
from typing import Any

import dramatiq
from sqlalchemy import Engine, select
from sqlmodel import Session
from starlette.applications import Starlette

from core.models import (
    AuditEvent,
    Customer,
    Number,
    RateDeckEntry,
    Role,
    Scope,
    Service,
    ServicePlan,
)
from schema.core.ids import id_of, to_global_id
from tests.call_records import arrange_call, arrange_customer
from tests.factories import make_number, make_subscriber
from tests.graphql import Client, SignedUp
from tests.isolation_cases.plans_and_customers import colleague
from tests.schema.test_pagination import count_statements

MONTH = (dt.datetime(2026, 11, 1, tzinfo=dt.UTC), dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
RECORDS = """query($filter: CallRecordFilter, $first: Int, $after: String) {
  callRecords(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id callId direction state caller callee setupAt durationSeconds sipCode
      tenant { id } customer { id }
      legs { side legType billingSeconds price currency cost deck revision } } } } }"""
SUMMARY = """query($customer: ID!, $from: DateTime!, $to: DateTime!) {
  usageSummary(customer: $customer, from: $from, to: $to) {
    currency calls answeredCalls billedSeconds billedMinutes usageCharges
    charges { legType destination legs billedSeconds charges cost }
    subscribers dids subscriberCharges didCharges monthlyCharges totalCharges
    usageCost didCost totalCost margin } }"""


def _at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=dt.UTC)


async def _ids(client: Client, **filter: Any) -> list[str]:
    data = await client.execute(RECORDS, {"filter": filter or None})
    return [edge["node"]["callId"] for edge in data["callRecords"]["edges"]]


async def test_an_isp_lists_its_calls_oldest_first_with_their_legs(isp_a: SignedUp):
    _customer, tenant = arrange_customer(isp_a.engine, isp_a.isp_id)
    later = arrange_call(isp_a.engine, tenant, setup_at=_at(3))
    earlier = arrange_call(isp_a.engine, tenant, setup_at=_at(2))

    data = await isp_a.client.execute(RECORDS)

    connection = data["callRecords"]
    assert connection["totalCount"] == 2
    nodes = [edge["node"] for edge in connection["edges"]]
    assert [node["callId"] for node in nodes] == [earlier.call_id, later.call_id]
    assert nodes[0]["tenant"]["id"] == to_global_id("Tenant", tenant)
    assert nodes[0]["legs"] == [
        {"side": "A", "legType": "SIP", "billingSeconds": 0, "price": "0.0000",
         "currency": "USD", "cost": None, "deck": "MONTHLY", "revision": 1},
        {"side": "B", "legType": "PSTN", "billingSeconds": 65, "price": "0.0200",
         "currency": "USD", "cost": "0.0070", "deck": "RATE_DECK", "revision": 1}]


async def test_filters_narrow_the_list(isp_a: SignedUp):
    customer_1, tenant_1 = arrange_customer(isp_a.engine, isp_a.isp_id)
    _customer_2, tenant_2 = arrange_customer(isp_a.engine, isp_a.isp_id)
    first = arrange_call(isp_a.engine, tenant_1, setup_at=_at(2), callee="+442071234567")
    second = arrange_call(isp_a.engine, tenant_2, setup_at=_at(5), leg_type=Service.TOLL_FREE)
    outside = arrange_call(isp_a.engine, tenant_1, setup_at=_at(30) + dt.timedelta(days=2))

    assert await _ids(isp_a.client, customer=to_global_id("Customer", customer_1)) == [
        first.call_id, outside.call_id]
    assert await _ids(isp_a.client, tenant=to_global_id("Tenant", tenant_2)) == [
        second.call_id]
    assert await _ids(isp_a.client, startedAfter=MONTH[0].isoformat(),
                      startedBefore=MONTH[1].isoformat()) == [first.call_id, second.call_id]
    assert await _ids(isp_a.client, number="+44") == [first.call_id]
    assert await _ids(isp_a.client, legType="TOLL_FREE") == [second.call_id]
    assert await _ids(isp_a.client, direction="INBOUND") == []
    assert await _ids(isp_a.client, answered=False) == []
    assert len(await _ids(isp_a.client, answered=True, direction="OUTBOUND")) == 3
    # A reference to another type's id names nothing.
    assert await _ids(isp_a.client, customer=to_global_id("Tenant", tenant_1)) == []


async def test_pages_follow_setup_time(isp_a: SignedUp):
    _customer, tenant = arrange_customer(isp_a.engine, isp_a.isp_id)
    made = [arrange_call(isp_a.engine, tenant, setup_at=_at(day)).call_id for day in (4, 2, 3)]
    first = await isp_a.client.execute(RECORDS, {"first": 2})
    page = first["callRecords"]
    assert page["pageInfo"]["hasNextPage"] is True
    second = await isp_a.client.execute(RECORDS, {"first": 2,
                                                  "after": page["pageInfo"]["endCursor"]})
    seen = [edge["node"]["callId"] for edge in page["edges"] + second["callRecords"]["edges"]]
    assert seen == [made[1], made[2], made[0]]


async def test_a_tenant_sees_its_calls_and_a_customer_its_tenants(
        isp_a: SignedUp, app: Starlette, engine: Engine):
    customer, tenant = arrange_customer(engine, isp_a.isp_id)
    _other_customer, other_tenant = arrange_customer(engine, isp_a.isp_id)
    with Session(engine) as session:
        from core.models import Isp, Tenant
        from tests.factories import make_tenant
        isp = session.get(Isp, id_of(isp_a.isp_id, "Isp"))
        owner = session.get(Customer, customer)
        assert isp is not None
        assert owner is not None
        sibling = make_tenant(session, isp, owner).id
        assert session.get(Tenant, sibling) is not None
    own = arrange_call(engine, tenant, setup_at=_at(2))
    siblings = arrange_call(engine, sibling, setup_at=_at(3))
    others = arrange_call(engine, other_tenant, setup_at=_at(4))
    isp_uuid = id_of(isp_a.isp_id, "Isp")
    tenant_admin = await colleague(app, engine, "pbx@acme.example", scope=Scope.TENANT,
                                   role=Role.ADMIN, isp_id=isp_uuid, tenant_id=tenant)
    customer_admin = await colleague(app, engine, "it@acme.example", scope=Scope.CUSTOMER,
                                     role=Role.ADMIN, isp_id=isp_uuid, customer_id=customer)

    assert await _ids(tenant_admin) == [own.call_id]
    assert await _ids(customer_admin) == [own.call_id, siblings.call_id]
    assert await _ids(isp_a.client) == [own.call_id, siblings.call_id, others.call_id]
    # What the ISP pays its carriers is not the customer's business.
    data = await customer_admin.execute(RECORDS)
    assert {leg["cost"] for edge in data["callRecords"]["edges"]
            for leg in edge["node"]["legs"]} == {None}


async def test_another_isps_calls_are_not_listed_nor_summed(isp_a: SignedUp, isp_b: SignedUp):
    customer_b, tenant_b = arrange_customer(isp_b.engine, isp_b.isp_id)
    arrange_call(isp_b.engine, tenant_b, setup_at=_at(2))
    variables = {"customer": to_global_id("Customer", customer_b),
                 "from": MONTH[0].isoformat(), "to": MONTH[1].isoformat()}
    missing = variables | {"customer": to_global_id("Customer", uuid.uuid4())}

    assert await _ids(isp_a.client) == []
    assert await _ids(isp_a.client, customer=variables["customer"]) == []
    theirs = await isp_a.client.post(SUMMARY, variables)
    nothing = await isp_a.client.post(SUMMARY, missing)
    assert theirs.json()["data"] == nothing.json()["data"] == {"usageSummary": None}
    assert (await isp_b.client.execute(SUMMARY, variables))["usageSummary"]["calls"] == 1


def _plan(engine: Engine, isp: SignedUp, **fields: Any) -> uuid.UUID:
    with Session(engine) as session:
        plan = ServicePlan(isp_id=id_of(isp.isp_id, "Isp"), name=f"p{uuid.uuid4().hex[:6]}",
                           currency="USD", **fields)
        session.add(plan)
        session.commit()
        return plan.id


async def test_the_usage_summary_adds_up_calls_and_monthly_charges(isp_a: SignedUp,
                                                                 engine: Engine):
    plan = _plan(engine, isp_a, monthly_price_per_subscriber=Decimal("5"),
                 monthly_price_per_did=Decimal("1.5"))
    customer, tenant = arrange_customer(engine, isp_a.isp_id, service_plan_id=plan)
    for day, callee, where in ((2, "+12095550123", ""), (3, "+12095550124", ""),
                               (9, "+442071234567", "+44 United Kingdom")):
        arrange_call(engine, tenant, setup_at=_at(day), callee=callee, destination=where)
    arrange_call(engine, tenant, setup_at=_at(1) - dt.timedelta(days=1))  # October
    with Session(engine) as session:
        from core.models import Isp, Tenant
        isp = session.get(Isp, id_of(isp_a.isp_id, "Isp"))
        owner = session.get(Tenant, tenant)
        assert isp is not None
        assert owner is not None
        for name in ("alice", "bob"):
            make_subscriber(session, owner, username=name)
        for price in (Decimal("0"), Decimal("3")):
            make_number(session, isp, state="ASSIGNED", tenant_id=tenant, price=price,
                        vendor_price=Decimal("0.5"))
        assert session.execute(select(Number)).scalars().all()

    data = await isp_a.client.execute(SUMMARY, {
        "customer": to_global_id("Customer", customer), "from": MONTH[0].isoformat(),
        "to": MONTH[1].isoformat()})

    summary = data["usageSummary"]
    assert summary["calls"] == summary["answeredCalls"] == 3
    assert (summary["billedSeconds"], summary["billedMinutes"]) == (195, "3.25")
    # Leg B of each call (leg A bills nothing), by the rate deck prefix that priced it,
    # else by leg type.
    assert summary["charges"] == [
        {"legType": "PSTN", "destination": "+44 United Kingdom", "legs": 1,
         "billedSeconds": 65, "charges": "0.0200", "cost": "0.0070"},
        {"legType": "PSTN", "destination": "PSTN", "legs": 2, "billedSeconds": 130,
         "charges": "0.0400", "cost": "0.0140"}]
    assert summary["usageCharges"] == "0.0600"
    assert (summary["subscribers"], summary["dids"]) == (2, 2)
    assert summary["subscriberCharges"] == "10.0000"
    assert summary["didCharges"] == "4.5000"  # one at the plan's 1.5, one at its own 3
    assert summary["monthlyCharges"] == "14.5000"
    assert summary["totalCharges"] == "14.5600"
    assert (summary["usageCost"], summary["didCost"], summary["totalCost"]) == (
        "0.0210", "1.0000", "1.0210")
    assert summary["margin"] == "13.5390"

    # Periods that start or end within a day: whole days from the daily totals, the rest
    # from the legs, each call counted once.
    async def calls_between(start: dt.datetime, end: dt.datetime) -> tuple[int, str]:
        data = await isp_a.client.execute(SUMMARY, {
            "customer": to_global_id("Customer", customer), "from": start.isoformat(),
            "to": end.isoformat()})
        return data["usageSummary"]["calls"], data["usageSummary"]["usageCharges"]

    assert await calls_between(_at(2, 6), _at(9, 18)) == (3, "0.0600")
    assert await calls_between(_at(2, 13), _at(9, 18)) == (2, "0.0400")
    assert await calls_between(_at(2, 6), _at(9, 11)) == (2, "0.0400")
    assert await calls_between(_at(3, 11), _at(3, 13)) == (1, "0.0200")
    assert await calls_between(_at(4, 0), _at(9, 0)) == (0, "0.0000")


async def test_a_period_that_ends_before_it_starts_is_an_error(isp_a: SignedUp):
    customer, _tenant = arrange_customer(isp_a.engine, isp_a.isp_id)
    response = await isp_a.client.post(SUMMARY, {
        "customer": to_global_id("Customer", customer), "from": MONTH[1].isoformat(),
        "to": MONTH[0].isoformat()})
    errors = response.json()["errors"]
    assert errors[0]["extensions"]["code"] == "INVALID"
    assert errors[0]["extensions"]["field"] == ["to"]


RERATE = """mutation($input: CallRecordsRerateInput!) { callRecordsRerate(input: $input) {
  legs changed previousTotal newTotal errors { field code message } } }"""


async def test_rerating_after_a_deck_correction_keeps_the_previous_rating(
        isp_a: SignedUp, engine: Engine):
    plan = _plan(engine, isp_a)
    with Session(engine) as session:
        entry = RateDeckEntry(service_plan_id=plan, prefix="+1209",
                              rate_per_minute=Decimal("0.0300"), valid_from=_at(1, 0),
                              minimum_duration=60, increment=60)
        session.add(entry)
        session.commit()
        entry_id = entry.id
    customer, tenant = arrange_customer(engine, isp_a.isp_id, service_plan_id=plan)
    # Rated at 0.02 before the deck was corrected to 0.03 (65 s on 60/60/0 bills 120 s).
    call = arrange_call(engine, tenant, setup_at=_at(2))
    variables = {"input": {"customer": to_global_id("Customer", customer),
                           "from": MONTH[0].isoformat(), "to": MONTH[1].isoformat()}}

    result = (await isp_a.client.execute(RERATE, variables))["callRecordsRerate"]

    # Leg A (SIP, no deck entry either way) is unchanged; leg B is priced anew.
    assert result == {"legs": 2, "changed": 1, "previousTotal": "0.0200",
                      "newTotal": "0.0600", "errors": []}
    data = await isp_a.client.execute("""{ callRecords { edges { node { legs {
        side price billingSeconds deck revision revisions { revision price deck } } } } } }""")
    legs = data["callRecords"]["edges"][0]["node"]["legs"]
    assert legs[1] == {"side": "B", "price": "0.0600", "billingSeconds": 120,
                       "deck": "RATE_DECK", "revision": 2,
                       "revisions": [{"revision": 1, "price": "0.0200", "deck": "RATE_DECK"}]}
    with Session(engine) as session:
        event = session.execute(select(AuditEvent).where(
            AuditEvent.action == "call_records.rerate")).scalars().one()
        assert event.changes["previous_total"] == "0.0200"
        assert event.changes["new_total"] == "0.0600"
        assert session.get(RateDeckEntry, entry_id) is not None
    # The usage summary follows the correction.
    summary = (await isp_a.client.execute(SUMMARY, {
        "customer": to_global_id("Customer", customer), "from": MONTH[0].isoformat(),
        "to": MONTH[1].isoformat()}))["usageSummary"]
    assert (summary["usageCharges"], summary["billedSeconds"]) == ("0.0600", 120)
    # Rating again changes nothing more.
    again = (await isp_a.client.execute(RERATE, variables))["callRecordsRerate"]
    assert (again["changed"], again["newTotal"]) == (0, "0.0600")
    assert call.call_id


async def test_rerating_is_refused_outside_the_isp(isp_a: SignedUp, isp_b: SignedUp,
                                                   app: Starlette, engine: Engine):
    customer_b, _tenant = arrange_customer(engine, isp_b.isp_id)
    customer_a, _tenant_a = arrange_customer(engine, isp_a.isp_id)
    period = {"from": MONTH[0].isoformat(), "to": MONTH[1].isoformat()}
    theirs = await isp_a.client.execute(RERATE, {"input": {
        "customer": to_global_id("Customer", customer_b), **period}})
    missing = await isp_a.client.execute(RERATE, {"input": {
        "customer": to_global_id("Customer", uuid.uuid4()), **period}})
    assert theirs == missing
    assert theirs["callRecordsRerate"]["errors"][0]["code"] == "NOT_FOUND"
    customer_admin = await colleague(app, engine, "it@a.example", scope=Scope.CUSTOMER,
                                     role=Role.ADMIN, isp_id=id_of(isp_a.isp_id, "Isp"),
                                     customer_id=customer_a)
    refused = await customer_admin.execute(RERATE, {"input": {
        "customer": to_global_id("Customer", customer_a), **period}})
    assert refused["callRecordsRerate"]["errors"][0]["code"] == "NOT_PERMITTED"
    backwards = await isp_a.client.execute(RERATE, {"input": {
        "customer": to_global_id("Customer", customer_a), "from": MONTH[1].isoformat(),
        "to": MONTH[0].isoformat()}})
    assert backwards["callRecordsRerate"]["errors"] == [
        {"field": ["to"], "code": "INVALID", "message": "the period must end after it starts"}]


VENDOR_IMPORT = """mutation($input: VendorRatesImportInput!) { vendorRatesImport(input: $input) {
  entries errors { field code message } } }"""


async def _upload(client: Client, carrier: str, content: bytes) -> dict[str, Any]:
    response = await client.post(VENDOR_IMPORT, {"input": {"carrier": carrier, "file": None}},
                                 files={"input__file": ("vendor.csv", content, "text/csv")})
    body: dict[str, Any] = response.json()
    return body["data"]["vendorRatesImport"]


async def test_vendor_rates_are_imported_for_the_isps_own_carriers(isp_a: SignedUp,
                                                                   isp_b: SignedUp):
    created = await isp_a.client.execute("""mutation { carrierCreate(input: {name: "T"})
        { carrier { id } errors { code } } }""")
    carrier = created["carrierCreate"]["carrier"]["id"]
    good = b"prefix,rate_per_minute,increment\n+1,0.006,1\n+44,0.010,60\n"

    assert await _upload(isp_a.client, carrier, good) == {"entries": 2, "errors": []}
    bad = await _upload(isp_a.client, carrier, b"prefix,rate_per_minute\n44,x\n")
    assert bad["errors"][0]["code"] == "INVALID"
    theirs = await _upload(isp_b.client, carrier, good)
    missing = await _upload(isp_b.client, to_global_id("Carrier", uuid.uuid4()), good)
    assert theirs == missing
    assert theirs["errors"][0]["code"] == "NOT_FOUND"


async def test_a_page_of_calls_costs_the_same_statements_whatever_its_size(
        isp_a: SignedUp, app: Starlette, engine: Engine):
    _customer, tenant = arrange_customer(engine, isp_a.isp_id)
    for day in range(1, 13):
        arrange_call(engine, tenant, setup_at=_at(day))
    query = """query($first: Int) { callRecords(first: $first) { edges { node { id
        tenant { id } customer { id } subscriber { id } gateway { id }
        legs { id revisions { revision } } } } } }"""
    with count_statements(app) as small:
        assert len((await isp_a.client.execute(query, {"first": 2}))["callRecords"]["edges"]) == 2
    with count_statements(app) as large:
        assert len((await isp_a.client.execute(query, {"first": 12}))["callRecords"]["edges"]) \
            == 12
    assert len(large) == len(small), (small, large)


EXPORT = """mutation($input: CallRecordsExportInput!) { callRecordsExport(input: $input) {
  job { id kind status } errors { field code message } } }"""
LINK = """mutation($job: ID!) { callRecordsDownloadLink(input: {job: $job}) {
  url expiresAt errors { field code message } } }"""
JOB = """query($id: ID!) { job(id: $id) { status resultRef errors { code message } } }"""


async def _finished(client: Client, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = (await client.execute(JOB, {"id": job_id}))["job"]
        if job["status"] in {"SUCCEEDED", "FAILED", "CANCELLED"}:
            return job
        await asyncio.sleep(0.1)
    raise AssertionError("the export did not end within 60 s")


async def test_a_period_is_exported_as_csv_and_downloaded_once(
        isp_a: SignedUp, isp_b: SignedUp, engine: Engine, worker: dramatiq.Broker):
    customer, tenant = arrange_customer(engine, isp_a.isp_id)
    calls = [arrange_call(engine, tenant, setup_at=_at(day), callee=callee)
             for day, callee in ((3, "+12095550123"), (2, "+442071234567"))]
    arrange_call(engine, tenant, setup_at=_at(1) - dt.timedelta(days=3))  # October
    variables = {"input": {"customer": to_global_id("Customer", customer),
                           "from": MONTH[0].isoformat(), "to": MONTH[1].isoformat()}}

    started = (await isp_a.client.execute(EXPORT, variables))["callRecordsExport"]
    assert started["errors"] == []
    assert started["job"]["kind"] == "call_records.export"
    job = await _finished(isp_a.client, started["job"]["id"])
    assert job["status"] == "SUCCEEDED", job
    link = (await isp_a.client.execute(LINK, {"job": started["job"]["id"]}))[
        "callRecordsDownloadLink"]
    assert link["errors"] == []
    response = await isp_a.client.http.get(link["url"])

    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(row["call_id"], row["leg"]) for row in rows] == [
        (calls[1].call_id, "A"), (calls[1].call_id, "B"),
        (calls[0].call_id, "A"), (calls[0].call_id, "B")]
    assert (rows[1]["callee"], rows[1]["leg_type"], rows[1]["price"],
            rows[1]["billing_seconds"]) == ("+442071234567", "PSTN", "0.0200", "65")
    assert (await isp_a.client.http.get(link["url"])).status_code == 410
    # Another ISP can neither export this customer's calls nor fetch the file.
    theirs = (await isp_b.client.execute(EXPORT, variables))["callRecordsExport"]
    assert theirs["errors"][0]["code"] == "NOT_FOUND"
    other_link = (await isp_b.client.execute(LINK, {"job": started["job"]["id"]}))[
        "callRecordsDownloadLink"]
    assert other_link["errors"][0]["code"] == "NOT_FOUND"
