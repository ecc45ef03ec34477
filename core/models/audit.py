"""The audit log: who changed what, when, and from where."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field

from core.models.base import IdMixin, UTCDateTime, foreign_key, utcnow


class AuditEvent(IdMixin, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_isp_occurred", "isp_id", "occurred_at"),
        sa.Index("ix_audit_event_object", "object_type", "object_id"),
    )

    occurred_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The actor may be deleted later; the e-mail stays as it was at the time.
    actor_id: uuid.UUID | None = foreign_key("administrator.id", ondelete="SET NULL", nullable=True)
    actor_email: str = Field(default="", max_length=254)
    actor_scope: str = Field(default="", max_length=100)
    # The ISP whose log this event belongs to; none for platform-level events.
    isp_id: uuid.UUID | None = foreign_key("isp.id", ondelete="CASCADE", nullable=True)
    tenant_id: uuid.UUID | None = foreign_key("tenant.id", ondelete="SET NULL", nullable=True)
    action: str = Field(max_length=64)
    object_type: str = Field(max_length=64)
    object_id: str = Field(default="", max_length=64)
    # Field names and new values, secrets left out.
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    client_address: str = Field(default="", max_length=45)
    request_id: str = Field(default="", max_length=64)
