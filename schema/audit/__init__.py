"""The audit log."""

from schema.audit.queries import AuditQuery

QUERIES = [AuditQuery]
