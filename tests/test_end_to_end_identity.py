"""The identity flow end to end: real processes, real HTTP, e-mail read from a real SMTP server.

sign-up -> e-mailed link -> complete -> me -> log in again -> invite -> e-mailed
invitation -> accept -> audit log. `wehostvoip serve` runs as its own process
(with `wehostvoip worker` beside it when the suite runs on Redis), on the
suite's database.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from tests.graphql import LOGIN, PASSWORD, SIGN_UP, SIGN_UP_COMPLETE
from tests.mailbox import Mailbox


def _token_from(mailbox: Mailbox, to: str, path: str) -> str:
    message = mailbox.wait_for_message(to, timeout=30)
    for link in mailbox.links(message):
        parts = urlsplit(link)
        if parts.path == path:
            return parse_qs(parts.query)["token"][0]
    raise AssertionError(f"no {path} link in the message to {to}")


def _post(client: httpx.Client, query: str, variables: dict | None = None,
          csrf: str | None = None) -> dict:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    response = client.post("/graphql", json={"query": query, "variables": variables or {}},
                           headers=headers)
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def test_sign_up_to_audit_log(running_service: str, mailbox: Mailbox):
    owner = httpx.Client(base_url=running_service, timeout=30)
    assert _post(owner, SIGN_UP, {"email": "founder@kages.example"}) == {
        "ispSignUp": {"errors": []}}
    token = _token_from(mailbox, "founder@kages.example", "/signup/complete")

    done = _post(owner, SIGN_UP_COMPLETE, {"input": {
        "token": token, "password": PASSWORD, "fullName": "Kim Founder",
        "isp": {"name": "Kages", "namespaceLabel": "kages", "currency": "USD"},
    }})["ispSignUpComplete"]
    assert done["errors"] == []
    assert done["isp"]["namespaceDomain"] == "kages.wehostvoip.test"
    isp_id = done["isp"]["id"]

    # A second browser logs in with the password chosen at sign-up.
    browser = httpx.Client(base_url=running_service, timeout=30)
    login = _post(browser, LOGIN, {"email": "founder@kages.example",
                                   "password": PASSWORD})["login"]
    assert login["errors"] == []
    csrf = login["csrfToken"]
    assert _post(browser, "{ me { email fullName } }")["me"] == {
        "email": "founder@kages.example", "fullName": "Kim Founder"}

    invited = _post(browser, """mutation($isp: ID!) {
        administratorInvite(input: {email: "ops@kages.example", isp: $isp, role: ADMIN}) {
          invitation { email } errors { code message } } }""", {"isp": isp_id}, csrf)
    assert invited["administratorInvite"]["errors"] == []
    invitation_token = _token_from(mailbox, "ops@kages.example", "/invitation/accept")

    colleague = httpx.Client(base_url=running_service, timeout=30)
    accepted = _post(colleague, """mutation($token: String!) {
        invitationAccept(input: {token: $token, password: "another long passphrase",
                                 fullName: "Ops Person"}) {
          administrator { email grants { role } } errors { code } } }""",
                     {"token": invitation_token})["invitationAccept"]
    assert accepted["errors"] == []
    assert accepted["administrator"]["grants"] == [{"role": "ADMIN"}]

    events = _post(browser, "{ auditEvents { edges { node { action actorEmail } } } }")
    assert [edge["node"] for edge in events["auditEvents"]["edges"]] == [
        {"action": "invitation.accept", "actorEmail": "ops@kages.example"},
        {"action": "administrator.invite", "actorEmail": "founder@kages.example"},
        {"action": "isp.sign_up", "actorEmail": "founder@kages.example"},
    ]
