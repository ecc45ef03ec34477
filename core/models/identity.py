"""People who log in, and the roles they hold at a scope."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from core.models.base import IdMixin, TimestampsMixin, UTCDateTime, enum_type, foreign_key


class Administrator(IdMixin, TimestampsMixin, table=True):
    __tablename__ = "administrator"

    # Stored lower-cased, so uniqueness is case-insensitive on every database.
    email: str = Field(max_length=254, unique=True)
    full_name: str = Field(default="", max_length=200)
    # argon2id hash; empty until an invited administrator sets a password.
    password_hash: str | None = Field(default=None, max_length=200)
    is_active: bool = True
    last_login_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class Scope(StrEnum):
    PLATFORM = "PLATFORM"
    ISP = "ISP"
    CUSTOMER = "CUSTOMER"
    TENANT = "TENANT"


class Role(StrEnum):
    ADMIN = "ADMIN"
    VIEWER = "VIEWER"


def _one_grant_per_target() -> tuple[sa.Index, ...]:
    targets = {
        "PLATFORM": (),
        "ISP": ("isp_id",),
        "CUSTOMER": ("customer_id",),
        "TENANT": ("tenant_id",),
    }
    return tuple(
        sa.Index(
            f"uq_role_grant_{scope.lower()}",
            "administrator_id",
            *columns,
            unique=True,
            sqlite_where=sa.text(f"scope = '{scope}'"),
            postgresql_where=sa.text(f"scope = '{scope}'"),
        )
        for scope, columns in targets.items()
    )


class RoleGrant(IdMixin, TimestampsMixin, table=True):
    """A role held at one scope: the platform, one ISP, one customer or one tenant."""

    __tablename__ = "role_grant"
    __table_args__ = (
        # The scope column that is set must be exactly the one the scope names.
        sa.CheckConstraint(
            "(scope = 'PLATFORM' AND isp_id IS NULL AND customer_id IS NULL AND tenant_id IS NULL)"
            " OR (scope = 'ISP' AND isp_id IS NOT NULL AND customer_id IS NULL"
            " AND tenant_id IS NULL)"
            " OR (scope = 'CUSTOMER' AND isp_id IS NOT NULL AND customer_id IS NOT NULL"
            " AND tenant_id IS NULL)"
            " OR (scope = 'TENANT' AND isp_id IS NOT NULL AND tenant_id IS NOT NULL"
            " AND customer_id IS NULL)",
            name="scope_matches_target",
        ),
        # One grant per person and scope target (NULLs never collide in a plain
        # UNIQUE, hence one partial index per scope).
        *_one_grant_per_target(),
    )

    administrator_id: uuid.UUID = foreign_key("administrator.id", ondelete="CASCADE")
    scope: Scope = Field(sa_type=enum_type(Scope, "scope"))
    role: Role = Field(default=Role.ADMIN, sa_type=enum_type(Role, "role"))
    # Customer and tenant grants also carry their ISP, so that "everything of
    # ISP X" is one indexed comparison for every scope below the platform.
    isp_id: uuid.UUID | None = foreign_key("isp.id", ondelete="CASCADE", nullable=True)
    customer_id: uuid.UUID | None = foreign_key("customer.id", ondelete="CASCADE", nullable=True)
    tenant_id: uuid.UUID | None = foreign_key("tenant.id", ondelete="CASCADE", nullable=True)
