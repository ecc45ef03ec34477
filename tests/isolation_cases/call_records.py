"""Isolation cases of call records and their legs: another ISP's call is a call that does
not exist (the records are arranged in the database: only the proxies' accounting makes
them)."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from core.models import CallLeg, CallLegSide
from schema.core.ids import to_global_id
from tests.call_records import arrange_call, arrange_customer
from tests.graphql import SignedUp
from tests.isolation import Case, register


async def _call_record(isp: SignedUp) -> str:
    _customer, tenant = arrange_customer(isp.engine, isp.isp_id)
    return to_global_id("CallRecord", arrange_call(isp.engine, tenant).id)


async def _call_leg(isp: SignedUp) -> str:
    _customer, tenant = arrange_customer(isp.engine, isp.isp_id)
    record = arrange_call(isp.engine, tenant)
    with Session(isp.engine) as session:
        leg = session.execute(select(CallLeg).where(
            CallLeg.call_record_id == record.id, CallLeg.side == CallLegSide.B)).scalars().one()
    return to_global_id("CallLeg", leg.id)


register(Case("CallRecord", _call_record, "callRecords"),
         Case("CallLeg", _call_leg))
