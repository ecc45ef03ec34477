"""Unexpected exceptions reach the client as a generic message; the log keeps the detail."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest
import strawberry

from schema.core.masking import LoggedSchema, MaskUnexpectedErrors


@strawberry.type
class _Query:
    @strawberry.field
    def boom(self) -> str:
        raise RuntimeError("connection to 10.0.0.5 failed for user secret_admin")


@dataclass
class _Context:
    request_id: str = "req-1234abcd"


_schema = LoggedSchema(query=_Query, extensions=[MaskUnexpectedErrors])


def test_unexpected_exception_is_masked_and_logged_with_the_request_id(
    caplog: pytest.LogCaptureFixture,
):
    with caplog.at_level(logging.ERROR, logger="wehostvoip.graphql"):
        result = _schema.execute_sync("{ boom }", context_value=_Context())
    error = result.errors[0]
    assert error.message == "Unexpected error."
    assert error.extensions == {"code": "INTERNAL_ERROR", "requestId": "req-1234abcd"}
    assert "secret_admin" not in str(result.errors)
    assert "req-1234abcd" in caplog.text
    assert "secret_admin" in caplog.text  # the operator sees what happened


def test_validation_errors_stay_readable():
    result = _schema.execute_sync("{ nothing }", context_value=_Context())
    assert "Cannot query field 'nothing'" in result.errors[0].message


async def test_responses_carry_the_request_id(client):
    response = await client.post("/graphql", json={"query": "{ platform { version } }"},
                                 headers={"X-Request-ID": "trace-0001-abcd"})
    assert response.headers["x-request-id"] == "trace-0001-abcd"
    bad = await client.post("/graphql", json={"query": "{ platform { version } }"},
                            headers={"X-Request-ID": "bad id with spaces"})
    assert len(bad.headers["x-request-id"]) == 32  # replaced by one of ours
