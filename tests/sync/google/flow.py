"""Helpers of the Google directory-sync flow tests: everything as an administrator does it.

A tenant of an ISP on a verified domain (the TXT record served by ``tests/dns_server``,
checked by ``domainVerify``), then the directory flow over GraphQL and the browser's
round trip through Google's consent screen (the fake of ``tests/fakes/google.py``)::

    tenant = await verified_tenant(isp.client, dns, FQDN)
    flow = Flow(isp.client, tenant, fake)
    await flow.link()                          # consent over the wire, callback in our app
    job = await flow.discover(sequentialStart=2000)
    rows = await flow.preview()
    imported = await flow.import_all()         # job SUCCEEDED, resultRef: the sheet's job
    sheet = await flow.sheet(imported["resultRef"])

Used by ``test_flow.py`` and ``tests/e2e/test_directory_registration.py``.
"""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import openpyxl

from schema.core.ids import from_global_id, to_global_id
from tests.dns_server import DnsServer
from tests.fakes.google import FakeGoogle, FakeResponse, RecordedRequest
from tests.graphql import Client
from workers.jobs import reconcile

FQDN = "voice.sync-example.com"
ERRORS = "errors { field code message }"
WAIT_SECONDS = 120.0
FINISHED = frozenset({"SUCCEEDED", "FAILED", "CANCELLED", "NEEDS_CONFIRMATION"})
CALLBACK = "http://testserver/oauth/google/callback"
# job_resend_seconds of these tests: how soon the reconciler sends a lost job again.
RESEND_SECONDS = 3

JOB = """id kind status errorCode resultRef counters attempts
         progress { done total } errors { code message details }"""
LINK = """id status provider lastErrorCode lastError sequentialStart brakePercent
          removalGraceDays lastSyncedAt
          defaults { countryCode areaCode concurrentCalls ringTimeout voicemailToEmail }
          heldChanges { action subscriber username email }"""
ROW = "id externalId email displayName department username alias callerId excluded conflicts"
SUBSCRIBER = """id username email displayName alias callerId status source externalId
                countryCode areaCode concurrentCalls ringTimeout voicemailToEmail updatedAt"""


async def mutate(client: Client, query: str, variables: dict[str, Any] | None = None,
                 ) -> dict[str, Any]:
    """The payload of a mutation that must succeed."""
    data = await client.execute(query, variables)
    payload: dict[str, Any] = next(iter(data.values()))
    assert payload["errors"] == [], payload["errors"]
    return payload


async def verified_tenant(client: Client, dns: DnsServer, fqdn: str = FQDN, *,
                          name: str = "Sync Example", max_subscribers: int = 5_000,
                          smbc: bool = True) -> dict[str, Any]:
    """Verify ``fqdn`` for the client's ISP (TXT record on the DNS server) and create a
    customer and a tenant on it; returns the tenant (id, domain, verifiedDomainId)."""
    added = (await mutate(client, f"""mutation($fqdn: String!) {{
        domainAdd(input: {{fqdn: $fqdn}}) {{
          verifiedDomain {{ id txtRecordName txtRecordValue status }} {ERRORS} }} }}""",
                          {"fqdn": fqdn}))["verifiedDomain"]
    dns.set_txt(added["txtRecordName"], [added["txtRecordValue"]])
    verified = await mutate(client, f"""mutation($id: ID!) {{ domainVerify(input: {{id: $id}}) {{
        verifiedDomain {{ status }} check {{ outcome }} {ERRORS} }} }}""", {"id": added["id"]})
    assert verified["verifiedDomain"]["status"] == "VERIFIED", verified
    customer = (await mutate(client, f"""mutation($input: CustomerCreateInput!) {{
        customerCreate(input: $input) {{ customer {{ id }} {ERRORS} }} }}""", {"input": {
        "name": f"{name} Inc.", "maxSubscribers": max_subscribers,
        "maxConcurrentCalls": 50}}))["customer"]
    fields: dict[str, Any] = {"name": name, "domain": fqdn, "customer": customer["id"],
                              "defaultCountryCode": "1", "defaultAreaCode": "209"}
    if smbc:
        fields["smbcs"] = [(await mutate(client, f"""mutation($input: SmbcCreateInput!) {{
            smbcCreate(input: $input) {{ smbc {{ id }} {ERRORS} }} }}""", {"input": {
            "name": "edge-1", "address": "sbc.sync-example.net:5061"}}))["smbc"]["id"]]
    tenant: dict[str, Any] = (await mutate(client, f"""mutation($input: TenantCreateInput!) {{
        tenantCreate(input: $input) {{ tenant {{ id domain verifiedDomainId }} {ERRORS} }} }}""",
                                           {"input": fields}))["tenant"]
    assert tenant["domain"] == fqdn, tenant
    assert tenant["verifiedDomainId"], tenant
    return tenant


def outcome_of(response: httpx.Response) -> dict[str, str]:
    """Where our callback sends the browser back: the query of its 303 Location."""
    assert response.status_code == 303, (response.status_code, response.text)
    location = urlsplit(response.headers["location"])
    assert location.path == "/", response.headers["location"]
    return {name: values[0] for name, values in parse_qs(location.query).items()}


def uuid_text(global_or_raw: str) -> str:
    """The uuid a global id names (or the text itself when it is a bare uuid)."""
    decoded = from_global_id(global_or_raw)
    return str(decoded[1]) if decoded else global_or_raw


@dataclass
class Flow:
    """One administrator's browser on one tenant, and the Google fake it consents at."""

    client: Client
    tenant: dict[str, Any]
    fake: FakeGoogle

    @property
    def tenant_id(self) -> str:
        return str(self.tenant["id"])

    # Consent -------------------------------------------------------------------------

    async def start(self) -> str:
        """directoryLinkStart: the consent URL (at the fake's authorization endpoint)."""
        payload = await mutate(self.client, f"""mutation($tenant: ID!) {{
            directoryLinkStart(input: {{tenant: $tenant, provider: GOOGLE}}) {{
              consentUrl directoryLink {{ status provider }} {ERRORS} }} }}""",
                               {"tenant": self.tenant_id})
        assert payload["directoryLink"] == {"status": "PENDING_CONSENT", "provider": "GOOGLE"}
        return str(payload["consentUrl"])

    async def consent_redirect(self, consent_url: str) -> str:
        """Open the consent URL as the browser does: Google's 302 back to our callback."""
        async with httpx.AsyncClient() as browser:
            answer = await browser.get(consent_url, follow_redirects=False)
        assert answer.status_code == 302, answer.text
        location = answer.headers["location"]
        assert location.startswith(CALLBACK + "?"), location
        return location

    async def callback(self, location: str, client: Client | None = None) -> dict[str, str]:
        """GET our callback (with this browser's cookies unless ``client``); the outcome."""
        response = await (client or self.client).http.get(location, follow_redirects=False)
        return outcome_of(response)

    async def link(self) -> dict[str, str]:
        """The whole consent round trip; returns the outcome, which must be ``linked``."""
        outcome = await self.callback(await self.consent_redirect(await self.start()))
        assert outcome == {"directory": "linked", "tenant": self.tenant_id}, outcome
        return outcome

    # Reading ------------------------------------------------------------------------------

    async def directory_link(self, client: Client | None = None) -> dict[str, Any] | None:
        data = await (client or self.client).execute(f"""query($tenant: ID!) {{
            directoryLink(tenant: $tenant) {{ {LINK} }} }}""", {"tenant": self.tenant_id})
        link: dict[str, Any] | None = data["directoryLink"]
        return link

    async def preview(self, page_size: int = 100) -> list[dict[str, Any]]:
        """Every preview row, paging through the connection; checks totalCount."""
        rows: list[dict[str, Any]] = []
        after: str | None = None
        total = None
        while True:
            data = await self.client.execute(f"""query($tenant: ID!, $first: Int!,
                $after: String) {{ directoryLink(tenant: $tenant) {{
                  preview(first: $first, after: $after) {{ totalCount
                    pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {ROW} }} }} }} }} }}""",
                                             {"tenant": self.tenant_id, "first": page_size,
                                              "after": after})
            connection = data["directoryLink"]["preview"]
            total = connection["totalCount"]
            rows.extend(edge["node"] for edge in connection["edges"])
            if not connection["pageInfo"]["hasNextPage"]:
                break
            after = connection["pageInfo"]["endCursor"]
        assert len(rows) == total
        return rows

    async def subscribers(self) -> list[dict[str, Any]]:
        """The tenant's subscribers (every page), by username."""
        found: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            data = await self.client.execute(f"""query($tenant: ID!, $after: String) {{
                subscribers(filter: {{tenant: $tenant}}, first: 100, after: $after) {{
                  pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {SUBSCRIBER} }} }} }} }}""",
                                             {"tenant": self.tenant_id, "after": after})
            connection = data["subscribers"]
            found.extend(edge["node"] for edge in connection["edges"])
            if not connection["pageInfo"]["hasNextPage"]:
                return found
            after = connection["pageInfo"]["endCursor"]

    async def by_email(self) -> dict[str, dict[str, Any]]:
        return {row["email"]: row for row in await self.subscribers()}

    # Jobs ------------------------------------------------------------------------------

    async def job(self, job_id: str) -> dict[str, Any] | None:
        data = await self.client.execute(f"""query($id: ID!) {{ job(id: $id) {{ {JOB} }} }}""",
                                         {"id": job_id})
        job: dict[str, Any] | None = data["job"]
        return job

    async def wait(self, job_id: str, until: Callable[[dict[str, Any]], bool] | None = None,
                   within: float = WAIT_SECONDS) -> dict[str, Any]:
        """Poll ``job(id:)`` until it has ended (or ``until`` holds); the job.

        While the job waits in the queue, the platform's reconciler runs now and then, as
        the scheduler would: on a broker other test runs share, a message can be taken
        by another run's worker (which knows no such job) or flushed by it, and the
        reconciler sends it again (``RESEND_SECONDS`` in the settings of these tests).
        """
        done = until or (lambda job: job["status"] in FINISHED)
        deadline = time.monotonic() + within
        kicked = time.monotonic()
        while True:
            job = await self.job(job_id)
            assert job is not None, f"job {job_id} is not visible"
            if done(job):
                return job
            now = time.monotonic()
            if now > deadline:
                raise AssertionError(f"job {job_id} did not get there within {within} s: {job}")
            if job["status"] == "QUEUED" and now - kicked > RESEND_SECONDS + 0.5:
                await anyio.to_thread.run_sync(reconcile)
                kicked = now
            await asyncio.sleep(0.05)

    async def jobs(self, kind: str) -> list[dict[str, Any]]:
        data = await self.client.execute(f"""query($kind: String!) {{
            jobs(filter: {{kind: $kind}}, first: 100) {{ edges {{ node {{ {JOB} }} }} }} }}""",
                                         {"kind": kind})
        return [edge["node"] for edge in data["jobs"]["edges"]]

    # The flow's mutations -------------------------------------------------------------------

    async def job_mutation(self, name: str, fields: str = "", **extra: Any) -> dict[str, Any]:
        """Run a mutation answering a DirectoryJobPayload; returns the started job."""
        variables = {"tenant": self.tenant_id, **extra}
        payload = await mutate(self.client, f"""mutation($input: {fields}!) {{
            {name}(input: $input) {{ job {{ {JOB} }} {ERRORS} }} }}""", {"input": variables})
        job: dict[str, Any] = payload["job"]
        return job

    async def discover(self, **fields: Any) -> dict[str, Any]:
        """directoryDiscover and its job, once finished (it must succeed)."""
        job = await self.job_mutation("directoryDiscover", "DirectoryDiscoverInput", **fields)
        finished = await self.wait(job["id"])
        assert finished["status"] == "SUCCEEDED", finished
        return finished

    async def import_all(self) -> dict[str, Any]:
        job = await self.job_mutation("directoryImportConfirm", "DirectoryTenantInput")
        finished = await self.wait(job["id"])
        assert finished["status"] == "SUCCEEDED", finished
        return finished

    async def sync_now(self) -> dict[str, Any]:
        """directorySyncNow; the job once it has ended, whatever its status."""
        job = await self.job_mutation("directorySyncNow", "DirectoryTenantInput")
        return await self.wait(job["id"])

    async def linked_and_imported(self, **discover: Any) -> list[dict[str, Any]]:
        """Consent, discover with ``discover`` and import everyone; the subscribers."""
        await self.link()
        await self.discover(**discover)
        await self.import_all()
        return await self.subscribers()

    # The credentials sheet --------------------------------------------------------------

    async def sheet(self, sheet_job: str) -> list[list[Any]]:
        """Download a finished credentials export once and read it with openpyxl."""
        payload = await mutate(self.client, f"""mutation($job: ID!) {{
            credentialsDownloadLink(input: {{job: $job}}) {{ url expiresAt {ERRORS} }} }}""",
                               {"job": sheet_job})
        response = await self.client.http.get(payload["url"])
        assert response.status_code == 200, response.text
        workbook = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
        return [["" if value is None else value for value in row]
                for row in workbook["Credentials"].iter_rows(values_only=True)]


def job_global_id(result_ref: str) -> str:
    """A job id to query with, from a resultRef (global id or bare uuid)."""
    decoded = from_global_id(result_ref)
    if decoded is not None:
        return result_ref
    return to_global_id("Job", uuid.UUID(result_ref))


def fail_users_list_after(fake: FakeGoogle, pages: int, response: FakeResponse, *,
                          times: int) -> list[RecordedRequest]:
    """From now on, once ``pages`` more pages of ``users.list`` were served, inject
    ``response`` ``times`` times (a failure that outlasts the adapter's own retries);
    returns the list of page requests answered 200 since, for the test to look at."""
    original = fake._users_list
    served: list[RecordedRequest] = []

    def users_list(request: RecordedRequest) -> FakeResponse:
        answer = original(request)
        if answer.status == 200:
            served.append(request)
            if len(served) == pages:
                fake.inject("users.list", response, times=times)
        return answer

    fake._users_list = users_list  # type: ignore[method-assign]
    return served
