"""An ISP's clients; each may own several tenants."""

from __future__ import annotations

import uuid
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from core.models.base import IdMixin, TimestampsMixin, enum_type, foreign_key


class CustomerStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


class Customer(IdMixin, TimestampsMixin, table=True):
    __tablename__ = "customer"
    __table_args__ = (
        sa.UniqueConstraint("isp_id", "name"),
        sa.CheckConstraint("max_subscribers >= 0", name="max_subscribers_not_negative"),
        sa.CheckConstraint("max_concurrent_calls >= 0", name="max_concurrent_calls_not_negative"),
    )

    isp_id: uuid.UUID = foreign_key("isp.id", ondelete="CASCADE")
    name: str = Field(max_length=200)
    contact_name: str = Field(default="", max_length=200)
    contact_email: str = Field(default="", max_length=254)
    contact_phone: str = Field(default="", max_length=16)
    address_line1: str = Field(default="", max_length=200)
    address_line2: str = Field(default="", max_length=200)
    city: str = Field(default="", max_length=100)
    region: str = Field(default="", max_length=100)
    postal_code: str = Field(default="", max_length=20)
    country: str = Field(default="", max_length=2)
    # NO ACTION: a plan still used by customers cannot be deleted.
    service_plan_id: uuid.UUID | None = foreign_key("service_plan.id", nullable=True)
    max_subscribers: int = 0
    max_concurrent_calls: int = 0
    # Subscribers across the customer's tenants, disabled ones included: kept by database
    # triggers (migration 0019) on every insert, delete and move, never written here.
    subscriber_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    status: CustomerStatus = Field(
        default=CustomerStatus.ACTIVE, sa_type=enum_type(CustomerStatus, "customer_status")
    )
