"""The ISP's number inventory: adding numbers, their lifecycle, CSV imports, the summary.

    AVAILABLE --assign--> ASSIGNED --release--> QUARANTINE --expiry--> AVAILABLE

An assigned number belongs to a tenant, which may point it at one of its
subscribers (the target). A released number rests for the ISP's
``number_quarantine_days`` (not at all when 0), so that calls meant for its last
holder do not reach the next one. Every change of state is one conditional
UPDATE: of two people assigning the same number at once, exactly one succeeds
and the other is told it is gone.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberType, ValidationResult
from sqlalchemy import ColumnElement, delete, func, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core import audit, number_ranges, scoping, stored_files
from core.caller_ids import numbers_left_tenant
from core.csv_files import LineErrors, read_rows, write_csv
from core.errors import DomainError, ErrorCode, ErrorCollector, not_found
from core.jobs import JobSpec, enqueue, register_kind
from core.models import (
    Administrator,
    Isp,
    Job,
    Number,
    NumberState,
    NumberType,
    StoredFile,
    Subscriber,
    Tenant,
    utcnow,
)
from core.models.base import MONEY_DIGITS, MONEY_PLACES
from core.ownership import managed_isp, require_manager
from core.validation import bounded_text
from core.viewer import ANONYMOUS, Viewer

MAX_RANGE = 10_000
SOURCE_MAX_LENGTH = 200
# Numbers already on the platform named in an error; the rest are counted.
LISTED_CONFLICTS = 5
# Rows per INSERT batch (and per progress report) and per IN (...) lookup.
CHUNK = 1_000

Progress = Callable[[int, int], None]


def _invalid(message: str, *field: str) -> DomainError:
    return DomainError.single(ErrorCode.INVALID, message, *field)


# E.164 numbers --------------------------------------------------------------------------------

# What people paste: digits after an optional +, grouped with spaces, dashes, dots or brackets.
_PHONE_TEXT = re.compile(r"\+?[0-9 ().\-]*[0-9][0-9 ().\-]*")
_PREFIX = re.compile(r"\+?[0-9]{1,15}")

_PARSE_PROBLEMS = {
    NumberParseException.INVALID_COUNTRY_CODE: "the digits after + are not a country calling code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short to be a phone number",
    NumberParseException.TOO_SHORT_NSN: "too short to be a phone number",
    NumberParseException.TOO_LONG: "too long to be a phone number",
}
_LENGTH_PROBLEMS = {
    ValidationResult.INVALID_COUNTRY_CODE: "+{code} is not a country calling code",
    ValidationResult.TOO_SHORT: "too short for a number of country code +{code}",
    ValidationResult.TOO_LONG: "too long for a number of country code +{code}",
    ValidationResult.INVALID_LENGTH: "not a valid length for a number of country code +{code}",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "a local number: add the area code",
}


def parse_e164(value: str, field: tuple[str, ...]) -> PhoneNumber:
    """The number ``value`` writes in E.164 form, or INVALID saying why it is not one."""
    text = value.strip()
    if not _PHONE_TEXT.fullmatch(text):
        raise _invalid("not a phone number: write + and the digits", *field)
    if not text.startswith("+"):
        raise _invalid("missing the +: write the number in E.164 form, starting with + and "
                       "the country code", *field)
    try:
        number = phonenumbers.parse(text, None)
    except NumberParseException as error:
        problem = _PARSE_PROBLEMS.get(error.error_type, "not a phone number")
        raise _invalid(problem, *field) from None
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != ValidationResult.IS_POSSIBLE:
        problem = _LENGTH_PROBLEMS.get(possible, "not a possible number of country code +{code}")
        raise _invalid(problem.format(code=number.country_code), *field)
    if not phonenumbers.is_valid_number(number):
        raise _invalid(f"not a valid number in the numbering plan of +{number.country_code}",
                       *field)
    return number


def e164_of(number: PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def type_of(number: PhoneNumber) -> NumberType:
    toll_free = phonenumbers.number_type(number) == PhoneNumberType.TOLL_FREE
    return NumberType.TOLL_FREE if toll_free else NumberType.LOCAL


def prefix_pattern(prefix: str) -> str:
    """The LIKE pattern of the numbers that start with ``prefix`` (digits, optionally after +).

    Only digits get through, so the pattern holds no wildcard but its own final %.
    """
    text = prefix.strip()
    if not _PREFIX.fullmatch(text):
        raise _invalid("write the prefix as digits, optionally after +", "prefix")
    return f"+{text.removeprefix('+')}%"


# What an ISP records about a number -------------------------------------------------------

_MONEY_STEP = Decimal(1).scaleb(-MONEY_PLACES)
_MONEY_LIMIT = 10 ** (MONEY_DIGITS - MONEY_PLACES)


@dataclass(frozen=True)
class NumberAttributes:
    source: str = ""
    # None: toll-free or local as the numbering plan says.
    number_type: NumberType | None = None
    price: Decimal = Decimal("0")
    vendor_price: Decimal = Decimal("0")
    voice: bool = True
    sms: bool = False


ATTRIBUTES = tuple(item.name for item in fields(NumberAttributes))


def attributes_of(number: Number) -> NumberAttributes:
    return NumberAttributes(**{name: getattr(number, name) for name in ATTRIBUTES})


def money(value: Decimal, field: tuple[str, ...]) -> Decimal:
    """A monthly amount as the column keeps it: zero or more, at most MONEY_PLACES places."""
    if not value.is_finite() or value < 0:
        raise _invalid("use an amount of zero or more", *field)
    if value >= _MONEY_LIMIT:
        raise _invalid(f"use an amount below {_MONEY_LIMIT:,}", *field)
    if value != value.quantize(_MONEY_STEP):
        raise _invalid(f"use at most {MONEY_PLACES} decimal places", *field)
    return value.quantize(_MONEY_STEP)


def checked_attributes(attributes: NumberAttributes) -> NumberAttributes:
    """The attributes cleaned up; every mistake is reported at once."""
    collector = ErrorCollector()
    source = collector.check(bounded_text, attributes.source, ("source",),
                             max_length=SOURCE_MAX_LENGTH)
    price = collector.check(money, attributes.price, ("price",))
    vendor_price = collector.check(money, attributes.vendor_price, ("vendor_price",))
    collector.raise_if_any()
    assert source is not None
    assert price is not None
    assert vendor_price is not None
    return replace(attributes, source=source, price=price, vendor_price=vendor_price)


def _typed(attributes: NumberAttributes, number: PhoneNumber) -> NumberAttributes:
    return replace(attributes, number_type=attributes.number_type or type_of(number))


# Adding, changing and deleting numbers ------------------------------------------------------


def _new_row(isp_id: uuid.UUID, e164: str, attributes: NumberAttributes,
             now: dt.datetime) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "isp_id": isp_id, "e164": e164, **asdict(attributes),
            "state": NumberState.AVAILABLE, "created_at": now, "updated_at": now}


def _insert(session: Session, isp_id: uuid.UUID,
            numbers: Sequence[tuple[str, NumberAttributes]], report: Progress | None = None
            ) -> None:
    """Insert new AVAILABLE numbers in batches (one statement per batch, not per row)."""
    now = utcnow()
    for start in range(0, len(numbers), CHUNK):
        batch = numbers[start:start + CHUNK]
        session.execute(insert(Number), [_new_row(isp_id, e164, attributes, now)
                                         for e164, attributes in batch])
        if report is not None:
            report(start + len(batch), len(numbers))


def _already_on_platform(numbers: list[str], more: bool, field: str) -> DomainError:
    listed = ", ".join(numbers) + (" and more" if more else "")
    # Numbers are unique platform-wide: the owner, maybe another ISP, is not named.
    return DomainError.single(ErrorCode.ALREADY_EXISTS, f"already on the platform: {listed}",
                              field)


def create_number(session: Session, viewer: Viewer, isp_id: uuid.UUID | None, e164: str,
                  attributes: NumberAttributes) -> Number:
    """Add one number to the inventory of an ISP the viewer administers."""
    isp = managed_isp(session, viewer, isp_id)
    collector = ErrorCollector()
    number = collector.check(parse_e164, e164, ("e164",))
    checked = collector.check(checked_attributes, attributes)
    collector.raise_if_any()
    assert number is not None
    assert checked is not None
    attributes = checked
    text = e164_of(number)
    row = Number(**_new_row(isp.id, text, _typed(attributes, number), utcnow()))
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # The row is fully checked, so the one constraint it can break is e164's uniqueness.
        raise _already_on_platform([text], False, "e164") from None
    audit.record(session, viewer, action="number.create", object_type="Number",
                 object_id=row.id, isp_id=isp.id, changes={"e164": text, **asdict(attributes)})
    return row


@dataclass(frozen=True)
class CreatedRange:
    count: int
    first: Number
    last: Number


def _range(first: str, last: str) -> tuple[PhoneNumber, list[str]]:
    """The first number, and every number from it to ``last`` (same country code and length)."""
    start, end = parse_e164(first, ("first",)), parse_e164(last, ("last",))
    first, last = e164_of(start), e164_of(end)
    if start.country_code != end.country_code or len(first) != len(last):
        raise _invalid("first and last must have the same country code and length", "last")
    low, high, width = int(first[1:]), int(last[1:]), len(first) - 1
    if high < low:
        raise _invalid("last must not come before first", "last")
    if high - low + 1 > MAX_RANGE:
        raise DomainError.single(ErrorCode.TOO_LARGE, f"a range holds at most {MAX_RANGE:,} "
                                 f"numbers; this one has {high - low + 1:,}", "last")
    return start, [f"+{value:0{width}d}" for value in range(low, high + 1)]


def create_range(session: Session, viewer: Viewer, isp_id: uuid.UUID | None, first: str,
                 last: str, attributes: NumberAttributes) -> CreatedRange:
    """Add every number from first to last (at most MAX_RANGE), or none of them."""
    isp = managed_isp(session, viewer, isp_id)
    collector = ErrorCollector()
    checked_range = collector.check(_range, first, last)
    checked = collector.check(checked_attributes, attributes)
    collector.raise_if_any()
    assert checked_range is not None
    assert checked is not None
    attributes = checked
    start, numbers = checked_range
    attributes = _typed(attributes, start)
    # The refusal names no other ISP's numbers (core.number_ranges).
    if (refusal := number_ranges.conflict(session, isp.id, numbers[0], numbers[-1])):
        raise refusal
    try:
        with session.begin_nested():
            _insert(session, isp.id, [(e164, attributes) for e164 in numbers])
    except IntegrityError:
        # Someone added numbers of the range since the check above.
        raise (number_ranges.conflict(session, isp.id, numbers[0], numbers[-1])
               or DomainError.single(ErrorCode.ALREADY_EXISTS, "numbers of the range were "
                                     "added meanwhile; try again", "first")) from None
    audit.record(session, viewer, action="number.range_create", object_type="Isp",
                 object_id=isp.id, isp_id=isp.id,
                 changes={"first": numbers[0], "last": numbers[-1], "count": len(numbers),
                          **asdict(attributes)})
    ends = {row.e164: row for row in session.exec(
        select(Number).where(col(Number.e164).in_([numbers[0], numbers[-1]])))}
    return CreatedRange(count=len(numbers), first=ends[numbers[0]], last=ends[numbers[-1]])


def _visible_number(session: Session, viewer: Viewer, number_id: uuid.UUID | None,
                    field: str) -> Number:
    number = scoping.get_visible(session, viewer, Number, number_id)
    if number is None:
        raise not_found("number", field)
    return number


def _managed_number(session: Session, viewer: Viewer, number_id: uuid.UUID | None,
                    field: str) -> Number:
    """A number of an ISP the viewer administers (tenants see theirs but cannot change them)."""
    number = _visible_number(session, viewer, number_id, field)
    require_manager(viewer, number.isp_id)
    return number


def update_number(session: Session, viewer: Viewer, number_id: uuid.UUID | None,
                  changes: dict[str, Any]) -> Number:
    """Change a number's attributes; its state changes only by assigning and releasing."""
    number = _managed_number(session, viewer, number_id, "id")
    wanted = checked_attributes(replace(attributes_of(number), **changes))
    changed = {name: value for name, value in asdict(wanted).items()
               if getattr(number, name) != value}
    for name, value in changed.items():
        setattr(number, name, value)
    session.flush()
    audit.record(session, viewer, action="number.update", object_type="Number",
                 object_id=number.id, isp_id=number.isp_id, changes=changed)
    return number


def delete_number(session: Session, viewer: Viewer, number_id: uuid.UUID | None) -> uuid.UUID:
    """Remove an available or quarantined number from the inventory."""
    number = _managed_number(session, viewer, number_id, "id")
    refused = _invalid("the number is assigned to a tenant: release it first", "id")
    if number.state is NumberState.ASSIGNED:
        raise refused
    # Conditional: an assignment committed since the read above wins over the delete.
    result = session.exec(delete(Number).where(col(Number.id) == number.id,
                                               col(Number.state) != NumberState.ASSIGNED))
    if result.rowcount != 1:
        raise refused
    audit.record(session, viewer, action="number.delete", object_type="Number",
                 object_id=number.id, isp_id=number.isp_id, changes={"e164": number.e164})
    return number.id


# The lifecycle -------------------------------------------------------------------------------


def _change(session: Session, number: Number, condition: ColumnElement[bool],
            **values: Any) -> Number | None:
    """Set ``values`` if ``condition`` still holds for the row; the row as it is now, or None."""
    statement = (update(Number).where(col(Number.id) == number.id, condition).values(**values)
                 .returning(Number).execution_options(populate_existing=True))
    return session.execute(statement).scalars().first()


def _not_available(number: Number) -> DomainError:
    if number.state is NumberState.QUARANTINE:
        return _invalid(f"the number is in quarantine until {number.quarantine_until:%Y-%m-%d}",
                        "number")
    return _invalid("the number is already assigned to a tenant", "number")


def assign_number(session: Session, viewer: Viewer, number_id: uuid.UUID | None,
                  tenant_id: uuid.UUID | None) -> Number:
    """Give an available number to a tenant of the same ISP (ISP administrators)."""
    number = _managed_number(session, viewer, number_id, "number")
    tenant = scoping.get_visible(session, viewer, Tenant, tenant_id)
    if tenant is None:
        raise not_found("tenant", "tenant")
    if tenant.isp_id != number.isp_id:
        raise _invalid("the tenant belongs to another ISP", "tenant")
    if number.state is not NumberState.AVAILABLE:
        raise _not_available(number)
    assigned = _change(session, number, col(Number.state) == NumberState.AVAILABLE,
                       state=NumberState.ASSIGNED, tenant_id=tenant.id)
    if assigned is None:
        raise _invalid("the number is no longer available", "number")
    audit.record(session, viewer, action="number.assign", object_type="Number",
                 object_id=number.id, isp_id=number.isp_id, tenant_id=tenant.id,
                 changes={"e164": number.e164, "tenant": tenant.id})
    return assigned


def _held_number(session: Session, viewer: Viewer, number_id: uuid.UUID | None) -> Number:
    """An assigned number that the viewer manages, as its ISP's or its tenant's administrator."""
    number = _visible_number(session, viewer, number_id, "number")
    allowed = (viewer.can_manage_tenant(number.isp_id, number.tenant_id) if number.tenant_id
               else viewer.can_manage_isp(number.isp_id))
    if not allowed:
        raise DomainError.single(ErrorCode.NOT_PERMITTED,
                                 "your role can read this number but not change it")
    if number.state is not NumberState.ASSIGNED:
        raise _invalid("the number is not assigned to a tenant", "number")
    return number


def _still_held(number: Number) -> ColumnElement[bool]:
    return (col(Number.state) == NumberState.ASSIGNED) & (col(Number.tenant_id) == number.tenant_id)


def release_number(session: Session, viewer: Viewer, number_id: uuid.UUID | None) -> Number:
    """Take a number back from its tenant: into quarantine, or available at once with 0 days."""
    number = _held_number(session, viewer, number_id)
    tenant_id = number.tenant_id
    assert tenant_id is not None  # an assigned number has a tenant
    isp = session.get(Isp, number.isp_id)
    assert isp is not None  # a number's ISP exists (foreign key)
    days = isp.number_quarantine_days
    until = utcnow() + dt.timedelta(days=days) if days else None
    released = _change(session, number, _still_held(number),
                       state=NumberState.QUARANTINE if until else NumberState.AVAILABLE,
                       quarantine_until=until, tenant_id=None, target_subscriber_id=None)
    if released is None:
        raise _invalid("the number is no longer assigned to this tenant", "number")
    cleared = numbers_left_tenant(session, tenant_id, [number.e164])
    audit.record(session, viewer, action="number.release", object_type="Number",
                 object_id=number.id, isp_id=number.isp_id, tenant_id=tenant_id,
                 changes={"e164": number.e164, "quarantine_until": until,
                          "caller_ids_cleared": cleared})
    return released


def set_target(session: Session, viewer: Viewer, number_id: uuid.UUID | None,
               subscriber_id: uuid.UUID | None) -> Number:
    """Point an assigned number at one of its tenant's subscribers (None: at nobody)."""
    number = _held_number(session, viewer, number_id)
    if subscriber_id is not None:
        subscriber = scoping.get_visible(session, viewer, Subscriber, subscriber_id)
        if subscriber is None:
            raise not_found("subscriber", "subscriber")
        if subscriber.tenant_id != number.tenant_id:
            raise _invalid("the subscriber belongs to another tenant than the number",
                           "subscriber")
    targeted = _change(session, number, _still_held(number), target_subscriber_id=subscriber_id)
    if targeted is None:
        raise _invalid("the number is no longer assigned to this tenant", "number")
    audit.record(session, viewer, action="number.target_set", object_type="Number",
                 object_id=number.id, isp_id=number.isp_id, tenant_id=number.tenant_id,
                 changes={"e164": number.e164, "target_subscriber": subscriber_id})
    return targeted


def expire_quarantine(session: Session, now: dt.datetime) -> int:
    """Make the numbers whose quarantine has ended available again; returns how many."""
    result = session.exec(
        update(Number)
        .where(col(Number.state) == NumberState.QUARANTINE, col(Number.quarantine_until) <= now)
        .values(state=NumberState.AVAILABLE, quarantine_until=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


# The ISP's summary ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InventorySummary:
    available: int
    assigned: int
    quarantine: int
    # What the assigned numbers bring in and cost each month, in the ISP's currency.
    monthly_revenue: Decimal
    monthly_cost: Decimal
    currency: str

    @property
    def total(self) -> int:
        return self.available + self.assigned + self.quarantine

    @property
    def monthly_margin(self) -> Decimal:
        return self.monthly_revenue - self.monthly_cost


def sees_costs(viewer: Viewer, isp_id: uuid.UUID) -> bool:
    """What numbers cost the ISP is the ISP's business: its tenants see only their prices."""
    return viewer.is_platform or isp_id in viewer.isp_ids()


def _inventory_isp(session: Session, viewer: Viewer, isp_id: uuid.UUID | None) -> Isp | None:
    """The ISP whose whole inventory the viewer reads (by default the one they work for)."""
    if isp_id is None and len(viewer.isp_ids()) == 1:
        isp_id = next(iter(viewer.isp_ids()))
    isp = scoping.get_visible(session, viewer, Isp, isp_id)
    if isp is None or not sees_costs(viewer, isp.id):
        return None
    return isp


def inventory_summary(session: Session, viewer: Viewer,
                      isp_id: uuid.UUID | None) -> InventorySummary | None:
    """Counts by state and the monthly figures of an ISP's inventory, in one aggregate query."""
    isp = _inventory_isp(session, viewer, isp_id)
    if isp is None:
        return None
    rows = session.exec(select(Number.state, func.count(), func.sum(Number.price),
                               func.sum(Number.vendor_price))
                        .where(Number.isp_id == isp.id).group_by(Number.state)).all()
    counts = {state: count for state, count, _, _ in rows}
    revenue, cost = next(((price, vendor_price) for state, _, price, vendor_price in rows
                          if state is NumberState.ASSIGNED), (0, 0))
    return InventorySummary(
        available=counts.get(NumberState.AVAILABLE, 0),
        assigned=counts.get(NumberState.ASSIGNED, 0),
        quarantine=counts.get(NumberState.QUARANTINE, 0),
        # SQLite sums decimals as floats: bring them back to the column's places.
        monthly_revenue=Decimal(revenue).quantize(_MONEY_STEP),
        monthly_cost=Decimal(cost).quantize(_MONEY_STEP),
        currency=isp.currency,
    )


# CSV imports ----------------------------------------------------------------------------------

IMPORT = register_kind(JobSpec(kind="numbers.import", subject_type="Isp", max_attempts=3,
                               timeout_seconds=1800))
MAX_IMPORT_ROWS = 100_000
MAX_IMPORT_BYTES = 16 * 1024 * 1024
IMPORT_KEPT_FOR = dt.timedelta(days=1)
IMPORT_COLUMNS = ["e164", "source", "type", "price", "vendor_price", "voice", "sms"]
_FLAGS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def import_template() -> str:
    """A CSV file to fill in: the columns an import reads, with two example rows."""
    return write_csv(IMPORT_COLUMNS, [
        ["+12095550100", "carrier account 1", "LOCAL", "1.50", "0.25", "true", "false"],
        ["+18005550100", "", "TOLL_FREE", "3.00", "1.10", "true", "false"],
    ]).decode()


def start_import(session: Session, viewer: Viewer, isp_id: uuid.UUID | None, *,
                 filename: str, content: bytes) -> Job:
    """Keep the uploaded file and queue its import (one import per ISP at a time)."""
    isp = managed_isp(session, viewer, isp_id)
    # Bounds what importing files by halves could learn of other ISPs' numbers.
    number_ranges.count_import(session, isp.id)
    upload = stored_files.store(
        session, purpose=IMPORT.kind, filename=filename, content_type="text/csv",
        content=content, isp_id=isp.id, created_by_id=viewer.administrator_id,
        keep_for=IMPORT_KEPT_FOR)
    enqueued = enqueue(session, IMPORT.kind, isp.id, payload={"file_id": str(upload.id)},
                       isp_id=isp.id, requested_by_id=viewer.administrator_id)
    if not enqueued.created:
        # Not the usual "here is the job already running": it would not import this file.
        raise DomainError.single(ErrorCode.ALREADY_EXISTS, "an import of numbers is already "
                                 "queued or running for this ISP; try again when it ends", "file")
    audit.record(session, viewer, action="number.import_request", object_type="Job",
                 object_id=enqueued.job.id, isp_id=isp.id,
                 changes={"file": filename, "size_bytes": len(content)})
    return enqueued.job


def _csv_type(text: str) -> NumberType | None:
    if not text:
        return None
    try:
        return NumberType(text.upper().replace("-", "_").replace(" ", "_"))
    except ValueError:
        raise _invalid("write LOCAL or TOLL_FREE", "type") from None


def _csv_amount(text: str, column: str) -> Decimal:
    try:
        amount = Decimal(text or "0")
    except InvalidOperation:
        raise _invalid(f"{text!r} is not an amount", column) from None
    return money(amount, (column,))


def _csv_flag(text: str, column: str, *, default: bool) -> bool:
    if not text:
        return default
    if text.lower() not in _FLAGS:
        raise _invalid("write true or false", column)
    return _FLAGS[text.lower()]


def _csv_attributes(values: dict[str, str]) -> NumberAttributes:
    collector = ErrorCollector()
    number_type = collector.check(_csv_type, values.get("type", ""))
    price = collector.check(_csv_amount, values.get("price", ""), "price")
    vendor_price = collector.check(_csv_amount, values.get("vendor_price", ""), "vendor_price")
    voice = collector.check(_csv_flag, values.get("voice", ""), "voice", default=True)
    sms = collector.check(_csv_flag, values.get("sms", ""), "sms", default=False)
    collector.raise_if_any()
    assert price is not None
    assert vendor_price is not None
    assert voice is not None
    assert sms is not None
    return checked_attributes(NumberAttributes(
        source=values.get("source", ""), number_type=number_type, price=price,
        vendor_price=vendor_price, voice=voice, sms=sms))


def _csv_number(values: dict[str, str]) -> tuple[str, NumberAttributes]:
    """One row as a number and its attributes; a DomainError lists every mistake of the row."""
    collector = ErrorCollector()
    number = collector.check(parse_e164, values["e164"], ("e164",))
    attributes = collector.check(_csv_attributes, values)
    collector.raise_if_any()
    assert number is not None
    assert attributes is not None
    return e164_of(number), _typed(attributes, number)


def _on_platform(session: Session, numbers: list[str]) -> list[tuple[str, uuid.UUID]]:
    """Which of ``numbers`` any ISP already has, with the ISP that has each."""
    taken: list[tuple[str, uuid.UUID]] = []
    for start in range(0, len(numbers), CHUNK):
        batch = numbers[start:start + CHUNK]
        taken += session.exec(select(Number.e164, Number.isp_id)
                              .where(col(Number.e164).in_(batch)))
    return taken


def check_import(session: Session, isp_id: uuid.UUID,
                 content: bytes) -> dict[str, NumberAttributes]:
    """Every number of a CSV file, or a DomainError naming each bad line in order.

    A number already in the ISP's inventory is named on its line; numbers held by
    other ISPs are not (core.number_ranges): one note says that some exist."""
    problems: list[tuple[int, str]] = []
    found: dict[str, tuple[int, NumberAttributes]] = {}
    for row in read_rows(content, required=IMPORT_COLUMNS[:1], optional=IMPORT_COLUMNS[1:],
                         max_rows=MAX_IMPORT_ROWS):
        try:
            e164, attributes = _csv_number(row.values)
        except DomainError as error:
            problems.append((row.line, "; ".join(f"{item.field[-1]}: {item.message}"
                                                 for item in error.errors)))
            continue
        if e164 in found:
            problems.append((row.line, f"{e164} is also on line {found[e164][0]}"))
            continue
        found[e164] = (row.line, attributes)
    held_elsewhere = False
    for e164, holder in _on_platform(session, list(found)):
        if holder == isp_id:
            problems.append((found[e164][0], f"{e164} is already in your inventory"))
        else:
            held_elsewhere = True
    errors = LineErrors()
    for line, message in sorted(problems):
        errors.add(line, message)
    if held_elsewhere:
        errors.note(number_ranges.HELD_ELSEWHERE)
    errors.raise_if_any()
    return {e164: attributes for e164, (_, attributes) in found.items()}


def import_numbers(session: Session, isp_id: uuid.UUID, upload: StoredFile, *,
                   report: Progress) -> int:
    """Add every number of an uploaded CSV file to the ISP's inventory, or none; how many."""
    numbers = check_import(session, isp_id, upload.content)
    report(0, len(numbers))
    _insert(session, isp_id, list(numbers.items()), report)
    requester = (session.get(Administrator, upload.created_by_id) if upload.created_by_id
                 else None)
    # The requester is not logged in here: the event names them as the one who asked.
    audit.record(session, ANONYMOUS, action="number.import", object_type="Isp",
                 object_id=isp_id, isp_id=isp_id,
                 changes={"file": upload.filename, "count": len(numbers)},
                 actor_id=upload.created_by_id, actor_email=requester.email if requester else None)
    return len(numbers)
