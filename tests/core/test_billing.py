"""Pricing calls: the billing duration rule, prices, deck values, and which deck applies."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlmodel import Session

from core.billing import Deck, billing_seconds, duration, money, prefix, price, rate_call
from core.errors import DomainError, ErrorCode
from core.models import RateDeckEntry, Service, ServiceDeckEntry, ServicePlan, utcnow
from tests.factories import make_isp

# The examples of the product documentation: (real seconds, minimum, increment, delay, billed).
DOCUMENTED = [
    (47, 30, 6, 3, 48),
    (2, 30, 6, 3, 0),
    (10, 30, 6, 3, 30),
    (10, 1, 1, 0, 10),
    (43, 60, 60, 3, 60),
    (4, 60, 60, 3, 60),
]


@pytest.mark.parametrize(("real", "minimum", "increment", "delay", "billed"), DOCUMENTED)
def test_documented_billing_durations(real: int, minimum: int, increment: int, delay: int,
                                      billed: int):
    assert billing_seconds(real, minimum=minimum, increment=increment, delay=delay) == billed


def test_a_call_of_exactly_the_delay_costs_nothing_and_one_second_more_costs_the_minimum():
    assert billing_seconds(3, minimum=30, increment=6, delay=3) == 0
    assert billing_seconds(4, minimum=30, increment=6, delay=3) == 30
    assert billing_seconds(36, minimum=30, increment=6, delay=3) == 36
    assert billing_seconds(37, minimum=30, increment=6, delay=3) == 42


def test_prices_are_decimals_rounded_half_up_to_four_places():
    assert price(Decimal("0.0150"), 48) == Decimal("0.0120")
    assert price(Decimal("0.0001"), 30) == Decimal("0.0001")  # 0.00005 rounds up
    assert price(Decimal("0.0001"), 29) == Decimal("0.0000")
    assert price(Decimal("1.2345"), 0) == Decimal("0.0000")
    assert isinstance(price(Decimal("1"), 60), Decimal)


@pytest.mark.parametrize(("value", "code"), [
    (None, ErrorCode.REQUIRED),
    (Decimal("-0.01"), ErrorCode.INVALID),
    (Decimal("0.00001"), ErrorCode.INVALID),
    (Decimal("NaN"), ErrorCode.INVALID),
    (Decimal("1e10"), ErrorCode.INVALID),
])
def test_money_refuses_what_the_column_cannot_hold(value: Decimal | None, code: ErrorCode):
    with pytest.raises(DomainError) as refused:
        money(value, ("rate",))
    assert refused.value.errors[0].code is code
    assert refused.value.errors[0].field == ("rate",)


def test_money_keeps_four_places():
    assert str(money(Decimal("1.5"), ("rate",))) == "1.5000"


@pytest.mark.parametrize("text", ["44", "+", "+44a", "+1234567890123456", " "])
def test_prefixes_are_a_plus_and_digits(text: str):
    with pytest.raises(DomainError):
        prefix(text, ("prefix",))


def test_increments_are_at_least_one_second():
    with pytest.raises(DomainError):
        duration(0, ("increment",), minimum=1)
    assert duration(0, ("delay",)) == 0


# Which deck applies -----------------------------------------------------------------------

LONDON = "+442071838750"


@pytest.fixture
def plan(session: Session) -> ServicePlan:
    isp = make_isp(session)
    row = ServicePlan(isp_id=isp.id, name="Gold", currency="GBP",
                      monthly_price_per_subscriber=Decimal("5"))
    session.add(row)
    session.commit()
    return row


def _add(session: Session, row: RateDeckEntry | ServiceDeckEntry) -> None:
    session.add(row)
    session.commit()


def test_no_deck_leaves_the_monthly_prices(session: Session, plan: ServicePlan):
    rating = rate_call(session, plan, LONDON, 47)
    assert (rating.deck, rating.entry, rating.billing_seconds, rating.price) == (
        Deck.MONTHLY, None, 0, Decimal("0"))


def test_the_service_deck_of_the_calls_service_applies(session: Session, plan: ServicePlan):
    _add(session, ServiceDeckEntry(service_plan_id=plan.id, service=Service.DID,
                                   rate_per_minute=Decimal("1")))
    _add(session, ServiceDeckEntry(service_plan_id=plan.id, service=Service.PSTN,
                                   rate_per_minute=Decimal("0.0150"), minimum_duration=30,
                                   increment=6, delay=3))
    rating = rate_call(session, plan, LONDON, 47, Service.PSTN)
    assert (rating.deck, rating.billing_seconds, rating.price) == (
        Deck.SERVICE_DECK, 48, Decimal("0.0120"))


def test_the_longest_valid_prefix_of_the_rate_deck_wins(session: Session, plan: ServicePlan):
    now = utcnow()
    _add(session, ServiceDeckEntry(service_plan_id=plan.id, service=Service.PSTN,
                                   rate_per_minute=Decimal("9")))
    _add(session, RateDeckEntry(service_plan_id=plan.id, prefix="+44",
                                rate_per_minute=Decimal("0.0200")))
    _add(session, RateDeckEntry(service_plan_id=plan.id, prefix="+4420",
                                rate_per_minute=Decimal("0.0100")))
    # Longer still, but its validity ended.
    _add(session, RateDeckEntry(service_plan_id=plan.id, prefix="+44207",
                                rate_per_minute=Decimal("0.0050"),
                                valid_from=now - dt.timedelta(days=30),
                                valid_to=now - dt.timedelta(days=1)))
    rating = rate_call(session, plan, LONDON, 60)
    assert rating.deck is Deck.RATE_DECK
    assert rating.entry is not None
    assert rating.entry.prefix == "+4420"
    assert rating.price == Decimal("0.0100")
    # A destination under none of the prefixes falls through to the service deck.
    assert rate_call(session, plan, "+12092000000", 60).deck is Deck.SERVICE_DECK


def test_entries_not_yet_valid_do_not_apply(session: Session, plan: ServicePlan):
    _add(session, RateDeckEntry(service_plan_id=plan.id, prefix="+44",
                                rate_per_minute=Decimal("0.0200"),
                                valid_from=utcnow() + dt.timedelta(days=1)))
    assert rate_call(session, plan, LONDON, 60).deck is Deck.MONTHLY
    later = utcnow() + dt.timedelta(days=2)
    assert rate_call(session, plan, LONDON, 60, at=later).deck is Deck.RATE_DECK


@pytest.mark.parametrize(("destination", "seconds", "field"), [
    ("442071838750", 10, ("destination",)),
    ("+44207", 10, ("destination",)),
    (LONDON, -1, ("seconds",)),
])
def test_bad_calls_are_refused(session: Session, plan: ServicePlan, destination: str,
                               seconds: int, field: tuple[str, ...]):
    with pytest.raises(DomainError) as refused:
        rate_call(session, plan, destination, seconds)
    assert refused.value.errors[0].field == field
