"""GraphQL types of a tenant (the virtual PBX)."""

from __future__ import annotations

import datetime as dt

import strawberry

from core.models import Tenant, TenantStatus
from schema.core.ids import to_global_id
from schema.core.node import Node, register_node
from schema.core.owned import isp_field

TenantStatusEnum = strawberry.enum(TenantStatus, name="TenantStatus")


def _global(type_name: str, value: object) -> strawberry.ID | None:
    return strawberry.ID(to_global_id(type_name, value)) if value else None


@strawberry.type(name="Tenant", description="A virtual PBX of one of the ISP's customers.")
class TenantType(Node):
    row: strawberry.Private[Tenant]
    name: str
    domain: str = strawberry.field(description="The SIP domain of its subscribers.")
    status: TenantStatusEnum  # type: ignore[valid-type]
    default_country_code: str
    default_area_code: str
    provisioning_username: str = strawberry.field(
        description="For softphone provisioning; the password is shown only when set."
    )
    customer_id: strawberry.ID
    carrier_id: strawberry.ID | None
    dial_plan_id: strawberry.ID | None
    verified_domain_id: strawberry.ID | None
    created_at: dt.datetime

    isp = isp_field()

    @classmethod
    def from_row(cls, row: Tenant) -> TenantType:
        return cls(
            id=strawberry.ID(to_global_id("Tenant", row.id)), row=row, name=row.name,
            domain=row.domain, status=row.status, default_country_code=row.default_country_code,
            default_area_code=row.default_area_code,
            provisioning_username=row.provisioning_username,
            customer_id=_global("Customer", row.customer_id),
            carrier_id=_global("Carrier", row.carrier_id),
            dial_plan_id=_global("DialPlan", row.dial_plan_id),
            verified_domain_id=_global("VerifiedDomain", row.verified_domain_id),
            created_at=row.created_at,
        )


register_node("Tenant", Tenant, TenantType.from_row)
