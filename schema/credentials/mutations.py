"""Exporting a tenant's SIP credentials as a spreadsheet, and the link to download it once."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Annotated

import strawberry

from core import credentials
from core.credentials import CredentialsFormat
from schema.context import Info
from schema.core.errors import UserError
from schema.core.ids import id_of
from schema.core.mutations import Ref, run
from schema.core.node import node_of

CredentialsFormatEnum = strawberry.enum(
    CredentialsFormat, name="CredentialsFormat", description="The file type of the sheet."
)

if TYPE_CHECKING:
    from schema.jobs.types import JobType

LazyJob = Annotated["JobType", strawberry.lazy("schema.jobs.types")]

# An id that names no row: a malformed id that was given answers NOT_FOUND, not "left out".
_NO_ROW = uuid.UUID(int=0)


@strawberry.input
class TenantCredentialsExportInput:
    tenant: strawberry.ID
    file_format: CredentialsFormatEnum = strawberry.field(  # type: ignore[valid-type]
        name="format", default=CredentialsFormat.XLSX)
    subscribers: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only these subscribers of the tenant; left out: all of them.")

    def subscriber_ids(self) -> list[uuid.UUID] | None:
        if self.subscribers is None:
            return None
        return [id_of(value, "Subscriber") or _NO_ROW for value in self.subscribers]


@strawberry.type
class TenantCredentialsExportPayload:
    job: LazyJob | None = strawberry.field(
        default=None, description="When it has SUCCEEDED, ask credentialsDownloadLink for the "
        "file (kept one hour).")
    errors: list[UserError]


@strawberry.input
class CredentialsDownloadLinkInput:
    job: strawberry.ID = strawberry.field(description="A credentials export that SUCCEEDED.")


@strawberry.type
class CredentialsDownloadLinkPayload:
    url: str | None = strawberry.field(
        default=None, description="GET it while logged in as yourself; the file is served once.")
    expires_at: dt.datetime | None = None
    errors: list[UserError]


@strawberry.type
class CredentialsMutation:
    @strawberry.mutation(description="Write a spreadsheet of the tenant's subscribers with their "
                         "SIP passwords, in the background (tenant and ISP administrators).")
    async def tenant_credentials_export(self, info: Info, input: TenantCredentialsExportInput
                                        ) -> TenantCredentialsExportPayload:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, tenant_id: credentials.start_export(
                s, viewer, tenant_id, input.file_format, input.subscriber_ids()),
            Ref(input.tenant, "Tenant", "tenant", "tenant"), paths={("id",): ("tenant",)})
        if not outcome.ok or outcome.value is None:
            return TenantCredentialsExportPayload(errors=outcome.errors)
        return TenantCredentialsExportPayload(job=node_of("Job", outcome.value), errors=[])

    @strawberry.mutation(description="A link, valid five minutes and for you alone, to download "
                         "the file of a finished credentials export; it works once.")
    async def credentials_download_link(self, info: Info, input: CredentialsDownloadLinkInput
                                        ) -> CredentialsDownloadLinkPayload:
        context = info.context
        outcome = await run(
            info, lambda s, job_id: credentials.download_link(
                s, context.settings, context.viewer, job_id),
            Ref(input.job, "Job", "job", "job"), paths={("id",): ("job",)})
        if not outcome.ok or outcome.value is None:
            return CredentialsDownloadLinkPayload(errors=outcome.errors)
        return CredentialsDownloadLinkPayload(url=outcome.value.url,
                                              expires_at=outcome.value.expires_at, errors=[])
