"""An ISP's calls go with it: call_record and call_leg have no foreign keys (collection
does not pay a check per row), and a trigger on isp deletes them instead (migration
0017), on both databases."""

from __future__ import annotations

from sqlalchemy import Engine, func, select, text
from sqlmodel import Session

from core.models import CallLeg, CallRecord
from tests.call_records import arrange_call
from tests.factories import make_customer, make_isp, make_tenant


def _count(session: Session, model: type[CallRecord] | type[CallLeg]) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_deleting_an_isp_deletes_its_calls_and_no_other(engine: Engine, session: Session):
    gone, kept = make_isp(session), make_isp(session)
    tenants = [make_tenant(session, isp, make_customer(session, isp)) for isp in (gone, kept)]
    for tenant in tenants:
        arrange_call(engine, tenant.id)
    session.commit()
    assert (_count(session, CallRecord), _count(session, CallLeg)) == (2, 4)

    raw = gone.id.hex if session.get_bind().dialect.name == "sqlite" else gone.id
    session.execute(text("DELETE FROM isp WHERE id = :id"), {"id": raw})
    session.commit()

    records = session.execute(select(CallRecord.isp_id)).scalars().all()
    assert records == [kept.id]
    assert session.execute(select(CallLeg.isp_id).distinct()).scalars().all() == [kept.id]
