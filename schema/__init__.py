"""The GraphQL schema, composed from one query/mutation class per domain."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaskErrors

from schema.platform import PlatformQuery


@strawberry.type
class Query(PlatformQuery):
    pass


def build_schema() -> strawberry.Schema:
    # Unexpected exceptions reach the client as a generic message; the
    # original is logged by strawberry's error handler on the server.
    return strawberry.Schema(query=Query, extensions=[MaskErrors])


schema = build_schema()

__all__ = ["Query", "build_schema", "schema"]
