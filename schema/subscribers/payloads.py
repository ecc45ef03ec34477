"""What the subscriber mutations answer."""

from __future__ import annotations

from collections.abc import Iterable

import strawberry

from core.errors import DomainError, FieldError
from core.subscribers import SavedSubscriber
from schema.core.errors import UserError, user_errors
from schema.subscribers.types import SubscriberType

SHOWN_ONCE = "The generated SIP password, shown this once; null when it was chosen in the input."
WARNINGS = "Saved anyway, but worth a second look (e.g. a single concurrent call)."


def as_user_errors(errors: Iterable[FieldError]) -> list[UserError]:
    found = tuple(errors)
    return user_errors(DomainError(*found)) if found else []


@strawberry.type
class SubscriberCreatePayload:
    subscriber: SubscriberType | None = None
    sip_password: str | None = strawberry.field(default=None, description=SHOWN_ONCE)
    warnings: list[UserError] = strawberry.field(default_factory=list, description=WARNINGS)
    errors: list[UserError]

    @classmethod
    def of(cls, saved: SavedSubscriber) -> SubscriberCreatePayload:
        return cls(subscriber=SubscriberType.from_row(saved.subscriber),
                   sip_password=saved.sip_password, warnings=as_user_errors(saved.warnings),
                   errors=[])


@strawberry.type
class SubscriberUpdatePayload:
    subscriber: SubscriberType | None = None
    warnings: list[UserError] = strawberry.field(default_factory=list, description=WARNINGS)
    errors: list[UserError]


@strawberry.type
class SubscriberDeletePayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError]


@strawberry.type
class SubscriberRevealSipPasswordPayload:
    sip_password: str | None = None
    errors: list[UserError]


@strawberry.type
class SubscriberSipPasswordResetPayload:
    subscriber: SubscriberType | None = None
    sip_password: str | None = strawberry.field(
        default=None, description="The new password, shown this once.")
    errors: list[UserError]


@strawberry.type(description="A subscriber a bulk create made.")
class SubscriberCreated:
    subscriber: SubscriberType
    sip_password: str | None = strawberry.field(description=SHOWN_ONCE)


@strawberry.type
class SubscriberBulkCreatePayload:
    subscribers: list[SubscriberCreated] = strawberry.field(
        default_factory=list, description="In the order of the input.")
    warnings: list[UserError] = strawberry.field(
        default_factory=list, description=f"{WARNINGS} Fields start with subscribers, index.")
    errors: list[UserError]

    @classmethod
    def of(cls, saved: list[SavedSubscriber]) -> SubscriberBulkCreatePayload:
        created = [SubscriberCreated(subscriber=SubscriberType.from_row(item.subscriber),
                                     sip_password=item.sip_password) for item in saved]
        warnings = as_user_errors(warning for item in saved for warning in item.warnings)
        return cls(subscribers=created, warnings=warnings, errors=[])


@strawberry.type
class SubscriberBulkUpdatePayload:
    subscribers: list[SubscriberType] = strawberry.field(
        default_factory=list, description="In the order of the input.")
    warnings: list[UserError] = strawberry.field(
        default_factory=list, description=f"{WARNINGS} Fields start with subscribers, index.")
    errors: list[UserError]

    @classmethod
    def of(cls, saved: list[SavedSubscriber]) -> SubscriberBulkUpdatePayload:
        return cls(subscribers=[SubscriberType.from_row(item.subscriber) for item in saved],
                   warnings=as_user_errors(warning for item in saved
                                           for warning in item.warnings), errors=[])
