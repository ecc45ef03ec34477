"""Customers of ISPs: contacts, address, service plan and limits."""

from schema.customers.mutations import CustomerMutation
from schema.customers.queries import CustomerQuery

QUERIES = [CustomerQuery]
MUTATIONS = [CustomerMutation]
