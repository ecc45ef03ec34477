"""What the number mutations take, and how it becomes the arguments of core rules."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import strawberry
from strawberry.file_uploads import Upload

from core.numbers import ATTRIBUTES, NumberAttributes
from schema.numbers.types import SMS_HELP, NumberTypeEnum


@strawberry.input
class NumberAttributesInput:
    source: str = strawberry.field(default="", description="Where the number comes from, "
                                   "e.g. the carrier account it was allocated from.")
    number_type: NumberTypeEnum | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Left out: toll-free or local as the numbering plan says.")
    price: Decimal = strawberry.field(default=Decimal("0"),
                                      description="Charged monthly to the tenant holding it.")
    vendor_price: Decimal = strawberry.field(default=Decimal("0"),
                                             description="What the ISP pays for it monthly.")
    voice: bool = True
    sms: bool = strawberry.field(default=False, description=SMS_HELP)

    def attributes(self) -> NumberAttributes:
        return NumberAttributes(**{name: getattr(self, name) for name in ATTRIBUTES})


@strawberry.input
class NumberCreateInput(NumberAttributesInput):
    e164: str = strawberry.field(description="E.164 with +, e.g. +12095550100.")
    isp: strawberry.ID | None = strawberry.field(
        default=None, description="Needed only when you administer several ISPs.")


@strawberry.input
class NumberRangeCreateInput(NumberAttributesInput):
    first: str = strawberry.field(description="E.164 with +, e.g. +12095550100.")
    last: str = strawberry.field(description="As long as first, with the same country code; "
                                 "at most 10,000 numbers in all.")
    isp: strawberry.ID | None = None


@strawberry.input(description="Fields left out, or null, keep their value.")
class NumberUpdateInput:
    id: strawberry.ID
    source: str | None = strawberry.UNSET
    number_type: NumberTypeEnum | None = strawberry.UNSET  # type: ignore[valid-type]
    price: Decimal | None = strawberry.UNSET
    vendor_price: Decimal | None = strawberry.UNSET
    voice: bool | None = strawberry.UNSET
    sms: bool | None = strawberry.field(default=strawberry.UNSET, description=SMS_HELP)

    def changes(self) -> dict[str, Any]:
        given = {name: getattr(self, name) for name in ATTRIBUTES}
        return {name: value for name, value in given.items()
                if value is not strawberry.UNSET and value is not None}


@strawberry.input
class NumberDeleteInput:
    id: strawberry.ID


@strawberry.input
class NumberImportInput:
    file: Upload = strawberry.field(description="CSV with a header line; see numberImportTemplate.")
    isp: strawberry.ID | None = None


@strawberry.input
class NumberAssignInput:
    number: strawberry.ID
    tenant: strawberry.ID


@strawberry.input
class NumberReleaseInput:
    number: strawberry.ID


@strawberry.input
class NumberTargetSetInput:
    number: strawberry.ID
    subscriber: strawberry.ID | None = strawberry.field(
        default=None, description="A subscriber of the tenant holding the number; null: none.")
