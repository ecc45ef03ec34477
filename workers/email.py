"""Delivering the e-mail outbox: the handler of ``email.deliver`` jobs.

The message row says whether it was sent; the job row says whether delivery
is still being attempted. A failure that may pass (SMTP server unreachable)
is retried with backoff by the job machinery; a message that used up its
attempts fails the job with EMAIL_UNDELIVERABLE.
"""

from __future__ import annotations

import uuid

from core.jobs import PermanentJobError, TransientJobError
from core.mail import DELIVERY, EmailDeliveryError, deliver
from core.models import EmailStatus
from workers import context
from workers.jobs import JobRun, handles


@handles(DELIVERY.kind)
def deliver_email(job: JobRun) -> None:
    try:
        status = deliver(context.engine(), context.settings(), uuid.UUID(job.subject_id))
    except EmailDeliveryError as error:
        raise TransientJobError("SMTP_UNAVAILABLE", str(error)) from error
    if status is EmailStatus.FAILED:
        raise PermanentJobError("EMAIL_UNDELIVERABLE", "the e-mail could not be delivered")
    if status is None:
        raise PermanentJobError("NOT_FOUND", "the e-mail no longer exists")
