"""Rating call legs: what each leg of a collected call costs the customer, and the ISP.

The rules are core.billing's: a PSTN leg is priced by the plan's rate deck
entry with the longest prefix of the number, else by the service deck entry
for its leg type; a DID, toll-free or SIP leg by the service deck only (a rate
deck prices destinations, and only a PSTN leg has one). No entry: the monthly
prices cover the leg (price 0). Entries must be valid at the call's setup
time; the billing duration is ``billing_seconds`` of the entry's minimum,
increment and delay. The ISP's cost of a PSTN leg comes from the carrier's
vendor rates (same rule, same terms); unknown otherwise.

A :class:`Rater` keeps the decks it has read in memory for the length of one
collection or re-rating run: a run rates up to millions of legs against a
handful of plans, and one query per leg would dominate it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from core.billing import billing_seconds, price
from core.models import (
    CallLeg,
    RateDeckEntry,
    RatingDeck,
    Service,
    ServiceDeckEntry,
    ServicePlan,
    VendorRateEntry,
)

ZERO = Decimal("0.0000")


@dataclass(frozen=True)
class _Terms:
    """A deck entry's rating terms, copied out of the session (a run outlives sessions)."""

    rate_per_minute: Decimal
    minimum_duration: int
    increment: int
    delay: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    prefix: str = ""
    description: str = ""

    @classmethod
    def of(cls, entry: RateDeckEntry | ServiceDeckEntry | VendorRateEntry) -> _Terms:
        return cls(entry.rate_per_minute, entry.minimum_duration, entry.increment,
                   entry.delay, entry.valid_from, entry.valid_to,
                   getattr(entry, "prefix", ""), getattr(entry, "description", ""))


@dataclass(frozen=True)
class LegRating:
    """The result of rating one leg; the CallLeg columns of the same names."""

    deck: RatingDeck
    destination: str
    rate_per_minute: Decimal
    minimum_duration: int
    increment: int
    delay: int
    billing_seconds: int
    price: Decimal
    currency: str
    prepaid: bool
    cost: Decimal | None

    def values(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def apply(self, leg: CallLeg) -> None:
        for name in self.__dataclass_fields__:
            setattr(leg, name, getattr(self, name))

    def same_as(self, leg: CallLeg) -> bool:
        return all(getattr(leg, name) == getattr(self, name) for name in self.__dataclass_fields__)


def _valid(entry: _Terms, at: dt.datetime) -> bool:
    return entry.valid_from <= at and (entry.valid_to is None or entry.valid_to > at)


class _PrefixDeck:
    """Entries by prefix, each prefix's entries newest first."""

    def __init__(self, entries: list[_Terms]) -> None:
        self._by_prefix: dict[str, list[_Terms]] = {}
        for entry in sorted(entries, key=lambda e: e.valid_from, reverse=True):
            self._by_prefix.setdefault(entry.prefix, []).append(entry)
        self._lengths = sorted({len(prefix) for prefix in self._by_prefix}, reverse=True)

    def match(self, number: str, at: dt.datetime) -> _Terms | None:
        for length in self._lengths:
            if length > len(number):
                continue
            for entry in self._by_prefix.get(number[:length], ()):
                if _valid(entry, at):
                    return entry
        return None


@dataclass(frozen=True)
class _Plan:
    id: uuid.UUID
    currency: str
    prepaid: bool


class Rater:
    """Rates legs against plans and carriers, reading each deck once per run.

    ``session`` may be replaced between batches (each batch is its own transaction):
    what is kept is plain values, not rows of a session.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._plans: dict[uuid.UUID, _Plan | None] = {}
        self._rate_decks: dict[uuid.UUID, _PrefixDeck] = {}
        self._service_decks: dict[uuid.UUID, dict[Service, list[_Terms]]] = {}
        self._vendor_decks: dict[uuid.UUID, _PrefixDeck] = {}
        # Keyed by the entry's identity: entries live as long as the rater (in its decks).
        self._prices: dict[tuple[int, int], tuple[int, Decimal]] = {}

    def plan(self, plan_id: uuid.UUID | None) -> _Plan | None:
        if plan_id is None:
            return None
        if plan_id not in self._plans:
            plan = self.session.get(ServicePlan, plan_id)
            self._plans[plan_id] = _Plan(plan.id, plan.currency, plan.prepaid) if plan else None
        return self._plans[plan_id]

    def _rate_deck(self, plan_id: uuid.UUID) -> _PrefixDeck:
        if plan_id not in self._rate_decks:
            entries = self.session.execute(select(RateDeckEntry).where(
                col(RateDeckEntry.service_plan_id) == plan_id)).scalars()
            self._rate_decks[plan_id] = _PrefixDeck([_Terms.of(entry) for entry in entries])
        return self._rate_decks[plan_id]

    def _service_entry(self, plan_id: uuid.UUID, service: Service,
                       at: dt.datetime) -> _Terms | None:
        if plan_id not in self._service_decks:
            by_service: dict[Service, list[_Terms]] = {}
            entries = self.session.execute(select(ServiceDeckEntry).where(
                col(ServiceDeckEntry.service_plan_id) == plan_id)).scalars()
            for entry in entries:
                by_service.setdefault(entry.service, []).append(_Terms.of(entry))
            for listed in by_service.values():
                listed.sort(key=lambda e: e.valid_from, reverse=True)
            self._service_decks[plan_id] = by_service
        # The most recently started entry valid at ``at`` wins, as in core.billing.
        return next((entry for entry in self._service_decks[plan_id].get(service, ())
                     if _valid(entry, at)), None)

    def _vendor_deck(self, carrier_id: uuid.UUID) -> _PrefixDeck:
        if carrier_id not in self._vendor_decks:
            entries = self.session.execute(select(VendorRateEntry).where(
                col(VendorRateEntry.carrier_id) == carrier_id)).scalars()
            self._vendor_decks[carrier_id] = _PrefixDeck([_Terms.of(entry) for entry in entries])
        return self._vendor_decks[carrier_id]

    def rate(self, *, plan_id: uuid.UUID | None, leg_type: Service, number: str,
             seconds: int, at: dt.datetime, carrier_id: uuid.UUID | None,
             fallback_currency: str) -> LegRating:
        """Rate one leg of ``seconds`` (0 when unanswered) set up at ``at``."""
        cost = self._cost(carrier_id, leg_type, number, seconds, at)
        plan = self.plan(plan_id)
        if plan is None:
            return LegRating(RatingDeck.NO_PLAN, "", ZERO, 0, 1, 0, 0, ZERO, fallback_currency,
                             False, cost)
        entry: _Terms | None = None
        deck, destination = RatingDeck.MONTHLY, ""
        if leg_type == Service.PSTN:
            found = self._rate_deck(plan.id).match(number, at)
            if found is not None:
                entry, deck = found, RatingDeck.RATE_DECK
                destination = _destination(found)
        if entry is None:
            service_entry = self._service_entry(plan.id, leg_type, at)
            if service_entry is not None:
                entry, deck = service_entry, RatingDeck.SERVICE_DECK
        if entry is None:
            return LegRating(deck, destination, ZERO, 0, 1, 0, 0, ZERO, plan.currency,
                             plan.prepaid, cost)
        billed, amount = self._priced(entry, seconds)
        return LegRating(deck, destination, entry.rate_per_minute, entry.minimum_duration,
                         entry.increment, entry.delay, billed, amount, plan.currency,
                         plan.prepaid, cost)

    def _priced(self, entry: _Terms, seconds: int) -> tuple[int, Decimal]:
        """Billed seconds and price of ``seconds`` under ``entry``; remembered per run (most
        calls share a few entries and durations, and Decimal arithmetic is not free)."""
        key = (id(entry), seconds)
        found = self._prices.get(key)
        if found is None:
            billed = billing_seconds(seconds, minimum=entry.minimum_duration,
                                     increment=entry.increment, delay=entry.delay)
            found = self._prices[key] = (billed, price(entry.rate_per_minute, billed))
        return found

    def _cost(self, carrier_id: uuid.UUID | None, leg_type: Service, number: str,
              seconds: int, at: dt.datetime) -> Decimal | None:
        if carrier_id is None or leg_type != Service.PSTN:
            return None
        entry = self._vendor_deck(carrier_id).match(number, at)
        if entry is None:
            return None
        return self._priced(entry, seconds)[1]


@dataclass(frozen=True)
class CustomerCharges:
    """What one collection batch's rated legs charge one customer, in one currency: where
    prepaid balances learn of new charges (both collection paths report these)."""

    customer_id: uuid.UUID
    currency: str
    prepaid: bool  # the plan the legs were rated under is prepaid
    legs: int  # legs with a charge (billed seconds > 0)
    amount: Decimal


def charges_of(legs: Iterable[Mapping[str, Any]]) -> list[CustomerCharges]:
    """The per-customer totals of these rated legs (CallLeg columns as mappings)."""
    totals: dict[tuple[uuid.UUID, str, bool], list[Any]] = {}
    for leg in legs:
        if leg["customer_id"] is None or leg["billing_seconds"] <= 0:
            continue
        total = totals.setdefault((leg["customer_id"], leg["currency"], leg["prepaid"]),
                                  [0, ZERO])
        total[0] += 1
        total[1] += leg["price"]
    return [CustomerCharges(customer, currency, prepaid, legs, amount)
            for (customer, currency, prepaid), (legs, amount) in sorted(
                totals.items(), key=lambda item: (str(item[0][0]), item[0][1], item[0][2]))]


def _destination(entry: _Terms) -> str:
    return f"{entry.prefix} {entry.description}".strip()[:200]


__all__ = ["CustomerCharges", "LegRating", "Rater", "charges_of"]
