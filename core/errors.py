"""Mistakes a user can correct, as data: a code, the field it concerns, a message.

Domain rules raise :class:`DomainError`; the GraphQL layer turns it into the
``errors: [UserError!]!`` of a mutation payload, and the CLI into one line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

T = TypeVar("T")


class ErrorCode(StrEnum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    NOT_FOUND = "NOT_FOUND"
    NOT_PERMITTED = "NOT_PERMITTED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    RESERVED = "RESERVED"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    INVALID_TOKEN = "INVALID_TOKEN"
    EXPIRED_TOKEN = "EXPIRED_TOKEN"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    TOO_LARGE = "TOO_LARGE"
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"
    LAST_ADMINISTRATOR = "LAST_ADMINISTRATOR"
    # Still referenced (by tenants, customers...): change those first.
    IN_USE = "IN_USE"
    # More than the customer's limit (e.g. max subscribers) would be in use.
    LIMIT_REACHED = "LIMIT_REACHED"
    # An administrator must choose first (e.g. a directory user colliding with a
    # subscriber created by hand).
    NEEDS_DECISION = "NEEDS_DECISION"


@dataclass(frozen=True)
class FieldError:
    code: ErrorCode
    message: str
    # Path of the input field concerned, e.g. ("isp", "namespaceLabel"); empty for the whole input.
    field: tuple[str, ...] = ()


class DomainError(Exception):
    """One or more user mistakes; nothing was changed."""

    def __init__(self, *errors: FieldError) -> None:
        if not errors:
            raise ValueError("a DomainError needs at least one FieldError")
        super().__init__("; ".join(error.message for error in errors))
        self.errors = errors

    @classmethod
    def single(cls, code: ErrorCode, message: str, *field: str) -> DomainError:
        return cls(FieldError(code=code, message=message, field=tuple(field)))


def not_found(what: str, *field: str) -> DomainError:
    """The same answer whether the object does not exist or is outside the viewer's scope."""
    return DomainError.single(ErrorCode.NOT_FOUND, f"{what} not found", *field)


class ErrorCollector:
    """Run several checks and report every mistake at once, not only the first."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def check(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        try:
            return function(*args, **kwargs)
        except DomainError as error:
            self.errors.extend(error.errors)
            return None

    def add(self, code: ErrorCode, message: str, *field: str) -> None:
        self.errors.append(FieldError(code=code, message=message, field=tuple(field)))

    def raise_if_any(self) -> None:
        if self.errors:
            raise DomainError(*self.errors)
