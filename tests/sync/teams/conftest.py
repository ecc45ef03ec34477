"""The fake Entra + Graph server, an HTTP client on its seam, and settings naming our app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from core.settings import Settings
from tests.fakes.microsoft import FakeMicrosoft

CLIENT_ID = "00001111-aaaa-2222-bbbb-3333cccc4444"
CLIENT_SECRET = "test-client-secret"
PAGE_SIZE = 3  # small pages, so a handful of users spans several


@pytest.fixture
def fake() -> Iterator[FakeMicrosoft]:
    with FakeMicrosoft(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                       page_size=PAGE_SIZE) as server:
        yield server


@pytest.fixture
def http(fake: FakeMicrosoft) -> Iterator[httpx.Client]:
    """A client whose transport sends the real login and Graph hosts to the fake."""
    with fake.client(timeout=10) as client:
        yield client


@pytest.fixture
def ms_settings(tmp_path: Path) -> Settings:
    """Settings with the platform's Entra application; production URLs left as they are."""
    return Settings(
        _env_file=None,
        data_dir=tmp_path,
        microsoft_client_id=CLIENT_ID,
        microsoft_client_secret=SecretStr(CLIENT_SECRET),
    )


class Sleeps(list[float]):
    """An injectable ``sleep`` that records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()
