"""What the control plane knows about its SIP proxies and the tables it exports to them."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.base import IdMixin, TimestampsMixin, UTCDateTime


class SipProxy(IdMixin, TimestampsMixin, table=True):
    """A Kamailio proxy: the database whose tables it reads, and its JSON-RPC endpoint.

    Several proxies may read one database; they share ``database_key``.
    """

    __tablename__ = "sip_proxy"

    name: str = Field(max_length=100, unique=True)
    # The URL may carry a password: stored encrypted, shown without it.
    database_url_encrypted: str = Field(sa_type=sa.Text)
    database_display: str = Field(max_length=500, description="The URL without its password")
    database_key: str = Field(max_length=64, index=True)
    rpc_url: str = Field(max_length=500)
    enabled: bool = True
    # The export generation this proxy last reloaded successfully.
    applied_generation: int = 0
    last_success_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    last_error_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class RoutingDatabase(SQLModel, table=True):
    """The export state of one proxy database (the tables one or more proxies read)."""

    __tablename__ = "routing_database"

    key: str = Field(primary_key=True, max_length=64)
    # Raised by each export that changed the tables.
    generation: int = 0
    # The change request the last export covered (see RoutingChanges).
    covered_request: int = 0
    exported_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_rows_written: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    last_error_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class RoutingChanges(SQLModel, table=True):
    """One row counting commits that changed routing data: exports catch up to it."""

    __tablename__ = "routing_changes"

    id: int = Field(default=1, primary_key=True)
    requested: int = 0
    requested_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The last request whose changes could not be traced to ISPs (a bulk statement, a
    # proxy): it counts as every ISP's.
    unattributed: int = 0
    # What each request touched is kept (RoutingChangeSubject) for requests above this one;
    # a database that covered less is exported in full.
    subjects_kept_after: int = 0


class RoutingChangeSubject(SQLModel, table=True):
    """One thing a change request touched (a tenant, a number, a dial plan, a security
    group; or "all"): the incremental export recomputes only the rows of these."""

    __tablename__ = "routing_change_subject"

    id: int | None = Field(default=None, primary_key=True)
    request: int = Field(index=True)
    kind: str = Field(max_length=32)
    value: str = Field(max_length=253)


class RoutingIspChange(SQLModel, table=True):
    """The last change request that changed one ISP's routing data: the ISP's changes are
    live once every proxy database has covered it (see RoutingDatabase.covered_request)."""

    __tablename__ = "routing_isp_change"

    isp_id: uuid.UUID = Field(foreign_key="isp.id", primary_key=True, ondelete="CASCADE")
    requested: int = 0


class RoutingIdentifier(SQLModel, table=True):
    """The stable integer by which the proxies know a dial plan, carrier, gateway or group."""

    __tablename__ = "routing_identifier"
    __table_args__ = (sa.UniqueConstraint("kind", "object_id"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    object_id: uuid.UUID
