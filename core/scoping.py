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
from sqlmodel import Session, SQLModel

from core.models import (
    Administrator,
    ApiToken,
    AuditEvent,
    Invitation,
    Isp,
    Job,
    RoleGrant,
    Scope,
    Tenant,
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
    statement = select(model).where(model.id == object_id, visible(viewer, model))  # type: ignore[attr-defined]
    return session.execute(statement).scalars().first()


def registered_models() -> frozenset[type[SQLModel]]:
    return frozenset(_RULES)


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
    overseen = select(RoleGrant.administrator_id).where(
        or_(
            _in(RoleGrant.isp_id, viewer.isp_ids()),
            _in(RoleGrant.tenant_id, viewer.tenant_ids()),
        )
    )
    return or_(Administrator.id == viewer.administrator_id, Administrator.id.in_(overseen))


@rule(RoleGrant)
def _role_grant(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.is_platform:
        return true()
    return or_(
        RoleGrant.administrator_id == viewer.administrator_id,
        _in(RoleGrant.isp_id, viewer.isp_ids()),
        _in(RoleGrant.tenant_id, viewer.tenant_ids()),
    )


@rule(Invitation)
def _invitation(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.is_platform:
        return true()
    return or_(
        _in(Invitation.isp_id, viewer.isp_ids()),
        (Invitation.scope == Scope.TENANT) & _in(Invitation.tenant_id, viewer.tenant_ids()),
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
        Job.requested_by_id == viewer.administrator_id,
    )


@rule(ApiToken)
def _api_token(viewer: Viewer) -> ColumnElement[bool]:
    # Tokens are personal: not even a platform operator lists someone else's.
    return ApiToken.administrator_id == viewer.administrator_id
