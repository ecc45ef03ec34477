"""SIP proxies and the state of the routing export (platform operators)."""

from schema.routing.mutations import RoutingMutation
from schema.routing.queries import RoutingQuery

QUERIES = [RoutingQuery]
MUTATIONS = [RoutingMutation]
