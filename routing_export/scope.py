"""What an incremental export recomputes: the subjects the pending change requests touched.

``core.routing_changes`` stores, per change request, the subjects it touched.
Here they become a ``Scope``: the tenants whose rows are recomputed whole (their
domain and attributes, subscribers, extensions, numbers), the domains whose
current rows are read (a renamed or deleted tenant leaves rows under its old
one), and the numbers whose ``did``/``sms`` keys and callers-ID users are
recomputed wherever they are. A tenant is the smallest subject of the tenant
tables: one tenant's rows are a few thousand at most, and its attributes, its
subscribers' forwards (which follow its dial plan, extensions and security
groups) and its caller IDs all depend on each other.

The tables that grow with the configuration, not with the subscribers (dial
plans, gateways, carriers' addresses, security groups' openings), are always
compared whole: they are small, and their rows are shared by many tenants.

``None`` instead of a scope means a full comparison: a request touched
"everything" (the periodic reconcile, an export asked for by hand, a bulk
statement whose rows cannot be told), or the scope is so large that comparing
everything costs about the same.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlmodel import Session, col

from core.models import (
    Number,
    RoutingChanges,
    RoutingChangeSubject,
    SecurityGroup,
    Subscriber,
    Tenant,
)
from core.routing_changes import EVERYTHING

# Beyond these, a full comparison is about as cheap as the scoped one (and simpler).
MAX_SCOPED_TENANTS = 200
MAX_SCOPED_NUMBERS = 20_000


@dataclass
class Scope:
    """The subjects an incremental export recomputes."""

    tenants: set[uuid.UUID] = field(default_factory=set)
    domains: set[str] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)

    def describe(self) -> str:
        return (f"{len(self.tenants)} tenants, {len(self.domains)} domains, "
                f"{len(self.numbers)} numbers")


def pending_subjects(session: Session, after: int, upto: int) -> set[tuple[str, str]] | None:
    """The subjects of requests ``after`` < request <= ``upto``; None when some of those
    requests left none to read (made before subjects were kept, or already pruned)."""
    changes = session.get(RoutingChanges, 1)
    if changes is None or after < changes.subjects_kept_after:
        return None
    rows = session.execute(select(col(RoutingChangeSubject.kind),
                                  col(RoutingChangeSubject.value)).where(
        col(RoutingChangeSubject.request) > after,
        col(RoutingChangeSubject.request) <= upto)).all()
    return {(kind, value) for kind, value in rows}


def resolve(session: Session, subjects: Iterable[tuple[str, str]]) -> Scope | None:
    """The scope of these subjects, read in the export's snapshot; None: compare everything."""
    by_kind: dict[str, set[str]] = {}
    for kind, value in subjects:
        if (kind, value) == EVERYTHING:
            return None
        by_kind.setdefault(kind, set()).add(value)
    scope = Scope(domains=set(by_kind.get("domain", ())),
                  numbers=set(by_kind.get("number", ())))

    def ids(kind: str) -> list[uuid.UUID]:
        return [uuid.UUID(value) for value in by_kind.get(kind, ())]

    scope.tenants.update(ids("tenant"))
    tenant_of = [
        # A security group's openings reach its tenant's forwards (and its subscribers' sgid).
        (select(col(SecurityGroup.tenant_id)).where(col(SecurityGroup.id).in_(
            ids("security_group"))), "security_group"),
        (select(col(Subscriber.tenant_id)).where(col(Subscriber.id).in_(
            ids("subscriber"))), "subscriber"),
        # A suspended customer or ISP disables every tenant of theirs.
        (select(col(Tenant.id)).where(col(Tenant.customer_id).in_(ids("customer"))),
         "customer"),
        (select(col(Tenant.id)).where(col(Tenant.isp_id).in_(ids("isp"))), "isp"),
        # The tenant holding a domain now (a rename may have given it to another).
        (select(col(Tenant.id)).where(col(Tenant.domain).in_(by_kind.get("domain", ()))),
         "domain"),
        # A dial plan's rules reach the forwards of its tenants' subscribers (the dialplan
        # table itself is always compared whole).
        (select(col(Subscriber.tenant_id))
         .join(Tenant, col(Tenant.id) == col(Subscriber.tenant_id)).where(
            col(Tenant.dial_plan_id).in_(ids("dial_plan")),
            or_(col(Subscriber.forward_unconditional).is_not(None),
                col(Subscriber.forward_busy).is_not(None),
                col(Subscriber.forward_no_answer).is_not(None))).distinct(),
         "dial_plan"),
    ]
    for statement, kind in tenant_of:
        if kind in by_kind:
            scope.tenants.update(session.execute(statement).scalars())
    if "number_id" in by_kind:
        scope.numbers.update(session.execute(select(col(Number.e164)).where(
            col(Number.id).in_(ids("number_id")))).scalars())
    if len(scope.tenants) > MAX_SCOPED_TENANTS or len(scope.numbers) > MAX_SCOPED_NUMBERS:
        return None
    if scope.tenants:
        scope.domains.update(session.execute(select(col(Tenant.domain)).where(
            col(Tenant.id).in_(scope.tenants))).scalars())
    return scope


def prune(session: Session, covered_by_all: int) -> None:
    """Forget the subjects of requests every exported database has covered."""
    changes = session.get(RoutingChanges, 1)
    if changes is None or covered_by_all <= changes.subjects_kept_after:
        return
    session.execute(RoutingChangeSubject.__table__.delete().where(  # type: ignore[attr-defined]
        RoutingChangeSubject.__table__.c.request <= covered_by_all))  # type: ignore[attr-defined]
    changes.subjects_kept_after = covered_by_all
    session.add(changes)
