"""The credentials sheet: exporting it through a job, and downloading it once over HTTP."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import time
import uuid
from dataclasses import dataclass
from typing import Any

import dramatiq
import openpyxl
from sqlalchemy import Engine, update
from sqlmodel import Session, select
from starlette.applications import Starlette

from core.credentials import COLUMNS, sign_download
from core.models import (
    Administrator,
    AuditEvent,
    Isp,
    Job,
    Role,
    RoleGrant,
    Scope,
    StoredFile,
    Subscriber,
    Tenant,
    utcnow,
)
from core.secrets import secret_box
from core.settings import Settings
from schema.core.ids import id_of, to_global_id
from tests.factories import make_customer, make_tenant
from tests.graphql import Client, SignedUp
from tests.isolation_cases.plans_and_customers import colleague, create_customer, create_smbc
from workers.credentials_export import FILES_EXPIRY_SECONDS, expire_files
from workers.registry import PERIODIC_TASKS

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ERRORS = "errors { field code message }"
EXPORT = f"""mutation($input: TenantCredentialsExportInput!) {{
  tenantCredentialsExport(input: $input) {{ job {{ id kind status subjectId }} {ERRORS} }} }}"""
LINK = f"""mutation($job: ID!) {{
  credentialsDownloadLink(input: {{job: $job}}) {{ url expiresAt {ERRORS} }} }}"""
JOB = """query($id: ID!) { job(id: $id) {
  status errorCode resultRef progress { done total } errors { code message } } }"""
TENANT = """mutation($input: TenantCreateInput!) {
  tenantCreate(input: $input) { tenant { id domain } errors { field code message } } }"""
WAIT_SECONDS = 60


@dataclass
class Arranged:
    tenant_id: str
    domain: str
    passwords: dict[str, str]  # username -> SIP password
    subscriber_ids: dict[str, str]  # username -> global id


def _codes(payload: dict[str, Any]) -> list[tuple[list[str] | None, str]]:
    return [(error["field"], error["code"]) for error in payload["errors"]]


def _add_subscribers(engine: Engine, settings: Settings, tenant_id: str,
                     people: list[tuple[str, str, str]]) -> dict[str, str]:
    """Subscribers (username, display name, e-mail) as the subscribers API stores them."""
    box = secret_box(settings.secret_key_bytes())
    ids: dict[str, str] = {}
    with Session(engine) as session:
        for position, (username, name, email) in enumerate(people):
            row = Subscriber(tenant_id=id_of(tenant_id, "Tenant"), username=username,
                             display_name=name, email=email, alias=str(200 + position),
                             sip_password_encrypted=box.encrypt(f"pw-{username}-S3cret!"),
                             ha1="0" * 32, ha1b="0" * 32, country_code="1")
            session.add(row)
            session.flush()
            ids[username] = to_global_id("Subscriber", row.id)
        session.commit()
    return ids


async def _arrange(isp: SignedUp, settings: Settings, label: str = "acme") -> Arranged:
    """A tenant with two SMBCs (edge-2 preferred) and three subscribers."""
    customer = await create_customer(isp, f"{label} customer")
    edge_1 = await create_smbc(isp, f"{label}-edge-1", address="192.0.2.1:5060")
    edge_2 = await create_smbc(isp, f"{label}-edge-2", address="sbc.example.net:5061")
    created = (await isp.client.execute(TENANT, {"input": {
        "name": label.title(), "domain": label, "customer": customer,
        "defaultCountryCode": "1", "smbcs": [edge_2, edge_1]}}))["tenantCreate"]
    assert created["errors"] == [], created["errors"]
    tenant = created["tenant"]
    people = [("carol", "Carol C", "carol@acme.example"), ("alice", "Alice A", ""),
              ("bob", "=HYPERLINK(\"http://evil.example\")", "bob@acme.example")]
    ids = _add_subscribers(isp.engine, settings, tenant["id"], people)
    return Arranged(tenant_id=tenant["id"], domain=tenant["domain"],
                    passwords={name: f"pw-{name}-S3cret!" for name, _, _ in people},
                    subscriber_ids=ids)


async def _export(client: Client, tenant_id: str, **fields: Any) -> dict[str, Any]:
    data = await client.execute(EXPORT, {"input": {"tenant": tenant_id} | fields})
    return data["tenantCredentialsExport"]


async def _finished(client: Client, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        job = (await client.execute(JOB, {"id": job_id}))["job"]
        if job["status"] in {"SUCCEEDED", "FAILED", "CANCELLED"}:
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"the export did not end within {WAIT_SECONDS} s")


async def _exported(client: Client, tenant_id: str, **fields: Any) -> dict[str, Any]:
    """The job of an export that succeeded."""
    payload = await _export(client, tenant_id, **fields)
    assert payload["errors"] == [], payload["errors"]
    job = await _finished(client, payload["job"]["id"])
    assert (job["status"], job["errorCode"]) == ("SUCCEEDED", None), job
    return {"id": payload["job"]["id"]} | job


async def _link(client: Client, job_id: str) -> dict[str, Any]:
    return (await client.execute(LINK, {"job": job_id}))["credentialsDownloadLink"]


async def _url(client: Client, job_id: str) -> str:
    payload = await _link(client, job_id)
    assert payload["errors"] == [], payload["errors"]
    return payload["url"]


def _xlsx_rows(content: bytes) -> list[list[str]]:
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return [["" if value is None else value for value in row]
            for row in workbook["Credentials"].iter_rows(values_only=True)]


def _csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))


# Exporting and downloading --------------------------------------------------------------------


async def test_the_xlsx_sheet_holds_every_subscriber_and_is_served_once(
    isp_a: SignedUp, settings: Settings, worker: dramatiq.Broker
):
    arranged = await _arrange(isp_a, settings)
    job = await _exported(isp_a.client, arranged.tenant_id)
    assert job["progress"] == {"done": 3, "total": 3}
    link = await _link(isp_a.client, job["id"])
    assert link["url"].startswith(f"http://testserver/downloads/{job['resultRef']}?token=")
    expires_in = dt.datetime.fromisoformat(link["expiresAt"]) - utcnow()
    assert dt.timedelta(minutes=4) < expires_in <= dt.timedelta(minutes=5)

    response = await isp_a.client.http.get(link["url"])
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX_TYPE
    assert response.headers["content-disposition"] == \
        f'attachment; filename="{arranged.domain}-credentials.xlsx"'
    assert response.headers["cache-control"] == "no-store"
    rows = _xlsx_rows(response.content)
    assert rows[0] == COLUMNS
    assert [row[0] for row in rows[1:]] == ["alice", "bob", "carol"]
    assert {row[0]: row[3] for row in rows[1:]} == arranged.passwords
    assert {row[2] for row in rows[1:]} == {"acme.alpha.wehostvoip.test"}
    assert {row[4] for row in rows[1:]} == {"sbc.example.net:5061"}
    assert rows[1] == ["alice", "201", arranged.domain, "pw-alice-S3cret!",
                       "sbc.example.net:5061", "Alice A", ""]

    again = await isp_a.client.http.get(link["url"])
    assert again.status_code == 410
    assert "pw-" not in again.text


async def test_a_formula_from_a_directory_stays_text(isp_a: SignedUp, settings: Settings,
                                                    worker: dramatiq.Broker):
    arranged = await _arrange(isp_a, settings)
    job = await _exported(isp_a.client, arranged.tenant_id)
    content = (await isp_a.client.http.get(await _url(isp_a.client, job["id"]))).content
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    cell = workbook["Credentials"]["F3"]  # bob's display name
    assert (cell.value, cell.data_type) == ('=HYPERLINK("http://evil.example")', "s")


async def test_a_csv_sheet_of_chosen_subscribers(isp_a: SignedUp, settings: Settings,
                                                 worker: dramatiq.Broker):
    arranged = await _arrange(isp_a, settings)
    chosen = [arranged.subscriber_ids["carol"], arranged.subscriber_ids["bob"]]
    job = await _exported(isp_a.client, arranged.tenant_id, format="CSV", subscribers=chosen)
    response = await isp_a.client.http.get(await _url(isp_a.client, job["id"]))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].endswith('-credentials.csv"')
    rows = _csv_rows(response.content)
    assert rows[0] == COLUMNS
    assert [(row[0], row[3]) for row in rows[1:]] == [
        ("bob", "pw-bob-S3cret!"), ("carol", "pw-carol-S3cret!")]
    # Spreadsheets would run it as a formula: the CSV cell starts with a quote instead.
    assert rows[1][5] == "'=HYPERLINK(\"http://evil.example\")"


async def test_a_bearer_token_downloads_like_the_session(isp_a: SignedUp, app: Starlette,
                                                         settings: Settings,
                                                         worker: dramatiq.Broker):
    arranged = await _arrange(isp_a, settings)
    token = (await isp_a.client.execute(
        'mutation { apiTokenCreate(input: {name: "sheets"}) { token } }'
    ))["apiTokenCreate"]["token"]
    script = Client(app, headers={"Authorization": f"Bearer {token}"})
    job = await _exported(script, arranged.tenant_id)
    response = await script.http.get(await _url(script, job["id"]))
    await script.close()
    assert response.status_code == 200
    assert len(_xlsx_rows(response.content)) == 4


async def test_a_tenant_admin_exports_and_a_tenant_viewer_may_not(
    isp_a: SignedUp, app: Starlette, engine: Engine, settings: Settings,
    worker: dramatiq.Broker
):
    arranged = await _arrange(isp_a, settings)
    grant = {"scope": Scope.TENANT, "isp_id": id_of(isp_a.isp_id, "Isp"),
             "tenant_id": id_of(arranged.tenant_id, "Tenant")}
    admin = await colleague(app, engine, "admin@acme.example", role=Role.ADMIN, **grant)
    viewer = await colleague(app, engine, "viewer@acme.example", role=Role.VIEWER, **grant)
    job = await _exported(admin, arranged.tenant_id)
    response = await admin.http.get(await _url(admin, job["id"]))
    assert response.status_code == 200

    assert _codes(await _export(viewer, arranged.tenant_id)) == [(None, "NOT_PERMITTED")]
    assert _codes(await _link(viewer, job["id"])) == [(None, "NOT_PERMITTED")]
    await admin.close()
    await viewer.close()


async def _grant_of(engine: Engine, email: str) -> str:
    with Session(engine) as session:
        grant = session.exec(select(RoleGrant).join(
            Administrator, Administrator.id == RoleGrant.administrator_id
        ).where(Administrator.email == email)).one()
        return to_global_id("RoleGrant", grant.id)


GRANT_UPDATE = """mutation($id: ID!) { roleGrantUpdate(input: {id: $id, role: VIEWER})
  { roleGrant { role } errors { code } } }"""
GRANT_REMOVE = """mutation($id: ID!) { roleGrantRemove(input: {id: $id})
  { removedId errors { code } } }"""


async def test_a_link_closes_when_its_holder_becomes_read_only(
    isp_a: SignedUp, app: Starlette, engine: Engine, settings: Settings,
    worker: dramatiq.Broker
):
    arranged = await _arrange(isp_a, settings)
    admin = await colleague(app, engine, "admin@acme.example", role=Role.ADMIN,
                            scope=Scope.TENANT, isp_id=id_of(isp_a.isp_id, "Isp"),
                            tenant_id=id_of(arranged.tenant_id, "Tenant"))
    url = await _url(admin, (await _exported(admin, arranged.tenant_id))["id"])
    changed = await isp_a.client.execute(
        GRANT_UPDATE, {"id": await _grant_of(engine, "admin@acme.example")})
    assert changed["roleGrantUpdate"] == {"roleGrant": {"role": "VIEWER"}, "errors": []}
    # Still logged in, still the link's holder, no longer allowed to hold the passwords.
    response = await admin.http.get(url)
    assert response.status_code == 403
    assert "pw-" not in response.text
    await admin.close()


async def test_removing_an_administrator_revokes_their_tokens_and_links(
    isp_a: SignedUp, app: Starlette, engine: Engine, settings: Settings,
    worker: dramatiq.Broker
):
    arranged = await _arrange(isp_a, settings)
    admin = await colleague(app, engine, "admin@acme.example", role=Role.ADMIN,
                            scope=Scope.TENANT, isp_id=id_of(isp_a.isp_id, "Isp"),
                            tenant_id=id_of(arranged.tenant_id, "Tenant"))
    # Another role elsewhere keeps the account able to sign in after the removal.
    with Session(engine) as session:
        person = session.exec(select(Administrator).where(
            Administrator.email == "admin@acme.example")).one()
        owner = session.get(Isp, id_of(isp_a.isp_id, "Isp"))
        other = make_tenant(session, owner, make_customer(session, owner))
        session.add(RoleGrant(administrator_id=person.id, scope=Scope.TENANT, role=Role.ADMIN,
                              isp_id=other.isp_id, tenant_id=other.id))
        session.commit()
        grant_id = to_global_id("RoleGrant", session.exec(select(RoleGrant.id).where(
            RoleGrant.administrator_id == person.id,
            RoleGrant.tenant_id == id_of(arranged.tenant_id, "Tenant"))).one())
    token = (await admin.execute(
        'mutation { apiTokenCreate(input: {name: "sheets"}) { token } }'
    ))["apiTokenCreate"]["token"]
    script = Client(app, headers={"Authorization": f"Bearer {token}"})
    url = await _url(script, (await _exported(script, arranged.tenant_id))["id"])

    removed = await isp_a.client.execute(GRANT_REMOVE, {"id": grant_id})
    assert removed["roleGrantRemove"]["errors"] == []
    # The token is refused, whatever roles its owner keeps elsewhere...
    assert (await script.http.get(url)).status_code == 401
    # ...and the link is dead for its holder even on a fresh login.
    fresh = Client(app)
    assert (await fresh.login("admin@acme.example"))["errors"] == []
    response = await fresh.http.get(url)
    assert response.status_code == 404
    assert "pw-" not in response.text
    with Session(engine) as session:
        assert session.exec(select(StoredFile.downloaded_at)).all() == [None]
    for client in (script, fresh, admin):
        await client.close()


# Who may not ----------------------------------------------------------------------------------


async def test_another_isp_finds_nothing(isp_a: SignedUp, isp_b: SignedUp, settings: Settings,
                                         worker: dramatiq.Broker):
    arranged = await _arrange(isp_a, settings)
    theirs = await _export(isp_b.client, arranged.tenant_id)
    missing = await _export(isp_b.client, to_global_id("Tenant", uuid.uuid4()))
    assert theirs == missing
    assert _codes(theirs) == [(["tenant"], "NOT_FOUND")]

    job = await _exported(isp_a.client, arranged.tenant_id)
    assert _codes(await _link(isp_b.client, job["id"])) == [(["job"], "NOT_FOUND")]
    url = await _url(isp_a.client, job["id"])
    assert (await isp_b.client.http.get(url)).status_code == 404
    # The file was not used up by the refused attempt.
    assert (await isp_a.client.http.get(url)).status_code == 200


async def test_a_link_works_only_for_its_administrator_and_only_in_time(
    isp_a: SignedUp, app: Starlette, engine: Engine, settings: Settings,
    worker: dramatiq.Broker
):
    arranged = await _arrange(isp_a, settings)
    job = await _exported(isp_a.client, arranged.tenant_id)
    url = await _url(isp_a.client, job["id"])
    file_id = uuid.UUID(job["resultRef"])
    owner_id = id_of(isp_a.administrator_id, "Administrator")

    partner = await colleague(app, engine, "partner@alpha.example", scope=Scope.ISP,
                              role=Role.ADMIN, isp_id=id_of(isp_a.isp_id, "Isp"))
    assert (await partner.http.get(url)).status_code == 403
    await partner.close()

    anonymous = Client(app)
    assert (await anonymous.http.get(url)).status_code == 401
    await anonymous.close()

    expired = sign_download(settings, file_id, owner_id, utcnow() - dt.timedelta(seconds=1))
    tampered = url[:-1] + ("0" if url[-1] != "0" else "1")
    for attempt in (f"/downloads/{file_id}?token={expired}", tampered,
                    f"/downloads/{file_id}", f"/downloads/{file_id}?token=abc.def"):
        assert (await isp_a.client.http.get(attempt)).status_code == 403, attempt
    assert (await isp_a.client.http.get("/downloads/not-a-uuid?token=x")).status_code == 404
    # A link preview's HEAD must not use the file up.
    assert (await isp_a.client.http.head(url)).status_code == 405
    assert (await isp_a.client.http.get(url)).status_code == 200


async def test_anonymous_callers_are_refused(anonymous: Client, isp_a: SignedUp,
                                             settings: Settings):
    arranged = await _arrange(isp_a, settings)
    assert _codes(await _export(anonymous, arranged.tenant_id)) == [(None, "UNAUTHENTICATED")]
    job_id = to_global_id("Job", uuid.uuid4())
    assert _codes(await _link(anonymous, job_id)) == [(None, "UNAUTHENTICATED")]


# Requests the job cannot serve ----------------------------------------------------------------


async def test_asking_again_follows_the_same_job_until_it_ends(isp_a: SignedUp,
                                                               isp_b: SignedUp,
                                                               settings: Settings):
    # No worker here: the job stays queued.
    arranged = await _arrange(isp_a, settings)
    first = await _export(isp_a.client, arranged.tenant_id)
    again = await _export(isp_a.client, arranged.tenant_id)
    assert first["errors"] == again["errors"] == []
    assert first["job"] == again["job"]
    assert first["job"]["kind"] == "credentials.export"
    assert first["job"]["subjectId"] == arranged.tenant_id
    other = await _export(isp_a.client, arranged.tenant_id, format="CSV")
    assert _codes(other) == [(None, "ALREADY_EXISTS")]
    assert _codes(await _link(isp_a.client, first["job"]["id"])) == [(["job"], "INVALID")]


async def test_the_chosen_subscribers_must_be_the_tenants(isp_a: SignedUp, isp_b: SignedUp,
                                                          settings: Settings):
    arranged = await _arrange(isp_a, settings)
    foreign = await _arrange(isp_b, settings, label="globex")
    for chosen, code in (([], "INVALID"), ([foreign.subscriber_ids["alice"]], "NOT_FOUND"),
                         (["not-an-id"], "NOT_FOUND"), ([arranged.tenant_id], "NOT_FOUND")):
        payload = await _export(isp_a.client, arranged.tenant_id, subscribers=chosen)
        assert _codes(payload) == [(["subscribers"], code)], chosen
    assert _codes(await _link(isp_a.client, arranged.tenant_id)) == [(["job"], "NOT_FOUND")]


async def test_an_unreadable_password_fails_the_job(isp_a: SignedUp, engine: Engine,
                                                    settings: Settings, worker: dramatiq.Broker):
    arranged = await _arrange(isp_a, settings)
    with Session(engine) as session:
        session.execute(update(Subscriber).where(Subscriber.username == "bob")
                        .values(sip_password_encrypted="gAAAAnot-a-token"))
        session.commit()
    payload = await _export(isp_a.client, arranged.tenant_id)
    job = await _finished(isp_a.client, payload["job"]["id"])
    assert (job["status"], job["errorCode"]) == ("FAILED", "SECRET_UNREADABLE")
    assert "gAAAA" not in str(job["errors"])


# What is left behind --------------------------------------------------------------------------


async def test_the_request_the_link_and_the_download_are_audited(
    isp_a: SignedUp, engine: Engine, settings: Settings, worker: dramatiq.Broker
):
    arranged = await _arrange(isp_a, settings)
    job = await _exported(isp_a.client, arranged.tenant_id, format="CSV")
    await isp_a.client.http.get(await _url(isp_a.client, job["id"]))
    with Session(engine) as session:
        events = session.exec(select(AuditEvent).where(
            AuditEvent.action.in_(["tenant.credentials.export", "credentials.download_link",
                                   "credentials.download"]))
            .order_by(AuditEvent.occurred_at)).all()
    assert [(e.action, e.actor_email) for e in events] == [
        ("tenant.credentials.export", isp_a.email),
        ("credentials.download_link", isp_a.email),
        ("credentials.download", isp_a.email),
    ]
    assert events[0].changes["format"] == "CSV"
    assert events[0].changes["subscribers"] == "all"
    assert {e.tenant_id for e in events} == {id_of(arranged.tenant_id, "Tenant")}
    assert events[2].object_id == job["resultRef"]
    assert "pw-" not in str([e.changes for e in events])


async def test_a_downloaded_file_keeps_no_content(isp_a: SignedUp, engine: Engine,
                                                  settings: Settings, worker: dramatiq.Broker):
    arranged = await _arrange(isp_a, settings)
    job = await _exported(isp_a.client, arranged.tenant_id)
    await isp_a.client.http.get(await _url(isp_a.client, job["id"]))
    with Session(engine) as session:
        stored = session.get(StoredFile, uuid.UUID(job["resultRef"]))
    assert stored.content == b""
    assert stored.downloaded_at is not None
    assert _codes(await _link(isp_a.client, job["id"])) == [(["job"], "INVALID")]


async def test_files_past_their_expiry_are_deleted_by_the_periodic_task(
    isp_a: SignedUp, engine: Engine, settings: Settings, worker: dramatiq.Broker
):
    arranged = await _arrange(isp_a, settings)
    job = await _exported(isp_a.client, arranged.tenant_id)
    url = await _url(isp_a.client, job["id"])
    file_id = uuid.UUID(job["resultRef"])
    with Session(engine) as session:
        stored = session.get(StoredFile, file_id)
        assert stored.purpose == "credentials.export"
        assert stored.created_by_id == id_of(isp_a.administrator_id, "Administrator")
        kept_for = stored.expires_at - stored.created_at
        assert dt.timedelta(minutes=59) < kept_for <= dt.timedelta(hours=1)
        session.execute(update(StoredFile).where(StoredFile.id == file_id)
                        .values(expires_at=utcnow() - dt.timedelta(seconds=1)))
        session.commit()
    assert (await isp_a.client.http.get(url)).status_code == 410
    assert _codes(await _link(isp_a.client, job["id"])) == [(["job"], "INVALID")]

    expire_files()
    with Session(engine) as session:
        assert session.get(StoredFile, file_id) is None
        assert session.get(Job, id_of(job["id"], "Job")) is not None
        assert session.get(Tenant, id_of(arranged.tenant_id, "Tenant")) is not None
    assert (await isp_a.client.http.get(url)).status_code == 404
    tasks = {task.name: task for task in PERIODIC_TASKS}
    assert tasks["files.expire"].interval_seconds == FILES_EXPIRY_SECONDS == 600
    assert tasks["files.expire"].run is expire_files


async def test_refusals_are_not_cached_either(isp_a: SignedUp):
    response = await isp_a.client.http.get(f"/downloads/{uuid.uuid4()}?token=x")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
