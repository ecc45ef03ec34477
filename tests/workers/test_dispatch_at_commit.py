"""Jobs reach the broker when the transaction that queued them commits, and never when
it rolls back: every transaction (API, worker, sync) goes through one after-commit dispatch.

A number import is the case that used to be missed: the worker's transaction queues a
routing export, which then waited for the reconciler instead of being sent at commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import Engine, update
from sqlmodel import Session, select
from starlette.applications import Starlette

from core.database import session_scope
from core.jobs import enqueue
from core.models import Job, JobStatus, SipProxy
from core.routing_changes import EXPORT
from core.selftest import SELFTEST
from schema.core.ids import id_of
from tests.graphql import SignedUp, sign_up
from tests.workers.test_number_import import csv_file, upload
from workers.jobs import run_job

PROXY_KEY = "edge-1-database"


@pytest.fixture
async def owner(app: Starlette, engine: Engine) -> AsyncIterator[SignedUp]:
    signed = await sign_up(app, engine, label="dispatch")
    yield signed
    await signed.client.close()


def _broker() -> dramatiq.Broker:
    """The broker the app installed (no worker consumes it in these tests)."""
    broker = dramatiq.get_broker()
    broker.flush_all()
    return broker


def _sent(broker: dramatiq.Broker) -> list[str]:
    """The job ids waiting in the stub broker's queue (None on Redis: not inspected)."""
    if not isinstance(broker, StubBroker):
        return []
    return [message.args[0] for message in
            (dramatiq.Message.decode(raw) for raw in list(broker.queues["jobs"].queue))]


def _proxy() -> SipProxy:
    return SipProxy(name="edge-1", database_url_encrypted="sealed", database_display="edge-1",
                    database_key=PROXY_KEY, rpc_url="http://127.0.0.1:1/RPC")


def _queued_exports(session: Session) -> list[Job]:
    session.expire_all()
    return list(session.exec(select(Job).where(Job.kind == EXPORT.kind,
                                               Job.status == JobStatus.QUEUED)).all())


async def test_a_number_imports_routing_export_is_sent_when_the_import_commits(
    owner: SignedUp, engine: Engine, session: Session
):
    with session_scope(engine) as writing:  # the proxy an export is for
        writing.add(_proxy())
    with session_scope(engine) as writing:  # the proxy's own export has run
        writing.execute(update(Job).where(Job.kind == EXPORT.kind)
                        .values(status=JobStatus.SUCCEEDED))
    broker = _broker()
    payload = await upload(owner.client, csv_file("+12095550001,1,0,false"), owner.isp_id)
    assert payload["errors"] == [], payload
    import_id = str(id_of(payload["job"]["id"], "Job"))
    assert import_id in _sent(broker) or not isinstance(broker, StubBroker)
    assert _queued_exports(session) == []  # nothing to route yet: the numbers are not in

    run_job(import_id)  # the worker's attempt, here in this thread

    [export] = _queued_exports(session)
    assert export.dispatched_at is not None  # sent at commit, not left to the reconciler
    if isinstance(broker, StubBroker):
        assert str(export.id) in _sent(broker)


def _queue_then_fail(engine: Engine) -> None:
    with session_scope(engine) as writing:
        writing.add(_proxy())  # a change, then the job it asks for
        writing.flush()
        enqueue(writing, SELFTEST.kind, "rolled-back")
        raise RuntimeError("the change failed after queueing its job")


def test_a_transaction_that_rolls_back_sends_nothing(app: Starlette, engine: Engine,
                                                     session: Session):
    broker = _broker()
    with pytest.raises(RuntimeError):
        _queue_then_fail(engine)
    assert session.exec(select(Job).where(Job.subject_id == "rolled-back")).all() == []
    assert session.exec(select(SipProxy)).all() == []
    assert _sent(broker) == []

    with session_scope(engine) as writing:  # the same, committed: sent at once
        queued = enqueue(writing, SELFTEST.kind, "committed").job
    assert _sent(broker) == [str(queued.id)] or not isinstance(broker, StubBroker)
    session.expire_all()
    assert session.get(Job, queued.id).dispatched_at is not None
