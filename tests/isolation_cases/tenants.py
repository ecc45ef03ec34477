"""Isolation case of tenants."""

from __future__ import annotations

from sqlmodel import Session

from core.models import Customer
from schema.core.ids import id_of, to_global_id
from tests.graphql import SignedUp
from tests.isolation import Case, Probe, register


async def _tenant(isp: SignedUp) -> str:
    with Session(isp.engine) as session:
        customer = Customer(isp_id=id_of(isp.isp_id, "Isp"), name=f"c-{isp.email}")
        session.add(customer)
        session.commit()
        customer_id = to_global_id("Customer", customer.id)
    data = await isp.client.execute(
        """mutation($customer: ID!) { tenantCreate(input: {name: "T", domain: "pbx",
             customer: $customer, defaultCountryCode: "1"}) { tenant { id } errors { code } } }""",
        {"customer": customer_id})
    return data["tenantCreate"]["tenant"]["id"]


register(
    Case("Tenant", _tenant, "tenants", (
        Probe("""mutation($id: ID!) { tenantUpdate(input: {id: $id, name: "x"})
                 { tenant { id } errors { field code message } } }""", "tenantUpdate"),
        Probe("""mutation($id: ID!) { tenantDelete(input: {id: $id, confirmDomain: "x"})
                 { deletedId errors { field code message } } }""", "tenantDelete"),
        Probe("""mutation($id: ID!) { tenantProvisioningPasswordRotate(input: {id: $id})
                 { provisioningPassword errors { field code message } } }""",
              "tenantProvisioningPasswordRotate"),
    )),
)
