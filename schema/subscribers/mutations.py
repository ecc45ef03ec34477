"""Creating, changing and deleting subscribers, one at a time or in bulk, and their passwords."""

from __future__ import annotations

import strawberry

from core import subscribers
from schema.context import Info
from schema.core.errors import FieldPaths
from schema.core.ids import id_of, to_global_id
from schema.core.mutations import Ref, run
from schema.subscribers.inputs import (
    SubscriberBulkCreateInput,
    SubscriberBulkUpdateInput,
    SubscriberCreateInput,
    SubscriberIdInput,
    SubscriberUpdateInput,
    subscriber_fields,
)
from schema.subscribers.payloads import (
    SubscriberBulkCreatePayload,
    SubscriberBulkUpdatePayload,
    SubscriberCreatePayload,
    SubscriberDeletePayload,
    SubscriberRevealSipPasswordPayload,
    SubscriberSipPasswordResetPayload,
    SubscriberUpdatePayload,
    as_user_errors,
)
from schema.subscribers.types import SubscriberType

# The tenant is looked up as "id" by the rule shared with every tenant's objects; the
# customer's maximum concerns the input as a whole.
_CREATE_PATHS: FieldPaths = {("id",): ("tenant",), ("customer",): ()}


@strawberry.type
class SubscriberMutation:
    @strawberry.mutation(description="Create a subscriber (tenant and ISP administrators).")
    async def subscriber_create(self, info: Info, input: SubscriberCreateInput
                                ) -> SubscriberCreatePayload:
        context = info.context
        outcome = await run(
            info, lambda s, tenant_id: subscribers.create_subscriber(
                s, context.settings, context.viewer, tenant_id, subscriber_fields(input)),
            Ref(input.tenant, "Tenant", "tenant", "tenant"), paths=_CREATE_PATHS)
        if not outcome.ok or outcome.value is None:
            return SubscriberCreatePayload(errors=outcome.errors)
        return SubscriberCreatePayload.of(outcome.value)

    @strawberry.mutation(description="Change a subscriber.")
    async def subscriber_update(self, info: Info, input: SubscriberUpdateInput
                                ) -> SubscriberUpdatePayload:
        context = info.context
        outcome = await run(
            info, lambda s, subscriber_id: subscribers.update_subscriber(
                s, context.settings, context.viewer, subscriber_id, subscriber_fields(input)),
            Ref(input.id, "Subscriber", "subscriber"))
        if not outcome.ok or outcome.value is None:
            return SubscriberUpdatePayload(errors=outcome.errors)
        return SubscriberUpdatePayload(
            subscriber=SubscriberType.from_row(outcome.value.subscriber),
            warnings=as_user_errors(outcome.value.warnings), errors=[])

    @strawberry.mutation(description="Delete a subscriber; numbers pointing at it keep no "
                         "target.")
    async def subscriber_delete(self, info: Info, input: SubscriberIdInput
                                ) -> SubscriberDeletePayload:
        viewer = info.context.viewer
        outcome = await run(
            info, lambda s, subscriber_id: subscribers.delete_subscriber(s, viewer, subscriber_id),
            Ref(input.id, "Subscriber", "subscriber"))
        if not outcome.ok or outcome.value is None:
            return SubscriberDeletePayload(errors=outcome.errors)
        return SubscriberDeletePayload(
            deleted_id=strawberry.ID(to_global_id("Subscriber", outcome.value)), errors=[])

    @strawberry.mutation(description="Show a subscriber's SIP password (tenant and ISP "
                         "administrators); every reveal is in the audit log.")
    async def subscriber_reveal_sip_password(self, info: Info, input: SubscriberIdInput
                                             ) -> SubscriberRevealSipPasswordPayload:
        context = info.context
        outcome = await run(
            info, lambda s, subscriber_id: subscribers.reveal_sip_password(
                s, context.settings, context.viewer, subscriber_id),
            Ref(input.id, "Subscriber", "subscriber"))
        return SubscriberRevealSipPasswordPayload(sip_password=outcome.value,
                                                  errors=outcome.errors)

    @strawberry.mutation(description="Give a subscriber a new generated SIP password, shown "
                         "once; its phones must be provisioned again.")
    async def subscriber_sip_password_reset(self, info: Info, input: SubscriberIdInput
                                            ) -> SubscriberSipPasswordResetPayload:
        context = info.context
        outcome = await run(
            info, lambda s, subscriber_id: subscribers.reset_sip_password(
                s, context.settings, context.viewer, subscriber_id),
            Ref(input.id, "Subscriber", "subscriber"))
        if not outcome.ok or outcome.value is None:
            return SubscriberSipPasswordResetPayload(errors=outcome.errors)
        return SubscriberSipPasswordResetPayload(
            subscriber=SubscriberType.from_row(outcome.value.subscriber),
            sip_password=outcome.value.sip_password, errors=[])

    @strawberry.mutation(description="Create up to 1000 subscribers in a tenant: all of them, "
                         "or none when any is wrong (errors name subscribers, index, field).")
    async def subscriber_bulk_create(self, info: Info, input: SubscriberBulkCreateInput
                                     ) -> SubscriberBulkCreatePayload:
        context = info.context
        outcome = await run(
            info, lambda s, tenant_id: subscribers.create_subscribers(
                s, context.settings, context.viewer, tenant_id,
                [subscriber_fields(item) for item in input.subscribers]),
            Ref(input.tenant, "Tenant", "tenant", "tenant"), paths=_CREATE_PATHS)
        if not outcome.ok or outcome.value is None:
            return SubscriberBulkCreatePayload(errors=outcome.errors)
        return SubscriberBulkCreatePayload.of(outcome.value)

    @strawberry.mutation(description="Change up to 1000 subscribers: all of them, or none when "
                         "any change is wrong (errors name subscribers, index, field).")
    async def subscriber_bulk_update(self, info: Info, input: SubscriberBulkUpdateInput
                                     ) -> SubscriberBulkUpdatePayload:
        context = info.context
        outcome = await run(info, lambda s: subscribers.update_subscribers(
            s, context.settings, context.viewer,
            [(id_of(item.id, "Subscriber"), subscriber_fields(item))
             for item in input.subscribers]))
        if not outcome.ok or outcome.value is None:
            return SubscriberBulkUpdatePayload(errors=outcome.errors)
        return SubscriberBulkUpdatePayload.of(outcome.value)
