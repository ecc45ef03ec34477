"""Creating, changing, ordering and deleting carriers and their gateways."""

from __future__ import annotations

import strawberry

from core import carriers
from core.carriers import GatewayValues
from schema.carriers.types import CarrierType, GatewayType
from schema.context import Info
from schema.core.errors import UserError
from schema.core.ids import id_of
from schema.core.mutations import Ref, given_fields, payload, run

ADDRESS_HELP = ("IPv4 or IPv6 address with an optional port (default 5060): 192.0.2.10, "
                "192.0.2.10:5080, 2001:db8::1, [2001:db8::1]:5080. Host names are refused: "
                "the proxies recognise a carrier by the address its calls come from. "
                "Unspecified, multicast, broadcast and link-local addresses are refused, "
                "loopback unless the platform's setting GATEWAY_LOOPBACK allows it.")
UPDATE_HELP = "Fields left out or null stay as they are."


# Carriers -----------------------------------------------------------------------------------


@strawberry.input
class CarrierCreateInput:
    name: str
    description: str = ""
    isp: strawberry.ID | None = strawberry.field(
        default=None, description="Needed only if you administer several ISPs.")


@strawberry.type
class CarrierCreatePayload:
    carrier: CarrierType | None = None
    errors: list[UserError]


@strawberry.input(description=UPDATE_HELP)
class CarrierUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET


@strawberry.type
class CarrierUpdatePayload:
    carrier: CarrierType | None = None
    errors: list[UserError]


@strawberry.input
class CarrierDeleteInput:
    id: strawberry.ID


@strawberry.type
class CarrierDeletePayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError]


# Gateways -----------------------------------------------------------------------------------


@strawberry.input
class GatewayAttributeInput:
    key: str = strawberry.field(description="One the proxies apply, any other is refused: "
                                "max_calls (concurrent calls this gateway carries at most; "
                                "further calls go to the carrier's next gateway at once), "
                                "transport (udp or tcp: how the proxies reach it).")
    value: str = strawberry.field(description="At most 256 characters.")


STRIP_HELP = ("Digits removed from the front of the E.164 number written without '+' "
              "(0-15): the gateway receives prefix + digits[strip:].")
PREFIX_HELP = ("Digits, +, # or * put before the stripped digits: '00' with strip 0 sends "
               "+442079460000 as 00442079460000, '0' with strip 2 as 02079460000, '+' with "
               "strip 0 as +442079460000.")


@strawberry.input
class GatewayCreateInput:
    carrier: strawberry.ID
    address: str = strawberry.field(description=ADDRESS_HELP)
    description: str = ""
    strip: int = strawberry.field(default=0, description=STRIP_HELP)
    prefix: str = strawberry.field(default="", description=PREFIX_HELP)
    from_user: str = ""
    from_display: str = ""
    add_pai: bool = strawberry.field(default=False, description="Add P-Asserted-Identity "
                                     "with the From user.")
    attributes: list[GatewayAttributeInput] = strawberry.field(default_factory=list)
    position: int | None = strawberry.field(
        default=None, description="Where in the failover order (0: first); null: last.")


@strawberry.type
class GatewayCreatePayload:
    gateway: GatewayType | None = None
    errors: list[UserError]


@strawberry.input(description=UPDATE_HELP)
class GatewayUpdateInput:
    id: strawberry.ID
    address: str | None = strawberry.field(default=strawberry.UNSET, description=ADDRESS_HELP)
    description: str | None = strawberry.UNSET
    strip: int | None = strawberry.field(default=strawberry.UNSET, description=STRIP_HELP)
    prefix: str | None = strawberry.field(default=strawberry.UNSET, description=PREFIX_HELP)
    from_user: str | None = strawberry.UNSET
    from_display: str | None = strawberry.UNSET
    add_pai: bool | None = strawberry.UNSET
    attributes: list[GatewayAttributeInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces all the attributes.")
    position: int | None = strawberry.field(
        default=strawberry.UNSET, description="Move the gateway in the failover order.")


@strawberry.type
class GatewayUpdatePayload:
    gateway: GatewayType | None = None
    errors: list[UserError]


@strawberry.input
class GatewayDeleteInput:
    id: strawberry.ID


@strawberry.type
class GatewayDeletePayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError]


@strawberry.input
class GatewaysReorderInput:
    carrier: strawberry.ID
    gateways: list[strawberry.ID] = strawberry.field(
        description="Every gateway of the carrier, once each, in the new failover order.")


@strawberry.type
class GatewaysReorderPayload:
    carrier: CarrierType | None = None
    errors: list[UserError]


def _gateway_values(input: GatewayCreateInput | GatewayUpdateInput) -> GatewayValues:
    values = given_fields(input, skip=("id", "carrier", "position"))
    if "attributes" in values:
        values["attributes"] = [(a.key, a.value) for a in values["attributes"]]
    return GatewayValues(**values)


@strawberry.type
class CarrierMutation:
    @strawberry.mutation(description="Create a carrier (then add its gateways).")
    async def carrier_create(self, info: Info, input: CarrierCreateInput) -> CarrierCreatePayload:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, isp_id: carriers.create_carrier(
                s, viewer, isp_id, name=input.name, description=input.description),
            Ref(input.isp, "Isp", "ISP", "isp"))
        return payload(CarrierCreatePayload, outcome, "carrier", CarrierType.from_row)

    @strawberry.mutation(description="Rename a carrier or change its description.")
    async def carrier_update(self, info: Info, input: CarrierUpdateInput) -> CarrierUpdatePayload:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, carrier_id: carriers.update_carrier(
                s, viewer, carrier_id, **given_fields(input)),
            Ref(input.id, "Carrier", "carrier"))
        return payload(CarrierUpdatePayload, outcome, "carrier", CarrierType.from_row)

    @strawberry.mutation(description="Delete a carrier and its gateways; refused while "
                         "tenants use it.")
    async def carrier_delete(self, info: Info, input: CarrierDeleteInput) -> CarrierDeletePayload:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, carrier_id: carriers.delete_carrier(s, viewer, carrier_id),
            Ref(input.id, "Carrier", "carrier"))
        return payload(CarrierDeletePayload, outcome, "deleted_id", lambda _: input.id)

    @strawberry.mutation(description="Add a gateway to a carrier, last in the failover order "
                         "unless a position is given.")
    async def gateway_create(self, info: Info, input: GatewayCreateInput) -> GatewayCreatePayload:
        viewer = info.context.viewer
        values = _gateway_values(input)
        loopback = info.context.settings.gateway_loopback_allowed
        outcome = await run(
            info, lambda s, carrier_id: carriers.create_gateway(
                s, viewer, carrier_id, values, input.position, allow_loopback=loopback),
            Ref(input.carrier, "Carrier", "carrier", "carrier"))
        return payload(GatewayCreatePayload, outcome, "gateway", GatewayType.from_row)

    @strawberry.mutation(description="Change a gateway, or move it in the failover order.")
    async def gateway_update(self, info: Info, input: GatewayUpdateInput) -> GatewayUpdatePayload:
        viewer = info.context.viewer
        values = _gateway_values(input)
        loopback = info.context.settings.gateway_loopback_allowed
        outcome = await run(
            info, lambda s, gateway_id: carriers.update_gateway(
                s, viewer, gateway_id, values, given_fields(input).get("position"),
                allow_loopback=loopback),
            Ref(input.id, "Gateway", "gateway"))
        return payload(GatewayUpdatePayload, outcome, "gateway", GatewayType.from_row)

    @strawberry.mutation(description="Delete a gateway; the ones after it move up.")
    async def gateway_delete(self, info: Info, input: GatewayDeleteInput) -> GatewayDeletePayload:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, gateway_id: carriers.delete_gateway(s, viewer, gateway_id),
            Ref(input.id, "Gateway", "gateway"))
        return payload(GatewayDeletePayload, outcome, "deleted_id", lambda _: input.id)

    @strawberry.mutation(description="Set the failover order of all of a carrier's gateways.")
    async def gateways_reorder(self, info: Info, input: GatewaysReorderInput
                               ) -> GatewaysReorderPayload:
        viewer = info.context.viewer
        gateway_ids = [id_of(gateway, "Gateway") for gateway in input.gateways]
        outcome = await run(
            info, lambda s, carrier_id: carriers.reorder_gateways(
                s, viewer, carrier_id, gateway_ids),
            Ref(input.carrier, "Carrier", "carrier", "carrier"))
        return payload(GatewaysReorderPayload, outcome, "carrier", CarrierType.from_row)
