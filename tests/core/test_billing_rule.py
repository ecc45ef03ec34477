"""The billing rule is written once (core.billing) and evaluated two ways: in Python
(ratePreview, rating on SQLite) and as the SQL expressions the set-based rating runs on
PostgreSQL. Here PostgreSQL evaluates the generated expressions over a grid of durations
and rules, and every result must equal the Python one.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from core.billing import billing_seconds, billing_seconds_sql, price, price_sql

# The documented examples (minimum/increment/delay): real seconds -> billed seconds.
DOCUMENTED = [((30, 6, 3), 47, 48), ((30, 6, 3), 2, 0), ((30, 6, 3), 3, 0),
              ((30, 6, 3), 10, 30), ((1, 1, 0), 10, 10), ((60, 60, 3), 43, 60),
              ((60, 60, 3), 4, 60), ((60, 60, 3), 61, 120)]
DURATIONS = [*range(0, 130), 179, 180, 181, 3599, 3600, 3601, 43_200, 86_400]
RULES = list(itertools.product((0, 1, 6, 30, 60), (1, 6, 30, 60), (0, 1, 3, 5)))
RATES = ["0", "0.0001", "0.0033", "0.0100", "0.0167", "0.6", "1.2345", "9.9999"]


def test_the_documented_examples_bill_as_documented():
    for (minimum, increment, delay), real, billed in DOCUMENTED:
        assert billing_seconds(real, minimum=minimum, increment=increment,
                               delay=delay) == billed


@pytest.mark.postgres
def test_the_sql_billing_rule_agrees_with_python_over_a_grid(engine: Engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("the SQL rule is PostgreSQL's")
    expression = billing_seconds_sql("g.real", "g.minimum", "g.increment", "g.delay")
    with engine.connect() as connection:
        rows = connection.execute(text(
            f"SELECT g.real, g.minimum, g.increment, g.delay, {expression} "
            "FROM (SELECT real, minimum, increment, delay "
            "      FROM unnest(CAST(:durations AS integer[])) AS real, "
            "           unnest(CAST(:minimums AS integer[]), CAST(:increments AS integer[]), "
            "                  CAST(:delays AS integer[])) AS r (minimum, increment, delay)"
            ") AS g"), {"durations": DURATIONS, "minimums": [r[0] for r in RULES],
                        "increments": [r[1] for r in RULES],
                        "delays": [r[2] for r in RULES]}).all()

    assert len(rows) == len(DURATIONS) * len(RULES)
    differing = [row for row in rows if row[4] != billing_seconds(
        row[0], minimum=row[1], increment=row[2], delay=row[3])]
    assert differing == []
    by_case = {(row[1], row[2], row[3], row[0]): row[4] for row in rows}
    for rule, real, billed in DOCUMENTED:
        if (*rule, real) in by_case:
            assert by_case[(*rule, real)] == billed


@pytest.mark.postgres
def test_the_sql_price_agrees_with_python_to_the_last_place(engine: Engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("the SQL rule is PostgreSQL's")
    seconds = [*range(0, 200), 599, 3600, 3601, 43_199, 86_400]
    expression = price_sql("g.rate", "g.seconds")
    with engine.connect() as connection:
        rows = connection.execute(text(
            f"SELECT g.rate, g.seconds, {expression} "
            "FROM unnest(CAST(:rates AS numeric(12, 4)[])) AS rate, "
            "     unnest(CAST(:seconds AS integer[])) AS seconds, "
            "     LATERAL (SELECT rate, seconds) AS g (rate, seconds)"),
            {"rates": [Decimal(rate) for rate in RATES], "seconds": seconds}).all()

    assert len(rows) == len(RATES) * len(seconds)
    differing = [row for row in rows if Decimal(row[2]) != price(Decimal(row[0]), row[1])]
    assert differing == []
    # Half up at the fourth place: 0.0001 a minute for 30 s is 0.00005 -> 0.0001.
    assert price(Decimal("0.0001"), 30) == Decimal("0.0001")
