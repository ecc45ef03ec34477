"""GraphQL types of call records, their legs and the usage summary."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from core.models import (
    CallDirection,
    CallLeg,
    CallLegRevision,
    CallLegSide,
    CallRecord,
    CallState,
    RatingDeck,
)
from core.numbers import sees_costs
from core.usage import ChargeLine, UsageSummary
from schema.context import Info
from schema.core.enums import ServiceEnum
from schema.core.ids import to_global_id
from schema.core.loaders import children_by_parent
from schema.core.node import Node, load_node, node_of, register_node

if TYPE_CHECKING:
    from schema.carriers.types import GatewayType
    from schema.customers.types import CustomerType
    from schema.subscribers.types import SubscriberType
    from schema.tenants.types import TenantType

LazyCustomer = Annotated["CustomerType", strawberry.lazy("schema.customers.types")]
LazyTenant = Annotated["TenantType", strawberry.lazy("schema.tenants.types")]
LazySubscriber = Annotated["SubscriberType", strawberry.lazy("schema.subscribers.types")]
LazyGateway = Annotated["GatewayType", strawberry.lazy("schema.carriers.types")]


CallDirectionEnum = strawberry.enum(
    CallDirection, name="CallDirection",
    description="OUTBOUND: a subscriber called a number through the carrier; INBOUND: a "
    "carrier delivered a call to a number of the tenant; INTERNAL: extension to extension.")
CallStateEnum = strawberry.enum(
    CallState, name="CallState",
    description="ANSWERED: up (its end not collected yet); COMPLETED: answered and ended; "
    "FAILED: never answered; END_UNKNOWN: answered, but the proxy lost its end (it "
    "restarted during the call), so it has no duration and is not charged by the minute.")
CallLegSideEnum = strawberry.enum(
    CallLegSide, name="CallLegSide",
    description="A: the subscriber's side; B: the gateway, the DID or the called extension.")
RatingDeckEnum = strawberry.enum(
    RatingDeck, name="RatingDeck",
    description="What priced a leg: the plan's RATE_DECK (by prefix, PSTN legs), its "
    "SERVICE_DECK (by leg type), MONTHLY (no deck entry: the monthly prices cover it) or "
    "NO_PLAN (the customer has no service plan).")


@strawberry.type(name="CallAttempt", description="A failed attempt before the call's outcome "
                 "(a gateway that timed out or refused: the failover).")
class CallAttemptType:
    gateway: str | None = strawberry.field(description="The gateway's IP:port, if any.")
    sip_code: int
    sip_reason: str
    at: dt.datetime | None


@strawberry.type(name="CallLegRevision", description="A rating a re-rating replaced.")
class CallLegRevisionType:
    revision: int
    deck: RatingDeckEnum  # type: ignore[valid-type]
    rate_per_minute: Decimal
    billing_seconds: int
    price: Decimal
    cost: Decimal | None
    rated_at: dt.datetime
    replaced_at: dt.datetime

    @classmethod
    def from_row(cls, row: CallLegRevision, costs: bool) -> CallLegRevisionType:
        return cls(revision=row.revision, deck=row.deck, rate_per_minute=row.rate_per_minute,
                   billing_seconds=row.billing_seconds, price=row.price,
                   cost=row.cost if costs else None, rated_at=row.rated_at,
                   replaced_at=row.replaced_at)


@strawberry.type(name="CallLeg", description="One side of a call and its rating under the "
                 "customer's service plan (amounts in `currency`).")
class CallLegType(Node):
    row: strawberry.Private[CallLeg]
    side: CallLegSideEnum  # type: ignore[valid-type]
    leg_type: ServiceEnum  # type: ignore[valid-type]
    direction: CallDirectionEnum  # type: ignore[valid-type]
    number: str = strawberry.field(description="The number (E.164) or extension at this "
                                   "leg's far end.")
    answered: bool
    duration_seconds: int
    deck: RatingDeckEnum  # type: ignore[valid-type]
    destination: str = strawberry.field(description="The rate deck prefix and description "
                                        "that priced it; empty otherwise.")
    rate_per_minute: Decimal
    minimum_duration: int
    increment: int
    delay: int
    billing_seconds: int = strawberry.field(description="Billed duration: 0 at or below the "
                                            "delay, else the minimum plus whole increments.")
    price: Decimal
    currency: str
    prepaid: bool
    revision: int = strawberry.field(description="1, plus one per re-rating that changed it.")
    rated_at: dt.datetime

    @strawberry.field(description="The ISP's cost from the carrier's vendor rates; null where "
                      "unknown, and for viewers outside the ISP.")
    def cost(self, info: Info) -> Decimal | None:
        return self.row.cost if sees_costs(info.context.viewer, self.row.isp_id) else None

    @strawberry.field(description="Ratings replaced by re-ratings, oldest first.")
    async def revisions(self, info: Info) -> list[CallLegRevisionType]:
        rows = await children_by_parent(info.context, CallLegRevision.call_leg_id,
                                        CallLegRevision.revision).load(self.row.id)
        costs = sees_costs(info.context.viewer, self.row.isp_id)
        return [CallLegRevisionType.from_row(row, costs) for row in rows]

    @classmethod
    def from_row(cls, row: CallLeg) -> CallLegType:
        return cls(id=strawberry.ID(to_global_id("CallLeg", row.id)), row=row, side=row.side,
                   leg_type=row.leg_type, direction=row.direction, number=row.number,
                   answered=row.answered, duration_seconds=row.duration_seconds, deck=row.deck,
                   destination=row.destination, rate_per_minute=row.rate_per_minute,
                   minimum_duration=row.minimum_duration, increment=row.increment,
                   delay=row.delay, billing_seconds=row.billing_seconds, price=row.price,
                   currency=row.currency, prepaid=row.prepaid, revision=row.revision,
                   rated_at=row.rated_at)


@strawberry.type(name="CallRecord", description="A call as a proxy accounted it (times in "
                 "UTC), with its two legs.")
class CallRecordType(Node):
    row: strawberry.Private[CallRecord]
    call_id: str = strawberry.field(description="The SIP Call-ID.")
    from_tag: str
    to_tag: str
    direction: CallDirectionEnum  # type: ignore[valid-type]
    state: CallStateEnum  # type: ignore[valid-type]
    caller: str = strawberry.field(description="E.164 (the caller ID the proxy presented, or "
                                   "the number a carrier sent), else the caller's username.")
    callee: str = strawberry.field(description="E.164 after the tenant's dial plan, the DID "
                                   "called, or the called extension's username.")
    setup_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    duration_seconds: int | None = strawberry.field(description="From answer to end, every "
                                                    "second begun counting; null until ended.")
    sip_code: int = strawberry.field(description="The final status: 2xx answered.")
    sip_reason: str
    attempts: list[CallAttemptType]

    @strawberry.field
    async def legs(self, info: Info) -> list[CallLegType]:
        rows = await children_by_parent(info.context, CallLeg.call_record_id,
                                        CallLeg.side).load(self.row.id)
        return [CallLegType.from_row(row) for row in rows]

    @strawberry.field
    async def customer(self, info: Info) -> LazyCustomer | None:
        return await load_node(info, "Customer", self.row.customer_id)

    @strawberry.field
    async def tenant(self, info: Info) -> LazyTenant | None:
        return await load_node(info, "Tenant", self.row.tenant_id)

    @strawberry.field(description="The subscriber who called, or was called through a DID.")
    async def subscriber(self, info: Info) -> LazySubscriber | None:
        return await load_node(info, "Subscriber", self.row.subscriber_id)

    @strawberry.field(description="The gateway that carried it (visible to the ISP only).")
    async def gateway(self, info: Info) -> LazyGateway | None:
        return await load_node(info, "Gateway", self.row.gateway_id)

    @classmethod
    def from_row(cls, row: CallRecord) -> CallRecordType:
        attempts = [CallAttemptType(gateway=a.get("gateway"), sip_code=int(a.get("code", 0)),
                                    sip_reason=a.get("reason") or "",
                                    at=dt.datetime.fromisoformat(a["at"]) if a.get("at")
                                    else None)
                    for a in row.attempts]
        return cls(id=strawberry.ID(to_global_id("CallRecord", row.id)), row=row,
                   call_id=row.call_id, from_tag=row.from_tag, to_tag=row.to_tag,
                   direction=row.direction, state=row.state, caller=row.caller,
                   callee=row.callee, setup_at=row.setup_at, answered_at=row.answered_at,
                   ended_at=row.ended_at, duration_seconds=row.duration_seconds,
                   sip_code=row.sip_code, sip_reason=row.sip_reason, attempts=attempts)


register_node("CallRecord", CallRecord, CallRecordType.from_row)
register_node("CallLeg", CallLeg, CallLegType.from_row)


@strawberry.type(name="UsageChargeLine", description="Charged legs of one type to one "
                 "destination (the rate deck prefix, else the leg type).")
class UsageChargeLineType:
    leg_type: ServiceEnum  # type: ignore[valid-type]
    destination: str
    legs: int
    billed_seconds: int
    charges: Decimal
    cost: Decimal | None = strawberry.field(description="The ISP's known cost; null outside "
                                            "the ISP.")

    @classmethod
    def from_line(cls, line: ChargeLine) -> UsageChargeLineType:
        return cls(leg_type=line.leg_type, destination=line.destination, legs=line.legs,
                   billed_seconds=line.billed_seconds, charges=line.charges, cost=line.cost)


@strawberry.type(name="UsageSummary", description="What a customer owes for a period, in the "
                 "plan's currency. Monthly charges are for one month at today's counts (not "
                 "prorated).")
class UsageSummaryType:
    start: dt.datetime
    end: dt.datetime
    currency: str
    calls: int = strawberry.field(description="Calls set up in the period, answered or not.")
    answered_calls: int
    billed_seconds: int
    billed_minutes: Decimal = strawberry.field(description="billedSeconds / 60, 2 places.")
    usage_charges: Decimal
    charges: list[UsageChargeLineType]
    subscribers: int
    dids: int
    subscriber_charges: Decimal = strawberry.field(
        description="Active subscribers x the plan's monthly price per subscriber.")
    did_charges: Decimal = strawberry.field(
        description="Each assigned number at its own price, else the plan's price per DID.")
    monthly_charges: Decimal
    total_charges: Decimal
    usage_cost: Decimal | None = strawberry.field(
        description="The ISP's cost of the calls where the carrier's vendor rates know it; "
        "null outside the ISP.")
    did_cost: Decimal | None = strawberry.field(description="The numbers' vendor prices.")
    total_cost: Decimal | None
    margin: Decimal | None = strawberry.field(description="totalCharges - totalCost.")

    @strawberry.field
    async def customer(self, info: Info) -> LazyCustomer:
        return node_of("Customer", self.summary.customer)

    summary: strawberry.Private[UsageSummary]

    @classmethod
    def from_summary(cls, summary: UsageSummary) -> UsageSummaryType:
        return cls(summary=summary, start=summary.start, end=summary.end,
                   currency=summary.currency, calls=summary.calls,
                   answered_calls=summary.answered_calls, billed_seconds=summary.billed_seconds,
                   billed_minutes=(Decimal(summary.billed_seconds) / 60).quantize(
                       Decimal("0.01")),
                   usage_charges=summary.usage_charges,
                   charges=[UsageChargeLineType.from_line(line) for line in summary.lines],
                   subscribers=summary.subscribers, dids=summary.dids,
                   subscriber_charges=summary.subscriber_charges,
                   did_charges=summary.did_charges, monthly_charges=summary.monthly_charges,
                   total_charges=summary.total_charges, usage_cost=summary.usage_cost,
                   did_cost=summary.did_cost, total_cost=summary.total_cost,
                   margin=summary.margin)
