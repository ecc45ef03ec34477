"""A GraphQL client for tests that acts like the web app: cookies, CSRF header, uploads."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.applications import Starlette

from core.models import EmailMessage

PASSWORD = "correct horse battery staple"

SIGN_UP = """
mutation($email: String!) { ispSignUp(input: {email: $email}) { errors { field code message } } }
"""

SIGN_UP_COMPLETE = """
mutation($input: IspSignUpCompleteInput!) {
  ispSignUpComplete(input: $input) {
    isp { id name namespaceDomain }
    administrator { id email grants { id scope role } }
    csrfToken
    errors { field code message }
  }
}
"""

LOGIN = """
mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) {
    administrator { id email }
    csrfToken
    errors { field code message }
  }
}
"""


class GraphQLError(AssertionError):
    pass


class Client:
    """One browser (or script): its own cookie jar and CSRF token."""

    def __init__(self, app: Starlette, *, headers: dict[str, str] | None = None) -> None:
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver",
            headers=headers or {},
        )
        self.csrf_token: str | None = None

    async def close(self) -> None:
        await self.http.aclose()

    async def post(self, query: str, variables: dict[str, Any] | None = None,
                   *, headers: dict[str, str] | None = None,
                   files: dict[str, tuple[str, bytes, str]] | None = None) -> httpx.Response:
        sent = dict(headers or {})
        if self.csrf_token and "X-CSRF-Token" not in sent:
            sent["X-CSRF-Token"] = self.csrf_token
        if not files:
            return await self.http.post("/graphql", json={"query": query,
                                                          "variables": variables or {}},
                                        headers=sent)
        # GraphQL multipart request spec: operations, map, then the files.
        operations = json.dumps({"query": query, "variables": variables or {}})
        mapping = json.dumps({name: [f"variables.{path}"] for name, path in
                              ((n, n.replace("__", ".")) for n in files)})
        return await self.http.post("/graphql", data={"operations": operations, "map": mapping},
                                    files=files, headers=sent)

    async def execute(self, query: str, variables: dict[str, Any] | None = None,
                      **kwargs: Any) -> dict[str, Any]:
        """The data of a request that must succeed without GraphQL errors."""
        response = await self.post(query, variables, **kwargs)
        body = response.json()
        if body.get("errors"):
            raise GraphQLError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    async def login(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        data = await self.execute(LOGIN, {"email": email, "password": password})
        payload = data["login"]
        if payload["csrfToken"]:
            self.csrf_token = payload["csrfToken"]
        return payload


def last_link(engine: Engine, to: str, path: str) -> str:
    """The token of the newest e-mailed link to ``to`` whose path contains ``path``.

    For set-up only: the end-to-end test reads the link from a real SMTP server.
    """
    with Session(engine) as session:
        messages = session.exec(
            select(EmailMessage).where(EmailMessage.to_address == to)
            .order_by(EmailMessage.created_at.desc())  # type: ignore[union-attr]
        ).all()
    for message in messages:
        match = re.search(rf"{re.escape(path)}\?token=(\S+)", message.body_text)
        if match:
            return match.group(1)
    raise AssertionError(f"no e-mail to {to} with a {path} link")


@dataclass
class SignedUp:
    client: Client
    email: str
    isp_id: str
    administrator_id: str
    grant_id: str
    # For arranging what has no API (or not yet) directly in the database.
    engine: Engine


async def sign_up(app: Starlette, engine: Engine, *, label: str | None = None,
                  email: str | None = None) -> SignedUp:
    """A new ISP and its first administrator, logged in on a client of their own."""
    label = label or f"isp{uuid.uuid4().hex[:8]}"
    email = email or f"owner@{label}.example"
    client = Client(app)
    await client.execute(SIGN_UP, {"email": email})
    token = last_link(engine, email, "/signup/complete")
    data = await client.execute(SIGN_UP_COMPLETE, {"input": {
        "token": token, "password": PASSWORD, "fullName": "Owner of " + label,
        "isp": {"name": label.title(), "namespaceLabel": label, "currency": "USD"},
    }})
    payload = data["ispSignUpComplete"]
    assert payload["errors"] == [], payload["errors"]
    client.csrf_token = payload["csrfToken"]
    return SignedUp(client=client, email=email, isp_id=payload["isp"]["id"],
                    administrator_id=payload["administrator"]["id"],
                    grant_id=payload["administrator"]["grants"][0]["id"], engine=engine)
