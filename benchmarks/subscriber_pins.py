"""Bulk-creating subscribers with PINs: the PIN hash no longer dominates the request.

    .venv/bin/python benchmarks/subscriber_pins.py [--subscribers 1000] [--runs 3]

Creates a throw-away PostgreSQL database (dropped at the end) migrated to head,
one ISP (made by the sign-up rule) and a tenant, then, through the real
GraphQL app in-process, logged in as the ISP's administrator, times
``subscriberBulkCreate`` of N subscribers (each run into a tenant of its own):
- the baseline: N subscribers without PINs, in the same run;
- N subscribers each with a PIN (core.pins: argon2id, 1 pass over 1 MiB);
and prints both (median of the runs), their ratio, and the cost of one PIN
hash with the new parameters and with the password parameters the PINs used
before (measured on a few, extrapolated to N).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from argon2 import PasswordHasher
from asgi_lifespan import LifespanManager

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.app import create_app  # noqa: E402
from benchmarks.catalogue import (  # noqa: E402
    BASE_URL,
    SECRET,
    Api,
    drop_database,
    make_database,
    sign_up,
)
from core.database import make_sync_engine, session_scope  # noqa: E402
from core.pins import hash_pin  # noqa: E402
from core.settings import Settings  # noqa: E402

BULK = """mutation($input: SubscriberBulkCreateInput!) {
  subscriberBulkCreate(input: $input) { subscribers { subscriber { id } } errors { message } } }"""
SAMPLES_OLD = 5


CUSTOMER = """mutation($input: CustomerCreateInput!) {
  customerCreate(input: $input) { customer { id } errors { message } } }"""
TENANT = """mutation($input: TenantCreateInput!) {
  tenantCreate(input: $input) { tenant { id } errors { message } } }"""


async def _tenant_ids(api: Api, count: int, size: int) -> list[str]:
    customer = (await api.execute(CUSTOMER, {"input": {
        "name": "Bench customer", "maxSubscribers": size * count,
        "maxConcurrentCalls": 10}}))["customerCreate"]["customer"]["id"]
    ids = []
    for index in range(count):
        created = (await api.execute(TENANT, {"input": {
            "name": f"Bench {index}", "domain": f"bench{index}", "customer": customer,
            "defaultCountryCode": "1"}}))["tenantCreate"]
        if created["errors"]:
            raise SystemExit(f"tenant: {created['errors']}")
        ids.append(created["tenant"]["id"])
    return ids


async def _bulk(api: Api, tenant: str, size: int, with_pins: bool) -> float:
    rows = [{"username": f"u{n:05d}", **({"pin": f"{n % 10_000:04d}"} if with_pins else {})}
            for n in range(size)]
    started = time.perf_counter()
    data = await api.execute(BULK, {"input": {"tenant": tenant, "subscribers": rows}})
    elapsed = time.perf_counter() - started
    payload = data["subscriberBulkCreate"]
    if payload["errors"] or len(payload["subscribers"]) != size:
        raise SystemExit(f"bulk create failed: {payload['errors'][:3]}")
    return elapsed


def _per_hash(hasher: object, samples: int) -> float:
    started = time.perf_counter()
    for n in range(samples):
        hasher(f"{n:04d}")  # type: ignore[operator]
    return (time.perf_counter() - started) / samples


async def run(settings: Settings, size: int, runs: int) -> None:
    engine = make_sync_engine(settings.resolved_database_url)
    with session_scope(engine) as session:
        sign_up(session, settings)
    engine.dispose()
    app = create_app(settings)
    async with LifespanManager(app):
        api = Api(app)
        await api.login()
        tenants = iter(await _tenant_ids(api, 2 * runs, size))
        plain, pins = [], []
        for _ in range(runs):
            plain.append(await _bulk(api, next(tenants), size, with_pins=False))
            pins.append(await _bulk(api, next(tenants), size, with_pins=True))
        await api.http.aclose()
    new = _per_hash(hash_pin, 200)
    old = _per_hash(PasswordHasher().hash, SAMPLES_OLD)
    baseline, measured = statistics.median(plain), statistics.median(pins)
    print(f"subscriberBulkCreate of {size} subscribers, median of {runs} runs:")
    print(f"  without PINs (baseline): {baseline:.2f} s")
    print(f"  with a PIN each:         {measured:.2f} s   "
          f"ratio to baseline {measured / baseline:.2f}")
    print(f"one PIN hash: {new * 1000:.2f} ms now; {old * 1000:.0f} ms with the password "
          f"parameters (ratio {old / new:.0f}); {size} of those: {new * size:.2f} s now, "
          f"~{old * size:.0f} s before")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    url = make_database()
    settings = Settings(_env_file=None, database_url=url, broker_url="stub://",
                        secret_keys=SECRET, data_dir=Path(tempfile.mkdtemp()),
                        public_base_url=BASE_URL, log_level="WARNING")
    print(f"database: PostgreSQL (throw-away {url.rsplit('/', 1)[1]}); broker: stub, in-process")
    try:
        asyncio.run(run(settings, arguments.subscribers, arguments.runs))
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
