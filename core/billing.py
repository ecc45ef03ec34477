"""How a call is priced under a service plan.

A call is rated by the first deck that applies: the rate deck (the entry with
the longest prefix of the destination), else the service deck (the entry for
the call's service), else nothing per minute: the plan's monthly prices per
subscriber and per DID cover it. Money is Decimal throughout, never float.

The checks of the values that make up a deck entry live here too, so that the
GraphQL mutations and the CSV import accept exactly the same things.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, col

from core import scoping, validation
from core.errors import DomainError, ErrorCode
from core.models import RateDeckEntry, Service, ServiceDeckEntry, ServicePlan, utcnow
from core.models.base import MONEY_DIGITS, MONEY_PLACES
from core.viewer import Viewer

CENT_FRACTION = Decimal(1).scaleb(-MONEY_PLACES)  # 0.0001, the smallest amount stored
MAX_MONEY = Decimal(10) ** (MONEY_DIGITS - MONEY_PLACES)
MAX_DURATION_SECONDS = 86_400
_PREFIX = re.compile(r"^\+[0-9]{1,15}$")
T = TypeVar("T")


# The billing rule --------------------------------------------------------------------------
#
# Written once, over a small set of operations, and evaluated two ways: on Python integers
# and Decimals (billing_seconds, price: ratePreview, rating in Python) and as SQL
# expressions (billing_seconds_sql, price_sql: set-based rating on PostgreSQL,
# core.call_rating_sql). tests/core/test_billing_rule.py proves the two agree over a grid.


@dataclass(frozen=True)
class _Operations:
    """What the rule needs besides + - * and <=, for one kind of operand."""

    when: Callable[[Any, Any, Any], Any]  # when(condition, then, otherwise)
    greatest: Callable[[Any, Any], Any]
    ceil_div: Callable[[Any, Any], Any]  # for a dividend >= 0 and a divisor >= 1
    to_money: Callable[[Any], Any]  # to MONEY_PLACES decimal places, half up


def _billing_rule(ops: _Operations, real: Any, minimum: Any, increment: Any, delay: Any) -> Any:
    # Nothing at or below the delay (a call that barely connected); otherwise the minimum
    # duration, plus whole increments, rounded up, for what exceeds it.
    return ops.when(real <= delay, 0,
                    minimum + ops.ceil_div(ops.greatest(real - minimum, 0), increment)
                    * increment)


def _price_rule(ops: _Operations, rate_per_minute: Any, seconds: Any) -> Any:
    return ops.to_money(rate_per_minute * seconds / 60)


_PYTHON = _Operations(
    when=lambda condition, then, otherwise: then if condition else otherwise,
    greatest=max,
    ceil_div=lambda dividend, divisor: -(-dividend // divisor),
    to_money=lambda amount: amount.quantize(CENT_FRACTION, rounding=ROUND_HALF_UP))
# PostgreSQL: integer / integer truncates, so (a + b - 1) / b is the ceiling for a >= 0;
# round(numeric, n) rounds half away from zero, which is half up for amounts >= 0.
_SQL = _Operations(
    when=lambda condition, then, otherwise: sa.case((condition, then), else_=otherwise),
    greatest=func.greatest,
    ceil_div=lambda dividend, divisor: (dividend + divisor - 1) // divisor,
    to_money=lambda amount: func.round(amount, MONEY_PLACES))


def billing_seconds(real_seconds: int, *, minimum: int, increment: int, delay: int) -> int:
    """The seconds billed for a call that lasted ``real_seconds``."""
    return int(_billing_rule(_PYTHON, real_seconds, minimum, increment, delay))


def price(rate_per_minute: Decimal, seconds: int) -> Decimal:
    """What ``seconds`` cost at ``rate_per_minute``, to the stored precision (half up)."""
    return Decimal(_price_rule(_PYTHON, rate_per_minute, seconds))


def _sql(expression: sa.ColumnElement[Any]) -> str:
    return str(expression.compile(dialect=postgresql.dialect(),
                                  compile_kwargs={"literal_binds": True}))


def billing_seconds_sql(real_seconds: str, minimum: str, increment: str, delay: str) -> str:
    """The billing rule as a PostgreSQL expression over these integer SQL expressions."""
    def column(text: str) -> sa.ColumnElement[int]:
        return sa.literal_column(f"({text})", sa.Integer)
    return _sql(_billing_rule(_SQL, column(real_seconds), column(minimum), column(increment),
                              column(delay)))


def price_sql(rate_per_minute: str, seconds: str) -> str:
    """The price rule as a PostgreSQL expression (a numeric rate, integer seconds)."""
    return _sql(_price_rule(_SQL, sa.literal_column(f"({rate_per_minute})", sa.Numeric),
                            sa.literal_column(f"({seconds})", sa.Integer)))


# Checking deck values ------------------------------------------------------------------------


def _present(value: T | None, field: tuple[str, ...]) -> T:
    if value is None:
        raise DomainError.single(ErrorCode.REQUIRED, "this field cannot be empty", *field)
    return value


def _invalid(message: str, field: tuple[str, ...]) -> DomainError:
    return DomainError.single(ErrorCode.INVALID, message, *field)


def money(value: Decimal | None, field: tuple[str, ...]) -> Decimal:
    """An amount of money: not negative, at most four decimal places, within the column."""
    value = _present(value, field)
    if not value.is_finite() or value < 0:
        raise _invalid("write an amount of zero or more", field)
    # exponent is typed int | 'n' | 'N' | 'F'; the letters are for NaN and infinity, refused above.
    if value.as_tuple().exponent < -MONEY_PLACES:  # type: ignore[operator]
        raise _invalid(f"use at most {MONEY_PLACES} decimal places", field)
    if value >= MAX_MONEY:
        raise _invalid(f"use an amount below {MAX_MONEY}", field)
    return value.quantize(CENT_FRACTION)


def duration(value: int | None, field: tuple[str, ...], *, minimum: int = 0) -> int:
    """Seconds of a deck's minimum duration, increment or delay."""
    value = _present(value, field)
    if not minimum <= value <= MAX_DURATION_SECONDS:
        raise _invalid(f"use {minimum} to {MAX_DURATION_SECONDS} seconds", field)
    return value


def prefix(value: str | None, field: tuple[str, ...]) -> str:
    """A destination prefix in E.164 form: '+' and 1 to 15 digits, e.g. +44 or +1209."""
    text = (value or "").strip()
    if not _PREFIX.match(text):
        raise _invalid("write the prefix as + and 1 to 15 digits, e.g. +44", field)
    return text


def moment(value: dt.datetime | None, field: tuple[str, ...], *,
           required: bool = False) -> dt.datetime | None:
    """A start or end of validity, in UTC; a time written without an offset is taken as UTC."""
    if value is None and not required:
        return None
    value = _present(value, field)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def validity(valid_from: dt.datetime, valid_to: dt.datetime | None,
             field: tuple[str, ...] = ("valid_to",)) -> None:
    """A deck entry's validity ends after it starts (an open end never ends)."""
    if valid_to is not None and valid_to <= valid_from:
        raise _invalid("the end of validity must come after its start", field)


MAX_PERIOD = dt.timedelta(days=93)


def period(start: dt.datetime | None, end: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    """A period of calls [start, end): both given, in order, at most MAX_PERIOD long."""
    start = moment(start, ("from",), required=True)
    end = moment(end, ("to",), required=True)
    assert start is not None
    assert end is not None
    if end <= start:
        raise _invalid("the period must end after it starts", ("to",))
    if end - start > MAX_PERIOD:
        raise _invalid(f"ask for at most {MAX_PERIOD.days} days at a time", ("to",))
    return start, end


# Rating a call -----------------------------------------------------------------------------


class Deck(StrEnum):
    """Which of a plan's charges priced a call."""

    RATE_DECK = "RATE_DECK"
    SERVICE_DECK = "SERVICE_DECK"
    MONTHLY = "MONTHLY"


@dataclass(frozen=True)
class Rating:
    """How a call would be charged: the deck and entry that applied, and the price."""

    plan: ServicePlan
    destination: str
    service: Service
    seconds: int
    deck: Deck
    entry: RateDeckEntry | ServiceDeckEntry | None
    billing_seconds: int
    price: Decimal


def _valid_at(model: type[RateDeckEntry] | type[ServiceDeckEntry],
              at: dt.datetime) -> ColumnElement[bool]:
    return (col(model.valid_from) <= at) & or_(col(model.valid_to).is_(None),
                                               col(model.valid_to) > at)


def rate_deck_match(session: Session, plan_id: uuid.UUID, destination: str,
                    at: dt.datetime) -> RateDeckEntry | None:
    """The valid rate deck entry with the longest prefix of ``destination``."""
    prefixes = [destination[:length] for length in range(2, len(destination) + 1)]
    statement = (
        select(RateDeckEntry)
        .where(col(RateDeckEntry.service_plan_id) == plan_id,
               col(RateDeckEntry.prefix).in_(prefixes),
               _valid_at(RateDeckEntry, at))
        .order_by(func.length(RateDeckEntry.prefix).desc(), col(RateDeckEntry.valid_from).desc())
        .limit(1)
    )
    return session.execute(statement).scalars().first()


def service_deck_match(session: Session, plan_id: uuid.UUID, service: Service,
                       at: dt.datetime) -> ServiceDeckEntry | None:
    """The valid service deck entry for ``service``; the most recently started one wins."""
    statement = (
        select(ServiceDeckEntry)
        .where(col(ServiceDeckEntry.service_plan_id) == plan_id,
               col(ServiceDeckEntry.service) == service,
               _valid_at(ServiceDeckEntry, at))
        .order_by(col(ServiceDeckEntry.valid_from).desc())
        .limit(1)
    )
    return session.execute(statement).scalars().first()


def rate_call(session: Session, plan: ServicePlan, destination: str, seconds: int,
              service: Service = Service.PSTN, at: dt.datetime | None = None) -> Rating:
    """Price a call of ``seconds`` to ``destination`` under ``plan``, as at ``at`` (now)."""
    destination = validation.e164_phone(destination, ("destination",))
    if seconds < 0:
        raise _invalid("a call lasts zero seconds or more", ("seconds",))
    at = at or utcnow()
    entry: RateDeckEntry | ServiceDeckEntry | None = rate_deck_match(
        session, plan.id, destination, at)
    deck = Deck.RATE_DECK
    if entry is None:
        entry, deck = service_deck_match(session, plan.id, service, at), Deck.SERVICE_DECK
    if entry is None:
        return Rating(plan=plan, destination=destination, service=service, seconds=seconds,
                      deck=Deck.MONTHLY, entry=None, billing_seconds=0, price=Decimal("0.0000"))
    billed = billing_seconds(seconds, minimum=entry.minimum_duration, increment=entry.increment,
                             delay=entry.delay)
    return Rating(plan=plan, destination=destination, service=service, seconds=seconds,
                  deck=deck, entry=entry, billing_seconds=billed,
                  price=price(entry.rate_per_minute, billed))


def preview_rate(session: Session, viewer: Viewer, plan_id: uuid.UUID | None, destination: str,
                 seconds: int, service: Service = Service.PSTN) -> Rating | None:
    """:func:`rate_call` for a plan the viewer may see; None when they may not."""
    plan = scoping.get_visible(session, viewer, ServicePlan, plan_id)
    if plan is None:
        return None
    return rate_call(session, plan, destination, seconds, service)
