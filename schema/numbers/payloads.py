"""What the number mutations answer, and the one way they all produce it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import strawberry

from core.models import Number
from schema.context import Info
from schema.core.errors import UserError
from schema.core.mutations import Ref, run
from schema.numbers.types import NumberNode

if TYPE_CHECKING:
    from schema.jobs.types import JobType

LazyJob = Annotated["JobType", strawberry.lazy("schema.jobs.types")]


P = TypeVar("P")
T = TypeVar("T")


async def respond(info: Info, payload: Callable[..., P], work: Callable[..., T],
                  present: Callable[[T], dict[str, Any]], *refs: Ref) -> P:
    """Run a core rule (``work(session, *ids)``, see schema.core.mutations.run) and present
    its result as the payload's fields, or answer its errors."""
    outcome = await run(info, work, *refs)
    if not outcome.ok:
        return payload(errors=outcome.errors)
    return payload(**present(outcome.value), errors=[])


def as_number(row: Number) -> dict[str, Any]:
    return {"number": NumberNode.from_row(row)}


@strawberry.type
class NumberCreatePayload:
    number: NumberNode | None = None
    errors: list[UserError]


@strawberry.type
class NumberRangeCreatePayload:
    count: int | None = strawberry.field(default=None, description="How many numbers were added.")
    first: NumberNode | None = None
    last: NumberNode | None = None
    errors: list[UserError]


@strawberry.type
class NumberUpdatePayload:
    number: NumberNode | None = None
    errors: list[UserError]


@strawberry.type
class NumberDeletePayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError]


@strawberry.type
class NumberImportPayload:
    job: LazyJob | None = strawberry.field(default=None,
                                           description="Follow the import here; it ends FAILED "
                                           "with INVALID_FILE and a detail per bad line.")
    errors: list[UserError]


@strawberry.type
class NumberAssignPayload:
    number: NumberNode | None = None
    errors: list[UserError]


@strawberry.type
class NumberReleasePayload:
    number: NumberNode | None = None
    errors: list[UserError]


@strawberry.type
class NumberTargetSetPayload:
    number: NumberNode | None = None
    errors: list[UserError]
