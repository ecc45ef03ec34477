"""Administrators of an ISP or a tenant: invitations, roles, removal.

An ISP always keeps at least one administrator with the ADMIN role; changes
to an ISP's grants are serialised on the ISP's row so that two people removing
each other at the same moment cannot leave it without one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from core import audit, scoping, validation
from core.api_tokens import revoke_all_tokens
from core.errors import DomainError, ErrorCode, ErrorCollector, not_found
from core.mail import queue_email
from core.messages import invitation as invitation_message
from core.models import (
    Administrator,
    Customer,
    Invitation,
    Isp,
    Role,
    RoleGrant,
    Scope,
    Tenant,
    utcnow,
)
from core.passwords import check_strength, hash_password
from core.sessions import end_all_sessions
from core.settings import Settings
from core.tokens import digest, new_token
from core.viewer import Viewer


@dataclass(frozen=True)
class Target:
    """Where a role applies: an ISP, one of its customers, or one of its tenants."""

    isp: Isp
    customer: Customer | None = None
    tenant: Tenant | None = None

    @property
    def scope(self) -> Scope:
        if self.tenant is not None:
            return Scope.TENANT
        return Scope.CUSTOMER if self.customer is not None else Scope.ISP

    @property
    def name(self) -> str:
        return (self.tenant or self.customer or self.isp).name

    @property
    def customer_id(self) -> uuid.UUID | None:
        return self.customer.id if self.customer else None

    @property
    def tenant_id(self) -> uuid.UUID | None:
        return self.tenant.id if self.tenant else None


def resolve_target(session: Session, viewer: Viewer, isp_id: uuid.UUID | None,
                   tenant_id: uuid.UUID | None, customer_id: uuid.UUID | None = None) -> Target:
    """The scope a role is about, seen through the viewer's eyes, and managed by them."""
    if tenant_id is not None:
        tenant = scoping.get_visible(session, viewer, Tenant, tenant_id)
        if tenant is None:
            raise not_found("tenant", "tenant")
        isp = session.get(Isp, tenant.isp_id)
        assert isp is not None  # a tenant's ISP exists (foreign key)
        target = Target(isp=isp, tenant=tenant)
        allowed = viewer.can_manage_tenant(tenant.isp_id, tenant.id)
    elif customer_id is not None:
        customer = scoping.get_visible(session, viewer, Customer, customer_id)
        if customer is None:
            raise not_found("customer", "customer")
        isp = session.get(Isp, customer.isp_id)
        assert isp is not None  # a customer's ISP exists (foreign key)
        target = Target(isp=isp, customer=customer)
        allowed = viewer.can_manage_customer(customer.isp_id, customer.id)
    else:
        isp = scoping.get_visible(session, viewer, Isp, isp_id)
        if isp is None:
            raise not_found("ISP", "isp")
        target = Target(isp=isp)
        allowed = viewer.can_manage_isp(isp.id)
    if not allowed:
        raise DomainError.single(
            ErrorCode.NOT_PERMITTED, f"only administrators of {target.name} can do this"
        )
    return target


def _grant_filter(target: Target) -> list[ColumnElement[bool]]:
    if target.tenant is not None:
        return [col(RoleGrant.scope) == Scope.TENANT,
                col(RoleGrant.tenant_id) == target.tenant.id]
    if target.customer is not None:
        return [col(RoleGrant.scope) == Scope.CUSTOMER,
                col(RoleGrant.customer_id) == target.customer.id]
    return [col(RoleGrant.scope) == Scope.ISP, col(RoleGrant.isp_id) == target.isp.id]


def invite(session: Session, settings: Settings, viewer: Viewer, *, email: str,
           isp_id: uuid.UUID | None, tenant_id: uuid.UUID | None, role: Role,
           customer_id: uuid.UUID | None = None) -> Invitation:
    """Invite someone by e-mail (the message is sent once the transaction commits)."""
    email = validation.email_address(email, ("email",))
    target = resolve_target(session, viewer, isp_id, tenant_id, customer_id)
    existing = session.exec(
        select(RoleGrant.id)
        .join(Administrator, col(Administrator.id) == RoleGrant.administrator_id)
        .where(Administrator.email == email, *_grant_filter(target))
    ).first()
    if existing is not None:
        raise DomainError.single(ErrorCode.ALREADY_EXISTS,
                                 f"{email} already administers {target.name}", "email")
    now = utcnow()
    # A new invitation replaces any pending one for the same person and scope.
    for pending in session.exec(select(Invitation).where(
        Invitation.email == email, Invitation.isp_id == target.isp.id,
        Invitation.scope == target.scope,
        Invitation.customer_id == target.customer_id, Invitation.tenant_id == target.tenant_id,
        col(Invitation.accepted_at).is_(None), col(Invitation.revoked_at).is_(None),
    )):
        pending.revoked_at = now
        session.add(pending)
    token = new_token()
    row = Invitation(
        email=email, token_hash=digest(token), scope=target.scope, role=role,
        isp_id=target.isp.id, customer_id=target.customer_id, tenant_id=target.tenant_id,
        invited_by_id=viewer.administrator_id,
        expires_at=now + dt.timedelta(days=settings.invitation_link_days),
    )
    session.add(row)
    session.flush()
    link = f"{settings.links_base_url}/invitation/accept?token={token}"
    message = invitation_message(viewer.email, target.name, role.value, link,
                                 settings.invitation_link_days)
    queue_email(session, to=email, subject=message.subject, body=message.body,
                isp_id=target.isp.id, tenant_id=row.tenant_id,
                requested_by_id=viewer.administrator_id)
    audit.record(session, viewer, action="administrator.invite", object_type="Invitation",
                 object_id=row.id, isp_id=target.isp.id, tenant_id=row.tenant_id,
                 changes={"email": email, "role": role, "scope": target.scope})
    return row


def revoke_invitation(session: Session, viewer: Viewer, invitation_id: uuid.UUID) -> Invitation:
    row = scoping.get_visible(session, viewer, Invitation, invitation_id)
    if row is None:
        raise not_found("invitation", "id")
    resolve_target(session, viewer, row.isp_id, row.tenant_id, row.customer_id)
    if row.accepted_at is None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        audit.record(session, viewer, action="invitation.revoke", object_type="Invitation",
                     object_id=row.id, isp_id=row.isp_id, tenant_id=row.tenant_id)
    return row


@dataclass(frozen=True)
class Acceptance:
    administrator: Administrator
    grant: RoleGrant


def accept_invitation(session: Session, viewer: Viewer, *, token: str, password: str | None,
                      full_name: str | None) -> Acceptance:
    """Redeem an invitation: a new account is created, or an existing one gains the role."""
    row = session.exec(select(Invitation).where(Invitation.token_hash == digest(token))).first()
    if row is None or row.accepted_at is not None or row.revoked_at is not None:
        raise DomainError.single(ErrorCode.INVALID_TOKEN,
                                 "this invitation is not valid or was already used", "token")
    if utcnow() >= row.expires_at:
        raise DomainError.single(ErrorCode.EXPIRED_TOKEN,
                                 "this invitation has expired; ask for a new one", "token")
    administrator = session.exec(
        select(Administrator).where(Administrator.email == row.email)
    ).first()
    if administrator is None:
        administrator = _new_administrator(row.email, password, full_name)
        session.add(administrator)
        session.flush()
    grant = RoleGrant(administrator_id=administrator.id, scope=row.scope, role=row.role,
                      isp_id=row.isp_id, customer_id=row.customer_id, tenant_id=row.tenant_id)
    session.add(grant)
    row.accepted_at = utcnow()
    session.add(row)
    audit.record(session, viewer, action="invitation.accept", object_type="Administrator",
                 object_id=administrator.id, isp_id=row.isp_id, tenant_id=row.tenant_id,
                 changes={"role": row.role, "scope": row.scope},
                 actor_id=administrator.id, actor_email=administrator.email)
    return Acceptance(administrator=administrator, grant=grant)


def _new_administrator(email: str, password: str | None, full_name: str | None) -> Administrator:
    errors = ErrorCollector()
    if not password:
        errors.add(ErrorCode.REQUIRED, "choose a password for your new account", "password")
    else:
        errors.check(check_strength, password, email=email, full_name=full_name or "")
    name = errors.check(validation.bounded_text, full_name or "", ("full_name",),
                        max_length=200, required=True)
    errors.raise_if_any()
    assert name is not None
    assert password is not None
    return Administrator(email=email, full_name=name, password_hash=hash_password(password))


def _lock_scope(session: Session, grant: RoleGrant) -> None:
    """Serialise changes to one ISP's grants (a no-op on SQLite, which has one writer)."""
    session.exec(select(Isp.id).where(Isp.id == grant.isp_id).with_for_update()).first()


def _isp_admins_left_without(session: Session, grant: RoleGrant) -> int:
    statement = select(func.count()).select_from(RoleGrant).where(
        RoleGrant.scope == Scope.ISP,
        RoleGrant.isp_id == grant.isp_id,
        RoleGrant.role == Role.ADMIN,
        RoleGrant.id != grant.id,
    )
    return session.exec(statement).one()


def _managed_grant(session: Session, viewer: Viewer, grant_id: uuid.UUID) -> RoleGrant:
    grant = scoping.get_visible(session, viewer, RoleGrant, grant_id)
    if grant is None or grant.scope is Scope.PLATFORM:
        raise not_found("role grant", "id")
    resolve_target(session, viewer, grant.isp_id, grant.tenant_id, grant.customer_id)
    _lock_scope(session, grant)
    session.refresh(grant)
    return grant


def _refuse_last_admin(session: Session, grant: RoleGrant) -> None:
    if grant.scope is Scope.ISP and grant.role is Role.ADMIN \
            and _isp_admins_left_without(session, grant) == 0:
        raise DomainError.single(ErrorCode.LAST_ADMINISTRATOR,
                                 "an ISP needs at least one administrator with the ADMIN role",
                                 "id")


def change_role(session: Session, viewer: Viewer, grant_id: uuid.UUID, role: Role) -> RoleGrant:
    grant = _managed_grant(session, viewer, grant_id)
    if grant.role is role:
        return grant
    if role is not Role.ADMIN:
        _refuse_last_admin(session, grant)
    previous = grant.role
    grant.role = role
    session.add(grant)
    audit.record(session, viewer, action="role_grant.update", object_type="RoleGrant",
                 object_id=grant.id, isp_id=grant.isp_id, tenant_id=grant.tenant_id,
                 changes={"role": role, "previous_role": previous,
                          "administrator_id": grant.administrator_id})
    return grant


def remove_grant(session: Session, viewer: Viewer, grant_id: uuid.UUID) -> RoleGrant:
    """Take a person's role at one scope away, effective now: their sessions end and their
    API tokens are revoked (a script of theirs must not keep the rights of someone removed).
    Download links they hold die with the role: a download re-checks the holder's rights."""
    grant = _managed_grant(session, viewer, grant_id)
    _refuse_last_admin(session, grant)
    session.delete(grant)
    end_all_sessions(session, grant.administrator_id)
    revoked_tokens = revoke_all_tokens(session, grant.administrator_id)
    audit.record(session, viewer, action="role_grant.remove", object_type="RoleGrant",
                 object_id=grant.id, isp_id=grant.isp_id, tenant_id=grant.tenant_id,
                 changes={"administrator_id": grant.administrator_id, "role": grant.role,
                          "scope": grant.scope, "revoked_api_tokens": revoked_tokens})
    return grant
