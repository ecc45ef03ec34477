"""GraphQL types of directory links and their import preview."""

from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry
from sqlalchemy import select

from core.directory_links import import_room
from core.models import (
    DirectoryLink,
    DirectoryLinkStatus,
    DirectoryPreviewRow,
    DirectoryProvider,
    DirectorySyncPending,
)
from core.scoping import visible
from schema.context import Info
from schema.core.ids import to_global_id
from schema.core.node import Node, register_node
from schema.core.pagination import Connection, SortKey, paginate

DirectoryProviderEnum = strawberry.enum(DirectoryProvider, name="DirectoryProvider")
DirectoryLinkStatusEnum = strawberry.enum(DirectoryLinkStatus, name="DirectoryLinkStatus")


@strawberry.enum
class HeldAction(Enum):
    DISABLE = "DISABLE"
    DELETE = "DELETE"


@strawberry.type(description="Which users are synced: all of the domain when both are empty.")
class DirectoryScope:
    groups: list[str]
    org_units: list[str] = strawberry.field(description="Google only.")


@strawberry.type(description="What every imported subscriber gets.")
class DirectoryDefaults:
    country_code: str | None
    area_code: str | None
    security_group: strawberry.ID | None
    concurrent_calls: int | None
    ring_timeout: int | None
    voicemail_to_email: bool | None


@strawberry.type(description="A disable or removal a sync held back (the brake).")
class DirectoryHeldChange:
    action: HeldAction
    subscriber: strawberry.ID
    username: str
    email: str


@strawberry.type(name="DirectoryPreviewRow",
                 description="A directory user as the import would make them; editable.")
class DirectoryPreviewRowType(Node):
    row: strawberry.Private[DirectoryPreviewRow]
    external_id: str = strawberry.field(description="The user's id in the directory.")
    email: str
    display_name: str
    department: str
    username: str
    alias: str | None = strawberry.field(description="The proposed extension number.")
    caller_id: str | None
    excluded: bool
    conflicts: list[str] = strawberry.field(
        description="What differs from the obvious proposal, worth a look before importing.")
    link_subscriber: strawberry.ID | None = strawberry.field(
        description="A subscriber created by hand that this user takes over at import "
        "(only ever set by an administrator).")
    hand_made_match: strawberry.ID | None = strawberry.field(
        description="A subscriber created by hand with this user's e-mail, found by "
        "discovery: link it, import separately or exclude the user before importing.")
    import_separately: bool = strawberry.field(
        description="The administrator chose to import this user beside handMadeMatch.")
    needs_decision: bool = strawberry.field(
        description="True while handMadeMatch waits for a choice: the import is refused "
        "until then.")

    @classmethod
    def from_row(cls, row: DirectoryPreviewRow) -> DirectoryPreviewRowType:
        return cls(id=strawberry.ID(to_global_id("DirectoryPreviewRow", row.id)), row=row,
                   external_id=row.external_id, email=row.email, display_name=row.display_name,
                   department=row.department, username=row.username, alias=row.alias,
                   caller_id=row.caller_id, excluded=row.excluded, conflicts=list(row.conflicts),
                   link_subscriber=strawberry.ID(to_global_id("Subscriber",
                                                              row.link_subscriber_id))
                   if row.link_subscriber_id else None,
                   hand_made_match=strawberry.ID(to_global_id("Subscriber", row.hand_made_id))
                   if row.hand_made_id else None,
                   import_separately=row.import_separately,
                   needs_decision=bool(row.hand_made_id and not row.excluded
                                       and not row.link_subscriber_id
                                       and not row.import_separately))


register_node("DirectoryPreviewRow", DirectoryPreviewRow, DirectoryPreviewRowType.from_row)


@strawberry.type(name="DirectoryLink",
                 description="A tenant's link to its Google Workspace or Microsoft Entra "
                 "directory.")
class DirectoryLinkType(Node):
    row: strawberry.Private[DirectoryLink]
    tenant: strawberry.ID
    provider: DirectoryProviderEnum  # type: ignore[valid-type]
    status: DirectoryLinkStatusEnum  # type: ignore[valid-type]
    external_tenant_id: str | None = strawberry.field(
        description="The Entra tenant id (Microsoft), once consent is given.")
    sync_interval_minutes: int
    brake_percent: int = strawberry.field(
        description="A sync that would disable or remove more than this share of the "
        "synced subscribers waits for a decision.")
    removal_grace_days: int
    sequential_start: int | None = strawberry.field(
        description="New users get the next free extension from this number.")
    scope: DirectoryScope
    defaults: DirectoryDefaults
    last_synced_at: dt.datetime | None
    last_error_code: str | None = strawberry.field(
        description="e.g. CONSENT_REVOKED, WRONG_DOMAIN, DIRECTORY_UNAVAILABLE.")
    last_error: str | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: DirectoryLink) -> DirectoryLinkType:
        defaults = row.mapping_defaults or {}
        group = defaults.get("security_group_id")
        scope = row.scope or {}
        return cls(
            id=strawberry.ID(to_global_id("DirectoryLink", row.id)), row=row,
            tenant=strawberry.ID(to_global_id("Tenant", row.tenant_id)),
            provider=row.provider, status=row.status, external_tenant_id=row.external_tenant_id,
            sync_interval_minutes=row.sync_interval_minutes, brake_percent=row.brake_percent,
            removal_grace_days=row.removal_grace_days, sequential_start=row.alias_start,
            scope=DirectoryScope(groups=list(scope.get("groups") or []),
                                 org_units=list(scope.get("org_units") or [])),
            defaults=DirectoryDefaults(
                country_code=defaults.get("country_code"), area_code=defaults.get("area_code"),
                security_group=strawberry.ID(to_global_id("SecurityGroup", group))
                if group else None,
                concurrent_calls=defaults.get("concurrent_calls"),
                ring_timeout=defaults.get("ring_timeout"),
                voicemail_to_email=defaults.get("voicemail_to_email")),
            last_synced_at=row.last_synced_at, last_error_code=row.last_error_code,
            last_error=row.last_error, created_at=row.created_at, updated_at=row.updated_at)

    @strawberry.field(description="The users the last discovery found, in directory order.")
    async def preview(self, info: Info, first: int | None = None, after: str | None = None,
                      last: int | None = None, before: str | None = None,
                      ) -> Connection[DirectoryPreviewRowType]:
        return await paginate(
            info, DirectoryPreviewRow,
            where=[visible(info.context.viewer, DirectoryPreviewRow),
                   DirectoryPreviewRow.link_id == self.row.id],
            order=SortKey(DirectoryPreviewRow.position), to_node=DirectoryPreviewRowType.from_row,
            first=first, after=after, last=last, before=before)

    @strawberry.field(description="How many more subscribers the tenant's customer may have "
                      "(its maximum less those of all its tenants): how many preview rows "
                      "an import can create.")
    async def subscribers_allowed(self, info: Info) -> int:
        async with info.context.sessions() as session:
            return await session.run_sync(lambda sync: import_room(sync, self.row))

    @strawberry.field(description="What a sync stopped by the brake holds back.")
    async def held_changes(self, info: Info) -> list[DirectoryHeldChange]:
        async with info.context.sessions() as session:
            rows = (await session.execute(select(DirectorySyncPending).where(
                DirectorySyncPending.link_id == self.row.id).order_by(
                DirectorySyncPending.username))).scalars().all()
        return [DirectoryHeldChange(action=HeldAction(row.action),
                                    subscriber=strawberry.ID(to_global_id("Subscriber",
                                                                          row.subscriber_id)),
                                    username=row.username, email=row.email) for row in rows]


register_node("DirectoryLink", DirectoryLink, DirectoryLinkType.from_row)
