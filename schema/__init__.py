"""The GraphQL schema, composed from the domain packages below this one.

Each domain package (``schema/<domain>/``) lists its root classes in its
``__init__``: ``QUERIES``, ``MUTATIONS`` and ``SUBSCRIPTIONS``. The root types
are those classes merged, in a stable order; adding a domain is adding a folder.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import strawberry

from core.settings import Settings
from schema.core.forgery import RequestForgeryProtection
from schema.core.limits import limit_extensions
from schema.core.masking import LoggedSchema, MaskUnexpectedErrors, is_unexpected
from schema.core.node import NodeQuery
from schema.core.observability import OperationMetrics
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


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    introspection = True if settings is None else settings.introspection_enabled
    return LoggedSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            OperationMetrics,
            *limit_extensions(introspection=introspection),
            RequestForgeryProtection,
            MaskUnexpectedErrors,
        ],
    )


__all__ = ["Mutation", "Query", "Subscription", "build_schema", "is_unexpected"]
