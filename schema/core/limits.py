"""Limits on what one GraphQL request may ask for, checked before it runs.

Depth, tokens and aliases bound the document; ``max_mutations`` bounds how many
mutation fields one operation runs (aliases and fragments included), each of
which is a transaction of its own. What the operation may cost is in
``schema.core.cost``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

MAX_DEPTH = 12
MAX_TOKENS = 4_000
MAX_ALIASES = 30
DEFAULT_MAX_MUTATIONS = 20


def _root_fields(selection_set: SelectionSetNode, context: ValidationContext,
                 seen: frozenset[str] = frozenset()) -> int:
    count = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            count += selection.name.value != "__typename"
        elif isinstance(selection, InlineFragmentNode):
            count += _root_fields(selection.selection_set, context, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            fragment = context.get_fragment(selection.name.value)
            if fragment is not None:
                count += _root_fields(fragment.selection_set, context,
                                      seen | {selection.name.value})
    return count


def max_mutations_rule(limit: int) -> type[ValidationRule]:
    class MaxMutations(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode,
                                       *_args: Any) -> None:
            if node.operation is not OperationType.MUTATION:
                return
            count = _root_fields(node.selection_set, self.context)
            if count > limit:
                self.report_error(GraphQLError(
                    f"{count} mutations in one request; at most {limit} are allowed.",
                    node, extensions={"code": "TOO_MANY_MUTATIONS", "count": count,
                                      "limit": limit},
                ))

    return MaxMutations


def limit_extensions(
    *, introspection: bool, max_mutations: int = DEFAULT_MAX_MUTATIONS
) -> list[Callable[[], SchemaExtension] | type]:
    mutations_rule = max_mutations_rule(max_mutations)
    extensions: list[Callable[[], SchemaExtension] | type] = [
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: AddValidationRules([mutations_rule]),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return extensions
