"""The directory-sync flow of the product documentation, as mutations.

``directoryLinkStart`` -> the administrator consents at the provider (callback in
``api/``) -> ``directoryDiscover`` (a job filling the preview) ->
``directoryPreviewUpdate`` -> ``directoryImportConfirm`` (a job ending with the
credentials sheet) -> re-syncs on ``directoryLinkSchedule``, ``directorySyncNow``
at once, ``directorySyncDecide`` when the brake held changes, ``directoryUnlink``.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlmodel import Session

from core import directory_links
from core.errors import ErrorCode
from core.models import DirectoryLink, DirectoryProvider, Job
from core.secrets import secret_box
from core.tenants import managed_tenant
from schema.context import Info
from schema.core.errors import UserError, single_error
from schema.core.ids import id_of, to_global_id
from schema.core.mutations import Outcome, Ref, run
from schema.core.node import node_of
from schema.directory.types import (
    DirectoryLinkType,
    DirectoryPreviewRowType,
    DirectoryProviderEnum,
)

if TYPE_CHECKING:
    from schema.jobs.types import JobType

LazyJob = Annotated["JobType", strawberry.lazy("schema.jobs.types")]


GOOGLE_CALLBACK = "/oauth/google/callback"
MICROSOFT_CALLBACK = "/oauth/microsoft/callback"


def _tenant(global_id: strawberry.ID) -> Ref:
    # "id": where the core's tenant lookup (managed_tenant) answers NOT_FOUND, too.
    return Ref(global_id, "Tenant", "tenant")


@strawberry.input
class DirectoryLinkStartInput:
    tenant: strawberry.ID
    provider: DirectoryProviderEnum  # type: ignore[valid-type]
    with_groups: bool = strawberry.field(
        default=False, description="Also ask to read groups (Google), to sync only members "
        "of chosen groups.")


@strawberry.type
class DirectoryLinkStartPayload:
    consent_url: str | None = strawberry.field(
        default=None, description="Send the directory's administrator here to consent.")
    directory_link: DirectoryLinkType | None = None
    errors: list[UserError]


@strawberry.input
class DirectoryServiceAccountLinkInput:
    tenant: strawberry.ID
    key_json: str = strawberry.field(description="The service account's JSON key, as "
                                     "downloaded; stored encrypted.")
    admin_email: str = strawberry.field(description="An administrator of the domain, whom "
                                        "the service account acts as (domain-wide delegation).")


@strawberry.type
class DirectoryLinkPayload:
    directory_link: DirectoryLinkType | None = None
    errors: list[UserError]


@strawberry.input
class DirectoryDefaultsInput:
    country_code: str | None = None
    area_code: str | None = None
    security_group: strawberry.ID | None = None
    concurrent_calls: int = 2
    ring_timeout: int = 20
    voicemail_to_email: bool = False


@strawberry.input
class DirectoryScopeInput:
    groups: list[str] = strawberry.field(default_factory=list)
    org_units: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class DirectoryDiscoverInput:
    tenant: strawberry.ID
    defaults: DirectoryDefaultsInput = strawberry.field(default_factory=DirectoryDefaultsInput)
    sequential_start: int = strawberry.field(
        default=1000, description="The first extension number to give.")
    scope: DirectoryScopeInput = strawberry.field(default_factory=DirectoryScopeInput)


@strawberry.type
class DirectoryJobPayload:
    job: LazyJob | None = None
    errors: list[UserError]


@strawberry.input
class DirectoryPreviewRowChange:
    id: strawberry.ID
    username: str | None = None
    alias: str | None = strawberry.field(default=strawberry.UNSET,
                                         description="Null: no extension.")
    display_name: str | None = None
    excluded: bool | None = None
    link_subscriber: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="A subscriber created by hand to hand over to "
        "this directory user; null: none.")
    import_separately: bool | None = strawberry.field(
        default=None, description="Import this user as a subscriber of its own beside the "
        "subscriber created by hand with the same e-mail (see handMadeMatch).")


@strawberry.input
class DirectoryPreviewUpdateInput:
    tenant: strawberry.ID
    rows: list[DirectoryPreviewRowChange]


@strawberry.type
class DirectoryPreviewUpdatePayload:
    rows: list[DirectoryPreviewRowType] = strawberry.field(default_factory=list)
    errors: list[UserError]


@strawberry.input
class DirectoryTenantInput:
    tenant: strawberry.ID


@strawberry.input
class DirectoryLinkScheduleInput:
    tenant: strawberry.ID
    interval_minutes: int | None = None
    brake_percent: int | None = None
    removal_grace_days: int | None = None


@strawberry.input
class DirectorySyncDecideInput:
    tenant: strawberry.ID
    confirm: bool = strawberry.field(description="True applies the held changes, false "
                                     "drops them.")


@strawberry.type
class DirectoryUnlinkPayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError]


def _consent_url(info: Info, provider: DirectoryProvider, state: str, domain: str,
                 challenge: str | None, with_groups: bool) -> str:
    settings = info.context.settings
    base = settings.public_base_url.rstrip("/")
    if provider is DirectoryProvider.GOOGLE:
        from sync.google.consent import consent_url

        return consent_url(settings, state=state, code_challenge=challenge or "",
                           redirect_uri=base + GOOGLE_CALLBACK, domain=domain,
                           with_groups=with_groups)
    from sync.teams.consent import admin_consent_url

    return admin_consent_url(settings, state=state, redirect_uri=base + MICROSOFT_CALLBACK)


async def _refused(info: Info, tenant: strawberry.ID) -> list[UserError]:
    """Errors when the viewer may not manage the tenant, checked before the input is, so that
    a read-only role hears NOT_PERMITTED whatever else is wrong with the request."""
    viewer = info.context.viewer
    return (await run(info, lambda s, tenant_id: managed_tenant(s, viewer, tenant_id),
                      _tenant(tenant))).errors


def _configured(info: Info, provider: DirectoryProvider) -> list[UserError]:
    settings = info.context.settings
    client = (settings.google_client_id if provider is DirectoryProvider.GOOGLE
              else settings.microsoft_client_id)
    if client and settings.public_base_url:
        return []
    return single_error(ErrorCode.INVALID, f"the platform has no {provider.value.title()} "
                        "application configured (client id and public base URL): ask its "
                        "operators", "provider")


def _preview_change(row: DirectoryPreviewRowChange) -> directory_links.PreviewChange:
    """The core's view of one edited row (the core checks the rows all at once)."""
    linked = row.link_subscriber not in (None, strawberry.UNSET)
    return directory_links.PreviewChange(
        id=id_of(row.id, "DirectoryPreviewRow"), username=row.username,
        alias=row.alias if row.alias not in (None, strawberry.UNSET) else None,
        clear_alias=row.alias is None, display_name=row.display_name,
        excluded=row.excluded,
        link_subscriber_id=Ref(row.link_subscriber, "Subscriber", "subscriber").lookup_id()
        if linked else None,
        clear_link=row.link_subscriber is None,
        import_separately=row.import_separately)


def _job_payload(outcome: Outcome[Job]) -> DirectoryJobPayload:
    if not outcome.ok or outcome.value is None:
        return DirectoryJobPayload(errors=outcome.errors)
    return DirectoryJobPayload(job=node_of("Job", outcome.value), errors=[])


@strawberry.type
class DirectoryMutation:
    @strawberry.mutation(description="Link a tenant to Google or Microsoft: returns the "
                         "consent URL for an administrator of that directory.")
    async def directory_link_start(self, info: Info, input: DirectoryLinkStartInput
                                   ) -> DirectoryLinkStartPayload:
        provider = DirectoryProvider(input.provider.value if hasattr(input.provider, "value")
                                     else input.provider)
        if errors := await _refused(info, input.tenant):
            return DirectoryLinkStartPayload(errors=errors)
        if errors := _configured(info, provider):
            return DirectoryLinkStartPayload(errors=errors)
        context = info.context
        box = secret_box(context.settings.secret_key_bytes())
        verifier = challenge = None
        if provider is DirectoryProvider.GOOGLE:
            from sync.google.consent import new_pkce

            verifier, challenge = new_pkce()

        def work(session: Session, tenant_id: uuid.UUID) -> directory_links.ConsentStart:
            return directory_links.start_consent(
                session, context.settings.directory_sync_interval_minutes, context.viewer,
                tenant_id, provider, box=box, code_verifier=verifier,
                auth_session_id=context.auth_session_id, with_groups=input.with_groups)

        outcome = await run(info, work, _tenant(input.tenant))
        if not outcome.ok or outcome.value is None:
            return DirectoryLinkStartPayload(errors=outcome.errors)
        started = outcome.value
        return DirectoryLinkStartPayload(
            consent_url=_consent_url(info, provider, started.state, started.domain, challenge,
                                     input.with_groups),
            directory_link=DirectoryLinkType.from_row(started.link), errors=[])

    @strawberry.mutation(description="Link a tenant to Google with a service account with "
                         "domain-wide delegation, instead of an administrator's consent.")
    async def directory_service_account_link(
            self, info: Info, input: DirectoryServiceAccountLinkInput) -> DirectoryLinkPayload:
        from sync.google.consent import check_service_account_key

        if errors := await _refused(info, input.tenant):
            return DirectoryLinkPayload(errors=errors)
        try:
            key = check_service_account_key(input.key_json)
        except ValueError as error:
            return DirectoryLinkPayload(errors=single_error(ErrorCode.INVALID, str(error),
                                                            "keyJson"))
        context = info.context
        box = secret_box(context.settings.secret_key_bytes())
        outcome = await run(info, lambda s, tenant_id: directory_links.link_service_account(
            s, context.settings.directory_sync_interval_minutes, context.viewer, tenant_id, box,
            key_info=key, subject=input.admin_email.strip()), _tenant(input.tenant))
        return DirectoryLinkPayload(
            directory_link=DirectoryLinkType.from_row(outcome.value) if outcome.ok else None,
            errors=outcome.errors)

    @strawberry.mutation(description="List the directory into the link's preview (a job), "
                         "with the defaults and extension start every imported user gets.")
    async def directory_discover(self, info: Info, input: DirectoryDiscoverInput
                                 ) -> DirectoryJobPayload:
        viewer = info.context.viewer
        defaults = input.defaults

        def work(session: Session, tenant_id: uuid.UUID) -> Job:
            group = Ref(defaults.security_group, "SecurityGroup", "security group")
            given = directory_links.DiscoveryFields(
                country_code=defaults.country_code, area_code=defaults.area_code,
                security_group_id=group.lookup_id(), concurrent_calls=defaults.concurrent_calls,
                ring_timeout=defaults.ring_timeout,
                voicemail_to_email=defaults.voicemail_to_email,
                alias_start=input.sequential_start, groups=tuple(input.scope.groups),
                org_units=tuple(input.scope.org_units))
            return directory_links.start_discovery(session, viewer, tenant_id, given)

        return _job_payload(await run(info, work, _tenant(input.tenant)))

    @strawberry.mutation(description="Edit or exclude rows of the preview before importing.")
    async def directory_preview_update(self, info: Info, input: DirectoryPreviewUpdateInput
                                       ) -> DirectoryPreviewUpdatePayload:
        viewer = info.context.viewer
        outcome = await run(info, lambda s, tenant_id: directory_links.update_preview(
            s, viewer, tenant_id, [_preview_change(row) for row in input.rows]),
            _tenant(input.tenant))
        return DirectoryPreviewUpdatePayload(
            rows=[DirectoryPreviewRowType.from_row(row) for row in outcome.value or []],
            errors=outcome.errors)

    @strawberry.mutation(description="Import the preview's users (a job); it ends with the "
                         "credentials sheet of the imported users (the job's resultRef is "
                         "the sheet's job). Refused with NEEDS_DECISION while a row collides "
                         "with a subscriber created by hand (needsDecision), and with "
                         "LIMIT_REACHED when the new subscribers do not fit in the "
                         "customer's maximum (subscribersAllowed).")
    async def directory_import_confirm(self, info: Info, input: DirectoryTenantInput
                                       ) -> DirectoryJobPayload:
        viewer = info.context.viewer
        return _job_payload(await run(
            info, lambda s, tenant_id: directory_links.start_import(s, viewer, tenant_id),
            _tenant(input.tenant)))

    @strawberry.mutation(description="Set how often the directory is synced, the brake and "
                         "the grace period before deleted users' subscribers are removed.")
    async def directory_link_schedule(self, info: Info, input: DirectoryLinkScheduleInput
                                      ) -> DirectoryLinkPayload:
        viewer = info.context.viewer
        outcome = await run(info, lambda s, tenant_id: directory_links.set_schedule(
            s, viewer, tenant_id, interval_minutes=input.interval_minutes,
            brake_percent=input.brake_percent, removal_grace_days=input.removal_grace_days),
            _tenant(input.tenant))
        return DirectoryLinkPayload(
            directory_link=DirectoryLinkType.from_row(outcome.value) if outcome.ok else None,
            errors=outcome.errors)

    @strawberry.mutation(description="Sync the directory now (a job).")
    async def directory_sync_now(self, info: Info, input: DirectoryTenantInput
                                 ) -> DirectoryJobPayload:
        viewer = info.context.viewer
        return _job_payload(await run(
            info, lambda s, tenant_id: directory_links.start_sync(s, viewer, tenant_id),
            _tenant(input.tenant)))

    @strawberry.mutation(description="Apply or drop the changes a sync held back because "
                         "they were more than the brake allows.")
    async def directory_sync_decide(self, info: Info, input: DirectorySyncDecideInput
                                    ) -> DirectoryJobPayload:
        viewer = info.context.viewer

        def work(session: Session, tenant_id: uuid.UUID) -> Job:
            return directory_links.decide_held(session, viewer, tenant_id, input.confirm)[0]

        return _job_payload(await run(info, work, _tenant(input.tenant)))

    @strawberry.mutation(description="Remove the tenant's directory link. Its subscribers "
                         "stay, and are no longer synced.")
    async def directory_unlink(self, info: Info, input: DirectoryTenantInput
                               ) -> DirectoryUnlinkPayload:
        viewer = info.context.viewer

        def work(session: Session, tenant_id: uuid.UUID) -> DirectoryLink:
            return directory_links.unlink(session, viewer, tenant_id)

        outcome = await run(info, work, _tenant(input.tenant))
        if not outcome.ok or outcome.value is None:
            return DirectoryUnlinkPayload(errors=outcome.errors)
        return DirectoryUnlinkPayload(
            deleted_id=strawberry.ID(to_global_id("DirectoryLink", outcome.value.id)),
            errors=[])

