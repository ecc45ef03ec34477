"""Customers of ISPs: contacts, address, service plan, limits and prepaid balance."""

from schema.customers.mutations import CustomerMutation
from schema.customers.prepaid_mutations import PrepaidMutation
from schema.customers.queries import CustomerQuery

QUERIES = [CustomerQuery]
MUTATIONS = [CustomerMutation, PrepaidMutation]
