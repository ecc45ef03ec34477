"""Inviting administrators, changing their roles, removing them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, select
from starlette.applications import Starlette

from core.models import Administrator, Invitation
from tests.graphql import PASSWORD, Client, SignedUp, last_link

INVITE = """
mutation($email: String!, $isp: ID, $role: Role!) {
  administratorInvite(input: {email: $email, isp: $isp, role: $role}) {
    invitation { id email role scope isp { id } }
    errors { field code message }
  }
}
"""

ACCEPT = """
mutation($token: String!, $password: String, $fullName: String) {
  invitationAccept(input: {token: $token, password: $password, fullName: $fullName}) {
    administrator { id email grants { id scope role isp { id } } }
    csrfToken
    errors { field code message }
  }
}
"""

UPDATE = """
mutation($id: ID!, $role: Role!) {
  roleGrantUpdate(input: {id: $id, role: $role}) { roleGrant { id role } errors { field code } }
}
"""

REMOVE = """
mutation($id: ID!) { roleGrantRemove(input: {id: $id}) { removedId errors { field code } } }
"""


async def _invite(inviter: SignedUp, email: str, role: str = "ADMIN",
                  isp: str | None = None) -> dict[str, Any]:
    data = await inviter.client.execute(
        INVITE, {"email": email, "isp": isp or inviter.isp_id, "role": role}
    )
    return data["administratorInvite"]


async def _accept(client: Client, token: str, **fields: Any) -> dict[str, Any]:
    data = await client.execute(ACCEPT, {"token": token} | fields)
    payload = data["invitationAccept"]
    if payload["csrfToken"]:
        client.csrf_token = payload["csrfToken"]
    return payload


async def _new_colleague(isp: SignedUp, app: Starlette, engine: Engine, role: str = "ADMIN",
                         email: str = "colleague@alpha.example") -> tuple[Client, dict[str, Any]]:
    """Invite someone to ``isp``, accept as a new account; returns their client and payload."""
    assert (await _invite(isp, email, role))["errors"] == []
    client = Client(app)
    payload = await _accept(client, last_link(engine, email, "/invitation/accept"),
                            password=PASSWORD, fullName="Col League")
    assert payload["errors"] == []
    return client, payload


async def test_invited_person_creates_an_account_and_can_log_in(
    isp_a: SignedUp, app: Starlette, engine: Engine
):
    invitation = await _invite(isp_a, "Colleague@Alpha.example", "VIEWER")
    assert invitation["invitation"]["email"] == "colleague@alpha.example"
    _, payload = await _new_colleague(isp_a, app, engine, role="VIEWER")
    grants = payload["administrator"]["grants"]
    assert [(g["scope"], g["role"], g["isp"]["id"]) for g in grants] == [
        ("ISP", "VIEWER", isp_a.isp_id)]
    fresh = Client(app)
    assert (await fresh.login("colleague@alpha.example"))["errors"] == []
    listed = await isp_a.client.execute("{ administrators { edges { node { email } } } }")
    assert {e["node"]["email"] for e in listed["administrators"]["edges"]} == {
        isp_a.email, "colleague@alpha.example"}


async def test_existing_account_gains_the_role_without_a_new_password(
    isp_a: SignedUp, isp_b: SignedUp, engine: Engine
):
    assert (await _invite(isp_a, isp_b.email))["errors"] == []
    token = last_link(engine, isp_b.email, "/invitation/accept")
    payload = await _accept(isp_b.client, token)
    assert payload["errors"] == []
    scopes = {g["isp"]["id"] for g in payload["administrator"]["grants"]}
    assert scopes == {isp_a.isp_id, isp_b.isp_id}
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Administrator)).one() == 2


async def test_invitation_is_single_use_and_expires(isp_a: SignedUp, app: Starlette,
                                                   engine: Engine):
    await _new_colleague(isp_a, app, engine)
    used = last_link(engine, "colleague@alpha.example", "/invitation/accept")
    again = await _accept(Client(app), used, password=PASSWORD, fullName="X Y")
    assert again["errors"][0]["code"] == "INVALID_TOKEN"

    await _invite(isp_a, "late@alpha.example")
    with Session(engine) as session:
        row = session.exec(select(Invitation).where(Invitation.email == "late@alpha.example")).one()
        row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        session.add(row)
        session.commit()
    late = await _accept(Client(app), last_link(engine, "late@alpha.example",
                                                "/invitation/accept"),
                         password=PASSWORD, fullName="Late Comer")
    assert late["errors"][0]["code"] == "EXPIRED_TOKEN"


async def test_new_account_needs_a_strong_password(isp_a: SignedUp, app: Starlette,
                                                  engine: Engine):
    await _invite(isp_a, "weak@alpha.example")
    token = last_link(engine, "weak@alpha.example", "/invitation/accept")
    payload = await _accept(Client(app), token, password="password", fullName="Weak One")
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(["password"],
                                                                      "WEAK_PASSWORD")]
    missing = await _accept(Client(app), token, fullName="Weak One")
    assert missing["errors"][0]["code"] == "REQUIRED"
    with Session(engine) as session:
        assert session.exec(select(Administrator).where(
            Administrator.email == "weak@alpha.example")).first() is None


async def test_inviting_someone_who_is_already_there_is_refused(isp_a: SignedUp):
    payload = await _invite(isp_a, isp_a.email)
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(["email"], "ALREADY_EXISTS")]


async def test_a_viewer_cannot_invite_or_change_roles(isp_a: SignedUp, app: Starlette,
                                                     engine: Engine):
    viewer, _ = await _new_colleague(isp_a, app, engine, role="VIEWER")
    data = await viewer.execute(INVITE, {"email": "x@alpha.example", "isp": isp_a.isp_id,
                                         "role": "ADMIN"})
    assert data["administratorInvite"]["errors"][0]["code"] == "NOT_PERMITTED"
    data = await viewer.execute(UPDATE, {"id": isp_a.grant_id, "role": "VIEWER"})
    assert data["roleGrantUpdate"]["errors"][0]["code"] == "NOT_PERMITTED"


async def test_the_last_admin_cannot_be_removed_or_downgraded(isp_a: SignedUp):
    data = await isp_a.client.execute(REMOVE, {"id": isp_a.grant_id})
    assert data["roleGrantRemove"]["errors"][0]["code"] == "LAST_ADMINISTRATOR"
    data = await isp_a.client.execute(UPDATE, {"id": isp_a.grant_id, "role": "VIEWER"})
    assert data["roleGrantUpdate"]["errors"][0]["code"] == "LAST_ADMINISTRATOR"
    me = await isp_a.client.execute("{ me { grants { role } } }")
    assert me["me"]["grants"] == [{"role": "ADMIN"}]


async def test_roles_change_and_removal_ends_the_sessions(isp_a: SignedUp, app: Starlette,
                                                         engine: Engine):
    colleague, payload = await _new_colleague(isp_a, app, engine)
    grant_id = payload["administrator"]["grants"][0]["id"]
    changed = await isp_a.client.execute(UPDATE, {"id": grant_id, "role": "VIEWER"})
    assert changed["roleGrantUpdate"]["roleGrant"]["role"] == "VIEWER"
    # With a second admin present, the owner may now step down... but not the last one.
    removed = await isp_a.client.execute(REMOVE, {"id": grant_id})
    assert removed["roleGrantRemove"] == {"removedId": grant_id, "errors": []}
    assert (await colleague.execute("{ me { email } }"))["me"] is None


async def test_revoked_invitation_cannot_be_accepted(isp_a: SignedUp, app: Starlette,
                                                    engine: Engine):
    invitation = (await _invite(isp_a, "gone@alpha.example"))["invitation"]
    data = await isp_a.client.execute(
        "mutation($id: ID!) { invitationRevoke(input: {id: $id}) "
        "{ invitation { revokedAt } errors { code } } }", {"id": invitation["id"]})
    assert data["invitationRevoke"]["invitation"]["revokedAt"] is not None
    payload = await _accept(Client(app), last_link(engine, "gone@alpha.example",
                                                   "/invitation/accept"),
                            password=PASSWORD, fullName="Gone Person")
    assert payload["errors"][0]["code"] == "INVALID_TOKEN"


async def test_audit_log_records_who_did_what(isp_a: SignedUp, app: Starlette, engine: Engine):
    await _new_colleague(isp_a, app, engine)
    data = await isp_a.client.execute(
        "{ auditEvents { edges { node { action actorEmail objectType changes "
        "actor { email } } } } }")
    events = [edge["node"] for edge in data["auditEvents"]["edges"]]
    assert [event["action"] for event in events] == [
        "invitation.accept", "administrator.invite", "isp.sign_up"]
    assert events[1]["actorEmail"] == isp_a.email
    assert events[1]["actor"] == {"email": isp_a.email}
    assert events[0]["actorEmail"] == "colleague@alpha.example"
    for event in events:
        assert "password" not in str(event["changes"]).lower() or "<redacted>" in str(
            event["changes"])
    filtered = await isp_a.client.execute(
        'query($isp: ID!) { auditEvents(filter: {isp: $isp, objectType: "Isp"}) '
        "{ totalCount } }", {"isp": isp_a.isp_id})
    assert filtered["auditEvents"]["totalCount"] == 1
