"""Carriers: SIP trunks authorised by source address, as ordered gateways."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field

from core.models.base import IdMixin, TimestampsMixin, foreign_key

DEFAULT_SIP_PORT = 5060


class Carrier(IdMixin, TimestampsMixin, table=True):
    __tablename__ = "carrier"
    __table_args__ = (sa.UniqueConstraint("isp_id", "name"),)

    isp_id: uuid.UUID = foreign_key("isp.id", ondelete="CASCADE")
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=500)


class Gateway(IdMixin, TimestampsMixin, table=True):
    """One gateway of a carrier; calls try gateways by position, the next is the failover."""

    __tablename__ = "gateway"
    __table_args__ = (
        sa.UniqueConstraint("carrier_id", "position"),
        sa.UniqueConstraint("carrier_id", "address", "port"),
        sa.CheckConstraint("strip >= 0", name="strip_not_negative"),
        sa.CheckConstraint("port BETWEEN 1 AND 65535", name="port_range"),
        sa.CheckConstraint("position >= 0", name="position_not_negative"),
    )

    carrier_id: uuid.UUID = foreign_key("carrier.id", ondelete="CASCADE")
    position: int
    description: str = Field(default="", max_length=200)
    # An IP literal: the proxies authorise carriers by source address, not name.
    address: str = Field(max_length=45)
    port: int = DEFAULT_SIP_PORT
    strip: int = 0
    prefix: str = Field(default="", max_length=32)
    from_user: str = Field(default="", max_length=64)
    from_display: str = Field(default="", max_length=128)
    add_pai: bool = False
    attributes: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
