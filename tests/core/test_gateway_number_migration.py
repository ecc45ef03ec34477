"""Migration 0009: each gateway keeps sending what it sent where that was well-formed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from core import migrations
from core.database import make_sync_engine
from tests.factories import make_carrier, make_gateway, make_isp


@pytest.fixture
def at_0008(tmp_path: Path) -> Iterator[Engine]:
    engine = make_sync_engine(f"sqlite:///{tmp_path / 'gateways.db'}")
    migrations.upgrade(engine, "0008")
    yield engine
    engine.dispose()


def _gateways(engine: Engine, rows: list[tuple[int, str]]) -> None:
    # 0009 changes no column: the models describe the schema at 0008 as well.
    with Session(engine) as session:
        carrier = make_carrier(session, make_isp(session))
        for position, (strip, prefix) in enumerate(rows):
            make_gateway(session, carrier, position=position, address=f"192.0.2.{position + 1}",
                         strip=strip, prefix=prefix)


def _settings(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(  # type: ignore[misc]
            "SELECT strip, prefix FROM gateway ORDER BY position"))]


def test_gateways_that_sent_plus_e164_get_the_prefix_plus(at_0008: Engine):
    # Before: +E.164; 9 + digits after 2; "00+44..." (malformed).
    _gateways(at_0008, [(0, ""), (2, "9"), (0, "00")])

    migrations.upgrade(at_0008)
    assert _settings(at_0008) == [(0, "+"), (2, "9"), (0, "00")]

    migrations.downgrade(at_0008, "0008")
    assert _settings(at_0008) == [(0, ""), (2, "9"), (0, "00")]
