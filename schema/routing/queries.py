"""Reading SIP proxies and the routing export's state."""

from __future__ import annotations

import strawberry
from sqlmodel import Session

from core.models import SipProxy
from core.route_preview import preview_route
from core.routing_status import routing_state
from core.scoping import visible
from core.viewer import Viewer
from schema.context import Info
from schema.core.mutations import Ref, run
from schema.core.pagination import Connection, SortKey, paginate
from schema.routing.preview import RoutePreviewType
from schema.routing.types import RoutingStatus, SipProxyType


def _status(session: Session, viewer: Viewer) -> RoutingStatus:
    state = routing_state(session, viewer)
    return RoutingStatus(
        in_step=state.in_step, pending=state.pending, generation=state.generation,
        exported_at=state.exported_at, last_error=state.last_error,
        proxies=[SipProxyType.from_row(proxy) for proxy in state.proxies])


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
