"""Isolation case of SIP proxies: the platform's, invisible to every ISP."""

from __future__ import annotations

from core.database import session_scope
from core.operators import create_platform_operator
from tests.graphql import PASSWORD, SignedUp
from tests.isolation import Case, Probe, register


async def _sip_proxy(isp: SignedUp) -> str:
    # Only platform operators hold proxies: B's administrator becomes one too.
    with session_scope(isp.engine) as session:
        create_platform_operator(session, email=isp.email, password=PASSWORD, full_name="")
    data = await isp.client.execute(
        """mutation { sipProxyCreate(input: {name: "edge-1",
             databaseUrl: "postgres://kamailio:secret@127.0.0.1:5432/kamailio",
             rpcUrl: "http://127.0.0.1:5080/RPC", enabled: false}) {
             sipProxy { id } errors { code message } } }""")
    assert data["sipProxyCreate"]["errors"] == [], data
    return data["sipProxyCreate"]["sipProxy"]["id"]


register(
    Case("SipProxy", _sip_proxy, "sipProxies", (
        Probe("""mutation($id: ID!) { sipProxyUpdate(input: {id: $id, name: "x"})
                 { sipProxy { id } errors { field code message } } }""", "sipProxyUpdate"),
        Probe("""mutation($id: ID!) { sipProxyDelete(input: {id: $id})
                 { deletedId errors { field code message } } }""", "sipProxyDelete"),
    )),
)
