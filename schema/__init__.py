"""The GraphQL schema, composed from one query/mutation class per domain."""

from __future__ import annotations

import strawberry

from core.settings import Settings
from schema.audit.queries import AuditQuery
from schema.core.forgery import RequestForgeryProtection
from schema.core.limits import limit_extensions
from schema.core.masking import LoggedSchema, MaskUnexpectedErrors, is_unexpected
from schema.core.node import NodeQuery
from schema.identity.mutations import IdentityMutation
from schema.identity.queries import IdentityQuery
from schema.isp.mutations import IspMutation
from schema.isp.queries import IspQuery
from schema.jobs.queries import JobMutation, JobQuery, JobSubscription
from schema.platform import PlatformQuery


@strawberry.type
class Query(PlatformQuery, NodeQuery, IdentityQuery, IspQuery, AuditQuery, JobQuery):
    pass


@strawberry.type
class Mutation(IdentityMutation, IspMutation, JobMutation):
    pass


@strawberry.type
class Subscription(JobSubscription):
    pass


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    introspection = True if settings is None else settings.introspection_enabled
    return LoggedSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            *limit_extensions(introspection=introspection),
            RequestForgeryProtection,
            MaskUnexpectedErrors,
        ],
    )


__all__ = ["Mutation", "Query", "Subscription", "build_schema", "is_unexpected"]
