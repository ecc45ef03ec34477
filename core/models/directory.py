"""A tenant's link to its Google Workspace or Microsoft Entra directory."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field

from core.models.base import IdMixin, TimestampsMixin, UTCDateTime, enum_type


class DirectoryProvider(StrEnum):
    GOOGLE = "GOOGLE"
    MICROSOFT = "MICROSOFT"


class DirectoryLinkStatus(StrEnum):
    PENDING_CONSENT = "PENDING_CONSENT"
    ACTIVE = "ACTIVE"
    CONSENT_REVOKED = "CONSENT_REVOKED"
    ERROR = "ERROR"


class DirectoryLink(IdMixin, TimestampsMixin, table=True):
    __tablename__ = "directory_link"
    __table_args__ = (
        sa.CheckConstraint("sync_interval_minutes >= 1", name="sync_interval"),
        sa.CheckConstraint("alias_start IS NULL OR alias_start >= 0", name="alias_start"),
    )

    # One directory per tenant.
    tenant_id: uuid.UUID = Field(foreign_key="tenant.id", ondelete="CASCADE", unique=True)
    provider: DirectoryProvider = Field(sa_type=enum_type(DirectoryProvider, "directory_provider"))
    # Google customer id or Entra tenant id, known once consent is given.
    external_tenant_id: str | None = Field(default=None, max_length=255)
    # Refresh token, service-account key or similar: encrypted with core.secrets.
    credentials_encrypted: str | None = Field(default=None, sa_type=sa.Text)
    status: DirectoryLinkStatus = Field(
        default=DirectoryLinkStatus.PENDING_CONSENT,
        sa_type=enum_type(DirectoryLinkStatus, "directory_link_status"),
    )
    sync_interval_minutes: int = 60
    mapping_defaults: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    alias_start: int | None = None
    last_synced_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error_code: str | None = Field(default=None, max_length=64)
