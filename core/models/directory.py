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
    # Consent given: users can be discovered, previewed and imported.
    LINKED = "LINKED"
    # Imported: re-synced on schedule.
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
    # How far the extensions from alias_start are known to be taken: new users get the
    # next free one from here (see core.extension_sequence).
    alias_next: int | None = None
    last_synced_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error_code: str | None = Field(default=None, max_length=64)
    last_error: str | None = Field(default=None, max_length=500)
    # Which users are synced: {"groups": [...], "org_units": [...]}; empty: the whole domain.
    scope: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # A deleted user's subscriber is removed this many days after it was disabled.
    removal_grace_days: int = 30
    # A run that would disable or remove more than this share of the synced
    # subscribers waits for an administrator's confirmation.
    brake_percent: int = 10
    # Where the next round starts (Microsoft's deltaLink); integrity matters, not secrecy.
    sync_state: str | None = Field(default=None, sa_type=sa.Text)
    # Where a round would start after the last discovery's listing (Microsoft's deltaLink):
    # the first round after the first import goes on from there instead of listing all.
    discovered_state: str | None = Field(default=None, sa_type=sa.Text)


class DirectoryWatchChannel(IdMixin, TimestampsMixin, table=True):
    """A Google push channel on the domain's users, one per event (add, update, delete...)."""

    __tablename__ = "directory_watch_channel"

    link_id: uuid.UUID = Field(foreign_key="directory_link.id", ondelete="CASCADE", index=True)
    event: str = Field(max_length=32)
    channel_id: str = Field(max_length=64, unique=True)
    resource_id: str = Field(default="", max_length=255)
    token_hash: str = Field(max_length=64)
    expires_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class DirectoryConsentRequest(IdMixin, TimestampsMixin, table=True):
    """An administrator sent to the provider to consent; the callback must come back to it.

    ``state`` (only its hash is kept) binds the callback to this tenant and to the
    administrator's session; the PKCE verifier is kept encrypted until then.
    """

    __tablename__ = "directory_consent_request"

    state_hash: str = Field(max_length=64, unique=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenant.id", ondelete="CASCADE", index=True)
    administrator_id: uuid.UUID = Field(foreign_key="administrator.id", ondelete="CASCADE")
    session_hash: str = Field(max_length=64)
    provider: DirectoryProvider = Field(sa_type=enum_type(DirectoryProvider, "directory_provider"))
    code_verifier_encrypted: str | None = Field(default=None, sa_type=sa.Text)
    with_groups: bool = False
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    used_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class DirectoryPreviewRow(IdMixin, TimestampsMixin, table=True):
    """One directory user as the import would make it, editable before confirming."""

    __tablename__ = "directory_preview_row"
    __table_args__ = (sa.UniqueConstraint("link_id", "external_id"),
                      sa.Index("ix_directory_preview_row_link_position", "link_id", "position"),
                      # Every re-sync reads the few users an administrator excluded.
                      sa.Index("ix_directory_preview_row_excluded", "link_id",
                               sqlite_where=sa.text("excluded"),
                               postgresql_where=sa.text("excluded")))

    link_id: uuid.UUID = Field(foreign_key="directory_link.id", ondelete="CASCADE")
    position: int
    external_id: str = Field(max_length=255)
    email: str = Field(default="", max_length=254)
    display_name: str = Field(default="", max_length=200)
    department: str = Field(default="", max_length=200)
    username: str = Field(max_length=128)
    alias: str | None = Field(default=None, max_length=16)
    caller_id: str | None = Field(default=None, max_length=16)
    excluded: bool = False
    # Why the proposal differs from the obvious one, for the administrator to check.
    conflicts: list[str] = Field(default_factory=list, sa_type=JSON)
    # A subscriber created by hand that this user will take over (set by an administrator).
    link_subscriber_id: uuid.UUID | None = Field(
        default=None, foreign_key="subscriber.id", ondelete="SET NULL")
    # A subscriber created by hand with this user's e-mail, found by discovery: a conflict
    # only an administrator resolves (link it, import separately, or exclude the user).
    hand_made_id: uuid.UUID | None = Field(
        default=None, foreign_key="subscriber.id", ondelete="SET NULL")
    # The administrator's choice to import this user beside the hand-made subscriber.
    import_separately: bool = False
    fingerprint: str = Field(default="", max_length=64)


class DirectorySyncPending(IdMixin, table=True):
    """A disable or removal a braked run holds back until an administrator decides."""

    __tablename__ = "directory_sync_pending"

    link_id: uuid.UUID = Field(foreign_key="directory_link.id", ondelete="CASCADE", index=True)
    job_id: uuid.UUID = Field(foreign_key="job.id", ondelete="CASCADE", index=True)
    subscriber_id: uuid.UUID = Field(foreign_key="subscriber.id", ondelete="CASCADE")
    action: str = Field(max_length=16)  # DISABLE or DELETE
    username: str = Field(max_length=128)
    email: str = Field(default="", max_length=254)
    fingerprint: str = Field(default="", max_length=64)
