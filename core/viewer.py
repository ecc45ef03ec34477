"""Who is asking: an administrator and the roles they hold, or nobody."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session, col, select

from core.models import Administrator, Role, RoleGrant, Scope, Tenant


class AuthMethod(StrEnum):
    SESSION = "SESSION"
    API_TOKEN = "API_TOKEN"


@dataclass(frozen=True)
class Grant:
    scope: Scope
    role: Role
    isp_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    tenant_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Viewer:
    administrator_id: uuid.UUID | None = None
    email: str = ""
    grants: tuple[Grant, ...] = ()
    auth_method: AuthMethod | None = None
    client_address: str = ""
    request_id: str = ""
    # The tenants of the customers the viewer holds a customer grant on, with that role:
    # a customer's administrator administers each of its tenants.
    customer_tenants: tuple[tuple[uuid.UUID, Role], ...] = ()

    @property
    def is_authenticated(self) -> bool:
        return self.administrator_id is not None

    @property
    def is_platform(self) -> bool:
        return any(grant.scope is Scope.PLATFORM for grant in self.grants)

    @property
    def is_platform_admin(self) -> bool:
        return any(g.scope is Scope.PLATFORM and g.role is Role.ADMIN for g in self.grants)

    def isp_ids(self, *, admin_only: bool = False) -> frozenset[uuid.UUID]:
        """ISPs where the viewer holds an ISP-wide grant."""
        return frozenset(
            g.isp_id for g in self.grants
            if g.scope is Scope.ISP and g.isp_id and (not admin_only or g.role is Role.ADMIN)
        )

    def member_isp_ids(self) -> frozenset[uuid.UUID]:
        """ISPs where the viewer holds any grant (ISP, customer or tenant)."""
        return frozenset(g.isp_id for g in self.grants if g.isp_id)

    def tenant_ids(self, *, admin_only: bool = False) -> frozenset[uuid.UUID]:
        """Tenants the viewer holds a role on: a tenant grant, or a grant on its customer."""
        direct = (
            g.tenant_id for g in self.grants
            if g.scope is Scope.TENANT and g.tenant_id and (not admin_only or g.role is Role.ADMIN)
        )
        through_customer = (tenant_id for tenant_id, role in self.customer_tenants
                            if not admin_only or role is Role.ADMIN)
        return frozenset((*direct, *through_customer))

    def customer_ids(self, *, admin_only: bool = False) -> frozenset[uuid.UUID]:
        return frozenset(
            g.customer_id for g in self.grants
            if g.scope is Scope.CUSTOMER and g.customer_id
            and (not admin_only or g.role is Role.ADMIN)
        )

    def can_manage_isp(self, isp_id: uuid.UUID) -> bool:
        return self.is_platform_admin or isp_id in self.isp_ids(admin_only=True)

    def can_manage_customer(self, isp_id: uuid.UUID, customer_id: uuid.UUID) -> bool:
        return self.can_manage_isp(isp_id) or customer_id in self.customer_ids(admin_only=True)

    def can_manage_tenant(self, isp_id: uuid.UUID, tenant_id: uuid.UUID) -> bool:
        return self.can_manage_isp(isp_id) or tenant_id in self.tenant_ids(admin_only=True)

    def describe_scope(self) -> str:
        """A short label for audit events: the widest role held."""
        if self.is_platform:
            return "PLATFORM"
        if self.isp_ids():
            return "ISP"
        if self.customer_ids():
            return "CUSTOMER"
        if self.tenant_ids():
            return "TENANT"
        return "NONE"


ANONYMOUS = Viewer()


def load_viewer(
    session: Session,
    administrator_id: uuid.UUID,
    *,
    auth_method: AuthMethod,
    client_address: str = "",
    request_id: str = "",
) -> Viewer | None:
    """The viewer for an authenticated administrator, or None when they cannot log in."""
    administrator = session.get(Administrator, administrator_id)
    if administrator is None or not administrator.is_active:
        return None
    rows = session.exec(select(RoleGrant).where(RoleGrant.administrator_id == administrator_id))
    grants = tuple(
        Grant(scope=row.scope, role=row.role, isp_id=row.isp_id, customer_id=row.customer_id,
              tenant_id=row.tenant_id)
        for row in rows
    )
    return Viewer(
        administrator_id=administrator.id,
        email=administrator.email,
        grants=grants,
        customer_tenants=_customer_tenants(session, grants),
        auth_method=auth_method,
        client_address=client_address,
        request_id=request_id,
    )


def _customer_tenants(session: Session, grants: tuple[Grant, ...]
                      ) -> tuple[tuple[uuid.UUID, Role], ...]:
    roles = {g.customer_id: g.role for g in grants if g.scope is Scope.CUSTOMER and g.customer_id}
    if not roles:
        return ()
    rows = session.exec(select(Tenant.id, Tenant.customer_id)
                        .where(col(Tenant.customer_id).in_(roles)))
    return tuple((tenant_id, roles[customer_id]) for tenant_id, customer_id in rows)
