"""GraphQL types of an ISP."""

from __future__ import annotations

import datetime as dt

import strawberry

from core.logos import logo_url
from core.models import Isp, IspStatus
from schema.context import Info
from schema.core.contact import Contact, PostalAddress
from schema.core.ids import to_global_id
from schema.core.node import Node, register_node
from schema.isp.loaders import logo_by_isp

IspStatusEnum = strawberry.enum(IspStatus, name="IspStatus")


@strawberry.type
class Theme:
    primary_color: str | None
    secondary_color: str | None
    logo_url: str | None = strawberry.field(
        description="Where the logo is served (changes when the logo does); null without one."
    )


@strawberry.type(name="Isp", description="An internet service provider reselling the platform.")
class IspType(Node):
    row: strawberry.Private[Isp]
    name: str
    namespace_label: str
    currency: str = strawberry.field(description="ISO 4217 code.")
    status: IspStatusEnum  # type: ignore[valid-type]
    created_at: dt.datetime
    address: PostalAddress
    contact: Contact

    @strawberry.field(description="Tenants may live under <label>.<platform base domain>.")
    def namespace_domain(self, info: Info) -> str:
        return f"{self.namespace_label}.{info.context.settings.base_domain}"

    @strawberry.field
    async def theme(self, info: Info) -> Theme:
        logo = await logo_by_isp(info.context).load(self.row.id)
        url = (logo_url(info.context.settings.public_base_url, self.row.id, logo.sha256)
               if logo else None)
        return Theme(primary_color=self.row.theme_primary_color,
                     secondary_color=self.row.theme_secondary_color, logo_url=url)

    @classmethod
    def from_row(cls, row: Isp) -> IspType:
        return cls(
            id=strawberry.ID(to_global_id("Isp", row.id)),
            row=row,
            name=row.name,
            namespace_label=row.namespace_label,
            currency=row.currency,
            status=row.status,
            created_at=row.created_at,
            address=PostalAddress(line1=row.address_line1, line2=row.address_line2,
                                  city=row.city, region=row.region,
                                  postal_code=row.postal_code, country=row.country),
            contact=Contact(name=row.contact_name, email=row.contact_email,
                            phone=row.contact_phone),
        )


register_node("Isp", Isp, IspType.from_row)
