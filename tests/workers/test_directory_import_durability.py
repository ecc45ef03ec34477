"""A directory import whose worker is killed mid-way reports, and hands over in its
credentials sheet, every user it imported, whichever attempt wrote them.

Real ``wehostvoip worker`` processes on a throw-away Redis (the cluster of
``test_job_durability``): the import job runs in one, which is SIGKILLed once the
first batch of subscribers is committed; the reconciler sends the job again and a
second worker finishes it. The preview comes from the real discovery engine over an
in-memory directory (``tests/sync/test_engine``), the sheet is the file the export
job stored.
"""

from __future__ import annotations

import io
import time
import uuid

import openpyxl
import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from core.database import session_scope
from core.directory_links import start_import
from core.models import (
    Administrator,
    JobStatus,
    Role,
    RoleGrant,
    Scope,
    StoredFile,
    Subscriber,
)
from core.viewer import AuthMethod, load_viewer
from sync.directory import DirectoryUser
from sync.engine import IMPORT_BATCH
from tests.sync.test_engine import MemoryDirectory, make_world, paged, run_discover
from tests.workers.test_job_durability import (  # noqa: F401 - the fixture
    STALE_SECONDS,
    Cluster,
    cluster,
)
from workers import context
from workers.jobs import reconcile


def _subscribers(engine: Engine, tenant_id: uuid.UUID) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(Subscriber).where(
            Subscriber.tenant_id == tenant_id)).scalar_one()


@pytest.mark.redis
@pytest.mark.parametrize(("batches", "killed_after"), [
    (2, 1),  # the worker dies after the first batch: half the users imported
    (4, 3),  # after most batches (the sheet then holds the whole tenant: over 10,000)
])
def test_an_import_killed_mid_way_reports_and_sheets_every_user(
        cluster: Cluster, engine: Engine, session: Session,  # noqa: F811
        batches: int, killed_after: int):
    world = make_world(session)
    users = [DirectoryUser(external_id=f"g-{n}", email=f"user{n:05d}@example.com",
                           given_name="User", family_name=str(n), display_name=f"User {n}")
             for n in range(batches * IMPORT_BATCH)]
    total = len(users)
    run_discover(engine, world, MemoryDirectory(paged(users, 500)))
    admin = Administrator(email="importer@example.test")
    session.add(admin)
    session.flush()
    session.add(RoleGrant(administrator_id=admin.id, scope=Scope.ISP, role=Role.ADMIN,
                          isp_id=world.isp.id))
    session.commit()
    first = cluster.start_worker()
    with session_scope(context.engine()) as writing:
        viewer = load_viewer(writing, admin.id, auth_method=AuthMethod.SESSION)
        assert viewer is not None
        job_id = start_import(writing, viewer, world.tenant.id).id

    # SIGKILL once those batches are committed, while the next one is being made.
    cluster.wait_for_job(job_id, lambda job: _subscribers(engine, world.tenant.id)
                         >= killed_after * IMPORT_BATCH, "past its batches", timeout=180)
    first.kill()
    killed_at = _subscribers(engine, world.tenant.id)
    assert killed_after * IMPORT_BATCH <= killed_at < total
    cluster.start_worker()
    time.sleep(STALE_SECONDS + 0.5)  # the killed worker's heartbeat goes stale
    assert reconcile() >= 1
    job = cluster.wait_for_job(job_id, lambda job: job.status is JobStatus.SUCCEEDED,
                               "SUCCEEDED after the re-run", timeout=180)

    assert job.attempts >= 2
    assert _subscribers(engine, world.tenant.id) == total
    # The whole import, not only what the last attempt created.
    assert (job.counters["created"], job.counters["linked"], job.counters["errors"]) == (
        total, 0, 0)
    assert job.result_ref
    assert job.result_ref.startswith("Job:")
    sheet_job_id = uuid.UUID(job.result_ref.removeprefix("Job:"))
    sheet_job = cluster.wait_for_job(sheet_job_id, lambda job: job.status in {
        JobStatus.SUCCEEDED, JobStatus.FAILED}, "the sheet written", timeout=180)
    assert sheet_job.status is JobStatus.SUCCEEDED, sheet_job.errors
    with Session(engine) as reading:
        stored = reading.get(StoredFile, uuid.UUID(str(sheet_job.result_ref)))
        assert stored is not None
        synced_names = set(reading.execute(select(Subscriber.username).where(
            Subscriber.tenant_id == world.tenant.id)).scalars())
    workbook = openpyxl.load_workbook(io.BytesIO(stored.content), read_only=True)
    names = [row[0] for row in workbook["Credentials"].iter_rows(min_row=2, values_only=True)]
    assert len(names) == total
    assert set(names) == synced_names
