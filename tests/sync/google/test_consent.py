"""Admin consent (OAuth 2.0 code flow with PKCE, id_token checks) and credentials, over HTTP
against the Google fake."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from google.oauth2 import service_account
from google_auth_httplib2 import Request
from httplib2 import Http

from core.settings import Settings
from sync.directory import ConsentRefusedError, DirectoryUnavailableError
from sync.google.consent import (
    GROUP_SCOPE,
    USER_SCOPE,
    check_service_account_key,
    consent_url,
    exchange_code,
    new_pkce,
    oauth_credentials,
    service_account_credentials,
)
from tests.fakes.google import FakeGoogle, backend_error
from tests.sync.google.conftest import ADMIN, DOMAIN, REDIRECT_URI, consent, follow_consent

# PKCE and the consent URL ---------------------------------------------------------------


def test_new_pkce_gives_a_fresh_verifier_and_its_s256_challenge():
    verifier, challenge = new_pkce()
    assert re.fullmatch(r"[A-Za-z0-9._~-]{43,128}", verifier)
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert new_pkce()[0] != verifier


@pytest.mark.parametrize("with_groups", [False, True])
def test_consent_url_asks_for_offline_directory_access_with_pkce(
        google_settings: Settings, with_groups: bool):
    url = consent_url(google_settings, state="s", code_challenge="c" * 43,
                      redirect_uri=REDIRECT_URI, domain=DOMAIN, with_groups=with_groups)

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == google_settings.google_auth_uri
    params = {key: values[0] for key, values in parse_qs(parts.query).items()}
    scopes = ["openid", "email", USER_SCOPE] + ([GROUP_SCOPE] if with_groups else [])
    assert params == {
        "client_id": google_settings.google_client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": " ".join(scopes),
        "access_type": "offline",
        "prompt": "consent",
        "state": "s",
        "code_challenge": "c" * 43,
        "code_challenge_method": "S256",
        "hd": DOMAIN,
    }


# The code exchange -------------------------------------------------------------------------


def test_exchange_code_gives_a_refresh_token_that_works(google: FakeGoogle,
                                                        google_settings: Settings):
    grant = consent(google_settings)

    assert grant.email == ADMIN
    assert grant.hosted_domain == DOMAIN
    assert USER_SCOPE in grant.scopes
    redeem = google.calls("token")[0].form()
    assert redeem["grant_type"] == "authorization_code"
    assert redeem["client_secret"] == google.client_secret
    assert redeem["redirect_uri"] == REDIRECT_URI
    assert redeem["code_verifier"]
    assert google.calls("certs"), "the id_token was checked against the published keys"
    # The refresh token gives access tokens the Directory API accepts.
    credentials = oauth_credentials(google_settings, grant.refresh_token)
    credentials.refresh(Request(Http()))
    assert credentials.token


def test_exchange_code_with_groups_keeps_the_group_scope(google_settings: Settings):
    grant = consent(google_settings, with_groups=True)
    assert GROUP_SCOPE in grant.scopes


def test_exchange_code_uses_the_given_http_client(google: FakeGoogle, google_settings: Settings):
    with httpx.Client(headers={"User-Agent": "wehostvoip-test"}) as http:
        consent(google_settings, http=http)
    assert google.calls("token")[0].headers["user-agent"] == "wehostvoip-test"


@pytest.mark.parametrize(("account", "hd"), [
    ("someone@other.org", "other.org"),  # another Workspace
    ("someone@gmail.com", None),  # a consumer account: no hd claim at all
])
def test_an_account_outside_the_domain_is_refused(google: FakeGoogle, google_settings: Settings,
                                                  account: str, hd: str | None):
    google.consent_as(account, hd=hd)
    with pytest.raises(ConsentRefusedError) as refused:
        consent(google_settings)
    assert refused.value.code == "WRONG_DOMAIN"


def test_the_domain_is_compared_without_case(google: FakeGoogle, google_settings: Settings):
    google.consent_as("Admin@Example.com", hd="Example.COM")
    assert consent(google_settings, domain="EXAMPLE.com").hosted_domain == DOMAIN


def test_an_email_in_the_domain_without_hd_is_still_refused(google: FakeGoogle,
                                                            google_settings: Settings):
    # Only Google's signed hd claim proves Workspace membership, not the address.
    google.consent_as(ADMIN, hd=None)
    with pytest.raises(ConsentRefusedError) as refused:
        consent(google_settings)
    assert refused.value.code == "WRONG_DOMAIN"


def test_a_forged_id_token_is_refused(google: FakeGoogle, google_settings: Settings):
    google.forge_id_tokens = True  # signed with a key Google does not publish
    with pytest.raises(ConsentRefusedError) as refused:
        consent(google_settings)
    assert refused.value.code == "INVALID_ID_TOKEN"


@pytest.mark.parametrize("claims", [
    {"aud": "another-client.apps.googleusercontent.com"},
    {"iss": "https://accounts.example.net"},
    {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
])
def test_an_id_token_for_someone_else_or_expired_is_refused(
        google: FakeGoogle, google_settings: Settings, claims: dict):
    google.id_token_claims = claims
    with pytest.raises(ConsentRefusedError) as refused:
        consent(google_settings)
    assert refused.value.code == "INVALID_ID_TOKEN"


def test_the_legacy_issuer_is_accepted(google: FakeGoogle, google_settings: Settings):
    google.id_token_claims = {"iss": "accounts.google.com"}
    assert consent(google_settings).email == ADMIN


def test_a_code_used_twice_is_refused(google_settings: Settings):
    verifier, challenge = new_pkce()
    url = consent_url(google_settings, state="state-123", code_challenge=challenge,
                      redirect_uri=REDIRECT_URI, domain=DOMAIN, with_groups=False)
    code = follow_consent(url)
    options = {"code": code, "code_verifier": verifier, "redirect_uri": REDIRECT_URI,
               "expected_domain": DOMAIN}
    exchange_code(google_settings, **options)
    with pytest.raises(ConsentRefusedError) as refused:
        exchange_code(google_settings, **options)
    assert refused.value.code == "CONSENT_FAILED"
    assert "invalid_grant" in str(refused.value)


def test_a_wrong_code_verifier_is_refused(google_settings: Settings):
    _, challenge = new_pkce()
    url = consent_url(google_settings, state="state-123", code_challenge=challenge,
                      redirect_uri=REDIRECT_URI, domain=DOMAIN, with_groups=False)
    code = follow_consent(url)
    with pytest.raises(ConsentRefusedError) as refused:
        exchange_code(google_settings, code=code, code_verifier=new_pkce()[0],
                      redirect_uri=REDIRECT_URI, expected_domain=DOMAIN)
    assert refused.value.code == "CONSENT_FAILED"


def test_a_wrong_client_secret_is_a_failed_consent(google: FakeGoogle, tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path,
                        **(google.settings_values() | {"google_client_secret": "not-it"}))
    with pytest.raises(ConsentRefusedError) as refused:
        consent(settings)
    assert refused.value.code == "CONSENT_FAILED"
    assert "invalid_client" in str(refused.value)


def test_no_refresh_token_is_a_failed_consent(google: FakeGoogle, google_settings: Settings):
    google.issue_refresh_tokens = False
    with pytest.raises(ConsentRefusedError) as refused:
        consent(google_settings)
    assert refused.value.code == "CONSENT_FAILED"


def test_unticked_directory_permission_is_refused(google: FakeGoogle,
                                                  google_settings: Settings):
    google.consent_as(ADMIN, hd=DOMAIN, grants=())  # granular consent: only sign-in left
    with pytest.raises(ConsentRefusedError) as refused:
        consent(google_settings)
    assert refused.value.code == "SCOPE_NOT_GRANTED"


def test_token_endpoint_down_is_unavailable_not_refused(google: FakeGoogle,
                                                        google_settings: Settings):
    google.inject("token", backend_error(503, retry_after="30"))
    with pytest.raises(DirectoryUnavailableError) as unavailable:
        consent(google_settings)
    assert unavailable.value.retry_after == 30


# Credentials -------------------------------------------------------------------------------


def test_oauth_credentials_keep_the_consented_scopes_unless_told(google_settings: Settings):
    assert oauth_credentials(google_settings, "r").scopes is None
    assert oauth_credentials(google_settings, "r", with_groups=True).scopes == [
        USER_SCOPE, GROUP_SCOPE]
    credentials = oauth_credentials(google_settings, "r")
    assert credentials.token_uri == google_settings.google_token_uri
    assert credentials.client_id == google_settings.google_client_id


def test_service_account_credentials_delegate_to_the_admin(google: FakeGoogle,
                                                           google_settings: Settings):
    key = google.add_service_account()
    credentials = service_account_credentials(google_settings, key, ADMIN, with_groups=True)

    assert isinstance(credentials, service_account.Credentials)
    assert credentials._token_uri == google_settings.google_token_uri  # not the key file's
    assert credentials._subject == ADMIN
    assert credentials.scopes == [USER_SCOPE, GROUP_SCOPE]


def test_check_service_account_key_accepts_a_real_key(google: FakeGoogle):
    key = google.add_service_account()
    assert check_service_account_key(json.dumps(key)) == key
    assert check_service_account_key(json.dumps(key).encode()) == key


@pytest.mark.parametrize(("change", "message"), [
    (lambda key: "not json {", "not JSON"),
    (lambda key: json.dumps([key]), "not a JSON object"),
    (lambda key: json.dumps(key | {"type": "authorized_user"}), "'authorized_user'"),
    (lambda key: json.dumps({k: v for k, v in key.items() if k != "type"}), "None"),
    (lambda key: json.dumps({k: v for k, v in key.items() if k != "client_email"}),
     "no client_email"),
    (lambda key: json.dumps(key | {"client_email": "nobody"}), "not an e-mail"),
    (lambda key: json.dumps(key | {"private_key": ""}), "no private_key"),
    (lambda key: json.dumps(key | {"private_key": key["private_key"][:200]}),
     "not a readable PEM"),
])
def test_check_service_account_key_says_what_is_wrong(google: FakeGoogle, change, message):
    key = google.add_service_account()
    with pytest.raises(ValueError, match=re.escape(message)):
        check_service_account_key(change(key))
