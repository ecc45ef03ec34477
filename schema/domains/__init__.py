"""Verified domains: adding them, checking their TXT record, removing them."""

from schema.domains.mutations import DomainMutation
from schema.domains.queries import DomainQuery

QUERIES = [DomainQuery]
MUTATIONS = [DomainMutation]
