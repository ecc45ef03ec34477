"""The tenant flow of the product documentation, over HTTP as an ISP's administrator does it.

Add a domain, publish its TXT record (on a real DNS server on loopback), verify
it, create a customer and a tenant on the verified domain, create 100
subscribers in one request, give them numbers, then export the credentials
sheet, download it once and read it back with openpyxl.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import openpyxl
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.applications import Starlette

from core.credentials import COLUMNS
from core.models import Subscriber
from core.secrets import secret_box
from core.settings import Settings
from schema.core.ids import id_of
from tests.conftest import make_settings
from tests.dns_server import DnsServer
from tests.graphql import SignedUp, sign_up

COUNT = 100
FQDN = "voice.flow-example.com"
ERRORS = "errors { field code message }"
WAIT_SECONDS = 60


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


@pytest.fixture
def settings(database_url: str, tmp_path: Path, dns: DnsServer) -> Settings:
    """The suite's settings, checking domains against the test's DNS server."""
    return make_settings(database_url, tmp_path, **dns.settings())


@pytest.fixture
async def owner(app: Starlette, engine: Engine) -> AsyncIterator[SignedUp]:
    signed = await sign_up(app, engine, label="flow")
    yield signed
    await signed.client.close()


async def _ok(owner: SignedUp, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The payload of a mutation that must succeed."""
    data = await owner.client.execute(query, variables)
    payload = next(iter(data.values()))
    assert payload["errors"] == [], payload["errors"]
    return payload


async def _verified_domain(owner: SignedUp, dns: DnsServer) -> None:
    added = (await _ok(owner, f"""mutation($fqdn: String!) {{ domainAdd(input: {{fqdn: $fqdn}}) {{
        verifiedDomain {{ id txtRecordName txtRecordValue status }} {ERRORS} }} }}""",
                       {"fqdn": FQDN}))["verifiedDomain"]
    assert added["status"] == "PENDING"
    dns.set_txt(added["txtRecordName"], [added["txtRecordValue"]])
    verified = await _ok(owner, f"""mutation($id: ID!) {{ domainVerify(input: {{id: $id}}) {{
        verifiedDomain {{ status }} check {{ outcome }} {ERRORS} }} }}""", {"id": added["id"]})
    assert verified["check"]["outcome"] == "VERIFIED"
    assert verified["verifiedDomain"]["status"] == "VERIFIED"


async def _tenant(owner: SignedUp) -> dict[str, Any]:
    customer = (await _ok(owner, f"""mutation($input: CustomerCreateInput!) {{
        customerCreate(input: $input) {{ customer {{ id }} {ERRORS} }} }}""", {"input": {
        "name": "Flow Example Inc.", "maxSubscribers": 250, "maxConcurrentCalls": 20}})
    )["customer"]
    smbc = (await _ok(owner, f"""mutation($input: SmbcCreateInput!) {{
        smbcCreate(input: $input) {{ smbc {{ id }} {ERRORS} }} }}""", {"input": {
        "name": "edge-1", "address": "sbc.flow.example.net:5061"}}))["smbc"]
    return (await _ok(owner, f"""mutation($input: TenantCreateInput!) {{
        tenantCreate(input: $input) {{ tenant {{ id domain verifiedDomainId }} {ERRORS} }} }}""",
                      {"input": {"name": "Flow", "domain": FQDN, "customer": customer["id"],
                                 "smbcs": [smbc["id"]], "defaultCountryCode": "1",
                                 "defaultAreaCode": "209"}}))["tenant"]


async def _subscribers(owner: SignedUp, tenant_id: str) -> list[dict[str, Any]]:
    """COUNT subscribers in one request; each with the SIP password generated for it."""
    people = [{"username": f"user{n:03d}", "displayName": f"User {n}",
               "email": f"user{n:03d}@{FQDN}", "alias": str(1000 + n)}
              for n in range(1, COUNT + 1)]
    created = await _ok(owner, f"""mutation($input: SubscriberBulkCreateInput!) {{
        subscriberBulkCreate(input: $input) {{
          subscribers {{ subscriber {{ id username alias }} sipPassword }} {ERRORS} }} }}""",
                        {"input": {"tenant": tenant_id, "subscribers": people}})
    return [item["subscriber"] | {"sipPassword": item["sipPassword"]}
            for item in created["subscribers"]]


async def _numbers(owner: SignedUp, tenant_id: str, subscribers: list[dict[str, Any]]) -> None:
    """One number of a new range for each subscriber: assigned to the tenant, aimed at them."""
    await _ok(owner, f"""mutation($input: NumberRangeCreateInput!) {{
        numberRangeCreate(input: $input) {{ count {ERRORS} }} }}""",
              {"input": {"first": "+12095550100", "last": f"+1209555{100 + COUNT - 1:04d}"}})
    listed = await owner.client.execute(f"""{{ numbers(first: {COUNT}) {{
        totalCount edges {{ node {{ id e164 }} }} }} }}""")
    numbers = [edge["node"] for edge in listed["numbers"]["edges"]]
    assert len(numbers) == listed["numbers"]["totalCount"] == COUNT
    for number, subscriber in zip(numbers, subscribers, strict=True):
        await _ok(owner, f"""mutation($number: ID!, $tenant: ID!) {{
            numberAssign(input: {{number: $number, tenant: $tenant}}) {{ {ERRORS} }} }}""",
                  {"number": number["id"], "tenant": tenant_id})
        targeted = await _ok(owner, f"""mutation($number: ID!, $subscriber: ID!) {{
            numberTargetSet(input: {{number: $number, subscriber: $subscriber}}) {{
              number {{ state tenantId targetSubscriberId }} {ERRORS} }} }}""",
                             {"number": number["id"], "subscriber": subscriber["id"]})
        assert targeted["number"] == {"state": "ASSIGNED", "tenantId": tenant_id,
                                      "targetSubscriberId": subscriber["id"]}


async def _finished(owner: SignedUp, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        job = (await owner.client.execute("""query($id: ID!) { job(id: $id) {
            status errorCode progress { done total } } }""", {"id": job_id}))["job"]
        if job["status"] in {"SUCCEEDED", "FAILED", "CANCELLED"}:
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"the export did not end within {WAIT_SECONDS} s")


async def _credentials_sheet(owner: SignedUp, tenant_id: str) -> list[list[str]]:
    """Export the sheet, download it once, and read it with openpyxl."""
    job = (await _ok(owner, f"""mutation($tenant: ID!) {{
        tenantCredentialsExport(input: {{tenant: $tenant, format: XLSX}}) {{
          job {{ id }} {ERRORS} }} }}""", {"tenant": tenant_id}))["job"]
    finished = await _finished(owner, job["id"])
    assert finished == {"status": "SUCCEEDED", "errorCode": None,
                        "progress": {"done": COUNT, "total": COUNT}}
    link = await _ok(owner, f"""mutation($job: ID!) {{
        credentialsDownloadLink(input: {{job: $job}}) {{ url expiresAt {ERRORS} }} }}""",
                     {"job": job["id"]})
    response = await owner.client.http.get(link["url"])
    assert response.status_code == 200
    assert (await owner.client.http.get(link["url"])).status_code == 410
    workbook = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    return [["" if value is None else value for value in row]
            for row in workbook["Credentials"].iter_rows(values_only=True)]


def _stored_passwords(engine: Engine, settings: Settings, tenant_id: str) -> dict[str, str]:
    box = secret_box(settings.secret_key_bytes())
    with Session(engine) as session:
        rows = session.exec(select(Subscriber).where(
            Subscriber.tenant_id == id_of(tenant_id, "Tenant"))).all()
    return {row.username: box.decrypt(row.sip_password_encrypted) for row in rows}


async def _revealed(owner: SignedUp, subscriber_id: str) -> str:
    return (await _ok(owner, f"""mutation($id: ID!) {{
        subscriberRevealSipPassword(input: {{id: $id}}) {{ sipPassword {ERRORS} }} }}""",
                      {"id": subscriber_id}))["sipPassword"]


def _ha1(engine: Engine, tenant_id: str) -> dict[str, str]:
    """The digests the SIP proxies authenticate with, by username."""
    with Session(engine) as session:
        rows = session.exec(select(Subscriber.username, Subscriber.ha1).where(
            Subscriber.tenant_id == id_of(tenant_id, "Tenant"))).all()
    return dict(rows)


async def test_a_verified_domain_to_a_credentials_sheet(owner: SignedUp, dns: DnsServer,
                                                       engine: Engine, settings: Settings,
                                                       worker: dramatiq.Broker):
    await _verified_domain(owner, dns)
    tenant = await _tenant(owner)
    assert (tenant["domain"], tenant["verifiedDomainId"] is not None) == (FQDN, True)
    subscribers = await _subscribers(owner, tenant["id"])
    assert len(subscribers) == COUNT
    await _numbers(owner, tenant["id"], subscribers)

    sheet = await _credentials_sheet(owner, tenant["id"])

    assert sheet[0] == COLUMNS
    rows = sheet[1:]
    assert len(rows) == COUNT
    assert [row[0] for row in rows] == sorted(s["username"] for s in subscribers)
    assert {row[2] for row in rows} == {FQDN}
    assert {row[4] for row in rows} == {"sbc.flow.example.net:5061"}
    by_username = {row[0]: row for row in rows}
    for subscriber in subscribers:
        row = by_username[subscriber["username"]]
        assert row[1] == subscriber["alias"]
        assert row[3] == subscriber["sipPassword"]  # the password shown once at creation
    # The same password the API reveals, the database decrypts, and the proxies' digest holds.
    for subscriber in subscribers[::25]:
        assert await _revealed(owner, subscriber["id"]) == subscriber["sipPassword"]
    assert _stored_passwords(engine, settings, tenant["id"]) == {
        row[0]: row[3] for row in rows}
    digests = _ha1(engine, tenant["id"])
    for username, _, domain, password, *_ in rows:
        # SIP digest authentication is MD5 (RFC 2617); the realm is the tenant's domain.
        expected = hashlib.md5(f"{username}:{domain}:{password}".encode()).hexdigest()
        assert digests[username] == expected
