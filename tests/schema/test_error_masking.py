"""Unexpected exceptions reach the client as a generic message; the log keeps the detail."""

from __future__ import annotations

import logging

import pytest
import strawberry
from strawberry.extensions import MaskErrors

from schema import is_unexpected


@strawberry.type
class _Query:
    @strawberry.field
    def boom(self) -> str:
        raise RuntimeError("connection to 10.0.0.5 failed for user secret_admin")


_schema = strawberry.Schema(
    query=_Query, extensions=[lambda: MaskErrors(should_mask_error=is_unexpected)]
)


def test_unexpected_exception_is_masked_and_logged(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.ERROR, logger="strawberry.execution"):
        result = _schema.execute_sync("{ boom }")
    assert [error.message for error in result.errors] == ["Unexpected error."]
    assert "secret_admin" in caplog.text


def test_validation_errors_stay_readable():
    result = _schema.execute_sync("{ nothing }")
    assert "Cannot query field 'nothing'" in result.errors[0].message
