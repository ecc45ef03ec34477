"""The outbox end to end: queued in a committed transaction, delivered by a real worker.

The worker runs on the suite's broker (in-process, or Redis with
WEHOSTVOIP_TEST_BROKER=redis) and sends over TCP to a real SMTP server on
loopback, from which the test reads what arrived.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from email.utils import parseaddr
from pathlib import Path

import dramatiq
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from core.mail import MAX_ATTEMPTS, EmailDeliveryError, queue_email
from core.models.email import EmailMessage, EmailStatus
from core.settings import Settings
from tests.conftest import make_settings
from tests.mailbox import Mailbox, links, text_body
from workers.email import deliver_email, send_emails

TO = "new-owner@example.test"
LINK = "https://app.example.test/signup/complete?token=worker-s3cr3t-token"
BODY = f"Welcome!\n\nFinish signing up: {LINK}\n"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, mailbox: Mailbox) -> Settings:
    """The suite's settings, sending e-mail to the test's SMTP server."""
    return make_settings(
        database_url, tmp_path, smtp_host="127.0.0.1", smtp_port=mailbox.port, smtp_starttls=False
    )


def queue_committed(engine: Engine, subject: str = "Finish your sign-up") -> uuid.UUID:
    """What an API mutation does: queue the message and commit it with its cause."""
    with Session(engine) as session:
        message = queue_email(session, to=TO, subject=subject, body=BODY)
        session.commit()
        return message.id


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
    message_id = queue_committed(engine)

    send_emails([message_id])

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


def test_a_message_sent_again_is_delivered_once(
    engine: Engine, mailbox: Mailbox, worker: dramatiq.Broker, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="core.mail")
    message_id = queue_committed(engine)

    send_emails([message_id, message_id])
    mailbox.wait_for_message(TO)
    wait_until(lambda: row(engine, message_id).status is EmailStatus.SENT, "the row to be SENT")
    send_emails([message_id])
    wait_until(
        lambda: f"e-mail {message_id} to {TO} already SENT" in caplog.text,
        "the repeat to find the message sent",
    )

    assert len(mailbox.messages_to(TO)) == 1
    assert row(engine, message_id).status is EmailStatus.SENT


def test_a_failed_attempt_is_retried_by_the_worker(
    engine: Engine, mailbox: Mailbox, worker: dramatiq.Broker
):
    mailbox.stop()  # the SMTP server is down when the worker first tries
    message_id = queue_committed(engine)

    send_emails([message_id])
    wait_until(lambda: row(engine, message_id).attempts == 1, "a failed attempt")
    mailbox.start()

    mailbox.wait_for_message(TO)
    wait_until(lambda: row(engine, message_id).status is EmailStatus.SENT, "the row to be SENT")
    retried = row(engine, message_id)
    assert retried.attempts >= 1
    assert retried.last_error is not None


def test_only_failures_that_may_pass_are_retried():
    should_retry = deliver_email.options["retry_when"]

    assert should_retry(0, EmailDeliveryError("connection refused"))
    assert should_retry(MAX_ATTEMPTS - 1, EmailDeliveryError("connection refused"))
    assert not should_retry(MAX_ATTEMPTS, EmailDeliveryError("connection refused"))
    assert not should_retry(0, ValueError("badly formed hexadecimal UUID string"))
    assert deliver_email.queue_name == "email"
