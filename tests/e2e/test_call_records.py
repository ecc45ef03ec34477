# ruff: noqa: F811  (the test_calls fixture `calls` is a parameter name here)
"""Call records through a real Kamailio: what the shipped cfg accounts for each call, and
the records and charges the control plane collects from it.

The tenant is test_calls' ``acme`` (dial plan to +1209..., two gateways, alice with the
DID, bob). Its customer gets a plan in USD: the rate deck prices +1209 at 0.0200 a minute
on 30/6/3 (minimum/increment/delay), the service deck prices inbound DID legs at 0.0100
on 60/60/3; nothing prices SIP legs (the monthly prices cover them). The carrier's vendor
rates price +1 at 0.0060 on 1/1/0. Calls are held for HOLD_MS: between 4 and 6 seconds
of talk, which every one of those rules bills the same way (30 s, 60 s; the vendor 5 s
or 6 s, checked against the measured duration).
"""

from __future__ import annotations

import base64
import datetime as dt
import subprocess
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import Engine, select
from sqlmodel import Session

from core.call_collection import collect_batch
from core.database import session_scope
from core.models import CallLeg, CallRecord, Carrier, Tenant, VendorRateEntry
from core.secrets import secret_box
from core.settings import Settings
from tests.e2e.conftest import ERRORS
from tests.e2e.proxy import Proxy, free_port, run_sipp, sipp_background, sipp_uas
from tests.e2e.test_calls import (
    DIALLED,
    DID,
    E164,
    Calls,
    calls,  # noqa: F401  (the fixture, used by name below)
)
from workers.call_records import collect_database, database_keys

HOLD_MS = 4200


def _proxy_rows(calls: Calls, table: str) -> list[dict[str, Any]]:
    with psycopg.connect(calls.platform.proxy_database, row_factory=dict_row) as connection:
        return connection.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()


async def _plan(calls: Calls, engine: Engine) -> None:
    platform = calls.platform
    plan = (await platform.mutate(f"""mutation {{ servicePlanCreate(input: {{name: "Metered",
        currency: "USD", monthlyPricePerSubscriber: "5", monthlyPricePerDid: "1"}})
        {{ servicePlan {{ id }} {ERRORS} }} }}"""))["servicePlan"]
    await platform.mutate(f"""mutation($plan: ID!) {{ rateDeckEntryCreate(input: {{
        servicePlan: $plan, prefix: "+1209", description: "Stockton", ratePerMinute: "0.02",
        minimumDuration: 30, increment: 6, delay: 3}}) {{ {ERRORS} }} }}""",
                          {"plan": plan["id"]})
    await platform.mutate(f"""mutation($plan: ID!) {{ serviceDeckEntryCreate(input: {{
        servicePlan: $plan, service: DID, ratePerMinute: "0.01", minimumDuration: 60,
        increment: 60, delay: 3}}) {{ {ERRORS} }} }}""", {"plan": plan["id"]})
    await platform.mutate(f"""mutation($id: ID!, $plan: ID!) {{ customerUpdate(input: {{
        id: $id, servicePlan: $plan}}) {{ {ERRORS} }} }}""",
                          {"id": calls.customer["id"], "plan": plan["id"]})
    with Session(engine) as session:
        tenant = session.execute(select(Tenant).where(
            Tenant.domain == calls.tenant["domain"])).scalars().one()
        carrier = session.get(Carrier, tenant.carrier_id)
        assert carrier is not None
        session.add(VendorRateEntry(carrier_id=carrier.id, prefix="+1",
                                    rate_per_minute=Decimal("0.006")))
        session.commit()


def _collect(engine: Engine, settings: Settings) -> None:
    box = secret_box(settings.secret_key_bytes())
    for key in database_keys(engine):
        collect_database(engine, box, key)


def _records(engine: Engine) -> dict[str, tuple[CallRecord, dict[str, CallLeg]]]:
    with Session(engine) as session:
        records = session.execute(select(CallRecord)).scalars().all()
        legs = session.execute(select(CallLeg)).scalars().all()
    by_call: dict[uuid.UUID, dict[str, CallLeg]] = {}
    for leg in legs:
        by_call.setdefault(leg.call_record_id, {})[leg.side.value] = leg
    return {record.call_id: (record, by_call.get(record.id, {})) for record in records}


def _global_id(type_name: str, object_id: uuid.UUID | None) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{object_id}".encode()).decode().rstrip("=")


def _call_id(result: Any) -> str:
    return str(result.parsed[0].header("Call-ID"))


async def test_each_kind_of_call_becomes_a_record_with_its_charges(
        calls: Calls, engine: Engine, settings: Settings):
    await _plan(calls, engine)
    alice_port, bob_port = free_port(), free_port()
    calls.assert_ok(calls.platform.register(calls.alice, alice_port), 200)
    calls.assert_ok(calls.platform.register(calls.bob, bob_port), 200)
    proxy_port = calls.platform.proxy.sip_port

    # Outbound, answered by the first gateway.
    with sipp_uas("uas_answer.xml", calls.gateway_1):
        outbound = run_sipp("phone_invite.xml", remote_port=proxy_port, service=DIALLED,
                            auth=calls.alice.auth, keys=calls.alice.keys, duration_ms=HOLD_MS)
    # Failover: nothing listens on gateway 1, gateway 2 answers.
    with sipp_uas("uas_answer.xml", calls.gateway_2):
        failover = run_sipp("phone_invite.xml", remote_port=proxy_port, service=DIALLED,
                            auth=calls.alice.auth, keys=calls.alice.keys, duration_ms=HOLD_MS)
    # Inbound to the DID, from gateway 1's address.
    with sipp_uas("uas_answer.xml", alice_port):
        inbound = run_sipp("carrier_invite.xml", remote_port=proxy_port,
                           local_port=calls.gateway_1, service=DID, duration_ms=HOLD_MS)
    # Extension to extension.
    with sipp_uas("uas_answer.xml", bob_port):
        internal = run_sipp("phone_invite.xml", remote_port=proxy_port, service="102",
                            auth=calls.alice.auth, keys=calls.alice.keys, duration_ms=HOLD_MS)
    # Failed: both gateways refuse (503 each; the caller gets 500).
    with sipp_uas("uas_503.xml", calls.gateway_1), sipp_uas("uas_503.xml", calls.gateway_2):
        failed = run_sipp("phone_invite.xml", remote_port=proxy_port, service=DIALLED,
                          auth=calls.alice.auth, keys=calls.alice.keys, expect=500)
    for result, status in ((outbound, 200), (failover, 200), (inbound, 200), (internal, 200),
                           (failed, 500)):
        calls.assert_ok(result, status)

    _collect(engine, settings)
    records = _records(engine)

    assert len(records) == 5
    record, legs = records[_call_id(outbound)]
    assert (record.direction, record.state, record.sip_code) == ("OUTBOUND", "COMPLETED", 200)
    assert (record.caller, record.callee) == (DID, E164)
    assert record.attempts == []
    assert record.duration_seconds in (5, 6)  # 4.2 s of talk, every second begun counts
    assert record.answered_at is not None
    assert record.ended_at is not None
    assert record.setup_at <= record.answered_at < record.ended_at
    assert (legs["A"].leg_type, legs["A"].deck, legs["A"].price) == ("SIP", "MONTHLY", 0)
    b = legs["B"]
    assert (b.leg_type, b.deck, b.destination) == ("PSTN", "RATE_DECK", "+1209 Stockton")
    assert (b.minimum_duration, b.increment, b.delay, b.billing_seconds) == (30, 6, 3, 30)
    assert (b.price, b.currency) == (Decimal("0.0100"), "USD")
    # The vendor rate: 0.006 a minute, per second: 5 s = 0.0005, 6 s = 0.0006.
    assert b.cost == Decimal("0.0001") * record.duration_seconds

    record, legs = records[_call_id(failover)]
    assert (record.state, record.sip_code) == ("COMPLETED", 200)
    assert [(a["code"], a["gateway"]) for a in record.attempts] == [
        (408, f"127.0.0.1:{calls.gateway_1}")]
    assert record.gateway_id is not None
    assert legs["B"].price == Decimal("0.0100")

    record, legs = records[_call_id(inbound)]
    assert (record.direction, record.state, record.callee) == ("INBOUND", "COMPLETED", DID)
    assert _global_id("Subscriber", record.subscriber_id) == calls.alice.id
    assert (legs["B"].leg_type, legs["B"].deck, legs["B"].billing_seconds) == (
        "DID", "SERVICE_DECK", 60)
    assert legs["B"].price == Decimal("0.0100")
    assert legs["A"].price == 0

    record, legs = records[_call_id(internal)]
    assert (record.direction, record.state, record.callee) == ("INTERNAL", "COMPLETED", "bob")
    assert [(leg.leg_type, leg.price) for leg in legs.values()] == [("SIP", 0), ("SIP", 0)]

    record, legs = records[_call_id(failed)]
    assert (record.state, record.sip_code, record.answered_at) == ("FAILED", 500, None)
    assert [a["code"] for a in record.attempts] == [503, 503]
    assert [(leg.billing_seconds, leg.price) for leg in legs.values()] == [(0, 0), (0, 0)]

    # Collecting again changes nothing.
    _collect(engine, settings)
    assert len(_records(engine)) == 5
    # The proxy's rows stay where they are: the proxy database is only read.
    assert len(_proxy_rows(calls, "acc")) == 9  # 4 answers, 4 BYEs, 1 failure

    # The same, as the ISP's administrator reads it over GraphQL.
    data = await calls.platform.isp.client.execute("""{ callRecords(first: 10) { totalCount
        edges { node { callId direction state sipCode durationSeconds
          attempts { sipCode gateway } legs { side legType price currency } } } } }""")
    listed = {edge["node"]["callId"]: edge["node"] for edge in data["callRecords"]["edges"]}
    assert data["callRecords"]["totalCount"] == 5
    assert listed[_call_id(failover)]["attempts"] == [
        {"sipCode": 408, "gateway": f"127.0.0.1:{calls.gateway_1}"}]
    assert listed[_call_id(outbound)]["legs"] == [
        {"side": "A", "legType": "SIP", "price": "0.0000", "currency": "USD"},
        {"side": "B", "legType": "PSTN", "price": "0.0100", "currency": "USD"}]
    day = records[_call_id(outbound)][0].setup_at.replace(hour=0, minute=0, second=0,
                                                           microsecond=0)
    summary = (await calls.platform.isp.client.execute(
        """query($customer: ID!, $from: DateTime!, $to: DateTime!) {
             usageSummary(customer: $customer, from: $from, to: $to) {
               calls answeredCalls usageCharges currency } }""",
        {"customer": calls.customer["id"], "from": (day - dt.timedelta(days=1)).isoformat(),
         "to": (day + dt.timedelta(days=2)).isoformat()}))["usageSummary"]
    # Two outbound calls at 0.0100 and the inbound DID leg at 0.0100.
    assert summary == {"calls": 5, "answeredCalls": 4, "usageCharges": "0.0300",
                       "currency": "USD"}


def _restart(proxy: Proxy) -> None:
    """Stops Kamailio and starts it again, same command, same ports: dialogs are lost."""
    command = [part.decode() for part in Path(
        f"/proc/{proxy.process.pid}/cmdline").read_bytes().split(b"\0") if part]
    proxy.stop()
    with proxy.log_path.open("ab") as log_file:
        proxy.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_file,
                                         stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 15
    while "result" not in _answer(proxy):
        assert time.monotonic() < deadline, proxy.log[-3000:]
        time.sleep(0.1)


def _answer(proxy: Proxy) -> dict[str, Any]:
    try:
        return proxy.rpc("core.version")
    except OSError:
        return {}


async def test_a_call_whose_proxy_restarted_gets_no_invented_duration(
        calls: Calls, engine: Engine, settings: Settings):
    await _plan(calls, engine)
    proxy = calls.platform.proxy
    with sipp_uas("uas_answer.xml", calls.gateway_1, wait=15), \
            sipp_background("phone_invite.xml", remote_port=proxy.sip_port, service=DIALLED,
                            auth=calls.alice.auth, keys=calls.alice.keys, duration_ms=3000,
                            timeout=15) as phone:
        answer = phone.wait_for_status(200)
        _restart(proxy)  # during the call; the BYE comes 3 s after the answer
    call_id = str(answer.header("Call-ID"))
    # The restarted proxy did not know the dialog: the BYE was refused, not accounted.
    assert phone.result is not None
    assert {m.status for m in phone.result.received if m.cseq_method == "BYE"} == {481}
    rows = [row for row in _proxy_rows(calls, "acc") if row["callid"] == call_id]
    assert [row["method"] for row in rows] == ["INVITE"]

    _collect(engine, settings)
    record, legs = _records(engine)[call_id]
    assert (record.state, record.duration_seconds, legs) == ("ANSWERED", None, {})

    # Once no dialog can still be up (12 h after the answer), the call is closed without
    # a duration and charged nothing by the minute.
    with psycopg.connect(calls.platform.proxy_database) as connection, \
            session_scope(engine) as session:
        [key] = database_keys(engine)
        collect_batch(session, connection, key, now=dt.datetime.now(dt.UTC)
                      + dt.timedelta(hours=13))
    record, legs = _records(engine)[call_id]
    assert (record.state, record.duration_seconds, record.ended_at) == (
        "END_UNKNOWN", None, None)
    assert [(leg.billing_seconds, leg.price) for leg in legs.values()] == [(0, 0), (0, 0)]
