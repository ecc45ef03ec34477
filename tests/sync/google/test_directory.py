"""GoogleDirectory over HTTP against the Google fake: paging, mapping, scoping, throttling,
revoked grants, service accounts and push channels."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import formatdate

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
from sync.google.consent import (
    GROUP_SCOPE,
    USER_SCOPE,
    oauth_credentials,
    service_account_credentials,
)
from sync.google.directory import USER_FIELDS, GoogleDirectory, parse_notification
from tests.fakes.google import (
    JWT_BEARER,
    FakeGoogle,
    backend_error,
    forbidden,
    invalid_credentials,
    rate_limit_exceeded,
    too_many_requests,
)
from tests.sync.google.conftest import ADMIN, DOMAIN, Sleeps

MakeDirectory = Callable[..., GoogleDirectory]


def every_page(directory: GoogleDirectory, resume: str | None = None) -> list[Page]:
    return list(directory.pages(resume=resume, state=None))


def users_of(pages: list[Page]) -> list[DirectoryUser]:
    return [user for page in pages for user in page.users]


# Paging --------------------------------------------------------------------------------------


def test_every_user_is_listed_once_over_several_pages(google: FakeGoogle,
                                                      make_directory: MakeDirectory):
    created = google.add_users(1234)

    pages = every_page(make_directory(page_size=500))

    assert [len(page.users) for page in pages] == [500, 500, 234]
    listed = [user.external_id for user in users_of(pages)]
    assert sorted(listed) == sorted(user.id for user in created)
    assert len(set(listed)) == 1234
    requests = google.calls("users.list")
    assert [request.param("maxResults") for request in requests] == ["500"] * 3
    assert {request.param("domain") for request in requests} == {DOMAIN}
    assert {request.param("projection") for request in requests} == {"basic"}
    assert {request.param("fields") for request in requests} == {USER_FIELDS}
    # Each page's resume point is the token the next request sent.
    assert requests[0].param("pageToken") is None
    assert [request.param("pageToken") for request in requests[1:]] == [
        pages[0].resume, pages[1].resume]
    assert all(page.resume and not page.complete for page in pages[:2])
    assert pages[-1].resume is None
    assert pages[-1].complete
    assert pages[-1].full
    assert pages[-1].next_round is None


def test_an_empty_domain_is_one_complete_page(make_directory: MakeDirectory):
    pages = every_page(make_directory())
    assert len(pages) == 1
    assert pages[0].users == []
    assert pages[0].complete
    assert pages[0].full


def test_resuming_from_a_page_token_continues_without_duplicates(google: FakeGoogle,
                                                                  make_directory: MakeDirectory):
    google.add_users(1234)
    interrupted = make_directory(page_size=500).pages(resume=None, state=None)
    first = next(interrupted)
    interrupted.close()  # the run stops after committing its first page

    rest = every_page(make_directory(page_size=500), resume=first.resume)

    assert [len(page.users) for page in rest] == [500, 234]
    ids = [user.external_id for user in first.users + users_of(rest)]
    assert len(ids) == len(set(ids)) == 1234
    assert rest[-1].complete


def test_a_resume_token_google_no_longer_takes_starts_over(google: FakeGoogle,
                                                           make_directory: MakeDirectory):
    google.add_users(30)
    pages = every_page(make_directory(page_size=20), resume="expired-token")
    assert len(users_of(pages)) == 30
    assert [request.param("pageToken") for request in google.calls("users.list")][:2] == [
        "expired-token", None]


def test_users_are_mapped_for_the_engine(google: FakeGoogle, make_directory: MakeDirectory):
    user = google.add_user(
        "Alice.Smith@Example.com", given_name="Alice", family_name="Smith",
        org_unit_path="/Sales/EU",
        phones=[{"value": "+41 79 000 00 00", "type": "mobile"},
                {"value": "+41 44 000 00 01", "type": "home"},
                {"value": "+41 44 000 00 02", "type": "work"},
                {"value": "+41 44 000 00 03", "type": "mobile", "primary": True},
                {"value": "+41 44 000 00 02", "type": "work_mobile"}])
    google.add_user(f"bare@{DOMAIN}")

    alice, bare = sorted(users_of(every_page(make_directory())), key=lambda u: u.email)

    assert alice == DirectoryUser(
        external_id=user.id, email="alice.smith@example.com", given_name="Alice",
        family_name="Smith", display_name="Alice Smith",
        phones=("+41 44 000 00 03", "+41 44 000 00 02", "+41 79 000 00 00",
                "+41 44 000 00 01"),
        department="/Sales/EU", state=UserState.ACTIVE, groups=())
    assert bare.display_name == ""
    assert bare.phones == ()
    assert bare.department == "/"


def test_suspended_and_archived_users_are_suspended(google: FakeGoogle,
                                                    make_directory: MakeDirectory):
    active = google.add_user(f"active@{DOMAIN}")
    suspended = google.add_user(f"suspended@{DOMAIN}", suspended=True)
    archived = google.add_user(f"archived@{DOMAIN}", archived=True)
    deleted = google.add_user(f"deleted@{DOMAIN}")
    google.delete_user(deleted.id)

    states = {user.external_id: user.state for user in users_of(every_page(make_directory()))}

    assert states == {active.id: UserState.ACTIVE, suspended.id: UserState.SUSPENDED,
                      archived.id: UserState.SUSPENDED}


# Scoping --------------------------------------------------------------------------------------


@pytest.fixture
def org_units(google: FakeGoogle) -> dict[str, list[str]]:
    units = {"/": 2, "/Sales": 3, "/Sales/EU": 4, "/Support": 5, "/Sales Team": 2}
    return {unit: [user.id for user in google.add_users(count, org_unit_path=unit,
                                                        prefix=f"u{index}x")]
            for index, (unit, count) in enumerate(units.items())}


def test_an_org_unit_is_searched_with_its_sub_units(google: FakeGoogle, org_units,
                                                    make_directory: MakeDirectory):
    directory = make_directory(scope=SyncScope(org_units=("/Sales",)))

    pages = every_page(directory)

    assert sorted(user.external_id for user in users_of(pages)) == sorted(
        org_units["/Sales"] + org_units["/Sales/EU"])
    assert {r.param("query") for r in google.calls("users.list")} == {"orgUnitPath='/Sales'"}
    assert pages[-1].complete
    assert pages[-1].full


def test_several_org_units_are_listed_once_each_and_resume_between_them(
        google: FakeGoogle, org_units, make_directory: MakeDirectory):
    scope = SyncScope(org_units=("/Support", "Sales Team", "/Sales/EU/", "/sales"))
    expected = sorted(org_units["/Sales"] + org_units["/Sales/EU"] + org_units["/Support"]
                      + org_units["/Sales Team"])

    pages = every_page(make_directory(scope=scope, page_size=2))

    ids = [user.external_id for user in users_of(pages)]
    assert sorted(ids) == expected
    assert len(ids) == len(set(ids))
    assert {r.param("query") for r in google.calls("users.list")} == {
        "orgUnitPath='/Sales Team'", "orgUnitPath='/Support'", "orgUnitPath='/sales'"}
    # Resume from every page: the rest of the round is exactly what followed it.
    for position, page in enumerate(pages[:-1]):
        assert page.resume
        assert not page.complete
        rest = users_of(every_page(make_directory(scope=scope, page_size=2), page.resume))
        assert [u.external_id for u in rest] == [u.external_id for u in users_of(
            pages[position + 1:])]


def test_the_root_org_unit_is_everyone(google: FakeGoogle, org_units,
                                       make_directory: MakeDirectory):
    pages = every_page(make_directory(scope=SyncScope(org_units=("/", "/Sales"))))
    assert len(users_of(pages)) == sum(len(ids) for ids in org_units.values())
    assert {r.param("query") for r in google.calls("users.list")} == {None}


def test_group_scope_follows_nested_groups_and_cuts_cycles(google: FakeGoogle,
                                                           google_settings: Settings,
                                                           make_directory: MakeDirectory):
    ann, bob, cid, dan = (google.add_user(f"{name}@{DOMAIN}") for name in
                          ("ann", "bob", "cid", "dan"))
    sales = google.add_group(f"sales@{DOMAIN}", [ann])
    europe = google.add_group(f"europe@{DOMAIN}", [bob, sales])  # cycle: sales <-> europe
    google.add_member(sales, europe)
    support = google.add_group(f"support@{DOMAIN}", [cid])
    google.add_group(f"other@{DOMAIN}", [dan])
    directory = make_directory(
        scope=SyncScope(groups=(f"sales@{DOMAIN}", support.id)),
        credentials=oauth_credentials(google_settings, google.issue_refresh_token(
            scopes=(USER_SCOPE, GROUP_SCOPE))))

    users = {user.email: user.groups for user in users_of(every_page(directory))}

    assert users == {f"ann@{DOMAIN}": (f"sales@{DOMAIN}",), f"bob@{DOMAIN}": (f"sales@{DOMAIN}",),
                     f"cid@{DOMAIN}": (support.id,)}
    listed = [request.path for request in google.calls("members.list")]
    assert len(listed) == 3, listed  # sales, europe, support: each once
    assert europe.id in "".join(listed)


def test_a_group_holding_the_whole_account_scopes_everyone(google: FakeGoogle,
                                                           make_directory: MakeDirectory,
                                                           google_settings: Settings):
    google.add_users(3)
    google.add_group(f"all@{DOMAIN}", ["CUSTOMER"])
    credentials = oauth_credentials(google_settings, google.issue_refresh_token(
        scopes=(USER_SCOPE, GROUP_SCOPE)))
    directory = make_directory(scope=SyncScope(groups=(f"all@{DOMAIN}",)),
                               credentials=credentials)
    assert [user.groups for user in users_of(every_page(directory))] == [(f"all@{DOMAIN}",)] * 3


def test_group_and_org_unit_scopes_add_up(google: FakeGoogle, org_units,
                                          make_directory: MakeDirectory,
                                          google_settings: Settings):
    outsider = google.users[org_units["/"][0]]
    google.add_group(f"team@{DOMAIN}", [outsider])
    credentials = oauth_credentials(google_settings, google.issue_refresh_token(
        scopes=(USER_SCOPE, GROUP_SCOPE)))
    directory = make_directory(scope=SyncScope(groups=(f"team@{DOMAIN}",),
                                               org_units=("/Support",)),
                               credentials=credentials)
    ids = sorted(user.external_id for user in users_of(every_page(directory)))
    assert ids == sorted([outsider.id, *org_units["/Support"]])


def test_an_unknown_group_is_an_error_not_an_empty_scope(google: FakeGoogle,
                                                         make_directory: MakeDirectory,
                                                         google_settings: Settings):
    credentials = oauth_credentials(google_settings, google.issue_refresh_token(
        scopes=(USER_SCOPE, GROUP_SCOPE)))
    directory = make_directory(scope=SyncScope(groups=(f"gone@{DOMAIN}",)),
                               credentials=credentials)
    with pytest.raises(DirectoryError, match="not in the directory") as failed:
        every_page(directory)
    assert not isinstance(failed.value, ConsentRevokedError | DirectoryUnavailableError)


def test_group_scope_without_group_consent_needs_new_consent(google: FakeGoogle,
                                                             make_directory: MakeDirectory):
    google.add_group(f"sales@{DOMAIN}")
    directory = make_directory(scope=SyncScope(groups=(f"sales@{DOMAIN}",)))  # users only
    with pytest.raises(ConsentRevokedError, match="insufficient authentication scopes"):
        every_page(directory)
    assert len(google.calls("members.list")) == 2  # again after one token refresh


# Throttling and failures ---------------------------------------------------------------------


def test_429_waits_the_retry_after_seconds(google: FakeGoogle, make_directory: MakeDirectory,
                                           sleeps: Sleeps):
    google.add_users(3)
    google.inject("users.list", too_many_requests(retry_after="7"))

    assert len(users_of(every_page(make_directory()))) == 3
    assert sleeps == [7.0]


def test_retry_after_as_an_http_date(google: FakeGoogle, make_directory: MakeDirectory,
                                     sleeps: Sleeps):
    google.add_users(1)
    google.inject("users.list", backend_error(503, retry_after=formatdate(time.time() + 30,
                                                                          usegmt=True)))
    assert len(users_of(every_page(make_directory()))) == 1
    assert len(sleeps) == 1
    assert 25 <= sleeps[0] <= 31


@pytest.mark.parametrize("reason", ["userRateLimitExceeded", "quotaExceeded",
                                    "rateLimitExceeded"])
def test_403_rate_limits_back_off_and_retry(google: FakeGoogle, make_directory: MakeDirectory,
                                            sleeps: Sleeps, reason: str):
    google.add_users(3)
    google.inject("users.list", rate_limit_exceeded(reason), times=3)

    assert len(users_of(every_page(make_directory()))) == 3
    assert len(sleeps) == 3
    # Exponential, with up to a second of jitter.
    assert [int(wait) for wait in sleeps] == [1, 2, 4]
    assert len(google.calls("token")) == 1  # no token refresh: it is not a permission problem


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried(google: FakeGoogle, make_directory: MakeDirectory,
                                   sleeps: Sleeps, status: int):
    google.add_users(600)
    google.inject("users.list", backend_error(status), times=2)
    pages = every_page(make_directory())
    assert len(users_of(pages)) == 600
    assert len(sleeps) == 2


def test_errors_that_last_make_the_directory_unavailable(google: FakeGoogle,
                                                         make_directory: MakeDirectory,
                                                         sleeps: Sleeps):
    google.inject("users.list", backend_error(500), times=10)
    with pytest.raises(DirectoryUnavailableError) as unavailable:
        every_page(make_directory(max_attempts=4))
    assert len(google.calls("users.list")) == 4
    assert len(sleeps) == 3
    assert unavailable.value.retry_after is not None
    assert unavailable.value.retry_after >= 8


def test_a_long_retry_after_gives_the_job_back_at_once(google: FakeGoogle,
                                                       make_directory: MakeDirectory,
                                                       sleeps: Sleeps):
    google.inject("users.list", too_many_requests(retry_after="3600"))
    with pytest.raises(DirectoryUnavailableError) as unavailable:
        every_page(make_directory())
    assert sleeps == []
    assert unavailable.value.retry_after == 3600


def test_throttling_in_the_middle_of_a_round(google: FakeGoogle, make_directory: MakeDirectory,
                                             sleeps: Sleeps):
    google.add_users(1234)
    pages = make_directory().pages(resume=None, state=None)
    first = next(pages)
    google.inject("users.list", too_many_requests(retry_after="2"))
    google.inject("users.list", rate_limit_exceeded("quotaExceeded"))
    rest = list(pages)
    assert len(first.users) + len(users_of(rest)) == 1234
    assert len(sleeps) == 2
    assert sleeps[0] == 2.0


def test_an_unreachable_api_is_unavailable(google: FakeGoogle, google_settings: Settings,
                                           sleeps: Sleeps):
    credentials = oauth_credentials(google_settings, google.issue_refresh_token())
    settings = Settings(_env_file=None, **(google.settings_values()
                                           | {"google_api_endpoint": "http://127.0.0.1:9"}))
    with GoogleDirectory(settings, credentials, domain=DOMAIN, sleep=sleeps, max_attempts=2,
                         timeout=2) as directory, pytest.raises(DirectoryUnavailableError):
        every_page(directory)
    assert len(sleeps) == 1


# Revoked grants ---------------------------------------------------------------------------------


def test_a_revoked_refresh_token_needs_new_consent(google: FakeGoogle,
                                                   google_settings: Settings,
                                                   make_directory: MakeDirectory,
                                                   sleeps: Sleeps):
    google.add_users(3)
    token = google.issue_refresh_token()
    google.revoke(token)
    directory = make_directory(credentials=oauth_credentials(google_settings, token))
    with pytest.raises(ConsentRevokedError, match="invalid_grant"):
        every_page(directory)
    assert sleeps == []


def test_revocation_between_pages_needs_new_consent(google: FakeGoogle,
                                                    google_settings: Settings,
                                                    make_directory: MakeDirectory):
    google.add_users(600)
    token = google.issue_refresh_token()
    pages = make_directory(credentials=oauth_credentials(google_settings, token)).pages(
        resume=None, state=None)
    next(pages)
    google.revoke(token)  # kills its access tokens too: 401, refresh, invalid_grant
    with pytest.raises(ConsentRevokedError):
        next(pages)


def test_a_401_that_survives_the_token_refresh_needs_new_consent(
        google: FakeGoogle, make_directory: MakeDirectory):
    # google-auth refreshes the token on a 401 and tries again, twice at most.
    google.inject("users.list", invalid_credentials(), times=3)
    with pytest.raises(ConsentRevokedError):
        every_page(make_directory())
    assert len(google.calls("users.list")) == 3
    assert len(google.calls("token")) == 3


def test_a_403_forbidden_once_is_cured_by_a_fresh_token(google: FakeGoogle,
                                                        make_directory: MakeDirectory,
                                                        sleeps: Sleeps):
    google.add_users(2)
    google.inject("users.list", forbidden())
    assert len(users_of(every_page(make_directory()))) == 2
    assert len(google.calls("token")) == 2
    assert sleeps == []


def test_an_admin_who_lost_the_rights_needs_new_consent(google: FakeGoogle,
                                                        make_directory: MakeDirectory):
    google.admins.clear()
    with pytest.raises(ConsentRevokedError, match="Not Authorized"):
        every_page(make_directory())
    assert len(google.calls("users.list")) == 2
    assert len(google.calls("token")) == 2


# Service accounts (domain-wide delegation) ------------------------------------------------------


def test_a_delegated_service_account_lists_the_domain(google: FakeGoogle,
                                                      google_settings: Settings,
                                                      make_directory: MakeDirectory):
    google.add_users(3)
    key = google.add_service_account()

    directory = make_directory(credentials=service_account_credentials(google_settings, key,
                                                                       ADMIN))

    assert len(users_of(every_page(directory))) == 3
    token_request = google.calls("token")[0].form()
    assert token_request["grant_type"] == JWT_BEARER
    assertion = google.assertions[-1]
    assert assertion["sub"] == ADMIN
    assert assertion["iss"] == key["client_email"]
    assert assertion["scope"] == USER_SCOPE
    assert assertion["header"]["kid"] == key["private_key_id"]


def test_a_service_account_with_groups_asks_for_the_group_scope(google: FakeGoogle,
                                                                google_settings: Settings,
                                                                make_directory: MakeDirectory):
    ann = google.add_user(f"ann@{DOMAIN}")
    google.add_user(f"bob@{DOMAIN}")
    google.add_group(f"sales@{DOMAIN}", [ann])
    credentials = service_account_credentials(google_settings, google.add_service_account(),
                                              ADMIN, with_groups=True)
    directory = make_directory(scope=SyncScope(groups=(f"sales@{DOMAIN}",)),
                               credentials=credentials)
    assert [user.email for user in users_of(every_page(directory))] == [f"ann@{DOMAIN}"]
    assert google.assertions[-1]["scope"] == f"{USER_SCOPE} {GROUP_SCOPE}"


def test_withdrawn_delegation_needs_new_consent(google: FakeGoogle, google_settings: Settings,
                                                make_directory: MakeDirectory):
    key = google.add_service_account(delegated_scopes=())
    directory = make_directory(credentials=service_account_credentials(google_settings, key,
                                                                       ADMIN))
    with pytest.raises(ConsentRevokedError, match="unauthorized_client"):
        every_page(directory)


# Push channels --------------------------------------------------------------------------------


def test_watch_and_stop_round_trip(google: FakeGoogle, make_directory: MakeDirectory):
    alice = google.add_user(f"alice@{DOMAIN}")
    directory = make_directory()
    before = datetime.now(UTC)

    channel = directory.watch_users(channel_id="chan-1", token="secret-token",
                                    address="https://api.wehostvoip.test/hooks/google",
                                    ttl_seconds=3600)

    assert channel.channel_id == "chan-1"
    assert channel.resource_id
    assert channel.event == "update"
    assert channel.expires_at is not None
    assert before + timedelta(seconds=3590) <= channel.expires_at <= before + timedelta(
        seconds=3610)
    watch = google.calls("users.watch")[0]
    assert watch.param("domain") == DOMAIN
    assert watch.param("event") == "update"
    assert watch.json() == {"id": "chan-1", "type": "web_hook", "token": "secret-token",
                            "address": "https://api.wehostvoip.test/hooks/google",
                            "params": {"ttl": "3600"}}

    google.suspend_user(alice.id)
    google.add_user(f"bob@{DOMAIN}")  # an "add": not watched by this channel
    sync, update = (parse_notification(n.headers) for n in google.notifications)
    assert (sync.channel_id, sync.token, sync.resource_state, sync.message_number) == (
        "chan-1", "secret-token", "sync", 1)
    assert sync.is_sync
    assert (update.resource_state, update.message_number) == ("update", 2)
    assert update.resource_id == channel.resource_id
    assert json.loads(google.notifications[1].body)["id"] == alice.id

    directory.stop_channel(channel.channel_id, channel.resource_id)
    assert google.channels == {}
    assert google.calls("channels.stop")[0].json() == {"id": "chan-1",
                                                       "resourceId": channel.resource_id}
    google.suspend_user(alice.id, False)
    assert len(google.notifications) == 2
    directory.stop_channel(channel.channel_id, channel.resource_id)  # gone already: fine


def test_one_channel_per_event(make_directory: MakeDirectory, google: FakeGoogle):
    directory = make_directory()
    channels = [directory.watch_users(channel_id=f"chan-{event}", token="t",
                                      address="https://hooks.test/g", ttl_seconds=60,
                                      event=event) for event in ("add", "delete")]
    assert [channel.event for channel in channels] == ["add", "delete"]
    user = google.add_user(f"carol@{DOMAIN}")
    google.delete_user(user.id)
    states = [parse_notification(n.headers).resource_state for n in google.notifications]
    assert states == ["sync", "sync", "add", "delete"]
    with pytest.raises(ValueError, match="event"):
        directory.watch_users(channel_id="x", token="t", address="https://hooks.test/g",
                              ttl_seconds=60, event="rename")


def test_a_refused_webhook_address_is_an_error_not_revoked_consent(
        make_directory: MakeDirectory):
    with pytest.raises(DirectoryError, match="HTTPS") as failed:
        make_directory().watch_users(channel_id="c", token="t", address="http://plain.test/",
                                     ttl_seconds=60)
    assert not isinstance(failed.value, ConsentRevokedError)


def test_notifications_are_delivered_to_the_address(google: FakeGoogle,
                                                    make_directory: MakeDirectory):
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from threading import Thread

    received: list[dict[str, str]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append(dict(self.headers))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        google.deliver_notifications = google.allow_http_webhooks = True
        make_directory().watch_users(channel_id="c", token="tok",
                                     address=f"http://127.0.0.1:{server.server_port}/hook",
                                     ttl_seconds=60)
        google.wait_for_deliveries()
    finally:
        server.shutdown()
        server.server_close()
    assert [parse_notification(headers).resource_state for headers in received] == ["sync"]
    assert google.notifications[0].status == 200


def test_parse_notification_reads_headers_in_any_case():
    notification = parse_notification({
        "x-goog-channel-id": "chan", "X-GOOG-CHANNEL-TOKEN": "tok",
        "X-Goog-Resource-State": "delete", "X-Goog-Message-Number": "17",
        "X-Goog-Resource-ID": "res", "X-Goog-Resource-URI": "https://admin.googleapis.com/x",
        "X-Goog-Channel-Expiration": "Tue, 19 Nov 2030 01:13:52 GMT"})
    assert notification.channel_id == "chan"
    assert notification.token == "tok"
    assert notification.resource_state == "delete"
    assert not notification.is_sync
    assert notification.message_number == 17
    assert notification.channel_expiration == "Tue, 19 Nov 2030 01:13:52 GMT"


@pytest.mark.parametrize("headers", [
    {},
    {"X-Goog-Channel-ID": "chan", "X-Goog-Message-Number": "1"},
    {"X-Goog-Channel-ID": "chan", "X-Goog-Resource-State": "sync"},
    {"X-Goog-Channel-ID": "chan", "X-Goog-Resource-State": "sync", "X-Goog-Message-Number": "x"},
])
def test_parse_notification_refuses_what_is_not_one(headers):
    with pytest.raises(ValueError, match="X-Goog"):
        parse_notification(headers)


# The fake's pre-rendered mode (for benchmarks) -----------------------------------------------


def test_prerendered_pages_list_like_the_live_directory(google_settings: Settings,
                                                        tmp_path, sleeps: Sleeps):
    with FakeGoogle.prerendered(users=1234, domain=DOMAIN) as fake:
        settings = Settings(_env_file=None, data_dir=tmp_path, **fake.settings_values())
        credentials = oauth_credentials(settings, fake.issue_refresh_token())
        with GoogleDirectory(settings, credentials, domain=DOMAIN, sleep=sleeps) as directory:
            pages = every_page(directory)
    users = users_of(pages)
    assert [user.external_id for user in users] == fake.prerendered_ids
    assert sum(user.state is UserState.SUSPENDED for user in users) == 1234 // 50
    assert users[0].phones
    assert users[0].email == f"user000000@{DOMAIN}"
    assert pages[-1].complete
    assert len(pages) == 3
