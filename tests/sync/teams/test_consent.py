"""Linking an Entra tenant: consent URL, callback, and the domain proof, with real msal."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from core.settings import Settings
from sync.directory import ConsentRefusedError
from sync.teams.consent import admin_consent_url, consent_result, verify_domain
from tests.fakes.microsoft import FakeMicrosoft
from tests.sync.teams.conftest import CLIENT_ID

# The consent URL ----------------------------------------------------------------------------


def test_admin_consent_url_asks_the_v2_endpoint_for_the_default_graph_scope(ms_settings):
    url = admin_consent_url(ms_settings, state="st4te/+?", redirect_uri="https://app.test/cb?x=1")

    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https", "login.microsoftonline.com", "/organizations/v2.0/adminconsent")
    assert parse_qs(parts.query) == {
        "client_id": [CLIENT_ID],
        "scope": ["https://graph.microsoft.com/.default"],
        "redirect_uri": ["https://app.test/cb?x=1"],
        "state": ["st4te/+?"],
    }


def test_admin_consent_url_follows_a_national_cloud(ms_settings):
    china = ms_settings.model_copy(update={
        "microsoft_authority_host": "https://login.partner.microsoftonline.cn/",
        "microsoft_graph_url": "https://microsoftgraph.chinacloudapi.cn",
    })

    parts = urlsplit(admin_consent_url(china, state="s", redirect_uri="https://app.test/cb"))

    assert parts.netloc == "login.partner.microsoftonline.cn"
    assert parts.path == "/organizations/v2.0/adminconsent"
    assert parse_qs(parts.query)["scope"] == ["https://microsoftgraph.chinacloudapi.cn/.default"]


# The callback -------------------------------------------------------------------------------


def test_the_callback_gives_the_tenant_id():
    tenant = "AAAABBBB-0000-CCCC-1111-DDDD2222EEEE"
    params = {"admin_consent": "True", "tenant": tenant, "state": "12345",
              "scope": "https://graph.microsoft.com/.default"}

    assert consent_result(params) == tenant.lower()


@pytest.mark.parametrize("params", [
    # Entra's error answers still say admin_consent=True
    {"admin_consent": "True", "error": "consent_required", "state": "1",
     "error_description": "AADSTS65004: The resource owner or authorization server denied "
                          "the request.\r\nTrace ID: x"},
    {"error": "access_denied", "error_description": "the user canceled", "state": "1"},
    {"admin_consent": "False", "tenant": str(uuid.uuid4()), "state": "1"},
    {"tenant": str(uuid.uuid4()), "state": "1"},
])
def test_a_refused_consent_is_denied(params):
    with pytest.raises(ConsentRefusedError) as raised:
        consent_result(params)
    assert raised.value.code == "CONSENT_DENIED"


def test_the_error_description_is_kept_in_the_message():
    with pytest.raises(ConsentRefusedError, match="AADSTS65004"):
        consent_result({"admin_consent": "True", "error": "consent_required",
                        "error_description": "AADSTS65004: denied\r\nTrace ID: x"})


@pytest.mark.parametrize("tenant", ["", "   ", "contoso.com/../x", "not-a-guid"])
def test_a_callback_without_a_usable_tenant_failed(tenant):
    params = {"admin_consent": "True", "state": "1"}
    if tenant:
        params["tenant"] = tenant
    with pytest.raises(ConsentRefusedError) as raised:
        consent_result(params)
    assert raised.value.code == "CONSENT_FAILED"


# The domain proof ---------------------------------------------------------------------------


def test_a_verified_domain_of_the_tenant_passes(fake: FakeMicrosoft, http: httpx.Client,
                                                ms_settings: Settings):
    tenant = fake.add_tenant(domains=["contoso.com", "contoso.net"])

    verify_domain(ms_settings, tenant.id, "Contoso.NET", http_client=http)

    assert [r.path for r in fake.graph_requests()] == ["/v1.0/domains"]
    token_request = fake.token_requests(tenant.id)[0]
    assert token_request.host == "login.microsoftonline.com"  # msal kept its https authority
    assert token_request.form["scope"] == "https://graph.microsoft.com/.default"
    assert token_request.form["grant_type"] == "client_credentials"


def test_a_domain_verified_only_in_another_tenant_is_refused(fake: FakeMicrosoft,
                                                             http: httpx.Client,
                                                             ms_settings: Settings):
    fake.add_tenant(domains=["contoso.com"])  # the directory that owns the domain
    intruder = fake.add_tenant(domains=["fabrikam.com"])  # consented, but not the owner

    with pytest.raises(ConsentRefusedError) as raised:
        verify_domain(ms_settings, intruder.id, "contoso.com", http_client=http)
    assert raised.value.code == "WRONG_DOMAIN"


def test_an_unverified_domain_is_refused(fake: FakeMicrosoft, http: httpx.Client,
                                         ms_settings: Settings):
    tenant = fake.add_tenant(domains=["fabrikam.com"], unverified=["contoso.com"])

    with pytest.raises(ConsentRefusedError) as raised:
        verify_domain(ms_settings, tenant.id, "contoso.com", http_client=http)
    assert raised.value.code == "WRONG_DOMAIN"


def test_consent_still_propagating_is_waited_for(fake: FakeMicrosoft, http: httpx.Client,
                                                 ms_settings: Settings):
    tenant = fake.add_tenant(domains=["contoso.com"], consented=False)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        tenant.grant_consent()  # the service principal shows up meanwhile

    verify_domain(ms_settings, tenant.id, "contoso.com", http_client=http, sleep=sleep)

    assert waits == [2.0]
    assert [r.status for r in fake.token_requests(tenant.id)] == [401, 200]


def test_a_tenant_without_consent_fails_after_the_waits(fake: FakeMicrosoft, http: httpx.Client,
                                                        ms_settings: Settings):
    tenant = fake.add_tenant(domains=["contoso.com"], consented=False)
    waits: list[float] = []

    with pytest.raises(ConsentRefusedError, match="AADSTS7000229") as raised:
        verify_domain(ms_settings, tenant.id, "contoso.com", http_client=http,
                      sleep=waits.append)
    assert raised.value.code == "CONSENT_FAILED"
    assert waits == [2.0, 5.0]


def test_an_unknown_tenant_fails(fake: FakeMicrosoft, http: httpx.Client, ms_settings: Settings):
    with pytest.raises(ConsentRefusedError) as raised:
        verify_domain(ms_settings, str(uuid.uuid4()), "contoso.com", http_client=http,
                      sleep=lambda _: None)
    assert raised.value.code == "CONSENT_FAILED"
    assert fake.graph_requests() == []


def test_graph_refusing_the_domain_list_fails(fake: FakeMicrosoft, http: httpx.Client,
                                              ms_settings: Settings):
    tenant = fake.add_tenant(domains=["contoso.com"])
    tenant.remove_permissions()

    with pytest.raises(ConsentRefusedError, match="403") as raised:
        verify_domain(ms_settings, tenant.id, "contoso.com", http_client=http)
    assert raised.value.code == "CONSENT_FAILED"
