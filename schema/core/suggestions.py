"""Without introspection, error messages do not hint at the schema either.

graphql-core ends many validation messages with "Did you mean ...?" (a field,
an argument, an input field, an enum value, a type): enough to rebuild the
schema by guessing, which is what turning introspection off (production) is
meant to prevent. Where introspection is off, those hints are cut.
"""

from __future__ import annotations

import re

from graphql import GraphQLError

_HINT = re.compile(r"\s*Did you mean [^?]*\?")


def strip_suggestions(errors: list[GraphQLError]) -> None:
    for error in errors:
        if "Did you mean" in error.message:
            error.message = _HINT.sub("", error.message)


__all__ = ["strip_suggestions"]
