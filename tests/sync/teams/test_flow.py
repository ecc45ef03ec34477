"""Microsoft Entra sync through the product: GraphQL over HTTP, our consent callback, the
in-process worker, and the real adapter (msal + httpx) against the fake Entra and Graph.

The app and the worker build their own HTTP clients, so the fake runs in HTTPS mode with
a CA of its own, and the settings point the platform at it the way national clouds and
proxies are configured: ``microsoft_authority_host``, ``microsoft_graph_url`` (both
``https://127.0.0.1:<port>``) and ``microsoft_ca_bundle``. Nothing is injected.

The tenant is on a domain verified through a DNS server on loopback; the Entra tenant
holds that domain as a verified domain (except where a test says otherwise). Pages of
users delta are three users long, so a handful of users spans several.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import certifi
import dramatiq
import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, select
from starlette.applications import Starlette

from core.database import session_scope
from core.models import DirectoryLink, Job, JobStatus, utcnow
from core.settings import Settings
from schema.core.ids import id_of, to_global_id
from sync.engine import COUNTERS
from tests.conftest import make_settings
from tests.dns_server import DnsServer
from tests.fakes.microsoft import FakeMicrosoft, FakeTenant
from tests.graphql import Client, SignedUp, sign_up
from tests.sync.teams.conftest import CLIENT_ID, CLIENT_SECRET
from tests.sync.teams.flow import (
    CALLBACK,
    DOMAIN,
    by_external_id,
    callback,
    consent,
    delta_requests,
    directory_link,
    discover,
    finished,
    given_back,
    import_confirm,
    job_row,
    link_row,
    link_start,
    make_tenant,
    ok,
    preview,
    query_of,
    schedule,
    start,
    sync_now,
    verified_domain,
    visit_consent_page,
)
from workers.directory_sync import queue_due_syncs
from workers.jobs import dispatch

PAGE_SIZE = 3
OTHER_DOMAIN = "fabrikam-flow.example"


def counters(**values: int) -> dict[str, int]:
    return dict.fromkeys(COUNTERS, 0) | values


# Fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


@pytest.fixture
def entra(tmp_path: Path) -> Iterator[FakeMicrosoft]:
    with FakeMicrosoft(https=True, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                       page_size=PAGE_SIZE, ca_dir=tmp_path / "entra",
                       redirect_uris=[CALLBACK]) as fake:
        yield fake


@pytest.fixture
def settings(database_url: str, tmp_path: Path, dns: DnsServer, entra: FakeMicrosoft) -> Settings:
    """The suite's settings, on the test's DNS server, with the platform's Entra
    application and the fake as its login authority and Graph."""
    return make_settings(database_url, tmp_path, **dns.settings(), **entra.settings())


@pytest.fixture
async def owner(app: Starlette, engine: Engine) -> AsyncIterator[SignedUp]:
    signed = await sign_up(app, engine, label="contoso")
    yield signed
    await signed.client.close()


@pytest.fixture
async def tenant(owner: SignedUp, dns: DnsServer) -> str:
    """A tenant on a verified domain; its global id."""
    await verified_domain(owner, dns)
    return await make_tenant(owner)


@pytest.fixture
def directory(entra: FakeMicrosoft) -> FakeTenant:
    """The customer's Entra tenant: it holds the tenant's domain, verified, and has not
    consented yet."""
    return entra.add_tenant(domains=[DOMAIN, OTHER_DOMAIN], consented=False)


def people(directory: FakeTenant, count: int, start: int = 0) -> list[str]:
    return [directory.add_user(f"person{n}@{DOMAIN}", givenName=f"Given{n}",
                               surname=f"Family{n}", displayName=f"Person {n}",
                               businessPhones=[f"+1 209 555 {1000 + n}"])
            for n in range(start, start + count)]


async def imported(owner: SignedUp, entra: FakeMicrosoft, tenant: str, directory: FakeTenant,
                   count: int, *, brake_percent: int = 100) -> list[str]:
    """``count`` users, linked, discovered and imported; their Entra ids."""
    users = people(directory, count)
    assert (await consent(owner, entra, tenant, directory))["directory"] == "linked"
    assert (await discover(owner.client, tenant, sequentialStart=2000))["status"] == "SUCCEEDED"
    assert (await import_confirm(owner.client, tenant))["status"] == "SUCCEEDED"
    assert (await schedule(owner.client, tenant, brakePercent=brake_percent))["errors"] == []
    return users


def full_round_due(engine: Engine, tenant: str) -> None:
    """Drop the link's deltaLink, as Graph's expiry of it does: the next round lists
    everyone (the first round after an import is a round of changes from discovery's)."""
    with session_scope(engine) as session:
        session.execute(update(DirectoryLink).where(
            DirectoryLink.tenant_id == id_of(tenant, "Tenant")).values(sync_state=None))


async def delta_linked(owner: SignedUp, tenant: str, engine: Engine) -> str:
    """Run the first re-sync after the import so the link holds a deltaLink; returns it."""
    assert (await sync_now(owner.client, tenant))["status"] == "SUCCEEDED"
    state = link_row(engine, tenant).sync_state
    assert state is not None
    return state


# Consent --------------------------------------------------------------------------------------


async def test_consent_links_the_entra_tenant_that_holds_the_domain(
        owner: SignedUp, app: Starlette, tenant: str, entra: FakeMicrosoft,
        directory: FakeTenant) -> None:
    started = await link_start(owner.client, tenant)

    assert started["directoryLink"]["status"] == "PENDING_CONSENT"
    url = urlsplit(started["consentUrl"])
    # The configured authority (here the fake, as a national cloud or a proxy would be).
    assert f"{url.scheme}://{url.netloc}" == entra.login_url
    assert url.path == "/organizations/v2.0/adminconsent"
    asked = query_of(started["consentUrl"])
    assert asked["client_id"] == CLIENT_ID
    assert asked["redirect_uri"] == CALLBACK
    assert asked["scope"] == entra.graph_scope
    assert len(asked["state"]) >= 32

    entra.consent_as(directory)
    back = await visit_consent_page(entra, started["consentUrl"])
    assert back.startswith(CALLBACK + "?")
    assert query_of(back) == {"admin_consent": "True", "tenant": directory.id,
                              "state": asked["state"], "scope": entra.graph_scope}

    # The same state from another browser session (the same administrator, logged in
    # elsewhere) links nothing, and does not use the state up.
    elsewhere = Client(app)
    try:
        await elsewhere.login(owner.email)
        refused = await callback(elsewhere, back)
    finally:
        await elsewhere.close()
    assert refused["directory"] == "error"
    assert refused["code"] == "INVALID_TOKEN"
    assert (await directory_link(owner.client, tenant))["status"] == "PENDING_CONSENT"

    entra.clear_log()
    outcome = await callback(owner.client, back)

    assert outcome == {"directory": "linked", "tenant": tenant}
    link = await directory_link(owner.client, tenant)
    assert link["status"] == "LINKED"
    assert link["provider"] == "MICROSOFT"
    assert link["externalTenantId"] == directory.id
    assert link["lastErrorCode"] is None
    # The domain proof: an app-only token issued by that Entra tenant, then its domains.
    assert [r.path for r in entra.token_requests()] == [f"/{directory.id}/oauth2/v2.0/token"]
    assert [r.path for r in entra.graph_requests()] == ["/v1.0/domains"]
    # A callback cannot be replayed.
    again = await callback(owner.client, back)
    assert again["code"] == "INVALID_TOKEN"


async def test_a_forged_state_links_nothing(owner: SignedUp, tenant: str, entra: FakeMicrosoft,
                                            directory: FakeTenant) -> None:
    await link_start(owner.client, tenant)
    directory.grant_consent()  # even a tenant that did consent
    entra.clear_log()

    outcome = await callback(owner.client, f"{CALLBACK}?admin_consent=True&tenant={directory.id}"
                                           "&state=forged-state-of-someone-else")

    assert outcome["directory"] == "error"
    assert outcome["code"] == "INVALID_TOKEN"
    link = await directory_link(owner.client, tenant)
    assert link["status"] == "PENDING_CONSENT"
    assert link["externalTenantId"] is None
    assert entra.requests == []  # Entra was not even asked


@pytest.mark.parametrize("holding", ["unverified", "absent"])
async def test_an_entra_tenant_without_the_domain_verified_is_refused(
        owner: SignedUp, tenant: str, entra: FakeMicrosoft, holding: str) -> None:
    # Someone consents for a directory that does not own the tenant's domain.
    other = entra.add_tenant(domains=[OTHER_DOMAIN],
                             unverified=[DOMAIN] if holding == "unverified" else [],
                             consented=False)

    outcome = await consent(owner, entra, tenant, other)

    assert outcome["directory"] == "error"
    assert outcome["code"] == "WRONG_DOMAIN"
    assert outcome["tenant"] == tenant
    link = await directory_link(owner.client, tenant)
    assert link["status"] == "PENDING_CONSENT"
    assert link["externalTenantId"] is None
    assert link["lastErrorCode"] == "WRONG_DOMAIN"
    assert DOMAIN in link["lastError"]
    # Nothing to discover with.
    refused = await owner.client.execute("""mutation($tenant: ID!) {
        directoryDiscover(input: {tenant: $tenant}) { job { id } errors { code } } }""",
                                         {"tenant": tenant})
    assert refused["directoryDiscover"]["job"] is None
    assert [e["code"] for e in refused["directoryDiscover"]["errors"]] == ["INVALID"]


async def test_consent_denied_links_nothing(owner: SignedUp, tenant: str, entra: FakeMicrosoft,
                                            directory: FakeTenant) -> None:
    started = await link_start(owner.client, tenant)
    entra.refuse_next_consent("access_denied", "AADSTS65004: User declined to consent to "
                              "access the app.")
    back = await visit_consent_page(entra, started["consentUrl"])
    assert query_of(back)["error"] == "access_denied"

    outcome = await callback(owner.client, back)

    assert outcome["directory"] == "error"
    assert outcome["code"] == "CONSENT_DENIED"
    link = await directory_link(owner.client, tenant)
    assert link["status"] == "PENDING_CONSENT"
    assert link["externalTenantId"] is None
    assert link["lastErrorCode"] == "CONSENT_DENIED"
    assert "access_denied" in link["lastError"]
    assert not directory.service_principal


async def test_the_ca_bundle_setting_wins_over_requests_ca_bundle(
        owner: SignedUp, tenant: str, entra: FakeMicrosoft, directory: FakeTenant,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # msal's requests would let REQUESTS_CA_BUNDLE override its verify=; our client must not.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())

    outcome = await consent(owner, entra, tenant, directory)

    assert outcome["directory"] == "linked"


# The first round, then delta rounds -------------------------------------------------------------


async def test_first_round_then_delta_rounds_touch_only_the_changes(
        owner: SignedUp, tenant: str, entra: FakeMicrosoft, directory: FakeTenant,
        engine: Engine, worker: dramatiq.Broker) -> None:
    users = people(directory, 8)
    directory.add_user(f"guest@{OTHER_DOMAIN}")  # not the tenant's domain: ignored
    directory.add_user(f"leaver@{DOMAIN}", accountEnabled=False)  # disabled: not proposed
    assert (await consent(owner, entra, tenant, directory))["directory"] == "linked"

    # Discover: one round over four pages (10 users, 3 a page) into the preview.
    mark = len(entra.requests)
    found = await discover(owner.client, tenant, sequentialStart=2000,
                           defaults={"countryCode": "1", "areaCode": "209"})
    assert found["status"] == "SUCCEEDED", found
    assert found["counters"] == {"proposed": 8, "already_synced": 0, "inactive": 1,
                                 "conflicts": 0, "fit": 8}
    listed = delta_requests(entra, mark)
    assert len(listed) == 4
    assert "$deltatoken" not in listed[0].query
    assert "$skiptoken" not in listed[0].query
    assert "mail" in listed[0].query["$select"].split(",")
    assert all("$skiptoken" in r.query for r in listed[1:])
    rows = await preview(owner.client, tenant)
    assert [row["externalId"] for row in rows] == users
    assert [row["username"] for row in rows] == [f"person{n}" for n in range(8)]
    assert [row["alias"] for row in rows] == [str(2000 + n) for n in range(8)]
    assert [row["email"] for row in rows] == [f"person{n}@{DOMAIN}" for n in range(8)]

    edited = await ok(owner.client, """mutation($input: DirectoryPreviewUpdateInput!) {
        directoryPreviewUpdate(input: $input) { rows { username alias displayName }
          errors { field code message } } }""", {"input": {"tenant": tenant, "rows": [
        {"id": rows[1]["id"], "username": "p.one", "alias": "2100",
         "displayName": "Person One (reception)"}]}})
    assert edited["rows"] == [{"username": "p.one", "alias": "2100",
                               "displayName": "Person One (reception)"}]

    done = await import_confirm(owner.client, tenant)
    assert done["status"] == "SUCCEEDED", done
    assert done["counters"] == {"created": 8, "linked": 0, "errors": 0, "over_limit": 0}
    assert done["resultRef"]  # the credentials sheet's job
    held = by_external_id(engine, tenant)
    assert set(held) == set(users)
    assert {row.source for row in held.values()} == {"MICROSOFT"}
    assert {row.status for row in held.values()} == {"ACTIVE"}
    assert (held[users[1]].username, held[users[1]].alias) == ("p.one", "2100")
    assert held[users[5]].alias == "2005"
    link = await directory_link(owner.client, tenant)
    assert link["status"] == "ACTIVE"

    # A short interval is fine (delta rounds are cheap); the brake leaves this test alone.
    scheduled = await schedule(owner.client, tenant, intervalMinutes=5, brakePercent=50)
    assert scheduled["errors"] == []
    assert scheduled["directoryLink"]["syncIntervalMinutes"] == 5

    # The import hands discovery's deltaLink on: the first re-sync is a round of changes
    # (none here), not a listing of everyone once more.
    discovered = link_row(engine, tenant).sync_state
    assert discovered is not None
    assert discovered.startswith(f"{entra.graph_url}/v1.0/users/delta?$deltatoken=")
    mark = len(entra.requests)
    first = await sync_now(owner.client, tenant)
    assert first["status"] == "SUCCEEDED", first
    assert first["counters"] == counters()
    assert [r.query.get("$deltatoken") for r in delta_requests(entra, mark)] == [
        query_of(discovered)["$deltatoken"]]
    state = link_row(engine, tenant).sync_state
    assert state is not None
    assert state.startswith(f"{entra.graph_url}/v1.0/users/delta?$deltatoken=")
    token = query_of(state)["$deltatoken"]
    before = by_external_id(engine, tenant)
    assert all(before[u].updated_at == held[u].updated_at for u in users)

    # Changes in Entra: an update, a disable, a soft and a hard delete, two new users.
    directory.update_user(users[0], displayName="Person Zero (sales lead)", department="Sales")
    directory.disable_user(users[1])
    directory.soft_delete_user(users[2])
    directory.hard_delete_user(users[3])
    newcomer = directory.add_user(f"newcomer@{DOMAIN}", givenName="New", surname="Comer")
    directory.add_user(f"visitor@{OTHER_DOMAIN}")

    mark = len(entra.requests)
    delta = await sync_now(owner.client, tenant)

    assert delta["status"] == "SUCCEEDED", delta
    # (How many were "updated" is the next test's business.)
    assert {key: delta["counters"][key] for key in COUNTERS if key != "updated"} == {
        key: value for key, value in counters(created=1, disabled=2, removed=1).items()
        if key != "updated"}
    asked = delta_requests(entra, mark)
    assert asked[0].query["$deltatoken"] == token  # started from the stored deltaLink
    assert len(asked) == 2  # six changes, three a page: the directory's size does not matter
    after = by_external_id(engine, tenant)
    assert set(after) == {*users, newcomer}
    for untouched in users[4:]:
        assert after[untouched] == before[untouched]
    assert after[users[0]].display_name == "Person Zero (sales lead)"
    assert after[users[0]].status == "ACTIVE"
    assert (after[users[1]].status, after[users[1]].deleted) == ("DISABLED", False)
    assert (after[users[2]].status, after[users[2]].deleted) == ("DISABLED", False)  # soft
    assert (after[users[3]].status, after[users[3]].deleted) == ("DISABLED", True)  # hard
    assert after[users[3]].disabled
    # The next free extension from the start: 2001, which the preview edit left free.
    assert (after[newcomer].username, after[newcomer].alias, after[newcomer].status) == (
        "newcomer", "2001", "ACTIVE")
    assert after[newcomer].email == f"newcomer@{DOMAIN}"
    next_state = link_row(engine, tenant).sync_state
    assert next_state is not None
    assert next_state != state
    next_token = query_of(next_state)["$deltatoken"]
    assert (await directory_link(owner.client, tenant))["lastSyncedAt"] is not None

    # The next round starts from the new deltaLink: a restore and a re-enable come back.
    directory.restore_user(users[2])
    directory.enable_user(users[1])
    mark = len(entra.requests)
    back = await sync_now(owner.client, tenant)

    assert back["status"] == "SUCCEEDED", back
    assert back["counters"] == counters(reenabled=2)
    assert [r.query.get("$deltatoken") for r in delta_requests(entra, mark)] == [next_token]
    final = by_external_id(engine, tenant)
    for user in users[1:3]:
        assert (final[user].status, final[user].disabled, final[user].deleted) == (
            "ACTIVE", False, False)
    for user in (users[0], users[3], *users[4:], newcomer):
        assert final[user] == after[user]


async def test_a_disable_or_a_removal_is_counted_once(
        owner: SignedUp, tenant: str, entra: FakeMicrosoft, directory: FakeTenant,
        engine: Engine, worker: dramatiq.Broker) -> None:
    users = await imported(owner, entra, tenant, directory, 6)
    await delta_linked(owner, tenant, engine)
    directory.update_user(users[0], displayName="Person Zero (sales lead)")
    directory.disable_user(users[1])
    directory.soft_delete_user(users[2])
    directory.hard_delete_user(users[3])

    outcome = await sync_now(owner.client, tenant)

    # Each user seen lands in one bucket: the counters add up to the users of the round,
    # as they do when a full round finds a user gone (removed, not also updated).
    assert outcome["status"] == "SUCCEEDED", outcome
    assert outcome["counters"] == counters(updated=1, disabled=2, removed=1)
    assert sum(outcome["counters"][key] for key in (
        "created", "updated", "disabled", "reenabled", "removed", "unchanged")) == \
        outcome["progress"]["done"] == 4


async def test_a_user_dropped_from_the_preview_stays_out(
        owner: SignedUp, tenant: str, entra: FakeMicrosoft, directory: FakeTenant,
        engine: Engine, worker: dramatiq.Broker) -> None:
    users = people(directory, 5)
    assert (await consent(owner, entra, tenant, directory))["directory"] == "linked"
    assert (await discover(owner.client, tenant))["status"] == "SUCCEEDED"
    rows = await preview(owner.client, tenant)
    dropped = rows[2]
    await ok(owner.client, """mutation($input: DirectoryPreviewUpdateInput!) {
        directoryPreviewUpdate(input: $input) { errors { field code message } } }""",
             {"input": {"tenant": tenant, "rows": [{"id": dropped["id"], "excluded": True}]}})
    assert (await import_confirm(owner.client, tenant))["status"] == "SUCCEEDED"
    assert set(by_external_id(engine, tenant)) == set(users) - {dropped["externalId"]}

    # Re-syncs (the first one lists the whole directory again) must not bring them in.
    for _ in range(2):
        assert (await sync_now(owner.client, tenant))["status"] == "SUCCEEDED"
        assert set(by_external_id(engine, tenant)) == set(users) - {dropped["externalId"]}


# Throttling, an expired deltaLink, a crash, revoked consent -----------------------------------


async def test_a_429_with_retry_after_is_honoured(
        owner: SignedUp, tenant: str, entra: FakeMicrosoft, directory: FakeTenant,
        engine: Engine, worker: dramatiq.Broker) -> None:
    users = await imported(owner, entra, tenant, directory, 7)
    full_round_due(engine, tenant)  # three pages
    entra.inject(429, retry_after=1, path="/v1.0/users/delta", after=1)  # on the second page

    mark = len(entra.requests)
    outcome = await sync_now(owner.client, tenant)

    assert outcome["status"] == "SUCCEEDED", outcome
    assert outcome["attempts"] == 1  # waited inside the run, not a retry of the job
    assert outcome["counters"] == counters(unchanged=7)
    asked = delta_requests(entra, mark)
    assert [r.status for r in asked] == [200, 429, 200, 200]
    throttled, retried = asked[1], asked[2]
    assert retried.query == throttled.query  # the same page again
    assert retried.at - throttled.at >= 1.0
    assert set(by_external_id(engine, tenant)) == set(users)


@pytest.mark.parametrize("expired", [410, 400])
async def test_an_expired_delta_link_falls_back_to_a_full_round(
        owner: SignedUp, tenant: str, entra: FakeMicrosoft, directory: FakeTenant,
        engine: Engine, worker: dramatiq.Broker, expired: int) -> None:
    users = await imported(owner, entra, tenant, directory, 7)
    state = await delta_linked(owner, tenant, engine)
    directory.update_user(users[4], displayName="Person Four (renamed)")
    newcomer = directory.add_user(f"newcomer@{DOMAIN}")
    directory.expire_delta_tokens(status=expired)

    mark = len(entra.requests)
    outcome = await sync_now(owner.client, tenant)

    assert outcome["status"] == "SUCCEEDED", outcome
    assert outcome["counters"] == counters(created=1, updated=1, unchanged=6)
    asked = delta_requests(entra, mark)
    assert asked[0].query["$deltatoken"] == query_of(state)["$deltatoken"]
    assert asked[0].status == expired
    # A full round from scratch: 8 users, 3 a page.
    assert "$deltatoken" not in asked[1].query
    assert "$skiptoken" not in asked[1].query
    assert [r.status for r in asked[1:]] == [200, 200, 200]
    rows = by_external_id(engine, tenant)  # no user twice
    assert set(rows) == {*users, newcomer}
    assert {row.status for row in rows.values()} == {"ACTIVE"}
    assert len({row.alias for row in rows.values()}) == 8
    assert rows[users[4]].display_name == "Person Four (renamed)"
    fresh = link_row(engine, tenant).sync_state
    assert fresh is not None
    assert fresh != state

    # And the new deltaLink works: nothing changed since.
    mark = len(entra.requests)
    quiet = await sync_now(owner.client, tenant)
    assert quiet["counters"] == counters()
    assert [r.query.get("$deltatoken") for r in delta_requests(entra, mark)] == [
        query_of(fresh)["$deltatoken"]]


async def test_a_crash_mid_round_resumes_from_the_checkpoint(
        owner: SignedUp, tenant: str, entra: FakeMicrosoft, directory: FakeTenant,
        engine: Engine, worker: dramatiq.Broker) -> None:
    users = await imported(owner, entra, tenant, directory, 8)
    full_round_due(engine, tenant)  # a full round, four pages
    # Changes on the pages before the failure and users only on the pages after it.
    directory.update_user(users[0], displayName="Person Zero (changed)")
    directory.update_user(users[4], displayName="Person Four (changed)")
    newcomers = [directory.add_user(f"newcomer{n}@{DOMAIN}") for n in range(4)]
    # Graph fails on every request after the second page, and asks for more time than a
    # worker sleeps: the job must give the run back and come again later.
    entra.inject(503, retry_after=300, path="/v1.0/users/delta", after=2, count=None)

    mark = len(entra.requests)
    job_id = await start(owner.client, "directorySyncNow", "DirectoryTenantInput",
                         {"tenant": tenant})
    stopped = await finished(owner.client, job_id, until=given_back)

    assert stopped["status"] == "QUEUED"
    assert [e["code"] for e in stopped["errors"]] == ["DIRECTORY_UNAVAILABLE"]
    first_try = delta_requests(entra, mark)
    assert [r.status for r in first_try] == [200, 200, 503]
    checkpoint = job_row(engine, job_id).payload["resume"]
    assert query_of(checkpoint.partition("#")[0])["$skiptoken"] == \
        first_try[2].query["$skiptoken"]  # the third page, which failed
    half = by_external_id(engine, tenant)
    assert half[users[0]].display_name == "Person Zero (changed)"  # pages 1-2 are committed
    assert half[users[4]].display_name == "Person Four (changed)"
    assert not set(newcomers) & set(half)

    # Graph recovers; time passes (the retry's Retry-After), and the job runs again.
    entra.clear_faults()
    with session_scope(engine) as session:
        session.execute(update(Job).where(Job.id == id_of(job_id, "Job"))
                        .values(run_after=utcnow()))
    mark = len(entra.requests)
    dispatch([id_of(job_id, "Job")])
    outcome = await finished(owner.client, job_id)

    assert outcome["status"] == "SUCCEEDED", outcome
    assert outcome["attempts"] == 2
    resumed = delta_requests(entra, mark)
    assert resumed[0].query.get("$skiptoken") == first_try[2].query["$skiptoken"]
    # Pages 3 and 4, then the whole listing again: who is gone is known from it.
    assert [r.status for r in resumed] == [200] * 6
    assert "$skiptoken" not in resumed[2].query
    # The whole round, both attempts: pages 1-2 (2 updated, 4 unchanged) and 3-4.
    assert outcome["counters"] == counters(created=4, updated=2, unchanged=6)
    rows = by_external_id(engine, tenant)
    assert set(rows) == {*users, *newcomers}  # nobody skipped, nobody twice
    assert sorted(rows[n].alias for n in newcomers) == ["2008", "2009", "2010", "2011"]
    assert rows[users[0]] == half[users[0]]  # not written again
    assert job_row(engine, job_id).payload.get("resume") is None
    assert link_row(engine, tenant).sync_state is not None


async def test_revoked_consent_fails_the_sync_and_shows_on_the_link(
        owner: SignedUp, tenant: str, entra: FakeMicrosoft, directory: FakeTenant,
        engine: Engine, worker: dramatiq.Broker) -> None:
    users = await imported(owner, entra, tenant, directory, 4)
    await delta_linked(owner, tenant, engine)
    before = by_external_id(engine, tenant)
    directory.revoke_consent()  # the enterprise application was deleted
    directory.disable_user(users[0])

    outcome = await sync_now(owner.client, tenant)

    assert outcome["status"] == "FAILED"
    assert outcome["errorCode"] == "CONSENT_REVOKED"
    assert outcome["attempts"] == 1  # not retried
    link = await directory_link(owner.client, tenant)
    assert link["status"] == "CONSENT_REVOKED"
    assert link["lastErrorCode"] == "CONSENT_REVOKED"
    assert by_external_id(engine, tenant) == before
    refused = await owner.client.execute("""mutation($tenant: ID!) {
        directorySyncNow(input: {tenant: $tenant}) { job { id } errors { code } } }""",
                                         {"tenant": tenant})
    assert refused["directorySyncNow"]["job"] is None

    # An administrator consents again: syncing goes on where it stopped.
    assert (await consent(owner, entra, tenant, directory))["directory"] == "linked"
    link = await directory_link(owner.client, tenant)
    assert link["lastErrorCode"] is None
    assert link["status"] == "ACTIVE"
    again = await sync_now(owner.client, tenant)
    assert again["status"] == "SUCCEEDED", again
    assert by_external_id(engine, tenant)[users[0]].status == "DISABLED"


# The schedule ------------------------------------------------------------------------------


async def test_a_short_interval_is_kept_and_sync_now_runs_at_once(
        owner: SignedUp, tenant: str, entra: FakeMicrosoft, directory: FakeTenant,
        engine: Engine, worker: dramatiq.Broker) -> None:
    await imported(owner, entra, tenant, directory, 3)
    assert (await schedule(owner.client, tenant, intervalMinutes=0))["errors"][0]["code"] \
        == "INVALID"
    scheduled = await schedule(owner.client, tenant, intervalMinutes=5)
    assert scheduled["errors"] == []
    assert scheduled["directoryLink"]["syncIntervalMinutes"] == 5
    link_id = link_row(engine, tenant).id

    def syncs() -> list[Job]:
        with Session(engine) as session:
            return list(session.exec(select(Job).where(
                Job.kind == "directory.sync", Job.subject_id == str(link_id))).all())

    def synced_ago(minutes: float) -> None:
        with session_scope(engine) as session:
            session.execute(update(DirectoryLink).where(DirectoryLink.id == link_id).values(
                last_synced_at=utcnow() - dt.timedelta(minutes=minutes)))

    synced_ago(4)
    queue_due_syncs()
    assert syncs() == []  # not due yet
    synced_ago(5.5)
    queue_due_syncs()
    queued = syncs()
    assert len(queued) == 1
    done = await finished(owner.client, to_global_id("Job", queued[0].id))
    assert done["status"] == "SUCCEEDED"

    payload = await ok(owner.client, """mutation($tenant: ID!) {
        directorySyncNow(input: {tenant: $tenant}) { job { id status createdAt } errors {
          field code message } } }""", {"tenant": tenant})
    now = await finished(owner.client, payload["job"]["id"])
    assert now["status"] == "SUCCEEDED"
    row = job_row(engine, payload["job"]["id"])
    assert row.status is JobStatus.SUCCEEDED
    assert row.started_at is not None
    assert (row.started_at - row.created_at).total_seconds() < 5  # at once, not on schedule


async def set_customer_maximum(owner: SignedUp, tenant: str, maximum: int) -> None:
    customer = (await owner.client.execute("""query($id: ID!) { node(id: $id) {
        ... on Tenant { customerId } } }""", {"id": tenant}))["node"]["customerId"]
    await ok(owner.client, """mutation($input: CustomerUpdateInput!) {
        customerUpdate(input: $input) { customer { id } errors { field code message } } }""",
             {"input": {"id": customer, "maxSubscribers": maximum}})


async def test_a_delta_round_beyond_the_customers_maximum_keeps_its_deltalink(
        owner: SignedUp, tenant: str, entra: FakeMicrosoft, directory: FakeTenant,
        engine: Engine, worker: dramatiq.Broker) -> None:
    users = await imported(owner, entra, tenant, directory, 4)
    await set_customer_maximum(owner, tenant, 5)
    before = link_row(engine, tenant).sync_state
    assert before is not None
    newcomers = [directory.add_user(f"newcomer{n}@{DOMAIN}") for n in range(2)]
    directory.update_user(users[0], displayName="Person Zero (renamed)")

    outcome = await sync_now(owner.client, tenant)

    # One newcomer fits; the other is left out, reported, and the rename goes through.
    assert outcome["status"] == "SUCCEEDED", outcome
    assert outcome["counters"] == counters(created=1, updated=1, over_limit=1)
    rows = by_external_id(engine, tenant)
    assert len(rows) == 5
    assert len(set(newcomers) & set(rows)) == 1
    assert rows[users[0]].display_name == "Person Zero (renamed)"
    link = link_row(engine, tenant)
    assert link.last_error_code == "LIMIT_REACHED"
    # The next round starts from the same deltaLink: the user left out is news again there.
    assert link.sync_state == before

    await set_customer_maximum(owner, tenant, 6)
    again = await sync_now(owner.client, tenant)

    assert again["status"] == "SUCCEEDED", again
    assert again["counters"] == counters(created=1, unchanged=2)
    assert set(newcomers) <= set(by_external_id(engine, tenant))
    link = link_row(engine, tenant)
    assert (link.last_error_code, link.last_error) == (None, None)
    assert link.sync_state not in (None, before)
