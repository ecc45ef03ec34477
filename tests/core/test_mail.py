"""The outbox in core: queueing with the caller's transaction, and one delivery at a time.

Deliveries go over TCP to a real SMTP server on loopback (``tests.mailbox``),
or, with no SMTP server configured, to the console.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator
from email.utils import parseaddr
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from core.mail import MAX_ATTEMPTS, EmailDeliveryError, deliver, queue_email
from core.models.email import EmailMessage, EmailStatus
from core.settings import Settings
from tests.conftest import make_settings
from tests.mailbox import Mailbox, free_port, links, text_body

LINK = "https://app.example.test/signup/complete?token=s3cr3t-single-use-token"
BODY = f"Grüße!\n\nFinish signing up here: {LINK}\n\nThe link works once.\n"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.start()
    yield box
    box.stop()


def smtp_settings(database_url: str, tmp_path: Path, port: int, **overrides: object) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        **overrides,
    )


def queued(
    engine: Engine, to: str = "owner@example.test", subject: str = "Your sign-up"
) -> uuid.UUID:
    """A message queued and committed, as the API's transaction leaves it."""
    with Session(engine) as session:
        message = queue_email(session, to=to, subject=subject, body=BODY)
        session.commit()
        return message.id


def row(engine: Engine, message_id: uuid.UUID) -> EmailMessage:
    with Session(engine) as session:
        found = session.get(EmailMessage, message_id)
        assert found is not None
        return found


# Queueing -------------------------------------------------------------------


def test_queue_email_adds_a_pending_row_to_the_callers_transaction(session: Session):
    message = queue_email(session, to="a@example.test", subject="Hello", body=BODY)

    # Flushed: visible (and with an id) inside the caller's transaction.
    assert session.exec(select(EmailMessage.id)).all() == [message.id]
    assert message.status is EmailStatus.PENDING
    assert message.attempts == 0
    assert message.sent_at is None


def test_queue_email_does_not_commit(engine: Engine, session: Session):
    queue_email(session, to="a@example.test", subject="Hello", body=BODY)
    session.rollback()

    with Session(engine) as other:
        assert other.exec(select(EmailMessage)).all() == []


def test_a_line_break_in_the_address_is_refused(session: Session):
    with pytest.raises(ValueError, match="single line"):
        queue_email(session, body=BODY, to="a@example.test\r\nBcc: victim@example.test",
                    subject="Hello")


def test_a_line_break_in_the_subject_becomes_a_space(session: Session):
    # Subjects quote stored names: one that slipped in with a line break must not add a
    # header, nor fail the change that sends the message.
    message = queue_email(session, body=BODY, to="a@example.test",
                          subject="Welcome to Acme\r\nBcc: victim@example.test")
    assert message.subject == "Welcome to Acme Bcc: victim@example.test"


# Delivery over SMTP ------------------------------------------------------------


def test_a_message_is_sent_over_smtp_and_marked_sent(
    engine: Engine, database_url: str, tmp_path: Path, mailbox: Mailbox
):
    settings = smtp_settings(database_url, tmp_path, mailbox.port)
    message_id = queued(engine, subject="Bienvenue à WeHostVoIP")

    assert deliver(engine, settings, message_id) is EmailStatus.SENT

    received = mailbox.wait_for_message("owner@example.test")
    assert received["To"] == "owner@example.test"
    assert received["Subject"] == "Bienvenue à WeHostVoIP"
    assert parseaddr(received["From"]) == parseaddr(settings.smtp_from)
    assert received["Message-ID"].endswith("@wehostvoip.localhost>")
    assert received["Date"]
    assert received.get_content_type() == "text/plain"
    assert received.get_content_charset() == "utf-8"
    assert text_body(received) == BODY
    assert links(received) == [LINK]
    sent = row(engine, message_id)
    assert sent.status is EmailStatus.SENT
    assert sent.sent_at is not None
    assert sent.attempts == 0
    assert sent.last_error is None


def test_delivering_twice_sends_once(
    engine: Engine, database_url: str, tmp_path: Path, mailbox: Mailbox
):
    settings = smtp_settings(database_url, tmp_path, mailbox.port)
    message_id = queued(engine)

    assert deliver(engine, settings, message_id) is EmailStatus.SENT
    first_sent_at = row(engine, message_id).sent_at
    assert deliver(engine, settings, message_id) is EmailStatus.SENT

    assert len(mailbox.messages) == 1
    assert row(engine, message_id).sent_at == first_sent_at


def test_smtp_login_uses_the_configured_credentials(
    engine: Engine, database_url: str, tmp_path: Path
):
    with Mailbox(login=("mailer", "correct horse")) as box:
        settings = smtp_settings(
            database_url, tmp_path, box.port, smtp_username="mailer", smtp_password="correct horse"
        )
        message_id = queued(engine)

        assert deliver(engine, settings, message_id) is EmailStatus.SENT
        assert text_body(box.wait_for_message("owner@example.test")) == BODY


def test_a_refused_login_counts_as_a_failed_attempt(
    engine: Engine, database_url: str, tmp_path: Path
):
    with Mailbox(login=("mailer", "correct horse")) as box:
        settings = smtp_settings(
            database_url, tmp_path, box.port, smtp_username="mailer", smtp_password="wrong"
        )
        message_id = queued(engine)

        with pytest.raises(EmailDeliveryError):
            deliver(engine, settings, message_id)

        assert box.messages == []
    failed = row(engine, message_id)
    assert failed.attempts == 1
    assert failed.last_error is not None
    assert failed.last_error.startswith("SMTPAuthenticationError")


def test_a_message_that_cannot_be_built_fails_at_once(
    engine: Engine, database_url: str, tmp_path: Path, mailbox: Mailbox
):
    settings = smtp_settings(database_url, tmp_path, mailbox.port)
    with Session(engine) as session:  # written past queue_email, which would refuse it
        broken = EmailMessage(
            to_address="a@example.test", subject="x\nBcc: b@x.test", body_text=BODY
        )
        session.add(broken)
        session.commit()
        broken_id = broken.id

    assert deliver(engine, settings, broken_id) is EmailStatus.FAILED

    failed = row(engine, broken_id)
    assert (failed.attempts, failed.sent_at) == (1, None)
    assert failed.last_error is not None
    assert failed.last_error.startswith("invalid message")
    assert mailbox.messages == []


def test_an_unreachable_server_is_retried_then_the_message_fails(
    engine: Engine, database_url: str, tmp_path: Path
):
    settings = smtp_settings(database_url, tmp_path, free_port())  # nothing listens there
    message_id = queued(engine)

    for attempt in range(1, MAX_ATTEMPTS):
        with pytest.raises(EmailDeliveryError):
            deliver(engine, settings, message_id)
        pending = row(engine, message_id)
        assert (pending.status, pending.attempts) == (EmailStatus.PENDING, attempt)
        assert pending.last_error is not None
        assert pending.last_error.startswith("ConnectionRefusedError")
        assert len(pending.last_error) <= 500

    assert deliver(engine, settings, message_id) is EmailStatus.FAILED
    failed = row(engine, message_id)
    assert (failed.status, failed.attempts, failed.sent_at) == (
        EmailStatus.FAILED,
        MAX_ATTEMPTS,
        None,
    )
    # A failed message is not tried again.
    assert deliver(engine, settings, message_id) is EmailStatus.FAILED
    assert row(engine, message_id).attempts == MAX_ATTEMPTS


def test_a_message_that_is_gone_is_skipped_with_a_warning(
    engine: Engine, database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    settings = smtp_settings(database_url, tmp_path, free_port())
    missing = uuid.uuid4()

    with caplog.at_level(logging.WARNING, logger="core.mail"):
        assert deliver(engine, settings, missing) is None

    assert str(missing) in caplog.text


# The embedded default: the console ---------------------------------------------


def test_without_an_smtp_server_the_message_is_printed(
    engine: Engine, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    settings = make_settings(database_url, tmp_path)
    assert settings.smtp_host is None
    message_id = queued(engine, subject="Your sign-up")

    assert deliver(engine, settings, message_id) is EmailStatus.SENT

    printed = capsys.readouterr().out
    assert "To: owner@example.test" in printed
    assert "Subject: Your sign-up" in printed
    assert BODY in printed
    assert LINK in printed
    assert printed.startswith("-" * 20)
    sent = row(engine, message_id)
    assert sent.status is EmailStatus.SENT
    assert sent.sent_at is not None
    # And only once.
    assert deliver(engine, settings, message_id) is EmailStatus.SENT
    assert capsys.readouterr().out == ""


# Logs -----------------------------------------------------------------------------


@pytest.mark.parametrize("server", ["smtp", "unreachable", "console"])
def test_the_body_never_reaches_the_logs(
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    mailbox: Mailbox,
    caplog: pytest.LogCaptureFixture,
    server: str,
):
    port = {"smtp": mailbox.port, "unreachable": free_port()}.get(server)
    settings = (
        make_settings(database_url, tmp_path)
        if port is None
        else smtp_settings(database_url, tmp_path, port)
    )
    with caplog.at_level(logging.DEBUG):
        with Session(engine) as session:
            message_id = queue_email(session, to="owner@example.test", subject="Hi", body=BODY).id
            session.commit()
        with contextlib.suppress(EmailDeliveryError):  # the unreachable server's retry
            deliver(engine, settings, message_id)

    assert str(message_id) in caplog.text  # the outcome is logged...
    assert "s3cr3t-single-use-token" not in caplog.text  # ...the link is not
    assert all("s3cr3t" not in record.getMessage() for record in caplog.records)
