"""Files kept in the database: uploads waiting for a job, and files a job produced."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlmodel import Field

from core.models.base import IdMixin, TimestampsMixin, UTCDateTime, foreign_key


class StoredFile(IdMixin, TimestampsMixin, table=True):
    __tablename__ = "stored_file"
    __table_args__ = (sa.CheckConstraint("size_bytes >= 0", name="size_not_negative"),)

    isp_id: uuid.UUID | None = foreign_key("isp.id", ondelete="CASCADE", nullable=True)
    tenant_id: uuid.UUID | None = foreign_key("tenant.id", ondelete="CASCADE", nullable=True)
    # What the file is for, e.g. "numbers.import" or "credentials.export".
    purpose: str = Field(max_length=64)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    content: bytes = Field(sa_type=sa.LargeBinary)
    size_bytes: int = 0
    sha256: str = Field(max_length=64)
    created_by_id: uuid.UUID | None = foreign_key(
        "administrator.id", ondelete="SET NULL", nullable=True
    )
    # Files with an expiry are deleted after it (uploads once imported, exports once stale).
    expires_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    downloaded_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
