"""Daily totals of each customer's rated legs: what usageSummary reads for whole days.

One row per (customer, UTC day of the call's setup, leg type, destination) with the
counts and sums usageSummary shows. Collection adds the legs of each batch in the
same transaction as the legs themselves; re-rating moves a changed leg's old values
out and its new ones in. So a month of a million legs is summed from about thirty
rows per destination instead of a million (core.usage reads the legs only for the
partial days at the ends of a period).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from core.models import CallLegSide, CallUsageDay

# Rows per statement: 10 values each, well under both databases' limits on parameters.
_CHUNK = 1000
_SUMS = ("calls", "answered_calls", "billed_legs", "billed_seconds", "charges", "cost")


def destination_of(leg: Mapping[str, Any]) -> str:
    """What a leg is summed under: the rate deck prefix that priced it, else its type."""
    return str(leg["destination"] or leg["leg_type"])


def _key(leg: Mapping[str, Any]) -> tuple[uuid.UUID, dt.date, str, str]:
    return (leg["customer_id"], leg["setup_at"].astimezone(dt.UTC).date(), str(leg["leg_type"]),
            destination_of(leg))


def add(session: Session, legs: Iterable[Mapping[str, Any]], *, sign: int = 1) -> None:
    """Add (sign 1) or take out (sign -1) these legs' values (CallLeg columns as a mapping)."""
    totals: dict[tuple[uuid.UUID, dt.date, str, str], list[Any]] = {}
    for leg in legs:
        if leg["customer_id"] is None:
            continue
        row = totals.setdefault(_key(leg), [0, 0, 0, 0, Decimal(0), Decimal(0)])
        if leg["side"] == CallLegSide.A:
            row[0] += sign
            row[1] += sign if leg["answered"] else 0
        if leg["billing_seconds"] > 0:
            row[2] += sign
            row[3] += sign * leg["billing_seconds"]
            row[4] += sign * leg["price"]
            row[5] += sign * (leg["cost"] or 0)
    if not totals:
        return
    rows = [{"customer_id": key[0], "day": key[1], "leg_type": key[2], "destination": key[3],
             **dict(zip(_SUMS, values, strict=True))}
            # A fixed order: two transactions adding to the same days lock them alike.
            for key, values in sorted(totals.items(), key=lambda item: (
                str(item[0][0]), item[0][1], item[0][2], item[0][3]))]
    dialect = session.connection().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = CallUsageDay.__table__  # type: ignore[attr-defined]  # set on table models, not declared
    # One multi-row statement per chunk: an executemany would be a round trip per row.
    for index in range(0, len(rows), _CHUNK):
        statement = insert(CallUsageDay).values(rows[index:index + _CHUNK])
        session.execute(statement.on_conflict_do_update(
            index_elements=["customer_id", "day", "leg_type", "destination"],
            set_={name: table.c[name] + statement.excluded[name] for name in _SUMS}))


def snapshot(leg: Any) -> dict[str, Any]:
    """The values of a CallLeg row that the totals depend on, as they are now."""
    return {name: getattr(leg, name) for name in (
        "customer_id", "setup_at", "leg_type", "destination", "side", "answered",
        "billing_seconds", "price", "cost")}
