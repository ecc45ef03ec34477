"""What sharing registrations between proxies costs: usrloc in the database against memory.

    .venv/bin/python benchmarks/shared_registrations.py [--requests 300]

Needs PostgreSQL (one throw-away proxy database, dropped at the end), Kamailio 5.6 and
sipp. The proxy tables hold one tenant with two subscribers, the callee with an
extension. Kamailio runs twice on them, one after the other: with the shipped cfg
(usrloc db_mode 3: registrations only in the shared ``location`` table, one SELECT per
lookup and a write per REGISTER) and, as the baseline, with the same cfg changed to
db_mode 0 (registrations in this proxy's memory only, as before several proxies). For
each, sipp sends back to back (one at a time, so the figures are latencies):

- ``--requests`` REGISTERs of the callee (each answers a digest challenge: two
  transactions, the second one saving the contact);
- ``--requests`` calls from the caller to the callee's extension (challenge, lookup of
  the callee's contact, relay to a sipp phone that answers, ACK, BYE).

Prints the mean wall time of each and the ratio db_mode 3 / db_mode 0.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.databases import drop_database, make_database  # noqa: E402
from routing_export.tables import create_tables  # noqa: E402
from tests.e2e.proxy import CFG, free_port, run_sipp, running_proxy, sipp_uas  # noqa: E402

DOMAIN = "acme.bench.example"
PASSWORD = "benchmark-secret"
SHIPPED = 'modparam("usrloc", "db_mode", 3)'
IN_MEMORY = 'modparam("usrloc", "db_mode", 0)'


def _ha1(user: str) -> str:
    return hashlib.md5(f"{user}:{DOMAIN}:{PASSWORD}".encode()).hexdigest()


def seed(url: str) -> None:
    with psycopg.connect(url) as connection:
        create_tables(connection)
        connection.execute("INSERT INTO domain (domain, did) VALUES (%s, %s)", [DOMAIN, DOMAIN])
        for name, kind, value in (("enabled", 0, "1"), ("dpid", 0, "0"), ("cc", 2, "1"),
                                  ("ac", 2, "209"), ("carrier", 0, "0"),
                                  ("customer", 2, "c1"), ("max_calls", 0, "0"),
                                  ("sources", 0, "2")):
            connection.execute("INSERT INTO domain_attrs (did, name, type, value) "
                               "VALUES (%s, %s, %s, %s)", [DOMAIN, name, kind, value])
        for user in ("caller", "callee"):
            connection.execute(
                "INSERT INTO subscriber (username, domain, ha1, ha1b, cc, max_calls) "
                "VALUES (%s, %s, %s, %s, '1', 0)",
                [user, DOMAIN, _ha1(user), _ha1(f"{user}@{DOMAIN}")])
        connection.execute("INSERT INTO htable_alias (key_name, key_type, value_type, "
                           "key_value, expires) VALUES (%s, 0, 0, 'callee', 0)",
                           [f"{DOMAIN}:200"])


def _back_to_back(requests: int) -> list[str]:
    # One at a time, as fast as each answer comes: -l 1 with a rate sipp never reaches.
    return ["-l", "1", "-r", "10000", "-m", str(requests)]


def measure(url: str, cfg: Path, work: Path, requests: int) -> tuple[float, float]:
    """Mean seconds per REGISTER and per call through a proxy running ``cfg``."""
    keys = {"domain": DOMAIN}
    phone_port = free_port()
    with running_proxy(url, work, cfg=cfg) as proxy:
        started = time.perf_counter()
        registered = run_sipp("register.xml", remote_port=proxy.sip_port, local_port=phone_port,
                              service="callee", auth=("callee", PASSWORD), keys=keys,
                              extra=_back_to_back(requests), timeout=300)
        register_seconds = (time.perf_counter() - started) / requests
        if not registered.ok:
            raise RuntimeError(f"REGISTER failed:\n{registered.describe()}\n{proxy.log[-2000:]}")
        with sipp_uas("uas_answer.xml", phone_port, calls=requests, timeout=300):
            started = time.perf_counter()
            called = run_sipp("phone_invite.xml", remote_port=proxy.sip_port, service="200",
                              auth=("caller", PASSWORD), keys=keys,
                              extra=_back_to_back(requests), timeout=300)
            call_seconds = (time.perf_counter() - started) / requests
        if not called.ok:
            raise RuntimeError(f"calls failed:\n{called.describe()}\n{proxy.log[-2000:]}")
    return register_seconds, call_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300,
                        help="REGISTERs and calls per variant (default 300)")
    args = parser.parse_args()
    url = make_database("registrations")
    try:
        seed(url)
        with tempfile.TemporaryDirectory(prefix="shared-registrations-") as work:
            in_memory = Path(work) / "in-memory.cfg"
            shipped = CFG.read_text()
            if SHIPPED not in shipped:
                raise RuntimeError(f"the shipped cfg no longer says {SHIPPED}")
            in_memory.write_text(shipped.replace(SHIPPED, IN_MEMORY))
            base_register, base_call = measure(url, in_memory, Path(work) / "memory",
                                               args.requests)
            shared_register, shared_call = measure(url, CFG, Path(work) / "shared",
                                                   args.requests)
        print(f"{args.requests} REGISTERs and {args.requests} calls each, one at a time")
        print(f"  REGISTER (challenge + save): db_mode 0 (memory, baseline) "
              f"{base_register * 1000:.2f} ms, db_mode 3 (shared table, shipped) "
              f"{shared_register * 1000:.2f} ms: ratio {shared_register / base_register:.2f}")
        print(f"  call to an extension (challenge, lookup, answer, BYE): db_mode 0 "
              f"{base_call * 1000:.2f} ms, db_mode 3 {shared_call * 1000:.2f} ms: ratio "
              f"{shared_call / base_call:.2f}")
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
