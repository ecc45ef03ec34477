"""The credentials sheet: exporting a tenant's SIP credentials, and its one-time download link."""

from schema.credentials.mutations import CredentialsMutation

MUTATIONS = [CredentialsMutation]
