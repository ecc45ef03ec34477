"""What an operation costs, worked out from its document before anything runs.

The cost is static (an upper bound known before any resolver runs), in points:

- every field costs 1, scalars included; ``__typename`` costs nothing, and an
  introspection root (``__schema``, ``__type``) 1 whatever it selects;
- a connection (a type with ``edges`` and ``pageInfo``) multiplies what is
  selected under ``edges`` by its page size: ``first`` or ``last`` (variables
  resolved), else ``DEFAULT_PAGE_SIZE``, at most ``MAX_PAGE_SIZE``. So
  ``customers(first: 20) { edges { node { id tenants(first: 10) { edges { node
  { name } } } } } }`` costs 1 + 1 + 20 x (1 + 1 + 1 + 1 + 10 x (1 + 1 + 1));
- fragments and inline fragments are followed; of fragments on different
  object types under an interface or union (``node(id:) { ... on Isp { } ... on
  Tenant { } }``), only the dearest counts: an object has one type;
- a field left out by ``@skip``/``@include`` costs nothing.

A field that is dearer than its selection says (an external call, a heavy
query) declares its own cost, on the field::

    @strawberry.field(metadata=field_cost(20))
    async def simulation(...)

or, for fields declared elsewhere, in ``FIELD_COSTS`` below, keyed by
``"Type.field"``. ``size_argument`` names a list argument whose length
multiplies the field's selection, as ``nodes(ids:)`` does.

Each request may cost at most ``settings.query_cost_limit`` and is paid from
the viewer's budget (``schema.core.budget``); every response says what it cost
and what is left in ``extensions.cost``.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    get_named_type,
    get_operation_ast,
    is_abstract_type,
    value_from_ast_untyped,
)
from starlette.responses import Response
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from core.settings import Settings
from schema.core.budget import QueryBudget, budget_key
from schema.core.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

COST_METADATA_KEY = "cost"
_STRAWBERRY_FIELD = "strawberry-definition"  # where strawberry keeps its field on graphql-core's


@dataclass(frozen=True)
class FieldCost:
    # What the field itself costs, on top of its selection.
    own: int = 1
    # A list argument whose length multiplies the field's selection.
    size_argument: str | None = None


DEFAULT_COST = FieldCost()

FIELD_COSTS: dict[str, FieldCost] = {
    # Up to MAX_NODES lookups, each costing what is selected on it.
    "Query.nodes": FieldCost(size_argument="ids"),
}


def field_cost(own: int = 1, *, size_argument: str | None = None) -> dict[str, FieldCost]:
    """Metadata for ``strawberry.field`` that sets the field's cost."""
    return {COST_METADATA_KEY: FieldCost(own, size_argument)}


# Working it out ---------------------------------------------------------------------------------


def _rule(parent: GraphQLNamedType, name: str, definition: Any,
          overrides: Mapping[str, FieldCost]) -> FieldCost:
    strawberry_field = (definition.extensions or {}).get(_STRAWBERRY_FIELD)
    declared = (getattr(strawberry_field, "metadata", None) or {}).get(COST_METADATA_KEY)
    if declared is None:
        declared = overrides.get(f"{parent.name}.{name}")
    if isinstance(declared, int):
        return FieldCost(declared)
    return declared or DEFAULT_COST


def _is_connection(named: GraphQLNamedType) -> bool:
    return isinstance(named, GraphQLObjectType) and {"edges", "pageInfo"} <= named.fields.keys()


class _Costing:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode,
                 operation: OperationDefinitionNode, variables: Mapping[str, Any],
                 overrides: Mapping[str, FieldCost]) -> None:
        self.schema = schema
        self.overrides = overrides
        self.fragments = {
            definition.name.value: definition for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.variables = {
            definition.variable.name.value: value_from_ast_untyped(definition.default_value)
            for definition in operation.variable_definitions or ()
            if definition.default_value is not None
        }
        self.variables.update(variables)
        # A fragment spread many times is worked out once (per page size it sits under).
        self.fragment_costs: dict[tuple[str, int | None], int] = {}

    def _value(self, node: Any) -> Any:
        return value_from_ast_untyped(node, self.variables)

    def _argument(self, node: FieldNode, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                return self._value(argument.value)
        return None

    def _included(self, node: SelectionNode) -> bool:
        for directive in node.directives or ():
            name = directive.name.value
            if name in {"skip", "include"}:
                condition = next((self._value(arg.value) for arg in directive.arguments
                                  if arg.name.value == "if"), None)
                if (name == "skip") is (condition is True):
                    return False
        return True

    def _page_size(self, node: FieldNode) -> int:
        sizes = [value for value in (self._argument(node, "first"), self._argument(node, "last"))
                 if isinstance(value, int) and not isinstance(value, bool)]
        size = max(sizes) if sizes else DEFAULT_PAGE_SIZE
        return max(0, min(size, MAX_PAGE_SIZE))

    def _size(self, node: FieldNode, rule: FieldCost) -> int:
        if rule.size_argument is None:
            return 1
        value = self._argument(node, rule.size_argument)
        return len(value) if isinstance(value, list) else 1

    def selections(self, selection_set: SelectionSetNode, parent: GraphQLNamedType,
                   page: int | None = None) -> int:
        """``page``: the page size when ``parent`` is a connection (it applies to ``edges``)."""
        common = 0
        # Under an interface or union: fragments on distinct object types, one of which applies.
        exclusive: dict[str, int] = {}
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                common += self.field(selection, parent, page)
                continue
            if isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                cost = self.selections(selection.selection_set, target or parent, page)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is None:
                    continue
                target = self.schema.get_type(fragment.type_condition.name.value) or parent
                cost = self.fragment(fragment, target, page)
            else:  # pragma: no cover - graphql-core has no other selection
                continue
            if is_abstract_type(parent) and isinstance(target, GraphQLObjectType):
                exclusive[target.name] = exclusive.get(target.name, 0) + cost
            else:
                common += cost
        return common + max(exclusive.values(), default=0)

    def fragment(self, fragment: FragmentDefinitionNode, target: GraphQLNamedType,
                 page: int | None) -> int:
        key = (fragment.name.value, page)
        if key not in self.fragment_costs:
            self.fragment_costs[key] = 0  # a cycle (which validation refuses) costs nothing more
            self.fragment_costs[key] = self.selections(fragment.selection_set, target, page)
        return self.fragment_costs[key]

    def field(self, node: FieldNode, parent: GraphQLNamedType, page: int | None) -> int:
        name = node.name.value
        if name == "__typename":
            return 0
        if name.startswith("__"):
            return 1  # introspection: bounded by the size of the schema
        fields = parent.fields if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) \
            else {}
        definition = fields.get(name)
        if definition is None:
            return 1  # validation refuses unknown fields before this runs
        rule = _rule(parent, name, definition, self.overrides)
        if node.selection_set is None:
            return rule.own
        named = get_named_type(definition.type)
        if _is_connection(named):
            return rule.own + self.selections(node.selection_set, named, self._page_size(node))
        below = self.selections(node.selection_set, named)
        if page is not None and name == "edges":
            return rule.own + page * below
        return rule.own + self._size(node, rule) * below


def operation_cost(schema: GraphQLSchema, document: DocumentNode, *,
                   operation_name: str | None = None,
                   variables: Mapping[str, Any] | None = None,
                   overrides: Mapping[str, FieldCost] = FIELD_COSTS) -> int:
    """The cost of the operation of ``document`` that would run (0 when there is none)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    costing = _Costing(schema, document, operation, variables or {}, overrides)
    return costing.selections(operation.selection_set, root)


# The extension ----------------------------------------------------------------------------------


class QueryCostLimit(SchemaExtension):
    """Refuses an operation that costs too much or more than the viewer has left, before it runs.

    Must come before any other extension with an ``on_execute`` hook: a refused
    subscription can only be refused by raising there.
    """

    def __init__(self, *, settings: Settings, budget: QueryBudget,
                 overrides: Mapping[str, FieldCost] = FIELD_COSTS) -> None:
        self.settings = settings
        self.budget = budget
        self.overrides = overrides
        self.requested = 0
        self.remaining: int | None = None

    @property
    def limit(self) -> int:
        """The most one request may cost: more could never be paid for at once either."""
        return min(self.settings.query_cost_limit, self.budget.capacity)

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        if execution.result is None:
            error = await self._refusal()
            if error is not None:
                if execution.operation_type is OperationType.SUBSCRIPTION:
                    raise error  # a subscription has no result to set
                execution.result = ExecutionResult(data=None, errors=[error])
        yield

    async def _refusal(self) -> GraphQLError | None:
        execution = self.execution_context
        assert execution.graphql_document is not None
        cost = self.requested = operation_cost(
            execution.schema._schema, execution.graphql_document,
            operation_name=execution.provided_operation_name,
            variables=execution.variables, overrides=self.overrides,
        )
        key = budget_key(execution.context)
        if cost > self.limit:
            self.remaining = await self.budget.remaining(key)
            return GraphQLError(
                f"This operation costs {cost} points; a request may cost at most {self.limit}. "
                "Ask for smaller pages (first/last) or fewer fields.",
                extensions={"code": "QUERY_TOO_EXPENSIVE", "cost": cost, "limit": self.limit},
            )
        spent = await self.budget.spend(key, cost)
        self.remaining = spent.remaining
        if spent.allowed:
            return None
        response = getattr(execution.context, "response", None)
        if isinstance(response, Response):
            response.headers["Retry-After"] = str(math.ceil(spent.retry_after))
        return GraphQLError(
            f"Query budget exceeded: this operation costs {cost} points and {spent.remaining} "
            f"are left; enough are back in {spent.retry_after:.3f} s.",
            extensions={"code": "QUERY_BUDGET_EXCEEDED", "cost": cost,
                        "remaining": spent.remaining, "limit": self.budget.capacity,
                        "retryAfterSeconds": spent.retry_after},
        )

    async def get_results(self) -> dict[str, Any]:
        if self.remaining is None:  # refused before it was costed (parse or validation errors)
            self.remaining = await self.budget.remaining(budget_key(self.execution_context.context))
        return {"cost": {"requested": self.requested, "remaining": self.remaining,
                         "limit": self.budget.capacity}}
