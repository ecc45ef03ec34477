"""Directory sync: linking a tenant to Google Workspace or Microsoft Entra, and its users."""

from schema.directory.mutations import DirectoryMutation
from schema.directory.queries import DirectoryQuery

QUERIES = [DirectoryQuery]
MUTATIONS = [DirectoryMutation]
