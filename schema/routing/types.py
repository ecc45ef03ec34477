"""GraphQL types of the SIP proxies and of the routing export's state."""

from __future__ import annotations

import datetime as dt

import strawberry

from core.models import SipProxy
from schema.core.node import RowNode, register_node


@strawberry.type(name="SipProxy", description="A Kamailio proxy fed by the routing export.")
class SipProxyType(RowNode):
    row: strawberry.Private[SipProxy]
    name: str
    database: str = strawberry.field(
        description="The PostgreSQL database whose tables it reads (password hidden).")
    rpc_url: str = strawberry.field(description="Its JSON-RPC endpoint, for reloads.")
    enabled: bool
    applied_generation: int = strawberry.field(
        description="The export generation it last reloaded successfully.")
    last_success_at: dt.datetime | None = strawberry.field(
        description="When it last confirmed a reload.")
    last_error: str | None = strawberry.field(
        description="Why its last reload failed, if it did after its last success: the "
        "table and Kamailio's reason (e.g. out of shared memory, with its figures).")
    last_error_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: SipProxy) -> SipProxyType:
        return super().from_row(row, database=row.database_display)


register_node("SipProxy", SipProxy, SipProxyType.from_row)


@strawberry.type(description="Whether the proxies route calls by what is configured now.")
class RoutingStatus:
    in_step: bool = strawberry.field(
        description="True when every change has been exported and every enabled proxy has "
        "reloaded the latest export. For an ISP's people: their own ISPs' changes.")
    pending: bool = strawberry.field(
        description="Changes were made that are not exported yet (for an ISP's people: "
        "changes of their own ISPs).")
    generation: int | None = strawberry.field(
        description="The latest export generation (the highest, with several databases); "
        "platform operators only (it counts every ISP's changes), null for others.")
    exported_at: dt.datetime | None = strawberry.field(
        description="When it was exported; platform operators only, null for others.")
    last_error: str | None = strawberry.field(
        description="Why the last export failed, if it did after the last success; platform "
        "operators only (it may quote the proxy database's connection), null for others.")
    proxies: list[SipProxyType] = strawberry.field(
        description="The enabled proxies and how far each is (platform operators only; "
        "empty for others).")
