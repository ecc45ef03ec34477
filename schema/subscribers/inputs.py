"""What the subscriber mutations take, and how it becomes the core's SubscriberFields."""

from __future__ import annotations

import strawberry

from core.subscribers import FORWARDS, MAX_BATCH, SubscriberFields
from schema.core.mutations import Ref, given_fields
from schema.core.not_applied import not_applied
from schema.subscribers.types import SubscriberStatusEnum

AS_DIALLED = ("As the user would dial it (e.g. 8581, 2095550123 or +442071234567): another "
              "extension of the tenant, or a number the tenant's dial plan makes E.164 "
              "(out through the tenant's carrier, with the caller's identity and a "
              "Diversion header; international only where the security group opens it).")


@strawberry.input(description="A subscriber's fields; those left out take the defaults noted.")
class SubscriberFieldsInput:
    username: str = strawberry.field(description="Lower case letters, digits, . _ - +; unique "
                                     "in the tenant.")
    email: str | None = None
    display_name: str | None = None
    sip_password: str | None = strawberry.field(
        default=None, description="Left out: a strong one is generated and shown once.")
    pin: str | None = strawberry.field(default=None, description="4 to 12 digits.")
    country_code: str | None = strawberry.field(default=None,
                                                description="Left out: the tenant's default.")
    area_code: str | None = strawberry.field(default=None,
                                             description="Left out: the tenant's default.")
    voicemail_to_email: bool | None = strawberry.field(default=None, description=not_applied())
    caller_id: str | None = strawberry.field(default=None,
                                             description="One of the tenant's numbers, E.164.")
    alias: str | None = strawberry.field(
        default=None, description="The extension number: 2 to 8 digits, unique in the tenant, "
        "and not matched by a rule of the tenant's dial plan.")
    security_group: strawberry.ID | None = strawberry.field(
        default=None, description="Left out: none, so international calls are closed.")
    concurrent_calls: int | None = strawberry.field(
        default=None, description="At least 1; at least 2 are advised (default 2).")
    ring_timeout: int | None = strawberry.field(default=None,
                                                description="Seconds, 1 to 600 (default 20).")
    call_group: int | None = strawberry.field(default=None, description=not_applied("0 to 63."))
    pickup_group: int | None = strawberry.field(default=None,
                                                description=not_applied("0 to 63."))
    forward_unconditional: str | None = strawberry.field(default=None, description=AS_DIALLED)
    forward_busy: str | None = strawberry.field(default=None, description=AS_DIALLED)
    forward_no_answer: str | None = strawberry.field(default=None, description=AS_DIALLED)
    status: SubscriberStatusEnum | None = None  # type: ignore[valid-type]


@strawberry.input
class SubscriberCreateInput(SubscriberFieldsInput):
    tenant: strawberry.ID


@strawberry.input(description="Fields left out stay as they are; null empties the optional "
                  "ones (pin, callerId, alias, securityGroup, callGroup, pickupGroup, forwards) "
                  "and leaves the others as they are.")
class SubscriberUpdateInput:
    id: strawberry.ID
    username: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    display_name: str | None = strawberry.UNSET
    sip_password: str | None = strawberry.UNSET
    pin: str | None = strawberry.UNSET
    country_code: str | None = strawberry.UNSET
    area_code: str | None = strawberry.UNSET
    voicemail_to_email: bool | None = strawberry.field(default=strawberry.UNSET,
                                                       description=not_applied())
    caller_id: str | None = strawberry.UNSET
    alias: str | None = strawberry.UNSET
    security_group: strawberry.ID | None = strawberry.UNSET
    concurrent_calls: int | None = strawberry.UNSET
    ring_timeout: int | None = strawberry.UNSET
    call_group: int | None = strawberry.field(default=strawberry.UNSET,
                                              description=not_applied())
    pickup_group: int | None = strawberry.field(default=strawberry.UNSET,
                                                description=not_applied())
    forward_unconditional: str | None = strawberry.UNSET
    forward_busy: str | None = strawberry.UNSET
    forward_no_answer: str | None = strawberry.UNSET
    status: SubscriberStatusEnum | None = strawberry.UNSET  # type: ignore[valid-type]


@strawberry.input
class SubscriberBulkCreateInput:
    tenant: strawberry.ID
    subscribers: list[SubscriberFieldsInput] = strawberry.field(
        description=f"At most {MAX_BATCH}; all are created, or none.")


@strawberry.input
class SubscriberBulkUpdateInput:
    subscribers: list[SubscriberUpdateInput] = strawberry.field(
        description=f"At most {MAX_BATCH}; all are changed, or none.")


@strawberry.input
class SubscriberIdInput:
    id: strawberry.ID


# Where null, in an update, empties the value.
_CLEARABLE = ("pin", "caller_id", "alias", "security_group", "call_group", "pickup_group",
              *FORWARDS)


def subscriber_fields(input: object) -> SubscriberFields:
    """The core's view of an input: references decoded, nulls to clear listed."""
    fields = SubscriberFields()
    for name, value in given_fields(input, clearable=_CLEARABLE, skip=("id", "tenant")).items():
        core_name = "security_group_id" if name == "security_group" else name
        if value is None:
            fields.clear.add(core_name)
        elif name == "security_group":
            fields.security_group_id = Ref(value, "SecurityGroup", "security group",
                                           "security_group").lookup_id()
        else:
            setattr(fields, core_name, value)
    return fields
