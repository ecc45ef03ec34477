"""The GraphQL schema, composed from one query/mutation class per domain."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from schema.platform import PlatformQuery


@strawberry.type
class Query(PlatformQuery):
    pass


def is_unexpected(error: GraphQLError) -> bool:
    """Errors raised by our code are masked; syntax and validation errors are not."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def build_schema() -> strawberry.Schema:
    # The client sees a generic message; strawberry logs the original.
    return strawberry.Schema(
        query=Query, extensions=[lambda: MaskErrors(should_mask_error=is_unexpected)]
    )


schema = build_schema()

__all__ = ["Query", "build_schema", "schema"]
