"""What charging prepaid balances adds to collection: the same accounting rows collected
for a postpaid customer and for a prepaid one.

    .venv/bin/python benchmarks/prepaid_charges.py [ROWS]

Uses benchmarks/call_records.py's set-up (one ISP, a customer on a plan with 2,000 rate
deck prefixes, one tenant) in two throw-away control plane databases, identical except
that the second one's plan is prepaid and its customer holds a balance; both collect the
same proxy database of ROWS `acc` rows (default 200,000; collection only reads it), in
batches of 5,000: postpaid then prepaid, then prepaid then postpaid. Prints the best wall time of
each, the ratio prepaid / postpaid (goal: at most 1.10x, the charge is one indexed query
and one ledger entry per batch) and checks that the balance went down by exactly the
prepaid legs' prices.
"""

from __future__ import annotations

import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text, update  # noqa: E402

from benchmarks.call_records import BOX, fill_proxy, seed  # noqa: E402
from benchmarks.databases import drop_database, make_database  # noqa: E402
from core import migrations, prepaid  # noqa: E402
from core.database import make_sync_engine, session_scope  # noqa: E402
from core.models import (  # noqa: E402
    CallLeg,
    PrepaidBalance,
    PrepaidLedgerEntry,
    ServicePlan,
    SipProxy,
)
from core.sip_proxies import database_key, shown_url  # noqa: E402
from workers.call_records import collect_database  # noqa: E402

BALANCE = Decimal("1000000")


def control_plane(proxy_db: str, *, prepaid: bool) -> tuple[str, object, object, int]:
    """A migrated control plane reading ``proxy_db``; (url, engine, customer id,
    #carrier)."""
    url = make_database("prepaid" if prepaid else "postpaid")
    engine = make_sync_engine(url)
    migrations.upgrade(engine)
    isp_id, customer_id, carrier = seed(engine)
    with session_scope(engine) as session:
        session.add(SipProxy(name="bench", database_url_encrypted=BOX.encrypt(proxy_db),
                             database_display=shown_url(proxy_db),
                             database_key=database_key(proxy_db),
                             rpc_url="http://127.0.0.1:9/RPC", enabled=True))
        if prepaid:
            session.execute(update(ServicePlan).values(prepaid=True))
            session.add(PrepaidBalance(customer_id=customer_id, isp_id=isp_id,
                                       amount=BALANCE, currency="USD"))
    return url, engine, customer_id, carrier


def reset(engine: object) -> None:
    """Forget what was collected (records, legs, totals, ledger), the balance back."""
    with session_scope(engine) as session:  # type: ignore[arg-type]
        for table in ("call_leg_revision", "call_leg", "call_record", "call_usage_day",
                      "call_collection", "prepaid_ledger_entry"):
            session.execute(text(f"DELETE FROM {table}"))
        session.execute(update(PrepaidBalance).values(amount=BALANCE))


# Time spent in the charge itself (core.prepaid.charge_collected, one call per batch).
_charging: list[float] = []


def _timed_charge(*args: object, **kwargs: object) -> int:
    started = time.perf_counter()
    try:
        return _charge(*args, **kwargs)  # type: ignore[arg-type]
    finally:
        _charging.append(time.perf_counter() - started)


_charge = prepaid.charge_collected
prepaid.charge_collected = _timed_charge  # type: ignore[assignment]


def collect(engine: object, key: str) -> float:
    started = time.perf_counter()
    collect_database(engine, BOX, key, max_batches=10_000)  # type: ignore[arg-type]
    return time.perf_counter() - started


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    proxy_db = make_database("proxy")
    made = []
    try:
        made.append(control_plane(proxy_db, prepaid=False))
        made.append(control_plane(proxy_db, prepaid=True))
        carriers = {entry[3] for entry in made}
        assert len(carriers) == 1, "both control planes must know the carrier as one number"
        fill_proxy(proxy_db, rows, carriers.pop())
        key = database_key(proxy_db)
        timings: dict[str, list[float]] = {"postpaid": [], "prepaid": []}
        # Postpaid first, then prepaid first: neither gains from going second.
        for order in ((0, 1), (1, 0)):
            for index in order:
                _url, engine, _customer, _carrier = made[index]
                reset(engine)
                timings[("postpaid", "prepaid")[index]].append(collect(engine, key))
        postpaid, prepaid_best = min(timings["postpaid"]), min(timings["prepaid"])
        prepaid_last = timings["prepaid"][-1]  # the second round's first run
        print(f"collect and rate {rows:,} rows, postpaid customer: {postpaid:.2f} s "
              f"(best of 2)")
        print(f"the same, prepaid customer (charged per batch): {prepaid_best:.2f} s "
              f"(best of 2)")
        print(f"ratio: {prepaid_best / postpaid:.3f}x (goal: at most 1.10x)")
        batches = len(_charging) // 4
        spent = sum(_charging[2 * batches:3 * batches])  # the second round's prepaid run
        print(f"inside the charge (one query and ledger entry per batch): {spent:.3f} s over "
              f"{batches} batches of a prepaid run ({spent / prepaid_last * 100:.1f} % of it)")

        _url, engine, customer_id, _carrier = made[1]
        with session_scope(engine) as session:  # type: ignore[arg-type]
            charged = session.execute(select(func.sum(CallLeg.price)).where(
                CallLeg.customer_id == customer_id, CallLeg.prepaid)).scalar_one()
            balance = session.get(PrepaidBalance, customer_id)
            entries = session.execute(select(func.count()).select_from(
                PrepaidLedgerEntry)).scalar_one()
        assert balance is not None
        exact = balance.amount == BALANCE - charged
        print(f"balance {balance.amount} = {BALANCE} - {charged} (the legs' prices): "
              f"{'exact' if exact else 'WRONG'}; {entries} ledger entries")
    finally:
        for _url, engine, _customer, _carrier in made:
            engine.dispose()  # type: ignore[attr-defined]
        for url in [proxy_db, *(entry[0] for entry in made)]:
            drop_database(url)


if __name__ == "__main__":
    main()
