"""What a directory adapter gives the sync engine, whichever the provider.

An adapter (``sync/google``, ``sync/teams``) knows its API's authentication,
paging and throttling, and turns the directory into pages of
:class:`DirectoryUser` records. Everything else (matching users to
subscribers, extensions, deprovisioning, the mass-change brake) happens once,
in the engine (``sync/engine.py``).

A round of listing is a sequence of :class:`Page`. Each page says where to
resume if the run stops after it (``resume``: a page token or next link), so an
interrupted run goes on from its last committed page. The last page says
whether the round listed the whole directory (``full``: then a synced user
absent from it was deleted) and what the next round starts from
(``next_round``: Microsoft's deltaLink; None for Google, which lists in full
each time).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable


class UserState(StrEnum):
    ACTIVE = "ACTIVE"
    # Suspended or archived (Google), accountEnabled false or soft-deleted (Microsoft):
    # the subscriber is disabled, and enabled again if the user comes back.
    SUSPENDED = "SUSPENDED"
    # Deleted for good: disabled at once, removed after the tenant's grace period.
    DELETED = "DELETED"


@dataclass(frozen=True)
class DirectoryUser:
    """One user as the directory describes it."""

    external_id: str  # Google's user id, Entra's object id: stable across renames
    email: str = ""  # primary e-mail address (Google) / mail or userPrincipalName (Microsoft)
    given_name: str = ""
    family_name: str = ""
    display_name: str = ""
    # Phone numbers as the directory holds them, most relevant first (work, mobile...).
    phones: tuple[str, ...] = ()
    department: str = ""  # org unit path (Google) or department (Microsoft)
    state: UserState = UserState.ACTIVE
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class SyncScope:
    """Which users of the domain are synced: all, or members of groups / org units."""

    groups: tuple[str, ...] = ()  # group ids or e-mail addresses (Google), group ids (Microsoft)
    org_units: tuple[str, ...] = ()  # org unit paths, Google only ("/Sales")

    @property
    def everyone(self) -> bool:
        return not self.groups and not self.org_units


@dataclass
class Page:
    users: list[DirectoryUser] = field(default_factory=list)
    # Where to continue the round after this page; None on the last page.
    resume: str | None = None
    # The last page of the round.
    complete: bool = False
    # On the last page: whether the round listed everyone in scope (absence = deleted).
    full: bool = True
    # On the last page: what the next round starts from (Microsoft's deltaLink).
    next_round: str | None = None


@runtime_checkable
class DirectoryAdapter(Protocol):
    # How many pages of a full listing the engine may list before it writes what changed:
    # the checkpoint is the last page written, so a crash lists at most this many pages
    # again. 1 where each page's link is a promised resume point (Microsoft). The pages of
    # a round of changes are written by the number of changed users (sync.engine).
    pages_per_write: int

    def pages(self, *, resume: str | None, state: str | None) -> Iterator[Page]:
        """The pages of one round: from ``resume`` (a checkpoint of an interrupted round)
        when given, else from ``state`` (the previous round's ``next_round``), else a
        full listing."""
        ...


# Failures: the engine turns them into job outcomes ------------------------------------------


class DirectoryError(Exception):
    """A failure of the directory side; ``code`` is shown on the link and the job."""

    code = "DIRECTORY_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class ConsentRevokedError(DirectoryError):
    """The grant no longer works (refresh token revoked, admin consent withdrawn, 401/403
    after a token refresh): an administrator must consent again."""

    code = "CONSENT_REVOKED"


class ConsentRefusedError(DirectoryError):
    """A consent callback that must not link the tenant (wrong domain, forged state,
    consent denied). ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class DirectoryUnavailableError(DirectoryError):
    """Throttled or failing after the adapter's own retries: try the job again later."""

    code = "DIRECTORY_UNAVAILABLE"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
