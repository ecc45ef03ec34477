"""Writing the audit log: every change records who made it, to what, from where.

An event is added in the same transaction as the change it describes, so the
log never claims a change that was rolled back, nor misses one that was made.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from typing import Any

from sqlmodel import Session

from core.models import AuditEvent
from core.viewer import Viewer

# Field names whose values never enter the log, whatever object they belong to.
_SECRET_WORDS = ("password", "secret", "token", "pin", "ha1", "credential", "key")


def is_secret_field(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def _loggable(value: Any) -> Any:
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        return redact(value)
    if isinstance(value, list | tuple):
        return [_loggable(item) for item in value]
    return value


def redact(changes: dict[str, Any]) -> dict[str, Any]:
    """The changes as JSON-ready values, secrets replaced by a marker."""
    return {
        name: "<redacted>" if is_secret_field(name) else _loggable(value)
        for name, value in changes.items()
    }


def record(
    session: Session,
    viewer: Viewer,
    *,
    action: str,
    object_type: str,
    object_id: uuid.UUID | str | None,
    isp_id: uuid.UUID | None,
    tenant_id: uuid.UUID | None = None,
    changes: dict[str, Any] | None = None,
    actor_id: uuid.UUID | None = None,
    actor_email: str | None = None,
) -> AuditEvent:
    """Add an audit event to the session (committed with the change it describes).

    ``actor_id``/``actor_email`` name the actor when it is not the viewer yet
    (sign-up and accepted invitations act before anyone is logged in).
    """
    event = AuditEvent(
        actor_id=actor_id or viewer.administrator_id,
        actor_email=actor_email or viewer.email,
        actor_scope=viewer.describe_scope() if viewer.is_authenticated else "NONE",
        isp_id=isp_id,
        tenant_id=tenant_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        changes=redact(changes or {}),
        client_address=viewer.client_address[:45],
        request_id=viewer.request_id[:64],
    )
    session.add(event)
    return event
