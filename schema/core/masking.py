"""Unexpected errors: masked for the client, logged in full with the request id.

The client gets "Unexpected error." with ``extensions.code = INTERNAL_ERROR``
and the request id, which an operator can find in the logs next to the
original exception.
"""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.types import ExecutionContext

from schema.core.suggestions import strip_suggestions

log = logging.getLogger("wehostvoip.graphql")


def is_unexpected(error: GraphQLError) -> bool:
    """Errors raised by our code are masked; syntax and validation errors are not."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def _request_id(execution_context: ExecutionContext | None) -> str:
    context = getattr(execution_context, "context", None)
    return getattr(context, "request_id", "") or ""


class MaskUnexpectedErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return GraphQLError(
            message=self.error_message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={"code": "INTERNAL_ERROR",
                        "requestId": _request_id(self.execution_context)},
        )


class LoggedSchema(strawberry.Schema):
    """Logs unexpected errors with the request id; a client's own mistakes only at debug.

    ``hide_suggestions``: cut the "Did you mean ...?" hints (see schema.core.suggestions).
    """

    hide_suggestions = False

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        if self.hide_suggestions:
            strip_suggestions(errors)
        request_id = _request_id(execution_context)
        for error in errors:
            if is_unexpected(error):
                log.error("unexpected error in request %s at %s: %s", request_id,
                          ".".join(map(str, error.path or [])), error.message,
                          exc_info=error.original_error)
            else:
                log.debug("request %s: %s", request_id, error.message)
