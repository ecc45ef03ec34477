"""Rating a period again, after a deck was corrected: the old ratings stay on record.

Every leg of the customer's calls set up in the period is rated again with the
plan and decks as they are now (entries valid at each call's setup time, as at
the first rating). A leg whose result changes keeps its previous rating as a
``CallLegRevision`` and counts one revision more; one audit event records the
run with the totals before and after. A prepaid customer's balance is charged (or
refunded) the difference its changed prepaid legs make, in its ledger.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session, col

from core import audit, prepaid, scoping, usage_rollup
from core.billing import period
from core.errors import DomainError, ErrorCode, not_found
from core.models import CallLeg, CallLegRevision, CallLegSide, CallRecord, Customer, Isp, utcnow
from core.rating import Rater
from core.viewer import Viewer


@dataclass(frozen=True)
class RerateResult:
    customer: Customer
    legs: int
    changed: int
    previous_total: Decimal
    new_total: Decimal


def rerate_period(session: Session, viewer: Viewer, customer_id: uuid.UUID | None,
                  start: dt.datetime | None, end: dt.datetime | None) -> RerateResult:
    """Rate the customer's legs set up in [start, end) again; ISP administrators only."""
    customer = scoping.get_visible(session, viewer, Customer, customer_id)
    if customer is None:
        raise not_found("customer", "customer")
    if not viewer.can_manage_isp(customer.isp_id):
        raise DomainError.single(ErrorCode.NOT_PERMITTED,
                                 "only the ISP's administrators re-rate calls")
    start, end = period(start, end)
    isp = session.get(Isp, customer.isp_id)
    rater = Rater(session)
    rows = session.execute(
        select(CallLeg, col(CallRecord.carrier_id))
        .join(CallRecord, col(CallRecord.id) == CallLeg.call_record_id)
        # Through the calls' (customer, setup) index: the legs have none (core.usage).
        .where(col(CallRecord.customer_id) == customer.id, col(CallRecord.setup_at) >= start,
               col(CallRecord.setup_at) < end)
        .order_by(col(CallRecord.setup_at), col(CallLeg.id))).all()
    now, changed = utcnow(), 0
    replaced: list[dict[str, object]] = []
    replacing: list[dict[str, object]] = []
    previous_total = new_total = Decimal("0")
    # What the changed prepaid legs were charged, and cost now (core.prepaid).
    prepaid_before = prepaid_after = Decimal("0")
    prepaid_legs = 0
    for leg, carrier_id in rows:
        previous_total += leg.price
        rating = rater.rate(plan_id=customer.service_plan_id, leg_type=leg.leg_type,
                            number=leg.number, seconds=leg.duration_seconds, at=leg.setup_at,
                            carrier_id=carrier_id if leg.side == CallLegSide.B else None,
                            fallback_currency=isp.currency if isp else "")
        new_total += rating.price
        if rating.same_as(leg):
            continue
        session.add(CallLegRevision(call_leg_id=leg.id, revision=leg.revision, deck=leg.deck,
                                    rate_per_minute=leg.rate_per_minute,
                                    billing_seconds=leg.billing_seconds, price=leg.price,
                                    cost=leg.cost, rated_at=leg.rated_at, replaced_at=now))
        replaced.append(usage_rollup.snapshot(leg))
        # A leg charged to the balance when collected has its correction charged there
        # too (whatever the plan says now: a plan changed since moves no old call).
        charged = leg.prepaid
        prepaid_before += leg.price if charged else 0
        rating.apply(leg)
        prepaid_after += leg.price if charged else 0
        prepaid_legs += 1 if charged else 0
        replacing.append(usage_rollup.snapshot(leg))
        leg.revision += 1
        leg.rated_at = now
        session.add(leg)
        changed += 1
    session.flush()
    usage_rollup.add(session, replaced, sign=-1)
    usage_rollup.add(session, replacing)
    prepaid.rerated(session, customer, previous=prepaid_before, new=prepaid_after,
                    legs=prepaid_legs, period=f"{start.isoformat()} to {end.isoformat()}")
    audit.record(session, viewer, action="call_records.rerate", object_type="Customer",
                 object_id=customer.id, isp_id=customer.isp_id,
                 changes={"from": start.isoformat(), "to": end.isoformat(), "legs": len(rows),
                          "changed": changed, "previous_total": str(previous_total),
                          "new_total": str(new_total)})
    return RerateResult(customer, len(rows), changed, previous_total, new_total)
