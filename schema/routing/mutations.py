"""Managing SIP proxies and exporting the routing tables on demand (platform operators)."""

from __future__ import annotations

import strawberry
from sqlmodel import Session

from core import sip_proxies
from core.errors import DomainError, ErrorCode
from core.routing_changes import request_export
from core.secrets import secret_box
from schema.context import Info
from schema.core.errors import UserError
from schema.core.mutations import Ref, given_fields, run
from schema.routing.types import SipProxyType


@strawberry.input
class SipProxyCreateInput:
    name: str
    database_url: str = strawberry.field(
        description="postgres://user:password@host:port/database: the database whose "
        "tables the proxy reads. Several proxies may share one.")
    rpc_url: str = strawberry.field(
        description="The proxy's JSON-RPC endpoint, e.g. http://10.0.0.5:5080/RPC.")
    enabled: bool = True


@strawberry.input(description="Fields left out or null stay as they are.")
class SipProxyUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    database_url: str | None = strawberry.UNSET
    rpc_url: str | None = strawberry.UNSET
    enabled: bool | None = strawberry.UNSET


@strawberry.input
class SipProxyDeleteInput:
    id: strawberry.ID


@strawberry.type
class SipProxyPayload:
    sip_proxy: SipProxyType | None = None
    errors: list[UserError]


@strawberry.type
class SipProxyDeletePayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError]


@strawberry.type
class RoutingExportPayload:
    databases: int = strawberry.field(
        default=0, description="How many proxy databases an export was queued for.")
    errors: list[UserError]


@strawberry.type
class RoutingMutation:
    @strawberry.mutation(description="Add a SIP proxy; its tables are exported at once.")
    async def sip_proxy_create(self, info: Info, input: SipProxyCreateInput) -> SipProxyPayload:
        viewer, box = info.context.viewer, secret_box(info.context.settings.secret_key_bytes())
        values = given_fields(input)
        outcome = await run(info, lambda s: sip_proxies.create_sip_proxy(s, viewer, box, values))
        return SipProxyPayload(
            sip_proxy=SipProxyType.from_row(outcome.value) if outcome.ok else None,
            errors=outcome.errors)

    @strawberry.mutation(description="Change a SIP proxy.")
    async def sip_proxy_update(self, info: Info, input: SipProxyUpdateInput) -> SipProxyPayload:
        viewer, box = info.context.viewer, secret_box(info.context.settings.secret_key_bytes())
        changes = given_fields(input)
        outcome = await run(
            info, lambda s, proxy_id: sip_proxies.update_sip_proxy(
                s, viewer, box, proxy_id, changes),
            Ref(input.id, "SipProxy", "SIP proxy"))
        return SipProxyPayload(
            sip_proxy=SipProxyType.from_row(outcome.value) if outcome.ok else None,
            errors=outcome.errors)

    @strawberry.mutation(description="Remove a SIP proxy (its database is left as it is).")
    async def sip_proxy_delete(self, info: Info, input: SipProxyDeleteInput
                               ) -> SipProxyDeletePayload:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, proxy_id: sip_proxies.delete_sip_proxy(s, viewer, proxy_id),
            Ref(input.id, "SipProxy", "SIP proxy"))
        return SipProxyDeletePayload(deleted_id=input.id if outcome.ok else None,
                                     errors=outcome.errors)

    @strawberry.mutation(description="Export the routing tables to every proxy database now "
                         "(platform operators); changes are exported by themselves anyway.")
    async def routing_export(self, info: Info) -> RoutingExportPayload:
        viewer = info.context.viewer

        def work(session: Session) -> int:
            if not viewer.is_platform_admin:
                raise DomainError.single(ErrorCode.NOT_PERMITTED,
                                         "only platform operators start exports")
            return request_export(session)

        outcome = await run(info, work)
        return RoutingExportPayload(databases=outcome.value or 0, errors=outcome.errors)
