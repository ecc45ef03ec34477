"""Platform operators see every ISP; ISP administrators see only their own."""

from __future__ import annotations

from sqlalchemy import Engine
from starlette.applications import Starlette

from core.database import session_scope
from core.operators import create_platform_operator
from tests.graphql import PASSWORD, Client, SignedUp


async def test_operator_sees_every_isp_and_its_audit_log(
    isp_a: SignedUp, isp_b: SignedUp, app: Starlette, engine: Engine
):
    with session_scope(engine) as session:
        create_platform_operator(session, email="ops@platform.example", password=PASSWORD,
                                 full_name="Op Erator")
    operator = Client(app)
    assert (await operator.login("ops@platform.example"))["errors"] == []
    data = await operator.execute("{ isps { totalCount } auditEvents { totalCount } }")
    # Two sign-ups, plus the operator's own login (a platform-level event).
    assert data == {"isps": {"totalCount": 2}, "auditEvents": {"totalCount": 3}}
    own = await isp_a.client.execute("{ isps { totalCount } auditEvents { totalCount } }")
    assert own == {"isps": {"totalCount": 1}, "auditEvents": {"totalCount": 1}}
