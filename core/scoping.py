"""What a viewer may see: one rule per table, used by every read path.

Root lists, ``node``/``nodes``, relation loaders and the lookup inside every
mutation all go through :func:`visible` / :func:`get_visible`, so an object
outside the viewer's scope is indistinguishable from one that does not exist.
A table without a rule is visible to nobody (fail closed).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlmodel import Session, SQLModel, col

from core.models import (
    Administrator,
    ApiToken,
    AuditEvent,
    CallLeg,
    CallLegRevision,
    CallRecord,
    Carrier,
    Customer,
    DialPlan,
    DialPlanRule,
    DirectoryLink,
    DirectoryPreviewRow,
    Gateway,
    Invitation,
    Isp,
    Job,
    Number,
    PrepaidBalance,
    PrepaidLedgerEntry,
    RateDeckEntry,
    RoleGrant,
    Scope,
    SecurityGroup,
    SecurityGroupDestination,
    ServiceDeckEntry,
    ServicePlan,
    SipProxy,
    Smbc,
    StoredFile,
    Subscriber,
    Tenant,
    VendorRateEntry,
    VerifiedDomain,
)
from core.viewer import Viewer

T = TypeVar("T", bound=SQLModel)
Rule = Callable[[Viewer], ColumnElement[bool]]

_RULES: dict[type[SQLModel], Rule] = {}


def rule(model: type[SQLModel]) -> Callable[[Rule], Rule]:
    """Register the visibility rule of ``model``."""

    def register(function: Rule) -> Rule:
        _RULES[model] = function
        return function

    return register


def visible(viewer: Viewer, model: type[SQLModel]) -> ColumnElement[bool]:
    """A WHERE clause selecting the rows of ``model`` the viewer may see."""
    if not viewer.is_authenticated:
        return false()
    found = _RULES.get(model)
    if found is None:
        return false()
    return found(viewer)


def get_visible(session: Session, viewer: Viewer, model: type[T], object_id: Any) -> T | None:
    """The row with this id if it exists and the viewer may see it, else None."""
    if not isinstance(object_id, uuid.UUID):
        return None
    # SQLModel's base class declares no id; every table model here has one.
    statement = select(model).where(model.id == object_id, visible(viewer, model))  # type: ignore[attr-defined]
    return session.execute(statement).scalars().first()


def _in(column: Any, ids: frozenset[uuid.UUID]) -> ColumnElement[bool]:
    return column.in_(ids) if ids else false()


@rule(Isp)
def _isp(viewer: Viewer) -> ColumnElement[bool]:
    # Members of an ISP at any level see its name and theme (their app is branded with it).
    return true() if viewer.is_platform else _in(Isp.id, viewer.member_isp_ids())


@rule(Tenant)
def _tenant(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.is_platform:
        return true()
    return or_(
        _in(Tenant.isp_id, viewer.isp_ids()),
        _in(Tenant.customer_id, viewer.customer_ids()),
        _in(Tenant.id, viewer.tenant_ids()),
    )


@rule(Administrator)
def _administrator(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.is_platform:
        return true()
    # People holding a role in a scope the viewer oversees, and the viewer.
    overseen = select(col(RoleGrant.administrator_id)).where(
        or_(
            _in(RoleGrant.isp_id, viewer.isp_ids()),
            _in(RoleGrant.customer_id, viewer.customer_ids()),
            _in(RoleGrant.tenant_id, viewer.tenant_ids()),
        )
    )
    return or_(col(Administrator.id) == viewer.administrator_id,
               col(Administrator.id).in_(overseen))


@rule(RoleGrant)
def _role_grant(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.is_platform:
        return true()
    return or_(
        col(RoleGrant.administrator_id) == viewer.administrator_id,
        _in(RoleGrant.isp_id, viewer.isp_ids()),
        _in(RoleGrant.customer_id, viewer.customer_ids()),
        _in(RoleGrant.tenant_id, viewer.tenant_ids()),
    )


@rule(Invitation)
def _invitation(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.is_platform:
        return true()
    return or_(
        _in(Invitation.isp_id, viewer.isp_ids()),
        (col(Invitation.scope) == Scope.CUSTOMER)
        & _in(Invitation.customer_id, viewer.customer_ids()),
        (col(Invitation.scope) == Scope.TENANT) & _in(Invitation.tenant_id, viewer.tenant_ids()),
    )


@rule(AuditEvent)
def _audit_event(viewer: Viewer) -> ColumnElement[bool]:
    # The audit log is the ISP's: ISP-wide roles read it, nobody reads another ISP's.
    return true() if viewer.is_platform else _in(AuditEvent.isp_id, viewer.isp_ids())


@rule(Job)
def _job(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.is_platform:
        return true()
    return or_(
        _in(Job.isp_id, viewer.isp_ids()),
        _in(Job.tenant_id, viewer.tenant_ids()),
        col(Job.requested_by_id) == viewer.administrator_id,
    )


@rule(ApiToken)
def _api_token(viewer: Viewer) -> ColumnElement[bool]:
    # Tokens are personal: not even a platform operator lists someone else's.
    return col(ApiToken.administrator_id) == viewer.administrator_id


# The ISP's catalogue --------------------------------------------------------------------------
# Owned by an ISP and managed by its ISP-wide roles; rows below a parent (gateways,
# rules, deck entries) are visible exactly when their parent is.


def _isp_wide(column: Any, viewer: Viewer) -> ColumnElement[bool]:
    return true() if viewer.is_platform else _in(column, viewer.isp_ids())


def _below(child_column: Any, parent: Any, viewer: Viewer) -> ColumnElement[bool]:
    return child_column.in_(select(parent.id).where(visible(viewer, parent)))


@rule(Customer)
def _customer(viewer: Viewer) -> ColumnElement[bool]:
    return or_(_isp_wide(Customer.isp_id, viewer), _in(Customer.id, viewer.customer_ids()))


@rule(ServicePlan)
def _service_plan(viewer: Viewer) -> ColumnElement[bool]:
    return _isp_wide(ServicePlan.isp_id, viewer)


@rule(ServiceDeckEntry)
def _service_deck_entry(viewer: Viewer) -> ColumnElement[bool]:
    return _below(ServiceDeckEntry.service_plan_id, ServicePlan, viewer)


@rule(RateDeckEntry)
def _rate_deck_entry(viewer: Viewer) -> ColumnElement[bool]:
    return _below(RateDeckEntry.service_plan_id, ServicePlan, viewer)


@rule(Carrier)
def _carrier(viewer: Viewer) -> ColumnElement[bool]:
    return _isp_wide(Carrier.isp_id, viewer)


@rule(Gateway)
def _gateway(viewer: Viewer) -> ColumnElement[bool]:
    return _below(Gateway.carrier_id, Carrier, viewer)


@rule(DialPlan)
def _dial_plan(viewer: Viewer) -> ColumnElement[bool]:
    return _isp_wide(DialPlan.isp_id, viewer)


@rule(DialPlanRule)
def _dial_plan_rule(viewer: Viewer) -> ColumnElement[bool]:
    return _below(DialPlanRule.dial_plan_id, DialPlan, viewer)


@rule(SipProxy)
def _sip_proxy(viewer: Viewer) -> ColumnElement[bool]:
    # The proxies are the platform's: ISPs see their effect, not their addresses.
    return true() if viewer.is_platform else false()


@rule(Smbc)
def _smbc(viewer: Viewer) -> ColumnElement[bool]:
    # A customer's own SMBCs are also visible to that customer's administrators.
    return or_(_isp_wide(Smbc.isp_id, viewer), _in(Smbc.customer_id, viewer.customer_ids()))


@rule(Number)
def _number(viewer: Viewer) -> ColumnElement[bool]:
    # The inventory is the ISP's; a tenant sees the numbers assigned to it.
    return or_(_isp_wide(Number.isp_id, viewer), _in(Number.tenant_id, viewer.tenant_ids()))


@rule(VerifiedDomain)
def _verified_domain(viewer: Viewer) -> ColumnElement[bool]:
    return _isp_wide(VerifiedDomain.isp_id, viewer)


# What lives inside a tenant -------------------------------------------------------------------


def _in_visible_tenant(column: Any, viewer: Viewer) -> ColumnElement[bool]:
    return column.in_(select(col(Tenant.id)).where(visible(viewer, Tenant)))


@rule(Subscriber)
def _subscriber(viewer: Viewer) -> ColumnElement[bool]:
    return _in_visible_tenant(Subscriber.tenant_id, viewer)


@rule(SecurityGroup)
def _security_group(viewer: Viewer) -> ColumnElement[bool]:
    return _in_visible_tenant(SecurityGroup.tenant_id, viewer)


@rule(SecurityGroupDestination)
def _security_group_destination(viewer: Viewer) -> ColumnElement[bool]:
    return _below(SecurityGroupDestination.security_group_id, SecurityGroup, viewer)


@rule(DirectoryLink)
def _directory_link(viewer: Viewer) -> ColumnElement[bool]:
    return _in_visible_tenant(DirectoryLink.tenant_id, viewer)


@rule(DirectoryPreviewRow)
def _directory_preview_row(viewer: Viewer) -> ColumnElement[bool]:
    return col(DirectoryPreviewRow.link_id).in_(
        select(col(DirectoryLink.id)).where(_directory_link(viewer)))


@rule(StoredFile)
def _stored_file(viewer: Viewer) -> ColumnElement[bool]:
    # Files hold imports and exports (SIP passwords among them): ISP-wide roles,
    # the tenant's own administrators, and whoever made the file.
    if viewer.is_platform:
        return true()
    return or_(
        _in(StoredFile.isp_id, viewer.isp_ids(admin_only=True)),
        _in(StoredFile.tenant_id, viewer.tenant_ids(admin_only=True)),
        col(StoredFile.created_by_id) == viewer.administrator_id,
    )


# Calls ---------------------------------------------------------------------------------------
# A tenant's administrators see its calls, a customer's its tenants', an ISP's all of its own.


@rule(CallRecord)
def _call_record(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.is_platform:
        return true()
    return or_(_in(CallRecord.isp_id, viewer.isp_ids()),
               _in(CallRecord.customer_id, viewer.customer_ids()),
               _in(CallRecord.tenant_id, viewer.tenant_ids()))


@rule(CallLeg)
def _call_leg(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.is_platform:
        return true()
    return or_(_in(CallLeg.isp_id, viewer.isp_ids()),
               _in(CallLeg.customer_id, viewer.customer_ids()),
               _in(CallLeg.tenant_id, viewer.tenant_ids()))


@rule(CallLegRevision)
def _call_leg_revision(viewer: Viewer) -> ColumnElement[bool]:
    return _below(CallLegRevision.call_leg_id, CallLeg, viewer)


# A prepaid customer's balance and ledger: whoever sees the customer.
@rule(PrepaidBalance)
def _prepaid_balance(viewer: Viewer) -> ColumnElement[bool]:
    return _below(PrepaidBalance.customer_id, Customer, viewer)


@rule(PrepaidLedgerEntry)
def _prepaid_ledger_entry(viewer: Viewer) -> ColumnElement[bool]:
    return _below(PrepaidLedgerEntry.customer_id, Customer, viewer)


@rule(VendorRateEntry)
def _vendor_rate_entry(viewer: Viewer) -> ColumnElement[bool]:
    # What carriers charge the ISP is the ISP's business only.
    return _below(VendorRateEntry.carrier_id, Carrier, viewer)
