"""Turning filter arguments into SQL conditions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false

from schema.core.ids import id_of


def refers_to(column: Any, global_id: str, type_name: str) -> ColumnElement[bool]:
    """``column`` equals the object ``global_id`` names; an id of another kind matches nothing."""
    object_id = id_of(global_id, type_name)
    return false() if object_id is None else column == object_id
