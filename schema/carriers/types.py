"""GraphQL types of carriers and their gateways."""

from __future__ import annotations

import datetime as dt

import strawberry

from core.carriers import SocketAddress
from core.models import Carrier, Gateway
from schema.carriers.loaders import carrier_by_id, gateways_by_carrier
from schema.context import Info
from schema.core.ids import to_global_id
from schema.core.node import Node, RowNode, register_node
from schema.core.owned import isp_field


@strawberry.type(name="GatewayAttribute", description="A custom attribute of a gateway.")
class GatewayAttributeType:
    key: str
    value: str


@strawberry.type(name="Gateway", description="One address of a carrier; calls try gateways "
                 "by position, the next being the failover.")
class GatewayType(Node):
    row: strawberry.Private[Gateway]
    position: int = strawberry.field(description="0 is tried first.")
    description: str
    address: str = strawberry.field(description="IP address (IPv6 in compressed form).")
    port: int
    socket_address: str = strawberry.field(
        description="Address and port as gatewayCreate takes them: 192.0.2.10:5060, "
        "[2001:db8::1]:5060.")
    strip: int = strawberry.field(description="Digits removed from the front of the E.164 "
                                  "number written without '+'.")
    prefix: str = strawberry.field(description="Put before the stripped digits: the gateway "
                                   "receives prefix + digits[strip:] ('+' for E.164 with '+').")
    from_user: str
    from_display: str
    add_pai: bool = strawberry.field(description="Add P-Asserted-Identity with the From user.")
    attributes: list[GatewayAttributeType]
    created_at: dt.datetime

    @strawberry.field
    async def carrier(self, info: Info) -> CarrierType | None:
        row = await carrier_by_id(info.context).load(self.row.carrier_id)
        return CarrierType.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: Gateway) -> GatewayType:
        return cls(
            id=strawberry.ID(to_global_id("Gateway", row.id)), row=row, position=row.position,
            description=row.description, address=row.address, port=row.port,
            socket_address=str(SocketAddress(row.address, row.port)), strip=row.strip,
            prefix=row.prefix, from_user=row.from_user, from_display=row.from_display,
            add_pai=row.add_pai, created_at=row.created_at,
            attributes=[GatewayAttributeType(key=key, value=value)
                        for key, value in row.attributes.items()],
        )


@strawberry.type(name="Carrier", description="A SIP trunk, authorised by source address.")
class CarrierType(RowNode):
    row: strawberry.Private[Carrier]
    name: str
    description: str
    created_at: dt.datetime
    isp = isp_field()

    @strawberry.field(description="In failover order.")
    async def gateways(self, info: Info) -> list[GatewayType]:
        rows = await gateways_by_carrier(info.context).load(self.row.id)
        return [GatewayType.from_row(row) for row in rows]


register_node("Carrier", Carrier, CarrierType.from_row)
register_node("Gateway", Gateway, GatewayType.from_row)
