"""Tenants: the virtual PBXs of an ISP's customers.

A tenant references its ISP's catalogue (customer, carrier, dial plan, SMBCs);
each reference must be visible to the viewer and belong to the same ISP, or it
answers like a missing object. Deleting a tenant needs an explicit
confirmation (its domain typed again): its numbers go back to the ISP's
quarantine and its subscribers are removed with it.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from sqlmodel import Session, SQLModel, col, delete, select

from core import audit, scoping, validation
from core.domains import check_tenant_domain
from core.errors import DomainError, ErrorCode, ErrorCollector, not_found
from core.models import (
    Carrier,
    Customer,
    DialPlan,
    Isp,
    Number,
    Smbc,
    Tenant,
    TenantSmbc,
    TenantStatus,
)
from core.numbers import release_number
from core.ownership import managed_isp, require_manager
from core.secrets import secret_box
from core.settings import Settings
from core.viewer import Viewer

PROVISIONING_PASSWORD_BYTES = 18


@dataclass
class TenantFields:
    """What a create or update sets; on update, None means "leave as it is"."""

    name: str | None = None
    domain: str | None = None
    customer_id: uuid.UUID | None = None
    carrier_id: uuid.UUID | None = None
    dial_plan_id: uuid.UUID | None = None
    smbc_ids: list[uuid.UUID] | None = None
    default_country_code: str | None = None
    default_area_code: str | None = None
    status: TenantStatus | None = None
    # References the caller wants cleared (carrier, dial plan).
    clear: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class TenantWithSecret:
    tenant: Tenant
    provisioning_password: str  # shown once, never stored in clear


def country_code(value: str, field_name: str = "default_country_code") -> str:
    digits = value.strip().lstrip("+")
    if not digits.isdigit() or phonenumbers.region_code_for_country_code(int(digits)) == "ZZ":
        raise DomainError.single(ErrorCode.INVALID,
                                 f"{value!r} is not a country calling code", field_name)
    return digits


def area_code(value: str, field_name: str = "default_area_code") -> str:
    digits = value.strip()
    if digits and (not digits.isdigit() or len(digits) > 8):
        raise DomainError.single(ErrorCode.INVALID, "use up to 8 digits", field_name)
    return digits


def _reference(session: Session, viewer: Viewer, model: type[SQLModel], object_id: uuid.UUID,
               isp: Isp, field_name: str) -> Any:
    """A catalogue row of the tenant's ISP, or NOT_FOUND on the field."""
    row: Any = scoping.get_visible(session, viewer, model, object_id)
    if row is None or row.isp_id != isp.id:
        raise not_found(field_name.replace("_id", "").replace("_", " "), field_name)
    return row


def _check_fields(session: Session, settings: Settings, viewer: Viewer, isp: Isp,
                  given: TenantFields, tenant: Tenant | None) -> dict[str, Any]:
    """The columns to write, every mistake reported at once."""
    errors = ErrorCollector()
    values: dict[str, Any] = {}
    if given.name is not None:
        values["name"] = errors.check(validation.bounded_text, given.name, ("name",),
                                      max_length=200, required=True)
    if given.domain is not None:
        checked = errors.check(check_tenant_domain, session, isp, settings, given.domain,
                               tenant_id=tenant.id if tenant else None)
        if checked:
            values["domain"], verified = checked
            values["verified_domain_id"] = verified.id if verified else None
    for name, model in (("customer_id", Customer), ("carrier_id", Carrier),
                        ("dial_plan_id", DialPlan)):
        object_id = getattr(given, name)
        if object_id is not None and errors.check(_reference, session, viewer, model,
                                                   object_id, isp, name):
            values[name] = object_id
        elif name in given.clear and name != "customer_id":
            values[name] = None
    for smbc_id in given.smbc_ids or []:
        errors.check(_reference, session, viewer, Smbc, smbc_id, isp, "smbc_ids")
    if given.default_country_code is not None:
        values["default_country_code"] = errors.check(country_code, given.default_country_code)
    if given.default_area_code is not None:
        values["default_area_code"] = errors.check(area_code, given.default_area_code)
    if given.status is not None:
        values["status"] = given.status
    errors.raise_if_any()
    return values


def _set_smbcs(session: Session, tenant: Tenant, smbc_ids: list[uuid.UUID]) -> None:
    session.execute(delete(TenantSmbc).where(col(TenantSmbc.tenant_id) == tenant.id))
    session.flush()
    for position, smbc_id in enumerate(dict.fromkeys(smbc_ids)):  # order kept, repeats dropped
        session.add(TenantSmbc(tenant_id=tenant.id, smbc_id=smbc_id, position=position))


def _new_provisioning_password(settings: Settings) -> tuple[str, str]:
    password = secrets.token_urlsafe(PROVISIONING_PASSWORD_BYTES)
    return password, secret_box(settings.secret_key_bytes()).encrypt(password)


def create_tenant(session: Session, settings: Settings, viewer: Viewer,
                  isp_id: uuid.UUID | None, given: TenantFields) -> TenantWithSecret:
    isp = managed_isp(session, viewer, isp_id)
    missing = ErrorCollector()
    for name in ("name", "domain", "customer_id", "default_country_code"):
        if getattr(given, name) is None:
            missing.add(ErrorCode.REQUIRED, "this field is required", name)
    missing.raise_if_any()
    values = _check_fields(session, settings, viewer, isp, given, None)
    password, encrypted = _new_provisioning_password(settings)
    tenant = Tenant(isp_id=isp.id, provisioning_username=f"prov-{secrets.token_hex(6)}",
                    provisioning_password_encrypted=encrypted, **values)
    session.add(tenant)
    session.flush()
    _set_smbcs(session, tenant, given.smbc_ids or [])
    audit.record(session, viewer, action="tenant.create", object_type="Tenant",
                 object_id=tenant.id, isp_id=isp.id, tenant_id=tenant.id,
                 changes=values | {"smbc_ids": given.smbc_ids or []})
    return TenantWithSecret(tenant=tenant, provisioning_password=password)


def managed_tenant(session: Session, viewer: Viewer, tenant_id: uuid.UUID | None,
                   *, isp_wide: bool = False) -> Tenant:
    """A tenant the viewer may change (``isp_wide``: only ISP administrators may)."""
    tenant = scoping.get_visible(session, viewer, Tenant, tenant_id)
    if tenant is None:
        raise not_found("tenant", "id")
    allowed = (viewer.can_manage_isp(tenant.isp_id) if isp_wide
               else viewer.can_manage_tenant(tenant.isp_id, tenant.id))
    if not allowed:
        raise DomainError.single(ErrorCode.NOT_PERMITTED,
                                 "your role can read this tenant but not change it")
    return tenant


def update_tenant(session: Session, settings: Settings, viewer: Viewer,
                  tenant_id: uuid.UUID | None, given: TenantFields) -> Tenant:
    """Change a tenant; its subscribers stay whatever its domain becomes."""
    tenant = managed_tenant(session, viewer, tenant_id, isp_wide=True)
    isp = session.get(Isp, tenant.isp_id)
    assert isp is not None  # a tenant's ISP exists (foreign key)
    values = _check_fields(session, settings, viewer, isp, given, tenant)
    for name, value in values.items():
        setattr(tenant, name, value)
    session.add(tenant)
    if "domain" in values:
        # The proxies' digests include the realm (the domain): derive them anew.
        from core.sip_credentials import refresh_digests

        session.flush()
        refresh_digests(session, settings, tenant)
    if given.smbc_ids is not None:
        _set_smbcs(session, tenant, given.smbc_ids)
        values["smbc_ids"] = given.smbc_ids
    audit.record(session, viewer, action="tenant.update", object_type="Tenant",
                 object_id=tenant.id, isp_id=tenant.isp_id, tenant_id=tenant.id, changes=values)
    return tenant


def rotate_provisioning_password(session: Session, settings: Settings, viewer: Viewer,
                                 tenant_id: uuid.UUID | None) -> TenantWithSecret:
    tenant = managed_tenant(session, viewer, tenant_id)
    password, encrypted = _new_provisioning_password(settings)
    tenant.provisioning_password_encrypted = encrypted
    session.add(tenant)
    audit.record(session, viewer, action="tenant.provisioning_password.rotate",
                 object_type="Tenant", object_id=tenant.id, isp_id=tenant.isp_id,
                 tenant_id=tenant.id)
    return TenantWithSecret(tenant=tenant, provisioning_password=password)


def delete_tenant(session: Session, viewer: Viewer, tenant_id: uuid.UUID | None,
                  confirm_domain: str) -> uuid.UUID:
    """Delete a tenant and its subscribers; its numbers go back to the ISP's quarantine."""
    tenant = managed_tenant(session, viewer, tenant_id, isp_wide=True)
    if confirm_domain.strip().lower().rstrip(".") != tenant.domain:
        raise DomainError.single(ErrorCode.INVALID, "type the tenant's domain to confirm",
                                 "confirm_domain")
    held = session.exec(select(Number.id).where(Number.tenant_id == tenant.id)).all()
    for number_id in held:
        release_number(session, viewer, number_id)
    session.flush()
    require_manager(viewer, tenant.isp_id)
    session.delete(tenant)
    audit.record(session, viewer, action="tenant.delete", object_type="Tenant",
                 object_id=tenant.id, isp_id=tenant.isp_id,
                 changes={"domain": tenant.domain, "numbers_released": len(held)})
    return tenant.id
