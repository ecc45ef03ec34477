"""A read-only role changes nothing: every mutation, run by a VIEWER of the object's scope,
answers NOT_PERMITTED (not NOT_FOUND: the viewer does see the object; not REQUIRED).

The probes are the isolation cases' (each takes the object's id as ``$id``) plus the
mutations below that start from a scope rather than from an object. A guard test fails
when a mutation of the schema is in neither list nor among the few that act on the
caller's own account.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.applications import Starlette

from core.models import (
    DirectoryLink,
    DirectoryLinkStatus,
    DirectoryProvider,
    Isp,
    Job,
    JobStatus,
    Role,
    Scope,
    Tenant,
)
from core.settings import Settings
from schema import build_schema
from schema.core.ids import id_of, to_global_id
from tests.factories import make_carrier, make_customer, make_tenant
from tests.graphql import Client, SignedUp
from tests.isolation import CASES, Case
from tests.isolation_cases.plans_and_customers import colleague, create_plan
from tests.schema import test_isolation  # noqa: F401  (imports every isolation case)

ERRORS = "errors { field code message }"

# Mutations about the caller's own account (or before there is one): a read-only person
# logs in and out, accepts invitations and keeps personal API tokens (which act with that
# person's read-only rights).
OWN_ACCOUNT = frozenset({
    "login", "logout", "ispSignUp", "ispSignUpComplete", "invitationAccept",
    "apiTokenCreate", "apiTokenRevoke",
})
# Mutations that only read what the viewer may already read (a CSV of the call records
# ``callRecords`` shows them, and its download link): open to read-only roles by design.
READ_ONLY_OPERATIONS = frozenset({"callRecordsExport", "callRecordsDownloadLink"})
# Objects of the platform itself: their "scope" is the platform, their viewer a platform VIEWER.
PLATFORM_CASES = frozenset({"SipProxy"})
# Personal objects: nobody else sees them, so no read-only role over them exists.
PERSONAL_CASES = frozenset({"ApiToken"})


@dataclass(frozen=True)
class ScopeProbe:
    """A mutation started from a scope; ``target`` names what ``$id`` is."""

    query: str
    path: str
    # "isp", "tenant", "linked_tenant", "plan", "customer", "carrier", "export_job", "platform"
    target: str
    files: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)


def _scope(name: str, arguments: str | None, selection: str, target: str,
           files: dict[str, tuple[str, bytes, str]] | None = None) -> ScopeProbe:
    variables = "$id: ID!" if arguments and "$id" in arguments else ""
    variables += ", $file: Upload!" if files else ""
    head = f"mutation({variables.strip(', ')})" if variables else "mutation"
    call = f"{name}(input: {{{arguments}}})" if arguments is not None else name
    return ScopeProbe(f"{head} {{ {call} {{ {selection} {ERRORS} }} }}", name, target,
                      files or {})


_CSV = {"file": ("numbers.csv", b"e164\n+12025550100\n", "text/csv")}
_DECK = {"file": ("deck.csv", b"prefix,rate_per_minute\n+44,0.01\n", "text/csv")}

SCOPE_PROBES: tuple[ScopeProbe, ...] = (
    _scope("carrierCreate", 'isp: $id, name: "ro"', "carrier { id }", "isp"),
    _scope("dialPlanCreate", 'isp: $id, name: "ro"', "dialPlan { id }", "isp"),
    _scope("servicePlanCreate", 'isp: $id, name: "ro"', "servicePlan { id }", "isp"),
    _scope("customerCreate", 'isp: $id, name: "ro", maxSubscribers: 1, maxConcurrentCalls: 1',
           "customer { id }", "isp"),
    _scope("smbcCreate", 'isp: $id, name: "ro", address: "192.0.2.1"', "smbc { id }", "isp"),
    _scope("numberCreate", 'isp: $id, e164: "+12025550101"', "number { id }", "isp"),
    _scope("numberRangeCreate", 'isp: $id, first: "+12025550110", last: "+12025550111"',
           "count", "isp"),
    _scope("numberImport", "isp: $id, file: $file", "job { id }", "isp", _CSV),
    _scope("domainAdd", 'isp: $id, fqdn: "read-only.example"', "verifiedDomain { id }", "isp"),
    _scope("administratorInvite", 'isp: $id, email: "x@ro.example", role: VIEWER',
           "invitation { id }", "isp"),
    _scope("tenantCreate", 'isp: $id, name: "ro", domain: "ro", customer: "'
           + to_global_id("Customer", uuid.UUID(int=1)) + '", defaultCountryCode: "1"',
           "tenant { id }", "isp"),
    _scope("rateDeckImport", "servicePlan: $id, file: $file", "job { id }", "plan", _DECK),
    _scope("vendorRatesImport", "carrier: $id, file: $file", "entries", "carrier", _DECK),
    _scope("callRecordsRerate",
           'customer: $id, from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z"',
           "legs", "customer"),
    _scope("subscriberCreate", 'tenant: $id, username: "ro"', "subscriber { id }", "tenant"),
    _scope("subscriberBulkCreate", 'tenant: $id, subscribers: [{username: "ro"}]',
           "subscribers { subscriber { id } }", "tenant"),
    _scope("securityGroupCreate", 'tenant: $id, name: "ro"', "securityGroup { id }", "tenant"),
    _scope("tenantCredentialsExport", "tenant: $id", "job { id }", "tenant"),
    _scope("administratorInvite", 'tenant: $id, email: "x@ro.example", role: VIEWER',
           "invitation { id }", "tenant"),
    _scope("directoryLinkStart", "tenant: $id, provider: GOOGLE", "consentUrl", "tenant"),
    _scope("directoryServiceAccountLink", 'tenant: $id, keyJson: "{}", adminEmail: "a@b.example"',
           "directoryLink { id }", "tenant"),
    _scope("directoryDiscover", "tenant: $id", "job { id }", "linked_tenant"),
    _scope("directoryPreviewUpdate", "tenant: $id, rows: []", "rows { id }", "linked_tenant"),
    _scope("directoryImportConfirm", "tenant: $id", "job { id }", "linked_tenant"),
    _scope("directoryLinkSchedule", "tenant: $id, intervalMinutes: 60", "directoryLink { id }",
           "linked_tenant"),
    _scope("directorySyncNow", "tenant: $id", "job { id }", "linked_tenant"),
    _scope("directorySyncDecide", "tenant: $id, confirm: true", "job { id }", "linked_tenant"),
    _scope("directoryUnlink", "tenant: $id", "deletedId", "linked_tenant"),
    _scope("credentialsDownloadLink", "job: $id", "url", "export_job"),
    _scope("sipProxyCreate", 'name: "ro", databaseUrl: "postgres://k:s@127.0.0.1/k", '
           'rpcUrl: "http://127.0.0.1:5080/RPC"', "sipProxy { id }", "platform"),
    _scope("platformSelfTest", "steps: 1", "job { id }", "platform"),
    _scope("routingExport", None, "databases", "platform"),
)


def _mutation_name(query: str) -> str:
    return re.search(r"\{\s*([A-Za-z]+)", query).group(1)  # type: ignore[union-attr]


def test_every_mutation_has_a_read_only_probe(settings: Settings):
    covered = {_mutation_name(probe.query) for case in CASES.values()
               if case.type_name not in PERSONAL_CASES for probe in case.mutations}
    covered |= {probe.path for probe in SCOPE_PROBES}
    mutations = set(build_schema(settings)._schema.mutation_type.fields)
    missing = mutations - covered - OWN_ACCOUNT - READ_ONLY_OPERATIONS
    assert not missing, f"add a read-only probe for {sorted(missing)}"


async def _viewer_of_isp(isp: SignedUp, app: Starlette, engine: Engine) -> Client:
    return await colleague(app, engine, f"ro-{uuid.uuid4().hex[:6]}@viewer.example",
                           scope=Scope.ISP, role=Role.VIEWER, isp_id=id_of(isp.isp_id, "Isp"))


async def _platform_viewer(app: Starlette, engine: Engine) -> Client:
    return await colleague(app, engine, f"ro-{uuid.uuid4().hex[:6]}@platform.example",
                           scope=Scope.PLATFORM, role=Role.VIEWER)


def _assert_not_permitted(body: dict, path: str) -> None:
    assert "errors" not in body, body
    errors = body["data"][path]["errors"]
    assert errors, path
    assert errors[0]["code"] == "NOT_PERMITTED", (path, errors)


def _object_cases() -> list[Case]:
    return [case for case in CASES.values() if case.mutations
            and case.type_name not in PERSONAL_CASES]


@pytest.mark.parametrize("case", _object_cases(), ids=lambda case: case.type_name)
async def test_a_viewer_changes_no_object(case: Case, isp_b: SignedUp, app: Starlette,
                                          engine: Engine):
    theirs = await case.create(isp_b)
    viewer = (await _platform_viewer(app, engine) if case.type_name in PLATFORM_CASES
              else await _viewer_of_isp(isp_b, app, engine))
    try:
        # The viewer does see the object, so a refusal is not an isolation answer.
        seen = await viewer.execute("query($id: ID!) { node(id: $id) { id } }", {"id": theirs})
        assert seen["node"] == {"id": theirs}
        for probe in case.mutations:
            _assert_not_permitted((await viewer.post(probe.query, {"id": theirs})).json(),
                                  probe.path)
        # Untouched: the owner still sees it.
        assert (await isp_b.client.execute("query($id: ID!) { node(id: $id) { id } }",
                                           {"id": theirs}))["node"] == {"id": theirs}
    finally:
        await viewer.close()


def _tenant_of(isp: SignedUp, *, linked: bool = False) -> str:
    with Session(isp.engine) as session:
        owner = session.get(Isp, id_of(isp.isp_id, "Isp"))
        tenant = make_tenant(session, owner, make_customer(session, owner, max_subscribers=10))
        if linked:
            session.add(DirectoryLink(tenant_id=tenant.id, provider=DirectoryProvider.GOOGLE,
                                      status=DirectoryLinkStatus.LINKED))
            session.commit()
        return to_global_id("Tenant", tenant.id)


def _customer_of(isp: SignedUp) -> str:
    with Session(isp.engine) as session:
        owner = session.get(Isp, id_of(isp.isp_id, "Isp"))
        return to_global_id("Customer", make_customer(session, owner).id)


def _carrier_of(isp: SignedUp) -> str:
    with Session(isp.engine) as session:
        owner = session.get(Isp, id_of(isp.isp_id, "Isp"))
        return to_global_id("Carrier", make_carrier(session, owner).id)


def _export_job(isp: SignedUp) -> str:
    tenant_id = id_of(_tenant_of(isp), "Tenant")
    with Session(isp.engine) as session:
        job = Job(kind="credentials.export", status=JobStatus.SUCCEEDED,
                  subject_type="Tenant", subject_id=str(tenant_id),
                  isp_id=id_of(isp.isp_id, "Isp"), tenant_id=tenant_id,
                  requested_by_id=id_of(isp.administrator_id, "Administrator"))
        session.add(job)
        session.commit()
        return to_global_id("Job", job.id)


async def _target(probe: ScopeProbe, isp: SignedUp) -> str | None:
    targets: dict[str, Callable[[], Awaitable[str] | str | None]] = {
        "isp": lambda: isp.isp_id,
        "tenant": lambda: _tenant_of(isp),
        "linked_tenant": lambda: _tenant_of(isp, linked=True),
        "plan": lambda: create_plan(isp),
        "customer": lambda: _customer_of(isp),
        "carrier": lambda: _carrier_of(isp),
        "export_job": lambda: _export_job(isp),
        "platform": lambda: None,
    }
    made = targets[probe.target]()
    return await made if isinstance(made, Awaitable) else made


@pytest.mark.parametrize("probe", SCOPE_PROBES,
                         ids=lambda probe: f"{probe.path}-{probe.target}")
async def test_a_viewer_starts_nothing(probe: ScopeProbe, isp_b: SignedUp, app: Starlette,
                                       engine: Engine):
    target = await _target(probe, isp_b)
    viewer = (await _platform_viewer(app, engine) if probe.target == "platform"
              else await _viewer_of_isp(isp_b, app, engine))
    try:
        variables: dict[str, object] = {"id": target} if target else {}
        if probe.files:
            variables["file"] = None  # filled from the multipart form
        response = await viewer.post(probe.query, variables, files=probe.files or None)
        _assert_not_permitted(response.json(), probe.path)
    finally:
        await viewer.close()


TENANT_PROBES = [probe for probe in SCOPE_PROBES if probe.target in {"tenant", "linked_tenant"}]


@pytest.mark.parametrize("scope", ["TENANT", "CUSTOMER"])
@pytest.mark.parametrize("probe", TENANT_PROBES, ids=lambda probe: probe.path)
async def test_a_viewer_of_the_tenant_or_its_customer_starts_nothing_in_it(
        probe: ScopeProbe, scope: str, isp_b: SignedUp, app: Starlette, engine: Engine):
    tenant_id = await _target(probe, isp_b)
    assert tenant_id is not None
    with Session(engine) as session:
        tenant = session.get(Tenant, id_of(tenant_id, "Tenant"))
        grant = ({"scope": Scope.TENANT, "tenant_id": tenant.id} if scope == "TENANT"
                 else {"scope": Scope.CUSTOMER, "customer_id": tenant.customer_id})
    viewer = await colleague(app, engine, f"ro-{uuid.uuid4().hex[:6]}@{scope.lower()}.example",
                             role=Role.VIEWER, isp_id=tenant.isp_id, **grant)
    try:
        seen = await viewer.execute("query($id: ID!) { node(id: $id) { id } }", {"id": tenant_id})
        assert seen["node"] == {"id": tenant_id}
        _assert_not_permitted((await viewer.post(probe.query, {"id": tenant_id})).json(),
                              probe.path)
    finally:
        await viewer.close()
