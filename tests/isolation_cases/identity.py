"""Isolation cases of ISPs, administrators, roles, invitations, audit events, jobs, tokens."""

from __future__ import annotations

from tests.graphql import SignedUp
from tests.isolation import Case, Probe, register


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

register(
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


