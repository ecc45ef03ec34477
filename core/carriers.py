"""Carriers and their gateways: the SIP trunks an ISP sends calls to.

Carriers authorise the platform by source address only (no passwords), so a
gateway is an IP literal, never a host name. Calls try a carrier's gateways by
position, the next one being the failover; positions are kept 0..n-1.

The first part holds what every catalogue object of an ISP shares (dial plans
use it too): lookups that answer NOT_FOUND for another ISP's object and
NOT_PERMITTED for a read-only role, unique names, refusing to delete what
tenants use, and ordering a parent's children.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import case, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, SQLModel, select

from core import audit, scoping, validation
from core.errors import DomainError, ErrorCode, ErrorCollector, not_found
from core.models import DEFAULT_SIP_PORT, Carrier, Gateway, Tenant
from core.ownership import managed_isp, require_manager
from core.viewer import Viewer

T = TypeVar("T", bound=SQLModel)

# The ISP's catalogue -----------------------------------------------------------------------------


def managed_object(session: Session, viewer: Viewer, model: type[T], object_id: uuid.UUID,
                   what: str, field: str = "id") -> T:
    """An object of the ISP's catalogue that the viewer may change.

    Out of the viewer's scope answers like missing; a read-only role is NOT_PERMITTED.
    """
    row: Any = scoping.get_visible(session, viewer, model, object_id)
    if row is None:
        raise not_found(what, field)
    require_manager(viewer, row.isp_id)
    return row


def record(session: Session, viewer: Viewer, verb: str, row: Any, isp_id: uuid.UUID,
           changes: dict[str, Any] | None = None) -> None:
    """Audit a change to ``row`` as ``<table>.<verb>``, e.g. gateway.create."""
    audit.record(session, viewer, action=f"{row.__tablename__}.{verb}",
                 object_type=type(row).__name__, object_id=row.id, isp_id=isp_id,
                 changes=changes)


def _what(model: Any) -> str:
    return str(model.__tablename__).replace("_", " ")


def _require_free_name(session: Session, model: Any, isp_id: uuid.UUID, name: str,
                       exclude_id: uuid.UUID | None = None) -> None:
    """Names are unique per ISP: people pick carriers and dial plans by name."""
    taken = session.exec(select(model.id).where(
        model.isp_id == isp_id, model.name == name, model.id != exclude_id,
    )).first()
    if taken is not None:
        raise DomainError.single(ErrorCode.ALREADY_EXISTS,
                                 f"this ISP already has a {_what(model)} named {name!r}", "name")


def _refuse_while_tenants_use(session: Session, used_by: Any, row: Any) -> None:
    """Tenants reference catalogue objects; deleting one in use would break their calls."""
    shown = 5
    names = session.exec(
        select(Tenant.name).where(used_by == row.id).order_by(Tenant.name).limit(shown + 1)
    ).all()
    if names:
        what = _what(type(row))
        listed = ", ".join(names[:shown]) + (" and others" if len(names) > shown else "")
        raise DomainError.single(
            ErrorCode.IN_USE, f"this {what} is used by tenants {listed}; "
            f"give them another {what} first", "id")


def _named_values(name: str | None, description: str | None) -> dict[str, Any]:
    errors = ErrorCollector()
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = errors.check(validation.bounded_text, name, ("name",),
                                      max_length=200, required=True)
    if description is not None:
        values["description"] = errors.check(validation.bounded_text, description,
                                             ("description",), max_length=500)
    errors.raise_if_any()
    return values


def create_named(session: Session, viewer: Viewer, model: type[T], isp_id: uuid.UUID | None,
                 *, name: str, description: str) -> T:
    """A new named object (a carrier, a dial plan) of the ISP the viewer manages."""
    isp = managed_isp(session, viewer, isp_id)
    values = _named_values(name, description)
    _require_free_name(session, model, isp.id, values["name"])
    row = model(isp_id=isp.id, **values)
    session.add(row)
    session.flush()
    record(session, viewer, "create", row, isp.id, values)
    return row


def update_named(session: Session, viewer: Viewer, model: type[T], object_id: uuid.UUID, *,
                 name: str | None, description: str | None) -> T:
    """Change the name and description given (None: unchanged)."""
    row: Any = managed_object(session, viewer, model, object_id, _what(model))
    changes = {key: value for key, value in _named_values(name, description).items()
               if value != getattr(row, key)}
    if "name" in changes:
        _require_free_name(session, model, row.isp_id, changes["name"], exclude_id=row.id)
    if changes:
        row.sqlmodel_update(changes)
        session.add(row)
        record(session, viewer, "update", row, row.isp_id, changes)
    return row


def delete_named(session: Session, viewer: Viewer, model: type[T], object_id: uuid.UUID, *,
                 used_by: Any) -> T:
    """Delete a named object unless tenants use it (``used_by``: their column naming it)."""
    row: Any = managed_object(session, viewer, model, object_id, _what(model))
    _refuse_while_tenants_use(session, used_by, row)
    session.delete(row)
    record(session, viewer, "delete", row, row.isp_id, {"name": row.name})
    return row


@dataclass(frozen=True)
class OrderedChildren(Generic[T]):
    """A parent's children (a carrier's gateways...) numbered 0..n-1, unique per parent.

    A change renumbers every child in two statements: first all move above the
    highest number in use, then each takes its final number. No statement ever
    needs two children to share a number, which the unique constraint (checked
    row by row on PostgreSQL and SQLite alike) would refuse. Changes lock the
    parent's row first, so that concurrent ones queue up.
    """

    parent_model: type[SQLModel]
    parent: Any  # the children's column referencing the parent
    number: Any  # the children's order column, also the input field naming a place

    def managed(self, session: Session, viewer: Viewer, child_id: uuid.UUID,
                what: str) -> tuple[T, Any]:
        """A child the viewer may change, and its parent (see :func:`managed_object`)."""
        child: Any = scoping.get_visible(session, viewer, self.parent.class_, child_id)
        if child is None:
            raise not_found(what, "id")
        parent: Any = session.get(self.parent_model, self._parent_id(child))
        require_manager(viewer, parent.isp_id)
        return child, parent

    def children(self, session: Session, parent_id: uuid.UUID) -> list[T]:
        model = self.parent.class_
        return list(session.exec(select(model).where(self.parent == parent_id)
                                 .order_by(self.number)))

    def insert(self, session: Session, row: T, place: int | None) -> int:
        """Add ``row`` at ``place`` (None: last); returns its place."""
        children = self._locked_children(session, row)
        place = len(children) if place is None else place
        self._check_place(place, len(children))
        setattr(row, self.number.key, self._next_number(children))
        session.add(row)
        session.flush()
        self._write(session, row, self._moved([*children, row], row, place))
        return place

    def move(self, session: Session, row: T, place: int) -> None:
        children = self._locked_children(session, row)
        self._check_place(place, len(children) - 1)
        self._write(session, row, self._moved(children, row, place))

    def remove(self, session: Session, row: T) -> None:
        """Delete ``row``; the children after it move up one place."""
        children = self._locked_children(session, row)
        session.delete(row)
        session.flush()
        self._write(session, row, [child for child in children if child is not row])

    def reorder(self, session: Session, parent_id: uuid.UUID,
                ids: Sequence[uuid.UUID | None], what: str, field: str) -> list[T]:
        """Put the children in the order of ``ids``, which must name each of them once."""
        children = self._locked_children(session, parent_id)
        # SQLModel's base class declares no id; every ordered model has one.
        by_id: dict[Any, T] = {child.id: child for child in children}  # type: ignore[attr-defined]
        if len(ids) != len(by_id) or set(ids) != set(by_id):
            raise DomainError.single(
                ErrorCode.INVALID, f"list each of the {len(by_id)} {what} exactly once", field)
        ordered = [by_id[object_id] for object_id in ids]
        self._write(session, parent_id, ordered)
        return ordered

    def _parent_id(self, row_or_parent_id: T | uuid.UUID) -> uuid.UUID:
        if isinstance(row_or_parent_id, uuid.UUID):
            return row_or_parent_id
        return getattr(row_or_parent_id, self.parent.key)

    def _locked_children(self, session: Session, row_or_parent_id: T | uuid.UUID) -> list[T]:
        parent_id = self._parent_id(row_or_parent_id)
        parent_key: Any = self.parent_model.id  # type: ignore[attr-defined]  # as above
        session.exec(select(parent_key).where(parent_key == parent_id).with_for_update()).first()
        return self.children(session, parent_id)

    def _next_number(self, children: Sequence[T]) -> int:
        return max((getattr(row, self.number.key) for row in children), default=-1) + 1

    def _check_place(self, place: int, last: int) -> None:
        if not 0 <= place <= last:
            field = self.number.key
            raise DomainError.single(ErrorCode.INVALID, f"{field} must be between 0 and {last}",
                                     field)

    @staticmethod
    def _moved(children: Sequence[T], row: T, place: int) -> list[T]:
        others = [child for child in children if child is not row]
        return [*others[:place], row, *others[place:]]

    def _write(self, session: Session, row_or_parent_id: T | uuid.UUID,
               ordered: Sequence[T]) -> None:
        """Number ``ordered``, every child of the parent, 0..n-1 in that order."""
        key = self.number.key
        if [getattr(row, key) for row in ordered] == list(range(len(ordered))):
            return
        model, parent_id = self.parent.class_, self._parent_id(row_or_parent_id)
        above = self._next_number(ordered)
        session.flush()
        session.exec(update(model).where(self.parent == parent_id)
                     .values({key: self.number + above})
                     .execution_options(synchronize_session=False))
        # row.id: as in reorder, an id SQLModel's base class does not declare.
        final = case(*((model.id == row.id, place)  # type: ignore[attr-defined]
                       for place, row in enumerate(ordered)))
        session.exec(update(model).where(self.parent == parent_id).values({key: final})
                     .execution_options(synchronize_session=False))
        for place, row in enumerate(ordered):
            set_committed_value(row, key, place)


# Carriers ---------------------------------------------------------------------------------------


def create_carrier(session: Session, viewer: Viewer, isp_id: uuid.UUID | None, *,
                   name: str, description: str = "") -> Carrier:
    return create_named(session, viewer, Carrier, isp_id, name=name, description=description)


def update_carrier(session: Session, viewer: Viewer, carrier_id: uuid.UUID, *,
                   name: str | None = None, description: str | None = None) -> Carrier:
    return update_named(session, viewer, Carrier, carrier_id, name=name,
                        description=description)


def delete_carrier(session: Session, viewer: Viewer, carrier_id: uuid.UUID) -> Carrier:
    """Delete a carrier no tenant uses; its gateways go with it (ON DELETE CASCADE)."""
    return delete_named(session, viewer, Carrier, carrier_id, used_by=Tenant.carrier_id)


# Gateway values ---------------------------------------------------------------------------------

MAX_STRIP = 15  # an E.164 number has at most 15 digits
MAX_ATTRIBUTES = 32
MAX_ATTRIBUTE_VALUE = 256
MAX_GATEWAY_CALLS = 100_000
_PREFIX = re.compile(r"[0-9+#*]{0,32}")
_FROM_USER = re.compile(r"[A-Za-z0-9+*#._-]{0,64}")
_ATTRIBUTE_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class SocketAddress:
    address: str  # normalised: IPv6 compressed, IPv4-mapped IPv6 as IPv4
    port: int

    def __str__(self) -> str:
        """As people write it: 192.0.2.10:5060, [2001:db8::1]:5060."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


def _invalid(message: str, field: str) -> DomainError:
    return DomainError.single(ErrorCode.INVALID, message, field)


_BROADCAST = ipaddress.ip_address("255.255.255.255")


def _refused_class(ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
                   allow_loopback: bool) -> str | None:
    """Why no carrier's calls can come from ``ip``, or None. Private ranges are fine:
    carriers on a private interconnect are common."""
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if ip == _BROADCAST:
        return "the broadcast address"
    if ip.is_link_local:
        return "a link-local address (169.254.0.0/16, fe80::/10)"
    if ip.is_loopback and not allow_loopback:
        return ("a loopback address (this platform's settings refuse them: "
                "WEHOSTVOIP_GATEWAY_LOOPBACK)")
    return None


def _ip(text: str, allow_loopback: bool) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if "/" in text:
        raise _invalid("write one address, not a network: no /prefix", "address")
    if "%" in text:
        raise _invalid("zone ids such as %eth0 are not allowed", "address")
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        raise _invalid(f"{text!r} is not an IP address; host names are refused because the "
                       "proxies recognise a carrier by the address its calls come from",
                       "address") from None
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    refused = _refused_class(ip, allow_loopback)
    if refused:
        raise _invalid(f"{ip} cannot be a gateway: it is {refused}, and a carrier's calls "
                       "never come from one", "address")
    return ip


def _port(text: str) -> int:
    if not text.isdigit():
        raise _invalid("write the port as a number after the colon (or leave both out "
                       f"for {DEFAULT_SIP_PORT})", "address")
    port = int(text)
    if not 1 <= port <= 65535:
        raise _invalid("a port is between 1 and 65535", "address")
    return port


def gateway_address(text: str, *, allow_loopback: bool = False) -> SocketAddress:
    """Read ``192.0.2.10``, ``192.0.2.10:5080``, ``2001:db8::1`` or ``[2001:db8::1]:5080``.

    Unspecified, multicast, broadcast and link-local addresses are refused, and
    loopback unless ``allow_loopback`` (the setting ``gateway_loopback``).
    """
    text = text.strip()
    if not text:
        raise DomainError.single(ErrorCode.REQUIRED, "write the gateway's IP address", "address")
    bracketed = re.fullmatch(r"\[([^\]]*)\](?::(.*))?", text)
    if bracketed:
        ip = _ip(bracketed.group(1), allow_loopback)
        if ip.version != 6:
            raise _invalid("brackets are for IPv6 addresses only", "address")
        port = bracketed.group(2)
        return SocketAddress(str(ip), DEFAULT_SIP_PORT if port is None else _port(port))
    if text.count(":") == 1:
        host, port = text.split(":")
        ip = _ip(host, allow_loopback)
        return SocketAddress(str(ip), _port(port))
    # Several colons: a bare IPv6 address, whose port can only be given in brackets.
    return SocketAddress(str(_ip(text, allow_loopback)), DEFAULT_SIP_PORT)


def _max_calls(value: str) -> str:
    if not value.isdigit() or not 1 <= int(value) <= MAX_GATEWAY_CALLS:
        raise _invalid(f"attribute 'max_calls': a whole number of calls from 1 to "
                       f"{MAX_GATEWAY_CALLS}", "attributes")
    return str(int(value))


def _transport(value: str) -> str:
    if value.lower() not in ("udp", "tcp"):
        raise _invalid("attribute 'transport': udp or tcp", "attributes")
    return value.lower()


# The attributes the proxies apply (routing_export/README.md), each with its check. Any
# other key is refused: a stored attribute that nothing reads would look like a setting.
GATEWAY_ATTRIBUTE_KEYS: dict[str, Callable[[str], str]] = {
    # Concurrent calls this gateway carries at most; when it has that many, the call goes
    # to the carrier's next gateway at once.
    "max_calls": _max_calls,
    # How the proxies reach this gateway: udp (the default) or tcp (a proxy needs a TCP
    # socket, its LISTEN_SIP2, to send it calls; without one the next gateway is tried).
    "transport": _transport,
}


def gateway_attributes(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The gateway's attributes, in the order given; only keys the proxies understand."""
    if len(pairs) > MAX_ATTRIBUTES:
        raise _invalid(f"use at most {MAX_ATTRIBUTES} attributes", "attributes")
    attributes: dict[str, str] = {}
    for key, value in pairs:
        if not _ATTRIBUTE_KEY.fullmatch(key):
            raise _invalid(f"attribute key {key!r}: use 1 to 64 letters, digits, _ . or -",
                           "attributes")
        if key in attributes:
            raise _invalid(f"attribute key {key!r} is given twice", "attributes")
        if len(value) > MAX_ATTRIBUTE_VALUE or _UNPRINTABLE.search(value):
            raise _invalid(f"attribute {key!r}: use at most {MAX_ATTRIBUTE_VALUE} characters "
                           "and no control characters", "attributes")
        check = GATEWAY_ATTRIBUTE_KEYS.get(key)
        if check is None:
            known = ", ".join(sorted(GATEWAY_ATTRIBUTE_KEYS))
            raise _invalid(f"attribute key {key!r} is not one the proxies apply (known: "
                           f"{known})", "attributes")
        attributes[key] = check(value.strip())
    return attributes


def number_for_gateway(e164: str, strip: int, prefix: str) -> str:
    """What a gateway receives for ``e164``: ``prefix + digits[strip:]``, digits being the
    number without "+" (strip 0 + prefix "00": +442079460000 -> 00442079460000; strip 2
    + prefix "0": 02079460000; prefix "+": +442079460000)."""
    return prefix + e164.lstrip("+")[strip:]


def proxy_strip(strip: int) -> int:
    """The ``dr_gateways.strip`` that makes drouting do :func:`number_for_gateway`: it
    strips characters of the R-URI user, which is "+E.164", so the "+" is one more."""
    return strip + 1


def _strip(value: int) -> int:
    if not 0 <= value <= MAX_STRIP:
        raise _invalid(f"strip 0 to {MAX_STRIP} digits (an E.164 number has at most 15)",
                       "strip")
    return value


def _prefix(value: str) -> str:
    if not _PREFIX.fullmatch(value):
        raise _invalid("use at most 32 digits, +, # and *", "prefix")
    return value


def _from_user(value: str) -> str:
    if not _FROM_USER.fullmatch(value):
        raise _invalid("use at most 64 letters, digits, + * # . _ or -", "from_user")
    return value


def _from_display(value: str) -> str:
    text = validation.bounded_text(value, ("from_display",), max_length=128)
    if '"' in text or "\\" in text or _UNPRINTABLE.search(text):
        raise _invalid("quotes, backslashes and control characters cannot go in a display name",
                       "from_display")
    return text


def _description(value: str) -> str:
    return validation.bounded_text(value, ("description",), max_length=200)


# How each gateway column is checked and normalised (add_pai: any bool will do).
_GATEWAY_CHECKS: dict[str, Callable[[Any], Any]] = {
    "description": _description, "strip": _strip, "prefix": _prefix, "from_user": _from_user,
    "from_display": _from_display, "add_pai": bool, "attributes": gateway_attributes,
}


@dataclass(frozen=True)
class GatewayValues:
    """What was typed for a gateway; None: not given (the default, or unchanged)."""

    address: str | None = None
    description: str | None = None
    strip: int | None = None
    prefix: str | None = None
    from_user: str | None = None
    from_display: str | None = None
    add_pai: bool | None = None
    attributes: Sequence[tuple[str, str]] | None = None

    def checked(self, *, allow_loopback: bool = False) -> dict[str, Any]:
        """The given values as Gateway columns, normalised; every mistake reported at once."""
        errors = ErrorCollector()
        columns: dict[str, Any] = {}
        if self.address is not None:
            socket = errors.check(gateway_address, self.address, allow_loopback=allow_loopback)
            if socket is not None:
                columns.update(address=socket.address, port=socket.port)
        for name, check in _GATEWAY_CHECKS.items():
            value = getattr(self, name)
            if value is not None:
                columns[name] = errors.check(check, value)
        errors.raise_if_any()
        return columns


# Gateways ---------------------------------------------------------------------------------------

GATEWAYS = OrderedChildren[Gateway](parent_model=Carrier, parent=Gateway.carrier_id,
                                    number=Gateway.position)


def _refuse_duplicate_address(session: Session, carrier_id: uuid.UUID, where: SocketAddress,
                              gateway_id: uuid.UUID | None = None) -> None:
    clash = session.exec(select(Gateway.id).where(
        Gateway.carrier_id == carrier_id, Gateway.address == where.address,
        Gateway.port == where.port, Gateway.id != gateway_id,
    )).first()
    if clash is not None:
        raise DomainError.single(ErrorCode.ALREADY_EXISTS,
                                 f"this carrier already has a gateway at {where}", "address")


def create_gateway(session: Session, viewer: Viewer, carrier_id: uuid.UUID,
                   values: GatewayValues, position: int | None = None, *,
                   allow_loopback: bool = False) -> Gateway:
    """Add a gateway at the end of the carrier's list, or at ``position``; a loopback
    address only with ``allow_loopback``."""
    carrier = managed_object(session, viewer, Carrier, carrier_id, "carrier", "carrier")
    if values.address is None:
        raise DomainError.single(ErrorCode.REQUIRED, "write the gateway's IP address", "address")
    columns = values.checked(allow_loopback=allow_loopback)
    _refuse_duplicate_address(session, carrier.id,
                              SocketAddress(columns["address"], columns["port"]))
    gateway = Gateway(carrier_id=carrier.id, position=0, **columns)
    place = GATEWAYS.insert(session, gateway, position)
    record(session, viewer, "create", gateway, carrier.isp_id,
           {"carrier_id": carrier.id, "position": place, **columns})
    return gateway


def update_gateway(session: Session, viewer: Viewer, gateway_id: uuid.UUID,
                   values: GatewayValues, position: int | None = None, *,
                   allow_loopback: bool = False) -> Gateway:
    """Change what was given; a new ``position`` moves the gateway in the failover order."""
    gateway, carrier = GATEWAYS.managed(session, viewer, gateway_id, "gateway")
    changes = {key: value for key, value in
               values.checked(allow_loopback=allow_loopback).items()
               if value != getattr(gateway, key)}
    if {"address", "port"} & changes.keys():
        where = SocketAddress(changes.get("address", gateway.address),
                              changes.get("port", gateway.port))
        _refuse_duplicate_address(session, carrier.id, where, gateway.id)
    gateway.sqlmodel_update(changes)
    session.add(gateway)
    if position is not None and position != gateway.position:
        GATEWAYS.move(session, gateway, position)
        changes["position"] = position
    if changes:
        record(session, viewer, "update", gateway, carrier.isp_id, changes)
    return gateway


def delete_gateway(session: Session, viewer: Viewer, gateway_id: uuid.UUID) -> Gateway:
    """Delete a gateway; those after it move up one place."""
    gateway, carrier = GATEWAYS.managed(session, viewer, gateway_id, "gateway")
    GATEWAYS.remove(session, gateway)
    record(session, viewer, "delete", gateway, carrier.isp_id,
           {"carrier_id": carrier.id, "address": gateway.address, "port": gateway.port})
    return gateway


def reorder_gateways(session: Session, viewer: Viewer, carrier_id: uuid.UUID,
                     gateway_ids: Sequence[uuid.UUID | None]) -> Carrier:
    """Set the failover order; ``gateway_ids`` must list each of the carrier's gateways once.

    None stands for an id that named no gateway at all.
    """
    carrier = managed_object(session, viewer, Carrier, carrier_id, "carrier", "carrier")
    ordered = GATEWAYS.reorder(session, carrier.id, gateway_ids, "gateways of this carrier",
                               "gateways")
    record(session, viewer, "reorder_gateways", carrier, carrier.isp_id,
           {"gateways": [row.id for row in ordered]})
    return carrier
