"""The e-mail outbox: queue a message with the change that causes it, deliver it later.

A message is written to ``email_message`` in the caller's transaction, so an
e-mail exists exactly when the change that caused it was committed. A worker
then delivers it: over SMTP when the settings name a server, or, in the
embedded default, by printing it to the console, where whoever runs the
service can read the link it carries.

Bodies often hold single-use links, so they are never logged: logs say only
which message, to whom, and what happened.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate, make_msgid, parseaddr

from sqlalchemy import Engine
from sqlmodel import Session

from core.database import session_scope
from core.jobs import JobSpec, enqueue, register_kind
from core.models.base import utcnow
from core.models.email import EmailMessage, EmailStatus
from core.settings import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
SMTP_TIMEOUT_SECONDS = 30
MAX_ERROR_LENGTH = 500
CONSOLE_RULE = "-" * 72

_in_flight: set[uuid.UUID] = set()
_in_flight_lock = threading.Lock()


DELIVERY = register_kind(
    JobSpec(kind="email.deliver", subject_type="EmailMessage", max_attempts=MAX_ATTEMPTS,
            timeout_seconds=300)
)


class EmailDeliveryError(Exception):
    """A delivery attempt failed in a way that may succeed later; the worker retries."""


@dataclass(frozen=True)
class _Outgoing:
    """What a delivery needs from the row, read in a transaction that is then closed."""

    id: uuid.UUID
    to: str
    subject: str
    body: str


def queue_email(session: Session, *, to: str, subject: str, body: str,
                isp_id: uuid.UUID | None = None, tenant_id: uuid.UUID | None = None,
                requested_by_id: uuid.UUID | None = None) -> EmailMessage:
    """Add a PENDING message and its delivery job to the caller's transaction.

    The caller commits both together with the change that caused them, so a
    rolled back change sends nothing; the job is dispatched after the commit.
    """
    if "\r" in to or "\n" in to:
        # A line break in a header would let the value add headers of its own.
        raise ValueError("e-mail address must be a single line")
    # Subjects quote names people typed (an ISP's, a person's): whatever got stored, the
    # subject stays one line rather than failing the change that sends it.
    subject = " ".join(subject.split())
    message = EmailMessage(to_address=to, subject=subject, body_text=body)
    session.add(message)
    session.flush()
    # The job is visible to whoever may see the change that caused the e-mail.
    enqueue(session, DELIVERY.kind, message.id, isp_id=isp_id, tenant_id=tenant_id,
            requested_by_id=requested_by_id)
    log.debug("e-mail %s to %s queued", message.id, to)
    return message


def deliver(engine: Engine, settings: Settings, message_id: uuid.UUID) -> EmailStatus | None:
    """Deliver one queued message, at most once however often it is asked.

    Returns the message's status afterwards, or None when there is no such
    message. A failure that may pass raises :class:`EmailDeliveryError` after
    recording it, until :data:`MAX_ATTEMPTS` failures mark the message FAILED.
    No database transaction is held open while the SMTP server is talked to.
    """
    with _claim(message_id) as claimed:
        if not claimed:
            log.info("e-mail %s is being delivered by another thread; skipped", message_id)
            return EmailStatus.PENDING
        return _deliver_claimed(engine, settings, message_id)


@contextmanager
def _claim(message_id: uuid.UUID) -> Iterator[bool]:
    """Whether this thread may deliver the message: no other thread of the process is.

    Without it, two worker threads handed the same id at once would both read
    PENDING and both send. Processes do not share this: two processes handed
    the same id at the same moment can still both send (at-least-once), which
    only a claim stored in the row would prevent.
    """
    with _in_flight_lock:
        claimed = message_id not in _in_flight
        if claimed:
            _in_flight.add(message_id)
    try:
        yield claimed
    finally:
        if claimed:
            with _in_flight_lock:
                _in_flight.discard(message_id)


def _deliver_claimed(
    engine: Engine, settings: Settings, message_id: uuid.UUID
) -> EmailStatus | None:
    outgoing, status = _load(engine, message_id)
    if outgoing is None:
        return status
    if not settings.smtp_host:
        _print_to_console(outgoing)
        return _mark_sent(engine, message_id)
    try:
        mime = _build_mime(outgoing, settings.smtp_from)
    except ValueError as error:
        # The message itself is malformed: no later attempt can send it.
        return _mark_failed(engine, message_id, f"invalid message: {error}")
    try:
        _send_smtp(settings, mime)
    except (smtplib.SMTPException, OSError) as error:
        return _record_failure(engine, message_id, _describe(error))
    return _mark_sent(engine, message_id)


def _load(engine: Engine, message_id: uuid.UUID) -> tuple[_Outgoing | None, EmailStatus | None]:
    """The message to send, or (None, its status) when there is nothing to send."""
    with Session(engine) as session:
        row = session.get(EmailMessage, message_id)
        if row is None:
            log.warning("e-mail %s not delivered: no such message", message_id)
            return None, None
        if row.status is not EmailStatus.PENDING:
            log.info("e-mail %s to %s already %s", row.id, row.to_address, row.status.value)
            return None, row.status
        return _Outgoing(row.id, row.to_address, row.subject, row.body_text), row.status


def _print_to_console(outgoing: _Outgoing) -> None:
    """The embedded default's delivery: whoever runs the service reads the link here."""
    print(
        f"{CONSOLE_RULE}\n"
        f"E-mail {outgoing.id}\n"
        f"To: {outgoing.to}\n"
        f"Subject: {outgoing.subject}\n"
        f"\n{outgoing.body}\n"
        f"{CONSOLE_RULE}",
        flush=True,
    )


def _build_mime(outgoing: _Outgoing, sender: str) -> MimeMessage:
    """A plain-text UTF-8 message with the headers receiving servers expect."""
    mime = MimeMessage()
    mime["From"] = sender
    mime["To"] = outgoing.to
    mime["Subject"] = outgoing.subject
    mime["Date"] = formatdate(usegmt=True)
    # An explicit domain: make_msgid would otherwise resolve this host's name.
    domain = parseaddr(sender)[1].rpartition("@")[2] or "wehostvoip.localhost"
    mime["Message-ID"] = make_msgid(domain=domain)
    mime.set_content(outgoing.body, charset="utf-8")
    return mime


def _send_smtp(settings: Settings, mime: MimeMessage) -> None:
    assert settings.smtp_host is not None
    smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS)
    try:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_username, password)
        smtp.send_message(mime)
    finally:
        _hang_up(smtp)


def _hang_up(smtp: smtplib.SMTP) -> None:
    """End the conversation; once the server has the message, a failed QUIT must not
    count as a failed delivery (the retry would send the message twice)."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _describe(error: BaseException) -> str:
    """A short reason for ``last_error``; SMTP errors carry the server's reply, not the body."""
    text = str(error).strip() or "no detail"
    return f"{type(error).__name__}: {text}"[:MAX_ERROR_LENGTH]


def _mark_sent(engine: Engine, message_id: uuid.UUID) -> EmailStatus | None:
    with session_scope(engine) as session:
        row = session.get(EmailMessage, message_id, with_for_update=True)
        if row is None:
            log.warning("e-mail %s sent, but its row is gone", message_id)
            return None
        row.status = EmailStatus.SENT
        row.sent_at = utcnow()
        log.info("e-mail %s to %s sent", row.id, row.to_address)
        return row.status


def _mark_failed(engine: Engine, message_id: uuid.UUID, reason: str) -> EmailStatus | None:
    with session_scope(engine) as session:
        row = session.get(EmailMessage, message_id, with_for_update=True)
        if row is None:
            return None
        row.attempts += 1
        row.last_error = reason[:MAX_ERROR_LENGTH]
        row.status = EmailStatus.FAILED
        log.error("e-mail %s to %s failed for good: %s", row.id, row.to_address, reason)
        return row.status


def _record_failure(engine: Engine, message_id: uuid.UUID, reason: str) -> EmailStatus | None:
    """Count a failed attempt; give up after the last one, otherwise ask for a retry."""
    with session_scope(engine) as session:
        row = session.get(EmailMessage, message_id, with_for_update=True)
        if row is None or row.status is not EmailStatus.PENDING:
            return None if row is None else row.status
        row.attempts += 1
        row.last_error = reason
        attempts, to = row.attempts, row.to_address
        if attempts >= MAX_ATTEMPTS:
            row.status = EmailStatus.FAILED
            log.error(
                "e-mail %s to %s failed after %d attempts: %s", message_id, to, attempts, reason
            )
            return row.status
    # Committed: the counters survive the retry this exception asks for.
    log.warning(
        "e-mail %s to %s not sent (attempt %d of %d): %s",
        message_id,
        to,
        attempts,
        MAX_ATTEMPTS,
        reason,
    )
    raise EmailDeliveryError(f"e-mail {message_id} not sent (attempt {attempts}): {reason}")
