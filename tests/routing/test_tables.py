"""The tables the export creates are Kamailio's own, with the version rows its modules check."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from cli.main import cli
from routing_export.tables import DDL, create_tables

pytestmark = pytest.mark.postgres

KAMAILIO_SCHEMA = Path("/usr/share/kamailio/postgres")
MODULES = ("standard", "auth_db", "domain", "dialplan", "drouting", "permissions", "htable")
_CREATE = re.compile(r"CREATE TABLE (\w+) \((.*?)\n\);", re.DOTALL)
_VERSION = re.compile(r"values \('(\w+)','(\d+)'\)")


def _kamailio_tables() -> dict[str, tuple[set[str], int]]:
    """Table -> (columns, version) as Kamailio's packaged SQL defines them."""
    tables: dict[str, tuple[set[str], int]] = {}
    for module in MODULES:
        text = (KAMAILIO_SCHEMA / f"{module}-create.sql").read_text()
        versions = {name: int(version) for name, version in _VERSION.findall(text)}
        for name, body in _CREATE.findall(text):
            columns = {line.split()[0] for line in body.strip().splitlines()
                       if not line.strip().startswith("CONSTRAINT")}
            tables[name] = (columns, versions[name])
    return tables


@pytest.mark.skipif(not KAMAILIO_SCHEMA.exists(), reason="Kamailio's SQL files are not installed")
def test_every_table_has_kamailios_columns_and_version():
    ours = {name: ({line.split()[0] for line in body.strip().splitlines()
                    if not line.strip().startswith("CONSTRAINT")}, version)
            for name, (body, version) in DDL.items()}
    for name, (columns, version) in _kamailio_tables().items():
        if name == "trusted":
            continue  # the permissions module's other table: not used
        # The cfg's hash tables each have a table of htable's schema.
        targets = (("htable_alias", "htable_did", "htable_sg", "htable_sms")
                   if name == "htable" else (name,))
        for target in targets:
            assert target in ours, target
            assert columns <= ours[target][0], (target, columns - ours[target][0])
            assert ours[target][1] == version, target


def test_init_db_creates_tables_once_and_keeps_rows(proxy_database: str):
    runner = CliRunner()
    first = runner.invoke(cli, ["routing", "init-db", proxy_database])
    assert first.exit_code == 0, first.output
    assert "subscriber" in first.output
    with psycopg.connect(proxy_database) as connection:
        connection.execute("INSERT INTO domain (domain, did) VALUES ('a.example', 'a.example')")

    second = runner.invoke(cli, ["routing", "init-db", proxy_database])

    assert second.exit_code == 0
    assert "already" in second.output
    with psycopg.connect(proxy_database) as connection:
        assert connection.execute("SELECT count(*) FROM domain").fetchone() == (1,)
        versions = dict(connection.execute("SELECT table_name, table_version FROM version"))
        assert versions == {name: version for name, (_body, version) in DDL.items()}
        assert create_tables(connection) == []


def test_init_db_on_an_unreachable_database_is_one_line_and_exit_1():
    result = CliRunner().invoke(cli, ["routing", "init-db", "postgres://k@127.0.0.1:1/k"])

    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "proxy database" in result.output
