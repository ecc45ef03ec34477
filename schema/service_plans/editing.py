"""What the catalogue's mutations share (service plans, customers, SMBCs).

Reading an input: which fields were given, and which objects they name; and
running the change for a logged-in viewer in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from typing import Any, TypeVar

import strawberry
from sqlmodel import Session

from schema.context import Info
from schema.core.errors import FieldPaths
from schema.core.ids import id_of
from schema.core.mutations import Outcome, in_transaction, login_required

T = TypeVar("T")

# A reference that is not one of our ids names this, which matches no row: it is then
# answered NOT_FOUND exactly like a well-formed id of a missing object.
NOWHERE = uuid.UUID(int=0)


def given_fields(input: object, *, clearable: Collection[str] = (),
                 skip: Collection[str] = ("id",)) -> dict[str, Any]:
    """The fields of an input that were given, by name, leaving out those in ``skip``.

    A field left out stays as it is (or takes its default), and so does one
    given as null, except the ``clearable`` ones, where null removes the value
    (e.g. a customer's plan).
    """
    return {name: value for name, value in vars(input).items()
            if name not in skip and value is not strawberry.UNSET
            and (value is not None or name in clearable)}


def reference_id(global_id: str | None, type_name: str) -> uuid.UUID | None:
    """The id of the object a reference field names; None when the field is null."""
    if global_id is None:
        return None
    return id_of(global_id, type_name) or NOWHERE


async def change(info: Info, work: Callable[[Session], T],
                 paths: FieldPaths | None = None) -> Outcome[T]:
    """Run ``work`` (a core rule) in one transaction for a logged-in viewer."""
    if errors := login_required(info):
        return Outcome(errors=errors)
    return await in_transaction(info, work, paths)
