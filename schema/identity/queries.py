"""Reading administrators, their roles, invitations and personal tokens."""

from __future__ import annotations

from enum import Enum

import strawberry
from sqlalchemy import ColumnElement, exists, or_, select

from core.models import Administrator, ApiToken, Invitation, RoleGrant, utcnow
from core.scoping import visible
from schema.context import Info
from schema.core.filters import refers_to
from schema.core.loaders import rows_by_id
from schema.core.ordering import OrderDirection
from schema.core.pagination import Connection, SortKey, paginate
from schema.identity.types import AdministratorType, ApiTokenType, InvitationType


@strawberry.enum
class AdministratorOrderField(Enum):
    EMAIL = "email"
    FULL_NAME = "full_name"
    CREATED_AT = "created_at"


@strawberry.input
class AdministratorOrder:
    field: AdministratorOrderField = AdministratorOrderField.EMAIL
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class AdministratorFilter:
    isp: strawberry.ID | None = strawberry.field(
        default=None, description="Only people with a role in this ISP."
    )
    search: str | None = strawberry.field(
        default=None, description="Part of the e-mail address or name."
    )


def _administrator_conditions(filter: AdministratorFilter | None) -> list[ColumnElement[bool]]:
    if filter is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    if filter.isp is not None:
        conditions.append(exists(select(RoleGrant.id).where(
            RoleGrant.administrator_id == Administrator.id,
            refers_to(RoleGrant.isp_id, filter.isp, "Isp"),
        )))
    if filter.search:
        pattern = f"%{filter.search.strip().lower()}%"
        conditions.append(or_(Administrator.email.like(pattern),
                              Administrator.full_name.ilike(pattern)))
    return conditions


@strawberry.input
class InvitationFilter:
    isp: strawberry.ID | None = None
    pending: bool | None = strawberry.field(
        default=None, description="true: neither accepted nor revoked nor expired."
    )


@strawberry.type
class IdentityQuery:
    @strawberry.field(description="The administrator you are logged in as; null when anonymous.")
    async def me(self, info: Info) -> AdministratorType | None:
        viewer = info.context.viewer
        if viewer.administrator_id is None:
            return None
        row = await rows_by_id(info.context, Administrator).load(viewer.administrator_id)
        return AdministratorType.from_row(row) if row else None

    @strawberry.field(description="People holding roles in the scopes you oversee.")
    async def administrators(
        self,
        info: Info,
        filter: AdministratorFilter | None = None,
        order_by: AdministratorOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[AdministratorType]:
        order = order_by or AdministratorOrder()
        return await paginate(
            info, Administrator,
            where=[visible(info.context.viewer, Administrator), *_administrator_conditions(filter)],
            order=SortKey(getattr(Administrator, order.field.value),
                          descending=order.direction is OrderDirection.DESC),
            to_node=AdministratorType.from_row,
            first=first, after=after, last=last, before=before,
        )

    @strawberry.field(description="Invitations sent for the scopes you oversee, newest first.")
    async def invitations(
        self,
        info: Info,
        filter: InvitationFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[InvitationType]:
        conditions: list[ColumnElement[bool]] = [visible(info.context.viewer, Invitation)]
        if filter and filter.isp is not None:
            conditions.append(refers_to(Invitation.isp_id, filter.isp, "Isp"))
        if filter and filter.pending is not None:
            pending = (Invitation.accepted_at.is_(None) & Invitation.revoked_at.is_(None)
                       & (Invitation.expires_at > utcnow()))
            conditions.append(pending if filter.pending else ~pending)
        return await paginate(
            info, Invitation, where=conditions,
            order=SortKey(Invitation.created_at, descending=True),
            to_node=InvitationType.from_row, first=first, after=after, last=last, before=before,
        )

    @strawberry.field(description="Your personal API tokens, newest first.")
    async def api_tokens(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ApiTokenType]:
        return await paginate(
            info, ApiToken, where=[visible(info.context.viewer, ApiToken)],
            order=SortKey(ApiToken.created_at, descending=True), to_node=ApiTokenType.from_row,
            first=first, after=after, last=last, before=before,
        )
