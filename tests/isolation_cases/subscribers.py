"""Isolation cases of subscribers and security groups."""

from __future__ import annotations

from sqlmodel import Session

from core.models import Isp
from schema.core.ids import id_of, to_global_id
from tests.factories import make_customer, make_tenant
from tests.graphql import SignedUp
from tests.isolation import Case, Probe, register


def _tenant(isp: SignedUp) -> str:
    with Session(isp.engine) as session:
        owner = session.get(Isp, id_of(isp.isp_id, "Isp"))
        tenant = make_tenant(session, owner, make_customer(session, owner, max_subscribers=10))
        return to_global_id("Tenant", tenant.id)


async def _subscriber(isp: SignedUp) -> str:
    data = await isp.client.execute(
        """mutation($tenant: ID!) { subscriberCreate(input: {tenant: $tenant, username: "u"})
             { subscriber { id } errors { code } } }""", {"tenant": _tenant(isp)})
    return data["subscriberCreate"]["subscriber"]["id"]


async def _security_group(isp: SignedUp) -> str:
    data = await isp.client.execute(
        """mutation($tenant: ID!) { securityGroupCreate(input: {tenant: $tenant, name: "G"})
             { securityGroup { id } errors { code } } }""", {"tenant": _tenant(isp)})
    return data["securityGroupCreate"]["securityGroup"]["id"]


def _probe(name: str, input_fields: str, selection: str) -> Probe:
    return Probe(f"""mutation($id: ID!) {{ {name}(input: {{id: $id{input_fields}}})
                     {{ {selection} errors {{ field code message }} }} }}""", name)


register(
    Case("Subscriber", _subscriber, "subscribers", (
        _probe("subscriberUpdate", ', displayName: "x"', "subscriber { id }"),
        _probe("subscriberDelete", "", "deletedId"),
        _probe("subscriberRevealSipPassword", "", "sipPassword"),
        _probe("subscriberSipPasswordReset", "", "sipPassword"),
        Probe("""mutation($id: ID!) { subscriberBulkUpdate(input: {subscribers: [
                   {id: $id, displayName: "x"}]}) { subscribers { id } errors { code } } }""",
              "subscriberBulkUpdate"),
    )),
    Case("SecurityGroup", _security_group, "securityGroups", (
        _probe("securityGroupUpdate", ', name: "x"', "securityGroup { id }"),
        _probe("securityGroupDelete", "", "deletedId"),
    )),
)
