"""Adding a domain, checking its TXT record now, removing it."""

from __future__ import annotations

import anyio
import strawberry
from sqlmodel import Session

from core import domains
from core.dns_check import DnsCheck, check_txt
from core.domain_messages import check_summary
from core.models import VerifiedDomain
from schema.context import Info
from schema.core.errors import UserError
from schema.core.mutations import Ref, run
from schema.domains.types import DomainCheck, VerifiedDomainType


@strawberry.input
class DomainAddInput:
    isp: strawberry.ID | None = strawberry.field(
        default=None, description="May be left out by someone who administers one ISP."
    )
    fqdn: str = strawberry.field(
        description="The domain, e.g. example.com; international names are accepted."
    )


@strawberry.type
class DomainAddPayload:
    verified_domain: VerifiedDomainType | None = None
    errors: list[UserError]


@strawberry.input
class DomainVerifyInput:
    id: strawberry.ID


@strawberry.type
class DomainVerifyPayload:
    verified_domain: VerifiedDomainType | None = None
    check: DomainCheck | None = strawberry.field(
        default=None, description="What DNS said; UNREACHABLE leaves the status unchanged."
    )
    errors: list[UserError]


@strawberry.input
class DomainRemoveInput:
    id: strawberry.ID


@strawberry.type
class DomainRemovePayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError]


@strawberry.type
class DomainMutation:
    @strawberry.mutation(description="Add a domain to prove: publish the TXT record shown, "
                         "then call domainVerify.")
    async def domain_add(self, info: Info, input: DomainAddInput) -> DomainAddPayload:
        context = info.context
        outcome = await run(info, lambda s, isp_id: domains.add_domain(
            s, context.settings, context.viewer, isp_id, input.fqdn),
            Ref(input.isp or None, "Isp", "ISP", "isp"))
        if not outcome.ok:
            return DomainAddPayload(errors=outcome.errors)
        return DomainAddPayload(verified_domain=VerifiedDomainType.from_row(outcome.value),
                                errors=[])

    @strawberry.mutation(description="Look for the domain's TXT record now (the platform also "
                         "looks periodically).")
    async def domain_verify(self, info: Info, input: DomainVerifyInput) -> DomainVerifyPayload:
        context = info.context
        viewer = context.viewer
        loaded = await run(
            info, lambda s, i: domains.managed_domain(s, viewer, i),
            Ref(input.id, "VerifiedDomain", "verified domain"))
        if not loaded.ok:
            return DomainVerifyPayload(errors=loaded.errors)
        record_name, record_value = domains.record_for(loaded.value)
        # Seconds of network wait: in a thread, and with no transaction open.
        check = await anyio.to_thread.run_sync(check_txt, record_name, record_value,
                                               context.settings)

        def apply(session: Session) -> VerifiedDomain:
            domain = domains.managed_domain(session, viewer, loaded.value.id)
            return domains.apply_check(session, context.settings, viewer, domain, check)

        applied = await run(info, apply)
        if not applied.ok:
            return DomainVerifyPayload(errors=applied.errors)
        return DomainVerifyPayload(verified_domain=VerifiedDomainType.from_row(applied.value),
                                   check=_described(check, record_name), errors=[])

    @strawberry.mutation(description="Remove a domain no tenant uses.")
    async def domain_remove(self, info: Info, input: DomainRemoveInput) -> DomainRemovePayload:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, i: domains.remove_domain(s, viewer, i),
            Ref(input.id, "VerifiedDomain", "verified domain"))
        if not outcome.ok:
            return DomainRemovePayload(errors=outcome.errors)
        return DomainRemovePayload(deleted_id=input.id, errors=[])


def _described(check: DnsCheck, record_name: str) -> DomainCheck:
    return DomainCheck(outcome=check.outcome, message=check_summary(check, record_name))
