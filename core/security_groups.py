"""Security groups: named sets of the international destinations a tenant opens.

International calling is closed for a subscriber unless its group opens the
destination, as an ISO 3166 country or an E.164 prefix; the decision itself is
:mod:`core.international`'s. Groups belong to a tenant and are managed by its
administrators and the ISP's. Deleting a group leaves its subscribers without
one (the model's SET NULL): international calls close again, the safe way.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from core import audit, scoping, validation
from core.catalogue import require_free_name
from core.errors import DomainError, ErrorCode, ErrorCollector, not_found
from core.models import SecurityGroup, SecurityGroupDestination, Subscriber
from core.tenants import managed_tenant
from core.viewer import Viewer

MAX_DESTINATIONS = 1000
_PREFIX = re.compile(r"\+[0-9]{1,15}")


@dataclass
class SecurityGroupFields:
    """What a create or update sets; on update, None means "leave as it is".

    ``countries`` and ``prefixes``, when given, replace the group's lists.
    """

    name: str | None = None
    description: str | None = None
    countries: list[str] | None = None
    prefixes: list[str] | None = None


def _country(value: str, field: tuple[str, ...]) -> str:
    code = validation.country_code(value, field)
    if not code:
        raise DomainError.single(ErrorCode.REQUIRED, "write an ISO 3166 country code, e.g. GB",
                                 *field)
    return code


def _prefix(value: str, field: tuple[str, ...]) -> str:
    prefix = value.strip().replace(" ", "")
    if not _PREFIX.fullmatch(prefix):
        raise DomainError.single(ErrorCode.INVALID, "write + and 1 to 15 digits, e.g. +4420",
                                 *field)
    return prefix


def _checked_list(errors: ErrorCollector, values: Sequence[str], name: str,
                  check: Callable[[str, tuple[str, ...]], str]) -> list[str]:
    """Each value checked (errors on ``name``, index), repeats dropped, order kept."""
    if len(values) > MAX_DESTINATIONS:
        errors.add(ErrorCode.TOO_LARGE, f"list at most {MAX_DESTINATIONS}", name)
        return []
    checked = [errors.check(check, value, (name, str(index)))
               for index, value in enumerate(values)]
    return list(dict.fromkeys(value for value in checked if value))


def _checked(given: SecurityGroupFields) -> SecurityGroupFields:
    errors = ErrorCollector()
    checked = SecurityGroupFields()
    if given.name is not None:
        checked.name = errors.check(validation.bounded_text, given.name, ("name",),
                                    max_length=200, required=True)
    if given.description is not None:
        checked.description = errors.check(validation.bounded_text, given.description,
                                           ("description",), max_length=500)
    if given.countries is not None:
        checked.countries = _checked_list(errors, given.countries, "countries", _country)
    if given.prefixes is not None:
        checked.prefixes = _checked_list(errors, given.prefixes, "prefixes", _prefix)
    errors.raise_if_any()
    return checked


def _name_free(session: Session, tenant_id: uuid.UUID, name: str,
               group_id: uuid.UUID | None = None) -> None:
    require_free_name(session, SecurityGroup, name,
                      f"the tenant already has a security group named {name!r}",
                      within=(SecurityGroup.tenant_id, tenant_id), exclude_id=group_id)


def _replace_destinations(session: Session, group: SecurityGroup,
                          checked: SecurityGroupFields) -> None:
    """Write the lists that were given in place of the group's current ones."""
    if checked.countries is not None:
        session.execute(delete(SecurityGroupDestination).where(
            col(SecurityGroupDestination.security_group_id) == group.id,
            col(SecurityGroupDestination.country).is_not(None)))
        session.add_all(SecurityGroupDestination(security_group_id=group.id, country=country)
                        for country in checked.countries)
    if checked.prefixes is not None:
        session.execute(delete(SecurityGroupDestination).where(
            col(SecurityGroupDestination.security_group_id) == group.id,
            col(SecurityGroupDestination.prefix).is_not(None)))
        session.add_all(SecurityGroupDestination(security_group_id=group.id, prefix=prefix)
                        for prefix in checked.prefixes)
    session.flush()


def _record(session: Session, viewer: Viewer, verb: str, group: SecurityGroup,
            isp_id: uuid.UUID, changes: dict[str, object]) -> None:
    audit.record(session, viewer, action=f"security_group.{verb}", object_type="SecurityGroup",
                 object_id=group.id, isp_id=isp_id, tenant_id=group.tenant_id,
                 changes=changes)


def _changes(checked: SecurityGroupFields) -> dict[str, object]:
    return {name: value for name, value in vars(checked).items() if value is not None}


def create_security_group(session: Session, viewer: Viewer, tenant_id: uuid.UUID | None,
                          given: SecurityGroupFields) -> SecurityGroup:
    tenant = managed_tenant(session, viewer, tenant_id)
    if given.name is None:
        raise DomainError.single(ErrorCode.REQUIRED, "this field is required", "name")
    checked = _checked(given)
    assert checked.name is not None  # given.name was, and checking keeps it
    _name_free(session, tenant.id, checked.name or "")
    group = SecurityGroup(tenant_id=tenant.id, name=checked.name,
                          description=checked.description or "")
    session.add(group)
    session.flush()
    _replace_destinations(session, group, checked)
    _record(session, viewer, "create", group, tenant.isp_id, _changes(checked))
    return group


def _managed_group(session: Session, viewer: Viewer,
                   group_id: uuid.UUID | None) -> tuple[SecurityGroup, uuid.UUID]:
    """A group the viewer may change, and its ISP's id."""
    group = scoping.get_visible(session, viewer, SecurityGroup, group_id)
    if group is None:
        raise not_found("security group", "id")
    tenant = managed_tenant(session, viewer, group.tenant_id)
    return group, tenant.isp_id


def update_security_group(session: Session, viewer: Viewer, group_id: uuid.UUID | None,
                          given: SecurityGroupFields) -> SecurityGroup:
    group, isp_id = _managed_group(session, viewer, group_id)
    checked = _checked(given)
    if checked.name is not None:
        _name_free(session, group.tenant_id, checked.name, group.id)
        group.name = checked.name
    if checked.description is not None:
        group.description = checked.description
    session.add(group)
    _replace_destinations(session, group, checked)
    _record(session, viewer, "update", group, isp_id, _changes(checked))
    return group


def delete_security_group(session: Session, viewer: Viewer,
                          group_id: uuid.UUID | None) -> uuid.UUID:
    """Delete a group; its subscribers are left without one (international closed)."""
    group, isp_id = _managed_group(session, viewer, group_id)
    members = session.exec(select(func.count()).select_from(Subscriber)
                           .where(Subscriber.security_group_id == group.id)).one()
    session.delete(group)
    session.flush()
    _record(session, viewer, "delete", group, isp_id,
            {"name": group.name, "subscribers_closed": members})
    return group.id
