"""What the resolvers of carriers and dial plans share.

Reading inputs (fields left out, references to other objects by global id),
turning an outcome into a payload, and filtering a list of named objects.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import strawberry
from sqlalchemy import ColumnElement, or_
from sqlmodel import Session

from core.errors import ErrorCode
from core.scoping import visible
from schema.context import Info
from schema.core.errors import single_error
from schema.core.filters import refers_to
from schema.core.ids import id_of
from schema.core.mutations import Outcome, in_transaction, login_required

T = TypeVar("T")
P = TypeVar("P")


def given(value: T | None) -> T | None:
    """None for a field left out of an update input (strawberry.UNSET) or given as null."""
    return None if value is strawberry.UNSET else value


async def with_reference(info: Info, global_id: str | None, type_name: str, what: str,
                         field: str, work: Callable[[Session, uuid.UUID | None], T]
                         ) -> Outcome[T]:
    """Run ``work`` with the id of the object an input names in ``field``, in one transaction.

    Anonymous callers are refused; an id that is not one of ``type_name`` is
    NOT_FOUND, as the core answers for an object out of scope; a null
    reference passes None on (e.g. an ISP left out).
    """
    if errors := login_required(info):
        return Outcome(errors=errors)
    object_id = None
    if global_id is not None:
        object_id = id_of(global_id, type_name)
        if object_id is None:
            return Outcome(errors=single_error(ErrorCode.NOT_FOUND, f"{what} not found", field))
    return await in_transaction(info, lambda session: work(session, object_id))


def payload(payload_type: Callable[..., P], outcome: Outcome[T], field: str,
            present: Callable[[T], Any]) -> P:
    """The mutation's payload: the object presented in ``field``, or the errors."""
    if not outcome.ok:
        return payload_type(errors=outcome.errors)
    return payload_type(errors=[], **{field: present(outcome.value)})


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
