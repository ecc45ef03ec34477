"""GraphQL types of service plans, their decks, and the preview of a call's price."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import Enum

import strawberry

from core.billing import Deck, Rating
from core.models import RateDeckEntry, ServiceDeckEntry, ServicePlan
from core.scoping import visible
from schema.context import Info
from schema.core.enums import ServiceEnum
from schema.core.ids import to_global_id
from schema.core.node import Node, register_node
from schema.core.ordering import OrderDirection
from schema.core.pagination import Connection, SortKey, paginate
from schema.service_plans.loaders import service_plan_by_id

DeckEnum = strawberry.enum(Deck, name="Deck", description="Which charge priced a call.")


# Deck entries --------------------------------------------------------------------------------


@strawberry.interface(description="The rating terms a deck entry gives calls; durations in "
                      "seconds. Billed seconds: 0 up to the delay, else the minimum duration "
                      "plus whole increments for what exceeds it.")
class DeckEntry(Node):
    row: strawberry.Private[ServiceDeckEntry | RateDeckEntry]
    rate_per_minute: Decimal
    valid_from: dt.datetime
    valid_to: dt.datetime | None = strawberry.field(description="Null: open-ended.")
    minimum_duration: int
    increment: int
    delay: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @strawberry.field
    async def service_plan(self, info: Info) -> ServicePlanType | None:
        row = await service_plan_by_id(info.context).load(self.row.service_plan_id)
        return ServicePlanType.from_row(row) if row else None


def _terms(type_name: str, row: ServiceDeckEntry | RateDeckEntry) -> dict[str, object]:
    return {"id": strawberry.ID(to_global_id(type_name, row.id)), "row": row,
            "rate_per_minute": row.rate_per_minute, "valid_from": row.valid_from,
            "valid_to": row.valid_to, "minimum_duration": row.minimum_duration,
            "increment": row.increment, "delay": row.delay, "created_at": row.created_at,
            "updated_at": row.updated_at}


@strawberry.type(name="ServiceDeckEntry", description="The rate of one service under a plan.")
class ServiceDeckEntryType(DeckEntry):
    service: ServiceEnum  # type: ignore[valid-type]

    @classmethod
    def from_row(cls, row: ServiceDeckEntry) -> ServiceDeckEntryType:
        return cls(service=row.service, **_terms("ServiceDeckEntry", row))  # type: ignore[arg-type]


@strawberry.type(name="RateDeckEntry", description="The rate of calls to one destination "
                 "prefix under a plan.")
class RateDeckEntryType(DeckEntry):
    prefix: str = strawberry.field(description="E.164 prefix, e.g. +44 or +1209.")
    description: str

    @classmethod
    def from_row(cls, row: RateDeckEntry) -> RateDeckEntryType:
        return cls(prefix=row.prefix, description=row.description,  # type: ignore[arg-type]
                   **_terms("RateDeckEntry", row))


@strawberry.input
class ServiceDeckFilter:
    service: ServiceEnum | None = None  # type: ignore[valid-type]


@strawberry.enum
class ServiceDeckOrderField(Enum):
    SERVICE = "service"
    VALID_FROM = "valid_from"


@strawberry.input
class ServiceDeckOrder:
    field: ServiceDeckOrderField = ServiceDeckOrderField.SERVICE
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class RateDeckFilter:
    prefix: str | None = strawberry.field(
        default=None, description="Entries whose prefix starts with this, e.g. +44.")


@strawberry.enum
class RateDeckOrderField(Enum):
    PREFIX = "prefix"
    RATE_PER_MINUTE = "rate_per_minute"
    VALID_FROM = "valid_from"


@strawberry.input
class RateDeckOrder:
    field: RateDeckOrderField = RateDeckOrderField.PREFIX
    direction: OrderDirection = OrderDirection.ASC


# Plans ---------------------------------------------------------------------------------------


@strawberry.type(name="ServicePlan", description="What an ISP charges a customer: monthly "
                 "prices, and per-minute rates in its service and rate decks.")
class ServicePlanType(Node):
    row: strawberry.Private[ServicePlan]
    name: str
    monthly_price_per_subscriber: Decimal
    monthly_price_per_did: Decimal
    invoice_cutoff_day: int = strawberry.field(description="Day of the month, 1-28.")
    currency: str = strawberry.field(description="ISO 4217 code.")
    prepaid: bool = strawberry.field(description="Its customers spend from a balance "
                                     "(Customer.prepaidBalance, credited with prepaidTopUp): "
                                     "collected calls are charged to it, and the proxies "
                                     "refuse their calls out (402) once it is spent.")
    created_at: dt.datetime
    updated_at: dt.datetime

    @strawberry.field(description="Rates per service.")
    async def service_deck(
        self,
        info: Info,
        filter: ServiceDeckFilter | None = None,
        order_by: ServiceDeckOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ServiceDeckEntryType]:
        order = order_by or ServiceDeckOrder()
        where = [visible(info.context.viewer, ServiceDeckEntry),
                 ServiceDeckEntry.service_plan_id == self.row.id]
        if filter and filter.service is not None:
            where.append(ServiceDeckEntry.service == filter.service)
        return await paginate(
            info, ServiceDeckEntry, where=where,
            order=SortKey(getattr(ServiceDeckEntry, order.field.value),
                          descending=order.direction is OrderDirection.DESC),
            to_node=ServiceDeckEntryType.from_row,
            first=first, after=after, last=last, before=before,
        )

    @strawberry.field(description="Rates per destination prefix (imported with rateDeckImport).")
    async def rate_deck(
        self,
        info: Info,
        filter: RateDeckFilter | None = None,
        order_by: RateDeckOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[RateDeckEntryType]:
        order = order_by or RateDeckOrder()
        where = [visible(info.context.viewer, RateDeckEntry),
                 RateDeckEntry.service_plan_id == self.row.id]
        if filter and filter.prefix:
            where.append(RateDeckEntry.prefix.startswith(  # type: ignore[attr-defined]
                filter.prefix.strip(), autoescape=True))
        return await paginate(
            info, RateDeckEntry, where=where,
            order=SortKey(getattr(RateDeckEntry, order.field.value),
                          descending=order.direction is OrderDirection.DESC),
            to_node=RateDeckEntryType.from_row,
            first=first, after=after, last=last, before=before,
        )

    @classmethod
    def from_row(cls, row: ServicePlan) -> ServicePlanType:
        return cls(
            id=strawberry.ID(to_global_id("ServicePlan", row.id)), row=row, name=row.name,
            monthly_price_per_subscriber=row.monthly_price_per_subscriber,
            monthly_price_per_did=row.monthly_price_per_did,
            invoice_cutoff_day=row.invoice_cutoff_day, currency=row.currency,
            prepaid=row.prepaid, created_at=row.created_at, updated_at=row.updated_at,
        )


# Rating --------------------------------------------------------------------------------------


def _entry_node(entry: ServiceDeckEntry | RateDeckEntry | None) -> DeckEntry | None:
    if isinstance(entry, RateDeckEntry):
        return RateDeckEntryType.from_row(entry)
    if isinstance(entry, ServiceDeckEntry):
        return ServiceDeckEntryType.from_row(entry)
    return None


@strawberry.type(description="How a call would be charged under a plan now: the rate deck's "
                 "longest matching prefix first, else the service deck for the call's service, "
                 "else only the monthly prices.")
class RatePreview:
    deck: DeckEnum  # type: ignore[valid-type]
    entry: DeckEntry | None = strawberry.field(
        description="The deck entry that applied; null for MONTHLY.")
    destination: str = strawberry.field(description="The destination, in E.164 form.")
    service: ServiceEnum  # type: ignore[valid-type]
    seconds: int = strawberry.field(description="The call's real duration.")
    billing_seconds: int = strawberry.field(description="The seconds charged (0 for MONTHLY).")
    price: Decimal = strawberry.field(description="Rate x billed seconds / 60, rounded half up "
                                      "to 4 places (0 for MONTHLY).")
    currency: str
    monthly_price_per_subscriber: Decimal
    monthly_price_per_did: Decimal
    service_plan: ServicePlanType

    @classmethod
    def from_rating(cls, rating: Rating) -> RatePreview:
        plan = rating.plan
        return cls(deck=rating.deck, entry=_entry_node(rating.entry),
                   destination=rating.destination, service=rating.service,
                   seconds=rating.seconds, billing_seconds=rating.billing_seconds,
                   price=rating.price, currency=plan.currency,
                   monthly_price_per_subscriber=plan.monthly_price_per_subscriber,
                   monthly_price_per_did=plan.monthly_price_per_did,
                   service_plan=ServicePlanType.from_row(plan))


register_node("ServicePlan", ServicePlan, ServicePlanType.from_row)
register_node("ServiceDeckEntry", ServiceDeckEntry, ServiceDeckEntryType.from_row)
register_node("RateDeckEntry", RateDeckEntry, RateDeckEntryType.from_row)
