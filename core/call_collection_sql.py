"""Collecting one batch of call records set-based, on PostgreSQL.

The same batch as core.call_collection's Python path (its docstring has the
steps and the guarantees), done by the database: the batch's ``acc`` rows are
copied out of the proxy database into a temporary table of the control
plane's (one COPY, as a plain COPY would), and a few INSERT ... SELECT and
UPDATE statements turn them into call records, close the calls they end,
and rate every ended call (core.call_rating_sql). Python touches only the
rare failed attempts of failover (``missed_calls``), with the Python path's
own code. A million rows then cost a few times a bare COPY, where a Python
loop over them cost twenty-odd times.

The Python path and this one give the same records and legs for the same
rows (tests/workers/test_call_rating_paths.py); the watermark, the lock that
serialises two collectors, and the rollback of an interrupted batch are the
caller's (core.call_collection.collect_batch) and the same for both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Json
from sqlmodel import Session

from core.call_rating_sql import ENDED_COLUMNS, rate_ended_calls
from core.rating import CustomerCharges

# Rows per batch: a batch is one transaction; larger ones spread its fixed costs (a few
# temporary tables and statements) over more rows, smaller ones hold locks for less.
BATCH_SIZE = 100_000

_ACC_COLUMNS = ("id bigint, method text, from_tag text, to_tag text, callid text, "
                "sip_code text, sip_reason text, time_epoch double precision, "
                "setup_epoch double precision, source text, src_ip text, tenant_domain text, "
                "caller text, caller_id text, callee text, destination text, carrier integer, "
                "gateway text")
_COLUMN_NAMES = ", ".join(column.split()[0] for column in _ACC_COLUMNS.split(", "))


def _e164(column: str) -> str:
    """core.call_collection._e164 in SQL: a number gets its '+', anything else stays. (The
    first test is the common case, a number as the cfg writes it, in one regex.)"""
    text = f"btrim(COALESCE({column}, ''), E' \\t\\n\\r\\f\\v')"
    return (f"CASE WHEN {column} ~ '^\\+[1-9][0-9]{{1,14}}$' THEN {column} "
            f"WHEN {text} ~ '^\\+?[1-9][0-9]{{1,14}}$' "
            f"THEN '+' || ltrim({text}, '+') ELSE {text} END")


def _duration(answered: str, ended: str, longest: int) -> str:
    """core.call_collection._duration in SQL: every second begun counts, 0 to longest."""
    return (f"LEAST(GREATEST(ceil(round(extract(epoch FROM {ended} - {answered}), 3)), 0), "
            f"{longest})::integer")


@dataclass
class SqlBatch:
    """What one set-based batch did (core.call_collection.BatchReport's counts)."""

    rows: int = 0
    last_id: int | None = None
    last_time: dt.datetime | None = None
    calls: int = 0
    ended: int = 0
    end_unknown: int = 0
    unattributed: int = 0
    duplicates: int = 0
    charges: list[CustomerCharges] = field(default_factory=list)


def _literal(cursor: psycopg.Cursor, value: object) -> str:
    """``value`` as an SQL literal, for statements that take no parameters (CREATE TABLE
    AS) or are built from generated fragments."""
    return sql.Literal(value).as_string(cursor)


def _copy_rows(cursor: psycopg.Cursor, proxy: psycopg.Connection, after_id: int,
               batch_size: int) -> None:
    """The next ``batch_size`` acc rows, into the temporary table acc_batch."""
    cursor.execute(f"CREATE TEMP TABLE acc_batch ({_ACC_COLUMNS}) ON COMMIT DROP")
    # Binary: no text to print and parse again (varchar and text share their binary form;
    # the other columns' types are acc's own).
    out_statement = sql.SQL(
        "COPY (SELECT {} FROM acc WHERE id > {} ORDER BY id LIMIT {}) TO STDOUT "
        "(FORMAT BINARY)").format(
        sql.SQL(_COLUMN_NAMES), sql.Literal(after_id), sql.Literal(batch_size))
    with proxy.cursor().copy(out_statement) as out, \
            cursor.copy("COPY acc_batch FROM STDIN (FORMAT BINARY)") as into:
        for chunk in out:
            into.write(chunk)
    cursor.execute("ANALYZE acc_batch")


def _copy_attempts(cursor: psycopg.Cursor, proxy: psycopg.Connection, after_id: int,
                   last_id: int,
                   attempts_of: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> None:
    """The failed attempts (missed_calls) of the batch's calls, as the Python path writes
    them, into the temporary table attempts_batch. Only failover writes them: few rows."""
    cursor.execute("CREATE TEMP TABLE attempts_batch (callid text, from_tag text, "
                   "attempts json) ON COMMIT DROP")
    by_call: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with proxy.cursor(row_factory=dict_row) as missed:
        missed.execute(
            f"SELECT {_COLUMN_NAMES} FROM missed_calls WHERE callid IN ("  # noqa: S608
            "SELECT callid FROM acc WHERE id > %s AND id <= %s AND method = 'INVITE') "
            "ORDER BY id", (after_id, last_id))
        for row in missed:
            by_call.setdefault((row["callid"], row["from_tag"]), []).append(row)
    if by_call:
        with cursor.copy("COPY attempts_batch FROM STDIN") as copy:
            for (callid, from_tag), rows in by_call.items():
                copy.write_row((callid, from_tag, Json(attempts_of(rows))))


def _new_calls(cursor: psycopg.Cursor, database_key: str, now: dt.datetime, id_prefix: str,
               longest: int) -> str:
    """The query of the batch's new calls: a call record (CallRecord's columns) for each
    call's first outcome in the batch, attributed as core.call_collection._new_record does
    (tenant_id NULL: no ISP can be named), completed when its BYE is in the batch too."""
    now_at, prefix, key = (_literal(cursor, value) for value in (now, id_prefix, database_key))
    return f"""
        WITH outcome AS (
            SELECT DISTINCT ON (callid, from_tag) *,
                   COALESCE(source, '') = 'carrier' AS inbound,
                   {_e164('callee')} AS callee_e164,
                   COALESCE(to_timestamp(time_epoch), {now_at}) AS at,
                   CASE WHEN COALESCE(source, '') = 'carrier' THEN src_ip ELSE gateway END
                       AS address,
                   CASE WHEN sip_code ~ '^[0-9]{{1,9}}$' THEN sip_code::integer
                        ELSE 0 END AS code
            FROM acc_batch WHERE method = 'INVITE' ORDER BY callid, from_tag, id),
        address AS MATERIALIZED (
            -- core.call_collection._address: 'host:port' (an IPv6 host in brackets), read
            -- once per address (a batch names a handful).
            SELECT address, btrim(part[1], '[]') AS host, part[2]::integer AS port
            FROM (SELECT address, regexp_match(address, '^(.*):([0-9]{{1,9}})$') AS part
                  FROM (SELECT DISTINCT address FROM outcome) AS named) AS parsed),
        placed AS (
            SELECT o.*, num.target_subscriber_id AS number_subscriber, address.host,
                   address.port,
                   CASE WHEN o.inbound AND num.tenant_id IS NOT NULL THEN num.tenant_id
                        ELSE by_domain.id END AS tenant_ref,
                   CASE WHEN NOT o.inbound AND o.destination IS DISTINCT FROM 'extension'
                        THEN route.object_id END AS route_carrier
            FROM outcome o
            LEFT JOIN address ON address.address = o.address
            LEFT JOIN number num ON o.inbound AND num.e164 = o.callee_e164
            LEFT JOIN tenant by_domain
                 ON by_domain.domain = lower(COALESCE(o.tenant_domain, ''))
            LEFT JOIN routing_identifier route ON NOT o.inbound AND route.id = o.carrier
                 AND route.kind = 'carrier'),
        first_bye AS (
            -- An answered call's end: the first BYE of its dialog after its outcome.
            SELECT DISTINCT ON (b.callid, b.from_tag) b.callid, b.from_tag,
                   COALESCE(to_timestamp(b.time_epoch), {now_at}) AS ended_at
            FROM acc_batch b JOIN outcome o ON o.callid = b.callid
                 AND o.from_tag = b.from_tag AND b.id > o.id
            WHERE b.method = 'BYE' ORDER BY b.callid, b.from_tag, b.id),
        called AS (
            SELECT p.*, t.id AS tenant_id, t.isp_id, t.customer_id,
                   p.code BETWEEN 200 AND 299 AS answered, bye.ended_at AS bye_at,
                   CASE WHEN p.inbound THEN p.number_subscriber ELSE sub.id END
                       AS subscriber_id,
                   CASE WHEN p.inbound THEN gateway_in.carrier_id ELSE p.route_carrier END
                       AS carrier_id,
                   CASE WHEN p.inbound THEN gateway_in.id ELSE gateway_out.id END
                       AS gateway_id,
                   attempts.attempts
            FROM placed p
            LEFT JOIN tenant t ON t.id = p.tenant_ref
            LEFT JOIN subscriber sub ON NOT p.inbound AND sub.tenant_id = t.id
                 AND sub.username = COALESCE(p.caller, '')
            LEFT JOIN gateway gateway_out ON NOT p.inbound
                 AND gateway_out.carrier_id = p.route_carrier
                 AND gateway_out.address = p.host AND gateway_out.port = p.port
            LEFT JOIN LATERAL (
                SELECT g.id, g.carrier_id FROM gateway g JOIN carrier c ON c.id = g.carrier_id
                WHERE p.inbound AND g.address = p.host AND g.port = p.port
                      AND c.isp_id = t.isp_id
                ORDER BY g.id LIMIT 1) AS gateway_in ON true
            LEFT JOIN first_bye bye ON bye.callid = p.callid AND bye.from_tag = p.from_tag
            LEFT JOIN attempts_batch attempts ON attempts.callid = p.callid
                 AND attempts.from_tag = p.from_tag)
        SELECT ({prefix} || lpad(to_hex(row_number() OVER ()), 8, '0'))::uuid
                   AS id,
               {key}::text AS proxy_database, c.callid AS call_id, c.from_tag,
               COALESCE(c.to_tag, '') AS to_tag, c.isp_id, c.customer_id, c.tenant_id,
               c.subscriber_id,
               CASE WHEN c.inbound THEN 'INBOUND' WHEN c.destination = 'extension'
                    THEN 'INTERNAL' ELSE 'OUTBOUND' END AS direction,
               CASE WHEN NOT c.answered THEN 'FAILED' WHEN c.bye_at IS NOT NULL
                    THEN 'COMPLETED' ELSE 'ANSWERED' END AS state,
               left(CASE WHEN c.inbound THEN {_e164('c.caller')}
                         ELSE COALESCE(NULLIF(c.caller_id, ''), NULLIF(c.caller, ''), '')
                    END, 128) AS caller,
               left(c.callee_e164, 128) AS callee, c.carrier_id, c.gateway_id,
               COALESCE(to_timestamp(c.setup_epoch), c.at) AS setup_at,
               CASE WHEN c.answered THEN c.at END AS answered_at,
               CASE WHEN NOT c.answered THEN c.at ELSE c.bye_at END AS ended_at,
               CASE WHEN c.answered AND c.bye_at IS NOT NULL
                    THEN {_duration('c.at', 'c.bye_at', longest)} END AS duration_seconds,
               c.code AS sip_code, left(COALESCE(c.sip_reason, ''), 128) AS sip_reason,
               COALESCE(c.attempts, '[]'::json) AS attempts,
               {now_at}::timestamptz AS collected_at
        FROM called c"""  # noqa: S608


_RECORD_COLUMNS = ("id, proxy_database, call_id, from_tag, to_tag, isp_id, customer_id, "
                   "tenant_id, subscriber_id, direction, state, caller, callee, carrier_id, "
                   "gateway_id, setup_at, answered_at, ended_at, duration_seconds, sip_code, "
                   "sip_reason, attempts, collected_at")
_ENDED_NAMES = ", ".join(column.split()[0] for column in ENDED_COLUMNS.split(", "))


def collect_rows(session: Session, proxy: psycopg.Connection, database_key: str, *,
                 after_id: int, batch_size: int, now: dt.datetime,
                 read_through: dt.datetime | None, longest_call_seconds: int,
                 id_prefix: Callable[[], str],
                 attempts_of: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
                 ) -> SqlBatch:
    """Collect and rate the ``batch_size`` acc rows after ``after_id``, in the session's
    transaction (the caller holds the watermark and moves it).

    ``read_through``: up to when the proxy's rows are read (None: ``now``; a full batch:
    its last row's time); answered calls older than that minus
    ``longest_call_seconds`` are closed END_UNKNOWN. ``id_prefix`` gives a new 24-hex-digit
    prefix of ordered ids per call; ``attempts_of`` the Python path's failed attempts.
    """
    batch = SqlBatch()
    # On PostgreSQL the DBAPI cursor SQLAlchemy hands over is psycopg's own.
    cursor = cast("psycopg.Cursor[Any]", session.connection().connection.cursor())
    # For this batch's transaction only: the temporary tables' row counts are known only
    # roughly, and a merge join the planner then picks for a prefix match can degrade to
    # comparing every leg with every prefix; hash joins stay linear. JIT compiling these
    # one-off statements costs more than it saves.
    cursor.execute("SET LOCAL enable_mergejoin = off")
    cursor.execute("SET LOCAL jit = off")
    # The daily totals of a batch group by prefix and day: tens of thousands of groups.
    cursor.execute("SET LOCAL work_mem = '64MB'")
    # The temporary tables are analyzed (the planner knows nothing of them otherwise), from
    # a small sample: their columns are few and uniform.
    cursor.execute("SET LOCAL default_statistics_target = 10")
    # A batch lost in a crash right after its commit is collected again (its watermark
    # is lost with it): no need to wait for the commit's flush.
    cursor.execute("SET LOCAL synchronous_commit = off")
    _copy_rows(cursor, proxy, after_id, batch_size)
    cursor.execute("SELECT count(*), max(id), to_timestamp(max(time_epoch) FILTER ("
                   "WHERE id = (SELECT max(id) FROM acc_batch))) FROM acc_batch")
    counted = cursor.fetchone()
    assert counted is not None  # an aggregate always answers one row
    batch.rows, batch.last_id, batch.last_time = counted
    _copy_attempts(cursor, proxy, after_id, batch.last_id or after_id, attempts_of)
    new_calls = _new_calls(cursor, database_key, now, id_prefix(), longest_call_seconds)
    # BYEs of calls answered in an earlier batch: those of no call of this one.
    cursor.execute("""
        CREATE TEMP TABLE earlier_bye ON COMMIT DROP AS
        SELECT DISTINCT ON (callid, from_tag) callid, from_tag, time_epoch
        FROM acc_batch b WHERE method = 'BYE' AND NOT EXISTS (
            SELECT FROM acc_batch n WHERE n.method = 'INVITE' AND n.callid = b.callid
                   AND n.from_tag = b.from_tag)
        ORDER BY callid, from_tag, id""")
    # The new calls go in; those that ended already are rated below. An outcome of a call
    # collected in an earlier batch: the first one counts. (A scalar subquery: one probe
    # of the unique index per call. As a join the planner hashes all the database's
    # records, every batch; ON CONFLICT DO NOTHING costs twice the plain insert.)
    key = _literal(cursor, database_key)
    cursor.execute(f"CREATE TEMP TABLE ended ({ENDED_COLUMNS}) ON COMMIT DROP")
    counts = cursor.execute(f"""
        WITH candidate AS MATERIALIZED ({new_calls}),
        inserted AS (
            INSERT INTO call_record ({_RECORD_COLUMNS})
            SELECT {_RECORD_COLUMNS} FROM candidate c WHERE c.tenant_id IS NOT NULL
                   AND (SELECT true FROM call_record r WHERE r.proxy_database = {key}
                        AND r.call_id = c.call_id AND r.from_tag = c.from_tag) IS NULL
            RETURNING {_ENDED_NAMES}, state),
        ended_now AS (
            INSERT INTO ended SELECT {_ENDED_NAMES} FROM inserted WHERE state <> 'ANSWERED'
            RETURNING 1)
        SELECT (SELECT count(*) FROM candidate),
               (SELECT count(*) FROM candidate WHERE tenant_id IS NOT NULL),
               (SELECT count(*) FROM inserted), (SELECT count(*) FROM ended_now)
        """).fetchone()  # noqa: S608
    assert counts is not None  # a SELECT of aggregates always answers one row
    outcomes, attributed, batch.calls, batch.ended = counts
    batch.unattributed = outcomes - attributed
    batch.duplicates = attributed - batch.calls
    now_at = _literal(cursor, now)
    batch.ended += cursor.execute(f"""
        WITH closed AS (
            UPDATE call_record r SET state = 'COMPLETED', ended_at = b.ended_at,
                   duration_seconds = {_duration('r.answered_at', 'b.ended_at',
                                                 longest_call_seconds)}
            FROM (SELECT callid, from_tag,
                         COALESCE(to_timestamp(time_epoch), {now_at}) AS ended_at
                  FROM earlier_bye) AS b
            WHERE r.proxy_database = {key} AND r.state = 'ANSWERED'
                  AND r.call_id = b.callid AND r.from_tag = b.from_tag
            RETURNING r.*)
        INSERT INTO ended SELECT {_ENDED_NAMES} FROM closed""").rowcount  # noqa: S608
    # Answered calls older than any dialog can be: their end is unknown, not invented.
    # A full batch reads up to its last row's time (the BYEs after it are in the next one).
    read_through = read_through or now
    if batch.rows == batch_size and batch.last_time is not None:
        read_through = batch.last_time
    cutoff = read_through - dt.timedelta(seconds=longest_call_seconds)
    batch.end_unknown = cursor.execute(f"""
        WITH lost AS (
            UPDATE call_record SET state = 'END_UNKNOWN'
            WHERE proxy_database = %s AND state = 'ANSWERED' AND answered_at < %s
            RETURNING *)
        INSERT INTO ended SELECT {_ENDED_NAMES} FROM lost""",  # noqa: S608
        (database_key, cutoff)).rowcount
    batch.charges = rate_ended_calls(cursor, "ended", rated_at=now, id_prefix=id_prefix())
    return batch
