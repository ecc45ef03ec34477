"""Cross-site request forgery protection for mutations.

A browser adds the session cookie to any request it sends to us, including
ones a hostile page makes it send. So a mutation that relies on the cookie
must also carry the session's CSRF token in a header, which another site can
neither read nor set, and any mutation a browser marks as coming from a
foreign Origin is refused outright.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from core.viewer import AuthMethod
from schema.context import Context

CSRF_HEADER = "X-CSRF-Token"


def forgery_problem(context: Context) -> str | None:
    if not context.origin_allowed:
        return "this request comes from a site that is not allowed to change anything here"
    if context.viewer.auth_method is AuthMethod.SESSION and not context.csrf_token_valid:
        return (
            f"send the {CSRF_HEADER} header with the CSRF token you got at login "
            "(also in the whv_csrf cookie)"
        )
    return None


class RequestForgeryProtection(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        if execution.operation_type is OperationType.MUTATION and isinstance(
            execution.context, Context
        ):
            problem = forgery_problem(execution.context)
            if problem is not None:
                execution.result = ExecutionResult(
                    data=None,
                    errors=[GraphQLError(problem, extensions={"code": "CSRF_CHECK_FAILED"})],
                )
        yield
