"""Session and media border controllers: where tenants' phones register and media flows.

An SMBC belongs to an ISP, or to one of its customers (one on the customer's
premises keeps calls private and close). Its address is an IP literal or a
fully qualified domain name, either with an optional port. An SMBC that a
tenant's phones use cannot be deleted.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from core import audit, validation
from core.catalogue import managed_object, require_free_name
from core.customers import customer_of_isp
from core.dns_names import DnsNameError, normalise_fqdn
from core.errors import DomainError, ErrorCode, ErrorCollector
from core.models import Smbc, Tenant, TenantSmbc
from core.ownership import managed_isp
from core.viewer import Viewer

Check = Callable[[Any, tuple[str, ...]], Any]
MAX_ADDRESS_LENGTH = 253  # the column's size
_BRACKETED = re.compile(r"^\[(?P<host>[^\]]+)\](?::(?P<port>[^:]*))?$")


# Addresses -----------------------------------------------------------------------------------


def _split_port(text: str, field: tuple[str, ...]) -> tuple[str, str | None]:
    """Host and port text; IPv6 literals take a port only inside brackets, as in URLs."""
    bracketed = _BRACKETED.match(text)
    if bracketed:
        if ":" not in bracketed["host"]:
            raise DomainError.single(ErrorCode.INVALID, "brackets are for IPv6 addresses only",
                                     *field)
        return bracketed["host"], bracketed["port"]
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, port
    return text, None


def _port(text: str, field: tuple[str, ...]) -> int:
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 65535):
        raise DomainError.single(ErrorCode.INVALID, "the port must be a number from 1 to 65535",
                                 *field)
    return int(text)


def _host(text: str, field: tuple[str, ...]) -> str:
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(text).compressed
    try:
        return normalise_fqdn(text)
    except DnsNameError as error:
        raise DomainError.single(
            ErrorCode.INVALID, f"not an IP address nor a domain name: {error}", *field) from None


def smbc_address(value: str, field: tuple[str, ...]) -> str:
    """An IP literal or FQDN with an optional port, normalised (e.g. ``[2001:db8::1]:5061``)."""
    host_text, port_text = _split_port(value.strip(), field)
    host = _host(host_text, field)
    if port_text is None:
        return host
    port = _port(port_text, field)
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if len(address) > MAX_ADDRESS_LENGTH:
        raise DomainError.single(ErrorCode.INVALID, "the address is too long", *field)
    return address


_CHECKS: dict[str, Check] = {
    "name": partial(validation.bounded_text, max_length=200, required=True),
    "address": smbc_address,
    "region": partial(validation.bounded_text, max_length=100),
}


# Changing SMBCs ------------------------------------------------------------------------------


def _managed(session: Session, viewer: Viewer, smbc_id: uuid.UUID | None) -> Smbc:
    return managed_object(session, viewer, Smbc, smbc_id, "SMBC")


def _checked(session: Session, viewer: Viewer, isp_id: uuid.UUID,
             values: dict[str, Any]) -> dict[str, Any]:
    errors = ErrorCollector()
    checked = {name: errors.check(_CHECKS[name], value, (name,))
               for name, value in values.items() if name != "customer_id"}
    customer_id = values.get("customer_id")
    if customer_id is not None:
        customer = errors.check(customer_of_isp, session, viewer, customer_id, isp_id)
        checked["customer_id"] = customer.id if customer else None
    elif "customer_id" in values:
        checked["customer_id"] = None  # the ISP's own SMBC
    errors.raise_if_any()
    return checked


def _name_free(session: Session, isp_id: uuid.UUID, name: str,
               smbc_id: uuid.UUID | None = None) -> None:
    require_free_name(session, Smbc, name, f"an SMBC named {name!r} already exists",
                      within=(Smbc.isp_id, isp_id), exclude_id=smbc_id)


def create_smbc(session: Session, viewer: Viewer, isp_id: uuid.UUID | None,
                values: dict[str, Any]) -> Smbc:
    isp = managed_isp(session, viewer, isp_id)
    checked = _checked(session, viewer, isp.id, values)
    _name_free(session, isp.id, checked["name"])
    smbc = Smbc(isp_id=isp.id, **checked)
    session.add(smbc)
    session.flush()
    audit.record(session, viewer, action="smbc.create", object_type="Smbc", object_id=smbc.id,
                 isp_id=isp.id, changes=checked)
    return smbc


def update_smbc(session: Session, viewer: Viewer, smbc_id: uuid.UUID | None,
                changes: dict[str, Any]) -> Smbc:
    """Change the given fields only; ``customer_id=None`` makes it the ISP's own."""
    smbc = _managed(session, viewer, smbc_id)
    checked = _checked(session, viewer, smbc.isp_id, changes)
    if "name" in checked:
        _name_free(session, smbc.isp_id, checked["name"], smbc.id)
    smbc.sqlmodel_update(checked)
    session.add(smbc)
    session.flush()
    audit.record(session, viewer, action="smbc.update", object_type="Smbc", object_id=smbc.id,
                 isp_id=smbc.isp_id, changes=checked)
    return smbc


def delete_smbc(session: Session, viewer: Viewer, smbc_id: uuid.UUID | None) -> Smbc:
    """Delete an SMBC; refused while tenants' phones use it."""
    smbc = _managed(session, viewer, smbc_id)
    users = session.execute(
        select(col(Tenant.name)).join(TenantSmbc, col(TenantSmbc.tenant_id) == Tenant.id)
        .where(col(TenantSmbc.smbc_id) == smbc.id).order_by(col(Tenant.name))
        .limit(10)).scalars().all()
    if users:
        raise DomainError.single(
            ErrorCode.IN_USE, f"tenants use this SMBC ({', '.join(users)}); "
            "take it off those tenants first", "id")
    session.delete(smbc)
    session.flush()
    audit.record(session, viewer, action="smbc.delete", object_type="Smbc", object_id=smbc.id,
                 isp_id=smbc.isp_id, changes={"name": smbc.name})
    return smbc
