"""Limits on what one GraphQL request may ask for, checked before it runs."""

from __future__ import annotations

from collections.abc import Callable

from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

MAX_DEPTH = 12
MAX_TOKENS = 4_000
MAX_ALIASES = 30


def limit_extensions(*, introspection: bool) -> list[Callable[[], SchemaExtension] | type]:
    extensions: list[Callable[[], SchemaExtension] | type] = [
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return extensions
