"""Tenants: the virtual PBXs."""

from schema.tenants.mutations import TenantMutation
from schema.tenants.queries import TenantQuery

QUERIES = [TenantQuery]
MUTATIONS = [TenantMutation]
