"""Turning filter arguments into SQL conditions."""

from __future__ import annotations

from typing import Any, Protocol

import strawberry
from sqlalchemy import ColumnElement, false, or_

from core.scoping import visible
from schema.context import Info
from schema.core.ids import id_of


def refers_to(column: Any, global_id: str, type_name: str) -> ColumnElement[bool]:
    """``column`` equals the object ``global_id`` names; an id of another kind matches nothing."""
    object_id = id_of(global_id, type_name)
    return false() if object_id is None else column == object_id


class NamedFilter(Protocol):
    isp: strawberry.ID | None
    search: str | None


def named_conditions(info: Info, model: Any,
                     filter: NamedFilter | None) -> list[ColumnElement[bool]]:
    """The viewer's scope and the filter of a list of named objects (carriers, dial plans)."""
    conditions: list[ColumnElement[bool]] = [visible(info.context.viewer, model)]
    if filter is not None and filter.isp is not None:
        conditions.append(refers_to(model.isp_id, filter.isp, "Isp"))
    if filter is not None and filter.search:
        text = filter.search.strip()
        conditions.append(or_(model.name.icontains(text, autoescape=True),
                              model.description.icontains(text, autoescape=True)))
    return conditions
