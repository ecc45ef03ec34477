"""Opaque global ids: base64 of "<TypeName>:<uuid>", as Relay clients expect."""

from __future__ import annotations

import base64
import binascii
import uuid


def to_global_id(type_name: str, object_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{object_id}".encode()).decode().rstrip("=")


def from_global_id(global_id: str) -> tuple[str, uuid.UUID] | None:
    """The type name and id, or None when the text is not one of our ids."""
    try:
        text = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
        type_name, _, raw = text.partition(":")
        return type_name, uuid.UUID(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def id_of(global_id: str, type_name: str) -> uuid.UUID | None:
    """The uuid inside a global id of the expected type, else None."""
    decoded = from_global_id(global_id)
    if decoded is None or decoded[0] != type_name:
        return None
    return decoded[1]


# An id that names no row: a list or summary filtered by an id that names nothing finds
# nothing, and a core rule looking it up answers NOT_FOUND (schema.core.mutations.Ref).
NOWHERE = uuid.UUID(int=0)


def argument_id(global_id: str | None, type_name: str) -> uuid.UUID | None:
    """A query argument's id: None when left out, one matching no row when it names nothing."""
    if global_id is None:
        return None
    return id_of(global_id, type_name) or NOWHERE
