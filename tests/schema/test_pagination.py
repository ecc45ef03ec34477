"""Relay connections: paging both ways, totals, and a fixed SQL cost per page."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session
from starlette.applications import Starlette

from core.models import Administrator, Role, RoleGrant, Scope
from schema.core.ids import id_of
from tests.graphql import SignedUp

PAGE = """
query($first: Int, $after: String, $last: Int, $before: String) {
  administrators(first: $first, after: $after, last: $last, before: $before,
                 orderBy: {field: EMAIL, direction: ASC}) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { email grants { role isp { name } } } }
  }
}
"""


def _add_colleagues(engine: Engine, isp: SignedUp, count: int) -> list[str]:
    """People holding a role in the ISP, arranged directly (there is no bulk API for this)."""
    isp_id = id_of(isp.isp_id, "Isp")
    emails = [f"staff{n:03d}@{uuid.uuid4().hex[:6]}.example" for n in range(count)]
    with Session(engine) as session:
        for email in emails:
            person = Administrator(email=email, full_name="Staff")
            session.add(person)
            session.flush()
            session.add(RoleGrant(administrator_id=person.id, scope=Scope.ISP,
                                  role=Role.VIEWER, isp_id=isp_id))
        session.commit()
    return emails


@contextmanager
def count_statements(app: Starlette) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def _page(isp: SignedUp, **arguments: object) -> dict:
    return (await isp.client.execute(PAGE, arguments))["administrators"]


async def test_pages_forward_and_back_cover_everyone_once(isp_a: SignedUp, engine: Engine):
    _add_colleagues(engine, isp_a, 7)
    seen: list[str] = []
    after = None
    while True:
        page = await _page(isp_a, first=3, after=after)
        assert page["totalCount"] == 8
        seen += [edge["node"]["email"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == 8

    last_two = await _page(isp_a, last=2)
    assert [edge["node"]["email"] for edge in last_two["edges"]] == seen[-2:]
    assert last_two["pageInfo"]["hasPreviousPage"] is True
    before = await _page(isp_a, last=3, before=last_two["pageInfo"]["startCursor"])
    assert [edge["node"]["email"] for edge in before["edges"]] == seen[-5:-2]


async def test_rows_added_while_paging_do_not_shift_the_next_page(isp_a: SignedUp,
                                                                 engine: Engine):
    _add_colleagues(engine, isp_a, 4)
    first = await _page(isp_a, first=2)
    last_seen = first["edges"][-1]["node"]["email"]
    _add_colleagues(engine, isp_a, 3)  # new rows may sort anywhere
    second = await _page(isp_a, first=2, after=first["pageInfo"]["endCursor"])
    assert all(edge["node"]["email"] > last_seen for edge in second["edges"])


@pytest.mark.parametrize("first", [0, 1])
async def test_empty_and_single_pages(isp_a: SignedUp, first: int):
    page = await _page(isp_a, first=first)
    assert len(page["edges"]) == first
    assert page["totalCount"] == 1


async def test_a_page_costs_the_same_number_of_statements_whatever_its_size(
    isp_a: SignedUp, engine: Engine, app: Starlette
):
    _add_colleagues(engine, isp_a, 30)
    with count_statements(app) as small:
        assert len((await _page(isp_a, first=2))["edges"]) == 2
    with count_statements(app) as large:
        assert len((await _page(isp_a, first=30))["edges"]) == 30
    assert len(large) == len(small), (small, large)
    # Authentication (3) + page + count + grants + ISPs: fixed, not one per row.
    assert len(large) <= 8, large
