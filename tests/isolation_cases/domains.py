"""Isolation cases of verified domains."""

from __future__ import annotations

from tests.graphql import SignedUp
from tests.isolation import Case, Probe, register


async def _verified_domain(isp: SignedUp) -> str:
    data = await isp.client.execute(
        """mutation($isp: ID!) { domainAdd(input: {isp: $isp, fqdn: "bravo-owned.example"})
             { verifiedDomain { id } errors { code } } }""",
        {"isp": isp.isp_id},
    )
    return data["domainAdd"]["verifiedDomain"]["id"]


register(
    Case("VerifiedDomain", _verified_domain, "verifiedDomains", (
        # Refused before any DNS lookup: the probe never leaves the process.
        Probe("""mutation($id: ID!) { domainVerify(input: {id: $id})
                 { verifiedDomain { id status } check { outcome } errors { field code message } }
                 }""", "domainVerify"),
        Probe("""mutation($id: ID!) { domainRemove(input: {id: $id})
                 { deletedId errors { field code message } } }""", "domainRemove"),
    )),
)
