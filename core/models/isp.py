"""ISPs and the domains they prove they own."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from core.models.base import IdMixin, TimestampsMixin, UTCDateTime, enum_type, foreign_key


class IspStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


class Isp(IdMixin, TimestampsMixin, table=True):
    __tablename__ = "isp"
    __table_args__ = (
        sa.CheckConstraint("length(currency) = 3", name="currency_iso4217"),
        sa.CheckConstraint("namespace_label <> ''", name="namespace_label_not_empty"),
        sa.CheckConstraint("number_quarantine_days BETWEEN 0 AND 365",
                           name="number_quarantine_days"),
    )

    name: str = Field(max_length=200)
    # The namespace domain is <label>.<platform base domain>; tenants live below it.
    namespace_label: str = Field(max_length=63, unique=True)
    address_line1: str = Field(default="", max_length=200)
    address_line2: str = Field(default="", max_length=200)
    city: str = Field(default="", max_length=100)
    region: str = Field(default="", max_length=100)
    postal_code: str = Field(default="", max_length=20)
    country: str = Field(default="", max_length=2, description="ISO 3166-1 alpha-2")
    currency: str = Field(max_length=3, description="ISO 4217")
    contact_name: str = Field(default="", max_length=200)
    contact_email: str = Field(default="", max_length=254)
    contact_phone: str = Field(default="", max_length=16, description="E.164 with +")
    theme_primary_color: str | None = Field(default=None, max_length=7)
    theme_secondary_color: str | None = Field(default=None, max_length=7)
    status: IspStatus = Field(default=IspStatus.ACTIVE, sa_type=enum_type(IspStatus, "isp_status"))
    # Released numbers rest this long before they can be assigned again.
    number_quarantine_days: int = Field(default=30, sa_column_kwargs={"server_default": "30"})


class VerifiedDomainStatus(StrEnum):
    PENDING = "PENDING"
    VERIFIED = "VERIFIED"
    # Was verified, but the TXT record has since disappeared: flagged, not deleted.
    LAPSED = "LAPSED"
    FAILED = "FAILED"


class VerifiedDomain(IdMixin, TimestampsMixin, table=True):
    __tablename__ = "verified_domain"
    __table_args__ = (
        sa.UniqueConstraint("isp_id", "fqdn"),
        # One verified owner per domain on the whole platform; pending claims
        # by several ISPs may coexist until one of them proves ownership.
        sa.Index(
            "uq_verified_domain_fqdn_verified",
            "fqdn",
            unique=True,
            sqlite_where=sa.text("status = 'VERIFIED'"),
            postgresql_where=sa.text("status = 'VERIFIED'"),
        ),
    )

    isp_id: uuid.UUID = foreign_key("isp.id", ondelete="CASCADE")
    fqdn: str = Field(max_length=253, index=True)
    challenge_token: str = Field(max_length=64)
    status: VerifiedDomainStatus = Field(
        default=VerifiedDomainStatus.PENDING,
        sa_type=enum_type(VerifiedDomainStatus, "verified_domain_status"),
    )
    last_checked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    verified_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When it last went from VERIFIED to LAPSED: its owner keeps it for a grace period.
    lapsed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class IspLogo(TimestampsMixin, table=True):
    """An ISP's logo, checked to be a PNG or JPEG image before it is stored."""

    __tablename__ = "isp_logo"
    __table_args__ = (
        sa.CheckConstraint(
            "content_type IN ('image/png', 'image/jpeg')", name="content_type_allowed"
        ),
    )

    isp_id: uuid.UUID = Field(foreign_key="isp.id", ondelete="CASCADE", primary_key=True)
    content_type: str = Field(max_length=20)
    content: bytes = Field(sa_type=sa.LargeBinary)
    # Changes with the content; serves as the ETag and cache-busting version.
    sha256: str = Field(max_length=64)
