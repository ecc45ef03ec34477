"""Isolation cases: how to make an object of each node type in ISP B, and where it shows.

Each domain registers its cases in ``tests/isolation_cases/<domain>.py`` with
:func:`register`; ``tests/schema/test_isolation.py`` runs the same checks on all
of them, and fails when a node type has no case.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tests.graphql import SignedUp


@dataclass(frozen=True)
class Probe:
    """A mutation that takes the object's id as ``$id``; ``path`` leads to its payload."""

    query: str
    path: str


@dataclass(frozen=True)
class Case:
    type_name: str
    # Makes an object in ISP B (acting as B) and returns its global id.
    create: Callable[[SignedUp], Awaitable[str]]
    # A root list field that would contain it (queried with `edges { node { id } }`).
    list_field: str | None = None
    mutations: tuple[Probe, ...] = field(default_factory=tuple)


CASES: dict[str, Case] = {}


def register(*cases: Case) -> None:
    for case in cases:
        CASES[case.type_name] = case
