"""The ISP's inventory of phone numbers (DIDs)."""

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
)


class NumberType(StrEnum):
    LOCAL = "LOCAL"
    TOLL_FREE = "TOLL_FREE"


class NumberState(StrEnum):
    AVAILABLE = "AVAILABLE"
    ASSIGNED = "ASSIGNED"
    QUARANTINE = "QUARANTINE"


class Number(IdMixin, TimestampsMixin, table=True):
    __tablename__ = "number"
    __table_args__ = (
        sa.CheckConstraint("e164 LIKE '+%'", name="e164_plus"),
        sa.CheckConstraint("price >= 0 AND vendor_price >= 0", name="prices_not_negative"),
        # Only an assigned number belongs to a tenant; only then may it have a target.
        sa.CheckConstraint(
            "(state = 'ASSIGNED' AND tenant_id IS NOT NULL)"
            " OR (state <> 'ASSIGNED' AND tenant_id IS NULL AND target_subscriber_id IS NULL)",
            name="assignment_matches_state",
        ),
        sa.CheckConstraint(
            "(state = 'QUARANTINE') = (quarantine_until IS NOT NULL)", name="quarantine_until"
        ),
        sa.Index("ix_number_isp_state", "isp_id", "state"),
        # Lists of an ISP's numbers sort by number and filter by prefix (LIKE '+1209%');
        # with the C collation one plain index serves both on PostgreSQL.
        sa.Index("ix_number_isp_e164", "isp_id", "e164"),
        # The periodic quarantine expiry looks only at numbers in quarantine.
        sa.Index("ix_number_quarantine_until", "quarantine_until",
                 postgresql_where=sa.text("state = 'QUARANTINE'"),
                 sqlite_where=sa.text("state = 'QUARANTINE'")),
    )

    isp_id: uuid.UUID = foreign_key("isp.id", ondelete="CASCADE")
    # Unique across the platform: a number routes to exactly one place.
    # Byte order ("C" collation on PostgreSQL): numbers sort as written, and
    # prefix matches can use the index. SQLite compares bytes already.
    e164: str = Field(
        sa_type=sa.String(16).with_variant(sa.String(16, collation="C"), "postgresql"),
        unique=True,
    )
    source: str = Field(default="", max_length=200)
    number_type: NumberType = Field(
        default=NumberType.LOCAL, sa_type=enum_type(NumberType, "number_type")
    )
    price: Decimal = money_field(default=Decimal("0"))
    vendor_price: Decimal = money_field(default=Decimal("0"))
    voice: bool = True
    sms: bool = False
    state: NumberState = Field(
        default=NumberState.AVAILABLE, sa_type=enum_type(NumberState, "number_state")
    )
    # NO ACTION: a tenant is deleted only after its numbers were released.
    tenant_id: uuid.UUID | None = foreign_key("tenant.id", nullable=True)
    target_subscriber_id: uuid.UUID | None = foreign_key(
        "subscriber.id", ondelete="SET NULL", nullable=True
    )
    quarantine_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
