"""Number imports through the real path: the numberImport mutation, a worker, the job's end.

Also the periodic task that brings numbers out of quarantine.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import dramatiq
import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from starlette.applications import Starlette

from core import number_ranges
from core.models import (
    Administrator,
    AuditEvent,
    Isp,
    Number,
    NumberState,
    Role,
    RoleGrant,
    Scope,
    StoredFile,
    utcnow,
)
from core.passwords import hash_password
from core.settings import Settings
from schema.core.ids import id_of
from tests.factories import make_isp, make_number
from tests.graphql import PASSWORD, Client, SignedUp, sign_up
from workers import context
from workers.number_import import QUARANTINE_EXPIRY_SECONDS
from workers.registry import PERIODIC_TASKS

IMPORT = """mutation($isp: ID, $file: Upload!) {
  numberImport(input: {isp: $isp, file: $file}) {
    job { id kind status subjectType subjectId }
    errors { field code message }
  }
}"""
JOB = """query($id: ID!) { job(id: $id) {
  status errorCode progress { done total } counters errors { code message details } } }"""
WAIT_SECONDS = 60


@pytest.fixture
async def owner(app: Starlette, engine: Engine) -> AsyncIterator[SignedUp]:
    signed = await sign_up(app, engine, label="importer")
    yield signed
    await signed.client.close()


async def upload(client: Client, content: bytes, isp: str | None) -> dict[str, Any]:
    response = await client.post(IMPORT, {"isp": isp, "file": None},
                                 files={"file": ("numbers.csv", content, "text/csv")})
    return response.json()["data"]["numberImport"]


async def finished_job(client: Client, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        job = (await client.execute(JOB, {"id": job_id}))["job"]
        if job["status"] in {"SUCCEEDED", "FAILED", "CANCELLED"}:
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"the import did not end within {WAIT_SECONDS} s: {job}")


async def imported(owner: SignedUp, content: bytes) -> dict[str, Any]:
    """Upload the file, and the job once the worker has finished it."""
    payload = await upload(owner.client, content, owner.isp_id)
    assert payload["errors"] == [], payload
    return await finished_job(owner.client, payload["job"]["id"])


def csv_file(*rows: str, header: str = "e164,price,vendor_price,sms") -> bytes:
    return "\n".join([header, *rows]).encode()


def numbers_of(session: Session, owner: SignedUp) -> int:
    return session.exec(select(func.count()).select_from(Number)
                        .where(Number.isp_id == id_of(owner.isp_id, "Isp"))).one()


async def test_a_clean_file_is_imported_whole(owner: SignedUp, worker: dramatiq.Broker,
                                              session: Session):
    rows = [f"+1209555{n:04d},1.10,0.30,{n % 2 == 0}" for n in range(2_500)]
    job = await imported(owner, csv_file(*rows))
    assert (job["status"], job["errorCode"]) == ("SUCCEEDED", None)
    assert job["progress"] == {"done": 2_500, "total": 2_500}
    assert job["counters"] == {"imported": 2_500}
    assert numbers_of(session, owner) == 2_500
    assert session.exec(select(func.sum(Number.price))).one() == Decimal("2750.0000")
    actions = session.exec(select(AuditEvent.action, AuditEvent.actor_email)
                           .where(AuditEvent.action.like("number.import%"))
                           .order_by(AuditEvent.occurred_at)).all()
    assert actions == [("number.import_request", owner.email), ("number.import", owner.email)]


async def test_a_bad_file_fails_naming_its_lines_and_imports_nothing(
    owner: SignedUp, worker: dramatiq.Broker, session: Session
):
    make_number(session, make_isp(session), e164="+12095550003")
    job = await imported(owner, csv_file(
        "+12095550001,1,0,false",
        "+12095550002,-1,0,false",
        "+12095550003,1,0,false",
        "+12095550001,1,0,maybe",
    ))
    assert (job["status"], job["errorCode"]) == ("FAILED", "INVALID_FILE")
    assert job["errors"][-1]["details"] == [
        "line 3: price: use an amount of zero or more",
        "line 5: sms: write true or false",
        number_ranges.HELD_ELSEWHERE,
    ]
    assert numbers_of(session, owner) == 0


async def test_a_file_with_many_mistakes_says_how_many_were_not_shown(
    owner: SignedUp, worker: dramatiq.Broker
):
    job = await imported(owner, csv_file(*(f"+1209,{n}" for n in range(150)),
                                         header="e164,source"))
    details = job["errors"][-1]["details"]
    assert (len(details), details[0], details[-1]) == (
        100, "line 2: e164: too short for a number of country code +1", "... and 51 more")


async def test_a_file_without_the_number_column_is_refused_whole(
    owner: SignedUp, worker: dramatiq.Broker
):
    job = await imported(owner, csv_file("1.00", header="price"))
    assert job["errors"][-1]["details"] == ["missing column(s): e164"]


async def test_one_import_per_isp_at_a_time(owner: SignedUp, session: Session):
    # No worker runs here: the first import stays queued.
    first = await upload(owner.client, csv_file("+12095550001,1,0,false"), None)
    assert first["job"]["kind"] == "numbers.import"
    assert (first["job"]["subjectType"], first["job"]["subjectId"]) == ("Isp", owner.isp_id)
    second = await upload(owner.client, csv_file("+12095550002,1,0,false"), owner.isp_id)
    assert [(error["field"], error["code"]) for error in second["errors"]] == [
        (["file"], "ALREADY_EXISTS")]
    assert len(session.exec(select(StoredFile)).all()) == 1  # the second file was not kept


async def test_an_import_into_another_isp_is_not_found(owner: SignedUp, app: Starlette,
                                                       engine: Engine):
    other = await sign_up(app, engine, label="other")
    payload = await upload(owner.client, csv_file("+12095550001,1,0,false"), other.isp_id)
    assert [(error["field"], error["code"]) for error in payload["errors"]] == [
        (["isp"], "NOT_FOUND")]
    await other.client.close()


async def test_an_import_is_not_permitted_to_viewers_nor_to_anonymous(
    owner: SignedUp, app: Starlette, session: Session
):
    someone = Administrator(email="viewer@importer.example",
                            password_hash=hash_password(PASSWORD))
    session.add(someone)
    session.flush()
    session.add(RoleGrant(administrator_id=someone.id, scope=Scope.ISP, role=Role.VIEWER,
                          isp_id=id_of(owner.isp_id, "Isp")))
    session.commit()
    viewer, anonymous = Client(app), Client(app)
    await viewer.login(someone.email)
    content = csv_file("+12095550001,1,0,false")
    assert (await upload(viewer, content, owner.isp_id))["errors"][0]["code"] == "NOT_PERMITTED"
    assert (await upload(anonymous, content, owner.isp_id))["errors"][0]["code"] \
        == "UNAUTHENTICATED"
    await viewer.close()
    await anonymous.close()


def test_quarantine_ends_in_a_periodic_task(settings: Settings, session: Session):
    context.configure(settings)
    [task] = [task for task in PERIODIC_TASKS if task.name == "numbers.quarantine_expiry"]
    assert task.interval_seconds == QUARANTINE_EXPIRY_SECONDS == 300
    isp: Isp = make_isp(session)
    ended = make_number(session, isp, state=NumberState.QUARANTINE,
                        quarantine_until=utcnow() - dt.timedelta(minutes=1))
    resting = make_number(session, isp, state=NumberState.QUARANTINE,
                          quarantine_until=utcnow() + dt.timedelta(days=1))
    task.run()
    session.expire_all()
    assert session.get(Number, ended.id).state is NumberState.AVAILABLE
    assert session.get(Number, resting.id).state is NumberState.QUARANTINE
