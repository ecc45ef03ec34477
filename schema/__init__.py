"""The GraphQL schema, composed from the domain packages below this one.

Each domain package (``schema/<domain>/``) lists its root classes in its
``__init__``: ``QUERIES``, ``MUTATIONS`` and ``SUBSCRIPTIONS``. The root types
are those classes merged, in a stable order; adding a domain is adding a folder.
"""

from __future__ import annotations

import copy
import importlib
import pkgutil
from functools import cache
from pathlib import Path
from typing import Any

import strawberry

from core.settings import Settings
from schema.core.budget import QueryBudget, make_budget
from schema.core.cost import QueryCostLimit
from schema.core.forgery import RequestForgeryProtection
from schema.core.limits import limit_extensions
from schema.core.masking import LoggedSchema, MaskUnexpectedErrors, is_unexpected
from schema.core.node import NodeQuery
from schema.core.observability import OperationMetrics
from schema.core.text import text_extensions
from schema.platform import PlatformQuery

_NOT_DOMAINS = {"core"}


def _domain_roots(attribute: str) -> list[type]:
    roots: list[type] = []
    for module in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]),
                         key=lambda found: found.name):
        if module.ispkg and module.name not in _NOT_DOMAINS:
            package = importlib.import_module(f"schema.{module.name}")
            roots.extend(getattr(package, attribute, []))
    return roots


def _merged(name: str, bases: list[type]) -> type:
    return strawberry.type(type(name, tuple(bases), {}))


Query = _merged("Query", [PlatformQuery, NodeQuery, *_domain_roots("QUERIES")])
Mutation = _merged("Mutation", _domain_roots("MUTATIONS"))
Subscription = _merged("Subscription", _domain_roots("SUBSCRIPTIONS"))


def build_schema(settings: Settings | None = None, *, budget: QueryBudget | None = None,
                 instrumented: bool = True) -> strawberry.Schema:
    """The schema and the limits on each request.

    Without settings (to export the schema), the document limits only; with
    them, the mutation cap, the cost limit and the viewers' ``budget`` (by
    default made from the settings: in Redis when the broker is Redis) too.
    ``instrumented=False`` leaves out the operation metrics and the cost analysis,
    only to measure what they cost (benchmarks/operability_overhead.py).
    """
    extensions: list[Any]
    if settings is None or not instrumented:
        extensions = limit_extensions(introspection=True)
    else:
        spend_from = budget or make_budget(settings)
        extensions = [
            *limit_extensions(introspection=settings.introspection_enabled,
                              max_mutations=settings.max_mutations_per_request),
            # The first on_execute hook: see QueryCostLimit.
            lambda: QueryCostLimit(settings=settings, budget=spend_from),
        ]
    # The types are converted and validated once per process (the costly part); each
    # app gets its own copy of the schema object with its own extensions, which are
    # only factories that strawberry calls per request.
    schema = copy.copy(_converted_schema())
    schema.extensions = (*([OperationMetrics] if instrumented else []), *extensions,
                         *text_extensions(), RequestForgeryProtection, MaskUnexpectedErrors)
    # Where the schema is not to be read (production), errors do not hint at it either.
    schema.hide_suggestions = settings is not None and not settings.introspection_enabled
    return schema


@cache
def _converted_schema() -> LoggedSchema:
    return LoggedSchema(query=Query, mutation=Mutation, subscription=Subscription)


__all__ = ["Mutation", "Query", "Subscription", "build_schema", "is_unexpected"]
