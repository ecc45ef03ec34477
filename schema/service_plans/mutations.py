"""Changing service plans and their decks, and importing rate decks from CSV."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.file_uploads import Upload

from core import service_plans
from core.errors import DomainError
from core.models import RateDeckEntry, ServiceDeckEntry
from core.service_plans import MAX_RATE_DECK_BYTES, DeckEntry, ImportMode
from schema.context import Info
from schema.core.errors import UserError, user_errors
from schema.core.mutations import Outcome, Ref, given_fields, run
from schema.core.node import node_of
from schema.core.uploads import read_upload
from schema.service_plans.types import (
    RateDeckEntryType,
    ServiceDeckEntryType,
    ServiceEnum,
    ServicePlanType,
)

if TYPE_CHECKING:
    from schema.jobs.types import JobType

LazyJob = Annotated["JobType", strawberry.lazy("schema.jobs.types")]


ImportModeEnum = strawberry.enum(
    ImportMode, name="RateDeckImportMode",
    description="REPLACE: the file becomes the whole rate deck. MERGE: the file's prefixes are "
                "added or updated, the others stay.")


# Plans ---------------------------------------------------------------------------------------


@strawberry.input
class ServicePlanCreateInput:
    name: str
    isp: strawberry.ID | None = strawberry.field(
        default=None, description="Needed only if you administer several ISPs.")
    monthly_price_per_subscriber: Decimal = Decimal("0")
    monthly_price_per_did: Decimal = Decimal("0")
    invoice_cutoff_day: int = strawberry.field(default=1, description="Day of the month, 1-28.")
    currency: str | None = strawberry.field(
        default=None, description="ISO 4217 code; the ISP's currency when left out.")
    prepaid: bool = False


@strawberry.input(description="Fields left out or null stay as they are.")
class ServicePlanUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    monthly_price_per_subscriber: Decimal | None = strawberry.UNSET
    monthly_price_per_did: Decimal | None = strawberry.UNSET
    invoice_cutoff_day: int | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    prepaid: bool | None = strawberry.UNSET


@strawberry.input
class ServicePlanDeleteInput:
    id: strawberry.ID


@strawberry.type
class ServicePlanPayload:
    service_plan: ServicePlanType | None = None
    errors: list[UserError]


@strawberry.type
class ServicePlanDeletePayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError]


# Deck entries --------------------------------------------------------------------------------


@strawberry.input
class DeckTermsInput:
    rate_per_minute: Decimal = strawberry.field(description="At most 4 decimal places.")
    valid_from: dt.datetime | None = strawberry.field(default=None,
                                                      description="Null: from now.")
    valid_to: dt.datetime | None = strawberry.field(default=None, description="Null: open-ended.")
    minimum_duration: int = strawberry.field(default=0, description="Seconds.")
    increment: int = strawberry.field(default=1, description="Seconds, at least 1.")
    delay: int = strawberry.field(default=0, description="Seconds not billed at all.")


@strawberry.input(description="Fields left out or null stay as they are; validTo: null makes "
                  "the entry open-ended.")
class DeckTermsUpdateInput:
    id: strawberry.ID
    rate_per_minute: Decimal | None = strawberry.UNSET
    valid_from: dt.datetime | None = strawberry.UNSET
    valid_to: dt.datetime | None = strawberry.UNSET
    minimum_duration: int | None = strawberry.UNSET
    increment: int | None = strawberry.UNSET
    delay: int | None = strawberry.UNSET


@strawberry.input
class ServiceDeckEntryCreateInput(DeckTermsInput):
    service_plan: strawberry.ID
    service: ServiceEnum  # type: ignore[valid-type]


@strawberry.input
class ServiceDeckEntryUpdateInput(DeckTermsUpdateInput):
    service: ServiceEnum | None = strawberry.UNSET  # type: ignore[valid-type]


@strawberry.input
class RateDeckEntryCreateInput(DeckTermsInput):
    service_plan: strawberry.ID
    prefix: str = strawberry.field(description="+ and 1-15 digits; one entry per prefix.")
    description: str = ""


@strawberry.input
class RateDeckEntryUpdateInput(DeckTermsUpdateInput):
    prefix: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET


@strawberry.input
class DeckEntryDeleteInput:
    id: strawberry.ID


@strawberry.type
class ServiceDeckEntryPayload:
    service_deck_entry: ServiceDeckEntryType | None = None
    errors: list[UserError]


@strawberry.type
class RateDeckEntryPayload:
    rate_deck_entry: RateDeckEntryType | None = None
    errors: list[UserError]


@strawberry.type
class DeckEntryDeletePayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError]


async def _create_entry(info: Info, model: type[DeckEntry], input: Any) -> Outcome[Any]:
    viewer = info.context.viewer
    values = given_fields(input, skip=("service_plan",))
    return await run(
        info, lambda s, plan_id: service_plans.create_deck_entry(s, viewer, model, plan_id, values),
        Ref(input.service_plan, "ServicePlan", "service plan", "service_plan"))


async def _update_entry(info: Info, model: type[DeckEntry], input: Any) -> Outcome[Any]:
    viewer = info.context.viewer
    changes = given_fields(input, clearable=("valid_to",))
    return await run(
        info, lambda s, entry_id: service_plans.update_deck_entry(
            s, viewer, model, entry_id, changes),
        Ref(input.id, model.__name__, service_plans.deck_label(model)))


async def _delete_entry(info: Info, model: type[DeckEntry],
                        input: DeckEntryDeleteInput) -> DeckEntryDeletePayload:
    viewer = info.context.viewer
    outcome = await run(
        info, lambda s, entry_id: service_plans.delete_deck_entry(s, viewer, model, entry_id),
        Ref(input.id, model.__name__, service_plans.deck_label(model)))
    return DeckEntryDeletePayload(deleted_id=input.id if outcome.ok else None,
                                  errors=outcome.errors)


def _service_entry(outcome: Outcome[Any]) -> ServiceDeckEntryPayload:
    entry = ServiceDeckEntryType.from_row(outcome.value) if outcome.ok else None
    return ServiceDeckEntryPayload(service_deck_entry=entry, errors=outcome.errors)


def _rate_entry(outcome: Outcome[Any]) -> RateDeckEntryPayload:
    entry = RateDeckEntryType.from_row(outcome.value) if outcome.ok else None
    return RateDeckEntryPayload(rate_deck_entry=entry, errors=outcome.errors)


# Rate deck import ----------------------------------------------------------------------------


@strawberry.input
class RateDeckImportInput:
    service_plan: strawberry.ID
    file: Upload = strawberry.field(description="A CSV file shaped like rateDeckTemplate "
                                    f"(multipart upload, at most {MAX_RATE_DECK_BYTES >> 20} MiB, "
                                    f"{service_plans.MAX_RATE_DECK_ROWS} rows).")
    mode: ImportModeEnum = ImportMode.REPLACE  # type: ignore[valid-type]


@strawberry.type
class RateDeckImportPayload:
    job: LazyJob | None = strawberry.field(
        default=None, description="Follow it until it ends: a file with mistakes fails with "
        "errorCode INVALID_FILE and one detail per bad line, and nothing is imported.")
    errors: list[UserError]


# The mutations -------------------------------------------------------------------------------


def _plan_payload(outcome: Outcome[Any]) -> ServicePlanPayload:
    plan = ServicePlanType.from_row(outcome.value) if outcome.ok else None
    return ServicePlanPayload(service_plan=plan, errors=outcome.errors)


@strawberry.type
class ServicePlanMutation:
    @strawberry.mutation(description="Create a service plan.")
    async def service_plan_create(self, info: Info, input: ServicePlanCreateInput
                                  ) -> ServicePlanPayload:
        viewer = info.context.viewer
        values = given_fields(input, skip=("isp",))
        return _plan_payload(await run(
            info, lambda s, isp_id: service_plans.create_plan(s, viewer, isp_id, values),
            Ref(input.isp, "Isp", "ISP", "isp")))

    @strawberry.mutation(description="Change a service plan.")
    async def service_plan_update(self, info: Info, input: ServicePlanUpdateInput
                                  ) -> ServicePlanPayload:
        viewer = info.context.viewer
        changes = given_fields(input)
        return _plan_payload(await run(
            info, lambda s, plan_id: service_plans.update_plan(s, viewer, plan_id, changes),
            Ref(input.id, "ServicePlan", "service plan")))

    @strawberry.mutation(description="Delete a service plan and its decks; refused while "
                         "customers are billed under it.")
    async def service_plan_delete(self, info: Info, input: ServicePlanDeleteInput
                                  ) -> ServicePlanDeletePayload:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, plan_id: service_plans.delete_plan(s, viewer, plan_id),
            Ref(input.id, "ServicePlan", "service plan"))
        return ServicePlanDeletePayload(deleted_id=input.id if outcome.ok else None,
                                        errors=outcome.errors)

    @strawberry.mutation(description="Add a rate for one service to a plan's service deck.")
    async def service_deck_entry_create(self, info: Info, input: ServiceDeckEntryCreateInput
                                        ) -> ServiceDeckEntryPayload:
        return _service_entry(await _create_entry(info, ServiceDeckEntry, input))

    @strawberry.mutation(description="Change a service deck entry.")
    async def service_deck_entry_update(self, info: Info, input: ServiceDeckEntryUpdateInput
                                        ) -> ServiceDeckEntryPayload:
        return _service_entry(await _update_entry(info, ServiceDeckEntry, input))

    @strawberry.mutation(description="Remove a service deck entry.")
    async def service_deck_entry_delete(self, info: Info, input: DeckEntryDeleteInput
                                        ) -> DeckEntryDeletePayload:
        return await _delete_entry(info, ServiceDeckEntry, input)

    @strawberry.mutation(description="Add a rate for one destination prefix to a plan's "
                         "rate deck.")
    async def rate_deck_entry_create(self, info: Info, input: RateDeckEntryCreateInput
                                     ) -> RateDeckEntryPayload:
        return _rate_entry(await _create_entry(info, RateDeckEntry, input))

    @strawberry.mutation(description="Change a rate deck entry.")
    async def rate_deck_entry_update(self, info: Info, input: RateDeckEntryUpdateInput
                                     ) -> RateDeckEntryPayload:
        return _rate_entry(await _update_entry(info, RateDeckEntry, input))

    @strawberry.mutation(description="Remove a rate deck entry.")
    async def rate_deck_entry_delete(self, info: Info, input: DeckEntryDeleteInput
                                     ) -> DeckEntryDeletePayload:
        return await _delete_entry(info, RateDeckEntry, input)

    @strawberry.mutation(description="Import a plan's rate deck from a CSV file (see "
                         "rateDeckTemplate). Returns the job that checks and imports it.")
    async def rate_deck_import(self, info: Info, input: RateDeckImportInput
                               ) -> RateDeckImportPayload:
        viewer = info.context.viewer
        try:
            content = await read_upload(input.file, max_bytes=MAX_RATE_DECK_BYTES, field="file")
        except DomainError as error:
            return RateDeckImportPayload(errors=user_errors(error))
        filename = input.file.filename or "rate-deck.csv"
        outcome = await run(
            info, lambda s, plan_id: service_plans.start_rate_deck_import(
                s, viewer, plan_id, filename=filename, content=content, mode=input.mode),
            Ref(input.service_plan, "ServicePlan", "service plan", "service_plan"))
        job = node_of("Job", outcome.value.job) if outcome.ok else None
        return RateDeckImportPayload(job=job, errors=outcome.errors)
