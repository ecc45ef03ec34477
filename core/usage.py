"""What a customer owes for a period: its rated calls, and the monthly charges.

Calls: the legs of the customer's calls set up in the period, summed per leg
type and destination (the rate deck entry that priced them, else the leg type)
in a handful of aggregate queries: whole UTC days from the daily totals
(``call_usage_day``), the partial days at either end from the legs of the calls
the call records' (customer, setup) index finds.
Monthly charges: the customer's subscribers times the plan's monthly price per
subscriber, plus each of its DIDs at its own price when it has one, else at
the plan's price per DID; counted as they are now, for one month (not
prorated). The ISP's cost: the legs' vendor costs where the carrier's rates
are known, plus the DIDs' vendor prices; cost and margin are shown to the
ISP's own administrators only (numbers.sees_costs).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import String, case, cast, func, select
from sqlmodel import Session, col

from core import scoping
from core.billing import CENT_FRACTION, period
from core.errors import not_found
from core.models import (
    CallLeg,
    CallLegSide,
    CallRecord,
    CallUsageDay,
    Customer,
    Isp,
    Number,
    NumberState,
    ServicePlan,
    Subscriber,
    SubscriberStatus,
    Tenant,
)
from core.numbers import sees_costs
from core.viewer import Viewer


def _money(value: object) -> Decimal:
    # SQLite sums decimals as floats: bring them back to the column's places.
    return Decimal(str(value or 0)).quantize(CENT_FRACTION)


@dataclass(frozen=True)
class ChargeLine:
    leg_type: str
    destination: str
    legs: int
    billed_seconds: int
    charges: Decimal
    cost: Decimal | None


@dataclass(frozen=True)
class UsageSummary:
    customer: Customer
    start: dt.datetime
    end: dt.datetime
    currency: str
    calls: int
    answered_calls: int
    billed_seconds: int
    usage_charges: Decimal
    lines: list[ChargeLine]
    subscribers: int
    dids: int
    subscriber_charges: Decimal
    did_charges: Decimal
    # None for viewers who do not see the ISP's costs.
    usage_cost: Decimal | None
    did_cost: Decimal | None

    @property
    def monthly_charges(self) -> Decimal:
        return self.subscriber_charges + self.did_charges

    @property
    def total_charges(self) -> Decimal:
        return self.usage_charges + self.monthly_charges

    @property
    def total_cost(self) -> Decimal | None:
        if self.usage_cost is None or self.did_cost is None:
            return None
        return self.usage_cost + self.did_cost

    @property
    def margin(self) -> Decimal | None:
        cost = self.total_cost
        return None if cost is None else self.total_charges - cost


Sums = dict[tuple[str, str], list[Any]]


def _add(sums: Sums, leg_type: object, where: object, legs: Any, seconds: Any,
         charges: object, cost: object) -> None:
    total = sums.setdefault((str(leg_type), str(where)), [0, 0, Decimal(0), Decimal(0)])
    total[0] += int(legs or 0)
    total[1] += int(seconds or 0)
    total[2] += Decimal(str(charges or 0))
    total[3] += Decimal(str(cost or 0))


def _from_legs(session: Session, customer_id: uuid.UUID, start: dt.datetime,
               end: dt.datetime, sums: Sums) -> tuple[int, int]:
    """Add the legs set up in [start, end) to ``sums``; their calls and answered calls."""
    # A leg carries its call's customer and setup time, but it is found through its call:
    # call_leg has no (customer, setup) index of its own, one index less to write per leg
    # collected (two million a million calls), for the partial days read here.
    in_period = (col(CallRecord.customer_id) == customer_id, col(CallRecord.setup_at) >= start,
                 col(CallRecord.setup_at) < end)
    of_call = col(CallLeg.call_record_id) == col(CallRecord.id)
    calls, answered = session.execute(select(
        func.count(), func.coalesce(func.sum(case((col(CallLeg.answered), 1), else_=0)), 0))
        .join(CallRecord, of_call)
        .where(*in_period, col(CallLeg.side) == CallLegSide.A)).one()
    # Legs no rate deck priced are summed by their type (as usage_rollup does).
    destination = func.coalesce(func.nullif(CallLeg.destination, ""),
                                cast(CallLeg.leg_type, String))
    for row in session.execute(
            select(col(CallLeg.leg_type), destination, func.count(),
                   func.sum(CallLeg.billing_seconds), func.sum(CallLeg.price),
                   func.sum(CallLeg.cost))
            .join(CallRecord, of_call)
            .where(*in_period, col(CallLeg.billing_seconds) > 0)
            .group_by(col(CallLeg.leg_type), destination)):
        _add(sums, *row)
    return int(calls), int(answered)


def _from_days(session: Session, customer_id: uuid.UUID, first: dt.date, end: dt.date,
               sums: Sums) -> tuple[int, int]:
    """Add the daily totals of days [first, end) to ``sums``; their calls and answered."""
    calls = answered = 0
    for row in session.execute(
            select(col(CallUsageDay.leg_type), col(CallUsageDay.destination),
                   func.sum(CallUsageDay.billed_legs), func.sum(CallUsageDay.billed_seconds),
                   func.sum(CallUsageDay.charges), func.sum(CallUsageDay.cost),
                   func.sum(CallUsageDay.calls), func.sum(CallUsageDay.answered_calls))
            .where(col(CallUsageDay.customer_id) == customer_id, col(CallUsageDay.day) >= first,
                   col(CallUsageDay.day) < end)
            .group_by(col(CallUsageDay.leg_type), col(CallUsageDay.destination))):
        _add(sums, *row[:6])
        calls += int(row[6] or 0)
        answered += int(row[7] or 0)
    return calls, answered


def _midnight(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _call_totals(session: Session, customer_id: uuid.UUID, start: dt.datetime,
                 end: dt.datetime) -> tuple[int, int, Sums]:
    """Calls, answered calls and sums per (leg type, destination) of [start, end): whole UTC
    days from the daily totals, the partial days at either end from the legs."""
    sums: Sums = {}
    first_day = _midnight(start)
    if first_day < start:
        first_day += dt.timedelta(days=1)
    end_day = _midnight(end)
    if first_day >= end_day:
        calls, answered = _from_legs(session, customer_id, start, end, sums)
        return calls, answered, sums
    counts = [_from_days(session, customer_id, first_day.date(), end_day.date(), sums)]
    if start < first_day:
        counts.append(_from_legs(session, customer_id, start, first_day, sums))
    if end_day < end:
        counts.append(_from_legs(session, customer_id, end_day, end, sums))
    return sum(c for c, _ in counts), sum(a for _, a in counts), sums


def usage_summary(session: Session, viewer: Viewer, customer_id: uuid.UUID | None,
                  start: dt.datetime | None, end: dt.datetime | None) -> UsageSummary:
    customer = scoping.get_visible(session, viewer, Customer, customer_id)
    if customer is None:
        raise not_found("customer", "customer")
    start, end = period(start, end)
    costs = sees_costs(viewer, customer.isp_id)
    plan = session.get(ServicePlan, customer.service_plan_id) if customer.service_plan_id \
        else None
    isp = session.get(Isp, customer.isp_id)
    calls, answered, sums = _call_totals(session, customer.id, start, end)
    lines = [ChargeLine(leg_type, where, legs, seconds, _money(charges),
                        _money(cost) if costs else None)
             for (leg_type, where), (legs, seconds, charges, cost) in sorted(sums.items())
             if legs]
    tenant_ids = select(col(Tenant.id)).where(col(Tenant.customer_id) == customer.id)
    subscribers = session.execute(select(func.count()).select_from(Subscriber).where(
        col(Subscriber.tenant_id).in_(tenant_ids),
        col(Subscriber.status) == SubscriberStatus.ACTIVE)).scalar_one()
    per_did = plan.monthly_price_per_did if plan else Decimal(0)
    dids, did_charges, did_cost = session.execute(select(
        func.count(), func.sum(case((col(Number.price) > 0, Number.price), else_=per_did)),
        func.sum(Number.vendor_price)).where(
        col(Number.tenant_id).in_(tenant_ids),
        col(Number.state) == NumberState.ASSIGNED)).one()
    per_subscriber = plan.monthly_price_per_subscriber if plan else Decimal(0)
    return UsageSummary(
        customer=customer, start=start, end=end,
        currency=plan.currency if plan else (isp.currency if isp else ""),
        calls=int(calls), answered_calls=int(answered),
        billed_seconds=sum(line.billed_seconds for line in lines),
        usage_charges=_money(sum((line.charges for line in lines), Decimal(0))),
        lines=lines, subscribers=int(subscribers), dids=int(dids),
        subscriber_charges=_money(per_subscriber * subscribers),
        did_charges=_money(did_charges),
        usage_cost=_money(sum((line.cost or 0 for line in lines), Decimal(0))) if costs
        else None,
        did_cost=_money(did_cost) if costs else None)
