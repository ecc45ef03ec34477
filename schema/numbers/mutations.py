"""Changing the number inventory: adding, editing, deleting, importing, assigning, releasing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from core import number_ranges, numbers
from core.errors import DomainError
from schema.context import Info
from schema.core.errors import user_errors
from schema.core.ids import to_global_id
from schema.core.mutations import Ref, run
from schema.core.node import node_of
from schema.core.uploads import read_upload
from schema.numbers.inputs import (
    NumberAssignInput,
    NumberCreateInput,
    NumberDeleteInput,
    NumberImportInput,
    NumberRangeCreateInput,
    NumberReleaseInput,
    NumberTargetSetInput,
    NumberUpdateInput,
)
from schema.numbers.payloads import (
    NumberAssignPayload,
    NumberCreatePayload,
    NumberDeletePayload,
    NumberImportPayload,
    NumberRangeCreatePayload,
    NumberReleasePayload,
    NumberTargetSetPayload,
    NumberUpdatePayload,
    as_number,
    respond,
)
from schema.numbers.types import NumberNode

if TYPE_CHECKING:
    from schema.jobs.types import JobType

LazyJob = Annotated["JobType", strawberry.lazy("schema.jobs.types")]


def _isp(global_id: strawberry.ID | None) -> Ref:
    return Ref(global_id, "Isp", "ISP", "isp")


def _as_range(created: numbers.CreatedRange) -> dict[str, object]:
    return {"count": created.count, "first": NumberNode.from_row(created.first),
            "last": NumberNode.from_row(created.last)}


@strawberry.type
class NumberMutation:
    @strawberry.mutation(description="Add a number to an ISP's inventory (ISP administrators).")
    async def number_create(self, info: Info, input: NumberCreateInput) -> NumberCreatePayload:
        viewer = info.context.viewer
        return await respond(info, NumberCreatePayload, lambda s, isp_id: numbers.create_number(
            s, viewer, isp_id, input.e164, input.attributes()), as_number, _isp(input.isp))

    @strawberry.mutation(description="Add every number from first to last (at most 10,000), "
                         "or none when any of them is already on the platform (the refusal "
                         "lists only your own; of other ISPs' numbers it says only that some "
                         "exist). At most 30 ranges an hour per ISP (TOO_MANY_ATTEMPTS).")
    async def number_range_create(self, info: Info, input: NumberRangeCreateInput
                                  ) -> NumberRangeCreatePayload:
        viewer = info.context.viewer
        # Counted in a transaction of its own: a refused range counts too.
        counted = await run(info, lambda s, isp_id: number_ranges.count_request(
            s, viewer, isp_id), _isp(input.isp))
        if not counted.ok:
            return NumberRangeCreatePayload(errors=counted.errors)
        return await respond(info, NumberRangeCreatePayload, lambda s, isp_id: numbers.create_range(
            s, viewer, isp_id, input.first, input.last, input.attributes()), _as_range,
            _isp(input.isp))

    @strawberry.mutation(description="Change a number's attributes (its state changes by "
                         "numberAssign and numberRelease).")
    async def number_update(self, info: Info, input: NumberUpdateInput) -> NumberUpdatePayload:
        viewer = info.context.viewer
        return await respond(info, NumberUpdatePayload, lambda s, number_id: numbers.update_number(
            s, viewer, number_id, input.changes()), as_number, Ref(input.id, "Number", "number"))

    @strawberry.mutation(description="Delete an AVAILABLE or QUARANTINE number.")
    async def number_delete(self, info: Info, input: NumberDeleteInput) -> NumberDeletePayload:
        viewer = info.context.viewer
        return await respond(
            info, NumberDeletePayload,
            lambda s, number_id: numbers.delete_number(s, viewer, number_id),
            lambda deleted: {"deleted_id": strawberry.ID(to_global_id("Number", deleted))},
            Ref(input.id, "Number", "number"))

    @strawberry.mutation(description="Import numbers from a CSV file in the background: "
                         "every row, or none when any row is wrong (the refusal names your own "
                         "numbers; of other ISPs' numbers it says only that some exist). At "
                         "most 30 imports an hour per ISP (TOO_MANY_ATTEMPTS).")
    async def number_import(self, info: Info, input: NumberImportInput) -> NumberImportPayload:
        try:
            content = await read_upload(input.file, max_bytes=numbers.MAX_IMPORT_BYTES,
                                        field="file")
        except DomainError as error:
            return NumberImportPayload(errors=user_errors(error))
        viewer = info.context.viewer
        filename = input.file.filename or "numbers.csv"
        return await respond(info, NumberImportPayload, lambda s, isp_id: numbers.start_import(
            s, viewer, isp_id, filename=filename, content=content),
            lambda job: {"job": node_of("Job", job)}, _isp(input.isp))

    @strawberry.mutation(description="Give an AVAILABLE number to a tenant of its ISP; of two "
                         "assignments at once, one wins and the other is told it is gone.")
    async def number_assign(self, info: Info, input: NumberAssignInput) -> NumberAssignPayload:
        viewer = info.context.viewer
        return await respond(
            info, NumberAssignPayload, lambda s, number_id, tenant_id: numbers.assign_number(
                s, viewer, number_id, tenant_id), as_number,
            Ref(input.number, "Number", "number", "number"),
            Ref(input.tenant, "Tenant", "tenant", "tenant"))

    @strawberry.mutation(description="Take a number back from its tenant (ISP or tenant "
                         "administrators): into quarantine for the ISP's quarantine days.")
    async def number_release(self, info: Info, input: NumberReleaseInput
                             ) -> NumberReleasePayload:
        viewer = info.context.viewer
        return await respond(
            info, NumberReleasePayload,
            lambda s, number_id: numbers.release_number(s, viewer, number_id), as_number,
            Ref(input.number, "Number", "number", "number"))

    @strawberry.mutation(description="Send an assigned number's calls to one of its tenant's "
                         "subscribers, or to nobody.")
    async def number_target_set(self, info: Info, input: NumberTargetSetInput
                                ) -> NumberTargetSetPayload:
        viewer = info.context.viewer
        return await respond(
            info, NumberTargetSetPayload, lambda s, number_id, subscriber_id: numbers.set_target(
                s, viewer, number_id, subscriber_id), as_number,
            Ref(input.number, "Number", "number", "number"),
            Ref(input.subscriber, "Subscriber", "subscriber", "subscriber"))
