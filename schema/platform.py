"""Facts about the platform itself, readable by anyone."""

from __future__ import annotations

import strawberry

from core.version import product_version
from schema.context import Info


@strawberry.type(description="The platform this API belongs to.")
class Platform:
    version: str = strawberry.field(description="Version of the control plane.")
    base_domain: str = strawberry.field(description="ISP namespaces are <label>.<baseDomain>.")


@strawberry.type
class PlatformQuery:
    @strawberry.field(description="Facts about the platform.")
    def platform(self, info: Info) -> Platform:
        return Platform(version=product_version(), base_domain=info.context.settings.base_domain)
