"""Rating the legs of a batch of ended calls set-based, on PostgreSQL.

The rules are core.rating's (and its tests'), in a handful of statements over a
temporary table of ended calls instead of a Python loop over millions of legs:

- leg A is the subscriber's side, always SIP; leg B is PSTN (outbound), DID or
  toll-free (inbound, by the number's type) or SIP (an extension);
- a PSTN leg is priced by the plan's rate deck entry with the longest prefix of
  the number, else by the service deck entry for the leg's type; other legs by
  the service deck only; no entry: the monthly prices cover it (price 0); no
  plan: NO_PLAN in the ISP's currency;
- entries must be valid at the call's setup time; among the entries of one
  prefix (or service) valid then, the most recently started one wins;
- billed seconds and price are core.billing's rule, as the SQL expressions
  core.billing generates from the same definition as the Python functions;
- the ISP's cost of a PSTN leg B with a carrier: the carrier's vendor rates,
  same rules; unknown (NULL) otherwise.

"Valid at the setup time, newest start wins" is resolved once per batch into a
timeline per deck key: the deck's validity boundaries cut time into segments,
each with the one entry that wins throughout it. A leg then joins the segment
containing its setup time with an equality join on the key (a hash join), and
a rate deck's longest prefix is the first match of one such join per prefix
length the deck uses, longest first.

Both paths (this one and core.rating.Rater) are run over the same calls by
tests/workers/test_call_rating_paths.py, which requires identical legs.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from psycopg import Cursor, sql

from core.billing import billing_seconds_sql, price_sql
from core.rating import CustomerCharges

# The columns of the ended calls' table that rating reads (core.call_collection's names).
ENDED_COLUMNS = ("id uuid, direction text, caller text, callee text, isp_id uuid, "
                 "customer_id uuid, tenant_id uuid, setup_at timestamptz, "
                 "answered_at timestamptz, duration_seconds integer, carrier_id uuid")


def _timeline(name: str, table: str, key: str, where: str) -> sql.Composed:
    """A temporary table ``name`` (key, part, seg_from, seg_to, entry): for each deck key
    (plan or carrier) and part (prefix or service), the entry that wins in [seg_from,
    seg_to) (seg_to NULL: open-ended)."""
    return sql.SQL("""
        CREATE TEMP TABLE {name} ON COMMIT DROP AS
        WITH entry AS (
            SELECT id, {key} AS key, {part} AS part, valid_from, valid_to
            FROM {table} WHERE {where}),
        boundary AS (
            SELECT key, part, valid_from AS at FROM entry
            UNION SELECT key, part, valid_to FROM entry WHERE valid_to IS NOT NULL),
        segment AS (
            SELECT key, part, at AS seg_from,
                   lead(at) OVER (PARTITION BY key, part ORDER BY at) AS seg_to
            FROM boundary)
        SELECT DISTINCT ON (s.key, s.part, s.seg_from) s.*, e.id AS entry
        FROM segment s JOIN entry e ON e.key = s.key AND e.part = s.part
             AND e.valid_from <= s.seg_from
             AND (e.valid_to IS NULL OR e.valid_to >= s.seg_to)
        ORDER BY s.key, s.part, s.seg_from, e.valid_from DESC, e.id""").format(
        name=sql.Identifier(name), table=sql.Identifier(table), key=sql.Identifier(key),
        part=sql.SQL("prefix" if table != "service_deck_entry" else "service"),
        where=sql.SQL(where))


def _in_segment(alias: str) -> str:
    return (f"{alias}.seg_from <= li.setup_at "
            f"AND ({alias}.seg_to IS NULL OR li.setup_at < {alias}.seg_to)")


def _longest_prefix(cursor: Cursor, timeline: str, key: str, alias: str) -> tuple[str, str]:
    """(joins, expression): the winning entry of the longest prefix of the callee, one
    LEFT JOIN per prefix length in the timeline, longest first."""
    cursor.execute(sql.SQL("SELECT DISTINCT length(part) FROM {} ORDER BY 1 DESC").format(
        sql.Identifier(timeline)))
    lengths = [int(length) for (length,) in cursor.fetchall()]
    joins = "".join(
        f" LEFT JOIN {timeline} {alias}{length} ON li.b_type = 'PSTN'"
        f" AND {alias}{length}.key = li.{key}"
        f" AND {alias}{length}.part = left(li.callee, {length})"
        f" AND {_in_segment(f'{alias}{length}')}"
        for length in lengths)
    expression = (f"COALESCE({', '.join(f'{alias}{length}.entry' for length in lengths)})"
                  if lengths else "NULL::uuid")
    return joins, expression


def rate_ended_calls(cursor: Cursor, ended: str, *, rated_at: dt.datetime,
                     id_prefix: str) -> list[CustomerCharges]:
    """Insert both legs of every call in the temporary table ``ended`` (ENDED_COLUMNS),
    rated; add them to the daily usage totals; return the batch's charges per customer.

    ``id_prefix``: 24 hex digits the legs' ids start with (core.call_collection's ordered
    ids); the rest is a counter, so one prefix serves one batch.
    """
    # The ended calls with what rating needs from the control plane's current rows (a
    # subquery of the statement below, not a table of its own: one write of the batch
    # less).
    leg_input = sql.SQL("""
        SELECT e.*, row_number() OVER () AS n,
               p.id AS plan_id, p.currency AS plan_currency, p.prepaid,
               COALESCE(i.currency, '') AS isp_currency,
               CASE e.direction WHEN 'OUTBOUND' THEN 'PSTN'
                    WHEN 'INBOUND' THEN CASE WHEN num.number_type = 'TOLL_FREE'
                                             THEN 'TOLL_FREE' ELSE 'DID' END
                    ELSE 'SIP' END AS b_type
        FROM {ended} e
        LEFT JOIN customer c ON c.id = e.customer_id
        LEFT JOIN service_plan p ON p.id = c.service_plan_id
        LEFT JOIN isp i ON i.id = e.isp_id
        LEFT JOIN number num ON e.direction = 'INBOUND' AND num.e164 = e.callee""").format(
        ended=sql.Identifier(ended)).as_string(cursor)
    plans = sql.SQL(
        "service_plan_id IN (SELECT c.service_plan_id FROM customer c "
        "WHERE c.id IN (SELECT customer_id FROM {}))").format(
        sql.Identifier(ended)).as_string(cursor)
    cursor.execute(_timeline("rate_timeline", "rate_deck_entry", "service_plan_id", plans))
    cursor.execute(_timeline("service_timeline", "service_deck_entry", "service_plan_id",
                             plans))
    cursor.execute(_timeline(
        "vendor_timeline", "vendor_rate_entry", "carrier_id",
        sql.SQL("carrier_id IN (SELECT carrier_id FROM {} WHERE direction = 'OUTBOUND')")
        .format(sql.Identifier(ended)).as_string(cursor)))
    rate_joins, rate_entry = _longest_prefix(cursor, "rate_timeline", "plan_id", "r")
    vendor_joins, vendor_entry = _longest_prefix(cursor, "vendor_timeline", "carrier_id", "v")
    entry_billed = billing_seconds_sql("p.seconds", "p.minimum_duration", "p.increment",
                                       "p.delay")
    vendor_billed = billing_seconds_sql("b.seconds", "b.vendor_minimum", "b.vendor_increment",
                                        "b.vendor_delay")
    prefix, at = sql.Literal(id_prefix).as_string(cursor), sql.Literal(rated_at).as_string(cursor)
    cursor.execute(f"""
        CREATE TEMP TABLE batch_usage ON COMMIT DROP AS
        WITH matched AS (
            SELECT li.*, COALESCE(li.duration_seconds, 0) AS seconds,
                   {rate_entry} AS rate_entry, {vendor_entry} AS vendor_entry,
                   service_a.entry AS service_a, service_b.entry AS service_b
            FROM ({leg_input}) AS li {rate_joins} {vendor_joins}
            LEFT JOIN service_timeline service_a ON service_a.key = li.plan_id
                 AND service_a.part = 'SIP' AND {_in_segment('service_a')}
            LEFT JOIN service_timeline service_b ON service_b.key = li.plan_id
                 AND service_b.part = li.b_type AND {_in_segment('service_b')}),
        leg AS (
            SELECT m.*, side.side,
                   CASE side.side WHEN 'A' THEN 'SIP' ELSE m.b_type END AS leg_type,
                   CASE WHEN side.side = 'B' OR m.direction = 'INBOUND' THEN m.callee
                        ELSE m.caller END AS number,
                   CASE side.side WHEN 'B' THEN m.rate_entry END AS rated_by,
                   CASE side.side WHEN 'A' THEN m.service_a ELSE m.service_b END AS serviced_by,
                   CASE side.side WHEN 'B' THEN m.vendor_entry END AS cost_by
            FROM matched m CROSS JOIN (VALUES ('A'), ('B')) AS side (side)),
        priced AS (
            -- A rate deck entry comes first, then a service deck entry; without a plan
            -- neither matched (the timelines are keyed by plan).
            SELECT leg.*,
                   CASE WHEN leg.plan_id IS NULL THEN 'NO_PLAN'
                        WHEN rate.id IS NOT NULL THEN 'RATE_DECK'
                        WHEN service.id IS NOT NULL THEN 'SERVICE_DECK'
                        ELSE 'MONTHLY' END AS deck,
                   CASE WHEN rate.id IS NOT NULL
                        THEN left(btrim(rate.prefix || ' ' || rate.description,
                                        E' \\t\\n\\r\\f\\v'), 200)
                        ELSE '' END AS destination,
                   COALESCE(rate.id, service.id) IS NOT NULL AS priced,
                   COALESCE(rate.rate_per_minute, service.rate_per_minute, 0)
                       AS rate_per_minute,
                   COALESCE(rate.minimum_duration, service.minimum_duration, 0)
                       AS minimum_duration,
                   COALESCE(rate.increment, service.increment, 1) AS increment,
                   COALESCE(rate.delay, service.delay, 0) AS delay,
                   COALESCE(leg.plan_currency, leg.isp_currency) AS currency,
                   COALESCE(leg.prepaid, false) AS leg_prepaid,
                   vendor.id AS vendor_id, vendor.rate_per_minute AS vendor_rate,
                   vendor.minimum_duration AS vendor_minimum,
                   vendor.increment AS vendor_increment, vendor.delay AS vendor_delay
            FROM leg
            LEFT JOIN rate_deck_entry rate ON rate.id = leg.rated_by
            LEFT JOIN service_deck_entry service ON service.id = leg.serviced_by
            LEFT JOIN vendor_rate_entry vendor ON vendor.id = leg.cost_by),
        billed AS (
            SELECT p.*, CASE WHEN p.priced THEN {entry_billed} ELSE 0 END AS billing_seconds
            FROM priced p),
        inserted AS (
            INSERT INTO call_leg (id, call_record_id, side, leg_type, direction, isp_id,
                                  customer_id, tenant_id, setup_at, answered, number,
                                  duration_seconds, deck, destination, rate_per_minute,
                                  minimum_duration, increment, delay, billing_seconds,
                                  price, currency, prepaid, cost, revision, rated_at)
            SELECT ({prefix} || lpad(to_hex(b.n * 2 - (b.side = 'A')::int), 8, '0'))::uuid,
                   b.id, b.side, b.leg_type, b.direction, b.isp_id, b.customer_id,
                   b.tenant_id, b.setup_at, b.answered_at IS NOT NULL, left(b.number, 128),
                   b.seconds, b.deck, b.destination, b.rate_per_minute, b.minimum_duration,
                   b.increment, b.delay, b.billing_seconds,
                   {price_sql('b.rate_per_minute', 'b.billing_seconds')},
                   b.currency, b.leg_prepaid,
                   CASE WHEN b.vendor_id IS NOT NULL
                        THEN {price_sql('b.vendor_rate', vendor_billed)} END,
                   1, {at}
            FROM billed b
            RETURNING customer_id, setup_at, leg_type, destination, side, answered,
                      billing_seconds, price, cost, currency, prepaid)
        SELECT customer_id, (setup_at AT TIME ZONE 'UTC')::date AS day, leg_type,
               COALESCE(NULLIF(destination, ''), leg_type) AS destination, currency,
               prepaid,
               count(*) FILTER (WHERE side = 'A') AS calls,
               count(*) FILTER (WHERE side = 'A' AND answered) AS answered_calls,
               count(*) FILTER (WHERE billing_seconds > 0) AS billed_legs,
               COALESCE(sum(billing_seconds) FILTER (WHERE billing_seconds > 0), 0)
                   AS billed_seconds,
               COALESCE(sum(price) FILTER (WHERE billing_seconds > 0), 0) AS charges,
               COALESCE(sum(COALESCE(cost, 0)) FILTER (WHERE billing_seconds > 0), 0)
                   AS cost
        FROM inserted WHERE customer_id IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, 6""")  # noqa: S608
    # The daily totals (core.usage_rollup's table and sums), in a fixed order: two
    # transactions adding to the same days lock them alike.
    cursor.execute("""
        INSERT INTO call_usage_day (customer_id, day, leg_type, destination, calls,
                                    answered_calls, billed_legs, billed_seconds, charges, cost)
        SELECT customer_id, day, leg_type, destination, sum(calls), sum(answered_calls),
               sum(billed_legs), sum(billed_seconds), sum(charges), sum(cost)
        FROM batch_usage GROUP BY 1, 2, 3, 4
        ORDER BY customer_id::text, day, leg_type COLLATE "C", destination COLLATE "C"
        ON CONFLICT (customer_id, day, leg_type, destination) DO UPDATE SET
            calls = call_usage_day.calls + excluded.calls,
            answered_calls = call_usage_day.answered_calls + excluded.answered_calls,
            billed_legs = call_usage_day.billed_legs + excluded.billed_legs,
            billed_seconds = call_usage_day.billed_seconds + excluded.billed_seconds,
            charges = call_usage_day.charges + excluded.charges,
            cost = call_usage_day.cost + excluded.cost""")
    cursor.execute("""
        SELECT customer_id, currency, prepaid, sum(billed_legs), sum(charges)
        FROM batch_usage GROUP BY 1, 2, 3 HAVING sum(billed_legs) > 0
        ORDER BY customer_id, currency, prepaid""")
    return [CustomerCharges(customer_id, currency, prepaid, int(legs), Decimal(amount))
            for customer_id, currency, prepaid, legs, amount in cursor.fetchall()]


__all__ = ["ENDED_COLUMNS", "rate_ended_calls"]
