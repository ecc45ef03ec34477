"""Session and media border controllers of ISPs and their customers."""

from schema.smbcs.mutations import SmbcMutation
from schema.smbcs.queries import SmbcQuery

QUERIES = [SmbcQuery]
MUTATIONS = [SmbcMutation]
