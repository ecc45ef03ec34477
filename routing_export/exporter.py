"""One export: desired state -> diff -> one transaction -> reload every proxy of the database.

An export is incremental when it can be: it recomputes and compares only the
rows of the subjects the change requests since the database's last export
touched (``scope.py``), and tells the proxies about single hash-table entries
instead of reloading whole hash tables (``_entry_calls``). It compares every
row (a full export) for a new database, when asked (the periodic reconcile,
``wehostvoip routing export``) and when what changed cannot be told.

Exports of one proxy database are serialised by a PostgreSQL advisory lock taken
on that database for the whole export, reloads included, so no export commits
while a proxy is still reading the previous one. Everything is computed and
checked before the first write; the tables change in one transaction or not
at all. Each export that changes the tables gets the next generation number;
each proxy records the generation it last reloaded, and a proxy that missed
reloads is reloaded in full when it answers again (:func:`catch_up`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from core.database import is_sqlite, session_scope
from core.models import RoutingChanges, RoutingDatabase, SipProxy, utcnow
from core.routing_changes import export_bookkeeping
from core.secrets import SecretBox, SecretDecryptionError
from core.sip_proxies import proxy_database_url
from core.telemetry import PROXY_RELOAD_FAILURES
from routing_export import load_failures
from routing_export import scope as scopes
from routing_export.desired import (
    BY_KEY,
    SCOPED,
    DesiredState,
    InvalidStateError,
    Row,
    allocate_identifiers,
)
from routing_export.diff import DUPLICATE, TableDiff, apply, compare, read_current
from routing_export.rpc import Call, ProxyClient, ReloadError
from routing_export.tables import EXPORTED, Table, create_tables, missing_versions

log = logging.getLogger(__name__)

# pg_advisory_lock key of the routing export ("WHVOIPRX"), taken on the proxy database.
EXPORT_LOCK = 0x574856_4F49505258
MAX_ERROR_LENGTH = 500
# A reload answers when the module has read its whole table: htable.reload of 2,000,000
# DIDs took ~30 s on a busy 2-core machine (benchmarks/proxy_sizing.py).
RELOAD_TIMEOUT_SECONDS = 120.0


class ExportError(Exception):
    """The export could not run (database unreachable, refused, invalid state)."""


@dataclass
class ProxyOutcome:
    name: str
    reloaded: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class ExportReport:
    database_key: str
    diffs: list[TableDiff] = field(default_factory=list)
    generation: int = 0
    dry_run: bool = False
    proxies: list[ProxyOutcome] = field(default_factory=list)
    covered_request: int = 0
    targets: int = 0  # enabled proxies reading the database
    scope: scopes.Scope | None = None  # None: a full export

    @property
    def rows_written(self) -> int:
        return sum(diff.rows_written for diff in self.diffs)

    def describe(self) -> str:
        lines = [f"incremental: {self.scope.describe()}" if self.scope else "full comparison"]
        lines += [diff.summary() for diff in self.diffs if diff.rows_written]
        lines.append(f"{self.rows_written} rows {'to write' if self.dry_run else 'written'}; "
                     f"generation {self.generation}")
        lines += [f"proxy {outcome.name}: "
                  + (f"FAILED {outcome.error}" if outcome.error else
                     f"reloaded {', '.join(outcome.reloaded) or 'nothing (in step)'}")
                  for outcome in self.proxies]
        return "\n".join(lines)


# Checking values whose type Kamailio would misread ------------------------------------------

# Per table: (position of the type column, integer type value, position of the value column).
# A value that is not an integer under an integer type is read as 0 or, for htable, a
# number too large becomes 2147483647 without a word.
_TYPED_VALUES = {"domain_attrs": (2, 0, 3), "htable_alias": (2, 1, 3),
                 "htable_did": (2, 1, 3), "htable_sg": (2, 1, 3), "htable_sms": (2, 1, 3)}
MAX_INT32 = 2**31 - 1


def _check_types(table: Table, rows: list[Row], problems: list[str]) -> None:
    """Values stored under an integer type are integers Kamailio can hold.

    Other column types and widths need no check here: PostgreSQL refuses a
    value that does not fit, which rolls the one transaction back.
    """
    typed = _TYPED_VALUES.get(table.name)
    if typed is None:
        return
    type_at, integer, value_at = typed
    for row in rows:
        if row[type_at] == integer:
            value = str(row[value_at])
            if not (value.lstrip("-").isdigit() and abs(int(value)) <= MAX_INT32):
                problems.append(f"{table.name}: {row[0]!r} has the integer type but the value "
                                f"{value!r}")


def _check_references(gateways: set[object], rules: list[Row], problems: list[str]) -> None:
    for rule in rules:
        for gateway in str(rule[5]).split(","):
            if int(gateway) not in gateways:
                problems.append(f"dr_rules group {rule[0]} names gateway {gateway}, "
                                "which is not exported")


# Reading the control plane ------------------------------------------------------------------


def _compute(engine: Engine, connection: psycopg.Connection,
             subjects: set[tuple[str, str]] | None, *,
             created: bool = False) -> tuple[list[TableDiff], scopes.Scope | None]:
    """Every table's difference, and the scope it was computed in (None: every row);
    ``created``: the tables are known to exist."""
    with Session(engine) as session:
        if not is_sqlite(engine.url):
            # One snapshot for every table: no half-applied change in the export.
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        scope = None if subjects is None else scopes.resolve(session, subjects)
        state = DesiredState(session, allocate_identifiers(session), scope)
        problems = state.problems
        diffs: list[TableDiff] = []
        gateways: set[object] = set()
        rules: list[Row] = []
        for table in EXPORTED:
            rows = list(state.rows(table.name))
            _check_types(table, rows, problems)
            if table.name == "dr_gateways":
                gateways = {row[0] for row in rows}
            elif table.name == "dr_rules":
                rules = rows
            if scope is None or table.name not in SCOPED:
                diffs.append(compare(table, rows, read_current(connection, table,
                                                               created=created)))
            else:
                diffs.append(_compare_scoped(connection, state, table, rows, scope, problems))
        _check_references(gateways, rules, problems)
        if problems:
            session.rollback()
            raise InvalidStateError(problems)
        session.commit()  # the identifiers given to new objects
    return diffs, scope


# Per scoped table: the current rows of a scope's subjects (a statement's WHERE clause, and
# which of the scope's sets fill its parameters). The expressions have indexes (tables.py).
_CURRENT_IN_SCOPE: dict[str, tuple[str, tuple[str, ...]]] = {
    "domain": ("domain = ANY(%s)", ("domains",)),
    "domain_attrs": ("did = ANY(%s)", ("domains",)),
    "subscriber": ("domain = ANY(%s) OR caller_id = ANY(%s)", ("domains", "numbers")),
    "htable_alias": ("split_part(key_name, ':', 1) = ANY(%s)", ("domains",)),
    "htable_did": ("split_part(key_value, '@', 2) = ANY(%s) OR key_name = ANY(%s)",
                   ("domains", "numbers")),
    "htable_sms": ("split_part(key_value, '@', 2) = ANY(%s) OR key_name = ANY(%s)",
                   ("domains", "numbers")),
}


def _current_by_key(connection: psycopg.Connection, table: Table,
                    keys: list[Row]) -> dict[tuple[object, ...], tuple[int, Row]]:
    columns = [sql.Identifier(column) for column in table.key]
    arrays = sql.SQL(", ").join(sql.SQL("%s::text[]") for _column in columns)
    where = sql.SQL("({}) IN (SELECT * FROM unnest({}))").format(
        sql.SQL(", ").join(columns), arrays)
    return read_current(connection, table, where,
                        [[str(key[at]) for key in keys] for at in range(len(columns))],
                        created=True)


def _compare_scoped(connection: psycopg.Connection, state: DesiredState, table: Table,
                    rows: list[Row], scope: scopes.Scope, problems: list[str]) -> TableDiff:
    """The difference of one table within the scope.

    For the tables whose keys the scope does not bound (``BY_KEY``), the keys found on
    one side only are looked up on the other: a number that moved to a tenant outside
    the scope keeps its row, a number that came from one is not inserted twice.
    """
    where, sets = _CURRENT_IN_SCOPE[table.name]
    current = read_current(connection, table, sql.SQL(where),
                           [sorted(getattr(scope, name)) for name in sets], created=True)
    if table.name in BY_KEY:
        width = len(table.key)
        desired_keys = {row[:width] for row in rows}
        unknown = [key for key in current
                   if key not in desired_keys and key[:len(DUPLICATE)] != DUPLICATE]
        if unknown:
            more = state.rows_by_key(table.name, unknown)
            _check_types(table, more, problems)
            rows += more
            desired_keys.update(row[:width] for row in more)
        missing = [key for key in desired_keys if key not in current]
        if missing:
            current.update(_current_by_key(connection, table, missing))
    return compare(table, rows, current)


# The export ---------------------------------------------------------------------------------


@contextmanager
def _proxy_database(url: str, *, wait: bool = True) -> Iterator[psycopg.Connection | None]:
    """A connection to the proxy database holding the export lock; None if busy and not waiting."""
    try:
        connection = psycopg.connect(url, connect_timeout=10)
    except psycopg.Error as error:
        raise ExportError(f"proxy database unreachable: {error}".strip()) from error
    with connection:
        if wait:
            connection.execute("SELECT pg_advisory_lock(%s)", [EXPORT_LOCK])
        else:
            got = connection.execute("SELECT pg_try_advisory_lock(%s)", [EXPORT_LOCK]).fetchone()
            if not got or not got[0]:
                yield None
                return
        connection.commit()
        try:
            yield connection
        finally:
            connection.rollback()
            connection.execute("SELECT pg_advisory_unlock(%s)", [EXPORT_LOCK])
            connection.commit()


def _refuse_control_plane(connection: psycopg.Connection) -> None:
    found = connection.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
    connection.commit()
    if found and found[0]:
        raise ExportError("refusing to export into the control plane's own database: "
                          "give the proxies a database of their own")


def _targets(engine: Engine, box: SecretBox, key: str) -> tuple[list[SipProxy], str, int, int]:
    with Session(engine) as session:
        proxies = list(session.execute(select(SipProxy).where(
            col(SipProxy.database_key) == key, col(SipProxy.enabled))
            .order_by(SipProxy.name)).scalars())
        changes = session.get(RoutingChanges, 1)
        database = session.get(RoutingDatabase, key)
    if not proxies:
        return [], "", 0, 0
    try:
        url = proxy_database_url(box, proxies[0])
    except SecretDecryptionError as error:
        raise ExportError("the proxy database URL cannot be decrypted with the configured "
                          "secret keys") from error
    return (proxies, url, changes.requested if changes else 0,
            database.generation if database else 0)


# The databases whose tables this process has created or checked (``create_tables``: a
# score of statements). Checked again on every full export, and by each new process (a new
# release may add columns or indexes).
_TABLES_READY: set[str] = set()


def _subjects(engine: Engine, key: str, requested: int) -> set[tuple[str, str]] | None:
    """What the requests this export covers touched; None: export in full."""
    with Session(engine) as session:
        database = session.get(RoutingDatabase, key)
        if database is None or database.generation == 0:
            return None  # a new database (or never written): every row
        return scopes.pending_subjects(session, database.covered_request, requested)


def export(engine: Engine, box: SecretBox, key: str, *, dry_run: bool = False,
           full: bool = False) -> ExportReport:
    """Bring one proxy database in line with the control plane, then reload its proxies.

    Incremental unless ``full`` (or a dry run, which shows every difference).
    """
    proxies, url, _requested, _generation = _targets(engine, box, key)
    report = ExportReport(database_key=key, dry_run=dry_run, targets=len(proxies))
    if not proxies:
        return report
    with _proxy_database(url) as connection:
        assert connection is not None
        # Read under the lock: an export that ran meanwhile moved both on.
        proxies, _url, requested, generation = _targets(engine, box, key)
        report.generation, report.covered_request = generation, requested
        _refuse_control_plane(connection)
        created = []
        if not dry_run and (full or key not in _TABLES_READY):
            created = create_tables(connection)
            connection.commit()
            _TABLES_READY.add(key)
        incremental = not (full or dry_run or created)
        subjects = _subjects(engine, key, requested) if incremental else None
        report.diffs, report.scope = _compute(engine, connection, subjects,
                                              created=key in _TABLES_READY and not dry_run)
        if dry_run:
            return report
        changed = [diff for diff in report.diffs if diff.rows_written]
        for diff in changed:
            apply(connection, diff)
        if missing_versions(connection):
            connection.rollback()
            raise ExportError(f"version rows missing for {missing_versions(connection)}")
        connection.commit()
        if changed:
            report.generation = generation + 1
        _record_export(engine, report)
        # A full export reloads whole tables: it is also what repairs a proxy.
        wanted = _reload_calls(changed, entries=report.scope is not None)
        report.proxies = _reload(engine, proxies, wanted, previous=generation,
                                 current=report.generation)
    return report


def _record_export(engine: Engine, report: ExportReport) -> None:
    with session_scope(engine) as session:
        database = session.get(RoutingDatabase, report.database_key) or RoutingDatabase(
            key=report.database_key)
        database.generation = report.generation
        database.covered_request = max(database.covered_request, report.covered_request)
        database.exported_at = utcnow()
        database.last_rows_written = report.rows_written
        database.last_error = None
        database.last_error_at = None
        session.add(database)
        session.flush()
        # Subjects every database has covered are not needed any more.
        keys = session.execute(select(col(SipProxy.database_key)).where(col(SipProxy.enabled))
                               .distinct()).scalars().all()
        covered = session.execute(select(col(RoutingDatabase.covered_request)).where(
            col(RoutingDatabase.key).in_(keys))).scalars().all()
        if covered and len(covered) == len(keys):
            scopes.prune(export_bookkeeping(session), min(covered))


def record_failure(engine: Engine, key: str, message: str) -> None:
    with session_scope(engine) as session:
        database = session.get(RoutingDatabase, key) or RoutingDatabase(key=key)
        database.last_error = message[:MAX_ERROR_LENGTH]
        database.last_error_at = utcnow()
        session.add(database)


ALL_RELOADS: list[Call] = []
for _table in EXPORTED:
    if _table.reload is not None and _table.reload not in ALL_RELOADS:
        ALL_RELOADS.append(_table.reload)


# Hash tables take single entries over JSON-RPC (htable.sets / seti / delete): a change of
# this many entries or fewer is sent entry by entry, more is one htable.reload. Either way
# the database rows are already committed, so a restarted proxy loads the same thing.
MAX_ENTRY_CALLS = 200
_HTABLE_VALUE_TYPE = 2  # position in a row of an htable table: value_type, then key_value


def _entry_calls(diff: TableDiff) -> list[Call] | None:
    """The single-entry calls that carry one hash table's difference; None: reload it."""
    table = diff.table
    if table.reload is None or table.reload[0] != "htable.reload" \
            or diff.rows_written > MAX_ENTRY_CALLS:
        return None
    if any(len(key) != len(table.key) for key in diff.deleted_keys):
        return None  # duplicate rows (a hand edit): which one the proxy holds is unknown
    name = table.reload[1][0]
    calls: list[Call] = [("htable.delete", (name, str(key[0]))) for key in diff.deleted_keys]
    for row in [*diff.inserts, *(row for _row_id, row in diff.updates)]:
        value = str(row[_HTABLE_VALUE_TYPE + 1])
        if row[_HTABLE_VALUE_TYPE] == 1:  # an integer: seti takes a JSON number
            calls.append(("htable.seti", (name, str(row[0]), int(value))))
        else:
            calls.append(("htable.sets", (name, str(row[0]), value)))
    return calls


def _reload_calls(changed: list[TableDiff], *, entries: bool) -> list[Call]:
    """The calls that make a proxy that holds the previous export hold this one (with
    ``entries``, hash tables entry by entry where that is shorter)."""
    wanted: set[Call] = set()
    single: list[Call] = []
    for diff in changed:
        calls = _entry_calls(diff) if entries else None
        if calls is not None:
            single += calls
        elif diff.table.reload is not None:
            wanted.add(diff.table.reload)
    return [call for call in ALL_RELOADS if call in wanted] + single


def _reload(engine: Engine, proxies: list[SipProxy], wanted: list[Call], *, previous: int,
            current: int) -> list[ProxyOutcome]:
    outcomes = []
    for proxy in proxies:
        # A proxy that missed an earlier reload cannot know what else changed: all of it.
        calls = wanted if proxy.applied_generation >= previous else ALL_RELOADS
        if proxy.applied_generation >= current and not calls:
            outcomes.append(ProxyOutcome(proxy.name))
            continue
        outcomes.append(reload_proxy(engine, proxy, calls, current))
    return outcomes


def reload_proxy(engine: Engine, proxy: SipProxy, calls: list[Call],
                 generation: int) -> ProxyOutcome:
    """Run the reloads on one proxy and record how it went on its row."""
    outcome = ProxyOutcome(proxy.name)
    client = ProxyClient(proxy.rpc_url, timeout=RELOAD_TIMEOUT_SECONDS)
    current = ""
    try:
        for method, params in calls:
            current = method if not params else f"{method}({params[0]})"
            client.reload(method, *params)
            if current not in outcome.reloaded:  # one line for many entries of a table
                outcome.reloaded.append(current)
    except ReloadError as error:
        # Kamailio's reason (e.g. out of shared memory), for routingStatus and /readyz.
        outcome.error = load_failures.explain(client, current, error)[:MAX_ERROR_LENGTH]
        PROXY_RELOAD_FAILURES.labels(proxy.name).inc()
        log.warning("proxy %s did not reload: %s", proxy.name, outcome.error)
    finally:
        client.close()
    with session_scope(engine) as session:
        export_bookkeeping(session)
        row = session.get(SipProxy, proxy.id)
        if row is not None:
            if outcome.error is None:
                row.applied_generation = generation
                row.last_success_at = utcnow()
                row.last_error = None
            else:
                row.last_error = outcome.error
                row.last_error_at = utcnow()
            session.add(row)
    return outcome


def catch_up(engine: Engine, box: SecretBox, key: str) -> list[ProxyOutcome]:
    """Reload, in full, the proxies of one database that missed a reload; skip if busy."""
    proxies, url, _requested, generation = _targets(engine, box, key)
    lagging = [proxy for proxy in proxies if proxy.applied_generation < generation]
    if not lagging:
        return []
    with _proxy_database(url, wait=False) as connection:
        if connection is None:
            return []  # an export runs now and reloads them itself
        # Read again under the lock: an export that ended meanwhile reloaded them already,
        # and a whole reload of a large hash table costs seconds.
        proxies, _url, _requested, generation = _targets(engine, box, key)
        return [reload_proxy(engine, proxy, ALL_RELOADS, generation) for proxy in proxies
                if proxy.applied_generation < generation]


def database_keys(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.execute(select(col(SipProxy.database_key)).where(col(SipProxy.enabled))
                                    .distinct().order_by(col(SipProxy.database_key))).scalars())


def export_outstanding(engine: Engine, key: str) -> bool:
    """Whether changes were requested after the last export of this database covered them."""
    with Session(engine) as session:
        changes = session.get(RoutingChanges, 1)
        database = session.get(RoutingDatabase, key)
    requested = changes.requested if changes else 0
    return database is None or database.covered_request < requested
