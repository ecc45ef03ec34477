"""Caller IDs follow the numbers: every path that takes a number from a tenant clears them.

The administrator's release is exercised end to end (tests/e2e/test_sip_tenancy.py);
here the directory path: a deleted directory user's subscriber is removed after the
grace period, its numbers go to quarantine, and the colleagues who presented one of
them as their caller ID present nothing any more.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine
from sqlmodel import Session

from core.caller_ids import numbers_left_tenant
from core.database import session_scope
from core.directory_actions import remove_expired
from core.models import (
    DirectoryLink,
    DirectoryProvider,
    Number,
    NumberState,
    Subscriber,
    SubscriberSource,
    utcnow,
)
from tests.factories import make_customer, make_isp, make_number, make_subscriber, make_tenant


def test_a_removed_directory_users_numbers_stop_being_anyones_caller_id(
        engine: Engine, session: Session) -> None:
    isp = make_isp(session)
    tenant = make_tenant(session, isp, make_customer(session, isp))
    other = make_tenant(session, isp, make_customer(session, isp))
    session.add(DirectoryLink(tenant_id=tenant.id, provider=DirectoryProvider.GOOGLE,
                              removal_grace_days=1))
    leaver = make_subscriber(session, tenant, source=SubscriberSource.GOOGLE,
                             external_id="g-leaver",
                             directory_deleted_at=utcnow() - dt.timedelta(days=2))
    main = make_number(session, isp, state=NumberState.ASSIGNED, tenant_id=tenant.id,
                       target_subscriber_id=leaver.id)
    kept = make_number(session, isp, state=NumberState.ASSIGNED, tenant_id=tenant.id)
    colleague = make_subscriber(session, tenant, caller_id=main.e164)
    keeper = make_subscriber(session, tenant, caller_id=kept.e164)
    # Another tenant's subscriber with the same (invalid for it) text is not this rule's.
    stranger = make_subscriber(session, other, caller_id=main.e164)

    with session_scope(engine) as scoped:
        assert remove_expired(scoped) == 1

    session.expire_all()
    assert session.get(Number, main.id).state is NumberState.QUARANTINE  # type: ignore[union-attr]
    assert session.get(Subscriber, colleague.id).caller_id is None  # type: ignore[union-attr]
    assert session.get(Subscriber, keeper.id).caller_id == kept.e164  # type: ignore[union-attr]
    assert session.get(Subscriber, stranger.id).caller_id == main.e164  # type: ignore[union-attr]


def test_nothing_to_clear_without_numbers(session: Session) -> None:
    isp = make_isp(session)
    tenant = make_tenant(session, isp, make_customer(session, isp))
    number = make_number(session, isp, state=NumberState.ASSIGNED, tenant_id=tenant.id)
    subscriber = make_subscriber(session, tenant, caller_id=number.e164)

    assert numbers_left_tenant(session, tenant.id, []) == 0
    assert numbers_left_tenant(session, tenant.id, ["+12095559999"]) == 0
    session.commit()
    session.expire_all()
    assert session.get(Subscriber, subscriber.id).caller_id == number.e164  # type: ignore[union-attr]
