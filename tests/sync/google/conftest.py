"""The Google fake, settings pointing at it, and adapters built against it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from google.auth.credentials import Credentials

from core.settings import Settings
from sync.directory import SyncScope
from sync.google.consent import (
    GoogleGrant,
    consent_url,
    exchange_code,
    new_pkce,
    oauth_credentials,
)
from sync.google.directory import GoogleDirectory
from tests.fakes.google import FakeGoogle

DOMAIN = "example.com"
ADMIN = f"admin@{DOMAIN}"
REDIRECT_URI = "https://app.wehostvoip.test/directory/google/callback"


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    with FakeGoogle(domain=DOMAIN) as fake:
        yield fake


@pytest.fixture
def google_settings(google: FakeGoogle, tmp_path: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **google.settings_values())


class Sleeps(list[float]):
    """An injectable sleep that records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_directory(
    google: FakeGoogle, google_settings: Settings, sleeps: Sleeps
) -> Iterator[Callable[..., GoogleDirectory]]:
    """GoogleDirectory(...) with the administrator's consent, unless credentials are given."""
    made: list[GoogleDirectory] = []

    def make(*, scope: SyncScope | None = None, credentials: Credentials | None = None,
             **options: object) -> GoogleDirectory:
        if credentials is None:
            credentials = oauth_credentials(google_settings, google.issue_refresh_token())
        directory = GoogleDirectory(google_settings, credentials, domain=DOMAIN,
                                    scope=scope or SyncScope(), sleep=sleeps, **options)
        made.append(directory)
        return directory

    yield make
    for directory in made:
        directory.close()


def consent(settings: Settings, *, domain: str = DOMAIN, with_groups: bool = False,
            http: httpx.Client | None = None) -> GoogleGrant:
    """The whole consent round trip: our URL, Google's redirect back, the code exchange."""
    verifier, challenge = new_pkce()
    url = consent_url(settings, state="state-123", code_challenge=challenge,
                      redirect_uri=REDIRECT_URI, domain=domain, with_groups=with_groups)
    code = follow_consent(url)
    return exchange_code(settings, code=code, code_verifier=verifier, redirect_uri=REDIRECT_URI,
                         expected_domain=domain, http=http)


def follow_consent(url: str) -> str:
    """Open the consent URL as the browser would; the code from Google's redirect."""
    answer = httpx.get(url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    callback = parse_qs(urlsplit(answer.headers["location"]).query)
    assert callback["state"] == ["state-123"]
    assert "error" not in callback, callback
    return callback["code"][0]
