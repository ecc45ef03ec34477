"""ISPs: reading them and signing up."""

from schema.isp.mutations import IspMutation
from schema.isp.queries import IspQuery

QUERIES = [IspQuery]
MUTATIONS = [IspMutation]
