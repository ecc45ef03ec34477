"""Arranging call records in the control plane's database, as collection leaves them.

Call records have no API that creates them (the proxies' accounting does, see
core/call_collection.py); tests of what reads them arrange them here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import Engine
from sqlmodel import Session

from core import usage_rollup
from core.models import CallLeg, CallLegSide, CallRecord, Customer, Isp, Service, Tenant
from schema.core.ids import id_of
from tests.factories import make_customer, make_tenant


def arrange_customer(engine: Engine, isp_global_id: str, **customer: object
                     ) -> tuple[uuid.UUID, uuid.UUID]:
    """A customer of the ISP (named by its global id) with one tenant: their ids."""
    with Session(engine) as session:
        isp = session.get(Isp, id_of(isp_global_id, "Isp"))
        assert isp is not None
        made = make_customer(session, isp, **customer)
        tenant = make_tenant(session, isp, made)
        return made.id, tenant.id


def arrange_call(engine: Engine, tenant_id: uuid.UUID, *,
                 setup_at: dt.datetime | None = None, seconds: int = 65,
                 callee: str = "+12095550123", price: Decimal = Decimal("0.0200"),
                 cost: Decimal | None = Decimal("0.0070"),
                 leg_type: Service = Service.PSTN, destination: str = "") -> CallRecord:
    """An answered, rated outbound call of the tenant: leg A free, leg B ``price``."""
    setup_at = setup_at or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    with Session(engine, expire_on_commit=False) as session:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        customer = session.get(Customer, tenant.customer_id)
        assert customer is not None
        answered = setup_at + dt.timedelta(seconds=3)
        record = CallRecord(
            proxy_database="test", call_id=f"{uuid.uuid4()}@test", from_tag="f", to_tag="t",
            isp_id=tenant.isp_id, customer_id=customer.id, tenant_id=tenant.id,
            direction="OUTBOUND", state="COMPLETED", caller="+12095550100", callee=callee,
            setup_at=setup_at, answered_at=answered,
            ended_at=answered + dt.timedelta(seconds=seconds), duration_seconds=seconds,
            sip_code=200, sip_reason="OK")
        session.add(record)
        session.flush()
        legs = []
        for side, kind, number, amount, known in (
                (CallLegSide.A, Service.SIP, record.caller, Decimal("0"), None),
                (CallLegSide.B, leg_type, callee, price, cost)):
            legs.append(CallLeg(
                call_record_id=record.id, side=side, leg_type=kind, direction="OUTBOUND",
                isp_id=record.isp_id, customer_id=customer.id, tenant_id=tenant.id,
                setup_at=setup_at, answered=True, number=number, duration_seconds=seconds,
                deck="RATE_DECK" if amount else "MONTHLY", billing_seconds=seconds if amount
                else 0, price=amount, currency="USD", cost=known,
                destination=destination if amount else ""))
        session.add_all(legs)
        # As collection does: the daily totals the usage summary reads.
        usage_rollup.add(session, [usage_rollup.snapshot(leg) for leg in legs])
        session.commit()
        return record
