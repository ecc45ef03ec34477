"""Isolation case of the number inventory: another ISP's number is a number that does not exist."""

from __future__ import annotations

import random
import uuid

from schema.core.ids import to_global_id
from tests.graphql import SignedUp
from tests.isolation import Case, Probe, register

# A tenant that exists nowhere: the number is looked up first, and is not found either way.
_SOME_TENANT = to_global_id("Tenant", uuid.UUID(int=1))


async def _number(isp: SignedUp) -> str:
    data = await isp.client.execute(
        """mutation($e164: String!) { numberCreate(input: {e164: $e164})
             { number { id } errors { code message } } }""",
        {"e164": f"+1209555{random.randrange(10_000):04d}"},
    )
    return data["numberCreate"]["number"]["id"]


register(Case("Number", _number, "numbers", (
    Probe("""mutation($id: ID!) { numberUpdate(input: {id: $id, price: "1"})
             { number { id } errors { field code message } } }""", "numberUpdate"),
    Probe("""mutation($id: ID!) { numberDelete(input: {id: $id})
             { deletedId errors { field code message } } }""", "numberDelete"),
    Probe(f"""mutation($id: ID!) {{ numberAssign(input: {{number: $id, tenant: "{_SOME_TENANT}"}})
             {{ number {{ id }} errors {{ field code message }} }} }}""", "numberAssign"),
    Probe("""mutation($id: ID!) { numberRelease(input: {number: $id})
             { number { id } errors { field code message } } }""", "numberRelease"),
    Probe("""mutation($id: ID!) { numberTargetSet(input: {number: $id})
             { number { id } errors { field code message } } }""", "numberTargetSet"),
)))
