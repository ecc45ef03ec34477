"""The export writes exactly the documented rows, only what changed, and reloads what it must."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, select

from core.database import session_scope
from core.models import DialPlanRule, Gateway, RoutingDatabase, SipProxy, Subscriber
from core.secrets import SecretBox, secret_box
from core.settings import Settings
from routing_export import exporter
from routing_export.desired import InvalidStateError
from tests.routing.platform import Platform, add_proxy, build
from tests.routing.rpc_server import FakeProxy

pytestmark = pytest.mark.postgres


@pytest.fixture
def box(settings: Settings) -> SecretBox:
    return secret_box(settings.secret_key_bytes())


@pytest.fixture
def platform(session: Session) -> Platform:
    return build(session)


@pytest.fixture
def key(engine: Engine, box: SecretBox, proxy_database: str, rpc: FakeProxy,
        platform: Platform) -> str:
    return add_proxy(engine, box, proxy_database, rpc.url)


def rows(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as connection:
        return connection.execute(query).fetchall()


def test_first_export_writes_every_table_as_documented(
        engine: Engine, box: SecretBox, key: str, proxy_database: str, rpc: FakeProxy,
        platform: Platform):
    report = exporter.export(engine, box, key)

    assert report.generation == 1
    assert rows(proxy_database, "SELECT domain, did FROM domain ORDER BY domain") == [
        ("other.example.net", "other.example.net"), ("pbx.example.net", "pbx.example.net")]
    attrs = {name: (kind, value) for name, kind, value in rows(
        proxy_database, "SELECT name, type, value FROM domain_attrs "
                        "WHERE did = 'pbx.example.net'")}
    assert attrs["enabled"] == (0, "1")
    assert attrs["cc"] == (2, "1")
    assert attrs["ac"] == (2, "209")
    assert attrs["max_calls"] == (0, "10")
    assert attrs["dpid"][0] == 0
    assert int(attrs["dpid"][1]) > 0
    assert attrs["carrier"][0] == 0
    assert int(attrs["carrier"][1]) > 0

    subscribers = {row[0]: row[1:] for row in rows(
        proxy_database, "SELECT username, password, ha1, ha1b, enabled, cc, ac, caller_id, "
                        "sgid, max_calls FROM subscriber WHERE domain = 'pbx.example.net'")}
    assert subscribers["alice"][:8] == ("", "a" * 32, "b" * 32, 1, "1", "209",
                                        "+12095550101", subscribers["alice"][7])
    assert subscribers["alice"][7] > 0
    assert subscribers["alice"][8] == 3
    assert subscribers["bob"][5] == "559"  # his own area code beats the tenant's
    assert subscribers["bob"][7] == 0  # no security group: no international calls
    assert subscribers["carol"][3] == 0  # disabled

    assert rows(proxy_database, "SELECT key_name, value_type, key_value FROM htable_alias "
                                "ORDER BY key_name") == [
        ("other.example.net:101", 0, "alice"), ("pbx.example.net:101", 0, "alice"),
        ("pbx.example.net:102", 0, "bob")]  # carol is disabled
    assert rows(proxy_database, "SELECT key_name, value_type, key_value FROM htable_did") == [
        ("+12095550101", 0, "alice@pbx.example.net")]
    group = subscribers["alice"][7]
    assert rows(proxy_database, "SELECT key_name, value_type, key_value FROM htable_sg "
                                "ORDER BY key_name") == [
        (f"{group}:+33", 1, "1"), (f"{group}:+4420", 1, "1")]

    assert rows(proxy_database, "SELECT pr, match_op, match_exp, subst_exp, repl_exp "
                                "FROM dialplan") == [
        (10, 1, "^[1-9][0-9]{6}$", "([1-9][0-9]{6})", "+$avp(cc)$avp(ac)\\1")]

    gateways = rows(proxy_database, "SELECT gwid, address, strip, pri_prefix, attrs "
                                    "FROM dr_gateways ORDER BY strip DESC")
    assert [gateway[1:] for gateway in gateways] == [
        # strip 1 digit: drouting strips 2 characters, the "+" and the 1
        ("192.0.2.10:5060", 2, "9",
         f"fu=4155550000;fd={b'Main; Office'.hex()};pai=1;mc=0;tr=;id={gateways[0][0]}"),
        # strip 0: the "+" still goes (digits only, no prefix)
        ("[2001:db8::7]:5080", 1, "", f"fu=;fd=;pai=0;mc=0;tr=;id={gateways[1][0]}")]
    assert rows(proxy_database, "SELECT groupid, prefix, timerec, gwlist FROM dr_rules") == [
        (attrs["carrier"][1], "", "", f"{gateways[0][0]},{gateways[1][0]}")]
    # Group 1: every carrier; the ISP's own group (attribute "sources"): whose DIDs they call.
    isp_group = int(attrs["sources"][1])
    assert attrs["sources"][0] == 0
    assert isp_group > 1
    assert rows(proxy_database, "SELECT grp, ip_addr, mask, port FROM address "
                                "ORDER BY mask, grp") == [
        (1, "192.0.2.10", 32, 5060), (isp_group, "192.0.2.10", 32, 5060),
        (1, "2001:db8::7", 128, 5080), (isp_group, "2001:db8::7", 128, 5080)]

    assert rpc.methods() == ["domain.reload", "dialplan.reload", "drouting.reload",
                             "permissions.addressReload", "htable.reload(alias)",
                             "htable.reload(did)", "htable.reload(sg)"]
    with Session(engine) as session:
        proxy = session.exec(select(SipProxy)).one()
        assert proxy.applied_generation == 1
        assert proxy.last_error is None


def test_kamailio_version_rows_are_present(engine: Engine, box: SecretBox, key: str,
                                          proxy_database: str):
    exporter.export(engine, box, key)
    versions = dict(rows(proxy_database, "SELECT table_name, table_version FROM version"))
    assert versions["subscriber"] == 7
    assert versions["dialplan"] == 2
    assert versions["dr_gateways"] == 3
    assert versions["address"] == 6
    assert versions["htable_did"] == 2
    assert versions["domain_attrs"] == 1


def test_one_change_writes_one_row_and_reloads_one_module(
        engine: Engine, box: SecretBox, key: str, rpc: FakeProxy, platform: Platform,
        proxy_database: str):
    exporter.export(engine, box, key)
    assert exporter.export(engine, box, key).rows_written == 0
    rpc.calls.clear()

    with session_scope(engine) as session:
        session.execute(update(Gateway).where(Gateway.id == platform.gateways[0].id)
                        .values(prefix="7"))
    report = exporter.export(engine, box, key)

    assert report.rows_written == 1
    assert report.generation == 2
    assert rpc.methods() == ["drouting.reload"]
    assert ("7",) in rows(proxy_database, "SELECT pri_prefix FROM dr_gateways")


def test_rows_changed_by_hand_are_put_back(engine: Engine, box: SecretBox, key: str,
                                          proxy_database: str):
    exporter.export(engine, box, key)
    with psycopg.connect(proxy_database) as connection:
        connection.execute("UPDATE subscriber SET ha1 = 'stolen' WHERE username = 'alice'")
        connection.execute("INSERT INTO htable_did (key_name, key_value) "
                           "VALUES ('+19995550000', 'mallory@pbx.example.net')")
        connection.execute("DELETE FROM dr_rules")

    report = exporter.export(engine, box, key, full=True)  # as the periodic reconcile does

    assert report.rows_written == 4  # two alices (one per tenant), one DID, one rule
    assert rows(proxy_database, "SELECT DISTINCT ha1 FROM subscriber WHERE username = 'alice'"
                                " AND domain = 'pbx.example.net'") == [("a" * 32,)]
    assert rows(proxy_database, "SELECT count(*) FROM htable_did") == [(1,)]
    assert rows(proxy_database, "SELECT count(*) FROM dr_rules") == [(1,)]


def test_an_invalid_rule_stops_the_export_before_anything_is_written(
        engine: Engine, box: SecretBox, key: str, platform: Platform, proxy_database: str,
        rpc: FakeProxy):
    exporter.export(engine, box, key)
    rpc.calls.clear()
    with session_scope(engine) as session:  # past validation, as a bad migration might
        session.execute(update(DialPlanRule).values(match_expression="^(?=1)[0-9]+$"))
        session.execute(update(Subscriber).where(Subscriber.username == "bob")
                        .values(caller_id="+12095550102"))

    with pytest.raises(InvalidStateError) as refused:
        exporter.export(engine, box, key)

    assert "lookahead" in str(refused.value)
    assert rows(proxy_database, "SELECT match_exp FROM dialplan") == [("^[1-9][0-9]{6}$",)]
    assert ("",) in rows(proxy_database, "SELECT caller_id FROM subscriber "
                                         "WHERE username = 'bob'")
    assert rpc.calls == []


def test_a_proxy_that_is_down_is_reloaded_in_full_when_it_returns(
        engine: Engine, box: SecretBox, key: str, rpc: FakeProxy, platform: Platform):
    exporter.export(engine, box, key)
    with session_scope(engine) as session:
        session.execute(update(SipProxy).values(rpc_url="http://127.0.0.1:9/RPC"))
        session.execute(update(Gateway).where(Gateway.id == platform.gateways[0].id)
                        .values(strip=2))

    report = exporter.export(engine, box, key)

    assert report.generation == 2
    assert report.proxies[0].error is not None
    with Session(engine) as session:
        proxy = session.exec(select(SipProxy)).one()
        assert proxy.applied_generation == 1
        assert proxy.last_error

    rpc.calls.clear()
    with session_scope(engine) as session:
        session.execute(update(SipProxy).values(rpc_url=rpc.url))
    exporter.catch_up(engine, box, key)

    assert len(rpc.calls) == 8  # every module (and hash table): it cannot know what it missed
    with Session(engine) as session:
        proxy = session.exec(select(SipProxy)).one()
        assert proxy.applied_generation == 2
        assert proxy.last_error is None
    assert exporter.catch_up(engine, box, key) == []


def test_drouting_failing_to_load_counts_as_a_failed_reload(
        engine: Engine, box: SecretBox, key: str, rpc: FakeProxy):
    rpc.troubles["drouting.reload"] = ["failed"]

    report = exporter.export(engine, box, key)

    assert "failed to load routing data" in (report.proxies[0].error or "")
    with Session(engine) as session:
        assert session.exec(select(SipProxy)).one().applied_generation == 0


def test_a_failed_load_says_what_shared_memory_the_proxy_has_left(
        engine: Engine, box: SecretBox, key: str, rpc: FakeProxy):
    mib = 1024 * 1024
    rpc.troubles["drouting.reload"] = ["failed"]
    rpc.shmmem = {"total": 4096 * mib, "free": 2900 * mib, "used": 1190 * mib,
                  "real_used": 1196 * mib, "max_used": 1500 * mib, "fragments": 12}

    report = exporter.export(engine, box, key)

    # Memory was not the trouble: the figures say so, Kamailio's log says the rest.
    assert report.proxies[0].error == (
        "drouting.reload: 'failed to load routing data' (shared memory: 2900 MiB free of "
        "4096 MiB; Kamailio's log says why)")


def test_an_ongoing_reload_is_retried(engine: Engine, box: SecretBox, key: str,
                                      rpc: FakeProxy):
    rpc.troubles["dialplan.reload"] = ["ongoing", "ongoing"]

    report = exporter.export(engine, box, key)

    assert report.proxies[0].error is None
    assert rpc.methods().count("dialplan.reload") == 3


def test_a_dry_run_writes_nothing(engine: Engine, box: SecretBox, key: str,
                                  proxy_database: str, rpc: FakeProxy):
    report = exporter.export(engine, box, key, dry_run=True)

    assert report.rows_written > 0
    assert rows(proxy_database, "SELECT to_regclass('subscriber')") == [(None,)]
    assert rpc.calls == []
    with Session(engine) as session:
        assert session.get(RoutingDatabase, key) is None


def test_the_control_planes_own_database_is_refused(engine: Engine, box: SecretBox,
                                                    rpc: FakeProxy, database_url: str,
                                                    platform: Platform):
    if not database_url.startswith("postgresql"):
        pytest.skip("the control plane runs on SQLite in this run")
    key = add_proxy(engine, box, database_url.replace("+psycopg", ""), rpc.url)

    with pytest.raises(exporter.ExportError, match="control plane"):
        exporter.export(engine, box, key)


def test_recording_an_export_does_not_ask_for_another(engine: Engine, box: SecretBox, key: str):
    from core.models import RoutingChanges

    with Session(engine) as session:
        requested = session.get(RoutingChanges, 1).requested  # adding the proxy asked for one
    exporter.export(engine, box, key)  # reloads the proxy and records it on the proxy's row

    assert not exporter.export_outstanding(engine, key)
    with Session(engine) as session:
        assert session.get(RoutingChanges, 1).requested == requested
