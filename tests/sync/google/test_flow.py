"""The Google Workspace directory-sync flow, over GraphQL and HTTP as administrators drive it.

A tenant of an ISP on a verified domain (its TXT record on a loopback DNS server), the
Google fake of ``tests/fakes/google.py`` holding that domain's users, the app in process
and the in-process worker running the jobs. The adapter talks to the fake with the real
client libraries; the browser's consent round trip goes through the fake's consent
screen and our callback. The adapter's waits (Retry-After, backoff) are recorded
instead of slept (``sleeps``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session
from starlette.applications import Starlette

from core.credentials import COLUMNS
from core.models import DirectoryLink, Job, Subscriber, metadata
from core.secrets import secret_box
from core.settings import Settings
from schema.core.ids import id_of
from sync.google.directory import GoogleDirectory
from tests.conftest import make_settings
from tests.dns_server import DnsServer
from tests.fakes.google import (
    FakeGoogle,
    backend_error,
    rate_limit_exceeded,
    too_many_requests,
)
from tests.graphql import Client, SignedUp, sign_up
from tests.sync.google.flow import (
    ERRORS,
    FQDN,
    RESEND_SECONDS,
    Flow,
    fail_users_list_after,
    job_global_id,
    mutate,
    verified_tenant,
)

HOOK = "/hooks/google/directory"


# Fixtures --------------------------------------------------------------------------------


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


@pytest.fixture
def fake() -> Iterator[FakeGoogle]:
    with FakeGoogle(domain=FQDN) as google:
        # The app's public base URL is http://testserver (in process): let the fake
        # open channels to it; nothing is delivered (deliver_notifications stays off).
        google.allow_http_webhooks = True
        yield google


@pytest.fixture
def settings(database_url: str, tmp_path: Path, dns: DnsServer, fake: FakeGoogle) -> Settings:
    """The suite's settings, with domain checks on the test's DNS server, the Google
    application (client id and secret, endpoints) pointed at the fake, and push on."""
    return make_settings(database_url, tmp_path, **dns.settings(), **fake.settings_values(),
                         google_push=True, job_resend_seconds=RESEND_SECONDS)


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits of every GoogleDirectory the worker builds, recorded instead of slept."""
    waits: list[float] = []
    monkeypatch.setitem(GoogleDirectory.__init__.__kwdefaults__, "sleep", waits.append)
    return waits


@pytest.fixture
async def owner(app: Starlette, engine: Engine) -> AsyncIterator[SignedUp]:
    signed = await sign_up(app, engine, label="gsync")
    yield signed
    await signed.client.close()


@pytest.fixture
async def flow(owner: SignedUp, dns: DnsServer, fake: FakeGoogle,
               worker: dramatiq.Broker) -> Flow:
    tenant = await verified_tenant(owner.client, dns, FQDN)
    return Flow(owner.client, tenant, fake)


# Helpers ---------------------------------------------------------------------------------


def stored_link(engine: Engine, flow: Flow) -> DirectoryLink:
    with Session(engine) as session:
        link = session.execute(select(DirectoryLink).where(
            DirectoryLink.tenant_id == id_of(flow.tenant_id, "Tenant"))).scalars().one()
        session.expunge(link)
        return link


def refresh_token_of(engine: Engine, settings: Settings, flow: Flow) -> str:
    encrypted = stored_link(engine, flow).credentials_encrypted
    assert encrypted
    credentials = json.loads(secret_box(settings.secret_key_bytes()).decrypt(encrypted))
    assert credentials["kind"] == "oauth"
    token: str = credentials["refresh_token"]
    return token


def database_holds(engine: Engine, text: str) -> list[str]:
    """The tables with a row that holds ``text`` in clear, in any column."""
    found = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                if any(text in str(value) for value in row):
                    found.append(table.name)
                    break
    return found


def digests(engine: Engine, tenant_id: str) -> dict[str, str]:
    with Session(engine) as session:
        return dict(session.execute(select(Subscriber.username, Subscriber.ha1).where(
            Subscriber.tenant_id == id_of(tenant_id, "Tenant"))).all())


def counters(**values: int) -> dict[str, int]:
    """A re-sync's counters: every one of them, zero unless given."""
    names = ("created", "updated", "disabled", "reenabled", "removed", "unchanged",
             "conflicts", "errors", "over_limit")
    return {name: values.get(name, 0) for name in names}


def synced_counters(job: dict[str, Any]) -> dict[str, int]:
    return {name: job["counters"].get(name, 0) for name in counters()}


# Consent ---------------------------------------------------------------------------------


async def test_consent_links_the_tenant_and_keeps_the_refresh_token_encrypted(
        flow: Flow, fake: FakeGoogle, engine: Engine, settings: Settings):
    consent_url = await flow.start()
    redirect = await flow.consent_redirect(consent_url)
    outcome = await flow.callback(redirect)

    assert outcome == {"directory": "linked", "tenant": flow.tenant_id}
    link = await flow.directory_link()
    assert link is not None
    assert (link["status"], link["provider"], link["lastErrorCode"]) == (
        "LINKED", "GOOGLE", None)
    # Our consent URL asked for offline access with PKCE and the domain as a hint, and the
    # callback redeemed the code with the verifier.
    authorize = fake.calls("auth")[0]
    assert authorize.param("access_type") == "offline"
    assert authorize.param("code_challenge_method") == "S256"
    assert authorize.param("hd") == FQDN
    assert authorize.param("redirect_uri") == "http://testserver/oauth/google/callback"
    redeemed = [request.form() for request in fake.calls("token")]
    assert [form["grant_type"] for form in redeemed] == ["authorization_code"]
    assert redeemed[0]["code_verifier"]
    # The refresh token is kept, encrypted: nowhere in the database in clear.
    refresh_token = refresh_token_of(engine, settings, flow)
    assert refresh_token.startswith("1//fake-")
    assert database_holds(engine, refresh_token) == []
    # The callback cannot be replayed.
    again = await flow.callback(redirect)
    assert again == {"directory": "error", "code": "INVALID_TOKEN"}


async def test_an_account_of_another_domain_does_not_link(flow: Flow, fake: FakeGoogle,
                                                          engine: Engine):
    fake.consent_as("admin@elsewhere.example", hd="elsewhere.example")

    outcome = await flow.callback(await flow.consent_redirect(await flow.start()))

    assert outcome == {"directory": "error", "code": "WRONG_DOMAIN", "tenant": flow.tenant_id}
    link = await flow.directory_link()
    assert link is not None
    assert link["status"] == "PENDING_CONSENT"
    assert link["lastErrorCode"] == "WRONG_DOMAIN"
    assert "elsewhere.example" in link["lastError"]
    assert stored_link(engine, flow).credentials_encrypted is None
    # Not linked: nothing can be discovered.
    refused = (await flow.client.execute(f"""mutation($tenant: ID!) {{
        directoryDiscover(input: {{tenant: $tenant}}) {{ job {{ id }} {ERRORS} }} }}""",
                                         {"tenant": flow.tenant_id}))["directoryDiscover"]
    assert refused["job"] is None
    assert [error["code"] for error in refused["errors"]] == ["INVALID"]


async def test_a_forged_state_is_refused(flow: Flow, fake: FakeGoogle, engine: Engine):
    redirect = await flow.consent_redirect(await flow.start())
    forged = redirect.replace("state=", "state=forged", 1)

    outcome = await flow.callback(forged)

    assert outcome == {"directory": "error", "code": "INVALID_TOKEN"}
    link = await flow.directory_link()
    assert link is not None
    assert link["status"] == "PENDING_CONSENT"
    assert stored_link(engine, flow).credentials_encrypted is None
    assert fake.calls("token") == []  # the code was never redeemed


async def test_the_callback_in_another_browser_is_refused(flow: Flow, fake: FakeGoogle,
                                                          app: Starlette, engine: Engine):
    redirect = await flow.consent_redirect(await flow.start())
    stranger = Client(app)  # other cookies: not the session that started the consent
    try:
        outcome = await flow.callback(redirect, client=stranger)
    finally:
        await stranger.close()

    assert outcome == {"directory": "error", "code": "INVALID_TOKEN"}
    link = await flow.directory_link()
    assert link is not None
    assert link["status"] == "PENDING_CONSENT"
    assert stored_link(engine, flow).credentials_encrypted is None
    assert fake.calls("token") == []


# Discover, preview, edit, confirm ------------------------------------------------------------


DEFAULTS = {"countryCode": "1", "areaCode": "415", "concurrentCalls": 3, "ringTimeout": 30,
            "voicemailToEmail": True}


async def test_discover_preview_edit_and_import_end_with_the_credentials_sheet(
        flow: Flow, fake: FakeGoogle, engine: Engine):
    people = fake.add_users(1200, prefix="staff")
    await flow.link()

    discovered = await flow.discover(defaults=DEFAULTS, sequentialStart=2000)

    # Three pages of Google's 500 users at most, each asked with the previous page's token.
    listing = fake.calls("users.list")
    assert [request.param("maxResults") for request in listing] == ["500"] * 3
    assert listing[0].param("pageToken") is None
    assert all(request.param("pageToken") for request in listing[1:])
    assert discovered["counters"]["proposed"] == 1200
    link = await flow.directory_link()
    assert link is not None
    assert link["sequentialStart"] == 2000
    assert link["defaults"] == DEFAULTS

    rows = await flow.preview(page_size=100)  # twelve pages of the connection

    assert len(rows) == 1200
    assert [row["externalId"] for row in rows] == [user.id for user in people]
    assert [row["username"] for row in rows] == [f"staff{n:04d}" for n in range(1, 1201)]
    assert [row["alias"] for row in rows] == [str(2000 + n) for n in range(1200)]
    assert rows[0]["email"] == f"staff0001@{FQDN}"
    assert rows[0]["displayName"] == "Staff 0001"
    assert not any(row["excluded"] or row["conflicts"] for row in rows)

    # A bad edit: every mistake is reported with its field, and nothing is saved.
    bad = (await flow.client.execute(f"""mutation($input: DirectoryPreviewUpdateInput!) {{
        directoryPreviewUpdate(input: $input) {{ rows {{ id }} {ERRORS} }} }}""", {"input": {
        "tenant": flow.tenant_id, "rows": [
            {"id": rows[3]["id"], "username": "Not A Name!", "alias": "5"},
            {"id": rows[4]["id"], "username": "staff0006"},  # row 5's
            {"id": rows[6]["id"], "alias": "2007"},  # row 7's
            {"id": rows[8]["id"], "displayName": "Would Be Saved Alone"}]}}))[
        "directoryPreviewUpdate"]
    assert bad["rows"] == []
    assert sorted((error["field"], error["code"]) for error in bad["errors"]) == [
        (["rows", "0", "alias"], "INVALID"),
        (["rows", "0", "username"], "INVALID"),
        (["rows", "1", "username"], "ALREADY_EXISTS"),
        (["rows", "2", "alias"], "ALREADY_EXISTS"),
    ]
    assert await flow.preview() == rows

    # Edit a username and an extension, exclude a row.
    edited = await mutate(flow.client, f"""mutation($input: DirectoryPreviewUpdateInput!) {{
        directoryPreviewUpdate(input: $input) {{ rows {{ id username alias excluded }} {ERRORS}
        }} }}""", {"input": {"tenant": flow.tenant_id, "rows": [
        {"id": rows[1]["id"], "username": "front.desk", "alias": "7777"},
        {"id": rows[2]["id"], "excluded": True}]}})
    assert edited["rows"] == [
        {"id": rows[1]["id"], "username": "front.desk", "alias": "7777", "excluded": False},
        {"id": rows[2]["id"], "username": "staff0003", "alias": "2002", "excluded": True}]

    imported = await flow.import_all()

    assert imported["counters"]["created"] == 1199
    assert imported["resultRef"]
    sheet_job = await flow.wait(job_global_id(imported["resultRef"]))
    assert (sheet_job["kind"], sheet_job["status"]) == ("credentials.export", "SUCCEEDED")
    link = await flow.directory_link()
    assert link is not None
    assert link["status"] == "ACTIVE"

    sheet = await flow.sheet(sheet_job["id"])

    assert sheet[0] == COLUMNS
    by_username = {row[0]: row for row in sheet[1:]}
    assert len(sheet) - 1 == len(by_username) == 1199
    expected = {row["username"]: row["alias"] for row in rows}
    del expected["staff0002"], expected["staff0003"]
    expected["front.desk"] = "7777"
    assert {name: row[1] for name, row in by_username.items()} == expected
    assert {row[2] for row in sheet[1:]} == {FQDN}
    assert by_username["front.desk"][6] == f"staff0002@{FQDN}"
    assert by_username["staff0001"][5] == "Staff 0001"
    # Each password in the sheet is the one the proxies' digest was made from.
    stored = digests(engine, flow.tenant_id)
    assert set(stored) == set(by_username)
    for username, row in by_username.items():
        realm, password = row[2], row[3]
        assert stored[username] == hashlib.md5(
            f"{username}:{realm}:{password}".encode()).hexdigest(), username

    subscribers = await flow.by_email()
    first = subscribers[f"staff0001@{FQDN}"]
    assert (first["source"], first["externalId"], first["status"]) == (
        "GOOGLE", people[0].id, "ACTIVE")
    assert {name: first[name] for name in DEFAULTS} == DEFAULTS
    assert f"staff0003@{FQDN}" not in subscribers


async def test_the_import_jobs_result_ref_is_the_sheet_jobs_id(flow: Flow, fake: FakeGoogle):
    """resultRef names the sheet's job as the API names jobs: ``job(id:)`` finds it."""
    fake.add_users(2)
    await flow.link()
    await flow.discover()

    imported = await flow.import_all()

    sheet_job = await flow.job(imported["resultRef"])
    assert sheet_job is not None, f"job(id: {imported['resultRef']!r}) is null"
    assert sheet_job["kind"] == "credentials.export"


# Re-sync ---------------------------------------------------------------------------------


async def test_a_resync_follows_adds_changes_suspensions_and_deletions(
        flow: Flow, fake: FakeGoogle, engine: Engine):
    staff = fake.add_users(20, prefix="staff")
    before = {row["externalId"]: row for row in
              await flow.linked_and_imported(sequentialStart=2000)}
    assert sorted(row["alias"] for row in before.values()) == [str(n) for n in range(2000, 2020)]
    # Created by hand, on the next extension the directory would have given.
    manual = (await mutate(flow.client, f"""mutation($input: SubscriberCreateInput!) {{
        subscriberCreate(input: $input) {{ subscriber {{ id updatedAt }} {ERRORS} }} }}""",
                           {"input": {"tenant": flow.tenant_id, "username": "reception",
                                      "email": f"reception@{FQDN}", "alias": "2020"}})
              )["subscriber"]

    newcomers = [fake.add_user(f"new{n}@{FQDN}", given_name="New", family_name=str(n))
                 for n in (1, 2)]
    fake.update_user(staff[2].id, family_name="Renamed")
    fake.suspend_user(staff[3].id)
    fake.delete_user(staff[4].id)  # 2 of 20 disabled or removed: at the 10 % brake

    synced = await flow.sync_now()

    assert synced["status"] == "SUCCEEDED", synced
    after = await flow.subscribers()
    by_id = {row["externalId"]: row for row in after if row["externalId"]}
    # Extensions never move; newcomers get the next free ones, past the manual 2020.
    assert {key: row["alias"] for key, row in by_id.items() if key in before} == {
        key: row["alias"] for key, row in before.items()}
    assert [by_id[user.id]["alias"] for user in newcomers] == ["2021", "2022"]
    assert [by_id[user.id]["username"] for user in newcomers] == ["new1", "new2"]
    assert by_id[staff[2].id]["displayName"] == "Staff Renamed"
    assert by_id[staff[3].id]["status"] == "DISABLED"
    assert by_id[staff[4].id]["status"] == "DISABLED"
    assert all(row["status"] == "ACTIVE" for key, row in by_id.items()
               if key not in (staff[3].id, staff[4].id))
    by_hand = next(row for row in after if row["username"] == "reception")
    assert (by_hand["source"], by_hand["status"], by_hand["alias"], by_hand["externalId"],
            by_hand["updatedAt"]) == ("MANUAL", "ACTIVE", "2020", None, manual["updatedAt"])

    # The suspended user comes back; nothing else changed.
    fake.suspend_user(staff[3].id, suspended=False)
    again = await flow.sync_now()

    assert again["status"] == "SUCCEEDED", again
    assert synced_counters(again) == counters(reenabled=1, unchanged=20)
    assert (await flow.by_email())[f"staff0004@{FQDN}"]["status"] == "ACTIVE"

    # Once the grace period is over, the deleted user's subscriber goes.
    await mutate(flow.client, f"""mutation($tenant: ID!) {{ directoryLinkSchedule(input: {{
        tenant: $tenant, removalGraceDays: 0}}) {{ directoryLink {{ removalGraceDays }} {ERRORS}
        }} }}""", {"tenant": flow.tenant_id})
    from workers.directory_sync import remove_deleted_users

    remove_deleted_users()
    remaining = await flow.by_email()
    assert f"staff0005@{FQDN}" not in remaining
    assert len(remaining) == 22  # 19 staff, 2 newcomers, reception
    # Each user counted once, in the one bucket that says what happened to it (checked
    # last, so that a miscount does not hide the rest): 21 listed + 1 gone.
    assert synced_counters(synced) == counters(created=2, updated=1, disabled=1, removed=1,
                                               unchanged=17)


async def test_the_brake_holds_mass_disables_until_an_administrator_confirms(
        flow: Flow, fake: FakeGoogle):
    staff = fake.add_users(20, prefix="staff")
    await flow.linked_and_imported()
    for user in staff[:3]:  # 15 % of the synced subscribers, over the 10 % brake
        fake.suspend_user(user.id)

    braked = await flow.sync_now()

    assert braked["status"] == "NEEDS_CONFIRMATION", braked
    subscribers = await flow.by_email()
    link = await flow.directory_link()
    assert link is not None
    assert link["brakePercent"] == 10
    assert [(held["action"], held["username"], held["email"], held["subscriber"])
            for held in link["heldChanges"]] == [
        ("DISABLE", f"staff{n:04d}", f"staff{n:04d}@{FQDN}",
         subscribers[f"staff{n:04d}@{FQDN}"]["id"]) for n in (1, 2, 3)]
    assert all(row["status"] == "ACTIVE" for row in subscribers.values())
    # While the decision waits, no other sync starts.
    waiting = (await flow.client.execute(f"""mutation($tenant: ID!) {{
        directorySyncNow(input: {{tenant: $tenant}}) {{ job {{ id }} {ERRORS} }} }}""",
                                         {"tenant": flow.tenant_id}))["directorySyncNow"]
    assert waiting["job"] is None
    assert waiting["errors"]

    decided = await flow.job_mutation("directorySyncDecide", "DirectorySyncDecideInput",
                                      confirm=True)

    assert decided["id"] == braked["id"]
    assert decided["status"] == "SUCCEEDED"
    assert decided["counters"]["disabled"] == 3
    statuses = {email: row["status"] for email, row in (await flow.by_email()).items()}
    assert [email for email, status in statuses.items() if status == "DISABLED"] == [
        f"staff{n:04d}@{FQDN}" for n in (1, 2, 3)]
    link = await flow.directory_link()
    assert link is not None
    assert link["heldChanges"] == []
    # Nothing was lost or is done twice: the next round finds everything in line.
    quiet = await flow.sync_now()
    assert quiet["status"] == "SUCCEEDED", quiet
    assert synced_counters(quiet) == counters(unchanged=20)


# Errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("answer", "status", "waits"), [
    pytest.param(too_many_requests(retry_after="7"), 429, [(7.0, 7.0), (7.0, 7.0)],
                 id="429-retry-after"),
    pytest.param(rate_limit_exceeded("userRateLimitExceeded"), 403, [(1.0, 2.0), (2.0, 3.0)],
                 id="403-rate-limit"),
    pytest.param(backend_error(500), 500, [(1.0, 2.0), (2.0, 3.0)], id="500"),
])
async def test_throttling_and_server_errors_are_retried_and_the_run_succeeds(
        flow: Flow, fake: FakeGoogle, sleeps: list[float], answer: Any, status: int,
        waits: list[tuple[float, float]]):
    fake.add_users(600, prefix="staff")
    await flow.link()
    # The second page fails twice, then is served.
    fail_users_list_after(fake, 1, answer, times=2)

    discovered = await flow.discover()

    assert discovered["attempts"] == 1  # retried by the adapter, not by the job
    assert discovered["counters"]["proposed"] == 600
    assert [request.status for request in fake.calls("users.list")] == [200, status, status, 200]
    # Retry-After is waited as asked; otherwise exponential backoff with jitter.
    assert len(sleeps) == len(waits)
    for slept, (low, high) in zip(sleeps, waits, strict=True):
        assert low <= slept <= high, sleeps
    assert len(await flow.preview()) == 600


async def test_a_revoked_refresh_token_fails_the_sync_with_consent_revoked(
        flow: Flow, fake: FakeGoogle, engine: Engine, settings: Settings):
    fake.add_users(3)
    await flow.linked_and_imported()
    fake.revoke(refresh_token_of(engine, settings, flow))

    failed = await flow.sync_now()

    assert (failed["status"], failed["errorCode"], failed["attempts"]) == (
        "FAILED", "CONSENT_REVOKED", 1)
    link = await flow.directory_link()
    assert link is not None
    assert (link["status"], link["lastErrorCode"]) == ("CONSENT_REVOKED", "CONSENT_REVOKED")
    # Nothing was deprovisioned because the grant went.
    assert {row["status"] for row in await flow.subscribers()} == {"ACTIVE"}


# A run interrupted in the middle ---------------------------------------------------------------


async def test_a_sync_interrupted_after_page_two_resumes_without_duplicates(
        flow: Flow, fake: FakeGoogle, engine: Engine, sleeps: list[float]):
    first = fake.add_users(5, prefix="first")
    await flow.linked_and_imported(sequentialStart=1000)
    later = fake.add_users(1200, prefix="later")  # 1,205 users: pages of 500, 500, 205
    # After page 2, Google fails longer than the adapter retries (503, Retry-After 2 s):
    # the attempt gives up and the job goes back to the queue, its checkpoint saved.
    served = fail_users_list_after(fake, 2, backend_error(503, retry_after="2"), times=6)

    job = await flow.job_mutation("directorySyncNow", "DirectoryTenantInput")
    interrupted = await flow.wait(job["id"], until=lambda job: job["attempts"] > 1 or (
        job["attempts"] == 1 and job["status"] in {"QUEUED", "SUCCEEDED", "FAILED"}))

    assert interrupted["status"] == "QUEUED", interrupted
    assert [error["code"] for error in interrupted["errors"]] == ["DIRECTORY_UNAVAILABLE"]
    assert sleeps == [2.0] * 5
    with Session(engine) as session:
        row = session.get(Job, id_of(job["id"], "Job"))
        assert row is not None
        checkpoint = row.payload.get("resume")
        partly = session.execute(select(func.count()).select_from(Subscriber).where(
            Subscriber.tenant_id == id_of(flow.tenant_id, "Tenant"))).scalar_one()
    failing = fake.calls("users.list")[-1]
    assert checkpoint
    assert checkpoint == failing.param("pageToken")
    assert partly == 1000  # the two committed pages: 5 imported before, 995 new

    finished = await flow.wait(job["id"])

    assert (finished["status"], finished["attempts"]) == ("SUCCEEDED", 2), finished
    # The retry resumed at the checkpoint, then listed the whole directory again to tell
    # who is gone (a resumed round still disables and removes what a clean one would).
    assert len(served) == 6
    assert served[2].param("pageToken") == checkpoint
    assert served[3].param("pageToken") is None
    with Session(engine) as session:
        rows = session.execute(select(Subscriber.external_id, Subscriber.username,
                                      Subscriber.alias).where(
            Subscriber.tenant_id == id_of(flow.tenant_id, "Tenant"))).all()
    ids = [row.external_id for row in rows]
    assert len(ids) == len(set(ids)) == 1205
    assert set(ids) == {user.id for user in first + later}
    assert len({row.username for row in rows}) == len({row.alias for row in rows}) == 1205
    assert sorted(int(row.alias) for row in rows) == list(range(1000, 2205))
    # What the job reports is the whole run, not only its last attempt.
    assert finished["counters"]["created"] == 1200, finished["counters"]


# Push notifications ----------------------------------------------------------------------------


async def test_a_push_notification_with_the_channel_token_queues_a_sync(
        flow: Flow, fake: FakeGoogle, owner: SignedUp):
    staff = fake.add_users(3)
    await flow.linked_and_imported()
    from workers.directory_sync import renew_channels

    renew_channels()  # the worker's periodic task opens the channels

    watched = fake.calls("users.watch")
    assert sorted(request.param("event") for request in watched) == [
        "add", "delete", "undelete", "update"]
    assert {request.json()["address"] for request in watched} == {f"http://testserver{HOOK}"}
    fake.update_user(staff[0].id, family_name="Pushed")
    notification = next(item for item in fake.notifications
                        if item.headers["X-Goog-Resource-State"] == "update")
    opened = next(item for item in fake.notifications
                  if item.headers["X-Goog-Resource-State"] == "sync")
    hook = owner.client.http  # Google sends no cookie; a client is only the transport

    wrong = await hook.post(HOOK, headers=notification.headers | {
        "X-Goog-Channel-Token": "not-the-token"}, content=notification.body)
    unknown = await hook.post(HOOK, headers=notification.headers | {
        "X-Goog-Channel-ID": str(uuid.uuid4())}, content=notification.body)
    hello = await hook.post(HOOK, headers=opened.headers)

    assert (wrong.status_code, unknown.status_code, hello.status_code) == (404, 404, 200)
    assert await flow.jobs("directory.sync") == []

    right = await hook.post(HOOK, headers=notification.headers, content=notification.body)

    assert right.status_code == 200
    queued = await flow.jobs("directory.sync")
    assert len(queued) == 1
    synced = await flow.wait(queued[0]["id"])
    assert synced["status"] == "SUCCEEDED", synced
    assert synced_counters(synced) == counters(updated=1, unchanged=2)
    assert (await flow.by_email())[staff[0].primary_email]["displayName"] == "User Pushed"


# Scoping ---------------------------------------------------------------------------------------


async def test_another_isps_administrator_sees_no_link_and_cannot_drive_it(
        flow: Flow, fake: FakeGoogle, app: Starlette, engine: Engine):
    fake.add_users(2)
    await flow.link()
    other = await sign_up(app, engine, label="otherisp")
    try:
        seen = (await other.client.execute("""query($tenant: ID!) {
            directoryLink(tenant: $tenant) { id } }""", {"tenant": flow.tenant_id}))
        discover = (await other.client.execute(f"""mutation($tenant: ID!) {{
            directoryDiscover(input: {{tenant: $tenant}}) {{ job {{ id }} {ERRORS} }} }}""",
                                               {"tenant": flow.tenant_id}))["directoryDiscover"]
        started = (await other.client.execute(f"""mutation($tenant: ID!) {{
            directoryLinkStart(input: {{tenant: $tenant, provider: GOOGLE}}) {{ consentUrl
            {ERRORS} }} }}""", {"tenant": flow.tenant_id}))["directoryLinkStart"]
    finally:
        await other.client.close()

    assert seen == {"directoryLink": None}
    assert discover["job"] is None
    assert [error["code"] for error in discover["errors"]] == ["NOT_FOUND"]
    assert started["consentUrl"] is None
    assert [error["code"] for error in started["errors"]] == ["NOT_FOUND"]
    assert await flow.directory_link() is not None  # its own administrator still sees it


# Subscribers created by hand, and the customer's maximum ---------------------------------------

PREVIEW_UPDATE = f"""mutation($input: DirectoryPreviewUpdateInput!) {{
    directoryPreviewUpdate(input: $input) {{
      rows {{ id linkSubscriber handMadeMatch importSeparately needsDecision }} {ERRORS} }} }}"""
IMPORT_CONFIRM = f"""mutation($tenant: ID!) {{ directoryImportConfirm(input: {{tenant: $tenant}}) {{
    job {{ id }} {ERRORS} }} }}"""


async def create_by_hand(flow: Flow, username: str, email: str) -> dict[str, Any]:
    subscriber: dict[str, Any] = (await mutate(flow.client, f"""
        mutation($input: SubscriberCreateInput!) {{ subscriberCreate(input: $input) {{
          subscriber {{ id updatedAt }} {ERRORS} }} }}""", {"input": {
        "tenant": flow.tenant_id, "username": username, "email": email}}))["subscriber"]
    return subscriber


async def test_a_subscriber_created_by_hand_is_never_taken_over_without_a_choice(
        flow: Flow, fake: FakeGoogle):
    fake.add_users(12, prefix="staff")  # one disable of 13 is within the brake
    carol = fake.add_user(f"carol@{FQDN}", given_name="Carol", family_name="Directory")
    by_hand = await create_by_hand(flow, "carol.hand", f"Carol@{FQDN}")
    await flow.link()
    await flow.discover()
    rows = {row["email"]: row for row in await flow.preview()}
    ids = {row["email"]: row["id"] for row in rows.values()}
    decisions = (await mutate(flow.client, PREVIEW_UPDATE, {"input": {
        "tenant": flow.tenant_id, "rows": [{"id": ids[f"carol@{FQDN}"]}]}}))["rows"]

    # The match is shown, not chosen: the row waits for a decision.
    assert decisions == [{"id": ids[f"carol@{FQDN}"], "linkSubscriber": None,
                          "handMadeMatch": by_hand["id"], "importSeparately": False,
                          "needsDecision": True}]
    assert rows[f"carol@{FQDN}"]["conflicts"]

    refused = (await flow.client.execute(IMPORT_CONFIRM, {"tenant": flow.tenant_id}))[
        "directoryImportConfirm"]

    assert refused["job"] is None
    assert [(error["field"], error["code"]) for error in refused["errors"]] == [
        (["tenant"], "NEEDS_DECISION")]
    assert f"carol@{FQDN}" in refused["errors"][0]["message"]
    assert await flow.jobs("directory.import") == []
    assert [row["username"] for row in await flow.subscribers()] == ["carol.hand"]

    # Linking and importing separately at once is no choice.
    both = (await flow.client.execute(PREVIEW_UPDATE, {"input": {
        "tenant": flow.tenant_id, "rows": [{"id": ids[f"carol@{FQDN}"], "importSeparately": True,
                                            "linkSubscriber": by_hand["id"]}]}}))[
        "directoryPreviewUpdate"]
    assert [(error["field"], error["code"]) for error in both["errors"]] == [
        (["rows", "0", "importSeparately"], "INVALID")]

    # The administrator chooses to import Carol beside the subscriber made by hand.
    chosen = (await mutate(flow.client, PREVIEW_UPDATE, {"input": {
        "tenant": flow.tenant_id, "rows": [{"id": ids[f"carol@{FQDN}"],
                                            "importSeparately": True}]}}))["rows"]
    assert chosen[0]["needsDecision"] is False
    imported = await flow.import_all()

    assert imported["counters"]["created"] == 13
    after = {row["username"]: row for row in await flow.subscribers()}
    assert (after["carol.hand"]["source"], after["carol.hand"]["externalId"]) == ("MANUAL", None)
    assert (after["carol"]["source"], after["carol"]["externalId"]) == ("GOOGLE", carol.id)

    # Later rounds follow the directory user, never the subscriber made by hand.
    fake.suspend_user(carol.id)
    synced = await flow.sync_now()
    assert synced["status"] == "SUCCEEDED", synced
    after = {row["username"]: row for row in await flow.subscribers()}
    assert after["carol"]["status"] == "DISABLED"
    assert (after["carol.hand"]["status"], after["carol.hand"]["updatedAt"]) == (
        "ACTIVE", by_hand["updatedAt"])


async def test_the_customers_maximum_holds_for_the_import_and_every_resync(
        owner: SignedUp, dns: DnsServer, fake: FakeGoogle, worker: dramatiq.Broker):
    tenant = await verified_tenant(owner.client, dns, FQDN, max_subscribers=3)
    flow = Flow(owner.client, tenant, fake)
    staff = fake.add_users(5, prefix="staff")
    await create_by_hand(flow, "reception", f"reception@{FQDN}")
    await flow.link()

    discovered = await flow.discover()

    # Three places, one taken by hand: two of the five users fit.
    assert (discovered["counters"]["proposed"], discovered["counters"]["fit"]) == (5, 2)
    allowed = """query($tenant: ID!) { directoryLink(tenant: $tenant) {
        subscribersAllowed lastErrorCode lastError } }"""
    link = (await owner.client.execute(allowed, {"tenant": flow.tenant_id}))["directoryLink"]
    assert link["subscribersAllowed"] == 2

    refused = (await owner.client.execute(IMPORT_CONFIRM, {"tenant": flow.tenant_id}))[
        "directoryImportConfirm"]

    assert refused["job"] is None
    assert [(error["field"], error["code"]) for error in refused["errors"]] == [
        (["tenant"], "LIMIT_REACHED")]
    assert "at most 3" in refused["errors"][0]["message"]
    assert await flow.jobs("directory.import") == []
    assert len(await flow.subscribers()) == 1

    rows = await flow.preview()
    await mutate(owner.client, PREVIEW_UPDATE, {"input": {"tenant": flow.tenant_id, "rows": [
        {"id": row["id"], "excluded": True} for row in rows[2:]]}})
    imported = await flow.import_all()

    assert imported["counters"]["created"] == 2
    assert len(await flow.subscribers()) == 3

    # A newcomer does not fit; a rename still goes through and the link says why.
    newcomer = fake.add_user(f"newcomer@{FQDN}", given_name="New", family_name="Comer")
    fake.update_user(staff[0].id, family_name="Renamed")
    synced = await flow.sync_now()

    assert synced["status"] == "SUCCEEDED", synced
    assert synced_counters(synced) == counters(updated=1, unchanged=1, over_limit=1)
    link = (await owner.client.execute(allowed, {"tenant": flow.tenant_id}))["directoryLink"]
    assert link["lastErrorCode"] == "LIMIT_REACHED"
    assert f"newcomer@{FQDN}" in link["lastError"]
    after = await flow.by_email()
    assert len(after) == 3
    assert after[f"staff0001@{FQDN}"]["displayName"] == "Staff Renamed"

    # Room again: the next round creates the newcomer and clears the error.
    customer = (await owner.client.execute("""query($id: ID!) { node(id: $id) {
        ... on Tenant { customerId } } }""", {"id": flow.tenant_id}))["node"]["customerId"]
    await mutate(owner.client, f"""mutation($input: CustomerUpdateInput!) {{
        customerUpdate(input: $input) {{ customer {{ id }} {ERRORS} }} }}""", {"input": {
        "id": customer, "maxSubscribers": 4}})
    again = await flow.sync_now()

    assert synced_counters(again) == counters(created=1, unchanged=2)
    link = (await owner.client.execute(allowed, {"tenant": flow.tenant_id}))["directoryLink"]
    assert (link["lastErrorCode"], link["subscribersAllowed"]) == (None, 0)
    assert (await flow.by_email())[f"newcomer@{FQDN}"]["externalId"] == newcomer.id
