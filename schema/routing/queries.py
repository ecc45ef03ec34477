"""Reading SIP proxies and the routing export's state."""

from __future__ import annotations

import strawberry
from sqlalchemy import func, select
from sqlmodel import Session

from core.models import RoutingChanges, RoutingDatabase, RoutingIspChange, SipProxy
from core.route_preview import preview_route
from core.scoping import visible
from core.viewer import Viewer
from schema.context import Info
from schema.core.mutations import Ref, run
from schema.core.pagination import Connection, SortKey, paginate
from schema.routing.preview import RoutePreviewType
from schema.routing.types import RoutingStatus, SipProxyType


def _status(session: Session, viewer: Viewer) -> RoutingStatus:
    """The platform's export state for operators; for everyone else only whether their own
    ISPs' changes are live (another ISP's activity, and the proxies' errors, are not theirs)."""
    proxies = list(session.execute(select(SipProxy).where(SipProxy.enabled)
                                   .order_by(SipProxy.name)).scalars())
    keys = {proxy.database_key for proxy in proxies}
    databases = {row.key: row for row in session.execute(
        select(RoutingDatabase).where(RoutingDatabase.key.in_(keys))).scalars()}  # type: ignore[attr-defined]
    changes = session.get(RoutingChanges, 1)
    if viewer.is_platform:
        awaited = changes.requested if changes else 0
    else:
        own = session.execute(select(func.max(RoutingIspChange.requested)).where(
            RoutingIspChange.isp_id.in_(viewer.member_isp_ids()))).scalar()  # type: ignore[attr-defined]
        awaited = max(own or 0, changes.unattributed if changes else 0)
    pending = any((databases[key].covered_request if key in databases else 0) < awaited
                  for key in keys)
    lagging = any(proxy.applied_generation < databases[proxy.database_key].generation
                  for proxy in proxies if proxy.database_key in databases)
    if not viewer.is_platform:
        return RoutingStatus(in_step=not pending and not lagging, pending=pending,
                             generation=None, exported_at=None, last_error=None, proxies=[])
    exported = [row.exported_at for row in databases.values() if row.exported_at]
    errors = [row.last_error for row in databases.values() if row.last_error]
    return RoutingStatus(
        in_step=not pending and not lagging,
        pending=pending,
        generation=max((row.generation for row in databases.values()), default=0),
        exported_at=max(exported, default=None),
        last_error=errors[0] if errors else None,
        proxies=[SipProxyType.from_row(proxy) for proxy in proxies],
    )


@strawberry.type
class RoutingQuery:
    @strawberry.field(description="The SIP proxies (platform operators only).")
    async def sip_proxies(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[SipProxyType]:
        return await paginate(
            info, SipProxy, where=[visible(info.context.viewer, SipProxy)],
            order=SortKey(SipProxy.name), to_node=SipProxyType.from_row,
            first=first, after=after, last=last, before=before,
        )

    @strawberry.field(description="Whether configuration changes have reached the proxies. "
                      "Null when not logged in.")
    async def routing_status(self, info: Info) -> RoutingStatus | None:
        viewer = info.context.viewer
        if not viewer.is_authenticated:
            return None
        async with info.context.sessions() as session:
            return await session.run_sync(lambda s: _status(s, viewer))

    @strawberry.field(description="What the proxies will do when the subscriber's phone "
                      "dials this: the dial-plan rule and number, the security group's "
                      "answer, and what each gateway receives (or which extension rings).")
    async def route_preview(self, info: Info, subscriber: strawberry.ID,
                            dialed: str) -> RoutePreviewType:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, subscriber_id: preview_route(s, viewer, subscriber_id, dialed),
            Ref(subscriber, "Subscriber", "subscriber", "subscriber"))
        if not outcome.ok:
            return RoutePreviewType(errors=outcome.errors)
        return RoutePreviewType.from_preview(outcome.value)
