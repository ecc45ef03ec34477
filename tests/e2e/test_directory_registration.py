"""A user imported from Google Workspace registers through a real Kamailio.

The whole chain: an ISP verifies its domain (TXT record on a loopback DNS server),
makes a tenant on it, links the tenant to the Google fake (consent over the wire and
our callback), discovers and imports the directory; the credentials sheet of the
import gives the user's SIP password, and the control plane exports the new
subscribers to the proxy. sipp then registers with that password. When Google
suspends the user, the next sync disables the subscriber and the proxy refuses it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import Settings
from tests.conftest import make_settings
from tests.dns_server import DnsServer
from tests.e2e.conftest import Phone, RoutedPlatform
from tests.e2e.proxy import free_port
from tests.fakes.google import FakeGoogle
from tests.sync.google.flow import FQDN, Flow, job_global_id, verified_tenant

pytestmark = [pytest.mark.kamailio, pytest.mark.postgres]


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


@pytest.fixture
def fake() -> Iterator[FakeGoogle]:
    with FakeGoogle(domain=FQDN) as google:
        yield google


@pytest.fixture
def settings(database_url: str, tmp_path: Path, dns: DnsServer, fake: FakeGoogle) -> Settings:
    """The suite's settings, with domain checks on the test's DNS server and the Google
    application pointed at the fake."""
    return make_settings(database_url, tmp_path, **dns.settings(), **fake.settings_values())


async def test_a_user_imported_from_google_registers_with_the_password_of_the_sheet(
        routed_platform: RoutedPlatform, dns: DnsServer, fake: FakeGoogle):
    platform = routed_platform
    alice = fake.add_user(f"alice@{FQDN}", given_name="Alice", family_name="Example")
    fake.add_users(9, prefix="staff")  # one suspension in ten stays within the brake
    tenant = await verified_tenant(platform.isp.client, dns, FQDN)
    flow = Flow(platform.isp.client, tenant, fake)
    before = platform.generation

    await flow.link()
    await flow.discover(sequentialStart=200)
    imported = await flow.import_all()
    sheet_job = await flow.wait(job_global_id(imported["resultRef"]))
    assert sheet_job["status"] == "SUCCEEDED", sheet_job
    sheet = await flow.sheet(sheet_job["id"])

    rows = {row[0]: row for row in sheet[1:]}
    assert sorted(rows) == ["alice"] + [f"staff{n:04d}" for n in range(1, 10)]
    username, extension, domain, password = rows["alice"][:4]
    assert (extension, domain) == ("200", FQDN)
    subscriber = (await flow.by_email())[alice.primary_email]
    phone = Phone(id=subscriber["id"], username=username, password=password, domain=domain)
    await platform.wait_in_step(previous_generation=before)
    phone_port = free_port()

    registered = platform.register(phone, phone_port)
    wrong = platform.register(phone, phone_port, password="Not-her-password-42", expect=401)

    assert registered.ok, platform.failure(registered)
    assert registered.final_status == 200, platform.failure(registered)
    assert wrong.ok, platform.failure(wrong)
    assert wrong.final_status == 401, platform.failure(wrong)

    # Google suspends her: the next sync disables the subscriber, and the proxy follows.
    fake.suspend_user(alice.id)
    before = platform.generation
    synced = await flow.sync_now()
    assert synced["status"] == "SUCCEEDED", synced
    assert synced["counters"]["disabled"] == 1
    await platform.wait_in_step(previous_generation=before)

    refused = platform.register(phone, phone_port, expect=403)

    assert refused.ok, platform.failure(refused)
    assert refused.final_status == 403, platform.failure(refused)
