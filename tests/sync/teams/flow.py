"""The Microsoft directory flow as an administrator drives it: GraphQL over HTTP, the
browser's trip to the Entra admin consent page and back, and the jobs it starts.

Used by ``test_flow.py``. The Entra side is :class:`~tests.fakes.microsoft.FakeMicrosoft`
in HTTPS mode: the app and the worker build their own HTTP clients from the settings
(authority host, Graph URL, CA bundle), exactly as in production.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select

from core.models import DirectoryLink, Job, Subscriber
from schema.core.ids import id_of
from tests.dns_server import DnsServer
from tests.fakes.microsoft import FakeMicrosoft, FakeTenant
from tests.graphql import Client, SignedUp

DOMAIN = "voice.contoso-flow.example"
CALLBACK = "http://testserver/oauth/microsoft/callback"
ERRORS = "errors { field code message }"
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELLED", "NEEDS_CONFIRMATION"})
WAIT_SECONDS = 60

LINK_FIELDS = """id status provider externalTenantId syncIntervalMinutes brakePercent
    lastErrorCode lastError lastSyncedAt"""
JOB_FIELDS = """id kind status errorCode attempts counters resultRef progress { done total }
    errors { code message }"""


async def ok(client: Client, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The payload of a mutation that must succeed."""
    data = await client.execute(query, variables)
    payload = next(iter(data.values()))
    assert payload["errors"] == [], payload["errors"]
    return payload


# The tenant on a verified domain --------------------------------------------------------------


async def verified_domain(owner: SignedUp, dns: DnsServer, fqdn: str = DOMAIN) -> None:
    added = (await ok(owner.client, f"""mutation($fqdn: String!) {{
        domainAdd(input: {{fqdn: $fqdn}}) {{
          verifiedDomain {{ id txtRecordName txtRecordValue status }} {ERRORS} }} }}""",
                      {"fqdn": fqdn}))["verifiedDomain"]
    dns.set_txt(added["txtRecordName"], [added["txtRecordValue"]])
    verified = await ok(owner.client, f"""mutation($id: ID!) {{
        domainVerify(input: {{id: $id}}) {{ verifiedDomain {{ status }} {ERRORS} }} }}""",
                        {"id": added["id"]})
    assert verified["verifiedDomain"]["status"] == "VERIFIED"


async def make_tenant(owner: SignedUp, fqdn: str = DOMAIN) -> str:
    """A customer and a tenant on ``fqdn`` (verified beforehand); the tenant's global id."""
    customer = (await ok(owner.client, f"""mutation($input: CustomerCreateInput!) {{
        customerCreate(input: $input) {{ customer {{ id }} {ERRORS} }} }}""", {"input": {
        "name": "Contoso Flow", "maxSubscribers": 500, "maxConcurrentCalls": 20}}))["customer"]
    smbc = (await ok(owner.client, f"""mutation($input: SmbcCreateInput!) {{
        smbcCreate(input: $input) {{ smbc {{ id }} {ERRORS} }} }}""", {"input": {
        "name": "edge-1", "address": "sbc.contoso-flow.example:5061"}}))["smbc"]
    tenant = (await ok(owner.client, f"""mutation($input: TenantCreateInput!) {{
        tenantCreate(input: $input) {{ tenant {{ id domain verifiedDomainId }} {ERRORS} }} }}""",
                       {"input": {"name": "Contoso", "domain": fqdn, "customer": customer["id"],
                                  "smbcs": [smbc["id"]], "defaultCountryCode": "1",
                                  "defaultAreaCode": "209"}}))["tenant"]
    assert tenant["verifiedDomainId"] is not None
    return tenant["id"]


# Consent ----------------------------------------------------------------------------------------


async def link_start(client: Client, tenant: str) -> dict[str, Any]:
    """directoryLinkStart(provider: MICROSOFT): the payload (consentUrl, directoryLink)."""
    return await ok(client, f"""mutation($tenant: ID!) {{
        directoryLinkStart(input: {{tenant: $tenant, provider: MICROSOFT}}) {{
          consentUrl directoryLink {{ {LINK_FIELDS} }} {ERRORS} }} }}""", {"tenant": tenant})


def query_of(url: str) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(urlsplit(url).query,
                                                        keep_blank_values=True).items()}


async def visit_consent_page(entra: FakeMicrosoft, consent_url: str) -> str:
    """The administrator's browser at Entra: where the consent page sends it back to."""
    async with httpx.AsyncClient(verify=entra.ssl_context(), timeout=10) as browser:
        response = await browser.get(consent_url)
    assert response.status_code == 302, response.text
    return response.headers["location"]


async def callback(client: Client, url: str) -> dict[str, str]:
    """Our callback, in ``client``'s browser: the outcome the web app is sent to (303)."""
    response = await client.http.get(url)
    assert response.status_code == 303, (response.status_code, response.text)
    return query_of(response.headers["location"])


async def consent(owner: SignedUp, entra: FakeMicrosoft, tenant: str,
                  directory: FakeTenant) -> dict[str, str]:
    """The whole consent: start, an administrator of ``directory`` accepts, the callback."""
    started = await link_start(owner.client, tenant)
    entra.consent_as(directory)
    back = await visit_consent_page(entra, started["consentUrl"])
    return await callback(owner.client, back)


async def directory_link(client: Client, tenant: str) -> dict[str, Any] | None:
    data = await client.execute(f"""query($tenant: ID!) {{ directoryLink(tenant: $tenant) {{
        {LINK_FIELDS} }} }}""", {"tenant": tenant})
    return data["directoryLink"]


# Jobs -------------------------------------------------------------------------------------------


async def job(client: Client, job_id: str) -> dict[str, Any]:
    return (await client.execute(f"""query($id: ID!) {{ job(id: $id) {{ {JOB_FIELDS} }} }}""",
                                 {"id": job_id}))["job"]


async def finished(client: Client, job_id: str, *,
                   until: Callable[[dict[str, Any]], bool] | None = None,
                   seconds: float = WAIT_SECONDS) -> dict[str, Any]:
    """The job once it ended (or once ``until`` holds for it)."""
    deadline = time.monotonic() + seconds
    while True:
        found = await job(client, job_id)
        if until(found) if until is not None else found["status"] in TERMINAL:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"job {found['kind']} still {found['status']} after "
                                 f"{seconds} s: {found}")
        await asyncio.sleep(0.05)


def given_back(found: dict[str, Any]) -> bool:
    """A job that ran at least once and is not running now (queued again, or ended)."""
    return found["attempts"] >= 1 and found["status"] != "RUNNING"


async def start(client: Client, mutation: str, kind: str, given: dict[str, Any]) -> str:
    """Start a directory job; its global id."""
    payload = await ok(client, f"""mutation($input: {kind}!) {{
        {mutation}(input: $input) {{ job {{ id }} {ERRORS} }} }}""", {"input": given})
    return payload["job"]["id"]


async def discover(client: Client, tenant: str, **fields: Any) -> dict[str, Any]:
    job_id = await start(client, "directoryDiscover", "DirectoryDiscoverInput",
                         {"tenant": tenant, **fields})
    return await finished(client, job_id)


async def import_confirm(client: Client, tenant: str) -> dict[str, Any]:
    job_id = await start(client, "directoryImportConfirm", "DirectoryTenantInput",
                         {"tenant": tenant})
    return await finished(client, job_id)


async def sync_now(client: Client, tenant: str) -> dict[str, Any]:
    job_id = await start(client, "directorySyncNow", "DirectoryTenantInput", {"tenant": tenant})
    return await finished(client, job_id)


async def schedule(client: Client, tenant: str, **fields: Any) -> dict[str, Any]:
    data = await client.execute(f"""mutation($input: DirectoryLinkScheduleInput!) {{
        directoryLinkSchedule(input: $input) {{ directoryLink {{ {LINK_FIELDS} }} {ERRORS} }}
        }}""", {"input": {"tenant": tenant, **fields}})
    return data["directoryLinkSchedule"]


async def preview(client: Client, tenant: str) -> list[dict[str, Any]]:
    data = await client.execute("""query($tenant: ID!) { directoryLink(tenant: $tenant) {
        preview(first: 100) { totalCount edges { node {
          id externalId email username alias displayName excluded conflicts } } } } }""",
                                {"tenant": tenant})
    connection = data["directoryLink"]["preview"]
    rows = [edge["node"] for edge in connection["edges"]]
    assert len(rows) == connection["totalCount"]
    return rows


# What the database holds --------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """A synced subscriber, as the tests compare it."""

    id: uuid.UUID
    external_id: str | None
    username: str
    email: str | None
    display_name: str | None
    alias: str | None
    status: str
    source: str
    disabled: bool
    deleted: bool  # marked for removal (directory_deleted_at)
    updated_at: Any


def subscribers(engine: Engine, tenant: str) -> list[Row]:
    with Session(engine) as session:
        found = session.exec(select(Subscriber).where(
            Subscriber.tenant_id == id_of(tenant, "Tenant"))).all()
    return [Row(id=s.id, external_id=s.external_id, username=s.username, email=s.email,
                display_name=s.display_name, alias=s.alias, status=s.status.value,
                source=s.source.value, disabled=s.disabled_at is not None,
                deleted=s.directory_deleted_at is not None, updated_at=s.updated_at)
            for s in found]


def by_external_id(engine: Engine, tenant: str) -> dict[str, Row]:
    rows = subscribers(engine, tenant)
    found = {row.external_id: row for row in rows if row.external_id}
    assert len(found) == len([row for row in rows if row.external_id]), "a user came twice"
    return found


def link_row(engine: Engine, tenant: str) -> DirectoryLink:
    with Session(engine) as session:
        return session.exec(select(DirectoryLink).where(
            DirectoryLink.tenant_id == id_of(tenant, "Tenant"))).one()


def job_row(engine: Engine, job_id: str) -> Job:
    with Session(engine) as session:
        found = session.get(Job, id_of(job_id, "Job"))
        assert found is not None
        return found


def delta_requests(entra: FakeMicrosoft, since: int = 0) -> list[Any]:
    """The users delta requests Graph got, from the ``since``-th request of the log on."""
    return [r for r in entra.requests[since:] if r.path == "/v1.0/users/delta"]
