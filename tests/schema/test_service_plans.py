"""Service plans, their decks, price previews and rate deck imports, over GraphQL."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import dramatiq
import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session
from starlette.applications import Starlette

from core.models import AuditEvent, RateDeckEntry, ServiceDeckEntry
from core.service_plans import read_rate_deck
from schema.core.ids import id_of, to_global_id
from tests.graphql import Client, SignedUp
from tests.isolation_cases.plans_and_customers import (
    ERRORS,
    create_customer,
    create_plan,
    create_rate_deck_entry,
    create_service_deck_entry,
    read_only_colleague,
)

PLAN_FIELDS = ("id name monthlyPricePerSubscriber monthlyPricePerDid invoiceCutoffDay currency "
               "prepaid")
CREATE = f"""mutation($input: ServicePlanCreateInput!) {{
  servicePlanCreate(input: $input) {{ servicePlan {{ {PLAN_FIELDS} }} {ERRORS} }} }}"""
UPDATE = f"""mutation($input: ServicePlanUpdateInput!) {{
  servicePlanUpdate(input: $input) {{ servicePlan {{ {PLAN_FIELDS} }} {ERRORS} }} }}"""
DELETE = f"""mutation($id: ID!) {{
  servicePlanDelete(input: {{id: $id}}) {{ deletedId {ERRORS} }} }}"""
NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on ServicePlan {{ {PLAN_FIELDS} }} }} }}"
TERMS = "ratePerMinute validFrom validTo minimumDuration increment delay"


def _codes(payload: dict[str, Any]) -> list[tuple[list[str] | None, str]]:
    return [(error["field"], error["code"]) for error in payload["errors"]]


def _missing(type_name: str) -> str:
    return to_global_id(type_name, uuid.uuid4())


async def _plan(client: Client, plan_id: str) -> dict[str, Any] | None:
    return (await client.execute(NODE, {"id": plan_id}))["node"]


# Plans -------------------------------------------------------------------------------------


async def test_a_plan_takes_the_isps_currency_and_sensible_defaults(isp_a: SignedUp):
    data = await isp_a.client.execute(CREATE, {"input": {"name": "Bronze"}})
    plan = data["servicePlanCreate"]["servicePlan"]
    assert plan | {"id": None} == {
        "id": None, "name": "Bronze", "monthlyPricePerSubscriber": "0.0000",
        "monthlyPricePerDid": "0.0000", "invoiceCutoffDay": 1, "currency": "USD",
        "prepaid": False}
    assert await _plan(isp_a.client, plan["id"]) == plan


async def test_money_is_decimal_to_four_places(isp_a: SignedUp):
    data = await isp_a.client.execute(CREATE, {"input": {
        "name": "Gold", "monthlyPricePerSubscriber": "12.5", "monthlyPricePerDid": "0.9999",
        "invoiceCutoffDay": 28, "currency": "eur", "prepaid": True}})
    plan = data["servicePlanCreate"]["servicePlan"]
    assert (plan["monthlyPricePerSubscriber"], plan["monthlyPricePerDid"], plan["currency"]) == (
        "12.5000", "0.9999", "EUR")
    assert (await _plan(isp_a.client, plan["id"]))["monthlyPricePerDid"] == "0.9999"


@pytest.mark.parametrize(("fields", "expected"), [
    ({"name": " "}, [(["name"], "REQUIRED")]),
    ({"monthlyPricePerSubscriber": "-1"}, [(["monthlyPricePerSubscriber"], "INVALID")]),
    ({"monthlyPricePerDid": "0.00001"}, [(["monthlyPricePerDid"], "INVALID")]),
    ({"invoiceCutoffDay": 29}, [(["invoiceCutoffDay"], "INVALID")]),
    ({"currency": "ABC"}, [(["currency"], "INVALID")]),
    ({"name": "", "invoiceCutoffDay": 0}, [(["name"], "REQUIRED"),
                                           (["invoiceCutoffDay"], "INVALID")]),
])
async def test_bad_plans_are_refused_with_every_mistake(isp_a: SignedUp, fields: dict[str, Any],
                                                       expected: list[tuple[list[str], str]]):
    data = await isp_a.client.execute(CREATE, {"input": {"name": "Silver"} | fields})
    assert _codes(data["servicePlanCreate"]) == expected
    listed = await isp_a.client.execute("{ servicePlans { totalCount } }")
    assert listed["servicePlans"]["totalCount"] == 0


async def test_plan_names_are_unique_within_the_isp(isp_a: SignedUp, isp_b: SignedUp):
    await create_plan(isp_a, "Gold")
    await create_plan(isp_b, "Gold")  # another ISP's name does not clash
    data = await isp_a.client.execute(CREATE, {"input": {"name": "Gold"}})
    assert _codes(data["servicePlanCreate"]) == [(["name"], "ALREADY_EXISTS")]
    other = await create_plan(isp_a, "Silver")
    data = await isp_a.client.execute(UPDATE, {"input": {"id": other, "name": "Gold"}})
    assert _codes(data["servicePlanUpdate"]) == [(["name"], "ALREADY_EXISTS")]


async def test_update_changes_only_the_given_fields(isp_a: SignedUp, engine: Engine):
    plan_id = await create_plan(isp_a, "Gold", monthlyPricePerDid="2", prepaid=True)
    data = await isp_a.client.execute(UPDATE, {"input": {
        "id": plan_id, "monthlyPricePerSubscriber": "7.25", "name": None}})
    plan = data["servicePlanUpdate"]["servicePlan"]
    assert (plan["name"], plan["monthlyPricePerSubscriber"], plan["monthlyPricePerDid"],
            plan["prepaid"]) == ("Gold", "7.2500", "2.0000", True)
    with Session(engine) as session:
        actions = session.execute(select(AuditEvent.action, AuditEvent.changes).where(
            AuditEvent.object_type == "ServicePlan").order_by(AuditEvent.occurred_at)).all()
    assert [action for action, _ in actions] == ["service_plan.create", "service_plan.update"]
    assert actions[1][1] == {"monthly_price_per_subscriber": "7.2500"}


async def test_missing_plans_answer_not_found(isp_a: SignedUp):
    missing = _missing("ServicePlan")
    data = await isp_a.client.execute(UPDATE, {"input": {"id": missing, "name": "X"}})
    assert _codes(data["servicePlanUpdate"]) == [(["id"], "NOT_FOUND")]
    data = await isp_a.client.execute(DELETE, {"id": "not-an-id"})
    assert _codes(data["servicePlanDelete"]) == [(["id"], "NOT_FOUND")]


async def test_a_viewer_reads_plans_but_cannot_change_them(isp_a: SignedUp, app: Starlette,
                                                          engine: Engine):
    plan_id = await create_plan(isp_a)
    viewer = await read_only_colleague(isp_a, app, engine)
    assert (await _plan(viewer, plan_id))["name"] == "Gold"
    created = await viewer.execute(CREATE, {"input": {"name": "Mine", "isp": isp_a.isp_id}})
    updated = await viewer.execute(UPDATE, {"input": {"id": plan_id, "name": "Mine"}})
    deleted = await viewer.execute(DELETE, {"id": plan_id})
    for payload in (created["servicePlanCreate"], updated["servicePlanUpdate"],
                    deleted["servicePlanDelete"]):
        assert _codes(payload) == [(None, "NOT_PERMITTED")]
    entry = await viewer.execute(
        f"""mutation($plan: ID!) {{ rateDeckEntryCreate(input: {{servicePlan: $plan,
            prefix: "+1", ratePerMinute: "1"}}) {{ rateDeckEntry {{ id }} {ERRORS} }} }}""",
        {"plan": plan_id})
    assert _codes(entry["rateDeckEntryCreate"]) == [(None, "NOT_PERMITTED")]


async def test_anonymous_callers_must_log_in(isp_a: SignedUp, anonymous: Client):
    plan_id = await create_plan(isp_a)
    data = await anonymous.execute(UPDATE, {"input": {"id": plan_id, "name": "X"}})
    assert _codes(data["servicePlanUpdate"]) == [(None, "UNAUTHENTICATED")]
    data = await anonymous.execute(CREATE, {"input": {"name": "X"}})
    assert _codes(data["servicePlanCreate"]) == [(None, "UNAUTHENTICATED")]


async def test_a_plan_in_use_cannot_be_deleted_and_its_decks_go_with_it(isp_a: SignedUp,
                                                                       engine: Engine):
    plan_id = await create_plan(isp_a)
    await create_rate_deck_entry(isp_a, plan_id)
    await create_service_deck_entry(isp_a, plan_id)
    customer = await create_customer(isp_a, "Acme", servicePlan=plan_id)
    refused = await isp_a.client.execute(DELETE, {"id": plan_id})
    assert _codes(refused["servicePlanDelete"]) == [(["id"], "IN_USE")]
    assert "Acme" in refused["servicePlanDelete"]["errors"][0]["message"]

    await isp_a.client.execute("""mutation($id: ID!) { customerUpdate(input: {id: $id,
        servicePlan: null}) { errors { code } } }""", {"id": customer})
    deleted = await isp_a.client.execute(DELETE, {"id": plan_id})
    assert deleted["servicePlanDelete"] == {"deletedId": plan_id, "errors": []}
    assert await _plan(isp_a.client, plan_id) is None
    with Session(engine) as session:
        for model in (RateDeckEntry, ServiceDeckEntry):
            assert session.execute(select(func.count()).select_from(model)).scalar_one() == 0


async def test_plans_list_filters_sorts_and_pages(isp_a: SignedUp, isp_b: SignedUp):
    for name in ("Gold", "Silver", "Bronze", "Gold Plus"):
        await create_plan(isp_a, name)
    await create_plan(isp_b, "Gold Extra")
    query = """query($filter: ServicePlanFilter, $order: ServicePlanOrder, $first: Int,
                     $after: String) {
      servicePlans(filter: $filter, orderBy: $order, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { name } } } }"""

    async def names(**variables: Any) -> tuple[list[str], dict[str, Any]]:
        page = (await isp_a.client.execute(query, variables))["servicePlans"]
        return [edge["node"]["name"] for edge in page["edges"]], page

    assert (await names())[0] == ["Bronze", "Gold", "Gold Plus", "Silver"]
    assert (await names(filter={"search": "gold"}))[0] == ["Gold", "Gold Plus"]
    assert (await names(order={"field": "NAME", "direction": "DESC"}))[0][0] == "Silver"
    first, page = await names(first=3)
    assert page["totalCount"] == 4
    assert page["pageInfo"]["hasNextPage"]
    rest, _ = await names(first=3, after=page["pageInfo"]["endCursor"])
    assert first + rest == ["Bronze", "Gold", "Gold Plus", "Silver"]


# Deck entries ------------------------------------------------------------------------------

SERVICE_ENTRY_UPDATE = f"""mutation($input: ServiceDeckEntryUpdateInput!) {{
  serviceDeckEntryUpdate(input: $input) {{ serviceDeckEntry {{ service {TERMS} }} {ERRORS} }} }}"""
RATE_ENTRY_CREATE = f"""mutation($input: RateDeckEntryCreateInput!) {{
  rateDeckEntryCreate(input: $input) {{ rateDeckEntry {{ prefix description {TERMS} }}
    {ERRORS} }} }}"""


async def test_service_deck_entries_are_created_changed_and_removed(isp_a: SignedUp):
    plan_id = await create_plan(isp_a)
    entry_id = await create_service_deck_entry(
        isp_a, plan_id, validTo="2999-01-01T00:00:00Z", minimumDuration=30, increment=6,
        delay=3)
    data = await isp_a.client.execute(SERVICE_ENTRY_UPDATE, {"input": {
        "id": entry_id, "service": "DID", "validTo": None, "increment": None}})
    entry = data["serviceDeckEntryUpdate"]["serviceDeckEntry"]
    assert (entry["service"], entry["validTo"], entry["increment"], entry["minimumDuration"],
            entry["ratePerMinute"]) == ("DID", None, 6, 30, "0.0200")
    deleted = await isp_a.client.execute(
        f"""mutation($id: ID!) {{ serviceDeckEntryDelete(input: {{id: $id}}) {{ deletedId
            {ERRORS} }} }}""", {"id": entry_id})
    assert deleted["serviceDeckEntryDelete"] == {"deletedId": entry_id, "errors": []}
    again = await isp_a.client.execute(SERVICE_ENTRY_UPDATE, {"input": {"id": entry_id,
                                                                        "delay": 1}})
    assert _codes(again["serviceDeckEntryUpdate"]) == [(["id"], "NOT_FOUND")]


@pytest.mark.parametrize(("fields", "expected"), [
    ({"prefix": "44"}, [(["prefix"], "INVALID")]),
    ({"ratePerMinute": "-0.1"}, [(["ratePerMinute"], "INVALID")]),
    ({"increment": 0, "delay": -1}, [(["increment"], "INVALID"), (["delay"], "INVALID")]),
    ({"validFrom": "2030-01-01T00:00:00Z", "validTo": "2029-01-01T00:00:00Z"},
     [(["validTo"], "INVALID")]),
    ({"prefix": "+44"}, [(["prefix"], "ALREADY_EXISTS")]),
    ({"servicePlan": "nonsense"}, [(["servicePlan"], "NOT_FOUND")]),
])
async def test_bad_rate_deck_entries_are_refused(isp_a: SignedUp, fields: dict[str, Any],
                                                 expected: list[tuple[list[str], str]]):
    plan_id = await create_plan(isp_a)
    await create_rate_deck_entry(isp_a, plan_id, "+44")
    values = {"servicePlan": plan_id, "prefix": "+33", "ratePerMinute": "0.01"} | fields
    data = await isp_a.client.execute(RATE_ENTRY_CREATE, {"input": values})
    assert _codes(data["rateDeckEntryCreate"]) == expected


async def test_a_rate_deck_entry_starts_now_unless_told(isp_a: SignedUp):
    plan_id = await create_plan(isp_a)
    data = await isp_a.client.execute(RATE_ENTRY_CREATE, {"input": {
        "servicePlan": plan_id, "prefix": "+33", "ratePerMinute": "0.01",
        "description": "France"}})
    entry = data["rateDeckEntryCreate"]["rateDeckEntry"]
    assert entry["validFrom"].startswith(time.strftime("%Y-%m-%d", time.gmtime()))
    assert (entry["description"], entry["validTo"], entry["increment"]) == ("France", None, 1)


async def test_the_decks_are_connections_on_the_plan(isp_a: SignedUp):
    plan_id = await create_plan(isp_a)
    for prefix, rate in (("+44", "0.03"), ("+4420", "0.01"), ("+33", "0.02"), ("+441", "0.05")):
        await create_rate_deck_entry(isp_a, plan_id, prefix, ratePerMinute=rate)
    await create_service_deck_entry(isp_a, plan_id, service="DID")
    await create_service_deck_entry(isp_a, plan_id, service="SIP")
    data = await isp_a.client.execute("""query($id: ID!) { node(id: $id) { ... on ServicePlan {
        uk: rateDeck(filter: {prefix: "+44"}, orderBy: {field: RATE_PER_MINUTE,
                     direction: DESC}, first: 2) {
          totalCount pageInfo { hasNextPage } edges { node { prefix ratePerMinute } } }
        all: rateDeck { edges { node { prefix servicePlan { id } } } }
        serviceDeck(filter: {service: SIP}) { edges { node { service } } } } } }""",
                                      {"id": plan_id})
    plan = data["node"]
    assert plan["uk"]["totalCount"] == 3
    assert plan["uk"]["pageInfo"]["hasNextPage"]
    assert [edge["node"]["prefix"] for edge in plan["uk"]["edges"]] == ["+441", "+44"]
    assert [edge["node"]["prefix"] for edge in plan["all"]["edges"]] == [
        "+33", "+44", "+441", "+4420"]
    assert plan["all"]["edges"][0]["node"]["servicePlan"]["id"] == plan_id
    assert plan["serviceDeck"]["edges"] == [{"node": {"service": "SIP"}}]


# Previewing a price ------------------------------------------------------------------------

PREVIEW = """query($plan: ID!, $destination: String!, $seconds: Int!, $service: Service!) {
  ratePreview(servicePlan: $plan, destination: $destination, seconds: $seconds,
              service: $service) {
    deck destination billingSeconds price currency monthlyPricePerSubscriber
    entry { ratePerMinute minimumDuration increment delay
            ... on RateDeckEntry { prefix } ... on ServiceDeckEntry { service } } } }"""


async def _preview(client: Client, plan_id: str, destination: str, seconds: int = 47,
                   service: str = "PSTN") -> dict[str, Any] | None:
    data = await client.execute(PREVIEW, {"plan": plan_id, "destination": destination,
                                          "seconds": seconds, "service": service})
    return data["ratePreview"]


async def test_rate_preview_prefers_rate_deck_then_service_deck_then_monthly(
    isp_a: SignedUp, isp_b: SignedUp
):
    plan_id = await create_plan(isp_a, monthlyPricePerSubscriber="4.5")
    await create_service_deck_entry(isp_a, plan_id, ratePerMinute="0.0150",
                                    minimumDuration=30, increment=6, delay=3)
    await create_rate_deck_entry(isp_a, plan_id, "+44", ratePerMinute="0.0300")
    await create_rate_deck_entry(isp_a, plan_id, "+4420", ratePerMinute="0.0100",
                                 minimumDuration=60, increment=60, delay=3)

    london = await _preview(isp_a.client, plan_id, "+44 20 7183 8750", seconds=43)
    assert london["deck"] == "RATE_DECK"
    assert london["destination"] == "+442071838750"
    assert london["entry"]["prefix"] == "+4420"  # the longest prefix, not +44
    assert (london["billingSeconds"], london["price"], london["currency"]) == (60, "0.0100",
                                                                              "USD")
    manchester = await _preview(isp_a.client, plan_id, "+441612345678", seconds=60)
    assert (manchester["entry"]["prefix"], manchester["price"]) == ("+44", "0.0300")

    us = await _preview(isp_a.client, plan_id, "+12025550123")
    assert (us["deck"], us["entry"]["service"], us["billingSeconds"], us["price"]) == (
        "SERVICE_DECK", "PSTN", 48, "0.0120")
    inbound = await _preview(isp_a.client, plan_id, "+12025550123", service="DID")
    assert inbound | {"entry": None} == {
        "deck": "MONTHLY", "destination": "+12025550123", "billingSeconds": 0,
        "price": "0.0000", "currency": "USD", "monthlyPricePerSubscriber": "4.5000",
        "entry": None}
    assert inbound["entry"] is None
    # Another ISP's plan is not there to preview.
    assert await _preview(isp_b.client, plan_id, "+12025550123") is None


async def test_rate_preview_refuses_a_destination_that_is_not_a_number(isp_a: SignedUp):
    plan_id = await create_plan(isp_a)
    response = await isp_a.client.post(PREVIEW, {"plan": plan_id, "destination": "0800 1234",
                                                 "seconds": 10, "service": "PSTN"})
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "INVALID", "field": ["destination"]}


async def test_the_template_is_an_importable_rate_deck(anonymous: Client):
    template = (await anonymous.execute("{ rateDeckTemplate }"))["rateDeckTemplate"]
    lines = template.splitlines()
    assert lines[0] == ("prefix,rate_per_minute,description,minimum_duration,increment,delay,"
                        "valid_from,valid_to")
    assert len(lines) == 3
    assert [entry["prefix"] for entry in read_rate_deck(template.encode())] == ["+44", "+4420"]


# Importing a rate deck -----------------------------------------------------------------------

IMPORT = f"""mutation($input: RateDeckImportInput!) {{
  rateDeckImport(input: $input) {{ job {{ id kind status subjectId }} {ERRORS} }} }}"""
JOB = """query($id: ID!) { job(id: $id) { status errorCode counters progress { done total }
  errors { code message details } } }"""
DECK = """query($id: ID!) { node(id: $id) { ... on ServicePlan {
  rateDeck(first: 100) { edges { node { prefix ratePerMinute description minimumDuration
    increment delay validFrom validTo } } } } } }"""
HEADER = "prefix,rate_per_minute,description,minimum_duration,increment,delay,valid_from,valid_to"


async def _import(client: Client, plan_id: str, csv_text: str,
                  mode: str = "REPLACE") -> dict[str, Any]:
    variables = {"input": {"servicePlan": plan_id, "file": None, "mode": mode}}
    response = await client.post(IMPORT, variables,
                                 files={"input__file": ("deck.csv", csv_text.encode(),
                                                        "text/csv")})
    return response.json()["data"]["rateDeckImport"]


async def _finished(client: Client, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        job = (await client.execute(JOB, {"id": job_id}))["job"]
        if job["status"] not in {"QUEUED", "RUNNING"}:
            return job
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.05)


async def _deck(client: Client, plan_id: str) -> dict[str, dict[str, Any]]:
    data = await client.execute(DECK, {"id": plan_id})
    return {edge["node"]["prefix"]: edge["node"] for edge in data["node"]["rateDeck"]["edges"]}


async def _imported(client: Client, plan_id: str, csv_text: str,
                    mode: str = "REPLACE") -> dict[str, Any]:
    payload = await _import(client, plan_id, csv_text, mode)
    assert payload["errors"] == [], payload
    assert (payload["job"]["kind"], payload["job"]["subjectId"]) == ("rate_deck.import", plan_id)
    return await _finished(client, payload["job"]["id"])


async def test_a_valid_file_replaces_then_merges_into_the_deck(
    isp_a: SignedUp, worker: dramatiq.Broker
):
    plan_id = await create_plan(isp_a)
    await create_rate_deck_entry(isp_a, plan_id, "+1")
    job = await _imported(isp_a.client, plan_id, "\n".join([
        HEADER,
        "+44,0.0150,United Kingdom,30,6,3,2025-01-01,",
        "+4420,0.01,London,,,,,2999-12-31T00:00:00+02:00",
        "",
    ]))
    assert job["status"] == "SUCCEEDED", job
    assert job["counters"] == {"inserted": 2, "updated": 0, "deleted": 1}
    assert job["progress"] == {"done": 2, "total": 2}
    deck = await _deck(isp_a.client, plan_id)
    assert set(deck) == {"+44", "+4420"}
    assert deck["+44"] | {"validTo": None} == {
        "prefix": "+44", "ratePerMinute": "0.0150", "description": "United Kingdom",
        "minimumDuration": 30, "increment": 6, "delay": 3,
        "validFrom": "2025-01-01T00:00:00+00:00", "validTo": None}
    assert (deck["+4420"]["increment"], deck["+4420"]["validTo"]) == (
        1, "2999-12-30T22:00:00+00:00")

    merged = await _imported(isp_a.client, plan_id,
                             "prefix,rate_per_minute\n+4420,0.02\n+33,0.03\n", mode="MERGE")
    assert merged["counters"] == {"inserted": 1, "updated": 1, "deleted": 0}
    deck = await _deck(isp_a.client, plan_id)
    assert {prefix: entry["ratePerMinute"] for prefix, entry in deck.items()} == {
        "+44": "0.0150", "+4420": "0.0200", "+33": "0.0300"}


async def test_a_file_with_bad_lines_imports_nothing_and_names_them(
    isp_a: SignedUp, worker: dramatiq.Broker, engine: Engine
):
    plan_id = await create_plan(isp_a)
    await create_rate_deck_entry(isp_a, plan_id, "+1", ratePerMinute="0.5")
    job = await _imported(isp_a.client, plan_id, "\n".join([
        "prefix,rate_per_minute,increment,valid_from",
        "+44,0.01,6,2025-01-01",
        "44,0.01,6,",
        "+33,-1,0,",
        "+44,0.02,6,",
        "+49,0.00001,6,yesterday",
    ]))
    assert (job["status"], job["errorCode"]) == ("FAILED", "INVALID_FILE")
    details = job["errors"][-1]["details"]
    assert [detail.split(":")[0] for detail in details] == [
        "line 3", "line 4", "line 4", "line 5", "line 6", "line 6"]
    assert "line 3: prefix:" in details[0]
    assert "line 5: prefix +44 is already on line 2" in details
    assert "increment" in details[2]
    # Nothing was imported: the previous deck is intact.
    assert {p: e["ratePerMinute"] for p, e in (await _deck(isp_a.client, plan_id)).items()} == {
        "+1": "0.5000"}
    with Session(engine) as session:
        plan_uuid = id_of(plan_id, "ServicePlan")
        count = select(func.count()).select_from(RateDeckEntry).where(
            RateDeckEntry.service_plan_id == plan_uuid)
        assert session.execute(count).scalar_one() == 1


@pytest.mark.parametrize(("csv_text", "expected"), [
    ("rate_per_minute\n0.1\n", "missing column(s): prefix"),
    ("prefix,rate_per_minute,colour\n+1,0.1,red\n", "unknown column(s): colour"),
    ("prefix,rate_per_minute\n", "the file has no rows"),
])
async def test_a_file_of_the_wrong_shape_fails_with_the_reason(
    isp_a: SignedUp, worker: dramatiq.Broker, csv_text: str, expected: str
):
    job = await _imported(isp_a.client, await create_plan(isp_a), csv_text)
    assert (job["status"], job["errorCode"]) == ("FAILED", "INVALID_FILE")
    assert job["errors"][-1]["details"] == [expected]


async def test_imports_are_refused_to_viewers_strangers_and_while_one_is_queued(
    isp_a: SignedUp, isp_b: SignedUp, app: Starlette, engine: Engine
):
    plan_id = await create_plan(isp_a)
    csv_text = "prefix,rate_per_minute\n+44,0.1\n"
    stranger = await _import(isp_b.client, plan_id, csv_text)
    missing = await _import(isp_b.client, _missing("ServicePlan"), csv_text)
    assert stranger == missing
    assert _codes(stranger) == [(["servicePlan"], "NOT_FOUND")]
    viewer = await read_only_colleague(isp_a, app, engine)
    assert _codes(await _import(viewer, plan_id, csv_text)) == [(None, "NOT_PERMITTED")]
    # No worker runs in this test: the first import stays queued.
    assert (await _import(isp_a.client, plan_id, csv_text))["errors"] == []
    again = await _import(isp_a.client, plan_id, csv_text)
    assert _codes(again) == [(["servicePlan"], "ALREADY_EXISTS")]
