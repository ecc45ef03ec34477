"""The e-mail outbox: messages are written with the change that causes them."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from core.models.base import IdMixin, TimestampsMixin, UTCDateTime, enum_type


class EmailStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"


class EmailMessage(IdMixin, TimestampsMixin, table=True):
    __tablename__ = "email_message"
    __table_args__ = (sa.Index("ix_email_message_status_created", "status", "created_at"),)

    to_address: str = Field(max_length=254)
    subject: str = Field(max_length=300)
    # May hold a single-use link: never logged, never exposed over the API.
    body_text: str = Field(sa_type=sa.Text)
    status: EmailStatus = Field(
        default=EmailStatus.PENDING, sa_type=enum_type(EmailStatus, "email_status")
    )
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    sent_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
