"""Running a mutation: one transaction, domain errors as data, work enqueued after commit."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import anyio
from sqlmodel import Session

from core.errors import DomainError, ErrorCode
from core.jobs import take_pending_dispatch
from schema.context import Info
from schema.core.errors import FieldPaths, UserError, single_error, user_errors
from schema.core.ids import id_of
from workers.jobs import dispatch

T = TypeVar("T")


@dataclass
class Outcome(Generic[T]):
    """The value a mutation produced, or why it produced none."""

    value: T | None = None
    errors: list[UserError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


async def in_transaction(info: Info, work: Callable[[Session], T],
                         paths: FieldPaths | None = None) -> Outcome[T]:
    """Run ``work`` (a core rule, against a sync session) in one transaction.

    A DomainError rolls everything back and becomes the payload's errors.
    """
    try:
        async with info.context.sessions() as session:
            async with session.begin():
                value = await session.run_sync(work)
            pending = take_pending_dispatch(session.sync_session)
    except DomainError as error:
        return Outcome(errors=user_errors(error, paths))
    if pending:
        # Only now that the jobs are committed may a worker look for them.
        await anyio.to_thread.run_sync(dispatch, pending)
    return Outcome(value=value)


def login_required(info: Info) -> list[UserError]:
    """Errors to return when nobody is logged in (empty when someone is)."""
    if info.context.viewer.is_authenticated:
        return []
    return single_error(ErrorCode.UNAUTHENTICATED, "log in first")


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


async def with_object(info: Info, global_id: str, type_name: str, what: str,
                      work: Callable[[Session, uuid.UUID], T]) -> Outcome[T]:
    """The common shape of a mutation on one object named by its global id.

    Refuses anonymous callers, answers NOT_FOUND for an id that is not one of
    ``type_name`` (exactly as the core rule does for an object out of scope),
    and runs ``work(session, object_id)`` in one transaction.
    """
    if errors := login_required(info):
        return Outcome(errors=errors)
    object_id = id_of(global_id, type_name)
    if object_id is None:
        return Outcome(errors=single_error(ErrorCode.NOT_FOUND, f"{what} not found", "id"))
    return await in_transaction(info, lambda session: work(session, object_id))
