"""Two Kamailio proxies serving one platform: both in step, registrations shared.

Proxy A is the platform's ``edge-1`` (``routed_platform``); proxy B is a second Kamailio,
registered as ``edge-2``, on the same proxy database or on one of its own. Registrations
live in one shared ``location`` table (usrloc db_mode 3; with a database each, B's
``LOCATION_DB`` names A's), so a phone registered through A is reached through B, and
still through both after A restarts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from click.testing import CliRunner

from cli.main import cli
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.e2e.conftest import ERRORS, Phone, RoutedPlatform
from tests.e2e.proxy import (
    Proxy,
    SippResult,
    free_port,
    kamailio_db_url,
    run_sipp,
    running_proxy,
    sipp_uas,
)


def _call(proxy: Proxy, caller: Phone, dialled: str, expect: int = 200) -> SippResult:
    return run_sipp("phone_invite.xml", remote_port=proxy.sip_port, service=dialled,
                    auth=caller.auth, keys=caller.keys, expect=expect)


def _registrations(proxy_database: str, username: str) -> list[tuple[str, str]]:
    with psycopg.connect(proxy_database) as connection:
        return [(row[0], row[1]) for row in connection.execute(
            "SELECT contact, socket FROM location WHERE username = %s", [username])]


@contextmanager
def _second_proxy(platform: RoutedPlatform, tmp_path: Path) -> Iterator[Proxy]:
    with running_proxy(platform.proxy_database, tmp_path / "edge-2") as proxy:
        yield proxy


async def test_two_proxies_come_into_step_and_share_registrations(
        routed_platform: RoutedPlatform, tmp_path: Path):
    platform = routed_platform
    proxy_a = platform.proxy
    with _second_proxy(platform, tmp_path) as proxy_b:
        await platform.mutate(f"""mutation($db: String!, $rpc: String!) {{
            sipProxyCreate(input: {{name: "edge-2", databaseUrl: $db, rpcUrl: $rpc}}) {{
            sipProxy {{ id }} {ERRORS} }} }}""",
                              {"db": platform.proxy_database, "rpc": proxy_b.rpc_url},
                              client=platform.operator)
        customer = await platform.create_customer()
        tenant = await platform.create_tenant("acme", customer["id"])
        alice = await platform.create_subscriber(tenant, "alice", alias="101")
        bob = await platform.create_subscriber(tenant, "bob", alias="102")
        await platform.wait_in_step(previous_generation=platform.generation)
        status = await platform.routing_status()
        assert [(proxy["name"], proxy["appliedGeneration"]) for proxy in status["proxies"]] \
            == [("edge-1", status["generation"]), ("edge-2", status["generation"])]
        # Both proxies loaded that export: the extension is in each one's htable.
        for proxy in (proxy_a, proxy_b):
            item = proxy.rpc("htable.get", "alias", f"{tenant['domain']}:101")["result"]["item"]
            assert item["value"] == "alice"

        # Alice registers through A only.
        alice_port = free_port()
        registered = platform.register(alice, alice_port)
        assert registered.ok, platform.failure(registered)
        assert _registrations(platform.proxy_database, "alice") == [
            (f"sip:alice@127.0.0.1:{alice_port}", f"udp:127.0.0.1:{proxy_a.sip_port}")]

        # Bob, through B, reaches her.
        with sipp_uas("uas_answer.xml", alice_port) as phone:
            through_b = _call(proxy_b, bob, "101")
        assert through_b.ok, f"{through_b.describe()}\nB's log:\n{proxy_b.log[-3000:]}"
        assert phone.result is not None
        assert phone.result.requests("INVITE")[0].request_uri \
            == f"sip:alice@127.0.0.1:{alice_port}"

        # A restarts (same ports, as a service manager would): nothing was lost.
        proxy_a.stop()
        with running_proxy(platform.proxy_database, tmp_path / "edge-1-again",
                           sip_port=proxy_a.sip_port, rpc_port=proxy_a.rpc_port,
                           defines={"LISTEN_SIP2": f"tcp:127.0.0.1:{free_port('tcp')}"}
                           ) as restarted_a:
            for proxy in (restarted_a, proxy_b):
                with sipp_uas("uas_answer.xml", alice_port) as phone:
                    result = _call(proxy, bob, "101")
                assert result.ok, f"{result.describe()}\nlog:\n{proxy.log[-3000:]}"
                assert phone.result is not None
                assert len(phone.result.requests("INVITE")) == 1

            # The next change reaches both again; a subscriber nobody registered is
            # "not registered" through either proxy.
            await platform.create_subscriber(tenant, "carol", alias="103")
            await platform.wait_in_step(previous_generation=platform.generation)
            for proxy in (restarted_a, proxy_b):
                assert _call(proxy, bob, "103", expect=404).ok


async def test_proxies_with_a_database_each_share_registrations_through_one_of_them(
        routed_platform: RoutedPlatform, tmp_path: Path):
    platform = routed_platform
    proxy_a = platform.proxy
    own_database = create_postgres_database().replace("postgresql+psycopg://", "postgresql://")
    try:
        created = CliRunner().invoke(cli, ["routing", "init-db", own_database])
        assert created.exit_code == 0, created.output
        # B's routing tables are its own; its registrations are A's database's.
        shared = f'"{kamailio_db_url(platform.proxy_database)}"'
        with running_proxy(own_database, tmp_path / "edge-2",
                           defines={"LOCATION_DB": shared}) as proxy_b:
            await platform.mutate(f"""mutation($db: String!, $rpc: String!) {{
                sipProxyCreate(input: {{name: "edge-2", databaseUrl: $db, rpcUrl: $rpc}}) {{
                sipProxy {{ id }} {ERRORS} }} }}""", {"db": own_database, "rpc": proxy_b.rpc_url},
                                  client=platform.operator)
            customer = await platform.create_customer()
            tenant = await platform.create_tenant("acme", customer["id"])
            alice = await platform.create_subscriber(tenant, "alice", alias="101")
            bob = await platform.create_subscriber(tenant, "bob", alias="102")
            await platform.wait_in_step(previous_generation=platform.generation)
            # Each database got the export: B authenticates and finds extensions in its own.
            with psycopg.connect(own_database) as connection:
                assert connection.execute("SELECT count(*) FROM subscriber").fetchone() == (2,)

            alice_port = free_port()
            registered = platform.register(alice, alice_port)
            assert registered.ok, platform.failure(registered)
            with sipp_uas("uas_answer.xml", alice_port) as phone:
                through_b = _call(proxy_b, bob, "101")
            assert through_b.ok, f"{through_b.describe()}\nB's log:\n{proxy_b.log[-3000:]}"
            assert phone.result is not None
            assert len(phone.result.requests("INVITE")) == 1
            # ...and B's own database holds no registration: it used the shared table.
            assert _registrations(own_database, "alice") == []
            assert len(_registrations(platform.proxy_database, "alice")) == 1
            assert proxy_a.sip_port != proxy_b.sip_port
    finally:
        drop_postgres_database(own_database)
