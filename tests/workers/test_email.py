"""The outbox end to end: queued in a committed transaction, delivered by a real worker.

The worker runs on the suite's broker (in-process, or Redis with
WEHOSTVOIP_TEST_BROKER=redis) and sends over TCP to a real SMTP server on
loopback, from which the test reads what arrived.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from email.utils import parseaddr
from pathlib import Path

import dramatiq
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from core.database import session_scope
from core.mail import DELIVERY, queue_email
from core.models import Job, JobStatus
from core.models.email import EmailMessage, EmailStatus
from core.settings import Settings
from tests.conftest import make_settings
from tests.mailbox import Mailbox, links, text_body
from workers import context
from workers.jobs import dispatch

TO = "new-owner@example.test"
LINK = "https://app.example.test/signup/complete?token=worker-s3cr3t-token"
BODY = f"Welcome!\n\nFinish signing up: {LINK}\n"


@pytest.fixture
def settings(database_url: str, tmp_path: Path, mailbox: Mailbox) -> Settings:
    """The suite's settings, sending e-mail to the test's SMTP server."""
    return make_settings(
        database_url, tmp_path, smtp_host="127.0.0.1", smtp_port=mailbox.port, smtp_starttls=False
    )


def queue_committed(subject: str = "Finish your sign-up") -> uuid.UUID:
    """What an API mutation does: queue the message with its cause; the job goes after commit."""
    with session_scope(context.engine()) as session:
        message = queue_email(session, to=TO, subject=subject, body=BODY)
    return message.id


def job_of(engine: Engine, message_id: uuid.UUID) -> Job:
    with Session(engine) as session:
        return session.exec(select(Job).where(Job.kind == DELIVERY.kind,
                                              Job.subject_id == str(message_id))).one()


def row(engine: Engine, message_id: uuid.UUID) -> EmailMessage:
    with Session(engine) as session:
        found = session.get(EmailMessage, message_id)
        assert found is not None
        return found


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_a_committed_message_is_delivered_by_the_worker_without_logging_its_body(
    engine: Engine,
    settings: Settings,
    mailbox: Mailbox,
    worker: dramatiq.Broker,
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.DEBUG)
    # The test's SMTP server logs every line it receives; only our side is under test.
    caplog.set_level(logging.INFO, logger="mail.log")
    message_id = queue_committed()

    received = mailbox.wait_for_message(TO)
    assert received["To"] == TO
    assert received["Subject"] == "Finish your sign-up"
    assert parseaddr(received["From"]) == parseaddr(settings.smtp_from)
    assert text_body(received) == BODY
    assert links(received) == [LINK]
    wait_until(lambda: row(engine, message_id).status is EmailStatus.SENT, "the row to be SENT")
    sent = row(engine, message_id)
    assert sent.sent_at is not None
    assert sent.attempts == 0
    assert f"e-mail {message_id} to {TO} sent" in caplog.text
    assert "worker-s3cr3t-token" not in caplog.text
    assert all("s3cr3t" not in record.getMessage() for record in caplog.records)
    wait_until(lambda: job_of(engine, message_id).status is JobStatus.SUCCEEDED, "the job")


def test_a_message_sent_again_is_delivered_once(
    engine: Engine, mailbox: Mailbox, worker: dramatiq.Broker, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="core.mail")
    message_id = queue_committed()
    job_id = job_of(engine, message_id).id
    dispatch([job_id, job_id])  # duplicate broker messages for the same job
    mailbox.wait_for_message(TO)
    wait_until(lambda: job_of(engine, message_id).status is JobStatus.SUCCEEDED, "the job")
    dispatch([job_id])  # and a late one, after it ended
    time.sleep(0.5)

    assert len(mailbox.messages_to(TO)) == 1
    assert row(engine, message_id).status is EmailStatus.SENT


def test_a_failed_attempt_is_retried_by_the_worker(
    engine: Engine, mailbox: Mailbox, worker: dramatiq.Broker
):
    mailbox.stop()  # the SMTP server is down when the worker first tries
    message_id = queue_committed()

    wait_until(lambda: row(engine, message_id).attempts == 1, "a failed attempt")
    mailbox.start()

    mailbox.wait_for_message(TO)
    wait_until(lambda: row(engine, message_id).status is EmailStatus.SENT, "the row to be SENT")
    retried = row(engine, message_id)
    assert retried.attempts >= 1
    assert retried.last_error is not None
    job = job_of(engine, message_id)
    wait_until(lambda: job_of(engine, message_id).status is JobStatus.SUCCEEDED, "the job")
    job = job_of(engine, message_id)
    assert job.attempts == 2
    assert [error["code"] for error in job.errors] == ["SMTP_UNAVAILABLE"]


def test_a_message_that_is_gone_fails_its_job_for_good(engine: Engine, worker: dramatiq.Broker):
    with Session(engine) as session:  # committed, but not dispatched yet
        message_id = queue_email(session, to=TO, subject="Gone", body=BODY).id
        session.commit()
    with Session(engine) as session:
        session.delete(session.get(EmailMessage, message_id))
        session.commit()
    job_id = job_of(engine, message_id).id
    dispatch([job_id])
    wait_until(lambda: job_of(engine, message_id).status is JobStatus.FAILED, "the job to fail")
    failed = job_of(engine, message_id)
    assert failed.error_code == "NOT_FOUND"
    assert failed.attempts == 1
