"""Running a mutation: the one way a resolver that changes something is written.

The runner refuses anonymous callers, decodes the global ids the input names,
runs a core rule in one transaction, turns a DomainError into the payload's
errors, and hands the jobs the transaction queued to the broker once it has
committed. A mutation reads, top to bottom:

    @strawberry.mutation(description="Rename a carrier.")
    async def carrier_update(self, info: Info, input: CarrierUpdateInput
                             ) -> CarrierUpdatePayload:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, carrier_id: carriers.update_carrier(
                s, viewer, carrier_id, **given_fields(input)),
            Ref(input.id, "Carrier", "carrier"))
        return payload(CarrierUpdatePayload, outcome, "carrier", CarrierType.from_row)

``work`` gets the session and then one decoded id per ``Ref``, in order; a refusal
(a role that may not, a bad value) is a DomainError raised in it. ``anonymous=True``
is for the few mutations of callers not logged in (login, sign-up); ``paths=`` renames
core fields the input nests. Fields of an update input: ``given_fields``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import strawberry

from core.database import async_session_scope
from core.errors import DomainError, ErrorCode, not_found
from schema.context import Info
from schema.core.errors import FieldPaths, UserError, single_error, user_errors
from schema.core.ids import NOWHERE, id_of

T = TypeVar("T")
P = TypeVar("P")


@dataclass
class Outcome(Generic[T]):
    """The value a mutation produced, or why it produced none."""

    value: T | None = None
    errors: list[UserError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Ref:
    """A global id an input names, with what to call it when it names nothing.

    An id that is not one of ``type_name`` is NOT_FOUND on ``field``, worded as
    the core words an object outside the viewer's scope ("carrier not found"):
    another ISP's object and a made-up id answer alike. A null id passes None on
    (e.g. an ISP left out by someone who administers one).
    """

    global_id: str | None
    type_name: str
    what: str
    field: str | tuple[str, ...] = "id"

    def decode(self) -> uuid.UUID | None:
        """The id (what ``run`` passes on), or NOT_FOUND on the field."""
        if self.global_id is None:
            return None
        object_id = id_of(self.global_id, self.type_name)
        if object_id is None:
            path = (self.field,) if isinstance(self.field, str) else self.field
            raise not_found(self.what, *path)
        return object_id

    def lookup_id(self) -> uuid.UUID | None:
        """For a reference among the values a core rule checks all at once (a customer's
        plan): an id that names nothing becomes one that no row has, so the rule answers
        the same NOT_FOUND on the field, together with the other mistakes of the input."""
        if self.global_id is None:
            return None
        return id_of(self.global_id, self.type_name) or NOWHERE


def given_fields(input: object, *, clearable: Collection[str] = (),
                 skip: Collection[str] = ("id",)) -> dict[str, Any]:
    """The fields of an input that were given, by name, leaving out those in ``skip``.

    A field left out (strawberry.UNSET) stays as it is or takes its default, and so
    does one given as null, except the ``clearable`` ones, where null removes the
    value (e.g. a customer's plan).
    """
    return {name: value for name, value in vars(input).items()
            if name not in skip and value is not strawberry.UNSET
            and (value is not None or name in clearable)}


async def run(info: Info, work: Callable[..., T], *refs: Ref, paths: FieldPaths | None = None,
              anonymous: bool = False) -> Outcome[T]:
    """Run ``work(session, *ids)`` in one transaction for a logged-in viewer.

    ``anonymous``: the mutation is for callers not logged in (login, sign-up).
    ``paths`` maps core field paths to input paths where the input nests what the
    core keeps flat. A DomainError rolls everything back and becomes the errors.
    """
    if not anonymous and not info.context.viewer.is_authenticated:
        return Outcome(errors=single_error(ErrorCode.UNAUTHENTICATED, "log in first"))
    try:
        ids = [ref.decode() for ref in refs]
        async with async_session_scope(info.context.sessions) as session:
            value = await session.run_sync(lambda sync_session: work(sync_session, *ids))
    except DomainError as error:
        return Outcome(errors=user_errors(error, paths))
    return Outcome(value=value)


def payload(payload_type: Callable[..., P], outcome: Outcome[T], field: str,
            present: Callable[[T], Any]) -> P:
    """The mutation's payload: the value presented in ``field``, or the errors."""
    if not outcome.ok:
        return payload_type(errors=outcome.errors)
    return payload_type(errors=[], **{field: present(outcome.value)})  # type: ignore[arg-type]


async def act_as(info: Info, administrator_id: uuid.UUID) -> None:
    """From now on this request is the administrator who just logged in (for the payload)."""
    from core.viewer import AuthMethod, load_viewer

    context = info.context
    async with context.sessions() as session:
        viewer = await session.run_sync(
            lambda s: load_viewer(s, administrator_id, auth_method=AuthMethod.SESSION,
                                  client_address=context.viewer.client_address,
                                  request_id=context.request_id)
        )
    if viewer is not None:
        context.viewer = viewer
        context.loaders.clear()  # anything loaded so far was loaded for the anonymous viewer
