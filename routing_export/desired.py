"""The desired content of the proxies' tables, computed from the control plane's data.

One function per exported table yields its rows as tuples in the table's column
order (key columns first, see ``tables.EXPORTED``), with Python types that
compare equal to what psycopg reads back (``int`` for integer columns, ``str``
for text), so that an unchanged row is recognised as unchanged. ``README.md``
beside this file says what every row means; keep the two together.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, and_, case, false, func, literal, or_, select, tuple_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from core import prepaid
from core.carriers import proxy_strip
from core.dialplan_engine import check_rule, substitute_placeholders
from core.errors import DomainError
from core.forwards import forward_destination
from core.international import Opening, opening_prefixes
from core.models import (
    Carrier,
    Customer,
    CustomerStatus,
    DialPlan,
    DialPlanRule,
    Gateway,
    Isp,
    IspStatus,
    Number,
    NumberState,
    RoutingIdentifier,
    SecurityGroup,
    SecurityGroupDestination,
    Subscriber,
    SubscriberStatus,
    Tenant,
    TenantStatus,
)
from routing_export.scope import Scope

Row = tuple[object, ...]
# A select of any columns (Select[Any] would be a select of one column).
AnySelect = Select[*tuple[Any, ...]]
S = TypeVar("S", bound=AnySelect)

# The proxy variables holding the caller's codes (loaded with the caller's credentials).
CALLER_COUNTRY_CODE = "$avp(cc)"
CALLER_AREA_CODE = "$avp(ac)"
CARRIER_GROUP = 1  # address group of every carrier's gateways (one ISP's: see isp_group)
INT, STR = 0, 2  # domain_attrs types
HT_STRING, HT_INTEGER = 0, 1  # htable value types

_IDENTIFIED = {"dial_plan": DialPlan, "carrier": Carrier, "gateway": Gateway,
               "security_group": SecurityGroup, "isp": Isp}


class InvalidStateError(Exception):
    """The desired state would break the proxies; nothing is written."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems[:10]))
        self.problems = problems


@dataclass
class Identifiers:
    """The integers the proxies know objects by, per kind."""

    by_kind: dict[str, dict[uuid.UUID, int]]

    def of(self, kind: str, object_id: uuid.UUID | None) -> int:
        return 0 if object_id is None else self.by_kind[kind][object_id]


def allocate_identifiers(session: Session) -> Identifiers:
    """Give every dial plan, carrier, gateway, security group and ISP its integer, once.

    Integers are never reused: a deleted gateway's number cannot come back as
    another gateway that a stale proxy still routes to.
    """
    by_kind: dict[str, dict[uuid.UUID, int]] = {}
    for kind, model in _IDENTIFIED.items():
        known = dict(session.execute(select(col(RoutingIdentifier.object_id),
                                            col(RoutingIdentifier.id))
                                     .where(col(RoutingIdentifier.kind) == kind)).all())
        # SQLModel's base class declares no id; every identified model has one.
        ids = session.execute(select(model.id)).scalars().all()  # type: ignore[attr-defined]
        new = [RoutingIdentifier(kind=kind, object_id=object_id)
               for object_id in ids if object_id not in known]
        if new:
            session.add_all(new)
            session.flush()
            known.update({row.object_id: row.id for row in new})
        by_kind[kind] = known
    return Identifiers(by_kind)


# The tables computed per subject by an incremental export (see scope.py); the others are
# always computed whole.
SCOPED = ("domain", "domain_attrs", "subscriber", "htable_alias", "htable_did", "htable_sms")
# Of those, the ones whose keys a scope cannot bound (a number moves between tenants; a
# subscriber is reached through the caller ID it uses): rows_by_key completes the comparison.
BY_KEY = ("subscriber", "htable_did", "htable_sms")


@dataclass
class DesiredState:
    """Computes each table's rows; problems found on the way are collected, not raised.

    With a ``scope``, the tables in ``SCOPED`` hold only the rows of its subjects.
    """

    session: Session
    ids: Identifiers
    scope: Scope | None = None

    def __post_init__(self) -> None:
        self.problems: list[str] = []
        self._keys: list[Row] | None = None

    def rows(self, table: str) -> Iterator[Row]:
        producer: Callable[[], Iterator[Row]] = getattr(self, f"_{table}")
        return producer()

    def rows_by_key(self, table: str, keys: list[Row]) -> list[Row]:
        """The desired rows of exactly these keys of a ``BY_KEY`` table (absent: none)."""
        self._keys = keys
        try:
            return list(self.rows(table))
        finally:
            self._keys = None

    def _in_scope(self, *, tenant: Any, number: Any = None, caller_id: Any = None,
                  key: tuple[Any, ...] = ()) -> Any:
        """The WHERE clause of a scoped table's statement (None: every row)."""
        if self._keys is not None:
            return tuple_(*key).in_(self._keys) if self._keys else false()
        if self.scope is None:
            return None
        tenants = tenant.in_(self.scope.tenants) if self.scope.tenants else false()
        if self.scope.numbers and number is not None:
            return or_(tenants, number.in_(self.scope.numbers))
        if self.scope.numbers and caller_id is not None:
            return or_(tenants, caller_id.in_(self.scope.numbers))
        return tenants

    @staticmethod
    def _where(statement: S, clause: Any) -> S:
        return statement if clause is None else statement.where(clause)

    def _rows(self, statement: AnySelect) -> Sequence[Row]:
        """Plain tuples from the driver, for the large tables.

        Within the session's transaction (same snapshot), but without building
        SQLAlchemy rows: the statements select only text and numbers, with their
        few constants written into the SQL.
        """
        connection = self.session.connection()
        text = str(statement.compile(dialect=connection.dialect,
                                     compile_kwargs={"literal_binds": True}))
        cursor = connection.connection.cursor()
        try:
            cursor.execute(text)
            return cursor.fetchall()
        finally:
            cursor.close()

    # Tenants ---------------------------------------------------------------------------------

    def _tenants(self) -> Iterator[tuple[Tenant, Customer, Isp]]:
        statement = (select(Tenant, Customer, Isp)
                     .join(Customer, col(Customer.id) == Tenant.customer_id)
                     .join(Isp, col(Isp.id) == Tenant.isp_id).order_by(Tenant.domain))
        statement = self._where(statement, self._in_scope(tenant=Tenant.id))
        yield from self.session.execute(statement)

    def _domain(self) -> Iterator[Row]:
        for tenant, _customer, _isp in self._tenants():
            yield (tenant.domain, tenant.domain)

    def _domain_attrs(self) -> Iterator[Row]:
        credit = prepaid.credit_flags(self.session)
        for tenant, customer, isp in self._tenants():
            enabled = (tenant.status is TenantStatus.ACTIVE
                       and customer.status is CustomerStatus.ACTIVE
                       and isp.status is IspStatus.ACTIVE)  # the rule of _in_service
            attributes = {
                "enabled": (INT, "1" if enabled else "0"),
                "dpid": (INT, str(self.ids.of("dial_plan", tenant.dial_plan_id))),
                "cc": (STR, tenant.default_country_code.lstrip("+")),
                "ac": (STR, tenant.default_area_code),
                "carrier": (INT, str(self.ids.of("carrier", tenant.carrier_id))),
                "customer": (STR, str(customer.id)),
                "sources": (INT, str(self.isp_group(isp.id))),
                "max_calls": (INT, str(max(customer.max_concurrent_calls, 0))),
            }
            if customer.id in credit:  # a prepaid customer: 0 once its balance is spent
                attributes["credit"] = (INT, "1" if credit[customer.id] else "0")
            for name, (kind, value) in attributes.items():
                yield (tenant.domain, name, kind, value)

    # Subscribers -----------------------------------------------------------------------------

    def _subscriber(self) -> Iterator[Row]:
        # Computed in SQL, as this table is the largest: rows arrive as they are written.
        group = aliased(RoutingIdentifier)
        # The caller ID only while the tenant holds that number (core.caller_ids clears
        # it when the number leaves; this keeps a stale one from ever reaching a carrier).
        held = aliased(Number)
        statement = (
            select(col(Subscriber.username), col(Tenant.domain), literal(""), col(Subscriber.ha1),
                   col(Subscriber.ha1b),
                   case((col(Subscriber.status) == SubscriberStatus.ACTIVE, 1), else_=0),
                   col(Subscriber.country_code),
                   func.coalesce(func.nullif(Subscriber.area_code, ""),
                                 Tenant.default_area_code),
                   func.coalesce(held.e164, ""), func.coalesce(group.id, 0),
                   col(Subscriber.concurrent_calls), col(Subscriber.ring_timeout),
                   col(Subscriber.display_name), literal(""), literal(""), literal(""))
            .join(Tenant, col(Tenant.id) == Subscriber.tenant_id)
            .outerjoin(group, and_(col(group.kind) == "security_group",
                                   col(group.object_id) == Subscriber.security_group_id))
            .outerjoin(held, and_(col(held.e164) == Subscriber.caller_id,
                                  col(held.tenant_id) == Subscriber.tenant_id,
                                  col(held.state) == NumberState.ASSIGNED)))
        where = self._in_scope(tenant=Subscriber.tenant_id, caller_id=Subscriber.caller_id,
                               key=(Subscriber.username, Tenant.domain))
        rows = self._rows(self._where(statement, where))
        forwards = self._forwards(where)
        if forwards:
            rows = [row[:-3] + forwards[(row[0], row[1])] if (row[0], row[1]) in forwards
                    else row for row in rows]
        return iter(rows)

    def _forwards(self, where: Any) -> dict[tuple[object, object], Row]:
        """(username, domain) -> (unconditional, busy, no answer) destinations of every
        subscriber with a forward (of those ``where`` selects): an extension, "+E.164" or
        "" (none, or leading nowhere the subscriber may call: see core.forwards)."""
        forwarding = self.session.execute(self._where(
            select(Subscriber, Tenant)
            .join(Tenant, col(Tenant.id) == Subscriber.tenant_id)
            .where(or_(col(Subscriber.forward_unconditional).is_not(None),
                       col(Subscriber.forward_busy).is_not(None),
                       col(Subscriber.forward_no_answer).is_not(None))),
            where)).all()
        if not forwarding:
            return {}
        tenant_ids = {tenant.id for _subscriber, tenant in forwarding}
        aliases: dict[uuid.UUID, set[str]] = {}
        for tenant_id, alias in self.session.execute(
                select(col(Subscriber.tenant_id), col(Subscriber.alias))
                .where(col(Subscriber.tenant_id).in_(tenant_ids),
                       col(Subscriber.alias).is_not(None))):
            aliases.setdefault(tenant_id, set()).add(alias)
        rules: dict[uuid.UUID, list[DialPlanRule]] = {}
        for rule in self.session.execute(select(DialPlanRule).order_by(
                col(DialPlanRule.dial_plan_id), col(DialPlanRule.priority))).scalars():
            rules.setdefault(rule.dial_plan_id, []).append(rule)
        openings = self._openings()
        result: dict[tuple[object, object], Row] = {}
        # Colleagues often forward alike (to the reception, say): each distinct case once.
        known: dict[tuple[object, ...], str] = {}
        for subscriber, tenant in forwarding:
            area_code = subscriber.area_code or tenant.default_area_code

            def destination(dialled: str | None, subscriber: Subscriber = subscriber,
                            tenant: Tenant = tenant, area_code: str = area_code) -> str:
                if not dialled:
                    return ""
                case = (tenant.id, dialled, subscriber.country_code, area_code,
                        subscriber.security_group_id)
                if case not in known:
                    known[case] = forward_destination(
                        dialled, aliases=aliases.get(tenant.id, set()),
                        rules=rules.get(tenant.dial_plan_id, []) if tenant.dial_plan_id else [],
                        country_code=subscriber.country_code, area_code=area_code,
                        openings=openings.get(subscriber.security_group_id, [])
                        if subscriber.security_group_id else []) or ""
                return known[case]

            result[(subscriber.username, tenant.domain)] = (
                destination(subscriber.forward_unconditional),
                destination(subscriber.forward_busy),
                destination(subscriber.forward_no_answer))
        return result

    def _openings(self) -> dict[uuid.UUID, list[Opening]]:
        openings: dict[uuid.UUID, list[Opening]] = {}
        for group_id, country, prefix in self.session.execute(select(
                col(SecurityGroupDestination.security_group_id),
                col(SecurityGroupDestination.country),
                col(SecurityGroupDestination.prefix))):
            openings.setdefault(group_id, []).append(Opening(country=country, prefix=prefix))
        return openings

    @staticmethod
    def _in_service(statement: AnySelect) -> AnySelect:
        """Only subscribers that are active in an active tenant of an active customer of an
        active ISP: suspended at any level means nothing reaches them (``statement`` selects
        from Subscriber joined to Tenant)."""
        return (statement.join(Customer, col(Customer.id) == Tenant.customer_id)
                .join(Isp, col(Isp.id) == Tenant.isp_id)
                .where(col(Subscriber.status) == SubscriberStatus.ACTIVE,
                       col(Tenant.status) == TenantStatus.ACTIVE,
                       col(Customer.status) == CustomerStatus.ACTIVE,
                       col(Isp.status) == IspStatus.ACTIVE))

    def _htable_alias(self) -> Iterator[Row]:
        statement = (select(col(Tenant.domain) + ":" + Subscriber.alias, literal(0),
                            literal(HT_STRING), col(Subscriber.username), literal(0))
                     .join(Tenant, col(Tenant.id) == Subscriber.tenant_id)
                     .where(col(Subscriber.alias).is_not(None)))
        statement = self._where(statement, self._in_scope(tenant=Subscriber.tenant_id))
        return iter(self._rows(self._in_service(statement)))

    def _htable_did(self) -> Iterator[Row]:
        return self._numbers(Number.voice)

    def _htable_sms(self) -> Iterator[Row]:
        # Text messages (SIP MESSAGE) from carriers reach SMS-enabled numbers only.
        return self._numbers(Number.sms)

    def _numbers(self, enabled: Any) -> Iterator[Row]:
        """Assigned numbers with the flag ``enabled`` whose target is in service."""
        statement = (select(col(Number.e164), literal(0), literal(HT_STRING),
                            col(Subscriber.username) + "@" + Tenant.domain, literal(0))
                     .join(Subscriber, and_(col(Subscriber.id) == Number.target_subscriber_id,
                                            col(Subscriber.tenant_id) == Number.tenant_id))
                     .join(Tenant, col(Tenant.id) == Number.tenant_id)
                     .where(col(Number.state) == NumberState.ASSIGNED, enabled))
        statement = self._where(statement, self._in_scope(
            tenant=Number.tenant_id, number=Number.e164, key=(Number.e164,)))
        return iter(self._rows(self._in_service(statement)))

    def _htable_sg(self) -> Iterator[Row]:
        openings = self._openings()
        groups = self.ids.by_kind["security_group"]
        for group_id, opened in sorted(openings.items(), key=lambda item: groups[item[0]]):
            for prefix in sorted(opening_prefixes(opened)):
                yield (f"{groups[group_id]}:{prefix}", 0, HT_INTEGER, "1", 0)

    # Dial plans ------------------------------------------------------------------------------

    def _dialplan(self) -> Iterator[Row]:
        statement = select(DialPlanRule).order_by(col(DialPlanRule.dial_plan_id),
                                                  col(DialPlanRule.priority))
        for rule in self.session.execute(statement).scalars():
            dpid = self.ids.of("dial_plan", rule.dial_plan_id)
            if not self._rule_is_valid(dpid, rule):
                continue
            replacement = substitute_placeholders(rule.replacement, CALLER_COUNTRY_CODE,
                                                  CALLER_AREA_CODE)
            yield (dpid, rule.priority, 1, rule.match_expression, 0,
                   rule.substitution_expression, replacement, "")

    def _rule_is_valid(self, dpid: int, rule: DialPlanRule) -> bool:
        # Checked when saved; checked again, since one bad rule fails the whole reload.
        try:
            check_rule(rule)
        except DomainError as error:
            self.problems.append(f"dial plan {dpid} rule {rule.priority}: {error}")
            return False
        return True

    # Carriers --------------------------------------------------------------------------------

    def _gateways(self) -> Iterator[tuple[Gateway, Carrier]]:
        statement = (select(Gateway, Carrier).join(Carrier, col(Carrier.id) == Gateway.carrier_id)
                     .order_by(col(Gateway.carrier_id), col(Gateway.position)))
        yield from self.session.execute(statement)

    def _dr_gateways(self) -> Iterator[Row]:
        for gateway, carrier in self._gateways():
            host = f"[{gateway.address}]" if ":" in gateway.address else gateway.address
            description = f"{carrier.name}/{gateway.description}"[:128]
            gwid = self.ids.of("gateway", gateway.id)
            yield (gwid, 0, f"{host}:{gateway.port}", proxy_strip(gateway.strip),
                   gateway.prefix, gateway_attributes(gateway, gwid), description)

    def _dr_rules(self) -> Iterator[Row]:
        lists: dict[uuid.UUID, list[int]] = {}
        for gateway, _carrier in self._gateways():
            lists.setdefault(gateway.carrier_id, []).append(self.ids.of("gateway", gateway.id))
        for carrier_id, gateway_ids in sorted(lists.items(),
                                              key=lambda item: self.ids.of("carrier", item[0])):
            yield (str(self.ids.of("carrier", carrier_id)), "", "", 0, "",
                   ",".join(map(str, gateway_ids)), f"carrier:{carrier_id}")

    def _address(self) -> Iterator[Row]:
        # Each gateway twice: in group 1 (a carrier: no digest auth, DIDs only) and in its
        # ISP's group (whose DIDs it may call). Two ISPs buying from one wholesale carrier
        # share an address: one row in group 1, one in each ISP's group.
        seen: set[tuple[object, ...]] = set()
        for gateway, carrier in self._gateways():
            mask = 128 if ipaddress.ip_address(gateway.address).version == 6 else 32
            for group in (CARRIER_GROUP, self.isp_group(carrier.isp_id)):
                key = (group, gateway.address, mask, gateway.port)
                if key not in seen:
                    seen.add(key)
                    yield (*key, f"carrier:{carrier.id}")

    def isp_group(self, isp_id: uuid.UUID) -> int:
        """The address group of one ISP's gateways: ``#isp`` + 1, above the carriers' 1."""
        return self.ids.of("isp", isp_id) + CARRIER_GROUP


def gateway_attributes(gateway: Gateway, gwid: int) -> str:
    """``fu=<from user>;fd=<display, hex>;pai=<0|1>;mc=<max calls, 0: any>;tr=<tcp|>;
    id=<#gateway>``: hex keeps ; and = out of the display; the id keys the gateway's call
    count."""
    display = gateway.from_display.encode().hex()
    # Checked when saved; a value stored before the check existed counts as no limit.
    given = str(gateway.attributes.get("max_calls", ""))
    max_calls = int(given) if given.isdigit() else 0
    transport = "tcp" if gateway.attributes.get("transport") == "tcp" else ""
    return (f"fu={gateway.from_user};fd={display};pai={1 if gateway.add_pai else 0};"
            f"mc={max_calls};tr={transport};id={gwid}")
