"""Proxy sizing: Kamailio's shared memory and reload times as the routing tables grow.

    .venv/bin/python benchmarks/proxy_sizing.py [--subscribers 250000,1000000] [--shm-mb 4096]
        [--pkg-mb 128] [--memory-manager tlsf|qm|fm]

Needs PostgreSQL (one throw-away proxy database, dropped at the end) and Kamailio 5.6
with the shipped kamailio.cfg on loopback. For each size, the proxy tables are filled
straight with COPY (no control plane: this measures the proxy, not the export) with a
platform shaped like this per subscriber:

- 1 extension (``htable_alias``), 2 numbers with voice (``htable_did``) and 2 with SMS
  (``htable_sms``): 1,000,000 subscribers are 2,000,000 DIDs;
- 1 ``subscriber`` row (read live by auth_db, not cached: disk, not memory);
- a tenant per 100 subscribers (``domain`` + 8 ``domain_attrs`` rows), a dial plan of 6
  rules per 10 tenants, a security group of 5 openings per 10 tenants;
- 100 carriers of 2 gateways (``dr_gateways``, ``dr_rules``, ``address``).

Then Kamailio starts as shipped (``-x tlsf -m 4096 -M 128``, the cfg's htable sizes;
``--memory-manager`` compares Kamailio's other allocators) and loads everything;
``core.shmmem`` gives the shared memory in use, and each module reload is timed
(``htable.reload`` of each table, ``drouting.reload``, ``dialplan.reload``,
``domain.reload``, ``permissions.addressReload``). ``max_used``
after the reloads is the peak: an htable reload builds the new table beside the old one
before it frees the old one, so the biggest table counts twice at that moment.

Printed per size: rows cached, memory used, bytes per cached row against the empty
proxy measured in the same run (the baseline), the peak, and each reload's wall time.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.databases import drop_database, make_database  # noqa: E402
from routing_export.tables import create_tables  # noqa: E402
from tests.e2e.proxy import (  # noqa: E402
    MEMORY_MANAGER,
    PKG_MB,
    SHM_MB,
    Proxy,
    rpc_call,
    running_proxy,
)

MIB = 1024 * 1024
RPC_TIMEOUT = 600.0  # a reload answers when it is done: minutes at the largest sizes
RELOADS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("htable.reload", ("alias",)), ("htable.reload", ("did",)),
    ("htable.reload", ("sms",)), ("htable.reload", ("sg",)),
    ("domain.reload", ()), ("dialplan.reload", ()), ("drouting.reload", ()),
    ("permissions.addressReload", ()),
)
CACHED = ("htable_alias", "htable_did", "htable_sms", "htable_sg", "domain", "domain_attrs",
          "dialplan", "dr_gateways", "dr_rules", "address")
BASE = "voip-platform.example.net"


# The rows --------------------------------------------------------------------------------


def _tenant(t: int) -> str:
    return f"t{t:06d}.isp{t % 50:03d}.{BASE}"


def _rows(table: str, subscribers: int) -> Iterator[tuple[Any, ...]]:
    if subscribers == 0:
        return  # the empty proxy: the baseline
    tenants = max(1, subscribers // 100)
    if table == "htable_alias":
        for n in range(subscribers):
            yield (f"{_tenant(n // 100)}:{1000 + n % 100}", 0, 0, f"user{n:08d}", 0)
    elif table in ("htable_did", "htable_sms"):
        offset = 0 if table == "htable_did" else 5_000_000_000
        for n in range(2 * subscribers):
            yield (f"+1{2_000_000_000 + offset + n}", 0, 0,
                   f"user{n // 2:08d}@{_tenant(n // 200)}", 0)
    elif table == "htable_sg":
        for group in range(1, tenants // 10 + 2):
            for prefix in ("+44", "+33", "+49", "+1204", "+353"):
                yield (f"{group}:{prefix}", 0, 1, "1", 0)
    elif table == "subscriber":
        for n in range(subscribers):
            yield (f"user{n:08d}", _tenant(n // 100), "", "0" * 32, "0" * 32)
    elif table == "domain":
        for t in range(tenants):
            yield (_tenant(t), _tenant(t))
    elif table == "domain_attrs":
        for t in range(tenants):
            for name, kind, value in (("enabled", 0, "1"), ("dpid", 0, str(t // 10 + 1)),
                                      ("cc", 2, "1"), ("ac", 2, "209"),
                                      ("carrier", 0, str(t % 100 + 1)),
                                      ("customer", 2, f"{t:032x}"), ("max_calls", 0, "10"),
                                      ("sources", 0, str(t % 50 + 2))):
                yield (_tenant(t), name, kind, value)
    elif table == "dialplan":
        for plan in range(1, tenants // 10 + 2):
            for pr, (match, subst, repl) in enumerate((
                    (r"^\+[1-9][0-9]{1,14}$", r"^(.*)$", r"\1"),
                    (r"^00([1-9][0-9]{1,14})$", r"^00(.*)$", r"+\1"),
                    (r"^011([1-9][0-9]{1,14})$", r"^011(.*)$", r"+\1"),
                    (r"^1([2-9][0-9]{9})$", r"^1(.*)$", r"+1\1"),
                    (r"^([2-9][0-9]{9})$", r"^(.*)$", r"+$avp(cc)\1"),
                    (r"^([2-9][0-9]{6})$", r"^(.*)$", r"+$avp(cc)$avp(ac)\1"))):
                yield (plan, pr, 1, match, 0, subst, repl, "")
    elif table == "dr_gateways":
        for gw in range(1, 201):
            yield (gw, 0, f"192.0.2.{gw % 250 + 1}:{5060 + gw}", 1, "", f"fu=;fd=;pai=0;mc=0;"
                   f"tr=;id={gw}", f"carrier {gw // 2}/gateway {gw}")
    elif table == "dr_rules":
        for carrier in range(1, 101):
            yield (str(carrier), "", "", 0, "", f"{2 * carrier - 1},{2 * carrier}",
                   f"carrier:{carrier}")
    elif table == "address":
        for gw in range(1, 201):
            for group in (1, gw % 50 + 2):
                yield (group, f"192.0.2.{gw % 250 + 1}", 32, 5060 + gw, f"carrier:{gw // 2}")


COLUMNS = {
    "htable_alias": "key_name, key_type, value_type, key_value, expires",
    "htable_did": "key_name, key_type, value_type, key_value, expires",
    "htable_sms": "key_name, key_type, value_type, key_value, expires",
    "htable_sg": "key_name, key_type, value_type, key_value, expires",
    "subscriber": "username, domain, password, ha1, ha1b",
    "domain": "domain, did",
    "domain_attrs": "did, name, type, value",
    "dialplan": "dpid, pr, match_op, match_exp, match_len, subst_exp, repl_exp, attrs",
    "dr_gateways": "gwid, type, address, strip, pri_prefix, attrs, description",
    "dr_rules": "groupid, prefix, timerec, priority, routeid, gwlist, description",
    "address": "grp, ip_addr, mask, port, tag",
}


def fill(url: str, subscribers: int) -> dict[str, int]:
    """Replace every table's rows with those of ``subscribers``; rows per table."""
    counts: dict[str, int] = {}
    with psycopg.connect(url) as connection:
        for table, columns in COLUMNS.items():
            connection.execute(f"TRUNCATE {table}")
            count = 0
            with connection.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                buffer = io.StringIO()
                for row in _rows(table, subscribers):
                    # COPY's text format: a backslash escapes, so the dial plans' \1 is written \\1.
                    buffer.write("\t".join(str(value).replace("\\", "\\\\")
                                           for value in row) + "\n")
                    count += 1
                    if count % 50_000 == 0:
                        copy.write(buffer.getvalue())
                        buffer = io.StringIO()
                copy.write(buffer.getvalue())
            counts[table] = count
        connection.commit()
    return counts


# Measuring the proxy ---------------------------------------------------------------------


def shmmem(proxy: Proxy) -> dict[str, int]:
    answer = rpc_call(proxy.rpc_url, "core.shmmem", timeout=RPC_TIMEOUT)
    result: dict[str, int] = answer["result"]
    return result


def timed_reload(proxy: Proxy, method: str, params: tuple[str, ...]) -> tuple[float, str]:
    """Wall time of one reload and what went wrong ("" when it succeeded)."""
    started = time.perf_counter()
    answer = rpc_call(proxy.rpc_url, method, *params, timeout=RPC_TIMEOUT)
    elapsed = time.perf_counter() - started
    if "error" in answer:
        return elapsed, str(answer["error"].get("message"))
    if method == "drouting.reload" and answer.get("result") != "reload ok":
        return elapsed, str(answer.get("result"))
    return elapsed, ""


@dataclass(frozen=True)
class Memory:
    """Kamailio's memory options: -m, -M (MiB) and -x."""

    shm_mb: int
    pkg_mb: int
    manager: str


def measure(url: str, work: Path, subscribers: int, memory: Memory,
            baseline: int | None) -> int | None:
    """Prints one size's figures; the shared memory in use after start-up (None: it
    did not start)."""
    started = time.perf_counter()
    counts = fill(url, subscribers)
    copy_seconds = time.perf_counter() - started
    cached = sum(counts[table] for table in CACHED)
    started = time.perf_counter()
    with ExitStack() as stack:
        try:
            proxy = stack.enter_context(running_proxy(
                url, work / f"s{subscribers}", shm_mb=memory.shm_mb, pkg_mb=memory.pkg_mb,
                memory_manager=memory.manager, startup_timeout=900))
        except RuntimeError as error:
            # Too little memory for the tables: Kamailio exits while loading them.
            errors = [line for line in str(error).splitlines() if "ERROR" in line]
            print(f"\n{subscribers:,} subscribers: {cached:,} rows cached; Kamailio did NOT "
                  "start:\n  " + "\n  ".join(errors[:4]))
            return None
        startup = time.perf_counter() - started
        used = shmmem(proxy)["real_used"]
        timings = []
        for method, params in RELOADS:
            # dialplan and permissions refuse a reload within reload_delta (1 s) of the last.
            time.sleep(1.1)
            timings.append((method, params, *timed_reload(proxy, method, params)))
        after = shmmem(proxy)
    per_row = (used - baseline) / cached if baseline is not None and cached else 0.0
    print(f"\n{subscribers:,} subscribers: {counts['htable_did']:,} DIDs, "
          f"{counts['htable_sms']:,} SMS numbers, {counts['htable_alias']:,} extensions, "
          f"{counts['domain']:,} tenants; {cached:,} rows cached "
          f"(COPY of all tables {copy_seconds:.1f} s)")
    print(f"  start-up with the tables loaded: {startup:.1f} s")
    print(f"  shared memory in use after start-up: {used / MIB:,.0f} MiB of "
          f"{memory.shm_mb:,} MiB"
          + (f"; {per_row:,.0f} bytes per cached row over the empty proxy"
             if baseline is not None and cached else ""))
    print(f"  peak (max_used) after every reload: {after['max_used'] / MIB:,.0f} MiB; "
          f"in use after them: {after['real_used'] / MIB:,.0f} MiB")
    for method, params, seconds, error in timings:
        name = f"{method}({params[0]})" if params else method
        print(f"  {name:28} {seconds * 1000:9,.0f} ms" + (f"  FAILED: {error}" if error else ""))
    return used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", default="250000,1000000",
                        help="comma-separated sizes (default 250000,1000000)")
    parser.add_argument("--shm-mb", type=int, default=SHM_MB,
                        help=f"shared memory for Kamailio, -m (default {SHM_MB}, as shipped)")
    parser.add_argument("--pkg-mb", type=int, default=PKG_MB,
                        help=f"private memory per process, -M (default {PKG_MB}, as shipped; "
                        "Kamailio's own default is 8)")
    parser.add_argument("--memory-manager", choices=("qm", "fm", "tlsf"), default=MEMORY_MANAGER,
                        help=f"Kamailio's -x (default {MEMORY_MANAGER}, as shipped)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.subscribers.split(",")]
    url = make_database("proxy")
    try:
        with psycopg.connect(url) as connection:
            create_tables(connection)
        with tempfile.TemporaryDirectory(prefix="proxy-sizing-") as work:
            memory = Memory(args.shm_mb, args.pkg_mb, args.memory_manager)
            print(f"Kamailio with -x {memory.manager} -m {memory.shm_mb} -M {memory.pkg_mb}")
            baseline = measure(url, Path(work), 0, memory, None)
            for size in sizes:
                measure(url, Path(work), size, memory, baseline)
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
