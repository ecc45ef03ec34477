"""GraphQL operations counted and timed, by operation name, type and outcome."""

from __future__ import annotations

import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from core.telemetry import GRAPHQL_LATENCY, GRAPHQL_OPERATIONS, operation_label


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        name = operation_label(context.operation_name)
        try:
            kind = context.operation_type.value
        except RuntimeError:  # a document that did not parse has no operation
            kind = "unknown"
        errors = getattr(context, "pre_execution_errors", None) or (
            context.result.errors if context.result else None)
        outcome = "error" if errors else "ok"
        GRAPHQL_OPERATIONS.labels(name, kind, outcome).inc()
        GRAPHQL_LATENCY.labels(name, kind).observe(time.perf_counter() - started)
