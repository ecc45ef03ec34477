"""Administrators, roles, invitations, sessions and personal API tokens."""

from schema.identity.mutations import IdentityMutation
from schema.identity.queries import IdentityQuery

QUERIES = [IdentityQuery]
MUTATIONS = [IdentityMutation]
