"""Multi-tenant isolation: another ISP's object answers exactly like one that does not exist.

Every node type registers a case here: how to make one of its objects in
ISP B, the list it would appear in, and the mutations that take its id. The
same four checks then run for every type, and a guard test fails when a new
node type has no case.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from schema.core.ids import from_global_id, to_global_id
from schema.core.node import registered_node_types
from tests.graphql import Client, SignedUp


@dataclass(frozen=True)
class Probe:
    """A mutation that takes the object's id as ``$id``; ``path`` leads to its payload."""

    query: str
    path: str


@dataclass(frozen=True)
class Case:
    type_name: str
    # Makes an object in ISP B (acting as B) and returns its global id.
    create: Callable[[SignedUp], Awaitable[str]]
    # A root list field that would contain it (queried with `edges { node { id } }`).
    list_field: str | None = None
    mutations: tuple[Probe, ...] = field(default_factory=tuple)


async def _own_isp(isp: SignedUp) -> str:
    return isp.isp_id


async def _own_administrator(isp: SignedUp) -> str:
    return isp.administrator_id


async def _own_grant(isp: SignedUp) -> str:
    return isp.grant_id


async def _invitation(isp: SignedUp) -> str:
    data = await isp.client.execute(
        """mutation($isp: ID!) { administratorInvite(input: {email: "new@bravo.example",
             isp: $isp, role: VIEWER}) { invitation { id } errors { code } } }""",
        {"isp": isp.isp_id},
    )
    return data["administratorInvite"]["invitation"]["id"]


async def _audit_event(isp: SignedUp) -> str:
    data = await isp.client.execute("{ auditEvents(first: 1) { edges { node { id } } } }")
    return data["auditEvents"]["edges"][0]["node"]["id"]


async def _api_token(isp: SignedUp) -> str:
    data = await isp.client.execute(
        'mutation { apiTokenCreate(input: {name: "b"}) { apiToken { id } errors { code } } }'
    )
    return data["apiTokenCreate"]["apiToken"]["id"]


async def _job(isp: SignedUp) -> str:
    await _invitation(isp)  # the invitation's e-mail is delivered by a job of the ISP
    data = await isp.client.execute('{ jobs(first: 1) { edges { node { id kind } } } }')
    edge = data["jobs"]["edges"][0]["node"]
    assert edge["kind"] == "email.deliver"
    return edge["id"]


INVITE_TO_ISP = Probe(
    """mutation($id: ID!) { administratorInvite(input: {email: "x@alpha.example", isp: $id})
         { invitation { id } errors { field code message } } }""",
    "administratorInvite",
)

CASES = {
    case.type_name: case
    for case in (
        Case("Isp", _own_isp, "isps", (INVITE_TO_ISP,)),
        Case("Administrator", _own_administrator, "administrators"),
        Case("RoleGrant", _own_grant, None, (
            Probe("""mutation($id: ID!) { roleGrantUpdate(input: {id: $id, role: VIEWER})
                     { roleGrant { id } errors { field code message } } }""", "roleGrantUpdate"),
            Probe("""mutation($id: ID!) { roleGrantRemove(input: {id: $id})
                     { removedId errors { field code message } } }""", "roleGrantRemove"),
        )),
        Case("Invitation", _invitation, "invitations", (
            Probe("""mutation($id: ID!) { invitationRevoke(input: {id: $id})
                     { invitation { id } errors { field code message } } }""",
                  "invitationRevoke"),
        )),
        Case("AuditEvent", _audit_event, "auditEvents"),
        Case("Job", _job, "jobs", (
            Probe("""mutation($id: ID!) { jobCancel(input: {id: $id})
                     { job { id } errors { field code message } } }""", "jobCancel"),
        )),
        Case("ApiToken", _api_token, "apiTokens", (
            Probe("""mutation($id: ID!) { apiTokenRevoke(input: {id: $id})
                     { apiToken { id } errors { field code message } } }""", "apiTokenRevoke"),
        )),
    )
}


def _missing_like(global_id: str) -> str:
    """An id of the same type that names nothing."""
    decoded = from_global_id(global_id)
    assert decoded is not None
    return to_global_id(decoded[0], uuid.uuid4())


async def _node(client: Client, global_id: str) -> object:
    response = await client.post(
        "query($id: ID!) { node(id: $id) { id __typename } }", {"id": global_id}
    )
    return response.json()


async def _nodes(client: Client, global_id: str) -> object:
    response = await client.post(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [global_id]}
    )
    return response.json()


async def _listed_ids(client: Client, list_field: str) -> set[str]:
    data = await client.execute(f"{{ {list_field}(first: 100) {{ edges {{ node {{ id }} }} }} }}")
    return {edge["node"]["id"] for edge in data[list_field]["edges"]}


def _cases(keep: Callable[[Case], object] = bool) -> pytest.MarkDecorator:
    chosen = [case for case in CASES.values() if keep(case)]
    return pytest.mark.parametrize("case", chosen, ids=[case.type_name for case in chosen])


@_cases()
async def test_node_answers_like_a_missing_object(case: Case, isp_a: SignedUp, isp_b: SignedUp):
    theirs = await case.create(isp_b)
    # The owner sees it: the probe is not vacuous.
    assert (await _node(isp_b.client, theirs))["data"]["node"]["id"] == theirs
    assert await _node(isp_a.client, theirs) == await _node(isp_a.client, _missing_like(theirs))
    assert (await _node(isp_a.client, theirs))["data"]["node"] is None
    assert await _nodes(isp_a.client, theirs) == await _nodes(isp_a.client, _missing_like(theirs))


@_cases(lambda case: case.list_field)
async def test_lists_leave_it_out(case: Case, isp_a: SignedUp, isp_b: SignedUp):
    theirs = await case.create(isp_b)
    assert theirs in await _listed_ids(isp_b.client, case.list_field)
    assert theirs not in await _listed_ids(isp_a.client, case.list_field)


@_cases(lambda case: case.mutations)
async def test_mutations_answer_like_a_missing_object(
    case: Case, isp_a: SignedUp, isp_b: SignedUp
):
    theirs = await case.create(isp_b)
    for probe in case.mutations:
        attempt = (await isp_a.client.post(probe.query, {"id": theirs})).json()
        missing = (await isp_a.client.post(probe.query, {"id": _missing_like(theirs)})).json()
        assert attempt == missing
        assert attempt["data"][probe.path]["errors"][0]["code"] == "NOT_FOUND"
    # And the object is untouched: its owner still sees it.
    assert (await _node(isp_b.client, theirs))["data"]["node"]["id"] == theirs


@_cases()
async def test_anonymous_sees_nothing(case: Case, isp_b: SignedUp, anonymous: Client):
    theirs = await case.create(isp_b)
    assert (await _node(anonymous, theirs))["data"]["node"] is None
    if case.list_field:
        assert await _listed_ids(anonymous, case.list_field) == set()


def test_every_node_type_has_an_isolation_case():
    assert set(registered_node_types()) <= set(CASES), (
        "register an isolation case for every new node type"
    )
