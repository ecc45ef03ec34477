"""Isolation cases of service plans, their deck entries, customers and SMBCs.

The builders make each object over GraphQL, as the ISP's administrator would;
the domain tests (tests/schema/test_customers.py and its neighbours) reuse them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session
from starlette.applications import Starlette

from core.models import Administrator, Role, RoleGrant, Scope
from core.passwords import hash_password
from schema.core.ids import id_of
from tests.graphql import PASSWORD, Client, SignedUp
from tests.isolation import Case, Probe, register

ERRORS = "errors { field code message }"


async def _created(isp: SignedUp, mutation: str, payload: str, variables: dict[str, Any]) -> str:
    data = await isp.client.execute(mutation, variables)
    result = data[payload]
    assert result["errors"] == [], result["errors"]
    object_field = next(name for name in result if name != "errors")
    return result[object_field]["id"]


async def create_plan(isp: SignedUp, name: str = "Gold", **fields: Any) -> str:
    return await _created(isp, f"""mutation($input: ServicePlanCreateInput!) {{
        servicePlanCreate(input: $input) {{ servicePlan {{ id }} {ERRORS} }} }}""",
        "servicePlanCreate", {"input": {"name": name} | fields})


async def create_customer(isp: SignedUp, name: str = "Acme", **fields: Any) -> str:
    values = {"name": name, "maxSubscribers": 10, "maxConcurrentCalls": 4} | fields
    return await _created(isp, f"""mutation($input: CustomerCreateInput!) {{
        customerCreate(input: $input) {{ customer {{ id }} {ERRORS} }} }}""",
        "customerCreate", {"input": values})


async def create_smbc(isp: SignedUp, name: str = "edge-1", **fields: Any) -> str:
    values = {"name": name, "address": "192.0.2.10:5060"} | fields
    return await _created(isp, f"""mutation($input: SmbcCreateInput!) {{
        smbcCreate(input: $input) {{ smbc {{ id }} {ERRORS} }} }}""", "smbcCreate",
        {"input": values})


async def create_service_deck_entry(isp: SignedUp, plan: str, **fields: Any) -> str:
    values = {"servicePlan": plan, "service": "PSTN", "ratePerMinute": "0.0200"} | fields
    return await _created(isp, f"""mutation($input: ServiceDeckEntryCreateInput!) {{
        serviceDeckEntryCreate(input: $input) {{ serviceDeckEntry {{ id }} {ERRORS} }} }}""",
        "serviceDeckEntryCreate", {"input": values})


async def create_rate_deck_entry(isp: SignedUp, plan: str, prefix: str = "+44",
                                 **fields: Any) -> str:
    values = {"servicePlan": plan, "prefix": prefix, "ratePerMinute": "0.0100"} | fields
    return await _created(isp, f"""mutation($input: RateDeckEntryCreateInput!) {{
        rateDeckEntryCreate(input: $input) {{ rateDeckEntry {{ id }} {ERRORS} }} }}""",
        "rateDeckEntryCreate", {"input": values})


async def colleague(app: Starlette, engine: Engine, email: str, **grant: Any) -> Client:
    """Someone holding one role (``grant`` as RoleGrant fields), logged in on their own client."""
    with Session(engine) as session:
        person = Administrator(email=email, full_name="Col League",
                               password_hash=hash_password(PASSWORD))
        session.add(person)
        session.flush()
        session.add(RoleGrant(administrator_id=person.id, **grant))
        session.commit()
    client = Client(app)
    assert (await client.login(email))["errors"] == []
    return client


async def read_only_colleague(isp: SignedUp, app: Starlette, engine: Engine) -> Client:
    """A VIEWER of the ISP."""
    return await colleague(app, engine, f"viewer@{isp.email.split('@')[1]}", scope=Scope.ISP,
                           role=Role.VIEWER, isp_id=id_of(isp.isp_id, "Isp"))


# The cases -----------------------------------------------------------------------------------


async def _plan(isp: SignedUp) -> str:
    return await create_plan(isp)


async def _service_deck_entry(isp: SignedUp) -> str:
    return await create_service_deck_entry(isp, await create_plan(isp))


async def _rate_deck_entry(isp: SignedUp) -> str:
    return await create_rate_deck_entry(isp, await create_plan(isp))


async def _customer(isp: SignedUp) -> str:
    return await create_customer(isp)


async def _smbc(isp: SignedUp) -> str:
    return await create_smbc(isp)


def _probe(field: str, arguments: str, selection: str) -> Probe:
    return Probe(f"mutation($id: ID!) {{ {field}(input: {{{arguments}}}) "
                 f"{{ {selection} {ERRORS} }} }}", field)


def _update_and_delete(object_name: str, object_field: str, change: str) -> tuple[Probe, ...]:
    return (_probe(f"{object_name}Update", f"id: $id, {change}", f"{object_field} {{ id }}"),
            _probe(f"{object_name}Delete", "id: $id", "deletedId"))


register(
    Case("ServicePlan", _plan, "servicePlans", (
        *_update_and_delete("servicePlan", "servicePlan", 'name: "Taken"'),
        _probe("customerCreate",
               'name: "Probe", maxSubscribers: 1, maxConcurrentCalls: 1, servicePlan: $id',
               "customer { id }"),
        _probe("serviceDeckEntryCreate", 'servicePlan: $id, service: PSTN, ratePerMinute: "1"',
               "serviceDeckEntry { id }"),
        _probe("rateDeckEntryCreate", 'servicePlan: $id, prefix: "+1", ratePerMinute: "1"',
               "rateDeckEntry { id }"),
    )),
    Case("ServiceDeckEntry", _service_deck_entry, None,
         _update_and_delete("serviceDeckEntry", "serviceDeckEntry", 'ratePerMinute: "9"')),
    Case("RateDeckEntry", _rate_deck_entry, None,
         _update_and_delete("rateDeckEntry", "rateDeckEntry", 'ratePerMinute: "9"')),
    Case("Customer", _customer, "customers", (
        *_update_and_delete("customer", "customer", 'name: "Taken"'),
        _probe("smbcCreate", 'name: "probe", address: "192.0.2.1", customer: $id',
               "smbc { id }"),
        _probe("prepaidTopUp", 'customer: $id, amount: "5"', "entry { id }"),
        _probe("prepaidAdjust", 'customer: $id, amount: "-5", reason: "probe"',
               "entry { id }"),
    )),
    Case("Smbc", _smbc, "smbcs", _update_and_delete("smbc", "smbc", 'name: "Taken"')),
)
