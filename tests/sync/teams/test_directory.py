"""The Entra adapter with real msal and httpx against the wire-level fake."""

from __future__ import annotations

import pytest

from core.settings import Settings
from sync.directory import (
    ConsentRevokedError,
    DirectoryError,
    DirectoryUnavailableError,
    DirectoryUser,
    Page,
    SyncScope,
    UserState,
)
from sync.teams import tokens
from sync.teams.directory import ScopeGroupNotFoundError, TeamsDirectory
from sync.teams.tokens import PlatformCredentialsError, app_token, token_error
from tests.fakes.microsoft import FakeMicrosoft, FakeTenant
from tests.sync.teams.conftest import CLIENT_ID, CLIENT_SECRET

DOMAIN = "contoso.com"


@pytest.fixture
def tenant(fake: FakeMicrosoft) -> FakeTenant:
    return fake.add_tenant(domains=[DOMAIN, "fabrikam.com"])


@pytest.fixture
def directory(ms_settings, tenant, http, sleeps) -> TeamsDirectory:
    return TeamsDirectory(ms_settings, tenant.id, domains=[DOMAIN], http_client=http,
                          sleep=sleeps)


def people(tenant: FakeTenant, count: int) -> list[str]:
    return [tenant.add_user(f"person{n}@{DOMAIN}", givenName=f"Given{n}", surname=f"Family{n}")
            for n in range(count)]


def by_id(pages: list[Page]) -> dict[str, DirectoryUser]:
    users = [user for page in pages for user in page.users]
    found = {user.external_id: user for user in users}
    assert len(found) == len(users), "a user came twice"
    return found


def first_round(directory: TeamsDirectory) -> list[Page]:
    return list(directory.pages(resume=None, state=None))


# A first round ------------------------------------------------------------------------------


def test_a_first_round_lists_everyone_over_several_pages(directory, tenant, fake):
    ids = people(tenant, 7)
    ann = tenant.add_user(
        "Ann.Lee@Contoso.com", mail="Ann.Lee@Contoso.com", givenName="Ann", surname="Lee",
        displayName="Ann Lee", businessPhones=["+44 20 7946 0000", "+44 20 7946 0001"],
        mobilePhone="+44 7700 900000", department="Sales")

    pages = first_round(directory)

    assert [len(page.users) for page in pages] == [3, 3, 2]
    assert [page.complete for page in pages] == [False, False, True]
    assert all(page.full for page in pages)
    assert all(page.resume and page.resume.startswith("https://graph.microsoft.com/v1.0/users/"
                                                      "delta?$skiptoken=") for page in pages[:-1])
    assert pages[-1].resume is None
    assert pages[-1].next_round.startswith("https://graph.microsoft.com/v1.0/users/delta?"
                                           "$deltatoken=")
    users = by_id(pages)
    assert set(users) == {*ids, ann}
    assert users[ann] == DirectoryUser(
        external_id=ann, email="ann.lee@contoso.com", given_name="Ann", family_name="Lee",
        display_name="Ann Lee", phones=("+44 20 7946 0000", "+44 20 7946 0001", "+44 7700 900000"),
        department="Sales", state=UserState.ACTIVE)
    first = fake.graph_requests("/v1.0/users/delta")[0]
    assert first.host == "graph.microsoft.com"
    assert first.query["$select"].split(",") == [
        "id", "mail", "userPrincipalName", "givenName", "surname", "displayName",
        "businessPhones", "mobilePhone", "department", "accountEnabled"]


def test_an_empty_directory_is_one_complete_page(directory):
    pages = first_round(directory)

    assert len(pages) == 1
    assert pages[0].users == []
    assert pages[0].complete
    assert pages[0].full
    assert pages[0].next_round


def test_the_address_falls_back_to_the_user_principal_name(directory, tenant):
    no_mail = tenant.add_user(f"room.1@{DOMAIN}", mail=None, accountEnabled=False)

    (user,) = by_id(first_round(directory)).values()

    assert (user.external_id, user.email, user.state) == (
        no_mail, f"room.1@{DOMAIN}", UserState.SUSPENDED)


def test_users_outside_the_domains_are_left_out(directory, tenant):
    inside = tenant.add_user(f"in@{DOMAIN}")
    tenant.add_user("out@fabrikam.com")  # another verified domain of the same tenant
    tenant.add_user(f"guest_x.com#EXT#@{tenant.initial_domain}", mail="guest@x.com",
                    userType="Guest")

    assert set(by_id(first_round(directory))) == {inside}


# Incremental rounds -------------------------------------------------------------------------


def test_a_delta_round_returns_only_the_changes(directory, tenant, fake):
    ids = people(tenant, 8)
    state = first_round(directory)[-1].next_round
    added = tenant.add_user(f"new.hire@{DOMAIN}", givenName="New")
    tenant.update_user(ids[0], department="Support", mobilePhone="+1 425 555 0100")
    tenant.disable_user(ids[1])
    tenant.soft_delete_user(ids[2])
    tenant.hard_delete_user(ids[3])
    tenant.soft_delete_user(ids[4])
    tenant.hard_delete_user(ids[4])  # soft then permanent: one entry, "deleted"
    outsider = tenant.add_user("elsewhere@fabrikam.com")  # outside the domain
    fake.clear_log()

    pages = list(directory.pages(resume=None, state=state))

    assert not any(page.full for page in pages)
    assert fake.graph_requests()[0].query.keys() == {"$deltatoken"}
    users = by_id(pages)
    assert set(users) == {added, ids[0], ids[1], ids[2], ids[3], ids[4], outsider}
    assert users[added].state is UserState.ACTIVE
    assert users[added].given_name == "New"
    assert (users[ids[0]].department, users[ids[0]].phones) == ("Support", ("+1 425 555 0100",))
    assert users[ids[0]].given_name == "Given0"  # unchanged properties come along
    assert users[ids[1]].state is UserState.SUSPENDED
    assert users[ids[1]].email == f"person1@{DOMAIN}"
    assert users[ids[2]] == DirectoryUser(external_id=ids[2], state=UserState.SUSPENDED)
    assert users[ids[3]] == DirectoryUser(external_id=ids[3], state=UserState.DELETED)
    assert users[ids[4]] == DirectoryUser(external_id=ids[4], state=UserState.DELETED)
    # A changed user outside the domains may be one renamed out of it: it comes as gone,
    # id only, never with its data (the engine ignores ids it never synced).
    assert users[outsider] == DirectoryUser(external_id=outsider, state=UserState.DELETED)

    # Nothing changed since: the next round is empty, and restoring shows the user again.
    quiet = list(directory.pages(resume=None, state=pages[-1].next_round))
    assert [page.users for page in quiet] == [[]]
    tenant.restore_user(ids[2])
    (restored,) = by_id(list(directory.pages(resume=None, state=quiet[-1].next_round))).values()
    assert (restored.external_id, restored.state) == (ids[2], UserState.ACTIVE)


def test_a_user_renamed_out_of_the_domain_is_reported_gone(directory, tenant):
    leaver = tenant.add_user(f"leaver@{DOMAIN}")
    state = first_round(directory)[-1].next_round
    tenant.update_user(leaver, userPrincipalName="leaver@fabrikam.com", mail="leaver@fabrikam.com")

    (user,) = by_id(list(directory.pages(resume=None, state=state))).values()

    assert user == DirectoryUser(external_id=leaver, state=UserState.DELETED)


# Checkpoints --------------------------------------------------------------------------------


def test_resuming_after_a_crash_gives_no_duplicates_or_gaps(ms_settings, tenant, http, fake):
    ids = people(tenant, 11)
    interrupted = TeamsDirectory(ms_settings, tenant.id, domains=[DOMAIN], http_client=http)
    committed: list[Page] = []
    for page in interrupted.pages(resume=None, state=None):
        committed.append(page)
        if len(committed) == 2:
            break  # the worker died after committing two pages
    checkpoint = committed[-1].resume

    resumed = TeamsDirectory(ms_settings, tenant.id, domains=[DOMAIN], http_client=http)
    rest = list(resumed.pages(resume=checkpoint, state=None))

    assert set(by_id(committed + rest)) == set(ids)
    assert rest[-1].complete
    assert rest[-1].full
    assert rest[-1].next_round
    # The checkpoint was followed as Graph wrote it (its fragment never goes on the wire).
    assert fake.graph_requests("/v1.0/users/delta")[2].query == {
        "$skiptoken": checkpoint.split("$skiptoken=")[1].split("#")[0]}


def test_an_incremental_round_resumes_as_incremental(ms_settings, directory, tenant):
    ids = people(tenant, 2)
    state = first_round(directory)[-1].next_round
    changed = [tenant.add_user(f"later{n}@{DOMAIN}") for n in range(5)]
    tenant.disable_user(ids[0])

    pages = list(directory.pages(resume=None, state=state))
    resumed = list(directory.pages(resume=pages[0].resume, state=state))

    assert set(by_id(pages[:1] + resumed)) == {*changed, ids[0]}
    assert not resumed[-1].full


def test_a_restarted_full_round_resumes_as_full(directory, tenant):
    people(tenant, 7)
    state = first_round(directory)[-1].next_round
    tenant.expire_delta_tokens()

    first = next(iter(directory.pages(resume=None, state=state)))
    rest = list(directory.pages(resume=first.resume, state=state))

    assert first.full
    assert rest[-1].full  # the checkpoint remembers the round was full


def test_a_link_off_the_graph_origin_is_never_followed(directory, tenant, fake):
    everyone = people(tenant, 2)

    pages = list(directory.pages(
        resume=None, state="https://attacker.example/v1.0/users/delta?$deltatoken=x"))

    assert pages[-1].full
    assert set(by_id(pages)) == set(everyone)
    assert {r.host for r in fake.graph_requests()} == {"graph.microsoft.com"}


# Throttling and failures --------------------------------------------------------------------


def test_throttling_honours_retry_after(directory, tenant, fake, sleeps):
    everyone = people(tenant, 4)
    fake.inject(429, retry_after=7, path="/v1.0/users/delta")

    assert set(by_id(first_round(directory))) == set(everyone)
    assert sleeps == [7.0]
    assert [r.status for r in fake.graph_requests()][:2] == [429, 200]


def test_server_errors_are_retried_with_backoff(directory, tenant, fake, sleeps):
    everyone = people(tenant, 4)
    fake.inject(500, count=2)
    fake.inject(503)  # no Retry-After: backoff as well

    assert set(by_id(first_round(directory))) == set(everyone)
    assert sleeps == [1.0, 2.0, 4.0]


def test_persistent_errors_make_the_directory_unavailable(ms_settings, tenant, http, fake,
                                                          sleeps):
    people(tenant, 4)
    directory = TeamsDirectory(ms_settings, tenant.id, domains=[DOMAIN], http_client=http,
                               sleep=sleeps, max_attempts=3)
    fake.inject(503, count=100, retry_after=2)

    with pytest.raises(DirectoryUnavailableError) as raised:
        first_round(directory)
    assert raised.value.retry_after == 2.0
    assert sleeps == [2.0, 2.0]
    assert len(fake.graph_requests()) == 3


def test_a_long_retry_after_is_left_to_the_job_queue(directory, tenant, fake, sleeps):
    fake.inject(429, retry_after=600)

    with pytest.raises(DirectoryUnavailableError) as raised:
        first_round(directory)
    assert raised.value.retry_after == 600.0
    assert sleeps == []


@pytest.mark.parametrize("status", [410, 400])
def test_an_expired_delta_token_starts_a_full_round(directory, tenant, fake, status):
    ids = people(tenant, 5)
    state = first_round(directory)[-1].next_round
    tenant.update_user(ids[0], department="Ops")
    tenant.expire_delta_tokens(status=status)
    fake.clear_log()

    pages = list(directory.pages(resume=None, state=state))

    assert [r.status for r in fake.graph_requests()][:2] == [status, 200]
    assert all(page.full for page in pages)
    assert set(by_id(pages)) == set(ids)
    # The new deltaLink works: only what changes from now on.
    tenant.disable_user(ids[1])
    (user,) = by_id(list(directory.pages(resume=None, state=pages[-1].next_round))).values()
    assert (user.external_id, user.state) == (ids[1], UserState.SUSPENDED)


def test_revoked_consent_is_reported(directory, tenant, fake):
    people(tenant, 4)
    first_round(directory)  # a token is in msal's cache now
    tenant.revoke_consent()  # Graph refuses that token; the token endpoint refuses a new one

    with pytest.raises(ConsentRevokedError, match="AADSTS7000229"):
        first_round(directory)
    assert [r.status for r in fake.token_requests(tenant.id)] == [200, 401]


def test_revoked_permissions_are_reported(directory, tenant):
    tenant.remove_permissions()

    with pytest.raises(ConsentRevokedError, match="Authorization_RequestDenied"):
        first_round(directory)


def test_a_token_revoked_early_is_renewed_once(directory, tenant, fake):
    everyone = people(tenant, 4)
    first_round(directory)
    fake.drop_tokens()  # e.g. a key rollover: the cached token is refused, consent stands

    assert set(by_id(first_round(directory))) == set(everyone)
    assert [r.status for r in fake.token_requests(tenant.id)] == [200, 200]


def test_a_tenant_that_never_consented_is_reported(ms_settings, fake, http):
    stranger = fake.add_tenant(domains=[DOMAIN], consented=False)
    directory = TeamsDirectory(ms_settings, stranger.id, domains=[DOMAIN], http_client=http)

    with pytest.raises(ConsentRevokedError):
        first_round(directory)


# Group scoping ------------------------------------------------------------------------------


def test_group_scope_takes_transitive_members_only(ms_settings, tenant, http, fake):
    ids = people(tenant, 9)
    nested = tenant.add_group([ids[0], ids[1]])
    sales = tenant.add_group([nested, ids[2], ids[3], ids[4]])
    support = tenant.add_group([ids[4], ids[5]])
    tenant.add_group([ids[8]])  # not in the scope
    directory = TeamsDirectory(ms_settings, tenant.id, domains=[DOMAIN], http_client=http,
                               scope=SyncScope(groups=(sales, support)), page_size=2)

    users = by_id(first_round(directory))

    assert set(users) == set(ids[:6])
    assert users[ids[0]].groups == (sales,)
    assert users[ids[4]].groups == (sales, support)
    member_requests = fake.graph_requests(f"/v1.0/groups/{sales}/transitiveMembers")
    assert member_requests[0].path.endswith("/transitiveMembers/microsoft.graph.user")
    assert member_requests[0].query == {"$select": "id", "$top": "2"}
    assert len(member_requests) == 3  # five members, pages of two


def test_group_scoped_rounds_are_always_full(ms_settings, tenant, http):
    ids = people(tenant, 3)
    group = tenant.add_group(ids[:2])
    directory = TeamsDirectory(ms_settings, tenant.id, domains=[DOMAIN], http_client=http,
                               scope=SyncScope(groups=(group,)))
    state = first_round(directory)[-1].next_round
    tenant.add_member(group, ids[2])  # joining a group does not change the user object
    tenant.remove_member(group, ids[0])

    pages = list(directory.pages(resume=None, state=state))

    assert pages[-1].full
    assert set(by_id(pages)) == {ids[1], ids[2]}


def test_a_missing_scope_group_stops_the_run(ms_settings, tenant, http):
    people(tenant, 2)
    directory = TeamsDirectory(ms_settings, tenant.id, domains=[DOMAIN], http_client=http,
                               scope=SyncScope(groups=("8b1ee412-cd8f-4d59-9999-24010edb9f1f",)))

    with pytest.raises(ScopeGroupNotFoundError):
        first_round(directory)


def test_org_units_are_not_an_entra_scope(ms_settings, tenant, http):
    with pytest.raises(ValueError, match="org units"):
        TeamsDirectory(ms_settings, tenant.id, domains=[DOMAIN], http_client=http,
                       scope=SyncScope(org_units=("/Sales",)))


# Tokens -------------------------------------------------------------------------------------


def test_one_msal_application_per_tenant_serves_every_run(ms_settings, fake, http):
    first = fake.add_tenant(domains=[DOMAIN])
    second = fake.add_tenant(domains=["fabrikam.com"])
    people(first, 4)

    for _ in range(3):
        first_round(TeamsDirectory(ms_settings, first.id, domains=[DOMAIN], http_client=http))
    app_token(ms_settings, second.id, http_client=http)
    app_token(ms_settings, second.id, http_client=http)

    assert len(fake.token_requests(first.id)) == 1  # later runs: msal's cache
    assert len(fake.token_requests(second.id)) == 1
    discovery = [r for r in fake.requests if r.path.endswith("/openid-configuration")]
    assert len(discovery) == 2  # one application built per tenant
    assert (tokens.application(ms_settings, first.id, http_client=http)
            is tokens.application(ms_settings, first.id, http_client=http))
    assert (tokens.application(ms_settings, first.id, http_client=http)
            is not tokens.application(ms_settings, second.id, http_client=http))


def test_an_unknown_tenant_is_revoked_consent(ms_settings, fake, http):
    with pytest.raises(ConsentRevokedError, match="does not know the tenant"):
        app_token(ms_settings, "11111111-2222-3333-4444-555555555555", http_client=http)


def test_a_wrong_client_secret_is_the_platforms_problem(ms_settings, tenant, http):
    wrong = Settings(_env_file=None, data_dir=ms_settings.data_dir,
                     microsoft_client_id=CLIENT_ID, microsoft_client_secret="not-the-secret")

    with pytest.raises(PlatformCredentialsError, match="AADSTS7000215"):
        app_token(wrong, tenant.id, http_client=http)


def test_missing_credentials_are_the_platforms_problem(tmp_path, tenant, http):
    bare = Settings(_env_file=None, data_dir=tmp_path)

    with pytest.raises(PlatformCredentialsError):
        app_token(bare, tenant.id, http_client=http)


def test_an_unavailable_token_endpoint_is_unavailable(ms_settings, tenant, http, fake):
    fake.inject(503, path=f"/{tenant.id}/oauth2/", retry_after=1)

    with pytest.raises(DirectoryUnavailableError):
        app_token(ms_settings, tenant.id, http_client=http)


@pytest.mark.parametrize(("result", "expected"), [
    ({"error": "invalid_client", "error_codes": [7000229]}, ConsentRevokedError),
    ({"error": "unauthorized_client", "error_description": "AADSTS700016: not found"},
     ConsentRevokedError),
    ({"error": "invalid_grant", "error_description": "AADSTS65001: no consent"},
     ConsentRevokedError),
    ({"error": "invalid_request", "error_codes": [90002]}, ConsentRevokedError),
    ({"error": "invalid_request", "error_codes": [50020]}, ConsentRevokedError),
    ({"error": "invalid_client", "error_codes": [7000222]}, PlatformCredentialsError),
    ({"error": "invalid_scope", "error_codes": [70011]}, PlatformCredentialsError),
    ({"error": "temporarily_unavailable"}, DirectoryUnavailableError),
    ({"error": "server_error"}, DirectoryUnavailableError),
    ({"error": "interaction_required", "error_codes": [53003]}, DirectoryError),
])
def test_msal_error_dicts_become_typed_failures(result, expected):
    failure = token_error(result)
    assert type(failure) is expected


# The pre-rendered fake, as benchmarks use it -----------------------------------------------


def test_the_prerendered_fake_serves_a_whole_round(ms_settings):
    with FakeMicrosoft.prerendered(users=1200, page_size=500, client_id=CLIENT_ID,
                                   client_secret=CLIENT_SECRET) as (fake, tenant), \
            fake.client() as http:
        directory = TeamsDirectory(ms_settings, tenant.id, domains=[tenant.domain],
                                   http_client=http)
        pages = first_round(directory)
        again = list(directory.pages(resume=None, state=pages[-1].next_round))

    assert [len(page.users) for page in pages] == [500, 500, 200]
    assert len(by_id(pages)) == 1200
    assert pages[-1].full
    assert [page.users for page in again] == [[]]
