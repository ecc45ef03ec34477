"""GraphQL type of a session and media border controller."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry

from core.models import Smbc
from schema.context import Info
from schema.core.node import RowNode, load_node, register_node

if TYPE_CHECKING:
    from schema.customers.types import CustomerType

LazyCustomer = Annotated["CustomerType", strawberry.lazy("schema.customers.types")]


@strawberry.type(name="Smbc", description="A session and media border controller of an ISP, "
                 "or of one of its customers, that tenants list for their phones. Stored for "
                 "a later release: the SIP proxies do not use it yet (phones register with "
                 "the proxies directly).")
class SmbcType(RowNode):
    row: strawberry.Private[Smbc]
    name: str
    address: str = strawberry.field(description="IP literal or FQDN, with an optional :port "
                                    "(IPv6 in brackets when a port follows).")
    region: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @strawberry.field(description="The customer owning it; null for the ISP's own.")
    async def customer(self, info: Info) -> LazyCustomer | None:
        return await load_node(info, "Customer", self.row.customer_id)


register_node("Smbc", Smbc, SmbcType.from_row)
