"""Security groups: the international destinations a tenant's subscribers may call."""

from schema.security_groups.mutations import SecurityGroupMutation
from schema.security_groups.queries import SecurityGroupQuery

QUERIES = [SecurityGroupQuery]
MUTATIONS = [SecurityGroupMutation]
