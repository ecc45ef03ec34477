"""The ``isp`` field of every type whose row belongs to one ISP.

A field, not a base class: a base's fields come first in the schema, and each type keeps
the field where its readers expect it (``schema.graphql`` is diffed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from schema.context import Info
from schema.core.node import load_node

if TYPE_CHECKING:
    from schema.isp.types import IspType

LazyIsp = Annotated["IspType", strawberry.lazy("schema.isp.types")]


async def owning_isp(root: Any, info: Info) -> LazyIsp | None:
    """The row's ISP (the ISPs of a page load in one query); null when the row has none
    (a platform role) or the viewer may not see it."""
    return await load_node(info, "Isp", root.row.isp_id)


def isp_field(description: str | None = None) -> Any:
    """``isp = isp_field()`` in a type whose private ``row`` has an ``isp_id``."""
    return strawberry.field(resolver=owning_isp, description=description)
