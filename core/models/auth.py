"""Credentials and single-use links: sign-up requests, invitations, sessions, API tokens.

Every secret here (link tokens, session ids, API tokens, CSRF tokens) is stored
only as a SHA-256 digest: they are long random strings, so a fast hash is
enough, and a copy of the database lets nobody log in.
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.base import IdMixin, TimestampsMixin, UTCDateTime, enum_type, foreign_key
from core.models.identity import Role, Scope

DIGEST_LENGTH = 64  # hex SHA-256


class SignupRequest(IdMixin, TimestampsMixin, table=True):
    """An e-mailed, single-use link that lets its holder create an ISP."""

    __tablename__ = "signup_request"

    email: str = Field(max_length=254, index=True)
    token_hash: str = Field(max_length=DIGEST_LENGTH, unique=True)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    used_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class Invitation(IdMixin, TimestampsMixin, table=True):
    """An e-mailed, single-use link that grants a role at a scope to its holder."""

    __tablename__ = "invitation"
    __table_args__ = (
        sa.CheckConstraint(
            "(scope = 'ISP' AND isp_id IS NOT NULL AND customer_id IS NULL AND tenant_id IS NULL)"
            " OR (scope = 'CUSTOMER' AND isp_id IS NOT NULL AND customer_id IS NOT NULL"
            " AND tenant_id IS NULL)"
            " OR (scope = 'TENANT' AND isp_id IS NOT NULL AND tenant_id IS NOT NULL"
            " AND customer_id IS NULL)",
            name="scope_matches_target",
        ),
    )

    email: str = Field(max_length=254, index=True)
    token_hash: str = Field(max_length=DIGEST_LENGTH, unique=True)
    scope: Scope = Field(sa_type=enum_type(Scope, "invitation_scope"))
    role: Role = Field(default=Role.ADMIN, sa_type=enum_type(Role, "invitation_role"))
    isp_id: uuid.UUID = foreign_key("isp.id", ondelete="CASCADE")
    customer_id: uuid.UUID | None = foreign_key("customer.id", ondelete="CASCADE", nullable=True)
    tenant_id: uuid.UUID | None = foreign_key("tenant.id", ondelete="CASCADE", nullable=True)
    invited_by_id: uuid.UUID | None = foreign_key(
        "administrator.id", ondelete="SET NULL", nullable=True
    )
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    accepted_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuthSession(IdMixin, TimestampsMixin, table=True):
    """A browser login: the cookie holds a random id, the server holds its digest."""

    __tablename__ = "auth_session"

    token_hash: str = Field(max_length=DIGEST_LENGTH, unique=True)
    csrf_token_hash: str = Field(max_length=DIGEST_LENGTH)
    administrator_id: uuid.UUID = foreign_key("administrator.id", ondelete="CASCADE")
    last_seen_at: dt.datetime = Field(sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime, description="Absolute expiry")
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    client_address: str = Field(default="", max_length=45)
    user_agent: str = Field(default="", max_length=300)


class ApiToken(IdMixin, TimestampsMixin, table=True):
    """A personal token for automation; it acts with its creator's current roles."""

    __tablename__ = "api_token"

    administrator_id: uuid.UUID = foreign_key("administrator.id", ondelete="CASCADE")
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=DIGEST_LENGTH, unique=True)
    # The first characters, shown in lists so people can tell their tokens apart.
    token_prefix: str = Field(max_length=16)
    expires_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginThrottle(IdMixin, TimestampsMixin, table=True):
    """Failed logins counted per account and per client address."""

    __tablename__ = "login_throttle"

    # "account:<email>" or "address:<ip>".
    key: str = Field(max_length=300, unique=True)
    failures: int = 0
    last_failure_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    locked_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class RateLimit(SQLModel, table=True):
    """How often something was done for one key (an address, a client) in the current window."""

    __tablename__ = "rate_limit"

    # e.g. "signup-mail:<email>" or "signup-client:<ip>".
    key: str = Field(primary_key=True, max_length=300)
    count: int = 0
    window_ends_at: dt.datetime = Field(sa_type=UTCDateTime)
