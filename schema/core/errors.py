"""User errors as data in mutation payloads: ``errors: [UserError!]!``."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.utils.str_converters import to_camel_case

from core.errors import DomainError, ErrorCode

ErrorCodeEnum = strawberry.enum(
    ErrorCode, name="ErrorCode", description="Why a mutation did not do what was asked."
)


@strawberry.type(description="A mistake the user can correct; nothing was changed.")
class UserError:
    field: list[str] | None = strawberry.field(
        description="Path of the input field concerned (null: the input as a whole)."
    )
    code: ErrorCodeEnum  # type: ignore[valid-type]
    message: str


FieldPaths = dict[tuple[str, ...], tuple[str, ...]]


def user_errors(error: DomainError, paths: FieldPaths | None = None) -> list[UserError]:
    """The domain error as payload errors; ``paths`` maps core field paths to input paths
    where the input nests what the core keeps flat (e.g. isp.contact_phone -> isp.contact.phone).
    """
    return [
        UserError(
            field=[to_camel_case(part) for part in (paths or {}).get(item.field, item.field)]
            or None,
            code=item.code,
            message=item.message,
        )
        for item in error.errors
    ]


def single_error(code: ErrorCode, message: str, *field: str) -> list[UserError]:
    return user_errors(DomainError.single(code, message, *field))


class InvalidArgumentError(GraphQLError):
    """A query argument that cannot be answered, named in ``extensions.field``."""

    def __init__(self, error: DomainError) -> None:
        first = error.errors[0]
        super().__init__(str(error), extensions={"code": first.code.value,
                                                 "field": list(first.field)})
