"""Carriers and their gateways."""

from schema.carriers.mutations import CarrierMutation
from schema.carriers.queries import CarrierQuery

QUERIES = [CarrierQuery]
MUTATIONS = [CarrierMutation]
