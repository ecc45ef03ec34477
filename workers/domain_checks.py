"""Checking verified domains in the background: one domain per ``domains.check`` job,
and the periodic ``domains.recheck`` task that queues them.

A check reads the domain, looks its TXT record up with no transaction open,
then applies what it found. DNS that does not answer is a transient failure:
the job is retried with backoff and the domain keeps its status meanwhile.
"""

from __future__ import annotations

import logging
import uuid

from core.database import session_scope
from core.dns_check import CheckOutcome, check_txt
from core.domains import CHECK, SYSTEM, apply_check, record_for, schedule_checks
from core.errors import DomainError
from core.jobs import PermanentJobError, TransientJobError
from core.models import VerifiedDomain
from workers import context
from workers.jobs import JobRun, handles
from workers.registry import PERIODIC_TASKS, PeriodicTask

log = logging.getLogger(__name__)

RECHECK_INTERVAL_SECONDS = 900


@handles(CHECK.kind)
def check_domain(job: JobRun) -> None:
    domain_id = uuid.UUID(job.subject_id)
    with session_scope(context.engine()) as session:
        domain = session.get(VerifiedDomain, domain_id)
    if domain is None:
        log.info("verified domain %s was removed before its check", domain_id)
        return
    check = check_txt(*record_for(domain), context.settings())
    if check.outcome is CheckOutcome.UNREACHABLE:
        raise TransientJobError("DNS_UNREACHABLE", f"{domain.fqdn}: {check.reason}")
    try:
        # A lapse e-mails the ISP once this commits.
        with session_scope(context.engine()) as session:
            current = session.get(VerifiedDomain, domain_id)
            if current is not None:
                apply_check(session, context.settings(), SYSTEM, current, check)
    except DomainError as error:
        # Found, but another ISP holds the domain: checking again cannot change that.
        raise PermanentJobError(error.errors[0].code, str(error)) from error


def recheck_domains() -> None:
    with session_scope(context.engine()) as session:
        queued = schedule_checks(session, context.settings())
    log.info("queued %d verified-domain checks", queued)


PERIODIC_TASKS.append(PeriodicTask("domains.recheck", RECHECK_INTERVAL_SECONDS, recheck_domains))
