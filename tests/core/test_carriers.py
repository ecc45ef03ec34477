"""Dense ordering of a parent's children, against the real unique constraint."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from core.carriers import GATEWAYS, gateway_address
from core.errors import DomainError
from core.models import Gateway
from tests.factories import make_carrier, make_gateway, make_isp


def _stored_order(session: Session, carrier_id: object) -> list[tuple[str, int]]:
    session.expire_all()
    rows = session.exec(select(Gateway).where(Gateway.carrier_id == carrier_id)
                        .order_by(Gateway.position)).all()
    return [(row.address, row.position) for row in rows]


def test_reorder_renumbers_from_any_state_without_breaking_uniqueness(session: Session):
    carrier = make_carrier(session, make_isp(session))
    # Gaps, and an order that a one-step renumbering would collide with.
    rows = [make_gateway(session, carrier, address=address, position=position)
            for position, address in ((0, "192.0.2.1"), (1, "192.0.2.2"), (7, "192.0.2.3"))]
    ids = [row.id for row in reversed(rows)]
    ordered = GATEWAYS.reorder(session, carrier.id, ids, "gateways", "gateways")
    assert [row.position for row in ordered] == [0, 1, 2]  # the loaded rows follow
    session.commit()
    assert _stored_order(session, carrier.id) == [
        ("192.0.2.3", 0), ("192.0.2.2", 1), ("192.0.2.1", 2)]


def test_remove_repacks_its_parent_only(session: Session):
    isp = make_isp(session)
    mine, theirs = make_carrier(session, isp), make_carrier(session, isp)
    first = make_gateway(session, mine, address="192.0.2.1", position=4)
    make_gateway(session, mine, address="192.0.2.2", position=9)
    make_gateway(session, theirs, address="192.0.2.1", position=4)
    GATEWAYS.remove(session, first)
    session.commit()
    assert _stored_order(session, mine.id) == [("192.0.2.2", 0)]
    assert _stored_order(session, theirs.id) == [("192.0.2.1", 4)]


@pytest.mark.parametrize(("typed", "shown"), [
    ("192.0.2.10", "192.0.2.10:5060"),
    ("[2001:db8:0::1]:5080", "[2001:db8::1]:5080"),
])
def test_socket_addresses_print_as_people_write_them(typed: str, shown: str):
    assert str(gateway_address(typed)) == shown


def test_an_empty_address_is_required():
    with pytest.raises(DomainError) as raised:
        gateway_address("  ")
    assert [(error.code, error.field) for error in raised.value.errors] == [
        ("REQUIRED", ("address",))]
