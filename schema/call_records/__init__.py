"""Call records, their rating, and what customers owe."""

from schema.call_records.mutations import CallRecordMutation
from schema.call_records.queries import CallRecordQuery

QUERIES = [CallRecordQuery]
MUTATIONS = [CallRecordMutation]
