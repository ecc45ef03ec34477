"""Service plans and their decks: what an ISP charges its customers for.

A plan carries the monthly prices; its service deck prices calls per service
and its rate deck per destination prefix (core.billing says how a call is
rated). A rate deck holds at most one entry per prefix, which is also the key
an import merges on.

Rate decks are large and arrive as CSV files: the upload is stored and a job
(workers/rate_deck_import.py) checks every row, then writes the whole deck in
one transaction, or nothing at all.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import partial
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlmodel import Session, col

from core import audit, billing, stored_files, validation
from core.catalogue import managed_object, require_free_name
from core.csv_files import CsvRow, LineErrors, read_rows, write_csv
from core.errors import DomainError, ErrorCode, ErrorCollector, not_found
from core.jobs import Enqueued, JobSpec, enqueue, register_kind
from core.models import (
    Administrator,
    Customer,
    RateDeckEntry,
    Service,
    ServiceDeckEntry,
    ServicePlan,
    utcnow,
)
from core.ownership import managed_isp, require_manager
from core.routing_changes import note_change
from core.scoping import get_visible
from core.viewer import ANONYMOUS, Viewer

Check = Callable[[Any, tuple[str, ...]], Any]
DeckEntry = ServiceDeckEntry | RateDeckEntry

# Subject: the plan, so that one import per plan runs at a time.
RATE_DECK_IMPORT = register_kind(JobSpec(kind="rate_deck.import", subject_type="ServicePlan",
                                         max_attempts=3, timeout_seconds=1800))
MAX_RATE_DECK_ROWS = 200_000
MAX_RATE_DECK_BYTES = 32 * 1024 * 1024
UPLOAD_KEPT_FOR = dt.timedelta(days=1)
WRITE_CHUNK_ROWS = 5_000


def _checked(checks: dict[str, Check], values: dict[str, Any]) -> dict[str, Any]:
    """The values, each checked and normalised; every mistake reported at once."""
    errors = ErrorCollector()
    checked = {name: errors.check(checks[name], value, (name,)) for name, value in values.items()}
    errors.raise_if_any()
    return checked


# Plans -----------------------------------------------------------------------------------


def _cutoff_day(value: int, field: tuple[str, ...]) -> int:
    # 28 at most: every month has the day, so invoices never skip one.
    if not 1 <= value <= 28:
        raise DomainError.single(ErrorCode.INVALID, "choose a day from 1 to 28", *field)
    return value


_PLAN_CHECKS: dict[str, Check] = {
    "name": partial(validation.bounded_text, max_length=200, required=True),
    "monthly_price_per_subscriber": billing.money,
    "monthly_price_per_did": billing.money,
    "invoice_cutoff_day": _cutoff_day,
    "currency": validation.currency_code,
    "prepaid": lambda value, _field: bool(value),
}


def managed_plan(session: Session, viewer: Viewer, plan_id: uuid.UUID | None,
                 field: str = "id") -> ServicePlan:
    """A plan the viewer may change; another ISP's plan answers like a missing one."""
    return managed_object(session, viewer, ServicePlan, plan_id, "service plan", field)


def _name_free(session: Session, isp_id: uuid.UUID, name: str,
               plan_id: uuid.UUID | None = None) -> None:
    require_free_name(session, ServicePlan, name, f"a service plan named {name!r} already exists",
                      within=(ServicePlan.isp_id, isp_id), exclude_id=plan_id)


def create_plan(session: Session, viewer: Viewer, isp_id: uuid.UUID | None,
                values: dict[str, Any]) -> ServicePlan:
    """A new plan of the ISP; its currency is the ISP's unless another is given."""
    isp = managed_isp(session, viewer, isp_id)
    checked = _checked(_PLAN_CHECKS, {"currency": isp.currency} | values)
    _name_free(session, isp.id, checked["name"])
    plan = ServicePlan(isp_id=isp.id, **checked)
    session.add(plan)
    session.flush()
    audit.record(session, viewer, action="service_plan.create", object_type="ServicePlan",
                 object_id=plan.id, isp_id=isp.id, changes=checked)
    return plan


def update_plan(session: Session, viewer: Viewer, plan_id: uuid.UUID | None,
                changes: dict[str, Any]) -> ServicePlan:
    plan = managed_plan(session, viewer, plan_id)
    checked = _checked(_PLAN_CHECKS, changes)
    if "name" in checked:
        _name_free(session, plan.isp_id, checked["name"], plan.id)
    if "prepaid" in checked and checked["prepaid"] != plan.prepaid:
        # Its customers' tenants gain or lose the proxies' credit flag (core.prepaid).
        note_change(session, "customer", [{"isp_id": plan.isp_id}])
    plan.sqlmodel_update(checked)
    session.add(plan)
    session.flush()
    audit.record(session, viewer, action="service_plan.update", object_type="ServicePlan",
                 object_id=plan.id, isp_id=plan.isp_id, changes=checked)
    return plan


def delete_plan(session: Session, viewer: Viewer, plan_id: uuid.UUID | None) -> ServicePlan:
    """Delete a plan and its decks; refused while customers are billed under it."""
    plan = managed_plan(session, viewer, plan_id)
    users = session.execute(select(col(Customer.name))
                            .where(col(Customer.service_plan_id) == plan.id)
                            .order_by(col(Customer.name)).limit(10)).scalars().all()
    if users:
        raise DomainError.single(
            ErrorCode.IN_USE,
            f"customers are billed under this plan ({', '.join(users)}); "
            "give them another plan first", "id")
    session.delete(plan)
    session.flush()
    audit.record(session, viewer, action="service_plan.delete", object_type="ServicePlan",
                 object_id=plan.id, isp_id=plan.isp_id, changes={"name": plan.name})
    return plan


# Deck entries ------------------------------------------------------------------------------

_TERMS_CHECKS: dict[str, Check] = {
    "rate_per_minute": billing.money,
    "valid_from": partial(billing.moment, required=True),
    "valid_to": billing.moment,
    "minimum_duration": billing.duration,
    "increment": partial(billing.duration, minimum=1),
    "delay": billing.duration,
}


@dataclass(frozen=True)
class _Deck:
    """What differs between the two decks' entries."""

    label: str  # for messages
    action: str  # prefix of audit actions
    checks: dict[str, Check]
    key: str | None = None  # a column unique within the plan's deck


_DECKS: dict[type[DeckEntry], _Deck] = {
    ServiceDeckEntry: _Deck("service deck entry", "service_deck_entry",
                            _TERMS_CHECKS | {"service": lambda value, _field: Service(value)}),
    RateDeckEntry: _Deck("rate deck entry", "rate_deck_entry",
                         _TERMS_CHECKS | {
                             "prefix": billing.prefix,
                             "description": partial(validation.bounded_text, max_length=200),
                         }, key="prefix"),
}


def deck_label(model: type[DeckEntry]) -> str:
    """What an entry of this deck is called in messages ("rate deck entry")."""
    return _DECKS[model].label


def _key_free(session: Session, model: type[DeckEntry], entry: DeckEntry) -> None:
    deck = _DECKS[model]
    if deck.key is None:
        return
    value = getattr(entry, deck.key)
    clash = select(col(model.id)).where(col(model.service_plan_id) == entry.service_plan_id,
                                   getattr(model, deck.key) == value, col(model.id) != entry.id)
    if session.execute(clash).first() is not None:
        raise DomainError.single(ErrorCode.ALREADY_EXISTS,
                                 f"the deck already has an entry for {deck.key} {value}",
                                 deck.key)


def _save_entry(session: Session, viewer: Viewer, model: type[DeckEntry], entry: DeckEntry,
                isp_id: uuid.UUID, verb: str, checked: dict[str, Any]) -> DeckEntry:
    billing.validity(entry.valid_from, entry.valid_to)
    _key_free(session, model, entry)
    session.add(entry)
    session.flush()
    audit.record(session, viewer, action=f"{_DECKS[model].action}.{verb}",
                 object_type=model.__name__, object_id=entry.id, isp_id=isp_id, changes=checked)
    return entry


def create_deck_entry(session: Session, viewer: Viewer, model: type[DeckEntry],
                      plan_id: uuid.UUID | None, values: dict[str, Any]) -> DeckEntry:
    """A new entry in one of the plan's decks; valid from now unless a start is given."""
    plan = managed_plan(session, viewer, plan_id, "service_plan")
    checked = _checked(_DECKS[model].checks, {"valid_from": utcnow()} | values)
    entry = model(service_plan_id=plan.id, **checked)
    return _save_entry(session, viewer, model, entry, plan.isp_id, "create", checked)


def _managed_entry(session: Session, viewer: Viewer, model: type[DeckEntry],
                   entry_id: uuid.UUID | None) -> tuple[DeckEntry, ServicePlan]:
    entry = get_visible(session, viewer, model, entry_id)
    if entry is None:
        raise not_found(_DECKS[model].label, "id")
    plan = session.get(ServicePlan, entry.service_plan_id)
    assert plan is not None  # the entry is visible through its plan
    require_manager(viewer, plan.isp_id)
    return entry, plan


def update_deck_entry(session: Session, viewer: Viewer, model: type[DeckEntry],
                      entry_id: uuid.UUID | None, changes: dict[str, Any]) -> DeckEntry:
    entry, plan = _managed_entry(session, viewer, model, entry_id)
    checked = _checked(_DECKS[model].checks, changes)
    entry.sqlmodel_update(checked)
    return _save_entry(session, viewer, model, entry, plan.isp_id, "update", checked)


def delete_deck_entry(session: Session, viewer: Viewer, model: type[DeckEntry],
                      entry_id: uuid.UUID | None) -> DeckEntry:
    entry, plan = _managed_entry(session, viewer, model, entry_id)
    session.delete(entry)
    session.flush()
    audit.record(session, viewer, action=f"{_DECKS[model].action}.delete",
                 object_type=model.__name__, object_id=entry.id, isp_id=plan.isp_id)
    return entry


# Rate deck files ---------------------------------------------------------------------------


class ImportMode(StrEnum):
    REPLACE = "REPLACE"  # the file becomes the whole deck
    MERGE = "MERGE"  # the file's prefixes are added or updated; the others stay


RATE_DECK_REQUIRED = ["prefix", "rate_per_minute"]
RATE_DECK_OPTIONAL = ["description", "minimum_duration", "increment", "delay", "valid_from",
                      "valid_to"]
_TEMPLATE_ROWS = [
    ["+44", "0.0150", "United Kingdom", "30", "6", "3", "2025-01-01", ""],
    ["+4420", "0.0100", "London", "60", "60", "0", "2025-01-01T00:00:00+00:00",
     "2026-01-01T00:00:00+00:00"],
]


def rate_deck_template() -> str:
    """A CSV file to start a rate deck from: the header and two example rows."""
    return write_csv(RATE_DECK_REQUIRED + RATE_DECK_OPTIONAL, _TEMPLATE_ROWS).decode("utf-8")


def start_rate_deck_import(session: Session, viewer: Viewer, plan_id: uuid.UUID | None, *,
                           filename: str, content: bytes, mode: ImportMode) -> Enqueued:
    """Keep the file and queue the job that imports it; one import per plan at a time."""
    plan = managed_plan(session, viewer, plan_id, "service_plan")
    upload = stored_files.store(
        session, purpose=RATE_DECK_IMPORT.kind, filename=filename, content_type="text/csv",
        content=content, isp_id=plan.isp_id, created_by_id=viewer.administrator_id,
        keep_for=UPLOAD_KEPT_FOR)
    enqueued = enqueue(
        session, RATE_DECK_IMPORT.kind, plan.id, isp_id=plan.isp_id,
        requested_by_id=viewer.administrator_id,
        payload={"file_id": str(upload.id), "mode": mode.value,
                 "requested_by": str(viewer.administrator_id)})
    if not enqueued.created:
        raise DomainError.single(ErrorCode.ALREADY_EXISTS,
                                 "this plan's rate deck is being imported already; "
                                 "wait for that job to end", "service_plan")
    audit.record(session, viewer, action="rate_deck.import_request", object_type="ServicePlan",
                 object_id=plan.id, isp_id=plan.isp_id,
                 changes={"filename": filename, "size_bytes": len(content), "mode": mode,
                          "job": enqueued.job.id})
    return enqueued


def _csv_decimal(text: str, field: tuple[str, ...]) -> Decimal:
    try:
        return billing.money(Decimal(text), field)
    except InvalidOperation:
        raise DomainError.single(ErrorCode.INVALID, f"{text!r} is not a number", *field) from None


def _csv_seconds(text: str, field: tuple[str, ...], *, default: int, minimum: int = 0) -> int:
    if not text:
        return default
    if not (text.isascii() and text.isdigit()):
        raise DomainError.single(ErrorCode.INVALID, f"{text!r} is not a whole number", *field)
    return billing.duration(int(text), field, minimum=minimum)


def _csv_moment(text: str, field: tuple[str, ...]) -> dt.datetime | None:
    """An ISO date (midnight UTC) or date and time; empty is None."""
    if not text:
        return None
    try:
        return billing.moment(dt.datetime.fromisoformat(text), field)
    except ValueError:
        raise DomainError.single(ErrorCode.INVALID, f"{text!r} is not an ISO date or time",
                                 *field) from None


_CSV_CHECKS: dict[str, Check] = {
    "prefix": billing.prefix,
    "rate_per_minute": _csv_decimal,
    "description": partial(validation.bounded_text, max_length=200),
    "minimum_duration": partial(_csv_seconds, default=0),
    "increment": partial(_csv_seconds, default=1, minimum=1),
    "delay": partial(_csv_seconds, default=0),
    "valid_from": _csv_moment,
    "valid_to": _csv_moment,
}


def _rate_row(row: CsvRow, problems: LineErrors, now: dt.datetime) -> dict[str, Any] | None:
    """The entry a row describes, or None after adding its mistakes to ``problems``."""
    errors = ErrorCollector()
    values = {name: errors.check(check, row.values.get(name, ""), (name,))
              for name, check in _CSV_CHECKS.items()}
    values["valid_from"] = values["valid_from"] or now
    if not errors.errors:
        errors.check(billing.validity, values["valid_from"], values["valid_to"])
    for error in errors.errors:
        problems.add(row.line, f"{error.field[0]}: {error.message}")
    return None if errors.errors else values


def read_rate_deck(content: bytes, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Every entry of a rate deck CSV, checked; a DomainError names every bad line."""
    now = now or utcnow()
    problems = LineErrors()
    entries: list[dict[str, Any]] = []
    first_seen: dict[str, int] = {}
    for row in read_rows(content, required=RATE_DECK_REQUIRED, optional=RATE_DECK_OPTIONAL,
                         max_rows=MAX_RATE_DECK_ROWS):
        entry = _rate_row(row, problems, now)
        if entry is None:
            continue
        seen = first_seen.setdefault(entry["prefix"], row.line)
        if seen != row.line:
            problems.add(row.line, f"prefix {entry['prefix']} is already on line {seen}")
            continue
        entries.append(entry)
    problems.raise_if_any()
    if not entries:
        raise DomainError.single(ErrorCode.INVALID, "the file has no rows", "file")
    return entries


@dataclass(frozen=True)
class ImportResult:
    inserted: int
    updated: int
    deleted: int


def _write_in_chunks(session: Session, statement: Any, rows: list[dict[str, Any]]) -> None:
    # Executemany in chunks: a few round trips per chunk, bounded memory per statement.
    for start in range(0, len(rows), WRITE_CHUNK_ROWS):
        session.execute(statement, rows[start:start + WRITE_CHUNK_ROWS])


def _existing_prefixes(session: Session, plan_id: uuid.UUID) -> dict[str, uuid.UUID]:
    statement = select(col(RateDeckEntry.prefix), col(RateDeckEntry.id)).where(
        col(RateDeckEntry.service_plan_id) == plan_id)
    return dict(session.execute(statement).all())


def _clear_deck(session: Session, plan_id: uuid.UUID) -> int:
    statement = delete(RateDeckEntry).where(col(RateDeckEntry.service_plan_id) == plan_id)
    return session.exec(statement).rowcount


def _requester(session: Session,
               administrator_id: uuid.UUID | None) -> tuple[uuid.UUID | None, str]:
    # The job acts for whoever asked for it: the audit log names them, not the worker.
    person = session.get(Administrator, administrator_id) if administrator_id else None
    return (person.id, person.email) if person else (None, "")


def import_rate_deck(session: Session, plan_id: uuid.UUID, entries: list[dict[str, Any]],
                     mode: ImportMode, requested_by: uuid.UUID | None = None) -> ImportResult:
    """Write checked entries into the plan's rate deck (the caller's one transaction)."""
    plan = session.get(ServicePlan, plan_id)
    if plan is None:
        raise not_found("service plan", "service_plan")
    if mode is ImportMode.REPLACE:
        existing, deleted = {}, _clear_deck(session, plan.id)
    else:
        existing, deleted = _existing_prefixes(session, plan.id), 0
    now = utcnow()
    updates = [{"id": existing[entry["prefix"]], "updated_at": now, **entry}
               for entry in entries if entry["prefix"] in existing]
    inserts = [{"service_plan_id": plan.id, **entry}
               for entry in entries if entry["prefix"] not in existing]
    _write_in_chunks(session, update(RateDeckEntry), updates)
    _write_in_chunks(session, insert(RateDeckEntry), inserts)
    result = ImportResult(inserted=len(inserts), updated=len(updates), deleted=deleted)
    actor_id, actor_email = _requester(session, requested_by)
    audit.record(session, ANONYMOUS, action="rate_deck.import", object_type="ServicePlan",
                 object_id=plan.id, isp_id=plan.isp_id, actor_id=actor_id,
                 actor_email=actor_email, changes={"mode": mode, **asdict(result)})
    return result
