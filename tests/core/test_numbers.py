"""The number inventory's rules in core.numbers, driven through sessions (SQLite and PostgreSQL).

The API tests (tests/schema/test_numbers.py) show each operation over HTTP; these
pin the rules themselves: E.164 reasons, amounts, ranges, the lifecycle with its
quarantine, the summary's arithmetic, CSV checks, and the race between two
assignments of one number on separate connections.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from core import number_ranges, numbers
from core.database import make_sync_engine, session_scope
from core.errors import DomainError, ErrorCode
from core.models import (
    Administrator,
    AuditEvent,
    Isp,
    Number,
    NumberState,
    NumberType,
    Role,
    RoleGrant,
    Scope,
    Tenant,
    utcnow,
)
from core.numbers import NumberAttributes
from core.viewer import AuthMethod, Viewer, load_viewer
from tests.conftest import create_postgres_database, drop_postgres_database, migrate_to_head
from tests.factories import make_customer, make_isp, make_number, make_subscriber, make_tenant


def _viewer(session: Session, *, isp: Isp, tenant: Tenant | None = None,
            role: Role = Role.ADMIN) -> Viewer:
    """Someone holding ``role`` in the ISP, or in one of its tenants."""
    person = Administrator(email=f"{role.lower()}-{time.monotonic_ns()}@example.test")
    session.add(person)
    session.flush()
    scope = Scope.TENANT if tenant else Scope.ISP
    session.add(RoleGrant(administrator_id=person.id, scope=scope, role=role, isp_id=isp.id,
                          tenant_id=tenant.id if tenant else None))
    session.commit()
    return load_viewer(session, person.id, auth_method=AuthMethod.SESSION)


def _error(raised: pytest.ExceptionInfo[DomainError]) -> tuple[ErrorCode, str]:
    first = raised.value.errors[0]
    return first.code, first.message


@pytest.fixture
def isp(session: Session) -> Isp:
    return make_isp(session)


@pytest.fixture
def admin(session: Session, isp: Isp) -> Viewer:
    return _viewer(session, isp=isp)


@pytest.fixture
def tenant(session: Session, isp: Isp) -> Tenant:
    return make_tenant(session, isp, make_customer(session, isp))


# E.164 and amounts -----------------------------------------------------------------------------


@pytest.mark.parametrize(("written", "e164"), [
    ("+12095550100", "+12095550100"),
    (" +1 (209) 555-0100 ", "+12095550100"),
    ("+44 20 7946 0958", "+442079460958"),
])
def test_numbers_are_normalised_to_e164(written: str, e164: str):
    assert numbers.e164_of(numbers.parse_e164(written, ("e164",))) == e164


@pytest.mark.parametrize(("written", "reason"), [
    ("12095550100", "missing the +"),
    ("+12O9555O100", "not a phone number"),
    ("call me", "not a phone number"),
    ("+999123456", "the digits after + are not a country calling code"),
    ("+1209", "too short for a number of country code +1"),
    ("+4420794609581234", "too long for a number of country code +44"),
    ("+12091234567", "not a valid number in the numbering plan of +1"),
])
def test_invalid_numbers_say_why(written: str, reason: str):
    with pytest.raises(DomainError) as raised:
        numbers.parse_e164(written, ("e164",))
    assert raised.value.errors[0].field == ("e164",)
    code, message = _error(raised)
    assert code is ErrorCode.INVALID
    assert message.startswith(reason), message


def test_the_type_comes_from_the_numbering_plan():
    assert numbers.type_of(numbers.parse_e164("+18005550100", ())) is NumberType.TOLL_FREE
    assert numbers.type_of(numbers.parse_e164("+12095550100", ())) is NumberType.LOCAL


@pytest.mark.parametrize(("amount", "reason"), [
    (Decimal("-0.01"), "use an amount of zero or more"),
    (Decimal("NaN"), "use an amount of zero or more"),
    (Decimal("1.00001"), "use at most 4 decimal places"),
    (Decimal("10000000000"), "use an amount below 10,000,000,000"),
])
def test_amounts_must_fit_the_money_columns(amount: Decimal, reason: str):
    with pytest.raises(DomainError) as raised:
        numbers.money(amount, ("price",))
    assert _error(raised) == (ErrorCode.INVALID, reason)


def test_amounts_keep_four_places():
    assert str(numbers.money(Decimal("1.5"), ("price",))) == "1.5000"


@pytest.mark.parametrize(("prefix", "pattern"), [("+1209", "+1209%"), ("44", "+44%"),
                                                  (" 1 ", "+1%")])
def test_prefixes_become_like_patterns_of_digits(prefix: str, pattern: str):
    assert numbers.prefix_pattern(prefix) == pattern


@pytest.mark.parametrize("prefix", ["", "+", "12%", "1_2", "+1 209", "1" * 16])
def test_prefixes_other_than_digits_are_refused(prefix: str):
    with pytest.raises(DomainError):
        numbers.prefix_pattern(prefix)


# Adding numbers ----------------------------------------------------------------------------------


def test_a_created_number_is_available_and_audited(session: Session, isp: Isp, admin: Viewer):
    row = numbers.create_number(session, admin, isp.id, "+1 800 555 0100",
                                NumberAttributes(price=Decimal("2.5"), sms=True))
    session.commit()
    assert (row.e164, row.state, row.number_type, row.price, row.sms) == (
        "+18005550100", NumberState.AVAILABLE, NumberType.TOLL_FREE, Decimal("2.5000"), True)
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "number.create")).one()
    assert (event.isp_id, event.object_id, event.changes["e164"]) == (
        isp.id, str(row.id), "+18005550100")


def test_a_number_exists_once_on_the_platform(session: Session, isp: Isp, admin: Viewer):
    other = make_isp(session)
    make_number(session, other, e164="+12095550100")
    with pytest.raises(DomainError) as raised:
        numbers.create_number(session, admin, isp.id, "+12095550100", NumberAttributes())
    assert _error(raised) == (ErrorCode.ALREADY_EXISTS, "already on the platform: +12095550100")


def test_every_mistake_of_an_input_is_reported_at_once(session: Session, isp: Isp,
                                                       admin: Viewer):
    with pytest.raises(DomainError) as raised:
        numbers.create_number(session, admin, isp.id, "+1209",
                              NumberAttributes(price=Decimal("-1"), source="x" * 201))
    assert [error.field for error in raised.value.errors] == [("e164",), ("source",), ("price",)]


def test_a_range_adds_every_number_between_its_ends(session: Session, isp: Isp, admin: Viewer):
    created = numbers.create_range(session, admin, isp.id, "+12095550100", "+12095550199",
                                   NumberAttributes(price=Decimal("1")))
    session.commit()
    stored = session.exec(select(Number.e164).where(Number.isp_id == isp.id)
                          .order_by(Number.e164)).all()
    assert created.count == len(stored) == 100
    assert (stored[0], stored[-1]) == ("+12095550100", "+12095550199")
    assert (created.first.e164, created.last.e164) == ("+12095550100", "+12095550199")


def test_a_range_may_hold_the_maximum(session: Session, isp: Isp, admin: Viewer):
    created = numbers.create_range(session, admin, isp.id, "+12095550000", "+12095559999",
                                   NumberAttributes())
    assert created.count == numbers.MAX_RANGE


@pytest.mark.parametrize(("first", "last", "code", "message"), [
    ("+12095550100", "+12095540100", ErrorCode.INVALID, "last must not come before first"),
    ("+12095550100", "+442079460958", ErrorCode.INVALID,
     "first and last must have the same country code and length"),
    ("+12095550000", "+12095560000", ErrorCode.TOO_LARGE,
     "a range holds at most 10,000 numbers; this one has 10,001"),
    ("+1209", "+12095550100", ErrorCode.INVALID, "too short for a number of country code +1"),
])
def test_ranges_are_bounded(session: Session, isp: Isp, admin: Viewer, first: str, last: str,
                            code: ErrorCode, message: str):
    with pytest.raises(DomainError) as raised:
        numbers.create_range(session, admin, isp.id, first, last, NumberAttributes())
    assert _error(raised) == (code, message)


def test_a_range_with_numbers_already_taken_adds_none(session: Session, isp: Isp,
                                                      admin: Viewer):
    for last_digits in ("0105", "0110", "0120", "0130", "0140", "0150"):
        make_number(session, make_isp(session), e164=f"+1209555{last_digits}")
    make_number(session, isp, e164="+120955501050")  # longer: sorts inside, is not in it
    with pytest.raises(DomainError) as raised:
        numbers.create_range(session, admin, isp.id, "+12095550100", "+12095550199",
                             NumberAttributes())
    # Another ISP's numbers are neither named nor counted (issue 17: no inventory probing).
    assert _error(raised) == (ErrorCode.ALREADY_EXISTS,
                              "some numbers of the range are held elsewhere on the platform")


# The lifecycle -----------------------------------------------------------------------------------


def test_assign_release_and_quarantine_expiry(session: Session, isp: Isp, admin: Viewer,
                                              tenant: Tenant):
    number = make_number(session, isp)
    assigned = numbers.assign_number(session, admin, number.id, tenant.id)
    assert (assigned.state, assigned.tenant_id) == (NumberState.ASSIGNED, tenant.id)
    released = numbers.release_number(session, admin, number.id)
    session.commit()
    assert (released.state, released.tenant_id) == (NumberState.QUARANTINE, None)
    expected_end = utcnow() + dt.timedelta(days=isp.number_quarantine_days)
    assert abs(released.quarantine_until - expected_end) < dt.timedelta(minutes=1)

    assert numbers.expire_quarantine(session, released.quarantine_until
                                     - dt.timedelta(seconds=1)) == 0
    assert numbers.expire_quarantine(session, released.quarantine_until) == 1
    session.commit()
    session.refresh(number)
    assert (number.state, number.quarantine_until) == (NumberState.AVAILABLE, None)


def test_without_quarantine_days_a_released_number_is_available_at_once(
    session: Session, admin: Viewer, isp: Isp, tenant: Tenant
):
    isp.number_quarantine_days = 0
    session.add(isp)
    session.commit()
    number = make_number(session, isp, state=NumberState.ASSIGNED, tenant_id=tenant.id)
    released = numbers.release_number(session, admin, number.id)
    assert (released.state, released.quarantine_until) == (NumberState.AVAILABLE, None)


def test_a_quarantined_number_cannot_be_assigned(session: Session, isp: Isp, admin: Viewer,
                                                 tenant: Tenant):
    until = dt.datetime(2031, 5, 17, tzinfo=dt.UTC)
    number = make_number(session, isp, state=NumberState.QUARANTINE, quarantine_until=until)
    with pytest.raises(DomainError) as raised:
        numbers.assign_number(session, admin, number.id, tenant.id)
    assert _error(raised) == (ErrorCode.INVALID, "the number is in quarantine until 2031-05-17")


def test_releasing_clears_the_target(session: Session, isp: Isp, admin: Viewer,
                                     tenant: Tenant):
    number = make_number(session, isp, state=NumberState.ASSIGNED, tenant_id=tenant.id)
    subscriber = make_subscriber(session, tenant)
    assert numbers.set_target(session, admin, number.id, subscriber.id).target_subscriber_id \
        == subscriber.id
    assert numbers.release_number(session, admin, number.id).target_subscriber_id is None


def test_an_assigned_number_cannot_be_deleted(session: Session, isp: Isp, admin: Viewer,
                                              tenant: Tenant):
    number = make_number(session, isp, state=NumberState.ASSIGNED, tenant_id=tenant.id)
    with pytest.raises(DomainError) as raised:
        numbers.delete_number(session, admin, number.id)
    assert _error(raised) == (ErrorCode.INVALID,
                              "the number is assigned to a tenant: release it first")


def test_a_tenant_administrator_releases_but_does_not_assign(session: Session, isp: Isp,
                                                             tenant: Tenant):
    tenant_admin = _viewer(session, isp=isp, tenant=tenant)
    held = make_number(session, isp, state=NumberState.ASSIGNED, tenant_id=tenant.id)
    with pytest.raises(DomainError) as raised:
        numbers.assign_number(session, tenant_admin, held.id, tenant.id)
    assert _error(raised)[0] is ErrorCode.NOT_PERMITTED
    assert numbers.release_number(session, tenant_admin, held.id).state is NumberState.QUARANTINE


@pytest.fixture
def postgres_engine() -> Iterator[Engine]:
    """A migrated PostgreSQL database of the test's own, whatever the suite runs on."""
    url = create_postgres_database()
    migrate_to_head(url)
    engine = make_sync_engine(url)
    yield engine
    engine.dispose()
    drop_postgres_database(url)


@pytest.mark.postgres
def test_of_two_racing_assignments_exactly_one_wins(postgres_engine: Engine):
    """A holds the row's lock; B read AVAILABLE and waits; A commits; B's UPDATE finds nothing."""
    with session_scope(postgres_engine) as setup:
        isp = make_isp(setup)
        first, second = (make_tenant(setup, isp, make_customer(setup, isp)) for _ in range(2))
        admin, number = _viewer(setup, isp=isp), make_number(setup, isp)
    outcome: list[object] = []

    def assign_second() -> None:
        try:
            with session_scope(postgres_engine) as session:
                outcome.append(numbers.assign_number(session, admin, number.id, second.id))
        except DomainError as error:
            outcome.append(error)

    with session_scope(postgres_engine) as winner:
        numbers.assign_number(winner, admin, number.id, first.id)
        loser = threading.Thread(target=assign_second)
        loser.start()
        _wait_for_a_lock_wait(postgres_engine)
        # Leaving the block commits the winner; the loser's UPDATE then finds no AVAILABLE row.
    loser.join(timeout=30)
    [lost] = outcome
    assert isinstance(lost, DomainError)
    assert (lost.errors[0].code, lost.errors[0].message) == (
        ErrorCode.INVALID, "the number is no longer available")
    with Session(postgres_engine) as session:
        assert session.get(Number, number.id).tenant_id == first.id


def _wait_for_a_lock_wait(engine: Engine, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            if connection.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar():
                return
            time.sleep(0.02)
    raise AssertionError("the second assignment never waited for the first")


# The summary -------------------------------------------------------------------------------------


def test_the_summary_counts_by_state_and_sums_the_assigned_numbers(
    session: Session, isp: Isp, admin: Viewer, tenant: Tenant
):
    for price, vendor in (("1.25", "0.40"), ("3.10", "1.05")):
        make_number(session, isp, state=NumberState.ASSIGNED, tenant_id=tenant.id,
                    price=Decimal(price), vendor_price=Decimal(vendor))
    make_number(session, isp, price=Decimal("9"), vendor_price=Decimal("2"))
    make_number(session, isp, state=NumberState.QUARANTINE, quarantine_until=utcnow())
    make_number(session, make_isp(session), state=NumberState.AVAILABLE)  # another ISP's
    summary = numbers.inventory_summary(session, admin, None)
    assert (summary.available, summary.assigned, summary.quarantine, summary.total) == (1, 2, 1, 4)
    assert (summary.monthly_revenue, summary.monthly_cost, summary.monthly_margin) == (
        Decimal("4.3500"), Decimal("1.4500"), Decimal("2.9000"))
    assert summary.currency == "USD"


def test_an_empty_inventory_sums_to_zero(session: Session, admin: Viewer):
    summary = numbers.inventory_summary(session, admin, None)
    assert (summary.total, summary.monthly_margin) == (0, Decimal("0"))


def test_tenants_do_not_see_the_isps_figures(session: Session, isp: Isp, tenant: Tenant):
    assert numbers.inventory_summary(session, _viewer(session, isp=isp, tenant=tenant),
                                     isp.id) is None


# CSV files ---------------------------------------------------------------------------------------


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def test_a_clean_file_gives_every_number_with_its_attributes(session: Session, isp: Isp):
    found = numbers.check_import(session, isp.id, _csv(
        "e164,type,price,vendor_price,voice,sms,source",
        "+12095550100,,1.5,0.2,yes,no,aws",
        "+1 800 555 0100,toll-free,,,,true,",
    ))
    assert found == {
        "+12095550100": NumberAttributes(source="aws", number_type=NumberType.LOCAL,
                                         price=Decimal("1.5000"), vendor_price=Decimal("0.2000")),
        "+18005550100": NumberAttributes(number_type=NumberType.TOLL_FREE, price=Decimal("0.0000"),
                                         vendor_price=Decimal("0.0000"), sms=True),
    }


def test_the_template_is_a_clean_file(session: Session, isp: Isp):
    assert len(numbers.check_import(session, isp.id, numbers.import_template().encode())) == 2


def test_a_bad_file_names_every_bad_line_in_order(session: Session, isp: Isp):
    make_number(session, isp, e164="+12095550150")
    with pytest.raises(DomainError) as raised:
        numbers.check_import(session, isp.id, _csv(
            "e164,price,voice,type",
            "+12095550150,1,true,LOCAL",
            "+1209,-1,maybe,MOBILE",
            "+12095550100,1,true,LOCAL",
            "+1 209 555 0100,1,true,LOCAL",
            "12095550101,x,,",
        ))
    assert [error.message for error in raised.value.errors] == [
        "line 2: +12095550150 is already in your inventory",
        "line 3: e164: too short for a number of country code +1; type: write LOCAL or "
        "TOLL_FREE; price: use an amount of zero or more; voice: write true or false",
        "line 5: +12095550100 is also on line 4",
        "line 6: e164: missing the +: write the number in E.164 form, starting with + and the "
        "country code; price: 'x' is not an amount",
    ]


def test_a_file_names_no_other_isps_numbers(session: Session, isp: Isp):
    make_number(session, isp, e164="+12095550150")
    make_number(session, make_isp(session), e164="+12095550160")
    make_number(session, make_isp(session), e164="+12095550170")
    with pytest.raises(DomainError) as raised:
        numbers.check_import(session, isp.id, _csv(
            "e164", "+12095550150", "+12095550160", "+12095550170", "+12095550180"))
    messages = [error.message for error in raised.value.errors]
    assert messages == ["line 2: +12095550150 is already in your inventory",
                        number_ranges.HELD_ELSEWHERE]
    assert not any("55501" + digits in message for message in messages
                   for digits in ("60", "70"))


def test_a_file_with_only_other_isps_numbers_is_refused_without_naming_them(
    session: Session, isp: Isp
):
    make_number(session, make_isp(session), e164="+12095550160")
    with pytest.raises(DomainError) as raised:
        numbers.check_import(session, isp.id, _csv("e164", "+12095550160"))
    assert [error.message for error in raised.value.errors] == [number_ranges.HELD_ELSEWHERE]


def test_imports_are_limited_per_isp_and_hour(session: Session, isp: Isp):
    for _ in range(number_ranges.IMPORTS_PER_HOUR):
        number_ranges.count_import(session, isp.id)
    with pytest.raises(DomainError) as raised:
        number_ranges.count_import(session, isp.id)
    assert _error(raised)[0] == ErrorCode.TOO_MANY_ATTEMPTS
    number_ranges.count_import(session, make_isp(session).id)  # another ISP's own budget


def test_a_file_may_hold_at_most_the_row_limit(session: Session, isp: Isp):
    rows = [f"+1209{n:07d}" for n in range(numbers.MAX_IMPORT_ROWS + 1)]
    with pytest.raises(DomainError) as raised:
        numbers.check_import(session, isp.id, _csv("e164", *rows))
    assert raised.value.errors[0].message == "the file has more than 100000 rows"
