"""``routePreview``: what the proxies will do with a call, computed by core.route_preview."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from core.route_preview import GatewayAttempt, PreviewOutcome, RoutePreview
from schema.core.errors import UserError
from schema.core.node import node_of

if TYPE_CHECKING:
    from schema.carriers.types import GatewayType
    from schema.dial_plans.types import DialPlanRuleType
    from schema.subscribers.types import SubscriberType

LazyGateway = Annotated["GatewayType", strawberry.lazy("schema.carriers.types")]
LazyDialPlanRule = Annotated["DialPlanRuleType", strawberry.lazy("schema.dial_plans.types")]
LazySubscriber = Annotated["SubscriberType", strawberry.lazy("schema.subscribers.types")]


RoutePreviewOutcomeEnum = strawberry.enum(PreviewOutcome, name="RoutePreviewOutcome",
                                          description="EXTENSION: a subscriber of the tenant "
                                          "rings; CARRIER: out through the tenant's carrier; "
                                          "REFUSED: the caller gets status and reason.")


@strawberry.type(name="RoutePreviewGateway",
                 description="What one gateway of the tenant's carrier receives, in "
                 "failover order.")
class RoutePreviewGatewayType:
    gateway: LazyGateway
    request_uri_user: str = strawberry.field(description="The Request-URI user: prefix + "
                                             "the E.164 digits after strip.")
    from_user: str = strawberry.field(description="The gateway's From user, else the "
                                      "caller's caller ID, else its SIP user.")
    from_display: str | None = strawberry.field(
        description="The gateway's From display, else the caller's display name; null: the "
        "display the phone sends goes through.")
    p_asserted_identity: str | None = strawberry.field(
        description="The P-Asserted-Identity header value, when the gateway adds one.")

    @classmethod
    def from_attempt(cls, attempt: GatewayAttempt) -> RoutePreviewGatewayType:
        return cls(gateway=node_of("Gateway", attempt.gateway),
                   request_uri_user=attempt.request_uri_user, from_user=attempt.from_user,
                   from_display=attempt.from_display,
                   p_asserted_identity=attempt.p_asserted_identity)


@strawberry.type(name="RoutePreview", description="What the SIP proxies will do when the "
                 "subscriber's phone dials a string: computed from the rules the routing "
                 "export gives the proxies; places no call. Null fields with errors.")
class RoutePreviewType:
    dialed: str | None = None
    outcome: RoutePreviewOutcomeEnum | None = None  # type: ignore[valid-type]
    status: int | None = strawberry.field(default=None,
                                          description="The SIP status, when refused.")
    reason: str | None = strawberry.field(default=None,
                                          description="The reason phrase, when refused.")
    number: str | None = strawberry.field(default=None,
                                          description="The number after the dial plan.")
    matched_rule: LazyDialPlanRule | None = strawberry.field(
        default=None, description="The dial-plan rule that rewrote the number.")
    security_group_allows: bool | None = strawberry.field(
        default=None, description="Whether the caller may call the number (domestic numbers "
        "always; others when the security group opens them).")
    extension: LazySubscriber | None = strawberry.field(
        default=None, description="The subscriber that rings, for an extension.")
    gateways: list[RoutePreviewGatewayType] = strawberry.field(default_factory=list)
    errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def from_preview(cls, preview: RoutePreview) -> RoutePreviewType:
        rule = preview.matched_rule
        return cls(
            dialed=preview.dialled, outcome=preview.outcome, status=preview.status,
            reason=preview.reason, number=preview.number,
            matched_rule=node_of("DialPlanRule", rule) if rule else None,
            security_group_allows=preview.allowed,
            extension=node_of("Subscriber", preview.extension) if preview.extension else None,
            gateways=[RoutePreviewGatewayType.from_attempt(attempt)
                      for attempt in preview.gateways])
