"""Text no field may hold, refused for every string input before anything runs.

PostgreSQL stores no NUL character, and UTF-8 (the database's, the drivers', the
e-mail's) cannot encode a lone surrogate: a value holding one would fail deep
inside a resolver, after part of the work. Control characters other than tab and
line breaks have no place in anything a person types. So every string a request
brings (in its variables, at any depth, and in the document's literals) is checked
once here and the request is refused as a whole, with ``extensions.code =
INVALID_TEXT`` and the path of the offending value, before any resolver runs.

graphql-core does not let a schema redefine the built-in String and ID scalars,
hence one validation rule (literals) and one extension (variables) instead of a
scalar of our own; together they see every string input a scalar would.
Single-line fields (names) refuse line breaks too, in ``core.validation``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult, GraphQLError, StringValueNode, ValidationRule
from strawberry.extensions import AddValidationRules, SchemaExtension

CODE = "INVALID_TEXT"
# No field holds more (files travel as uploads): a longer string is a mistake or an attack.
MAX_TEXT_LENGTH = 100_000
_ALLOWED_CONTROLS = frozenset("\t\n\r")


def text_problem(text: str) -> str | None:
    """Why this text cannot be stored, or None."""
    if len(text) > MAX_TEXT_LENGTH:
        return f"is longer than {MAX_TEXT_LENGTH} characters"
    for character in text:
        point = ord(character)
        if point == 0:
            return "must not contain a NUL character"
        if 0xD800 <= point <= 0xDFFF:
            return "must not contain a lone UTF-16 surrogate (not a Unicode character)"
        if point < 0x20 and character not in _ALLOWED_CONTROLS:
            return f"must not contain the control character U+{point:04X}"
    return None


def _first_problem(value: Any, path: str) -> tuple[str, str] | None:
    if isinstance(value, str):
        problem = text_problem(value)
        return (path, problem) if problem else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if isinstance(key, str) and (problem := text_problem(key)):
            return f"{path} (a key)", problem
        found = _first_problem(item, f"{path}.{key}")
        if found:
            return found
    return None


def refusal(path: str, problem: str) -> GraphQLError:
    return GraphQLError(f"{path} {problem}", extensions={"code": CODE, "path": path})


class UnsafeTextLiterals(ValidationRule):
    """String literals written in the document itself."""

    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        problem = text_problem(node.value)
        if problem:
            self.report_error(GraphQLError(f"a string in the document {problem}", node,
                                           extensions={"code": CODE}))


class UnsafeTextVariables(SchemaExtension):
    """Variables, at any depth (inputs, lists, JSON scalars)."""

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        found = _first_problem(execution.variables or {}, "variables")
        if found is not None:
            execution.result = ExecutionResult(data=None, errors=[refusal(*found)])
        yield


def text_extensions() -> list[Any]:
    return [lambda: AddValidationRules([UnsafeTextLiterals]), UnsafeTextVariables]


__all__ = ["CODE", "text_extensions", "text_problem"]
