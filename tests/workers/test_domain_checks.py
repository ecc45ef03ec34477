"""Domains checked in the background: the periodic re-check queues a job per domain, and a
real worker looks each record up on a DNS server on loopback (on the suite's broker)."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dramatiq
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from core.domains import CHECK, record_for, schedule_checks
from core.jobs import enqueue
from core.models import (
    Administrator,
    AuditEvent,
    EmailMessage,
    Isp,
    Job,
    JobStatus,
    Role,
    RoleGrant,
    Scope,
    VerifiedDomain,
    VerifiedDomainStatus,
    utcnow,
)
from core.settings import Settings
from tests.conftest import make_settings
from tests.dns_server import DnsServer, Mode
from tests.factories import make_isp
from workers.domain_checks import recheck_domains
from workers.jobs import dispatch

ADMINS = ("first@isp.example", "second@isp.example")
VIEWER = "viewer@isp.example"


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


@pytest.fixture
def settings(database_url: str, tmp_path: Path, dns: DnsServer) -> Settings:
    """The suite's settings, checking domains against the test's DNS server."""
    return make_settings(database_url, tmp_path, **dns.settings())


@pytest.fixture
def isp(session: Session) -> Isp:
    """An ISP with two administrators and one viewer."""
    isp = make_isp(session, name="Kages")
    for email, role in [(ADMINS[0], Role.ADMIN), (ADMINS[1], Role.ADMIN), (VIEWER, Role.VIEWER)]:
        person = Administrator(email=email)
        session.add(person)
        session.flush()
        session.add(RoleGrant(administrator_id=person.id, scope=Scope.ISP, role=role,
                              isp_id=isp.id))
    session.commit()
    return isp


def _domain(session: Session, isp: Isp, fqdn: str = "example.com",
            status: VerifiedDomainStatus = VerifiedDomainStatus.PENDING,
            age: dt.timedelta = dt.timedelta(0)) -> VerifiedDomain:
    row = VerifiedDomain(isp_id=isp.id, fqdn=fqdn, challenge_token=secrets.token_urlsafe(24),
                         status=status, created_at=utcnow() - age)
    session.add(row)
    session.commit()
    return row


def _publish(dns: DnsServer, domain: VerifiedDomain) -> None:
    name, value = record_for(domain)
    dns.set_txt(name, [value])


def _reload(engine: Engine, domain: VerifiedDomain) -> VerifiedDomain:
    with Session(engine) as session:
        return session.get_one(VerifiedDomain, domain.id)


def _jobs(engine: Engine, domain: VerifiedDomain) -> list[Job]:
    with Session(engine) as session:
        return list(session.exec(select(Job).where(
            Job.kind == CHECK.kind, Job.subject_id == str(domain.id)).order_by(Job.created_at)))


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _recheck_and_wait(engine: Engine, domain: VerifiedDomain) -> Job:
    """Run the periodic task once and wait for the domain's newest check to end."""
    before = len(_jobs(engine, domain))
    recheck_domains()

    def ended() -> bool:
        jobs = _jobs(engine, domain)
        return len(jobs) > before and jobs[-1].status in {
            JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}

    _wait_for(ended, f"the check of {domain.fqdn}")
    return _jobs(engine, domain)[-1]


def test_a_record_published_later_is_found_by_a_later_check(
    session: Session, engine: Engine, isp: Isp, dns: DnsServer, worker: dramatiq.Broker
):
    domain = _domain(session, isp)
    first = _recheck_and_wait(engine, domain)
    assert first.status is JobStatus.SUCCEEDED
    checked = _reload(engine, domain)
    assert (checked.status, checked.verified_at) == (VerifiedDomainStatus.PENDING, None)
    assert checked.last_checked_at is not None

    _publish(dns, domain)
    assert _recheck_and_wait(engine, domain).status is JobStatus.SUCCEEDED
    verified = _reload(engine, domain)
    assert verified.status is VerifiedDomainStatus.VERIFIED
    assert verified.verified_at is not None
    with Session(engine) as fresh:
        event = fresh.exec(select(AuditEvent).where(AuditEvent.object_id == str(domain.id))).one()
    assert (event.action, event.actor_email, event.actor_id) == (
        "verified_domain.check", "system", None)
    assert event.changes == {"outcome": "VERIFIED", "status": "VERIFIED",
                             "previous_status": "PENDING"}


def test_an_unreachable_resolver_is_retried_and_changes_nothing(
    session: Session, engine: Engine, isp: Isp, dns: DnsServer, worker: dramatiq.Broker
):
    domain = _domain(session, isp)
    _publish(dns, domain)
    dns.mode = Mode.DROP
    recheck_domains()
    _wait_for(lambda: any(job.errors for job in _jobs(engine, domain)), "a failed attempt")
    job = _jobs(engine, domain)[-1]
    assert job.errors[0]["code"] == "DNS_UNREACHABLE"
    assert "no DNS answer within 1 s" in job.errors[0]["message"]
    untouched = _reload(engine, domain)
    assert (untouched.status, untouched.last_checked_at) == (VerifiedDomainStatus.PENDING, None)

    dns.mode = Mode.ANSWER  # the retry, after its backoff, finds the record
    _wait_for(lambda: _jobs(engine, domain)[-1].status is JobStatus.SUCCEEDED, "the retry")
    assert len(_jobs(engine, domain)) == 1
    assert _reload(engine, domain).status is VerifiedDomainStatus.VERIFIED


def test_a_vanished_record_lapses_the_domain_and_tells_the_isp_admins(
    session: Session, engine: Engine, isp: Isp, dns: DnsServer, worker: dramatiq.Broker
):
    domain = _domain(session, isp, status=VerifiedDomainStatus.VERIFIED)
    _recheck_and_wait(engine, domain)
    lapsed = _reload(engine, domain)
    assert lapsed.status is VerifiedDomainStatus.LAPSED  # flagged, not deleted
    with Session(engine) as fresh:
        messages = fresh.exec(select(EmailMessage)).all()
    assert sorted(message.to_address for message in messages) == sorted(ADMINS)
    name, value = record_for(domain)
    for message in messages:
        assert message.subject == "example.com is no longer verified on WeHostVoIP"
        assert "Kages" in message.body_text
        assert name in message.body_text
        assert value in message.body_text

    _publish(dns, domain)
    _recheck_and_wait(engine, domain)
    assert _reload(engine, domain).status is VerifiedDomainStatus.VERIFIED
    with Session(engine) as fresh:
        assert len(fresh.exec(select(EmailMessage)).all()) == 2  # told once


def test_a_record_found_for_a_domain_verified_elsewhere_fails_the_check_for_good(
    session: Session, engine: Engine, isp: Isp, dns: DnsServer, worker: dramatiq.Broker
):
    owner = _domain(session, make_isp(session), status=VerifiedDomainStatus.VERIFIED)
    claim = _domain(session, isp)
    dns.set_txt(record_for(claim)[0], [record_for(owner)[1], record_for(claim)[1]])
    job = _recheck_and_wait(engine, claim)
    assert (job.status, job.error_code) == (JobStatus.FAILED, "ALREADY_EXISTS")
    assert job.attempts == 1
    assert _reload(engine, claim).status is VerifiedDomainStatus.PENDING
    assert _reload(engine, owner).status is VerifiedDomainStatus.VERIFIED


def test_the_check_of_a_removed_domain_ends_quietly(
    session: Session, engine: Engine, isp: Isp, worker: dramatiq.Broker
):
    domain = _domain(session, isp)
    job = enqueue(session, CHECK.kind, domain.id, isp_id=isp.id).job
    session.delete(domain)
    session.commit()
    dispatch([job.id])
    _wait_for(lambda: _jobs(engine, domain)[-1].status is JobStatus.SUCCEEDED, "the check")


def test_the_recheck_expires_old_pending_domains_and_checks_the_live_ones(
    session: Session, isp: Isp, settings: Settings
):
    waited = dt.timedelta(days=settings.domain_pending_days, minutes=1)
    live = [_domain(session, isp, f"{status.lower()}.example", status)
            for status in (VerifiedDomainStatus.PENDING, VerifiedDomainStatus.VERIFIED,
                           VerifiedDomainStatus.LAPSED)]
    # Verified and lapsed domains are re-checked however old they are.
    live.append(_domain(session, isp, "old.example", VerifiedDomainStatus.VERIFIED, age=waited))
    expired = _domain(session, isp, "expired.example", age=waited)
    failed = _domain(session, isp, "failed.example", VerifiedDomainStatus.FAILED)

    assert schedule_checks(session, settings) == len(live)
    session.commit()
    subjects = set(session.exec(select(Job.subject_id).where(Job.kind == CHECK.kind)))
    assert subjects == {str(row.id) for row in live}
    session.refresh(expired)
    assert expired.status is VerifiedDomainStatus.FAILED
    session.refresh(failed)
    assert failed.status is VerifiedDomainStatus.FAILED
    event = session.exec(select(AuditEvent).where(AuditEvent.object_id == str(expired.id))).one()
    assert (event.action, event.actor_email) == ("verified_domain.expire", "system")
    # Checks still queued are not queued twice.
    assert schedule_checks(session, settings) == 0
