"""Keeping uploads and generated files in the database, for jobs and one-time downloads."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

from sqlmodel import Session

from core.models import StoredFile, utcnow


def store(session: Session, *, purpose: str, filename: str, content_type: str, content: bytes,
          isp_id: uuid.UUID | None = None, tenant_id: uuid.UUID | None = None,
          created_by_id: uuid.UUID | None = None,
          keep_for: dt.timedelta | None = None) -> StoredFile:
    row = StoredFile(
        purpose=purpose, filename=filename[:255], content_type=content_type, content=content,
        size_bytes=len(content), sha256=hashlib.sha256(content).hexdigest(), isp_id=isp_id,
        tenant_id=tenant_id, created_by_id=created_by_id,
        expires_at=utcnow() + keep_for if keep_for else None,
    )
    session.add(row)
    session.flush()
    return row


def content_of(session: Session, file_id: uuid.UUID) -> bytes | None:
    row = session.get(StoredFile, file_id)
    return row.content if row else None
