"""Customers of an ISP: who they are, the plan that bills them, and the limits they bought.

A customer may own several tenants. Its limits are enforced where they bite:
whatever creates subscribers asks :func:`subscriber_room` (or calls
:func:`ensure_subscriber_capacity`) in the same transaction, and a limit cannot be
lowered below what is already in use.
Both limits are hard maximums of at least one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from core import audit, validation
from core.catalogue import managed_object, require_free_name
from core.errors import DomainError, ErrorCode, ErrorCollector, not_found
from core.models import (
    Customer,
    CustomerStatus,
    ServicePlan,
    Smbc,
    Tenant,
    TenantSmbc,
)
from core.ownership import managed_isp
from core.scoping import get_visible
from core.viewer import Viewer

Check = Callable[[Any, tuple[str, ...]], Any]
MAX_LIMIT = 1_000_000


def _optional(check: Check) -> Check:
    """``check``, except that empty text stays empty (the field was left blank)."""
    return lambda value, field: check(value, field) if value.strip() else ""


def _limit(value: int, field: tuple[str, ...]) -> int:
    # Zero would forbid every subscriber (or call): a customer buys at least one.
    if not 1 <= value <= MAX_LIMIT:
        raise DomainError.single(ErrorCode.INVALID, f"choose 1 to {MAX_LIMIT}", *field)
    return value


def _text(max_length: int) -> Check:
    return partial(validation.bounded_text, max_length=max_length)


_CHECKS: dict[str, Check] = {
    "name": partial(validation.bounded_text, max_length=200, required=True),
    "contact_name": _text(200),
    "contact_email": _optional(validation.email_address),
    "contact_phone": _optional(validation.e164_phone),
    "address_line1": _text(200),
    "address_line2": _text(200),
    "city": _text(100),
    "region": _text(100),
    "postal_code": _text(20),
    "country": validation.country_code,
    "max_subscribers": _limit,
    "max_concurrent_calls": _limit,
    "status": lambda value, _field: CustomerStatus(value),
}


# Looking customers up ------------------------------------------------------------------------


def _managed(session: Session, viewer: Viewer, customer_id: uuid.UUID | None) -> Customer:
    return managed_object(session, viewer, Customer, customer_id, "customer")


def customer_of_isp(session: Session, viewer: Viewer, customer_id: uuid.UUID,
                    isp_id: uuid.UUID) -> Customer:
    """A customer the viewer sees, of this ISP; any other answers like a missing one."""
    customer = get_visible(session, viewer, Customer, customer_id)
    if customer is None or customer.isp_id != isp_id:
        raise not_found("customer", "customer")
    return customer


def _plan_of_isp(session: Session, viewer: Viewer, isp_id: uuid.UUID,
                 plan_id: uuid.UUID | None) -> uuid.UUID | None:
    if plan_id is None:
        return None  # no plan (yet): the customer is not billed
    plan = get_visible(session, viewer, ServicePlan, plan_id)
    if plan is None or plan.isp_id != isp_id:
        raise not_found("service plan", "service_plan")
    return plan.id


# Limits --------------------------------------------------------------------------------------


def subscriber_count(session: Session, customer_id: uuid.UUID) -> int:
    """Subscribers across all the customer's tenants (disabled ones hold their place too).

    Read from ``customer.subscriber_count``, which the database keeps (migration 0019):
    counting the rows read every subscriber of the customer, 50,000 for a large tenant,
    on each write that creates users. Read after :func:`_locked`, it is exact: whoever
    adds subscribers holds the customer's row lock until it commits."""
    statement = select(col(Customer.subscriber_count)).where(col(Customer.id) == customer_id)
    return session.execute(statement).scalar_one_or_none() or 0


def _locked(session: Session, customer_id: uuid.UUID) -> Customer | None:
    # FOR UPDATE serialises everyone counting against this customer's limit, so two
    # transactions cannot both take the last place. SQLite ignores it: there, writers
    # are serialised but a count may be read before the other writer commits.
    return session.get(Customer, customer_id, with_for_update=True, populate_existing=True)


@dataclass(frozen=True)
class SubscriberRoom:
    """How many more subscribers a customer may have, and why."""

    customer_name: str
    maximum: int
    used: int

    @property
    def left(self) -> int:
        return max(0, self.maximum - self.used)

    def refusal(self, adding: int) -> str:
        return (f"{self.customer_name} may have at most {self.maximum} subscribers across its "
                f"tenants and has {self.used}: {adding} more do not fit ({self.left} do)")


def subscriber_room(session: Session, customer_id: uuid.UUID) -> SubscriberRoom:
    """The customer's room for new subscribers, its row locked until the transaction ends.

    The one rule every path that creates subscribers follows (by hand, in bulk, by
    directory import or re-sync): ask in the transaction that creates them, before
    they are added, and create at most ``left``.
    """
    customer = _locked(session, customer_id)
    if customer is None:
        raise not_found("customer", "customer")
    # populate_existing re-read the row, its count with it: no second query.
    return SubscriberRoom(customer.name, customer.max_subscribers, customer.subscriber_count)


def ensure_subscriber_capacity(session: Session, customer_id: uuid.UUID, adding: int) -> None:
    """Refuse to add ``adding`` subscribers beyond the customer's maximum (LIMIT_REACHED).

    Call it in the transaction that creates them, before they are added: the
    customer's row stays locked until that transaction ends.
    """
    room = subscriber_room(session, customer_id)
    if adding > room.left:
        raise DomainError.single(ErrorCode.LIMIT_REACHED, room.refusal(adding), "customer")


def _check_new_maximum(session: Session, customer: Customer, maximum: int) -> None:
    _locked(session, customer.id)
    used = subscriber_count(session, customer.id)
    if maximum < used:
        raise DomainError.single(
            ErrorCode.INVALID,
            f"the customer already has {used} subscribers; remove some before lowering "
            "the maximum", "max_subscribers")


# Changing customers --------------------------------------------------------------------------


def _checked(session: Session, viewer: Viewer, isp_id: uuid.UUID,
             values: dict[str, Any]) -> dict[str, Any]:
    errors = ErrorCollector()
    checked = {name: errors.check(_CHECKS[name], value, (name,))
               for name, value in values.items() if name != "service_plan_id"}
    if "service_plan_id" in values:
        checked["service_plan_id"] = errors.check(_plan_of_isp, session, viewer, isp_id,
                                                  values["service_plan_id"])
    errors.raise_if_any()
    return checked


def _name_free(session: Session, isp_id: uuid.UUID, name: str,
               customer_id: uuid.UUID | None = None) -> None:
    require_free_name(session, Customer, name, f"a customer named {name!r} already exists",
                      within=(Customer.isp_id, isp_id), exclude_id=customer_id)


def create_customer(session: Session, viewer: Viewer, isp_id: uuid.UUID | None,
                    values: dict[str, Any]) -> Customer:
    isp = managed_isp(session, viewer, isp_id)
    checked = _checked(session, viewer, isp.id, values)
    _name_free(session, isp.id, checked["name"])
    customer = Customer(isp_id=isp.id, **checked)
    session.add(customer)
    session.flush()
    audit.record(session, viewer, action="customer.create", object_type="Customer",
                 object_id=customer.id, isp_id=isp.id, changes=checked)
    return customer


def update_customer(session: Session, viewer: Viewer, customer_id: uuid.UUID | None,
                    changes: dict[str, Any]) -> Customer:
    """Change the given fields only."""
    customer = _managed(session, viewer, customer_id)
    checked = _checked(session, viewer, customer.isp_id, changes)
    if "name" in checked:
        _name_free(session, customer.isp_id, checked["name"], customer.id)
    if "max_subscribers" in checked:
        _check_new_maximum(session, customer, checked["max_subscribers"])
    customer.sqlmodel_update(checked)
    session.add(customer)
    session.flush()
    audit.record(session, viewer, action="customer.update", object_type="Customer",
                 object_id=customer.id, isp_id=customer.isp_id, changes=checked)
    return customer


def _names(session: Session, statement: Any) -> str:
    return ", ".join(session.execute(statement.order_by(Tenant.name).limit(10)).scalars())


def delete_customer(session: Session, viewer: Viewer, customer_id: uuid.UUID | None) -> Customer:
    """Delete a customer (and its own SMBCs); refused while it owns tenants or they are used."""
    customer = _managed(session, viewer, customer_id)
    owned = _names(session, select(col(Tenant.name)).where(col(Tenant.customer_id) == customer.id))
    if owned:
        raise DomainError.single(
            ErrorCode.IN_USE, f"the customer still owns tenants ({owned}); delete them or "
            "give them to another customer first", "id")
    using_smbcs = _names(session, select(col(Tenant.name)).distinct()
                         .join(TenantSmbc, col(TenantSmbc.tenant_id) == Tenant.id)
                         .join(Smbc, col(Smbc.id) == TenantSmbc.smbc_id)
                         .where(col(Smbc.customer_id) == customer.id))
    if using_smbcs:
        raise DomainError.single(
            ErrorCode.IN_USE, f"tenants use the customer's SMBCs ({using_smbcs}); "
            "take the SMBCs off those tenants first", "id")
    session.delete(customer)
    session.flush()
    audit.record(session, viewer, action="customer.delete", object_type="Customer",
                 object_id=customer.id, isp_id=customer.isp_id, changes={"name": customer.name})
    return customer
