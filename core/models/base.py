"""What every table shares: keys, timestamps, column types and constraint names.

Keys are UUIDs (random, so ids reveal nothing about volume or order); times are
timezone-aware UTC on every database; enums are stored as their names with a
CHECK constraint rather than as native PostgreSQL enums, so that adding a value
is an ordinary migration on both databases.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

# Stable constraint names: Alembic can drop and alter what it can name.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MONEY_DIGITS = 14
MONEY_PLACES = 4


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always timezone-aware UTC, also on SQLite."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[dt.datetime]:
        return dt.datetime

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use timezone-aware UTC")
        value = value.astimezone(dt.UTC)
        # SQLite keeps text; without an offset every stored value sorts alike.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def enum_type(enum_class: type[Enum], name: str) -> sa.Enum:
    """A string column restricted to the enum's names by a CHECK constraint."""
    return sa.Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(member.name) for member in enum_class),
        validate_strings=True,
    )


def money_field(**kwargs: Any) -> Any:
    """A decimal amount of money; never a float."""
    return Field(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, **kwargs)


def uuid_pk() -> Any:
    return Field(default_factory=uuid.uuid4, primary_key=True)


def foreign_key(
    target: str, *, ondelete: str | None = None, nullable: bool = False, index: bool = True
) -> Any:
    """A UUID foreign key with a deliberate ON DELETE rule.

    ``ondelete=None`` is the SQL default NO ACTION: the delete is refused unless
    the referencing rows are gone by the end of the statement (which lets an
    ISP's cascade remove siblings that reference each other).
    """
    options: dict[str, Any] = {"ondelete": ondelete} if ondelete else {}
    return Field(
        default=None if nullable else ...,
        nullable=nullable,
        foreign_key=target,
        index=index,
        **options,
    )


class IdMixin(SQLModel):
    id: uuid.UUID = uuid_pk()


class TimestampsMixin(SQLModel):
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"nullable": False}
    )
    updated_at: dt.datetime = Field(
        default_factory=utcnow,
        sa_type=UTCDateTime,
        sa_column_kwargs={"nullable": False, "onupdate": utcnow},
    )


__all__ = [
    "MONEY_DIGITS",
    "MONEY_PLACES",
    "Decimal",
    "IdMixin",
    "TimestampsMixin",
    "UTCDateTime",
    "enum_type",
    "foreign_key",
    "money_field",
    "utcnow",
    "uuid_pk",
]
