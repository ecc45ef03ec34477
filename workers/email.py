"""Delivering the e-mail outbox in the background.

The API queues messages in its own transaction (``core.mail.queue_email``) and,
once that has committed, calls :func:`send_emails`. The row is the truth about
a message; the broker message only says "try this one now", so a lost or
repeated broker message costs at most a delay, never a duplicate e-mail.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from core.mail import MAX_ATTEMPTS, EmailDeliveryError, deliver
from workers import context
from workers.registry import actor

log = logging.getLogger(__name__)


def _should_retry(retries: int, exception: BaseException) -> bool:
    """Retry a failure that may pass; anything else (a bad id, a bug) would fail again."""
    return isinstance(exception, EmailDeliveryError) and retries < MAX_ATTEMPTS


@actor(
    queue_name="email",
    max_retries=MAX_ATTEMPTS,
    min_backoff=1000,
    max_backoff=60_000,
    retry_when=_should_retry,
)
def deliver_email(message_id: str) -> None:
    """Deliver one outbox message; ``core.mail.deliver`` makes repeats harmless."""
    deliver(context.engine(), context.settings(), uuid.UUID(message_id))


def send_emails(message_ids: Iterable[uuid.UUID]) -> None:
    """Ask the workers to deliver these committed messages (safe from any thread).

    Called after the transaction that queued them has committed: earlier, a
    worker could look for a row that is not there yet. A broker that cannot be
    reached does not undo that committed change; the message stays PENDING and
    the failure is logged.
    """
    for message_id in message_ids:
        try:
            deliver_email.send(str(message_id))
        except Exception:  # each broker client raises its own hierarchy
            log.exception("e-mail %s stays pending: the broker did not take it", message_id)
