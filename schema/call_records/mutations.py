"""Re-rating a period, and carriers' vendor rates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.file_uploads import Upload

from core import call_records_export, rerating, vendor_rates
from core.errors import DomainError
from core.service_plans import MAX_RATE_DECK_BYTES
from schema.context import Info
from schema.core.errors import UserError, user_errors
from schema.core.mutations import Ref, run
from schema.core.node import node_of
from schema.core.uploads import read_upload

if TYPE_CHECKING:
    from schema.carriers.types import CarrierType
    from schema.customers.types import CustomerType
    from schema.jobs.types import JobType

LazyCustomer = Annotated["CustomerType", strawberry.lazy("schema.customers.types")]
LazyCarrier = Annotated["CarrierType", strawberry.lazy("schema.carriers.types")]
LazyJob = Annotated["JobType", strawberry.lazy("schema.jobs.types")]


@strawberry.input
class CallRecordsRerateInput:
    customer: strawberry.ID
    from_: dt.datetime = strawberry.field(name="from", description="Calls set up at or after.")
    to: dt.datetime = strawberry.field(description="Calls set up before (at most 93 days on).")


@strawberry.type
class CallRecordsReratePayload:
    customer: LazyCustomer | None = None
    legs: int = strawberry.field(default=0, description="Legs rated again.")
    changed: int = strawberry.field(default=0, description="Legs whose rating changed; their "
                                    "previous rating is in CallLeg.revisions.")
    previous_total: Decimal | None = None
    new_total: Decimal | None = None
    errors: list[UserError]


@strawberry.input
class VendorRatesImportInput:
    carrier: strawberry.ID
    file: Upload = strawberry.field(description="A CSV file shaped like rateDeckTemplate: what "
                                    "the carrier charges per minute by destination prefix. It "
                                    "replaces the carrier's vendor rates.")


@strawberry.type
class VendorRatesImportPayload:
    carrier: LazyCarrier | None = None
    entries: int = 0
    errors: list[UserError]


@strawberry.input
class CallRecordsExportInput:
    customer: strawberry.ID
    from_: dt.datetime = strawberry.field(name="from", description="Calls set up at or after.")
    to: dt.datetime = strawberry.field(description="Calls set up before (at most 93 days on).")


@strawberry.type
class CallRecordsExportPayload:
    job: LazyJob | None = strawberry.field(
        default=None, description="When it has SUCCEEDED, ask callRecordsDownloadLink for "
        "the file (kept one day).")
    errors: list[UserError]


@strawberry.input
class CallRecordsDownloadLinkInput:
    job: strawberry.ID = strawberry.field(description="A call records export that SUCCEEDED.")


@strawberry.type
class CallRecordsDownloadLinkPayload:
    url: str | None = strawberry.field(
        default=None, description="GET it while logged in as yourself; the file is served once.")
    expires_at: dt.datetime | None = None
    errors: list[UserError]


@strawberry.type
class CallRecordMutation:
    @strawberry.mutation(description="Write a customer's calls of a period as CSV (one line per "
                         "leg, with its rating), in the background.")
    async def call_records_export(self, info: Info, input: CallRecordsExportInput
                                  ) -> CallRecordsExportPayload:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, customer_id: call_records_export.start_export(
                s, viewer, customer_id, input.from_, input.to),
            Ref(input.customer, "Customer", "customer", "customer"))
        job = node_of("Job", outcome.value) if outcome.value is not None else None
        return CallRecordsExportPayload(job=job, errors=outcome.errors)

    @strawberry.mutation(description="A short-lived link to download a finished call records "
                         "export, once.")
    async def call_records_download_link(self, info: Info, input: CallRecordsDownloadLinkInput
                                         ) -> CallRecordsDownloadLinkPayload:
        context = info.context
        outcome = await run(
            info, lambda s, job_id: call_records_export.download_link(
                s, context.settings, context.viewer, job_id),
            Ref(input.job, "Job", "job", "job"))
        if outcome.value is None:
            return CallRecordsDownloadLinkPayload(errors=outcome.errors)
        return CallRecordsDownloadLinkPayload(url=outcome.value.url,
                                              expires_at=outcome.value.expires_at, errors=[])

    @strawberry.mutation(description="Rate a customer's calls of a period again with its plan "
                         "and decks as they are now (after a deck correction). Changed legs "
                         "keep their previous rating as a revision; the run is audited.")
    async def call_records_rerate(self, info: Info, input: CallRecordsRerateInput
                                  ) -> CallRecordsReratePayload:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, customer_id: rerating.rerate_period(
                s, viewer, customer_id, input.from_, input.to),
            Ref(input.customer, "Customer", "customer", "customer"))
        result = outcome.value
        if result is None:
            return CallRecordsReratePayload(errors=outcome.errors)
        return CallRecordsReratePayload(
            customer=node_of("Customer", result.customer), legs=result.legs,
            changed=result.changed, previous_total=result.previous_total,
            new_total=result.new_total, errors=[])

    @strawberry.mutation(description="Replace a carrier's vendor rates (what it charges the "
                         "ISP) from a CSV file; calls rated from then on know their cost.")
    async def vendor_rates_import(self, info: Info, input: VendorRatesImportInput
                                  ) -> VendorRatesImportPayload:
        viewer = info.context.viewer
        try:
            content = await read_upload(input.file, max_bytes=MAX_RATE_DECK_BYTES, field="file")
        except DomainError as error:
            return VendorRatesImportPayload(errors=user_errors(error))
        outcome: Any = await run(
            info, lambda s, carrier_id: vendor_rates.replace_vendor_rates(
                s, viewer, carrier_id, content),
            Ref(input.carrier, "Carrier", "carrier", "carrier"))
        if not outcome.ok:
            return VendorRatesImportPayload(errors=outcome.errors)
        carrier, entries = outcome.value
        return VendorRatesImportPayload(carrier=node_of("Carrier", carrier), entries=entries,
                                        errors=[])
