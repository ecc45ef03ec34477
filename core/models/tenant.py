"""Tenants (virtual PBXs) and the border controllers their phones use."""

from __future__ import annotations

import uuid
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from core.models.base import IdMixin, TimestampsMixin, enum_type, foreign_key


class TenantStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


class Tenant(IdMixin, TimestampsMixin, table=True):
    __tablename__ = "tenant"
    __table_args__ = (
        sa.CheckConstraint("default_country_code <> ''", name="country_code_not_empty"),
    )

    isp_id: uuid.UUID = foreign_key("isp.id", ondelete="CASCADE")
    # NO ACTION on the catalogue references: what a tenant uses cannot be deleted.
    customer_id: uuid.UUID = foreign_key("customer.id")
    name: str = Field(max_length=200)
    # The SIP domain: under the ISP's namespace, or one of its verified domains.
    domain: str = Field(max_length=253, unique=True)
    verified_domain_id: uuid.UUID | None = foreign_key("verified_domain.id", nullable=True)
    carrier_id: uuid.UUID | None = foreign_key("carrier.id", nullable=True)
    dial_plan_id: uuid.UUID | None = foreign_key("dial_plan.id", nullable=True)
    default_country_code: str = Field(max_length=3, description="E.164 country calling code")
    default_area_code: str = Field(default="", max_length=8)
    provisioning_username: str = Field(max_length=64)
    provisioning_password_encrypted: str = Field(sa_type=sa.Text)
    status: TenantStatus = Field(
        default=TenantStatus.ACTIVE, sa_type=enum_type(TenantStatus, "tenant_status")
    )


class Smbc(IdMixin, TimestampsMixin, table=True):
    """A session and media border controller of an ISP, or of one of its customers."""

    __tablename__ = "smbc"
    __table_args__ = (sa.UniqueConstraint("isp_id", "name"),)

    isp_id: uuid.UUID = foreign_key("isp.id", ondelete="CASCADE")
    customer_id: uuid.UUID | None = foreign_key("customer.id", ondelete="CASCADE", nullable=True)
    name: str = Field(max_length=200)
    address: str = Field(max_length=253, description="IP literal or FQDN, optional :port")
    region: str = Field(default="", max_length=100)


class TenantSmbc(TimestampsMixin, table=True):
    """The SMBCs a tenant's phones are provisioned against, in order of preference."""

    __tablename__ = "tenant_smbc"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "position"),)

    tenant_id: uuid.UUID = Field(foreign_key="tenant.id", ondelete="CASCADE", primary_key=True)
    # NO ACTION: an SMBC in use by a tenant cannot be deleted.
    smbc_id: uuid.UUID = Field(foreign_key="smbc.id", primary_key=True, index=True)
    position: int = 0
