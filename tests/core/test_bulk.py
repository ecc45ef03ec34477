"""Bulk writes (COPY and set-based UPDATE on PostgreSQL, executemany on SQLite) store what
an ORM write would, and the routing export hears of them."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Engine, select
from sqlmodel import Session

from core.bulk import insert_rows, update_rows
from core.database import session_scope
from core.models import (
    DirectoryLink,
    DirectoryPreviewRow,
    DirectoryProvider,
    Job,
    SipProxy,
    Subscriber,
    SubscriberSource,
    SubscriberStatus,
    Tenant,
)
from core.routing_changes import EXPORT
from tests.factories import make_customer, make_isp, make_subscriber, make_tenant

EARLIER = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 6, 7, 8, 9, 10, tzinfo=dt.UTC)


def _tenant(session: Session) -> Tenant:
    isp = make_isp(session)
    tenant = make_tenant(session, isp, make_customer(session, isp))
    session.commit()
    return tenant


def _row(tenant: Tenant, username: str, **fields: object) -> dict[str, object]:
    return Subscriber(tenant_id=tenant.id, username=username, sip_password_encrypted="sealed",
                      ha1="a" * 32, ha1b="b" * 32, country_code="1", **fields).model_dump()


def _subscribers(engine: Engine, tenant: Tenant) -> dict[str, Subscriber]:
    with Session(engine) as session:
        return {row.username: row for row in session.execute(
            select(Subscriber).where(Subscriber.tenant_id == tenant.id)).scalars()}


def test_inserted_rows_read_back_as_written(engine: Engine, session: Session) -> None:
    tenant = _tenant(session)
    rows = [_row(tenant, "ann", email="ann@example.com", alias="1000"),
            _row(tenant, "bob", status=SubscriberStatus.DISABLED, disabled_at=EARLIER,
                 source=SubscriberSource.GOOGLE, external_id="g-bob", caller_id=None)]

    with session_scope(engine) as writing:
        insert_rows(writing, Subscriber, rows)

    stored = _subscribers(engine, tenant)
    assert stored["ann"].id == rows[0]["id"]
    assert (stored["ann"].email, stored["ann"].alias, stored["ann"].status) == (
        "ann@example.com", "1000", SubscriberStatus.ACTIVE)
    assert stored["bob"].status is SubscriberStatus.DISABLED
    assert stored["bob"].source is SubscriberSource.GOOGLE
    assert stored["bob"].disabled_at == EARLIER
    assert stored["bob"].caller_id is None


def test_json_columns_are_inserted_as_json(engine: Engine, session: Session) -> None:
    tenant = _tenant(session)
    link = DirectoryLink(tenant_id=tenant.id, provider=DirectoryProvider.GOOGLE)
    session.add(link)
    session.commit()
    row = DirectoryPreviewRow(link_id=link.id, position=0, external_id="g-1", username="ann",
                              conflicts=["the username ann is taken: ann2 instead"]).model_dump()

    with session_scope(engine) as writing:
        insert_rows(writing, DirectoryPreviewRow, [row])

    with Session(engine) as reading:
        stored = reading.get(DirectoryPreviewRow, row["id"])
        assert stored is not None
        assert stored.conflicts == ["the username ann is taken: ann2 instead"]


def test_updates_set_each_rows_own_columns_and_fill_only_empty_ones(engine: Engine,
                                                                   session: Session) -> None:
    tenant = _tenant(session)
    ann = make_subscriber(session, tenant, username="ann", display_name="Ann")
    bob = make_subscriber(session, tenant, username="bob", display_name="Bob",
                          status=SubscriberStatus.DISABLED, disabled_at=EARLIER)
    untouched = make_subscriber(session, tenant, username="cy", display_name="Cy")
    session.commit()

    with session_scope(engine) as writing:
        update_rows(writing, Subscriber, [
            {"id": ann.id, "display_name": "Ann Renamed", "status": SubscriberStatus.DISABLED,
             "disabled_at": LATER},
            {"id": bob.id, "status": SubscriberStatus.DISABLED, "disabled_at": LATER},
        ], fill_only=frozenset({"disabled_at"}))

    stored = _subscribers(engine, tenant)
    assert (stored["ann"].display_name, stored["ann"].status, stored["ann"].disabled_at) == (
        "Ann Renamed", SubscriberStatus.DISABLED, LATER)
    # Already disabled: the first time stays; the name was not in its row.
    assert (stored["bob"].display_name, stored["bob"].disabled_at) == ("Bob", EARLIER)
    assert (stored["cy"].display_name, stored["cy"].status) == ("Cy", SubscriberStatus.ACTIVE)
    assert stored["cy"].updated_at == untouched.updated_at


def test_no_rows_write_nothing(engine: Engine, session: Session) -> None:
    tenant = _tenant(session)

    with session_scope(engine) as writing:
        insert_rows(writing, Subscriber, [])
        update_rows(writing, Subscriber, [])

    assert _subscribers(engine, tenant) == {}


def test_bulk_writes_of_routing_tables_ask_for_an_export(engine: Engine,
                                                         session: Session) -> None:
    tenant = _tenant(session)
    session.add(SipProxy(name="edge", database_url_encrypted="sealed",
                         database_display="postgresql://proxy@db/kamailio",
                         database_key="proxy-db", rpc_url="http://127.0.0.1:1/RPC"))
    session.commit()

    def export_jobs() -> int:
        with Session(engine) as reading:
            return len(reading.execute(select(Job).where(Job.kind == EXPORT.kind)).all())

    with session_scope(engine) as writing:
        insert_rows(writing, Subscriber, [_row(tenant, "ann")])
    assert export_jobs() == 1

    with Session(engine) as reading:
        for job in reading.execute(select(Job).where(Job.kind == EXPORT.kind)).scalars():
            reading.delete(job)
        reading.commit()
    subscriber_id = _subscribers(engine, tenant)["ann"].id
    with session_scope(engine) as writing:
        update_rows(writing, Subscriber, [{"id": subscriber_id, "display_name": "Ann"}])
    assert export_jobs() == 1


def test_unknown_ids_update_nothing(engine: Engine, session: Session) -> None:
    tenant = _tenant(session)
    make_subscriber(session, tenant, username="ann", display_name="Ann")
    session.commit()

    with session_scope(engine) as writing:
        update_rows(writing, Subscriber, [{"id": uuid.uuid4(), "display_name": "Nobody"}])

    assert _subscribers(engine, tenant)["ann"].display_name == "Ann"


def test_optional_columns_keep_their_value_where_a_row_leaves_them_out(
        engine: Engine, session: Session) -> None:
    tenant = _tenant(session)
    ann = make_subscriber(session, tenant, username="ann", display_name="Ann",
                          email="ann@example.com")
    bob = make_subscriber(session, tenant, username="bob", display_name="Bob",
                          email="bob@example.com")
    session.commit()

    with session_scope(engine) as writing:
        update_rows(writing, Subscriber, [
            {"id": ann.id, "display_name": "Ann Renamed"},
            {"id": bob.id, "email": "robert@example.com", "display_name": None},
        ], optional=frozenset({"display_name", "email"}))

    stored = _subscribers(engine, tenant)
    assert (stored["ann"].display_name, stored["ann"].email) == ("Ann Renamed",
                                                                 "ann@example.com")
    assert (stored["bob"].display_name, stored["bob"].email) == ("Bob", "robert@example.com")
