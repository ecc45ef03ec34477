"""Multi-tenant isolation: another ISP's object answers exactly like one that does not exist.

The same checks run for every case registered under ``tests/isolation_cases/``,
and a guard test fails when a node type has no case.
"""

from __future__ import annotations

import importlib
import pkgutil
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

import tests.isolation_cases
from schema.core.ids import from_global_id, to_global_id
from schema.core.node import registered_node_types
from tests.graphql import Client, SignedUp
from tests.isolation import CASES, Case

for _module in pkgutil.iter_modules([str(Path(tests.isolation_cases.__file__).parent)]):
    importlib.import_module(f"tests.isolation_cases.{_module.name}")


def _missing_like(global_id: str) -> str:
    """An id of the same type that names nothing."""
    decoded = from_global_id(global_id)
    assert decoded is not None
    return to_global_id(decoded[0], uuid.uuid4())


async def _node(client: Client, global_id: str) -> object:
    response = await client.post(
        "query($id: ID!) { node(id: $id) { id __typename } }", {"id": global_id}
    )
    return _without_budget(response.json())


async def _nodes(client: Client, global_id: str) -> object:
    response = await client.post(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [global_id]}
    )
    return _without_budget(response.json())


def _without_budget(body: dict) -> dict:
    """The answer but for extensions.cost: the remaining budget refills as time passes."""
    return {key: value for key, value in body.items() if key != "extensions"}


async def _listed_ids(client: Client, list_field: str) -> set[str]:
    data = await client.execute(f"{{ {list_field}(first: 100) {{ edges {{ node {{ id }} }} }} }}")
    return {edge["node"]["id"] for edge in data[list_field]["edges"]}


def _cases(keep: Callable[[Case], object] = bool) -> pytest.MarkDecorator:
    chosen = [case for case in CASES.values() if keep(case)]
    return pytest.mark.parametrize("case", chosen, ids=[case.type_name for case in chosen])


@_cases()
async def test_node_answers_like_a_missing_object(case: Case, isp_a: SignedUp, isp_b: SignedUp):
    theirs = await case.create(isp_b)
    # The owner sees it: the probe is not vacuous.
    assert (await _node(isp_b.client, theirs))["data"]["node"]["id"] == theirs
    assert await _node(isp_a.client, theirs) == await _node(isp_a.client, _missing_like(theirs))
    assert (await _node(isp_a.client, theirs))["data"]["node"] is None
    assert await _nodes(isp_a.client, theirs) == await _nodes(isp_a.client, _missing_like(theirs))


@_cases(lambda case: case.list_field)
async def test_lists_leave_it_out(case: Case, isp_a: SignedUp, isp_b: SignedUp):
    theirs = await case.create(isp_b)
    assert theirs in await _listed_ids(isp_b.client, case.list_field)
    assert theirs not in await _listed_ids(isp_a.client, case.list_field)


@_cases(lambda case: case.mutations)
async def test_mutations_answer_like_a_missing_object(
    case: Case, isp_a: SignedUp, isp_b: SignedUp
):
    theirs = await case.create(isp_b)
    for probe in case.mutations:
        # Alike but for extensions.cost (the remaining budget, which refills over time).
        attempt = (await isp_a.client.post(probe.query, {"id": theirs})).json()
        missing = (await isp_a.client.post(probe.query, {"id": _missing_like(theirs)})).json()
        attempt.pop("extensions", None)
        missing.pop("extensions", None)
        assert attempt == missing
        assert attempt["data"][probe.path]["errors"][0]["code"] == "NOT_FOUND"
    # And the object is untouched: its owner still sees it.
    assert (await _node(isp_b.client, theirs))["data"]["node"]["id"] == theirs


@_cases()
async def test_anonymous_sees_nothing(case: Case, isp_b: SignedUp, anonymous: Client):
    theirs = await case.create(isp_b)
    assert (await _node(anonymous, theirs))["data"]["node"] is None
    if case.list_field:
        assert await _listed_ids(anonymous, case.list_field) == set()


def test_every_node_type_has_an_isolation_case():
    assert set(registered_node_types()) <= set(CASES), (
        "register an isolation case for every new node type"
    )
