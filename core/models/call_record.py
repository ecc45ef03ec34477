"""Call records: what the proxies accounted, collected, split into legs and rated.

A call is one INVITE dialog seen by a proxy (Call-ID and From tag); it has two
legs. Leg A is the subscriber's side (the phone that called, or was called by
a DID or an extension); leg B the other side: the gateway (PSTN), the DID or
toll-free number the carrier delivered, or the called extension (SIP). Each
leg carries its own rating under the customer's service plan; amounts are
Decimal in the plan's currency, times UTC.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field, SQLModel

from core.models.base import IdMixin, UTCDateTime, enum_type, foreign_key, money_field, utcnow
from core.models.billing import Service


class CallDirection(StrEnum):
    OUTBOUND = "OUTBOUND"  # a subscriber called a number through the tenant's carrier
    INBOUND = "INBOUND"  # a carrier delivered a call to one of the tenant's numbers
    INTERNAL = "INTERNAL"  # a subscriber called an extension of its own tenant


class CallState(StrEnum):
    ANSWERED = "ANSWERED"  # answered, not ended yet (no BYE collected)
    COMPLETED = "COMPLETED"  # answered and ended: duration known
    FAILED = "FAILED"  # never answered: refused, busy, unreachable, cancelled
    # Answered, but its end was never accounted (the proxy restarted during the call):
    # closed after the longest a dialog can last, without a duration.
    END_UNKNOWN = "END_UNKNOWN"


class CallLegSide(StrEnum):
    A = "A"
    B = "B"


class RatingDeck(StrEnum):
    """Which of the plan's charges priced a leg (see core.billing.Deck)."""

    RATE_DECK = "RATE_DECK"
    SERVICE_DECK = "SERVICE_DECK"
    MONTHLY = "MONTHLY"  # no deck applies: the monthly prices cover it
    NO_PLAN = "NO_PLAN"  # the customer has no service plan


class CallRecord(IdMixin, table=True):
    """One call as the proxy accounted it."""

    __tablename__ = "call_record"
    __table_args__ = (
        # Collecting a row twice can never make a second call.
        sa.UniqueConstraint("proxy_database", "call_id", "from_tag"),
        sa.Index("ix_call_record_isp_setup", "isp_id", "setup_at"),
        sa.Index("ix_call_record_customer_setup", "customer_id", "setup_at"),
        sa.Index("ix_call_record_tenant_setup", "tenant_id", "setup_at"),
        sa.Index("ix_call_record_open", "proxy_database", "state",
                 postgresql_where=sa.text("state = 'ANSWERED'"),
                 sqlite_where=sa.text("state = 'ANSWERED'")),
    )

    # The proxy database the call was collected from (SipProxy.database_key).
    proxy_database: str = Field(max_length=64)
    call_id: str = Field(max_length=255)
    from_tag: str = Field(max_length=128)
    to_tag: str = Field(default="", max_length=128)
    # The references are history, not constraints: a record keeps naming a customer,
    # tenant, subscriber, carrier or gateway deleted since (nothing rewrites millions of
    # rows, nothing refuses a deletion, and collection does not pay a foreign-key check
    # per row: an index probe and a row lock each). The ISP's calls go with it all the
    # same: a trigger on isp deletes them (migration 0017).
    isp_id: uuid.UUID
    customer_id: uuid.UUID | None = None
    tenant_id: uuid.UUID | None = None
    subscriber_id: uuid.UUID | None = Field(default=None, index=True)
    direction: CallDirection = Field(sa_type=enum_type(CallDirection, "call_direction"))
    state: CallState = Field(sa_type=enum_type(CallState, "call_state"))
    # E.164 where the proxy had a number; an extension's username otherwise.
    caller: str = Field(max_length=128)
    callee: str = Field(max_length=128)
    carrier_id: uuid.UUID | None = None
    gateway_id: uuid.UUID | None = None
    setup_at: dt.datetime = Field(sa_type=UTCDateTime)
    answered_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Whole seconds from answer to end, every second begun counting; None until it ended.
    duration_seconds: int | None = None
    sip_code: int
    sip_reason: str = Field(default="", max_length=128)
    # Failed attempts before the outcome (failover): [{"gateway", "code", "reason", "at"}].
    attempts: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    collected_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CallLeg(IdMixin, table=True):
    """One side of a call and what it costs the customer (and the ISP)."""

    __tablename__ = "call_leg"
    __table_args__ = (
        sa.UniqueConstraint("call_record_id", "side"),
        # No (customer, setup) index: a customer's legs of a period are found through
        # their calls' (core.usage, core.rerating); collection writes two legs a call.
        # core.prepaid: the prepaid legs of one collected batch (postpaid legs stay out).
        sa.Index("ix_call_leg_prepaid_rated", "rated_at",
                 postgresql_where=sa.text("prepaid"), sqlite_where=sa.text("prepaid")),
    )

    # Written with its call, deleted with it (by the ISP's trigger): no foreign key, for
    # the reason given on CallRecord.
    call_record_id: uuid.UUID
    side: CallLegSide = Field(sa_type=enum_type(CallLegSide, "call_leg_side"))
    leg_type: Service = Field(sa_type=enum_type(Service, "service"))
    direction: CallDirection = Field(sa_type=enum_type(CallDirection, "call_direction"))
    # Copied from the call: the legs' scope rule (core.scoping) and the daily totals
    # read them without the call. A customer's legs of a period are found through their
    # calls all the same: no index here (see __table_args__).
    isp_id: uuid.UUID
    customer_id: uuid.UUID | None = None
    tenant_id: uuid.UUID | None = None
    setup_at: dt.datetime = Field(sa_type=UTCDateTime)
    answered: bool = False
    # The number or extension at this leg's far end.
    number: str = Field(max_length=128)
    duration_seconds: int = 0
    # The rating: which deck, the entry's terms, and the result.
    deck: RatingDeck = Field(sa_type=enum_type(RatingDeck, "rating_deck"))
    destination: str = Field(default="", max_length=200,
                             description="The rate deck prefix (and description) that matched")
    rate_per_minute: Decimal = money_field(default=Decimal("0"))
    minimum_duration: int = 0
    increment: int = 1
    delay: int = 0
    billing_seconds: int = 0
    price: Decimal = money_field(default=Decimal("0"))
    currency: str = Field(default="", max_length=3)
    prepaid: bool = False
    # The ISP's cost from the carrier's vendor rates; None where the carrier's cost is
    # unknown (no vendor rate for the number, or no carrier on this leg).
    cost: Decimal | None = money_field(default=None, nullable=True)
    revision: int = 1
    rated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CallLegRevision(IdMixin, table=True):
    """A leg's rating before a re-rating replaced it: the audit trail of corrections."""

    __tablename__ = "call_leg_revision"

    call_leg_id: uuid.UUID = foreign_key("call_leg.id", ondelete="CASCADE")
    revision: int
    deck: RatingDeck = Field(sa_type=enum_type(RatingDeck, "rating_deck"))
    rate_per_minute: Decimal = money_field()
    billing_seconds: int
    price: Decimal = money_field()
    cost: Decimal | None = money_field(default=None, nullable=True)
    rated_at: dt.datetime = Field(sa_type=UTCDateTime)
    replaced_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class VendorRateEntry(IdMixin, table=True):
    """What a carrier charges the ISP per minute to a destination prefix (its rate deck)."""

    __tablename__ = "vendor_rate_entry"
    __table_args__ = (
        sa.Index("ix_vendor_rate_entry_carrier_prefix", "carrier_id", "prefix"),
        sa.CheckConstraint("rate_per_minute >= 0", name="rate_not_negative"),
        sa.CheckConstraint("increment >= 1", name="increment"),
    )

    carrier_id: uuid.UUID = foreign_key("carrier.id", ondelete="CASCADE", index=False)
    prefix: str = Field(max_length=16)
    description: str = Field(default="", max_length=200)
    rate_per_minute: Decimal = money_field()
    valid_from: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    valid_to: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    minimum_duration: int = 0
    increment: int = 1
    delay: int = 0


class CallUsageDay(SQLModel, table=True):
    """A customer's rated legs of one UTC day, of one type to one destination, summed
    (core.usage_rollup keeps it; usageSummary reads it for whole days)."""

    __tablename__ = "call_usage_day"

    customer_id: uuid.UUID = Field(primary_key=True)
    day: dt.date = Field(primary_key=True)
    leg_type: Service = Field(primary_key=True, sa_type=enum_type(Service, "service"))
    # The rate deck prefix and description that priced the legs, else the leg type.
    destination: str = Field(primary_key=True, max_length=200)
    calls: int = Field(default=0, description="Calls: their A legs")
    answered_calls: int = 0
    billed_legs: int = 0
    billed_seconds: int = Field(default=0, sa_type=sa.BigInteger)
    charges: Decimal = money_field(default=Decimal("0"))
    cost: Decimal = money_field(default=Decimal("0"))


class CallCollection(SQLModel, table=True):
    """How far the accounting rows of one proxy database have been collected."""

    __tablename__ = "call_collection"

    proxy_database: str = Field(primary_key=True, max_length=64)
    # The last `acc` id collected (the proxy's BIGSERIAL). `missed_calls` rows need no
    # watermark: a call's failed attempts are read with its outcome, by Call-ID.
    acc_last_id: int = Field(default=0, sa_type=sa.BigInteger)
    collected_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    calls_collected: int = Field(default=0, sa_type=sa.BigInteger)
    last_error: str | None = Field(default=None, max_length=500)
    last_error_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
