"""The domains of an ISP: its namespace, and the domains it proves it owns.

Every ISP owns the namespace ``<label>.<platform base domain>``; its tenants may
take one label below it. Other domains an ISP must prove it controls, by
publishing a TXT record ``_wehostvoip-challenge.<fqdn>`` with the value
``wehostvoip-verify=<token>``; DNS is then checked now and again::

    PENDING --found--> VERIFIED --gone--> LAPSED --found--> VERIFIED
       |
       +-- not found for domain_pending_days --> FAILED --found (asked for)--> VERIFIED

A domain is VERIFIED by at most one ISP on the platform (a partial unique
index); pending claims by several ISPs coexist until one of them proves it.
A lapsed domain is flagged and its ISP's administrators are told; it is never
deleted behind their back.

Who may claim what: a domain VERIFIED by one ISP is reserved for that ISP, and so
is every name below it (``pbx.example.com`` under ``example.com``): no other ISP
may add or verify them, since whoever controls ``example.com``'s zone could hand
a subdomain to anyone. A LAPSED domain stays reserved, subdomains included, for
``WEHOSTVOIP_DOMAIN_LAPSE_GRACE_DAYS`` (30) after it lapsed, so that a DNS
mistake fixed within weeks does not hand the domain (and the tenants' SIP
domain) to another ISP; after that, it is free to claim. Parent domains are not
reserved: proving ``example.com`` is proving its zone.

The DNS lookup (:mod:`core.dns_check`) takes seconds, so it never runs inside a
transaction: callers read the domain, look its record up, then apply what they
found with :func:`apply_check` in a second transaction.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core import audit
from core.catalogue import managed_object
from core.dns_check import CheckOutcome, DnsCheck
from core.dns_names import DnsNameError, is_subdomain, normalise_fqdn
from core.domain_messages import domain_lapsed
from core.errors import DomainError, ErrorCode
from core.jobs import JobSpec, enqueue, register_kind
from core.mail import queue_email
from core.models import (
    Administrator,
    Isp,
    Role,
    RoleGrant,
    Scope,
    Tenant,
    VerifiedDomain,
    VerifiedDomainStatus,
    utcnow,
)
from core.ownership import managed_isp
from core.settings import Settings
from core.viewer import Viewer

CHALLENGE_LABEL = "_wehostvoip-challenge"
CHALLENGE_PREFIX = "wehostvoip-verify="
# 24 random bytes: 32 URL-safe characters, far beyond guessing.
TOKEN_BYTES = 24

CHECK = register_kind(JobSpec(kind="domains.check", subject_type="VerifiedDomain",
                              max_attempts=5, timeout_seconds=120))
# Domains the periodic re-check looks at; a FAILED one is checked only when someone asks.
RECHECKED_STATUSES = (VerifiedDomainStatus.PENDING, VerifiedDomainStatus.VERIFIED,
                      VerifiedDomainStatus.LAPSED)
# Who the audit log names for the changes of the periodic re-check, which nobody asked for.
SYSTEM = Viewer(email="system")


# The namespace, and the domains tenants may take ------------------------------------------------


def namespace_domain(isp: Isp, settings: Settings) -> str:
    return f"{isp.namespace_label}.{settings.base_domain}"


def check_tenant_domain(session: Session, isp: Isp, settings: Settings, domain: str, *,
                        tenant_id: uuid.UUID | None = None) -> tuple[str, VerifiedDomain | None]:
    """The normalised domain a tenant of ``isp`` may take, and the verified domain it is.

    Accepted: one label in the ISP's namespace (``acme`` or ``acme.<namespace>``;
    the verified domain is then None), or exactly one of the ISP's VERIFIED
    domains. Not a subdomain of one: directory synchronisation matches the
    users' e-mail domain, which is the verified domain itself. Refused with
    INVALID (malformed, or deeper in the namespace), RESERVED (the platform's
    or another ISP's namespace), NOT_PERMITTED (not one of the ISP's verified
    domains) or ALREADY_EXISTS (another tenant's domain; ``tenant_id`` names a
    tenant being changed, which may keep its own).
    """
    namespace = namespace_domain(isp, settings)
    name = _tenant_name(domain, namespace)
    verified = None
    if is_subdomain(name, settings.base_domain):
        _require_namespace_label(name, namespace)
    else:
        verified = _own_verified(session, isp, name, namespace)
    _refuse_used(session, name, tenant_id)
    return name, verified


def _tenant_name(domain: str, namespace: str) -> str:
    text = domain.strip().rstrip(".")
    candidate = f"{text}.{namespace}" if text and "." not in text else text
    try:
        return normalise_fqdn(candidate)
    except DnsNameError as error:
        raise DomainError.single(ErrorCode.INVALID, str(error), "domain") from None


def _require_namespace_label(name: str, namespace: str) -> None:
    if name.partition(".")[2] == namespace:
        return
    code = ErrorCode.INVALID if is_subdomain(name, namespace) else ErrorCode.RESERVED
    raise DomainError.single(code, f"choose one name directly under {namespace}, "
                                   f"such as acme.{namespace}", "domain")


def _own_verified(session: Session, isp: Isp, name: str, namespace: str) -> VerifiedDomain:
    row = session.exec(select(VerifiedDomain).where(VerifiedDomain.isp_id == isp.id,
                                                    VerifiedDomain.fqdn == name)).first()
    if row is None:
        raise DomainError.single(ErrorCode.NOT_PERMITTED, f"{name} is neither under {namespace} "
                                 "nor one of your verified domains", "domain")
    if row.status is not VerifiedDomainStatus.VERIFIED:
        raise DomainError.single(ErrorCode.NOT_PERMITTED, f"{name} is {row.status.lower()}; "
                                 "only a verified domain can be used", "domain")
    return row


def _refuse_used(session: Session, name: str, tenant_id: uuid.UUID | None) -> None:
    statement = select(Tenant.id).where(Tenant.domain == name)
    if tenant_id is not None:
        statement = statement.where(Tenant.id != tenant_id)
    if session.exec(statement).first() is not None:
        raise DomainError.single(ErrorCode.ALREADY_EXISTS,
                                 f"{name} is already the domain of a tenant", "domain")


# Adding and removing verified domains -----------------------------------------------------------


def record_for(domain: VerifiedDomain) -> tuple[str, str]:
    """The name and value of the TXT record that proves the ISP controls the domain."""
    return f"{CHALLENGE_LABEL}.{domain.fqdn}", f"{CHALLENGE_PREFIX}{domain.challenge_token}"


def managed_domain(session: Session, viewer: Viewer, domain_id: uuid.UUID) -> VerifiedDomain:
    """A domain the viewer may change; another ISP's answers like a missing one."""
    return managed_object(session, viewer, VerifiedDomain, domain_id, "verified domain")


def add_domain(session: Session, settings: Settings, viewer: Viewer, isp_id: uuid.UUID | None,
               fqdn: str) -> VerifiedDomain:
    """Claim a domain for the ISP; it stays PENDING until its TXT record is found."""
    isp = managed_isp(session, viewer, isp_id)
    name = _claimable_name(fqdn, settings)
    _refuse_claimed(session, settings, isp.id, name)
    row = VerifiedDomain(isp_id=isp.id, fqdn=name,
                         challenge_token=secrets.token_urlsafe(TOKEN_BYTES))
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same ISP added it at the same moment
        raise _already_added(name) from None
    audit.record(session, viewer, action="verified_domain.add", object_type="VerifiedDomain",
                 object_id=row.id, isp_id=isp.id, changes={"fqdn": name})
    return row


def _claimable_name(fqdn: str, settings: Settings) -> str:
    try:
        name = normalise_fqdn(fqdn)
    except DnsNameError as error:
        raise DomainError.single(ErrorCode.INVALID, str(error), "fqdn") from None
    if is_subdomain(name, settings.base_domain):
        raise DomainError.single(ErrorCode.RESERVED, f"{name} belongs to the platform; tenants "
                                 "can use your namespace domain without verification", "fqdn")
    return name


def _refuse_claimed(session: Session, settings: Settings, isp_id: uuid.UUID,
                    name: str) -> None:
    mine = select(VerifiedDomain.id).where(VerifiedDomain.isp_id == isp_id,
                                           VerifiedDomain.fqdn == name)
    if session.exec(mine).first() is not None:
        raise _already_added(name)
    if (holder := _held_elsewhere(session, settings, name, isp_id)) is not None:
        raise _taken(name, holder)


def _name_and_parents(name: str) -> list[str]:
    """``a.b.example.com`` and every domain above it (``b.example.com``, ``example.com``...)."""
    labels = name.split(".")
    return [".".join(labels[index:]) for index in range(len(labels))]


def _held_elsewhere(session: Session, settings: Settings, name: str,
                    isp_id: uuid.UUID) -> VerifiedDomain | None:
    """Another ISP's domain that reserves ``name``: the name itself or a domain above it,
    VERIFIED, or LAPSED within the grace period (see the module docstring)."""
    grace_from = utcnow() - dt.timedelta(days=settings.domain_lapse_grace_days)
    statement = select(VerifiedDomain).where(
        col(VerifiedDomain.fqdn).in_(_name_and_parents(name)),
        VerifiedDomain.isp_id != isp_id,
        (col(VerifiedDomain.status) == VerifiedDomainStatus.VERIFIED)
        | ((col(VerifiedDomain.status) == VerifiedDomainStatus.LAPSED)
           & (col(VerifiedDomain.lapsed_at) > grace_from)),
    )
    return session.exec(statement).first()


def _already_added(name: str) -> DomainError:
    return DomainError.single(ErrorCode.ALREADY_EXISTS, f"{name} is already one of your domains",
                              "fqdn")


def _taken(name: str, holder: VerifiedDomain | None = None) -> DomainError:
    if holder is not None and holder.fqdn != name:
        reason = f"it is under {holder.fqdn}, which"
    else:
        reason = "it"
    state = ("lapsed recently and stays reserved for the ISP that verified it"
             if holder is not None and holder.status is VerifiedDomainStatus.LAPSED
             else "is verified by another ISP on the platform")
    return DomainError.single(ErrorCode.ALREADY_EXISTS, f"{name} cannot be claimed: "
                              f"{reason} {state}", "fqdn")


def remove_domain(session: Session, viewer: Viewer, domain_id: uuid.UUID) -> VerifiedDomain:
    """Delete a domain of the ISP, unless a tenant uses it."""
    row = managed_domain(session, viewer, domain_id)
    tenant = session.exec(select(Tenant.name).where(Tenant.verified_domain_id == row.id)).first()
    if tenant is not None:
        raise DomainError.single(ErrorCode.IN_USE, f"{row.fqdn} is the domain of tenant {tenant}; "
                                 "give the tenant another domain first", "id")
    session.delete(row)
    audit.record(session, viewer, action="verified_domain.remove", object_type="VerifiedDomain",
                 object_id=row.id, isp_id=row.isp_id,
                 changes={"fqdn": row.fqdn, "status": row.status})
    return row


# Applying what a check found --------------------------------------------------------------------


def apply_check(session: Session, settings: Settings, viewer: Viewer, domain: VerifiedDomain,
                check: DnsCheck) -> VerifiedDomain:
    """Move the domain along its life cycle by what DNS said (see the module docstring).

    UNREACHABLE changes nothing. Becoming VERIFIED while another ISP holds the
    domain is refused with ALREADY_EXISTS, and nothing is changed.
    """
    if check.outcome is CheckOutcome.UNREACHABLE:
        return domain
    # Serialise with a concurrent check of the same domain (one lapse, one e-mail).
    session.refresh(domain, with_for_update=True)
    previous, now = domain.status, utcnow()
    domain.last_checked_at = now
    if check.outcome is CheckOutcome.VERIFIED:
        _mark_verified(session, settings, domain, now)
    else:
        _mark_missing(session, settings, domain, now)
    session.add(domain)
    # A person's check is always logged; the periodic one only when it changes the status.
    if viewer.is_authenticated or domain.status is not previous:
        audit.record(session, viewer, action="verified_domain.check",
                     object_type="VerifiedDomain", object_id=domain.id, isp_id=domain.isp_id,
                     changes={"outcome": check.outcome, "status": domain.status,
                              "previous_status": previous})
    return domain


def _mark_verified(session: Session, settings: Settings, domain: VerifiedDomain,
                   now: dt.datetime) -> None:
    if domain.status is VerifiedDomainStatus.VERIFIED:
        return
    if (holder := _held_elsewhere(session, settings, domain.fqdn, domain.isp_id)) is not None:
        raise _taken(domain.fqdn, holder)
    try:
        # Changed inside the savepoint: its flush is where the unique index answers.
        with session.begin_nested():
            domain.status = VerifiedDomainStatus.VERIFIED
            domain.verified_at = now
            session.add(domain)
    except IntegrityError:  # another ISP's check won the same moment
        raise _taken(domain.fqdn) from None


def _mark_missing(session: Session, settings: Settings, domain: VerifiedDomain,
                  now: dt.datetime) -> None:
    if domain.status is VerifiedDomainStatus.VERIFIED:
        domain.status = VerifiedDomainStatus.LAPSED
        domain.lapsed_at = now
        _tell_administrators(session, domain)
    elif (domain.status is VerifiedDomainStatus.PENDING
          and domain.created_at <= _pending_cutoff(settings, now)):
        domain.status = VerifiedDomainStatus.FAILED


def _pending_cutoff(settings: Settings, now: dt.datetime) -> dt.datetime:
    """Domains added before this have waited for their record long enough."""
    return now - dt.timedelta(days=settings.domain_pending_days)


def _tell_administrators(session: Session, domain: VerifiedDomain) -> None:
    isp = session.get_one(Isp, domain.isp_id)
    message = domain_lapsed(domain.fqdn, isp.name, *record_for(domain))
    addresses = session.exec(
        select(Administrator.email)
        .join(RoleGrant, col(RoleGrant.administrator_id) == Administrator.id)
        .where(RoleGrant.scope == Scope.ISP, RoleGrant.isp_id == domain.isp_id,
               RoleGrant.role == Role.ADMIN, Administrator.is_active)
    ).all()
    for address in addresses:
        queue_email(session, to=address, subject=message.subject, body=message.body,
                    isp_id=domain.isp_id)


# The periodic re-check ---------------------------------------------------------------------


def schedule_checks(session: Session, settings: Settings) -> int:
    """Fail the pending domains whose time is up, and queue a check of every other live one.

    Returns how many checks were newly queued; a domain whose check is still
    queued or running keeps that one (one active job per subject).
    """
    _expire_pending(session, settings)
    live = session.exec(select(VerifiedDomain).where(
        col(VerifiedDomain.status).in_(RECHECKED_STATUSES))).all()
    queued = [enqueue(session, CHECK.kind, row.id, isp_id=row.isp_id) for row in live]
    return sum(1 for item in queued if item.created)


def _expire_pending(session: Session, settings: Settings) -> None:
    expired = session.exec(select(VerifiedDomain).where(
        VerifiedDomain.status == VerifiedDomainStatus.PENDING,
        VerifiedDomain.created_at <= _pending_cutoff(settings, utcnow()),
    ).with_for_update()).all()
    for row in expired:
        row.status = VerifiedDomainStatus.FAILED
        session.add(row)
        audit.record(session, SYSTEM, action="verified_domain.expire",
                     object_type="VerifiedDomain", object_id=row.id, isp_id=row.isp_id,
                     changes={"status": row.status,
                              "previous_status": VerifiedDomainStatus.PENDING})
