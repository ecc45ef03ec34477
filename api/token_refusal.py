"""A refused bearer token is an HTTP 401, not an anonymous request.

A script whose token was revoked, has expired, or was mistyped would otherwise
get what anybody gets (``me: null``, empty lists) and carry on as if nothing
were wrong. So a request that sends ``Authorization: Bearer <token>`` which is
not a live token is answered HTTP 401 with ``WWW-Authenticate: Bearer
error="invalid_token"`` and one GraphQL error whose ``extensions.code`` is
``UNAUTHENTICATED``; nothing in it runs. Requests without a token are anonymous
as before (sign-up, login).
"""

from __future__ import annotations

from graphql import GraphQLError
from starlette.responses import Response
from strawberry.types import ExecutionResult

MESSAGE = ("the bearer token was refused: it is unknown, revoked or expired, or its owner "
           "can no longer log in; create a new one with apiTokenCreate")


def refuse(sub_response: Response) -> ExecutionResult:
    sub_response.status_code = 401
    sub_response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return ExecutionResult(data=None, errors=[
        GraphQLError(MESSAGE, extensions={"code": "UNAUTHENTICATED"})])


__all__ = ["MESSAGE", "refuse"]
