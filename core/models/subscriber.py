"""Subscribers (extensions) and the security groups that open international calls."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from core.models.base import IdMixin, TimestampsMixin, UTCDateTime, enum_type, foreign_key


class SecurityGroup(IdMixin, TimestampsMixin, table=True):
    """International destinations are closed unless a subscriber's group opens them."""

    __tablename__ = "security_group"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "name"),)

    tenant_id: uuid.UUID = foreign_key("tenant.id", ondelete="CASCADE")
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=500)


class SecurityGroupDestination(IdMixin, table=True):
    """One opened destination: an ISO country or an E.164 prefix."""

    __tablename__ = "security_group_destination"
    __table_args__ = (
        sa.CheckConstraint("(country IS NULL) <> (prefix IS NULL)", name="country_or_prefix"),
        sa.UniqueConstraint("security_group_id", "country", "prefix"),
    )

    security_group_id: uuid.UUID = foreign_key("security_group.id", ondelete="CASCADE")
    country: str | None = Field(default=None, max_length=2)
    prefix: str | None = Field(default=None, max_length=16)


class SubscriberSource(StrEnum):
    MANUAL = "MANUAL"
    GOOGLE = "GOOGLE"
    MICROSOFT = "MICROSOFT"


class SubscriberStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"


class Subscriber(IdMixin, TimestampsMixin, table=True):
    __tablename__ = "subscriber"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "username"),
        sa.UniqueConstraint("tenant_id", "alias"),
        # A directory user maps to at most one subscriber of a tenant.
        sa.Index(
            "uq_subscriber_tenant_source_external_id",
            "tenant_id",
            "source",
            "external_id",
            unique=True,
            sqlite_where=sa.text("external_id IS NOT NULL"),
            postgresql_where=sa.text("external_id IS NOT NULL"),
        ),
        # Sync looks up subscribers made by hand by e-mail, whatever its case.
        sa.Index(
            "ix_subscriber_tenant_manual_email",
            "tenant_id",
            sa.text("lower(email)"),
            sqlite_where=sa.text("source = 'MANUAL'"),
            postgresql_where=sa.text("source = 'MANUAL'"),
        ),
        sa.CheckConstraint("concurrent_calls >= 1", name="concurrent_calls"),
        sa.CheckConstraint("ring_timeout BETWEEN 1 AND 600", name="ring_timeout"),
        sa.CheckConstraint(
            "(source = 'MANUAL') OR (external_id IS NOT NULL)", name="synced_has_external_id"
        ),
        # Room in each page for a row's new version: directory syncs update names and
        # statuses all the time, and an update that stays in its page (HOT) leaves the
        # indexes alone.
        {"postgresql_with": {"fillfactor": 90}},
    )

    tenant_id: uuid.UUID = foreign_key("tenant.id", ondelete="CASCADE")
    username: str = Field(max_length=128)
    email: str = Field(default="", max_length=254)
    display_name: str = Field(default="", max_length=200)
    sip_password_encrypted: str = Field(sa_type=sa.Text)
    # Digests the proxies authenticate with: md5(user:realm:pw), md5(user@realm:realm:pw).
    ha1: str = Field(max_length=64)
    ha1b: str = Field(max_length=64)
    pin_hash: str | None = Field(default=None, max_length=200)
    country_code: str = Field(max_length=3)
    area_code: str = Field(default="", max_length=8)
    voicemail_to_email: bool = False
    caller_id: str | None = Field(default=None, max_length=16)
    alias: str | None = Field(default=None, max_length=16, description="Extension number")
    # SET NULL closes international calling again, the safe direction.
    security_group_id: uuid.UUID | None = foreign_key(
        "security_group.id", ondelete="SET NULL", nullable=True
    )
    concurrent_calls: int = 2
    ring_timeout: int = Field(default=20, description="Seconds")
    call_group: int | None = None
    pickup_group: int | None = None
    forward_unconditional: str | None = Field(default=None, max_length=32)
    forward_busy: str | None = Field(default=None, max_length=32)
    forward_no_answer: str | None = Field(default=None, max_length=32)
    source: SubscriberSource = Field(
        default=SubscriberSource.MANUAL, sa_type=enum_type(SubscriberSource, "subscriber_source")
    )
    external_id: str | None = Field(default=None, max_length=255)
    status: SubscriberStatus = Field(
        default=SubscriberStatus.ACTIVE, sa_type=enum_type(SubscriberStatus, "subscriber_status")
    )
    disabled_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Directory sync: what the directory said last (a hash), and since when it says the
    # user is deleted (the subscriber is removed after the link's grace period).
    sync_fingerprint: str | None = Field(default=None, max_length=64)
    directory_deleted_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
