"""A Google re-sync whose worker process is SIGKILLed mid-round still ends with the
disables and removals of an uninterrupted round.

Real ``wehostvoip worker`` processes on a throw-away Redis (the cluster of
``test_job_durability``), the Google fake of ``tests/fakes/google.py`` on loopback
(the workers' adapter talks to it with the real client libraries). The tenant's users
are discovered and imported by the engine beforehand; then users are deleted from the
directory, on the pages listed before the kill and after it.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from sqlmodel import Session

from core.database import session_scope
from core.directory_links import start_sync
from core.models import (
    Administrator,
    DirectoryLink,
    DirectoryLinkStatus,
    Job,
    JobStatus,
    Role,
    RoleGrant,
    Scope,
    Subscriber,
    SubscriberStatus,
    Tenant,
    VerifiedDomain,
    VerifiedDomainStatus,
    utcnow,
)
from core.secrets import secret_box
from core.viewer import AuthMethod, load_viewer
from sync.engine import discover, import_preview
from sync.google.consent import oauth_credentials
from sync.google.directory import GoogleDirectory
from tests.conftest import TEST_SECRET_KEY, make_settings
from tests.fakes.google import FakeGoogle, FakeResponse, RecordedRequest
from tests.sync.test_engine import make_world, quiet
from tests.workers.test_job_durability import (  # noqa: F401 - the fixture
    STALE_SECONDS,
    Cluster,
    cluster,
)
from workers import context
from workers.jobs import reconcile

DOMAIN = "durable-sync.example"
USERS = 6000  # twelve pages of 500
BOX = secret_box([bytes.fromhex(TEST_SECRET_KEY)])


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    with FakeGoogle(domain=DOMAIN) as fake:
        yield fake


def _state(engine: Engine, tenant_id: uuid.UUID) -> dict[str, tuple[SubscriberStatus, bool]]:
    with Session(engine) as session:
        return {row.email: (row.status, row.directory_deleted_at is not None)
                for row in session.execute(select(Subscriber).where(
                    Subscriber.tenant_id == tenant_id)).scalars()}


@pytest.mark.redis
def test_a_round_killed_mid_way_still_removes_every_deleted_user(
        cluster: Cluster, google: FakeGoogle, engine: Engine, session: Session,  # noqa: F811
        database_url: str, tmp_path: Path):
    world = make_world(session)
    domain = VerifiedDomain(isp_id=world.isp.id, fqdn=DOMAIN, challenge_token="t",
                            status=VerifiedDomainStatus.VERIFIED, verified_at=utcnow())
    session.add(domain)
    session.flush()
    session.execute(update(Tenant).where(Tenant.id == world.tenant.id).values(
        domain=DOMAIN, verified_domain_id=domain.id))
    token = google.issue_refresh_token()
    session.execute(update(DirectoryLink).where(DirectoryLink.id == world.link_id).values(
        credentials_encrypted=BOX.encrypt(json.dumps({"kind": "oauth",
                                                      "refresh_token": token}))))
    admin = Administrator(email="syncer@example.test")
    session.add(admin)
    session.flush()
    session.add(RoleGrant(administrator_id=admin.id, scope=Scope.ISP, role=Role.ADMIN,
                          isp_id=world.isp.id))
    session.commit()
    users = google.add_users(USERS)
    settings = make_settings(database_url, tmp_path, **google.settings_values())
    with GoogleDirectory(settings, oauth_credentials(settings, token), domain=DOMAIN) as adapter:
        discover(engine, world.link_id, adapter, alias_start=1000, progress=quiet)
    assert len(import_preview(engine, BOX, world.link_id, progress=quiet).created) == USERS
    with session_scope(engine) as writing:
        writing.execute(update(DirectoryLink).where(DirectoryLink.id == world.link_id)
                        .values(status=DirectoryLinkStatus.ACTIVE))
    # Deleted: two users of the first page (listed before the kill), two of the last.
    gone = [users[0], users[1], users[-2], users[-1]]
    for user in gone:
        google.delete_user(user.id)

    # After four pages the directory hangs (until ``flowing``): the worker is killed while
    # it waits for the fifth, its first four pages checkpointed.
    flowing = threading.Event()
    listing = google._users_list
    answered: list[int] = []

    def users_list(request: RecordedRequest) -> FakeResponse:
        if len(answered) >= 4:
            flowing.wait(120)
        answer = listing(request)
        answered.append(answer.status)
        return answer

    google._users_list = users_list  # type: ignore[method-assign]
    cluster.env.update({f"WEHOSTVOIP_{name.upper()}": value
                        for name, value in google.settings_values().items()})
    first = cluster.start_worker()
    with session_scope(context.engine()) as writing:
        viewer = load_viewer(writing, admin.id, auth_method=AuthMethod.SESSION)
        assert viewer is not None
        job_id = start_sync(writing, viewer, world.tenant.id).id
    cluster.wait_for_job(job_id, lambda job: bool(job.payload.get("resume"))
                         and len(google.calls("users.list")) >= USERS // 500 + 5,
                         "waiting for its fifth page", timeout=120)
    first.kill()
    with Session(engine) as reading:
        killed = reading.get(Job, job_id)
        assert killed is not None
        assert killed.status is JobStatus.RUNNING
    flowing.set()
    cluster.start_worker()
    time.sleep(STALE_SECONDS + 0.5)  # the killed worker's heartbeat goes stale
    assert reconcile() >= 1
    job = cluster.wait_for_job(job_id, lambda job: job.status is JobStatus.SUCCEEDED,
                               "SUCCEEDED after the re-run", timeout=180)

    assert job.attempts >= 2
    # What an uninterrupted round does (tests/sync/test_engine.py compares the two): the
    # deleted users' subscribers disabled and marked for removal, nobody else touched.
    state = _state(engine, world.tenant.id)
    assert {email for email, (_, deleted) in state.items() if deleted} == {
        user.primary_email for user in gone}
    assert all(status is SubscriberStatus.DISABLED for email, (status, _) in state.items()
               if email in {user.primary_email for user in gone})
    assert sum(status is SubscriberStatus.ACTIVE for status, _ in state.values()) == USERS - 4
    assert job.counters["removed"] == 4
