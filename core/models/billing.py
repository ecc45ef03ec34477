"""Service plans and the decks that price calls under them."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from core.models.base import (
    IdMixin,
    TimestampsMixin,
    UTCDateTime,
    enum_type,
    foreign_key,
    money_field,
    utcnow,
)


class ServicePlan(IdMixin, TimestampsMixin, table=True):
    __tablename__ = "service_plan"
    __table_args__ = (
        sa.UniqueConstraint("isp_id", "name"),
        sa.CheckConstraint("invoice_cutoff_day BETWEEN 1 AND 28", name="invoice_cutoff_day"),
        sa.CheckConstraint("monthly_price_per_subscriber >= 0", name="subscriber_price"),
        sa.CheckConstraint("monthly_price_per_did >= 0", name="did_price"),
    )

    isp_id: uuid.UUID = foreign_key("isp.id", ondelete="CASCADE")
    name: str = Field(max_length=200)
    monthly_price_per_subscriber: Decimal = money_field(default=Decimal("0"))
    monthly_price_per_did: Decimal = money_field(default=Decimal("0"))
    invoice_cutoff_day: int = 1
    currency: str = Field(max_length=3)
    prepaid: bool = False


class Service(StrEnum):
    """What a service deck entry prices."""

    PSTN = "PSTN"
    DID = "DID"
    TOLL_FREE = "TOLL_FREE"
    SIP = "SIP"


class _DeckEntry(IdMixin, TimestampsMixin):
    """The rating terms shared by service and rate decks (durations in seconds)."""

    service_plan_id: uuid.UUID = foreign_key("service_plan.id", ondelete="CASCADE")
    rate_per_minute: Decimal = money_field()
    valid_from: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    valid_to: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    minimum_duration: int = 0
    increment: int = 1
    delay: int = 0


def _deck_checks() -> tuple[sa.CheckConstraint, ...]:
    return (
        sa.CheckConstraint("rate_per_minute >= 0", name="rate_not_negative"),
        sa.CheckConstraint("minimum_duration >= 0", name="minimum_duration"),
        sa.CheckConstraint("increment >= 1", name="increment"),
        sa.CheckConstraint("delay >= 0", name="delay"),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="validity"),
    )


class ServiceDeckEntry(_DeckEntry, table=True):
    __tablename__ = "service_deck_entry"
    __table_args__ = _deck_checks()

    service: Service = Field(sa_type=enum_type(Service, "service"))


class RateDeckEntry(_DeckEntry, table=True):
    __tablename__ = "rate_deck_entry"
    __table_args__ = (
        *_deck_checks(),
        sa.Index("ix_rate_deck_entry_plan_prefix", "service_plan_id", "prefix"),
    )

    # Destination prefix in E.164 form, e.g. "+44" or "+1209".
    prefix: str = Field(max_length=16)
    description: str = Field(default="", max_length=200)
