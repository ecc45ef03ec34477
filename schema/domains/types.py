"""GraphQL types of the domains an ISP proves it owns."""

from __future__ import annotations

import datetime as dt

import strawberry

from core.dns_check import CheckOutcome
from core.domains import record_for
from core.models import VerifiedDomain, VerifiedDomainStatus
from schema.core.node import RowNode, register_node
from schema.core.owned import isp_field

VerifiedDomainStatusEnum = strawberry.enum(
    VerifiedDomainStatus, name="VerifiedDomainStatus",
    description="PENDING until the TXT record is found; LAPSED when it disappeared since; "
    "FAILED when it was not found in time.",
)
DomainCheckOutcomeEnum = strawberry.enum(CheckOutcome, name="DomainCheckOutcome")



@strawberry.type(description="What one look at the domain's TXT record found.")
class DomainCheck:
    outcome: DomainCheckOutcomeEnum  # type: ignore[valid-type]
    message: str


@strawberry.type(name="VerifiedDomain",
                 description="A domain an ISP proves it controls with a TXT record; only a "
                 "verified domain can be a tenant's domain outside the ISP's namespace.")
class VerifiedDomainType(RowNode):
    row: strawberry.Private[VerifiedDomain]
    fqdn: str = strawberry.field(description="In its ASCII (punycode) form.")
    status: VerifiedDomainStatusEnum  # type: ignore[valid-type]
    txt_record_name: str = strawberry.field(description="Where to publish the TXT record.")
    txt_record_value: str = strawberry.field(description="The exact value to publish.")
    last_checked_at: dt.datetime | None
    verified_at: dt.datetime | None = strawberry.field(
        description="When the domain last became verified.")
    created_at: dt.datetime

    isp = isp_field()

    @classmethod
    def from_row(cls, row: VerifiedDomain) -> VerifiedDomainType:
        name, value = record_for(row)
        return super().from_row(row, txt_record_name=name, txt_record_value=value)


register_node("VerifiedDomain", VerifiedDomain, VerifiedDomainType.from_row)
